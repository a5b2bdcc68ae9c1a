//! Password sign-in for people in a browser, who get a session cookie instead of an API token:
//! the cookie is `HttpOnly`, and the CSRF token returned at sign-in must accompany their writes
//! (`extract::authenticate`). Also signing out, `me`, changing the password and the time zone.

use std::net::SocketAddr;

use app::App;
use axum::Json;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use engine::ids::{Email, Password, Slug, ZoneName};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;

use crate::ServerState;
use crate::docs::{
    BadRequest, Conflict, Forbidden, JsonWriteProblems, PayloadTooLarge, Unauthorized,
    UnprocessableContent, UnsupportedMediaType,
};
use crate::error::ApiError;
use crate::extract::{Body, Caller, SESSION_COOKIE, SessionCaller};
use crate::views::{Me, PasswordChanged, SignedIn, User};

pub fn routes() -> OpenApiRouter<ServerState> {
    OpenApiRouter::new()
        .routes(utoipa_axum::routes!(sign_in, sign_out))
        .routes(utoipa_axum::routes!(me))
        .routes(utoipa_axum::routes!(change_password))
        .routes(utoipa_axum::routes!(set_time_zone))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct SignInBody {
    /// The tenant's slug; needed only when the installation has several tenants.
    tenant: Option<String>,
    email: String,
    #[schema(format = Password)]
    password: String,
}

fn cookie(value: &str, max_age: i64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let text = format!(
        "{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}"
    );
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// Sign in with a password
///
/// Sets the session cookie and answers with the CSRF token that the session's writes must
/// send. A wrong email or password is a 422 naming `credentials`, the same whichever was wrong.
/// Failed attempts are limited per account and per client address. Idempotency keys are
/// ignored here, so that no session is ever stored.
#[utoipa::path(
    post,
    path = "/session",
    tag = "session",
    request_body = SignInBody,
    responses(
        (status = 200, description = "Signed in", body = SignedIn,
            headers(("Set-Cookie" = String, description = "The session cookie, `HttpOnly`"))),
        (status = 400, response = BadRequest),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = UnprocessableContent),
        (status = 429, description = "Too many failed sign-ins", body = ApiError,
            content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    ),
)]
async fn sign_in(
    State(state): State<ServerState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Body(b): Body<SignInBody>,
) -> Result<Response, ApiError> {
    let (actor, issued) =
        match limited_sign_in(&state, peer, b.tenant.as_deref(), &b.email, &b.password).await {
            Ok(signed_in) => signed_in,
            Err(refused) => return Ok(refused.into_response()),
        };
    let body = SignedIn {
        user: actor.user.into(),
        tenant: actor.tenant.into(),
        csrf_token: issued.session.csrf_token,
        expires_at: issued.session.expires_at,
    };
    let mut response = (StatusCode::OK, Json(body)).into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, session_cookie(&state, &issued.secret));
    Ok(response)
}

/// Why a sign-in was refused: as a problem, and for too many failures, how long to wait.
pub struct SignInRefused {
    pub problem: Box<ApiError>,
    pub retry_after: Option<u64>,
}

impl IntoResponse for SignInRefused {
    fn into_response(self) -> Response {
        let mut response = (*self.problem).into_response();
        if let Some(wait) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(wait));
        }
        response
    }
}

/// Checks an email and password for the API and the sign-in page alike, with failed attempts
/// limited per account and per client address.
pub async fn limited_sign_in(
    state: &ServerState,
    peer: SocketAddr,
    tenant: Option<&str>,
    email: &str,
    password: &str,
) -> Result<(app::Actor, app::IssuedSession), SignInRefused> {
    let refused = |problem: ApiError| SignInRefused {
        problem: Box::new(problem),
        retry_after: None,
    };
    let email =
        Email::parse(email).map_err(|e| refused(ApiError::invalid("email", e.to_string())))?;
    let slug = tenant
        .map(|t| {
            Slug::parse(t).map_err(|e| refused(ApiError::invalid("tenant", format!("tenant {e}"))))
        })
        .transpose()?;
    // The attempt counts as failed until it succeeds, so that parallel attempts cannot all
    // slip under the limit while their passwords are being checked.
    let attempt = match state
        .app
        .begin_sign_in(slug.as_ref(), &email, &peer.ip().to_string())
        .await
        .map_err(|e| refused(e.into()))?
    {
        Ok(attempt) => attempt,
        Err(wait) => {
            return Err(SignInRefused {
                problem: Box::new(ApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "too-many-attempts",
                    "too many failed sign-ins; wait before trying again",
                )),
                retry_after: Some(wait.as_secs().max(1)),
            });
        }
    };
    let signed_in = state
        .app
        .finish_sign_in(attempt, slug.as_ref(), &email, password)
        .await
        .map_err(|e| refused(e.into()))?;
    Ok(signed_in)
}

/// The session cookie carrying `secret`, for the session's lifetime.
pub fn session_cookie(state: &ServerState, secret: &str) -> HeaderValue {
    cookie(
        secret,
        app::SESSION_LIFETIME.as_secs(),
        state.secure_cookies,
    )
}

/// The header that clears the session cookie.
pub fn clear_session_cookie(state: &ServerState) -> HeaderValue {
    cookie("", 0, state.secure_cookies)
}

/// Sign out
///
/// Ends the session and clears its cookie.
#[utoipa::path(
    delete,
    path = "/session",
    tag = "session",
    responses(
        (status = 204, description = "Signed out",
            headers(("Set-Cookie" = String, description = "Clears the session cookie"))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
    ),
    security(("session" = [], "csrf" = [])),
)]
async fn sign_out(
    State(state): State<ServerState>,
    caller: SessionCaller,
) -> Result<Response, ApiError> {
    state.app.sign_out(&caller.actor, caller.session.id).await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, clear_session_cookie(&state));
    Ok(response)
}

/// Who is calling
#[utoipa::path(
    get,
    path = "/me",
    tag = "session",
    responses(
        (status = 200, description = "The caller and their tenant", body = Me),
        (status = 401, response = Unauthorized),
    ),
    security(("token" = []), ("session" = [])),
)]
async fn me(Caller(actor): Caller) -> Json<Me> {
    Json(Me {
        user: actor.user.into(),
        tenant: actor.tenant.into(),
    })
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct PasswordBody {
    #[schema(format = Password)]
    current_password: String,
    /// 12 to 1,024 characters.
    #[schema(format = Password, min_length = 12, max_length = 1024)]
    new_password: String,
}

/// Change the password
///
/// Needs a signed-in session (not an API token) and the current password; signs out the
/// user's other sessions.
#[utoipa::path(
    post,
    path = "/me/password",
    tag = "session",
    request_body = PasswordBody,
    responses(
        (status = 200, description = "The password was changed", body = PasswordChanged),
        JsonWriteProblems,
        (status = 409, response = Conflict),
    ),
    security(("session" = [], "csrf" = [])),
)]
async fn change_password(
    State(app): State<App>,
    caller: SessionCaller,
    Body(b): Body<PasswordBody>,
) -> Result<Json<PasswordChanged>, ApiError> {
    let new = Password::parse(&b.new_password)
        .map_err(|e| ApiError::invalid("new_password", format!("new_password {e}")))?;
    let revoked = app
        .change_password(
            &caller.actor,
            Some(caller.session.id),
            &b.current_password,
            &new,
        )
        .await?;
    Ok(Json(PasswordChanged {
        other_sessions_revoked: revoked,
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct TimeZoneBody {
    /// An IANA time zone name.
    #[schema(example = "Europe/Berlin")]
    pub(crate) time_zone: String,
}

/// Set your time zone
///
/// Anyone, for themselves: their daily digest comes at 07:00 in this zone, and reminders and
/// the Offboarding Center show times in it.
#[utoipa::path(
    put,
    path = "/me/time-zone",
    tag = "session",
    request_body = TimeZoneBody,
    responses(
        (status = 200, description = "The caller, as they are now", body = User),
        JsonWriteProblems,
    ),
    security(("token" = []), ("session" = [], "csrf" = [])),
)]
async fn set_time_zone(
    State(app): State<App>,
    Caller(actor): Caller,
    Body(b): Body<TimeZoneBody>,
) -> Result<Json<User>, ApiError> {
    let zone = ZoneName::parse(&b.time_zone)
        .map_err(|e| ApiError::invalid("time_zone", format!("time_zone {e}")))?;
    Ok(Json(app.set_time_zone(&actor, zone).await?.into()))
}
