//! Access revocation against real systems: OpenLDAP (slapd), a SCIM 2.0 server
//! (scim2-server) and the test PostgreSQL server's roles. Each test seeds real accounts,
//! lets the worker run the case's revocations at the exit time, and then asks the system
//! itself, with a client other than Exeunt's, whether the access is gone. Every test runs on
//! both stores.

use std::sync::Arc;

use app::{Actor, App, FixedClock, Ids, MasterKey, NewSubject, StartCase};
use engine::connector::ConnectorKind;
use engine::fields::{PersonName, Reason, TenantName};
use engine::ids::{Email, Slug, SubjectKey, Text};
use engine::job::{JobLease, JobStatus};
use engine::revocation::{Exposure, RevocationStatus};
use engine::subject::{Attributes, RecordFields, RecordKind, SubjectKind};
use engine::tenant::Role;
use exeunt_worker::Worker;
use jiff::{SignedDuration, Timestamp};
use serde_json::json;
use sqlx::{AssertSqlSafe, Connection, Executor, PgConnection};
use store::{AuditFilter, JobFilter};
use testkit::TestDb;
use testkit::ldap::{self, LdapServer};
use testkit::scim::{self, ScimServer};

const BASE_URL: &str = "http://exeunt.test";
/// The exit date; the built-in employee blueprint revokes at 17:00 in the subject's time zone.
const EXIT_DATE: &str = "2027-01-29";
/// 17:00 in Berlin on the exit date.
const EXIT_TAKES_EFFECT: &str = "2027-01-29T16:00:00Z";

struct Firm {
    /// The database, kept for as long as the firm is.
    db: TestDb,
    app: App,
    clock: Arc<FixedClock>,
    owner: Actor,
    manager: Actor,
}

async fn firm(db: TestDb) -> Firm {
    let store = db.store.clone();
    let clock = Arc::new(FixedClock::new("2027-01-20T09:00:00Z".parse().unwrap()));
    let app = App::new(
        store,
        clock.clone(),
        Arc::new(Ids::seeded(6)),
        MasterKey::from_bytes([6; 32]),
    );
    let owner = app
        .init_tenant(
            Slug::parse("acme").unwrap(),
            TenantName::parse("Acme Services").unwrap(),
            Email::parse("owner@acme.example").unwrap(),
            PersonName::parse("Olga Owner").unwrap(),
        )
        .await
        .unwrap();
    app.add_user(
        &owner,
        Email::parse("mia@acme.example").unwrap(),
        PersonName::parse("Mia Manager").unwrap(),
        Role::Manager,
        &[],
    )
    .await
    .unwrap();
    let manager = app
        .actor(
            Some(&owner.tenant.slug),
            Some(&Email::parse("mia@acme.example").unwrap()),
        )
        .await
        .unwrap();
    Firm {
        db,
        app,
        clock,
        owner,
        manager,
    }
}

impl Firm {
    async fn connector(
        &self,
        name: &str,
        kind: ConnectorKind,
        settings: serde_json::Value,
        secret: &str,
    ) {
        self.app
            .set_connector(
                &self.owner,
                &Slug::parse(name).unwrap(),
                kind,
                settings,
                secret,
            )
            .await
            .unwrap();
    }

    /// The SCIM connector `okta`, to `server`.
    async fn okta(&self, server: &ScimServer) {
        self.connector(
            "okta",
            ConnectorKind::Scim,
            json!({"base_url": server.base_url()}),
            scim::TOKEN,
        )
        .await;
    }

    /// Another account of the leaver's, in `system`.
    async fn add_account(&self, system: &str, identifier: &str) {
        let fields = RecordFields::parse(
            RecordKind::Account,
            [("system", system), ("identifier", identifier)],
        )
        .unwrap();
        self.app
            .add_record(
                &self.manager,
                &SubjectKey::parse("jdoe").unwrap(),
                RecordKind::Account,
                fields,
            )
            .await
            .unwrap();
    }

    /// An employee in Berlin with these accounts (`system`, `identifier`), whose case (1)
    /// starts now with the exit on [`EXIT_DATE`].
    async fn leaver(&self, accounts: &[(&str, &str)]) {
        let key = SubjectKey::parse("jdoe").unwrap();
        self.app
            .add_subjects(
                &self.manager,
                vec![NewSubject {
                    key: key.clone(),
                    kind: SubjectKind::Employee,
                    name: Text::line("Jane Doe", 200).unwrap(),
                    parent: None,
                    attributes: Attributes::parse([
                        ("country", "DE"),
                        ("timezone", "Europe/Berlin"),
                    ])
                    .unwrap(),
                }],
            )
            .await
            .map_err(|(_, e)| e)
            .unwrap();
        for (system, identifier) in accounts {
            let fields = RecordFields::parse(
                RecordKind::Account,
                [
                    ("system", *system),
                    ("identifier", *identifier),
                    ("status", "active"),
                ],
            )
            .unwrap();
            self.app
                .add_record(&self.manager, &key, RecordKind::Account, fields)
                .await
                .unwrap();
        }
        self.app
            .start_case(
                &self.manager,
                StartCase {
                    subject: key,
                    blueprint: None,
                    exit_date: EXIT_DATE.parse().unwrap(),
                    owner: None,
                    confirmation: None,
                },
            )
            .await
            .unwrap();
    }

    fn at_exit(&self, after: SignedDuration) {
        let effective: Timestamp = EXIT_TAKES_EFFECT.parse().unwrap();
        let by = self.app.now().duration_until(effective + after);
        self.clock.advance(by);
    }

    async fn jobs(&self, status: JobStatus) -> Vec<store::Job> {
        let filter = JobFilter {
            status: Some(status),
            limit: 100,
            ..JobFilter::default()
        };
        self.app.jobs(&self.manager, &filter).await.unwrap()
    }

    fn worker(&self) -> Worker {
        Worker::new(self.app.clone(), None, BASE_URL.to_owned())
    }
}

fn ldap_settings(server: &str) -> serde_json::Value {
    json!({
        "url": server, "bind_dn": ldap::ADMIN_DN, "people_base": ldap::PEOPLE,
        "groups_base": ldap::GROUPS, "disable": "move", "disabled_ou": ldap::DISABLED,
        "timeout_secs": 2,
    })
}

/// A role on the test PostgreSQL server that can log in, for this test only.
struct TestRole {
    admin_url: String,
    name: String,
}

impl TestRole {
    async fn create(test: &str) -> Option<TestRole> {
        let Ok(admin_url) = std::env::var("EXEUNT_TEST_POSTGRES_URL") else {
            return testkit::missing_service(test, "PostgreSQL (set EXEUNT_TEST_POSTGRES_URL)");
        };
        let name = format!("exeunt_leaver_{}", uuid_suffix());
        let mut admin = PgConnection::connect(&admin_url).await.unwrap();
        admin
            .execute(AssertSqlSafe(format!("CREATE ROLE {name} LOGIN")))
            .await
            .unwrap();
        Some(TestRole { admin_url, name })
    }

    /// The admin URL with the role as its user.
    fn login_url(&self) -> String {
        let (scheme, rest) = self.admin_url.split_once("://").unwrap();
        let host = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
        format!("{scheme}://{}@{host}", self.name)
    }

    async fn can_login(&self) -> bool {
        PgConnection::connect(&self.login_url()).await.is_ok()
    }
}

impl Drop for TestRole {
    fn drop(&mut self) {
        let (url, name) = (self.admin_url.clone(), self.name.clone());
        // Best effort: a role left behind does no harm to later runs.
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                if let Ok(mut c) = PgConnection::connect(&url).await {
                    let _ = c
                        .execute(AssertSqlSafe(format!("DROP ROLE IF EXISTS {name}")))
                        .await;
                }
            });
        })
        .join()
        .ok();
    }
}

fn uuid_suffix() -> String {
    format!(
        "{:x}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    )
}

async fn an_employees_access_is_revoked_and_verified_at_the_exit_time(db: TestDb) {
    let test = "an_employees_access_is_revoked_and_verified_at_the_exit_time";
    let (Some(directory), Some(scim_server), Some(role)) = (
        LdapServer::start(test),
        ScimServer::start(test),
        TestRole::create(test).await,
    ) else {
        return;
    };
    let jdoe = directory.add_person("jdoe", "jdoe-password");
    let amy = directory.add_person("amy", "amy-password");
    let group = directory.add_group("engineering", &[&jdoe, &amy]);
    let scim_id = scim_server.add_user("jdoe");
    let mut session = PgConnection::connect(&role.login_url()).await.unwrap();

    let firm = firm(db).await;
    firm.connector(
        "corp-ldap",
        ConnectorKind::Ldap,
        ldap_settings(&directory.url()),
        ldap::ADMIN_PASSWORD,
    )
    .await;
    firm.okta(&scim_server).await;
    firm.connector(
        "warehouse-db",
        ConnectorKind::Postgres,
        json!({"url": role.admin_url}),
        "",
    )
    .await;
    firm.leaver(&[
        ("corp-ldap", "jdoe"),
        ("okta", "jdoe"),
        ("warehouse-db", &role.name),
    ])
    .await;

    let queued = firm.jobs(JobStatus::Queued).await;
    let revocations: Vec<_> = queued
        .iter()
        .filter(|j| j.kind == engine::job::JobKind::AccessRevoke)
        .collect();
    assert_eq!(
        revocations.len(),
        3,
        "one job per account with a connector: {queued:?}"
    );
    let effective: Timestamp = EXIT_TAKES_EFFECT.parse().unwrap();
    assert!(
        revocations.iter().all(|j| j.run_at == effective),
        "due at 17:00 Berlin time"
    );

    let worker = firm.worker();
    worker.run_due().await.unwrap();
    assert!(
        directory.can_bind(&jdoe, "jdoe-password"),
        "nothing happens before the exit"
    );

    firm.at_exit(SignedDuration::from_secs(30));
    let mut ran = 0;
    while let Some(run) = worker.run_next().await.unwrap() {
        assert!(run.outcome.is_ok(), "{:?}: {:?}", run.job.kind, run.outcome);
        ran += 1;
    }
    assert_eq!(ran, 3);

    // LDAP: no bind as jdoe, wherever the entry went; no group lists jdoe; amy untouched.
    let moved = format!("uid=jdoe,{}", ldap::DISABLED);
    assert!(!directory.can_bind(&jdoe, "jdoe-password"));
    assert!(!directory.can_bind(&moved, "jdoe-password"));
    assert!(
        directory
            .search(ldap::DISABLED, "(uid=jdoe)", &["dn"])
            .contains(&moved)
    );
    let members = directory.search(&group, "(objectClass=*)", &["member"]);
    assert!(
        !members.contains(&jdoe) && members.contains(&amy),
        "{members}"
    );
    assert!(
        directory.can_bind(&amy, "amy-password"),
        "only the leaver loses access"
    );
    // SCIM: the user reads back inactive.
    assert_eq!(scim_server.user(&scim_id)["active"], json!(false));
    // PostgreSQL: the open session was ended and a new login is refused.
    assert!(
        session.execute("SELECT 1").await.is_err(),
        "the session was ended"
    );
    assert!(!role.can_login().await, "a login as the role is refused");

    let items = firm.app.revocations(&firm.manager, 1).await.unwrap();
    assert_eq!(items.len(), 3);
    for item in &items {
        assert_eq!(item.status, RevocationStatus::Verified, "{item:?}");
        let evidence = item.evidence.as_ref().expect("the connector's evidence");
        assert!(
            !evidence.calls.is_empty() && !evidence.checks.is_empty(),
            "{evidence:?}"
        );
        assert_eq!(
            item.exposure(effective, firm.app.now()),
            Some(Exposure::Closed(SignedDuration::from_secs(30))),
            "verified 30 s after the exit took effect"
        );
    }
    let ldap_item = items
        .iter()
        .find(|i| i.label.starts_with("corp-ldap"))
        .unwrap();
    let calls: Vec<_> = ldap_item
        .evidence
        .as_ref()
        .unwrap()
        .calls
        .iter()
        .map(|c| c.call.as_str())
        .collect();
    assert!(
        calls.iter().any(|c| c.starts_with("remove member")),
        "{calls:?}"
    );
    assert!(calls.iter().any(|c| c.starts_with("move ")), "{calls:?}");

    let audit = firm
        .app
        .audit_log(
            &firm.manager,
            &AuditFilter {
                action: Some("revocation.verified".into()),
                limit: 10,
                ..AuditFilter::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(audit.len(), 3);
    assert!(
        audit
            .iter()
            .any(|e| e.actor == "system:connector:corp-ldap")
    );
    let secrets = format!("{audit:?}");
    assert!(!secrets.contains(ldap::ADMIN_PASSWORD) && !secrets.contains(scim::TOKEN));
}

async fn a_directory_that_is_down_is_retried_then_the_case_shows_it_failed(db: TestDb) {
    let test = "a_directory_that_is_down_is_retried_then_the_case_shows_it_failed";
    let firm = firm(db).await;
    let down = format!("ldap://127.0.0.1:{}", testkit::free_port());
    firm.connector(
        "corp-ldap",
        ConnectorKind::Ldap,
        ldap_settings(&down),
        ldap::ADMIN_PASSWORD,
    )
    .await;
    firm.leaver(&[("corp-ldap", "jdoe")]).await;
    firm.at_exit(SignedDuration::ZERO);
    let worker = firm.worker();
    let first = worker.run_next().await.unwrap().unwrap();
    let error = first.outcome.unwrap_err();
    assert!(
        error.contains("LDAP") && error.contains("connect"),
        "{error}"
    );
    let mut attempts = 1;
    while firm.jobs(JobStatus::Dead).await.is_empty() {
        firm.clock.advance(SignedDuration::from_hours(2));
        worker.run_next().await.unwrap().unwrap();
        attempts += 1;
        assert!(attempts <= engine::job::DEFAULT_ATTEMPTS);
    }
    let dead = firm.jobs(JobStatus::Dead).await;
    assert!(dead[0].last_error.as_deref().unwrap().contains("LDAP"));
    let item = &firm.app.revocations(&firm.manager, 1).await.unwrap()[0];
    assert_eq!(item.status, RevocationStatus::Failed);
    assert!(
        item.note
            .as_deref()
            .unwrap()
            .contains("connector corp-ldap gave up"),
        "{item:?}"
    );

    // The directory comes back at its configured address; a person sends the job again.
    let Some(directory) = LdapServer::start(test) else {
        return;
    };
    let jdoe = directory.add_person("jdoe", "jdoe-password");
    let amy = directory.add_person("amy", "amy-password");
    directory.add_group("staff", &[&jdoe, &amy]);
    firm.connector(
        "corp-ldap",
        ConnectorKind::Ldap,
        ldap_settings(&directory.url()),
        ldap::ADMIN_PASSWORD,
    )
    .await;
    firm.app.retry_job(&firm.manager, dead[0].id).await.unwrap();
    let run = worker.run_next().await.unwrap().unwrap();
    assert!(run.outcome.is_ok(), "{:?}", run.outcome);
    let done = firm.jobs(JobStatus::Done).await;
    assert!(
        done.iter().all(|j| j.last_error.is_none()),
        "a job that finished shows no error from before: {done:?}"
    );
    let item = &firm.app.revocations(&firm.manager, 1).await.unwrap()[0];
    assert_eq!(item.status, RevocationStatus::Verified);
    assert!(!directory.can_bind(&format!("uid=jdoe,{}", ldap::DISABLED), "jdoe-password"));
}

/// A port whose listener takes every connection and never answers, for as long as the test
/// runs.
fn silent_port() -> u16 {
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut open = Vec::new();
        for stream in silent.incoming().flatten() {
            open.push(stream);
        }
    });
    port
}

/// A firm whose leaver `jdoe` has an account behind each kind of connector, every one of them
/// at `127.0.0.1:port`, waiting at most `timeout_secs` for an answer; the exit has taken
/// effect, so each account's revocation is due.
async fn leaver_behind_every_kind_at(db: TestDb, port: u16, timeout_secs: u64) -> Firm {
    let firm = firm(db).await;
    let mut ldap = ldap_settings(&format!("ldap://127.0.0.1:{port}"));
    ldap["timeout_secs"] = json!(timeout_secs);
    let targets = [
        (
            "okta",
            ConnectorKind::Scim,
            json!({"base_url": format!("http://127.0.0.1:{port}/v2"), "timeout_secs": timeout_secs}),
            scim::TOKEN,
        ),
        ("corp-ldap", ConnectorKind::Ldap, ldap, ldap::ADMIN_PASSWORD),
        (
            "hr-system",
            ConnectorKind::Webhook,
            json!({"url": format!("http://127.0.0.1:{port}/exit"), "timeout_secs": timeout_secs,
                   "allow_private_hosts": ["127.0.0.1"]}),
            "a-webhook-signing-key-of-32-bytes!",
        ),
    ];
    for (name, kind, settings, secret) in targets {
        firm.connector(name, kind, settings, secret).await;
    }
    firm.leaver(&[
        ("okta", "jdoe"),
        ("corp-ldap", "jdoe"),
        ("hr-system", "jdoe"),
    ])
    .await;
    firm.at_exit(SignedDuration::ZERO);
    firm
}

/// A target that accepts the connection and never answers: every kind of connector gives up
/// after its timeout, says so, and is tried again later.
async fn a_silent_target_times_out_and_is_retried(db: TestDb) {
    let firm = leaver_behind_every_kind_at(db, silent_port(), 1).await;
    let worker = firm.worker();
    for _ in 0..3 {
        let run = worker.run_next().await.unwrap().unwrap();
        let error = run.outcome.unwrap_err();
        assert!(error.contains("no answer within 1 s"), "{error}");
    }
    let queued = firm.jobs(JobStatus::Queued).await;
    assert_eq!(queued.len(), 3, "each will be tried again");
    assert!(queued.iter().all(|j| j.run_at > firm.app.now()));
}

/// A target nobody listens at: every kind of connector says the connection was refused, not
/// only that a request failed.
async fn a_target_that_refuses_connections_is_named_as_such(db: TestDb) {
    let firm = leaver_behind_every_kind_at(db, testkit::free_port(), 5).await;
    let worker = firm.worker();
    for _ in 0..3 {
        let run = worker.run_next().await.unwrap().unwrap();
        let error = run.outcome.unwrap_err();
        assert!(
            error.to_lowercase().contains("connection refused"),
            "{error}"
        );
    }
}

/// Two revocations wait on a target that never answers; the worker runs them side by side,
/// and an account that turns up meanwhile is revoked and verified before they give up.
async fn a_slow_target_holds_up_only_its_own_jobs(db: TestDb) {
    let test = "a_slow_target_holds_up_only_its_own_jobs";
    let Some(scim_server) = ScimServer::start(test) else {
        return;
    };
    let scim_id = scim_server.add_user("jdoe");
    let port = silent_port();
    let firm = firm(db).await;
    let mut ldap = ldap_settings(&format!("ldap://127.0.0.1:{port}"));
    ldap["timeout_secs"] = json!(8);
    firm.connector("corp-ldap", ConnectorKind::Ldap, ldap, ldap::ADMIN_PASSWORD)
        .await;
    firm.connector(
        "legacy-scim",
        ConnectorKind::Scim,
        json!({"base_url": format!("http://127.0.0.1:{port}/v2"), "timeout_secs": 8}),
        scim::TOKEN,
    )
    .await;
    firm.okta(&scim_server).await;
    firm.leaver(&[("corp-ldap", "jdoe"), ("legacy-scim", "jdoe")])
        .await;
    firm.at_exit(SignedDuration::ZERO);
    let worker = firm.worker();
    let running = tokio::spawn(async move { worker.run_due().await });
    let counts = || async {
        (
            firm.jobs(JobStatus::Running).await.len(),
            firm.jobs(JobStatus::Done).await.len(),
        )
    };
    let within = |limit: u64| std::time::Instant::now() + std::time::Duration::from_secs(limit);
    let deadline = within(2);
    while std::time::Instant::now() < deadline && counts().await != (2, 0) {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(counts().await, (2, 0), "both slow revocations run at once");

    firm.add_account("okta", "jdoe").await;
    let deadline = within(3);
    while std::time::Instant::now() < deadline && counts().await != (2, 1) {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(
        counts().await,
        (2, 1),
        "the new account is revoked while the slow ones still wait (running, done)"
    );
    assert_eq!(scim_server.user(&scim_id)["active"], json!(false));
    assert_eq!(running.await.unwrap().unwrap(), 3);
    let queued = firm.jobs(JobStatus::Queued).await;
    assert_eq!(queued.len(), 2, "the slow ones are tried again later");
    assert!(
        queued.iter().all(|j| j
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("no answer within 8 s"))),
        "{queued:?}"
    );
}

async fn a_worker_killed_between_the_call_and_its_acknowledgement_changes_the_target_once(
    db: TestDb,
) {
    let test = "a_worker_killed_between_the_call_and_its_acknowledgement";
    let Some(scim_server) = ScimServer::start(test) else {
        return;
    };
    let scim_id = scim_server.add_user("jdoe");
    let firm = firm(db).await;
    firm.okta(&scim_server).await;
    firm.leaver(&[("okta", "jdoe")]).await;
    firm.at_exit(SignedDuration::ZERO);

    // A worker claims the job, makes the call, and dies before it records the outcome.
    let job = firm
        .app
        .claim_jobs("the-worker-that-died", JobLease::DEFAULT, 1)
        .await
        .unwrap()
        .pop()
        .unwrap();
    let work = firm.app.revocation_work(&job).await.unwrap().unwrap();
    let access = connectors::Access {
        identifier: &work.identifier,
        idempotency_key: &work.idempotency_key,
    };
    let calls = connectors::revoke(&work.settings, &work.secret, access)
        .await
        .unwrap();
    let after_first = scim_server.user(&scim_id);
    assert_eq!(
        after_first["active"],
        json!(false),
        "the call took effect: {calls:?} {after_first}"
    );

    // After the lease runs out another worker takes the job over and finishes it.
    firm.clock
        .advance(JobLease::DEFAULT.length() + SignedDuration::from_secs(1));
    let run = firm.worker().run_next().await.unwrap().unwrap();
    assert!(run.outcome.is_ok() && run.recorded, "{:?}", run.outcome);
    assert_eq!(run.job.attempts, 2);
    assert!(
        firm.worker().run_next().await.unwrap().is_none(),
        "it ran once"
    );

    let after_retry = scim_server.user(&scim_id);
    assert_eq!(
        after_retry["meta"]["version"], after_first["meta"]["version"],
        "the second attempt saw the user inactive and changed nothing"
    );
    let items = firm.app.revocations(&firm.manager, 1).await.unwrap();
    assert_eq!(items[0].status, RevocationStatus::Verified);
    assert_eq!(firm.jobs(JobStatus::Done).await.len(), 1);
}

async fn a_cancelled_exit_revokes_nothing(db: TestDb) {
    let Some(scim_server) = ScimServer::start("a_cancelled_exit_revokes_nothing") else {
        return;
    };
    let scim_id = scim_server.add_user("jdoe");
    let firm = firm(db).await;
    firm.okta(&scim_server).await;
    firm.leaver(&[("okta", "jdoe")]).await;
    firm.app
        .cancel_case(
            &firm.manager,
            1,
            &Reason::parse("she withdrew her resignation").unwrap(),
        )
        .await
        .unwrap();
    firm.at_exit(SignedDuration::from_hours(1));
    let run = firm.worker().run_next().await.unwrap().unwrap();
    assert!(run.outcome.is_ok());
    assert_eq!(scim_server.user(&scim_id)["active"], json!(true));
    let items = firm.app.revocations(&firm.manager, 1).await.unwrap();
    assert_eq!(items[0].status, RevocationStatus::Pending);
}

async fn a_webhook_target_is_told_with_a_signed_event_and_answers_for_itself(db: TestDb) {
    let key = "a-webhook-signing-key-of-32-bytes!";
    let receiver = testkit::webhook::WebhookReceiver::start(key);
    let firm = firm(db).await;
    // Loopback is internal: refused when it is set, unless the admin allow-lists the host.
    let refused = firm
        .app
        .set_connector(
            &firm.owner,
            &Slug::parse("hr-system").unwrap(),
            ConnectorKind::Webhook,
            json!({"url": receiver.url()}),
            key,
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(
        refused.contains("internal address") && refused.contains("allow_private_hosts"),
        "{refused}"
    );
    // And refused again when called, for settings that reach it all the same (a name that
    // resolved elsewhere when it was set; here, written behind the store).
    let allowed = json!({"url": receiver.url(), "allow_private_hosts": ["127.0.0.1"]});
    firm.connector("hr-system", ConnectorKind::Webhook, allowed, key)
        .await;
    let unallowed = json!({"url": receiver.url()}).to_string();
    firm.db
        .execute_behind_the_store(&format!("UPDATE connectors SET settings = '{unallowed}'"))
        .await;
    firm.leaver(&[("hr-system", "jdoe")]).await;
    firm.at_exit(SignedDuration::ZERO);
    let worker = firm.worker();
    let refused = worker
        .run_next()
        .await
        .unwrap()
        .unwrap()
        .outcome
        .unwrap_err();
    assert!(
        refused.contains("internal address") && refused.contains("allow_private_hosts"),
        "{refused}"
    );
    assert!(receiver.events().is_empty(), "nothing was sent");

    // A wrong key: the receiver turns the call away, and the job says so.
    let settings = json!({"url": receiver.url(), "allow_private_hosts": ["127.0.0.1"]});
    firm.connector(
        "hr-system",
        ConnectorKind::Webhook,
        settings.clone(),
        &"x".repeat(32),
    )
    .await;
    firm.clock.advance(SignedDuration::from_hours(2));
    let refused = worker
        .run_next()
        .await
        .unwrap()
        .unwrap()
        .outcome
        .unwrap_err();
    assert!(refused.contains("401"), "{refused}");

    firm.connector("hr-system", ConnectorKind::Webhook, settings, key)
        .await;
    firm.clock.advance(SignedDuration::from_hours(2));
    let run = worker.run_next().await.unwrap().unwrap();
    assert!(run.outcome.is_ok(), "{:?}", run.outcome);
    let events: Vec<serde_json::Value> = receiver
        .events()
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(events[0]["type"], "com.exeunt.access.revoke");
    assert_eq!(events[1]["type"], "com.exeunt.access.verify");
    assert_eq!(events[0]["specversion"], "1.0");
    assert_eq!(events[0]["content_type"], "application/cloudevents+json");
    assert_eq!(events[0]["subject"], "jdoe");
    assert!(
        events[0]["id"].as_str().unwrap().starts_with("revoke:"),
        "the job's key: {events:?}"
    );
    let items = firm.app.revocations(&firm.manager, 1).await.unwrap();
    assert_eq!(items[0].status, RevocationStatus::Verified);
}

async fn audit_events_go_out_to_a_webhook_in_order_and_resume_after_a_failure(db: TestDb) {
    let key = "a-webhook-signing-key-of-32-bytes!";
    let receiver = testkit::webhook::WebhookReceiver::start(key);
    let firm = firm(db).await;
    let feed = Slug::parse("audit-feed").unwrap();
    let settings = |url: String| json!({"url": url, "allow_private_hosts": ["127.0.0.1"], "events": ["case.*", "task.*"]});
    let refused = firm
        .app
        .set_subscription(&firm.manager, &feed, settings(receiver.url()), key)
        .await
        .unwrap_err();
    assert!(refused.to_string().contains("admin"), "{refused}");
    let down = format!("http://127.0.0.1:{}/exeunt", testkit::free_port());
    firm.app
        .set_subscription(&firm.owner, &feed, settings(down), key)
        .await
        .unwrap();
    firm.leaver(&[]).await;
    let worker = firm.worker();
    worker.sweep().await.unwrap();
    let stalled = &firm.app.subscriptions(&firm.owner).await.unwrap()[0];
    assert!(
        stalled.last_error.as_deref().unwrap().contains("webhook"),
        "{stalled:?}"
    );

    // The receiver is up now: the events wait for it, in order, from where delivery stopped.
    firm.app
        .set_subscription(&firm.owner, &feed, settings(receiver.url()), key)
        .await
        .unwrap();
    worker.sweep().await.unwrap();
    worker.sweep().await.unwrap();
    let events: Vec<serde_json::Value> = receiver
        .events()
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(!events.is_empty());
    assert_eq!(
        events[0]["type"], "com.exeunt.audit.case.started",
        "{events:?}"
    );
    assert_eq!(events[0]["subject"], "case/1");
    assert!(
        events.iter().all(|e| {
            let t = e["type"].as_str().unwrap();
            t.starts_with("com.exeunt.audit.case.") || t.starts_with("com.exeunt.audit.task.")
        }),
        "only the events asked for: {events:?}"
    );
    let seqs: Vec<i64> = events
        .iter()
        .map(|e| {
            e["id"]
                .as_str()
                .unwrap()
                .rsplit(':')
                .next()
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect();
    assert!(
        seqs.windows(2).all(|w| w[0] < w[1]),
        "in order, each once: {seqs:?}"
    );
    assert!(
        firm.app.subscriptions(&firm.owner).await.unwrap()[0]
            .last_error
            .is_none()
    );

    firm.app
        .cancel_case(
            &firm.manager,
            1,
            &Reason::parse("she stays after all").unwrap(),
        )
        .await
        .unwrap();
    worker.sweep().await.unwrap();
    let later = receiver.events()[events.len()..].to_vec();
    assert!(
        later
            .iter()
            .any(|e| e.contains("\"com.exeunt.audit.case.cancelled\"")),
        "the next sweep sends only what came after: {later:?}"
    );
}

async fn accounts_and_connectors_added_while_the_case_runs_are_revoked_too(db: TestDb) {
    let test = "accounts_and_connectors_added_while_the_case_runs_are_revoked_too";
    let Some(scim_server) = ScimServer::start(test) else {
        return;
    };
    let jdoe = scim_server.add_user("jdoe");
    let contractor = scim_server.add_user("jdoe-contractor");
    let firm = firm(db).await;
    // The case starts before anyone configured the connector.
    firm.leaver(&[("okta", "jdoe")]).await;
    assert!(firm.jobs(JobStatus::Queued).await.is_empty());
    firm.okta(&scim_server).await;
    // And a second account turns up afterwards.
    firm.add_account("okta", "jdoe-contractor").await;
    let queued = firm.jobs(JobStatus::Queued).await;
    assert_eq!(
        queued.len(),
        2,
        "one job per account, none twice: {queued:?}"
    );
    let effective: Timestamp = EXIT_TAKES_EFFECT.parse().unwrap();
    assert!(queued.iter().all(|j| j.run_at == effective));
    firm.at_exit(SignedDuration::ZERO);
    assert_eq!(firm.worker().run_due().await.unwrap(), 2);
    for id in [jdoe, contractor] {
        assert_eq!(scim_server.user(&id)["active"], json!(false));
    }
}

testkit::on_both_stores!(
    an_employees_access_is_revoked_and_verified_at_the_exit_time,
    a_directory_that_is_down_is_retried_then_the_case_shows_it_failed,
    a_silent_target_times_out_and_is_retried,
    a_target_that_refuses_connections_is_named_as_such,
    a_slow_target_holds_up_only_its_own_jobs,
    a_worker_killed_between_the_call_and_its_acknowledgement_changes_the_target_once,
    a_cancelled_exit_revokes_nothing,
    a_webhook_target_is_told_with_a_signed_event_and_answers_for_itself,
    audit_events_go_out_to_a_webhook_in_order_and_resume_after_a_failure,
    accounts_and_connectors_added_while_the_case_runs_are_revoked_too,
);
