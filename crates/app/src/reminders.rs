//! Reminders: a task's assignee (or, for a task nobody was given, its case's owner) is told
//! 7 days and 2 days before it is due, and every day once it is overdue. A sweep runs every
//! minute in each worker; each reminder is recorded by its key in the transaction that sends
//! it, so sweeps that run again, or on several servers at once, send it once.

use std::collections::HashMap;

use engine::ids::TenantId;
use jiff::{SignedDuration, Timestamp};
use store::{Store, TaskFilter, Tx};

use crate::notifications::Notice;
use crate::{App, Result};

/// How long before the due time each advance notice goes out, and its name in the key.
const NOTICES: [(SignedDuration, &str); 2] = [
    (SignedDuration::from_hours(7 * 24), "7d"),
    (SignedDuration::from_hours(2 * 24), "2d"),
];

/// The most tasks one sweep looks at per tenant.
const SWEEP_LIMIT: i64 = 10_000;

impl<S: Store> App<S> {
    /// Sends the reminders that are due now, in every tenant; returns how many went out.
    pub async fn send_reminders(&self) -> Result<usize> {
        let now = self.now();
        let tenants = self.store.read().await?.tenants().await?;
        let mut sent = 0;
        for tenant in tenants {
            sent += self.remind_tenant(tenant.id, now).await?;
        }
        Ok(sent)
    }

    async fn remind_tenant(&self, tenant: TenantId, now: Timestamp) -> Result<usize> {
        let (longest, _) = NOTICES[0];
        let tasks = self
            .store
            .read()
            .await?
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
        let mut owners = HashMap::new();
        let mut sent = 0;
        for row in tasks {
            let Some(due) = row.task.due_at else { continue };
            let (key, notice) = if now >= due {
                let day = now.strftime("%Y-%m-%d").to_string();
                (
                    format!("overdue:{day}"),
                    Notice {
                        kind: "task.overdue",
                        summary: format!(
                            "Task {} of case {} ({}) is overdue since {}",
                            row.task.id,
                            row.case_number,
                            row.task.title,
                            due.strftime("%Y-%m-%d %H:%M UTC")
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
                            "Task {} of case {} ({}) is due on {}",
                            row.task.id,
                            row.case_number,
                            row.task.title,
                            due.strftime("%Y-%m-%d %H:%M UTC")
                        ),
                        link: format!("/cases/{}/tasks/{}", row.case_number, row.task.id),
                    },
                )
            };
            let user = match row.task.assignee {
                Some(user) => user,
                None => {
                    let number = row.case_number;
                    match owners.get(&number) {
                        Some(owner) => *owner,
                        None => {
                            let mut tx = self.store.read().await?;
                            let Some(file) = tx.case_file(tenant, number).await? else {
                                continue;
                            };
                            owners.insert(number, file.case.owner_id);
                            file.case.owner_id
                        }
                    }
                }
            };
            let key = format!("remind:{}:{}:{user}:{key}", row.task.case_id, row.task.id);
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
