//! What the tenant's owner decides about keeping data: how long a subject's data is retained
//! after its offboarding completes, and legal holds, which stop any purge while they stand.

use std::fmt;

use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::blueprint::{LEGAL_HOLD_CHECK, Severity};
use crate::ids::{HoldId, Slug, SubjectId, SubjectKey, TenantId, UserId};
use crate::plan::Finding;
use crate::subject::SubjectKind;

/// How long data is kept after an offboarding completes: whole years, months and days.
/// Zero means the data may be purged right after completion.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Retention {
    years: u16,
    months: u16,
    days: u16,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{input}` is not a retention period; expected years, months and days such as `7y`, `18m`, `1y6m`, `90d` or `0`"
)]
pub struct RetentionError {
    input: String,
}

impl Retention {
    /// The longest period accepted: beyond it a typo (`700y`) is likelier than a policy.
    const MAX_YEARS: u16 = 100;

    pub fn parse(input: &str) -> Result<Self, RetentionError> {
        let refuse = || RetentionError {
            input: input.to_owned(),
        };
        let text = input.trim().to_ascii_lowercase();
        if text == "0" {
            return Ok(Self::default());
        }
        let mut retention = Self::default();
        let mut number = String::new();
        let mut last_unit = 0;
        for c in text.chars() {
            if c.is_ascii_digit() {
                number.push(c);
                continue;
            }
            // Units come once each, in the order y, m, d.
            let (unit, slot) = match c {
                'y' => (1, &mut retention.years),
                'm' => (2, &mut retention.months),
                'd' => (3, &mut retention.days),
                _ => return Err(refuse()),
            };
            if unit <= last_unit || number.is_empty() {
                return Err(refuse());
            }
            *slot = number.parse().map_err(|_| refuse())?;
            number.clear();
            last_unit = unit;
        }
        if !number.is_empty() || last_unit == 0 {
            return Err(refuse());
        }
        let total_years = u32::from(retention.years)
            + u32::from(retention.months) / 12
            + u32::from(retention.days) / 366;
        if total_years > u32::from(Self::MAX_YEARS) {
            return Err(refuse());
        }
        Ok(retention)
    }

    /// The first day the data may be purged, for an offboarding completed on `completed`.
    pub fn purge_from(self, completed: Date) -> Date {
        let span = jiff::Span::new()
            .years(i64::from(self.years))
            .months(i64::from(self.months))
            .days(i64::from(self.days));
        // Within MAX_YEARS of any date Exeunt stores, the sum cannot overflow.
        completed.checked_add(span).unwrap_or(Date::MAX)
    }
}

impl std::str::FromStr for Retention {
    type Err = RetentionError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for Retention {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if *self == Self::default() {
            return f.write_str("0");
        }
        for (value, unit) in [(self.years, 'y'), (self.months, 'm'), (self.days, 'd')] {
            if value > 0 {
                write!(f, "{value}{unit}")?;
            }
        }
        Ok(())
    }
}

impl Serialize for Retention {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Retention {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Retention::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// The retention period for subjects of one kind, or the tenant's default (`kind` is `None`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RetentionPolicy {
    pub kind: Option<SubjectKind>,
    pub period: Retention,
    pub set_by: UserId,
    pub set_at: Timestamp,
}

/// The policy that applies to a subject of `kind`: its kind's own, else the tenant's default.
pub fn retention_for(policies: &[RetentionPolicy], kind: SubjectKind) -> Option<&RetentionPolicy> {
    policies
        .iter()
        .find(|p| p.kind == Some(kind))
        .or_else(|| policies.iter().find(|p| p.kind.is_none()))
}

/// A legal hold on one subject, or on the whole tenant (`subject_id` is `None`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LegalHold {
    pub id: HoldId,
    pub tenant_id: TenantId,
    pub subject_id: Option<SubjectId>,
    /// The held subject's key, for people to read.
    pub subject_key: Option<SubjectKey>,
    pub reason: String,
    pub placed_by: UserId,
    pub placed_at: Timestamp,
    pub lifted: Option<HoldLift>,
}

/// Who lifted a hold, when and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HoldLift {
    pub by: UserId,
    pub at: Timestamp,
    pub reason: String,
}

impl LegalHold {
    /// Whether the hold stands and covers `subject`.
    pub fn covers(&self, subject: SubjectId) -> bool {
        self.lifted.is_none() && self.subject_id.is_none_or(|s| s == subject)
    }
}

/// The warning precheck adds while holds stand over `subject`: the case may run and close, but
/// nothing of the subject is purged until the owner lifts them. It belongs to `stage`, the
/// case's last, where purging is scheduled.
pub fn hold_finding(holds: &[LegalHold], subject: SubjectId, stage: &Slug) -> Option<Finding> {
    let standing: Vec<&LegalHold> = holds.iter().filter(|h| h.covers(subject)).collect();
    let first = standing.first()?;
    let more = match standing.len() {
        1 => String::new(),
        n => format!(" (and {} more)", n - 1),
    };
    Some(Finding {
        check_id: Slug::parse(LEGAL_HOLD_CHECK).ok()?,
        stage: stage.clone(),
        severity: Severity::Warning,
        message: format!(
            "A legal hold stands over this subject{more}: {}. Nothing of it is purged until the \
             owner lifts the hold.",
            first.reason
        ),
    })
}

/// Whether a completed subject's data may be purged now, and if not, what stands in the way.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PurgeStatus {
    Due,
    /// Retention runs until this date.
    NotBefore(Date),
    /// A legal hold stands: its reason.
    Held(String),
    /// No retention policy applies to the subject's kind: nothing is purged by default.
    NoPolicy,
    /// Purge never comes before a ready export: what the export is instead.
    NoExport(String),
}

impl fmt::Display for PurgeStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PurgeStatus::Due => f.write_str("due"),
            PurgeStatus::NotBefore(date) => write!(f, "retained until {date}"),
            PurgeStatus::Held(reason) => write!(f, "held: a legal hold stands ({reason})"),
            PurgeStatus::NoPolicy => {
                f.write_str("kept: no retention policy applies (the owner sets one)")
            }
            PurgeStatus::NoExport(what) => {
                write!(f, "refused: purge waits for a ready export ({what})")
            }
        }
    }
}

/// Decides a purge. A hold wins over everything; without a policy nothing is purged; a subject
/// is purged only after its retention ends and only once its export is ready.
pub fn purge_status(
    subject: SubjectId,
    kind: SubjectKind,
    completed_on: Date,
    today: Date,
    policies: &[RetentionPolicy],
    holds: &[LegalHold],
    export: Result<(), String>,
) -> PurgeStatus {
    if let Some(hold) = holds.iter().find(|h| h.covers(subject)) {
        return PurgeStatus::Held(hold.reason.clone());
    }
    let Some(policy) = retention_for(policies, kind) else {
        return PurgeStatus::NoPolicy;
    };
    let from = policy.period.purge_from(completed_on);
    if today < from {
        return PurgeStatus::NotBefore(from);
    }
    match export {
        Ok(()) => PurgeStatus::Due,
        Err(what) => PurgeStatus::NoExport(what),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_parse_and_print_canonically() {
        for (input, shown) in [
            ("7y", "7y"),
            ("18m", "18m"),
            ("1y6m", "1y6m"),
            ("90d", "90d"),
            ("0", "0"),
            (" 2Y ", "2y"),
        ] {
            assert_eq!(Retention::parse(input).unwrap().to_string(), shown);
        }
        for bad in [
            "", "y", "7", "7w", "6m1y", "1y1y", "-1y", "101y", "1.5y", "0d0",
        ] {
            assert!(Retention::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn purge_waits_for_retention_and_export_and_never_passes_a_hold() {
        use uuid::Uuid;
        let subject = SubjectId(Uuid::from_u128(1));
        let policy = RetentionPolicy {
            kind: None,
            period: Retention::parse("1y").unwrap(),
            set_by: UserId(Uuid::nil()),
            set_at: Timestamp::UNIX_EPOCH,
        };
        let hold = LegalHold {
            id: HoldId(Uuid::nil()),
            tenant_id: TenantId(Uuid::nil()),
            subject_id: None,
            subject_key: None,
            reason: "Regulator inquiry".into(),
            placed_by: UserId(Uuid::nil()),
            placed_at: Timestamp::UNIX_EPOCH,
            lifted: None,
        };
        let completed = jiff::civil::date(2025, 1, 10);
        let status = |today, policies: &[RetentionPolicy], holds: &[LegalHold], export| {
            purge_status(
                subject,
                SubjectKind::Client,
                completed,
                today,
                policies,
                holds,
                export,
            )
        };
        let later = jiff::civil::date(2026, 1, 10);
        let policies = [policy];
        assert_eq!(status(later, &policies, &[], Ok(())), PurgeStatus::Due);
        assert_eq!(
            status(jiff::civil::date(2026, 1, 9), &policies, &[], Ok(())),
            PurgeStatus::NotBefore(later)
        );
        assert_eq!(status(later, &[], &[], Ok(())), PurgeStatus::NoPolicy);
        assert!(matches!(
            status(later, &policies, &[], Err("no export".into())),
            PurgeStatus::NoExport(_)
        ));
        assert_eq!(
            status(later, &policies, std::slice::from_ref(&hold), Ok(())),
            PurgeStatus::Held("Regulator inquiry".into())
        );
    }

    #[test]
    fn purge_dates_count_calendar_units() {
        let completed = jiff::civil::date(2024, 2, 29);
        assert_eq!(
            Retention::parse("1y").unwrap().purge_from(completed),
            jiff::civil::date(2025, 2, 28)
        );
        assert_eq!(
            Retention::parse("0").unwrap().purge_from(completed),
            completed
        );
        assert_eq!(
            Retention::parse("1m1d").unwrap().purge_from(completed),
            jiff::civil::date(2024, 3, 30)
        );
    }
}
