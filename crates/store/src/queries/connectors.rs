//! Each tenant's connectors and audit-event webhook subscriptions.

use engine::connector::ConnectorKind;
use engine::ids::{Slug, TenantId, UserId};

use crate::model::{ConnectorRow, SubscriptionRow};
use crate::sql::{Row, args};
use crate::{Result, StoreError};

use super::*;

fn subscription_row(r: &impl Row) -> Result<SubscriptionRow> {
    Ok(SubscriptionRow {
        tenant_id: TenantId(r.uuid("tenant_id")?),
        name: slug(r.text("name")?)?,
        settings: r.text("settings")?.to_owned(),
        sealed_secret: r.bytes("sealed_secret")?.to_vec(),
        cursor_seq: r.int("cursor_seq")?,
        last_error: r.opt_text("last_error")?.map(str::to_owned),
        updated_by: UserId(r.uuid("updated_by")?),
        updated_at: from_us(r.int("updated_at_us")?)?,
    })
}

fn connector_row(r: &impl Row) -> Result<ConnectorRow> {
    let kind = r.text("kind")?;
    Ok(ConnectorRow {
        tenant_id: TenantId(r.uuid("tenant_id")?),
        name: slug(r.text("name")?)?,
        kind: ConnectorKind::parse(kind)
            .ok_or_else(|| StoreError::Corrupt(format!("connector kind `{kind}`")))?,
        settings: r.text("settings")?.to_owned(),
        sealed_secret: r.bytes("sealed_secret")?.to_vec(),
        updated_by: UserId(r.uuid("updated_by")?),
        updated_at: from_us(r.int("updated_at_us")?)?,
    })
}

impl Tx {
    /// Adds an audit-event webhook, or replaces the settings and secret of the one of the same
    /// name (keeping how far it got).
    pub async fn upsert_subscription(&mut self, w: &SubscriptionRow) -> Result<()> {
        self.run(
            "INSERT INTO webhook_subscriptions (tenant_id, name, settings, sealed_secret, cursor_seq, \
             last_error, updated_by, updated_at_us) VALUES ($1, $2, $3, $4, $5, NULL, $6, $7) \
             ON CONFLICT (tenant_id, name) DO UPDATE SET settings = excluded.settings, \
             sealed_secret = excluded.sealed_secret, last_error = NULL, \
             updated_by = excluded.updated_by, updated_at_us = excluded.updated_at_us",
            args![
                w.tenant_id.0,
                w.name.as_str(),
                &w.settings,
                &w.sealed_secret,
                w.cursor_seq,
                w.updated_by.0,
                us(w.updated_at),
            ],
        )
        .await?;
        Ok(())
    }

    /// A tenant's audit-event webhooks; with no tenant, every tenant's (for the sweep, which
    /// then works inside each subscription's own tenant).
    pub async fn subscriptions(
        &mut self,
        tenant: Option<TenantId>,
    ) -> Result<Vec<SubscriptionRow>> {
        self.all(
            "SELECT tenant_id, name, settings, sealed_secret, cursor_seq, last_error, updated_by, \
             updated_at_us FROM webhook_subscriptions WHERE $1 IS NULL OR tenant_id = $1 \
             ORDER BY tenant_id, name",
            args![tenant.map(|t| t.0)],
            |r| subscription_row(r),
        )
        .await
    }

    pub async fn delete_subscription(&mut self, tenant: TenantId, name: &Slug) -> Result<bool> {
        let deleted = self
            .run(
                "DELETE FROM webhook_subscriptions WHERE tenant_id = $1 AND name = $2",
                args![tenant.0, name.as_str()],
            )
            .await?;
        Ok(deleted == 1)
    }

    /// Records a sweep's progress: the cursor moves on (never back), and the last error is
    /// set or cleared.
    pub async fn advance_subscription(
        &mut self,
        tenant: TenantId,
        name: &Slug,
        cursor_seq: i64,
        last_error: Option<&str>,
    ) -> Result<()> {
        self.run(
            "UPDATE webhook_subscriptions SET cursor_seq = CASE WHEN cursor_seq > $3 THEN cursor_seq \
             ELSE $3 END, last_error = $4 WHERE tenant_id = $1 AND name = $2",
            args![tenant.0, name.as_str(), cursor_seq, last_error],
        )
        .await?;
        Ok(())
    }

    /// Adds the connector, or replaces the one of the same name.
    pub async fn upsert_connector(&mut self, c: &ConnectorRow) -> Result<()> {
        self.run(
            "INSERT INTO connectors (tenant_id, name, kind, settings, sealed_secret, updated_by, \
             updated_at_us) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (tenant_id, name) DO UPDATE SET kind = excluded.kind, \
             settings = excluded.settings, sealed_secret = excluded.sealed_secret, \
             updated_by = excluded.updated_by, updated_at_us = excluded.updated_at_us",
            args![
                c.tenant_id.0,
                c.name.as_str(),
                c.kind.as_str(),
                &c.settings,
                &c.sealed_secret,
                c.updated_by.0,
                us(c.updated_at),
            ],
        )
        .await?;
        Ok(())
    }

    /// The tenant's connectors, by name.
    pub async fn connectors(&mut self, tenant: TenantId) -> Result<Vec<ConnectorRow>> {
        self.all(
            "SELECT tenant_id, name, kind, settings, sealed_secret, updated_by, updated_at_us \
             FROM connectors WHERE tenant_id = $1 ORDER BY name",
            args![tenant.0],
            |r| connector_row(r),
        )
        .await
    }

    pub async fn connector(
        &mut self,
        tenant: TenantId,
        name: &str,
    ) -> Result<Option<ConnectorRow>> {
        self.optional(
            "SELECT tenant_id, name, kind, settings, sealed_secret, updated_by, updated_at_us \
             FROM connectors WHERE tenant_id = $1 AND name = $2",
            args![tenant.0, name],
            |r| connector_row(r),
        )
        .await
    }

    /// False when the tenant has no connector of that name.
    pub async fn delete_connector(&mut self, tenant: TenantId, name: &Slug) -> Result<bool> {
        let deleted = self
            .run(
                "DELETE FROM connectors WHERE tenant_id = $1 AND name = $2",
                args![tenant.0, name.as_str()],
            )
            .await?;
        Ok(deleted == 1)
    }
}
