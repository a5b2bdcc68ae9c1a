//! What the API sends, and the enums it reads: the types the OpenAPI document describes.
//!
//! The engine must not depend on utoipa, so each view mirrors a domain type and is what the
//! handlers serialize: the documented schema is the serialized type. The JSON is the domain
//! type's as serde renders it (same field names, nesting and enum spellings). The `From` impls
//! destructure the domain type whole and match enums without a wildcard, so a field or variant
//! added there does not compile here until the view has it too.

use std::collections::BTreeMap;

use engine::ids::Slug;
use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// Converts a list of domain values into their views.
pub fn list<T, V: From<T>>(items: Vec<T>) -> Vec<V> {
    items.into_iter().map(V::from).collect()
}

fn names(slugs: Vec<Slug>) -> Vec<String> {
    slugs.iter().map(ToString::to_string).collect()
}

/// The four kinds of thing Exeunt offboards.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SubjectKind {
    /// A party: a client of the firm.
    Client,
    /// A product (service, contract) that belongs to a client.
    Product,
    Employee,
    /// The tenant itself, leaving the platform.
    Organization,
}

impl From<engine::subject::SubjectKind> for SubjectKind {
    fn from(kind: engine::subject::SubjectKind) -> Self {
        use engine::subject::SubjectKind as K;
        match kind {
            K::Client => Self::Client,
            K::Product => Self::Product,
            K::Employee => Self::Employee,
            K::Organization => Self::Organization,
        }
    }
}

impl From<SubjectKind> for engine::subject::SubjectKind {
    fn from(kind: SubjectKind) -> Self {
        match kind {
            SubjectKind::Client => Self::Client,
            SubjectKind::Product => Self::Product,
            SubjectKind::Employee => Self::Employee,
            SubjectKind::Organization => Self::Organization,
        }
    }
}

/// Where a subject is in its life: active → offboarding → offboarded (→ purged).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SubjectState {
    Active,
    Offboarding,
    Offboarded,
    Purged,
}

impl From<engine::subject::SubjectState> for SubjectState {
    fn from(state: engine::subject::SubjectState) -> Self {
        use engine::subject::SubjectState as S;
        match state {
            S::Active => Self::Active,
            S::Offboarding => Self::Offboarding,
            S::Offboarded => Self::Offboarded,
            S::Purged => Self::Purged,
        }
    }
}

/// The kinds of record a subject has; the kind decides which fields a record carries.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RecordKind {
    Document,
    Note,
    Contact,
    /// An identity in a connected system.
    Account,
    /// A connected app or token.
    Integration,
    /// Issued equipment.
    Asset,
    /// Live work the subject owns, which needs a new owner.
    WorkItem,
}

impl From<engine::subject::RecordKind> for RecordKind {
    fn from(kind: engine::subject::RecordKind) -> Self {
        use engine::subject::RecordKind as K;
        match kind {
            K::Document => Self::Document,
            K::Note => Self::Note,
            K::Contact => Self::Contact,
            K::Account => Self::Account,
            K::Integration => Self::Integration,
            K::Asset => Self::Asset,
            K::WorkItem => Self::WorkItem,
        }
    }
}

impl From<RecordKind> for engine::subject::RecordKind {
    fn from(kind: RecordKind) -> Self {
        match kind {
            RecordKind::Document => Self::Document,
            RecordKind::Note => Self::Note,
            RecordKind::Contact => Self::Contact,
            RecordKind::Account => Self::Account,
            RecordKind::Integration => Self::Integration,
            RecordKind::Asset => Self::Asset,
            RecordKind::WorkItem => Self::WorkItem,
        }
    }
}

/// What a person may do in their tenant, from most to least power.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Starts organization offboarding, places and lifts legal holds, sets retention.
    Owner,
    /// Manages blueprints, users and teams.
    Admin,
    /// Starts and runs cases.
    Manager,
    /// Completes tasks assigned to them or their team.
    Member,
    /// Reads everything, writes nothing.
    Auditor,
}

impl From<engine::tenant::Role> for Role {
    fn from(role: engine::tenant::Role) -> Self {
        use engine::tenant::Role as R;
        match role {
            R::Owner => Self::Owner,
            R::Admin => Self::Admin,
            R::Manager => Self::Manager,
            R::Member => Self::Member,
            R::Auditor => Self::Auditor,
        }
    }
}

impl From<Role> for engine::tenant::Role {
    fn from(role: Role) -> Self {
        match role {
            Role::Owner => Self::Owner,
            Role::Admin => Self::Admin,
            Role::Manager => Self::Manager,
            Role::Member => Self::Member,
            Role::Auditor => Self::Auditor,
        }
    }
}

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

#[derive(Serialize, ToSchema)]
pub struct Tenant {
    pub id: Uuid,
    pub slug: String,
    pub name: String,
    /// The time zone people added to the tenant start in.
    #[schema(example = "Europe/Berlin")]
    pub time_zone: String,
}

impl From<engine::tenant::Tenant> for Tenant {
    fn from(tenant: engine::tenant::Tenant) -> Self {
        let engine::tenant::Tenant {
            id,
            slug,
            name,
            time_zone,
        } = tenant;
        Self {
            id: id.0,
            slug: slug.to_string(),
            name: name.to_string(),
            time_zone: time_zone.to_string(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct User {
    pub tenant_id: Uuid,
    pub id: Uuid,
    pub email: String,
    pub name: String,
    pub role: Role,
    /// Where they are, an IANA name: their digest comes at 07:00 there, and reminders name
    /// times there.
    #[schema(example = "Europe/Berlin")]
    pub time_zone: String,
}

impl From<engine::tenant::User> for User {
    fn from(user: engine::tenant::User) -> Self {
        let engine::tenant::User {
            tenant_id,
            id,
            email,
            name,
            role,
            time_zone,
        } = user;
        Self {
            tenant_id: tenant_id.0,
            id: id.0,
            email: email.to_string(),
            name: name.to_string(),
            role: role.into(),
            time_zone: time_zone.to_string(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct Team {
    pub slug: String,
    pub name: String,
    /// User ids.
    pub members: Vec<Uuid>,
}

impl From<engine::tenant::Team> for Team {
    fn from(team: engine::tenant::Team) -> Self {
        let engine::tenant::Team {
            slug,
            name,
            members,
        } = team;
        Self {
            slug: slug.to_string(),
            name: name.to_string(),
            members: members.into_iter().map(|id| id.0).collect(),
        }
    }
}

/// A credential for automation: it acts as its user, with a role no stronger than theirs.
#[derive(Serialize, ToSchema)]
pub struct ApiToken {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub user_id: Uuid,
    pub name: String,
    pub role: Role,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub revoked_at: Option<Timestamp>,
}

impl From<engine::tenant::ApiToken> for ApiToken {
    fn from(token: engine::tenant::ApiToken) -> Self {
        let engine::tenant::ApiToken {
            id,
            tenant_id,
            user_id,
            name,
            role,
            created_at,
            revoked_at,
        } = token;
        Self {
            id: id.0,
            tenant_id: tenant_id.0,
            user_id: user_id.0,
            name: name.to_string(),
            role: role.into(),
            created_at,
            revoked_at,
        }
    }
}

/// A token as issued: the secret is shown this once and never stored.
#[derive(Serialize, ToSchema)]
pub struct IssuedToken {
    pub token: ApiToken,
    /// Send it as `Authorization: Bearer <secret>`.
    pub secret: String,
}

impl From<app::IssuedToken> for IssuedToken {
    fn from(issued: app::IssuedToken) -> Self {
        let app::IssuedToken { token, secret } = issued;
        Self {
            token: token.into(),
            secret,
        }
    }
}

/// A system access is revoked in. Its secret is never part of it.
#[derive(Serialize, ToSchema)]
pub struct Connector {
    /// The `system` of the accounts it serves.
    pub name: String,
    /// ldap, scim, postgres or webhook.
    pub kind: String,
    /// Where it points.
    pub target: String,
    #[schema(value_type = Object)]
    pub settings: serde_json::Value,
}

impl From<engine::connector::Connector> for Connector {
    fn from(c: engine::connector::Connector) -> Self {
        Self {
            name: c.name.to_string(),
            kind: c.kind.as_str().to_owned(),
            target: c.settings.target().to_owned(),
            settings: serde_json::to_value(&c.settings).unwrap_or_default(),
        }
    }
}

/// Where audit events go out as signed CloudEvents. Its signing key is never part of it.
#[derive(Serialize, ToSchema)]
pub struct Webhook {
    pub name: String,
    pub url: String,
    /// Patterns of the audit actions it gets: `*`, `case.*`, `task.completed`.
    pub events: Vec<String>,
    pub timeout_secs: u64,
    /// Private or loopback hosts the admin allowed it to reach.
    pub allow_private_hosts: Vec<String>,
    /// The sequence number of the last audit event dealt with.
    pub delivered_through: i64,
    /// Why the last delivery failed, until one succeeds.
    pub last_error: Option<String>,
}

impl From<app::Subscription> for Webhook {
    fn from(s: app::Subscription) -> Self {
        Self {
            name: s.name.to_string(),
            url: s.settings.url,
            events: s.settings.events,
            timeout_secs: s.settings.timeout_secs,
            allow_private_hosts: s.settings.allow_private_hosts,
            delivered_through: s.cursor_seq,
            last_error: s.last_error,
        }
    }
}

/// The wording of one kind of email (minijinja templates).
#[derive(Serialize, ToSchema)]
pub struct EmailTemplate {
    /// The notification kind, such as `task.assigned`.
    pub kind: String,
    pub subject: String,
    pub body: String,
    /// False while the built-in wording is used.
    pub custom: bool,
}

impl From<app::EmailTemplate> for EmailTemplate {
    fn from(t: app::EmailTemplate) -> Self {
        Self {
            kind: t.kind.to_owned(),
            subject: t.subject,
            body: t.body,
            custom: t.custom,
        }
    }
}

/// Whether the caller gets one kind of notification by email.
#[derive(Serialize, ToSchema)]
pub struct EmailPreference {
    pub kind: String,
    /// What the kind is about, in words.
    pub what: String,
    pub email: bool,
}

impl From<app::EmailPreference> for EmailPreference {
    fn from(p: app::EmailPreference) -> Self {
        Self {
            kind: p.kind.to_owned(),
            what: p.what.to_owned(),
            email: p.email,
        }
    }
}

/// What a DELETE removed.
#[derive(Serialize, ToSchema)]
pub struct Removed {
    pub removed: String,
}

#[derive(Serialize, ToSchema)]
pub struct Revoked {
    /// The token's id.
    pub revoked: Uuid,
}

/// What is being offboarded.
#[derive(Serialize, ToSchema)]
pub struct Subject {
    pub tenant_id: Uuid,
    pub id: Uuid,
    pub key: String,
    pub kind: SubjectKind,
    pub name: String,
    /// The client a product belongs to.
    pub parent_id: Option<Uuid>,
    pub state: SubjectState,
    pub attributes: BTreeMap<String, String>,
}

impl From<engine::subject::Subject> for Subject {
    fn from(subject: engine::subject::Subject) -> Self {
        let engine::subject::Subject {
            tenant_id,
            id,
            key,
            kind,
            name,
            parent_id,
            state,
            attributes,
        } = subject;
        Self {
            tenant_id: tenant_id.0,
            id: id.0,
            key: key.to_string(),
            kind: kind.into(),
            name: name.to_string(),
            parent_id: parent_id.map(|id| id.0),
            state: state.into(),
            attributes: attributes
                .iter()
                .map(|(name, value)| (name.to_owned(), value.to_owned()))
                .collect(),
        }
    }
}

/// One record of a subject.
#[derive(Serialize, ToSchema)]
pub struct Record {
    pub id: Uuid,
    pub subject_id: Uuid,
    /// 1, 2, 3, … per subject: how people name a record.
    pub number: i64,
    pub kind: RecordKind,
    pub fields: BTreeMap<String, String>,
}

impl From<engine::subject::Record> for Record {
    fn from(record: engine::subject::Record) -> Self {
        let engine::subject::Record {
            id,
            subject_id,
            number,
            kind,
            fields,
        } = record;
        Self {
            id: id.0,
            subject_id: subject_id.0,
            number,
            kind: kind.into(),
            fields: fields
                .iter()
                .map(|(name, value)| (name.to_owned(), value.to_owned()))
                .collect(),
        }
    }
}

/// A subject with its records and its parent.
#[derive(Serialize, ToSchema)]
pub struct SubjectDetail {
    pub subject: Subject,
    pub parent: Option<Subject>,
    pub records: Vec<Record>,
    /// The number of the subject's case that is not done, if any.
    pub open_case: Option<i64>,
}

impl SubjectDetail {
    /// From the parts of the app's subject view, which `app` does not export by name.
    pub fn new(
        subject: engine::subject::Subject,
        parent: Option<engine::subject::Subject>,
        records: Vec<engine::subject::Record>,
        open_case: Option<i64>,
    ) -> Self {
        Self {
            subject: subject.into(),
            parent: parent.map(Subject::from),
            records: list(records),
            open_case,
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

/// The file of a document record, stored encrypted with the subject's data key.
#[derive(Serialize, ToSchema)]
pub struct RecordFile {
    pub record_id: Uuid,
    pub file_name: String,
    pub media_type: String,
    /// In bytes.
    pub size: i64,
    /// The SHA-256 of the content, in hex.
    pub sha256: String,
    pub added_by: Uuid,
    #[schema(value_type = String, format = DateTime)]
    pub added_at: Timestamp,
}

impl From<store::RecordFile> for RecordFile {
    fn from(file: store::RecordFile) -> Self {
        let store::RecordFile {
            record_id,
            blob,
            file_name,
            media_type,
            added_by,
            added_at,
        } = file;
        Self {
            record_id: record_id.0,
            file_name,
            media_type,
            size: blob.size,
            sha256: engine::audit::to_hex(&blob.sha256),
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

/// A background job, as people follow it: what, how far, and the last error.
#[derive(Serialize, ToSchema)]
pub struct Job {
    pub id: Uuid,
    /// What it does, such as `access.revoke` or `email.notification`.
    pub kind: String,
    /// queued, running, done or dead.
    pub status: String,
    pub attempts: i64,
    pub max_attempts: i64,
    #[schema(value_type = String, format = DateTime)]
    pub run_at: Timestamp,
    pub last_error: Option<String>,
}

impl From<store::Job> for Job {
    fn from(j: store::Job) -> Self {
        Self {
            id: j.id.0,
            kind: j.kind.to_string(),
            status: j.status.as_str().to_owned(),
            attempts: j.attempts,
            max_attempts: j.max_attempts,
            run_at: j.run_at,
            last_error: j.last_error,
        }
    }
}

impl Revocation {
    fn new(
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

/// A legal hold on one subject or on the whole tenant. Holds are never deleted: a lifted one
/// carries who lifted it, when and why.
#[derive(Serialize, ToSchema)]
pub struct LegalHold {
    pub id: Uuid,
    /// The subject held, or none when the hold covers the whole tenant.
    pub subject_id: Option<Uuid>,
    /// The held subject's key.
    pub subject: Option<String>,
    pub reason: String,
    pub placed_by: Uuid,
    #[schema(value_type = String, format = DateTime)]
    pub placed_at: Timestamp,
    pub lifted: Option<HoldLift>,
}

#[derive(Serialize, ToSchema)]
pub struct HoldLift {
    pub by: Uuid,
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    pub reason: String,
}

impl From<engine::governance::LegalHold> for LegalHold {
    fn from(hold: engine::governance::LegalHold) -> Self {
        let engine::governance::LegalHold {
            id,
            tenant_id: _,
            subject_id,
            subject_key,
            reason,
            placed_by,
            placed_at,
            lifted,
        } = hold;
        Self {
            id: id.0,
            subject_id: subject_id.map(|s| s.0),
            subject: subject_key.map(|k| k.to_string()),
            reason,
            placed_by: placed_by.0,
            placed_at,
            lifted: lifted.map(|engine::governance::HoldLift { by, at, reason }| HoldLift {
                by: by.0,
                at,
                reason,
            }),
        }
    }
}

/// How long data of one subject kind (or, without a kind, of every kind without a period of
/// its own) is kept after its offboarding completes.
#[derive(Serialize, ToSchema)]
pub struct RetentionPolicy {
    pub kind: Option<SubjectKind>,
    /// Years, months and days, such as `7y`, `1y6m` or `90d`; `0` purges right after.
    #[schema(value_type = String, example = "7y")]
    pub period: engine::governance::Retention,
    pub set_by: Uuid,
    #[schema(value_type = String, format = DateTime)]
    pub set_at: Timestamp,
}

impl From<engine::governance::RetentionPolicy> for RetentionPolicy {
    fn from(policy: engine::governance::RetentionPolicy) -> Self {
        let engine::governance::RetentionPolicy {
            kind,
            period,
            set_by,
            set_at,
        } = policy;
        Self {
            kind: kind.map(SubjectKind::from),
            period,
            set_by: set_by.0,
            set_at,
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
    /// JSON with the summary, the reason and what changed; null once erased by a purge.
    pub payload: Option<String>,
    /// The SHA-256 of the payload, in hex; the chain covers this rather than the payload.
    pub payload_digest: String,
    /// The event's chain hash, in hex.
    pub hash: String,
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
            payload,
            payload_digest,
            hash,
        } = event;
        Self {
            tenant_id: tenant_id.0,
            seq,
            at_us,
            actor,
            action,
            target_kind,
            target_id,
            payload,
            payload_digest: engine::audit::to_hex(&payload_digest),
            hash: engine::audit::to_hex(&hash),
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

/// Who is signed in, and the CSRF token their cookie-authenticated writes must send.
#[derive(Serialize, ToSchema)]
pub struct SignedIn {
    pub user: User,
    pub tenant: Tenant,
    /// Send it in the `x-csrf-token` header with every request that is not GET, HEAD or OPTIONS.
    pub csrf_token: String,
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: Timestamp,
}

/// Who is calling.
#[derive(Serialize, ToSchema)]
pub struct Me {
    pub user: User,
    pub tenant: Tenant,
}

#[derive(Serialize, ToSchema)]
pub struct PasswordChanged {
    /// How many other sessions of the user were signed out.
    pub other_sessions_revoked: u64,
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
