//! Due dates relative to the exit date: `-5d`, `+0d 17:00`, `-3bd` (business days).

use std::fmt;

use jiff::civil::{Date, Time, Weekday};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use serde::Serialize;

/// Days counted on the calendar or on business days (Monday to Friday).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DayCount {
    Calendar,
    Business,
}

/// When a task is due, relative to the subject's exit date, in the subject's time zone.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct DueOffset {
    pub days: i32,
    pub count: DayCount,
    /// Local time of day; the end of the business day (17:00) when not written.
    pub at: Time,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DueOffsetError {
    #[error(
        "`{0}` is not a due offset; expected a sign, a number of days and `d` or `bd`, optionally a time: `-5d`, `+0d 17:00`, `-3bd`"
    )]
    Malformed(String),
    /// `+1d -0:30`: only the days take a sign; the time is a time of day.
    #[error(
        "`{0}` is not a due offset: the time `{1}` has a sign; expected a time of day without one, such as `+1d 09:30`"
    )]
    SignedTime(String, String),
}

impl DueOffset {
    pub const DEFAULT_TIME: Time = Time::constant(17, 0, 0, 0);
    /// Offsets beyond three years are almost certainly typing mistakes.
    pub const MAX_DAYS: i32 = 1095;

    pub fn parse(text: &str) -> Result<Self, DueOffsetError> {
        let err = || DueOffsetError::Malformed(text.to_owned());
        let trimmed = text.trim();
        let (offset, at) = match trimmed.split_once(char::is_whitespace) {
            Some((o, t)) => (o, Some(t.trim())),
            None => (trimmed, None),
        };
        let sign = match offset.chars().next() {
            Some('+') => 1,
            Some('-') => -1,
            _ => return Err(err()),
        };
        let body = &offset[1..];
        let (digits, count) = if let Some(d) = body.strip_suffix("bd") {
            (d, DayCount::Business)
        } else if let Some(d) = body.strip_suffix('d') {
            (d, DayCount::Calendar)
        } else {
            return Err(err());
        };
        if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) || digits.len() > 4 {
            return Err(err());
        }
        let days: i32 = digits.parse().map_err(|_| err())?;
        if days > Self::MAX_DAYS {
            return Err(err());
        }
        let at = match at {
            None => Self::DEFAULT_TIME,
            Some(t) if t.split(':').any(|part| part.starts_with(['+', '-'])) => {
                return Err(DueOffsetError::SignedTime(text.to_owned(), t.to_owned()));
            }
            Some(t) => parse_hh_mm(t).ok_or_else(err)?,
        };
        Ok(Self {
            days: sign * days,
            count,
            at,
        })
    }

    /// The local date this offset lands on.
    pub fn date_from(&self, exit: Date) -> Date {
        match self.count {
            DayCount::Calendar => exit
                .checked_add(i64::from(self.days).days())
                .unwrap_or(exit),
            DayCount::Business => add_business_days(exit, self.days),
        }
    }

    /// The instant the task is due, for an exit date in the subject's time zone.
    pub fn due_at(&self, exit: Date, tz: &TimeZone) -> Timestamp {
        let local = self.date_from(exit).to_datetime(self.at);
        // A local time skipped by a DST change resolves to the instant just after the gap.
        tz.to_timestamp(local).unwrap_or(Timestamp::UNIX_EPOCH)
    }
}

impl fmt::Display for DueOffset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.days < 0 { '-' } else { '+' };
        let unit = match self.count {
            DayCount::Calendar => "d",
            DayCount::Business => "bd",
        };
        write!(
            f,
            "{sign}{}{unit} {:02}:{:02}",
            self.days.unsigned_abs(),
            self.at.hour(),
            self.at.minute()
        )
    }
}

fn parse_hh_mm(t: &str) -> Option<Time> {
    let (h, m) = t.split_once(':')?;
    let two_digits = |s: &str| s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit());
    if !two_digits(h) || !two_digits(m) {
        return None;
    }
    let h: i8 = h.parse().ok()?;
    let m: i8 = m.parse().ok()?;
    Time::new(h, m, 0, 0).ok()
}

fn is_business_day(d: Date) -> bool {
    !matches!(d.weekday(), Weekday::Saturday | Weekday::Sunday)
}

/// Moves `n` business days from `from`; `0` keeps the date even on a weekend.
fn add_business_days(from: Date, n: i32) -> Date {
    let step = if n < 0 { -1i64 } else { 1 };
    let mut date = from;
    let mut left = n.unsigned_abs();
    while left > 0 {
        date = match date.checked_add(step.days()) {
            Ok(d) => d,
            Err(_) => return date,
        };
        if is_business_day(date) {
            left -= 1;
        }
    }
    date
}

/// When the day of `t` ends in `zone`: the first instant of the next day there. A day may
/// last 23 or 25 hours where clocks change.
pub fn end_of_day(t: Timestamp, zone: &TimeZone) -> Timestamp {
    t.to_zoned_datetime(zone.clone())
        .date()
        .tomorrow()
        .ok()
        .and_then(|day| day.to_zoned_datetime(zone.clone()).ok())
        .map_or(t, |start| start.timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    #[test]
    fn parses_the_documented_forms() {
        let o = DueOffset::parse("-5d").unwrap();
        assert_eq!(
            (o.days, o.count, o.at),
            (-5, DayCount::Calendar, DueOffset::DEFAULT_TIME)
        );
        let o = DueOffset::parse("+0d 09:30").unwrap();
        assert_eq!((o.days, o.at), (0, Time::constant(9, 30, 0, 0)));
        assert_eq!(DueOffset::parse("-3bd").unwrap().count, DayCount::Business);
        for bad in [
            "5d",
            "-5",
            "-d",
            "-5w",
            "+1d 25:00",
            "+1d 9:00",
            "-99999d",
            "",
            "+1bdx",
        ] {
            assert!(DueOffset::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn business_days_skip_weekends() {
        // 2026-12-04 is a Friday.
        let friday = date(2026, 12, 4);
        assert_eq!(
            DueOffset::parse("+1bd").unwrap().date_from(friday),
            date(2026, 12, 7)
        );
        assert_eq!(
            DueOffset::parse("-3bd").unwrap().date_from(friday),
            date(2026, 12, 1)
        );
        let monday = date(2026, 12, 7);
        assert_eq!(DueOffset::parse("-1bd").unwrap().date_from(monday), friday);
        assert_eq!(
            DueOffset::parse("-7d").unwrap().date_from(monday),
            date(2026, 11, 30)
        );
    }

    #[test]
    fn due_instant_is_local_time_in_the_subject_zone() {
        let tz = TimeZone::get("Europe/Berlin").unwrap();
        let due = DueOffset::parse("+0d 17:00")
            .unwrap()
            .due_at(date(2026, 12, 4), &tz);
        assert_eq!(due.to_string(), "2026-12-04T16:00:00Z");
    }

    #[test]
    fn a_day_ends_at_midnight_where_it_is_counted() {
        let at = |s: &str| s.parse::<Timestamp>().unwrap();
        let tokyo = TimeZone::get("Asia/Tokyo").unwrap();
        assert_eq!(
            end_of_day(at("2026-12-01T16:00:00Z"), &tokyo),
            at("2026-12-02T15:00:00Z"),
            "01:00 on the 2nd in Tokyo: the 2nd ends at 15:00 UTC"
        );
        assert_eq!(
            end_of_day(at("2026-12-01T16:00:00Z"), &TimeZone::UTC),
            at("2026-12-02T00:00:00Z")
        );
        // Berlin's clocks go back on 2026-10-25: that day lasts 25 hours.
        let berlin = TimeZone::get("Europe/Berlin").unwrap();
        assert_eq!(
            end_of_day(at("2026-10-24T22:30:00Z"), &berlin),
            at("2026-10-25T23:00:00Z")
        );
    }
}
