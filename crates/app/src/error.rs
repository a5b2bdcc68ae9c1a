//! What a use case can refuse, or fail with.

use engine::audit::ChainBreak;
use engine::blueprint::Diagnostic;
use engine::case::CaseError;
use engine::plan::PlanError;
use store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Something named does not exist (in this tenant).
    #[error("{0}")]
    NotFound(String),
    /// An input was not acceptable: names the input and what was expected.
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    /// The actor's role does not allow this.
    #[error("{action} needs the {needed} role or higher; {who} is {role}")]
    Forbidden {
        action: &'static str,
        needed: &'static str,
        who: String,
        role: &'static str,
    },
    /// The actor may not act on a user stronger than themselves.
    #[error("{who} is {role} and cannot {action} a user with the {other} role")]
    Outranked {
        who: String,
        role: &'static str,
        action: &'static str,
        other: &'static str,
    },
    /// The request conflicts with the current state.
    #[error("{0}")]
    Conflict(String),
    /// What it would change is frozen by a running offboarding.
    #[error("{0}")]
    Locked(String),
    /// A link or grant that was valid has run out.
    #[error("{0}")]
    Expired(String),
    #[error(transparent)]
    Case(#[from] CaseError),
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error("blueprint {name} has {}: {}", engine::wording::counted(diagnostics.len() as i64, "problem", "problems"), diagnostics.first().map(ToString::to_string).unwrap_or_default())]
    Blueprint {
        name: String,
        diagnostics: Vec<Diagnostic>,
    },
    #[error(transparent)]
    Chain(#[from] ChainBreak),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A sealed secret did not open: the master key is not the one that sealed it.
    #[error(transparent)]
    Sealed(#[from] crypto::seal::SealError),
}

impl AppError {
    pub fn invalid(field: impl Into<String>, message: impl ToString) -> Self {
        AppError::Invalid {
            field: field.into(),
            message: message.to_string(),
        }
    }
}

pub type Result<T, E = AppError> = std::result::Result<T, E>;
