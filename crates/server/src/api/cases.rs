//! Cases: list, start, show, precheck, close, cancel, waive a finding, and the certificate.

use app::{App, BlueprintChoice, StartCase};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use engine::ids::{Email, Slug, SubjectKey};
use serde::Deserialize;
use store::CaseFilter;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::ServerState;
use crate::docs::{
    BadRequest, Conflict, Forbidden, JsonWriteProblems, NotFound, Unauthorized,
    UnprocessableContent,
};
use crate::error::ApiError;
use crate::extract::{Body, Caller, Params, Path};
use crate::views::{
    self, Case, CaseDetail, CaseFinding, CaseStatus, CaseSummary, StartedCase, Waived,
};

use super::{Created, ReasonBody, Reply, default_limit, next_page, page, status_param};
use crate::inputs::{case_number, exit_date, field, reason, slug};

pub(super) fn routes() -> OpenApiRouter<ServerState> {
    OpenApiRouter::new()
        .routes(routes!(list_cases, start_case))
        .routes(routes!(show_case))
        .routes(routes!(precheck))
        .routes(routes!(close_case))
        .routes(routes!(cancel_case))
        .routes(routes!(waive_finding))
        .routes(routes!(show_certificate))
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
    /// Only cases numbered below this. The next page starts below the last case of this one
    /// (the `Link` header with `rel="next"` names it); unlike `offset`, it costs the same on
    /// any page.
    #[param(minimum = 1)]
    before: Option<i64>,
}

/// List cases
#[utoipa::path(
    get,
    path = "/cases",
    tag = "cases",
    params(CaseQuery),
    responses(
        (status = 200, description = "The cases, newest first", body = [CaseSummary],
            headers(("Link" = String, description = "`<…?before=N…>; rel=\"next\"` when the page is full"))),
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
) -> Result<(HeaderMap, Json<Vec<CaseSummary>>), ApiError> {
    let (limit, offset) = page(q.limit, ("offset", q.offset))?;
    let status = status_param(
        q.status.as_deref(),
        engine::case::CaseStatus::parse,
        engine::case::CaseStatus::NAMES,
    )?;
    if q.before.is_some_and(|n| n < 1) {
        return Err(ApiError::invalid("before", "before must be 1 or more"));
    }
    let filter = CaseFilter {
        status,
        limit,
        offset,
        before: q.before,
        ..CaseFilter::default()
    };
    let cases = app.cases(&actor, &filter).await?;
    let headers = next_page(cases.len() as i64 == limit, || {
        let last = cases.last().map_or(0, |c| c.number);
        let status = status.map_or(String::new(), |s| format!("&status={}", s.as_str()));
        format!("/api/v1/cases?before={last}&limit={limit}{status}")
    });
    Ok((headers, Json(views::list(cases))))
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
    /// For an organization, its key again: its case starts one for every active client.
    confirmation: Option<String>,
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
        confirmation: b.confirmation,
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
