//! API tokens, sign-in sessions, passwords and idempotency keys.

use engine::audit::Hash;
use engine::fields::TokenName;
use engine::ids::{SessionId, TenantId, Text, TokenId, UserId};
use engine::tenant::{ApiToken, Session, Tenant, User};
use jiff::Timestamp;

use crate::Result;
use crate::idempotency::{Found, IdempotencyClaim, KeptResponse, KeyClaim};
use crate::sql::{Row, args};

use super::*;

const TOKEN_COLUMNS: &str = "id, tenant_id, user_id, name, role, created_at_us, revoked_at_us";

fn token_row(r: &impl Row) -> Result<ApiToken> {
    Ok(ApiToken {
        id: TokenId(r.uuid("id")?),
        tenant_id: TenantId(r.uuid("tenant_id")?),
        user_id: UserId(r.uuid("user_id")?),
        name: Text::line(r.text("name")?, TokenName::MAX).map_err(corrupt("token name"))?,
        role: role(r.text("role")?)?,
        created_at: from_us(r.int("created_at_us")?)?,
        revoked_at: opt_from_us(r.opt_int("revoked_at_us")?)?,
    })
}

const SESSION_COLUMNS: &str =
    "id, tenant_id, user_id, csrf_token, created_at_us, expires_at_us, revoked_at_us";

/// A credential's (`k`) tenant and user, joined beside it.
const CREDENTIAL_JOIN: &str = "JOIN tenants n ON n.id = k.tenant_id \
     JOIN users u ON u.tenant_id = k.tenant_id AND u.id = k.user_id";

/// The tenant's and the user's columns of [`CREDENTIAL_JOIN`], named apart from the
/// credential's own.
const CREDENTIAL_HOLDER: &str = "n.slug AS tenant_slug, n.name AS tenant_name, \
     n.time_zone AS tenant_time_zone, u.email AS user_email, u.name AS user_name, \
     u.role AS user_role, u.time_zone AS user_time_zone";

fn credential_tenant(r: &impl Row) -> Result<Tenant> {
    tenants::tenant_from(
        r,
        &tenants::TenantColumns {
            id: "tenant_id",
            slug: "tenant_slug",
            name: "tenant_name",
            time_zone: "tenant_time_zone",
        },
    )
}

fn credential_user(r: &impl Row) -> Result<User> {
    tenants::user_from(
        r,
        &tenants::UserColumns {
            tenant_id: "tenant_id",
            id: "user_id",
            email: "user_email",
            name: "user_name",
            role: "user_role",
            time_zone: "user_time_zone",
        },
    )
}

/// `columns` (a comma-separated list) each prefixed with the table alias `alias`.
fn qualified(alias: &str, columns: &str) -> String {
    columns
        .split(", ")
        .map(|c| format!("{alias}.{c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn session_row(r: &impl Row) -> Result<Session> {
    Ok(Session {
        id: SessionId(r.uuid("id")?),
        tenant_id: TenantId(r.uuid("tenant_id")?),
        user_id: UserId(r.uuid("user_id")?),
        csrf_token: r.text("csrf_token")?.to_owned(),
        created_at: from_us(r.int("created_at_us")?)?,
        expires_at: from_us(r.int("expires_at_us")?)?,
        revoked_at: opt_from_us(r.opt_int("revoked_at_us")?)?,
    })
}

impl Tx {
    pub async fn insert_token(&mut self, t: &ApiToken, secret_sha256: &Hash) -> Result<()> {
        self.run(
            "INSERT INTO api_tokens (tenant_id, id, user_id, name, role, secret_sha256, created_at_us) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            args![
                t.tenant_id.0,
                t.id.0,
                t.user_id.0,
                t.name.as_str(),
                t.role.as_str(),
                secret_sha256,
                us(t.created_at),
            ],
        )
        .await?;
        Ok(())
    }

    /// The token whose secret has this digest, with its tenant and its user, in whichever
    /// tenant: authentication is the one lookup that starts without a tenant, because the
    /// token is what names it.
    pub async fn token_by_secret(
        &mut self,
        secret_sha256: &Hash,
    ) -> Result<Option<(ApiToken, Tenant, User)>> {
        self.credential_by_secret("api_tokens", TOKEN_COLUMNS, secret_sha256, |r| token_row(r))
            .await
    }

    pub async fn tokens(&mut self, tenant: TenantId) -> Result<Vec<ApiToken>> {
        let sql = format!(
            "SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE tenant_id = $1 ORDER BY created_at_us, id"
        );
        self.all(&sql, args![tenant.0], |r| token_row(r)).await
    }

    pub async fn revoke_token(
        &mut self,
        tenant: TenantId,
        id: TokenId,
        at: Timestamp,
    ) -> Result<bool> {
        let changed = self
            .run(
                "UPDATE api_tokens SET revoked_at_us = $3 \
                 WHERE tenant_id = $1 AND id = $2 AND revoked_at_us IS NULL",
                args![tenant.0, id.0, us(at)],
            )
            .await?;
        Ok(changed == 1)
    }

    /// Sets a user's password hash (a PHC string) and the time it changed.
    pub async fn set_password(
        &mut self,
        tenant: TenantId,
        user: UserId,
        hash: &str,
        at: Timestamp,
    ) -> Result<()> {
        self.run(
            "UPDATE users SET password_hash = $3, password_changed_at_us = $4 \
             WHERE tenant_id = $1 AND id = $2",
            args![tenant.0, user.0, hash, us(at)],
        )
        .await?;
        Ok(())
    }

    pub async fn password_hash(
        &mut self,
        tenant: TenantId,
        user: UserId,
    ) -> Result<Option<String>> {
        Ok(self
            .optional(
                "SELECT password_hash FROM users WHERE tenant_id = $1 AND id = $2",
                args![tenant.0, user.0],
                |r| Ok(r.opt_text("password_hash")?.map(str::to_owned)),
            )
            .await?
            .flatten())
    }

    pub async fn insert_session(&mut self, session: &Session, secret_sha256: &Hash) -> Result<()> {
        self.run(
            "INSERT INTO sessions (tenant_id, id, user_id, secret_sha256, csrf_token, created_at_us, expires_at_us) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            args![
                session.tenant_id.0,
                session.id.0,
                session.user_id.0,
                secret_sha256,
                &session.csrf_token,
                us(session.created_at),
                us(session.expires_at),
            ],
        )
        .await?;
        Ok(())
    }

    /// The session whose cookie has this digest, with its tenant and its user, in whichever
    /// tenant (see [`Tx::token_by_secret`]).
    pub async fn session_by_secret(
        &mut self,
        secret_sha256: &Hash,
    ) -> Result<Option<(Session, Tenant, User)>> {
        self.credential_by_secret("sessions", SESSION_COLUMNS, secret_sha256, |r| {
            session_row(r)
        })
        .await
    }

    /// The credential in `table` (its `columns`, read by `row`) whose secret has this digest,
    /// joined to its tenant and its user: one statement, as every request asks it first.
    async fn credential_by_secret<T: Send>(
        &mut self,
        table: &str,
        columns: &str,
        secret_sha256: &Hash,
        row: impl Fn(&DbRow<'_>) -> Result<T> + Send + Sync,
    ) -> Result<Option<(T, Tenant, User)>> {
        let sql = format!(
            "SELECT {}, {CREDENTIAL_HOLDER} FROM {table} k {CREDENTIAL_JOIN} \
             WHERE k.secret_sha256 = $1",
            qualified("k", columns)
        );
        self.optional(&sql, args![secret_sha256], |r| {
            Ok((row(r)?, credential_tenant(r)?, credential_user(r)?))
        })
        .await
    }

    /// Revokes the user's live sessions, except `keep`; returns how many.
    pub async fn revoke_sessions(
        &mut self,
        tenant: TenantId,
        user: UserId,
        keep: Option<SessionId>,
        at: Timestamp,
    ) -> Result<u64> {
        self.run(
            "UPDATE sessions SET revoked_at_us = $4 WHERE tenant_id = $1 AND user_id = $2 \
             AND revoked_at_us IS NULL AND ($3 IS NULL OR id <> $3)",
            args![tenant.0, user.0, keep.map(|k| k.0), us(at)],
        )
        .await
    }

    pub async fn revoke_session(
        &mut self,
        tenant: TenantId,
        id: SessionId,
        at: Timestamp,
    ) -> Result<()> {
        self.run(
            "UPDATE sessions SET revoked_at_us = $3 \
             WHERE tenant_id = $1 AND id = $2 AND revoked_at_us IS NULL",
            args![tenant.0, id.0, us(at)],
        )
        .await?;
        Ok(())
    }

    /// Claims an idempotency key for the attempt `token` (see `idempotency.rs`). `live` says
    /// whether an attempt holding the key still runs in this process.
    pub(crate) async fn claim_idempotency_key(
        &mut self,
        tenant: TenantId,
        claim: &KeyClaim<'_>,
        token: i64,
        live: &(dyn Fn(i64) -> bool + Sync),
    ) -> Result<Found> {
        let KeyClaim {
            caller,
            key,
            request_sha256,
            at,
            forget_before,
        } = *claim;
        self.run(
            "DELETE FROM idempotency_keys WHERE tenant_id = $1 AND created_at_us < $2",
            args![tenant.0, us(forget_before)],
        )
        .await?;
        let claimed = self
            .run(
                "INSERT INTO idempotency_keys \
                 (tenant_id, caller, key, request_sha256, created_at_us, claim_token) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (tenant_id, caller, key) DO NOTHING",
                args![tenant.0, caller, key, request_sha256, us(at), token],
            )
            .await?;
        if claimed == 1 {
            return Ok(Found::Claimed);
        }
        let (held, found) = self
            .one(
                "SELECT request_sha256, status, content_type, body, claim_token, applied \
                 FROM idempotency_keys WHERE tenant_id = $1 AND caller = $2 AND key = $3",
                args![tenant.0, caller, key],
                |r| {
                    let held = r.int("claim_token")?;
                    let found = if hash(r.bytes("request_sha256")?)? != *request_sha256 {
                        Some(IdempotencyClaim::Mismatch)
                    } else if let Some(status) = r.opt_int("status")? {
                        Some(IdempotencyClaim::Replay {
                            status: u16::try_from(status).map_err(corrupt("status"))?,
                            content_type: r
                                .opt_text("content_type")?
                                .unwrap_or_default()
                                .to_owned(),
                            body: r.opt_bytes("body")?.unwrap_or_default().to_vec(),
                        })
                    } else if r.bool("applied")? {
                        Some(IdempotencyClaim::Unanswered)
                    } else {
                        None
                    };
                    Ok((held, found))
                },
            )
            .await?;
        if let Some(found) = found {
            return Ok(Found::Other(found));
        }
        if live(held) {
            return Ok(Found::Other(IdempotencyClaim::InProgress));
        }
        // Its holder is gone, or runs elsewhere: this attempt takes over, and the fence on
        // the token keeps the other from committing too.
        let taken = self
            .run(
                "UPDATE idempotency_keys SET claim_token = $5, created_at_us = $6 \
                 WHERE tenant_id = $1 AND caller = $2 AND key = $3 AND claim_token = $4 \
                 AND status IS NULL AND NOT applied",
                args![tenant.0, caller, key, held, token, us(at)],
            )
            .await?;
        Ok(if taken == 1 {
            Found::Claimed
        } else {
            Found::Other(IdempotencyClaim::InProgress)
        })
    }

    /// Stores the answer of the attempt `token`; false when a resend took the key over.
    pub(crate) async fn answer_idempotency_key(
        &mut self,
        tenant: TenantId,
        caller: &str,
        key: &str,
        token: i64,
        (status, content_type, body): KeptResponse<'_>,
    ) -> Result<bool> {
        let stored = self
            .run(
                "UPDATE idempotency_keys SET status = $5, content_type = $6, body = $7 \
                 WHERE tenant_id = $1 AND caller = $2 AND key = $3 AND claim_token = $4",
                args![
                    tenant.0,
                    caller,
                    key,
                    token,
                    i64::from(status),
                    content_type,
                    body
                ],
            )
            .await?;
        Ok(stored == 1)
    }

    /// Replaces the body of every answer kept for a resend (the last day's) that holds one of
    /// `texts` as a JSON string value (quotes included, so a short name such as "IT" does not
    /// take every answer that merely contains it), with `replacement`: the status stays, so a
    /// resend still hears whether its request took effect. The answers are matched here
    /// rather than in SQL because they are bytes, which the two backends search with
    /// different functions; they are at most a day's worth.
    pub async fn erase_kept_answers_mentioning(
        &mut self,
        tenant: TenantId,
        texts: &[&str],
        replacement: &[u8],
    ) -> Result<usize> {
        let needles: Vec<Vec<u8>> = texts
            .iter()
            .filter(|t| !t.is_empty())
            .map(|t| serde_json::to_string(t).unwrap_or_default().into_bytes())
            .collect();
        let kept = self
            .all(
                "SELECT caller, key, body FROM idempotency_keys \
                 WHERE tenant_id = $1 AND body IS NOT NULL",
                args![tenant.0],
                |r| {
                    Ok((
                        r.text("caller")?.to_owned(),
                        r.text("key")?.to_owned(),
                        r.bytes("body")?.to_vec(),
                    ))
                },
            )
            .await?;
        let mut erased = 0;
        for (caller, key, body) in kept {
            let mentions = needles
                .iter()
                .any(|n| body.windows(n.len()).any(|w| w == n.as_slice()));
            if mentions {
                self.run(
                    "UPDATE idempotency_keys SET body = $4 \
                     WHERE tenant_id = $1 AND caller = $2 AND key = $3",
                    args![tenant.0, &caller, &key, replacement],
                )
                .await?;
                erased += 1;
            }
        }
        Ok(erased)
    }

    /// Marks the effect of the attempt `token` committed before its answer; false when a
    /// resend took the key over.
    pub(crate) async fn mark_idempotency_applied(
        &mut self,
        tenant: TenantId,
        caller: &str,
        key: &str,
        token: i64,
    ) -> Result<bool> {
        let marked = self
            .run(
                "UPDATE idempotency_keys SET applied = TRUE \
                 WHERE tenant_id = $1 AND caller = $2 AND key = $3 AND claim_token = $4",
                args![tenant.0, caller, key, token],
            )
            .await?;
        Ok(marked == 1)
    }

    /// Releases the key held by the attempt `token`, which kept nothing: a retry runs again.
    pub(crate) async fn release_idempotency_key(
        &mut self,
        tenant: TenantId,
        caller: &str,
        key: &str,
        token: i64,
    ) -> Result<()> {
        self.run(
            "DELETE FROM idempotency_keys WHERE tenant_id = $1 AND caller = $2 AND key = $3 \
             AND claim_token = $4 AND NOT applied",
            args![tenant.0, caller, key, token],
        )
        .await?;
        Ok(())
    }
}

impl Tx {
    /// Counts a sign-in attempt as a failure under each of `keys` (with the most failures it
    /// allows since `since`), unless one of them has had that many already: then the time of
    /// the oldest of those, from which the caller tells how long to wait. Failures from
    /// before `since` are forgotten on the way. The attempt's rows are named `attempt`, so
    /// that a success can take its address's back.
    pub(crate) async fn count_sign_in_attempt(
        &mut self,
        keys: &[(&str, i64)],
        attempt: uuid::Uuid,
        at: Timestamp,
        since: Timestamp,
    ) -> Result<Option<Timestamp>> {
        // Attempts on the same key take turns, so that parallel ones cannot all count
        // fewer failures than the limit (in a fixed order: no two wait for each other).
        let mut names: Vec<&str> = keys.iter().map(|(key, _)| *key).collect();
        names.sort_unstable();
        for name in names {
            self.conn.lock_name(&format!("sign-in {name}")).await?;
        }
        self.run(
            "DELETE FROM sign_in_failures WHERE at_us < $1",
            args![us(since)],
        )
        .await?;
        let mut oldest_exhausted: Option<i64> = None;
        for (key, limit) in keys {
            let (failures, oldest) = self
                .one(
                    "SELECT COUNT(*) AS failures, MIN(at_us) AS oldest FROM sign_in_failures \
                     WHERE key = $1",
                    args![*key],
                    |r| Ok((r.int("failures")?, r.opt_int("oldest")?)),
                )
                .await?;
            if failures >= *limit
                && let Some(oldest) = oldest
            {
                oldest_exhausted = Some(oldest_exhausted.map_or(oldest, |o| o.max(oldest)));
            }
        }
        if let Some(oldest) = oldest_exhausted {
            return Ok(Some(from_us(oldest)?));
        }
        for (key, _) in keys {
            self.run(
                "INSERT INTO sign_in_failures (key, at_us, id) VALUES ($1, $2, $3)",
                args![*key, us(at), attempt],
            )
            .await?;
        }
        Ok(None)
    }

    /// The attempt succeeded: its account's failures are forgotten, and the attempt no
    /// longer counts against `address` (many people signing in from one office are not an
    /// attack).
    pub async fn forget_sign_in_failures(
        &mut self,
        account: &str,
        address: &str,
        attempt: uuid::Uuid,
    ) -> Result<()> {
        self.run(
            "DELETE FROM sign_in_failures WHERE key = $1",
            args![account],
        )
        .await?;
        self.run(
            "DELETE FROM sign_in_failures WHERE key = $1 AND id = $2",
            args![address, attempt],
        )
        .await?;
        Ok(())
    }
}

impl crate::Store {
    /// [`Tx::count_sign_in_attempt`] in a transaction of its own, committed at once, even
    /// inside a keyed request: a counted failure stands whatever the request's answer.
    pub async fn count_sign_in_attempt(
        &self,
        keys: &[(&str, i64)],
        attempt: uuid::Uuid,
        at: Timestamp,
        since: Timestamp,
    ) -> Result<Option<Timestamp>> {
        let mut tx = self.write().await?;
        let exhausted = tx.count_sign_in_attempt(keys, attempt, at, since).await?;
        tx.commit_now().await?;
        Ok(exhausted)
    }
}
