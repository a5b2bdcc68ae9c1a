//! Signed heads of the audit chain.

use engine::ids::TenantId;

use crate::Result;
use crate::model::CheckpointRow;
use crate::sql::{Row, args};

use super::*;

fn checkpoint_row(r: &impl Row) -> Result<CheckpointRow> {
    Ok(CheckpointRow {
        seq: r.int("seq")?,
        hash: hash(r.bytes("hash")?)?,
        signed_at: from_us(r.int("signed_at_us")?)?,
        kid: r.text("kid")?.to_owned(),
        token: r.text("token")?.to_owned(),
    })
}

impl Tx {
    /// Stores a checkpoint; one for the same head already there is kept instead.
    pub async fn insert_checkpoint(&mut self, tenant: TenantId, c: &CheckpointRow) -> Result<()> {
        self.run(
            "INSERT INTO audit_checkpoints (tenant_id, seq, hash, signed_at_us, kid, token) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (tenant_id, seq) DO NOTHING",
            args![
                tenant.0,
                c.seq,
                &c.hash[..],
                us(c.signed_at),
                &c.kid,
                &c.token
            ],
        )
        .await?;
        Ok(())
    }

    /// Up to `limit` checkpoints before the one for event `before` (all when `None`), newest
    /// first.
    pub async fn checkpoints(
        &mut self,
        tenant: TenantId,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<CheckpointRow>> {
        self.all(
            "SELECT seq, hash, signed_at_us, kid, token FROM audit_checkpoints \
             WHERE tenant_id = $1 AND seq < COALESCE($2, 9223372036854775807) \
             ORDER BY seq DESC LIMIT $3",
            args![tenant.0, before, limit],
            |r| checkpoint_row(r),
        )
        .await
    }
}
