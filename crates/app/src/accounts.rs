//! Passwords (Argon2id) and signed-in sessions.

use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};
use engine::ids::{Email, Password, SessionId, Slug};
use engine::tenant::{Permission, Role, Session, Tenant, User};
use jiff::SignedDuration;
use serde_json::json;
use sha2::{Digest, Sha256};
use store::Tx;

use crate::{Actor, App, AppError, Result};

/// How long a session lasts after sign-in.
pub const SESSION_LIFETIME: SignedDuration = SignedDuration::from_hours(12);

/// The message for every failed sign-in, so that it does not tell which part was wrong.
const SIGN_IN_FAILED: &str = "the email or the password is wrong";

/// Argon2id with m = 19 MiB, t = 2, p = 1 (OWASP's minimum for Argon2id).
fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// At most this many password hashes run at once; the rest wait their turn.
static SLOW_WORK: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);

/// Runs CPU-heavy work on the blocking pool, bounded by `SLOW_WORK`. `None` if it could not run.
async fn slow_work<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    let _permit = SLOW_WORK.acquire().await.ok()?;
    tokio::task::spawn_blocking(work).await.ok()
}

/// Whether `password` matches the stored PHC hash, checked off the async threads.
async fn verify(password: &str, stored: String) -> bool {
    let password = password.to_owned();
    slow_work(move || {
        argon2()
            .verify_password(password.as_bytes(), stored.as_str())
            .is_ok()
    })
    .await
    .unwrap_or(false)
}

/// A session as issued: the cookie secret is shown this once and never stored.
#[derive(Clone, Debug)]
pub struct IssuedSession {
    pub session: Session,
    pub secret: String,
}

fn digest(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// How long a failed sign-in counts against its account and its client address.
pub const SIGN_IN_WINDOW: std::time::Duration = std::time::Duration::from_secs(300);
/// The failures an account may have in [`SIGN_IN_WINDOW`] before attempts wait.
pub const FAILURES_PER_ACCOUNT: i64 = 5;
/// The failures one client address may have in [`SIGN_IN_WINDOW`]. Behind a reverse proxy
/// every client shares the proxy's address, so this then limits everyone together; reading a
/// trusted forwarded-for header is future work.
pub const FAILURES_PER_ADDRESS: i64 = 20;

/// A sign-in attempt, counted as a failure of its account and address until it succeeds.
#[derive(Debug)]
pub struct SignInAttempt {
    id: uuid::Uuid,
    account: String,
    address: String,
}

impl App {
    /// Hashes on a blocking thread, a few at a time: Argon2id takes 19 MiB and tens of
    /// milliseconds, which must not stall the threads that serve other requests.
    async fn hash_password(&self, password: &Password) -> Result<String> {
        let salt: [u8; 16] = self.ids.secret()[..16].try_into().unwrap_or([0; 16]);
        let password = password.clone();
        let hashed = slow_work(move || {
            argon2()
                .hash_password_with_salt(password.expose().as_bytes(), &salt)
                .map(|h| h.to_string())
        })
        .await;
        match hashed {
            Some(Ok(hash)) => Ok(hash),
            Some(Err(e)) => Err(AppError::invalid(
                "password",
                format!("cannot hash the password: {e}"),
            )),
            None => Err(AppError::Conflict("the server is shutting down".into())),
        }
    }

    /// Costs what checking a password costs, for failures that have no password to check.
    async fn spend_a_verification(&self) {
        if let Ok(password) = Password::parse("a-password-nobody-has") {
            let _ = self.hash_password(&password).await;
        }
    }

    /// Sets the password of `email` (the actor's own when not given; someone else's needs the
    /// admin role) and signs them out everywhere.
    pub async fn set_password(
        &self,
        actor: &Actor,
        email: Option<&Email>,
        password: &Password,
    ) -> Result<()> {
        let at = self.now();
        let hash = self.hash_password(password).await?;
        let mut tx = self.store.write().await?;
        let user = match email {
            Some(email) if email != &actor.user.email => {
                actor.require(Permission::ManageUsers)?;
                let user = tx
                    .user_by_email(actor.tenant.id, email)
                    .await?
                    .ok_or_else(|| AppError::NotFound(format!("no user {email}")))?;
                actor.outranks(user.role, "set the password of")?;
                user
            }
            _ => actor.user.clone(),
        };
        tx.set_password(actor.tenant.id, user.id, &hash, at).await?;
        let revoked = tx
            .revoke_sessions(actor.tenant.id, user.id, None, at)
            .await?;
        self.audit(&mut tx, actor, at, "user.password_set", ("user", user.id.to_string()), json!({
            "summary": format!("set the password of {}", user.email), "sessions_revoked": revoked,
        }))
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Gives `email` (the actor when not given) a new random password of 24 hex characters
    /// (96 bits), returned this once, and ends their sessions.
    pub async fn reset_password(&self, actor: &Actor, email: Option<&Email>) -> Result<Password> {
        let text = engine::audit::to_hex(&self.ids.secret()[..12]);
        let password = Password::parse(&text).map_err(|e| AppError::invalid("password", e))?;
        self.set_password(actor, email, &password).await?;
        Ok(password)
    }

    /// The tenants whose owner has no password yet: someone has to set it on the first-run
    /// page (or with `exeunt user reset-password`) before anyone can sign in.
    pub async fn tenants_awaiting_owner(&self) -> Result<Vec<Actor>> {
        let mut tx = self.store.read().await?;
        let mut awaiting = Vec::new();
        for tenant in tx.tenants().await? {
            if let Some(user) = self.passwordless_owner(&mut tx, &tenant).await? {
                awaiting.push(Actor { tenant, user });
            }
        }
        Ok(awaiting)
    }

    /// The tenant's owner, if they have no password yet.
    async fn passwordless_owner(&self, tx: &mut Tx, tenant: &Tenant) -> Result<Option<User>> {
        for user in tx.users(tenant.id).await? {
            if user.role == Role::Owner && tx.password_hash(tenant.id, user.id).await?.is_none() {
                return Ok(Some(user));
            }
        }
        Ok(None)
    }

    /// Sets the first password of the owner of `tenant`, who has none yet. Refused once they
    /// have one: from then on only they (or `exeunt user reset-password`) change it.
    pub async fn set_first_owner_password(
        &self,
        tenant: &Slug,
        password: &Password,
    ) -> Result<Actor> {
        let at = self.now();
        let hash = self.hash_password(password).await?;
        let mut tx = self.store.write().await?;
        let tenant = tx
            .tenant_by_slug(tenant)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("no tenant `{tenant}`")))?;
        let owner = self
            .passwordless_owner(&mut tx, &tenant)
            .await?
            .ok_or_else(|| {
                AppError::Conflict(format!(
                    "the owner of `{}` has set a password already; sign in instead",
                    tenant.slug
                ))
            })?;
        tx.set_password(tenant.id, owner.id, &hash, at).await?;
        let actor = Actor {
            tenant,
            user: owner,
        };
        self.audit(&mut tx, &actor, at, "user.password_set", ("user", actor.user.id.to_string()), json!({
            "summary": format!("{} set their first password", actor.user.email), "sessions_revoked": 0,
        }))
        .await?;
        tx.commit().await?;
        Ok(actor)
    }

    /// Counts an attempt to sign in as `email` from `address` before its password is
    /// checked, so that parallel attempts cannot all slip under the limit: or how long to wait
    /// when the account or the address has had too many failures lately. The count is in the
    /// database, so every server of one database shares one budget.
    pub async fn begin_sign_in(
        &self,
        tenant: Option<&Slug>,
        email: &Email,
        address: &str,
    ) -> Result<std::result::Result<SignInAttempt, std::time::Duration>> {
        let at = self.now();
        let attempt = SignInAttempt {
            id: self.new_id(),
            account: format!("account:{}:{email}", tenant.map_or("", Slug::as_str)),
            address: format!("address:{address}"),
        };
        let since = at.checked_sub(SIGN_IN_WINDOW).unwrap_or(at);
        let exhausted = self
            .store
            .count_sign_in_attempt(
                &[
                    (&attempt.account, FAILURES_PER_ACCOUNT),
                    (&attempt.address, FAILURES_PER_ADDRESS),
                ],
                attempt.id,
                at,
                since,
            )
            .await?;
        Ok(match exhausted {
            None => Ok(attempt),
            Some(oldest) => {
                let waited = at.duration_since(oldest).unsigned_abs();
                Err(SIGN_IN_WINDOW
                    .saturating_sub(waited)
                    .max(std::time::Duration::from_secs(1)))
            }
        })
    }

    /// Signs in an attempt [`App::begin_sign_in`] counted: on success its failure is taken
    /// back, in the transaction that opens the session.
    pub async fn finish_sign_in(
        &self,
        attempt: SignInAttempt,
        tenant: Option<&Slug>,
        email: &Email,
        password: &str,
    ) -> Result<(Actor, IssuedSession)> {
        self.open_session(tenant, email, password, Some(&attempt))
            .await
    }

    /// Checks an email and password and opens a new session. Every failure says the same.
    pub async fn sign_in(
        &self,
        tenant: Option<&Slug>,
        email: &Email,
        password: &str,
    ) -> Result<(Actor, IssuedSession)> {
        self.open_session(tenant, email, password, None).await
    }

    async fn open_session(
        &self,
        tenant: Option<&Slug>,
        email: &Email,
        password: &str,
        attempt: Option<&SignInAttempt>,
    ) -> Result<(Actor, IssuedSession)> {
        let failed = || AppError::invalid("credentials", SIGN_IN_FAILED);
        // Any failure to find the account (no such user, no such tenant, several tenants and
        // none named) reads the same and costs the same, so sign-in reveals nothing.
        let Ok(actor) = self.actor(tenant, Some(email)).await else {
            self.spend_a_verification().await;
            return Err(failed());
        };
        let stored = self
            .store
            .read()
            .await?
            .password_hash(actor.tenant.id, actor.user.id)
            .await?;
        let Some(stored) = stored else {
            self.spend_a_verification().await;
            return Err(failed());
        };
        if !verify(password, stored).await {
            return Err(failed());
        }
        let at = self.now();
        let secret = engine::audit::to_hex(&self.ids.secret());
        let session = Session {
            id: SessionId(self.new_id()),
            tenant_id: actor.tenant.id,
            user_id: actor.user.id,
            csrf_token: engine::audit::to_hex(&self.ids.secret()),
            created_at: at,
            expires_at: at.checked_add(SESSION_LIFETIME).unwrap_or(at),
            revoked_at: None,
        };
        let mut tx = self.store.write().await?;
        tx.insert_session(&session, &digest(&secret)).await?;
        if let Some(attempt) = attempt {
            tx.forget_sign_in_failures(&attempt.account, &attempt.address, attempt.id)
                .await?;
        }
        self.audit(
            &mut tx,
            &actor,
            at,
            "session.started",
            ("session", session.id.to_string()),
            json!({
                "summary": format!("{} signed in", actor.user.email),
            }),
        )
        .await?;
        tx.commit().await?;
        Ok((actor, IssuedSession { session, secret }))
    }

    /// Who holds the session cookie `secret`, if it names a live session.
    pub async fn session_actor(&self, secret: &str) -> Result<Option<(Actor, Session)>> {
        if secret.len() != 64 {
            return Ok(None);
        }
        let mut tx = self.store.read().await?;
        let Some((session, tenant, user)) = tx.session_by_secret(&digest(secret)).await? else {
            return Ok(None);
        };
        if session.revoked_at.is_some() || session.expires_at <= self.now() {
            return Ok(None);
        }
        Ok(Some((Actor { tenant, user }, session)))
    }

    pub async fn sign_out(&self, actor: &Actor, session: SessionId) -> Result<()> {
        let at = self.now();
        let mut tx = self.store.write().await?;
        tx.revoke_session(actor.tenant.id, session, at).await?;
        self.audit(
            &mut tx,
            actor,
            at,
            "session.ended",
            ("session", session.to_string()),
            json!({
                "summary": format!("{} signed out", actor.user.email),
            }),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Changes the actor's own password after checking the current one, and ends every other
    /// session of theirs.
    pub async fn change_password(
        &self,
        actor: &Actor,
        keep: Option<SessionId>,
        current: &str,
        new: &Password,
    ) -> Result<u64> {
        let stored = self
            .store
            .read()
            .await?
            .password_hash(actor.tenant.id, actor.user.id)
            .await?;
        let matches = match stored {
            Some(stored) => verify(current, stored).await,
            None => false,
        };
        if !matches {
            return Err(AppError::invalid(
                "current_password",
                "the current password is wrong",
            ));
        }
        let at = self.now();
        let hash = self.hash_password(new).await?;
        let mut tx = self.store.write().await?;
        tx.set_password(actor.tenant.id, actor.user.id, &hash, at)
            .await?;
        let revoked = tx
            .revoke_sessions(actor.tenant.id, actor.user.id, keep, at)
            .await?;
        self.audit(&mut tx, actor, at, "user.password_changed", ("user", actor.user.id.to_string()), json!({
            "summary": format!("{} changed their password", actor.user.email), "other_sessions_revoked": revoked,
        }))
        .await?;
        tx.commit().await?;
        Ok(revoked)
    }
}
