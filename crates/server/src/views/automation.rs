//! Connectors, webhooks, email templates and preferences, and jobs.

use jiff::Timestamp;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

/// A system access is revoked in. Its secret is never part of it.
#[derive(Serialize, ToSchema)]
pub struct Connector {
    /// The `system` of the accounts it serves.
    pub name: String,
    /// ldap, scim, postgres or webhook.
    pub kind: String,
    /// Where it points.
    pub target: String,
    #[schema(value_type = Object)]
    pub settings: serde_json::Value,
}

impl From<engine::connector::Connector> for Connector {
    fn from(c: engine::connector::Connector) -> Self {
        Self {
            name: c.name.to_string(),
            kind: c.kind.as_str().to_owned(),
            target: c.settings.target().to_owned(),
            settings: serde_json::to_value(&c.settings).unwrap_or_default(),
        }
    }
}

/// Where audit events go out as signed CloudEvents. Its signing key is never part of it.
#[derive(Serialize, ToSchema)]
pub struct Webhook {
    pub name: String,
    pub url: String,
    /// Patterns of the audit actions it gets: `*`, `case.*`, `task.completed`.
    pub events: Vec<String>,
    pub timeout_secs: u64,
    /// Private or loopback hosts the admin allowed it to reach.
    pub allow_private_hosts: Vec<String>,
    /// The sequence number of the last audit event dealt with.
    pub delivered_through: i64,
    /// Why the last delivery failed, until one succeeds.
    pub last_error: Option<String>,
}

impl From<app::Subscription> for Webhook {
    fn from(s: app::Subscription) -> Self {
        Self {
            name: s.name.to_string(),
            url: s.settings.url,
            events: s.settings.events,
            timeout_secs: s.settings.timeout_secs,
            allow_private_hosts: s.settings.allow_private_hosts,
            delivered_through: s.cursor_seq,
            last_error: s.last_error,
        }
    }
}

/// The wording of one kind of email (minijinja templates).
#[derive(Serialize, ToSchema)]
pub struct EmailTemplate {
    /// The notification kind, such as `task.assigned`.
    pub kind: String,
    pub subject: String,
    pub body: String,
    /// False while the built-in wording is used.
    pub custom: bool,
}

impl From<app::EmailTemplate> for EmailTemplate {
    fn from(t: app::EmailTemplate) -> Self {
        Self {
            kind: t.kind.to_owned(),
            subject: t.subject,
            body: t.body,
            custom: t.custom,
        }
    }
}

/// Whether the caller gets one kind of notification by email.
#[derive(Serialize, ToSchema)]
pub struct EmailPreference {
    pub kind: String,
    /// What the kind is about, in words.
    pub what: String,
    pub email: bool,
}

impl From<app::EmailPreference> for EmailPreference {
    fn from(p: app::EmailPreference) -> Self {
        Self {
            kind: p.kind.to_owned(),
            what: p.what.to_owned(),
            email: p.email,
        }
    }
}

/// What a DELETE removed.
#[derive(Serialize, ToSchema)]
pub struct Removed {
    pub removed: String,
}

/// A background job, as people follow it: what, how far, and the last error.
#[derive(Serialize, ToSchema)]
pub struct Job {
    pub id: Uuid,
    /// What it does, such as `access.revoke` or `email.notification`.
    pub kind: String,
    /// queued, running, done or dead.
    pub status: String,
    pub attempts: i64,
    pub max_attempts: i64,
    #[schema(value_type = String, format = DateTime)]
    pub run_at: Timestamp,
    pub last_error: Option<String>,
}

impl From<store::Job> for Job {
    fn from(j: store::Job) -> Self {
        Self {
            id: j.id.0,
            kind: j.kind.to_string(),
            status: j.status.as_str().to_owned(),
            attempts: j.attempts,
            max_attempts: j.max_attempts,
            run_at: j.run_at,
            last_error: j.last_error,
        }
    }
}
