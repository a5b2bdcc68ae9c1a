//! The JSON API under `/api/v1`: subjects, records, blueprints, cases, tasks and the audit log.

use std::collections::BTreeMap;

use app::{App, AppError, BlueprintChoice, EvidenceUpload, NewSubject, StartCase};
use axum::Json;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get, patch, post};
use engine::case::CaseStatus;
use engine::ids::{Email, Slug, SubjectKey, Text};
use engine::subject::{Attributes, RecordFields, RecordKind, Subject, SubjectKind};
use jiff::civil::Date;
use serde::Deserialize;
use serde_json::{Value, json};
use store::{CaseFilter, Store, SubjectFilter};

use crate::error::ApiError;
use crate::extract::{Body, Caller, Params, segment};

type Reply = Result<(StatusCode, Json<Value>), ApiError>;

fn ok<T: serde::Serialize>(status: StatusCode, value: &T) -> Reply {
    let value = serde_json::to_value(value).map_err(|e| crate::error::internal(&e))?;
    Ok((status, Json(value)))
}

pub fn routes<S: Store>() -> Router<crate::ServerState<S>> {
    Router::new()
        .route("/subjects", get(list_subjects::<S>).post(add_subject::<S>))
        .route("/subjects/{key}", get(show_subject::<S>))
        .route("/subjects/{key}/records", post(add_record::<S>))
        .route(
            "/subjects/{key}/records/{number}",
            patch(update_record::<S>),
        )
        .route(
            "/blueprints",
            get(list_blueprints::<S>).post(add_blueprint::<S>),
        )
        .route("/cases", get(list_cases::<S>).post(start_case::<S>))
        .route("/cases/{number}", get(show_case::<S>))
        .route("/cases/{number}/precheck", post(precheck::<S>))
        .route("/cases/{number}/close", post(close_case::<S>))
        .route("/cases/{number}/cancel", post(cancel_case::<S>))
        .route(
            "/cases/{number}/findings/{check}/waive",
            post(waive_finding::<S>),
        )
        .route(
            "/cases/{number}/tasks/{task}/complete",
            // Evidence travels in the body, so this route takes more than the default.
            post(complete_task::<S>).layer(DefaultBodyLimit::max(EVIDENCE_BODY_LIMIT)),
        )
        .route(
            "/cases/{number}/tasks/{task}/assign",
            post(assign_task::<S>),
        )
        .route("/cases/{number}/tasks/{task}/waive", post(waive_task::<S>))
        .route("/tasks/mine", get(my_tasks::<S>))
        .route("/audit", get(audit_log::<S>))
        .route("/audit/verify", get(verify_audit::<S>))
        .route("/users", get(list_users::<S>).post(add_user::<S>))
        .route("/teams", get(list_teams::<S>))
        .route("/tokens", get(list_tokens::<S>).post(issue_token::<S>))
        .route("/tokens/{id}", delete(revoke_token::<S>))
        .route("/blueprints/lint", post(lint_blueprint::<S>))
        .route("/blueprints/{id}", get(show_blueprint::<S>))
        .route("/blueprints/{id}/plan", post(plan::<S>))
}

fn key(value: &str) -> Result<SubjectKey, ApiError> {
    segment(value, "subject", SubjectKey::parse)
}

fn case_number(value: &str) -> Result<i64, ApiError> {
    segment(value, "case", |v| {
        v.parse::<i64>().map_err(|e| e.to_string()).and_then(|n| {
            if n > 0 {
                Ok(n)
            } else {
                Err("not positive".into())
            }
        })
    })
}

fn slug(value: &str, what: &str) -> Result<Slug, ApiError> {
    segment(value, what, Slug::parse)
}

/// Validates one field of a body into a domain type, naming the field when it fails.
fn field<T, E: std::fmt::Display>(name: &str, result: Result<T, E>) -> Result<T, ApiError> {
    result.map_err(|e| ApiError::invalid(name, format!("{name}: {e}")))
}

fn default_limit() -> i64 {
    100
}

/// Checks paging parameters. (They are fields of each query type rather than a flattened
/// struct: serde's `flatten` reads query values as strings and cannot parse numbers.)
fn page(limit: i64, offset: i64) -> Result<(i64, i64), ApiError> {
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::invalid("limit", "limit must be from 1 to 1000"));
    }
    if offset < 0 {
        return Err(ApiError::invalid("offset", "offset must be 0 or more"));
    }
    Ok((limit, offset))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SubjectQuery {
    kind: Option<SubjectKind>,
    #[serde(default)]
    include_offboarded: bool,
    #[serde(default = "default_limit")]
    limit: i64,
    #[serde(default)]
    offset: i64,
}

async fn list_subjects<S: Store>(
    State(app): State<App<S>>,
    Caller(actor): Caller,
    Params(q): Params<SubjectQuery>,
) -> Reply {
    let (limit, offset) = page(q.limit, q.offset)?;
    let filter = SubjectFilter {
        kind: q.kind,
        include_offboarded: q.include_offboarded,
        parent: None,
        limit,
        offset,
    };
    ok(StatusCode::OK, &app.subjects(&actor, &filter).await?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewSubjectBody {
    key: String,
    kind: SubjectKind,
    name: String,
    parent: Option<String>,
    #[serde(default)]
    attributes: BTreeMap<String, String>,
}

async fn add_subject<S: Store>(
    State(app): State<App<S>>,
    Caller(actor): Caller,
    Body(b): Body<NewSubjectBody>,
) -> Reply {
    let subject = NewSubject {
        key: field("key", SubjectKey::parse(&b.key))?,
        kind: b.kind,
        name: field("name", Text::line(&b.name, Subject::NAME_MAX))?,
        parent: b
            .parent
            .as_deref()
            .map(|p| field("parent", SubjectKey::parse(p)))
            .transpose()?,
        attributes: field(
            "attributes",
            Attributes::parse(b.attributes.iter().map(|(k, v)| (k.as_str(), v.as_str()))),
        )?,
    };
    let added = app
        .add_subjects(&actor, vec![subject])
        .await
        .map_err(|(_, e)| ApiError::from(e))?;
    ok(StatusCode::CREATED, &added[0])
}

async fn show_subject<S: Store>(
    State(app): State<App<S>>,
    Caller(actor): Caller,
    Path(k): Path<String>,
) -> Reply {
    ok(StatusCode::OK, &app.subject(&actor, &key(&k)?).await?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewRecordBody {
    kind: RecordKind,
    fields: BTreeMap<String, String>,
}

async fn add_record<S: Store>(
    State(app): State<App<S>>,
    Caller(actor): Caller,
    Path(k): Path<String>,
    Body(b): Body<NewRecordBody>,
) -> Reply {
    let fields = field(
        "fields",
        RecordFields::parse(
            b.kind,
            b.fields.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        ),
    )?;
    ok(
        StatusCode::CREATED,
        &app.add_record(&actor, &key(&k)?, b.kind, fields).await?,
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RecordChangesBody {
    fields: BTreeMap<String, String>,
}

async fn update_record<S: Store>(
    State(app): State<App<S>>,
    Caller(actor): Caller,
    Path((k, n)): Path<(String, String)>,
    Body(b): Body<RecordChangesBody>,
) -> Reply {
    let number = segment(&n, "record", |v| v.parse::<i64>())?;
    let changes: Vec<(String, String)> = b.fields.into_iter().collect();
    if changes.is_empty() {
        return Err(ApiError::invalid(
            "fields",
            "fields: give at least one field to change",
        ));
    }
    ok(
        StatusCode::OK,
        &app.update_record(&actor, &key(&k)?, number, &changes)
            .await?,
    )
}

async fn list_blueprints<S: Store>(State(app): State<App<S>>, Caller(actor): Caller) -> Reply {
    let list: Vec<_> = app
        .blueprints(&actor)
        .await?
        .into_iter()
        .map(|(info, _, _)| info)
        .collect();
    ok(StatusCode::OK, &list)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseQuery {
    status: Option<String>,
    #[serde(default = "default_limit")]
    limit: i64,
    #[serde(default)]
    offset: i64,
}

async fn list_cases<S: Store>(
    State(app): State<App<S>>,
    Caller(actor): Caller,
    Params(q): Params<CaseQuery>,
) -> Reply {
    let (limit, offset) = page(q.limit, q.offset)?;
    let status = q
        .status
        .as_deref()
        .map(|s| {
            CaseStatus::parse(s).ok_or_else(|| {
                ApiError::invalid(
                    "status",
                    format!(
                        "status `{s}` is not one of {}",
                        CaseStatus::NAMES.join(", ")
                    ),
                )
            })
        })
        .transpose()?;
    let filter = CaseFilter {
        status,
        limit,
        offset,
        ..CaseFilter::default()
    };
    ok(StatusCode::OK, &app.cases(&actor, &filter).await?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StartCaseBody {
    subject: String,
    exit_date: String,
    blueprint: Option<String>,
    owner: Option<String>,
}

async fn start_case<S: Store>(
    State(app): State<App<S>>,
    Caller(actor): Caller,
    Body(b): Body<StartCaseBody>,
) -> Reply {
    let exit_date = exit_date(&b.exit_date)?;
    let start = StartCase {
        subject: field("subject", SubjectKey::parse(&b.subject))?,
        blueprint: b
            .blueprint
            .as_deref()
            .map(|id| field("blueprint", Slug::parse(id)).map(BlueprintChoice::Id))
            .transpose()?,
        exit_date,
        owner: b
            .owner
            .as_deref()
            .map(|o| field("owner", Email::parse(o)))
            .transpose()?,
    };
    ok(StatusCode::CREATED, &app.start_case(&actor, start).await?)
}

async fn show_case<S: Store>(
    State(app): State<App<S>>,
    Caller(actor): Caller,
    Path(n): Path<String>,
) -> Reply {
    ok(StatusCode::OK, &app.case(&actor, case_number(&n)?).await?)
}

async fn precheck<S: Store>(
    State(app): State<App<S>>,
    Caller(actor): Caller,
    Path(n): Path<String>,
) -> Reply {
    let file = app.precheck(&actor, case_number(&n)?).await?;
    ok(StatusCode::OK, &file.findings)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CloseBody {
    confirm: String,
}

async fn close_case<S: Store>(
    State(app): State<App<S>>,
    Caller(actor): Caller,
    Path(n): Path<String>,
    Body(b): Body<CloseBody>,
) -> Reply {
    ok(
        StatusCode::OK,
        &app.close_case(&actor, case_number(&n)?, &b.confirm).await?,
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReasonBody {
    reason: String,
}

fn reason(text: &str) -> Result<String, ApiError> {
    Ok(field("reason", Text::paragraph(text, 2000))?
        .as_str()
        .to_owned())
}

async fn cancel_case<S: Store>(
    State(app): State<App<S>>,
    Caller(actor): Caller,
    Path(n): Path<String>,
    Body(b): Body<ReasonBody>,
) -> Reply {
    ok(
        StatusCode::OK,
        &app.cancel_case(&actor, case_number(&n)?, &reason(&b.reason)?)
            .await?,
    )
}

async fn waive_finding<S: Store>(
    State(app): State<App<S>>,
    Caller(actor): Caller,
    Path((n, check)): Path<(String, String)>,
    Body(b): Body<ReasonBody>,
) -> Reply {
    app.waive_finding(
        &actor,
        case_number(&n)?,
        &slug(&check, "check")?,
        &reason(&b.reason)?,
    )
    .await?;
    ok(StatusCode::OK, &json!({"waived": check}))
}

/// The body limit of task completion, whose evidence is base64 in the JSON (4/3 of its size).
const EVIDENCE_BODY_LIMIT: usize = 36 * 1024 * 1024;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CompleteBody {
    note: Option<String>,
    #[serde(default)]
    evidence: Vec<EvidenceBody>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EvidenceBody {
    file_name: String,
    /// The file's bytes, base64 (standard alphabet, with padding).
    content_base64: String,
}

async fn complete_task<S: Store>(
    State(app): State<App<S>>,
    Caller(actor): Caller,
    Path((n, task)): Path<(String, String)>,
    Body(b): Body<CompleteBody>,
) -> Reply {
    use base64::Engine;
    let note = b
        .note
        .as_deref()
        .map(|t| field("note", Text::paragraph(t, 4000)).map(|t| t.as_str().to_owned()))
        .transpose()?;
    let mut evidence = Vec::new();
    for (i, e) in b.evidence.iter().enumerate() {
        let name_field = format!("evidence[{i}].file_name");
        let name = field(&name_field, Text::line(&e.file_name, 255))?;
        if name.as_str().contains(['/', '\\']) {
            return Err(ApiError::invalid(
                &name_field,
                "a file name, without a directory",
            ));
        }
        let content = field(
            &format!("evidence[{i}].content_base64"),
            base64::engine::general_purpose::STANDARD.decode(&e.content_base64),
        )?;
        evidence.push(EvidenceUpload {
            file_name: name.as_str().to_owned(),
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
    ok(StatusCode::OK, &task)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AssignBody {
    /// The assignee's email, or null to unassign.
    assignee: Option<String>,
}

async fn assign_task<S: Store>(
    State(app): State<App<S>>,
    Caller(actor): Caller,
    Path((n, task)): Path<(String, String)>,
    Body(b): Body<AssignBody>,
) -> Reply {
    let assignee = b
        .assignee
        .as_deref()
        .map(|a| field("assignee", Email::parse(a)))
        .transpose()?;
    ok(
        StatusCode::OK,
        &app.assign_task(
            &actor,
            case_number(&n)?,
            &slug(&task, "task")?,
            assignee.as_ref(),
        )
        .await?,
    )
}

async fn waive_task<S: Store>(
    State(app): State<App<S>>,
    Caller(actor): Caller,
    Path((n, task)): Path<(String, String)>,
    Body(b): Body<ReasonBody>,
) -> Reply {
    ok(
        StatusCode::OK,
        &app.waive_task(
            &actor,
            case_number(&n)?,
            &slug(&task, "task")?,
            &reason(&b.reason)?,
        )
        .await?,
    )
}

async fn my_tasks<S: Store>(State(app): State<App<S>>, Caller(actor): Caller) -> Reply {
    ok(StatusCode::OK, &app.my_tasks(&actor, 1000).await?)
}

async fn verify_audit<S: Store>(State(app): State<App<S>>, Caller(actor): Caller) -> Reply {
    match app.verify_audit(&actor).await {
        Ok(events) => ok(StatusCode::OK, &json!({"intact": true, "events": events})),
        Err(AppError::Chain(broken)) => ok(
            StatusCode::OK,
            &json!({"intact": false, "broken": broken.to_string()}),
        ),
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AuditQuery {
    #[serde(default)]
    after: i64,
    #[serde(default = "default_limit")]
    limit: i64,
    action: Option<String>,
    actor: Option<String>,
    target_kind: Option<String>,
    target_id: Option<String>,
    /// RFC 3339 instants.
    from: Option<String>,
    to: Option<String>,
}

fn instant(name: &str, value: Option<&str>) -> Result<Option<jiff::Timestamp>, ApiError> {
    value
        .map(|v| {
            v.parse::<jiff::Timestamp>().map_err(|_| {
                ApiError::invalid(
                    name,
                    format!("{name} `{v}` is not an RFC 3339 time such as 2026-11-23T09:00:00Z"),
                )
            })
        })
        .transpose()
}

async fn audit_log<S: Store>(
    State(app): State<App<S>>,
    Caller(actor): Caller,
    Params(q): Params<AuditQuery>,
) -> Reply {
    let (limit, after) = page(q.limit, q.after)?;
    for (name, value) in [
        ("action", &q.action),
        ("actor", &q.actor),
        ("target_kind", &q.target_kind),
        ("target_id", &q.target_id),
    ] {
        if value
            .as_deref()
            .is_some_and(|v| v.len() > 200 || v.chars().any(char::is_control))
        {
            return Err(ApiError::invalid(
                name,
                format!("{name} must be plain text of at most 200 characters"),
            ));
        }
    }
    let filter = store::AuditFilter {
        after_seq: after,
        limit,
        action: q.action,
        actor: q.actor,
        target_kind: q.target_kind,
        target_id: q.target_id,
        from: instant("from", q.from.as_deref())?,
        to: instant("to", q.to.as_deref())?,
    };
    ok(StatusCode::OK, &app.audit_log(&actor, &filter).await?)
}

async fn list_users<S: Store>(State(app): State<App<S>>, Caller(actor): Caller) -> Reply {
    ok(StatusCode::OK, &app.users(&actor).await?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewUserBody {
    email: String,
    name: String,
    role: engine::tenant::Role,
    #[serde(default)]
    teams: Vec<String>,
}

async fn add_user<S: Store>(
    State(app): State<App<S>>,
    Caller(actor): Caller,
    Body(b): Body<NewUserBody>,
) -> Reply {
    let teams = b
        .teams
        .iter()
        .map(|t| field("teams", Slug::parse(t)))
        .collect::<Result<Vec<_>, _>>()?;
    let user = app
        .add_user(
            &actor,
            field("email", Email::parse(&b.email))?,
            field("name", Text::line(&b.name, 200))?,
            b.role,
            &teams,
        )
        .await?;
    ok(StatusCode::CREATED, &user)
}

async fn list_teams<S: Store>(State(app): State<App<S>>, Caller(actor): Caller) -> Reply {
    ok(StatusCode::OK, &app.teams(&actor).await?)
}

async fn list_tokens<S: Store>(State(app): State<App<S>>, Caller(actor): Caller) -> Reply {
    ok(StatusCode::OK, &app.tokens(&actor).await?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewTokenBody {
    name: String,
    role: engine::tenant::Role,
    /// The user the token acts as; the caller when absent.
    user: Option<String>,
}

async fn issue_token<S: Store>(
    State(app): State<App<S>>,
    Caller(actor): Caller,
    Body(b): Body<NewTokenBody>,
) -> Reply {
    let user = b
        .user
        .as_deref()
        .map(|u| field("user", Email::parse(u)))
        .transpose()?;
    let issued = app
        .issue_token(
            &actor,
            field("name", Text::line(&b.name, 200))?,
            b.role,
            user.as_ref(),
        )
        .await?;
    ok(
        StatusCode::CREATED,
        &json!({"token": issued.token, "secret": issued.secret}),
    )
}

async fn revoke_token<S: Store>(
    State(app): State<App<S>>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> Reply {
    let id = segment(&id, "token", |v| v.parse::<uuid::Uuid>())?;
    app.revoke_token(&actor, engine::ids::TokenId(id)).await?;
    ok(StatusCode::OK, &json!({"revoked": id}))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SourceBody {
    /// The blueprint's YAML.
    source: String,
}

async fn lint_blueprint<S: Store>(
    State(app): State<App<S>>,
    Caller(actor): Caller,
    Body(b): Body<SourceBody>,
) -> Reply {
    match app.lint(&actor, &b.source).await {
        Ok(bp) => ok(
            StatusCode::OK,
            &json!({"ok": true, "id": bp.id, "version": bp.version, "problems": []}),
        ),
        Err(problems) => ok(StatusCode::OK, &json!({"ok": false, "problems": problems})),
    }
}

async fn add_blueprint<S: Store>(
    State(app): State<App<S>>,
    Caller(actor): Caller,
    Body(b): Body<SourceBody>,
) -> Reply {
    ok(
        StatusCode::CREATED,
        &app.add_blueprint(&actor, "the uploaded blueprint", &b.source)
            .await?,
    )
}

async fn show_blueprint<S: Store>(
    State(app): State<App<S>>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> Reply {
    let id = slug(&id, "blueprint")?;
    let (info, _, source) = app
        .blueprints(&actor)
        .await?
        .into_iter()
        .find(|(info, _, _)| info.id == id.as_str())
        .ok_or_else(|| ApiError::not_found(format!("no blueprint `{id}`")))?;
    ok(
        StatusCode::OK,
        &json!({"blueprint": info, "source": source}),
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PlanBody {
    subject: String,
    exit_date: String,
}

async fn plan<S: Store>(
    State(app): State<App<S>>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    Body(b): Body<PlanBody>,
) -> Reply {
    let choice = BlueprintChoice::Id(slug(&id, "blueprint")?);
    let plan = app
        .plan(
            &actor,
            &choice,
            &field("subject", SubjectKey::parse(&b.subject))?,
            exit_date(&b.exit_date)?,
        )
        .await?;
    ok(StatusCode::OK, &plan)
}

fn exit_date(text: &str) -> Result<Date, ApiError> {
    text.parse::<Date>()
        .ok()
        .filter(|_| text.len() == 10)
        .ok_or_else(|| {
            ApiError::invalid(
                "exit_date",
                format!("exit_date `{text}` is not a date; expected YYYY-MM-DD"),
            )
        })
}
