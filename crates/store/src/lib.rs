//! Persistence for Exeunt.
//!
//! One [`Store`], shaped by what the use cases need, on SQLite (the zero-setup default: one
//! file under the data dir) or PostgreSQL (for several replicas), chosen when it is opened.
//! Every read and write happens inside a [`Tx`]; a use case that changes something writes the
//! change and its audit event in the same transaction.
//!
//! The SQL lives once, in `queries/` (one file per area), written against `backend::DbConn`,
//! which hands each statement to the small `sql::Conn` interface each driver implements:
//! rusqlite for SQLite (statements run inline, writes commit in groups, see `sqlite.rs`), sqlx
//! for PostgreSQL. What differs between the two (how a write transaction begins, row locks,
//! whether one statement may hold two writes) lives in the two driver modules.

mod backend;
mod idempotency;
mod model;
mod plans;
mod postgres;
mod queries;
mod sql;
mod sqlite;

pub use idempotency::{Answered, Answering, IdempotencyClaim, KeptResponse, KeyClaim};
pub use model::{
    AuditFilter, BLOB_CHUNK, BlobMeta, CaseActivity, CaseFilter, CaseSummary, CertificateRow,
    CheckpointRow, Concern, ConnectorRow, EvidenceMeta, Export, Job, JobEnd, JobFilter, JobSettle,
    Mine, Notification, PurgeCandidate, RecordFile, SigningKeyRow, StoredBlueprint, SubjectFilter,
    SubscriptionRow, TaskFilter, TaskRow, Tombstone,
};
pub use postgres::redact;

use std::sync::Arc;

use backend::DbConn;
use plans::TaskPlans;
pub use queries::Tx;

/// Errors of the persistence layer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the database at {location}: {reason}")]
    Open { location: String, reason: String },
    #[error("cannot migrate the database schema: {0}")]
    Migrate(String),
    #[error("{what} already exists")]
    Conflict { what: String },
    #[error("{0}")]
    Refused(String),
    #[error("the database holds a value this version cannot read: {0}")]
    Corrupt(String),
    #[error("the transaction could not be committed: {0}")]
    CommitFailed(String),
    /// The database cannot take writes now: its disk is full, or its files or the server are
    /// read-only. Nothing of the write was kept; it may succeed once space returns.
    #[error("the database cannot store this now: {0}")]
    Storage(String),
    /// The database server cannot be reached, or the connection to it was lost: nothing of
    /// the transaction was kept (unless its commit was what was cut off); it may succeed later.
    #[error("the database cannot be reached: {0}")]
    Unavailable(String),
    /// A resend of a keyed request took it over from this attempt (see `idempotency.rs`).
    #[error("a resend of this request took it over")]
    TakenOver,
    #[error("database error: {0}")]
    Postgres(sqlx::Error),
    #[error("database error: {0}")]
    Sqlite(rusqlite::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict {
                what: db
                    .constraint()
                    .unwrap_or("a row with the same key")
                    .to_owned(),
            },
            // disk_full, out_of_memory, read_only_sql_transaction, and the server going
            // read-only or away mid-transaction.
            sqlx::Error::Database(db)
                if db
                    .code()
                    .is_some_and(|c| matches!(c.as_ref(), "53100" | "53200" | "25006")) =>
            {
                StoreError::Storage(db.message().to_owned())
            }
            _ if postgres::connection_lost(&e) => StoreError::Unavailable(e.to_string()),
            _ => StoreError::Postgres(e),
        }
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        use rusqlite::ffi::{SQLITE_CONSTRAINT_PRIMARYKEY, SQLITE_CONSTRAINT_UNIQUE};
        match &e {
            rusqlite::Error::SqliteFailure(failure, _)
                if matches!(
                    failure.extended_code,
                    SQLITE_CONSTRAINT_UNIQUE | SQLITE_CONSTRAINT_PRIMARYKEY
                ) =>
            {
                StoreError::Conflict {
                    what: "a row with the same key".to_owned(),
                }
            }
            rusqlite::Error::SqliteFailure(failure, _)
                if matches!(
                    failure.code,
                    rusqlite::ErrorCode::DiskFull
                        | rusqlite::ErrorCode::ReadOnly
                        | rusqlite::ErrorCode::SystemIoFailure
                ) =>
            {
                StoreError::Storage(e.to_string())
            }
            _ => StoreError::Sqlite(e),
        }
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// The database Exeunt runs on: SQLite or PostgreSQL, chosen when it is opened. A value, not a
/// type parameter: everything above this crate holds a `Store` and does not know which.
#[derive(Clone, Debug)]
pub struct Store {
    backend: Backend,
    /// The plans of the cases read last, shared by all the store's transactions.
    plans: Arc<TaskPlans>,
    /// Whether the last write ended in a storage failure (see [`Store::writable`]).
    writes_failing: Arc<std::sync::atomic::AtomicBool>,
    /// Whether an erasure left old page versions to clear (see [`Store::finish_erasure`]).
    erasure_pending: Arc<std::sync::atomic::AtomicBool>,
    /// The keyed requests running in this process (see `idempotency.rs`).
    live_attempts: idempotency::LiveAttempts,
}

#[derive(Clone, Debug)]
enum Backend {
    Sqlite(sqlite::SqliteStore),
    Postgres(postgres::PostgresStore),
}

impl Store {
    /// Opens the store at `location` and brings its schema up to date. `create` makes a
    /// SQLite file that does not exist yet; without it a missing file is refused.
    pub async fn open(location: &Location, create: bool) -> Result<Self> {
        match location {
            Location::Sqlite(path) => Self::sqlite(path, create).await,
            Location::Postgres(url) => Self::postgres(url).await,
        }
    }

    /// The SQLite file at `path`.
    pub async fn sqlite(path: &std::path::Path, create: bool) -> Result<Self> {
        Ok(Self::on(Backend::Sqlite(
            sqlite::SqliteStore::open(path, create).await?,
        )))
    }

    /// The PostgreSQL database at `url`. Migrations take an advisory lock, so several replicas
    /// starting together migrate once.
    pub async fn postgres(url: &str) -> Result<Self> {
        Ok(Self::on(Backend::Postgres(
            postgres::PostgresStore::open(url).await?,
        )))
    }

    fn on(backend: Backend) -> Self {
        Store {
            backend,
            plans: Arc::default(),
            writes_failing: Arc::default(),
            erasure_pending: Arc::default(),
            live_attempts: Arc::default(),
        }
    }

    /// A transaction that only reads: a consistent snapshot.
    pub async fn read(&self) -> Result<Tx> {
        self.commit_waiting().await?;
        let conn = match &self.backend {
            Backend::Sqlite(s) => DbConn::Sqlite(s.read().await?),
            Backend::Postgres(s) => DbConn::Postgres(s.read().await?),
        };
        Ok(Tx::new(conn, self.plans.clone(), None))
    }

    /// A transaction that writes. Writers that touch the same case or the same tenant's audit
    /// chain are serialized, so every audit event gets the next number.
    pub async fn write(&self) -> Result<Tx> {
        self.commit_waiting().await?;
        let conn = match &self.backend {
            Backend::Sqlite(s) => DbConn::Sqlite(s.write().await?),
            Backend::Postgres(s) => DbConn::Postgres(s.write().await?),
        };
        Ok(Tx::new(
            conn,
            self.plans.clone(),
            Some(self.writes_failing.clone()),
        ))
    }

    /// Which backend this is, for messages and benchmarks.
    pub fn backend(&self) -> &'static str {
        match &self.backend {
            Backend::Sqlite(_) => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }

    /// Whether writes go through: false while the last write failed for want of storage (a
    /// full disk, a read-only file system) until a write succeeds again. When they were
    /// failing, this tries a small write of its own, so that readiness comes back with the
    /// space even when nobody else writes.
    pub async fn writable(&self) -> Result<()> {
        use std::sync::atomic::Ordering;
        if !self.writes_failing.load(Ordering::Relaxed) {
            return Ok(());
        }
        let mut tx = self.write().await?;
        tx.probe_write().await?;
        tx.commit().await
    }

    /// Makes what committed erasures removed unreadable in the database's files, as far as
    /// the backend allows: call it once an erasure (a purge) committed. On SQLite,
    /// `secure_delete` has zeroed it in the pages; this empties the write-ahead log, which still
    /// holds the pages as they were. False when readers on older snapshots kept the log from
    /// being emptied: then [`Store::finish_erasure`] tries again. On PostgreSQL, nothing yet:
    /// ARCHITECTURE.md says what remains there, and for how long.
    pub async fn erase_old_versions(&self) -> Result<bool> {
        use std::sync::atomic::Ordering;
        self.erasure_pending.store(true, Ordering::Relaxed);
        if idempotency::current().is_some() {
            // The erasure waits to commit with the request's answer, which then finishes it.
            return Ok(false);
        }
        self.finish_erasure().await
    }

    /// Empties the write-ahead log if an erasure left it holding old page versions, without
    /// waiting for readers: true once nothing is left to do. The worker calls it every minute,
    /// so a log that a reader kept full at the purge is emptied soon after.
    pub async fn finish_erasure(&self) -> Result<bool> {
        use std::sync::atomic::Ordering;
        if !self.erasure_pending.load(Ordering::Relaxed) {
            return Ok(true);
        }
        let done = match &self.backend {
            Backend::Sqlite(s) => s.checkpoint().await?,
            Backend::Postgres(_) => true,
        };
        if done {
            self.erasure_pending.store(false, Ordering::Relaxed);
        }
        Ok(done)
    }

    /// How many commits (each one fsync) made SQLite writes durable since the store opened:
    /// with group commit, fewer than the write transactions. None on PostgreSQL.
    pub async fn sqlite_commits(&self) -> Option<u64> {
        match &self.backend {
            Backend::Sqlite(s) => Some(s.commits().await),
            Backend::Postgres(_) => None,
        }
    }

    /// What an idle worker waits on to hear that a job was queued, instead of only polling.
    pub async fn job_wakeups(&self) -> Result<JobWakeups> {
        match &self.backend {
            Backend::Sqlite(s) => Ok(s.job_wakeups()),
            Backend::Postgres(s) => s.job_wakeups().await,
        }
    }
}

/// Wake-ups for an idle job worker: `NOTIFY exeunt_jobs` on PostgreSQL (from any process on
/// the database), an in-process signal on SQLite.
pub struct JobWakeups(Wakeups);

enum Wakeups {
    Postgres(Box<sqlx::postgres::PgListener>),
    Local(std::sync::Arc<tokio::sync::Notify>),
}

/// The channel PostgreSQL workers listen on.
pub(crate) const JOBS_CHANNEL: &str = "exeunt_jobs";

impl JobWakeups {
    pub(crate) fn postgres(listener: sqlx::postgres::PgListener) -> Self {
        JobWakeups(Wakeups::Postgres(Box::new(listener)))
    }

    pub(crate) fn local(notify: std::sync::Arc<tokio::sync::Notify>) -> Self {
        JobWakeups(Wakeups::Local(notify))
    }

    /// Returns when a job may have been queued, or after `longest` at the latest (jobs that
    /// fall due later, or a wake-up lost while the connection was down, are found then).
    pub async fn wait(&mut self, longest: std::time::Duration) {
        match &mut self.0 {
            Wakeups::Postgres(listener) => {
                match tokio::time::timeout(longest, listener.recv()).await {
                    // One claim takes every job there is room for: the word of the others
                    // queued meanwhile is already answered.
                    Ok(Ok(_)) => while listener.next_buffered().is_some() {},
                    Ok(Err(e)) => {
                        tracing::warn!(error = %e, "listening for queued jobs failed; polling");
                        tokio::time::sleep(longest).await;
                    }
                    Err(_) => {}
                }
            }
            Wakeups::Local(notify) => {
                let _ = tokio::time::timeout(longest, notify.notified()).await;
            }
        }
    }
}

/// Where Exeunt keeps its data: a SQLite file under a directory, or a PostgreSQL URL.
#[derive(Clone, Debug)]
pub enum Location {
    Sqlite(std::path::PathBuf),
    Postgres(String),
}

impl Location {
    /// A `postgres://` (or `postgresql://`) URL selects PostgreSQL; otherwise the SQLite file
    /// `exeunt.db` in `data_dir`.
    pub fn choose(database_url: Option<&str>, data_dir: &std::path::Path) -> Self {
        match database_url {
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                Location::Postgres(url.to_owned())
            }
            Some(path) => Location::Sqlite(std::path::PathBuf::from(
                path.trim_start_matches("sqlite://"),
            )),
            None => Location::Sqlite(data_dir.join("exeunt.db")),
        }
    }
}
