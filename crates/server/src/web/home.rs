//! Home: my tasks by when they are due, cases by status, overdue work by team, and how many
//! cases opened and closed each week and how long they took.

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use engine::case::CaseStatus;
use jiff::{SignedDuration, Timestamp};
use store::{Notification, TaskRow};

use super::charts::{self, Series};
use super::{Chrome, NoFields, PageError, People, Posted, Viewer, done};
use crate::ServerState;

/// One task in a list: what, of which case, whose, and when.
pub struct TaskLine {
    pub href: String,
    pub title: String,
    pub case_number: i64,
    pub subject_key: String,
    pub owner: String,
    pub due: String,
    pub overdue: bool,
}

impl TaskLine {
    pub fn new(row: &TaskRow, people: &People, viewer: &Viewer, now: Timestamp) -> Self {
        let t = &row.task;
        TaskLine {
            href: format!("/cases/{}/tasks/{}", row.case_number, t.id),
            title: t.title.clone(),
            case_number: row.case_number,
            subject_key: row.subject_key.to_string(),
            owner: t
                .assignee
                .map_or_else(|| t.owner_label.clone(), |a| people.name(a)),
            due: t
                .due_at
                .map(|d| viewer.day(d))
                .unwrap_or_else(|| "—".to_owned()),
            overdue: t.is_overdue(now),
        }
    }
}

pub struct StatusCount {
    pub label: String,
    pub css: &'static str,
    pub count: i64,
    pub href: String,
}

#[derive(Template)]
#[template(path = "web/home.html")]
struct HomePage {
    chrome: Chrome,
    overdue: Vec<TaskLine>,
    today: Vec<TaskLine>,
    week: Vec<TaskLine>,
    later: Vec<TaskLine>,
    /// How many later tasks are not listed.
    later_more: usize,
    statuses: Vec<StatusCount>,
    overdue_by_team: Vec<(String, i64)>,
    activity_chart: String,
    duration_chart: String,
    duration_summary: String,
}

/// How many tasks due after this week home lists.
const LATER_SHOWN: usize = 10;

/// How many weeks the charts cover.
const CHART_WEEKS: i64 = 12;

pub async fn home(State(state): State<ServerState>, viewer: Viewer) -> Result<Response, PageError> {
    let app = &state.app;
    let actor = &viewer.actor;
    let now = app.now();
    let people = People::load(app, actor).await?;
    // Days and weeks are the viewer's, as in their morning digest.
    let zone = viewer.zone();
    let today_ends = engine::due::end_of_day(now, &zone);
    let week_ends = today_ends
        .checked_add(SignedDuration::from_hours(24 * 6))
        .unwrap_or(today_ends);
    let (mut overdue, mut today, mut week, mut later) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for row in app.my_tasks(actor, 500).await? {
        let line = TaskLine::new(&row, &people, &viewer, now);
        match row.task.due_at {
            _ if row.task.is_overdue(now) => overdue.push(line),
            Some(d) if d < today_ends => today.push(line),
            Some(d) if d < week_ends => week.push(line),
            _ => later.push(line),
        }
    }
    let later_more = later.len().saturating_sub(LATER_SHOWN);
    later.truncate(LATER_SHOWN);
    let counts = app.case_counts(actor).await?;
    let lang = &viewer.lang;
    let statuses = [
        (CaseStatus::Open, lang.text("shared-status-open")),
        (
            CaseStatus::InProgress,
            lang.text("shared-status-in-progress"),
        ),
        (CaseStatus::Review, lang.text("shared-status-review")),
        (CaseStatus::Done, lang.text("shared-status-done")),
    ]
    .into_iter()
    .map(|(status, label)| StatusCount {
        label,
        css: status.as_str(),
        count: counts
            .iter()
            .find(|(s, _)| *s == status)
            .map_or(0, |(_, n)| *n),
        href: format!("/cases?status={}", status.as_str()),
    })
    .collect();
    let overdue_by_team = app.overdue_by_owner(actor, now).await?;

    let weeks = charts::weeks(now, CHART_WEEKS, &zone);
    let since = weeks
        .first()
        .and_then(|d| d.to_zoned_datetime(zone.clone()).ok())
        .map_or(now, |z| z.timestamp());
    let activity = app.case_activity(actor, since).await?;
    let slot = |t: Timestamp| weeks.iter().position(|w| *w == charts::week_of(t, &zone));
    let (mut opened, mut closed) = (vec![0.0; weeks.len()], vec![0.0; weeks.len()]);
    // Per week: cases completed, and the days they were open in all.
    let mut completions = vec![(0i64, 0.0f64); weeks.len()];
    for quarter in &activity {
        if let Some(i) = slot(quarter.from) {
            opened[i] += quarter.opened as f64;
            closed[i] += quarter.closed as f64;
            completions[i].0 += quarter.completed;
            completions[i].1 += quarter.completed_open_for.as_secs_f64() / 86_400.0;
        }
    }
    let labels: Vec<String> = weeks
        .iter()
        .map(|w| w.strftime("%b %d").to_string())
        .collect();
    // Each bar's title, which a screen reader reads: "Nov 23: 3 cases opened".
    let opened_says = |week: &str, count: f64| {
        let count = count as i64;
        lang.text_with(
            "home-activity-bar-opened",
            &[("week", &week), ("count", &count)],
        )
    };
    let closed_says = |week: &str, count: f64| {
        let count = count as i64;
        lang.text_with(
            "home-activity-bar-closed",
            &[("week", &week), ("count", &count)],
        )
    };
    let activity_chart = charts::bars(
        &lang.text("home-activity-chart"),
        &labels,
        &[
            Series {
                colour: "#1f5fbf",
                values: opened,
                says: &opened_says,
            },
            Series {
                colour: "#23703a",
                values: closed,
                says: &closed_says,
            },
        ],
    );
    let average = |&(count, days): &(i64, f64)| {
        if count == 0 { 0.0 } else { days / count as f64 }
    };
    let duration_chart = charts::bars(
        &lang.text("home-duration-chart"),
        &labels,
        &[Series {
            colour: "#8a5a00",
            values: completions.iter().map(average).collect(),
            says: &|week: &str, days: f64| {
                lang.text_with("home-duration-bar", &[("week", &week), ("days", &days)])
            },
        }],
    );
    // The chart's figures in words: a bar of a case completed within its day is too short to
    // see, and a window without completions draws nothing at all.
    let (completed, days) = completions
        .iter()
        .fold((0, 0.0), |(n, d), (count, days)| (n + count, d + days));
    let duration_summary = if completed == 0 {
        lang.text_with("home-duration-none", &[("weeks", &CHART_WEEKS)])
    } else {
        lang.text_with(
            "home-duration-summary",
            &[
                ("count", &completed),
                ("weeks", &CHART_WEEKS),
                ("days", &format!("{:.1}", days / completed as f64)),
            ],
        )
    };
    Ok(viewer.page(&HomePage {
        chrome: viewer.chrome("home", lang.text("home-title")),
        duration_summary,
        overdue,
        today,
        week,
        later,
        later_more,
        statuses,
        overdue_by_team,
        activity_chart,
        duration_chart,
    }))
}

#[derive(Template)]
#[template(path = "web/notifications.html")]
struct NotificationsPage {
    chrome: Chrome,
    items: Vec<NotificationLine>,
    email: Vec<app::EmailPreference>,
    time_zone: String,
    zones: &'static [String],
}

struct NotificationLine {
    summary: String,
    link: String,
    at: String,
    unread: bool,
}

impl NotificationLine {
    fn new(n: Notification, viewer: &Viewer) -> Self {
        NotificationLine {
            summary: n.summary,
            link: n.link,
            at: viewer.when(n.created_at),
            unread: n.read_at.is_none(),
        }
    }
}

pub async fn notifications(
    State(state): State<ServerState>,
    viewer: Viewer,
) -> Result<Response, PageError> {
    let (items, _) = state.app.notifications(&viewer.actor, 100).await?;
    let email = state.app.email_preferences(&viewer.actor).await?;
    Ok(viewer.page(&NotificationsPage {
        chrome: viewer.chrome("notifications", viewer.lang.text("notifications-title")),
        items: items
            .into_iter()
            .map(|n| NotificationLine::new(n, &viewer))
            .collect(),
        email,
        time_zone: viewer.actor.user.time_zone.to_string(),
        zones: super::zone_names(),
    }))
}

/// A time zone typed into a form.
#[derive(serde::Deserialize)]
pub struct TimeZoneForm {
    time_zone: String,
}

impl TimeZoneForm {
    pub fn zone(&self) -> Result<engine::ids::ZoneName, crate::error::ApiError> {
        crate::inputs::field("time_zone", engine::ids::ZoneName::parse(&self.time_zone))
    }
}

pub async fn set_time_zone(
    State(state): State<ServerState>,
    Posted { viewer, form }: Posted<TimeZoneForm>,
) -> Result<Response, PageError> {
    let result = async {
        let user = state.app.set_time_zone(&viewer.actor, form.zone()?).await?;
        Ok::<_, crate::error::ApiError>(viewer.lang.text_with(
            "notifications-time-zone-set",
            &[("zone", &user.time_zone.to_string())],
        ))
    }
    .await;
    Ok(super::outcome("/notifications", result))
}

#[derive(serde::Deserialize)]
pub struct EmailForm {
    kind: String,
    /// `on` or `off`.
    email: String,
}

pub async fn set_email(
    State(state): State<ServerState>,
    Posted { viewer, form }: Posted<EmailForm>,
) -> Result<Response, PageError> {
    let result = async {
        let email = match form.email.as_str() {
            "on" => true,
            "off" => false,
            other => {
                return Err(crate::error::ApiError::invalid(
                    "email",
                    format!("`{other}` is neither on nor off"),
                ));
            }
        };
        state
            .app
            .set_email_preferences(&viewer.actor, &[(form.kind.as_str(), email)])
            .await?;
        Ok(viewer.lang.text_with(
            "notifications-email-set",
            &[("kind", &form.kind), ("email", &form.email)],
        ))
    }
    .await;
    Ok(super::outcome("/notifications", result))
}

pub async fn read_notifications(
    State(state): State<ServerState>,
    Posted { viewer, .. }: Posted<NoFields>,
) -> Result<Response, PageError> {
    let read = state.app.read_notifications(&viewer.actor).await?;
    Ok(done(
        "/notifications",
        viewer
            .lang
            .text_with("notifications-marked-read", &[("count", &(read as i64))]),
    ))
}
