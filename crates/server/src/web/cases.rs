//! The case list and the case page, the Offboarding Center: the stage pipeline, precheck's
//! blockers and warnings, tasks by stage in working order, the export package, revocations and
//! handoffs, retention and legal holds, the timeline, and the dialogs that close or cancel.

use askama::Template;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use engine::case::{CaseStatus, FindingStatus, Task, TaskStatus};
use engine::fields::RevocationNote;
use engine::ids::Email;
use engine::revocation::RevocationStatus;
use engine::subject::RecordKind;
use serde::Deserialize;
use store::{AuditFilter, CaseFilter, CaseSummary};

use super::{
    Chrome, NoFields, PageError, PagePath, PageQuery, Paging, People, Posted, Viewer, given,
    outcome,
};
use crate::ServerState;
use crate::error::ApiError;
use crate::inputs::{case_number, field, reason, record_number, slug};

const PAGE: i64 = 50;

pub struct CaseRow {
    pub number: i64,
    pub subject_key: String,
    pub subject_name: String,
    pub kind: &'static str,
    pub blueprint: String,
    pub status: &'static str,
    pub resolution: Option<&'static str>,
    pub exit_date: String,
    pub owner: String,
    pub closed: i64,
    pub total: i64,
    pub percent: i64,
}

impl CaseRow {
    fn new(c: &store::CaseSummary, people: &People) -> Self {
        CaseRow {
            number: c.number,
            subject_key: c.subject_key.to_string(),
            subject_name: c.subject_name.clone(),
            kind: c.subject_kind.as_str(),
            blueprint: format!("{}@{}", c.blueprint_id, c.blueprint_version),
            status: c.status.as_str(),
            resolution: c.resolution.map(|r| r.as_str()),
            exit_date: c.exit_date.to_string(),
            owner: people.name(c.owner_id),
            closed: c.tasks_closed,
            total: c.tasks_total,
            percent: percent(c.tasks_closed, c.tasks_total),
        }
    }
}

fn percent(part: i64, whole: i64) -> i64 {
    if whole == 0 { 100 } else { part * 100 / whole }
}

#[derive(Template)]
#[template(path = "web/cases.html")]
struct ListPage {
    chrome: Chrome,
    cases: Vec<CaseRow>,
    status: String,
    statuses: Vec<(&'static str, String)>,
    paging: Paging,
}

#[derive(Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    status: String,
    /// The page after the case with this number (newest first).
    before: Option<i64>,
}

pub async fn list(
    State(state): State<ServerState>,
    viewer: Viewer,
    PageQuery(q): PageQuery<ListQuery>,
) -> Result<Response, PageError> {
    let status = given(&q.status)
        .map(|s| {
            CaseStatus::parse(s).ok_or_else(|| {
                ApiError::invalid(
                    "status",
                    format!("status `{s}` is not one of open, in_progress, review, done"),
                )
            })
        })
        .transpose()?;
    let mut cases = state
        .app
        .cases(
            &viewer.actor,
            &CaseFilter {
                status,
                before: q.before,
                limit: PAGE + 1,
                ..CaseFilter::default()
            },
        )
        .await?;
    let from = q.before.map(|n| n.to_string());
    let paging = Paging::after(
        &mut cases,
        &format!("/cases?status={}", status.map_or("", CaseStatus::as_str)),
        from.as_deref(),
        PAGE,
        ("before", |c: &CaseSummary| c.number.to_string()),
    );
    let people = People::load(&state.app, &viewer.actor).await?;
    let lang = &viewer.lang;
    Ok(viewer.page(&ListPage {
        chrome: viewer.chrome("cases", lang.text("cases-title")),
        cases: cases.iter().map(|c| CaseRow::new(c, &people)).collect(),
        status: q.status,
        statuses: vec![
            ("open", lang.text("shared-status-open")),
            ("in_progress", lang.text("shared-status-in-progress")),
            ("review", lang.text("shared-status-review")),
            ("done", lang.text("shared-status-done")),
        ],
        paging,
    }))
}

struct StageBox {
    title: String,
    closed: usize,
    total: usize,
    percent: i64,
    /// done, current, blocked or waiting.
    state: &'static str,
    freeze: bool,
}

struct FindingLine {
    check: String,
    stage: String,
    severity: &'static str,
    message: String,
    status: &'static str,
    open: bool,
    waived: Option<String>,
}

/// The tasks of one stage owned by one team (or person).
/// A stage's tasks, in the order they are worked.
struct TaskGroup {
    stage: String,
    tasks: Vec<TaskCell>,
}

struct TaskCell {
    id: String,
    title: String,
    kind: &'static str,
    /// Who acts: the person it is assigned to, else its owner (a team, a role's person).
    who: String,
    /// Whether a team acts, nobody of it named yet.
    team: bool,
    due: String,
    overdue: bool,
    status: &'static str,
}

/// A stage's tasks in the order they are worked: each after the tasks of the stage it
/// depends on, and otherwise by due time (undated last), then as the blueprint lists them.
fn in_working_order(mut tasks: Vec<&Task>) -> Vec<&Task> {
    tasks.sort_by_key(|t| (t.due_at.is_none(), t.due_at, t.position));
    let mut ordered: Vec<&Task> = Vec::with_capacity(tasks.len());
    while !tasks.is_empty() {
        let waits = |t: &Task| {
            t.depends_on.iter().any(|d| {
                tasks.iter().any(|other| other.id == *d)
                    && !ordered.iter().any(|placed| placed.id == *d)
            })
        };
        // A dependency cycle cannot come from a linted blueprint; were there one, the rest
        // keep their order rather than vanish.
        let next = tasks.iter().position(|t| !waits(t)).unwrap_or(0);
        ordered.push(tasks.remove(next));
    }
    ordered
}

struct ExportLine {
    status: &'static str,
    requested: String,
    size: Option<i64>,
    sha256: Option<String>,
    failure: Option<String>,
    acknowledged: Option<String>,
    waived: Option<String>,
}

struct RevocationLine {
    record: i64,
    kind: &'static str,
    label: String,
    status: &'static str,
    note: Option<String>,
    settled: bool,
    exposure: Option<String>,
    /// The connector's calls ("call → answer") and checks, when one removed the access.
    calls: Vec<String>,
    checks: Vec<String>,
    connector: Option<String>,
}

struct JobLine {
    kind: String,
    status: &'static str,
    attempts: String,
    due: String,
    last_error: Option<String>,
}

struct WorkItemLine {
    record: i64,
    title: String,
    owner: String,
    new_owner: Option<String>,
}

struct HoldLine {
    reason: String,
    scope: String,
    placed: String,
}

struct EventLine {
    at: String,
    actor: String,
    action: String,
    summary: String,
}

#[derive(Template)]
#[template(path = "web/case.html")]
struct CasePage {
    chrome: Chrome,
    number: i64,
    subject_key: String,
    subject_name: String,
    subject_kind: &'static str,
    blueprint: String,
    status: &'static str,
    resolution: Option<&'static str>,
    done: bool,
    owner: String,
    owner_email: String,
    exit_date: String,
    opened: String,
    closed: Option<String>,
    close_reason: Option<String>,
    frozen: Option<String>,
    word: String,
    stages: Vec<StageBox>,
    findings: Vec<FindingLine>,
    open_blockers: usize,
    groups: Vec<TaskGroup>,
    open_tasks: usize,
    exports: Vec<ExportLine>,
    has_ready_export: bool,
    revocations: Vec<RevocationLine>,
    access_ends_at: String,
    exposure: String,
    exposure_open: bool,
    jobs: Vec<JobLine>,
    work_items: Vec<WorkItemLine>,
    retention: Option<String>,
    purge_from: Option<String>,
    purge: Option<String>,
    holds: Vec<HoldLine>,
    children: Vec<CaseRow>,
    certificate: bool,
    timeline: Vec<EventLine>,
    people: Vec<(String, String)>,
}

/// How many events the case's timeline shows, newest first.
const TIMELINE: i64 = 200;

pub async fn show(
    State(state): State<ServerState>,
    viewer: Viewer,
    PagePath(n): PagePath<String>,
) -> Result<Response, PageError> {
    let app = &state.app;
    let actor = &viewer.actor;
    let number = case_number(&n)?;
    let view = app.case(actor, number).await?;
    let people = People::load(app, actor).await?;
    let now = app.now();
    let case = &view.file.case;
    let done = case.status == CaseStatus::Done;
    let current = view.current_stage.clone();
    let lang = &viewer.lang;

    let blocked_stages: Vec<&str> = view
        .file
        .findings
        .iter()
        .filter(|f| {
            f.status == FindingStatus::Open
                && f.finding.severity == engine::blueprint::Severity::Blocker
        })
        .map(|f| f.finding.stage.as_str())
        .collect();
    let stages = case
        .stages
        .iter()
        .map(|stage| {
            let tasks: Vec<_> = view
                .file
                .tasks
                .iter()
                .filter(|t| t.stage == stage.id)
                .collect();
            let closed = tasks.iter().filter(|t| t.status.is_closed()).count();
            let state = if closed == tasks.len() {
                "done"
            } else if blocked_stages.contains(&stage.id.as_str()) {
                "blocked"
            } else if current.as_deref() == Some(stage.id.as_str()) {
                "current"
            } else {
                "waiting"
            };
            StageBox {
                title: stage.title.clone(),
                closed,
                total: tasks.len(),
                percent: percent(closed as i64, tasks.len() as i64),
                state,
                freeze: stage.freeze,
            }
        })
        .collect();
    let stage_title = |id: &str| {
        case.stages
            .iter()
            .find(|s| s.id.as_str() == id)
            .map_or_else(|| id.to_owned(), |s| s.title.clone())
    };
    let findings: Vec<FindingLine> = view
        .file
        .findings
        .iter()
        .map(|f| FindingLine {
            check: f.finding.check_id.to_string(),
            stage: stage_title(f.finding.stage.as_str()),
            severity: f.finding.severity.as_str(),
            message: f.finding.message.clone(),
            status: f.status.as_str(),
            open: f.status == FindingStatus::Open,
            waived: f.waive_reason.as_ref().map(|r| {
                lang.text_with(
                    "case-finding-waived",
                    &[
                        (
                            "who",
                            &f.waived_by.map_or_else(String::new, |u| people.name(u)),
                        ),
                        ("reason", r),
                    ],
                )
            }),
        })
        .collect();
    let open_blockers = findings
        .iter()
        .filter(|f| f.open && f.severity == "blocker")
        .count();

    // Tasks by stage, then by owner, in the blueprint's order within each.
    let groups: Vec<TaskGroup> = case
        .stages
        .iter()
        .map(|stage| {
            let in_stage: Vec<&Task> = view
                .file
                .tasks
                .iter()
                .filter(|t| t.stage == stage.id)
                .collect();
            TaskGroup {
                stage: stage.title.clone(),
                tasks: in_working_order(in_stage)
                    .into_iter()
                    .map(|t| TaskCell {
                        id: t.id.to_string(),
                        title: t.title.clone(),
                        kind: t.kind.as_str(),
                        who: t
                            .assignee
                            .map_or_else(|| t.owner_label.clone(), |a| people.name(a)),
                        team: t.assignee.is_none()
                            && matches!(t.owner, engine::blueprint::Owner::Team(_)),
                        due: t
                            .due_at
                            .map(|d| viewer.day(d))
                            .unwrap_or_else(|| "—".to_owned()),
                        overdue: !done && t.is_overdue(now),
                        status: t.status.as_str(),
                    })
                    .collect(),
            }
        })
        .collect();
    let open_tasks = view
        .file
        .tasks
        .iter()
        .filter(|t| t.status == TaskStatus::Open)
        .count();

    let exports = view
        .exports
        .iter()
        .map(|e| ExportLine {
            status: e.status.as_str(),
            requested: viewer.when(e.requested_at),
            size: e.blob.as_ref().map(|b| b.size),
            sha256: e.blob.as_ref().map(|b| engine::audit::to_hex(&b.sha256)),
            failure: e.failure.clone(),
            acknowledged: e.acknowledged.as_ref().map(|a| {
                lang.text_with(
                    "case-export-acknowledged",
                    &[("name", &a.name), ("at", &viewer.when(a.at))],
                )
            }),
            waived: e.acknowledgement_waived.as_ref().map(|w| {
                lang.text_with(
                    "case-export-waived",
                    &[("name", &people.name(w.by)), ("reason", &w.reason)],
                )
            }),
        })
        .collect::<Vec<_>>();
    let has_ready_export = exports.iter().any(|e| e.status == "ready");
    let revocations = view
        .revocations
        .iter()
        .zip(&view.exposures)
        .map(|(r, exposure)| RevocationLine {
            record: r.record_number,
            kind: r.kind.as_str(),
            label: r.label.clone(),
            status: r.status.as_str(),
            note: r.note.clone(),
            settled: r.status.is_settled(),
            exposure: exposure.map(|e| e.to_string()),
            calls: r
                .evidence
                .iter()
                .flat_map(|e| &e.calls)
                .map(|c| format!("{} → {}", c.call, c.answer))
                .collect(),
            checks: r.evidence.iter().flat_map(|e| e.checks.clone()).collect(),
            connector: r.evidence.as_ref().map(|e| e.connector.clone()),
        })
        .collect();
    let jobs = view
        .jobs
        .iter()
        .map(|j| JobLine {
            kind: j.kind.to_string(),
            status: j.status.as_str(),
            attempts: format!("{}/{}", j.attempts, j.max_attempts),
            due: viewer.when(j.run_at),
            last_error: j.last_error.clone(),
        })
        .collect();
    let work_items = app
        .subject(actor, &view.subject.key)
        .await?
        .records
        .into_iter()
        .filter(|r| r.kind == RecordKind::WorkItem)
        .map(|r| WorkItemLine {
            record: r.number,
            title: r.fields.get("title").unwrap_or_default().to_owned(),
            owner: r.fields.get("owner").unwrap_or("—").to_owned(),
            new_owner: r.fields.get("new_owner").map(str::to_owned),
        })
        .collect();
    let holds = view
        .holds
        .iter()
        .map(|h| HoldLine {
            reason: h.reason.clone(),
            scope: if h.subject_id.is_some() {
                lang.text("case-hold-subject")
            } else {
                lang.text("shared-whole-organization")
            },
            placed: lang.text_with(
                "shared-who-on",
                &[
                    ("who", &people.name(h.placed_by)),
                    ("day", &viewer.day(h.placed_at)),
                ],
            ),
        })
        .collect();
    let concern = app.audit_concern(actor, None, Some(number)).await?;
    let mut events = app
        .audit_log(
            actor,
            &AuditFilter {
                limit: i64::MAX,
                concerning: concern,
                ..AuditFilter::default()
            },
        )
        .await?;
    events.reverse();
    events.truncate(TIMELINE as usize);
    let timeline = events
        .into_iter()
        .map(|e| EventLine {
            at: viewer.event_time(&e),
            actor: people.actor(&e.actor),
            summary: super::summary(&e, lang),
            action: e.action,
        })
        .collect();
    let page = CasePage {
        chrome: viewer.chrome(
            "cases",
            lang.text_with("shared-case-number", &[("number", &number)]),
        ),
        number,
        subject_key: view.subject.key.to_string(),
        subject_name: view.subject.name.as_str().to_owned(),
        subject_kind: view.subject.kind.as_str(),
        blueprint: format!("{}@{}", case.blueprint_id, case.blueprint_version),
        status: case.status.as_str(),
        resolution: case.resolution.map(|r| r.as_str()),
        done,
        owner: view
            .owner
            .as_ref()
            .map_or_else(String::new, |u| u.name.as_str().to_owned()),
        owner_email: view
            .owner
            .as_ref()
            .map_or_else(String::new, |u| u.email.to_string()),
        exit_date: case.exit_date.to_string(),
        opened: viewer.when(case.opened_at),
        access_ends_at: viewer.when(view.access_ends_at),
        exposure: view.exposure.to_string(),
        exposure_open: matches!(view.exposure, engine::revocation::Exposure::Open(_)),
        jobs,
        closed: case.closed_at.map(|t| viewer.when(t)),
        close_reason: case.close_reason.clone(),
        frozen: case.frozen_at.map(|t| viewer.when(t)),
        word: case.confirmation_word.clone(),
        stages,
        findings,
        open_blockers,
        groups,
        open_tasks,
        exports,
        has_ready_export,
        revocations,
        work_items,
        retention: view.retention.as_ref().map(|r| r.period.to_string()),
        purge_from: view.purge_from.map(|d| d.to_string()),
        purge: view.purge.clone(),
        holds,
        children: view
            .children
            .iter()
            .map(|c| CaseRow::new(c, &people))
            .collect(),
        certificate: view.certificate.is_some(),
        timeline,
        people: people.who_can_act(),
    };
    Ok(viewer.page(&page))
}

fn back(number: &str) -> String {
    format!("/cases/{}", super::query_value(number))
}

pub async fn precheck(
    State(state): State<ServerState>,
    PagePath(n): PagePath<String>,
    Posted { viewer, .. }: Posted<NoFields>,
) -> Result<Response, PageError> {
    let result = async {
        let file = state.app.precheck(&viewer.actor, case_number(&n)?).await?;
        let open = file
            .findings
            .iter()
            .filter(|f| f.status == FindingStatus::Open)
            .count();
        Ok::<_, ApiError>(
            viewer
                .lang
                .text_with("case-prechecked", &[("count", &open)]),
        )
    }
    .await;
    Ok(outcome(&back(&n), result))
}

#[derive(Deserialize)]
pub struct AssignForm {
    owner: String,
}

pub async fn assign(
    State(state): State<ServerState>,
    PagePath(n): PagePath<String>,
    Posted { viewer, form }: Posted<AssignForm>,
) -> Result<Response, PageError> {
    let result = async {
        let owner = field("owner", Email::parse(form.owner.trim()))?;
        let number = case_number(&n)?;
        state.app.assign_case(&viewer.actor, number, &owner).await?;
        Ok::<_, ApiError>(viewer.lang.text_with(
            "case-assigned",
            &[("owner", &owner.to_string()), ("number", &number)],
        ))
    }
    .await;
    Ok(outcome(&back(&n), result))
}

#[derive(Deserialize)]
pub struct CloseForm {
    confirm: String,
}

pub async fn close(
    State(state): State<ServerState>,
    PagePath(n): PagePath<String>,
    Posted { viewer, form }: Posted<CloseForm>,
) -> Result<Response, PageError> {
    let result = async {
        let number = case_number(&n)?;
        state
            .app
            .close_case(&viewer.actor, number, form.confirm.trim())
            .await?;
        Ok::<_, ApiError>(
            viewer
                .lang
                .text_with("case-closed-done", &[("number", &number)]),
        )
    }
    .await;
    Ok(outcome(&back(&n), result))
}

#[derive(Deserialize)]
pub struct ReasonForm {
    reason: String,
}

pub async fn cancel(
    State(state): State<ServerState>,
    PagePath(n): PagePath<String>,
    Posted { viewer, form }: Posted<ReasonForm>,
) -> Result<Response, PageError> {
    let result = async {
        let number = case_number(&n)?;
        state
            .app
            .cancel_case(&viewer.actor, number, &reason(&form.reason)?)
            .await?;
        Ok::<_, ApiError>(
            viewer
                .lang
                .text_with("case-cancelled", &[("number", &number)]),
        )
    }
    .await;
    Ok(outcome(&back(&n), result))
}

pub async fn waive_finding(
    State(state): State<ServerState>,
    PagePath((n, check)): PagePath<(String, String)>,
    Posted { viewer, form }: Posted<ReasonForm>,
) -> Result<Response, PageError> {
    let result = async {
        let number = case_number(&n)?;
        state
            .app
            .waive_finding(
                &viewer.actor,
                number,
                &slug(&check, "check")?,
                &reason(&form.reason)?,
            )
            .await?;
        Ok::<_, ApiError>(
            viewer
                .lang
                .text_with("case-finding-waived-done", &[("check", &check)]),
        )
    }
    .await;
    Ok(outcome(&back(&n), result))
}

pub async fn request_export(
    State(state): State<ServerState>,
    PagePath(n): PagePath<String>,
    Posted { viewer, .. }: Posted<NoFields>,
) -> Result<Response, PageError> {
    let result = async {
        let export = state
            .app
            .request_export(&viewer.actor, case_number(&n)?)
            .await?;
        Ok::<_, ApiError>(
            viewer
                .lang
                .text_with("case-export-queued", &[("status", &export.status.as_str())]),
        )
    }
    .await;
    Ok(outcome(&back(&n), result))
}

#[derive(Deserialize)]
pub struct LinkForm {
    days: String,
}

/// Issues the departing client's link and shows it once, in the message after the form.
pub async fn receive_link(
    State(state): State<ServerState>,
    headers: HeaderMap,
    PagePath(n): PagePath<String>,
    Posted { viewer, form }: Posted<LinkForm>,
) -> Result<Response, PageError> {
    let result = async {
        let days = field("days", form.days.trim().parse::<u32>())?;
        let (token, expires_at) = state
            .app
            .receive_link(&viewer.actor, case_number(&n)?, days)
            .await?;
        Ok::<_, ApiError>(viewer.lang.text_with(
            "case-link-created",
            &[
                ("until", &viewer.when(expires_at)),
                (
                    "link",
                    &format!("{}/receive/{token}", super::origin(&state, &headers)),
                ),
            ],
        ))
    }
    .await;
    Ok(outcome(&back(&n), result))
}

pub async fn waive_acknowledgement(
    State(state): State<ServerState>,
    PagePath(n): PagePath<String>,
    Posted { viewer, form }: Posted<ReasonForm>,
) -> Result<Response, PageError> {
    let result = async {
        let why = reason(&form.reason)?;
        state
            .app
            .waive_acknowledgement(&viewer.actor, case_number(&n)?, why)
            .await?;
        Ok::<_, ApiError>(viewer.lang.text("case-ack-waived"))
    }
    .await;
    Ok(outcome(&back(&n), result))
}

#[derive(Deserialize)]
pub struct RevocationForm {
    status: String,
    #[serde(default)]
    note: String,
}

pub async fn set_revocation(
    State(state): State<ServerState>,
    PagePath((n, record)): PagePath<(String, String)>,
    Posted { viewer, form }: Posted<RevocationForm>,
) -> Result<Response, PageError> {
    let result = async {
        let record = record_number(&record)?;
        let status = RevocationStatus::parse(form.status.trim()).ok_or_else(|| {
            ApiError::invalid(
                "status",
                format!(
                    "status `{}` is not one of {}",
                    form.status.trim(),
                    RevocationStatus::NAMES.join(", ")
                ),
            )
        })?;
        let note = field("note", RevocationNote::parse_optional(&form.note))?;
        let item = state
            .app
            .set_revocation(&viewer.actor, case_number(&n)?, record, status, note)
            .await?;
        Ok::<_, ApiError>(viewer.lang.text_with(
            "case-revocation-set",
            &[("record", &item.label), ("status", &item.status.as_str())],
        ))
    }
    .await;
    Ok(outcome(&back(&n), result))
}

#[derive(Deserialize)]
pub struct HandoffForm {
    new_owner: String,
}

pub async fn hand_off(
    State(state): State<ServerState>,
    PagePath((n, record)): PagePath<(String, String)>,
    Posted { viewer, form }: Posted<HandoffForm>,
) -> Result<Response, PageError> {
    let result = async {
        let record = record_number(&record)?;
        let new_owner = field("new_owner", Email::parse(form.new_owner.trim()))?;
        state
            .app
            .hand_off(&viewer.actor, case_number(&n)?, record, &new_owner)
            .await?;
        Ok::<_, ApiError>(viewer.lang.text_with(
            "case-handed-off",
            &[("record", &record), ("owner", &new_owner.to_string())],
        ))
    }
    .await;
    Ok(outcome(&back(&n), result))
}
