//! Sealed blobs and their chunks: documents' files and tasks' evidence.

use engine::ids::{BlobId, CaseId, EvidenceId, RecordId, SubjectId, TenantId, UserId};

use crate::model::{BlobMeta, EvidenceMeta, RecordFile};
use crate::sql::{Row, args};
use crate::{Result, StoreError};

use super::*;

const EVIDENCE_COLUMNS: &str =
    "id, blob_id, case_id, task_id, file_name, size, sha256, added_by, added_at_us, tenant_id";

fn evidence_row(r: &impl Row) -> Result<EvidenceMeta> {
    Ok(EvidenceMeta {
        id: EvidenceId(r.uuid("id")?),
        blob_id: r.opt_uuid("blob_id")?.map(BlobId),
        case_id: CaseId(r.uuid("case_id")?),
        task_id: slug(r.text("task_id")?)?,
        file_name: r.text("file_name")?.to_owned(),
        size: r.int("size")?,
        sha256: hash(r.bytes("sha256")?)?,
        added_by: UserId(r.uuid("added_by")?),
        added_at: from_us(r.int("added_at_us")?)?,
        tenant_id: TenantId(r.uuid("tenant_id")?),
    })
}

const BLOB_COLUMNS: &str = "b.id, b.subject_id, b.size, b.sha256, b.chunks, b.created_at_us";

pub(super) fn blob_row(r: &impl Row) -> Result<BlobMeta> {
    Ok(BlobMeta {
        id: BlobId(r.uuid("id")?),
        subject_id: SubjectId(r.uuid("subject_id")?),
        size: r.int("size")?,
        sha256: hash(r.bytes("sha256")?)?,
        chunks: r.int("chunks")?,
        created_at: from_us(r.int("created_at_us")?)?,
    })
}

impl Tx {
    pub async fn insert_evidence(&mut self, tenant: TenantId, m: &EvidenceMeta) -> Result<()> {
        self.run(
            "INSERT INTO evidence (tenant_id, id, case_id, task_id, file_name, size, sha256, content, \
             blob_id, added_by, added_at_us) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            args![
                tenant.0,
                m.id.0,
                m.case_id.0,
                m.task_id.as_str(),
                &m.file_name,
                m.size,
                &m.sha256,
                &[] as &[u8],
                m.blob_id.map(|b| b.0),
                m.added_by.0,
                us(m.added_at),
            ],
        )
        .await?;
        Ok(())
    }

    pub async fn evidence(&mut self, tenant: TenantId, case: CaseId) -> Result<Vec<EvidenceMeta>> {
        self.all(
            &format!(
                "SELECT {EVIDENCE_COLUMNS} FROM evidence \
                 WHERE tenant_id = $1 AND case_id = $2 ORDER BY added_at_us, id"
            ),
            args![tenant.0, case.0],
            |r| evidence_row(r),
        )
        .await
    }

    /// One piece of evidence of a case.
    pub async fn evidence_item(
        &mut self,
        tenant: TenantId,
        case: CaseId,
        id: EvidenceId,
    ) -> Result<Option<EvidenceMeta>> {
        self.optional(
            &format!(
                "SELECT {EVIDENCE_COLUMNS} FROM evidence \
                 WHERE tenant_id = $1 AND case_id = $2 AND id = $3"
            ),
            args![tenant.0, case.0, id.0],
            |r| evidence_row(r),
        )
        .await
    }

    /// The bytes of evidence stored before files were sealed (`blob_id` is `None`).
    pub async fn unsealed_evidence(&mut self, tenant: TenantId, id: EvidenceId) -> Result<Vec<u8>> {
        self.optional(
            "SELECT content FROM evidence WHERE tenant_id = $1 AND id = $2",
            args![tenant.0, id.0],
            |r| Ok(r.bytes("content")?.to_vec()),
        )
        .await?
        .ok_or_else(|| StoreError::Corrupt(format!("evidence {id} has no row")))
    }

    pub async fn insert_blob(&mut self, tenant: TenantId, b: &BlobMeta) -> Result<()> {
        self.run(
            "INSERT INTO blobs (tenant_id, id, subject_id, size, sha256, chunks, created_at_us) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            args![
                tenant.0,
                b.id.0,
                b.subject_id.0,
                b.size,
                &b.sha256,
                b.chunks,
                us(b.created_at),
            ],
        )
        .await?;
        Ok(())
    }

    /// Inserts a run of a blob's sealed chunks, `(seq, sealed)`, in one statement: on
    /// PostgreSQL every statement is a round trip, and an export writes thousands of chunks.
    pub async fn insert_blob_chunks(
        &mut self,
        tenant: TenantId,
        blob: BlobId,
        chunks: &[(i64, Vec<u8>)],
    ) -> Result<()> {
        if chunks.is_empty() {
            return Ok(());
        }
        let mut values = Vec::with_capacity(chunks.len() * 4);
        for (seq, sealed) in chunks {
            values.extend_from_slice(args![tenant.0, blob.0, *seq, sealed.as_slice()]);
        }
        self.run(
            &format!(
                "INSERT INTO blob_chunks (tenant_id, blob_id, seq, sealed) VALUES {}",
                crate::sql::value_rows(chunks.len(), 4)
            ),
            &values,
        )
        .await?;
        Ok(())
    }

    pub async fn blob(&mut self, tenant: TenantId, id: BlobId) -> Result<Option<BlobMeta>> {
        self.optional(
            &format!("SELECT {BLOB_COLUMNS} FROM blobs b WHERE b.tenant_id = $1 AND b.id = $2"),
            args![tenant.0, id.0],
            |r| blob_row(r),
        )
        .await
    }

    /// Up to `limit` sealed chunks of a blob from `from` on, in order.
    pub async fn blob_chunks(
        &mut self,
        tenant: TenantId,
        blob: BlobId,
        from: i64,
        limit: i64,
    ) -> Result<Vec<Vec<u8>>> {
        self.all(
            "SELECT sealed FROM blob_chunks WHERE tenant_id = $1 AND blob_id = $2 AND seq >= $3 \
             ORDER BY seq LIMIT $4",
            args![tenant.0, blob.0, from, limit],
            |r| Ok(r.bytes("sealed")?.to_vec()),
        )
        .await
    }

    /// Completes a blob written in pieces: its size, digest and number of chunks.
    pub async fn finish_blob(&mut self, tenant: TenantId, b: &BlobMeta) -> Result<()> {
        self.run(
            "UPDATE blobs SET size = $3, sha256 = $4, chunks = $5 WHERE tenant_id = $1 AND id = $2",
            args![tenant.0, b.id.0, b.size, &b.sha256, b.chunks],
        )
        .await?;
        Ok(())
    }

    /// Deletes a blob and its chunks.
    pub async fn delete_blob(&mut self, tenant: TenantId, blob: BlobId) -> Result<()> {
        self.run(
            "DELETE FROM blob_chunks WHERE tenant_id = $1 AND blob_id = $2",
            args![tenant.0, blob.0],
        )
        .await?;
        self.run(
            "DELETE FROM blobs WHERE tenant_id = $1 AND id = $2",
            args![tenant.0, blob.0],
        )
        .await?;
        Ok(())
    }

    /// Gives a document record its file, replacing the one it had.
    pub async fn set_record_file(&mut self, tenant: TenantId, f: &RecordFile) -> Result<()> {
        self.run(
            "INSERT INTO record_files (tenant_id, record_id, blob_id, file_name, media_type, \
             added_by, added_at_us) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (tenant_id, record_id) DO UPDATE SET blob_id = excluded.blob_id, \
             file_name = excluded.file_name, media_type = excluded.media_type, \
             added_by = excluded.added_by, added_at_us = excluded.added_at_us",
            args![
                tenant.0,
                f.record_id.0,
                f.blob.id.0,
                &f.file_name,
                &f.media_type,
                f.added_by.0,
                us(f.added_at),
            ],
        )
        .await?;
        Ok(())
    }

    /// The files of a subject's records.
    pub async fn record_files(
        &mut self,
        tenant: TenantId,
        subject: SubjectId,
    ) -> Result<Vec<RecordFile>> {
        self.all(
            &format!(
                "SELECT f.record_id, f.file_name, f.media_type, f.added_by, f.added_at_us, \
                 {BLOB_COLUMNS} FROM record_files f \
                 JOIN blobs b ON b.tenant_id = f.tenant_id AND b.id = f.blob_id \
                 WHERE f.tenant_id = $1 AND b.subject_id = $2 ORDER BY f.added_at_us, f.record_id"
            ),
            args![tenant.0, subject.0],
            |r| {
                Ok(RecordFile {
                    record_id: RecordId(r.uuid("record_id")?),
                    file_name: r.text("file_name")?.to_owned(),
                    media_type: r.text("media_type")?.to_owned(),
                    added_by: UserId(r.uuid("added_by")?),
                    added_at: from_us(r.int("added_at_us")?)?,
                    blob: blob_row(r)?,
                })
            },
        )
        .await
    }
}
