//! The store contract: the same scenarios, through the use cases, on SQLite and on PostgreSQL.
//!
//! Why one file of this length: each scenario is a whole case's life on both stores, sharing
//! one set of fixtures; the file is a list of such lives.

use std::sync::Arc;

use engine::audit::{AuditDraft, AuditEvent, ChainBreak};
use engine::blueprint::Severity;
use engine::case::{CaseError, CaseStatus, FindingStatus, Resolution, TaskStatus};
use engine::export::ExportStatus;
use engine::fields::{PersonName, Reason, RevocationNote, TaskNote, TenantName};
use engine::ids::{Email, Slug, SubjectKey, Text};
use engine::job::{JobKind, JobStatus};
use engine::revocation::RevocationStatus;
use engine::subject::{Attributes, RecordFields, RecordKind, SubjectKind, SubjectState};
use exeunt_app::{
    Actor, App, AppError, BlueprintChoice, Download, FixedClock, Ids, MasterKey, NewSubject,
    StartCase, Upload,
};
use jiff::civil::date;
use store::{CaseFilter, Store, SubjectFilter};
use testkit::TestDb;

fn key(s: &str) -> SubjectKey {
    SubjectKey::parse(s).unwrap()
}

fn slug(s: &str) -> Slug {
    Slug::parse(s).unwrap()
}

fn app_on(db: &TestDb) -> App {
    let clock = FixedClock::new("2026-11-23T09:00:00Z".parse().unwrap());
    App::new(
        db.store.clone(),
        Arc::new(clock),
        Arc::new(Ids::seeded(7)),
        MasterKey::from_bytes([7; 32]),
    )
}

async fn init(app: &App) -> Actor {
    app.init_tenant(
        slug("acme-services"),
        TenantName::parse("Acme Services").unwrap(),
        Email::parse("owner@example.com").unwrap(),
        PersonName::parse("Olive Owner").unwrap(),
    )
    .await
    .unwrap()
}

async fn add(
    app: &App,
    actor: &Actor,
    k: &str,
    kind: SubjectKind,
    parent: Option<&str>,
    attrs: &[(&str, &str)],
) {
    let subject = NewSubject {
        key: key(k),
        kind,
        name: Text::line(&format!("Subject {k}"), 100).unwrap(),
        parent: parent.map(key),
        attributes: Attributes::parse(attrs.iter().copied()).unwrap(),
    };
    app.add_subjects(actor, vec![subject])
        .await
        .map_err(|(_, e)| e)
        .unwrap();
}

async fn record(app: &App, actor: &Actor, k: &str, kind: RecordKind, fields: &[(&str, &str)]) {
    let fields = RecordFields::parse(kind, fields.iter().copied()).unwrap();
    app.add_record(actor, &key(k), kind, fields).await.unwrap();
}

async fn start(
    app: &App,
    actor: &Actor,
    k: &str,
    blueprint: Option<&str>,
) -> Result<i64, AppError> {
    let started = app
        .start_case(
            actor,
            StartCase {
                subject: key(k),
                blueprint: blueprint.map(|b| BlueprintChoice::Id(slug(b))),
                exit_date: date(2026, 12, 31),
                owner: None,
                confirmation: None,
            },
        )
        .await?;
    Ok(started.number)
}

/// A downloaded file, whole.
async fn read_all(mut download: Download) -> Vec<u8> {
    let mut all = Vec::new();
    while let Some(piece) = download.next_piece().await.unwrap() {
        all.extend(piece);
    }
    all
}

/// A one-task blueprint, for cases that only need to reach their close.
const QUICK_BLUEPRINT: &str = "id: quick\nversion: 1\ntitle: Quick\nscope: client\nstages:\n  - id: only\n    title: Only\n    tasks:\n      - id: wrap-up\n        title: Wrap up\n        team: operations\n";

fn evidence() -> Vec<Upload> {
    vec![Upload {
        file_name: "proof.txt".into(),
        content: b"done".to_vec(),
    }]
}

/// Completes every open task of a case in order, with evidence, building its export first.
async fn complete_all(app: &App, actor: &Actor, number: i64) {
    app.request_export(actor, number).await.unwrap();
    while app.build_next_export().await.unwrap().is_some() {}
    let reason = Reason::parse("Handed over in person").unwrap();
    app.waive_acknowledgement(actor, number, reason)
        .await
        .unwrap();
    let view = app.case(actor, number).await.unwrap();
    for task in view
        .file
        .tasks
        .iter()
        .filter(|t| t.status == TaskStatus::Open)
    {
        app.complete_task(
            actor,
            number,
            &task.id,
            TaskNote::parse("done").ok(),
            evidence(),
        )
        .await
        .unwrap();
    }
}

async fn client_case_runs_to_completion(db: TestDb) {
    let app = app_on(&db);
    let actor = init(&app).await;
    add(
        &app,
        &actor,
        "acme",
        SubjectKind::Client,
        None,
        &[("country", "DE"), ("timezone", "Europe/Berlin")],
    )
    .await;
    record(
        &app,
        &actor,
        "acme",
        RecordKind::WorkItem,
        &[("title", "Q4 report")],
    )
    .await;
    record(
        &app,
        &actor,
        "acme",
        RecordKind::Account,
        &[
            ("system", "github"),
            ("identifier", "acme-ci"),
            ("status", "active"),
        ],
    )
    .await;
    let n = start(&app, &actor, "acme", None).await.unwrap();
    let view = app.case(&actor, n).await.unwrap();
    assert_eq!(
        view.file.case.blueprint_id.as_str(),
        "client-standard",
        "applies_when picks the standard blueprint"
    );
    assert_eq!(view.file.case.status, CaseStatus::Open);
    assert_eq!(
        app.subject(&actor, &key("acme"))
            .await
            .unwrap()
            .subject
            .state,
        SubjectState::Offboarding
    );

    // Tasks follow their stage gates and dependencies.
    let err = app
        .complete_task(&actor, n, &slug("freeze-records"), None, vec![])
        .await
        .unwrap_err();
    assert!(
        matches!(err, AppError::Case(CaseError::StageNotDone { .. })),
        "{err}"
    );
    let err = app
        .complete_task(&actor, n, &slug("set-expectations"), None, vec![])
        .await
        .unwrap_err();
    assert!(
        matches!(err, AppError::Case(CaseError::EvidenceRequired { .. })),
        "{err}"
    );

    for t in [
        "set-expectations",
        "account-transition",
        "confirm-final-invoice",
        "freeze-records",
    ] {
        app.complete_task(&actor, n, &slug(t), None, evidence())
            .await
            .unwrap();
    }

    // The export task waits for a package that is built.
    let archive = slug("data-archiving");
    let err = app
        .complete_task(&actor, n, &archive, None, evidence())
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("no export was requested yet"),
        "{err}"
    );
    let requested = app.request_export(&actor, n).await.unwrap();
    let again = app.request_export(&actor, n).await.unwrap();
    assert_eq!(requested.id, again.id, "one export waits at a time");
    let err = app
        .complete_task(&actor, n, &archive, None, evidence())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("the export is queued"), "{err}");
    let built = app.build_next_export().await.unwrap().unwrap();
    assert_eq!(built.status, ExportStatus::Ready, "{:?}", built.failure);
    assert!(app.build_next_export().await.unwrap().is_none());
    let package = read_all(app.export_package(&actor, n).await.unwrap()).await;
    let bag = bagit::verify(std::io::Cursor::new(&package)).unwrap();
    assert!(bag.payload_files >= 5, "{bag:?}");
    // Delivering it waits for the client's acknowledgement, given through the signed link.
    app.complete_task(&actor, n, &archive, None, evidence())
        .await
        .unwrap();
    let deliver = slug("deliver-export");
    let err = app
        .complete_task(&actor, n, &deliver, None, evidence())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("has not acknowledged"), "{err}");
    let (token, _) = app.receive_link(&actor, n, 14).await.unwrap();
    let name = Text::line("Ann Client", 100).unwrap();
    app.acknowledge_delivery(&token, name, "192.0.2.7".into())
        .await
        .unwrap();
    let acknowledged = app.exports(&actor, n).await.unwrap()[0]
        .acknowledged
        .clone()
        .unwrap();
    assert_eq!(
        (acknowledged.name.as_str(), acknowledged.from.as_str()),
        ("Ann Client", "192.0.2.7")
    );
    assert!(matches!(
        app.delivery(&format!("{token}x")).await,
        Err(AppError::NotFound(_))
    ));
    for t in ["deliver-export", "asset-return"] {
        app.complete_task(&actor, n, &slug(t), None, evidence())
            .await
            .unwrap();
    }

    // Revoke completes only when every account is verified gone (or waived).
    let revoke = slug("revoke-integrations");
    let err = app
        .complete_task(&actor, n, &revoke, None, evidence())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, AppError::Case(CaseError::GateShut { outstanding, .. }) if outstanding.contains("github account acme-ci")),
        "{err}"
    );
    let err = app
        .set_revocation(&actor, n, 2, RevocationStatus::Verified, None)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, AppError::Invalid { field, .. } if field == "note"),
        "{err}"
    );
    let item = app
        .set_revocation(&actor, n, 2, RevocationStatus::Revoked, None)
        .await
        .unwrap();
    assert_eq!(item.status, RevocationStatus::Revoked);
    let account = app.subject(&actor, &key("acme")).await.unwrap().records[1].clone();
    assert_eq!(
        account.fields.get("status"),
        Some("disabled"),
        "revoking disables the account record, frozen or not"
    );
    let err = app
        .complete_task(&actor, n, &revoke, None, evidence())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, AppError::Case(CaseError::GateShut { .. })),
        "revoked is not yet verified: {err}"
    );
    let note = RevocationNote::parse("sign-in refused when tried").unwrap();
    app.set_revocation(&actor, n, 2, RevocationStatus::Verified, Some(note))
        .await
        .unwrap();
    let err = app
        .set_revocation(&actor, n, 2, RevocationStatus::Revoked, None)
        .await
        .unwrap_err();
    assert!(
        matches!(err, AppError::Conflict(_)),
        "verified is final: {err}"
    );
    let err = app
        .set_revocation(&actor, n, 1, RevocationStatus::Revoked, None)
        .await
        .unwrap_err();
    assert!(
        matches!(err, AppError::NotFound(_)),
        "a work item is not access: {err}"
    );
    app.complete_task(&actor, n, &revoke, None, evidence())
        .await
        .unwrap();

    // Handoff waits for the blockers precheck found, then for a named owner of every work item.
    let err = app
        .complete_task(&actor, n, &slug("knowledge-transfer"), None, vec![])
        .await
        .unwrap_err();
    assert!(
        matches!(&err, AppError::Case(CaseError::Blocked { check, .. }) if check == "open-work-items" || check == "active-accounts"),
        "{err}"
    );
    // A blank reason cannot be given at all: the type a waiver takes refuses it.
    assert_eq!(Reason::parse("  "), Err(engine::ids::TextError::Empty));
    let file = app.precheck(&actor, n).await.unwrap();
    let status_of = |check: &str| {
        file.findings
            .iter()
            .find(|f| f.finding.check_id.as_str() == check)
            .map(|f| f.status)
    };
    assert_eq!(
        status_of("active-accounts"),
        Some(FindingStatus::Resolved),
        "re-running precheck after revoking clears the blocker"
    );
    assert_eq!(status_of("open-work-items"), Some(FindingStatus::Open));
    let stranger = Email::parse("nobody@elsewhere.example").unwrap();
    let err = app.hand_off(&actor, n, 1, &stranger).await.unwrap_err();
    assert!(
        matches!(&err, AppError::Invalid { field, .. } if field == "new_owner"),
        "{err}"
    );
    let handed = app.hand_off(&actor, n, 1, &actor.user.email).await.unwrap();
    assert_eq!(
        handed.fields.get("new_owner"),
        Some(actor.user.email.as_str())
    );
    let file = app.precheck(&actor, n).await.unwrap();
    assert!(
        file.findings
            .iter()
            .all(|f| f.finding.severity != Severity::Blocker || f.status != FindingStatus::Open),
        "no blocker is left once the work has an owner"
    );
    complete_all(&app, &actor, n).await;

    let view = app.case(&actor, n).await.unwrap();
    assert_eq!(view.file.case.status, CaseStatus::Review);
    let err = app.close_case(&actor, n, "terminate").await.unwrap_err();
    assert!(
        matches!(err, AppError::Case(CaseError::WrongConfirmation { .. })),
        "a mistyped word is refused"
    );
    app.close_case(&actor, n, "TERMINATE").await.unwrap();

    let view = app.case(&actor, n).await.unwrap();
    assert_eq!(
        (view.file.case.status, view.file.case.resolution),
        (CaseStatus::Done, Some(Resolution::Completed))
    );
    assert_eq!(
        view.evidence.len(),
        view.file.tasks.len() + 1,
        "one evidence file per completed task, and the client's acknowledgement"
    );
    assert!(
        view.evidence
            .iter()
            .any(|e| e.file_name == "acknowledgement.json")
    );
    assert_eq!(
        app.subject(&actor, &key("acme"))
            .await
            .unwrap()
            .subject
            .state,
        SubjectState::Offboarded
    );
    let listed = app
        .subjects(
            &actor,
            &SubjectFilter {
                limit: 100,
                ..SubjectFilter::default()
            },
        )
        .await
        .unwrap();
    assert!(
        listed.is_empty(),
        "an offboarded subject is hidden from the default listing"
    );

    // Done is final.
    let err = app
        .cancel_case(&actor, n, &Reason::parse("changed our mind").unwrap())
        .await
        .unwrap_err();
    assert!(
        matches!(err, AppError::Case(CaseError::Final { .. })),
        "{err}"
    );
    let err = app
        .assign_task(&actor, n, &slug("schedule-purge"), None)
        .await
        .unwrap_err();
    assert!(
        matches!(err, AppError::Case(CaseError::Final { .. })),
        "{err}"
    );
    assert!(app.verify_audit(&actor).await.unwrap() > 20);
}

async fn one_open_case_per_subject_and_cancel_keeps_history(db: TestDb) {
    let app = app_on(&db);
    let actor = init(&app).await;
    add(&app, &actor, "acme", SubjectKind::Client, None, &[]).await;
    let n = start(&app, &actor, "acme", None).await.unwrap();
    let err = start(&app, &actor, "acme", None).await.unwrap_err();
    assert!(
        matches!(&err, AppError::Conflict(m) if m.contains("already has an open case")),
        "{err}"
    );

    app.complete_task(&actor, n, &slug("account-transition"), None, vec![])
        .await
        .unwrap();
    // A blank reason cannot be given at all: the type a cancellation takes refuses it.
    assert_eq!(Reason::parse(""), Err(engine::ids::TextError::Empty));
    app.cancel_case(&actor, n, &Reason::parse("the client renewed").unwrap())
        .await
        .unwrap();
    let view = app.case(&actor, n).await.unwrap();
    assert_eq!(view.file.case.resolution, Some(Resolution::Cancelled));
    assert_eq!(view.file.tasks.len(), 13, "cancelling keeps every task");
    assert_eq!(
        view.file.task("account-transition").unwrap().status,
        TaskStatus::Done
    );
    assert_eq!(
        app.subject(&actor, &key("acme"))
            .await
            .unwrap()
            .subject
            .state,
        SubjectState::Active
    );
    // A new case can start once the old one is done.
    assert!(start(&app, &actor, "acme", None).await.unwrap() > n);
}

async fn employee_tasks_depend_on_country_and_role(db: TestDb) {
    let app = app_on(&db);
    let actor = init(&app).await;
    add(
        &app,
        &actor,
        "dev-de",
        SubjectKind::Employee,
        None,
        &[("country", "DE"), ("role", "engineer")],
    )
    .await;
    add(
        &app,
        &actor,
        "ops-us",
        SubjectKind::Employee,
        None,
        &[("country", "US"), ("role", "analyst")],
    )
    .await;
    let de = app
        .case(&actor, start(&app, &actor, "dev-de", None).await.unwrap())
        .await
        .unwrap();
    let us = app
        .case(&actor, start(&app, &actor, "ops-us", None).await.unwrap())
        .await
        .unwrap();
    assert!(
        de.file.task("employment-reference").is_some()
            && de.file.task("revoke-production-access").is_some()
    );
    assert!(
        us.file.task("employment-reference").is_none()
            && us.file.task("revoke-production-access").is_none()
    );
    // The four threads after confirmation open together; sign-off waits for all of them.
    let n = us.file.case.number;
    app.complete_task(&actor, n, &slug("confirm-exit-date"), None, evidence())
        .await
        .unwrap();
    app.complete_task(&actor, n, &slug("settle-final-pay"), None, vec![])
        .await
        .unwrap();
    app.complete_task(&actor, n, &slug("transition-plan"), None, vec![])
        .await
        .unwrap();
    let err = app
        .complete_task(&actor, n, &slug("exit-interview"), None, vec![])
        .await
        .unwrap_err();
    assert!(
        matches!(err, AppError::Case(CaseError::StageNotDone { .. })),
        "{err}"
    );
}

async fn organization_fans_out_and_waits_for_children(db: TestDb) {
    let app = app_on(&db);
    let actor = init(&app).await;
    add(
        &app,
        &actor,
        "acme-services",
        SubjectKind::Organization,
        None,
        &[],
    )
    .await;
    add(&app, &actor, "a", SubjectKind::Client, None, &[]).await;
    add(
        &app,
        &actor,
        "b",
        SubjectKind::Client,
        None,
        &[("service_type", "client-file")],
    )
    .await;
    let started = app
        .start_case(
            &actor,
            StartCase {
                subject: key("acme-services"),
                blueprint: None,
                exit_date: date(2027, 3, 31),
                owner: None,
                confirmation: Some("acme-services".to_owned()),
            },
        )
        .await
        .unwrap();
    assert_eq!(started.children.len(), 2);
    let org = started.number;
    complete_all(&app, &actor, org).await;
    let err = app.close_case(&actor, org, "TERMINATE").await.unwrap_err();
    assert!(
        matches!(err, AppError::Case(CaseError::OpenChildren { .. })),
        "{err}"
    );
    let children = app
        .cases(
            &actor,
            &CaseFilter {
                limit: 100,
                ..CaseFilter::default()
            },
        )
        .await
        .unwrap();
    let party = children
        .iter()
        .find(|c| c.subject_key.as_str() == "b")
        .unwrap();
    assert_eq!(
        party.blueprint_id.as_str(),
        "party",
        "a client-file client gets the party blueprint"
    );
    for child in &started.children {
        complete_all(&app, &actor, *child).await;
        app.close_case(&actor, *child, "TERMINATE").await.unwrap();
    }
    app.close_case(&actor, org, "TERMINATE").await.unwrap();

    // The organization's data goes, except what a legal hold protects.
    use engine::governance::Retention;
    app.set_retention(&actor, None, Retention::parse("0").unwrap())
        .await
        .unwrap();
    app.place_hold(
        &actor,
        Some(&key("a")),
        Reason::parse("Dispute with client a").unwrap(),
    )
    .await
    .unwrap();
    let purged = app.purge_due(&actor).await.unwrap().purged;
    assert_eq!(purged.len(), 2, "client b and the organization itself");
    let state = async |k: &str| app.subject(&actor, &key(k)).await.unwrap().subject.state;
    assert_eq!(state("a").await, SubjectState::Offboarded, "held, so kept");
    assert_eq!(state("b").await, SubjectState::Purged);
    assert_eq!(state("acme-services").await, SubjectState::Purged);
}

async fn product_waits_for_its_party(db: TestDb) {
    let app = app_on(&db);
    let actor = init(&app).await;
    add(
        &app,
        &actor,
        "party-1",
        SubjectKind::Client,
        None,
        &[("service_type", "client-file")],
    )
    .await;
    add(
        &app,
        &actor,
        "product-1",
        SubjectKind::Product,
        Some("party-1"),
        &[],
    )
    .await;
    let product = start(&app, &actor, "product-1", None).await.unwrap();
    let err = app
        .complete_task(&actor, product, &slug("end-product"), None, vec![])
        .await
        .unwrap_err();
    assert!(
        matches!(&err, AppError::Case(CaseError::Blocked { check, .. }) if check == "party-not-offboarded"),
        "{err}"
    );

    let party = start(&app, &actor, "party-1", Some("party")).await.unwrap();
    complete_all(&app, &actor, party).await;
    app.close_case(&actor, party, "TERMINATE").await.unwrap();
    // Re-running precheck after the party is offboarded clears the blocker.
    let file = app.precheck(&actor, product).await.unwrap();
    assert_eq!(file.findings[0].status, FindingStatus::Resolved);
    complete_all(&app, &actor, product).await;
    app.close_case(&actor, product, "TERMINATE").await.unwrap();
}

async fn bad_input_changes_nothing(db: TestDb) {
    let app = app_on(&db);
    let actor = init(&app).await;
    let events = app.verify_audit(&actor).await.unwrap();
    add(&app, &actor, "acme", SubjectKind::Client, None, &[]).await;
    let batch = vec![
        NewSubject {
            key: key("ok-1"),
            kind: SubjectKind::Client,
            name: Text::line("Fine", 10).unwrap(),
            parent: None,
            attributes: Attributes::default(),
        },
        NewSubject {
            key: key("prod"),
            kind: SubjectKind::Product,
            name: Text::line("Orphan", 10).unwrap(),
            parent: None,
            attributes: Attributes::default(),
        },
    ];
    let (row, err) = app.add_subjects(&actor, batch).await.unwrap_err();
    assert_eq!(row, 1);
    assert!(matches!(err, AppError::Invalid { .. }), "{err}");
    let all = app
        .subjects(
            &actor,
            &SubjectFilter {
                include_offboarded: true,
                limit: 100,
                ..SubjectFilter::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(all.len(), 1, "a refused batch adds nothing");
    assert_eq!(
        app.verify_audit(&actor).await.unwrap(),
        events + 1,
        "only the good subject was audited"
    );
    let err = start(&app, &actor, "acme", Some("employee-standard"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, AppError::Invalid { .. }),
        "a blueprint of the wrong scope is refused: {err}"
    );
    assert!(
        app.cases(
            &actor,
            &CaseFilter {
                limit: 10,
                ..CaseFilter::default()
            }
        )
        .await
        .unwrap()
        .is_empty()
    );
}

/// Someone with access to the database changes, erases and deletes audit events behind the
/// store's back: verification finds each change, and checks long chains in ranges.
async fn audit_tampering_is_detected(db: TestDb) {
    let app = app_on(&db);
    tampering_is_detected(&app, &db).await;
    long_chains_are_checked_in_ranges(&app, &db).await;
}

/// Tampers with stored audit events with raw SQL and checks that verify names the event.
async fn tampering_is_detected(app: &App, db: &TestDb) {
    let actor = init(app).await;
    add(app, &actor, "acme", SubjectKind::Client, None, &[]).await;
    start(app, &actor, "acme", None).await.unwrap();
    let total = app.verify_audit(&actor).await.unwrap();
    assert!(total >= 12);

    db.execute_behind_the_store(
        "UPDATE audit_events SET payload = replace(payload, 'acme', 'acmf') WHERE seq = 10",
    )
    .await;
    assert!(matches!(
        app.verify_audit(&actor).await,
        Err(AppError::Chain(ChainBreak::PayloadAltered { seq: 10, .. }))
    ));
    db.execute_behind_the_store(
        "UPDATE audit_events SET payload = replace(payload, 'acmf', 'acme') WHERE seq = 10",
    )
    .await;
    assert_eq!(app.verify_audit(&actor).await.unwrap(), total);

    db.execute_behind_the_store("UPDATE audit_events SET at_us = at_us + 1 WHERE seq = 4")
        .await;
    assert!(matches!(
        app.verify_audit(&actor).await,
        Err(AppError::Chain(ChainBreak::Altered { seq: 4, .. }))
    ));
    db.execute_behind_the_store("UPDATE audit_events SET at_us = at_us - 1 WHERE seq = 4")
        .await;

    db.execute_behind_the_store("UPDATE audit_events SET payload = NULL WHERE seq = 5")
        .await;
    assert_eq!(
        app.verify_audit(&actor).await.unwrap(),
        total,
        "an erased payload keeps the chain whole"
    );

    db.execute_behind_the_store("DELETE FROM audit_events WHERE seq = 6")
        .await;
    assert!(matches!(
        app.verify_audit(&actor).await,
        Err(AppError::Chain(ChainBreak::Missing {
            expected: 6,
            found: 7
        }))
    ));
}

/// A chain long enough to be checked in several ranges at once still names the first broken
/// link, wherever it is, including at the edges between ranges.
async fn long_chains_are_checked_in_ranges(app: &App, db: &TestDb) {
    const EVENTS: i64 = 24_000;
    let actor = app
        .init_tenant(
            slug("long-chain"),
            TenantName::parse("Long Chain").unwrap(),
            Email::parse("owner@long.example").unwrap(),
            PersonName::parse("Lee Long").unwrap(),
        )
        .await
        .unwrap();
    let tenant = actor.tenant.id;
    let mut tx = app.store().write().await.unwrap();
    let mut prev = tx.audit_head(tenant).await.unwrap().unwrap();
    let at = "2026-11-23T10:00:00Z".parse().unwrap();
    let events: Vec<AuditEvent> = (0..EVENTS - prev.0)
        .map(|i| {
            let event = AuditEvent::chain(
                tenant,
                prev,
                at,
                AuditDraft {
                    actor: "user:bench".into(),
                    action: "note.added",
                    target_kind: "note",
                    target_id: i.to_string(),
                    subject: None,
                    digest_key: None,
                    payload: serde_json::json!({"summary": format!("note {i}")}),
                },
            );
            prev = (event.seq, event.hash);
            event
        })
        .collect();
    tx.import_audit_events(tenant, &events).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(app.verify_audit(&actor).await.unwrap(), EVENTS);

    let of_tenant = "tenant_id = (SELECT id FROM tenants WHERE slug = 'long-chain')";
    // Around the middle, where two ranges meet on two cores, and at the ends.
    for seq in [1, EVENTS / 2 - 1, EVENTS / 2, EVENTS / 2 + 1, EVENTS] {
        db.execute_behind_the_store(&format!(
            "UPDATE audit_events SET at_us = at_us + 1 WHERE seq = {seq} AND {of_tenant}"
        ))
        .await;
        let err = app.verify_audit(&actor).await.unwrap_err();
        assert!(
            matches!(err, AppError::Chain(ChainBreak::Altered { seq: s, .. }) if s == seq),
            "altering event {seq}: {err}"
        );
        db.execute_behind_the_store(&format!(
            "UPDATE audit_events SET at_us = at_us - 1 WHERE seq = {seq} AND {of_tenant}"
        ))
        .await;
    }
    for seq in [EVENTS / 2, EVENTS / 2 + 1] {
        db.execute_behind_the_store(&format!(
            "UPDATE audit_events SET seq = -seq WHERE seq = {seq} AND {of_tenant}"
        ))
        .await;
        let err = app.verify_audit(&actor).await.unwrap_err();
        assert!(
            matches!(err, AppError::Chain(ChainBreak::Missing { expected, found }) if expected == seq && found == seq + 1),
            "hiding event {seq}: {err}"
        );
        db.execute_behind_the_store(&format!(
            "UPDATE audit_events SET seq = -seq WHERE seq = -{seq} AND {of_tenant}"
        ))
        .await;
    }
    db.execute_behind_the_store(&format!(
        "DELETE FROM audit_events WHERE seq > {} AND {of_tenant}",
        EVENTS - 3
    ))
    .await;
    let err = app.verify_audit(&actor).await.unwrap_err();
    assert!(
        matches!(err, AppError::Chain(ChainBreak::Truncated { last, head }) if last == EVENTS - 3 && head == EVENTS),
        "{err}"
    );
}

async fn the_demo_has_cases_in_every_status(db: TestDb) {
    let app = app_on(&db);
    let logins = app.load_demo().await.unwrap();
    let roles: Vec<_> = logins.iter().map(|l| l.role.as_str()).collect();
    assert_eq!(
        roles,
        ["owner", "manager", "member", "member", "member", "auditor"]
    );
    let owner = app.actor(Some(&slug("demo")), None).await.unwrap();
    let cases = app
        .cases(
            &owner,
            &CaseFilter {
                limit: 100,
                ..CaseFilter::default()
            },
        )
        .await
        .unwrap();
    let statuses: Vec<(String, String)> = cases
        .iter()
        .map(|c| {
            (
                c.subject_key.to_string(),
                c.resolution
                    .map_or(c.status.as_str().to_owned(), |r| r.as_str().to_owned()),
            )
        })
        .collect();
    for expected in [
        ("globex", "in_progress"),
        ("initech", "completed"),
        ("umbrella", "review"),
        ("kim", "in_progress"),
        ("lee", "cancelled"),
    ] {
        assert!(
            statuses.contains(&(expected.0.to_owned(), expected.1.to_owned())),
            "{expected:?} in {statuses:?}"
        );
    }
    // The demo's passwords work, and its history verifies.
    let mark = logins
        .iter()
        .find(|l| l.role == engine::tenant::Role::Manager)
        .unwrap();
    app.sign_in(Some(&slug("demo")), &mark.email, mark.password.expose())
        .await
        .unwrap();
    assert!(app.verify_audit(&owner).await.unwrap() > 50);
}

/// Writers that arrive together all land (on SQLite, in shared commits), writers that fail
/// leave the others' work alone, and the audit chain stays whole.
async fn concurrent_writers_all_land(db: TestDb) {
    let app = app_on(&db);
    const TASKS: usize = 16;
    let owner = init(&app).await;
    add(&app, &owner, "busy", SubjectKind::Client, None, &[]).await;
    let tasks: String = (0..TASKS)
        .map(|i| format!("      - id: t{i}\n        title: Task {i}\n        team: operations\n"))
        .collect();
    let number = app
        .start_case(
            &owner,
            StartCase {
                subject: key("busy"),
                blueprint: Some(BlueprintChoice::Source {
                    name: "flat".into(),
                    text: format!(
                        "id: flat\nversion: 1\ntitle: Flat\nscope: client\nstages:\n  - id: only\n    title: Only\n    tasks:\n{tasks}"
                    ),
                }),
                exit_date: date(2026, 12, 31),
                owner: None,
                confirmation: None,
            },
        )
        .await
        .unwrap()
        .number;
    let before = app.verify_audit(&owner).await.unwrap();
    let writers: Vec<_> = (0..TASKS)
        .flat_map(|i| [format!("t{i}"), format!("missing-{i}")])
        .map(|task| {
            let (app, owner) = (app.clone(), owner.clone());
            tokio::spawn(async move {
                app.complete_task(&owner, number, &slug(&task), None, Vec::new())
                    .await
                    .map(|_| ())
            })
        })
        .collect();
    let mut landed = 0;
    for writer in writers {
        match writer.await.unwrap() {
            Ok(()) => landed += 1,
            Err(e) if e.to_string().contains("has no task `missing-") => {}
            Err(e) => panic!("unexpected failure: {e}"),
        }
    }
    assert_eq!(landed, TASKS);
    let view = app.case(&owner, number).await.unwrap();
    assert!(view.file.tasks.iter().all(|t| t.status == TaskStatus::Done));
    assert_eq!(view.file.case.status, CaseStatus::Review);
    assert!(app.verify_audit(&owner).await.unwrap() >= before + TASKS as i64);
}

/// A worker that died mid-build holds its export's job until the job's lease ends; then the
/// next worker builds it once, whole, and the dead attempt can write nothing more.
async fn an_export_left_by_a_dead_worker_is_built_once(db: TestDb) {
    let app = app_on(&db);
    let actor = init(&app).await;
    for k in ["acme", "globex"] {
        add(&app, &actor, k, SubjectKind::Client, None, &[]).await;
    }
    let acme = start(&app, &actor, "acme", None).await.unwrap();
    let globex = start(&app, &actor, "globex", None).await.unwrap();
    let now = app.now();
    let day = jiff::SignedDuration::from_hours(24);
    let building = JobKind::ExportBuild;

    // Acme's worker is alive: its lease runs until tomorrow.
    app.request_export(&actor, acme).await.unwrap();
    let mut tx = app.store().write().await.unwrap();
    let alive = tx
        .claim_job_of_kind(now, now + day, "alive", &building, false)
        .await
        .unwrap()
        .unwrap();
    tx.commit().await.unwrap();

    // Globex's worker claimed its export's job, started the build, and died; the job's lease
    // ended an hour ago.
    let requested = app.request_export(&actor, globex).await.unwrap();
    let mut tx = app.store().write().await.unwrap();
    let hour = jiff::SignedDuration::from_hours(1);
    let dead = tx
        .claim_job_of_kind(now, now - hour, "dead", &building, false)
        .await
        .unwrap()
        .unwrap();
    assert_ne!(alive.id, dead.id);
    assert!(
        tx.holds_job(dead.tenant_id, dead.id, dead.attempts)
            .await
            .unwrap()
    );
    let started = tx
        .start_export_build(dead.tenant_id, requested.id, dead.attempts, now)
        .await
        .unwrap()
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        (started.status, started.attempts),
        (ExportStatus::Building, 1)
    );

    let rebuilt = app.build_next_export().await.unwrap().unwrap();
    assert_eq!(rebuilt.id, requested.id, "the expired lease is taken over");
    assert_eq!((rebuilt.status, rebuilt.attempts), (ExportStatus::Ready, 2));
    assert!(
        app.build_next_export().await.unwrap().is_none(),
        "a build under a live lease is left alone"
    );
    let mut tx = app.store().write().await.unwrap();
    assert!(
        !tx.holds_job(dead.tenant_id, dead.id, dead.attempts)
            .await
            .unwrap(),
        "the dead attempt no longer holds its job, so none of its writes go through"
    );
    assert!(
        tx.holds_job(alive.tenant_id, alive.id, alive.attempts)
            .await
            .unwrap()
    );
    let job = tx.job(dead.tenant_id, dead.id).await.unwrap().unwrap();
    assert_eq!((job.status, job.attempts), (JobStatus::Done, 2));
    let mut stale = started.clone();
    stale.status = ExportStatus::Failed;
    assert!(
        !tx.update_export(&stale).await.unwrap(),
        "the dead attempt cannot overwrite the build that took over"
    );
    tx.commit().await.unwrap();
    let exports = app.exports(&actor, globex).await.unwrap();
    assert_eq!(exports.len(), 1, "built once, not doubled");
    let package = app.export_package(&actor, globex).await.unwrap();
    assert_eq!(
        Some(package.blob.id),
        exports[0].blob.as_ref().map(|b| b.id)
    );
    let bytes = read_all(package).await;
    bagit::verify(std::io::Cursor::new(&bytes)).unwrap();
}

/// An export whose job gave up (every attempt cut short) is failed, saying why, and the case
/// can request another, which is built.
async fn an_export_whose_job_died_can_be_requested_again(db: TestDb) {
    let app = app_on(&db);
    let actor = init(&app).await;
    add(&app, &actor, "acme", SubjectKind::Client, None, &[]).await;
    let acme = start(&app, &actor, "acme", None).await.unwrap();
    let first = app.request_export(&actor, acme).await.unwrap();
    db.execute_behind_the_store("UPDATE jobs SET max_attempts = 1 WHERE kind = 'export.build'")
        .await;
    let job = app
        .claim_jobs("crashing", engine::job::JobLease::DEFAULT, 1)
        .await
        .unwrap()
        .pop()
        .unwrap();
    assert_eq!(job.kind, JobKind::ExportBuild);
    let ended = [(job, Err("the worker's disk filled".to_owned()))];
    assert_eq!(app.settle_jobs(&ended).await.unwrap(), [true]);
    let exports = app.exports(&actor, acme).await.unwrap();
    assert_eq!(exports[0].status, ExportStatus::Failed);
    assert_eq!(
        exports[0].failure.as_deref(),
        Some("the worker's disk filled")
    );

    let second = app.request_export(&actor, acme).await.unwrap();
    assert_ne!(
        second.id, first.id,
        "a failed export does not stand in for a new one"
    );
    let built = app.build_next_export().await.unwrap().unwrap();
    assert_eq!((built.id, built.status), (second.id, ExportStatus::Ready));
}

/// Sixteen case starts at once, each for a subject of its own and each storing the same
/// built-in blueprint version first: all succeed, with sixteen different numbers. Then as many
/// records added at once to one subject, numbered 1 to 16.
async fn concurrent_starts_never_collide(db: TestDb) {
    const AT_ONCE: usize = 16;
    let app = app_on(&db);
    let actor = init(&app).await;
    for i in 0..AT_ONCE {
        add(
            &app,
            &actor,
            &format!("client-{i}"),
            SubjectKind::Client,
            None,
            &[],
        )
        .await;
    }
    let starts: Vec<_> = (0..AT_ONCE)
        .map(|i| {
            let (app, actor) = (app.clone(), actor.clone());
            tokio::spawn(async move { start(&app, &actor, &format!("client-{i}"), None).await })
        })
        .collect();
    let mut numbers = Vec::new();
    for started in starts {
        numbers.push(started.await.unwrap().expect("every start succeeds"));
    }
    numbers.sort_unstable();
    assert_eq!(numbers, (1..=AT_ONCE as i64).collect::<Vec<_>>());

    let adds: Vec<_> = (0..AT_ONCE)
        .map(|i| {
            let (app, actor) = (app.clone(), actor.clone());
            tokio::spawn(async move {
                let fields =
                    RecordFields::parse(RecordKind::Note, [("text", format!("note {i}").as_str())])
                        .unwrap();
                app.add_record(&actor, &key("client-0"), RecordKind::Note, fields)
                    .await
            })
        })
        .collect();
    let mut records = Vec::new();
    for added in adds {
        records.push(added.await.unwrap().expect("every record is added").number);
    }
    records.sort_unstable();
    assert_eq!(records, (1..=AT_ONCE as i64).collect::<Vec<_>>());
}

/// What a subject's data can reach, each planted with a marker of its own: after the purge
/// and its cleanup none is left in the database's files or the keyring's, read byte by byte
/// as a thief who copied them would (SQLite: the files and their write-ahead logs;
/// PostgreSQL: every file of the two databases, after a checkpoint wrote them out; its
/// write-ahead log is not read: ARCHITECTURE.md says what it keeps, and for how long).
async fn a_purge_leaves_no_trace_of_the_subject(db: TestDb) {
    const MARKERS: [&str; 9] = [
        "Qz9-answer",
        "Qz9-name",
        "Qz9-attribute",
        "Qz9-field",
        "Qz9-file",
        "Qz9-note",
        "Qz9-evidence",
        "Qz9-waiver",
        "Qz9-hold",
    ];
    let app = app_on(&db);
    use engine::governance::Retention;
    let actor = init(&app).await;
    app.set_retention(
        &actor,
        Some(SubjectKind::Client),
        Retention::parse("0").unwrap(),
    )
    .await
    .unwrap();
    let subject = NewSubject {
        key: key("acme"),
        kind: SubjectKind::Client,
        name: Text::line("Qz9-name Industries", 100).unwrap(),
        parent: None,
        attributes: Attributes::parse([("contact", "Qz9-attribute")]).unwrap(),
    };
    app.add_subjects(&actor, vec![subject])
        .await
        .map_err(|(_, e)| e)
        .unwrap();
    record(
        &app,
        &actor,
        "acme",
        RecordKind::Document,
        &[("name", "Qz9-field contract")],
    )
    .await;
    let upload = Upload {
        file_name: "terms.txt".into(),
        content: b"Qz9-file terms".to_vec(),
    };
    app.attach_file(&actor, &key("acme"), 1, upload, "text/plain".into())
        .await
        .unwrap();
    let hold = app
        .place_hold(
            &actor,
            Some(&key("acme")),
            Reason::parse("Qz9-hold dispute").unwrap(),
        )
        .await
        .unwrap();
    app.lift_hold(&actor, hold.id, Reason::parse("Qz9-hold settled").unwrap())
        .await
        .unwrap();
    let n = start(&app, &actor, "acme", None).await.unwrap();
    app.request_export(&actor, n).await.unwrap();
    while app.build_next_export().await.unwrap().is_some() {}
    app.waive_acknowledgement(&actor, n, Reason::parse("Qz9-waiver in person").unwrap())
        .await
        .unwrap();
    let view = app.case(&actor, n).await.unwrap();
    for task in view
        .file
        .tasks
        .iter()
        .filter(|t| t.status == TaskStatus::Open)
    {
        let evidence = vec![Upload {
            file_name: "Qz9-evidence.txt".into(),
            content: b"Qz9-evidence".to_vec(),
        }];
        app.complete_task(
            &actor,
            n,
            &task.id,
            TaskNote::parse("Qz9-note").ok(),
            evidence,
        )
        .await
        .unwrap();
    }
    app.precheck(&actor, n).await.unwrap();
    let file = app.case(&actor, n).await.unwrap().file;
    for finding in file
        .findings
        .iter()
        .filter(|f| f.status == FindingStatus::Open)
    {
        app.waive_finding(
            &actor,
            n,
            &finding.finding.check_id,
            &Reason::parse("not here").unwrap(),
        )
        .await
        .unwrap();
    }
    app.close_case(&actor, n, &file.case.confirmation_word)
        .await
        .unwrap();
    // An answer kept for resends of a request about the subject.
    let at: jiff::Timestamp = "2026-11-23T09:00:00Z".parse().unwrap();
    let claim = store::KeyClaim {
        caller: "token:someone",
        key: "k-1",
        request_sha256: &[1; 32],
        at,
        forget_before: at - jiff::SignedDuration::from_hours(24),
    };
    let store::IdempotencyClaim::Claimed(answering) = db
        .store
        .claim_idempotency_key(actor.tenant.id, &claim)
        .await
        .unwrap()
    else {
        panic!("a new key is claimed");
    };
    let body = br#"{"key":"acme","name":"Qz9-name Industries","note":"Qz9-answer"}"#;
    answering
        .answer(Some((201, "application/json", body)))
        .await
        .unwrap();
    let before = everything_stored(&db).await;
    for marker in MARKERS
        .iter()
        .filter(|m| !m.ends_with("file") && !m.ends_with("evidence"))
    {
        assert!(
            holds(&before, marker.as_bytes()),
            "the test plants {marker} where it can be read"
        );
    }
    // The subject's data key, sealed under the master key: with `master.key`, whoever finds
    // these bytes opens every file of the subject. It is in the keyring, not the database.
    let sealed_key = db
        .store
        .keyring()
        .all(actor.tenant.id)
        .await
        .unwrap()
        .remove(0)
        .1;
    assert!(holds(&before, &sealed_key));
    // The event that names the subject, as it was written: its digest is keyed.
    let created = |app: App, actor: Actor| async move {
        app.audit_log(
            &actor,
            &store::AuditFilter {
                action: Some("subject.created".into()),
                limit: 10,
                ..store::AuditFilter::default()
            },
        )
        .await
        .unwrap()
        .remove(0)
    };
    let named = created(app.clone(), actor.clone()).await;
    let payload = named.payload.clone().unwrap();
    assert!(payload.contains("Qz9-name"), "{payload}");
    assert_eq!(named.format, engine::audit::CHAIN_FORMAT);

    // A transaction of another database of the server, begun before the purge: while it
    // runs, every snapshot holds the horizon below the purge, a rewrite would copy the erased
    // rows into its new files, and so the erasure waits for it.
    let older = older_transaction_elsewhere(&db).await;
    assert_eq!(app.purge_due(&actor).await.unwrap().purged.len(), 1);
    if let Some(mut older) = older {
        assert!(
            !db.store.finish_erasure().await.unwrap(),
            "the erasure waits for an older transaction of the server"
        );
        sqlx::Executor::execute(&mut older, "COMMIT").await.unwrap();
    }
    app.verify_audit(&actor).await.unwrap();
    // Its payload is gone, and whoever guesses it cannot confirm the guess from the digest:
    // it is no SHA-256 of the payload, and the key it was made with went with the purge.
    let erased = created(app.clone(), actor.clone()).await;
    assert_eq!(
        (erased.payload, erased.payload_digest),
        (None, named.payload_digest)
    );
    assert_ne!(
        erased.payload_digest,
        engine::audit::payload_digest(&payload, None),
        "the digest of a payload about a subject is keyed"
    );
    assert!(
        app.digest_keys(&actor).await.unwrap().is_empty(),
        "no digest key survives the purge"
    );
    // A resend still hears that its request took effect; only what the answer said is gone.
    match db
        .store
        .claim_idempotency_key(actor.tenant.id, &claim)
        .await
        .unwrap()
    {
        store::IdempotencyClaim::Replay { status, body, .. } => {
            assert_eq!(status, 201);
            let body = String::from_utf8(body).unwrap();
            assert!(body.contains("purged"), "{body}");
        }
        other => panic!("a resend replays: {other:?}"),
    }
    // The purge's cleanup ran with it; what a busy moment held up (a table's lock), the
    // worker's minute sweep finishes, as here.
    let mut sweeps = 0;
    while !db.store.finish_erasure().await.unwrap() {
        sweeps += 1;
        assert!(sweeps < 30, "the erasure is finished within a few sweeps");
    }
    let after = everything_stored(&db).await;
    let left: Vec<_> = MARKERS
        .iter()
        .filter(|m| holds(&after, m.as_bytes()))
        .collect();
    assert!(left.is_empty(), "the purge left {left:?} in the database");
    assert!(
        !holds(&after, &sealed_key),
        "the purge left the subject's sealed data key"
    );
}

/// The dashboard's counts by status are kept as cases start and change status, without
/// reading the cases: they always equal what the case list holds.
async fn the_case_counts_follow_every_case(db: TestDb) {
    let app = app_on(&db);
    let actor = init(&app).await;
    for k in ["c1", "c2", "c3"] {
        add(&app, &actor, k, SubjectKind::Client, None, &[]).await;
        start(&app, &actor, k, None).await.unwrap();
    }
    app.cancel_case(&actor, 2, &Reason::parse("Entered by mistake").unwrap())
        .await
        .unwrap();
    let listed = app
        .cases(
            &actor,
            &CaseFilter {
                limit: 100,
                ..CaseFilter::default()
            },
        )
        .await
        .unwrap();
    let mut expected = std::collections::BTreeMap::new();
    for case in &listed {
        *expected.entry(case.status.as_str()).or_insert(0) += 1;
    }
    let counted: std::collections::BTreeMap<&str, i64> = app
        .case_counts(&actor)
        .await
        .unwrap()
        .into_iter()
        .map(|(status, n)| (status.as_str(), n))
        .collect();
    assert_eq!(counted, expected);
    assert_eq!(counted.get("done"), Some(&1), "the cancelled case is done");
    // The activity chart's rollup: three opened, one closed, none completed.
    let since =
        listed.iter().map(|c| c.opened_at).min().unwrap() - jiff::SignedDuration::from_hours(1);
    let activity = app.case_activity(&actor, since).await.unwrap();
    let total = |f: fn(&store::CaseActivity) -> i64| activity.iter().map(f).sum::<i64>();
    assert_eq!(
        (
            total(|q| q.opened),
            total(|q| q.closed),
            total(|q| q.completed)
        ),
        (3, 1, 0),
        "{activity:?}"
    );
    assert!(
        activity
            .iter()
            .all(|q| q.from.as_microsecond() % 900_000_000 == 0),
        "quarter hours"
    );
    // The dashboard's overdue tasks by owner, counted in the database: as many as the task
    // listing finds open and due before the moment, of the running cases only.
    let later: jiff::Timestamp = "2027-02-01T00:00:00Z".parse().unwrap();
    let overdue = app
        .tasks(
            &actor,
            store::TaskFilter {
                open_only: true,
                due_before: Some(later),
                limit: 1_000,
                ..store::TaskFilter::default()
            },
        )
        .await
        .unwrap();
    let mut expected: std::collections::BTreeMap<String, i64> = Default::default();
    for row in &overdue {
        *expected.entry(row.task.owner_label.clone()).or_default() += 1;
    }
    let counted = app.overdue_by_owner(&actor, later).await.unwrap();
    assert!(!counted.is_empty() && counted.iter().all(|(_, n)| *n > 0));
    assert!(counted.windows(2).all(|w| w[0].1 >= w[1].1), "most first");
    assert_eq!(
        counted
            .into_iter()
            .collect::<std::collections::BTreeMap<_, _>>(),
        expected
    );
    assert!(
        overdue.iter().all(|row| row.case_number != 2),
        "not the cancelled case's"
    );
    assert!(
        app.overdue_by_owner(&actor, "2026-01-01T00:00:00Z".parse().unwrap())
            .await
            .unwrap()
            .is_empty(),
        "nothing is overdue a year before the exit"
    );
}

/// Whether `haystack` holds `needle`, as it is or (where PostgreSQL renders bytes as text) in
/// hex.
fn holds(haystack: &[u8], needle: &[u8]) -> bool {
    let hex: String = needle.iter().map(|b| format!("{b:02x}")).collect();
    [needle, hex.as_bytes()]
        .iter()
        .any(|n| haystack.windows(n.len()).any(|w| w == *n))
}

/// Every byte the database and its keyring hold in their files: a SQLite database and its
/// keyring (each with its write-ahead log), or every file of a PostgreSQL database and of
/// its keyring's database, once a checkpoint wrote out what they hold.
async fn everything_stored(db: &TestDb) -> Vec<u8> {
    let keyring = store::KeyringLocation::beside(&db.location).unwrap();
    match (&db.location, keyring) {
        (store::Location::Sqlite(path), store::KeyringLocation::Sqlite(keys)) => [path, &keys]
            .into_iter()
            .flat_map(|file| {
                let wal = format!("{}-wal", file.display());
                [
                    std::fs::read(file).unwrap(),
                    std::fs::read(wal).unwrap_or_default(),
                ]
            })
            .flatten()
            .collect(),
        (store::Location::Postgres(url), store::KeyringLocation::Postgres(keys)) => {
            let mut bytes = postgres_files(url).await;
            bytes.extend(postgres_files(&keys).await);
            bytes
        }
        other => panic!("a keyring on another backend than its database: {other:?}"),
    }
}

/// On PostgreSQL, a connection to the keyring's database (another database of the same
/// server) in a transaction that has written, as a long report elsewhere on the server would.
async fn older_transaction_elsewhere(db: &TestDb) -> Option<sqlx::PgConnection> {
    use sqlx::{Connection, Executor};
    let store::KeyringLocation::Postgres(keys) =
        store::KeyringLocation::beside(&db.location).unwrap()
    else {
        return None;
    };
    let mut conn = sqlx::PgConnection::connect(&keys).await.unwrap();
    conn.execute("BEGIN").await.unwrap();
    conn.execute("SELECT pg_current_xact_id()").await.unwrap();
    Some(conn)
}

/// Every file of the PostgreSQL database at `url`, as the server wrote them: this reads the
/// server's data directory, so the test server must run on this machine.
async fn postgres_files(url: &str) -> Vec<u8> {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
    sqlx::query("CHECKPOINT").execute(&mut conn).await.unwrap();
    let dir: String = sqlx::query_scalar(
        "SELECT current_setting('data_directory') || '/base/' || oid::text \
         FROM pg_database WHERE datname = current_database()",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    let files = std::fs::read_dir(&dir).unwrap_or_else(|e| {
        panic!("read the PostgreSQL server's files at {dir} (it must run on this machine): {e}")
    });
    files
        .flat_map(|entry| std::fs::read(entry.unwrap().path()).unwrap_or_default())
        .collect()
}

/// Purge comes only after retention, only with a ready export, never under a hold; it
/// destroys the subject's data, keeps the audit chain whole and leaves a tombstone.
async fn purge_waits_then_destroys_and_leaves_a_tombstone(db: TestDb) {
    let app = app_on(&db);
    use engine::governance::{PurgeStatus, Retention};
    let actor = init(&app).await;
    app.set_retention(
        &actor,
        Some(SubjectKind::Client),
        Retention::parse("0").unwrap(),
    )
    .await
    .unwrap();
    add(
        &app,
        &actor,
        "acme",
        SubjectKind::Client,
        None,
        &[("country", "DE")],
    )
    .await;
    record(
        &app,
        &actor,
        "acme",
        RecordKind::Document,
        &[("name", "Contract")],
    )
    .await;
    record(
        &app,
        &actor,
        "acme",
        RecordKind::Note,
        &[("text", "Call Ann on Mondays")],
    )
    .await;
    let upload = Upload {
        file_name: "contract.txt".into(),
        content: b"the confidential terms".to_vec(),
    };
    app.attach_file(&actor, &key("acme"), 1, upload, "text/plain".into())
        .await
        .unwrap();
    let n = app
        .start_case(
            &actor,
            StartCase {
                subject: key("acme"),
                blueprint: Some(BlueprintChoice::Source {
                    name: "quick".into(),
                    text: QUICK_BLUEPRINT.into(),
                }),
                exit_date: date(2026, 12, 31),
                owner: None,
                confirmation: None,
            },
        )
        .await
        .unwrap()
        .number;
    complete_all(&app, &actor, n).await;
    app.close_case(&actor, n, "TERMINATE").await.unwrap();
    let status = async || app.pending_purges(&actor).await.unwrap()[0].status.clone();
    assert_eq!(status().await, PurgeStatus::Due);

    // A hold stands in the way.
    let hold = app
        .place_hold(
            &actor,
            Some(&key("acme")),
            Reason::parse("Litigation").unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(status().await, PurgeStatus::Held("Litigation".into()));
    assert!(app.purge_due(&actor).await.unwrap().purged.is_empty());
    assert_eq!(
        app.subject(&actor, &key("acme"))
            .await
            .unwrap()
            .records
            .len(),
        2,
        "nothing is purged under a hold"
    );
    app.lift_hold(&actor, hold.id, Reason::parse("Settled").unwrap())
        .await
        .unwrap();

    // A purge cut short (the process killed before its commit) leaves the subject whole.
    let subject_id = app.subject(&actor, &key("acme")).await.unwrap().subject.id;
    let mut tx = app.store().write().await.unwrap();
    tx.purge_subject(actor.tenant.id, subject_id, app.now())
        .await
        .unwrap();
    drop(tx);
    let whole = app.subject(&actor, &key("acme")).await.unwrap();
    assert_eq!(
        (whole.records.len(), whole.subject.state),
        (2, SubjectState::Offboarded)
    );
    assert!(app.record_file(&actor, &key("acme"), 1).await.is_ok());

    let done = app.purge_due(&actor).await.unwrap().purged;
    assert_eq!(done.len(), 1);
    assert!(
        done[0].summary.starts_with("2 records, 1 files"),
        "{}",
        done[0].summary
    );
    assert!(
        app.purge_due(&actor).await.unwrap().purged.is_empty(),
        "purged once"
    );
    let view = app.subject(&actor, &key("acme")).await.unwrap();
    assert_eq!(view.subject.state, SubjectState::Purged);
    assert_eq!(view.subject.name.as_str(), "purged");
    assert!(view.records.is_empty() && view.subject.attributes.iter().next().is_none());
    assert!(matches!(
        app.record_file(&actor, &key("acme"), 1).await,
        Err(AppError::NotFound(_))
    ));
    assert_eq!(app.tombstones(&actor).await.unwrap().len(), 1);
    // The chain is whole and the subject's payloads are gone.
    app.verify_audit(&actor).await.unwrap();
    let created = app
        .audit_log(
            &actor,
            &store::AuditFilter {
                limit: 100,
                action: Some("record.created".into()),
                ..store::AuditFilter::default()
            },
        )
        .await
        .unwrap();
    assert!(!created.is_empty() && created.iter().all(|e| e.payload.is_none()));
    assert!(
        app.certificate(&actor, n).await.is_ok(),
        "the certificate stays"
    );
    let file = app.case(&actor, n).await.unwrap().file;
    assert!(
        file.tasks
            .iter()
            .all(|t| t.note.as_deref().is_none_or(|note| note == "purged")),
        "what people wrote about the subject goes too"
    );
    let export = &app.exports(&actor, n).await.unwrap()[0];
    assert_eq!(
        export
            .acknowledgement_waived
            .as_ref()
            .map(|w| w.reason.as_str()),
        Some("purged"),
        "why the acknowledgement was waived is erased too"
    );
}

/// A keyed request's writes commit together with its answer, or not at all; of two attempts
/// at one key, one commits; one that went on after a write and died is not run again.
async fn a_keyed_request_commits_with_its_answer_or_not_at_all(db: TestDb) {
    use store::{Answered, IdempotencyClaim};
    let app = app_on(&db);
    let owner = init(&app).await;
    let request = [7u8; 32];
    let claim = |app: App, key: &'static str| {
        let owner = owner.clone();
        async move {
            app.claim_idempotency_key(&owner, "token:writer", key, &request)
                .await
                .unwrap()
        }
    };
    let claimed = |found: IdempotencyClaim| match found {
        IdempotencyClaim::Claimed(attempt) => attempt,
        other => panic!("expected a claim, found {other:?}"),
    };
    let exists = |k: &'static str| {
        let (app, owner) = (app.clone(), owner.clone());
        async move { app.subject(&owner, &key(k)).await.is_ok() }
    };
    let answer: store::KeptResponse<'_> = (201, "application/json", b"{\"key\":\"acme\"}");

    let first = claimed(claim(app.clone(), "k1").await);
    first
        .run(add(&app, &owner, "acme", SubjectKind::Client, None, &[]))
        .await;
    assert!(!exists("acme").await, "nothing is seen before the answer");
    assert_eq!(first.answer(Some(answer)).await.unwrap(), Answered::Kept);
    assert!(exists("acme").await);
    assert!(matches!(
        claim(app.clone(), "k1").await,
        IdempotencyClaim::Replay { status: 201, .. }
    ));

    let dropped = claimed(claim(app.clone(), "k2").await);
    dropped
        .run(add(&app, &owner, "beta", SubjectKind::Client, None, &[]))
        .await;
    assert_eq!(dropped.answer(None).await.unwrap(), Answered::Released);
    assert!(
        !exists("beta").await,
        "an answer not kept takes its effect with it"
    );
    claimed(claim(app.clone(), "k2").await);

    // Another process (another store on the database) takes over a key whose holder it
    // cannot see running; the first attempt then commits nothing.
    let elsewhere = Store::open(&db.location, false).await.unwrap();
    let other_app = App::new(
        elsewhere,
        Arc::new(FixedClock::new("2026-11-23T09:00:00Z".parse().unwrap())),
        Arc::new(Ids::seeded(8)),
        MasterKey::from_bytes([7; 32]),
    );
    let slow = claimed(claim(app.clone(), "k3").await);
    let resent = claimed(claim(other_app.clone(), "k3").await);
    slow.run(add(&app, &owner, "gamma", SubjectKind::Client, None, &[]))
        .await;
    assert_eq!(
        slow.answer(Some(answer)).await.unwrap(),
        Answered::TakenOver
    );
    resent
        .run(add(
            &other_app,
            &owner,
            "gamma",
            SubjectKind::Client,
            None,
            &[],
        ))
        .await;
    assert_eq!(resent.answer(Some(answer)).await.unwrap(), Answered::Kept);
    assert!(exists("gamma").await);
    assert!(matches!(
        claim(app.clone(), "k3").await,
        IdempotencyClaim::Replay { .. }
    ));

    // A request that reads after its write commits the write first; if it then dies, its
    // resend is not run again.
    let cut_off = claimed(claim(app.clone(), "k4").await);
    cut_off
        .run(async {
            add(&app, &owner, "delta", SubjectKind::Client, None, &[]).await;
            assert!(exists("delta").await, "a request reads its own writes");
        })
        .await;
    drop(cut_off);
    assert!(matches!(
        claim(app.clone(), "k4").await,
        IdempotencyClaim::Unanswered
    ));
    app.verify_audit(&owner).await.unwrap();
}

/// Purging an employee who was also one of the tenant's users ends that user: sessions and
/// tokens stop working, nobody can sign in or be given a password as them, and their name and
/// email leave every audit payload, while the events they acted in still name them by id.
async fn purging_an_employee_who_was_staff_ends_their_user(db: TestDb) {
    use engine::governance::Retention;
    use engine::tenant::Role;
    let app = app_on(&db);
    let owner = init(&app).await;
    app.set_retention(
        &owner,
        Some(SubjectKind::Employee),
        Retention::parse("0").unwrap(),
    )
    .await
    .unwrap();
    let email = Email::parse("kim.qz8@acme.example").unwrap();
    let kim = app
        .add_user(
            &owner,
            email.clone(),
            PersonName::parse("Kim Qz8-Staffer").unwrap(),
            Role::Manager,
            &[],
        )
        .await
        .unwrap();
    let password = app.reset_password(&owner, Some(&email)).await.unwrap();
    let (as_kim, session) = app.sign_in(None, &email, password.expose()).await.unwrap();
    let token = app
        .issue_token(
            &as_kim,
            engine::fields::TokenName::parse("laptop").unwrap(),
            Role::Manager,
            None,
        )
        .await
        .unwrap();
    // Kim works, as staff, before leaving.
    add(&app, &as_kim, "acme", SubjectKind::Client, None, &[]).await;
    add(
        &app,
        &owner,
        "kim",
        SubjectKind::Employee,
        None,
        &[
            ("country", "US"),
            ("role", "analyst"),
            ("email", email.as_str()),
        ],
    )
    .await;
    let n = start(&app, &owner, "kim", None).await.unwrap();
    app.request_export(&owner, n).await.unwrap();
    while app.build_next_export().await.unwrap().is_some() {}
    app.waive_acknowledgement(&owner, n, Reason::parse("handed over in person").unwrap())
        .await
        .unwrap();
    for _ in 0..10 {
        let file = app.case(&owner, n).await.unwrap().file;
        let open: Vec<_> = file
            .tasks
            .iter()
            .filter(|t| t.status == TaskStatus::Open)
            .map(|t| t.id.clone())
            .collect();
        for task in open {
            let _ = app.complete_task(&owner, n, &task, None, evidence()).await;
        }
    }
    app.precheck(&owner, n).await.unwrap();
    let file = app.case(&owner, n).await.unwrap().file;
    for finding in file
        .findings
        .iter()
        .filter(|f| f.status == FindingStatus::Open)
    {
        app.waive_finding(
            &owner,
            n,
            &finding.finding.check_id,
            &Reason::parse("not here").unwrap(),
        )
        .await
        .unwrap();
    }
    app.close_case(&owner, n, &file.case.confirmation_word)
        .await
        .unwrap();
    let every_event = || async {
        app.audit_log(
            &owner,
            &store::AuditFilter {
                limit: 10_000,
                ..store::AuditFilter::default()
            },
        )
        .await
        .unwrap()
    };
    let mentions = |events: &[AuditEvent]| {
        events
            .iter()
            .filter(|e| {
                e.payload
                    .as_deref()
                    .is_some_and(|p| p.to_lowercase().contains("qz8"))
            })
            .count()
    };
    assert!(
        mentions(&every_event().await) > 0,
        "the test names Kim in payloads"
    );

    assert_eq!(app.purge_due(&owner).await.unwrap().purged.len(), 1);
    assert!(app.authenticate(&token.secret).await.unwrap().is_none());
    assert!(app.session_actor(&session.secret).await.unwrap().is_none());
    assert!(app.sign_in(None, &email, password.expose()).await.is_err());
    assert!(
        app.reset_password(&owner, Some(&email)).await.is_err(),
        "nobody gives the ended user a password again"
    );
    let events = every_event().await;
    assert_eq!(
        mentions(&events),
        0,
        "Kim's name and email left every payload"
    );
    assert!(
        events.iter().any(|e| e.actor == kim.actor()),
        "the events Kim acted in still name them by id"
    );
    app.verify_audit(&owner).await.unwrap();
}

/// On PostgreSQL, connections the server dropped (a restart, a proxy that cut them) are
/// replaced when a transaction starts, and a server that is away for a moment is waited for;
/// a connection lost inside a transaction fails it as "unavailable", which the API answers
/// 503, not as an internal error.
#[tokio::test]
async fn a_lost_postgres_connection_is_retried_not_fatal() {
    let Some(url) = testkit::fresh_postgres("a_lost_postgres_connection_is_retried").await else {
        return;
    };
    // postgres://user@host:port/db: the proxy stands in for host:port.
    let (head, rest) = url.split_once('@').unwrap();
    let (server, db) = rest.split_once('/').unwrap();
    let port: u16 = server.rsplit(':').next().unwrap().parse().unwrap();
    let proxy = testkit::proxy::SeveringProxy::start(port);
    let proxied = format!("{head}@127.0.0.1:{}/{db}", proxy.port());
    let store = Store::open(&store::Location::Postgres(proxied), false)
        .await
        .unwrap();
    let app = App::new(
        store.clone(),
        Arc::new(FixedClock::new("2026-11-23T09:00:00Z".parse().unwrap())),
        Arc::new(Ids::seeded(7)),
        MasterKey::from_bytes([7; 32]),
    );
    let owner = init(&app).await;
    add(&app, &owner, "acme", SubjectKind::Client, None, &[]).await;

    proxy.sever();
    add(&app, &owner, "beta", SubjectKind::Client, None, &[]).await;

    // A restart: every connection cut, and none taken for a moment.
    proxy.sever();
    proxy.refuse(true);
    let adding = tokio::spawn({
        let (app, owner) = (app.clone(), owner.clone());
        async move { add(&app, &owner, "gamma", SubjectKind::Client, None, &[]).await }
    });
    tokio::time::sleep(std::time::Duration::from_millis(700)).await;
    proxy.refuse(false);
    adding.await.unwrap();

    let mut tx = store.write().await.unwrap();
    assert!(tx.audit_head(owner.tenant.id).await.unwrap().is_some());
    proxy.sever();
    let lost = tx.audit_head(owner.tenant.id).await.unwrap_err();
    assert!(
        matches!(lost, store::StoreError::Unavailable(_)),
        "a connection lost mid-transaction is unavailable: {lost:?}"
    );
    drop(tx);
    for k in ["acme", "beta", "gamma"] {
        app.subject(&owner, &key(k)).await.unwrap();
    }
    app.verify_audit(&owner).await.unwrap();
}

testkit::on_both_stores!(
    the_case_counts_follow_every_case,
    a_keyed_request_commits_with_its_answer_or_not_at_all,
    purging_an_employee_who_was_staff_ends_their_user,
    audit_tampering_is_detected,
    client_case_runs_to_completion,
    one_open_case_per_subject_and_cancel_keeps_history,
    employee_tasks_depend_on_country_and_role,
    organization_fans_out_and_waits_for_children,
    product_waits_for_its_party,
    bad_input_changes_nothing,
    the_demo_has_cases_in_every_status,
    concurrent_writers_all_land,
    an_export_left_by_a_dead_worker_is_built_once,
    an_export_whose_job_died_can_be_requested_again,
    a_purge_leaves_no_trace_of_the_subject,
    concurrent_starts_never_collide,
    purge_waits_then_destroys_and_leaves_a_tombstone,
);
