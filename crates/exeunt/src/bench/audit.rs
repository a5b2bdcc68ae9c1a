//! `exeunt bench audit`: verifying a long audit chain, against a fixed rate. The events are a
//! case's task completions, each case of one of `SUBJECTS` clients, so their payload digests
//! are keyed as real ones are (chain format 2): verifying looks up each subject's digest key.

use std::path::Path;
use std::time::Instant;

use app::NewSubject;
use engine::audit::{AuditDraft, AuditEvent};
use engine::ids::{SubjectKey, Text};
use engine::subject::{Attributes, SubjectKind};

use super::fixture::setup;
use crate::output::say;

/// The most clients whose cases the events are about: one per thousand events.
const SUBJECTS: u32 = 1_000;

pub(super) async fn audit(dir: &Path, events: u32) -> anyhow::Result<()> {
    let (app, actor) = setup(dir).await?;
    const BATCH: i64 = 50_000;
    let started = Instant::now();
    let subjects = (events / 1_000).clamp(1, SUBJECTS);
    let clients = (0..subjects)
        .map(|i| {
            Ok(NewSubject {
                key: SubjectKey::parse(&format!("client-{i}"))?,
                kind: SubjectKind::Client,
                name: Text::line(&format!("Client {i}"), 100)?,
                parent: None,
                attributes: Attributes::default(),
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    app.add_subjects(&actor, clients)
        .await
        .map_err(|(_, e)| e)?;
    let keys = app.digest_keys(&actor).await?;
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
                let (subject, key) = keys[(n / 20) as usize % keys.len()];
                let event = AuditEvent::chain(
                    actor.tenant.id,
                    (seq, hash),
                    at,
                    AuditDraft {
                        actor: actor.user.actor(),
                        action: "task.completed",
                        target_kind: "task",
                        target_id: format!("{}/t{}", n / 20, n % 20),
                        subject: Some(subject),
                        digest_key: Some(key),
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
    say!(
        "bench audit: verify a tenant's audit chain on SQLite (hash every event, check every payload's keyed digest, {subjects} subjects)"
    );
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
