//! How far a long use case has got, for whoever watches it: the command line draws a bar with
//! an estimate of the time left on a terminal; the server and the worker watch nothing.
//!
//! Use cases that may run for long (verifying a long chain, importing subjects, purging,
//! building an export, fanning an organization out to its clients) say how many steps they
//! have once they know, and each step as it is done. What watches is set on the [`App`] it
//! runs on ([`App::watched_by`]), so no use case takes a parameter for it.

use std::sync::Arc;

use crate::App;

/// Told as a long piece of work goes on. Calls are cheap and may come from several tasks at once.
pub trait Progress: Send + Sync {
    /// Work of `total` steps, each one of `unit` ("events", "subjects"), begins.
    fn begin(&self, unit: &'static str, total: u64);
    /// `steps` more steps are done.
    fn advance(&self, steps: u64);
    /// The work begun last is over, done or stopped.
    fn end(&self);
}

/// Nobody watches: what the server and the worker run with.
pub(crate) struct Unwatched;

impl Progress for Unwatched {
    fn begin(&self, _: &'static str, _: u64) {}
    fn advance(&self, _: u64) {}
    fn end(&self) {}
}

/// A piece of work being watched: advances its watcher, and ends the work when dropped,
/// whether it finished or stopped on an error.
pub(crate) struct Watched(Arc<dyn Progress>);

impl Watched {
    pub(crate) fn advance(&self, steps: u64) {
        self.0.advance(steps);
    }
}

impl Drop for Watched {
    fn drop(&mut self) {
        self.0.end();
    }
}

impl App {
    /// This application, with `progress` told how its long use cases get on.
    pub fn watched_by(mut self, progress: Arc<dyn Progress>) -> Self {
        self.progress = progress;
        self
    }

    /// Begins watched work of `total` steps of `unit`.
    pub(crate) fn watch(&self, unit: &'static str, total: u64) -> Watched {
        self.progress.begin(unit, total);
        Watched(self.progress.clone())
    }
}
