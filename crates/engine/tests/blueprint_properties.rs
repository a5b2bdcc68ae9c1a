//! Properties of blueprint lint, over generated and mangled input:
//!
//! - whatever the text, `parse` answers with a blueprint or with problems, never a panic, and
//!   the problems come sorted, once each, at positions inside the file;
//! - whatever text lint accepts is a well-formed blueprint (unique ids, dependencies that point
//!   back, no cycles, checks on known stages, …);
//! - a generated blueprint parses to exactly what was written;
//! - one fault put into a generated blueprint is reported alone, at its line and column;
//! - a dependency graph is accepted exactly when every edge points to the same or an earlier
//!   stage and there is no cycle.

use std::collections::{BTreeMap, BTreeSet};

use exeunt_engine::blueprint::{
    ACTIONS, BUILTIN, Blueprint, Diagnostic, LintContext, Owner, OwnerRole, TaskKind, parse,
};
use exeunt_engine::due::{DayCount, DueOffset};
use exeunt_engine::ids::Slug;
use exeunt_engine::subject::SubjectKind;
use exeunt_engine::teams::default_team_slugs;
use jiff::civil::Time;
use proptest::prelude::*;
use proptest::sample::Index;

fn lint(text: &str) -> Result<Blueprint, Vec<Diagnostic>> {
    let teams = default_team_slugs();
    parse(text, &LintContext { teams: &teams })
}

/// What every answer of lint must look like, valid or not.
fn check_answer(text: &str, answer: &Result<Blueprint, Vec<Diagnostic>>) -> Result<(), String> {
    match answer {
        Ok(bp) => well_formed(bp),
        Err(diags) => {
            if diags.is_empty() {
                return Err("refused without a problem".into());
            }
            // The loader may point one line past the last one (the end of the file).
            let last_line = text.lines().count() + 1;
            for d in diags {
                if d.line < 1 || d.line > last_line || d.column < 1 {
                    return Err(format!("{d} lies outside the file ({last_line} lines)"));
                }
                if d.message.trim().is_empty() {
                    return Err(format!("{d} has no message"));
                }
            }
            for pair in diags.windows(2) {
                if (pair[0].line, pair[0].column) > (pair[1].line, pair[1].column) {
                    return Err(format!("not in file order: {} then {}", pair[0], pair[1]));
                }
                if pair[0] == pair[1] {
                    return Err(format!("reported twice: {}", pair[0]));
                }
            }
            Ok(())
        }
    }
}

/// What lint promises about any blueprint it accepts.
fn well_formed(bp: &Blueprint) -> Result<(), String> {
    let fail = |m: String| Err(m);
    if bp.version < 1 {
        return fail(format!("version {}", bp.version));
    }
    if bp.title.trim().is_empty() || bp.title.chars().count() > 200 {
        return fail(format!("title {:?}", bp.title));
    }
    let w = &bp.confirmation_word;
    if !(3..=32).contains(&w.len()) || !w.chars().all(|c| c.is_ascii_uppercase()) {
        return fail(format!("confirmation word {w:?}"));
    }
    if let Some(kind) = bp.fan_out
        && (bp.scope != SubjectKind::Organization || kind == SubjectKind::Organization)
    {
        return fail(format!("fan_out {kind} with scope {}", bp.scope));
    }
    if bp.stages.is_empty() {
        return fail("no stages".into());
    }
    // Stages: unique ids, `after` names earlier stages only.
    let mut before: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for s in &bp.stages {
        if before.contains_key(s.id.as_str()) {
            return fail(format!("stage {} twice", s.id));
        }
        if s.tasks.is_empty() || s.title.trim().is_empty() {
            return fail(format!("stage {} without tasks or title", s.id));
        }
        let mut set = BTreeSet::new();
        for a in &s.after {
            let Some(prev) = before.get(a.as_str()) else {
                return fail(format!("stage {} after {a}, not an earlier stage", s.id));
            };
            set.insert(a.as_str());
            set.extend(prev.iter().copied());
        }
        before.insert(s.id.as_str(), set);
    }
    // Tasks: unique ids; kind, action and checklist agree; dependencies point back.
    let mut stage_of: BTreeMap<&str, &str> = BTreeMap::new();
    for (stage, t) in bp.tasks() {
        if stage_of.insert(t.id.as_str(), stage.id.as_str()).is_some() {
            return fail(format!("task {} twice", t.id));
        }
        if t.title.trim().is_empty() {
            return fail(format!("task {} without title", t.id));
        }
        match (t.kind, &t.action) {
            (TaskKind::Action, Some(a)) if ACTIONS.contains(&a.as_str()) => {}
            (TaskKind::Action, _) => return fail(format!("action task {} without action", t.id)),
            (_, Some(_)) => return fail(format!("task {} has an action", t.id)),
            _ => {}
        }
        if (t.kind == TaskKind::Checklist) == t.checklist.is_empty() {
            return fail(format!("task {} kind {:?} checklist", t.id, t.kind));
        }
        if t.checklist.iter().any(|i| i.trim().is_empty()) {
            return fail(format!("task {} has an empty checklist item", t.id));
        }
        if let Some(d) = t.due
            && d.days.abs() > DueOffset::MAX_DAYS
        {
            return fail(format!("task {} due {d}", t.id));
        }
    }
    let mut edges: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (stage, t) in bp.tasks() {
        for d in &t.depends_on {
            let Some(dep_stage) = stage_of.get(d.as_str()) else {
                return fail(format!("task {} depends on unknown {d}", t.id));
            };
            if *dep_stage != stage.id.as_str() && !before[stage.id.as_str()].contains(dep_stage) {
                return fail(format!("task {} depends on {d} of a later stage", t.id));
            }
            edges.entry(t.id.as_str()).or_default().push(d.as_str());
        }
    }
    if has_cycle(&edges) {
        return fail("dependency cycle accepted".into());
    }
    let mut check_ids = BTreeSet::new();
    for c in &bp.checks {
        if !check_ids.insert(c.id.as_str())
            || ["overdue-tasks", "legal-hold"].contains(&c.id.as_str())
        {
            return fail(format!("check id {}", c.id));
        }
        if !before.contains_key(c.stage.as_str()) {
            return fail(format!("check {} on unknown stage {}", c.id, c.stage));
        }
        if c.message.trim().is_empty() {
            return fail(format!("check {} without message", c.id));
        }
    }
    Ok(())
}

fn has_cycle(edges: &BTreeMap<&str, Vec<&str>>) -> bool {
    // Kahn's algorithm: a cycle is what is left once nothing more can be removed.
    let mut nodes: BTreeSet<&str> = edges.keys().copied().collect();
    nodes.extend(edges.values().flatten().copied());
    let mut remaining = nodes.clone();
    loop {
        let free: Vec<&str> = remaining
            .iter()
            .copied()
            .filter(|n| {
                edges
                    .get(n)
                    .is_none_or(|ds| ds.iter().all(|d| !remaining.contains(d)))
            })
            .collect();
        if free.is_empty() {
            return !remaining.is_empty();
        }
        for n in free {
            remaining.remove(n);
        }
    }
}

// ---- Mangled text -------------------------------------------------------------------------

/// Snippets that are likely to mean something to YAML or to lint.
const SNIPPETS: &[&str] = &[
    ": ", "- ", "[", "]", "{", "}", "&a ", "*a", "!!str ", "|", ">", "#", "\"", "'", "\t", "X",
    "-", "0", "bd", "d", " ", "\n", "  ", "~", "?", ",",
];

/// Lines that are valid somewhere in a blueprint, put where they may not be.
const LINES: &[&str] = &[
    "id: x",
    "      - id: extra",
    "        depends_on: [extra]",
    "        depends_on: [set-expectations]",
    "        kind: action",
    "        kind: checklist",
    "        team: payroll",
    "        role: boss",
    "    after: [precheck]",
    "    after: [purge-scheduling]",
    "    freeze: true",
    "        due: +1bd",
    "        due: -9999d",
    "    stage: nope",
    "    severity: blocker",
    "        when: attrs.role == \"x\"",
    "        when: attrs.colour == \"x\"",
    "    condition: records.accounts.size() > 0",
    "fan_out: client",
    "scope: organization",
    "checks: []",
    "stages: []",
    "",
];

#[derive(Clone, Debug)]
enum Mutation {
    Delete(Index),
    Duplicate(Index),
    Swap(Index, Index),
    InsertText(Index, Index, &'static str),
    InsertLine(Index, &'static str),
    Reindent(Index, i8),
    Truncate(Index),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        any::<Index>().prop_map(Mutation::Delete),
        any::<Index>().prop_map(Mutation::Duplicate),
        (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Mutation::Swap(a, b)),
        (
            any::<Index>(),
            any::<Index>(),
            prop::sample::select(SNIPPETS)
        )
            .prop_map(|(l, c, s)| Mutation::InsertText(l, c, s)),
        (any::<Index>(), prop::sample::select(LINES)).prop_map(|(l, s)| Mutation::InsertLine(l, s)),
        (any::<Index>(), -4i8..=4).prop_map(|(l, d)| Mutation::Reindent(l, d)),
        any::<Index>().prop_map(Mutation::Truncate),
    ]
}

fn mutate(text: &str, mutations: &[Mutation]) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    for m in mutations {
        if lines.is_empty() {
            lines.push(String::new());
        }
        let n = lines.len();
        match m {
            Mutation::Delete(i) => {
                lines.remove(i.index(n));
            }
            Mutation::Duplicate(i) => {
                let l = lines[i.index(n)].clone();
                lines.insert(i.index(n), l);
            }
            Mutation::Swap(a, b) => lines.swap(a.index(n), b.index(n)),
            Mutation::InsertText(l, c, s) => {
                let line = &mut lines[l.index(n)];
                let at = line
                    .char_indices()
                    .map(|(i, _)| i)
                    .nth(c.index(line.chars().count() + 1))
                    .unwrap_or(line.len());
                line.insert_str(at, s);
            }
            Mutation::InsertLine(l, s) => lines.insert(l.index(n + 1), (*s).to_owned()),
            Mutation::Reindent(l, d) => {
                let line = &mut lines[l.index(n)];
                if *d > 0 {
                    line.insert_str(0, &" ".repeat(*d as usize));
                } else {
                    let strip = line
                        .chars()
                        .take(d.unsigned_abs() as usize)
                        .take_while(|c| *c == ' ')
                        .count();
                    line.drain(..strip);
                }
            }
            Mutation::Truncate(i) => lines.truncate(i.index(n) + 1),
        }
    }
    lines.join("\n") + "\n"
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn mangled_builtins_give_a_well_formed_blueprint_or_placed_problems(
        which in 0..BUILTIN.len(),
        mutations in prop::collection::vec(mutation(), 1..5),
    ) {
        let text = mutate(BUILTIN[which].1, &mutations);
        let answer = lint(&text);
        prop_assert_eq!(check_answer(&text, &answer), Ok(()), "text:\n{}", text);
    }

    #[test]
    fn yaml_like_noise_gives_problems_not_a_panic(
        text in "[a-z_:\\-\\[\\]{}#&*!|>'\" \n\t0-9.,?~]{0,200}",
    ) {
        let answer = lint(&text);
        prop_assert_eq!(check_answer(&text, &answer), Ok(()), "text:\n{:?}", text);
    }

    #[test]
    fn any_unicode_text_gives_problems_not_a_panic(text in any::<String>()) {
        let answer = lint(&text);
        prop_assert!(answer.is_err(), "accepted {:?}", text);
        prop_assert_eq!(check_answer(&text, &answer), Ok(()), "text:\n{:?}", text);
    }
}

// ---- Generated blueprints -----------------------------------------------------------------

#[derive(Clone, Debug)]
enum OwnerModel {
    Team(&'static str),
    Role(&'static str),
}

#[derive(Clone, Debug)]
enum KindModel {
    /// No `kind:` line: a manual task.
    Unwritten,
    Plain(&'static str),
    Checklist(Vec<String>),
    Action(&'static str),
}

#[derive(Clone, Debug)]
struct DueModel {
    days: i32,
    business: bool,
    at: Option<(i8, i8)>,
}

#[derive(Clone, Debug)]
struct TaskModel {
    title: String,
    owner: OwnerModel,
    kind: KindModel,
    due: Option<DueModel>,
    evidence: Option<bool>,
    when: Option<&'static str>,
    /// Picks among the tasks written before this one.
    deps: Vec<Index>,
}

#[derive(Clone, Debug)]
struct StageModel {
    title: String,
    freeze: Option<bool>,
    tasks: Vec<TaskModel>,
}

#[derive(Clone, Debug)]
struct BlueprintModel {
    version: u32,
    title: String,
    scope: SubjectKind,
    stages: Vec<StageModel>,
}

/// Text that needs double quotes in YAML but no escapes.
fn title() -> impl Strategy<Value = String> {
    "[A-Za-z0-9][A-Za-z0-9 ,.:#()'&*!|>-]{0,40}"
}

fn task_model() -> impl Strategy<Value = TaskModel> {
    let owner = prop_oneof![
        prop::sample::select(vec![
            "hr",
            "it",
            "finance",
            "account-management",
            "operations",
            "compliance",
            "legal"
        ])
        .prop_map(OwnerModel::Team),
        prop::sample::select(OwnerRole::NAMES.to_vec()).prop_map(OwnerModel::Role),
    ];
    let kind = prop_oneof![
        Just(KindModel::Unwritten),
        prop::sample::select(vec!["manual", "form", "approval"]).prop_map(KindModel::Plain),
        prop::collection::vec(title(), 1..4).prop_map(KindModel::Checklist),
        prop::sample::select(ACTIONS.to_vec()).prop_map(KindModel::Action),
    ];
    let due = prop::option::of(
        (
            -DueOffset::MAX_DAYS..=DueOffset::MAX_DAYS,
            any::<bool>(),
            prop::option::of((0i8..24, 0i8..60)),
        )
            .prop_map(|(days, business, at)| DueModel { days, business, at }),
    );
    let when = prop::option::of(prop::sample::select(vec![
        "attrs.role == \"engineer\"",
        "attrs.country == \"DE\"",
        "records.accounts.exists(a, a.status == \"active\")",
    ]));
    (
        title(),
        owner,
        kind,
        due,
        prop::option::of(any::<bool>()),
        when,
        prop::collection::vec(any::<Index>(), 0..3),
    )
        .prop_map(
            |(title, owner, kind, due, evidence, when, deps)| TaskModel {
                title,
                owner,
                kind,
                due,
                evidence,
                when,
                deps,
            },
        )
}

fn blueprint_model() -> impl Strategy<Value = BlueprintModel> {
    let stage = (
        title(),
        prop::option::of(any::<bool>()),
        prop::collection::vec(task_model(), 1..4),
    )
        .prop_map(|(title, freeze, tasks)| StageModel {
            title,
            freeze,
            tasks,
        });
    (
        1u32..1000,
        title(),
        prop::sample::select(SubjectKind::ALL.to_vec()),
        prop::collection::vec(stage, 1..4),
    )
        .prop_map(|(version, title, scope, stages)| BlueprintModel {
            version,
            title,
            scope,
            stages,
        })
}

fn task_id(stage: usize, task: usize) -> String {
    format!("t{stage}-{task}")
}

/// Every task id in file order, with its stage index.
fn task_ids(m: &BlueprintModel) -> Vec<(usize, String)> {
    m.stages
        .iter()
        .enumerate()
        .flat_map(|(s, st)| (0..st.tasks.len()).map(move |t| (s, task_id(s, t))))
        .collect()
}

/// The dependencies of the `flat`-th task: distinct tasks written before it.
fn deps_of(m: &BlueprintModel, flat: usize, task: &TaskModel) -> Vec<String> {
    let ids = task_ids(m);
    let mut out: Vec<String> = Vec::new();
    if flat == 0 {
        return out;
    }
    for i in &task.deps {
        let id = ids[i.index(flat)].1.clone();
        if !out.contains(&id) {
            out.push(id);
        }
    }
    out
}

fn due_text(d: &DueModel) -> String {
    let sign = if d.days < 0 { '-' } else { '+' };
    let unit = if d.business { "bd" } else { "d" };
    let mut s = format!("{sign}{}{unit}", d.days.unsigned_abs());
    if let Some((h, m)) = d.at {
        s.push_str(&format!(" {h:02}:{m:02}"));
    }
    s
}

/// The lines a task was written on (1-based), for placing faults.
#[derive(Clone, Debug, Default)]
struct TaskLines {
    id: usize,
    owner: usize,
    due: Option<usize>,
    evidence: Option<usize>,
}

fn render(m: &BlueprintModel) -> (String, Vec<TaskLines>) {
    let mut out: Vec<String> = vec![
        "# generated".to_owned(),
        "id: generated".to_owned(),
        format!("version: {}", m.version),
        format!("title: \"{}\"", m.title),
        format!("scope: {}", m.scope),
        "stages:".to_owned(),
    ];
    let mut lines = Vec::new();
    let mut flat = 0;
    for (s, stage) in m.stages.iter().enumerate() {
        out.push(format!("  - id: s{s}"));
        out.push(format!("    title: \"{}\"", stage.title));
        if let Some(f) = stage.freeze {
            out.push(format!("    freeze: {f}"));
        }
        out.push("    tasks:".to_owned());
        for (t, task) in stage.tasks.iter().enumerate() {
            let mut at = TaskLines::default();
            out.push(format!("      - id: {}", task_id(s, t)));
            at.id = out.len();
            out.push(format!("        title: \"{}\"", task.title));
            out.push(match task.owner {
                OwnerModel::Team(team) => format!("        team: {team}"),
                OwnerModel::Role(role) => format!("        role: {role}"),
            });
            at.owner = out.len();
            match &task.kind {
                KindModel::Unwritten => {}
                KindModel::Plain(k) => out.push(format!("        kind: {k}")),
                KindModel::Checklist(items) => {
                    out.push("        kind: checklist".to_owned());
                    out.push("        checklist:".to_owned());
                    for i in items {
                        out.push(format!("          - \"{i}\""));
                    }
                }
                KindModel::Action(a) => {
                    out.push("        kind: action".to_owned());
                    out.push(format!("        action: {a}"));
                }
            }
            let deps = deps_of(m, flat, task);
            if !deps.is_empty() {
                out.push(format!("        depends_on: [{}]", deps.join(", ")));
            }
            if let Some(d) = &task.due {
                out.push(format!("        due: {}", due_text(d)));
                at.due = Some(out.len());
            }
            if let Some(e) = task.evidence {
                let word = if e { "required" } else { "optional" };
                out.push(format!("        evidence: {word}"));
                at.evidence = Some(out.len());
            }
            if let Some(w) = task.when {
                out.push(format!("        when: '{w}'"));
            }
            lines.push(at);
            flat += 1;
        }
    }
    (out.join("\n") + "\n", lines)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn a_generated_blueprint_parses_to_what_it_says(m in blueprint_model()) {
        let (text, _) = render(&m);
        let bp = lint(&text).map_err(|d| TestCaseError::fail(format!("{d:#?}\n{text}")))?;
        prop_assert_eq!(well_formed(&bp), Ok(()));
        prop_assert_eq!(bp.id.as_str(), "generated");
        prop_assert_eq!(bp.version, m.version);
        prop_assert_eq!(&bp.title, m.title.trim());
        prop_assert_eq!(bp.scope, m.scope);
        prop_assert_eq!(&bp.confirmation_word, "TERMINATE");
        prop_assert_eq!(bp.stages.len(), m.stages.len());
        let mut flat = 0;
        for (s, (stage, want)) in bp.stages.iter().zip(&m.stages).enumerate() {
            prop_assert_eq!(stage.id.to_string(), format!("s{s}"));
            prop_assert_eq!(&stage.title, want.title.trim());
            prop_assert_eq!(stage.freeze, want.freeze.unwrap_or(false));
            // Unless written otherwise, a stage comes after the one before it.
            let after: Vec<String> = stage.after.iter().map(ToString::to_string).collect();
            let expected_after: Vec<String> = if s == 0 { vec![] } else { vec![format!("s{}", s - 1)] };
            prop_assert_eq!(after, expected_after);
            prop_assert_eq!(stage.tasks.len(), want.tasks.len());
            for (t, (task, tm)) in stage.tasks.iter().zip(&want.tasks).enumerate() {
                prop_assert_eq!(task.id.to_string(), task_id(s, t));
                prop_assert_eq!(&task.title, tm.title.trim());
                let owner = match tm.owner {
                    OwnerModel::Team(team) => Owner::Team(Slug::parse(team).unwrap()),
                    OwnerModel::Role(role) => Owner::Role(OwnerRole::parse(role).unwrap()),
                };
                prop_assert_eq!(&task.owner, &owner);
                let (kind, action, checklist) = match &tm.kind {
                    KindModel::Unwritten => (TaskKind::Manual, None, vec![]),
                    KindModel::Plain(k) => (TaskKind::parse(k).unwrap(), None, vec![]),
                    KindModel::Checklist(items) => (
                        TaskKind::Checklist,
                        None,
                        items.iter().map(|i| i.trim().to_owned()).collect(),
                    ),
                    KindModel::Action(a) => (TaskKind::Action, Some((*a).to_owned()), vec![]),
                };
                prop_assert_eq!(task.kind, kind);
                prop_assert_eq!(&task.action, &action);
                prop_assert_eq!(&task.checklist, &checklist);
                let deps: Vec<String> = task.depends_on.iter().map(ToString::to_string).collect();
                prop_assert_eq!(deps, deps_of(&m, flat, tm));
                let due = tm.due.as_ref().map(|d| DueOffset {
                    days: d.days,
                    count: if d.business { DayCount::Business } else { DayCount::Calendar },
                    at: d.at.map_or(DueOffset::DEFAULT_TIME, |(h, mi)| Time::constant(h, mi, 0, 0)),
                });
                prop_assert_eq!(task.due, due);
                prop_assert_eq!(task.evidence_required, tm.evidence == Some(true));
                prop_assert_eq!(task.when.as_ref().map(|w| w.source()), tm.when);
                flat += 1;
            }
        }
        prop_assert!(bp.checks.is_empty());
    }
}

#[derive(Clone, Copy, Debug)]
enum Fault {
    UnknownKey,
    BadDue,
    UnknownTeam,
    BadEvidence,
}

const TASK_KEYS: &str =
    "id, title, description, team, role, kind, action, checklist, depends_on, due, when, evidence";

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// One fault in an otherwise valid blueprint is the only problem, placed where it is.
    #[test]
    fn one_fault_is_reported_alone_at_its_place(
        m in blueprint_model(),
        which in any::<Index>(),
        fault in prop::sample::select(vec![
            Fault::UnknownKey, Fault::BadDue, Fault::UnknownTeam, Fault::BadEvidence,
        ]),
    ) {
        let (text, lines) = render(&m);
        let ids = task_ids(&m);
        let k = which.index(ids.len());
        let id = &ids[k].1;
        let at = &lines[k];
        let mut out: Vec<String> = text.lines().map(str::to_owned).collect();
        // Replace a line, or insert one right after the task's id line.
        let mut put = |existing: Option<usize>, line: String| -> usize {
            match existing {
                Some(n) => {
                    out[n - 1] = line;
                    n
                }
                None => {
                    out.insert(at.id, line);
                    at.id + 1
                }
            }
        };
        let want = match fault {
            Fault::UnknownKey => {
                let n = put(None, "        colour: red".to_owned());
                Diagnostic {
                    line: n,
                    column: 9,
                    message: format!("unknown key `colour` in a task; expected one of {TASK_KEYS}"),
                }
            }
            Fault::BadDue => {
                let n = put(at.due, "        due: -5".to_owned());
                Diagnostic {
                    line: n,
                    column: 14,
                    message: format!(
                        "due of task `{id}`: `-5` is not a due offset; expected a sign, a number of days and `d` or `bd`, optionally a time: `-5d`, `+0d 17:00`, `-3bd`"
                    ),
                }
            }
            Fault::UnknownTeam => {
                let n = put(Some(at.owner), "        team: payroll".to_owned());
                Diagnostic {
                    line: n,
                    column: 15,
                    message: "unknown team `payroll`; expected one of hr, it, finance, account-management, operations, compliance, legal".to_owned(),
                }
            }
            Fault::BadEvidence => {
                let n = put(at.evidence, "        evidence: maybe".to_owned());
                Diagnostic {
                    line: n,
                    column: 19,
                    message: "evidence `maybe` is not valid; expected required or optional".to_owned(),
                }
            }
        };
        let broken = out.join("\n") + "\n";
        prop_assert_eq!(lint(&broken).err(), Some(vec![want]), "text:\n{}", broken);
    }
}

// ---- Dependency graphs --------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Any dependency between any two tasks: lint accepts exactly the graphs whose edges point
    /// to the same or an earlier stage and that have no cycle, and names each bad edge.
    #[test]
    fn dependencies_are_accepted_exactly_when_they_point_back_without_a_cycle(
        sizes in prop::collection::vec(1usize..4, 1..4),
        picks in prop::collection::vec(prop::collection::vec(any::<Index>(), 0..3), 12),
    ) {
        let tasks: Vec<(usize, String)> = sizes
            .iter()
            .enumerate()
            .flat_map(|(s, n)| (0..*n).map(move |t| (s, task_id(s, t))))
            .collect();
        let deps: Vec<Vec<usize>> = (0..tasks.len())
            .map(|i| {
                let mut d: Vec<usize> = picks[i].iter().map(|p| p.index(tasks.len())).collect();
                d.dedup();
                d
            })
            .collect();
        let mut text = String::from("id: deps\nversion: 1\ntitle: Deps\nscope: client\nstages:\n");
        let mut i = 0;
        for (s, n) in sizes.iter().enumerate() {
            text.push_str(&format!("  - id: s{s}\n    title: S\n    tasks:\n"));
            for _ in 0..*n {
                let names: Vec<&str> = deps[i].iter().map(|d| tasks[*d].1.as_str()).collect();
                text.push_str(&format!(
                    "      - {{id: {}, title: T, team: hr, depends_on: [{}]}}\n",
                    tasks[i].1,
                    names.join(", ")
                ));
                i += 1;
            }
        }
        // The oracle: edges to a later stage are wrong; the others must not form a cycle.
        let forward: usize = deps
            .iter()
            .enumerate()
            .map(|(t, ds)| ds.iter().filter(|d| tasks[**d].0 > tasks[t].0).count())
            .sum();
        let mut edges: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (t, ds) in deps.iter().enumerate() {
            for d in ds.iter().filter(|d| tasks[**d].0 <= tasks[t].0) {
                edges.entry(tasks[t].1.as_str()).or_default().push(tasks[*d].1.as_str());
            }
        }
        let cycle = has_cycle(&edges);
        match lint(&text) {
            Ok(bp) => {
                prop_assert!(forward == 0 && !cycle, "accepted a bad graph:\n{}", text);
                prop_assert_eq!(well_formed(&bp), Ok(()));
            }
            Err(diags) => {
                prop_assert!(forward > 0 || cycle, "refused a good graph: {:#?}\n{}", diags, text);
                let later = diags.iter().filter(|d| d.message.contains("which does not come before it")).count();
                let cycles = diags.iter().filter(|d| d.message.starts_with("dependency cycle: ")).count();
                prop_assert_eq!(later, forward, "{:#?}", diags);
                prop_assert_eq!(cycles > 0, cycle, "{:#?}", diags);
                prop_assert_eq!(later + cycles, diags.len(), "{:#?}", diags);
            }
        }
    }
}

#[test]
fn a_stage_without_a_valid_id_whose_task_has_dependencies_gives_problems() {
    // Once a panic (`stage_of[task]` in `check_dependencies`).
    for text in [
        "stages:\n  - id: Second\n    tasks:\n      - id: two\n        depends_on: [one]\n",
        "stages:\n  - title: No id\n    tasks:\n      - id: two\n        depends_on: [one]\n",
    ] {
        let answer = lint(text);
        assert!(answer.is_err(), "accepted {text:?}");
        assert_eq!(check_answer(text, &answer), Ok(()), "text:\n{text}");
    }
}
