//! The PostgreSQL backend, for several server replicas on one database. Write transactions
//! lock the case they change and the tenant's audit head row, so concurrent writers serialize
//! exactly where they would conflict.

use std::borrow::Cow;

use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgArguments, PgConnectOptions, PgPoolOptions, PgRow};
use sqlx::query::Query;
use sqlx::{AssertSqlSafe, Executor, PgPool, Postgres, Row as _, SqlSafeStr};
use uuid::Uuid;

use crate::sql::{Arg, Column, Conn, Row, bad_column};
use crate::{Result, StoreError};

/// The schema's migrations, by the number sqlx records. From 5 on, PostgreSQL's numbers run
/// one behind SQLite's for the same change (SQLite alone needed a migration to cluster audit
/// events). A number a database has recorded is never reused or renumbered.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "foundation",
        include_str!("../migrations/postgres/0001_foundation.sql"),
    ),
    (
        2,
        "api tokens",
        include_str!("../migrations/postgres/0002_api_tokens.sql"),
    ),
    (
        3,
        "sessions",
        include_str!("../migrations/postgres/0003_sessions.sql"),
    ),
    (
        4,
        "idempotency keys",
        include_str!("../migrations/postgres/0004_idempotency.sql"),
    ),
    (
        5,
        "legal holds and retention",
        include_str!("../migrations/postgres/0005_governance.sql"),
    ),
    (
        6,
        "case frozen at",
        include_str!("../migrations/postgres/0006_case_frozen.sql"),
    ),
    (
        7,
        "revocations",
        include_str!("../migrations/postgres/0007_revocations.sql"),
    ),
    (
        8,
        "signing keys and certificates",
        include_str!("../migrations/postgres/0008_certificates.sql"),
    ),
    (
        9,
        "sealed files",
        include_str!("../migrations/postgres/0009_sealed_files.sql"),
    ),
    (
        10,
        "exports",
        include_str!("../migrations/postgres/0010_exports.sql"),
    ),
    (
        11,
        "tombstones",
        include_str!("../migrations/postgres/0011_tombstones.sql"),
    ),
    (
        12,
        "export acknowledgements",
        include_str!("../migrations/postgres/0012_export_receipts.sql"),
    ),
    (
        13,
        "notifications",
        include_str!("../migrations/postgres/0013_notifications.sql"),
    ),
    (
        14,
        "jobs",
        include_str!("../migrations/postgres/0014_jobs.sql"),
    ),
    (
        15,
        "connectors",
        include_str!("../migrations/postgres/0015_connectors.sql"),
    ),
    (
        16,
        "job claim index",
        include_str!("../migrations/postgres/0016_job_claim_index.sql"),
    ),
    (
        17,
        "reminders",
        include_str!("../migrations/postgres/0017_reminders.sql"),
    ),
    (
        18,
        "email opt-outs",
        include_str!("../migrations/postgres/0018_email_opt_outs.sql"),
    ),
    (
        19,
        "webhook subscriptions",
        include_str!("../migrations/postgres/0019_webhook_subscriptions.sql"),
    ),
    (
        20,
        "email templates",
        include_str!("../migrations/postgres/0020_email_templates.sql"),
    ),
    (
        21,
        "user time zones",
        include_str!("../migrations/postgres/0021_user_time_zones.sql"),
    ),
    (
        22,
        "tenant time zones",
        include_str!("../migrations/postgres/0022_tenant_time_zones.sql"),
    ),
    (
        23,
        "export jobs",
        include_str!("../migrations/postgres/0023_export_jobs.sql"),
    ),
    (
        24,
        "audit subjects",
        include_str!("../migrations/postgres/0024_audit_subjects.sql"),
    ),
    (
        25,
        "number counters",
        include_str!("../migrations/postgres/0025_number_counters.sql"),
    ),
    (
        26,
        "write probes",
        include_str!("../migrations/postgres/0026_write_probes.sql"),
    ),
    (
        27,
        "idempotency attempts",
        include_str!("../migrations/postgres/0027_idempotency_attempts.sql"),
    ),
    (
        28,
        "audit checkpoints",
        include_str!("../migrations/postgres/0028_audit_checkpoints.sql"),
    ),
    (
        29,
        "audit format",
        include_str!("../migrations/postgres/0029_audit_format.sql"),
    ),
    (
        30,
        "users ended",
        include_str!("../migrations/postgres/0030_users_ended.sql"),
    ),
    (
        31,
        "keyring",
        include_str!("../migrations/postgres/0031_keyring.sql"),
    ),
    (
        32,
        "listing indexes",
        include_str!("../migrations/postgres/0032_listing_indexes.sql"),
    ),
    (
        33,
        "case rollups",
        include_str!("../migrations/postgres/0033_case_rollups.sql"),
    ),
    (
        34,
        "sign-in failures",
        include_str!("../migrations/postgres/0034_sign_in_failures.sql"),
    ),
    (
        35,
        "person and case indexes",
        include_str!("../migrations/postgres/0035_person_and_case_indexes.sql"),
    ),
    (
        36,
        "exits in effect",
        include_str!("../migrations/postgres/0036_exits_in_effect.sql"),
    ),
];

#[derive(Clone, Debug)]
pub struct PostgresStore {
    pool: PgPool,
}

/// How long a pooled connection may sit idle before it is checked again when next used.
const PING_IF_IDLE_FOR: std::time::Duration = std::time::Duration::from_secs(30);
/// The most connections one store holds.
const POOL_SIZE: u32 = 8;
/// How long starting a transaction waits for a server that cannot be reached.
const RECONNECT_FOR: std::time::Duration = std::time::Duration::from_secs(5);
/// How long one statement on a pooled connection may run before PostgreSQL cancels it.
/// Every statement a request or a job runs reads an index for one page or one batch
/// (milliseconds at a million cases); one that runs for seconds is a plan gone wrong or a
/// lock waited on, and it holds one of [`POOL_SIZE`] connections and its locks while the
/// person who asked has long given up. Half a minute leaves room for a loaded machine and
/// still frees the connection. Work that legitimately runs longer (migrations, the rewrites
/// after a purge) runs on a [`maintenance_connection`] without it.
const STATEMENT_TIMEOUT: &str = "30s";

/// `options` with the limit every pooled connection starts with ([`STATEMENT_TIMEOUT`]),
/// unless the URL sets its own (`?options[statement_timeout]=5s`, or libpq's
/// `?options=-c statement_timeout=5s`): an operator's choice stands.
pub(crate) fn with_statement_limits(options: PgConnectOptions) -> PgConnectOptions {
    if options
        .get_options()
        .is_some_and(|o| o.contains("statement_timeout"))
    {
        return options;
    }
    options.options([("statement_timeout", STATEMENT_TIMEOUT)])
}

/// A connection from `pool` for maintenance (migrations, table rewrites), without the limit
/// on a statement's time that requests have. It is closed when dropped, so the lifted limit
/// never goes back to the pool.
pub(crate) async fn maintenance_connection(pool: &PgPool) -> Result<PoolConnection<Postgres>> {
    let mut conn = pool.acquire().await?;
    conn.close_on_drop();
    conn.execute("SET statement_timeout = 0").await?;
    Ok(conn)
}

/// Whether `e` says the connection or the server went away, rather than that a statement
/// failed: I/O, the server shutting down (`57P01`–`57P03`), a connection exception (`08…`).
pub(crate) fn connection_lost(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed => true,
        sqlx::Error::Database(db) => db
            .code()
            .is_some_and(|c| c.starts_with("08") || c.starts_with("57P")),
        _ => false,
    }
}

impl PostgresStore {
    /// Connects and brings the schema up to date. Migrations take an advisory lock, so several
    /// replicas starting together migrate once.
    pub async fn open(url: &str) -> Result<Self> {
        let failed = |e: sqlx::Error| StoreError::Open {
            location: redact(url),
            reason: e.to_string(),
        };
        let options = with_statement_limits(url.parse::<PgConnectOptions>().map_err(failed)?);
        let pool = PgPoolOptions::new()
            .max_connections(POOL_SIZE)
            // A server that cannot be reached is answered within this, not after sqlx's 30 s.
            .acquire_timeout(RECONNECT_FOR)
            // sqlx pings every connection before handing it out: a round trip per transaction.
            // Only one that sat idle a while is checked; a busy one has just proved itself.
            .test_before_acquire(false)
            .before_acquire(|conn, meta| {
                Box::pin(async move {
                    if meta.idle_for >= PING_IF_IDLE_FOR {
                        sqlx::Connection::ping(conn).await?;
                    }
                    Ok(true)
                })
            })
            .connect_with(options)
            .await
            .map_err(failed)?;
        // A migration may build an index over every row: no statement limit.
        migrator()
            .run(&mut *maintenance_connection(&pool).await?)
            .await
            .map_err(|e| StoreError::Migrate(e.to_string()))?;
        Ok(Self { pool })
    }
}

/// The tables a purge writes personal data out of (deleting rows, or overwriting names,
/// notes and payloads), and `subject_keys`, which the data keys an earlier Exeunt kept there
/// left: PostgreSQL keeps the old versions of those rows in the table files until a rewrite. The blob tables are not among them: their chunks are sealed by the data
/// key the purge shreds, so what is left of them opens for nobody.
const ERASED_TABLES: [&str; 14] = [
    "subjects",
    "records",
    "record_files",
    "revocations",
    "exports",
    "cases",
    "tasks",
    "findings",
    "legal_holds",
    "evidence",
    "users",
    "idempotency_keys",
    "subject_keys",
    "audit_events",
];

/// How long the rewrite of one table waits for the lock it needs; writers queue behind a
/// waiting rewrite, so it gives up soon and is tried again by the next sweep.
const REWRITE_LOCK_TIMEOUT: &str = "SET lock_timeout = '2s'";

/// How long a rewrite waits for the transactions that keep the erased rows alive to end.
const REWRITE_WAITS_FOR_OLDER_TRANSACTIONS: std::time::Duration = std::time::Duration::from_secs(2);

/// Whether a rewrite begun now would still keep row versions deleted before transaction `$1`
/// (a full id, `xid8`; `$2` is its 32-bit form) committed. `VACUUM FULL` keeps every
/// version its horizon may still need: the horizon is the oldest of the snapshots held in
/// this database (the rewrite's own among them, and a snapshot's oldest running
/// transaction may be one of *any* database of the server) and of the transactions of
/// this database still running. So it waits for every transaction of the server older than
/// `$1` to end, and for every snapshot of this database taken while one ran.
const OLDER_TRANSACTIONS_OPEN: &str = "SELECT pg_snapshot_xmin(pg_current_snapshot()) <= $1::text::xid8 \
     OR EXISTS (SELECT 1 FROM pg_stat_activity \
     WHERE datname = current_database() AND pid <> pg_backend_pid() \
     AND backend_xmin IS NOT NULL AND age(backend_xmin) >= age($2::text::xid)) AS open";

/// Waits, briefly, until a rewrite of a table of `conn`'s database drops every row version
/// that committed deletes and updates left in it: false when transactions that keep them
/// alive are still open after two seconds (a rewrite now would copy those versions into the
/// new files), and the caller tries again later.
///
/// Sessions of other roles show no snapshot in `pg_stat_activity` unless the role Exeunt
/// connects as may read all statistics (`pg_read_all_stats`): ARCHITECTURE.md says so.
pub(crate) async fn wait_for_older_transactions(conn: &mut sqlx::PgConnection) -> Result<bool> {
    // A transaction id from after the deletes committed.
    let after: i64 = sqlx::query_scalar("SELECT pg_current_xact_id()::text::bigint")
        .fetch_one(&mut *conn)
        .await?;
    let after_32_bits = after % (1 << 32);
    let waiting_since = std::time::Instant::now();
    loop {
        let open: bool = sqlx::query_scalar(OLDER_TRANSACTIONS_OPEN)
            .bind(after.to_string())
            .bind(after_32_bits.to_string())
            .fetch_one(&mut *conn)
            .await?;
        if !open {
            return Ok(true);
        }
        if waiting_since.elapsed() >= REWRITE_WAITS_FOR_OLDER_TRANSACTIONS {
            return Ok(false);
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

impl PostgresStore {
    /// Rewrites the tables a purge erased from, so that the dead versions of their rows (which
    /// a plain `VACUUM` only marks reusable) leave the table files: false when transactions
    /// that may still see them stayed open, or a table's lock could not be had soon, and the
    /// next sweep tries again. Writes to a table wait while it is rewritten.
    pub(crate) async fn rewrite_erased_tables(&self) -> Result<bool> {
        // A rewrite copies the whole table: no statement limit, but a short wait for its lock.
        let mut conn = maintenance_connection(&self.pool).await?;
        if !wait_for_older_transactions(&mut conn).await? {
            return Ok(false);
        }
        conn.execute(REWRITE_LOCK_TIMEOUT).await?;
        let mut done = true;
        for table in ERASED_TABLES {
            let rewritten = conn
                .execute(AssertSqlSafe(format!("VACUUM (FULL) {table}")))
                .await;
            match rewritten {
                Ok(_) => {}
                // lock_not_available: busy now; the next sweep tries again.
                Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("55P03") => {
                    done = false;
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(done)
    }
}

/// The migrations embedded in the binary, for sqlx's migrator.
fn migrator() -> Migrator {
    Migrator::with_migrations(
        MIGRATIONS
            .iter()
            .map(|(version, name, sql)| {
                Migration::new(
                    *version,
                    Cow::Borrowed(*name),
                    MigrationType::Simple,
                    AssertSqlSafe(*sql).into_sql_str(),
                    false,
                )
            })
            .collect(),
    )
}

/// The URL without its password, for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

impl PostgresStore {
    pub(crate) async fn read(&self) -> Result<PgConn> {
        Ok(PgConn {
            tx: self.begin().await?,
            locking: false,
        })
    }

    pub(crate) async fn write(&self) -> Result<PgConn> {
        Ok(PgConn {
            tx: self.begin().await?,
            locking: true,
        })
    }

    /// Starts a transaction, on a fresh connection if the server dropped the pooled ones (it
    /// restarted, or a proxy between cut them): each such connection fails once and is
    /// thrown away, so trying as many times as the pool holds connections reaches a fresh one.
    /// A server that cannot be reached is waited for up to [`RECONNECT_FOR`]. Nothing ran
    /// yet, so trying again is safe; a connection lost inside a transaction is not retried
    /// (the use case's work would be half done) but answered as `StoreError::Unavailable`.
    async fn begin(&self) -> Result<sqlx::Transaction<'static, sqlx::Postgres>> {
        let started = std::time::Instant::now();
        let mut dropped = 0;
        loop {
            match self.pool.begin().await {
                Ok(tx) => return Ok(tx),
                Err(e) if connection_lost(&e) && started.elapsed() < RECONNECT_FOR => {
                    dropped += 1;
                    if dropped > POOL_SIZE {
                        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    }
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    pub(crate) async fn statement_timeout(&self) -> Result<String> {
        Ok(sqlx::query_scalar("SHOW statement_timeout")
            .fetch_one(&self.pool)
            .await?)
    }

    pub(crate) async fn job_wakeups(&self) -> Result<crate::JobWakeups> {
        let mut listener = sqlx::postgres::PgListener::connect_with(&self.pool).await?;
        listener.listen(crate::JOBS_CHANNEL).await?;
        Ok(crate::JobWakeups::postgres(listener))
    }
}

/// An open PostgreSQL transaction. `locking` is set for write transactions, whose reads of a
/// case or an audit head lock the row until commit.
pub struct PgConn {
    tx: sqlx::Transaction<'static, Postgres>,
    locking: bool,
}

fn bind<'q>(
    mut query: Query<'q, Postgres, PgArguments>,
    args: &[Arg<'_>],
) -> Query<'q, Postgres, PgArguments> {
    for arg in args {
        query = match *arg {
            Arg::Int(v) => query.bind(v),
            Arg::Bool(v) => query.bind(v),
            Arg::Text(v) => query.bind(v),
            Arg::Bytes(v) => query.bind(v),
            Arg::Uuid(v) => query.bind(v),
        };
    }
    query
}

/// `arg` written as an SQL literal, for `EXECUTE` of a statement prepared by name: it takes
/// no bound values.
fn literal(arg: &Arg<'_>) -> String {
    let quoted = |text: &str| format!("'{}'", text.replace('\'', "''"));
    match arg {
        Arg::Int(Some(v)) => v.to_string(),
        Arg::Bool(v) => v.to_string(),
        Arg::Text(Some(v)) => quoted(v),
        Arg::Bytes(Some(v)) => {
            let hex: String = v.iter().map(|b| format!("{b:02x}")).collect();
            format!("'\\x{hex}'::bytea")
        }
        Arg::Uuid(Some(v)) => quoted(&v.to_string()),
        Arg::Int(None) | Arg::Text(None) | Arg::Bytes(None) | Arg::Uuid(None) => "NULL".into(),
    }
}

impl Conn for PgConn {
    type Row<'r> = PgRow;

    fn lock_clause(&self) -> &'static str {
        if self.locking { " FOR UPDATE" } else { "" }
    }

    fn skip_locked_clause(&self) -> &'static str {
        " FOR UPDATE SKIP LOCKED"
    }

    fn writable_ctes(&self) -> bool {
        true
    }

    fn random_uuid(&self) -> &'static str {
        "gen_random_uuid()"
    }

    async fn job_queued(&mut self) -> Result<()> {
        sqlx::query("SELECT pg_notify($1, '')")
            .bind(crate::JOBS_CHANNEL)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    async fn execute(&mut self, sql: &str, args: &[Arg<'_>]) -> Result<u64> {
        let done = bind(sqlx::query(AssertSqlSafe(sql)), args)
            .execute(&mut *self.tx)
            .await?;
        Ok(done.rows_affected())
    }

    async fn lock_name(&mut self, name: &str) -> Result<()> {
        self.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
            &[Arg::from(name)],
        )
        .await
        .map(drop)
    }

    async fn explain(&mut self, sql: &str, args: &[Arg<'_>], generic: bool) -> Result<Vec<String>> {
        if !generic {
            return self
                .fetch(&format!("EXPLAIN {sql}"), args, |r| {
                    Ok(r.text(0usize)?.to_owned())
                })
                .await;
        }
        self.execute("SET LOCAL plan_cache_mode = force_generic_plan", &[])
            .await?;
        // `literal` writes strings as this setting reads them (the default since 9.1).
        self.execute("SET LOCAL standard_conforming_strings = on", &[])
            .await?;
        // Prepared statements outlive transactions: a name of its own, so that one left by a
        // failed call is in nobody's way.
        static EXPLAINED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let name = format!(
            "exeunt_explained_{}",
            EXPLAINED.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        );
        self.execute(&format!("PREPARE {name} AS {sql}"), &[])
            .await?;
        let values: Vec<String> = args.iter().map(literal).collect();
        let plan = self
            .fetch(
                &format!("EXPLAIN EXECUTE {name}({})", values.join(", ")),
                &[],
                |r| Ok(r.text(0usize)?.to_owned()),
            )
            .await?;
        self.execute(&format!("DEALLOCATE {name}"), &[]).await?;
        Ok(plan)
    }

    async fn fetch<T: Send>(
        &mut self,
        sql: &str,
        args: &[Arg<'_>],
        mut map: impl for<'r> FnMut(&PgRow) -> Result<T> + Send,
    ) -> Result<Vec<T>> {
        bind(sqlx::query(AssertSqlSafe(sql)), args)
            .fetch_all(&mut *self.tx)
            .await?
            .iter()
            .map(&mut map)
            .collect()
    }

    async fn commit(self) -> Result<()> {
        self.tx.commit().await?;
        Ok(())
    }
}

impl Row for PgRow {
    fn int(&self, column: impl Column) -> Result<i64> {
        self.try_get(column).map_err(|e| bad_column(column, e))
    }
    fn opt_int(&self, column: impl Column) -> Result<Option<i64>> {
        self.try_get(column).map_err(|e| bad_column(column, e))
    }
    fn bool(&self, column: impl Column) -> Result<bool> {
        self.try_get(column).map_err(|e| bad_column(column, e))
    }
    fn text(&self, column: impl Column) -> Result<&str> {
        self.try_get(column).map_err(|e| bad_column(column, e))
    }
    fn opt_text(&self, column: impl Column) -> Result<Option<&str>> {
        self.try_get(column).map_err(|e| bad_column(column, e))
    }
    fn bytes(&self, column: impl Column) -> Result<&[u8]> {
        self.try_get(column).map_err(|e| bad_column(column, e))
    }
    fn opt_bytes(&self, column: impl Column) -> Result<Option<&[u8]>> {
        self.try_get(column).map_err(|e| bad_column(column, e))
    }
    fn uuid(&self, column: impl Column) -> Result<Uuid> {
        self.try_get(column).map_err(|e| bad_column(column, e))
    }
    fn opt_uuid(&self, column: impl Column) -> Result<Option<Uuid>> {
        self.try_get(column).map_err(|e| bad_column(column, e))
    }
}
