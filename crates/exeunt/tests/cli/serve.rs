//! `exeunt serve`, tokens, the demo, and the benchmarks.

use std::process::Command;

use crate::harness::{Exeunt, assert_refused, host, http_get, try_http};

#[test]
fn serve_sets_up_a_fresh_data_dir_and_stops_on_sigterm() {
    use std::io::{BufRead, BufReader};
    let e = Exeunt::sqlite();
    let mut child = Command::new(env!("CARGO_BIN_EXE_exeunt"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("EXEUNT_DATA_DIR", e.data_dir())
        .env_remove("EXEUNT_DATABASE_URL")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let (mut token, mut addr, mut code) = (String::new(), String::new(), String::new());
    for line in lines.by_ref() {
        let line = line.unwrap();
        if let Some(c) = line.split("/first-run?code=").nth(1) {
            code = c.split_whitespace().next().unwrap().to_owned();
        }
        if let Some(t) = line.split_whitespace().find(|w| w.starts_with("exu_")) {
            token = t.trim_matches('\'').to_owned();
        }
        if let Some(rest) = line.split("on http://").nth(1) {
            addr = rest.split_whitespace().next().unwrap().to_owned();
            break;
        }
    }
    assert!(
        token.starts_with("exu_") && !addr.is_empty(),
        "serve printed a token and its address"
    );
    let (status, body) = http_get(&addr, "/api/v1/cases", &token);
    assert!(status.contains("200"), "{status} {body}");
    assert_eq!(body.trim(), "[]");
    let (status, _) = http_get(&addr, "/api/v1/cases", "exu_wrong");
    assert!(status.contains("401"), "{status}");
    let (status, body) = http_get(&addr, &format!("/first-run?code={code}"), "");
    assert!(
        status.contains("200") && body.contains("owner@example.com"),
        "the first-run page names the owner: {status} {body}"
    );

    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert!(child.wait().unwrap().success(), "a graceful stop exits 0");
    let mut logs = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut logs).unwrap();
    // The text log, as a file or a collector gets it: no colour codes, and durations to the
    // microsecond rather than every digit of a float.
    assert!(!logs.contains('\u{1b}'), "{logs:?}");
    let request = logs
        .lines()
        .find(|l| l.contains("route=/api/v1/cases") && l.contains("status=200"))
        .unwrap_or_else(|| panic!("{logs}"));
    let ms = request
        .split_whitespace()
        .find_map(|w| w.strip_prefix("ms="))
        .unwrap_or_else(|| panic!("{request}"));
    assert!(ms.parse::<f64>().is_ok(), "{request}");
    assert!(
        ms.split('.')
            .nth(1)
            .is_none_or(|decimals| decimals.len() <= 3),
        "{request}"
    );
    assert!(
        code.len() >= 20,
        "serve printed the link that sets the owner's first password"
    );
    assert!(
        !logs.contains(&token) && !logs.contains(&code),
        "no secret in the logs: {logs}"
    );
    assert!(rest.iter().any(|l| l == "Stopped."), "{rest:?}");
    // The next start finds the tenant and prints no new token.
    assert!(e.ok(&["token", "list"]).contains("first sign-in"));
}

#[test]
fn tokens_are_issued_listed_and_revoked() {
    let e = Exeunt::sqlite();
    e.ok(&["init"]);
    e.ok(&[
        "user",
        "add",
        "ian@example.com",
        "--name",
        "Ian",
        "--role",
        "member",
    ]);
    let issued = e.ok(&[
        "token",
        "create",
        "--name",
        "ci",
        "--role",
        "member",
        "--for",
        "ian@example.com",
    ]);
    let secret = issued.lines().nth(1).unwrap();
    assert!(secret.starts_with("exu_") && secret.len() == 68, "{issued}");
    assert_refused(
        &e.run(&[
            "token",
            "create",
            "--name",
            "x",
            "--role",
            "admin",
            "--for",
            "ian@example.com",
        ]),
        1,
        "a token for them can be member or weaker",
    );
    let list = e.ok(&["token", "list", "--json"]);
    assert!(!list.contains(secret), "the secret is never shown again");
    let tokens: serde_json::Value = serde_json::from_str(&list).unwrap();
    let id = tokens[0]["id"].as_str().unwrap();
    e.ok(&["token", "revoke", id]);
    assert!(e.ok(&["token", "list"]).contains("revoked"));
    assert_refused(&e.run(&["token", "revoke", id]), 1, "already revoked");
    // Recent writes sit in the write-ahead log, so read both files.
    for file in ["exeunt.db", "exeunt.db-wal"] {
        let stored = std::fs::read(e.data_dir().join(file)).unwrap_or_default();
        assert!(
            !stored.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "{file} holds no token secret"
        );
    }
}

#[test]
fn serve_demo_prints_a_sign_in_for_every_role() {
    use std::io::{BufRead, BufReader};
    let e = Exeunt::sqlite();
    let mut child = Command::new(env!("CARGO_BIN_EXE_exeunt"))
        .args([
            "serve",
            "--demo",
            "--listen",
            "127.0.0.1:0",
            "--log-format",
            "json",
        ])
        .env("EXEUNT_DATA_DIR", e.data_dir())
        .env_remove("EXEUNT_DATABASE_URL")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let mut printed = Vec::new();
    let mut addr = String::new();
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        if let Some(rest) = line.strip_prefix("Exeunt serves demo on http://") {
            addr = rest.split_whitespace().next().unwrap().to_owned();
            printed.push(line);
            break;
        }
        printed.push(line);
    }
    let (status, _) = http_get(&addr, "/healthz", "");
    assert!(status.contains("200"), "{status}");
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    child.wait().unwrap();
    // `--log-format json`: one JSON object a line, the request among them.
    let mut logs = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut logs).unwrap();
    let lines: Vec<serde_json::Value> = logs
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert!(
        lines
            .iter()
            .any(|l| l["span"]["route"] == "/healthz" && l["fields"]["status"] == 200),
        "{logs}"
    );
    for role in ["owner", "manager", "member", "auditor"] {
        assert!(
            printed
                .iter()
                .any(|l| l.contains("@demo.example") && l.split_whitespace().nth(1) == Some(role)),
            "{printed:?}"
        );
    }
    let cases = e.ok(&["--tenant", "demo", "case", "list"]);
    for status in [
        "in_progress",
        "review",
        "done (completed)",
        "done (cancelled)",
    ] {
        assert!(cases.contains(status), "{cases}");
    }
}

#[test]
fn the_benchmarks_run_and_print_their_ratios() {
    let e = Exeunt::sqlite();
    for (args, expected) in [
        (
            &["bench", "fanout", "--clients", "20"][..],
            "20 created and prechecked",
        ),
        (&["bench", "audit", "--events", "1000"][..], "× the target"),
        (
            &["bench", "export", "--documents", "10", "--mib", "4"][..],
            "× zip",
        ),
        (&["bench", "write", "--ops", "20"][..], "× the probe"),
        (&["bench", "api", "--ops", "40"][..], "idle serve"),
        (
            &["bench", "offboard", "--employees", "20", "--tasks", "3"][..],
            "each of the 20 starts and 60 completions is in it once",
        ),
        (
            &["bench", "scale", "--cases", "300", "--requests", "16"][..],
            "GET my tasks",
        ),
    ] {
        let out = e.ok(args);
        assert!(out.contains(expected), "{args:?}: {out}");
        assert!(
            out.contains("ratio") || out.contains("×") || out.contains("(target ≤"),
            "{args:?}: {out}"
        );
    }
    let leftovers: Vec<_> = std::fs::read_dir(e.dir.path())
        .unwrap()
        .filter_map(Result::ok)
        .filter(|d| d.file_name().to_string_lossy().starts_with("exeunt-bench-"))
        .collect();
    assert!(
        leftovers.is_empty(),
        "the benchmarks clean up after themselves"
    );
}

/// The queue benchmark on both stores: on PostgreSQL its workers are processes of their own,
/// sharing the queue, and what they ran adds up to what was queued.
#[tokio::test]
async fn the_job_queue_benchmark_drains_the_queue_with_worker_processes() {
    let test = "the_job_queue_benchmark_drains_the_queue_with_worker_processes";
    let Some(url) = testkit::fresh_postgres(test).await else {
        return;
    };
    if Command::new("pgbench").arg("--version").output().is_err() {
        testkit::missing_service::<()>(test, "pgbench (apt-get install postgresql-client)");
        return;
    }
    let e = Exeunt::sqlite();
    let out = e.ok(&["bench", "jobs", "--jobs", "40", "--postgres", &url]);
    for expected in [
        "1 worker, 1 job at a time",
        "× the probe",
        "each worker a process of its own",
        "2 workers, 8 at a time",
        "× the plain loop",
        "enqueue to start, idle",
    ] {
        assert!(out.contains(expected), "{expected}: {out}");
    }
    assert_eq!(out.matches("enqueue to start").count(), 2, "{out}");
}

/// The offboarding benchmark on PostgreSQL with one server and with two behind HAProxy: every
/// start and completion is recorded once whichever server took it, and PostgreSQL's rates are
/// set beside SQLite's.
#[tokio::test]
async fn the_offboarding_benchmark_spreads_the_load_over_two_servers() {
    let test = "the_offboarding_benchmark_spreads_the_load_over_two_servers";
    let Some(url) = testkit::fresh_postgres(test).await else {
        return;
    };
    if Command::new("haproxy").arg("-v").output().is_err() {
        testkit::missing_service::<()>(test, "haproxy (apt-get install haproxy)");
        return;
    }
    let e = Exeunt::sqlite();
    let out = e.ok(&[
        "bench",
        "offboard",
        "--employees",
        "30",
        "--tasks",
        "2",
        "--postgres",
        &url,
        "--servers",
        "2",
    ]);
    for expected in [
        "SQLite, 1 server",
        "PostgreSQL, 1 server",
        "PostgreSQL, 2 servers behind HAProxy",
        "completions       ",
    ] {
        assert!(out.contains(expected), "{expected}: {out}");
    }
    assert_eq!(
        out.matches("each of the 30 starts and 60 completions is in it once")
            .count(),
        3,
        "{out}"
    );
}

/// The record benchmark runs on both stores and prints each end's cost beside the other.
#[tokio::test]
async fn the_record_benchmark_compares_a_full_subject_with_an_empty_one() {
    let test = "the_record_benchmark_compares_a_full_subject_with_an_empty_one";
    let Some(url) = testkit::fresh_postgres(test).await else {
        return;
    };
    let e = Exeunt::sqlite();
    let out = e.ok(&["bench", "records", "--records", "300", "--postgres", &url]);
    for backend in ["SQLite", "PostgreSQL"] {
        let line = out
            .lines()
            .find(|l| l.trim_start().starts_with(backend))
            .unwrap_or_else(|| panic!("{backend}: {out}"));
        assert!(
            line.contains("after 300 more") && line.contains("(limit ≤ 1.5×)"),
            "{line}"
        );
    }
}

#[test]
fn serve_refuses_a_job_lease_or_concurrency_it_cannot_use() {
    let e = Exeunt::sqlite();
    assert_refused(
        &e.run(&["serve", "--job-lease", "soon"]),
        2,
        "`soon` is not a duration",
    );
    assert_refused(
        &e.run(&["serve", "--job-lease", "2h"]),
        2,
        "outside 1s to 1h",
    );
    assert_refused(
        &e.run(&["serve", "--job-concurrency", "0"]),
        2,
        "a job concurrency of 0 is outside 1 to 64",
    );
    assert_refused(
        &e.run(&["serve", "--job-concurrency", "all"]),
        2,
        "`all` is not a whole number",
    );
    assert!(!e.data_dir().exists(), "nothing was set up");
}

/// A small file system of its own, mounted for one test and unmounted when dropped.
struct SmallDisk(std::path::PathBuf);

impl SmallDisk {
    fn mount(at: &std::path::Path, size: &str) -> Option<SmallDisk> {
        std::fs::create_dir_all(at).unwrap();
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at)
            .status()
            .is_ok_and(|s| s.success());
        mounted.then(|| SmallDisk(at.to_owned()))
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

/// With the data dir's disk full, a write is refused with a problem document that says so and
/// when to try again, `/readyz` says not ready, and nothing is half-written; once space
/// returns, the same request goes through and the server is ready again, without a restart.
#[test]
fn a_full_disk_refuses_writes_clearly_until_space_returns() {
    const TEST: &str = "a_full_disk_refuses_writes_clearly_until_space_returns";
    let e = Exeunt::sqlite();
    let Some(_disk) = SmallDisk::mount(&e.data_dir(), "8m") else {
        testkit::missing_service::<()>(TEST, "a tmpfs mount (run as root)");
        return;
    };
    e.ok(&["init"]);
    let token = e.admin_token("ops");
    let (mut server, base) = e.serve(&[]);
    let addr = host(&base);
    let acme = r#"{"key":"acme","kind":"client","name":"Acme"}"#;

    let filler = e.data_dir().join("filler");
    let mut file = std::fs::File::create(&filler).unwrap();
    let block = vec![7u8; 64 * 1024];
    while std::io::Write::write_all(&mut file, &block).is_ok() {}
    drop(file);

    let keyed = [("Idempotency-Key", "add-acme")];
    let send = || try_http(addr, "POST", "/api/v1/subjects", &token, Some(acme), &keyed);
    let (status, headers, body) = send().unwrap();
    assert!(status.contains("503"), "{status} {body}");
    assert!(
        headers.contains("content-type: application/problem+json"),
        "{headers}"
    );
    assert!(headers.contains("retry-after: 30"), "{headers}");
    assert!(body.contains("/problems/storage-unavailable"), "{body}");
    let (status, _) = http_get(addr, "/readyz", "");
    assert!(
        status.contains("503"),
        "not ready while writes fail: {status}"
    );

    std::fs::remove_file(&filler).unwrap();
    let (status, _) = http_get(addr, "/readyz", "");
    assert!(status.contains("200"), "ready once space returns: {status}");
    let (status, headers, body) = send().unwrap();
    assert!(
        status.contains("201") && !headers.contains("idempotent-replayed"),
        "the refused write was not kept, nor its answer: {status} {body}"
    );
    let (_, subjects) = http_get(addr, "/api/v1/subjects", &token);
    assert_eq!(
        subjects.matches("\"key\":\"acme\"").count(),
        1,
        "{subjects}"
    );
    server.kill().unwrap();
    server.wait().unwrap();
    assert!(e.ok(&["audit", "verify"]).contains("is intact"));
}
