//! Tenants, users, teams, subjects and records.

use engine::fields::{PersonName, TenantName};
use engine::ids::{Email, RecordId, Slug, SubjectId, SubjectKey, TenantId, Text, UserId, ZoneName};
use engine::subject::{
    Attributes, Record, RecordFields, RecordKind, Subject, SubjectKind, SubjectState,
};
use engine::teams::DEFAULT_TEAMS;
use engine::tenant::{Permission, Role, Team, Tenant, User};
use serde::Serialize;
use serde_json::json;
use store::{SubjectFilter, Tx};

use crate::{Actor, App, AppError, Result, Target};

/// A subject to add, already parsed.
#[derive(Clone, Debug)]
pub struct NewSubject {
    pub key: SubjectKey,
    pub kind: SubjectKind,
    pub name: Text,
    /// The key of the client a product belongs to.
    pub parent: Option<SubjectKey>,
    pub attributes: Attributes,
}

/// A subject with its records and its parent.
#[derive(Clone, Debug, Serialize)]
pub struct SubjectView {
    pub subject: Subject,
    pub parent: Option<Subject>,
    pub records: Vec<Record>,
    pub open_case: Option<i64>,
}

/// How many records a subject's page shows.
pub const RECORDS_ON_A_PAGE: i64 = 100;

/// A subject as its page shows it: the first [`RECORDS_ON_A_PAGE`] records, and whether there
/// are more.
#[derive(Clone, Debug)]
pub struct SubjectPage {
    pub subject: Subject,
    pub parent: Option<Subject>,
    pub records: Vec<Record>,
    pub more_records: bool,
    pub open_case: Option<i64>,
}

impl App {
    /// Creates a tenant with its owner and the default teams. The owner is also the tenant's
    /// first actor, so the audit chain starts with its own creation.
    pub async fn init_tenant(
        &self,
        slug: Slug,
        name: TenantName,
        owner_email: Email,
        owner_name: PersonName,
    ) -> Result<Actor> {
        let at = self.now();
        let mut tx = self.store.write().await?;
        if tx.tenant_by_slug(&slug).await?.is_some() {
            return Err(AppError::Conflict(format!(
                "a tenant `{slug}` already exists here"
            )));
        }
        let tenant = Tenant {
            id: TenantId(self.new_id()),
            slug,
            name: name.into(),
            time_zone: ZoneName::utc(),
        };
        let owner = User {
            tenant_id: tenant.id,
            id: UserId(self.new_id()),
            email: owner_email,
            name: owner_name.into(),
            role: Role::Owner,
            time_zone: ZoneName::utc(),
        };
        tx.insert_tenant(&tenant, at).await?;
        tx.insert_user(&owner, at).await?;
        let actor = Actor {
            tenant,
            user: owner,
        };
        self.audit(&mut tx, &actor, at, "tenant.created", ("tenant", actor.tenant.id.to_string()),
            json!({"summary": format!("created tenant {}", actor.tenant.slug), "name": actor.tenant.name})).await?;
        self.audit(
            &mut tx,
            &actor,
            at,
            "user.created",
            ("user", actor.user.id.to_string()),
            json!({"summary": "created the owner", "email": actor.user.email, "role": "owner"}),
        )
        .await?;
        for (slug, name) in DEFAULT_TEAMS {
            let team = Team {
                slug: Slug::parse(slug).map_err(|e| AppError::invalid("team", e))?,
                name: Text::line(name, 200).map_err(|e| AppError::invalid("team", e))?,
                members: Vec::new(),
            };
            tx.insert_team(actor.tenant.id, &team).await?;
            self.audit(
                &mut tx,
                &actor,
                at,
                "team.created",
                ("team", team.slug.to_string()),
                json!({"summary": format!("created team {}", team.slug), "name": team.name}),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(actor)
    }

    /// The slugs of every tenant on this installation.
    pub async fn tenant_slugs(&self) -> Result<Vec<Slug>> {
        Ok(self
            .store
            .read()
            .await?
            .tenants()
            .await?
            .into_iter()
            .map(|t| t.slug)
            .collect())
    }

    /// Resolves who is acting: the tenant by slug (or the only one) and the user by email (or
    /// the tenant's first owner).
    pub async fn actor(&self, tenant: Option<&Slug>, email: Option<&Email>) -> Result<Actor> {
        let mut tx = self.store.read().await?;
        let tenant = match tenant {
            Some(slug) => tx
                .tenant_by_slug(slug)
                .await?
                .ok_or_else(|| AppError::NotFound(format!("no tenant `{slug}`")))?,
            None => {
                let mut all = tx.tenants().await?;
                match all.len() {
                    0 => {
                        return Err(AppError::NotFound(
                            "no tenant here yet; run `exeunt init` first".into(),
                        ));
                    }
                    1 => all.remove(0),
                    _ => {
                        let names: Vec<String> = all.iter().map(|t| t.slug.to_string()).collect();
                        return Err(AppError::invalid(
                            "tenant",
                            format!("several tenants exist ({}); name one", names.join(", ")),
                        ));
                    }
                }
            }
        };
        let user = match email {
            Some(email) => tx.user_by_email(tenant.id, email).await?.ok_or_else(|| {
                AppError::NotFound(format!("no user {email} in tenant {}", tenant.slug))
            })?,
            None => tx
                .users(tenant.id)
                .await?
                .into_iter()
                .find(|u| u.role == Role::Owner)
                .ok_or_else(|| {
                    AppError::NotFound(format!("tenant {} has no owner", tenant.slug))
                })?,
        };
        Ok(Actor { tenant, user })
    }

    pub async fn add_user(
        &self,
        actor: &Actor,
        email: Email,
        name: PersonName,
        role: Role,
        teams: &[Slug],
    ) -> Result<User> {
        actor.require(Permission::ManageUsers)?;
        actor.outranks(role, "create")?;
        let at = self.now();
        let mut tx = self.store.write().await?;
        if tx.user_by_email(actor.tenant.id, &email).await?.is_some() {
            return Err(AppError::Conflict(format!("a user {email} already exists")));
        }
        let known = tx.teams(actor.tenant.id).await?;
        for team in teams {
            if !known.iter().any(|t| &t.slug == team) {
                return Err(AppError::invalid("teams", format!("unknown team `{team}`")));
            }
        }
        let user = User {
            tenant_id: actor.tenant.id,
            id: UserId(self.new_id()),
            email,
            name: name.into(),
            role,
            time_zone: actor.tenant.time_zone.clone(),
        };
        tx.insert_user(&user, at).await?;
        for team in teams {
            tx.add_team_member(actor.tenant.id, team, user.id).await?;
        }
        self.audit(&mut tx, actor, at, "user.created", ("user", user.id.to_string()),
            json!({"summary": format!("added {} as {}", user.email, user.role), "email": user.email, "role": user.role, "teams": teams})).await?;
        tx.commit().await?;
        Ok(user)
    }

    /// Sets the time zone people added to the tenant from now on start in; those already
    /// there keep theirs.
    pub async fn set_tenant_time_zone(&self, actor: &Actor, zone: ZoneName) -> Result<Tenant> {
        actor.require(Permission::ManageUsers)?;
        let at = self.now();
        let mut tx = self.store.write().await?;
        tx.set_tenant_time_zone(actor.tenant.id, &zone).await?;
        self.audit(&mut tx, actor, at, "tenant.time_zone_set", ("tenant", actor.tenant.id.to_string()),
            json!({"summary": format!("people added from now on start in {zone}"), "from": actor.tenant.time_zone, "to": zone})).await?;
        tx.commit().await?;
        Ok(Tenant {
            time_zone: zone,
            ..actor.tenant.clone()
        })
    }

    /// Sets where the actor is; everyone sets their own, whatever their role.
    pub async fn set_time_zone(&self, actor: &Actor, zone: ZoneName) -> Result<User> {
        let at = self.now();
        let mut tx = self.store.write().await?;
        tx.set_user_time_zone(actor.tenant.id, actor.user.id, &zone)
            .await?;
        self.audit(&mut tx, actor, at, "user.time_zone_set", ("user", actor.user.id.to_string()),
            json!({"summary": format!("set their time zone to {zone}"), "from": actor.user.time_zone, "to": zone})).await?;
        tx.commit().await?;
        Ok(User {
            time_zone: zone,
            ..actor.user.clone()
        })
    }

    pub async fn users(&self, actor: &Actor) -> Result<Vec<User>> {
        Ok(self.store.read().await?.users(actor.tenant.id).await?)
    }

    pub async fn teams(&self, actor: &Actor) -> Result<Vec<Team>> {
        Ok(self.store.read().await?.teams(actor.tenant.id).await?)
    }

    /// Adds subjects all together: if one is refused, none is added. The error names the
    /// position (0-based) of the subject at fault.
    pub async fn add_subjects(
        &self,
        actor: &Actor,
        subjects: Vec<NewSubject>,
    ) -> Result<Vec<Subject>, (usize, AppError)> {
        actor.require(Permission::RunCases).map_err(|e| (0, e))?;
        let at = self.now();
        let mut tx = self.store.write().await.map_err(|e| (0, e.into()))?;
        let mut added: Vec<Subject> = Vec::new();
        let watched = self.watch("subjects", subjects.len() as u64);
        for (i, new) in subjects.into_iter().enumerate() {
            let subject = self
                .check_new_subject(&mut tx, actor, &added, new)
                .await
                .map_err(|e| (i, e))?;
            tx.insert_subject(&subject, at)
                .await
                .map_err(|e| (i, e.into()))?;
            self.audit(&mut tx, actor, at, "subject.created", Target::of(subject.id, "subject", subject.id.to_string()),
                json!({"summary": format!("added {} {}", subject.kind, subject.key), "key": subject.key,
                       "name": subject.name, "attributes": subject.attributes}))
                .await
                .map_err(|e| (i, e))?;
            added.push(subject);
            watched.advance(1);
        }
        tx.commit().await.map_err(|e| (0, e.into()))?;
        Ok(added)
    }

    async fn check_new_subject(
        &self,
        tx: &mut Tx,
        actor: &Actor,
        batch: &[Subject],
        new: NewSubject,
    ) -> Result<Subject> {
        let tenant = actor.tenant.id;
        if tx.subject_by_key(tenant, &new.key).await?.is_some()
            || batch.iter().any(|s| s.key == new.key)
        {
            return Err(AppError::Conflict(format!(
                "a subject `{}` already exists",
                new.key
            )));
        }
        let parent_id = match (new.kind, &new.parent) {
            (SubjectKind::Product, None) => {
                return Err(AppError::invalid(
                    "parent",
                    "a product needs the key of the client it belongs to",
                ));
            }
            (SubjectKind::Product, Some(key)) => {
                let parent = match batch.iter().find(|s| &s.key == key) {
                    Some(s) => s.clone(),
                    None => tx.subject_by_key(tenant, key).await?.ok_or_else(|| {
                        AppError::invalid("parent", format!("no subject `{key}`"))
                    })?,
                };
                if parent.kind != SubjectKind::Client {
                    return Err(AppError::invalid(
                        "parent",
                        format!(
                            "`{key}` is a {}; a product belongs to a client",
                            parent.kind
                        ),
                    ));
                }
                Some(parent.id)
            }
            (_, Some(_)) => return Err(AppError::invalid("parent", "only a product has a parent")),
            (_, None) => None,
        };
        Ok(Subject {
            tenant_id: tenant,
            id: SubjectId(self.new_id()),
            key: new.key,
            kind: new.kind,
            name: new.name,
            parent_id,
            state: SubjectState::Active,
            attributes: new.attributes,
        })
    }

    /// The tenant's subjects by kind then key; after the subject `filter.after` names, which
    /// must be one of the tenant's.
    pub async fn subjects(&self, actor: &Actor, filter: &SubjectFilter) -> Result<Vec<Subject>> {
        let mut tx = self.store.read().await?;
        if let Some(after) = &filter.after {
            find_subject(&mut tx, actor, after).await?;
        }
        Ok(tx.subjects(actor.tenant.id, filter).await?)
    }

    pub async fn subject(&self, actor: &Actor, key: &SubjectKey) -> Result<SubjectView> {
        let mut tx = self.store.read().await?;
        load_subject(&mut tx, actor, key).await
    }

    /// A subject's page: the subject with the first [`RECORDS_ON_A_PAGE`] of its records
    /// (where [`SubjectView`] has them all), so that it costs the same however many records
    /// the subject has; [`App::records`] lists the rest.
    pub async fn subject_page(&self, actor: &Actor, key: &SubjectKey) -> Result<SubjectPage> {
        let mut tx = self.store.read().await?;
        let subject = find_subject(&mut tx, actor, key).await?;
        let parent = parent_of(&mut tx, actor, &subject).await?;
        let mut records = tx
            .records_page(actor.tenant.id, subject.id, 0, RECORDS_ON_A_PAGE + 1)
            .await?;
        let more_records = records.len() as i64 > RECORDS_ON_A_PAGE;
        records.truncate(RECORDS_ON_A_PAGE as usize);
        let open_case = tx.open_case_of(actor.tenant.id, subject.id).await?;
        Ok(SubjectPage {
            subject,
            parent,
            records,
            more_records,
            open_case,
        })
    }

    /// Up to `limit` of the subject's records numbered above `after`, in number order.
    pub async fn records(
        &self,
        actor: &Actor,
        key: &SubjectKey,
        after: i64,
        limit: i64,
    ) -> Result<Vec<Record>> {
        let mut tx = self.store.read().await?;
        let subject = find_subject(&mut tx, actor, key).await?;
        Ok(tx
            .records_page(actor.tenant.id, subject.id, after, limit)
            .await?)
    }

    pub async fn add_record(
        &self,
        actor: &Actor,
        key: &SubjectKey,
        kind: RecordKind,
        fields: RecordFields,
    ) -> Result<Record> {
        actor.require(Permission::RunCases)?;
        let at = self.now();
        let mut tx = self.store.write().await?;
        let subject = writable_subject(&mut tx, actor, key).await?;
        if let Some(frozen) = frozen_by(&mut tx, actor, &subject).await? {
            return Err(AppError::Locked(frozen));
        }
        let number = tx.next_record_number(actor.tenant.id, subject.id).await?;
        let record = Record {
            id: RecordId(self.new_id()),
            subject_id: subject.id,
            number,
            kind,
            fields,
        };
        tx.insert_record(actor.tenant.id, &record, at).await?;
        self.audit(&mut tx, actor, at, "record.created", Target::of(subject.id, "record", format!("{key}/{number}")),
            json!({"summary": format!("added {kind} {number} to {key}"), "kind": kind, "fields": record.fields})).await?;
        // An account found while the subject's case runs is revoked at the exit too.
        if kind == RecordKind::Account
            && let Some(case) = tx.open_case_of(actor.tenant.id, subject.id).await?
            && let Some(file) = tx.case_file(actor.tenant.id, case).await?
        {
            self.schedule_revocations(&mut tx, actor.tenant.id, &file, at)
                .await?;
        }
        tx.commit().await?;
        Ok(record)
    }

    /// Changes fields of a record (an empty value removes one); the whole record is checked
    /// again against its kind.
    pub async fn update_record(
        &self,
        actor: &Actor,
        key: &SubjectKey,
        number: i64,
        changes: &[(String, String)],
    ) -> Result<Record> {
        actor.require(Permission::RunCases)?;
        let at = self.now();
        let mut tx = self.store.write().await?;
        let subject = writable_subject(&mut tx, actor, key).await?;
        let mut record = tx
            .records(actor.tenant.id, subject.id)
            .await?
            .into_iter()
            .find(|r| r.number == number)
            .ok_or_else(|| AppError::NotFound(format!("`{key}` has no record {number}")))?;
        let allowed = record.kind.offboarding_fields();
        let beyond_offboarding = changes
            .iter()
            .any(|(field, _)| !allowed.contains(&field.as_str()));
        if beyond_offboarding && let Some(frozen) = frozen_by(&mut tx, actor, &subject).await? {
            let may = if allowed.is_empty() {
                String::new()
            } else {
                format!(
                    "; of a {}, only {} may change",
                    record.kind,
                    allowed.join(", ")
                )
            };
            return Err(AppError::Locked(format!("{frozen}{may}")));
        }
        let before = record.fields.clone();
        record.fields = before
            .with(
                record.kind,
                changes.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            )
            .map_err(|e| AppError::invalid("fields", e))?;
        tx.update_record(actor.tenant.id, &record).await?;
        self.audit(&mut tx, actor, at, "record.updated", Target::of(subject.id, "record", format!("{key}/{number}")),
            json!({"summary": format!("changed {} {number} of {key}", record.kind), "before": before, "after": record.fields})).await?;
        tx.commit().await?;
        Ok(record)
    }
}

/// Why the subject's records are frozen, if a running case froze them: it reached a freezing
/// stage, and until it ends only the offboarding's own fields may change.
pub(crate) async fn frozen_by(
    tx: &mut Tx,
    actor: &Actor,
    subject: &Subject,
) -> Result<Option<String>> {
    let Some(number) = tx.open_case_of(actor.tenant.id, subject.id).await? else {
        return Ok(None);
    };
    let stage = tx
        .case_file(actor.tenant.id, number)
        .await?
        .and_then(|file| file.freezing_stage().map(|stage| stage.title.clone()));
    Ok(stage.map(|stage| {
        format!(
            "subject `{}` is frozen by case {number}, which reached its {stage} stage: its \
             records are read-only until the case ends (cancelling it lifts the freeze)",
            subject.key
        )
    }))
}

/// A subject whose records may still change.
async fn writable_subject(tx: &mut Tx, actor: &Actor, key: &SubjectKey) -> Result<Subject> {
    let subject = find_subject(tx, actor, key).await?;
    if matches!(
        subject.state,
        SubjectState::Offboarded | SubjectState::Purged
    ) {
        return Err(AppError::Conflict(format!(
            "subject `{key}` is {}; its records can no longer change",
            subject.state
        )));
    }
    Ok(subject)
}

/// The tenant's user with `email`, given in `field` for work (a case to own, a task or a
/// party to act on, work to take over): a read-only auditor is refused, as nobody could then
/// do the work.
pub(crate) async fn user_who_acts(
    tx: &mut Tx,
    actor: &Actor,
    field: &'static str,
    email: &Email,
) -> Result<User> {
    let user = tx
        .user_by_email(actor.tenant.id, email)
        .await?
        .ok_or_else(|| {
            AppError::invalid(
                field,
                format!("{email} is not a user of this tenant; expected the email of one"),
            )
        })?;
    if !user.role.allows(Permission::CompleteOwnTask) {
        return Err(AppError::invalid(
            field,
            format!(
                "{} ({email}) is an {}, who only reads; choose someone who can do the work",
                user.name, user.role
            ),
        ));
    }
    Ok(user)
}

pub(crate) async fn find_subject(tx: &mut Tx, actor: &Actor, key: &SubjectKey) -> Result<Subject> {
    tx.subject_by_key(actor.tenant.id, key)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no subject `{key}`")))
}

/// The client a product belongs to, if it is one.
async fn parent_of(tx: &mut Tx, actor: &Actor, subject: &Subject) -> Result<Option<Subject>> {
    Ok(match subject.parent_id {
        Some(p) => tx.subject(actor.tenant.id, p).await?,
        None => None,
    })
}

pub(crate) async fn load_subject(
    tx: &mut Tx,
    actor: &Actor,
    key: &SubjectKey,
) -> Result<SubjectView> {
    let subject = find_subject(tx, actor, key).await?;
    let parent = parent_of(tx, actor, &subject).await?;
    let records = tx.records(actor.tenant.id, subject.id).await?;
    let open_case = tx.open_case_of(actor.tenant.id, subject.id).await?;
    Ok(SubjectView {
        subject,
        parent,
        records,
        open_case,
    })
}
