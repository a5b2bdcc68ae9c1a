//! Blueprints, cases, their tasks and findings, and the revocation items of a case.

use engine::blueprint::{Owner, Severity, TaskKind};
use engine::case::{
    Case, CaseFile, CaseFinding, CaseStatus, FindingStatus, Resolution, Task, TaskStatus,
};
use engine::ids::{CaseId, Slug, SubjectId, SubjectKey, TenantId, UserId};
use engine::plan::Finding;
use engine::revocation::{Revocation, RevocationStatus};
use jiff::Timestamp;
use jiff::civil::Date;

use crate::model::{
    CaseActivity, CaseFilter, CaseSummary, ExitInEffect, StoredBlueprint, TaskFilter, TaskRow,
};
use crate::plans::{self, TaskProgress};
use crate::sql::{Row, args};

/// Task rows per `INSERT`: a case's tasks in one statement, 21 values a row, far below either
/// backend's limit on placeholders.
const TASKS_PER_INSERT: usize = 64;
/// The values of one task row.
const TASK_INSERT_COLUMNS: usize = 21;
use crate::{Result, StoreError};

use super::subjects::record_row;
use super::*;

/// A revocation item from an account or integration record and its stored progress, if any.
fn revocation_row(r: &impl Row) -> Result<Revocation> {
    let record = record_row(r)?;
    let mut item = Revocation::pending(&record).map_err(corrupt("revocation item"))?;
    let Some(status) = r.opt_text("status")? else {
        return Ok(item);
    };
    item.status = RevocationStatus::parse(status)
        .ok_or_else(|| StoreError::Corrupt(format!("revocation status `{status}`")))?;
    item.note = r.opt_text("note")?.map(str::to_owned);
    item.revoked_at = r.opt_int("revoked_at_us")?.map(from_us).transpose()?;
    item.verified_at = r.opt_int("verified_at_us")?.map(from_us).transpose()?;
    item.changed_by = r.opt_uuid("changed_by")?.map(UserId);
    item.changed_at = r.opt_int("changed_at_us")?.map(from_us).transpose()?;
    item.evidence = r
        .opt_text("evidence")?
        .map(|e| json(e, "revocation evidence"))
        .transpose()?;
    Ok(item)
}

fn blueprint_row(r: &impl Row) -> Result<StoredBlueprint> {
    Ok(StoredBlueprint {
        id: slug(r.text("id")?)?,
        version: u32::try_from(r.int("version")?).map_err(corrupt("version"))?,
        source: r.text("source")?.to_owned(),
        digest: hash(r.bytes("digest")?)?,
    })
}

const CASE_COLUMNS: &str = "c.tenant_id, c.id, c.number, c.subject_id, c.blueprint_id, \
    c.blueprint_version, c.parent_id, c.owner_id, c.exit_date, c.status, c.resolution, \
    c.confirmation_word, c.stages, c.opened_at_us, c.closed_at_us, c.closed_by, c.close_reason, \
    c.frozen_at_us";

/// What a line of the case listing shows of a case: none of its plan (`stages`), which would
/// be parsed for every line.
const SUMMARY_COLUMNS: &str = "c.number, c.id, c.blueprint_id, c.blueprint_version, c.owner_id, \
    c.exit_date, c.status, c.resolution, c.opened_at_us";

fn case_row(r: &impl Row) -> Result<Case> {
    Ok(Case {
        tenant_id: TenantId(r.uuid("tenant_id")?),
        id: CaseId(r.uuid("id")?),
        number: r.int("number")?,
        subject_id: SubjectId(r.uuid("subject_id")?),
        blueprint_id: slug(r.text("blueprint_id")?)?,
        blueprint_version: u32::try_from(r.int("blueprint_version")?)
            .map_err(corrupt("version"))?,
        parent_id: r.opt_uuid("parent_id")?.map(CaseId),
        owner_id: UserId(r.uuid("owner_id")?),
        exit_date: exit_date(r)?,
        status: case_status(r)?,
        resolution: resolution(r)?,
        confirmation_word: r.text("confirmation_word")?.to_owned(),
        stages: json(r.text("stages")?, "stages")?,
        opened_at: from_us(r.int("opened_at_us")?)?,
        closed_at: opt_from_us(r.opt_int("closed_at_us")?)?,
        closed_by: r.opt_uuid("closed_by")?.map(UserId),
        close_reason: r.opt_text("close_reason")?.map(str::to_owned),
        frozen_at: opt_from_us(r.opt_int("frozen_at_us")?)?,
    })
}

fn exit_date(r: &impl Row) -> Result<Date> {
    r.text("exit_date")?
        .parse::<Date>()
        .map_err(corrupt("exit date"))
}

fn case_status(r: &impl Row) -> Result<CaseStatus> {
    CaseStatus::parse(r.text("status")?).ok_or_else(|| StoreError::Corrupt("case status".into()))
}

fn resolution(r: &impl Row) -> Result<Option<Resolution>> {
    r.opt_text("resolution")?
        .map(|s| Resolution::parse(s).ok_or_else(|| StoreError::Corrupt("resolution".into())))
        .transpose()
}

/// The earliest due time of a case's access-removal tasks, beside its columns.
const ACCESS_DUE: &str = "(SELECT MIN(a.due_at_us) FROM tasks a WHERE a.tenant_id = c.tenant_id \
     AND a.case_id = c.id AND a.action = 'revoke-access') AS access_due_us";

/// Running cases past their exit date (`$2`, `YYYY-MM-DD`), from `cases_running_by_exit`.
pub(super) fn running_past_exit_date() -> String {
    format!(
        "SELECT {CASE_COLUMNS}, {ACCESS_DUE} FROM cases c WHERE c.tenant_id = $1 \
         AND c.status IN ('open', 'in_progress', 'review') AND c.exit_date <= $2"
    )
}

/// Running cases whose open access-removal task was due by `$2`, from
/// `tasks_open_access_by_due`.
pub(super) fn running_with_access_due() -> String {
    format!(
        "SELECT {CASE_COLUMNS}, {ACCESS_DUE} FROM tasks t CROSS JOIN cases c \
         WHERE t.tenant_id = $1 AND t.action = 'revoke-access' AND t.status = 'open' \
         AND t.due_at_us <= $2 AND c.tenant_id = t.tenant_id AND c.id = t.case_id \
         AND c.status IN ('open', 'in_progress', 'review')"
    )
}

fn exit_in_effect_row(r: &impl Row) -> Result<ExitInEffect> {
    Ok(ExitInEffect {
        case: case_row(r)?,
        access_due: opt_from_us(r.opt_int("access_due_us")?)?,
    })
}

const TASK_COLUMNS: &str = "t.case_id, t.id, t.stage, t.position, t.title, t.description, \
    t.kind, t.action, t.checklist, t.owner, t.owner_label, t.assignee, t.depends_on, t.due_at_us, \
    t.evidence_required, t.status, t.closed_at_us, t.closed_by, t.note, t.waive_reason";

fn task_row(r: &impl Row) -> Result<Task> {
    Ok(Task {
        case_id: CaseId(r.uuid("case_id")?),
        id: slug(r.text("id")?)?,
        stage: slug(r.text("stage")?)?,
        position: r.int("position")?,
        title: r.text("title")?.to_owned(),
        description: r.text("description")?.to_owned(),
        kind: TaskKind::parse(r.text("kind")?)
            .ok_or_else(|| StoreError::Corrupt("task kind".into()))?,
        action: r.opt_text("action")?.map(str::to_owned),
        checklist: json(r.text("checklist")?, "checklist")?,
        owner: Owner::decode(r.text("owner")?)
            .ok_or_else(|| StoreError::Corrupt("task owner".into()))?,
        owner_label: r.text("owner_label")?.to_owned(),
        assignee: r.opt_uuid("assignee")?.map(UserId),
        depends_on: json(r.text("depends_on")?, "depends_on")?,
        due_at: opt_from_us(r.opt_int("due_at_us")?)?,
        evidence_required: r.bool("evidence_required")?,
        status: TaskStatus::parse(r.text("status")?)
            .ok_or_else(|| StoreError::Corrupt("task status".into()))?,
        closed_at: opt_from_us(r.opt_int("closed_at_us")?)?,
        closed_by: r.opt_uuid("closed_by")?.map(UserId),
        note: r.opt_text("note")?.map(str::to_owned),
        waive_reason: r.opt_text("waive_reason")?.map(str::to_owned),
    })
}

fn progress_row(r: &impl Row) -> Result<TaskProgress> {
    Ok(TaskProgress {
        id: r.text("id")?.to_owned(),
        owner_label: r.text("owner_label")?.to_owned(),
        assignee: r.opt_uuid("assignee")?.map(UserId),
        status: TaskStatus::parse(r.text("status")?)
            .ok_or_else(|| StoreError::Corrupt("task status".into()))?,
        closed_at: opt_from_us(r.opt_int("closed_at_us")?)?,
        closed_by: r.opt_uuid("closed_by")?.map(UserId),
        note: r.opt_text("note")?.map(str::to_owned),
        waive_reason: r.opt_text("waive_reason")?.map(str::to_owned),
    })
}

fn finding_row(r: &impl Row) -> Result<CaseFinding> {
    Ok(CaseFinding {
        case_id: CaseId(r.uuid("case_id")?),
        finding: Finding {
            check_id: slug(r.text("check_id")?)?,
            stage: slug(r.text("stage")?)?,
            severity: Severity::parse(r.text("severity")?)
                .ok_or_else(|| StoreError::Corrupt("severity".into()))?,
            message: r.text("message")?.to_owned(),
        },
        status: FindingStatus::parse(r.text("status")?)
            .ok_or_else(|| StoreError::Corrupt("finding status".into()))?,
        waived_by: r.opt_uuid("waived_by")?.map(UserId),
        waive_reason: r.opt_text("waive_reason")?.map(str::to_owned),
    })
}

/// How many of the tenant's cases are in each status: kept by triggers as cases start and
/// change status (migrations sqlite 0034, pg 0033), so no count reads the cases.
pub(super) const CASE_COUNTS: &str =
    "SELECT status, cases AS n FROM case_counts WHERE tenant_id = $1 AND cases > 0";

/// How many open tasks of running cases were due before `$2`, by the team or person they are
/// owned by, read from the open tasks' due-time index: the count costs what there is to
/// count, overdue tasks, not the tenant's tasks.
pub(super) const OVERDUE_BY_OWNER: &str = "SELECT t.owner_label, COUNT(*) AS n \
     FROM tasks t CROSS JOIN cases c WHERE t.tenant_id = $1 \
     AND (t.due_at_us IS NULL) = FALSE AND t.due_at_us < $2 AND t.status = 'open' \
     AND c.tenant_id = t.tenant_id AND c.id = t.case_id AND c.status <> 'done' \
     GROUP BY t.owner_label";

/// The quarter hours of case activity at or after `$2`, from the rollup its triggers keep.
pub(super) const CASE_ACTIVITY: &str = "SELECT slot_us, opened, closed, completed, \
     completed_open_us FROM case_activity_slots WHERE tenant_id = $1 AND slot_us >= $2 \
     ORDER BY slot_us";

/// The case listing's statement for `f`, newest first: a condition for each filter given.
/// `CROSS JOIN` keeps SQLite reading the cases first, in their order, whatever its statistics
/// say (from the subjects, it would read them all and sort); PostgreSQL plans it as any join.
pub(super) fn case_listing(tenant: TenantId, f: &CaseFilter) -> (String, Conditions<'_>) {
    let mut w = Conditions::new("c.tenant_id = {}", tenant.0);
    w.and_always("s.tenant_id = c.tenant_id AND s.id = c.subject_id")
        .and_some("c.status = {}", f.status.map(CaseStatus::as_str))
        .and_some("c.subject_id = {}", f.subject.map(|s| s.0))
        .and_some("c.parent_id = {}", f.parent.map(|p| p.0))
        .and_some("c.number < {}", f.before);
    let (limit, offset) = (w.bind(f.limit), w.bind(f.offset));
    let sql = format!(
        "SELECT {SUMMARY_COLUMNS}, s.key AS subject_key, s.name AS subject_name, s.kind AS subject_kind, \
         (SELECT COUNT(*) FROM tasks t WHERE t.tenant_id = c.tenant_id AND t.case_id = c.id) AS tasks_total, \
         (SELECT COUNT(*) FROM tasks t WHERE t.tenant_id = c.tenant_id AND t.case_id = c.id AND t.status <> 'open') AS tasks_closed \
         FROM cases c CROSS JOIN subjects s \
         WHERE {} ORDER BY c.number DESC LIMIT {limit} OFFSET {offset}",
        w.sql()
    );
    (sql, w)
}

/// The owners that stand for the teams of the person `f` lists the tasks of.
pub(super) fn team_owners(f: &TaskFilter) -> Vec<String> {
    f.mine
        .iter()
        .flat_map(|m| &m.teams)
        .map(|t| Owner::Team(t.clone()).encode())
        .collect()
}

/// The task listing's statement for `f` (with `owners` from [`team_owners`]), soonest due
/// first. A person's tasks are read three ways, each from an index in due order that holds only
/// theirs: assigned to them, unassigned in one of their teams, unassigned and theirs through a
/// role (the role's person is in `owner_label`); at most a page from each is sorted together.
pub(super) fn task_listing<'a>(
    tenant: TenantId,
    f: &'a TaskFilter,
    owners: &'a [String],
) -> (String, Conditions<'a>) {
    let mut w = Conditions::new("t.tenant_id = {}", tenant.0);
    w.and_always("c.tenant_id = t.tenant_id AND c.id = t.case_id")
        .and_always("s.tenant_id = c.tenant_id AND s.id = c.subject_id")
        .and_some("t.case_id = {}", f.case.map(|c| c.0))
        // Said of the index's first column too, so that both stores read a range of it.
        .and_some(
            "(t.due_at_us IS NULL) = FALSE AND t.due_at_us < {}",
            f.due_before.map(us),
        );
    if f.open_only || f.mine.is_some() {
        w.and_always("t.status = 'open' AND c.status <> 'done'");
    }
    let limit = w.bind(f.limit);
    let mut ways = Vec::new();
    if let Some(mine) = &f.mine {
        let user = w.bind(mine.user.0);
        let email = w.bind(mine.email.as_str());
        ways.push(format!("t.assignee = {user}"));
        ways.push(format!(
            "t.assignee IS NULL AND lower(t.owner_label) = lower({email}) \
             AND t.owner LIKE 'role:%'"
        ));
        if !owners.is_empty() {
            let teams: Vec<String> = owners.iter().map(|o| w.bind(o)).collect();
            ways.push(format!(
                "t.assignee IS NULL AND t.owner IN ({})",
                teams.join(", ")
            ));
        }
    }
    // Tasks due before a time all have one: SQLite reads them in order only when told so.
    let order = if f.due_before.is_some() {
        "t.due_at_us, t.case_id, t.position"
    } else {
        "t.due_at_us IS NULL, t.due_at_us, t.case_id, t.position"
    };
    // The tables in this order: SQLite keeps it (`CROSS JOIN`), so the tasks' index leads.
    let select = |way: Option<&str>| {
        format!(
            "SELECT {TASK_COLUMNS}, c.number AS case_number, s.key AS subject_key \
             FROM tasks t CROSS JOIN cases c CROSS JOIN subjects s WHERE {}{} \
             ORDER BY {order} LIMIT {limit}",
            w.sql(),
            way.map_or(String::new(), |way| format!(" AND {way}"))
        )
    };
    let sql = if ways.is_empty() {
        select(None)
    } else {
        let ways: Vec<String> = ways
            .iter()
            .enumerate()
            .map(|(i, way)| format!("SELECT * FROM ({}) AS way{i}", select(Some(way))))
            .collect();
        format!(
            "SELECT * FROM ({}) AS mine \
             ORDER BY due_at_us IS NULL, due_at_us, case_id, position LIMIT {limit}",
            ways.join(" UNION ALL ")
        )
    };
    (sql, w)
}

impl Tx {
    /// Inserts tasks, [`TASKS_PER_INSERT`] rows to a statement: on PostgreSQL every statement
    /// is a round trip, and a case starts with ten or more tasks.
    async fn insert_tasks(&mut self, tenant: TenantId, tasks: &[Task]) -> Result<()> {
        for chunk in tasks.chunks(TASKS_PER_INSERT) {
            let encoded: Vec<(String, String, String)> = chunk
                .iter()
                .map(|t| {
                    (
                        to_json(&t.checklist),
                        t.owner.encode(),
                        to_json(&t.depends_on),
                    )
                })
                .collect();
            let mut values = Vec::with_capacity(chunk.len() * TASK_INSERT_COLUMNS);
            for (t, (checklist, owner, depends_on)) in chunk.iter().zip(&encoded) {
                values.extend_from_slice(args![
                    tenant.0,
                    t.case_id.0,
                    t.id.as_str(),
                    t.stage.as_str(),
                    t.position,
                    &t.title,
                    &t.description,
                    t.kind.as_str(),
                    t.action.as_deref(),
                    checklist,
                    owner,
                    &t.owner_label,
                    t.assignee.map(|u| u.0),
                    depends_on,
                    t.due_at.map(us),
                    t.evidence_required,
                    t.status.as_str(),
                    t.closed_at.map(us),
                    t.closed_by.map(|u| u.0),
                    t.note.as_deref(),
                    t.waive_reason.as_deref(),
                ]);
            }
            self.run(
                &format!(
                    "INSERT INTO tasks (tenant_id, case_id, id, stage, position, title, description, kind, \
                     action, checklist, owner, owner_label, assignee, depends_on, due_at_us, \
                     evidence_required, status, closed_at_us, closed_by, note, waive_reason) VALUES {}",
                    crate::sql::value_rows(chunk.len(), TASK_INSERT_COLUMNS)
                ),
                &values,
            )
            .await?;
        }
        Ok(())
    }

    /// Stores a blueprint version unless the tenant has that version already (stored by a
    /// concurrent writer, say); true when it stored it.
    pub async fn insert_blueprint(
        &mut self,
        tenant: TenantId,
        b: &StoredBlueprint,
        at: Timestamp,
    ) -> Result<bool> {
        let stored = self
            .run(
                "INSERT INTO blueprints (tenant_id, id, version, source, digest, created_at_us) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (tenant_id, id, version) DO NOTHING",
                args![
                    tenant.0,
                    b.id.as_str(),
                    i64::from(b.version),
                    &b.source,
                    &b.digest,
                    us(at),
                ],
            )
            .await?;
        Ok(stored == 1)
    }

    /// The given version, or the latest when `version` is `None`.
    pub async fn blueprint(
        &mut self,
        tenant: TenantId,
        id: &Slug,
        version: Option<u32>,
    ) -> Result<Option<StoredBlueprint>> {
        self.optional(
            "SELECT id, version, source, digest FROM blueprints WHERE tenant_id = $1 AND id = $2 \
             AND ($3 IS NULL OR version = $3) ORDER BY version DESC LIMIT 1",
            args![tenant.0, id.as_str(), version.map(i64::from)],
            |r| blueprint_row(r),
        )
        .await
    }

    /// The latest version of every blueprint the tenant stored.
    pub async fn blueprints(&mut self, tenant: TenantId) -> Result<Vec<StoredBlueprint>> {
        self.all(
            "SELECT b.id, b.version, b.source, b.digest FROM blueprints b WHERE b.tenant_id = $1 \
             AND b.version = (SELECT MAX(v.version) FROM blueprints v WHERE v.tenant_id = b.tenant_id AND v.id = b.id) \
             ORDER BY b.id",
            args![tenant.0],
            |r| blueprint_row(r),
        )
        .await
    }

    /// The subject of the case with id `case`.
    pub async fn subject_of_case(
        &mut self,
        tenant: TenantId,
        case: CaseId,
    ) -> Result<Option<SubjectId>> {
        self.optional(
            "SELECT subject_id FROM cases WHERE tenant_id = $1 AND id = $2",
            args![tenant.0, case.0],
            |r| Ok(SubjectId(r.uuid("subject_id")?)),
        )
        .await
    }

    /// Draws the tenant's next case number. The counter's row stays locked until the
    /// transaction ends, so concurrent case starts take turns for it rather than drawing the
    /// same number; a transaction that rolls back leaves its number unused.
    pub async fn next_case_number(&mut self, tenant: TenantId) -> Result<i64> {
        self.one(
            "INSERT INTO case_numbers (tenant_id, last) VALUES ($1, 1) \
             ON CONFLICT (tenant_id) DO UPDATE SET last = case_numbers.last + 1 RETURNING last",
            args![tenant.0],
            |r| r.int("last"),
        )
        .await
    }

    /// Inserts a new case with its tasks and findings.
    pub async fn insert_case(&mut self, file: &CaseFile) -> Result<()> {
        let c = &file.case;
        let exit_date = c.exit_date.to_string();
        let stages = to_json(&c.stages);
        self.run(
            "INSERT INTO cases (tenant_id, id, number, subject_id, blueprint_id, blueprint_version, parent_id, \
             owner_id, exit_date, status, resolution, confirmation_word, stages, opened_at_us, closed_at_us, \
             closed_by, close_reason, frozen_at_us) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)",
            args![
                c.tenant_id.0,
                c.id.0,
                c.number,
                c.subject_id.0,
                c.blueprint_id.as_str(),
                i64::from(c.blueprint_version),
                c.parent_id.map(|p| p.0),
                c.owner_id.0,
                &exit_date,
                c.status.as_str(),
                c.resolution.map(Resolution::as_str),
                &c.confirmation_word,
                &stages,
                us(c.opened_at),
                c.closed_at.map(us),
                c.closed_by.map(|u| u.0),
                c.close_reason.as_deref(),
                c.frozen_at.map(us),
            ],
        )
        .await?;
        self.insert_tasks(c.tenant_id, &file.tasks).await?;
        for f in &file.findings {
            crate::Tx::upsert_finding(self, c.tenant_id, f).await?;
        }
        Ok(())
    }

    pub async fn update_case(&mut self, c: &Case) -> Result<()> {
        self.run(
            "UPDATE cases SET status = $3, resolution = $4, closed_at_us = $5, closed_by = $6, \
             close_reason = $7, owner_id = $8, frozen_at_us = $9 WHERE tenant_id = $1 AND id = $2",
            args![
                c.tenant_id.0,
                c.id.0,
                c.status.as_str(),
                c.resolution.map(Resolution::as_str),
                c.closed_at.map(us),
                c.closed_by.map(|u| u.0),
                c.close_reason.as_deref(),
                c.owner_id.0,
                c.frozen_at.map(us),
            ],
        )
        .await?;
        Ok(())
    }

    pub async fn update_task(&mut self, tenant: TenantId, t: &Task) -> Result<()> {
        self.run(
            "UPDATE tasks SET assignee = $4, status = $5, closed_at_us = $6, closed_by = $7, \
             note = $8, waive_reason = $9, owner_label = $10 \
             WHERE tenant_id = $1 AND case_id = $2 AND id = $3",
            args![
                tenant.0,
                t.case_id.0,
                t.id.as_str(),
                t.assignee.map(|u| u.0),
                t.status.as_str(),
                t.closed_at.map(us),
                t.closed_by.map(|u| u.0),
                t.note.as_deref(),
                t.waive_reason.as_deref(),
                &t.owner_label,
            ],
        )
        .await?;
        Ok(())
    }

    pub async fn upsert_finding(&mut self, tenant: TenantId, f: &CaseFinding) -> Result<()> {
        self.run(
            "INSERT INTO findings (tenant_id, case_id, check_id, stage, severity, message, status, waived_by, waive_reason) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (tenant_id, case_id, check_id) DO UPDATE SET status = excluded.status, \
             waived_by = excluded.waived_by, waive_reason = excluded.waive_reason, message = excluded.message",
            args![
                tenant.0,
                f.case_id.0,
                f.finding.check_id.as_str(),
                f.finding.stage.as_str(),
                f.finding.severity.as_str(),
                &f.finding.message,
                f.status.as_str(),
                f.waived_by.map(|u| u.0),
                f.waive_reason.as_deref(),
            ],
        )
        .await?;
        Ok(())
    }

    /// A case with its tasks and findings; in a write transaction the case is locked until commit.
    pub async fn case_file(&mut self, tenant: TenantId, number: i64) -> Result<Option<CaseFile>> {
        let sql = format!(
            "SELECT {CASE_COLUMNS} FROM cases c WHERE c.tenant_id = $1 AND c.number = $2{}",
            self.conn.lock_clause()
        );
        let Some(case) = self
            .optional(&sql, args![tenant.0, number], |r| case_row(r))
            .await?
        else {
            return Ok(None);
        };
        let tasks = match self.plans.get(tenant, case.id) {
            Some(plans) => {
                let progress = self
                    .all(
                        "SELECT id, owner_label, assignee, status, closed_at_us, closed_by, note, \
                         waive_reason FROM tasks WHERE tenant_id = $1 AND case_id = $2",
                        args![tenant.0, case.id.0],
                        |r| progress_row(r),
                    )
                    .await?;
                plans::tasks(case.id, &plans, progress)
            }
            None => None,
        };
        let tasks = match tasks {
            Some(tasks) => tasks,
            None => {
                let sql = format!(
                    "SELECT {TASK_COLUMNS} FROM tasks t WHERE t.tenant_id = $1 AND t.case_id = $2"
                );
                let mut tasks = self
                    .all(&sql, args![tenant.0, case.id.0], |r| task_row(r))
                    .await?;
                // Ordered here rather than by SQL: SQLite would copy every row into a
                // temporary b-tree to sort a case's few tasks.
                tasks.sort_by_key(|t| t.position);
                self.plans.keep(tenant, case.id, &tasks);
                tasks
            }
        };
        let findings = self
            .all(
                "SELECT * FROM findings WHERE tenant_id = $1 AND case_id = $2 ORDER BY check_id",
                args![tenant.0, case.id.0],
                |r| finding_row(r),
            )
            .await?;
        Ok(Some(CaseFile {
            case,
            tasks,
            findings,
        }))
    }

    pub async fn cases(&mut self, tenant: TenantId, f: &CaseFilter) -> Result<Vec<CaseSummary>> {
        let (sql, w) = case_listing(tenant, f);
        self.all(&sql, w.args(), |r| {
            Ok(CaseSummary {
                number: r.int("number")?,
                id: CaseId(r.uuid("id")?),
                subject_key: SubjectKey::parse(r.text("subject_key")?)
                    .map_err(corrupt("subject key"))?,
                subject_name: r.text("subject_name")?.to_owned(),
                subject_kind: r
                    .text("subject_kind")?
                    .parse()
                    .map_err(corrupt("subject kind"))?,
                blueprint_id: slug(r.text("blueprint_id")?)?,
                blueprint_version: u32::try_from(r.int("blueprint_version")?)
                    .map_err(corrupt("version"))?,
                status: case_status(r)?,
                resolution: resolution(r)?,
                exit_date: exit_date(r)?,
                owner_id: UserId(r.uuid("owner_id")?),
                tasks_total: r.int("tasks_total")?,
                tasks_closed: r.int("tasks_closed")?,
                opened_at: from_us(r.int("opened_at_us")?)?,
            })
        })
        .await
    }

    /// The number of the subject's case that is not done, if any.
    pub async fn open_case_of(
        &mut self,
        tenant: TenantId,
        subject: SubjectId,
    ) -> Result<Option<i64>> {
        self.optional(
            "SELECT number FROM cases WHERE tenant_id = $1 AND subject_id = $2 AND status <> 'done'",
            args![tenant.0, subject.0],
            |r| r.int("number"),
        )
        .await
    }

    /// Numbers of the child cases that are not done.
    pub async fn open_children(&mut self, tenant: TenantId, parent: CaseId) -> Result<Vec<i64>> {
        self.all(
            "SELECT number FROM cases WHERE tenant_id = $1 AND parent_id = $2 AND status <> 'done' \
             ORDER BY number",
            args![tenant.0, parent.0],
            |r| r.int("number"),
        )
        .await
    }

    pub async fn tasks(&mut self, tenant: TenantId, f: &TaskFilter) -> Result<Vec<TaskRow>> {
        let owners = team_owners(f);
        let (sql, w) = task_listing(tenant, f, &owners);
        self.all(&sql, w.args(), |r| {
            Ok(TaskRow {
                case_number: r.int("case_number")?,
                subject_key: SubjectKey::parse(r.text("subject_key")?)
                    .map_err(corrupt("subject key"))?,
                task: task_row(r)?,
            })
        })
        .await
    }

    /// How many of the tenant's cases are in each status.
    pub async fn case_counts(&mut self, tenant: TenantId) -> Result<Vec<(CaseStatus, i64)>> {
        self.all(CASE_COUNTS, args![tenant.0], |r| {
            let status = r.text("status")?;
            Ok((
                CaseStatus::parse(status)
                    .ok_or_else(|| StoreError::Corrupt(format!("case status {status}")))?,
                r.int("n")?,
            ))
        })
        .await
    }

    /// How many open tasks of running cases are overdue at `now`, by owner (a team's or a
    /// person's label), most first.
    pub async fn overdue_by_owner(
        &mut self,
        tenant: TenantId,
        now: Timestamp,
    ) -> Result<Vec<(String, i64)>> {
        let mut counts = self
            .all(OVERDUE_BY_OWNER, args![tenant.0, us(now)], |r| {
                Ok((r.text("owner_label")?.to_owned(), r.int("n")?))
            })
            .await?;
        counts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        Ok(counts)
    }

    /// How many cases opened, closed and completed in each quarter hour at or after `since`
    /// (quarter hours with none are left out).
    pub async fn case_activity(
        &mut self,
        tenant: TenantId,
        since: Timestamp,
    ) -> Result<Vec<CaseActivity>> {
        self.all(CASE_ACTIVITY, args![tenant.0, us(since)], |r| {
            Ok(CaseActivity {
                from: from_us(r.int("slot_us")?)?,
                opened: r.int("opened")?,
                closed: r.int("closed")?,
                completed: r.int("completed")?,
                completed_open_for: jiff::SignedDuration::from_micros(r.int("completed_open_us")?),
            })
        })
        .await
    }

    /// The running cases whose exit may have taken effect for access by `now`: those past
    /// their exit date (in UTC) and those with an open access-removal task due, each with
    /// the earliest due time of its access-removal tasks. Each is read from an index of
    /// running cases only, so the cost follows what is found, not the tenant's size.
    pub async fn exits_in_effect(
        &mut self,
        tenant: TenantId,
        now: Timestamp,
    ) -> Result<Vec<ExitInEffect>> {
        let today = jiff::tz::TimeZone::UTC.to_datetime(now).date().to_string();
        let mut found = self
            .all(
                &running_past_exit_date(),
                args![tenant.0, today.as_str()],
                |r| exit_in_effect_row(r),
            )
            .await?;
        // A case can be found both ways; each is kept once, without comparing every pair.
        let mut seen: std::collections::HashSet<CaseId> = found.iter().map(|f| f.case.id).collect();
        for exit in self
            .all(&running_with_access_due(), args![tenant.0, us(now)], |r| {
                exit_in_effect_row(r)
            })
            .await?
        {
            if seen.insert(exit.case.id) {
                found.push(exit);
            }
        }
        Ok(found)
    }

    /// The revocation items of a case: one per account and integration of `subject`, pending
    /// where nothing was stored for it, in record order.
    pub async fn revocations(
        &mut self,
        tenant: TenantId,
        case: CaseId,
        subject: SubjectId,
    ) -> Result<Vec<Revocation>> {
        self.all(
            "SELECT r.id, r.subject_id, r.number, r.kind, r.fields, v.status, v.note, \
             v.revoked_at_us, v.verified_at_us, v.changed_by, v.changed_at_us, v.evidence \
             FROM records r LEFT JOIN revocations v \
             ON v.tenant_id = r.tenant_id AND v.case_id = $2 AND v.record_id = r.id \
             WHERE r.tenant_id = $1 AND r.subject_id = $3 AND r.kind IN ('account', 'integration') \
             ORDER BY r.number",
            args![tenant.0, case.0, subject.0],
            |r| revocation_row(r),
        )
        .await
    }

    pub async fn upsert_revocation(
        &mut self,
        tenant: TenantId,
        case: CaseId,
        item: &Revocation,
    ) -> Result<()> {
        let Some(at) = item.changed_at else {
            return Err(StoreError::Refused(format!(
                "revocation of record {} was never changed; nothing to store",
                item.record_number
            )));
        };
        let evidence = item.evidence.as_ref().map(to_json);
        self.run(
            "INSERT INTO revocations (tenant_id, case_id, record_id, status, note, revoked_at_us, \
             verified_at_us, changed_by, changed_at_us, evidence) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
             ON CONFLICT (tenant_id, case_id, record_id) DO UPDATE SET status = excluded.status, \
             note = excluded.note, revoked_at_us = excluded.revoked_at_us, \
             verified_at_us = excluded.verified_at_us, changed_by = excluded.changed_by, \
             changed_at_us = excluded.changed_at_us, evidence = excluded.evidence",
            args![
                tenant.0,
                case.0,
                item.record_id.0,
                item.status.as_str(),
                item.note.as_deref(),
                item.revoked_at.map(us),
                item.verified_at.map(us),
                item.changed_by.map(|u| u.0),
                us(at),
                evidence.as_deref(),
            ],
        )
        .await?;
        Ok(())
    }
}
