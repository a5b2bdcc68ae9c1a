//! The audit log: read it page by page, and verify the chain.

use app::{App, AppError};
use axum::Json;
use axum::extract::State;
use engine::ids::SubjectKey;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::ServerState;
use crate::docs::{BadRequest, NotFound, Unauthorized, UnprocessableContent};
use crate::error::ApiError;
use crate::extract::{Caller, Params};
use crate::views::{self, AuditCheckpoint, AuditEvent, AuditVerification};

use super::{Reply, default_limit, page};
use crate::inputs::field;

pub(super) fn routes() -> OpenApiRouter<ServerState> {
    OpenApiRouter::new()
        .routes(routes!(audit_log))
        .routes(routes!(verify_audit))
        .routes(routes!(audit_checkpoints))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct CheckpointQuery {
    /// Checkpoints of events before this sequence number: the last `seq` seen. The newest
    /// when absent.
    #[param(minimum = 0)]
    before: Option<i64>,
    #[serde(default = "default_limit")]
    #[param(default = default_limit, minimum = 1, maximum = 1000)]
    limit: i64,
}

/// List the signed audit checkpoints
///
/// Newest first. The tenant's key signs the chain's head every minute while events are
/// written; verify a checkpoint with `/.well-known/jwks.json`, and a log against it as
/// `docs/audit-format.md` says.
#[utoipa::path(
    get,
    path = "/audit/checkpoints",
    tag = "audit",
    params(CheckpointQuery),
    responses(
        (status = 200, description = "The checkpoints, newest first", body = [AuditCheckpoint]),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 422, response = UnprocessableContent),
    ),
    security(("token" = []), ("session" = [])),
)]
async fn audit_checkpoints(
    State(app): State<App>,
    Caller(actor): Caller,
    Params(q): Params<CheckpointQuery>,
) -> Reply<Vec<AuditCheckpoint>> {
    let (limit, _) = page(q.limit, ("before", q.before.unwrap_or(0)))?;
    let checkpoints = app.checkpoints(&actor, q.before, limit).await?;
    Ok(Json(views::list(checkpoints)))
}

/// Verify the audit chain
///
/// A broken chain is an answer, not a failure: `intact` is false and `broken` says where.
#[utoipa::path(
    get,
    path = "/audit/verify",
    tag = "audit",
    responses(
        (status = 200, description = "Whether the chain is intact", body = AuditVerification),
        (status = 401, response = Unauthorized),
    ),
    security(("token" = []), ("session" = [])),
)]
async fn verify_audit(State(app): State<App>, Caller(actor): Caller) -> Reply<AuditVerification> {
    let verification = match app.verify_audit(&actor).await {
        Ok(events) => AuditVerification {
            intact: true,
            events: Some(events),
            broken: None,
        },
        Err(AppError::Chain(broken)) => AuditVerification {
            intact: false,
            events: None,
            broken: Some(broken.to_string()),
        },
        Err(e) => return Err(e.into()),
    };
    Ok(Json(verification))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct AuditQuery {
    /// Events after this sequence number.
    #[serde(default)]
    #[param(minimum = 0)]
    after: i64,
    /// Events before this sequence number, newest first: the next page is before the last
    /// `seq` of this one.
    #[param(minimum = 1)]
    before: Option<i64>,
    #[serde(default = "default_limit")]
    #[param(default = default_limit, minimum = 1, maximum = 1000)]
    limit: i64,
    /// Such as `task.completed`.
    #[param(max_length = 200)]
    action: Option<String>,
    /// `user:<id>` or `system`.
    #[param(max_length = 200)]
    actor: Option<String>,
    #[param(max_length = 200)]
    target_kind: Option<String>,
    #[param(max_length = 200)]
    target_id: Option<String>,
    /// Events about this subject: itself, its records and its cases.
    subject: Option<String>,
    /// Events about this case: itself, its tasks, exports and revocations.
    case: Option<i64>,
    /// Events at or after this instant (RFC 3339).
    #[param(format = DateTime)]
    from: Option<String>,
    /// Events before this instant (RFC 3339).
    #[param(format = DateTime)]
    to: Option<String>,
}

fn instant(name: &str, value: Option<&str>) -> Result<Option<jiff::Timestamp>, ApiError> {
    value
        .map(|v| {
            v.parse::<jiff::Timestamp>().map_err(|_| {
                ApiError::invalid(
                    name,
                    format!("{name} `{v}` is not an RFC 3339 time such as 2026-11-23T09:00:00Z"),
                )
            })
        })
        .transpose()
}

/// Read the audit log
///
/// Pages by sequence number: oldest first after the `seq` given as `after`, or newest first
/// before the one given as `before`; the next page starts from the last `seq` seen.
#[utoipa::path(
    get,
    path = "/audit",
    tag = "audit",
    params(AuditQuery),
    responses(
        (status = 200, description = "The events, oldest first (newest first with `before`)", body = [AuditEvent]),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 422, response = UnprocessableContent),
    ),
    security(("token" = []), ("session" = [])),
)]
async fn audit_log(
    State(app): State<App>,
    Caller(actor): Caller,
    Params(q): Params<AuditQuery>,
) -> Reply<Vec<AuditEvent>> {
    let (limit, after) = page(q.limit, ("after", q.after))?;
    if let Some(before) = q.before
        && before < 1
    {
        return Err(ApiError::invalid("before", "before must be 1 or more"));
    }
    for (name, value) in [
        ("action", &q.action),
        ("actor", &q.actor),
        ("target_kind", &q.target_kind),
        ("target_id", &q.target_id),
    ] {
        if value
            .as_deref()
            .is_some_and(|v| v.len() > 200 || v.chars().any(char::is_control))
        {
            return Err(ApiError::invalid(
                name,
                format!("{name} must be plain text of at most 200 characters"),
            ));
        }
    }
    let filter = store::AuditFilter {
        after_seq: after,
        before_seq: q.before,
        limit,
        action: q.action,
        actor: q.actor,
        target_kind: q.target_kind,
        target_id: q.target_id,
        from: instant("from", q.from.as_deref())?,
        to: instant("to", q.to.as_deref())?,
        concerning: None,
    };
    let subject = q
        .subject
        .as_deref()
        .map(|k| field("subject", SubjectKey::parse(k)))
        .transpose()?;
    let filter = store::AuditFilter {
        concerning: app.audit_concern(&actor, subject.as_ref(), q.case).await?,
        ..filter
    };
    Ok(Json(views::list(app.audit_log(&actor, &filter).await?)))
}
