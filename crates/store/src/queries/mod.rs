//! Every read and write Exeunt makes, as methods of [`Tx`], split by area. The SQL is written
//! once, against [`DbConn`]: both backends run these statements. Placeholders are numbered
//! (`$1`), which both accept.

mod access;
mod audit;
mod cases;
mod certificates;
mod checkpoints;
mod conditions;
mod connectors;
mod exports;
mod files;
mod governance;
mod jobs;
mod keys;
mod listings;
mod notifications;
mod subjects;
mod synthetic;
mod tenants;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use engine::audit::Hash;
use engine::ids::Slug;
use engine::tenant::Role;
use jiff::Timestamp;

use crate::backend::{DbConn, DbRow};
use crate::plans::TaskPlans;
use crate::sql::{Arg, args};
use crate::{Result, StoreError};

use conditions::Conditions;
pub(crate) use keys::LegacyDataKey;
pub use listings::ListingPlan;

/// One transaction, read or write, on whichever backend the store runs on. Everything Exeunt
/// reads and writes goes through its methods, and every method that reads or writes a
/// tenant's data takes the tenant: no query reaches across tenants. The few that start
/// without one (authentication, the workers' claims and lists) are named in ARCHITECTURE.md.
/// Dropped without [`Tx::commit`], it rolls back.
pub struct Tx {
    conn: DbConn,
    /// The store's plans of the cases read last, shared by all its transactions.
    plans: Arc<TaskPlans>,
    /// A write transaction's say in whether the store's writes are failing for want of
    /// storage: set by a storage failure, cleared by a commit.
    writes_failing: Option<Arc<AtomicBool>>,
}

fn us(t: Timestamp) -> i64 {
    t.as_microsecond()
}

fn from_us(v: i64) -> Result<Timestamp> {
    Timestamp::from_microsecond(v).map_err(|e| StoreError::Corrupt(format!("timestamp {v}: {e}")))
}

fn opt_from_us(v: Option<i64>) -> Result<Option<Timestamp>> {
    v.map(from_us).transpose()
}

fn corrupt<E: std::fmt::Display>(what: &str) -> impl FnOnce(E) -> StoreError + '_ {
    move |e| StoreError::Corrupt(format!("{what}: {e}"))
}

fn hash(bytes: &[u8]) -> Result<Hash> {
    bytes
        .try_into()
        .map_err(|_| StoreError::Corrupt(format!("a hash of {} bytes", bytes.len())))
}

fn json<T: serde::de::DeserializeOwned>(text: &str, what: &str) -> Result<T> {
    serde_json::from_str(text).map_err(corrupt(what))
}

fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".to_owned())
}

/// A `LIKE` pattern (with `\` as its escape) matching text that contains `needle`, lowercased.
fn contains_pattern(needle: &str) -> String {
    let mut pattern = String::from("%");
    for c in needle.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

fn slug(s: &str) -> Result<Slug> {
    Slug::parse(s).map_err(corrupt("id"))
}

fn role(s: &str) -> Result<Role> {
    s.parse::<Role>().map_err(corrupt("role"))
}

impl Tx {
    pub(crate) fn new(
        conn: DbConn,
        plans: Arc<TaskPlans>,
        writes_failing: Option<Arc<AtomicBool>>,
    ) -> Self {
        Self {
            conn,
            plans,
            writes_failing,
        }
    }

    /// Whether this transaction may write.
    pub(crate) fn writes(&self) -> bool {
        self.writes_failing.is_some()
    }

    /// Commits now, whatever request runs (see [`Tx::commit`]). A commit that failed for want
    /// of storage, or because its group commit was lost (see `sqlite.rs`), left nothing behind
    /// and may be tried again.
    pub(crate) async fn commit_now(self) -> Result<()> {
        let failing = self.writes_failing.clone();
        let committed = self.conn.commit().await;
        if let Some(failing) = failing {
            match &committed {
                Ok(()) => failing.store(false, Ordering::Relaxed),
                Err(StoreError::Storage(_) | StoreError::CommitFailed(_)) => {
                    failing.store(true, Ordering::Relaxed);
                }
                Err(_) => {}
            }
        }
        committed
    }

    async fn run(&mut self, sql: &str, args: &[Arg<'_>]) -> Result<u64> {
        let ran = self.conn.execute(sql, args).await;
        self.noting_storage(ran)
    }

    /// `result`, after marking the store's writes failing when it is a storage failure of a
    /// write transaction (an `INSERT … RETURNING` fetches, so both paths come here).
    fn noting_storage<T>(&self, result: Result<T>) -> Result<T> {
        if let (Err(StoreError::Storage(_)), Some(failing)) = (&result, &self.writes_failing) {
            failing.store(true, Ordering::Relaxed);
        }
        result
    }

    /// A small write that needs room to land: what [`Store::writable`](crate::Store::writable)
    /// tries while writes are failing.
    pub(crate) async fn probe_write(&mut self) -> Result<()> {
        let at = us(Timestamp::now());
        self.run(
            "INSERT INTO write_probes (id, at_us) VALUES (1, $1) \
             ON CONFLICT (id) DO UPDATE SET at_us = $1",
            args![at],
        )
        .await?;
        Ok(())
    }

    async fn all<T: Send>(
        &mut self,
        sql: &str,
        args: &[Arg<'_>],
        map: impl FnMut(&DbRow<'_>) -> Result<T> + Send,
    ) -> Result<Vec<T>> {
        let fetched = self.conn.fetch(sql, args, map).await;
        self.noting_storage(fetched)
    }

    async fn optional<T: Send>(
        &mut self,
        sql: &str,
        args: &[Arg<'_>],
        map: impl FnMut(&DbRow<'_>) -> Result<T> + Send,
    ) -> Result<Option<T>> {
        Ok(self.all(sql, args, map).await?.into_iter().next())
    }

    async fn one<T: Send>(
        &mut self,
        sql: &str,
        args: &[Arg<'_>],
        map: impl FnMut(&DbRow<'_>) -> Result<T> + Send,
    ) -> Result<T> {
        self.optional(sql, args, map)
            .await?
            .ok_or_else(|| StoreError::Corrupt(format!("no row for: {sql}")))
    }
}
