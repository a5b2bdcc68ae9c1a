//! Offboarding cases over HTTP: a party offboarded from start to certificate, a frozen
//! subject's records, and access revoked and work handed off (the export, the departing
//! client's link, the close).

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use testkit::TestDb;

use crate::harness::{Server, problem, subject_with_case};

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
    // It carries a signed checkpoint of the audit chain, which the API lists too.
    let checkpoint = verified.claims["audit_checkpoint"].as_str().unwrap();
    let vouched = crypto::jose::verify::<serde_json::Value>(checkpoint, &keys).unwrap();
    assert_eq!(
        vouched.claims["seq"], verified.claims["audit_head"]["seq"],
        "{}",
        vouched.claims
    );
    let (status, listed) = server.get("/api/v1/audit/checkpoints", &a.auditor).await;
    assert_eq!(status, StatusCode::OK, "{listed}");
    assert_eq!(listed[0]["token"].as_str(), Some(checkpoint), "{listed}");
    let (status, body) = server.get("/api/v1/audit/verify", &a.auditor).await;
    assert_eq!(
        (status, body["intact"].as_bool()),
        (StatusCode::OK, Some(true)),
        "{body}"
    );
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
    // The size as a person reads it: "10.9 KB" (or "512 bytes"), never a bare count.
    let size = |page: &str, label: &str| -> String {
        let at = page.find(&format!("{label}</dt><dd>")).unwrap() + label.len() + 9;
        page[at..at + page[at..].find("</dd>").unwrap()].to_owned()
    };
    let english = size(&page, "Size");
    assert!(
        (english.ends_with(" KB") && english.contains('.')) || english.ends_with(" bytes"),
        "{english}"
    );
    assert!(!page.contains("BagIt bag"), "{page}");
    // A reader whose browser asks for German reads it in German.
    let german = server
        .client
        .get(format!("{}{page_path}", server.base))
        .header("accept-language", "de-DE,de;q=0.9,en;q=0.5")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(german.contains("<html lang=\"de\">"), "{german}");
    assert!(german.contains("Empfang bestätigen"), "{german}");
    assert!(german.contains("Ich habe das Paket erhalten"), "{german}");
    assert_eq!(
        size(&german, "Größe"),
        english.replace('.', ",").replace("bytes", "Byte"),
        "the size with a decimal comma"
    );
    assert!(!german.contains("I received the package"), "{german}");
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

/// The case list pages by number: each full page names the next in its `Link` header, and
/// following the links lists every case once, newest first, whatever the filter.
async fn the_case_list_pages_by_number(db: TestDb) {
    let (server, [a]) = Server::with_tenants(db, ["a"]).await;
    for i in 1..=7 {
        let party = json!({"key": format!("p{i}"), "kind": "client", "name": format!("Party {i}"),
            "attributes": {"service_type": "client-file"}});
        subject_with_case(&server, &a.manager, party, "2099-12-31").await;
    }
    let mut next = Some("/api/v1/cases?limit=3&status=open".to_owned());
    let mut seen = Vec::new();
    let mut pages = 0;
    while let Some(path) = next.take() {
        let (status, headers, body) = server.raw(Method::GET, &path, &a.manager, None).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        let cases: Vec<Value> = serde_json::from_slice(&body).unwrap();
        seen.extend(cases.iter().map(|c| c["number"].as_i64().unwrap()));
        pages += 1;
        next = headers.get("link").map(|link| {
            let link = link.to_str().unwrap();
            let (target, rel) = link.split_once("; ").unwrap();
            assert_eq!(rel, "rel=\"next\"", "{link}");
            assert!(link.contains("status=open"), "the filter goes on: {link}");
            target.trim_matches(['<', '>']).to_owned()
        });
    }
    assert_eq!(seen, [7, 6, 5, 4, 3, 2, 1]);
    assert_eq!(
        pages, 3,
        "two full pages name the next; the third is not full"
    );
    let (status, body) = server.get("/api/v1/cases?before=0", &a.manager).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["field"], "before", "{body}");
}

/// Reads a CSV report as a spreadsheet would: it must start with a byte order mark.
fn spreadsheet(body: &[u8]) -> Vec<Vec<String>> {
    let text = std::str::from_utf8(body).unwrap();
    let text = text
        .strip_prefix('\u{feff}')
        .expect("a byte order mark tells spreadsheets it is UTF-8");
    csv::Reader::from_reader(text.as_bytes())
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect()
}

/// The case list and a case's tasks as CSV a spreadsheet opens cleanly: quoted, UTF-8, and no
/// cell it would run as a formula; filtered as the list is.
async fn the_case_list_and_tasks_download_as_csv(db: TestDb) {
    let (server, [a]) = Server::with_tenants(db, ["a"]).await;
    let names = [
        "Acme, Inc.",
        "=HYPERLINK(\"http://evil.example\",\"click\")",
        "Ünïcode GmbH",
    ];
    for (i, name) in names.iter().enumerate() {
        let client = json!({"key": format!("c{}", i + 1), "kind": "client", "name": name});
        subject_with_case(&server, &a.manager, client, "2099-12-31").await;
    }
    let (status, body) = server
        .post(
            "/api/v1/cases/2/cancel",
            &a.manager,
            json!({"reason": "Entered by mistake"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let (status, headers, body) = server
        .raw(Method::GET, "/api/v1/reports/cases.csv", &a.auditor, None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "text/csv; charset=utf-8");
    assert!(
        headers["content-disposition"]
            .to_str()
            .unwrap()
            .contains("cases.csv")
    );
    assert!(
        body.starts_with(b"\xef\xbb\xbf\"case\",\"subject\""),
        "every cell quoted"
    );
    let rows = spreadsheet(&body);
    let column = |row: &Vec<String>, name: &str| {
        let at = [
            "case",
            "subject",
            "subject name",
            "kind",
            "blueprint",
            "status",
        ]
        .iter()
        .position(|c| *c == name)
        .unwrap();
        row[at].clone()
    };
    assert_eq!(
        rows.iter().map(|r| column(r, "case")).collect::<Vec<_>>(),
        ["3", "2", "1"],
        "newest first"
    );
    assert_eq!(column(&rows[2], "subject name"), "Acme, Inc.");
    assert_eq!(
        column(&rows[1], "subject name"),
        format!("'{}", names[1]),
        "a formula is set as text"
    );
    assert_eq!(column(&rows[0], "subject name"), "Ünïcode GmbH");

    let (status, _, body) = server
        .raw(
            Method::GET,
            "/api/v1/reports/cases.csv?status=done",
            &a.auditor,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let done = spreadsheet(&body);
    assert_eq!(done.len(), 1);
    assert_eq!(column(&done[0], "case"), "2");
    let (status, body) = server
        .get("/api/v1/reports/cases.csv?status=gone", &a.auditor)
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");

    let (status, headers, body) = server
        .raw(Method::GET, "/api/v1/cases/1/tasks.csv", &a.auditor, None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        headers["content-disposition"]
            .to_str()
            .unwrap()
            .contains("case-1-tasks.csv")
    );
    let (_, case) = server.get("/api/v1/cases/1", &a.auditor).await;
    let tasks = spreadsheet(&body);
    assert_eq!(tasks.len(), case["tasks"].as_array().unwrap().len());
    assert!(tasks.iter().all(|t| t[0] == "1"));
    let (status, _) = server.get("/api/v1/cases/99/tasks.csv", &a.auditor).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// Follows a listing's `Link` headers from `first`: every row's `field`, and how many pages.
async fn follow_pages(
    server: &Server,
    first: &str,
    token: &str,
    carried: &str,
    field: &str,
) -> (Vec<String>, usize) {
    let mut next = Some(first.to_owned());
    let (mut seen, mut pages) = (Vec::new(), 0);
    while let Some(path) = next.take() {
        let (status, headers, body) = server.raw(Method::GET, &path, token, None).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        let rows: Vec<Value> = serde_json::from_slice(&body).unwrap();
        seen.extend(rows.iter().map(|r| r[field].as_str().unwrap().to_owned()));
        pages += 1;
        next = headers.get("link").map(|link| {
            let link = link.to_str().unwrap();
            assert!(link.contains(carried), "the filter goes on: {link}");
            let (target, _) = link.split_once("; ").unwrap();
            target.trim_matches(['<', '>']).to_owned()
        });
    }
    (seen, pages)
}

/// The subject list pages by key, each full page naming the next, whatever the filters; a
/// cursor that names no subject is a 404, not an empty page.
async fn the_subject_list_pages_by_key(db: TestDb) {
    let (server, [a]) = Server::with_tenants(db, ["a"]).await;
    for i in 1..=5 {
        for kind in ["client", "employee"] {
            let (status, body) = server
                .post(
                    "/api/v1/subjects",
                    &a.manager,
                    json!({"key": format!("{kind}-{i}"), "kind": kind,
                        "name": format!("Acme {kind} {i}")}),
                )
                .await;
            assert_eq!(status, StatusCode::CREATED, "{body}");
        }
    }
    let (keys, pages) = follow_pages(
        &server,
        "/api/v1/subjects?limit=2&kind=employee&search=acme",
        &a.manager,
        "kind=employee",
        "key",
    )
    .await;
    assert_eq!(
        keys,
        [
            "employee-1",
            "employee-2",
            "employee-3",
            "employee-4",
            "employee-5"
        ]
    );
    assert_eq!(pages, 3);
    let (keys, _) = follow_pages(&server, "/api/v1/subjects?limit=3", &a.manager, "", "key").await;
    assert_eq!(
        keys.len(),
        10,
        "every subject once, clients first: {keys:?}"
    );
    assert_eq!(keys[4..6], ["client-5", "employee-1"]);
    let (status, body) = server
        .get("/api/v1/subjects?after=nobody", &a.manager)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, body) = server
        .get("/api/v1/subjects?after=Not%20a%20key", &a.manager)
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["field"], "after", "{body}");
    let (status, body) = server
        .get("/api/v1/jobs?before=not-an-id", &a.manager)
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["field"], "before", "{body}");
    let (status, body) = server
        .get(
            "/api/v1/jobs?before=0190f0f0-0000-7000-8000-000000000001",
            &a.manager,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
}

/// A subject's page carries its first records and says whether there are more; its records
/// list a page at a time, each naming the next, until every record was listed once.
async fn a_subjects_records_page_by_number(db: TestDb) {
    let (server, [a]) = Server::with_tenants(db, ["a"]).await;
    let (status, body) = server
        .post(
            "/api/v1/subjects",
            &a.manager,
            json!({"key": "busy", "kind": "client", "name": "Busy Client"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let records = app::RECORDS_ON_A_PAGE + 3;
    for i in 1..=records {
        let (status, body) = server
            .post(
                "/api/v1/subjects/busy/records",
                &a.manager,
                json!({"kind": "note", "fields": {"text": format!("Note {i}")}}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let (status, page) = server.get("/api/v1/subjects/busy", &a.manager).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(
        page["records"].as_array().unwrap().len() as i64,
        app::RECORDS_ON_A_PAGE
    );
    assert_eq!(page["more_records"], true);

    let mut next = Some("/api/v1/subjects/busy/records?limit=40".to_owned());
    let mut seen = Vec::new();
    while let Some(path) = next.take() {
        let (status, headers, body) = server.raw(Method::GET, &path, &a.manager, None).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        let listed: Vec<Value> = serde_json::from_slice(&body).unwrap();
        seen.extend(listed.iter().map(|r| r["number"].as_i64().unwrap()));
        next = headers.get("link").map(|link| {
            let (target, _) = link.to_str().unwrap().split_once("; ").unwrap();
            target.trim_matches(['<', '>']).to_owned()
        });
    }
    assert_eq!(seen, (1..=records).collect::<Vec<_>>());
    let (status, body) = server
        .get("/api/v1/subjects/nobody/records", &a.manager)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
}

/// The dry run names the tasks of the case's owner for the owner chosen, as the case that
/// starts gives them; a read-only auditor can own no case and take no task, and each refusal
/// says why.
async fn the_plan_is_the_case_its_owner_starts(db: TestDb) {
    let (server, [a]) = Server::with_tenants(db, ["a"]).await;
    let (status, body) = server
        .post(
            "/api/v1/subjects",
            &a.owner,
            json!({"key": "c", "kind": "client", "name": "C"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let manager = format!("manager@{}.example", a.slug);
    let auditor = format!("auditor@{}.example", a.slug);
    let owners = |tasks: &Value| -> Vec<(String, String)> {
        let mut owners: Vec<(String, String)> = tasks
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                let field = |k: &str| t[k].as_str().unwrap().to_owned();
                (field("id"), field("owner_label"))
            })
            .collect();
        owners.sort();
        owners
    };
    let (status, plan) = server
        .post(
            "/api/v1/blueprints/client-standard/plan",
            &a.owner,
            json!({"subject": "c", "exit_date": "2026-12-31", "owner": manager}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{plan}");
    let planned = owners(&plan["tasks"]);
    assert!(
        planned.iter().any(|(_, owner)| *owner == manager),
        "the owner's tasks are the manager's: {planned:?}"
    );
    assert!(!planned.iter().any(|(_, owner)| owner.starts_with("owner@")));

    for (path, body, field) in [
        (
            "/api/v1/blueprints/client-standard/plan",
            json!({"subject": "c", "exit_date": "2026-12-31", "owner": auditor}),
            "owner",
        ),
        (
            "/api/v1/cases",
            json!({"subject": "c", "exit_date": "2026-12-31", "owner": auditor}),
            "owner",
        ),
    ] {
        let (status, body) = server.post(path, &a.owner, body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        let detail = problem(&body).1;
        assert!(detail.contains("only reads"), "{detail}");
        assert!(body.to_string().contains(field), "{body}");
    }

    let (status, started) = server
        .post(
            "/api/v1/cases",
            &a.owner,
            json!({"subject": "c", "exit_date": "2026-12-31", "owner": manager}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{started}");
    let (status, case) = server.get("/api/v1/cases/1", &a.owner).await;
    assert_eq!(status, StatusCode::OK, "{case}");
    assert_eq!(owners(&case["tasks"]), planned, "the case is the plan");

    let (status, body) = server
        .post(
            "/api/v1/cases/1/tasks/freeze-records/assign",
            &a.owner,
            json!({"assignee": auditor}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(problem(&body).1.contains("only reads"), "{body}");
}

testkit::on_both_stores!(
    a_party_is_offboarded_over_http,
    a_subjects_records_page_by_number,
    the_case_list_pages_by_number,
    the_subject_list_pages_by_key,
    a_frozen_subject_refuses_record_writes,
    access_is_revoked_and_work_handed_off_over_http,
    the_plan_is_the_case_its_owner_starts,
    the_case_list_and_tasks_download_as_csv,
);
