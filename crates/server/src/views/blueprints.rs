//! Blueprints, lint reports, and the dry-run plan.

use jiff::Timestamp;
use jiff::civil::Date;
use serde::Serialize;
use utoipa::ToSchema;

use super::*;

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TaskKind {
    Manual,
    Checklist,
    Form,
    Approval,
    Action,
}

impl From<engine::blueprint::TaskKind> for TaskKind {
    fn from(kind: engine::blueprint::TaskKind) -> Self {
        use engine::blueprint::TaskKind as K;
        match kind {
            K::Manual => Self::Manual,
            K::Checklist => Self::Checklist,
            K::Form => Self::Form,
            K::Approval => Self::Approval,
            K::Action => Self::Action,
        }
    }
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Stops its stage until resolved or waived with a reason.
    Blocker,
    Warning,
}

impl From<engine::blueprint::Severity> for Severity {
    fn from(severity: engine::blueprint::Severity) -> Self {
        use engine::blueprint::Severity as S;
        match severity {
            S::Blocker => Self::Blocker,
            S::Warning => Self::Warning,
        }
    }
}

/// A person found from the case or the subject.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OwnerRole {
    /// The person who owns the case.
    CaseOwner,
    /// The subject's `manager` attribute.
    LineManager,
    /// The subject's `account_manager` attribute.
    AccountManager,
}

impl From<engine::blueprint::OwnerRole> for OwnerRole {
    fn from(role: engine::blueprint::OwnerRole) -> Self {
        use engine::blueprint::OwnerRole as R;
        match role {
            R::CaseOwner => Self::CaseOwner,
            R::LineManager => Self::LineManager,
            R::AccountManager => Self::AccountManager,
        }
    }
}

/// Who owns a task: `{"team": "<slug>"}` or `{"role": "<owner role>"}`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TaskOwner {
    Team(String),
    Role(OwnerRole),
}

impl From<engine::blueprint::Owner> for TaskOwner {
    fn from(owner: engine::blueprint::Owner) -> Self {
        use engine::blueprint::Owner as O;
        match owner {
            O::Team(team) => Self::Team(team.to_string()),
            O::Role(role) => Self::Role(role.into()),
        }
    }
}

/// A line of the blueprint listing.
#[derive(Serialize, ToSchema)]
pub struct BlueprintInfo {
    pub id: String,
    pub version: u32,
    pub title: String,
    /// The subject kind it offboards.
    pub scope: String,
    /// The condition that picks it for a subject, as written.
    pub applies_when: Option<String>,
    /// `built-in` or `tenant`.
    pub origin: String,
}

impl From<app::BlueprintInfo> for BlueprintInfo {
    fn from(info: app::BlueprintInfo) -> Self {
        let app::BlueprintInfo {
            id,
            version,
            title,
            scope,
            applies_when,
            origin,
        } = info;
        Self {
            id,
            version,
            title,
            scope,
            applies_when,
            origin: origin.to_owned(),
        }
    }
}

/// A blueprint's latest version with its YAML.
#[derive(Serialize, ToSchema)]
pub struct BlueprintSource {
    pub blueprint: BlueprintInfo,
    pub source: String,
}

/// One problem found in a blueprint file.
#[derive(Debug, Serialize, ToSchema)]
pub struct Diagnostic {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl From<engine::blueprint::Diagnostic> for Diagnostic {
    fn from(diagnostic: engine::blueprint::Diagnostic) -> Self {
        let engine::blueprint::Diagnostic {
            line,
            column,
            message,
        } = diagnostic;
        Self {
            line,
            column,
            message,
        }
    }
}

/// The outcome of a lint: `id` and `version` only when the blueprint is sound.
#[derive(Serialize, ToSchema)]
pub struct LintReport {
    pub ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<u32>,
    /// Every problem, each with its line and column.
    pub problems: Vec<Diagnostic>,
}

#[derive(Serialize, ToSchema)]
pub struct StagePlan {
    pub id: String,
    pub title: String,
    /// The stages that must be finished first.
    pub after: Vec<String>,
    /// Reaching this stage makes the subject's records read-only until the case ends.
    pub freeze: bool,
}

impl From<engine::plan::StagePlan> for StagePlan {
    fn from(stage: engine::plan::StagePlan) -> Self {
        let engine::plan::StagePlan {
            id,
            title,
            after,
            freeze,
        } = stage;
        Self {
            id: id.to_string(),
            title,
            after: names(after),
            freeze,
        }
    }
}

/// A check that fires for a subject.
#[derive(Serialize, ToSchema)]
pub struct Finding {
    pub check_id: String,
    /// The stage it gates.
    pub stage: String,
    pub severity: Severity,
    pub message: String,
}

impl From<engine::plan::Finding> for Finding {
    fn from(finding: engine::plan::Finding) -> Self {
        let engine::plan::Finding {
            check_id,
            stage,
            severity,
            message,
        } = finding;
        Self {
            check_id: check_id.to_string(),
            stage: stage.to_string(),
            severity: severity.into(),
            message,
        }
    }
}

/// One task the case would get.
#[derive(Serialize, ToSchema)]
pub struct PlannedTask {
    pub id: String,
    pub stage: String,
    pub title: String,
    pub description: String,
    pub kind: TaskKind,
    pub action: Option<String>,
    pub checklist: Vec<String>,
    pub owner: TaskOwner,
    /// The owner as a person reads it: `team it`, or the email behind a role.
    pub owner_label: String,
    pub depends_on: Vec<String>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub due_at: Option<Timestamp>,
    pub evidence_required: bool,
}

impl From<engine::plan::PlannedTask> for PlannedTask {
    fn from(task: engine::plan::PlannedTask) -> Self {
        let engine::plan::PlannedTask {
            id,
            stage,
            title,
            description,
            kind,
            action,
            checklist,
            owner,
            owner_label,
            depends_on,
            due_at,
            evidence_required,
        } = task;
        Self {
            id: id.to_string(),
            stage: stage.to_string(),
            title,
            description,
            kind: kind.into(),
            action,
            checklist,
            owner: owner.into(),
            owner_label,
            depends_on: names(depends_on),
            due_at,
            evidence_required,
        }
    }
}

/// A task the blueprint has that this subject does not get, and why.
#[derive(Serialize, ToSchema)]
pub struct SkippedTask {
    pub id: String,
    pub stage: String,
    /// The task's condition, which is false for this subject.
    pub when: String,
}

impl From<engine::plan::SkippedTask> for SkippedTask {
    fn from(task: engine::plan::SkippedTask) -> Self {
        let engine::plan::SkippedTask { id, stage, when } = task;
        Self {
            id: id.to_string(),
            stage: stage.to_string(),
            when,
        }
    }
}

/// The dry run of a blueprint for one subject.
#[derive(Serialize, ToSchema)]
pub struct Plan {
    pub blueprint_id: String,
    pub blueprint_version: u32,
    #[schema(value_type = String, format = Date)]
    pub exit_date: Date,
    /// The IANA time zone due dates are computed in.
    pub time_zone: String,
    pub stages: Vec<StagePlan>,
    pub tasks: Vec<PlannedTask>,
    pub skipped: Vec<SkippedTask>,
    pub findings: Vec<Finding>,
}

impl From<engine::plan::Plan> for Plan {
    fn from(plan: engine::plan::Plan) -> Self {
        let engine::plan::Plan {
            blueprint_id,
            blueprint_version,
            exit_date,
            time_zone,
            stages,
            tasks,
            skipped,
            findings,
        } = plan;
        Self {
            blueprint_id: blueprint_id.to_string(),
            blueprint_version,
            exit_date,
            time_zone,
            stages: list(stages),
            tasks: list(tasks),
            skipped: list(skipped),
            findings: list(findings),
        }
    }
}
