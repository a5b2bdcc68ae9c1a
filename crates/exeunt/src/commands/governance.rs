//! Keeping and deleting data: `exeunt hold`, `retention` and `purge`.

use std::process::ExitCode;

use app::{Actor, App};
use engine::audit::to_hex;

use crate::cli::PurgeCmd;
use crate::output::{json, listing, say, table};

pub(super) async fn hold(
    app: &App,
    actor: &Actor,
    cmd: &crate::cli::HoldCmd,
) -> anyhow::Result<ExitCode> {
    use crate::cli::HoldCmd;
    match cmd {
        HoldCmd::Place { subject, reason: r } => {
            let hold = app.place_hold(actor, subject.as_ref(), r.clone()).await?;
            let covers = subject
                .as_ref()
                .map_or_else(|| "the whole tenant".to_owned(), ToString::to_string);
            say!("Legal hold {} placed on {covers}.", hold.id);
        }
        HoldCmd::Lift { id, reason: r } => {
            app.lift_hold(actor, engine::ids::HoldId(*id), r.clone())
                .await?;
            say!("Lifted legal hold {id}.");
        }
        HoldCmd::List { subject, json } => {
            let holds = app.holds(actor, subject.as_ref()).await?;
            listing(
                json.json,
                &holds,
                &["ID", "COVERS", "STATE", "PLACED", "REASON"],
                |h| {
                    vec![
                        h.id.to_string(),
                        h.subject_key
                            .as_ref()
                            .map_or_else(|| "(whole tenant)".to_owned(), ToString::to_string),
                        if h.lifted.is_some() {
                            "lifted"
                        } else {
                            "standing"
                        }
                        .to_owned(),
                        h.placed_at.to_string(),
                        h.reason.clone(),
                    ]
                },
            )?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub(super) async fn retention(
    app: &App,
    actor: &Actor,
    cmd: &crate::cli::RetentionCmd,
) -> anyhow::Result<ExitCode> {
    use crate::cli::RetentionCmd;
    match cmd {
        RetentionCmd::Set { period, kind } => {
            app.set_retention(actor, *kind, *period).await?;
            let of = kind.map_or_else(
                || "every kind without its own".to_owned(),
                |k| format!("{k} subjects"),
            );
            say!("Retention of {of}: {period} after completion.");
        }
        RetentionCmd::Show(flag) => {
            let policies = app.retention_policies(actor).await?;
            listing(flag.json, &policies, &["KIND", "PERIOD", "SET"], |p| {
                vec![
                    p.kind
                        .map_or_else(|| "(default)".to_owned(), |k| k.to_string()),
                    p.period.to_string(),
                    p.set_at.to_string(),
                ]
            })?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub(super) async fn purge(app: &App, actor: &Actor, cmd: &PurgeCmd) -> anyhow::Result<ExitCode> {
    match cmd {
        PurgeCmd::List {
            done: true,
            json: flag,
        } => {
            let tombstones = app.tombstones(actor).await?;
            listing(
                flag.json,
                &tombstones,
                &["SUBJECT", "KIND", "PURGED", "BY", "DIGEST", "WHAT"],
                |t| {
                    vec![
                        t.subject_id.to_string(),
                        t.subject_kind.to_string(),
                        t.purged_at.to_string(),
                        t.purged_by.clone(),
                        to_hex(&t.digest),
                        t.summary.clone(),
                    ]
                },
            )?;
        }
        PurgeCmd::List {
            done: false,
            json: flag,
        } => {
            let pending = app.pending_purges(actor).await?;
            let rows: Vec<serde_json::Value> = pending
                .iter()
                .map(|p| {
                    serde_json::json!({
                        "subject": p.candidate.subject_key, "kind": p.candidate.subject_kind,
                        "case": p.candidate.case_number, "completed_at": p.candidate.closed_at,
                        "status": p.status.to_string(),
                    })
                })
                .collect();
            if flag.json {
                json(&rows)?;
            } else {
                let rows: Vec<Vec<String>> = pending
                    .iter()
                    .map(|p| {
                        vec![
                            p.candidate.subject_key.to_string(),
                            p.candidate.subject_kind.to_string(),
                            p.candidate.case_number.to_string(),
                            p.candidate.closed_at.to_string(),
                            p.status.to_string(),
                        ]
                    })
                    .collect();
                table(&["SUBJECT", "KIND", "CASE", "COMPLETED", "PURGE"], &rows);
            }
        }
        PurgeCmd::Run => {
            let run = app.purge_due(actor).await?;
            for (subject, reason) in &run.failed {
                eprintln!("Could not purge {subject} (it is left whole): {reason}");
            }
            let done = run.purged;
            for t in &done {
                say!(
                    "Purged {} {} ({}); tombstone digest {}.",
                    t.subject_kind,
                    t.subject_id,
                    t.summary,
                    to_hex(&t.digest)
                );
            }
            if done.is_empty() && run.failed.is_empty() {
                say!("No purge is due (`exeunt purge list` says why for each subject).");
            }
            if !run.failed.is_empty() {
                return Ok(ExitCode::FAILURE);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
