//! Exeunt's HTTP server: the JSON API under `/api/v1`, its OpenAPI document and Swagger UI,
//! and the health probes, on one port.
//!
//! Handlers parse their inputs into domain types, call one use case of `app`, and render the
//! result as JSON or the failure as a problem document (`error.rs`). They hold no business
//! rules of their own.

mod api;
mod delivery;
mod docs;
mod error;
mod extract;
mod files;
mod i18n;
mod idempotency;
mod inputs;
mod observe;
mod reports;
mod session;
mod views;
mod web;

pub use docs::{
    CHOSEN_FIELDS, CHOSEN_PARAMETERS, Choice, FORMED_FIELDS, FORMED_PARAMETERS, Form,
    NUMBER_PARAMETER,
};

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use app::App;
use axum::extract::{DefaultBodyLimit, FromRef, State};
use axum::http::StatusCode;
use axum::middleware;
use axum::{Json, Router};
use tokio::net::TcpListener;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_swagger_ui::SwaggerUi;

use crate::docs::{ApiDoc, ServiceUnavailable};

/// The most a task completion's body may carry, whose evidence travels in it: base64 in the
/// API's JSON (4/3 of the files' size), or the page's multipart form.
pub(crate) const EVIDENCE_BODY_LIMIT: usize = 36 * 1024 * 1024;

pub use error::ApiError;
pub use extract::{CSRF_HEADER, SESSION_COOKIE};
pub use observe::REQUEST_ID;

/// What the handlers share: the application and cookie settings.
#[derive(Clone)]
pub struct ServerState {
    app: App,
    /// Mark cookies `Secure`: set when clients reach the server over TLS.
    secure_cookies: bool,
    /// The code the first-run page asks for before it sets an owner's first password.
    first_run_code: Option<Arc<str>>,
}

impl FromRef<ServerState> for App {
    fn from_ref(state: &ServerState) -> Self {
        state.app.clone()
    }
}

/// How the server runs.
#[derive(Clone, Debug, Default)]
pub struct ServerOptions {
    /// Clients reach the server over TLS (directly or through a proxy): cookies get `Secure`.
    pub secure_cookies: bool,
    /// Lets the first-run page set the first password of an owner who has none, for whoever
    /// brings this code. `exeunt serve` makes one and prints it where only the person who
    /// started the server sees it; without one the page only explains how to get in.
    pub first_run_code: Option<String>,
}

/// The largest request body accepted.
pub const BODY_LIMIT: usize = 1024 * 1024;

pub fn router(app: App, options: &ServerOptions) -> Router {
    // Install the recorder before the first request records anything.
    observe::metrics();
    let state = ServerState {
        app,
        secure_cookies: options.secure_cookies,
        first_run_code: options.first_run_code.as_deref().map(Arc::from),
    };
    let mut api = api::routes()
        .merge(session::routes())
        .merge(files::routes())
        .merge(reports::routes());
    idempotency::document(api.get_openapi_mut());
    docs::document_internal_errors(api.get_openapi_mut());
    docs::document_forms(api.get_openapi_mut());
    let api = api.layer(middleware::from_fn_with_state(
        state.clone(),
        idempotency::layer,
    ));
    let (routes, openapi) = OpenApiRouter::<ServerState>::with_openapi(ApiDoc::openapi())
        .routes(utoipa_axum::routes!(healthz))
        .routes(utoipa_axum::routes!(ready))
        .routes(utoipa_axum::routes!(render_metrics))
        .routes(utoipa_axum::routes!(jwks))
        .merge(delivery::routes())
        .nest("/api/v1", api)
        .split_for_parts();
    routes
        // The pages for people are not part of the API, nor of its document.
        .merge(web::routes())
        .merge(SwaggerUi::new(docs::SWAGGER_UI_PATH).url(docs::OPENAPI_PATH, openapi))
        // Only matched routes have a route template to log and count by.
        .route_layer(middleware::from_fn(observe::layer))
        .fallback(|| async { ApiError::not_found("no such resource") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method-not-allowed",
                "this resource does not accept that method",
            )
        })
        // Enforced by the body extractors, so an oversized body is a problem document too.
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(state)
}

/// Alive
///
/// Answers as long as the process serves requests, whatever the database does.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "operations",
    responses((status = 200, description = "`ok`", body = String, content_type = "text/plain")),
)]
async fn healthz() -> &'static str {
    "ok"
}

/// Prometheus metrics
///
/// Requests by method, route template and status, and their latency.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operations",
    responses(
        (status = 200, description = "The Prometheus text exposition", body = String,
            content_type = "text/plain"),
        (status = 503, response = ServiceUnavailable),
    ),
)]
async fn render_metrics() -> Result<String, ApiError> {
    observe::metrics()
        .map(|handle| handle.render())
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "no-metrics",
                "another metrics recorder owns this process",
            )
        })
}

/// Logs why the database takes no writes; tells the (unauthenticated) caller only that.
fn not_writable(e: &dyn std::fmt::Display) -> &'static str {
    tracing::warn!(error = %e, "not ready");
    "the database takes no writes (out of disk space, or read-only)"
}

/// Logs why the database does not answer; tells the (unauthenticated) caller only that.
fn not_ready(e: &dyn std::fmt::Display) -> &'static str {
    tracing::warn!(error = %e, "not ready");
    "the database does not answer"
}

/// Ready
///
/// Ready when the database answers and takes writes: after a write failed for want of
/// storage, not ready until a small write of its own goes through again.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "operations",
    responses(
        (status = 200, description = "`ready`", body = String, content_type = "text/plain"),
        (status = 503, response = ServiceUnavailable),
    ),
)]
async fn ready(State(app): State<App>) -> Result<&'static str, ApiError> {
    let mut tx =
        app.store().read().await.map_err(|e| {
            ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "not-ready", not_ready(&e))
        })?;
    tx.tenants()
        .await
        .map_err(|e| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "not-ready", not_ready(&e)))?;
    drop(tx);
    app.store().writable().await.map_err(|e| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "not-ready",
            not_writable(&e),
        )
    })?;
    Ok("ready")
}

/// The keys that verify certificates
///
/// Every tenant's Ed25519 public keys as a JWK set, each named by its thumbprint, which a
/// certificate's header names as `kid`. No authentication: verifying needs none.
#[utoipa::path(
    get,
    path = "/.well-known/jwks.json",
    tag = "certificates",
    responses(
        (status = 200, description = "The JWK set", body = views::Jwks,
            content_type = "application/jwk-set+json"),
    ),
)]
async fn jwks(
    State(app): State<App>,
) -> Result<
    (
        [(axum::http::header::HeaderName, &'static str); 1],
        Json<views::Jwks>,
    ),
    ApiError,
> {
    let keys = app.published_keys().await?;
    Ok((
        [(axum::http::header::CONTENT_TYPE, "application/jwk-set+json")],
        Json(keys.into()),
    ))
}

/// Serves until `shutdown` completes, then finishes the requests under way. Background work
/// (jobs, export builds, sweeps, purges) is `crates/worker`'s: `exeunt serve` runs a worker
/// beside this.
pub async fn serve(
    app: App,
    options: ServerOptions,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // The peer address feeds the per-address sign-in limit.
    let service = router(app, &options).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, service)
        .with_graceful_shutdown(shutdown)
        .await
}
