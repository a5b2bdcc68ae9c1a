//! The parts of the OpenAPI document that no single handler owns: its info and tags, the
//! security schemes, the problem responses operations refer to by name, and the set of them
//! that every request with a JSON body shares.
//!
//! The paths come from the handlers' `#[utoipa::path]` annotations, collected by the routers
//! that serve them (`OpenApiRouter`), so that a route cannot exist without its documentation.

use std::collections::BTreeMap;

use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Components, Content, Ref, RefOr, Response, ResponseBuilder};
use utoipa::{IntoResponses, Modify, OpenApi, ToResponse, ToSchema};

use crate::error::{ApiError, PROBLEM_JSON};
use crate::extract::{CSRF_HEADER, SESSION_COOKIE};

/// Where the document is served.
pub const OPENAPI_PATH: &str = "/api/v1/openapi.json";
/// Where the Swagger UI is served.
pub const SWAGGER_UI_PATH: &str = "/api/docs";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Exeunt",
        description = "Offboarding cases, their tasks, checks and evidence, and the audit log. \
            Every failure is an RFC 9457 problem document (`application/problem+json`). \
            Authenticate with an API token (`Authorization: Bearer …`) or a session cookie \
            from `POST /api/v1/session`; a cookie-authenticated request that is not GET, HEAD \
            or OPTIONS must also send the session's CSRF token in `x-csrf-token`. A POST may \
            carry an `Idempotency-Key`: a retry with the same key gets the stored response.",
    ),
    components(
        schemas(ApiError),
        responses(
            BadRequest,
            Unauthorized,
            Forbidden,
            NotFound,
            Conflict,
            Locked,
            PayloadTooLarge,
            UnsupportedMediaType,
            UnprocessableContent,
            ServiceUnavailable,
            InternalError,
        ),
    ),
    modifiers(&SecuritySchemes),
    tags(
        (name = "subjects", description = "What is offboarded, and its records"),
        (name = "blueprints", description = "Versioned definitions of a kind of offboarding"),
        (name = "cases", description = "Offboarding runs: start, precheck, close, cancel"),
        (name = "tasks", description = "The tasks of cases"),
        (name = "audit", description = "The tenant's hash-chained audit log"),
        (name = "directory", description = "Users and teams"),
        (name = "tokens", description = "API tokens"),
        (name = "jobs", description = "Background work: emails and connector calls, with their attempts"),
        (name = "connectors", description = "The systems access is revoked and verified in"),
        (name = "webhooks", description = "Audit events sent out as signed CloudEvents"),
        (name = "notifications", description = "The wording of emails, and who gets which"),
        (name = "governance", description = "Legal holds and retention: the owner's decisions about keeping data"),
        (name = "session", description = "Password sign-in and the signed-in user"),
        (name = "operations", description = "Probes and metrics, without authentication"),
        (name = "delivery", description = "The departing client's download page, behind a signed, expiring link, without authentication"),
        (name = "certificates", description = "The keys that verify completion certificates, without authentication"),
    ),
)]
pub struct ApiDoc;

/// The credentials `extract::authenticate` accepts. Operations name them as `token` or as
/// `session` (reads) and `session` with `csrf` (writes).
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Components::new);
        components.add_security_scheme(
            "token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "An API token (`exu_…`), issued by `POST /api/v1/tokens`",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                SESSION_COOKIE,
                "The session cookie set by `POST /api/v1/session`",
            ))),
        );
        components.add_security_scheme(
            "csrf",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                CSRF_HEADER,
                "The session's CSRF token, from the sign-in response",
            ))),
        );
    }
}

fn problem(description: &str) -> RefOr<Response> {
    ResponseBuilder::new()
        .description(description)
        .content(
            PROBLEM_JSON,
            Content::new(Some(Ref::from_schema_name(ApiError::name()))),
        )
        .build()
        .into()
}

/// Declares reusable problem responses, each a unit type that `#[utoipa::path]` names with
/// `(status = …, response = Type)` and the document lists under `components/responses`.
macro_rules! problem_responses {
    ($($name:ident: $description:literal,)+) => {$(
        #[doc = $description]
        pub struct $name;

        impl<'r> ToResponse<'r> for $name {
            fn response() -> (&'r str, RefOr<Response>) {
                (stringify!($name), problem($description))
            }
        }
    )+};
}

problem_responses! {
    BadRequest: "The body is not JSON, a query parameter does not parse or is unknown, or the \
        operation needs a signed-in session rather than an API token.",
    Unauthorized: "No live credential: send `Authorization: Bearer <token>` or the session cookie.",
    Forbidden: "The caller's role does not allow this (the problem names the role needed), or a \
        cookie-authenticated write lacks the session's `x-csrf-token` header.",
    NotFound: "Nothing by that name in the caller's tenant; another tenant's objects answer \
        exactly the same.",
    Conflict: "The request conflicts with the current state (a duplicate, a case that is done, \
        a task still waiting for others), or a request with the same `Idempotency-Key` is still \
        running.",
    Locked: "The subject is frozen by a running offboarding that reached a freezing stage: its \
        records are read-only (except the fields the offboarding itself maintains) until the \
        case ends. The problem names the case.",
    PayloadTooLarge: "The body is larger than the operation accepts.",
    UnsupportedMediaType: "The body is not sent as `application/json`.",
    UnprocessableContent: "An input is not acceptable: `field` names it, and `errors` lists \
        every problem of a blueprint.",
    ServiceUnavailable: "The server cannot answer this now: for a write, the database cannot \
        store it (out of disk space, or read-only). Nothing was changed; send the same request \
        again after `Retry-After` seconds.",
    InternalError: "The server failed (the database did not answer, say); nothing was changed, \
        and the failure is logged under the response's `x-request-id`.",
}

/// What any authenticated request with a JSON body can be refused, whatever its use case: the
/// body is not JSON (400), not `application/json` (415), too large (413) or of the wrong shape
/// (422); there is no credential (401); the role is too weak or a cookie write lacks the CSRF
/// header (403). Operations list it in `responses(...)` and add the 404 and 409 of their own.
pub struct JsonWriteProblems;

impl IntoResponses for JsonWriteProblems {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        [
            ("400", BadRequest::response().0),
            ("401", Unauthorized::response().0),
            ("403", Forbidden::response().0),
            ("413", PayloadTooLarge::response().0),
            ("415", UnsupportedMediaType::response().0),
            ("422", UnprocessableContent::response().0),
        ]
        .into_iter()
        .map(|(status, name)| (status.to_owned(), RefOr::Ref(Ref::from_response_name(name))))
        .collect()
    }
}

/// The operations a path may have, the read (GET) first.
fn operations(
    item: &mut utoipa::openapi::PathItem,
) -> [&mut Option<utoipa::openapi::path::Operation>; 5] {
    [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.delete,
        &mut item.patch,
    ]
}

/// Adds the 500 every API operation can answer when the store fails, and the 503 every write
/// can answer when storage refuses it, so that no handler has to list them.
pub fn document_internal_errors(openapi: &mut utoipa::openapi::OpenApi) {
    let name = InternalError::response().0;
    let unavailable = ServiceUnavailable::response().0;
    for item in openapi.paths.paths.values_mut() {
        // The first is the read; the others write.
        for (i, operation) in operations(item).into_iter().enumerate() {
            let Some(operation) = operation else { continue };
            let responses = &mut operation.responses.responses;
            responses
                .entry("500".to_owned())
                .or_insert_with(|| Ref::from_response_name(name).into());
            if i > 0 {
                responses
                    .entry("503".to_owned())
                    .or_insert_with(|| Ref::from_response_name(unavailable).into());
            }
        }
    }
}

/// A form a string must have, which the server enforces by parsing it into an `engine::ids`
/// type; the document states it as that type's `pattern` and `maxLength`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Form {
    SubjectKey,
    Slug,
    Email,
}

impl Form {
    pub fn pattern(self) -> &'static str {
        match self {
            Form::SubjectKey => engine::ids::SubjectKey::PATTERN,
            Form::Slug => engine::ids::Slug::PATTERN,
            Form::Email => engine::ids::Email::PATTERN,
        }
    }

    pub fn max_length(self) -> usize {
        match self {
            Form::SubjectKey => engine::ids::SubjectKey::MAX_LEN,
            Form::Slug => engine::ids::Slug::MAX_LEN,
            Form::Email => engine::ids::Email::MAX_LEN,
        }
    }
}

/// The body fields (schema, property) the server parses into a form; an array's items for
/// `teams`.
pub const FORMED_FIELDS: &[(&str, &str, Form)] = &[
    ("NewSubjectBody", "key", Form::SubjectKey),
    ("NewSubjectBody", "parent", Form::SubjectKey),
    ("StartCaseBody", "subject", Form::SubjectKey),
    ("StartCaseBody", "blueprint", Form::Slug),
    ("StartCaseBody", "owner", Form::Email),
    ("PlanBody", "subject", Form::SubjectKey),
    ("NewHoldBody", "subject", Form::SubjectKey),
    ("NewUserBody", "email", Form::Email),
    ("NewUserBody", "teams", Form::Slug),
    ("NewTokenBody", "user", Form::Email),
    ("HandoffBody", "new_owner", Form::Email),
    ("AssignBody", "assignee", Form::Email),
];

/// The path and query parameters the server parses into a form, by name: where a name is
/// used, it always means the same form.
pub const FORMED_PARAMETERS: &[(&str, Form)] = &[
    ("key", Form::SubjectKey),
    ("subject", Form::SubjectKey),
    ("task", Form::Slug),
    ("check", Form::Slug),
    ("name", Form::Slug),
];

/// A choice among names that the server parses by hand, so that an unknown one is a 422 that
/// lists the valid ones; the document states the names as the schema's `enum`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Choice {
    JobStatus,
    ConnectorKind,
    /// The bundled time zone database's names (`engine::ids::ZoneName`; it also answers to
    /// a name in other letter cases, kept as the database spells it).
    TimeZone,
}

impl Choice {
    pub fn names(self) -> Vec<String> {
        match self {
            Choice::JobStatus => owned(engine::job::JobStatus::NAMES),
            Choice::ConnectorKind => owned(engine::connector::ConnectorKind::NAMES),
            Choice::TimeZone => engine::ids::ZoneName::known(),
        }
    }
}

fn owned(names: &[&str]) -> Vec<String> {
    names.iter().map(|&n| n.to_owned()).collect()
}

/// The body fields (schema, property) the server parses by hand into a choice.
pub const CHOSEN_FIELDS: &[(&str, &str, Choice)] = &[
    ("ConnectorBody", "kind", Choice::ConnectorKind),
    ("TimeZoneBody", "time_zone", Choice::TimeZone),
];

/// The query parameters (path, name) the server parses by hand into a choice.
pub const CHOSEN_PARAMETERS: &[(&str, &str, Choice)] = &[("/jobs", "status", Choice::JobStatus)];

/// The path parameter that names a case or a record by its number.
pub const NUMBER_PARAMETER: &str = "number";

/// States the form of every field and parameter the server parses into one, and the least
/// number of a case or record, so that generated clients and fuzzers know what it accepts. A field listed here that the document lacks is
/// a mistake the tests catch (`every_stated_form_is_the_parsers_own`).
pub fn document_forms(openapi: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::schema::{ArrayItems, Schema};
    use utoipa::openapi::{RefOr, path::Parameter};

    fn state(schema: &mut RefOr<Schema>, form: Form) {
        match schema {
            RefOr::T(Schema::Object(object)) => {
                object.pattern = Some(form.pattern().to_owned());
                object.max_length = Some(form.max_length());
            }
            RefOr::T(Schema::Array(array)) => {
                if let ArrayItems::RefOrSchema(items) = &mut array.items {
                    state(items, form);
                }
            }
            // `Option<String>` is a `oneOf` of the string and null.
            RefOr::T(Schema::OneOf(one_of)) => {
                for item in &mut one_of.items {
                    state(item, form);
                }
            }
            _ => {}
        }
    }

    fn choose(schema: &mut RefOr<Schema>, choice: Choice) {
        match schema {
            RefOr::T(Schema::Object(object)) => {
                object.enum_values = Some(choice.names().into_iter().map(Into::into).collect());
            }
            RefOr::T(Schema::OneOf(one_of)) => {
                for item in &mut one_of.items {
                    choose(item, choice);
                }
            }
            _ => {}
        }
    }

    if let Some(components) = openapi.components.as_mut() {
        for (schema, property, choice) in CHOSEN_FIELDS {
            if let Some(RefOr::T(Schema::Object(object))) = components.schemas.get_mut(*schema)
                && let Some(field) = object.properties.get_mut(*property)
            {
                choose(field, *choice);
            }
        }
        for (schema, property, form) in FORMED_FIELDS {
            if let Some(RefOr::T(Schema::Object(object))) = components.schemas.get_mut(*schema)
                && let Some(field) = object.properties.get_mut(*property)
            {
                state(field, *form);
            }
        }
    }
    let stated = |parameter: &mut Parameter| {
        // A case's or a record's number is 1 or more (`inputs::case_number`, `record_number`).
        if parameter.name == NUMBER_PARAMETER
            && let Some(RefOr::T(Schema::Object(object))) = parameter.schema.as_mut()
        {
            object.minimum = Some(1.into());
        }
        if let Some((_, form)) = FORMED_PARAMETERS
            .iter()
            .find(|(name, _)| *name == parameter.name)
            && let Some(schema) = parameter.schema.as_mut()
        {
            state(schema, *form);
        }
    };
    for (path, item) in openapi.paths.paths.iter_mut() {
        for operation in operations(item).into_iter().flatten() {
            for parameter in operation.parameters.iter_mut().flatten() {
                if let RefOr::T(parameter) = parameter {
                    stated(parameter);
                    if let Some((_, _, choice)) = CHOSEN_PARAMETERS
                        .iter()
                        .find(|(on, name, _)| path.ends_with(on) && *name == parameter.name)
                        && let Some(schema) = parameter.schema.as_mut()
                    {
                        choose(schema, *choice);
                    }
                }
            }
        }
    }
}
