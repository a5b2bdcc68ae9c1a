//! Settings from a TOML file (`--config FILE` or `EXEUNT_CONFIG`). A setting given as a flag or
//! in the environment wins over the file; the file wins over the defaults.
//!
//! ```toml
//! data_dir = "/var/lib/exeunt"
//! database_url = "postgres://exeunt@db/exeunt"
//! keyring = "postgres://exeunt@keys/exeunt_keyring"
//! tenant = "default"
//!
//! [serve]
//! listen = "0.0.0.0:8080"
//! secure_cookies = true
//! log_format = "json"
//! ```

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use clap::parser::ValueSource;
use clap::{ArgMatches, CommandFactory, FromArgMatches};
use serde::Deserialize;

use crate::cli::{Cli, Command, LogFormat};

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    data_dir: Option<PathBuf>,
    database_url: Option<String>,
    keyring: Option<String>,
    tenant: Option<String>,
    #[serde(default)]
    serve: ServeConfig,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ServeConfig {
    listen: Option<SocketAddr>,
    secure_cookies: Option<bool>,
    log_format: Option<String>,
}

/// Why the command line or the config file could not be used.
pub enum ParseError {
    Clap(clap::Error),
    Config(String),
}

/// Parses the command line, then fills what it left at its defaults from the config file.
pub fn parse() -> Result<Cli, ParseError> {
    let matches = Cli::command().try_get_matches().map_err(ParseError::Clap)?;
    let mut cli = Cli::from_arg_matches(&matches).map_err(ParseError::Clap)?;
    if let Some(path) = cli.config.clone() {
        apply(&mut cli, &matches, &path).map_err(ParseError::Config)?;
    }
    Ok(cli)
}

/// Whether `id` was left to its default (neither a flag nor the environment set it).
fn unset(matches: &ArgMatches, id: &str) -> bool {
    matches!(
        matches.value_source(id),
        None | Some(ValueSource::DefaultValue)
    )
}

fn apply(cli: &mut Cli, matches: &ArgMatches, path: &Path) -> Result<(), String> {
    let name = path.display();
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read config file {name}: {e}"))?;
    let file: ConfigFile = toml::from_str(&text)
        .map_err(|e| format!("config file {name}: {}", e.to_string().replace('\n', " ")))?;
    if let (Some(dir), true) = (file.data_dir, unset(matches, "data_dir")) {
        cli.data_dir = dir;
    }
    if let (Some(url), true) = (file.database_url, unset(matches, "database_url")) {
        cli.database_url = Some(url);
    }
    if let (Some(keyring), true) = (file.keyring, unset(matches, "keyring")) {
        cli.keyring = Some(keyring);
    }
    if let (Some(tenant), true) = (file.tenant, unset(matches, "tenant")) {
        cli.tenant = Some(
            tenant
                .parse()
                .map_err(|e| format!("config file {name}: tenant {e}"))?,
        );
    }
    if let (Command::Serve(args), Some(serve)) =
        (&mut cli.command, matches.subcommand_matches("serve"))
    {
        if let (Some(listen), true) = (file.serve.listen, unset(serve, "listen")) {
            args.listen = listen;
        }
        if let (Some(secure), true) = (file.serve.secure_cookies, unset(serve, "secure_cookies")) {
            args.secure_cookies = secure;
        }
        if let (Some(format), true) = (file.serve.log_format, unset(serve, "log_format")) {
            args.log_format = match format.as_str() {
                "text" => LogFormat::Text,
                "json" => LogFormat::Json,
                other => {
                    return Err(format!(
                        "config file {name}: serve.log_format `{other}`; expected text or json"
                    ));
                }
            };
        }
    }
    Ok(())
}
