//! What each command does: open the store, resolve the actor, hand the command to its area's file.

mod audit;
mod automation;
mod blueprints;
mod cases;
mod exports;
mod governance;
mod serve;
mod shared;
mod subjects;
mod tenant;

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, anyhow, bail};
use app::{App, Ids, MasterKey};
use store::{Location, Store, redact};

use crate::certificates;
use crate::cli::{AuditCmd, BlueprintCmd, CertificateCmd, Cli, Command, ExportCmd};
use crate::output::say;
use shared::location;

pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match &cli.command {
        Command::Blueprint(BlueprintCmd::Lint { files }) => {
            return blueprints::lint(&cli, files).await;
        }
        Command::Certificate(CertificateCmd::Verify {
            file,
            key: Some(key),
        }) => return certificates::verify_offline(file, key),
        Command::Export(ExportCmd::Verify { file, receipt, key }) => {
            return certificates::verify_package(file, receipt.as_deref(), key.as_deref());
        }
        Command::Audit(AuditCmd::Verify {
            file: Some(file),
            key,
            checkpoint,
        }) => return audit::verify_file(file, key.as_deref(), checkpoint),
        Command::Bench(cmd) => return crate::bench::run(cmd).await,
        _ => {}
    }
    let location = location(&cli);
    let mut create = matches!(cli.command, Command::Init(_));
    if let Location::Sqlite(path) = &location {
        if matches!(cli.command, Command::Serve(_)) && !path.exists() {
            create = true;
        }
        if create {
            std::fs::create_dir_all(&cli.data_dir).with_context(|| {
                format!("cannot create the data dir {}", cli.data_dir.display())
            })?;
        } else if !path.exists() {
            bail!(
                "no Exeunt data in {} (run `exeunt init` first, or pass --data-dir)",
                cli.data_dir.display()
            );
        }
    }
    let store = shared::open_store(&cli, &location, create).await;
    let store = match &location {
        Location::Postgres(url) => store.with_context(|| format!("cannot use {}", redact(url)))?,
        Location::Sqlite(_) => store?,
    };
    execute(app(store, &cli)?, &cli).await
}

/// The application on `store`: with a mail server, notifications also go out by email; a
/// long command watched on a terminal draws its progress.
fn app(store: Store, cli: &Cli) -> anyhow::Result<App> {
    let mut app = App::system(store, master_key(cli)?);
    if cli.smtp_url.is_some() {
        app = app.with_email();
    }
    if crate::progress::wanted(&cli.command) {
        app = app.watched_by(crate::progress::Bar::new());
    }
    Ok(app)
}

/// The worker that runs the due jobs, with the mail server the flags name.
fn worker(app: &App, cli: &Cli) -> anyhow::Result<worker::Worker> {
    let mailer = cli
        .smtp_url
        .as_deref()
        .map(|url| connectors::smtp::Mailer::new(url, &cli.mail_from))
        .transpose()
        .map_err(|e| anyhow!("--{e}"))?;
    Ok(worker::Worker::new(
        app.clone(),
        mailer,
        cli.public_url.clone(),
    ))
}

/// The file in the data dir that holds the master key when the environment gives none.
const MASTER_KEY_FILE: &str = "master.key";

/// The master key: `EXEUNT_MASTER_KEY` (base64 of 32 bytes) when set, which is how several
/// servers of one PostgreSQL share it; otherwise the data dir's key file, made the first time
/// (readable by its owner only).
fn master_key(cli: &Cli) -> anyhow::Result<MasterKey> {
    if let Ok(text) = std::env::var("EXEUNT_MASTER_KEY") {
        return MasterKey::parse(&text).map_err(|e| anyhow!("EXEUNT_MASTER_KEY {e}"));
    }
    let path = cli.data_dir.join(MASTER_KEY_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => MasterKey::parse(&text).map_err(|e| anyhow!("{} {e}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(&cli.data_dir).with_context(|| {
                format!("cannot create the data dir {}", cli.data_dir.display())
            })?;
            let key = MasterKey::from_bytes(Ids::from_entropy().secret());
            write_private(&path, key.encode().as_bytes())
                .with_context(|| format!("cannot write the master key to {}", path.display()))?;
            Ok(key)
        }
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

/// Creates a file only its owner can read; refuses to replace one that exists.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

async fn execute(app: App, cli: &Cli) -> anyhow::Result<ExitCode> {
    if let Command::Serve(args) = &cli.command {
        let worker = worker(&app, cli)?
            .with_lease(args.job_lease)
            .with_concurrency(args.job_concurrency);
        return serve::serve(app, worker, args).await;
    }
    if let Command::Jobs(crate::cli::JobsCmd::Run) = &cli.command {
        let ran = worker(&app, cli)?.run_due().await?;
        say!("Ran {ran} job(s).");
        return Ok(ExitCode::SUCCESS);
    }
    if let Command::Init(args) = &cli.command {
        return tenant::init(&app, args).await;
    }
    let actor = app.actor(cli.tenant.as_ref(), cli.actor.as_ref()).await?;
    match &cli.command {
        Command::Init(_) | Command::Bench(_) | Command::Serve(_) => unreachable!("handled before"),
        Command::Token(cmd) => tenant::token(&app, &actor, cmd).await,
        Command::Hold(cmd) => governance::hold(&app, &actor, cmd).await,
        Command::Retention(cmd) => governance::retention(&app, &actor, cmd).await,
        Command::Key(cmd) => certificates::key(&app, &actor, cmd).await,
        Command::Export(cmd) => exports::export(&app, &actor, cmd).await,
        Command::Purge(cmd) => governance::purge(&app, &actor, cmd).await,
        Command::Jobs(cmd) => automation::jobs(&app, &actor, cmd).await,
        Command::Connector(cmd) => automation::connector(&app, &actor, cmd).await,
        Command::Webhook(cmd) => automation::webhook(&app, &actor, cmd).await,
        Command::Template(cmd) => automation::template(&app, &actor, cmd).await,
        Command::Certificate(CertificateCmd::Verify { file, .. }) => {
            certificates::verify_here(&app, file).await
        }
        Command::Blueprint(cmd) => blueprints::blueprint(&app, &actor, cmd).await,
        Command::Subject(cmd) => subjects::subject(&app, &actor, cmd).await,
        Command::Record(cmd) => subjects::record(&app, &actor, cmd).await,
        Command::User(cmd) => tenant::user(&app, &actor, cmd).await,
        Command::Case(cmd) => cases::case(&app, &actor, cmd).await,
        Command::Task(cmd) => cases::task(&app, &actor, cmd).await,
        Command::Audit(cmd) => audit::audit(&app, &actor, cmd).await,
    }
}
