//! The job queue: work Exeunt does in the background after a change, queued in the
//! transaction of that change (a transactional outbox) and run by a worker that claims it
//! under a lease. Failed attempts are retried with exponential backoff and jitter; a job whose
//! attempts are spent is dead, with its last error, until a person sends it again.
//!
//! What a job does outside Exeunt (send an email, call a directory) is the worker's; this
//! module decides what is due and records how each attempt ended; what a job of each kind
//! sends is worded elsewhere (`emails.rs` for email).

use std::future::Future;

use engine::ids::{CaseId, JobId, SubjectId, TenantId};
use engine::job::{AfterFailure, DEFAULT_ATTEMPTS, JobKind, JobLease, JobStatus, after_failure};
use engine::tenant::Permission;
use jiff::Timestamp;
use serde_json::json;
use store::{Job, JobEnd, JobFilter, JobSettle, Tx};

use crate::{Actor, App, AppError, Result, Target};

/// A job to queue.
pub(crate) struct NewJob {
    pub kind: JobKind,
    pub payload: serde_json::Value,
    /// The same work asked for twice is one job.
    pub key: String,
    pub case: Option<CaseId>,
    pub run_at: Timestamp,
}

/// How an attempt of a job ended, as the worker saw it.
pub type Attempt = std::result::Result<(), String>;

/// The name a process gives the jobs it holds.
pub fn this_process() -> String {
    format!("pid-{}", std::process::id())
}

/// One attempt at a job, for work that takes more than one transaction (an export's build):
/// each of its writes first checks, in its own transaction, that the attempt still holds the
/// job, so work taken over by another worker writes nothing more.
#[derive(Clone, Copy, Debug)]
pub(crate) struct JobAttempt {
    tenant: TenantId,
    job: JobId,
    attempt: i64,
}

impl JobAttempt {
    pub(crate) fn of(job: &Job) -> Self {
        JobAttempt {
            tenant: job.tenant_id,
            job: job.id,
            attempt: job.attempts,
        }
    }

    pub(crate) fn number(&self) -> i64 {
        self.attempt
    }

    /// Fails, stopping the work, once another worker has taken the job over; otherwise the
    /// job stays this attempt's until `tx` ends.
    pub(crate) async fn still_holds(&self, tx: &mut Tx) -> Result<()> {
        if tx.holds_job(self.tenant, self.job, self.attempt).await? {
            Ok(())
        } else {
            Err(AppError::Conflict(format!(
                "job {} was taken over by another worker; this attempt stopped",
                self.job
            )))
        }
    }
}

impl App {
    /// Queues `job` in the transaction of the change that asks for it. False when the tenant
    /// already has the same work queued (same key): then nothing changes.
    pub(crate) async fn enqueue(
        &self,
        tx: &mut Tx,
        tenant: TenantId,
        job: NewJob,
        at: Timestamp,
    ) -> Result<bool> {
        let row = Job {
            tenant_id: tenant,
            id: JobId(self.new_id()),
            kind: job.kind,
            payload: job.payload.to_string(),
            idempotency_key: job.key,
            case_id: job.case,
            status: JobStatus::Queued,
            attempts: 0,
            max_attempts: DEFAULT_ATTEMPTS,
            run_at: job.run_at,
            lease_until: None,
            worker: None,
            last_error: None,
            created_at: at,
            finished_at: None,
        };
        Ok(tx.insert_job(&row).await?)
    }

    /// Takes up to `limit` jobs, those of any tenant that have waited longest, for `worker`;
    /// none when nothing is due.
    pub async fn claim_jobs(&self, worker: &str, lease: JobLease, limit: u32) -> Result<Vec<Job>> {
        let now = self.now();
        let mut tx = self.store.write().await?;
        let jobs = tx
            .claim_jobs(now, now + lease.length(), worker, limit)
            .await?;
        tx.commit().await?;
        Ok(jobs)
    }

    /// Extends the lease on `job` by another `lease` from now, while its attempt runs. False
    /// when the attempt no longer holds the job (another worker took it over).
    pub async fn renew_job_lease(&self, job: &Job, lease: JobLease) -> Result<bool> {
        let mut tx = self.store.write().await?;
        let renewed = tx
            .renew_job_lease(
                job.tenant_id,
                job.id,
                job.attempts,
                self.now() + lease.length(),
            )
            .await?;
        tx.commit().await?;
        Ok(renewed)
    }

    /// Runs `work`, an attempt at `job`, renewing the job's lease every third of it beside the
    /// work. Both are polled side by side: a renewal waiting for the database never holds up
    /// the work, which may hold what the renewal waits for. Once another worker has taken the
    /// job over, renewing stops and the work runs to its end; its outcome will not be recorded.
    pub async fn holding<T>(&self, job: &Job, lease: JobLease, work: impl Future<Output = T>) -> T {
        tokio::pin!(work);
        tokio::select! {
            out = &mut work => out,
            () = self.keep_job_lease(job, lease) => work.await,
        }
    }

    /// Renews the lease on `job` every third of it; returns only once another worker has
    /// taken the job over. A renewal the database refuses is tried again at the next turn.
    async fn keep_job_lease(&self, job: &Job, lease: JobLease) {
        let every = lease.renewal_interval().unsigned_abs();
        loop {
            tokio::time::sleep(every).await;
            match self.renew_job_lease(job, lease).await {
                Ok(true) => {}
                Ok(false) => {
                    tracing::warn!(job = %job.id, "another worker took over a job this one still runs");
                    return;
                }
                Err(error) => tracing::warn!(job = %job.id, %error, "cannot renew a job's lease"),
            }
        }
    }

    /// Records how the worker's attempts at jobs ended: each done; or failed, to be retried
    /// after a backoff, or dead once its attempts are spent. For each, in order, whether the
    /// attempt's end is recorded (now, or by an earlier try of the same settle); false when
    /// the attempt no longer held the job (its lease ran out and another worker took it
    /// over): then nothing is recorded for it.
    pub async fn settle_jobs(&self, ended: &[(Job, Attempt)]) -> Result<Vec<bool>> {
        Ok(self.settle(ended, None).await?.0)
    }

    /// [`settle_jobs`](Self::settle_jobs), and in the same transaction,
    /// [`claim_jobs`](Self::claim_jobs) for the same worker: a busy worker commits once for
    /// the jobs it finished and those it takes next.
    pub async fn settle_jobs_and_claim(
        &self,
        ended: &[(Job, Attempt)],
        worker: &str,
        lease: JobLease,
        limit: u32,
    ) -> Result<(Vec<bool>, Vec<Job>)> {
        self.settle(ended, Some((worker, lease, limit))).await
    }

    async fn settle(
        &self,
        ended: &[(Job, Attempt)],
        then_claim: Option<(&str, JobLease, u32)>,
    ) -> Result<(Vec<bool>, Vec<Job>)> {
        let at = self.now();
        let mut recorded = vec![false; ended.len()];
        let mut living = Vec::with_capacity(ended.len());
        let mut living_at = Vec::with_capacity(ended.len());
        for (i, (job, attempt)) in ended.iter().enumerate() {
            let settle = JobSettle {
                tenant: job.tenant_id,
                id: job.id,
                attempt: job.attempts,
                end: self.job_end(job, attempt, at),
                at,
            };
            if !matches!(settle.end, JobEnd::Dead { .. }) {
                living.push(settle);
                living_at.push(i);
                continue;
            }
            // A death is recorded in a transaction of its own, with what it marks: that locks
            // the job's case and then its tenant's audit head, and two deaths in one
            // transaction would take such locks in an order another transaction may reverse.
            let mut tx = self.store.write().await?;
            recorded[i] = tx.settle_jobs(&[settle]).await? == [true];
            if recorded[i] {
                self.gave_up(&mut tx, job, attempt, at).await?;
            }
            tx.commit().await?;
        }
        if living.is_empty() && then_claim.is_none() {
            self.recorded_before(ended, &mut recorded).await?;
            return Ok((recorded, Vec::new()));
        }
        let mut tx = self.store.write().await?;
        let (settled, claimed) = match then_claim {
            None => (tx.settle_jobs(&living).await?, Vec::new()),
            Some((worker, lease, limit)) => {
                tx.settle_and_claim_jobs(&living, at, at + lease.length(), worker, limit)
                    .await?
            }
        };
        tx.commit().await?;
        for (i, settled) in living_at.into_iter().zip(settled) {
            recorded[i] = settled;
        }
        self.recorded_before(ended, &mut recorded).await?;
        Ok((recorded, claimed))
    }

    /// Marks recorded the ends a database refusal made the worker send again: a death commits
    /// in a transaction of its own, so a settle that failed after it leaves that end recorded,
    /// and settling it again changes nothing. Such a job still counts this attempt and no
    /// longer runs; one another worker took over counts a later attempt.
    async fn recorded_before(&self, ended: &[(Job, Attempt)], recorded: &mut [bool]) -> Result<()> {
        if recorded.iter().all(|r| *r) {
            return Ok(());
        }
        let mut tx = self.store.read().await?;
        for ((job, _), recorded) in ended.iter().zip(recorded.iter_mut()) {
            if *recorded {
                continue;
            }
            *recorded = tx.job(job.tenant_id, job.id).await?.is_some_and(|now| {
                now.attempts == job.attempts && now.status != JobStatus::Running
            });
        }
        Ok(())
    }

    /// What becomes of `job` after `attempt`, at `at`.
    fn job_end<'a>(&self, job: &Job, attempt: &'a Attempt, at: Timestamp) -> JobEnd<'a> {
        let jitter = f64::from(self.ids.secret()[0]) / 256.0;
        match attempt {
            Ok(()) => JobEnd::Done,
            Err(error) => match after_failure(job.attempts, job.max_attempts, at, jitter) {
                AfterFailure::RetryAt(again) => JobEnd::Retry { at: again, error },
                AfterFailure::Dead => JobEnd::Dead { error },
            },
        }
    }

    /// Records that `job` is dead: on its revocation item, and in the audit log.
    async fn gave_up(
        &self,
        tx: &mut Tx,
        job: &Job,
        attempt: &Attempt,
        at: Timestamp,
    ) -> Result<()> {
        if let Err(error) = attempt {
            match job.kind {
                JobKind::AccessRevoke => self.revocation_gave_up(tx, job, error, at).await?,
                JobKind::ExportBuild => self.export_gave_up(tx, job, error, at).await?,
                JobKind::EmailNotification | JobKind::Unknown(_) => {}
            }
        }
        let about = self.job_subject(tx, job).await?;
        self.audit_as(tx, job.tenant_id, "system:jobs".to_owned(), at, "job.dead", Target::of(about, "job", job.id.to_string()), json!({
            "summary": format!("gave up on job {} ({}) after {} attempts", job.id, job.kind, job.attempts),
            "kind": job.kind.as_str(), "error": attempt.as_ref().err(),
        }))
        .await
    }

    /// The subject whose case queued `job`: its errors may name the subject's accounts.
    async fn job_subject(&self, tx: &mut Tx, job: &Job) -> Result<Option<SubjectId>> {
        Ok(match job.case_id {
            Some(case) => tx.subject_of_case(job.tenant_id, case).await?,
            None => None,
        })
    }

    /// The tenant's jobs, newest first; after a job named by `filter.before`, which must be
    /// one of the tenant's.
    pub async fn jobs(&self, actor: &Actor, filter: &JobFilter) -> Result<Vec<Job>> {
        let mut tx = self.store.read().await?;
        if let Some(before) = filter.before
            && tx.job(actor.tenant.id, before).await?.is_none()
        {
            return Err(AppError::NotFound(format!("no job {before}")));
        }
        Ok(tx.jobs(actor.tenant.id, filter).await?)
    }

    /// Sends a dead job again, due now, with a fresh set of attempts.
    pub async fn retry_job(&self, actor: &Actor, id: JobId) -> Result<Job> {
        actor.require(Permission::RunCases)?;
        let at = self.now();
        let mut tx = self.store.write().await?;
        let job = tx
            .job(actor.tenant.id, id)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("no job {id}")))?;
        if !tx.requeue_job(actor.tenant.id, id, at).await? {
            return Err(AppError::Conflict(format!(
                "job {id} is {}; only a dead job is sent again",
                job.status
            )));
        }
        let about = self.job_subject(&mut tx, &job).await?;
        self.audit(&mut tx, actor, at, "job.retried", Target::of(about, "job", id.to_string()), json!({
            "summary": format!("sent job {id} ({}) again", job.kind), "last_error": job.last_error,
        }))
        .await?;
        let job = tx
            .job(actor.tenant.id, id)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("no job {id}")))?;
        tx.commit().await?;
        Ok(job)
    }

    /// How many jobs of every tenant are in each status.
    pub async fn job_counts(&self) -> Result<Vec<(JobStatus, i64)>> {
        Ok(self.store.read().await?.job_counts().await?)
    }
}
