//! The JSON API under `/api/v1`: subjects, records, blueprints, cases, tasks and the audit log.

use std::collections::BTreeMap;

use app::{App, AppError, BlueprintChoice, NewSubject, StartCase};
use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, patch, post};
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
        .route("/blueprints", get(list_blueprints::<S>))
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
            post(complete_task::<S>),
        )
        .route(
            "/cases/{number}/tasks/{task}/assign",
            post(assign_task::<S>),
        )
        .route("/cases/{number}/tasks/{task}/waive", post(waive_task::<S>))
        .route("/tasks/mine", get(my_tasks::<S>))
        .route("/audit/verify", get(verify_audit::<S>))
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
    let exit_date = b
        .exit_date
        .parse::<Date>()
        .ok()
        .filter(|_| b.exit_date.len() == 10)
        .ok_or_else(|| {
            ApiError::invalid(
                "exit_date",
                format!(
                    "exit_date `{}` is not a date; expected YYYY-MM-DD",
                    b.exit_date
                ),
            )
        })?;
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CompleteBody {
    note: Option<String>,
}

async fn complete_task<S: Store>(
    State(app): State<App<S>>,
    Caller(actor): Caller,
    Path((n, task)): Path<(String, String)>,
    Body(b): Body<CompleteBody>,
) -> Reply {
    let note = b
        .note
        .as_deref()
        .map(|t| field("note", Text::paragraph(t, 4000)).map(|t| t.as_str().to_owned()))
        .transpose()?;
    ok(
        StatusCode::OK,
        &app.complete_task(
            &actor,
            case_number(&n)?,
            &slug(&task, "task")?,
            note,
            Vec::new(),
        )
        .await?,
    )
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
