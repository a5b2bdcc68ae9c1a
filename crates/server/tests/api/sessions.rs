//! Signing in with a password: a session cookie guarded against cross-site writes, a
//! password change that ends the other sessions, signing out, and repeated failed sign-ins
//! slowed down.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use testkit::TestDb;

use crate::harness::{PASSWORD, Server, problem, subject_with_case};

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

/// The budget of failed sign-ins is the database's, not a server's: failures spread over two
/// servers of one database spend one account's budget, and a success gives it back.
async fn repeated_failed_sign_ins_are_slowed_down(db: TestDb) {
    let (server, [a]) = Server::with_tenants(db, ["a"]).await;
    let other = server.beside().await;
    let owner = format!("owner@{}.example", a.slug);
    let guess = |server| sign_in(server, &a.slug, &owner, "guess guess guess");
    for _ in 0..2 {
        assert_eq!(guess(&server).await.0, StatusCode::UNPROCESSABLE_ENTITY);
    }
    assert_eq!(
        sign_in(&other, &a.slug, &owner, PASSWORD).await.0,
        StatusCode::OK,
        "a success on the other server gives the account its budget back"
    );
    for i in 0..app::FAILURES_PER_ACCOUNT {
        let on = if i % 2 == 0 { &server } else { &other };
        assert_eq!(guess(on).await.0, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let (status, _, _, response) = sign_in(&other, &a.slug, &owner, PASSWORD).await;
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

/// The link in `page` that has `rel`, as a path.
fn link(page: &str, rel: &str) -> Option<String> {
    let at = page.find(&format!("rel=\"{rel}\""))?;
    let start = page[..at].rfind("href=\"")? + "href=\"".len();
    let end = start + page[start..].find('"')?;
    Some(page[start..end].replace("&amp;", "&").replace("&#38;", "&"))
}

/// The Offboarding Center's case and subject lists page by cursor: the next page reads on
/// from the last row shown, the first page is a link away, and a cursor naming nothing is
/// refused as the API refuses it.
async fn the_lists_page_by_cursor(db: TestDb) {
    let (server, [a]) = Server::with_tenants(db, ["a"]).await;
    for i in 1..=51 {
        let client = json!({"key": format!("client-{i:02}"), "kind": "client", "name": format!("Client {i}")});
        subject_with_case(&server, &a.owner, client, "2026-12-31").await;
    }
    let owner = format!("owner@{}.example", a.slug);
    let (_, cookie, _, _) = sign_in(&server, &a.slug, &owner, PASSWORD).await;
    let page = |path: String| {
        let cookie = cookie.clone();
        let server = &server;
        async move {
            let (status, body) =
                with_session(server, Method::GET, &path, &cookie, None, None).await;
            (status, body.as_str().unwrap_or_default().to_owned())
        }
    };

    let (status, first) = page("/cases".into()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(first.contains("/cases/51\"") && !first.contains("/cases/1\""));
    assert_eq!(
        link(&first, "first"),
        None,
        "the first page links to no first page"
    );
    let next = link(&first, "next").expect("a full page links to the next");
    assert_eq!(next, "/cases?status=&before=2");
    let (_, second) = page(next).await;
    assert!(second.contains("/cases/1\"") && !second.contains("/cases/2\""));
    assert_eq!(link(&second, "next"), None);
    assert_eq!(link(&second, "first").as_deref(), Some("/cases?status="));

    let (_, first) = page("/subjects".into()).await;
    assert!(first.contains("/subjects/client-50\"") && !first.contains("/subjects/client-51\""));
    let next = link(&first, "next").expect("a full page links to the next");
    let (_, second) = page(next).await;
    assert!(second.contains("/subjects/client-51\"") && !second.contains("/subjects/client-50\""));
    assert!(link(&second, "first").is_some());

    let (status, body) = page("/subjects?after=nobody-here".into()).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, body) = page("/cases?before=soon".into()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("before"), "{body}");
}

testkit::on_both_stores!(
    password_sign_in_opens_a_guarded_session,
    repeated_failed_sign_ins_are_slowed_down,
    the_lists_page_by_cursor,
);
