//! `exeunt bench scale`: every main page and API listing of a tenant of 10,000 cases, then of
//! the same tenant grown to `--cases`, read by 16 clients in this process from an `exeunt
//! serve` of its own: p50 and p99 of each, and how much the larger tenant costs more.

use std::path::Path;
use std::time::Instant;

use anyhow::Context;
use app::{BlueprintChoice, Ids, MasterKey, StartCase};
use engine::ids::{Email, Password, Slug, SubjectKey, Text};
use engine::subject::{Attributes, SubjectKind};

use super::fixture::{EMPLOYEE_BLUEPRINT, employee_tenant};
use super::load::{Auth, Request, Run, drive};
use super::servers::{Database, Serve};
use crate::output::say;

/// Concurrent HTTP clients.
const CLIENTS: usize = 16;
/// The smaller tenant, measured first; the larger one's figures are held against its.
const SMALL: u32 = 10_000;
/// Cases copied per transaction. Each copy bumps the same rollup rows (its status's count, its
/// quarter hour), and within one transaction PostgreSQL keeps every version of such a row, so
/// a larger batch costs more per copy.
const COPIES_PER_TRANSACTION: u32 = 10_000;
/// Tasks per case.
const TASKS: u32 = 10;
/// The slowest a page may answer, at the 99th percentile.
const P99_TARGET_MS: f64 = 50.0;
/// How much slower a page of the larger tenant may be than the same page of the smaller.
const GROWTH_TARGET: f64 = 2.0;
/// The case whose subject the copies are made from, keyed `STAFF-n`.
const STAFF: &str = "staff";
const PASSWORD: &str = "correct horse battery staple";

pub(super) async fn scale(
    dir: &Path,
    cases: u32,
    requests: u32,
    postgres: Option<&str>,
    skip_sqlite: bool,
) -> anyhow::Result<()> {
    say!(
        "bench scale: each page and listing read {requests} times by {CLIENTS} clients in this process, from `exeunt serve` on a tenant of {SMALL} cases, then of {cases} ({TASKS} tasks a case)"
    );
    let mut databases = Vec::new();
    if skip_sqlite {
        say!("  SQLite: skipped (--skip-sqlite)");
    } else {
        let sqlite_dir = dir.join("sqlite");
        std::fs::create_dir_all(&sqlite_dir)?;
        databases.push(Database::Sqlite(sqlite_dir));
    }
    match postgres {
        Some(url) => databases.push(Database::Postgres(url.to_owned())),
        None => {
            say!("  PostgreSQL: skipped (give --postgres with a scratch database to compare)")
        }
    }
    let key = MasterKey::from_bytes(Ids::from_entropy().secret());
    for (i, database) in databases.iter().enumerate() {
        one_store(database, &key, i, cases, requests).await?;
    }
    Ok(())
}

async fn one_store(
    database: &Database,
    key: &MasterKey,
    index: usize,
    cases: u32,
    requests: u32,
) -> anyhow::Result<()> {
    say!("  {}", database.name());
    let slug = Slug::parse(&format!("scale-{}-{index}", std::process::id()))?;
    let (app, actor, token) = employee_tenant(database, key, &slug, TASKS).await?;
    let email = Email::parse("owner@bench.example")?;
    app.set_password(&actor, None, &Password::parse(PASSWORD)?)
        .await?;
    let (_, session) = app.sign_in(Some(&slug), &email, PASSWORD).await?;
    app.add_subjects(
        &actor,
        vec![app::NewSubject {
            key: SubjectKey::parse(STAFF)?,
            kind: SubjectKind::Employee,
            name: Text::line("Staff member", 100)?,
            parent: None,
            attributes: Attributes::default(),
        }],
    )
    .await
    .map_err(|(_, e)| e)?;
    let template = app
        .start_case(
            &actor,
            StartCase {
                subject: SubjectKey::parse(STAFF)?,
                blueprint: Some(BlueprintChoice::Id(Slug::parse(EMPLOYEE_BLUEPRINT)?)),
                exit_date: jiff::civil::date(2027, 1, 29),
                owner: None,
                confirmation: None,
            },
        )
        .await?
        .number;
    let tenant = actor.tenant.id;
    // The server opens the database alone, as it would in production.
    drop(app);
    let (token, session) = (Auth::Bearer(token), Auth::Session(session.secret));
    let mut loaded = 1u32;
    let mut small: Option<Vec<(String, Run)>> = None;
    for size in [SMALL.min(cases), cases] {
        if size <= loaded && small.is_some() {
            break;
        }
        let started = Instant::now();
        let store = database.open().await?;
        while loaded < size {
            let copies = (size - loaded).min(COPIES_PER_TRANSACTION);
            let mut tx = store.write().await?;
            tx.copy_case_in_bulk(tenant, template, i64::from(loaded - 1), i64::from(copies))
                .await?;
            tx.commit().await?;
            loaded += copies;
        }
        drop(store);
        say!(
            "    {size} cases, loaded in {:.1} s",
            started.elapsed().as_secs_f64()
        );
        let serving = Serve::start(database, key).await?;
        let mut figures = Vec::new();
        for (name, path, auth) in pages(size, &token, &session) {
            let per_client = requests.div_ceil(CLIENTS as u32) as usize;
            let clients = (0..CLIENTS)
                .map(|_| {
                    (0..per_client)
                        .map(|_| Request::get(path.clone()))
                        .collect()
                })
                .collect();
            let run = drive(&serving.base, auth, clients, false)
                .await
                .with_context(|| format!("reading {path}"))?;
            let growth = small
                .as_ref()
                .and_then(|s| s.iter().find(|(n, _)| *n == name))
                .map_or(String::new(), |(_, before)| {
                    format!(
                        "; {:.2}× the p99 at {SMALL} (target ≤ {GROWTH_TARGET:.0}×)",
                        run.p99_ms() / before.p99_ms()
                    )
                });
            say!(
                "      {name:<28} p50 {:>6.2} ms, p99 {:>6.2} ms (target ≤ {P99_TARGET_MS:.0} ms){growth}",
                run.p50_ms(),
                run.p99_ms()
            );
            figures.push((name, run));
        }
        say!(
            "      peak memory of the server  {:.1} MB resident",
            serving.memory("VmHWM")? as f64 / 1e6
        );
        serving.stop().await?;
        if small.is_none() {
            small = Some(figures);
        }
    }
    Ok(())
}

/// Each page and listing measured, by name, with its path and how it signs in: the case and
/// subject in the middle of the tenant stand for any.
fn pages<'a>(cases: u32, token: &'a Auth, session: &'a Auth) -> Vec<(String, String, &'a Auth)> {
    let middle = cases / 2;
    let subject = format!("{STAFF}-{}", middle - 1);
    [
        ("page /", "/".to_owned(), session),
        ("page /cases", "/cases".to_owned(), session),
        (
            "page /cases, open",
            "/cases?status=open".to_owned(),
            session,
        ),
        ("page /cases/{n}", format!("/cases/{middle}"), session),
        ("page /subjects", "/subjects".to_owned(), session),
        (
            "page /subjects/{key}",
            format!("/subjects/{subject}"),
            session,
        ),
        ("page /audit", "/audit".to_owned(), session),
        ("page /notifications", "/notifications".to_owned(), session),
        ("GET cases", "/api/v1/cases?limit=50".to_owned(), token),
        (
            "GET cases, open",
            "/api/v1/cases?status=open&limit=50".to_owned(),
            token,
        ),
        (
            "GET cases, a middle page",
            format!("/api/v1/cases?before={middle}&limit=50"),
            token,
        ),
        ("GET case", format!("/api/v1/cases/{middle}"), token),
        (
            "GET subjects",
            "/api/v1/subjects?limit=50".to_owned(),
            token,
        ),
        ("GET subject", format!("/api/v1/subjects/{subject}"), token),
        ("GET my tasks", "/api/v1/tasks/mine".to_owned(), token),
        ("GET audit", "/api/v1/audit?limit=50".to_owned(), token),
        ("GET jobs", "/api/v1/jobs?limit=50".to_owned(), token),
    ]
    .into_iter()
    .map(|(name, path, auth)| (name.to_owned(), path, auth))
    .collect()
}
