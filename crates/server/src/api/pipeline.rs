//! The pipeline of a case: access revocation, handoff of live work, and the export with its delivery to the departing client.

use app::App;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use engine::fields::RevocationNote;
use engine::ids::Email;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::ServerState;
use crate::docs::{BadRequest, Conflict, JsonWriteProblems, NotFound, Unauthorized};
use crate::error::ApiError;
use crate::extract::{Body, Caller, Path, segment};
use crate::views::{self, Record};

use super::{Created, ReasonBody, Reply};
use crate::inputs::{case_number, field, reason};

pub(super) fn routes() -> OpenApiRouter<ServerState> {
    OpenApiRouter::new()
        .routes(routes!(list_exports, request_export))
        .routes(routes!(issue_receive_link))
        .routes(routes!(waive_acknowledgement))
        .routes(routes!(list_revocations))
        .routes(routes!(set_revocation))
        .routes(routes!(hand_off))
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
    let reason = reason(&b.reason)?;
    let export = app
        .waive_acknowledgement(&actor, case_number(&n)?, reason)
        .await?;
    Ok(Json(export.into()))
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
        .map(|n| field("note", RevocationNote::parse_optional(&n)))
        .transpose()?
        .flatten();
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
