//! On PostgreSQL, a statement of a request runs only so long (`statement_timeout`), so a
//! statement stuck behind a lock or a bad plan gives its pooled connection back.

use std::time::{Duration, Instant};

use engine::ids::Slug;
use exeunt_store::{Store, StoreError};
use sqlx::{Connection, Executor, PgConnection};

#[tokio::test]
async fn a_statement_past_its_time_is_cancelled_and_the_pool_serves_again() {
    let Some(url) = testkit::fresh_postgres("statement_limits").await else {
        return;
    };
    let default = Store::postgres(&url).await.unwrap();
    assert_eq!(
        default.statement_timeout().await.unwrap().as_deref(),
        Some("30s"),
        "the limit a request's statement has unless the operator sets one"
    );
    drop(default);
    // The operator's limit in the URL stands: here a tenth of a second.
    let glue = if url.contains('?') { '&' } else { '?' };
    let store = Store::postgres(&format!("{url}{glue}options[statement_timeout]=100ms"))
        .await
        .unwrap();
    assert_eq!(
        store.statement_timeout().await.unwrap().as_deref(),
        Some("100ms")
    );

    // Someone behind the store holds every read of the tenants waiting.
    let mut blocker = PgConnection::connect(&url).await.unwrap();
    blocker
        .execute("BEGIN; LOCK TABLE tenants IN ACCESS EXCLUSIVE MODE")
        .await
        .unwrap();
    let slug = Slug::parse("acme").unwrap();
    let asked = Instant::now();
    let read = store.read().await.unwrap().tenant_by_slug(&slug).await;
    let waited = asked.elapsed();
    assert!(
        matches!(read, Err(StoreError::TimedOut(_))),
        "the read waited and was cancelled: {read:?}"
    );
    assert!(
        waited < Duration::from_secs(10),
        "cancelled at its limit, not left waiting ({waited:?})"
    );

    // Once the lock is gone, the pool's connections serve again.
    blocker.execute("ROLLBACK").await.unwrap();
    let read = store.read().await.unwrap().tenant_by_slug(&slug).await;
    assert!(matches!(read, Ok(None)), "{read:?}");
}
