//! `Idempotency-Key` on POST: a retried request gets the stored response and changes nothing
//! twice.

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use store::{Answered, IdempotencyClaim};
use utoipa::ToResponse;
use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
use utoipa::openapi::{ObjectBuilder, OpenApi, Ref, Required, Type};

use crate::ServerState;
use crate::docs::{Conflict, PayloadTooLarge, UnprocessableContent};
use crate::error::ApiError;
use crate::extract::authenticate;

pub const HEADER: &str = "idempotency-key";
/// Marks a response that was stored and replayed.
pub const REPLAYED: &str = "idempotent-replayed";
/// The largest body buffered for a key: the largest any route accepts.
const MAX_BODY: usize = crate::EVIDENCE_BODY_LIMIT;

/// Responses that carry secrets (a token, a session) are never stored.
fn keeps_responses(path: &str) -> bool {
    !(path.ends_with("/tokens") || path.ends_with("/session"))
}

/// Documents the header on every POST whose response this layer keeps: the layer, not each
/// handler, is what reads it. It adds the answers the layer gives of its own: a key still
/// running (409), a body too large to buffer (413), a key reused for another request or not
/// plain ASCII (422).
pub fn document(openapi: &mut OpenApi) {
    let key = ParameterBuilder::new()
        .name("Idempotency-Key")
        .parameter_in(ParameterIn::Header)
        .required(Required::False)
        .description(Some(format!(
            "Makes a retry safe: a request with a key this credential used in the last {} hours \
             is not run again but answered with the stored response, marked `{REPLAYED}: true`.",
            app::IDEMPOTENCY_WINDOW.as_hours()
        )))
        .schema(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .min_length(Some(1))
                .max_length(Some(255))
                .pattern(Some("^[!-~]+$")),
        ))
        .build();
    for (path, item) in &mut openapi.paths.paths {
        let Some(operation) = item.post.as_mut().filter(|_| keeps_responses(path)) else {
            continue;
        };
        operation
            .parameters
            .get_or_insert_with(Vec::new)
            .push(key.clone().into());
        let responses = &mut operation.responses.responses;
        for (status, name) in [
            ("409", Conflict::response().0),
            ("413", PayloadTooLarge::response().0),
            ("422", UnprocessableContent::response().0),
        ] {
            responses
                .entry(status.to_owned())
                .or_insert_with(|| Ref::from_response_name(name).into());
        }
    }
}

pub async fn layer(State(state): State<ServerState>, request: Request, next: Next) -> Response {
    if request.method() != axum::http::Method::POST {
        return next.run(request).await;
    }
    let Some(key) = request
        .headers()
        .get(HEADER)
        .map(|v| v.to_str().map(str::to_owned))
    else {
        return next.run(request).await;
    };
    let Ok(key) = key else {
        return ApiError::invalid(
            "Idempotency-Key",
            "the Idempotency-Key header must be visible ASCII",
        )
        .into_response();
    };
    let (parts, body) = request.into_parts();
    // Keys belong to the caller; an unauthenticated request is answered by its handler.
    let path = parts.uri.path();
    if !keeps_responses(path) {
        return next.run(Request::from_parts(parts, body)).await;
    }
    let Ok((actor, credential)) = authenticate(&parts, &state.app).await else {
        return next.run(Request::from_parts(parts, body)).await;
    };
    let scope = credential.scope();
    // Buffer no more than the route itself accepts.
    let limit = if path.ends_with("/complete") {
        MAX_BODY
    } else {
        crate::BODY_LIMIT
    };
    let Ok(bytes) = to_bytes(body, limit).await else {
        return ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "unreadable-body",
            "the request body is too large",
        )
        .into_response();
    };
    let mut digest = Sha256::new();
    digest.update(parts.method.as_str());
    digest.update([0]);
    digest.update(parts.uri.to_string());
    digest.update([0]);
    digest.update(&bytes);
    let request_sha256: [u8; 32] = digest.finalize().into();

    match state
        .app
        .claim_idempotency_key(&actor, &scope, &key, &request_sha256)
        .await
    {
        Err(e) => ApiError::from(e).into_response(),
        Ok(IdempotencyClaim::Replay {
            status,
            content_type,
            body,
        }) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
            let mut response = (status, body).into_response();
            if let Ok(value) = HeaderValue::from_str(&content_type) {
                response.headers_mut().insert(header::CONTENT_TYPE, value);
            }
            response
                .headers_mut()
                .insert(REPLAYED, HeaderValue::from_static("true"));
            response
        }
        Ok(IdempotencyClaim::InProgress) => in_progress(),
        Ok(IdempotencyClaim::Unanswered) => ApiError::new(
            StatusCode::CONFLICT,
            "idempotency-answer-lost",
            "this request took effect, but the server stopped before its answer was stored; \
             it will not run again: look up what it changed",
        )
        .into_response(),
        Ok(IdempotencyClaim::Mismatch) => ApiError::invalid(
            "Idempotency-Key",
            "this Idempotency-Key was used for a different request",
        )
        .into_response(),
        Ok(IdempotencyClaim::Claimed(answering)) => {
            let route = parts.uri.path().to_owned();
            let request = Request::from_parts(parts, Body::from(bytes));
            let response = answering.run(next.run(request)).await;
            let (parts, body) = response.into_parts();
            let Ok(body) = to_bytes(body, MAX_BODY).await else {
                let _ = answering.answer(None).await;
                return crate::error::internal(&"a response body could not be read")
                    .into_response();
            };
            let content_type = parts
                .headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned();
            let keep = definitive(parts.status).then_some((
                parts.status.as_u16(),
                content_type.as_str(),
                body.as_ref(),
            ));
            // Every route writes in one transaction, last; one that does not loses the
            // guarantee for the writes before its last (debug builds, the tests', stop here).
            if answering.committed_early() {
                tracing::warn!(
                    route = %route,
                    "a keyed request went on after a write, which committed before its answer"
                );
            }
            debug_assert!(
                !answering.committed_early(),
                "{route} committed a write before its answer"
            );
            // The request's writes commit here, with the answer, or not at all.
            match answering.answer(keep).await {
                Ok(Answered::Kept | Answered::Released) => {
                    Response::from_parts(parts, Body::from(body))
                }
                Ok(Answered::TakenOver) => in_progress(),
                Err(e) => ApiError::from(app::AppError::from(e)).into_response(),
            }
        }
    }
}

/// An answer a resend should get again. A failure of ours, a conflict, a timeout or a rate
/// limit may clear on a retry, so the request runs again instead.
fn definitive(status: StatusCode) -> bool {
    !(status.is_server_error()
        || matches!(
            status,
            StatusCode::REQUEST_TIMEOUT
                | StatusCode::CONFLICT
                | StatusCode::TOO_EARLY
                | StatusCode::TOO_MANY_REQUESTS
        ))
}

fn in_progress() -> Response {
    ApiError::new(
        StatusCode::CONFLICT,
        "idempotency-in-progress",
        "a request with this Idempotency-Key is still running; retry shortly",
    )
    .into_response()
}
