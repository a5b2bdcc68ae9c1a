//! `exeunt bench export`: building a client's export package, against `zip -r -1` of the files.

use std::path::Path;
use std::time::Instant;

use anyhow::Context;
use app::StartCase;
use engine::ids::{SubjectKey, Text};
use engine::subject::{Attributes, SubjectKind};

use super::fixture::setup;
use super::measure::{peak_rss, process_cpu};
use crate::output::say;

/// Export of one client's documents: the worker's wall time against `zip -r -1` of the same
/// plaintext files measured in the same run, and the worker's peak resident memory.
pub(super) async fn export(dir: &Path, documents: u32, mib: u32) -> anyhow::Result<()> {
    use rand::{RngCore, SeedableRng};
    const MEMORY_LIMIT_MIB: f64 = 64.0;
    let (app, actor) = setup(dir).await?;
    app.add_subjects(
        &actor,
        vec![app::NewSubject {
            key: SubjectKey::parse("globex")?,
            kind: SubjectKind::Client,
            name: Text::line("Globex", 100)?,
            parent: None,
            attributes: Attributes::default(),
        }],
    )
    .await
    .map_err(|(_, e)| e)?;
    let key = SubjectKey::parse("globex")?;
    let size = (u64::from(mib) * 1024 * 1024 / u64::from(documents)) as usize;
    let plain = dir.join("plain");
    std::fs::create_dir_all(&plain)?;
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let text = b"Invoice line: 12 hours of consulting at the agreed rate, see the contract. ";
    for i in 0..documents {
        // Half incompressible (random bytes), half text that deflates well.
        let (name, content) = if i % 2 == 0 {
            let mut bytes = vec![0u8; size];
            rng.fill_bytes(&mut bytes);
            (format!("doc-{i}.bin"), bytes)
        } else {
            let mut bytes: Vec<u8> = text.iter().copied().cycle().take(size).collect();
            bytes[..8].copy_from_slice(&u64::from(i).to_le_bytes());
            (format!("doc-{i}.txt"), bytes)
        };
        std::fs::write(plain.join(&name), &content)?;
        let fields = engine::subject::RecordFields::parse(
            engine::subject::RecordKind::Document,
            [("name", name.as_str())],
        )?;
        let record = app
            .add_record(&actor, &key, engine::subject::RecordKind::Document, fields)
            .await?;
        let upload = app::Upload {
            file_name: name,
            content,
        };
        app.attach_file(
            &actor,
            &key,
            record.number,
            upload,
            "application/octet-stream".into(),
        )
        .await?;
    }
    let number = app
        .start_case(
            &actor,
            StartCase {
                subject: key,
                blueprint: None,
                exit_date: jiff::civil::date(2027, 1, 29),
                owner: None,
                confirmation: None,
            },
        )
        .await?
        .number;

    // The same files, zipped by Info-ZIP at its fastest level.
    let started = Instant::now();
    let status = std::process::Command::new("zip")
        .args(["-r", "-1", "-q", "plain.zip", "plain"])
        .current_dir(dir)
        .status()
        .context("cannot run zip (apt-get install zip)")?;
    anyhow::ensure!(status.success(), "zip failed");
    let zip_time = started.elapsed().as_secs_f64();
    let zip_size = std::fs::metadata(dir.join("plain.zip"))?.len();

    // The peak so far is the setup's; count the build's alone.
    std::fs::write("/proc/self/clear_refs", "5").context("cannot reset the peak RSS")?;
    let before = process_cpu()?;
    let started = Instant::now();
    app.request_export(&actor, number).await?;
    let export = app
        .build_next_export()
        .await?
        .context("no export was built")?;
    let export_time = started.elapsed().as_secs_f64();
    let cpu = process_cpu()? - before;
    anyhow::ensure!(
        export.failure.is_none(),
        "the export failed: {}",
        export.failure.unwrap_or_default()
    );
    let peak_mib = peak_rss()? as f64 / (1024.0 * 1024.0);
    let package = export.blob.context("the export has no package")?;
    say!("bench export: {documents} documents, {mib} MiB (half random, half text), SQLite");
    say!(
        "  zip -r -1       {zip_time:.2} s, {:.0} MiB",
        zip_size as f64 / 1048576.0
    );
    say!(
        "  export          {export_time:.2} s, {:.0} MiB package (CPU {:.2} s user, {:.2} s kernel)",
        package.size as f64 / 1048576.0,
        cpu.user.as_secs_f64(),
        cpu.system.as_secs_f64()
    );
    say!(
        "  ratio           {:.2} × zip (target ≤ 1.00)",
        export_time / zip_time
    );
    say!(
        "  peak memory     {peak_mib:.1} MiB resident during the build ({:.2} × the limit of {MEMORY_LIMIT_MIB} MiB)",
        peak_mib / MEMORY_LIMIT_MIB
    );
    Ok(())
}
