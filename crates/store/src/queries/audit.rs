//! The hash-chained audit log: appending, importing, reading, and the head.

use engine::audit::{AuditDraft, AuditEvent, Hash};
use engine::ids::{SubjectId, TenantId};
use jiff::Timestamp;

use crate::model::{AuditFilter, Concern};
use crate::sql::{Arg, Row, args};
use crate::{Result, StoreError};

use super::*;

const AUDIT_COLUMNS: &str = "seq, at_us, actor, action, target_kind, target_id, payload, \
     payload_digest, hash, subject_id, format";

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
        subject_id: r.opt_uuid(9)?.map(SubjectId),
        format: u8::try_from(r.int(10)?).map_err(corrupt("format"))?,
    })
}

fn head_row(r: &impl Row) -> Result<(i64, Hash)> {
    Ok((r.int("seq")?, hash(r.bytes("hash")?)?))
}

/// The case an event is about, when its target is a case or a part of one (`12`, `12/revoke`):
/// stored beside the event, so that a case's timeline reads an index of its own events.
fn case_number_of(target_kind: &str, target_id: &str) -> Option<i64> {
    match target_kind {
        "case" | "task" | "export" | "revocation" => {
            target_id.split('/').next().and_then(|n| n.parse().ok())
        }
        _ => None,
    }
}

/// The audit listing's statement for `f`, in chain order.
pub(super) fn audit_listing(tenant: TenantId, f: &AuditFilter) -> (String, Conditions<'_>) {
    let mut w = Conditions::new("tenant_id = {}", tenant.0);
    w.and("seq > {}", f.after_seq)
        .and_some("seq < {}", f.before_seq)
        .and_some("action = {}", f.action.as_deref())
        .and_some("actor = {}", f.actor.as_deref())
        .and_some("target_kind = {}", f.target_kind.as_deref())
        .and_some("target_id = {}", f.target_id.as_deref())
        .and_some("at_us >= {}", f.from.map(us))
        .and_some("at_us < {}", f.to.map(us));
    match f.concerning {
        Some(Concern::Subject(subject)) => {
            w.and("subject_id = {}", subject.0);
        }
        Some(Concern::Case(number)) => {
            w.and("case_number = {}", number);
        }
        None => {}
    }
    let limit = w.bind(f.limit);
    let order = if f.before_seq.is_some() {
        "seq DESC"
    } else {
        "seq"
    };
    let sql = format!(
        "SELECT {AUDIT_COLUMNS} FROM audit_events WHERE {} ORDER BY {order} LIMIT {limit}",
        w.sql()
    );
    (sql, w)
}

impl Tx {
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

    /// Chains and stores an event after the tenant's current head.
    pub async fn append_audit(
        &mut self,
        tenant: TenantId,
        at: Timestamp,
        draft: AuditDraft,
    ) -> Result<AuditEvent> {
        let prev = self.audit_head_for_update(tenant).await?;
        let event = AuditEvent::chain(tenant, prev, at, draft);
        self.run(
            "INSERT INTO audit_events (tenant_id, seq, at_us, actor, action, target_kind, target_id, payload, payload_digest, hash, subject_id, format, case_number) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
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
                event.subject_id.map(|s| s.0),
                i64::from(event.format),
                case_number_of(&event.target_kind, &event.target_id),
            ],
        )
        .await?;
        self.move_audit_head(tenant, event.seq, &event.hash).await?;
        Ok(event)
    }

    /// Stores events that are already chained, verbatim, and moves the head to the last one:
    /// how a tenant's chain is copied to another database. The first event must follow the
    /// current head.
    pub async fn import_audit_events(
        &mut self,
        tenant: TenantId,
        events: &[AuditEvent],
    ) -> Result<()> {
        /// Rows per INSERT: 1,300 values, well under either backend's limit on placeholders.
        const ROWS: usize = 100;
        const COLUMNS: usize = 13;
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
            let sql = format!(
                "INSERT INTO audit_events (tenant_id, seq, at_us, actor, action, target_kind, target_id, payload, payload_digest, hash, subject_id, format, case_number) VALUES {}",
                crate::sql::value_rows(chunk.len(), COLUMNS)
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
                        e.subject_id.map(|s| s.0).into(),
                        i64::from(e.format).into(),
                        case_number_of(&e.target_kind, &e.target_id).into(),
                    ]
                })
                .collect();
            self.run(&sql, &values).await?;
        }
        self.move_audit_head(tenant, last.seq, &last.hash).await
    }

    pub async fn audit_head(&mut self, tenant: TenantId) -> Result<Option<(i64, Hash)>> {
        self.optional(
            "SELECT seq, hash FROM audit_heads WHERE tenant_id = $1",
            args![tenant.0],
            |r| head_row(r),
        )
        .await
    }

    /// Up to `filter.limit` events after `filter.after_seq` that match the filter, in order.
    pub async fn audit_events(
        &mut self,
        tenant: TenantId,
        f: &AuditFilter,
    ) -> Result<Vec<AuditEvent>> {
        let (sql, w) = audit_listing(tenant, f);
        self.all(&sql, w.args(), |r| audit_row(tenant, r)).await
    }
}
