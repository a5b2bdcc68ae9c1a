//! The job queue: queueing, claiming under a lease, settling, and what people see of it.

use engine::ids::{CaseId, JobId, TenantId};
use engine::job::{JobKind, JobStatus};
use jiff::Timestamp;
use uuid::Uuid;

use crate::model::{Job, JobEnd, JobFilter, JobSettle};
use crate::sql::{Arg, Row, args};
use crate::{Result, StoreError};

use super::*;

/// How many values each settle binds, in [`settles_cte`]'s order.
const SETTLE_VALUES: usize = 7;

/// The CTE `settles`, one row per job's settle with its values from `$1` on (see
/// [`settle_args`]). The column names are distinct from the jobs table's, so that [`SETTLE`]
/// needs no qualified names, which SQLite's `RETURNING` does not take.
fn settles_cte(count: usize) -> String {
    format!(
        "settles (settle_tenant, settle_id, settle_attempt, settle_status, settle_run_at, \
         settle_error, settle_finished) AS (VALUES {})",
        crate::sql::value_rows(count, SETTLE_VALUES)
    )
}

/// Records each settle in `settles`: the job's status, due again at `settle_run_at` (a retry),
/// its error (a job that is done keeps none from the attempts before), when it finished. Fenced by the attempt: a worker whose lease was taken over
/// changes nothing. Answers the ids of the jobs it settled.
const SETTLE: &str = "UPDATE jobs SET status = settle_status, \
    run_at_us = COALESCE(settle_run_at, run_at_us), \
    last_error = CASE WHEN settle_status = 'done' THEN NULL ELSE COALESCE(settle_error, last_error) END, \
    finished_at_us = settle_finished, lease_until_us = NULL FROM settles \
    WHERE tenant_id = settle_tenant AND id = settle_id AND attempts = settle_attempt \
    AND status = 'running' RETURNING id";

/// For each of `settles`, in order, whether [`SETTLE`] recorded it (its id among `ids`).
fn settled_in_order(settles: &[JobSettle<'_>], ids: &[Uuid]) -> Vec<bool> {
    settles.iter().map(|s| ids.contains(&s.id.0)).collect()
}

/// The values of [`settles_cte`], [`SETTLE_VALUES`] for each settle.
fn settle_args<'a>(settles: &[JobSettle<'a>]) -> Vec<Arg<'a>> {
    let mut args = Vec::with_capacity(SETTLE_VALUES * settles.len());
    for settle in settles {
        let at = settle.at;
        let (status, run_at, error, finished) = match settle.end {
            JobEnd::Done => (JobStatus::Done, None, None, Some(at)),
            JobEnd::Retry { at: again, error } => {
                (JobStatus::Queued, Some(again), Some(error), None)
            }
            JobEnd::Dead { error } => (JobStatus::Dead, None, Some(error), Some(at)),
        };
        args.extend_from_slice(args![
            settle.tenant.0,
            settle.id.0,
            settle.attempt,
            status.as_str(),
            run_at.map(us),
            error,
            finished.map(us),
        ]);
    }
    args
}

/// The values of [`claim_statement`]'s parameters, in order.
fn claim_args<'a>(
    now: Timestamp,
    lease_until: Timestamp,
    worker: &'a str,
    limit: u32,
) -> [Arg<'a>; 4] {
    *args![us(now), us(lease_until), worker, i64::from(limit)]
}

/// The claim: jobs whose worker died (their lease ran out) first, else the queued jobs due
/// longest: two short walks of the partial indexes `jobs_leased` and `jobs_queued`, the second
/// only when the first found nothing, in one statement. Its parameters are at `$first` (now),
/// then the lease's end, the worker and how many jobs to take at most (see [`claim_args`]).
///
/// On PostgreSQL the picks are CTEs, evaluated once (they lock rows, so they are never
/// inlined): as an `IN (subquery)` the planner may rerun a pick for every row it scans, and
/// with SKIP LOCKED each rerun picks other jobs. SQLite may evaluate `expired` twice, which
/// its single writer makes harmless. The test is repeated in the UPDATE: on PostgreSQL a second
/// worker that picked the same row re-checks it after the first one's claim, and finds it
/// taken; SKIP LOCKED also lets concurrent workers pass over a row another one is taking
/// instead of queueing behind it.
///
/// With `settling` (the CTEs `settles` and `settled`, an [`SETTLE`] of the values before
/// `$first`), the statement settles first, passes over the jobs it settles, and answers a row
/// per claimed job, or one row of nulls when it claimed none, each with the ids of the jobs it
/// settled (`settled`, separated by commas).
fn claim_statement(skip: &str, first: usize, settling: Option<&str>) -> String {
    let (now, lease, worker, limit) = (first, first + 1, first + 2, first + 3);
    let expired = format!("status = 'running' AND lease_until_us < ${now}");
    let due = format!("status = 'queued' AND run_at_us <= ${now}");
    let (settle_ctes, not_settled) = match settling {
        Some(ctes) => (
            format!("{ctes}, "),
            " AND (tenant_id, id) NOT IN (SELECT settle_tenant, settle_id FROM settles)",
        ),
        None => (String::new(), ""),
    };
    let claim = format!(
        "UPDATE jobs SET status = 'running', attempts = attempts + 1, lease_until_us = ${lease}, \
         worker = ${worker} FROM picked WHERE tenant_id = picked_tenant AND id = picked_id \
         AND (({expired}) OR ({due})) RETURNING {JOB_COLUMNS}"
    );
    let picks = format!(
        "WITH {settle_ctes}expired AS (SELECT tenant_id AS picked_tenant, id AS picked_id FROM jobs \
         WHERE {expired}{not_settled} ORDER BY lease_until_us LIMIT ${limit}{skip}), \
         due AS (SELECT tenant_id AS picked_tenant, id AS picked_id FROM jobs \
         WHERE {due} AND NOT EXISTS (SELECT 1 FROM expired) ORDER BY run_at_us LIMIT ${limit}{skip}), \
         picked AS (SELECT picked_tenant, picked_id FROM expired \
         UNION ALL SELECT picked_tenant, picked_id FROM due)"
    );
    match settling {
        None => format!("{picks} {claim}"),
        Some(_) => format!(
            "{picks}, claimed AS ({claim}) SELECT \
             (SELECT string_agg(id::text, ',') FROM settled) AS settled, \
             claimed.* FROM (SELECT 1 AS one) AS one LEFT JOIN claimed ON true"
        ),
    }
}

const JOB_COLUMNS: &str = "tenant_id, id, kind, payload, idempotency_key, case_id, status, \
    attempts, max_attempts, run_at_us, lease_until_us, worker, last_error, created_at_us, \
    finished_at_us";

fn job_row<R: Row>(r: &R) -> Result<Job> {
    let status = r.text("status")?;
    Ok(Job {
        tenant_id: TenantId(r.uuid("tenant_id")?),
        id: JobId(r.uuid("id")?),
        kind: JobKind::from_stored(r.text("kind")?),
        payload: r.text("payload")?.to_owned(),
        idempotency_key: r.text("idempotency_key")?.to_owned(),
        case_id: r.opt_uuid("case_id")?.map(CaseId),
        status: JobStatus::parse(status)
            .ok_or_else(|| StoreError::Corrupt(format!("job status {status}")))?,
        attempts: r.int("attempts")?,
        max_attempts: r.int("max_attempts")?,
        run_at: from_us(r.int("run_at_us")?)?,
        lease_until: opt_from_us(r.opt_int("lease_until_us")?)?,
        worker: r.opt_text("worker")?.map(str::to_owned),
        last_error: r.opt_text("last_error")?.map(str::to_owned),
        created_at: from_us(r.int("created_at_us")?)?,
        finished_at: opt_from_us(r.opt_int("finished_at_us")?)?,
    })
}

/// The job listing's statement for `f`, newest first.
pub(super) fn job_listing(tenant: TenantId, f: &JobFilter) -> (String, Conditions<'_>) {
    let mut w = Conditions::new("tenant_id = {}", tenant.0);
    w.and_some("status = {}", f.status.map(JobStatus::as_str))
        .and_some("case_id = {}", f.case.map(|c| c.0));
    if let Some(before) = f.before {
        let (tenant, job) = (w.bind(tenant.0), w.bind(before.0));
        w.and_always(&format!(
            "(created_at_us, id) < ((SELECT created_at_us FROM jobs WHERE tenant_id = {tenant} \
             AND id = {job}), {job})"
        ));
    }
    let limit = w.bind(f.limit);
    let sql = format!(
        "SELECT {JOB_COLUMNS} FROM jobs WHERE {} ORDER BY created_at_us DESC, id DESC \
         LIMIT {limit}",
        w.sql()
    );
    (sql, w)
}

impl Tx {
    /// Queues a job, unless the tenant has one with its idempotency key: then it is the same
    /// work asked for twice, and nothing changes. True when it was queued.
    pub async fn insert_job(&mut self, j: &Job) -> Result<bool> {
        let inserted = self
            .run(
                "INSERT INTO jobs (tenant_id, id, kind, payload, idempotency_key, case_id, status, \
                 attempts, max_attempts, run_at_us, lease_until_us, worker, last_error, \
                 created_at_us, finished_at_us) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) \
                 ON CONFLICT (tenant_id, idempotency_key) DO NOTHING",
                args![
                    j.tenant_id.0,
                    j.id.0,
                    j.kind.as_str(),
                    &j.payload,
                    &j.idempotency_key,
                    j.case_id.map(|c| c.0),
                    j.status.as_str(),
                    j.attempts,
                    j.max_attempts,
                    us(j.run_at),
                    j.lease_until.map(us),
                    j.worker.as_deref(),
                    j.last_error.as_deref(),
                    us(j.created_at),
                    j.finished_at.map(us),
                ],
            )
            .await?;
        if inserted == 1 {
            self.conn.job_queued().await?;
        }
        Ok(inserted == 1)
    }

    /// Takes up to `limit` jobs of any tenant, those that have waited longest: running with
    /// their lease run out (their worker died) before any queued and due. Several workers on
    /// one PostgreSQL never take the same one. The worker then works inside each job's tenant
    /// only.
    pub async fn claim_jobs(
        &mut self,
        now: Timestamp,
        lease_until: Timestamp,
        worker: &str,
        limit: u32,
    ) -> Result<Vec<Job>> {
        let sql = claim_statement(self.conn.skip_locked_clause(), 1, None);
        self.all(&sql, &claim_args(now, lease_until, worker, limit), |r| {
            job_row(r)
        })
        .await
    }

    /// Takes the job of kind `kind` that has waited longest, as [`claim_jobs`](Tx::claim_jobs)
    /// would, for a process that does only that kind of work (`exeunt export run`). With
    /// `take_over`, a running job whose lease has not run out counts as waiting too: for an
    /// operator who knows its worker died; a worker that is in fact alive then loses it.
    pub async fn claim_job_of_kind(
        &mut self,
        now: Timestamp,
        lease_until: Timestamp,
        worker: &str,
        kind: &JobKind,
        take_over: bool,
    ) -> Result<Option<Job>> {
        // Not the hot path: one job at a time, from the two partial indexes the claim walks.
        let claimable = "kind = $4 AND ((status = 'running' AND ($5 OR lease_until_us < $1)) \
                         OR (status = 'queued' AND run_at_us <= $1))";
        let sql = format!(
            "WITH picked AS (SELECT tenant_id AS picked_tenant, id AS picked_id FROM jobs \
             WHERE {claimable} ORDER BY CASE status WHEN 'running' THEN 0 ELSE 1 END, run_at_us \
             LIMIT 1{skip}) \
             UPDATE jobs SET status = 'running', attempts = attempts + 1, lease_until_us = $2, \
             worker = $3 FROM picked WHERE tenant_id = picked_tenant AND id = picked_id \
             AND {claimable} RETURNING {JOB_COLUMNS}",
            skip = self.conn.skip_locked_clause()
        );
        self.optional(
            &sql,
            args![us(now), us(lease_until), worker, kind.as_str(), take_over],
            |r| job_row(r),
        )
        .await
    }

    /// Whether attempt `attempt` still holds the running job; while it does, the job stays
    /// this transaction's until it ends (the row is locked on PostgreSQL, and SQLite has one
    /// writer), so what the transaction writes for the job cannot follow a take-over. Work that
    /// outlives one transaction (an export's build) fences each of its writes with this.
    pub async fn holds_job(&mut self, tenant: TenantId, id: JobId, attempt: i64) -> Result<bool> {
        let held = self
            .run(
                "UPDATE jobs SET lease_until_us = lease_until_us \
                 WHERE tenant_id = $1 AND id = $2 AND attempts = $3 AND status = 'running'",
                args![tenant.0, id.0, attempt],
            )
            .await?;
        Ok(held == 1)
    }

    /// Extends the lease of attempt `attempt` of a running job to `until`; false when that
    /// attempt no longer holds the job.
    pub async fn renew_job_lease(
        &mut self,
        tenant: TenantId,
        id: JobId,
        attempt: i64,
        until: Timestamp,
    ) -> Result<bool> {
        let changed = self
            .run(
                "UPDATE jobs SET lease_until_us = $4 \
                 WHERE tenant_id = $1 AND id = $2 AND attempts = $3 AND status = 'running'",
                args![tenant.0, id.0, attempt, us(until)],
            )
            .await?;
        Ok(changed == 1)
    }

    /// Records how attempts of jobs ended; for each, in order, false when that attempt no
    /// longer holds the job (its lease ran out and another worker took it).
    pub async fn settle_jobs(&mut self, settles: &[JobSettle<'_>]) -> Result<Vec<bool>> {
        if settles.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!("WITH {} {SETTLE}", settles_cte(settles.len()));
        let ids = self
            .all(&sql, &settle_args(settles), |r| r.uuid("id"))
            .await?;
        Ok(settled_in_order(settles, &ids))
    }

    /// [`settle_jobs`](Tx::settle_jobs), then [`claim_jobs`](Tx::claim_jobs): on PostgreSQL in
    /// one statement, so that a busy worker pays one round trip for both.
    pub async fn settle_and_claim_jobs(
        &mut self,
        settles: &[JobSettle<'_>],
        now: Timestamp,
        lease_until: Timestamp,
        worker: &str,
        limit: u32,
    ) -> Result<(Vec<bool>, Vec<Job>)> {
        if settles.is_empty() || !self.conn.writable_ctes() {
            let settled = self.settle_jobs(settles).await?;
            let claimed = self.claim_jobs(now, lease_until, worker, limit).await?;
            return Ok((settled, claimed));
        }
        let settling = format!("{}, settled AS ({SETTLE})", settles_cte(settles.len()));
        let sql = claim_statement(
            self.conn.skip_locked_clause(),
            SETTLE_VALUES * settles.len() + 1,
            Some(&settling),
        );
        let mut args = settle_args(settles);
        args.extend(claim_args(now, lease_until, worker, limit));
        let rows = self
            .all(&sql, &args, |r| {
                let settled = r.opt_text("settled")?.unwrap_or_default().to_owned();
                let claimed = match r.opt_uuid("id")? {
                    Some(_) => Some(job_row(r)?),
                    None => None,
                };
                Ok((settled, claimed))
            })
            .await?;
        let settled_ids = match rows.first() {
            Some((ids, _)) => ids
                .split(',')
                .filter(|id| !id.is_empty())
                .map(|id| {
                    Uuid::parse_str(id)
                        .map_err(|e| StoreError::Corrupt(format!("settled job id {id}: {e}")))
                })
                .collect::<Result<Vec<_>>>()?,
            None => Vec::new(),
        };
        Ok((
            settled_in_order(settles, &settled_ids),
            rows.into_iter().filter_map(|(_, job)| job).collect(),
        ))
    }

    pub async fn job(&mut self, tenant: TenantId, id: JobId) -> Result<Option<Job>> {
        self.optional(
            &format!("SELECT {JOB_COLUMNS} FROM jobs WHERE tenant_id = $1 AND id = $2"),
            args![tenant.0, id.0],
            |r| job_row(r),
        )
        .await
    }

    /// The tenant's jobs, newest first.
    pub async fn jobs(&mut self, tenant: TenantId, f: &JobFilter) -> Result<Vec<Job>> {
        let (sql, w) = job_listing(tenant, f);
        self.all(&sql, w.args(), |r| job_row(r)).await
    }

    /// Sends a dead job again: queued, due at `at`, its attempts counted afresh. False when it
    /// is not dead.
    pub async fn requeue_job(
        &mut self,
        tenant: TenantId,
        id: JobId,
        at: Timestamp,
    ) -> Result<bool> {
        let changed = self
            .run(
                "UPDATE jobs SET status = 'queued', run_at_us = $3, max_attempts = attempts + $4, \
                 finished_at_us = NULL WHERE tenant_id = $1 AND id = $2 AND status = 'dead'",
                args![tenant.0, id.0, us(at), engine::job::DEFAULT_ATTEMPTS],
            )
            .await?;
        Ok(changed == 1)
    }

    /// How many jobs of every tenant are in each status: the queue's depth for `/metrics`.
    pub async fn job_counts(&mut self) -> Result<Vec<(JobStatus, i64)>> {
        self.all(
            "SELECT status, COUNT(*) AS n FROM jobs GROUP BY status",
            args![],
            |r| {
                let status = r.text("status")?;
                Ok((
                    JobStatus::parse(status)
                        .ok_or_else(|| StoreError::Corrupt(format!("job status {status}")))?,
                    r.int("n")?,
                ))
            },
        )
        .await
    }
}
