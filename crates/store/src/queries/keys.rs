//! What the database keeps about data keys, which live in the keyring (`keyring.rs`): the
//! purges' queue of keys to shred, and the keys an earlier Exeunt kept in the database, which
//! move to the keyring once.

use engine::ids::{SubjectId, TenantId};
use jiff::Timestamp;

use super::{Tx, us};
use crate::Result;
use crate::sql::{Row, args};

/// A data key as an earlier Exeunt kept it in the database: tenant, subject, sealed key and
/// when it was made (microseconds).
pub type LegacyDataKey = (TenantId, SubjectId, Vec<u8>, i64);

impl Tx {
    /// Queues `subject`'s data key to be shredded from the keyring once this (the purge's)
    /// transaction commits.
    pub async fn queue_key_shred(
        &mut self,
        tenant: TenantId,
        subject: SubjectId,
        at: Timestamp,
    ) -> Result<()> {
        self.run(
            "INSERT INTO key_shreds (tenant_id, subject_id, queued_at_us) VALUES ($1, $2, $3) \
             ON CONFLICT (tenant_id, subject_id) DO NOTHING",
            args![tenant.0, subject.0, us(at)],
        )
        .await?;
        Ok(())
    }

    /// The data keys purges queued for shredding, oldest first.
    pub async fn queued_key_shreds(&mut self) -> Result<Vec<(TenantId, SubjectId)>> {
        self.all(
            "SELECT tenant_id, subject_id FROM key_shreds ORDER BY queued_at_us",
            args![],
            |r| {
                Ok((
                    TenantId(r.uuid("tenant_id")?),
                    SubjectId(r.uuid("subject_id")?),
                ))
            },
        )
        .await
    }

    /// Takes keys off the queue once they are shredded and their purges' erasure finished.
    pub async fn forget_key_shreds(&mut self, shredded: &[(TenantId, SubjectId)]) -> Result<()> {
        for (tenant, subject) in shredded {
            self.run(
                "DELETE FROM key_shreds WHERE tenant_id = $1 AND subject_id = $2",
                args![tenant.0, subject.0],
            )
            .await?;
        }
        Ok(())
    }

    /// The data keys an earlier Exeunt kept in the database, to move to the keyring.
    pub(crate) async fn legacy_data_keys(&mut self) -> Result<Vec<LegacyDataKey>> {
        self.all(
            "SELECT tenant_id, subject_id, sealed_key, created_at_us FROM subject_keys",
            args![],
            |r| {
                Ok((
                    TenantId(r.uuid("tenant_id")?),
                    SubjectId(r.uuid("subject_id")?),
                    r.bytes("sealed_key")?.to_vec(),
                    r.int("created_at_us")?,
                ))
            },
        )
        .await
    }

    /// Removes the data keys [`Tx::legacy_data_keys`] read, once the keyring holds them:
    /// those, and no other.
    pub(crate) async fn forget_legacy_data_keys(&mut self, moved: &[LegacyDataKey]) -> Result<()> {
        for (tenant, subject, sealed, _) in moved {
            self.run(
                "DELETE FROM subject_keys WHERE tenant_id = $1 AND subject_id = $2 \
                 AND sealed_key = $3",
                args![tenant.0, subject.0, sealed],
            )
            .await?;
        }
        Ok(())
    }

    /// Whether the database holds any subject (and so, maybe, files sealed by keys the
    /// keyring must already hold).
    pub(crate) async fn holds_subjects(&mut self) -> Result<bool> {
        self.one(
            "SELECT EXISTS (SELECT 1 FROM subjects) AS found",
            args![],
            |r| r.bool("found"),
        )
        .await
    }
}
