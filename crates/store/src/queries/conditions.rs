//! The WHERE clause of a listing, written with a condition only for each filter that is given.
//!
//! A condition written as `($2 IS NULL OR c.status = $2)` serves every combination of filters
//! with one statement, but no index can serve it: once PostgreSQL plans the prepared statement
//! generically, it reads the tenant's every row and sorts them, whatever the filters. Here each
//! combination is a statement of its own, planned for the filters it has.

use crate::sql::Arg;

/// Conditions joined by `AND`, and the values they bind, numbered as they are added.
pub(super) struct Conditions<'a> {
    sql: String,
    args: Vec<Arg<'a>>,
}

impl<'a> Conditions<'a> {
    /// Starts with a condition every listing has (its tenant): `template` holds `{}` where
    /// the value's placeholder goes.
    pub(super) fn new(template: &str, value: impl Into<Arg<'a>>) -> Self {
        let mut conditions = Conditions {
            sql: String::new(),
            args: Vec::new(),
        };
        conditions.and(template, value);
        conditions
    }

    /// Adds `template` with `value` bound where it says `{}`.
    pub(super) fn and(&mut self, template: &str, value: impl Into<Arg<'a>>) -> &mut Self {
        let placeholder = self.bind(value);
        if !self.sql.is_empty() {
            self.sql.push_str(" AND ");
        }
        self.sql.push_str(&template.replace("{}", &placeholder));
        self
    }

    /// Adds `template` only when there is a value to bind.
    pub(super) fn and_some<T: Into<Arg<'a>>>(
        &mut self,
        template: &str,
        value: Option<T>,
    ) -> &mut Self {
        if let Some(value) = value {
            self.and(template, value);
        }
        self
    }

    /// Adds a condition that binds nothing.
    pub(super) fn and_always(&mut self, condition: &str) -> &mut Self {
        if !self.sql.is_empty() {
            self.sql.push_str(" AND ");
        }
        self.sql.push_str(condition);
        self
    }

    /// Binds `value` for use elsewhere in the statement (a `LIMIT`), and answers its
    /// placeholder.
    pub(super) fn bind(&mut self, value: impl Into<Arg<'a>>) -> String {
        self.args.push(value.into());
        format!("${}", self.args.len())
    }

    /// The conditions, joined, without `WHERE`.
    pub(super) fn sql(&self) -> &str {
        &self.sql
    }

    pub(super) fn args(&self) -> &[Arg<'a>] {
        &self.args
    }
}

#[cfg(test)]
mod tests {
    use super::Conditions;

    #[test]
    fn only_the_given_filters_are_written_and_numbered_in_order() {
        let mut w = Conditions::new("c.tenant_id = {}", 1i64);
        w.and_some("c.status = {}", None::<&str>)
            .and_some("c.subject_id = {}", Some(7i64))
            .and_always("c.number > 0");
        let limit = w.bind(50i64);
        assert_eq!(
            w.sql(),
            "c.tenant_id = $1 AND c.subject_id = $2 AND c.number > 0"
        );
        assert_eq!(limit, "$3");
        assert_eq!(w.args().len(), 3);
    }
}
