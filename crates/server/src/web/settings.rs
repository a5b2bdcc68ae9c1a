//! Settings → General: the organization, Start Organization Offboarding (the owner's alone),
//! retention policies and legal holds.

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use engine::governance::Retention;
use engine::ids::{HoldId, SubjectKey, Text};
use engine::subject::{SubjectKind, SubjectState};
use engine::tenant::Permission;
use serde::Deserialize;
use store::{Store, SubjectFilter};

use super::{Chrome, PageError, PagePath, People, Posted, Viewer, day, given, outcome};
use crate::ServerState;
use crate::api::field;
use crate::error::ApiError;

struct HoldLine {
    id: String,
    covers: String,
    reason: String,
    placed: String,
}

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
}

pub async fn general<S: Store>(
    State(state): State<ServerState<S>>,
    viewer: Viewer,
) -> Result<Response, PageError> {
    let app = &state.app;
    let actor = &viewer.actor;
    let people = People::load(app, actor).await?;
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
                p.kind.map_or("every other kind", |k| k.as_str()).to_owned(),
                p.period.to_string(),
                format!("{} on {}", people.name(p.set_by), day(p.set_at)),
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
                .map_or_else(|| "the whole organization".to_owned(), |k| k.to_string()),
            reason: h.reason,
            placed: format!("{} on {}", people.name(h.placed_by), day(h.placed_at)),
        })
        .collect();
    Ok(viewer.page(&GeneralPage {
        chrome: viewer.chrome("settings", "Settings"),
        tenant_name: actor.tenant.name.as_str().to_owned(),
        tenant_slug: actor.tenant.slug.to_string(),
        organizations,
        organization_case,
        policies,
        holds,
        kinds: &["client", "product", "employee", "organization"],
        today: day(app.now()),
    }))
}

#[derive(Deserialize)]
pub struct HoldForm {
    #[serde(default)]
    subject: String,
    reason: String,
}

fn hold_reason(text: &str) -> Result<Text, ApiError> {
    field("reason", Text::paragraph(text, app::HOLD_REASON_MAX))
}

pub async fn place_hold<S: Store>(
    State(state): State<ServerState<S>>,
    Posted { viewer, form }: Posted<HoldForm>,
) -> Result<Response, PageError> {
    let result = async {
        let subject = given(&form.subject)
            .map(|k| field("subject", SubjectKey::parse(k)))
            .transpose()?;
        let hold = state
            .app
            .place_hold(&viewer.actor, subject.as_ref(), hold_reason(&form.reason)?)
            .await?;
        Ok::<_, ApiError>(format!(
            "Placed a legal hold over {}: nothing it covers is purged until it is lifted.",
            hold.subject_key
                .map_or_else(|| "the whole organization".to_owned(), |k| k.to_string())
        ))
    }
    .await;
    Ok(outcome("/settings", result))
}

#[derive(Deserialize)]
pub struct LiftForm {
    reason: String,
}

pub async fn lift_hold<S: Store>(
    State(state): State<ServerState<S>>,
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
            .lift_hold(&viewer.actor, id, hold_reason(&form.reason)?)
            .await?;
        Ok::<_, ApiError>("Lifted the legal hold.".to_owned())
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

pub async fn set_retention<S: Store>(
    State(state): State<ServerState<S>>,
    Posted { viewer, form }: Posted<RetentionForm>,
) -> Result<Response, PageError> {
    let result = async {
        let kind = given(&form.kind)
            .map(|k| field("kind", k.parse::<SubjectKind>()))
            .transpose()?;
        let period = field("period", Retention::parse(form.period.trim()))?;
        let policy = state.app.set_retention(&viewer.actor, kind, period).await?;
        Ok::<_, ApiError>(format!(
            "Offboarded {} are kept {} after completion, then purged.",
            policy.kind.map_or("subjects", |k| k.as_str()),
            policy.period
        ))
    }
    .await;
    Ok(outcome("/settings", result))
}
