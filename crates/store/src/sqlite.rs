//! The SQLite backend: one file, WAL, `synchronous=FULL`. Writers take the database's write
//! lock at `BEGIN IMMEDIATE`, so each write transaction sees and extends the latest state.

use std::path::Path;
use std::time::Duration;

use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use crate::{Result, Store, StoreError, migrator};

type Db = sqlx::Sqlite;
/// SQLite has no row locks: `BEGIN IMMEDIATE` already serializes writers.
const FOR_UPDATE: &str = "";

#[path = "queries.rs"]
mod queries;

pub use queries::SqlTx as SqliteTx;

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
];

/// Readers share a small pool; every write goes through one connection. SQLite admits one
/// writer at a time anyway, and a single writer keeps its page cache warm between transactions
/// instead of re-reading pages another connection changed.
#[derive(Clone, Debug)]
pub struct SqliteStore {
    readers: SqlitePool,
    writer: SqlitePool,
}

impl SqliteStore {
    /// Opens (and, when `create` is set, creates) the database file, and brings its schema up
    /// to date.
    pub async fn open(path: &Path, create: bool) -> Result<Self> {
        let location = path.display().to_string();
        if !create && !path.exists() {
            return Err(StoreError::Open {
                location,
                source: sqlx::Error::Configuration("the database file does not exist".into()),
            });
        }
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(create)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .test_before_acquire(false)
            .connect_with(options.clone())
            .await
            .map_err(|source| StoreError::Open {
                location: location.clone(),
                source,
            })?;
        migrator(MIGRATIONS).run(&writer).await?;
        let readers = SqlitePoolOptions::new()
            .max_connections(4)
            .test_before_acquire(false)
            .connect_with(options.create_if_missing(false))
            .await
            .map_err(|source| StoreError::Open { location, source })?;
        Ok(Self { readers, writer })
    }

    /// The writer's pool, for tests and benchmarks that need raw SQL.
    pub fn pool(&self) -> &SqlitePool {
        &self.writer
    }
}

impl Store for SqliteStore {
    type Tx = SqliteTx;

    async fn read(&self) -> Result<SqliteTx> {
        Ok(SqliteTx {
            tx: self.readers.begin().await?,
            locking: false,
        })
    }

    async fn write(&self) -> Result<SqliteTx> {
        Ok(SqliteTx {
            tx: self.writer.begin_with("BEGIN IMMEDIATE").await?,
            locking: true,
        })
    }

    fn backend(&self) -> &'static str {
        "sqlite"
    }
}
