//! `exeunt audit`: verify the tenant's audit chain (in the database, or an exported log offline)
//! and export it as JSON lines.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use std::path::{Path, PathBuf};

use app::{Actor, App, AppError, CheckpointLine, DigestKeyLine};

use crate::cli::AuditCmd;
use crate::output::{note_reader_gone, say};

pub(super) async fn audit(app: &App, actor: &Actor, cmd: &AuditCmd) -> anyhow::Result<ExitCode> {
    match cmd {
        AuditCmd::Verify { file: Some(_), .. } => unreachable!("checked offline, before"),
        AuditCmd::Verify { file: None, .. } => match app.verify_audit(actor).await {
            Ok(n) => {
                say!(
                    "The audit chain of tenant `{}` is intact: {n} events.",
                    actor.tenant.slug
                );
                Ok(ExitCode::SUCCESS)
            }
            Err(AppError::Chain(brk)) => {
                say!("BROKEN: {brk}");
                Ok(ExitCode::FAILURE)
            }
            Err(e) => Err(e.into()),
        },
        AuditCmd::Export { output } => {
            let mut out: Box<dyn Write> = match output {
                Some(path) => Box::new(std::io::BufWriter::new(
                    std::fs::File::create(path)
                        .with_context(|| format!("cannot write {}", path.display()))?,
                )),
                None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
            };
            // The digest keys first: a reader checks each payload as its event comes.
            for (subject, key) in app.digest_keys(actor).await? {
                serde_json::to_writer(&mut out, &DigestKeyLine::new(subject, &key))?;
                out.write_all(b"\n").inspect_err(note_reader_gone)?;
            }
            let mut tx = app.store().read().await?;
            let mut count = 0u64;
            app.walk_audit(&mut tx, actor, None, |e| {
                serde_json::to_writer(&mut out, e)
                    .map_err(std::io::Error::from)
                    .and_then(|()| out.write_all(b"\n"))
                    .map_err(|err| {
                        note_reader_gone(&err);
                        AppError::invalid("output", err)
                    })?;
                count += 1;
                Ok(())
            })
            .await?;
            if let Some(newest) = app.newest_checkpoint(actor).await? {
                let line = CheckpointLine {
                    checkpoint: newest.token,
                };
                serde_json::to_writer(&mut out, &line)?;
                out.write_all(b"\n").inspect_err(note_reader_gone)?;
            }
            out.flush().inspect_err(note_reader_gone)?;
            if let Some(path) = output {
                say!("Wrote {count} events to {}.", path.display());
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Checks a log `audit export` wrote, with no database: the chain, and each checkpoint (the
/// log's own and those given) against it; with `key`, the checkpoints' signatures too.
pub(super) fn verify_file(
    file: &Path,
    key: Option<&Path>,
    checkpoints: &[PathBuf],
) -> anyhow::Result<ExitCode> {
    let keys = key.map(crate::certificates::read_keys).transpose()?;
    let more = checkpoints
        .iter()
        .map(|path| {
            std::fs::read_to_string(path)
                .map(|text| text.trim().to_owned())
                .with_context(|| format!("cannot read {}", path.display()))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let log =
        std::fs::File::open(file).with_context(|| format!("cannot read {}", file.display()))?;
    match app::verify_exported_log(std::io::BufReader::new(log), keys.as_ref(), &more) {
        Ok(check) => {
            say!("The exported log is intact: {} events.", check.events);
            for checkpoint in &check.checkpoints {
                let signature = if checkpoint.signed {
                    "signature verified"
                } else {
                    "signature not checked: pass --key"
                };
                say!(
                    "It holds event {} as the signed checkpoint says ({signature}).",
                    checkpoint.seq
                );
            }
            if check.unchecked_payloads > 0 {
                say!(
                    "{} payloads were not checked: the log does not carry their subjects' digest \
                     keys.",
                    check.unchecked_payloads
                );
            }
            if check.checkpoints.is_empty() {
                say!("No checkpoint: a removed tail cannot be told from a short log.");
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(AppError::Chain(brk)) => {
            say!("BROKEN: {brk}");
            Ok(ExitCode::FAILURE)
        }
        Err(e) => Err(e.into()),
    }
}
