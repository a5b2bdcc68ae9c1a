//! The one error type of the HTTP layer. Every failure leaves the server as an RFC 9457
//! problem (`application/problem+json`) that says what was wrong and, where an input was at
//! fault, which one.

use app::AppError;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use engine::case::CaseError;
use serde::Serialize;
use store::StoreError;
use utoipa::ToSchema;

use crate::views::{self, Diagnostic};

/// The media type of every error response (RFC 9457).
pub const PROBLEM_JSON: &str = "application/problem+json";

/// An RFC 9457 problem document, sent as `application/problem+json`.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Problem)]
pub struct ApiError {
    /// A relative URI naming the kind of problem, e.g. `/problems/not-found`.
    #[serde(rename = "type")]
    kind: String,
    /// The status's reason phrase.
    #[schema(value_type = String)]
    title: &'static str,
    #[serde(serialize_with = "status_code")]
    #[schema(value_type = u16)]
    status: StatusCode,
    detail: String,
    /// The input at fault, when one is.
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<String>,
    /// Every problem found, for inputs that can have several (blueprints).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    errors: Vec<Diagnostic>,
}

fn status_code<S: serde::Serializer>(status: &StatusCode, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u16(status.as_u16())
}

impl ApiError {
    pub fn new(status: StatusCode, kind: &str, detail: impl Into<String>) -> Self {
        Self {
            kind: format!("/problems/{kind}"),
            title: status.canonical_reason().unwrap_or("Error"),
            status,
            detail: detail.into(),
            field: None,
            errors: Vec::new(),
        }
    }

    pub fn field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// What went wrong, said for a person.
    pub fn detail(&self) -> &str {
        &self.detail
    }

    /// Every problem found in an input that can have several.
    pub fn errors(&self) -> &[Diagnostic] {
        &self.errors
    }

    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "sign in: send `Authorization: Bearer <token>` with a live API token, or the \
             session cookie from `POST /api/v1/session`",
        )
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not-found", detail)
    }

    pub fn invalid(field: &str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid-input", detail).field(field)
    }
}

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        let detail = e.to_string();
        match e {
            AppError::NotFound(_) => Self::not_found(detail),
            AppError::Invalid { field, message } => Self::invalid(&field, message),
            AppError::Forbidden { .. } | AppError::Outranked { .. } => {
                Self::new(StatusCode::FORBIDDEN, "forbidden", detail)
            }
            AppError::Conflict(_) | AppError::Chain(_) => {
                Self::new(StatusCode::CONFLICT, "conflict", detail)
            }
            AppError::Locked(_) => Self::new(StatusCode::LOCKED, "locked", detail),
            AppError::Plan(_) => {
                Self::new(StatusCode::UNPROCESSABLE_ENTITY, "condition-failed", detail)
            }
            AppError::Blueprint { diagnostics, .. } => {
                let mut problem = Self::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid-blueprint",
                    detail,
                )
                .field("blueprint");
                problem.errors = views::list(diagnostics);
                problem
            }
            AppError::Case(case) => case_error(&case, detail),
            AppError::Store(StoreError::Conflict { .. }) => {
                Self::new(StatusCode::CONFLICT, "conflict", detail)
            }
            AppError::Store(StoreError::TakenOver) => Self::new(
                StatusCode::CONFLICT,
                "idempotency-in-progress",
                "a resend of this request took it over; its answer is the one to use",
            ),
            AppError::Store(e @ StoreError::Unavailable(_)) => {
                tracing::error!(error = %e, "the database cannot be reached");
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "database-unavailable",
                    format!(
                        "the database cannot be reached now: send the request again in \
                         {RETRY_AFTER} seconds (with an Idempotency-Key, a resend never takes \
                         effect twice)"
                    ),
                )
            }
            AppError::Store(e @ StoreError::TimedOut(_)) => {
                tracing::error!(error = %e, "a statement ran past its time");
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "database-timeout",
                    format!(
                        "the database took too long to answer and nothing was changed: send \
                         the request again in {RETRY_AFTER} seconds"
                    ),
                )
            }
            AppError::Store(e @ (StoreError::Storage(_) | StoreError::CommitFailed(_))) => {
                storage_unavailable(&e)
            }
            AppError::Store(store) => internal(&store),
            AppError::Sealed(sealed) => internal(&sealed),
            AppError::Expired(_) => Self::new(StatusCode::GONE, "expired", detail),
        }
    }
}

/// What the state machine refuses: missing things are 404, inputs that cannot be right are 422,
/// and the rest conflict with the case's current state.
fn case_error(e: &CaseError, detail: String) -> ApiError {
    match e {
        CaseError::NoSuchTask { .. } | CaseError::NoSuchFinding { .. } => {
            ApiError::not_found(detail)
        }
        CaseError::EvidenceRequired { .. } => ApiError::invalid("evidence", detail),
        CaseError::ReasonRequired { .. } => ApiError::invalid("reason", detail),
        CaseError::WrongConfirmation { .. } => ApiError::invalid("confirm", detail),
        CaseError::Final { .. }
        | CaseError::TaskClosed { .. }
        | CaseError::StageNotDone { .. }
        | CaseError::Waiting { .. }
        | CaseError::Blocked { .. }
        | CaseError::NotReadyToClose { .. }
        | CaseError::OpenChildren { .. }
        | CaseError::GateShut { .. } => ApiError::new(StatusCode::CONFLICT, "case-state", detail),
    }
}

/// A failure of ours: logged in full, reported without internals.
/// How long a client told 503 waits before it asks again (`Retry-After`): storage refusing a
/// write, or the server not ready.
const RETRY_AFTER: &str = "30";

/// The database refused a write for want of storage (a full disk, a read-only file system)
/// or lost its commit: nothing of the request was kept, and the same request may be sent
/// again later. Logged in full; the caller learns what it can do.
pub fn storage_unavailable(e: &dyn std::fmt::Display) -> ApiError {
    tracing::error!(error = %e, "a write was refused by storage");
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "storage-unavailable",
        format!(
            "the database cannot store this change now (out of disk space, or read-only); \
             nothing was changed: send the same request again in {RETRY_AFTER} seconds"
        ),
    )
}

pub fn internal(e: &dyn std::fmt::Display) -> ApiError {
    tracing::error!(error = %e, "internal error");
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        "the server failed to handle this request; it has been logged",
    )
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status;
        let unauthorized = status == StatusCode::UNAUTHORIZED;
        let unavailable = status == StatusCode::SERVICE_UNAVAILABLE;
        let mut response = (status, axum::Json(self)).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if unauthorized {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if unavailable {
            headers.insert(header::RETRY_AFTER, HeaderValue::from_static(RETRY_AFTER));
        }
        response
    }
}
