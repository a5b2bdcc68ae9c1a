//! `exeunt bench`: measured figures, each next to a limit measured in the same run.
//!
//! Both benchmarks work in a fresh directory under the current one (not /tmp, which may be a
//! RAM disk) and delete it afterwards.

use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;
use app::{Actor, App, BlueprintChoice, Ids, MasterKey, StartCase};
use engine::audit::{AuditDraft, AuditEvent};
use engine::ids::{Email, Slug, SubjectKey, Text};
use engine::subject::{Attributes, SubjectKind};
use store::Store;

use crate::cli::BenchCmd;
use crate::output::say;

/// Tasks per case in the write benchmark: a realistic case size, so each completion loads a
/// case of that many tasks.
const TASKS_PER_CASE: u32 = 20;

pub async fn run(cmd: &BenchCmd) -> anyhow::Result<ExitCode> {
    if let BenchCmd::JobWorker {
        postgres,
        name,
        concurrency,
    } = cmd
    {
        crate::bench_jobs::worker_process(postgres, name, *concurrency).await?;
        return Ok(ExitCode::SUCCESS);
    }
    let dir = BenchDir::create()?;
    match cmd {
        BenchCmd::Write { ops } => write(&dir.0, *ops).await?,
        BenchCmd::Audit { events } => audit(&dir.0, *events).await?,
        BenchCmd::Api { ops } => api(&dir.0, *ops).await?,
        BenchCmd::Fanout { clients } => fanout(&dir.0, *clients).await?,
        BenchCmd::Export { documents, mib } => export(&dir.0, *documents, *mib).await?,
        BenchCmd::Jobs { jobs, postgres } => {
            crate::bench_jobs::jobs(&dir.0, *jobs, postgres.as_deref()).await?
        }
        BenchCmd::JobWorker { .. } => unreachable!("run above, without a scratch directory"),
    }
    Ok(ExitCode::SUCCESS)
}

struct BenchDir(PathBuf);

impl BenchDir {
    fn create() -> anyhow::Result<Self> {
        let path = PathBuf::from(format!("exeunt-bench-{}", std::process::id()));
        std::fs::create_dir_all(&path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        Ok(Self(path))
    }
}

impl Drop for BenchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// fdatasync calls per second on a file in `dir`: the ceiling for one durable commit at a time.
pub(crate) fn fsync_probe(dir: &Path, duration: Duration) -> anyhow::Result<f64> {
    let mut file = std::fs::File::create(dir.join("fsync-probe"))?;
    let block = [0x5au8; 4096];
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < duration {
        file.seek(SeekFrom::Start(0))?;
        file.write_all(&block)?;
        file.sync_data()?;
        n += 1;
    }
    Ok(n as f64 / start.elapsed().as_secs_f64())
}

async fn setup(dir: &Path) -> anyhow::Result<(App, Actor)> {
    let store = Store::sqlite(&dir.join("exeunt.db"), true).await?;
    let app = App::system(store, MasterKey::from_bytes(Ids::from_entropy().secret()));
    let actor = app
        .init_tenant(
            Slug::parse("bench")?,
            Text::line("Bench firm", 100)?,
            Email::parse("owner@bench.example")?,
            Text::line("Owner", 100)?,
        )
        .await?;
    Ok((app, actor))
}

pub(crate) fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Opens `count` cases of a one-stage blueprint with `TASKS_PER_CASE` independent tasks.
async fn open_cases(
    app: &App,
    actor: &Actor,
    prefix: &str,
    count: u32,
) -> anyhow::Result<Vec<i64>> {
    let tasks: String = (0..TASKS_PER_CASE)
        .map(|i| format!("      - id: t{i}\n        title: Task {i}\n        team: operations\n"))
        .collect();
    let blueprint = format!(
        "id: bench\nversion: 1\ntitle: Bench\nscope: client\nstages:\n  - id: only\n    title: Only\n    tasks:\n{tasks}"
    );
    let mut numbers = Vec::new();
    for i in 0..count {
        let key = SubjectKey::parse(&format!("{prefix}-{i}"))?;
        let subject = app::NewSubject {
            key: key.clone(),
            kind: SubjectKind::Client,
            name: Text::line(&format!("Client {i}"), 100)?,
            parent: None,
            attributes: Attributes::default(),
        };
        app.add_subjects(actor, vec![subject])
            .await
            .map_err(|(_, e)| e)?;
        let started = app
            .start_case(
                actor,
                StartCase {
                    subject: key,
                    blueprint: Some(BlueprintChoice::Source {
                        name: "bench".into(),
                        text: blueprint.clone(),
                    }),
                    exit_date: jiff::civil::date(2027, 1, 29),
                    owner: None,
                },
            )
            .await?;
        numbers.push(started.number);
    }
    Ok(numbers)
}

/// Rounds of the write benchmark: each runs the probe, then its share of the operations. A
/// shared machine's disk speeds up and slows down within seconds, so probe and workload take
/// turns rather than one running after the other.
const WRITE_ROUNDS: u32 = 10;

async fn write(dir: &Path, ops: u32) -> anyhow::Result<()> {
    let (app, actor) = setup(dir).await?;
    let numbers = open_cases(&app, &actor, "client", ops.div_ceil(TASKS_PER_CASE)).await?;
    let mut remaining = numbers
        .iter()
        .flat_map(|number| (0..TASKS_PER_CASE).map(move |t| (*number, t)))
        .take(ops as usize);
    let mut latencies = Vec::with_capacity(ops as usize);
    let (mut writing, mut cpu) = (Duration::ZERO, CpuTime::default());
    let (mut probes, mut round_ratios) = (Vec::new(), Vec::new());
    for round in 0..WRITE_ROUNDS {
        let probe = fsync_probe(dir, Duration::from_millis(200))?;
        probes.push(probe);
        let share = (ops / WRITE_ROUNDS + u32::from(round < ops % WRITE_ROUNDS)) as usize;
        let cpu_before = process_cpu()?;
        let start = Instant::now();
        for (number, t) in remaining.by_ref().take(share) {
            let task = Slug::parse(&format!("t{t}"))?;
            let began = Instant::now();
            app.complete_task(&actor, number, &task, None, Vec::new())
                .await?;
            latencies.push(began.elapsed());
        }
        let elapsed = start.elapsed();
        writing += elapsed;
        cpu = cpu + (process_cpu()? - cpu_before);
        round_ratios.push(share as f64 / elapsed.as_secs_f64() / probe);
    }
    latencies.sort();
    round_ratios.sort_by(f64::total_cmp);
    let rate = latencies.len() as f64 / writing.as_secs_f64();
    // Every round probes for the same time, so the mean rate is the overall one.
    let probe = probes.iter().sum::<f64>() / probes.len() as f64;
    say!(
        "bench write: complete a task (state change + audit event, one transaction), SQLite WAL synchronous=FULL, 1 writer"
    );
    say!("  operations      {}", latencies.len());
    say!("  throughput      {rate:.0} ops/s");
    say!(
        "  latency p50     {:.2} ms",
        percentile(&latencies, 0.50).as_secs_f64() * 1e3
    );
    say!(
        "  latency p99     {:.2} ms",
        percentile(&latencies, 0.99).as_secs_f64() * 1e3
    );
    say!(
        "  fsync probe     {probe:.0} fdatasync/s (same directory, taking turns with the writes over {WRITE_ROUNDS} rounds)"
    );
    say!(
        "  ratio           {:.2} × the probe (target ≥ 0.50); by round {:.2} to {:.2}",
        rate / probe,
        round_ratios.first().copied().unwrap_or_default(),
        round_ratios.last().copied().unwrap_or_default(),
    );
    let per_op = |d: Duration| d.as_secs_f64() / latencies.len() as f64 * 1e6;
    say!(
        "  CPU per op      {:.0} µs in Exeunt and SQLite, {:.0} µs in the kernel (writing the log and syncing it)",
        per_op(cpu.user),
        per_op(cpu.system)
    );
    Ok(())
}

async fn audit(dir: &Path, events: u32) -> anyhow::Result<()> {
    let (app, actor) = setup(dir).await?;
    const BATCH: i64 = 50_000;
    let started = Instant::now();
    let mut tx = app.store().read().await?;
    let (mut seq, mut hash) = tx
        .audit_head(actor.tenant.id)
        .await?
        .unwrap_or((0, engine::audit::GENESIS));
    drop(tx);
    let at = app.now();
    while seq < i64::from(events) {
        let batch: Vec<AuditEvent> = (seq..(seq + BATCH).min(i64::from(events)))
            .map(|n| {
                let event = AuditEvent::chain(
                    actor.tenant.id,
                    (seq, hash),
                    at,
                    AuditDraft {
                        actor: actor.user.actor(),
                        action: "task.completed",
                        target_kind: "task",
                        target_id: format!("{}/t{}", n / 20, n % 20),
                        payload: serde_json::json!({"summary": format!("completed task t{} of case {}", n % 20, n / 20), "note": null}),
                    },
                );
                (seq, hash) = (event.seq, event.hash);
                event
            })
            .collect();
        let mut tx = app.store().write().await?;
        tx.import_audit_events(actor.tenant.id, &batch).await?;
        tx.commit().await?;
    }
    let setup_time = started.elapsed();
    let begin = Instant::now();
    let verified = app.verify_audit(&actor).await?;
    let elapsed = begin.elapsed();
    let rate = verified as f64 / elapsed.as_secs_f64();
    say!("bench audit: verify a tenant's audit chain on SQLite (hash every event and payload)");
    say!(
        "  events          {verified} (written in {:.1} s)",
        setup_time.as_secs_f64()
    );
    say!("  verify time     {:.2} s", elapsed.as_secs_f64());
    say!("  throughput      {rate:.0} events/s");
    say!(
        "  ratio           {:.2} × the target of 500000 events/s",
        rate / 500_000.0
    );
    Ok(())
}

/// Complete-task requests over HTTP with 1 and 16 concurrent clients, against the fsync probe;
/// then the resident memory of an idle `exeunt serve`.
async fn api(dir: &Path, ops: u32) -> anyhow::Result<()> {
    let (app, actor) = setup(dir).await?;
    let per_level = ops.div_ceil(TASKS_PER_CASE);
    let first = open_cases(&app, &actor, "one", per_level).await?;
    let second = open_cases(&app, &actor, "many", per_level).await?;
    let token = app
        .issue_token(
            &actor,
            Text::line("bench", 100)?,
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

/// Organization offboarding: the organization's case fans out one child case per active client,
/// each planned and prechecked against the client's records, in one transaction.
async fn fanout(dir: &Path, clients: u32) -> anyhow::Result<()> {
    /// The issue's limit for 1,000 clients, scaled to the count asked for.
    const SECONDS_PER_THOUSAND: f64 = 5.0;
    let (app, actor) = setup(dir).await?;
    let mut subjects = vec![app::NewSubject {
        key: SubjectKey::parse("the-firm")?,
        kind: SubjectKind::Organization,
        name: Text::line("The firm", 100)?,
        parent: None,
        attributes: Attributes::default(),
    }];
    for i in 0..clients {
        subjects.push(app::NewSubject {
            key: SubjectKey::parse(&format!("client-{i}"))?,
            kind: SubjectKind::Client,
            name: Text::line(&format!("Client {i}"), 100)?,
            parent: None,
            attributes: Attributes::default(),
        });
    }
    app.add_subjects(&actor, subjects)
        .await
        .map_err(|(_, e)| e)?;
    let started = Instant::now();
    let case = app
        .start_case(
            &actor,
            StartCase {
                subject: SubjectKey::parse("the-firm")?,
                blueprint: None,
                exit_date: jiff::civil::date(2027, 1, 29),
                owner: None,
            },
        )
        .await?;
    let elapsed = started.elapsed().as_secs_f64();
    let limit = SECONDS_PER_THOUSAND * f64::from(clients) / 1000.0;
    say!("bench fanout: start an organization's offboarding, SQLite WAL synchronous=FULL");
    say!("  clients         {clients}");
    say!(
        "  child cases     {} created and prechecked",
        case.children.len()
    );
    say!("  time            {elapsed:.2} s");
    say!(
        "  ratio           {:.2} × the limit of {limit:.1} s (target ≤ 1.00)",
        elapsed / limit
    );
    anyhow::ensure!(
        case.children.len() == clients as usize,
        "expected {clients} child cases, got {}",
        case.children.len()
    );
    Ok(())
}

/// Export of one client's documents: the worker's wall time against `zip -r -1` of the same
/// plaintext files measured in the same run, and the worker's peak resident memory.
async fn export(dir: &Path, documents: u32, mib: u32) -> anyhow::Result<()> {
    use rand::{RngCore, SeedableRng};
    const MEMORY_LIMIT_MIB: f64 = 64.0;
    let (app, actor) = setup(dir).await?;
    app.add_subjects(
        &actor,
        vec![app::NewSubject {
            key: SubjectKey::parse("globex")?,
            kind: SubjectKind::Client,
            name: Text::line("Globex", 100)?,
            parent: None,
            attributes: Attributes::default(),
        }],
    )
    .await
    .map_err(|(_, e)| e)?;
    let key = SubjectKey::parse("globex")?;
    let size = (u64::from(mib) * 1024 * 1024 / u64::from(documents)) as usize;
    let plain = dir.join("plain");
    std::fs::create_dir_all(&plain)?;
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let text = b"Invoice line: 12 hours of consulting at the agreed rate, see the contract. ";
    for i in 0..documents {
        // Half incompressible (random bytes), half text that deflates well.
        let (name, content) = if i % 2 == 0 {
            let mut bytes = vec![0u8; size];
            rng.fill_bytes(&mut bytes);
            (format!("doc-{i}.bin"), bytes)
        } else {
            let mut bytes: Vec<u8> = text.iter().copied().cycle().take(size).collect();
            bytes[..8].copy_from_slice(&u64::from(i).to_le_bytes());
            (format!("doc-{i}.txt"), bytes)
        };
        std::fs::write(plain.join(&name), &content)?;
        let fields = engine::subject::RecordFields::parse(
            engine::subject::RecordKind::Document,
            [("name", name.as_str())],
        )?;
        let record = app
            .add_record(&actor, &key, engine::subject::RecordKind::Document, fields)
            .await?;
        let upload = app::Upload {
            file_name: name,
            content,
        };
        app.attach_file(
            &actor,
            &key,
            record.number,
            upload,
            "application/octet-stream".into(),
        )
        .await?;
    }
    let number = app
        .start_case(
            &actor,
            StartCase {
                subject: key,
                blueprint: None,
                exit_date: jiff::civil::date(2027, 1, 29),
                owner: None,
            },
        )
        .await?
        .number;

    // The same files, zipped by Info-ZIP at its fastest level.
    let started = Instant::now();
    let status = std::process::Command::new("zip")
        .args(["-r", "-1", "-q", "plain.zip", "plain"])
        .current_dir(dir)
        .status()
        .context("cannot run zip (apt-get install zip)")?;
    anyhow::ensure!(status.success(), "zip failed");
    let zip_time = started.elapsed().as_secs_f64();
    let zip_size = std::fs::metadata(dir.join("plain.zip"))?.len();

    // The peak so far is the setup's; count the build's alone.
    std::fs::write("/proc/self/clear_refs", "5").context("cannot reset the peak RSS")?;
    let before = process_cpu()?;
    let started = Instant::now();
    app.request_export(&actor, number).await?;
    let export = app
        .build_next_export()
        .await?
        .context("no export was built")?;
    let export_time = started.elapsed().as_secs_f64();
    let cpu = process_cpu()? - before;
    anyhow::ensure!(
        export.failure.is_none(),
        "the export failed: {}",
        export.failure.unwrap_or_default()
    );
    let peak_mib = peak_rss()? as f64 / (1024.0 * 1024.0);
    let package = export.blob.context("the export has no package")?;
    say!("bench export: {documents} documents, {mib} MiB (half random, half text), SQLite");
    say!(
        "  zip -r -1       {zip_time:.2} s, {:.0} MiB",
        zip_size as f64 / 1048576.0
    );
    say!(
        "  export          {export_time:.2} s, {:.0} MiB package (CPU {:.2} s user, {:.2} s kernel)",
        package.size as f64 / 1048576.0,
        cpu.user.as_secs_f64(),
        cpu.system.as_secs_f64()
    );
    say!(
        "  ratio           {:.2} × zip (target ≤ 1.00)",
        export_time / zip_time
    );
    say!(
        "  peak memory     {peak_mib:.1} MiB resident during the build ({:.2} × the limit of {MEMORY_LIMIT_MIB} MiB)",
        peak_mib / MEMORY_LIMIT_MIB
    );
    Ok(())
}

/// This process's peak resident memory since it was last reset, from /proc.
fn peak_rss() -> anyhow::Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .context("no VmHWM in /proc")?;
    Ok(kb * 1024)
}

/// CPU time this process has used so far, from /proc.
#[derive(Clone, Copy, Default)]
struct CpuTime {
    user: Duration,
    system: Duration,
}

impl CpuTime {
    fn total(self) -> Duration {
        self.user + self.system
    }
}

impl std::ops::Add for CpuTime {
    type Output = CpuTime;
    fn add(self, other: CpuTime) -> CpuTime {
        CpuTime {
            user: self.user + other.user,
            system: self.system + other.system,
        }
    }
}

impl std::ops::Sub for CpuTime {
    type Output = CpuTime;
    fn sub(self, earlier: CpuTime) -> CpuTime {
        CpuTime {
            user: self.user.saturating_sub(earlier.user),
            system: self.system.saturating_sub(earlier.system),
        }
    }
}

fn process_cpu() -> anyhow::Result<CpuTime> {
    /// Linux reports it in clock ticks of 1/100 s on every architecture Exeunt builds for.
    const TICKS_PER_SECOND: u64 = 100;
    let stat = std::fs::read_to_string("/proc/self/stat").context("cannot read /proc/self/stat")?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .context("unexpected /proc/self/stat")?
        .1
        .split_whitespace()
        .collect();
    let time = |i: usize| -> anyhow::Result<Duration> {
        let ticks: u64 = fields
            .get(i)
            .context("unexpected /proc/self/stat")?
            .parse()?;
        Ok(Duration::from_millis(ticks * 1000 / TICKS_PER_SECOND))
    };
    // utime and stime: fields 14 and 15 of the line, so 11 and 12 counting from 0 after the name.
    Ok(CpuTime {
        user: time(11)?,
        system: time(12)?,
    })
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
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .context("no VmRSS in /proc")?;
    child.kill().await?;
    Ok(kb * 1000)
}
