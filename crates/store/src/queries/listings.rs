//! How the database runs each listing: the plan of every listing's statement for each
//! combination of its filters, and whether a step of it reads or sorts the tenant's every row
//! (so that a page would cost more as the tenant grows). `tests/plans.rs` loads a large tenant
//! and checks them on both stores.

use engine::case::CaseStatus;
use engine::ids::{CaseId, SubjectId, TenantId, UserId};
use engine::job::JobStatus;
use engine::subject::SubjectKind;

use super::audit::audit_listing;
use super::cases::{
    CASE_ACTIVITY, CASE_COUNTS, OVERDUE_BY_OWNER, case_listing, running_past_exit_date,
    running_with_access_due, task_listing, team_owners,
};
use super::jobs::job_listing;
use super::subjects::subject_listing;
use super::{Tx, contains_pattern};
use crate::Result;
use crate::model::{AuditFilter, CaseFilter, Concern, JobFilter, Mine, SubjectFilter, TaskFilter};
use crate::sql::args;

/// The plan of one listing's statement, for one combination of its filters.
#[derive(Clone, Debug)]
pub struct ListingPlan {
    /// The listing and the filters given, such as `cases by status`.
    pub listing: String,
    /// Whether a filter bounds the rows by more than the tenant (one case's tasks, one
    /// subject's cases): sorting what such a filter selects is no cost that grows with the
    /// tenant.
    pub narrowed: bool,
    /// The plan's steps, as the database words them.
    pub steps: Vec<String>,
}

impl ListingPlan {
    /// The step that reads every row of a table, or sorts rows that no filter narrowed
    /// beyond the tenant, if there is one. (SQLite's scan of a subquery's rows, which it
    /// names as a co-routine first, reads no table.)
    pub fn whole_tenant_step(&self) -> Option<&str> {
        let subqueries: Vec<&str> = self
            .steps
            .iter()
            .filter_map(|step| step.trim_start().strip_prefix("CO-ROUTINE "))
            .collect();
        self.steps.iter().map(String::as_str).find(|step| {
            let node = step.trim_start().trim_start_matches("->").trim_start();
            let scans = node.contains("Seq Scan")
                || node.strip_prefix("SCAN ").is_some_and(|scanned| {
                    scanned != "CONSTANT ROW" && !subqueries.contains(&scanned)
                });
            let sorts = node.starts_with("Sort ")
                || node.starts_with("Incremental Sort")
                || node.starts_with("USE TEMP B-TREE");
            scans || (sorts && !self.narrowed)
        })
    }
}

/// A listing's filters with a name for the plan, and whether they narrow it.
struct Combination<F> {
    name: &'static str,
    narrowed: bool,
    filter: F,
}

fn combination<F>(name: &'static str, narrowed: bool, filter: F) -> Combination<F> {
    Combination {
        name,
        narrowed,
        filter,
    }
}

impl Tx {
    /// The plan of every listing's statement for each combination of its filters, as the
    /// database would run them on `tenant`'s rows now.
    pub async fn listing_plans(&mut self, tenant: TenantId) -> Result<Vec<ListingPlan>> {
        // The values do not matter: a plan is chosen for the statement, not for them.
        let some_subject = SubjectId(uuid::Uuid::from_u128(1));
        let some_case = CaseId(uuid::Uuid::from_u128(2));
        let (limit, offset) = (50, 0);
        let mut plans = Vec::new();

        let cases = CaseFilter {
            limit,
            offset,
            ..CaseFilter::default()
        };
        for c in [
            combination("all", false, cases.clone()),
            combination(
                "by status",
                false,
                CaseFilter {
                    status: Some(CaseStatus::Open),
                    ..cases.clone()
                },
            ),
            combination(
                "after a page",
                false,
                CaseFilter {
                    before: Some(1_000),
                    ..cases.clone()
                },
            ),
            combination(
                "of a subject",
                true,
                CaseFilter {
                    subject: Some(some_subject),
                    ..cases.clone()
                },
            ),
            combination(
                "of a parent",
                true,
                CaseFilter {
                    parent: Some(some_case),
                    ..cases.clone()
                },
            ),
        ] {
            let (sql, w) = case_listing(tenant, &c.filter);
            plans.push(self.plan("cases", &c, &sql, w.args()).await?);
        }

        let subjects = SubjectFilter {
            limit,
            offset,
            ..SubjectFilter::default()
        };
        for c in [
            combination("all", false, subjects.clone()),
            combination(
                "of a kind",
                false,
                SubjectFilter {
                    kind: Some(SubjectKind::Client),
                    ..subjects.clone()
                },
            ),
            combination(
                "with the offboarded",
                false,
                SubjectFilter {
                    include_offboarded: true,
                    ..subjects.clone()
                },
            ),
            combination(
                "after a page",
                false,
                SubjectFilter {
                    after: Some(engine::ids::SubjectKey::parse("subject-1000").expect("a key")),
                    ..subjects.clone()
                },
            ),
            combination(
                "of a parent",
                true,
                SubjectFilter {
                    parent: Some(some_subject),
                    ..subjects.clone()
                },
            ),
            combination(
                "searched",
                false,
                SubjectFilter {
                    search: Some("acme".into()),
                    ..subjects.clone()
                },
            ),
        ] {
            let search = c.filter.search.as_deref().map(contains_pattern);
            let (sql, w) = subject_listing(tenant, &c.filter, search.as_deref());
            plans.push(self.plan("subjects", &c, &sql, w.args()).await?);
        }

        let jobs = JobFilter {
            limit,
            ..JobFilter::default()
        };
        for c in [
            combination("all", false, jobs.clone()),
            combination(
                "by status",
                false,
                JobFilter {
                    status: Some(JobStatus::Dead),
                    ..jobs.clone()
                },
            ),
            combination(
                "after a page",
                false,
                JobFilter {
                    before: Some(engine::ids::JobId(uuid::Uuid::from_u128(4))),
                    ..jobs.clone()
                },
            ),
            combination(
                "of a case",
                true,
                JobFilter {
                    case: Some(some_case),
                    ..jobs.clone()
                },
            ),
        ] {
            let (sql, w) = job_listing(tenant, &c.filter);
            plans.push(self.plan("jobs", &c, &sql, w.args()).await?);
        }

        let events = AuditFilter {
            limit,
            ..AuditFilter::default()
        };
        for c in [
            combination("all", false, events.clone()),
            combination(
                "after an event",
                false,
                AuditFilter {
                    after_seq: 1_000,
                    ..events.clone()
                },
            ),
            combination(
                "newest first",
                false,
                AuditFilter {
                    before_seq: Some(1_000),
                    ..events.clone()
                },
            ),
            combination(
                "about a case, newest first",
                true,
                AuditFilter {
                    before_seq: Some(i64::MAX),
                    concerning: Some(Concern::Case(7)),
                    ..events.clone()
                },
            ),
            combination(
                "by action",
                false,
                AuditFilter {
                    action: Some("task.completed".into()),
                    ..events.clone()
                },
            ),
            combination(
                "by target",
                true,
                AuditFilter {
                    target_kind: Some("case".into()),
                    target_id: Some("7".into()),
                    ..events.clone()
                },
            ),
            combination(
                "about a subject",
                true,
                AuditFilter {
                    concerning: Some(Concern::Subject(some_subject)),
                    ..events.clone()
                },
            ),
            combination(
                "about a case",
                true,
                AuditFilter {
                    concerning: Some(Concern::Case(7)),
                    ..events.clone()
                },
            ),
        ] {
            let (sql, w) = audit_listing(tenant, &c.filter);
            plans.push(self.plan("audit events", &c, &sql, w.args()).await?);
        }

        // The dashboard's chart: the rollup's quarter hours of the weeks it shows.
        let window = jiff::Timestamp::now() - jiff::SignedDuration::from_hours(24 * 90);
        plans.push(ListingPlan {
            listing: "case activity of the last 90 days".into(),
            narrowed: true,
            steps: self
                .conn
                .explain(
                    CASE_ACTIVITY,
                    args![tenant.0, window.as_microsecond()],
                    true,
                )
                .await?,
        });
        plans.push(ListingPlan {
            listing: "case counts".into(),
            narrowed: false,
            steps: self
                .conn
                .explain(CASE_COUNTS, args![tenant.0], true)
                .await?,
        });

        // The dashboard's overdue tasks by team: grouping what the due-time range found.
        plans.push(ListingPlan {
            listing: "overdue tasks by owner".into(),
            narrowed: true,
            steps: self
                .conn
                .explain(OVERDUE_BY_OWNER, args![tenant.0, 10_000_i64], false)
                .await?,
        });
        // The worker's minute: running cases past their exit, planned per call for the day
        // or instant it ranges up to (one before which few cases' exits fall, as in a tenant
        // that closes its cases).
        plans.push(ListingPlan {
            listing: "running cases past their exit date".into(),
            narrowed: false,
            steps: self
                .conn
                .explain(
                    &running_past_exit_date(),
                    args![tenant.0, "2000-01-01"],
                    false,
                )
                .await?,
        });
        plans.push(ListingPlan {
            listing: "running cases with access due".into(),
            narrowed: false,
            steps: self
                .conn
                .explain(
                    &running_with_access_due(),
                    args![tenant.0, 10_000_i64],
                    false,
                )
                .await?,
        });

        let tasks = TaskFilter {
            limit,
            ..TaskFilter::default()
        };
        for c in [
            combination(
                "of a case",
                true,
                TaskFilter {
                    case: Some(some_case),
                    ..tasks.clone()
                },
            ),
            combination(
                "still open",
                false,
                TaskFilter {
                    open_only: true,
                    ..tasks.clone()
                },
            ),
            combination(
                "overdue",
                false,
                TaskFilter {
                    open_only: true,
                    // A time before which few tasks are due, as few are overdue in a tenant
                    // that does its work.
                    due_before: Some(
                        jiff::Timestamp::from_microsecond(10_000).expect("an instant"),
                    ),
                    ..tasks.clone()
                },
            ),
            // Each way a task can be a person's reads only theirs, a page at most; the pages
            // are sorted together.
            combination(
                "of a person",
                true,
                TaskFilter {
                    open_only: true,
                    mine: Some(Mine {
                        user: UserId(uuid::Uuid::from_u128(3)),
                        email: "kim@example.com".into(),
                        teams: vec![engine::ids::Slug::parse("it").expect("a slug")],
                    }),
                    ..tasks.clone()
                },
            ),
        ] {
            let owners = team_owners(&c.filter);
            let (sql, w) = task_listing(tenant, &c.filter, &owners);
            // A time range is planned for its values: PostgreSQL's generic plan assumes a
            // third of the rows match any range, but keeps planning such a statement per call,
            // since its plan for the values costs a fraction of that.
            let generic = c.filter.due_before.is_none();
            plans.push(ListingPlan {
                listing: format!("tasks {}", c.name),
                narrowed: c.narrowed,
                steps: self.conn.explain(&sql, w.args(), generic).await?,
            });
        }
        Ok(plans)
    }

    async fn plan<F>(
        &mut self,
        listing: &str,
        c: &Combination<F>,
        sql: &str,
        args: &[crate::sql::Arg<'_>],
    ) -> Result<ListingPlan> {
        Ok(ListingPlan {
            listing: format!("{listing} {}", c.name),
            narrowed: c.narrowed,
            steps: self.conn.explain(sql, args, true).await?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::ListingPlan;

    fn plan(narrowed: bool, steps: &[&str]) -> ListingPlan {
        ListingPlan {
            listing: "a listing".into(),
            narrowed,
            steps: steps.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    #[test]
    fn a_full_scan_or_an_unnarrowed_sort_is_found_on_either_store() {
        let index = plan(
            false,
            &["SEARCH c USING INDEX cases_by_status (tenant_id=? AND status=?)"],
        );
        assert_eq!(index.whole_tenant_step(), None);
        let scan = plan(true, &["SCAN c", "SEARCH s USING PRIMARY KEY"]);
        assert_eq!(scan.whole_tenant_step(), Some("SCAN c"));
        let sort = plan(
            false,
            &[
                "SEARCH t USING INDEX x (tenant_id=?)",
                "USE TEMP B-TREE FOR ORDER BY",
            ],
        );
        assert!(sort.whole_tenant_step().is_some());
        let subquery = plan(
            false,
            &[
                "CO-ROUTINE way0",
                "SEARCH t USING INDEX x (tenant_id=? AND assignee=?)",
                "SCAN way0",
            ],
        );
        assert_eq!(subquery.whole_tenant_step(), None);
        let narrowed_sort = plan(
            true,
            &[
                "SEARCH t USING PRIMARY KEY (tenant_id=? AND case_id=?)",
                "USE TEMP B-TREE FOR ORDER BY",
            ],
        );
        assert_eq!(narrowed_sort.whole_tenant_step(), None);
        let pg = plan(
            false,
            &[
                "Limit  (cost=1.00..2.00 rows=50 width=8)",
                "  ->  Sort  (cost=1.00..2.00 rows=1000 width=8)",
                "        Sort Key: number DESC",
                "        ->  Seq Scan on cases c  (cost=0.00..1.00 rows=1000 width=8)",
            ],
        );
        assert_eq!(
            pg.whole_tenant_step(),
            Some("  ->  Sort  (cost=1.00..2.00 rows=1000 width=8)")
        );
        let parallel = plan(
            true,
            &["  ->  Parallel Seq Scan on tasks t  (cost=0.00..1.00)"],
        );
        assert!(parallel.whole_tenant_step().is_some());
    }
}
