//! `exeunt bench api`: task completions over HTTP (1 and 16 clients), and an idle server's memory.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;
use engine::fields::TokenName;

use super::fixture::{TASKS_PER_CASE, open_cases, setup};
use super::measure::{fsync_probe, percentile, process_cpu, status_kb};
use crate::output::say;

/// Complete-task requests over HTTP with 1 and 16 concurrent clients, against the fsync probe;
/// then the resident memory of an idle `exeunt serve`.
pub(super) async fn api(dir: &Path, ops: u32) -> anyhow::Result<()> {
    let (app, actor) = setup(dir).await?;
    let per_level = ops.div_ceil(TASKS_PER_CASE);
    let first = open_cases(&app, &actor, "one", per_level).await?;
    let second = open_cases(&app, &actor, "many", per_level).await?;
    let token = app
        .issue_token(
            &actor,
            TokenName::parse("bench")?,
            engine::tenant::Role::Owner,
            None,
        )
        .await?
        .secret;
    let store = app.store().clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let server = tokio::spawn(server::serve(
        app,
        server::ServerOptions::default(),
        listener,
        std::future::pending(),
    ));
    let probe = fsync_probe(dir, Duration::from_secs(2))?;
    let client = connectors::http_client().build()?;
    say!(
        "bench api: POST /api/v1/cases/{{n}}/tasks/{{t}}/complete over HTTP, SQLite WAL synchronous=FULL"
    );
    say!("  fsync probe     {probe:.0} fdatasync/s (same directory, same run)");
    for (clients, cases) in [(1usize, &first), (16, &second)] {
        // Each client completes the tasks of its own cases, one request at a time.
        let mut work: Vec<Vec<String>> = vec![Vec::new(); clients];
        for (i, number) in cases.iter().enumerate() {
            for t in 0..TASKS_PER_CASE {
                work[i % clients].push(format!("{base}/api/v1/cases/{number}/tasks/t{t}/complete"));
            }
        }
        let (commits_before, cpu_before) =
            (store.sqlite_commits().await.unwrap_or(0), process_cpu()?);
        let started = Instant::now();
        let mut running = tokio::task::JoinSet::new();
        for urls in work {
            let (client, token) = (client.clone(), token.clone());
            running.spawn(async move {
                let mut latencies = Vec::with_capacity(urls.len());
                for url in urls {
                    let began = Instant::now();
                    let response = client
                        .post(&url)
                        .bearer_auth(&token)
                        .json(&serde_json::json!({}))
                        .send()
                        .await?;
                    anyhow::ensure!(
                        response.status().is_success(),
                        "{url}: {}",
                        response.status()
                    );
                    latencies.push(began.elapsed());
                }
                anyhow::Ok(latencies)
            });
        }
        let mut latencies = Vec::new();
        while let Some(done) = running.join_next().await {
            latencies.extend(done??);
        }
        let elapsed = started.elapsed();
        let commits = store.sqlite_commits().await.unwrap_or(0) - commits_before;
        let cpu = process_cpu()? - cpu_before;
        latencies.sort();
        let rate = latencies.len() as f64 / elapsed.as_secs_f64();
        let target = if clients == 1 {
            String::new()
        } else {
            " (target ≥ 2.00)".to_owned()
        };
        say!(
            "  {clients:>2} client(s)    {rate:.0} req/s, p50 {:.2} ms, p99 {:.2} ms (target ≤ 20 ms); {:.2} × the probe{target}",
            percentile(&latencies, 0.5).as_secs_f64() * 1e3,
            percentile(&latencies, 0.99).as_secs_f64() * 1e3,
            rate / probe
        );
        let cpu_per_request = cpu.total().as_secs_f64() / latencies.len() as f64;
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        say!(
            "                  {:.1} requests per commit; {:.0} µs CPU per request (client and server in this process), so {cores} cores top out near {:.0} req/s",
            latencies.len() as f64 / commits.max(1) as f64,
            cpu_per_request * 1e6,
            cores as f64 / cpu_per_request
        );
    }
    server.abort();
    let rss = idle_serve_rss(dir).await?;
    say!(
        "  idle serve      {:.1} MB resident (target ≤ 50 MB)",
        rss as f64 / 1e6
    );
    Ok(())
}

/// Starts this binary's `serve` on a fresh data dir, lets it settle, and reads its resident
/// memory from /proc.
async fn idle_serve_rss(dir: &Path) -> anyhow::Result<u64> {
    use tokio::io::AsyncBufReadExt;
    let mut child = tokio::process::Command::new(std::env::current_exe()?)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("EXEUNT_DATA_DIR", dir.join("idle"))
        .env_remove("EXEUNT_DATABASE_URL")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()?;
    let stdout = child.stdout.take().context("no stdout")?;
    let mut lines = tokio::io::BufReader::new(stdout).lines();
    while let Some(line) = lines.next_line().await? {
        if line.starts_with("Exeunt serves") {
            break;
        }
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let pid = child.id().context("the server exited")?;
    let kb = status_kb(&format!("/proc/{pid}/status"), "VmRSS")?;
    child.kill().await?;
    Ok(kb * 1000)
}
