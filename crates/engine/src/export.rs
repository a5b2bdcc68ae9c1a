//! The export: a BagIt package of everything a subject has, built in the background, and the
//! signed receipt that names its digest.

use serde::{Deserialize, Serialize};

use crate::blueprint::Severity;
use crate::case::CaseFile;
use crate::certificate::CaseClaim;
use crate::gate::Gate;
use crate::ids::Slug;
use crate::plan::Finding;

/// The check id of the built-in blocker that the newest export failed.
pub const EXPORT_FAILED_CHECK: &str = "export-failed";

/// The blocker precheck adds while the case's newest export has failed: nothing moves past the
/// export stage until a package is built. It belongs to the stage of the export task (the
/// case's first stage when it has none).
pub fn failed_export_finding(
    file: &CaseFile,
    latest: Option<(ExportStatus, Option<&str>)>,
) -> Option<Finding> {
    let Some((ExportStatus::Failed, reason)) = latest else {
        return None;
    };
    let stage = file
        .tasks
        .iter()
        .find(|t| Gate::of(t) == Some(Gate::ExportReady))
        .map(|t| t.stage.clone())
        .or_else(|| file.case.stages.first().map(|s| s.id.clone()))?;
    Some(Finding {
        check_id: Slug::parse(EXPORT_FAILED_CHECK).ok()?,
        stage,
        severity: Severity::Blocker,
        message: format!(
            "The newest export failed: {}. Fix the cause and request the export again; nothing \
             is deleted before an export is ready.",
            reason.unwrap_or("no reason was recorded")
        ),
    })
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExportStatus {
    /// Waiting for a worker.
    Queued,
    /// A worker is building it; if the worker dies, another takes it over once its lease ends.
    Building,
    /// Built: the package can be downloaded and its receipt verified.
    Ready,
    /// Building failed; the reason says why. Requesting again starts over.
    Failed,
}

impl ExportStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ExportStatus::Queued => "queued",
            ExportStatus::Building => "building",
            ExportStatus::Ready => "ready",
            ExportStatus::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "queued" => ExportStatus::Queued,
            "building" => ExportStatus::Building,
            "ready" => ExportStatus::Ready,
            "failed" => ExportStatus::Failed,
            _ => return None,
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
}

/// The departing client's acknowledgement that they received the package.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Acknowledgement {
    pub at: jiff::Timestamp,
    /// The name the client typed.
    pub name: String,
    /// The address the acknowledgement came from.
    pub from: String,
}

/// Why a package may count as delivered without the client's acknowledgement.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AcknowledgementWaiver {
    pub by: crate::ids::UserId,
    pub reason: String,
}

/// What a link for the departing client says: which export, of which tenant, until when.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiveLinkClaims {
    /// `exeunt:<tenant slug>`.
    pub iss: String,
    /// The tenant's id.
    pub tenant: String,
    /// The export id.
    pub sub: String,
    /// Expiry, in seconds since the epoch.
    pub exp: i64,
}
