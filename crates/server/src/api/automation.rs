//! The automation part of the API: background jobs, the connectors that revoke access, the
//! webhooks audit events go out to, the wording of emails, and who gets which by email.

use app::App;
use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use engine::ids::{JobId, Slug};
use serde::Deserialize;
use store::JobFilter;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Reply, default_limit, next_page, page, status_param};
use crate::ServerState;
use crate::docs::{
    BadRequest, Conflict, Forbidden, JsonWriteProblems, NotFound, Unauthorized,
    UnprocessableContent,
};
use crate::error::ApiError;
use crate::extract::{Body, Caller, Params, Path, segment};
use crate::inputs::{case_number, field};
use crate::views::{self, Connector, EmailPreference, EmailTemplate, Job, Removed, Webhook};

pub(super) fn routes() -> OpenApiRouter<ServerState> {
    OpenApiRouter::new()
        .routes(routes!(list_jobs))
        .routes(routes!(retry_job))
        .routes(routes!(list_connectors))
        .routes(routes!(set_connector, remove_connector))
        .routes(routes!(list_webhooks))
        .routes(routes!(set_webhook, remove_webhook))
        .routes(routes!(list_email_templates))
        .routes(routes!(set_email_template, reset_email_template))
        .routes(routes!(list_email_preferences, set_email_preferences))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct JobQuery {
    /// Only jobs in this status: queued, running, done or dead.
    // Text parsed by the handler, so that an unknown status is a 422 that lists the valid ones.
    status: Option<String>,
    /// Only the jobs of the case with this number.
    // Text parsed by the handler (`inputs::case_number`), as a case number in a path is.
    #[param(value_type = Option<i64>, minimum = 1)]
    case: Option<String>,
    /// Only jobs older than the one with this id. The next page starts below the last job of
    /// this one (the `Link` header with `rel="next"` names it).
    #[param(value_type = Option<uuid::Uuid>)]
    before: Option<String>,
    #[serde(default = "default_limit")]
    #[param(default = default_limit, minimum = 1, maximum = 1000)]
    limit: i64,
}

/// List background jobs
///
/// The tenant's jobs (emails, connector calls), newest first, with their attempts and last
/// error.
#[utoipa::path(
    get,
    path = "/jobs",
    tag = "jobs",
    params(JobQuery),
    responses(
        (status = 200, description = "The jobs, newest first", body = [Job],
            headers(("Link" = String, description = "`<…?before=ID…>; rel=\"next\"` when the page is full"))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 422, response = UnprocessableContent),
    ),
    security(("token" = []), ("session" = [])),
)]
async fn list_jobs(
    State(app): State<App>,
    Caller(actor): Caller,
    Params(q): Params<JobQuery>,
) -> Result<(HeaderMap, Json<Vec<Job>>), ApiError> {
    let (limit, _) = page(q.limit, ("offset", 0))?;
    let status = status_param(
        q.status.as_deref(),
        engine::job::JobStatus::parse,
        engine::job::JobStatus::NAMES,
    )?;
    let case = match q.case.as_deref() {
        Some(n) => Some(app.case(&actor, case_number(n)?).await?.file.case.id),
        None => None,
    };
    let before = q
        .before
        .as_deref()
        .map(|id| field("before", id.parse::<uuid::Uuid>().map(JobId)))
        .transpose()?;
    let filter = JobFilter {
        status,
        case,
        before,
        limit,
    };
    let jobs = app.jobs(&actor, &filter).await?;
    let headers = next_page(jobs.len() as i64 == limit, || {
        let last = jobs.last().map_or(String::new(), |j| j.id.to_string());
        let mut target = format!("/api/v1/jobs?before={last}&limit={limit}");
        if let Some(status) = status {
            target.push_str(&format!("&status={}", status.as_str()));
        }
        if let Some(case) = &q.case {
            target.push_str(&format!("&case={case}"));
        }
        target
    });
    Ok((headers, Json(views::list(jobs))))
}

/// Send a dead job again
///
/// Managers and above. Queues a dead job again, due now, with a fresh set of attempts.
#[utoipa::path(
    post,
    path = "/jobs/{id}/retry",
    tag = "jobs",
    params(("id" = String, Path, description = "The job's id")),
    responses(
        (status = 200, description = "The job, queued again", body = Job),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    ),
    security(("token" = []), ("session" = [], "csrf" = [])),
)]
async fn retry_job(
    State(app): State<App>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> Reply<Job> {
    let id = segment(&id, "job", |v| v.parse::<uuid::Uuid>().map(JobId))?;
    Ok(Json(app.retry_job(&actor, id).await?.into()))
}

/// The tenant's connectors
///
/// The systems access is revoked in, with their settings; secrets are never shown.
#[utoipa::path(
    get,
    path = "/connectors",
    tag = "connectors",
    responses(
        (status = 200, description = "The connectors, by name", body = Vec<Connector>),
        (status = 401, response = Unauthorized),
    ),
    security(("token" = []), ("session" = [])),
)]
async fn list_connectors(State(app): State<App>, Caller(actor): Caller) -> Reply<Vec<Connector>> {
    Ok(Json(views::list(app.connectors(&actor).await?)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ConnectorBody {
    /// ldap, scim, postgres or webhook.
    #[schema(example = "scim")]
    kind: String,
    /// The kind's settings (CONTRIBUTING.md lists them), e.g. `{"base_url": "https://…/v2"}`.
    #[schema(value_type = Object)]
    settings: serde_json::Value,
    /// The password, token or signing key; stored sealed and never shown again.
    #[serde(default)]
    secret: String,
}

/// Add or replace a connector
///
/// Admins and the owner. Name it after the `system` of the accounts it serves: each of their
/// accounts is revoked through it when its case's exit takes effect, including cases already
/// running.
#[utoipa::path(
    put,
    path = "/connectors/{name}",
    tag = "connectors",
    params(("name" = String, Path, description = "The `system` of the accounts it serves")),
    request_body = ConnectorBody,
    responses(
        (status = 200, description = "The connector, without its secret", body = Connector),
        (status = 404, response = NotFound),
        JsonWriteProblems,
    ),
    security(("token" = []), ("session" = [], "csrf" = [])),
)]
async fn set_connector(
    State(app): State<App>,
    Caller(actor): Caller,
    Path(name): Path<String>,
    Body(b): Body<ConnectorBody>,
) -> Reply<Connector> {
    let name = field("name", Slug::parse(&name))?;
    let kind = b
        .kind
        .parse::<engine::connector::ConnectorKind>()
        .map_err(|e| ApiError::invalid("kind", e))?;
    let connector = app
        .set_connector(&actor, &name, kind, b.settings, &b.secret)
        .await?;
    Ok(Json(connector.into()))
}

/// Remove a connector
///
/// Admins and the owner. Accounts of its system are then left to people.
#[utoipa::path(
    delete,
    path = "/connectors/{name}",
    tag = "connectors",
    params(("name" = String, Path, description = "The connector's name")),
    responses(
        (status = 200, description = "It was removed", body = Removed),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    ),
    security(("token" = []), ("session" = [], "csrf" = [])),
)]
async fn remove_connector(
    State(app): State<App>,
    Caller(actor): Caller,
    Path(name): Path<String>,
) -> Reply<Removed> {
    let name = segment(&name, "connector", Slug::parse)?;
    app.remove_connector(&actor, &name).await?;
    Ok(Json(Removed {
        removed: name.to_string(),
    }))
}

/// The tenant's audit-event webhooks
///
/// Where audit events go out as signed CloudEvents, which ones, and how far each got;
/// signing keys are never shown.
#[utoipa::path(
    get,
    path = "/webhooks",
    tag = "webhooks",
    responses(
        (status = 200, description = "The webhooks, by name", body = Vec<Webhook>),
        (status = 401, response = Unauthorized),
    ),
    security(("token" = []), ("session" = [])),
)]
async fn list_webhooks(State(app): State<App>, Caller(actor): Caller) -> Reply<Vec<Webhook>> {
    Ok(Json(views::list(app.subscriptions(&actor).await?)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct WebhookBody {
    /// `url`, `events` (patterns such as `*`, `case.*` or `task.completed`), and optionally
    /// `timeout_secs` and `allow_private_hosts`.
    #[schema(value_type = Object, example = json!({"url": "https://hooks.example.com/exeunt", "events": ["case.*"]}))]
    settings: serde_json::Value,
    /// The HMAC-SHA256 signing key the receiver checks `Exeunt-Signature` with; stored sealed
    /// and never shown again.
    secret: String,
}

/// Add or replace a webhook
///
/// Admins and the owner. A new webhook gets the audit events from now on, in order.
#[utoipa::path(
    put,
    path = "/webhooks/{name}",
    tag = "webhooks",
    params(("name" = String, Path, description = "The webhook's name")),
    request_body = WebhookBody,
    responses(
        (status = 200, description = "The webhook, without its key", body = Webhook),
        (status = 404, response = NotFound),
        JsonWriteProblems,
    ),
    security(("token" = []), ("session" = [], "csrf" = [])),
)]
async fn set_webhook(
    State(app): State<App>,
    Caller(actor): Caller,
    Path(name): Path<String>,
    Body(b): Body<WebhookBody>,
) -> Reply<Webhook> {
    let name = field("name", Slug::parse(&name))?;
    let webhook = app
        .set_subscription(&actor, &name, b.settings, &b.secret)
        .await?;
    Ok(Json(webhook.into()))
}

/// Remove a webhook
///
/// Admins and the owner.
#[utoipa::path(
    delete,
    path = "/webhooks/{name}",
    tag = "webhooks",
    params(("name" = String, Path, description = "The webhook's name")),
    responses(
        (status = 200, description = "It was removed", body = Removed),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    ),
    security(("token" = []), ("session" = [], "csrf" = [])),
)]
async fn remove_webhook(
    State(app): State<App>,
    Caller(actor): Caller,
    Path(name): Path<String>,
) -> Reply<Removed> {
    let name = segment(&name, "webhook", Slug::parse)?;
    app.remove_subscription(&actor, &name).await?;
    Ok(Json(Removed {
        removed: name.to_string(),
    }))
}

/// The wording of emails
///
/// Every kind of notification email, with the tenant's wording or the built-in one.
#[utoipa::path(
    get,
    path = "/email-templates",
    tag = "notifications",
    responses(
        (status = 200, description = "One template per kind", body = Vec<EmailTemplate>),
        (status = 401, response = Unauthorized),
    ),
    security(("token" = []), ("session" = [])),
)]
async fn list_email_templates(
    State(app): State<App>,
    Caller(actor): Caller,
) -> Reply<Vec<EmailTemplate>> {
    Ok(Json(views::list(app.email_templates(&actor).await?)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct EmailTemplateBody {
    /// A minijinja template of one line, such as `{{ summary }}`.
    subject: String,
    /// A minijinja template; `recipient`, `tenant`, `summary`, `link` and `kind` are defined.
    body: String,
}

/// Change the wording of one kind of email
///
/// Admins and the owner. The template must render (it is tried on a sample); an error names
/// the part and the line.
#[utoipa::path(
    put,
    path = "/email-templates/{kind}",
    tag = "notifications",
    params(("kind" = String, Path, description = "The notification kind, such as `task.assigned`")),
    request_body = EmailTemplateBody,
    responses(
        (status = 200, description = "The template as it is now", body = EmailTemplate),
        (status = 404, response = NotFound),
        JsonWriteProblems,
    ),
    security(("token" = []), ("session" = [], "csrf" = [])),
)]
async fn set_email_template(
    State(app): State<App>,
    Caller(actor): Caller,
    Path(kind): Path<String>,
    Body(b): Body<EmailTemplateBody>,
) -> Reply<EmailTemplate> {
    let kind = template_kind(&kind)?;
    let template = app
        .set_email_template(&actor, kind, &b.subject, &b.body)
        .await?;
    Ok(Json(template.into()))
}

/// Go back to the built-in wording
///
/// Admins and the owner.
#[utoipa::path(
    delete,
    path = "/email-templates/{kind}",
    tag = "notifications",
    params(("kind" = String, Path, description = "The notification kind")),
    responses(
        (status = 200, description = "The built-in wording, in use again", body = EmailTemplate),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    ),
    security(("token" = []), ("session" = [], "csrf" = [])),
)]
async fn reset_email_template(
    State(app): State<App>,
    Caller(actor): Caller,
    Path(kind): Path<String>,
) -> Reply<EmailTemplate> {
    let kind = template_kind(&kind)?;
    app.reset_email_template(&actor, kind).await?;
    let templates = app.email_templates(&actor).await?;
    let template = templates
        .into_iter()
        .find(|t| t.kind == kind)
        .ok_or_else(|| ApiError::not_found(format!("no email template `{kind}`")))?;
    Ok(Json(template.into()))
}

/// A notification kind named in a path: one that is not there names no template.
fn template_kind(kind: &str) -> Result<&'static str, ApiError> {
    segment(kind, "email template", |k| {
        app::NOTIFICATION_KINDS
            .iter()
            .map(|(known, _)| *known)
            .find(|known| *known == k)
            .ok_or("not a notification kind")
    })
}

/// Which notifications I get by email
///
/// The caller's own choice, kind by kind; every notification also shows in the Offboarding
/// Center.
#[utoipa::path(
    get,
    path = "/me/email-preferences",
    tag = "notifications",
    responses(
        (status = 200, description = "One line per kind", body = Vec<EmailPreference>),
        (status = 401, response = Unauthorized),
    ),
    security(("token" = []), ("session" = [])),
)]
async fn list_email_preferences(
    State(app): State<App>,
    Caller(actor): Caller,
) -> Reply<Vec<EmailPreference>> {
    Ok(Json(views::list(app.email_preferences(&actor).await?)))
}

/// Turn email on or off, kind by kind
///
/// Anyone, for themselves. The body maps notification kinds to `true` (email) or `false`
/// (only in the app); kinds left out stay as they are. Unknown kinds refuse the whole change.
#[utoipa::path(
    put,
    path = "/me/email-preferences",
    tag = "notifications",
    request_body(content = Object, example = json!({"task.due_soon": false})),
    responses(
        (status = 200, description = "Every kind, as it is now", body = Vec<EmailPreference>),
        JsonWriteProblems,
    ),
    security(("token" = []), ("session" = [], "csrf" = [])),
)]
async fn set_email_preferences(
    State(app): State<App>,
    Caller(actor): Caller,
    Body(b): Body<std::collections::BTreeMap<String, bool>>,
) -> Reply<Vec<EmailPreference>> {
    let changes: Vec<(&str, bool)> = b.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    app.set_email_preferences(&actor, &changes).await?;
    Ok(Json(views::list(app.email_preferences(&actor).await?)))
}
