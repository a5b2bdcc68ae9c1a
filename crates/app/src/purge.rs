//! Purge: once retention has run out after a completed offboarding, the subject's data is
//! destroyed and a tombstone says that it was.
//!
//! A purge is one transaction: the subject's records, files and data key go (its sealed files
//! become unreadable wherever copies went), its name and attributes are erased, the payloads of
//! its audit events are erased (the chain stays whole: hashes cover payload digests), and a
//! tombstone keeps which subject it was, when, and a digest of what was destroyed. Nothing is
//! purged under a legal hold, before retention ends, without a retention policy, or before the
//! case's export is ready and acknowledged by the client (or the acknowledgement waived): `engine::governance::purge_status` decides, inside the transaction
//! that purges.

use engine::audit::to_hex;
use engine::export::ExportStatus;
use engine::governance::{LegalHold, PurgeStatus, RetentionPolicy, purge_status};
use engine::ids::Email;
use engine::subject::SubjectKind;
use engine::tenant::Permission;
use jiff::tz::TimeZone;
use serde_json::json;
use sha2::{Digest, Sha256};
use store::{Export, PurgeCandidate, Tombstone, Tx};

use crate::{Actor, App, Result};

/// Who the audit log names for purges the scheduler runs.
const SCHEDULER: &str = "system:purge";

/// What one run of due purges did.
#[derive(Clone, Debug, Default)]
pub struct PurgeRun {
    pub purged: Vec<Tombstone>,
    /// Subjects whose purge failed (their key, and why); each is left whole.
    pub failed: Vec<(String, String)>,
}

/// A subject waiting for its purge, and what the purge would do now.
#[derive(Clone, Debug)]
pub struct PendingPurge {
    pub candidate: PurgeCandidate,
    pub status: PurgeStatus,
}

impl App {
    /// Every offboarded subject of the tenant not purged yet, with whether it is due.
    pub async fn pending_purges(&self, actor: &Actor) -> Result<Vec<PendingPurge>> {
        let mut tx = self.store.read().await?;
        let mut out = Vec::new();
        for candidate in tx.purge_candidates(Some(actor.tenant.id)).await? {
            let status = self.decide(&mut tx, &candidate).await?;
            out.push(PendingPurge { candidate, status });
        }
        Ok(out)
    }

    /// The tenant's purged subjects.
    pub async fn tombstones(&self, actor: &Actor) -> Result<Vec<Tombstone>> {
        Ok(self.store.read().await?.tombstones(actor.tenant.id).await?)
    }

    /// Purges the tenant's subjects that are due now (the owner only).
    pub async fn purge_due(&self, actor: &Actor) -> Result<PurgeRun> {
        actor.require(Permission::GovernTenant)?;
        self.purge_candidates_now(Some(actor.tenant.id), actor.user.actor())
            .await
    }

    /// What the worker's minute sweep runs: every due purge in every tenant.
    pub async fn purge_due_everywhere(&self) -> Result<PurgeRun> {
        self.purge_candidates_now(None, SCHEDULER.to_owned()).await
    }

    /// Purges each due candidate in its own transaction; one that fails is reported and the
    /// others go on.
    async fn purge_candidates_now(
        &self,
        tenant: Option<engine::ids::TenantId>,
        who: String,
    ) -> Result<PurgeRun> {
        let candidates = self.store.read().await?.purge_candidates(tenant).await?;
        let mut run = PurgeRun::default();
        let watched = self.watch("subjects", candidates.len() as u64);
        for candidate in candidates {
            match self.purge_one(&candidate, &who).await {
                Ok(Some(tombstone)) => run.purged.push(tombstone),
                Ok(None) => {}
                Err(e) => run
                    .failed
                    .push((candidate.subject_key.to_string(), e.to_string())),
            }
            watched.advance(1);
        }
        drop(watched);
        // The purges committed: what is left of their erasure is finished later (by the
        // worker's minute sweep, or when the store next opens), not reported as their failure.
        if !run.purged.is_empty() {
            match self.store.erase_old_versions().await {
                Ok(true) => {}
                // A reader held old copies, a table could not be rewritten yet, or a keyed
                // request's answer finishes it.
                Ok(false) => tracing::debug!("part of a purge's erasure is left to finish later"),
                Err(e) => tracing::warn!(
                    error = %e,
                    "finishing a purge's erasure failed; the worker's minute sweep tries again"
                ),
            }
        }
        Ok(run)
    }

    /// What the case page says about the purge of a completed case's subject: when and why
    /// not yet, or that it happened. `None` while the case runs or when it was cancelled. The
    /// case page has already loaded what the decision needs.
    pub(crate) async fn purge_outlook(
        &self,
        tx: &mut Tx,
        case: &engine::case::Case,
        subject: &engine::subject::Subject,
        holds: &[LegalHold],
        policies: &[RetentionPolicy],
        exports: &[Export],
    ) -> Result<Option<String>> {
        use engine::case::Resolution;
        use engine::subject::SubjectState;
        let (Some(Resolution::Completed), Some(closed_at)) = (case.resolution, case.closed_at)
        else {
            return Ok(None);
        };
        if subject.state == SubjectState::Purged {
            let tombstone = tx
                .tombstones(case.tenant_id)
                .await?
                .into_iter()
                .find(|t| t.subject_id == subject.id);
            return Ok(Some(tombstone.map_or_else(
                || "purged".to_owned(),
                |t| format!("purged at {} ({})", t.purged_at, t.summary),
            )));
        }
        let candidate = PurgeCandidate {
            tenant_id: case.tenant_id,
            case_id: case.id,
            case_number: case.number,
            closed_at,
            subject_id: subject.id,
            subject_key: subject.key.clone(),
            subject_kind: subject.kind,
        };
        Ok(Some(
            self.status_of(&candidate, holds, policies, exports)
                .to_string(),
        ))
    }

    async fn decide(&self, tx: &mut Tx, c: &PurgeCandidate) -> Result<PurgeStatus> {
        let holds = tx.holds(c.tenant_id, Some(c.subject_id)).await?;
        let policies = tx.retention_policies(c.tenant_id).await?;
        let exports = tx.exports(c.tenant_id, c.case_id).await?;
        Ok(self.status_of(c, &holds, &policies, &exports))
    }

    /// The decision, from the candidate's holds, the tenant's policies and the case's exports
    /// (newest first).
    fn status_of(
        &self,
        c: &PurgeCandidate,
        holds: &[LegalHold],
        policies: &[RetentionPolicy],
        exports: &[Export],
    ) -> PurgeStatus {
        let export = match exports.first() {
            Some(e) if e.is_delivered() => Ok(()),
            Some(e) if e.status != ExportStatus::Ready => {
                Err(format!("the newest export is {}", e.status.as_str()))
            }
            Some(_) => {
                Err("the client has not acknowledged the export, and nobody waived that".to_owned())
            }
            None => Err("no export was built".to_owned()),
        };
        purge_status(
            c.subject_id,
            c.subject_kind,
            c.closed_at.to_zoned_datetime(TimeZone::UTC).date(),
            self.now().to_zoned_datetime(TimeZone::UTC).date(),
            policies,
            holds,
            export,
        )
    }

    /// Purges one subject if it is due, deciding again inside the purging transaction so that a
    /// hold placed meanwhile wins.
    async fn purge_one(&self, c: &PurgeCandidate, who: &str) -> Result<Option<Tombstone>> {
        let at = self.now();
        let mut tx = self.store.write().await?;
        if self.decide(&mut tx, c).await? != PurgeStatus::Due {
            return Ok(None);
        }
        let tenant = c.tenant_id;
        // The digest covers everything destroyed, in a fixed order.
        let mut digest = Sha256::new();
        let records = tx.records(tenant, c.subject_id).await?;
        for r in &records {
            digest.update(r.id.0.as_bytes());
            digest.update(serde_json::to_vec(&r.fields).unwrap_or_default());
        }
        let files = tx.record_files(tenant, c.subject_id).await?;
        for f in &files {
            digest.update(f.blob.sha256);
        }
        let subject = tx.subject(tenant, c.subject_id).await?;
        // An employee who was also one of the tenant's users leaves as a user too.
        let staff = match &subject {
            Some(subject) if subject.kind == SubjectKind::Employee => {
                match subject.attributes.get("email").map(Email::parse) {
                    Some(Ok(email)) => tx.user_by_email(tenant, &email).await?,
                    _ => None,
                }
            }
            _ => None,
        };
        tx.purge_subject(tenant, c.subject_id, at).await?;
        // Answers kept for resends that name the subject (its page, a case started for it).
        let id = c.subject_id.to_string();
        let mut named = vec![c.subject_key.as_str(), id.as_str()];
        if let Some(subject) = &subject {
            named.push(subject.name.as_str());
        }
        if let Some(user) = &staff {
            named.extend([user.name.as_str(), user.email.as_str()]);
        }
        let erased_answer =
            json!({"erased": "this answer named a subject whose data was purged since"});
        tx.erase_kept_answers_mentioning(tenant, &named, erased_answer.to_string().as_bytes())
            .await?;
        let mut erased = tx
            .erase_subject_audit_payloads(tenant, c.subject_id)
            .await?;
        if let Some(user) = &staff {
            tx.end_user(tenant, user.id, at).await?;
            erased.extend(
                tx.erase_audit_payloads_mentioning(
                    tenant,
                    &[user.name.as_str(), user.email.as_str()],
                )
                .await?,
            );
        }
        for payload_digest in &erased {
            digest.update(payload_digest);
        }
        let summary = format!(
            "{} records, {} files, {} audit payloads erased{}",
            records.len(),
            files.len(),
            erased.len(),
            if staff.is_some() {
                "; their user account ended"
            } else {
                ""
            }
        );
        let tombstone = Tombstone {
            tenant_id: tenant,
            subject_id: c.subject_id,
            subject_kind: c.subject_kind,
            case_id: c.case_id,
            purged_at: at,
            purged_by: who.to_owned(),
            digest: digest.finalize().into(),
            summary: summary.clone(),
        };
        tx.insert_tombstone(&tombstone).await?;
        self.audit_as(&mut tx, tenant, who.to_owned(), at, "subject.purged",
            ("tombstone", c.subject_id.to_string()), json!({
                "summary": format!("purged the data of the {} of case {}: {summary}", c.subject_kind, c.case_number),
                "digest": to_hex(&tombstone.digest),
            }))
        .await?;
        tx.commit().await?;
        Ok(Some(tombstone))
    }
}
