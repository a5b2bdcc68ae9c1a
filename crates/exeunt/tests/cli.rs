//! The `exeunt` binary, run as a person would run it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// An exit date for cases whose dates do not matter to the test: far enough ahead that no
/// reminder, digest or overdue warning falls due while it runs, whatever the day.
const LATER: &str = "2099-12-31";

struct Exeunt {
    dir: tempfile::TempDir,
    database_url: Option<String>,
}

impl Exeunt {
    fn sqlite() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
            database_url: None,
        }
    }

    async fn postgres(test: &str) -> Option<Self> {
        let url = testkit::fresh_postgres(test).await?;
        Some(Self {
            dir: tempfile::tempdir().unwrap(),
            database_url: Some(url),
        })
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// `exeunt args…` on this data dir (and database), with nothing from the caller's
    /// environment that would change what it does.
    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_exeunt"));
        cmd.args(args)
            .current_dir(self.dir.path())
            .env("EXEUNT_DATA_DIR", self.data_dir())
            .env_remove("EXEUNT_DATABASE_URL")
            .env_remove("EXEUNT_MASTER_KEY")
            .env_remove("EXEUNT_TENANT")
            .env_remove("EXEUNT_ACTOR")
            .env_remove("EXEUNT_SMTP_URL")
            .env_remove("EXEUNT_JOB_LEASE");
        if let Some(url) = &self.database_url {
            cmd.env("EXEUNT_DATABASE_URL", url);
        }
        cmd
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    /// `exeunt serve` on a free port with `args`, once it says it serves; and where.
    fn serve(&self, args: &[&str]) -> (std::process::Child, String) {
        use std::io::{BufRead, BufReader};
        let mut child = self
            .command(&[&["serve", "--listen", "127.0.0.1:0"], args].concat())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let base = lines
            .by_ref()
            .map_while(Result::ok)
            .find(|l| l.starts_with("Exeunt serves"))
            .and_then(|l| {
                let (_, after) = l.split_once(" on ")?;
                Some(after.split_whitespace().next()?.to_owned())
            })
            .expect("exeunt serve says where it serves");
        // Keep reading, so that the server never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        (child, base)
    }

    /// Runs a command that must succeed, and returns its standard output.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "exeunt {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Everything the tenant holds, as the audit log and the listings show it.
    fn snapshot(&self) -> (String, String, String) {
        (
            self.ok(&["audit", "export"]),
            self.ok(&["subject", "list", "--all", "--json"]),
            self.ok(&["case", "list", "--json"]),
        )
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    }
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A refusal: the expected exit code, one line on stderr that starts with `error:` and
/// contains `phrase`, and no panic.
fn assert_refused(out: &Output, code: i32, phrase: &str) {
    let err = stderr(out);
    assert_eq!(
        out.status.code(),
        Some(code),
        "expected exit {code}; stderr: {err}"
    );
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "one line expected, got: {err}"
    );
    assert!(err.starts_with("error:"), "{err}");
    assert!(err.contains(phrase), "expected {phrase:?} in: {err}");
    assert!(!err.contains("panicked"), "{err}");
}

/// The README's quickstart, run as a newcomer would: in a fresh directory, with a shell.
fn run_quickstart(e: &Exeunt) -> String {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).unwrap();
    let start = readme
        .find("<!-- quickstart -->")
        .expect("README has a quickstart marker");
    let block = &readme[start..];
    let body_start = block.find("```sh\n").unwrap() + "```sh\n".len();
    let body_end = block[body_start..].find("```").unwrap();
    let script = &block[body_start..body_start + body_end];
    let prelude = format!(
        "set -e\nexeunt() {{ '{}' \"$@\"; }}\n",
        env!("CARGO_BIN_EXE_exeunt")
    );
    let mut command = Command::new("bash");
    command
        .arg("-c")
        .arg(format!("{prelude}{script}"))
        .current_dir(e.dir.path())
        .env("EXEUNT_DATA_DIR", e.data_dir())
        .env_remove("EXEUNT_DATABASE_URL")
        .env_remove("EXEUNT_MASTER_KEY");
    if let Some(url) = &e.database_url {
        command.env("EXEUNT_DATABASE_URL", url);
    }
    let out = command.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "quickstart failed:\n{stdout}\n{}",
        stderr(&out)
    );
    assert!(stdout.contains("Case 1 is done (completed)"), "{stdout}");
    assert!(stdout.contains("is intact"), "{stdout}");
    assert!(
        stdout.contains("Valid certificate")
            && stdout.contains("client `globex` is fully offboarded"),
        "{stdout}"
    );
    assert!(stdout.contains("Valid BagIt package"), "{stdout}");
    stdout
}

#[tokio::test]
async fn the_readme_quickstart_works_on_postgres_too() {
    let Some(e) = Exeunt::postgres("the_readme_quickstart_works_on_postgres_too").await else {
        return;
    };
    run_quickstart(&e);
}

#[test]
fn the_readme_quickstart_works_as_written() {
    let e = Exeunt::sqlite();
    run_quickstart(&e);
    let listed = e.ok(&["subject", "list"]);
    assert!(
        !listed.contains("globex"),
        "an offboarded client is hidden: {listed}"
    );
    assert!(e.ok(&["subject", "list", "--all"]).contains("offboarded"));
}

#[test]
fn a_mistyped_confirmation_word_is_refused() {
    let e = Exeunt::sqlite();
    e.ok(&["init"]);
    e.ok(&[
        "subject",
        "add",
        "p1",
        "--kind",
        "client",
        "--name",
        "Party One",
        "--attr",
        "service_type=client-file",
    ]);
    e.ok(&["case", "start", "p1", "--exit-date", LATER]);
    e.ok(&["task", "complete", "1", "complete-file"]);
    assert_refused(
        &e.run(&["case", "close", "1", "--confirm", "TERMINATE"]),
        1,
        "can be closed only once every task is done",
    );
    e.ok(&["task", "complete", "1", "compliance-review"]);
    let before = e.snapshot();
    assert_refused(
        &e.run(&["case", "close", "1", "--confirm", "TERMINTE"]),
        1,
        "type TERMINATE exactly",
    );
    assert_eq!(e.snapshot(), before);
    e.ok(&["case", "close", "1", "--confirm", "TERMINATE"]);
    assert_refused(
        &e.run(&["task", "waive", "1", "complete-file", "--reason", "x"]),
        1,
        "cannot change any more",
    );
}

#[test]
fn bad_input_gets_one_line_and_changes_nothing() {
    let e = Exeunt::sqlite();
    e.ok(&["init"]);
    e.ok(&[
        "subject", "add", "acme", "--kind", "client", "--name", "Acme",
    ]);
    e.ok(&["case", "start", "acme", "--exit-date", LATER]);
    let before = e.snapshot();
    let usage: &[(&[&str], &str)] = &[
        (
            &["case", "start", "acme", "--exit-date", "31/12/2026"],
            "is not a date",
        ),
        (
            &["case", "start", "acme", "--exit-date", "2026-02-30"],
            "is not a date",
        ),
        (
            &["subject", "add", "a b", "--kind", "client", "--name", "X"],
            "a b",
        ),
        (
            &["subject", "add", "x", "--kind", "vendor", "--name", "X"],
            "not a subject kind",
        ),
        (
            &[
                "subject", "add", "x", "--kind", "client", "--name", "X", "--attr", "country",
            ],
            "is not NAME=VALUE",
        ),
        (
            &["task", "complete", "0", "set-expectations"],
            "is not a case number",
        ),
        (
            &["task", "complete", "1", "Set Expectations"],
            "Set Expectations",
        ),
        (
            &["user", "add", "not-an-email", "--name", "X"],
            "not an email address",
        ),
        (
            &[
                "user",
                "add",
                "a@example.com",
                "--name",
                "X",
                "--role",
                "king",
            ],
            "not a role",
        ),
        (&["case", "list", "--status", "closed"], "not a case status"),
        (
            &["record", "add", "acme", "gadget", "name=x"],
            "not a record kind",
        ),
        (&["no-such-command"], "no-such-command"),
    ];
    for (args, phrase) in usage {
        assert_refused(&e.run(args), 2, phrase);
    }
    let refused: &[(&[&str], &str)] = &[
        (
            &["subject", "add", "x", "--kind", "client", "--name", "   "],
            "--name is empty",
        ),
        (
            &[
                "subject",
                "add",
                "x",
                "--kind",
                "client",
                "--name",
                "X",
                "--attr",
                "timezone=Mars/Base",
            ],
            "IANA time zone",
        ),
        (
            &[
                "subject", "add", "acme", "--kind", "client", "--name", "Again",
            ],
            "already exists",
        ),
        (
            &["subject", "add", "p", "--kind", "product", "--name", "P"],
            "needs the key of the client",
        ),
        (&["subject", "show", "nobody"], "no subject `nobody`"),
        (
            &["record", "add", "acme", "account", "system=ldap"],
            "needs the field `identifier`",
        ),
        (
            &[
                "record",
                "add",
                "acme",
                "asset",
                "tag=L1",
                "description=Laptop",
                "status=lost",
            ],
            "expected one of issued",
        ),
        (
            &["case", "start", "acme", "--exit-date", LATER],
            "already has an open case: 1",
        ),
        (&["case", "show", "99"], "no case 99"),
        (
            &["case", "cancel", "1", "--reason", " "],
            "a reason is required",
        ),
        (
            &["task", "complete", "1", "no-such-task"],
            "has no task `no-such-task`",
        ),
        (
            &["task", "complete", "1", "set-expectations"],
            "needs evidence",
        ),
        (
            &[
                "task",
                "complete",
                "1",
                "set-expectations",
                "--evidence",
                "missing.pdf",
            ],
            "cannot read evidence file missing.pdf",
        ),
        (
            &["task", "complete", "1", "freeze-records"],
            "waits for stage `precheck`",
        ),
        (
            &["task", "assign", "1", "freeze-records", "ghost@example.com"],
            "no user ghost@example.com",
        ),
        (
            &[
                "blueprint",
                "plan",
                "employee-standard",
                "--subject",
                "acme",
                "--exit-date",
                LATER,
            ],
            "is a client",
        ),
        (&["blueprint", "show", "nope"], "no blueprint `nope`"),
        (
            &["user", "add", "owner@example.com", "--name", "Dup"],
            "already exists",
        ),
    ];
    for (args, phrase) in refused {
        assert_refused(&e.run(args), 1, phrase);
    }
    assert_eq!(e.snapshot(), before, "refused commands changed nothing");
}

/// `exeunt case list | head -1`: when whoever reads a command's output goes away, the command
/// does not panic. It finishes, and its exit code still says whether it succeeded; a streamed
/// output (an export) stops there, with the status of a program killed by SIGPIPE.
#[test]
fn a_reader_that_goes_away_ends_the_output_quietly() {
    let e = Exeunt::sqlite();
    e.ok(&["init"]);
    for i in 0..3 {
        let (key, name) = (format!("c{i}"), format!("Client {i}"));
        e.ok(&["subject", "add", "--kind", "client", "--name", &name, &key]);
    }
    let broken = e.write(
        "broken.yaml",
        "id: broken\nversion: 1\ntitle: Broken\nstages: []\n",
    );
    let broken = broken.to_str().unwrap();
    for (args, code) in [
        (&["subject", "list"][..], 0),
        (&["subject", "list", "--json"], 0),
        (&["blueprint", "show", "client-standard"], 0),
        (&["blueprint", "lint", broken], 1),
        (&["audit", "export"], 141),
    ] {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out = e.command(args).stdout(writer).output().unwrap();
        assert_eq!(out.status.code(), Some(code), "{args:?}: {}", stderr(&out));
        assert_eq!(stderr(&out), "", "{args:?}");
    }
}

#[test]
fn commands_before_init_say_what_to_do() {
    let e = Exeunt::sqlite();
    assert_refused(&e.run(&["subject", "list"]), 1, "run `exeunt init` first");
    assert!(
        !e.data_dir().exists(),
        "a read does not create the data dir"
    );
    e.ok(&["init"]);
    assert_refused(&e.run(&["init"]), 1, "already exists");
}

#[test]
fn csv_import_is_all_or_nothing_and_names_the_line() {
    let e = Exeunt::sqlite();
    e.ok(&["init"]);
    let bad = e.write(
        "bad.csv",
        "key,kind,name,parent,country\nacme,client,Acme Ltd,,DE\nwidget,product,Widget,acme,\nbroken,client,Broken,,Germany\n",
    );
    assert_refused(
        &e.run(&["subject", "import", bad.to_str().unwrap()]),
        1,
        "bad.csv:4: column `attributes`",
    );
    assert!(
        e.ok(&["subject", "list", "--all"]).contains("(none)"),
        "nothing was imported"
    );
    let missing = e.write("missing.csv", "key,name\nacme,Acme\n");
    assert_refused(
        &e.run(&["subject", "import", missing.to_str().unwrap()]),
        1,
        "no `kind` column",
    );
    let ragged = e.write("ragged.csv", "key,kind,name\nacme,client\n");
    assert_refused(
        &e.run(&["subject", "import", ragged.to_str().unwrap()]),
        1,
        "ragged.csv:2",
    );
    let orphan = e.write(
        "orphan.csv",
        "key,kind,name,parent\nacme,client,Acme,\nw,product,W,nobody\n",
    );
    assert_refused(
        &e.run(&["subject", "import", orphan.to_str().unwrap()]),
        1,
        "orphan.csv:3: parent: no subject `nobody`",
    );
    assert!(e.ok(&["subject", "list", "--all"]).contains("(none)"));

    let good = e.write(
        "good.csv",
        "key,kind,name,parent,country\nacme,client,Acme Ltd,,DE\nwidget,product,Widget,acme,\n",
    );
    assert!(
        e.ok(&["subject", "import", good.to_str().unwrap()])
            .contains("Imported 2 subjects")
    );
    let widget = e.ok(&["subject", "show", "widget"]);
    assert!(widget.contains("Belongs to: acme"), "{widget}");
}

#[test]
fn plan_shows_due_dates_in_the_subject_time_zone() {
    let e = Exeunt::sqlite();
    e.ok(&["init"]);
    e.ok(&[
        "subject",
        "add",
        "kim",
        "--kind",
        "employee",
        "--name",
        "Kim",
        "--attr",
        "country=DE",
        "--attr",
        "role=engineer",
        "--attr",
        "timezone=Europe/Berlin",
    ]);
    let plan = e.ok(&[
        "blueprint",
        "plan",
        "employee-standard",
        "--subject",
        "kim",
        "--exit-date",
        "2026-12-31",
    ]);
    assert!(
        plan.contains("revoke-access") && plan.contains("2026-12-31 17:00 CET"),
        "{plan}"
    );
    assert!(
        plan.contains("employment-reference") && plan.contains("revoke-production-access"),
        "{plan}"
    );
    e.ok(&[
        "subject",
        "add",
        "lee",
        "--kind",
        "employee",
        "--name",
        "Lee",
        "--attr",
        "country=US",
        "--attr",
        "timezone=America/New_York",
    ]);
    let plan = e.ok(&[
        "blueprint",
        "plan",
        "employee-standard",
        "--subject",
        "lee",
        "--exit-date",
        "2026-12-31",
    ]);
    assert!(
        plan.contains("skipped employment-reference") && plan.contains("2026-12-31 17:00 EST"),
        "{plan}"
    );
    let json: serde_json::Value = serde_json::from_str(&e.ok(&[
        "blueprint",
        "plan",
        "employee-standard",
        "--subject",
        "lee",
        "--exit-date",
        "2026-12-31",
        "--json",
    ]))
    .unwrap();
    let revoke = json["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == "revoke-access")
        .unwrap();
    assert_eq!(revoke["due_at"], "2026-12-31T22:00:00Z");
}

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

/// A raw HTTP/1.1 GET, so that this test needs no HTTP client: (status line, body).
fn http_get(addr: &str, path: &str, token: &str) -> (String, String) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    (
        head.lines().next().unwrap_or("").to_owned(),
        body.to_owned(),
    )
}

#[test]
fn serve_sets_up_a_fresh_data_dir_and_stops_on_sigterm() {
    use std::io::{BufRead, BufReader};
    let e = Exeunt::sqlite();
    let mut child = Command::new(env!("CARGO_BIN_EXE_exeunt"))
        .args(["serve", "--listen", "127.0.0.1:0", "--log-format", "json"])
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
    let handled: Vec<serde_json::Value> = logs
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    assert!(
        handled
            .iter()
            .any(|l| l["span"]["route"] == "/api/v1/cases" && l["fields"]["status"] == 200),
        "{logs}"
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
        .args(["serve", "--demo", "--listen", "127.0.0.1:0"])
        .env("EXEUNT_DATA_DIR", e.data_dir())
        .env_remove("EXEUNT_DATABASE_URL")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut printed = Vec::new();
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        let serving = line.starts_with("Exeunt serves demo on http://");
        printed.push(line);
        if serving {
            break;
        }
    }
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    child.wait().unwrap();
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
fn a_config_file_fills_what_flags_and_environment_leave_unset() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("exeunt.toml");
    let from_file = dir.path().join("from-file");
    std::fs::write(
        &config,
        format!(
            "data_dir = {:?}\n\n[serve]\nlog_format = \"json\"\n",
            from_file.display().to_string()
        ),
    )
    .unwrap();
    let run = |args: &[&str], env: &[(&str, &str)]| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_exeunt"));
        cmd.args(args)
            .current_dir(dir.path())
            .env_remove("EXEUNT_DATA_DIR")
            .env_remove("EXEUNT_DATABASE_URL")
            .env_remove("EXEUNT_CONFIG");
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    };
    assert!(
        run(&["--config", config.to_str().unwrap(), "init"], &[])
            .status
            .success()
    );
    assert!(
        from_file.join("exeunt.db").exists(),
        "the file's data_dir was used"
    );
    let flag_dir = dir.path().join("from-flag");
    assert!(
        run(
            &[
                "--config",
                config.to_str().unwrap(),
                "--data-dir",
                flag_dir.to_str().unwrap(),
                "init"
            ],
            &[]
        )
        .status
        .success()
    );
    assert!(
        flag_dir.join("exeunt.db").exists(),
        "a flag wins over the file"
    );
    let env_dir = dir.path().join("from-env");
    assert!(
        run(
            &["init"],
            &[
                ("EXEUNT_CONFIG", config.to_str().unwrap()),
                ("EXEUNT_DATA_DIR", env_dir.to_str().unwrap())
            ]
        )
        .status
        .success()
    );
    assert!(
        env_dir.join("exeunt.db").exists(),
        "the environment wins over the file"
    );

    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "data_dir = \"x\"\nlisten_port = 80\n").unwrap();
    assert_refused(
        &run(&["--config", bad.to_str().unwrap(), "subject", "list"], &[]),
        2,
        "unknown field `listen_port`",
    );
    std::fs::write(&bad, "[serve]\nlog_format = \"xml\"\n").unwrap();
    assert_refused(
        &run(&["--config", bad.to_str().unwrap(), "serve"], &[]),
        2,
        "serve.log_format `xml`; expected text or json",
    );
    std::fs::write(&bad, "data_dir = \n").unwrap();
    assert_refused(
        &run(&["--config", bad.to_str().unwrap(), "subject", "list"], &[]),
        2,
        "bad.toml",
    );
    assert_refused(
        &run(&["--config", "missing.toml", "subject", "list"], &[]),
        2,
        "cannot read config file missing.toml",
    );
}

#[test]
fn blueprints_tasks_and_passwords_through_the_cli() {
    let e = Exeunt::sqlite();
    e.ok(&["init"]);
    let list = e.ok(&["blueprint", "list"]);
    for id in [
        "client-standard",
        "organization",
        "employee-standard",
        "party",
        "product",
    ] {
        assert!(
            list.lines()
                .any(|l| l.starts_with(id) && l.contains("built-in")),
            "{list}"
        );
    }
    let custom = "id: quick-exit\nversion: 1\ntitle: Quick exit\nscope: client\napplies_when: attrs.service_type == \"quick\"\nstages:\n  - id: only\n    title: Only\n    tasks:\n      - id: wrap-up\n        title: Wrap up\n        team: operations\n";
    let file = e.write("quick-exit.yaml", custom);
    assert!(
        e.ok(&["blueprint", "add", file.to_str().unwrap()])
            .contains("Stored blueprint quick-exit version 1")
    );
    assert!(
        e.ok(&["blueprint", "list"])
            .lines()
            .any(|l| l.starts_with("quick-exit") && l.contains("tenant"))
    );
    assert_refused(
        &e.run(&["blueprint", "add", file.to_str().unwrap()]),
        1,
        "already at version 1",
    );
    let broken = e.write(
        "broken.yaml",
        &custom
            .replace("version: 1", "version: 2")
            .replace("operations", "marketing"),
    );
    assert_refused(
        &e.run(&["blueprint", "add", broken.to_str().unwrap()]),
        1,
        "broken.yaml:12:15: unknown team `marketing`",
    );

    e.ok(&[
        "subject",
        "add",
        "q",
        "--kind",
        "client",
        "--name",
        "Q",
        "--attr",
        "service_type=quick",
    ]);
    assert_refused(
        &e.run(&["case", "start", "q", "--exit-date", LATER]),
        1,
        "several blueprints apply to `q` (client-standard, quick-exit); name one",
    );
    let started = e.ok(&[
        "case",
        "start",
        "q",
        "--exit-date",
        LATER,
        "--blueprint",
        "quick-exit",
    ]);
    assert!(started.contains("with quick-exit@1"), "{started}");
    assert!(
        e.ok(&["task", "list"]).contains("(none)"),
        "nothing is the owner's yet"
    );
    e.ok(&["task", "assign", "1", "wrap-up", "owner@example.com"]);
    let mine = e.ok(&["task", "list"]);
    assert!(mine.contains("wrap-up") && mine.contains("open"), "{mine}");
    e.ok(&["task", "complete", "1", "wrap-up"]);
    assert!(e.ok(&["task", "list"]).contains("(none)"));
    assert!(
        e.ok(&["task", "list", "--case", "1", "--all"])
            .contains("done")
    );

    e.ok(&[
        "user",
        "add",
        "ada@example.com",
        "--name",
        "Ada",
        "--role",
        "admin",
    ]);
    let first = e.ok(&["user", "reset-password", "ada@example.com"]);
    let second = e.ok(&["user", "reset-password", "ada@example.com"]);
    let password = |out: &str| out.trim().rsplit(' ').next().unwrap().to_owned();
    assert_eq!(password(&first).len(), 24, "{first}");
    assert_ne!(
        password(&first),
        password(&second),
        "every reset draws a new password"
    );
    assert_refused(
        &e.run(&[
            "--as",
            "ada@example.com",
            "user",
            "reset-password",
            "owner@example.com",
        ]),
        1,
        "cannot set the password of a user with the owner role",
    );
}

#[test]
fn the_owner_places_and_lifts_legal_holds_and_sets_retention() {
    let e = Exeunt::sqlite();
    e.ok(&["init"]);
    e.ok(&[
        "subject", "add", "acme", "--kind", "client", "--name", "Acme",
    ]);
    e.ok(&[
        "user",
        "add",
        "mia@example.com",
        "--name",
        "Mia",
        "--role",
        "admin",
    ]);
    assert_refused(
        &e.run(&["--as", "mia@example.com", "hold", "place", "--reason", "x"]),
        1,
        "needs the owner role",
    );
    assert_refused(&e.run(&["hold", "place", "--reason", " "]), 1, "--reason");
    assert_refused(
        &e.run(&["retention", "set", "7w"]),
        2,
        "is not a retention period",
    );

    let placed = e.ok(&[
        "hold",
        "place",
        "--subject",
        "acme",
        "--reason",
        "Matter 17",
    ]);
    assert!(placed.contains("placed on acme"), "{placed}");
    e.ok(&["hold", "place", "--reason", "Regulator inquiry"]);
    let holds: serde_json::Value =
        serde_json::from_str(&e.ok(&["hold", "list", "--subject", "acme", "--json"])).unwrap();
    assert_eq!(holds.as_array().unwrap().len(), 2, "{holds}");
    let id = holds
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["reason"] == "Matter 17")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    e.ok(&["hold", "lift", &id, "--reason", "Settled"]);
    assert_refused(
        &e.run(&["hold", "lift", &id, "--reason", "again"]),
        1,
        "lifted already",
    );
    let table = e.ok(&["hold", "list"]);
    assert!(
        table.contains("lifted") && table.contains("standing"),
        "{table}"
    );
    assert!(
        table.contains("acme") && table.contains("(whole tenant)"),
        "{table}"
    );

    e.ok(&["retention", "set", "7y"]);
    e.ok(&["retention", "set", "90d", "--kind", "employee"]);
    let shown = e.ok(&["retention", "show"]);
    assert!(
        shown.contains("(default)") && shown.contains("7y"),
        "{shown}"
    );
    assert!(
        shown.contains("employee") && shown.contains("90d"),
        "{shown}"
    );
    let audit = e.ok(&["audit", "export"]);
    for action in ["legal_hold.placed", "legal_hold.lifted", "retention.set"] {
        assert!(
            audit.contains(action),
            "{action} missing from the audit log"
        );
    }
}

#[test]
fn records_freeze_only_once_precheck_passes_and_thaw_when_the_case_is_cancelled() {
    let e = Exeunt::sqlite();
    e.ok(&["init"]);
    e.ok(&[
        "subject", "add", "acme", "--kind", "client", "--name", "Acme",
    ]);
    e.ok(&["record", "add", "acme", "note", "text=stop"]);
    let guarded = e.write(
        "guarded.yaml",
        "id: guarded\nversion: 1\ntitle: Guarded\nscope: client\nstages:\n  - id: precheck\n    title: Precheck\n    tasks:\n      - id: confirm\n        title: Confirm\n        team: operations\n  - id: freeze\n    title: Freeze\n    freeze: true\n    tasks:\n      - id: lock\n        title: Lock\n        team: operations\nchecks:\n  - id: flagged\n    stage: freeze\n    severity: blocker\n    condition: records.notes.exists(n, n.text == \"stop\")\n    message: A note says stop.\n",
    );
    e.ok(&["blueprint", "add", guarded.to_str().unwrap()]);
    e.ok(&[
        "case",
        "start",
        "acme",
        "--exit-date",
        LATER,
        "--blueprint",
        "guarded",
    ]);
    e.ok(&["task", "complete", "1", "confirm"]);
    // The Freeze stage is not reached while a blocker stands in its way.
    e.ok(&["record", "add", "acme", "note", "text=still open"]);
    e.ok(&[
        "case",
        "waive",
        "1",
        "flagged",
        "--reason",
        "Checked with legal",
    ]);
    let before = e.snapshot();
    assert_refused(
        &e.run(&["record", "add", "acme", "note", "text=too late"]),
        1,
        "subject `acme` is frozen by case 1, which reached its Freeze stage",
    );
    assert_refused(
        &e.run(&["record", "set", "acme", "1", "text=changed"]),
        1,
        "frozen by case 1",
    );
    assert_eq!(e.snapshot(), before, "a refused write changes nothing");
    e.ok(&["case", "cancel", "1", "--reason", "The client stays"]);
    e.ok(&["record", "add", "acme", "note", "text=after the cancel"]);
    let audit = e.ok(&["audit", "export"]);
    assert!(audit.contains("case.froze") && audit.contains("case.unfroze"));
}

#[test]
fn precheck_warns_about_overdue_tasks_until_they_are_done() {
    let e = Exeunt::sqlite();
    e.ok(&["init"]);
    e.ok(&[
        "subject", "add", "acme", "--kind", "client", "--name", "Acme",
    ]);
    // An exit date long past: every task is overdue from the start.
    e.ok(&["case", "start", "acme", "--exit-date", "2025-01-31"]);
    let shown = e.ok(&["case", "show", "1"]);
    assert!(
        shown.contains("WARNING  overdue-tasks (stage precheck) [open]: 13 tasks are overdue: `set-expectations`, `account-transition`, `confirm-final-invoice`, `freeze-records`, `data-archiving` and 8 more."),
        "{shown}"
    );
    e.ok(&[
        "task",
        "waive",
        "1",
        "set-expectations",
        "--reason",
        "Agreed before Exeunt",
    ]);
    let shown = e.ok(&["case", "precheck", "1"]);
    assert!(
        shown.contains("12 tasks are overdue: `account-transition`"),
        "{shown}"
    );
}

#[test]
fn documents_and_evidence_are_stored_encrypted_and_come_back_whole() {
    let e = Exeunt::sqlite();
    e.ok(&["init"]);
    e.ok(&[
        "subject", "add", "acme", "--kind", "client", "--name", "Acme",
    ]);
    e.ok(&["record", "add", "acme", "document", "name=Contract"]);
    let contract: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let original = e.dir.path().join("contract.bin");
    std::fs::write(&original, &contract).unwrap();
    let attached = e.ok(&[
        "record",
        "attach",
        "acme",
        "1",
        original.to_str().unwrap(),
        "--media-type",
        "application/pdf",
    ]);
    assert!(attached.contains("300000 bytes"), "{attached}");
    e.ok(&["record", "download", "acme", "1", "--output", "back.bin"]);
    assert!(std::fs::read(e.dir.path().join("back.bin")).unwrap() == contract);
    assert_refused(
        &e.run(&["record", "download", "acme", "2"]),
        1,
        "`acme` has no record 2",
    );

    e.ok(&["case", "start", "acme", "--exit-date", LATER]);
    let notes = e.write("notes.txt", "Agreed by phone on Monday");
    e.ok(&[
        "task",
        "complete",
        "1",
        "set-expectations",
        "--evidence",
        notes.to_str().unwrap(),
    ]);
    let shown = e.ok(&["case", "show", "1"]);
    let id = shown
        .lines()
        .find(|l| l.contains("notes.txt"))
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or_else(|| panic!("{shown}"))
        .to_owned();
    let back = e.ok(&["case", "evidence", "1", &id]);
    assert_eq!(back, "Agreed by phone on Monday");
}

#[test]
fn an_export_package_verifies_offline_and_its_digest_is_signed() {
    let e = Exeunt::sqlite();
    e.ok(&["init", "--slug", "acme-firm"]);
    e.ok(&[
        "subject", "add", "globex", "--kind", "client", "--name", "Globex",
    ]);
    e.ok(&["record", "add", "globex", "document", "name=Logo"]);
    let logo: Vec<u8> = (0..100_000u32).map(|i| (i * 31 % 256) as u8).collect();
    let logo_file = e.dir.path().join("logo 50%.png");
    std::fs::write(&logo_file, &logo).unwrap();
    e.ok(&[
        "record",
        "attach",
        "globex",
        "1",
        logo_file.to_str().unwrap(),
    ]);
    e.ok(&["record", "add", "globex", "note", "text=Prefers email"]);
    let archive = e.write(
        "archive.yaml",
        "id: archive\nversion: 1\ntitle: Archive\nscope: client\nstages:\n  - id: export\n    title: Export\n    tasks:\n      - id: archive\n        title: Build the export\n        team: operations\n        kind: action\n        action: build-export\n",
    );
    e.ok(&["blueprint", "add", archive.to_str().unwrap()]);
    e.ok(&[
        "case",
        "start",
        "globex",
        "--exit-date",
        LATER,
        "--blueprint",
        "archive",
    ]);
    assert_refused(
        &e.run(&["task", "complete", "1", "archive"]),
        1,
        "no export was requested yet",
    );
    assert_refused(
        &e.run(&["export", "download", "1"]),
        1,
        "case 1 has no ready export",
    );
    e.ok(&["export", "request", "1"]);
    let built = e.ok(&["export", "run"]);
    assert!(built.contains("is ready"), "{built}");
    assert!(e.ok(&["export", "run"]).contains("No export is waiting"));
    e.ok(&["export", "download", "1", "--output", "globex.zip"]);
    let package = e.dir.path().join("globex.zip");
    let verified = e.ok(&["export", "verify", package.to_str().unwrap()]);
    assert!(verified.contains("Valid BagIt package"), "{verified}");
    assert!(
        verified.contains("Source-Organization: My firm"),
        "{verified}"
    );

    // The signed receipt names this very file.
    let listed: serde_json::Value =
        serde_json::from_str(&e.ok(&["export", "list", "1", "--json"])).unwrap();
    let receipt = e.write("receipt.jwt", listed[0]["receipt"].as_str().unwrap());
    e.ok(&["key", "export", "--output", "keys.json"]);
    let keys = e.dir.path().join("keys.json");
    let args = |file: &Path| {
        vec![
            "export".to_owned(),
            "verify".to_owned(),
            file.to_str().unwrap().to_owned(),
            "--receipt".to_owned(),
            receipt.to_str().unwrap().to_owned(),
            "--key".to_owned(),
            keys.to_str().unwrap().to_owned(),
        ]
    };
    let with_receipt: Vec<String> = args(&package);
    let with_receipt: Vec<&str> = with_receipt.iter().map(String::as_str).collect();
    assert!(
        e.ok(&with_receipt)
            .contains("The signed receipt names this file")
    );

    // One changed byte (inside the stored PNG) and the package no longer verifies.
    let mut bytes = std::fs::read(&package).unwrap();
    let at = bytes
        .windows(64)
        .position(|w| w == &logo[1000..1064])
        .expect("the PNG is stored, not deflated");
    bytes[at] ^= 1;
    let changed = e.dir.path().join("changed.zip");
    std::fs::write(&changed, &bytes).unwrap();
    assert_refused(
        &e.run(&["export", "verify", changed.to_str().unwrap()]),
        1,
        "is not a valid export package",
    );

    // The reference BagIt validator agrees on both.
    const TEST: &str = "an_export_package_verifies_offline_and_its_digest_is_signed";
    if !Command::new("python3")
        .args(["-c", "import bagit"])
        .output()
        .is_ok_and(|o| o.status.success())
    {
        testkit::missing_service::<()>(TEST, "python3 with bagit (pip install bagit)");
        return;
    }
    let validate = |zip: &Path| {
        let dir = tempfile::tempdir().unwrap();
        let script = "import sys, zipfile, bagit\n\
zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])\n\
import os\n\
bag = bagit.Bag(os.path.join(sys.argv[2], os.listdir(sys.argv[2])[0]))\n\
bag.validate()\n\
print('valid')\n";
        Command::new("python3")
            .args(["-c", script])
            .arg(zip)
            .arg(dir.path())
            .output()
            .unwrap()
    };
    let out = validate(&package);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        !validate(&changed).status.success(),
        "bagit accepted a changed package"
    );

    // Completing the case signs a certificate that names the package's digest.
    e.ok(&["task", "complete", "1", "archive"]);
    e.ok(&["case", "close", "1", "--confirm", "TERMINATE"]);
    e.ok(&["case", "certificate", "1", "--output", "certificate.jwt"]);
    let shown = e.ok(&["certificate", "verify", "certificate.jwt"]);
    let digest = listed[0]["blob"]["sha256"].as_str().unwrap();
    assert!(
        shown.contains(&format!("Export digest: sha256:{digest}")),
        "{shown}"
    );
}

#[test]
fn a_failed_export_says_why_and_blocks_until_one_is_built() {
    let e = Exeunt::sqlite();
    e.ok(&["init"]);
    e.ok(&[
        "subject", "add", "acme", "--kind", "client", "--name", "Acme",
    ]);
    e.ok(&["record", "add", "acme", "document", "name=Contract"]);
    let contract = e.write("contract.txt", "the terms");
    e.ok(&["record", "attach", "acme", "1", contract.to_str().unwrap()]);
    e.ok(&["case", "start", "acme", "--exit-date", LATER]);
    e.ok(&["export", "request", "1"]);

    // The worker runs with another master key: it cannot open Acme's files.
    let key_file = e.data_dir().join("master.key");
    let real_key = std::fs::read(&key_file).unwrap();
    std::fs::write(&key_file, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=").unwrap();
    let ran = e.ok(&["export", "run"]);
    assert!(
        ran.contains("failed") && ran.contains("another master key"),
        "{ran}"
    );
    std::fs::write(&key_file, &real_key).unwrap();
    let listed = e.ok(&["export", "list", "1"]);
    assert!(listed.contains("failed"), "{listed}");
    let prechecked = e.ok(&["case", "precheck", "1"]);
    assert!(
        prechecked
            .contains("BLOCKER  export-failed (stage export) [open]: The newest export failed"),
        "{prechecked}"
    );

    e.ok(&["export", "request", "1"]);
    assert!(e.ok(&["export", "run"]).contains("is ready"));
    let prechecked = e.ok(&["case", "precheck", "1"]);
    assert!(
        prechecked.contains("export-failed (stage export) [resolved]"),
        "{prechecked}"
    );
}

#[test]
fn purge_waits_for_the_export_and_leaves_a_tombstone() {
    let e = Exeunt::sqlite();
    e.ok(&["init"]);
    e.ok(&["retention", "set", "0", "--kind", "client"]);
    e.ok(&[
        "subject", "add", "acme", "--kind", "client", "--name", "Acme",
    ]);
    e.ok(&["record", "add", "acme", "note", "text=Call Ann on Mondays"]);
    let quick = e.write("quick.yaml", QUICK_BLUEPRINT);
    e.ok(&["blueprint", "add", quick.to_str().unwrap()]);
    e.ok(&[
        "case",
        "start",
        "acme",
        "--exit-date",
        LATER,
        "--blueprint",
        "quick",
    ]);
    e.ok(&["task", "complete", "1", "wrap-up"]);
    e.ok(&["case", "close", "1", "--confirm", "TERMINATE"]);
    let listed = e.ok(&["purge", "list"]);
    assert!(
        listed.contains("refused: purge waits for a ready export (no export was built)"),
        "{listed}"
    );
    assert!(e.ok(&["purge", "run"]).contains("No purge is due"));
    let shown = e.ok(&["case", "show", "1"]);
    assert!(
        shown.contains("Purge: refused: purge waits for a ready export"),
        "the case page says why: {shown}"
    );
    e.ok(&["export", "request", "1"]);
    e.ok(&["export", "run"]);
    let listed = e.ok(&["purge", "list"]);
    assert!(
        listed.contains("the client has not acknowledged the export"),
        "{listed}"
    );
    let link = e.ok(&["export", "link", "1", "--days", "7"]);
    assert!(link.contains("/receive/"), "{link}");
    e.ok(&[
        "export",
        "waive-ack",
        "1",
        "--reason",
        "The client closed their mailbox; delivered by courier",
    ]);
    assert!(e.ok(&["purge", "list"]).contains("due"));
    let purged = e.ok(&["purge", "run"]);
    assert!(
        purged.contains("Purged client") && purged.contains("1 records"),
        "{purged}"
    );
    let tombstones = e.ok(&["purge", "list", "--done"]);
    assert!(tombstones.contains("user:"), "{tombstones}");
    let shown = e.ok(&["subject", "show", "acme"]);
    assert!(!shown.contains("Call Ann"), "{shown}");
    let case = e.ok(&["case", "show", "1"]);
    assert!(
        case.contains("Purge: purged at") && case.contains("Certificate: signed"),
        "{case}"
    );
    assert!(!e.ok(&["audit", "export"]).contains("Call Ann"));
    assert!(e.ok(&["audit", "verify"]).contains("is intact"));
}

#[test]
fn an_export_whose_worker_was_killed_is_built_once_when_taken_over() {
    use rand::{RngCore, SeedableRng};
    let e = Exeunt::sqlite();
    e.ok(&["init"]);
    e.ok(&[
        "subject", "add", "acme", "--kind", "client", "--name", "Acme",
    ]);
    // Enough to take the worker a while: random bytes neither deflate nor go fast.
    let mut rng = rand::rngs::StdRng::seed_from_u64(3);
    for i in 1..=4 {
        let mut content = vec![0u8; 8 * 1024 * 1024];
        rng.fill_bytes(&mut content);
        let file = e.dir.path().join(format!("scan-{i}.bin"));
        std::fs::write(&file, &content).unwrap();
        e.ok(&[
            "record",
            "add",
            "acme",
            "document",
            &format!("name=Scan {i}"),
        ]);
        e.ok(&[
            "record",
            "attach",
            "acme",
            &i.to_string(),
            file.to_str().unwrap(),
        ]);
    }
    e.ok(&["case", "start", "acme", "--exit-date", LATER]);
    e.ok(&["export", "request", "1"]);
    let status = || -> serde_json::Value {
        serde_json::from_str(&e.ok(&["export", "list", "1", "--json"])).unwrap()
    };

    // A worker starts building, and is killed midway.
    let mut worker = Command::new(env!("CARGO_BIN_EXE_exeunt"))
        .args(["export", "run"])
        .current_dir(e.dir.path())
        .env("EXEUNT_DATA_DIR", e.data_dir())
        .env_remove("EXEUNT_DATABASE_URL")
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while status()[0]["status"] != "building" {
        assert!(started.elapsed().as_secs() < 60, "the worker never started");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    worker.kill().unwrap();
    worker.wait().unwrap();
    let left = status();
    assert_eq!(
        (left[0]["status"].as_str(), left[0]["attempts"].as_i64()),
        (Some("building"), Some(1)),
        "killed midway: {left}"
    );

    // Its lease still holds, so an ordinary run leaves it; the operator takes it over.
    assert!(e.ok(&["export", "run"]).contains("No export is waiting"));
    assert!(e.ok(&["export", "run", "--take-over"]).contains("is ready"));
    let done = status();
    assert_eq!(
        done.as_array().unwrap().len(),
        1,
        "one export, not two: {done}"
    );
    assert_eq!(
        (done[0]["status"].as_str(), done[0]["attempts"].as_i64()),
        (Some("ready"), Some(2))
    );
    e.ok(&["export", "download", "1", "--output", "acme.zip"]);
    let verified = e.ok(&["export", "verify", "acme.zip"]);
    assert!(verified.contains("Valid BagIt package"), "{verified}");
}

/// A one-task blueprint, for cases that only need to reach their close.
const QUICK_BLUEPRINT: &str = "id: quick\nversion: 1\ntitle: Quick\nscope: client\nstages:\n  - id: only\n    title: Only\n    tasks:\n      - id: wrap-up\n        title: Wrap up\n        team: operations\n";

/// Runs a small case to completion and returns the paths of its certificate and of the
/// tenant's exported keys.
fn completed_case_certificate(e: &Exeunt, slug: &str) -> (PathBuf, PathBuf) {
    e.ok(&["init", "--slug", slug]);
    e.ok(&[
        "subject", "add", "globex", "--kind", "client", "--name", "Globex",
    ]);
    let quick = e.write("quick.yaml", QUICK_BLUEPRINT);
    e.ok(&["blueprint", "add", quick.to_str().unwrap()]);
    e.ok(&[
        "case",
        "start",
        "globex",
        "--exit-date",
        LATER,
        "--blueprint",
        "quick",
    ]);
    assert_refused(
        &e.run(&["case", "certificate", "1"]),
        1,
        "only a case that completed gets one",
    );
    e.ok(&["task", "complete", "1", "wrap-up"]);
    e.ok(&["case", "close", "1", "--confirm", "TERMINATE"]);
    e.ok(&["case", "certificate", "1", "--output", "certificate.jwt"]);
    e.ok(&["key", "export", "--output", "keys.json"]);
    (
        e.dir.path().join("certificate.jwt"),
        e.dir.path().join("keys.json"),
    )
}

/// `exeunt certificate verify` with a key file only: no data dir, no database.
fn verify_offline(certificate: &Path, keys: &Path) -> Output {
    let nowhere = tempfile::tempdir().unwrap();
    Command::new(env!("CARGO_BIN_EXE_exeunt"))
        .args(["certificate", "verify"])
        .arg(certificate)
        .arg("--key")
        .arg(keys)
        .env("EXEUNT_DATA_DIR", nowhere.path().join("none"))
        .env_remove("EXEUNT_DATABASE_URL")
        .output()
        .unwrap()
}

#[test]
fn a_completed_case_gets_a_certificate_anyone_can_verify_offline() {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let e = Exeunt::sqlite();
    let (certificate, keys) = completed_case_certificate(&e, "acme-firm");

    let out = verify_offline(&certificate, &keys);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", stderr(&out));
    assert!(
        stdout.contains("Tenant acme-firm")
            && stdout.contains("client `globex` is fully offboarded (completed)")
            && stdout.contains("blueprint quick@1"),
        "{stdout}"
    );
    assert!(
        e.ok(&["certificate", "verify", certificate.to_str().unwrap()])
            .contains("Valid certificate"),
        "without --key, this Exeunt's own keys serve"
    );
    let master = e.data_dir().join("master.key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&master).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the master key is the owner's alone");
    }

    // One changed claim, and the signature no longer matches.
    let token = std::fs::read_to_string(&certificate).unwrap();
    let parts: Vec<&str> = token.trim().split('.').collect();
    let claims = String::from_utf8(URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    assert!(claims.contains(r#""resolution":"completed""#), "{claims}");
    let forged_claims = claims.replace(r#""sub":"globex""#, r#""sub":"initech""#);
    let forged = e.write(
        "forged.jwt",
        &format!(
            "{}.{}.{}",
            parts[0],
            URL_SAFE_NO_PAD.encode(forged_claims),
            parts[2]
        ),
    );
    assert_refused(
        &verify_offline(&forged, &keys),
        1,
        "the signature does not match",
    );
    // Another installation's key does not vouch for this one's certificates.
    let other = Exeunt::sqlite();
    let (_, other_keys) = completed_case_certificate(&other, "elsewhere");
    assert_refused(
        &verify_offline(&certificate, &other_keys),
        1,
        "no key with id",
    );

    // A standard JOSE library (Python's joserfc) agrees on both.
    const TEST: &str = "a_completed_case_gets_a_certificate_anyone_can_verify_offline";
    let available = Command::new("python3")
        .args(["-c", "import joserfc"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !available {
        testkit::missing_service::<()>(TEST, "python3 with joserfc (pip install joserfc)");
        return;
    }
    let script = "import json, sys\n\
from joserfc import jwt\n\
from joserfc.jwk import KeySet\n\
keys = KeySet.import_key_set(json.load(open(sys.argv[1])))\n\
token = jwt.decode(open(sys.argv[2]).read().strip(), keys, algorithms=['EdDSA'])\n\
print(json.dumps(token.claims))\n";
    let decode = |file: &Path| {
        Command::new("python3")
            .args(["-c", script])
            .arg(&keys)
            .arg(file)
            .output()
            .unwrap()
    };
    let out = decode(&certificate);
    assert!(out.status.success(), "{}", stderr(&out));
    let claims: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (claims["sub"].as_str(), claims["case"]["number"].as_i64()),
        (Some("globex"), Some(1)),
        "{claims}"
    );
    assert!(claims["audit_head"]["hash"].as_str().unwrap().len() == 64);
    let out = decode(&forged);
    assert!(!out.status.success(), "joserfc accepted a forged claim");
    assert!(
        stderr(&out).contains("BadSignatureError"),
        "{}",
        stderr(&out)
    );
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
    ] {
        let out = e.ok(args);
        assert!(out.contains(expected), "{args:?}: {out}");
        assert!(
            out.contains("ratio") || out.contains("×"),
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
    for _ in 0..100 {
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

/// Waits up to `limit` for `done`; false when it never held.
fn eventually(limit: std::time::Duration, mut done: impl FnMut() -> bool) -> bool {
    let until = std::time::Instant::now() + limit;
    while std::time::Instant::now() < until {
        if done() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    done()
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
