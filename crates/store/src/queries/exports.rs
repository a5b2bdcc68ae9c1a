//! Export packages: queued, built (by a job of the queue, under its lease), acknowledged.

use engine::export::{Acknowledgement, AcknowledgementWaiver, ExportStatus};
use engine::ids::{CaseId, ExportId, SubjectId, TenantId, UserId};
use jiff::Timestamp;

use crate::model::Export;
use crate::sql::{Row, args};
use crate::{Result, StoreError};

use super::files::blob_row;
use super::*;

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

impl Tx {
    pub async fn insert_export(&mut self, e: &Export) -> Result<()> {
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

    /// Records how a build went (status, failure, package, receipt, times) if the export is
    /// still at the attempt `export.attempts` names; false when another worker has taken it
    /// over since, which this write then leaves alone.
    pub async fn update_export(&mut self, e: &Export) -> Result<bool> {
        let changed = self
            .run(
                "UPDATE exports SET status = $3, failure = $4, blob_id = $5, payload_files = $6, \
             payload_bytes = $7, receipt = $8, finished_at_us = $9, acknowledged_at_us = $10, \
             acknowledged_name = $11, acknowledged_from = $12, acknowledgement_waived_by = $13, \
             acknowledgement_waiver = $14 \
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

    /// Records the client's acknowledgement unless one was recorded already (the first counts);
    /// false then.
    pub async fn acknowledge_export(
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

    pub async fn export(&mut self, tenant: TenantId, id: ExportId) -> Result<Option<Export>> {
        self.optional(
            &format!("{EXPORT_SELECT} WHERE e.tenant_id = $1 AND e.id = $2"),
            args![tenant.0, id.0],
            |r| export_row(r),
        )
        .await
    }

    /// A case's exports, newest first.
    pub async fn exports(&mut self, tenant: TenantId, case: CaseId) -> Result<Vec<Export>> {
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

    /// Marks a waiting export `building` by attempt `attempt` of its job, from `at`; `None`
    /// when it no longer waits (built, failed, or gone with a purge). The caller fences this
    /// with [`holds_job`](Tx::holds_job) in the same transaction.
    pub async fn start_export_build(
        &mut self,
        tenant: TenantId,
        id: ExportId,
        attempt: i64,
        at: Timestamp,
    ) -> Result<Option<Export>> {
        let changed = self
            .run(
                "UPDATE exports SET status = 'building', attempts = $3, started_at_us = $4 \
                 WHERE tenant_id = $1 AND id = $2 AND status IN ('queued', 'building')",
                args![tenant.0, id.0, attempt, us(at)],
            )
            .await?;
        if changed == 0 {
            return Ok(None);
        }
        self.export(tenant, id).await
    }
}
