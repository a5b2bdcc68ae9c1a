//! A fresh database for one test, on either backend, and the macro that runs a test on both.

use std::path::Path;

use sqlx::{AssertSqlSafe, Connection, Executor, PgConnection};
use store::{Location, Store};
use tempfile::TempDir;

/// A store on a database made for one test. Keep it alive for the whole test: dropping it
/// removes a SQLite database's directory.
pub struct TestDb {
    pub store: Store,
    pub location: Location,
    /// A SQLite database's directory, which also serves as the test's data dir.
    dir: Option<TempDir>,
}

impl TestDb {
    /// A new SQLite file in a directory of its own.
    pub async fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let location = Location::Sqlite(dir.path().join("exeunt.db"));
        let store = Store::open(&location, true).await.expect("open SQLite");
        TestDb {
            store,
            location,
            dir: Some(dir),
        }
    }

    /// A new database on the test PostgreSQL server; `None` when the test is skipped.
    pub async fn postgres(test: &str) -> Option<TestDb> {
        let url = crate::fresh_postgres(test).await?;
        let location = Location::Postgres(url);
        let store = Store::open(&location, false)
            .await
            .expect("open PostgreSQL");
        Some(TestDb {
            store,
            location,
            dir: None,
        })
    }

    /// Another handle on the same database, for a second server beside the first: the
    /// first keeps the directory, so it must outlive this one.
    pub fn share(&self) -> TestDb {
        TestDb {
            store: self.store.clone(),
            location: self.location.clone(),
            dir: None,
        }
    }

    /// The directory of a SQLite database; PostgreSQL has none.
    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_ref().map(TempDir::path)
    }

    /// Runs SQL on the database behind the store's back: for tests that play an attacker
    /// with access to the database.
    pub async fn execute_behind_the_store(&self, sql: &str) {
        execute_behind_the_store(&self.location, sql).await;
    }
}

/// Runs SQL (one statement or several) on the database at `location`, with no `Store`: for
/// tests that play an attacker with access to the database.
pub async fn execute_behind_the_store(location: &Location, sql: &str) {
    match location {
        Location::Sqlite(path) => {
            rusqlite::Connection::open(path)
                .and_then(|conn| conn.execute_batch(sql))
                .expect("run SQL behind the store");
        }
        Location::Postgres(url) => {
            let mut conn = PgConnection::connect(url).await.expect("connect");
            conn.execute(AssertSqlSafe(sql.to_owned()))
                .await
                .expect("run SQL behind the store");
        }
    }
}

/// Runs each named test once on SQLite and once on PostgreSQL, in modules `sqlite` and
/// `postgres`, each on a fresh [`TestDb`]: `testkit::on_both_stores!(a_test, another);` calls
/// `a_test(db: TestDb)`. Tests whose jobs must run side by side ask for more worker threads:
/// `testkit::on_both_stores!(workers = 4; a_test)`.
#[macro_export]
macro_rules! on_both_stores {
    (workers = $workers:literal; $($test:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = $workers)]
                async fn $test() {
                    super::$test($crate::TestDb::sqlite().await).await;
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = $workers)]
                async fn $test() {
                    let Some(db) = $crate::TestDb::postgres(stringify!($test)).await else {
                        return;
                    };
                    super::$test(db).await;
                }
            )+
        }
    };
    ($($test:ident),+ $(,)?) => {
        $crate::on_both_stores!(workers = 2; $($test),+);
    };
}
