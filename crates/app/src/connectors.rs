//! Connectors and the revocations they run.
//!
//! An admin names a connector after the `system` of the accounts it serves and gives its
//! settings and secret; the secret is sealed with the tenant's key and is never shown again,
//! logged or audited. When a case starts, each of its subject's accounts that a connector
//! serves gets an `access.revoke` job, due when the exit takes effect: the due time of the
//! case's `revoke-access` task (17:00 on the last day in the subject's time zone, in the
//! built-in blueprints). The worker removes the access, verifies it gone and hands the
//! evidence back here, where it is recorded on the case.

use std::net::IpAddr;

use engine::case::{Case, CaseFile, CaseStatus};
use engine::connector::{
    Connector, ConnectorKind, ConnectorSettings, WebhookSettings, internal_target_refusal,
    is_internal, url_host,
};
use engine::gate::Gate;
use engine::ids::{CaseId, Slug, TenantId};
use engine::job::JobKind;
use engine::revocation::{ConnectorEvidence, Exposure};
use engine::subject::RecordKind;
use engine::tenant::Permission;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::json;
use store::{CaseFilter, ConnectorRow, Job, Tx};

use crate::jobs::NewJob;
use crate::pipeline::mirror_record_status;
use crate::{Actor, App, AppError, Result, Target};

/// The longest secret accepted.
const SECRET_MAX: usize = 4096;

#[derive(Serialize, Deserialize)]
struct RevokePayload {
    case: i64,
    record: i64,
}

/// What a worker needs to revoke one account: where, how, and as whom.
pub struct RevocationWork {
    pub connector: String,
    pub settings: ConnectorSettings,
    /// Opened for this attempt only; never stored or logged.
    pub secret: String,
    pub identifier: String,
    pub idempotency_key: String,
    /// When the exit took effect: the exposure window starts here.
    pub effective_at: Timestamp,
}

impl App {
    /// Adds a connector, or replaces the one of the same name (its settings and secret).
    pub async fn set_connector(
        &self,
        actor: &Actor,
        name: &Slug,
        kind: ConnectorKind,
        settings: serde_json::Value,
        secret: &str,
    ) -> Result<Connector> {
        actor.require(Permission::ManageUsers)?;
        let settings = ConnectorSettings::parse(kind, settings)
            .map_err(|e| AppError::invalid(e.path(), e.problem))?;
        if let ConnectorSettings::Webhook(webhook) = &settings {
            refuse_internal_target(webhook).await?;
        }
        if secret.len() > SECRET_MAX {
            return Err(AppError::invalid(
                "secret",
                format!("is {} bytes; expected at most {SECRET_MAX}", secret.len()),
            ));
        }
        if kind == ConnectorKind::Webhook && secret.len() < engine::connector::WEBHOOK_KEY_MIN {
            return Err(AppError::invalid(
                "secret",
                format!("is {} bytes; expected {}", secret.len(), kind.secret_is()),
            ));
        }
        if secret.is_empty() && kind != ConnectorKind::Postgres {
            return Err(AppError::invalid(
                "secret",
                format!("is empty; expected {}", kind.secret_is()),
            ));
        }
        let at = self.now();
        let sealed = self.master.tenant_key(actor.tenant.id.0.as_bytes()).seal(
            &purpose(name.as_str()),
            secret.as_bytes(),
            self.nonce(),
        );
        let mut tx = self.store.write().await?;
        let replaced = tx
            .connector(actor.tenant.id, name.as_str())
            .await?
            .is_some();
        tx.upsert_connector(&ConnectorRow {
            tenant_id: actor.tenant.id,
            name: name.clone(),
            kind,
            settings: serde_json::to_string(&settings)
                .map_err(|e| AppError::invalid("settings", e))?,
            sealed_secret: sealed,
            updated_by: actor.user.id,
            updated_at: at,
        })
        .await?;
        // Cases already running whose subjects have accounts of this system get their jobs.
        for status in CaseStatus::RUNNING {
            let running = tx
                .cases(
                    actor.tenant.id,
                    &CaseFilter {
                        status: Some(status),
                        limit: i64::MAX,
                        ..CaseFilter::default()
                    },
                )
                .await?;
            for summary in running {
                if let Some(file) = tx.case_file(actor.tenant.id, summary.number).await? {
                    self.schedule_revocations(&mut tx, actor.tenant.id, &file, at)
                        .await?;
                }
            }
        }
        let verb = if replaced { "replaced" } else { "added" };
        // The settings are audited; the secret never is.
        self.audit(
            &mut tx,
            actor,
            at,
            "connector.set",
            ("connector", name.to_string()),
            json!({
                "summary": format!("{verb} the {kind} connector {name} ({})", settings.target()),
                "kind": kind, "settings": settings,
            }),
        )
        .await?;
        tx.commit().await?;
        Ok(Connector {
            name: name.clone(),
            kind,
            settings,
        })
    }

    /// The tenant's connectors, without their secrets.
    pub async fn connectors(&self, actor: &Actor) -> Result<Vec<Connector>> {
        let rows = self.store.read().await?.connectors(actor.tenant.id).await?;
        rows.iter().map(connector_of).collect()
    }

    pub async fn remove_connector(&self, actor: &Actor, name: &Slug) -> Result<()> {
        actor.require(Permission::ManageUsers)?;
        let at = self.now();
        let mut tx = self.store.write().await?;
        if !tx.delete_connector(actor.tenant.id, name).await? {
            return Err(AppError::NotFound(format!("no connector {name}")));
        }
        self.audit(
            &mut tx,
            actor,
            at,
            "connector.removed",
            ("connector", name.to_string()),
            json!({
                "summary": format!("removed the connector {name}"),
            }),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Queues one `access.revoke` job for each of the case's subject's accounts that a
    /// connector serves, due when the exit takes effect: in the transaction that opens the
    /// case, and again whenever an account or a connector is added while it runs (the jobs'
    /// keys make that queue only what is new).
    pub(crate) async fn schedule_revocations(
        &self,
        tx: &mut Tx,
        tenant: TenantId,
        file: &CaseFile,
        at: Timestamp,
    ) -> Result<()> {
        let connectors = tx.connectors(tenant).await?;
        if connectors.is_empty() {
            return Ok(());
        }
        let due = exit_takes_effect(file);
        for record in tx.records(tenant, file.case.subject_id).await? {
            let served = record.kind == RecordKind::Account
                && record.fields.get("status") != Some("disabled")
                && record
                    .fields
                    .get("system")
                    .is_some_and(|s| connectors.iter().any(|c| c.name.as_str() == s));
            if !served {
                continue;
            }
            let job = NewJob {
                kind: JobKind::AccessRevoke,
                payload: json!(RevokePayload {
                    case: file.case.number,
                    record: record.number,
                }),
                key: revoke_key(file.case.id, record.number),
                case: Some(file.case.id),
                run_at: due,
            };
            // Already queued (same key) is fine: the account keeps its one job.
            self.enqueue(tx, tenant, job, at).await?;
        }
        Ok(())
    }

    /// What an `access.revoke` job has to do; `None` when nothing is left to do: the case was
    /// cancelled, the item is settled (verified or waived by a person meanwhile), or the
    /// account is gone from the subject.
    pub async fn revocation_work(&self, job: &Job) -> Result<Option<RevocationWork>> {
        let payload = revoke_payload(job)?;
        let tenant = job.tenant_id;
        let mut tx = self.store.read().await?;
        let Some(file) = tx.case_file(tenant, payload.case).await? else {
            return Ok(None);
        };
        if file.case.resolution == Some(engine::case::Resolution::Cancelled) {
            return Ok(None);
        }
        let items = tx
            .revocations(tenant, file.case.id, file.case.subject_id)
            .await?;
        let Some(item) = items.iter().find(|i| i.record_number == payload.record) else {
            return Ok(None);
        };
        if item.status.is_settled() {
            return Ok(None);
        }
        let record = tx
            .records(tenant, file.case.subject_id)
            .await?
            .into_iter()
            .find(|r| r.number == payload.record)
            .ok_or_else(|| AppError::NotFound(format!("record {}", payload.record)))?;
        let system = record.fields.get("system").unwrap_or("").to_owned();
        let row = tx.connector(tenant, &system).await?.ok_or_else(|| {
            AppError::NotFound(format!(
                "no connector {system} any more: add it again, or waive the access"
            ))
        })?;
        let connector = connector_of(&row)?;
        let secret = self
            .master
            .tenant_key(tenant.0.as_bytes())
            .open(&purpose(&system), &row.sealed_secret)?;
        Ok(Some(RevocationWork {
            connector: system,
            settings: connector.settings,
            secret: String::from_utf8(secret)
                .map_err(|_| AppError::invalid("secret", "is not UTF-8"))?,
            identifier: record.fields.get("identifier").unwrap_or("").to_owned(),
            idempotency_key: job.idempotency_key.clone(),
            effective_at: exit_takes_effect(&file),
        }))
    }

    /// Records that a connector removed the access and verified it gone: the item becomes
    /// verified with the evidence, the account record disabled, and the audit log says so.
    /// Nothing changes for an item someone settled meanwhile.
    pub async fn record_revocation(&self, job: &Job, evidence: ConnectorEvidence) -> Result<()> {
        let payload = revoke_payload(job)?;
        let at = self.now();
        let tenant = job.tenant_id;
        let mut tx = self.store.write().await?;
        let file = tx
            .case_file(tenant, payload.case)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("no case {}", payload.case)))?;
        let mut item = tx
            .revocations(tenant, file.case.id, file.case.subject_id)
            .await?
            .into_iter()
            .find(|i| i.record_number == payload.record)
            .ok_or_else(|| AppError::NotFound(format!("record {}", payload.record)))?;
        let who = format!("system:connector:{}", evidence.connector);
        if item.verified_by_connector(evidence).is_err() {
            return Ok(());
        }
        tx.upsert_revocation(tenant, file.case.id, &item).await?;
        let record_change = mirror_record_status(&mut tx, tenant, &file, &item).await?;
        let number = file.case.number;
        self.audit_as(&mut tx, tenant, who, at, "revocation.verified", Target::of(file.case.subject_id, "revocation", format!("{number}/{}", payload.record)), json!({
            "summary": format!("{} of case {number} was revoked and verified gone by its connector", item.label),
            "record": payload.record, "label": item.label, "note": item.note, "evidence": item.evidence,
            "record_status": record_change,
        }))
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Marks the item failed once its job is dead, so the case shows it needs a person.
    pub(crate) async fn revocation_gave_up(
        &self,
        tx: &mut Tx,
        job: &Job,
        error: &str,
        at: Timestamp,
    ) -> Result<()> {
        let payload = revoke_payload(job)?;
        let Some(file) = tx.case_file(job.tenant_id, payload.case).await? else {
            return Ok(());
        };
        let mut items = tx
            .revocations(job.tenant_id, file.case.id, file.case.subject_id)
            .await?;
        let Some(item) = items.iter_mut().find(|i| i.record_number == payload.record) else {
            return Ok(());
        };
        let system = tx
            .records(job.tenant_id, file.case.subject_id)
            .await?
            .into_iter()
            .find(|r| r.number == payload.record)
            .and_then(|r| r.fields.get("system").map(str::to_owned))
            .unwrap_or_default();
        if item.failed_by_connector(&system, error, at).is_err() {
            return Ok(());
        }
        tx.upsert_revocation(job.tenant_id, file.case.id, item)
            .await?;
        let number = file.case.number;
        self.audit_as(
            tx,
            job.tenant_id,
            format!("system:connector:{system}"),
            at,
            "revocation.failed",
            Target::of(
                file.case.subject_id,
                "revocation",
                format!("{number}/{}", payload.record),
            ),
            json!({
                "summary": format!("could not revoke {} of case {number}", item.label),
                "record": payload.record, "label": item.label, "note": item.note,
            }),
        )
        .await?;
        Ok(())
    }
}

/// The accesses still open, across every tenant: accounts and integrations of cases not done
/// whose exit has taken effect and whose removal nobody has verified yet.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OpenExposures {
    pub accesses: u64,
    /// The window of the one open longest, so far; zero when none is open.
    pub longest: SignedDuration,
}

impl App {
    /// [`OpenExposures`] now, for `/metrics`: the minute's sweep reads the running cases
    /// whose exit may have taken effect (one read transaction per tenant), and the revocation
    /// items of those it has.
    pub async fn open_exposures(&self) -> Result<OpenExposures> {
        let now = self.now();
        let mut open = OpenExposures::default();
        let tenants = self.store.read().await?.tenants().await?;
        for tenant in tenants {
            let mut tx = self.store.read().await?;
            for exit in tx.exits_in_effect(tenant.id, now).await? {
                let effective = access_ends_at(exit.access_due, &exit.case);
                if effective > now {
                    continue;
                }
                let items = tx
                    .revocations(tenant.id, exit.case.id, exit.case.subject_id)
                    .await?;
                for item in items {
                    if let Some(Exposure::Open(window)) = item.exposure(effective, now) {
                        open.accesses += 1;
                        open.longest = open.longest.max(window);
                    }
                }
            }
        }
        Ok(open)
    }
}

/// When the exit takes effect for access: the earliest due time of the case's access-removal
/// tasks, else the start of the exit date (UTC), so that a case without one still has a
/// moment.
pub(crate) fn exit_takes_effect(file: &CaseFile) -> Timestamp {
    let access_due = file
        .tasks
        .iter()
        .filter(|t| t.gate() == Some(Gate::AccessRevoked))
        .filter_map(|t| t.due_at)
        .min();
    access_ends_at(access_due, &file.case)
}

/// [`exit_takes_effect`] from the earliest due time of the case's access-removal tasks, as
/// the store reads it without the tasks.
fn access_ends_at(access_due: Option<Timestamp>, case: &Case) -> Timestamp {
    access_due
        .or_else(|| {
            let midnight = case.exit_date.to_datetime(jiff::civil::Time::midnight());
            jiff::tz::TimeZone::UTC.to_timestamp(midnight).ok()
        })
        .unwrap_or(case.opened_at)
}

fn revoke_key(case: CaseId, record: i64) -> String {
    format!("revoke:{case}:{record}")
}

fn revoke_payload(job: &Job) -> Result<RevokePayload> {
    serde_json::from_str(&job.payload)
        .map_err(|e| AppError::invalid("payload", format!("job {}: {e}", job.id)))
}

/// What a connector's secret is sealed for: one connector's, no other's.
fn purpose(name: &str) -> String {
    format!("connector-secret:{name}")
}

fn connector_of(row: &ConnectorRow) -> Result<Connector> {
    let value: serde_json::Value = serde_json::from_str(&row.settings)
        .map_err(|e| AppError::invalid("settings", format!("connector {}: {e}", row.name)))?;
    let settings = ConnectorSettings::parse(row.kind, value)
        .map_err(|e| AppError::invalid(format!("settings of connector {}", row.name), e))?;
    Ok(Connector {
        name: row.name.clone(),
        kind: row.kind,
        settings,
    })
}

/// Refuses a webhook whose host is, or resolves to, an internal address that its settings do
/// not allow: every call would be refused (see `connectors::webhook`), so the settings are
/// refused when given, with the same reason. A host that does not resolve now is let through;
/// the check at call time decides then.
pub(crate) async fn refuse_internal_target(webhook: &WebhookSettings) -> Result<()> {
    const RESOLVE_FOR: std::time::Duration = std::time::Duration::from_secs(5);
    let Some(host) = url_host(&webhook.url) else {
        return Ok(());
    };
    if webhook.allows_private(host) {
        return Ok(());
    }
    let addresses: Vec<IpAddr> = match host.parse::<IpAddr>() {
        Ok(ip) => vec![ip],
        Err(_) => {
            match tokio::time::timeout(RESOLVE_FOR, tokio::net::lookup_host((host, 443))).await {
                Ok(Ok(found)) => found.map(|a| a.ip()).collect(),
                _ => return Ok(()),
            }
        }
    };
    match addresses.into_iter().find(|ip| is_internal(*ip)) {
        Some(internal) => Err(AppError::invalid(
            "settings.url",
            internal_target_refusal(host, internal),
        )),
        None => Ok(()),
    }
}
