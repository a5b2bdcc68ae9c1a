//! The tenant and its people: users, roles, teams, API tokens, and the signed-in caller.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// What a person may do in their tenant, from most to least power.
#[derive(Serialize, Deserialize, ToSchema)]
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

impl From<engine::tenant::Role> for Role {
    fn from(role: engine::tenant::Role) -> Self {
        use engine::tenant::Role as R;
        match role {
            R::Owner => Self::Owner,
            R::Admin => Self::Admin,
            R::Manager => Self::Manager,
            R::Member => Self::Member,
            R::Auditor => Self::Auditor,
        }
    }
}

impl From<Role> for engine::tenant::Role {
    fn from(role: Role) -> Self {
        match role {
            Role::Owner => Self::Owner,
            Role::Admin => Self::Admin,
            Role::Manager => Self::Manager,
            Role::Member => Self::Member,
            Role::Auditor => Self::Auditor,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct Tenant {
    pub id: Uuid,
    pub slug: String,
    pub name: String,
    /// The time zone people added to the tenant start in.
    #[schema(example = "Europe/Berlin")]
    pub time_zone: String,
}

impl From<engine::tenant::Tenant> for Tenant {
    fn from(tenant: engine::tenant::Tenant) -> Self {
        let engine::tenant::Tenant {
            id,
            slug,
            name,
            time_zone,
        } = tenant;
        Self {
            id: id.0,
            slug: slug.to_string(),
            name: name.to_string(),
            time_zone: time_zone.to_string(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct User {
    pub tenant_id: Uuid,
    pub id: Uuid,
    pub email: String,
    pub name: String,
    pub role: Role,
    /// Where they are, an IANA name: their digest comes at 07:00 there, and reminders name
    /// times there.
    #[schema(example = "Europe/Berlin")]
    pub time_zone: String,
}

impl From<engine::tenant::User> for User {
    fn from(user: engine::tenant::User) -> Self {
        let engine::tenant::User {
            tenant_id,
            id,
            email,
            name,
            role,
            time_zone,
        } = user;
        Self {
            tenant_id: tenant_id.0,
            id: id.0,
            email: email.to_string(),
            name: name.to_string(),
            role: role.into(),
            time_zone: time_zone.to_string(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct Team {
    pub slug: String,
    pub name: String,
    /// User ids.
    pub members: Vec<Uuid>,
}

impl From<engine::tenant::Team> for Team {
    fn from(team: engine::tenant::Team) -> Self {
        let engine::tenant::Team {
            slug,
            name,
            members,
        } = team;
        Self {
            slug: slug.to_string(),
            name: name.to_string(),
            members: members.into_iter().map(|id| id.0).collect(),
        }
    }
}

/// A credential for automation: it acts as its user, with a role no stronger than theirs.
#[derive(Serialize, ToSchema)]
pub struct ApiToken {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub user_id: Uuid,
    pub name: String,
    pub role: Role,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub revoked_at: Option<Timestamp>,
}

impl From<engine::tenant::ApiToken> for ApiToken {
    fn from(token: engine::tenant::ApiToken) -> Self {
        let engine::tenant::ApiToken {
            id,
            tenant_id,
            user_id,
            name,
            role,
            created_at,
            revoked_at,
        } = token;
        Self {
            id: id.0,
            tenant_id: tenant_id.0,
            user_id: user_id.0,
            name: name.to_string(),
            role: role.into(),
            created_at,
            revoked_at,
        }
    }
}

/// A token as issued: the secret is shown this once and never stored.
#[derive(Serialize, ToSchema)]
pub struct IssuedToken {
    pub token: ApiToken,
    /// Send it as `Authorization: Bearer <secret>`.
    pub secret: String,
}

impl From<app::IssuedToken> for IssuedToken {
    fn from(issued: app::IssuedToken) -> Self {
        let app::IssuedToken { token, secret } = issued;
        Self {
            token: token.into(),
            secret,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct Revoked {
    /// The token's id.
    pub revoked: Uuid,
}

/// Who is signed in, and the CSRF token their cookie-authenticated writes must send.
#[derive(Serialize, ToSchema)]
pub struct SignedIn {
    pub user: User,
    pub tenant: Tenant,
    /// Send it in the `x-csrf-token` header with every request that is not GET, HEAD or OPTIONS.
    pub csrf_token: String,
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: Timestamp,
}

/// Who is calling.
#[derive(Serialize, ToSchema)]
pub struct Me {
    pub user: User,
    pub tenant: Tenant,
}

#[derive(Serialize, ToSchema)]
pub struct PasswordChanged {
    /// How many other sessions of the user were signed out.
    pub other_sessions_revoked: u64,
}
