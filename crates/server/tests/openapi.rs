//! The OpenAPI document and the Swagger UI, fetched from a server spawned on a random port and
//! checked against what the server actually answers.

use std::collections::BTreeSet;

use app::{App, MasterKey};
use reqwest::{Client, Method, StatusCode};
use serde_json::Value;
use store::Store;

/// Every operation the server serves besides the document and the Swagger UI: the surface
/// clients rely on. A route added or removed must show here too.
const OPERATIONS: &[(&str, &str)] = &[
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/metrics"),
    ("get", "/.well-known/jwks.json"),
    ("get", "/receive/{token}"),
    ("get", "/receive/{token}/package"),
    ("post", "/receive/{token}/acknowledge"),
    ("get", "/api/v1/reports/cases.csv"),
    ("get", "/api/v1/cases/{number}/tasks.csv"),
    ("get", "/api/v1/subjects"),
    ("post", "/api/v1/subjects"),
    ("get", "/api/v1/subjects/{key}"),
    ("get", "/api/v1/subjects/{key}/records"),
    ("post", "/api/v1/subjects/{key}/records"),
    ("patch", "/api/v1/subjects/{key}/records/{number}"),
    ("get", "/api/v1/blueprints"),
    ("post", "/api/v1/blueprints"),
    ("post", "/api/v1/blueprints/lint"),
    ("get", "/api/v1/blueprints/{id}"),
    ("post", "/api/v1/blueprints/{id}/plan"),
    ("get", "/api/v1/cases"),
    ("post", "/api/v1/cases"),
    ("get", "/api/v1/cases/{number}"),
    ("post", "/api/v1/cases/{number}/precheck"),
    ("post", "/api/v1/cases/{number}/close"),
    ("post", "/api/v1/cases/{number}/cancel"),
    ("post", "/api/v1/cases/{number}/findings/{check}/waive"),
    ("get", "/api/v1/cases/{number}/certificate"),
    ("get", "/api/v1/cases/{number}/evidence/{id}"),
    ("get", "/api/v1/cases/{number}/exports"),
    ("post", "/api/v1/cases/{number}/exports"),
    ("get", "/api/v1/cases/{number}/exports/latest/package"),
    ("post", "/api/v1/cases/{number}/exports/latest/link"),
    (
        "post",
        "/api/v1/cases/{number}/exports/latest/waive-acknowledgement",
    ),
    ("get", "/api/v1/subjects/{key}/records/{number}/file"),
    ("put", "/api/v1/subjects/{key}/records/{number}/file"),
    ("get", "/api/v1/cases/{number}/revocations"),
    ("post", "/api/v1/cases/{number}/revocations/{record}"),
    ("post", "/api/v1/cases/{number}/work-items/{record}/handoff"),
    ("post", "/api/v1/cases/{number}/tasks/{task}/complete"),
    ("post", "/api/v1/cases/{number}/tasks/{task}/assign"),
    ("post", "/api/v1/cases/{number}/tasks/{task}/waive"),
    ("get", "/api/v1/tasks/mine"),
    ("get", "/api/v1/audit"),
    ("get", "/api/v1/audit/verify"),
    ("get", "/api/v1/audit/checkpoints"),
    ("get", "/api/v1/users"),
    ("post", "/api/v1/users"),
    ("get", "/api/v1/teams"),
    ("get", "/api/v1/tokens"),
    ("post", "/api/v1/tokens"),
    ("delete", "/api/v1/tokens/{id}"),
    ("get", "/api/v1/legal-holds"),
    ("post", "/api/v1/legal-holds"),
    ("post", "/api/v1/legal-holds/{id}/lift"),
    ("get", "/api/v1/retention"),
    ("put", "/api/v1/retention"),
    ("get", "/api/v1/connectors"),
    ("put", "/api/v1/connectors/{name}"),
    ("delete", "/api/v1/connectors/{name}"),
    ("get", "/api/v1/jobs"),
    ("post", "/api/v1/jobs/{id}/retry"),
    ("get", "/api/v1/webhooks"),
    ("put", "/api/v1/webhooks/{name}"),
    ("delete", "/api/v1/webhooks/{name}"),
    ("get", "/api/v1/email-templates"),
    ("put", "/api/v1/email-templates/{kind}"),
    ("delete", "/api/v1/email-templates/{kind}"),
    ("get", "/api/v1/me/email-preferences"),
    ("put", "/api/v1/me/email-preferences"),
    ("put", "/api/v1/me/time-zone"),
    ("put", "/api/v1/tenant/time-zone"),
    ("post", "/api/v1/session"),
    ("delete", "/api/v1/session"),
    ("get", "/api/v1/me"),
    ("post", "/api/v1/me/password"),
];

const METHODS: &[&str] = &[
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// POSTs whose responses carry a secret, which the idempotency layer never stores.
const NOT_IDEMPOTENT: &[&str] = &["/api/v1/session", "/api/v1/tokens"];

struct Server {
    base: String,
    client: Client,
    _dir: tempfile::TempDir,
}

impl Server {
    async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::sqlite(&dir.path().join("exeunt.db"), true)
            .await
            .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(exeunt_server::serve(
            App::system(store, MasterKey::from_bytes([1; 32])),
            exeunt_server::ServerOptions::default(),
            listener,
            std::future::pending(),
        ));
        Self {
            base,
            client: connectors::http_client().build().unwrap(),
            _dir: dir,
        }
    }

    async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap()
    }

    /// The document, fetched without credentials.
    async fn document(&self) -> Value {
        let response = self.get("/api/v1/openapi.json").await;
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.unwrap()
    }
}

/// Every (method, path, operation) of the document.
fn operations(document: &Value) -> Vec<(String, String, Value)> {
    let mut found = Vec::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        for method in METHODS {
            if let Some(operation) = item.get(*method) {
                found.push((method.to_string(), path.clone(), operation.clone()));
            }
        }
    }
    found
}

/// A path template with each `{parameter}` filled in.
fn concrete(template: &str) -> String {
    let mut path = String::new();
    let mut in_parameter = false;
    for c in template.chars() {
        match c {
            '{' => {
                in_parameter = true;
                path.push('1');
            }
            '}' => in_parameter = false,
            _ if !in_parameter => path.push(c),
            _ => {}
        }
    }
    path
}

fn parameters_in<'a>(operation: &'a Value, place: &'a str) -> impl Iterator<Item = &'a Value> {
    operation["parameters"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(move |p| p["in"] == place)
}

/// A response, following its `$ref` into the document's reusable responses.
fn resolve<'a>(document: &'a Value, response: &'a Value) -> &'a Value {
    match response["$ref"].as_str() {
        Some(reference) => {
            let name = reference
                .strip_prefix("#/components/responses/")
                .unwrap_or_else(|| panic!("{reference} is not a reusable response"));
            &document["components"]["responses"][name]
        }
        None => response,
    }
}

#[tokio::test]
async fn the_document_lists_every_route_with_what_it_can_answer() {
    let server = Server::start().await;
    let document = server.document().await;
    assert!(
        document["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1")),
        "{}",
        document["openapi"]
    );

    let documented: BTreeSet<(String, String)> = operations(&document)
        .into_iter()
        .map(|(method, path, _)| (method, path))
        .collect();
    let served: BTreeSet<(String, String)> = OPERATIONS
        .iter()
        .map(|(method, path)| (method.to_string(), path.to_string()))
        .collect();
    assert_eq!(documented, served);

    for (method, path, operation) in operations(&document) {
        let what = format!("{method} {path}");
        let secured = operation["security"]
            .as_array()
            .is_some_and(|s| !s.is_empty());
        if path.starts_with("/receive/") {
            // The departing client's pages: HTML for a person, whose signed link is the
            // credential; the JSON API's rules (problem documents, idempotency keys) are not
            // theirs. `tests/api/` drives them.
            assert!(!secured, "{what} needs no account");
            continue;
        }
        let responses = operation["responses"].as_object().expect("responses");
        let mut needed = Vec::new();
        if secured {
            needed.push("401");
            if method != "get" {
                // Role refusals, and a cookie write without the CSRF header.
                needed.push("403");
            }
        }
        if operation.get("requestBody").is_some() {
            needed.extend(["400", "413", "415", "422"]);
        }
        if parameters_in(&operation, "path").next().is_some() {
            // Not found, and a segment that is not UTF-8 once decoded.
            needed.extend(["400", "404"]);
        }
        if path.starts_with("/api/v1/") {
            // The store can fail under any of them.
            needed.push("500");
        }
        if parameters_in(&operation, "query").next().is_some() {
            needed.extend(["400", "422"]);
        }
        if parameters_in(&operation, "query").any(|p| p["name"] == "subject" || p["name"] == "case")
        {
            // A filter that names a subject or a case that does not exist.
            needed.push("404");
        }
        for status in needed {
            assert!(
                responses.contains_key(status),
                "{what} documents no {status}"
            );
        }
        for (status, response) in responses {
            if status.starts_with('4') || status.starts_with('5') {
                let problem = &resolve(&document, response)["content"]["application/problem+json"];
                assert_eq!(
                    problem["schema"]["$ref"], "#/components/schemas/Problem",
                    "{what} {status} is not a problem document"
                );
            }
        }
        let idempotent = method == "post" && !NOT_IDEMPOTENT.contains(&path.as_str());
        assert_eq!(
            parameters_in(&operation, "header").any(|p| p["name"] == "Idempotency-Key"),
            idempotent,
            "{what}: Idempotency-Key"
        );

        // The route exists as documented, and asks for credentials exactly when the document
        // says it does.
        let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let response = server
            .client
            .request(method, format!("{}{}", server.base, concrete(&path)))
            .send()
            .await
            .unwrap();
        let status = response.status();
        if secured {
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{what}");
        } else {
            assert!(
                !matches!(
                    status,
                    StatusCode::UNAUTHORIZED
                        | StatusCode::NOT_FOUND
                        | StatusCode::METHOD_NOT_ALLOWED
                ),
                "{what}: {status}"
            );
        }
    }

    let schemes = &document["components"]["securitySchemes"];
    assert_eq!(schemes["token"]["type"], "http");
    assert_eq!(schemes["token"]["scheme"], "bearer");
    assert_eq!(
        (&schemes["session"]["in"], &schemes["session"]["name"]),
        (
            &Value::from("cookie"),
            &Value::from(exeunt_server::SESSION_COOKIE)
        )
    );
    assert_eq!(
        (&schemes["csrf"]["in"], &schemes["csrf"]["name"]),
        (
            &Value::from("header"),
            &Value::from(exeunt_server::CSRF_HEADER)
        )
    );

    let problem = &document["components"]["schemas"]["Problem"];
    let properties: BTreeSet<&str> = problem["properties"]
        .as_object()
        .expect("Problem has properties")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        properties,
        BTreeSet::from(["type", "title", "status", "detail", "field", "errors"])
    );
    let required: BTreeSet<&str> = problem["required"]
        .as_array()
        .expect("Problem has required properties")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(
        required,
        BTreeSet::from(["type", "title", "status", "detail"])
    );
}

/// The limits the document states for free text are the limits the server enforces: each is
/// the `MAX` of the `engine::fields` type that parses the field.
#[tokio::test]
async fn the_documented_text_limits_are_the_fields_own() {
    use engine::fields::{PersonName, Reason, RevocationNote, TaskNote, TokenName};
    let server = Server::start().await;
    let document = server.document().await;
    for (schema, property, max) in [
        ("ReasonBody", "reason", Reason::MAX),
        ("NewHoldBody", "reason", Reason::MAX),
        ("CompleteBody", "note", TaskNote::MAX),
        ("RevocationBody", "note", RevocationNote::MAX),
        ("NewUserBody", "name", PersonName::MAX),
        ("NewTokenBody", "name", TokenName::MAX),
    ] {
        let stated =
            &document["components"]["schemas"][schema]["properties"][property]["maxLength"];
        assert_eq!(stated, &serde_json::json!(max), "{schema}.{property}");
    }
}

/// Every field and parameter the server parses into a key, a slug or an email states that
/// form's `pattern` and `maxLength`, and they accept exactly what the parser accepts.
#[tokio::test]
async fn every_stated_form_is_the_parsers_own() {
    use exeunt_server::{FORMED_FIELDS, FORMED_PARAMETERS, Form};
    let server = Server::start().await;
    let document = server.document().await;

    /// The string schema of a property: itself, an array's items, or the string of a
    /// `oneOf` with null.
    fn string_schema(schema: &Value) -> Option<&Value> {
        let types = &schema["type"];
        if types == "string"
            || types
                .as_array()
                .is_some_and(|t| t.contains(&"string".into()))
        {
            return Some(schema);
        }
        if let Some(items) = schema.get("items") {
            return string_schema(items);
        }
        schema["oneOf"].as_array()?.iter().find_map(string_schema)
    }
    let samples = [
        "",
        "a",
        "A",
        "0",
        "-a",
        "a-",
        "a-b",
        "a_b",
        "a.b",
        ".a",
        "a b",
        " a",
        "a/b",
        "é",
        "acme-2024",
        "Acme.Corp_1",
        "kim@acme.example",
        "KIM@Acme.Example",
        "a@b",
        "@b",
        "a@",
        "a@.b",
        "a@b.",
        "a@b@c",
        "a b@c",
        "a@b c",
        "a\u{7}@b",
        "kim.lee+hr@acme.example",
        "ü@b.c",
    ];
    let long = [
        "x".repeat(64),
        "x".repeat(65),
        format!("{}@b.c", "x".repeat(250)),
    ];
    let accepts = |form: Form, text: &str| match form {
        Form::SubjectKey => engine::ids::SubjectKey::parse(text).is_ok(),
        Form::Slug => engine::ids::Slug::parse(text).is_ok(),
        Form::Email => engine::ids::Email::parse(text).is_ok(),
    };
    let agree = |what: &str, form: Form, schema: &Value| {
        let pattern = schema["pattern"]
            .as_str()
            .unwrap_or_else(|| panic!("{what}: {schema}"));
        let max = schema["maxLength"]
            .as_u64()
            .unwrap_or_else(|| panic!("{what}: {schema}"));
        assert_eq!(
            (pattern, max as usize),
            (form.pattern(), form.max_length()),
            "{what}"
        );
        let regex = regex::Regex::new(pattern).unwrap();
        for text in samples
            .iter()
            .copied()
            .chain(long.iter().map(String::as_str))
        {
            // An email is trimmed before it is parsed; a stated form is the trimmed one.
            let stated = if form == Form::Email {
                text.trim()
            } else {
                text
            };
            assert_eq!(
                regex.is_match(stated) && stated.len() <= max as usize,
                accepts(form, text),
                "{what}: {text:?}"
            );
        }
    };
    for (schema, property, form) in FORMED_FIELDS {
        let stated = &document["components"]["schemas"][schema]["properties"][property];
        let string = string_schema(stated)
            .unwrap_or_else(|| panic!("{schema}.{property} is in the document: {stated}"));
        agree(&format!("{schema}.{property}"), *form, string);
    }
    let mut parameters = 0;
    for (path, item) in document["paths"].as_object().unwrap() {
        for operation in item.as_object().unwrap().values() {
            for parameter in operation["parameters"].as_array().into_iter().flatten() {
                let name = parameter["name"].as_str().unwrap_or_default();
                if let Some((_, form)) = FORMED_PARAMETERS.iter().find(|(n, _)| *n == name) {
                    let string = string_schema(&parameter["schema"]).unwrap();
                    agree(&format!("{path} {name}"), *form, string);
                    parameters += 1;
                }
            }
        }
    }
    assert!(
        parameters >= 10,
        "the subject keys, tasks, checks and names of the paths"
    );

    // Every case or record number of a path is 1 or more, as stated (`inputs::case_number`,
    // `record_number`).
    let mut numbers = 0;
    for item in document["paths"].as_object().unwrap().values() {
        for operation in item.as_object().unwrap().values() {
            for parameter in operation["parameters"].as_array().into_iter().flatten() {
                if parameter["name"] == exeunt_server::NUMBER_PARAMETER {
                    assert_eq!(parameter["schema"]["minimum"], 1, "{parameter}");
                    numbers += 1;
                }
            }
        }
    }
    assert!(numbers >= 10, "the case and record numbers of the paths");
}

/// Every field and parameter the server parses by hand into one of a few names states them as
/// its `enum`, exactly those the parser accepts; dates say they are dates, and the case a job
/// list is narrowed to is a number of 1 or more, as in a path.
#[tokio::test]
async fn every_stated_choice_is_the_parsers_own() {
    use exeunt_server::{CHOSEN_FIELDS, CHOSEN_PARAMETERS, Choice};
    let server = Server::start().await;
    let document = server.document().await;
    let accepts = |choice: Choice, text: &str| match choice {
        Choice::JobStatus => engine::job::JobStatus::parse(text).is_some(),
        Choice::ConnectorKind => engine::connector::ConnectorKind::parse(text).is_some(),
        Choice::TimeZone => {
            engine::ids::ZoneName::parse(text).is_ok_and(|zone| zone.as_str() == text)
        }
    };
    let agree = |what: &str, choice: Choice, schema: &Value| {
        let stated: Vec<&str> = schema["enum"]
            .as_array()
            .unwrap_or_else(|| panic!("{what} states no enum: {schema}"))
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert!(!stated.is_empty(), "{what}");
        for name in &stated {
            assert!(accepts(choice, name), "{what}: the server refuses {name:?}");
        }
        for refused in ["", "unknown", "Europe/Atlantis", "QUEUED", "ldap "] {
            assert!(
                stated.contains(&refused) || !accepts(choice, refused),
                "{what}: the server takes {refused:?}, which the document does not list"
            );
        }
        assert_eq!(stated, choice.names(), "{what}");
    };
    for (schema, property, choice) in CHOSEN_FIELDS {
        let stated = &document["components"]["schemas"][schema]["properties"][property];
        agree(&format!("{schema}.{property}"), *choice, stated);
    }
    let zones = Choice::TimeZone.names();
    assert!(
        zones.iter().any(|z| z == "Europe/Berlin") && zones.iter().any(|z| z == "UTC"),
        "{zones:?}"
    );
    let parameter = |path: &str, name: &str| {
        let (_, item) = document["paths"]
            .as_object()
            .unwrap()
            .iter()
            .find(|(p, _)| p.ends_with(path))
            .unwrap_or_else(|| panic!("no path {path}"));
        item["get"]["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .unwrap_or_else(|| panic!("{path} has no parameter {name}"))
            .clone()
    };
    for (path, name, choice) in CHOSEN_PARAMETERS {
        let stated = parameter(path, name);
        agree(&format!("{path} {name}"), *choice, &stated["schema"]);
    }
    let case = parameter("/jobs", "case");
    assert_eq!(case["schema"]["minimum"], 1, "{case}");
    for schema in ["StartCaseBody", "PlanBody"] {
        let exit = &document["components"]["schemas"][schema]["properties"]["exit_date"];
        assert_eq!(exit["format"], "date", "{schema}.exit_date: {exit}");
    }
}

/// The document is valid OpenAPI 3.1 by an independent validator, `openapi-spec-validator`
/// (Python), which also resolves every `$ref`.
#[tokio::test]
async fn the_document_is_valid_openapi() {
    const TEST: &str = "the_document_is_valid_openapi";
    let available = tokio::process::Command::new("python3")
        .args(["-c", "import openapi_spec_validator"])
        .output()
        .await
        .is_ok_and(|output| output.status.success());
    if !available {
        testkit::missing_service::<()>(
            TEST,
            "python3 with openapi-spec-validator (pip install openapi-spec-validator)",
        );
        return;
    }
    let server = Server::start().await;
    let document = server.document().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("openapi.json");
    std::fs::write(&file, serde_json::to_vec_pretty(&document).unwrap()).unwrap();
    let output = tokio::process::Command::new("python3")
        .args(["-m", "openapi_spec_validator", "--schema", "3.1"])
        .arg(&file)
        .output()
        .await
        .unwrap();
    assert!(
        output.status.success(),
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[tokio::test]
async fn the_swagger_ui_shows_the_document() {
    let server = Server::start().await;
    let response = server.get("/api/docs").await;
    assert_eq!(response.status(), StatusCode::OK, "{}", response.url());
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(content_type.starts_with("text/html"), "{content_type}");
    let page = response.text().await.unwrap();
    assert!(page.contains("swagger-ui"), "{page}");

    let initializer = server
        .get("/api/docs/swagger-initializer.js")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        initializer.contains("/api/v1/openapi.json"),
        "{initializer}"
    );
}
