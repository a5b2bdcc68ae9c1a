//! The keyring: every subject's data key, sealed by its tenant key, kept apart from the
//! database.
//!
//! A subject's files are sealed by its data key, and its audit payload digests are keyed by a
//! key derived from it; a purge shreds the key. Were the keys in the database, every backup of
//! the database would hold them, and a backup taken before a purge would, with the master key,
//! open the purged subject's files for as long as the backup is kept. In a keyring of their
//! own, they are backed up on a schedule of their own (short), while database backups can be
//! kept as long as the firm likes: a database backup from before a purge opens nothing
//! without a keyring backup from before it too.
//!
//! On SQLite the keyring is a file beside the database (`exeunt.keyring.db` beside
//! `exeunt.db`); on PostgreSQL a database of its own (by default the database's name with
//! `_keyring`, on the same server). Either is written so that a shredded key leaves no bytes
//! behind in its files: SQLite with `secure_delete` and its write-ahead log emptied after a
//! shred; PostgreSQL with the table rewritten (`VACUUM FULL`), which is quick at the
//! keyring's size.
//!
//! A key is stored (durably) before anything sealed with it commits, and shredded only after
//! the purge that asked for it committed (`Store::finish_erasure` works through the purges'
//! queue of shreds), so no crash leaves data without its key or a purged subject with one
//! for longer than the next sweep.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use engine::ids::{SubjectId, TenantId};
use rusqlite::{Connection, OpenFlags, OptionalExtension};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{ConnectOptions, Connection as _, Executor};

use crate::{Location, Result, StoreError};

/// Where a keyring is kept: a SQLite file or a PostgreSQL database.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyringLocation {
    Sqlite(PathBuf),
    Postgres(String),
}

impl KeyringLocation {
    /// A `postgres://` (or `postgresql://`) URL is a PostgreSQL database; anything else the
    /// path of a SQLite file.
    pub fn parse(text: &str) -> Self {
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            KeyringLocation::Postgres(text.to_owned())
        } else {
            KeyringLocation::Sqlite(PathBuf::from(text.trim_start_matches("sqlite://")))
        }
    }

    /// Where the keyring of the database at `database` is kept unless told otherwise: the file
    /// `<name>.keyring.db` beside a SQLite file, the database `<name>_keyring` on the same
    /// PostgreSQL server.
    pub fn beside(database: &Location) -> Result<Self> {
        match database {
            Location::Sqlite(path) => {
                let stem = path
                    .file_stem()
                    .map_or_else(|| "exeunt".into(), |s| s.to_string_lossy());
                Ok(KeyringLocation::Sqlite(
                    path.with_file_name(format!("{stem}.keyring.db")),
                ))
            }
            Location::Postgres(url) => {
                let name = format!("{}_keyring", database_name(&pg_options(url)?));
                Ok(KeyringLocation::Postgres(with_database(url, &name)))
            }
        }
    }

    /// Whether this names the database at `database` itself, where the keys must not be.
    pub fn names_the_database(&self, database: &Location) -> Result<bool> {
        Ok(match (self, database) {
            (KeyringLocation::Sqlite(keys), Location::Sqlite(data)) => {
                let real = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_owned());
                real(keys) == real(data)
            }
            (KeyringLocation::Postgres(keys), Location::Postgres(data)) => {
                let (keys, data) = (pg_options(keys)?, pg_options(data)?);
                (keys.get_host(), keys.get_port(), database_name(&keys))
                    == (data.get_host(), data.get_port(), database_name(&data))
            }
            _ => false,
        })
    }
}

/// For messages: the file, or the URL without its password.
impl std::fmt::Display for KeyringLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeyringLocation::Sqlite(path) => write!(f, "{}", path.display()),
            KeyringLocation::Postgres(url) => f.write_str(&crate::redact(url)),
        }
    }
}

fn pg_options(url: &str) -> Result<PgConnectOptions> {
    PgConnectOptions::from_str(url).map_err(|e| StoreError::Open {
        location: crate::redact(url),
        reason: e.to_string(),
    })
}

/// The database a connection opens: the one named, or the user's own, as PostgreSQL chooses.
fn database_name(options: &PgConnectOptions) -> &str {
    options
        .get_database()
        .unwrap_or_else(|| options.get_username())
}

/// `url` with its database name replaced by `name`.
pub fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority = base.find("://").map_or(0, |i| i + 3);
    let root = match base[authority..].find('/') {
        Some(slash) => &base[..authority + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{root}/{name}?{query}"),
        None => format!("{root}/{name}"),
    }
}

/// A keyring, open.
#[derive(Clone)]
pub struct Keyring {
    backend: Arc<KeyringBackend>,
    location: KeyringLocation,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keyring(…)")
    }
}

enum KeyringBackend {
    /// One connection: every call is a point read or write of a few hundred bytes. Reads run
    /// on the calling thread, as the database's do; writes, which sync the file and may wait
    /// for another process, on a blocking thread.
    Sqlite(Arc<Mutex<Connection>>),
    Postgres(PgPool),
}

const SQLITE_SCHEMA: &str = "CREATE TABLE IF NOT EXISTS data_keys (\
     tenant_id BLOB NOT NULL, subject_id BLOB NOT NULL, sealed_key BLOB NOT NULL, \
     created_at_us INTEGER NOT NULL, PRIMARY KEY (tenant_id, subject_id)) WITHOUT ROWID";

const POSTGRES_SCHEMA: &str = "CREATE TABLE IF NOT EXISTS data_keys (\
     tenant_id UUID NOT NULL, subject_id UUID NOT NULL, sealed_key BYTEA NOT NULL, \
     created_at_us BIGINT NOT NULL, PRIMARY KEY (tenant_id, subject_id))";

impl Keyring {
    /// Opens the keyring at `location`. One that does not exist is made only when `create`
    /// is set: a database that holds subjects never runs on a new, empty keyring, which would
    /// leave every file it sealed unreadable.
    pub async fn open(location: &KeyringLocation, create: bool) -> Result<Self> {
        let missing = |detail: &str| StoreError::Open {
            location: location.to_string(),
            reason: format!(
                "the keyring {detail}, and the database already holds subjects whose data \
                 keys it kept: restore it from its backup, or name it with --keyring"
            ),
        };
        let backend = match location {
            KeyringLocation::Sqlite(path) => {
                if !create && !path.exists() {
                    return Err(missing("does not exist"));
                }
                KeyringBackend::Sqlite(Arc::new(Mutex::new(open_sqlite(path).map_err(|e| {
                    StoreError::Open {
                        location: location.to_string(),
                        reason: e.to_string(),
                    }
                })?)))
            }
            KeyringLocation::Postgres(url) => {
                let options = pg_options(url)?;
                if !postgres_exists(&options).await? {
                    if !create {
                        return Err(missing("database does not exist"));
                    }
                    create_postgres(url, &options).await?;
                }
                let pool = PgPoolOptions::new()
                    .max_connections(4)
                    .acquire_timeout(Duration::from_secs(5))
                    .connect_with(crate::postgres::with_statement_limits(options))
                    .await
                    .map_err(|e| StoreError::Open {
                        location: location.to_string(),
                        reason: e.to_string(),
                    })?;
                // Two servers starting together on a new keyring may race to make the table:
                // the loser's `IF NOT EXISTS` can still meet the winner's row type.
                if let Err(e) = pool.execute(POSTGRES_SCHEMA).await {
                    tracing::debug!(error = %e, "making the keyring's table again");
                    pool.execute(POSTGRES_SCHEMA).await?;
                }
                KeyringBackend::Postgres(pool)
            }
        };
        Ok(Keyring {
            backend: Arc::new(backend),
            location: location.clone(),
        })
    }

    /// Where this keyring is kept.
    pub fn location(&self) -> &KeyringLocation {
        &self.location
    }

    /// `subject`'s data key, sealed by the tenant key; `None` when it has none (never made,
    /// or shredded by a purge).
    pub async fn get(&self, tenant: TenantId, subject: SubjectId) -> Result<Option<Vec<u8>>> {
        match &*self.backend {
            KeyringBackend::Sqlite(conn) => Ok(lock(conn)
                .prepare_cached(
                    "SELECT sealed_key FROM data_keys WHERE tenant_id = ?1 AND subject_id = ?2",
                )?
                .query_row(
                    (
                        tenant.0.as_bytes().as_slice(),
                        subject.0.as_bytes().as_slice(),
                    ),
                    |r| r.get(0),
                )
                .optional()?),
            KeyringBackend::Postgres(pool) => Ok(sqlx::query_scalar(
                "SELECT sealed_key FROM data_keys WHERE tenant_id = $1 AND subject_id = $2",
            )
            .bind(tenant.0)
            .bind(subject.0)
            .fetch_optional(pool)
            .await?),
        }
    }

    /// Stores `sealed` as `subject`'s data key unless it has one already, and answers the one
    /// kept: of two made at once, the first stored wins and both callers use it. Durable when
    /// this returns, before anything sealed with the key is.
    pub async fn keep(
        &self,
        tenant: TenantId,
        subject: SubjectId,
        sealed: &[u8],
        at: jiff::Timestamp,
    ) -> Result<Vec<u8>> {
        let created_at_us = at.as_microsecond();
        match &*self.backend {
            KeyringBackend::Sqlite(conn) => {
                let sealed = sealed.to_vec();
                blocking(conn, move |conn| {
                    conn.prepare_cached(
                        "INSERT INTO data_keys (tenant_id, subject_id, sealed_key, \
                         created_at_us) VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
                    )?
                    .execute((
                        tenant.0.as_bytes().as_slice(),
                        subject.0.as_bytes().as_slice(),
                        sealed.as_slice(),
                        created_at_us,
                    ))
                })
                .await?;
            }
            KeyringBackend::Postgres(pool) => {
                sqlx::query(
                    "INSERT INTO data_keys (tenant_id, subject_id, sealed_key, created_at_us) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                )
                .bind(tenant.0)
                .bind(subject.0)
                .bind(sealed)
                .bind(created_at_us)
                .execute(pool)
                .await?;
            }
        }
        self.get(tenant, subject).await?.ok_or_else(|| {
            StoreError::Corrupt(format!("the data key of subject {subject} was not kept"))
        })
    }

    /// Every data key of the tenant's subjects, sealed by the tenant key.
    pub async fn all(&self, tenant: TenantId) -> Result<Vec<(SubjectId, Vec<u8>)>> {
        let rows: Vec<(uuid::Uuid, Vec<u8>)> = match &*self.backend {
            KeyringBackend::Sqlite(conn) => {
                let conn = lock(conn);
                let mut statement = conn.prepare_cached(
                    "SELECT subject_id, sealed_key FROM data_keys WHERE tenant_id = ?1 \
                     ORDER BY subject_id",
                )?;
                let rows = statement.query_map([tenant.0.as_bytes().as_slice()], |r| {
                    let id: Vec<u8> = r.get(0)?;
                    Ok((id, r.get(1)?))
                })?;
                rows.map(|row| {
                    let (id, sealed) = row?;
                    let id = uuid::Uuid::from_slice(&id)
                        .map_err(|e| StoreError::Corrupt(format!("a keyring subject id: {e}")))?;
                    Ok((id, sealed))
                })
                .collect::<Result<_>>()?
            }
            KeyringBackend::Postgres(pool) => {
                sqlx::query_as(
                    "SELECT subject_id, sealed_key FROM data_keys WHERE tenant_id = $1 \
                     ORDER BY subject_id",
                )
                .bind(tenant.0)
                .fetch_all(pool)
                .await?
            }
        };
        Ok(rows
            .into_iter()
            .map(|(id, sealed)| (SubjectId(id), sealed))
            .collect())
    }

    /// Destroys the data keys of `subjects` and every copy of them in the keyring's files:
    /// false when the keys are gone but a reader kept an older copy (in SQLite's write-ahead
    /// log, or a PostgreSQL snapshot that a rewrite must respect), so that the shred must be
    /// repeated later. A key already gone is no error: a
    /// shred that was cut short is repeated whole.
    pub(crate) async fn shred(&self, subjects: &[(TenantId, SubjectId)]) -> Result<bool> {
        match &*self.backend {
            KeyringBackend::Sqlite(conn) => {
                let subjects = subjects.to_vec();
                blocking(conn, move |conn| {
                    let tx = conn.transaction()?;
                    for (tenant, subject) in &subjects {
                        tx.prepare_cached(
                            "DELETE FROM data_keys WHERE tenant_id = ?1 AND subject_id = ?2",
                        )?
                        .execute((
                            tenant.0.as_bytes().as_slice(),
                            subject.0.as_bytes().as_slice(),
                        ))?;
                    }
                    tx.commit()?;
                    // `secure_delete` zeroed the keys in their pages; the log still holds
                    // the pages as they were. Readers of this file hold no snapshot for long
                    // (each read is one statement), so waiting for them is brief.
                    let busy: i64 =
                        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))?;
                    Ok(busy == 0)
                })
                .await
            }
            KeyringBackend::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                for (tenant, subject) in subjects {
                    sqlx::query("DELETE FROM data_keys WHERE tenant_id = $1 AND subject_id = $2")
                        .bind(tenant.0)
                        .bind(subject.0)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                // The deleted rows' bytes stay in their pages until a rewrite: the table is
                // small, so it is rewritten now, once no transaction can still see them.
                let mut conn = crate::postgres::maintenance_connection(pool).await?;
                if !crate::postgres::wait_for_older_transactions(&mut conn).await? {
                    return Ok(false);
                }
                conn.execute("VACUUM FULL data_keys").await?;
                Ok(true)
            }
        }
    }
}

/// Runs `work` on the keyring's connection on a blocking thread.
async fn blocking<T: Send + 'static>(
    conn: &Arc<Mutex<Connection>>,
    work: impl FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
) -> Result<T> {
    let conn = conn.clone();
    tokio::task::spawn_blocking(move || work(&mut lock(&conn)))
        .await
        .map_err(|e| StoreError::Refused(format!("the keyring's write was cut short: {e}")))?
        .map_err(StoreError::from)
}

fn lock(conn: &Mutex<Connection>) -> std::sync::MutexGuard<'_, Connection> {
    conn.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn open_sqlite(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(Duration::from_secs(10))?;
    // As the database: FULL so a key is on disk before anything sealed with it commits;
    // secure_delete so a shredded key is zeroed in its page.
    conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0))?;
    conn.execute_batch("PRAGMA synchronous = FULL; PRAGMA secure_delete = ON;")?;
    conn.execute_batch(SQLITE_SCHEMA)?;
    Ok(conn)
}

async fn postgres_exists(options: &PgConnectOptions) -> Result<bool> {
    match options.connect().await {
        Ok(conn) => {
            let _ = conn.close().await;
            Ok(true)
        }
        // invalid_catalog_name: the database does not exist.
        Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("3D000") => Ok(false),
        Err(e) => Err(StoreError::Open {
            location: crate::redact(options.to_url_lossy().as_ref()),
            reason: e.to_string(),
        }),
    }
}

/// Creates the keyring's database, from a connection to the server's `postgres` database.
async fn create_postgres(url: &str, options: &PgConnectOptions) -> Result<()> {
    let name = database_name(options);
    let mut conn = sqlx::PgConnection::connect(&with_database(url, "postgres"))
        .await
        .map_err(|e| StoreError::Open {
            location: crate::redact(url),
            reason: e.to_string(),
        })?;
    let quoted = format!("\"{}\"", name.replace('"', "\"\""));
    let mut created = Ok(());
    // object_in_use: another server is creating a database from the same template; a
    // moment later it is free.
    for _ in 0..10 {
        created = conn
            .execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {quoted}")))
            .await
            .map(drop);
        match &created {
            Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("55006") => {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            _ => break,
        }
    }
    let _ = conn.close().await;
    match created {
        Ok(_) => Ok(()),
        // duplicate_database: another server made it meanwhile.
        Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("42P04") => Ok(()),
        Err(e) => Err(StoreError::Open {
            location: crate::redact(url),
            reason: format!(
                "cannot create the keyring database {quoted} ({e}): create it, or name another \
                 with --keyring"
            ),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_keyring_is_kept_beside_its_database_unless_named() {
        assert_eq!(
            KeyringLocation::beside(&Location::Sqlite("/var/lib/exeunt/exeunt.db".into())).unwrap(),
            KeyringLocation::Sqlite("/var/lib/exeunt/exeunt.keyring.db".into())
        );
        assert_eq!(
            KeyringLocation::beside(&Location::Postgres(
                "postgres://exeunt:pw@db:5432/exeunt?sslmode=require".into()
            ))
            .unwrap(),
            KeyringLocation::Postgres(
                "postgres://exeunt:pw@db:5432/exeunt_keyring?sslmode=require".into()
            )
        );
        assert_eq!(
            KeyringLocation::parse("postgresql://keys@vault/keys"),
            KeyringLocation::Postgres("postgresql://keys@vault/keys".into())
        );
        assert_eq!(
            KeyringLocation::parse("/secure/keys.db"),
            KeyringLocation::Sqlite("/secure/keys.db".into())
        );
    }

    #[test]
    fn replaces_the_database_name() {
        assert_eq!(
            with_database("postgres://u@h:5432/postgres", "x"),
            "postgres://u@h:5432/x"
        );
        assert_eq!(
            with_database("postgres://u@h:5432", "x"),
            "postgres://u@h:5432/x"
        );
        assert_eq!(
            with_database("postgres://h/db?sslmode=disable", "x"),
            "postgres://h/x?sslmode=disable"
        );
    }

    #[test]
    fn a_keyring_that_is_the_database_itself_is_recognised() {
        let database = Location::Postgres("postgres://exeunt@db:5432/exeunt".into());
        let names = |keyring: &str| {
            KeyringLocation::parse(keyring)
                .names_the_database(&database)
                .unwrap()
        };
        assert!(names("postgres://exeunt@db:5432/exeunt"));
        // sqlx takes `dbname` over the path: the default beside such a URL is the database.
        let beside = KeyringLocation::beside(&Location::Postgres(
            "postgres://exeunt@db:5432/ignored?dbname=exeunt".into(),
        ))
        .unwrap();
        assert!(beside.names_the_database(&database).unwrap());
        assert!(!names("postgres://exeunt@db:5432/exeunt_keyring"));
        assert!(!names("postgres://exeunt@vault:5432/exeunt"));
        let file = Location::Sqlite("/var/lib/exeunt/exeunt.db".into());
        assert!(
            KeyringLocation::parse("/var/lib/exeunt/exeunt.db")
                .names_the_database(&file)
                .unwrap()
        );
    }
}
