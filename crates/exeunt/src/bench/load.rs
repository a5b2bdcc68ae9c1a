//! The load a benchmark puts on a server over HTTP: clients that each send their own requests
//! one after another, every answer checked.

use std::time::{Duration, Instant};

use super::measure::percentile;

/// One request of a client's turn.
pub(super) struct Request {
    pub(super) post: Option<serde_json::Value>,
    /// The path and query, below the server's base URL.
    pub(super) path: String,
}

impl Request {
    pub(super) fn get(path: String) -> Self {
        Self { post: None, path }
    }

    pub(super) fn post(path: String, body: serde_json::Value) -> Self {
        Self {
            post: Some(body),
            path,
        }
    }
}

/// How the clients sign their requests.
#[derive(Clone)]
pub(super) enum Auth {
    /// An API token.
    Bearer(String),
    /// A browser session's secret, sent as its cookie.
    Session(String),
}

/// What a load measured: each request's time, sorted, and the answers when they were kept.
pub(super) struct Run {
    pub(super) latencies: Vec<Duration>,
    pub(super) elapsed: Duration,
    pub(super) answers: Vec<serde_json::Value>,
}

impl Run {
    pub(super) fn rate(&self) -> f64 {
        self.latencies.len() as f64 / self.elapsed.as_secs_f64()
    }

    pub(super) fn p50_ms(&self) -> f64 {
        percentile(&self.latencies, 0.5).as_secs_f64() * 1e3
    }

    pub(super) fn p99_ms(&self) -> f64 {
        percentile(&self.latencies, 0.99).as_secs_f64() * 1e3
    }
}

/// Sends each client's requests in order, the clients at once, signed by `auth`; fails on the
/// first answer that is not a success. With `keep_answers`, the JSON bodies come back in no
/// particular order.
pub(super) async fn drive(
    base: &str,
    auth: &Auth,
    clients: Vec<Vec<Request>>,
    keep_answers: bool,
) -> anyhow::Result<Run> {
    let client = connectors::http_client()
        .pool_max_idle_per_host(clients.len())
        .build()?;
    let started = Instant::now();
    let mut running = tokio::task::JoinSet::new();
    for requests in clients {
        let (client, auth, base) = (client.clone(), auth.clone(), base.to_owned());
        running.spawn(async move {
            let mut latencies = Vec::with_capacity(requests.len());
            let mut answers = Vec::new();
            for request in requests {
                let url = format!("{base}{}", request.path);
                let began = Instant::now();
                let sent = match &request.post {
                    Some(body) => client.post(&url).json(body),
                    None => client.get(&url),
                };
                let sent = match &auth {
                    Auth::Bearer(token) => sent.bearer_auth(token),
                    Auth::Session(secret) => sent.header(
                        reqwest::header::COOKIE,
                        format!("{}={secret}", server::SESSION_COOKIE),
                    ),
                };
                let response = sent.send().await?;
                let status = response.status();
                if !status.is_success() {
                    let body = response.text().await.unwrap_or_default();
                    anyhow::bail!("{url}: {status} {body}");
                }
                let body = response.bytes().await?;
                latencies.push(began.elapsed());
                if keep_answers {
                    answers.push(serde_json::from_slice(&body)?);
                }
            }
            anyhow::Ok((latencies, answers))
        });
    }
    let mut run = Run {
        latencies: Vec::new(),
        elapsed: Duration::ZERO,
        answers: Vec::new(),
    };
    while let Some(done) = running.join_next().await {
        let (latencies, answers) = done??;
        run.latencies.extend(latencies);
        run.answers.extend(answers);
    }
    run.elapsed = started.elapsed();
    run.latencies.sort();
    Ok(run)
}
