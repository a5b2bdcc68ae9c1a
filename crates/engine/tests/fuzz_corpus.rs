//! Replays the fuzz corpus (`fuzz/corpus/blueprint_lint/`) through blueprint lint, the entry
//! `exeunt blueprint lint` uses: every file gives a blueprint or problems, never a panic. CI
//! runs this; it does not fuzz (see `fuzz/README.md`).

use std::path::Path;

use exeunt_engine::blueprint::{LintContext, parse};
use exeunt_engine::teams::default_team_slugs;

#[test]
fn every_file_of_the_fuzz_corpus_lints_without_a_panic() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/blueprint_lint");
    let teams = default_team_slugs();
    let mut replayed = 0;
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        // The fuzz target skips input that is not UTF-8, as the CLI refuses to read it.
        let Ok(text) = std::str::from_utf8(&bytes) else {
            continue;
        };
        if let Err(problems) = parse(text, &LintContext { teams: &teams }) {
            assert!(
                !problems.is_empty(),
                "{}: refused without a problem",
                path.display()
            );
        }
        replayed += 1;
    }
    // The corpus starts from the five built-ins and the CLI's broken fixtures.
    assert!(replayed >= 17, "only {replayed} files in {}", dir.display());
}
