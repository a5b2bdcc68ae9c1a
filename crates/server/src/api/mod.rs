//! The JSON API under `/api/v1`, one module per area: subjects and records, blueprints, cases,
//! tasks, the pipeline (revocation, handoff, exports and their delivery), the audit log,
//! people (users, teams, tokens), governance (holds, retention), and automation (jobs,
//! connectors, webhooks, email settings).
//!
//! Every handler carries its OpenAPI description (`#[utoipa::path]`): the router below
//! registers a route only together with it. Reads accept an API token or a session cookie;
//! writes made with a cookie also need the session's CSRF header (`extract::authenticate`).

mod audit;
mod automation;
mod blueprints;
mod cases;
mod governance;
mod people;
mod pipeline;
mod subjects;
mod tasks;

use axum::Json;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;

use crate::ServerState;
use crate::error::ApiError;

type Reply<T> = Result<Json<T>, ApiError>;
type Created<T> = Result<(StatusCode, Json<T>), ApiError>;

pub fn routes() -> OpenApiRouter<ServerState> {
    OpenApiRouter::new()
        .merge(audit::routes())
        .merge(automation::routes())
        .merge(blueprints::routes())
        .merge(cases::routes())
        .merge(governance::routes())
        .merge(people::routes())
        .merge(pipeline::routes())
        .merge(subjects::routes())
        .merge(tasks::routes())
}

fn default_limit() -> i64 {
    100
}

/// The `status` query parameter, parsed by `parse`, or a 422 that lists the valid `names`.
pub(crate) fn status_param<T>(
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
/// A page's size and where it starts, `start` being the query parameter that says so
/// (`offset`, or `after` for a sequence number): refused by that name.
fn page(limit: i64, (start, at): (&str, i64)) -> Result<(i64, i64), ApiError> {
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::invalid("limit", "limit must be from 1 to 1000"));
    }
    if at < 0 {
        return Err(ApiError::invalid(
            start,
            format!("{start} must be 0 or more"),
        ));
    }
    Ok((limit, at))
}

/// The headers of a listing's page: when it is full, a `Link` to the next (RFC 8288), at
/// `target` (a path with its query).
fn next_page(full: bool, target: impl FnOnce() -> String) -> axum::http::HeaderMap {
    let mut headers = axum::http::HeaderMap::new();
    if full
        && let Ok(value) =
            axum::http::HeaderValue::from_str(&format!("<{}>; rel=\"next\"", target()))
    {
        headers.insert(axum::http::header::LINK, value);
    }
    headers
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ReasonBody {
    #[schema(max_length = 2000)]
    reason: String,
}
