//! The job queue and its worker against real parts: SQLite and PostgreSQL, and a real SMTP
//! server (aiosmtpd, from PyPI) whose mailbox the tests read. Every test runs on both stores.

use std::collections::HashSet;
use std::sync::Arc;

use app::{Actor, App, FixedClock, Ids, MasterKey, NewSubject, StartCase};
use connectors::smtp::Mailer;
use engine::fields::{PersonName, TenantName};
use engine::ids::{Email, Slug, SubjectKey, Text, ZoneName};
use engine::job::{JobKind, JobLease, JobStatus};
use engine::subject::{Attributes, SubjectKind};
use engine::tenant::Role;
use exeunt_worker::Worker;
use jiff::SignedDuration;
use store::JobFilter;
use testkit::TestDb;
use testkit::smtp::{SmtpSink, header};

const BASE_URL: &str = "http://exeunt.test";

fn mailer(sink: &SmtpSink) -> Mailer {
    Mailer::new(&sink.url(), "Exeunt <exeunt@acme.example>").unwrap()
}

struct Firm {
    /// The database, kept for as long as the firm is.
    _db: TestDb,
    app: App,
    clock: Arc<FixedClock>,
    manager: Actor,
}

/// A firm with a manager, an IT member and a client under offboarding (case 1), whose
/// notifications also go out by email.
async fn firm(db: TestDb) -> Firm {
    let store = db.store.clone();
    let clock = Arc::new(FixedClock::new("2026-12-01T09:00:00Z".parse().unwrap()));
    let app = App::new(
        store,
        clock.clone(),
        Arc::new(Ids::seeded(5)),
        MasterKey::from_bytes([5; 32]),
    )
    .with_email();
    let owner = app
        .init_tenant(
            Slug::parse("acme").unwrap(),
            TenantName::parse("Acme Services").unwrap(),
            Email::parse("owner@acme.example").unwrap(),
            PersonName::parse("Olga Owner").unwrap(),
        )
        .await
        .unwrap();
    for (email, name, role, teams) in [
        ("mia@acme.example", "Mia Manager", Role::Manager, vec![]),
        (
            "ines@acme.example",
            "Ines IT",
            Role::Member,
            vec![Slug::parse("it").unwrap()],
        ),
    ] {
        app.add_user(
            &owner,
            Email::parse(email).unwrap(),
            PersonName::parse(name).unwrap(),
            role,
            &teams,
        )
        .await
        .unwrap();
    }
    let manager = app
        .actor(
            Some(&owner.tenant.slug),
            Some(&Email::parse("mia@acme.example").unwrap()),
        )
        .await
        .unwrap();
    app.add_subjects(
        &manager,
        vec![NewSubject {
            key: SubjectKey::parse("globex").unwrap(),
            kind: SubjectKind::Client,
            name: Text::line("Globex", 200).unwrap(),
            parent: None,
            attributes: Attributes::parse([("country", "DE")]).unwrap(),
        }],
    )
    .await
    .map_err(|(_, e)| e)
    .unwrap();
    app.start_case(
        &manager,
        StartCase {
            subject: SubjectKey::parse("globex").unwrap(),
            blueprint: None,
            exit_date: "2027-01-29".parse().unwrap(),
            owner: None,
            confirmation: None,
        },
    )
    .await
    .unwrap();
    Firm {
        _db: db,
        app,
        clock,
        manager,
    }
}

impl Firm {
    /// Gives a task of case 1 to Ines, who is told by email.
    async fn assign(&self, task: &str) {
        self.app
            .assign_task(
                &self.manager,
                1,
                &Slug::parse(task).unwrap(),
                Some(&Email::parse("ines@acme.example").unwrap()),
            )
            .await
            .unwrap();
    }

    /// When a task of case 1 is due.
    async fn due(&self, task: &str) -> jiff::Timestamp {
        self.app
            .case(&self.manager, 1)
            .await
            .unwrap()
            .file
            .tasks
            .into_iter()
            .find(|t| t.id.as_str() == task)
            .and_then(|t| t.due_at)
            .expect("the task has a due time")
    }

    /// Ines, acting for herself.
    async fn ines(&self) -> Actor {
        self.app
            .actor(
                Some(&self.manager.tenant.slug),
                Some(&Email::parse("ines@acme.example").unwrap()),
            )
            .await
            .unwrap()
    }

    async fn jobs(&self, status: Option<JobStatus>) -> Vec<store::Job> {
        self.app
            .jobs(
                &self.manager,
                &JobFilter {
                    status,
                    limit: 1000,
                    ..JobFilter::default()
                },
            )
            .await
            .unwrap()
    }
}

async fn an_assignee_gets_the_email_once(db: TestDb) {
    let Some(sink) = SmtpSink::start("an_assignee_gets_the_email_once") else {
        return;
    };
    let firm = firm(db).await;
    firm.assign("account-transition").await;
    let worker = Worker::new(firm.app.clone(), Some(mailer(&sink)), BASE_URL.to_owned());
    assert_eq!(worker.run_due().await.unwrap(), 1);
    assert_eq!(worker.run_due().await.unwrap(), 0, "nothing else is due");

    let messages = sink.messages();
    assert_eq!(messages.len(), 1, "{messages:?}");
    let mail = &messages[0];
    assert!(
        header(mail, "To").unwrap().contains("ines@acme.example"),
        "{mail}"
    );
    assert!(
        header(mail, "Subject")
            .unwrap()
            .contains("Mia Manager gave you task"),
        "{mail}"
    );
    assert!(
        header(mail, "Message-ID")
            .unwrap()
            .ends_with("@exeunt.acme>"),
        "{mail}"
    );
    assert!(
        mail.contains("http://exeunt.test/cases/1/tasks/account-transition"),
        "the email links to the task: {mail}"
    );
    let done = firm.jobs(Some(JobStatus::Done)).await;
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].attempts, 1);
}

async fn a_mail_server_that_is_down_is_retried_then_given_up_and_sent_again(db: TestDb) {
    let test = "a_mail_server_that_is_down_is_retried_then_given_up_and_sent_again";
    let firm = firm(db).await;
    firm.assign("account-transition").await;
    // Nothing listens on this port.
    let down = Mailer::new(&testkit::smtp::unused_url(), "exeunt@acme.example").unwrap();
    let worker = Worker::new(firm.app.clone(), Some(down), BASE_URL.to_owned());
    let first = worker.run_next().await.unwrap().unwrap();
    assert!(first.outcome.is_err() && first.recorded);
    let queued = firm.jobs(Some(JobStatus::Queued)).await;
    assert_eq!(queued.len(), 1, "the failed job waits to be retried");
    assert_eq!(queued[0].attempts, 1);
    assert!(
        queued[0].last_error.as_deref().unwrap().contains("SMTP"),
        "{queued:?}"
    );
    assert!(queued[0].run_at > firm.app.now(), "it backs off");
    assert!(
        worker.run_next().await.unwrap().is_none(),
        "not before its time"
    );

    let mut attempts = 1;
    while firm.jobs(Some(JobStatus::Dead)).await.is_empty() {
        firm.clock.advance(SignedDuration::from_hours(2));
        assert!(worker.run_next().await.unwrap().unwrap().outcome.is_err());
        attempts += 1;
        assert!(
            attempts <= engine::job::DEFAULT_ATTEMPTS,
            "it gives up in time"
        );
    }
    assert_eq!(attempts, engine::job::DEFAULT_ATTEMPTS);
    let dead = firm.jobs(Some(JobStatus::Dead)).await;
    assert!(dead[0].last_error.is_some());

    // Once the mail server is back, a person sends it again and it arrives once.
    let Some(sink) = SmtpSink::start(test) else {
        return;
    };
    firm.app.retry_job(&firm.manager, dead[0].id).await.unwrap();
    let worker = Worker::new(firm.app.clone(), Some(mailer(&sink)), BASE_URL.to_owned());
    assert_eq!(worker.run_due().await.unwrap(), 1);
    assert_eq!(sink.messages().len(), 1);
    assert!(
        firm.app.retry_job(&firm.manager, dead[0].id).await.is_err(),
        "a job that is done is not sent again"
    );
}

/// A worker draining a queue records each job's end as it claims the next (one statement on
/// PostgreSQL): every failure is kept for a retry, every job that ran out of attempts is dead
/// and audited, and once the mail server is back each email goes out once.
async fn a_draining_worker_records_every_end_as_it_claims_the_next(db: TestDb) {
    let test = "a_draining_worker_records_every_end_as_it_claims_the_next";
    let firm = firm(db).await;
    let tasks = [
        "account-transition",
        "set-expectations",
        "confirm-final-invoice",
    ];
    for task in tasks {
        firm.assign(task).await;
    }
    let down = Mailer::new(&testkit::smtp::unused_url(), "exeunt@acme.example").unwrap();
    let worker = Worker::new(firm.app.clone(), Some(down), BASE_URL.to_owned());
    for round in 1..=engine::job::DEFAULT_ATTEMPTS {
        assert_eq!(worker.run_due().await.unwrap(), 3, "round {round}");
        assert_eq!(
            worker.run_due().await.unwrap(),
            0,
            "none is due again at once"
        );
        let settled = firm.jobs(None).await;
        assert!(
            settled
                .iter()
                .all(|j| j.attempts == round && j.last_error.is_some()),
            "{settled:?}"
        );
        firm.clock.advance(SignedDuration::from_hours(2));
    }
    let dead = firm.jobs(Some(JobStatus::Dead)).await;
    assert_eq!(dead.len(), 3, "{:?}", firm.jobs(None).await);
    let audited = firm
        .app
        .audit_log(
            &firm.manager,
            &store::AuditFilter {
                action: Some("job.dead".into()),
                limit: 10,
                ..store::AuditFilter::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(audited.len(), 3, "each death is audited once");

    let Some(sink) = SmtpSink::start(test) else {
        return;
    };
    for job in &dead {
        firm.app.retry_job(&firm.manager, job.id).await.unwrap();
    }
    let worker = Worker::new(firm.app.clone(), Some(mailer(&sink)), BASE_URL.to_owned());
    assert_eq!(worker.run_due().await.unwrap(), 3);
    assert_eq!(sink.messages().len(), 3);
    assert_eq!(firm.jobs(Some(JobStatus::Done)).await.len(), 3);
}

async fn a_worker_that_died_holding_a_job_is_taken_over_and_the_job_runs_once(db: TestDb) {
    let Some(sink) = SmtpSink::start("a_worker_that_died_holding_a_job_is_taken_over") else {
        return;
    };
    let firm = firm(db).await;
    firm.assign("account-transition").await;
    // A worker claims the job and dies before it says how it went.
    let lost = firm
        .app
        .claim_jobs("the-worker-that-died", JobLease::DEFAULT, 1)
        .await
        .unwrap()
        .pop()
        .unwrap();
    let worker = Worker::new(firm.app.clone(), Some(mailer(&sink)), BASE_URL.to_owned());
    assert!(
        worker.run_next().await.unwrap().is_none(),
        "its lease still holds"
    );
    firm.clock
        .advance(JobLease::DEFAULT.length() + SignedDuration::from_secs(1));
    let ran = worker.run_next().await.unwrap().unwrap();
    assert!(ran.outcome.is_ok() && ran.recorded);
    assert_eq!(ran.job.attempts, 2, "the second attempt took it over");
    // The dead worker's late word changes nothing.
    assert_eq!(
        firm.app
            .settle_jobs(&[(lost, Err("late".into()))])
            .await
            .unwrap(),
        [false]
    );
    let done = firm.jobs(Some(JobStatus::Done)).await;
    assert_eq!(done.len(), 1);
    assert_eq!(sink.messages().len(), 1);
}

/// A worker that sends a job's end again, as it does when the database refused a settle after
/// part of it had committed, hears that it is recorded, and nothing changes.
async fn an_end_sent_again_is_recorded_once(db: TestDb) {
    let firm = firm(db).await;
    firm.assign("account-transition").await;
    let job = firm
        .app
        .claim_jobs("a-worker", JobLease::DEFAULT, 1)
        .await
        .unwrap()
        .pop()
        .unwrap();
    let end = [(job, Ok(()))];
    assert_eq!(firm.app.settle_jobs(&end).await.unwrap(), [true]);
    assert_eq!(
        firm.app.settle_jobs(&end).await.unwrap(),
        [true],
        "recorded before, not taken over"
    );
    let done = firm.jobs(Some(JobStatus::Done)).await;
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].attempts, 1);
}

/// One round of a busy worker: the ends of the jobs it ran, recorded in the transaction that
/// claims its next ones. Their leases have run out meanwhile (a slow round), so they would be
/// the first to claim again; they are passed over, and the next queued jobs come instead.
async fn a_round_records_its_ends_and_claims_the_next_jobs_not_the_same(db: TestDb) {
    let firm = firm(db).await;
    for task in [
        "account-transition",
        "set-expectations",
        "confirm-final-invoice",
    ] {
        for _ in 0..3 {
            firm.assign(task).await;
        }
    }
    assert_eq!(firm.jobs(Some(JobStatus::Queued)).await.len(), 9);
    let first = firm
        .app
        .claim_jobs("busy", JobLease::DEFAULT, 4)
        .await
        .unwrap();
    assert_eq!(first.len(), 4);
    firm.clock
        .advance(JobLease::DEFAULT.length() + SignedDuration::from_secs(1));
    let ended: Vec<_> = first
        .iter()
        .map(|job| (job.clone(), Ok::<(), String>(())))
        .collect();
    let (recorded, next) = firm
        .app
        .settle_jobs_and_claim(&ended, "busy", JobLease::DEFAULT, 4)
        .await
        .unwrap();
    assert_eq!(recorded, [true; 4], "every end is recorded");
    assert_eq!(next.len(), 4, "and four more jobs are claimed");
    let ran: HashSet<_> = first.iter().map(|job| job.id).collect();
    assert!(
        next.iter()
            .all(|job| !ran.contains(&job.id) && job.attempts == 1),
        "none of the jobs just settled comes back: {next:?}"
    );
    assert_eq!(firm.jobs(Some(JobStatus::Done)).await.len(), 4);
    assert_eq!(firm.jobs(Some(JobStatus::Running)).await.len(), 4);
    assert_eq!(firm.jobs(Some(JobStatus::Queued)).await.len(), 1);
}

async fn concurrent_workers_never_run_a_job_twice(db: TestDb) {
    let firm = firm(db).await;
    for task in [
        "account-transition",
        "set-expectations",
        "confirm-final-invoice",
    ] {
        for _ in 0..5 {
            firm.assign(task).await;
        }
    }
    let queued = firm.jobs(Some(JobStatus::Queued)).await.len();
    assert_eq!(queued, 15);
    let claimers: Vec<_> = (0..4)
        .map(|i| {
            let app = firm.app.clone();
            tokio::spawn(async move {
                // Each takes a few at a time, as a worker with room for three does.
                let mut mine = Vec::new();
                loop {
                    let jobs = app
                        .claim_jobs(&format!("worker-{i}"), JobLease::DEFAULT, 3)
                        .await
                        .unwrap();
                    if jobs.is_empty() {
                        return mine;
                    }
                    assert!(jobs.len() <= 3);
                    mine.extend(jobs.into_iter().map(|job| job.id));
                }
            })
        })
        .collect();
    let mut all = Vec::new();
    for c in claimers {
        all.extend(c.await.unwrap());
    }
    let unique: HashSet<_> = all.iter().collect();
    assert_eq!(all.len(), 15, "every job was claimed");
    assert_eq!(unique.len(), 15, "and none twice");
}

async fn a_queued_job_wakes_an_idle_worker(db: TestDb) {
    let firm = firm(db).await;
    let mut wakeups = firm.app.store().job_wakeups().await.unwrap();
    // Whatever was queued while setting up has been signalled; start from quiet.
    let _ = tokio::time::timeout(
        std::time::Duration::from_millis(200),
        wakeups.wait(std::time::Duration::from_secs(3600)),
    )
    .await;
    let waiting = tokio::spawn(async move {
        wakeups.wait(std::time::Duration::from_secs(3600)).await;
    });
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    firm.assign("account-transition").await;
    // Without the wake-up the worker would sleep for an hour; a minute is a generous bound
    // for a signal that takes milliseconds.
    tokio::time::timeout(std::time::Duration::from_secs(60), waiting)
        .await
        .expect("the queued job woke the waiting worker")
        .unwrap();
}

async fn owners_are_reminded_before_a_task_is_due_and_daily_once_it_is_overdue(db: TestDb) {
    let Some(sink) = SmtpSink::start("owners_are_reminded_before_a_task_is_due") else {
        return;
    };
    let firm = firm(db).await;
    firm.assign("account-transition").await;
    let worker = Worker::new(firm.app.clone(), Some(mailer(&sink)), BASE_URL.to_owned());
    worker.run_due().await.unwrap();
    let assigned = sink.messages().len();
    let due = firm.due("account-transition").await;
    let to_ines = |messages: &[String], phrase: &str| {
        messages
            .iter()
            .filter(|m| {
                header(m, "To").unwrap().contains("ines@")
                    && m.contains("account-transition")
                    && m.contains(phrase)
            })
            .count()
    };
    let set = |at: jiff::Timestamp| firm.clock.advance(firm.app.now().duration_until(at));

    set(due - SignedDuration::from_hours(8 * 24));
    worker.run_due().await.unwrap();
    assert_eq!(
        to_ines(&sink.messages(), "is due on"),
        0,
        "nothing yet, 8 days ahead"
    );
    // Meanwhile the case's owner hears of the unassigned tasks that are overdue already.
    assert!(
        sink.messages().len() > assigned,
        "the owner is reminded of the team's tasks"
    );

    set(due - SignedDuration::from_hours(7 * 24 - 1));
    worker.run_due().await.unwrap();
    worker.run_due().await.unwrap();
    assert_eq!(
        to_ines(&sink.messages(), "is due on"),
        1,
        "the 7-day notice, once"
    );

    set(due - SignedDuration::from_hours(47));
    worker.run_due().await.unwrap();
    assert_eq!(
        to_ines(&sink.messages(), "is due on"),
        2,
        "and the 2-day notice"
    );

    set(due + SignedDuration::from_hours(1));
    worker.run_due().await.unwrap();
    worker.run_due().await.unwrap();
    assert_eq!(
        to_ines(&sink.messages(), "is overdue since"),
        1,
        "overdue: once a day"
    );
    set(due + SignedDuration::from_hours(25));
    worker.run_due().await.unwrap();
    assert_eq!(
        to_ines(&sink.messages(), "is overdue since"),
        2,
        "and again the next day"
    );

    // Done: no more reminders.
    firm.app
        .complete_task(
            &firm.manager,
            1,
            &Slug::parse("account-transition").unwrap(),
            None,
            Vec::new(),
        )
        .await
        .unwrap();
    set(due + SignedDuration::from_hours(49));
    worker.run_due().await.unwrap();
    assert_eq!(to_ines(&sink.messages(), "is overdue since"), 2);
    let (notes, _) = firm.app.notifications(&firm.manager, 1000).await.unwrap();
    assert!(
        notes
            .iter()
            .all(|n| !n.summary.contains("account-transition")),
        "a task's reminders go to its assignee only"
    );
}

async fn an_assignee_who_turned_email_off_hears_in_the_app_only(db: TestDb) {
    let Some(sink) = SmtpSink::start("an_assignee_who_turned_email_off_hears_in_the_app_only")
    else {
        return;
    };
    let firm = firm(db).await;
    let ines = firm.ines().await;
    let refused = firm
        .app
        .set_email_preferences(
            &ines,
            &[("task.assigned", false), ("task.everything", false)],
        )
        .await
        .unwrap_err();
    assert!(refused.to_string().contains("task.everything"), "{refused}");
    let untouched = firm.app.email_preferences(&ines).await.unwrap();
    assert!(
        untouched.iter().all(|p| p.email),
        "a refused change changes nothing"
    );

    firm.app
        .set_email_preferences(&ines, &[("task.assigned", false)])
        .await
        .unwrap();
    firm.assign("account-transition").await;
    let worker = Worker::new(firm.app.clone(), Some(mailer(&sink)), BASE_URL.to_owned());
    worker.run_due().await.unwrap();
    assert!(
        sink.messages().iter().all(|m| !m.contains("gave you task")),
        "no assignment email"
    );
    let (notes, unread) = firm.app.notifications(&ines, 10).await.unwrap();
    assert_eq!(unread, 1);
    assert!(notes[0].summary.contains("gave you task"), "{notes:?}");
}

async fn everyone_with_open_tasks_gets_one_digest_a_day(db: TestDb) {
    let Some(sink) = SmtpSink::start("everyone_with_open_tasks_gets_one_digest_a_day") else {
        return;
    };
    let firm = firm(db).await;
    firm.assign("account-transition").await;
    let due = firm.due("account-transition").await;
    // Three days before the task is due, in the morning.
    let day = (due - SignedDuration::from_hours(72))
        .strftime("%Y-%m-%d")
        .to_string();
    let morning: jiff::Timestamp = format!("{day}T08:00:00Z").parse().unwrap();
    firm.clock.advance(firm.app.now().duration_until(morning));
    let worker = Worker::new(firm.app.clone(), Some(mailer(&sink)), BASE_URL.to_owned());
    worker.run_due().await.unwrap();
    worker.run_due().await.unwrap();
    let digests = |to: &str| {
        sink.messages()
            .iter()
            .filter(|m| {
                header(m, "To").unwrap().contains(to) && m.contains("Your offboarding tasks on")
            })
            .cloned()
            .collect::<Vec<_>>()
    };
    let ines = digests("ines@");
    assert_eq!(
        ines.len(),
        1,
        "one digest, however often the sweep runs: {ines:?}"
    );
    assert!(
        ines[0].contains(&day) && ines[0].contains("more this week"),
        "{}",
        ines[0]
    );
    assert!(
        ines[0].contains("http://exeunt.test/"),
        "it links to her home page"
    );
    firm.clock.advance(SignedDuration::from_hours(24));
    worker.run_due().await.unwrap();
    assert_eq!(digests("ines@").len(), 2, "and one the next day");
}

/// Ines works from Tokyo: her digest comes at 07:00 there, which is 22:00 UTC the day before,
/// and her reminders name the due time in Tokyo.
async fn the_digest_comes_at_seven_where_its_reader_is(db: TestDb) {
    let Some(sink) = SmtpSink::start("the_digest_comes_at_seven_where_its_reader_is") else {
        return;
    };
    let firm = firm(db).await;
    let ines = firm.ines().await;
    let tokyo = ZoneName::parse("Asia/Tokyo").unwrap();
    firm.app.set_time_zone(&ines, tokyo.clone()).await.unwrap();
    firm.assign("account-transition").await;
    let due = firm.due("account-transition").await;
    let worker = Worker::new(firm.app.clone(), Some(mailer(&sink)), BASE_URL.to_owned());
    let to_ines = |phrase: &str| {
        sink.messages()
            .into_iter()
            .filter(|m| header(m, "To").unwrap().contains("ines@") && m.contains(phrase))
            .collect::<Vec<_>>()
    };
    let set = |at: jiff::Timestamp| firm.clock.advance(firm.app.now().duration_until(at));
    // Three days before the task is due, in Tokyo.
    let day = (due - SignedDuration::from_hours(72))
        .to_zoned_datetime(tokyo.zone())
        .date();
    let in_tokyo = |hour: i8, minute: i8| {
        day.at(hour, minute, 0, 0)
            .to_zoned_datetime(tokyo.zone())
            .unwrap()
            .timestamp()
    };

    set(in_tokyo(6, 59));
    worker.run_due().await.unwrap();
    assert!(
        to_ines("Your offboarding tasks on").is_empty(),
        "06:59 in Tokyo, {} UTC: no digest yet",
        in_tokyo(6, 59)
    );
    set(in_tokyo(7, 0));
    worker.run_due().await.unwrap();
    let digests = to_ines("Your offboarding tasks on");
    assert_eq!(digests.len(), 1, "{digests:?}");
    assert!(
        digests[0].contains(&format!("Your offboarding tasks on {day}")),
        "the day is hers: {}",
        digests[0]
    );
    set(in_tokyo(16, 0));
    worker.run_due().await.unwrap();
    assert_eq!(
        to_ines("Your offboarding tasks on").len(),
        1,
        "one a day, however late in her day the sweep runs"
    );

    set(due - SignedDuration::from_hours(47));
    worker.run_due().await.unwrap();
    let there = due
        .to_zoned_datetime(tokyo.zone())
        .strftime("%Y-%m-%d %H:%M JST")
        .to_string();
    let reminders = to_ines("is due on");
    assert!(
        reminders.iter().any(|m| m.contains(&there)),
        "the reminder says {there}: {reminders:?}"
    );
}

/// A job of a kind this version does not know (one a newer version sharing the database
/// queued) fails its own attempt, saying so; the jobs beside it run, in every tenant.
async fn a_job_of_an_unknown_kind_fails_alone(db: TestDb) {
    let Some(sink) = SmtpSink::start("a_job_of_an_unknown_kind_fails_alone") else {
        return;
    };
    let firm = firm(db).await;
    let now = firm.app.now();
    let mut tx = firm.app.store().write().await.unwrap();
    tx.insert_job(&store::Job {
        tenant_id: firm.manager.tenant.id,
        id: engine::ids::JobId(uuid::Uuid::now_v7()),
        kind: JobKind::Unknown("subject.archive".to_owned()),
        payload: "{}".to_owned(),
        idempotency_key: "from-a-newer-version".to_owned(),
        case_id: None,
        status: JobStatus::Queued,
        attempts: 0,
        max_attempts: 8,
        run_at: now,
        lease_until: None,
        worker: None,
        last_error: None,
        created_at: now,
        finished_at: None,
    })
    .await
    .unwrap();
    tx.commit().await.unwrap();
    firm.assign("account-transition").await;

    let worker = Worker::new(firm.app.clone(), Some(mailer(&sink)), BASE_URL.to_owned());
    assert_eq!(worker.run_due().await.unwrap(), 2, "both were tried");
    assert_eq!(sink.messages().len(), 1, "the email went out");
    let jobs = firm.jobs(None).await;
    let unknown = jobs
        .iter()
        .find(|j| j.kind == JobKind::Unknown("subject.archive".to_owned()))
        .expect("the job is listed with its stored kind");
    assert_eq!(unknown.status, JobStatus::Queued, "to be tried again later");
    assert_eq!(
        unknown.last_error.as_deref(),
        Some("no worker here does jobs of kind `subject.archive`")
    );
    assert!(
        jobs.iter()
            .any(|j| j.kind == JobKind::EmailNotification && j.status == JobStatus::Done)
    );
}

testkit::on_both_stores!(
    workers = 4;
    an_assignee_gets_the_email_once,
    a_mail_server_that_is_down_is_retried_then_given_up_and_sent_again,
    a_draining_worker_records_every_end_as_it_claims_the_next,
    a_worker_that_died_holding_a_job_is_taken_over_and_the_job_runs_once,
    an_end_sent_again_is_recorded_once,
    a_round_records_its_ends_and_claims_the_next_jobs_not_the_same,
    concurrent_workers_never_run_a_job_twice,
    a_queued_job_wakes_an_idle_worker,
    a_job_of_an_unknown_kind_fails_alone,
    owners_are_reminded_before_a_task_is_due_and_daily_once_it_is_overdue,
    everyone_with_open_tasks_gets_one_digest_a_day,
    the_digest_comes_at_seven_where_its_reader_is,
    an_assignee_who_turned_email_off_hears_in_the_app_only,
);
