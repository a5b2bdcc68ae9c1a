//! A server killed mid-write: every request sent with an `Idempotency-Key` takes effect once,
//! and its resend is answered as it was (or would have been) the first time.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use crate::harness::{Exeunt, eventually, host, http_get, try_http};

/// Clients writing at once.
const CLIENTS: usize = 8;
/// Answers the clients get before the server is killed.
const ANSWERS_BEFORE_THE_KILL: usize = 120;

/// One keyed write a client sent: where, what, and what it heard (`None`: no answer).
struct Sent {
    key: String,
    path: String,
    body: String,
    status: Option<u16>,
}

fn status_of(line: &str) -> u16 {
    line.split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// Half the clients add a note to one subject, the other half create subjects: a note sent
/// twice shows as two notes, a subject as a `409 already exists`.
fn request(client: usize, n: usize) -> (String, String, String) {
    let key = format!("c{client}-{n}");
    if client.is_multiple_of(2) {
        let body = format!(r#"{{"kind":"note","fields":{{"text":"note {key}"}}}}"#);
        (key, "/api/v1/subjects/acme/records".to_owned(), body)
    } else {
        let body = format!(r#"{{"key":"s-{key}","kind":"client","name":"Client {key}"}}"#);
        (key, "/api/v1/subjects".to_owned(), body)
    }
}

fn killed_under_concurrent_writers(e: &Exeunt) {
    e.ok(&["init"]);
    e.ok(&[
        "subject", "add", "acme", "--kind", "client", "--name", "Acme",
    ]);
    let token = e.admin_token("writer");
    let (mut server, base) = e.serve(&[]);
    let addr = host(&base).to_owned();

    let answered = Arc::new(AtomicUsize::new(0));
    let sent = Arc::new(Mutex::new(Vec::<Sent>::new()));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|client| {
            let (addr, token) = (addr.clone(), token.clone());
            let (answered, sent) = (answered.clone(), sent.clone());
            std::thread::spawn(move || {
                for n in 0.. {
                    let (key, path, body) = request(client, n);
                    let answer = try_http(
                        &addr,
                        "POST",
                        &path,
                        &token,
                        Some(&body),
                        &[("Idempotency-Key", &key)],
                    );
                    let status = answer.as_ref().ok().map(|(line, _, _)| status_of(line));
                    sent.lock().unwrap().push(Sent {
                        key,
                        path,
                        body,
                        status,
                    });
                    if status.is_none() {
                        // The server is gone: this request may or may not have run.
                        return;
                    }
                    answered.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    assert!(
        eventually(std::time::Duration::from_secs(60), || {
            answered.load(Ordering::Relaxed) >= ANSWERS_BEFORE_THE_KILL
        }),
        "the clients were answered"
    );
    server.kill().unwrap(); // SIGKILL: no shutdown, no flush.
    server.wait().unwrap();
    for client in clients {
        client.join().unwrap();
    }
    let sent = std::mem::take(&mut *sent.lock().unwrap());
    assert!(
        sent.iter()
            .all(|s| s.status.is_none_or(|status| status == 201)),
        "every answer before the kill was a success: {:?}",
        sent.iter().map(|s| (&s.key, s.status)).collect::<Vec<_>>()
    );
    let unanswered = sent.iter().filter(|s| s.status.is_none()).count();
    assert_eq!(
        unanswered, CLIENTS,
        "each client lost one request to the kill"
    );

    let (mut server, base) = e.serve(&[]);
    let addr = host(&base);
    // Every request again, with its key: those answered get their answer back, marked as
    // replayed; those cut off are answered now, once.
    for s in &sent {
        let (line, headers, body) = try_http(
            addr,
            "POST",
            &s.path,
            &token,
            Some(&s.body),
            &[("Idempotency-Key", &s.key)],
        )
        .unwrap();
        let status = status_of(&line);
        match s.status {
            Some(original) => {
                assert_eq!(
                    status, original,
                    "{} was answered again as before: {body}",
                    s.key
                );
                assert!(
                    headers.contains("idempotent-replayed: true"),
                    "{} was replayed, not run again: {headers}",
                    s.key
                );
            }
            None => assert_eq!(status, 201, "{} cut off by the kill: {body}", s.key),
        }
    }

    // Each request took effect exactly once.
    let (_, records) = http_get(addr, "/api/v1/subjects/acme/records?limit=1000", &token);
    let records: serde_json::Value = serde_json::from_str(&records).unwrap();
    let mut notes = BTreeMap::<String, usize>::new();
    for record in records.as_array().unwrap() {
        let text = record["fields"]["text"].as_str().unwrap_or_default();
        *notes.entry(text.to_owned()).or_default() += 1;
    }
    let (_, subjects) = http_get(addr, "/api/v1/subjects?limit=1000", &token);
    let subjects: serde_json::Value = serde_json::from_str(&subjects).unwrap();
    let keys: BTreeSet<String> = subjects
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["key"].as_str().map(str::to_owned))
        .collect();
    for s in &sent {
        if s.path.ends_with("/records") {
            let note = format!("note {}", s.key);
            assert_eq!(notes.get(&note), Some(&1), "{note} is stored once");
        } else {
            assert!(
                keys.contains(&format!("s-{}", s.key)),
                "s-{} is stored",
                s.key
            );
        }
    }
    let written = sent.iter().filter(|s| s.path.ends_with("/records")).count();
    assert_eq!(
        notes.values().sum::<usize>(),
        written,
        "no note but the clients'"
    );
    assert_eq!(
        keys.len(),
        1 + sent.len() - written,
        "no subject but the clients'"
    );
    server.kill().unwrap();
    server.wait().unwrap();
    assert!(e.ok(&["audit", "verify"]).contains("is intact"));
}

#[test]
fn a_server_killed_under_concurrent_writers_applies_every_keyed_request_once_on_sqlite() {
    killed_under_concurrent_writers(&Exeunt::sqlite());
}

#[tokio::test]
async fn a_server_killed_under_concurrent_writers_applies_every_keyed_request_once_on_postgres() {
    let test = "a_server_killed_under_concurrent_writers_on_postgres";
    let Some(e) = Exeunt::postgres(test).await else {
        return;
    };
    tokio::task::spawn_blocking(move || killed_under_concurrent_writers(&e))
        .await
        .unwrap();
}
