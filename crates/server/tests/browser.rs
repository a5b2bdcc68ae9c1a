//! The Offboarding Center in a real browser: Playwright (`playwright-core` from npm) drives
//! Debian's Chromium against the real server, spawned here on a random port over SQLite with
//! the demo tenant, another tenant, and a fresh one whose owner has no password yet. The
//! browser steps are in `e2e/offboarding.test.mjs`; each main page is saved as a screenshot
//! under `target/e2e-screenshots/`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use app::{App, FixedClock, Ids, MasterKey};
use engine::fields::{PersonName, TenantName};
use engine::ids::{Email, Slug, Text};
use serde_json::json;
use store::Store;

const CHROMIUM: &str = "/usr/bin/chromium";
/// The setup code the first-run page asks for, as `exeunt serve` would print one.
const FIRST_RUN_CODE: &str = "e2e-first-run-code-0123456789";

fn e2e_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("e2e")
}

/// What the browser test needs that cargo does not provide: Node.js, Chromium and the npm
/// package. Missing ones skip the test, or fail it under `EXEUNT_REQUIRE_SERVICES=1`.
fn browser_available() -> Option<()> {
    let test = "the_offboarding_center_works_in_a_browser";
    if Command::new("node").arg("--version").output().is_err() {
        return testkit::missing_service(test, "Node.js (`node`)");
    }
    if !Path::new(CHROMIUM).exists() {
        return testkit::missing_service(
            test,
            "Chromium at /usr/bin/chromium (apt-get install chromium)",
        );
    }
    if !e2e_dir().join("node_modules/playwright-core").exists() {
        return testkit::missing_service(test, "playwright-core (npm ci in crates/server/e2e)");
    }
    Some(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_offboarding_center_works_in_a_browser() {
    if browser_available().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let store = Store::sqlite(&dir.path().join("exeunt.db"), true)
        .await
        .unwrap();
    let clock = FixedClock::new("2026-11-23T09:00:00Z".parse().unwrap());
    let app = App::new(
        store,
        Arc::new(clock),
        Arc::new(Ids::seeded(7)),
        MasterKey::from_bytes([7; 32]),
    );
    let logins = app.load_demo().await.unwrap();
    // Another firm on the same server, whose people must not see the demo's cases.
    let rival = app
        .init_tenant(
            Slug::parse("rival").unwrap(),
            TenantName::parse("Rival Partners").unwrap(),
            Email::parse("rhea@rival.example").unwrap(),
            PersonName::parse("Rhea Rival").unwrap(),
        )
        .await
        .unwrap();
    let rival_password = app.reset_password(&rival, None).await.unwrap();
    // A firm just set up: its owner has no password yet and comes in through the first run.
    app.init_tenant(
        Slug::parse("fresh").unwrap(),
        TenantName::parse("Fresh & Young").unwrap(),
        Email::parse("frida@fresh.example").unwrap(),
        PersonName::parse("Frida Fresh").unwrap(),
    )
    .await
    .unwrap();

    // A client with nothing started yet, whom the organization's offboarding fans out to.
    let manager = app
        .actor(
            Some(&Slug::parse("demo").unwrap()),
            Some(&Email::parse("mark@demo.example").unwrap()),
        )
        .await
        .unwrap();
    app.add_subjects(
        &manager,
        vec![app::NewSubject {
            key: engine::ids::SubjectKey::parse("wayne").unwrap(),
            kind: engine::subject::SubjectKind::Client,
            name: Text::line("Wayne Enterprises", 200).unwrap(),
            parent: None,
            attributes: engine::subject::Attributes::parse([("country", "US")]).unwrap(),
        }],
    )
    .await
    .map_err(|(_, e)| e)
    .unwrap();

    // A connector, and a job of it that gave up (the server here runs no job worker).
    let owner_email = &logins
        .iter()
        .find(|l| l.role == engine::tenant::Role::Owner)
        .unwrap()
        .email;
    let owner = app
        .actor(Some(&Slug::parse("demo").unwrap()), Some(owner_email))
        .await
        .unwrap();
    app.set_connector(
        &owner,
        &Slug::parse("okta").unwrap(),
        engine::connector::ConnectorKind::Scim,
        json!({"base_url": "https://okta.demo.example/scim/v2"}),
        "a-token",
    )
    .await
    .unwrap();
    let mut tx = store::Store::write(app.store()).await.unwrap();
    let now = app.now();
    store::Tx::insert_job(
        &mut tx,
        &store::Job {
            tenant_id: owner.tenant.id,
            id: engine::ids::JobId(uuid::Uuid::now_v7()),
            kind: engine::job::JobKind::AccessRevoke,
            payload: "{}".to_owned(),
            idempotency_key: "e2e-dead-job".to_owned(),
            case_id: None,
            status: engine::job::JobStatus::Dead,
            attempts: 8,
            max_attempts: 8,
            run_at: now,
            lease_until: None,
            worker: None,
            last_error: Some("okta.demo.example: connection refused".to_owned()),
            created_at: now,
            finished_at: Some(now),
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(exeunt_server::serve(
        app.clone(),
        exeunt_server::ServerOptions {
            first_run_code: Some(FIRST_RUN_CODE.to_owned()),
            ..exeunt_server::ServerOptions::default()
        },
        listener,
        std::future::pending(),
    ));
    // The Build export button queues an export; the worker builds it, as beside `exeunt serve`.
    tokio::spawn(worker::build_exports(app.clone()));

    let mut people = serde_json::Map::new();
    for login in &logins {
        people.insert(
            login.role.as_str().to_owned(),
            json!({"tenant": "demo", "email": login.email.as_str(), "password": login.password.expose()}),
        );
    }
    // The demo has two members; the first of them (IT) is the one the test signs in as.
    let members: Vec<_> = logins
        .iter()
        .filter(|l| l.role == engine::tenant::Role::Member)
        .collect();
    people.insert(
        "member".into(),
        json!({"tenant": "demo", "email": members[0].email.as_str(), "password": members[0].password.expose()}),
    );
    people.insert(
        "rival".into(),
        json!({"tenant": "rival", "email": "rhea@rival.example", "password": rival_password.expose()}),
    );
    let screenshots = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/e2e-screenshots");
    std::fs::create_dir_all(&screenshots).unwrap();

    let dir_for_node = screenshots.clone();
    let run = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .args(["--test", "--test-reporter=spec", "offboarding.test.mjs"])
            .current_dir(e2e_dir())
            .env("EXEUNT_BASE_URL", &base)
            .env(
                "EXEUNT_PEOPLE",
                serde_json::Value::Object(people).to_string(),
            )
            .env("EXEUNT_FIRST_RUN_CODE", FIRST_RUN_CODE)
            .env("EXEUNT_SCREENSHOTS", &dir_for_node)
            .env("EXEUNT_CHROMIUM", CHROMIUM)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let out = String::from_utf8_lossy(&run.stdout);
    let err = String::from_utf8_lossy(&run.stderr);
    println!("{out}");
    eprintln!("{err}");
    assert!(
        run.status.success(),
        "the browser test failed:\n{out}\n{err}"
    );
    // Every main page was seen and saved.
    for page in [
        "home",
        "subjects",
        "subject",
        "offboard",
        "case",
        "task",
        "audit",
        "blueprints",
        "blueprint",
        "settings",
        "sign-in",
        "first-run",
    ] {
        assert!(
            screenshots.join(format!("{page}.png")).exists(),
            "no screenshot of the {page} page"
        );
    }
    // What the browser did is on record, and the chain it left is whole.
    let owner = app
        .actor(Some(&Slug::parse("demo").unwrap()), None)
        .await
        .unwrap();
    app.verify_audit(&owner).await.unwrap();
}
