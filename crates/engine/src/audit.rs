//! The audit chain: every change is an event, and each event's hash covers the previous hash.
//!
//! The hash covers a digest of the payload rather than the payload itself, so a purge can erase
//! the personal data in a payload (leaving its digest) without breaking the chain. Verification
//! then checks the payload against its digest only where the payload is still there.
//!
//! Two formats are chained side by side: events written before format 2 keep theirs. In format
//! 2 the hash also covers the event's subject, and the digest of a payload about a subject is
//! keyed (HMAC-SHA256 under the subject's [`DigestKey`]), so that once a purge shreds the key
//! nobody can confirm a guessed payload by recomputing its digest. `docs/audit-format.md`
//! specifies both.

use hmac::{Hmac, KeyInit, Mac};
use jiff::Timestamp;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::ids::{SubjectId, TenantId};

pub type Hash = [u8; 32];

/// The hash before a tenant's first event.
pub const GENESIS: Hash = [0; 32];

/// The format new events are chained in.
pub const CHAIN_FORMAT: u8 = 2;

/// The key of a subject's payload digests, derived from its data key: shredded with it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct DigestKey(pub [u8; 32]);

impl std::fmt::Debug for DigestKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DigestKey(…)")
    }
}

fn format_one() -> u8 {
    1
}

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
    /// shows, and its purge erases. Part of the hash from format 2 on.
    pub subject_id: Option<SubjectId>,
    /// JSON with the summary, the reason and what changed; `None` once erased by a purge.
    pub payload: Option<String>,
    #[serde(serialize_with = "hex_serde", deserialize_with = "from_hex_serde")]
    pub payload_digest: Hash,
    #[serde(serialize_with = "hex_serde", deserialize_with = "from_hex_serde")]
    pub hash: Hash,
    /// 1 or 2: how `hash` and `payload_digest` are computed. Logs exported before format 2
    /// have no such member: they are all format 1.
    #[serde(default = "format_one")]
    pub format: u8,
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
    /// The subject's digest key, given with the subject.
    pub digest_key: Option<DigestKey>,
    pub payload: serde_json::Value,
}

impl AuditEvent {
    /// Chains `draft` after `prev` (the previous event's hash and sequence number), in the
    /// current format.
    pub fn chain(tenant_id: TenantId, prev: (i64, Hash), at: Timestamp, draft: AuditDraft) -> Self {
        let payload = draft.payload.to_string();
        let keyed = draft.subject.and(draft.digest_key);
        let payload_digest = payload_digest(&payload, keyed.as_ref());
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
            format: CHAIN_FORMAT,
        };
        event.hash = event.compute_hash(&prev.1);
        event
    }

    /// Whether this event's payload digest is keyed: only the subject's digest key checks it.
    pub fn keyed(&self) -> bool {
        self.format >= 2 && self.subject_id.is_some()
    }

    /// The hash of this event after `prev`: a length-prefixed encoding of every header field,
    /// so no two different events encode alike.
    pub fn compute_hash(&self, prev: &Hash) -> Hash {
        let mut h = Sha256::new();
        h.update(if self.format >= 2 {
            &b"exeunt-audit-v2"[..]
        } else {
            &b"exeunt-audit-v1"[..]
        });
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
        if self.format >= 2 {
            h.update(self.subject_id.map_or([0; 16], |s| *s.0.as_bytes()));
        }
        h.update(self.payload_digest);
        h.finalize().into()
    }

    pub fn at(&self) -> Timestamp {
        Timestamp::from_microsecond(self.at_us).unwrap_or(Timestamp::UNIX_EPOCH)
    }
}

/// A payload's digest: SHA-256, or HMAC-SHA256 under `key` for a keyed one (format 2, about a
/// subject).
pub fn payload_digest(payload: &str, key: Option<&DigestKey>) -> Hash {
    match key {
        None => Sha256::digest(payload.as_bytes()).into(),
        Some(key) => {
            let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&key.0)
                .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
            mac.update(payload.as_bytes());
            mac.finalize().into_bytes().into()
        }
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
    unchecked: u64,
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
            unchecked: 0,
        }
    }

    /// A verifier that continues after event `seq`, whose stored hash is `hash`: how a chain
    /// is checked in several ranges at once. A wrong `hash` shows as the next event altered,
    /// which the range before (that ends with `seq`) reports first.
    pub fn resume(seq: i64, hash: Hash) -> Self {
        Self {
            prev: hash,
            last_seq: seq,
            unchecked: 0,
        }
    }

    /// The sequence number of the last event that checked out.
    pub fn last_seq(&self) -> i64 {
        self.last_seq
    }

    /// Checks the next event. A keyed payload is checked with `key`, its subject's digest
    /// key; without one it is left unchecked (and counted).
    pub fn push(&mut self, event: &AuditEvent, key: Option<&DigestKey>) -> Result<(), ChainBreak> {
        if event.seq != self.last_seq + 1 {
            return Err(ChainBreak::Missing {
                expected: self.last_seq + 1,
                found: event.seq,
            });
        }
        if let Some(payload) = &event.payload {
            let digest = match (event.keyed(), key) {
                (false, _) => Some(payload_digest(payload, None)),
                (true, Some(key)) => Some(payload_digest(payload, Some(key))),
                (true, None) => None,
            };
            match digest {
                None => self.unchecked += 1,
                Some(digest) if digest != event.payload_digest => {
                    return Err(ChainBreak::PayloadAltered {
                        seq: event.seq,
                        action: event.action.clone(),
                    });
                }
                Some(_) => {}
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

    /// How many payloads were left unchecked for want of their subject's digest key.
    pub fn unchecked(&self) -> u64 {
        self.unchecked
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
                        digest_key: None,
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
            v.push(e, None)?;
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

    /// A format-1 chain (as written before format 2) continued by format-2 events about a
    /// subject, whose digests are keyed.
    fn mixed_chain(key: DigestKey) -> Vec<AuditEvent> {
        let mut events = chain(2);
        for e in &mut events {
            e.format = 1;
        }
        events[0].hash = events[0].compute_hash(&GENESIS);
        events[1].hash = events[1].compute_hash(&events[0].hash);
        let subject = SubjectId(Uuid::from_u128(9));
        let e = AuditEvent::chain(
            events[0].tenant_id,
            (events[1].seq, events[1].hash),
            Timestamp::from_second(1_800_000_100).unwrap(),
            AuditDraft {
                actor: "system".into(),
                action: "subject.created",
                target_kind: "subject",
                target_id: "globex".into(),
                subject: Some(subject),
                digest_key: Some(key),
                payload: json!({"name": "Globex Corporation"}),
            },
        );
        events.push(e);
        events
    }

    #[test]
    fn a_keyed_digest_confirms_nothing_without_its_key() {
        let key = DigestKey([3; 32]);
        let events = mixed_chain(key);
        let keyed = &events[2];
        assert_eq!(keyed.format, CHAIN_FORMAT);
        assert!(keyed.keyed() && !events[0].keyed());
        let guess = r#"{"name":"Globex Corporation"}"#;
        assert_eq!(keyed.payload.as_deref(), Some(guess));
        assert_ne!(
            keyed.payload_digest,
            payload_digest(guess, None),
            "hashing a guessed payload does not give the digest"
        );
        let mut v = ChainVerifier::new();
        for e in &events {
            v.push(e, Some(&key)).unwrap();
        }
        assert_eq!(v.unchecked(), 0);

        let mut v = ChainVerifier::new();
        for e in &events {
            v.push(e, None).unwrap();
        }
        assert_eq!(
            v.unchecked(),
            1,
            "without the key the payload is not checked"
        );

        let mut v = ChainVerifier::new();
        v.push(&events[0], None).unwrap();
        v.push(&events[1], None).unwrap();
        assert!(matches!(
            v.push(&events[2], Some(&DigestKey([4; 32]))),
            Err(ChainBreak::PayloadAltered { seq: 3, .. })
        ));

        // The subject is covered by the format-2 hash.
        let mut moved = events.clone();
        moved[2].subject_id = Some(SubjectId(Uuid::from_u128(10)));
        let mut v = ChainVerifier::new();
        v.push(&moved[0], None).unwrap();
        v.push(&moved[1], None).unwrap();
        assert!(matches!(
            v.push(&moved[2], None),
            Err(ChainBreak::Altered { seq: 3, .. })
        ));
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
            v.push(e, None).unwrap();
        }
        assert_eq!(
            v.finish(head),
            Err(ChainBreak::Truncated { last: 3, head: 4 })
        );
    }
}
