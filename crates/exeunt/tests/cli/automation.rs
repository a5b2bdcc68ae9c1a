//! Automation from the terminal: email through the job queue, connectors that revoke at the
//! exit, notification preferences and time zones, webhooks, email wording, metrics, and a
//! server killed mid-revocation.

use std::process::Command;

use crate::harness::{Exeunt, LATER, assert_refused, eventually};

#[test]
fn assignments_are_emailed_through_the_job_queue() {
    let Some(sink) =
        testkit::smtp::SmtpSink::start("assignments_are_emailed_through_the_job_queue")
    else {
        return;
    };
    let e = Exeunt::sqlite();
    e.ok(&["init"]);
    e.ok(&[
        "user",
        "add",
        "ines@example.com",
        "--name",
        "Ines IT",
        "--role",
        "member",
    ]);
    e.ok(&[
        "subject", "add", "globex", "--kind", "client", "--name", "Globex",
    ]);
    e.ok(&["case", "start", "globex", "--exit-date", LATER]);
    // A mail server that is down: the email waits in the queue, saying why.
    let down = testkit::smtp::unused_url();
    e.ok(&[
        "--smtp-url",
        &down,
        "task",
        "assign",
        "1",
        "account-transition",
        "ines@example.com",
    ]);
    assert!(
        e.ok(&["--smtp-url", &down, "jobs", "run"])
            .contains("Ran 1 job(s)")
    );
    let listed = e.ok(&["jobs", "list", "--status", "queued"]);
    assert!(
        listed.contains("email.notification") && listed.contains("1/8"),
        "{listed}"
    );
    assert!(listed.contains("SMTP"), "the last error shows: {listed}");
    let id = listed
        .lines()
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    assert_refused(
        &e.run(&["jobs", "retry", &id]),
        1,
        "only a dead job is sent again",
    );
    assert_refused(
        &e.run(&["jobs", "list", "--status", "paused"]),
        2,
        "not a job status",
    );

    // Assigning with the mail server up sends at once when the jobs run.
    e.ok(&[
        "--smtp-url",
        &sink.url(),
        "task",
        "assign",
        "1",
        "set-expectations",
        "ines@example.com",
    ]);
    assert!(
        e.ok(&["--smtp-url", &sink.url(), "jobs", "run"])
            .contains("Ran 1 job(s)")
    );
    let messages = sink.messages();
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert!(
        testkit::smtp::header(&messages[0], "To")
            .unwrap()
            .contains("ines@example.com"),
        "{}",
        messages[0]
    );
    assert!(
        messages[0].contains("/cases/1/tasks/set-expectations"),
        "{}",
        messages[0]
    );
    let done = e.ok(&["jobs", "list", "--status", "done", "--json"]);
    assert!(done.contains("\"kind\": \"email.notification\""), "{done}");
}

#[test]
fn a_connector_revokes_an_account_at_the_exit_and_the_case_shows_the_evidence() {
    let test = "a_connector_revokes_an_account_at_the_exit_and_the_case_shows_the_evidence";
    let Some(directory) = testkit::ldap::LdapServer::start(test) else {
        return;
    };
    let jdoe = directory.add_person("jdoe", "jdoe-password");
    let e = Exeunt::sqlite();
    e.ok(&["init"]);
    let settings = e.dir.path().join("corp-ldap.toml");
    std::fs::write(
        &settings,
        format!(
            "url = \"{}\"\nbind_dn = \"{}\"\npeople_base = \"{}\"\ndisable = \"lock\"\n",
            directory.url(),
            testkit::ldap::ADMIN_DN,
            testkit::ldap::PEOPLE
        ),
    )
    .unwrap();
    let secret = e.dir.path().join("secret");
    std::fs::write(&secret, format!("{}\n", testkit::ldap::ADMIN_PASSWORD)).unwrap();
    let settings = settings.to_str().unwrap();
    let secret = secret.to_str().unwrap();

    // Bad settings are refused, naming the setting, and nothing is stored.
    let bad = e.dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "url = \"http://x\"\nbind_dn = \"cn=a\"\npeople_base = \"ou=p\"\n",
    )
    .unwrap();
    assert_refused(
        &e.run(&[
            "connector",
            "set",
            "corp-ldap",
            "--kind",
            "ldap",
            "--settings",
            bad.to_str().unwrap(),
            "--secret-file",
            secret,
        ]),
        1,
        "settings.url",
    );
    assert_refused(
        &e.run(&[
            "connector",
            "set",
            "corp-ldap",
            "--kind",
            "x500",
            "--settings",
            settings,
        ]),
        2,
        "not a connector kind",
    );
    assert!(e.ok(&["connector", "list"]).contains("(none)"));

    e.ok(&[
        "connector",
        "set",
        "corp-ldap",
        "--kind",
        "ldap",
        "--settings",
        settings,
        "--secret-file",
        secret,
    ]);
    let listed = e.ok(&["connector", "list"]);
    assert!(
        listed.contains("corp-ldap") && listed.contains(&directory.url()),
        "{listed}"
    );
    let exported = e.ok(&["audit", "export"]);
    assert!(
        !exported.contains(testkit::ldap::ADMIN_PASSWORD),
        "the secret is never audited"
    );

    start_a_leaver_case(&e, "corp-ldap");
    assert!(directory.can_bind(&jdoe, "jdoe-password"));
    assert!(e.ok(&["jobs", "run"]).contains("Ran 1 job(s)"));
    assert!(
        !directory.can_bind(&jdoe, "jdoe-password"),
        "the bind is refused now"
    );

    let shown = e.ok(&["case", "show", "1"]);
    assert!(
        shown.contains("verified") && shown.contains("closed after"),
        "{shown}"
    );
    assert!(shown.contains("exposure window: closed after"), "{shown}");
    let json = e.ok(&["case", "show", "1", "--json"]);
    assert!(
        json.contains("\"checks\"") && json.contains("has no password"),
        "{json}"
    );
}

#[test]
fn people_choose_which_notifications_they_get_by_email() {
    let e = Exeunt::sqlite();
    e.ok(&["init"]);
    e.ok(&[
        "user",
        "add",
        "ines@example.com",
        "--name",
        "Ines IT",
        "--role",
        "member",
    ]);
    let mine = ["--as", "ines@example.com", "user", "notifications"];
    assert!(
        e.ok(&mine).lines().filter(|l| l.contains(" on ")).count() >= 5,
        "all on at first"
    );
    let before = e.ok(&["audit", "export"]);
    assert_refused(
        &e.run(
            &[
                &mine[..],
                &["--email-off", "digest", "--email-off", "gossip"],
            ]
            .concat(),
        ),
        1,
        "`gossip` is not a notification kind",
    );
    assert_eq!(e.ok(&["audit", "export"]), before, "nothing changed");
    let listed = e.ok(&[&mine[..], &["--email-off", "digest"]].concat());
    let digest = listed.lines().find(|l| l.starts_with("digest")).unwrap();
    assert!(digest.contains("off"), "{listed}");
    let owner = e.ok(&["user", "notifications"]);
    assert!(
        owner
            .lines()
            .find(|l| l.starts_with("digest"))
            .unwrap()
            .contains("on"),
        "only hers changed"
    );
}

#[test]
fn people_set_their_own_time_zone() {
    let e = Exeunt::sqlite();
    e.ok(&["init"]);
    e.ok(&[
        "user",
        "add",
        "ines@example.com",
        "--name",
        "Ines IT",
        "--role",
        "auditor",
    ]);
    let hers = ["--as", "ines@example.com", "user", "time-zone"];
    assert_eq!(e.ok(&hers).trim(), "ines@example.com is in UTC.");
    let before = e.ok(&["audit", "export"]);
    assert_refused(
        &e.run(&[&hers[..], &["Mars/Olympus_Mons"]].concat()),
        2,
        "`Mars/Olympus_Mons` is not a time zone",
    );
    assert_eq!(e.ok(&["audit", "export"]), before, "nothing changed");
    // Even a read-only auditor sets their own; the name comes back as the database spells it.
    assert_eq!(
        e.ok(&[&hers[..], &["asia/tokyo"]].concat()).trim(),
        "ines@example.com is in Asia/Tokyo now."
    );
    let users: serde_json::Value =
        serde_json::from_str(&e.ok(&["user", "list", "--json"])).unwrap();
    let zones: Vec<(&str, &str)> = users
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            (
                u["email"].as_str().unwrap(),
                u["time_zone"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        zones,
        [
            ("ines@example.com", "Asia/Tokyo"),
            ("owner@example.com", "UTC")
        ]
    );
    let log = e.ok(&["audit", "export"]);
    let set = log
        .lines()
        .find(|l| l.contains("user.time_zone_set"))
        .expect("the change is audited");
    assert!(set.contains("set their time zone to Asia/Tokyo"), "{set}");

    // Due times in a listing are the reader's.
    e.ok(&[
        "subject", "add", "acme", "--kind", "client", "--name", "Acme",
    ]);
    e.ok(&["case", "start", "acme", "--exit-date", LATER]);
    let tasks = ["task", "list", "--case", "1", "--all"];
    assert!(e.ok(&tasks).contains(" UTC"));
    e.ok(&["user", "time-zone", "Asia/Tokyo"]);
    let listed = e.ok(&tasks);
    assert!(
        listed.contains(" JST") && !listed.contains(" UTC"),
        "{listed}"
    );
}

#[test]
fn a_firm_sets_the_time_zone_its_people_start_in() {
    let e = Exeunt::sqlite();
    let out = e.ok(&["init", "--time-zone", "Europe/Berlin"]);
    assert!(out.contains("Time zone: Europe/Berlin."), "{out}");
    assert_eq!(
        e.ok(&["user", "time-zone"]).trim(),
        "owner@example.com is in Europe/Berlin."
    );
    e.ok(&[
        "user",
        "add",
        "mia@example.com",
        "--name",
        "Mia",
        "--role",
        "manager",
    ]);
    assert_refused(
        &e.run(&[
            "--as",
            "mia@example.com",
            "user",
            "default-time-zone",
            "Asia/Tokyo",
        ]),
        1,
        "admin",
    );
    assert_eq!(
        e.ok(&["user", "default-time-zone", "Asia/Tokyo"]).trim(),
        "People added from now on start in Asia/Tokyo."
    );
    e.ok(&[
        "user",
        "add",
        "ines@example.com",
        "--name",
        "Ines",
        "--role",
        "member",
    ]);
    let listed = e.ok(&["user", "list"]);
    let zone_of = |email: &str| {
        listed
            .lines()
            .find(|l| l.starts_with(email))
            .and_then(|l| l.split_whitespace().nth(2))
            .map(str::to_owned)
    };
    assert_eq!(zone_of("owner@").as_deref(), Some("Europe/Berlin"));
    assert_eq!(
        zone_of("mia@").as_deref(),
        Some("Europe/Berlin"),
        "{listed}"
    );
    assert_eq!(zone_of("ines@").as_deref(), Some("Asia/Tokyo"), "{listed}");
}

#[test]
fn audit_events_reach_a_webhook_from_the_command_line() {
    let key = "a-webhook-signing-key-of-32-bytes!";
    let receiver = testkit::webhook::WebhookReceiver::start(key);
    let e = Exeunt::sqlite();
    e.ok(&["init"]);
    let settings = e.dir.path().join("feed.toml");
    std::fs::write(
        &settings,
        format!(
            "url = \"{}\"\nallow_private_hosts = [\"127.0.0.1\"]\nevents = [\"subject.*\"]\n",
            receiver.url()
        ),
    )
    .unwrap();
    let secret = e.dir.path().join("key");
    std::fs::write(&secret, key).unwrap();
    let (settings, secret) = (settings.to_str().unwrap(), secret.to_str().unwrap());
    let short = e.dir.path().join("short");
    std::fs::write(&short, "too-short").unwrap();
    assert_refused(
        &e.run(&[
            "webhook",
            "set",
            "feed",
            "--settings",
            settings,
            "--secret-file",
            short.to_str().unwrap(),
        ]),
        1,
        "at least 32",
    );
    e.ok(&[
        "webhook",
        "set",
        "feed",
        "--settings",
        settings,
        "--secret-file",
        secret,
    ]);
    e.ok(&[
        "subject", "add", "globex", "--kind", "client", "--name", "Globex",
    ]);
    e.ok(&["jobs", "run"]);
    let events = receiver.events();
    assert_eq!(events.len(), 1, "{events:?}");
    assert!(
        events[0].contains("com.exeunt.audit.subject.created"),
        "{events:?}"
    );
    let listed = e.ok(&["webhook", "list"]);
    assert!(
        listed.contains("feed") && listed.contains("subject.*"),
        "{listed}"
    );
    e.ok(&["webhook", "remove", "feed"]);
    assert!(e.ok(&["webhook", "list"]).contains("(none)"));
}

#[test]
fn admins_word_the_emails_and_a_template_that_does_not_render_is_refused() {
    let Some(sink) = testkit::smtp::SmtpSink::start("admins_word_the_emails") else {
        return;
    };
    let e = Exeunt::sqlite();
    e.ok(&["init"]);
    e.ok(&[
        "user",
        "add",
        "ines@example.com",
        "--name",
        "Ines IT",
        "--role",
        "member",
    ]);
    e.ok(&[
        "subject", "add", "globex", "--kind", "client", "--name", "Globex",
    ]);
    e.ok(&["case", "start", "globex", "--exit-date", LATER]);
    let body = e.dir.path().join("body.txt");
    std::fs::write(&body, "Dear {{ recipient.name }},\n{{ sumary }}\n").unwrap();
    let body = body.to_str().unwrap();
    assert_refused(
        &e.run(&[
            "template",
            "set",
            "task.assigned",
            "--subject",
            "Hi",
            "--body-file",
            body,
        ]),
        1,
        "line 2",
    );
    assert!(
        e.ok(&["template", "list"])
            .lines()
            .all(|l| !l.contains("yes")),
        "nothing saved"
    );
    std::fs::write(
        body,
        "Dear {{ recipient.name }},\n{{ summary }}: {{ link }}\n",
    )
    .unwrap();
    e.ok(&[
        "template",
        "set",
        "task.assigned",
        "--subject",
        "Acme: {{ summary }}",
        "--body-file",
        body,
    ]);
    e.ok(&[
        "--smtp-url",
        &sink.url(),
        "task",
        "assign",
        "1",
        "account-transition",
        "ines@example.com",
    ]);
    e.ok(&["--smtp-url", &sink.url(), "jobs", "run"]);
    let mail = sink
        .messages()
        .into_iter()
        .find(|m| m.contains("ines@example.com"))
        .expect("the assignment email");
    assert!(mail.contains("Dear Ines IT,"), "{mail}");
    assert!(
        testkit::smtp::header(&mail, "Subject")
            .unwrap()
            .starts_with("Acme: "),
        "{mail}"
    );
    e.ok(&["template", "reset", "task.assigned"]);
    assert_refused(
        &e.run(&["template", "reset", "task.assigned"]),
        1,
        "already use the built-in wording",
    );
}

/// The SCIM connector `okta`, to `base_url`, with the test server's token.
fn set_okta(e: &Exeunt, base_url: &str, timeout_secs: u32) {
    let settings = e.write(
        "okta.toml",
        &format!("base_url = \"{base_url}\"\ntimeout_secs = {timeout_secs}\n"),
    );
    let token = e.write("okta-token", testkit::scim::TOKEN);
    e.ok(&[
        "connector",
        "set",
        "okta",
        "--kind",
        "scim",
        "--settings",
        settings.to_str().unwrap(),
        "--secret-file",
        token.to_str().unwrap(),
    ]);
}

/// Jane Doe, an employee in Berlin with account `jdoe` in `system`, whose exit took effect two
/// days ago at 17:00 Berlin time: case 1, its revocation due at once.
fn start_a_leaver_case(e: &Exeunt, system: &str) {
    e.ok(&[
        "subject",
        "add",
        "jdoe",
        "--kind",
        "employee",
        "--name",
        "Jane Doe",
        "--attr",
        "country=DE",
        "--attr",
        "timezone=Europe/Berlin",
    ]);
    let system = format!("system={system}");
    e.ok(&[
        "record",
        "add",
        "jdoe",
        "account",
        &system,
        "identifier=jdoe",
    ]);
    let exit = (jiff::Timestamp::now() - jiff::SignedDuration::from_hours(48))
        .strftime("%Y-%m-%d")
        .to_string();
    e.ok(&["case", "start", "jdoe", "--exit-date", &exit]);
}

/// An exit that took effect while the directory is down leaves its access open, and the
/// server's `/metrics` says so: how many accesses are open, and for how long the oldest.
#[tokio::test]
async fn metrics_show_the_accesses_still_open_after_the_exit() {
    let e = Exeunt::sqlite();
    e.ok(&["init"]);
    let down = format!("http://127.0.0.1:{}/v2", testkit::free_port());
    set_okta(&e, &down, 2);
    start_a_leaver_case(&e, "okta");
    let (mut server, base) = e.serve(&[]);
    let client = connectors::http_client().build().unwrap();
    let mut metrics = String::new();
    // The first sweep records it; under a loaded test run (PostgreSQL suites checkpointing
    // beside it) that has taken more than 10 s.
    for _ in 0..300 {
        metrics = client
            .get(format!("{base}/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if metrics.contains("exeunt_open_exposures ") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    server.kill().unwrap();
    server.wait().unwrap();
    let gauge = |name: &str| -> f64 {
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or_else(|| panic!("no {name} in {metrics}"))
    };
    assert_eq!(gauge("exeunt_open_exposures"), 1.0, "{metrics}");
    let longest = gauge("exeunt_longest_open_exposure_seconds");
    assert!(
        (86_400.0..3.0 * 86_400.0).contains(&longest),
        "the exit took effect a day or two ago: {longest} s"
    );
}

/// A server killed while a connector's answer is on its way back: the target made the
/// change, Exeunt never heard. After a restart another worker takes the job over once its
/// lease runs out, finds the change already made, makes no second one, and records the
/// revocation as verified, once.
fn a_server_killed_between_the_call_and_its_acknowledgement_changes_the_target_once(
    e: &Exeunt,
    test: &str,
) {
    let Some(scim) = testkit::scim::ScimServer::start(test) else {
        return;
    };
    let jdoe = scim.add_user("jdoe");
    let proxy = testkit::proxy::HoldingProxy::start(scim.port(), "PATCH");
    e.ok(&["init"]);
    set_okta(e, &format!("http://127.0.0.1:{}/v2", proxy.port()), 60);
    start_a_leaver_case(e, "okta");
    let revocations = |status: &str| -> Vec<serde_json::Value> {
        let listed = e.ok(&["jobs", "list", "--status", status, "--json"]);
        let jobs: Vec<serde_json::Value> = serde_json::from_str(&listed).unwrap();
        jobs.into_iter()
            .filter(|j| j["kind"] == "access.revoke")
            .collect()
    };

    let (mut first, _) = e.serve(&["--job-lease", "2s"]);
    assert!(
        eventually(std::time::Duration::from_secs(30), || proxy.holding()),
        "the server deactivated the user: {:?}",
        proxy.requests()
    );
    let changed = scim.user(&jdoe);
    assert_eq!(
        changed["active"], false,
        "the change took effect: {changed}"
    );
    // The answer is still on its way; the server renews its 2 s lease meanwhile, so a second
    // worker does not take the job over.
    std::thread::sleep(std::time::Duration::from_secs(3));
    assert!(e.ok(&["jobs", "run"]).contains("Ran 0 job(s)"));
    first.kill().unwrap();
    first.wait().unwrap();
    assert_eq!(
        revocations("running").len(),
        1,
        "the kill left the job held: {}",
        e.ok(&["jobs", "list"])
    );

    let (mut second, _) = e.serve(&["--job-lease", "2s"]);
    let finished = eventually(std::time::Duration::from_secs(30), || {
        !revocations("done").is_empty()
    });
    Command::new("kill")
        .args(["-TERM", &second.id().to_string()])
        .status()
        .unwrap();
    second.wait().unwrap();
    assert!(finished, "the restarted server finished the job");
    let done = revocations("done");
    assert_eq!(done.len(), 1);
    assert_eq!(done[0]["attempts"], 2, "taken over once: {}", done[0]);
    let patches = proxy
        .requests()
        .into_iter()
        .filter(|r| r.starts_with("PATCH "))
        .count();
    assert_eq!(
        patches,
        1,
        "one call changed the user: {:?}",
        proxy.requests()
    );
    assert_eq!(
        scim.user(&jdoe)["meta"]["version"],
        changed["meta"]["version"],
        "the user was not changed again"
    );
    let shown = e.ok(&["case", "show", "1"]);
    assert!(shown.contains("verified"), "{shown}");
}

#[test]
fn a_server_killed_between_the_call_and_its_acknowledgement_changes_the_target_once_on_sqlite() {
    a_server_killed_between_the_call_and_its_acknowledgement_changes_the_target_once(
        &Exeunt::sqlite(),
        "a_server_killed_between_the_call_and_its_acknowledgement_on_sqlite",
    );
}

#[tokio::test]
async fn a_server_killed_between_the_call_and_its_acknowledgement_changes_the_target_once_on_postgres()
 {
    let test = "a_server_killed_between_the_call_and_its_acknowledgement_on_postgres";
    let Some(e) = Exeunt::postgres(test).await else {
        return;
    };
    a_server_killed_between_the_call_and_its_acknowledgement_changes_the_target_once(&e, test);
}
