//! The teams a new tenant starts with; blueprints route tasks to them by slug.

/// Slug and display name of each default team.
pub const DEFAULT_TEAMS: &[(&str, &str)] = &[
    ("hr", "HR"),
    ("it", "IT and security"),
    ("finance", "Finance"),
    ("account-management", "Account management"),
    ("operations", "Operations"),
    ("compliance", "Compliance"),
    ("legal", "Legal"),
];

pub fn default_team_slugs() -> Vec<String> {
    DEFAULT_TEAMS.iter().map(|(s, _)| (*s).to_owned()).collect()
}
