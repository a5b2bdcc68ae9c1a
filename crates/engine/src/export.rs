//! The export: a BagIt package of everything a subject has, built in the background; its
//! status, and the departing client's acknowledgement of it. The signed receipt's claims are
//! in `certificate.rs`; the blocker a failed export raises is the case's (`case.rs`).

use serde::{Deserialize, Serialize};

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
