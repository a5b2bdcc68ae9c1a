//! Any bytes: if they are UTF-8, lint them as a blueprint, as `exeunt blueprint lint` does.
//! The answer is a blueprint or problems; a panic or a hang is a bug.

#![no_main]

use engine::blueprint::{LintContext, parse};
use engine::teams::default_team_slugs;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let teams = default_team_slugs();
    if let Err(problems) = parse(text, &LintContext { teams: &teams }) {
        assert!(!problems.is_empty(), "refused without a problem");
        for p in &problems {
            // What the CLI prints for each.
            let _ = p.to_string();
        }
    }
});
