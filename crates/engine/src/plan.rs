//! The dry run of a blueprint for one subject: which tasks, in which stage, owned by whom, due when.

use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};

use crate::blueprint::{Blueprint, Owner, Severity, TaskKind};
use crate::condition::{EvalError, SubjectView};
use crate::ids::Slug;
use crate::subject::Attributes;

/// One task the case would get.
#[derive(Clone, Debug, Serialize)]
pub struct PlannedTask {
    pub id: Slug,
    pub stage: Slug,
    pub title: String,
    pub description: String,
    pub kind: TaskKind,
    pub action: Option<String>,
    pub checklist: Vec<String>,
    pub owner: Owner,
    /// The owner as a person reads it: `team it`, or the email behind a role.
    pub owner_label: String,
    pub depends_on: Vec<Slug>,
    pub due_at: Option<Timestamp>,
    pub evidence_required: bool,
}

/// A task the blueprint has that this subject does not get, and why.
#[derive(Clone, Debug, Serialize)]
pub struct SkippedTask {
    pub id: Slug,
    pub stage: Slug,
    pub when: String,
}

/// A check that fires for this subject.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub check_id: Slug,
    pub stage: Slug,
    pub severity: Severity,
    pub message: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StagePlan {
    pub id: Slug,
    pub title: String,
    pub after: Vec<Slug>,
    /// Reaching this stage freezes the subject's records (cases started before stages could
    /// freeze have none).
    #[serde(default)]
    pub freeze: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct Plan {
    pub blueprint_id: Slug,
    pub blueprint_version: u32,
    pub exit_date: Date,
    pub time_zone: String,
    pub stages: Vec<StagePlan>,
    pub tasks: Vec<PlannedTask>,
    pub skipped: Vec<SkippedTask>,
    pub findings: Vec<Finding>,
}

/// A condition failed while planning.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("blueprint {blueprint}: {place}: {error}")]
pub struct PlanError {
    pub blueprint: String,
    pub place: String,
    pub error: EvalError,
}

/// Who the case owner is, as shown when a role has no person behind it.
pub struct PlanInput<'a> {
    pub blueprint: &'a Blueprint,
    pub view: &'a SubjectView,
    pub attributes: &'a Attributes,
    pub exit_date: Date,
    pub case_owner_label: &'a str,
}

pub fn plan(input: &PlanInput<'_>) -> Result<Plan, PlanError> {
    let bp = input.blueprint;
    let tz: TimeZone = input.attributes.time_zone();
    let fail = |place: String, error| PlanError {
        blueprint: bp.id.to_string(),
        place,
        error,
    };
    let mut tasks = Vec::new();
    let mut skipped = Vec::new();
    for (stage, def) in bp.tasks() {
        if let Some(when) = &def.when {
            let included = when
                .evaluate(input.view)
                .map_err(|e| fail(format!("`when` of task `{}`", def.id), e))?;
            if !included {
                skipped.push(SkippedTask {
                    id: def.id.clone(),
                    stage: stage.id.clone(),
                    when: when.source().to_owned(),
                });
                continue;
            }
        }
        let owner_label = match &def.owner {
            Owner::Team(t) => format!("team {t}"),
            Owner::Role(role) => role
                .attribute()
                .and_then(|a| input.attributes.get(a))
                .map(str::to_owned)
                .unwrap_or_else(|| input.case_owner_label.to_owned()),
        };
        tasks.push(PlannedTask {
            id: def.id.clone(),
            stage: stage.id.clone(),
            title: def.title.clone(),
            description: def.description.clone(),
            kind: def.kind,
            action: def.action.clone(),
            checklist: def.checklist.clone(),
            owner: def.owner.clone(),
            owner_label,
            depends_on: def.depends_on.clone(),
            due_at: def.due.map(|d| d.due_at(input.exit_date, &tz)),
            evidence_required: def.evidence_required,
        });
    }
    // A dependency on a task this subject does not get is already satisfied.
    let kept: Vec<Slug> = tasks.iter().map(|t| t.id.clone()).collect();
    for t in &mut tasks {
        t.depends_on.retain(|d| kept.contains(d));
    }
    Ok(Plan {
        blueprint_id: bp.id.clone(),
        blueprint_version: bp.version,
        exit_date: input.exit_date,
        time_zone: tz.iana_name().unwrap_or("UTC").to_owned(),
        stages: bp
            .stages
            .iter()
            .map(|s| StagePlan {
                id: s.id.clone(),
                title: s.title.clone(),
                after: s.after.clone(),
                freeze: s.freeze,
            })
            .collect(),
        tasks,
        skipped,
        findings: evaluate_checks(bp, input.view)?,
    })
}

/// Runs the blueprint's checks against the subject as it is now.
pub fn evaluate_checks(bp: &Blueprint, view: &SubjectView) -> Result<Vec<Finding>, PlanError> {
    let mut findings = Vec::new();
    for check in &bp.checks {
        let fires = check.condition.evaluate(view).map_err(|error| PlanError {
            blueprint: bp.id.to_string(),
            place: format!("check `{}`", check.id),
            error,
        })?;
        if fires {
            findings.push(Finding {
                check_id: check.id.clone(),
                stage: check.stage.clone(),
                severity: check.severity,
                message: check.message.clone(),
            });
        }
    }
    Ok(findings)
}
