//! The emails the worker sends for `email.notification` jobs: to the person a notification
//! told, in the tenant's wording of that kind of notification (`templates.rs`).

use engine::ids::NotificationId;
use serde::Deserialize;
use store::Job;

use crate::{App, AppError, Result};

/// An email to send, with the message id that makes a resent one recognizable as the same.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutgoingEmail {
    pub to: String,
    pub to_name: String,
    pub subject: String,
    pub body: String,
    /// Derived from the job's idempotency key: a retry after a lost acknowledgement sends the
    /// same message again, which the receiving side can tell apart.
    pub message_id: String,
}

#[derive(Deserialize)]
struct NotificationPayload {
    notification: NotificationId,
}

impl App {
    /// The email an `email.notification` job sends: to the person told, saying what they
    /// were given and where to find it. `base_url` is where people reach this server.
    pub async fn notification_email(&self, job: &Job, base_url: &str) -> Result<OutgoingEmail> {
        let payload: NotificationPayload = serde_json::from_str(&job.payload)
            .map_err(|e| AppError::invalid("payload", format!("job {}: {e}", job.id)))?;
        let mut tx = self.store.read().await?;
        let notification = tx
            .notification(job.tenant_id, payload.notification)
            .await?
            .ok_or_else(|| {
                AppError::NotFound(format!("no notification {}", payload.notification))
            })?;
        let user = tx
            .user(job.tenant_id, notification.user_id)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("no user {}", notification.user_id)))?;
        let tenant = tx
            .tenant(job.tenant_id)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("no tenant {}", job.tenant_id)))?;
        let link = format!("{}{}", base_url.trim_end_matches('/'), notification.link);
        let own = tx.email_templates(job.tenant_id).await?;
        let (subject, body) = crate::templates::wording(&own, &notification.kind);
        let tenant_name = tenant.name.to_string();
        let context = crate::templates::EmailContext {
            recipient: crate::templates::Person {
                name: user.name.as_str(),
                email: user.email.as_str(),
            },
            tenant: crate::templates::Named { name: &tenant_name },
            summary: &notification.summary,
            link: &link,
            kind: &notification.kind,
        };
        let (subject, body) =
            crate::templates::render(subject, body, &context).map_err(|(part, problem)| {
                AppError::invalid(
                    format!("{} email template {part}", notification.kind),
                    problem,
                )
            })?;
        Ok(OutgoingEmail {
            to: user.email.to_string(),
            to_name: user.name.as_str().to_owned(),
            subject,
            body,
            message_id: format!(
                "<{}@exeunt.{}>",
                job.idempotency_key.replace(':', "."),
                tenant.slug
            ),
        })
    }
}
