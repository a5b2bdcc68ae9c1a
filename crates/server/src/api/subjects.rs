//! Subjects and their records.

use std::collections::BTreeMap;

use app::{App, NewSubject};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use engine::ids::{SubjectKey, Text};
use engine::subject::{Attributes, RecordFields};
use serde::Deserialize;
use store::SubjectFilter;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::ServerState;
use crate::docs::{
    BadRequest, Conflict, JsonWriteProblems, Locked, NotFound, Unauthorized, UnprocessableContent,
};
use crate::error::ApiError;
use crate::extract::{Body, Caller, Params, Path};
use crate::views::{self, Record, RecordKind, Subject, SubjectDetail, SubjectKind};

use super::{Created, Reply, default_limit, next_page, page};
use crate::inputs::{field, key, record_number, search};

pub(super) fn routes() -> OpenApiRouter<ServerState> {
    OpenApiRouter::new()
        .routes(routes!(list_subjects, add_subject))
        .routes(routes!(show_subject))
        .routes(routes!(list_records, add_record))
        .routes(routes!(update_record))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct SubjectQuery {
    /// Only subjects of this kind.
    // Text parsed by the handler, so that an unknown kind is a 422 naming the valid ones, as
    // an unknown case status is.
    #[param(value_type = Option<SubjectKind>, inline)]
    kind: Option<String>,
    /// Also list offboarded and purged subjects.
    #[serde(default)]
    include_offboarded: bool,
    /// Only subjects whose name or key contains this text (ignoring case).
    #[param(max_length = 200)]
    search: Option<String>,
    #[serde(default = "default_limit")]
    #[param(default = default_limit, minimum = 1, maximum = 1000)]
    limit: i64,
    #[serde(default)]
    #[param(minimum = 0)]
    offset: i64,
    /// Only subjects after the one with this key, in the listing's order (kind, then key). The
    /// next page starts after the last subject of this one (the `Link` header with
    /// `rel="next"` names it); unlike `offset`, it costs the same on any page.
    after: Option<String>,
}

/// List subjects
///
/// Offboarded and purged subjects are left out unless asked for.
#[utoipa::path(
    get,
    path = "/subjects",
    tag = "subjects",
    params(SubjectQuery),
    responses(
        (status = 200, description = "The subjects, by kind then key", body = [Subject],
            headers(("Link" = String, description = "`<…?after=KEY…>; rel=\"next\"` when the page is full"))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 422, response = UnprocessableContent),
    ),
    security(("token" = []), ("session" = [])),
)]
async fn list_subjects(
    State(app): State<App>,
    Caller(actor): Caller,
    Params(q): Params<SubjectQuery>,
) -> Result<(HeaderMap, Json<Vec<Subject>>), ApiError> {
    let (limit, offset) = page(q.limit, ("offset", q.offset))?;
    let kind = q
        .kind
        .as_deref()
        .map(|k| field("kind", k.parse::<engine::subject::SubjectKind>()))
        .transpose()?;
    let filter = SubjectFilter {
        kind,
        include_offboarded: q.include_offboarded,
        parent: None,
        search: search(q.search.as_deref())?,
        after: q
            .after
            .as_deref()
            .map(|k| field("after", SubjectKey::parse(k)))
            .transpose()?,
        limit,
        offset,
    };
    let subjects = app.subjects(&actor, &filter).await?;
    let headers = next_page(subjects.len() as i64 == limit, || {
        let last = subjects.last().map_or("", |s| s.key.as_str());
        let mut target = format!("/api/v1/subjects?after={last}&limit={limit}");
        if let Some(kind) = kind {
            target.push_str(&format!("&kind={}", kind.as_str()));
        }
        if q.include_offboarded {
            target.push_str("&include_offboarded=true");
        }
        if let Some(text) = &filter.search {
            target.push_str(&format!("&search={}", crate::web::query_value(text)));
        }
        target
    });
    Ok((headers, Json(views::list(subjects))))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct NewSubjectBody {
    /// Unique in the tenant: letters, digits, `-`, `_` or `.`, starting with a letter or digit.
    key: String,
    kind: SubjectKind,
    #[schema(max_length = 200)]
    name: String,
    /// The key of the client a product belongs to.
    parent: Option<String>,
    /// Known names (`country`, `timezone`, `contract_end`, `manager`, …) are checked against
    /// their type; other names are text.
    #[serde(default)]
    attributes: BTreeMap<String, String>,
}

/// Add a subject
#[utoipa::path(
    post,
    path = "/subjects",
    tag = "subjects",
    request_body = NewSubjectBody,
    responses(
        (status = 201, description = "The subject as added", body = Subject),
        JsonWriteProblems,
        (status = 409, response = Conflict),
    ),
    security(("token" = []), ("session" = [], "csrf" = [])),
)]
async fn add_subject(
    State(app): State<App>,
    Caller(actor): Caller,
    Body(b): Body<NewSubjectBody>,
) -> Created<Subject> {
    let subject = NewSubject {
        key: field("key", SubjectKey::parse(&b.key))?,
        kind: b.kind.into(),
        name: field(
            "name",
            Text::line(&b.name, engine::subject::Subject::NAME_MAX),
        )?,
        parent: b
            .parent
            .as_deref()
            .map(|p| field("parent", SubjectKey::parse(p)))
            .transpose()?,
        attributes: field(
            "attributes",
            Attributes::parse(b.attributes.iter().map(|(k, v)| (k.as_str(), v.as_str()))),
        )?,
    };
    let mut added = app
        .add_subjects(&actor, vec![subject])
        .await
        .map_err(|(_, e)| ApiError::from(e))?;
    Ok((StatusCode::CREATED, Json(added.swap_remove(0).into())))
}

/// Show a subject
///
/// With its first 100 records (`more_records` says whether there are more: list them from
/// `/subjects/{key}/records`), its parent and its open case.
#[utoipa::path(
    get,
    path = "/subjects/{key}",
    tag = "subjects",
    params(("key" = String, Path, description = "The subject's key")),
    responses(
        (status = 200, description = "The subject", body = SubjectDetail),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
    ),
    security(("token" = []), ("session" = [])),
)]
async fn show_subject(
    State(app): State<App>,
    Caller(actor): Caller,
    Path(k): Path<String>,
) -> Reply<SubjectDetail> {
    Ok(Json(app.subject_page(&actor, &key(&k)?).await?.into()))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct RecordQuery {
    /// Records numbered above this: the next page starts after the last record of this one
    /// (the `Link` header with `rel="next"` names it).
    #[serde(default)]
    #[param(minimum = 0)]
    after: i64,
    #[serde(default = "default_limit")]
    #[param(default = default_limit, minimum = 1, maximum = 1000)]
    limit: i64,
}

/// List a subject's records
///
/// In number order, a page at a time; each page costs the same however many records the
/// subject has.
#[utoipa::path(
    get,
    path = "/subjects/{key}/records",
    tag = "subjects",
    params(("key" = String, Path, description = "The subject's key"), RecordQuery),
    responses(
        (status = 200, description = "The records", body = [Record],
            headers(("Link" = String, description = "`<…?after=N…>; rel=\"next\"` when the page is full"))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 422, response = UnprocessableContent),
    ),
    security(("token" = []), ("session" = [])),
)]
async fn list_records(
    State(app): State<App>,
    Caller(actor): Caller,
    Path(k): Path<String>,
    Params(q): Params<RecordQuery>,
) -> Result<(HeaderMap, Json<Vec<Record>>), ApiError> {
    let (limit, after) = page(q.limit, ("after", q.after))?;
    let subject = key(&k)?;
    let records = app.records(&actor, &subject, after, limit).await?;
    let headers = next_page(records.len() as i64 == limit, || {
        let last = records.last().map_or(after, |r| r.number);
        format!("/api/v1/subjects/{subject}/records?after={last}&limit={limit}")
    });
    Ok((headers, Json(views::list(records))))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct NewRecordBody {
    kind: RecordKind,
    /// The fields the kind allows; a missing choice takes its default.
    fields: BTreeMap<String, String>,
}

/// Add a record to a subject
#[utoipa::path(
    post,
    path = "/subjects/{key}/records",
    tag = "subjects",
    params(("key" = String, Path, description = "The subject's key")),
    request_body = NewRecordBody,
    responses(
        (status = 201, description = "The record as added", body = Record),
        JsonWriteProblems,
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 423, response = Locked),
    ),
    security(("token" = []), ("session" = [], "csrf" = [])),
)]
async fn add_record(
    State(app): State<App>,
    Caller(actor): Caller,
    Path(k): Path<String>,
    Body(b): Body<NewRecordBody>,
) -> Created<Record> {
    let kind = engine::subject::RecordKind::from(b.kind);
    let fields = field(
        "fields",
        RecordFields::parse(kind, b.fields.iter().map(|(k, v)| (k.as_str(), v.as_str()))),
    )?;
    let record = app.add_record(&actor, &key(&k)?, kind, fields).await?;
    Ok((StatusCode::CREATED, Json(record.into())))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct RecordChangesBody {
    /// The fields to change, at least one; an empty value removes a field.
    fields: BTreeMap<String, String>,
}

/// Change a record's fields
#[utoipa::path(
    patch,
    path = "/subjects/{key}/records/{number}",
    tag = "subjects",
    params(
        ("key" = String, Path, description = "The subject's key"),
        ("number" = i64, Path, description = "The record's number within the subject"),
    ),
    request_body = RecordChangesBody,
    responses(
        (status = 200, description = "The record as changed", body = Record),
        JsonWriteProblems,
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 423, response = Locked),
    ),
    security(("token" = []), ("session" = [], "csrf" = [])),
)]
async fn update_record(
    State(app): State<App>,
    Caller(actor): Caller,
    Path((k, n)): Path<(String, String)>,
    Body(b): Body<RecordChangesBody>,
) -> Reply<Record> {
    let number = record_number(&n)?;
    let changes: Vec<(String, String)> = b.fields.into_iter().collect();
    if changes.is_empty() {
        return Err(ApiError::invalid(
            "fields",
            "fields: give at least one field to change",
        ));
    }
    let record = app
        .update_record(&actor, &key(&k)?, number, &changes)
        .await?;
    Ok(Json(record.into()))
}
