//! A long command shows how far it got on a terminal, and nothing more when its output goes
//! to a pipe or a file.

use crate::harness::{Exeunt, stderr};

/// A CSV of `count` clients whose keys start with `prefix`.
fn clients(prefix: &str, count: u32) -> String {
    let rows: String = (1..=count)
        .map(|i| format!("{prefix}-{i},client,Client {i}\n"))
        .collect();
    format!("key,kind,name\n{rows}")
}

#[test]
fn a_long_command_shows_progress_on_a_terminal_and_nothing_extra_when_piped() {
    let e = Exeunt::sqlite();
    e.ok(&["init"]);

    let piped = e.write("piped.csv", &clients("piped", 300));
    let out = e.run(&["subject", "import", piped.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("Imported 300 subjects from {}.\n", piped.display())
    );
    assert_eq!(stderr(&out), "", "no bar when nobody watches");

    let watched = e.write("watched.csv", &clients("watched", 300));
    let shown = e.on_terminal(&["subject", "import", watched.to_str().unwrap()]);
    assert!(
        shown.contains("/300 subjects") && shown.contains("left"),
        "a bar of the subjects with the time left: {shown:?}"
    );
    assert!(shown.contains("Imported 300 subjects"), "{shown:?}");

    let verified = e.on_terminal(&["audit", "verify"]);
    assert!(verified.contains(" events, "), "{verified:?}");
    let piped_verify = e.ok(&["audit", "verify"]);
    assert!(!piped_verify.contains('\u{1b}'), "{piped_verify:?}");
}
