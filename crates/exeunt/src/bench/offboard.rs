//! `exeunt bench offboard`: employees offboarded over HTTP by 16 clients in this process,
//! against `exeunt serve` processes of their own: every case started, every task completed,
//! then the case list read; on SQLite, and on PostgreSQL with one to three servers behind
//! HAProxy. Each server's CPU time and memory come from its own accounting; what the
//! database did is checked afterwards (the chain, each completion recorded once, no job dead).

use std::path::Path;

use anyhow::{Context, ensure};
use app::{App, Ids, MasterKey};
use engine::ids::{Slug, SubjectKey, Text};
use engine::job::JobStatus;
use engine::subject::{Attributes, SubjectKind};
use store::{AuditFilter, JobFilter};

use super::fixture::{EMPLOYEE_BLUEPRINT, employee_tenant};
use super::load::{Auth, Request, Run, drive};
use super::measure::CpuTime;
use super::servers::{Balancer, Database, Serve, postgres_cpu};
use crate::output::say;

/// Concurrent HTTP clients, as the issue measured with `wrk`.
const CLIENTS: usize = 16;
/// Subjects added per call while preparing.
const SUBJECTS_PER_CALL: u32 = 500;
/// Server CPU a task completion may take.
const COMPLETION_CPU_TARGET_US: f64 = 60.0;
/// Peak resident memory a server may reach under the load.
const MEMORY_TARGET_MB: f64 = 64.0;

/// What one round measured.
struct Round {
    label: String,
    starts: Phase,
    completions: Phase,
    listings: Phase,
}

/// One kind of request under load: its rate and latencies, and the CPU it cost.
struct Phase {
    run: Run,
    server: CpuTime,
    database: Option<CpuTime>,
}

impl Phase {
    fn report(&self, what: &str, cpu_target: &str) {
        let per = |cpu: CpuTime| cpu.total().as_secs_f64() * 1e6 / self.run.latencies.len() as f64;
        let database = self.database.map_or(String::new(), |cpu| {
            format!(", PostgreSQL {:.0} µs", per(cpu))
        });
        say!(
            "    {what:<17} {:>6.0} req/s, p50 {:.2} ms, p99 {:.2} ms; CPU per request: server {:.0} µs{cpu_target}{database}",
            self.run.rate(),
            self.run.p50_ms(),
            self.run.p99_ms(),
            per(self.server),
        );
    }
}

pub(super) async fn offboard(
    dir: &Path,
    employees: u32,
    tasks: u32,
    postgres: Option<&str>,
    servers: usize,
) -> anyhow::Result<()> {
    say!(
        "bench offboard: {employees} employees with {tasks} tasks each, over HTTP from {CLIENTS} clients in this process to `exeunt serve` processes"
    );
    let sqlite_dir = dir.join("sqlite");
    std::fs::create_dir_all(&sqlite_dir)?;
    let mut rounds = vec![(Database::Sqlite(sqlite_dir), 1)];
    if let Some(url) = postgres {
        rounds.extend((1..=servers).map(|n| (Database::Postgres(url.to_owned()), n)));
    } else {
        say!("  PostgreSQL: skipped (give --postgres with a scratch database to compare)");
    }
    // One master key for every round: servers on one database must share it.
    let key = MasterKey::from_bytes(Ids::from_entropy().secret());
    let mut measured = Vec::new();
    for (i, (database, servers)) in rounds.iter().enumerate() {
        let round = round(dir, database, &key, *servers, employees, tasks, i).await?;
        measured.push(round);
    }
    if let [sqlite, postgres, ..] = &measured[..] {
        say!("  {} against {}:", postgres.label, sqlite.label);
        for (what, p, s) in [
            ("offboardings", &postgres.starts, &sqlite.starts),
            ("completions", &postgres.completions, &sqlite.completions),
            ("case list", &postgres.listings, &sqlite.listings),
        ] {
            say!(
                "    {what:<17} {:.2}× (target ≥ 0.50)",
                p.run.rate() / s.run.rate()
            );
        }
    }
    Ok(())
}

/// Prepares a tenant of `employees` on `database`, serves it with `servers` processes (behind
/// HAProxy when more than one) and measures each phase.
async fn round(
    dir: &Path,
    database: &Database,
    key: &MasterKey,
    servers: usize,
    employees: u32,
    tasks: u32,
    index: usize,
) -> anyhow::Result<Round> {
    let slug = Slug::parse(&format!("offboard-{}-{index}", std::process::id()))?;
    let token = prepare(database, key, &slug, employees, tasks).await?;
    let label = match servers {
        1 => format!("{}, 1 server", database.name()),
        n => format!("{}, {n} servers behind HAProxy", database.name()),
    };
    say!("  {label}");
    let mut serving = Vec::new();
    for _ in 0..servers {
        serving.push(Serve::start(database, key).await?);
    }
    let balancer = match servers {
        1 => None,
        _ => Some(Balancer::start(dir, &serving).await?),
    };
    let base = balancer
        .as_ref()
        .map_or(serving[0].base.clone(), |b| b.base.clone());
    let postgres = matches!(database, Database::Postgres(_));
    if postgres {
        say!(
            "    (PostgreSQL's statistics are gathered before each phase, as autovacuum would on a server \
             up for longer than the phases take: without them it plans for empty tables)"
        );
    }
    database.analyze()?;

    let starts = (0..employees)
        .map(|i| {
            Request::post(
                "/api/v1/cases".into(),
                serde_json::json!({
                    "subject": format!("employee-{i}"),
                    "exit_date": "2027-01-29",
                    "blueprint": EMPLOYEE_BLUEPRINT,
                }),
            )
        })
        .collect();
    let starts = measure(&serving, postgres, &base, &token, starts, true).await?;
    let numbers: Vec<i64> = starts
        .run
        .answers
        .iter()
        .map(|a| {
            a["number"]
                .as_i64()
                .context("a started case without a number")
        })
        .collect::<anyhow::Result<_>>()?;
    starts.report("start a case", "");
    database.analyze()?;

    // Each client completes the tasks of its own cases, so no two requests race for one case.
    let mut completions: Vec<Vec<Request>> = (0..CLIENTS).map(|_| Vec::new()).collect();
    for (i, number) in numbers.iter().enumerate() {
        for t in 0..tasks {
            completions[i % CLIENTS].push(Request::post(
                format!("/api/v1/cases/{number}/tasks/t{t}/complete"),
                serde_json::json!({}),
            ));
        }
    }
    let completions =
        measure_clients(&serving, postgres, &base, &token, completions, false).await?;
    completions.report(
        "complete a task",
        &format!(" (target ≤ {COMPLETION_CPU_TARGET_US:.0} µs)"),
    );
    database.analyze()?;

    let lists = (0..employees.max(100) * 2)
        .map(|_| Request::get("/api/v1/cases?limit=50".into()))
        .collect();
    let listings = measure(&serving, postgres, &base, &token, lists, false).await?;
    listings.report("list 50 cases", "");

    let mut peak = 0u64;
    for server in &serving {
        peak = peak.max(server.memory("VmHWM")?);
    }
    let peak_mb = peak as f64 / 1e6;
    say!(
        "    peak memory       {peak_mb:.1} MB resident, the largest server (target ≤ {MEMORY_TARGET_MB:.0} MB)"
    );
    drop(balancer);
    for server in serving {
        server.stop().await?;
    }
    check(database, key, &slug, employees, tasks).await?;
    Ok(Round {
        label,
        starts,
        completions,
        listings,
    })
}

/// A tenant with an owner's API token (returned), the benchmark's blueprint and `employees`
/// employees, written through the use cases before any server starts.
async fn prepare(
    database: &Database,
    key: &MasterKey,
    slug: &Slug,
    employees: u32,
    tasks: u32,
) -> anyhow::Result<String> {
    let (app, actor, token) = employee_tenant(database, key, slug, tasks).await?;
    for start in (0..employees).step_by(SUBJECTS_PER_CALL as usize) {
        let subjects = (start..(start + SUBJECTS_PER_CALL).min(employees))
            .map(|i| {
                Ok(app::NewSubject {
                    key: SubjectKey::parse(&format!("employee-{i}"))?,
                    kind: SubjectKind::Employee,
                    name: Text::line(&format!("Employee {i}"), 100)?,
                    parent: None,
                    attributes: Attributes::default(),
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        app.add_subjects(&actor, subjects)
            .await
            .map_err(|(_, e)| e)?;
    }
    Ok(token)
}

/// Requests spread over the clients in turn, measured.
async fn measure(
    serving: &[Serve],
    postgres: bool,
    base: &str,
    token: &str,
    requests: Vec<Request>,
    keep_answers: bool,
) -> anyhow::Result<Phase> {
    let mut clients: Vec<Vec<Request>> = (0..CLIENTS).map(|_| Vec::new()).collect();
    for (i, request) in requests.into_iter().enumerate() {
        clients[i % CLIENTS].push(request);
    }
    measure_clients(serving, postgres, base, token, clients, keep_answers).await
}

/// Each client's own requests, measured: the load's figures and what the servers (and the
/// database's processes) spent on it.
async fn measure_clients(
    serving: &[Serve],
    postgres: bool,
    base: &str,
    token: &str,
    clients: Vec<Vec<Request>>,
    keep_answers: bool,
) -> anyhow::Result<Phase> {
    let server_cpu = || -> anyhow::Result<CpuTime> {
        serving
            .iter()
            .try_fold(CpuTime::default(), |sum, s| Ok(sum + s.cpu()?))
    };
    let database_cpu = || postgres.then(postgres_cpu).transpose();
    let (server_before, database_before) = (server_cpu()?, database_cpu()?);
    let run = drive(base, &Auth::Bearer(token.to_owned()), clients, keep_answers).await?;
    let server = server_cpu()? - server_before;
    let database = database_cpu()?
        .zip(database_before)
        .map(|(after, before)| after - before);
    Ok(Phase {
        run,
        server,
        database,
    })
}

/// What the servers left: an unbroken chain, every case started and every task completed
/// exactly once in it, and no job given up.
async fn check(
    database: &Database,
    key: &MasterKey,
    slug: &Slug,
    employees: u32,
    tasks: u32,
) -> anyhow::Result<()> {
    let app = App::system(database.open().await?, MasterKey::parse(&key.encode())?);
    let actor = app.actor(Some(slug), None).await?;
    let events = app.verify_audit(&actor).await?;
    let mut counted = Vec::new();
    for action in ["case.started", "task.completed"] {
        let mut filter = AuditFilter {
            limit: 1000,
            action: Some(action.into()),
            ..AuditFilter::default()
        };
        let mut count = 0u64;
        loop {
            let page = app.audit_log(&actor, &filter).await?;
            let Some(last) = page.last() else { break };
            filter.after_seq = last.seq;
            count += page.len() as u64;
        }
        counted.push(count);
    }
    ensure!(
        counted
            == [
                u64::from(employees),
                u64::from(employees) * u64::from(tasks)
            ],
        "the chain records {} case starts and {} completions, not {employees} and {}",
        counted[0],
        counted[1],
        employees * tasks
    );
    let dead = app
        .store()
        .read()
        .await?
        .jobs(
            actor.tenant.id,
            &JobFilter {
                status: Some(JobStatus::Dead),
                limit: 1,
                ..JobFilter::default()
            },
        )
        .await?;
    ensure!(
        dead.is_empty(),
        "a job was given up: {:?}",
        dead[0].last_error
    );
    say!(
        "    checked           the chain of {events} events holds; each of the {employees} starts and {} completions is in it once; no job given up",
        counted[1]
    );
    Ok(())
}
