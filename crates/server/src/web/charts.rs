//! Charts drawn on the server as SVG: no script, readable by a screen reader through their
//! titles, and the same in every browser.

use std::fmt::Write;

use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;

/// One row of bars: a colour, one value per label, and what a bar says of itself given its
/// label and its value (rounded to a tenth): its title, which a screen reader reads.
pub struct Series<'a> {
    pub colour: &'static str,
    pub values: Vec<f64>,
    pub says: &'a dyn Fn(&str, f64) -> String,
}

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 220.0;
const LEFT: f64 = 36.0;
const BOTTOM: f64 = 28.0;
const TOP: f64 = 10.0;

/// Grouped bars: for each label, one bar per series.
pub fn bars(title: &str, labels: &[String], series: &[Series]) -> String {
    let max = series
        .iter()
        .flat_map(|s| s.values.iter().copied())
        .fold(0.0_f64, f64::max);
    let top = nice_ceiling(max);
    let plot_height = HEIGHT - BOTTOM - TOP;
    let slot = (WIDTH - LEFT) / labels.len().max(1) as f64;
    let bar = (slot * 0.8) / series.len().max(1) as f64;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{}" xmlns="http://www.w3.org/2000/svg"><title>{}</title>"#,
        escape(title),
        escape(title)
    );
    for step in 0..=4 {
        let value = top * f64::from(step) / 4.0;
        let y = TOP + plot_height - plot_height * f64::from(step) / 4.0;
        let _ = write!(
            svg,
            r##"<line x1="{LEFT}" x2="{WIDTH}" y1="{y:.1}" y2="{y:.1}" stroke="#d9dde5" stroke-width="1"/><text x="{:.1}" y="{:.1}" font-size="10" text-anchor="end" fill="#5b6476">{}</text>"##,
            LEFT - 4.0,
            y + 3.0,
            short(value)
        );
    }
    for (i, label) in labels.iter().enumerate() {
        let x0 = LEFT + slot * i as f64 + slot * 0.1;
        for (j, s) in series.iter().enumerate() {
            let value = s.values.get(i).copied().unwrap_or(0.0);
            let h = if top > 0.0 {
                plot_height * value / top
            } else {
                0.0
            };
            let _ = write!(
                svg,
                r#"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{h:.1}" fill="{}" rx="2"><title>{}</title></rect>"#,
                x0 + bar * j as f64,
                TOP + plot_height - h,
                (bar - 1.0).max(1.0),
                s.colour,
                escape(&(s.says)(label, (value * 10.0).round() / 10.0))
            );
        }
        // Every other label when they would crowd.
        if labels.len() <= 8 || i % 2 == 0 {
            let _ = write!(
                svg,
                r##"<text x="{:.1}" y="{:.1}" font-size="10" text-anchor="middle" fill="#5b6476">{}</text>"##,
                x0 + slot * 0.4,
                HEIGHT - 10.0,
                escape(label)
            );
        }
    }
    svg.push_str("</svg>");
    svg
}

/// The top of the axis: four equal steps of 1, 2 or 5 × 10ⁿ that reach `max`, so every tick
/// reads as a round number.
fn nice_ceiling(max: f64) -> f64 {
    let step = (max / 4.0).max(1.0);
    let magnitude = 10f64.powf(step.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|v| *v >= step)
        .unwrap_or(step);
    step * 4.0
}

fn short(value: f64) -> String {
    if (value - value.round()).abs() < 0.05 {
        format!("{}", value.round() as i64)
    } else {
        format!("{value:.1}")
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The Monday that starts the week of `t` in `zone`.
pub fn week_of(t: Timestamp, zone: &TimeZone) -> Date {
    let date = t.to_zoned_datetime(zone.clone()).date();
    let back = i64::from(date.weekday().to_monday_zero_offset());
    date.checked_sub(jiff::Span::new().days(back))
        .unwrap_or(date)
}

/// The Mondays of the `count` weeks up to and including the week of `now` in `zone`, oldest
/// first.
pub fn weeks(now: Timestamp, count: i64, zone: &TimeZone) -> Vec<Date> {
    let last = week_of(now, zone);
    (0..count)
        .rev()
        .filter_map(|i| last.checked_sub(jiff::Span::new().weeks(i)).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axes_round_up_to_readable_numbers() {
        assert_eq!(nice_ceiling(0.0), 4.0);
        assert_eq!(nice_ceiling(5.0), 8.0);
        assert_eq!(nice_ceiling(13.0), 20.0);
        assert_eq!(nice_ceiling(420.0), 800.0);
    }

    #[test]
    fn weeks_start_on_monday_and_end_with_this_one() {
        let now: Timestamp = "2026-11-26T12:00:00Z".parse().unwrap(); // a Thursday
        let weeks = weeks(now, 3, &TimeZone::UTC);
        let days: Vec<String> = weeks.iter().map(ToString::to_string).collect();
        assert_eq!(days, ["2026-11-09", "2026-11-16", "2026-11-23"]);
    }

    #[test]
    fn a_week_is_the_viewers() {
        // Sunday evening in New York is already Monday in UTC.
        let now: Timestamp = "2026-11-30T02:00:00Z".parse().unwrap();
        let new_york = TimeZone::get("America/New_York").unwrap();
        assert_eq!(week_of(now, &TimeZone::UTC).to_string(), "2026-11-30");
        assert_eq!(week_of(now, &new_york).to_string(), "2026-11-23");
    }

    #[test]
    fn labels_are_escaped_and_every_bar_has_a_title() {
        let svg = bars(
            "Cases <per> week",
            &["a&b".to_owned(), "c".to_owned()],
            &[Series {
                colour: "#1f5fbf",
                values: vec![1.0, 3.04],
                says: &|label, value| format!("{label}: {value} opened"),
            }],
        );
        assert!(svg.contains("Cases &lt;per&gt; week"));
        assert!(svg.contains("a&amp;b: 1 opened"));
        assert!(svg.contains("c: 3 opened"));
        assert_eq!(svg.matches("<rect").count(), 2);
    }
}
