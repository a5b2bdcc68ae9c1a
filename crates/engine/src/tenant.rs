//! Tenants, the people in them, their roles and teams.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use jiff::Timestamp;

use crate::ids::{Email, SessionId, Slug, TenantId, Text, TokenId, UserId, ZoneName};

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Tenant {
    pub id: TenantId,
    pub slug: Slug,
    pub name: Text,
    /// The time zone people added to the tenant start in (each may then choose their own).
    pub time_zone: ZoneName,
}

/// What a person may do in their tenant, from most to least power.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
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

/// What a use case asks permission for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Permission {
    /// Start organization offboarding, place or lift a legal hold, set retention.
    GovernTenant,
    /// Add users and teams.
    ManageUsers,
    /// Add blueprint versions.
    ManageBlueprints,
    /// Add subjects and records; start, run, close and cancel cases; assign and waive.
    RunCases,
    /// Complete a task that is the actor's own (assigned to them, or to their team).
    CompleteOwnTask,
}

impl Permission {
    /// The least role that has this permission; roles above it have it too, except the
    /// auditor, who only reads.
    pub fn least_role(self) -> Role {
        match self {
            Permission::GovernTenant => Role::Owner,
            Permission::ManageUsers | Permission::ManageBlueprints => Role::Admin,
            Permission::RunCases => Role::Manager,
            Permission::CompleteOwnTask => Role::Member,
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Permission::GovernTenant => {
                "governing the tenant (organization offboarding, legal hold, retention)"
            }
            Permission::ManageUsers => "managing users and teams",
            Permission::ManageBlueprints => "managing blueprints",
            Permission::RunCases => "running cases and changing subjects",
            Permission::CompleteOwnTask => "completing tasks",
        }
    }
}

impl Role {
    /// Whether this role may do what `permission` covers. Roles are ordered owner > admin >
    /// manager > member; the auditor reads everything and writes nothing.
    pub fn allows(self, permission: Permission) -> bool {
        self != Role::Auditor && self <= permission.least_role()
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
        f.pad(self.as_str())
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct User {
    pub tenant_id: TenantId,
    pub id: UserId,
    pub email: Email,
    pub name: Text,
    pub role: Role,
    /// Where they are: their digest comes at 7 in their morning, and the times they read are
    /// in this zone. UTC until they choose.
    pub time_zone: ZoneName,
}

impl User {
    /// How the audit log names this person: by id, so that erasing personal data leaves the
    /// chain intact.
    pub fn actor(&self) -> String {
        format!("user:{}", self.id)
    }
}

/// A credential for automation: it acts as its user, with a role no stronger than theirs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ApiToken {
    pub id: TokenId,
    pub tenant_id: TenantId,
    pub user_id: UserId,
    pub name: Text,
    pub role: Role,
    pub created_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
}

/// A signed-in session. The cookie that names it and the CSRF token that guards its writes
/// are random; only the cookie's digest is stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Session {
    pub id: SessionId,
    pub tenant_id: TenantId,
    pub user_id: UserId,
    #[serde(skip)]
    pub csrf_token: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
}

impl Role {
    /// Whether someone with this role may create, impersonate or reset a user with `other`:
    /// only users no stronger than themselves.
    pub fn may_manage(self, other: Role) -> bool {
        self != Role::Auditor && other >= self
    }

    /// The weaker of two roles (an auditor's reach is the narrowest).
    pub fn weaker(self, other: Role) -> Role {
        self.max(other)
    }

    /// Whether a token with `role` may be issued to a user with this role: never stronger,
    /// and an auditor's tokens only read.
    pub fn may_issue(self, role: Role) -> bool {
        match self {
            Role::Auditor => role == Role::Auditor,
            _ => role == Role::Auditor || role >= self,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Team {
    pub slug: Slug,
    pub name: Text,
    pub members: Vec<UserId>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nobody_manages_someone_stronger() {
        assert!(Role::Admin.may_manage(Role::Manager));
        assert!(Role::Admin.may_manage(Role::Admin));
        assert!(!Role::Admin.may_manage(Role::Owner));
        assert!(Role::Owner.may_manage(Role::Owner));
        assert!(!Role::Auditor.may_manage(Role::Auditor));
        assert_eq!(Role::Owner.weaker(Role::Member), Role::Member);
        assert_eq!(Role::Auditor.weaker(Role::Owner), Role::Auditor);
    }

    #[test]
    fn a_token_is_never_stronger_than_its_user() {
        assert!(Role::Manager.may_issue(Role::Member));
        assert!(Role::Manager.may_issue(Role::Auditor));
        assert!(!Role::Manager.may_issue(Role::Admin));
        assert!(!Role::Auditor.may_issue(Role::Member));
        assert!(Role::Owner.may_issue(Role::Owner));
    }

    #[test]
    fn roles_are_ordered_and_the_auditor_writes_nothing() {
        use Permission::*;
        let table = [
            (Role::Owner, [true, true, true, true, true]),
            (Role::Admin, [false, true, true, true, true]),
            (Role::Manager, [false, false, false, true, true]),
            (Role::Member, [false, false, false, false, true]),
            (Role::Auditor, [false, false, false, false, false]),
        ];
        for (role, expected) in table {
            let got = [
                GovernTenant,
                ManageUsers,
                ManageBlueprints,
                RunCases,
                CompleteOwnTask,
            ]
            .map(|p| role.allows(p));
            assert_eq!(got, expected, "{role}");
        }
    }
}
