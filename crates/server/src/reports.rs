//! Reports over HTTP: the case list and a case's tasks as CSV, for a spreadsheet. The case
//! list streams a page of cases at a time.

use app::{App, CasesReport};
use axum::body::Body as HttpBody;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::ServerState;
use crate::docs::{BadRequest, NotFound, Unauthorized, UnprocessableContent};
use crate::error::ApiError;
use crate::extract::{Caller, Params, Path};
use crate::files::content_disposition;
use crate::inputs::case_number;

pub fn routes() -> OpenApiRouter<ServerState> {
    OpenApiRouter::new()
        .routes(routes!(cases_report))
        .routes(routes!(tasks_report))
}

/// A CSV download's headers.
fn csv_headers(file_name: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    if let Ok(value) = HeaderValue::from_str(&content_disposition(file_name)) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    headers
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ReportQuery {
    /// Only cases in this status, as the case list filters them.
    #[param(value_type = Option<crate::views::CaseStatus>, inline)]
    status: Option<String>,
}

/// The case list as CSV
///
/// Every case the list shows with the same filter, newest first: UTF-8 with a byte order mark,
/// every cell quoted, instants in ISO 8601, and a cell a spreadsheet would run as a formula
/// (one starting with `=`, `+`, `-` or `@`) set as text with a leading `'`. It streams, a
/// page of cases at a time.
#[utoipa::path(
    get,
    path = "/reports/cases.csv",
    tag = "cases",
    params(ReportQuery),
    responses(
        (status = 200, description = "The cases", body = String, content_type = "text/csv"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 422, response = UnprocessableContent),
    ),
    security(("token" = []), ("session" = [])),
)]
async fn cases_report(
    State(app): State<App>,
    Caller(actor): Caller,
    Params(q): Params<ReportQuery>,
) -> Result<Response, ApiError> {
    let status = crate::api::status_param(
        q.status.as_deref(),
        engine::case::CaseStatus::parse,
        engine::case::CaseStatus::NAMES,
    )?;
    let mut report = app.cases_report(&actor, status);
    // The first piece is read before the answer starts, so that what fails at once (the
    // database) is a problem answer, not a download cut short.
    let first = report.next_piece().await?;
    let pieces = futures_util::stream::try_unfold(
        (first, report),
        |(ready, mut report): (Option<Vec<u8>>, CasesReport)| async move {
            let piece = match ready {
                Some(piece) => Some(piece),
                None => report.next_piece().await.map_err(|e| {
                    tracing::error!(error = %e, "a report failed midway");
                    std::io::Error::other("the report could not be read")
                })?,
            };
            Ok::<_, std::io::Error>(piece.map(|p| (p, (None, report))))
        },
    );
    Ok((csv_headers("cases.csv"), HttpBody::from_stream(pieces)).into_response())
}

/// A case's tasks as CSV
///
/// Its tasks as the case file keeps them, in the CSV the case list's report uses.
#[utoipa::path(
    get,
    path = "/cases/{number}/tasks.csv",
    tag = "cases",
    params(("number" = i64, Path, description = "The case number")),
    responses(
        (status = 200, description = "The tasks", body = String, content_type = "text/csv"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
    ),
    security(("token" = []), ("session" = [])),
)]
async fn tasks_report(
    State(app): State<App>,
    Caller(actor): Caller,
    Path(n): Path<String>,
) -> Result<Response, ApiError> {
    let number = case_number(&n)?;
    let csv = app.tasks_report(&actor, number).await?;
    Ok((csv_headers(&format!("case-{number}-tasks.csv")), csv).into_response())
}
