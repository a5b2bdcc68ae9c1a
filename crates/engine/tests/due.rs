//! Due dates relative to the exit date: parsing `-5d`, `+0d 17:00`, `-3bd`; the date an offset
//! lands on (calendar and business days); the instant it is due in the subject's zone, across
//! daylight saving changes; and where a day ends.
//!
//! Dates are checked against a day count of our own (days since 1970-01-01 by the civil
//! calendar algorithm), not against jiff's arithmetic the engine itself uses.

use exeunt_engine::due::{DayCount, DueOffset, end_of_day};
use jiff::civil::{Date, Time, date, time};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use proptest::prelude::*;

const RULE: &str = "expected a sign, a number of days and `d` or `bd`, optionally a time: `-5d`, `+0d 17:00`, `-3bd`";

fn offset(text: &str) -> DueOffset {
    DueOffset::parse(text).unwrap_or_else(|e| panic!("{text:?}: {e}"))
}

fn zone(name: &str) -> TimeZone {
    TimeZone::get(name).unwrap()
}

fn ts(text: &str) -> Timestamp {
    text.parse().unwrap()
}

/// Days since 1970-01-01 (Howard Hinnant's `days_from_civil`).
fn day_number(d: Date) -> i64 {
    let (y, m, d) = (
        i64::from(d.year()),
        i64::from(d.month()),
        i64::from(d.day()),
    );
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Monday to Friday, by the day number: 1970-01-01 was a Thursday.
fn is_weekday(d: Date) -> bool {
    // 0 = Thursday, 1 = Friday, 2 = Saturday, 3 = Sunday, …
    !matches!(day_number(d).rem_euclid(7), 2 | 3)
}

/// A date from 2000-01-01 plus `n` days.
fn date_from_index(n: i64) -> Date {
    date(2000, 1, 1)
        .checked_add(jiff::Span::new().days(n))
        .unwrap()
}

#[test]
fn the_documented_forms_parse() {
    let at = |h, m| Time::constant(h, m, 0, 0);
    let cases = [
        ("-5d", -5, DayCount::Calendar, at(17, 0)),
        ("+0d 17:00", 0, DayCount::Calendar, at(17, 0)),
        ("-3bd", -3, DayCount::Business, at(17, 0)),
        ("+10d 09:30", 10, DayCount::Calendar, at(9, 30)),
        ("+1bd 00:00", 1, DayCount::Business, at(0, 0)),
        ("-0d 23:59", 0, DayCount::Calendar, at(23, 59)),
        ("  -5d  ", -5, DayCount::Calendar, at(17, 0)),
        ("+1d\t08:15", 1, DayCount::Calendar, at(8, 15)),
        ("+0007d", 7, DayCount::Calendar, at(17, 0)),
        ("+1095d", 1095, DayCount::Calendar, at(17, 0)),
        ("-1095bd", -1095, DayCount::Business, at(17, 0)),
    ];
    for (text, days, count, time) in cases {
        assert_eq!(
            DueOffset::parse(text),
            Ok(DueOffset {
                days,
                count,
                at: time
            }),
            "{text:?}"
        );
    }
}

#[test]
fn malformed_offsets_are_refused_naming_what_was_written() {
    for bad in [
        "",
        "   ",
        "5d",
        "-5",
        "-d",
        "+bd",
        "-5w",
        "++1d",
        "+-1d",
        "+1 d",
        "+1D",
        "+1dd",
        "+1bdx",
        "+1d 25:00",
        "+1d 24:00",
        "+1d 17:60",
        "+1d 9:00",
        "+1d 17",
        "+1d 17:00:00",
        "+1d 1700",
        "+1096d",
        "-1096bd",
        "-99999d",
        "\u{2212}1d",
        "+\u{ff11}d",
        "+1d 17:00 extra",
    ] {
        let err = DueOffset::parse(bad).expect_err(bad);
        assert_eq!(
            err.to_string(),
            format!("`{bad}` is not a due offset; {RULE}")
        );
    }
}

#[test]
fn an_offset_is_shown_in_its_full_form() {
    assert_eq!(offset("-5d").to_string(), "-5d 17:00");
    assert_eq!(offset("+0d").to_string(), "+0d 17:00");
    assert_eq!(offset("-0d").to_string(), "+0d 17:00");
    assert_eq!(offset("-3bd 08:05").to_string(), "-3bd 08:05");
    assert_eq!(offset("+0007d").to_string(), "+7d 17:00");
}

/// Times must be written `HH:MM`; a sign inside them is not a time.
#[test]
fn a_time_with_a_sign_is_refused() {
    for (bad, time) in [
        ("+1d +9:30", "+9:30"),
        ("+1d 09:+5", "09:+5"),
        ("+1d -0:30", "-0:30"),
        ("-2bd +09:30", "+09:30"),
    ] {
        let err = DueOffset::parse(bad).expect_err(bad);
        assert_eq!(
            err.to_string(),
            format!(
                "`{bad}` is not a due offset: the time `{time}` has a sign; expected a time of day without one, such as `+1d 09:30`"
            )
        );
    }
}

#[test]
fn calendar_days_count_every_day() {
    // 2026-12-07 is a Monday.
    let monday = date(2026, 12, 7);
    assert_eq!(offset("-7d").date_from(monday), date(2026, 11, 30));
    assert_eq!(offset("+0d").date_from(monday), monday);
    assert_eq!(offset("+25d").date_from(monday), date(2027, 1, 1));
    // Leap years: 2028 has a 29 February, 2027 does not.
    assert_eq!(
        offset("+1d").date_from(date(2028, 2, 28)),
        date(2028, 2, 29)
    );
    assert_eq!(offset("+1d").date_from(date(2027, 2, 28)), date(2027, 3, 1));
    assert_eq!(
        offset("+1095d").date_from(date(2026, 1, 1)),
        date(2028, 12, 31)
    );
}

#[test]
fn business_days_skip_weekends() {
    let friday = date(2026, 12, 4);
    let saturday = date(2026, 12, 5);
    let sunday = date(2026, 12, 6);
    let monday = date(2026, 12, 7);
    assert_eq!(offset("+1bd").date_from(friday), monday);
    assert_eq!(offset("+1bd").date_from(saturday), monday);
    assert_eq!(offset("+1bd").date_from(sunday), monday);
    assert_eq!(offset("-1bd").date_from(monday), friday);
    assert_eq!(offset("-1bd").date_from(saturday), friday);
    assert_eq!(offset("-1bd").date_from(sunday), friday);
    // Zero business days keeps the date, even a Sunday.
    assert_eq!(offset("+0bd").date_from(sunday), sunday);
    assert_eq!(offset("-5bd").date_from(monday), date(2026, 11, 30));
    assert_eq!(
        offset("+5bd").date_from(date(2026, 12, 2)),
        date(2026, 12, 9)
    );
    assert_eq!(offset("+10bd").date_from(friday), date(2026, 12, 18));
    // Over the new year: Thursday 31 December, then Friday 1 and Monday 4 January.
    assert_eq!(
        offset("+2bd").date_from(date(2026, 12, 31)),
        date(2027, 1, 4)
    );
    assert_eq!(
        offset("-2bd").date_from(date(2027, 1, 4)),
        date(2026, 12, 31)
    );
}

#[test]
fn seventeen_hundred_is_seventeen_hundred_local_across_berlin_dst() {
    let berlin = zone("Europe/Berlin");
    let due = |text: &str, exit| offset(text).due_at(exit, &berlin);
    // Clocks go forward on Sunday 2026-03-29: CET (+01:00) before, CEST (+02:00) after.
    assert_eq!(due("+0d", date(2026, 3, 28)), ts("2026-03-28T16:00:00Z"));
    assert_eq!(due("+0d", date(2026, 3, 29)), ts("2026-03-29T15:00:00Z"));
    assert_eq!(due("+1d", date(2026, 3, 28)), ts("2026-03-29T15:00:00Z"));
    assert_eq!(
        due("+1d", date(2026, 3, 28)).duration_since(due("+0d", date(2026, 3, 28))),
        SignedDuration::from_hours(23),
        "the day the clocks go forward has 23 hours"
    );
    // Clocks go back on Sunday 2026-10-25.
    assert_eq!(due("+0d", date(2026, 10, 24)), ts("2026-10-24T15:00:00Z"));
    assert_eq!(due("+0d", date(2026, 10, 25)), ts("2026-10-25T16:00:00Z"));
    assert_eq!(
        due("+1d", date(2026, 10, 24)).duration_since(due("+0d", date(2026, 10, 24))),
        SignedDuration::from_hours(25)
    );
    // A week back across the change lands at 17:00 CET.
    assert_eq!(due("-7d", date(2026, 4, 1)), ts("2026-03-25T16:00:00Z"));
    // Business days across the change: Monday 30 March minus one is Friday 27 March, in CET.
    assert_eq!(due("-1bd", date(2026, 3, 30)), ts("2026-03-27T16:00:00Z"));
    assert_eq!(due("+1bd", date(2026, 3, 27)), ts("2026-03-30T15:00:00Z"));
}

#[test]
fn due_times_follow_new_york_and_sydney_clocks() {
    let ny = zone("America/New_York");
    let due = |text: &str, exit, tz: &TimeZone| offset(text).due_at(exit, tz);
    // EST (−05:00) until Sunday 2026-03-08, EDT (−04:00) until Sunday 2026-11-01.
    assert_eq!(
        due("+0d", date(2026, 3, 7), &ny),
        ts("2026-03-07T22:00:00Z")
    );
    assert_eq!(
        due("+0d", date(2026, 3, 8), &ny),
        ts("2026-03-08T21:00:00Z")
    );
    assert_eq!(
        due("+0d", date(2026, 10, 31), &ny),
        ts("2026-10-31T21:00:00Z")
    );
    assert_eq!(
        due("+0d", date(2026, 11, 1), &ny),
        ts("2026-11-01T22:00:00Z")
    );
    assert_eq!(
        due("+0d 09:00", date(2026, 11, 1), &ny),
        ts("2026-11-01T14:00:00Z")
    );
    // Sydney's summer ends on Sunday 2026-04-05 (AEDT +11:00 → AEST +10:00).
    let sydney = zone("Australia/Sydney");
    assert_eq!(
        due("+0d", date(2026, 4, 4), &sydney),
        ts("2026-04-04T06:00:00Z")
    );
    assert_eq!(
        due("+0d", date(2026, 4, 5), &sydney),
        ts("2026-04-05T07:00:00Z")
    );
    // The same offset in UTC, Tokyo (+09:00) and Kolkata (+05:30).
    let exit = date(2026, 6, 15);
    assert_eq!(due("+0d", exit, &TimeZone::UTC), ts("2026-06-15T17:00:00Z"));
    assert_eq!(
        due("+0d", exit, &zone("Asia/Tokyo")),
        ts("2026-06-15T08:00:00Z")
    );
    assert_eq!(
        due("+0d", exit, &zone("Asia/Kolkata")),
        ts("2026-06-15T11:30:00Z")
    );
}

#[test]
fn a_time_the_clocks_skip_or_repeat_resolves_to_a_real_instant() {
    let berlin = zone("Europe/Berlin");
    // 02:30 does not exist on 2026-03-29 in Berlin: it is due after the gap, not before it.
    let due = offset("+0d 02:30").due_at(date(2026, 3, 29), &berlin);
    assert!(due >= ts("2026-03-29T01:00:00Z"), "{due}");
    let local = due.to_zoned_datetime(berlin.clone());
    assert_eq!(local.date(), date(2026, 3, 29));
    assert!(local.time() >= time(3, 0, 0, 0) && local.time() <= time(3, 30, 0, 0));
    // 02:30 happens twice on 2026-10-25: the first time counts (CEST).
    assert_eq!(
        offset("+0d 02:30").due_at(date(2026, 10, 25), &berlin),
        ts("2026-10-25T00:30:00Z")
    );
    // In New York the repeated hour is 01:00–02:00; the first 01:30 is EDT.
    assert_eq!(
        offset("+0d 01:30").due_at(date(2026, 11, 1), &zone("America/New_York")),
        ts("2026-11-01T05:30:00Z")
    );
}

#[test]
fn a_day_ends_where_it_is_counted() {
    let berlin = zone("Europe/Berlin");
    // The 23-hour day: 2026-03-29 in Berlin runs from 23:00Z to 22:00Z.
    assert_eq!(
        end_of_day(ts("2026-03-29T10:00:00Z"), &berlin),
        ts("2026-03-29T22:00:00Z")
    );
    assert_eq!(
        end_of_day(ts("2026-03-28T23:00:00Z"), &berlin),
        ts("2026-03-29T22:00:00Z"),
        "midnight is the first instant of its day"
    );
    assert_eq!(
        end_of_day(ts("2026-03-28T22:59:59Z"), &berlin),
        ts("2026-03-28T23:00:00Z")
    );
    // Samoa skipped 30 December 2011: the day after the 29th there is the 31st.
    assert_eq!(
        end_of_day(ts("2011-12-29T12:00:00Z"), &zone("Pacific/Apia")),
        ts("2011-12-30T10:00:00Z")
    );
    // In Santiago clocks go forward at midnight, so 2026-09-06 starts at 01:00 local.
    let santiago = zone("America/Santiago");
    let end = end_of_day(ts("2026-09-05T12:00:00Z"), &santiago);
    assert_eq!(
        end.to_zoned_datetime(santiago.clone()).date(),
        date(2026, 9, 6)
    );
    assert_eq!(end.to_zoned_datetime(santiago).time(), time(1, 0, 0, 0));
}

// ---- Properties -----------------------------------------------------------------------------

/// Zones whose clock changes all happen before 04:00 local time.
const ZONES: &[&str] = &[
    "UTC",
    "Europe/Berlin",
    "Europe/London",
    "America/New_York",
    "America/Los_Angeles",
    "America/Santiago",
    "Australia/Sydney",
    "Australia/Lord_Howe",
    "Pacific/Auckland",
    "Asia/Tokyo",
    "Asia/Kolkata",
];

fn any_offset() -> impl Strategy<Value = DueOffset> {
    (
        -DueOffset::MAX_DAYS..=DueOffset::MAX_DAYS,
        prop_oneof![Just(DayCount::Calendar), Just(DayCount::Business)],
        0i8..24,
        0i8..60,
    )
        .prop_map(|(days, count, h, m)| DueOffset {
            days,
            count,
            at: Time::constant(h, m, 0, 0),
        })
}

/// Exit dates from 2000 to about 2060.
fn any_exit() -> impl Strategy<Value = Date> {
    (0i64..22_000).prop_map(date_from_index)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn an_offset_reads_back_as_itself(o in any_offset()) {
        prop_assert_eq!(DueOffset::parse(&o.to_string()), Ok(o));
    }

    #[test]
    fn written_offsets_mean_what_they_say(
        negative in any::<bool>(),
        days in 0i32..=DueOffset::MAX_DAYS,
        business in any::<bool>(),
        at in prop::option::of((0i8..24, 0i8..60)),
    ) {
        let mut text = format!(
            "{}{days}{}",
            if negative { '-' } else { '+' },
            if business { "bd" } else { "d" }
        );
        if let Some((h, m)) = at {
            text.push_str(&format!(" {h:02}:{m:02}"));
        }
        let o = DueOffset::parse(&text).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(o.days, if negative { -days } else { days });
        prop_assert_eq!(o.count, if business { DayCount::Business } else { DayCount::Calendar });
        let (h, m) = at.unwrap_or((17, 0));
        prop_assert_eq!(o.at, Time::constant(h, m, 0, 0));
    }

    #[test]
    fn any_text_parses_or_is_refused_never_panics(text in any::<String>()) {
        if let Ok(o) = DueOffset::parse(&text) {
            prop_assert!(o.days.abs() <= DueOffset::MAX_DAYS);
            prop_assert_eq!(DueOffset::parse(&o.to_string()), Ok(o));
        }
    }

    #[test]
    fn n_calendar_days_land_exactly_n_days_away(exit in any_exit(), n in -1095i32..=1095) {
        let o = DueOffset { days: n, count: DayCount::Calendar, at: DueOffset::DEFAULT_TIME };
        let landed = o.date_from(exit);
        prop_assert_eq!(day_number(landed) - day_number(exit), i64::from(n));
    }

    #[test]
    fn n_business_days_land_on_the_nth_weekday(exit in any_exit(), n in -400i32..=400) {
        let o = DueOffset { days: n, count: DayCount::Business, at: DueOffset::DEFAULT_TIME };
        let landed = o.date_from(exit);
        let (from, to) = (day_number(exit), day_number(landed));
        if n == 0 {
            prop_assert_eq!(landed, exit);
            return Ok(());
        }
        prop_assert!(is_weekday(landed), "{} lands on a weekend: {}", n, landed);
        prop_assert_eq!(to > from, n > 0);
        // Weekdays strictly after the exit date up to and including the date landed on (or the
        // other way round): exactly |n|, so it is the nearest such date.
        let (lo, hi) = if n > 0 { (from + 1, to) } else { (to, from - 1) };
        let weekdays = (lo..=hi)
            .filter(|d| !matches!(d.rem_euclid(7), 2 | 3))
            .count();
        prop_assert_eq!(weekdays, n.unsigned_abs() as usize);
        // A weekend per five weekdays, plus the leftover days and at most one more weekend.
        let n = i64::from(n.abs());
        prop_assert!((to - from).abs() <= n / 5 * 7 + n % 5 + 2);
    }

    /// The instant is the written local time on the date the offset lands on, in the subject's
    /// zone, whatever the clocks do in between.
    #[test]
    fn the_due_instant_is_the_local_time_on_the_landed_date(
        zone_name in prop::sample::select(ZONES),
        exit in (7_300i64..13_150).prop_map(date_from_index),
        o in any_offset(),
        h in 4i8..24,
    ) {
        let o = DueOffset { at: Time::constant(h, o.at.minute(), 0, 0), ..o };
        let tz = zone(zone_name);
        let local = o.due_at(exit, &tz).to_zoned_datetime(tz);
        prop_assert_eq!(local.date(), o.date_from(exit));
        prop_assert_eq!(local.time(), o.at);
    }

    /// In the small hours clocks may jump; a due time there is never earlier than written and
    /// never more than an hour later, on the same date.
    #[test]
    fn a_due_time_in_a_clock_change_moves_forward_at_most_an_hour(
        zone_name in prop::sample::select(ZONES),
        exit in (7_300i64..13_150).prop_map(date_from_index),
        h in 0i8..4,
        m in 0i8..60,
    ) {
        let tz = zone(zone_name);
        let o = DueOffset { days: 0, count: DayCount::Calendar, at: Time::constant(h, m, 0, 0) };
        let local = o.due_at(exit, &tz).to_zoned_datetime(tz);
        prop_assert_eq!(local.date(), exit);
        let written = o.at.to_datetime(exit);
        let got = local.datetime();
        prop_assert!(got >= written, "{} is before {}", got, written);
        prop_assert!(got.duration_since(written) <= SignedDuration::from_hours(1), "{} vs {}", got, written);
    }

    #[test]
    fn a_day_ends_at_the_first_instant_of_the_next(
        zone_name in prop::sample::select(ZONES),
        secs in 946_684_800i64..2_208_988_800,
    ) {
        let tz = zone(zone_name);
        let t = Timestamp::from_second(secs).unwrap();
        let end = end_of_day(t, &tz);
        let day = t.to_zoned_datetime(tz.clone()).date();
        prop_assert!(end > t);
        prop_assert_eq!(end.to_zoned_datetime(tz.clone()).date(), day.tomorrow().unwrap());
        let just_before = end - SignedDuration::from_nanos(1);
        prop_assert_eq!(just_before.to_zoned_datetime(tz).date(), day);
        prop_assert!(end.duration_since(t) <= SignedDuration::from_hours(25));
    }
}
