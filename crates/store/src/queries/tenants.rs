//! Tenants, their people and teams, and the time zones they keep.

use engine::fields::{PersonName, TenantName};
use engine::ids::{Email, Slug, TenantId, Text, UserId, ZoneName};
use engine::tenant::{Team, Tenant, User};
use jiff::Timestamp;

use crate::Result;
use crate::sql::{Row, args};

use super::*;

/// The columns a [`Tenant`] is read from, by name: its own table's, or the aliases a join
/// gives them beside another table's columns of the same names.
pub(super) struct TenantColumns {
    pub id: &'static str,
    pub slug: &'static str,
    pub name: &'static str,
    pub time_zone: &'static str,
}

const TENANT: TenantColumns = TenantColumns {
    id: "id",
    slug: "slug",
    name: "name",
    time_zone: "time_zone",
};

/// The columns a [`User`] is read from (see [`TenantColumns`]).
pub(super) struct UserColumns {
    pub tenant_id: &'static str,
    pub id: &'static str,
    pub email: &'static str,
    pub name: &'static str,
    pub role: &'static str,
    pub time_zone: &'static str,
}

const USER: UserColumns = UserColumns {
    tenant_id: "tenant_id",
    id: "id",
    email: "email",
    name: "name",
    role: "role",
    time_zone: "time_zone",
};

pub(super) fn tenant_from(r: &impl Row, c: &TenantColumns) -> Result<Tenant> {
    Ok(Tenant {
        id: TenantId(r.uuid(c.id)?),
        slug: slug(r.text(c.slug)?)?,
        name: Text::line(r.text(c.name)?, TenantName::MAX).map_err(corrupt("tenant name"))?,
        // As for a person's zone: one the database no longer knows is read as UTC.
        time_zone: ZoneName::parse(r.text(c.time_zone)?).unwrap_or_else(|_| ZoneName::utc()),
    })
}

pub(super) fn user_from(r: &impl Row, c: &UserColumns) -> Result<User> {
    Ok(User {
        tenant_id: TenantId(r.uuid(c.tenant_id)?),
        id: UserId(r.uuid(c.id)?),
        email: Email::parse(r.text(c.email)?).map_err(corrupt("email"))?,
        name: Text::line(r.text(c.name)?, PersonName::MAX).map_err(corrupt("user name"))?,
        role: role(r.text(c.role)?)?,
        // A zone the bundled database no longer knows (or a hand edit) leaves its person in
        // UTC rather than making every read of the tenant's people fail.
        time_zone: ZoneName::parse(r.text(c.time_zone)?).unwrap_or_else(|_| ZoneName::utc()),
    })
}

fn tenant_row(r: &impl Row) -> Result<Tenant> {
    tenant_from(r, &TENANT)
}

fn user_row(r: &impl Row) -> Result<User> {
    user_from(r, &USER)
}

impl Tx {
    pub async fn insert_tenant(&mut self, t: &Tenant, at: Timestamp) -> Result<()> {
        self.run(
            "INSERT INTO tenants (id, slug, name, created_at_us, time_zone) \
             VALUES ($1, $2, $3, $4, $5)",
            args![
                t.id.0,
                t.slug.as_str(),
                t.name.as_str(),
                us(at),
                t.time_zone.as_str()
            ],
        )
        .await?;
        self.run(
            "INSERT INTO audit_heads (tenant_id, seq, hash) VALUES ($1, 0, $2)",
            args![t.id.0, &engine::audit::GENESIS],
        )
        .await?;
        Ok(())
    }

    pub async fn tenants(&mut self) -> Result<Vec<Tenant>> {
        self.all(
            "SELECT id, slug, name, time_zone FROM tenants ORDER BY created_at_us, slug",
            args![],
            |r| tenant_row(r),
        )
        .await
    }

    pub async fn tenant_by_slug(&mut self, s: &Slug) -> Result<Option<Tenant>> {
        self.optional(
            "SELECT id, slug, name, time_zone FROM tenants WHERE slug = $1",
            args![s.as_str()],
            |r| tenant_row(r),
        )
        .await
    }

    pub async fn tenant(&mut self, id: TenantId) -> Result<Option<Tenant>> {
        self.optional(
            "SELECT id, slug, name, time_zone FROM tenants WHERE id = $1",
            args![id.0],
            |r| tenant_row(r),
        )
        .await
    }

    pub async fn insert_user(&mut self, u: &User, at: Timestamp) -> Result<()> {
        self.run(
            "INSERT INTO users (tenant_id, id, email, name, role, created_at_us, time_zone) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            args![
                u.tenant_id.0,
                u.id.0,
                u.email.as_str(),
                u.name.as_str(),
                u.role.as_str(),
                us(at),
                u.time_zone.as_str(),
            ],
        )
        .await?;
        Ok(())
    }

    /// Sets the time zone people added to the tenant start in.
    pub async fn set_tenant_time_zone(&mut self, tenant: TenantId, zone: &ZoneName) -> Result<()> {
        self.run(
            "UPDATE tenants SET time_zone = $2 WHERE id = $1",
            args![tenant.0, zone.as_str()],
        )
        .await?;
        Ok(())
    }

    /// Sets where a person is.
    pub async fn set_user_time_zone(
        &mut self,
        tenant: TenantId,
        user: UserId,
        zone: &ZoneName,
    ) -> Result<()> {
        self.run(
            "UPDATE users SET time_zone = $3 WHERE tenant_id = $1 AND id = $2",
            args![tenant.0, user.0, zone.as_str()],
        )
        .await?;
        Ok(())
    }

    pub async fn users(&mut self, tenant: TenantId) -> Result<Vec<User>> {
        self.all(
            "SELECT tenant_id, id, email, name, role, time_zone FROM users \
             WHERE tenant_id = $1 AND ended_at_us IS NULL ORDER BY email",
            args![tenant.0],
            |r| user_row(r),
        )
        .await
    }

    pub async fn user(&mut self, tenant: TenantId, id: UserId) -> Result<Option<User>> {
        self.optional(
            "SELECT tenant_id, id, email, name, role, time_zone FROM users WHERE tenant_id = $1 AND id = $2",
            args![tenant.0, id.0],
            |r| user_row(r),
        )
        .await
    }

    pub async fn user_by_email(&mut self, tenant: TenantId, email: &Email) -> Result<Option<User>> {
        self.optional(
            "SELECT tenant_id, id, email, name, role, time_zone FROM users \
             WHERE tenant_id = $1 AND email = $2 AND ended_at_us IS NULL",
            args![tenant.0, email.as_str()],
            |r| user_row(r),
        )
        .await
    }

    pub async fn insert_team(&mut self, tenant: TenantId, team: &Team) -> Result<()> {
        self.run(
            "INSERT INTO teams (tenant_id, slug, name) VALUES ($1, $2, $3)",
            args![tenant.0, team.slug.as_str(), team.name.as_str()],
        )
        .await?;
        for member in &team.members {
            self.add_team_member(tenant, &team.slug, *member).await?;
        }
        Ok(())
    }

    pub async fn add_team_member(
        &mut self,
        tenant: TenantId,
        team: &Slug,
        user: UserId,
    ) -> Result<()> {
        self.run(
            "INSERT INTO team_members (tenant_id, team_slug, user_id) VALUES ($1, $2, $3)",
            args![tenant.0, team.as_str(), user.0],
        )
        .await?;
        Ok(())
    }

    pub async fn teams(&mut self, tenant: TenantId) -> Result<Vec<Team>> {
        let rows = self
            .all(
                "SELECT t.slug, t.name, m.user_id FROM teams t \
                 LEFT JOIN team_members m ON m.tenant_id = t.tenant_id AND m.team_slug = t.slug \
                 WHERE t.tenant_id = $1 ORDER BY t.slug",
                args![tenant.0],
                |r| {
                    Ok((
                        slug(r.text("slug")?)?,
                        Text::line(r.text("name")?, 200).map_err(corrupt("team name"))?,
                        r.opt_uuid("user_id")?.map(UserId),
                    ))
                },
            )
            .await?;
        let mut teams: Vec<Team> = Vec::new();
        for (slug, name, member) in rows {
            if teams.last().is_none_or(|t| t.slug != slug) {
                teams.push(Team {
                    slug,
                    name,
                    members: Vec::new(),
                });
            }
            if let (Some(member), Some(team)) = (member, teams.last_mut()) {
                team.members.push(member);
            }
        }
        Ok(teams)
    }
}
