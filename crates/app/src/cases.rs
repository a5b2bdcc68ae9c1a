//! Starting, running and ending cases, and their tasks and findings.

use engine::act::Act;
use engine::blueprint::{Blueprint, Owner, OwnerRole};
use engine::case::{Case, CaseFile, CaseStatus, Resolution, Task, TaskStatus};
use engine::condition::SubjectView as ConditionView;
use engine::fields::{Reason, TaskNote};
use engine::governance::{LegalHold, RetentionPolicy, retention_for};
use engine::ids::{CaseId, Email, EvidenceId, Slug, SubjectKey};
use engine::plan::{Finding, PlanInput, evaluate_checks, plan};
use engine::revocation::{Exposure, Revocation};
use engine::subject::{Subject, SubjectKind, SubjectState};
use engine::tenant::{Permission, User};
use jiff::Timestamp;
use jiff::civil::Date;
use serde::Serialize;
use serde_json::json;
use store::{
    CaseActivity, CaseFilter, CaseSummary, CertificateRow, EvidenceMeta, Export, Job, JobFilter,
    Mine, SubjectFilter, TaskFilter, TaskRow, Tx,
};

use crate::blueprints::{BlueprintChoice, BlueprintInfo, store_version};
use crate::directory::{find_subject, load_subject, user_who_acts};
use crate::files::Upload;
use crate::notifications::Notice;
use crate::{Actor, App, AppError, Result, Target};

/// What starting a case needs.
#[derive(Clone, Debug)]
pub struct StartCase {
    pub subject: SubjectKey,
    /// The blueprint to use; otherwise the one whose `applies_when` matches the subject.
    pub blueprint: Option<BlueprintChoice>,
    pub exit_date: Date,
    /// The case owner; the actor when not given.
    pub owner: Option<Email>,
    /// For an organization, its key typed again: its case starts one for every active client
    /// at once, so nobody starts it by a slip.
    pub confirmation: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct StartedCase {
    pub number: i64,
    pub blueprint_id: String,
    pub blueprint_version: u32,
    pub tasks: usize,
    /// Child cases opened by an organization case.
    pub children: Vec<i64>,
}

/// A case as people look at it.
#[derive(Clone, Debug, Serialize)]
pub struct CaseView {
    #[serde(flatten)]
    pub file: CaseFile,
    pub subject: Subject,
    pub owner: Option<User>,
    pub current_stage: Option<String>,
    pub children: Vec<CaseSummary>,
    pub evidence: Vec<EvidenceMeta>,
    /// The legal holds that stand over the subject (its own and the whole tenant's).
    pub holds: Vec<LegalHold>,
    /// The retention policy that applies to the subject's kind, if the owner set one.
    pub retention: Option<RetentionPolicy>,
    /// From when the subject's data may be purged: completion plus retention. A standing hold
    /// postpones it.
    pub purge_from: Option<Date>,
    /// Every account and integration of the subject and how far its revocation got.
    pub revocations: Vec<Revocation>,
    /// When the exit took effect for access: exposure windows start here.
    pub access_ends_at: Timestamp,
    /// Each revocation item's exposure window, in the order of `revocations` (none for a
    /// waived one).
    pub exposures: Vec<Option<Exposure>>,
    /// The case's window: the longest of its items', open while any is.
    pub exposure: Exposure,
    /// The case's background jobs (connector calls, emails), newest first, with their last
    /// errors.
    pub jobs: Vec<Job>,
    /// The case's export packages, newest first.
    pub exports: Vec<Export>,
    /// The signed completion certificate, once the case completed.
    pub certificate: Option<CertificateRow>,
    /// Once the case completed: whether the subject's purge is due, and if not, why (retention,
    /// a legal hold, no ready or acknowledged export, no policy); or that it was purged.
    pub purge: Option<String>,
}

impl App {
    pub async fn start_case(&self, actor: &Actor, start: StartCase) -> Result<StartedCase> {
        actor.require(Permission::RunCases)?;
        let mut tx = self.store.write().await?;
        let owner = match &start.owner {
            Some(email) => user_who_acts(&mut tx, actor, "owner", email).await?,
            None => actor.user.clone(),
        };
        let subject = find_subject(&mut tx, actor, &start.subject).await?;
        if subject.kind == SubjectKind::Organization {
            actor.require(Permission::GovernTenant)?;
            if start.confirmation.as_deref().map(str::trim) != Some(subject.key.as_str()) {
                return Err(AppError::invalid(
                    "confirmation",
                    format!(
                        "offboarding the organization starts a case for every active client at once; type its key, {}, to confirm",
                        subject.key
                    ),
                ));
            }
        }
        let (bp, text) = match &start.blueprint {
            Some(choice) => {
                // A blueprint given as text is stored as a new version: that is publishing.
                if matches!(choice, BlueprintChoice::Source { .. }) {
                    actor.require(Permission::ManageBlueprints)?;
                }
                self.resolve(&mut tx, actor, choice).await?
            }
            None => {
                let available = self.available(&mut tx, actor).await?;
                self.matching_blueprint(&mut tx, actor, &subject, &available)
                    .await?
            }
        };
        let (file, children) = self
            .open_case(
                &mut tx,
                actor,
                &owner,
                &subject,
                &bp,
                &text,
                start.exit_date,
                None,
            )
            .await?;
        tx.commit().await?;
        Ok(StartedCase {
            number: file.case.number,
            blueprint_id: bp.id.to_string(),
            blueprint_version: bp.version,
            tasks: file.tasks.len(),
            children,
        })
    }

    /// The one blueprint among `available` for the subject's kind whose `applies_when` holds.
    async fn matching_blueprint(
        &self,
        tx: &mut Tx,
        actor: &Actor,
        subject: &Subject,
        available: &[(BlueprintInfo, Blueprint, String)],
    ) -> Result<(Blueprint, String)> {
        let records = tx.records(actor.tenant.id, subject.id).await?;
        let parent = match subject.parent_id {
            Some(p) => tx.subject(actor.tenant.id, p).await?,
            None => None,
        };
        let mut matches = Vec::new();
        for (_, bp, text) in available {
            if bp.scope != subject.kind {
                continue;
            }
            let view = ConditionView::new(subject, &records, parent.as_ref(), &bp.attributes);
            let applies = match &bp.applies_when {
                None => true,
                Some(c) => c
                    .evaluate(&view)
                    .map_err(|e| AppError::invalid(format!("applies_when of {}", bp.id), e))?,
            };
            if applies {
                matches.push((bp.clone(), text.clone()));
            }
        }
        match matches.len() {
            1 => Ok(matches.remove(0)),
            0 => Err(AppError::NotFound(format!(
                "no blueprint applies to {} `{}`; name one with --blueprint",
                subject.kind, subject.key
            ))),
            _ => {
                let ids: Vec<String> = matches.iter().map(|(b, _)| b.id.to_string()).collect();
                Err(AppError::invalid(
                    "blueprint",
                    format!(
                        "several blueprints apply to `{}` ({}); name one",
                        subject.key,
                        ids.join(", ")
                    ),
                ))
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn open_case(
        &self,
        tx: &mut Tx,
        actor: &Actor,
        owner: &User,
        subject: &Subject,
        bp: &Blueprint,
        text: &str,
        exit_date: Date,
        parent: Option<CaseId>,
    ) -> Result<(CaseFile, Vec<i64>)> {
        let at = self.now();
        if bp.scope != subject.kind {
            return Err(AppError::invalid(
                "blueprint",
                format!(
                    "blueprint {} is for a {}, but `{}` is a {}",
                    bp.id, bp.scope, subject.key, subject.kind
                ),
            ));
        }
        if let Some(number) = tx.open_case_of(actor.tenant.id, subject.id).await? {
            return Err(AppError::Conflict(format!(
                "`{}` already has an open case: {number}",
                subject.key
            )));
        }
        match subject.state {
            SubjectState::Active => {}
            state => {
                return Err(AppError::Conflict(format!(
                    "`{}` is {state}; only an active subject can start offboarding",
                    subject.key
                )));
            }
        }
        store_version(self, tx, actor, bp, text, at).await?;
        let records = tx.records(actor.tenant.id, subject.id).await?;
        let parent_subject = match subject.parent_id {
            Some(p) => tx.subject(actor.tenant.id, p).await?,
            None => None,
        };
        let view = ConditionView::new(subject, &records, parent_subject.as_ref(), &bp.attributes);
        let planned = plan(&PlanInput {
            blueprint: bp,
            view: &view,
            attributes: &subject.attributes,
            exit_date,
            case_owner_label: owner.email.as_str(),
        })?;
        let case_id = CaseId(self.new_id());
        let number = tx.next_case_number(actor.tenant.id).await?;
        let tasks: Vec<Task> = planned
            .tasks
            .into_iter()
            .zip(0..)
            .map(|(t, position)| Task {
                case_id,
                id: t.id,
                stage: t.stage,
                position,
                title: t.title,
                description: t.description,
                kind: t.kind,
                action: t.action,
                checklist: t.checklist,
                owner: t.owner,
                owner_label: t.owner_label,
                assignee: None,
                depends_on: t.depends_on,
                due_at: t.due_at,
                evidence_required: t.evidence_required,
                status: TaskStatus::Open,
                closed_at: None,
                closed_by: None,
                note: None,
                waive_reason: None,
            })
            .collect();
        let mut file = CaseFile {
            case: Case {
                tenant_id: actor.tenant.id,
                id: case_id,
                number,
                subject_id: subject.id,
                blueprint_id: bp.id.clone(),
                blueprint_version: bp.version,
                parent_id: parent,
                owner_id: owner.id,
                exit_date,
                status: CaseStatus::Open,
                resolution: None,
                confirmation_word: bp.confirmation_word.clone(),
                stages: planned.stages,
                opened_at: at,
                closed_at: None,
                closed_by: None,
                close_reason: None,
                frozen_at: None,
            },
            tasks,
            findings: Vec::new(),
        };
        let mut findings = planned.findings;
        findings.extend(self.hold_finding(tx, actor, &file).await?);
        findings.extend(file.overdue_finding(at));
        file.apply_precheck(findings)?;
        file.refresh_status();
        tx.insert_case(&file).await?;
        tx.set_subject_state(actor.tenant.id, subject.id, SubjectState::Offboarding, at)
            .await?;
        self.schedule_revocations(tx, actor.tenant.id, &file, at)
            .await?;
        self.audit(tx, actor, at, "case.started", Target::of(file.case.subject_id, "case", number.to_string()), json!({
            "summary": format!("started case {number} for {} `{}` with {}@{}", subject.kind, subject.key, bp.id, bp.version),
            "subject": subject.key, "blueprint": bp.id, "version": bp.version, "exit_date": exit_date,
            "owner": owner.email, "tasks": file.tasks.len(),
            "findings": file.findings.iter().map(|f| f.finding.check_id.as_str()).collect::<Vec<_>>(),
        })).await?;
        // A blueprint may freeze from its first stage: then the case freezes as it opens.
        self.record_freeze_change(tx, actor, &mut file, at).await?;
        let notice = Notice {
            kind: "case.assigned",
            summary: format!(
                "{} started case {number} ({}) and made you its owner",
                actor.user.name, bp.title
            ),
            link: format!("/cases/{number}"),
        };
        self.notify(tx, actor, owner.id, at, notice).await?;

        let mut children = Vec::new();
        if let Some(kind) = bp.fan_out {
            let filter = SubjectFilter {
                kind: Some(kind),
                include_offboarded: false,
                parent: None,
                search: None,
                after: None,
                limit: i64::MAX,
                offset: 0,
            };
            // Parsed once for all children, not once per child.
            let available = self.available(tx, actor).await?;
            let clients = tx.subjects(actor.tenant.id, &filter).await?;
            let watched = self.watch("clients", clients.len() as u64);
            for child in clients {
                watched.advance(1);
                if child.state != SubjectState::Active
                    || tx.open_case_of(actor.tenant.id, child.id).await?.is_some()
                {
                    continue;
                }
                let (child_bp, child_text) = self
                    .matching_blueprint(tx, actor, &child, &available)
                    .await?;
                let (child_file, _) = Box::pin(self.open_case(
                    tx,
                    actor,
                    owner,
                    &child,
                    &child_bp,
                    &child_text,
                    exit_date,
                    Some(case_id),
                ))
                .await?;
                children.push(child_file.case.number);
            }
        }
        Ok((file, children))
    }

    pub(crate) async fn locked_case(
        &self,
        tx: &mut Tx,
        actor: &Actor,
        number: i64,
    ) -> Result<CaseFile> {
        tx.case_file(actor.tenant.id, number)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("no case {number}")))
    }

    pub async fn case(&self, actor: &Actor, number: i64) -> Result<CaseView> {
        let mut tx = self.store.read().await?;
        let file = self.locked_case(&mut tx, actor, number).await?;
        let subject = tx
            .subject(actor.tenant.id, file.case.subject_id)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("the subject of case {number}")))?;
        let owner = tx.user(actor.tenant.id, file.case.owner_id).await?;
        let children = tx
            .cases(
                actor.tenant.id,
                &CaseFilter {
                    parent: Some(file.case.id),
                    limit: i64::MAX,
                    ..CaseFilter::default()
                },
            )
            .await?;
        let evidence = tx.evidence(actor.tenant.id, file.case.id).await?;
        let holds: Vec<LegalHold> = tx
            .holds(actor.tenant.id, Some(subject.id))
            .await?
            .into_iter()
            .filter(|h| h.covers(subject.id))
            .collect();
        let policies = tx.retention_policies(actor.tenant.id).await?;
        let retention = retention_for(&policies, subject.kind).cloned();
        let purge_from = match (&retention, file.case.resolution, file.case.closed_at) {
            (Some(policy), Some(Resolution::Completed), Some(closed)) => Some(
                policy
                    .period
                    .purge_from(closed.to_zoned_datetime(jiff::tz::TimeZone::UTC).date()),
            ),
            _ => None,
        };
        let revocations = tx
            .revocations(actor.tenant.id, file.case.id, subject.id)
            .await?;
        let access_ends_at = crate::connectors::exit_takes_effect(&file);
        let now = self.now();
        let exposures: Vec<Option<Exposure>> = revocations
            .iter()
            .map(|r| r.exposure(access_ends_at, now))
            .collect();
        let exposure = Exposure::of_case(exposures.iter().flatten().copied());
        let jobs = tx
            .jobs(
                actor.tenant.id,
                &JobFilter {
                    case: Some(file.case.id),
                    limit: 200,
                    ..JobFilter::default()
                },
            )
            .await?;
        let exports = tx.exports(actor.tenant.id, file.case.id).await?;
        let certificate = tx.certificate(actor.tenant.id, file.case.id).await?;
        let purge = self
            .purge_outlook(&mut tx, &file.case, &subject, &holds, &policies, &exports)
            .await?;
        Ok(CaseView {
            revocations,
            access_ends_at,
            exposures,
            exposure,
            jobs,
            exports,
            certificate,
            purge,
            current_stage: file.current_stage().map(|s| s.id.to_string()),
            file,
            subject,
            owner,
            children,
            evidence,
            holds,
            retention,
            purge_from,
        })
    }

    pub async fn cases(&self, actor: &Actor, filter: &CaseFilter) -> Result<Vec<CaseSummary>> {
        Ok(self
            .store
            .read()
            .await?
            .cases(actor.tenant.id, filter)
            .await?)
    }

    /// Runs the pinned blueprint's checks against the subject as it is now.
    pub async fn precheck(&self, actor: &Actor, number: i64) -> Result<CaseFile> {
        actor.require(Permission::RunCases)?;
        let at = self.now();
        let mut tx = self.store.write().await?;
        let mut file = self.locked_case(&mut tx, actor, number).await?;
        let stored = tx
            .blueprint(
                actor.tenant.id,
                &file.case.blueprint_id,
                Some(file.case.blueprint_version),
            )
            .await?
            .ok_or_else(|| {
                AppError::NotFound(format!(
                    "blueprint {}@{}",
                    file.case.blueprint_id, file.case.blueprint_version
                ))
            })?;
        let teams = self.team_slugs(&mut tx, actor).await?;
        let bp = self.parse_named(stored.id.as_str(), &stored.source, &teams)?;
        let subject = tx
            .subject(actor.tenant.id, file.case.subject_id)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("the subject of case {number}")))?;
        let view = load_subject(&mut tx, actor, &subject.key).await?;
        let cond = ConditionView::new(
            &view.subject,
            &view.records,
            view.parent.as_ref(),
            &bp.attributes,
        );
        let mut findings = evaluate_checks(&bp, &cond)?;
        findings.extend(self.hold_finding(&mut tx, actor, &file).await?);
        findings.extend(file.overdue_finding(at));
        let exports = tx.exports(actor.tenant.id, file.case.id).await?;
        findings.extend(
            file.failed_export_finding(exports.first().map(|e| (e.status, e.failure.as_deref()))),
        );
        let outcome = file.apply_precheck(findings)?;
        for f in &file.findings {
            tx.upsert_finding(actor.tenant.id, f).await?;
        }
        self.audit(&mut tx, actor, at, "case.prechecked", Target::of(file.case.subject_id, "case", number.to_string()), json!({
            "summary": format!("ran precheck on case {number}: {} opened, {} resolved", outcome.opened.len(), outcome.resolved.len()),
            "opened": outcome.opened, "resolved": outcome.resolved,
        })).await?;
        self.record_freeze_change(&mut tx, actor, &mut file, at)
            .await?;
        tx.commit().await?;
        Ok(file)
    }

    pub async fn complete_task(
        &self,
        actor: &Actor,
        number: i64,
        task: &Slug,
        note: Option<TaskNote>,
        evidence: Vec<Upload>,
    ) -> Result<Task> {
        for e in &evidence {
            e.check_size("evidence")?;
        }
        let at = self.now();
        let mut tx = self.store.write().await?;
        let mut file = self.locked_case(&mut tx, actor, number).await?;
        self.authorize_completion(&mut tx, actor, &file, task)
            .await?;
        let before = file.case.status;
        let outstanding = self.gate_outstanding(&mut tx, actor, &file, task).await?;
        let done = file
            .complete_task(
                task.as_str(),
                Act {
                    by: actor.user.id,
                    at,
                },
                note.as_ref().map(|n| n.as_str().to_owned()),
                !evidence.is_empty(),
                &outstanding,
            )?
            .clone();
        tx.update_task(actor.tenant.id, &done).await?;
        let mut files = Vec::new();
        for e in evidence {
            let blob = self
                .put_blob(&mut tx, actor.tenant.id, file.case.subject_id, &e.content)
                .await?;
            let meta = EvidenceMeta {
                id: EvidenceId(self.new_id()),
                blob_id: Some(blob.id),
                tenant_id: actor.tenant.id,
                case_id: file.case.id,
                task_id: task.clone(),
                file_name: e.file_name,
                size: blob.size,
                sha256: blob.sha256,
                added_by: actor.user.id,
                added_at: at,
            };
            files.push(json!({"file": meta.file_name, "sha256": engine::audit::to_hex(&blob.sha256), "size": meta.size}));
            tx.insert_evidence(actor.tenant.id, &meta).await?;
        }
        self.audit(&mut tx, actor, at, "task.completed", Target::of(file.case.subject_id, "task", format!("{number}/{task}")), json!({
            "summary": format!("completed task “{}” of case {number}", done.title), "note": note, "evidence": files,
        })).await?;
        self.record_status_change(&mut tx, actor, &file, before)
            .await?;
        self.record_freeze_change(&mut tx, actor, &mut file, at)
            .await?;
        tx.commit().await?;
        Ok(done)
    }

    /// Managers and above complete any task; a member only their own: assigned to them, or
    /// unassigned and owned by one of their teams or by them through a role.
    pub(crate) async fn authorize_completion(
        &self,
        tx: &mut Tx,
        actor: &Actor,
        file: &CaseFile,
        task: &Slug,
    ) -> Result<()> {
        if actor.user.role.allows(Permission::RunCases) {
            return Ok(());
        }
        actor.require(Permission::CompleteOwnTask)?;
        let Some(t) = file.task(task.as_str()) else {
            return Ok(()); // the engine reports the missing task
        };
        let mine = match (t.assignee, &t.owner) {
            (Some(assignee), _) => assignee == actor.user.id,
            (None, Owner::Team(team)) => tx
                .teams(actor.tenant.id)
                .await?
                .iter()
                .any(|m| &m.slug == team && m.members.contains(&actor.user.id)),
            (None, Owner::Role(_)) => t
                .owner_label
                .eq_ignore_ascii_case(actor.user.email.as_str()),
        };
        if mine {
            return Ok(());
        }
        Err(AppError::Forbidden {
            action: "completing a task that is not yours",
            needed: Permission::RunCases.least_role().as_str(),
            who: actor.user.email.to_string(),
            role: actor.user.role.as_str(),
        })
    }

    pub async fn waive_task(
        &self,
        actor: &Actor,
        number: i64,
        task: &Slug,
        reason: &Reason,
    ) -> Result<Task> {
        actor.require(Permission::RunCases)?;
        let at = self.now();
        let mut tx = self.store.write().await?;
        let mut file = self.locked_case(&mut tx, actor, number).await?;
        let before = file.case.status;
        let waived = file
            .waive_task(
                task.as_str(),
                Act {
                    by: actor.user.id,
                    at,
                },
                reason.as_str(),
            )?
            .clone();
        tx.update_task(actor.tenant.id, &waived).await?;
        self.audit(
            &mut tx,
            actor,
            at,
            "task.waived",
            Target::of(file.case.subject_id, "task", format!("{number}/{task}")),
            json!({
                "summary": format!("waived task “{}” of case {number}", waived.title), "reason": reason.as_str(),
            }),
        )
        .await?;
        self.record_status_change(&mut tx, actor, &file, before)
            .await?;
        self.record_freeze_change(&mut tx, actor, &mut file, at)
            .await?;
        tx.commit().await?;
        Ok(waived)
    }

    pub async fn assign_task(
        &self,
        actor: &Actor,
        number: i64,
        task: &Slug,
        assignee: Option<&Email>,
    ) -> Result<Task> {
        actor.require(Permission::RunCases)?;
        let at = self.now();
        let mut tx = self.store.write().await?;
        let user = match assignee {
            Some(email) => Some(user_who_acts(&mut tx, actor, "assignee", email).await?),
            None => None,
        };
        let mut file = self.locked_case(&mut tx, actor, number).await?;
        let assigned = file
            .assign_task(task.as_str(), user.as_ref().map(|u| u.id))?
            .clone();
        tx.update_task(actor.tenant.id, &assigned).await?;
        let to = user.as_ref().map(|u| u.email.to_string());
        self.audit(&mut tx, actor, at, "task.assigned", Target::of(file.case.subject_id, "task", format!("{number}/{task}")), json!({
            "summary": match &to { Some(e) => format!("assigned task “{}” of case {number} to {e}", assigned.title), None => format!("unassigned task “{}” of case {number}", assigned.title) },
            "assignee": to,
        })).await?;
        if let Some(user) = &user {
            let notice = Notice {
                kind: "task.assigned",
                summary: format!(
                    "{} gave you task “{}” of case {number}",
                    actor.user.name, assigned.title
                ),
                link: format!("/cases/{number}/tasks/{task}"),
            };
            self.notify(&mut tx, actor, user.id, at, notice).await?;
        }
        tx.commit().await?;
        Ok(assigned)
    }

    /// Makes `owner` the case's owner (its assignee): they answer for the case and own its
    /// `case_owner` tasks from now on. They are told.
    pub async fn assign_case(&self, actor: &Actor, number: i64, owner: &Email) -> Result<Case> {
        actor.require(Permission::RunCases)?;
        let at = self.now();
        let mut tx = self.store.write().await?;
        let user = user_who_acts(&mut tx, actor, "owner", owner).await?;
        let mut file = self.locked_case(&mut tx, actor, number).await?;
        file.ensure_open()?;
        if file.case.owner_id == user.id {
            return Ok(file.case);
        }
        file.case.owner_id = user.id;
        tx.update_case(&file.case).await?;
        // The case owner's open tasks move with the case.
        for task in file.tasks.iter_mut().filter(|t| {
            t.status == TaskStatus::Open && t.owner == Owner::Role(OwnerRole::CaseOwner)
        }) {
            task.owner_label = user.email.to_string();
            tx.update_task(actor.tenant.id, task).await?;
        }
        self.audit(
            &mut tx,
            actor,
            at,
            "case.assigned",
            Target::of(file.case.subject_id, "case", number.to_string()),
            json!({
                "summary": format!("made {owner} the owner of case {number}"), "owner": owner,
            }),
        )
        .await?;
        let notice = Notice {
            kind: "case.assigned",
            summary: format!("{} made you the owner of case {number}", actor.user.name),
            link: format!("/cases/{number}"),
        };
        self.notify(&mut tx, actor, user.id, at, notice).await?;
        tx.commit().await?;
        Ok(file.case)
    }

    pub async fn waive_finding(
        &self,
        actor: &Actor,
        number: i64,
        check: &Slug,
        reason: &Reason,
    ) -> Result<()> {
        actor.require(Permission::RunCases)?;
        let at = self.now();
        let mut tx = self.store.write().await?;
        let mut file = self.locked_case(&mut tx, actor, number).await?;
        let finding = file
            .waive_finding(
                check.as_str(),
                Act {
                    by: actor.user.id,
                    at,
                },
                reason.as_str(),
            )?
            .clone();
        tx.upsert_finding(actor.tenant.id, &finding).await?;
        self.audit(&mut tx, actor, at, "finding.waived", Target::of(file.case.subject_id, "case", number.to_string()), json!({
            "summary": format!("waived {} `{check}` on case {number}", finding.finding.severity.as_str()), "reason": reason.as_str(),
        })).await?;
        self.record_freeze_change(&mut tx, actor, &mut file, at)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Closes a case as completed: the approver types the confirmation word.
    pub async fn close_case(&self, actor: &Actor, number: i64, word: &str) -> Result<Case> {
        actor.require(Permission::RunCases)?;
        let at = self.now();
        let mut tx = self.store.write().await?;
        let mut file = self.locked_case(&mut tx, actor, number).await?;
        let open_children = tx.open_children(actor.tenant.id, file.case.id).await?;
        file.close(
            word,
            Act {
                by: actor.user.id,
                at,
            },
            &open_children,
        )?;
        tx.update_case(&file.case).await?;
        tx.set_subject_state(
            actor.tenant.id,
            file.case.subject_id,
            SubjectState::Offboarded,
            at,
        )
        .await?;
        self.audit(&mut tx, actor, at, "case.closed", Target::of(file.case.subject_id, "case", number.to_string()), json!({
            "summary": format!("closed case {number} as completed; the subject is fully offboarded"), "resolution": "completed",
        })).await?;
        self.record_freeze_change(&mut tx, actor, &mut file, at)
            .await?;
        let subject = tx
            .subject(actor.tenant.id, file.case.subject_id)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("the subject of case {number}")))?;
        self.issue_certificate(&mut tx, actor, &file, &subject)
            .await?;
        tx.commit().await?;
        Ok(file.case)
    }

    /// Cancels a case. Its tasks and history stay; the subject is active again.
    pub async fn cancel_case(&self, actor: &Actor, number: i64, reason: &Reason) -> Result<Case> {
        actor.require(Permission::RunCases)?;
        let at = self.now();
        let mut tx = self.store.write().await?;
        let mut file = self.locked_case(&mut tx, actor, number).await?;
        file.cancel(
            Act {
                by: actor.user.id,
                at,
            },
            reason.as_str(),
        )?;
        tx.update_case(&file.case).await?;
        tx.set_subject_state(
            actor.tenant.id,
            file.case.subject_id,
            SubjectState::Active,
            at,
        )
        .await?;
        self.audit(&mut tx, actor, at, "case.cancelled", Target::of(file.case.subject_id, "case", number.to_string()), json!({
            "summary": format!("cancelled case {number}"), "resolution": "cancelled", "reason": reason.as_str(),
        })).await?;
        self.record_freeze_change(&mut tx, actor, &mut file, at)
            .await?;
        tx.commit().await?;
        Ok(file.case)
    }

    /// The built-in warning that legal holds stand over the case's subject, if any do.
    async fn hold_finding(
        &self,
        tx: &mut Tx,
        actor: &Actor,
        file: &CaseFile,
    ) -> Result<Option<Finding>> {
        let Some(last) = file.case.stages.last() else {
            return Ok(None);
        };
        let subject = file.case.subject_id;
        let holds = tx.holds(actor.tenant.id, Some(subject)).await?;
        Ok(engine::governance::hold_finding(&holds, subject, &last.id))
    }

    /// Settles and audits the freeze after a change: the case reached a freezing stage, so
    /// the subject's records are read-only from now on; or a frozen case ended (cancelled or
    /// closed, which happens once), so they can change again.
    async fn record_freeze_change(
        &self,
        tx: &mut Tx,
        actor: &Actor,
        file: &mut CaseFile,
        at: Timestamp,
    ) -> Result<()> {
        let number = file.case.number;
        if file.settle_freeze(at) {
            tx.update_case(&file.case).await?;
            let stage = file
                .freezing_stage()
                .map(|s| s.id.to_string())
                .unwrap_or_default();
            return self.audit(tx, actor, at, "case.froze", Target::of(file.case.subject_id, "case", number.to_string()), json!({
                "summary": format!("case {number} reached stage {stage}: the subject's records are read-only"),
                "stage": stage,
            })).await;
        }
        if file.case.frozen_at.is_some() && file.case.status == CaseStatus::Done {
            self.audit(tx, actor, at, "case.unfroze", Target::of(file.case.subject_id, "case", number.to_string()), json!({
                "summary": format!("case {number} ended ({}): the subject's records can change again", file.case.resolution.map_or("done", Resolution::as_str)),
            })).await?;
        }
        Ok(())
    }

    async fn record_status_change(
        &self,
        tx: &mut Tx,
        actor: &Actor,
        file: &CaseFile,
        before: CaseStatus,
    ) -> Result<()> {
        if file.case.status == before {
            return Ok(());
        }
        tx.update_case(&file.case).await?;
        let number = file.case.number;
        self.audit(tx, actor, self.now(), "case.status_changed", Target::of(file.case.subject_id, "case", number.to_string()), json!({
            "summary": format!("case {number} is now {}", engine::wording::words(file.case.status.as_str())), "from": before, "to": file.case.status,
        })).await
    }

    pub async fn tasks(&self, actor: &Actor, filter: TaskFilter) -> Result<Vec<TaskRow>> {
        Ok(self
            .store
            .read()
            .await?
            .tasks(actor.tenant.id, &filter)
            .await?)
    }

    /// How many of the tenant's cases are in each status.
    pub async fn case_counts(&self, actor: &Actor) -> Result<Vec<(CaseStatus, i64)>> {
        Ok(self
            .store
            .read()
            .await?
            .case_counts(actor.tenant.id)
            .await?)
    }

    /// How many open tasks are overdue at `now`, by the team or person that owns them, most
    /// first.
    pub async fn overdue_by_owner(
        &self,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<Vec<(String, i64)>> {
        Ok(self
            .store
            .read()
            .await?
            .overdue_by_owner(actor.tenant.id, now)
            .await?)
    }

    /// Every case opened or closed at or after `since`: what the activity charts count.
    pub async fn case_activity(
        &self,
        actor: &Actor,
        since: Timestamp,
    ) -> Result<Vec<CaseActivity>> {
        Ok(self
            .store
            .read()
            .await?
            .case_activity(actor.tenant.id, since)
            .await?)
    }

    /// The actor's open tasks: assigned to them, or to one of their teams and unassigned.
    pub async fn my_tasks(&self, actor: &Actor, limit: i64) -> Result<Vec<TaskRow>> {
        let mut tx = self.store.read().await?;
        tasks_of(&mut tx, &actor.user, limit).await
    }
}

/// A person's open tasks: assigned to them, or to one of their teams (or to them through a
/// role) and unassigned.
pub(crate) async fn tasks_of(tx: &mut Tx, user: &User, limit: i64) -> Result<Vec<TaskRow>> {
    let teams: Vec<Slug> = tx
        .teams(user.tenant_id)
        .await?
        .into_iter()
        .filter(|t| t.members.contains(&user.id))
        .map(|t| t.slug)
        .collect();
    Ok(tx
        .tasks(
            user.tenant_id,
            &TaskFilter {
                mine: Some(Mine {
                    user: user.id,
                    email: user.email.to_string(),
                    teams,
                }),
                open_only: true,
                limit,
                ..TaskFilter::default()
            },
        )
        .await?)
}
