//! The tasks of the cases read last, as they were planned.
//!
//! A task is its plan (title, stage, owner, dependencies, due time, …), fixed when its case
//! starts, and its progress (status, assignee, who closed it and why), which changes. Every
//! change to a case loads all its tasks; for a case whose plans are kept here, only the
//! progress is read, eight columns of twenty, with no text to parse or check again.
//!
//! Nothing here can go stale: no statement changes a plan once its task is written, and case
//! ids are never reused. A store keeps one of these for all its connections.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};

use engine::blueprint::{Owner, TaskKind};
use engine::case::{Task, TaskStatus};
use engine::ids::{CaseId, Slug, TenantId, UserId};
use jiff::Timestamp;

/// Cases whose plans are kept: a few megabytes at most, for the cases people are working on.
const CASES_KEPT: usize = 512;

/// What a task was planned as.
pub(crate) struct TaskPlan {
    id: Slug,
    stage: Slug,
    position: i64,
    title: String,
    description: String,
    kind: TaskKind,
    action: Option<String>,
    checklist: Vec<String>,
    owner: Owner,
    depends_on: Vec<Slug>,
    due_at: Option<Timestamp>,
    evidence_required: bool,
}

/// How far a task has got: the columns that change after its case starts.
pub(crate) struct TaskProgress {
    pub id: String,
    pub owner_label: String,
    pub assignee: Option<UserId>,
    pub status: TaskStatus,
    pub closed_at: Option<Timestamp>,
    pub closed_by: Option<UserId>,
    pub note: Option<String>,
    pub waive_reason: Option<String>,
}

type Key = (TenantId, CaseId);

#[derive(Default)]
pub(crate) struct TaskPlans {
    kept: Mutex<Kept>,
}

#[derive(Default)]
struct Kept {
    /// Each case's plans, sorted by task id.
    plans: HashMap<Key, Arc<[TaskPlan]>>,
    /// The order the cases came in, oldest first: the first to go when room is needed.
    arrivals: VecDeque<Key>,
}

impl std::fmt::Debug for TaskPlans {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TaskPlans").finish_non_exhaustive()
    }
}

impl TaskPlans {
    /// The case's plans, if they are kept.
    pub(crate) fn get(&self, tenant: TenantId, case: CaseId) -> Option<Arc<[TaskPlan]>> {
        let kept = self.kept.lock().unwrap_or_else(PoisonError::into_inner);
        kept.plans.get(&(tenant, case)).cloned()
    }

    /// Keeps the plans of a case's tasks, read whole.
    pub(crate) fn keep(&self, tenant: TenantId, case: CaseId, tasks: &[Task]) {
        let mut plans: Vec<TaskPlan> = tasks.iter().map(TaskPlan::of).collect();
        plans.sort_by(|a, b| a.id.as_str().cmp(b.id.as_str()));
        let mut kept = self.kept.lock().unwrap_or_else(PoisonError::into_inner);
        let key = (tenant, case);
        if kept.plans.insert(key, plans.into()).is_some() {
            return;
        }
        kept.arrivals.push_back(key);
        while kept.arrivals.len() > CASES_KEPT {
            if let Some(oldest) = kept.arrivals.pop_front() {
                kept.plans.remove(&oldest);
            }
        }
    }
}

/// The case's tasks from their plans and their progress, in plan order; `None` unless every
/// task has both (a task added since the plans were kept sends the caller back to read it
/// whole).
pub(crate) fn tasks(
    case: CaseId,
    plans: &[TaskPlan],
    progress: Vec<TaskProgress>,
) -> Option<Vec<Task>> {
    if progress.len() != plans.len() {
        return None;
    }
    let mut tasks = progress
        .into_iter()
        .map(|p| {
            let at = plans
                .binary_search_by(|plan| plan.id.as_str().cmp(&p.id))
                .ok()?;
            Some(plans[at].task(case, p))
        })
        .collect::<Option<Vec<Task>>>()?;
    tasks.sort_by_key(|t| t.position);
    Some(tasks)
}

impl TaskPlan {
    fn of(t: &Task) -> Self {
        Self {
            id: t.id.clone(),
            stage: t.stage.clone(),
            position: t.position,
            title: t.title.clone(),
            description: t.description.clone(),
            kind: t.kind,
            action: t.action.clone(),
            checklist: t.checklist.clone(),
            owner: t.owner.clone(),
            depends_on: t.depends_on.clone(),
            due_at: t.due_at,
            evidence_required: t.evidence_required,
        }
    }

    fn task(&self, case_id: CaseId, p: TaskProgress) -> Task {
        Task {
            case_id,
            id: self.id.clone(),
            stage: self.stage.clone(),
            position: self.position,
            title: self.title.clone(),
            description: self.description.clone(),
            kind: self.kind,
            action: self.action.clone(),
            checklist: self.checklist.clone(),
            owner: self.owner.clone(),
            owner_label: p.owner_label,
            assignee: p.assignee,
            depends_on: self.depends_on.clone(),
            due_at: self.due_at,
            evidence_required: self.evidence_required,
            status: p.status,
            closed_at: p.closed_at,
            closed_by: p.closed_by,
            note: p.note,
            waive_reason: p.waive_reason,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn planned(case_id: CaseId, id: &str, position: i64) -> Task {
        Task {
            case_id,
            id: Slug::parse(id).unwrap(),
            stage: Slug::parse("revoke").unwrap(),
            position,
            title: format!("Task {id}"),
            description: "What to do".into(),
            kind: TaskKind::Manual,
            action: None,
            checklist: vec!["one".into(), "two".into()],
            owner: Owner::Team(Slug::parse("it").unwrap()),
            owner_label: "IT".into(),
            assignee: None,
            depends_on: vec![Slug::parse("first").unwrap()],
            due_at: Some(Timestamp::UNIX_EPOCH),
            evidence_required: true,
            status: TaskStatus::Open,
            closed_at: None,
            closed_by: None,
            note: None,
            waive_reason: None,
        }
    }

    fn progress_of(t: &Task) -> TaskProgress {
        TaskProgress {
            id: t.id.to_string(),
            owner_label: t.owner_label.clone(),
            assignee: t.assignee,
            status: t.status,
            closed_at: t.closed_at,
            closed_by: t.closed_by,
            note: t.note.clone(),
            waive_reason: t.waive_reason.clone(),
        }
    }

    fn ids(tasks: &[Task]) -> Vec<&str> {
        tasks.iter().map(|t| t.id.as_str()).collect()
    }

    #[test]
    fn a_case_is_put_back_together_from_its_plans_and_its_progress() {
        let (tenant, case) = (TenantId(Uuid::now_v7()), CaseId(Uuid::now_v7()));
        // Planned out of id order, as blueprints are.
        let mut tasks = vec![planned(case, "zeta", 1), planned(case, "alpha", 2)];
        let plans = TaskPlans::default();
        plans.keep(tenant, case, &tasks);
        tasks[1].status = TaskStatus::Done;
        tasks[1].note = Some("handed over".into());
        tasks[1].closed_by = Some(UserId(Uuid::now_v7()));
        // Progress comes in whatever order the database returns it.
        let progress = vec![progress_of(&tasks[1]), progress_of(&tasks[0])];
        let kept = plans.get(tenant, case).expect("the plans are kept");
        let rebuilt = super::tasks(case, &kept, progress).expect("every task has both");
        assert_eq!(ids(&rebuilt), ["zeta", "alpha"], "in plan order");
        assert_eq!(rebuilt[1].status, TaskStatus::Done);
        assert_eq!(rebuilt[1].note.as_deref(), Some("handed over"));
        assert_eq!(rebuilt[1].closed_by, tasks[1].closed_by);
        assert_eq!(rebuilt[0].checklist, tasks[0].checklist);
        assert_eq!(rebuilt[0].depends_on, tasks[0].depends_on);
        assert_eq!(rebuilt[0].due_at, tasks[0].due_at);
        assert!(
            plans.get(TenantId(Uuid::now_v7()), case).is_none(),
            "another tenant's case"
        );
    }

    #[test]
    fn progress_that_does_not_match_the_plans_is_read_whole_instead() {
        let (tenant, case) = (TenantId(Uuid::now_v7()), CaseId(Uuid::now_v7()));
        let tasks = vec![planned(case, "first", 1), planned(case, "second", 2)];
        let plans = TaskPlans::default();
        plans.keep(tenant, case, &tasks);
        let kept = plans.get(tenant, case).unwrap();
        let one_more = planned(case, "third", 3);
        let extra: Vec<TaskProgress> = [&tasks[0], &tasks[1], &one_more]
            .into_iter()
            .map(progress_of)
            .collect();
        assert!(super::tasks(case, &kept, extra).is_none());
        let other = vec![progress_of(&tasks[0]), progress_of(&one_more)];
        assert!(super::tasks(case, &kept, other).is_none());
    }

    #[test]
    fn the_cases_kept_longest_make_room_for_new_ones() {
        let tenant = TenantId(Uuid::now_v7());
        let plans = TaskPlans::default();
        let cases: Vec<CaseId> = (0..=CASES_KEPT).map(|_| CaseId(Uuid::now_v7())).collect();
        for case in &cases {
            plans.keep(tenant, *case, &[planned(*case, "only", 1)]);
        }
        assert!(plans.get(tenant, cases[0]).is_none());
        assert!(plans.get(tenant, cases[1]).is_some());
        assert!(plans.get(tenant, cases[CASES_KEPT]).is_some());
    }
}
