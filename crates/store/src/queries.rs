//! The SQL of every [`Tx`](crate::Tx) method, written once against [`Conn`]: both backends run
//! these statements. Placeholders are numbered (`$1`), which both accept.

use std::sync::Arc;

use engine::audit::{AuditDraft, AuditEvent, Hash};
use engine::blueprint::{Owner, Severity, TaskKind};
use engine::case::{
    Case, CaseFile, CaseFinding, CaseStatus, FindingStatus, Resolution, Task, TaskStatus,
};
use engine::connector::ConnectorKind;
use engine::export::{Acknowledgement, AcknowledgementWaiver, ExportStatus};
use engine::governance::{HoldLift, LegalHold, Retention, RetentionPolicy};
use engine::ids::{
    BlobId, CaseId, Email, EvidenceId, ExportId, HoldId, JobId, NotificationId, RecordId,
    SessionId, Slug, SubjectId, SubjectKey, TenantId, Text, TokenId, UserId, ZoneName,
};
use engine::job::JobStatus;
use engine::plan::Finding;
use engine::revocation::{Revocation, RevocationStatus};
use engine::subject::{Attributes, Record, RecordFields, Subject, SubjectKind, SubjectState};
use engine::tenant::{ApiToken, Role, Session, Team, Tenant, User};
use jiff::Timestamp;
use jiff::civil::Date;
use uuid::Uuid;

use crate::model::{
    AuditFilter, BlobMeta, CaseActivity, CaseFilter, CaseSummary, CertificateRow, Concern,
    ConnectorRow, EvidenceMeta, Export, IdempotencyClaim, Job, JobEnd, JobFilter, JobSettle,
    KeyClaim, Notification, PurgeCandidate, RecordFile, SigningKeyRow, StoredBlueprint,
    SubjectFilter, SubscriptionRow, TaskFilter, TaskRow, Tombstone,
};
use crate::plans::{self, TaskPlans, TaskProgress};
use crate::sql::{Arg, Conn, Row, args};
use crate::{Result, StoreError};

/// A transaction on either backend.
pub struct SqlTx<C> {
    conn: C,
    /// The store's plans of the cases read last, shared by all its transactions.
    plans: Arc<TaskPlans>,
}

impl<C: Conn> SqlTx<C> {
    pub(crate) fn new(conn: C, plans: Arc<TaskPlans>) -> Self {
        Self { conn, plans }
    }

    async fn run(&mut self, sql: &str, args: &[Arg<'_>]) -> Result<u64> {
        self.conn.execute(sql, args).await
    }

    async fn all<T: Send>(
        &mut self,
        sql: &str,
        args: &[Arg<'_>],
        map: impl for<'r> FnMut(&C::Row<'r>) -> Result<T> + Send,
    ) -> Result<Vec<T>> {
        self.conn.fetch(sql, args, map).await
    }

    async fn optional<T: Send>(
        &mut self,
        sql: &str,
        args: &[Arg<'_>],
        map: impl for<'r> FnMut(&C::Row<'r>) -> Result<T> + Send,
    ) -> Result<Option<T>> {
        Ok(self.conn.fetch(sql, args, map).await?.into_iter().next())
    }

    async fn one<T: Send>(
        &mut self,
        sql: &str,
        args: &[Arg<'_>],
        map: impl for<'r> FnMut(&C::Row<'r>) -> Result<T> + Send,
    ) -> Result<T> {
        self.optional(sql, args, map)
            .await?
            .ok_or_else(|| StoreError::Corrupt(format!("no row for: {sql}")))
    }
}

fn us(t: Timestamp) -> i64 {
    t.as_microsecond()
}

fn from_us(v: i64) -> Result<Timestamp> {
    Timestamp::from_microsecond(v).map_err(|e| StoreError::Corrupt(format!("timestamp {v}: {e}")))
}

fn opt_from_us(v: Option<i64>) -> Result<Option<Timestamp>> {
    v.map(from_us).transpose()
}

fn corrupt<E: std::fmt::Display>(what: &str) -> impl FnOnce(E) -> StoreError + '_ {
    move |e| StoreError::Corrupt(format!("{what}: {e}"))
}

fn hash(bytes: &[u8]) -> Result<Hash> {
    bytes
        .try_into()
        .map_err(|_| StoreError::Corrupt(format!("a hash of {} bytes", bytes.len())))
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

fn role(s: &str) -> Result<Role> {
    s.parse::<Role>().map_err(corrupt("role"))
}

fn tenant_row(r: &impl Row) -> Result<Tenant> {
    Ok(Tenant {
        id: TenantId(r.uuid("id")?),
        slug: slug(r.text("slug")?)?,
        name: Text::line(r.text("name")?, 200).map_err(corrupt("tenant name"))?,
        // As for a person's zone: one the database no longer knows is read as UTC.
        time_zone: ZoneName::parse(r.text("time_zone")?).unwrap_or_else(|_| ZoneName::utc()),
    })
}

const TOKEN_COLUMNS: &str = "id, tenant_id, user_id, name, role, created_at_us, revoked_at_us";

fn token_row(r: &impl Row) -> Result<ApiToken> {
    Ok(ApiToken {
        id: TokenId(r.uuid("id")?),
        tenant_id: TenantId(r.uuid("tenant_id")?),
        user_id: UserId(r.uuid("user_id")?),
        name: Text::line(r.text("name")?, 200).map_err(corrupt("token name"))?,
        role: role(r.text("role")?)?,
        created_at: from_us(r.int("created_at_us")?)?,
        revoked_at: opt_from_us(r.opt_int("revoked_at_us")?)?,
    })
}

fn session_row(r: &impl Row) -> Result<Session> {
    Ok(Session {
        id: SessionId(r.uuid("id")?),
        tenant_id: TenantId(r.uuid("tenant_id")?),
        user_id: UserId(r.uuid("user_id")?),
        csrf_token: r.text("csrf_token")?.to_owned(),
        created_at: from_us(r.int("created_at_us")?)?,
        expires_at: from_us(r.int("expires_at_us")?)?,
        revoked_at: opt_from_us(r.opt_int("revoked_at_us")?)?,
    })
}

fn user_row(r: &impl Row) -> Result<User> {
    Ok(User {
        tenant_id: TenantId(r.uuid("tenant_id")?),
        id: UserId(r.uuid("id")?),
        email: Email::parse(r.text("email")?).map_err(corrupt("email"))?,
        name: Text::line(r.text("name")?, 200).map_err(corrupt("user name"))?,
        role: role(r.text("role")?)?,
        // A zone the bundled database no longer knows (or a hand edit) leaves its person in
        // UTC rather than making every read of the tenant's people fail.
        time_zone: ZoneName::parse(r.text("time_zone")?).unwrap_or_else(|_| ZoneName::utc()),
    })
}

fn subject_row(r: &impl Row) -> Result<Subject> {
    Ok(Subject {
        tenant_id: TenantId(r.uuid("tenant_id")?),
        id: SubjectId(r.uuid("id")?),
        key: SubjectKey::parse(r.text("key")?).map_err(corrupt("subject key"))?,
        kind: r.text("kind")?.parse().map_err(corrupt("subject kind"))?,
        name: Text::line(r.text("name")?, Subject::NAME_MAX).map_err(corrupt("subject name"))?,
        parent_id: r.opt_uuid("parent_id")?.map(SubjectId),
        state: SubjectState::parse(r.text("state")?)
            .ok_or_else(|| StoreError::Corrupt("subject state".into()))?,
        attributes: json::<Attributes>(r.text("attributes")?, "attributes")?,
    })
}

fn record_row(r: &impl Row) -> Result<Record> {
    Ok(Record {
        id: RecordId(r.uuid("id")?),
        subject_id: SubjectId(r.uuid("subject_id")?),
        number: r.int("number")?,
        kind: r.text("kind")?.parse().map_err(corrupt("record kind"))?,
        fields: json::<RecordFields>(r.text("fields")?, "record fields")?,
    })
}

/// A revocation item from an account or integration record and its stored progress, if any.
fn revocation_row(r: &impl Row) -> Result<Revocation> {
    let record = record_row(r)?;
    let mut item = Revocation::pending(&record).map_err(corrupt("revocation item"))?;
    let Some(status) = r.opt_text("status")? else {
        return Ok(item);
    };
    item.status = RevocationStatus::parse(status)
        .ok_or_else(|| StoreError::Corrupt(format!("revocation status `{status}`")))?;
    item.note = r.opt_text("note")?.map(str::to_owned);
    item.revoked_at = r.opt_int("revoked_at_us")?.map(from_us).transpose()?;
    item.verified_at = r.opt_int("verified_at_us")?.map(from_us).transpose()?;
    item.changed_by = r.opt_uuid("changed_by")?.map(UserId);
    item.changed_at = r.opt_int("changed_at_us")?.map(from_us).transpose()?;
    item.evidence = r
        .opt_text("evidence")?
        .map(|e| json(e, "revocation evidence"))
        .transpose()?;
    Ok(item)
}

fn subscription_row(r: &impl Row) -> Result<SubscriptionRow> {
    Ok(SubscriptionRow {
        tenant_id: TenantId(r.uuid("tenant_id")?),
        name: slug(r.text("name")?)?,
        settings: r.text("settings")?.to_owned(),
        sealed_secret: r.bytes("sealed_secret")?.to_vec(),
        cursor_seq: r.int("cursor_seq")?,
        last_error: r.opt_text("last_error")?.map(str::to_owned),
        updated_by: UserId(r.uuid("updated_by")?),
        updated_at: from_us(r.int("updated_at_us")?)?,
    })
}

fn connector_row(r: &impl Row) -> Result<ConnectorRow> {
    let kind = r.text("kind")?;
    Ok(ConnectorRow {
        tenant_id: TenantId(r.uuid("tenant_id")?),
        name: slug(r.text("name")?)?,
        kind: ConnectorKind::parse(kind)
            .ok_or_else(|| StoreError::Corrupt(format!("connector kind `{kind}`")))?,
        settings: r.text("settings")?.to_owned(),
        sealed_secret: r.bytes("sealed_secret")?.to_vec(),
        updated_by: UserId(r.uuid("updated_by")?),
        updated_at: from_us(r.int("updated_at_us")?)?,
    })
}

fn signing_key_row(r: &impl Row) -> Result<SigningKeyRow> {
    Ok(SigningKeyRow {
        tenant_id: TenantId(r.uuid("tenant_id")?),
        kid: r.text("kid")?.to_owned(),
        public_key: hash(r.bytes("public_key")?)?,
        sealed_private_key: r.bytes("sealed_private_key")?.to_vec(),
        created_at: from_us(r.int("created_at_us")?)?,
    })
}

fn certificate_row(r: &impl Row) -> Result<CertificateRow> {
    Ok(CertificateRow {
        case_id: CaseId(r.uuid("case_id")?),
        kid: r.text("kid")?.to_owned(),
        token: r.text("token")?.to_owned(),
        issued_at: from_us(r.int("issued_at_us")?)?,
    })
}

const EVIDENCE_COLUMNS: &str =
    "id, blob_id, case_id, task_id, file_name, size, sha256, added_by, added_at_us, tenant_id";

fn evidence_row(r: &impl Row) -> Result<EvidenceMeta> {
    Ok(EvidenceMeta {
        id: EvidenceId(r.uuid("id")?),
        blob_id: r.opt_uuid("blob_id")?.map(BlobId),
        case_id: CaseId(r.uuid("case_id")?),
        task_id: slug(r.text("task_id")?)?,
        file_name: r.text("file_name")?.to_owned(),
        size: r.int("size")?,
        sha256: hash(r.bytes("sha256")?)?,
        added_by: UserId(r.uuid("added_by")?),
        added_at: from_us(r.int("added_at_us")?)?,
        tenant_id: TenantId(r.uuid("tenant_id")?),
    })
}

const BLOB_COLUMNS: &str = "b.id, b.subject_id, b.size, b.sha256, b.chunks, b.created_at_us";

fn blob_row(r: &impl Row) -> Result<BlobMeta> {
    Ok(BlobMeta {
        id: BlobId(r.uuid("id")?),
        subject_id: SubjectId(r.uuid("subject_id")?),
        size: r.int("size")?,
        sha256: hash(r.bytes("sha256")?)?,
        chunks: r.int("chunks")?,
        created_at: from_us(r.int("created_at_us")?)?,
    })
}

const EXPORT_SELECT: &str = "SELECT e.tenant_id AS export_tenant, e.id AS export_id, e.case_id, \
    e.subject_id AS export_subject, e.status, e.failure, e.payload_files, e.payload_bytes, \
    e.receipt, e.attempts, e.requested_by, e.requested_at_us, e.started_at_us, e.finished_at_us, \
    e.acknowledged_at_us, e.acknowledged_name, e.acknowledged_from, \
    e.acknowledgement_waived_by, e.acknowledgement_waiver, \
    c.number AS case_number, b.id, b.subject_id, b.size, b.sha256, b.chunks, b.created_at_us \
    FROM exports e JOIN cases c ON c.tenant_id = e.tenant_id AND c.id = e.case_id \
    LEFT JOIN blobs b ON b.tenant_id = e.tenant_id AND b.id = e.blob_id";

fn export_row(r: &impl Row) -> Result<Export> {
    let status = r.text("status")?;
    Ok(Export {
        tenant_id: TenantId(r.uuid("export_tenant")?),
        id: ExportId(r.uuid("export_id")?),
        case_id: CaseId(r.uuid("case_id")?),
        subject_id: SubjectId(r.uuid("export_subject")?),
        case_number: r.int("case_number")?,
        status: ExportStatus::parse(status)
            .ok_or_else(|| StoreError::Corrupt(format!("export status `{status}`")))?,
        failure: r.opt_text("failure")?.map(str::to_owned),
        payload_files: r.opt_int("payload_files")?,
        payload_bytes: r.opt_int("payload_bytes")?,
        receipt: r.opt_text("receipt")?.map(str::to_owned),
        attempts: r.int("attempts")?,
        requested_by: UserId(r.uuid("requested_by")?),
        requested_at: from_us(r.int("requested_at_us")?)?,
        started_at: r.opt_int("started_at_us")?.map(from_us).transpose()?,
        finished_at: r.opt_int("finished_at_us")?.map(from_us).transpose()?,
        acknowledged: match (
            r.opt_int("acknowledged_at_us")?,
            r.opt_text("acknowledged_name")?,
            r.opt_text("acknowledged_from")?,
        ) {
            (Some(at), Some(name), Some(from)) => Some(Acknowledgement {
                at: from_us(at)?,
                name: name.to_owned(),
                from: from.to_owned(),
            }),
            _ => None,
        },
        acknowledgement_waived: match (
            r.opt_uuid("acknowledgement_waived_by")?,
            r.opt_text("acknowledgement_waiver")?,
        ) {
            (Some(by), Some(reason)) => Some(AcknowledgementWaiver {
                by: UserId(by),
                reason: reason.to_owned(),
            }),
            _ => None,
        },
        blob: match r.opt_uuid("id")? {
            Some(_) => Some(blob_row(r)?),
            None => None,
        },
    })
}

fn blueprint_row(r: &impl Row) -> Result<StoredBlueprint> {
    Ok(StoredBlueprint {
        id: slug(r.text("id")?)?,
        version: u32::try_from(r.int("version")?).map_err(corrupt("version"))?,
        source: r.text("source")?.to_owned(),
        digest: hash(r.bytes("digest")?)?,
    })
}

const CASE_COLUMNS: &str = "c.tenant_id, c.id, c.number, c.subject_id, c.blueprint_id, \
    c.blueprint_version, c.parent_id, c.owner_id, c.exit_date, c.status, c.resolution, \
    c.confirmation_word, c.stages, c.opened_at_us, c.closed_at_us, c.closed_by, c.close_reason, \
    c.frozen_at_us";

fn case_row(r: &impl Row) -> Result<Case> {
    Ok(Case {
        tenant_id: TenantId(r.uuid("tenant_id")?),
        id: CaseId(r.uuid("id")?),
        number: r.int("number")?,
        subject_id: SubjectId(r.uuid("subject_id")?),
        blueprint_id: slug(r.text("blueprint_id")?)?,
        blueprint_version: u32::try_from(r.int("blueprint_version")?)
            .map_err(corrupt("version"))?,
        parent_id: r.opt_uuid("parent_id")?.map(CaseId),
        owner_id: UserId(r.uuid("owner_id")?),
        exit_date: r
            .text("exit_date")?
            .parse::<Date>()
            .map_err(corrupt("exit date"))?,
        status: CaseStatus::parse(r.text("status")?)
            .ok_or_else(|| StoreError::Corrupt("case status".into()))?,
        resolution: r
            .opt_text("resolution")?
            .map(|s| Resolution::parse(s).ok_or_else(|| StoreError::Corrupt("resolution".into())))
            .transpose()?,
        confirmation_word: r.text("confirmation_word")?.to_owned(),
        stages: json(r.text("stages")?, "stages")?,
        opened_at: from_us(r.int("opened_at_us")?)?,
        closed_at: opt_from_us(r.opt_int("closed_at_us")?)?,
        closed_by: r.opt_uuid("closed_by")?.map(UserId),
        close_reason: r.opt_text("close_reason")?.map(str::to_owned),
        frozen_at: opt_from_us(r.opt_int("frozen_at_us")?)?,
    })
}

const TASK_COLUMNS: &str = "t.case_id, t.id, t.stage, t.position, t.title, t.description, \
    t.kind, t.action, t.checklist, t.owner, t.owner_label, t.assignee, t.depends_on, t.due_at_us, \
    t.evidence_required, t.status, t.closed_at_us, t.closed_by, t.note, t.waive_reason";

fn task_row(r: &impl Row) -> Result<Task> {
    Ok(Task {
        case_id: CaseId(r.uuid("case_id")?),
        id: slug(r.text("id")?)?,
        stage: slug(r.text("stage")?)?,
        position: r.int("position")?,
        title: r.text("title")?.to_owned(),
        description: r.text("description")?.to_owned(),
        kind: TaskKind::parse(r.text("kind")?)
            .ok_or_else(|| StoreError::Corrupt("task kind".into()))?,
        action: r.opt_text("action")?.map(str::to_owned),
        checklist: json(r.text("checklist")?, "checklist")?,
        owner: Owner::decode(r.text("owner")?)
            .ok_or_else(|| StoreError::Corrupt("task owner".into()))?,
        owner_label: r.text("owner_label")?.to_owned(),
        assignee: r.opt_uuid("assignee")?.map(UserId),
        depends_on: json(r.text("depends_on")?, "depends_on")?,
        due_at: opt_from_us(r.opt_int("due_at_us")?)?,
        evidence_required: r.bool("evidence_required")?,
        status: TaskStatus::parse(r.text("status")?)
            .ok_or_else(|| StoreError::Corrupt("task status".into()))?,
        closed_at: opt_from_us(r.opt_int("closed_at_us")?)?,
        closed_by: r.opt_uuid("closed_by")?.map(UserId),
        note: r.opt_text("note")?.map(str::to_owned),
        waive_reason: r.opt_text("waive_reason")?.map(str::to_owned),
    })
}

fn progress_row(r: &impl Row) -> Result<TaskProgress> {
    Ok(TaskProgress {
        id: r.text("id")?.to_owned(),
        owner_label: r.text("owner_label")?.to_owned(),
        assignee: r.opt_uuid("assignee")?.map(UserId),
        status: TaskStatus::parse(r.text("status")?)
            .ok_or_else(|| StoreError::Corrupt("task status".into()))?,
        closed_at: opt_from_us(r.opt_int("closed_at_us")?)?,
        closed_by: r.opt_uuid("closed_by")?.map(UserId),
        note: r.opt_text("note")?.map(str::to_owned),
        waive_reason: r.opt_text("waive_reason")?.map(str::to_owned),
    })
}

fn finding_row(r: &impl Row) -> Result<CaseFinding> {
    Ok(CaseFinding {
        case_id: CaseId(r.uuid("case_id")?),
        finding: Finding {
            check_id: slug(r.text("check_id")?)?,
            stage: slug(r.text("stage")?)?,
            severity: Severity::parse(r.text("severity")?)
                .ok_or_else(|| StoreError::Corrupt("severity".into()))?,
            message: r.text("message")?.to_owned(),
        },
        status: FindingStatus::parse(r.text("status")?)
            .ok_or_else(|| StoreError::Corrupt("finding status".into()))?,
        waived_by: r.opt_uuid("waived_by")?.map(UserId),
        waive_reason: r.opt_text("waive_reason")?.map(str::to_owned),
    })
}

/// A hold with its subject's key: `h` is the hold, `s` its subject (none for the tenant).
const HOLD_SELECT: &str = "SELECT h.tenant_id, h.id, h.subject_id, s.key AS subject_key, \
    h.reason, h.placed_by, h.placed_at_us, h.lifted_by, h.lifted_at_us, h.lift_reason \
    FROM legal_holds h LEFT JOIN subjects s ON s.tenant_id = h.tenant_id AND s.id = h.subject_id";

fn hold_row(r: &impl Row) -> Result<LegalHold> {
    let lifted = match (
        r.opt_uuid("lifted_by")?,
        r.opt_int("lifted_at_us")?,
        r.opt_text("lift_reason")?,
    ) {
        (Some(by), Some(at), Some(reason)) => Some(HoldLift {
            by: UserId(by),
            at: from_us(at)?,
            reason: reason.to_owned(),
        }),
        (None, None, None) => None,
        _ => return Err(StoreError::Corrupt("a hold lifted in part".into())),
    };
    Ok(LegalHold {
        id: HoldId(r.uuid("id")?),
        tenant_id: TenantId(r.uuid("tenant_id")?),
        subject_id: r.opt_uuid("subject_id")?.map(SubjectId),
        subject_key: r
            .opt_text("subject_key")?
            .map(|k| SubjectKey::parse(k).map_err(corrupt("subject key")))
            .transpose()?,
        reason: r.text("reason")?.to_owned(),
        placed_by: UserId(r.uuid("placed_by")?),
        placed_at: from_us(r.int("placed_at_us")?)?,
        lifted,
    })
}

/// The key of a tenant's default retention policy, which applies to every kind without one.
const ANY_KIND: &str = "*";

fn retention_row(r: &impl Row) -> Result<RetentionPolicy> {
    Ok(RetentionPolicy {
        kind: match r.text("subject_kind")? {
            ANY_KIND => None,
            kind => Some(kind.parse().map_err(corrupt("subject kind"))?),
        },
        period: Retention::parse(r.text("period")?).map_err(corrupt("retention"))?,
        set_by: UserId(r.uuid("set_by")?),
        set_at: from_us(r.int("set_at_us")?)?,
    })
}

const AUDIT_COLUMNS: &str =
    "seq, at_us, actor, action, target_kind, target_id, payload, payload_digest, hash";

/// An event from a row of `AUDIT_COLUMNS`, read by position: verifying a chain reads millions.
fn audit_row(tenant: TenantId, r: &impl Row) -> Result<AuditEvent> {
    Ok(AuditEvent {
        tenant_id: tenant,
        seq: r.int(0)?,
        at_us: r.int(1)?,
        actor: r.text(2)?.to_owned(),
        action: r.text(3)?.to_owned(),
        target_kind: r.text(4)?.to_owned(),
        target_id: r.text(5)?.to_owned(),
        payload: r.opt_text(6)?.map(str::to_owned),
        payload_digest: hash(r.bytes(7)?)?,
        hash: hash(r.bytes(8)?)?,
    })
}

fn head_row(r: &impl Row) -> Result<(i64, Hash)> {
    Ok((r.int("seq")?, hash(r.bytes("hash")?)?))
}

impl<C: Conn> SqlTx<C> {
    async fn insert_task(&mut self, tenant: TenantId, t: &Task) -> Result<()> {
        let checklist = to_json(&t.checklist);
        let owner = t.owner.encode();
        let depends_on = to_json(&t.depends_on);
        self.run(
            "INSERT INTO tasks (tenant_id, case_id, id, stage, position, title, description, kind, \
             action, checklist, owner, owner_label, assignee, depends_on, due_at_us, \
             evidence_required, status, closed_at_us, closed_by, note, waive_reason) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)",
            args![
                tenant.0,
                t.case_id.0,
                t.id.as_str(),
                t.stage.as_str(),
                t.position,
                &t.title,
                &t.description,
                t.kind.as_str(),
                t.action.as_deref(),
                &checklist,
                &owner,
                &t.owner_label,
                t.assignee.map(|u| u.0),
                &depends_on,
                t.due_at.map(us),
                t.evidence_required,
                t.status.as_str(),
                t.closed_at.map(us),
                t.closed_by.map(|u| u.0),
                t.note.as_deref(),
                t.waive_reason.as_deref(),
            ],
        )
        .await?;
        Ok(())
    }

    async fn audit_head_for_update(&mut self, tenant: TenantId) -> Result<(i64, Hash)> {
        let sql = format!(
            "SELECT seq, hash FROM audit_heads WHERE tenant_id = $1{}",
            self.conn.lock_clause()
        );
        self.one(&sql, args![tenant.0], |r| head_row(r)).await
    }

    async fn move_audit_head(&mut self, tenant: TenantId, seq: i64, hash: &Hash) -> Result<()> {
        self.run(
            "UPDATE audit_heads SET seq = $2, hash = $3 WHERE tenant_id = $1",
            args![tenant.0, seq, hash],
        )
        .await?;
        Ok(())
    }
}

impl<C: Conn> crate::Tx for SqlTx<C> {
    async fn commit(self) -> Result<()> {
        self.conn.commit().await
    }

    async fn insert_tenant(&mut self, t: &Tenant, at: Timestamp) -> Result<()> {
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

    async fn tenants(&mut self) -> Result<Vec<Tenant>> {
        self.all(
            "SELECT id, slug, name, time_zone FROM tenants ORDER BY created_at_us, slug",
            args![],
            |r| tenant_row(r),
        )
        .await
    }

    async fn tenant_by_slug(&mut self, s: &Slug) -> Result<Option<Tenant>> {
        self.optional(
            "SELECT id, slug, name, time_zone FROM tenants WHERE slug = $1",
            args![s.as_str()],
            |r| tenant_row(r),
        )
        .await
    }

    async fn tenant(&mut self, id: TenantId) -> Result<Option<Tenant>> {
        self.optional(
            "SELECT id, slug, name, time_zone FROM tenants WHERE id = $1",
            args![id.0],
            |r| tenant_row(r),
        )
        .await
    }

    async fn insert_token(&mut self, t: &ApiToken, secret_sha256: &Hash) -> Result<()> {
        self.run(
            "INSERT INTO api_tokens (tenant_id, id, user_id, name, role, secret_sha256, created_at_us) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            args![
                t.tenant_id.0,
                t.id.0,
                t.user_id.0,
                t.name.as_str(),
                t.role.as_str(),
                secret_sha256,
                us(t.created_at),
            ],
        )
        .await?;
        Ok(())
    }

    async fn token_by_secret(&mut self, secret_sha256: &Hash) -> Result<Option<ApiToken>> {
        let sql = format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE secret_sha256 = $1");
        self.optional(&sql, args![secret_sha256], |r| token_row(r))
            .await
    }

    async fn tokens(&mut self, tenant: TenantId) -> Result<Vec<ApiToken>> {
        let sql = format!(
            "SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE tenant_id = $1 ORDER BY created_at_us, id"
        );
        self.all(&sql, args![tenant.0], |r| token_row(r)).await
    }

    async fn revoke_token(&mut self, tenant: TenantId, id: TokenId, at: Timestamp) -> Result<bool> {
        let changed = self
            .run(
                "UPDATE api_tokens SET revoked_at_us = $3 \
                 WHERE tenant_id = $1 AND id = $2 AND revoked_at_us IS NULL",
                args![tenant.0, id.0, us(at)],
            )
            .await?;
        Ok(changed == 1)
    }

    async fn set_password(
        &mut self,
        tenant: TenantId,
        user: UserId,
        hash: &str,
        at: Timestamp,
    ) -> Result<()> {
        self.run(
            "UPDATE users SET password_hash = $3, password_changed_at_us = $4 \
             WHERE tenant_id = $1 AND id = $2",
            args![tenant.0, user.0, hash, us(at)],
        )
        .await?;
        Ok(())
    }

    async fn password_hash(&mut self, tenant: TenantId, user: UserId) -> Result<Option<String>> {
        Ok(self
            .optional(
                "SELECT password_hash FROM users WHERE tenant_id = $1 AND id = $2",
                args![tenant.0, user.0],
                |r| Ok(r.opt_text("password_hash")?.map(str::to_owned)),
            )
            .await?
            .flatten())
    }

    async fn insert_session(&mut self, session: &Session, secret_sha256: &Hash) -> Result<()> {
        self.run(
            "INSERT INTO sessions (tenant_id, id, user_id, secret_sha256, csrf_token, created_at_us, expires_at_us) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            args![
                session.tenant_id.0,
                session.id.0,
                session.user_id.0,
                secret_sha256,
                &session.csrf_token,
                us(session.created_at),
                us(session.expires_at),
            ],
        )
        .await?;
        Ok(())
    }

    async fn session_by_secret(&mut self, secret_sha256: &Hash) -> Result<Option<Session>> {
        self.optional(
            "SELECT id, tenant_id, user_id, csrf_token, created_at_us, expires_at_us, revoked_at_us \
             FROM sessions WHERE secret_sha256 = $1",
            args![secret_sha256],
            |r| session_row(r),
        )
        .await
    }

    async fn revoke_sessions(
        &mut self,
        tenant: TenantId,
        user: UserId,
        keep: Option<SessionId>,
        at: Timestamp,
    ) -> Result<u64> {
        self.run(
            "UPDATE sessions SET revoked_at_us = $4 WHERE tenant_id = $1 AND user_id = $2 \
             AND revoked_at_us IS NULL AND ($3 IS NULL OR id <> $3)",
            args![tenant.0, user.0, keep.map(|k| k.0), us(at)],
        )
        .await
    }

    async fn revoke_session(
        &mut self,
        tenant: TenantId,
        id: SessionId,
        at: Timestamp,
    ) -> Result<()> {
        self.run(
            "UPDATE sessions SET revoked_at_us = $3 \
             WHERE tenant_id = $1 AND id = $2 AND revoked_at_us IS NULL",
            args![tenant.0, id.0, us(at)],
        )
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
        self.run(
            "DELETE FROM idempotency_keys WHERE tenant_id = $1 AND (created_at_us < $2 \
             OR (caller = $3 AND key = $4 AND status IS NULL AND created_at_us < $5))",
            args![
                tenant.0,
                us(forget_before),
                caller,
                key,
                us(abandoned_before)
            ],
        )
        .await?;
        let claimed = self
            .run(
                "INSERT INTO idempotency_keys (tenant_id, caller, key, request_sha256, created_at_us) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant_id, caller, key) DO NOTHING",
                args![tenant.0, caller, key, request_sha256, us(at)],
            )
            .await?;
        if claimed == 1 {
            return Ok(IdempotencyClaim::Claimed);
        }
        self.one(
            "SELECT request_sha256, status, content_type, body FROM idempotency_keys \
             WHERE tenant_id = $1 AND caller = $2 AND key = $3",
            args![tenant.0, caller, key],
            |r| {
                if hash(r.bytes("request_sha256")?)? != *request_sha256 {
                    return Ok(IdempotencyClaim::Mismatch);
                }
                match r.opt_int("status")? {
                    None => Ok(IdempotencyClaim::InProgress),
                    Some(status) => Ok(IdempotencyClaim::Replay {
                        status: u16::try_from(status).map_err(corrupt("status"))?,
                        content_type: r.opt_text("content_type")?.unwrap_or_default().to_owned(),
                        body: r.opt_bytes("body")?.unwrap_or_default().to_vec(),
                    }),
                }
            },
        )
        .await
    }

    async fn finish_idempotency_key(
        &mut self,
        tenant: TenantId,
        caller: &str,
        key: &str,
        response: Option<(u16, &str, &[u8])>,
    ) -> Result<()> {
        match response {
            Some((status, content_type, body)) => {
                self.run(
                    "UPDATE idempotency_keys SET status = $4, content_type = $5, body = $6 \
                     WHERE tenant_id = $1 AND caller = $2 AND key = $3",
                    args![tenant.0, caller, key, i64::from(status), content_type, body],
                )
                .await?
            }
            None => {
                self.run(
                    "DELETE FROM idempotency_keys WHERE tenant_id = $1 AND caller = $2 AND key = $3",
                    args![tenant.0, caller, key],
                )
                .await?
            }
        };
        Ok(())
    }

    async fn insert_user(&mut self, u: &User, at: Timestamp) -> Result<()> {
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

    async fn set_tenant_time_zone(&mut self, tenant: TenantId, zone: &ZoneName) -> Result<()> {
        self.run(
            "UPDATE tenants SET time_zone = $2 WHERE id = $1",
            args![tenant.0, zone.as_str()],
        )
        .await?;
        Ok(())
    }

    async fn set_user_time_zone(
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

    async fn users(&mut self, tenant: TenantId) -> Result<Vec<User>> {
        self.all(
            "SELECT tenant_id, id, email, name, role, time_zone FROM users WHERE tenant_id = $1 ORDER BY email",
            args![tenant.0],
            |r| user_row(r),
        )
        .await
    }

    async fn user(&mut self, tenant: TenantId, id: UserId) -> Result<Option<User>> {
        self.optional(
            "SELECT tenant_id, id, email, name, role, time_zone FROM users WHERE tenant_id = $1 AND id = $2",
            args![tenant.0, id.0],
            |r| user_row(r),
        )
        .await
    }

    async fn user_by_email(&mut self, tenant: TenantId, email: &Email) -> Result<Option<User>> {
        self.optional(
            "SELECT tenant_id, id, email, name, role, time_zone FROM users WHERE tenant_id = $1 AND email = $2",
            args![tenant.0, email.as_str()],
            |r| user_row(r),
        )
        .await
    }

    async fn insert_team(&mut self, tenant: TenantId, team: &Team) -> Result<()> {
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

    async fn add_team_member(&mut self, tenant: TenantId, team: &Slug, user: UserId) -> Result<()> {
        self.run(
            "INSERT INTO team_members (tenant_id, team_slug, user_id) VALUES ($1, $2, $3)",
            args![tenant.0, team.as_str(), user.0],
        )
        .await?;
        Ok(())
    }

    async fn teams(&mut self, tenant: TenantId) -> Result<Vec<Team>> {
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

    async fn insert_subject(&mut self, s: &Subject, at: Timestamp) -> Result<()> {
        let attributes = to_json(&s.attributes);
        self.run(
            "INSERT INTO subjects (tenant_id, id, key, kind, name, parent_id, state, attributes, created_at_us, updated_at_us) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)",
            args![
                s.tenant_id.0,
                s.id.0,
                s.key.as_str(),
                s.kind.as_str(),
                s.name.as_str(),
                s.parent_id.map(|p| p.0),
                s.state.as_str(),
                &attributes,
                us(at),
            ],
        )
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
        self.run(
            "UPDATE subjects SET state = $3, updated_at_us = $4 WHERE tenant_id = $1 AND id = $2",
            args![tenant.0, id.0, state.as_str(), us(at)],
        )
        .await?;
        Ok(())
    }

    async fn subject(&mut self, tenant: TenantId, id: SubjectId) -> Result<Option<Subject>> {
        self.optional(
            "SELECT * FROM subjects WHERE tenant_id = $1 AND id = $2",
            args![tenant.0, id.0],
            |r| subject_row(r),
        )
        .await
    }

    async fn subject_by_key(
        &mut self,
        tenant: TenantId,
        key: &SubjectKey,
    ) -> Result<Option<Subject>> {
        self.optional(
            "SELECT * FROM subjects WHERE tenant_id = $1 AND key = $2",
            args![tenant.0, key.as_str()],
            |r| subject_row(r),
        )
        .await
    }

    async fn subjects(&mut self, tenant: TenantId, f: &SubjectFilter) -> Result<Vec<Subject>> {
        self.all(
            "SELECT * FROM subjects WHERE tenant_id = $1 \
             AND ($2 IS NULL OR kind = $2) \
             AND ($3 OR state IN ('active', 'offboarding')) \
             AND ($4 IS NULL OR parent_id = $4) \
             AND ($7 IS NULL OR lower(name) LIKE $7 ESCAPE '\\' OR lower(key) LIKE $7 ESCAPE '\\') \
             ORDER BY kind, key LIMIT $5 OFFSET $6",
            args![
                tenant.0,
                f.kind.map(SubjectKind::as_str),
                f.include_offboarded,
                f.parent.map(|p| p.0),
                f.limit,
                f.offset,
                f.search.as_deref().map(contains_pattern).as_deref(),
            ],
            |r| subject_row(r),
        )
        .await
    }

    async fn insert_record(&mut self, tenant: TenantId, r: &Record, at: Timestamp) -> Result<()> {
        let fields = to_json(&r.fields);
        self.run(
            "INSERT INTO records (tenant_id, id, subject_id, number, kind, fields, created_at_us) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            args![
                tenant.0,
                r.id.0,
                r.subject_id.0,
                r.number,
                r.kind.as_str(),
                &fields,
                us(at),
            ],
        )
        .await?;
        Ok(())
    }

    async fn update_record(&mut self, tenant: TenantId, r: &Record) -> Result<()> {
        let fields = to_json(&r.fields);
        self.run(
            "UPDATE records SET fields = $3 WHERE tenant_id = $1 AND id = $2",
            args![tenant.0, r.id.0, &fields],
        )
        .await?;
        Ok(())
    }

    async fn records(&mut self, tenant: TenantId, subject: SubjectId) -> Result<Vec<Record>> {
        self.all(
            "SELECT id, subject_id, number, kind, fields FROM records \
             WHERE tenant_id = $1 AND subject_id = $2 ORDER BY number",
            args![tenant.0, subject.0],
            |r| record_row(r),
        )
        .await
    }

    async fn insert_blueprint(
        &mut self,
        tenant: TenantId,
        b: &StoredBlueprint,
        at: Timestamp,
    ) -> Result<()> {
        self.run(
            "INSERT INTO blueprints (tenant_id, id, version, source, digest, created_at_us) \
             VALUES ($1, $2, $3, $4, $5, $6)",
            args![
                tenant.0,
                b.id.as_str(),
                i64::from(b.version),
                &b.source,
                &b.digest,
                us(at),
            ],
        )
        .await?;
        Ok(())
    }

    async fn blueprint(
        &mut self,
        tenant: TenantId,
        id: &Slug,
        version: Option<u32>,
    ) -> Result<Option<StoredBlueprint>> {
        self.optional(
            "SELECT id, version, source, digest FROM blueprints WHERE tenant_id = $1 AND id = $2 \
             AND ($3 IS NULL OR version = $3) ORDER BY version DESC LIMIT 1",
            args![tenant.0, id.as_str(), version.map(i64::from)],
            |r| blueprint_row(r),
        )
        .await
    }

    async fn blueprints(&mut self, tenant: TenantId) -> Result<Vec<StoredBlueprint>> {
        self.all(
            "SELECT b.id, b.version, b.source, b.digest FROM blueprints b WHERE b.tenant_id = $1 \
             AND b.version = (SELECT MAX(v.version) FROM blueprints v WHERE v.tenant_id = b.tenant_id AND v.id = b.id) \
             ORDER BY b.id",
            args![tenant.0],
            |r| blueprint_row(r),
        )
        .await
    }

    async fn next_case_number(&mut self, tenant: TenantId) -> Result<i64> {
        self.one(
            "SELECT COALESCE(MAX(number), 0) + 1 AS next FROM cases WHERE tenant_id = $1",
            args![tenant.0],
            |r| r.int("next"),
        )
        .await
    }

    async fn insert_case(&mut self, file: &CaseFile) -> Result<()> {
        let c = &file.case;
        let exit_date = c.exit_date.to_string();
        let stages = to_json(&c.stages);
        self.run(
            "INSERT INTO cases (tenant_id, id, number, subject_id, blueprint_id, blueprint_version, parent_id, \
             owner_id, exit_date, status, resolution, confirmation_word, stages, opened_at_us, closed_at_us, \
             closed_by, close_reason, frozen_at_us) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)",
            args![
                c.tenant_id.0,
                c.id.0,
                c.number,
                c.subject_id.0,
                c.blueprint_id.as_str(),
                i64::from(c.blueprint_version),
                c.parent_id.map(|p| p.0),
                c.owner_id.0,
                &exit_date,
                c.status.as_str(),
                c.resolution.map(Resolution::as_str),
                &c.confirmation_word,
                &stages,
                us(c.opened_at),
                c.closed_at.map(us),
                c.closed_by.map(|u| u.0),
                c.close_reason.as_deref(),
                c.frozen_at.map(us),
            ],
        )
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
        self.run(
            "UPDATE cases SET status = $3, resolution = $4, closed_at_us = $5, closed_by = $6, \
             close_reason = $7, owner_id = $8, frozen_at_us = $9 WHERE tenant_id = $1 AND id = $2",
            args![
                c.tenant_id.0,
                c.id.0,
                c.status.as_str(),
                c.resolution.map(Resolution::as_str),
                c.closed_at.map(us),
                c.closed_by.map(|u| u.0),
                c.close_reason.as_deref(),
                c.owner_id.0,
                c.frozen_at.map(us),
            ],
        )
        .await?;
        Ok(())
    }

    async fn update_task(&mut self, tenant: TenantId, t: &Task) -> Result<()> {
        self.run(
            "UPDATE tasks SET assignee = $4, status = $5, closed_at_us = $6, closed_by = $7, \
             note = $8, waive_reason = $9, owner_label = $10 \
             WHERE tenant_id = $1 AND case_id = $2 AND id = $3",
            args![
                tenant.0,
                t.case_id.0,
                t.id.as_str(),
                t.assignee.map(|u| u.0),
                t.status.as_str(),
                t.closed_at.map(us),
                t.closed_by.map(|u| u.0),
                t.note.as_deref(),
                t.waive_reason.as_deref(),
                &t.owner_label,
            ],
        )
        .await?;
        Ok(())
    }

    async fn upsert_finding(&mut self, tenant: TenantId, f: &CaseFinding) -> Result<()> {
        self.run(
            "INSERT INTO findings (tenant_id, case_id, check_id, stage, severity, message, status, waived_by, waive_reason) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (tenant_id, case_id, check_id) DO UPDATE SET status = excluded.status, \
             waived_by = excluded.waived_by, waive_reason = excluded.waive_reason, message = excluded.message",
            args![
                tenant.0,
                f.case_id.0,
                f.finding.check_id.as_str(),
                f.finding.stage.as_str(),
                f.finding.severity.as_str(),
                &f.finding.message,
                f.status.as_str(),
                f.waived_by.map(|u| u.0),
                f.waive_reason.as_deref(),
            ],
        )
        .await?;
        Ok(())
    }

    async fn case_file(&mut self, tenant: TenantId, number: i64) -> Result<Option<CaseFile>> {
        let sql = format!(
            "SELECT {CASE_COLUMNS} FROM cases c WHERE c.tenant_id = $1 AND c.number = $2{}",
            self.conn.lock_clause()
        );
        let Some(case) = self
            .optional(&sql, args![tenant.0, number], |r| case_row(r))
            .await?
        else {
            return Ok(None);
        };
        let tasks = match self.plans.get(tenant, case.id) {
            Some(plans) => {
                let progress = self
                    .all(
                        "SELECT id, owner_label, assignee, status, closed_at_us, closed_by, note, \
                         waive_reason FROM tasks WHERE tenant_id = $1 AND case_id = $2",
                        args![tenant.0, case.id.0],
                        |r| progress_row(r),
                    )
                    .await?;
                plans::tasks(case.id, &plans, progress)
            }
            None => None,
        };
        let tasks = match tasks {
            Some(tasks) => tasks,
            None => {
                let sql = format!(
                    "SELECT {TASK_COLUMNS} FROM tasks t WHERE t.tenant_id = $1 AND t.case_id = $2"
                );
                let mut tasks = self
                    .all(&sql, args![tenant.0, case.id.0], |r| task_row(r))
                    .await?;
                // Ordered here rather than by SQL: SQLite would copy every row into a
                // temporary b-tree to sort a case's few tasks.
                tasks.sort_by_key(|t| t.position);
                self.plans.keep(tenant, case.id, &tasks);
                tasks
            }
        };
        let findings = self
            .all(
                "SELECT * FROM findings WHERE tenant_id = $1 AND case_id = $2 ORDER BY check_id",
                args![tenant.0, case.id.0],
                |r| finding_row(r),
            )
            .await?;
        Ok(Some(CaseFile {
            case,
            tasks,
            findings,
        }))
    }

    async fn cases(&mut self, tenant: TenantId, f: &CaseFilter) -> Result<Vec<CaseSummary>> {
        let sql = format!(
            "SELECT {CASE_COLUMNS}, s.key AS subject_key, s.name AS subject_name, s.kind AS subject_kind, \
             (SELECT COUNT(*) FROM tasks t WHERE t.tenant_id = c.tenant_id AND t.case_id = c.id) AS tasks_total, \
             (SELECT COUNT(*) FROM tasks t WHERE t.tenant_id = c.tenant_id AND t.case_id = c.id AND t.status <> 'open') AS tasks_closed \
             FROM cases c JOIN subjects s ON s.tenant_id = c.tenant_id AND s.id = c.subject_id \
             WHERE c.tenant_id = $1 AND ($2 IS NULL OR c.status = $2) AND ($3 IS NULL OR c.subject_id = $3) \
             AND ($4 IS NULL OR c.parent_id = $4) \
             ORDER BY c.number DESC LIMIT $5 OFFSET $6"
        );
        self.all(
            &sql,
            args![
                tenant.0,
                f.status.map(CaseStatus::as_str),
                f.subject.map(|s| s.0),
                f.parent.map(|p| p.0),
                f.limit,
                f.offset,
            ],
            |r| {
                let c = case_row(r)?;
                Ok(CaseSummary {
                    number: c.number,
                    id: c.id,
                    subject_key: SubjectKey::parse(r.text("subject_key")?)
                        .map_err(corrupt("subject key"))?,
                    subject_name: r.text("subject_name")?.to_owned(),
                    subject_kind: r
                        .text("subject_kind")?
                        .parse()
                        .map_err(corrupt("subject kind"))?,
                    blueprint_id: c.blueprint_id,
                    blueprint_version: c.blueprint_version,
                    status: c.status,
                    resolution: c.resolution,
                    exit_date: c.exit_date,
                    owner_id: c.owner_id,
                    tasks_total: r.int("tasks_total")?,
                    tasks_closed: r.int("tasks_closed")?,
                    opened_at: c.opened_at,
                })
            },
        )
        .await
    }

    async fn open_case_of(&mut self, tenant: TenantId, subject: SubjectId) -> Result<Option<i64>> {
        self.optional(
            "SELECT number FROM cases WHERE tenant_id = $1 AND subject_id = $2 AND status <> 'done'",
            args![tenant.0, subject.0],
            |r| r.int("number"),
        )
        .await
    }

    async fn open_children(&mut self, tenant: TenantId, parent: CaseId) -> Result<Vec<i64>> {
        self.all(
            "SELECT number FROM cases WHERE tenant_id = $1 AND parent_id = $2 AND status <> 'done' \
             ORDER BY number",
            args![tenant.0, parent.0],
            |r| r.int("number"),
        )
        .await
    }

    async fn tasks(&mut self, tenant: TenantId, f: &TaskFilter) -> Result<Vec<TaskRow>> {
        // Only placeholders are generated here; every value is bound.
        let mut sql = format!(
            "SELECT {TASK_COLUMNS}, c.number AS case_number, s.key AS subject_key FROM tasks t \
             JOIN cases c ON c.tenant_id = t.tenant_id AND c.id = t.case_id \
             JOIN subjects s ON s.tenant_id = c.tenant_id AND s.id = c.subject_id \
             WHERE t.tenant_id = $1 AND ($2 IS NULL OR t.case_id = $2) \
             AND (NOT $3 OR (t.status = 'open' AND c.status <> 'done')) \
             AND ($5 IS NULL OR t.due_at_us < $5)"
        );
        let owners: Vec<String> = f
            .mine
            .iter()
            .flat_map(|m| &m.teams)
            .map(|t| Owner::Team(t.clone()).encode())
            .collect();
        let mut values: Vec<Arg<'_>> = vec![
            tenant.0.into(),
            f.case.map(|c| c.0).into(),
            f.open_only.into(),
            f.limit.into(),
            f.due_before.map(us).into(),
        ];
        if let Some(mine) = &f.mine {
            let team_params: Vec<String> =
                (0..owners.len()).map(|i| format!("${}", i + 8)).collect();
            let teams_clause = if team_params.is_empty() {
                String::new()
            } else {
                format!(" OR t.owner IN ({})", team_params.join(", "))
            };
            sql.push_str(&format!(
                " AND (t.assignee = $6 OR (t.assignee IS NULL AND \
                 ((t.owner LIKE 'role:%' AND lower(t.owner_label) = lower($7)){teams_clause})))"
            ));
            values.push(mine.user.0.into());
            values.push(mine.email.as_str().into());
            values.extend(owners.iter().map(Arg::from));
        }
        sql.push_str(" ORDER BY t.due_at_us IS NULL, t.due_at_us, c.number, t.position LIMIT $4");
        self.all(&sql, &values, |r| {
            Ok(TaskRow {
                case_number: r.int("case_number")?,
                subject_key: SubjectKey::parse(r.text("subject_key")?)
                    .map_err(corrupt("subject key"))?,
                task: task_row(r)?,
            })
        })
        .await
    }

    async fn case_counts(&mut self, tenant: TenantId) -> Result<Vec<(CaseStatus, i64)>> {
        self.all(
            "SELECT status, COUNT(*) AS n FROM cases WHERE tenant_id = $1 GROUP BY status",
            args![tenant.0],
            |r| {
                let status = r.text("status")?;
                Ok((
                    CaseStatus::parse(status)
                        .ok_or_else(|| StoreError::Corrupt(format!("case status {status}")))?,
                    r.int("n")?,
                ))
            },
        )
        .await
    }

    async fn case_activity(
        &mut self,
        tenant: TenantId,
        since: Timestamp,
    ) -> Result<Vec<CaseActivity>> {
        self.all(
            "SELECT opened_at_us, closed_at_us, resolution FROM cases WHERE tenant_id = $1 \
             AND (opened_at_us >= $2 OR closed_at_us >= $2) ORDER BY opened_at_us",
            args![tenant.0, us(since)],
            |r| {
                Ok(CaseActivity {
                    opened_at: from_us(r.int("opened_at_us")?)?,
                    closed_at: opt_from_us(r.opt_int("closed_at_us")?)?,
                    resolution: r
                        .opt_text("resolution")?
                        .map(|t| {
                            Resolution::parse(t)
                                .ok_or_else(|| StoreError::Corrupt("resolution".into()))
                        })
                        .transpose()?,
                })
            },
        )
        .await
    }

    async fn insert_job(&mut self, j: &Job) -> Result<bool> {
        let inserted = self
            .run(
                "INSERT INTO jobs (tenant_id, id, kind, payload, idempotency_key, case_id, status, \
                 attempts, max_attempts, run_at_us, lease_until_us, worker, last_error, \
                 created_at_us, finished_at_us) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) \
                 ON CONFLICT (tenant_id, idempotency_key) DO NOTHING",
                args![
                    j.tenant_id.0,
                    j.id.0,
                    &j.kind,
                    &j.payload,
                    &j.idempotency_key,
                    j.case_id.map(|c| c.0),
                    j.status.as_str(),
                    j.attempts,
                    j.max_attempts,
                    us(j.run_at),
                    j.lease_until.map(us),
                    j.worker.as_deref(),
                    j.last_error.as_deref(),
                    us(j.created_at),
                    j.finished_at.map(us),
                ],
            )
            .await?;
        if inserted == 1 {
            self.conn.job_queued().await?;
        }
        Ok(inserted == 1)
    }

    async fn claim_jobs(
        &mut self,
        now: Timestamp,
        lease_until: Timestamp,
        worker: &str,
        limit: u32,
    ) -> Result<Vec<Job>> {
        let sql = claim_statement(self.conn.skip_locked_clause(), 1, None);
        self.all(&sql, &claim_args(now, lease_until, worker, limit), |r| {
            job_row(r)
        })
        .await
    }

    async fn renew_job_lease(
        &mut self,
        tenant: TenantId,
        id: JobId,
        attempt: i64,
        until: Timestamp,
    ) -> Result<bool> {
        let changed = self
            .run(
                "UPDATE jobs SET lease_until_us = $4 \
                 WHERE tenant_id = $1 AND id = $2 AND attempts = $3 AND status = 'running'",
                args![tenant.0, id.0, attempt, us(until)],
            )
            .await?;
        Ok(changed == 1)
    }

    async fn settle_jobs(&mut self, settles: &[JobSettle<'_>]) -> Result<Vec<bool>> {
        if settles.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!("WITH {} {SETTLE}", settles_cte(settles.len()));
        let ids = self
            .all(&sql, &settle_args(settles), |r| r.uuid("id"))
            .await?;
        Ok(settled_in_order(settles, &ids))
    }

    async fn settle_and_claim_jobs(
        &mut self,
        settles: &[JobSettle<'_>],
        now: Timestamp,
        lease_until: Timestamp,
        worker: &str,
        limit: u32,
    ) -> Result<(Vec<bool>, Vec<Job>)> {
        if settles.is_empty() || !self.conn.writable_ctes() {
            let settled = self.settle_jobs(settles).await?;
            let claimed = self.claim_jobs(now, lease_until, worker, limit).await?;
            return Ok((settled, claimed));
        }
        let settling = format!("{}, settled AS ({SETTLE})", settles_cte(settles.len()));
        let sql = claim_statement(
            self.conn.skip_locked_clause(),
            SETTLE_VALUES * settles.len() + 1,
            Some(&settling),
        );
        let mut args = settle_args(settles);
        args.extend(claim_args(now, lease_until, worker, limit));
        let rows = self
            .all(&sql, &args, |r| {
                let settled = r.opt_text("settled")?.unwrap_or_default().to_owned();
                let claimed = match r.opt_uuid("id")? {
                    Some(_) => Some(job_row(r)?),
                    None => None,
                };
                Ok((settled, claimed))
            })
            .await?;
        let settled_ids = match rows.first() {
            Some((ids, _)) => ids
                .split(',')
                .filter(|id| !id.is_empty())
                .map(|id| {
                    Uuid::parse_str(id)
                        .map_err(|e| StoreError::Corrupt(format!("settled job id {id}: {e}")))
                })
                .collect::<Result<Vec<_>>>()?,
            None => Vec::new(),
        };
        Ok((
            settled_in_order(settles, &settled_ids),
            rows.into_iter().filter_map(|(_, job)| job).collect(),
        ))
    }

    async fn job(&mut self, tenant: TenantId, id: JobId) -> Result<Option<Job>> {
        self.optional(
            &format!("SELECT {JOB_COLUMNS} FROM jobs WHERE tenant_id = $1 AND id = $2"),
            args![tenant.0, id.0],
            |r| job_row(r),
        )
        .await
    }

    async fn jobs(&mut self, tenant: TenantId, f: &JobFilter) -> Result<Vec<Job>> {
        self.all(
            &format!(
                "SELECT {JOB_COLUMNS} FROM jobs WHERE tenant_id = $1 AND ($2 IS NULL OR status = $2) \
                 AND ($3 IS NULL OR case_id = $3) ORDER BY created_at_us DESC, id DESC LIMIT $4"
            ),
            args![
                tenant.0,
                f.status.map(JobStatus::as_str),
                f.case.map(|c| c.0),
                f.limit,
            ],
            |r| job_row(r),
        )
        .await
    }

    async fn requeue_job(&mut self, tenant: TenantId, id: JobId, at: Timestamp) -> Result<bool> {
        let changed = self
            .run(
                "UPDATE jobs SET status = 'queued', run_at_us = $3, max_attempts = attempts + $4, \
                 finished_at_us = NULL WHERE tenant_id = $1 AND id = $2 AND status = 'dead'",
                args![tenant.0, id.0, us(at), engine::job::DEFAULT_ATTEMPTS],
            )
            .await?;
        Ok(changed == 1)
    }

    async fn job_counts(&mut self) -> Result<Vec<(JobStatus, i64)>> {
        self.all(
            "SELECT status, COUNT(*) AS n FROM jobs GROUP BY status",
            args![],
            |r| {
                let status = r.text("status")?;
                Ok((
                    JobStatus::parse(status)
                        .ok_or_else(|| StoreError::Corrupt(format!("job status {status}")))?,
                    r.int("n")?,
                ))
            },
        )
        .await
    }

    async fn insert_notification(&mut self, tenant: TenantId, n: &Notification) -> Result<()> {
        self.run(
            "INSERT INTO notifications (tenant_id, id, user_id, kind, summary, link, created_at_us, \
             read_at_us) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            args![
                tenant.0,
                n.id.0,
                n.user_id.0,
                &n.kind,
                &n.summary,
                &n.link,
                us(n.created_at),
                n.read_at.map(us),
            ],
        )
        .await?;
        Ok(())
    }

    async fn notification(
        &mut self,
        tenant: TenantId,
        id: NotificationId,
    ) -> Result<Option<Notification>> {
        self.optional(
            &format!(
                "SELECT {NOTIFICATION_COLUMNS} FROM notifications WHERE tenant_id = $1 AND id = $2"
            ),
            args![tenant.0, id.0],
            |r| notification_row(r),
        )
        .await
    }

    async fn notifications(
        &mut self,
        tenant: TenantId,
        user: UserId,
        limit: i64,
    ) -> Result<Vec<Notification>> {
        self.all(
            &format!(
                "SELECT {NOTIFICATION_COLUMNS} FROM notifications WHERE tenant_id = $1 \
                 AND user_id = $2 ORDER BY created_at_us DESC, id DESC LIMIT $3"
            ),
            args![tenant.0, user.0, limit],
            |r| notification_row(r),
        )
        .await
    }

    async fn unread_notifications(&mut self, tenant: TenantId, user: UserId) -> Result<i64> {
        self.one(
            "SELECT COUNT(*) AS unread FROM notifications WHERE tenant_id = $1 AND user_id = $2 \
             AND read_at_us IS NULL",
            args![tenant.0, user.0],
            |r| r.int("unread"),
        )
        .await
    }

    async fn read_notifications(
        &mut self,
        tenant: TenantId,
        user: UserId,
        at: Timestamp,
    ) -> Result<u64> {
        self.run(
            "UPDATE notifications SET read_at_us = $3 WHERE tenant_id = $1 AND user_id = $2 \
             AND read_at_us IS NULL",
            args![tenant.0, user.0, us(at)],
        )
        .await
    }

    async fn insert_evidence(&mut self, tenant: TenantId, m: &EvidenceMeta) -> Result<()> {
        self.run(
            "INSERT INTO evidence (tenant_id, id, case_id, task_id, file_name, size, sha256, content, \
             blob_id, added_by, added_at_us) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            args![
                tenant.0,
                m.id.0,
                m.case_id.0,
                m.task_id.as_str(),
                &m.file_name,
                m.size,
                &m.sha256,
                &[] as &[u8],
                m.blob_id.map(|b| b.0),
                m.added_by.0,
                us(m.added_at),
            ],
        )
        .await?;
        Ok(())
    }

    async fn evidence(&mut self, tenant: TenantId, case: CaseId) -> Result<Vec<EvidenceMeta>> {
        self.all(
            &format!(
                "SELECT {EVIDENCE_COLUMNS} FROM evidence \
                 WHERE tenant_id = $1 AND case_id = $2 ORDER BY added_at_us, id"
            ),
            args![tenant.0, case.0],
            |r| evidence_row(r),
        )
        .await
    }

    async fn evidence_item(
        &mut self,
        tenant: TenantId,
        case: CaseId,
        id: EvidenceId,
    ) -> Result<Option<EvidenceMeta>> {
        self.optional(
            &format!(
                "SELECT {EVIDENCE_COLUMNS} FROM evidence \
                 WHERE tenant_id = $1 AND case_id = $2 AND id = $3"
            ),
            args![tenant.0, case.0, id.0],
            |r| evidence_row(r),
        )
        .await
    }

    async fn unsealed_evidence(&mut self, tenant: TenantId, id: EvidenceId) -> Result<Vec<u8>> {
        self.optional(
            "SELECT content FROM evidence WHERE tenant_id = $1 AND id = $2",
            args![tenant.0, id.0],
            |r| Ok(r.bytes("content")?.to_vec()),
        )
        .await?
        .ok_or_else(|| StoreError::Corrupt(format!("evidence {id} has no row")))
    }

    async fn subject_key(
        &mut self,
        tenant: TenantId,
        subject: SubjectId,
    ) -> Result<Option<Vec<u8>>> {
        self.optional(
            "SELECT sealed_key FROM subject_keys WHERE tenant_id = $1 AND subject_id = $2",
            args![tenant.0, subject.0],
            |r| Ok(r.bytes("sealed_key")?.to_vec()),
        )
        .await
    }

    async fn insert_subject_key(
        &mut self,
        tenant: TenantId,
        subject: SubjectId,
        sealed: &[u8],
        at: Timestamp,
    ) -> Result<()> {
        self.run(
            "INSERT INTO subject_keys (tenant_id, subject_id, sealed_key, created_at_us) \
             VALUES ($1, $2, $3, $4)",
            args![tenant.0, subject.0, sealed, us(at)],
        )
        .await?;
        Ok(())
    }

    async fn insert_blob(&mut self, tenant: TenantId, b: &BlobMeta) -> Result<()> {
        self.run(
            "INSERT INTO blobs (tenant_id, id, subject_id, size, sha256, chunks, created_at_us) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            args![
                tenant.0,
                b.id.0,
                b.subject_id.0,
                b.size,
                &b.sha256,
                b.chunks,
                us(b.created_at),
            ],
        )
        .await?;
        Ok(())
    }

    async fn insert_blob_chunk(
        &mut self,
        tenant: TenantId,
        blob: BlobId,
        seq: i64,
        sealed: &[u8],
    ) -> Result<()> {
        self.run(
            "INSERT INTO blob_chunks (tenant_id, blob_id, seq, sealed) VALUES ($1, $2, $3, $4)",
            args![tenant.0, blob.0, seq, sealed],
        )
        .await?;
        Ok(())
    }

    async fn blob(&mut self, tenant: TenantId, id: BlobId) -> Result<Option<BlobMeta>> {
        self.optional(
            &format!("SELECT {BLOB_COLUMNS} FROM blobs b WHERE b.tenant_id = $1 AND b.id = $2"),
            args![tenant.0, id.0],
            |r| blob_row(r),
        )
        .await
    }

    async fn blob_chunks(
        &mut self,
        tenant: TenantId,
        blob: BlobId,
        from: i64,
        limit: i64,
    ) -> Result<Vec<Vec<u8>>> {
        self.all(
            "SELECT sealed FROM blob_chunks WHERE tenant_id = $1 AND blob_id = $2 AND seq >= $3 \
             ORDER BY seq LIMIT $4",
            args![tenant.0, blob.0, from, limit],
            |r| Ok(r.bytes("sealed")?.to_vec()),
        )
        .await
    }

    async fn finish_blob(&mut self, tenant: TenantId, b: &BlobMeta) -> Result<()> {
        self.run(
            "UPDATE blobs SET size = $3, sha256 = $4, chunks = $5 WHERE tenant_id = $1 AND id = $2",
            args![tenant.0, b.id.0, b.size, &b.sha256, b.chunks],
        )
        .await?;
        Ok(())
    }

    async fn delete_blob(&mut self, tenant: TenantId, blob: BlobId) -> Result<()> {
        self.run(
            "DELETE FROM blob_chunks WHERE tenant_id = $1 AND blob_id = $2",
            args![tenant.0, blob.0],
        )
        .await?;
        self.run(
            "DELETE FROM blobs WHERE tenant_id = $1 AND id = $2",
            args![tenant.0, blob.0],
        )
        .await?;
        Ok(())
    }

    async fn insert_export(&mut self, e: &Export) -> Result<()> {
        self.run(
            "INSERT INTO exports (tenant_id, id, case_id, subject_id, status, attempts, \
             requested_by, requested_at_us) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            args![
                e.tenant_id.0,
                e.id.0,
                e.case_id.0,
                e.subject_id.0,
                e.status.as_str(),
                e.attempts,
                e.requested_by.0,
                us(e.requested_at),
            ],
        )
        .await?;
        Ok(())
    }

    async fn update_export(&mut self, e: &Export) -> Result<bool> {
        let changed = self
            .run(
                "UPDATE exports SET status = $3, failure = $4, blob_id = $5, payload_files = $6, \
             payload_bytes = $7, receipt = $8, finished_at_us = $9, acknowledged_at_us = $10, \
             acknowledged_name = $11, acknowledged_from = $12, acknowledgement_waived_by = $13, \
             acknowledgement_waiver = $14, \
             lease_until_us = CASE WHEN $3 = 'building' THEN lease_until_us END \
             WHERE tenant_id = $1 AND id = $2 AND attempts = $15",
                args![
                    e.tenant_id.0,
                    e.id.0,
                    e.status.as_str(),
                    e.failure.as_deref(),
                    e.blob.as_ref().map(|b| b.id.0),
                    e.payload_files,
                    e.payload_bytes,
                    e.receipt.as_deref(),
                    e.finished_at.map(us),
                    e.acknowledged.as_ref().map(|a| us(a.at)),
                    e.acknowledged.as_ref().map(|a| a.name.as_str()),
                    e.acknowledged.as_ref().map(|a| a.from.as_str()),
                    e.acknowledgement_waived.as_ref().map(|w| w.by.0),
                    e.acknowledgement_waived.as_ref().map(|w| w.reason.as_str()),
                    e.attempts,
                ],
            )
            .await?;
        Ok(changed == 1)
    }

    async fn acknowledge_export(
        &mut self,
        tenant: TenantId,
        id: ExportId,
        ack: &Acknowledgement,
    ) -> Result<bool> {
        let changed = self
            .run(
                "UPDATE exports SET acknowledged_at_us = $3, acknowledged_name = $4, \
                 acknowledged_from = $5 WHERE tenant_id = $1 AND id = $2 \
                 AND acknowledged_at_us IS NULL",
                args![tenant.0, id.0, us(ack.at), &ack.name, &ack.from],
            )
            .await?;
        Ok(changed == 1)
    }

    async fn export(&mut self, tenant: TenantId, id: ExportId) -> Result<Option<Export>> {
        self.optional(
            &format!("{EXPORT_SELECT} WHERE e.tenant_id = $1 AND e.id = $2"),
            args![tenant.0, id.0],
            |r| export_row(r),
        )
        .await
    }

    async fn exports(&mut self, tenant: TenantId, case: CaseId) -> Result<Vec<Export>> {
        self.all(
            &format!(
                "{EXPORT_SELECT} WHERE e.tenant_id = $1 AND e.case_id = $2 \
                 ORDER BY e.requested_at_us DESC, e.id DESC"
            ),
            args![tenant.0, case.0],
            |r| export_row(r),
        )
        .await
    }

    async fn claim_export(
        &mut self,
        now: Timestamp,
        lease_until: Timestamp,
        take_over: bool,
    ) -> Result<Option<Export>> {
        // The status test is repeated outside the subquery: on PostgreSQL a second worker that
        // picked the same row re-checks it after the first one's claim, and finds it taken.
        let claimable = "(status = 'queued' OR (status = 'building' AND \
                         ($3 OR lease_until_us < $1)))";
        let claimed = self
            .optional(
                &format!(
                    "UPDATE exports SET status = 'building', attempts = attempts + 1, \
                     started_at_us = $1, lease_until_us = $2 \
                     WHERE (tenant_id, id) IN (SELECT tenant_id, id FROM exports WHERE {claimable} \
                     ORDER BY requested_at_us LIMIT 1) AND {claimable} \
                     RETURNING tenant_id, id"
                ),
                args![us(now), us(lease_until), take_over],
                |r| Ok((TenantId(r.uuid("tenant_id")?), ExportId(r.uuid("id")?))),
            )
            .await?;
        match claimed {
            Some((tenant, id)) => self.export(tenant, id).await,
            None => Ok(None),
        }
    }

    async fn purge_candidates(&mut self, tenant: Option<TenantId>) -> Result<Vec<PurgeCandidate>> {
        self.all(
            "SELECT c.tenant_id, c.id, c.number, c.closed_at_us, s.id AS subject_id, s.key, s.kind \
             FROM cases c JOIN subjects s ON s.tenant_id = c.tenant_id AND s.id = c.subject_id \
             WHERE c.resolution = 'completed' AND s.state = 'offboarded' \
             AND ($1 IS NULL OR c.tenant_id = $1) ORDER BY c.closed_at_us, c.number",
            args![tenant.map(|t| t.0)],
            |r| {
                Ok(PurgeCandidate {
                    tenant_id: TenantId(r.uuid("tenant_id")?),
                    case_id: CaseId(r.uuid("id")?),
                    case_number: r.int("number")?,
                    closed_at: from_us(r.opt_int("closed_at_us")?.ok_or_else(|| {
                        StoreError::Corrupt("a completed case without its close time".into())
                    })?)?,
                    subject_id: SubjectId(r.uuid("subject_id")?),
                    subject_key: SubjectKey::parse(r.text("key")?)
                        .map_err(corrupt("subject key"))?,
                    subject_kind: r.text("kind")?.parse().map_err(corrupt("subject kind"))?,
                })
            },
        )
        .await
    }

    async fn purge_subject(
        &mut self,
        tenant: TenantId,
        subject: SubjectId,
        at: Timestamp,
    ) -> Result<()> {
        // Every statement takes the tenant ($1) and the subject ($2). What refers to the
        // subject's records and blobs goes before them.
        let statements = [
            "DELETE FROM revocations WHERE tenant_id = $1 AND record_id IN \
             (SELECT id FROM records WHERE tenant_id = $1 AND subject_id = $2)",
            "DELETE FROM record_files WHERE tenant_id = $1 AND record_id IN \
             (SELECT id FROM records WHERE tenant_id = $1 AND subject_id = $2)",
            "DELETE FROM records WHERE tenant_id = $1 AND subject_id = $2",
            // The acknowledgement's time and the waiver's author stay as proof; who typed
            // what from where, and why it was waived, are personal data.
            "UPDATE exports SET blob_id = NULL, \
             acknowledged_name = CASE WHEN acknowledged_name IS NOT NULL THEN 'purged' END, \
             acknowledged_from = CASE WHEN acknowledged_from IS NOT NULL THEN 'purged' END, \
             acknowledgement_waiver = \
             CASE WHEN acknowledgement_waiver IS NOT NULL THEN 'purged' END \
             WHERE tenant_id = $1 AND subject_id = $2",
            "DELETE FROM blob_chunks WHERE tenant_id = $1 AND blob_id IN \
             (SELECT id FROM blobs WHERE tenant_id = $1 AND subject_id = $2)",
            "DELETE FROM blobs WHERE tenant_id = $1 AND subject_id = $2",
            "DELETE FROM subject_keys WHERE tenant_id = $1 AND subject_id = $2",
            // Free text people wrote about the subject's cases; the decisions stay on record.
            "UPDATE tasks SET note = CASE WHEN note IS NOT NULL THEN 'purged' END, \
             waive_reason = CASE WHEN waive_reason IS NOT NULL THEN 'purged' END \
             WHERE tenant_id = $1 AND case_id IN \
             (SELECT id FROM cases WHERE tenant_id = $1 AND subject_id = $2)",
            "UPDATE findings SET waive_reason = \
             CASE WHEN waive_reason IS NOT NULL THEN 'purged' END \
             WHERE tenant_id = $1 AND case_id IN \
             (SELECT id FROM cases WHERE tenant_id = $1 AND subject_id = $2)",
            "UPDATE cases SET close_reason = CASE WHEN close_reason IS NOT NULL THEN 'purged' END \
             WHERE tenant_id = $1 AND subject_id = $2",
        ];
        // Evidence keeps its metadata; its bytes (in `content`, from before files were sealed)
        // and its blob reference go.
        self.run(
            "UPDATE evidence SET blob_id = NULL, content = $3, file_name = 'purged' \
             WHERE tenant_id = $1 AND case_id IN \
             (SELECT id FROM cases WHERE tenant_id = $1 AND subject_id = $2)",
            args![tenant.0, subject.0, &[] as &[u8]],
        )
        .await?;
        for sql in statements {
            self.run(sql, args![tenant.0, subject.0]).await?;
        }
        self.run(
            "UPDATE subjects SET name = 'purged', attributes = '{}', state = 'purged', \
             updated_at_us = $3 WHERE tenant_id = $1 AND id = $2",
            args![tenant.0, subject.0, us(at)],
        )
        .await?;
        Ok(())
    }

    async fn erase_audit_payloads(&mut self, tenant: TenantId, seqs: &[i64]) -> Result<()> {
        for seq in seqs {
            self.run(
                "UPDATE audit_events SET payload = NULL WHERE tenant_id = $1 AND seq = $2",
                args![tenant.0, *seq],
            )
            .await?;
        }
        Ok(())
    }

    async fn insert_tombstone(&mut self, t: &Tombstone) -> Result<()> {
        self.run(
            "INSERT INTO tombstones (tenant_id, subject_id, subject_kind, case_id, purged_at_us, \
             purged_by, digest, summary) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            args![
                t.tenant_id.0,
                t.subject_id.0,
                t.subject_kind.as_str(),
                t.case_id.0,
                us(t.purged_at),
                &t.purged_by,
                &t.digest,
                &t.summary,
            ],
        )
        .await?;
        Ok(())
    }

    async fn tombstones(&mut self, tenant: TenantId) -> Result<Vec<Tombstone>> {
        self.all(
            "SELECT tenant_id, subject_id, subject_kind, case_id, purged_at_us, purged_by, digest, \
             summary FROM tombstones WHERE tenant_id = $1 ORDER BY purged_at_us, subject_id",
            args![tenant.0],
            |r| {
                Ok(Tombstone {
                    tenant_id: TenantId(r.uuid("tenant_id")?),
                    subject_id: SubjectId(r.uuid("subject_id")?),
                    subject_kind: r
                        .text("subject_kind")?
                        .parse()
                        .map_err(corrupt("subject kind"))?,
                    case_id: CaseId(r.uuid("case_id")?),
                    purged_at: from_us(r.int("purged_at_us")?)?,
                    purged_by: r.text("purged_by")?.to_owned(),
                    digest: hash(r.bytes("digest")?)?,
                    summary: r.text("summary")?.to_owned(),
                })
            },
        )
        .await
    }

    async fn renew_export_lease(
        &mut self,
        tenant: TenantId,
        id: ExportId,
        attempt: i64,
        until: Timestamp,
    ) -> Result<bool> {
        let changed = self
            .run(
                "UPDATE exports SET lease_until_us = $4 WHERE tenant_id = $1 AND id = $2 \
                 AND status = 'building' AND attempts = $3",
                args![tenant.0, id.0, attempt, us(until)],
            )
            .await?;
        Ok(changed == 1)
    }

    async fn set_record_file(&mut self, tenant: TenantId, f: &RecordFile) -> Result<()> {
        self.run(
            "INSERT INTO record_files (tenant_id, record_id, blob_id, file_name, media_type, \
             added_by, added_at_us) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (tenant_id, record_id) DO UPDATE SET blob_id = excluded.blob_id, \
             file_name = excluded.file_name, media_type = excluded.media_type, \
             added_by = excluded.added_by, added_at_us = excluded.added_at_us",
            args![
                tenant.0,
                f.record_id.0,
                f.blob.id.0,
                &f.file_name,
                &f.media_type,
                f.added_by.0,
                us(f.added_at),
            ],
        )
        .await?;
        Ok(())
    }

    async fn record_files(
        &mut self,
        tenant: TenantId,
        subject: SubjectId,
    ) -> Result<Vec<RecordFile>> {
        self.all(
            &format!(
                "SELECT f.record_id, f.file_name, f.media_type, f.added_by, f.added_at_us, \
                 {BLOB_COLUMNS} FROM record_files f \
                 JOIN blobs b ON b.tenant_id = f.tenant_id AND b.id = f.blob_id \
                 WHERE f.tenant_id = $1 AND b.subject_id = $2 ORDER BY f.added_at_us, f.record_id"
            ),
            args![tenant.0, subject.0],
            |r| {
                Ok(RecordFile {
                    record_id: RecordId(r.uuid("record_id")?),
                    file_name: r.text("file_name")?.to_owned(),
                    media_type: r.text("media_type")?.to_owned(),
                    added_by: UserId(r.uuid("added_by")?),
                    added_at: from_us(r.int("added_at_us")?)?,
                    blob: blob_row(r)?,
                })
            },
        )
        .await
    }

    async fn insert_hold(&mut self, h: &LegalHold) -> Result<()> {
        self.run(
            "INSERT INTO legal_holds (tenant_id, id, subject_id, reason, placed_by, placed_at_us) \
             VALUES ($1, $2, $3, $4, $5, $6)",
            args![
                h.tenant_id.0,
                h.id.0,
                h.subject_id.map(|s| s.0),
                &h.reason,
                h.placed_by.0,
                us(h.placed_at),
            ],
        )
        .await?;
        Ok(())
    }

    async fn lift_hold(&mut self, tenant: TenantId, id: HoldId, lift: &HoldLift) -> Result<bool> {
        let changed = self
            .run(
                "UPDATE legal_holds SET lifted_by = $3, lifted_at_us = $4, lift_reason = $5 \
                 WHERE tenant_id = $1 AND id = $2 AND lifted_at_us IS NULL",
                args![tenant.0, id.0, lift.by.0, us(lift.at), &lift.reason],
            )
            .await?;
        Ok(changed == 1)
    }

    async fn hold(&mut self, tenant: TenantId, id: HoldId) -> Result<Option<LegalHold>> {
        let sql = format!("{HOLD_SELECT} WHERE h.tenant_id = $1 AND h.id = $2");
        self.optional(&sql, args![tenant.0, id.0], |r| hold_row(r))
            .await
    }

    async fn holds(
        &mut self,
        tenant: TenantId,
        subject: Option<SubjectId>,
    ) -> Result<Vec<LegalHold>> {
        let sql = format!(
            "{HOLD_SELECT} WHERE h.tenant_id = $1 \
             AND ($2 IS NULL OR h.subject_id IS NULL OR h.subject_id = $2) \
             ORDER BY h.placed_at_us DESC, h.id DESC"
        );
        self.all(&sql, args![tenant.0, subject.map(|s| s.0)], |r| hold_row(r))
            .await
    }

    async fn revocations(
        &mut self,
        tenant: TenantId,
        case: CaseId,
        subject: SubjectId,
    ) -> Result<Vec<Revocation>> {
        self.all(
            "SELECT r.id, r.subject_id, r.number, r.kind, r.fields, v.status, v.note, \
             v.revoked_at_us, v.verified_at_us, v.changed_by, v.changed_at_us, v.evidence \
             FROM records r LEFT JOIN revocations v \
             ON v.tenant_id = r.tenant_id AND v.case_id = $2 AND v.record_id = r.id \
             WHERE r.tenant_id = $1 AND r.subject_id = $3 AND r.kind IN ('account', 'integration') \
             ORDER BY r.number",
            args![tenant.0, case.0, subject.0],
            |r| revocation_row(r),
        )
        .await
    }

    async fn upsert_revocation(
        &mut self,
        tenant: TenantId,
        case: CaseId,
        item: &Revocation,
    ) -> Result<()> {
        let Some(at) = item.changed_at else {
            return Err(StoreError::Refused(format!(
                "revocation of record {} was never changed; nothing to store",
                item.record_number
            )));
        };
        let evidence = item.evidence.as_ref().map(to_json);
        self.run(
            "INSERT INTO revocations (tenant_id, case_id, record_id, status, note, revoked_at_us, \
             verified_at_us, changed_by, changed_at_us, evidence) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
             ON CONFLICT (tenant_id, case_id, record_id) DO UPDATE SET status = excluded.status, \
             note = excluded.note, revoked_at_us = excluded.revoked_at_us, \
             verified_at_us = excluded.verified_at_us, changed_by = excluded.changed_by, \
             changed_at_us = excluded.changed_at_us, evidence = excluded.evidence",
            args![
                tenant.0,
                case.0,
                item.record_id.0,
                item.status.as_str(),
                item.note.as_deref(),
                item.revoked_at.map(us),
                item.verified_at.map(us),
                item.changed_by.map(|u| u.0),
                us(at),
                evidence.as_deref(),
            ],
        )
        .await?;
        Ok(())
    }

    async fn upsert_subscription(&mut self, w: &SubscriptionRow) -> Result<()> {
        self.run(
            "INSERT INTO webhook_subscriptions (tenant_id, name, settings, sealed_secret, cursor_seq, \
             last_error, updated_by, updated_at_us) VALUES ($1, $2, $3, $4, $5, NULL, $6, $7) \
             ON CONFLICT (tenant_id, name) DO UPDATE SET settings = excluded.settings, \
             sealed_secret = excluded.sealed_secret, last_error = NULL, \
             updated_by = excluded.updated_by, updated_at_us = excluded.updated_at_us",
            args![
                w.tenant_id.0,
                w.name.as_str(),
                &w.settings,
                &w.sealed_secret,
                w.cursor_seq,
                w.updated_by.0,
                us(w.updated_at),
            ],
        )
        .await?;
        Ok(())
    }

    async fn subscriptions(&mut self, tenant: Option<TenantId>) -> Result<Vec<SubscriptionRow>> {
        self.all(
            "SELECT tenant_id, name, settings, sealed_secret, cursor_seq, last_error, updated_by, \
             updated_at_us FROM webhook_subscriptions WHERE $1 IS NULL OR tenant_id = $1 \
             ORDER BY tenant_id, name",
            args![tenant.map(|t| t.0)],
            |r| subscription_row(r),
        )
        .await
    }

    async fn delete_subscription(&mut self, tenant: TenantId, name: &Slug) -> Result<bool> {
        let deleted = self
            .run(
                "DELETE FROM webhook_subscriptions WHERE tenant_id = $1 AND name = $2",
                args![tenant.0, name.as_str()],
            )
            .await?;
        Ok(deleted == 1)
    }

    async fn advance_subscription(
        &mut self,
        tenant: TenantId,
        name: &Slug,
        cursor_seq: i64,
        last_error: Option<&str>,
    ) -> Result<()> {
        self.run(
            "UPDATE webhook_subscriptions SET cursor_seq = CASE WHEN cursor_seq > $3 THEN cursor_seq \
             ELSE $3 END, last_error = $4 WHERE tenant_id = $1 AND name = $2",
            args![tenant.0, name.as_str(), cursor_seq, last_error],
        )
        .await?;
        Ok(())
    }

    async fn email_templates(&mut self, tenant: TenantId) -> Result<Vec<(String, String, String)>> {
        self.all(
            "SELECT kind, subject, body FROM email_templates WHERE tenant_id = $1 ORDER BY kind",
            args![tenant.0],
            |r| {
                Ok((
                    r.text("kind")?.to_owned(),
                    r.text("subject")?.to_owned(),
                    r.text("body")?.to_owned(),
                ))
            },
        )
        .await
    }

    async fn set_email_template(
        &mut self,
        tenant: TenantId,
        kind: &str,
        subject: &str,
        body: &str,
        by: UserId,
        at: Timestamp,
    ) -> Result<()> {
        self.run(
            "INSERT INTO email_templates (tenant_id, kind, subject, body, updated_by, updated_at_us) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (tenant_id, kind) DO UPDATE SET \
             subject = excluded.subject, body = excluded.body, updated_by = excluded.updated_by, \
             updated_at_us = excluded.updated_at_us",
            args![tenant.0, kind, subject, body, by.0, us(at)],
        )
        .await?;
        Ok(())
    }

    async fn delete_email_template(&mut self, tenant: TenantId, kind: &str) -> Result<bool> {
        let deleted = self
            .run(
                "DELETE FROM email_templates WHERE tenant_id = $1 AND kind = $2",
                args![tenant.0, kind],
            )
            .await?;
        Ok(deleted == 1)
    }

    async fn email_opt_outs(&mut self, tenant: TenantId, user: UserId) -> Result<Vec<String>> {
        self.all(
            "SELECT kind FROM email_opt_outs WHERE tenant_id = $1 AND user_id = $2 ORDER BY kind",
            args![tenant.0, user.0],
            |r| Ok(r.text("kind")?.to_owned()),
        )
        .await
    }

    async fn set_email_opt_out(
        &mut self,
        tenant: TenantId,
        user: UserId,
        kind: &str,
        out: bool,
    ) -> Result<()> {
        let sql = if out {
            "INSERT INTO email_opt_outs (tenant_id, user_id, kind) VALUES ($1, $2, $3) \
             ON CONFLICT (tenant_id, user_id, kind) DO NOTHING"
        } else {
            "DELETE FROM email_opt_outs WHERE tenant_id = $1 AND user_id = $2 AND kind = $3"
        };
        self.run(sql, args![tenant.0, user.0, kind]).await?;
        Ok(())
    }

    async fn reminder_sent(&mut self, tenant: TenantId, key: &str) -> Result<bool> {
        Ok(self
            .optional(
                "SELECT sent_at_us FROM reminders WHERE tenant_id = $1 AND key = $2",
                args![tenant.0, key],
                |r| r.int("sent_at_us"),
            )
            .await?
            .is_some())
    }

    async fn insert_reminder(
        &mut self,
        tenant: TenantId,
        key: &str,
        at: Timestamp,
    ) -> Result<bool> {
        let inserted = self
            .run(
                "INSERT INTO reminders (tenant_id, key, sent_at_us) VALUES ($1, $2, $3) \
                 ON CONFLICT (tenant_id, key) DO NOTHING",
                args![tenant.0, key, us(at)],
            )
            .await?;
        Ok(inserted == 1)
    }

    async fn upsert_connector(&mut self, c: &ConnectorRow) -> Result<()> {
        self.run(
            "INSERT INTO connectors (tenant_id, name, kind, settings, sealed_secret, updated_by, \
             updated_at_us) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (tenant_id, name) DO UPDATE SET kind = excluded.kind, \
             settings = excluded.settings, sealed_secret = excluded.sealed_secret, \
             updated_by = excluded.updated_by, updated_at_us = excluded.updated_at_us",
            args![
                c.tenant_id.0,
                c.name.as_str(),
                c.kind.as_str(),
                &c.settings,
                &c.sealed_secret,
                c.updated_by.0,
                us(c.updated_at),
            ],
        )
        .await?;
        Ok(())
    }

    async fn connectors(&mut self, tenant: TenantId) -> Result<Vec<ConnectorRow>> {
        self.all(
            "SELECT tenant_id, name, kind, settings, sealed_secret, updated_by, updated_at_us \
             FROM connectors WHERE tenant_id = $1 ORDER BY name",
            args![tenant.0],
            |r| connector_row(r),
        )
        .await
    }

    async fn connector(&mut self, tenant: TenantId, name: &str) -> Result<Option<ConnectorRow>> {
        self.optional(
            "SELECT tenant_id, name, kind, settings, sealed_secret, updated_by, updated_at_us \
             FROM connectors WHERE tenant_id = $1 AND name = $2",
            args![tenant.0, name],
            |r| connector_row(r),
        )
        .await
    }

    async fn delete_connector(&mut self, tenant: TenantId, name: &Slug) -> Result<bool> {
        let deleted = self
            .run(
                "DELETE FROM connectors WHERE tenant_id = $1 AND name = $2",
                args![tenant.0, name.as_str()],
            )
            .await?;
        Ok(deleted == 1)
    }

    async fn insert_signing_key(&mut self, k: &SigningKeyRow) -> Result<()> {
        self.run(
            "INSERT INTO signing_keys (tenant_id, kid, public_key, sealed_private_key, created_at_us) \
             VALUES ($1, $2, $3, $4, $5)",
            args![
                k.tenant_id.0,
                &k.kid,
                &k.public_key,
                &k.sealed_private_key,
                us(k.created_at),
            ],
        )
        .await?;
        Ok(())
    }

    async fn signing_keys(&mut self, tenant: Option<TenantId>) -> Result<Vec<SigningKeyRow>> {
        self.all(
            "SELECT tenant_id, kid, public_key, sealed_private_key, created_at_us FROM signing_keys \
             WHERE $1 IS NULL OR tenant_id = $1 ORDER BY created_at_us DESC, kid",
            args![tenant.map(|t| t.0)],
            |r| signing_key_row(r),
        )
        .await
    }

    async fn insert_certificate(&mut self, tenant: TenantId, c: &CertificateRow) -> Result<()> {
        self.run(
            "INSERT INTO certificates (tenant_id, case_id, kid, token, issued_at_us) \
             VALUES ($1, $2, $3, $4, $5)",
            args![tenant.0, c.case_id.0, &c.kid, &c.token, us(c.issued_at)],
        )
        .await?;
        Ok(())
    }

    async fn certificate(
        &mut self,
        tenant: TenantId,
        case: CaseId,
    ) -> Result<Option<CertificateRow>> {
        self.optional(
            "SELECT case_id, kid, token, issued_at_us FROM certificates \
             WHERE tenant_id = $1 AND case_id = $2",
            args![tenant.0, case.0],
            |r| certificate_row(r),
        )
        .await
    }

    async fn set_retention(&mut self, tenant: TenantId, p: &RetentionPolicy) -> Result<()> {
        let period = p.period.to_string();
        self.run(
            "INSERT INTO retention_policies (tenant_id, subject_kind, period, set_by, set_at_us) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant_id, subject_kind) DO UPDATE SET \
             period = excluded.period, set_by = excluded.set_by, set_at_us = excluded.set_at_us",
            args![
                tenant.0,
                p.kind.map_or(ANY_KIND, SubjectKind::as_str),
                &period,
                p.set_by.0,
                us(p.set_at),
            ],
        )
        .await?;
        Ok(())
    }

    async fn retention_policies(&mut self, tenant: TenantId) -> Result<Vec<RetentionPolicy>> {
        self.all(
            "SELECT subject_kind, period, set_by, set_at_us FROM retention_policies \
             WHERE tenant_id = $1 ORDER BY subject_kind <> '*', subject_kind",
            args![tenant.0],
            |r| retention_row(r),
        )
        .await
    }

    async fn append_audit(
        &mut self,
        tenant: TenantId,
        at: Timestamp,
        draft: AuditDraft,
    ) -> Result<AuditEvent> {
        let prev = self.audit_head_for_update(tenant).await?;
        let event = AuditEvent::chain(tenant, prev, at, draft);
        self.run(
            "INSERT INTO audit_events (tenant_id, seq, at_us, actor, action, target_kind, target_id, payload, payload_digest, hash) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            args![
                tenant.0,
                event.seq,
                event.at_us,
                &event.actor,
                &event.action,
                &event.target_kind,
                &event.target_id,
                event.payload.as_deref(),
                &event.payload_digest,
                &event.hash,
            ],
        )
        .await?;
        self.move_audit_head(tenant, event.seq, &event.hash).await?;
        Ok(event)
    }

    async fn import_audit_events(&mut self, tenant: TenantId, events: &[AuditEvent]) -> Result<()> {
        /// Rows per INSERT: 1,000 values, well under either backend's limit on placeholders.
        const ROWS: usize = 100;
        let (Some(first), Some(last)) = (events.first(), events.last()) else {
            return Ok(());
        };
        let (head_seq, _) = self.audit_head_for_update(tenant).await?;
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
            let values: Vec<Arg<'_>> = chunk
                .iter()
                .flat_map(|e| {
                    [
                        tenant.0.into(),
                        e.seq.into(),
                        e.at_us.into(),
                        (&e.actor).into(),
                        (&e.action).into(),
                        (&e.target_kind).into(),
                        (&e.target_id).into(),
                        e.payload.as_deref().into(),
                        (&e.payload_digest).into(),
                        (&e.hash).into(),
                    ]
                })
                .collect();
            self.run(&sql, &values).await?;
        }
        self.move_audit_head(tenant, last.seq, &last.hash).await
    }

    async fn audit_head(&mut self, tenant: TenantId) -> Result<Option<(i64, Hash)>> {
        self.optional(
            "SELECT seq, hash FROM audit_heads WHERE tenant_id = $1",
            args![tenant.0],
            |r| head_row(r),
        )
        .await
    }

    async fn audit_events(&mut self, tenant: TenantId, f: &AuditFilter) -> Result<Vec<AuditEvent>> {
        let sql = format!(
            "SELECT {AUDIT_COLUMNS} FROM audit_events WHERE tenant_id = $1 AND seq > $2 \
             AND ($4 IS NULL OR action = $4) AND ($5 IS NULL OR actor = $5) \
             AND ($6 IS NULL OR target_kind = $6) AND ($7 IS NULL OR target_id = $7) \
             AND ($8 IS NULL OR at_us >= $8) AND ($9 IS NULL OR at_us < $9) {concern} \
             ORDER BY seq LIMIT $3",
            concern = concern_sql(f.concerning.as_ref()),
        );
        self.all(
            &sql,
            args![
                tenant.0,
                f.after_seq,
                f.limit,
                f.action.as_deref(),
                f.actor.as_deref(),
                f.target_kind.as_deref(),
                f.target_id.as_deref(),
                f.from.map(us),
                f.to.map(us),
                f.concerning.as_ref().and_then(|c| c.subject_key.as_deref()),
            ],
            |r| audit_row(tenant, r),
        )
        .await
    }
}

const NOTIFICATION_COLUMNS: &str = "id, user_id, kind, summary, link, created_at_us, read_at_us";

fn notification_row<R: Row>(r: &R) -> Result<Notification> {
    Ok(Notification {
        id: NotificationId(r.uuid("id")?),
        user_id: UserId(r.uuid("user_id")?),
        kind: r.text("kind")?.to_owned(),
        summary: r.text("summary")?.to_owned(),
        link: r.text("link")?.to_owned(),
        created_at: from_us(r.int("created_at_us")?)?,
        read_at: opt_from_us(r.opt_int("read_at_us")?)?,
    })
}

/// How many values each settle binds, in [`settles_cte`]'s order.
const SETTLE_VALUES: usize = 7;

/// The CTE `settles`, one row per job's settle with its values from `$1` on (see
/// [`settle_args`]). The column names are distinct from the jobs table's, so that [`SETTLE`]
/// needs no qualified names, which SQLite's `RETURNING` does not take.
fn settles_cte(count: usize) -> String {
    let rows: Vec<String> = (0..count)
        .map(|i| {
            let first = SETTLE_VALUES * i + 1;
            let values: Vec<String> = (first..first + SETTLE_VALUES)
                .map(|n| format!("${n}"))
                .collect();
            format!("({})", values.join(", "))
        })
        .collect();
    format!(
        "settles (settle_tenant, settle_id, settle_attempt, settle_status, settle_run_at, \
         settle_error, settle_finished) AS (VALUES {})",
        rows.join(", ")
    )
}

/// Records each settle in `settles`: the job's status, due again at `settle_run_at` (a retry),
/// its error, when it finished. Fenced by the attempt: a worker whose lease was taken over
/// changes nothing. Answers the ids of the jobs it settled.
const SETTLE: &str = "UPDATE jobs SET status = settle_status, \
    run_at_us = COALESCE(settle_run_at, run_at_us), last_error = COALESCE(settle_error, last_error), \
    finished_at_us = settle_finished, lease_until_us = NULL FROM settles \
    WHERE tenant_id = settle_tenant AND id = settle_id AND attempts = settle_attempt \
    AND status = 'running' RETURNING id";

/// For each of `settles`, in order, whether [`SETTLE`] recorded it (its id among `ids`).
fn settled_in_order(settles: &[JobSettle<'_>], ids: &[Uuid]) -> Vec<bool> {
    settles.iter().map(|s| ids.contains(&s.id.0)).collect()
}

/// The values of [`settles_cte`], [`SETTLE_VALUES`] for each settle.
fn settle_args<'a>(settles: &[JobSettle<'a>]) -> Vec<Arg<'a>> {
    let mut args = Vec::with_capacity(SETTLE_VALUES * settles.len());
    for settle in settles {
        let at = settle.at;
        let (status, run_at, error, finished) = match settle.end {
            JobEnd::Done => (JobStatus::Done, None, None, Some(at)),
            JobEnd::Retry { at: again, error } => {
                (JobStatus::Queued, Some(again), Some(error), None)
            }
            JobEnd::Dead { error } => (JobStatus::Dead, None, Some(error), Some(at)),
        };
        args.extend_from_slice(args![
            settle.tenant.0,
            settle.id.0,
            settle.attempt,
            status.as_str(),
            run_at.map(us),
            error,
            finished.map(us),
        ]);
    }
    args
}

/// The values of [`claim_statement`]'s parameters, in order.
fn claim_args<'a>(
    now: Timestamp,
    lease_until: Timestamp,
    worker: &'a str,
    limit: u32,
) -> [Arg<'a>; 4] {
    *args![us(now), us(lease_until), worker, i64::from(limit)]
}

/// The claim: jobs whose worker died (their lease ran out) first, else the queued jobs due
/// longest: two short walks of the partial indexes `jobs_leased` and `jobs_queued`, the second
/// only when the first found nothing, in one statement. Its parameters are at `$first` (now),
/// then the lease's end, the worker and how many jobs to take at most (see [`claim_args`]).
///
/// On PostgreSQL the picks are CTEs, evaluated once (they lock rows, so they are never
/// inlined): as an `IN (subquery)` the planner may rerun a pick for every row it scans, and
/// with SKIP LOCKED each rerun picks other jobs. SQLite may evaluate `expired` twice, which
/// its single writer makes harmless. The test is repeated in the UPDATE for the same reason as
/// in claim_export; on PostgreSQL SKIP LOCKED also lets concurrent workers pass over a row
/// another one is taking instead of queueing behind it.
///
/// With `settling` (the CTEs `settles` and `settled`, an [`SETTLE`] of the values before
/// `$first`), the statement settles first, passes over the jobs it settles, and answers a row
/// per claimed job, or one row of nulls when it claimed none, each with the ids of the jobs it
/// settled (`settled`, separated by commas).
fn claim_statement(skip: &str, first: usize, settling: Option<&str>) -> String {
    let (now, lease, worker, limit) = (first, first + 1, first + 2, first + 3);
    let expired = format!("status = 'running' AND lease_until_us < ${now}");
    let due = format!("status = 'queued' AND run_at_us <= ${now}");
    let (settle_ctes, not_settled) = match settling {
        Some(ctes) => (
            format!("{ctes}, "),
            " AND (tenant_id, id) NOT IN (SELECT settle_tenant, settle_id FROM settles)",
        ),
        None => (String::new(), ""),
    };
    let claim = format!(
        "UPDATE jobs SET status = 'running', attempts = attempts + 1, lease_until_us = ${lease}, \
         worker = ${worker} FROM picked WHERE tenant_id = picked_tenant AND id = picked_id \
         AND (({expired}) OR ({due})) RETURNING {JOB_COLUMNS}"
    );
    let picks = format!(
        "WITH {settle_ctes}expired AS (SELECT tenant_id AS picked_tenant, id AS picked_id FROM jobs \
         WHERE {expired}{not_settled} ORDER BY lease_until_us LIMIT ${limit}{skip}), \
         due AS (SELECT tenant_id AS picked_tenant, id AS picked_id FROM jobs \
         WHERE {due} AND NOT EXISTS (SELECT 1 FROM expired) ORDER BY run_at_us LIMIT ${limit}{skip}), \
         picked AS (SELECT picked_tenant, picked_id FROM expired \
         UNION ALL SELECT picked_tenant, picked_id FROM due)"
    );
    match settling {
        None => format!("{picks} {claim}"),
        Some(_) => format!(
            "{picks}, claimed AS ({claim}) SELECT \
             (SELECT string_agg(id::text, ',') FROM settled) AS settled, \
             claimed.* FROM (SELECT 1 AS one) AS one LEFT JOIN claimed ON true"
        ),
    }
}

const JOB_COLUMNS: &str = "tenant_id, id, kind, payload, idempotency_key, case_id, status, \
    attempts, max_attempts, run_at_us, lease_until_us, worker, last_error, created_at_us, \
    finished_at_us";

fn job_row<R: Row>(r: &R) -> Result<Job> {
    let status = r.text("status")?;
    Ok(Job {
        tenant_id: TenantId(r.uuid("tenant_id")?),
        id: JobId(r.uuid("id")?),
        kind: r.text("kind")?.to_owned(),
        payload: r.text("payload")?.to_owned(),
        idempotency_key: r.text("idempotency_key")?.to_owned(),
        case_id: r.opt_uuid("case_id")?.map(CaseId),
        status: JobStatus::parse(status)
            .ok_or_else(|| StoreError::Corrupt(format!("job status {status}")))?,
        attempts: r.int("attempts")?,
        max_attempts: r.int("max_attempts")?,
        run_at: from_us(r.int("run_at_us")?)?,
        lease_until: opt_from_us(r.opt_int("lease_until_us")?)?,
        worker: r.opt_text("worker")?.map(str::to_owned),
        last_error: r.opt_text("last_error")?.map(str::to_owned),
        created_at: from_us(r.int("created_at_us")?)?,
        finished_at: opt_from_us(r.opt_int("finished_at_us")?)?,
    })
}

/// A `LIKE` pattern (with `\` as its escape) matching text that contains `needle`, lowercased.
fn contains_pattern(needle: &str) -> String {
    let mut pattern = String::from("%");
    for c in needle.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// The condition that an audit event concerns `c`: the subject itself or one of its records
/// (the key is bound as `$10`, null when there is none), or one of the cases, whose numbers
/// are written into the SQL as integers. Task, export and revocation events are named
/// `<case>/…`. Every statement names `$10`, since both backends refuse an unused parameter.
fn concern_sql(c: Option<&Concern>) -> String {
    let Some(c) = c else {
        return "AND $10 IS NULL".to_owned();
    };
    let mut terms = vec![
        "($10 IS NOT NULL AND ((target_kind = 'subject' AND target_id = $10) \
         OR (target_kind = 'record' AND substr(target_id, 1, length($10) + 1) = $10 || '/')))"
            .to_owned(),
    ];
    if !c.cases.is_empty() {
        let numbers: Vec<String> = c.cases.iter().map(|n| format!("'{n}'")).collect();
        let prefixes: Vec<String> = c
            .cases
            .iter()
            .map(|n| format!("target_id LIKE '{n}/%'"))
            .collect();
        terms.push(format!(
            "(target_kind = 'case' AND target_id IN ({})) \
             OR (target_kind IN ('task', 'export', 'revocation') AND ({}))",
            numbers.join(", "),
            prefixes.join(" OR ")
        ));
    }
    format!("AND ({})", terms.join(" OR "))
}
