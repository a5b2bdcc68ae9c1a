//! Exeunt's adapters to the systems outside it. Each one does one kind of call and reports
//! how it went in words a person can act on; deciding when to call, and what a failure
//! means for the case, is the worker's and the app's.

pub mod smtp;

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
}
