//! Tenants, the people in them, their roles and teams.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use crate::ids::{Email, Slug, TenantId, Text, UserId};

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Tenant {
    pub id: TenantId,
    pub slug: Slug,
    pub name: Text,
}

/// What a person may do in their tenant, from most to least power.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Starts organization offboarding, places and lifts legal holds, sets retention.
    Owner,
    /// Manages blueprints, users and teams.
    Admin,
    /// Starts and runs cases.
    Manager,
    /// Completes tasks assigned to them or their team.
    Member,
    /// Reads everything, writes nothing.
    Auditor,
}

impl Role {
    pub const NAMES: &[&str] = &["owner", "admin", "manager", "member", "auditor"];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Manager => "manager",
            Role::Member => "member",
            Role::Auditor => "auditor",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a role; expected one of owner, admin, manager, member, auditor")]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "owner" => Role::Owner,
            "admin" => Role::Admin,
            "manager" => Role::Manager,
            "member" => Role::Member,
            "auditor" => Role::Auditor,
            _ => return Err(UnknownRole(s.to_owned())),
        })
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct User {
    pub tenant_id: TenantId,
    pub id: UserId,
    pub email: Email,
    pub name: Text,
    pub role: Role,
}

impl User {
    /// How the audit log names this person: by id, so that erasing personal data leaves the
    /// chain intact.
    pub fn actor(&self) -> String {
        format!("user:{}", self.id)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Team {
    pub slug: Slug,
    pub name: Text,
    pub members: Vec<UserId>,
}
