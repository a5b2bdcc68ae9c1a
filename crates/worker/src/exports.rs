//! Exports alone: a loop that builds requested exports and runs no other job, for a process
//! whose other jobs run elsewhere or not at all (the test servers, which send their emails
//! themselves). A running [`Worker`](crate::Worker) builds exports among its other jobs.

use std::panic::AssertUnwindSafe;
use std::time::Duration;

use app::App;
use futures_util::FutureExt;

/// How often an idle builder looks for work.
const EXPORT_POLL: Duration = Duration::from_secs(1);

/// Builds requested exports until the future is dropped, each under its job's lease. A build
/// that fails or panics is logged, and the builder goes on.
pub async fn build_exports(app: App) {
    loop {
        match AssertUnwindSafe(app.build_next_export())
            .catch_unwind()
            .await
        {
            Ok(Ok(Some(export))) => tracing::info!(
                export = %export.id, status = export.status.as_str(), "export built"
            ),
            Ok(Ok(None)) => tokio::time::sleep(EXPORT_POLL).await,
            Ok(Err(e)) => {
                tracing::error!(error = %e, "the export worker failed");
                tokio::time::sleep(EXPORT_POLL).await;
            }
            Err(_) => {
                tracing::error!("the export worker panicked");
                tokio::time::sleep(EXPORT_POLL).await;
            }
        }
    }
}
