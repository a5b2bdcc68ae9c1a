//! Sign-in rate limiting: failed attempts are counted per account and per client address in a
//! sliding window, and further attempts wait once either count is reached.
//!
//! The counts live in this process. With several replicas each keeps its own, so an attacker
//! gets at most that many times the budget; a shared counter in the database is the upgrade.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub const WINDOW: Duration = Duration::from_secs(300);
pub const PER_ACCOUNT: usize = 5;
pub const PER_ADDRESS: usize = 20;

#[derive(Default)]
pub struct SignInLimiter {
    failures: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl SignInLimiter {
    /// How long to wait before trying again, if any of `keys` (with its limit) is exhausted.
    pub fn wait(&self, keys: &[(String, usize)]) -> Option<Duration> {
        let now = Instant::now();
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        keys.iter()
            .filter_map(|(key, limit)| {
                let times = failures.get_mut(key)?;
                while times
                    .front()
                    .is_some_and(|t| now.duration_since(*t) > WINDOW)
                {
                    times.pop_front();
                }
                let oldest = *times.front()?;
                (times.len() >= *limit).then(|| WINDOW.saturating_sub(now.duration_since(oldest)))
            })
            .max()
    }

    pub fn failed(&self, keys: &[(String, usize)]) {
        let now = Instant::now();
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        for (key, _) in keys {
            failures.entry(key.clone()).or_default().push_back(now);
        }
    }

    pub fn succeeded(&self, account: &str) {
        self.failures
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(account);
    }
}
