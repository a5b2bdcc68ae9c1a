//! SCIM 2.0 service providers (RFC 7644): a user is found by `userName`, then deactivated
//! (`PATCH active=false`) or deleted. Verifying reads the user back.

use std::time::Duration;

use engine::connector::{ScimDisable, ScimSettings};
use reqwest::{Client, Method, StatusCode};
use serde::Deserialize;
use serde_json::json;

use crate::{Access, Call, ConnectorError, within};

const SYSTEM: &str = "SCIM";
const MEDIA_TYPE: &str = "application/scim+json";

#[derive(Deserialize)]
struct ListResponse {
    #[serde(default, rename = "Resources")]
    resources: Vec<User>,
}

#[derive(Deserialize)]
struct User {
    id: String,
    #[serde(default = "active_by_default")]
    active: bool,
}

/// RFC 7643 leaves `active` optional; a user that does not say is taken as able to sign in.
fn active_by_default() -> bool {
    true
}

struct Provider<'a> {
    client: Client,
    settings: &'a ScimSettings,
    token: &'a str,
}

impl<'a> Provider<'a> {
    fn new(settings: &'a ScimSettings, token: &'a str) -> Result<Self, ConnectorError> {
        // No client timeout: `within` bounds each request, and says so in its error.
        let client = crate::http_client()
            .connect_timeout(Duration::from_secs(settings.timeout_secs))
            .build()
            .map_err(|e| ConnectorError::Call {
                system: SYSTEM,
                reason: format!("cannot make an HTTP client: {e}"),
            })?;
        Ok(Provider {
            client,
            settings,
            token,
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.settings.base_url.trim_end_matches('/'))
    }

    /// One request; the answer's status and body.
    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> Result<(StatusCode, String), ConnectorError> {
        let what = format!("{method} {path}");
        let mut request = self
            .client
            .request(method, self.url(path))
            .bearer_auth(self.token)
            .header(reqwest::header::ACCEPT, MEDIA_TYPE);
        if let Some(body) = body {
            request = request
                .header(reqwest::header::CONTENT_TYPE, MEDIA_TYPE)
                .body(body.to_string());
        }
        let secs = self.settings.timeout_secs;
        within(SYSTEM, secs, &what, async {
            let response = request.send().await?;
            let status = response.status();
            Ok::<_, reqwest::Error>((status, response.text().await?))
        })
        .await
    }

    /// The user named `user_name`, if the provider has one.
    async fn find(&self, user_name: &str) -> Result<(Call, Option<User>), ConnectorError> {
        let filter = format!(
            "userName eq \"{}\"",
            user_name.replace('\\', "\\\\").replace('"', "\\\"")
        );
        let path = format!("/Users?filter={}", encode_query(&filter));
        let (status, body) = self.send(Method::GET, &path, None).await?;
        if !status.is_success() {
            return Err(refused(&path, status, &body));
        }
        let list: ListResponse = serde_json::from_str(&body).map_err(|e| ConnectorError::Call {
            system: SYSTEM,
            reason: format!("GET {path}: the answer is not a SCIM list response: {e}"),
        })?;
        let user = list.resources.into_iter().next();
        let answer = match &user {
            Some(u) => format!("{status}: user {} (active: {})", u.id, u.active),
            None => format!("{status}: no such user"),
        };
        Ok((
            Call {
                call: format!("GET /Users?filter={filter}"),
                answer,
            },
            user,
        ))
    }
}

fn refused(what: &str, status: StatusCode, body: &str) -> ConnectorError {
    let detail = serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("detail").and_then(|d| d.as_str()).map(str::to_owned))
        .unwrap_or_else(|| body.chars().take(200).collect());
    ConnectorError::Call {
        system: SYSTEM,
        reason: format!("{what}: answered {status}: {detail}"),
    }
}

/// Percent-encodes a query value: everything but unreserved characters.
fn encode_query(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

pub(crate) async fn revoke(
    settings: &ScimSettings,
    token: &str,
    access: Access<'_>,
) -> Result<Vec<Call>, ConnectorError> {
    let provider = Provider::new(settings, token)?;
    let (found, user) = provider.find(access.identifier).await?;
    let mut calls = vec![found];
    let Some(user) = user else {
        return Ok(calls);
    };
    let path = format!("/Users/{}", encode_query(&user.id));
    let (method, body) = match settings.disable {
        ScimDisable::Deactivate if !user.active => return Ok(calls),
        ScimDisable::Deactivate => (
            Method::PATCH,
            Some(json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "replace", "path": "active", "value": false}],
            })),
        ),
        ScimDisable::Delete => (Method::DELETE, None),
    };
    let what = format!("{method} {path}");
    let (status, answer) = provider.send(method, &path, body).await?;
    // A user deleted meanwhile (by a retry whose answer was lost, say) is just as gone.
    if !status.is_success() && status != StatusCode::NOT_FOUND {
        return Err(refused(&what, status, &answer));
    }
    calls.push(Call {
        call: what,
        answer: status.to_string(),
    });
    Ok(calls)
}

pub(crate) async fn verify(
    settings: &ScimSettings,
    token: &str,
    access: Access<'_>,
) -> Result<Vec<String>, ConnectorError> {
    let provider = Provider::new(settings, token)?;
    let (_, user) = provider.find(access.identifier).await?;
    match user {
        None => Ok(vec![format!(
            "{} has no user named {}",
            settings.base_url, access.identifier
        )]),
        Some(u) if settings.disable == ScimDisable::Delete => Err(ConnectorError::StillLive {
            system: SYSTEM,
            what: format!("user {} ({}) still exists", u.id, access.identifier),
        }),
        Some(u) if u.active => Err(ConnectorError::StillLive {
            system: SYSTEM,
            what: format!("user {} ({}) is still active", u.id, access.identifier),
        }),
        Some(u) => Ok(vec![format!(
            "user {} ({}) reads back with active = false",
            u.id, access.identifier
        )]),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn query_values_are_percent_encoded() {
        assert_eq!(
            super::encode_query("userName eq \"a&b\""),
            "userName%20eq%20%22a%26b%22"
        );
    }
}
