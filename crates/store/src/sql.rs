//! What the two backends have in common: run a statement with bound values and read the rows
//! it returns. The queries are written once against [`Conn`] and [`Row`]; `sqlite.rs` and
//! `postgres.rs` each implement the two traits on their driver.

use std::future::Future;

use uuid::Uuid;

use crate::{Result, StoreError};

/// A value bound to a numbered placeholder (`$1`). A null keeps its type, because PostgreSQL
/// infers a parameter's type from the value bound to it.
#[derive(Clone, Copy, Debug)]
pub enum Arg<'a> {
    Int(Option<i64>),
    Bool(bool),
    Text(Option<&'a str>),
    Bytes(Option<&'a [u8]>),
    Uuid(Option<Uuid>),
}

impl From<i64> for Arg<'_> {
    fn from(v: i64) -> Self {
        Arg::Int(Some(v))
    }
}

impl From<Option<i64>> for Arg<'_> {
    fn from(v: Option<i64>) -> Self {
        Arg::Int(v)
    }
}

impl From<bool> for Arg<'_> {
    fn from(v: bool) -> Self {
        Arg::Bool(v)
    }
}

impl<'a> From<&'a str> for Arg<'a> {
    fn from(v: &'a str) -> Self {
        Arg::Text(Some(v))
    }
}

impl<'a> From<&'a String> for Arg<'a> {
    fn from(v: &'a String) -> Self {
        Arg::Text(Some(v))
    }
}

impl<'a> From<Option<&'a str>> for Arg<'a> {
    fn from(v: Option<&'a str>) -> Self {
        Arg::Text(v)
    }
}

impl<'a> From<&'a [u8]> for Arg<'a> {
    fn from(v: &'a [u8]) -> Self {
        Arg::Bytes(Some(v))
    }
}

impl<'a> From<&'a Vec<u8>> for Arg<'a> {
    fn from(v: &'a Vec<u8>) -> Self {
        Arg::Bytes(Some(v))
    }
}

impl<'a, const N: usize> From<&'a [u8; N]> for Arg<'a> {
    fn from(v: &'a [u8; N]) -> Self {
        Arg::Bytes(Some(v))
    }
}

impl From<Uuid> for Arg<'_> {
    fn from(v: Uuid) -> Self {
        Arg::Uuid(Some(v))
    }
}

impl From<Option<Uuid>> for Arg<'_> {
    fn from(v: Option<Uuid>) -> Self {
        Arg::Uuid(v)
    }
}

/// The placeholders of `rows` rows of `columns` values each, for a multi-row `VALUES`:
/// `($1, $2), ($3, $4)`. Only placeholders are generated; every value is bound.
pub(crate) fn value_rows(rows: usize, columns: usize) -> String {
    let row = |r: usize| {
        let placeholders: Vec<String> = (1..=columns)
            .map(|c| format!("${}", r * columns + c))
            .collect();
        format!("({})", placeholders.join(", "))
    };
    (0..rows).map(row).collect::<Vec<_>>().join(", ")
}

/// The values of a statement's placeholders, in order: `args![tenant.0, name]`.
macro_rules! args {
    ($($value:expr),* $(,)?) => {
        &[$($crate::sql::Arg::from($value)),*]
    };
}
pub(crate) use args;

/// A column, by name or by position.
pub trait Column: sqlx::ColumnIndex<sqlx::postgres::PgRow> + Copy + std::fmt::Display {
    /// Its position among the result's columns. Rows are mostly read in the order their
    /// columns were selected, so a search by name starts at `hint`, the one after the last read.
    fn position(self, names: &[String], hint: usize) -> Option<usize>;
}

impl Column for &str {
    fn position(self, names: &[String], hint: usize) -> Option<usize> {
        if names.get(hint).is_some_and(|name| name == self) {
            return Some(hint);
        }
        names.iter().position(|name| name == self)
    }
}

impl Column for usize {
    fn position(self, names: &[String], _hint: usize) -> Option<usize> {
        (self < names.len()).then_some(self)
    }
}

/// One row of a result, read column by column into plain values; turning them into domain
/// types is the queries' job.
pub trait Row {
    fn int(&self, column: impl Column) -> Result<i64>;
    fn opt_int(&self, column: impl Column) -> Result<Option<i64>>;
    fn bool(&self, column: impl Column) -> Result<bool>;
    fn text(&self, column: impl Column) -> Result<&str>;
    fn opt_text(&self, column: impl Column) -> Result<Option<&str>>;
    fn bytes(&self, column: impl Column) -> Result<&[u8]>;
    fn opt_bytes(&self, column: impl Column) -> Result<Option<&[u8]>>;
    fn uuid(&self, column: impl Column) -> Result<Uuid>;
    fn opt_uuid(&self, column: impl Column) -> Result<Option<Uuid>>;
}

/// An open transaction on one backend.
pub trait Conn: Send {
    type Row<'r>: Row;

    /// The clause that locks the rows a write transaction selects until it commits: row locks
    /// on PostgreSQL, nothing on SQLite, whose single writer is serialized already.
    fn lock_clause(&self) -> &'static str;

    /// The clause that takes the rows a claim selects and passes over those another
    /// transaction holds: `FOR UPDATE SKIP LOCKED` on PostgreSQL, where several workers claim
    /// at once; nothing on SQLite, whose one writer claims alone.
    fn skip_locked_clause(&self) -> &'static str;

    /// Whether a statement's `WITH` may hold an `UPDATE` (PostgreSQL), so that two writes can
    /// go in one statement; SQLite's may not.
    fn writable_ctes(&self) -> bool;

    /// The expression for a new random UUID in a statement that writes many rows at once.
    fn random_uuid(&self) -> &'static str;

    /// Tells idle workers that this transaction queued a job: on PostgreSQL a `NOTIFY`, which
    /// is delivered when (and only if) the transaction commits; on SQLite, whose workers share
    /// the process, a wake-up that is at worst early (their claim then waits for this commit).
    fn job_queued(&mut self) -> impl Future<Output = Result<()>> + Send;

    /// Runs a statement; returns how many rows it changed.
    fn execute(&mut self, sql: &str, args: &[Arg<'_>]) -> impl Future<Output = Result<u64>> + Send;

    /// Runs a query and maps every row it returns.
    fn fetch<T: Send>(
        &mut self,
        sql: &str,
        args: &[Arg<'_>],
        map: impl for<'r> FnMut(&Self::Row<'r>) -> Result<T> + Send,
    ) -> impl Future<Output = Result<Vec<T>>> + Send;

    /// Makes write transactions that take the lock named `name` take turns until they end:
    /// an advisory lock on PostgreSQL; nothing on SQLite, whose single writer takes turns
    /// already. For counts that have no row to lock before the first is written.
    fn lock_name(&mut self, name: &str) -> impl Future<Output = Result<()>> + Send;

    /// How the database would run `sql` with `args`, one line per step of the plan. On
    /// PostgreSQL, with `generic`, the generic plan: the one a prepared statement settles on
    /// whatever the values bound; without, the plan for these values.
    fn explain(
        &mut self,
        sql: &str,
        args: &[Arg<'_>],
        generic: bool,
    ) -> impl Future<Output = Result<Vec<String>>> + Send;

    /// Makes the transaction's changes durable.
    fn commit(self) -> impl Future<Output = Result<()>> + Send;
}

/// A value in a column that cannot be what the schema says it is.
pub(crate) fn bad_column(column: impl Column, error: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("column {column}: {error}"))
}
