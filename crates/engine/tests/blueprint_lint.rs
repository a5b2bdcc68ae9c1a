//! Blueprint lint from the outside: every problem `parse` can report, each with the line,
//! column and message a person reading `exeunt blueprint lint` gets.
//!
//! Most cases start from [`BASE`], a small valid blueprint, and change one or two of its
//! lines, so the expected position can be read off the numbered listing below.
//!
//! Why one file of this length: every lint message has its example here, and they all read
//! positions off that one listing; split, each part would need the listing again.

use exeunt_engine::blueprint::{Blueprint, Diagnostic, LintContext, parse};
use exeunt_engine::teams::default_team_slugs;

/// A valid two-stage blueprint. Line numbers, for reading the cases below:
///
/// ```text
///  1 id: demo
///  2 version: 1
///  3 title: Demo offboarding
///  4 scope: employee
///  5 stages:
///  6   - id: first
///  7     title: First
///  8     tasks:
///  9       - id: one
/// 10         title: One
/// 11         team: hr
/// 12         due: -5d
/// 13   - id: second
/// 14     title: Second
/// 15     tasks:
/// 16       - id: two
/// 17         title: Two
/// 18         role: line_manager
/// 19         depends_on: [one]
/// 20 checks:
/// 21   - id: c
/// 22     stage: second
/// 23     severity: warning
/// 24     condition: attrs.role == "engineer"
/// 25     message: Engineers hand over their keys.
/// ```
const BASE: &str = r#"id: demo
version: 1
title: Demo offboarding
scope: employee
stages:
  - id: first
    title: First
    tasks:
      - id: one
        title: One
        team: hr
        due: -5d
  - id: second
    title: Second
    tasks:
      - id: two
        title: Two
        role: line_manager
        depends_on: [one]
checks:
  - id: c
    stage: second
    severity: warning
    condition: attrs.role == "engineer"
    message: Engineers hand over their keys.
"#;

const TEAMS: &str = "hr, it, finance, account-management, operations, compliance, legal";
const SLUG_RULE: &str = "lowercase letters, digits and '-', starting with a letter or digit";
const TOP_KEYS: &str = "id, version, title, description, scope, applies_when, confirmation_word, attributes, fan_out, stages, checks";
const TASK_KEYS: &str =
    "id, title, description, team, role, kind, action, checklist, depends_on, due, when, evidence";
const ACTIONS: &str = "freeze-records, build-export, deliver-export, revoke-access, hand-off-work, schedule-purge, notify-client";
const ATTRS: &str = "role, department, country, service_type, timezone, contract_end, manager, account_manager, email, balance_outstanding, exit_reason, legal_entity";
const DUE_RULE: &str = "expected a sign, a number of days and `d` or `bd`, optionally a time: `-5d`, `+0d 17:00`, `-3bd`";

fn lint(text: &str) -> Result<Blueprint, Vec<Diagnostic>> {
    let teams = default_team_slugs();
    parse(text, &LintContext { teams: &teams })
}

/// [`BASE`] with lines `first..=last` (1-based) replaced by `with` (which may be empty, or
/// several lines joined by `\n`).
fn splice(first: usize, last: usize, with: &str) -> String {
    let lines: Vec<&str> = BASE.lines().collect();
    assert!(first >= 1 && first <= last + 1 && last <= lines.len());
    let mut out: Vec<&str> = lines[..first - 1].to_vec();
    if !with.is_empty() {
        out.extend(with.split('\n'));
    }
    out.extend(&lines[last..]);
    out.join("\n") + "\n"
}

fn replace(line: usize, with: &str) -> String {
    splice(line, line, with)
}

fn insert_after(line: usize, text: &str) -> String {
    splice(line + 1, line, text)
}

fn remove(line: usize) -> String {
    splice(line, line, "")
}

/// One expected diagnostic. Problems about a whole mapping ("has no `title`") are placed where
/// the mapping starts: at its first key.
struct Want {
    line: usize,
    column: usize,
    message: String,
    /// Compare only the start of the message (for texts that come from the YAML scanner or
    /// the CEL parser).
    prefix: bool,
}

fn at(line: usize, column: usize, message: impl Into<String>) -> Want {
    Want {
        line,
        column,
        message: message.into(),
        prefix: false,
    }
}

fn starting(line: usize, column: usize, message: impl Into<String>) -> Want {
    Want {
        prefix: true,
        ..at(line, column, message)
    }
}

/// Lints `text` and checks it reports exactly `want`, in file order.
#[track_caller]
fn assert_lint(case: &str, text: &str, want: &[Want]) {
    let got = match lint(text) {
        Ok(_) => panic!("{case}: lint accepted the file, expected problems\n{text}"),
        Err(d) => d,
    };
    let shown = got.iter().map(|d| format!("  {d}\n")).collect::<String>();
    assert_eq!(
        got.len(),
        want.len(),
        "{case}: expected {} problem(s), got:\n{shown}",
        want.len()
    );
    for (g, w) in got.iter().zip(want) {
        let message_ok = if w.prefix {
            g.message.starts_with(&w.message)
        } else {
            g.message == w.message
        };
        assert!(
            (g.line, g.column) == (w.line, w.column) && message_ok,
            "{case}: expected {}:{}: {}\n got:\n{shown}",
            w.line,
            w.column,
            w.message
        );
    }
}

#[test]
fn the_base_blueprint_is_valid() {
    let bp = lint(BASE).unwrap_or_else(|d| panic!("{d:#?}"));
    assert_eq!(bp.tasks().count(), 2);
}

#[test]
fn yaml_the_loader_refuses_is_placed_at_the_offending_token() {
    assert_lint(
        "top-level sequence",
        "- id: demo\n",
        &[at(
            1,
            1,
            "the file must be a mapping with keys such as `id`, `version`, `stages`",
        )],
    );
    assert_lint(
        "top-level scalar",
        "just a sentence\n",
        &[at(
            1,
            1,
            "the file must be a mapping with keys such as `id`, `version`, `stages`",
        )],
    );
    // The anchored and tagged values are pointed at, after the anchor or tag.
    assert_lint(
        "anchor",
        &replace(1, "id: &name demo"),
        &[at(
            1,
            11,
            "YAML anchors are not supported; write the value out",
        )],
    );
    assert_lint(
        "tag",
        &replace(1, "id: !!str demo"),
        &[at(1, 11, "YAML tags are not supported")],
    );
    assert_lint(
        "complex key",
        &insert_after(1, "? [a, b]\n: c"),
        &[at(2, 3, "mapping keys must be plain names")],
    );
    assert_lint(
        "unterminated quote",
        &replace(3, "title: \"Demo offboarding"),
        &[starting(3, 8, "YAML syntax error: ")],
    );
    assert_lint(
        "tab indentation",
        &replace(2, "\tversion: 1"),
        // The scanner stops in the value before the tab.
        &[starting(1, 5, "YAML syntax error: ")],
    );
    assert_lint(
        "duplicate top-level key",
        &insert_after(3, "id: other"),
        &[at(4, 1, "duplicate key `id`; it is already set at line 1")],
    );
    assert_lint(
        "duplicate key in a task",
        &insert_after(11, "        team: it"),
        &[at(
            12,
            9,
            "duplicate key `team`; it is already set at line 11",
        )],
    );
}

#[test]
fn top_level_values_are_checked_where_they_are_written() {
    assert_lint(
        "unknown key",
        &replace(3, "titel: Demo offboarding"),
        &[
            at(1, 1, "the blueprint has no `title`; it is required"),
            at(
                3,
                1,
                format!("unknown key `titel` in the blueprint; expected one of {TOP_KEYS}"),
            ),
        ],
    );
    assert_lint(
        "no id",
        &remove(1),
        &[at(1, 1, "the blueprint has no `id`; it is required")],
    );
    assert_lint(
        "id with a capital",
        &replace(1, "id: Demo"),
        &[at(
            1,
            5,
            format!("the blueprint id `Demo` has the character 'D'; expected {SLUG_RULE}"),
        )],
    );
    assert_lint(
        "empty id",
        &replace(1, "id: \"\""),
        &[at(
            1,
            5,
            format!("the blueprint id is empty; expected {SLUG_RULE}"),
        )],
    );
    assert_lint(
        "id too long",
        &replace(1, &format!("id: {}", "a".repeat(65))),
        &[at(
            1,
            5,
            "the blueprint id is 65 characters long; expected at most 64",
        )],
    );
    assert_lint(
        "id as a list",
        &replace(1, "id: [demo]"),
        &[at(1, 5, "`id` in the blueprint must be a single value")],
    );
    for bad in ["0", "-1", "v2", "1.0", "4294967296"] {
        assert_lint(
            &format!("version {bad}"),
            &replace(2, &format!("version: {bad}")),
            &[at(
                2,
                10,
                format!("version `{bad}` is not valid; expected a whole number from 1"),
            )],
        );
    }
    assert_lint(
        "blank title",
        &replace(3, "title: \"   \""),
        &[at(
            3,
            8,
            "`title` of the blueprint is empty; expected some text",
        )],
    );
    assert_lint(
        "title too long",
        &replace(3, &format!("title: {}", "T".repeat(201))),
        &[at(
            3,
            8,
            "`title` of the blueprint is longer than 200 characters",
        )],
    );
    assert_lint(
        "description too long",
        &insert_after(3, &format!("description: {}", "d".repeat(4001))),
        &[at(
            4,
            14,
            "`description` of the blueprint is longer than 4000 characters",
        )],
    );
    assert_lint(
        "unknown scope",
        &replace(4, "scope: vendor"),
        &[at(
            4,
            8,
            "scope: `vendor` is not a subject kind; expected one of client, product, employee, organization",
        )],
    );
    for bad in ["Terminate", "NO", "TERMINATE1", &"X".repeat(33)] {
        assert_lint(
            &format!("confirmation word {bad}"),
            &insert_after(4, &format!("confirmation_word: {bad}")),
            &[at(
                5,
                20,
                format!(
                    "confirmation_word `{bad}` is not valid; expected 3 to 32 capital letters such as TERMINATE"
                ),
            )],
        );
    }
}

#[test]
fn fan_out_is_only_for_organizations_and_names_another_kind() {
    assert_lint(
        "fan_out on an employee blueprint",
        &insert_after(4, "fan_out: client"),
        &[at(
            5,
            10,
            "`fan_out` is only for blueprints with scope organization",
        )],
    );
    assert_lint(
        "fan_out to organizations",
        &splice(4, 4, "scope: organization\nfan_out: organization"),
        &[at(5, 10, "`fan_out` must name client, product or employee")],
    );
    assert_lint(
        "fan_out to an unknown kind",
        &splice(4, 4, "scope: organization\nfan_out: vendors"),
        &[at(
            5,
            10,
            "fan_out: `vendors` is not a subject kind; expected one of client, product, employee, organization",
        )],
    );
    let ok = lint(&splice(4, 4, "scope: organization\nfan_out: employee")).unwrap();
    assert_eq!(
        ok.fan_out,
        Some(exeunt_engine::subject::SubjectKind::Employee)
    );
}

#[test]
fn declared_attributes_are_checked_and_make_conditions_valid() {
    assert_lint(
        "attributes as a single value",
        &insert_after(4, "attributes: cost_centre"),
        &[at(5, 13, "`attributes` in the blueprint must be a list")],
    );
    // attributes: [cost_centre, Cost, country, [x]]
    //              14           27    33       42
    assert_lint(
        "bad attribute entries",
        &insert_after(4, "attributes: [cost_centre, Cost, country, [x]]"),
        &[
            at(
                5,
                27,
                "attribute name `Cost` is not valid; expected lowercase letters, digits and '_'",
            ),
            at(
                5,
                33,
                "`country` is a standard attribute; declare only custom ones",
            ),
            at(5, 42, "entries of `attributes` must be attribute names"),
        ],
    );
    // A condition on an undeclared attribute is refused at the attribute's name…
    assert_lint(
        "undeclared attribute",
        &insert_after(4, "applies_when: attrs.cost_centre == \"x\""),
        &[at(
            5,
            21,
            format!(
                "in `applies_when` of the blueprint: unknown field `cost_centre` of `attrs`; expected one of {ATTRS} (declare custom attributes under `attributes:`)"
            ),
        )],
    );
    // …and accepted once declared.
    let bp = lint(&insert_after(
        4,
        "attributes: [cost_centre]\napplies_when: attrs.cost_centre == \"x\"",
    ))
    .unwrap_or_else(|d| panic!("{d:#?}"));
    assert_eq!(bp.attributes, ["cost_centre"]);
    assert_eq!(
        bp.applies_when.as_ref().map(|c| c.source()),
        Some("attrs.cost_centre == \"x\"")
    );
}

#[test]
fn stage_problems_are_placed_at_the_stage() {
    assert_lint(
        "no stages",
        &splice(5, 19, ""),
        &[
            at(1, 1, "the blueprint has no `stages`; it is required"),
            // The check names stage `second`, which no longer exists.
            at(
                7,
                12,
                "unknown stage `second`; expected one of the blueprint's stage ids",
            ),
        ],
    );
    assert_lint(
        "stages as a value",
        &splice(5, 19, "stages: first"),
        &[
            at(5, 9, "`stages` in the blueprint must be a list"),
            at(
                8,
                12,
                "unknown stage `second`; expected one of the blueprint's stage ids",
            ),
        ],
    );
    assert_lint(
        "no stage at all",
        &splice(5, 19, "stages: []"),
        &[
            at(5, 9, "`stages` is empty; expected at least one stage"),
            at(
                8,
                12,
                "unknown stage `second`; expected one of the blueprint's stage ids",
            ),
        ],
    );
    assert_lint(
        "a stage that is a name",
        &splice(6, 12, "  - first"),
        &[
            at(6, 5, "a stage must be a mapping of keys to values"),
            at(
                13,
                22,
                "task `two` depends on `one`, which is not a task of this blueprint",
            ),
        ],
    );
    assert_lint(
        "unknown stage key",
        &replace(7, "    titel: First"),
        &[
            at(6, 5, "stage `first` has no `title`; it is required"),
            at(
                7,
                5,
                "unknown key `titel` in a stage; expected one of id, title, after, freeze, tasks",
            ),
        ],
    );
    assert_lint(
        "stage without id",
        &replace(6, "  - name: first"),
        &[
            at(
                6,
                5,
                "unknown key `name` in a stage; expected one of id, title, after, freeze, tasks",
            ),
            // A dependency on a task of that stage is not reported again.
            at(6, 5, "a stage has no `id`; it is required"),
        ],
    );
    assert_lint(
        "duplicate stage id",
        &replace(13, "  - id: first"),
        &[
            at(
                13,
                9,
                "duplicate stage id `first`; it is already used at line 6",
            ),
            at(
                22,
                12,
                "unknown stage `second`; expected one of the blueprint's stage ids",
            ),
        ],
    );
    assert_lint(
        "after names a stage not defined before",
        &insert_after(14, "    after: [third]"),
        &[
            at(
                15,
                13,
                "`after` names `third`, which is not a stage defined before stage `second`; expected an earlier stage id",
            ),
            // Written `after` replaces the default (the previous stage), so `first` no longer
            // comes before `second`.
            at(
                20,
                22,
                "task `two` in stage `second` depends on `one` in stage `first`, which does not come before it; expected a task of the same or an earlier stage",
            ),
        ],
    );
    assert_lint(
        "after names a later stage",
        &insert_after(7, "    after: [second]"),
        &[at(
            8,
            13,
            "`after` names `second`, which is not a stage defined before stage `first`; expected an earlier stage id",
        )],
    );
    assert_lint(
        "after with a capital",
        &insert_after(7, "    after: [First]"),
        &[at(
            8,
            13,
            format!("entry of `after` `First` has the character 'F'; expected {SLUG_RULE}"),
        )],
    );
    assert_lint(
        "after with a list in it",
        &insert_after(7, "    after: [[first]]"),
        &[at(8, 13, "entries of `after` must be ids")],
    );
    assert_lint(
        "freeze yes",
        &insert_after(7, "    freeze: yes"),
        &[at(
            8,
            13,
            "freeze `yes` is not valid; expected true or false",
        )],
    );
    assert_lint(
        "no tasks key",
        &splice(8, 12, ""),
        &[
            at(6, 5, "stage `first` has no `tasks`; it is required"),
            at(
                14,
                22,
                "task `two` depends on `one`, which is not a task of this blueprint",
            ),
        ],
    );
    assert_lint(
        "tasks as a value",
        &splice(8, 12, "    tasks: one"),
        &[
            at(8, 12, "`tasks` in stage `first` must be a list"),
            at(
                15,
                22,
                "task `two` depends on `one`, which is not a task of this blueprint",
            ),
        ],
    );
    assert_lint(
        "empty tasks",
        &splice(8, 12, "    tasks: []"),
        &[
            at(8, 12, "stage `first` has no tasks; expected at least one"),
            at(
                15,
                22,
                "task `two` depends on `one`, which is not a task of this blueprint",
            ),
        ],
    );
}

#[test]
fn task_problems_are_placed_at_the_task_or_its_value() {
    assert_lint(
        "a task that is a name",
        &splice(9, 12, "      - one"),
        &[
            at(9, 9, "a task must be a mapping of keys to values"),
            at(
                16,
                22,
                "task `two` depends on `one`, which is not a task of this blueprint",
            ),
        ],
    );
    assert_lint(
        "unknown task key",
        &replace(10, "        titel: One"),
        &[
            at(9, 9, "task `one` has no `title`; it is required"),
            at(
                10,
                9,
                format!("unknown key `titel` in a task; expected one of {TASK_KEYS}"),
            ),
        ],
    );
    assert_lint(
        "task without id",
        &replace(9, "      - ref: one"),
        &[
            at(
                9,
                9,
                format!("unknown key `ref` in a task; expected one of {TASK_KEYS}"),
            ),
            at(9, 9, "a task has no `id`; it is required"),
            at(
                19,
                22,
                "task `two` depends on `one`, which is not a task of this blueprint",
            ),
        ],
    );
    assert_lint(
        "task id with an underscore",
        &splice(9, 9, "      - id: one_a"),
        &[
            at(
                9,
                13,
                format!("a task id `one_a` has the character '_'; expected {SLUG_RULE}"),
            ),
            at(
                19,
                22,
                "task `two` depends on `one`, which is not a task of this blueprint",
            ),
        ],
    );
    assert_lint(
        "duplicate task id in another stage",
        &splice(
            16,
            19,
            "      - id: one\n        title: Two\n        role: line_manager",
        ),
        &[at(
            16,
            13,
            "duplicate task id `one`; it is already used at line 9",
        )],
    );
    assert_lint(
        "blank task title",
        &replace(10, "        title: ''"),
        &[at(
            10,
            16,
            "`title` of task `one` is empty; expected some text",
        )],
    );
    assert_lint(
        "task description too long",
        &insert_after(10, &format!("        description: {}", "x".repeat(4001))),
        &[at(
            11,
            22,
            "`description` of task `one` is longer than 4000 characters",
        )],
    );
}

#[test]
fn owners_are_one_known_team_or_one_known_role() {
    assert_lint(
        "unknown team",
        &replace(11, "        team: payroll"),
        &[at(
            11,
            15,
            format!("unknown team `payroll`; expected one of {TEAMS}"),
        )],
    );
    assert_lint(
        "team with a capital",
        &replace(11, "        team: HR"),
        &[at(
            11,
            15,
            format!("team `HR` has the character 'H'; expected {SLUG_RULE}"),
        )],
    );
    assert_lint(
        "unknown role",
        &replace(18, "        role: boss"),
        &[at(
            18,
            15,
            "unknown role `boss`; expected one of case_owner, line_manager, account_manager",
        )],
    );
    assert_lint(
        "team and role",
        &insert_after(11, "        role: case_owner"),
        &[at(
            11,
            15,
            "task `one` has both `team` and `role`; expected exactly one owner",
        )],
    );
    assert_lint(
        "no owner",
        &remove(11),
        &[at(
            9,
            9,
            "task `one` has no owner; expected `team` or `role`",
        )],
    );
    // The tenant's own teams decide which team names are known.
    let teams = vec!["people".to_owned()];
    let err = parse(
        &replace(11, "        team: people"),
        &LintContext { teams: &teams },
    );
    assert!(err.is_ok(), "{err:?}");
    let err = parse(BASE, &LintContext { teams: &teams }).unwrap_err();
    assert_eq!(
        err,
        [Diagnostic {
            line: 11,
            column: 15,
            message: "unknown team `hr`; expected one of people".to_owned()
        }]
    );
}

#[test]
fn kinds_actions_and_checklists_go_together() {
    assert_lint(
        "unknown kind",
        &insert_after(11, "        kind: todo"),
        &[at(
            12,
            15,
            "unknown task kind `todo`; expected one of manual, checklist, form, approval, action",
        )],
    );
    assert_lint(
        "unknown action",
        &insert_after(
            11,
            "        kind: action\n        action: delete-everything",
        ),
        &[at(
            13,
            17,
            format!("unknown action `delete-everything`; expected one of {ACTIONS}"),
        )],
    );
    assert_lint(
        "action on a manual task",
        &insert_after(11, "        action: build-export"),
        &[at(
            12,
            17,
            "`action` is only for tasks of kind action; task `one` is not one",
        )],
    );
    assert_lint(
        "action task without action",
        &insert_after(11, "        kind: action"),
        &[at(
            9,
            9,
            format!(
                "task `one` is of kind action but names no `action`; expected one of {ACTIONS}"
            ),
        )],
    );
    assert_lint(
        "blank checklist item",
        &insert_after(
            11,
            "        kind: checklist\n        checklist:\n          - Laptop returned\n          - \"\"",
        ),
        &[at(15, 13, "checklist items must be non-empty text")],
    );
    assert_lint(
        "empty checklist",
        &insert_after(11, "        kind: checklist\n        checklist: []"),
        &[at(
            13,
            20,
            "the checklist of task `one` is empty; expected at least one item",
        )],
    );
    assert_lint(
        "checklist on a manual task",
        &insert_after(11, "        checklist: [Laptop returned]"),
        &[at(
            12,
            20,
            "`checklist` is only for tasks of kind checklist; task `one` is not one",
        )],
    );
    assert_lint(
        "checklist task without items",
        &insert_after(11, "        kind: checklist"),
        &[at(
            9,
            9,
            "task `one` is of kind checklist but has no `checklist` items",
        )],
    );
    assert_lint(
        "checklist as a single value",
        &insert_after(
            11,
            "        kind: checklist\n        checklist: Laptop returned",
        ),
        &[
            at(
                9,
                9,
                "task `one` is of kind checklist but has no `checklist` items",
            ),
            at(13, 20, "`checklist` in task `one` must be a list"),
        ],
    );
    assert_lint(
        "evidence yes",
        &insert_after(11, "        evidence: yes"),
        &[at(
            12,
            19,
            "evidence `yes` is not valid; expected required or optional",
        )],
    );
}

#[test]
fn due_offsets_and_conditions_are_checked_in_place() {
    for bad in ["-5", "5d", "-5w", "+1d 25:00", "+1d 9:00", "-1096d", "soon"] {
        assert_lint(
            &format!("due {bad}"),
            &replace(12, &format!("        due: {bad}")),
            &[at(
                12,
                14,
                format!("due of task `one`: `{bad}` is not a due offset; {DUE_RULE}"),
            )],
        );
    }
    // `        when: attrs.colour == "red"`: the unknown field starts at column 21.
    assert_lint(
        "unknown attribute in when",
        &insert_after(11, "        when: attrs.colour == \"red\""),
        &[at(
            12,
            21,
            format!(
                "in `when` of task `one`: unknown field `colour` of `attrs`; expected one of {ATTRS} (declare custom attributes under `attributes:`)"
            ),
        )],
    );
    assert_lint(
        "unknown name in when",
        &insert_after(11, "        when: employee.role == \"x\""),
        &[at(
            12,
            15,
            "in `when` of task `one`: unknown name `employee`; expected one of subject, attrs, records, parent",
        )],
    );
    assert_lint(
        "unparsable when",
        &insert_after(11, "        when: attrs.role =="),
        // The parser stops at the end of the expression, just after its last character.
        &[starting(
            12,
            28,
            "in `when` of task `one`: CEL does not parse: ",
        )],
    );
    // A block scalar: the problem on its first line is placed in the file.
    assert_lint(
        "unknown field in a block scalar's first line",
        &insert_after(11, "        when: |\n          attrs.colour == \"red\""),
        &[at(
            13,
            17,
            format!(
                "in `when` of task `one`: unknown field `colour` of `attrs`; expected one of {ATTRS} (declare custom attributes under `attributes:`)"
            ),
        )],
    );
}

#[test]
fn dependencies_point_back_and_never_in_a_circle() {
    assert_lint(
        "depends_on as a value",
        &replace(19, "        depends_on: one"),
        &[at(19, 21, "`depends_on` in task `two` must be a list")],
    );
    assert_lint(
        "depends_on an unknown task",
        &replace(19, "        depends_on: [three]"),
        &[at(
            19,
            22,
            "task `two` depends on `three`, which is not a task of this blueprint",
        )],
    );
    assert_lint(
        "depends_on a map",
        &replace(19, "        depends_on: [{id: one}]"),
        &[at(19, 22, "entries of `depends_on` must be ids")],
    );
    assert_lint(
        "depends_on a later stage",
        &insert_after(12, "        depends_on: [two]"),
        &[at(
            13,
            22,
            "task `one` in stage `first` depends on `two` in stage `second`, which does not come before it; expected a task of the same or an earlier stage",
        )],
    );
    assert_lint(
        "depends on itself",
        &insert_after(12, "        depends_on: [one]"),
        &[at(
            9,
            13,
            "dependency cycle: `one` → `one`; expected tasks that can finish in some order",
        )],
    );
    // Two stages that both come after `a` run side by side: neither comes before the other.
    let parallel = r#"id: demo
version: 1
title: Demo
scope: employee
stages:
  - id: a
    title: A
    tasks:
      - {id: start, title: Start, team: hr}
  - id: b
    title: B
    after: [a]
    tasks:
      - {id: left, title: Left, team: hr, depends_on: [start]}
  - id: c
    title: C
    after: [a]
    tasks:
      - {id: right, title: Right, team: hr, depends_on: [left]}
"#;
    assert_lint(
        "depends on a parallel stage",
        parallel,
        &[at(
            19,
            58,
            "task `right` in stage `c` depends on `left` in stage `b`, which does not come before it; expected a task of the same or an earlier stage",
        )],
    );
    // The cycle is named from its smallest task id, at that task's id.
    let cycle = r#"id: demo
version: 1
title: Demo
scope: employee
stages:
  - id: a
    title: A
    tasks:
      - {id: x, title: X, team: hr, depends_on: [y]}
      - {id: y, title: Y, team: hr, depends_on: [w]}
      - {id: w, title: W, team: hr, depends_on: [x]}
"#;
    assert_lint(
        "three-task cycle",
        cycle,
        &[at(
            11,
            14,
            "dependency cycle: `w` → `x` → `y` → `w`; expected tasks that can finish in some order",
        )],
    );
}

#[test]
fn check_problems_are_placed_at_the_check_or_its_value() {
    assert_lint(
        "checks as a value",
        &splice(20, 25, "checks: c"),
        &[at(20, 9, "`checks` in the blueprint must be a list")],
    );
    assert_lint(
        "a check that is a name",
        &splice(21, 25, "  - c"),
        &[at(21, 5, "a check must be a mapping of keys to values")],
    );
    assert_lint(
        "unknown check key",
        &insert_after(25, "    owner: hr"),
        &[at(
            26,
            5,
            "unknown key `owner` in a check; expected one of id, stage, severity, condition, message",
        )],
    );
    assert_lint(
        "check without id",
        &replace(21, "  - name: c"),
        &[
            at(
                21,
                5,
                "unknown key `name` in a check; expected one of id, stage, severity, condition, message",
            ),
            at(21, 5, "a check has no `id`; it is required"),
        ],
    );
    assert_lint(
        "duplicate check id",
        &insert_after(
            25,
            "  - id: c\n    severity: blocker\n    condition: attrs.role == \"x\"\n    message: Again.",
        ),
        &[at(
            26,
            9,
            "duplicate check id `c`; it is already used at line 21",
        )],
    );
    assert_lint(
        "the overdue check's id",
        &replace(21, "  - id: overdue-tasks"),
        &[at(
            21,
            9,
            "check id `overdue-tasks` is Exeunt's own (the warning that tasks are overdue); expected another id",
        )],
    );
    assert_lint(
        "the legal hold check's id",
        &replace(21, "  - id: legal-hold"),
        &[at(
            21,
            9,
            "check id `legal-hold` is Exeunt's own (the warning that a legal hold stands); expected another id",
        )],
    );
    assert_lint(
        "unknown stage",
        &replace(22, "    stage: third"),
        &[at(
            22,
            12,
            "unknown stage `third`; expected one of the blueprint's stage ids",
        )],
    );
    assert_lint(
        "stage with a capital",
        &replace(22, "    stage: Second"),
        &[at(
            22,
            12,
            format!("stage `Second` has the character 'S'; expected {SLUG_RULE}"),
        )],
    );
    assert_lint(
        "no severity",
        &remove(23),
        &[at(21, 5, "check `c` has no `severity`; it is required")],
    );
    assert_lint(
        "unknown severity",
        &replace(23, "    severity: fatal"),
        &[at(
            23,
            15,
            "severity `fatal` is not valid; expected blocker or warning",
        )],
    );
    assert_lint(
        "no condition",
        &remove(24),
        &[at(21, 5, "check `c` has no `condition`; it is required")],
    );
    // `    condition: records.accounts.exists(a, a.colour == "x")`: `colour` is at column 45.
    assert_lint(
        "unknown record field",
        &replace(
            24,
            "    condition: records.accounts.exists(a, a.colour == \"x\")",
        ),
        &[at(
            24,
            45,
            "in `condition` of check `c`: unknown field `colour` of an account record; expected one of system, identifier, status",
        )],
    );
    assert_lint(
        "unknown record list",
        &replace(24, "    condition: records.laptops.size() > 0"),
        &[at(
            24,
            24,
            "in `condition` of check `c`: unknown field `laptops` of `records`; expected one of documents, notes, contacts, accounts, integrations, assets, work_items",
        )],
    );
    assert_lint(
        "no message",
        &remove(25),
        &[at(21, 5, "check `c` has no `message`; it is required")],
    );
    assert_lint(
        "blank message",
        &replace(25, "    message: \"\""),
        &[at(
            25,
            14,
            "`message` of check `c` is empty; expected some text",
        )],
    );
    // Without `stage`, a check gates the first stage.
    let bp = lint(&remove(22)).unwrap_or_else(|d| panic!("{d:#?}"));
    assert_eq!(bp.checks[0].stage.as_str(), "first");
}

#[test]
fn every_problem_is_reported_at_once_in_file_order() {
    let text = splice(
        10,
        12,
        "        title: ''\n        team: payroll\n        due: soon",
    );
    let text = text.replace("severity: warning", "severity: fatal");
    assert_lint(
        "three problems",
        &text,
        &[
            at(10, 16, "`title` of task `one` is empty; expected some text"),
            at(
                11,
                15,
                format!("unknown team `payroll`; expected one of {TEAMS}"),
            ),
            at(
                12,
                14,
                format!("due of task `one`: `soon` is not a due offset; {DUE_RULE}"),
            ),
            at(
                23,
                15,
                "severity `fatal` is not valid; expected blocker or warning",
            ),
        ],
    );
}

// ---- Bugs once found, now fixed -----------------------------------------------------------------

/// Problems about a whole mapping ("has no `title`", "has no owner", …) were placed at the colon
/// after the mapping's first key (`- id: one` → column 11), not where the mapping starts.
#[test]
fn mapping_level_problems_point_at_the_mapping_not_at_its_first_colon() {
    assert_lint(
        "no owner",
        &remove(11),
        &[at(
            9,
            9,
            "task `one` has no owner; expected `team` or `role`",
        )],
    );
    assert_lint(
        "no id",
        &remove(1),
        &[at(1, 1, "the blueprint has no `id`; it is required")],
    );
    // A mapping in flow style starts at its brace.
    assert_lint(
        "flow task without owner",
        &splice(9, 12, "      - {id: one, title: One}"),
        &[at(
            9,
            9,
            "task `one` has no owner; expected `team` or `role`",
        )],
    );
}

/// `title:` with nothing after it was reported at the next token: line 4, column 1.
#[test]
fn an_empty_value_is_placed_on_its_own_line() {
    assert_lint(
        "empty title",
        &replace(3, "title:"),
        &[at(
            3,
            7,
            "`title` of the blueprint is empty; expected some text",
        )],
    );
    assert_lint(
        "empty message at the end of the file",
        &replace(25, "    message:"),
        &[at(
            25,
            13,
            "`message` of check `c` is empty; expected some text",
        )],
    );
}

/// `title: ~` is YAML's "no value", not the title "~".
#[test]
fn a_null_title_is_no_title() {
    for null in ["~", "null", "NULL"] {
        assert_lint(
            &format!("title {null}"),
            &replace(3, &format!("title: {null}")),
            &[at(
                3,
                8,
                "`title` of the blueprint is empty; expected some text",
            )],
        );
    }
    // Quoted, it is text.
    let bp = lint(&replace(3, "title: \"~\"")).unwrap_or_else(|d| panic!("{d:#?}"));
    assert_eq!(bp.title, "~");
}

/// Inside a quoted condition the column was one short: the quote was not counted.
#[test]
fn a_problem_in_a_quoted_condition_is_placed_at_the_field() {
    // `        when: "attrs.colour == 'red'"`: `colour` starts at column 22.
    assert_lint(
        "quoted when",
        &insert_after(11, "        when: \"attrs.colour == 'red'\""),
        &[at(
            12,
            22,
            format!(
                "in `when` of task `one`: unknown field `colour` of `attrs`; expected one of {ATTRS} (declare custom attributes under `attributes:`)"
            ),
        )],
    );
}

/// On the second line of a block scalar the column ignored the block's indentation.
#[test]
fn a_problem_on_a_later_line_of_a_block_condition_is_placed_at_the_field() {
    // Line 14 is `          attrs.colour == "red"`: `colour` starts at column 17.
    assert_lint(
        "block when",
        &insert_after(
            11,
            "        when: |\n          attrs.role == \"x\" ||\n          attrs.colour == \"red\"",
        ),
        &[at(
            14,
            17,
            format!(
                "in `when` of task `one`: unknown field `colour` of `attrs`; expected one of {ATTRS} (declare custom attributes under `attributes:`)"
            ),
        )],
    );
}

/// A plain condition folded over two lines is one line to CEL, so a problem on the second line
/// was reported on the first, past its end.
#[test]
fn a_problem_on_the_second_line_of_a_plain_condition_is_placed_there() {
    assert_lint(
        "folded plain when",
        &insert_after(
            11,
            "        when: attrs.role == \"x\" ||\n          attrs.colour == \"red\"",
        ),
        &[at(
            13,
            17,
            format!(
                "in `when` of task `one`: unknown field `colour` of `attrs`; expected one of {ATTRS} (declare custom attributes under `attributes:`)"
            ),
        )],
    );
}

/// A stage without a valid id whose task depends on a task of another stage made lint panic
/// (`stage_of[task]` in `check_dependencies` indexed a map that left out such stages), where
/// it should report the bad stage id. A task depending on a task of such a stage was told that
/// task did not exist.
#[test]
fn a_stage_without_a_valid_id_whose_task_has_dependencies() {
    assert_lint(
        "stage id with a capital",
        &replace(13, "  - id: Second"),
        &[at(
            13,
            9,
            format!("a stage id `Second` has the character 'S'; expected {SLUG_RULE}"),
        )],
    );
    assert_lint(
        "first stage id with a capital",
        &replace(6, "  - id: First"),
        &[at(
            6,
            9,
            format!("a stage id `First` has the character 'F'; expected {SLUG_RULE}"),
        )],
    );
    assert_lint(
        "stage without id",
        &replace(13, "  - name: second"),
        &[
            at(
                13,
                5,
                "unknown key `name` in a stage; expected one of id, title, after, freeze, tasks",
            ),
            at(13, 5, "a stage has no `id`; it is required"),
        ],
    );
}

/// CEL's offsets count bytes, the column counts characters: after a non-ASCII character in a
/// condition, problems were placed too far right (one column per extra byte).
#[test]
fn a_problem_after_non_ascii_text_in_a_condition_is_placed_at_the_field() {
    // `        when: attrs.role == "Müller" && attrs.colour == "x"`: `colour` is at column 47.
    assert_lint(
        "umlaut before the field",
        &insert_after(
            11,
            "        when: attrs.role == \"Müller\" && attrs.colour == \"x\"",
        ),
        &[at(
            12,
            47,
            format!(
                "in `when` of task `one`: unknown field `colour` of `attrs`; expected one of {ATTRS} (declare custom attributes under `attributes:`)"
            ),
        )],
    );
}

/// `when: attrs.role` is text; lint accepted it and the plan failed on the first subject.
#[test]
fn a_condition_known_not_to_be_true_or_false_is_refused() {
    assert_lint(
        "text as a condition",
        &insert_after(11, "        when: attrs.role"),
        &[at(
            12,
            15,
            "in `when` of task `one`: this gives text, not true or false; expected a comparison such as `attrs.role == \"engineer\"`",
        )],
    );
    assert_lint(
        "a number on one side of &&",
        &replace(
            24,
            "    condition: attrs.role == \"engineer\" && attrs.balance_outstanding",
        ),
        &[at(
            24,
            44,
            "in `condition` of check `c`: this gives a number, not true or false; expected a comparison such as `attrs.role == \"engineer\"`",
        )],
    );
}
