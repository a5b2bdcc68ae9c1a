//! SQLite files written by other versions of Exeunt.

use std::path::Path;

use exeunt_store::Store;

const EARLIER_MIGRATIONS: [&str; 4] = [
    include_str!("../migrations/sqlite/0001_foundation.sql"),
    include_str!("../migrations/sqlite/0002_api_tokens.sql"),
    include_str!("../migrations/sqlite/0003_sessions.sql"),
    include_str!("../migrations/sqlite/0004_idempotency.sql"),
];

/// A file as the sqlx-based store left it: schema 4, recorded in `_sqlx_migrations`, with one
/// tenant, its owner and one audit event.
fn file_migrated_by_sqlx(path: &Path) {
    let conn = rusqlite::Connection::open(path).unwrap();
    for sql in EARLIER_MIGRATIONS {
        conn.execute_batch(sql).unwrap();
    }
    conn.execute_batch(
        "CREATE TABLE _sqlx_migrations (version BIGINT PRIMARY KEY, description TEXT NOT NULL, \
         installed_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, success BOOLEAN NOT NULL, \
         checksum BLOB NOT NULL, execution_time BIGINT NOT NULL);
         INSERT INTO _sqlx_migrations VALUES (1, 'foundation', 0, 1, x'00', 0), \
           (2, 'api tokens', 0, 1, x'00', 0), (3, 'sessions', 0, 1, x'00', 0), \
           (4, 'idempotency keys', 0, 1, x'00', 0);
         INSERT INTO tenants VALUES (x'0190000000007000800000000000000a', 'old-firm', 'Old Firm', 0);
         INSERT INTO users (tenant_id, id, email, name, role, created_at_us) \
           VALUES (x'0190000000007000800000000000000a', x'0190000000007000800000000000000b', \
           'owner@old.example', 'Olga', 'owner', 0);
         INSERT INTO audit_heads VALUES (x'0190000000007000800000000000000a', 1, zeroblob(32));
         INSERT INTO audit_events VALUES (x'0190000000007000800000000000000a', 1, 0, 'someone', \
           'tenant.created', 'tenant', 'old-firm', NULL, zeroblob(32), zeroblob(32));",
    )
    .unwrap();
}

#[tokio::test]
async fn a_file_migrated_by_the_sqlx_store_is_brought_up_to_date() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("exeunt.db");
    file_migrated_by_sqlx(&path);

    let store = Store::sqlite(&path, false).await.unwrap();
    let mut tx = store.read().await.unwrap();
    let tenant = tx.tenants().await.unwrap().pop().unwrap();
    assert_eq!(tenant.slug.as_str(), "old-firm");
    assert_eq!(tenant.time_zone.as_str(), "UTC");
    let events = tx
        .audit_events(
            tenant.id,
            &exeunt_store::AuditFilter {
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(events.len(), 1, "the earlier events survive the migration");
    assert_eq!(events[0].action, "tenant.created");
    let users = tx.users(tenant.id).await.unwrap();
    assert_eq!(users.len(), 1);
    assert_eq!(users[0].time_zone.as_str(), "UTC", "people start in UTC");
    drop(tx);

    let conn = rusqlite::Connection::open(&path).unwrap();
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, 23, "every migration ran");
    let clustered: String = conn
        .query_row(
            "SELECT sql FROM sqlite_master WHERE name = 'audit_events'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(clustered.contains("WITHOUT ROWID"), "{clustered}");
}

#[tokio::test]
async fn a_file_from_a_newer_exeunt_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("exeunt.db");
    drop(Store::sqlite(&path, true).await.unwrap());
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch("PRAGMA user_version = 99").unwrap();
    drop(conn);

    let err = Store::sqlite(&path, false).await.unwrap_err().to_string();
    assert!(err.contains("schema version 99"), "{err}");
    assert!(err.contains("upgrade Exeunt"), "{err}");
    let conn = rusqlite::Connection::open(&path).unwrap();
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, 99);
}
