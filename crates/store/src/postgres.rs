//! The PostgreSQL backend, for several server replicas on one database. Write transactions
//! lock the case they change and the tenant's audit head row, so concurrent writers serialize
//! exactly where they would conflict.

use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;

use crate::{Result, Store, StoreError, migrator};

type Db = sqlx::Postgres;
const FOR_UPDATE: &str = " FOR UPDATE";

#[path = "queries.rs"]
mod queries;

pub use queries::SqlTx as PostgresTx;

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
];

#[derive(Clone, Debug)]
pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    /// Connects and brings the schema up to date. Migrations take an advisory lock, so several
    /// replicas starting together migrate once.
    pub async fn open(url: &str) -> Result<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .connect(url)
            .await
            .map_err(|source| StoreError::Open {
                location: redact(url),
                source,
            })?;
        migrator(MIGRATIONS).run(&pool).await?;
        Ok(Self { pool })
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
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

impl Store for PostgresStore {
    type Tx = PostgresTx;

    async fn read(&self) -> Result<PostgresTx> {
        Ok(PostgresTx {
            tx: self.pool.begin().await?,
            locking: false,
        })
    }

    async fn write(&self) -> Result<PostgresTx> {
        Ok(PostgresTx {
            tx: self.pool.begin().await?,
            locking: true,
        })
    }

    fn backend(&self) -> &'static str {
        "postgres"
    }
}
