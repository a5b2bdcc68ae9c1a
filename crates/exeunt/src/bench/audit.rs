//! `exeunt bench audit`: verifying a long audit chain, against a fixed rate.

use std::path::Path;
use std::time::Instant;

use engine::audit::{AuditDraft, AuditEvent};

use super::fixture::setup;
use crate::output::say;

pub(super) async fn audit(dir: &Path, events: u32) -> anyhow::Result<()> {
    let (app, actor) = setup(dir).await?;
    const BATCH: i64 = 50_000;
    let started = Instant::now();
    let mut tx = app.store().read().await?;
    let (mut seq, mut hash) = tx
        .audit_head(actor.tenant.id)
        .await?
        .unwrap_or((0, engine::audit::GENESIS));
    drop(tx);
    let at = app.now();
    while seq < i64::from(events) {
        let batch: Vec<AuditEvent> = (seq..(seq + BATCH).min(i64::from(events)))
            .map(|n| {
                let event = AuditEvent::chain(
                    actor.tenant.id,
                    (seq, hash),
                    at,
                    AuditDraft {
                        actor: actor.user.actor(),
                        action: "task.completed",
                        target_kind: "task",
                        target_id: format!("{}/t{}", n / 20, n % 20),
                        subject: None,
                        digest_key: None,
                        payload: serde_json::json!({"summary": format!("completed task t{} of case {}", n % 20, n / 20), "note": null}),
                    },
                );
                (seq, hash) = (event.seq, event.hash);
                event
            })
            .collect();
        let mut tx = app.store().write().await?;
        tx.import_audit_events(actor.tenant.id, &batch).await?;
        tx.commit().await?;
    }
    let setup_time = started.elapsed();
    let begin = Instant::now();
    let verified = app.verify_audit(&actor).await?;
    let elapsed = begin.elapsed();
    let rate = verified as f64 / elapsed.as_secs_f64();
    say!("bench audit: verify a tenant's audit chain on SQLite (hash every event and payload)");
    say!(
        "  events          {verified} (written in {:.1} s)",
        setup_time.as_secs_f64()
    );
    say!("  verify time     {:.2} s", elapsed.as_secs_f64());
    say!("  throughput      {rate:.0} events/s");
    say!(
        "  ratio           {:.2} × the target of 500000 events/s",
        rate / 500_000.0
    );
    Ok(())
}
