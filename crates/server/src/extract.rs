//! Extractors whose every rejection is a problem document naming the input at fault.

use app::{Actor, App};
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::{AUTHORIZATION, COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode};
use engine::ids::TokenId;
use engine::tenant::Session;
use serde::de::DeserializeOwned;

use crate::ServerState;
use crate::error::ApiError;

/// The cookie that carries a browser session.
pub const SESSION_COOKIE: &str = "exeunt_session";
/// The header a cookie-authenticated write must carry, with the session's CSRF token.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// Who is calling: the user behind a bearer token (with the token's role) or a session cookie.
pub struct Caller(pub Actor);

/// A caller signed in with a session cookie (signing out and changing a password need one).
pub struct SessionCaller {
    pub actor: Actor,
    pub session: Session,
}

/// Finds the caller. A cookie-authenticated request that could change something must also
/// send the session's CSRF token: a cross-site form can send the cookie, not the header.
pub async fn authenticate(parts: &Parts, app: &App) -> Result<(Actor, Credential), ApiError> {
    let headers = &parts.headers;
    if let Some(value) = headers.get(AUTHORIZATION) {
        let token = value
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or_else(ApiError::unauthorized)?;
        return match app.authenticate(token.trim()).await? {
            Some((actor, token)) => Ok((actor, Credential::Token(token))),
            None => Err(ApiError::unauthorized()),
        };
    }
    let secret = cookie(headers, SESSION_COOKIE).ok_or_else(ApiError::unauthorized)?;
    let (actor, session) = app
        .session_actor(secret)
        .await?
        .ok_or_else(ApiError::unauthorized)?;
    let safe = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
    let csrf_ok = headers
        .get(CSRF_HEADER)
        .is_some_and(|v| same_secret(v.as_bytes(), session.csrf_token.as_bytes()));
    if !safe && !csrf_ok {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "csrf",
            format!("send the session's CSRF token in the {CSRF_HEADER} header"),
        ));
    }
    Ok((actor, Credential::Session(session)))
}

/// The value of the cookie `name`, if the request carries it.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| pair.trim().strip_prefix(name)?.strip_prefix('='))
}

/// The credential a caller used.
pub enum Credential {
    Token(TokenId),
    Session(Session),
}

impl Credential {
    /// A stable name for the credential, which scopes idempotency keys.
    pub fn scope(&self) -> String {
        match self {
            Credential::Token(id) => format!("token:{id}"),
            Credential::Session(session) => format!("session:{}", session.id),
        }
    }
}

/// Compares two secrets in time that does not depend on where they differ.
pub fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl FromRequestParts<ServerState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &ServerState,
    ) -> Result<Self, Self::Rejection> {
        let (actor, _) = authenticate(parts, &state.app).await?;
        Ok(Caller(actor))
    }
}

impl FromRequestParts<ServerState> for SessionCaller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &ServerState,
    ) -> Result<Self, Self::Rejection> {
        match authenticate(parts, &state.app).await? {
            (actor, Credential::Session(session)) => Ok(SessionCaller { actor, session }),
            (_, Credential::Token(_)) => Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "session-required",
                "this needs a signed-in session, not an API token",
            )),
        }
    }
}

/// A JSON body; unknown fields are refused by the request types themselves.
pub struct Body<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(Body(value)),
            Err(rejection) => Err(json_problem(&rejection)),
        }
    }
}

fn json_problem(rejection: &JsonRejection) -> ApiError {
    let status = rejection.status();
    let kind = match rejection {
        JsonRejection::JsonDataError(_) => "invalid-input",
        JsonRejection::JsonSyntaxError(_) => "malformed-json",
        JsonRejection::MissingJsonContentType(_) => "unsupported-media-type",
        _ => "unreadable-body",
    };
    ApiError::new(status, kind, rejection.body_text()).field(body_field(rejection))
}

/// The field of a JSON body at fault, as a path (`settings.url`, `evidence[0].file_name`):
/// where deserializing stopped, and the field there that was unknown or missing; `body` when
/// the body as a whole is wrong.
fn body_field(rejection: &JsonRejection) -> String {
    let mut source = std::error::Error::source(rejection);
    while let Some(error) = source {
        if let Some(e) = error.downcast_ref::<serde_path_to_error::Error<serde_json::Error>>() {
            let at = e.path().to_string();
            let inner = e.inner().to_string();
            let named = engine::fields::field_named_in(&inner);
            // An unknown field is in the path already; a missing one is not.
            return match (at.as_str(), named) {
                (".", None) => "body".to_owned(),
                (".", Some(field)) => field.to_owned(),
                (path, Some(field)) if !path.ends_with(field) => format!("{path}.{field}"),
                (path, _) => path.to_owned(),
            };
        }
        source = error.source();
    }
    "body".to_owned()
}

/// A body taken as it is (a file's bytes), refused as a problem document when it is larger
/// than the route allows.
pub struct RawBody(pub axum::body::Bytes);

impl<S: Send + Sync> FromRequest<S> for RawBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::body::Bytes::from_request(req, state).await {
            Ok(bytes) => Ok(RawBody(bytes)),
            Err(rejection) => {
                Err(
                    ApiError::new(rejection.status(), "unreadable-body", rejection.body_text())
                        .field("body"),
                )
            }
        }
    }
}

/// Query-string parameters.
pub struct Params<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Params<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(Params(value)),
            Err(rejection) => Err(query_problem(&rejection)),
        }
    }
}

fn query_problem(rejection: &QueryRejection) -> ApiError {
    ApiError::new(rejection.status(), "invalid-input", rejection.body_text()).field("query")
}

/// The route's path parameters, as text; handlers parse them with [`segment`]. A segment that
/// is not UTF-8 once percent-decoded gets a problem document rather than axum's plain text.
pub struct Path<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for Path<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(Path(value)),
            Err(rejection) => {
                Err(
                    ApiError::new(rejection.status(), "invalid-input", rejection.body_text())
                        .field("path"),
                )
            }
        }
    }
}

/// Parses a path segment into a domain type, or answers 404 naming the segment: a malformed
/// id names nothing that exists.
pub fn segment<T, E: std::fmt::Display>(
    value: &str,
    what: &str,
    parse: impl FnOnce(&str) -> Result<T, E>,
) -> Result<T, ApiError> {
    parse(value).map_err(|e| ApiError::not_found(format!("no {what} `{value}`: {e}")))
}
