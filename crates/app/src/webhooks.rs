//! Audit-event webhooks: any audit event type can go out to a tenant's HTTP endpoint as a
//! signed CloudEvent. The audit log is the outbox: a subscription remembers the last event it
//! dealt with, and each sweep hands the worker what came after, in order, so the write path
//! pays nothing and a receiver sees events in the order they happened, each once per
//! subscription unless an acknowledgement was lost (then again, with the same id).

use engine::connector::{SubscriptionSettings, WEBHOOK_KEY_MIN};
use engine::ids::{Slug, TenantId};
use engine::tenant::Permission;
use serde::Serialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use store::{AuditFilter, SubscriptionRow};

use crate::{Actor, App, AppError, Result};

/// The most events one sweep sends per subscription.
const SWEEP_EVENTS: i64 = 200;

/// A subscription as people see it: no secret.
#[derive(Clone, Debug, Serialize)]
pub struct Subscription {
    pub name: Slug,
    pub settings: SubscriptionSettings,
    /// The last audit event dealt with.
    pub cursor_seq: i64,
    pub last_error: Option<String>,
}

/// The events a subscription has to send now, and where.
pub struct PendingDeliveries {
    pub tenant: TenantId,
    pub name: Slug,
    pub settings: SubscriptionSettings,
    /// Opened for this sweep only.
    pub secret: String,
    /// In order: the sequence number and the event as it goes out.
    pub events: Vec<(i64, OutgoingEvent)>,
    /// The last sequence number looked at, wanted or not.
    pub scanned_to: i64,
}

pub struct OutgoingEvent {
    /// `com.exeunt.audit.<action>`.
    pub event_type: String,
    /// `<tenant>:<seq>`: the same on every attempt.
    pub id: String,
    /// The event's target, `<kind>/<id>`.
    pub subject: String,
    pub data: Value,
}

impl App {
    /// Adds an audit-event webhook (it starts with the events after now), or replaces the
    /// settings and secret of the one of that name.
    pub async fn set_subscription(
        &self,
        actor: &Actor,
        name: &Slug,
        settings: Value,
        secret: &str,
    ) -> Result<Subscription> {
        actor.require(Permission::ManageUsers)?;
        let settings = SubscriptionSettings::parse(settings)
            .map_err(|e| AppError::invalid(e.path(), e.problem))?;
        crate::connectors::refuse_internal_target(&settings.webhook()).await?;
        if secret.len() < WEBHOOK_KEY_MIN {
            return Err(AppError::invalid(
                "secret",
                format!(
                    "is {} bytes; expected a signing key of at least {WEBHOOK_KEY_MIN}",
                    secret.len()
                ),
            ));
        }
        let at = self.now();
        let sealed = self.master.tenant_key(actor.tenant.id.0.as_bytes()).seal(
            &purpose(name),
            secret.as_bytes(),
            self.nonce(),
        );
        let mut tx = self.store.write().await?;
        let head = tx
            .audit_head(actor.tenant.id)
            .await?
            .map_or(0, |(seq, _)| seq);
        tx.upsert_subscription(&SubscriptionRow {
            tenant_id: actor.tenant.id,
            name: name.clone(),
            settings: serde_json::to_string(&settings)
                .map_err(|e| AppError::invalid("settings", e))?,
            sealed_secret: sealed,
            // The audit event below is the first one after the cursor: it goes out too.
            cursor_seq: head,
            last_error: None,
            updated_by: actor.user.id,
            updated_at: at,
        })
        .await?;
        // The log, which auditors read and every webhook receives, keeps where the events go
        // but not the URL's path, which may hold a token (chat webhooks' do); its digest
        // still tells a known URL apart.
        let mut logged = settings.clone();
        logged.url = origin_only(&settings.url);
        self.audit(&mut tx, actor, at, "webhook.set", ("webhook", name.to_string()), json!({
            "summary": format!("sent audit events {} to {} (webhook {name})", settings.events.join(", "), logged.url),
            "settings": logged,
            "url_sha256": engine::audit::to_hex(&Sha256::digest(settings.url.as_bytes())),
        }))
        .await?;
        let stored = tx
            .subscriptions(Some(actor.tenant.id))
            .await?
            .into_iter()
            .find(|s| &s.name == name)
            .ok_or_else(|| AppError::NotFound(format!("webhook {name}")))?;
        tx.commit().await?;
        subscription_of(&stored)
    }

    /// The tenant's webhooks. Only those who may change them see their URLs whole: a URL's
    /// path often carries a token of its own (chat webhooks do); others see its origin.
    pub async fn subscriptions(&self, actor: &Actor) -> Result<Vec<Subscription>> {
        let rows = self
            .store
            .read()
            .await?
            .subscriptions(Some(actor.tenant.id))
            .await?;
        let whole = actor.require(Permission::ManageUsers).is_ok();
        rows.iter()
            .map(|row| {
                let mut subscription = subscription_of(row)?;
                if !whole {
                    subscription.settings.url = origin_only(&subscription.settings.url);
                }
                Ok(subscription)
            })
            .collect()
    }

    pub async fn remove_subscription(&self, actor: &Actor, name: &Slug) -> Result<()> {
        actor.require(Permission::ManageUsers)?;
        let at = self.now();
        let mut tx = self.store.write().await?;
        if !tx.delete_subscription(actor.tenant.id, name).await? {
            return Err(AppError::NotFound(format!("no webhook {name}")));
        }
        self.audit(
            &mut tx,
            actor,
            at,
            "webhook.removed",
            ("webhook", name.to_string()),
            json!({
                "summary": format!("stopped the webhook {name}"),
            }),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// What every subscription of every tenant has to send now.
    pub async fn pending_deliveries(&self) -> Result<Vec<PendingDeliveries>> {
        let mut tx = self.store.read().await?;
        let mut pending = Vec::new();
        for row in tx.subscriptions(None).await? {
            let subscription = subscription_of(&row)?;
            let events = tx
                .audit_events(
                    row.tenant_id,
                    &AuditFilter {
                        after_seq: row.cursor_seq,
                        limit: SWEEP_EVENTS,
                        ..AuditFilter::default()
                    },
                )
                .await?;
            let Some(last) = events.last().map(|e| e.seq) else {
                continue;
            };
            // The newest signed head goes out with every event: a copy the database cannot
            // take back.
            let checkpoint = tx
                .checkpoints(row.tenant_id, None, 1)
                .await?
                .pop()
                .map(|c| c.token);
            let secret = self
                .master
                .tenant_key(row.tenant_id.0.as_bytes())
                .open(&purpose(&row.name), &row.sealed_secret)?;
            let wanted = events
                .into_iter()
                .filter(|e| subscription.settings.matches(&e.action))
                .map(|e| {
                    let payload = e
                        .payload
                        .as_deref()
                        .and_then(|p| serde_json::from_str::<Value>(p).ok());
                    let event = OutgoingEvent {
                        event_type: format!("com.exeunt.audit.{}", e.action),
                        id: format!("{}:{}", e.tenant_id, e.seq),
                        subject: format!("{}/{}", e.target_kind, e.target_id),
                        data: json!({
                            "seq": e.seq,
                            "at": jiff::Timestamp::from_microsecond(e.at_us).ok(),
                            "actor": e.actor,
                            "action": e.action,
                            "target": {"kind": e.target_kind, "id": e.target_id},
                            // None once a purge erased it: the receiver learns that too.
                            "payload": payload,
                            "checkpoint": checkpoint,
                        }),
                    };
                    (e.seq, event)
                })
                .collect();
            pending.push(PendingDeliveries {
                tenant: row.tenant_id,
                name: row.name,
                settings: subscription.settings,
                secret: String::from_utf8(secret)
                    .map_err(|_| AppError::invalid("secret", "is not UTF-8"))?,
                events: wanted,
                scanned_to: last,
            });
        }
        Ok(pending)
    }

    /// Records how far a subscription's delivery got, and why it stopped if it did.
    pub async fn delivered(
        &self,
        tenant: TenantId,
        name: &Slug,
        through_seq: i64,
        error: Option<&str>,
    ) -> Result<()> {
        let mut tx = self.store.write().await?;
        tx.advance_subscription(tenant, name, through_seq, error)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}

fn purpose(name: &Slug) -> String {
    format!("webhook-secret:{name}")
}

fn subscription_of(row: &SubscriptionRow) -> Result<Subscription> {
    let value: Value = serde_json::from_str(&row.settings)
        .map_err(|e| AppError::invalid("settings", format!("webhook {}: {e}", row.name)))?;
    let settings = SubscriptionSettings::parse(value)
        .map_err(|e| AppError::invalid(format!("settings of webhook {}", row.name), e))?;
    Ok(Subscription {
        name: row.name.clone(),
        settings,
        cursor_seq: row.cursor_seq,
        last_error: row.last_error.clone(),
    })
}

/// `https://host:port/…` of a URL: where it goes, without what its path may hold.
fn origin_only(url: &str) -> String {
    let host_at = url.find("://").map_or(0, |i| i + 3);
    match url[host_at..].find('/') {
        Some(slash) => format!("{}/…", &url[..host_at + slash]),
        None => url.to_owned(),
    }
}
