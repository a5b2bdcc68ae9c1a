//! Exeunt's HTTP server: the JSON API under `/api/v1` and the health probes, on one port.
//!
//! Handlers parse their inputs into domain types, call one use case of `app`, and render the
//! result as JSON or the failure as a problem document (`error.rs`). They hold no business
//! rules of their own.

mod api;
mod error;
mod extract;

use std::future::Future;

use app::App;
use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::routing::get;
use store::{Store, Tx};
use tokio::net::TcpListener;

pub use error::ApiError;

/// The largest request body accepted.
pub const BODY_LIMIT: usize = 1024 * 1024;

pub fn router<S: Store>(app: App<S>) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(ready::<S>))
        .nest("/api/v1", api::routes::<S>())
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
        .with_state(app)
}

/// Ready when the database answers.
async fn ready<S: Store>(State(app): State<App<S>>) -> Result<&'static str, ApiError> {
    let mut tx = app.store().read().await.map_err(|e| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "not-ready",
            format!("the database does not answer: {e}"),
        )
    })?;
    tx.tenants().await.map_err(|e| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "not-ready",
            format!("the database does not answer: {e}"),
        )
    })?;
    Ok("ready")
}

/// Serves until `shutdown` completes, then finishes the requests under way.
pub async fn serve<S: Store>(
    app: App<S>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(app))
        .with_graceful_shutdown(shutdown)
        .await
}
