//! Cases, their tasks, findings and evidence, and the completion certificate.

use jiff::Timestamp;
use jiff::civil::Date;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::*;

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CaseStatus {
    /// Started; no task finished yet.
    Open,
    InProgress,
    /// Every task is done or waived; waiting for the approver to close it.
    Review,
    /// Final. Carries a resolution and never changes again.
    Done,
}

impl From<engine::case::CaseStatus> for CaseStatus {
    fn from(status: engine::case::CaseStatus) -> Self {
        use engine::case::CaseStatus as S;
        match status {
            S::Open => Self::Open,
            S::InProgress => Self::InProgress,
            S::Review => Self::Review,
            S::Done => Self::Done,
        }
    }
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Resolution {
    Completed,
    Cancelled,
}

impl From<engine::case::Resolution> for Resolution {
    fn from(resolution: engine::case::Resolution) -> Self {
        use engine::case::Resolution as R;
        match resolution {
            R::Completed => Self::Completed,
            R::Cancelled => Self::Cancelled,
        }
    }
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    Open,
    Done,
    Waived,
}

impl From<engine::case::TaskStatus> for TaskStatus {
    fn from(status: engine::case::TaskStatus) -> Self {
        use engine::case::TaskStatus as S;
        match status {
            S::Open => Self::Open,
            S::Done => Self::Done,
            S::Waived => Self::Waived,
        }
    }
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FindingStatus {
    Open,
    /// The check no longer fires.
    Resolved,
    /// Accepted by an authorized person, with a reason.
    Waived,
}

impl From<engine::case::FindingStatus> for FindingStatus {
    fn from(status: engine::case::FindingStatus) -> Self {
        use engine::case::FindingStatus as S;
        match status {
            S::Open => Self::Open,
            S::Resolved => Self::Resolved,
            S::Waived => Self::Waived,
        }
    }
}

/// One subject's offboarding run.
#[derive(Serialize, ToSchema)]
pub struct Case {
    pub tenant_id: Uuid,
    pub id: Uuid,
    /// Per-tenant number people use: case 12.
    pub number: i64,
    pub subject_id: Uuid,
    pub blueprint_id: String,
    pub blueprint_version: u32,
    /// The organization case this one was fanned out from.
    pub parent_id: Option<Uuid>,
    pub owner_id: Uuid,
    #[schema(value_type = String, format = Date)]
    pub exit_date: Date,
    pub status: CaseStatus,
    pub resolution: Option<Resolution>,
    /// The word the approver types to close the case.
    pub confirmation_word: String,
    pub stages: Vec<StagePlan>,
    #[schema(value_type = String, format = DateTime)]
    pub opened_at: Timestamp,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub closed_at: Option<Timestamp>,
    pub closed_by: Option<Uuid>,
    pub close_reason: Option<String>,
    /// When the case froze its subject's records (it reached a freezing stage).
    #[schema(value_type = Option<String>, format = DateTime)]
    pub frozen_at: Option<Timestamp>,
}

impl From<engine::case::Case> for Case {
    fn from(case: engine::case::Case) -> Self {
        let engine::case::Case {
            tenant_id,
            id,
            number,
            subject_id,
            blueprint_id,
            blueprint_version,
            parent_id,
            owner_id,
            exit_date,
            status,
            resolution,
            confirmation_word,
            stages,
            opened_at,
            closed_at,
            closed_by,
            close_reason,
            frozen_at,
        } = case;
        Self {
            tenant_id: tenant_id.0,
            id: id.0,
            number,
            subject_id: subject_id.0,
            blueprint_id: blueprint_id.to_string(),
            blueprint_version,
            parent_id: parent_id.map(|id| id.0),
            owner_id: owner_id.0,
            exit_date,
            status: status.into(),
            resolution: resolution.map(Resolution::from),
            confirmation_word,
            stages: list(stages),
            opened_at,
            closed_at,
            closed_by: closed_by.map(|id| id.0),
            close_reason,
            frozen_at,
        }
    }
}

/// A task of a case.
#[derive(Serialize, ToSchema)]
pub struct Task {
    pub case_id: Uuid,
    pub id: String,
    pub stage: String,
    pub position: i64,
    pub title: String,
    pub description: String,
    pub kind: TaskKind,
    pub action: Option<String>,
    pub checklist: Vec<String>,
    pub owner: TaskOwner,
    /// The owner as a person reads it: `team it`, or the email behind a role.
    pub owner_label: String,
    /// A user id.
    pub assignee: Option<Uuid>,
    pub depends_on: Vec<String>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub due_at: Option<Timestamp>,
    pub evidence_required: bool,
    pub status: TaskStatus,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub closed_at: Option<Timestamp>,
    pub closed_by: Option<Uuid>,
    pub note: Option<String>,
    pub waive_reason: Option<String>,
}

impl From<engine::case::Task> for Task {
    fn from(task: engine::case::Task) -> Self {
        let engine::case::Task {
            case_id,
            id,
            stage,
            position,
            title,
            description,
            kind,
            action,
            checklist,
            owner,
            owner_label,
            assignee,
            depends_on,
            due_at,
            evidence_required,
            status,
            closed_at,
            closed_by,
            note,
            waive_reason,
        } = task;
        Self {
            case_id: case_id.0,
            id: id.to_string(),
            stage: stage.to_string(),
            position,
            title,
            description,
            kind: kind.into(),
            action,
            checklist,
            owner: owner.into(),
            owner_label,
            assignee: assignee.map(|id| id.0),
            depends_on: names(depends_on),
            due_at,
            evidence_required,
            status: status.into(),
            closed_at,
            closed_by: closed_by.map(|id| id.0),
            note,
            waive_reason,
        }
    }
}

/// A task with the case it belongs to.
#[derive(Serialize, ToSchema)]
pub struct CaseTask {
    pub case_number: i64,
    pub subject_key: String,
    #[serde(flatten)]
    pub task: Task,
}

impl From<store::TaskRow> for CaseTask {
    fn from(row: store::TaskRow) -> Self {
        let store::TaskRow {
            case_number,
            subject_key,
            task,
        } = row;
        Self {
            case_number,
            subject_key: subject_key.to_string(),
            task: task.into(),
        }
    }
}

/// A check result kept on a case.
#[derive(Serialize, ToSchema)]
pub struct CaseFinding {
    pub case_id: Uuid,
    pub finding: Finding,
    pub status: FindingStatus,
    pub waived_by: Option<Uuid>,
    pub waive_reason: Option<String>,
}

impl From<engine::case::CaseFinding> for CaseFinding {
    fn from(finding: engine::case::CaseFinding) -> Self {
        let engine::case::CaseFinding {
            case_id,
            finding,
            status,
            waived_by,
            waive_reason,
        } = finding;
        Self {
            case_id: case_id.0,
            finding: finding.into(),
            status: status.into(),
            waived_by: waived_by.map(|id| id.0),
            waive_reason,
        }
    }
}

/// A file attached to a task as evidence (its content stays on the server).
#[derive(Serialize, ToSchema)]
pub struct Evidence {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub case_id: Uuid,
    pub task_id: String,
    pub file_name: String,
    /// In bytes.
    pub size: i64,
    /// The SHA-256 of the content, in hex.
    pub sha256: String,
    /// Stored encrypted with the subject's data key (evidence from before encryption at rest
    /// is not).
    pub sealed: bool,
    pub added_by: Uuid,
    #[schema(value_type = String, format = DateTime)]
    pub added_at: Timestamp,
}

impl From<store::EvidenceMeta> for Evidence {
    fn from(evidence: store::EvidenceMeta) -> Self {
        let store::EvidenceMeta {
            id,
            blob_id,
            tenant_id,
            case_id,
            task_id,
            file_name,
            size,
            sha256,
            added_by,
            added_at,
        } = evidence;
        Self {
            id: id.0,
            tenant_id: tenant_id.0,
            case_id: case_id.0,
            task_id: task_id.to_string(),
            file_name,
            size,
            sha256: engine::audit::to_hex(&sha256),
            sealed: blob_id.is_some(),
            added_by: added_by.0,
            added_at,
        }
    }
}

/// One line of a case listing.
#[derive(Serialize, ToSchema)]
pub struct CaseSummary {
    pub number: i64,
    pub id: Uuid,
    pub subject_key: String,
    pub subject_name: String,
    pub subject_kind: SubjectKind,
    pub blueprint_id: String,
    pub blueprint_version: u32,
    pub status: CaseStatus,
    pub resolution: Option<Resolution>,
    #[schema(value_type = String, format = Date)]
    pub exit_date: Date,
    pub owner_id: Uuid,
    pub tasks_total: i64,
    pub tasks_closed: i64,
    #[schema(value_type = String, format = DateTime)]
    pub opened_at: Timestamp,
}

impl From<store::CaseSummary> for CaseSummary {
    fn from(summary: store::CaseSummary) -> Self {
        let store::CaseSummary {
            number,
            id,
            subject_key,
            subject_name,
            subject_kind,
            blueprint_id,
            blueprint_version,
            status,
            resolution,
            exit_date,
            owner_id,
            tasks_total,
            tasks_closed,
            opened_at,
        } = summary;
        Self {
            number,
            id: id.0,
            subject_key: subject_key.to_string(),
            subject_name,
            subject_kind: subject_kind.into(),
            blueprint_id: blueprint_id.to_string(),
            blueprint_version,
            status: status.into(),
            resolution: resolution.map(Resolution::from),
            exit_date,
            owner_id: owner_id.0,
            tasks_total,
            tasks_closed,
            opened_at,
        }
    }
}

/// A case as people look at it: the case, its tasks and findings, and what they refer to.
#[derive(Serialize, ToSchema)]
pub struct CaseDetail {
    pub case: Case,
    pub tasks: Vec<Task>,
    pub findings: Vec<CaseFinding>,
    pub subject: Subject,
    pub owner: Option<User>,
    /// The first stage with open tasks.
    pub current_stage: Option<String>,
    /// The cases an organization case fanned out.
    pub children: Vec<CaseSummary>,
    pub evidence: Vec<Evidence>,
    /// The legal holds that stand over the subject (its own and the whole tenant's); while
    /// any does, nothing of the subject is purged.
    pub legal_holds: Vec<LegalHold>,
    /// The retention policy for the subject's kind, if the owner set one.
    pub retention: Option<RetentionPolicy>,
    /// From when the subject's data may be purged (completion plus retention).
    #[schema(value_type = Option<String>, format = Date)]
    pub purge_from: Option<jiff::civil::Date>,
    /// Every account and integration of the subject and how far its revocation got.
    pub revocations: Vec<Revocation>,
    /// When the exit took effect for access (the access-removal task's due time): exposure
    /// windows start here.
    #[schema(value_type = String, format = DateTime)]
    pub access_ends_at: Timestamp,
    /// The case's exposure window: the longest of its items', open while any is.
    pub exposure: Exposure,
    /// The case's background jobs (connector calls, emails), newest first.
    pub jobs: Vec<Job>,
    /// The case's export packages, newest first.
    pub exports: Vec<Export>,
    /// The signed completion certificate, once the case completed.
    pub certificate: Option<Certificate>,
    /// Once the case completed: whether the subject's purge is due and, if not, why; or that
    /// it was purged.
    pub purge: Option<String>,
}

impl From<app::CaseView> for CaseDetail {
    fn from(view: app::CaseView) -> Self {
        let app::CaseView {
            file:
                engine::case::CaseFile {
                    case,
                    tasks,
                    findings,
                },
            subject,
            owner,
            current_stage,
            children,
            evidence,
            holds,
            retention,
            purge_from,
            revocations,
            access_ends_at,
            exposures,
            exposure,
            jobs,
            exports,
            certificate,
            purge,
        } = view;
        let revocations = revocations
            .into_iter()
            .zip(exposures)
            .map(|(item, exposure)| Revocation::new(item, exposure))
            .collect();
        Self {
            case: case.into(),
            tasks: list(tasks),
            findings: list(findings),
            subject: subject.into(),
            owner: owner.map(User::from),
            current_stage,
            children: list(children),
            evidence: list(evidence),
            legal_holds: list(holds),
            retention: retention.map(RetentionPolicy::from),
            purge_from,
            revocations,
            access_ends_at,
            exposure: exposure.into(),
            jobs: list(jobs),
            exports: list(exports),
            certificate: certificate.map(Certificate::from),
            purge,
        }
    }
}

/// A case as started.
#[derive(Serialize, ToSchema)]
pub struct StartedCase {
    pub number: i64,
    pub blueprint_id: String,
    pub blueprint_version: u32,
    /// How many tasks it got.
    pub tasks: usize,
    /// Child cases opened by an organization case.
    pub children: Vec<i64>,
}

impl From<app::StartedCase> for StartedCase {
    fn from(started: app::StartedCase) -> Self {
        let app::StartedCase {
            number,
            blueprint_id,
            blueprint_version,
            tasks,
            children,
        } = started;
        Self {
            number,
            blueprint_id,
            blueprint_version,
            tasks,
            children,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct Waived {
    /// The check whose finding was waived.
    pub waived: String,
}

/// The signed completion certificate of a case.
#[derive(Serialize, ToSchema)]
pub struct Certificate {
    /// The key that signed it, in `/.well-known/jwks.json`.
    pub kid: String,
    /// The compact JWS (EdDSA); its claims name the tenant, subject, case, blueprint,
    /// resolution, completion time, approver and the audit chain head at completion.
    pub token: String,
    #[schema(value_type = String, format = DateTime)]
    pub issued_at: Timestamp,
}

impl From<store::CertificateRow> for Certificate {
    fn from(row: store::CertificateRow) -> Self {
        let store::CertificateRow {
            case_id: _,
            kid,
            token,
            issued_at,
        } = row;
        Self {
            kid,
            token,
            issued_at,
        }
    }
}
