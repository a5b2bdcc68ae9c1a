//! The blueprints shipped inside the binary. They are ordinary YAML files under
//! `crates/engine/blueprints/`, linted by the same code as anyone's.

/// Every built-in blueprint: its id and its YAML source.
pub const BUILTIN: &[(&str, &str)] = &[
    (
        "client-standard",
        include_str!("../../blueprints/client-standard.yaml"),
    ),
    (
        "organization",
        include_str!("../../blueprints/organization.yaml"),
    ),
    (
        "employee-standard",
        include_str!("../../blueprints/employee-standard.yaml"),
    ),
    ("party", include_str!("../../blueprints/party.yaml")),
    ("product", include_str!("../../blueprints/product.yaml")),
];

pub fn builtin_source(id: &str) -> Option<&'static str> {
    BUILTIN.iter().find(|(i, _)| *i == id).map(|(_, s)| *s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blueprint::{LintContext, parse};
    use crate::teams::default_team_slugs;

    #[test]
    fn every_builtin_lints_clean_and_matches_its_id() {
        let teams = default_team_slugs();
        for (id, source) in BUILTIN {
            let bp = parse(source, &LintContext { teams: &teams })
                .unwrap_or_else(|d| panic!("built-in {id} has problems: {d:#?}"));
            assert_eq!(bp.id.as_str(), *id);
        }
    }
}
