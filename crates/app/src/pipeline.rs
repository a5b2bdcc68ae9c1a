//! The Revoke and Handoff stages: marking each account and integration revoked, verified,
//! failed or waived, and naming the new owner of each work item. Whoever may complete the
//! case's gated task may do these; without such a task, managers and above.

use engine::act::Act;
use engine::case::{CaseFile, Task};
use engine::fields::RevocationNote;
use engine::gate::{Gate, GateFacts};
use engine::ids::{Email, Slug};
use engine::revocation::{Revocation, RevocationError, RevocationStatus};
use engine::subject::{Record, RecordKind};
use engine::tenant::Permission;
use serde_json::json;
use store::{Export, Tx};

use crate::directory::user_who_acts;
use crate::{Actor, App, AppError, Result, Target};

impl App {
    /// The case's revocation items: every account and integration of its subject.
    pub async fn revocations(&self, actor: &Actor, number: i64) -> Result<Vec<Revocation>> {
        let mut tx = self.store.read().await?;
        let file = self.locked_case(&mut tx, actor, number).await?;
        Ok(tx
            .revocations(actor.tenant.id, file.case.id, file.case.subject_id)
            .await?)
    }

    /// Moves one revocation item on. Revoking or verifying also sets the record's own status
    /// (an account becomes disabled, an integration revoked), which the freeze allows.
    pub async fn set_revocation(
        &self,
        actor: &Actor,
        number: i64,
        record: i64,
        to: RevocationStatus,
        note: Option<RevocationNote>,
    ) -> Result<Revocation> {
        let at = self.now();
        let mut tx = self.store.write().await?;
        let file = self.locked_case(&mut tx, actor, number).await?;
        file.ensure_open()?;
        self.authorize_gate(&mut tx, actor, &file, Gate::AccessRevoked)
            .await?;
        let mut item = tx
            .revocations(actor.tenant.id, file.case.id, file.case.subject_id)
            .await?
            .into_iter()
            .find(|i| i.record_number == record)
            .ok_or_else(|| {
                AppError::NotFound(format!(
                    "the subject of case {number} has no account or integration record {record}"
                ))
            })?;
        item.change(
            to,
            note.as_ref().map(RevocationNote::as_str),
            Act {
                by: actor.user.id,
                at,
            },
        )
        .map_err(|e| match e {
            RevocationError::NoteRequired { .. } => AppError::invalid("note", e),
            _ => AppError::Conflict(e.to_string()),
        })?;
        tx.upsert_revocation(actor.tenant.id, file.case.id, &item)
            .await?;
        let record_change = mirror_record_status(&mut tx, actor.tenant.id, &file, &item).await?;
        let action = match to {
            RevocationStatus::Pending => "revocation.pending",
            RevocationStatus::Revoked => "revocation.revoked",
            RevocationStatus::Verified => "revocation.verified",
            RevocationStatus::Failed => "revocation.failed",
            RevocationStatus::Waived => "revocation.waived",
        };
        self.audit(&mut tx, actor, at, action, Target::of(file.case.subject_id, "revocation", format!("{number}/{record}")), json!({
            "summary": format!("marked {} of case {number} {}", item.label, to.as_str()),
            "record": record, "label": item.label, "note": item.note, "record_status": record_change,
        }))
        .await?;
        tx.commit().await?;
        Ok(item)
    }

    /// Names the new owner of a work item of the case's subject; the owner must be a user of
    /// the tenant, so that the work reaches someone who can be told about it.
    pub async fn hand_off(
        &self,
        actor: &Actor,
        number: i64,
        record: i64,
        new_owner: &Email,
    ) -> Result<Record> {
        let at = self.now();
        let mut tx = self.store.write().await?;
        let file = self.locked_case(&mut tx, actor, number).await?;
        file.ensure_open()?;
        self.authorize_gate(&mut tx, actor, &file, Gate::WorkHandedOff)
            .await?;
        user_who_acts(&mut tx, actor, "new_owner", new_owner).await?;
        let mut item = subject_record(&mut tx, actor, &file, record).await?;
        if item.kind != RecordKind::WorkItem {
            return Err(AppError::invalid(
                "record",
                format!("record {record} is a {}; expected a work item", item.kind),
            ));
        }
        let before = item.fields.get("new_owner").map(str::to_owned);
        item.fields = item
            .fields
            .with(item.kind, [("new_owner", new_owner.as_str())])
            .map_err(|e| AppError::invalid("new_owner", e))?;
        tx.update_record(actor.tenant.id, &item).await?;
        let subject = tx
            .subject(actor.tenant.id, file.case.subject_id)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("the subject of case {number}")))?;
        let target = format!("{}/{record}", subject.key);
        self.audit(&mut tx, actor, at, "work_item.handed_off", Target::of(file.case.subject_id, "record", target), json!({
            "summary": format!("handed work item {record} `{}` of case {number} to {new_owner}", item.label()),
            "record": record, "owner": item.fields.get("owner"), "before": before, "new_owner": new_owner,
        }))
        .await?;
        tx.commit().await?;
        Ok(item)
    }

    /// What the gate of a gated task still waits for; empty for a task without a gate.
    pub(crate) async fn gate_outstanding(
        &self,
        tx: &mut Tx,
        actor: &Actor,
        file: &CaseFile,
        task: &Slug,
    ) -> Result<Vec<String>> {
        let Some(gate) = file.task(task.as_str()).and_then(Task::gate) else {
            return Ok(Vec::new());
        };
        let tenant = actor.tenant.id;
        let records = tx.records(tenant, file.case.subject_id).await?;
        let revocations = tx
            .revocations(tenant, file.case.id, file.case.subject_id)
            .await?;
        let exports = tx.exports(tenant, file.case.id).await?;
        Ok(gate.outstanding(&GateFacts {
            records: &records,
            revocations: &revocations,
            latest_export: exports.first().map(|e| (e.status, e.failure.as_deref())),
            export_delivered: exports.iter().any(Export::is_delivered),
        }))
    }

    /// Whoever may complete the task behind `gate` may work towards it.
    async fn authorize_gate(
        &self,
        tx: &mut Tx,
        actor: &Actor,
        file: &CaseFile,
        gate: Gate,
    ) -> Result<()> {
        match file.tasks.iter().find(|t| t.gate() == Some(gate)) {
            Some(task) => self.authorize_completion(tx, actor, file, &task.id).await,
            None => actor.require(Permission::RunCases),
        }
    }
}

/// Sets the account's or integration's own `status` to what its revocation implies (an
/// account becomes disabled, an integration revoked), which the freeze allows, so that checks
/// over `records.accounts` see it too; returns the change, if there was one.
pub(crate) async fn mirror_record_status(
    tx: &mut Tx,
    tenant: engine::ids::TenantId,
    file: &CaseFile,
    item: &Revocation,
) -> Result<Option<serde_json::Value>> {
    let Some(status) = item.record_status() else {
        return Ok(None);
    };
    let mut stored = tx
        .records(tenant, file.case.subject_id)
        .await?
        .into_iter()
        .find(|r| r.id == item.record_id)
        .ok_or_else(|| {
            AppError::NotFound(format!(
                "the subject of case {} has no record {}",
                file.case.number, item.record_number
            ))
        })?;
    if stored.fields.get("status") == Some(status) {
        return Ok(None);
    }
    let before = stored.fields.get("status").map(str::to_owned);
    stored.fields = stored
        .fields
        .with(stored.kind, [("status", status)])
        .map_err(|e| AppError::invalid("status", e))?;
    tx.update_record(tenant, &stored).await?;
    Ok(Some(json!({"before": before, "after": status})))
}

async fn subject_record(
    tx: &mut Tx,
    actor: &Actor,
    file: &CaseFile,
    record: i64,
) -> Result<Record> {
    tx.records(actor.tenant.id, file.case.subject_id)
        .await?
        .into_iter()
        .find(|r| r.number == record)
        .ok_or_else(|| {
            AppError::NotFound(format!(
                "the subject of case {} has no record {record}",
                file.case.number
            ))
        })
}
