//! Administration: users, teams, blueprints and tokens, and the owner's legal holds and
//! retention.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use testkit::TestDb;

use crate::harness::{Server, fill, problem};

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

    // Newest first, a page at a time, before the last event seen.
    let seqs = |events: &Value| -> Vec<i64> {
        events
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["seq"].as_i64().unwrap())
            .collect()
    };
    let (_, oldest_first) = server.get("/api/v1/audit?limit=1000", &a.auditor).await;
    let mut all = seqs(&oldest_first);
    all.reverse();
    let (status, page) = server
        .get(
            &format!("/api/v1/audit?before={}&limit=3", i64::MAX),
            &a.auditor,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(seqs(&page), all[..3]);
    let (_, next) = server
        .get(
            &format!("/api/v1/audit?before={}&limit=3", all[2]),
            &a.auditor,
        )
        .await;
    assert_eq!(seqs(&next), all[3..6]);
    let (status, body) = server.get("/api/v1/audit?before=0", &a.auditor).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(problem(&body).1, "before must be 1 or more");
}

testkit::on_both_stores!(
    administration_over_http,
    legal_holds_and_retention_over_http,
);
