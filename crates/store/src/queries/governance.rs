//! Legal holds, retention policies, purges and the tombstones they leave.

use engine::governance::{HoldLift, LegalHold, Retention, RetentionPolicy};
use engine::ids::{CaseId, HoldId, SubjectId, SubjectKey, TenantId, UserId};
use engine::subject::SubjectKind;
use jiff::Timestamp;

use crate::model::{PurgeCandidate, Tombstone};
use crate::sql::{Row, args};
use crate::{Result, StoreError};

use super::*;

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

impl Tx {
    /// Completed cases whose subjects are offboarded and not purged; in one tenant, or in all
    /// (the purge scheduler, which then works inside each tenant).
    pub async fn purge_candidates(
        &mut self,
        tenant: Option<TenantId>,
    ) -> Result<Vec<PurgeCandidate>> {
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

    /// Destroys a subject's data: its records and their files, every blob of its (evidence
    /// and export packages too) and, once this commits, its data key (queued for the
    /// keyring's shred); erases its name and attributes and marks it
    /// purged. Its cases, tasks and history stay.
    pub async fn purge_subject(
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
            // A lifted hold stays on record (who, when); why it was placed and lifted may
            // name the subject's people.
            "UPDATE legal_holds SET reason = 'purged', \
             lift_reason = CASE WHEN lift_reason IS NOT NULL THEN 'purged' END \
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
        self.queue_key_shred(tenant, subject, at).await
    }

    /// Erases the payloads of every audit event about the subject, and answers their payload
    /// digests in chain order (what the tombstone's digest covers). The events' hashes cover
    /// the digests, so the chain stays whole.
    pub async fn erase_subject_audit_payloads(
        &mut self,
        tenant: TenantId,
        subject: SubjectId,
    ) -> Result<Vec<[u8; 32]>> {
        let digests = self
            .all(
                "SELECT payload_digest FROM audit_events WHERE tenant_id = $1 AND subject_id = $2 \
                 AND payload IS NOT NULL ORDER BY seq",
                args![tenant.0, subject.0],
                |r| {
                    r.bytes("payload_digest")?
                        .try_into()
                        .map_err(|_| StoreError::Corrupt("an audit payload digest".into()))
                },
            )
            .await?;
        self.run(
            "UPDATE audit_events SET payload = NULL WHERE tenant_id = $1 AND subject_id = $2 \
             AND payload IS NOT NULL",
            args![tenant.0, subject.0],
        )
        .await?;
        Ok(digests)
    }

    /// Ends a staff user who was the purged employee: their sessions and tokens are revoked,
    /// their password, name and email go, and no lookup by email finds them again. The row and
    /// its id stay: the audit chain names its actors by id.
    pub async fn end_user(&mut self, tenant: TenantId, user: UserId, at: Timestamp) -> Result<()> {
        self.revoke_sessions(tenant, user, None, at).await?;
        self.run(
            "UPDATE api_tokens SET revoked_at_us = $3 \
             WHERE tenant_id = $1 AND user_id = $2 AND revoked_at_us IS NULL",
            args![tenant.0, user.0, us(at)],
        )
        .await?;
        let email = format!("purged-{}@purged.invalid", user.0);
        self.run(
            "UPDATE users SET name = 'purged', email = $3, password_hash = NULL, ended_at_us = $4 \
             WHERE tenant_id = $1 AND id = $2",
            args![tenant.0, user.0, &email, us(at)],
        )
        .await?;
        Ok(())
    }

    /// Erases the payload of every audit event of the tenant that holds one of `texts` (as
    /// JSON writes it inside a string); returns the erased payloads' digests, in order. A scan
    /// of the tenant's log: only a purge calls it.
    pub async fn erase_audit_payloads_mentioning(
        &mut self,
        tenant: TenantId,
        texts: &[&str],
    ) -> Result<Vec<[u8; 32]>> {
        let mut digests = Vec::new();
        for text in texts {
            // As JSON writes it inside a string, matched without regard to case.
            let inside = serde_json::to_string(text).unwrap_or_default();
            let pattern = contains_pattern(inside.trim_matches('"'));
            let found: Vec<[u8; 32]> = self
                .all(
                    "SELECT payload_digest FROM audit_events WHERE tenant_id = $1 \
                     AND lower(payload) LIKE $2 ESCAPE '\\' ORDER BY seq",
                    args![tenant.0, &pattern],
                    |r| {
                        r.bytes("payload_digest")?
                            .try_into()
                            .map_err(|_| StoreError::Corrupt("an audit payload digest".into()))
                    },
                )
                .await?;
            digests.extend(found);
            self.run(
                "UPDATE audit_events SET payload = NULL WHERE tenant_id = $1 \
                 AND lower(payload) LIKE $2 ESCAPE '\\'",
                args![tenant.0, &pattern],
            )
            .await?;
        }
        Ok(digests)
    }

    pub async fn insert_tombstone(&mut self, t: &Tombstone) -> Result<()> {
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

    pub async fn tombstones(&mut self, tenant: TenantId) -> Result<Vec<Tombstone>> {
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

    pub async fn insert_hold(&mut self, h: &LegalHold) -> Result<()> {
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

    /// Records the lift of a hold that still stands; false when it was lifted already.
    pub async fn lift_hold(
        &mut self,
        tenant: TenantId,
        id: HoldId,
        lift: &HoldLift,
    ) -> Result<bool> {
        let changed = self
            .run(
                "UPDATE legal_holds SET lifted_by = $3, lifted_at_us = $4, lift_reason = $5 \
                 WHERE tenant_id = $1 AND id = $2 AND lifted_at_us IS NULL",
                args![tenant.0, id.0, lift.by.0, us(lift.at), &lift.reason],
            )
            .await?;
        Ok(changed == 1)
    }

    pub async fn hold(&mut self, tenant: TenantId, id: HoldId) -> Result<Option<LegalHold>> {
        let sql = format!("{HOLD_SELECT} WHERE h.tenant_id = $1 AND h.id = $2");
        self.optional(&sql, args![tenant.0, id.0], |r| hold_row(r))
            .await
    }

    /// The tenant's holds, newest first; with `subject`, those on it and those on the whole
    /// tenant.
    pub async fn holds(
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

    pub async fn set_retention(&mut self, tenant: TenantId, p: &RetentionPolicy) -> Result<()> {
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

    /// The tenant's policies, its default (kind `None`) first.
    pub async fn retention_policies(&mut self, tenant: TenantId) -> Result<Vec<RetentionPolicy>> {
        self.all(
            "SELECT subject_kind, period, set_by, set_at_us FROM retention_policies \
             WHERE tenant_id = $1 ORDER BY subject_kind <> '*', subject_kind",
            args![tenant.0],
            |r| retention_row(r),
        )
        .await
    }
}
