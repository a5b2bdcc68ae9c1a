//! The HTTP API, spawned on a random port against a real database, spoken to over HTTP.

use std::sync::Arc;

use app::{Actor, App, FixedClock, Ids, MasterKey};
use engine::ids::{Email, Password, Slug, Text};
use engine::tenant::Role;
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};
use testkit::TestDb;

struct Server {
    base: String,
    client: Client,
    db: TestDb,
}

/// A tenant on the running server, with a token per role.
struct Tenant {
    slug: String,
    owner: String,
    admin: String,
    manager: String,
    member: String,
    auditor: String,
}

impl Server {
    async fn start(db: TestDb) -> (Self, App) {
        let clock = FixedClock::new("2026-11-23T09:00:00Z".parse().unwrap());
        let app = App::new(
            db.store.clone(),
            Arc::new(clock),
            Arc::new(Ids::seeded(11)),
            MasterKey::from_bytes([11; 32]),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(exeunt_server::serve(
            app.clone(),
            exeunt_server::ServerOptions::default(),
            listener,
            std::future::pending(),
        ));
        (
            Self {
                base,
                client: connectors::http_client().build().unwrap(),
                db,
            },
            app,
        )
    }

    /// A server with a tenant of each name, made through the app.
    async fn with_tenants<const N: usize>(db: TestDb, names: [&str; N]) -> (Self, [Tenant; N]) {
        let (server, app) = Self::start(db).await;
        let mut tenants = Vec::with_capacity(N);
        for name in names {
            tenants.push(tenant(&app, name).await);
        }
        let Ok(tenants) = tenants.try_into() else {
            unreachable!("one tenant per name")
        };
        (server, tenants)
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, Some(token), None).await
    }

    async fn post(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, Some(token), Some(body)).await
    }

    /// A request whose body and answer are bytes, not JSON.
    async fn raw(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<(&str, Vec<u8>)>,
    ) -> (StatusCode, reqwest::header::HeaderMap, Vec<u8>) {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(token);
        if let Some((content_type, bytes)) = body {
            request = request.header("content-type", content_type).body(bytes);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        (status, headers, response.bytes().await.unwrap().to_vec())
    }

    /// A request without credentials, as a departing client's browser sends it (it does not
    /// follow redirects, so a test sees them).
    async fn anonymous(
        &self,
        method: Method,
        path: &str,
        form: Option<&[(&str, &str)]>,
    ) -> (StatusCode, reqwest::header::HeaderMap, Vec<u8>) {
        let client = connectors::http_client()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let mut request = client.request(method, format!("{}{path}", self.base));
        if let Some(form) = form {
            let body: Vec<String> = form
                .iter()
                .map(|(k, v)| format!("{k}={}", v.replace(' ', "+")))
                .collect();
            request = request
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body.join("&"));
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        (status, headers, response.bytes().await.unwrap().to_vec())
    }

    /// Every byte the SQLite store keeps on disk (the database and its WAL); `None` on
    /// PostgreSQL.
    fn stored_bytes(&self) -> Option<Vec<u8>> {
        let dir = self.db.dir()?;
        let mut all = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            all.extend(std::fs::read(entry.unwrap().path()).unwrap());
        }
        Some(all)
    }
}

async fn tenant(app: &App, slug: &str) -> Tenant {
    let owner: Actor = app
        .init_tenant(
            Slug::parse(slug).unwrap(),
            Text::line(slug, 50).unwrap(),
            Email::parse(&format!("owner@{slug}.example")).unwrap(),
            Text::line("Owner", 50).unwrap(),
        )
        .await
        .unwrap();
    let mut tokens = Vec::new();
    for role in [
        Role::Owner,
        Role::Admin,
        Role::Manager,
        Role::Member,
        Role::Auditor,
    ] {
        let email = Email::parse(&format!("{role}@{slug}.example")).unwrap();
        let user = match role {
            Role::Owner => None,
            _ => {
                app.add_user(
                    &owner,
                    email.clone(),
                    Text::line("Someone", 50).unwrap(),
                    role,
                    &[Slug::parse("compliance").unwrap()],
                )
                .await
                .unwrap();
                Some(email)
            }
        };
        let issued = app
            .issue_token(&owner, Text::line("test", 50).unwrap(), role, user.as_ref())
            .await
            .unwrap();
        tokens.push(issued.secret);
    }
    app.set_password(&owner, None, &Password::parse(PASSWORD).unwrap())
        .await
        .unwrap();
    let [owner, admin, manager, member, auditor] = tokens.try_into().unwrap();
    Tenant {
        slug: slug.to_owned(),
        owner,
        admin,
        manager,
        member,
        auditor,
    }
}

const PASSWORD: &str = "correct horse battery staple";

/// Signs in with a password: (status, the session cookie pair, the CSRF token, the response).
async fn sign_in(
    server: &Server,
    tenant: &str,
    email: &str,
    password: &str,
) -> (StatusCode, String, String, reqwest::Response) {
    let response = server
        .client
        .post(format!("{}/api/v1/session", server.base))
        .json(&json!({"tenant": tenant, "email": email, "password": password}))
        .send()
        .await
        .unwrap();
    let status = response.status();
    let cookie = response
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    (status, cookie, String::new(), response)
}

/// A request with a session cookie (and the CSRF header when given).
async fn with_session(
    server: &Server,
    method: Method,
    path: &str,
    cookie: &str,
    csrf: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let pair = cookie.split(';').next().unwrap();
    let mut request = server
        .client
        .request(method, format!("{}{path}", server.base))
        .header("cookie", pair);
    if let Some(csrf) = csrf {
        request = request.header("x-csrf-token", csrf);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

async fn password_sign_in_opens_a_guarded_session(db: TestDb) {
    let (server, [a]) = Server::with_tenants(db, ["a"]).await;
    let owner = format!("owner@{}.example", a.slug);
    for (email, password) in [
        (owner.as_str(), "wrong password!"),
        ("nobody@a.example", PASSWORD),
    ] {
        let (status, cookie, _, response) = sign_in(&server, &a.slug, email, password).await;
        let body: Value = response.json().await.unwrap();
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(
            body["detail"], "the email or the password is wrong",
            "no hint which part was wrong"
        );
        assert!(cookie.is_empty());
    }
    let (status, first, _, response) = sign_in(&server, &a.slug, &owner, PASSWORD).await;
    assert_eq!(status, StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    let csrf1 = body["csrf_token"].as_str().unwrap().to_owned();
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(first.contains(attribute), "{first}");
    }
    assert!(!first.contains("Secure"), "no Secure flag on plain HTTP");

    let (status, me) = with_session(&server, Method::GET, "/api/v1/me", &first, None, None).await;
    assert_eq!(
        (status, me["user"]["email"].as_str()),
        (StatusCode::OK, Some(owner.as_str()))
    );
    let subject = json!({"key": "c1", "kind": "client", "name": "C1"});
    let (status, body) = with_session(
        &server,
        Method::POST,
        "/api/v1/subjects",
        &first,
        None,
        Some(subject.clone()),
    )
    .await;
    assert_eq!(
        (status, problem(&body).0),
        (StatusCode::FORBIDDEN, "/problems/csrf"),
        "a cookie write needs the CSRF header"
    );
    let (status, _) = with_session(
        &server,
        Method::POST,
        "/api/v1/subjects",
        &first,
        Some("forged"),
        Some(subject.clone()),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = with_session(
        &server,
        Method::POST,
        "/api/v1/subjects",
        &first,
        Some(&csrf1),
        Some(subject),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);

    // Each sign-in is a new session; a password change ends the others.
    let (_, second, _, response) = sign_in(&server, &a.slug, &owner, PASSWORD).await;
    let csrf2 = response.json::<Value>().await.unwrap()["csrf_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(
        first.split(';').next(),
        second.split(';').next(),
        "a new session id at sign-in"
    );
    let change =
        json!({"current_password": "not it at all", "new_password": "an even better passphrase"});
    let (status, body) = with_session(
        &server,
        Method::POST,
        "/api/v1/me/password",
        &second,
        Some(&csrf2),
        Some(change),
    )
    .await;
    assert_eq!(
        (status, body["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("current_password"))
    );
    let change = json!({"current_password": PASSWORD, "new_password": "short"});
    let (status, _) = with_session(
        &server,
        Method::POST,
        "/api/v1/me/password",
        &second,
        Some(&csrf2),
        Some(change),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let change = json!({"current_password": PASSWORD, "new_password": "an even better passphrase"});
    let (status, body) = with_session(
        &server,
        Method::POST,
        "/api/v1/me/password",
        &second,
        Some(&csrf2),
        Some(change),
    )
    .await;
    assert_eq!(
        (status, body["other_sessions_revoked"].as_u64()),
        (StatusCode::OK, Some(1)),
        "{body}"
    );
    assert_eq!(
        with_session(&server, Method::GET, "/api/v1/me", &first, None, None)
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        with_session(&server, Method::GET, "/api/v1/me", &second, None, None)
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(
        sign_in(&server, &a.slug, &owner, PASSWORD).await.0,
        StatusCode::UNPROCESSABLE_ENTITY
    );

    // Signing out revokes the session and clears the cookie.
    let response = server
        .client
        .delete(format!("{}/api/v1/session", server.base))
        .header("cookie", second.split(';').next().unwrap())
        .header("x-csrf-token", &csrf2)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert!(
        response.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    assert_eq!(
        with_session(&server, Method::GET, "/api/v1/me", &second, None, None)
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
    // A token cannot sign out a session it does not have.
    let (status, _) = server
        .call(Method::DELETE, "/api/v1/session", Some(&a.owner), None)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

async fn repeated_failed_sign_ins_are_slowed_down(db: TestDb) {
    let (server, [a]) = Server::with_tenants(db, ["a"]).await;
    let owner = format!("owner@{}.example", a.slug);
    for _ in 0..5 {
        assert_eq!(
            sign_in(&server, &a.slug, &owner, "guess guess guess")
                .await
                .0,
            StatusCode::UNPROCESSABLE_ENTITY
        );
    }
    let (status, _, _, response) = sign_in(&server, &a.slug, &owner, PASSWORD).await;
    assert_eq!(
        status,
        StatusCode::TOO_MANY_REQUESTS,
        "even the right password waits once the account's budget is spent"
    );
    let retry: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=300).contains(&retry));
}

async fn evidence_and_the_audit_log_over_http(db: TestDb) {
    let (server, [a]) = Server::with_tenants(db, ["a"]).await;
    server
        .post(
            "/api/v1/subjects",
            &a.manager,
            json!({"key": "acme", "kind": "client", "name": "Acme"}),
        )
        .await;
    server
        .post(
            "/api/v1/cases",
            &a.manager,
            json!({"subject": "acme", "exit_date": "2026-12-31"}),
        )
        .await;
    let path = "/api/v1/cases/1/tasks/set-expectations/complete";
    let (status, body) = server.post(path, &a.manager, json!({})).await;
    assert_eq!(
        (status, body["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("evidence")),
        "{body}"
    );
    for (evidence, field) in [
        (
            json!([{"file_name": "notes.txt", "content_base64": "not base64!"}]),
            "evidence[0].content_base64",
        ),
        (
            json!([{"file_name": "../etc/passwd", "content_base64": "aGk="}]),
            "evidence[0].file_name",
        ),
    ] {
        let (status, body) = server
            .post(path, &a.manager, json!({"evidence": evidence}))
            .await;
        assert_eq!(
            (status, body["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some(field)),
            "{body}"
        );
    }
    // "Agreed by phone" in base64; its SHA-256 is what the case must show.
    let (status, body) = server.post(path, &a.manager, json!({"note": "called", "evidence": [{"file_name": "call.txt", "content_base64": "QWdyZWVkIGJ5IHBob25l"}]})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, case) = server.get("/api/v1/cases/1", &a.auditor).await;
    assert_eq!(case["evidence"][0]["file_name"], "call.txt");
    assert_eq!(
        case["evidence"][0]["sha256"],
        "db2be45b1511774a9eff5685feccf88a7bcb4ca33260272a28abc9681c272fda"
    );
    assert_eq!(case["evidence"][0]["size"], 15);

    let (status, events) = server
        .get("/api/v1/audit?action=task.completed", &a.auditor)
        .await;
    assert_eq!(status, StatusCode::OK);
    let events = events.as_array().unwrap();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["target_id"], "1/set-expectations");
    let (_, all) = server.get("/api/v1/audit?limit=3", &a.auditor).await;
    let last = all[2]["seq"].as_i64().unwrap();
    let (_, next) = server
        .get(&format!("/api/v1/audit?limit=3&after={last}"), &a.auditor)
        .await;
    assert_eq!(
        next[0]["seq"].as_i64(),
        Some(last + 1),
        "pages continue after the last seen event"
    );
    let (status, body) = server.get("/api/v1/audit?from=yesterday", &a.auditor).await;
    assert_eq!(
        (status, body["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("from"))
    );
    let (_, none) = server
        .get("/api/v1/audit?from=2030-01-01T00:00:00Z", &a.auditor)
        .await;
    assert_eq!(none, json!([]));
}

async fn administration_over_http(db: TestDb) {
    let (server, [a]) = Server::with_tenants(db, ["a"]).await;
    let new_user =
        json!({"email": "new@a.example", "name": "New", "role": "member", "teams": ["it"]});
    let (status, _) = server
        .post("/api/v1/users", &a.manager, new_user.clone())
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = server
        .post("/api/v1/users", &a.owner, new_user.clone())
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = server.post("/api/v1/users", &a.owner, new_user).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let (_, users) = server.get("/api/v1/users", &a.auditor).await;
    assert!(
        users
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["email"] == "new@a.example")
    );
    let (_, teams) = server.get("/api/v1/teams", &a.auditor).await;
    assert!(
        teams
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["slug"] == "it" && t["members"].as_array().unwrap().len() == 1)
    );

    let broken = "id: mine\nversion: 1\ntitle: Mine\nscope: client\nstages:\n  - id: one\n    title: One\n    tasks:\n      - id: t\n        title: T\n        team: marketing\n";
    let (status, body) = server
        .post(
            "/api/v1/blueprints/lint",
            &a.auditor,
            json!({"source": broken}),
        )
        .await;
    assert_eq!(
        (status, body["ok"].as_bool()),
        (StatusCode::OK, Some(false)),
        "{body}"
    );
    assert!(
        body["problems"][0]["message"]
            .as_str()
            .unwrap()
            .contains("unknown team `marketing`"),
        "{body}"
    );
    assert_eq!(body["problems"][0]["line"], 11);
    let fixed = broken.replace("marketing", "it");
    let (status, body) = server
        .post("/api/v1/blueprints", &a.manager, json!({"source": fixed}))
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "uploading needs the admin role: {body}"
    );
    let (status, body) = server
        .post("/api/v1/blueprints", &a.owner, json!({"source": fixed}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = server
        .post("/api/v1/blueprints", &a.owner, json!({"source": fixed}))
        .await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "the same version twice: {body}"
    );
    let (status, body) = server.get("/api/v1/blueprints/mine", &a.auditor).await;
    assert_eq!(
        (status, body["source"].as_str()),
        (StatusCode::OK, Some(fixed.as_str()))
    );
    server.post("/api/v1/subjects", &a.owner, json!({"key": "c", "kind": "client", "name": "C", "attributes": {"timezone": "Asia/Tokyo"}})).await;
    let (status, plan) = server
        .post(
            "/api/v1/blueprints/client-standard/plan",
            &a.auditor,
            json!({"subject": "c", "exit_date": "2026-12-31"}),
        )
        .await;
    assert_eq!(
        (status, plan["time_zone"].as_str()),
        (StatusCode::OK, Some("Asia/Tokyo")),
        "{plan}"
    );
    assert_eq!(plan["tasks"].as_array().unwrap().len(), 13);

    let (status, issued) = server
        .post(
            "/api/v1/tokens",
            &a.owner,
            json!({"name": "ci", "role": "auditor"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{issued}");
    let secret = issued["secret"].as_str().unwrap().to_owned();
    assert_eq!(server.get("/api/v1/cases", &secret).await.0, StatusCode::OK);
    let id = issued["token"]["id"].as_str().unwrap();
    let (status, _) = server
        .call(
            Method::DELETE,
            &format!("/api/v1/tokens/{id}"),
            Some(&a.owner),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        server.get("/api/v1/cases", &secret).await.0,
        StatusCode::UNAUTHORIZED,
        "a revoked token no longer works"
    );
}

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
    let owners = send(a.owner.clone(), "create-acme-1", acme).await;
    assert_eq!(
        (owners.0, owners.1),
        (StatusCode::CONFLICT, false),
        "{}",
        owners.2
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

/// What tenant B holds that tenant A's calls must never reach: a subject with a record, a
/// case with an open blocker, and a blueprint of its own.
async fn fill(server: &Server, t: &Tenant, marker: &str) {
    let ok = |(status, body): (StatusCode, Value)| assert!(status.is_success(), "{body}");
    ok(server
        .post(
            "/api/v1/subjects",
            &t.owner,
            json!({"key": "acme", "kind": "client", "name": marker}),
        )
        .await);
    ok(server
        .post(
            "/api/v1/subjects/acme/records",
            &t.owner,
            json!({"kind": "work_item", "fields": {"title": marker}}),
        )
        .await);
    ok(server
        .post(
            "/api/v1/cases",
            &t.owner,
            json!({"subject": "acme", "exit_date": "2026-12-31"}),
        )
        .await);
    let blueprint = "id: tenant-only\nversion: 1\ntitle: T\nscope: client\nstages:\n  - id: s\n    title: S\n    tasks:\n      - id: t\n        title: T\n        team: it\n";
    ok(server
        .post("/api/v1/blueprints", &t.owner, json!({"source": blueprint}))
        .await);
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

fn problem(body: &Value) -> (&str, &str) {
    (
        body["type"].as_str().unwrap_or(""),
        body["detail"].as_str().unwrap_or(""),
    )
}

async fn a_party_is_offboarded_over_http(db: TestDb) {
    let (server, [a]) = Server::with_tenants(db, ["a"]).await;
    let (status, body) = server.post("/api/v1/subjects", &a.manager, json!({"key": "p1", "kind": "client", "name": "Party One", "attributes": {"service_type": "client-file"}})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = server
        .post(
            "/api/v1/cases",
            &a.manager,
            json!({"subject": "p1", "exit_date": "2026-12-31"}),
        )
        .await;
    assert_eq!(
        (status, body["blueprint_id"].as_str()),
        (StatusCode::CREATED, Some("party")),
        "{body}"
    );
    let (status, body) = server
        .post(
            "/api/v1/cases/1/tasks/compliance-review/complete",
            &a.member,
            json!({}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "review waits for the file stage: {body}"
    );
    let (status, body) = server
        .post(
            "/api/v1/cases/1/tasks/complete-file/complete",
            &a.member,
            json!({}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "the case owner's task is not the member's: {body}"
    );
    let (status, _) = server
        .post(
            "/api/v1/cases/1/tasks/complete-file/complete",
            &a.manager,
            json!({"note": "file complete"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    // The member belongs to compliance, which owns the review.
    let (status, body) = server.get("/api/v1/tasks/mine", &a.member).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body[0]["id"], "compliance-review", "{body}");
    let (status, _) = server
        .post(
            "/api/v1/cases/1/tasks/compliance-review/complete",
            &a.member,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = server
        .post(
            "/api/v1/cases/1/close",
            &a.manager,
            json!({"confirm": "terminate"}),
        )
        .await;
    assert_eq!(
        (status, body["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("confirm")),
        "{body}"
    );
    let (status, body) = server
        .post(
            "/api/v1/cases/1/close",
            &a.manager,
            json!({"confirm": "TERMINATE"}),
        )
        .await;
    assert_eq!(
        (status, body["resolution"].as_str()),
        (StatusCode::OK, Some("completed")),
        "{body}"
    );
    let (_, body) = server.get("/api/v1/subjects", &a.auditor).await;
    assert_eq!(body, json!([]), "the offboarded party is hidden");

    // The completed case carries a certificate that the published keys verify.
    let (status, certificate) = server.get("/api/v1/cases/1/certificate", &a.auditor).await;
    assert_eq!(status, StatusCode::OK, "{certificate}");
    let (status, jwks) = server
        .call(Method::GET, "/.well-known/jwks.json", None, None)
        .await;
    assert_eq!(status, StatusCode::OK, "no authentication needed: {jwks}");
    let keys: crypto::jose::Jwks = serde_json::from_value(jwks).unwrap();
    let verified =
        crypto::jose::verify::<serde_json::Value>(certificate["token"].as_str().unwrap(), &keys)
            .unwrap();
    assert_eq!(verified.kid, certificate["kid"].as_str().unwrap());
    assert_eq!(
        (
            verified.claims["iss"].as_str(),
            verified.claims["resolution"].as_str(),
            verified.claims["case"]["number"].as_i64(),
        ),
        (Some("exeunt:a"), Some("completed"), Some(1)),
        "{}",
        verified.claims
    );
    let (status, body) = server.get("/api/v1/audit/verify", &a.auditor).await;
    assert_eq!(
        (status, body["intact"].as_bool()),
        (StatusCode::OK, Some(true)),
        "{body}"
    );
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
            ),
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
    let (status, reply) = server.get("/api/v1/subjects?kind=vendor", &a.owner).await;
    assert_eq!(
        (status, reply["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("kind")),
        "{reply}"
    );
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
    let (status, body) = server.call(Method::GET, "/healthz", None, None).await;
    assert_eq!((status, body), (StatusCode::OK, Value::String("ok".into())));
    let (status, _) = server.call(Method::GET, "/readyz", None, None).await;
    assert_eq!(status, StatusCode::OK);
}

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

/// Only the owner places and lifts legal holds and sets retention; everyone reads them; the
/// case shows what stands over its subject; another tenant's holds are missing.
async fn legal_holds_and_retention_over_http(db: TestDb) {
    let (server, [a, b]) = Server::with_tenants(db, ["a", "b"]).await;
    fill(&server, &a, "A").await;
    fill(&server, &b, "B").await;
    let hold = json!({"subject": "acme", "reason": "Litigation hold, matter 2026-17"});
    for token in [&a.admin, &a.manager, &a.member, &a.auditor] {
        let (status, reply) = server
            .post("/api/v1/legal-holds", token, hold.clone())
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{reply}");
        assert!(
            problem(&reply).1.contains("needs the owner role"),
            "{reply}"
        );
        let (status, reply) = server
            .call(
                Method::PUT,
                "/api/v1/retention",
                Some(token),
                Some(json!({"period": "1y"})),
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{reply}");
        assert!(
            problem(&reply).1.contains("needs the owner role"),
            "{reply}"
        );
    }
    let (status, reply) = server
        .post(
            "/api/v1/legal-holds",
            &a.owner,
            json!({"subject": "acme", "reason": "  "}),
        )
        .await;
    assert_eq!(
        (status, reply["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("reason")),
        "{reply}"
    );
    let (status, reply) = server
        .post(
            "/api/v1/legal-holds",
            &a.owner,
            json!({"subject": "ghost", "reason": "x"}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{reply}");

    let (status, on_subject) = server.post("/api/v1/legal-holds", &a.owner, hold).await;
    assert_eq!(status, StatusCode::CREATED, "{on_subject}");
    let (status, on_tenant) = server
        .post(
            "/api/v1/legal-holds",
            &a.owner,
            json!({"reason": "Regulator inquiry"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{on_tenant}");
    assert!(on_tenant["subject_id"].is_null());
    assert_eq!(on_subject["subject"], "acme", "{on_subject}");
    let (status, b_hold) = server
        .post(
            "/api/v1/legal-holds",
            &b.owner,
            json!({"reason": "B's own"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{b_hold}");

    let (status, listed) = server
        .get("/api/v1/legal-holds?subject=acme", &a.auditor)
        .await;
    assert_eq!(status, StatusCode::OK, "{listed}");
    assert_eq!(listed.as_array().unwrap().len(), 2, "{listed}");
    assert!(!listed.to_string().contains("B's own"));
    let (_, case) = server.get("/api/v1/cases/1", &a.auditor).await;
    assert_eq!(case["legal_holds"].as_array().unwrap().len(), 2, "{case}");
    // Precheck warns that nothing will be purged while the holds stand.
    let (status, findings) = server
        .post("/api/v1/cases/1/precheck", &a.manager, json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{findings}");
    let hold_warning = |findings: &Value| {
        findings
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["finding"]["check_id"] == "legal-hold")
            .cloned()
    };
    let warning = hold_warning(&findings).expect("a legal-hold finding");
    assert_eq!(
        (
            warning["finding"]["severity"].as_str(),
            warning["status"].as_str()
        ),
        (Some("warning"), Some("open")),
        "{warning}"
    );

    let lift = |id: &Value| format!("/api/v1/legal-holds/{}/lift", id.as_str().unwrap());
    let (status, reply) = server
        .post(
            &lift(&b_hold["id"]),
            &a.owner,
            json!({"reason": "not ours"}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{reply}");
    let (status, reply) = server
        .post(
            &lift(&on_subject["id"]),
            &a.manager,
            json!({"reason": "settled"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{reply}");
    let (status, lifted) = server
        .post(
            &lift(&on_subject["id"]),
            &a.owner,
            json!({"reason": "Matter settled"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{lifted}");
    assert_eq!(lifted["lifted"]["reason"], "Matter settled");
    let (status, reply) = server
        .post(
            &lift(&on_subject["id"]),
            &a.owner,
            json!({"reason": "again"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{reply}");
    let (_, case) = server.get("/api/v1/cases/1", &a.auditor).await;
    assert_eq!(case["legal_holds"].as_array().unwrap().len(), 1, "{case}");
    assert_eq!(case["legal_holds"][0]["reason"], "Regulator inquiry");
    let lift_tenant = server
        .post(
            &lift(&on_tenant["id"]),
            &a.owner,
            json!({"reason": "Inquiry closed"}),
        )
        .await;
    assert_eq!(lift_tenant.0, StatusCode::OK, "{}", lift_tenant.1);
    let (_, findings) = server
        .post("/api/v1/cases/1/precheck", &a.manager, json!({}))
        .await;
    assert_eq!(
        hold_warning(&findings).unwrap()["status"],
        "resolved",
        "{findings}"
    );

    let put =
        |body: Value| server.call(Method::PUT, "/api/v1/retention", Some(&a.owner), Some(body));
    let (status, reply) = put(json!({"period": "7w"})).await;
    assert_eq!(
        (status, reply["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("period")),
        "{reply}"
    );
    let (status, reply) = put(json!({"period": "7y"})).await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    let (status, reply) = put(json!({"kind": "client", "period": "1Y6M"})).await;
    assert_eq!(
        (status, reply["period"].as_str()),
        (StatusCode::OK, Some("1y6m")),
        "{reply}"
    );
    let (_, policies) = server.get("/api/v1/retention", &a.auditor).await;
    assert_eq!(
        policies[0]["kind"],
        Value::Null,
        "the default comes first: {policies}"
    );
    assert_eq!(policies[1]["kind"], "client");
    let (_, policies) = server.get("/api/v1/retention", &b.auditor).await;
    assert_eq!(policies, json!([]));
    let (_, case) = server.get("/api/v1/cases/1", &a.auditor).await;
    assert_eq!(case["retention"]["period"], "1y6m", "{case}");
    assert!(
        case["purge_from"].is_null(),
        "the case is not complete: {case}"
    );

    let (_, audit) = server
        .get("/api/v1/audit?action=legal_hold.lifted", &a.auditor)
        .await;
    assert_eq!(audit.as_array().unwrap().len(), 2, "{audit}");
}

/// From the Freeze stage on, the subject's records are read-only except for the fields the
/// offboarding maintains itself; cancelling the case lifts the freeze. Both are audited.
async fn a_frozen_subject_refuses_record_writes(db: TestDb) {
    let (server, [a]) = Server::with_tenants(db, ["a"]).await;
    let ok = |(status, body): (StatusCode, Value)| {
        assert!(status.is_success(), "{body}");
        body
    };
    ok(server
        .post(
            "/api/v1/subjects",
            &a.manager,
            json!({"key": "acme", "kind": "client", "name": "Acme"}),
        )
        .await);
    ok(server
        .post(
            "/api/v1/subjects/acme/records",
            &a.manager,
            json!({"kind": "work_item", "fields": {"title": "Migration"}}),
        )
        .await);
    ok(server.post("/api/v1/subjects/acme/records", &a.manager, json!({"kind": "account", "fields": {"system": "portal", "identifier": "acme-admin", "status": "active"}})).await);
    ok(server
        .post(
            "/api/v1/cases",
            &a.manager,
            json!({"subject": "acme", "exit_date": "2026-12-31"}),
        )
        .await);
    ok(server
        .post(
            "/api/v1/subjects/acme/records",
            &a.manager,
            json!({"kind": "document", "fields": {"name": "Contract"}}),
        )
        .await);
    let note = json!({"kind": "note", "fields": {"text": "still writable"}});
    ok(server
        .post("/api/v1/subjects/acme/records", &a.manager, note.clone())
        .await);

    // Finishing the Precheck stage reaches Freeze.
    let evidence =
        json!({"evidence": [{"file_name": "call.txt", "content_base64": "QWdyZWVkIGJ5IHBob25l"}]});
    ok(server
        .post(
            "/api/v1/cases/1/tasks/set-expectations/complete",
            &a.manager,
            evidence,
        )
        .await);
    ok(server
        .post(
            "/api/v1/cases/1/tasks/account-transition/complete",
            &a.manager,
            json!({}),
        )
        .await);
    let (status, reply) = server
        .post("/api/v1/subjects/acme/records", &a.manager, note.clone())
        .await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "not frozen before Precheck is done: {reply}"
    );
    ok(server
        .post(
            "/api/v1/cases/1/tasks/confirm-final-invoice/complete",
            &a.manager,
            json!({}),
        )
        .await);

    let (status, reply) = server
        .post("/api/v1/subjects/acme/records", &a.owner, note.clone())
        .await;
    assert_eq!(status, StatusCode::LOCKED, "{reply}");
    assert_eq!(problem(&reply).0, "/problems/locked");
    assert!(problem(&reply).1.contains("frozen by case 1"), "{reply}");
    let patch = async |number: i64, fields: Value| {
        let path = format!("/api/v1/subjects/acme/records/{number}");
        server
            .call(
                Method::PATCH,
                &path,
                Some(&a.manager),
                Some(json!({"fields": fields})),
            )
            .await
    };
    let (status, _, body) = server
        .raw(
            Method::PUT,
            "/api/v1/subjects/acme/records/3/file?file_name=late.txt",
            &a.manager,
            Some(("text/plain", b"too late".to_vec())),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::LOCKED,
        "a frozen subject's documents do not change: {}",
        String::from_utf8_lossy(&body)
    );
    let (status, reply) = patch(1, json!({"title": "Renamed"})).await;
    assert_eq!(status, StatusCode::LOCKED, "{reply}");
    assert!(
        problem(&reply).1.contains("only new_owner may change"),
        "{reply}"
    );
    // The offboarding's own steps still write: handing work over, disabling an account.
    let (status, reply) = patch(1, json!({"new_owner": "owner@a.example"})).await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    let (status, reply) = patch(2, json!({"status": "disabled"})).await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    let (_, case) = server.get("/api/v1/cases/1", &a.auditor).await;
    assert_eq!(case["case"]["stages"][1]["freeze"], true, "{case}");

    ok(server
        .post(
            "/api/v1/cases/1/cancel",
            &a.manager,
            json!({"reason": "The client stays after all"}),
        )
        .await);
    let (status, reply) = server
        .post("/api/v1/subjects/acme/records", &a.manager, note)
        .await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "cancelling lifts the freeze: {reply}"
    );
    for action in ["case.froze", "case.unfroze"] {
        let (_, events) = server
            .get(&format!("/api/v1/audit?action={action}"), &a.auditor)
            .await;
        assert_eq!(events.as_array().unwrap().len(), 1, "{action}: {events}");
    }
}

/// Requests an export of a case and waits until the server's worker has built it.
async fn wait_for_export(server: &Server, token: &str, case: i64) -> Value {
    let (status, requested) = server
        .post(&format!("/api/v1/cases/{case}/exports"), token, json!({}))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{requested}");
    for _ in 0..300 {
        let (_, exports) = server
            .get(&format!("/api/v1/cases/{case}/exports"), token)
            .await;
        let newest = exports[0].clone();
        match newest["status"].as_str() {
            Some("ready") => return newest,
            Some("failed") => panic!("the export failed: {newest}"),
            _ => tokio::time::sleep(std::time::Duration::from_millis(100)).await,
        }
    }
    panic!("the export was not built within 30 s");
}

async fn access_is_revoked_and_work_handed_off_over_http(db: TestDb) {
    let (server, [a]) = Server::with_tenants(db, ["a"]).await;
    let ok = |(status, body): (StatusCode, Value)| {
        assert!(status.is_success(), "{body}");
        body
    };
    ok(server
        .post(
            "/api/v1/subjects",
            &a.manager,
            json!({"key": "acme", "kind": "client", "name": "Acme"}),
        )
        .await);
    for record in [
        json!({"kind": "work_item", "fields": {"title": "Migration"}}),
        json!({"kind": "account", "fields": {"system": "portal", "identifier": "acme-admin", "status": "active"}}),
        json!({"kind": "integration", "fields": {"name": "Slack", "status": "active"}}),
    ] {
        ok(server
            .post("/api/v1/subjects/acme/records", &a.manager, record)
            .await);
    }
    ok(server
        .post(
            "/api/v1/cases",
            &a.manager,
            json!({"subject": "acme", "exit_date": "2026-12-31"}),
        )
        .await);
    let listed = ok(server.get("/api/v1/cases/1/revocations", &a.auditor).await);
    let items = listed.as_array().unwrap();
    assert_eq!(items.len(), 2, "the account and the integration: {listed}");
    assert!(items.iter().all(|i| i["status"] == "pending"), "{listed}");
    assert_eq!(items[0]["label"], "portal account acme-admin");

    let evidence =
        json!({"evidence": [{"file_name": "call.txt", "content_base64": "QWdyZWVkIGJ5IHBob25l"}]});
    // The export is built in the background; the task that archives the data waits for it.
    let export = wait_for_export(&server, &a.manager, 1).await;
    let (status, _, package) = server
        .raw(
            Method::GET,
            "/api/v1/cases/1/exports/latest/package",
            &a.auditor,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(Some(package.len() as i64), export["size"].as_i64());
    let bag = bagit::verify(std::io::Cursor::new(&package)).unwrap();
    assert!(
        bag.info
            .iter()
            .any(|(label, value)| label == "External-Identifier" && value == "acme"),
        "{bag:?}"
    );
    let keys: crypto::jose::Jwks = serde_json::from_value(
        server
            .call(Method::GET, "/.well-known/jwks.json", None, None)
            .await
            .1,
    )
    .unwrap();
    let receipt = crypto::jose::verify::<Value>(export["receipt"].as_str().unwrap(), &keys)
        .unwrap()
        .claims;
    assert_eq!(
        receipt["bag_digest"].as_str(),
        Some(format!("sha256:{}", export["sha256"].as_str().unwrap()).as_str()),
        "{receipt}"
    );
    // The departing client gets a signed link: no account, a page, the package, a receipt.
    let (status, link) = server
        .post(
            "/api/v1/cases/1/exports/latest/link",
            &a.manager,
            json!({"days": 7}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{link}");
    let page_path = link["path"].as_str().unwrap().to_owned();
    let (status, headers, page) = server.anonymous(Method::GET, &page_path, None).await;
    let page = String::from_utf8(page).unwrap();
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(page.contains(export["sha256"].as_str().unwrap()), "{page}");
    assert!(page.contains("I received the package"), "{page}");
    let (status, _, body) = server
        .anonymous(Method::GET, &format!("{page_path}/package"), None)
        .await;
    assert_eq!((status, body.len()), (StatusCode::OK, package.len()));
    let (status, _, _) = server
        .anonymous(
            Method::POST,
            &format!("{page_path}/acknowledge"),
            Some(&[("name", "  ")]),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "a name is needed");
    let (status, headers, _) = server
        .anonymous(
            Method::POST,
            &format!("{page_path}/acknowledge"),
            Some(&[("name", "Ann Client")]),
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers["location"], page_path.as_str());
    let (_, _, page) = server.anonymous(Method::GET, &page_path, None).await;
    assert!(
        String::from_utf8(page)
            .unwrap()
            .contains("Receipt acknowledged by Ann Client")
    );
    let (_, exports) = server.get("/api/v1/cases/1/exports", &a.auditor).await;
    assert_eq!(
        exports[0]["acknowledged"]["name"], "Ann Client",
        "{exports}"
    );
    assert_eq!(exports[0]["acknowledged"]["from"], "127.0.0.1", "{exports}");
    // A changed token is no link at all.
    let forged = format!("{}x", page_path);
    let (status, _, _) = server.anonymous(Method::GET, &forged, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    for task in [
        "set-expectations",
        "account-transition",
        "confirm-final-invoice",
        "freeze-records",
        "data-archiving",
        "deliver-export",
    ] {
        ok(server
            .post(
                &format!("/api/v1/cases/1/tasks/{task}/complete"),
                &a.manager,
                evidence.clone(),
            )
            .await);
    }
    let complete_revoke = async || {
        server
            .post(
                "/api/v1/cases/1/tasks/revoke-integrations/complete",
                &a.manager,
                evidence.clone(),
            )
            .await
    };
    let (status, reply) = complete_revoke().await;
    assert_eq!(status, StatusCode::CONFLICT, "{reply}");
    assert!(
        problem(&reply)
            .1
            .contains("portal account acme-admin (record 2, pending)"),
        "{reply}"
    );

    let revoke = async |record: i64, body: Value| {
        server
            .post(
                &format!("/api/v1/cases/1/revocations/{record}"),
                &a.manager,
                body,
            )
            .await
    };
    let (status, reply) = revoke(2, json!({"status": "verified"})).await;
    assert_eq!(
        (status, reply["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("note")),
        "{reply}"
    );
    let (status, reply) = revoke(2, json!({"status": "pending"})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{reply}");
    let (status, reply) = revoke(2, json!({"status": "gone"})).await;
    assert!(status.is_client_error(), "{reply}");
    let (status, reply) = revoke(1, json!({"status": "revoked"})).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "a work item is not access: {reply}"
    );
    let item = ok(revoke(2, json!({"status": "revoked"})).await);
    assert_eq!(item["status"], "revoked");
    let item = ok(revoke(2, json!({"status": "verified", "note": "Sign-in refused"})).await);
    assert!(item["verified_at"].is_string(), "{item}");
    let (status, reply) = complete_revoke().await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "Slack is still pending: {reply}"
    );
    ok(revoke(
        3,
        json!({"status": "waived", "note": "The workspace is deleted with the org"}),
    )
    .await);
    ok(complete_revoke().await);

    let case = ok(server.get("/api/v1/cases/1", &a.auditor).await);
    let statuses: Vec<&str> = case["revocations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["verified", "waived"], "{case}");
    // Verified gone closes that account's exposure window; a waived one has none.
    assert_eq!(
        case["revocations"][0]["exposure"]["state"], "closed",
        "{case}"
    );
    assert!(case["revocations"][1]["exposure"].is_null(), "{case}");
    assert_eq!(case["exposure"]["state"], "closed", "{case}");
    assert!(
        case["access_ends_at"].is_string() && case["jobs"].is_array(),
        "{case}"
    );
    let subject = ok(server.get("/api/v1/subjects/acme", &a.auditor).await);
    assert_eq!(
        subject["records"][1]["fields"]["status"], "disabled",
        "{subject}"
    );

    let hand_off = async |record: i64, owner: &str| {
        server
            .post(
                &format!("/api/v1/cases/1/work-items/{record}/handoff"),
                &a.manager,
                json!({"new_owner": owner}),
            )
            .await
    };
    let (status, reply) = hand_off(1, "nobody@elsewhere.example").await;
    assert_eq!(
        (status, reply["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("new_owner")),
        "{reply}"
    );
    let (status, reply) = hand_off(2, "member@a.example").await;
    assert_eq!(
        (status, reply["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("record")),
        "{reply}"
    );
    let handed = ok(hand_off(1, "member@a.example").await);
    assert_eq!(handed["fields"]["new_owner"], "member@a.example");
    for (action, count) in [
        ("revocation.revoked", 1),
        ("revocation.verified", 1),
        ("revocation.waived", 1),
        ("work_item.handed_off", 1),
    ] {
        let (_, events) = server
            .get(&format!("/api/v1/audit?action={action}"), &a.auditor)
            .await;
        assert_eq!(
            events.as_array().unwrap().len(),
            count,
            "{action}: {events}"
        );
    }

    // The rest of the stages, then the close: every stage of the standard client offboarding
    // ran over HTTP. Precheck again: the work has an owner now.
    // Slack stays active (its revocation was waived), so its blocker is waived the same way.
    ok(server
        .post(
            "/api/v1/cases/1/findings/active-accounts/waive",
            &a.manager,
            json!({"reason": "The Slack workspace is deleted with the organization"}),
        )
        .await);
    let (_, findings) = server
        .post("/api/v1/cases/1/precheck", &a.manager, json!({}))
        .await;
    assert!(
        findings
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["finding"]["severity"] != "blocker" || f["status"] != "open"),
        "{findings}"
    );
    for task in [
        "asset-return",
        "knowledge-transfer",
        "final-payment",
        "exit-interview",
        "part-respectfully",
        "schedule-purge",
    ] {
        ok(server
            .post(
                &format!("/api/v1/cases/1/tasks/{task}/complete"),
                &a.manager,
                json!({}),
            )
            .await);
    }
    let closed = ok(server
        .post(
            "/api/v1/cases/1/close",
            &a.manager,
            json!({"confirm": "TERMINATE"}),
        )
        .await);
    assert_eq!(closed["resolution"], "completed", "{closed}");
    let case = ok(server.get("/api/v1/cases/1", &a.auditor).await);
    assert_eq!(case["subject"]["state"], "offboarded", "{case}");
    let certificate = case["certificate"]["token"].as_str().unwrap();
    let claims = crypto::jose::verify::<Value>(certificate, &keys)
        .unwrap()
        .claims;
    assert_eq!(
        claims["export_digest"].as_str(),
        Some(format!("sha256:{}", export["sha256"].as_str().unwrap()).as_str()),
        "the certificate names the export: {claims}"
    );
}

async fn files_are_stored_encrypted_and_stream_back(db: TestDb) {
    let (server, [a]) = Server::with_tenants(db, ["a"]).await;
    let ok = |(status, body): (StatusCode, Value)| {
        assert!(status.is_success(), "{body}");
        body
    };
    ok(server
        .post(
            "/api/v1/subjects",
            &a.manager,
            json!({"key": "acme", "kind": "client", "name": "Acme"}),
        )
        .await);
    ok(server
        .post(
            "/api/v1/subjects/acme/records",
            &a.manager,
            json!({"kind": "document", "fields": {"name": "Master services agreement"}}),
        )
        .await);
    ok(server
        .post(
            "/api/v1/subjects/acme/records",
            &a.manager,
            json!({"kind": "note", "fields": {"text": "no file here"}}),
        )
        .await);
    // Several chunks' worth, with a marker that must not appear on disk.
    let marker = b"CONFIDENTIAL-ACME-CONTRACT-TERMS ";
    let contract: Vec<u8> = marker.iter().copied().cycle().take(200_000).collect();
    let (status, _, body) = server
        .raw(
            Method::PUT,
            "/api/v1/subjects/acme/records/1/file?file_name=msa.pdf",
            &a.manager,
            Some(("application/pdf", contract.clone())),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    let stored: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        (stored["size"].as_i64(), stored["media_type"].as_str()),
        (Some(200_000), Some("application/pdf"))
    );

    let (status, headers, body) = server
        .raw(
            Method::GET,
            "/api/v1/subjects/acme/records/1/file",
            &a.auditor,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(body == contract, "the file comes back byte for byte");
    assert_eq!(headers["content-type"], "application/pdf");
    assert_eq!(
        headers["content-disposition"],
        "attachment; filename=\"msa.pdf\""
    );

    // Refusals name what is wrong.
    for (path, expected) in [
        (
            "/api/v1/subjects/acme/records/2/file?file_name=x.txt",
            "record",
        ),
        (
            "/api/v1/subjects/acme/records/1/file?file_name=../x.txt",
            "file_name",
        ),
    ] {
        let (status, _, body) = server
            .raw(
                Method::PUT,
                path,
                &a.manager,
                Some(("text/plain", b"x".to_vec())),
            )
            .await;
        let problem: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            (status, problem["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some(expected)),
            "{problem}"
        );
    }
    let (status, _, _) = server
        .raw(
            Method::PUT,
            "/api/v1/subjects/acme/records/1/file?file_name=x.txt",
            &a.auditor,
            Some(("text/plain", b"x".to_vec())),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Evidence is sealed the same way.
    ok(server
        .post(
            "/api/v1/cases",
            &a.manager,
            json!({"subject": "acme", "exit_date": "2026-12-31"}),
        )
        .await);
    use base64::Engine;
    let proof = b"CONFIDENTIAL-CALL-NOTES agreed by phone".to_vec();
    let evidence = json!({"evidence": [{"file_name": "call.txt",
        "content_base64": base64::engine::general_purpose::STANDARD.encode(&proof)}]});
    ok(server
        .post(
            "/api/v1/cases/1/tasks/set-expectations/complete",
            &a.manager,
            evidence,
        )
        .await);
    let case = ok(server.get("/api/v1/cases/1", &a.auditor).await);
    let item = &case["evidence"][0];
    assert_eq!(item["sealed"], true, "{case}");
    let path = format!("/api/v1/cases/1/evidence/{}", item["id"].as_str().unwrap());
    let (status, _, body) = server.raw(Method::GET, &path, &a.auditor, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, proof);

    if let Some(disk) = server.stored_bytes() {
        for secret in [&b"CONFIDENTIAL-ACME"[..], b"CONFIDENTIAL-CALL"] {
            assert!(
                !disk.windows(secret.len()).any(|w| w == secret),
                "{} is on disk in the clear",
                String::from_utf8_lossy(secret)
            );
        }
    }
}

testkit::on_both_stores!(
    a_party_is_offboarded_over_http,
    another_tenants_objects_answer_as_missing,
    every_refusal_says_which_role_is_needed,
    malformed_requests_get_problems_never_5xx,
    health_and_readiness,
    password_sign_in_opens_a_guarded_session,
    repeated_failed_sign_ins_are_slowed_down,
    evidence_and_the_audit_log_over_http,
    administration_over_http,
    a_retried_post_changes_nothing_twice,
    every_endpoint_is_isolated_and_guarded,
    nobody_gains_power_they_do_not_have,
    legal_holds_and_retention_over_http,
    connectors_over_http,
    automation_over_http,
    a_frozen_subject_refuses_record_writes,
    access_is_revoked_and_work_handed_off_over_http,
    files_are_stored_encrypted_and_stream_back,
);
