//! Access revocation with its evidence and exposure window, and exports.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::*;

#[derive(Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RevocationStatus {
    /// Nobody has acted on it yet.
    Pending,
    /// Access was removed; not yet checked.
    Revoked,
    /// Checked: the access is gone.
    Verified,
    /// Removing or verifying failed.
    Failed,
    /// Accepted as it is, with a reason.
    Waived,
}

impl From<engine::revocation::RevocationStatus> for RevocationStatus {
    fn from(status: engine::revocation::RevocationStatus) -> Self {
        use engine::revocation::RevocationStatus as S;
        match status {
            S::Pending => Self::Pending,
            S::Revoked => Self::Revoked,
            S::Verified => Self::Verified,
            S::Failed => Self::Failed,
            S::Waived => Self::Waived,
        }
    }
}

impl From<RevocationStatus> for engine::revocation::RevocationStatus {
    fn from(status: RevocationStatus) -> Self {
        match status {
            RevocationStatus::Pending => Self::Pending,
            RevocationStatus::Revoked => Self::Revoked,
            RevocationStatus::Verified => Self::Verified,
            RevocationStatus::Failed => Self::Failed,
            RevocationStatus::Waived => Self::Waived,
        }
    }
}

/// One account or integration of a case's subject, and how far its revocation got. The Revoke
/// stage completes when every item is verified or waived.
#[derive(Serialize, ToSchema)]
pub struct Revocation {
    pub record_id: Uuid,
    /// The record's number on its subject.
    pub record_number: i64,
    pub kind: RecordKind,
    pub label: String,
    pub status: RevocationStatus,
    /// How it was verified, what failed, or why it was waived.
    pub note: Option<String>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub revoked_at: Option<Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub verified_at: Option<Timestamp>,
    /// Nobody when a connector made the change.
    pub changed_by: Option<Uuid>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub changed_at: Option<Timestamp>,
    /// What the connector did and checked, when one removed the access.
    pub evidence: Option<ConnectorEvidence>,
    /// From the exit taking effect to verified removal; none for a waived item.
    pub exposure: Option<Exposure>,
}

/// What a connector did to remove an access, and what it checked to find it gone.
#[derive(Serialize, ToSchema)]
pub struct ConnectorEvidence {
    pub connector: String,
    /// ldap, scim or postgres.
    pub kind: String,
    pub calls: Vec<ConnectorCall>,
    pub checks: Vec<String>,
    pub idempotency_key: String,
    #[schema(value_type = String, format = DateTime)]
    pub started_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub revoked_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub verified_at: Timestamp,
}

#[derive(Serialize, ToSchema)]
pub struct ConnectorCall {
    pub call: String,
    pub answer: String,
}

impl From<engine::revocation::ConnectorEvidence> for ConnectorEvidence {
    fn from(e: engine::revocation::ConnectorEvidence) -> Self {
        Self {
            connector: e.connector,
            kind: e.kind.as_str().to_owned(),
            calls: e
                .calls
                .into_iter()
                .map(|c| ConnectorCall {
                    call: c.call,
                    answer: c.answer,
                })
                .collect(),
            checks: e.checks,
            idempotency_key: e.idempotency_key,
            started_at: e.started_at,
            revoked_at: e.revoked_at,
            verified_at: e.verified_at,
        }
    }
}

/// How long an access outlived the exit.
#[derive(Serialize, ToSchema)]
pub struct Exposure {
    /// not_yet (the exit has not taken effect), open (still live) or closed (verified gone).
    pub state: String,
    /// How long so far (open) or in all (closed).
    pub seconds: Option<i64>,
}

impl From<engine::revocation::Exposure> for Exposure {
    fn from(e: engine::revocation::Exposure) -> Self {
        use engine::revocation::Exposure as E;
        let state = match e {
            E::NotYet => "not_yet",
            E::Open(_) => "open",
            E::Closed(_) => "closed",
        };
        Self {
            state: state.to_owned(),
            seconds: e.duration().map(|d| d.as_secs()),
        }
    }
}

impl Revocation {
    pub(super) fn new(
        item: engine::revocation::Revocation,
        exposure: Option<engine::revocation::Exposure>,
    ) -> Self {
        Self {
            exposure: exposure.map(Exposure::from),
            ..Self::from(item)
        }
    }
}

impl From<engine::revocation::Revocation> for Revocation {
    fn from(item: engine::revocation::Revocation) -> Self {
        let engine::revocation::Revocation {
            record_id,
            record_number,
            kind,
            label,
            status,
            note,
            revoked_at,
            verified_at,
            changed_by,
            changed_at,
            evidence,
        } = item;
        Self {
            record_id: record_id.0,
            record_number,
            kind: kind.into(),
            label,
            status: status.into(),
            note,
            revoked_at,
            verified_at,
            changed_by: changed_by.map(|u| u.0),
            changed_at,
            evidence: evidence.map(ConnectorEvidence::from),
            exposure: None,
        }
    }
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ExportStatus {
    /// Waiting for a worker.
    Queued,
    /// Being built; a worker that dies hands it to the next once its lease ends.
    Building,
    /// Built: download the package; the receipt names its digest.
    Ready,
    /// Building failed; `failure` says why. Request again to start over.
    Failed,
}

impl From<engine::export::ExportStatus> for ExportStatus {
    fn from(status: engine::export::ExportStatus) -> Self {
        use engine::export::ExportStatus as S;
        match status {
            S::Queued => Self::Queued,
            S::Building => Self::Building,
            S::Ready => Self::Ready,
            S::Failed => Self::Failed,
        }
    }
}

/// One build of the export package of a case's subject: a BagIt bag as a `.zip`.
#[derive(Serialize, ToSchema)]
pub struct Export {
    pub id: Uuid,
    pub case_number: i64,
    pub status: ExportStatus,
    pub failure: Option<String>,
    /// Bytes of the `.zip`, once ready.
    pub size: Option<i64>,
    /// SHA-256 of the `.zip` in hex, once ready.
    pub sha256: Option<String>,
    pub payload_files: Option<i64>,
    pub payload_bytes: Option<i64>,
    /// The signed receipt (a compact EdDSA JWS naming the digest), once ready.
    pub receipt: Option<String>,
    pub attempts: i64,
    pub requested_by: Uuid,
    #[schema(value_type = String, format = DateTime)]
    pub requested_at: Timestamp,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub started_at: Option<Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub finished_at: Option<Timestamp>,
    /// When the departing client acknowledged receipt, the name they typed and their address.
    pub acknowledged: Option<Acknowledgement>,
    /// Why the package counts as delivered without an acknowledgement.
    pub acknowledgement_waiver: Option<String>,
}

/// The departing client's acknowledgement of receipt.
#[derive(Serialize, ToSchema)]
pub struct Acknowledgement {
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    pub name: String,
    pub from: String,
}

impl From<store::Export> for Export {
    fn from(export: store::Export) -> Self {
        let store::Export {
            tenant_id: _,
            id,
            case_id: _,
            case_number,
            subject_id: _,
            status,
            failure,
            blob,
            payload_files,
            payload_bytes,
            receipt,
            attempts,
            requested_by,
            requested_at,
            started_at,
            finished_at,
            acknowledged,
            acknowledgement_waived,
        } = export;
        let ready = status == engine::export::ExportStatus::Ready;
        let package = blob.filter(|_| ready);
        Self {
            id: id.0,
            case_number,
            status: status.into(),
            failure,
            size: package.as_ref().map(|b| b.size),
            sha256: package.as_ref().map(|b| engine::audit::to_hex(&b.sha256)),
            payload_files,
            payload_bytes,
            receipt,
            attempts,
            requested_by: requested_by.0,
            requested_at,
            started_at,
            finished_at,
            acknowledged: acknowledged.map(|a| {
                let engine::export::Acknowledgement { at, name, from } = a;
                Acknowledgement { at, name, from }
            }),
            acknowledgement_waiver: acknowledgement_waived.map(|w| w.reason),
        }
    }
}
