//! `exeunt bench api`: task completions over HTTP (1 and 16 clients), and an idle server's memory.

use std::path::Path;
use std::time::{Duration, Instant};

use super::fixture::{TASKS_PER_CASE, open_cases, owner_token, setup, tenant_sealed_by};
use super::measure::{fsync_probe, percentile, process_cpu};
use super::servers::{Database, Serve};
use crate::output::say;

/// Complete-task requests over HTTP with 1 and 16 concurrent clients, against the fsync probe;
/// then the resident memory of an idle `exeunt serve`.
pub(super) async fn api(dir: &Path, ops: u32) -> anyhow::Result<()> {
    let (app, actor) = setup(dir).await?;
    let per_level = ops.div_ceil(TASKS_PER_CASE);
    let first = open_cases(&app, &actor, "one", per_level).await?;
    let second = open_cases(&app, &actor, "many", per_level).await?;
    let token = owner_token(&app, &actor).await?;
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
    let (idle, signed_in) = serve_rss(dir, SIGN_INS).await?;
    say!(
        "  idle serve      {:.1} MB resident (target ≤ 30 MB)",
        idle as f64 / 1e6
    );
    say!(
        "  after sign-ins  {:.1} MB resident once {SIGN_INS} people signed in (target ≤ 64 MB)",
        signed_in as f64 / 1e6
    );
    Ok(())
}

/// How many people sign in to the idle server before its memory is read again.
const SIGN_INS: u32 = 100;

/// Starts this binary's `serve` on a data dir of one tenant with `people` users who have
/// passwords, lets it settle and reads its resident memory from /proc; then signs each of them
/// in (Argon2id, 19 MiB each) and reads it again.
async fn serve_rss(dir: &Path, people: u32) -> anyhow::Result<(u64, u64)> {
    let data = dir.join("idle");
    std::fs::create_dir_all(&data)?;
    let key = app::MasterKey::from_bytes(app::Ids::from_entropy().secret());
    let store = store::Store::sqlite(&data.join("exeunt.db"), true).await?;
    let (app, owner) =
        tenant_sealed_by(store, app::MasterKey::parse(&key.encode())?, "idle").await?;
    let password = engine::ids::Password::parse("correct horse battery staple")?;
    let mut emails = Vec::new();
    for i in 0..people {
        let email = engine::ids::Email::parse(&format!("person{i}@idle.example"))?;
        app.add_user(
            &owner,
            email.clone(),
            engine::fields::PersonName::parse(&format!("Person {i}"))?,
            engine::tenant::Role::Member,
            &[],
        )
        .await?;
        app.set_password(&owner, Some(&email), &password).await?;
        emails.push(email);
    }
    drop(app);
    let serving = Serve::start(&Database::Sqlite(data), &key).await?;
    let base = serving.base.clone();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss = || serving.memory("VmRSS");
    let idle = rss()?;
    let client = connectors::http_client().build()?;
    for email in &emails {
        let answer = client
            .post(format!("{base}/api/v1/session"))
            .json(&serde_json::json!({"email": email.as_str(), "password": "correct horse battery staple"}))
            .send()
            .await?;
        anyhow::ensure!(
            answer.status().is_success(),
            "signing {email} in answered {}",
            answer.status()
        );
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let signed_in = rss()?;
    serving.stop().await?;
    Ok((idle, signed_in))
}
