//! Offboardings under way: `exeunt case` and `task`.

use std::process::ExitCode;

use anyhow::anyhow;
use app::{Actor, App, EvidenceContent, StartCase};
use engine::audit::to_hex;
use engine::case::{CaseStatus, FindingStatus};
use engine::fields::RevocationNote;
use engine::ids::EvidenceId;
use store::{CaseFilter, TaskFilter};

use super::shared::{blueprint_error, choice, read_upload, save};
use crate::cli::{CaseCmd, TaskCmd};
use crate::output::{json, listing, local, say, table, write_out};

pub(super) async fn case(app: &App, actor: &Actor, cmd: &CaseCmd) -> anyhow::Result<ExitCode> {
    match cmd {
        CaseCmd::Start {
            subject,
            exit_date,
            blueprint,
            owner,
            confirm,
        } => {
            let blueprint = blueprint.as_deref().map(choice).transpose()?;
            let started = app
                .start_case(
                    actor,
                    StartCase {
                        subject: subject.clone(),
                        blueprint,
                        exit_date: *exit_date,
                        owner: owner.clone(),
                        confirmation: confirm.clone(),
                    },
                )
                .await
                .map_err(blueprint_error)?;
            say!(
                "Started case {} for {subject} with {}@{} ({} tasks).",
                started.number,
                started.blueprint_id,
                started.blueprint_version,
                started.tasks
            );
            if !started.children.is_empty() {
                let list: Vec<String> = started.children.iter().map(ToString::to_string).collect();
                say!(
                    "Opened {} child cases: {}.",
                    started.children.len(),
                    list.join(", ")
                );
            }
            let view = app.case(actor, started.number).await?;
            print_findings(&view.file.findings);
        }
        CaseCmd::List {
            status,
            limit,
            json: flag,
        } => {
            let cases = app
                .cases(
                    actor,
                    &CaseFilter {
                        status: *status,
                        limit: *limit,
                        ..CaseFilter::default()
                    },
                )
                .await?;
            let header = [
                "CASE",
                "SUBJECT",
                "KIND",
                "BLUEPRINT",
                "STATUS",
                "TASKS",
                "EXIT",
            ];
            listing(flag.json, &cases, &header, |c| {
                vec![
                    c.number.to_string(),
                    c.subject_key.to_string(),
                    c.subject_kind.to_string(),
                    c.blueprint_id.to_string(),
                    case_status(c.status, c.resolution),
                    format!("{}/{}", c.tasks_closed, c.tasks_total),
                    c.exit_date.to_string(),
                ]
            })?;
        }
        CaseCmd::Show { number, json: flag } => {
            let view = app.case(actor, number.0).await?;
            if flag.json {
                json(&view)?;
                return Ok(ExitCode::SUCCESS);
            }
            let c = &view.file.case;
            let tz = view.subject.attributes.time_zone();
            let status = case_status(c.status, c.resolution);
            say!(
                "Case {} · {} {} ({}) · {}@{}",
                c.number,
                view.subject.kind,
                view.subject.key,
                view.subject.name,
                c.blueprint_id,
                c.blueprint_version
            );
            say!(
                "Status: {status} · exit date {} · owner {}",
                c.exit_date,
                view.owner
                    .as_ref()
                    .map_or("?".to_owned(), |u| u.email.to_string())
            );
            if let Some(stage) = &view.current_stage {
                say!("Current stage: {stage}");
            }
            if let Some(reason) = &c.close_reason {
                say!("Reason: {reason}");
            }
            say!("\nStages:");
            for s in &c.stages {
                let tasks: Vec<_> = view.file.tasks.iter().filter(|t| t.stage == s.id).collect();
                let closed = tasks.iter().filter(|t| t.status.is_closed()).count();
                let mark = if closed == tasks.len() {
                    "done"
                } else if Some(s.id.as_str()) == view.current_stage.as_deref() {
                    "current"
                } else {
                    ""
                };
                say!("  {:<20} {closed}/{}  {mark}", s.id.as_str(), tasks.len());
            }
            print_findings(&view.file.findings);
            say!("\nTasks:");
            let now = app.now();
            let rows = view
                .file
                .tasks
                .iter()
                .map(|t| {
                    vec![
                        t.stage.to_string(),
                        t.id.to_string(),
                        status_label(t, now),
                        t.owner_label.clone(),
                        t.due_at.map(|d| local(d, &tz)).unwrap_or_default(),
                        t.title.clone(),
                    ]
                })
                .collect::<Vec<_>>();
            table(&["STAGE", "TASK", "STATUS", "OWNER", "DUE", "TITLE"], &rows);
            if !view.children.is_empty() {
                say!("\nChild cases:");
                for ch in &view.children {
                    say!(
                        "  {} {} {} {}/{}",
                        ch.number,
                        ch.subject_key,
                        ch.status,
                        ch.tasks_closed,
                        ch.tasks_total
                    );
                }
            }
            if !view.revocations.is_empty() {
                say!("\nAccess to revoke:");
                let rows = view
                    .revocations
                    .iter()
                    .zip(&view.exposures)
                    .map(|(r, exposure)| {
                        vec![
                            r.record_number.to_string(),
                            r.label.clone(),
                            r.status.as_str().to_owned(),
                            exposure.map(|e| e.to_string()).unwrap_or_default(),
                            r.note.clone().unwrap_or_default(),
                        ]
                    })
                    .collect::<Vec<_>>();
                table(&["RECORD", "ACCESS", "STATUS", "EXPOSURE", "NOTE"], &rows);
                say!(
                    "The exit takes effect for access at {}; exposure window: {}.",
                    local(view.access_ends_at, &tz),
                    view.exposure
                );
            }
            for hold in &view.holds {
                say!(
                    "\nLegal hold {} ({}): purge is paused. {}",
                    hold.id,
                    if hold.subject_id.is_some() {
                        "this subject"
                    } else {
                        "whole tenant"
                    },
                    hold.reason
                );
            }
            if let Some(export) = view.exports.first() {
                let delivered = match (&export.acknowledged, &export.acknowledgement_waived) {
                    (Some(a), _) => format!("; acknowledged by {} at {}", a.name, a.at),
                    (None, Some(w)) => format!("; acknowledgement waived: {}", w.reason),
                    (None, None) => String::new(),
                };
                say!(
                    "\nExport: {}{}{delivered}",
                    export.status.as_str(),
                    export
                        .failure
                        .as_deref()
                        .map(|f| format!(" ({f})"))
                        .unwrap_or_default()
                );
            }
            if view.certificate.is_some() {
                say!("Certificate: signed (exeunt case certificate {})", c.number);
            }
            if let Some(purge) = &view.purge {
                say!("Purge: {purge}");
            }
            if let Some(policy) = &view.retention {
                let from = view
                    .purge_from
                    .map_or_else(String::new, |d| format!("; purge from {d}"));
                say!("\nRetention: {} after completion{from}", policy.period);
            }
            if !view.evidence.is_empty() {
                say!("\nEvidence:");
                for e in &view.evidence {
                    say!(
                        "  {} {} {} ({} bytes, sha256 {})",
                        e.id,
                        e.task_id,
                        e.file_name,
                        e.size,
                        to_hex(&e.sha256)
                    );
                }
            }
        }
        CaseCmd::Precheck { number } => {
            let file = app.precheck(actor, number.0).await?;
            say!("Precheck of case {} done.", number.0);
            print_findings(&file.findings);
        }
        CaseCmd::Waive {
            number,
            check,
            reason,
        } => {
            app.waive_finding(actor, number.0, check, reason).await?;
            say!("Waived `{check}` on case {}.", number.0);
        }
        CaseCmd::Close { number, confirm } => {
            app.close_case(actor, number.0, confirm).await?;
            say!(
                "Case {0} is done (completed). The subject is fully offboarded; its signed \
                 certificate: exeunt case certificate {0}",
                number.0
            );
        }
        CaseCmd::Cancel { number, reason } => {
            app.cancel_case(actor, number.0, reason).await?;
            say!(
                "Case {} is done (cancelled). Its tasks and history are kept.",
                number.0
            );
        }
        CaseCmd::Evidence { number, id, output } => {
            match app.evidence_file(actor, number.0, EvidenceId(*id)).await? {
                EvidenceContent::Sealed(download) => save(*download, output.as_deref()).await?,
                EvidenceContent::Unsealed { content, .. } => {
                    write_out(output.as_deref(), &content)?;
                }
            }
        }
        CaseCmd::Certificate { number, output } => {
            let certificate = app.certificate(actor, number.0).await?;
            write_out(
                output.as_deref(),
                format!("{}\n", certificate.token).as_bytes(),
            )?;
        }
        CaseCmd::Revoke {
            number,
            record,
            status,
            note,
        } => {
            let note = note
                .as_deref()
                .map(RevocationNote::parse_optional)
                .transpose()
                .map_err(|e| anyhow!("--note {e}"))?
                .flatten();
            let item = app
                .set_revocation(actor, number.0, *record, *status, note)
                .await?;
            say!(
                "{} (record {record}) of case {} is {}.",
                item.label,
                number.0,
                item.status.as_str()
            );
        }
        CaseCmd::Handoff { number, record, to } => {
            let item = app.hand_off(actor, number.0, *record, to).await?;
            say!(
                "Work item {record} `{}` of case {} now belongs to {to}.",
                item.label(),
                number.0
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A case's status as people read it: `in_progress`, or `done (completed)`.
fn case_status(status: CaseStatus, resolution: Option<engine::case::Resolution>) -> String {
    match resolution {
        Some(r) => format!("done ({})", r.as_str()),
        None => status.to_string(),
    }
}

/// A task's status, marked OVERDUE when it is open past its due time.
fn status_label(task: &engine::case::Task, now: jiff::Timestamp) -> String {
    let overdue = task.is_overdue(now);
    format!(
        "{}{}",
        task.status.as_str(),
        if overdue { " OVERDUE" } else { "" }
    )
}

fn print_findings(findings: &[engine::case::CaseFinding]) {
    if findings.is_empty() {
        return;
    }
    say!("\nBlockers and warnings:");
    for f in findings {
        let status = match f.status {
            FindingStatus::Open => "open".to_owned(),
            FindingStatus::Resolved => "resolved".to_owned(),
            FindingStatus::Waived => format!("waived: {}", f.waive_reason.as_deref().unwrap_or("")),
        };
        say!(
            "  {:<8} {} (stage {}) [{status}]: {}",
            f.finding.severity.as_str().to_uppercase(),
            f.finding.check_id,
            f.finding.stage,
            f.finding.message
        );
    }
}

pub(super) async fn task(app: &App, actor: &Actor, cmd: &TaskCmd) -> anyhow::Result<ExitCode> {
    match cmd {
        TaskCmd::List {
            case,
            all,
            json: flag,
        } => {
            let rows = match case {
                Some(n) => {
                    let view = app.case(actor, n.0).await?;
                    app.tasks(
                        actor,
                        TaskFilter {
                            case: Some(view.file.case.id),
                            open_only: !all,
                            limit: 10_000,
                            ..TaskFilter::default()
                        },
                    )
                    .await?
                }
                None => app.my_tasks(actor, 1000).await?,
            };
            let now = app.now();
            // Due times as whoever asks reads them: in their own time zone.
            let tz = actor.user.time_zone.zone();
            let header = ["CASE", "SUBJECT", "TASK", "STATUS", "OWNER", "DUE"];
            listing(flag.json, &rows, &header, |r| {
                let t = &r.task;
                vec![
                    r.case_number.to_string(),
                    r.subject_key.to_string(),
                    t.id.to_string(),
                    status_label(t, now),
                    t.owner_label.clone(),
                    t.due_at.map(|d| local(d, &tz)).unwrap_or_default(),
                ]
            })?;
        }
        TaskCmd::Complete {
            number,
            task,
            note,
            evidence,
        } => {
            let uploads = evidence
                .iter()
                .map(|path| read_upload(path, "evidence file"))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let done = app
                .complete_task(actor, number.0, task, note.clone(), uploads)
                .await?;
            say!("Completed `{}` of case {}.", done.id, number.0);
            let view = app.case(actor, number.0).await?;
            if view.file.case.status == CaseStatus::Review {
                say!(
                    "Every task is closed: close the case with `exeunt case close {} --confirm {}`.",
                    number.0,
                    view.file.case.confirmation_word
                );
            }
        }
        TaskCmd::Assign {
            number,
            task,
            assignee,
            ..
        } => {
            app.assign_task(actor, number.0, task, assignee.as_ref())
                .await?;
            match assignee {
                Some(a) => say!("Assigned `{task}` of case {} to {a}.", number.0),
                None => say!("Unassigned `{task}` of case {}.", number.0),
            }
        }
        TaskCmd::Waive {
            number,
            task,
            reason,
        } => {
            app.waive_task(actor, number.0, task, reason).await?;
            say!("Waived `{task}` of case {}.", number.0);
        }
    }
    Ok(ExitCode::SUCCESS)
}
