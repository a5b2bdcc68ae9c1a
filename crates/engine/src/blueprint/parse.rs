//! From YAML text to a [`Blueprint`], collecting every problem with its line and column.

use std::collections::{BTreeMap, BTreeSet};

use marked_yaml::types::{MarkedMappingNode, MarkedScalarNode, MarkedSequenceNode};
use marked_yaml::{LoadError, LoaderOptions, Node, Span};

use super::{
    ACTIONS, Blueprint, Check, DEFAULT_CONFIRMATION_WORD, Diagnostic, Owner, OwnerRole, Severity,
    Stage, TaskDef, TaskKind,
};
use crate::condition::Condition;
use crate::due::DueOffset;
use crate::ids::Slug;
use crate::subject::{SubjectKind, standard_attribute};

/// What lint checks a blueprint against besides its own text.
pub struct LintContext<'a> {
    /// The tenant's team slugs; a task owned by another team is an error.
    pub teams: &'a [String],
}

const TOP_KEYS: &[&str] = &[
    "id",
    "version",
    "title",
    "description",
    "scope",
    "applies_when",
    "confirmation_word",
    "attributes",
    "fan_out",
    "stages",
    "checks",
];
const STAGE_KEYS: &[&str] = &["id", "title", "after", "freeze", "tasks"];
const TASK_KEYS: &[&str] = &[
    "id",
    "title",
    "description",
    "team",
    "role",
    "kind",
    "action",
    "checklist",
    "depends_on",
    "due",
    "when",
    "evidence",
];
const CHECK_KEYS: &[&str] = &["id", "stage", "severity", "condition", "message"];
const TITLE_MAX: usize = 200;
const DESCRIPTION_MAX: usize = 4000;

/// Parses and lints a blueprint. Returns every problem found, in file order.
pub fn parse(text: &str, ctx: &LintContext<'_>) -> Result<Blueprint, Vec<Diagnostic>> {
    // Without coercion, `may_coerce` tells a plain scalar from a quoted or block one.
    let options = LoaderOptions::default()
        .error_on_duplicate_keys(true)
        .prevent_coercion(true);
    let mut root = match marked_yaml::parse_yaml_with_options(0, text, options) {
        Ok(node) => node,
        Err(e) => return Err(vec![load_error(&e)]),
    };
    place_empty_values(&mut root);
    let mut p = Parser {
        diags: Vec::new(),
        ctx,
        source: Source::new(text),
    };
    let blueprint = p.blueprint(&root);
    let mut diags = p.diags;
    diags.sort_by_key(|d| (d.line, d.column));
    diags.dedup();
    match blueprint {
        Some(b) if diags.is_empty() => Ok(b),
        _ => Err(diags),
    }
}

fn load_error(e: &LoadError) -> Diagnostic {
    let (marker, message) = match e {
        LoadError::TopLevelMustBeMapping(m) => (
            Some(*m),
            "the file must be a mapping with keys such as `id`, `version`, `stages`".to_owned(),
        ),
        LoadError::TopLevelMustBeSequence(m) => (Some(*m), "unexpected sequence".to_owned()),
        LoadError::UnexpectedAnchor(m) => (
            Some(*m),
            "YAML anchors are not supported; write the value out".to_owned(),
        ),
        LoadError::MappingKeyMustBeScalar(m) => {
            (Some(*m), "mapping keys must be plain names".to_owned())
        }
        LoadError::UnexpectedTag(m) => (Some(*m), "YAML tags are not supported".to_owned()),
        LoadError::ScanError(m, err) => (Some(*m), format!("YAML syntax error: {err}")),
        LoadError::DuplicateKey(inner) => (
            inner.key.span().start().copied(),
            format!(
                "duplicate key `{}`; it is already set at line {}",
                inner.key.as_str(),
                inner.prev_key.span().start().map_or(0, |m| m.line())
            ),
        ),
    };
    let (line, column) = marker.map_or((1, 1), |m| (m.line(), m.column()));
    Diagnostic {
        line,
        column,
        message,
    }
}

fn position(span: &Span) -> (usize, usize) {
    span.start().map_or((1, 1), |m| (m.line(), m.column()))
}

/// Where a mapping starts: its first key (the loader marks a block mapping at the colon after
/// that key), or its `{` when written in flow style.
fn mapping_start(map: &MarkedMappingNode) -> Span {
    match map.keys().next() {
        Some(key) if position(key.span()) < position(map.span()) => *key.span(),
        _ => *map.span(),
    }
}

/// The loader marks an empty value (`title:` and nothing after it) at the next token, often on
/// a later line; marks it just after its key's colon instead.
fn place_empty_values(node: &mut Node) {
    match node {
        Node::Scalar(_) => {}
        Node::Sequence(seq) => seq.iter_mut().for_each(place_empty_values),
        Node::Mapping(map) => {
            for (key, value) in map.iter_mut() {
                if let Node::Scalar(v) = value
                    && v.as_str().is_empty()
                    && v.may_coerce()
                    && let Some(k) = key.span().start()
                {
                    // `key:`, or `"key":` when quoted.
                    let quotes = if key.may_coerce() { 0 } else { 2 };
                    let column = k.column() + key.as_str().chars().count() + quotes + 1;
                    let at = marked_yaml::Marker::new(k.source(), k.character(), k.line(), column);
                    v.span_mut().set_start(Some(at));
                }
                place_empty_values(value);
            }
        }
    }
}

/// `~` and `null` written plainly are YAML's way to say "no value".
fn is_null(s: &MarkedScalarNode) -> bool {
    s.may_coerce() && matches!(s.as_str(), "~" | "null" | "Null" | "NULL")
}

/// Where each character of `scalar`'s value was written in the file, and one more for just
/// past its end. Walks the source from the scalar's start alongside the value, skipping what
/// YAML leaves out of a value: quotes, the backslash of an escape, a block scalar's header,
/// indentation, and line breaks (a folded break matches the space it became). `None` where the
/// value cannot be followed (an escape such as `\u00e9`).
fn value_positions(source: &Source<'_>, scalar: &MarkedScalarNode) -> Option<Vec<(usize, usize)>> {
    let start = position(scalar.span());
    let mut src = source
        .chars_at_line(start.0)?
        .skip_while(|&(_, l, c)| (l, c) < start)
        .peekable();
    match src.peek()? {
        &(_, l, c) if (l, c) != start => return None,
        // A block scalar's value starts on the line after its header.
        ('|' | '>', ..) => {
            src.find(|&(ch, ..)| ch == '\n')?;
        }
        ('"' | '\'', ..) => {
            src.next();
        }
        _ => {}
    }
    let mut positions = Vec::new();
    for v in scalar.as_str().chars() {
        let at = loop {
            let (ch, l, c) = src.next()?;
            if ch == v || (v == ' ' && ch == '\n') {
                break (l, c);
            }
            if !(ch.is_whitespace() || matches!(ch, '"' | '\'' | '\\')) {
                return None;
            }
        };
        positions.push(at);
    }
    let &(l, c) = positions.last()?;
    positions.push((l, c + 1));
    Some(positions)
}

/// The text of the file, with where each line starts, to find a place in it quickly.
struct Source<'a> {
    text: &'a str,
    /// Byte offsets of the lines' starts, the first line's first.
    lines: Vec<usize>,
}

impl<'a> Source<'a> {
    fn new(text: &'a str) -> Self {
        let mut lines = vec![0];
        let mut chars = text.char_indices().peekable();
        while let Some((i, ch)) = chars.next() {
            if is_break(ch, chars.peek().map(|&(_, next)| next)) {
                lines.push(i + 1);
            }
        }
        Self { text, lines }
    }

    /// Each character from the start of line `line` on, with its line and column.
    fn chars_at_line(
        &self,
        line: usize,
    ) -> Option<impl Iterator<Item = (char, usize, usize)> + 'a> {
        let start = *self.lines.get(line.checked_sub(1)?)?;
        Some(Self::positions(&self.text[start..], line))
    }

    /// Each character of `text`, which starts a line numbered `line`, with its line and column,
    /// counted as the YAML loader counts them (a line break is `\n`, `\r\n` or a lone `\r`).
    fn positions(text: &'a str, line: usize) -> impl Iterator<Item = (char, usize, usize)> + 'a {
        let mut chars = text.chars().peekable();
        let (mut line, mut column) = (line, 1);
        std::iter::from_fn(move || {
            let ch = chars.next()?;
            let here = (ch, line, column);
            if is_break(ch, chars.peek().copied()) {
                line += 1;
                column = 1;
            } else {
                column += 1;
            }
            Some(here)
        })
    }
}

/// Whether `ch`, followed by `next`, ends a line: `\n`, or `\r` not followed by `\n`.
fn is_break(ch: char, next: Option<char>) -> bool {
    ch == '\n' || (ch == '\r' && next != Some('\n'))
}

/// A value and where it was written.
struct At<T> {
    value: T,
    span: Span,
}

struct Parser<'c> {
    diags: Vec<Diagnostic>,
    ctx: &'c LintContext<'c>,
    source: Source<'c>,
}

impl Parser<'_> {
    fn err(&mut self, span: &Span, message: impl Into<String>) {
        let (line, column) = position(span);
        self.diags.push(Diagnostic {
            line,
            column,
            message: message.into(),
        });
    }

    fn mapping<'n>(&mut self, node: &'n Node, what: &str) -> Option<&'n MarkedMappingNode> {
        let map = node.as_mapping();
        if map.is_none() {
            self.err(
                node.span(),
                format!("{what} must be a mapping of keys to values"),
            );
        }
        map
    }

    fn unknown_keys(&mut self, map: &MarkedMappingNode, allowed: &[&str], what: &str) {
        for key in map.keys() {
            if !allowed.contains(&key.as_str()) {
                self.err(
                    key.span(),
                    format!(
                        "unknown key `{}` in {what}; expected one of {}",
                        key.as_str(),
                        allowed.join(", ")
                    ),
                );
            }
        }
    }

    fn scalar<'n>(
        &mut self,
        map: &'n MarkedMappingNode,
        key: &str,
        what: &str,
        required: bool,
    ) -> Option<&'n MarkedScalarNode> {
        match map.get_node(key) {
            None => {
                if required {
                    self.err(
                        &mapping_start(map),
                        format!("{what} has no `{key}`; it is required"),
                    );
                }
                None
            }
            Some(Node::Scalar(s)) => Some(s),
            Some(other) => {
                self.err(
                    other.span(),
                    format!("`{key}` in {what} must be a single value"),
                );
                None
            }
        }
    }

    fn sequence<'n>(
        &mut self,
        map: &'n MarkedMappingNode,
        key: &str,
        what: &str,
        required: bool,
    ) -> Option<&'n MarkedSequenceNode> {
        match map.get_node(key) {
            None => {
                if required {
                    self.err(
                        &mapping_start(map),
                        format!("{what} has no `{key}`; it is required"),
                    );
                }
                None
            }
            Some(Node::Sequence(s)) => Some(s),
            Some(other) => {
                self.err(other.span(), format!("`{key}` in {what} must be a list"));
                None
            }
        }
    }

    fn slug(&mut self, scalar: &MarkedScalarNode, what: &str) -> Option<At<Slug>> {
        match Slug::parse(scalar.as_str()) {
            Ok(value) => Some(At {
                value,
                span: *scalar.span(),
            }),
            Err(e) => {
                self.err(scalar.span(), format!("{what} {e}"));
                None
            }
        }
    }

    fn required_slug(&mut self, map: &MarkedMappingNode, what: &str) -> Option<At<Slug>> {
        let scalar = self.scalar(map, "id", what, true)?;
        self.slug(scalar, &format!("{what} id"))
    }

    fn text(
        &mut self,
        map: &MarkedMappingNode,
        key: &str,
        what: &str,
        required: bool,
        max: usize,
    ) -> Option<String> {
        let scalar = self.scalar(map, key, what, required)?;
        let value = if is_null(scalar) {
            ""
        } else {
            scalar.as_str().trim()
        };
        if value.is_empty() && required {
            self.err(
                scalar.span(),
                format!("`{key}` of {what} is empty; expected some text"),
            );
            return None;
        }
        if value.chars().count() > max {
            self.err(
                scalar.span(),
                format!("`{key}` of {what} is longer than {max} characters"),
            );
            return None;
        }
        Some(value.to_owned())
    }

    fn slug_list(&mut self, map: &MarkedMappingNode, key: &str, what: &str) -> Vec<At<Slug>> {
        let Some(seq) = self.sequence(map, key, what, false) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for item in seq.iter() {
            match item {
                Node::Scalar(s) => {
                    if let Some(slug) = self.slug(s, &format!("entry of `{key}`")) {
                        out.push(slug);
                    }
                }
                other => self.err(other.span(), format!("entries of `{key}` must be ids")),
            }
        }
        out
    }

    fn condition(
        &mut self,
        map: &MarkedMappingNode,
        key: &str,
        what: &str,
        required: bool,
        attributes: &[String],
    ) -> Option<Condition> {
        let scalar = self.scalar(map, key, what, required)?;
        match Condition::compile(scalar.as_str(), attributes) {
            Ok(c) => Some(c),
            Err(problems) => {
                let (line, column) = position(scalar.span());
                let positions = value_positions(&self.source, scalar).unwrap_or_default();
                for problem in problems {
                    // Place the problem inside the expression where it was written; failing
                    // that, as if the expression were written out from the scalar's start.
                    let offset = char_offset(scalar.as_str(), problem.line, problem.column);
                    let (line, column) =
                        positions
                            .get(offset)
                            .copied()
                            .unwrap_or(if problem.line == 1 {
                                (line, column + problem.column - 1)
                            } else {
                                (line + problem.line - 1, problem.column)
                            });
                    self.diags.push(Diagnostic {
                        line,
                        column,
                        message: format!("in `{key}` of {what}: {}", problem.message),
                    });
                }
                None
            }
        }
    }

    fn blueprint(&mut self, root: &Node) -> Option<Blueprint> {
        let map = self.mapping(root, "a blueprint")?;
        self.unknown_keys(map, TOP_KEYS, "the blueprint");
        let id = self.required_slug(map, "the blueprint");
        let version = self
            .scalar(map, "version", "the blueprint", true)
            .and_then(|s| match s.as_str().parse::<u32>() {
                Ok(v) if v >= 1 => Some(v),
                _ => {
                    self.err(
                        s.span(),
                        format!(
                            "version `{}` is not valid; expected a whole number from 1",
                            s.as_str()
                        ),
                    );
                    None
                }
            });
        let title = self.text(map, "title", "the blueprint", true, TITLE_MAX);
        let description = self
            .text(map, "description", "the blueprint", false, DESCRIPTION_MAX)
            .unwrap_or_default();
        let scope = self
            .scalar(map, "scope", "the blueprint", true)
            .and_then(|s| self.subject_kind(s, "scope"));
        let confirmation_word = match self.scalar(map, "confirmation_word", "the blueprint", false)
        {
            None => Some(DEFAULT_CONFIRMATION_WORD.to_owned()),
            Some(s) => {
                let w = s.as_str();
                if (3..=32).contains(&w.len()) && w.chars().all(|c| c.is_ascii_uppercase()) {
                    Some(w.to_owned())
                } else {
                    self.err(
                        s.span(),
                        format!("confirmation_word `{w}` is not valid; expected 3 to 32 capital letters such as TERMINATE"),
                    );
                    None
                }
            }
        };
        let attributes = self.declared_attributes(map);
        let applies_when = self.condition(map, "applies_when", "the blueprint", false, &attributes);
        let fan_out = self
            .scalar(map, "fan_out", "the blueprint", false)
            .and_then(|s| {
                let kind = self.subject_kind(s, "fan_out")?;
                if scope != Some(SubjectKind::Organization) {
                    self.err(
                        s.span(),
                        "`fan_out` is only for blueprints with scope organization",
                    );
                    return None;
                }
                if kind == SubjectKind::Organization {
                    self.err(s.span(), "`fan_out` must name client, product or employee");
                    return None;
                }
                Some(kind)
            });

        let stages = self.stages(map, &attributes);
        let checks = self.checks(map, &stages, &attributes);
        self.check_dependencies(&stages);

        let stages: Option<Vec<Stage>> = stages.into_iter().map(|s| s.finish()).collect();
        Some(Blueprint {
            id: id?.value,
            version: version?,
            title: title?,
            description,
            scope: scope?,
            applies_when,
            confirmation_word: confirmation_word?,
            attributes,
            fan_out,
            stages: stages?,
            checks,
        })
    }

    fn subject_kind(&mut self, s: &MarkedScalarNode, key: &str) -> Option<SubjectKind> {
        match s.as_str().parse::<SubjectKind>() {
            Ok(k) => Some(k),
            Err(e) => {
                self.err(s.span(), format!("{key}: {e}"));
                None
            }
        }
    }

    fn declared_attributes(&mut self, map: &MarkedMappingNode) -> Vec<String> {
        let Some(seq) = self.sequence(map, "attributes", "the blueprint", false) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for item in seq.iter() {
            let Some(s) = item.as_scalar() else {
                self.err(
                    item.span(),
                    "entries of `attributes` must be attribute names",
                );
                continue;
            };
            let name = s.as_str();
            let valid = name.starts_with(|c: char| c.is_ascii_lowercase())
                && name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
            if !valid {
                self.err(
                    s.span(),
                    format!("attribute name `{name}` is not valid; expected lowercase letters, digits and '_'"),
                );
            } else if standard_attribute(name).is_some() {
                self.err(
                    s.span(),
                    format!("`{name}` is a standard attribute; declare only custom ones"),
                );
            } else {
                out.push(name.to_owned());
            }
        }
        out
    }

    fn stages(&mut self, map: &MarkedMappingNode, attributes: &[String]) -> Vec<StageDraft> {
        let Some(seq) = self.sequence(map, "stages", "the blueprint", true) else {
            return Vec::new();
        };
        if seq.is_empty() {
            self.err(seq.span(), "`stages` is empty; expected at least one stage");
        }
        let mut drafts: Vec<StageDraft> = Vec::new();
        let mut seen_tasks: BTreeMap<String, Span> = BTreeMap::new();
        for node in seq.iter() {
            let Some(smap) = self.mapping(node, "a stage") else {
                continue;
            };
            self.unknown_keys(smap, STAGE_KEYS, "a stage");
            let id = self.required_slug(smap, "a stage");
            let what = match &id {
                Some(id) => format!("stage `{}`", id.value),
                None => "a stage".to_owned(),
            };
            if let Some(id) = &id
                && let Some(prev) = drafts
                    .iter()
                    .find(|d| d.id.as_ref().is_some_and(|p| p.value == id.value))
            {
                let line = position(&prev.id.as_ref().map_or(Span::new_blank(), |p| p.span)).0;
                self.err(
                    &id.span,
                    format!(
                        "duplicate stage id `{}`; it is already used at line {line}",
                        id.value
                    ),
                );
            }
            let title = self.text(smap, "title", &what, true, TITLE_MAX);
            let after = smap
                .get_node("after")
                .map(|_| self.slug_list(smap, "after", &what));
            if let Some(after) = &after {
                for a in after {
                    let earlier = drafts
                        .iter()
                        .any(|d| d.id.as_ref().is_some_and(|p| p.value == a.value));
                    if !earlier {
                        self.err(
                            &a.span,
                            format!("`after` names `{}`, which is not a stage defined before {what}; expected an earlier stage id", a.value),
                        );
                    }
                }
            }
            let freeze = match self.scalar(smap, "freeze", &what, false) {
                None => false,
                Some(f) => match f.as_str() {
                    "true" => true,
                    "false" => false,
                    other => {
                        self.err(
                            f.span(),
                            format!("freeze `{other}` is not valid; expected true or false"),
                        );
                        false
                    }
                },
            };
            let mut tasks = Vec::new();
            if let Some(tseq) = self.sequence(smap, "tasks", &what, true) {
                if tseq.is_empty() {
                    self.err(
                        tseq.span(),
                        format!("{what} has no tasks; expected at least one"),
                    );
                }
                for tnode in tseq.iter() {
                    if let Some(task) = self.task(tnode, attributes) {
                        if let Some(prev) = seen_tasks.get(task.id.value.as_str()) {
                            let line = position(prev).0;
                            self.err(
                                &task.id.span,
                                format!(
                                    "duplicate task id `{}`; it is already used at line {line}",
                                    task.id.value
                                ),
                            );
                        } else {
                            seen_tasks.insert(task.id.value.to_string(), task.id.span);
                        }
                        tasks.push(task);
                    }
                }
            }
            let default_after = drafts
                .last()
                .and_then(|d| d.id.as_ref().map(|i| vec![i.value.clone()]))
                .unwrap_or_default();
            drafts.push(StageDraft {
                id,
                title,
                after: after
                    .map(|a| a.into_iter().map(|s| s.value).collect())
                    .unwrap_or(default_after),
                freeze,
                tasks,
            });
        }
        drafts
    }

    fn task(&mut self, node: &Node, attributes: &[String]) -> Option<TaskDraft> {
        let map = self.mapping(node, "a task")?;
        self.unknown_keys(map, TASK_KEYS, "a task");
        let id = self.required_slug(map, "a task");
        let what = match &id {
            Some(id) => format!("task `{}`", id.value),
            None => "a task".to_owned(),
        };
        let title = self.text(map, "title", &what, true, TITLE_MAX);
        let description = self
            .text(map, "description", &what, false, DESCRIPTION_MAX)
            .unwrap_or_default();
        let team = self.scalar(map, "team", &what, false);
        let role = self.scalar(map, "role", &what, false);
        let owner = match (team, role) {
            (Some(t), None) => self.slug(t, "team").and_then(|slug| {
                if self.ctx.teams.iter().any(|k| k == slug.value.as_str()) {
                    Some(Owner::Team(slug.value))
                } else {
                    self.err(
                        t.span(),
                        format!(
                            "unknown team `{}`; expected one of {}",
                            slug.value,
                            self.ctx.teams.join(", ")
                        ),
                    );
                    None
                }
            }),
            (None, Some(r)) => match OwnerRole::parse(r.as_str()) {
                Some(role) => Some(Owner::Role(role)),
                None => {
                    self.err(
                        r.span(),
                        format!(
                            "unknown role `{}`; expected one of {}",
                            r.as_str(),
                            OwnerRole::NAMES.join(", ")
                        ),
                    );
                    None
                }
            },
            (Some(t), Some(_)) => {
                self.err(
                    t.span(),
                    format!("{what} has both `team` and `role`; expected exactly one owner"),
                );
                None
            }
            (None, None) => {
                self.err(
                    &mapping_start(map),
                    format!("{what} has no owner; expected `team` or `role`"),
                );
                None
            }
        };
        let kind = match self.scalar(map, "kind", &what, false) {
            None => Some(TaskKind::Manual),
            Some(k) => TaskKind::parse(k.as_str()).or_else(|| {
                self.err(
                    k.span(),
                    format!(
                        "unknown task kind `{}`; expected one of {}",
                        k.as_str(),
                        TaskKind::NAMES.join(", ")
                    ),
                );
                None
            }),
        };
        let action = match (self.scalar(map, "action", &what, false), kind) {
            (Some(a), Some(TaskKind::Action)) => {
                if ACTIONS.contains(&a.as_str()) {
                    Some(a.as_str().to_owned())
                } else {
                    self.err(
                        a.span(),
                        format!(
                            "unknown action `{}`; expected one of {}",
                            a.as_str(),
                            ACTIONS.join(", ")
                        ),
                    );
                    None
                }
            }
            (Some(a), Some(_)) => {
                self.err(
                    a.span(),
                    format!("`action` is only for tasks of kind action; {what} is not one"),
                );
                None
            }
            (None, Some(TaskKind::Action)) => {
                self.err(
                    &mapping_start(map),
                    format!(
                        "{what} is of kind action but names no `action`; expected one of {}",
                        ACTIONS.join(", ")
                    ),
                );
                None
            }
            (Some(_), None) | (None, _) => None,
        };
        let checklist = self.checklist(map, &what, kind);
        let depends_on = self.slug_list(map, "depends_on", &what);
        let due = self.scalar(map, "due", &what, false).and_then(|d| {
            match DueOffset::parse(d.as_str()) {
                Ok(offset) => Some(offset),
                Err(e) => {
                    self.err(d.span(), format!("due of {what}: {e}"));
                    None
                }
            }
        });
        let when = self.condition(map, "when", &what, false, attributes);
        let evidence_required = match self.scalar(map, "evidence", &what, false) {
            None => false,
            Some(e) => match e.as_str() {
                "required" => true,
                "optional" => false,
                other => {
                    self.err(
                        e.span(),
                        format!("evidence `{other}` is not valid; expected required or optional"),
                    );
                    false
                }
            },
        };
        Some(TaskDraft {
            id: id?,
            title,
            description,
            owner,
            kind,
            action,
            checklist,
            depends_on,
            due,
            when,
            evidence_required,
        })
    }

    fn checklist(
        &mut self,
        map: &MarkedMappingNode,
        what: &str,
        kind: Option<TaskKind>,
    ) -> Vec<String> {
        let seq = self.sequence(map, "checklist", what, false);
        match (seq, kind) {
            (Some(seq), Some(TaskKind::Checklist)) => {
                let mut items = Vec::new();
                for item in seq.iter() {
                    match item.as_scalar() {
                        Some(s) if !s.as_str().trim().is_empty() => {
                            items.push(s.as_str().trim().to_owned())
                        }
                        _ => self.err(item.span(), "checklist items must be non-empty text"),
                    }
                }
                if items.is_empty() {
                    self.err(
                        seq.span(),
                        format!("the checklist of {what} is empty; expected at least one item"),
                    );
                }
                items
            }
            (Some(seq), Some(_)) => {
                self.err(
                    seq.span(),
                    format!("`checklist` is only for tasks of kind checklist; {what} is not one"),
                );
                Vec::new()
            }
            (None, Some(TaskKind::Checklist)) => {
                self.err(
                    &mapping_start(map),
                    format!("{what} is of kind checklist but has no `checklist` items"),
                );
                Vec::new()
            }
            _ => Vec::new(),
        }
    }

    fn checks(
        &mut self,
        map: &MarkedMappingNode,
        stages: &[StageDraft],
        attributes: &[String],
    ) -> Vec<Check> {
        let Some(seq) = self.sequence(map, "checks", "the blueprint", false) else {
            return Vec::new();
        };
        let first_stage = stages
            .first()
            .and_then(|s| s.id.as_ref())
            .map(|i| i.value.clone());
        let mut seen: BTreeMap<String, usize> = BTreeMap::new();
        let mut checks = Vec::new();
        for node in seq.iter() {
            let Some(cmap) = self.mapping(node, "a check") else {
                continue;
            };
            self.unknown_keys(cmap, CHECK_KEYS, "a check");
            let id = self.required_slug(cmap, "a check");
            let what = match &id {
                Some(id) => format!("check `{}`", id.value),
                None => "a check".to_owned(),
            };
            if let Some(id) = &id {
                let line = position(&id.span).0;
                if let Some(prev) = seen.insert(id.value.to_string(), line) {
                    self.err(
                        &id.span,
                        format!(
                            "duplicate check id `{}`; it is already used at line {prev}",
                            id.value
                        ),
                    );
                }
                if let Some((_, what)) = super::BUILTIN_CHECKS
                    .iter()
                    .find(|(builtin, _)| *builtin == id.value.as_str())
                {
                    self.err(
                        &id.span,
                        format!(
                            "check id `{}` is Exeunt's own ({what}); expected another id",
                            id.value
                        ),
                    );
                }
            }
            let stage = match self.scalar(cmap, "stage", &what, false) {
                None => first_stage.clone(),
                Some(s) => self.slug(s, "stage").and_then(|slug| {
                    if stages
                        .iter()
                        .any(|d| d.id.as_ref().is_some_and(|i| i.value == slug.value))
                    {
                        Some(slug.value)
                    } else if stages.iter().any(|d| d.id.is_none()) {
                        // Perhaps the stage whose id is missing or invalid (already reported).
                        None
                    } else {
                        self.err(
                            s.span(),
                            format!(
                                "unknown stage `{}`; expected one of the blueprint's stage ids",
                                slug.value
                            ),
                        );
                        None
                    }
                }),
            };
            let severity = self.scalar(cmap, "severity", &what, true).and_then(|s| {
                Severity::parse(s.as_str()).or_else(|| {
                    self.err(
                        s.span(),
                        format!(
                            "severity `{}` is not valid; expected blocker or warning",
                            s.as_str()
                        ),
                    );
                    None
                })
            });
            let condition = self.condition(cmap, "condition", &what, true, attributes);
            let message = self.text(cmap, "message", &what, true, DESCRIPTION_MAX);
            if let (Some(id), Some(stage), Some(severity), Some(condition), Some(message)) =
                (id, stage, severity, condition, message)
            {
                checks.push(Check {
                    id: id.value,
                    stage,
                    severity,
                    condition,
                    message,
                });
            }
        }
        checks
    }

    /// Unknown ids in `depends_on`, dependencies on a later stage, and cycles.
    fn check_dependencies(&mut self, stages: &[StageDraft]) {
        // Which stages each stage comes after, transitively.
        let mut before: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for s in stages {
            let Some(id) = &s.id else { continue };
            let mut set = BTreeSet::new();
            for a in &s.after {
                set.insert(a.as_str());
                if let Some(prev) = before.get(a.as_str()) {
                    set.extend(prev.iter().copied());
                }
            }
            before.insert(id.value.as_str(), set);
        }
        // Each task's stage id; `None` for a stage whose id is missing or invalid (already
        // reported), where the order of stages cannot be checked.
        let stage_of: BTreeMap<&str, Option<&str>> = stages
            .iter()
            .flat_map(|s| {
                let sid = s.id.as_ref().map(|i| i.value.as_str());
                s.tasks.iter().map(move |t| (t.id.value.as_str(), sid))
            })
            .collect();
        let mut edges: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for s in stages {
            let own_stage = s.id.as_ref().map(|i| i.value.as_str());
            for t in &s.tasks {
                let task = t.id.value.as_str();
                for dep in &t.depends_on {
                    let Some(dep_stage) = stage_of.get(dep.value.as_str()) else {
                        self.err(
                            &dep.span,
                            format!("task `{task}` depends on `{}`, which is not a task of this blueprint", dep.value),
                        );
                        continue;
                    };
                    let (Some(own_stage), Some(dep_stage)) = (own_stage, *dep_stage) else {
                        edges.entry(task).or_default().push(dep.value.as_str());
                        continue;
                    };
                    let reachable = dep_stage == own_stage
                        || before.get(own_stage).is_some_and(|b| b.contains(dep_stage));
                    if !reachable {
                        self.err(
                            &dep.span,
                            format!(
                                "task `{task}` in stage `{own_stage}` depends on `{}` in stage `{dep_stage}`, which does not come before it; expected a task of the same or an earlier stage",
                                dep.value
                            ),
                        );
                        continue;
                    }
                    edges.entry(task).or_default().push(dep.value.as_str());
                }
            }
        }
        let spans: BTreeMap<&str, Span> = stages
            .iter()
            .flat_map(|s| s.tasks.iter())
            .map(|t| (t.id.value.as_str(), t.id.span))
            .collect();
        for cycle in find_cycles(&edges) {
            let first = cycle[0];
            let path = cycle
                .iter()
                .chain(std::iter::once(&first))
                .map(|t| format!("`{t}`"))
                .collect::<Vec<_>>()
                .join(" → ");
            self.err(
                &spans[first],
                format!("dependency cycle: {path}; expected tasks that can finish in some order"),
            );
        }
    }
}

/// The character offset of a 1-based line and column in `text`.
fn char_offset(text: &str, line: usize, column: usize) -> usize {
    let before: usize = text
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(|l| l.chars().count())
        .sum();
    before + column.saturating_sub(1)
}

/// Each elementary cycle once, starting at its smallest task id.
fn find_cycles<'a>(edges: &BTreeMap<&'a str, Vec<&'a str>>) -> Vec<Vec<&'a str>> {
    fn visit<'a>(
        node: &'a str,
        edges: &BTreeMap<&'a str, Vec<&'a str>>,
        path: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
        found: &mut BTreeSet<Vec<&'a str>>,
    ) {
        if let Some(pos) = path.iter().position(|n| *n == node) {
            let mut cycle = path[pos..].to_vec();
            let min = cycle
                .iter()
                .enumerate()
                .min_by_key(|(_, n)| **n)
                .map_or(0, |(i, _)| i);
            cycle.rotate_left(min);
            found.insert(cycle);
            return;
        }
        if done.contains(node) {
            return;
        }
        path.push(node);
        for next in edges.get(node).into_iter().flatten() {
            visit(next, edges, path, done, found);
        }
        path.pop();
        done.insert(node);
    }
    let mut found = BTreeSet::new();
    let mut done = BTreeSet::new();
    for start in edges.keys() {
        visit(start, edges, &mut Vec::new(), &mut done, &mut found);
    }
    found.into_iter().collect()
}

struct StageDraft {
    id: Option<At<Slug>>,
    title: Option<String>,
    after: Vec<Slug>,
    freeze: bool,
    tasks: Vec<TaskDraft>,
}

impl StageDraft {
    fn finish(self) -> Option<Stage> {
        let tasks: Option<Vec<TaskDef>> = self.tasks.into_iter().map(TaskDraft::finish).collect();
        Some(Stage {
            id: self.id?.value,
            title: self.title?,
            after: self.after,
            freeze: self.freeze,
            tasks: tasks?,
        })
    }
}

struct TaskDraft {
    id: At<Slug>,
    title: Option<String>,
    description: String,
    owner: Option<Owner>,
    kind: Option<TaskKind>,
    action: Option<String>,
    checklist: Vec<String>,
    depends_on: Vec<At<Slug>>,
    due: Option<DueOffset>,
    when: Option<Condition>,
    evidence_required: bool,
}

impl TaskDraft {
    fn finish(self) -> Option<TaskDef> {
        Some(TaskDef {
            id: self.id.value,
            title: self.title?,
            description: self.description,
            owner: self.owner?,
            kind: self.kind?,
            action: self.action,
            checklist: self.checklist,
            depends_on: self.depends_on.into_iter().map(|d| d.value).collect(),
            due: self.due,
            when: self.when,
            evidence_required: self.evidence_required,
        })
    }
}
