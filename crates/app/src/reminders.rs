//! Reminders: a task's assignee (or, for a task nobody was given, its case's owner) is told
//! 7 days and 2 days before it is due, and every morning once it is overdue; and from 07:00
//! each day, everyone with open tasks gets a digest of them. Days, hours and the times a reminder
//! names are the recipient's, in their time zone. A sweep runs every minute in each
//! worker; each reminder is recorded by its key in the transaction that sends it, so sweeps
//! that run again, or on several servers at once, send it once.

use std::collections::HashMap;

use engine::ids::{TenantId, UserId, ZoneName};
use jiff::{SignedDuration, Timestamp};
use store::TaskFilter;

use crate::notifications::Notice;
use crate::{App, Result};

/// How long before the due time each advance notice goes out, and its name in the key.
const NOTICES: [(SignedDuration, &str); 2] = [
    (SignedDuration::from_hours(7 * 24), "7d"),
    (SignedDuration::from_hours(2 * 24), "2d"),
];

/// The hour, in each person's time zone, from which their day's digest and overdue reminders
/// go out.
const DIGEST_HOUR: i8 = 7;

/// The most tasks one sweep looks at per tenant.
const SWEEP_LIMIT: i64 = 10_000;

impl App {
    /// Sends the reminders that are due now, in every tenant; returns how many went out.
    pub async fn send_reminders(&self) -> Result<usize> {
        let now = self.now();
        let tenants = self.store.read().await?.tenants().await?;
        let mut sent = 0;
        for tenant in tenants {
            sent += self.remind_tenant(tenant.id, now).await?;
            sent += self.send_digests(tenant.id, now).await?;
        }
        Ok(sent)
    }

    /// Each person's digest of their open tasks (overdue, due by the end of their day, due
    /// within the week), once a day from [`DIGEST_HOUR`] where they are; nobody with nothing
    /// open gets one. It holds counts, not names: the page it links to has the rest.
    async fn send_digests(&self, tenant: TenantId, now: Timestamp) -> Result<usize> {
        let week = now + SignedDuration::from_hours(7 * 24);
        let mut read = self.store.read().await?;
        let users = read.users(tenant).await?;
        let mut sent = 0;
        for user in users {
            let zone = user.time_zone.zone();
            let local = now.to_zoned_datetime(zone.clone());
            if local.hour() < DIGEST_HOUR {
                continue;
            }
            let day = local.date();
            let end_of_day = engine::due::end_of_day(now, &zone);
            let key = format!("digest:{}:{day}", user.id);
            if read.reminder_sent(tenant, &key).await? {
                continue;
            }
            let tasks = crate::cases::tasks_of(&mut read, &user, SWEEP_LIMIT).await?;
            let overdue = tasks.iter().filter(|t| t.task.is_overdue(now)).count();
            let due: Vec<Timestamp> = tasks
                .iter()
                .filter(|t| !t.task.is_overdue(now))
                .filter_map(|t| t.task.due_at)
                .collect();
            let today = due.iter().filter(|d| **d <= end_of_day).count();
            let this_week = due
                .iter()
                .filter(|d| **d > end_of_day && **d <= week)
                .count();
            if overdue + today + this_week == 0 {
                continue;
            }
            let mut tx = self.store.write().await?;
            if !tx.insert_reminder(tenant, &key, now).await? {
                continue;
            }
            let notice = Notice {
                kind: "digest",
                summary: format!(
                    "Your offboarding tasks on {day}: {overdue} overdue, {today} due today, {this_week} more this week"
                ),
                link: "/".to_owned(),
            };
            self.tell(&mut tx, tenant, user.id, now, notice).await?;
            tx.commit().await?;
            sent += 1;
        }
        Ok(sent)
    }

    async fn remind_tenant(&self, tenant: TenantId, now: Timestamp) -> Result<usize> {
        let (longest, _) = NOTICES[0];
        let mut read = self.store.read().await?;
        let tasks = read
            .tasks(
                tenant,
                &TaskFilter {
                    open_only: true,
                    due_before: Some(now + longest),
                    limit: SWEEP_LIMIT,
                    ..TaskFilter::default()
                },
            )
            .await?;
        let zones: HashMap<UserId, ZoneName> = read
            .users(tenant)
            .await?
            .into_iter()
            .map(|u| (u.id, u.time_zone))
            .collect();
        let mut owners = HashMap::new();
        let mut sent = 0;
        for row in tasks {
            let Some(due) = row.task.due_at else { continue };
            let user = match row.task.assignee {
                Some(user) => user,
                None => {
                    let number = row.case_number;
                    match owners.get(&number) {
                        Some(owner) => *owner,
                        None => {
                            let Some(file) = read.case_file(tenant, number).await? else {
                                continue;
                            };
                            owners.insert(number, file.case.owner_id);
                            file.case.owner_id
                        }
                    }
                }
            };
            let zone = zones
                .get(&user)
                .map_or(jiff::tz::TimeZone::UTC, ZoneName::zone);
            let their = |t: Timestamp| t.to_zoned_datetime(zone.clone());
            let due_there = their(due).strftime("%Y-%m-%d %H:%M %Z").to_string();
            let (key, notice) = if now >= due {
                // Once a day, in their morning or after: not at their midnight.
                let local = their(now);
                if local.hour() < DIGEST_HOUR {
                    continue;
                }
                (
                    format!("overdue:{}", local.date()),
                    Notice {
                        kind: "task.overdue",
                        summary: format!(
                            "Task {} of case {} ({}) is overdue since {due_there}",
                            row.task.id, row.case_number, row.task.title,
                        ),
                        link: format!("/cases/{}/tasks/{}", row.case_number, row.task.id),
                    },
                )
            } else {
                // The nearest notice whose moment has come: a task first seen 3 days before
                // its due time gets the 7-day notice, not both.
                let Some((_, name)) = NOTICES
                    .iter()
                    .rev()
                    .find(|(before, _)| now >= due - *before)
                else {
                    continue;
                };
                (
                    (*name).to_owned(),
                    Notice {
                        kind: "task.due_soon",
                        summary: format!(
                            "Task {} of case {} ({}) is due on {due_there}",
                            row.task.id, row.case_number, row.task.title,
                        ),
                        link: format!("/cases/{}/tasks/{}", row.case_number, row.task.id),
                    },
                )
            };
            let key = format!("remind:{}:{}:{user}:{key}", row.task.case_id, row.task.id);
            // Most sweeps find an overdue task's reminder for today sent: a read says so
            // without taking the write lock.
            if read.reminder_sent(tenant, &key).await? {
                continue;
            }
            let mut tx = self.store.write().await?;
            if !tx.insert_reminder(tenant, &key, now).await? {
                continue;
            }
            self.tell(&mut tx, tenant, user, now, notice).await?;
            tx.commit().await?;
            sent += 1;
        }
        Ok(sent)
    }
}
