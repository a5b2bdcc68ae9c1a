//! Tenants and roles: every endpoint isolated from other tenants and guarded by the least
//! role that may call it, another tenant's objects answering as missing, refusals naming the
//! role needed, and nobody gaining power they do not have.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use testkit::TestDb;

use crate::harness::{PASSWORD, Server, fill, problem};

/// Every endpoint that names an object, with a body that would be valid, and the least role
/// that may call it (`None`: every role may read it).
fn object_endpoints() -> Vec<(Method, &'static str, Option<Value>, Option<&'static str>)> {
    vec![
        (Method::GET, "/api/v1/subjects/acme", None, None),
        (
            Method::POST,
            "/api/v1/subjects/acme/records",
            Some(json!({"kind": "note", "fields": {"text": "x"}})),
            Some("manager"),
        ),
        (
            Method::PATCH,
            "/api/v1/subjects/acme/records/1",
            Some(json!({"fields": {"new_owner": "x@y.example"}})),
            Some("manager"),
        ),
        (Method::GET, "/api/v1/cases/1", None, None),
        (
            Method::POST,
            "/api/v1/cases/1/precheck",
            Some(json!({})),
            Some("manager"),
        ),
        (
            Method::POST,
            "/api/v1/cases/1/close",
            Some(json!({"confirm": "TERMINATE"})),
            Some("manager"),
        ),
        (
            Method::POST,
            "/api/v1/cases/1/cancel",
            Some(json!({"reason": "test"})),
            Some("manager"),
        ),
        (
            Method::POST,
            "/api/v1/cases/1/findings/open-work-items/waive",
            Some(json!({"reason": "test"})),
            Some("manager"),
        ),
        (
            Method::POST,
            "/api/v1/cases/1/tasks/account-transition/assign",
            Some(json!({"assignee": null})),
            Some("manager"),
        ),
        (
            Method::POST,
            "/api/v1/cases/1/tasks/account-transition/waive",
            Some(json!({"reason": "test"})),
            Some("manager"),
        ),
        (
            Method::POST,
            "/api/v1/cases/1/tasks/confirm-final-invoice/complete",
            Some(json!({})),
            Some("member of its team"),
        ),
        (Method::GET, "/api/v1/cases/1/revocations", None, None),
        (Method::GET, "/api/v1/cases/1/exports", None, None),
        (
            Method::POST,
            "/api/v1/cases/1/exports",
            Some(json!({})),
            Some("manager"),
        ),
        (
            Method::GET,
            "/api/v1/cases/1/exports/latest/package",
            None,
            None,
        ),
        (
            Method::POST,
            "/api/v1/cases/1/exports/latest/link",
            Some(json!({"days": 7})),
            Some("manager"),
        ),
        (
            Method::POST,
            "/api/v1/cases/1/exports/latest/waive-acknowledgement",
            Some(json!({"reason": "test"})),
            Some("manager"),
        ),
        (
            Method::GET,
            "/api/v1/subjects/acme/records/1/file",
            None,
            None,
        ),
        (
            Method::GET,
            "/api/v1/cases/1/evidence/0192f000-0000-7000-8000-000000000000",
            None,
            None,
        ),
        (
            Method::POST,
            "/api/v1/cases/1/revocations/1",
            Some(json!({"status": "revoked"})),
            Some("member of its team"),
        ),
        (
            Method::POST,
            "/api/v1/cases/1/work-items/1/handoff",
            Some(json!({"new_owner": "owner@a.example"})),
            Some("member of its team"),
        ),
        (Method::GET, "/api/v1/blueprints/tenant-only", None, None),
        (
            Method::POST,
            "/api/v1/blueprints/client-standard/plan",
            Some(json!({"subject": "acme", "exit_date": "2026-12-31"})),
            None,
        ),
    ]
}

async fn every_endpoint_is_isolated_and_guarded(db: TestDb) {
    let (server, [a, b]) = Server::with_tenants(db, ["a", "b"]).await;
    fill(&server, &b, "B-SECRET").await;
    // For every role of A's, an object of B's answers exactly as one that exists nowhere:
    // the same status and problem type (404, or the role refusal that comes before any lookup).
    let nowhere = |path: &str| {
        path.replace("/acme", "/ghost")
            .replace("/cases/1", "/cases/99")
            .replace("tenant-only", "nothing-here")
    };
    for token in [&a.owner, &a.admin, &a.manager, &a.member, &a.auditor] {
        for (method, path, body, _) in object_endpoints() {
            let (status, reply) = server
                .call(method.clone(), path, Some(token), body.clone())
                .await;
            let (missing_status, missing) = server
                .call(method.clone(), &nowhere(path), Some(token), body)
                .await;
            assert_eq!(
                (status, problem(&reply).0),
                (missing_status, problem(&missing).0),
                "{method} {path}: {reply} vs {missing}"
            );
            assert!(
                matches!(status, StatusCode::NOT_FOUND | StatusCode::FORBIDDEN),
                "{method} {path}: {reply}"
            );
            assert!(!reply.to_string().contains("B-SECRET"));
        }
    }
    for path in [
        "/api/v1/subjects",
        "/api/v1/cases",
        "/api/v1/users",
        "/api/v1/teams",
        "/api/v1/tokens",
        "/api/v1/audit",
        "/api/v1/tasks/mine",
        "/api/v1/blueprints",
        "/api/v1/jobs",
        "/api/v1/connectors",
        "/api/v1/webhooks",
        "/api/v1/email-templates",
    ] {
        let (status, reply) = server.get(path, &a.owner).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        let text = reply.to_string();
        assert!(
            !text.contains("B-SECRET")
                && !text.contains("@b.example")
                && !text.contains("tenant-only"),
            "{path} leaks B: {text}"
        );
    }

    // In its own tenant, each role below the one needed is refused, naming the role.
    fill(&server, &a, "A-OWN").await;
    let below = |needed: &str| -> Vec<&String> {
        match needed {
            "manager" => vec![&a.member, &a.auditor],
            "member of its team" => vec![&a.auditor],
            _ => vec![],
        }
    };
    for (method, path, body, needed) in object_endpoints() {
        let Some(needed) = needed else { continue };
        for token in below(needed) {
            let (status, reply) = server
                .call(method.clone(), path, Some(token), body.clone())
                .await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path}: {reply}");
            let role = needed.split_whitespace().next().unwrap();
            assert!(
                problem(&reply).1.contains(&format!("the {role} role")),
                "{method} {path}: {reply}"
            );
        }
    }
    for (path, body) in [
        (
            "/api/v1/users",
            json!({"email": "x@a.example", "name": "X", "role": "member"}),
        ),
        ("/api/v1/blueprints", json!({"source": "id: x"})),
        (
            "/api/v1/tokens",
            json!({"name": "x", "role": "member", "user": "member@a.example"}),
        ),
    ] {
        for token in [&a.manager, &a.member, &a.auditor] {
            let (status, reply) = server.post(path, token, body.clone()).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{path}: {reply}");
            assert!(
                problem(&reply).1.contains("needs the admin role"),
                "{path}: {reply}"
            );
        }
    }
    // Nothing of the above changed tenant A's case.
    let (_, case) = server.get("/api/v1/cases/1", &a.auditor).await;
    assert_eq!(case["case"]["status"], "open", "{case}");
}

async fn nobody_gains_power_they_do_not_have(db: TestDb) {
    let (server, [a, _b]) = Server::with_tenants(db, ["a", "b"]).await;
    let owner = format!("owner@{}.example", a.slug);
    let (status, body) = server
        .post(
            "/api/v1/tokens",
            &a.admin,
            json!({"name": "x", "role": "owner"}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "an admin mints no owner token: {body}"
    );
    let (status, body) = server
        .post(
            "/api/v1/tokens",
            &a.admin,
            json!({"name": "x", "role": "auditor", "user": owner}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "an admin does not act as the owner: {body}"
    );
    assert!(
        problem(&body)
            .1
            .contains("cannot issue a token for a user with the owner role"),
        "{body}"
    );
    let (status, body) = server
        .post(
            "/api/v1/users",
            &a.admin,
            json!({"email": "boss@a.example", "name": "Boss", "role": "owner"}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "an admin creates no owner: {body}"
    );
    let (status, _) = server
        .post(
            "/api/v1/users",
            &a.admin,
            json!({"email": "peer@a.example", "name": "Peer", "role": "admin"}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "an admin may create another admin"
    );

    // Two tenants live here: a sign-in that names none reveals neither.
    let response = server
        .client
        .post(format!("{}/api/v1/session", server.base))
        .json(&json!({"email": owner, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let text = response.text().await.unwrap();
    assert!(
        text.contains("the email or the password is wrong") && !text.contains("several tenants"),
        "{text}"
    );

    let (status, body) = server
        .get("/api/v1/audit?action=case.started%00", &a.auditor)
        .await;
    assert_eq!(
        (status, body["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("action")),
        "{body}"
    );

    // An idempotency key belongs to one credential: another token of the same user runs anew.
    let (_, second) = server
        .post(
            "/api/v1/tokens",
            &a.manager,
            json!({"name": "second", "role": "manager"}),
        )
        .await;
    let second = second["secret"].as_str().unwrap().to_owned();
    let post = |token: String| {
        server
            .client
            .post(format!("{}/api/v1/subjects", server.base))
            .bearer_auth(token)
            .header("idempotency-key", "k1")
            .json(&json!({"key": "k", "kind": "client", "name": "K"}))
            .send()
    };
    assert_eq!(
        post(a.manager.clone()).await.unwrap().status(),
        StatusCode::CREATED
    );
    let other = post(second).await.unwrap();
    assert_eq!(
        other.status(),
        StatusCode::CONFLICT,
        "not a replay of the first token's answer"
    );
    assert!(other.headers().get("idempotent-replayed").is_none());
}

async fn another_tenants_objects_answer_as_missing(db: TestDb) {
    let (server, [a, b]) = Server::with_tenants(db, ["a", "b"]).await;
    server
        .post(
            "/api/v1/subjects",
            &b.owner,
            json!({"key": "acme", "kind": "client", "name": "B's client"}),
        )
        .await;
    let (status, _) = server
        .post(
            "/api/v1/cases",
            &b.owner,
            json!({"subject": "acme", "exit_date": "2026-12-31"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    for (method, path, body) in [
        (Method::GET, "/api/v1/subjects/acme", None),
        (Method::GET, "/api/v1/cases/1", None),
        (Method::POST, "/api/v1/cases/1/precheck", Some(json!({}))),
        (
            Method::POST,
            "/api/v1/cases/1/cancel",
            Some(json!({"reason": "not yours"})),
        ),
        (
            Method::POST,
            "/api/v1/cases/1/tasks/set-expectations/waive",
            Some(json!({"reason": "not yours"})),
        ),
        (
            Method::POST,
            "/api/v1/subjects/acme/records",
            Some(json!({"kind": "note", "fields": {"text": "x"}})),
        ),
    ] {
        let (status, body) = server
            .call(method.clone(), path, Some(&a.owner), body.clone())
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path}: {body}");
        assert_eq!(problem(&body).0, "/problems/not-found");
    }
    let (_, missing) = server.get("/api/v1/cases/2", &b.owner).await;
    let (_, foreign) = server.get("/api/v1/cases/1", &a.owner).await;
    assert_eq!(missing["detail"], "no case 2");
    assert_eq!(
        foreign["detail"], "no case 1",
        "another tenant's case reads exactly like a missing one"
    );
    let (_, cases) = server.get("/api/v1/cases", &b.auditor).await;
    assert_eq!(cases[0]["status"], "open", "tenant B's case is untouched");
}

async fn every_refusal_says_which_role_is_needed(db: TestDb) {
    let (server, [a]) = Server::with_tenants(db, ["a"]).await;
    let writes = [
        (
            "/api/v1/subjects",
            json!({"key": "x", "kind": "client", "name": "X"}),
            "manager",
        ),
        (
            "/api/v1/cases",
            json!({"subject": "x", "exit_date": "2026-12-31"}),
            "manager",
        ),
    ];
    for token in [&a.auditor, &a.member] {
        for (path, body, needed) in &writes {
            let (status, reply) = server.post(path, token, body.clone()).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{path}: {reply}");
            assert!(
                problem(&reply)
                    .1
                    .contains(&format!("needs the {needed} role")),
                "{reply}"
            );
        }
    }
    server
        .post(
            "/api/v1/subjects",
            &a.owner,
            json!({"key": "us", "kind": "organization", "name": "Us"}),
        )
        .await;
    let (status, reply) = server
        .post(
            "/api/v1/cases",
            &a.manager,
            json!({"subject": "us", "exit_date": "2026-12-31"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        problem(&reply).1.contains("needs the owner role"),
        "{reply}"
    );
    for token in [None, Some("exu_0000"), Some("Basic abc")] {
        let (status, reply) = server.call(Method::GET, "/api/v1/cases", token, None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{reply}");
    }
}

testkit::on_both_stores!(
    every_endpoint_is_isolated_and_guarded,
    nobody_gains_power_they_do_not_have,
    another_tenants_objects_answer_as_missing,
    every_refusal_says_which_role_is_needed,
);
