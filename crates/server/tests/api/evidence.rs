//! What a case keeps as proof: evidence and the audit log, and files stored encrypted and
//! streamed back.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use testkit::TestDb;

use crate::harness::Server;

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
            "/api/v1/subjects/acme/records/1/file?file_name=MSA%20M%C3%BCller%20%22final%22.pdf",
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
    // The name comes back whole for clients that read RFC 6266's `filename*`, and as an
    // ASCII stand-in for those that do not.
    assert_eq!(
        headers["content-disposition"],
        "attachment; filename=\"MSA M_ller _final_.pdf\"; \
         filename*=UTF-8''MSA%20M%C3%BCller%20%22final%22.pdf"
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
        (
            "/api/v1/subjects/acme/records/1/file?file_name=..",
            "file_name",
        ),
        (
            "/api/v1/subjects/acme/records/1/file?file_name=.",
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
    evidence_and_the_audit_log_over_http,
    files_are_stored_encrypted_and_stream_back,
);
