//! The progress bar of the long commands (`export run`, `subject import`, `audit verify`,
//! `purge run`, and `case start` of an organization): drawn on standard error with an
//! estimate of the time left, and only when a person is watching a terminal. Piped, or
//! redirected to a file, such a command prints what it always did and nothing more.

use std::io::IsTerminal;
use std::sync::{Arc, Mutex};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::cli::{AuditCmd, CaseCmd, Command, ExportCmd, PurgeCmd, SubjectCmd};

/// Whether `command` may run long enough to show a bar, and both its output and its errors
/// go to a terminal.
pub fn wanted(command: &Command) -> bool {
    let long = matches!(
        command,
        Command::Export(ExportCmd::Run { .. })
            | Command::Subject(SubjectCmd::Import { .. })
            | Command::Audit(AuditCmd::Verify { file: None, .. })
            | Command::Purge(PurgeCmd::Run)
            | Command::Case(CaseCmd::Start { .. })
    );
    long && std::io::stdout().is_terminal() && std::io::stderr().is_terminal()
}

/// A bar on standard error for each piece of work a use case begins.
#[derive(Default)]
pub struct Bar(Mutex<Option<ProgressBar>>);

impl Bar {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    fn current(&self) -> std::sync::MutexGuard<'_, Option<ProgressBar>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl app::Progress for Bar {
    fn begin(&self, unit: &'static str, total: u64) {
        let style = ProgressStyle::with_template(&format!(
            "{{wide_bar}} {{human_pos}}/{{human_len}} {unit}, {{eta}} left"
        ))
        .unwrap_or_else(|_| ProgressStyle::default_bar());
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr())
            .with_style(style);
        if let Some(earlier) = self.current().replace(bar) {
            earlier.finish_and_clear();
        }
    }

    fn advance(&self, steps: u64) {
        if let Some(bar) = self.current().as_ref() {
            bar.inc(steps);
        }
    }

    fn end(&self) {
        if let Some(bar) = self.current().take() {
            bar.finish_and_clear();
        }
    }
}
