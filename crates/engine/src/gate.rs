//! Steps of the pipeline a task waits for beyond its stage and dependencies: access verified
//! gone, work handed to new owners, the export built. Each gated task names its gate by its
//! action.

use crate::export::ExportStatus;
use crate::revocation::Revocation;
use crate::subject::{Record, RecordKind};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Gate {
    /// `revoke-access`: every account and integration verified revoked or waived.
    AccessRevoked,
    /// `hand-off-work`: every work item has a named new owner.
    WorkHandedOff,
    /// `build-export`: the newest export of the case is ready.
    ExportReady,
    /// `deliver-export`: the departing client acknowledged the package, or someone waived that.
    ExportDelivered,
}

/// What the gates look at, as the use case loaded it.
pub struct GateFacts<'a> {
    pub records: &'a [Record],
    pub revocations: &'a [Revocation],
    /// The newest export of the case: its status and, if it failed, why.
    pub latest_export: Option<(ExportStatus, Option<&'a str>)>,
    /// Whether the newest ready export was acknowledged by the client or the need waived.
    pub export_delivered: bool,
}

impl Gate {
    /// The gate of a task whose action is `action`.
    pub fn for_action(action: &str) -> Option<Gate> {
        match action {
            "revoke-access" => Some(Gate::AccessRevoked),
            "hand-off-work" => Some(Gate::WorkHandedOff),
            "build-export" => Some(Gate::ExportReady),
            "deliver-export" => Some(Gate::ExportDelivered),
            _ => None,
        }
    }

    /// What the task waits for, as a person reads it.
    pub fn waiting_for(self) -> &'static str {
        match self {
            Gate::AccessRevoked => "every account and integration to be verified revoked or waived",
            Gate::WorkHandedOff => "a named new owner for every work item",
            Gate::ExportReady => "the export package to be built",
            Gate::ExportDelivered => "the client's acknowledgement of the export",
        }
    }

    /// What still holds the gate shut, named for people; empty when it is open.
    pub fn outstanding(self, facts: &GateFacts<'_>) -> Vec<String> {
        match self {
            Gate::AccessRevoked => facts
                .revocations
                .iter()
                .filter(|r| !r.status.is_settled())
                .map(|r| {
                    format!(
                        "{} (record {}, {})",
                        r.label,
                        r.record_number,
                        r.status.as_str()
                    )
                })
                .collect(),
            Gate::WorkHandedOff => facts
                .records
                .iter()
                .filter(|r| r.kind == RecordKind::WorkItem && r.fields.get("new_owner").is_none())
                .map(|r| format!("work item {} `{}`", r.number, r.label()))
                .collect(),
            Gate::ExportReady => match facts.latest_export {
                Some((ExportStatus::Ready, _)) => Vec::new(),
                Some((ExportStatus::Failed, reason)) => vec![format!(
                    "the export failed ({}); request it again",
                    reason.unwrap_or("no reason recorded")
                )],
                Some((status, _)) => vec![format!("the export is {}", status.as_str())],
                None => vec!["no export was requested yet".to_owned()],
            },
            Gate::ExportDelivered if facts.export_delivered => Vec::new(),
            Gate::ExportDelivered => vec![
                "the client has not acknowledged the export; send them its link, or waive the \
                 acknowledgement with a reason"
                    .to_owned(),
            ],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::subject::test_record as record;

    #[test]
    fn gates_name_what_is_outstanding() {
        let records = vec![
            record(
                1,
                RecordKind::Account,
                &[("system", "ldap"), ("identifier", "jdoe")],
            ),
            record(2, RecordKind::WorkItem, &[("title", "Q3 report")]),
            record(
                3,
                RecordKind::WorkItem,
                &[("title", "Audit"), ("new_owner", "ann@example.com")],
            ),
        ];
        let revocations: Vec<Revocation> = records
            .iter()
            .filter_map(|r| Revocation::pending(r).ok())
            .collect();
        let mut facts = GateFacts {
            records: &records,
            revocations: &revocations,
            latest_export: None,
            export_delivered: false,
        };
        assert_eq!(
            Gate::AccessRevoked.outstanding(&facts),
            ["ldap account jdoe (record 1, pending)"]
        );
        assert_eq!(
            Gate::WorkHandedOff.outstanding(&facts),
            ["work item 2 `Q3 report`"]
        );
        assert_eq!(
            Gate::ExportReady.outstanding(&facts),
            ["no export was requested yet"]
        );
        facts.latest_export = Some((ExportStatus::Failed, Some("disk full")));
        assert_eq!(
            Gate::ExportReady.outstanding(&facts),
            ["the export failed (disk full); request it again"]
        );
        facts.latest_export = Some((ExportStatus::Ready, None));
        assert!(Gate::ExportReady.outstanding(&facts).is_empty());
    }
}
