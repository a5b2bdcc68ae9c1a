//! The export builder: builds requested export packages, one at a time, for as long as the
//! process runs. Any number of processes may run it against one database: each build is
//! claimed with a lease of its own (`app::EXPORT_LEASE`), renewed while it runs.

use std::panic::AssertUnwindSafe;
use std::time::Duration;

use app::App;
use futures_util::FutureExt;

/// How often an idle builder looks for work.
const EXPORT_POLL: Duration = Duration::from_secs(1);

/// Builds requested exports until the future is dropped. A build cut short by a stop is taken
/// over by another builder once its lease ends; a build that panics is logged, and the builder
/// goes on (it shares its task with the jobs and the sweeps, which a panic would end too).
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
