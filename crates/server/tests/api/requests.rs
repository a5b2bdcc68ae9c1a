//! Requests as such: malformed ones get problems and never a 5xx, health and readiness, and
//! a retried POST that changes nothing twice.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use testkit::TestDb;

use crate::harness::Server;

async fn a_retried_post_changes_nothing_twice(db: TestDb) {
    let (server, [a]) = Server::with_tenants(db, ["a"]).await;
    let send = |token: String, key: &'static str, body: Value| {
        let request = server
            .client
            .post(format!("{}/api/v1/subjects", server.base))
            .bearer_auth(token)
            .header("idempotency-key", key)
            .json(&body);
        async move {
            let response = request.send().await.unwrap();
            let replayed = response.headers().get("idempotent-replayed").is_some();
            (response.status(), replayed, response.text().await.unwrap())
        }
    };
    let acme = json!({"key": "acme", "kind": "client", "name": "Acme"});
    let first = send(a.manager.clone(), "create-acme-1", acme.clone()).await;
    let again = send(a.manager.clone(), "create-acme-1", acme.clone()).await;
    assert_eq!((first.0, first.1), (StatusCode::CREATED, false));
    assert_eq!(
        (again.0, again.1),
        (StatusCode::CREATED, true),
        "the retry is answered from the stored response"
    );
    assert_eq!(first.2, again.2, "byte for byte the same answer");
    let (_, subjects) = server.get("/api/v1/subjects", &a.auditor).await;
    assert_eq!(
        subjects.as_array().unwrap().len(),
        1,
        "one subject, not two"
    );
    let (_, created) = server
        .get("/api/v1/audit?action=subject.created", &a.auditor)
        .await;
    assert_eq!(created.as_array().unwrap().len(), 1, "and one audit event");

    let other = send(
        a.manager.clone(),
        "create-acme-1",
        json!({"key": "beta", "kind": "client", "name": "Beta"}),
    )
    .await;
    assert_eq!(
        other.0,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a key reused for another request: {}",
        other.2
    );
    // Keys belong to their caller: the owner's same key is a new request (and a conflict).
    let owners = send(a.owner.clone(), "create-acme-1", acme.clone()).await;
    assert_eq!(
        (owners.0, owners.1),
        (StatusCode::CONFLICT, false),
        "{}",
        owners.2
    );
    // A conflict may clear, so it is not kept: the resend runs again.
    let owners = send(a.owner.clone(), "create-acme-1", acme).await;
    assert_eq!((owners.0, owners.1), (StatusCode::CONFLICT, false));
    // A refusal of the request itself is its answer for good.
    let bad = json!({"key": "bad key", "kind": "client", "name": "Bad"});
    let refused = send(a.manager.clone(), "create-bad", bad.clone()).await;
    let again = send(a.manager.clone(), "create-bad", bad).await;
    assert_eq!(
        (refused.0, refused.1, again.0, again.1),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            false,
            StatusCode::UNPROCESSABLE_ENTITY,
            true
        ),
        "{}",
        refused.2
    );
    let (status, body) = server
        .client
        .post(format!("{}/api/v1/subjects", server.base))
        .bearer_auth(&a.manager)
        .header("idempotency-key", "x".repeat(300))
        .json(&json!({"key": "c", "kind": "client", "name": "C"}))
        .send()
        .await
        .map(|r| (r.status(), r))
        .unwrap();
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{:?}",
        body.text().await
    );
}

async fn malformed_requests_get_problems_never_5xx(db: TestDb) {
    let (server, [a]) = Server::with_tenants(db, ["a"]).await;
    server
        .post(
            "/api/v1/subjects",
            &a.owner,
            json!({"key": "acme", "kind": "client", "name": "Acme"}),
        )
        .await;
    let raw = |method: Method, path: &str, content_type: Option<&str>, body: Vec<u8>| {
        let mut request = server
            .client
            .request(method, format!("{}{path}", server.base))
            .bearer_auth(&a.owner)
            .body(body);
        if let Some(ct) = content_type {
            request = request.header("content-type", ct);
        }
        request
    };
    let cases: Vec<(reqwest::RequestBuilder, StatusCode)> = vec![
        // A number is 1 or more, as the document states; a path segment that is not one
        // answers as missing, as any path to nothing does.
        (
            raw(Method::GET, "/api/v1/cases/0", None, Vec::new()),
            StatusCode::NOT_FOUND,
        ),
        (
            raw(Method::GET, "/api/v1/cases/99", None, Vec::new()),
            StatusCode::NOT_FOUND,
        ),
        (
            raw(
                Method::GET,
                "/api/v1/subjects/acme/records/0/file",
                None,
                Vec::new(),
            ),
            StatusCode::NOT_FOUND,
        ),
        (
            raw(
                Method::GET,
                "/api/v1/subjects/acme/records/99/file",
                None,
                Vec::new(),
            ),
            StatusCode::NOT_FOUND,
        ),
        (
            raw(
                Method::POST,
                "/api/v1/subjects",
                Some("application/json"),
                b"{not json".to_vec(),
            ),
            StatusCode::BAD_REQUEST,
        ),
        (
            raw(
                Method::POST,
                "/api/v1/subjects",
                Some("text/plain"),
                b"{}".to_vec(),
            ),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            raw(Method::POST, "/api/v1/subjects", None, Vec::new()),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            raw(
                Method::POST,
                "/api/v1/subjects",
                Some("application/json"),
                br#"{"key":"x","kind":"vendor","name":"X"}"#.to_vec(),
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            raw(
                Method::POST,
                "/api/v1/subjects",
                Some("application/json"),
                br#"{"key":"x y","kind":"client","name":"X"}"#.to_vec(),
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            raw(
                Method::POST,
                "/api/v1/subjects",
                Some("application/json"),
                br#"{"key":"x","kind":"client","name":"X","attributes":{"timezone":"Mars/Base"}}"#
                    .to_vec(),
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            raw(
                Method::POST,
                "/api/v1/subjects",
                Some("application/json"),
                vec![b' '; 2 * 1024 * 1024],
            )
            // The server answers before it has read the body, and then drops the connection;
            // without this the client may send the next request down it and see it cut.
            .header("connection", "close"),
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
        (
            raw(
                Method::PUT,
                "/api/v1/subjects/acme/records/1/file?file_name=big.bin",
                Some("application/octet-stream"),
                vec![0; 26 * 1024 * 1024],
            )
            .header("connection", "close"),
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
        (
            raw(
                Method::POST,
                "/api/v1/cases",
                Some("application/json"),
                br#"{"subject":"acme","exit_date":"2026-02-30"}"#.to_vec(),
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            raw(
                Method::POST,
                "/api/v1/cases",
                Some("application/json"),
                br#"{"subject":"acme","exit_date":"2026-12-31","blueprint":"employee-standard"}"#
                    .to_vec(),
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            raw(Method::GET, "/api/v1/cases/0", None, Vec::new()),
            StatusCode::NOT_FOUND,
        ),
        (
            raw(
                Method::GET,
                "/api/v1/cases/99999999999999999999",
                None,
                Vec::new(),
            ),
            StatusCode::NOT_FOUND,
        ),
        (
            raw(Method::GET, "/api/v1/subjects/%00", None, Vec::new()),
            StatusCode::NOT_FOUND,
        ),
        (
            raw(Method::GET, "/api/v1/subjects/%FF%FE", None, Vec::new()),
            StatusCode::BAD_REQUEST,
        ),
        (
            raw(
                Method::POST,
                "/api/v1/legal-holds/%C3%28/lift",
                Some("application/json"),
                br#"{"reason": "x"}"#.to_vec(),
            ),
            StatusCode::BAD_REQUEST,
        ),
        (
            raw(Method::GET, "/api/v1/cases?limit=0", None, Vec::new()),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            raw(Method::GET, "/api/v1/subjects?offset=-1", None, Vec::new()),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            raw(Method::GET, "/api/v1/cases?limit=abc", None, Vec::new()),
            StatusCode::BAD_REQUEST,
        ),
        (
            raw(Method::GET, "/api/v1/cases?status=closed", None, Vec::new()),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            raw(Method::GET, "/api/v1/subjects?colour=red", None, Vec::new()),
            StatusCode::BAD_REQUEST,
        ),
        (
            raw(Method::DELETE, "/api/v1/cases", None, Vec::new()),
            StatusCode::METHOD_NOT_ALLOWED,
        ),
        (
            raw(Method::GET, "/api/v2/nothing", None, Vec::new()),
            StatusCode::NOT_FOUND,
        ),
        (
            raw(
                Method::POST,
                "/api/v1/cases/1/close",
                Some("application/json"),
                br#"{"confirm":"TERMINATE"}"#.to_vec(),
            ),
            StatusCode::NOT_FOUND,
        ),
        (
            raw(
                Method::PATCH,
                "/api/v1/subjects/acme/records/1",
                Some("application/json"),
                br#"{"fields":{}}"#.to_vec(),
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ];
    for (request, expected) in cases {
        let request = request.build().unwrap();
        let what = format!("{} {}", request.method(), request.url().path());
        let response = server.client.execute(request).await.unwrap();
        let status = response.status();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let body = response.text().await.unwrap();
        assert_eq!(status, expected, "{what}: {body}");
        assert_eq!(content_type, "application/problem+json", "{what}: {body}");
        assert!(!status.is_server_error());
    }
    // A body that does not deserialize names the field at fault, not the body.
    for (body, field) in [
        (
            json!({"key": "x", "kind": "client", "name": "X", "colour": 1}),
            "colour",
        ),
        (json!({"kind": "client", "name": "X"}), "key"),
        (json!({"key": 5, "kind": "client", "name": "X"}), "key"),
        (json!("not an object"), "body"),
    ] {
        let (status, reply) = server.post("/api/v1/subjects", &a.owner, body).await;
        assert_eq!(
            (status, reply["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some(field)),
            "{reply}"
        );
    }
    // Each refusal names the parameter as the caller wrote it.
    for (path, field) in [
        ("/api/v1/subjects?kind=vendor", "kind"),
        ("/api/v1/audit?after=-1", "after"),
        ("/api/v1/subjects?offset=-1", "offset"),
    ] {
        let (status, reply) = server.get(path, &a.owner).await;
        assert_eq!(
            (status, reply["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some(field)),
            "{path}: {reply}"
        );
    }
    let (status, subjects) = server
        .get("/api/v1/subjects?kind=client&limit=10&offset=0", &a.owner)
        .await;
    assert_eq!(status, StatusCode::OK, "{subjects}");
    assert_eq!(
        subjects.as_array().map(Vec::len),
        Some(1),
        "bad requests added nothing: {subjects}"
    );
}

async fn health_and_readiness(db: TestDb) {
    let (server, _app) = Server::start(db).await;
    let response = server
        .client
        .get(format!("{}/healthz", server.base))
        .header("x-request-id", "trace-42")
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.headers()["x-request-id"],
        "trace-42",
        "a caller's request id comes back"
    );
    let response = server
        .client
        .get(format!("{}/healthz", server.base))
        .header("x-request-id", "bad id!")
        .send()
        .await
        .unwrap();
    assert_ne!(
        response.headers()["x-request-id"],
        "bad id!",
        "an unsafe id is replaced"
    );
    let metrics = server
        .client
        .get(format!("{}/metrics", server.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(
            "exeunt_http_requests_total{method=\"GET\",route=\"/healthz\",status=\"200\"}"
        ),
        "{metrics}"
    );
    // Durations are a histogram, whose buckets add up across servers, not a summary.
    assert!(
        metrics.contains("# TYPE exeunt_http_request_duration_seconds histogram")
            && metrics.contains("exeunt_http_request_duration_seconds_bucket{"),
        "{metrics}"
    );
    let (status, body) = server.call(Method::GET, "/healthz", None, None).await;
    assert_eq!((status, body), (StatusCode::OK, Value::String("ok".into())));
    let (status, _) = server.call(Method::GET, "/readyz", None, None).await;
    assert_eq!(status, StatusCode::OK);
}

/// Free text is parsed by one parser per field, the same one the command line uses: the same
/// text is refused here with the same words as there (`tests/cli/basics.rs` sends these very
/// inputs), naming the field and its limit, and a refusal changes nothing.
async fn free_text_is_refused_by_the_same_rules_as_on_the_command_line(db: TestDb) {
    let (server, [a]) = Server::with_tenants(db, ["a"]).await;
    let created = |(status, body): (StatusCode, Value)| {
        assert_eq!(status, StatusCode::CREATED, "{body}");
    };
    created(
        server
            .post(
                "/api/v1/subjects",
                &a.manager,
                json!({"key": "acme", "kind": "client", "name": "Acme"}),
            )
            .await,
    );
    created(
        server
            .post(
                "/api/v1/cases",
                &a.manager,
                json!({"subject": "acme", "exit_date": "2099-12-31"}),
            )
            .await,
    );
    let before = server.get("/api/v1/cases/1", &a.manager).await.1;
    let long = |n: usize| "x".repeat(n);
    let refusals = [
        (
            "/api/v1/cases/1/cancel",
            json!({"reason": long(2001)}),
            "reason",
            "is 2001 characters long; expected at most 2000",
        ),
        (
            "/api/v1/cases/1/tasks/set-expectations/waive",
            json!({"reason": "  "}),
            "reason",
            "is empty; expected some text",
        ),
        (
            "/api/v1/cases/1/tasks/set-expectations/complete",
            json!({"note": long(4001)}),
            "note",
            "is 4001 characters long; expected at most 4000",
        ),
        (
            "/api/v1/users",
            json!({"email": "new@a.example", "name": long(201), "role": "member"}),
            "name",
            "is 201 characters long; expected at most 200",
        ),
        (
            "/api/v1/users",
            json!({"email": "new@a.example", "name": "Ann\tLee", "role": "member"}),
            "name",
            "contains a control character; expected plain text",
        ),
    ];
    for (path, body, field, words) in refusals {
        let (status, problem) = server.post(path, &a.owner, body).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{path}: {problem}"
        );
        assert_eq!(problem["field"], field, "{path}: {problem}");
        assert_eq!(
            problem["detail"],
            format!("{field}: {words}"),
            "{path}: {problem}"
        );
    }
    assert_eq!(server.get("/api/v1/cases/1", &a.manager).await.1, before);
    // At the limit, the same field is taken.
    let (status, body) = server
        .post(
            "/api/v1/cases/1/cancel",
            &a.owner,
            json!({"reason": long(2000)}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

testkit::on_both_stores!(
    free_text_is_refused_by_the_same_rules_as_on_the_command_line,
    a_retried_post_changes_nothing_twice,
    malformed_requests_get_problems_never_5xx,
    health_and_readiness,
);
