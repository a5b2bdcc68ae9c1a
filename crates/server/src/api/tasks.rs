//! Tasks: complete (with evidence), assign, waive, and the caller's own.

use app::{App, Upload};
use axum::Json;
use axum::extract::{DefaultBodyLimit, State};
use engine::fields::TaskNote;
use engine::ids::Email;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;

use crate::docs::{Conflict, JsonWriteProblems, NotFound, Unauthorized};
use crate::extract::{Body, Caller, Path};
use crate::views::{self, CaseTask, Task};
use crate::{EVIDENCE_BODY_LIMIT, ServerState};

use super::{ReasonBody, Reply};
use crate::inputs::{case_number, field, file_name, reason, slug};

pub(super) fn routes() -> OpenApiRouter<ServerState> {
    OpenApiRouter::new()
        // Evidence travels in the body, so this route takes more than the default.
        .routes(routes!(complete_task).layer(DefaultBodyLimit::max(EVIDENCE_BODY_LIMIT)))
        .routes(routes!(assign_task))
        .routes(routes!(waive_task))
        .routes(routes!(my_tasks))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct CompleteBody {
    #[schema(max_length = 4000)]
    note: Option<String>,
    /// Required by tasks that need evidence.
    #[serde(default)]
    evidence: Vec<EvidenceBody>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct EvidenceBody {
    /// A file name, without a directory.
    #[schema(max_length = 255)]
    file_name: String,
    /// The file's bytes, base64 (standard alphabet, with padding).
    #[schema(content_encoding = "base64")]
    content_base64: String,
}

/// Complete a task
///
/// The task's owner (its assignee, or a member of its team) completes it, with evidence where
/// the task needs it. Evidence makes the body larger than elsewhere: up to 36 MiB.
#[utoipa::path(
    post,
    path = "/cases/{number}/tasks/{task}/complete",
    tag = "tasks",
    params(
        ("number" = i64, Path, description = "The case number"),
        ("task" = String, Path, description = "The task's id"),
    ),
    request_body = CompleteBody,
    responses(
        (status = 200, description = "The task as completed", body = Task),
        JsonWriteProblems,
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    ),
    security(("token" = []), ("session" = [], "csrf" = [])),
)]
async fn complete_task(
    State(app): State<App>,
    Caller(actor): Caller,
    Path((n, task)): Path<(String, String)>,
    Body(b): Body<CompleteBody>,
) -> Reply<Task> {
    use base64::Engine;
    let note = b
        .note
        .as_deref()
        .map(|t| field("note", TaskNote::parse(t)))
        .transpose()?;
    let mut evidence = Vec::new();
    for (i, e) in b.evidence.iter().enumerate() {
        let name = file_name(&format!("evidence[{i}].file_name"), &e.file_name)?;
        let content = field(
            &format!("evidence[{i}].content_base64"),
            base64::engine::general_purpose::STANDARD.decode(&e.content_base64),
        )?;
        evidence.push(Upload {
            file_name: name,
            content,
        });
    }
    let task = app
        .complete_task(
            &actor,
            case_number(&n)?,
            &slug(&task, "task")?,
            note,
            evidence,
        )
        .await?;
    Ok(Json(task.into()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct AssignBody {
    /// The assignee's email, or null to unassign.
    assignee: Option<String>,
}

/// Assign a task
#[utoipa::path(
    post,
    path = "/cases/{number}/tasks/{task}/assign",
    tag = "tasks",
    params(
        ("number" = i64, Path, description = "The case number"),
        ("task" = String, Path, description = "The task's id"),
    ),
    request_body = AssignBody,
    responses(
        (status = 200, description = "The task as assigned", body = Task),
        JsonWriteProblems,
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    ),
    security(("token" = []), ("session" = [], "csrf" = [])),
)]
async fn assign_task(
    State(app): State<App>,
    Caller(actor): Caller,
    Path((n, task)): Path<(String, String)>,
    Body(b): Body<AssignBody>,
) -> Reply<Task> {
    let assignee = b
        .assignee
        .as_deref()
        .map(|a| field("assignee", Email::parse(a)))
        .transpose()?;
    let task = app
        .assign_task(
            &actor,
            case_number(&n)?,
            &slug(&task, "task")?,
            assignee.as_ref(),
        )
        .await?;
    Ok(Json(task.into()))
}

/// Waive a task
#[utoipa::path(
    post,
    path = "/cases/{number}/tasks/{task}/waive",
    tag = "tasks",
    params(
        ("number" = i64, Path, description = "The case number"),
        ("task" = String, Path, description = "The task's id"),
    ),
    request_body = ReasonBody,
    responses(
        (status = 200, description = "The task as waived", body = Task),
        JsonWriteProblems,
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    ),
    security(("token" = []), ("session" = [], "csrf" = [])),
)]
async fn waive_task(
    State(app): State<App>,
    Caller(actor): Caller,
    Path((n, task)): Path<(String, String)>,
    Body(b): Body<ReasonBody>,
) -> Reply<Task> {
    let task = app
        .waive_task(
            &actor,
            case_number(&n)?,
            &slug(&task, "task")?,
            &reason(&b.reason)?,
        )
        .await?;
    Ok(Json(task.into()))
}

/// List the caller's tasks
///
/// Tasks assigned to the caller, or owned by one of their teams and unassigned.
#[utoipa::path(
    get,
    path = "/tasks/mine",
    tag = "tasks",
    responses(
        (status = 200, description = "The tasks", body = [CaseTask]),
        (status = 401, response = Unauthorized),
    ),
    security(("token" = []), ("session" = [])),
)]
async fn my_tasks(State(app): State<App>, Caller(actor): Caller) -> Reply<Vec<CaseTask>> {
    Ok(Json(views::list(app.my_tasks(&actor, 1000).await?)))
}
