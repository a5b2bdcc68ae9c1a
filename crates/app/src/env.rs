//! The clock and the source of ids, injectable so that tests are deterministic.

use std::sync::Mutex;

use jiff::Timestamp;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use uuid::Uuid;

pub trait Clock: Send + Sync {
    fn now(&self) -> Timestamp;
}

/// The machine's clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// A clock that only moves when told to.
pub struct FixedClock(Mutex<Timestamp>);

impl FixedClock {
    pub fn new(at: Timestamp) -> Self {
        Self(Mutex::new(at))
    }

    /// Moves the clock on by `by`: how tests let a backoff or a lease run out.
    pub fn advance(&self, by: jiff::SignedDuration) {
        let mut now = self.0.lock().unwrap_or_else(|e| e.into_inner());
        *now = now.checked_add(by).unwrap_or(*now);
    }
}

impl Clock for FixedClock {
    fn now(&self) -> Timestamp {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Makes time-ordered UUIDv7 ids from the clock and a random generator.
pub struct Ids(Mutex<StdRng>);

impl Ids {
    pub fn from_entropy() -> Self {
        Self(Mutex::new(StdRng::from_os_rng()))
    }

    pub fn seeded(seed: u64) -> Self {
        Self(Mutex::new(StdRng::seed_from_u64(seed)))
    }

    /// 32 bytes for a secret. `StdRng` is a cryptographically secure generator, seeded from
    /// the operating system unless a test seeded it.
    pub fn secret(&self) -> [u8; 32] {
        let mut bytes = [0u8; 32];
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .fill(&mut bytes);
        bytes
    }

    pub fn next(&self, now: Timestamp) -> Uuid {
        let mut random = [0u8; 10];
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .fill(&mut random);
        let ms = u64::try_from(now.as_millisecond()).unwrap_or(0);
        uuid::Builder::from_unix_timestamp_millis(ms, &random).into_uuid()
    }
}
