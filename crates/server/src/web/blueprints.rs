//! Blueprints: the list, one rendered as readable stages and tasks, its plan preview for a
//! chosen subject and exit date, and uploading a new version with lint problems shown at their
//! lines.

use app::{AppError, BlueprintChoice};
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use engine::blueprint::{Blueprint, Owner};
use engine::ids::{Slug, SubjectKey};
use engine::tenant::Permission;
use serde::Deserialize;
use store::SubjectFilter;

use super::subjects::{Preview, preview};
use super::{Chrome, PageError, PagePath, PageQuery, Posted, Viewer, done, given};
use crate::ServerState;
use crate::error::ApiError;
use crate::i18n::Language;
use crate::inputs::{exit_date, field};

struct BlueprintLine {
    id: String,
    version: u32,
    title: String,
    scope: String,
    applies_when: Option<String>,
    origin: &'static str,
}

/// One line of an uploaded source, with the problems lint found on it.
struct SourceLine {
    number: usize,
    text: String,
    problems: Vec<String>,
}

#[derive(Template)]
#[template(path = "web/blueprints.html")]
struct ListPage {
    chrome: Chrome,
    blueprints: Vec<BlueprintLine>,
    can_upload: bool,
    source: String,
    /// Lint's verdict on the upload, line by line, when it was refused.
    lines: Vec<SourceLine>,
    problems: usize,
    error: Option<String>,
}

async fn list_page(
    state: &ServerState,
    viewer: &Viewer,
    source: String,
    refusal: Option<AppError>,
) -> Result<Response, PageError> {
    let blueprints = state
        .app
        .blueprints(&viewer.actor)
        .await?
        .into_iter()
        .map(|(info, _, _)| BlueprintLine {
            id: info.id,
            version: info.version,
            title: info.title,
            scope: info.scope,
            applies_when: info.applies_when,
            origin: info.origin,
        })
        .collect();
    let (lines, problems, error) = match refusal {
        Some(AppError::Blueprint { diagnostics, .. }) => {
            let lines = source
                .lines()
                .enumerate()
                .map(|(i, text)| SourceLine {
                    number: i + 1,
                    text: text.to_owned(),
                    problems: diagnostics
                        .iter()
                        .filter(|d| d.line == i + 1)
                        .map(|d| {
                            viewer.lang.text_with(
                                "blueprints-lint-column",
                                &[("column", &d.column), ("message", &d.message)],
                            )
                        })
                        .collect(),
                })
                .collect();
            (lines, diagnostics.len(), None)
        }
        Some(other) => (
            Vec::new(),
            0,
            Some(ApiError::from(other).detail().to_owned()),
        ),
        None => (Vec::new(), 0, None),
    };
    let status = if problems > 0 || error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let page = ListPage {
        chrome: viewer.chrome("blueprints", viewer.lang.text("blueprints-title")),
        blueprints,
        can_upload: viewer.can(Permission::ManageBlueprints),
        source,
        lines,
        problems,
        error,
    };
    Ok(viewer.page_with_status(status, &page))
}

pub async fn list(State(state): State<ServerState>, viewer: Viewer) -> Result<Response, PageError> {
    list_page(&state, &viewer, String::new(), None).await
}

#[derive(Deserialize)]
pub struct UploadForm {
    source: String,
}

/// Publishes a new version; what lint refuses comes back inline, at its line.
pub async fn upload(
    State(state): State<ServerState>,
    Posted { viewer, form }: Posted<UploadForm>,
) -> Result<Response, PageError> {
    match state
        .app
        .add_blueprint(
            &viewer.actor,
            &viewer.lang.text("blueprints-uploaded"),
            &form.source,
        )
        .await
    {
        Ok(info) => Ok(done(
            &format!("/blueprints/{}", info.id),
            viewer.lang.text_with(
                "blueprints-published",
                &[("id", &info.id), ("version", &info.version)],
            ),
        )),
        Err(e @ (AppError::Forbidden { .. } | AppError::NotFound(_))) => Err(e.into()),
        Err(e) => list_page(&state, &viewer, form.source, Some(e)).await,
    }
}

struct StageView {
    title: String,
    freeze: bool,
    after: Vec<String>,
    tasks: Vec<TaskView>,
}

struct TaskView {
    id: String,
    title: String,
    description: String,
    owner: String,
    kind: &'static str,
    due: Option<String>,
    depends_on: Vec<String>,
    when: Option<String>,
    evidence: bool,
    checklist: Vec<String>,
}

#[derive(Template)]
#[template(path = "web/blueprint.html")]
struct ShowPage {
    chrome: Chrome,
    id: String,
    version: u32,
    title: String,
    description: String,
    scope: String,
    applies_when: Option<String>,
    word: String,
    fan_out: Option<&'static str>,
    stages: Vec<StageView>,
    checks: Vec<(String, String, &'static str, String, String)>,
    source: String,
    subjects: Vec<(String, String)>,
    subject: String,
    exit_date: String,
    preview: Option<Preview>,
    error: Option<String>,
}

fn owner(owner: &Owner, lang: &Language) -> String {
    match owner {
        Owner::Team(t) => lang.text_with("blueprint-team", &[("team", &t.to_string())]),
        Owner::Role(r) => r.as_str().replace('_', " "),
    }
}

fn stages(bp: &Blueprint, lang: &Language) -> Vec<StageView> {
    bp.stages
        .iter()
        .map(|s| StageView {
            title: s.title.clone(),
            freeze: s.freeze,
            after: s.after.iter().map(ToString::to_string).collect(),
            tasks: s
                .tasks
                .iter()
                .map(|t| TaskView {
                    id: t.id.to_string(),
                    title: t.title.clone(),
                    description: t.description.clone(),
                    owner: owner(&t.owner, lang),
                    kind: t.kind.as_str(),
                    due: t.due.as_ref().map(ToString::to_string),
                    depends_on: t.depends_on.iter().map(ToString::to_string).collect(),
                    when: t.when.as_ref().map(|c| c.source().to_owned()),
                    evidence: t.evidence_required,
                    checklist: t.checklist.clone(),
                })
                .collect(),
        })
        .collect()
}

#[derive(Deserialize)]
pub struct PlanQuery {
    #[serde(default)]
    subject: String,
    #[serde(default)]
    exit_date: String,
}

pub async fn show(
    State(state): State<ServerState>,
    viewer: Viewer,
    PagePath(id): PagePath<String>,
    PageQuery(q): PageQuery<PlanQuery>,
) -> Result<Response, PageError> {
    let app = &state.app;
    let actor = &viewer.actor;
    let id = field("blueprint", Slug::parse(&id))?;
    let Some((info, bp, source)) = app
        .blueprints(actor)
        .await?
        .into_iter()
        .find(|(i, _, _)| i.id == id.as_str())
    else {
        return Err(ApiError::not_found(format!("no blueprint `{id}`")).into());
    };
    let subjects = app
        .subjects(
            actor,
            &SubjectFilter {
                kind: Some(bp.scope),
                limit: 500,
                ..SubjectFilter::default()
            },
        )
        .await?
        .into_iter()
        .map(|s| (s.key.to_string(), s.name.as_str().to_owned()))
        .collect();
    let mut error = None;
    let planned = match (given(&q.subject), given(&q.exit_date)) {
        (Some(subject), Some(date)) => {
            let result = async {
                let subject = field("subject", SubjectKey::parse(subject))?;
                let date = exit_date(date)?;
                Ok::<_, ApiError>(
                    app.plan(
                        actor,
                        &BlueprintChoice::Id(id.clone()),
                        &subject,
                        date,
                        None,
                    )
                    .await?,
                )
            }
            .await;
            match result {
                Ok(plan) => Some(preview(&plan, &viewer)),
                Err(e) => {
                    error = Some(e.detail().to_owned());
                    None
                }
            }
        }
        _ => None,
    };
    let page = ShowPage {
        chrome: viewer.chrome("blueprints", bp.title.clone()),
        id: info.id,
        version: info.version,
        title: bp.title.clone(),
        description: bp.description.clone(),
        scope: bp.scope.to_string(),
        applies_when: info.applies_when,
        word: bp.confirmation_word.clone(),
        fan_out: bp.fan_out.map(|k| k.as_str()),
        stages: stages(&bp, &viewer.lang),
        checks: bp
            .checks
            .iter()
            .map(|c| {
                (
                    c.id.to_string(),
                    c.stage.to_string(),
                    c.severity.as_str(),
                    c.condition.source().to_owned(),
                    c.message.clone(),
                )
            })
            .collect(),
        source,
        subjects,
        subject: q.subject,
        exit_date: q.exit_date,
        preview: planned,
        error,
    };
    Ok(viewer.page(&page))
}
