//! The SQLite backend: one file, WAL, `synchronous=FULL`, driven through rusqlite on the calling
//! thread.
//!
//! Why not on a thread of its own: a statement on a warm page cache takes microseconds, while
//! handing each one to another thread and back costs far more on a small virtual machine. So a
//! transaction runs its statements inline; only the commit waits on the disk.
//!
//! Writes go through one connection, and commit in groups: the first write transaction opens
//! the connection's transaction (the batch), each later one is a savepoint inside it, and each,
//! when done, asks for a commit. Writers that queued meanwhile add their work first, so one
//! `COMMIT` (one fsync) makes a whole batch durable. Nobody is answered before the batch holding
//! their write has committed; a writer that fails rolls back to its savepoint and leaves the
//! others' work alone (the first rolls back the batch, which holds nothing else yet).

use std::cell::Cell;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex as StdMutex};
use std::time::Duration;

use rusqlite::config::DbConfig;
use rusqlite::types::{ToSqlOutput, Value, ValueRef};
use rusqlite::{Connection, OpenFlags, ToSql, TransactionBehavior};
use tokio::sync::{Mutex, OwnedMutexGuard};
use uuid::Uuid;

use crate::sql::{Arg, Column, Conn, Row, bad_column};
use crate::{Result, StoreError};

/// The schema's migrations, by the number `PRAGMA user_version` records. From 5 on, SQLite's
/// numbers run one ahead of PostgreSQL's for the same change: SQLite alone needed 0005 to
/// cluster audit events by (tenant, seq). A number a database has recorded is never reused
/// or renumbered, so the two lists stay apart; `Store` hides the difference.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "foundation",
        include_str!("../migrations/sqlite/0001_foundation.sql"),
    ),
    (
        2,
        "api tokens",
        include_str!("../migrations/sqlite/0002_api_tokens.sql"),
    ),
    (
        3,
        "sessions",
        include_str!("../migrations/sqlite/0003_sessions.sql"),
    ),
    (
        4,
        "idempotency keys",
        include_str!("../migrations/sqlite/0004_idempotency.sql"),
    ),
    (
        5,
        "audit events clustered",
        include_str!("../migrations/sqlite/0005_audit_clustered.sql"),
    ),
    (
        6,
        "legal holds and retention",
        include_str!("../migrations/sqlite/0006_governance.sql"),
    ),
    (
        7,
        "case frozen at",
        include_str!("../migrations/sqlite/0007_case_frozen.sql"),
    ),
    (
        8,
        "revocations",
        include_str!("../migrations/sqlite/0008_revocations.sql"),
    ),
    (
        9,
        "signing keys and certificates",
        include_str!("../migrations/sqlite/0009_certificates.sql"),
    ),
    (
        10,
        "sealed files",
        include_str!("../migrations/sqlite/0010_sealed_files.sql"),
    ),
    (
        11,
        "exports",
        include_str!("../migrations/sqlite/0011_exports.sql"),
    ),
    (
        12,
        "tombstones",
        include_str!("../migrations/sqlite/0012_tombstones.sql"),
    ),
    (
        13,
        "export acknowledgements",
        include_str!("../migrations/sqlite/0013_export_receipts.sql"),
    ),
    (
        14,
        "notifications",
        include_str!("../migrations/sqlite/0014_notifications.sql"),
    ),
    (
        15,
        "jobs",
        include_str!("../migrations/sqlite/0015_jobs.sql"),
    ),
    (
        16,
        "connectors",
        include_str!("../migrations/sqlite/0016_connectors.sql"),
    ),
    (
        17,
        "job claim index",
        include_str!("../migrations/sqlite/0017_job_claim_index.sql"),
    ),
    (
        18,
        "reminders",
        include_str!("../migrations/sqlite/0018_reminders.sql"),
    ),
    (
        19,
        "email opt-outs",
        include_str!("../migrations/sqlite/0019_email_opt_outs.sql"),
    ),
    (
        20,
        "webhook subscriptions",
        include_str!("../migrations/sqlite/0020_webhook_subscriptions.sql"),
    ),
    (
        21,
        "email templates",
        include_str!("../migrations/sqlite/0021_email_templates.sql"),
    ),
    (
        22,
        "user time zones",
        include_str!("../migrations/sqlite/0022_user_time_zones.sql"),
    ),
    (
        23,
        "tenant time zones",
        include_str!("../migrations/sqlite/0023_tenant_time_zones.sql"),
    ),
    (
        24,
        "export jobs",
        include_str!("../migrations/sqlite/0024_export_jobs.sql"),
    ),
    (
        25,
        "audit subjects",
        include_str!("../migrations/sqlite/0025_audit_subjects.sql"),
    ),
    (
        26,
        "number counters",
        include_str!("../migrations/sqlite/0026_number_counters.sql"),
    ),
    (
        27,
        "write probes",
        include_str!("../migrations/sqlite/0027_write_probes.sql"),
    ),
    (
        28,
        "idempotency attempts",
        include_str!("../migrations/sqlite/0028_idempotency_attempts.sql"),
    ),
    (
        29,
        "audit checkpoints",
        include_str!("../migrations/sqlite/0029_audit_checkpoints.sql"),
    ),
    (
        30,
        "audit format",
        include_str!("../migrations/sqlite/0030_audit_format.sql"),
    ),
    (
        31,
        "users ended",
        include_str!("../migrations/sqlite/0031_users_ended.sql"),
    ),
    (
        32,
        "keyring",
        include_str!("../migrations/sqlite/0032_keyring.sql"),
    ),
    (
        33,
        "listing indexes",
        include_str!("../migrations/sqlite/0033_listing_indexes.sql"),
    ),
    (
        34,
        "case rollups",
        include_str!("../migrations/sqlite/0034_case_rollups.sql"),
    ),
    (
        35,
        "sign-in failures",
        include_str!("../migrations/sqlite/0035_sign_in_failures.sql"),
    ),
    (
        36,
        "person and case indexes",
        include_str!("../migrations/sqlite/0036_person_and_case_indexes.sql"),
    ),
    (
        37,
        "exits in effect",
        include_str!("../migrations/sqlite/0037_exits_in_effect.sql"),
    ),
];

/// How many idle read connections are kept open.
const IDLE_READERS: usize = 8;
/// How long a statement waits for another process's write lock before it fails.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// Prepared statements kept per connection: every query of `queries.rs` fits.
const STATEMENT_CACHE: usize = 128;

#[derive(Clone)]
pub struct SqliteStore {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.shared.path)
            .finish_non_exhaustive()
    }
}

struct Shared {
    path: PathBuf,
    writer: Arc<Mutex<Writer>>,
    readers: StdMutex<Vec<Connection>>,
    /// Wakes this process's idle job worker when a job is queued.
    jobs_queued: Arc<tokio::sync::Notify>,
}

/// The connection every write goes through, and the batch of write transactions it holds open.
struct Writer {
    conn: Connection,
    /// The number of the open batch, or of the next one when none is open.
    batch: u64,
    /// Whether a batch is open: a `BEGIN IMMEDIATE` not yet committed.
    open: bool,
    /// Whether the running write transaction has a savepoint of its own. The first of a batch
    /// has none: undoing it is rolling the batch back, and a savepoint would make SQLite copy
    /// every page it changes into a sub-journal.
    savepoint: bool,
    /// Write transactions that finished into the open batch.
    members: usize,
    /// Batches committed since the store opened.
    commits: u64,
    /// Batches whose commit failed, with why and how many of their members have yet to ask:
    /// each member learns it when it comes to commit, and the entry goes with the last one.
    /// (Keeping only the latest few is not enough: a member queued behind many writers that
    /// each lose a batch, as on a full disk, would find no entry and take its batch for
    /// committed.)
    failed: BTreeMap<u64, (usize, String)>,
}

/// Why a transaction ended on its own: some errors (a full disk, an I/O error) make SQLite roll
/// back the whole transaction, savepoints and batch included.
const ROLLED_BACK: &str = "the transaction was rolled back after an error";

impl SqliteStore {
    /// Opens (and, when `create` is set, creates) the database file, and brings its schema up
    /// to date.
    pub async fn open(path: &Path, create: bool) -> Result<Self> {
        let open_error = |reason: String| StoreError::Open {
            location: path.display().to_string(),
            reason,
        };
        if !create && !path.exists() {
            return Err(open_error("the database file does not exist".into()));
        }
        let mut conn = connect(path, create).map_err(|e| open_error(e.to_string()))?;
        let mode: String = conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .map_err(|e| open_error(e.to_string()))?;
        if !mode.eq_ignore_ascii_case("wal") {
            // Readers beside the writer, and the durability this store promises, need WAL.
            return Err(open_error(format!(
                "the file system does not support SQLite's write-ahead log (journal mode \
                 stayed `{mode}`); keep the data dir on a local disk"
            )));
        }
        // secure_delete: what a write deletes or overwrites is zeroed in its page (FAST would
        // leave whole freed pages as they were), so an erased subject leaves no bytes behind
        // in the file; see `checkpoint` for the write-ahead log.
        conn.execute_batch(
            "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA secure_delete = ON;",
        )
        .map_err(|e| open_error(e.to_string()))?;
        migrate(&mut conn)?;
        Ok(Self {
            shared: Arc::new(Shared {
                path: path.to_owned(),
                writer: Arc::new(Mutex::new(Writer {
                    conn,
                    batch: 1,
                    open: false,
                    savepoint: false,
                    members: 0,
                    commits: 0,
                    failed: BTreeMap::new(),
                })),
                readers: StdMutex::new(Vec::new()),
                jobs_queued: Arc::new(tokio::sync::Notify::new()),
            }),
        })
    }

    /// Copies the write-ahead log into the database file and truncates it, so that no older
    /// version of a page survives in the log: run after an erasure. A batch open meanwhile is
    /// committed first (its members find it committed). False, at once, when readers still on
    /// older snapshots kept the log from being emptied.
    pub(crate) async fn checkpoint(&self) -> Result<bool> {
        let mut writer = self.shared.writer.lock().await;
        if writer.open {
            let outcome = control(&writer.conn, "COMMIT").map_err(|e| e.to_string());
            writer.close(outcome);
        }
        // Readers are not waited for: the writer's connection would hold every write back
        // meanwhile. A checkpoint they keep from finishing is tried again later.
        writer.conn.busy_timeout(Duration::ZERO)?;
        let checkpointed = writer
            .conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
                r.get::<_, i64>(0)
            });
        writer.conn.busy_timeout(BUSY_TIMEOUT)?;
        match checkpointed {
            Ok(busy) => Ok(busy == 0),
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::DatabaseBusy =>
            {
                Ok(false)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// How many commits (each one fsync) made writes durable since the store opened: with
    /// group commit, fewer than the write transactions.
    pub(crate) async fn commits(&self) -> u64 {
        self.shared.writer.lock().await.commits
    }
}

fn connect(path: &Path, create: bool) -> rusqlite::Result<Connection> {
    let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX
        | OpenFlags::SQLITE_OPEN_URI;
    if create {
        flags |= OpenFlags::SQLITE_OPEN_CREATE;
    }
    let conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    // The bundled SQLite is built with STAT4, under which a statement whose plan could depend
    // on a bound value (a `LIMIT $n`, a value against a partial index's condition) is compiled
    // again every time that value is bound: the job claim was, once per job. The planner
    // stability guarantee keeps one plan per statement, which is what the cache is for.
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
    Ok(conn)
}

/// Applies the migrations the file has not seen. The schema version lives in
/// `PRAGMA user_version`; a file an earlier Exeunt migrated with sqlx records it in
/// `_sqlx_migrations` instead, which is read once.
fn migrate(conn: &mut Connection) -> Result<()> {
    let schema_error = |e: rusqlite::Error| StoreError::Migrate(e.to_string());
    let latest = MIGRATIONS.last().map_or(0, |(version, _, _)| *version);
    // An up-to-date file is the common case: it needs no write lock, so a CLI command does not
    // wait behind a busy server just to find nothing to do.
    let current: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(schema_error)?;
    if current == latest {
        return Ok(());
    }
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(schema_error)?;
    let mut applied: i64 = tx
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(schema_error)?;
    if applied == 0 {
        applied = tx
            .query_row(
                "SELECT COUNT(*) FROM sqlite_master WHERE name = '_sqlx_migrations'",
                [],
                |r| r.get::<_, i64>(0),
            )
            .and_then(|tables| match tables {
                0 => Ok(0),
                _ => tx.query_row(
                    "SELECT COALESCE(MAX(version), 0) FROM _sqlx_migrations WHERE success",
                    [],
                    |r| r.get(0),
                ),
            })
            .map_err(schema_error)?;
    }
    if applied > latest {
        return Err(StoreError::Migrate(format!(
            "the database has schema version {applied}, newer than this Exeunt knows ({latest}): \
             upgrade Exeunt"
        )));
    }
    for (version, name, sql) in MIGRATIONS {
        if *version > applied {
            tx.execute_batch(sql).map_err(|e| {
                StoreError::Migrate(format!("migration {version} ({name}) failed: {e}"))
            })?;
        }
    }
    tx.pragma_update(None, "user_version", latest)
        .map_err(schema_error)?;
    tx.commit().map_err(schema_error)
}

/// Runs a transaction-control statement, prepared once per connection: these run several times
/// per write.
fn control(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.raw_execute().map(drop)
}

impl Shared {
    fn reader(&self) -> Result<Connection> {
        let idle = self
            .readers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .pop();
        match idle {
            Some(conn) => Ok(conn),
            None => {
                let conn = connect(&self.path, false)?;
                conn.execute_batch("PRAGMA query_only = ON")?;
                Ok(conn)
            }
        }
    }

    fn return_reader(&self, conn: Connection) {
        if !conn.is_autocommit() && conn.execute_batch("ROLLBACK").is_err() {
            return;
        }
        let mut idle = self
            .readers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if idle.len() < IDLE_READERS {
            idle.push(conn);
        }
    }
}

impl Writer {
    /// Starts a write transaction: the batch itself when none is open, else a savepoint in it.
    /// `patient` says whether to wait (up to `BUSY_TIMEOUT`) when another process holds the
    /// database's write lock; an impatient begin fails at once with `SQLITE_BUSY` instead.
    fn begin(&mut self, patient: bool) -> Result<()> {
        if !self.open {
            let wait = if patient {
                BUSY_TIMEOUT
            } else {
                Duration::ZERO
            };
            self.conn.busy_timeout(wait)?;
            let began = control(&self.conn, "BEGIN IMMEDIATE");
            self.conn.busy_timeout(BUSY_TIMEOUT)?;
            began?;
            self.open = true;
            self.members = 0;
            self.savepoint = false;
            return Ok(());
        }
        if self.conn.is_autocommit() {
            // SQLite rolled the batch back on an error its last member went past: a savepoint
            // now would open a transaction of its own, outside the batch. The batch's members
            // hear it when they ask; this writer starts a new one.
            self.close(Err(ROLLED_BACK.into()));
            return self.begin(patient);
        }
        control(&self.conn, "SAVEPOINT write")?;
        self.savepoint = true;
        Ok(())
    }

    /// Ends a write transaction successfully: its changes join the batch. Returns the batch.
    fn release(&mut self) -> Result<u64> {
        if self.savepoint
            && let Err(e) = control(&self.conn, "RELEASE write")
        {
            self.abandon();
            return Err(e.into());
        }
        if !self.savepoint && self.conn.is_autocommit() {
            // The batch it opened is gone with an error it went past (the savepoint's RELEASE
            // fails the same way for a member that joined).
            self.close(Err(ROLLED_BACK.into()));
            return Err(StoreError::CommitFailed(ROLLED_BACK.into()));
        }
        self.savepoint = false;
        self.members += 1;
        Ok(self.batch)
    }

    /// Ends a write transaction that did not finish: its changes are undone, the batch's stay.
    fn abandon(&mut self) {
        if std::mem::take(&mut self.savepoint) {
            let undone = control(&self.conn, "ROLLBACK TO write")
                .and_then(|_| control(&self.conn, "RELEASE write"));
            if undone.is_err() {
                // The savepoint is gone with the whole transaction (SQLite rolls back
                // everything on some errors); the batch is lost, and its members hear so when
                // they commit.
                self.close(Err(ROLLED_BACK.into()));
                return;
            }
        }
        self.close_if_empty();
    }

    /// An open batch nobody joined is closed at once, so that it does not hold the database's
    /// write lock against other processes.
    fn close_if_empty(&mut self) {
        if self.open && self.members == 0 {
            if !self.conn.is_autocommit() {
                let _ = self.conn.execute_batch("ROLLBACK");
            }
            self.open = false;
        }
    }

    /// Makes `batch` durable if it is still open, and says how it ended.
    fn commit(&mut self, batch: u64) -> Result<()> {
        if self.open && self.batch == batch {
            let outcome = control(&self.conn, "COMMIT").map_err(|e| e.to_string());
            self.close(outcome);
        }
        let Some((waiting, reason)) = self.failed.get_mut(&batch) else {
            return Ok(());
        };
        let error = StoreError::CommitFailed(reason.clone());
        *waiting -= 1;
        if *waiting == 0 {
            self.failed.remove(&batch);
        }
        Err(error)
    }

    fn close(&mut self, outcome: std::result::Result<(), String>) {
        if !self.conn.is_autocommit() {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
        match outcome {
            Ok(()) => self.commits += 1,
            // Only members ask: a batch nobody joined needs no record.
            Err(reason) if self.members > 0 => {
                self.failed.insert(self.batch, (self.members, reason));
            }
            Err(_) => {}
        }
        self.open = false;
        self.members = 0;
        self.batch += 1;
    }
}

impl SqliteStore {
    pub(crate) async fn read(&self) -> Result<SqliteConn> {
        let conn = self.shared.reader()?;
        if let Err(e) = control(&conn, "BEGIN") {
            self.shared.return_reader(conn);
            return Err(e.into());
        }
        Ok(SqliteConn {
            shared: self.shared.clone(),
            state: State::Read(conn),
        })
    }

    pub(crate) async fn write(&self) -> Result<SqliteConn> {
        let mut writer = self.shared.writer.clone().lock_owned().await;
        let writer = match writer.begin(false) {
            Ok(()) => writer,
            // Another process (a CLI command, say) holds the write lock: wait for it on a
            // blocking thread, not on one of the few threads that serve requests.
            Err(StoreError::Sqlite(rusqlite::Error::SqliteFailure(failure, _)))
                if failure.code == rusqlite::ErrorCode::DatabaseBusy =>
            {
                tokio::task::spawn_blocking(move || writer.begin(true).map(|()| writer))
                    .await
                    .map_err(|e| {
                        StoreError::Refused(format!("waiting for the write lock: {e}"))
                    })??
            }
            Err(e) => return Err(e),
        };
        Ok(SqliteConn {
            shared: self.shared.clone(),
            state: State::Write(writer),
        })
    }

    pub(crate) fn job_wakeups(&self) -> crate::JobWakeups {
        crate::JobWakeups::local(self.shared.jobs_queued.clone())
    }
}

/// An open SQLite transaction: a read on a pooled connection, or a write in the writer's batch.
pub struct SqliteConn {
    shared: Arc<Shared>,
    state: State,
}

enum State {
    Read(Connection),
    Write(OwnedMutexGuard<Writer>),
    Finished,
}

impl SqliteConn {
    fn connection(&self) -> Result<&Connection> {
        let conn = match &self.state {
            State::Read(conn) => conn,
            State::Write(writer) => &writer.conn,
            State::Finished => {
                return Err(StoreError::Refused(
                    "the transaction has already ended".into(),
                ));
            }
        };
        // After SQLite rolled the whole transaction back, a statement would run on its own in
        // autocommit mode: a write would be durable at once, outside the batch, while its
        // caller is later told the transaction failed. Refuse everything after such an error.
        if conn.is_autocommit() {
            return Err(StoreError::CommitFailed(ROLLED_BACK.into()));
        }
        Ok(conn)
    }
}

impl Drop for SqliteConn {
    fn drop(&mut self) {
        match std::mem::replace(&mut self.state, State::Finished) {
            State::Read(conn) => self.shared.return_reader(conn),
            State::Write(mut writer) => writer.abandon(),
            State::Finished => {}
        }
    }
}

/// Prepares a statement of `queries.rs` (cached per connection). Its `$n` placeholders become
/// SQLite's `?n`, which bind by number: SQLite numbers `$n` in order of first appearance,
/// and looking each up by name costs time linear in the statement's placeholders.
fn prepare<'c>(conn: &'c Connection, sql: &str) -> Result<rusqlite::CachedStatement<'c>> {
    Ok(conn.prepare_cached(&sql.replace('$', "?"))?)
}

/// Binds the values to placeholders `?1`, `?2`, …
fn bind(statement: &mut rusqlite::Statement<'_>, args: &[Arg<'_>]) -> Result<()> {
    if statement.parameter_count() > args.len() {
        return Err(StoreError::Refused(format!(
            "a statement has {} placeholders but {} values: {}",
            statement.parameter_count(),
            args.len(),
            statement.expanded_sql().unwrap_or_default()
        )));
    }
    for (index, arg) in args.iter().enumerate() {
        statement.raw_bind_parameter(index + 1, arg)?;
    }
    Ok(())
}

impl Conn for SqliteConn {
    type Row<'r> = SqliteRow<'r>;

    fn lock_clause(&self) -> &'static str {
        ""
    }

    fn skip_locked_clause(&self) -> &'static str {
        ""
    }

    fn writable_ctes(&self) -> bool {
        false
    }

    fn random_uuid(&self) -> &'static str {
        "randomblob(16)"
    }

    async fn job_queued(&mut self) -> Result<()> {
        // A stored permit: a worker that is not waiting yet finds it when it next waits.
        self.shared.jobs_queued.notify_one();
        Ok(())
    }

    async fn execute(&mut self, sql: &str, args: &[Arg<'_>]) -> Result<u64> {
        let mut statement = prepare(self.connection()?, sql)?;
        bind(&mut statement, args)?;
        Ok(statement.raw_execute()? as u64)
    }

    async fn fetch<T: Send>(
        &mut self,
        sql: &str,
        args: &[Arg<'_>],
        mut map: impl for<'r> FnMut(&SqliteRow<'r>) -> Result<T> + Send,
    ) -> Result<Vec<T>> {
        let mut statement = prepare(self.connection()?, sql)?;
        bind(&mut statement, args)?;
        let columns: Vec<String> = statement
            .column_names()
            .into_iter()
            .map(str::to_owned)
            .collect();
        let mut rows = statement.raw_query();
        let mut mapped = Vec::new();
        while let Some(row) = rows.next()? {
            mapped.push(map(&SqliteRow {
                row,
                columns: &columns,
                next: Cell::new(0),
            })?);
        }
        Ok(mapped)
    }

    async fn lock_name(&mut self, _: &str) -> Result<()> {
        Ok(())
    }

    async fn explain(&mut self, sql: &str, args: &[Arg<'_>], _: bool) -> Result<Vec<String>> {
        let explained = format!("EXPLAIN QUERY PLAN {sql}");
        self.fetch(&explained, args, |r| Ok(r.text("detail")?.to_owned()))
            .await
    }

    async fn commit(mut self) -> Result<()> {
        match std::mem::replace(&mut self.state, State::Finished) {
            State::Read(conn) => {
                let ended = control(&conn, "COMMIT");
                self.shared.return_reader(conn);
                Ok(ended?)
            }
            State::Write(mut writer) => {
                let batch = writer.release()?;
                drop(writer);
                let writer = self.shared.writer.clone();
                match writer.clone().try_lock_owned() {
                    // Nobody is waiting to write: commit now.
                    Ok(mut writer) => writer.commit(batch),
                    // Writers are queued: they add their work to the batch before this one
                    // gets the connection back to commit it. That commit runs as a task of its
                    // own, so a caller that stops waiting cannot leave the batch open.
                    Err(_) => tokio::spawn(async move { writer.lock_owned().await.commit(batch) })
                        .await
                        .map_err(|e| StoreError::CommitFailed(e.to_string()))?,
                }
            }
            State::Finished => Ok(()),
        }
    }
}

impl ToSql for Arg<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            Arg::Int(v) => ToSqlOutput::Owned(v.map_or(Value::Null, Value::Integer)),
            Arg::Bool(v) => ToSqlOutput::Owned(Value::Integer(i64::from(*v))),
            Arg::Text(v) => ToSqlOutput::Borrowed(v.map_or(ValueRef::Null, |s| s.into())),
            Arg::Bytes(v) => ToSqlOutput::Borrowed(v.map_or(ValueRef::Null, ValueRef::Blob)),
            Arg::Uuid(v) => ToSqlOutput::Borrowed(
                v.as_ref()
                    .map_or(ValueRef::Null, |u| ValueRef::Blob(u.as_bytes())),
            ),
        })
    }
}

/// A row with its statement's column names at hand: looking a name up in rusqlite asks SQLite
/// for every column's name again, which showed as a tenth of the write path's time.
pub struct SqliteRow<'r> {
    row: &'r rusqlite::Row<'r>,
    columns: &'r [String],
    /// Where the next lookup by name starts: after the column read last.
    next: Cell<usize>,
}

impl SqliteRow<'_> {
    fn value(&self, column: impl Column) -> Result<ValueRef<'_>> {
        let index = column
            .position(self.columns, self.next.get())
            .ok_or_else(|| bad_column(column, "no such column in the result"))?;
        self.next.set(index + 1);
        Ok(self.row.get_ref(index)?)
    }
}

impl Row for SqliteRow<'_> {
    fn int(&self, column: impl Column) -> Result<i64> {
        self.value(column)?
            .as_i64()
            .map_err(|e| bad_column(column, e))
    }
    fn opt_int(&self, column: impl Column) -> Result<Option<i64>> {
        self.value(column)?
            .as_i64_or_null()
            .map_err(|e| bad_column(column, e))
    }
    fn bool(&self, column: impl Column) -> Result<bool> {
        Ok(self.int(column)? != 0)
    }
    fn text(&self, column: impl Column) -> Result<&str> {
        self.value(column)?
            .as_str()
            .map_err(|e| bad_column(column, e))
    }
    fn opt_text(&self, column: impl Column) -> Result<Option<&str>> {
        self.value(column)?
            .as_str_or_null()
            .map_err(|e| bad_column(column, e))
    }
    fn bytes(&self, column: impl Column) -> Result<&[u8]> {
        self.value(column)?
            .as_blob()
            .map_err(|e| bad_column(column, e))
    }
    fn opt_bytes(&self, column: impl Column) -> Result<Option<&[u8]>> {
        self.value(column)?
            .as_blob_or_null()
            .map_err(|e| bad_column(column, e))
    }
    fn uuid(&self, column: impl Column) -> Result<Uuid> {
        Uuid::from_slice(self.bytes(column)?).map_err(|e| bad_column(column, e))
    }
    fn opt_uuid(&self, column: impl Column) -> Result<Option<Uuid>> {
        self.opt_bytes(column)?
            .map(|b| Uuid::from_slice(b).map_err(|e| bad_column(column, e)))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_member_of_a_failed_batch_hears_it_however_many_batches_fail_after() {
        let mut writer = Writer {
            conn: Connection::open_in_memory().unwrap(),
            batch: 1,
            open: true,
            savepoint: false,
            members: 2,
            commits: 0,
            failed: BTreeMap::new(),
        };
        writer.close(Err("disk full".into()));
        // A full disk fails every batch after it, too.
        for _ in 0..100 {
            writer.open = true;
            writer.members = 1;
            writer.close(Err("disk full".into()));
        }
        for _ in 0..2 {
            assert!(matches!(writer.commit(1), Err(StoreError::CommitFailed(_))));
        }
        assert!(
            !writer.failed.contains_key(&1),
            "the record goes with the last member that asked"
        );
    }

    /// While another process holds the write lock, a writer waits without stalling the
    /// runtime: on a single-threaded runtime, other tasks keep running meanwhile.
    #[tokio::test]
    async fn waiting_for_another_process_does_not_block_the_runtime() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("exeunt.db");
        let store = crate::Store::sqlite(&path, true).await.unwrap();
        let other = Connection::open(&path).unwrap();
        other.execute_batch("BEGIN IMMEDIATE").unwrap();
        let holder = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            other.execute_batch("COMMIT").unwrap();
        });
        let ticks = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
        let ticker = tokio::spawn({
            let ticks = ticks.clone();
            async move {
                loop {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    ticks.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
            }
        });
        let tx = store.write().await.unwrap();
        let ticked = ticks.load(std::sync::atomic::Ordering::Relaxed);
        ticker.abort();
        holder.join().unwrap();
        // A writer that blocked the thread would leave the ticker no tick at all (it has not
        // run yet when the wait starts); a loaded machine may stretch its 10 ms sleeps, so
        // the bar is a few ticks, not the thirty an idle machine gives.
        assert!(
            ticked >= 3,
            "the runtime ran only {ticked} ticks while the writer waited"
        );
        tx.commit().await.unwrap();
    }

    /// A write that gives up leaves nothing behind, whether it opened its batch (and is rolled
    /// back with it) or joined one (and is rolled back to its savepoint, the batch kept).
    #[tokio::test]
    async fn an_abandoned_write_leaves_nothing_and_the_batch_it_joined_commits() {
        use engine::ids::{Slug, TenantId, Text, ZoneName};
        use engine::tenant::Tenant;
        let tenant = |slug: &str| Tenant {
            id: TenantId(Uuid::now_v7()),
            slug: Slug::parse(slug).unwrap(),
            name: Text::line(slug, 100).unwrap(),
            time_zone: ZoneName::utc(),
        };
        let dir = tempfile::tempdir().unwrap();
        let store = crate::Store::sqlite(&dir.path().join("exeunt.db"), true)
            .await
            .unwrap();
        let at = jiff::Timestamp::UNIX_EPOCH;

        let mut alone = store.write().await.unwrap();
        alone.insert_tenant(&tenant("alone"), at).await.unwrap();
        drop(alone);

        let mut first = store.write().await.unwrap();
        first.insert_tenant(&tenant("first"), at).await.unwrap();
        let joiner = tokio::spawn({
            let store = store.clone();
            async move {
                let mut second = store.write().await.unwrap();
                second.insert_tenant(&tenant("second"), at).await.unwrap();
                drop(second);
            }
        });
        // The joiner is queued for the writer before the first commits, so it runs inside the
        // first one's batch.
        tokio::task::yield_now().await;
        first.commit().await.unwrap();
        joiner.await.unwrap();

        let mut tx = store.read().await.unwrap();
        let slugs: Vec<String> = tx
            .tenants()
            .await
            .unwrap()
            .into_iter()
            .map(|t| t.slug.to_string())
            .collect();
        assert_eq!(slugs, ["first"]);
        assert_eq!(
            store.sqlite_commits().await,
            Some(1),
            "the joiner rode in the first one's batch"
        );
    }

    #[tokio::test]
    async fn nothing_runs_outside_a_transaction_that_sqlite_rolled_back() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("exeunt.db"), true)
            .await
            .unwrap();
        let mut writer = store.shared.writer.clone().lock_owned().await;
        writer.begin(true).unwrap();
        let mut conn = SqliteConn {
            shared: store.shared.clone(),
            state: State::Write(writer),
        };
        // What SQLite does by itself on some errors (a full disk, an I/O error).
        conn.execute("ROLLBACK", &[]).await.unwrap();
        let refused = conn
            .execute(
                "INSERT INTO tenants (id, slug, name, created_at_us) VALUES (x'00', 'x', 'X', 0)",
                &[],
            )
            .await;
        assert!(
            matches!(refused, Err(StoreError::CommitFailed(_))),
            "{refused:?}"
        );
        assert!(conn.commit().await.is_err());
        let mut tx = crate::Tx::new(
            crate::backend::DbConn::Sqlite(store.read().await.unwrap()),
            Default::default(),
            None,
        );
        assert!(tx.tenants().await.unwrap().is_empty());
        drop(tx);
        assert!(store.write().await.is_ok(), "the store is usable again");
    }
}
