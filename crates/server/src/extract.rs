//! Extractors whose every rejection is a problem document naming the input at fault.

use app::{Actor, App};
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use store::Store;

use crate::error::ApiError;

/// Who is calling: the user behind the bearer token, with the token's role.
pub struct Caller(pub Actor);

impl<S: Store> FromRequestParts<App<S>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &App<S>) -> Result<Self, Self::Rejection> {
        let token = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or_else(ApiError::unauthorized)?;
        match app.authenticate(token.trim()).await? {
            Some(actor) => Ok(Caller(actor)),
            None => Err(ApiError::unauthorized()),
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
    ApiError::new(status, kind, rejection.body_text()).field("body")
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

/// Parses a path segment into a domain type, or answers 404 naming the segment: a malformed
/// id names nothing that exists.
pub fn segment<T, E: std::fmt::Display>(
    value: &str,
    what: &str,
    parse: impl FnOnce(&str) -> Result<T, E>,
) -> Result<T, ApiError> {
    parse(value).map_err(|e| ApiError::not_found(format!("no {what} `{value}`: {e}")))
}
