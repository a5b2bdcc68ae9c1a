//! Conditions in blueprints are CEL expressions (Common Expression Language) over a subject.
//!
//! The names a condition can use are fixed: `subject`, `attrs`, `records` and `parent`. Lint
//! walks each expression and refuses a field that does not exist, so a typo is caught when the
//! blueprint is reviewed, not when a case silently skips a task.

use std::collections::BTreeMap;
use std::sync::Arc;

use cel::common::ast::{Expr, IdedExpr, LiteralValue, operators};
use cel::{Context, Program, Value};
use serde_json::{Map, Value as Json, json};

use crate::subject::{
    AttributeType, Attributes, Record, RecordKind, STANDARD_ATTRIBUTES, Subject, standard_attribute,
};

/// The fields `subject.*` and `parent.*` offer.
pub const SUBJECT_FIELDS: &[&str] = &["key", "kind", "name", "state"];
/// The top-level names a condition may use.
pub const ROOTS: &[&str] = &["subject", "attrs", "records", "parent"];

/// A compiled CEL expression and the text it came from.
#[derive(Clone)]
pub struct Condition {
    source: String,
    program: Arc<Program>,
}

impl std::fmt::Debug for Condition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Condition").field(&self.source).finish()
    }
}

impl PartialEq for Condition {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

/// A problem in a condition, with its place inside the expression (1-based line and column).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConditionProblem {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// Why a condition could not be evaluated for a subject.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvalError {
    #[error("`{expression}` failed: {message}")]
    Failed { expression: String, message: String },
    #[error("`{expression}` gave {got}; expected true or false")]
    NotBool { expression: String, got: String },
}

impl Condition {
    /// Compiles `source` and checks every name and field it uses against what a subject has,
    /// plus the attribute names a blueprint declares, and that it gives true or false where
    /// that can be told without running it (`attrs.role` alone is text).
    pub fn compile(
        source: &str,
        extra_attributes: &[String],
    ) -> Result<Self, Vec<ConditionProblem>> {
        let program = Program::compile(source).map_err(|errors| {
            errors
                .errors
                .iter()
                .map(|e| ConditionProblem {
                    line: usize::try_from(e.pos.0.max(1)).unwrap_or(1),
                    column: usize::try_from(e.pos.1.max(1)).unwrap_or(1),
                    message: format!("CEL does not parse: {}", e.msg),
                })
                .collect::<Vec<_>>()
        })?;
        let mut checker = FieldChecker {
            source,
            program: &program,
            extra_attributes,
            bound: Vec::new(),
            problems: Vec::new(),
        };
        checker.walk(program.expression());
        if checker.problems.is_empty() {
            checker.expect_bool(program.expression());
        }
        if checker.problems.is_empty() {
            Ok(Self {
                source: source.to_owned(),
                program: Arc::new(program),
            })
        } else {
            Err(checker.problems)
        }
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    pub fn evaluate(&self, view: &SubjectView) -> Result<bool, EvalError> {
        let mut context = Context::default();
        for (name, value) in &view.variables {
            context.add_variable_from_value(name.as_str(), value.clone());
        }
        match self.program.execute(&context) {
            Ok(Value::Bool(b)) => Ok(b),
            Ok(other) => Err(EvalError::NotBool {
                expression: self.source.clone(),
                got: format!("{other:?}"),
            }),
            Err(e) => Err(EvalError::Failed {
                expression: self.source.clone(),
                message: e.to_string(),
            }),
        }
    }
}

/// What a comprehension variable stands for, when lint can tell.
#[derive(Clone, Copy)]
enum Binding {
    Record(RecordKind),
    Unknown,
}

struct FieldChecker<'a> {
    source: &'a str,
    program: &'a Program,
    extra_attributes: &'a [String],
    bound: Vec<(String, Binding)>,
    problems: Vec<ConditionProblem>,
}

impl FieldChecker<'_> {
    fn problem(&mut self, id: u64, message: String) {
        self.problem_after(id, 0, message);
    }

    /// A problem `skip` bytes after where expression `id` starts.
    fn problem_after(&mut self, id: u64, skip: usize, message: String) {
        let offset = self
            .program
            .source_info()
            .offset_for(id)
            .map_or(0, |(start, _)| start as usize + skip);
        let (line, column) = line_col(self.source, offset);
        self.problems.push(ConditionProblem {
            line,
            column,
            message,
        });
    }

    fn binding(&self, name: &str) -> Option<Binding> {
        self.bound
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, b)| *b)
    }

    fn walk(&mut self, e: &IdedExpr) {
        match &e.expr {
            Expr::Ident(name) => {
                if self.binding(name).is_none() && !ROOTS.contains(&name.as_str()) {
                    self.problem(
                        e.id,
                        format!(
                            "unknown name `{name}`; expected one of {}",
                            ROOTS.join(", ")
                        ),
                    );
                }
            }
            Expr::Select(select) => {
                if let Expr::Ident(root) = &select.operand.expr {
                    self.check_field(select.operand.id, e.id, root, &select.field);
                } else {
                    self.walk(&select.operand);
                }
            }
            Expr::Call(call) => {
                if let Some(target) = &call.target {
                    self.walk(target);
                }
                for arg in &call.args {
                    self.walk(arg);
                }
            }
            Expr::Comprehension(c) => {
                self.walk(&c.iter_range);
                self.walk(&c.accu_init);
                let binding = match &c.iter_range.expr {
                    Expr::Select(s) if matches!(&s.operand.expr, Expr::Ident(r) if r == "records") => {
                        RecordKind::ALL
                            .into_iter()
                            .find(|k| k.plural() == s.field)
                            .map(Binding::Record)
                            .unwrap_or(Binding::Unknown)
                    }
                    _ => Binding::Unknown,
                };
                let depth = self.bound.len();
                self.bound.push((c.iter_var.clone(), binding));
                if let Some(v2) = &c.iter_var2 {
                    self.bound.push((v2.clone(), Binding::Unknown));
                }
                self.bound.push((c.accu_var.clone(), Binding::Unknown));
                self.walk(&c.loop_cond);
                self.walk(&c.loop_step);
                self.walk(&c.result);
                self.bound.truncate(depth);
            }
            Expr::List(list) => {
                for item in &list.elements {
                    self.walk(item);
                }
            }
            Expr::Map(map) => {
                for entry in &map.entries {
                    if let cel::common::ast::EntryExpr::MapEntry(m) = &entry.expr {
                        self.walk(&m.key);
                        self.walk(&m.value);
                    }
                }
            }
            Expr::Struct(_) | Expr::Literal(_) | Expr::Unspecified => {}
        }
    }

    /// Reports `e`, and the operands of `&&`, `||`, `!` and the branches of `?:` inside it,
    /// where they give something other than true or false.
    fn expect_bool(&mut self, e: &IdedExpr) {
        if let Expr::Call(call) = &e.expr {
            let operands = match call.func_name.as_str() {
                operators::LOGICAL_AND | operators::LOGICAL_OR | operators::LOGICAL_NOT => {
                    &call.args[..]
                }
                operators::CONDITIONAL => call.args.get(1..).unwrap_or_default(),
                _ => &[],
            };
            for operand in operands {
                self.expect_bool(operand);
            }
        }
        if let Some(what) = self.not_bool(e) {
            self.problem(
                start_of(e),
                format!(
                    "this gives {what}, not true or false; expected a comparison such as `attrs.role == \"engineer\"`"
                ),
            );
        }
    }

    /// What `e` gives when it is known not to be true or false; `None` when it is, or when
    /// lint cannot tell.
    fn not_bool(&self, e: &IdedExpr) -> Option<&'static str> {
        match &e.expr {
            Expr::Literal(LiteralValue::Boolean(_)) => None,
            Expr::Literal(LiteralValue::Null) => Some("null"),
            Expr::Literal(LiteralValue::String(_) | LiteralValue::Bytes(_)) => Some("text"),
            Expr::Literal(_) => Some("a number"),
            Expr::List(_) => Some("a list"),
            Expr::Map(_) => Some("a map"),
            Expr::Ident(name) => match self.binding(name) {
                Some(Binding::Record(_)) => Some("a record"),
                Some(Binding::Unknown) => None,
                None => Some("a map"),
            },
            Expr::Select(select) if !select.test => match &select.operand.expr {
                Expr::Ident(root) => match (self.binding(root), root.as_str()) {
                    (Some(Binding::Record(_)), _) => Some("text"),
                    (None, "attrs") => match standard_attribute(&select.field) {
                        Some(AttributeType::Number) => Some("a number"),
                        _ => Some("text"),
                    },
                    (None, "subject" | "parent") => Some("text"),
                    (None, "records") => Some("a list"),
                    _ => None,
                },
                _ => None,
            },
            Expr::Call(call) => match call.func_name.as_str() {
                operators::SUBSTRACT
                | operators::MULTIPLY
                | operators::DIVIDE
                | operators::MODULO
                | operators::NEGATE
                | "size" => Some("a number"),
                operators::ADD => call.args.first().and_then(|a| self.not_bool(a)),
                _ => None,
            },
            _ => None,
        }
    }

    /// `operand` is the id of the name before the dot, `select` the id of the selection, which
    /// the parser places at the dot.
    fn check_field(&mut self, operand: u64, select: u64, root: &str, field: &str) {
        let known: Vec<String> = match self.binding(root) {
            Some(Binding::Record(kind)) => {
                kind.fields().iter().map(|f| f.name.to_owned()).collect()
            }
            Some(Binding::Unknown) => return,
            None => match root {
                "subject" | "parent" => SUBJECT_FIELDS.iter().map(|s| (*s).to_owned()).collect(),
                "attrs" => STANDARD_ATTRIBUTES
                    .iter()
                    .map(|(n, _)| (*n).to_owned())
                    .chain(self.extra_attributes.iter().cloned())
                    .collect(),
                "records" => RecordKind::ALL
                    .iter()
                    .map(|k| k.plural().to_owned())
                    .collect(),
                other => {
                    self.problem(
                        operand,
                        format!(
                            "unknown name `{other}`; expected one of {}",
                            ROOTS.join(", ")
                        ),
                    );
                    return;
                }
            },
        };
        if !known.iter().any(|k| k == field) {
            let what = match self.binding(root) {
                Some(Binding::Record(kind)) => {
                    let article = if kind.as_str().starts_with(['a', 'e', 'i', 'o', 'u']) {
                        "an"
                    } else {
                        "a"
                    };
                    format!("{article} {kind} record")
                }
                _ => format!("`{root}`"),
            };
            let hint = if root == "attrs" {
                " (declare custom attributes under `attributes:`)"
            } else {
                ""
            };
            self.problem_after(
                select,
                1,
                format!(
                    "unknown field `{field}` of {what}; expected one of {}{hint}",
                    known.join(", ")
                ),
            );
        }
    }
}

/// The id of the leftmost part of `e`, where it starts in the source: the parser places a
/// selection at its dot and a binary operator at the operator.
fn start_of(e: &IdedExpr) -> u64 {
    match &e.expr {
        Expr::Select(select) => start_of(&select.operand),
        Expr::Call(call) => match (&call.target, call.args.first()) {
            (Some(target), _) => start_of(target),
            (None, Some(first)) if call.args.len() == 2 && call.func_name.starts_with('_') => {
                start_of(first)
            }
            _ => e.id,
        },
        _ => e.id,
    }
}

/// 1-based line and column, in characters, of a byte offset (CEL's offsets count bytes).
fn line_col(source: &str, byte_offset: usize) -> (usize, usize) {
    let mut line = 1;
    let mut column = 1;
    for (_, c) in source.char_indices().take_while(|(i, _)| *i < byte_offset) {
        if c == '\n' {
            line += 1;
            column = 1;
        } else {
            column += 1;
        }
    }
    (line, column)
}

/// A subject as conditions see it: `subject`, `attrs`, `records` and `parent`.
#[derive(Clone, Debug)]
pub struct SubjectView {
    variables: BTreeMap<String, Value>,
}

impl SubjectView {
    /// Every known attribute is present (empty text, or `0.0` for numbers, when unset) so that
    /// `attrs.country == "DE"` never fails on a subject without a country.
    pub fn new(
        subject: &Subject,
        records: &[Record],
        parent: Option<&Subject>,
        extra_attributes: &[String],
    ) -> Self {
        let subject_json = |s: Option<&Subject>| -> Json {
            match s {
                Some(s) => json!({
                    "key": s.key.as_str(), "kind": s.kind.as_str(),
                    "name": s.name.as_str(), "state": s.state.as_str(),
                }),
                None => json!({"key": "", "kind": "", "name": "", "state": ""}),
            }
        };
        let attrs = attributes_json(&subject.attributes, extra_attributes);
        let mut by_kind: BTreeMap<&str, Vec<Json>> = RecordKind::ALL
            .iter()
            .map(|k| (k.plural(), Vec::new()))
            .collect();
        for r in records {
            let mut fields: Map<String, Json> = r
                .kind
                .fields()
                .iter()
                .map(|f| (f.name.to_owned(), Json::String(String::new())))
                .collect();
            for (k, v) in r.fields.iter() {
                fields.insert(k.to_owned(), Json::String(v.to_owned()));
            }
            by_kind
                .entry(r.kind.plural())
                .or_default()
                .push(Json::Object(fields));
        }
        let records_json: Map<String, Json> = by_kind
            .into_iter()
            .map(|(k, v)| (k.to_owned(), Json::Array(v)))
            .collect();
        let json = json!({
            "subject": subject_json(Some(subject)),
            "attrs": attrs,
            "records": records_json,
            "parent": subject_json(parent),
        });
        let variables = match json {
            Json::Object(map) => map
                .into_iter()
                .map(|(k, v)| (k, cel::to_value(v).unwrap_or(Value::Null)))
                .collect(),
            _ => BTreeMap::new(),
        };
        Self { variables }
    }
}

fn attributes_json(attributes: &Attributes, extra: &[String]) -> Json {
    let mut map = Map::new();
    for (name, ty) in STANDARD_ATTRIBUTES {
        let value = attributes.get(name);
        let json = match ty {
            AttributeType::Number => {
                json!(value.and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0))
            }
            _ => json!(value.unwrap_or("")),
        };
        map.insert((*name).to_owned(), json);
    }
    for name in extra {
        map.insert(name.clone(), json!(attributes.get(name).unwrap_or("")));
    }
    for (name, value) in attributes.iter() {
        if standard_attribute(name).is_none() {
            map.insert(name.to_owned(), json!(value));
        }
    }
    Json::Object(map)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{RecordId, SubjectId, SubjectKey, TenantId, Text};
    use crate::subject::{RecordFields, SubjectKind, SubjectState};
    use uuid::Uuid;

    fn employee(country: &str) -> Subject {
        Subject {
            tenant_id: TenantId(Uuid::nil()),
            id: SubjectId(Uuid::nil()),
            key: SubjectKey::parse("jdoe").unwrap(),
            kind: SubjectKind::Employee,
            name: Text::line("Jane Doe", 100).unwrap(),
            parent_id: None,
            state: SubjectState::Active,
            attributes: Attributes::parse([("country", country)]).unwrap(),
        }
    }

    fn work_item(new_owner: &str) -> Record {
        Record {
            id: RecordId(Uuid::nil()),
            subject_id: SubjectId(Uuid::nil()),
            number: 1,
            kind: RecordKind::WorkItem,
            fields: RecordFields::parse(
                RecordKind::WorkItem,
                [("title", "Q4 audit"), ("new_owner", new_owner)],
            )
            .unwrap(),
        }
    }

    #[test]
    fn evaluates_over_attributes_and_records() {
        let s = employee("DE");
        let view = SubjectView::new(&s, &[work_item("")], None, &[]);
        let c = Condition::compile(r#"attrs.country == "DE" && attrs.role == """#, &[]).unwrap();
        assert!(c.evaluate(&view).unwrap());
        let c =
            Condition::compile(r#"records.work_items.exists(w, w.new_owner == "")"#, &[]).unwrap();
        assert!(c.evaluate(&view).unwrap());
        let view = SubjectView::new(&s, &[work_item("bob@example.com")], None, &[]);
        assert!(!c.evaluate(&view).unwrap());
        let c = Condition::compile("attrs.balance_outstanding > 0.0", &[]).unwrap();
        assert!(!c.evaluate(&view).unwrap());
    }

    #[test]
    fn unknown_names_and_fields_are_refused_with_their_column() {
        let err = Condition::compile(r#"attrs.contry == "DE""#, &[]).unwrap_err();
        assert_eq!(err.len(), 1);
        assert!(err[0].message.contains("unknown field `contry`"), "{err:?}");
        let err =
            Condition::compile(r#"records.work_items.exists(w, w.ownr == "")"#, &[]).unwrap_err();
        assert!(
            err[0].message.contains("`ownr` of a work_item record"),
            "{err:?}"
        );
        let err = Condition::compile("subjekt.kind == 'client'", &[]).unwrap_err();
        assert!(err[0].message.contains("unknown name `subjekt`"), "{err:?}");
        assert_eq!((err[0].line, err[0].column), (1, 1));
        let err = Condition::compile("attrs.country == ", &[]).unwrap_err();
        assert!(err[0].message.starts_with("CEL does not parse"), "{err:?}");
        assert!(Condition::compile("attrs.tier == 'gold'", &["tier".to_owned()]).is_ok());
    }

    #[test]
    fn non_boolean_results_are_errors() {
        let s = employee("DE");
        let view = SubjectView::new(&s, &[], None, &[]);
        // Lint cannot tell what an index gives.
        let c = Condition::compile("[attrs.country][0]", &[]).unwrap();
        assert!(matches!(c.evaluate(&view), Err(EvalError::NotBool { .. })));
    }

    #[test]
    fn what_is_known_not_to_be_true_or_false_is_refused_where_it_starts() {
        let refused = |source: &str| {
            let err = Condition::compile(source, &[]).unwrap_err();
            assert_eq!(err.len(), 1, "{source}: {err:?}");
            (err[0].column, err[0].message.clone())
        };
        let expected = |what: &str| {
            format!(
                "this gives {what}, not true or false; expected a comparison such as `attrs.role == \"engineer\"`"
            )
        };
        assert_eq!(refused("attrs.role"), (1, expected("text")));
        assert_eq!(
            refused("attrs.balance_outstanding"),
            (1, expected("a number"))
        );
        assert_eq!(refused("records.accounts"), (1, expected("a list")));
        assert_eq!(
            refused("records.accounts.size()"),
            (1, expected("a number"))
        );
        assert_eq!(refused("'engineer'"), (1, expected("text")));
        assert_eq!(
            refused("attrs.role == 'x' && subject.name"),
            (22, expected("text"))
        );
        assert_eq!(refused("!attrs.country"), (2, expected("text")));
        for fine in [
            "true",
            "attrs.role == 'x' ? true : attrs.country == 'DE'",
            "has(attrs.role)",
            "records.accounts.exists(a, a.status == 'active')",
            "attrs.role in ['a', 'b']",
        ] {
            assert!(Condition::compile(fine, &[]).is_ok(), "{fine}");
        }
    }
}
