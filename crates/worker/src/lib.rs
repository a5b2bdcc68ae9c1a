//! The job worker. It claims the job that has waited longest (of any tenant, under a lease),
//! does what the job's kind asks through a connector, and hands the outcome back to the app,
//! which retries a failure later or gives up once its attempts are spent. Any number of
//! workers may share one database: a job is claimed by one at a time.

use std::time::Duration;

use app::{ACCESS_REVOKE, App, Attempt, EMAIL_NOTIFICATION};
use connectors::smtp::{Mail, Mailer};
use connectors::{Access, webhook};
use engine::job::JobLease;
use engine::revocation::{ConnectorCall, ConnectorEvidence};
use store::{Job, Store};

/// What the worker has to do its jobs with.
pub struct Worker<S> {
    app: App<S>,
    /// Sends `email.notification` jobs; without one they fail (and say why).
    mailer: Option<Mailer>,
    /// Where people reach the server: the links in emails start with it.
    base_url: String,
    /// This worker's name on the jobs it holds: host and process.
    name: String,
    /// How long it holds a job unless it renews the lease.
    lease: JobLease,
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

impl<S: Store> Worker<S> {
    pub fn new(app: App<S>, mailer: Option<Mailer>, base_url: String) -> Self {
        Worker {
            app,
            mailer,
            base_url,
            name: format!("pid-{}", std::process::id()),
            lease: JobLease::DEFAULT,
        }
    }

    /// The same worker holding its jobs under `lease`.
    pub fn with_lease(self, lease: JobLease) -> Self {
        Worker { lease, ..self }
    }

    /// Runs the job that is due longest, if any.
    pub async fn run_next(&self) -> app::Result<Option<Ran>> {
        let Some(job) = self.app.claim_job(&self.name, self.lease).await? else {
            return Ok(None);
        };
        let outcome = self.attempt(&job).await;
        let recorded = self.app.settle_job(&job, &outcome).await?;
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

    /// Runs due jobs one after another until none is due or `until` has passed; each job's
    /// end is recorded in the transaction that claims the next, so a busy worker commits once
    /// per job. Returns how many ran.
    async fn drain(&self, until: Option<std::time::Instant>) -> app::Result<usize> {
        let mut ran = 0;
        let mut next = self.app.claim_job(&self.name, self.lease).await?;
        while let Some(job) = next {
            let outcome = self.attempt(&job).await;
            ran += 1;
            if until.is_some_and(|at| std::time::Instant::now() >= at) {
                self.app.settle_job(&job, &outcome).await?;
                break;
            }
            match self
                .app
                .settle_job_and_claim_next(&job, &outcome, &self.name, self.lease)
                .await
            {
                Ok((settled, claimed)) => {
                    if !settled {
                        tracing::warn!(job = %job.id, "another worker took this job over; its outcome here is not recorded");
                    }
                    next = claimed;
                }
                Err(error) => {
                    // The job's end was rolled back with the claim that failed: record it on
                    // its own, or the job would run again once its lease ran out.
                    self.app.settle_job(&job, &outcome).await?;
                    return Err(error);
                }
            }
        }
        Ok(ran)
    }

    /// Does `job`, renewing its lease while it runs, and counts how it went for `/metrics`.
    async fn attempt(&self, job: &Job) -> Attempt {
        let started = std::time::Instant::now();
        let work = self.perform(job);
        tokio::pin!(work);
        // Both are polled side by side: a renewal waiting for the database never holds up
        // the work, which may hold what the renewal waits for.
        let outcome = tokio::select! {
            outcome = &mut work => outcome,
            () = self.keep_lease(job) => work.await,
        };
        metrics::histogram!("exeunt_job_seconds", "kind" => job.kind.clone())
            .record(started.elapsed().as_secs_f64());
        if let Err(error) = &outcome {
            metrics::counter!("exeunt_job_failures_total", "kind" => job.kind.clone()).increment(1);
            tracing::warn!(job = %job.id, kind = %job.kind, attempt = job.attempts, %error, "a job failed");
        }
        outcome
    }

    /// Renews the lease on `job` every third of it; returns only once another worker has
    /// taken the job over (then this attempt's outcome will not be recorded).
    async fn keep_lease(&self, job: &Job) {
        let every = self.lease.renewal_interval().unsigned_abs();
        loop {
            tokio::time::sleep(every).await;
            match self.app.renew_job_lease(job, self.lease).await {
                Ok(true) => {}
                Ok(false) => {
                    tracing::warn!(job = %job.id, "another worker took over a job this one still runs");
                    return;
                }
                Err(error) => tracing::warn!(job = %job.id, %error, "cannot renew a job's lease"),
            }
        }
    }

    /// Runs jobs for as long as the process does. Idle, it waits for word that a job was
    /// queued (LISTEN/NOTIFY on PostgreSQL), and looks again every [`IDLE_POLL`] regardless,
    /// for jobs that fall due later.
    pub async fn run(self) {
        let mut wakeups = match self.app.store().job_wakeups().await {
            Ok(w) => Some(w),
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for queued jobs; polling instead");
                None
            }
        };
        let mut last_sweep: Option<std::time::Instant> = None;
        loop {
            if last_sweep.is_none_or(|at| at.elapsed() >= SWEEP) {
                if let Err(e) = self.sweep().await {
                    tracing::error!(error = %e, "the minute's sweep failed");
                }
                last_sweep = Some(std::time::Instant::now());
            }
            // Draining stops at the next sweep; the queue may still hold due jobs then.
            let sweep_at = last_sweep.map(|at| at + SWEEP);
            match self.drain(sweep_at).await {
                Ok(_) if sweep_at.is_some_and(|at| std::time::Instant::now() >= at) => continue,
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "the job worker failed"),
            }
            self.record_depth().await;
            match &mut wakeups {
                Some(w) => w.wait(IDLE_POLL).await,
                None => tokio::time::sleep(IDLE_POLL).await,
            }
        }
    }

    /// What runs every minute besides the queue: reminders that fell due, and the audit
    /// events each webhook subscription has not had yet.
    pub async fn sweep(&self) -> app::Result<()> {
        self.app.send_reminders().await?;
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

    /// The queue's depth by status, for `/metrics`.
    async fn record_depth(&self) {
        if let Ok(counts) = self.app.job_counts().await {
            for (status, n) in counts {
                metrics::gauge!("exeunt_jobs", "status" => status.as_str()).set(n as f64);
            }
        }
    }

    async fn perform(&self, job: &Job) -> Attempt {
        match job.kind.as_str() {
            EMAIL_NOTIFICATION => self.send_notification(job).await,
            ACCESS_REVOKE => self.revoke_access(job).await,
            other => Err(format!("no worker here does jobs of kind `{other}`")),
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
