//! Test support shared by the crates' integration tests: a fresh database on either store and
//! the macro that runs a test on both (`db.rs`), real servers started per test, and the rule
//! that a test skips (or fails) when a service it needs is missing.
//!
//! PostgreSQL tests read `EXEUNT_TEST_POSTGRES_URL`. When it is unset they print that they were
//! skipped, except under `EXEUNT_REQUIRE_SERVICES=1`, where a skip fails the test instead.

mod db;
pub mod ldap;
pub mod proxy;
pub mod scim;
pub mod smtp;
pub mod webhook;

use sqlx::{AssertSqlSafe, Connection, Executor, PgConnection};

pub use db::{TestDb, execute_behind_the_store};

/// Whether a missing service must fail the run instead of skipping.
pub fn services_required() -> bool {
    std::env::var("EXEUNT_REQUIRE_SERVICES").is_ok_and(|v| v == "1")
}

/// Skips (returns `None`) or fails, saying which service is missing.
pub fn missing_service<T>(test: &str, what: &str) -> Option<T> {
    if services_required() {
        panic!("{test}: {what} is required (EXEUNT_REQUIRE_SERVICES=1) but not available");
    }
    eprintln!("SKIPPED {test}: {what} is not available");
    None
}

/// A port nothing listens on yet.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A new, empty database on the test PostgreSQL server, and its URL.
pub async fn fresh_postgres(test: &str) -> Option<String> {
    let Ok(base) = std::env::var("EXEUNT_TEST_POSTGRES_URL") else {
        return missing_service(test, "PostgreSQL (set EXEUNT_TEST_POSTGRES_URL)");
    };
    let mut conn = match PgConnection::connect(&base).await {
        Ok(c) => c,
        Err(e) => {
            return missing_service(
                test,
                &format!("PostgreSQL at EXEUNT_TEST_POSTGRES_URL ({e})"),
            );
        }
    };
    let name = format!("exeunt_test_{}", uuid::Uuid::now_v7().simple());
    conn.execute(AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .await
        .expect("create a test database");
    Some(store::with_database(&base, &name))
}
