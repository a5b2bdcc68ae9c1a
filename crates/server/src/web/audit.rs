//! The Audit Center: the tenant's whole history, filtered by subject, case, actor, action and
//! date, page by page; and verifying the hash chain.

use app::AppError;
use askama::Template;
use axum::extract::State;
use axum::response::Response;
use engine::audit::AuditEvent;
use engine::ids::SubjectKey;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use serde::Deserialize;
use store::AuditFilter;

use super::{
    Chrome, NoFields, PageError, PageQuery, Paging, People, Posted, Viewer, done, given,
    query_value, refused,
};
use crate::ServerState;
use crate::error::ApiError;
use crate::i18n::Language;
use crate::inputs::field;

const PAGE: i64 = 50;

/// What an event is about, as a person reads it: in words, with a link to the page that shows
/// it where there is one, and a reference (a key, a task's id) set apart as data. An id nobody
/// reads (a UUID) is shortened to its first eight digits, the whole id in its tooltip.
struct About {
    text: String,
    href: Option<String>,
    reference: Option<Reference>,
}

struct Reference {
    shown: String,
    whole: String,
}

impl Reference {
    fn of(id: &str) -> Self {
        let shown = match uuid::Uuid::parse_str(id) {
            Ok(uuid) => uuid.simple().to_string()[..8].to_owned(),
            Err(_) => id.to_owned(),
        };
        Reference {
            shown,
            whole: id.to_owned(),
        }
    }
}

impl About {
    fn of(kind: &str, id: &str, people: &People, lang: &Language) -> Self {
        let about = |text: String, href: Option<String>, reference: Option<&str>| About {
            text,
            href,
            reference: reference.map(Reference::of),
        };
        let case = |n: &str| n.parse::<i64>().ok();
        match (kind, id.split_once('/')) {
            ("case", _) if case(id).is_some() => about(
                lang.text_with("audit-about-case", &[("number", &id)]),
                Some(format!("/cases/{id}")),
                None,
            ),
            ("task", Some((n, task))) if case(n).is_some() => about(
                lang.text_with("audit-about-task", &[("number", &n)]),
                Some(format!("/cases/{n}/tasks/{task}")),
                Some(task),
            ),
            ("export", Some((n, export))) if case(n).is_some() => about(
                lang.text_with("audit-about-export", &[("number", &n)]),
                Some(format!("/cases/{n}")),
                Some(export),
            ),
            ("revocation", Some((n, record))) if case(n).is_some() => about(
                lang.text_with("audit-about-revocation", &[("number", &n)]),
                Some(format!("/cases/{n}")),
                Some(record),
            ),
            ("record", Some((key, number))) => about(
                lang.text_with("audit-about-record", &[("number", &number)]),
                Some(format!("/subjects/{}", super::query_value(key))),
                Some(key),
            ),
            // Its id, not its key: the subject's page is by key, so no link.
            ("subject", _) => about(lang.text("audit-about-subject"), None, Some(id)),
            ("blueprint", _) => {
                let (blueprint, version) = id.split_once('@').unwrap_or((id, ""));
                let text = if version.is_empty() {
                    lang.text("audit-about-blueprint")
                } else {
                    lang.text_with("audit-about-blueprint-version", &[("version", &version)])
                };
                about(
                    text,
                    Some(format!("/blueprints/{}", super::query_value(blueprint))),
                    Some(blueprint),
                )
            }
            ("user", _) => match id
                .parse()
                .ok()
                .and_then(|u| people.get(engine::ids::UserId(u)))
            {
                Some(user) => about(
                    lang.text_with("audit-about-user", &[("name", &user.name.as_str())]),
                    None,
                    None,
                ),
                None => about(lang.text("audit-about-former-user"), None, Some(id)),
            },
            ("tenant", _) => about(
                lang.text("audit-about-tenant"),
                Some("/settings".to_owned()),
                None,
            ),
            _ => about(
                engine::wording::capitalised(&super::words(kind)),
                None,
                Some(id),
            ),
        }
    }
}

struct EventLine {
    seq: i64,
    at: String,
    actor: String,
    action: String,
    about: About,
    summary: String,
}

#[derive(Template)]
#[template(path = "web/audit.html")]
struct AuditPage {
    chrome: Chrome,
    events: Vec<EventLine>,
    subject: String,
    case: String,
    actor: String,
    action: String,
    from: String,
    to: String,
    actors: Vec<(String, String)>,
    paging: Paging,
}

#[derive(Deserialize)]
pub struct AuditQuery {
    #[serde(default)]
    subject: String,
    #[serde(default)]
    case: String,
    #[serde(default)]
    actor: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    /// The page of events before this one (newest first).
    before: Option<i64>,
}

/// The first instant of a day given as `YYYY-MM-DD` in `zone`, or of the day after it.
fn day_start(
    name: &str,
    text: &str,
    next: bool,
    zone: &TimeZone,
) -> Result<Option<jiff::Timestamp>, ApiError> {
    let Some(text) = given(text) else {
        return Ok(None);
    };
    let date: Date = text.parse().map_err(|_| {
        ApiError::invalid(
            name,
            format!("{name} `{text}` is not a date such as 2026-11-23"),
        )
    })?;
    let date = if next {
        date.tomorrow().unwrap_or(date)
    } else {
        date
    };
    Ok(date
        .to_zoned_datetime(zone.clone())
        .ok()
        .map(|z| z.timestamp()))
}

pub async fn center(
    State(state): State<ServerState>,
    viewer: Viewer,
    PageQuery(q): PageQuery<AuditQuery>,
) -> Result<Response, PageError> {
    let app = &state.app;
    let actor = &viewer.actor;
    let subject = given(&q.subject)
        .map(|k| field("subject", SubjectKey::parse(k)))
        .transpose()?;
    let case = given(&q.case)
        .map(|c| {
            c.parse::<i64>()
                .map_err(|_| ApiError::invalid("case", format!("case `{c}` is not a case number")))
        })
        .transpose()?;
    let concerning = app.audit_concern(actor, subject.as_ref(), case).await?;
    let filter = AuditFilter {
        before_seq: Some(q.before.unwrap_or(i64::MAX)),
        limit: PAGE + 1,
        action: given(&q.action).map(str::to_owned),
        actor: given(&q.actor).map(str::to_owned),
        from: day_start("from", &q.from, false, &viewer.zone())?,
        to: day_start("to", &q.to, true, &viewer.zone())?,
        concerning,
        ..AuditFilter::default()
    };
    let mut events = app.audit_log(actor, &filter).await?;
    let people = People::load(app, actor).await?;
    let query = format!(
        "/audit?subject={}&case={}&actor={}&action={}&from={}&to={}",
        query_value(q.subject.trim()),
        query_value(q.case.trim()),
        query_value(q.actor.trim()),
        query_value(q.action.trim()),
        query_value(q.from.trim()),
        query_value(q.to.trim()),
    );
    let from = q.before.map(|seq| seq.to_string());
    let paging = Paging::after(
        &mut events,
        &query,
        from.as_deref(),
        PAGE,
        ("before", |e: &AuditEvent| e.seq.to_string()),
    );
    let page = AuditPage {
        chrome: viewer.chrome("audit", viewer.lang.text("audit-title")),
        events: events
            .into_iter()
            .map(|e| EventLine {
                seq: e.seq,
                at: viewer.event_time(&e),
                actor: people.actor(&e.actor),
                about: About::of(&e.target_kind, &e.target_id, &people, &viewer.lang),
                summary: super::summary(&e, &viewer.lang),
                action: e.action,
            })
            .collect(),
        paging,
        actors: people
            .sorted()
            .into_iter()
            .map(|u| (u.actor(), u.name.as_str().to_owned()))
            .collect(),
        subject: q.subject,
        case: q.case,
        actor: q.actor,
        action: q.action,
        from: q.from,
        to: q.to,
    };
    Ok(viewer.page(&page))
}

/// Walks the whole chain and says whether it is intact, or where it broke.
pub async fn verify(
    State(state): State<ServerState>,
    Posted { viewer, .. }: Posted<NoFields>,
) -> Result<Response, PageError> {
    Ok(match state.app.verify_audit(&viewer.actor).await {
        Ok(events) => done(
            "/audit",
            viewer
                .lang
                .text_with("audit-chain-intact", &[("count", &events)]),
        ),
        Err(AppError::Chain(broken)) => refused(
            "/audit",
            ApiError::new(
                axum::http::StatusCode::CONFLICT,
                "chain-broken",
                viewer
                    .lang
                    .text_with("audit-chain-broken", &[("problem", &broken.to_string())]),
            ),
        ),
        Err(e) => refused("/audit", e),
    })
}
