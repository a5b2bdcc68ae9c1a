//! `exeunt audit`: verify the tenant's audit chain and export it as JSON lines.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use app::{Actor, App, AppError};

use crate::cli::AuditCmd;
use crate::output::{note_reader_gone, say};

pub(super) async fn audit(app: &App, actor: &Actor, cmd: &AuditCmd) -> anyhow::Result<ExitCode> {
    match cmd {
        AuditCmd::Verify => match app.verify_audit(actor).await {
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
            out.flush().inspect_err(note_reader_gone)?;
            if let Some(path) = output {
                say!("Wrote {count} events to {}.", path.display());
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
