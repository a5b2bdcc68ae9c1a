//! Shapes the store returns that are not engine types: listings, filters, stored files.

use engine::audit::Hash;
use engine::case::{Case, CaseStatus, Resolution, Task};
use engine::connector::ConnectorKind;
use engine::export::{Acknowledgement, AcknowledgementWaiver, ExportStatus};
use engine::ids::{
    BlobId, CaseId, EvidenceId, ExportId, JobId, NotificationId, RecordId, Slug, SubjectId,
    SubjectKey, TenantId, UserId,
};
use engine::job::{JobKind, JobStatus};
use engine::subject::SubjectKind;
use jiff::Timestamp;
use jiff::civil::Date;
use serde::Serialize;

/// A blueprint version as the tenant stored it; cases pin one of these.
#[derive(Clone, Debug, Serialize)]
pub struct StoredBlueprint {
    pub id: Slug,
    pub version: u32,
    pub source: String,
    #[serde(skip)]
    pub digest: Hash,
}

#[derive(Clone, Debug, Default)]
pub struct SubjectFilter {
    pub kind: Option<SubjectKind>,
    /// Offboarded and purged subjects are hidden unless asked for.
    pub include_offboarded: bool,
    pub parent: Option<SubjectId>,
    /// Subjects whose name or key contains this text, ignoring case.
    pub search: Option<String>,
    /// Only subjects after the one with this key, in the listing's order (kind, then key):
    /// the page after the one that ended with it, at the cost of the first.
    pub after: Option<SubjectKey>,
    pub limit: i64,
    pub offset: i64,
}

#[derive(Clone, Debug, Default)]
pub struct CaseFilter {
    pub status: Option<CaseStatus>,
    pub subject: Option<SubjectId>,
    pub parent: Option<CaseId>,
    /// Only cases numbered below this: the page after the one that ended there.
    pub before: Option<i64>,
    pub limit: i64,
    pub offset: i64,
}

/// One line of a case listing.
#[derive(Clone, Debug, Serialize)]
pub struct CaseSummary {
    pub number: i64,
    pub id: CaseId,
    pub subject_key: SubjectKey,
    pub subject_name: String,
    pub subject_kind: SubjectKind,
    pub blueprint_id: Slug,
    pub blueprint_version: u32,
    pub status: CaseStatus,
    pub resolution: Option<Resolution>,
    pub exit_date: Date,
    pub owner_id: UserId,
    pub tasks_total: i64,
    pub tasks_closed: i64,
    pub opened_at: Timestamp,
}

#[derive(Clone, Debug, Default)]
pub struct TaskFilter {
    pub case: Option<CaseId>,
    /// Tasks that are this person's to do.
    pub mine: Option<Mine>,
    /// Open tasks of cases that are not done: what is still to do.
    pub open_only: bool,
    /// Tasks due before this instant.
    pub due_before: Option<Timestamp>,
    pub limit: i64,
}

/// Whose tasks: those assigned to this person, and unassigned ones owned by one of their
/// teams or by them through a role (`owner_label` is their email).
#[derive(Clone, Debug)]
pub struct Mine {
    pub user: UserId,
    pub email: String,
    pub teams: Vec<Slug>,
}

/// A task with the case it belongs to.
#[derive(Clone, Debug, Serialize)]
pub struct TaskRow {
    pub case_number: i64,
    pub subject_key: SubjectKey,
    #[serde(flatten)]
    pub task: Task,
}

/// A file attached to a task as evidence.
#[derive(Clone, Debug, Serialize)]
pub struct EvidenceMeta {
    pub id: EvidenceId,
    /// Where its bytes are, sealed; `None` for evidence stored before files were sealed, whose
    /// bytes are in the row itself.
    pub blob_id: Option<BlobId>,
    pub tenant_id: TenantId,
    pub case_id: CaseId,
    pub task_id: Slug,
    pub file_name: String,
    pub size: i64,
    #[serde(serialize_with = "hex")]
    pub sha256: Hash,
    pub added_by: UserId,
    pub added_at: Timestamp,
}

fn hex<S: serde::Serializer>(bytes: &Hash, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&engine::audit::to_hex(bytes))
}

/// Which audit events to read. Pages by `after_seq`; every other field narrows the result.
#[derive(Clone, Debug, Default)]
pub struct AuditFilter {
    /// Events after this one, oldest first.
    pub after_seq: i64,
    /// Events before this one, newest first (`i64::MAX`: from the newest).
    pub before_seq: Option<i64>,
    pub limit: i64,
    pub action: Option<String>,
    pub actor: Option<String>,
    pub target_kind: Option<String>,
    pub target_id: Option<String>,
    /// Events at or after this instant.
    pub from: Option<Timestamp>,
    /// Events before this instant.
    pub to: Option<Timestamp>,
    /// Events about a subject or a case, for a timeline.
    pub concerning: Option<Concern>,
}

/// What an audit event can be about, for a timeline.
#[derive(Clone, Copy, Debug)]
pub enum Concern {
    /// Whatever holds the subject's data: itself, its records, its cases and theirs.
    Subject(SubjectId),
    /// The case with this number, its tasks, exports and revocations.
    Case(i64),
}

/// A tenant's Ed25519 signing key: the public half in the clear, the private half sealed by
/// the tenant key.
#[derive(Clone, Debug)]
pub struct SigningKeyRow {
    pub tenant_id: TenantId,
    /// The RFC 7638 thumbprint of the public key.
    pub kid: String,
    pub public_key: [u8; 32],
    pub sealed_private_key: Vec<u8>,
    pub created_at: Timestamp,
}

/// A connector as stored: its settings as JSON (nothing secret) and its sealed secret.
#[derive(Clone, Debug)]
pub struct ConnectorRow {
    pub tenant_id: TenantId,
    pub name: Slug,
    pub kind: ConnectorKind,
    pub settings: String,
    pub sealed_secret: Vec<u8>,
    pub updated_by: UserId,
    pub updated_at: Timestamp,
}

/// An audit-event webhook as stored: its settings as JSON, its sealed secret, and how far
/// through the tenant's audit log it got.
#[derive(Clone, Debug)]
pub struct SubscriptionRow {
    pub tenant_id: TenantId,
    pub name: Slug,
    pub settings: String,
    pub sealed_secret: Vec<u8>,
    /// The last event dealt with (sent, or passed over as not wanted).
    pub cursor_seq: i64,
    /// Why the last delivery failed; cleared by the next that succeeds.
    pub last_error: Option<String>,
    pub updated_by: UserId,
    pub updated_at: Timestamp,
}

/// A signed head of a tenant's audit chain (see `engine::audit::CheckpointClaims`).
#[derive(Clone, Debug)]
pub struct CheckpointRow {
    pub seq: i64,
    pub hash: Hash,
    pub signed_at: Timestamp,
    pub kid: String,
    /// The compact JWS.
    pub token: String,
}

/// The signed completion certificate of a case.
#[derive(Clone, Debug, Serialize)]
pub struct CertificateRow {
    pub case_id: CaseId,
    pub kid: String,
    /// The compact JWS.
    pub token: String,
    pub issued_at: Timestamp,
}

/// A file at rest: `chunks` pieces of at most [`BLOB_CHUNK`] bytes, each sealed by the data key
/// of `subject_id`.
#[derive(Clone, Debug, Serialize)]
pub struct BlobMeta {
    pub id: BlobId,
    pub subject_id: SubjectId,
    pub size: i64,
    #[serde(serialize_with = "hex")]
    pub sha256: Hash,
    pub chunks: i64,
    pub created_at: Timestamp,
}

/// How many plaintext bytes one sealed chunk holds.
pub const BLOB_CHUNK: usize = 64 * 1024;

/// The file of a document record.
#[derive(Clone, Debug, Serialize)]
pub struct RecordFile {
    pub record_id: RecordId,
    pub blob: BlobMeta,
    pub file_name: String,
    pub media_type: String,
    pub added_by: UserId,
    pub added_at: Timestamp,
}

/// One build of a subject's export package.
#[derive(Clone, Debug, Serialize)]
pub struct Export {
    pub tenant_id: TenantId,
    pub id: ExportId,
    pub case_id: CaseId,
    /// The case's number (read only: it comes from the case).
    pub case_number: i64,
    pub subject_id: SubjectId,
    pub status: ExportStatus,
    /// Why it failed.
    pub failure: Option<String>,
    /// The package, once ready.
    pub blob: Option<BlobMeta>,
    pub payload_files: Option<i64>,
    pub payload_bytes: Option<i64>,
    /// The signed receipt (a compact JWS), once ready.
    pub receipt: Option<String>,
    /// How many times a worker started building it.
    pub attempts: i64,
    pub requested_by: UserId,
    pub requested_at: Timestamp,
    pub started_at: Option<Timestamp>,
    pub finished_at: Option<Timestamp>,
    /// The departing client's acknowledgement of receipt.
    pub acknowledged: Option<Acknowledgement>,
    /// Or why none is needed.
    pub acknowledgement_waived: Option<AcknowledgementWaiver>,
}

impl Export {
    /// Ready, and either acknowledged by the departing client or that waived: what the
    /// delivery task and the purge wait for.
    pub fn is_delivered(&self) -> bool {
        self.status == ExportStatus::Ready
            && (self.acknowledged.is_some() || self.acknowledgement_waived.is_some())
    }
}

/// A completed case whose subject is offboarded but not yet purged.
#[derive(Clone, Debug, Serialize)]
pub struct PurgeCandidate {
    pub tenant_id: TenantId,
    pub case_id: CaseId,
    pub case_number: i64,
    pub closed_at: Timestamp,
    pub subject_id: SubjectId,
    pub subject_key: SubjectKey,
    pub subject_kind: SubjectKind,
}

/// A running case whose exit may have taken effect for access.
#[derive(Clone, Debug)]
pub struct ExitInEffect {
    pub case: Case,
    /// The earliest due time of its access-removal tasks, if any has one.
    pub access_due: Option<Timestamp>,
}

/// The cases opened and closed in the quarter hour from `from`: what the activity charts
/// count. Every time zone's days and weeks are made of whole quarter hours.
#[derive(Clone, Debug)]
pub struct CaseActivity {
    pub from: Timestamp,
    pub opened: i64,
    pub closed: i64,
    /// Closed as completed (not cancelled), and how long those cases were open in all.
    pub completed: i64,
    pub completed_open_for: jiff::SignedDuration,
}

/// Something a person was told: a task or a case was given to them.
#[derive(Clone, Debug, Serialize)]
pub struct Notification {
    pub id: NotificationId,
    pub user_id: UserId,
    /// `task.assigned` or `case.assigned`.
    pub kind: String,
    pub summary: String,
    /// The page it is about, as a path on the server (`/cases/4`).
    pub link: String,
    pub created_at: Timestamp,
    pub read_at: Option<Timestamp>,
}

/// A job as stored: what to do, for which tenant (and case), and how far it got.
#[derive(Clone, Debug, Serialize)]
pub struct Job {
    pub tenant_id: TenantId,
    pub id: JobId,
    /// What the worker does.
    pub kind: JobKind,
    /// What it does it with, as JSON.
    pub payload: String,
    /// The same work asked for twice is one job; the key also goes to the external system
    /// where that accepts one.
    pub idempotency_key: String,
    pub case_id: Option<CaseId>,
    pub status: JobStatus,
    /// How many attempts started.
    pub attempts: i64,
    pub max_attempts: i64,
    /// When it is due (again).
    pub run_at: Timestamp,
    /// Until when the worker running it holds it.
    pub lease_until: Option<Timestamp>,
    pub worker: Option<String>,
    pub last_error: Option<String>,
    pub created_at: Timestamp,
    pub finished_at: Option<Timestamp>,
}

#[derive(Clone, Debug, Default)]
pub struct JobFilter {
    pub status: Option<JobStatus>,
    pub case: Option<CaseId>,
    /// Only jobs older than this one, in the listing's order (newest first): the page after
    /// the one that ended with it.
    pub before: Option<JobId>,
    pub limit: i64,
}

/// How a job's attempt ended.
#[derive(Clone, Debug)]
pub enum JobEnd<'a> {
    Done,
    /// Failed; due again at this time.
    Retry {
        at: Timestamp,
        error: &'a str,
    },
    /// Failed with no attempts left.
    Dead {
        error: &'a str,
    },
}

/// How attempt `attempt` of job `id` ended, to be recorded at `at`.
#[derive(Clone, Debug)]
pub struct JobSettle<'a> {
    pub tenant: TenantId,
    pub id: JobId,
    pub attempt: i64,
    pub end: JobEnd<'a>,
    pub at: Timestamp,
}

/// What is left of a purged subject.
#[derive(Clone, Debug, Serialize)]
pub struct Tombstone {
    pub tenant_id: TenantId,
    pub subject_id: SubjectId,
    pub subject_kind: SubjectKind,
    pub case_id: CaseId,
    pub purged_at: Timestamp,
    /// `user:<id>` or `system:purge`.
    pub purged_by: String,
    /// SHA-256 over what was destroyed (records, files, erased audit payloads).
    #[serde(serialize_with = "hex")]
    pub digest: Hash,
    /// How much was destroyed, as counts.
    pub summary: String,
}
