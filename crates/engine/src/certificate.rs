//! The claims the tenant signs (see the `crypto` crate): the completion certificate, what a
//! third party needs to know that a subject was offboarded, signed when a case completes; and
//! the export receipt, which names a package's digest.
//!
//! The claims hold identifiers, not personal data: the subject's key and kind, the approver's
//! user id. A purge that erases the subject's name leaves every certificate true.

use serde::{Deserialize, Serialize};

use crate::audit::{Hash, to_hex};
use crate::case::{Case, Resolution};
use crate::subject::Subject;
use crate::tenant::Tenant;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateClaims {
    /// `exeunt:<tenant slug>`.
    pub iss: String,
    /// The subject's key.
    pub sub: String,
    /// When the case completed, in seconds since the epoch.
    pub iat: i64,
    /// The case id: one certificate per case.
    pub jti: String,
    pub tenant: TenantClaim,
    pub subject: SubjectClaim,
    pub case: CaseClaim,
    pub blueprint: BlueprintClaim,
    pub resolution: String,
    /// RFC 3339.
    pub completed_at: String,
    /// The user who closed the case.
    pub approver: String,
    /// The tenant's audit chain head once the completion was recorded.
    pub audit_head: AuditHeadClaim,
    /// `sha256:<hex>` of the export bag, when the case built one.
    pub export_digest: Option<String>,
    /// The signed audit checkpoint of the head above, so that the certificate carries a copy
    /// out of the database (see `docs/audit-format.md`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit_checkpoint: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantClaim {
    pub id: String,
    pub slug: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubjectClaim {
    pub id: String,
    pub key: String,
    pub kind: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseClaim {
    pub id: String,
    pub number: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlueprintClaim {
    pub id: String,
    pub version: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditHeadClaim {
    pub seq: i64,
    /// SHA-256, hex.
    pub hash: String,
}

impl CertificateClaims {
    /// The claims for a case that completed; `None` for one that is running or was cancelled,
    /// which gets no certificate.
    pub fn for_case(
        tenant: &Tenant,
        subject: &Subject,
        case: &Case,
        head: (i64, Hash),
        export_digest: Option<Hash>,
    ) -> Option<Self> {
        let (Some(Resolution::Completed), Some(at), Some(by)) =
            (case.resolution, case.closed_at, case.closed_by)
        else {
            return None;
        };
        Some(CertificateClaims {
            iss: format!("exeunt:{}", tenant.slug),
            sub: subject.key.to_string(),
            iat: at.as_second(),
            jti: case.id.to_string(),
            tenant: TenantClaim {
                id: tenant.id.to_string(),
                slug: tenant.slug.to_string(),
            },
            subject: SubjectClaim {
                id: subject.id.to_string(),
                key: subject.key.to_string(),
                kind: subject.kind.as_str().to_owned(),
            },
            case: CaseClaim {
                id: case.id.to_string(),
                number: case.number,
            },
            blueprint: BlueprintClaim {
                id: case.blueprint_id.to_string(),
                version: case.blueprint_version,
            },
            resolution: Resolution::Completed.as_str().to_owned(),
            completed_at: at.to_string(),
            approver: by.to_string(),
            audit_head: AuditHeadClaim {
                seq: head.0,
                hash: to_hex(&head.1),
            },
            export_digest: export_digest.map(|d| format!("sha256:{}", to_hex(&d))),
            audit_checkpoint: None,
        })
    }
}

/// What the signed export receipt says: which package was built for which case, and its
/// digest, so that whoever holds the package can show it is the one Exeunt built.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportReceiptClaims {
    /// `exeunt:<tenant slug>`.
    pub iss: String,
    /// The subject's key.
    pub sub: String,
    /// The export id.
    pub jti: String,
    /// When the package was finished, in seconds since the epoch.
    pub iat: i64,
    pub case: CaseClaim,
    /// `sha256:<hex>` of the `.zip` as served.
    pub bag_digest: String,
    /// Bytes of the `.zip`.
    pub bag_size: i64,
    /// BagIt's `Payload-Oxum`: payload bytes and files.
    pub payload_oxum: String,
    /// The tenant's audit checkpoint signed with the receipt (see `docs/audit-format.md`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit_checkpoint: Option<String>,
}
