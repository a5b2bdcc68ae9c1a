//! Export packages: everything a subject has, as a BagIt bag in one `.zip`, built in the
//! background and kept sealed like any other file of the subject.
//!
//! A request queues an export and, in the same transaction, a job of kind `export.build`. A
//! worker (beside `exeunt serve`, or `exeunt export run`) claims the job under the queue's
//! lease, builds the bag into an anonymous temporary file (gone with the process, so a crash
//! leaves no plaintext behind), seals it into a blob chunk by chunk, and signs a receipt
//! naming the package's SHA-256. Every write of a build is fenced by the job's attempt. A
//! worker that dies mid-build leaves the export `building` until the job's lease ends; the
//! next attempt throws the partial blob away and starts over, so a package is built once and
//! whole.

use std::io::{Read, Seek, SeekFrom};

use bagit::BagWriter;
use engine::audit::to_hex;
use engine::case::CaseFile;
use engine::certificate::CaseClaim;
use engine::certificate::ExportReceiptClaims;
use engine::export::ExportStatus;
use engine::ids::{BlobId, ExportId};
use engine::job::{JobKind, JobLease};
use engine::subject::{Record, RecordKind};
use engine::tenant::Permission;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};
use store::{BLOB_CHUNK, BlobMeta, Concern, Export, Job, Tx};

use crate::files::{CHUNKS_PER_WRITE, Download, chunk_purpose};
use crate::jobs::{JobAttempt, NewJob, this_process};
use crate::{Actor, App, AppError, Result, Target};

/// What a job of kind `export.build` builds.
#[derive(Serialize, Deserialize)]
struct ExportJob {
    export: ExportId,
}

/// Who the audit log names for what workers do.
const WORKER: &str = "system:exports";

impl App {
    /// Queues an export of the case's subject; a case has at most one waiting at a time, and
    /// asking again while one waits returns it.
    pub async fn request_export(&self, actor: &Actor, number: i64) -> Result<Export> {
        actor.require(Permission::RunCases)?;
        let at = self.now();
        let mut tx = self.store.write().await?;
        let file = self.locked_case(&mut tx, actor, number).await?;
        if let Some(waiting) = tx
            .exports(actor.tenant.id, file.case.id)
            .await?
            .into_iter()
            .find(|e| matches!(e.status, ExportStatus::Queued | ExportStatus::Building))
        {
            return Ok(waiting);
        }
        let export = Export {
            tenant_id: actor.tenant.id,
            id: ExportId(self.new_id()),
            case_id: file.case.id,
            case_number: number,
            subject_id: file.case.subject_id,
            status: ExportStatus::Queued,
            failure: None,
            blob: None,
            payload_files: None,
            payload_bytes: None,
            receipt: None,
            attempts: 0,
            requested_by: actor.user.id,
            requested_at: at,
            started_at: None,
            finished_at: None,
            acknowledged: None,
            acknowledgement_waived: None,
        };
        tx.insert_export(&export).await?;
        let job = NewJob {
            kind: JobKind::ExportBuild,
            payload: json!(ExportJob { export: export.id }),
            key: format!("export:{}", export.id),
            case: Some(file.case.id),
            run_at: at,
        };
        self.enqueue(&mut tx, actor.tenant.id, job, at).await?;
        self.audit(&mut tx, actor, at, "export.requested", Target::of(export.subject_id, "export", format!("{}/{}", export.case_number, export.id)), json!({
            "summary": format!("requested an export of case {number}'s subject"), "case": number,
        }))
        .await?;
        tx.commit().await?;
        Ok(export)
    }

    /// A case's exports, newest first.
    pub async fn exports(&self, actor: &Actor, number: i64) -> Result<Vec<Export>> {
        let mut tx = self.store.read().await?;
        let file = self.locked_case(&mut tx, actor, number).await?;
        Ok(tx.exports(actor.tenant.id, file.case.id).await?)
    }

    /// The newest ready export of a case.
    pub(crate) async fn newest_ready_export(
        &self,
        tx: &mut Tx,
        actor: &Actor,
        number: i64,
    ) -> Result<Export> {
        let file = self.locked_case(tx, actor, number).await?;
        tx.exports(actor.tenant.id, file.case.id)
            .await?
            .into_iter()
            .find(|e| e.status == ExportStatus::Ready)
            .ok_or_else(|| {
                AppError::NotFound(format!("case {number} has no ready export; request one"))
            })
    }

    /// The newest ready package of a case, to stream.
    pub async fn export_package(&self, actor: &Actor, number: i64) -> Result<Download> {
        let mut tx = self.store.read().await?;
        let export = self.newest_ready_export(&mut tx, actor, number).await?;
        let blob = export
            .blob
            .ok_or_else(|| AppError::Conflict(format!("export {} has no package", export.id)))?;
        let name = format!("case-{number}-export.zip");
        self.download(
            &mut tx,
            actor.tenant.id,
            blob.id,
            name,
            "application/zip".into(),
        )
        .await
    }

    /// Builds the export that waited longest, in any tenant, as a worker would: claims its
    /// job, builds under the job's lease, and records how the attempt ended. `None` when no
    /// export waits. For a process that builds exports and does no other job (`exeunt export
    /// run`, the demo).
    pub async fn build_next_export(&self) -> Result<Option<Export>> {
        self.claim_and_build(false).await
    }

    /// Like [`App::build_next_export`], and also takes over builds whose worker still holds
    /// the job's lease: for an operator who knows that worker died (a server killed midway)
    /// and does not want to wait for the lease to end. A worker that is in fact alive stops
    /// its build at its next write.
    pub async fn take_over_next_export(&self) -> Result<Option<Export>> {
        self.claim_and_build(true).await
    }

    async fn claim_and_build(&self, take_over: bool) -> Result<Option<Export>> {
        let lease = JobLease::DEFAULT;
        loop {
            let now = self.now();
            let mut tx = self.store.write().await?;
            let worker = this_process();
            let kind = JobKind::ExportBuild;
            let Some(job) = tx
                .claim_job_of_kind(now, now + lease.length(), &worker, &kind, take_over)
                .await?
            else {
                return Ok(None);
            };
            tx.commit().await?;
            let built = self.holding(&job, lease, self.build_export(&job)).await;
            let attempt = built.as_ref().map(drop).map_err(ToString::to_string);
            self.settle_jobs(&[(job, attempt)]).await?;
            match built? {
                Some(export) => return Ok(Some(export)),
                // The export no longer waited (a purge took it): its job is done; next.
                None => continue,
            }
        }
    }

    /// Builds the export that `job` (of kind `export.build`) names, fenced by the job's
    /// attempt. Answers the export as the build left it, ready or failed (a failed build is
    /// recorded on the export, which a person may request again), or `None` when the export
    /// no longer waits. Errs when the attempt lost its job to another worker, or the database
    /// refused to record the outcome: then the job is tried again.
    pub async fn build_export(&self, job: &Job) -> Result<Option<Export>> {
        let id = export_of(job)?;
        let attempt = JobAttempt::of(job);
        let mut tx = self.store.write().await?;
        attempt.still_holds(&mut tx).await?;
        let started = tx
            .start_export_build(job.tenant_id, id, attempt.number(), self.now())
            .await?;
        tx.commit().await?;
        let Some(mut export) = started else {
            return Ok(None);
        };
        if let Err(e) = self.build(&mut export, attempt).await {
            let mut tx = self.store.write().await?;
            attempt.still_holds(&mut tx).await?;
            self.fail_export(&mut tx, &mut export, e.to_string(), self.now())
                .await?;
            tx.commit().await?;
        }
        Ok(Some(export))
    }

    /// Records that the export's job is dead: the export failed, with the job's last error,
    /// so that a person can request another.
    pub(crate) async fn export_gave_up(
        &self,
        tx: &mut Tx,
        job: &Job,
        error: &str,
        at: Timestamp,
    ) -> Result<()> {
        let Some(mut export) = tx.export(job.tenant_id, export_of(job)?).await? else {
            return Ok(());
        };
        if matches!(export.status, ExportStatus::Queued | ExportStatus::Building) {
            self.fail_export(tx, &mut export, error.to_owned(), at)
                .await?;
        }
        Ok(())
    }

    /// Marks `export` failed for `reason`, throws away any partial package, and says so in
    /// the audit log.
    async fn fail_export(
        &self,
        tx: &mut Tx,
        export: &mut Export,
        reason: String,
        at: Timestamp,
    ) -> Result<()> {
        export.status = ExportStatus::Failed;
        export.failure = Some(reason);
        export.finished_at = Some(at);
        let partial = export.blob.take();
        if !tx.update_export(export).await? {
            return Err(changed_meanwhile(export.id));
        }
        if let Some(partial) = partial {
            tx.delete_blob(export.tenant_id, partial.id).await?;
        }
        self.audit_as(
            tx,
            export.tenant_id,
            WORKER.into(),
            at,
            "export.failed",
            // About no subject's data: the reason is Exeunt's own error. So a worker that
            // failed because it cannot open the subject's keys (another master key) can still
            // record it, where an event about the subject would need the subject's digest key.
            ("export", format!("{}/{}", export.case_number, export.id)),
            json!({
                "summary": format!("the export of case {} failed", export.case_number),
                "reason": export.failure,
            }),
        )
        .await
    }

    async fn build(&self, export: &mut Export, attempt: JobAttempt) -> Result<()> {
        let tenant = export.tenant_id;
        let mut tx = self.store.read().await?;
        let requester = tx
            .user(tenant, export.requested_by)
            .await?
            .ok_or_else(|| AppError::NotFound("the export's requester".into()))?;
        let actor = Actor {
            tenant: tx
                .tenant(tenant)
                .await?
                .ok_or_else(|| AppError::NotFound("the export's tenant".into()))?,
            user: requester,
        };
        let contents = self.gather(&mut tx, &actor, export).await?;
        let subject_key = contents.subject_key.clone();
        drop(tx);

        // A package left by a worker that died is thrown away, never resumed.
        let mut tx = self.store.write().await?;
        attempt.still_holds(&mut tx).await?;
        if let Some(partial) = export.blob.take() {
            if !tx.update_export(export).await? {
                return Err(changed_meanwhile(export.id));
            }
            tx.delete_blob(tenant, partial.id).await?;
        }
        let blob = BlobMeta {
            id: BlobId(self.new_id()),
            subject_id: export.subject_id,
            size: 0,
            sha256: [0; 32],
            chunks: 0,
            created_at: self.now(),
        };
        tx.insert_blob(tenant, &blob).await?;
        export.blob = Some(blob.clone());
        if !tx.update_export(export).await? {
            return Err(changed_meanwhile(export.id));
        }
        tx.commit().await?;

        let app = self.clone();
        let handle = tokio::runtime::Handle::current();
        let bagging_date = self
            .now()
            .to_zoned_datetime(jiff::tz::TimeZone::UTC)
            .date()
            .to_string();
        let (blob, summary) = tokio::task::spawn_blocking(move || {
            let mut file = tempfile::tempfile().map_err(|e| io_failure("a temporary file", e))?;
            let watched = app.watch("files", contents.payload_files());
            let summary = contents.write_bag(&handle, &mut file, &bagging_date, &watched)?;
            drop(watched);
            file.seek(SeekFrom::Start(0))
                .map_err(|e| io_failure("the built package", e))?;
            let blob = handle.block_on(app.seal_stream(tenant, blob, attempt, &mut file))?;
            Ok::<_, AppError>((blob, summary))
        })
        .await
        .map_err(|e| AppError::Conflict(format!("the export worker stopped: {e}")))??;

        let finished = self.now();
        let mut claims = ExportReceiptClaims {
            iss: format!("exeunt:{}", actor.tenant.slug),
            sub: subject_key,
            jti: export.id.to_string(),
            iat: finished.as_second(),
            case: CaseClaim {
                id: export.case_id.to_string(),
                number: export.case_number,
            },
            bag_digest: format!("sha256:{}", to_hex(&blob.sha256)),
            bag_size: blob.size,
            payload_oxum: format!("{}.{}", summary.payload_bytes, summary.payload_files),
            audit_checkpoint: None,
        };
        let mut tx = self.store.write().await?;
        attempt.still_holds(&mut tx).await?;
        claims.audit_checkpoint = self
            .checkpoint(&mut tx, &actor.tenant)
            .await?
            .map(|c| c.token);
        let key = self.signing_key(&mut tx, actor.tenant.id).await?;
        export.receipt = Some(key.sign(&claims));
        export.status = ExportStatus::Ready;
        export.payload_files = Some(i64::try_from(summary.payload_files).unwrap_or(i64::MAX));
        export.payload_bytes = Some(i64::try_from(summary.payload_bytes).unwrap_or(i64::MAX));
        export.finished_at = Some(finished);
        export.blob = Some(blob.clone());
        if !tx.update_export(export).await? {
            return Err(changed_meanwhile(export.id));
        }
        self.audit_as(
            &mut tx,
            tenant,
            WORKER.into(),
            finished,
            "export.ready",
            Target::of(
                export.subject_id,
                "export",
                format!("{}/{}", export.case_number, export.id),
            ),
            json!({
                "summary": format!("built the export of case {} ({} files, {} bytes)",
                    export.case_number, summary.payload_files, blob.size),
                "sha256": to_hex(&blob.sha256), "payload_oxum": claims.payload_oxum,
            }),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Seals what `source` holds into `blob`, whose row exists, a batch of chunks per write.
    /// Each chunk is sealed once the next one is read, so that the last is known to be last.
    async fn seal_stream(
        &self,
        tenant: engine::ids::TenantId,
        mut blob: BlobMeta,
        attempt: JobAttempt,
        source: &mut (dyn Read + Send),
    ) -> Result<BlobMeta> {
        let key = self.data_key(tenant, blob.subject_id).await?;
        let mut digest = Sha256::new();
        let mut size = 0i64;
        let mut seq = 0i64;
        let mut current = read_chunk(source)?;
        let mut batch: Vec<(i64, Vec<u8>)> = Vec::new();
        loop {
            let next = read_chunk(source)?;
            let last = next.is_empty();
            digest.update(&current);
            size += i64::try_from(current.len()).unwrap_or(i64::MAX);
            let sealed = key.seal(&chunk_purpose(blob.id, seq, last), &current, self.nonce());
            batch.push((seq, sealed));
            seq += 1;
            if batch.len() == CHUNKS_PER_WRITE || last {
                let mut tx = self.store.write().await?;
                attempt.still_holds(&mut tx).await?;
                tx.insert_blob_chunks(tenant, blob.id, &batch).await?;
                tx.commit().await?;
                batch.clear();
            }
            if last {
                break;
            }
            current = next;
        }
        blob.size = size;
        blob.sha256 = digest.finalize().into();
        blob.chunks = seq;
        let mut tx = self.store.write().await?;
        attempt.still_holds(&mut tx).await?;
        tx.finish_blob(tenant, &blob).await?;
        tx.commit().await?;
        Ok(blob)
    }

    /// Reads everything the package will hold that is small enough to hold in memory, and
    /// opens a download for every file, which the writer streams.
    async fn gather(&self, tx: &mut Tx, actor: &Actor, export: &Export) -> Result<Contents> {
        let tenant = actor.tenant.id;
        let file = self.locked_case(tx, actor, export.case_number).await?;
        let subject = tx
            .subject(tenant, export.subject_id)
            .await?
            .ok_or_else(|| AppError::NotFound("the export's subject".into()))?;
        let records = tx.records(tenant, subject.id).await?;
        let mut files = Vec::new();
        for f in tx.record_files(tenant, subject.id).await? {
            let number = records
                .iter()
                .find(|r| r.id == f.record_id)
                .map_or(0, |r| r.number);
            let path = format!("documents/{number}-{}", safe_name(&f.file_name));
            let download = self
                .download(tx, tenant, f.blob.id, f.file_name, f.media_type)
                .await?;
            files.push((path, download));
        }
        for e in tx.evidence(tenant, file.case.id).await? {
            let Some(blob) = e.blob_id else {
                continue; // stored before sealing: not in a package (see ARCHITECTURE.md)
            };
            let path = format!(
                "evidence/{}/{}-{}",
                e.task_id,
                e.id,
                safe_name(&e.file_name)
            );
            let download = self
                .download(
                    tx,
                    tenant,
                    blob,
                    e.file_name,
                    "application/octet-stream".into(),
                )
                .await?;
            files.push((path, download));
        }
        let revocations = tx.revocations(tenant, file.case.id, subject.id).await?;
        let mut events = Vec::new();
        let key = subject.key.to_string();
        self.walk_audit(tx, actor, Some(Concern::Subject(subject.id)), |e| {
            let mut line =
                serde_json::to_vec(e).map_err(|err| AppError::Conflict(err.to_string()))?;
            line.push(b'\n');
            events.extend(line);
            Ok(())
        })
        .await?;
        let case_json = json!({
            "case": file.case, "tasks": file.tasks, "findings": file.findings,
            "revocations": revocations,
        });
        Ok(Contents {
            info: vec![
                (
                    "Source-Organization".into(),
                    actor.tenant.name.as_str().to_owned(),
                ),
                ("External-Identifier".into(), key.clone()),
                (
                    "External-Description".into(),
                    format!(
                        "Everything {} `{}` ({}) has in Exeunt, exported for case {}",
                        subject.kind, subject.key, subject.name, file.case.number
                    ),
                ),
                (
                    "Bag-Group-Identifier".into(),
                    format!("case-{}", file.case.number),
                ),
            ],
            bag_name: format!("{}-export", safe_name(&key)),
            inline: vec![
                ("subject.json".into(), pretty(&subject)?),
                ("records/records.json".into(), pretty(&records)?),
                ("case/case.json".into(), pretty(&case_json)?),
                ("case/tasks.csv".into(), tasks_csv(&file)?),
                ("audit/events.jsonl".into(), events),
            ]
            .into_iter()
            .chain(records_csv(&records)?)
            .collect(),
            files,
            subject_key: key,
        })
    }
}

/// The export a job of kind `export.build` builds.
fn export_of(job: &Job) -> Result<ExportId> {
    serde_json::from_str::<ExportJob>(&job.payload)
        .map(|j| j.export)
        .map_err(|e| AppError::Conflict(format!("job {} names no export: {e}", job.id)))
}

/// An export changed under a build that still held its job: a person acknowledged or purged
/// it meanwhile.
fn changed_meanwhile(id: ExportId) -> AppError {
    AppError::Conflict(format!(
        "export {id} changed while it was built; this build stopped"
    ))
}

/// What goes into one package.
struct Contents {
    bag_name: String,
    info: Vec<(String, String)>,
    /// Payload built in memory: JSON, CSV, the audit events.
    inline: Vec<(String, Vec<u8>)>,
    /// Sealed files, streamed in.
    files: Vec<(String, Download)>,
    subject_key: String,
}

impl Contents {
    /// How many files the package's payload holds.
    fn payload_files(&self) -> u64 {
        (self.inline.len() + self.files.len()) as u64
    }

    /// Writes the bag, telling `watched` of each payload file. Runs on a blocking thread; file
    /// downloads reach the database through `handle`.
    fn write_bag(
        self,
        handle: &tokio::runtime::Handle,
        out: &mut std::fs::File,
        bagging_date: &str,
        watched: &crate::progress::Watched,
    ) -> Result<bagit::BagSummary> {
        let bag_error = |e: bagit::BagError| AppError::Conflict(format!("the package: {e}"));
        let mut bag = BagWriter::new(out, &self.bag_name, bagging_date, self.info.clone())
            .map_err(bag_error)?;
        for (path, bytes) in &self.inline {
            bag.add_payload(path, &mut bytes.as_slice())
                .map_err(bag_error)?;
            watched.advance(1);
        }
        for (path, download) in self.files {
            let mut reader = DownloadReader {
                handle,
                download,
                piece: Vec::new(),
                at: 0,
            };
            bag.add_payload(&path, &mut reader).map_err(bag_error)?;
            watched.advance(1);
        }
        let (_, summary) = bag.finish().map_err(bag_error)?;
        Ok(summary)
    }
}

/// Reads a sealed file as plain bytes, from a blocking thread.
struct DownloadReader<'a> {
    handle: &'a tokio::runtime::Handle,
    download: Download,
    piece: Vec<u8>,
    at: usize,
}

impl Read for DownloadReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.at == self.piece.len() {
            match self
                .handle
                .block_on(self.download.next_piece())
                .map_err(std::io::Error::other)?
            {
                Some(piece) => {
                    self.piece = piece;
                    self.at = 0;
                }
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.piece.len() - self.at);
        buf[..n].copy_from_slice(&self.piece[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

fn read_chunk(source: &mut (dyn Read + Send)) -> Result<Vec<u8>> {
    let mut chunk = Vec::with_capacity(BLOB_CHUNK);
    source
        .take(BLOB_CHUNK as u64)
        .read_to_end(&mut chunk)
        .map_err(|e| io_failure("the built package", e))?;
    Ok(chunk)
}

fn io_failure(what: &str, e: std::io::Error) -> AppError {
    AppError::Conflict(format!("{what}: {e}"))
}

fn pretty(value: &impl serde::Serialize) -> Result<Vec<u8>> {
    let mut bytes =
        serde_json::to_vec_pretty(value).map_err(|e| AppError::Conflict(e.to_string()))?;
    bytes.push(b'\n');
    Ok(bytes)
}

/// One CSV per record kind the subject has: its number, then its kind's fields.
fn records_csv(records: &[Record]) -> Result<Vec<(String, Vec<u8>)>> {
    let mut out = Vec::new();
    for kind in RecordKind::ALL {
        let of_kind: Vec<&Record> = records.iter().filter(|r| r.kind == kind).collect();
        if of_kind.is_empty() {
            continue;
        }
        let fields: Vec<&str> = kind.fields().iter().map(|f| f.name).collect();
        let mut csv = csv::Writer::from_writer(Vec::new());
        let csv_error = |e: csv::Error| AppError::Conflict(format!("{} CSV: {e}", kind.plural()));
        csv.write_record(std::iter::once("number").chain(fields.iter().copied()))
            .map_err(csv_error)?;
        for r in of_kind {
            let number = r.number.to_string();
            csv.write_record(
                std::iter::once(number.as_str())
                    .chain(fields.iter().map(|f| r.fields.get(f).unwrap_or(""))),
            )
            .map_err(csv_error)?;
        }
        let bytes = csv
            .into_inner()
            .map_err(|e| AppError::Conflict(format!("{} CSV: {e}", kind.plural())))?;
        out.push((format!("records/{}.csv", kind.plural()), bytes));
    }
    Ok(out)
}

fn tasks_csv(file: &CaseFile) -> Result<Vec<u8>> {
    let mut csv = csv::Writer::from_writer(Vec::new());
    let csv_error = |e: csv::Error| AppError::Conflict(format!("tasks CSV: {e}"));
    csv.write_record([
        "stage", "task", "title", "owner", "status", "due", "closed", "note",
    ])
    .map_err(csv_error)?;
    for t in &file.tasks {
        csv.write_record([
            t.stage.as_str(),
            t.id.as_str(),
            &t.title,
            &t.owner_label,
            t.status.as_str(),
            &t.due_at.map(|d| d.to_string()).unwrap_or_default(),
            &t.closed_at.map(|d| d.to_string()).unwrap_or_default(),
            t.note
                .as_deref()
                .or(t.waive_reason.as_deref())
                .unwrap_or(""),
        ])
        .map_err(csv_error)?;
    }
    csv.into_inner()
        .map_err(|e| AppError::Conflict(format!("tasks CSV: {e}")))
}

/// A file name that every unzip tool and `bagit.py` take as it is: letters, digits, `.`,
/// `-` and `_`; anything else becomes `_`.
fn safe_name(name: &str) -> String {
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    match safe.trim_start_matches('.') {
        "" => "file".to_owned(),
        rest => rest.to_owned(),
    }
}
