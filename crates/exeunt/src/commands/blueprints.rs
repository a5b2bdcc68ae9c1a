//! `exeunt blueprint`: lint (without a store), list, show, plan and add.

use std::process::ExitCode;

use anyhow::{Context, anyhow};
use app::{Actor, App, BlueprintChoice, Ids, MasterKey};
use engine::blueprint::{LintContext, parse};
use engine::ids::Slug;
use engine::teams::default_team_slugs;

use super::shared::{blueprint_error, choice, location, open_store, team_slugs};
use crate::cli::{BlueprintCmd, Cli};
use crate::output::{json, listing, local, say, table};

pub(super) async fn lint(cli: &Cli, files: &[std::path::PathBuf]) -> anyhow::Result<ExitCode> {
    let teams = tenant_teams(cli).await.unwrap_or_else(default_team_slugs);
    let mut clean = true;
    for file in files {
        let text = std::fs::read_to_string(file)
            .with_context(|| format!("cannot read {}", file.display()))?;
        match parse(&text, &LintContext { teams: &teams }) {
            Ok(_) => say!("{}: ok", file.display()),
            Err(diagnostics) => {
                clean = false;
                for d in diagnostics {
                    say!(
                        "{}:{}:{}: error: {}",
                        file.display(),
                        d.line,
                        d.column,
                        d.message
                    );
                }
            }
        }
    }
    Ok(if clean {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Lint reads teams and never opens a sealed secret: it gets a throwaway key rather than
/// making a key file as a side effect.
fn lint_only_key() -> MasterKey {
    MasterKey::from_bytes(Ids::from_entropy().secret())
}

/// The acting tenant's teams when a database is there; lint then checks owners against them.
async fn tenant_teams(cli: &Cli) -> Option<Vec<String>> {
    let store = open_store(cli, &location(cli), false).await.ok()?;
    let app = App::system(store, lint_only_key());
    let actor = app
        .actor(cli.tenant.as_ref(), cli.actor.as_ref())
        .await
        .ok()?;
    team_slugs(&app, &actor).await.ok()
}

pub(super) async fn blueprint(
    app: &App,
    actor: &Actor,
    cmd: &BlueprintCmd,
) -> anyhow::Result<ExitCode> {
    match cmd {
        BlueprintCmd::Lint { .. } => unreachable!("lint runs without a store"),
        BlueprintCmd::List(flag) => {
            let all = app.blueprints(actor).await?;
            let infos: Vec<_> = all.into_iter().map(|(info, _, _)| info).collect();
            listing(
                flag.json,
                &infos,
                &["ID", "VERSION", "SCOPE", "ORIGIN", "TITLE"],
                |i| {
                    vec![
                        i.id.clone(),
                        i.version.to_string(),
                        i.scope.clone(),
                        i.origin.to_owned(),
                        i.title.clone(),
                    ]
                },
            )?;
        }
        BlueprintCmd::Show {
            blueprint,
            json: flag,
        } => {
            let all = app.blueprints(actor).await?;
            let text = match choice(blueprint)? {
                BlueprintChoice::Source { text, .. } => text,
                BlueprintChoice::Id(id) => all
                    .iter()
                    .find(|(i, _, _)| i.id == id.as_str())
                    .map(|(_, _, t)| t.clone())
                    .ok_or_else(|| {
                        anyhow!("no blueprint `{id}`; `exeunt blueprint list` shows them")
                    })?,
            };
            let teams = team_slugs(app, actor).await?;
            let bp = parse(&text, &LintContext { teams: &teams }).map_err(|d| {
                anyhow!(
                    "{blueprint} has {} problem(s); run `exeunt blueprint lint` on it",
                    d.len()
                )
            })?;
            if flag.json {
                say!(
                    "{}",
                    serde_json::to_string_pretty(
                        &serde_json::json!({"id": bp.id, "version": bp.version, "source": text})
                    )?
                );
                return Ok(ExitCode::SUCCESS);
            }
            say!(
                "{} v{} — {} (scope: {})",
                bp.id,
                bp.version,
                bp.title,
                bp.scope
            );
            if let Some(c) = &bp.applies_when {
                say!("Applies when: {}", c.source());
            }
            say!("Close by typing: {}", bp.confirmation_word);
            for stage in &bp.stages {
                say!(
                    "\n{} — {}{}",
                    stage.id,
                    stage.title,
                    if stage.after.is_empty() {
                        String::new()
                    } else {
                        format!(
                            " (after {})",
                            stage
                                .after
                                .iter()
                                .map(Slug::as_str)
                                .collect::<Vec<_>>()
                                .join(", ")
                        )
                    }
                );
                for t in &stage.tasks {
                    let due = t.due.map(|d| format!(" due {d}")).unwrap_or_default();
                    let when = t
                        .when
                        .as_ref()
                        .map(|c| format!(" when {}", c.source()))
                        .unwrap_or_default();
                    say!(
                        "  - {} [{}] {} — {}{due}{when}",
                        t.id,
                        t.kind.as_str(),
                        t.title,
                        t.owner
                    );
                }
            }
            if !bp.checks.is_empty() {
                say!("\nChecks:");
                for c in &bp.checks {
                    say!(
                        "  - {} ({}, gates {}): {}",
                        c.id,
                        c.severity.as_str(),
                        c.stage,
                        c.condition.source()
                    );
                }
            }
        }
        BlueprintCmd::Plan {
            blueprint,
            subject,
            exit_date,
            owner,
            json: flag,
        } => {
            let plan = app
                .plan(
                    actor,
                    &choice(blueprint)?,
                    subject,
                    *exit_date,
                    owner.as_ref(),
                )
                .await?;
            if flag.json {
                json(&plan)?;
                return Ok(ExitCode::SUCCESS);
            }
            let tz = jiff::tz::TimeZone::get(&plan.time_zone).unwrap_or(jiff::tz::TimeZone::UTC);
            say!(
                "Plan for {subject} with {}@{}, exit date {} ({}):",
                plan.blueprint_id,
                plan.blueprint_version,
                plan.exit_date,
                plan.time_zone
            );
            let rows = plan
                .tasks
                .iter()
                .map(|t| {
                    vec![
                        t.stage.to_string(),
                        t.id.to_string(),
                        t.owner_label.clone(),
                        t.due_at.map(|d| local(d, &tz)).unwrap_or_default(),
                        t.title.clone(),
                    ]
                })
                .collect::<Vec<_>>();
            table(&["STAGE", "TASK", "OWNER", "DUE", "TITLE"], &rows);
            for s in &plan.skipped {
                say!("skipped {} ({}): when {}", s.id, s.stage, s.when);
            }
            for f in &plan.findings {
                say!(
                    "{} {}: {}",
                    f.severity.as_str().to_uppercase(),
                    f.check_id,
                    f.message
                );
            }
        }
        BlueprintCmd::Add { file } => {
            let text = std::fs::read_to_string(file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let info = app
                .add_blueprint(actor, &file.display().to_string(), &text)
                .await
                .map_err(blueprint_error)?;
            say!("Stored blueprint {} version {}.", info.id, info.version);
        }
    }
    Ok(ExitCode::SUCCESS)
}
