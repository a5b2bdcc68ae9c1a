//! Request ids, one structured log line per request, and Prometheus metrics.
//!
//! The log line carries the method, the route template, the status, the latency and the
//! request id: never headers or bodies, which is where passwords and tokens travel.

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tracing::Instrument;

/// The header that carries a request's id, in both directions.
pub const REQUEST_ID: &str = "x-request-id";

static METRICS: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// The buckets, in seconds, of each histogram Exeunt records. Histograms rather than
/// summaries: a bucket's count can be summed across servers and over any window, where a
/// summary's quantiles are one process's, and fall to 0 a minute after its last observation.
const BUCKETS: [(&str, &[f64]); 3] = [
    (
        "exeunt_http_request_duration_seconds",
        &[
            0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
        ],
    ),
    (
        "exeunt_job_seconds",
        &[0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0],
    ),
    // From an exit taking effect to the access verified gone: minutes to days.
    (
        "exeunt_exposure_window_seconds",
        &[
            60.0, 300.0, 900.0, 3600.0, 14_400.0, 86_400.0, 259_200.0, 604_800.0,
        ],
    ),
];

/// The process's Prometheus recorder, installed on first use (a process has one).
pub fn metrics() -> Option<&'static PrometheusHandle> {
    METRICS
        .get_or_init(|| {
            BUCKETS
                .iter()
                .try_fold(PrometheusBuilder::new(), |builder, (name, buckets)| {
                    builder.set_buckets_for_metric(Matcher::Full((*name).to_owned()), buckets)
                })
                .ok()?
                .install_recorder()
                .ok()
        })
        .as_ref()
}

/// A caller's request id is kept when it is short and plain, so that logs can be joined
/// across services; otherwise the server makes one.
fn request_id(request: &Request) -> String {
    request
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            (1..=64).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
        .map_or_else(|| uuid::Uuid::now_v7().simple().to_string(), str::to_owned)
}

pub async fn layer(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let id = request_id(&request);
    let method = request.method().to_string();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str)
        .to_owned();
    let span = tracing::info_span!("request", id = %id, method = %method, route = %route);
    let mut response = next.run(request).instrument(span.clone()).await;
    let status = response.status().as_u16();
    let elapsed = started.elapsed().as_secs_f64();
    // Milliseconds to the microsecond: `ms=0.067`, not every digit of the float.
    let ms = (elapsed * 1e6).round() / 1e3;
    span.in_scope(|| tracing::info!(status, ms, "handled"));
    metrics::counter!("exeunt_http_requests_total", "method" => method, "route" => route.clone(), "status" => status.to_string())
        .increment(1);
    metrics::histogram!("exeunt_http_request_duration_seconds", "route" => route).record(elapsed);
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    response
}
