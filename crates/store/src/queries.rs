//! The SQL of every [`Tx`](crate::Tx) method, written once.
//!
//! This file is compiled twice, as `sqlite::queries` and `postgres::queries`; `super::Db` is the
//! backend and `super::FOR_UPDATE` its row-lock clause. Placeholders are numbered (`$1`), which
//! both backends accept.

use engine::audit::{AuditDraft, AuditEvent, Hash};
use engine::blueprint::{Owner, Severity, TaskKind};
use engine::case::{
    Case, CaseFile, CaseFinding, CaseStatus, FindingStatus, Resolution, Task, TaskStatus,
};
use engine::ids::{
    CaseId, Email, EvidenceId, RecordId, SessionId, Slug, SubjectId, SubjectKey, TenantId, Text,
    TokenId, UserId,
};
use engine::plan::Finding;
use engine::subject::{Attributes, Record, RecordFields, Subject, SubjectKind, SubjectState};
use engine::tenant::{ApiToken, Role, Session, Team, Tenant, User};
use jiff::Timestamp;
use jiff::civil::Date;
use sqlx::{AssertSqlSafe, Row};
use uuid::Uuid;

use super::{Db, FOR_UPDATE};
use crate::model::{
    AuditFilter, CaseFilter, CaseSummary, EvidenceFile, EvidenceMeta, IdempotencyClaim, KeyClaim,
    StoredBlueprint, SubjectFilter, TaskFilter, TaskRow,
};
use crate::{Result, StoreError};

type DbRow = <Db as sqlx::Database>::Row;

/// A transaction on this backend. `locking` is set for write transactions, whose reads of a
/// case lock it.
pub struct SqlTx {
    pub(super) tx: sqlx::Transaction<'static, Db>,
    pub(super) locking: bool,
}

fn us(t: Timestamp) -> i64 {
    t.as_microsecond()
}

fn from_us(v: i64) -> Result<Timestamp> {
    Timestamp::from_microsecond(v).map_err(|e| StoreError::Corrupt(format!("timestamp {v}: {e}")))
}

fn corrupt<E: std::fmt::Display>(what: &str) -> impl FnOnce(E) -> StoreError + '_ {
    move |e| StoreError::Corrupt(format!("{what}: {e}"))
}

fn hash(bytes: Vec<u8>) -> Result<Hash> {
    bytes
        .try_into()
        .map_err(|b: Vec<u8>| StoreError::Corrupt(format!("a hash of {} bytes", b.len())))
}

fn json<T: serde::de::DeserializeOwned>(text: &str, what: &str) -> Result<T> {
    serde_json::from_str(text).map_err(corrupt(what))
}

fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".to_owned())
}

fn slug(s: &str) -> Result<Slug> {
    Slug::parse(s).map_err(corrupt("id"))
}

fn tenant_row(r: &DbRow) -> Result<Tenant> {
    Ok(Tenant {
        id: TenantId(r.try_get("id")?),
        slug: slug(r.try_get("slug")?)?,
        name: Text::line(r.try_get("name")?, 200).map_err(corrupt("tenant name"))?,
    })
}

fn token_row(r: &DbRow) -> Result<ApiToken> {
    Ok(ApiToken {
        id: TokenId(r.try_get("id")?),
        tenant_id: TenantId(r.try_get("tenant_id")?),
        user_id: UserId(r.try_get("user_id")?),
        name: Text::line(r.try_get("name")?, 200).map_err(corrupt("token name"))?,
        role: r
            .try_get::<&str, _>("role")?
            .parse::<Role>()
            .map_err(corrupt("role"))?,
        created_at: from_us(r.try_get("created_at_us")?)?,
        revoked_at: r
            .try_get::<Option<i64>, _>("revoked_at_us")?
            .map(from_us)
            .transpose()?,
    })
}

fn session_row(r: &DbRow) -> Result<Session> {
    Ok(Session {
        id: SessionId(r.try_get("id")?),
        tenant_id: TenantId(r.try_get("tenant_id")?),
        user_id: UserId(r.try_get("user_id")?),
        csrf_token: r.try_get("csrf_token")?,
        created_at: from_us(r.try_get("created_at_us")?)?,
        expires_at: from_us(r.try_get("expires_at_us")?)?,
        revoked_at: r
            .try_get::<Option<i64>, _>("revoked_at_us")?
            .map(from_us)
            .transpose()?,
    })
}

const TOKEN_COLUMNS: &str = "id, tenant_id, user_id, name, role, created_at_us, revoked_at_us";

fn user_row(r: &DbRow) -> Result<User> {
    Ok(User {
        tenant_id: TenantId(r.try_get("tenant_id")?),
        id: UserId(r.try_get("id")?),
        email: Email::parse(r.try_get("email")?).map_err(corrupt("email"))?,
        name: Text::line(r.try_get("name")?, 200).map_err(corrupt("user name"))?,
        role: r
            .try_get::<&str, _>("role")?
            .parse::<Role>()
            .map_err(corrupt("role"))?,
    })
}

fn subject_row(r: &DbRow) -> Result<Subject> {
    Ok(Subject {
        tenant_id: TenantId(r.try_get("tenant_id")?),
        id: SubjectId(r.try_get("id")?),
        key: SubjectKey::parse(r.try_get("key")?).map_err(corrupt("subject key"))?,
        kind: r
            .try_get::<&str, _>("kind")?
            .parse()
            .map_err(corrupt("subject kind"))?,
        name: Text::line(r.try_get("name")?, Subject::NAME_MAX).map_err(corrupt("subject name"))?,
        parent_id: r.try_get::<Option<Uuid>, _>("parent_id")?.map(SubjectId),
        state: SubjectState::parse(r.try_get("state")?)
            .ok_or_else(|| StoreError::Corrupt("subject state".into()))?,
        attributes: json::<Attributes>(r.try_get("attributes")?, "attributes")?,
    })
}

fn record_row(r: &DbRow) -> Result<Record> {
    Ok(Record {
        id: RecordId(r.try_get("id")?),
        subject_id: SubjectId(r.try_get("subject_id")?),
        number: r.try_get("number")?,
        kind: r
            .try_get::<&str, _>("kind")?
            .parse()
            .map_err(corrupt("record kind"))?,
        fields: json::<RecordFields>(r.try_get("fields")?, "record fields")?,
    })
}

fn blueprint_row(r: &DbRow) -> Result<StoredBlueprint> {
    Ok(StoredBlueprint {
        id: slug(r.try_get("id")?)?,
        version: u32::try_from(r.try_get::<i64, _>("version")?).map_err(corrupt("version"))?,
        source: r.try_get("source")?,
        digest: hash(r.try_get("digest")?)?,
    })
}

const CASE_COLUMNS: &str = "c.tenant_id, c.id, c.number, c.subject_id, c.blueprint_id, \
    c.blueprint_version, c.parent_id, c.owner_id, c.exit_date, c.status, c.resolution, \
    c.confirmation_word, c.stages, c.opened_at_us, c.closed_at_us, c.closed_by, c.close_reason";

fn case_row(r: &DbRow) -> Result<Case> {
    Ok(Case {
        tenant_id: TenantId(r.try_get("tenant_id")?),
        id: CaseId(r.try_get("id")?),
        number: r.try_get("number")?,
        subject_id: SubjectId(r.try_get("subject_id")?),
        blueprint_id: slug(r.try_get("blueprint_id")?)?,
        blueprint_version: u32::try_from(r.try_get::<i64, _>("blueprint_version")?)
            .map_err(corrupt("version"))?,
        parent_id: r.try_get::<Option<Uuid>, _>("parent_id")?.map(CaseId),
        owner_id: UserId(r.try_get("owner_id")?),
        exit_date: r
            .try_get::<&str, _>("exit_date")?
            .parse::<Date>()
            .map_err(corrupt("exit date"))?,
        status: CaseStatus::parse(r.try_get("status")?)
            .ok_or_else(|| StoreError::Corrupt("case status".into()))?,
        resolution: r
            .try_get::<Option<&str>, _>("resolution")?
            .map(|s| Resolution::parse(s).ok_or_else(|| StoreError::Corrupt("resolution".into())))
            .transpose()?,
        confirmation_word: r.try_get("confirmation_word")?,
        stages: json(r.try_get("stages")?, "stages")?,
        opened_at: from_us(r.try_get("opened_at_us")?)?,
        closed_at: r
            .try_get::<Option<i64>, _>("closed_at_us")?
            .map(from_us)
            .transpose()?,
        closed_by: r.try_get::<Option<Uuid>, _>("closed_by")?.map(UserId),
        close_reason: r.try_get("close_reason")?,
    })
}

const TASK_COLUMNS: &str = "t.case_id, t.id, t.stage, t.position, t.title, t.description, \
    t.kind, t.action, t.checklist, t.owner, t.owner_label, t.assignee, t.depends_on, t.due_at_us, \
    t.evidence_required, t.status, t.closed_at_us, t.closed_by, t.note, t.waive_reason";

fn task_row(r: &DbRow) -> Result<Task> {
    Ok(Task {
        case_id: CaseId(r.try_get("case_id")?),
        id: slug(r.try_get("id")?)?,
        stage: slug(r.try_get("stage")?)?,
        position: r.try_get("position")?,
        title: r.try_get("title")?,
        description: r.try_get("description")?,
        kind: TaskKind::parse(r.try_get("kind")?)
            .ok_or_else(|| StoreError::Corrupt("task kind".into()))?,
        action: r.try_get("action")?,
        checklist: json(r.try_get("checklist")?, "checklist")?,
        owner: Owner::decode(r.try_get("owner")?)
            .ok_or_else(|| StoreError::Corrupt("task owner".into()))?,
        owner_label: r.try_get("owner_label")?,
        assignee: r.try_get::<Option<Uuid>, _>("assignee")?.map(UserId),
        depends_on: json(r.try_get("depends_on")?, "depends_on")?,
        due_at: r
            .try_get::<Option<i64>, _>("due_at_us")?
            .map(from_us)
            .transpose()?,
        evidence_required: r.try_get("evidence_required")?,
        status: TaskStatus::parse(r.try_get("status")?)
            .ok_or_else(|| StoreError::Corrupt("task status".into()))?,
        closed_at: r
            .try_get::<Option<i64>, _>("closed_at_us")?
            .map(from_us)
            .transpose()?,
        closed_by: r.try_get::<Option<Uuid>, _>("closed_by")?.map(UserId),
        note: r.try_get("note")?,
        waive_reason: r.try_get("waive_reason")?,
    })
}

fn finding_row(r: &DbRow) -> Result<CaseFinding> {
    Ok(CaseFinding {
        case_id: CaseId(r.try_get("case_id")?),
        finding: Finding {
            check_id: slug(r.try_get("check_id")?)?,
            stage: slug(r.try_get("stage")?)?,
            severity: Severity::parse(r.try_get("severity")?)
                .ok_or_else(|| StoreError::Corrupt("severity".into()))?,
            message: r.try_get("message")?,
        },
        status: FindingStatus::parse(r.try_get("status")?)
            .ok_or_else(|| StoreError::Corrupt("finding status".into()))?,
        waived_by: r.try_get::<Option<Uuid>, _>("waived_by")?.map(UserId),
        waive_reason: r.try_get("waive_reason")?,
    })
}

fn audit_row(tenant: TenantId, r: &DbRow) -> Result<AuditEvent> {
    Ok(AuditEvent {
        tenant_id: tenant,
        seq: r.try_get(0)?,
        at_us: r.try_get(1)?,
        actor: r.try_get(2)?,
        action: r.try_get(3)?,
        target_kind: r.try_get(4)?,
        target_id: r.try_get(5)?,
        payload: r.try_get(6)?,
        payload_digest: hash(r.try_get(7)?)?,
        hash: hash(r.try_get(8)?)?,
    })
}

impl SqlTx {
    async fn insert_task(&mut self, tenant: TenantId, t: &Task) -> Result<()> {
        sqlx::query(
            "INSERT INTO tasks (tenant_id, case_id, id, stage, position, title, description, kind, \
             action, checklist, owner, owner_label, assignee, depends_on, due_at_us, \
             evidence_required, status, closed_at_us, closed_by, note, waive_reason) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)",
        )
        .bind(tenant.0)
        .bind(t.case_id.0)
        .bind(t.id.as_str())
        .bind(t.stage.as_str())
        .bind(t.position)
        .bind(&t.title)
        .bind(&t.description)
        .bind(t.kind.as_str())
        .bind(t.action.as_deref())
        .bind(to_json(&t.checklist))
        .bind(t.owner.encode())
        .bind(&t.owner_label)
        .bind(t.assignee.map(|u| u.0))
        .bind(to_json(&t.depends_on))
        .bind(t.due_at.map(us))
        .bind(t.evidence_required)
        .bind(t.status.as_str())
        .bind(t.closed_at.map(us))
        .bind(t.closed_by.map(|u| u.0))
        .bind(t.note.as_deref())
        .bind(t.waive_reason.as_deref())
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }
}

impl crate::Tx for SqlTx {
    async fn commit(self) -> Result<()> {
        self.tx.commit().await?;
        Ok(())
    }

    async fn insert_tenant(&mut self, t: &Tenant, at: Timestamp) -> Result<()> {
        sqlx::query("INSERT INTO tenants (id, slug, name, created_at_us) VALUES ($1, $2, $3, $4)")
            .bind(t.id.0)
            .bind(t.slug.as_str())
            .bind(t.name.as_str())
            .bind(us(at))
            .execute(&mut *self.tx)
            .await?;
        sqlx::query("INSERT INTO audit_heads (tenant_id, seq, hash) VALUES ($1, 0, $2)")
            .bind(t.id.0)
            .bind(engine::audit::GENESIS.to_vec())
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    async fn tenants(&mut self) -> Result<Vec<Tenant>> {
        sqlx::query("SELECT id, slug, name FROM tenants ORDER BY created_at_us, slug")
            .fetch_all(&mut *self.tx)
            .await?
            .iter()
            .map(tenant_row)
            .collect()
    }

    async fn tenant_by_slug(&mut self, s: &Slug) -> Result<Option<Tenant>> {
        sqlx::query("SELECT id, slug, name FROM tenants WHERE slug = $1")
            .bind(s.as_str())
            .fetch_optional(&mut *self.tx)
            .await?
            .as_ref()
            .map(tenant_row)
            .transpose()
    }

    async fn tenant(&mut self, id: TenantId) -> Result<Option<Tenant>> {
        sqlx::query("SELECT id, slug, name FROM tenants WHERE id = $1")
            .bind(id.0)
            .fetch_optional(&mut *self.tx)
            .await?
            .as_ref()
            .map(tenant_row)
            .transpose()
    }

    async fn insert_token(&mut self, t: &ApiToken, secret_sha256: &Hash) -> Result<()> {
        sqlx::query(
            "INSERT INTO api_tokens (tenant_id, id, user_id, name, role, secret_sha256, created_at_us) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(t.tenant_id.0)
        .bind(t.id.0)
        .bind(t.user_id.0)
        .bind(t.name.as_str())
        .bind(t.role.as_str())
        .bind(secret_sha256.to_vec())
        .bind(us(t.created_at))
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn token_by_secret(&mut self, secret_sha256: &Hash) -> Result<Option<ApiToken>> {
        sqlx::query(AssertSqlSafe(format!(
            "SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE secret_sha256 = $1"
        )))
        .bind(secret_sha256.to_vec())
        .fetch_optional(&mut *self.tx)
        .await?
        .as_ref()
        .map(token_row)
        .transpose()
    }

    async fn tokens(&mut self, tenant: TenantId) -> Result<Vec<ApiToken>> {
        sqlx::query(AssertSqlSafe(format!(
            "SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE tenant_id = $1 ORDER BY created_at_us, id"
        )))
        .bind(tenant.0)
        .fetch_all(&mut *self.tx)
        .await?
        .iter()
        .map(token_row)
        .collect()
    }

    async fn revoke_token(&mut self, tenant: TenantId, id: TokenId, at: Timestamp) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE api_tokens SET revoked_at_us = $3 WHERE tenant_id = $1 AND id = $2 AND revoked_at_us IS NULL",
        )
        .bind(tenant.0)
        .bind(id.0)
        .bind(us(at))
        .execute(&mut *self.tx)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn set_password(
        &mut self,
        tenant: TenantId,
        user: UserId,
        hash: &str,
        at: Timestamp,
    ) -> Result<()> {
        sqlx::query("UPDATE users SET password_hash = $3, password_changed_at_us = $4 WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.0)
            .bind(user.0)
            .bind(hash)
            .bind(us(at))
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    async fn password_hash(&mut self, tenant: TenantId, user: UserId) -> Result<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT password_hash FROM users WHERE tenant_id = $1 AND id = $2")
                .bind(tenant.0)
                .bind(user.0)
                .fetch_optional(&mut *self.tx)
                .await?
                .flatten(),
        )
    }

    async fn insert_session(&mut self, session: &Session, secret_sha256: &Hash) -> Result<()> {
        sqlx::query(
            "INSERT INTO sessions (tenant_id, id, user_id, secret_sha256, csrf_token, created_at_us, expires_at_us) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(session.tenant_id.0)
        .bind(session.id.0)
        .bind(session.user_id.0)
        .bind(secret_sha256.to_vec())
        .bind(&session.csrf_token)
        .bind(us(session.created_at))
        .bind(us(session.expires_at))
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn session_by_secret(&mut self, secret_sha256: &Hash) -> Result<Option<Session>> {
        sqlx::query(
            "SELECT id, tenant_id, user_id, csrf_token, created_at_us, expires_at_us, revoked_at_us \
             FROM sessions WHERE secret_sha256 = $1",
        )
        .bind(secret_sha256.to_vec())
        .fetch_optional(&mut *self.tx)
        .await?
        .as_ref()
        .map(session_row)
        .transpose()
    }

    async fn revoke_sessions(
        &mut self,
        tenant: TenantId,
        user: UserId,
        keep: Option<SessionId>,
        at: Timestamp,
    ) -> Result<u64> {
        let done = sqlx::query(
            "UPDATE sessions SET revoked_at_us = $4 WHERE tenant_id = $1 AND user_id = $2 \
             AND revoked_at_us IS NULL AND ($3 IS NULL OR id <> $3)",
        )
        .bind(tenant.0)
        .bind(user.0)
        .bind(keep.map(|k| k.0))
        .bind(us(at))
        .execute(&mut *self.tx)
        .await?;
        Ok(done.rows_affected())
    }

    async fn revoke_session(
        &mut self,
        tenant: TenantId,
        id: SessionId,
        at: Timestamp,
    ) -> Result<()> {
        sqlx::query("UPDATE sessions SET revoked_at_us = $3 WHERE tenant_id = $1 AND id = $2 AND revoked_at_us IS NULL")
            .bind(tenant.0)
            .bind(id.0)
            .bind(us(at))
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    async fn claim_idempotency_key(
        &mut self,
        tenant: TenantId,
        claim: &KeyClaim<'_>,
    ) -> Result<IdempotencyClaim> {
        let KeyClaim {
            caller,
            key,
            request_sha256,
            at,
            forget_before,
            abandoned_before,
        } = *claim;
        // Expired keys are forgotten first, and so is an abandoned claim of this key.
        sqlx::query(
            "DELETE FROM idempotency_keys WHERE tenant_id = $1 AND (created_at_us < $2 \
             OR (caller = $3 AND key = $4 AND status IS NULL AND created_at_us < $5))",
        )
        .bind(tenant.0)
        .bind(us(forget_before))
        .bind(caller)
        .bind(key)
        .bind(us(abandoned_before))
        .execute(&mut *self.tx)
        .await?;
        let claimed = sqlx::query(
            "INSERT INTO idempotency_keys (tenant_id, caller, key, request_sha256, created_at_us) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant_id, caller, key) DO NOTHING",
        )
        .bind(tenant.0)
        .bind(caller)
        .bind(key)
        .bind(request_sha256.to_vec())
        .bind(us(at))
        .execute(&mut *self.tx)
        .await?;
        if claimed.rows_affected() == 1 {
            return Ok(IdempotencyClaim::Claimed);
        }
        let row = sqlx::query(
            "SELECT request_sha256, status, content_type, body FROM idempotency_keys \
             WHERE tenant_id = $1 AND caller = $2 AND key = $3",
        )
        .bind(tenant.0)
        .bind(caller)
        .bind(key)
        .fetch_one(&mut *self.tx)
        .await?;
        if hash(row.try_get("request_sha256")?)? != *request_sha256 {
            return Ok(IdempotencyClaim::Mismatch);
        }
        match row.try_get::<Option<i64>, _>("status")? {
            None => Ok(IdempotencyClaim::InProgress),
            Some(status) => Ok(IdempotencyClaim::Replay {
                status: u16::try_from(status).map_err(corrupt("status"))?,
                content_type: row
                    .try_get::<Option<String>, _>("content_type")?
                    .unwrap_or_default(),
                body: row
                    .try_get::<Option<Vec<u8>>, _>("body")?
                    .unwrap_or_default(),
            }),
        }
    }

    async fn finish_idempotency_key(
        &mut self,
        tenant: TenantId,
        caller: &str,
        key: &str,
        response: Option<(u16, &str, &[u8])>,
    ) -> Result<()> {
        let query = match response {
            Some((status, content_type, body)) => sqlx::query(
                "UPDATE idempotency_keys SET status = $4, content_type = $5, body = $6 \
                 WHERE tenant_id = $1 AND caller = $2 AND key = $3",
            )
            .bind(tenant.0)
            .bind(caller)
            .bind(key)
            .bind(i64::from(status))
            .bind(content_type)
            .bind(body),
            None => sqlx::query(
                "DELETE FROM idempotency_keys WHERE tenant_id = $1 AND caller = $2 AND key = $3",
            )
            .bind(tenant.0)
            .bind(caller)
            .bind(key),
        };
        query.execute(&mut *self.tx).await?;
        Ok(())
    }

    async fn insert_user(&mut self, u: &User, at: Timestamp) -> Result<()> {
        sqlx::query(
            "INSERT INTO users (tenant_id, id, email, name, role, created_at_us) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(u.tenant_id.0)
        .bind(u.id.0)
        .bind(u.email.as_str())
        .bind(u.name.as_str())
        .bind(u.role.as_str())
        .bind(us(at))
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn users(&mut self, tenant: TenantId) -> Result<Vec<User>> {
        sqlx::query("SELECT tenant_id, id, email, name, role FROM users WHERE tenant_id = $1 ORDER BY email")
            .bind(tenant.0)
            .fetch_all(&mut *self.tx)
            .await?
            .iter()
            .map(user_row)
            .collect()
    }

    async fn user(&mut self, tenant: TenantId, id: UserId) -> Result<Option<User>> {
        sqlx::query(
            "SELECT tenant_id, id, email, name, role FROM users WHERE tenant_id = $1 AND id = $2",
        )
        .bind(tenant.0)
        .bind(id.0)
        .fetch_optional(&mut *self.tx)
        .await?
        .as_ref()
        .map(user_row)
        .transpose()
    }

    async fn user_by_email(&mut self, tenant: TenantId, email: &Email) -> Result<Option<User>> {
        sqlx::query("SELECT tenant_id, id, email, name, role FROM users WHERE tenant_id = $1 AND email = $2")
            .bind(tenant.0)
            .bind(email.as_str())
            .fetch_optional(&mut *self.tx)
            .await?
            .as_ref()
            .map(user_row)
            .transpose()
    }

    async fn insert_team(&mut self, tenant: TenantId, team: &Team) -> Result<()> {
        sqlx::query("INSERT INTO teams (tenant_id, slug, name) VALUES ($1, $2, $3)")
            .bind(tenant.0)
            .bind(team.slug.as_str())
            .bind(team.name.as_str())
            .execute(&mut *self.tx)
            .await?;
        for member in &team.members {
            self.add_team_member(tenant, &team.slug, *member).await?;
        }
        Ok(())
    }

    async fn add_team_member(&mut self, tenant: TenantId, team: &Slug, user: UserId) -> Result<()> {
        sqlx::query("INSERT INTO team_members (tenant_id, team_slug, user_id) VALUES ($1, $2, $3)")
            .bind(tenant.0)
            .bind(team.as_str())
            .bind(user.0)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    async fn teams(&mut self, tenant: TenantId) -> Result<Vec<Team>> {
        let rows = sqlx::query(
            "SELECT t.slug, t.name, m.user_id FROM teams t \
             LEFT JOIN team_members m ON m.tenant_id = t.tenant_id AND m.team_slug = t.slug \
             WHERE t.tenant_id = $1 ORDER BY t.slug",
        )
        .bind(tenant.0)
        .fetch_all(&mut *self.tx)
        .await?;
        let mut teams: Vec<Team> = Vec::new();
        for r in &rows {
            let s = slug(r.try_get("slug")?)?;
            if teams.last().is_none_or(|t| t.slug != s) {
                teams.push(Team {
                    slug: s,
                    name: Text::line(r.try_get("name")?, 200).map_err(corrupt("team name"))?,
                    members: Vec::new(),
                });
            }
            if let (Some(member), Some(team)) =
                (r.try_get::<Option<Uuid>, _>("user_id")?, teams.last_mut())
            {
                team.members.push(UserId(member));
            }
        }
        Ok(teams)
    }

    async fn insert_subject(&mut self, s: &Subject, at: Timestamp) -> Result<()> {
        sqlx::query(
            "INSERT INTO subjects (tenant_id, id, key, kind, name, parent_id, state, attributes, created_at_us, updated_at_us) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)",
        )
        .bind(s.tenant_id.0)
        .bind(s.id.0)
        .bind(s.key.as_str())
        .bind(s.kind.as_str())
        .bind(s.name.as_str())
        .bind(s.parent_id.map(|p| p.0))
        .bind(s.state.as_str())
        .bind(to_json(&s.attributes))
        .bind(us(at))
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn set_subject_state(
        &mut self,
        tenant: TenantId,
        id: SubjectId,
        state: SubjectState,
        at: Timestamp,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE subjects SET state = $3, updated_at_us = $4 WHERE tenant_id = $1 AND id = $2",
        )
        .bind(tenant.0)
        .bind(id.0)
        .bind(state.as_str())
        .bind(us(at))
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn subject(&mut self, tenant: TenantId, id: SubjectId) -> Result<Option<Subject>> {
        sqlx::query("SELECT * FROM subjects WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.0)
            .bind(id.0)
            .fetch_optional(&mut *self.tx)
            .await?
            .as_ref()
            .map(subject_row)
            .transpose()
    }

    async fn subject_by_key(
        &mut self,
        tenant: TenantId,
        key: &SubjectKey,
    ) -> Result<Option<Subject>> {
        sqlx::query("SELECT * FROM subjects WHERE tenant_id = $1 AND key = $2")
            .bind(tenant.0)
            .bind(key.as_str())
            .fetch_optional(&mut *self.tx)
            .await?
            .as_ref()
            .map(subject_row)
            .transpose()
    }

    async fn subjects(&mut self, tenant: TenantId, f: &SubjectFilter) -> Result<Vec<Subject>> {
        sqlx::query(
            "SELECT * FROM subjects WHERE tenant_id = $1 \
             AND ($2 IS NULL OR kind = $2) \
             AND ($3 OR state IN ('active', 'offboarding')) \
             AND ($4 IS NULL OR parent_id = $4) \
             ORDER BY kind, key LIMIT $5 OFFSET $6",
        )
        .bind(tenant.0)
        .bind(f.kind.map(SubjectKind::as_str))
        .bind(f.include_offboarded)
        .bind(f.parent.map(|p| p.0))
        .bind(f.limit)
        .bind(f.offset)
        .fetch_all(&mut *self.tx)
        .await?
        .iter()
        .map(subject_row)
        .collect()
    }

    async fn insert_record(&mut self, tenant: TenantId, r: &Record, at: Timestamp) -> Result<()> {
        sqlx::query(
            "INSERT INTO records (tenant_id, id, subject_id, number, kind, fields, created_at_us) \
             VALUES ($1, $2, $3, $7, $4, $5, $6)",
        )
        .bind(tenant.0)
        .bind(r.id.0)
        .bind(r.subject_id.0)
        .bind(r.kind.as_str())
        .bind(to_json(&r.fields))
        .bind(us(at))
        .bind(r.number)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn update_record(&mut self, tenant: TenantId, r: &Record) -> Result<()> {
        sqlx::query("UPDATE records SET fields = $3 WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.0)
            .bind(r.id.0)
            .bind(to_json(&r.fields))
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    async fn records(&mut self, tenant: TenantId, subject: SubjectId) -> Result<Vec<Record>> {
        sqlx::query(
            "SELECT id, subject_id, number, kind, fields FROM records WHERE tenant_id = $1 AND subject_id = $2 \
             ORDER BY number",
        )
        .bind(tenant.0)
        .bind(subject.0)
        .fetch_all(&mut *self.tx)
        .await?
        .iter()
        .map(record_row)
        .collect()
    }

    async fn insert_blueprint(
        &mut self,
        tenant: TenantId,
        b: &StoredBlueprint,
        at: Timestamp,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO blueprints (tenant_id, id, version, source, digest, created_at_us) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(tenant.0)
        .bind(b.id.as_str())
        .bind(i64::from(b.version))
        .bind(&b.source)
        .bind(b.digest.to_vec())
        .bind(us(at))
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn blueprint(
        &mut self,
        tenant: TenantId,
        id: &Slug,
        version: Option<u32>,
    ) -> Result<Option<StoredBlueprint>> {
        sqlx::query(
            "SELECT id, version, source, digest FROM blueprints WHERE tenant_id = $1 AND id = $2 \
             AND ($3 IS NULL OR version = $3) ORDER BY version DESC LIMIT 1",
        )
        .bind(tenant.0)
        .bind(id.as_str())
        .bind(version.map(i64::from))
        .fetch_optional(&mut *self.tx)
        .await?
        .as_ref()
        .map(blueprint_row)
        .transpose()
    }

    async fn blueprints(&mut self, tenant: TenantId) -> Result<Vec<StoredBlueprint>> {
        sqlx::query(
            "SELECT b.id, b.version, b.source, b.digest FROM blueprints b WHERE b.tenant_id = $1 \
             AND b.version = (SELECT MAX(v.version) FROM blueprints v WHERE v.tenant_id = b.tenant_id AND v.id = b.id) \
             ORDER BY b.id",
        )
        .bind(tenant.0)
        .fetch_all(&mut *self.tx)
        .await?
        .iter()
        .map(blueprint_row)
        .collect()
    }

    async fn next_case_number(&mut self, tenant: TenantId) -> Result<i64> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COALESCE(MAX(number), 0) + 1 FROM cases WHERE tenant_id = $1",
        )
        .bind(tenant.0)
        .fetch_one(&mut *self.tx)
        .await?;
        Ok(n)
    }

    async fn insert_case(&mut self, file: &CaseFile) -> Result<()> {
        let c = &file.case;
        sqlx::query(
            "INSERT INTO cases (tenant_id, id, number, subject_id, blueprint_id, blueprint_version, parent_id, \
             owner_id, exit_date, status, resolution, confirmation_word, stages, opened_at_us, closed_at_us, \
             closed_by, close_reason) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
        )
        .bind(c.tenant_id.0)
        .bind(c.id.0)
        .bind(c.number)
        .bind(c.subject_id.0)
        .bind(c.blueprint_id.as_str())
        .bind(i64::from(c.blueprint_version))
        .bind(c.parent_id.map(|p| p.0))
        .bind(c.owner_id.0)
        .bind(c.exit_date.to_string())
        .bind(c.status.as_str())
        .bind(c.resolution.map(Resolution::as_str))
        .bind(&c.confirmation_word)
        .bind(to_json(&c.stages))
        .bind(us(c.opened_at))
        .bind(c.closed_at.map(us))
        .bind(c.closed_by.map(|u| u.0))
        .bind(c.close_reason.as_deref())
        .execute(&mut *self.tx)
        .await?;
        for t in &file.tasks {
            self.insert_task(c.tenant_id, t).await?;
        }
        for f in &file.findings {
            crate::Tx::upsert_finding(self, c.tenant_id, f).await?;
        }
        Ok(())
    }

    async fn update_case(&mut self, c: &Case) -> Result<()> {
        sqlx::query(
            "UPDATE cases SET status = $3, resolution = $4, closed_at_us = $5, closed_by = $6, close_reason = $7, \
             owner_id = $8 WHERE tenant_id = $1 AND id = $2",
        )
        .bind(c.tenant_id.0)
        .bind(c.id.0)
        .bind(c.status.as_str())
        .bind(c.resolution.map(Resolution::as_str))
        .bind(c.closed_at.map(us))
        .bind(c.closed_by.map(|u| u.0))
        .bind(c.close_reason.as_deref())
        .bind(c.owner_id.0)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn update_task(&mut self, tenant: TenantId, t: &Task) -> Result<()> {
        sqlx::query(
            "UPDATE tasks SET assignee = $4, status = $5, closed_at_us = $6, closed_by = $7, note = $8, \
             waive_reason = $9 WHERE tenant_id = $1 AND case_id = $2 AND id = $3",
        )
        .bind(tenant.0)
        .bind(t.case_id.0)
        .bind(t.id.as_str())
        .bind(t.assignee.map(|u| u.0))
        .bind(t.status.as_str())
        .bind(t.closed_at.map(us))
        .bind(t.closed_by.map(|u| u.0))
        .bind(t.note.as_deref())
        .bind(t.waive_reason.as_deref())
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn upsert_finding(&mut self, tenant: TenantId, f: &CaseFinding) -> Result<()> {
        sqlx::query(
            "INSERT INTO findings (tenant_id, case_id, check_id, stage, severity, message, status, waived_by, waive_reason) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (tenant_id, case_id, check_id) DO UPDATE SET status = excluded.status, \
             waived_by = excluded.waived_by, waive_reason = excluded.waive_reason, message = excluded.message",
        )
        .bind(tenant.0)
        .bind(f.case_id.0)
        .bind(f.finding.check_id.as_str())
        .bind(f.finding.stage.as_str())
        .bind(f.finding.severity.as_str())
        .bind(&f.finding.message)
        .bind(f.status.as_str())
        .bind(f.waived_by.map(|u| u.0))
        .bind(f.waive_reason.as_deref())
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn case_file(&mut self, tenant: TenantId, number: i64) -> Result<Option<CaseFile>> {
        let lock = if self.locking { FOR_UPDATE } else { "" };
        let sql = format!(
            "SELECT {CASE_COLUMNS} FROM cases c WHERE c.tenant_id = $1 AND c.number = $2{lock}"
        );
        let Some(row) = sqlx::query(AssertSqlSafe(sql))
            .bind(tenant.0)
            .bind(number)
            .fetch_optional(&mut *self.tx)
            .await?
        else {
            return Ok(None);
        };
        let case = case_row(&row)?;
        let tasks = sqlx::query(AssertSqlSafe(format!(
            "SELECT {TASK_COLUMNS} FROM tasks t WHERE t.tenant_id = $1 AND t.case_id = $2 ORDER BY t.position"
        )))
        .bind(tenant.0)
        .bind(case.id.0)
        .fetch_all(&mut *self.tx)
        .await?
        .iter()
        .map(task_row)
        .collect::<Result<Vec<_>>>()?;
        let findings = sqlx::query(
            "SELECT * FROM findings WHERE tenant_id = $1 AND case_id = $2 ORDER BY check_id",
        )
        .bind(tenant.0)
        .bind(case.id.0)
        .fetch_all(&mut *self.tx)
        .await?
        .iter()
        .map(finding_row)
        .collect::<Result<Vec<_>>>()?;
        Ok(Some(CaseFile {
            case,
            tasks,
            findings,
        }))
    }

    async fn cases(&mut self, tenant: TenantId, f: &CaseFilter) -> Result<Vec<CaseSummary>> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {CASE_COLUMNS}, s.key AS subject_key, s.name AS subject_name, s.kind AS subject_kind, \
             (SELECT COUNT(*) FROM tasks t WHERE t.tenant_id = c.tenant_id AND t.case_id = c.id) AS tasks_total, \
             (SELECT COUNT(*) FROM tasks t WHERE t.tenant_id = c.tenant_id AND t.case_id = c.id AND t.status <> 'open') AS tasks_closed \
             FROM cases c JOIN subjects s ON s.tenant_id = c.tenant_id AND s.id = c.subject_id \
             WHERE c.tenant_id = $1 AND ($2 IS NULL OR c.status = $2) AND ($3 IS NULL OR c.subject_id = $3) \
             AND ($4 IS NULL OR c.parent_id = $4) \
             ORDER BY c.number DESC LIMIT $5 OFFSET $6"
        )))
        .bind(tenant.0)
        .bind(f.status.map(CaseStatus::as_str))
        .bind(f.subject.map(|s| s.0))
        .bind(f.parent.map(|p| p.0))
        .bind(f.limit)
        .bind(f.offset)
        .fetch_all(&mut *self.tx)
        .await?;
        rows.iter()
            .map(|r| {
                let c = case_row(r)?;
                Ok(CaseSummary {
                    number: c.number,
                    id: c.id,
                    subject_key: SubjectKey::parse(r.try_get("subject_key")?)
                        .map_err(corrupt("subject key"))?,
                    subject_name: r.try_get("subject_name")?,
                    subject_kind: r
                        .try_get::<&str, _>("subject_kind")?
                        .parse()
                        .map_err(corrupt("subject kind"))?,
                    blueprint_id: c.blueprint_id,
                    blueprint_version: c.blueprint_version,
                    status: c.status,
                    resolution: c.resolution,
                    exit_date: c.exit_date,
                    owner_id: c.owner_id,
                    tasks_total: r.try_get("tasks_total")?,
                    tasks_closed: r.try_get("tasks_closed")?,
                    opened_at: c.opened_at,
                })
            })
            .collect()
    }

    async fn open_case_of(&mut self, tenant: TenantId, subject: SubjectId) -> Result<Option<i64>> {
        Ok(sqlx::query_scalar("SELECT number FROM cases WHERE tenant_id = $1 AND subject_id = $2 AND status <> 'done'")
            .bind(tenant.0)
            .bind(subject.0)
            .fetch_optional(&mut *self.tx)
            .await?)
    }

    async fn open_children(&mut self, tenant: TenantId, parent: CaseId) -> Result<Vec<i64>> {
        Ok(sqlx::query_scalar(
            "SELECT number FROM cases WHERE tenant_id = $1 AND parent_id = $2 AND status <> 'done' ORDER BY number",
        )
        .bind(tenant.0)
        .bind(parent.0)
        .fetch_all(&mut *self.tx)
        .await?)
    }

    async fn tasks(&mut self, tenant: TenantId, f: &TaskFilter) -> Result<Vec<TaskRow>> {
        // Only placeholders are generated here; every value is bound.
        let mut sql = format!(
            "SELECT {TASK_COLUMNS}, c.number AS case_number, s.key AS subject_key FROM tasks t \
             JOIN cases c ON c.tenant_id = t.tenant_id AND c.id = t.case_id \
             JOIN subjects s ON s.tenant_id = c.tenant_id AND s.id = c.subject_id \
             WHERE t.tenant_id = $1 AND ($2 IS NULL OR t.case_id = $2) AND (NOT $3 OR t.status = 'open')"
        );
        let owners: Vec<String> = f
            .mine
            .as_ref()
            .map(|(_, teams)| {
                teams
                    .iter()
                    .map(|t| Owner::Team(t.clone()).encode())
                    .collect()
            })
            .unwrap_or_default();
        if f.mine.is_some() {
            let team_params: Vec<String> =
                (0..owners.len()).map(|i| format!("${}", i + 6)).collect();
            let teams_clause = if team_params.is_empty() {
                String::new()
            } else {
                format!(
                    " OR (t.assignee IS NULL AND t.owner IN ({}))",
                    team_params.join(", ")
                )
            };
            sql.push_str(&format!(" AND (t.assignee = $5{teams_clause})"));
        }
        sql.push_str(" ORDER BY t.due_at_us IS NULL, t.due_at_us, c.number, t.position LIMIT $4");
        let mut q = sqlx::query(AssertSqlSafe(sql))
            .bind(tenant.0)
            .bind(f.case.map(|c| c.0))
            .bind(f.open_only)
            .bind(f.limit);
        if let Some((user, _)) = &f.mine {
            q = q.bind(user.0);
            for o in owners {
                q = q.bind(o);
            }
        }
        q.fetch_all(&mut *self.tx)
            .await?
            .iter()
            .map(|r| {
                Ok(TaskRow {
                    case_number: r.try_get("case_number")?,
                    subject_key: SubjectKey::parse(r.try_get("subject_key")?)
                        .map_err(corrupt("subject key"))?,
                    task: task_row(r)?,
                })
            })
            .collect()
    }

    async fn insert_evidence(&mut self, tenant: TenantId, e: &EvidenceFile) -> Result<()> {
        let m = &e.meta;
        sqlx::query(
            "INSERT INTO evidence (tenant_id, id, case_id, task_id, file_name, size, sha256, content, added_by, added_at_us) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(tenant.0)
        .bind(m.id.0)
        .bind(m.case_id.0)
        .bind(m.task_id.as_str())
        .bind(&m.file_name)
        .bind(m.size)
        .bind(m.sha256.to_vec())
        .bind(&e.content)
        .bind(m.added_by.0)
        .bind(us(m.added_at))
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn evidence(&mut self, tenant: TenantId, case: CaseId) -> Result<Vec<EvidenceMeta>> {
        sqlx::query(
            "SELECT id, case_id, task_id, file_name, size, sha256, added_by, added_at_us FROM evidence \
             WHERE tenant_id = $1 AND case_id = $2 ORDER BY added_at_us, id",
        )
        .bind(tenant.0)
        .bind(case.0)
        .fetch_all(&mut *self.tx)
        .await?
        .iter()
        .map(|r| {
            Ok(EvidenceMeta {
                id: EvidenceId(r.try_get("id")?),
                tenant_id: tenant,
                case_id: CaseId(r.try_get("case_id")?),
                task_id: slug(r.try_get("task_id")?)?,
                file_name: r.try_get("file_name")?,
                size: r.try_get("size")?,
                sha256: hash(r.try_get("sha256")?)?,
                added_by: UserId(r.try_get("added_by")?),
                added_at: from_us(r.try_get("added_at_us")?)?,
            })
        })
        .collect()
    }

    async fn append_audit(
        &mut self,
        tenant: TenantId,
        at: Timestamp,
        draft: AuditDraft,
    ) -> Result<AuditEvent> {
        let head = sqlx::query(AssertSqlSafe(format!(
            "SELECT seq, hash FROM audit_heads WHERE tenant_id = $1{FOR_UPDATE}"
        )))
        .bind(tenant.0)
        .fetch_one(&mut *self.tx)
        .await?;
        let prev = (head.try_get::<i64, _>(0)?, hash(head.try_get(1)?)?);
        let event = AuditEvent::chain(tenant, prev, at, draft);
        sqlx::query(
            "INSERT INTO audit_events (tenant_id, seq, at_us, actor, action, target_kind, target_id, payload, payload_digest, hash) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(tenant.0)
        .bind(event.seq)
        .bind(event.at_us)
        .bind(&event.actor)
        .bind(&event.action)
        .bind(&event.target_kind)
        .bind(&event.target_id)
        .bind(event.payload.as_deref())
        .bind(event.payload_digest.to_vec())
        .bind(event.hash.to_vec())
        .execute(&mut *self.tx)
        .await?;
        sqlx::query("UPDATE audit_heads SET seq = $2, hash = $3 WHERE tenant_id = $1")
            .bind(tenant.0)
            .bind(event.seq)
            .bind(event.hash.to_vec())
            .execute(&mut *self.tx)
            .await?;
        Ok(event)
    }

    async fn import_audit_events(&mut self, tenant: TenantId, events: &[AuditEvent]) -> Result<()> {
        /// Rows per INSERT. SQLite resolves each bind by scanning the statement's parameters,
        /// so one huge statement costs quadratic time; 100 rows (1,000 binds) avoids that.
        const ROWS: usize = 100;
        let (Some(first), Some(last)) = (events.first(), events.last()) else {
            return Ok(());
        };
        let head = sqlx::query(AssertSqlSafe(format!(
            "SELECT seq, hash FROM audit_heads WHERE tenant_id = $1{FOR_UPDATE}"
        )))
        .bind(tenant.0)
        .fetch_one(&mut *self.tx)
        .await?;
        let head_seq: i64 = head.try_get(0)?;
        if first.seq != head_seq + 1 {
            return Err(StoreError::Refused(format!(
                "imported events start at {}, but the chain continues at {}",
                first.seq,
                head_seq + 1
            )));
        }
        for chunk in events.chunks(ROWS) {
            // Only placeholders are generated; every value is bound.
            let rows: Vec<String> = (0..chunk.len())
                .map(|r| {
                    let p: Vec<String> = (1..=10).map(|c| format!("${}", r * 10 + c)).collect();
                    format!("({})", p.join(", "))
                })
                .collect();
            let sql = format!(
                "INSERT INTO audit_events (tenant_id, seq, at_us, actor, action, target_kind, target_id, payload, payload_digest, hash) VALUES {}",
                rows.join(", ")
            );
            let mut q = sqlx::query(AssertSqlSafe(sql));
            for e in chunk {
                q = q
                    .bind(tenant.0)
                    .bind(e.seq)
                    .bind(e.at_us)
                    .bind(&e.actor)
                    .bind(&e.action)
                    .bind(&e.target_kind)
                    .bind(&e.target_id)
                    .bind(e.payload.as_deref())
                    .bind(e.payload_digest.to_vec())
                    .bind(e.hash.to_vec());
            }
            q.execute(&mut *self.tx).await?;
        }
        sqlx::query("UPDATE audit_heads SET seq = $2, hash = $3 WHERE tenant_id = $1")
            .bind(tenant.0)
            .bind(last.seq)
            .bind(last.hash.to_vec())
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    async fn audit_head(&mut self, tenant: TenantId) -> Result<Option<(i64, Hash)>> {
        sqlx::query("SELECT seq, hash FROM audit_heads WHERE tenant_id = $1")
            .bind(tenant.0)
            .fetch_optional(&mut *self.tx)
            .await?
            .map(|r| Ok((r.try_get::<i64, _>(0)?, hash(r.try_get(1)?)?)))
            .transpose()
    }

    async fn audit_events(&mut self, tenant: TenantId, f: &AuditFilter) -> Result<Vec<AuditEvent>> {
        sqlx::query(
            "SELECT seq, at_us, actor, action, target_kind, target_id, payload, payload_digest, hash \
             FROM audit_events WHERE tenant_id = $1 AND seq > $2 \
             AND ($4 IS NULL OR action = $4) AND ($5 IS NULL OR actor = $5) \
             AND ($6 IS NULL OR target_kind = $6) AND ($7 IS NULL OR target_id = $7) \
             AND ($8 IS NULL OR at_us >= $8) AND ($9 IS NULL OR at_us < $9) \
             ORDER BY seq LIMIT $3",
        )
        .bind(tenant.0)
        .bind(f.after_seq)
        .bind(f.limit)
        .bind(f.action.as_deref())
        .bind(f.actor.as_deref())
        .bind(f.target_kind.as_deref())
        .bind(f.target_id.as_deref())
        .bind(f.from.map(us))
        .bind(f.to.map(us))
        .fetch_all(&mut *self.tx)
        .await?
        .iter()
        .map(|r| audit_row(tenant, r))
        .collect()
    }
}
