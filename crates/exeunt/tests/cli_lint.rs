//! `exeunt blueprint lint` on fixtures that each hold one deliberate problem, checked by the
//! exact `FILE:LINE:COL: error:` line the real binary prints.

use std::path::{Path, PathBuf};
use std::process::Command;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/fixtures/blueprints/{name}"))
}

/// Runs `exeunt blueprint lint` on one fixture: exit code, stdout and stderr.
fn lint(name: &str) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_exeunt"))
        .args(["blueprint", "lint"])
        .arg(fixture(name))
        .output()
        .expect("exeunt runs");
    (
        output.status.code().expect("exeunt exits with a code"),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Lint fails on `name` with an error at `line:col` whose message contains `phrase`.
fn assert_error(name: &str, line: usize, col: usize, phrase: &str) {
    let (code, stdout, stderr) = lint(name);
    assert_eq!(code, 1, "stdout:\n{stdout}\nstderr:\n{stderr}");
    let prefix = format!("{}:{line}:{col}: error: ", fixture(name).display());
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with(&prefix) && l.contains(phrase)),
        "expected a line starting with {prefix:?} containing {phrase:?}; stdout:\n{stdout}"
    );
}

#[test]
fn valid_blueprint_is_ok() {
    let (code, stdout, stderr) = lint("valid.yaml");
    assert_eq!(code, 0, "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(
        stdout.contains(&format!("{}: ok", fixture("valid.yaml").display())),
        "{stdout}"
    );
    assert!(!stdout.contains("error:"), "{stdout}");
}

#[test]
fn yaml_syntax_error() {
    let (code, stdout, stderr) = lint("yaml-syntax.yaml");
    assert_eq!(code, 1, "stdout:\n{stdout}\nstderr:\n{stderr}");
    let prefix = format!("{}:", fixture("yaml-syntax.yaml").display());
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with(&prefix) && l.contains(": error: YAML syntax error")),
        "{stdout}"
    );
}

#[test]
fn unknown_key() {
    assert_error("unknown-key.yaml", 16, 9, "unknown key `titel`");
}

#[test]
fn duplicate_task_id() {
    assert_error(
        "duplicate-id.yaml",
        23,
        13,
        "duplicate task id `set-expectations`; it is already used at line 11",
    );
}

#[test]
fn reserved_check_id() {
    assert_error(
        "reserved-check.yaml",
        16,
        9,
        "check id `legal-hold` is Exeunt's own (the warning that a legal hold stands)",
    );
}

#[test]
fn unknown_dependency() {
    assert_error(
        "unknown-dependency.yaml",
        26,
        22,
        "depends on `send-invoice`, which is not a task",
    );
}

#[test]
fn dependency_cycle() {
    assert_error(
        "dependency-cycle.yaml",
        19,
        13,
        "dependency cycle: `a` → `b` → `c` → `a`",
    );
}

#[test]
fn cel_syntax_error() {
    let (code, stdout, stderr) = lint("cel-syntax.yaml");
    assert_eq!(code, 1, "stdout:\n{stdout}\nstderr:\n{stderr}");
    let prefix = format!("{}:27:", fixture("cel-syntax.yaml").display());
    assert!(
        stdout.lines().any(|l| l.starts_with(&prefix)
            && l.contains(": error: ")
            && l.contains("CEL does not parse")),
        "{stdout}"
    );
}

#[test]
fn cel_unknown_field() {
    assert_error("cel-unknown-field.yaml", 27, 21, "unknown field `contry`");
}

#[test]
fn unknown_team() {
    assert_error("unknown-team.yaml", 17, 15, "unknown team `marketing`");
}

#[test]
fn bad_due_offset() {
    assert_error("bad-due.yaml", 19, 14, "`5 days` is not a due offset");
}

#[test]
fn several_problems_are_reported_at_once() {
    let (code, stdout, stderr) = lint("several-problems.yaml");
    assert_eq!(code, 1, "stdout:\n{stdout}\nstderr:\n{stderr}");
    let path = fixture("several-problems.yaml").display().to_string();
    let errors = stdout
        .lines()
        .filter(|l| l.starts_with(&path) && l.contains(": error: "))
        .count();
    assert_eq!(errors, 3, "{stdout}");
    for at in ["17:15", "19:14", "27:21"] {
        assert!(
            stdout.contains(&format!("{path}:{at}: error: ")),
            "{at}: {stdout}"
        );
    }
}

#[test]
fn missing_file_is_a_clean_error() {
    let (code, stdout, stderr) = lint("does-not-exist.yaml");
    assert_ne!(code, 0, "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stderr.contains("does-not-exist.yaml"), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!stderr.to_lowercase().contains("backtrace"), "{stderr}");
}
