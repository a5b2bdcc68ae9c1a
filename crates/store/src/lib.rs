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
mod keyring;
mod model;
mod plans;
mod postgres;
mod queries;
mod sql;
mod sqlite;

pub use idempotency::{Answered, Answering, IdempotencyClaim, KeptResponse, KeyClaim};
pub use keyring::{Keyring, KeyringLocation, with_database};
pub use model::{
    AuditFilter, BLOB_CHUNK, BlobMeta, CaseActivity, CaseFilter, CaseSummary, CertificateRow,
    CheckpointRow, Concern, ConnectorRow, EvidenceMeta, ExitInEffect, Export, Job, JobEnd,
    JobFilter, JobSettle, Mine, Notification, PurgeCandidate, RecordFile, SigningKeyRow,
    StoredBlueprint, SubjectFilter, SubscriptionRow, TaskFilter, TaskRow, Tombstone,
};
pub use postgres::redact;

use std::sync::Arc;

use backend::DbConn;
use plans::TaskPlans;
pub use queries::{ListingPlan, Tx};

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
    /// A statement ran longer than one may (PostgreSQL's `statement_timeout`) and was
    /// cancelled: nothing of the transaction was kept; it may succeed when the database is
    /// less busy.
    #[error("the database took too long and cancelled the statement: {0}")]
    TimedOut(String),
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
            // query_canceled: past `statement_timeout` (the pool's own cancels nothing else).
            sqlx::Error::Database(db) if db.code().as_deref() == Some("57014") => {
                StoreError::TimedOut(db.message().to_owned())
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
    /// Where the subjects' data keys live, apart from the database (see `keyring.rs`).
    keyring: Keyring,
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
    /// Opens the store at `location` and brings its schema up to date, with its keyring where
    /// it is kept by default ([`KeyringLocation::beside`]). `create` makes a SQLite file that
    /// does not exist yet; without it a missing file is refused.
    pub async fn open(location: &Location, create: bool) -> Result<Self> {
        Self::open_with_keyring(location, &KeyringLocation::beside(location)?, create).await
    }

    /// Opens the store at `location` with the keyring at `keyring`. The keyring is made when
    /// it does not exist only while the database holds no subject (or holds the keys an
    /// earlier Exeunt kept in it, which move there now).
    pub async fn open_with_keyring(
        location: &Location,
        keyring: &KeyringLocation,
        create: bool,
    ) -> Result<Self> {
        if keyring.names_the_database(location)? {
            return Err(StoreError::Open {
                location: keyring.to_string(),
                reason: "the keyring must be kept apart from the database, or every backup \
                         of the database holds the keys: name another with --keyring"
                    .into(),
            });
        }
        let backend = match location {
            Location::Sqlite(path) => {
                Backend::Sqlite(sqlite::SqliteStore::open(path, create).await?)
            }
            Location::Postgres(url) => Backend::Postgres(postgres::PostgresStore::open(url).await?),
        };
        let plans = Arc::<TaskPlans>::default();
        let mut tx = begin_read(&backend, &plans).await?;
        let legacy = tx.legacy_data_keys().await?;
        let new_keyring_is_safe = !legacy.is_empty() || !tx.holds_subjects().await?;
        let unfinished_erasures = !tx.queued_key_shreds().await?.is_empty();
        drop(tx);
        let keyring = Keyring::open(keyring, new_keyring_is_safe).await?;
        let store = Store {
            backend,
            keyring,
            plans,
            writes_failing: Arc::default(),
            // Erasures a stop cut short are finished by the first sweep.
            erasure_pending: Arc::new(std::sync::atomic::AtomicBool::new(unfinished_erasures)),
            live_attempts: Arc::default(),
        };
        if !legacy.is_empty() {
            store.move_legacy_data_keys(legacy).await?;
        }
        Ok(store)
    }

    /// The SQLite file at `path`, with its keyring beside it.
    pub async fn sqlite(path: &std::path::Path, create: bool) -> Result<Self> {
        Self::open(&Location::Sqlite(path.to_owned()), create).await
    }

    /// The PostgreSQL database at `url`, with its keyring beside it. Migrations take an
    /// advisory lock, so several replicas starting together migrate once.
    pub async fn postgres(url: &str) -> Result<Self> {
        Self::open(&Location::Postgres(url.to_owned()), false).await
    }

    /// Moves the data keys an earlier Exeunt kept in the database to the keyring, then
    /// removes them from the database and its files. Keeping a key that is there already is
    /// no change, so two servers opening at once move them once. Servers of the earlier
    /// version must be stopped first: a key one of them writes to the database afterwards
    /// is not moved (ARCHITECTURE.md, the keyring).
    async fn move_legacy_data_keys(&self, legacy: Vec<queries::LegacyDataKey>) -> Result<()> {
        for (tenant, subject, sealed, created_at_us) in &legacy {
            let made = jiff::Timestamp::from_microsecond(*created_at_us)
                .map_err(|e| StoreError::Corrupt(format!("a data key's time: {e}")))?;
            let kept = self.keyring.keep(*tenant, *subject, sealed, made).await?;
            if kept != *sealed {
                // Deleting the database's copy would leave the files it sealed unreadable.
                return Err(StoreError::Open {
                    location: self.keyring.location().to_string(),
                    reason: format!(
                        "the keyring holds another data key for subject {subject} than the \
                         database does: is it this database's keyring?"
                    ),
                });
            }
        }
        let mut tx = self.write().await?;
        tx.forget_legacy_data_keys(&legacy).await?;
        tx.commit_now().await?;
        tracing::info!(keys = legacy.len(), "moved the data keys to the keyring");
        self.erase_old_versions().await?;
        Ok(())
    }

    /// The keyring: where the subjects' data keys are kept.
    pub fn keyring(&self) -> &Keyring {
        &self.keyring
    }

    /// A transaction that only reads: a consistent snapshot.
    pub async fn read(&self) -> Result<Tx> {
        self.commit_waiting().await?;
        begin_read(&self.backend, &self.plans).await
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

    /// How long one statement of a request may run (PostgreSQL's `statement_timeout` on the
    /// pool's connections, as the server reports it); SQLite sets no such limit.
    pub async fn statement_timeout(&self) -> Result<Option<String>> {
        match &self.backend {
            Backend::Sqlite(_) => Ok(None),
            Backend::Postgres(s) => s.statement_timeout().await.map(Some),
        }
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

    /// Makes what committed erasures removed unreadable in the database's files and the
    /// keyring's, as far as each backend allows: call it once an erasure (a purge) committed.
    /// False when something was left for [`Store::finish_erasure`] to try again.
    pub async fn erase_old_versions(&self) -> Result<bool> {
        use std::sync::atomic::Ordering;
        self.erasure_pending.store(true, Ordering::Relaxed);
        if idempotency::current().is_some() {
            // The erasure waits to commit with the request's answer, which then finishes it.
            return Ok(false);
        }
        self.finish_erasure().await
    }

    /// Finishes what erasures left, without waiting for readers: true once nothing is left
    /// to do. The worker calls it every minute (and the store when it opens), so what a stop
    /// or a reader held up is finished soon after.
    ///
    /// First the data keys purges queued are shredded from the keyring (the queue empties
    /// only once all of this is done, so a stop midway is finished at the next start). Then, on SQLite,
    /// `secure_delete` has zeroed what the purges deleted in its pages and the write-ahead
    /// log, which still holds the pages as they were, is emptied. On PostgreSQL the tables a
    /// purge writes personal data out of are rewritten (`VACUUM FULL`), so that the dead
    /// versions of their rows leave the table files; ARCHITECTURE.md says what remains.
    pub async fn finish_erasure(&self) -> Result<bool> {
        use std::sync::atomic::Ordering;
        // The queue is read every time, flag or not: a purge another process or server ran
        // set no flag here. A purge of this process that commits after the flag is taken
        // sets it again.
        let pending = self.erasure_pending.swap(false, Ordering::AcqRel);
        let queued = self.read().await?.queued_key_shreds().await?;
        if !pending && queued.is_empty() {
            return Ok(true);
        }
        let keys_shredded = queued.is_empty() || self.keyring.shred(&queued).await?;
        // What held the keyring's cleanup up (a reader, an open transaction) most likely holds
        // the database's up too: both wait for the next sweep.
        let done = keys_shredded
            && match &self.backend {
                Backend::Sqlite(s) => s.checkpoint().await?,
                Backend::Postgres(s) => s.rewrite_erased_tables().await?,
            };
        if done {
            // The queue is the erasures left to finish: a stop before here finishes them at
            // the next start.
            if !queued.is_empty() {
                let mut tx = self.write().await?;
                tx.forget_key_shreds(&queued).await?;
                tx.commit_now().await?;
            }
        } else {
            self.erasure_pending.store(true, Ordering::Release);
        }
        Ok(done)
    }

    /// [`Store::finish_erasure`], if an erasure of this process left something to finish:
    /// what a keyed request that purged runs once its answer committed, without a read for
    /// every other request.
    pub(crate) async fn finish_pending_erasure(&self) -> Result<bool> {
        if !self
            .erasure_pending
            .load(std::sync::atomic::Ordering::Acquire)
        {
            return Ok(true);
        }
        self.finish_erasure().await
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

/// A read transaction on `backend`.
async fn begin_read(backend: &Backend, plans: &Arc<TaskPlans>) -> Result<Tx> {
    let conn = match backend {
        Backend::Sqlite(s) => DbConn::Sqlite(s.read().await?),
        Backend::Postgres(s) => DbConn::Postgres(s.read().await?),
    };
    Ok(Tx::new(conn, plans.clone(), None))
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
