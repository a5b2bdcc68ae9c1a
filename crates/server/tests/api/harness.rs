//! What every area's tests use: the server on a random port against a real database and a
//! client that speaks to it, a tenant with a token per role (and the owner's password), the
//! shape of a problem, and a tenant filled with what another tenant must never reach.

use std::sync::Arc;

use app::{Actor, App, FixedClock, Ids, MasterKey};
use engine::fields::{PersonName, TenantName, TokenName};
use engine::ids::{Email, Password, Slug};
use engine::tenant::Role;
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};
use testkit::TestDb;

pub struct Server {
    pub base: String,
    pub client: Client,
    pub db: TestDb,
}

/// A tenant on the running server, with a token per role.
pub struct Tenant {
    pub slug: String,
    pub owner: String,
    pub admin: String,
    pub manager: String,
    pub member: String,
    pub auditor: String,
}

impl Server {
    pub async fn start(db: TestDb) -> (Self, App) {
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
        // Requested exports are built by the worker, as beside `exeunt serve`.
        tokio::spawn(worker::build_exports(app.clone()));
        (
            Self {
                base,
                client: connectors::http_client().build().unwrap(),
                db,
            },
            app,
        )
    }

    /// A second server on the same database, as a second replica behind a load balancer.
    pub async fn beside(&self) -> Self {
        Self::start(self.db.share()).await.0
    }

    /// A server with a tenant of each name, made through the app.
    pub async fn with_tenants<const N: usize>(db: TestDb, names: [&str; N]) -> (Self, [Tenant; N]) {
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

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        // Every POST carries a key of its own, so that the whole suite runs the keyed path
        // (where a route that commits a write before its answer stops a debug build).
        let keyed = method == Method::POST;
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if keyed {
            request = request.header("idempotency-key", uuid::Uuid::now_v7().to_string());
        }
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

    pub async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, Some(token), Some(body)).await
    }

    /// A request whose body and answer are bytes, not JSON.
    pub async fn raw(
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
    pub async fn anonymous(
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
    pub fn stored_bytes(&self) -> Option<Vec<u8>> {
        let dir = self.db.dir()?;
        let mut all = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            all.extend(std::fs::read(entry.unwrap().path()).unwrap());
        }
        Some(all)
    }
}

pub async fn tenant(app: &App, slug: &str) -> Tenant {
    let owner: Actor = app
        .init_tenant(
            Slug::parse(slug).unwrap(),
            TenantName::parse(slug).unwrap(),
            Email::parse(&format!("owner@{slug}.example")).unwrap(),
            PersonName::parse("Owner").unwrap(),
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
                    PersonName::parse("Someone").unwrap(),
                    role,
                    &[Slug::parse("compliance").unwrap()],
                )
                .await
                .unwrap();
                Some(email)
            }
        };
        let issued = app
            .issue_token(
                &owner,
                TokenName::parse("test").unwrap(),
                role,
                user.as_ref(),
            )
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

pub const PASSWORD: &str = "correct horse battery staple";

pub fn problem(body: &Value) -> (&str, &str) {
    (
        body["type"].as_str().unwrap_or(""),
        body["detail"].as_str().unwrap_or(""),
    )
}

/// Adds `subject` (a JSON subject: key, kind, name, …) over the API and starts its case with
/// an exit on `exit_date`, asserting that both were created.
pub async fn subject_with_case(server: &Server, token: &str, subject: Value, exit_date: &str) {
    let key = subject["key"].clone();
    let (status, body) = server.post("/api/v1/subjects", token, subject).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = server
        .post(
            "/api/v1/cases",
            token,
            json!({"subject": key, "exit_date": exit_date}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

/// What tenant B holds that tenant A's calls must never reach: a subject with a record, a
/// case with an open blocker, and a blueprint of its own.
pub async fn fill(server: &Server, t: &Tenant, marker: &str) {
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
