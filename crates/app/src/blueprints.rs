//! Which blueprints a tenant has, adding new versions, and the dry run.

use engine::blueprint::{BUILTIN, Blueprint, LintContext, parse};
use engine::condition::SubjectView as ConditionView;
use engine::ids::{Email, Slug, SubjectKey};
use engine::plan::{Plan, PlanInput, plan};
use engine::tenant::Permission;
use jiff::civil::Date;
use std::collections::HashMap;
use std::sync::Mutex;

use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use store::{StoredBlueprint, Tx};

use crate::directory::{load_subject, user_who_acts};
use crate::{Actor, App, AppError, Result};

/// A blueprint named by id (the tenant's latest version, else the built-in), or given as text.
#[derive(Clone, Debug)]
pub enum BlueprintChoice {
    Id(Slug),
    Source { name: String, text: String },
}

/// A line of the blueprint listing.
#[derive(Clone, Debug, Serialize)]
pub struct BlueprintInfo {
    pub id: String,
    pub version: u32,
    pub title: String,
    pub scope: String,
    pub applies_when: Option<String>,
    pub origin: &'static str,
}

impl App {
    /// The tenant's team slugs, which lint checks owners against.
    pub(crate) async fn team_slugs(&self, tx: &mut Tx, actor: &Actor) -> Result<Vec<String>> {
        Ok(tx
            .teams(actor.tenant.id)
            .await?
            .into_iter()
            .map(|t| t.slug.to_string())
            .collect())
    }

    /// Every blueprint the tenant can use: its stored ones and the built-ins it has not replaced.
    pub async fn blueprints(
        &self,
        actor: &Actor,
    ) -> Result<Vec<(BlueprintInfo, Blueprint, String)>> {
        let mut tx = self.store.read().await?;
        self.available(&mut tx, actor).await
    }

    pub(crate) async fn available(
        &self,
        tx: &mut Tx,
        actor: &Actor,
    ) -> Result<Vec<(BlueprintInfo, Blueprint, String)>> {
        let teams = self.team_slugs(tx, actor).await?;
        let stored = tx.blueprints(actor.tenant.id).await?;
        let mut out = Vec::new();
        for (id, source) in BUILTIN {
            // A stored version of a built-in is the pinned copy or a newer one; the newest wins.
            let newest = stored.iter().find(|s| s.id.as_str() == *id);
            let text = newest.map_or_else(|| (*source).to_owned(), |s| s.source.clone());
            let bp = self.parse_named(id, &text, &teams)?;
            // A stored copy identical to the shipped text is still the built-in.
            let origin = if text == *source {
                "built-in"
            } else {
                "tenant"
            };
            out.push((info(&bp, origin), bp, text));
        }
        for s in stored
            .iter()
            .filter(|s| !BUILTIN.iter().any(|(id, _)| *id == s.id.as_str()))
        {
            let bp = self.parse_named(s.id.as_str(), &s.source, &teams)?;
            out.push((info(&bp, "tenant"), bp, s.source.clone()));
        }
        Ok(out)
    }

    /// Lints blueprint text against the tenant's teams.
    pub async fn lint(
        &self,
        actor: &Actor,
        text: &str,
    ) -> Result<Blueprint, Vec<engine::blueprint::Diagnostic>> {
        let teams = match self.store.read().await {
            Ok(mut tx) => self.team_slugs(&mut tx, actor).await.unwrap_or_default(),
            Err(_) => Vec::new(),
        };
        parse(text, &LintContext { teams: &teams })
    }

    /// Stores a new version of a blueprint after lint. The version must be higher than any the
    /// tenant (or the built-in of the same id) has.
    pub async fn add_blueprint(
        &self,
        actor: &Actor,
        name: &str,
        text: &str,
    ) -> Result<BlueprintInfo> {
        actor.require(Permission::ManageBlueprints)?;
        let at = self.now();
        let mut tx = self.store.write().await?;
        let teams = self.team_slugs(&mut tx, actor).await?;
        let bp = self.parse_named(name, text, &teams)?;
        let latest = self
            .available(&mut tx, actor)
            .await?
            .into_iter()
            .find(|(i, _, _)| i.id == bp.id.as_str());
        if let Some((info, _, _)) = latest
            && info.version >= bp.version
        {
            return Err(AppError::Conflict(format!(
                "blueprint {} is already at version {}; give the new one a higher version",
                bp.id, info.version
            )));
        }
        store_version(self, &mut tx, actor, &bp, text, at).await?;
        tx.commit().await?;
        Ok(info(&bp, "tenant"))
    }

    /// Finds a blueprint by id or parses the given text.
    pub(crate) async fn resolve(
        &self,
        tx: &mut Tx,
        actor: &Actor,
        choice: &BlueprintChoice,
    ) -> Result<(Blueprint, String)> {
        match choice {
            BlueprintChoice::Id(id) => self
                .available(tx, actor)
                .await?
                .into_iter()
                .find(|(i, _, _)| i.id == id.as_str())
                .map(|(_, bp, text)| (bp, text))
                .ok_or_else(|| {
                    AppError::NotFound(format!(
                        "no blueprint `{id}`; `exeunt blueprint list` shows them"
                    ))
                }),
            BlueprintChoice::Source { name, text } => {
                let teams = self.team_slugs(tx, actor).await?;
                Ok((self.parse_named(name, text, &teams)?, text.clone()))
            }
        }
    }

    /// The dry run: the tasks a case for this subject would get, with `owner` (the actor when
    /// not given) as its owner.
    pub async fn plan(
        &self,
        actor: &Actor,
        choice: &BlueprintChoice,
        subject: &SubjectKey,
        exit_date: Date,
        owner: Option<&Email>,
    ) -> Result<Plan> {
        let mut tx = self.store.read().await?;
        // The tasks of the case's owner go to the owner the case would start with.
        let owner = match owner {
            Some(email) => user_who_acts(&mut tx, actor, "owner", email).await?,
            None => actor.user.clone(),
        };
        let (bp, _) = self.resolve(&mut tx, actor, choice).await?;
        let view = load_subject(&mut tx, actor, subject).await?;
        if view.subject.kind != bp.scope {
            return Err(AppError::invalid(
                "subject",
                format!(
                    "`{subject}` is a {}, but blueprint {} is for a {}",
                    view.subject.kind, bp.id, bp.scope
                ),
            ));
        }
        let cond = ConditionView::new(
            &view.subject,
            &view.records,
            view.parent.as_ref(),
            &bp.attributes,
        );
        Ok(plan(&PlanInput {
            blueprint: &bp,
            view: &cond,
            attributes: &view.subject.attributes,
            exit_date,
            case_owner_label: owner.email.as_str(),
        })?)
    }
}

/// Blueprints parsed before, by what parsing them depends on: their text and the tenant's
/// teams. Starting a case reads every blueprint the tenant can use, and parsing them (the
/// YAML, then compiling each condition) took most of the start's CPU; a version's text never
/// changes, so each is parsed once. Kept for the few dozen texts in use; when more come, the
/// cache starts again (a parse costs a millisecond, not a correctness question).
#[derive(Default)]
pub(crate) struct ParsedBlueprints(Mutex<HashMap<(String, String), Blueprint>>);

/// How many parsed blueprints [`ParsedBlueprints`] keeps.
const PARSED_BLUEPRINTS_KEPT: usize = 64;

impl App {
    /// `text` parsed and linted against the tenant's `teams`; refused with `name` in the
    /// diagnostics when it does not lint.
    pub(crate) fn parse_named(
        &self,
        name: &str,
        text: &str,
        teams: &[String],
    ) -> Result<Blueprint> {
        let key = (text.to_owned(), teams.join(","));
        let cache = &self.parsed_blueprints.0;
        if let Some(bp) = cache.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
            return Ok(bp.clone());
        }
        let bp =
            parse(text, &LintContext { teams }).map_err(|diagnostics| AppError::Blueprint {
                name: name.to_owned(),
                diagnostics,
            })?;
        let mut kept = cache.lock().unwrap_or_else(|e| e.into_inner());
        if kept.len() >= PARSED_BLUEPRINTS_KEPT {
            kept.clear();
        }
        kept.insert(key, bp.clone());
        Ok(bp)
    }
}

fn info(bp: &Blueprint, origin: &'static str) -> BlueprintInfo {
    BlueprintInfo {
        id: bp.id.to_string(),
        version: bp.version,
        title: bp.title.clone(),
        scope: bp.scope.to_string(),
        applies_when: bp.applies_when.as_ref().map(|c| c.source().to_owned()),
        origin,
    }
}

/// Stores the exact text of a blueprint version, once. A case pins the version it started
/// with by referencing this row.
pub(crate) async fn store_version(
    app: &App,
    tx: &mut Tx,
    actor: &Actor,
    bp: &Blueprint,
    text: &str,
    at: jiff::Timestamp,
) -> Result<()> {
    let digest: [u8; 32] = Sha256::digest(text.as_bytes()).into();
    let version = StoredBlueprint {
        id: bp.id.clone(),
        version: bp.version,
        source: text.to_owned(),
        digest,
    };
    // Inserted first and compared after: two case starts storing the same built-in version at
    // once both succeed, the second finding the first's row.
    if !tx.insert_blueprint(actor.tenant.id, &version, at).await? {
        let existing = tx
            .blueprint(actor.tenant.id, &bp.id, Some(bp.version))
            .await?
            .ok_or_else(|| {
                AppError::Conflict(format!(
                    "blueprint {} version {} went missing",
                    bp.id, bp.version
                ))
            })?;
        if existing.digest == digest {
            return Ok(());
        }
        return Err(AppError::Conflict(format!(
            "blueprint {} version {} is stored with different content; give the changed one a higher version",
            bp.id, bp.version
        )));
    }
    app.audit(tx, actor, at, "blueprint.stored", ("blueprint", format!("{}@{}", bp.id, bp.version)),
        json!({"summary": format!("stored blueprint {} version {}", bp.id, bp.version), "sha256": engine::audit::to_hex(&digest)})).await
}
