//! Exeunt's adapters to the systems outside it. Each one does one kind of call and reports
//! how it went in words a person can act on; deciding when to call, and what a failure
//! means for the case, is the worker's and the app's.
//!
//! The access connectors (`ldap`, `scim`, `postgres`, `webhook`) each remove one account's access and
//! then check, by asking the system again, that it is really gone. Removing is idempotent:
//! each step looks before it changes, so a second run after a lost acknowledgement changes
//! nothing more.

pub mod ldap;
pub mod postgres;
pub mod scim;
pub mod smtp;
pub mod webhook;

use std::future::Future;
use std::time::Duration;

use engine::connector::ConnectorSettings;

/// Why a connector could not do what it was asked.
#[derive(Debug, thiserror::Error)]
pub enum ConnectorError {
    /// The connector's settings are wrong: names the setting and what was expected.
    #[error("{setting}: {reason}")]
    Config {
        setting: &'static str,
        reason: String,
    },
    /// The other system refused, failed or did not answer in time.
    #[error("{system}: {reason}")]
    Call {
        system: &'static str,
        reason: String,
    },
    /// The calls went through, yet the system still grants the access.
    #[error("{system}: the access is not gone: {what}")]
    StillLive { system: &'static str, what: String },
}

/// One call made to a system, and its answer, as evidence.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Call {
    pub call: String,
    pub answer: String,
}

/// One account to act on.
#[derive(Clone, Copy, Debug)]
pub struct Access<'a> {
    /// Its identifier in the system: a uid, a userName, a role name.
    pub identifier: &'a str,
    /// The same on every attempt at this account, for systems that take one.
    pub idempotency_key: &'a str,
}

/// Removes `access` as `settings` say, authenticating with `secret`; returns the calls made.
pub async fn revoke(
    settings: &ConnectorSettings,
    secret: &str,
    access: Access<'_>,
) -> Result<Vec<Call>, ConnectorError> {
    match settings {
        ConnectorSettings::Ldap(s) => ldap::revoke(s, secret, access).await,
        ConnectorSettings::Scim(s) => scim::revoke(s, secret, access).await,
        ConnectorSettings::Postgres(s) => postgres::revoke(s, secret, access).await,
        ConnectorSettings::Webhook(s) => webhook::revoke(s, secret, access).await,
    }
}

/// Checks, by asking the system, that `access` is gone; returns what was checked, or
/// [`ConnectorError::StillLive`] naming what remains.
pub async fn verify(
    settings: &ConnectorSettings,
    secret: &str,
    access: Access<'_>,
) -> Result<Vec<String>, ConnectorError> {
    match settings {
        ConnectorSettings::Ldap(s) => ldap::verify(s, secret, access).await,
        ConnectorSettings::Scim(s) => scim::verify(s, secret, access).await,
        ConnectorSettings::Postgres(s) => postgres::verify(s, secret, access).await,
        ConnectorSettings::Webhook(s) => webhook::verify(s, secret, access).await,
    }
}

/// Where every HTTP client of Exeunt's starts: it makes rustls use the ring provider (the one
/// the rest of the tree uses) before reqwest looks for one, which it would otherwise panic
/// without.
pub fn http_client() -> reqwest::ClientBuilder {
    // Whoever installed a provider first wins, and that is ring too.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
}

/// Runs `call` for at most `secs` seconds; a call that takes longer fails, naming the limit.
/// `e` and every error beneath it, outermost first: an HTTP client's "error sending request"
/// says nothing of why, while its causes say "connection refused" or that a certificate
/// expired. A cause whose words its outer error already says is left out.
fn with_causes(e: &dyn std::error::Error) -> String {
    let mut said = e.to_string();
    let mut cause = e.source();
    while let Some(inner) = cause {
        let words = inner.to_string();
        if !said.contains(&words) {
            said = format!("{said}: {words}");
        }
        cause = inner.source();
    }
    said
}

async fn within<T, E: std::error::Error>(
    system: &'static str,
    secs: u64,
    what: &str,
    call: impl Future<Output = Result<T, E>>,
) -> Result<T, ConnectorError> {
    match tokio::time::timeout(Duration::from_secs(secs), call).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(ConnectorError::Call {
            system,
            reason: format!("{what}: {}", with_causes(&e)),
        }),
        Err(_) => Err(ConnectorError::Call {
            system,
            reason: format!("{what}: no answer within {secs} s"),
        }),
    }
}
