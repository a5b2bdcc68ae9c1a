//! The Offboarding Center: server-rendered pages for the people who run offboarding in a
//! browser, on the same port and over the same use cases as the JSON API.
//!
//! A page is a handler that takes a [`Viewer`] (the signed-in person, from the session
//! cookie), calls `app`, turns the result into a view model of display strings and renders an
//! askama template from `templates/web/`. Forms post back to the server ([`Posted`] checks the
//! session's CSRF token carried in a hidden field), which answers with a redirect and a flash
//! message (post/redirect/get). Nothing here decides a business rule: a refused action shows
//! the use case's own reason. The pages' own words, and the messages after a form, come from
//! the English message catalogue (`crate::i18n`), through the viewer's [`Language`] that each
//! page's [`Chrome`] carries.

mod audit;
mod blueprints;
mod cases;
mod certificate;
mod charts;
mod home;
mod settings;
mod sign_in;
mod subjects;
mod tasks;

use app::{Actor, AppError};
use askama::Template;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Form, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use engine::ids::SessionId;
use engine::tenant::Permission;
use jiff::Timestamp;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::ServerState;
use crate::error::ApiError;
use crate::extract::{SESSION_COOKIE, cookie, same_secret};
use crate::i18n::Language;

/// The cookie that carries a message to the next page after a form was sent.
const FLASH_COOKIE: &str = "exeunt_flash";

pub fn routes() -> Router<ServerState> {
    Router::new()
        .route("/", get(home::home))
        .route("/assets/exeunt.css", get(stylesheet))
        .route("/assets/exeunt.js", get(script))
        .route("/sign-in", get(sign_in::page).post(sign_in::submit))
        .route(
            "/first-run",
            get(sign_in::first_run).post(sign_in::set_first_password),
        )
        .route("/sign-out", post(sign_in::sign_out))
        .route(
            "/notifications",
            get(home::notifications).post(home::read_notifications),
        )
        .route("/notifications/email", post(home::set_email))
        .route("/notifications/time-zone", post(home::set_time_zone))
        .route("/subjects", get(subjects::list))
        .route("/subjects/{key}", get(subjects::overview))
        .route("/subjects/{key}/settings", get(subjects::settings))
        .route("/subjects/{key}/records", post(subjects::add_record))
        .route(
            "/subjects/{key}/offboard",
            get(subjects::offboard).post(subjects::start),
        )
        .route(
            "/subjects/{key}/party-offboarding",
            post(subjects::party_offboarding),
        )
        .route("/settings", get(settings::general))
        .route("/settings/holds", post(settings::place_hold))
        .route("/settings/holds/{id}/lift", post(settings::lift_hold))
        .route("/settings/retention", post(settings::set_retention))
        .route("/settings/time-zone", post(settings::set_time_zone))
        .route("/settings/jobs/{id}/retry", post(settings::retry_job))
        .route("/cases", get(cases::list))
        .route("/cases/{number}", get(cases::show))
        .route("/cases/{number}/certificate", get(certificate::show))
        .route("/cases/{number}/precheck", post(cases::precheck))
        .route("/cases/{number}/assign", post(cases::assign))
        .route("/cases/{number}/close", post(cases::close))
        .route("/cases/{number}/cancel", post(cases::cancel))
        .route("/cases/{number}/exports", post(cases::request_export))
        .route("/cases/{number}/exports/link", post(cases::receive_link))
        .route(
            "/cases/{number}/exports/waive-acknowledgement",
            post(cases::waive_acknowledgement),
        )
        .route(
            "/cases/{number}/revocations/{record}",
            post(cases::set_revocation),
        )
        .route(
            "/cases/{number}/work-items/{record}/handoff",
            post(cases::hand_off),
        )
        .route(
            "/cases/{number}/findings/{check}/waive",
            post(cases::waive_finding),
        )
        .route("/cases/{number}/tasks/{task}", get(tasks::show))
        .route(
            "/cases/{number}/tasks/{task}/complete",
            post(tasks::complete).layer(DefaultBodyLimit::max(tasks::UPLOAD_LIMIT)),
        )
        .route("/cases/{number}/tasks/{task}/assign", post(tasks::assign))
        .route("/cases/{number}/tasks/{task}/waive", post(tasks::waive))
        .route("/audit", get(audit::center))
        .route("/audit/verify", post(audit::verify))
        .route(
            "/blueprints",
            get(blueprints::list).post(blueprints::upload),
        )
        .route("/blueprints/{id}", get(blueprints::show))
}

async fn stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=300"),
        ],
        include_str!("../../assets/exeunt.css"),
    )
}

async fn script() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=300"),
        ],
        include_str!("../../assets/exeunt.js"),
    )
}

/// A message shown once, on the page a form redirected to.
#[derive(Clone, Debug)]
pub struct Flash {
    pub error: bool,
    pub text: String,
}

impl Flash {
    fn encode(&self) -> String {
        let level = if self.error { 'e' } else { 'o' };
        format!("{level}{}", URL_SAFE_NO_PAD.encode(self.text.as_bytes()))
    }

    fn decode(value: &str) -> Option<Self> {
        let (error, rest) = match value.split_at_checked(1)? {
            ("e", rest) => (true, rest),
            ("o", rest) => (false, rest),
            _ => return None,
        };
        let text = String::from_utf8(URL_SAFE_NO_PAD.decode(rest).ok()?).ok()?;
        Some(Flash { error, text })
    }
}

/// The signed-in person looking at a page.
pub struct Viewer {
    pub actor: Actor,
    session: SessionId,
    csrf_token: String,
    flash: Option<Flash>,
    /// How many of their notifications they have not read.
    unread: i64,
    /// The language of the pages: English, whatever the browser asks.
    pub lang: Language,
}

impl Viewer {
    /// Where this person is.
    pub fn zone(&self) -> jiff::tz::TimeZone {
        self.actor.user.time_zone.zone()
    }

    /// An instant as this person reads it: in their time zone, which the page names.
    pub fn when(&self, t: Timestamp) -> String {
        t.to_zoned_datetime(self.zone())
            .strftime("%Y-%m-%d %H:%M %Z")
            .to_string()
    }

    /// When an audit event happened, as [`Viewer::when`] shows instants.
    pub fn event_time(&self, event: &engine::audit::AuditEvent) -> String {
        Timestamp::from_microsecond(event.at_us).map_or_else(|_| String::new(), |t| self.when(t))
    }

    /// A deadline as this person reads it, the same on every page: the day and time where they
    /// are, the zone named; and where the subject is elsewhere (`local`, when its clock reads
    /// otherwise at that instant), the subject's day and time beside it.
    pub fn deadline(&self, t: Timestamp, local: &jiff::tz::TimeZone) -> String {
        let here = t.to_zoned_datetime(self.zone());
        let there = t.to_zoned_datetime(local.clone());
        let mine = here.strftime("%a %Y-%m-%d %H:%M %Z").to_string();
        if here.datetime() == there.datetime() {
            return mine;
        }
        let zone = local
            .iana_name()
            .map_or_else(|| self.lang.text("chrome-subject-zone"), str::to_owned);
        self.lang.text_with(
            "chrome-deadline-elsewhere",
            &[
                ("here", &mine),
                ("there", &there.strftime("%a %H:%M").to_string()),
                ("zone", &zone),
            ],
        )
    }

    /// The day of an instant where this person is.
    pub fn day(&self, t: Timestamp) -> String {
        t.to_zoned_datetime(self.zone())
            .strftime("%Y-%m-%d")
            .to_string()
    }

    pub fn can(&self, permission: Permission) -> bool {
        self.actor.user.role.allows(permission)
    }

    /// What every page shows around its content.
    pub fn chrome(&self, section: &'static str, title: impl Into<String>) -> Chrome {
        Chrome {
            title: title.into(),
            section,
            user_name: self.actor.user.name.as_str().to_owned(),
            role: self.actor.user.role.as_str(),
            tenant_name: self.actor.tenant.name.as_str().to_owned(),
            csrf_token: self.csrf_token.clone(),
            flash: self.flash.clone(),
            unread: self.unread,
            can_run: self.can(Permission::RunCases),
            can_complete: self.can(Permission::CompleteOwnTask),
            can_govern: self.can(Permission::GovernTenant),
            lang: self.lang.clone(),
        }
    }

    /// Renders a page; a flash message it showed is cleared.
    pub fn page(&self, template: &impl Template) -> Response {
        self.page_with_status(StatusCode::OK, template)
    }

    pub fn page_with_status(&self, status: StatusCode, template: &impl Template) -> Response {
        let mut response = (status, render(template)).into_response();
        if self.flash.is_some() {
            response
                .headers_mut()
                .append(header::SET_COOKIE, flash_cookie(None));
        }
        response
    }
}

/// The frame of every signed-in page: who is looking, where they are, what they may do.
pub struct Chrome {
    pub title: String,
    /// The navigation entry to mark as current.
    pub section: &'static str,
    pub user_name: String,
    pub role: &'static str,
    pub tenant_name: String,
    pub csrf_token: String,
    pub flash: Option<Flash>,
    pub unread: i64,
    pub can_run: bool,
    pub can_complete: bool,
    pub can_govern: bool,
    pub lang: Language,
}

impl FromRequestParts<ServerState> for Viewer {
    type Rejection = PageError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &ServerState,
    ) -> Result<Self, Self::Rejection> {
        let next = parts
            .uri
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .to_owned();
        let Some(secret) = cookie(&parts.headers, SESSION_COOKIE) else {
            return Err(PageError::SignIn { next });
        };
        let Some((actor, session)) = state.app.session_actor(secret).await? else {
            return Err(PageError::SignIn { next });
        };
        let unread = state.app.unread_notifications(&actor).await?;
        Ok(Viewer {
            actor,
            session: session.id,
            csrf_token: session.csrf_token,
            flash: cookie(&parts.headers, FLASH_COOKIE).and_then(Flash::decode),
            unread,
            lang: Language::english(),
        })
    }
}

/// A form sent by a signed-in person, with the session's CSRF token in `csrf_token`: a form
/// on another site can make the browser send the cookie, not the token.
pub struct Posted<T> {
    pub viewer: Viewer,
    pub form: T,
}

#[derive(Deserialize)]
struct WithCsrf<T> {
    csrf_token: String,
    // Form fields are text, which flattening reads as it reads them unflattened.
    #[serde(flatten)]
    fields: T,
}

impl<T: DeserializeOwned + Send> FromRequest<ServerState> for Posted<T> {
    type Rejection = PageError;

    async fn from_request(req: Request, state: &ServerState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let viewer = Viewer::from_request_parts(&mut parts, state).await?;
        let req = Request::from_parts(parts, body);
        let Form(WithCsrf { csrf_token, fields }) = Form::<WithCsrf<T>>::from_request(req, state)
            .await
            .map_err(|rejection| {
                PageError::Problem(ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid-input",
                    rejection.body_text(),
                ))
            })?;
        viewer.check_csrf(&csrf_token)?;
        Ok(Posted {
            viewer,
            form: fields,
        })
    }
}

impl Viewer {
    /// Refuses a form that does not carry this session's CSRF token.
    pub fn check_csrf(&self, sent: &str) -> Result<(), PageError> {
        if same_secret(sent.as_bytes(), self.csrf_token.as_bytes()) {
            return Ok(());
        }
        Err(PageError::Problem(ApiError::new(
            StatusCode::FORBIDDEN,
            "csrf",
            "this form is out of date or came from another site; reload the page and send it again",
        )))
    }
}

/// A form with no fields but its CSRF token.
#[derive(Deserialize)]
pub struct NoFields {}

/// The query of a page, whose failure is an error page rather than a problem document.
pub struct PageQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for PageQuery<T> {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let axum::extract::Query(query) =
            axum::extract::Query::<T>::from_request_parts(parts, state)
                .await
                .map_err(|rejection| {
                    PageError::Problem(ApiError::new(
                        StatusCode::BAD_REQUEST,
                        "invalid-query",
                        rejection.body_text(),
                    ))
                })?;
        Ok(PageQuery(query))
    }
}

/// The path parameters of a page, whose failure is an error page.
pub struct PagePath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for PagePath<T> {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let axum::extract::Path(path) = axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map_err(|rejection| {
                PageError::Problem(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid-path",
                    rejection.body_text(),
                ))
            })?;
        Ok(PagePath(path))
    }
}

/// A text field of a form that may be left empty: `None` when it is.
pub fn given(text: &str) -> Option<&str> {
    Some(text.trim()).filter(|t| !t.is_empty())
}

/// Why a page could not be shown: the visitor must sign in first, or a problem to show them.
pub enum PageError {
    SignIn { next: String },
    Problem(ApiError),
}

impl From<ApiError> for PageError {
    fn from(e: ApiError) -> Self {
        PageError::Problem(e)
    }
}

impl From<AppError> for PageError {
    fn from(e: AppError) -> Self {
        PageError::Problem(e.into())
    }
}

#[derive(Template)]
#[template(path = "web/error.html")]
struct ErrorPage<'a> {
    lang: Language,
    status: u16,
    title: String,
    detail: &'a str,
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        match self {
            PageError::SignIn { next } => {
                Redirect::to(&format!("/sign-in?next={}", query_value(&next))).into_response()
            }
            PageError::Problem(problem) => error_page(&problem),
        }
    }
}

/// A problem as a page for a person: what happened, in words, with the status it has.
pub fn error_page(problem: &ApiError) -> Response {
    let status = problem.status();
    let lang = Language::english();
    let title = match status {
        StatusCode::NOT_FOUND => lang.text("errors-not-found"),
        StatusCode::FORBIDDEN => lang.text("errors-forbidden"),
        StatusCode::LOCKED => lang.text("errors-frozen"),
        StatusCode::CONFLICT => lang.text("errors-conflict"),
        StatusCode::GONE => lang.text("errors-gone"),
        StatusCode::UNPROCESSABLE_ENTITY | StatusCode::BAD_REQUEST => {
            lang.text("errors-not-accepted")
        }
        _ => lang.text("errors-trouble"),
    };
    let page = ErrorPage {
        lang,
        status: status.as_u16(),
        title,
        detail: problem.detail(),
    };
    (status, render(&page)).into_response()
}

pub fn render(page: &impl Template) -> Html<String> {
    Html(page.render().unwrap_or_else(|e| {
        tracing::error!(error = %e, "a page did not render");
        let lang = Language::english();
        format!(
            "<!doctype html><title>{}</title><p>{}",
            lang.text("errors-unrendered-title"),
            lang.text("errors-unrendered")
        )
    }))
}

/// The header that sets (or, with `None`, clears) the flash message.
fn flash_cookie(flash: Option<&Flash>) -> HeaderValue {
    let (value, age) = flash.map_or((String::new(), 0), |f| (f.encode(), 120));
    HeaderValue::from_str(&format!(
        "{FLASH_COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={age}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// After a form: back to `to` (see other), with a message for the next page.
fn redirect_with(to: &str, flash: Flash) -> Response {
    let mut response = Redirect::to(to).into_response();
    response
        .headers_mut()
        .append(header::SET_COOKIE, flash_cookie(Some(&flash)));
    response
}

/// The form did what it asked: to `to`, saying `message`.
pub fn done(to: &str, message: impl Into<String>) -> Response {
    redirect_with(
        to,
        Flash {
            error: false,
            text: message.into(),
        },
    )
}

/// The form was refused. What the person can put right (a mistyped word, a missing reason, a
/// task not ready yet) sends them back to `to` saying why; a page they may not see, or may not
/// change (403, 404, 423), is an error page with that status.
pub fn refused(to: &str, problem: impl Into<ApiError>) -> Response {
    let problem = problem.into();
    if matches!(
        problem.status(),
        StatusCode::FORBIDDEN | StatusCode::NOT_FOUND | StatusCode::LOCKED
    ) {
        return error_page(&problem);
    }
    redirect_with(
        to,
        Flash {
            error: true,
            text: problem.detail().to_owned(),
        },
    )
}

/// Answers a form: `done` with the success message, or `refused` with the reason.
pub fn outcome<E: Into<ApiError>>(to: &str, result: Result<String, E>) -> Response {
    match result {
        Ok(message) => done(to, message),
        Err(problem) => refused(to, problem),
    }
}

/// `value` percent-encoded for a query string.
pub fn query_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Every time zone name the bundled database knows, sorted: what the time zone field offers.
pub fn zone_names() -> &'static [String] {
    static NAMES: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    NAMES.get_or_init(|| {
        let mut names: Vec<String> = jiff::tz::db()
            .available()
            .map(|name| name.to_string())
            .collect();
        names.sort();
        names
    })
}

/// What an audit event says happened, in words: its payload's summary, unless a purge
/// erased it.
pub fn summary(event: &engine::audit::AuditEvent, lang: &Language) -> String {
    event
        .payload
        .as_deref()
        .and_then(|p| serde_json::from_str::<serde_json::Value>(p).ok())
        .and_then(|v| v["summary"].as_str().map(str::to_owned))
        .unwrap_or_else(|| lang.text("audit-erased"))
}

/// A message (a flash, an event's summary) as a sentence for the page: its first letter a
/// capital, and each part the message quotes in backticks apart, as [`spans`] has them.
pub fn prose(text: &str) -> Vec<(bool, String)> {
    let mut parts = spans(text);
    if let Some((false, first)) = parts.first_mut() {
        *first = engine::wording::capitalised(first);
    }
    parts
}

/// A text with each part it quotes in backticks (a key, a check's id, a command) apart, for
/// the page to set as code rather than show the backticks. The parts are (quoted, text).
pub fn spans(text: &str) -> Vec<(bool, String)> {
    let mut parts: Vec<(bool, String)> = text
        .split('`')
        .enumerate()
        .filter(|(_, part)| !part.is_empty())
        .map(|(i, part)| (i % 2 == 1, part.to_owned()))
        .collect();
    // An unmatched backtick quotes nothing: the text after it reads as text.
    if text.matches('`').count() % 2 == 1
        && let Some(last) = parts.last_mut()
    {
        last.0 = false;
    }
    parts
}

pub use engine::wording::words;

/// Where people reach this server, as their browser named it (`https` when cookies are
/// marked secure, that is behind TLS): for addresses a page gives them to pass on.
pub fn origin(state: &ServerState, headers: &axum::http::HeaderMap) -> String {
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("this server");
    let scheme = if state.secure_cookies {
        "https"
    } else {
        "http"
    };
    format!("{scheme}://{host}")
}

/// A list's paging by cursor: the link to the page after the one shown, and back to the first.
/// Each page reads onward from its cursor in the list's index, so the ten-thousandth page
/// costs what the first does (an offset would read every row before it).
pub struct Paging {
    pub first: Option<String>,
    pub next: Option<String>,
}

impl Paging {
    /// For a page of `limit` rows read after the cursor `from` (none on the first page), where
    /// one row more than the page was asked for to learn whether a next page exists. `rows` is
    /// cut to the page. `base` is the page's path with its query, which the next link extends
    /// with `param` and the cursor of the page's last row.
    pub fn after<T>(
        rows: &mut Vec<T>,
        base: &str,
        from: Option<&str>,
        limit: i64,
        (param, cursor): (&str, impl Fn(&T) -> String),
    ) -> Self {
        let more = rows.len() as i64 > limit;
        rows.truncate(limit.max(0) as usize);
        let glue = if base.contains('?') { '&' } else { '?' };
        Paging {
            first: from.is_some().then(|| base.to_owned()),
            next: rows
                .last()
                .filter(|_| more)
                .map(|last| format!("{base}{glue}{param}={}", query_value(&cursor(last)))),
        }
    }
}

/// The people of the tenant, to show names where the data holds ids.
pub struct People(std::collections::HashMap<engine::ids::UserId, engine::tenant::User>);

impl People {
    pub async fn load(app: &app::App, actor: &Actor) -> Result<Self, ApiError> {
        Ok(People(
            app.users(actor)
                .await?
                .into_iter()
                .map(|u| (u.id, u))
                .collect(),
        ))
    }

    /// A user's name, or their id when they are gone.
    pub fn name(&self, id: engine::ids::UserId) -> String {
        self.0
            .get(&id)
            .map_or_else(|| id.to_string(), |u| u.name.as_str().to_owned())
    }

    /// Who an audit event names as its actor (`user:<id>`, or one of Exeunt's workers).
    pub fn actor(&self, actor: &str) -> String {
        actor
            .strip_prefix("user:")
            .and_then(|id| id.parse().ok())
            .map_or_else(|| actor.to_owned(), |id| self.name(engine::ids::UserId(id)))
    }

    /// The user with id `id`, unless they are gone.
    pub fn get(&self, id: engine::ids::UserId) -> Option<&engine::tenant::User> {
        self.0.get(&id)
    }

    /// A user's email, or nothing when they are gone.
    pub fn email(&self, id: engine::ids::UserId) -> String {
        self.0
            .get(&id)
            .map_or_else(String::new, |u| u.email.to_string())
    }

    /// Everyone, by name, for the pickers.
    pub fn sorted(&self) -> Vec<&engine::tenant::User> {
        let mut users: Vec<&engine::tenant::User> = self.0.values().collect();
        users.sort_by(|a, b| a.name.as_str().cmp(b.name.as_str()));
        users
    }

    /// Whom a picker of people for work about `subject` chooses until someone chooses: its
    /// account manager (or its parent's, for a product) when they can act, else the person
    /// signed in. The client's account manager owns the relationship the work is about.
    pub fn first_choice(
        &self,
        viewer: &Actor,
        subject: &engine::subject::Subject,
        parent: Option<&engine::subject::Subject>,
    ) -> String {
        let can_act = |email: &str| {
            self.0.values().any(|u| {
                u.email.as_str() == email
                    && u.role.allows(engine::tenant::Permission::CompleteOwnTask)
            })
        };
        std::iter::once(subject)
            .chain(parent)
            .filter_map(|s| s.attributes.get("account_manager"))
            .find(|email| can_act(email))
            .map_or_else(|| viewer.user.email.to_string(), str::to_owned)
    }

    /// The people a picker offers for work (an owner, an assignee, a new owner): everyone but
    /// the read-only auditors, as (email, name) by name.
    pub fn who_can_act(&self) -> Vec<(String, String)> {
        self.sorted()
            .into_iter()
            .filter(|u| u.role.allows(engine::tenant::Permission::CompleteOwnTask))
            .map(|u| (u.email.to_string(), u.name.as_str().to_owned()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::{Flash, prose, query_value};

    #[test]
    fn a_message_reads_as_a_sentence_with_its_quotes_as_code() {
        assert_eq!(
            prose("waived `no-account-manager`."),
            [
                (false, "Waived ".to_owned()),
                (true, "no-account-manager".to_owned()),
                (false, ".".to_owned())
            ]
        );
        assert_eq!(
            prose("`x` is not a key"),
            [(true, "x".to_owned()), (false, " is not a key".to_owned())]
        );
        assert_eq!(
            prose("half `open"),
            [(false, "Half ".to_owned()), (false, "open".to_owned())]
        );
        assert_eq!(prose(""), []);
    }

    #[test]
    fn a_flash_message_survives_its_cookie() {
        let flash = Flash {
            error: true,
            text: "case 4: the confirmation word does not match; ünïcode".into(),
        };
        let back = Flash::decode(&flash.encode()).unwrap();
        assert!(back.error);
        assert_eq!(back.text, flash.text);
        assert!(Flash::decode("x123").is_none());
        assert!(Flash::decode("").is_none());
    }

    #[test]
    fn query_values_are_percent_encoded() {
        assert_eq!(query_value("/cases/4?x=1&y"), "/cases/4%3Fx%3D1%26y");
    }
}
