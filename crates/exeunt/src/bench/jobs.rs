//! `exeunt bench jobs`: the job queue's throughput and its wake-up latency, on SQLite against
//! an fsync probe and, given a scratch PostgreSQL database, against a plain-SQL
//! `FOR UPDATE SKIP LOCKED` claim loop run by pgbench in the same run.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use app::{App, Ids, MasterKey};
use engine::fields::{PersonName, TenantName};
use engine::ids::{Email, JobId, Slug, TenantId};
use engine::job::{DEFAULT_ATTEMPTS, JobConcurrency, JobLease, JobStatus};
use store::{Job, Store};
use worker::{Claims, drain_queue};

use super::measure::{fsync_probe, percentile};
use crate::output::say;

/// How many idle wake-ups the latency figure is taken over.
const LATENCY_SAMPLES: usize = 200;
/// Jobs queued per transaction while filling the queue.
const FILL_BATCH: u32 = 500;

pub(super) async fn jobs(dir: &Path, count: u32, postgres: Option<&str>) -> anyhow::Result<()> {
    let store = Store::sqlite(&dir.join("jobs.db"), true).await?;
    let probe = fsync_probe(dir, Duration::from_secs(2))?;
    say!(
        "bench jobs: no-op jobs run by the worker's own loop: claimed under a lease, and their ends recorded in the transaction that claims the next"
    );
    say!("  SQLite (WAL, synchronous=FULL)");
    let (app, tenant) = bench_app(store, "bench-jobs").await?;
    fill(&app, tenant, count).await?;
    let one_at_a_time = drain_here(&app, count, JobConcurrency::ONE).await?;
    say!(
        "    1 worker, 1 job at a time     {one_at_a_time:.0} jobs/s = commits/s; fsync probe {probe:.0}/s: {:.2} × the probe",
        one_at_a_time / probe
    );
    fill(&app, tenant, count).await?;
    let rate = drain_here(&app, count, JobConcurrency::DEFAULT).await?;
    say!(
        "    1 worker, {} at a time         {rate:.0} jobs/s: {:.2} × the probe",
        JobConcurrency::DEFAULT,
        rate / probe
    );
    report_latency(&app, tenant).await?;

    let Some(url) = postgres else {
        say!("  PostgreSQL: skipped (give --postgres with a scratch database to compare)");
        return Ok(());
    };
    let store = Store::postgres(url).await.context("--postgres")?;
    let slug = format!("bench-jobs-{}", std::process::id());
    let (app, tenant) = bench_app(store, &slug).await?;
    say!("  PostgreSQL (FOR UPDATE SKIP LOCKED, LISTEN/NOTIFY; each worker a process of its own)");
    let plain = pgbench_loop(dir, url, count, 2).context("the pgbench claim loop")?;
    for concurrency in [JobConcurrency::ONE, JobConcurrency::DEFAULT] {
        fill(&app, tenant, count).await?;
        let one = drain_in_processes(url, count, 1, concurrency)?;
        fill(&app, tenant, count).await?;
        let two = drain_in_processes(url, count, 2, concurrency)?;
        say!("    1 worker,  {concurrency} at a time   {one:>6.0} jobs/s");
        say!(
            "    2 workers, {concurrency} at a time   {two:>6.0} jobs/s: {:.2} × the plain loop",
            two / plain
        );
    }
    say!(
        "    plain SQL              {plain:>6.0} jobs/s (pgbench, 2 clients, the same claim and settle one job at a time)"
    );
    say!(
        "    target: 2 workers at the default concurrency ({}) ≥ 1.00 × the plain loop",
        JobConcurrency::DEFAULT
    );
    report_latency(&app, tenant).await?;
    Ok(())
}

async fn bench_app(store: Store, slug: &str) -> anyhow::Result<(App, TenantId)> {
    let app = App::system(store, MasterKey::from_bytes(Ids::from_entropy().secret()));
    let actor = app
        .init_tenant(
            Slug::parse(slug)?,
            TenantName::parse("Bench firm")?,
            Email::parse("owner@bench.example")?,
            PersonName::parse("Owner")?,
        )
        .await?;
    Ok((app, actor.tenant.id))
}

fn noop(tenant: TenantId, key: String, now: jiff::Timestamp) -> Job {
    Job {
        tenant_id: tenant,
        id: JobId(uuid::Uuid::now_v7()),
        // The benchmark's loop runs every job as a no-op whatever its kind: the kind only has
        // to be one the store can read back.
        kind: engine::job::JobKind::EmailNotification,
        payload: "{}".to_owned(),
        idempotency_key: key,
        case_id: None,
        status: JobStatus::Queued,
        attempts: 0,
        max_attempts: DEFAULT_ATTEMPTS,
        run_at: now,
        lease_until: None,
        worker: None,
        last_error: None,
        created_at: now,
        finished_at: None,
    }
}

/// Queues `count` no-op jobs, due now.
async fn fill(app: &App, tenant: TenantId, count: u32) -> anyhow::Result<()> {
    let now = app.now();
    let run = uuid::Uuid::now_v7();
    for start in (0..count).step_by(FILL_BATCH as usize) {
        let mut tx = app.store().write().await?;
        for i in start..(start + FILL_BATCH).min(count) {
            tx.insert_job(&noop(tenant, format!("bench:{run}:{i}"), now))
                .await?;
        }
        tx.commit().await?;
    }
    Ok(())
}

/// Has one worker in this process, running up to `concurrency` jobs at once, drain a queue of
/// `count` jobs; returns jobs per second.
async fn drain_here(app: &App, count: u32, concurrency: JobConcurrency) -> anyhow::Result<f64> {
    let claims = Claims {
        name: "bench".to_owned(),
        lease: JobLease::DEFAULT,
        concurrency,
    };
    let started = Instant::now();
    let ran = drain_queue(app, &claims, None, |job| async move { (job, Ok(())) }).await?;
    if ran != count as usize {
        bail!("{ran} of {count} jobs ran");
    }
    Ok(f64::from(count) / started.elapsed().as_secs_f64())
}

/// Has `processes` worker processes (`exeunt bench job-worker`), each running up to
/// `concurrency` jobs at once, drain a queue of `count` jobs; returns jobs per second, from the
/// moment the connected workers are told to start until the last one is done.
fn drain_in_processes(
    url: &str,
    count: u32,
    processes: usize,
    concurrency: JobConcurrency,
) -> anyhow::Result<f64> {
    let mut workers = WorkerProcesses(Vec::with_capacity(processes));
    let exe = std::env::current_exe().context("this program's path")?;
    for w in 0..processes {
        let mut child = std::process::Command::new(&exe)
            .args(["bench", "job-worker", "--postgres", url])
            .args(["--name", &format!("bench-{w}")])
            .args(["--concurrency", &concurrency.to_string()])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .context("a worker process starts")?;
        let mut said = child.stdout.take().map(BufReader::new);
        let ready = match said.as_mut() {
            Some(said) => read_line(said)?,
            None => String::new(),
        };
        workers.0.push((child, said));
        if ready != "ready" {
            bail!("a worker process did not get ready");
        }
    }
    let started = Instant::now();
    for (child, _) in &mut workers.0 {
        writeln!(child.stdin.as_mut().context("the worker's input")?, "{GO}")?;
    }
    let mut ran = 0;
    for (child, said) in &mut workers.0 {
        let line = read_line(said.as_mut().context("the worker's output")?)?;
        if !child.wait()?.success() {
            bail!("a worker process failed");
        }
        ran += line
            .parse::<u32>()
            .with_context(|| format!("a worker process said {line:?}, not how many jobs it ran"))?;
    }
    let elapsed = started.elapsed();
    if ran != count {
        bail!("{ran} of {count} jobs ran");
    }
    Ok(f64::from(count) / elapsed.as_secs_f64())
}

/// What a worker process waits for before it starts.
const GO: &str = "go";

/// One line of a worker process's output, without its line end.
fn read_line(from: &mut impl BufRead) -> anyhow::Result<String> {
    let mut line = String::new();
    from.read_line(&mut line)?;
    Ok(line.trim_end().to_owned())
}

/// The worker processes of one run; any still running when the run ends (it failed) are
/// stopped, so that none goes on draining the queue.
struct WorkerProcesses(
    Vec<(
        std::process::Child,
        Option<BufReader<std::process::ChildStdout>>,
    )>,
);

impl Drop for WorkerProcesses {
    fn drop(&mut self) {
        for (child, _) in &mut self.0 {
            if matches!(child.try_wait(), Ok(None)) {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}

/// `exeunt bench job-worker`: one worker process of [`drain_in_processes`].
pub(super) async fn worker_process(
    url: &str,
    name: &str,
    concurrency: JobConcurrency,
) -> anyhow::Result<()> {
    let store = Store::postgres(url).await.context("--postgres")?;
    let app = App::system(store, MasterKey::from_bytes(Ids::from_entropy().secret()));
    // Connected before the clock starts.
    app.job_counts().await?;
    say!("ready");
    if read_line(&mut std::io::stdin().lock())? != GO {
        bail!("the benchmark stopped before it started this worker");
    }
    let claims = Claims {
        name: name.to_owned(),
        lease: JobLease::DEFAULT,
        concurrency,
    };
    let ran = drain_queue(&app, &claims, None, |job| async move { (job, Ok(())) }).await?;
    say!("{ran}");
    Ok(())
}

/// With the worker idle, how long from a job's commit until a worker holds it.
async fn report_latency(app: &App, tenant: TenantId) -> anyhow::Result<()> {
    let (claimed, mut heard) = tokio::sync::mpsc::unbounded_channel::<Instant>();
    let mut wakeups = app.store().job_wakeups().await?;
    let worker_app = app.clone();
    // It settles every job it takes, so that no job of the benchmark is left held.
    let worker = tokio::spawn(async move {
        let mut ran = 0;
        while ran < LATENCY_SAMPLES {
            let jobs = worker_app
                .claim_jobs("bench-idle", JobLease::DEFAULT, 1)
                .await?;
            if jobs.is_empty() {
                wakeups.wait(Duration::from_millis(500)).await;
                continue;
            }
            let _ = claimed.send(Instant::now());
            let ended: Vec<_> = jobs.into_iter().map(|job| (job, Ok(()))).collect();
            worker_app.settle_jobs(&ended).await?;
            ran += ended.len();
        }
        anyhow::Ok(())
    });
    let run = uuid::Uuid::now_v7();
    let mut latencies = Vec::with_capacity(LATENCY_SAMPLES);
    for i in 0..LATENCY_SAMPLES {
        // Let the worker go idle again.
        tokio::time::sleep(Duration::from_millis(20)).await;
        let mut tx = app.store().write().await?;
        tx.insert_job(&noop(tenant, format!("latency:{run}:{i}"), app.now()))
            .await?;
        let committing = Instant::now();
        tx.commit().await?;
        let at = heard.recv().await.context("the idle worker stopped")?;
        latencies.push(at.saturating_duration_since(committing));
    }
    worker.await??;
    latencies.sort();
    say!(
        "    enqueue to start, idle: p50 {:.2} ms, p99 {:.2} ms over {LATENCY_SAMPLES} jobs (target p50 ≤ 10 ms; polling alone would wait up to 500 ms)",
        percentile(&latencies, 0.50).as_secs_f64() * 1e3,
        percentile(&latencies, 0.99).as_secs_f64() * 1e3
    );
    Ok(())
}

/// The same claim and settle in plain SQL, run by pgbench with `clients` connections over a
/// table of `count` queued rows; returns jobs per second.
fn pgbench_loop(dir: &Path, url: &str, count: u32, clients: u32) -> anyhow::Result<f64> {
    let table = format!("bench_queue_{}", std::process::id());
    let psql = |sql: &str| super::servers::psql(url, sql);
    psql(&format!(
        "CREATE TABLE {table} (id bigserial PRIMARY KEY, status text NOT NULL, run_at bigint NOT NULL, \
         lease_until bigint, worker text); CREATE INDEX ON {table} (status, run_at); \
         INSERT INTO {table} (status, run_at) SELECT 'queued', g FROM generate_series(1, {count}) g"
    ))?;
    let script = dir.join("claim.sql");
    std::fs::write(
        &script,
        format!(
            "UPDATE {table} SET status = 'running', lease_until = 1, worker = 'pgbench' WHERE id = \
             (SELECT id FROM {table} WHERE status = 'queued' ORDER BY run_at LIMIT 1 FOR UPDATE SKIP LOCKED) \
             RETURNING id \\gset\n\
             UPDATE {table} SET status = 'done', lease_until = NULL WHERE id = :id AND status = 'running';\n"
        ),
    )?;
    let per_client = count / clients;
    let out = std::process::Command::new("pgbench")
        .args(["-n", "-c", &clients.to_string(), "-j", &clients.to_string()])
        .args(["-t", &per_client.to_string(), "-f"])
        .arg(&script)
        .arg(url)
        .output()
        .context("pgbench runs (apt-get install postgresql-client)")?;
    let _ = psql(&format!("DROP TABLE {table}"));
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        bail!("pgbench: {}", String::from_utf8_lossy(&out.stderr).trim());
    }
    text.lines()
        .find_map(|l| l.strip_prefix("tps = "))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse::<f64>().ok())
        .with_context(|| format!("no tps in pgbench's output: {text}"))
}
