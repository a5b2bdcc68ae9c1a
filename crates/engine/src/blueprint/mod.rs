//! Blueprints: versioned, human-readable definitions of one kind of offboarding.
//!
//! A blueprint is YAML a person reviews in git. [`parse`] turns the text into a [`Blueprint`]
//! or into every [`Diagnostic`] it finds, each with its line and column, so that
//! `exeunt blueprint lint` can show all problems at once.

mod builtin;
mod parse;

use std::fmt;

use serde::Serialize;

use crate::condition::Condition;
use crate::due::DueOffset;
use crate::ids::Slug;
use crate::subject::SubjectKind;

pub use builtin::{BUILTIN, builtin_source};
pub use parse::{LintContext, parse};

/// The check id of the built-in warning that a legal hold stands over the subject.
pub const LEGAL_HOLD_CHECK: &str = "legal-hold";

/// The check id of the built-in warning that tasks are overdue.
pub const OVERDUE_CHECK: &str = "overdue-tasks";

/// The check id of the built-in blocker that the newest export failed.
pub const EXPORT_FAILED_CHECK: &str = "export-failed";

/// The checks Exeunt runs itself at every precheck, whose ids blueprints may not use, with
/// what each warns about.
pub const BUILTIN_CHECKS: &[(&str, &str)] = &[
    (LEGAL_HOLD_CHECK, "the warning that a legal hold stands"),
    (OVERDUE_CHECK, "the warning that tasks are overdue"),
    (
        EXPORT_FAILED_CHECK,
        "the blocker that the newest export failed",
    ),
];

/// The word the approver types to close a case when a blueprint names none.
pub const DEFAULT_CONFIRMATION_WORD: &str = "TERMINATE";

/// One kind of offboarding.
#[derive(Clone, Debug)]
pub struct Blueprint {
    pub id: Slug,
    pub version: u32,
    pub title: String,
    pub description: String,
    pub scope: SubjectKind,
    /// When this blueprint applies to a subject of its scope; always when absent.
    pub applies_when: Option<Condition>,
    pub confirmation_word: String,
    /// Custom attribute names conditions may use besides the standard ones.
    pub attributes: Vec<String>,
    /// An organization case opens one child case per active subject of this kind.
    pub fan_out: Option<SubjectKind>,
    pub stages: Vec<Stage>,
    pub checks: Vec<Check>,
}

impl Blueprint {
    pub fn tasks(&self) -> impl Iterator<Item = (&Stage, &TaskDef)> {
        self.stages
            .iter()
            .flat_map(|s| s.tasks.iter().map(move |t| (s, t)))
    }
}

/// A step of the staged pipeline. Its tasks open once the stages it comes `after` are closed.
#[derive(Clone, Debug)]
pub struct Stage {
    pub id: Slug,
    pub title: String,
    /// The stages that must be finished first: the previous stage unless written otherwise.
    pub after: Vec<Slug>,
    /// From this stage on, the subject's records are read-only except for the offboarding's
    /// own steps.
    pub freeze: bool,
    pub tasks: Vec<TaskDef>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskKind {
    Manual,
    Checklist,
    Form,
    Approval,
    Action,
}

impl TaskKind {
    pub const NAMES: &[&str] = &["manual", "checklist", "form", "approval", "action"];

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "manual" => TaskKind::Manual,
            "checklist" => TaskKind::Checklist,
            "form" => TaskKind::Form,
            "approval" => TaskKind::Approval,
            "action" => TaskKind::Action,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            TaskKind::Manual => "manual",
            TaskKind::Checklist => "checklist",
            TaskKind::Form => "form",
            TaskKind::Approval => "approval",
            TaskKind::Action => "action",
        }
    }
}

/// Automated actions an `action` task performs once automation runs them; until then a person
/// completes them by hand with evidence.
pub const ACTIONS: &[&str] = &[
    "freeze-records",
    "build-export",
    "deliver-export",
    "revoke-access",
    "hand-off-work",
    "schedule-purge",
    "notify-client",
];

/// Who owns a task: a team, or a person found from the case or the subject.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Owner {
    Team(Slug),
    Role(OwnerRole),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OwnerRole {
    /// The person who owns the case.
    CaseOwner,
    /// The subject's `manager` attribute.
    LineManager,
    /// The subject's `account_manager` attribute.
    AccountManager,
}

impl OwnerRole {
    pub const NAMES: &[&str] = &["case_owner", "line_manager", "account_manager"];

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "case_owner" => OwnerRole::CaseOwner,
            "line_manager" => OwnerRole::LineManager,
            "account_manager" => OwnerRole::AccountManager,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            OwnerRole::CaseOwner => "case_owner",
            OwnerRole::LineManager => "line_manager",
            OwnerRole::AccountManager => "account_manager",
        }
    }

    /// The subject attribute that names this person, if any.
    pub fn attribute(self) -> Option<&'static str> {
        match self {
            OwnerRole::CaseOwner => None,
            OwnerRole::LineManager => Some("manager"),
            OwnerRole::AccountManager => Some("account_manager"),
        }
    }
}

impl Owner {
    /// The compact form stored with a task: `team:it`, `role:line_manager`.
    pub fn encode(&self) -> String {
        match self {
            Owner::Team(t) => format!("team:{t}"),
            Owner::Role(r) => format!("role:{}", r.as_str()),
        }
    }

    pub fn decode(s: &str) -> Option<Self> {
        match s.split_once(':')? {
            ("team", t) => Slug::parse(t).ok().map(Owner::Team),
            ("role", r) => OwnerRole::parse(r).map(Owner::Role),
            _ => None,
        }
    }
}

impl fmt::Display for Owner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Owner::Team(t) => write!(f, "team {t}"),
            Owner::Role(r) => f.write_str(r.as_str()),
        }
    }
}

/// A task as a blueprint defines it.
#[derive(Clone, Debug)]
pub struct TaskDef {
    pub id: Slug,
    pub title: String,
    pub description: String,
    pub owner: Owner,
    pub kind: TaskKind,
    pub action: Option<String>,
    pub checklist: Vec<String>,
    pub depends_on: Vec<Slug>,
    pub due: Option<DueOffset>,
    /// The task exists only for subjects where this holds.
    pub when: Option<Condition>,
    pub evidence_required: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Stops its stage until resolved or waived with a reason.
    Blocker,
    Warning,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Blocker => "blocker",
            Severity::Warning => "warning",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "blocker" => Some(Severity::Blocker),
            "warning" => Some(Severity::Warning),
            _ => None,
        }
    }
}

/// A precheck rule. It fires when its condition is true.
#[derive(Clone, Debug)]
pub struct Check {
    pub id: Slug,
    /// The stage it gates: no task of this stage or a later one can be completed while it fires.
    pub stage: Slug,
    pub severity: Severity,
    pub condition: Condition,
    pub message: String,
}

/// One problem found in a blueprint file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.line, self.column, self.message)
    }
}
