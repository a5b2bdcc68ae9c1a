//! `exeunt bench records`: adding a record to a subject that has many, against adding one to a
//! subject that has none, on SQLite (and PostgreSQL with `--postgres`). Numbers come from a
//! counter on the subject, so the cost must not grow with the records already there.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;
use app::{Actor, App, NewSubject};
use engine::ids::{RecordId, SubjectKey, Text};
use engine::subject::{Attributes, Record, RecordFields, RecordKind, SubjectKind};
use store::Store;

use super::fixture::tenant_on;
use super::measure::percentile;
use crate::output::say;

/// Adds timed at each end: enough for a steady median on a noisy disk.
const SAMPLE: usize = 200;
/// Records written per transaction while filling the subject.
const FILL_BATCH: u32 = 10_000;
/// How much slower the last adds may be than the first: the rest is the disk's noise.
const LIMIT: f64 = 1.5;

pub(super) async fn records(dir: &Path, count: u32, postgres: Option<&str>) -> anyhow::Result<()> {
    say!("bench records: add a note to a subject holding N records, through the use case");
    let store = Store::sqlite(&dir.join("exeunt.db"), true).await?;
    measure("SQLite", store, "bench", count).await?;
    match postgres {
        Some(url) => {
            let store = Store::postgres(url).await.context("--postgres")?;
            let slug = format!("records-{}", std::process::id());
            measure("PostgreSQL", store, &slug, count).await?;
        }
        None => say!("  PostgreSQL: skipped (give --postgres with a scratch database to compare)"),
    }
    Ok(())
}

async fn measure(backend: &str, store: Store, slug: &str, count: u32) -> anyhow::Result<()> {
    let (app, actor) = tenant_on(store, slug).await?;
    let key = SubjectKey::parse("bulk")?;
    app.add_subjects(
        &actor,
        vec![NewSubject {
            key: key.clone(),
            kind: SubjectKind::Client,
            name: Text::line("Bulk client", 100)?,
            parent: None,
            attributes: Attributes::default(),
        }],
    )
    .await
    .map_err(|(_, e)| e)?;
    let first = timed_adds(&app, &actor, &key).await?;
    fill(&app, &actor, &key, count).await?;
    let last = timed_adds(&app, &actor, &key).await?;
    let (first, last) = (percentile(&first, 0.5), percentile(&last, 0.5));
    let ratio = last.as_secs_f64() / first.as_secs_f64();
    say!(
        "  {backend:<10} median add: {:.2} ms at the first records, {:.2} ms after {count} more: {ratio:.2}× (limit ≤ {LIMIT:.1}×){}",
        first.as_secs_f64() * 1e3,
        last.as_secs_f64() * 1e3,
        if ratio <= LIMIT { "" } else { "  MISSED" }
    );
    Ok(())
}

/// `SAMPLE` notes added through the use case, one transaction each, and how long each took.
async fn timed_adds(app: &App, actor: &Actor, key: &SubjectKey) -> anyhow::Result<Vec<Duration>> {
    let mut took = Vec::with_capacity(SAMPLE);
    for i in 0..SAMPLE {
        let fields =
            RecordFields::parse(RecordKind::Note, [("text", format!("timed {i}").as_str())])?;
        let began = Instant::now();
        app.add_record(actor, key, RecordKind::Note, fields).await?;
        took.push(began.elapsed());
    }
    took.sort();
    Ok(took)
}

/// Writes `count` notes straight through the store, numbered by the subject's counter as the
/// use case numbers them, `FILL_BATCH` to a transaction: filling through the use case would
/// take an fsync each.
async fn fill(app: &App, actor: &Actor, key: &SubjectKey, count: u32) -> anyhow::Result<()> {
    let subject = app.subject(actor, key).await?.subject.id;
    let fields = RecordFields::parse(RecordKind::Note, [("text", "filler")])?;
    let at = app.now();
    let mut left = count;
    while left > 0 {
        let batch = left.min(FILL_BATCH);
        let mut tx = app.store().write().await?;
        for _ in 0..batch {
            let number = tx.next_record_number(actor.tenant.id, subject).await?;
            let record = Record {
                id: RecordId(uuid::Uuid::now_v7()),
                subject_id: subject,
                number,
                kind: RecordKind::Note,
                fields: fields.clone(),
            };
            tx.insert_record(actor.tenant.id, &record, at).await?;
        }
        tx.commit().await?;
        left -= batch;
    }
    Ok(())
}
