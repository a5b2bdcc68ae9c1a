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
    assert_eq!(version, 37, "every migration ran");
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

/// A file whose exports still waited for the builder of schema 23 (which leased the export
/// row itself): after the upgrade each has its `export.build` job, as a request makes now.
#[tokio::test]
async fn exports_waiting_at_the_upgrade_get_their_build_jobs() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("exeunt.db");
    let conn = rusqlite::Connection::open(&path).unwrap();
    let mut migrations: Vec<_> =
        std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/sqlite"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
    migrations.sort();
    for file in &migrations[..23] {
        conn.execute_batch(&std::fs::read_to_string(file).unwrap())
            .unwrap();
    }
    let tenant = "x'0190000000007000800000000000000a'";
    conn.execute_batch(&format!(
        "PRAGMA user_version = 23;
         PRAGMA foreign_keys = OFF;
         INSERT INTO tenants (id, slug, name, created_at_us) VALUES ({tenant}, 'old-firm', 'Old Firm', 0);
         INSERT INTO exports (tenant_id, id, case_id, subject_id, status, attempts, lease_until_us, \
           requested_by, requested_at_us) VALUES \
           ({tenant}, x'0190000000007000800000000000000e', x'01900000000070008000000000000001', x'01900000000070008000000000000002', 'building', 1, 5, x'01900000000070008000000000000003', 7), \
           ({tenant}, x'0190000000007000800000000000000f', x'01900000000070008000000000000001', x'01900000000070008000000000000002', 'ready', 1, NULL, x'01900000000070008000000000000003', 8);"
    ))
    .unwrap();
    drop(conn);

    let store = Store::sqlite(&path, false).await.unwrap();
    let mut tx = store.read().await.unwrap();
    let tenant = tx.tenants().await.unwrap().pop().unwrap();
    let jobs = tx
        .jobs(
            tenant.id,
            &exeunt_store::JobFilter {
                status: None,
                case: None,
                before: None,
                limit: 10,
            },
        )
        .await
        .unwrap();
    assert_eq!(jobs.len(), 1, "only the export that still waited: {jobs:?}");
    let waiting = "01900000-0000-7000-8000-00000000000e";
    assert_eq!(jobs[0].kind, engine::job::JobKind::ExportBuild);
    assert_eq!(jobs[0].status, engine::job::JobStatus::Queued);
    assert_eq!(jobs[0].idempotency_key, format!("export:{waiting}"));
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&jobs[0].payload).unwrap(),
        serde_json::json!({ "export": waiting })
    );
}

/// An erasure that a reader on an older snapshot keeps from emptying the write-ahead log says
/// so at once (the writer does not wait for the reader), and is finished once the reader is
/// gone: the log is then empty, holding no old page version.
#[tokio::test]
async fn an_erasure_held_up_by_a_reader_is_finished_later() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("exeunt.db");
    let store = Store::sqlite(&path, true).await.unwrap();
    let tenant = |n: u128, slug: &str| engine::tenant::Tenant {
        id: engine::ids::TenantId(uuid::Uuid::from_u128(n)),
        slug: engine::ids::Slug::parse(slug).unwrap(),
        name: engine::ids::Text::line("Firm", 100).unwrap(),
        time_zone: "UTC".parse().unwrap(),
    };
    let mut tx = store.write().await.unwrap();
    tx.insert_tenant(&tenant(1, "first"), jiff::Timestamp::now())
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let mut reader = store.read().await.unwrap();
    assert_eq!(
        reader.tenants().await.unwrap().len(),
        1,
        "the reader holds its snapshot"
    );
    let mut tx = store.write().await.unwrap();
    tx.insert_tenant(&tenant(2, "second"), jiff::Timestamp::now())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let wal = path.with_extension("db-wal");
    let started = std::time::Instant::now();
    assert!(
        !store.erase_old_versions().await.unwrap(),
        "the reader holds the log"
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(1),
        "without waiting"
    );
    assert!(std::fs::metadata(&wal).unwrap().len() > 0);

    drop(reader);
    assert!(store.finish_erasure().await.unwrap());
    assert_eq!(
        std::fs::metadata(&wal).unwrap().len(),
        0,
        "the log is empty"
    );
    assert!(
        store.finish_erasure().await.unwrap(),
        "nothing is left to do"
    );
}

const TENANT: [u8; 16] = *b"\x01\x90\0\0\0\0\x70\0\x80\0\0\0\0\0\0\x0a";
const SUBJECT: [u8; 16] = *b"\x01\x90\0\0\0\0\x70\0\x80\0\0\0\0\0\0\x0c";

/// A file as an Exeunt before the keyring left it: a subject, and its sealed data key in the
/// database. (The schema is today's: only where the key is differs.)
async fn file_with_keys_inside(path: &Path) {
    drop(Store::sqlite(path, true).await.unwrap());
    std::fs::remove_file(path.with_file_name("exeunt.keyring.db")).unwrap();
    let conn = rusqlite::Connection::open(path).unwrap();
    // The subject's tenant does not matter here.
    conn.execute_batch("PRAGMA foreign_keys = OFF").unwrap();
    conn.execute(
        "INSERT INTO subjects (tenant_id, id, key, kind, name, state, attributes, \
         created_at_us, updated_at_us) VALUES (?1, ?2, 'acme', 'client', 'Acme', 'active', \
         '{}', 0, 0)",
        (TENANT, SUBJECT),
    )
    .unwrap();
    conn.execute(
        "INSERT INTO subject_keys VALUES (?1, ?2, ?3, 0)",
        (TENANT, SUBJECT, b"Qz9-sealed-key".as_slice()),
    )
    .unwrap();
}

/// Every byte of the SQLite file at `path` and its write-ahead log.
fn raw(path: &Path) -> Vec<u8> {
    let mut bytes = std::fs::read(path).unwrap();
    bytes.extend(std::fs::read(format!("{}-wal", path.display())).unwrap_or_default());
    bytes
}

fn holds(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test]
async fn keys_an_earlier_exeunt_kept_in_the_database_move_to_the_keyring() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("exeunt.db");
    file_with_keys_inside(&path).await;
    assert!(holds(&raw(&path), b"Qz9-sealed-key"));

    let store = Store::sqlite(&path, false).await.unwrap();
    let kept = store
        .keyring()
        .get(
            engine::ids::TenantId(uuid::Uuid::from_bytes(TENANT)),
            engine::ids::SubjectId(uuid::Uuid::from_bytes(SUBJECT)),
        )
        .await
        .unwrap();
    assert_eq!(kept.as_deref(), Some(b"Qz9-sealed-key".as_slice()));
    assert!(
        !holds(&raw(&path), b"Qz9-sealed-key"),
        "the database's files keep no copy of the key it moved"
    );
    assert!(holds(
        &raw(&dir.path().join("exeunt.keyring.db")),
        b"Qz9-sealed-key"
    ));
}

#[tokio::test]
async fn a_database_with_subjects_does_not_start_on_a_new_empty_keyring() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("exeunt.db");
    file_with_keys_inside(&path).await;
    drop(Store::sqlite(&path, false).await.unwrap());
    let keyring = dir.path().join("exeunt.keyring.db");
    std::fs::remove_file(&keyring).unwrap();

    let err = Store::sqlite(&path, false).await.unwrap_err().to_string();
    assert!(err.contains("restore it from its backup"), "{err}");
    assert!(!keyring.exists(), "no empty keyring was made in its place");
}
