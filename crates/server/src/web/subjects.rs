//! Subjects: the list, a subject's workspace overview and settings (both with Start
//! Offboarding, leading to one flow: blueprint, exit date, owner, the plan, start), the client
//! file's Party Offboarding dialog and Terminate product.

use app::{BlueprintChoice, StartCase};
use askama::Template;
use axum::extract::State;
use axum::response::Response;
use engine::case::CaseStatus;
use engine::ids::{Email, Slug, SubjectKey};
use engine::plan::Plan;
use engine::subject::{Record, RecordFields, RecordKind, Subject, SubjectKind, SubjectState};
use engine::tenant::Permission;
use jiff::tz::TimeZone;
use serde::Deserialize;
use store::{CaseFilter, SubjectFilter};

use super::{
    Chrome, PageError, PagePath, PageQuery, Paging, People, Posted, Viewer, given, outcome,
    query_value, refused,
};
use crate::ServerState;
use crate::error::ApiError;
use crate::i18n::Language;
use crate::inputs::{exit_date, field, reason, search};

const PAGE: i64 = 50;

pub struct SubjectLine {
    pub key: String,
    pub name: String,
    pub kind: &'static str,
    pub state: &'static str,
}

#[derive(Template)]
#[template(path = "web/subjects.html")]
struct ListPage {
    chrome: Chrome,
    subjects: Vec<SubjectLine>,
    search: String,
    kind: String,
    show_offboarded: bool,
    kinds: &'static [&'static str],
    paging: Paging,
}

#[derive(Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    search: String,
    #[serde(default)]
    kind: String,
    show_offboarded: Option<String>,
    /// The page after the subject with this key (by kind, then key).
    #[serde(default)]
    after: String,
}

fn kind(text: &str) -> Result<Option<SubjectKind>, ApiError> {
    given(text)
        .map(|k| field("kind", k.parse::<SubjectKind>()))
        .transpose()
}

pub async fn list(
    State(state): State<ServerState>,
    viewer: Viewer,
    PageQuery(q): PageQuery<ListQuery>,
) -> Result<Response, PageError> {
    let show_offboarded = q.show_offboarded.is_some();
    let after = given(&q.after)
        .map(|k| field("after", SubjectKey::parse(k)))
        .transpose()?;
    let filter = SubjectFilter {
        kind: kind(&q.kind)?,
        include_offboarded: show_offboarded,
        parent: None,
        search: search(Some(&q.search))?,
        after,
        limit: PAGE + 1,
        offset: 0,
    };
    let mut subjects = state.app.subjects(&viewer.actor, &filter).await?;
    let base = format!(
        "/subjects?search={}&kind={}{}",
        query_value(q.search.trim()),
        query_value(q.kind.trim()),
        if show_offboarded {
            "&show_offboarded=on"
        } else {
            ""
        }
    );
    let paging = Paging::after(
        &mut subjects,
        &base,
        given(&q.after),
        PAGE,
        ("after", |s: &Subject| s.key.to_string()),
    );
    Ok(viewer.page(&ListPage {
        chrome: viewer.chrome("subjects", viewer.lang.text("subjects-title")),
        subjects: subjects
            .into_iter()
            .map(|s| SubjectLine {
                key: s.key.to_string(),
                name: s.name.as_str().to_owned(),
                kind: s.kind.as_str(),
                state: s.state.as_str(),
            })
            .collect(),
        search: q.search,
        kind: q.kind,
        show_offboarded,
        kinds: &["client", "product", "employee", "organization"],
        paging,
    }))
}

/// One record as a line: its number and its fields.
pub struct RecordLine {
    pub number: i64,
    pub fields: Vec<(String, String)>,
}

pub struct RecordGroup {
    pub title: String,
    pub records: Vec<RecordLine>,
}

fn record_groups(records: &[Record], lang: &Language) -> Vec<RecordGroup> {
    RecordKind::ALL
        .into_iter()
        .map(|kind| RecordGroup {
            title: match kind {
                RecordKind::Document => lang.text("subject-records-documents"),
                RecordKind::Note => lang.text("subject-records-notes"),
                RecordKind::Contact => lang.text("subject-records-contacts"),
                RecordKind::Account => lang.text("subject-records-accounts"),
                RecordKind::Integration => lang.text("subject-records-integrations"),
                RecordKind::Asset => lang.text("subject-records-assets"),
                RecordKind::WorkItem => lang.text("subject-records-work-items"),
            },
            records: records
                .iter()
                .filter(|r| r.kind == kind)
                .map(|r| RecordLine {
                    number: r.number,
                    fields: r
                        .fields
                        .iter()
                        .map(|(k, v)| (k.replace('_', " "), v.to_owned()))
                        .collect(),
                })
                .collect(),
        })
        .collect()
}

pub struct CaseLine {
    pub number: i64,
    pub blueprint: String,
    pub status: &'static str,
    pub resolution: Option<&'static str>,
    pub exit_date: String,
    pub progress: String,
}

/// What both tabs of a subject's page show at the top.
struct SubjectHead {
    key: String,
    name: String,
    kind: &'static str,
    state: &'static str,
    parent: Option<(String, String)>,
    open_case: Option<i64>,
    /// Start Offboarding is offered: the subject is active, has no case running, and the
    /// viewer runs cases (an organization's is under Settings → General).
    can_start: bool,
    /// A party in the client file: the ⋯ menu offers Party Offboarding.
    party: bool,
    /// A product: Terminate product.
    product: bool,
    frozen: bool,
}

#[derive(Template)]
#[template(path = "web/subject.html")]
struct SubjectPage {
    chrome: Chrome,
    tab: &'static str,
    head: SubjectHead,
    groups: Vec<RecordGroup>,
    no_records: bool,
    /// How many records the page shows, when the subject has more.
    more_records: Option<i64>,
    attributes: Vec<(String, String)>,
    cases: Vec<CaseLine>,
    products: Vec<(String, String, &'static str)>,
    /// Each kind of record and the names of its fields.
    record_kinds: Vec<(&'static str, Vec<&'static str>)>,
    people: Vec<(String, String)>,
    /// Whom the pickers choose until another is chosen (see [`People::first_choice`]).
    first_choice: String,
    party_case: Option<PartyCase>,
    today: String,
}

/// The party's offboarding as the dialog shows it.
struct PartyCase {
    number: i64,
    status: &'static str,
    assignee: String,
    /// The resolution chosen in the dialog (`open` until one is).
    resolution_chosen: String,
    /// The resolutions the dialog offers, as (value, label).
    resolutions: Vec<(&'static str, String)>,
    /// Whether the dialog opens with the page: its last submission was refused.
    reopen: bool,
    done: bool,
    resolution: Option<&'static str>,
    word: String,
}

fn subject_key(text: &str) -> Result<SubjectKey, ApiError> {
    field("subject", SubjectKey::parse(text))
}

async fn subject_page(
    state: &ServerState,
    viewer: &Viewer,
    key: &str,
    tab: &'static str,
    choices: &PartyChoices,
) -> Result<Response, PageError> {
    let app = &state.app;
    let actor = &viewer.actor;
    let key = subject_key(key)?;
    let view = app.subject_page(actor, &key).await?;
    let people = People::load(app, actor).await?;
    let subject = &view.subject;
    let cases = app
        .cases(
            actor,
            &CaseFilter {
                subject: Some(subject.id),
                limit: 100,
                ..CaseFilter::default()
            },
        )
        .await?;
    let products = if subject.kind == SubjectKind::Client {
        app.subjects(
            actor,
            &SubjectFilter {
                parent: Some(subject.id),
                include_offboarded: true,
                limit: 500,
                ..SubjectFilter::default()
            },
        )
        .await?
        .into_iter()
        .map(|p| {
            (
                p.key.to_string(),
                p.name.as_str().to_owned(),
                p.state.as_str(),
            )
        })
        .collect()
    } else {
        Vec::new()
    };
    let party = subject.kind == SubjectKind::Client
        && subject.attributes.get("service_type") == Some("client-file");
    let party_case = match cases.iter().find(|c| c.blueprint_id.as_str() == "party") {
        Some(c) if party => {
            let file = app.case(actor, c.number).await?;
            Some(PartyCase {
                number: c.number,
                status: file.file.case.status.as_str(),
                assignee: given(&choices.party_assignee).map_or_else(
                    || file.owner.map(|u| u.email.to_string()).unwrap_or_default(),
                    str::to_owned,
                ),
                resolution_chosen: given(&choices.party_resolution)
                    .unwrap_or("open")
                    .to_owned(),
                resolutions: vec![
                    ("open", viewer.lang.text("subject-party-not-yet")),
                    ("done", viewer.lang.text("subject-party-done-choice")),
                    (
                        "cancelled",
                        viewer.lang.text("subject-party-cancelled-choice"),
                    ),
                ],
                reopen: given(&choices.party_resolution).is_some(),
                done: file.file.case.status == CaseStatus::Done,
                resolution: file.file.case.resolution.map(|r| r.as_str()),
                word: file.file.case.confirmation_word.clone(),
            })
        }
        _ => None,
    };
    let frozen = match view.open_case {
        Some(n) => app.case(actor, n).await?.file.case.frozen_at.is_some(),
        None => false,
    };
    let head = SubjectHead {
        key: subject.key.to_string(),
        name: subject.name.as_str().to_owned(),
        kind: subject.kind.as_str(),
        state: subject.state.as_str(),
        parent: view
            .parent
            .as_ref()
            .map(|p| (p.key.to_string(), p.name.as_str().to_owned())),
        open_case: view.open_case,
        can_start: subject.state == SubjectState::Active
            && view.open_case.is_none()
            && subject.kind != SubjectKind::Organization
            && viewer.can(Permission::RunCases),
        party,
        product: subject.kind == SubjectKind::Product,
        frozen,
    };
    let page = SubjectPage {
        chrome: viewer.chrome("subjects", subject.name.as_str()),
        tab,
        groups: record_groups(&view.records, &viewer.lang),
        no_records: view.records.is_empty(),
        more_records: view.more_records.then_some(app::RECORDS_ON_A_PAGE),
        attributes: subject
            .attributes
            .iter()
            .map(|(k, v)| (k.replace('_', " "), v.to_owned()))
            .collect(),
        cases: cases
            .iter()
            .map(|c| CaseLine {
                number: c.number,
                blueprint: format!("{}@{}", c.blueprint_id, c.blueprint_version),
                status: c.status.as_str(),
                resolution: c.resolution.map(|r| r.as_str()),
                exit_date: c.exit_date.to_string(),
                progress: format!("{}/{}", c.tasks_closed, c.tasks_total),
            })
            .collect(),
        products,
        record_kinds: RecordKind::ALL
            .into_iter()
            .map(|k| (k.as_str(), k.fields().iter().map(|f| f.name).collect()))
            .collect(),
        first_choice: people.first_choice(&viewer.actor, subject, view.parent.as_ref()),
        people: people.who_can_act(),
        party_case,
        today: viewer.day(app.now()),
        head,
    };
    Ok(viewer.page(&page))
}

/// What a person chose in the party dialog before it was refused: the page opens the dialog
/// again with those choices.
#[derive(Deserialize, Default)]
pub struct PartyChoices {
    #[serde(default)]
    party_assignee: String,
    #[serde(default)]
    party_resolution: String,
}

/// The subject's workspace overview: its records, cases and products.
pub async fn overview(
    State(state): State<ServerState>,
    viewer: Viewer,
    PagePath(key): PagePath<String>,
    PageQuery(choices): PageQuery<PartyChoices>,
) -> Result<Response, PageError> {
    subject_page(&state, &viewer, &key, "overview", &choices).await
}

/// The subject's settings detail page: its attributes, and where its offboarding starts.
pub async fn settings(
    State(state): State<ServerState>,
    viewer: Viewer,
    PagePath(key): PagePath<String>,
) -> Result<Response, PageError> {
    subject_page(&state, &viewer, &key, "settings", &PartyChoices::default()).await
}

#[derive(Deserialize)]
pub struct RecordForm {
    kind: String,
    /// One `field=value` per line.
    fields: String,
}

pub async fn add_record(
    State(state): State<ServerState>,
    PagePath(key): PagePath<String>,
    Posted { viewer, form }: Posted<RecordForm>,
) -> Result<Response, PageError> {
    let back = format!("/subjects/{}", query_value(&key));
    let result = async {
        let key = subject_key(&key)?;
        let kind = field("kind", form.kind.trim().parse::<RecordKind>())?;
        let mut pairs = Vec::new();
        for (i, line) in form.fields.lines().enumerate() {
            let Some(line) = given(line) else { continue };
            let (name, value) = line.split_once('=').ok_or_else(|| {
                ApiError::invalid(
                    "fields",
                    format!("fields line {}: `{line}` is not field=value", i + 1),
                )
            })?;
            pairs.push((name.trim(), value.trim()));
        }
        let fields = field("fields", RecordFields::parse(kind, pairs))?;
        let record = state
            .app
            .add_record(&viewer.actor, &key, kind, fields)
            .await?;
        Ok::<_, ApiError>(viewer.lang.text_with(
            "subject-record-added",
            &[
                ("kind", &super::words(kind.as_str())),
                ("number", &record.number),
            ],
        ))
    }
    .await;
    Ok(outcome(&back, result))
}

#[derive(Template)]
#[template(path = "web/offboard.html")]
struct OffboardPage {
    chrome: Chrome,
    key: String,
    name: String,
    kind: &'static str,
    blueprints: Vec<(String, String)>,
    blueprint: String,
    exit_date: String,
    owner: String,
    people: Vec<(String, String)>,
    preview: Option<Preview>,
    error: Option<String>,
}

/// The dry run, as the page shows it: stages in order with their tasks.
pub struct Preview {
    pub blueprint: String,
    pub time_zone: String,
    pub stages: Vec<PreviewStage>,
    pub skipped: Vec<(String, String)>,
    pub findings: Vec<(String, &'static str, String)>,
}

pub struct PreviewStage {
    pub title: String,
    pub freeze: bool,
    pub tasks: Vec<PreviewTask>,
}

pub struct PreviewTask {
    pub title: String,
    pub owner: String,
    pub kind: &'static str,
    pub due: String,
    pub evidence: bool,
}

/// The plan as `viewer` reads it: each due time where they are, and where the subject is
/// beside it when that differs.
pub fn preview(plan: &Plan, viewer: &Viewer) -> Preview {
    let tz = TimeZone::get(&plan.time_zone).unwrap_or(TimeZone::UTC);
    Preview {
        blueprint: format!("{}@{}", plan.blueprint_id, plan.blueprint_version),
        time_zone: plan.time_zone.clone(),
        stages: plan
            .stages
            .iter()
            .map(|stage| PreviewStage {
                title: stage.title.clone(),
                freeze: stage.freeze,
                tasks: plan
                    .tasks
                    .iter()
                    .filter(|t| t.stage == stage.id)
                    .map(|t| PreviewTask {
                        title: t.title.clone(),
                        owner: t.owner_label.clone(),
                        kind: t.kind.as_str(),
                        due: t
                            .due_at
                            .map_or_else(|| "—".to_owned(), |d| viewer.deadline(d, &tz)),
                        evidence: t.evidence_required,
                    })
                    .collect(),
            })
            .collect(),
        skipped: plan
            .skipped
            .iter()
            .map(|s| (s.id.to_string(), s.when.clone()))
            .collect(),
        findings: plan
            .findings
            .iter()
            .map(|f| {
                (
                    f.check_id.to_string(),
                    f.severity.as_str(),
                    f.message.clone(),
                )
            })
            .collect(),
    }
}

#[derive(Deserialize)]
pub struct OffboardQuery {
    #[serde(default)]
    blueprint: String,
    #[serde(default)]
    exit_date: String,
    #[serde(default)]
    owner: String,
}

/// Start Offboarding: choose the blueprint, exit date and owner; with an exit date given,
/// the plan preview below, and the button that starts the case.
pub async fn offboard(
    State(state): State<ServerState>,
    viewer: Viewer,
    PagePath(key): PagePath<String>,
    PageQuery(q): PageQuery<OffboardQuery>,
) -> Result<Response, PageError> {
    viewer.actor.require(Permission::RunCases)?;
    let app = &state.app;
    let actor = &viewer.actor;
    let subject_key = subject_key(&key)?;
    let view = app.subject(actor, &subject_key).await?;
    let subject = &view.subject;
    let blueprints: Vec<(String, String)> = app
        .blueprints(actor)
        .await?
        .into_iter()
        .filter(|(_, bp, _)| bp.scope == subject.kind)
        .map(|(info, _, _)| {
            let label = viewer.lang.text_with(
                "offboard-blueprint",
                &[("title", &info.title), ("version", &info.version)],
            );
            (info.id, label)
        })
        .collect();
    let people = People::load(app, actor).await?;
    let mut error = None;
    let preview = match given(&q.exit_date) {
        None => None,
        Some(date) => {
            let planned = async {
                let date = exit_date(date)?;
                let choice = match given(&q.blueprint) {
                    Some(id) => BlueprintChoice::Id(field("blueprint", Slug::parse(id))?),
                    None => return Ok(None),
                };
                let owner = given(&q.owner)
                    .map(|o| field("owner", Email::parse(o)))
                    .transpose()?;
                Ok::<_, ApiError>(Some(
                    app.plan(actor, &choice, &subject_key, date, owner.as_ref())
                        .await?,
                ))
            }
            .await;
            match planned {
                Ok(plan) => plan.as_ref().map(|plan| preview(plan, &viewer)),
                Err(e) => {
                    error = Some(e.detail().to_owned());
                    None
                }
            }
        }
    };
    let page = OffboardPage {
        chrome: viewer.chrome(
            "subjects",
            viewer
                .lang
                .text_with("offboard-title", &[("name", &subject.name.as_str())]),
        ),
        key: subject.key.to_string(),
        name: subject.name.as_str().to_owned(),
        kind: subject.kind.as_str(),
        blueprint: given(&q.blueprint)
            .map(str::to_owned)
            .or_else(|| blueprints.first().map(|(id, _)| id.clone()))
            .unwrap_or_default(),
        blueprints,
        exit_date: q.exit_date,
        owner: given(&q.owner).map_or_else(
            || people.first_choice(actor, subject, view.parent.as_ref()),
            str::to_owned,
        ),
        people: people.who_can_act(),
        preview,
        error,
    };
    Ok(viewer.page(&page))
}

#[derive(Deserialize)]
pub struct StartForm {
    #[serde(default)]
    blueprint: String,
    exit_date: String,
    #[serde(default)]
    owner: String,
    /// An organization's key, typed again.
    #[serde(default)]
    confirmation: String,
}

fn start_case(key: &str, form: &StartForm) -> Result<StartCase, ApiError> {
    Ok(StartCase {
        subject: subject_key(key)?,
        blueprint: given(&form.blueprint)
            .map(|id| field("blueprint", Slug::parse(id)).map(BlueprintChoice::Id))
            .transpose()?,
        exit_date: exit_date(form.exit_date.trim())?,
        owner: given(&form.owner)
            .map(|o| field("owner", Email::parse(o)))
            .transpose()?,
        confirmation: given(&form.confirmation).map(str::to_owned),
    })
}

/// Starts the case and opens its page.
pub async fn start(
    State(state): State<ServerState>,
    PagePath(key): PagePath<String>,
    Posted { viewer, form }: Posted<StartForm>,
) -> Result<Response, PageError> {
    let back = format!("/subjects/{}", query_value(&key));
    let started = match start_case(&key, &form) {
        Ok(start) => state.app.start_case(&viewer.actor, start).await,
        Err(e) => return Ok(refused(&back, e)),
    };
    Ok(match started {
        Ok(case) => super::done(
            &format!("/cases/{}", case.number),
            viewer.lang.text_with(
                "offboard-started",
                &[
                    ("number", &case.number),
                    ("tasks", &case.tasks),
                    ("children", &case.children.len()),
                ],
            ),
        ),
        Err(e) => refused(&back, e),
    })
}

#[derive(Deserialize)]
pub struct PartyForm {
    #[serde(default)]
    assignee: String,
    /// `open` (leave it running), `done` or `cancelled`.
    #[serde(default)]
    resolution: String,
    #[serde(default)]
    confirm: String,
    #[serde(default)]
    reason: String,
}

/// The client file's Party Offboarding dialog: starts the party's offboarding with an
/// assignee, reassigns it, or resolves it: done (with the typed confirmation word) or
/// cancelled (with a reason).
pub async fn party_offboarding(
    State(state): State<ServerState>,
    PagePath(key): PagePath<String>,
    Posted { viewer, form }: Posted<PartyForm>,
) -> Result<Response, PageError> {
    let back = format!("/subjects/{}", query_value(&key));
    let app = &state.app;
    let actor = &viewer.actor;
    let result = async {
        let subject = subject_key(&key)?;
        let assignee = given(&form.assignee)
            .map(|a| field("assignee", Email::parse(a)))
            .transpose()?;
        let view = app.subject(actor, &subject).await?;
        let Some(number) = view.open_case else {
            let started = app
                .start_case(
                    actor,
                    StartCase {
                        subject,
                        blueprint: Some(BlueprintChoice::Id(field(
                            "blueprint",
                            Slug::parse("party"),
                        )?)),
                        exit_date: app.now().to_zoned_datetime(viewer.zone()).date(),
                        owner: assignee,
                        confirmation: None,
                    },
                )
                .await?;
            return Ok(viewer
                .lang
                .text_with("subject-party-started", &[("number", &started.number)]));
        };
        let mut said = Vec::new();
        // Resolving ends the case, whose owner then no longer matters; a refused resolution
        // (a mistyped word) changes nothing, the assignee neither.
        match form.resolution.trim() {
            "" | "open" => {
                if let Some(assignee) = &assignee {
                    let before = app.case(actor, number).await?.file.case.owner_id;
                    let case = app.assign_case(actor, number, assignee).await?;
                    if case.owner_id != before {
                        said.push(viewer.lang.text_with(
                            "subject-party-assigned",
                            &[("number", &number), ("assignee", &assignee.to_string())],
                        ));
                    }
                }
            }
            "done" => {
                app.close_case(actor, number, form.confirm.trim()).await?;
                said.push(
                    viewer
                        .lang
                        .text_with("subject-party-closed", &[("number", &number)]),
                );
            }
            "cancelled" => {
                app.cancel_case(actor, number, &reason(&form.reason)?)
                    .await?;
                said.push(
                    viewer
                        .lang
                        .text_with("subject-party-cancelled", &[("number", &number)]),
                );
            }
            other => {
                return Err(ApiError::invalid(
                    "resolution",
                    format!("resolution `{other}` is not one of open, done, cancelled"),
                ));
            }
        }
        if said.is_empty() {
            said.push(viewer.lang.text("subject-party-unchanged"));
        }
        Ok(said.join(" "))
    }
    .await;
    Ok(match result {
        Ok(said) => super::done(&back, said),
        // Back to the dialog, open, with what was chosen.
        Err(problem) => refused(
            &format!(
                "{back}?party_assignee={}&party_resolution={}",
                query_value(form.assignee.trim()),
                query_value(given(&form.resolution).unwrap_or("open")),
            ),
            problem,
        ),
    })
}
