//! `exeunt bench export`: building a client's export package, against `zip -r -1` of the files;
//! on SQLite and, given a scratch database, on PostgreSQL against SQLite's time.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use app::{Actor, App, StartCase};
use engine::ids::{SubjectKey, Text};
use engine::subject::{Attributes, RecordFields, RecordKind, SubjectKind};

use super::fixture::{setup, tenant_on};
use super::measure::{CpuTime, peak_rss, process_cpu};
use crate::output::say;

/// Peak resident memory a build may reach.
const MEMORY_LIMIT_MIB: f64 = 64.0;
/// How much longer than on SQLite the build may take on PostgreSQL.
const POSTGRES_LIMIT: f64 = 2.0;

/// What building one package took.
struct Build {
    seconds: f64,
    cpu: CpuTime,
    peak_mib: f64,
    package_mib: f64,
}

/// Export of one client's documents: the worker's wall time against `zip -r -1` of the same
/// plaintext files measured in the same run, and the worker's peak resident memory.
pub(super) async fn export(
    dir: &Path,
    documents: u32,
    mib: u32,
    postgres: Option<&str>,
) -> anyhow::Result<()> {
    let files = write_documents(dir, documents, mib)?;
    say!("bench export: {documents} documents, {mib} MiB (half random, half text)");

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
    say!(
        "  zip -r -1         {zip_time:.2} s, {:.0} MiB",
        zip_size as f64 / 1048576.0
    );

    let (app, actor) = setup(dir).await?;
    let sqlite = build(&app, &actor, &files).await?;
    report("SQLite", &sqlite);
    say!(
        "  SQLite ratio      {:.2} × zip (target ≤ 1.00)",
        sqlite.seconds / zip_time
    );
    match postgres {
        Some(url) => {
            let store = store::Store::postgres(url).await.context("--postgres")?;
            let slug = format!("export-{}", std::process::id());
            let (app, actor) = tenant_on(store, &slug).await?;
            let postgres = build(&app, &actor, &files).await?;
            report("PostgreSQL", &postgres);
            say!(
                "  PostgreSQL ratio  {:.2} × SQLite's time (target ≤ {POSTGRES_LIMIT:.2})",
                postgres.seconds / sqlite.seconds
            );
        }
        None => say!("  PostgreSQL: skipped (give --postgres with a scratch database to compare)"),
    }
    Ok(())
}

/// Writes the documents under `dir/plain`, half incompressible (random bytes), half text that
/// deflates well; their paths, in order.
fn write_documents(dir: &Path, documents: u32, mib: u32) -> anyhow::Result<Vec<PathBuf>> {
    use rand::{RngCore, SeedableRng};
    let size = (u64::from(mib) * 1024 * 1024 / u64::from(documents)) as usize;
    let plain = dir.join("plain");
    std::fs::create_dir_all(&plain)?;
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let text = b"Invoice line: 12 hours of consulting at the agreed rate, see the contract. ";
    let mut paths = Vec::new();
    for i in 0..documents {
        let (name, content) = if i % 2 == 0 {
            let mut bytes = vec![0u8; size];
            rng.fill_bytes(&mut bytes);
            (format!("doc-{i}.bin"), bytes)
        } else {
            let mut bytes: Vec<u8> = text.iter().copied().cycle().take(size).collect();
            bytes[..8].copy_from_slice(&u64::from(i).to_le_bytes());
            (format!("doc-{i}.txt"), bytes)
        };
        let path = plain.join(&name);
        std::fs::write(&path, &content)?;
        paths.push(path);
    }
    Ok(paths)
}

/// A client holding `files` as documents, offboarded; then its export, built and measured.
async fn build(app: &App, actor: &Actor, files: &[PathBuf]) -> anyhow::Result<Build> {
    let key = SubjectKey::parse("globex")?;
    app.add_subjects(
        actor,
        vec![app::NewSubject {
            key: key.clone(),
            kind: SubjectKind::Client,
            name: Text::line("Globex", 100)?,
            parent: None,
            attributes: Attributes::default(),
        }],
    )
    .await
    .map_err(|(_, e)| e)?;
    for path in files {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .context("a document's name")?
            .to_owned();
        let fields = RecordFields::parse(RecordKind::Document, [("name", name.as_str())])?;
        let record = app
            .add_record(actor, &key, RecordKind::Document, fields)
            .await?;
        let upload = app::Upload {
            file_name: name,
            content: std::fs::read(path)?,
        };
        app.attach_file(
            actor,
            &key,
            record.number,
            upload,
            "application/octet-stream".into(),
        )
        .await?;
    }
    let number = app
        .start_case(
            actor,
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

    // The peak so far is the setup's; count the build's alone.
    std::fs::write("/proc/self/clear_refs", "5").context("cannot reset the peak RSS")?;
    let before = process_cpu()?;
    let started = Instant::now();
    app.request_export(actor, number).await?;
    let export = app
        .build_next_export()
        .await?
        .context("no export was built")?;
    let seconds = started.elapsed().as_secs_f64();
    let cpu = process_cpu()? - before;
    anyhow::ensure!(
        export.failure.is_none(),
        "the export failed: {}",
        export.failure.unwrap_or_default()
    );
    let package = export.blob.context("the export has no package")?;
    Ok(Build {
        seconds,
        cpu,
        peak_mib: peak_rss()? as f64 / (1024.0 * 1024.0),
        package_mib: package.size as f64 / 1048576.0,
    })
}

fn report(store: &str, build: &Build) {
    say!(
        "  export, {store:<10} {:.2} s, {:.0} MiB package (CPU {:.2} s user, {:.2} s kernel); peak {:.1} MiB resident ({:.2} × the limit of {MEMORY_LIMIT_MIB} MiB)",
        build.seconds,
        build.package_mib,
        build.cpu.user.as_secs_f64(),
        build.cpu.system.as_secs_f64(),
        build.peak_mib,
        build.peak_mib / MEMORY_LIMIT_MIB
    );
}
