//! Cases and their tasks: the state machine every use case goes through.
//!
//! Functions here take the case as loaded and return it changed, or a [`CaseError`] that says
//! exactly what stands in the way. They never look at a clock or a database: the caller passes
//! the time and the actor, and writes the result.

use std::collections::BTreeSet;
use std::fmt;

use jiff::Timestamp;
use jiff::civil::Date;
use serde::Serialize;

use crate::act::Act;
use crate::blueprint::{EXPORT_FAILED_CHECK, OVERDUE_CHECK, Owner, Severity, TaskKind};
use crate::export::ExportStatus;
use crate::gate::Gate;
use crate::ids::{CaseId, Slug, SubjectId, TenantId, UserId};
use crate::plan::{Finding, StagePlan};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseStatus {
    /// Started; no task finished yet.
    Open,
    InProgress,
    /// Every task is done or waived; waiting for the approver to close it.
    Review,
    /// Final. Carries a resolution and never changes again.
    Done,
}

impl CaseStatus {
    pub const NAMES: &[&str] = &["open", "in_progress", "review", "done"];
    /// Every status but the final one.
    pub const RUNNING: [CaseStatus; 3] =
        [CaseStatus::Open, CaseStatus::InProgress, CaseStatus::Review];

    pub fn as_str(self) -> &'static str {
        match self {
            CaseStatus::Open => "open",
            CaseStatus::InProgress => "in_progress",
            CaseStatus::Review => "review",
            CaseStatus::Done => "done",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "open" => CaseStatus::Open,
            "in_progress" => CaseStatus::InProgress,
            "review" => CaseStatus::Review,
            "done" => CaseStatus::Done,
            _ => return None,
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Resolution {
    Completed,
    Cancelled,
}

impl Resolution {
    pub fn as_str(self) -> &'static str {
        match self {
            Resolution::Completed => "completed",
            Resolution::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "completed" => Some(Resolution::Completed),
            "cancelled" => Some(Resolution::Cancelled),
            _ => None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    Open,
    Done,
    Waived,
}

impl TaskStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TaskStatus::Open => "open",
            TaskStatus::Done => "done",
            TaskStatus::Waived => "waived",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "open" => Some(TaskStatus::Open),
            "done" => Some(TaskStatus::Done),
            "waived" => Some(TaskStatus::Waived),
            _ => None,
        }
    }

    pub fn is_closed(self) -> bool {
        self != TaskStatus::Open
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingStatus {
    Open,
    /// The check no longer fires.
    Resolved,
    /// Accepted by an authorized person, with a reason.
    Waived,
}

impl FindingStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            FindingStatus::Open => "open",
            FindingStatus::Resolved => "resolved",
            FindingStatus::Waived => "waived",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "open" => Some(FindingStatus::Open),
            "resolved" => Some(FindingStatus::Resolved),
            "waived" => Some(FindingStatus::Waived),
            _ => None,
        }
    }
}

/// One subject's offboarding run.
#[derive(Clone, Debug, Serialize)]
pub struct Case {
    pub tenant_id: TenantId,
    pub id: CaseId,
    /// Per-tenant number people use: case 12.
    pub number: i64,
    pub subject_id: SubjectId,
    pub blueprint_id: Slug,
    pub blueprint_version: u32,
    /// The organization case this one was fanned out from.
    pub parent_id: Option<CaseId>,
    pub owner_id: UserId,
    pub exit_date: Date,
    pub status: CaseStatus,
    pub resolution: Option<Resolution>,
    pub confirmation_word: String,
    pub stages: Vec<StagePlan>,
    pub opened_at: Timestamp,
    pub closed_at: Option<Timestamp>,
    pub closed_by: Option<UserId>,
    pub close_reason: Option<String>,
    /// When the case first reached a freezing stage; from then on its subject's records stay
    /// read-only until the case ends.
    pub frozen_at: Option<Timestamp>,
}

/// A task of a case.
#[derive(Clone, Debug, Serialize)]
pub struct Task {
    pub case_id: CaseId,
    pub id: Slug,
    pub stage: Slug,
    pub position: i64,
    pub title: String,
    pub description: String,
    pub kind: TaskKind,
    pub action: Option<String>,
    pub checklist: Vec<String>,
    pub owner: Owner,
    pub owner_label: String,
    pub assignee: Option<UserId>,
    pub depends_on: Vec<Slug>,
    pub due_at: Option<Timestamp>,
    pub evidence_required: bool,
    pub status: TaskStatus,
    pub closed_at: Option<Timestamp>,
    pub closed_by: Option<UserId>,
    pub note: Option<String>,
    pub waive_reason: Option<String>,
}

impl Task {
    /// Whether the task is still open past its due time: the one rule every page, command,
    /// reminder and precheck uses.
    pub fn is_overdue(&self, now: Timestamp) -> bool {
        self.status == TaskStatus::Open && self.due_at.is_some_and(|due| due < now)
    }

    /// The gate this task waits for beyond its stage, named by its action.
    pub fn gate(&self) -> Option<Gate> {
        self.action.as_deref().and_then(Gate::for_action)
    }
}

/// A check result kept on the case.
#[derive(Clone, Debug, Serialize)]
pub struct CaseFinding {
    pub case_id: CaseId,
    pub finding: Finding,
    pub status: FindingStatus,
    pub waived_by: Option<UserId>,
    pub waive_reason: Option<String>,
}

/// Everything that stands in a use case's way, said so a person knows what to do next.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CaseError {
    #[error("case {number} is done ({resolution}) and cannot change any more")]
    Final {
        number: i64,
        resolution: &'static str,
    },
    #[error("case {number} has no task `{task}`")]
    NoSuchTask { number: i64, task: String },
    #[error("task `{task}` of case {number} is already {status}")]
    TaskClosed {
        number: i64,
        task: String,
        status: &'static str,
    },
    #[error(
        "task `{task}` of case {number} waits for stage `{stage}`, whose tasks {open} are still open"
    )]
    StageNotDone {
        number: i64,
        task: String,
        stage: String,
        open: String,
    },
    #[error("task `{task}` of case {number} depends on {open}, not done yet")]
    Waiting {
        number: i64,
        task: String,
        open: String,
    },
    #[error(
        "stage `{stage}` of case {number} is blocked by check `{check}`: {message} (fix it and run precheck again, or waive the blocker with a reason)"
    )]
    Blocked {
        number: i64,
        stage: String,
        check: String,
        message: String,
    },
    #[error("task `{task}` of case {number} waits for {waiting}; still outstanding: {outstanding}")]
    GateShut {
        number: i64,
        task: String,
        waiting: &'static str,
        outstanding: String,
    },
    #[error("task `{task}` of case {number} needs evidence; attach a file")]
    EvidenceRequired { number: i64, task: String },
    #[error("a reason is required to {what}")]
    ReasonRequired { what: &'static str },
    #[error("case {number} has no open finding `{check}`")]
    NoSuchFinding { number: i64, check: String },
    #[error(
        "case {number} is {status}; it can be closed only once every task is done or waived ({open} open)"
    )]
    NotReadyToClose {
        number: i64,
        status: &'static str,
        open: usize,
    },
    #[error("the confirmation word does not match; type {expected} exactly to close case {number}")]
    WrongConfirmation { number: i64, expected: String },
    #[error("case {number} still has open child cases: {children}")]
    OpenChildren { number: i64, children: String },
}

/// A case with its tasks and findings, as one unit the state machine works on.
#[derive(Clone, Debug, Serialize)]
pub struct CaseFile {
    pub case: Case,
    pub tasks: Vec<Task>,
    pub findings: Vec<CaseFinding>,
}

impl fmt::Display for CaseStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl CaseFile {
    fn number(&self) -> i64 {
        self.case.number
    }

    /// The blocker precheck adds while the case's newest export has failed: nothing moves past the
    /// export stage until a package is built. It belongs to the stage of the export task (the
    /// case's first stage when it has none).
    pub fn failed_export_finding(
        &self,
        latest: Option<(ExportStatus, Option<&str>)>,
    ) -> Option<Finding> {
        let Some((ExportStatus::Failed, reason)) = latest else {
            return None;
        };
        let stage = self
            .tasks
            .iter()
            .find(|t| t.gate() == Some(Gate::ExportReady))
            .map(|t| t.stage.clone())
            .or_else(|| self.case.stages.first().map(|s| s.id.clone()))?;
        Some(Finding {
            check_id: Slug::parse(EXPORT_FAILED_CHECK).ok()?,
            stage,
            severity: Severity::Blocker,
            message: format!(
                "The newest export failed: {}. Fix the cause and request the export again; nothing \
                 is deleted before an export is ready.",
                reason.unwrap_or("no reason was recorded")
            ),
        })
    }

    /// Refuses any change to a case that is done.
    pub fn ensure_open(&self) -> Result<(), CaseError> {
        match (self.case.status, self.case.resolution) {
            (CaseStatus::Done, resolution) => Err(CaseError::Final {
                number: self.number(),
                resolution: resolution.map_or("done", Resolution::as_str),
            }),
            _ => Ok(()),
        }
    }

    fn task_index(&self, task: &str) -> Result<usize, CaseError> {
        self.tasks
            .iter()
            .position(|t| t.id.as_str() == task)
            .ok_or_else(|| CaseError::NoSuchTask {
                number: self.number(),
                task: task.to_owned(),
            })
    }

    /// The index of `task`, which must still be open.
    fn open_task_index(&self, task: &str) -> Result<usize, CaseError> {
        let i = self.task_index(task)?;
        let status = self.tasks[i].status;
        if status.is_closed() {
            return Err(CaseError::TaskClosed {
                number: self.number(),
                task: task.to_owned(),
                status: status.as_str(),
            });
        }
        Ok(i)
    }

    pub fn task(&self, task: &str) -> Option<&Task> {
        self.tasks.iter().find(|t| t.id.as_str() == task)
    }

    /// The stages that must be finished before `stage`, transitively.
    pub fn stages_before(&self, stage: &str) -> BTreeSet<&str> {
        let mut out = BTreeSet::new();
        let mut todo = vec![stage];
        while let Some(s) = todo.pop() {
            if let Some(info) = self.case.stages.iter().find(|i| i.id.as_str() == s) {
                for a in &info.after {
                    if out.insert(a.as_str()) {
                        todo.push(a.as_str());
                    }
                }
            }
        }
        out
    }

    /// The first stage that still has open tasks, in blueprint order.
    pub fn current_stage(&self) -> Option<&StagePlan> {
        self.case.stages.iter().find(|s| {
            self.tasks
                .iter()
                .any(|t| t.stage == s.id && t.status == TaskStatus::Open)
        })
    }

    /// The freezing stage this case has reached, while the case runs: from then on the
    /// subject's records are read-only except for the case's own steps. A stage is reached when
    /// the stages before it are finished and no blocker stands in its way, so precheck must
    /// pass before anything freezes.
    pub fn freezing_stage(&self) -> Option<&StagePlan> {
        if self.case.status == CaseStatus::Done {
            return None;
        }
        if self.case.frozen_at.is_some() {
            // Once frozen, a blocker that opens later does not thaw the records.
            return self.case.stages.iter().find(|s| s.freeze);
        }
        self.case.stages.iter().find(|s| {
            s.freeze
                && self.stages_before(s.id.as_str()).iter().all(|before| {
                    self.tasks
                        .iter()
                        .all(|t| t.stage.as_str() != *before || t.status != TaskStatus::Open)
                })
                && self.blockers_for(s.id.as_str()).next().is_none()
        })
    }

    /// Records that the case froze its subject, the first time it reaches a freezing stage.
    /// Returns whether it did so now.
    pub fn settle_freeze(&mut self, at: Timestamp) -> bool {
        if self.case.frozen_at.is_none() && self.freezing_stage().is_some() {
            self.case.frozen_at = Some(at);
            true
        } else {
            false
        }
    }

    /// Open blockers that stop work in `stage`.
    pub fn blockers_for(&self, stage: &str) -> impl Iterator<Item = &CaseFinding> {
        let before = self.stages_before(stage);
        self.findings.iter().filter(move |f| {
            f.status == FindingStatus::Open
                && f.finding.severity == Severity::Blocker
                && (f.finding.stage.as_str() == stage || before.contains(f.finding.stage.as_str()))
        })
    }

    /// Why `task` cannot be completed now, if anything stands in the way.
    pub fn readiness(&self, task: &str) -> Result<(), CaseError> {
        self.ensure_open()?;
        let t = &self.tasks[self.open_task_index(task)?];
        for stage in self.stages_before(t.stage.as_str()) {
            let open: Vec<&str> = self
                .tasks
                .iter()
                .filter(|o| o.stage.as_str() == stage && o.status == TaskStatus::Open)
                .map(|o| o.id.as_str())
                .collect();
            if !open.is_empty() {
                return Err(CaseError::StageNotDone {
                    number: self.number(),
                    task: task.to_owned(),
                    stage: stage.to_owned(),
                    open: quote_list(&open),
                });
            }
        }
        let waiting: Vec<&str> = t
            .depends_on
            .iter()
            .filter(|d| {
                self.task(d.as_str())
                    .is_some_and(|o| o.status == TaskStatus::Open)
            })
            .map(Slug::as_str)
            .collect();
        if !waiting.is_empty() {
            return Err(CaseError::Waiting {
                number: self.number(),
                task: task.to_owned(),
                open: quote_list(&waiting),
            });
        }
        if let Some(blocker) = self.blockers_for(t.stage.as_str()).next() {
            return Err(CaseError::Blocked {
                number: self.number(),
                stage: blocker.finding.stage.to_string(),
                check: blocker.finding.check_id.to_string(),
                message: blocker.finding.message.clone(),
            });
        }
        Ok(())
    }

    /// Completes `task`. A gated task (see [`Gate`]) also needs `outstanding`, what its gate
    /// still waits for as the caller found it, to be empty.
    pub fn complete_task(
        &mut self,
        task: &str,
        act: Act,
        note: Option<String>,
        evidence_attached: bool,
        outstanding: &[String],
    ) -> Result<&Task, CaseError> {
        self.readiness(task)?;
        let i = self.task_index(task)?;
        if let (Some(gate), false) = (self.tasks[i].gate(), outstanding.is_empty()) {
            return Err(CaseError::GateShut {
                number: self.number(),
                task: task.to_owned(),
                waiting: gate.waiting_for(),
                outstanding: outstanding.join("; "),
            });
        }
        if self.tasks[i].evidence_required && !evidence_attached {
            return Err(CaseError::EvidenceRequired {
                number: self.number(),
                task: task.to_owned(),
            });
        }
        let t = &mut self.tasks[i];
        t.status = TaskStatus::Done;
        t.closed_at = Some(act.at);
        t.closed_by = Some(act.by);
        t.note = note;
        self.refresh_status();
        Ok(&self.tasks[i])
    }

    /// Marks a task as not needed for this case. Allowed whatever the stage, because it is a
    /// decision, recorded with its reason, not work done.
    pub fn waive_task(&mut self, task: &str, act: Act, reason: &str) -> Result<&Task, CaseError> {
        self.ensure_open()?;
        if reason.trim().is_empty() {
            return Err(CaseError::ReasonRequired {
                what: "waive a task",
            });
        }
        let i = self.open_task_index(task)?;
        let t = &mut self.tasks[i];
        t.status = TaskStatus::Waived;
        t.closed_at = Some(act.at);
        t.closed_by = Some(act.by);
        t.waive_reason = Some(reason.trim().to_owned());
        self.refresh_status();
        Ok(&self.tasks[i])
    }

    pub fn assign_task(
        &mut self,
        task: &str,
        assignee: Option<UserId>,
    ) -> Result<&Task, CaseError> {
        self.ensure_open()?;
        let i = self.open_task_index(task)?;
        let t = &mut self.tasks[i];
        t.assignee = assignee;
        Ok(&self.tasks[i])
    }

    pub fn waive_finding(
        &mut self,
        check: &str,
        act: Act,
        reason: &str,
    ) -> Result<&CaseFinding, CaseError> {
        self.ensure_open()?;
        if reason.trim().is_empty() {
            return Err(CaseError::ReasonRequired {
                what: "waive a blocker or warning",
            });
        }
        let number = self.case.number;
        let f = self
            .findings
            .iter_mut()
            .find(|f| f.finding.check_id.as_str() == check && f.status == FindingStatus::Open)
            .ok_or_else(|| CaseError::NoSuchFinding {
                number,
                check: check.to_owned(),
            })?;
        f.status = FindingStatus::Waived;
        f.waived_by = Some(act.by);
        f.waive_reason = Some(reason.trim().to_owned());
        Ok(f)
    }

    /// The warning precheck adds while tasks are open past their due time, naming them, so the
    /// case owner can chase or reassign them. It belongs to the stage of the first one.
    pub fn overdue_finding(&self, now: Timestamp) -> Option<Finding> {
        let overdue: Vec<&Task> = self.tasks.iter().filter(|t| t.is_overdue(now)).collect();
        let first = overdue.first()?;
        const NAMED: usize = 5;
        let names: Vec<&str> = overdue.iter().take(NAMED).map(|t| t.id.as_str()).collect();
        let more = match overdue.len().saturating_sub(NAMED) {
            0 => String::new(),
            n => format!(" and {n} more"),
        };
        Some(Finding {
            check_id: Slug::parse(OVERDUE_CHECK).ok()?,
            stage: first.stage.clone(),
            severity: Severity::Warning,
            message: format!(
                "{} overdue: {}{more}. Their owners should finish them; the case owner can \
                 reassign or waive them with a reason.",
                match overdue.len() {
                    1 => "1 task is".to_owned(),
                    n => format!("{n} tasks are"),
                },
                quote_list(&names)
            ),
        })
    }

    /// Records a fresh precheck: findings that no longer fire are resolved, new ones open,
    /// resolved ones that fire again reopen. A waiver stands until the case ends.
    pub fn apply_precheck(&mut self, fired: Vec<Finding>) -> Result<PrecheckOutcome, CaseError> {
        self.ensure_open()?;
        let mut outcome = PrecheckOutcome::default();
        for existing in &mut self.findings {
            let fresh = fired
                .iter()
                .find(|f| f.check_id == existing.finding.check_id);
            if let Some(fresh) = fresh {
                // What the check says may have changed (the tasks that are overdue, say).
                existing.finding.message.clone_from(&fresh.message);
            }
            let still = fresh.is_some();
            match (existing.status, still) {
                (FindingStatus::Open, false) => {
                    existing.status = FindingStatus::Resolved;
                    outcome.resolved.push(existing.finding.check_id.clone());
                }
                (FindingStatus::Resolved, true) => {
                    existing.status = FindingStatus::Open;
                    outcome.opened.push(existing.finding.check_id.clone());
                }
                _ => {}
            }
        }
        for f in fired {
            if !self
                .findings
                .iter()
                .any(|e| e.finding.check_id == f.check_id)
            {
                outcome.opened.push(f.check_id.clone());
                self.findings.push(CaseFinding {
                    case_id: self.case.id,
                    finding: f,
                    status: FindingStatus::Open,
                    waived_by: None,
                    waive_reason: None,
                });
            }
        }
        Ok(outcome)
    }

    /// Closes the case as completed. `open_children` are the numbers of child cases not done.
    pub fn close(&mut self, word: &str, act: Act, open_children: &[i64]) -> Result<(), CaseError> {
        self.ensure_open()?;
        let open = self
            .tasks
            .iter()
            .filter(|t| t.status == TaskStatus::Open)
            .count();
        if self.case.status != CaseStatus::Review {
            return Err(CaseError::NotReadyToClose {
                number: self.number(),
                status: self.case.status.as_str(),
                open,
            });
        }
        if !open_children.is_empty() {
            let list: Vec<String> = open_children.iter().map(ToString::to_string).collect();
            return Err(CaseError::OpenChildren {
                number: self.number(),
                children: list.join(", "),
            });
        }
        if let Some(blocker) = self
            .findings
            .iter()
            .find(|f| f.status == FindingStatus::Open && f.finding.severity == Severity::Blocker)
        {
            return Err(CaseError::Blocked {
                number: self.number(),
                stage: blocker.finding.stage.to_string(),
                check: blocker.finding.check_id.to_string(),
                message: blocker.finding.message.clone(),
            });
        }
        if word != self.case.confirmation_word {
            return Err(CaseError::WrongConfirmation {
                number: self.number(),
                expected: self.case.confirmation_word.clone(),
            });
        }
        self.finish(Resolution::Completed, act, None);
        Ok(())
    }

    /// Ends the case as cancelled. Every task and the whole history stay as they are.
    pub fn cancel(&mut self, act: Act, reason: &str) -> Result<(), CaseError> {
        self.ensure_open()?;
        if reason.trim().is_empty() {
            return Err(CaseError::ReasonRequired {
                what: "cancel a case",
            });
        }
        self.finish(Resolution::Cancelled, act, Some(reason.trim().to_owned()));
        Ok(())
    }

    fn finish(&mut self, resolution: Resolution, act: Act, reason: Option<String>) {
        self.case.status = CaseStatus::Done;
        self.case.resolution = Some(resolution);
        self.case.closed_at = Some(act.at);
        self.case.closed_by = Some(act.by);
        self.case.close_reason = reason;
    }

    /// Open until a task is finished, in progress until all are, then review.
    pub fn refresh_status(&mut self) {
        if self.case.status == CaseStatus::Done {
            return;
        }
        let closed = self.tasks.iter().filter(|t| t.status.is_closed()).count();
        self.case.status = if closed == self.tasks.len() {
            CaseStatus::Review
        } else if closed > 0 {
            CaseStatus::InProgress
        } else {
            CaseStatus::Open
        };
    }
}

/// What a precheck changed.
#[derive(Clone, Debug, Default, Serialize)]
pub struct PrecheckOutcome {
    pub opened: Vec<Slug>,
    pub resolved: Vec<Slug>,
}

fn quote_list(items: &[&str]) -> String {
    items
        .iter()
        .map(|i| format!("`{i}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn slug(s: &str) -> Slug {
        Slug::parse(s).unwrap()
    }

    fn stage(id: &str, after: &[&str], freeze: bool) -> StagePlan {
        StagePlan {
            id: slug(id),
            title: id.to_owned(),
            after: after.iter().map(|a| slug(a)).collect(),
            freeze,
        }
    }

    fn task(id: &str, stage: &str, position: i64) -> Task {
        Task {
            case_id: CaseId(Uuid::nil()),
            id: slug(id),
            stage: slug(stage),
            position,
            title: id.to_owned(),
            description: String::new(),
            kind: TaskKind::Manual,
            action: None,
            checklist: Vec::new(),
            owner: Owner::Team(slug("operations")),
            owner_label: "team operations".to_owned(),
            assignee: None,
            depends_on: Vec::new(),
            due_at: None,
            evidence_required: false,
            status: TaskStatus::Open,
            closed_at: None,
            closed_by: None,
            note: None,
            waive_reason: None,
        }
    }

    /// A case with a precheck stage, a freezing stage and a handoff stage, one task each.
    fn file() -> CaseFile {
        CaseFile {
            case: Case {
                tenant_id: TenantId(Uuid::nil()),
                id: CaseId(Uuid::nil()),
                number: 1,
                subject_id: SubjectId(Uuid::nil()),
                blueprint_id: slug("test"),
                blueprint_version: 1,
                parent_id: None,
                owner_id: UserId(Uuid::nil()),
                exit_date: jiff::civil::date(2026, 12, 31),
                status: CaseStatus::Open,
                resolution: None,
                confirmation_word: "TERMINATE".to_owned(),
                stages: vec![
                    stage("precheck", &[], false),
                    stage("freeze", &["precheck"], true),
                    stage("handoff", &["freeze"], false),
                ],
                opened_at: Timestamp::UNIX_EPOCH,
                closed_at: None,
                closed_by: None,
                close_reason: None,
                frozen_at: None,
            },
            tasks: vec![
                task("confirm", "precheck", 0),
                task("lock", "freeze", 1),
                task("hand-over", "handoff", 2),
            ],
            findings: Vec::new(),
        }
    }

    fn blocker(on: &str) -> Finding {
        Finding {
            check_id: slug(&format!("blocks-{on}")),
            stage: slug(on),
            severity: Severity::Blocker,
            message: "stop".to_owned(),
        }
    }

    const ACT: Act = Act {
        by: UserId(Uuid::nil()),
        at: Timestamp::UNIX_EPOCH,
    };

    #[test]
    fn the_freeze_waits_for_precheck_and_then_holds_until_the_case_ends() {
        let mut file = file();
        assert!(file.freezing_stage().is_none(), "precheck still has work");
        file.apply_precheck(vec![blocker("freeze")]).unwrap();
        file.complete_task("confirm", ACT, None, false, &[])
            .unwrap();
        assert!(
            file.freezing_stage().is_none(),
            "a blocker stands in its way"
        );
        assert!(!file.settle_freeze(ACT.at));

        file.apply_precheck(Vec::new()).unwrap();
        assert!(
            file.settle_freeze(ACT.at),
            "precheck passes: the case freezes"
        );
        assert!(!file.settle_freeze(ACT.at), "it freezes once");

        // A blocker that opens later does not thaw the records.
        file.apply_precheck(vec![blocker("precheck")]).unwrap();
        assert_eq!(file.freezing_stage().unwrap().id.as_str(), "freeze");

        file.cancel(ACT, "the client stays").unwrap();
        assert!(
            file.freezing_stage().is_none(),
            "cancelling lifts the freeze"
        );
    }

    #[test]
    fn overdue_tasks_warn_until_they_are_done() {
        let mut file = file();
        let due: Timestamp = "2026-12-01T17:00:00Z".parse().unwrap();
        file.tasks[1].due_at = Some(due);
        file.tasks[2].due_at = Some(due);
        assert!(file.overdue_finding(due).is_none(), "due, not yet overdue");
        let later = due + jiff::SignedDuration::from_secs(1);
        let warning = file.overdue_finding(later).unwrap();
        assert_eq!(
            (
                warning.check_id.as_str(),
                warning.stage.as_str(),
                warning.severity
            ),
            (OVERDUE_CHECK, "freeze", Severity::Warning)
        );
        assert!(
            warning
                .message
                .starts_with("2 tasks are overdue: `lock`, `hand-over`."),
            "{}",
            warning.message
        );
        file.tasks[1].status = TaskStatus::Done;
        file.tasks[2].status = TaskStatus::Waived;
        assert!(file.overdue_finding(later).is_none());
    }

    #[test]
    fn a_failed_export_blocks_its_stage_until_one_is_built() {
        let mut file = file();
        file.tasks[1].action = Some("build-export".to_owned());
        assert!(file.failed_export_finding(None).is_none());
        assert!(
            file.failed_export_finding(Some((ExportStatus::Ready, None)))
                .is_none()
        );
        let blocker = file
            .failed_export_finding(Some((ExportStatus::Failed, Some("disk full"))))
            .unwrap();
        assert_eq!(
            (blocker.stage.as_str(), blocker.severity),
            ("freeze", Severity::Blocker)
        );
        assert!(blocker.message.contains("disk full"), "{}", blocker.message);
        file.complete_task("confirm", ACT, None, false, &[])
            .unwrap();
        file.apply_precheck(vec![blocker]).unwrap();
        let err = file.readiness("lock").unwrap_err();
        assert!(
            matches!(&err, CaseError::Blocked { check, .. } if check == "export-failed"),
            "{err}"
        );
    }
}
