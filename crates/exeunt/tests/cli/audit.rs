//! The audit chain through the CLI (tampering found and named, on both stores), a whole case
//! on PostgreSQL, and the role every write checks.

use crate::harness::{Exeunt, LATER, assert_refused};

async fn tamper_and_verify(e: &Exeunt, sql: impl AsyncFn(&str)) {
    e.ok(&["init"]);
    e.ok(&[
        "subject", "add", "acme", "--kind", "client", "--name", "Acme",
    ]);
    e.ok(&["case", "start", "acme", "--exit-date", LATER]);
    assert!(e.ok(&["audit", "verify"]).contains("is intact"));
    sql("UPDATE audit_events SET payload = replace(payload, 'Acme', 'Acne') WHERE seq = 10").await;
    let out = e.run(&["audit", "verify"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("event 10 (subject.created) was altered"),
        "{out:?}"
    );
    sql("UPDATE audit_events SET payload = replace(payload, 'Acne', 'Acme') WHERE seq = 10").await;
    sql("DELETE FROM audit_events WHERE seq = (SELECT MAX(seq) FROM audit_events)").await;
    let out = e.run(&["audit", "verify"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("missing"),
        "{out:?}"
    );
}

#[tokio::test]
async fn audit_verify_names_the_altered_event_on_sqlite() {
    let e = Exeunt::sqlite();
    let db = e.data_dir().join("exeunt.db");
    tamper_and_verify(&e, async |q| {
        rusqlite::Connection::open(&db)
            .unwrap()
            .execute_batch(q)
            .unwrap();
    })
    .await;
}

#[tokio::test]
async fn audit_verify_names_the_altered_event_on_postgres() {
    let Some(e) = Exeunt::postgres("audit_verify_names_the_altered_event_on_postgres").await else {
        return;
    };
    let url = e.database_url.clone().unwrap();
    tamper_and_verify(&e, async |q| {
        let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&url)
            .await
            .unwrap();
        sqlx::query(sqlx::AssertSqlSafe(q.to_owned()))
            .execute(&mut conn)
            .await
            .unwrap();
    })
    .await;
}

#[tokio::test]
async fn a_whole_case_runs_on_postgres_through_the_cli() {
    let Some(e) = Exeunt::postgres("a_whole_case_runs_on_postgres_through_the_cli").await else {
        return;
    };
    e.ok(&["init", "--org", "Pg Firm"]);
    e.ok(&[
        "subject",
        "add",
        "p1",
        "--kind",
        "client",
        "--name",
        "Party",
        "--attr",
        "service_type=client-file",
    ]);
    e.ok(&["case", "start", "p1", "--exit-date", LATER]);
    e.ok(&["task", "complete", "1", "complete-file"]);
    e.ok(&["task", "complete", "1", "compliance-review"]);
    e.ok(&["case", "close", "1", "--confirm", "TERMINATE"]);
    assert!(e.ok(&["case", "show", "1"]).contains("done (completed)"));
    assert!(e.ok(&["audit", "verify"]).contains("is intact"));
}

#[test]
fn every_write_checks_the_actors_role() {
    let e = Exeunt::sqlite();
    e.ok(&["init"]);
    for (email, role, team) in [
        ("ada@example.com", "admin", "hr"),
        ("mia@example.com", "manager", "hr"),
        ("ian@example.com", "member", "it"),
        ("aud@example.com", "auditor", "compliance"),
    ] {
        e.ok(&[
            "user", "add", email, "--name", "Someone", "--role", role, "--team", team,
        ]);
    }
    e.ok(&[
        "subject",
        "add",
        "firm",
        "--kind",
        "organization",
        "--name",
        "Our firm",
    ]);
    let letter = e.write("letter.pdf", "resignation letter");
    let letter = letter.to_str().unwrap();
    let manager = |args: &[&str]| e.ok(&[&["--as", "mia@example.com"], args].concat());
    manager(&[
        "subject", "add", "kim", "--kind", "employee", "--name", "Kim",
    ]);
    manager(&["case", "start", "kim", "--exit-date", LATER]);
    manager(&[
        "task",
        "complete",
        "1",
        "confirm-exit-date",
        "--evidence",
        letter,
    ]);

    let before = e.snapshot();
    let refusals: &[(&str, &[&str], &str)] = &[
        (
            "aud@example.com",
            &["subject", "add", "x", "--kind", "client", "--name", "X"],
            "needs the manager role",
        ),
        (
            "aud@example.com",
            &["task", "complete", "1", "reset-shared-credentials"],
            "completing tasks needs the member role",
        ),
        (
            "aud@example.com",
            &["case", "cancel", "1", "--reason", "no"],
            "needs the manager role",
        ),
        (
            "ian@example.com",
            &["case", "start", "firm", "--exit-date", LATER],
            "needs the manager role",
        ),
        (
            "ian@example.com",
            &["task", "complete", "1", "settle-final-pay"],
            "completing a task that is not yours",
        ),
        (
            "ian@example.com",
            &["record", "add", "kim", "note", "text=hi"],
            "needs the manager role",
        ),
        (
            "ian@example.com",
            &["task", "waive", "1", "close-benefits", "--reason", "n/a"],
            "needs the manager role",
        ),
        (
            "mia@example.com",
            &["user", "add", "new@example.com", "--name", "New"],
            "needs the admin role",
        ),
        (
            "ada@example.com",
            &["case", "start", "firm", "--exit-date", LATER],
            "needs the owner role",
        ),
    ];
    for (who, args, phrase) in refusals {
        let out = e.run(&[&["--as", who], *args].concat());
        assert_refused(&out, 1, phrase);
    }
    assert_eq!(e.snapshot(), before, "refused writes changed nothing");

    // A member completes a task of their own team; the auditor reads everything.
    e.ok(&[
        "--as",
        "ian@example.com",
        "task",
        "complete",
        "1",
        "reset-shared-credentials",
    ]);
    assert!(
        e.ok(&["--as", "aud@example.com", "case", "show", "1"])
            .contains("reset-shared-credentials")
    );
    assert!(
        e.ok(&["--as", "aud@example.com", "audit", "verify"])
            .contains("is intact")
    );
    // Only the owner starts organization offboarding.
    e.ok(&["case", "start", "firm", "--exit-date", LATER]);
}
