//! Exeunt's HTTP server: the JSON API under `/api/v1` and the health probes, on one port.
//!
//! Handlers parse their inputs into domain types, call one use case of `app`, and render the
//! result as JSON or the failure as a problem document (`error.rs`). They hold no business
//! rules of their own.

mod api;
mod error;
mod extract;
mod idempotency;
mod limit;
mod observe;
mod session;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use app::App;
use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRef, State};
use axum::http::StatusCode;
use axum::middleware;
use axum::routing::get;
use store::{Store, Tx};
use tokio::net::TcpListener;

pub use error::ApiError;
pub use extract::{CSRF_HEADER, SESSION_COOKIE};
pub use observe::REQUEST_ID;

/// What the handlers share: the application, the sign-in limiter and cookie settings.
#[derive(Clone)]
pub struct ServerState<S> {
    app: App<S>,
    limiter: Arc<limit::SignInLimiter>,
    /// Mark cookies `Secure`: set when clients reach the server over TLS.
    secure_cookies: bool,
}

impl<S: Clone> FromRef<ServerState<S>> for App<S> {
    fn from_ref(state: &ServerState<S>) -> Self {
        state.app.clone()
    }
}

/// How the server runs.
#[derive(Clone, Debug, Default)]
pub struct ServerOptions {
    /// Clients reach the server over TLS (directly or through a proxy): cookies get `Secure`.
    pub secure_cookies: bool,
}

/// The largest request body accepted.
pub const BODY_LIMIT: usize = 1024 * 1024;

pub fn router<S: Store>(app: App<S>, options: &ServerOptions) -> Router {
    // Install the recorder before the first request records anything.
    observe::metrics();
    let state = ServerState {
        app,
        limiter: Arc::new(limit::SignInLimiter::default()),
        secure_cookies: options.secure_cookies,
    };
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(ready::<S>))
        .route("/metrics", get(render_metrics))
        .nest(
            "/api/v1",
            api::routes::<S>()
                .merge(session::routes::<S>())
                .layer(middleware::from_fn_with_state(
                    state.clone(),
                    idempotency::layer::<S>,
                )),
        )
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

/// Prometheus text exposition of the process's metrics.
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

/// Logs why the database does not answer; tells the (unauthenticated) caller only that.
fn not_ready(e: &dyn std::fmt::Display) -> &'static str {
    tracing::warn!(error = %e, "not ready");
    "the database does not answer"
}

/// Ready when the database answers.
async fn ready<S: Store>(State(app): State<App<S>>) -> Result<&'static str, ApiError> {
    let mut tx =
        app.store().read().await.map_err(|e| {
            ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "not-ready", not_ready(&e))
        })?;
    tx.tenants()
        .await
        .map_err(|e| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "not-ready", not_ready(&e)))?;
    Ok("ready")
}

/// Serves until `shutdown` completes, then finishes the requests under way.
pub async fn serve<S: Store>(
    app: App<S>,
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
