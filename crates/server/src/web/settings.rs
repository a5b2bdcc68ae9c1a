//! Settings → General: the organization, Start Organization Offboarding (the owner's alone),
//! retention policies and legal holds; the connectors and webhooks that automate the exit, and
//! the jobs that gave up (sent again from here).

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use engine::governance::Retention;
use engine::ids::{HoldId, JobId, SubjectKey};
use engine::job::JobStatus;
use engine::subject::{SubjectKind, SubjectState};
use engine::tenant::Permission;
use serde::Deserialize;
use store::{JobFilter, SubjectFilter};

use super::{Chrome, NoFields, PageError, PagePath, People, Posted, Viewer, given, outcome};
use crate::ServerState;
use crate::error::ApiError;
use crate::inputs::{field, reason};

struct HoldLine {
    id: String,
    covers: String,
    reason: String,
    placed: String,
}

struct WebhookLine {
    name: String,
    url: String,
    events: String,
    delivered_through: i64,
    last_error: Option<String>,
}

struct DeadJob {
    id: String,
    kind: String,
    attempts: i64,
    finished: String,
    last_error: String,
}

/// How many dead jobs the page lists; `exeunt jobs list --status dead` has them all.
const DEAD_JOBS_SHOWN: i64 = 20;

#[derive(Template)]
#[template(path = "web/settings.html")]
struct GeneralPage {
    chrome: Chrome,
    tenant_name: String,
    tenant_slug: String,
    /// The organization subjects that can be offboarded (the owner sees these only).
    organizations: Vec<(String, String)>,
    organization_case: Option<i64>,
    policies: Vec<(String, String, String)>,
    holds: Vec<HoldLine>,
    kinds: &'static [&'static str],
    today: String,
    /// Name, kind and target of each connector.
    connectors: Vec<(String, &'static str, String)>,
    webhooks: Vec<WebhookLine>,
    dead_jobs: Vec<DeadJob>,
    can_retry: bool,
    time_zone: String,
    can_manage_users: bool,
    zones: &'static [String],
}

pub async fn general(
    State(state): State<ServerState>,
    viewer: Viewer,
) -> Result<Response, PageError> {
    let app = &state.app;
    let actor = &viewer.actor;
    let people = People::load(app, actor).await?;
    let lang = &viewer.lang;
    let owner = viewer.can(Permission::GovernTenant);
    let mut organizations = Vec::new();
    let mut organization_case = None;
    if owner {
        for org in app
            .subjects(
                actor,
                &SubjectFilter {
                    kind: Some(SubjectKind::Organization),
                    limit: 10,
                    ..SubjectFilter::default()
                },
            )
            .await?
        {
            match org.state {
                SubjectState::Active => {
                    organizations.push((org.key.to_string(), org.name.as_str().to_owned()));
                }
                _ => {
                    organization_case =
                        organization_case.or(app.subject(actor, &org.key).await?.open_case);
                }
            }
        }
    }
    let policies = app
        .retention_policies(actor)
        .await?
        .into_iter()
        .map(|p| {
            (
                p.kind.map_or_else(
                    || lang.text("settings-every-other-kind"),
                    |k| k.as_str().to_owned(),
                ),
                p.period.to_string(),
                lang.text_with(
                    "shared-who-on",
                    &[
                        ("who", &people.name(p.set_by)),
                        ("day", &viewer.day(p.set_at)),
                    ],
                ),
            )
        })
        .collect();
    let holds = app
        .holds(actor, None)
        .await?
        .into_iter()
        .filter(|h| h.lifted.is_none())
        .map(|h| HoldLine {
            id: h.id.to_string(),
            covers: h
                .subject_key
                .map_or_else(|| lang.text("shared-whole-organization"), |k| k.to_string()),
            reason: h.reason,
            placed: lang.text_with(
                "shared-who-on",
                &[
                    ("who", &people.name(h.placed_by)),
                    ("day", &viewer.day(h.placed_at)),
                ],
            ),
        })
        .collect();
    let connectors = app
        .connectors(actor)
        .await?
        .into_iter()
        .map(|c| {
            (
                c.name.to_string(),
                c.kind.as_str(),
                c.settings.target().to_owned(),
            )
        })
        .collect();
    let webhooks = app
        .subscriptions(actor)
        .await?
        .into_iter()
        .map(|w| WebhookLine {
            name: w.name.to_string(),
            url: w.settings.url,
            events: w.settings.events.join(", "),
            delivered_through: w.cursor_seq,
            last_error: w.last_error,
        })
        .collect();
    let dead = JobFilter {
        status: Some(JobStatus::Dead),
        case: None,
        before: None,
        limit: DEAD_JOBS_SHOWN,
    };
    let dead_jobs = app
        .jobs(actor, &dead)
        .await?
        .into_iter()
        .map(|j| DeadJob {
            id: j.id.to_string(),
            kind: j.kind.to_string(),
            attempts: j.attempts,
            finished: j.finished_at.map(|t| viewer.day(t)).unwrap_or_default(),
            last_error: j.last_error.unwrap_or_default(),
        })
        .collect();
    Ok(viewer.page(&GeneralPage {
        chrome: viewer.chrome("settings", lang.text("settings-title")),
        tenant_name: actor.tenant.name.as_str().to_owned(),
        tenant_slug: actor.tenant.slug.to_string(),
        organizations,
        organization_case,
        policies,
        holds,
        kinds: &["client", "product", "employee", "organization"],
        today: viewer.day(app.now()),
        connectors,
        webhooks,
        dead_jobs,
        can_retry: viewer.can(Permission::RunCases),
        time_zone: actor.tenant.time_zone.to_string(),
        can_manage_users: viewer.can(Permission::ManageUsers),
        zones: super::zone_names(),
    }))
}

#[derive(Deserialize)]
pub struct HoldForm {
    #[serde(default)]
    subject: String,
    reason: String,
}

pub async fn place_hold(
    State(state): State<ServerState>,
    Posted { viewer, form }: Posted<HoldForm>,
) -> Result<Response, PageError> {
    let result = async {
        let subject = given(&form.subject)
            .map(|k| field("subject", SubjectKey::parse(k)))
            .transpose()?;
        let hold = state
            .app
            .place_hold(&viewer.actor, subject.as_ref(), reason(&form.reason)?)
            .await?;
        let lang = &viewer.lang;
        let covers = hold
            .subject_key
            .map_or_else(|| lang.text("shared-whole-organization"), |k| k.to_string());
        Ok::<_, ApiError>(lang.text_with("settings-hold-placed", &[("covers", &covers)]))
    }
    .await;
    Ok(outcome("/settings", result))
}

#[derive(Deserialize)]
pub struct LiftForm {
    reason: String,
}

pub async fn lift_hold(
    State(state): State<ServerState>,
    PagePath(id): PagePath<String>,
    Posted { viewer, form }: Posted<LiftForm>,
) -> Result<Response, PageError> {
    let result = async {
        let id = id
            .parse::<uuid::Uuid>()
            .map(HoldId)
            .map_err(|_| ApiError::invalid("hold", format!("`{id}` is not a hold id")))?;
        state
            .app
            .lift_hold(&viewer.actor, id, reason(&form.reason)?)
            .await?;
        Ok::<_, ApiError>(viewer.lang.text("settings-hold-lifted"))
    }
    .await;
    Ok(outcome("/settings", result))
}

#[derive(Deserialize)]
pub struct RetentionForm {
    #[serde(default)]
    kind: String,
    period: String,
}

pub async fn set_retention(
    State(state): State<ServerState>,
    Posted { viewer, form }: Posted<RetentionForm>,
) -> Result<Response, PageError> {
    let result = async {
        let kind = given(&form.kind)
            .map(|k| field("kind", k.parse::<SubjectKind>()))
            .transpose()?;
        let period = field("period", Retention::parse(form.period.trim()))?;
        let policy = state.app.set_retention(&viewer.actor, kind, period).await?;
        let lang = &viewer.lang;
        let kind = policy.kind.map_or_else(
            || lang.text("settings-retention-subjects"),
            |k| k.as_str().to_owned(),
        );
        Ok::<_, ApiError>(lang.text_with(
            "settings-retention-set-done",
            &[("kind", &kind), ("period", &policy.period.to_string())],
        ))
    }
    .await;
    Ok(outcome("/settings", result))
}

pub async fn set_time_zone(
    State(state): State<ServerState>,
    Posted { viewer, form }: Posted<super::home::TimeZoneForm>,
) -> Result<Response, PageError> {
    let result = async {
        let tenant = state
            .app
            .set_tenant_time_zone(&viewer.actor, form.zone()?)
            .await?;
        Ok::<_, ApiError>(viewer.lang.text_with(
            "settings-time-zone-set",
            &[("zone", &tenant.time_zone.to_string())],
        ))
    }
    .await;
    Ok(outcome("/settings", result))
}

pub async fn retry_job(
    State(state): State<ServerState>,
    PagePath(id): PagePath<String>,
    Posted { viewer, .. }: Posted<NoFields>,
) -> Result<Response, PageError> {
    let result = async {
        let id = id
            .parse::<uuid::Uuid>()
            .map(JobId)
            .map_err(|_| ApiError::invalid("job", format!("`{id}` is not a job id")))?;
        let job = state.app.retry_job(&viewer.actor, id).await?;
        Ok::<_, ApiError>(viewer.lang.text_with(
            "settings-dead-job-retried",
            &[("id", &job.id.to_string()), ("kind", &job.kind.to_string())],
        ))
    }
    .await;
    Ok(outcome("/settings", result))
}
