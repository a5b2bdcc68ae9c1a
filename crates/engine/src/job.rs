//! Background jobs: the work Exeunt does on its own after a change (sending an email, calling
//! a connector), written in the transaction of the change and run later by a worker. This
//! module holds the rules; the store keeps the rows and the app runs them.

use std::fmt;
use std::str::FromStr;

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

/// Where a job is in its life: queued → running → done, or back to queued to retry after a
/// failure, or dead once its attempts are spent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    /// Waiting for its time and a worker.
    Queued,
    /// A worker holds it under a lease; when the lease runs out, another may take it.
    Running,
    Done,
    /// Every attempt failed; its last error says why. A person may send it again.
    Dead,
}

impl JobStatus {
    pub const NAMES: &[&str] = &["queued", "running", "done", "dead"];

    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Queued => "queued",
            JobStatus::Running => "running",
            JobStatus::Done => "done",
            JobStatus::Dead => "dead",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "queued" => JobStatus::Queued,
            "running" => JobStatus::Running,
            "done" => JobStatus::Done,
            "dead" => JobStatus::Dead,
            _ => return None,
        })
    }
}

impl fmt::Display for JobStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// What a job does. Each kind has one handler in the worker, which matches on this enum, so
/// a kind added here does not compile until the worker knows how to do it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum JobKind {
    /// Email a person what a notification told them in the app.
    EmailNotification,
    /// Remove one account's access through its connector, then check that it is gone.
    AccessRevoke,
    /// Build a requested export package, under the job's lease like any other job.
    ExportBuild,
    /// A kind this version does not know, read from the database (queued by a newer version
    /// sharing it): the worker fails its attempts, saying so, rather than stopping the queue.
    Unknown(String),
}

impl JobKind {
    /// The name stored with the job, shown to people and used as a metrics label.
    pub fn as_str(&self) -> &str {
        match self {
            JobKind::EmailNotification => "email.notification",
            JobKind::AccessRevoke => "access.revoke",
            JobKind::ExportBuild => "export.build",
            JobKind::Unknown(name) => name,
        }
    }

    /// The kind a stored name names.
    pub fn from_stored(name: &str) -> Self {
        match name {
            "email.notification" => JobKind::EmailNotification,
            "access.revoke" => JobKind::AccessRevoke,
            "export.build" => JobKind::ExportBuild,
            other => JobKind::Unknown(other.to_owned()),
        }
    }
}

/// Serialized as its stored name, which is what people and programs read.
impl Serialize for JobKind {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl fmt::Display for JobKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// How often a job is tried before it is dead, unless it says otherwise.
pub const DEFAULT_ATTEMPTS: i64 = 8;

/// The first retry waits this long; each later one twice as long as the one before.
const FIRST_RETRY: SignedDuration = SignedDuration::from_secs(5);

/// No retry waits longer than this.
const LONGEST_RETRY: SignedDuration = SignedDuration::from_hours(1);

/// What becomes of a job whose attempt `attempt` (1 for the first) failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AfterFailure {
    /// Try again at this time.
    RetryAt(Timestamp),
    /// No attempts are left.
    Dead,
}

/// Exponential backoff with jitter: after attempt `attempt` failed at `now`, wait
/// 5 s × 2^(attempt − 1), at most an hour, shortened by up to half at random (`jitter` in
/// [0, 1), from the caller's randomness) so that jobs which failed together do not all come
/// back together.
pub fn after_failure(attempt: i64, max_attempts: i64, now: Timestamp, jitter: f64) -> AfterFailure {
    if attempt >= max_attempts {
        return AfterFailure::Dead;
    }
    let doublings = u32::try_from(attempt.saturating_sub(1))
        .unwrap_or(u32::MAX)
        .min(20);
    let full = FIRST_RETRY
        .checked_mul(1_i32 << doublings.min(30))
        .unwrap_or(LONGEST_RETRY)
        .min(LONGEST_RETRY);
    let jitter = jitter.clamp(0.0, 1.0);
    let wait = SignedDuration::from_secs_f64(full.as_secs_f64() * (1.0 - jitter / 2.0));
    AfterFailure::RetryAt(now.checked_add(wait).unwrap_or(now))
}

/// How long a worker holds a job before another may take it over. A worker renews its lease
/// every third of it while the job runs, so a long job keeps its worker, and a worker that
/// died is replaced within one lease whatever its job's length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JobLease(SignedDuration);

/// Why a lease length was refused.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum JobLeaseError {
    #[error("`{0}` is not a duration (expected e.g. `30s` or `2m`)")]
    NotADuration(String),
    #[error("a job lease of {0:#} is outside 1s to 1h")]
    OutOfRange(SignedDuration),
}

impl JobLease {
    pub const DEFAULT: JobLease = JobLease(SignedDuration::from_secs(30));
    /// Shorter, and renewing it would be most of what a worker does.
    const SHORTEST: SignedDuration = SignedDuration::from_secs(1);
    /// Longer, and a job whose worker died would wait too long for another.
    const LONGEST: SignedDuration = SignedDuration::from_hours(1);

    pub fn new(length: SignedDuration) -> Result<Self, JobLeaseError> {
        if (Self::SHORTEST..=Self::LONGEST).contains(&length) {
            Ok(JobLease(length))
        } else {
            Err(JobLeaseError::OutOfRange(length))
        }
    }

    pub fn length(self) -> SignedDuration {
        self.0
    }

    /// How often a worker renews the lease of the job it runs.
    pub fn renewal_interval(self) -> SignedDuration {
        self.0 / 3
    }
}

impl FromStr for JobLease {
    type Err = JobLeaseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let length = s
            .parse::<SignedDuration>()
            .map_err(|_| JobLeaseError::NotADuration(s.to_owned()))?;
        JobLease::new(length)
    }
}

impl fmt::Display for JobLease {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#}", self.0)
    }
}

/// How many jobs one worker runs at once. A slow target (a directory that takes its time)
/// then holds up only its own job, not the emails queued behind it; and a busy worker claims
/// as many jobs as it has room for, and records their ends, in one transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JobConcurrency(u32);

/// Why a concurrency was refused.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum JobConcurrencyError {
    #[error("`{0}` is not a whole number (expected 1 to 64)")]
    NotANumber(String),
    #[error("a job concurrency of {0} is outside 1 to 64")]
    OutOfRange(u32),
}

impl JobConcurrency {
    pub const DEFAULT: JobConcurrency = JobConcurrency(8);
    /// One after another: what a test that wants a known order runs with.
    pub const ONE: JobConcurrency = JobConcurrency(1);
    /// More, and a worker holds leases on more jobs than it can run promptly on a small
    /// machine, while other workers could take them.
    const MOST: u32 = 64;

    pub fn new(jobs: u32) -> Result<Self, JobConcurrencyError> {
        if (1..=Self::MOST).contains(&jobs) {
            Ok(JobConcurrency(jobs))
        } else {
            Err(JobConcurrencyError::OutOfRange(jobs))
        }
    }

    pub fn get(self) -> u32 {
        self.0
    }
}

impl FromStr for JobConcurrency {
    type Err = JobConcurrencyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let jobs = s
            .parse::<u32>()
            .map_err(|_| JobConcurrencyError::NotANumber(s.to_owned()))?;
        JobConcurrency::new(jobs)
    }
}

impl fmt::Display for JobConcurrency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_job_kind_reads_back_from_its_stored_name() {
        for kind in [
            JobKind::EmailNotification,
            JobKind::AccessRevoke,
            JobKind::ExportBuild,
        ] {
            assert_eq!(JobKind::from_stored(kind.as_str()), kind);
        }
        assert_eq!(
            JobKind::from_stored("subject.archive"),
            JobKind::Unknown("subject.archive".to_owned())
        );
    }

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn retries_back_off_exponentially_within_their_jitter_and_then_stop() {
        let now = at("2026-12-02T10:00:00Z");
        let wait = |attempt, jitter| match after_failure(attempt, 8, now, jitter) {
            AfterFailure::RetryAt(t) => t.duration_since(now).as_secs_f64(),
            AfterFailure::Dead => -1.0,
        };
        assert_eq!(wait(1, 0.0), 5.0);
        assert_eq!(wait(2, 0.0), 10.0);
        assert_eq!(wait(3, 0.0), 20.0);
        assert_eq!(wait(3, 0.5), 15.0, "jitter shortens a wait by up to half");
        assert!(wait(3, 0.999) > 10.0);
        assert_eq!(wait(7, 0.0), 320.0);
        assert_eq!(after_failure(8, 8, now, 0.0), AfterFailure::Dead);
        // A long run of failures never waits more than an hour.
        assert_eq!(
            after_failure(40, 100, now, 0.0),
            AfterFailure::RetryAt(at("2026-12-02T11:00:00Z"))
        );
    }

    #[test]
    fn statuses_round_trip_through_their_names() {
        for name in JobStatus::NAMES {
            assert_eq!(JobStatus::parse(name).unwrap().as_str(), *name);
        }
        assert_eq!(JobStatus::parse("paused"), None);
    }

    #[test]
    fn a_lease_is_a_duration_between_a_second_and_an_hour() {
        let lease: JobLease = "30s".parse().unwrap();
        assert_eq!(lease, JobLease::DEFAULT);
        assert_eq!(lease.renewal_interval(), SignedDuration::from_secs(10));
        assert_eq!("2m".parse::<JobLease>().unwrap().length().as_secs(), 120);
        assert_eq!(
            "soon".parse::<JobLease>(),
            Err(JobLeaseError::NotADuration("soon".to_owned()))
        );
        assert!(matches!(
            "500ms".parse::<JobLease>(),
            Err(JobLeaseError::OutOfRange(_))
        ));
        assert!(matches!(
            "2h".parse::<JobLease>(),
            Err(JobLeaseError::OutOfRange(_))
        ));
    }

    #[test]
    fn a_concurrency_is_between_one_and_sixty_four_jobs() {
        assert_eq!("8".parse::<JobConcurrency>(), Ok(JobConcurrency::DEFAULT));
        assert_eq!("1".parse::<JobConcurrency>(), Ok(JobConcurrency::ONE));
        assert_eq!("64".parse::<JobConcurrency>().unwrap().get(), 64);
        assert_eq!(
            "0".parse::<JobConcurrency>(),
            Err(JobConcurrencyError::OutOfRange(0))
        );
        assert_eq!(
            "65".parse::<JobConcurrency>(),
            Err(JobConcurrencyError::OutOfRange(65))
        );
        assert_eq!(
            "many".parse::<JobConcurrency>(),
            Err(JobConcurrencyError::NotANumber("many".to_owned()))
        );
    }
}
