//! The staged pipeline from the terminal: legal holds and retention, freeze, precheck, files,
//! exports, purge and certificates.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::harness::{Exeunt, LATER, assert_refused, stderr};

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
    assert_refused(
        &e.run(&["hold", "place", "--reason", " "]),
        2,
        "'--reason <REASON>': is empty; expected some text",
    );
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
        "subject",
        "add",
        "acme",
        "--kind",
        "client",
        "--name",
        "Globex Corporation",
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
    let notes = e.write("notes.txt", "Agreed with Globex Corporation by phone");
    e.ok(&[
        "task",
        "complete",
        "1",
        "wrap-up",
        "--evidence",
        notes.to_str().unwrap(),
    ]);
    let shown = e.ok(&["case", "show", "1"]);
    let evidence = shown
        .lines()
        .find(|l| l.contains("notes.txt"))
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or_else(|| panic!("{shown}"))
        .to_owned();
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
    // Backups taken now, before the purge: the database's, and the keyring's on its own.
    let data = e.data_dir();
    let backup = |files: &[&str], to: &str| {
        let dir = e.dir.path().join(to);
        std::fs::create_dir_all(&dir).unwrap();
        for name in files {
            for file in [name.to_string(), format!("{name}-wal")] {
                if data.join(&file).exists() {
                    std::fs::copy(data.join(&file), dir.join(&file)).unwrap();
                }
            }
        }
        dir
    };
    let database_backup = backup(&["exeunt.db", "master.key"], "database-backup");
    let keyring_backup = backup(&["exeunt.keyring.db"], "keyring-backup");
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
    // Every event about the subject lost its payload, the one that created it too.
    let log = e.ok(&["audit", "export"]);
    assert!(
        !log.contains("Call Ann") && !log.contains("Globex Corporation"),
        "{log}"
    );
    assert_refused(
        &e.run(&["case", "evidence", "1", &evidence]),
        1,
        "was destroyed when its subject was purged",
    );
    assert!(e.ok(&["audit", "verify"]).contains("is intact"));

    // The database restored from before the purge, with the master key, still lists the
    // evidence, but the live keyring no longer holds the key that sealed it.
    let restored = |keyring: &Path| {
        let database_backup = database_backup.to_str().unwrap();
        let keyring = keyring.to_str().unwrap();
        e.run(&[
            "case",
            "evidence",
            "1",
            &evidence,
            "--data-dir",
            database_backup,
            "--keyring",
            keyring,
        ])
    };
    assert_refused(
        &restored(&data.join("exeunt.keyring.db")),
        1,
        "the key that sealed this file is not in the keyring: its subject was purged",
    );
    // What backups taken before a purge still expose, both together: why the keyring's are
    // kept briefly (ARCHITECTURE.md, "What a purge removes").
    let opened = restored(&keyring_backup.join("exeunt.keyring.db"));
    assert!(opened.status.success(), "{}", stderr(&opened));
    assert_eq!(opened.stdout, b"Agreed with Globex Corporation by phone");
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
