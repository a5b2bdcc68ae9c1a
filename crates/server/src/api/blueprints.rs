//! Blueprints: list, lint, add a version, show, and the dry-run plan.

use app::{App, BlueprintChoice};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use engine::ids::{Email, SubjectKey};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::ServerState;
use crate::docs::{BadRequest, Conflict, JsonWriteProblems, NotFound, Unauthorized};
use crate::error::ApiError;
use crate::extract::{Body, Caller, Path};
use crate::views::{self, BlueprintInfo, BlueprintSource, LintReport, Plan};

use super::{Created, Reply};
use crate::inputs::{exit_date, field, slug};

pub(super) fn routes() -> OpenApiRouter<ServerState> {
    OpenApiRouter::new()
        .routes(routes!(list_blueprints, add_blueprint))
        .routes(routes!(lint_blueprint))
        .routes(routes!(show_blueprint))
        .routes(routes!(plan))
}

/// List blueprints
///
/// The built-in blueprints (or the tenant's newer versions of them) and the tenant's own.
#[utoipa::path(
    get,
    path = "/blueprints",
    tag = "blueprints",
    responses(
        (status = 200, description = "The blueprints", body = [BlueprintInfo]),
        (status = 401, response = Unauthorized),
    ),
    security(("token" = []), ("session" = [])),
)]
async fn list_blueprints(
    State(app): State<App>,
    Caller(actor): Caller,
) -> Reply<Vec<BlueprintInfo>> {
    let blueprints = app
        .blueprints(&actor)
        .await?
        .into_iter()
        .map(|(info, _, _)| BlueprintInfo::from(info))
        .collect();
    Ok(Json(blueprints))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct SourceBody {
    /// The blueprint's YAML.
    source: String,
}

/// Lint a blueprint
///
/// Reports every problem with its line and column, against the tenant's teams. Problems are
/// the answer here, not a failure.
#[utoipa::path(
    post,
    path = "/blueprints/lint",
    tag = "blueprints",
    request_body = SourceBody,
    responses(
        (status = 200, description = "The problems found, if any", body = LintReport),
        JsonWriteProblems,
    ),
    security(("token" = []), ("session" = [], "csrf" = [])),
)]
async fn lint_blueprint(
    State(app): State<App>,
    Caller(actor): Caller,
    Body(b): Body<SourceBody>,
) -> Reply<LintReport> {
    let report = match app.lint(&actor, &b.source).await {
        Ok(bp) => LintReport {
            ok: true,
            id: Some(bp.id.to_string()),
            version: Some(bp.version),
            problems: Vec::new(),
        },
        Err(problems) => LintReport {
            ok: false,
            id: None,
            version: None,
            problems: views::list(problems),
        },
    };
    Ok(Json(report))
}

/// Add a blueprint version
///
/// After lint; the version must be higher than any the tenant (or the built-in of the same id)
/// has.
#[utoipa::path(
    post,
    path = "/blueprints",
    tag = "blueprints",
    request_body = SourceBody,
    responses(
        (status = 201, description = "The blueprint as added", body = BlueprintInfo),
        JsonWriteProblems,
        (status = 409, response = Conflict),
    ),
    security(("token" = []), ("session" = [], "csrf" = [])),
)]
async fn add_blueprint(
    State(app): State<App>,
    Caller(actor): Caller,
    Body(b): Body<SourceBody>,
) -> Created<BlueprintInfo> {
    let info = app
        .add_blueprint(&actor, "the uploaded blueprint", &b.source)
        .await?;
    Ok((StatusCode::CREATED, Json(info.into())))
}

/// Show a blueprint
///
/// Its latest version, with the YAML.
#[utoipa::path(
    get,
    path = "/blueprints/{id}",
    tag = "blueprints",
    params(("id" = String, Path, description = "The blueprint's id")),
    responses(
        (status = 200, description = "The blueprint", body = BlueprintSource),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
    ),
    security(("token" = []), ("session" = [])),
)]
async fn show_blueprint(
    State(app): State<App>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> Reply<BlueprintSource> {
    let id = slug(&id, "blueprint")?;
    let (info, _, source) = app
        .blueprints(&actor)
        .await?
        .into_iter()
        .find(|(info, _, _)| info.id == id.as_str())
        .ok_or_else(|| ApiError::not_found(format!("no blueprint `{id}`")))?;
    Ok(Json(BlueprintSource {
        blueprint: info.into(),
        source,
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct PlanBody {
    /// The subject's key.
    subject: String,
    /// `YYYY-MM-DD`.
    #[schema(format = Date)]
    exit_date: String,
    /// The case owner's email, whose tasks the plan names them for (default: you).
    #[serde(default)]
    owner: Option<String>,
}

/// Plan a case (dry run)
///
/// The tasks, due dates and findings a case for this subject would get; nothing is written.
#[utoipa::path(
    post,
    path = "/blueprints/{id}/plan",
    tag = "blueprints",
    params(("id" = String, Path, description = "The blueprint's id")),
    request_body = PlanBody,
    responses(
        (status = 200, description = "The plan", body = Plan),
        JsonWriteProblems,
        (status = 404, response = NotFound),
    ),
    security(("token" = []), ("session" = [], "csrf" = [])),
)]
async fn plan(
    State(app): State<App>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    Body(b): Body<PlanBody>,
) -> Reply<Plan> {
    let choice = BlueprintChoice::Id(slug(&id, "blueprint")?);
    let plan = app
        .plan(
            &actor,
            &choice,
            &field("subject", SubjectKey::parse(&b.subject))?,
            exit_date(&b.exit_date)?,
            b.owner
                .as_deref()
                .map(|o| field("owner", Email::parse(o)))
                .transpose()?
                .as_ref(),
        )
        .await?;
    Ok(Json(plan.into()))
}
