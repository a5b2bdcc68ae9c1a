//! All of Exeunt's background work. The job worker claims the jobs that have waited longest
//! (of any tenant, under a lease, several at once), does what each job's kind asks through a
//! connector, and hands the outcomes back to the app, which retries a failure later or gives
//! up once its attempts are spent. Any number of workers may share one database: a job is
//! claimed by one at a time; export builds are jobs like the others. Beside the jobs, every
//! minute, a running worker sends due reminders and digests, posts new audit events to
//! webhooks, and purges what came due (`purges.rs`).

mod exports;
mod purges;

pub use exports::build_exports;

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::time::{Duration, Instant};

use app::{App, Attempt};
use connectors::smtp::{Mail, Mailer};
use connectors::{Access, webhook};
use engine::job::{JobConcurrency, JobKind, JobLease};
use engine::revocation::{ConnectorCall, ConnectorEvidence};
use futures_util::FutureExt;
use futures_util::stream::{FuturesUnordered, StreamExt};
use store::{Job, JobWakeups};

/// What the worker has to do its jobs with.
pub struct Worker {
    app: App,
    /// Sends `email.notification` jobs; without one they fail (and say why).
    mailer: Option<Mailer>,
    /// Where people reach the server: the links in emails start with it.
    base_url: String,
    claims: Claims,
}

/// How a worker takes jobs.
#[derive(Clone, Debug)]
pub struct Claims {
    /// Its name on the jobs it holds.
    pub name: String,
    /// How long it holds a job unless it renews the lease.
    pub lease: JobLease,
    /// How many jobs it runs at once.
    pub concurrency: JobConcurrency,
}

impl Claims {
    /// This process's, named after it, with the default lease and concurrency.
    pub fn of_this_process() -> Self {
        Claims {
            name: app::this_process(),
            lease: JobLease::DEFAULT,
            concurrency: JobConcurrency::DEFAULT,
        }
    }
}

/// One job's run: which, and how it went.
pub struct Ran {
    pub job: Job,
    pub outcome: Attempt,
    /// False when the job's lease had run out and another worker took it meanwhile.
    pub recorded: bool,
}

/// How often a running worker sends due reminders and new audit events to webhooks.
const SWEEP: Duration = Duration::from_secs(60);

/// How long an idle worker waits before it looks for due jobs again.
const IDLE_POLL: Duration = Duration::from_millis(500);

/// How often a worker tries again to record how its jobs ended when the database refused. It
/// gives up once a lease's length has passed: by then another worker may have taken the jobs
/// over, and they run again.
const SETTLE_RETRY: Duration = Duration::from_secs(1);

/// Runs due jobs, up to `claims.concurrency` at once, until none is due and none runs; `run`
/// does one job and answers how it went. The jobs that ended together are recorded in the
/// transaction that claims as many more as there is room for, so a busy worker commits once
/// per round however many jobs the round holds. While jobs run and there is room, word of a
/// queued job (`wakeups`, else every [`IDLE_POLL`]) claims more: a slow job holds up only
/// itself. Returns how many jobs ran.
///
/// The jobs are futures polled here rather than tasks of their own: a task would cost a hop
/// to another thread and back for every job, which on a small machine is most of a no-op
/// job's cost, and the jobs wait on the network, not on the CPU. They are polled through every
/// wait of this loop (see [`while_running`]).
pub async fn drain_queue<Run, Done>(
    app: &App,
    claims: &Claims,
    mut wakeups: Option<&mut JobWakeups>,
    run: Run,
) -> app::Result<usize>
where
    Run: Fn(Job) -> Done,
    Done: Future<Output = (Job, Attempt)>,
{
    let concurrency = claims.concurrency.get();
    let mut running: FuturesUnordered<Done> = app
        .claim_jobs(&claims.name, claims.lease, concurrency)
        .await?
        .into_iter()
        .map(&run)
        .collect();
    // How many more jobs may be claimed: none while the database refuses to record ends.
    let room =
        |running: &FuturesUnordered<Done>, refused_since: &Option<Instant>| match refused_since {
            Some(_) => 0,
            None => concurrency.saturating_sub(u32::try_from(running.len()).unwrap_or(u32::MAX)),
        };
    let mut ran = 0;
    let mut ended = Vec::new();
    // Since when the database has refused to record the jobs' ends.
    let mut refused_since: Option<Instant> = None;
    loop {
        if ended.is_empty() {
            if running.is_empty() {
                break;
            }
            let free = room(&running, &refused_since);
            tokio::select! {
                end = running.next() => ended.extend(end),
                () = word_of_jobs(&mut wakeups), if free > 0 => {
                    let claiming = app.claim_jobs(&claims.name, claims.lease, free);
                    match while_running(&mut running, &mut ended, claiming).await {
                        Ok(jobs) => running.extend(jobs.into_iter().map(&run)),
                        Err(error) => tracing::warn!(%error, "cannot claim jobs; trying again later"),
                    }
                    continue;
                }
            }
        }
        while let Some(Some(end)) = running.next().now_or_never() {
            ended.push(end);
        }
        let free = room(&running, &refused_since);
        let settling = async {
            if free == 0 {
                Ok((app.settle_jobs(&ended).await?, Vec::new()))
            } else {
                app.settle_jobs_and_claim(&ended, &claims.name, claims.lease, free)
                    .await
            }
        };
        let mut meanwhile = Vec::new();
        match while_running(&mut running, &mut meanwhile, settling).await {
            Ok((recorded, claimed)) => {
                for ((job, _), recorded) in ended.iter().zip(recorded) {
                    if !recorded {
                        tracing::warn!(job = %job.id, "another worker took this job over; its outcome here is not recorded");
                    }
                }
                ran += ended.len();
                running.extend(claimed.into_iter().map(&run));
                ended = meanwhile;
            }
            Err(error) => {
                // Claim nothing more, let the running jobs go on, and try again to record
                // these; dropping them would run them again once their leases ran out.
                let since = *refused_since.get_or_insert_with(Instant::now);
                if since.elapsed() >= claims.lease.length().unsigned_abs() {
                    return Err(error);
                }
                tracing::warn!(%error, "cannot record how jobs ended; trying again");
                ended.append(&mut meanwhile);
                while_running(&mut running, &mut ended, tokio::time::sleep(SETTLE_RETRY)).await;
            }
        }
    }
    Ok(ran)
}

/// Awaits `work` while the running jobs go on; those that end meanwhile join `ended`. Nothing
/// this loop waits for may stop the jobs: one of them may hold what `work` waits on (SQLite's
/// writer, a pooled connection), and their leases and timeouts run on regardless.
async fn while_running<Done: Future, T>(
    running: &mut FuturesUnordered<Done>,
    ended: &mut Vec<Done::Output>,
    work: impl Future<Output = T>,
) -> T {
    tokio::pin!(work);
    loop {
        tokio::select! {
            biased;
            out = &mut work => return out,
            Some(end) = running.next(), if !running.is_empty() => ended.push(end),
        }
    }
}

/// Returns on word that a job was queued, or after [`IDLE_POLL`] at the latest.
async fn word_of_jobs(wakeups: &mut Option<&mut JobWakeups>) {
    match wakeups {
        Some(wakeups) => wakeups.wait(IDLE_POLL).await,
        None => tokio::time::sleep(IDLE_POLL).await,
    }
}

impl Worker {
    pub fn new(app: App, mailer: Option<Mailer>, base_url: String) -> Self {
        Worker {
            app,
            mailer,
            base_url,
            claims: Claims::of_this_process(),
        }
    }

    /// The same worker holding its jobs under `lease`.
    pub fn with_lease(mut self, lease: JobLease) -> Self {
        self.claims.lease = lease;
        self
    }

    /// The same worker running up to `concurrency` jobs at once.
    pub fn with_concurrency(mut self, concurrency: JobConcurrency) -> Self {
        self.claims.concurrency = concurrency;
        self
    }

    /// Runs the job that is due longest, if any.
    pub async fn run_next(&self) -> app::Result<Option<Ran>> {
        let claims = &self.claims;
        let Some(job) = self
            .app
            .claim_jobs(&claims.name, claims.lease, 1)
            .await?
            .pop()
        else {
            return Ok(None);
        };
        let outcome = self.attempt(&job).await;
        let ended = [(job, outcome)];
        let recorded = self.app.settle_jobs(&ended).await? == [true];
        let [(job, outcome)] = ended;
        Ok(Some(Ran {
            job,
            outcome,
            recorded,
        }))
    }

    /// Sends the reminders that are due, then runs every job that is due now (the reminders'
    /// emails among them); returns how many jobs ran.
    pub async fn run_due(&self) -> app::Result<usize> {
        self.sweep().await?;
        self.drain(None).await
    }

    /// [`drain_queue`] with this worker's jobs.
    async fn drain(&self, wakeups: Option<&mut JobWakeups>) -> app::Result<usize> {
        drain_queue(&self.app, &self.claims, wakeups, |job| async move {
            // A job that panics fails its attempt; the others, and the worker, go on.
            let outcome = AssertUnwindSafe(self.attempt(&job))
                .catch_unwind()
                .await
                .unwrap_or_else(|_| Err("the worker panicked on this job".to_owned()));
            (job, outcome)
        })
        .await
    }

    /// Does `job`, renewing its lease while it runs, and counts how it went for `/metrics`.
    async fn attempt(&self, job: &Job) -> Attempt {
        let started = Instant::now();
        let outcome = self
            .app
            .holding(job, self.claims.lease, self.perform(job))
            .await;
        metrics::histogram!("exeunt_job_seconds", "kind" => job.kind.to_string())
            .record(started.elapsed().as_secs_f64());
        if let Err(error) = &outcome {
            metrics::counter!("exeunt_job_failures_total", "kind" => job.kind.to_string())
                .increment(1);
            tracing::warn!(job = %job.id, kind = %job.kind, attempt = job.attempts, %error, "a job failed");
        }
        outcome
    }

    /// Runs jobs for as long as the process does, and beside them the minute's sweep and
    /// purges. Idle, it waits for word that a job was queued
    /// (LISTEN/NOTIFY on PostgreSQL), and looks again every [`IDLE_POLL`] regardless, for jobs
    /// that fall due later.
    pub async fn run(self) {
        let mut wakeups = match self.app.store().job_wakeups().await {
            Ok(w) => Some(w),
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for queued jobs; polling instead");
                None
            }
        };
        let jobs = async {
            loop {
                if let Err(e) = self.drain(wakeups.as_mut()).await {
                    tracing::error!(error = %e, "the job worker failed");
                }
                word_of_jobs(&mut wakeups.as_mut()).await;
            }
        };
        let sweeps = async {
            let mut every_minute = tokio::time::interval(SWEEP);
            every_minute.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                every_minute.tick().await;
                go_on_after("the minute's sweep", self.sweep()).await;
                go_on_after("the purge scheduler", purges::purge_due(&self.app)).await;
                self.record_gauges().await;
            }
        };
        tokio::join!(jobs, sweeps);
    }

    /// What runs every minute besides the queue: reminders that fell due, a signed checkpoint
    /// of every audit chain that moved, and the audit events each webhook subscription has not
    /// had yet (which carry the newest checkpoint out).
    pub async fn sweep(&self) -> app::Result<()> {
        self.app.send_reminders().await?;
        self.app.sign_checkpoints().await?;
        self.deliver_audit_events().await
    }

    /// Sends each subscription its new audit events in order; at the first that fails, it
    /// stops, records the error, and starts there next time.
    async fn deliver_audit_events(&self) -> app::Result<()> {
        for pending in self.app.pending_deliveries().await? {
            let target = pending.settings.webhook();
            let mut failure = None;
            for (seq, event) in &pending.events {
                let sent = webhook::send(
                    &target,
                    &pending.secret,
                    webhook::Event {
                        event_type: &event.event_type,
                        id: &event.id,
                        subject: &event.subject,
                        data: event.data.clone(),
                    },
                )
                .await
                .and_then(|answer| webhook::accepted(&event.event_type, answer).map(drop));
                if let Err(e) = sent {
                    metrics::counter!("exeunt_webhook_failures_total").increment(1);
                    failure = Some((*seq - 1, e.to_string()));
                    break;
                }
            }
            let (through, error) = match failure {
                None => (pending.scanned_to, None),
                Some((before, e)) => (before, Some(e)),
            };
            self.app
                .delivered(pending.tenant, &pending.name, through, error.as_deref())
                .await?;
        }
        Ok(())
    }

    /// What a running server's `/metrics` shows of the queue and of revocation, refreshed
    /// every minute: the queue's depth by status, and the accesses still open after their exit
    /// (`exeunt jobs run` has no `/metrics`, so it does not pay for reading every open case).
    async fn record_gauges(&self) {
        if let Ok(counts) = self.app.job_counts().await {
            for (status, n) in counts {
                metrics::gauge!("exeunt_jobs", "status" => status.as_str()).set(n as f64);
            }
        }
        match self.app.open_exposures().await {
            Ok(open) => {
                metrics::gauge!("exeunt_open_exposures").set(open.accesses as f64);
                metrics::gauge!("exeunt_longest_open_exposure_seconds")
                    .set(open.longest.as_secs_f64());
            }
            Err(e) => tracing::warn!(error = %e, "cannot count the accesses still open"),
        }
    }

    async fn perform(&self, job: &Job) -> Attempt {
        match &job.kind {
            JobKind::EmailNotification => self.send_notification(job).await,
            JobKind::AccessRevoke => self.revoke_access(job).await,
            JobKind::ExportBuild => self.build_export(job).await,
            JobKind::Unknown(kind) => Err(format!("no worker here does jobs of kind `{kind}`")),
        }
    }

    /// Removes one account's access through its connector, checks it is gone, and records
    /// the evidence. A check that finds the access still live fails the attempt: it is tried
    /// again, and the item is marked failed once the job is dead.
    async fn revoke_access(&self, job: &Job) -> Attempt {
        let Some(work) = self
            .app
            .revocation_work(job)
            .await
            .map_err(|e| e.to_string())?
        else {
            return Ok(());
        };
        let access = Access {
            identifier: &work.identifier,
            idempotency_key: &work.idempotency_key,
        };
        let started_at = self.app.now();
        let calls = connectors::revoke(&work.settings, &work.secret, access)
            .await
            .map_err(|e| e.to_string())?;
        let revoked_at = self.app.now();
        let checks = connectors::verify(&work.settings, &work.secret, access)
            .await
            .map_err(|e| e.to_string())?;
        let verified_at = self.app.now();
        let window = verified_at
            .duration_since(work.effective_at)
            .as_secs_f64()
            .max(0.0);
        metrics::histogram!("exeunt_exposure_window_seconds", "connector" => work.settings.kind().as_str())
            .record(window);
        let evidence = ConnectorEvidence {
            connector: work.connector,
            kind: work.settings.kind(),
            calls: calls
                .into_iter()
                .map(|c| ConnectorCall {
                    call: c.call,
                    answer: c.answer,
                })
                .collect(),
            checks,
            idempotency_key: work.idempotency_key,
            started_at,
            revoked_at,
            verified_at,
        };
        self.app
            .record_revocation(job, evidence)
            .await
            .map_err(|e| e.to_string())
    }

    /// Builds the export the job names; a build that fails is recorded on the export and
    /// ends the job, one cut short (the database refused, another worker took it) is tried
    /// again.
    async fn build_export(&self, job: &Job) -> Attempt {
        let built = self
            .app
            .build_export(job)
            .await
            .map_err(|e| e.to_string())?;
        if let Some(export) = built {
            tracing::info!(export = %export.id, status = export.status.as_str(), "export built");
        }
        Ok(())
    }

    async fn send_notification(&self, job: &Job) -> Attempt {
        let Some(mailer) = &self.mailer else {
            return Err("no mail server is configured (--smtp-url)".to_owned());
        };
        let email = self
            .app
            .notification_email(job, &self.base_url)
            .await
            .map_err(|e| e.to_string())?;
        mailer
            .send(&Mail {
                to: &email.to,
                to_name: &email.to_name,
                subject: &email.subject,
                body: &email.body,
                message_id: &email.message_id,
            })
            .await
            .map_err(|e| e.to_string())
    }
}

/// Runs one piece of the minute's work, logging (as `what`) an error or a panic instead of
/// letting either end the loop the piece shares with the rest.
async fn go_on_after(what: &str, work: impl Future<Output = app::Result<()>>) {
    match AssertUnwindSafe(work).catch_unwind().await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::error!(error = %e, "{what} failed"),
        Err(_) => tracing::error!("{what} panicked"),
    }
}
