//! What people are told: a task or a case was given to them. A notification is written in the
//! transaction of the change that causes it, so nobody is told of a change that did not happen
//! and no change goes untold. Sending them by email reads the same rows.

use engine::ids::{NotificationId, TenantId, UserId};
use jiff::Timestamp;
use store::{Notification, Store, Tx};

use serde_json::json;

use crate::jobs::{EMAIL_NOTIFICATION, NewJob};
use crate::{Actor, App, Result};

/// What a person is told, and the page it is about.
pub(crate) struct Notice {
    pub kind: &'static str,
    pub summary: String,
    pub link: String,
}

impl<S: Store> App<S> {
    /// Tells `user` of `notice` in the transaction `tx`, unless `user` is the actor: nobody
    /// needs to hear of what they did themselves.
    pub(crate) async fn notify(
        &self,
        tx: &mut S::Tx,
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
        tx: &mut S::Tx,
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
        if self.email {
            let job = NewJob {
                kind: EMAIL_NOTIFICATION,
                payload: json!({ "notification": notification.id }),
                key: format!("notification:{}", notification.id),
                case: None,
                run_at: at,
            };
            self.enqueue(tx, tenant, job, at).await?;
        }
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
