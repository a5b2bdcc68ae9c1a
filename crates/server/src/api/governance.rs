//! Legal holds and retention policies.

use app::App;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use engine::governance::Retention;
use engine::ids::SubjectKey;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::ServerState;
use crate::docs::{
    BadRequest, Conflict, JsonWriteProblems, NotFound, Unauthorized, UnprocessableContent,
};
use crate::extract::{Body, Caller, Params, Path, segment};
use crate::views::{self, LegalHold, RetentionPolicy, SubjectKind};

use super::{Created, ReasonBody, Reply};
use crate::inputs::{field, reason};

pub(super) fn routes() -> OpenApiRouter<ServerState> {
    OpenApiRouter::new()
        .routes(routes!(list_holds, place_hold))
        .routes(routes!(lift_hold))
        .routes(routes!(list_retention, set_retention))
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
    let reason = reason(&b.reason)?;
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
    let reason = reason(&b.reason)?;
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
