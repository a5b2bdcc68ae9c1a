//! Notifications, reminders, email templates and each person's email choices.

use engine::ids::{NotificationId, TenantId, UserId};
use jiff::Timestamp;

use crate::Result;
use crate::model::Notification;
use crate::sql::{Row, args};

use super::*;

const NOTIFICATION_COLUMNS: &str = "id, user_id, kind, summary, link, created_at_us, read_at_us";

fn notification_row<R: Row>(r: &R) -> Result<Notification> {
    Ok(Notification {
        id: NotificationId(r.uuid("id")?),
        user_id: UserId(r.uuid("user_id")?),
        kind: r.text("kind")?.to_owned(),
        summary: r.text("summary")?.to_owned(),
        link: r.text("link")?.to_owned(),
        created_at: from_us(r.int("created_at_us")?)?,
        read_at: opt_from_us(r.opt_int("read_at_us")?)?,
    })
}

impl Tx {
    pub async fn insert_notification(&mut self, tenant: TenantId, n: &Notification) -> Result<()> {
        self.run(
            "INSERT INTO notifications (tenant_id, id, user_id, kind, summary, link, created_at_us, \
             read_at_us) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            args![
                tenant.0,
                n.id.0,
                n.user_id.0,
                &n.kind,
                &n.summary,
                &n.link,
                us(n.created_at),
                n.read_at.map(us),
            ],
        )
        .await?;
        Ok(())
    }

    pub async fn notification(
        &mut self,
        tenant: TenantId,
        id: NotificationId,
    ) -> Result<Option<Notification>> {
        self.optional(
            &format!(
                "SELECT {NOTIFICATION_COLUMNS} FROM notifications WHERE tenant_id = $1 AND id = $2"
            ),
            args![tenant.0, id.0],
            |r| notification_row(r),
        )
        .await
    }

    /// A person's notifications, newest first.
    pub async fn notifications(
        &mut self,
        tenant: TenantId,
        user: UserId,
        limit: i64,
    ) -> Result<Vec<Notification>> {
        self.all(
            &format!(
                "SELECT {NOTIFICATION_COLUMNS} FROM notifications WHERE tenant_id = $1 \
                 AND user_id = $2 ORDER BY created_at_us DESC, id DESC LIMIT $3"
            ),
            args![tenant.0, user.0, limit],
            |r| notification_row(r),
        )
        .await
    }

    /// How many of a person's notifications are unread.
    pub async fn unread_notifications(&mut self, tenant: TenantId, user: UserId) -> Result<i64> {
        self.one(
            "SELECT COUNT(*) AS unread FROM notifications WHERE tenant_id = $1 AND user_id = $2 \
             AND read_at_us IS NULL",
            args![tenant.0, user.0],
            |r| r.int("unread"),
        )
        .await
    }

    /// Marks every notification of a person read; returns how many were unread.
    pub async fn read_notifications(
        &mut self,
        tenant: TenantId,
        user: UserId,
        at: Timestamp,
    ) -> Result<u64> {
        self.run(
            "UPDATE notifications SET read_at_us = $3 WHERE tenant_id = $1 AND user_id = $2 \
             AND read_at_us IS NULL",
            args![tenant.0, user.0, us(at)],
        )
        .await
    }

    /// The tenant's own email templates, by kind: `(kind, subject, body)`.
    pub async fn email_templates(
        &mut self,
        tenant: TenantId,
    ) -> Result<Vec<(String, String, String)>> {
        self.all(
            "SELECT kind, subject, body FROM email_templates WHERE tenant_id = $1 ORDER BY kind",
            args![tenant.0],
            |r| {
                Ok((
                    r.text("kind")?.to_owned(),
                    r.text("subject")?.to_owned(),
                    r.text("body")?.to_owned(),
                ))
            },
        )
        .await
    }

    pub async fn set_email_template(
        &mut self,
        tenant: TenantId,
        kind: &str,
        subject: &str,
        body: &str,
        by: UserId,
        at: Timestamp,
    ) -> Result<()> {
        self.run(
            "INSERT INTO email_templates (tenant_id, kind, subject, body, updated_by, updated_at_us) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (tenant_id, kind) DO UPDATE SET \
             subject = excluded.subject, body = excluded.body, updated_by = excluded.updated_by, \
             updated_at_us = excluded.updated_at_us",
            args![tenant.0, kind, subject, body, by.0, us(at)],
        )
        .await?;
        Ok(())
    }

    /// Back to the built-in wording; false when the tenant had none of its own.
    pub async fn delete_email_template(&mut self, tenant: TenantId, kind: &str) -> Result<bool> {
        let deleted = self
            .run(
                "DELETE FROM email_templates WHERE tenant_id = $1 AND kind = $2",
                args![tenant.0, kind],
            )
            .await?;
        Ok(deleted == 1)
    }

    /// The notification kinds a person asked not to get by email.
    pub async fn email_opt_outs(&mut self, tenant: TenantId, user: UserId) -> Result<Vec<String>> {
        self.all(
            "SELECT kind FROM email_opt_outs WHERE tenant_id = $1 AND user_id = $2 ORDER BY kind",
            args![tenant.0, user.0],
            |r| Ok(r.text("kind")?.to_owned()),
        )
        .await
    }

    /// Turns email of one kind off (`out`) or back on for a person.
    pub async fn set_email_opt_out(
        &mut self,
        tenant: TenantId,
        user: UserId,
        kind: &str,
        out: bool,
    ) -> Result<()> {
        let sql = if out {
            "INSERT INTO email_opt_outs (tenant_id, user_id, kind) VALUES ($1, $2, $3) \
             ON CONFLICT (tenant_id, user_id, kind) DO NOTHING"
        } else {
            "DELETE FROM email_opt_outs WHERE tenant_id = $1 AND user_id = $2 AND kind = $3"
        };
        self.run(sql, args![tenant.0, user.0, kind]).await?;
        Ok(())
    }

    /// Whether the reminder `key` went out already: the sweep's cheap look before it writes.
    pub async fn reminder_sent(&mut self, tenant: TenantId, key: &str) -> Result<bool> {
        Ok(self
            .optional(
                "SELECT sent_at_us FROM reminders WHERE tenant_id = $1 AND key = $2",
                args![tenant.0, key],
                |r| r.int("sent_at_us"),
            )
            .await?
            .is_some())
    }

    /// Records that the reminder `key` went out; false when it already had.
    pub async fn insert_reminder(
        &mut self,
        tenant: TenantId,
        key: &str,
        at: Timestamp,
    ) -> Result<bool> {
        let inserted = self
            .run(
                "INSERT INTO reminders (tenant_id, key, sent_at_us) VALUES ($1, $2, $3) \
                 ON CONFLICT (tenant_id, key) DO NOTHING",
                args![tenant.0, key, us(at)],
            )
            .await?;
        Ok(inserted == 1)
    }
}
