//! Connectors: how a tenant tells Exeunt to reach the systems where its people have access.
//!
//! A connector is named after the `system` of the account records it serves: an account
//! `{system: corp-ldap, identifier: jdoe}` is revoked by the connector named `corp-ldap`. This
//! module checks a connector's settings once, when they are given; the `connectors` crate
//! speaks to the systems and the app keeps the settings, with the secret sealed.

use std::fmt;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::ids::Slug;

/// The kinds of system Exeunt can revoke access in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnectorKind {
    Ldap,
    Scim,
    Postgres,
    Webhook,
}

impl ConnectorKind {
    pub const NAMES: &[&str] = &["ldap", "scim", "postgres", "webhook"];

    pub fn as_str(self) -> &'static str {
        match self {
            ConnectorKind::Ldap => "ldap",
            ConnectorKind::Scim => "scim",
            ConnectorKind::Postgres => "postgres",
            ConnectorKind::Webhook => "webhook",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "ldap" => ConnectorKind::Ldap,
            "scim" => ConnectorKind::Scim,
            "postgres" => ConnectorKind::Postgres,
            "webhook" => ConnectorKind::Webhook,
            _ => return None,
        })
    }

    /// What the connector's secret is, in words for the person giving it.
    pub fn secret_is(self) -> &'static str {
        match self {
            ConnectorKind::Ldap => "the bind DN's password",
            ConnectorKind::Scim => "the bearer token",
            ConnectorKind::Postgres => "the admin role's password (empty for trust or peer auth)",
            ConnectorKind::Webhook => {
                "the key that signs each call (HMAC-SHA256), at least 32 bytes"
            }
        }
    }
}

impl std::str::FromStr for ConnectorKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s).ok_or_else(|| {
            format!(
                "`{s}` is not a connector kind; expected one of {}",
                Self::NAMES.join(", ")
            )
        })
    }
}

impl fmt::Display for ConnectorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// What an LDAP connector does to an account once its groups are gone.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LdapDisable {
    /// Removes the password, so that no bind as the account can succeed; the entry stays.
    Lock,
    /// Locks it and moves the entry under `disabled_ou`.
    Move,
    /// Deletes the entry.
    Delete,
}

/// What a SCIM connector asks the service provider to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScimDisable {
    /// `PATCH active=false`: the user stays, unable to sign in.
    Deactivate,
    Delete,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LdapSettings {
    /// `ldap://host:port` or `ldaps://host:port`.
    pub url: String,
    /// Who Exeunt binds as to make the changes.
    pub bind_dn: String,
    /// Where the accounts are: an account's identifier is looked up below it.
    pub people_base: String,
    /// Where the groups are; memberships (`member`, `uniqueMember`, `memberUid`) below it are
    /// removed.
    pub groups_base: Option<String>,
    /// The attribute an account's identifier is the value of.
    #[serde(default = "uid")]
    pub user_attribute: String,
    #[serde(default = "lock")]
    pub disable: LdapDisable,
    /// Where `disable = "move"` puts a disabled account.
    pub disabled_ou: Option<String>,
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScimSettings {
    /// The service provider's base URL, e.g. `https://scim.example.com/v2`.
    pub base_url: String,
    #[serde(default = "deactivate")]
    pub disable: ScimDisable,
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostgresSettings {
    /// `postgres://admin@host:port/database`, without the password (that is the secret).
    pub url: String,
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
}

/// A system Exeunt tells over HTTP: it posts CloudEvents, signed with the connector's secret,
/// and asks afterwards whether the access is gone.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookSettings {
    /// `https://…` (or `http://…`) where the events go.
    pub url: String,
    /// Hosts that may be reached although they are private, loopback or link-local (an
    /// internal service the admin vouches for); every other such address is refused.
    #[serde(default)]
    pub allow_private_hosts: Vec<String>,
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
}

/// Whether an address is one a webhook may not reach unless its host is allow-listed.
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || a == 0
                || (a == 100 && (64..128).contains(&b)) // shared address space (RFC 6598)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_internal(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00 // unique local
                || (first & 0xffc0) == 0xfe80 // link-local
        }
    }
}

/// The host a URL names: after `://`, without user info, port or path; an IPv6 literal
/// without its brackets. `None` when `url` has no `://`.
pub fn url_host(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    match host.strip_prefix('[') {
        Some(v6) => v6.split_once(']').map(|(host, _)| host),
        None => host.split(':').next(),
    }
}

/// Why a webhook to `host` is refused when it reaches the internal address `ip`: said alike
/// when the settings are given and when a call finds it.
pub fn internal_target_refusal(host: &str, ip: IpAddr) -> String {
    format!(
        "{host} resolves to {ip}, an internal address; add the host to allow_private_hosts if \
         this service is meant to be reached"
    )
}

impl WebhookSettings {
    /// Whether `host` is one the admin allowed although it is internal.
    pub fn allows_private(&self, host: &str) -> bool {
        self.allow_private_hosts
            .iter()
            .any(|h| h.eq_ignore_ascii_case(host))
    }
}

/// An audit-event webhook: where the tenant's audit events go, and which of them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionSettings {
    pub url: String,
    #[serde(default)]
    pub allow_private_hosts: Vec<String>,
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
    /// `*` for every event, `case.*` for a family, or one action such as `task.completed`.
    pub events: Vec<String>,
}

impl SubscriptionSettings {
    pub fn parse(value: serde_json::Value) -> Result<Self, SettingsError> {
        let s: SubscriptionSettings = serde_json::from_value(value).map_err(|e| shape(&e))?;
        // The target is checked exactly as a webhook connector's is.
        ConnectorSettings::parse(
            ConnectorKind::Webhook,
            serde_json::to_value(s.webhook()).unwrap_or_default(),
        )?;
        if s.events.is_empty() {
            return Err(problem(
                "events",
                "is empty; expected `*`, a family such as `case.*`, or actions",
            ));
        }
        let word = |w: &str| !w.is_empty() && w.chars().all(|c| c.is_ascii_lowercase() || c == '_');
        if let Some(bad) = s.events.iter().find(|e| {
            let body = e.strip_suffix(".*").unwrap_or(e);
            *e != "*" && !body.split('.').all(word)
        }) {
            return Err(problem(
                "events",
                format!(
                    "`{bad}` is not an event pattern; expected `*`, `case.*` or an action such as `task.completed`"
                ),
            ));
        }
        Ok(s)
    }

    /// Whether events of `action` go out.
    pub fn matches(&self, action: &str) -> bool {
        self.events.iter().any(|e| match e.strip_suffix('*') {
            Some(prefix) => action.starts_with(prefix),
            None => e == action,
        })
    }

    /// The target as a webhook connector's settings, which the HTTP side takes.
    pub fn webhook(&self) -> WebhookSettings {
        WebhookSettings {
            url: self.url.clone(),
            allow_private_hosts: self.allow_private_hosts.clone(),
            timeout_secs: self.timeout_secs,
        }
    }
}

/// The shortest webhook signing key accepted, in bytes.
pub const WEBHOOK_KEY_MIN: usize = 32;

fn uid() -> String {
    "uid".to_owned()
}
fn lock() -> LdapDisable {
    LdapDisable::Lock
}
fn deactivate() -> ScimDisable {
    ScimDisable::Deactivate
}
fn default_timeout() -> u64 {
    DEFAULT_TIMEOUT_SECS
}

/// How long one call to a system may take unless the settings say otherwise.
pub const DEFAULT_TIMEOUT_SECS: u64 = 10;
/// The longest a call may be allowed: well under a job's lease.
pub const MAX_TIMEOUT_SECS: u64 = 60;

/// A connector's checked settings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum ConnectorSettings {
    Ldap(LdapSettings),
    Scim(ScimSettings),
    Postgres(PostgresSettings),
    Webhook(WebhookSettings),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {problem}", if field.is_empty() { "settings" } else { field })]
pub struct SettingsError {
    /// The setting at fault, or empty for the whole.
    pub field: String,
    pub problem: String,
}

impl SettingsError {
    /// Where the problem is among a request's fields: `settings.<setting>`, or `settings`.
    pub fn path(&self) -> String {
        match self.field.as_str() {
            "" => "settings".to_owned(),
            field => format!("settings.{field}"),
        }
    }
}

/// Settings of the wrong shape: the setting serde names (unknown or missing), else the whole.
fn shape(e: &serde_json::Error) -> SettingsError {
    let message = e.to_string();
    problem(
        crate::fields::field_named_in(&message).unwrap_or(""),
        message.clone(),
    )
}

fn problem(field: &str, problem: impl Into<String>) -> SettingsError {
    SettingsError {
        field: field.to_owned(),
        problem: problem.into(),
    }
}

impl ConnectorSettings {
    /// Checks `value` as the settings of a `kind` connector.
    pub fn parse(kind: ConnectorKind, value: serde_json::Value) -> Result<Self, SettingsError> {
        let shape = |e: serde_json::Error| shape(&e);
        let settings = match kind {
            ConnectorKind::Ldap => {
                let s: LdapSettings = serde_json::from_value(value).map_err(shape)?;
                url_with_scheme("url", &s.url, &["ldap", "ldaps"])?;
                for (field, dn) in [
                    ("bind_dn", Some(&s.bind_dn)),
                    ("people_base", Some(&s.people_base)),
                ]
                .into_iter()
                .chain([
                    ("groups_base", s.groups_base.as_ref()),
                    ("disabled_ou", s.disabled_ou.as_ref()),
                ]) {
                    if let Some(dn) = dn {
                        distinguished_name(field, dn)?;
                    }
                }
                if s.user_attribute.is_empty()
                    || !s
                        .user_attribute
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-')
                {
                    return Err(problem(
                        "user_attribute",
                        "expected an attribute name such as uid",
                    ));
                }
                if s.disable == LdapDisable::Move && s.disabled_ou.is_none() {
                    return Err(problem(
                        "disabled_ou",
                        "disable = \"move\" needs the DN of the OU to move accounts to",
                    ));
                }
                ConnectorSettings::Ldap(s)
            }
            ConnectorKind::Scim => {
                let s: ScimSettings = serde_json::from_value(value).map_err(shape)?;
                url_with_scheme("base_url", &s.base_url, &["http", "https"])?;
                ConnectorSettings::Scim(s)
            }
            ConnectorKind::Postgres => {
                let s: PostgresSettings = serde_json::from_value(value).map_err(shape)?;
                // Checked before anything quotes the URL back, so no error repeats a password.
                let authority = s.url.split_once("://").map_or("", |(_, rest)| rest);
                let userinfo = authority.split(['/', '?']).next().unwrap_or("");
                if userinfo
                    .rsplit_once('@')
                    .is_some_and(|(user, _)| user.contains(':'))
                {
                    return Err(problem(
                        "url",
                        "holds a password; give the password as the connector's secret instead",
                    ));
                }
                url_with_scheme("url", &s.url, &["postgres", "postgresql"])?;
                ConnectorSettings::Postgres(s)
            }
            ConnectorKind::Webhook => {
                let s: WebhookSettings = serde_json::from_value(value).map_err(shape)?;
                url_with_scheme("url", &s.url, &["https", "http"])?;
                if let Some(bad) = s
                    .allow_private_hosts
                    .iter()
                    .find(|h| h.is_empty() || h.contains(['/', ' ', '@']))
                {
                    return Err(problem(
                        "allow_private_hosts",
                        format!(
                            "`{bad}` is not a host; expected names or addresses such as hr.internal or 10.0.0.5"
                        ),
                    ));
                }
                ConnectorSettings::Webhook(s)
            }
        };
        let timeout = settings.timeout_secs();
        if timeout == 0 || timeout > MAX_TIMEOUT_SECS {
            return Err(problem(
                "timeout_secs",
                format!("{timeout} is out of range; expected 1 to {MAX_TIMEOUT_SECS} seconds"),
            ));
        }
        Ok(settings)
    }

    pub fn kind(&self) -> ConnectorKind {
        match self {
            ConnectorSettings::Ldap(_) => ConnectorKind::Ldap,
            ConnectorSettings::Scim(_) => ConnectorKind::Scim,
            ConnectorSettings::Postgres(_) => ConnectorKind::Postgres,
            ConnectorSettings::Webhook(_) => ConnectorKind::Webhook,
        }
    }

    pub fn timeout_secs(&self) -> u64 {
        match self {
            ConnectorSettings::Ldap(s) => s.timeout_secs,
            ConnectorSettings::Scim(s) => s.timeout_secs,
            ConnectorSettings::Postgres(s) => s.timeout_secs,
            ConnectorSettings::Webhook(s) => s.timeout_secs,
        }
    }

    /// Where the connector points, for listings: no secret is ever part of it.
    pub fn target(&self) -> &str {
        match self {
            ConnectorSettings::Ldap(s) => &s.url,
            ConnectorSettings::Scim(s) => &s.base_url,
            ConnectorSettings::Postgres(s) => &s.url,
            ConnectorSettings::Webhook(s) => &s.url,
        }
    }
}

fn url_with_scheme(field: &str, url: &str, schemes: &[&str]) -> Result<(), SettingsError> {
    let expected = || {
        let list: Vec<String> = schemes.iter().map(|s| format!("{s}://")).collect();
        format!("expected a URL starting with {}", list.join(" or "))
    };
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| problem(field, format!("`{url}` is not a URL; {}", expected())))?;
    if !schemes.contains(&scheme) {
        return Err(problem(field, format!("`{url}`: {}", expected())));
    }
    let host = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
    if host.is_empty() || host.starts_with(['/', ':']) || url.chars().any(char::is_whitespace) {
        return Err(problem(
            field,
            format!("`{url}` names no host; {}", expected()),
        ));
    }
    Ok(())
}

/// A DN as people write them: `attr=value` parts separated by commas.
fn distinguished_name(field: &str, dn: &str) -> Result<(), SettingsError> {
    let ok = !dn.trim().is_empty()
        && dn.split(',').all(|rdn| {
            rdn.split_once('=')
                .is_some_and(|(a, v)| !a.trim().is_empty() && !v.trim().is_empty())
        });
    if ok {
        Ok(())
    } else {
        Err(problem(
            field,
            format!(
                "`{dn}` is not a DN; expected attr=value parts such as ou=people,dc=example,dc=com"
            ),
        ))
    }
}

/// A connector as the tenant configured it (its secret is kept apart, sealed).
#[derive(Clone, Debug, Serialize)]
pub struct Connector {
    /// The `system` of the account records it serves.
    pub name: Slug,
    pub kind: ConnectorKind,
    pub settings: ConnectorSettings,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn subscriptions_choose_events_by_pattern() {
        let s = SubscriptionSettings::parse(
            json!({"url": "https://hooks.example/x", "events": ["case.*", "task.completed"]}),
        )
        .unwrap();
        assert!(s.matches("case.started") && s.matches("task.completed"));
        assert!(!s.matches("task.assigned") && !s.matches("cases.x"));
        let bad = SubscriptionSettings::parse(
            json!({"url": "https://hooks.example/x", "events": ["Case started"]}),
        )
        .unwrap_err();
        assert_eq!(bad.field, "events");
        let bad =
            SubscriptionSettings::parse(json!({"url": "ftp://x", "events": ["*"]})).unwrap_err();
        assert_eq!(bad.field, "url");
    }

    #[test]
    fn settings_name_the_field_at_fault() {
        let ldap = |v| {
            ConnectorSettings::parse(ConnectorKind::Ldap, v)
                .unwrap_err()
                .to_string()
        };
        let base = json!({"url": "ldap://127.0.0.1:389", "bind_dn": "cn=admin,dc=x", "people_base": "ou=people,dc=x"});
        assert!(ConnectorSettings::parse(ConnectorKind::Ldap, base.clone()).is_ok());
        let mut bad = base.clone();
        bad["url"] = json!("http://x");
        assert!(ldap(bad).starts_with("url: "));
        let mut bad = base.clone();
        bad["people_base"] = json!("people");
        assert!(ldap(bad).starts_with("people_base: "));
        let mut bad = base.clone();
        bad["disable"] = json!("move");
        assert!(ldap(bad).starts_with("disabled_ou: "));
        let mut bad = base.clone();
        bad["colour"] = json!("red");
        assert!(ldap(bad).contains("unknown field `colour`"));
        let mut bad = base;
        bad["timeout_secs"] = json!(0);
        assert!(ldap(bad).starts_with("timeout_secs: "));
        let err = ConnectorSettings::parse(
            ConnectorKind::Postgres,
            json!({"url": "postgres://admin:hunter2@db/app"}),
        )
        .unwrap_err();
        assert_eq!(err.field, "url");
        assert!(!err.to_string().contains("hunter2"), "{err}");
    }

    #[test]
    fn a_url_names_its_host() {
        for (url, host) in [
            (
                "https://hooks.example.com/exeunt",
                Some("hooks.example.com"),
            ),
            ("http://user:pw@10.0.0.7:8080/x?y", Some("10.0.0.7")),
            ("https://[fd00::1]:443/hook", Some("fd00::1")),
            ("hooks.example.com", None),
        ] {
            assert_eq!(url_host(url), host, "{url}");
        }
    }
}
