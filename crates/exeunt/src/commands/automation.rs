//! What runs without a person: `exeunt jobs`, `template`, `webhook` and `connector`.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, anyhow};
use app::{Actor, App};

use crate::output::{listing, say};

pub(super) async fn jobs(
    app: &App,
    actor: &Actor,
    cmd: &crate::cli::JobsCmd,
) -> anyhow::Result<ExitCode> {
    use crate::cli::JobsCmd;
    match cmd {
        JobsCmd::List {
            status,
            case,
            before,
            json,
        } => {
            let case = match case {
                Some(n) => Some(app.case(actor, n.0).await?.file.case.id),
                None => None,
            };
            let filter = store::JobFilter {
                status: status.map(|s| s.0),
                case,
                before: before.map(engine::ids::JobId),
                limit: 1000,
            };
            let jobs = app.jobs(actor, &filter).await?;
            listing(
                json.json,
                &jobs,
                &["ID", "KIND", "STATUS", "ATTEMPTS", "DUE", "LAST ERROR"],
                |j| {
                    vec![
                        j.id.to_string(),
                        j.kind.to_string(),
                        j.status.to_string(),
                        format!("{}/{}", j.attempts, j.max_attempts),
                        j.run_at.to_string(),
                        j.last_error.clone().unwrap_or_default(),
                    ]
                },
            )?;
        }
        JobsCmd::Retry { id } => {
            let job = app.retry_job(actor, engine::ids::JobId(*id)).await?;
            say!("Job {} ({}) is queued again.", job.id, job.kind);
        }
        JobsCmd::Run => unreachable!("handled before acting as a user"),
    }
    Ok(ExitCode::SUCCESS)
}

/// A `--settings` TOML file as JSON, and the secret from `--secret-file` (a file, or `-` for
/// standard input; one trailing newline dropped), empty without one.
fn settings_and_secret(
    settings: &Path,
    secret_file: Option<&Path>,
) -> anyhow::Result<(serde_json::Value, String)> {
    let shown = settings.display();
    let text = std::fs::read_to_string(settings)
        .with_context(|| format!("cannot read --settings {shown}"))?;
    let table: toml::Table = toml::from_str(&text)
        .map_err(|e| anyhow!("--settings {shown}: {}", e.to_string().replace('\n', " ")))?;
    let settings = serde_json::to_value(table).with_context(|| format!("--settings {shown}"))?;
    let secret = match secret_file {
        None => String::new(),
        Some(path) if path.as_os_str() == "-" => {
            let mut secret = String::new();
            std::io::stdin()
                .read_line(&mut secret)
                .context("cannot read the secret from standard input")?;
            secret
        }
        Some(path) => std::fs::read_to_string(path)
            .with_context(|| format!("cannot read --secret-file {}", path.display()))?,
    };
    Ok((settings, secret.trim_end_matches(['\r', '\n']).to_owned()))
}

pub(super) async fn template(
    app: &App,
    actor: &Actor,
    cmd: &crate::cli::TemplateCmd,
) -> anyhow::Result<ExitCode> {
    use crate::cli::TemplateCmd;
    match cmd {
        TemplateCmd::List { json } => {
            let templates = app.email_templates(actor).await?;
            listing(json.json, &templates, &["KIND", "OWN", "SUBJECT"], |t| {
                vec![
                    t.kind.to_owned(),
                    if t.custom { "yes" } else { "built-in" }.to_owned(),
                    t.subject.clone(),
                ]
            })?;
        }
        TemplateCmd::Set {
            kind,
            subject,
            body_file,
        } => {
            let body = std::fs::read_to_string(body_file)
                .with_context(|| format!("cannot read --body-file {}", body_file.display()))?;
            let template = app.set_email_template(actor, kind, subject, &body).await?;
            say!("{} emails use your wording now.", template.kind);
        }
        TemplateCmd::Reset { kind } => {
            app.reset_email_template(actor, kind).await?;
            say!("{kind} emails use the built-in wording again.");
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub(super) async fn webhook(
    app: &App,
    actor: &Actor,
    cmd: &crate::cli::WebhookCmd,
) -> anyhow::Result<ExitCode> {
    use crate::cli::WebhookCmd;
    match cmd {
        WebhookCmd::Set {
            name,
            settings,
            secret_file,
        } => {
            let (settings, secret) = settings_and_secret(settings, Some(secret_file))?;
            let subscription = app.set_subscription(actor, name, settings, &secret).await?;
            say!(
                "Webhook {} sends {} to {}, from the next audit event on.",
                subscription.name,
                subscription.settings.events.join(", "),
                subscription.settings.url
            );
        }
        WebhookCmd::List { json } => {
            let list = app.subscriptions(actor).await?;
            listing(
                json.json,
                &list,
                &["NAME", "URL", "EVENTS", "SENT THROUGH", "LAST ERROR"],
                |w| {
                    vec![
                        w.name.to_string(),
                        w.settings.url.clone(),
                        w.settings.events.join(","),
                        w.cursor_seq.to_string(),
                        w.last_error.clone().unwrap_or_default(),
                    ]
                },
            )?;
        }
        WebhookCmd::Remove { name } => {
            app.remove_subscription(actor, name).await?;
            say!("Removed webhook {name}.");
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub(super) async fn connector(
    app: &App,
    actor: &Actor,
    cmd: &crate::cli::ConnectorCmd,
) -> anyhow::Result<ExitCode> {
    use crate::cli::ConnectorCmd;
    match cmd {
        ConnectorCmd::Set {
            name,
            kind,
            settings,
            secret_file,
        } => {
            let (settings, secret) = settings_and_secret(settings, secret_file.as_deref())?;
            let connector = app
                .set_connector(actor, name, *kind, settings, &secret)
                .await?;
            say!(
                "Connector {} ({}) reaches {}; accounts of system `{}` are revoked through it.",
                connector.name,
                connector.kind,
                connector.settings.target(),
                connector.name
            );
        }
        ConnectorCmd::List { json } => {
            let connectors = app.connectors(actor).await?;
            listing(json.json, &connectors, &["NAME", "KIND", "TARGET"], |c| {
                vec![
                    c.name.to_string(),
                    c.kind.to_string(),
                    c.settings.target().to_owned(),
                ]
            })?;
        }
        ConnectorCmd::Remove { name } => {
            app.remove_connector(actor, name).await?;
            say!("Removed connector {name}.");
        }
    }
    Ok(ExitCode::SUCCESS)
}
