//! Legal holds and retention policies.

use jiff::Timestamp;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::*;

/// A legal hold on one subject or on the whole tenant. Holds are never deleted: a lifted one
/// carries who lifted it, when and why.
#[derive(Serialize, ToSchema)]
pub struct LegalHold {
    pub id: Uuid,
    /// The subject held, or none when the hold covers the whole tenant.
    pub subject_id: Option<Uuid>,
    /// The held subject's key.
    pub subject: Option<String>,
    pub reason: String,
    pub placed_by: Uuid,
    #[schema(value_type = String, format = DateTime)]
    pub placed_at: Timestamp,
    pub lifted: Option<HoldLift>,
}

#[derive(Serialize, ToSchema)]
pub struct HoldLift {
    pub by: Uuid,
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    pub reason: String,
}

impl From<engine::governance::LegalHold> for LegalHold {
    fn from(hold: engine::governance::LegalHold) -> Self {
        let engine::governance::LegalHold {
            id,
            tenant_id: _,
            subject_id,
            subject_key,
            reason,
            placed_by,
            placed_at,
            lifted,
        } = hold;
        Self {
            id: id.0,
            subject_id: subject_id.map(|s| s.0),
            subject: subject_key.map(|k| k.to_string()),
            reason,
            placed_by: placed_by.0,
            placed_at,
            lifted: lifted.map(|engine::governance::HoldLift { by, at, reason }| HoldLift {
                by: by.0,
                at,
                reason,
            }),
        }
    }
}

/// How long data of one subject kind (or, without a kind, of every kind without a period of
/// its own) is kept after its offboarding completes.
#[derive(Serialize, ToSchema)]
pub struct RetentionPolicy {
    pub kind: Option<SubjectKind>,
    /// Years, months and days, such as `7y`, `1y6m` or `90d`; `0` purges right after.
    #[schema(value_type = String, example = "7y")]
    pub period: engine::governance::Retention,
    pub set_by: Uuid,
    #[schema(value_type = String, format = DateTime)]
    pub set_at: Timestamp,
}

impl From<engine::governance::RetentionPolicy> for RetentionPolicy {
    fn from(policy: engine::governance::RetentionPolicy) -> Self {
        let engine::governance::RetentionPolicy {
            kind,
            period,
            set_by,
            set_at,
        } = policy;
        Self {
            kind: kind.map(SubjectKind::from),
            period,
            set_by: set_by.0,
            set_at,
        }
    }
}
