//! What people are told: a task or a case was given to them. A notification is written in the
//! transaction of the change that causes it, so nobody is told of a change that did not happen
//! and no change goes untold. Sending them by email reads the same rows.

use engine::ids::{NotificationId, TenantId, UserId};
use engine::job::JobKind;
use jiff::Timestamp;
use store::{Notification, Tx};

use serde_json::json;

use crate::jobs::NewJob;
use crate::{Actor, App, Result};

/// The kinds of notification there are, and what each tells, for people choosing which they
/// want by email.
pub const NOTIFICATION_KINDS: &[(&str, &str)] = &[
    ("task.assigned", "a task is given to you"),
    ("case.assigned", "a case is given to you"),
    (
        "task.due_soon",
        "a task of yours is due in 7 days, and in 2",
    ),
    ("task.overdue", "a task of yours is overdue (every day)"),
    ("digest", "your open tasks, every morning"),
];

/// `kind` as one of [`NOTIFICATION_KINDS`], or an error naming them.
pub(crate) fn notification_kind(kind: &str) -> Result<&'static str> {
    NOTIFICATION_KINDS
        .iter()
        .map(|(k, _)| *k)
        .find(|k| *k == kind)
        .ok_or_else(|| {
            let names: Vec<&str> = NOTIFICATION_KINDS.iter().map(|(k, _)| *k).collect();
            crate::AppError::invalid(
                "kind",
                format!(
                    "`{kind}` is not a notification kind; expected one of {}",
                    names.join(", ")
                ),
            )
        })
}

/// Whether a person gets one kind of notification by email.
#[derive(Clone, Debug, serde::Serialize)]
pub struct EmailPreference {
    pub kind: &'static str,
    pub what: &'static str,
    pub email: bool,
}

/// What a person is told, and the page it is about.
pub(crate) struct Notice {
    pub kind: &'static str,
    pub summary: String,
    pub link: String,
}

impl App {
    /// Tells `user` of `notice` in the transaction `tx`, unless `user` is the actor: nobody
    /// needs to hear of what they did themselves.
    pub(crate) async fn notify(
        &self,
        tx: &mut Tx,
        actor: &Actor,
        user: UserId,
        at: Timestamp,
        notice: Notice,
    ) -> Result<()> {
        if user == actor.user.id {
            return Ok(());
        }
        self.tell(tx, actor.tenant.id, user, at, notice).await
    }

    /// Writes the notification, and queues its email when email is on.
    pub(crate) async fn tell(
        &self,
        tx: &mut Tx,
        tenant: TenantId,
        user: UserId,
        at: Timestamp,
        notice: Notice,
    ) -> Result<()> {
        let notification = Notification {
            id: NotificationId(self.new_id()),
            user_id: user,
            kind: notice.kind.to_owned(),
            summary: notice.summary,
            link: notice.link,
            created_at: at,
            read_at: None,
        };
        tx.insert_notification(tenant, &notification).await?;
        let wanted = !tx
            .email_opt_outs(tenant, user)
            .await?
            .iter()
            .any(|k| k == notice.kind);
        if self.email && wanted {
            let job = NewJob {
                kind: JobKind::EmailNotification,
                payload: json!({ "notification": notification.id }),
                key: format!("notification:{}", notification.id),
                case: None,
                run_at: at,
            };
            self.enqueue(tx, tenant, job, at).await?;
        }
        Ok(())
    }

    /// Which notifications the actor gets by email (all of them, until they say otherwise).
    pub async fn email_preferences(&self, actor: &Actor) -> Result<Vec<EmailPreference>> {
        let out = self
            .store
            .read()
            .await?
            .email_opt_outs(actor.tenant.id, actor.user.id)
            .await?;
        Ok(NOTIFICATION_KINDS
            .iter()
            .map(|(kind, what)| EmailPreference {
                kind,
                what,
                email: !out.iter().any(|k| k == kind),
            })
            .collect())
    }

    /// Turns email of kinds of notification on or off for the actor (their own choice:
    /// anyone may make it, an auditor included), all or none. They still see every
    /// notification in the Offboarding Center.
    pub async fn set_email_preferences(
        &self,
        actor: &Actor,
        changes: &[(&str, bool)],
    ) -> Result<()> {
        for (kind, _) in changes {
            notification_kind(kind)?;
        }
        let at = self.now();
        let mut tx = self.store.write().await?;
        for (kind, email) in changes {
            tx.set_email_opt_out(actor.tenant.id, actor.user.id, kind, !email)
                .await?;
            let state = if *email { "on" } else { "off" };
            self.audit(&mut tx, actor, at, "notification.email_preference", ("user", actor.user.id.to_string()), json!({
                "summary": format!("turned email {state} for {kind} notifications"), "kind": kind, "email": email,
            }))
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The actor's notifications, newest first, and how many of them are unread.
    pub async fn notifications(
        &self,
        actor: &Actor,
        limit: i64,
    ) -> Result<(Vec<Notification>, i64)> {
        let mut tx = self.store.read().await?;
        let list = tx
            .notifications(actor.tenant.id, actor.user.id, limit)
            .await?;
        let unread = tx
            .unread_notifications(actor.tenant.id, actor.user.id)
            .await?;
        Ok((list, unread))
    }

    /// How many of the actor's notifications are unread.
    pub async fn unread_notifications(&self, actor: &Actor) -> Result<i64> {
        Ok(self
            .store
            .read()
            .await?
            .unread_notifications(actor.tenant.id, actor.user.id)
            .await?)
    }

    /// Marks the actor's notifications read. Reading one's own notifications is not a change
    /// anyone audits, and anyone signed in may do it, the auditor too.
    pub async fn read_notifications(&self, actor: &Actor) -> Result<u64> {
        let at = self.now();
        let mut tx = self.store.write().await?;
        let read = tx
            .read_notifications(actor.tenant.id, actor.user.id, at)
            .await?;
        tx.commit().await?;
        Ok(read)
    }
}
