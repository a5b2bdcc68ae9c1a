//! Handing the export to the departing client: a signed, expiring link that needs no account,
//! and the client's acknowledgement of receipt, which becomes evidence on the case. Where no
//! acknowledgement can be had, a manager waives it with a reason.

use crypto::jose;
use engine::export::{Acknowledgement, AcknowledgementWaiver, ExportStatus, ReceiveLinkClaims};
use engine::fields::Reason;
use engine::gate::Gate;
use engine::ids::{EvidenceId, Text};
use engine::tenant::{Permission, Tenant};
use jiff::{SignedDuration, Timestamp};
use serde_json::json;
use store::{EvidenceMeta, Export};

use crate::certificates::jwks;
use crate::files::Download;
use crate::{Actor, App, AppError, Result, Target};

/// The longest a link may live.
pub const LINK_MAX_DAYS: u32 = 90;

/// An export as its link shows it to the departing client.
#[derive(Clone, Debug)]
pub struct Delivery {
    pub tenant: Tenant,
    pub export: Export,
    pub expires_at: Timestamp,
}

impl App {
    /// A link token for the case's newest ready export, valid for `days`.
    pub async fn receive_link(
        &self,
        actor: &Actor,
        number: i64,
        days: u32,
    ) -> Result<(String, Timestamp)> {
        actor.require(Permission::RunCases)?;
        if days == 0 || days > LINK_MAX_DAYS {
            return Err(AppError::invalid(
                "days",
                format!("{days} days; expected 1 to {LINK_MAX_DAYS}"),
            ));
        }
        let at = self.now();
        let mut tx = self.store.write().await?;
        let export = self.newest_ready_export(&mut tx, actor, number).await?;
        let expires_at = at + SignedDuration::from_hours(24 * i64::from(days));
        let claims = ReceiveLinkClaims {
            iss: format!("exeunt:{}", actor.tenant.slug),
            tenant: actor.tenant.id.to_string(),
            sub: export.id.to_string(),
            exp: expires_at.as_second(),
        };
        let token = self
            .signing_key(&mut tx, actor.tenant.id)
            .await?
            .sign(&claims);
        self.audit(&mut tx, actor, at, "export.link_issued", Target::of(export.subject_id, "export", format!("{number}/{}", export.id)), json!({
            "summary": format!("issued a download link for the export of case {number}, valid until {expires_at}"),
            "expires_at": expires_at,
        }))
        .await?;
        tx.commit().await?;
        Ok((token, expires_at))
    }

    /// What a link shows: checked against the tenant's keys and its expiry.
    pub async fn delivery(&self, token: &str) -> Result<Delivery> {
        // Only the characters of a compact JWS: whatever else a URL carries is no link.
        if !token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        {
            return Err(AppError::NotFound("no such download link".into()));
        }
        let mut tx = self.store.read().await?;
        let rows = tx.signing_keys(None).await?;
        let keys = jwks(&rows);
        let invalid = || AppError::NotFound("no such download link".into());
        let verified = jose::verify::<ReceiveLinkClaims>(token, &keys).map_err(|_| invalid())?;
        let signer = rows
            .iter()
            .find(|r| r.kid == verified.kid)
            .ok_or_else(invalid)?;
        // The key that signed must be the tenant's that the link names.
        if signer.tenant_id.to_string() != verified.claims.tenant {
            return Err(invalid());
        }
        let expires_at = Timestamp::from_second(verified.claims.exp).map_err(|_| invalid())?;
        if expires_at <= self.now() {
            return Err(AppError::Expired(format!(
                "this download link expired at {expires_at}; ask for a new one"
            )));
        }
        let export_id = verified
            .claims
            .sub
            .parse()
            .map(engine::ids::ExportId)
            .map_err(|_| invalid())?;
        let export = tx
            .export(signer.tenant_id, export_id)
            .await?
            .filter(|e| e.status == ExportStatus::Ready && e.blob.is_some())
            .ok_or_else(|| AppError::NotFound("the package of this link is gone".into()))?;
        let tenant = tx.tenant(signer.tenant_id).await?.ok_or_else(invalid)?;
        Ok(Delivery {
            tenant,
            export,
            expires_at,
        })
    }

    /// The package a link points to, to stream.
    pub async fn delivered_package(&self, token: &str) -> Result<Download> {
        let delivery = self.delivery(token).await?;
        let mut tx = self.store.read().await?;
        let blob = delivery
            .export
            .blob
            .ok_or_else(|| AppError::NotFound("no package".into()))?;
        self.download(
            &mut tx,
            delivery.tenant.id,
            blob.id,
            format!("case-{}-export.zip", delivery.export.case_number),
            "application/zip".into(),
        )
        .await
    }

    /// Records the client's acknowledgement (the first one counts) and files it as evidence on
    /// the case's delivery task.
    pub async fn acknowledge_delivery(
        &self,
        token: &str,
        name: Text,
        from: String,
    ) -> Result<Export> {
        let delivery = self.delivery(token).await?;
        let tenant = delivery.tenant.id;
        let at = self.now();
        let mut tx = self.store.write().await?;
        let mut export = tx
            .export(tenant, delivery.export.id)
            .await?
            .ok_or_else(|| AppError::NotFound("no such export".into()))?;
        let acknowledgement = Acknowledgement {
            at,
            name: name.as_str().to_owned(),
            from,
        };
        // The first acknowledgement counts; a second click (or a race with one) changes nothing.
        if !tx
            .acknowledge_export(tenant, export.id, &acknowledgement)
            .await?
        {
            return Ok(export);
        }
        export.acknowledged = Some(acknowledgement.clone());
        let record = json!({
            "acknowledged": "receipt of the export package",
            "export": export.id, "case": export.case_number,
            "package_sha256": export.blob.as_ref().map(|b| engine::audit::to_hex(&b.sha256)),
            "at": acknowledgement.at, "name": acknowledgement.name, "from": acknowledgement.from,
        });
        let file = tx
            .case_file(tenant, export.case_number)
            .await?
            .ok_or_else(|| AppError::NotFound("the export's case".into()))?;
        // A case that is done never changes: the acknowledgement then stays on the export only.
        let open = file.ensure_open().is_ok();
        if let Some(task) = file
            .tasks
            .iter()
            .find(|t| open && t.gate() == Some(Gate::ExportDelivered))
        {
            let content = serde_json::to_vec_pretty(&record).unwrap_or_default();
            let blob = self
                .put_blob(&mut tx, tenant, export.subject_id, &content)
                .await?;
            tx.insert_evidence(
                tenant,
                &EvidenceMeta {
                    id: EvidenceId(self.new_id()),
                    blob_id: Some(blob.id),
                    tenant_id: tenant,
                    case_id: export.case_id,
                    task_id: task.id.clone(),
                    file_name: "acknowledgement.json".into(),
                    size: blob.size,
                    sha256: blob.sha256,
                    added_by: export.requested_by,
                    added_at: at,
                },
            )
            .await?;
        }
        self.audit_as(&mut tx, tenant, format!("link:{}", export.id), at, "export.acknowledged",
            Target::of(export.subject_id, "export", format!("{}/{}", export.case_number, export.id)), json!({
                "summary": format!("the client acknowledged receipt of the export of case {}", export.case_number),
                "name": acknowledgement.name, "from": acknowledgement.from,
            }))
        .await?;
        tx.commit().await?;
        Ok(export)
    }

    /// Lets the case go on without the client's acknowledgement, for a reason on record.
    pub async fn waive_acknowledgement(
        &self,
        actor: &Actor,
        number: i64,
        reason: Reason,
    ) -> Result<Export> {
        actor.require(Permission::RunCases)?;
        let at = self.now();
        let mut tx = self.store.write().await?;
        let mut export = self.newest_ready_export(&mut tx, actor, number).await?;
        export.acknowledgement_waived = Some(AcknowledgementWaiver {
            by: actor.user.id,
            reason: reason.as_str().to_owned(),
        });
        if !tx.update_export(&export).await? {
            return Err(AppError::Conflict(format!(
                "export {} changed meanwhile; try again",
                export.id
            )));
        }
        self.audit(&mut tx, actor, at, "export.acknowledgement_waived", Target::of(export.subject_id, "export", format!("{number}/{}", export.id)), json!({
            "summary": format!("waived the client's acknowledgement of the export of case {number}"),
            "reason": reason.as_str(),
        }))
        .await?;
        tx.commit().await?;
        Ok(export)
    }
}
