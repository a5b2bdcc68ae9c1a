//! `exeunt export`: request, build, list, link, waive and download a case's export package.

use std::process::ExitCode;

use app::{Actor, App};
use engine::audit::to_hex;

use super::shared::save;
use crate::cli::ExportCmd;
use crate::output::{listing, say};

pub(super) async fn export(app: &App, actor: &Actor, cmd: &ExportCmd) -> anyhow::Result<ExitCode> {
    match cmd {
        ExportCmd::Request { number } => {
            let export = app.request_export(actor, number.0).await?;
            say!(
                "Export {} of case {} is {}. `exeunt export run` builds it now; `exeunt serve` \
                 builds it in the background.",
                export.id,
                number.0,
                export.status.as_str()
            );
        }
        ExportCmd::Run { take_over } => {
            let mut built = 0;
            loop {
                let next = if *take_over {
                    app.take_over_next_export().await?
                } else {
                    app.build_next_export().await?
                };
                let Some(export) = next else { break };
                built += 1;
                match (&export.failure, &export.blob) {
                    (Some(reason), _) => {
                        say!(
                            "Export {} of case {} failed: {reason}",
                            export.id,
                            export.case_number
                        );
                    }
                    (None, Some(blob)) => say!(
                        "Export {} of case {} is ready: {} bytes, sha256 {}.",
                        export.id,
                        export.case_number,
                        blob.size,
                        to_hex(&blob.sha256)
                    ),
                    (None, None) => say!(
                        "Export {} of case {} is {}.",
                        export.id,
                        export.case_number,
                        export.status.as_str()
                    ),
                }
            }
            if built == 0 {
                say!("No export is waiting.");
            }
        }
        ExportCmd::List { number, json: flag } => {
            let exports = app.exports(actor, number.0).await?;
            listing(
                flag.json,
                &exports,
                &["EXPORT", "STATUS", "SIZE", "SHA256", "REQUESTED", "NOTE"],
                |e| {
                    // A build under way has a blob too, not yet the package.
                    let package = e
                        .blob
                        .as_ref()
                        .filter(|_| e.status == engine::export::ExportStatus::Ready);
                    vec![
                        e.id.to_string(),
                        e.status.as_str().to_owned(),
                        package.map(|b| b.size.to_string()).unwrap_or_default(),
                        package.map(|b| to_hex(&b.sha256)).unwrap_or_default(),
                        e.requested_at.to_string(),
                        e.failure.clone().unwrap_or_default(),
                    ]
                },
            )?;
        }
        ExportCmd::Link {
            number,
            days,
            base_url,
        } => {
            let (token, expires_at) = app.receive_link(actor, number.0, *days).await?;
            say!(
                "{}/receive/{token}\nValid until {expires_at}. The client downloads the package \
                 there and acknowledges receipt; no account needed.",
                base_url.trim_end_matches('/')
            );
        }
        ExportCmd::WaiveAck { number, reason } => {
            app.waive_acknowledgement(actor, number.0, reason.clone())
                .await?;
            say!(
                "Case {} goes on without the client's acknowledgement; the reason is on record.",
                number.0
            );
        }
        ExportCmd::Download { number, output } => {
            let download = app.export_package(actor, number.0).await?;
            save(download, output.as_deref()).await?;
        }
        ExportCmd::Verify { .. } => unreachable!("verified offline before the store opens"),
    }
    Ok(ExitCode::SUCCESS)
}
