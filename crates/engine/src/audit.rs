//! The audit chain: every change is an event, and each event's hash covers the previous hash.
//!
//! The hash covers a digest of the payload rather than the payload itself, so a purge can erase
//! the personal data in a payload (leaving its digest) without breaking the chain. Verification
//! then checks the payload against its digest only where the payload is still there.

use jiff::Timestamp;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::ids::{SubjectId, TenantId};

pub type Hash = [u8; 32];

/// The hash before a tenant's first event.
pub const GENESIS: Hash = [0; 32];

/// An event as it is chained: everything the hash covers, and the stored payload.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct AuditEvent {
    pub tenant_id: TenantId,
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
    /// The subject whose personal data the payload may hold, whatever the target names (a
    /// record, a case, a task, an export): what the subject's export carries, its timeline
    /// shows, and its purge erases. An index, not part of the hash.
    pub subject_id: Option<SubjectId>,
    /// JSON with the summary, the reason and what changed; `None` once erased by a purge.
    pub payload: Option<String>,
    #[serde(serialize_with = "hex_serde", deserialize_with = "from_hex_serde")]
    pub payload_digest: Hash,
    #[serde(serialize_with = "hex_serde", deserialize_with = "from_hex_serde")]
    pub hash: Hash,
}

/// An event before it is chained.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditDraft {
    pub actor: String,
    pub action: &'static str,
    pub target_kind: &'static str,
    pub target_id: String,
    /// See [`AuditEvent::subject_id`].
    pub subject: Option<SubjectId>,
    pub payload: serde_json::Value,
}

impl AuditEvent {
    /// Chains `draft` after `prev` (the previous event's hash and sequence number).
    pub fn chain(tenant_id: TenantId, prev: (i64, Hash), at: Timestamp, draft: AuditDraft) -> Self {
        let payload = draft.payload.to_string();
        let payload_digest: Hash = Sha256::digest(payload.as_bytes()).into();
        let mut event = AuditEvent {
            tenant_id,
            seq: prev.0 + 1,
            at_us: at.as_microsecond(),
            actor: draft.actor,
            action: draft.action.to_owned(),
            target_kind: draft.target_kind.to_owned(),
            target_id: draft.target_id,
            subject_id: draft.subject,
            payload: Some(payload),
            payload_digest,
            hash: GENESIS,
        };
        event.hash = event.compute_hash(&prev.1);
        event
    }

    /// The hash of this event after `prev`: a length-prefixed encoding of every header field,
    /// so no two different events encode alike.
    pub fn compute_hash(&self, prev: &Hash) -> Hash {
        let mut h = Sha256::new();
        h.update(b"exeunt-audit-v1");
        h.update(prev);
        h.update(self.tenant_id.0.as_bytes());
        h.update(self.seq.to_be_bytes());
        h.update(self.at_us.to_be_bytes());
        for field in [
            &self.actor,
            &self.action,
            &self.target_kind,
            &self.target_id,
        ] {
            h.update((field.len() as u64).to_be_bytes());
            h.update(field.as_bytes());
        }
        h.update(self.payload_digest);
        h.finalize().into()
    }

    pub fn at(&self) -> Timestamp {
        Timestamp::from_microsecond(self.at_us).unwrap_or(Timestamp::UNIX_EPOCH)
    }
}

/// The first broken link found by [`ChainVerifier`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainBreak {
    #[error("event {expected} is missing: the next stored event is {found}")]
    Missing { expected: i64, found: i64 },
    #[error("event {seq} ({action}) was altered: its hash does not match its content")]
    Altered { seq: i64, action: String },
    #[error(
        "event {seq} ({action}) was altered: its payload does not match the digest in the chain"
    )]
    PayloadAltered { seq: i64, action: String },
    #[error("events after {last} are missing: the chain head records event {head}")]
    Truncated { last: i64, head: i64 },
    #[error("the chain head does not match event {seq}: the head or the event was altered")]
    HeadMismatch { seq: i64 },
    #[error(
        "event {seq} is not the one the signed checkpoint vouches for: the log was rewritten \
         from there on"
    )]
    CheckpointMismatch { seq: i64 },
    #[error("events after {last} were removed: a signed checkpoint vouches for event {vouched}")]
    TailRemoved { last: i64, vouched: i64 },
    #[error("the checkpoint is for tenant {found}, not for the log's tenant {expected}")]
    CheckpointTenant { expected: String, found: String },
}

/// What a signed audit checkpoint states: the tenant's chain had this head at this time. The
/// tenant signs it as a compact JWS with its Ed25519 key, regularly while events are written;
/// copies that leave the database (webhooks, certificates, export receipts) let anyone holding
/// one catch a log whose tail was removed. `docs/audit-format.md` specifies it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct CheckpointClaims {
    /// Always [`CHECKPOINT_KIND`], so that no other token of the tenant's passes for one.
    pub kind: String,
    /// `exeunt:<tenant slug>`.
    pub iss: String,
    /// The tenant's id.
    pub tenant: String,
    /// The sequence number of the head event.
    pub seq: i64,
    /// The head event's hash, hex.
    pub hash: String,
    /// When it was signed, in seconds since the epoch.
    pub iat: i64,
}

/// The `kind` of every checkpoint's claims.
pub const CHECKPOINT_KIND: &str = "exeunt-audit-checkpoint";

impl CheckpointClaims {
    pub fn new(tenant: TenantId, issuer: String, head: (i64, Hash), at: Timestamp) -> Self {
        CheckpointClaims {
            kind: CHECKPOINT_KIND.to_owned(),
            iss: issuer,
            tenant: tenant.0.to_string(),
            seq: head.0,
            hash: to_hex(&head.1),
            iat: at.as_second(),
        }
    }

    /// Checks a log against this checkpoint: `tenant` is the log's, `vouched` the hash of the
    /// log's event at the checkpoint's number (`None` when the log has no such event), `last`
    /// the number of its last event.
    pub fn check(
        &self,
        tenant: TenantId,
        vouched: Option<&Hash>,
        last: i64,
    ) -> Result<(), ChainBreak> {
        if self.tenant != tenant.0.to_string() {
            return Err(ChainBreak::CheckpointTenant {
                expected: tenant.0.to_string(),
                found: self.tenant.clone(),
            });
        }
        match vouched {
            None if self.seq > last => Err(ChainBreak::TailRemoved {
                last,
                vouched: self.seq,
            }),
            Some(hash) if to_hex(hash) == self.hash => Ok(()),
            _ => Err(ChainBreak::CheckpointMismatch { seq: self.seq }),
        }
    }
}

/// Walks a tenant's events in sequence order and stops at the first broken link.
pub struct ChainVerifier {
    prev: Hash,
    last_seq: i64,
}

impl Default for ChainVerifier {
    fn default() -> Self {
        Self::new()
    }
}

impl ChainVerifier {
    pub fn new() -> Self {
        Self {
            prev: GENESIS,
            last_seq: 0,
        }
    }

    /// A verifier that continues after event `seq`, whose stored hash is `hash`: how a chain
    /// is checked in several ranges at once. A wrong `hash` shows as the next event altered,
    /// which the range before (that ends with `seq`) reports first.
    pub fn resume(seq: i64, hash: Hash) -> Self {
        Self {
            prev: hash,
            last_seq: seq,
        }
    }

    /// The sequence number of the last event that checked out.
    pub fn last_seq(&self) -> i64 {
        self.last_seq
    }

    pub fn push(&mut self, event: &AuditEvent) -> Result<(), ChainBreak> {
        if event.seq != self.last_seq + 1 {
            return Err(ChainBreak::Missing {
                expected: self.last_seq + 1,
                found: event.seq,
            });
        }
        if let Some(payload) = &event.payload {
            let digest: Hash = Sha256::digest(payload.as_bytes()).into();
            if digest != event.payload_digest {
                return Err(ChainBreak::PayloadAltered {
                    seq: event.seq,
                    action: event.action.clone(),
                });
            }
        }
        if event.compute_hash(&self.prev) != event.hash {
            return Err(ChainBreak::Altered {
                seq: event.seq,
                action: event.action.clone(),
            });
        }
        self.prev = event.hash;
        self.last_seq = event.seq;
        Ok(())
    }

    /// Checks the end of the walk against the head the store keeps beside the chain, which
    /// catches events deleted from the end.
    pub fn finish(self, head: Option<(i64, Hash)>) -> Result<i64, ChainBreak> {
        let (head_seq, head_hash) = head.unwrap_or((0, GENESIS));
        if head_seq > self.last_seq {
            return Err(ChainBreak::Truncated {
                last: self.last_seq,
                head: head_seq,
            });
        }
        if head_seq != self.last_seq || head_hash != self.prev {
            return Err(ChainBreak::HeadMismatch { seq: self.last_seq });
        }
        Ok(self.last_seq)
    }
}

pub fn to_hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

fn hex_serde<S: serde::Serializer>(bytes: &Hash, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&to_hex(bytes))
}

/// A hash from 64 lowercase hex digits, as [`to_hex`] writes it.
pub fn hash_from_hex(text: &str) -> Option<Hash> {
    if text.len() != 64 || !text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return None;
    }
    let mut hash = [0u8; 32];
    for (i, byte) in hash.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(hash)
}

fn from_hex_serde<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Hash, D::Error> {
    let text = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(d)?;
    hash_from_hex(&text).ok_or_else(|| serde::de::Error::custom("expected 64 lowercase hex digits"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use uuid::Uuid;

    fn chain(n: i64) -> Vec<AuditEvent> {
        let tenant = TenantId(Uuid::from_u128(7));
        let mut prev = (0, GENESIS);
        (0..n)
            .map(|i| {
                let e = AuditEvent::chain(
                    tenant,
                    prev,
                    Timestamp::from_second(1_800_000_000 + i).unwrap(),
                    AuditDraft {
                        actor: "system".into(),
                        action: "task.completed",
                        target_kind: "task",
                        target_id: format!("t{i}"),
                        subject: None,
                        payload: json!({"summary": format!("step {i}")}),
                    },
                );
                prev = (e.seq, e.hash);
                e
            })
            .collect()
    }

    fn verify(events: &[AuditEvent]) -> Result<i64, ChainBreak> {
        let head = events.last().map(|e| (e.seq, e.hash));
        let mut v = ChainVerifier::new();
        for e in events {
            v.push(e)?;
        }
        v.finish(head)
    }

    #[test]
    fn an_intact_chain_verifies() {
        assert_eq!(verify(&chain(5)), Ok(5));
    }

    #[test]
    fn any_change_names_the_event() {
        let mut events = chain(5);
        events[2].target_id.push('x');
        assert!(matches!(
            verify(&events),
            Err(ChainBreak::Altered { seq: 3, .. })
        ));

        let mut events = chain(5);
        events[3].payload = Some(r#"{"summary":"step 9"}"#.into());
        assert!(matches!(
            verify(&events),
            Err(ChainBreak::PayloadAltered { seq: 4, .. })
        ));

        let mut events = chain(5);
        events.remove(1);
        assert_eq!(
            verify(&events),
            Err(ChainBreak::Missing {
                expected: 2,
                found: 3
            })
        );
    }

    #[test]
    fn an_erased_payload_keeps_the_chain_whole() {
        let mut events = chain(3);
        events[1].payload = None;
        assert_eq!(verify(&events), Ok(3));
    }

    #[test]
    fn deleting_the_last_event_is_caught_by_the_head() {
        let events = chain(4);
        let head = Some((events[3].seq, events[3].hash));
        let mut v = ChainVerifier::new();
        for e in &events[..3] {
            v.push(e).unwrap();
        }
        assert_eq!(
            v.finish(head),
            Err(ChainBreak::Truncated { last: 3, head: 4 })
        );
    }
}
