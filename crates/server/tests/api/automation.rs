//! Automation and its settings: connectors (no secret read back), jobs, webhooks, email
//! wording and choices, and time zones.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use testkit::TestDb;

use crate::harness::{Server, problem};

/// Admins configure connectors; nobody reads a secret back; another tenant sees none.
async fn connectors_over_http(db: TestDb) {
    let (server, [a, b]) = Server::with_tenants(db, ["a", "b"]).await;
    let body = json!({
        "kind": "scim",
        "settings": {"base_url": "https://scim.example.com/v2"},
        "secret": "a-bearer-token-nobody-reads-back",
    });
    let put = |token: String, body: Value| {
        let server = &server;
        async move {
            server
                .call(
                    Method::PUT,
                    "/api/v1/connectors/okta",
                    Some(&token),
                    Some(body),
                )
                .await
        }
    };
    let (status, reply) = put(a.manager.clone(), body.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{reply}");
    let mut bad = body.clone();
    bad["settings"] = json!({"base_url": "scim.example.com"});
    let (status, reply) = put(a.admin.clone(), bad).await;
    assert_eq!(
        (status, reply["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("settings.base_url")),
        "{reply}"
    );
    // A setting nobody knows, and one missing: named by their own paths.
    for (settings, field) in [
        (
            json!({"base_url": "https://scim.example.com/v2", "colour": "red"}),
            "settings.colour",
        ),
        (json!({}), "settings.base_url"),
        (json!("a string"), "settings"),
    ] {
        let mut bad = body.clone();
        bad["settings"] = settings;
        let (status, reply) = put(a.admin.clone(), bad).await;
        assert_eq!(
            (status, reply["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some(field)),
            "{reply}"
        );
    }
    let mut bad = body.clone();
    bad["kind"] = json!("x500");
    let (status, reply) = put(a.admin.clone(), bad).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{reply}");
    let (status, reply) = put(a.admin.clone(), body).await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    assert_eq!(reply["target"], "https://scim.example.com/v2");
    let (status, listed) = server.get("/api/v1/connectors", &a.auditor).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert!(
        !listed.to_string().contains("nobody-reads-back"),
        "{listed}"
    );
    let (_, theirs) = server.get("/api/v1/connectors", &b.owner).await;
    assert_eq!(theirs, json!([]));
    let (status, _) = server
        .call(
            Method::DELETE,
            "/api/v1/connectors/okta",
            Some(&b.owner),
            None,
        )
        .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "another tenant's connector is missing"
    );
    let (status, _) = server
        .call(
            Method::DELETE,
            "/api/v1/connectors/okta",
            Some(&a.admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, listed) = server.get("/api/v1/connectors", &a.auditor).await;
    assert_eq!(listed, json!([]));
}

/// Jobs, webhooks, email wording and email choices over HTTP: admins configure, everyone
/// reads, people choose for themselves, bad input names its field and changes nothing, and
/// another tenant sees none of it.
async fn automation_over_http(db: TestDb) {
    let (server, [a, b]) = Server::with_tenants(db, ["a", "b"]).await;
    let ok = |(status, body): (StatusCode, Value)| {
        assert!(status.is_success(), "{body}");
        body
    };
    let put = async |path: &str, token: &str, body: Value| {
        server
            .call(Method::PUT, path, Some(token), Some(body))
            .await
    };
    let delete =
        async |path: &str, token: &str| server.call(Method::DELETE, path, Some(token), None).await;

    // A connector's account gets a revocation job when its case starts.
    ok(put(
        "/api/v1/connectors/okta",
        &a.admin,
        json!({"kind": "scim", "settings": {"base_url": "https://scim.example.com/v2"}, "secret": "t"}),
    )
    .await);
    ok(server
        .post(
            "/api/v1/subjects",
            &a.manager,
            json!({"key": "jdoe", "kind": "employee", "name": "Jane Doe",
                   "attributes": {"country": "DE", "timezone": "Europe/Berlin"}}),
        )
        .await);
    ok(server
        .post(
            "/api/v1/subjects/jdoe/records",
            &a.manager,
            json!({"kind": "account", "fields": {"system": "okta", "identifier": "jdoe"}}),
        )
        .await);
    ok(server
        .post(
            "/api/v1/cases",
            &a.manager,
            json!({"subject": "jdoe", "exit_date": "2026-12-31"}),
        )
        .await);
    let jobs = ok(server.get("/api/v1/jobs?case=1", &a.auditor).await);
    assert_eq!(jobs.as_array().unwrap().len(), 1, "{jobs}");
    assert_eq!(
        (&jobs[0]["kind"], &jobs[0]["status"]),
        (&json!("access.revoke"), &json!("queued"))
    );
    let id = jobs[0]["id"].as_str().unwrap().to_owned();
    let (status, reply) = server.get("/api/v1/jobs?status=stuck", &a.auditor).await;
    assert_eq!(
        (status, reply["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("status")),
        "{reply}"
    );
    let retry = format!("/api/v1/jobs/{id}/retry");
    let (status, reply) = server.post(&retry, &a.manager, json!({})).await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "only a dead job is sent again: {reply}"
    );
    let (status, _) = server.post(&retry, &b.owner, json!({})).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "another tenant's job is missing"
    );
    let (status, _) = server
        .post("/api/v1/jobs/not-a-uuid/retry", &a.manager, json!({}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "a malformed id names no job");
    assert_eq!(ok(server.get("/api/v1/jobs", &b.owner).await), json!([]));

    // Webhooks: admins set them, the key is never read back.
    let hook = json!({
        "settings": {"url": "https://hooks.example.com/exeunt", "events": ["case.*"]},
        "secret": "a-signing-key-of-thirty-two-bytes-or-more",
    });
    let (status, _) = put("/api/v1/webhooks/siem", &a.manager, hook.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let mut bad = hook.clone();
    bad["settings"]["url"] = json!("ftp://hooks.example.com");
    let (status, reply) = put("/api/v1/webhooks/siem", &a.admin, bad).await;
    assert_eq!(
        (status, reply["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("settings.url")),
        "{reply}"
    );
    // An internal address would be refused on every delivery: it is refused now (unless the
    // admin allow-lists the host, as the worker's tests do).
    let mut internal = hook.clone();
    internal["settings"]["url"] = json!("http://10.0.0.7/hook");
    let (status, reply) = put("/api/v1/webhooks/siem", &a.admin, internal).await;
    assert_eq!(
        (status, reply["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("settings.url")),
        "{reply}"
    );
    assert!(
        reply["detail"]
            .as_str()
            .unwrap()
            .contains("internal address"),
        "{reply}"
    );
    let mut bad = hook.clone();
    bad["secret"] = json!("short");
    let (status, reply) = put("/api/v1/webhooks/siem", &a.admin, bad).await;
    assert_eq!(
        (status, reply["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("secret")),
        "{reply}"
    );
    assert_eq!(
        ok(server.get("/api/v1/webhooks", &a.auditor).await),
        json!([])
    );
    let set = ok(put("/api/v1/webhooks/siem", &a.admin, hook).await);
    assert_eq!(set["events"], json!(["case.*"]), "{set}");
    let listed = ok(server.get("/api/v1/webhooks", &a.admin).await);
    assert_eq!(listed[0]["url"], "https://hooks.example.com/exeunt");
    let listed = ok(server.get("/api/v1/webhooks", &a.auditor).await);
    assert_eq!(
        listed[0]["url"], "https://hooks.example.com/…",
        "a URL's path may hold a token: only admins see it"
    );
    assert!(!listed.to_string().contains("thirty-two"), "{listed}");
    let logged = ok(server
        .get("/api/v1/audit?action=webhook.set", &a.auditor)
        .await);
    assert_eq!(logged.as_array().map(Vec::len), Some(1), "{logged}");
    assert!(
        logged.to_string().contains("https://hooks.example.com/…")
            && !logged.to_string().contains("/exeunt"),
        "the log keeps the URL's origin, not its path: {logged}"
    );
    assert_eq!(
        ok(server.get("/api/v1/webhooks", &b.owner).await),
        json!([])
    );
    let (status, _) = delete("/api/v1/webhooks/siem", &b.owner).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    ok(delete("/api/v1/webhooks/siem", &a.admin).await);
    assert_eq!(
        ok(server.get("/api/v1/webhooks", &a.auditor).await),
        json!([])
    );

    // Email wording: a template that does not render is refused, naming the part.
    let templates = ok(server.get("/api/v1/email-templates", &a.auditor).await);
    let assigned = templates
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["kind"] == "task.assigned")
        .expect("task.assigned has a template");
    assert_eq!(assigned["custom"], false);
    let path = "/api/v1/email-templates/task.assigned";
    let wording = json!({"subject": "[{{ tenant.name }}] {{ summary }}", "body": "{{ link }}"});
    let (status, _) = put(path, &a.manager, wording.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, reply) = put(
        path,
        &a.admin,
        json!({"subject": "{{ summary }}", "body": "{{ nobody.knows }}"}),
    )
    .await;
    assert_eq!(
        (status, reply["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("body")),
        "{reply}"
    );
    let (status, _) = put(
        "/api/v1/email-templates/task.lost",
        &a.admin,
        wording.clone(),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "no such kind, no such template"
    );
    let set = ok(put(path, &a.admin, wording).await);
    assert_eq!(set["custom"], true);
    let (_, theirs) = server.get("/api/v1/email-templates", &b.owner).await;
    assert!(
        !theirs.to_string().contains("[{{ tenant.name }}]"),
        "{theirs}"
    );
    let reset = ok(delete(path, &a.admin).await);
    assert_eq!(reset["custom"], false, "{reset}");
    let (status, _) = delete(path, &a.admin).await;
    assert_eq!(status, StatusCode::CONFLICT, "already the built-in wording");

    // Each person chooses what they get by email; an unknown kind changes nothing.
    let mine = "/api/v1/me/email-preferences";
    let before = ok(server.get(mine, &a.member).await);
    assert!(
        before
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["email"] == true),
        "{before}"
    );
    let (status, reply) = put(
        mine,
        &a.member,
        json!({"task.due_soon": false, "nope": true}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{reply}");
    assert_eq!(ok(server.get(mine, &a.member).await), before);
    let after = ok(put(mine, &a.auditor, json!({"task.due_soon": false})).await);
    let reminder = after
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["kind"] == "task.due_soon")
        .unwrap();
    assert_eq!(reminder["email"], false, "{after}");
    assert_eq!(
        ok(server.get(mine, &a.member).await),
        before,
        "only the auditor's own"
    );

    // Each person sets where they are, whatever their role; `me` says it; a zone the
    // database does not know is refused naming the field, and changes nothing.
    let zone = "/api/v1/me/time-zone";
    assert_eq!(
        ok(server.get("/api/v1/me", &a.auditor).await)["user"]["time_zone"],
        "UTC"
    );
    let (status, reply) = put(zone, &a.auditor, json!({"time_zone": "Mars/Olympus_Mons"})).await;
    assert_eq!(
        (status, reply["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("time_zone")),
        "{reply}"
    );
    assert!(
        problem(&reply)
            .1
            .contains("time_zone `Mars/Olympus_Mons` is not a time zone"),
        "{reply}"
    );
    let (status, reply) = put(zone, &a.auditor, json!({"time_zone": "UTC", "zone": "UTC"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{reply}");
    assert!(
        problem(&reply).1.contains("unknown field `zone`"),
        "{reply}"
    );
    assert_eq!(
        ok(server.get("/api/v1/me", &a.auditor).await)["user"]["time_zone"],
        "UTC"
    );
    let me = ok(put(zone, &a.auditor, json!({"time_zone": "america/new_york"})).await);
    assert_eq!(me["time_zone"], "America/New_York", "{me}");
    assert_eq!(
        ok(server.get("/api/v1/me", &a.auditor).await)["user"]["time_zone"],
        "America/New_York"
    );
    assert_eq!(
        ok(server.get("/api/v1/me", &a.member).await)["user"]["time_zone"],
        "UTC",
        "only the auditor's own"
    );

    // Admins set the zone people added from now on start in; those already there keep theirs.
    let firm_zone = "/api/v1/tenant/time-zone";
    let (status, _) = put(firm_zone, &a.manager, json!({"time_zone": "Europe/Berlin"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let tenant = ok(put(firm_zone, &a.admin, json!({"time_zone": "Europe/Berlin"})).await);
    assert_eq!(tenant["time_zone"], "Europe/Berlin", "{tenant}");
    assert_eq!(
        ok(server.get("/api/v1/me", &a.member).await)["tenant"]["time_zone"],
        "Europe/Berlin"
    );
    let added = ok(server
        .post(
            "/api/v1/users",
            &a.admin,
            json!({"email": "new@example.com", "name": "New Person", "role": "member"}),
        )
        .await);
    assert_eq!(added["time_zone"], "Europe/Berlin", "{added}");
    assert_eq!(
        ok(server.get("/api/v1/me", &a.member).await)["user"]["time_zone"],
        "UTC",
        "people already there keep theirs"
    );
}

testkit::on_both_stores!(connectors_over_http, automation_over_http);
