//! The tenant's people: users, teams, API tokens, and the time zone new people start in.

use app::App;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use engine::fields::{PersonName, TokenName};
use engine::ids::{Email, Slug, ZoneName};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::ServerState;
use crate::docs::{BadRequest, Conflict, Forbidden, JsonWriteProblems, NotFound, Unauthorized};
use crate::extract::{Body, Caller, Path, segment};
use crate::session::TimeZoneBody;
use crate::views::{self, ApiToken, IssuedToken, Revoked, Role, Team, Tenant, User};

use super::{Created, Reply};
use crate::inputs::field;

pub(super) fn routes() -> OpenApiRouter<ServerState> {
    OpenApiRouter::new()
        .routes(routes!(list_users, add_user))
        .routes(routes!(set_tenant_time_zone))
        .routes(routes!(list_teams))
        .routes(routes!(list_tokens, issue_token))
        .routes(routes!(revoke_token))
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
            field("name", PersonName::parse(&b.name))?,
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
            field("name", TokenName::parse(&b.name))?,
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
