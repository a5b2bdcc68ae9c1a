//! The audit log, its verification, and the published signing keys.

use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

/// An event of the audit chain.
#[derive(Serialize, ToSchema)]
pub struct AuditEvent {
    pub tenant_id: Uuid,
    /// 1, 2, 3, … per tenant, without gaps.
    pub seq: i64,
    /// Microseconds since the Unix epoch, UTC.
    pub at_us: i64,
    /// `user:<id>` or `system`.
    pub actor: String,
    /// What happened, such as `task.completed`.
    pub action: String,
    pub target_kind: String,
    pub target_id: String,
    /// The subject whose personal data the payload may hold, whatever the target names: what
    /// the subject's export carries and its purge erases. Not covered by the hash.
    pub subject_id: Option<Uuid>,
    /// JSON with the summary, the reason and what changed; null once erased by a purge.
    pub payload: Option<String>,
    /// The SHA-256 of the payload, in hex; the chain covers this rather than the payload.
    pub payload_digest: String,
    /// The event's chain hash, in hex.
    pub hash: String,
    /// How `hash` and `payload_digest` are computed: 1, or 2 (the hash covers the subject, and
    /// a payload about a subject has a keyed digest), as `docs/audit-format.md` specifies.
    pub format: u8,
}

impl From<engine::audit::AuditEvent> for AuditEvent {
    fn from(event: engine::audit::AuditEvent) -> Self {
        let engine::audit::AuditEvent {
            tenant_id,
            seq,
            at_us,
            actor,
            action,
            target_kind,
            target_id,
            subject_id,
            payload,
            payload_digest,
            hash,
            format,
        } = event;
        Self {
            tenant_id: tenant_id.0,
            seq,
            at_us,
            actor,
            action,
            target_kind,
            target_id,
            subject_id: subject_id.map(|s| s.0),
            payload,
            payload_digest: engine::audit::to_hex(&payload_digest),
            hash: engine::audit::to_hex(&hash),
            format,
        }
    }
}

/// A signed head of the audit chain (see `docs/audit-format.md`).
#[derive(Serialize, ToSchema)]
pub struct AuditCheckpoint {
    /// The sequence number of the event it vouches for.
    pub seq: i64,
    /// That event's chain hash, in hex.
    pub hash: String,
    #[schema(value_type = String, format = DateTime)]
    pub signed_at: jiff::Timestamp,
    /// The thumbprint of the key that signed it, in `/.well-known/jwks.json`.
    pub kid: String,
    /// The checkpoint itself: a compact JWS (EdDSA) whose claims are `kind`
    /// (`exeunt-audit-checkpoint`), `iss`, `tenant`, `seq`, `hash` and `iat`.
    pub token: String,
}

impl From<store::CheckpointRow> for AuditCheckpoint {
    fn from(row: store::CheckpointRow) -> Self {
        Self {
            seq: row.seq,
            hash: engine::audit::to_hex(&row.hash),
            signed_at: row.signed_at,
            kid: row.kid,
            token: row.token,
        }
    }
}

/// The outcome of verifying the audit chain: how many events when intact, the first broken
/// link when not.
#[derive(Serialize, ToSchema)]
pub struct AuditVerification {
    pub intact: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub events: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub broken: Option<String>,
}

/// An Ed25519 public key (RFC 8037), named by its RFC 7638 thumbprint.
#[derive(Serialize, ToSchema)]
pub struct Jwk {
    /// Always `OKP`.
    pub kty: String,
    /// Always `Ed25519`.
    pub crv: String,
    /// The public key, base64url.
    pub x: String,
    pub kid: Option<String>,
    #[serde(rename = "use")]
    pub key_use: Option<String>,
    /// Always `EdDSA`.
    pub alg: Option<String>,
}

/// A JWK set: the keys that verify Exeunt's certificates.
#[derive(Serialize, ToSchema)]
pub struct Jwks {
    pub keys: Vec<Jwk>,
}

impl From<crypto::jose::Jwks> for Jwks {
    fn from(set: crypto::jose::Jwks) -> Self {
        let crypto::jose::Jwks { keys } = set;
        Self {
            keys: keys
                .into_iter()
                .map(|key| {
                    let crypto::jose::Jwk {
                        kty,
                        crv,
                        x,
                        kid,
                        key_use,
                        alg,
                    } = key;
                    Jwk {
                        kty,
                        crv,
                        x,
                        kid,
                        key_use,
                        alg,
                    }
                })
                .collect(),
        }
    }
}
