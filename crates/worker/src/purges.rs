//! Purges that came due: run by a serving worker's minute sweep. A purge is one transaction
//! per subject, so a process stopped midway leaves the subject whole and the next sweep
//! purges it.

use app::App;

/// Purges every subject of every tenant whose purge is due, and logs what happened; then
/// finishes an earlier purge's erasure that readers held up.
pub(crate) async fn purge_due(app: &App) -> app::Result<()> {
    if !app.store().finish_erasure().await? {
        tracing::debug!("readers still keep an earlier purge's old pages in the write-ahead log");
    }
    let run = app.purge_due_everywhere().await?;
    for t in run.purged {
        tracing::info!(subject = %t.subject_id, "purged");
    }
    for (subject, reason) in run.failed {
        tracing::error!(%subject, %reason, "a purge failed; the subject is left whole");
    }
    Ok(())
}
