//! The owner's decisions about keeping data: legal holds and retention periods. Only the owner
//! makes them (`Permission::GovernTenant`), always with a reason for a hold, and each is an
//! audit event.

use engine::fields::Reason;
use engine::governance::{HoldLift, LegalHold, Retention, RetentionPolicy};
use engine::ids::{HoldId, SubjectKey};
use engine::subject::SubjectKind;
use engine::tenant::Permission;
use serde_json::json;

use crate::directory::find_subject;
use crate::{Actor, App, AppError, Result, Target};

impl App {
    /// Places a legal hold on one subject, or on the whole tenant when `subject` is `None`.
    pub async fn place_hold(
        &self,
        actor: &Actor,
        subject: Option<&SubjectKey>,
        reason: Reason,
    ) -> Result<LegalHold> {
        actor.require(Permission::GovernTenant)?;
        let at = self.now();
        let mut tx = self.store.write().await?;
        let on = match subject {
            Some(key) => Some(find_subject(&mut tx, actor, key).await?),
            None => None,
        };
        let hold = LegalHold {
            id: HoldId(self.new_id()),
            tenant_id: actor.tenant.id,
            subject_id: on.as_ref().map(|s| s.id),
            subject_key: on.as_ref().map(|s| s.key.clone()),
            reason: reason.as_str().to_owned(),
            placed_by: actor.user.id,
            placed_at: at,
            lifted: None,
        };
        tx.insert_hold(&hold).await?;
        let covers = subject.map_or_else(|| "the whole tenant".to_owned(), |k| format!("{k}"));
        self.audit(&mut tx, actor, at, "legal_hold.placed", Target::of(hold.subject_id, "legal_hold", hold.id.to_string()), json!({
            "summary": format!("placed a legal hold on {covers}"), "subject": subject, "reason": hold.reason,
        })).await?;
        tx.commit().await?;
        Ok(hold)
    }

    /// Lifts a hold that stands. A lifted hold stays on record.
    pub async fn lift_hold(&self, actor: &Actor, id: HoldId, reason: Reason) -> Result<LegalHold> {
        actor.require(Permission::GovernTenant)?;
        let at = self.now();
        let mut tx = self.store.write().await?;
        let mut hold = tx
            .hold(actor.tenant.id, id)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("no legal hold {id}")))?;
        let lift = HoldLift {
            by: actor.user.id,
            at,
            reason: reason.as_str().to_owned(),
        };
        if !tx.lift_hold(actor.tenant.id, id, &lift).await? {
            return Err(AppError::Conflict(format!(
                "legal hold {id} was lifted already"
            )));
        }
        self.audit(
            &mut tx,
            actor,
            at,
            "legal_hold.lifted",
            Target::of(hold.subject_id, "legal_hold", id.to_string()),
            json!({
                "summary": format!("lifted legal hold {id}"), "reason": lift.reason,
            }),
        )
        .await?;
        tx.commit().await?;
        hold.lifted = Some(lift);
        Ok(hold)
    }

    /// The tenant's holds, standing and lifted, newest first; with a subject, those that cover it.
    pub async fn holds(
        &self,
        actor: &Actor,
        subject: Option<&SubjectKey>,
    ) -> Result<Vec<LegalHold>> {
        let mut tx = self.store.read().await?;
        let on = match subject {
            Some(key) => Some(find_subject(&mut tx, actor, key).await?.id),
            None => None,
        };
        Ok(tx.holds(actor.tenant.id, on).await?)
    }

    /// Sets how long data of subjects of `kind` (or, without a kind, of every kind that has no
    /// period of its own) is kept after their offboarding completes.
    pub async fn set_retention(
        &self,
        actor: &Actor,
        kind: Option<SubjectKind>,
        period: Retention,
    ) -> Result<RetentionPolicy> {
        actor.require(Permission::GovernTenant)?;
        let at = self.now();
        let policy = RetentionPolicy {
            kind,
            period,
            set_by: actor.user.id,
            set_at: at,
        };
        let mut tx = self.store.write().await?;
        tx.set_retention(actor.tenant.id, &policy).await?;
        let of = kind.map_or_else(|| "every kind".to_owned(), |k| format!("{k} subjects"));
        self.audit(&mut tx, actor, at, "retention.set", ("retention", kind.map_or("*", SubjectKind::as_str).to_owned()), json!({
            "summary": format!("set retention of {of} to {period}"), "kind": kind, "period": period,
        })).await?;
        tx.commit().await?;
        Ok(policy)
    }

    pub async fn retention_policies(&self, actor: &Actor) -> Result<Vec<RetentionPolicy>> {
        Ok(self
            .store
            .read()
            .await?
            .retention_policies(actor.tenant.id)
            .await?)
    }
}
