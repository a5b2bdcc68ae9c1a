//! The audit chain through the CLI (tampering found and named, on both stores), a whole case
//! on PostgreSQL, and the role every write checks.

use crate::harness::{Exeunt, LATER, assert_refused, stderr};

async fn tamper_and_verify(e: &Exeunt) {
    e.ok(&["init"]);
    e.ok(&[
        "subject", "add", "acme", "--kind", "client", "--name", "Acme",
    ]);
    e.ok(&["case", "start", "acme", "--exit-date", LATER]);
    assert!(e.ok(&["audit", "verify"]).contains("is intact"));
    e.execute_behind_the_store(
        "UPDATE audit_events SET payload = replace(payload, 'Acme', 'Acne') WHERE seq = 10",
    )
    .await;
    let out = e.run(&["audit", "verify"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("event 10 (subject.created) was altered"),
        "{out:?}"
    );
    e.execute_behind_the_store(
        "UPDATE audit_events SET payload = replace(payload, 'Acne', 'Acme') WHERE seq = 10",
    )
    .await;
    e.execute_behind_the_store(
        "DELETE FROM audit_events WHERE seq = (SELECT MAX(seq) FROM audit_events)",
    )
    .await;
    let out = e.run(&["audit", "verify"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("missing"),
        "{out:?}"
    );
}

#[tokio::test]
async fn audit_verify_names_the_altered_event_on_sqlite() {
    tamper_and_verify(&Exeunt::sqlite()).await;
}

#[tokio::test]
async fn audit_verify_names_the_altered_event_on_postgres() {
    let Some(e) = Exeunt::postgres("audit_verify_names_the_altered_event_on_postgres").await else {
        return;
    };
    tamper_and_verify(&e).await;
}

/// Signed checkpoints catch a log whose tail was removed: offline, with the CLI and with an
/// outsider's verifier written from `docs/audit-format.md`, and in the database.
async fn checkpoints_catch_a_removed_tail(e: &Exeunt) {
    const TEST: &str = "checkpoints_catch_a_removed_tail";
    e.ok(&["init"]);
    e.ok(&[
        "subject", "add", "acme", "--kind", "client", "--name", "Acme",
    ]);
    e.ok(&["case", "start", "acme", "--exit-date", LATER]);
    e.ok(&["jobs", "run"]); // the worker's sweep signs the head
    let log = e.dir.path().join("log.jsonl");
    let keys = e.dir.path().join("keys.json");
    e.ok(&["audit", "export", "--output", log.to_str().unwrap()]);
    e.ok(&["key", "export", "--output", keys.to_str().unwrap()]);
    let verify = |file: &std::path::Path, more: &[&str]| {
        let mut args = vec!["audit", "verify", "--file", file.to_str().unwrap()];
        args.extend_from_slice(more);
        e.run(&args)
    };
    let keyed = ["--key", keys.to_str().unwrap()];
    let out = verify(&log, &keyed);
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{said} {}", stderr(&out));
    assert!(
        said.contains("is intact") && said.contains("signature verified"),
        "{said}"
    );
    let vouched: i64 = said
        .split("It holds event ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap();

    let python = |file: &std::path::Path, more: &[&std::path::Path]| {
        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/verify_audit.py"
        );
        let mut cmd = std::process::Command::new("python3");
        cmd.arg(script).arg(file).arg(&keys).args(more);
        cmd.output()
    };
    let has_python = std::process::Command::new("python3")
        .args(["-c", "import cryptography"])
        .status()
        .is_ok_and(|s| s.success());
    if has_python {
        let out = python(&log, &[]).unwrap();
        let said = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{said} {}", stderr(&out));
        let whole = format!("intact {} unchecked 0", events_in(&log));
        assert!(
            said.contains(&whole),
            "every payload checked with its key: {said}"
        );
    } else {
        testkit::missing_service::<()>(
            TEST,
            "python3 with cryptography (pip install cryptography)",
        );
    }

    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let (checkpoint_line, rest) = lines.split_last().unwrap();
    assert!(
        checkpoint_line.starts_with(r#"{"checkpoint""#),
        "{checkpoint_line}"
    );
    let (keys_lines, events): (Vec<&str>, Vec<&str>) =
        rest.iter().partition(|l| l.starts_with(r#"{"digest_key""#));
    assert!(!keys_lines.is_empty(), "the log carries the digest keys");
    let events = &events[..];
    let kept = events.len() - 2;
    assert!(
        (kept as i64) < vouched,
        "the cut reaches below the checkpoint"
    );
    let cut = e.write(
        "cut.jsonl",
        &[&keys_lines[..], &events[..kept], &[*checkpoint_line]]
            .concat()
            .join("\n"),
    );
    let out = verify(&cut, &keyed);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(&format!(
            "events after {kept} were removed: a signed checkpoint vouches for event {vouched}"
        )),
        "{out:?}"
    );
    if has_python {
        let out = python(&cut, &[]).unwrap();
        assert!(!out.status.success() && String::from_utf8_lossy(&out.stdout).contains("removed"));
    }

    // Cut with its checkpoint, the log looks whole; a checkpoint kept elsewhere catches it.
    let bare = e.write(
        "bare.jsonl",
        &[&keys_lines[..], &events[..kept]].concat().join("\n"),
    );
    let out = verify(&bare, &keyed);
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("No checkpoint"));
    let token: serde_json::Value = serde_json::from_str(checkpoint_line).unwrap();
    let elsewhere = e.write("checkpoint.jws", token["checkpoint"].as_str().unwrap());
    let out = verify(
        &bare,
        &[
            keyed[0],
            keyed[1],
            "--checkpoint",
            elsewhere.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    if has_python {
        assert!(!python(&bare, &[&elsewhere]).unwrap().status.success());
    }

    // A checkpoint whose signature does not hold is refused.
    let (signed, signature) = token["checkpoint"]
        .as_str()
        .unwrap()
        .rsplit_once('.')
        .unwrap();
    let flipped = if signature.starts_with('A') { 'B' } else { 'A' };
    let forged = format!("{signed}.{flipped}{}", &signature[1..]);
    let forged_line = serde_json::json!({ "checkpoint": forged }).to_string();
    let forged_log = e.write(
        "forged.jsonl",
        &[&keys_lines[..], events, &[forged_line.as_str()]]
            .concat()
            .join("\n"),
    );
    let out = verify(&forged_log, &keyed);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("signature"), "{}", stderr(&out));

    // In the database: the tail deleted and the head moved back, as an intruder would.
    e.execute_behind_the_store(&format!(
        "DELETE FROM audit_events WHERE seq > {kept}; \
         UPDATE audit_heads SET seq = {kept}, \
         hash = (SELECT hash FROM audit_events WHERE seq = {kept})"
    ))
    .await;
    let out = e.run(&["audit", "verify"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("were removed"),
        "{out:?}"
    );
}

/// How many events an exported log holds.
fn events_in(log: &std::path::Path) -> usize {
    std::fs::read_to_string(log)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with(r#"{"checkpoint""#) && !l.starts_with(r#"{"digest_key""#))
        .count()
}

#[tokio::test]
async fn checkpoints_catch_a_removed_tail_on_sqlite() {
    checkpoints_catch_a_removed_tail(&Exeunt::sqlite()).await;
}

#[tokio::test]
async fn checkpoints_catch_a_removed_tail_on_postgres() {
    let Some(e) = Exeunt::postgres("checkpoints_catch_a_removed_tail_on_postgres").await else {
        return;
    };
    checkpoints_catch_a_removed_tail(&e).await;
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
    // Only the owner starts organization offboarding, and only with its key typed again.
    assert_refused(
        &e.run(&["case", "start", "firm", "--exit-date", LATER]),
        1,
        "type its key, firm, to confirm",
    );
    e.ok(&[
        "case",
        "start",
        "firm",
        "--exit-date",
        LATER,
        "--confirm",
        "firm",
    ]);
}
