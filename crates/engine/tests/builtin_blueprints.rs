//! The blueprints Exeunt ships: every file under `crates/engine/blueprints/` is built in, lints
//! clean, and parses to exactly what the file says. The file is read a second way, as plain
//! YAML, and the due offsets with a small parser of their own, so a parser bug cannot hide
//! behind itself.

use std::collections::BTreeSet;

use exeunt_engine::blueprint::{
    BUILTIN, Blueprint, LintContext, Owner, OwnerRole, Severity, TaskKind, builtin_source, parse,
};
use exeunt_engine::due::{DayCount, DueOffset};
use exeunt_engine::ids::Slug;
use exeunt_engine::subject::SubjectKind;
use exeunt_engine::teams::default_team_slugs;
use jiff::civil::Time;
use marked_yaml::Node;
use marked_yaml::types::MarkedMappingNode;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/blueprints");

fn builtin(id: &str) -> Blueprint {
    let teams = default_team_slugs();
    let source = builtin_source(id).unwrap_or_else(|| panic!("no built-in {id}"));
    parse(source, &LintContext { teams: &teams })
        .unwrap_or_else(|d| panic!("built-in {id} has problems: {d:#?}"))
}

fn yaml(source: &str) -> Node {
    marked_yaml::parse_yaml(0, source).expect("built-in blueprints are YAML")
}

fn str_of<'a>(map: &'a MarkedMappingNode, key: &str) -> Option<&'a str> {
    map.get_scalar(key).map(|s| s.as_str())
}

fn list_of(map: &MarkedMappingNode, key: &str) -> Vec<String> {
    map.get_sequence(key)
        .map(|seq| {
            seq.iter()
                .map(|n| n.as_scalar().expect("a scalar").as_str().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// `-5d`, `+0d 17:00`, `-3bd`, read without `DueOffset::parse`.
fn due_by_hand(text: &str) -> DueOffset {
    let (offset, time) = match text.split_once(' ') {
        Some((o, t)) => (o, Some(t)),
        None => (text, None),
    };
    let negative = offset.starts_with('-');
    assert!(negative || offset.starts_with('+'), "{text}");
    let (digits, count) = match offset[1..].strip_suffix("bd") {
        Some(d) => (d, DayCount::Business),
        None => (
            offset[1..].strip_suffix('d').expect("d or bd"),
            DayCount::Calendar,
        ),
    };
    let n: i32 = digits.parse().unwrap();
    let at = time.map_or(Time::constant(17, 0, 0, 0), |t| {
        let (h, m) = t.split_once(':').unwrap();
        Time::constant(h.parse().unwrap(), m.parse().unwrap(), 0, 0)
    });
    DueOffset {
        days: if negative { -n } else { n },
        count,
        at,
    }
}

#[test]
fn every_file_in_the_blueprints_folder_is_built_in_as_written() {
    let mut files = BTreeSet::new();
    for entry in std::fs::read_dir(DIR).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "yaml") {
            let id = path.file_stem().unwrap().to_str().unwrap().to_owned();
            let text = std::fs::read_to_string(&path).unwrap();
            assert_eq!(
                builtin_source(&id),
                Some(text.as_str()),
                "{} is not built in as written",
                path.display()
            );
            files.insert(id);
        }
    }
    let ids: BTreeSet<String> = BUILTIN.iter().map(|(id, _)| (*id).to_owned()).collect();
    assert_eq!(ids.len(), BUILTIN.len(), "a built-in id is listed twice");
    assert_eq!(ids, files, "built-ins and files differ");
    assert_eq!(builtin_source("no-such-blueprint"), None);
}

#[test]
fn every_builtin_parses_to_what_its_file_says() {
    for (id, source) in BUILTIN {
        let bp = builtin(id);
        let root = yaml(source);
        let top = root.as_mapping().unwrap();
        assert_eq!(bp.id.as_str(), *id, "the id is the file's name");
        assert_eq!(str_of(top, "id"), Some(*id));
        assert_eq!(
            bp.version.to_string(),
            str_of(top, "version").unwrap(),
            "{id}"
        );
        assert_eq!(bp.title, str_of(top, "title").unwrap().trim(), "{id}");
        assert_eq!(
            bp.description,
            str_of(top, "description").unwrap_or("").trim(),
            "{id}"
        );
        assert_eq!(bp.scope.as_str(), str_of(top, "scope").unwrap(), "{id}");
        assert_eq!(
            bp.applies_when.as_ref().map(|c| c.source()),
            str_of(top, "applies_when"),
            "{id}"
        );
        assert_eq!(
            bp.confirmation_word,
            str_of(top, "confirmation_word").unwrap_or("TERMINATE"),
            "{id}"
        );
        assert_eq!(
            bp.fan_out.map(SubjectKind::as_str),
            str_of(top, "fan_out"),
            "{id}"
        );

        let stages = top.get_sequence("stages").unwrap();
        assert_eq!(bp.stages.len(), stages.len(), "{id}");
        let mut previous: Option<&str> = None;
        for (stage, node) in bp.stages.iter().zip(stages.iter()) {
            let s = node.as_mapping().unwrap();
            let sid = str_of(s, "id").unwrap();
            assert_eq!(stage.id.as_str(), sid, "{id}");
            assert_eq!(stage.title, str_of(s, "title").unwrap(), "{id}/{sid}");
            assert_eq!(
                stage.freeze,
                str_of(s, "freeze") == Some("true"),
                "{id}/{sid}"
            );
            // Written `after`, or else the stage before.
            let after: Vec<String> = if s.get_node("after").is_some() {
                list_of(s, "after")
            } else {
                previous.map(|p| vec![p.to_owned()]).unwrap_or_default()
            };
            let got: Vec<String> = stage.after.iter().map(ToString::to_string).collect();
            assert_eq!(got, after, "{id}/{sid}");
            previous = Some(sid);

            let tasks = s.get_sequence("tasks").unwrap();
            assert_eq!(stage.tasks.len(), tasks.len(), "{id}/{sid}");
            for (task, node) in stage.tasks.iter().zip(tasks.iter()) {
                let t = node.as_mapping().unwrap();
                let tid = str_of(t, "id").unwrap();
                let at = format!("{id}/{sid}/{tid}");
                assert_eq!(task.id.as_str(), tid, "{at}");
                assert_eq!(task.title, str_of(t, "title").unwrap(), "{at}");
                assert_eq!(
                    task.description,
                    str_of(t, "description").unwrap_or("").trim(),
                    "{at}"
                );
                let owner = match (str_of(t, "team"), str_of(t, "role")) {
                    (Some(team), None) => Owner::Team(team.parse().unwrap()),
                    (None, Some(role)) => Owner::Role(OwnerRole::parse(role).unwrap()),
                    other => panic!("{at}: owner {other:?}"),
                };
                assert_eq!(task.owner, owner, "{at}");
                assert_eq!(
                    task.kind.as_str(),
                    str_of(t, "kind").unwrap_or("manual"),
                    "{at}"
                );
                assert_eq!(task.action.as_deref(), str_of(t, "action"), "{at}");
                assert_eq!(task.checklist, list_of(t, "checklist"), "{at}");
                let deps: Vec<String> = task.depends_on.iter().map(ToString::to_string).collect();
                assert_eq!(deps, list_of(t, "depends_on"), "{at}");
                assert_eq!(task.due, str_of(t, "due").map(due_by_hand), "{at}");
                assert_eq!(
                    task.when.as_ref().map(|c| c.source()),
                    str_of(t, "when"),
                    "{at}"
                );
                assert_eq!(
                    task.evidence_required,
                    str_of(t, "evidence") == Some("required"),
                    "{at}"
                );
            }
        }

        let checks = top
            .get_sequence("checks")
            .map(|s| s.iter().collect::<Vec<_>>())
            .unwrap_or_default();
        assert_eq!(bp.checks.len(), checks.len(), "{id}");
        for (check, node) in bp.checks.iter().zip(checks) {
            let c = node.as_mapping().unwrap();
            let cid = str_of(c, "id").unwrap();
            assert_eq!(check.id.as_str(), cid, "{id}");
            // A check without `stage` gates the first stage.
            let stage = str_of(c, "stage").unwrap_or(bp.stages[0].id.as_str());
            assert_eq!(check.stage.as_str(), stage, "{id}/{cid}");
            assert_eq!(
                check.severity.as_str(),
                str_of(c, "severity").unwrap(),
                "{id}/{cid}"
            );
            assert_eq!(
                check.condition.source(),
                str_of(c, "condition").unwrap(),
                "{id}/{cid}"
            );
            assert_eq!(check.message, str_of(c, "message").unwrap(), "{id}/{cid}");
        }
    }
}

/// Stage ids with their number of tasks, and check ids with their stage and severity: what a
/// reviewer reads off the files.
struct Shape {
    scope: SubjectKind,
    stages: &'static [(&'static str, usize)],
    checks: &'static [(&'static str, &'static str, Severity)],
}

#[test]
fn each_builtin_has_the_stages_tasks_and_checks_its_file_lists() {
    use Severity::{Blocker, Warning};
    let shapes = [
        (
            "client-standard",
            Shape {
                scope: SubjectKind::Client,
                stages: &[
                    ("precheck", 3),
                    ("freeze", 1),
                    ("export", 2),
                    ("revoke", 2),
                    ("handoff", 4),
                    ("purge-scheduling", 1),
                ],
                checks: &[
                    ("open-work-items", "handoff", Blocker),
                    ("active-accounts", "handoff", Blocker),
                    ("outstanding-balance", "precheck", Warning),
                    ("no-account-manager", "precheck", Warning),
                ],
            },
        ),
        (
            "employee-standard",
            Shape {
                scope: SubjectKind::Employee,
                stages: &[
                    ("confirmation", 1),
                    ("access-removal", 3),
                    ("asset-return", 1),
                    ("final-pay", 2),
                    ("knowledge-handover", 3),
                    ("compliance-signoff", 3),
                ],
                checks: &[
                    ("open-work-items", "compliance-signoff", Blocker),
                    ("active-accounts", "compliance-signoff", Blocker),
                    ("assets-outstanding", "compliance-signoff", Blocker),
                    ("no-line-manager", "confirmation", Warning),
                ],
            },
        ),
        (
            "organization",
            Shape {
                scope: SubjectKind::Organization,
                stages: &[
                    ("precheck", 1),
                    ("clients", 1),
                    ("revoke", 1),
                    ("purge-scheduling", 1),
                ],
                checks: &[("active-integrations", "purge-scheduling", Blocker)],
            },
        ),
        (
            "party",
            Shape {
                scope: SubjectKind::Client,
                stages: &[("file", 1), ("review", 1)],
                checks: &[("no-contact", "review", Warning)],
            },
        ),
        (
            "product",
            Shape {
                scope: SubjectKind::Product,
                stages: &[("terminate", 2)],
                checks: &[("party-not-offboarded", "terminate", Blocker)],
            },
        ),
    ];
    assert_eq!(shapes.len(), BUILTIN.len(), "a built-in has no shape here");
    for (id, shape) in shapes {
        let bp = builtin(id);
        assert_eq!(bp.scope, shape.scope, "{id}");
        let stages: Vec<(&str, usize)> = bp
            .stages
            .iter()
            .map(|s| (s.id.as_str(), s.tasks.len()))
            .collect();
        assert_eq!(stages, shape.stages, "{id}");
        let checks: Vec<(&str, &str, Severity)> = bp
            .checks
            .iter()
            .map(|c| (c.id.as_str(), c.stage.as_str(), c.severity))
            .collect();
        assert_eq!(checks, shape.checks, "{id}");
    }
}

#[test]
fn builtin_tasks_carry_their_owners_due_offsets_and_evidence() {
    let find = |bp: &Blueprint, task: &str| {
        bp.tasks()
            .map(|(_, t)| t.clone())
            .find(|t| t.id.as_str() == task)
            .unwrap_or_else(|| panic!("{} has no task {task}", bp.id))
    };
    let due = |days, count, h| DueOffset {
        days,
        count,
        at: Time::constant(h, 0, 0, 0),
    };

    let client = builtin("client-standard");
    let t = find(&client, "set-expectations");
    assert_eq!(t.owner, Owner::Role(OwnerRole::AccountManager));
    assert_eq!(t.kind, TaskKind::Manual);
    assert_eq!(t.due, Some(due(-20, DayCount::Calendar, 17)));
    assert!(t.evidence_required);
    let t = find(&client, "freeze-records");
    assert_eq!(t.owner, Owner::Team("operations".parse().unwrap()));
    assert_eq!(t.action.as_deref(), Some("freeze-records"));
    assert_eq!(t.depends_on, [Slug::parse("set-expectations").unwrap()]);
    let t = find(&client, "asset-return");
    assert_eq!(t.kind, TaskKind::Checklist);
    assert_eq!(t.checklist.len(), 3);
    assert_eq!(t.due, Some(due(5, DayCount::Calendar, 17)));
    assert!(!t.evidence_required);
    assert!(
        client
            .stages
            .iter()
            .filter(|s| s.freeze)
            .map(|s| s.id.as_str())
            .eq(["freeze"])
    );

    let employee = builtin("employee-standard");
    let t = find(&employee, "transition-plan");
    assert_eq!(t.owner, Owner::Role(OwnerRole::LineManager));
    assert_eq!(t.action.as_deref(), Some("hand-off-work"));
    assert_eq!(t.due, Some(due(-5, DayCount::Business, 17)));
    assert_eq!(
        find(&employee, "reset-shared-credentials").due,
        Some(due(1, DayCount::Business, 17))
    );
    assert_eq!(
        find(&employee, "employment-reference")
            .when
            .as_ref()
            .map(|c| c.source()),
        Some("attrs.country == \"DE\"")
    );
    let signoff = employee.stages.last().unwrap();
    let after: Vec<&str> = signoff.after.iter().map(|s| s.as_str()).collect();
    assert_eq!(
        after,
        [
            "access-removal",
            "asset-return",
            "final-pay",
            "knowledge-handover"
        ]
    );

    let org = builtin("organization");
    assert_eq!(org.fan_out, Some(SubjectKind::Client));
    assert_eq!(
        find(&org, "confirm-scope").owner,
        Owner::Role(OwnerRole::CaseOwner)
    );
    assert_eq!(
        find(&org, "confirm-scope").due,
        Some(due(-30, DayCount::Calendar, 17))
    );
}

/// Linted for a tenant without teams, each built-in names every team task once, at the
/// team's name in the file.
#[test]
fn a_tenant_without_the_teams_gets_one_problem_per_team_task_at_its_place() {
    for (id, source) in BUILTIN {
        let root = yaml(source);
        let mut want = Vec::new();
        for stage in root
            .as_mapping()
            .unwrap()
            .get_sequence("stages")
            .unwrap()
            .iter()
        {
            for task in stage
                .as_mapping()
                .unwrap()
                .get_sequence("tasks")
                .unwrap()
                .iter()
            {
                if let Some(team) = task.as_mapping().unwrap().get_scalar("team") {
                    let m = team.span().start().unwrap();
                    want.push((
                        m.line(),
                        m.column(),
                        format!("unknown team `{}`; expected one of ", team.as_str()),
                    ));
                }
            }
        }
        assert!(!want.is_empty(), "{id} has team tasks");
        let got = parse(source, &LintContext { teams: &[] }).unwrap_err();
        let got: Vec<(usize, usize, String)> = got
            .into_iter()
            .map(|d| (d.line, d.column, d.message))
            .collect();
        assert_eq!(got, want, "{id}");
    }
}
