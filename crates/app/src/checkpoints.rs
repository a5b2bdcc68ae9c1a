//! Signed audit checkpoints: the tenant's key signs its chain's head (sequence number, hash,
//! time) every minute while events are written, and whenever a certificate or an export
//! receipt is signed, which carries it. Copies outside the database are what catch a log whose
//! tail was deleted together with its newest checkpoints.

use crypto::jose::{self, Jwks};
use std::collections::HashMap;

use engine::audit::{CheckpointClaims, DigestKey, Hash, hash_from_hex, to_hex};
use engine::ids::{SubjectId, TenantId};
use engine::tenant::Tenant;
use store::{AuditFilter, CheckpointRow, Tx};

use crate::{Actor, App, AppError, Result, certificates::jwks};

impl App {
    /// The newest checkpoint of `tenant`'s chain, signed now in `tx` when none vouches for
    /// its head yet. `None` while the chain is empty.
    pub(crate) async fn checkpoint(
        &self,
        tx: &mut Tx,
        tenant: &Tenant,
    ) -> Result<Option<CheckpointRow>> {
        let head = match unvouched_head(tx, tenant.id).await? {
            Ok(head) => head,
            Err(newest) => return Ok(newest),
        };
        let key = self.signing_key(tx, tenant.id).await?;
        let at = self.now();
        let claims = CheckpointClaims::new(tenant.id, format!("exeunt:{}", tenant.slug), head, at);
        let row = CheckpointRow {
            seq: head.0,
            hash: head.1,
            signed_at: at,
            kid: key.jwk().id(),
            token: key.sign(&claims),
        };
        tx.insert_checkpoint(tenant.id, &row).await?;
        Ok(Some(row))
    }

    /// Signs a checkpoint for every tenant whose chain moved since its newest one: what the
    /// worker does every minute. Returns how many it signed. Whether one is due is read
    /// first, so that a quiet tenant costs no write.
    pub async fn sign_checkpoints(&self) -> Result<usize> {
        let tenants = self.store.read().await?.tenants().await?;
        let mut signed = 0;
        for tenant in tenants {
            if unvouched_head(&mut self.store.read().await?, tenant.id)
                .await?
                .is_err()
            {
                continue;
            }
            let mut tx = self.store.write().await?;
            self.checkpoint(&mut tx, &tenant).await?;
            tx.commit().await?;
            signed += 1;
        }
        Ok(signed)
    }

    /// The acting tenant's checkpoints before the one for event `before` (all when `None`),
    /// newest first.
    pub async fn checkpoints(
        &self,
        actor: &Actor,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<CheckpointRow>> {
        let mut tx = self.store.read().await?;
        Ok(tx.checkpoints(actor.tenant.id, before, limit).await?)
    }

    /// The tenant's newest checkpoint, if it has one.
    pub async fn newest_checkpoint(&self, actor: &Actor) -> Result<Option<CheckpointRow>> {
        Ok(self.checkpoints(actor, None, 1).await?.pop())
    }

    /// Checks the newest stored checkpoint against the stored chain, whose last event is
    /// `last`: its signature under the tenant's keys, and the hash of the event it vouches for.
    pub(crate) async fn check_newest_checkpoint(&self, tenant: TenantId, last: i64) -> Result<()> {
        let mut tx = self.store.read().await?;
        let Some(newest) = tx.checkpoints(tenant, None, 1).await?.pop() else {
            return Ok(());
        };
        let keys: Jwks = jwks(&tx.signing_keys(Some(tenant)).await?);
        let claims = checkpoint_claims(&newest.token, Some(&keys))?;
        let vouched = tx
            .audit_events(
                tenant,
                &AuditFilter {
                    after_seq: claims.seq - 1,
                    limit: 1,
                    ..AuditFilter::default()
                },
            )
            .await?
            .into_iter()
            .find(|e| e.seq == claims.seq)
            .map(|e| e.hash);
        Ok(claims.check(tenant, vouched.as_ref(), last)?)
    }
}

/// The head of `tenant`'s chain if no checkpoint vouches for it yet; otherwise the newest
/// checkpoint (`None` while the chain is empty).
async fn unvouched_head(
    tx: &mut Tx,
    tenant: TenantId,
) -> Result<std::result::Result<(i64, Hash), Option<CheckpointRow>>> {
    let newest = tx.checkpoints(tenant, None, 1).await?.pop();
    Ok(match tx.audit_head(tenant).await? {
        Some(head) if newest.as_ref().is_none_or(|c| c.seq != head.0) => Ok(head),
        _ => Err(newest),
    })
}

/// The claims of a checkpoint whose signature `keys` verify (any signature, or none, when
/// `keys` is `None`: for a report that says so); refused when it is not a checkpoint.
pub fn checkpoint_claims(token: &str, keys: Option<&Jwks>) -> Result<CheckpointClaims> {
    let claims = match keys {
        Some(keys) => jose::verify::<CheckpointClaims>(token, keys).map(|v| v.claims),
        None => jose::unverified_claims::<CheckpointClaims>(token),
    }
    .map_err(|e| AppError::invalid("checkpoint", e))?;
    if claims.kind != engine::audit::CHECKPOINT_KIND {
        return Err(AppError::invalid(
            "checkpoint",
            "this token is not an audit checkpoint",
        ));
    }
    Ok(claims)
}

/// What [`verify_exported_log`] found: an intact chain of `events` events, and each
/// checkpoint checked against it, with whether its signature was verified too.
#[derive(Debug)]
pub struct ExportedLogCheck {
    pub events: i64,
    pub checkpoints: Vec<CheckedCheckpoint>,
    /// Payloads left unchecked: their subject's digest key is not in the log.
    pub unchecked_payloads: u64,
}

#[derive(Debug)]
pub struct CheckedCheckpoint {
    pub seq: i64,
    /// Whether its signature was checked against the keys given.
    pub signed: bool,
}

/// The line of `audit export` that carries the newest checkpoint.
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckpointLine {
    pub checkpoint: String,
}

/// A line of `audit export` that carries a subject's digest key, before the events.
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DigestKeyLine {
    pub digest_key: SubjectDigestKey,
}

#[derive(serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubjectDigestKey {
    pub subject: uuid::Uuid,
    /// 64 lowercase hex digits.
    pub key: String,
}

impl DigestKeyLine {
    pub fn new(subject: SubjectId, key: &DigestKey) -> Self {
        DigestKeyLine {
            digest_key: SubjectDigestKey {
                subject: subject.0,
                key: to_hex(&key.0),
            },
        }
    }
}

/// Checks an exported log (the JSON Lines of `audit export`) offline: the chain from its first
/// event, every payload still there against its digest (a keyed one with the subject's digest
/// key from the log's key lines, or counted unchecked), and each checkpoint (the log's own
/// last line, and `more` from elsewhere: a webhook delivery, a certificate, a receipt) against
/// the events, which catches a tail removed up to the checkpoint. With `keys` (the tenant's
/// JWK set), each checkpoint's signature is verified as well.
pub fn verify_exported_log(
    log: impl std::io::BufRead,
    keys: Option<&Jwks>,
    more: &[String],
) -> Result<ExportedLogCheck> {
    let mut verifier = engine::audit::ChainVerifier::new();
    let mut tenant = None;
    let mut hashes = Vec::new();
    let mut tokens = more.to_vec();
    let mut digest_keys = HashMap::new();
    for (n, line) in log.lines().enumerate() {
        let line = line.map_err(|e| AppError::invalid("file", e))?;
        let at = |e: serde_json::Error| AppError::invalid("file", format!("line {}: {e}", n + 1));
        if line.trim().is_empty() {
            continue;
        }
        if line.starts_with(r#"{"checkpoint""#) {
            tokens.push(
                serde_json::from_str::<CheckpointLine>(&line)
                    .map_err(at)?
                    .checkpoint,
            );
            continue;
        }
        if line.starts_with(r#"{"digest_key""#) {
            let line = serde_json::from_str::<DigestKeyLine>(&line).map_err(at)?;
            let key = hash_from_hex(&line.digest_key.key).ok_or_else(|| {
                AppError::invalid("file", format!("line {}: a key is 64 hex digits", n + 1))
            })?;
            digest_keys.insert(SubjectId(line.digest_key.subject), DigestKey(key));
            continue;
        }
        let event: engine::audit::AuditEvent = serde_json::from_str(&line).map_err(at)?;
        if *tenant.get_or_insert(event.tenant_id) != event.tenant_id {
            return Err(AppError::invalid(
                "file",
                format!("line {}: an event of another tenant", n + 1),
            ));
        }
        let key = event.subject_id.and_then(|s| digest_keys.get(&s));
        verifier.push(&event, key)?;
        hashes.push(event.hash);
    }
    let events = verifier.last_seq();
    let unchecked_payloads = verifier.unchecked();
    let checkpoints = tokens
        .iter()
        .map(|token| {
            let claims = checkpoint_claims(token, keys)?;
            let tenant =
                tenant.ok_or_else(|| AppError::invalid("file", "the log holds no event"))?;
            let vouched = usize::try_from(claims.seq - 1)
                .ok()
                .and_then(|i| hashes.get(i));
            claims.check(tenant, vouched, events)?;
            Ok(CheckedCheckpoint {
                seq: claims.seq,
                signed: keys.is_some(),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(ExportedLogCheck {
        events,
        checkpoints,
        unchecked_payloads,
    })
}
