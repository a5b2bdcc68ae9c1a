//! Webhooks: Exeunt posts a CloudEvents 1.0 event (structured JSON) to a system it cannot
//! reach otherwise, signed with HMAC-SHA256, and the system answers. Revoking posts
//! `com.exeunt.access.revoke`; verifying posts `com.exeunt.access.verify`, to which the system
//! answers `{"access": "gone"}` (or `"live"`). The event id is the job's idempotency key, the
//! same on every attempt, so a receiver can drop a repeat.
//!
//! The signature header is `Exeunt-Signature: t=<unix seconds>,v1=<hex>`, the HMAC of
//! `<t>.<body>` with the connector's secret: a receiver recomputes it and refuses old `t`s.
//!
//! An SSRF guard refuses targets that resolve to loopback, private, link-local or other
//! non-public addresses unless the admin allow-listed the host, and the request goes to the
//! address that was checked (no second lookup for a rebinding DNS server to answer).

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use engine::connector::WebhookSettings;
use hmac::{Hmac, KeyInit, Mac};
use reqwest::{StatusCode, Url};
use serde::Deserialize;
use serde_json::json;
use sha2::Sha256;

use crate::{Access, Call, ConnectorError, within};

const SYSTEM: &str = "webhook";
pub const SIGNATURE_HEADER: &str = "Exeunt-Signature";
const REVOKE: &str = "com.exeunt.access.revoke";
const VERIFY: &str = "com.exeunt.access.verify";

#[derive(Deserialize)]
struct VerifyAnswer {
    access: String,
}

/// `t=…,v1=…` for `body`, signed at `t`.
pub fn signature(key: &[u8], t: u64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("t={t},v1={hex}")
}

/// The checked address to send to: the URL's host resolved, refused when it is internal and
/// not allow-listed.
async fn guarded(settings: &WebhookSettings) -> Result<(Url, String, SocketAddr), ConnectorError> {
    let url = Url::parse(&settings.url).map_err(|e| ConnectorError::Config {
        setting: "url",
        reason: format!("`{}` is not a URL: {e}", settings.url),
    })?;
    let host = url
        .host_str()
        .unwrap_or_default()
        .trim_matches(['[', ']'])
        .to_owned();
    let port = url.port_or_known_default().unwrap_or(443);
    let allowed = settings.allows_private(&host);
    let addresses: Vec<SocketAddr> = match host.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        Err(_) => within(
            SYSTEM,
            settings.timeout_secs,
            &format!("resolve {host}"),
            tokio::net::lookup_host((host.as_str(), port)),
        )
        .await?
        .collect(),
    };
    let Some(first) = addresses.first().copied() else {
        return Err(ConnectorError::Call {
            system: SYSTEM,
            reason: format!("{host} resolves to no address"),
        });
    };
    if !allowed
        && let Some(internal) = addresses
            .iter()
            .find(|a| engine::connector::is_internal(a.ip()))
    {
        return Err(ConnectorError::Config {
            setting: "url",
            reason: engine::connector::internal_target_refusal(&host, internal.ip()),
        });
    }
    Ok((url, host, first))
}

/// One CloudEvent to send.
pub struct Event<'a> {
    pub event_type: &'a str,
    /// The same for every attempt at the same event: receivers drop repeats by it.
    pub id: &'a str,
    pub subject: &'a str,
    pub data: serde_json::Value,
}

/// Posts `event` to the webhook, signed with `key`; returns the answer's status and body.
pub async fn send(
    settings: &WebhookSettings,
    key: &str,
    event: Event<'_>,
) -> Result<(StatusCode, String), ConnectorError> {
    let (url, host, address) = guarded(settings).await?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let time = jiff::Timestamp::from_second(now.as_secs() as i64).unwrap_or_default();
    let body = json!({
        "specversion": "1.0",
        "type": event.event_type,
        "source": "/exeunt",
        "id": event.id,
        "time": time.to_string(),
        "subject": event.subject,
        "datacontenttype": "application/json",
        "data": event.data,
    })
    .to_string();
    let client = crate::http_client()
        .resolve(&host, address)
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(settings.timeout_secs))
        .build()
        .map_err(|e| ConnectorError::Call {
            system: SYSTEM,
            reason: format!("cannot make an HTTP client: {e}"),
        })?;
    let request = client
        .post(url)
        .header(
            reqwest::header::CONTENT_TYPE,
            "application/cloudevents+json",
        )
        .header(
            SIGNATURE_HEADER,
            signature(key.as_bytes(), now.as_secs(), body.as_bytes()),
        )
        .header("Idempotency-Key", event.id)
        .body(body);
    let what = format!("POST {} to {}", event.event_type, settings.url);
    within(SYSTEM, settings.timeout_secs, &what, async {
        let response = request.send().await?;
        let status = response.status();
        Ok::<_, reqwest::Error>((status, response.text().await?))
    })
    .await
}

/// The access events' shape: the account's identifier as subject and data.
async fn post(
    settings: &WebhookSettings,
    key: &str,
    event_type: &str,
    id: &str,
    access: Access<'_>,
) -> Result<(StatusCode, String), ConnectorError> {
    let event = Event {
        event_type,
        id,
        subject: access.identifier,
        data: json!({"identifier": access.identifier}),
    };
    send(settings, key, event).await
}

/// The answer's body when its status is a success; refused otherwise.
pub fn accepted(
    event_type: &str,
    (status, body): (StatusCode, String),
) -> Result<String, ConnectorError> {
    if status.is_success() {
        Ok(body)
    } else {
        Err(refused(event_type, status, &body))
    }
}

fn refused(event_type: &str, status: StatusCode, body: &str) -> ConnectorError {
    ConnectorError::Call {
        system: SYSTEM,
        reason: format!(
            "{event_type}: answered {status}: {}",
            body.chars().take(200).collect::<String>()
        ),
    }
}

pub(crate) async fn revoke(
    settings: &WebhookSettings,
    key: &str,
    access: Access<'_>,
) -> Result<Vec<Call>, ConnectorError> {
    let id = format!("{}:revoke", access.idempotency_key);
    let (status, body) = post(settings, key, REVOKE, &id, access).await?;
    accepted(REVOKE, (status, body))?;
    Ok(vec![Call {
        call: format!("POST {REVOKE} (id {id}) to {}", settings.url),
        answer: status.to_string(),
    }])
}

pub(crate) async fn verify(
    settings: &WebhookSettings,
    key: &str,
    access: Access<'_>,
) -> Result<Vec<String>, ConnectorError> {
    let id = format!("{}:verify", access.idempotency_key);
    let body = accepted(VERIFY, post(settings, key, VERIFY, &id, access).await?)?;
    let answer: VerifyAnswer = serde_json::from_str(&body).map_err(|e| ConnectorError::Call {
        system: SYSTEM,
        reason: format!(
            "{VERIFY}: expected {{\"access\": \"gone\"}} or \"live\", got `{body}`: {e}"
        ),
    })?;
    match answer.access.as_str() {
        "gone" => Ok(vec![format!(
            "{} answered that the access of {} is gone",
            settings.url, access.identifier
        )]),
        other => Err(ConnectorError::StillLive {
            system: SYSTEM,
            what: format!("{} answered access = {other}", settings.url),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_addresses_are_recognized() {
        use engine::connector::is_internal;
        for internal in [
            "127.0.0.1",
            "10.1.2.3",
            "192.168.0.1",
            "169.254.169.254",
            "100.64.0.1",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "0.0.0.0",
        ] {
            assert!(is_internal(internal.parse().unwrap()), "{internal}");
        }
        for public in ["93.184.216.34", "2606:2800:220:1::1", "100.128.0.1"] {
            assert!(!is_internal(public.parse().unwrap()), "{public}");
        }
    }

    #[test]
    fn the_signature_covers_time_and_body() {
        let a = signature(b"k", 1, b"{}");
        assert!(a.starts_with("t=1,v1="));
        assert_ne!(a, signature(b"k", 2, b"{}"));
        assert_ne!(a, signature(b"k", 1, b"{ }"));
        assert_ne!(a, signature(b"j", 1, b"{}"));
    }
}
