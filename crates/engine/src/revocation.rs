//! The Revoke stage: access that must be gone before the stage's gated task completes (see
//! `gate.rs`).
//!
//! Every account and integration of the subject is one revocation item. An item no one has
//! touched is pending; people (and, later, connectors) move it to revoked, verified, failed or
//! waived.

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use crate::act::Act;
use crate::connector::ConnectorKind;
use crate::ids::{RecordId, UserId};
use crate::subject::{Record, RecordKind};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RevocationStatus {
    /// Nobody has acted on it yet.
    Pending,
    /// Access was removed; nobody has checked yet that it is really gone.
    Revoked,
    /// Checked: the access is gone.
    Verified,
    /// Removing or verifying failed; it needs another attempt or a waiver.
    Failed,
    /// Accepted as it is, with a reason.
    Waived,
}

impl RevocationStatus {
    pub const NAMES: &[&str] = &["pending", "revoked", "verified", "failed", "waived"];

    pub fn as_str(self) -> &'static str {
        match self {
            RevocationStatus::Pending => "pending",
            RevocationStatus::Revoked => "revoked",
            RevocationStatus::Verified => "verified",
            RevocationStatus::Failed => "failed",
            RevocationStatus::Waived => "waived",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => RevocationStatus::Pending,
            "revoked" => RevocationStatus::Revoked,
            "verified" => RevocationStatus::Verified,
            "failed" => RevocationStatus::Failed,
            "waived" => RevocationStatus::Waived,
            _ => return None,
        })
    }

    /// Verified and waived items no longer hold the Revoke stage back, and never change again.
    pub fn is_settled(self) -> bool {
        matches!(self, RevocationStatus::Verified | RevocationStatus::Waived)
    }

    /// What a person has to say when setting this status, if anything.
    fn note_needed(self) -> Option<&'static str> {
        match self {
            RevocationStatus::Verified => Some("how the access was checked to be gone"),
            RevocationStatus::Failed => Some("what failed"),
            RevocationStatus::Waived => Some("why the access may stay"),
            RevocationStatus::Pending | RevocationStatus::Revoked => None,
        }
    }
}

/// One account or integration of a case's subject, and how far its revocation got.
#[derive(Clone, Debug, Serialize)]
pub struct Revocation {
    pub record_id: RecordId,
    /// The record's number on its subject: how people name it.
    pub record_number: i64,
    pub kind: RecordKind,
    /// The system and identifier, or the integration's name.
    pub label: String,
    pub status: RevocationStatus,
    /// The last note: how it was verified, what failed, or why it was waived.
    pub note: Option<String>,
    pub revoked_at: Option<Timestamp>,
    pub verified_at: Option<Timestamp>,
    /// Nobody when a connector made the change.
    pub changed_by: Option<UserId>,
    pub changed_at: Option<Timestamp>,
    /// What the connector did and checked, when one removed the access.
    pub evidence: Option<ConnectorEvidence>,
}

/// What a connector did to remove one access, and what it checked to find it gone: enough for
/// someone who was not there to see what happened.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectorEvidence {
    pub connector: String,
    pub kind: ConnectorKind,
    /// Each call made and the system's answer, in order.
    pub calls: Vec<ConnectorCall>,
    /// Each thing checked afterwards and found as it should be.
    pub checks: Vec<String>,
    /// Sent to the system where it takes one; the same on every attempt.
    pub idempotency_key: String,
    pub started_at: Timestamp,
    pub revoked_at: Timestamp,
    pub verified_at: Timestamp,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectorCall {
    pub call: String,
    pub answer: String,
}

/// How long an access outlived the exit: from the moment the exit took effect until the
/// access was verified gone.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "state", content = "seconds", rename_all = "snake_case")]
pub enum Exposure {
    /// The exit has not taken effect yet.
    NotYet,
    /// Still live, for this long so far.
    Open(#[serde(serialize_with = "seconds")] SignedDuration),
    /// Verified gone this long after the exit (zero when it went before).
    Closed(#[serde(serialize_with = "seconds")] SignedDuration),
}

fn seconds<S: serde::Serializer>(d: &SignedDuration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_i64(d.as_secs())
}

impl std::fmt::Display for Exposure {
    /// As people read it: "open for 2h 5m", "closed after 30s", "not yet in effect".
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let span = |d: SignedDuration| {
            let secs = d.as_secs();
            match secs {
                s if s < 60 => format!("{s}s"),
                s if s < 3600 => format!("{}m {}s", s / 60, s % 60),
                s if s < 86_400 => format!("{}h {}m", s / 3600, (s % 3600) / 60),
                s => format!("{}d {}h", s / 86_400, (s % 86_400) / 3600),
            }
        };
        match self {
            Exposure::NotYet => f.write_str("not yet in effect"),
            Exposure::Open(d) => write!(f, "open for {}", span(*d)),
            Exposure::Closed(d) => write!(f, "closed after {}", span(*d)),
        }
    }
}

impl Exposure {
    /// The case's window: the longest of its items', open while any item's is.
    pub fn of_case(items: impl IntoIterator<Item = Exposure>) -> Exposure {
        items
            .into_iter()
            .fold(Exposure::NotYet, |acc, e| match (acc, e) {
                (Exposure::Open(a), Exposure::Open(b)) => Exposure::Open(a.max(b)),
                (Exposure::Open(a), _) | (_, Exposure::Open(a)) => Exposure::Open(a),
                (Exposure::Closed(a), Exposure::Closed(b)) => Exposure::Closed(a.max(b)),
                (Exposure::Closed(a), Exposure::NotYet)
                | (Exposure::NotYet, Exposure::Closed(a)) => Exposure::Closed(a),
                (Exposure::NotYet, Exposure::NotYet) => Exposure::NotYet,
            })
    }

    pub fn duration(self) -> Option<SignedDuration> {
        match self {
            Exposure::NotYet => None,
            Exposure::Open(d) | Exposure::Closed(d) => Some(d),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RevocationError {
    #[error("record {record} is a {kind}; only accounts and integrations are revoked")]
    NotAccess { record: i64, kind: RecordKind },
    #[error("{label} (record {record}) is already {status}; it cannot change any more")]
    Settled {
        record: i64,
        label: String,
        status: &'static str,
    },
    #[error("{label} (record {record}) is {from}; it can become {allowed}, not {to}")]
    Transition {
        record: i64,
        label: String,
        from: &'static str,
        to: &'static str,
        allowed: String,
    },
    #[error("marking {label} (record {record}) {to} needs a note saying {what}")]
    NoteRequired {
        record: i64,
        label: String,
        to: &'static str,
        what: &'static str,
    },
}

impl Revocation {
    /// The untouched item for an account or integration record.
    pub fn pending(record: &Record) -> Result<Self, RevocationError> {
        let label = match record.kind {
            RecordKind::Account => format!(
                "{} account {}",
                record.fields.get("system").unwrap_or(""),
                record.fields.get("identifier").unwrap_or("")
            ),
            RecordKind::Integration => format!("integration {}", record.label()),
            kind => {
                return Err(RevocationError::NotAccess {
                    record: record.number,
                    kind,
                });
            }
        };
        Ok(Revocation {
            record_id: record.id,
            record_number: record.number,
            kind: record.kind,
            label,
            status: RevocationStatus::Pending,
            note: None,
            revoked_at: None,
            verified_at: None,
            changed_by: None,
            changed_at: None,
            evidence: None,
        })
    }

    /// The exposure window, when the exit took effect at `effective`; `None` for an access
    /// that was waived (kept on purpose, so it is not exposure).
    pub fn exposure(&self, effective: Timestamp, now: Timestamp) -> Option<Exposure> {
        let after_exit = |t: Timestamp| (t.duration_since(effective)).max(SignedDuration::ZERO);
        match (self.status, self.verified_at) {
            (RevocationStatus::Waived, _) => None,
            (_, Some(verified)) => Some(Exposure::Closed(after_exit(verified))),
            _ if now < effective => Some(Exposure::NotYet),
            _ => Some(Exposure::Open(after_exit(now))),
        }
    }

    /// A connector removed the access and found it gone.
    pub fn verified_by_connector(
        &mut self,
        evidence: ConnectorEvidence,
    ) -> Result<(), RevocationError> {
        self.ensure_unsettled()?;
        self.status = RevocationStatus::Verified;
        self.revoked_at = Some(evidence.revoked_at);
        self.verified_at = Some(evidence.verified_at);
        self.note = Some(format!(
            "verified by connector {}: {}",
            evidence.connector,
            evidence.checks.join("; ")
        ));
        self.changed_by = None;
        self.changed_at = Some(evidence.verified_at);
        self.evidence = Some(evidence);
        Ok(())
    }

    /// A connector gave up: every attempt to remove or verify the access failed.
    pub fn failed_by_connector(
        &mut self,
        connector: &str,
        error: &str,
        at: Timestamp,
    ) -> Result<(), RevocationError> {
        self.ensure_unsettled()?;
        self.status = RevocationStatus::Failed;
        self.note = Some(format!("connector {connector} gave up: {error}"));
        self.changed_by = None;
        self.changed_at = Some(at);
        Ok(())
    }

    fn ensure_unsettled(&self) -> Result<(), RevocationError> {
        if self.status.is_settled() {
            return Err(RevocationError::Settled {
                record: self.record_number,
                label: self.label.clone(),
                status: self.status.as_str(),
            });
        }
        Ok(())
    }

    /// The statuses this item may move to from where it is.
    fn allowed(&self) -> &'static [RevocationStatus] {
        use RevocationStatus::{Failed, Revoked, Verified, Waived};
        match self.status {
            RevocationStatus::Pending => &[Revoked, Verified, Failed, Waived],
            RevocationStatus::Revoked => &[Verified, Failed, Waived],
            RevocationStatus::Failed => &[Revoked, Verified, Waived],
            RevocationStatus::Verified | RevocationStatus::Waived => &[],
        }
    }

    /// Moves the item to `to`. Verifying an item nobody marked revoked records both at once:
    /// whoever checked that the access is gone also saw it removed.
    pub fn change(
        &mut self,
        to: RevocationStatus,
        note: Option<&str>,
        act: Act,
    ) -> Result<(), RevocationError> {
        self.ensure_unsettled()?;
        if !self.allowed().contains(&to) {
            return Err(RevocationError::Transition {
                record: self.record_number,
                label: self.label.clone(),
                from: self.status.as_str(),
                to: to.as_str(),
                allowed: self
                    .allowed()
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
        let note = note.map(str::trim).filter(|n| !n.is_empty());
        if let (Some(what), None) = (to.note_needed(), note) {
            return Err(RevocationError::NoteRequired {
                record: self.record_number,
                label: self.label.clone(),
                to: to.as_str(),
                what,
            });
        }
        match to {
            RevocationStatus::Revoked => self.revoked_at = Some(act.at),
            RevocationStatus::Verified => {
                self.revoked_at.get_or_insert(act.at);
                self.verified_at = Some(act.at);
            }
            _ => {}
        }
        self.status = to;
        self.note = note.map(str::to_owned);
        self.changed_by = Some(act.by);
        self.changed_at = Some(act.at);
        Ok(())
    }

    /// The value the record's own `status` field takes once access is removed, so that checks
    /// over `records.accounts` see it too.
    pub fn record_status(&self) -> Option<&'static str> {
        match (self.status, self.kind) {
            (RevocationStatus::Revoked | RevocationStatus::Verified, RecordKind::Account) => {
                Some("disabled")
            }
            (RevocationStatus::Revoked | RevocationStatus::Verified, RecordKind::Integration) => {
                Some("revoked")
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::UserId;
    use crate::subject::test_record as record;
    use uuid::Uuid;

    fn act() -> Act {
        Act {
            by: UserId(Uuid::nil()),
            at: Timestamp::UNIX_EPOCH,
        }
    }

    #[test]
    fn an_item_is_settled_only_by_verifying_or_waiving_with_a_note() {
        let mut item = Revocation::pending(&record(
            1,
            RecordKind::Account,
            &[("system", "github"), ("identifier", "acme-bot")],
        ))
        .unwrap();
        item.change(RevocationStatus::Revoked, None, act()).unwrap();
        assert_eq!(item.record_status(), Some("disabled"));
        let err = item
            .change(RevocationStatus::Verified, Some("  "), act())
            .unwrap_err();
        assert!(matches!(err, RevocationError::NoteRequired { .. }), "{err}");
        item.change(RevocationStatus::Verified, Some("login refused"), act())
            .unwrap();
        assert!(item.status.is_settled());
        let err = item
            .change(RevocationStatus::Failed, Some("x"), act())
            .unwrap_err();
        assert!(err.to_string().contains("already verified"), "{err}");
    }

    #[test]
    fn exposure_runs_from_the_exit_to_verification() {
        let exit = Timestamp::from_second(1_000_000).unwrap();
        let mut item = Revocation::pending(&record(
            1,
            RecordKind::Account,
            &[("system", "ldap"), ("identifier", "j")],
        ))
        .unwrap();
        let before = exit - SignedDuration::from_secs(60);
        assert_eq!(item.exposure(exit, before), Some(Exposure::NotYet));
        let later = exit + SignedDuration::from_secs(90);
        assert_eq!(
            item.exposure(exit, later),
            Some(Exposure::Open(SignedDuration::from_secs(90)))
        );
        let evidence = ConnectorEvidence {
            connector: "ldap".into(),
            kind: ConnectorKind::Ldap,
            calls: vec![],
            checks: vec!["no entry".into()],
            idempotency_key: "k".into(),
            started_at: exit,
            revoked_at: exit + SignedDuration::from_secs(2),
            verified_at: exit + SignedDuration::from_secs(3),
        };
        item.verified_by_connector(evidence.clone()).unwrap();
        assert_eq!(
            item.exposure(exit, later),
            Some(Exposure::Closed(SignedDuration::from_secs(3)))
        );
        assert!(
            item.verified_by_connector(evidence).is_err(),
            "verified is final"
        );
        let open = Exposure::Open(SignedDuration::from_secs(5));
        let closed = Exposure::Closed(SignedDuration::from_secs(50));
        assert_eq!(Exposure::of_case([closed, open, Exposure::NotYet]), open);
        assert_eq!(Exposure::of_case([closed, Exposure::NotYet]), closed);
        assert_eq!(open.to_string(), "open for 5s");
        assert_eq!(
            Exposure::Closed(SignedDuration::from_secs(7_500)).to_string(),
            "closed after 2h 5m"
        );
    }

    #[test]
    fn pending_cannot_be_set_and_documents_are_not_access() {
        let mut item =
            Revocation::pending(&record(2, RecordKind::Integration, &[("name", "Slack")])).unwrap();
        let err = item
            .change(RevocationStatus::Pending, None, act())
            .unwrap_err();
        assert!(err.to_string().contains("not pending"), "{err}");
        let doc = record(3, RecordKind::Document, &[("name", "contract.pdf")]);
        assert!(Revocation::pending(&doc).is_err());
    }
}
