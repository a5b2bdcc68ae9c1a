//! Persistence for Exeunt.
//!
//! One [`Store`] trait, shaped by what the use cases need, with a SQLite implementation (the
//! zero-setup default: one file under the data dir) and a PostgreSQL one (for several replicas).
//! Every read and write happens inside a [`Tx`]; a use case that changes something writes the
//! change and its audit event in the same transaction.
//!
//! The SQL lives once, in `queries.rs`, written against the small [`sql::Conn`] interface
//! that each backend implements on its driver: rusqlite for SQLite (statements run inline,
//! writes commit in groups, see `sqlite.rs`), sqlx for PostgreSQL. What differs between the two
//! (how a write transaction begins, row locks, whether one statement may hold two writes)
//! lives in the two backend modules.

mod model;
mod plans;
pub mod postgres;
mod queries;
mod sql;
pub mod sqlite;

use std::future::Future;

use engine::audit::{AuditDraft, AuditEvent, Hash};
use engine::case::{Case, CaseFile, CaseFinding, CaseStatus, Task};
use engine::governance::{HoldLift, LegalHold, RetentionPolicy};
use engine::ids::{
    BlobId, CaseId, Email, EvidenceId, ExportId, HoldId, JobId, NotificationId, SessionId, Slug,
    SubjectId, SubjectKey, TenantId, TokenId, UserId, ZoneName,
};
use engine::job::JobStatus;
use engine::revocation::Revocation;
use engine::subject::{Record, Subject, SubjectState};
use engine::tenant::{ApiToken, Session, Team, Tenant, User};
use jiff::Timestamp;

pub use model::{
    AuditFilter, BLOB_CHUNK, BlobMeta, CaseActivity, CaseFilter, CaseSummary, CertificateRow,
    Concern, ConnectorRow, EvidenceMeta, Export, IdempotencyClaim, Job, JobEnd, JobFilter,
    JobSettle, KeyClaim, Mine, Notification, PurgeCandidate, RecordFile, SigningKeyRow,
    StoredBlueprint, SubjectFilter, SubscriptionRow, TaskFilter, TaskRow, Tombstone,
};

/// Errors of the persistence layer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the database at {location}: {reason}")]
    Open { location: String, reason: String },
    #[error("cannot migrate the database schema: {0}")]
    Migrate(String),
    #[error("{what} already exists")]
    Conflict { what: String },
    #[error("{0}")]
    Refused(String),
    #[error("the database holds a value this version cannot read: {0}")]
    Corrupt(String),
    #[error("the transaction could not be committed: {0}")]
    CommitFailed(String),
    #[error("database error: {0}")]
    Postgres(sqlx::Error),
    #[error("database error: {0}")]
    Sqlite(rusqlite::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict {
                what: db
                    .constraint()
                    .unwrap_or("a row with the same key")
                    .to_owned(),
            },
            _ => StoreError::Postgres(e),
        }
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        use rusqlite::ffi::{SQLITE_CONSTRAINT_PRIMARYKEY, SQLITE_CONSTRAINT_UNIQUE};
        match &e {
            rusqlite::Error::SqliteFailure(failure, _)
                if matches!(
                    failure.extended_code,
                    SQLITE_CONSTRAINT_UNIQUE | SQLITE_CONSTRAINT_PRIMARYKEY
                ) =>
            {
                StoreError::Conflict {
                    what: "a row with the same key".to_owned(),
                }
            }
            _ => StoreError::Sqlite(e),
        }
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// A database Exeunt can run on.
pub trait Store: Clone + Send + Sync + 'static {
    type Tx: Tx;

    /// A transaction that only reads: a consistent snapshot.
    fn read(&self) -> impl Future<Output = Result<Self::Tx>> + Send;

    /// A transaction that writes. Writers that touch the same case or the same tenant's audit
    /// chain are serialized, so every audit event gets the next number.
    fn write(&self) -> impl Future<Output = Result<Self::Tx>> + Send;

    /// Which backend this is, for messages and benchmarks.
    fn backend(&self) -> &'static str;

    /// What an idle worker waits on to hear that a job was queued, instead of only polling.
    fn job_wakeups(&self) -> impl Future<Output = Result<JobWakeups>> + Send;
}

/// Wake-ups for an idle job worker: `NOTIFY exeunt_jobs` on PostgreSQL (from any process on
/// the database), an in-process signal on SQLite.
pub struct JobWakeups(Wakeups);

enum Wakeups {
    Postgres(Box<sqlx::postgres::PgListener>),
    Local(std::sync::Arc<tokio::sync::Notify>),
}

/// The channel PostgreSQL workers listen on.
pub(crate) const JOBS_CHANNEL: &str = "exeunt_jobs";

impl JobWakeups {
    pub(crate) fn postgres(listener: sqlx::postgres::PgListener) -> Self {
        JobWakeups(Wakeups::Postgres(Box::new(listener)))
    }

    pub(crate) fn local(notify: std::sync::Arc<tokio::sync::Notify>) -> Self {
        JobWakeups(Wakeups::Local(notify))
    }

    /// Returns when a job may have been queued, or after `longest` at the latest (jobs that
    /// fall due later, or a wake-up lost while the connection was down, are found then).
    pub async fn wait(&mut self, longest: std::time::Duration) {
        match &mut self.0 {
            Wakeups::Postgres(listener) => {
                match tokio::time::timeout(longest, listener.recv()).await {
                    // One claim takes every job there is room for: the word of the others
                    // queued meanwhile is already answered.
                    Ok(Ok(_)) => while listener.next_buffered().is_some() {},
                    Ok(Err(e)) => {
                        tracing::warn!(error = %e, "listening for queued jobs failed; polling");
                        tokio::time::sleep(longest).await;
                    }
                    Err(_) => {}
                }
            }
            Wakeups::Local(notify) => {
                let _ = tokio::time::timeout(longest, notify.notified()).await;
            }
        }
    }
}

/// Everything Exeunt reads and writes, inside one transaction. Every method takes the tenant:
/// no query reaches across tenants.
pub trait Tx: Send {
    fn commit(self) -> impl Future<Output = Result<()>> + Send;

    fn insert_tenant(
        &mut self,
        tenant: &Tenant,
        at: Timestamp,
    ) -> impl Future<Output = Result<()>> + Send;
    fn tenants(&mut self) -> impl Future<Output = Result<Vec<Tenant>>> + Send;
    fn tenant_by_slug(
        &mut self,
        slug: &Slug,
    ) -> impl Future<Output = Result<Option<Tenant>>> + Send;

    fn tenant(&mut self, id: TenantId) -> impl Future<Output = Result<Option<Tenant>>> + Send;

    fn insert_token(
        &mut self,
        token: &ApiToken,
        secret_sha256: &Hash,
    ) -> impl Future<Output = Result<()>> + Send;
    /// The token whose secret has this digest, in whichever tenant: authentication is the one
    /// lookup that starts without a tenant, because the token is what names it.
    fn token_by_secret(
        &mut self,
        secret_sha256: &Hash,
    ) -> impl Future<Output = Result<Option<ApiToken>>> + Send;
    fn tokens(&mut self, tenant: TenantId) -> impl Future<Output = Result<Vec<ApiToken>>> + Send;
    fn revoke_token(
        &mut self,
        tenant: TenantId,
        id: TokenId,
        at: Timestamp,
    ) -> impl Future<Output = Result<bool>> + Send;

    /// Sets a user's password hash (a PHC string) and the time it changed.
    fn set_password(
        &mut self,
        tenant: TenantId,
        user: UserId,
        hash: &str,
        at: Timestamp,
    ) -> impl Future<Output = Result<()>> + Send;
    fn password_hash(
        &mut self,
        tenant: TenantId,
        user: UserId,
    ) -> impl Future<Output = Result<Option<String>>> + Send;

    fn insert_session(
        &mut self,
        session: &Session,
        secret_sha256: &Hash,
    ) -> impl Future<Output = Result<()>> + Send;
    /// The session whose cookie has this digest, in whichever tenant (see `token_by_secret`).
    fn session_by_secret(
        &mut self,
        secret_sha256: &Hash,
    ) -> impl Future<Output = Result<Option<Session>>> + Send;
    /// Revokes the user's live sessions, except `keep`; returns how many.
    fn revoke_sessions(
        &mut self,
        tenant: TenantId,
        user: UserId,
        keep: Option<SessionId>,
        at: Timestamp,
    ) -> impl Future<Output = Result<u64>> + Send;
    fn revoke_session(
        &mut self,
        tenant: TenantId,
        id: SessionId,
        at: Timestamp,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Claims an idempotency key (see `KeyClaim`).
    fn claim_idempotency_key(
        &mut self,
        tenant: TenantId,
        claim: &KeyClaim<'_>,
    ) -> impl Future<Output = Result<IdempotencyClaim>> + Send;
    /// Stores the response of a claimed key; `None` releases the claim instead (the request
    /// failed on our side, so a retry should run it).
    fn finish_idempotency_key(
        &mut self,
        tenant: TenantId,
        caller: &str,
        key: &str,
        response: Option<(u16, &str, &[u8])>,
    ) -> impl Future<Output = Result<()>> + Send;

    fn insert_user(
        &mut self,
        user: &User,
        at: Timestamp,
    ) -> impl Future<Output = Result<()>> + Send;
    fn users(&mut self, tenant: TenantId) -> impl Future<Output = Result<Vec<User>>> + Send;
    fn user(
        &mut self,
        tenant: TenantId,
        id: UserId,
    ) -> impl Future<Output = Result<Option<User>>> + Send;
    fn user_by_email(
        &mut self,
        tenant: TenantId,
        email: &Email,
    ) -> impl Future<Output = Result<Option<User>>> + Send;

    fn insert_team(
        &mut self,
        tenant: TenantId,
        team: &Team,
    ) -> impl Future<Output = Result<()>> + Send;
    fn add_team_member(
        &mut self,
        tenant: TenantId,
        team: &Slug,
        user: UserId,
    ) -> impl Future<Output = Result<()>> + Send;
    fn teams(&mut self, tenant: TenantId) -> impl Future<Output = Result<Vec<Team>>> + Send;

    fn insert_subject(
        &mut self,
        subject: &Subject,
        at: Timestamp,
    ) -> impl Future<Output = Result<()>> + Send;
    fn set_subject_state(
        &mut self,
        tenant: TenantId,
        id: SubjectId,
        state: SubjectState,
        at: Timestamp,
    ) -> impl Future<Output = Result<()>> + Send;
    fn subject(
        &mut self,
        tenant: TenantId,
        id: SubjectId,
    ) -> impl Future<Output = Result<Option<Subject>>> + Send;
    fn subject_by_key(
        &mut self,
        tenant: TenantId,
        key: &SubjectKey,
    ) -> impl Future<Output = Result<Option<Subject>>> + Send;
    fn subjects(
        &mut self,
        tenant: TenantId,
        filter: &SubjectFilter,
    ) -> impl Future<Output = Result<Vec<Subject>>> + Send;

    fn insert_record(
        &mut self,
        tenant: TenantId,
        record: &Record,
        at: Timestamp,
    ) -> impl Future<Output = Result<()>> + Send;
    fn update_record(
        &mut self,
        tenant: TenantId,
        record: &Record,
    ) -> impl Future<Output = Result<()>> + Send;
    fn records(
        &mut self,
        tenant: TenantId,
        subject: SubjectId,
    ) -> impl Future<Output = Result<Vec<Record>>> + Send;

    fn insert_blueprint(
        &mut self,
        tenant: TenantId,
        blueprint: &StoredBlueprint,
        at: Timestamp,
    ) -> impl Future<Output = Result<()>> + Send;
    /// The given version, or the latest when `version` is `None`.
    fn blueprint(
        &mut self,
        tenant: TenantId,
        id: &Slug,
        version: Option<u32>,
    ) -> impl Future<Output = Result<Option<StoredBlueprint>>> + Send;
    /// The latest version of every blueprint the tenant stored.
    fn blueprints(
        &mut self,
        tenant: TenantId,
    ) -> impl Future<Output = Result<Vec<StoredBlueprint>>> + Send;

    fn next_case_number(&mut self, tenant: TenantId) -> impl Future<Output = Result<i64>> + Send;
    /// Inserts a new case with its tasks and findings.
    fn insert_case(&mut self, file: &CaseFile) -> impl Future<Output = Result<()>> + Send;
    fn update_case(&mut self, case: &Case) -> impl Future<Output = Result<()>> + Send;
    fn update_task(
        &mut self,
        tenant: TenantId,
        task: &Task,
    ) -> impl Future<Output = Result<()>> + Send;
    fn upsert_finding(
        &mut self,
        tenant: TenantId,
        finding: &CaseFinding,
    ) -> impl Future<Output = Result<()>> + Send;
    /// A case with its tasks and findings; in a write transaction the case is locked until commit.
    fn case_file(
        &mut self,
        tenant: TenantId,
        number: i64,
    ) -> impl Future<Output = Result<Option<CaseFile>>> + Send;
    fn cases(
        &mut self,
        tenant: TenantId,
        filter: &CaseFilter,
    ) -> impl Future<Output = Result<Vec<CaseSummary>>> + Send;
    /// The number of the subject's case that is not done, if any.
    fn open_case_of(
        &mut self,
        tenant: TenantId,
        subject: SubjectId,
    ) -> impl Future<Output = Result<Option<i64>>> + Send;
    /// Numbers of the child cases that are not done.
    fn open_children(
        &mut self,
        tenant: TenantId,
        parent: CaseId,
    ) -> impl Future<Output = Result<Vec<i64>>> + Send;
    fn tasks(
        &mut self,
        tenant: TenantId,
        filter: &TaskFilter,
    ) -> impl Future<Output = Result<Vec<TaskRow>>> + Send;
    /// How many of the tenant's cases are in each status.
    fn case_counts(
        &mut self,
        tenant: TenantId,
    ) -> impl Future<Output = Result<Vec<(CaseStatus, i64)>>> + Send;
    /// Every case opened, or closed, at or after `since`.
    fn case_activity(
        &mut self,
        tenant: TenantId,
        since: Timestamp,
    ) -> impl Future<Output = Result<Vec<CaseActivity>>> + Send;

    /// Queues a job, unless the tenant has one with its idempotency key: then it is the same
    /// work asked for twice, and nothing changes. True when it was queued.
    fn insert_job(&mut self, job: &Job) -> impl Future<Output = Result<bool>> + Send;
    /// Takes up to `limit` jobs of any tenant, those that have waited longest: running with
    /// their lease run out (their worker died) before any queued and due. Several workers on
    /// one PostgreSQL never take the same one. The worker then works inside each job's tenant
    /// only.
    fn claim_jobs(
        &mut self,
        now: Timestamp,
        lease_until: Timestamp,
        worker: &str,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<Job>>> + Send;
    /// Extends the lease of attempt `attempt` of a running job to `until`; false when that
    /// attempt no longer holds the job.
    fn renew_job_lease(
        &mut self,
        tenant: TenantId,
        id: JobId,
        attempt: i64,
        until: Timestamp,
    ) -> impl Future<Output = Result<bool>> + Send;
    /// Records how attempts of jobs ended; for each, in order, false when that attempt no
    /// longer holds the job (its lease ran out and another worker took it).
    fn settle_jobs(
        &mut self,
        settles: &[JobSettle<'_>],
    ) -> impl Future<Output = Result<Vec<bool>>> + Send;
    /// [`settle_jobs`](Tx::settle_jobs), then [`claim_jobs`](Tx::claim_jobs): on PostgreSQL in
    /// one statement, so that a busy worker pays one round trip for both.
    fn settle_and_claim_jobs(
        &mut self,
        settles: &[JobSettle<'_>],
        now: Timestamp,
        lease_until: Timestamp,
        worker: &str,
        limit: u32,
    ) -> impl Future<Output = Result<(Vec<bool>, Vec<Job>)>> + Send;
    fn job(
        &mut self,
        tenant: TenantId,
        id: JobId,
    ) -> impl Future<Output = Result<Option<Job>>> + Send;
    /// The tenant's jobs, newest first.
    fn jobs(
        &mut self,
        tenant: TenantId,
        filter: &JobFilter,
    ) -> impl Future<Output = Result<Vec<Job>>> + Send;
    /// Sends a dead job again: queued, due at `at`, its attempts counted afresh. False when it
    /// is not dead.
    fn requeue_job(
        &mut self,
        tenant: TenantId,
        id: JobId,
        at: Timestamp,
    ) -> impl Future<Output = Result<bool>> + Send;
    /// How many jobs of every tenant are in each status: the queue's depth for `/metrics`.
    fn job_counts(&mut self) -> impl Future<Output = Result<Vec<(JobStatus, i64)>>> + Send;

    /// Adds an audit-event webhook, or replaces the settings and secret of the one of the same
    /// name (keeping how far it got).
    fn upsert_subscription(
        &mut self,
        subscription: &SubscriptionRow,
    ) -> impl Future<Output = Result<()>> + Send;
    /// A tenant's audit-event webhooks; with no tenant, every tenant's (for the sweep, which
    /// then works inside each subscription's own tenant).
    fn subscriptions(
        &mut self,
        tenant: Option<TenantId>,
    ) -> impl Future<Output = Result<Vec<SubscriptionRow>>> + Send;
    fn delete_subscription(
        &mut self,
        tenant: TenantId,
        name: &Slug,
    ) -> impl Future<Output = Result<bool>> + Send;
    /// Records a sweep's progress: the cursor moves on (never back), and the last error is
    /// set or cleared.
    fn advance_subscription(
        &mut self,
        tenant: TenantId,
        name: &Slug,
        cursor_seq: i64,
        last_error: Option<&str>,
    ) -> impl Future<Output = Result<()>> + Send;

    /// The tenant's own email templates, by kind: `(kind, subject, body)`.
    fn email_templates(
        &mut self,
        tenant: TenantId,
    ) -> impl Future<Output = Result<Vec<(String, String, String)>>> + Send;
    fn set_email_template(
        &mut self,
        tenant: TenantId,
        kind: &str,
        subject: &str,
        body: &str,
        by: UserId,
        at: Timestamp,
    ) -> impl Future<Output = Result<()>> + Send;
    /// Back to the built-in wording; false when the tenant had none of its own.
    fn delete_email_template(
        &mut self,
        tenant: TenantId,
        kind: &str,
    ) -> impl Future<Output = Result<bool>> + Send;

    /// The notification kinds a person asked not to get by email.
    fn email_opt_outs(
        &mut self,
        tenant: TenantId,
        user: UserId,
    ) -> impl Future<Output = Result<Vec<String>>> + Send;
    /// Sets the time zone people added to the tenant start in.
    fn set_tenant_time_zone(
        &mut self,
        tenant: TenantId,
        zone: &ZoneName,
    ) -> impl Future<Output = Result<()>> + Send;
    /// Sets where a person is.
    fn set_user_time_zone(
        &mut self,
        tenant: TenantId,
        user: UserId,
        zone: &ZoneName,
    ) -> impl Future<Output = Result<()>> + Send;
    /// Turns email of one kind off (`out`) or back on for a person.
    fn set_email_opt_out(
        &mut self,
        tenant: TenantId,
        user: UserId,
        kind: &str,
        out: bool,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Whether the reminder `key` went out already: the sweep's cheap look before it writes.
    fn reminder_sent(
        &mut self,
        tenant: TenantId,
        key: &str,
    ) -> impl Future<Output = Result<bool>> + Send;
    /// Records that the reminder `key` went out; false when it already had.
    fn insert_reminder(
        &mut self,
        tenant: TenantId,
        key: &str,
        at: Timestamp,
    ) -> impl Future<Output = Result<bool>> + Send;

    fn insert_notification(
        &mut self,
        tenant: TenantId,
        notification: &Notification,
    ) -> impl Future<Output = Result<()>> + Send;
    fn notification(
        &mut self,
        tenant: TenantId,
        id: NotificationId,
    ) -> impl Future<Output = Result<Option<Notification>>> + Send;
    /// A person's notifications, newest first.
    fn notifications(
        &mut self,
        tenant: TenantId,
        user: UserId,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<Notification>>> + Send;
    /// How many of a person's notifications are unread.
    fn unread_notifications(
        &mut self,
        tenant: TenantId,
        user: UserId,
    ) -> impl Future<Output = Result<i64>> + Send;
    /// Marks every notification of a person read; returns how many were unread.
    fn read_notifications(
        &mut self,
        tenant: TenantId,
        user: UserId,
        at: Timestamp,
    ) -> impl Future<Output = Result<u64>> + Send;

    fn insert_evidence(
        &mut self,
        tenant: TenantId,
        evidence: &EvidenceMeta,
    ) -> impl Future<Output = Result<()>> + Send;
    /// One piece of evidence of a case.
    fn evidence_item(
        &mut self,
        tenant: TenantId,
        case: CaseId,
        id: EvidenceId,
    ) -> impl Future<Output = Result<Option<EvidenceMeta>>> + Send;
    /// The bytes of evidence stored before files were sealed (`blob_id` is `None`).
    fn unsealed_evidence(
        &mut self,
        tenant: TenantId,
        id: EvidenceId,
    ) -> impl Future<Output = Result<Vec<u8>>> + Send;

    /// A subject's data key, sealed by the tenant key.
    fn subject_key(
        &mut self,
        tenant: TenantId,
        subject: SubjectId,
    ) -> impl Future<Output = Result<Option<Vec<u8>>>> + Send;
    fn insert_subject_key(
        &mut self,
        tenant: TenantId,
        subject: SubjectId,
        sealed: &[u8],
        at: Timestamp,
    ) -> impl Future<Output = Result<()>> + Send;
    fn insert_blob(
        &mut self,
        tenant: TenantId,
        blob: &BlobMeta,
    ) -> impl Future<Output = Result<()>> + Send;
    fn insert_blob_chunk(
        &mut self,
        tenant: TenantId,
        blob: BlobId,
        seq: i64,
        sealed: &[u8],
    ) -> impl Future<Output = Result<()>> + Send;
    fn blob(
        &mut self,
        tenant: TenantId,
        id: BlobId,
    ) -> impl Future<Output = Result<Option<BlobMeta>>> + Send;
    /// Up to `limit` sealed chunks of a blob from `from` on, in order.
    fn blob_chunks(
        &mut self,
        tenant: TenantId,
        blob: BlobId,
        from: i64,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<Vec<u8>>>> + Send;
    /// Completes a blob written in pieces: its size, digest and number of chunks.
    fn finish_blob(
        &mut self,
        tenant: TenantId,
        blob: &BlobMeta,
    ) -> impl Future<Output = Result<()>> + Send;
    /// Deletes a blob and its chunks.
    fn delete_blob(
        &mut self,
        tenant: TenantId,
        blob: BlobId,
    ) -> impl Future<Output = Result<()>> + Send;

    fn insert_export(&mut self, export: &Export) -> impl Future<Output = Result<()>> + Send;
    /// Records how a build went (status, failure, package, receipt, times) if the export is
    /// still at the attempt `export.attempts` names; false when another worker has taken it
    /// over since, which this write then leaves alone.
    fn update_export(&mut self, export: &Export) -> impl Future<Output = Result<bool>> + Send;
    /// Records the client's acknowledgement unless one was recorded already (the first counts);
    /// false then.
    fn acknowledge_export(
        &mut self,
        tenant: TenantId,
        id: ExportId,
        acknowledgement: &engine::export::Acknowledgement,
    ) -> impl Future<Output = Result<bool>> + Send;
    fn export(
        &mut self,
        tenant: TenantId,
        id: ExportId,
    ) -> impl Future<Output = Result<Option<Export>>> + Send;
    /// A case's exports, newest first.
    fn exports(
        &mut self,
        tenant: TenantId,
        case: CaseId,
    ) -> impl Future<Output = Result<Vec<Export>>> + Send;
    /// Claims the oldest export waiting to be built, in any tenant: a queued one, or one whose
    /// builder's lease ended (or, with `take_over`, any being built: for an operator who knows
    /// its worker died). The claim is the worker's until `lease_until`. Workers are
    /// system-wide, so this is the one write that starts without a tenant.
    fn claim_export(
        &mut self,
        now: Timestamp,
        lease_until: Timestamp,
        take_over: bool,
    ) -> impl Future<Output = Result<Option<Export>>> + Send;

    /// Completed cases whose subjects are offboarded and not purged; in one tenant, or in all
    /// (the purge scheduler, which then works inside each tenant).
    fn purge_candidates(
        &mut self,
        tenant: Option<TenantId>,
    ) -> impl Future<Output = Result<Vec<PurgeCandidate>>> + Send;
    /// Destroys a subject's data: its records and their files, every blob of its (evidence
    /// and export packages too) and its data key; erases its name and attributes and marks it
    /// purged. Its cases, tasks and history stay.
    fn purge_subject(
        &mut self,
        tenant: TenantId,
        subject: SubjectId,
        at: Timestamp,
    ) -> impl Future<Output = Result<()>> + Send;
    /// Erases the payloads of these audit events. Their hashes cover a digest of the payload,
    /// so the chain stays whole.
    fn erase_audit_payloads(
        &mut self,
        tenant: TenantId,
        seqs: &[i64],
    ) -> impl Future<Output = Result<()>> + Send;
    fn insert_tombstone(
        &mut self,
        tombstone: &Tombstone,
    ) -> impl Future<Output = Result<()>> + Send;
    fn tombstones(
        &mut self,
        tenant: TenantId,
    ) -> impl Future<Output = Result<Vec<Tombstone>>> + Send;

    /// Extends a build's lease while the worker that holds it (the one that made attempt
    /// `attempt`) still does; false when another worker has taken the export over.
    fn renew_export_lease(
        &mut self,
        tenant: TenantId,
        id: ExportId,
        attempt: i64,
        until: Timestamp,
    ) -> impl Future<Output = Result<bool>> + Send;

    /// Gives a document record its file, replacing the one it had.
    fn set_record_file(
        &mut self,
        tenant: TenantId,
        file: &RecordFile,
    ) -> impl Future<Output = Result<()>> + Send;
    /// The files of a subject's records.
    fn record_files(
        &mut self,
        tenant: TenantId,
        subject: SubjectId,
    ) -> impl Future<Output = Result<Vec<RecordFile>>> + Send;
    fn evidence(
        &mut self,
        tenant: TenantId,
        case: CaseId,
    ) -> impl Future<Output = Result<Vec<EvidenceMeta>>> + Send;

    fn insert_hold(&mut self, hold: &LegalHold) -> impl Future<Output = Result<()>> + Send;
    /// Records the lift of a hold that still stands; false when it was lifted already.
    fn lift_hold(
        &mut self,
        tenant: TenantId,
        id: HoldId,
        lift: &HoldLift,
    ) -> impl Future<Output = Result<bool>> + Send;
    fn hold(
        &mut self,
        tenant: TenantId,
        id: HoldId,
    ) -> impl Future<Output = Result<Option<LegalHold>>> + Send;
    /// The tenant's holds, newest first; with `subject`, those on it and those on the whole
    /// tenant.
    fn holds(
        &mut self,
        tenant: TenantId,
        subject: Option<SubjectId>,
    ) -> impl Future<Output = Result<Vec<LegalHold>>> + Send;

    fn set_retention(
        &mut self,
        tenant: TenantId,
        policy: &RetentionPolicy,
    ) -> impl Future<Output = Result<()>> + Send;
    /// The tenant's policies, its default (kind `None`) first.
    fn retention_policies(
        &mut self,
        tenant: TenantId,
    ) -> impl Future<Output = Result<Vec<RetentionPolicy>>> + Send;

    /// The revocation items of a case: one per account and integration of `subject`, pending
    /// where nothing was stored for it, in record order.
    fn revocations(
        &mut self,
        tenant: TenantId,
        case: CaseId,
        subject: SubjectId,
    ) -> impl Future<Output = Result<Vec<Revocation>>> + Send;
    fn upsert_revocation(
        &mut self,
        tenant: TenantId,
        case: CaseId,
        item: &Revocation,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Adds the connector, or replaces the one of the same name.
    fn upsert_connector(
        &mut self,
        connector: &ConnectorRow,
    ) -> impl Future<Output = Result<()>> + Send;
    /// The tenant's connectors, by name.
    fn connectors(
        &mut self,
        tenant: TenantId,
    ) -> impl Future<Output = Result<Vec<ConnectorRow>>> + Send;
    fn connector(
        &mut self,
        tenant: TenantId,
        name: &str,
    ) -> impl Future<Output = Result<Option<ConnectorRow>>> + Send;
    /// False when the tenant has no connector of that name.
    fn delete_connector(
        &mut self,
        tenant: TenantId,
        name: &Slug,
    ) -> impl Future<Output = Result<bool>> + Send;

    fn insert_signing_key(
        &mut self,
        key: &SigningKeyRow,
    ) -> impl Future<Output = Result<()>> + Send;
    /// A tenant's signing keys, newest first; with no tenant, every tenant's. Only public
    /// halves are meant to cross tenants (the JWK set); private halves are sealed per tenant.
    fn signing_keys(
        &mut self,
        tenant: Option<TenantId>,
    ) -> impl Future<Output = Result<Vec<SigningKeyRow>>> + Send;
    fn insert_certificate(
        &mut self,
        tenant: TenantId,
        certificate: &CertificateRow,
    ) -> impl Future<Output = Result<()>> + Send;
    fn certificate(
        &mut self,
        tenant: TenantId,
        case: CaseId,
    ) -> impl Future<Output = Result<Option<CertificateRow>>> + Send;

    /// Chains and stores an event after the tenant's current head.
    fn append_audit(
        &mut self,
        tenant: TenantId,
        at: Timestamp,
        draft: AuditDraft,
    ) -> impl Future<Output = Result<AuditEvent>> + Send;
    /// Stores events that are already chained, verbatim, and moves the head to the last one:
    /// how a tenant's chain is copied to another database. The first event must follow the
    /// current head.
    fn import_audit_events(
        &mut self,
        tenant: TenantId,
        events: &[AuditEvent],
    ) -> impl Future<Output = Result<()>> + Send;
    fn audit_head(
        &mut self,
        tenant: TenantId,
    ) -> impl Future<Output = Result<Option<(i64, Hash)>>> + Send;
    /// Up to `filter.limit` events after `filter.after_seq` that match the filter, in order.
    fn audit_events(
        &mut self,
        tenant: TenantId,
        filter: &AuditFilter,
    ) -> impl Future<Output = Result<Vec<AuditEvent>>> + Send;
}

/// Where Exeunt keeps its data: a SQLite file under a directory, or a PostgreSQL URL.
#[derive(Clone, Debug)]
pub enum Location {
    Sqlite(std::path::PathBuf),
    Postgres(String),
}

impl Location {
    /// A `postgres://` (or `postgresql://`) URL selects PostgreSQL; otherwise the SQLite file
    /// `exeunt.db` in `data_dir`.
    pub fn choose(database_url: Option<&str>, data_dir: &std::path::Path) -> Self {
        match database_url {
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                Location::Postgres(url.to_owned())
            }
            Some(path) => Location::Sqlite(std::path::PathBuf::from(
                path.trim_start_matches("sqlite://"),
            )),
            None => Location::Sqlite(data_dir.join("exeunt.db")),
        }
    }
}
