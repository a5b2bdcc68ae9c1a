//! The backend a store runs on, as a value: each method of [`DbConn`] and [`DbRow`] hands the
//! call to SQLite's or PostgreSQL's implementation of the `sql` interface. Above this module
//! nothing knows which backend it talks to.

use uuid::Uuid;

use crate::Result;
use crate::postgres::PgConn;
use crate::sql::{Arg, Column, Conn, Row};
use crate::sqlite::{SqliteConn, SqliteRow};

/// The open transaction of whichever backend the store runs on: what the queries are written
/// against. Each method hands the call to the backend's [`Conn`].
pub(crate) enum DbConn {
    Sqlite(SqliteConn),
    Postgres(PgConn),
}

/// A row of either backend.
pub(crate) enum DbRow<'a> {
    Sqlite(&'a SqliteRow<'a>),
    Postgres(&'a sqlx::postgres::PgRow),
}

impl DbConn {
    pub(crate) fn lock_clause(&self) -> &'static str {
        match self {
            DbConn::Sqlite(c) => c.lock_clause(),
            DbConn::Postgres(c) => c.lock_clause(),
        }
    }

    pub(crate) fn skip_locked_clause(&self) -> &'static str {
        match self {
            DbConn::Sqlite(c) => c.skip_locked_clause(),
            DbConn::Postgres(c) => c.skip_locked_clause(),
        }
    }

    pub(crate) fn writable_ctes(&self) -> bool {
        match self {
            DbConn::Sqlite(c) => c.writable_ctes(),
            DbConn::Postgres(c) => c.writable_ctes(),
        }
    }

    pub(crate) fn random_uuid(&self) -> &'static str {
        match self {
            DbConn::Sqlite(c) => c.random_uuid(),
            DbConn::Postgres(c) => c.random_uuid(),
        }
    }

    pub(crate) async fn job_queued(&mut self) -> Result<()> {
        match self {
            DbConn::Sqlite(c) => c.job_queued().await,
            DbConn::Postgres(c) => c.job_queued().await,
        }
    }

    pub(crate) async fn execute(&mut self, sql: &str, args: &[Arg<'_>]) -> Result<u64> {
        match self {
            DbConn::Sqlite(c) => c.execute(sql, args).await,
            DbConn::Postgres(c) => c.execute(sql, args).await,
        }
    }

    pub(crate) async fn fetch<T: Send>(
        &mut self,
        sql: &str,
        args: &[Arg<'_>],
        mut map: impl FnMut(&DbRow<'_>) -> Result<T> + Send,
    ) -> Result<Vec<T>> {
        match self {
            DbConn::Sqlite(c) => c.fetch(sql, args, |row| map(&DbRow::Sqlite(row))).await,
            DbConn::Postgres(c) => c.fetch(sql, args, |row| map(&DbRow::Postgres(row))).await,
        }
    }

    pub(crate) async fn lock_name(&mut self, name: &str) -> Result<()> {
        match self {
            DbConn::Sqlite(c) => c.lock_name(name).await,
            DbConn::Postgres(c) => c.lock_name(name).await,
        }
    }

    pub(crate) async fn explain(
        &mut self,
        sql: &str,
        args: &[Arg<'_>],
        generic: bool,
    ) -> Result<Vec<String>> {
        match self {
            DbConn::Sqlite(c) => c.explain(sql, args, generic).await,
            DbConn::Postgres(c) => c.explain(sql, args, generic).await,
        }
    }

    pub(crate) async fn commit(self) -> Result<()> {
        match self {
            DbConn::Sqlite(c) => c.commit().await,
            DbConn::Postgres(c) => c.commit().await,
        }
    }
}

macro_rules! each_backend {
    ($row:expr, $method:ident($column:expr)) => {
        match $row {
            DbRow::Sqlite(r) => r.$method($column),
            DbRow::Postgres(r) => r.$method($column),
        }
    };
}

impl Row for DbRow<'_> {
    fn int(&self, column: impl Column) -> Result<i64> {
        each_backend!(self, int(column))
    }
    fn opt_int(&self, column: impl Column) -> Result<Option<i64>> {
        each_backend!(self, opt_int(column))
    }
    fn bool(&self, column: impl Column) -> Result<bool> {
        each_backend!(self, bool(column))
    }
    fn text(&self, column: impl Column) -> Result<&str> {
        each_backend!(self, text(column))
    }
    fn opt_text(&self, column: impl Column) -> Result<Option<&str>> {
        each_backend!(self, opt_text(column))
    }
    fn bytes(&self, column: impl Column) -> Result<&[u8]> {
        each_backend!(self, bytes(column))
    }
    fn opt_bytes(&self, column: impl Column) -> Result<Option<&[u8]>> {
        each_backend!(self, opt_bytes(column))
    }
    fn uuid(&self, column: impl Column) -> Result<Uuid> {
        each_backend!(self, uuid(column))
    }
    fn opt_uuid(&self, column: impl Column) -> Result<Option<Uuid>> {
        each_backend!(self, opt_uuid(column))
    }
}
