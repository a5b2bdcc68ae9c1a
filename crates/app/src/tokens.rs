//! API tokens: issuing, listing, revoking, and finding who presents one.

use engine::fields::TokenName;
use engine::ids::{Email, TokenId};
use engine::tenant::{ApiToken, Permission, Role};
use serde_json::json;
use sha2::{Digest, Sha256};
use store::{IdempotencyClaim, KeyClaim};

use crate::{Actor, App, AppError, Result};

/// What every token starts with, so that a leaked one is easy to recognize and scan for.
pub const TOKEN_PREFIX: &str = "exu_";

/// A token as issued: the secret is shown this once and never stored.
#[derive(Clone, Debug)]
pub struct IssuedToken {
    pub token: ApiToken,
    pub secret: String,
}

fn digest(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

impl App {
    /// Issues a token for `user` (the actor when not given) with `role`, which may not be
    /// stronger than that user's role.
    pub async fn issue_token(
        &self,
        actor: &Actor,
        name: TokenName,
        role: Role,
        user: Option<&Email>,
    ) -> Result<IssuedToken> {
        let at = self.now();
        let mut tx = self.store.write().await?;
        let holder = match user {
            None => actor.user.clone(),
            Some(email) => {
                actor.require(Permission::ManageUsers)?;
                tx.user_by_email(actor.tenant.id, email)
                    .await?
                    .ok_or_else(|| AppError::invalid("user", format!("no user {email}")))?
            }
        };
        if holder.id != actor.user.id {
            actor.outranks(holder.role, "issue a token for")?;
        }
        if !holder.role.may_issue(role) || !actor.user.role.may_issue(role) {
            return Err(AppError::invalid(
                "role",
                format!(
                    "{} is {}; a token for them can be {} or weaker",
                    holder.email, holder.role, holder.role
                ),
            ));
        }
        let secret = format!(
            "{TOKEN_PREFIX}{}",
            engine::audit::to_hex(&self.ids.secret())
        );
        let token = ApiToken {
            id: TokenId(self.new_id()),
            tenant_id: actor.tenant.id,
            user_id: holder.id,
            name: name.into(),
            role,
            created_at: at,
            revoked_at: None,
        };
        tx.insert_token(&token, &digest(&secret)).await?;
        self.audit(
            &mut tx,
            actor,
            at,
            "token.issued",
            ("token", token.id.to_string()),
            json!({
                "summary": format!("issued token `{}` ({}) for {}", token.name, role, holder.email),
                "name": token.name, "role": role, "user": holder.email,
            }),
        )
        .await?;
        tx.commit().await?;
        Ok(IssuedToken { token, secret })
    }

    /// The tenant's tokens (admins see all, others their own).
    pub async fn tokens(&self, actor: &Actor) -> Result<Vec<ApiToken>> {
        let all = self.store.read().await?.tokens(actor.tenant.id).await?;
        let see_all = actor.user.role.allows(Permission::ManageUsers);
        Ok(all
            .into_iter()
            .filter(|t| see_all || t.user_id == actor.user.id)
            .collect())
    }

    pub async fn revoke_token(&self, actor: &Actor, id: TokenId) -> Result<()> {
        let at = self.now();
        let mut tx = self.store.write().await?;
        let token = tx
            .tokens(actor.tenant.id)
            .await?
            .into_iter()
            .find(|t| t.id == id)
            .ok_or_else(|| AppError::NotFound(format!("no token {id}")))?;
        if token.user_id != actor.user.id {
            actor.require(Permission::ManageUsers)?;
        }
        if !tx.revoke_token(actor.tenant.id, id, at).await? {
            return Err(AppError::Conflict(format!("token {id} is already revoked")));
        }
        self.audit(
            &mut tx,
            actor,
            at,
            "token.revoked",
            ("token", id.to_string()),
            json!({
                "summary": format!("revoked token `{}`", token.name),
            }),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Who presents `secret`: its user, acting with the token's role. `None` for anything that
    /// is not a live token, so callers cannot tell a revoked token from a made-up one.
    pub async fn authenticate(&self, secret: &str) -> Result<Option<(Actor, TokenId)>> {
        if !secret.starts_with(TOKEN_PREFIX) || secret.len() > 128 {
            return Ok(None);
        }
        let mut tx = self.store.read().await?;
        let Some((token, tenant, mut user)) = tx.token_by_secret(&digest(secret)).await? else {
            return Ok(None);
        };
        if token.revoked_at.is_some() {
            return Ok(None);
        }
        // A token never outlasts a demotion: it acts with the weaker of its role and its user's.
        user.role = token.role.weaker(user.role);
        Ok(Some((Actor { tenant, user }, token.id)))
    }
}

/// How long a retried request with the same idempotency key gets the stored response.
pub const IDEMPOTENCY_WINDOW: jiff::SignedDuration = jiff::SignedDuration::from_hours(24);

impl App {
    /// Claims an idempotency key for a request with this digest; a claimed request runs inside
    /// the `store::Answering` it returns. `caller` names the credential that sent it
    /// (`token:<id>`, `session:<id>`): a key belongs to one credential, so a weaker token of
    /// the same user cannot replay a stronger one's answer.
    pub async fn claim_idempotency_key(
        &self,
        actor: &Actor,
        caller: &str,
        key: &str,
        request_sha256: &[u8; 32],
    ) -> Result<IdempotencyClaim> {
        let valid = (1..=255).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_graphic());
        if !valid {
            return Err(AppError::invalid(
                "Idempotency-Key",
                "the Idempotency-Key header must be 1 to 255 visible ASCII characters",
            ));
        }
        let at = self.now();
        let since = at.checked_sub(IDEMPOTENCY_WINDOW).unwrap_or(at);
        let claim = KeyClaim {
            caller,
            key,
            request_sha256,
            at,
            forget_before: since,
        };
        Ok(self
            .store
            .claim_idempotency_key(actor.tenant.id, &claim)
            .await?)
    }
}
