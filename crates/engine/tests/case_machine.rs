//! The case and task state machine (`CaseFile`), from the outside.
//!
//! Cases are opened the way the application opens them: a built-in blueprint is planned for a
//! subject and each planned task becomes an open task. The examples check what each transition
//! says when it refuses; the property drives random sequences of every transition the API
//! offers and checks, after each step, that a model predicts the outcome, that refusals change
//! nothing, and that the case never reaches a state the domain rules out.
//!
//! Why one file of this length: the examples and the property share the fixtures that open
//! cases and the model that predicts each transition; the model alone is most of the file.

use std::collections::{BTreeMap, BTreeSet};

use exeunt_engine::act::Act;
use exeunt_engine::blueprint::{
    Blueprint, LintContext, OVERDUE_CHECK, Severity, builtin_source, parse,
};
use exeunt_engine::case::{
    Case, CaseError, CaseFile, CaseStatus, FindingStatus, Resolution, Task, TaskStatus,
};
use exeunt_engine::condition::SubjectView;
use exeunt_engine::ids::{CaseId, Slug, SubjectId, SubjectKey, TenantId, Text, UserId};
use exeunt_engine::plan::{Finding, PlanInput, plan};
use exeunt_engine::subject::{Attributes, Subject, SubjectState};
use exeunt_engine::teams::default_team_slugs;
use jiff::civil::{Date, date};
use jiff::{SignedDuration, Timestamp};
use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::Value;
use uuid::Uuid;

// ---- Opening a case -------------------------------------------------------------------------

const CASE_NUMBER: i64 = 7;
const START: &str = "2026-03-02T09:00:00Z";

fn builtin(id: &str) -> Blueprint {
    let teams = default_team_slugs();
    parse(builtin_source(id).unwrap(), &LintContext { teams: &teams })
        .unwrap_or_else(|d| panic!("{d:#?}"))
}

/// A subject each built-in applies to, getting all of its conditional tasks it can.
fn subject_for(bp: &Blueprint) -> Subject {
    let attrs: &[(&str, &str)] = match bp.id.as_str() {
        "employee-standard" => &[
            ("role", "engineer"),
            ("country", "DE"),
            ("timezone", "Europe/Berlin"),
        ],
        "party" => &[("service_type", "client-file")],
        _ => &[("timezone", "America/New_York")],
    };
    Subject {
        tenant_id: TenantId(Uuid::nil()),
        id: SubjectId(Uuid::from_u128(1)),
        key: SubjectKey::parse("subject-1").unwrap(),
        kind: bp.scope,
        name: Text::line("Subject One", 200).unwrap(),
        parent_id: None,
        state: SubjectState::Offboarding,
        attributes: Attributes::parse(attrs.iter().copied()).unwrap(),
    }
}

/// Opens a case of `bp` the way the application does: plan, one open task per planned task,
/// the plan's findings recorded by a first precheck.
fn open_case(bp: &Blueprint, exit: Date) -> CaseFile {
    let subject = subject_for(bp);
    let view = SubjectView::new(&subject, &[], None, &bp.attributes);
    let planned = plan(&PlanInput {
        blueprint: bp,
        view: &view,
        attributes: &subject.attributes,
        exit_date: exit,
        case_owner_label: "owner@example.com",
    })
    .unwrap();
    let case_id = CaseId(Uuid::from_u128(99));
    let tasks = planned
        .tasks
        .into_iter()
        .zip(0..)
        .map(|(t, position)| Task {
            case_id,
            id: t.id,
            stage: t.stage,
            position,
            title: t.title,
            description: t.description,
            kind: t.kind,
            action: t.action,
            checklist: t.checklist,
            owner: t.owner,
            owner_label: t.owner_label,
            assignee: None,
            depends_on: t.depends_on,
            due_at: t.due_at,
            evidence_required: t.evidence_required,
            status: TaskStatus::Open,
            closed_at: None,
            closed_by: None,
            note: None,
            waive_reason: None,
        })
        .collect();
    let mut file = CaseFile {
        case: Case {
            tenant_id: TenantId(Uuid::nil()),
            id: case_id,
            number: CASE_NUMBER,
            subject_id: subject.id,
            blueprint_id: bp.id.clone(),
            blueprint_version: bp.version,
            parent_id: None,
            owner_id: user(1),
            exit_date: exit,
            status: CaseStatus::Open,
            resolution: None,
            confirmation_word: bp.confirmation_word.clone(),
            stages: planned.stages,
            opened_at: START.parse().unwrap(),
            closed_at: None,
            closed_by: None,
            close_reason: None,
            frozen_at: None,
        },
        tasks,
        findings: Vec::new(),
    };
    file.apply_precheck(planned.findings).unwrap();
    file.refresh_status();
    file
}

fn user(n: u128) -> UserId {
    UserId(Uuid::from_u128(n))
}

/// Someone acting `minutes` after the case opened.
fn act(minutes: i64) -> Act {
    let at: Timestamp = START.parse().unwrap();
    Act {
        by: user(2),
        at: at + SignedDuration::from_mins(minutes),
    }
}

fn finding(check: &str, stage: &str, severity: Severity) -> Finding {
    Finding {
        check_id: Slug::parse(check).unwrap(),
        stage: Slug::parse(stage).unwrap(),
        severity,
        message: format!("{check} fired"),
    }
}

fn json<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap()
}

/// Completes every task as soon as it is ready, in file order, until none is left. Fails if
/// open tasks remain that nothing can make ready.
fn complete_everything(file: &mut CaseFile) {
    let mut minute = 1;
    loop {
        let ready: Option<String> = file
            .tasks
            .iter()
            .filter(|t| t.status == TaskStatus::Open)
            .map(|t| t.id.to_string())
            .find(|id| file.readiness(id).is_ok());
        let Some(id) = ready else { break };
        file.complete_task(&id, act(minute), Some("done".into()), true, &[])
            .unwrap();
        minute += 1;
    }
    let stuck: Vec<String> = file
        .tasks
        .iter()
        .filter(|t| t.status == TaskStatus::Open)
        .map(|t| format!("{}: {}", t.id, file.readiness(t.id.as_str()).unwrap_err()))
        .collect();
    assert!(stuck.is_empty(), "stuck tasks: {stuck:#?}");
}

// ---- Examples -------------------------------------------------------------------------------

#[test]
fn every_builtin_case_can_be_seen_through_to_completion() {
    for id in [
        "client-standard",
        "employee-standard",
        "organization",
        "party",
        "product",
    ] {
        let bp = builtin(id);
        let mut file = open_case(&bp, date(2026, 4, 30));
        assert_eq!(file.case.status, CaseStatus::Open, "{id}");
        assert_eq!(
            file.current_stage().map(|s| s.id.as_str()),
            Some(bp.stages[0].id.as_str())
        );
        // The checks no longer fire.
        file.apply_precheck(Vec::new()).unwrap();
        complete_everything(&mut file);
        assert_eq!(file.case.status, CaseStatus::Review, "{id}");
        assert!(file.current_stage().is_none());
        assert!(
            file.tasks
                .iter()
                .all(|t| t.status == TaskStatus::Done && t.closed_by == Some(user(2)))
        );

        let err = file.close("terminate", act(100), &[]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the confirmation word does not match; type TERMINATE exactly to close case 7"
        );
        let err = file.close("TERMINATE", act(100), &[12, 13]).unwrap_err();
        assert_eq!(err.to_string(), "case 7 still has open child cases: 12, 13");
        file.close("TERMINATE", act(100), &[]).unwrap();
        assert_eq!(file.case.status, CaseStatus::Done);
        assert_eq!(file.case.resolution, Some(Resolution::Completed));
        assert_eq!(file.case.closed_at, Some(act(100).at));
        assert_eq!(file.case.closed_by, Some(user(2)));
        assert_eq!(file.case.close_reason, None);
    }
}

#[test]
fn readiness_names_what_stands_in_the_way() {
    let bp = builtin("employee-standard");
    let mut file = open_case(&bp, date(2026, 4, 30));
    let refused = |file: &mut CaseFile, task: &str, evidence: bool, outstanding: &[String]| {
        let before = json(file);
        let err = file
            .complete_task(task, act(5), None, evidence, outstanding)
            .unwrap_err();
        assert_eq!(json(file), before, "refusing {task} changed the case");
        err.to_string()
    };

    assert_eq!(
        refused(&mut file, "revoke-access", true, &[]),
        "task `revoke-access` of case 7 waits for stage `confirmation`, whose tasks `confirm-exit-date` are still open"
    );
    assert_eq!(
        refused(&mut file, "confirm-exit-date", false, &[]),
        "task `confirm-exit-date` of case 7 needs evidence; attach a file"
    );
    assert_eq!(
        refused(&mut file, "no-such-task", true, &[]),
        "case 7 has no task `no-such-task`"
    );
    file.complete_task(
        "confirm-exit-date",
        act(1),
        Some("letter".into()),
        true,
        &[],
    )
    .unwrap();
    assert_eq!(file.case.status, CaseStatus::InProgress);
    assert_eq!(
        refused(&mut file, "confirm-exit-date", true, &[]),
        "task `confirm-exit-date` of case 7 is already done"
    );

    // The four stages after `confirmation` run side by side.
    file.complete_task("return-equipment", act(2), None, true, &[])
        .unwrap();
    file.complete_task("settle-final-pay", act(3), None, false, &[])
        .unwrap();
    assert_eq!(
        refused(&mut file, "team-communication", true, &[]),
        "task `team-communication` of case 7 depends on `transition-plan`, not done yet"
    );
    // A gated task needs its gate open, as the caller found it.
    assert_eq!(
        refused(
            &mut file,
            "transition-plan",
            true,
            &["work item 2 `Q3 report`".to_owned()]
        ),
        "task `transition-plan` of case 7 waits for a named new owner for every work item; still outstanding: work item 2 `Q3 report`"
    );
    file.complete_task("transition-plan", act(4), None, false, &[])
        .unwrap();
    file.complete_task("team-communication", act(5), None, false, &[])
        .unwrap();

    // Sign-off waits for every one of the parallel stages.
    let msg = refused(&mut file, "exit-interview", true, &[]);
    assert!(
        msg.starts_with("task `exit-interview` of case 7 waits for stage `access-removal`"),
        "{msg}"
    );
    for t in [
        "revoke-access",
        "reset-shared-credentials",
        "revoke-production-access",
        "close-benefits",
    ] {
        file.complete_task(t, act(6), None, true, &[]).unwrap();
    }

    // A blocker on sign-off stops it until waived with a reason.
    file.apply_precheck(vec![finding(
        "active-accounts",
        "compliance-signoff",
        Severity::Blocker,
    )])
    .unwrap();
    assert_eq!(
        refused(&mut file, "exit-interview", true, &[]),
        "stage `compliance-signoff` of case 7 is blocked by check `active-accounts`: active-accounts fired (fix it and run precheck again, or waive the blocker with a reason)"
    );
    assert_eq!(
        file.waive_finding("active-accounts", act(7), "  ")
            .unwrap_err()
            .to_string(),
        "a reason is required to waive a blocker or warning"
    );
    assert_eq!(
        file.waive_finding("legal-hold", act(7), "why")
            .unwrap_err()
            .to_string(),
        "case 7 has no open finding `legal-hold`"
    );
    let f = file
        .waive_finding("active-accounts", act(7), " accounts are service accounts ")
        .unwrap();
    assert_eq!(f.status, FindingStatus::Waived);
    assert_eq!(
        f.waive_reason.as_deref(),
        Some("accounts are service accounts")
    );
    assert_eq!(f.waived_by, Some(user(2)));
    file.complete_task("exit-interview", act(8), None, false, &[])
        .unwrap();
}

#[test]
fn a_waiver_is_a_decision_allowed_at_any_stage_with_a_reason() {
    let bp = builtin("employee-standard");
    let mut file = open_case(&bp, date(2026, 4, 30));
    let before = json(&file);
    assert_eq!(
        file.waive_task("compliance-signoff", act(1), " \t")
            .unwrap_err(),
        CaseError::ReasonRequired {
            what: "waive a task"
        }
    );
    assert_eq!(json(&file), before);

    // The last task of the last stage, before anything else is done.
    let t = file
        .waive_task("compliance-signoff", act(1), "  signed on paper  ")
        .unwrap();
    assert_eq!(t.status, TaskStatus::Waived);
    assert_eq!(t.waive_reason.as_deref(), Some("signed on paper"));
    assert_eq!((t.closed_at, t.closed_by), (Some(act(1).at), Some(user(2))));
    assert_eq!(file.case.status, CaseStatus::InProgress);
    assert_eq!(
        file.waive_task("compliance-signoff", act(2), "again")
            .unwrap_err()
            .to_string(),
        "task `compliance-signoff` of case 7 is already waived"
    );
    assert_eq!(
        file.complete_task("compliance-signoff", act(2), None, true, &[])
            .unwrap_err()
            .to_string(),
        "task `compliance-signoff` of case 7 is already waived"
    );

    // A waived task lets what depends on it and what comes after it go ahead.
    file.waive_task("confirm-exit-date", act(3), "HR confirmed by phone")
        .unwrap();
    file.waive_task("transition-plan", act(3), "nothing to hand over")
        .unwrap();
    assert_eq!(file.readiness("team-communication"), Ok(()));

    // Waiving everything puts the case up for review, and it can be closed.
    let open: Vec<String> = file
        .tasks
        .iter()
        .filter(|t| t.status == TaskStatus::Open)
        .map(|t| t.id.to_string())
        .collect();
    for id in open {
        file.waive_task(&id, act(4), "not needed").unwrap();
    }
    assert_eq!(file.case.status, CaseStatus::Review);
    file.close("TERMINATE", act(5), &[]).unwrap();
    assert_eq!(file.case.resolution, Some(Resolution::Completed));
}

#[test]
fn assigning_changes_only_the_assignee_of_an_open_task() {
    let bp = builtin("client-standard");
    let mut file = open_case(&bp, date(2026, 4, 30));
    let before = json(&file);
    let t = file
        .assign_task("account-transition", Some(user(5)))
        .unwrap();
    assert_eq!(t.assignee, Some(user(5)));
    let mut expected = before.clone();
    expected["tasks"][1]["assignee"] = json(&user(5));
    assert_eq!(json(&file), expected);
    file.assign_task("account-transition", None).unwrap();
    assert_eq!(json(&file), before);

    assert_eq!(
        file.assign_task("nope", Some(user(5))).unwrap_err(),
        CaseError::NoSuchTask {
            number: 7,
            task: "nope".into()
        }
    );
    file.complete_task("account-transition", act(1), None, false, &[])
        .unwrap();
    assert!(matches!(
        file.assign_task("account-transition", Some(user(5))),
        Err(CaseError::TaskClosed { status: "done", .. })
    ));
}

#[test]
fn cancelling_keeps_every_task_and_ends_the_case_for_good() {
    let bp = builtin("client-standard");
    let mut file = open_case(&bp, date(2026, 4, 30));
    file.complete_task("account-transition", act(1), None, false, &[])
        .unwrap();
    file.waive_task("confirm-final-invoice", act(2), "no invoice")
        .unwrap();
    assert_eq!(
        file.cancel(act(3), "").unwrap_err().to_string(),
        "a reason is required to cancel a case"
    );
    let tasks = json(&file.tasks);
    let findings = json(&file.findings);
    file.cancel(act(3), "  the client stays  ").unwrap();
    assert_eq!(json(&file.tasks), tasks, "every task stays as it was");
    assert_eq!(json(&file.findings), findings);
    assert_eq!(file.case.status, CaseStatus::Done);
    assert_eq!(file.case.resolution, Some(Resolution::Cancelled));
    assert_eq!(file.case.close_reason.as_deref(), Some("the client stays"));
    assert_eq!(file.case.closed_at, Some(act(3).at));

    // Nothing changes a case that is done.
    let done = json(&file);
    let final_msg = "case 7 is done (cancelled) and cannot change any more";
    let errors = [
        file.complete_task("set-expectations", act(4), None, true, &[])
            .map(|_| ())
            .unwrap_err(),
        file.waive_task("set-expectations", act(4), "x")
            .map(|_| ())
            .unwrap_err(),
        file.assign_task("set-expectations", None)
            .map(|_| ())
            .unwrap_err(),
        file.waive_finding("no-account-manager", act(4), "x")
            .map(|_| ())
            .unwrap_err(),
        file.apply_precheck(Vec::new()).map(|_| ()).unwrap_err(),
        file.close("TERMINATE", act(4), &[]).unwrap_err(),
        file.cancel(act(4), "again").unwrap_err(),
        file.readiness("set-expectations").unwrap_err(),
        file.ensure_open().unwrap_err(),
    ];
    for e in errors {
        assert_eq!(e.to_string(), final_msg);
    }
    assert!(!file.settle_freeze(act(4).at));
    file.refresh_status();
    assert_eq!(json(&file), done);
}

#[test]
fn a_case_is_closed_only_from_review_without_blockers() {
    let bp = builtin("product");
    let mut file = open_case(&bp, date(2026, 4, 30));
    // The product's party is not offboarded (no parent): the blocker fired when it opened.
    assert_eq!(file.findings.len(), 1);
    assert_eq!(file.findings[0].status, FindingStatus::Open);
    assert_eq!(
        file.close("TERMINATE", act(1), &[])
            .unwrap_err()
            .to_string(),
        "case 7 is open; it can be closed only once every task is done or waived (2 open)"
    );
    file.waive_task("end-product", act(1), "ended on paper")
        .unwrap();
    file.waive_task("approve-termination", act(1), "approved by mail")
        .unwrap();
    assert_eq!(file.case.status, CaseStatus::Review);
    // Every task is closed, but the blocker stands.
    let err = file.close("TERMINATE", act(2), &[]).unwrap_err();
    assert!(
        matches!(&err, CaseError::Blocked { check, stage, .. } if check == "party-not-offboarded" && stage == "terminate"),
        "{err}"
    );
    // A warning does not stop it; the blocker resolving does.
    file.apply_precheck(vec![finding("no-contact", "terminate", Severity::Warning)])
        .unwrap();
    file.close("TERMINATE", act(3), &[]).unwrap();
    assert_eq!(file.case.resolution, Some(Resolution::Completed));
}

#[test]
fn precheck_opens_resolves_and_reopens_findings_and_waivers_stand() {
    let bp = builtin("party");
    let mut file = open_case(&bp, date(2026, 4, 30));
    let a = || finding("hold-on", "review", Severity::Blocker);
    let b = || finding("heads-up", "file", Severity::Warning);
    let names = |v: &[Slug]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let status = |file: &CaseFile, id: &str| {
        file.findings
            .iter()
            .find(|f| f.finding.check_id.as_str() == id)
            .map(|f| f.status)
    };

    // The party has no contact: its warning fired when the case opened.
    assert_eq!(status(&file, "no-contact"), Some(FindingStatus::Open));
    let out = file.apply_precheck(vec![a(), b()]).unwrap();
    assert_eq!(names(&out.opened), ["hold-on", "heads-up"]);
    assert_eq!(names(&out.resolved), ["no-contact"]);
    let out = file.apply_precheck(vec![a()]).unwrap();
    assert!(out.opened.is_empty());
    assert_eq!(names(&out.resolved), ["heads-up"]);
    assert_eq!(status(&file, "heads-up"), Some(FindingStatus::Resolved));
    let mut changed = b();
    changed.message = "said differently".into();
    let out = file.apply_precheck(vec![a(), changed]).unwrap();
    assert_eq!(
        names(&out.opened),
        ["heads-up"],
        "a resolved finding reopens"
    );
    assert_eq!(
        file.findings
            .iter()
            .find(|f| f.finding.check_id.as_str() == "heads-up")
            .unwrap()
            .finding
            .message,
        "said differently"
    );

    file.waive_finding("hold-on", act(1), "accepted").unwrap();
    let out = file.apply_precheck(Vec::new()).unwrap();
    assert_eq!(names(&out.resolved), ["heads-up"]);
    assert_eq!(status(&file, "hold-on"), Some(FindingStatus::Waived));
    let out = file.apply_precheck(vec![a()]).unwrap();
    assert!(out.opened.is_empty(), "a waiver stands until the case ends");
    assert_eq!(status(&file, "hold-on"), Some(FindingStatus::Waived));
    // Each check is kept once, however often it fires.
    file.apply_precheck(vec![b(), b()]).unwrap();
    assert_eq!(file.findings.len(), 3);
}

#[test]
fn a_client_case_freezes_once_precheck_is_done_and_no_blocker_stands() {
    let bp = builtin("client-standard");
    let mut file = open_case(&bp, date(2026, 4, 30));
    assert!(file.freezing_stage().is_none(), "precheck still has work");
    assert!(!file.settle_freeze(act(1).at));

    for t in [
        "set-expectations",
        "account-transition",
        "confirm-final-invoice",
    ] {
        file.complete_task(t, act(1), None, true, &[]).unwrap();
    }
    // A blocker on the freeze stage holds it back; one on a later stage does not.
    file.apply_precheck(vec![finding("stop", "freeze", Severity::Blocker)])
        .unwrap();
    assert!(file.freezing_stage().is_none());
    file.apply_precheck(vec![finding("later", "handoff", Severity::Blocker)])
        .unwrap();
    assert_eq!(file.freezing_stage().map(|s| s.id.as_str()), Some("freeze"));
    assert!(file.settle_freeze(act(2).at));
    assert_eq!(file.case.frozen_at, Some(act(2).at));
    assert!(!file.settle_freeze(act(3).at), "it freezes once");
    assert_eq!(file.case.frozen_at, Some(act(2).at));

    // Once frozen, a blocker on an earlier stage does not thaw it.
    file.apply_precheck(vec![finding("stop-early", "precheck", Severity::Blocker)])
        .unwrap();
    assert_eq!(file.freezing_stage().map(|s| s.id.as_str()), Some("freeze"));
    file.cancel(act(4), "the client stays").unwrap();
    assert!(
        file.freezing_stage().is_none(),
        "the freeze ends with the case"
    );
    assert_eq!(
        file.case.frozen_at,
        Some(act(2).at),
        "the record of it stays"
    );
}

#[test]
fn overdue_tasks_are_named_until_they_are_closed() {
    let bp = builtin("client-standard");
    // Exit on 30 April 2026 in New York; set-expectations is due 10 April at 17:00 EDT.
    let mut file = open_case(&bp, date(2026, 4, 30));
    let due: Timestamp = "2026-04-10T21:00:00Z".parse().unwrap();
    assert_eq!(file.task("set-expectations").unwrap().due_at, Some(due));
    assert_eq!(file.overdue_finding(due), None, "due is not yet overdue");
    let w = file
        .overdue_finding(due + SignedDuration::from_secs(1))
        .unwrap();
    assert_eq!(
        (w.check_id.as_str(), w.stage.as_str(), w.severity),
        (OVERDUE_CHECK, "precheck", Severity::Warning)
    );
    assert_eq!(
        w.message,
        "1 task is overdue: `set-expectations`. Their owners should finish them; the case owner can reassign or waive them with a reason."
    );
    // A year later everything is overdue: five are named, the rest counted.
    let late: Timestamp = "2027-06-01T00:00:00Z".parse().unwrap();
    let w = file.overdue_finding(late).unwrap();
    assert!(
        w.message.starts_with(
            "13 tasks are overdue: `set-expectations`, `account-transition`, `confirm-final-invoice`, `freeze-records`, `data-archiving` and 8 more."
        ),
        "{}",
        w.message
    );
    file.waive_task("set-expectations", act(1), "done by phone")
        .unwrap();
    let w = file.overdue_finding(due + SignedDuration::from_secs(1));
    assert_eq!(w, None);
}

// ---- The property ---------------------------------------------------------------------------

/// The client blueprint twice: it is the one with a freezing stage.
const BUILTINS: &[&str] = &[
    "client-standard",
    "client-standard",
    "employee-standard",
    "organization",
    "party",
    "product",
];
const REASONS: &[&str] = &["", "  ", "not needed", "  with spaces  "];
/// Mostly blank, so that most sequences run on past a cancel attempt.
const CANCEL_REASONS: &[&str] = &["", "", "", "", " ", " ", "  the client stays  "];
const WORDS: &[&str] = &["TERMINATE", "TERMINATE", "TERMINATE", "terminate", "NOPE"];
const GATED: &[&str] = &[
    "revoke-access",
    "hand-off-work",
    "build-export",
    "deliver-export",
];

#[derive(Clone, Debug)]
enum Op {
    /// `task` is mostly one of the open tasks (see [`Pick`]), so sequences get somewhere.
    Complete {
        task: Pick,
        evidence: bool,
        gate_open: bool,
    },
    CompleteUnknown,
    Waive {
        task: Pick,
        reason: &'static str,
    },
    Assign {
        task: Pick,
        to: Option<u8>,
    },
    WaiveFinding {
        check: Index,
        reason: &'static str,
    },
    Precheck {
        fired: Vec<bool>,
    },
    Close {
        word: &'static str,
        open_children: bool,
    },
    Cancel {
        reason: &'static str,
    },
    SettleFreeze,
}

/// A task of the case: one of the open ones (when `open_only` and there are any), else any.
#[derive(Clone, Copy, Debug)]
struct Pick {
    index: Index,
    open_only: bool,
}

impl Pick {
    fn of(self, file: &CaseFile) -> usize {
        let open: Vec<usize> = (0..file.tasks.len())
            .filter(|i| file.tasks[*i].status == TaskStatus::Open)
            .collect();
        if self.open_only && !open.is_empty() {
            open[self.index.index(open.len())]
        } else {
            self.index.index(file.tasks.len())
        }
    }
}

fn pick() -> impl Strategy<Value = Pick> {
    (any::<Index>(), prop::bool::weighted(0.8))
        .prop_map(|(index, open_only)| Pick { index, open_only })
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        12 => (pick(), prop::bool::weighted(0.85), prop::bool::weighted(0.85))
            .prop_map(|(task, evidence, gate_open)| Op::Complete { task, evidence, gate_open }),
        1 => Just(Op::CompleteUnknown),
        3 => (pick(), prop::sample::select(REASONS))
            .prop_map(|(task, reason)| Op::Waive { task, reason }),
        2 => (pick(), prop::option::of(0u8..3))
            .prop_map(|(task, to)| Op::Assign { task, to }),
        2 => (any::<Index>(), prop::sample::select(REASONS))
            .prop_map(|(check, reason)| Op::WaiveFinding { check, reason }),
        3 => prop::collection::vec(prop::bool::weighted(0.25), 16)
            .prop_map(|fired| Op::Precheck { fired }),
        2 => (prop::sample::select(WORDS), prop::bool::weighted(0.2))
            .prop_map(|(word, open_children)| Op::Close { word, open_children }),
        1 => prop::sample::select(CANCEL_REASONS).prop_map(|reason| Op::Cancel { reason }),
        2 => Just(Op::SettleFreeze),
    ]
}

/// What the model knows of the blueprint: which stages come before which, and the findings
/// a precheck can report (the blueprint's checks, plus a blocker on every stage).
struct Model {
    before: BTreeMap<String, BTreeSet<String>>,
    freezing: Vec<String>,
    pool: Vec<Finding>,
}

impl Model {
    fn new(bp: &Blueprint) -> Self {
        let mut before: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for s in &bp.stages {
            let mut set = BTreeSet::new();
            for a in &s.after {
                set.insert(a.to_string());
                set.extend(before[a.as_str()].iter().cloned());
            }
            before.insert(s.id.to_string(), set);
        }
        let mut pool: Vec<Finding> = bp
            .checks
            .iter()
            .map(|c| Finding {
                check_id: c.id.clone(),
                stage: c.stage.clone(),
                severity: c.severity,
                message: c.message.clone(),
            })
            .collect();
        for s in &bp.stages {
            pool.push(finding(
                &format!("stop-{}", s.id),
                s.id.as_str(),
                Severity::Blocker,
            ));
        }
        Model {
            before,
            freezing: bp
                .stages
                .iter()
                .filter(|s| s.freeze)
                .map(|s| s.id.to_string())
                .collect(),
            pool,
        }
    }

    fn open_blocker_for(&self, file: &CaseFile, stage: &str) -> bool {
        file.findings.iter().any(|f| {
            f.status == FindingStatus::Open
                && f.finding.severity == Severity::Blocker
                && (f.finding.stage.as_str() == stage
                    || self.before[stage].contains(f.finding.stage.as_str()))
        })
    }

    fn stages_before_done(&self, file: &CaseFile, stage: &str) -> bool {
        file.tasks
            .iter()
            .all(|t| !self.before[stage].contains(t.stage.as_str()) || t.status != TaskStatus::Open)
    }

    /// The error the engine should answer `op` with, by name, or `None` for success.
    fn predict(&self, file: &CaseFile, op: &Op) -> Option<&'static str> {
        let done = file.case.status == CaseStatus::Done;
        let task = |p: &Pick| &file.tasks[p.of(file)];
        if done && !matches!(op, Op::SettleFreeze) {
            return Some("Final");
        }
        match op {
            Op::Complete {
                task: i,
                evidence,
                gate_open,
            } => {
                let t = task(i);
                if t.status != TaskStatus::Open {
                    Some("TaskClosed")
                } else if !self.stages_before_done(file, t.stage.as_str()) {
                    Some("StageNotDone")
                } else if t
                    .depends_on
                    .iter()
                    .any(|d| file.task(d.as_str()).unwrap().status == TaskStatus::Open)
                {
                    Some("Waiting")
                } else if self.open_blocker_for(file, t.stage.as_str()) {
                    Some("Blocked")
                } else if t.action.as_deref().is_some_and(|a| GATED.contains(&a)) && !gate_open {
                    Some("GateShut")
                } else if t.evidence_required && !evidence {
                    Some("EvidenceRequired")
                } else {
                    None
                }
            }
            Op::CompleteUnknown => Some("NoSuchTask"),
            Op::Waive { task: i, reason } => {
                if reason.trim().is_empty() {
                    Some("ReasonRequired")
                } else if task(i).status != TaskStatus::Open {
                    Some("TaskClosed")
                } else {
                    None
                }
            }
            Op::Assign { task: i, .. } => {
                (task(i).status != TaskStatus::Open).then_some("TaskClosed")
            }
            Op::WaiveFinding { check, reason } => {
                let id = &self.pool[check.index(self.pool.len())].check_id;
                if reason.trim().is_empty() {
                    Some("ReasonRequired")
                } else if !file
                    .findings
                    .iter()
                    .any(|f| &f.finding.check_id == id && f.status == FindingStatus::Open)
                {
                    Some("NoSuchFinding")
                } else {
                    None
                }
            }
            Op::Precheck { .. } => None,
            Op::Close {
                word,
                open_children,
            } => {
                if file.case.status != CaseStatus::Review {
                    Some("NotReadyToClose")
                } else if *open_children {
                    Some("OpenChildren")
                } else if file.findings.iter().any(|f| {
                    f.status == FindingStatus::Open && f.finding.severity == Severity::Blocker
                }) {
                    Some("Blocked")
                } else if *word != file.case.confirmation_word {
                    Some("WrongConfirmation")
                } else {
                    None
                }
            }
            Op::Cancel { reason } => reason.trim().is_empty().then_some("ReasonRequired"),
            Op::SettleFreeze => None,
        }
    }

    /// Whether `settle_freeze` should freeze the case now.
    fn should_freeze(&self, file: &CaseFile) -> bool {
        file.case.status != CaseStatus::Done
            && file.case.frozen_at.is_none()
            && self
                .freezing
                .iter()
                .any(|s| self.stages_before_done(file, s) && !self.open_blocker_for(file, s))
    }
}

fn error_name(e: &CaseError) -> &'static str {
    match e {
        CaseError::Final { .. } => "Final",
        CaseError::NoSuchTask { .. } => "NoSuchTask",
        CaseError::TaskClosed { .. } => "TaskClosed",
        CaseError::StageNotDone { .. } => "StageNotDone",
        CaseError::Waiting { .. } => "Waiting",
        CaseError::Blocked { .. } => "Blocked",
        CaseError::GateShut { .. } => "GateShut",
        CaseError::EvidenceRequired { .. } => "EvidenceRequired",
        CaseError::ReasonRequired { .. } => "ReasonRequired",
        CaseError::NoSuchFinding { .. } => "NoSuchFinding",
        CaseError::NotReadyToClose { .. } => "NotReadyToClose",
        CaseError::WrongConfirmation { .. } => "WrongConfirmation",
        CaseError::OpenChildren { .. } => "OpenChildren",
    }
}

/// Applies `op` to `file` as a person at time `a` would.
fn apply(model: &Model, file: &mut CaseFile, op: &Op, a: Act) -> Result<(), CaseError> {
    let id = |p: &Pick, file: &CaseFile| file.tasks[p.of(file)].id.to_string();
    match op {
        Op::Complete {
            task,
            evidence,
            gate_open,
        } => {
            let outstanding = if *gate_open {
                vec![]
            } else {
                vec!["an account (record 1, pending)".to_owned()]
            };
            let t = id(task, file);
            file.complete_task(&t, a, Some(format!("note {t}")), *evidence, &outstanding)
                .map(|_| ())
        }
        Op::CompleteUnknown => file
            .complete_task("no-such-task", a, None, true, &[])
            .map(|_| ()),
        Op::Waive { task, reason } => file.waive_task(&id(task, file), a, reason).map(|_| ()),
        Op::Assign { task, to } => file
            .assign_task(&id(task, file), to.map(|n| user(10 + u128::from(n))))
            .map(|_| ()),
        Op::WaiveFinding { check, reason } => {
            let c = model.pool[check.index(model.pool.len())]
                .check_id
                .to_string();
            file.waive_finding(&c, a, reason).map(|_| ())
        }
        Op::Precheck { fired } => {
            let fired: Vec<Finding> = model
                .pool
                .iter()
                .zip(fired)
                .filter(|(_, f)| **f)
                .map(|(f, _)| f.clone())
                .collect();
            file.apply_precheck(fired).map(|_| ())
        }
        Op::Close {
            word,
            open_children,
        } => {
            let children: &[i64] = if *open_children { &[8] } else { &[] };
            file.close(word, a, children)
        }
        Op::Cancel { reason } => file.cancel(a, reason),
        Op::SettleFreeze => {
            file.settle_freeze(a.at);
            Ok(())
        }
    }
}

/// A task without what may change on it.
fn fixed_part(t: &Task) -> Value {
    let mut v = json(t);
    for k in [
        "status",
        "closed_at",
        "closed_by",
        "note",
        "waive_reason",
        "assignee",
    ] {
        v.as_object_mut().unwrap().remove(k);
    }
    v
}

/// What must hold of any case, whatever happened to it.
fn invariants(model: &Model, file: &CaseFile, opened: &CaseFile) -> Result<(), String> {
    let c = &file.case;
    let done = c.status == CaseStatus::Done;
    // Done, and only done, carries a resolution and who closed it when.
    if done != c.resolution.is_some()
        || done != c.closed_at.is_some()
        || done != c.closed_by.is_some()
    {
        return Err(format!(
            "status {} with resolution {:?}",
            c.status, c.resolution
        ));
    }
    match (c.resolution, &c.close_reason) {
        (Some(Resolution::Cancelled), Some(r)) if !r.is_empty() && r.trim() == r => {}
        (Some(Resolution::Cancelled), r) => return Err(format!("cancelled with reason {r:?}")),
        (_, Some(r)) => return Err(format!("reason {r:?} without cancelling")),
        _ => {}
    }
    // The status follows the tasks while the case runs.
    let closed = file.tasks.iter().filter(|t| t.status.is_closed()).count();
    if !done {
        let want = if closed == file.tasks.len() {
            CaseStatus::Review
        } else if closed == 0 {
            CaseStatus::Open
        } else {
            CaseStatus::InProgress
        };
        if c.status != want {
            return Err(format!(
                "status {} with {closed}/{} closed",
                c.status,
                file.tasks.len()
            ));
        }
    }
    // Completed means every task closed and no blocker open.
    if c.resolution == Some(Resolution::Completed) {
        if closed != file.tasks.len() {
            return Err("completed with open tasks".into());
        }
        if file
            .findings
            .iter()
            .any(|f| f.status == FindingStatus::Open && f.finding.severity == Severity::Blocker)
        {
            return Err("completed with an open blocker".into());
        }
    }
    // The tasks are the ones the case opened with, in the same order.
    if file.tasks.len() != opened.tasks.len()
        || file
            .tasks
            .iter()
            .zip(&opened.tasks)
            .any(|(t, o)| fixed_part(t) != fixed_part(o))
    {
        return Err("the tasks themselves changed".into());
    }
    for t in &file.tasks {
        let fields = (
            t.closed_at.is_some(),
            t.closed_by.is_some(),
            t.waive_reason.is_some(),
        );
        let ok = match t.status {
            TaskStatus::Open => fields == (false, false, false) && t.note.is_none(),
            TaskStatus::Done => fields == (true, true, false),
            TaskStatus::Waived => {
                fields == (true, true, true)
                    && t.waive_reason
                        .as_deref()
                        .is_some_and(|r| !r.is_empty() && r.trim() == r)
            }
        };
        if !ok {
            return Err(format!("task {} is {:?} with {fields:?}", t.id, t.status));
        }
        // No task is done before its dependencies and earlier stages (a waiver is a decision,
        // not work, and may come at any time).
        if t.status == TaskStatus::Done {
            if let Some(d) = t
                .depends_on
                .iter()
                .find(|d| file.task(d.as_str()).unwrap().status == TaskStatus::Open)
            {
                return Err(format!("task {} done before its dependency {d}", t.id));
            }
            if !model.stages_before_done(file, t.stage.as_str()) {
                return Err(format!("task {} done before an earlier stage", t.id));
            }
        }
    }
    let ids: BTreeSet<&str> = file
        .findings
        .iter()
        .map(|f| f.finding.check_id.as_str())
        .collect();
    if ids.len() != file.findings.len() {
        return Err("a finding is kept twice".into());
    }
    for f in &file.findings {
        let waived = f.status == FindingStatus::Waived;
        if waived != (f.waived_by.is_some() && f.waive_reason.is_some()) {
            return Err(format!("finding {} {:?}", f.finding.check_id, f.status));
        }
    }
    // The current stage is the first with an open task.
    let current = c
        .stages
        .iter()
        .find(|s| {
            file.tasks
                .iter()
                .any(|t| t.stage == s.id && t.status == TaskStatus::Open)
        })
        .map(|s| s.id.as_str());
    if file.current_stage().map(|s| s.id.as_str()) != current {
        return Err("current stage".into());
    }
    // Frozen records stay frozen until the case ends.
    if c.frozen_at.is_some() && !done && file.freezing_stage().is_none() {
        return Err("thawed while running".into());
    }
    if done && file.freezing_stage().is_some() {
        return Err("frozen after the end".into());
    }
    Ok(())
}

/// What must hold of one step: the model's outcome, refusals that change nothing, closed tasks
/// and waivers that stay as they were, and the effect of each successful transition.
fn check_step(
    model: &Model,
    op: &Op,
    a: Act,
    before: &CaseFile,
    after: &CaseFile,
    outcome: &Result<(), CaseError>,
    predicted: Option<&'static str>,
) -> Result<(), String> {
    let got = outcome.as_ref().err().map(error_name);
    if got != predicted {
        return Err(format!("{op:?}: expected {predicted:?}, got {outcome:?}"));
    }
    let (b, f) = (json(before), json(after));
    if outcome.is_err() && b != f {
        return Err(format!("{op:?} was refused but changed the case"));
    }
    if before.case.status == CaseStatus::Done && b != f {
        return Err(format!("{op:?} changed a case that is done"));
    }
    for (tb, ta) in before.tasks.iter().zip(&after.tasks) {
        if tb.status.is_closed() && json(tb) != json(ta) {
            return Err(format!("closed task {} changed", tb.id));
        }
    }
    for fb in before
        .findings
        .iter()
        .filter(|f| f.status == FindingStatus::Waived)
    {
        let fa = after
            .findings
            .iter()
            .find(|f| f.finding.check_id == fb.finding.check_id);
        if fa.is_none_or(|fa| {
            fa.status != FindingStatus::Waived
                || fa.waived_by != fb.waived_by
                || fa.waive_reason != fb.waive_reason
        }) {
            return Err(format!("waiver of {} did not stand", fb.finding.check_id));
        }
    }
    if before.case.frozen_at.is_some() && after.case.frozen_at != before.case.frozen_at {
        return Err("frozen_at changed".into());
    }
    if outcome.is_err() {
        return Ok(());
    }
    let changed: Vec<usize> = (0..before.tasks.len())
        .filter(|i| json(&before.tasks[*i]) != json(&after.tasks[*i]))
        .collect();
    let only = |p: &Pick| {
        let k = p.of(before);
        if changed.iter().any(|c| *c != k) {
            Err(format!("{op:?} changed other tasks: {changed:?}"))
        } else {
            Ok(&after.tasks[k])
        }
    };
    match op {
        Op::Complete { task, .. } => {
            let t = only(task)?;
            if t.status != TaskStatus::Done
                || t.closed_at != Some(a.at)
                || t.closed_by != Some(a.by)
                || t.note != Some(format!("note {}", t.id))
            {
                return Err(format!("completed task {} reads {t:?}", t.id));
            }
        }
        Op::Waive { task, reason } => {
            let t = only(task)?;
            if t.status != TaskStatus::Waived || t.waive_reason.as_deref() != Some(reason.trim()) {
                return Err(format!("waived task {} reads {t:?}", t.id));
            }
        }
        Op::Assign { task, to } => {
            let t = only(task)?;
            if t.assignee != to.map(|n| user(10 + u128::from(n))) {
                return Err(format!("assigned task {} reads {t:?}", t.id));
            }
        }
        Op::Cancel { reason } => {
            if !changed.is_empty() || json(&before.findings) != json(&after.findings) {
                return Err("cancelling changed tasks or findings".into());
            }
            if after.case.resolution != Some(Resolution::Cancelled)
                || after.case.close_reason.as_deref() != Some(reason.trim())
                || after.case.closed_at != Some(a.at)
            {
                return Err(format!("cancelled case reads {:?}", after.case));
            }
        }
        Op::Close { .. } => {
            if !changed.is_empty() || after.case.resolution != Some(Resolution::Completed) {
                return Err("closing changed tasks or did not complete".into());
            }
        }
        Op::Precheck { fired } => {
            let fired: BTreeSet<&str> = model
                .pool
                .iter()
                .zip(fired)
                .filter(|(_, f)| **f)
                .map(|(f, _)| f.check_id.as_str())
                .collect();
            for f in &after.findings {
                let now = fired.contains(f.finding.check_id.as_str());
                let ok = match f.status {
                    FindingStatus::Waived => true,
                    FindingStatus::Open => now,
                    FindingStatus::Resolved => !now,
                };
                if !ok {
                    return Err(format!(
                        "{} is {:?} after precheck",
                        f.finding.check_id, f.status
                    ));
                }
            }
            for id in &fired {
                if !after
                    .findings
                    .iter()
                    .any(|f| f.finding.check_id.as_str() == *id)
                {
                    return Err(format!("{id} fired but is not kept"));
                }
            }
            if !changed.is_empty() {
                return Err("precheck changed tasks".into());
            }
        }
        Op::SettleFreeze => {
            let froze = before.case.frozen_at.is_none() && after.case.frozen_at.is_some();
            if froze != model.should_freeze(before) {
                return Err(format!("settle_freeze froze: {froze}"));
            }
            if froze && after.case.frozen_at != Some(a.at) {
                return Err("frozen at the wrong time".into());
            }
        }
        Op::CompleteUnknown | Op::WaiveFinding { .. } => {}
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn no_sequence_of_transitions_reaches_an_invalid_case(
        which in prop::sample::select(BUILTINS),
        exit in (0i64..800).prop_map(|n| date(2026, 1, 1).checked_add(jiff::Span::new().days(n)).unwrap()),
        ops in prop::collection::vec(op(), 1..80),
    ) {
        let bp = builtin(which);
        let model = Model::new(&bp);
        let opened = open_case(&bp, exit);
        prop_assert_eq!(invariants(&model, &opened, &opened), Ok(()));
        let mut file = opened.clone();
        for (step, op) in ops.iter().enumerate() {
            let a = act(i64::try_from(step).unwrap() + 1);
            let before = file.clone();
            let predicted = model.predict(&file, op);
            let outcome = apply(&model, &mut file, op, a);
            prop_assert_eq!(
                check_step(&model, op, a, &before, &file, &outcome, predicted),
                Ok(()),
                "step {}", step
            );
            prop_assert_eq!(invariants(&model, &file, &opened), Ok(()), "after step {}: {:?}", step, op);
        }
    }
}
