//! The task page (task detail): what it asks, its evidence up and down, its note, and its own
//! history; completing, assigning and waiving it.

use askama::Template;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use axum::response::Response;
use engine::case::TaskStatus;
use engine::fields::TaskNote;
use engine::ids::Email;
use serde::Deserialize;
use store::AuditFilter;

use super::{Chrome, PageError, PagePath, People, Posted, Viewer, given, outcome};
use crate::ServerState;
use crate::error::ApiError;
use crate::inputs::{case_number, field, file_name, reason, slug};

/// The largest completion form: its files are evidence, up to 25 MiB each.
pub const UPLOAD_LIMIT: usize = crate::EVIDENCE_BODY_LIMIT;

struct EvidenceLine {
    href: String,
    file_name: String,
    size: i64,
    sha256: String,
    added: String,
}

struct EventLine {
    at: String,
    actor: String,
    summary: String,
}

#[derive(Template)]
#[template(path = "web/task.html")]
struct TaskPage {
    chrome: Chrome,
    number: i64,
    subject_name: String,
    id: String,
    title: String,
    description: String,
    stage: String,
    kind: &'static str,
    action: Option<String>,
    checklist: Vec<String>,
    owner: String,
    assignee: Option<String>,
    assignee_email: String,
    depends_on: Vec<(String, String, &'static str)>,
    due: String,
    overdue: bool,
    status: &'static str,
    open: bool,
    evidence_required: bool,
    note: Option<String>,
    waive_reason: Option<String>,
    closed: Option<String>,
    evidence: Vec<EvidenceLine>,
    history: Vec<EventLine>,
    people: Vec<(String, String)>,
    /// Why it cannot be completed yet, if it cannot.
    waiting: Option<String>,
}

pub async fn show(
    State(state): State<ServerState>,
    viewer: Viewer,
    PagePath((n, task)): PagePath<(String, String)>,
) -> Result<Response, PageError> {
    let app = &state.app;
    let actor = &viewer.actor;
    let number = case_number(&n)?;
    let task_id = slug(&task, "task")?;
    let view = app.case(actor, number).await?;
    let file = &view.file;
    let Some(t) = file.task(task_id.as_str()) else {
        return Err(ApiError::not_found(format!("case {number} has no task `{task_id}`")).into());
    };
    let people = People::load(app, actor).await?;
    let now = app.now();
    let lang = &viewer.lang;
    let stage = file
        .case
        .stages
        .iter()
        .find(|s| s.id == t.stage)
        .map_or_else(|| t.stage.to_string(), |s| s.title.clone());
    let history = app
        .audit_log(
            actor,
            &AuditFilter {
                limit: i64::MAX,
                target_kind: Some("task".to_owned()),
                target_id: Some(format!("{number}/{task_id}")),
                ..AuditFilter::default()
            },
        )
        .await?
        .into_iter()
        .rev()
        .map(|e| EventLine {
            at: viewer.event_time(&e),
            actor: people.actor(&e.actor),
            summary: super::summary(&e, lang),
        })
        .collect();
    let open = t.status == TaskStatus::Open && file.case.resolution.is_none();
    let page = TaskPage {
        chrome: viewer.chrome("cases", t.title.clone()),
        number,
        subject_name: view.subject.name.as_str().to_owned(),
        id: t.id.to_string(),
        title: t.title.clone(),
        description: t.description.clone(),
        stage,
        kind: t.kind.as_str(),
        action: t.action.clone(),
        checklist: t.checklist.clone(),
        owner: t.owner_label.clone(),
        assignee: t.assignee.map(|a| people.name(a)),
        assignee_email: t.assignee.map_or_else(String::new, |a| people.email(a)),
        depends_on: t
            .depends_on
            .iter()
            .map(|d| {
                let other = file.task(d.as_str());
                (
                    d.to_string(),
                    other.map_or_else(|| d.to_string(), |o| o.title.clone()),
                    other.map_or("open", |o| o.status.as_str()),
                )
            })
            .collect(),
        due: t
            .due_at
            .map(|t| viewer.deadline(t, &view.subject.attributes.time_zone()))
            .unwrap_or_else(|| lang.text("task-no-due-date")),
        overdue: open && t.is_overdue(now),
        status: t.status.as_str(),
        open,
        evidence_required: t.evidence_required,
        note: t.note.clone(),
        waive_reason: t.waive_reason.clone(),
        closed: t.closed_at.map(|c| {
            lang.text_with(
                "shared-when-by",
                &[
                    ("when", &viewer.when(c)),
                    (
                        "who",
                        &t.closed_by.map_or_else(String::new, |u| people.name(u)),
                    ),
                ],
            )
        }),
        evidence: view
            .evidence
            .iter()
            .filter(|e| e.task_id == t.id)
            .map(|e| EvidenceLine {
                href: format!("/api/v1/cases/{number}/evidence/{}", e.id),
                file_name: e.file_name.clone(),
                size: e.size,
                sha256: engine::audit::to_hex(&e.sha256),
                added: lang.text_with(
                    "shared-when-by",
                    &[
                        ("when", &viewer.when(e.added_at)),
                        ("who", &people.name(e.added_by)),
                    ],
                ),
            })
            .collect(),
        history,
        people: people.who_can_act(),
        waiting: if open {
            file.readiness(task_id.as_str())
                .err()
                .map(|e| e.to_string())
        } else {
            None
        },
    };
    Ok(viewer.page(&page))
}

fn task_page(n: &str, task: &str) -> String {
    format!(
        "/cases/{}/tasks/{}",
        super::query_value(n),
        super::query_value(task)
    )
}

/// What the completion form carries once read: the CSRF token, the note, the ticked checklist
/// items and the evidence files.
#[derive(Default)]
struct Completion {
    csrf_token: String,
    note: String,
    ticked: Vec<String>,
    evidence: Vec<app::Upload>,
}

fn unreadable(e: impl std::fmt::Display) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "invalid-form",
        format!("the form could not be read: {e}"),
    )
}

async fn read_completion(mut form: Multipart) -> Result<Completion, ApiError> {
    let mut out = Completion::default();
    while let Some(part) = form.next_field().await.map_err(unreadable)? {
        let name = part.name().unwrap_or_default().to_owned();
        match name.as_str() {
            "csrf_token" => out.csrf_token = part.text().await.map_err(unreadable)?,
            "note" => out.note = part.text().await.map_err(unreadable)?,
            "ticked" => out.ticked.push(part.text().await.map_err(unreadable)?),
            "evidence" => {
                let given_name = part.file_name().unwrap_or_default().to_owned();
                let content = part.bytes().await.map_err(unreadable)?;
                // A file input left empty still sends a part, with no name and no bytes.
                if given_name.is_empty() && content.is_empty() {
                    continue;
                }
                let upload = app::Upload {
                    file_name: file_name("evidence", &given_name)?,
                    content: content.to_vec(),
                };
                upload.check_size("evidence")?;
                out.evidence.push(upload);
            }
            other => {
                return Err(ApiError::invalid(
                    other,
                    format!("the form has no field `{other}`"),
                ));
            }
        }
    }
    Ok(out)
}

/// Completes the task with its note, ticked checklist and evidence files (a multipart form,
/// so that files can come along).
pub async fn complete(
    State(state): State<ServerState>,
    viewer: Viewer,
    PagePath((n, task)): PagePath<(String, String)>,
    form: Result<Multipart, MultipartRejection>,
) -> Result<Response, PageError> {
    let back = task_page(&n, &task);
    let form = form.map_err(|r| unreadable(r.body_text()))?;
    let completion = read_completion(form).await;
    // The token is checked before anything the form asks for is looked at.
    let completion = match completion {
        Ok(c) => {
            viewer.check_csrf(&c.csrf_token)?;
            c
        }
        Err(e) => return Ok(super::refused(&back, e)),
    };
    let result = async {
        let number = case_number(&n)?;
        let id = slug(&task, "task")?;
        let mut note = given(&completion.note).map(str::to_owned);
        if !completion.ticked.is_empty() {
            let list: Vec<String> = completion.ticked.iter().map(|t| format!("✓ {t}")).collect();
            let checklist = format!("Checklist: {}", list.join("; "));
            note = Some(match note {
                Some(n) => format!("{n}\n{checklist}"),
                None => checklist,
            });
        }
        let note = note
            .map(|t| field("note", TaskNote::parse(&t)))
            .transpose()?;
        let files = completion.evidence.len();
        let done = state
            .app
            .complete_task(&viewer.actor, number, &id, note, completion.evidence)
            .await?;
        Ok::<_, ApiError>(viewer.lang.text_with(
            "task-completed",
            &[("task", &done.title), ("files", &files)],
        ))
    }
    .await;
    Ok(outcome(&back, result))
}

#[derive(Deserialize)]
pub struct AssignForm {
    #[serde(default)]
    assignee: String,
}

pub async fn assign(
    State(state): State<ServerState>,
    PagePath((n, task)): PagePath<(String, String)>,
    Posted { viewer, form }: Posted<AssignForm>,
) -> Result<Response, PageError> {
    let result = async {
        let assignee = given(&form.assignee)
            .map(|a| field("assignee", Email::parse(a)))
            .transpose()?;
        let done = state
            .app
            .assign_task(
                &viewer.actor,
                case_number(&n)?,
                &slug(&task, "task")?,
                assignee.as_ref(),
            )
            .await?;
        Ok::<_, ApiError>(match assignee {
            Some(a) => viewer.lang.text_with(
                "task-assigned",
                &[("task", &done.title), ("assignee", &a.to_string())],
            ),
            None => viewer
                .lang
                .text_with("task-unassigned", &[("task", &done.title)]),
        })
    }
    .await;
    Ok(outcome(&task_page(&n, &task), result))
}

#[derive(Deserialize)]
pub struct WaiveForm {
    reason: String,
}

pub async fn waive(
    State(state): State<ServerState>,
    PagePath((n, task)): PagePath<(String, String)>,
    Posted { viewer, form }: Posted<WaiveForm>,
) -> Result<Response, PageError> {
    let result = async {
        let done = state
            .app
            .waive_task(
                &viewer.actor,
                case_number(&n)?,
                &slug(&task, "task")?,
                &reason(&form.reason)?,
            )
            .await?;
        Ok::<_, ApiError>(
            viewer
                .lang
                .text_with("task-waived", &[("task", &done.title)]),
        )
    }
    .await;
    Ok(outcome(&task_page(&n, &task), result))
}
