//! Sign-in rate limiting: failed attempts are counted per account and per client address in a
//! sliding window, and further attempts wait once either count is reached.
//!
//! Behind a reverse proxy every client shares the proxy's address, so the per-address limit
//! then limits everyone together; reading a trusted forwarded-for header is future work.
//!
//! The counts live in this process. With several replicas each keeps its own, so an attacker
//! gets at most that many times the budget; a shared counter in the database is the upgrade.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub const WINDOW: Duration = Duration::from_secs(300);
pub const PER_ACCOUNT: usize = 5;
pub const PER_ADDRESS: usize = 20;
/// Past this many keys, those with no attempt inside the window are dropped.
const MAX_KEYS: usize = 10_000;

#[derive(Default)]
pub struct SignInLimiter {
    failures: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl SignInLimiter {
    /// Records an attempt under every key, unless one of them is exhausted: then how long to
    /// wait. An attempt stays counted as a failure unless `succeeded` clears its account.
    pub fn attempt(&self, keys: &[(String, usize)]) -> Option<Duration> {
        let now = Instant::now();
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if failures.len() > MAX_KEYS {
            failures.retain(|_, times| {
                times
                    .back()
                    .is_some_and(|t| now.duration_since(*t) <= WINDOW)
            });
        }
        let mut wait = None;
        for (key, limit) in keys {
            let times = failures.entry(key.clone()).or_default();
            while times
                .front()
                .is_some_and(|t| now.duration_since(*t) > WINDOW)
            {
                times.pop_front();
            }
            if times.len() >= *limit
                && let Some(oldest) = times.front()
            {
                wait = wait.max(Some(WINDOW.saturating_sub(now.duration_since(*oldest))));
            }
        }
        if wait.is_none() {
            for (key, _) in keys {
                failures.entry(key.clone()).or_default().push_back(now);
            }
        }
        wait
    }

    /// The attempt succeeded: its account starts afresh, and the attempt no longer counts
    /// against its address (many people signing in from one office are not an attack).
    pub fn succeeded(&self, account: &str, address: &str) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        failures.remove(account);
        if let Some(times) = failures.get_mut(address) {
            times.pop_back();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> [(String, usize); 2] {
        [
            ("account:a".to_owned(), PER_ACCOUNT),
            ("address:10.0.0.1".to_owned(), PER_ADDRESS),
        ]
    }

    #[test]
    fn failures_are_limited_and_successes_are_not() {
        let limiter = SignInLimiter::default();
        for _ in 0..PER_ADDRESS * 3 {
            assert_eq!(limiter.attempt(&keys()), None, "a success does not count");
            limiter.succeeded("account:a", "address:10.0.0.1");
        }
        for _ in 0..PER_ACCOUNT {
            assert_eq!(limiter.attempt(&keys()), None);
        }
        assert!(
            limiter.attempt(&keys()).is_some(),
            "the sixth failure waits"
        );
    }
}
