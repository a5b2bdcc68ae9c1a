//! The README's quickstart, and input of every kind: what is refused, in one line, changing
//! nothing; imports, plans, config files, blueprints.

use std::process::Command;

use crate::harness::{Exeunt, LATER, assert_refused, stderr};

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
            "ghost@example.com is not a user of this tenant",
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

/// Free text is parsed by one parser per field, the same one the API uses: the same text is
/// refused here with the same words as over HTTP (`crates/server/tests/api/requests.rs` sends
/// these very inputs), naming the flag and its limit, and a refusal changes nothing.
#[test]
fn free_text_is_refused_by_the_same_rules_as_over_http() {
    let e = Exeunt::sqlite();
    e.ok(&["init"]);
    e.ok(&[
        "subject", "add", "acme", "--kind", "client", "--name", "Acme",
    ]);
    e.ok(&["case", "start", "acme", "--exit-date", LATER]);
    let before = e.snapshot();
    let long = |n: usize| "x".repeat(n);
    let (reason, note, name) = (long(2001), long(4001), long(201));
    let refusals: [(&[&str], &str); 5] = [
        (
            &["case", "cancel", "1", "--reason", &reason],
            "'--reason <REASON>': is 2001 characters long; expected at most 2000",
        ),
        (
            &["task", "waive", "1", "set-expectations", "--reason", "  "],
            "'--reason <REASON>': is empty; expected some text",
        ),
        (
            &["task", "complete", "1", "set-expectations", "--note", &note],
            "'--note <NOTE>': is 4001 characters long; expected at most 4000",
        ),
        (
            &["user", "add", "new@example.com", "--name", &name],
            "'--name <NAME>': is 201 characters long; expected at most 200",
        ),
        (
            &["user", "add", "new@example.com", "--name", "Ann\tLee"],
            "'--name <NAME>': contains a control character; expected plain text",
        ),
    ];
    for (args, words) in refusals {
        assert_refused(&e.run(args), 2, words);
    }
    assert_eq!(e.snapshot(), before, "refused commands changed nothing");
    // At the limit, the same field is taken.
    e.ok(&["case", "cancel", "1", "--reason", &long(2000)]);
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
