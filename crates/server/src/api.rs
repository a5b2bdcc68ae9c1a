//! The JSON API under `/api/v1`: subjects, records, blueprints, cases, tasks and the audit log;
//! jobs, connectors, webhooks and email settings in [`automation`].
//!
//! Every handler carries its OpenAPI description (`#[utoipa::path]`): the router below
//! registers a route only together with it. Reads accept an API token or a session cookie;
//! writes made with a cookie also need the session's CSRF header (`extract::authenticate`).

mod automation;

use std::collections::BTreeMap;

use app::{App, AppError, BlueprintChoice, NewSubject, StartCase, Upload};
use axum::Json;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use engine::governance::Retention;
use engine::ids::{Email, Slug, SubjectKey, Text, ZoneName};
use engine::subject::{Attributes, RecordFields};
use jiff::civil::Date;
use serde::Deserialize;
use store::{CaseFilter, SubjectFilter};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;

use crate::ServerState;
use crate::docs::{
    BadRequest, Conflict, Forbidden, JsonWriteProblems, Locked, NotFound, Unauthorized,
    UnprocessableContent,
};
use crate::error::ApiError;
use crate::extract::{Body, Caller, Params, Path, segment};
use crate::session::TimeZoneBody;
use crate::views::{
    self, ApiToken, AuditEvent, AuditVerification, BlueprintInfo, BlueprintSource, Case,
    CaseDetail, CaseFinding, CaseStatus, CaseSummary, CaseTask, IssuedToken, LegalHold, LintReport,
    Plan, Record, RecordKind, RetentionPolicy, Revoked, Role, StartedCase, Subject, SubjectDetail,
    SubjectKind, Task, Team, Tenant, User, Waived,
};

type Reply<T> = Result<Json<T>, ApiError>;
type Created<T> = Result<(StatusCode, Json<T>), ApiError>;

pub fn routes() -> OpenApiRouter<ServerState> {
    OpenApiRouter::new()
        .routes(routes!(list_subjects, add_subject))
        .routes(routes!(show_subject))
        .routes(routes!(add_record))
        .routes(routes!(update_record))
        .routes(routes!(list_blueprints, add_blueprint))
        .routes(routes!(list_cases, start_case))
        .routes(routes!(show_case))
        .routes(routes!(precheck))
        .routes(routes!(close_case))
        .routes(routes!(cancel_case))
        .routes(routes!(waive_finding))
        // Evidence travels in the body, so this route takes more than the default.
        .routes(routes!(complete_task).layer(DefaultBodyLimit::max(EVIDENCE_BODY_LIMIT)))
        .routes(routes!(assign_task))
        .routes(routes!(waive_task))
        .routes(routes!(my_tasks))
        .routes(routes!(audit_log))
        .routes(routes!(verify_audit))
        .routes(routes!(list_users, add_user))
        .routes(routes!(set_tenant_time_zone))
        .routes(routes!(list_teams))
        .routes(routes!(list_tokens, issue_token))
        .routes(routes!(revoke_token))
        .routes(routes!(lint_blueprint))
        .routes(routes!(show_blueprint))
        .routes(routes!(plan))
        .routes(routes!(show_certificate))
        .routes(routes!(list_exports, request_export))
        .routes(routes!(issue_receive_link))
        .routes(routes!(waive_acknowledgement))
        .routes(routes!(list_revocations))
        .routes(routes!(set_revocation))
        .routes(routes!(hand_off))
        .routes(routes!(list_holds, place_hold))
        .routes(routes!(lift_hold))
        .routes(routes!(list_retention, set_retention))
        .merge(automation::routes())
}

pub(crate) fn key(value: &str) -> Result<SubjectKey, ApiError> {
    segment(value, "subject", SubjectKey::parse)
}

pub(crate) fn case_number(value: &str) -> Result<i64, ApiError> {
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

pub(crate) fn slug(value: &str, what: &str) -> Result<Slug, ApiError> {
    segment(value, what, Slug::parse)
}

/// A file's name as uploaded: one line, no directory.
pub(crate) fn file_name(name_field: &str, value: &str) -> Result<String, ApiError> {
    let name = field(name_field, Text::line(value, 255))?;
    if name.as_str().contains(['/', '\\']) {
        return Err(ApiError::invalid(
            name_field,
            format!("{name_field}: a file name, without a directory"),
        ));
    }
    Ok(name.as_str().to_owned())
}

/// Validates one field of a body into a domain type, naming the field when it fails.
pub(crate) fn field<T, E: std::fmt::Display>(
    name: &str,
    result: Result<T, E>,
) -> Result<T, ApiError> {
    result.map_err(|e| ApiError::invalid(name, format!("{name}: {e}")))
}

fn default_limit() -> i64 {
    100
}

/// The `status` query parameter, parsed by `parse`, or a 422 that lists the valid `names`.
fn status_param<T>(
    value: Option<&str>,
    parse: impl FnOnce(&str) -> Option<T>,
    names: &[&str],
) -> Result<Option<T>, ApiError> {
    let Some(value) = value else {
        return Ok(None);
    };
    parse(value).map(Some).ok_or_else(|| {
        ApiError::invalid(
            "status",
            format!("status `{value}` is not one of {}", names.join(", ")),
        )
    })
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

/// Checks a search text: blank means no search.
pub(crate) fn search(text: Option<&str>) -> Result<Option<String>, ApiError> {
    match text.map(str::trim) {
        None | Some("") => Ok(None),
        Some(t) if t.chars().count() > 200 => Err(ApiError::invalid(
            "search",
            "search must be at most 200 characters",
        )),
        Some(t) => Ok(Some(t.to_owned())),
    }
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct SubjectQuery {
    /// Only subjects of this kind.
    // Text parsed by the handler, so that an unknown kind is a 422 naming the valid ones, as
    // an unknown case status is.
    #[param(value_type = Option<SubjectKind>, inline)]
    kind: Option<String>,
    /// Also list offboarded and purged subjects.
    #[serde(default)]
    include_offboarded: bool,
    /// Only subjects whose name or key contains this text (ignoring case).
    #[param(max_length = 200)]
    search: Option<String>,
    #[serde(default = "default_limit")]
    #[param(default = default_limit, minimum = 1, maximum = 1000)]
    limit: i64,
    #[serde(default)]
    #[param(minimum = 0)]
    offset: i64,
}

/// List subjects
///
/// Offboarded and purged subjects are left out unless asked for.
#[utoipa::path(
    get,
    path = "/subjects",
    tag = "subjects",
    params(SubjectQuery),
    responses(
        (status = 200, description = "The subjects", body = [Subject]),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 422, response = UnprocessableContent),
    ),
    security(("token" = []), ("session" = [])),
)]
async fn list_subjects(
    State(app): State<App>,
    Caller(actor): Caller,
    Params(q): Params<SubjectQuery>,
) -> Reply<Vec<Subject>> {
    let (limit, offset) = page(q.limit, q.offset)?;
    let kind = q
        .kind
        .as_deref()
        .map(|k| field("kind", k.parse::<engine::subject::SubjectKind>()))
        .transpose()?;
    let filter = SubjectFilter {
        kind,
        include_offboarded: q.include_offboarded,
        parent: None,
        search: search(q.search.as_deref())?,
        limit,
        offset,
    };
    Ok(Json(views::list(app.subjects(&actor, &filter).await?)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct NewSubjectBody {
    /// Unique in the tenant: letters, digits, `-`, `_` or `.`, starting with a letter or digit.
    key: String,
    kind: SubjectKind,
    #[schema(max_length = 200)]
    name: String,
    /// The key of the client a product belongs to.
    parent: Option<String>,
    /// Known names (`country`, `timezone`, `contract_end`, `manager`, …) are checked against
    /// their type; other names are text.
    #[serde(default)]
    attributes: BTreeMap<String, String>,
}

/// Add a subject
#[utoipa::path(
    post,
    path = "/subjects",
    tag = "subjects",
    request_body = NewSubjectBody,
    responses(
        (status = 201, description = "The subject as added", body = Subject),
        JsonWriteProblems,
        (status = 409, response = Conflict),
    ),
    security(("token" = []), ("session" = [], "csrf" = [])),
)]
async fn add_subject(
    State(app): State<App>,
    Caller(actor): Caller,
    Body(b): Body<NewSubjectBody>,
) -> Created<Subject> {
    let subject = NewSubject {
        key: field("key", SubjectKey::parse(&b.key))?,
        kind: b.kind.into(),
        name: field(
            "name",
            Text::line(&b.name, engine::subject::Subject::NAME_MAX),
        )?,
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
    let mut added = app
        .add_subjects(&actor, vec![subject])
        .await
        .map_err(|(_, e)| ApiError::from(e))?;
    Ok((StatusCode::CREATED, Json(added.swap_remove(0).into())))
}

/// Show a subject
///
/// With its records, its parent and its open case.
#[utoipa::path(
    get,
    path = "/subjects/{key}",
    tag = "subjects",
    params(("key" = String, Path, description = "The subject's key")),
    responses(
        (status = 200, description = "The subject", body = SubjectDetail),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
    ),
    security(("token" = []), ("session" = [])),
)]
async fn show_subject(
    State(app): State<App>,
    Caller(actor): Caller,
    Path(k): Path<String>,
) -> Reply<SubjectDetail> {
    let view = app.subject(&actor, &key(&k)?).await?;
    Ok(Json(SubjectDetail::new(
        view.subject,
        view.parent,
        view.records,
        view.open_case,
    )))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct NewRecordBody {
    kind: RecordKind,
    /// The fields the kind allows; a missing choice takes its default.
    fields: BTreeMap<String, String>,
}

/// Add a record to a subject
#[utoipa::path(
    post,
    path = "/subjects/{key}/records",
    tag = "subjects",
    params(("key" = String, Path, description = "The subject's key")),
    request_body = NewRecordBody,
    responses(
        (status = 201, description = "The record as added", body = Record),
        JsonWriteProblems,
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 423, response = Locked),
    ),
    security(("token" = []), ("session" = [], "csrf" = [])),
)]
async fn add_record(
    State(app): State<App>,
    Caller(actor): Caller,
    Path(k): Path<String>,
    Body(b): Body<NewRecordBody>,
) -> Created<Record> {
    let kind = engine::subject::RecordKind::from(b.kind);
    let fields = field(
        "fields",
        RecordFields::parse(kind, b.fields.iter().map(|(k, v)| (k.as_str(), v.as_str()))),
    )?;
    let record = app.add_record(&actor, &key(&k)?, kind, fields).await?;
    Ok((StatusCode::CREATED, Json(record.into())))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct RecordChangesBody {
    /// The fields to change, at least one; an empty value removes a field.
    fields: BTreeMap<String, String>,
}

/// Change a record's fields
#[utoipa::path(
    patch,
    path = "/subjects/{key}/records/{number}",
    tag = "subjects",
    params(
        ("key" = String, Path, description = "The subject's key"),
        ("number" = i64, Path, description = "The record's number within the subject"),
    ),
    request_body = RecordChangesBody,
    responses(
        (status = 200, description = "The record as changed", body = Record),
        JsonWriteProblems,
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 423, response = Locked),
    ),
    security(("token" = []), ("session" = [], "csrf" = [])),
)]
async fn update_record(
    State(app): State<App>,
    Caller(actor): Caller,
    Path((k, n)): Path<(String, String)>,
    Body(b): Body<RecordChangesBody>,
) -> Reply<Record> {
    let number = segment(&n, "record", |v| v.parse::<i64>())?;
    let changes: Vec<(String, String)> = b.fields.into_iter().collect();
    if changes.is_empty() {
        return Err(ApiError::invalid(
            "fields",
            "fields: give at least one field to change",
        ));
    }
    let record = app
        .update_record(&actor, &key(&k)?, number, &changes)
        .await?;
    Ok(Json(record.into()))
}

/// List blueprints
///
/// The built-in blueprints (or the tenant's newer versions of them) and the tenant's own.
#[utoipa::path(
    get,
    path = "/blueprints",
    tag = "blueprints",
    responses(
        (status = 200, description = "The blueprints", body = [BlueprintInfo]),
        (status = 401, response = Unauthorized),
    ),
    security(("token" = []), ("session" = [])),
)]
async fn list_blueprints(
    State(app): State<App>,
    Caller(actor): Caller,
) -> Reply<Vec<BlueprintInfo>> {
    let blueprints = app
        .blueprints(&actor)
        .await?
        .into_iter()
        .map(|(info, _, _)| BlueprintInfo::from(info))
        .collect();
    Ok(Json(blueprints))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct CaseQuery {
    /// Only cases in this status.
    // Text parsed by the handler, so that an unknown status is a 422 that lists the valid ones.
    #[param(value_type = Option<CaseStatus>, inline)]
    status: Option<String>,
    #[serde(default = "default_limit")]
    #[param(default = default_limit, minimum = 1, maximum = 1000)]
    limit: i64,
    #[serde(default)]
    #[param(minimum = 0)]
    offset: i64,
}

/// List cases
#[utoipa::path(
    get,
    path = "/cases",
    tag = "cases",
    params(CaseQuery),
    responses(
        (status = 200, description = "The cases", body = [CaseSummary]),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 422, response = UnprocessableContent),
    ),
    security(("token" = []), ("session" = [])),
)]
async fn list_cases(
    State(app): State<App>,
    Caller(actor): Caller,
    Params(q): Params<CaseQuery>,
) -> Reply<Vec<CaseSummary>> {
    let (limit, offset) = page(q.limit, q.offset)?;
    let status = status_param(
        q.status.as_deref(),
        engine::case::CaseStatus::parse,
        engine::case::CaseStatus::NAMES,
    )?;
    let filter = CaseFilter {
        status,
        limit,
        offset,
        ..CaseFilter::default()
    };
    Ok(Json(views::list(app.cases(&actor, &filter).await?)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct StartCaseBody {
    /// The subject's key.
    subject: String,
    /// `YYYY-MM-DD`.
    #[schema(format = Date)]
    exit_date: String,
    /// The blueprint's id; otherwise the one whose `applies_when` matches the subject.
    blueprint: Option<String>,
    /// The case owner's email; the caller when absent.
    owner: Option<String>,
}

/// Start a case
///
/// Plans the subject's tasks from the blueprint, which the case pins. An organization case
/// also opens one child case per active subject of the kind its blueprint fans out to.
#[utoipa::path(
    post,
    path = "/cases",
    tag = "cases",
    request_body = StartCaseBody,
    responses(
        (status = 201, description = "The case as started", body = StartedCase),
        JsonWriteProblems,
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    ),
    security(("token" = []), ("session" = [], "csrf" = [])),
)]
async fn start_case(
    State(app): State<App>,
    Caller(actor): Caller,
    Body(b): Body<StartCaseBody>,
) -> Created<StartedCase> {
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
    let started = app.start_case(&actor, start).await?;
    Ok((StatusCode::CREATED, Json(started.into())))
}

/// Show a case
///
/// With its tasks, findings, subject, owner, child cases and evidence.
#[utoipa::path(
    get,
    path = "/cases/{number}",
    tag = "cases",
    params(("number" = i64, Path, description = "The case number")),
    responses(
        (status = 200, description = "The case", body = CaseDetail),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
    ),
    security(("token" = []), ("session" = [])),
)]
async fn show_case(
    State(app): State<App>,
    Caller(actor): Caller,
    Path(n): Path<String>,
) -> Reply<CaseDetail> {
    Ok(Json(app.case(&actor, case_number(&n)?).await?.into()))
}

/// Run a case's checks again
///
/// Runs the pinned blueprint's checks against the subject as it is now.
#[utoipa::path(
    post,
    path = "/cases/{number}/precheck",
    tag = "cases",
    params(("number" = i64, Path, description = "The case number")),
    responses(
        (status = 200, description = "The case's findings", body = [CaseFinding]),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    ),
    security(("token" = []), ("session" = [], "csrf" = [])),
)]
async fn precheck(
    State(app): State<App>,
    Caller(actor): Caller,
    Path(n): Path<String>,
) -> Reply<Vec<CaseFinding>> {
    let file = app.precheck(&actor, case_number(&n)?).await?;
    Ok(Json(views::list(file.findings)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct CloseBody {
    /// The case's confirmation word, typed exactly.
    confirm: String,
}

/// Close a case
///
/// Once every task is done or waived. A closed case never changes again.
#[utoipa::path(
    post,
    path = "/cases/{number}/close",
    tag = "cases",
    params(("number" = i64, Path, description = "The case number")),
    request_body = CloseBody,
    responses(
        (status = 200, description = "The case as closed", body = Case),
        JsonWriteProblems,
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    ),
    security(("token" = []), ("session" = [], "csrf" = [])),
)]
async fn close_case(
    State(app): State<App>,
    Caller(actor): Caller,
    Path(n): Path<String>,
    Body(b): Body<CloseBody>,
) -> Reply<Case> {
    let case = app.close_case(&actor, case_number(&n)?, &b.confirm).await?;
    Ok(Json(case.into()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ReasonBody {
    #[schema(max_length = 2000)]
    reason: String,
}

pub(crate) fn reason(text: &str) -> Result<String, ApiError> {
    Ok(field("reason", Text::paragraph(text, 2000))?
        .as_str()
        .to_owned())
}

/// Cancel a case
///
/// The case keeps every task and its history.
#[utoipa::path(
    post,
    path = "/cases/{number}/cancel",
    tag = "cases",
    params(("number" = i64, Path, description = "The case number")),
    request_body = ReasonBody,
    responses(
        (status = 200, description = "The case as cancelled", body = Case),
        JsonWriteProblems,
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    ),
    security(("token" = []), ("session" = [], "csrf" = [])),
)]
async fn cancel_case(
    State(app): State<App>,
    Caller(actor): Caller,
    Path(n): Path<String>,
    Body(b): Body<ReasonBody>,
) -> Reply<Case> {
    let case = app
        .cancel_case(&actor, case_number(&n)?, &reason(&b.reason)?)
        .await?;
    Ok(Json(case.into()))
}

/// Waive a finding
///
/// Accepts an open finding with a reason, which unblocks the stage it gates.
#[utoipa::path(
    post,
    path = "/cases/{number}/findings/{check}/waive",
    tag = "cases",
    params(
        ("number" = i64, Path, description = "The case number"),
        ("check" = String, Path, description = "The id of the check that fired"),
    ),
    request_body = ReasonBody,
    responses(
        (status = 200, description = "The finding was waived", body = Waived),
        JsonWriteProblems,
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    ),
    security(("token" = []), ("session" = [], "csrf" = [])),
)]
async fn waive_finding(
    State(app): State<App>,
    Caller(actor): Caller,
    Path((n, check)): Path<(String, String)>,
    Body(b): Body<ReasonBody>,
) -> Reply<Waived> {
    app.waive_finding(
        &actor,
        case_number(&n)?,
        &slug(&check, "check")?,
        &reason(&b.reason)?,
    )
    .await?;
    Ok(Json(Waived { waived: check }))
}

/// Request an export
///
/// Queues a build of the case's subject's export package (a BagIt bag as a `.zip`). While one
/// waits, asking again returns it. Poll the case's exports for its status.
#[utoipa::path(
    post,
    path = "/cases/{number}/exports",
    tag = "cases",
    params(("number" = i64, Path, description = "The case number")),
    responses(
        (status = 202, description = "The export, queued (or the one already waiting)", body = views::Export),
        JsonWriteProblems,
        (status = 404, response = NotFound),
    ),
    security(("token" = []), ("session" = [], "csrf" = [])),
)]
async fn request_export(
    State(app): State<App>,
    Caller(actor): Caller,
    Path(n): Path<String>,
) -> Result<(StatusCode, Json<views::Export>), ApiError> {
    let export = app.request_export(&actor, case_number(&n)?).await?;
    Ok((StatusCode::ACCEPTED, Json(export.into())))
}

/// List a case's exports
///
/// Newest first, each with its status: queued, building, ready (with size, digest and the
/// signed receipt) or failed (with the reason).
#[utoipa::path(
    get,
    path = "/cases/{number}/exports",
    tag = "cases",
    params(("number" = i64, Path, description = "The case number")),
    responses(
        (status = 200, description = "The exports", body = Vec<views::Export>),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
    ),
    security(("token" = []), ("session" = [])),
)]
async fn list_exports(
    State(app): State<App>,
    Caller(actor): Caller,
    Path(n): Path<String>,
) -> Reply<Vec<views::Export>> {
    let exports = app.exports(&actor, case_number(&n)?).await?;
    Ok(Json(views::list(exports)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct LinkBody {
    /// How many days the link works: 1 to 90 (default 14).
    #[serde(default = "default_link_days")]
    days: u32,
}

fn default_link_days() -> u32 {
    14
}

/// A link for the departing client.
#[derive(serde::Serialize, ToSchema)]
struct ReceiveLink {
    /// The page's path on this server: `/receive/{token}`.
    path: String,
    /// The signed token (a compact EdDSA JWS naming the export and its expiry).
    token: String,
    #[schema(value_type = String, format = DateTime)]
    expires_at: jiff::Timestamp,
}

/// Issue a download link for the client
///
/// A signed, expiring link to a page where the departing client, without an account,
/// downloads the case's newest ready package and acknowledges receipt.
#[utoipa::path(
    post,
    path = "/cases/{number}/exports/latest/link",
    tag = "cases",
    params(("number" = i64, Path, description = "The case number")),
    request_body = LinkBody,
    responses(
        (status = 201, description = "The link", body = ReceiveLink),
        JsonWriteProblems,
        (status = 404, response = NotFound),
    ),
    security(("token" = []), ("session" = [], "csrf" = [])),
)]
async fn issue_receive_link(
    State(app): State<App>,
    Caller(actor): Caller,
    Path(n): Path<String>,
    Body(b): Body<LinkBody>,
) -> Created<ReceiveLink> {
    let (token, expires_at) = app.receive_link(&actor, case_number(&n)?, b.days).await?;
    Ok((
        StatusCode::CREATED,
        Json(ReceiveLink {
            path: format!("/receive/{token}"),
            token,
            expires_at,
        }),
    ))
}

/// Waive the client's acknowledgement
///
/// Where the departing client cannot or will not acknowledge the package, a manager lets the
/// case (and, later, the purge) go on without it, for a reason on record.
#[utoipa::path(
    post,
    path = "/cases/{number}/exports/latest/waive-acknowledgement",
    tag = "cases",
    params(("number" = i64, Path, description = "The case number")),
    request_body = ReasonBody,
    responses(
        (status = 200, description = "The export, with the waiver", body = views::Export),
        JsonWriteProblems,
        (status = 404, response = NotFound),
    ),
    security(("token" = []), ("session" = [], "csrf" = [])),
)]
async fn waive_acknowledgement(
    State(app): State<App>,
    Caller(actor): Caller,
    Path(n): Path<String>,
    Body(b): Body<ReasonBody>,
) -> Reply<views::Export> {
    let reason = field("reason", Text::paragraph(&b.reason, 2000))?;
    let export = app
        .waive_acknowledgement(&actor, case_number(&n)?, reason)
        .await?;
    Ok(Json(export.into()))
}

/// Show a case's certificate
///
/// The signed completion certificate, which a completed case gets when it closes. Verify it
/// offline with `exeunt certificate verify` or any JOSE library and `/.well-known/jwks.json`.
#[utoipa::path(
    get,
    path = "/cases/{number}/certificate",
    tag = "cases",
    params(("number" = i64, Path, description = "The case number")),
    responses(
        (status = 200, description = "The certificate", body = views::Certificate),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
    ),
    security(("token" = []), ("session" = [])),
)]
async fn show_certificate(
    State(app): State<App>,
    Caller(actor): Caller,
    Path(n): Path<String>,
) -> Reply<views::Certificate> {
    let certificate = app.certificate(&actor, case_number(&n)?).await?;
    Ok(Json(certificate.into()))
}

/// List a case's revocations
///
/// Every account and integration of the case's subject, with how far its revocation got
/// (pending when nobody acted on it yet).
#[utoipa::path(
    get,
    path = "/cases/{number}/revocations",
    tag = "cases",
    params(("number" = i64, Path, description = "The case number")),
    responses(
        (status = 200, description = "The revocation items, in record order", body = Vec<views::Revocation>),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
    ),
    security(("token" = []), ("session" = [])),
)]
async fn list_revocations(
    State(app): State<App>,
    Caller(actor): Caller,
    Path(n): Path<String>,
) -> Reply<Vec<views::Revocation>> {
    let items = app.revocations(&actor, case_number(&n)?).await?;
    Ok(Json(views::list(items)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct RevocationBody {
    /// `revoked`, `verified`, `failed` or `waived`; an item never goes back to pending.
    status: views::RevocationStatus,
    /// Required for verified (how it was checked), failed (what failed) and waived (why).
    #[schema(max_length = 2000)]
    note: Option<String>,
}

/// Record a revocation step
///
/// Moves one account or integration on: revoked, verified (with how it was checked), failed or
/// waived (with a note). Revoking or verifying also sets the record's own status. Whoever may
/// complete the case's revoke task may do this.
#[utoipa::path(
    post,
    path = "/cases/{number}/revocations/{record}",
    tag = "cases",
    params(
        ("number" = i64, Path, description = "The case number"),
        ("record" = i64, Path, description = "The account's or integration's record number"),
    ),
    request_body = RevocationBody,
    responses(
        (status = 200, description = "The item as it is now", body = views::Revocation),
        JsonWriteProblems,
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    ),
    security(("token" = []), ("session" = [], "csrf" = [])),
)]
async fn set_revocation(
    State(app): State<App>,
    Caller(actor): Caller,
    Path((n, r)): Path<(String, String)>,
    Body(b): Body<RevocationBody>,
) -> Reply<views::Revocation> {
    let record = segment(&r, "record", |v| v.parse::<i64>())?;
    let note = b
        .note
        .filter(|n| !n.trim().is_empty())
        .map(|n| field("note", Text::paragraph(&n, app::REVOCATION_NOTE_MAX)))
        .transpose()?;
    let item = app
        .set_revocation(&actor, case_number(&n)?, record, b.status.into(), note)
        .await?;
    Ok(Json(item.into()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct HandoffBody {
    /// The email of the tenant's user who owns the work from now on.
    #[schema(format = Email)]
    new_owner: String,
}

/// Hand off a work item
///
/// Names the new owner of a piece of live work of the case's subject. The Handoff stage
/// completes only when every work item has one.
#[utoipa::path(
    post,
    path = "/cases/{number}/work-items/{record}/handoff",
    tag = "cases",
    params(
        ("number" = i64, Path, description = "The case number"),
        ("record" = i64, Path, description = "The work item's record number"),
    ),
    request_body = HandoffBody,
    responses(
        (status = 200, description = "The work item as it is now", body = Record),
        JsonWriteProblems,
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    ),
    security(("token" = []), ("session" = [], "csrf" = [])),
)]
async fn hand_off(
    State(app): State<App>,
    Caller(actor): Caller,
    Path((n, r)): Path<(String, String)>,
    Body(b): Body<HandoffBody>,
) -> Reply<Record> {
    let record = segment(&r, "record", |v| v.parse::<i64>())?;
    let new_owner = field("new_owner", Email::parse(&b.new_owner))?;
    let item = app
        .hand_off(&actor, case_number(&n)?, record, &new_owner)
        .await?;
    Ok(Json(item.into()))
}

/// The body limit of task completion, whose evidence is base64 in the JSON (4/3 of its size).
pub(crate) const EVIDENCE_BODY_LIMIT: usize = 36 * 1024 * 1024;

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
        .map(|t| field("note", Text::paragraph(t, 4000)).map(|t| t.as_str().to_owned()))
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

/// Verify the audit chain
///
/// A broken chain is an answer, not a failure: `intact` is false and `broken` says where.
#[utoipa::path(
    get,
    path = "/audit/verify",
    tag = "audit",
    responses(
        (status = 200, description = "Whether the chain is intact", body = AuditVerification),
        (status = 401, response = Unauthorized),
    ),
    security(("token" = []), ("session" = [])),
)]
async fn verify_audit(State(app): State<App>, Caller(actor): Caller) -> Reply<AuditVerification> {
    let verification = match app.verify_audit(&actor).await {
        Ok(events) => AuditVerification {
            intact: true,
            events: Some(events),
            broken: None,
        },
        Err(AppError::Chain(broken)) => AuditVerification {
            intact: false,
            events: None,
            broken: Some(broken.to_string()),
        },
        Err(e) => return Err(e.into()),
    };
    Ok(Json(verification))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct AuditQuery {
    /// Events after this sequence number.
    #[serde(default)]
    #[param(minimum = 0)]
    after: i64,
    #[serde(default = "default_limit")]
    #[param(default = default_limit, minimum = 1, maximum = 1000)]
    limit: i64,
    /// Such as `task.completed`.
    #[param(max_length = 200)]
    action: Option<String>,
    /// `user:<id>` or `system`.
    #[param(max_length = 200)]
    actor: Option<String>,
    #[param(max_length = 200)]
    target_kind: Option<String>,
    #[param(max_length = 200)]
    target_id: Option<String>,
    /// Events about this subject: itself, its records and its cases.
    subject: Option<String>,
    /// Events about this case: itself, its tasks, exports and revocations.
    case: Option<i64>,
    /// Events at or after this instant (RFC 3339).
    #[param(format = DateTime)]
    from: Option<String>,
    /// Events before this instant (RFC 3339).
    #[param(format = DateTime)]
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

/// Read the audit log
///
/// Pages by sequence number: pass the last `seq` seen as `after`.
#[utoipa::path(
    get,
    path = "/audit",
    tag = "audit",
    params(AuditQuery),
    responses(
        (status = 200, description = "The events, in sequence order", body = [AuditEvent]),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 422, response = UnprocessableContent),
    ),
    security(("token" = []), ("session" = [])),
)]
async fn audit_log(
    State(app): State<App>,
    Caller(actor): Caller,
    Params(q): Params<AuditQuery>,
) -> Reply<Vec<AuditEvent>> {
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
        concerning: None,
    };
    let subject = q
        .subject
        .as_deref()
        .map(|k| field("subject", SubjectKey::parse(k)))
        .transpose()?;
    let filter = store::AuditFilter {
        concerning: app.audit_concern(&actor, subject.as_ref(), q.case).await?,
        ..filter
    };
    Ok(Json(views::list(app.audit_log(&actor, &filter).await?)))
}

/// List users
#[utoipa::path(
    get,
    path = "/users",
    tag = "directory",
    responses(
        (status = 200, description = "The tenant's users", body = [User]),
        (status = 401, response = Unauthorized),
    ),
    security(("token" = []), ("session" = [])),
)]
async fn list_users(State(app): State<App>, Caller(actor): Caller) -> Reply<Vec<User>> {
    Ok(Json(views::list(app.users(&actor).await?)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct NewUserBody {
    email: String,
    #[schema(max_length = 200)]
    name: String,
    /// No stronger than the caller's.
    role: Role,
    /// Team slugs.
    #[serde(default)]
    teams: Vec<String>,
}

/// Add a user
#[utoipa::path(
    post,
    path = "/users",
    tag = "directory",
    request_body = NewUserBody,
    responses(
        (status = 201, description = "The user as added", body = User),
        JsonWriteProblems,
        (status = 409, response = Conflict),
    ),
    security(("token" = []), ("session" = [], "csrf" = [])),
)]
async fn add_user(
    State(app): State<App>,
    Caller(actor): Caller,
    Body(b): Body<NewUserBody>,
) -> Created<User> {
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
            b.role.into(),
            &teams,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(user.into())))
}

/// Set the time zone new people start in
///
/// Admins and the owner. People added from now on start in this zone; those already there
/// keep theirs, and each may choose their own.
#[utoipa::path(
    put,
    path = "/tenant/time-zone",
    tag = "directory",
    request_body = TimeZoneBody,
    responses(
        (status = 200, description = "The tenant, as it is now", body = Tenant),
        JsonWriteProblems,
    ),
    security(("token" = []), ("session" = [], "csrf" = [])),
)]
async fn set_tenant_time_zone(
    State(app): State<App>,
    Caller(actor): Caller,
    Body(b): Body<TimeZoneBody>,
) -> Reply<Tenant> {
    let zone = field("time_zone", ZoneName::parse(&b.time_zone))?;
    Ok(Json(app.set_tenant_time_zone(&actor, zone).await?.into()))
}

/// List teams
#[utoipa::path(
    get,
    path = "/teams",
    tag = "directory",
    responses(
        (status = 200, description = "The tenant's teams and their members", body = [Team]),
        (status = 401, response = Unauthorized),
    ),
    security(("token" = []), ("session" = [])),
)]
async fn list_teams(State(app): State<App>, Caller(actor): Caller) -> Reply<Vec<Team>> {
    Ok(Json(views::list(app.teams(&actor).await?)))
}

/// List tokens
///
/// Admins see every token of the tenant, others their own.
#[utoipa::path(
    get,
    path = "/tokens",
    tag = "tokens",
    responses(
        (status = 200, description = "The tokens, without their secrets", body = [ApiToken]),
        (status = 401, response = Unauthorized),
    ),
    security(("token" = []), ("session" = [])),
)]
async fn list_tokens(State(app): State<App>, Caller(actor): Caller) -> Reply<Vec<ApiToken>> {
    Ok(Json(views::list(app.tokens(&actor).await?)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct NewTokenBody {
    #[schema(max_length = 200)]
    name: String,
    /// No stronger than the user's; an auditor's tokens only read.
    role: Role,
    /// The email of the user the token acts as; the caller when absent.
    user: Option<String>,
}

/// Issue a token
///
/// The secret is in this response only; the server keeps a digest of it. Idempotency keys are
/// ignored here, so that no secret is ever stored.
#[utoipa::path(
    post,
    path = "/tokens",
    tag = "tokens",
    request_body = NewTokenBody,
    responses(
        (status = 201, description = "The token and its secret", body = IssuedToken),
        JsonWriteProblems,
    ),
    security(("token" = []), ("session" = [], "csrf" = [])),
)]
async fn issue_token(
    State(app): State<App>,
    Caller(actor): Caller,
    Body(b): Body<NewTokenBody>,
) -> Created<IssuedToken> {
    let user = b
        .user
        .as_deref()
        .map(|u| field("user", Email::parse(u)))
        .transpose()?;
    let issued = app
        .issue_token(
            &actor,
            field("name", Text::line(&b.name, 200))?,
            b.role.into(),
            user.as_ref(),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(issued.into())))
}

/// Revoke a token
///
/// A caller may revoke their own tokens; an admin, anyone's.
#[utoipa::path(
    delete,
    path = "/tokens/{id}",
    tag = "tokens",
    params(("id" = uuid::Uuid, Path, description = "The token's id")),
    responses(
        (status = 200, description = "The token was revoked", body = Revoked),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    ),
    security(("token" = []), ("session" = [], "csrf" = [])),
)]
async fn revoke_token(
    State(app): State<App>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> Reply<Revoked> {
    let id = segment(&id, "token", |v| v.parse::<uuid::Uuid>())?;
    app.revoke_token(&actor, engine::ids::TokenId(id)).await?;
    Ok(Json(Revoked { revoked: id }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct SourceBody {
    /// The blueprint's YAML.
    source: String,
}

/// Lint a blueprint
///
/// Reports every problem with its line and column, against the tenant's teams. Problems are
/// the answer here, not a failure.
#[utoipa::path(
    post,
    path = "/blueprints/lint",
    tag = "blueprints",
    request_body = SourceBody,
    responses(
        (status = 200, description = "The problems found, if any", body = LintReport),
        JsonWriteProblems,
    ),
    security(("token" = []), ("session" = [], "csrf" = [])),
)]
async fn lint_blueprint(
    State(app): State<App>,
    Caller(actor): Caller,
    Body(b): Body<SourceBody>,
) -> Reply<LintReport> {
    let report = match app.lint(&actor, &b.source).await {
        Ok(bp) => LintReport {
            ok: true,
            id: Some(bp.id.to_string()),
            version: Some(bp.version),
            problems: Vec::new(),
        },
        Err(problems) => LintReport {
            ok: false,
            id: None,
            version: None,
            problems: views::list(problems),
        },
    };
    Ok(Json(report))
}

/// Add a blueprint version
///
/// After lint; the version must be higher than any the tenant (or the built-in of the same id)
/// has.
#[utoipa::path(
    post,
    path = "/blueprints",
    tag = "blueprints",
    request_body = SourceBody,
    responses(
        (status = 201, description = "The blueprint as added", body = BlueprintInfo),
        JsonWriteProblems,
        (status = 409, response = Conflict),
    ),
    security(("token" = []), ("session" = [], "csrf" = [])),
)]
async fn add_blueprint(
    State(app): State<App>,
    Caller(actor): Caller,
    Body(b): Body<SourceBody>,
) -> Created<BlueprintInfo> {
    let info = app
        .add_blueprint(&actor, "the uploaded blueprint", &b.source)
        .await?;
    Ok((StatusCode::CREATED, Json(info.into())))
}

/// Show a blueprint
///
/// Its latest version, with the YAML.
#[utoipa::path(
    get,
    path = "/blueprints/{id}",
    tag = "blueprints",
    params(("id" = String, Path, description = "The blueprint's id")),
    responses(
        (status = 200, description = "The blueprint", body = BlueprintSource),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
    ),
    security(("token" = []), ("session" = [])),
)]
async fn show_blueprint(
    State(app): State<App>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> Reply<BlueprintSource> {
    let id = slug(&id, "blueprint")?;
    let (info, _, source) = app
        .blueprints(&actor)
        .await?
        .into_iter()
        .find(|(info, _, _)| info.id == id.as_str())
        .ok_or_else(|| ApiError::not_found(format!("no blueprint `{id}`")))?;
    Ok(Json(BlueprintSource {
        blueprint: info.into(),
        source,
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct PlanBody {
    /// The subject's key.
    subject: String,
    /// `YYYY-MM-DD`.
    #[schema(format = Date)]
    exit_date: String,
}

/// Plan a case (dry run)
///
/// The tasks, due dates and findings a case for this subject would get; nothing is written.
#[utoipa::path(
    post,
    path = "/blueprints/{id}/plan",
    tag = "blueprints",
    params(("id" = String, Path, description = "The blueprint's id")),
    request_body = PlanBody,
    responses(
        (status = 200, description = "The plan", body = Plan),
        JsonWriteProblems,
        (status = 404, response = NotFound),
    ),
    security(("token" = []), ("session" = [], "csrf" = [])),
)]
async fn plan(
    State(app): State<App>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    Body(b): Body<PlanBody>,
) -> Reply<Plan> {
    let choice = BlueprintChoice::Id(slug(&id, "blueprint")?);
    let plan = app
        .plan(
            &actor,
            &choice,
            &field("subject", SubjectKey::parse(&b.subject))?,
            exit_date(&b.exit_date)?,
        )
        .await?;
    Ok(Json(plan.into()))
}

pub(crate) fn exit_date(text: &str) -> Result<Date, ApiError> {
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

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct HoldQuery {
    /// Only the holds that cover this subject: its own and the whole tenant's.
    subject: Option<String>,
}

/// List legal holds
///
/// Standing and lifted, newest first.
#[utoipa::path(
    get,
    path = "/legal-holds",
    tag = "governance",
    params(HoldQuery),
    responses(
        (status = 200, description = "The holds", body = [LegalHold]),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 422, response = UnprocessableContent),
    ),
    security(("token" = []), ("session" = [])),
)]
async fn list_holds(
    State(app): State<App>,
    Caller(actor): Caller,
    Params(q): Params<HoldQuery>,
) -> Reply<Vec<LegalHold>> {
    let subject = q
        .subject
        .as_deref()
        .map(|k| field("subject", SubjectKey::parse(k)))
        .transpose()?;
    Ok(Json(views::list(
        app.holds(&actor, subject.as_ref()).await?,
    )))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct NewHoldBody {
    /// The subject to hold; without one, the hold covers the whole tenant.
    subject: Option<String>,
    /// Why, for the record: a matter, a request, a ticket.
    #[schema(max_length = 2000)]
    reason: String,
}

/// Place a legal hold
///
/// Only the owner. While the hold stands, nothing it covers is purged.
#[utoipa::path(
    post,
    path = "/legal-holds",
    tag = "governance",
    request_body = NewHoldBody,
    responses(
        (status = 201, description = "The hold", body = LegalHold),
        JsonWriteProblems,
        (status = 404, response = NotFound),
    ),
    security(("token" = []), ("session" = [], "csrf" = [])),
)]
async fn place_hold(
    State(app): State<App>,
    Caller(actor): Caller,
    Body(b): Body<NewHoldBody>,
) -> Created<LegalHold> {
    let subject = b
        .subject
        .as_deref()
        .map(|k| field("subject", SubjectKey::parse(k)))
        .transpose()?;
    let reason = field("reason", Text::paragraph(&b.reason, app::HOLD_REASON_MAX))?;
    let hold = app.place_hold(&actor, subject.as_ref(), reason).await?;
    Ok((StatusCode::CREATED, Json(hold.into())))
}

/// Lift a legal hold
///
/// Only the owner, with a reason. The hold stays on record as lifted.
#[utoipa::path(
    post,
    path = "/legal-holds/{id}/lift",
    tag = "governance",
    params(("id" = uuid::Uuid, Path, description = "The hold's id")),
    request_body = ReasonBody,
    responses(
        (status = 200, description = "The hold, lifted", body = LegalHold),
        JsonWriteProblems,
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    ),
    security(("token" = []), ("session" = [], "csrf" = [])),
)]
async fn lift_hold(
    State(app): State<App>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    Body(b): Body<ReasonBody>,
) -> Reply<LegalHold> {
    let id = segment(&id, "legal hold", |v| v.parse::<uuid::Uuid>())?;
    let reason = field("reason", Text::paragraph(&b.reason, app::HOLD_REASON_MAX))?;
    let hold = app
        .lift_hold(&actor, engine::ids::HoldId(id), reason)
        .await?;
    Ok(Json(hold.into()))
}

/// Retention policies
///
/// The tenant's default period (no kind) and the periods of kinds that have their own.
#[utoipa::path(
    get,
    path = "/retention",
    tag = "governance",
    responses(
        (status = 200, description = "The policies", body = [RetentionPolicy]),
        (status = 401, response = Unauthorized),
    ),
    security(("token" = []), ("session" = [])),
)]
async fn list_retention(
    State(app): State<App>,
    Caller(actor): Caller,
) -> Reply<Vec<RetentionPolicy>> {
    Ok(Json(views::list(app.retention_policies(&actor).await?)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct RetentionBody {
    /// The kind this period is for; without one, the tenant's default.
    kind: Option<SubjectKind>,
    /// Years, months and days after completion, such as `7y`, `1y6m` or `90d`; `0` purges
    /// right after.
    #[schema(example = "7y")]
    period: String,
}

/// Set a retention period
///
/// Only the owner. Replaces the period of that kind (or the default).
#[utoipa::path(
    put,
    path = "/retention",
    tag = "governance",
    request_body = RetentionBody,
    responses(
        (status = 200, description = "The policy", body = RetentionPolicy),
        JsonWriteProblems,
    ),
    security(("token" = []), ("session" = [], "csrf" = [])),
)]
async fn set_retention(
    State(app): State<App>,
    Caller(actor): Caller,
    Body(b): Body<RetentionBody>,
) -> Reply<RetentionPolicy> {
    let period = field("period", Retention::parse(&b.period))?;
    let policy = app
        .set_retention(&actor, b.kind.map(Into::into), period)
        .await?;
    Ok(Json(policy.into()))
}
