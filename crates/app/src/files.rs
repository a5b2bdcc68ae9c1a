//! Files at rest: documents and evidence, sealed by their subject's data key.
//!
//! A subject's data key is made the first time one of its files is stored, and kept sealed by
//! the tenant key. A file is a blob of chunks of [`BLOB_CHUNK`] bytes, each sealed with
//! XChaCha20-Poly1305 and bound (as associated data) to its blob, its position and whether it
//! is the last, so chunks cannot be swapped, reordered or dropped unnoticed. The blobs live in
//! the database, so every server of one PostgreSQL sees the same files and a file commits or
//! rolls back with the change that stores it.

use crypto::seal::{NONCE_LEN, SealingKey};
use engine::audit::DigestKey;
use engine::ids::{BlobId, EvidenceId, RecordId, SubjectId, SubjectKey, TenantId};
use engine::subject::{RecordKind, SubjectState};
use engine::tenant::Permission;
use serde_json::json;
use sha2::{Digest, Sha256};
use store::{BLOB_CHUNK, BlobMeta, RecordFile, Tx};

use crate::directory::{find_subject, frozen_by};
use crate::{Actor, App, AppError, Result, Target};

/// The largest file kept: evidence and documents alike.
pub const FILE_MAX_BYTES: usize = 25 * 1024 * 1024;

/// How many chunks one read of a download fetches (1 MiB of plaintext).
const CHUNKS_PER_READ: i64 = 16;
/// Sealed chunks written per statement (and, while storing an export's package, per write
/// transaction): on PostgreSQL every statement is a round trip.
pub(crate) const CHUNKS_PER_WRITE: usize = 16;

/// A file to store: evidence for a task, or a document's file.
#[derive(Clone, Debug)]
pub struct Upload {
    pub file_name: String,
    pub content: Vec<u8>,
}

impl Upload {
    /// Refuses a file larger than [`FILE_MAX_BYTES`], naming it.
    pub fn check_size(&self, field: &str) -> Result<()> {
        if self.content.len() > FILE_MAX_BYTES {
            return Err(AppError::invalid(
                field,
                format!(
                    "{} is {} bytes; the limit is {FILE_MAX_BYTES}",
                    self.file_name,
                    self.content.len()
                ),
            ));
        }
        Ok(())
    }
}

/// The digest key derived from a subject's data key.
fn digest_key_of(data_key: &SealingKey) -> DigestKey {
    DigestKey(data_key.derive(b"exeunt audit payload digest"))
}

fn data_key_purpose(subject: SubjectId) -> String {
    format!("exeunt data key of subject {subject}")
}

/// What a chunk is bound to: its blob, its place, and whether it is the last, so that a blob
/// cut short does not open (the STREAM construction). A writer that streams needs no count.
pub(crate) fn chunk_purpose(blob: BlobId, seq: i64, last: bool) -> String {
    let end = if last { " (last)" } else { "" };
    format!("exeunt blob {blob} chunk {seq}{end}")
}

/// A download in progress: reads and opens a blob's chunks a few at a time, so a file of any
/// size streams in constant memory.
pub struct Download {
    app: App,
    tenant: TenantId,
    pub blob: BlobMeta,
    pub file_name: String,
    pub media_type: String,
    key: SealingKey,
    next: i64,
}

impl Download {
    /// The next piece of the file, or `None` at its end.
    pub async fn next_piece(&mut self) -> Result<Option<Vec<u8>>> {
        if self.next >= self.blob.chunks {
            return Ok(None);
        }
        let sealed = self
            .app
            .store
            .read()
            .await?
            .blob_chunks(self.tenant, self.blob.id, self.next, CHUNKS_PER_READ)
            .await?;
        if sealed.is_empty() {
            return Err(AppError::Conflict(format!(
                "file {} ends at chunk {} of {}",
                self.blob.id, self.next, self.blob.chunks
            )));
        }
        let mut piece = Vec::with_capacity(sealed.len() * BLOB_CHUNK);
        for chunk in sealed {
            let last = self.next + 1 == self.blob.chunks;
            let purpose = chunk_purpose(self.blob.id, self.next, last);
            piece.extend(self.key.open(&purpose, &chunk)?);
            self.next += 1;
        }
        Ok(Some(piece))
    }
}

impl App {
    /// The subject's data key, made and kept in the keyring the first time it is needed:
    /// for sealing, and for digests of new audit events.
    pub(crate) async fn data_key(
        &self,
        tenant: TenantId,
        subject: SubjectId,
    ) -> Result<SealingKey> {
        let keyring = self.store.keyring();
        let sealed = match keyring.get(tenant, subject).await? {
            Some(sealed) => sealed,
            None => {
                let key = SealingKey::from_secret(self.ids.secret());
                let sealed =
                    self.tenant_key(tenant)
                        .wrap(&data_key_purpose(subject), &key, self.nonce());
                keyring.keep(tenant, subject, &sealed, self.now()).await?
            }
        };
        self.open_data_key(tenant, subject, &sealed)
    }

    /// The data key that sealed `subject`'s files, which must be in the keyring: a purge
    /// shredded it, or the database runs with a keyring other than the one it was written
    /// with (a database restored without the keyring of its time, say).
    async fn sealing_key(&self, tenant: TenantId, subject: SubjectId) -> Result<SealingKey> {
        match self.store.keyring().get(tenant, subject).await? {
            Some(sealed) => self.open_data_key(tenant, subject, &sealed),
            None => Err(AppError::Conflict(format!(
                "the key that sealed this file is not in the keyring: its subject was purged, \
                 or the keyring at {} is not the one the database was written with",
                self.store.keyring().location()
            ))),
        }
    }

    fn open_data_key(
        &self,
        tenant: TenantId,
        subject: SubjectId,
        sealed: &[u8],
    ) -> Result<SealingKey> {
        Ok(self
            .tenant_key(tenant)
            .unwrap_key(&data_key_purpose(subject), sealed)?)
    }

    fn tenant_key(&self, tenant: TenantId) -> SealingKey {
        self.master.tenant_key(tenant.0.as_bytes())
    }

    /// What `subject`'s audit payload digests are keyed with: derived from its data key
    /// (made the first time), so that the purge that shreds one shreds the other.
    pub(crate) async fn digest_key(
        &self,
        tenant: TenantId,
        subject: SubjectId,
    ) -> Result<DigestKey> {
        Ok(digest_key_of(&self.data_key(tenant, subject).await?))
    }

    /// `subject`'s digest key if its data key exists: `None` once a purge shredded it. Makes
    /// nothing.
    pub(crate) async fn existing_digest_key(
        &self,
        tenant: TenantId,
        subject: SubjectId,
    ) -> Result<Option<DigestKey>> {
        let Some(sealed) = self.store.keyring().get(tenant, subject).await? else {
            return Ok(None);
        };
        Ok(Some(digest_key_of(
            &self.open_data_key(tenant, subject, &sealed)?,
        )))
    }

    /// The digest keys of every subject of the tenant whose data key exists: what an exported
    /// log carries so that its payloads can be checked offline. A purged subject has none.
    pub async fn digest_keys(&self, actor: &Actor) -> Result<Vec<(SubjectId, DigestKey)>> {
        let tenant = actor.tenant.id;
        self.store
            .keyring()
            .all(tenant)
            .await?
            .into_iter()
            .map(|(subject, sealed)| {
                Ok((
                    subject,
                    digest_key_of(&self.open_data_key(tenant, subject, &sealed)?),
                ))
            })
            .collect()
    }

    pub(crate) fn nonce(&self) -> [u8; NONCE_LEN] {
        let mut nonce = [0u8; NONCE_LEN];
        nonce.copy_from_slice(&self.ids.secret()[..NONCE_LEN]);
        nonce
    }

    /// Seals `content` as a blob of `subject`'s, in the caller's transaction.
    pub(crate) async fn put_blob(
        &self,
        tx: &mut Tx,
        tenant: TenantId,
        subject: SubjectId,
        content: &[u8],
    ) -> Result<BlobMeta> {
        let key = self.data_key(tenant, subject).await?;
        let chunks = content.len().div_ceil(BLOB_CHUNK).max(1);
        let blob = BlobMeta {
            id: BlobId(self.new_id()),
            subject_id: subject,
            size: i64::try_from(content.len()).unwrap_or(i64::MAX),
            sha256: Sha256::digest(content).into(),
            chunks: i64::try_from(chunks).unwrap_or(i64::MAX),
            created_at: self.now(),
        };
        tx.insert_blob(tenant, &blob).await?;
        // An empty file is one empty chunk, so that its end is sealed too.
        let pieces: Vec<&[u8]> = if content.is_empty() {
            vec![&[]]
        } else {
            content.chunks(BLOB_CHUNK).collect()
        };
        let mut batch = Vec::with_capacity(CHUNKS_PER_WRITE);
        for (seq, piece) in (0i64..).zip(pieces) {
            let sealed = key.seal(
                &chunk_purpose(blob.id, seq, seq + 1 == blob.chunks),
                piece,
                self.nonce(),
            );
            batch.push((seq, sealed));
            if batch.len() == CHUNKS_PER_WRITE {
                tx.insert_blob_chunks(tenant, blob.id, &batch).await?;
                batch.clear();
            }
        }
        tx.insert_blob_chunks(tenant, blob.id, &batch).await?;
        Ok(blob)
    }

    pub(crate) async fn download(
        &self,
        tx: &mut Tx,
        tenant: TenantId,
        blob: BlobId,
        file_name: String,
        media_type: String,
    ) -> Result<Download> {
        let blob = tx
            .blob(tenant, blob)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("no file {blob}")))?;
        let key = self.sealing_key(tenant, blob.subject_id).await?;
        Ok(Download {
            app: self.clone(),
            tenant,
            blob,
            file_name,
            media_type,
            key,
            next: 0,
        })
    }

    /// Gives a document record its file (replacing the one it had). A frozen subject's
    /// documents do not change.
    pub async fn attach_file(
        &self,
        actor: &Actor,
        key: &SubjectKey,
        number: i64,
        upload: Upload,
        media_type: String,
    ) -> Result<RecordFile> {
        actor.require(Permission::RunCases)?;
        upload.check_size("file")?;
        let at = self.now();
        let mut tx = self.store.write().await?;
        let subject = find_subject(&mut tx, actor, key).await?;
        let record = tx
            .records(actor.tenant.id, subject.id)
            .await?
            .into_iter()
            .find(|r| r.number == number)
            .ok_or_else(|| AppError::NotFound(format!("`{key}` has no record {number}")))?;
        if record.kind != RecordKind::Document {
            return Err(AppError::invalid(
                "record",
                format!(
                    "record {number} of `{key}` is a {}; only documents carry a file",
                    record.kind
                ),
            ));
        }
        if let Some(frozen) = frozen_by(&mut tx, actor, &subject).await? {
            return Err(AppError::Locked(frozen));
        }
        let blob = self
            .put_blob(&mut tx, actor.tenant.id, subject.id, &upload.content)
            .await?;
        let file = RecordFile {
            record_id: record.id,
            blob,
            file_name: upload.file_name,
            media_type,
            added_by: actor.user.id,
            added_at: at,
        };
        tx.set_record_file(actor.tenant.id, &file).await?;
        self.audit(&mut tx, actor, at, "record.file_attached", Target::of(subject.id, "record", format!("{key}/{number}")), json!({
            "summary": format!("attached {} to document {number} of {key}", file.file_name),
            "file": file.file_name, "size": file.blob.size, "sha256": engine::audit::to_hex(&file.blob.sha256),
        }))
        .await?;
        tx.commit().await?;
        Ok(file)
    }

    /// The file of a document record, to stream.
    pub async fn record_file(
        &self,
        actor: &Actor,
        key: &SubjectKey,
        number: i64,
    ) -> Result<Download> {
        let mut tx = self.store.read().await?;
        let subject = find_subject(&mut tx, actor, key).await?;
        let record: RecordId = tx
            .records(actor.tenant.id, subject.id)
            .await?
            .into_iter()
            .find(|r| r.number == number)
            .map(|r| r.id)
            .ok_or_else(|| AppError::NotFound(format!("`{key}` has no record {number}")))?;
        let file = tx
            .record_files(actor.tenant.id, subject.id)
            .await?
            .into_iter()
            .find(|f| f.record_id == record)
            .ok_or_else(|| AppError::NotFound(format!("record {number} of `{key}` has no file")))?;
        self.download(
            &mut tx,
            actor.tenant.id,
            file.blob.id,
            file.file_name,
            file.media_type,
        )
        .await
    }

    /// A piece of evidence of a case: a sealed file, or the bytes of one stored before files
    /// were sealed.
    pub async fn evidence_file(
        &self,
        actor: &Actor,
        number: i64,
        id: EvidenceId,
    ) -> Result<EvidenceContent> {
        let mut tx = self.store.read().await?;
        let file = self.locked_case(&mut tx, actor, number).await?;
        let meta = tx
            .evidence_item(actor.tenant.id, file.case.id, id)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("case {number} has no evidence {id}")))?;
        let subject = tx.subject(actor.tenant.id, file.case.subject_id).await?;
        if subject.is_some_and(|s| s.state == SubjectState::Purged) {
            return Err(AppError::NotFound(format!(
                "evidence {id} of case {number} was destroyed when its subject was purged"
            )));
        }
        Ok(match meta.blob_id {
            Some(blob) => EvidenceContent::Sealed(Box::new(
                self.download(
                    &mut tx,
                    actor.tenant.id,
                    blob,
                    meta.file_name,
                    "application/octet-stream".to_owned(),
                )
                .await?,
            )),
            None => EvidenceContent::Unsealed {
                content: tx.unsealed_evidence(actor.tenant.id, id).await?,
                file_name: meta.file_name,
            },
        })
    }
}

/// Evidence to hand out.
pub enum EvidenceContent {
    Sealed(Box<Download>),
    /// Stored before files were sealed.
    Unsealed {
        file_name: String,
        content: Vec<u8>,
    },
}
