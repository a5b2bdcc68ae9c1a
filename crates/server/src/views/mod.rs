//! What the API sends, and the enums it reads: the types the OpenAPI document describes.
//!
//! The engine must not depend on utoipa, so each view mirrors a domain type and is what the
//! handlers serialize: the documented schema is the serialized type. The JSON is the domain
//! type's as serde renders it (same field names, nesting and enum spellings). The `From` impls
//! destructure the domain type whole and match enums without a wildcard, so a field or variant
//! added there does not compile here until the view has it too.

mod audit;
mod automation;
mod blueprints;
mod cases;
mod governance;
mod people;
mod pipeline;
mod subjects;

pub use audit::{AuditCheckpoint, AuditEvent, AuditVerification, Jwks};
pub use automation::{Connector, EmailPreference, EmailTemplate, Job, Removed, Webhook};
pub use blueprints::{
    BlueprintInfo, BlueprintSource, Diagnostic, Finding, LintReport, Plan, StagePlan, TaskKind,
    TaskOwner,
};
pub use cases::{
    Case, CaseDetail, CaseFinding, CaseStatus, CaseSummary, CaseTask, Certificate, StartedCase,
    Task, Waived,
};
pub use governance::{LegalHold, RetentionPolicy};
pub use people::{
    ApiToken, IssuedToken, Me, PasswordChanged, Revoked, Role, SignedIn, Team, Tenant, User,
};
pub use pipeline::{Export, Exposure, Revocation, RevocationStatus};
pub use subjects::{Record, RecordFile, RecordKind, Subject, SubjectDetail, SubjectKind};

use engine::ids::Slug;

/// Converts a list of domain values into their views.
pub fn list<T, V: From<T>>(items: Vec<T>) -> Vec<V> {
    items.into_iter().map(V::from).collect()
}

fn names(slugs: Vec<Slug>) -> Vec<String> {
    slugs.iter().map(ToString::to_string).collect()
}
