//! The dry run: for a blueprint and a subject, which tasks a case would get, owned by whom and
//! due when, which it would skip and why, and which checks fire.

use exeunt_engine::blueprint::{
    Blueprint, LintContext, Owner, OwnerRole, Severity, builtin_source, parse,
};
use exeunt_engine::condition::{EvalError, SubjectView};
use exeunt_engine::ids::{RecordId, SubjectId, SubjectKey, TenantId, Text};
use exeunt_engine::plan::{Plan, PlanInput, plan};
use exeunt_engine::subject::{
    Attributes, Record, RecordFields, RecordKind, Subject, SubjectKind, SubjectState,
};
use exeunt_engine::teams::default_team_slugs;
use jiff::Timestamp;
use jiff::civil::{Date, date};
use jiff::tz::TimeZone;
use proptest::prelude::*;
use uuid::Uuid;

const OWNER: &str = "owner@example.com";

fn builtin(id: &str) -> Blueprint {
    blueprint(builtin_source(id).unwrap())
}

fn blueprint(text: &str) -> Blueprint {
    let teams = default_team_slugs();
    parse(text, &LintContext { teams: &teams }).unwrap_or_else(|d| panic!("{d:#?}"))
}

fn subject(kind: SubjectKind, attrs: &[(&str, &str)]) -> Subject {
    Subject {
        tenant_id: TenantId(Uuid::nil()),
        id: SubjectId(Uuid::from_u128(1)),
        key: SubjectKey::parse("subject-1").unwrap(),
        kind,
        name: Text::line("Subject One", 200).unwrap(),
        parent_id: None,
        state: SubjectState::Active,
        attributes: Attributes::parse(attrs.iter().copied()).unwrap(),
    }
}

fn record(number: i64, kind: RecordKind, fields: &[(&str, &str)]) -> Record {
    Record {
        id: RecordId(Uuid::from_u128(number as u128)),
        subject_id: SubjectId(Uuid::from_u128(1)),
        number,
        kind,
        fields: RecordFields::parse(kind, fields.iter().copied()).unwrap(),
    }
}

fn dry_run(bp: &Blueprint, s: &Subject, records: &[Record], exit: Date) -> Plan {
    try_dry_run(bp, s, records, None, exit).unwrap_or_else(|e| panic!("{e}"))
}

fn try_dry_run(
    bp: &Blueprint,
    s: &Subject,
    records: &[Record],
    parent: Option<&Subject>,
    exit: Date,
) -> Result<Plan, exeunt_engine::plan::PlanError> {
    let view = SubjectView::new(s, records, parent, &bp.attributes);
    plan(&PlanInput {
        blueprint: bp,
        view: &view,
        attributes: &s.attributes,
        exit_date: exit,
        case_owner_label: OWNER,
    })
}

fn ids(plan: &Plan) -> Vec<&str> {
    plan.tasks.iter().map(|t| t.id.as_str()).collect()
}

fn task<'p>(plan: &'p Plan, id: &str) -> &'p exeunt_engine::plan::PlannedTask {
    plan.tasks
        .iter()
        .find(|t| t.id.as_str() == id)
        .unwrap_or_else(|| panic!("no planned task {id}"))
}

fn ts(text: &str) -> Timestamp {
    text.parse().unwrap()
}

#[test]
fn a_german_engineer_gets_every_employee_task_but_reassigning_reports() {
    let bp = builtin("employee-standard");
    let s = subject(
        SubjectKind::Employee,
        &[
            ("role", "engineer"),
            ("country", "de"),
            ("manager", "Mia@Example.com"),
            ("timezone", "Europe/Berlin"),
        ],
    );
    // Tuesday 31 March 2026, two days after Berlin moved to summer time.
    let p = dry_run(&bp, &s, &[], date(2026, 3, 31));
    assert_eq!(
        ids(&p),
        [
            "confirm-exit-date",
            "revoke-access",
            "reset-shared-credentials",
            "revoke-production-access",
            "return-equipment",
            "settle-final-pay",
            "close-benefits",
            "transition-plan",
            "team-communication",
            "exit-interview",
            "employment-reference",
            "compliance-signoff",
        ]
    );
    assert_eq!(p.skipped.len(), 1);
    assert_eq!(p.skipped[0].id.as_str(), "reassign-reports");
    assert_eq!(p.skipped[0].stage.as_str(), "knowledge-handover");
    assert_eq!(p.skipped[0].when, "attrs.role == \"manager\"");
    assert_eq!(p.time_zone, "Europe/Berlin");
    assert_eq!(p.blueprint_id.as_str(), "employee-standard");
    assert_eq!(p.exit_date, date(2026, 3, 31));

    // Owners: a team by name, the line manager by the subject's `manager` (as stored).
    assert_eq!(task(&p, "revoke-access").owner_label, "team it");
    assert_eq!(task(&p, "transition-plan").owner_label, "mia@example.com");
    assert_eq!(
        task(&p, "transition-plan").owner,
        Owner::Role(OwnerRole::LineManager)
    );
    assert_eq!(
        task(&p, "transition-plan").stage.as_str(),
        "knowledge-handover"
    );

    // Due instants: 17:00 in Berlin, CET (+01:00) before 29 March and CEST (+02:00) after.
    let due = |id: &str| task(&p, id).due_at.unwrap();
    assert_eq!(due("confirm-exit-date"), ts("2026-03-17T16:00:00Z")); // -14d
    assert_eq!(due("transition-plan"), ts("2026-03-24T16:00:00Z")); // -5bd: Tuesday before
    assert_eq!(due("team-communication"), ts("2026-03-26T16:00:00Z")); // -3bd: Thursday
    assert_eq!(due("revoke-access"), ts("2026-03-31T15:00:00Z")); // +0d 17:00
    assert_eq!(due("reset-shared-credentials"), ts("2026-04-01T15:00:00Z")); // +1bd
    assert_eq!(due("close-benefits"), ts("2026-04-10T15:00:00Z")); // +10d
    assert_eq!(due("employment-reference"), ts("2026-04-14T15:00:00Z")); // +14d

    assert!(task(&p, "revoke-production-access").evidence_required);
    assert_eq!(
        task(&p, "return-equipment").checklist.len(),
        4,
        "the checklist comes along"
    );
    assert_eq!(
        task(&p, "compliance-signoff")
            .depends_on
            .iter()
            .map(|d| d.as_str())
            .collect::<Vec<_>>(),
        ["exit-interview"]
    );
    let stages: Vec<(&str, bool)> = p.stages.iter().map(|s| (s.id.as_str(), s.freeze)).collect();
    assert_eq!(stages.len(), 6);
    assert!(
        stages.iter().all(|(_, freeze)| !freeze),
        "no employee stage freezes"
    );
    assert!(p.findings.is_empty(), "{:?}", p.findings);
}

#[test]
fn a_manager_without_a_manager_gets_the_case_owner_and_a_warning() {
    let bp = builtin("employee-standard");
    let s = subject(SubjectKind::Employee, &[("role", "manager")]);
    let p = dry_run(&bp, &s, &[], date(2026, 6, 30));
    let skipped: Vec<&str> = p.skipped.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(
        skipped,
        ["revoke-production-access", "employment-reference"]
    );
    assert!(ids(&p).contains(&"reassign-reports"));
    // No manager on file: the case owner stands in for the line manager.
    assert_eq!(task(&p, "transition-plan").owner_label, OWNER);
    assert_eq!(task(&p, "team-communication").owner_label, OWNER);
    // No time zone: UTC.
    assert_eq!(p.time_zone, "UTC");
    assert_eq!(
        task(&p, "revoke-access").due_at,
        Some(ts("2026-06-30T17:00:00Z"))
    );
    assert_eq!(p.findings.len(), 1);
    let f = &p.findings[0];
    assert_eq!(
        (f.check_id.as_str(), f.stage.as_str(), f.severity),
        ("no-line-manager", "confirmation", Severity::Warning)
    );
    assert_eq!(
        f.message,
        "The employee has no manager set; the case owner gets the manager's tasks."
    );
}

#[test]
fn client_checks_fire_on_the_records_they_name() {
    let bp = builtin("client-standard");
    let s = subject(
        SubjectKind::Client,
        &[
            ("account_manager", "am@example.com"),
            ("balance_outstanding", "120.50"),
            ("timezone", "America/New_York"),
        ],
    );
    let open = [
        record(1, RecordKind::WorkItem, &[("title", "Q3 report")]),
        record(
            2,
            RecordKind::Account,
            &[("system", "ldap"), ("identifier", "acme")],
        ),
    ];
    let p = dry_run(&bp, &s, &open, date(2026, 11, 2));
    let fired: Vec<(&str, &str, Severity)> = p
        .findings
        .iter()
        .map(|f| (f.check_id.as_str(), f.stage.as_str(), f.severity))
        .collect();
    assert_eq!(
        fired,
        [
            ("open-work-items", "handoff", Severity::Blocker),
            ("active-accounts", "handoff", Severity::Blocker),
            ("outstanding-balance", "precheck", Severity::Warning),
        ]
    );
    assert_eq!(task(&p, "set-expectations").owner_label, "am@example.com");
    assert_eq!(task(&p, "final-payment").owner_label, "team finance");
    // -20d from Monday 2 November 2026: 13 October, still EDT (−04:00).
    assert_eq!(
        task(&p, "set-expectations").due_at,
        Some(ts("2026-10-13T21:00:00Z"))
    );
    // +0d 17:00 on 2 November, now EST (−05:00).
    assert_eq!(
        task(&p, "revoke-integrations").due_at,
        Some(ts("2026-11-02T22:00:00Z"))
    );
    assert_eq!(
        p.tasks.len(),
        13,
        "client-standard has no conditional tasks"
    );

    // Once the work has a new owner, access is off and the balance is paid: nothing fires.
    let s = subject(
        SubjectKind::Client,
        &[("account_manager", "am@example.com")],
    );
    let done = [
        record(
            1,
            RecordKind::WorkItem,
            &[("title", "Q3 report"), ("new_owner", "ann@example.com")],
        ),
        record(
            2,
            RecordKind::Account,
            &[
                ("system", "ldap"),
                ("identifier", "acme"),
                ("status", "disabled"),
            ],
        ),
        record(
            3,
            RecordKind::Integration,
            &[("name", "Slack"), ("status", "revoked")],
        ),
    ];
    assert!(
        dry_run(&bp, &s, &done, date(2026, 11, 2))
            .findings
            .is_empty()
    );
    // An active integration alone is enough for the blocker.
    let integration = [record(3, RecordKind::Integration, &[("name", "Slack")])];
    let p = dry_run(&bp, &s, &integration, date(2026, 11, 2));
    assert_eq!(p.findings.len(), 1);
    assert_eq!(p.findings[0].check_id.as_str(), "active-accounts");
}

#[test]
fn client_file_parties_get_the_party_blueprint_and_others_the_standard_one() {
    let standard = builtin("client-standard");
    let party = builtin("party");
    for (service, wants_party) in [("client-file", true), ("consulting", false), ("", false)] {
        let s = subject(SubjectKind::Client, &[("service_type", service)]);
        let applies = |bp: &Blueprint| {
            let view = SubjectView::new(&s, &[], None, &bp.attributes);
            bp.applies_when.as_ref().unwrap().evaluate(&view).unwrap()
        };
        assert_eq!(applies(&party), wants_party, "{service:?}");
        assert_eq!(applies(&standard), !wants_party, "{service:?}");
    }
}

#[test]
fn a_product_waits_for_its_party_to_be_offboarded() {
    let bp = builtin("product");
    let product = subject(SubjectKind::Product, &[]);
    let mut party = subject(SubjectKind::Client, &[]);
    let blockers = |parent: Option<&Subject>| -> Vec<String> {
        try_dry_run(&bp, &product, &[], parent, date(2026, 5, 4))
            .unwrap()
            .findings
            .iter()
            .map(|f| format!("{} {}", f.check_id, f.severity.as_str()))
            .collect()
    };
    assert_eq!(blockers(Some(&party)), ["party-not-offboarded blocker"]);
    party.state = SubjectState::Offboarding;
    assert_eq!(blockers(Some(&party)), ["party-not-offboarded blocker"]);
    party.state = SubjectState::Offboarded;
    assert!(blockers(Some(&party)).is_empty());
    // A product with no party on file is not let through.
    assert_eq!(blockers(None), ["party-not-offboarded blocker"]);
}

#[test]
fn an_organization_case_is_owned_by_the_case_owner() {
    let bp = builtin("organization");
    let org = subject(SubjectKind::Organization, &[("timezone", "Asia/Tokyo")]);
    let p = dry_run(&bp, &org, &[], date(2026, 12, 31));
    assert_eq!(
        ids(&p),
        [
            "confirm-scope",
            "track-client-cases",
            "revoke-org-integrations",
            "schedule-tenant-purge"
        ]
    );
    assert_eq!(task(&p, "confirm-scope").owner_label, OWNER);
    // -30d at 17:00 in Tokyo (+09:00).
    assert_eq!(
        task(&p, "confirm-scope").due_at,
        Some(ts("2026-12-01T08:00:00Z"))
    );
    // +30d runs into the next year.
    assert_eq!(
        task(&p, "schedule-tenant-purge").due_at,
        Some(ts("2027-01-30T08:00:00Z"))
    );
}

const CONDITIONAL: &str = r#"id: conditional
version: 1
title: Conditional
scope: employee
stages:
  - id: only
    title: Only
    tasks:
      - id: keys
        title: Return the server keys
        team: it
        when: attrs.role == "engineer"
      - id: handover
        title: Hand over
        role: line_manager
        depends_on: [keys]
      - id: undated
        title: No due date
        team: hr
"#;

#[test]
fn a_dependency_on_a_skipped_task_is_already_satisfied() {
    let bp = blueprint(CONDITIONAL);
    let deps = |role: &str| -> Vec<String> {
        let s = subject(SubjectKind::Employee, &[("role", role)]);
        let p = dry_run(&bp, &s, &[], date(2026, 1, 5));
        task(&p, "handover")
            .depends_on
            .iter()
            .map(ToString::to_string)
            .collect()
    };
    assert_eq!(deps("engineer"), ["keys"]);
    assert!(deps("designer").is_empty());
    // A task without `due` has no due instant.
    let s = subject(SubjectKind::Employee, &[]);
    assert_eq!(
        task(&dry_run(&bp, &s, &[], date(2026, 1, 5)), "undated").due_at,
        None
    );
}

#[test]
fn a_condition_that_is_not_true_or_false_stops_the_plan_naming_where() {
    // Lint refuses `when: attrs.role`, but cannot tell what an index gives.
    let when = blueprint(&CONDITIONAL.replace(
        "when: attrs.role == \"engineer\"",
        "when: \"[attrs.role][0]\"",
    ));
    let s = subject(SubjectKind::Employee, &[("role", "engineer")]);
    let err = try_dry_run(&when, &s, &[], None, date(2026, 1, 5)).unwrap_err();
    assert_eq!(err.blueprint, "conditional");
    assert_eq!(err.place, "`when` of task `keys`");
    assert!(
        matches!(&err.error, EvalError::NotBool { expression, .. } if expression == "[attrs.role][0]"),
        "{err}"
    );
    assert!(
        err.to_string()
            .starts_with("blueprint conditional: `when` of task `keys`: `[attrs.role][0]` gave "),
        "{err}"
    );

    let check = blueprint(&format!(
        "{CONDITIONAL}checks:\n  - id: balance\n    severity: warning\n    condition: '[attrs.balance_outstanding][0]'\n    message: Money.\n"
    ));
    let err = try_dry_run(&check, &s, &[], None, date(2026, 1, 5)).unwrap_err();
    assert_eq!(err.place, "check `balance`");
}

// ---- Properties -----------------------------------------------------------------------------

const ZONES: &[&str] = &[
    "",
    "Europe/Berlin",
    "America/New_York",
    "Australia/Sydney",
    "Asia/Kolkata",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Every employee task is planned or skipped, by its condition; planned tasks carry their
    /// blueprint's stage, owner and dependencies and are due at 17:00 on the right local date.
    #[test]
    fn every_employee_task_is_planned_or_skipped_by_its_condition(
        role in prop::sample::select(vec!["engineer", "manager", "sales", ""]),
        country in prop::sample::select(vec!["DE", "FR", ""]),
        manager in any::<bool>(),
        zone_name in prop::sample::select(ZONES),
        exit in (0i64..5000).prop_map(|n| date(2024, 1, 1).checked_add(jiff::Span::new().days(n)).unwrap()),
    ) {
        let bp = builtin("employee-standard");
        let mut attrs = vec![("role", role), ("country", country), ("timezone", zone_name)];
        if manager {
            attrs.push(("manager", "mia@example.com"));
        }
        let s = subject(SubjectKind::Employee, &attrs);
        let p = dry_run(&bp, &s, &[], exit);
        let tz = if zone_name.is_empty() { TimeZone::UTC } else { TimeZone::get(zone_name).unwrap() };
        prop_assert_eq!(&p.time_zone, if zone_name.is_empty() { "UTC" } else { zone_name });

        let included = |id: &str| match id {
            "revoke-production-access" => role == "engineer",
            "reassign-reports" => role == "manager",
            "employment-reference" => country == "DE",
            _ => true,
        };
        let mut planned = p.tasks.iter().peekable();
        let mut skipped = p.skipped.iter().peekable();
        for (stage, def) in bp.tasks() {
            if included(def.id.as_str()) {
                let t = planned.next().unwrap();
                prop_assert_eq!(&t.id, &def.id);
                prop_assert_eq!(&t.stage, &stage.id);
                prop_assert_eq!(&t.owner, &def.owner);
                prop_assert_eq!(t.kind, def.kind);
                let label = match &def.owner {
                    Owner::Team(team) => format!("team {team}"),
                    Owner::Role(OwnerRole::LineManager) if manager => "mia@example.com".to_owned(),
                    Owner::Role(_) => OWNER.to_owned(),
                };
                prop_assert_eq!(&t.owner_label, &label);
                prop_assert_eq!(&t.depends_on, &def.depends_on);
                let offset = def.due.unwrap();
                let local = t.due_at.unwrap().to_zoned_datetime(tz.clone());
                prop_assert_eq!(local.date(), offset.date_from(exit));
                prop_assert_eq!(local.time(), offset.at);
            } else {
                let s = skipped.next().unwrap();
                prop_assert_eq!(&s.id, &def.id);
                prop_assert_eq!(&s.stage, &stage.id);
                prop_assert_eq!(Some(s.when.as_str()), def.when.as_ref().map(|w| w.source()));
            }
        }
        prop_assert!(planned.peek().is_none() && skipped.peek().is_none());
        let warned = p.findings.iter().any(|f| f.check_id.as_str() == "no-line-manager");
        prop_assert_eq!(warned, !manager);
        prop_assert_eq!(p.findings.len(), usize::from(!manager));
    }

    /// The client checks fire exactly when the records say so.
    #[test]
    fn client_checks_fire_exactly_when_the_records_say_so(
        work_items in prop::collection::vec(any::<bool>(), 0..3),
        accounts in prop::collection::vec(any::<bool>(), 0..3),
        integrations in prop::collection::vec(any::<bool>(), 0..3),
        balance in prop::sample::select(vec!["", "0", "0.00", "0.01", "1250.50", "-5"]),
        account_manager in any::<bool>(),
    ) {
        let bp = builtin("client-standard");
        let mut attrs = vec![("balance_outstanding", balance)];
        if account_manager {
            attrs.push(("account_manager", "am@example.com"));
        }
        let s = subject(SubjectKind::Client, &attrs);
        let mut records = Vec::new();
        let mut n = 0;
        for handed in &work_items {
            n += 1;
            let mut f = vec![("title", "work")];
            if *handed {
                f.push(("new_owner", "ann@example.com"));
            }
            records.push(record(n, RecordKind::WorkItem, &f));
        }
        for active in &accounts {
            n += 1;
            let status = if *active { "active" } else { "disabled" };
            records.push(record(n, RecordKind::Account, &[("system", "ldap"), ("identifier", "x"), ("status", status)]));
        }
        for active in &integrations {
            n += 1;
            let status = if *active { "active" } else { "revoked" };
            records.push(record(n, RecordKind::Integration, &[("name", "app"), ("status", status)]));
        }
        let p = dry_run(&bp, &s, &records, date(2026, 7, 1));
        let mut want = Vec::new();
        if work_items.iter().any(|handed| !handed) {
            want.push("open-work-items");
        }
        if accounts.iter().chain(&integrations).any(|active| *active) {
            want.push("active-accounts");
        }
        if balance.parse::<f64>().is_ok_and(|b| b > 0.0) {
            want.push("outstanding-balance");
        }
        if !account_manager {
            want.push("no-account-manager");
        }
        let got: Vec<&str> = p.findings.iter().map(|f| f.check_id.as_str()).collect();
        prop_assert_eq!(got, want);
    }
}
