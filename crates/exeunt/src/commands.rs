//! What each command does: open the store, resolve the actor, call the use case, print.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, anyhow, bail};
use app::{
    Actor, App, AppError, BlueprintChoice, Download, EvidenceContent, Ids, MasterKey, NewSubject,
    StartCase, Upload,
};
use engine::audit::to_hex;
use engine::blueprint::{LintContext, parse};
use engine::case::{CaseStatus, FindingStatus};
use engine::ids::{EvidenceId, Slug, SubjectKey, Text};
use engine::subject::{Attributes, RecordFields, Subject, SubjectKind};
use engine::teams::default_team_slugs;
use store::{CaseFilter, Location, Store, SubjectFilter, TaskFilter, redact};

use crate::certificates;
use crate::cli::{
    AuditCmd, BlueprintCmd, CaseCmd, CertificateCmd, Cli, Command, ExportCmd, PurgeCmd, RecordCmd,
    SubjectCmd, TaskCmd, UserCmd,
};
use crate::output::{json, listing, local, note_reader_gone, say, table, write_out};

pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match &cli.command {
        Command::Blueprint(BlueprintCmd::Lint { files }) => return lint(&cli, files).await,
        Command::Certificate(CertificateCmd::Verify {
            file,
            key: Some(key),
        }) => return certificates::verify_offline(file, key),
        Command::Export(ExportCmd::Verify { file, receipt, key }) => {
            return certificates::verify_package(file, receipt.as_deref(), key.as_deref());
        }
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
    let store = Store::open(&location, create).await;
    let store = match &location {
        Location::Postgres(url) => store.with_context(|| format!("cannot use {}", redact(url)))?,
        Location::Sqlite(_) => store?,
    };
    execute(app(store, &cli)?, &cli).await
}

/// The application on `store`: with a mail server, notifications also go out by email.
fn app(store: Store, cli: &Cli) -> anyhow::Result<App> {
    let app = App::system(store, master_key(cli)?);
    Ok(if cli.smtp_url.is_some() {
        app.with_email()
    } else {
        app
    })
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

fn location(cli: &Cli) -> Location {
    Location::choose(cli.database_url.as_deref(), &cli.data_dir)
}

async fn execute(app: App, cli: &Cli) -> anyhow::Result<ExitCode> {
    if let Command::Serve(args) = &cli.command {
        let worker = worker(&app, cli)?
            .with_lease(args.job_lease)
            .with_concurrency(args.job_concurrency);
        return serve(app, worker, args).await;
    }
    if let Command::Jobs(crate::cli::JobsCmd::Run) = &cli.command {
        let ran = worker(&app, cli)?.run_due().await?;
        say!("Ran {ran} job(s).");
        return Ok(ExitCode::SUCCESS);
    }
    if let Command::Init(args) = &cli.command {
        let name = Text::line(&args.org, 200).map_err(|e| anyhow!("--org {e}"))?;
        let owner_name =
            Text::line(&args.owner_name, 200).map_err(|e| anyhow!("--owner-name {e}"))?;
        let mut actor = app
            .init_tenant(
                args.slug.clone(),
                name,
                args.owner_email.clone(),
                owner_name,
            )
            .await?;
        if let Some(zone) = &args.time_zone {
            let tenant = app.set_tenant_time_zone(&actor, zone.clone()).await?;
            let user = app.set_time_zone(&actor, zone.clone()).await?;
            actor = Actor { tenant, user };
        }
        let teams: Vec<String> = app
            .teams(&actor)
            .await?
            .into_iter()
            .map(|t| t.slug.to_string())
            .collect();
        say!(
            "Initialized Exeunt ({}) for tenant `{}` ({}).",
            app.store().backend(),
            actor.tenant.slug,
            actor.tenant.name
        );
        say!(
            "Owner: {}. Teams: {}. Time zone: {}.",
            actor.user.email,
            teams.join(", "),
            actor.tenant.time_zone
        );
        say!("Next: exeunt subject add acme --kind client --name \"Acme Ltd\"");
        return Ok(ExitCode::SUCCESS);
    }
    let actor = app.actor(cli.tenant.as_ref(), cli.actor.as_ref()).await?;
    match &cli.command {
        Command::Init(_) | Command::Bench(_) | Command::Serve(_) => unreachable!("handled before"),
        Command::Token(cmd) => token(&app, &actor, cmd).await,
        Command::Hold(cmd) => hold(&app, &actor, cmd).await,
        Command::Retention(cmd) => retention(&app, &actor, cmd).await,
        Command::Key(cmd) => certificates::key(&app, &actor, cmd).await,
        Command::Export(cmd) => export(&app, &actor, cmd).await,
        Command::Purge(cmd) => purge(&app, &actor, cmd).await,
        Command::Jobs(cmd) => jobs(&app, &actor, cmd).await,
        Command::Connector(cmd) => connector(&app, &actor, cmd).await,
        Command::Webhook(cmd) => webhook(&app, &actor, cmd).await,
        Command::Template(cmd) => template(&app, &actor, cmd).await,
        Command::Certificate(CertificateCmd::Verify { file, .. }) => {
            certificates::verify_here(&app, file).await
        }
        Command::Blueprint(cmd) => blueprint(&app, &actor, cmd).await,
        Command::Subject(cmd) => subject(&app, &actor, cmd).await,
        Command::Record(cmd) => record(&app, &actor, cmd).await,
        Command::User(cmd) => user(&app, &actor, cmd).await,
        Command::Case(cmd) => case(&app, &actor, cmd).await,
        Command::Task(cmd) => task(&app, &actor, cmd).await,
        Command::Audit(cmd) => audit(&app, &actor, cmd).await,
    }
}

async fn serve(
    app: App,
    worker: worker::Worker,
    args: &crate::cli::ServeArgs,
) -> anyhow::Result<ExitCode> {
    init_logging(args.log_format);
    let mut tenants = app.tenant_slugs().await?;
    if args.demo && !tenants.iter().any(|t| t.as_str() == "demo") {
        let logins = app.load_demo().await?;
        say!("Loaded the demo tenant `demo`. Sign in as any of (passwords shown once):");
        for login in &logins {
            say!(
                "  {:<24} {:<8} {}",
                login.email,
                login.role,
                login.password.expose()
            );
        }
    } else if tenants.is_empty() {
        // A fresh data dir: set up a tenant and hand its owner a way in, once.
        let actor = app
            .init_tenant(
                Slug::parse("default")?,
                Text::line("My firm", 200)?,
                engine::ids::Email::parse("owner@example.com")?,
                Text::line("Owner", 200)?,
            )
            .await?;
        let issued = app
            .issue_token(
                &actor,
                Text::line("first sign-in", 200)?,
                engine::tenant::Role::Owner,
                None,
            )
            .await?;
        say!(
            "Initialized a new Exeunt tenant `{}` with owner {}.",
            actor.tenant.slug,
            actor.user.email
        );
        say!(
            "Owner API token (shown once, keep it safe): {}",
            issued.secret
        );
        say!(
            "Try: curl -H 'Authorization: Bearer {}' http://{}/api/v1/cases",
            issued.secret,
            args.listen
        );
    }
    tenants = app.tenant_slugs().await?;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let shutdown = shutdown_signal()?;
    // An owner without a password signs in for the first time through the first-run page,
    // with a code that only whoever started this server has seen.
    let first_run_code = if app.tenants_awaiting_owner().await?.is_empty() {
        None
    } else {
        let code = engine::audit::to_hex(&app::Ids::from_entropy().secret()[..10]);
        say!(
            "Set the owner's password at http://{}/first-run?code={code} (the code works until this server stops)",
            listener.local_addr()?
        );
        Some(code)
    };
    let names: Vec<String> = tenants.iter().map(ToString::to_string).collect();
    say!(
        "Exeunt serves {} on http://{} ({}). Stop with Ctrl-C.",
        names.join(", "),
        listener.local_addr()?,
        app.store().backend()
    );
    let options = server::ServerOptions {
        secure_cookies: args.secure_cookies,
        first_run_code,
    };
    // A job cut short by the stop is taken over by the next worker once its lease ends.
    let jobs = tokio::spawn(worker.run());
    server::serve(app, options, listener, shutdown)
        .await
        .context("the server stopped")?;
    jobs.abort();
    say!("Stopped.");
    Ok(ExitCode::SUCCESS)
}

/// Logs to standard error, as text or JSON lines, filtered by `EXEUNT_LOG`.
fn init_logging(format: crate::cli::LogFormat) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("EXEUNT_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        crate::cli::LogFormat::Text => builder.try_init(),
        crate::cli::LogFormat::Json => builder.json().try_init(),
    };
}

/// A future that completes on Ctrl-C or SIGTERM, whichever comes first. The handlers are
/// installed now, before the server says it serves: a signal sent as soon as it has said so
/// must stop it gracefully, not kill it.
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt()).context("cannot handle SIGINT")?;
    let mut terminate = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
    })
}

async fn token(app: &App, actor: &Actor, cmd: &crate::cli::TokenCmd) -> anyhow::Result<ExitCode> {
    use crate::cli::TokenCmd;
    match cmd {
        TokenCmd::Create { name, role, user } => {
            let name = Text::line(name, 200).map_err(|e| anyhow!("--name {e}"))?;
            let issued = app.issue_token(actor, name, *role, user.as_ref()).await?;
            say!(
                "Token {} ({}) issued. Its secret, shown this once:",
                issued.token.id,
                issued.token.role
            );
            say!("{}", issued.secret);
        }
        TokenCmd::List(flag) => {
            let tokens = app.tokens(actor).await?;
            listing(flag.json, &tokens, &["ID", "NAME", "ROLE", "STATE"], |t| {
                let state = if t.revoked_at.is_some() {
                    "revoked"
                } else {
                    "live"
                };
                vec![
                    t.id.to_string(),
                    t.name.to_string(),
                    t.role.to_string(),
                    state.to_owned(),
                ]
            })?;
        }
        TokenCmd::Revoke { id } => {
            app.revoke_token(actor, engine::ids::TokenId(*id)).await?;
            say!("Revoked token {id}.");
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn hold(app: &App, actor: &Actor, cmd: &crate::cli::HoldCmd) -> anyhow::Result<ExitCode> {
    use crate::cli::HoldCmd;
    let reason =
        |r: &str| Text::paragraph(r, app::HOLD_REASON_MAX).map_err(|e| anyhow!("--reason {e}"));
    match cmd {
        HoldCmd::Place { subject, reason: r } => {
            let hold = app.place_hold(actor, subject.as_ref(), reason(r)?).await?;
            let covers = subject
                .as_ref()
                .map_or_else(|| "the whole tenant".to_owned(), ToString::to_string);
            say!("Legal hold {} placed on {covers}.", hold.id);
        }
        HoldCmd::Lift { id, reason: r } => {
            app.lift_hold(actor, engine::ids::HoldId(*id), reason(r)?)
                .await?;
            say!("Lifted legal hold {id}.");
        }
        HoldCmd::List { subject, json } => {
            let holds = app.holds(actor, subject.as_ref()).await?;
            listing(
                json.json,
                &holds,
                &["ID", "COVERS", "STATE", "PLACED", "REASON"],
                |h| {
                    vec![
                        h.id.to_string(),
                        h.subject_key
                            .as_ref()
                            .map_or_else(|| "(whole tenant)".to_owned(), ToString::to_string),
                        if h.lifted.is_some() {
                            "lifted"
                        } else {
                            "standing"
                        }
                        .to_owned(),
                        h.placed_at.to_string(),
                        h.reason.clone(),
                    ]
                },
            )?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn jobs(app: &App, actor: &Actor, cmd: &crate::cli::JobsCmd) -> anyhow::Result<ExitCode> {
    use crate::cli::JobsCmd;
    match cmd {
        JobsCmd::List { status, case, json } => {
            let case = match case {
                Some(n) => Some(app.case(actor, n.0).await?.file.case.id),
                None => None,
            };
            let filter = store::JobFilter {
                status: status.map(|s| s.0),
                case,
                limit: 1000,
            };
            let jobs = app.jobs(actor, &filter).await?;
            listing(
                json.json,
                &jobs,
                &["ID", "KIND", "STATUS", "ATTEMPTS", "DUE", "LAST ERROR"],
                |j| {
                    vec![
                        j.id.to_string(),
                        j.kind.to_string(),
                        j.status.to_string(),
                        format!("{}/{}", j.attempts, j.max_attempts),
                        j.run_at.to_string(),
                        j.last_error.clone().unwrap_or_default(),
                    ]
                },
            )?;
        }
        JobsCmd::Retry { id } => {
            let job = app.retry_job(actor, engine::ids::JobId(*id)).await?;
            say!("Job {} ({}) is queued again.", job.id, job.kind);
        }
        JobsCmd::Run => unreachable!("handled before acting as a user"),
    }
    Ok(ExitCode::SUCCESS)
}

/// A `--settings` TOML file as JSON, and the secret from `--secret-file` (a file, or `-` for
/// standard input; one trailing newline dropped), empty without one.
fn settings_and_secret(
    settings: &Path,
    secret_file: Option<&Path>,
) -> anyhow::Result<(serde_json::Value, String)> {
    let shown = settings.display();
    let text = std::fs::read_to_string(settings)
        .with_context(|| format!("cannot read --settings {shown}"))?;
    let table: toml::Table = toml::from_str(&text)
        .map_err(|e| anyhow!("--settings {shown}: {}", e.to_string().replace('\n', " ")))?;
    let settings = serde_json::to_value(table).with_context(|| format!("--settings {shown}"))?;
    let secret = match secret_file {
        None => String::new(),
        Some(path) if path.as_os_str() == "-" => {
            let mut secret = String::new();
            std::io::stdin()
                .read_line(&mut secret)
                .context("cannot read the secret from standard input")?;
            secret
        }
        Some(path) => std::fs::read_to_string(path)
            .with_context(|| format!("cannot read --secret-file {}", path.display()))?,
    };
    Ok((settings, secret.trim_end_matches(['\r', '\n']).to_owned()))
}

async fn template(
    app: &App,
    actor: &Actor,
    cmd: &crate::cli::TemplateCmd,
) -> anyhow::Result<ExitCode> {
    use crate::cli::TemplateCmd;
    match cmd {
        TemplateCmd::List { json } => {
            let templates = app.email_templates(actor).await?;
            listing(json.json, &templates, &["KIND", "OWN", "SUBJECT"], |t| {
                vec![
                    t.kind.to_owned(),
                    if t.custom { "yes" } else { "built-in" }.to_owned(),
                    t.subject.clone(),
                ]
            })?;
        }
        TemplateCmd::Set {
            kind,
            subject,
            body_file,
        } => {
            let body = std::fs::read_to_string(body_file)
                .with_context(|| format!("cannot read --body-file {}", body_file.display()))?;
            let template = app.set_email_template(actor, kind, subject, &body).await?;
            say!("{} emails use your wording now.", template.kind);
        }
        TemplateCmd::Reset { kind } => {
            app.reset_email_template(actor, kind).await?;
            say!("{kind} emails use the built-in wording again.");
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn webhook(
    app: &App,
    actor: &Actor,
    cmd: &crate::cli::WebhookCmd,
) -> anyhow::Result<ExitCode> {
    use crate::cli::WebhookCmd;
    match cmd {
        WebhookCmd::Set {
            name,
            settings,
            secret_file,
        } => {
            let (settings, secret) = settings_and_secret(settings, Some(secret_file))?;
            let subscription = app.set_subscription(actor, name, settings, &secret).await?;
            say!(
                "Webhook {} sends {} to {}, from the next audit event on.",
                subscription.name,
                subscription.settings.events.join(", "),
                subscription.settings.url
            );
        }
        WebhookCmd::List { json } => {
            let list = app.subscriptions(actor).await?;
            listing(
                json.json,
                &list,
                &["NAME", "URL", "EVENTS", "SENT THROUGH", "LAST ERROR"],
                |w| {
                    vec![
                        w.name.to_string(),
                        w.settings.url.clone(),
                        w.settings.events.join(","),
                        w.cursor_seq.to_string(),
                        w.last_error.clone().unwrap_or_default(),
                    ]
                },
            )?;
        }
        WebhookCmd::Remove { name } => {
            app.remove_subscription(actor, name).await?;
            say!("Removed webhook {name}.");
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn connector(
    app: &App,
    actor: &Actor,
    cmd: &crate::cli::ConnectorCmd,
) -> anyhow::Result<ExitCode> {
    use crate::cli::ConnectorCmd;
    match cmd {
        ConnectorCmd::Set {
            name,
            kind,
            settings,
            secret_file,
        } => {
            let (settings, secret) = settings_and_secret(settings, secret_file.as_deref())?;
            let connector = app
                .set_connector(actor, name, *kind, settings, &secret)
                .await?;
            say!(
                "Connector {} ({}) reaches {}; accounts of system `{}` are revoked through it.",
                connector.name,
                connector.kind,
                connector.settings.target(),
                connector.name
            );
        }
        ConnectorCmd::List { json } => {
            let connectors = app.connectors(actor).await?;
            listing(json.json, &connectors, &["NAME", "KIND", "TARGET"], |c| {
                vec![
                    c.name.to_string(),
                    c.kind.to_string(),
                    c.settings.target().to_owned(),
                ]
            })?;
        }
        ConnectorCmd::Remove { name } => {
            app.remove_connector(actor, name).await?;
            say!("Removed connector {name}.");
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn retention(
    app: &App,
    actor: &Actor,
    cmd: &crate::cli::RetentionCmd,
) -> anyhow::Result<ExitCode> {
    use crate::cli::RetentionCmd;
    match cmd {
        RetentionCmd::Set { period, kind } => {
            app.set_retention(actor, *kind, *period).await?;
            let of = kind.map_or_else(
                || "every kind without its own".to_owned(),
                |k| format!("{k} subjects"),
            );
            say!("Retention of {of}: {period} after completion.");
        }
        RetentionCmd::Show(flag) => {
            let policies = app.retention_policies(actor).await?;
            listing(flag.json, &policies, &["KIND", "PERIOD", "SET"], |p| {
                vec![
                    p.kind
                        .map_or_else(|| "(default)".to_owned(), |k| k.to_string()),
                    p.period.to_string(),
                    p.set_at.to_string(),
                ]
            })?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn lint(cli: &Cli, files: &[std::path::PathBuf]) -> anyhow::Result<ExitCode> {
    let teams = tenant_teams(cli).await.unwrap_or_else(default_team_slugs);
    let mut clean = true;
    for file in files {
        let text = std::fs::read_to_string(file)
            .with_context(|| format!("cannot read {}", file.display()))?;
        match parse(&text, &LintContext { teams: &teams }) {
            Ok(_) => say!("{}: ok", file.display()),
            Err(diagnostics) => {
                clean = false;
                for d in diagnostics {
                    say!(
                        "{}:{}:{}: error: {}",
                        file.display(),
                        d.line,
                        d.column,
                        d.message
                    );
                }
            }
        }
    }
    Ok(if clean {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Lint reads teams and never opens a sealed secret: it gets a throwaway key rather than
/// making a key file as a side effect.
fn lint_only_key() -> MasterKey {
    MasterKey::from_bytes(Ids::from_entropy().secret())
}

/// The acting tenant's teams when a database is there; lint then checks owners against them.
async fn tenant_teams(cli: &Cli) -> Option<Vec<String>> {
    let store = Store::open(&location(cli), false).await.ok()?;
    let app = App::system(store, lint_only_key());
    let actor = app
        .actor(cli.tenant.as_ref(), cli.actor.as_ref())
        .await
        .ok()?;
    let teams = app.teams(&actor).await.ok()?;
    Some(teams.into_iter().map(|t| t.slug.to_string()).collect())
}

fn choice(arg: &str) -> anyhow::Result<BlueprintChoice> {
    let path = Path::new(arg);
    if path.exists() || arg.ends_with(".yaml") || arg.ends_with(".yml") {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read blueprint file {arg}"))?;
        return Ok(BlueprintChoice::Source {
            name: arg.to_owned(),
            text,
        });
    }
    let id = Slug::parse(arg)
        .map_err(|e| anyhow!("blueprint `{arg}` is neither a file nor an id: {e}"))?;
    Ok(BlueprintChoice::Id(id))
}

async fn blueprint(app: &App, actor: &Actor, cmd: &BlueprintCmd) -> anyhow::Result<ExitCode> {
    match cmd {
        BlueprintCmd::Lint { .. } => unreachable!("lint runs without a store"),
        BlueprintCmd::List(flag) => {
            let all = app.blueprints(actor).await?;
            let infos: Vec<_> = all.into_iter().map(|(info, _, _)| info).collect();
            listing(
                flag.json,
                &infos,
                &["ID", "VERSION", "SCOPE", "ORIGIN", "TITLE"],
                |i| {
                    vec![
                        i.id.clone(),
                        i.version.to_string(),
                        i.scope.clone(),
                        i.origin.to_owned(),
                        i.title.clone(),
                    ]
                },
            )?;
        }
        BlueprintCmd::Show {
            blueprint,
            json: flag,
        } => {
            let all = app.blueprints(actor).await?;
            let text = match choice(blueprint)? {
                BlueprintChoice::Source { text, .. } => text,
                BlueprintChoice::Id(id) => all
                    .iter()
                    .find(|(i, _, _)| i.id == id.as_str())
                    .map(|(_, _, t)| t.clone())
                    .ok_or_else(|| {
                        anyhow!("no blueprint `{id}`; `exeunt blueprint list` shows them")
                    })?,
            };
            let teams: Vec<String> = app
                .teams(actor)
                .await?
                .into_iter()
                .map(|t| t.slug.to_string())
                .collect();
            let bp = parse(&text, &LintContext { teams: &teams }).map_err(|d| {
                anyhow!(
                    "{blueprint} has {} problem(s); run `exeunt blueprint lint` on it",
                    d.len()
                )
            })?;
            if flag.json {
                say!(
                    "{}",
                    serde_json::to_string_pretty(
                        &serde_json::json!({"id": bp.id, "version": bp.version, "source": text})
                    )?
                );
                return Ok(ExitCode::SUCCESS);
            }
            say!(
                "{} v{} — {} (scope: {})",
                bp.id,
                bp.version,
                bp.title,
                bp.scope
            );
            if let Some(c) = &bp.applies_when {
                say!("Applies when: {}", c.source());
            }
            say!("Close by typing: {}", bp.confirmation_word);
            for stage in &bp.stages {
                say!(
                    "\n{} — {}{}",
                    stage.id,
                    stage.title,
                    if stage.after.is_empty() {
                        String::new()
                    } else {
                        format!(
                            " (after {})",
                            stage
                                .after
                                .iter()
                                .map(Slug::as_str)
                                .collect::<Vec<_>>()
                                .join(", ")
                        )
                    }
                );
                for t in &stage.tasks {
                    let due = t.due.map(|d| format!(" due {d}")).unwrap_or_default();
                    let when = t
                        .when
                        .as_ref()
                        .map(|c| format!(" when {}", c.source()))
                        .unwrap_or_default();
                    say!(
                        "  - {} [{}] {} — {}{due}{when}",
                        t.id,
                        t.kind.as_str(),
                        t.title,
                        t.owner
                    );
                }
            }
            if !bp.checks.is_empty() {
                say!("\nChecks:");
                for c in &bp.checks {
                    say!(
                        "  - {} ({}, gates {}): {}",
                        c.id,
                        c.severity.as_str(),
                        c.stage,
                        c.condition.source()
                    );
                }
            }
        }
        BlueprintCmd::Plan {
            blueprint,
            subject,
            exit_date,
            json: flag,
        } => {
            let plan = app
                .plan(actor, &choice(blueprint)?, subject, *exit_date)
                .await?;
            if flag.json {
                json(&plan)?;
                return Ok(ExitCode::SUCCESS);
            }
            let tz = jiff::tz::TimeZone::get(&plan.time_zone).unwrap_or(jiff::tz::TimeZone::UTC);
            say!(
                "Plan for {subject} with {}@{}, exit date {} ({}):",
                plan.blueprint_id,
                plan.blueprint_version,
                plan.exit_date,
                plan.time_zone
            );
            let rows = plan
                .tasks
                .iter()
                .map(|t| {
                    vec![
                        t.stage.to_string(),
                        t.id.to_string(),
                        t.owner_label.clone(),
                        t.due_at.map(|d| local(d, &tz)).unwrap_or_default(),
                        t.title.clone(),
                    ]
                })
                .collect::<Vec<_>>();
            table(&["STAGE", "TASK", "OWNER", "DUE", "TITLE"], &rows);
            for s in &plan.skipped {
                say!("skipped {} ({}): when {}", s.id, s.stage, s.when);
            }
            for f in &plan.findings {
                say!(
                    "{} {}: {}",
                    f.severity.as_str().to_uppercase(),
                    f.check_id,
                    f.message
                );
            }
        }
        BlueprintCmd::Add { file } => {
            let text = std::fs::read_to_string(file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let info = app
                .add_blueprint(actor, &file.display().to_string(), &text)
                .await
                .map_err(blueprint_error)?;
            say!("Stored blueprint {} version {}.", info.id, info.version);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Lint problems print as the error's lines would in `lint`, on one line each.
fn blueprint_error(e: AppError) -> anyhow::Error {
    match e {
        AppError::Blueprint { name, diagnostics } => {
            let all: Vec<String> = diagnostics.iter().map(|d| format!("{name}:{d}")).collect();
            anyhow!("blueprint has problems: {}", all.join("; "))
        }
        other => other.into(),
    }
}

fn attributes(pairs: &[(String, String)]) -> anyhow::Result<Attributes> {
    Ok(Attributes::parse(
        pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())),
    )?)
}

async fn subject(app: &App, actor: &Actor, cmd: &SubjectCmd) -> anyhow::Result<ExitCode> {
    match cmd {
        SubjectCmd::Add {
            key,
            kind,
            name,
            parent,
            attributes: attrs,
        } => {
            let new = NewSubject {
                key: key.clone(),
                kind: *kind,
                name: Text::line(name, Subject::NAME_MAX).map_err(|e| anyhow!("--name {e}"))?,
                parent: parent.clone(),
                attributes: attributes(attrs)?,
            };
            app.add_subjects(actor, vec![new])
                .await
                .map_err(|(_, e)| e)?;
            say!("Added {kind} {key}.");
        }
        SubjectCmd::List {
            kind,
            all,
            limit,
            json: flag,
        } => {
            let filter = SubjectFilter {
                kind: *kind,
                include_offboarded: *all,
                parent: None,
                search: None,
                limit: *limit,
                offset: 0,
            };
            let subjects = app.subjects(actor, &filter).await?;
            listing(
                flag.json,
                &subjects,
                &["KEY", "KIND", "STATE", "NAME"],
                |s| {
                    vec![
                        s.key.to_string(),
                        s.kind.to_string(),
                        s.state.to_string(),
                        s.name.to_string(),
                    ]
                },
            )?;
        }
        SubjectCmd::Show { key, json: flag } => {
            let view = app.subject(actor, key).await?;
            if flag.json {
                json(&view)?;
                return Ok(ExitCode::SUCCESS);
            }
            let s = &view.subject;
            say!("{} {} — {} ({})", s.kind, s.key, s.name, s.state);
            if let Some(p) = &view.parent {
                say!("Belongs to: {} ({})", p.key, p.name);
            }
            if let Some(n) = view.open_case {
                say!("Open case: {n}");
            }
            for (k, v) in s.attributes.iter() {
                say!("  {k}: {v}");
            }
            let rows = view
                .records
                .iter()
                .map(|r| {
                    vec![
                        r.number.to_string(),
                        r.kind.to_string(),
                        r.fields
                            .iter()
                            .map(|(k, v)| format!("{k}={v}"))
                            .collect::<Vec<_>>()
                            .join(" "),
                    ]
                })
                .collect::<Vec<_>>();
            say!("Records:");
            table(&["#", "KIND", "FIELDS"], &rows);
        }
        SubjectCmd::Import { file } => {
            let subjects = read_subjects_csv(file)?;
            let count = subjects.len();
            let lines: Vec<u64> = subjects.iter().map(|(line, _)| *line).collect();
            app.add_subjects(actor, subjects.into_iter().map(|(_, s)| s).collect())
                .await
                .map_err(|(i, e)| {
                    anyhow!(
                        "{}:{}: {e}; nothing was imported",
                        file.display(),
                        lines.get(i).copied().unwrap_or(0)
                    )
                })?;
            say!("Imported {count} subjects from {}.", file.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Reads a subjects CSV; every row is checked before anything is written.
fn read_subjects_csv(file: &Path) -> anyhow::Result<Vec<(u64, NewSubject)>> {
    let name = file.display();
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_path(file)
        .with_context(|| format!("cannot read {name}"))?;
    let header: Vec<String> = reader
        .headers()
        .with_context(|| format!("{name}:1: cannot read the header row"))?
        .iter()
        .map(str::to_owned)
        .collect();
    for required in ["key", "kind", "name"] {
        if !header.iter().any(|h| h == required) {
            bail!(
                "{name}:1: the header has no `{required}` column; expected key,kind,name[,parent][,attribute…]"
            );
        }
    }
    let mut out = Vec::new();
    for row in reader.records() {
        let row = row.map_err(|e| {
            let line = e.position().map_or(0, csv::Position::line);
            anyhow!("{name}:{line}: {e}; nothing was imported")
        })?;
        let line = row.position().map_or(0, csv::Position::line);
        let at = |column: &str, e: &dyn std::fmt::Display| {
            anyhow!("{name}:{line}: column `{column}`: {e}; nothing was imported")
        };
        let get = |column: &str| {
            header
                .iter()
                .position(|h| h == column)
                .and_then(|i| row.get(i))
                .unwrap_or("")
        };
        let key = SubjectKey::parse(get("key")).map_err(|e| at("key", &e))?;
        let kind: SubjectKind = get("kind").parse().map_err(|e| at("kind", &e))?;
        let subject_name =
            Text::line(get("name"), Subject::NAME_MAX).map_err(|e| at("name", &e))?;
        let parent = match get("parent") {
            "" => None,
            p => Some(SubjectKey::parse(p).map_err(|e| at("parent", &e))?),
        };
        let attrs = Attributes::parse(
            header
                .iter()
                .map(String::as_str)
                .zip(row.iter())
                .filter(|(h, _)| !matches!(*h, "key" | "kind" | "name" | "parent")),
        )
        .map_err(|e| at("attributes", &e))?;
        out.push((
            line,
            NewSubject {
                key,
                kind,
                name: subject_name,
                parent,
                attributes: attrs,
            },
        ));
    }
    if out.is_empty() {
        bail!("{name}: no rows after the header; nothing was imported");
    }
    Ok(out)
}

async fn record(app: &App, actor: &Actor, cmd: &RecordCmd) -> anyhow::Result<ExitCode> {
    match cmd {
        RecordCmd::Add {
            subject,
            kind,
            fields,
        } => {
            let fields =
                RecordFields::parse(*kind, fields.iter().map(|(k, v)| (k.as_str(), v.as_str())))?;
            let record = app.add_record(actor, subject, *kind, fields).await?;
            say!(
                "Added {} {} `{}` to {subject}.",
                record.kind,
                record.number,
                record.label()
            );
        }
        RecordCmd::Set {
            subject,
            number,
            fields,
        } => {
            let record = app.update_record(actor, subject, *number, fields).await?;
            say!(
                "Changed {} {} `{}` of {subject}.",
                record.kind,
                record.number,
                record.label()
            );
        }
        RecordCmd::Attach {
            subject,
            number,
            file,
            media_type,
        } => {
            let upload = read_upload(file, "file")?;
            let stored = app
                .attach_file(actor, subject, *number, upload, media_type.clone())
                .await?;
            say!(
                "Attached {} ({} bytes, sha256 {}) to document {number} of {subject}, encrypted.",
                stored.file_name,
                stored.blob.size,
                to_hex(&stored.blob.sha256)
            );
        }
        RecordCmd::Download {
            subject,
            number,
            output,
        } => {
            let download = app.record_file(actor, subject, *number).await?;
            save(download, output.as_deref()).await?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn export(app: &App, actor: &Actor, cmd: &ExportCmd) -> anyhow::Result<ExitCode> {
    match cmd {
        ExportCmd::Request { number } => {
            let export = app.request_export(actor, number.0).await?;
            say!(
                "Export {} of case {} is {}. `exeunt export run` builds it now; `exeunt serve` \
                 builds it in the background.",
                export.id,
                number.0,
                export.status.as_str()
            );
        }
        ExportCmd::Run { take_over } => {
            let mut built = 0;
            loop {
                let next = if *take_over {
                    app.take_over_next_export().await?
                } else {
                    app.build_next_export().await?
                };
                let Some(export) = next else { break };
                built += 1;
                match (&export.failure, &export.blob) {
                    (Some(reason), _) => {
                        say!(
                            "Export {} of case {} failed: {reason}",
                            export.id,
                            export.case_number
                        );
                    }
                    (None, Some(blob)) => say!(
                        "Export {} of case {} is ready: {} bytes, sha256 {}.",
                        export.id,
                        export.case_number,
                        blob.size,
                        to_hex(&blob.sha256)
                    ),
                    (None, None) => say!(
                        "Export {} of case {} is {}.",
                        export.id,
                        export.case_number,
                        export.status.as_str()
                    ),
                }
            }
            if built == 0 {
                say!("No export is waiting.");
            }
        }
        ExportCmd::List { number, json: flag } => {
            let exports = app.exports(actor, number.0).await?;
            listing(
                flag.json,
                &exports,
                &["EXPORT", "STATUS", "SIZE", "SHA256", "REQUESTED", "NOTE"],
                |e| {
                    // A build under way has a blob too, not yet the package.
                    let package = e
                        .blob
                        .as_ref()
                        .filter(|_| e.status == engine::export::ExportStatus::Ready);
                    vec![
                        e.id.to_string(),
                        e.status.as_str().to_owned(),
                        package.map(|b| b.size.to_string()).unwrap_or_default(),
                        package.map(|b| to_hex(&b.sha256)).unwrap_or_default(),
                        e.requested_at.to_string(),
                        e.failure.clone().unwrap_or_default(),
                    ]
                },
            )?;
        }
        ExportCmd::Link {
            number,
            days,
            base_url,
        } => {
            let (token, expires_at) = app.receive_link(actor, number.0, *days).await?;
            say!(
                "{}/receive/{token}\nValid until {expires_at}. The client downloads the package \
                 there and acknowledges receipt; no account needed.",
                base_url.trim_end_matches('/')
            );
        }
        ExportCmd::WaiveAck { number, reason } => {
            let reason = Text::paragraph(reason, 2000).map_err(|e| anyhow!("--reason {e}"))?;
            app.waive_acknowledgement(actor, number.0, reason).await?;
            say!(
                "Case {} goes on without the client's acknowledgement; the reason is on record.",
                number.0
            );
        }
        ExportCmd::Download { number, output } => {
            let download = app.export_package(actor, number.0).await?;
            save(download, output.as_deref()).await?;
        }
        ExportCmd::Verify { .. } => unreachable!("verified offline before the store opens"),
    }
    Ok(ExitCode::SUCCESS)
}

async fn purge(app: &App, actor: &Actor, cmd: &PurgeCmd) -> anyhow::Result<ExitCode> {
    match cmd {
        PurgeCmd::List {
            done: true,
            json: flag,
        } => {
            let tombstones = app.tombstones(actor).await?;
            listing(
                flag.json,
                &tombstones,
                &["SUBJECT", "KIND", "PURGED", "BY", "DIGEST", "WHAT"],
                |t| {
                    vec![
                        t.subject_id.to_string(),
                        t.subject_kind.to_string(),
                        t.purged_at.to_string(),
                        t.purged_by.clone(),
                        to_hex(&t.digest),
                        t.summary.clone(),
                    ]
                },
            )?;
        }
        PurgeCmd::List {
            done: false,
            json: flag,
        } => {
            let pending = app.pending_purges(actor).await?;
            let rows: Vec<serde_json::Value> = pending
                .iter()
                .map(|p| {
                    serde_json::json!({
                        "subject": p.candidate.subject_key, "kind": p.candidate.subject_kind,
                        "case": p.candidate.case_number, "completed_at": p.candidate.closed_at,
                        "status": p.status.to_string(),
                    })
                })
                .collect();
            if flag.json {
                json(&rows)?;
            } else {
                let rows: Vec<Vec<String>> = pending
                    .iter()
                    .map(|p| {
                        vec![
                            p.candidate.subject_key.to_string(),
                            p.candidate.subject_kind.to_string(),
                            p.candidate.case_number.to_string(),
                            p.candidate.closed_at.to_string(),
                            p.status.to_string(),
                        ]
                    })
                    .collect();
                table(&["SUBJECT", "KIND", "CASE", "COMPLETED", "PURGE"], &rows);
            }
        }
        PurgeCmd::Run => {
            let run = app.purge_due(actor).await?;
            for (subject, reason) in &run.failed {
                eprintln!("Could not purge {subject} (it is left whole): {reason}");
            }
            let done = run.purged;
            for t in &done {
                say!(
                    "Purged {} {} ({}); tombstone digest {}.",
                    t.subject_kind,
                    t.subject_id,
                    t.summary,
                    to_hex(&t.digest)
                );
            }
            if done.is_empty() && run.failed.is_empty() {
                say!("No purge is due (`exeunt purge list` says why for each subject).");
            }
            if !run.failed.is_empty() {
                return Ok(ExitCode::FAILURE);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A file from disk, named by its own file name.
fn read_upload(path: &Path, what: &str) -> anyhow::Result<Upload> {
    let content =
        std::fs::read(path).with_context(|| format!("cannot read {what} {}", path.display()))?;
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| anyhow!("{what} {} names no file", path.display()))?;
    Ok(Upload { file_name, content })
}

/// Writes a download piece by piece, to a file or standard output.
async fn save(mut download: Download, output: Option<&Path>) -> anyhow::Result<()> {
    let mut out: Box<dyn Write> = match output {
        Some(path) => Box::new(
            std::fs::File::create(path)
                .with_context(|| format!("cannot write {}", path.display()))?,
        ),
        None => Box::new(std::io::stdout().lock()),
    };
    while let Some(piece) = download.next_piece().await? {
        out.write_all(&piece).inspect_err(note_reader_gone)?;
    }
    out.flush().inspect_err(note_reader_gone)?;
    if let Some(path) = output {
        eprintln!(
            "Wrote {} ({} bytes) to {}.",
            download.file_name,
            download.blob.size,
            path.display()
        );
    }
    Ok(())
}

async fn user(app: &App, actor: &Actor, cmd: &UserCmd) -> anyhow::Result<ExitCode> {
    match cmd {
        UserCmd::Add {
            email,
            name,
            role,
            teams,
        } => {
            let name = Text::line(name, 200).map_err(|e| anyhow!("--name {e}"))?;
            let user = app
                .add_user(actor, email.clone(), name, *role, teams)
                .await?;
            say!("Added {} as {}.", user.email, user.role);
        }
        UserCmd::ResetPassword { email } => {
            let password = app.reset_password(actor, Some(email)).await?;
            say!(
                "New password for {email} (shown once; their sessions are ended): {}",
                password.expose()
            );
        }
        UserCmd::List(flag) => {
            let users = app.users(actor).await?;
            listing(
                flag.json,
                &users,
                &["EMAIL", "ROLE", "TIME ZONE", "NAME"],
                |u| {
                    vec![
                        u.email.to_string(),
                        u.role.to_string(),
                        u.time_zone.to_string(),
                        u.name.to_string(),
                    ]
                },
            )?;
        }
        UserCmd::TimeZone { zone } => match zone {
            Some(zone) => {
                let user = app.set_time_zone(actor, zone.clone()).await?;
                say!("{} is in {} now.", user.email, user.time_zone);
            }
            None => say!("{} is in {}.", actor.user.email, actor.user.time_zone),
        },
        UserCmd::DefaultTimeZone { zone } => match zone {
            Some(zone) => {
                let tenant = app.set_tenant_time_zone(actor, zone.clone()).await?;
                say!("People added from now on start in {}.", tenant.time_zone);
            }
            None => say!("People added start in {}.", actor.tenant.time_zone),
        },
        UserCmd::Notifications { on, off, json } => {
            let changes: Vec<(&str, bool)> = on
                .iter()
                .map(|k| (k.as_str(), true))
                .chain(off.iter().map(|k| (k.as_str(), false)))
                .collect();
            if !changes.is_empty() {
                app.set_email_preferences(actor, &changes).await?;
            }
            let preferences = app.email_preferences(actor).await?;
            listing(json.json, &preferences, &["KIND", "EMAIL", "WHEN"], |p| {
                vec![
                    p.kind.to_owned(),
                    if p.email { "on" } else { "off" }.to_owned(),
                    p.what.to_owned(),
                ]
            })?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn case(app: &App, actor: &Actor, cmd: &CaseCmd) -> anyhow::Result<ExitCode> {
    match cmd {
        CaseCmd::Start {
            subject,
            exit_date,
            blueprint,
            owner,
        } => {
            let blueprint = blueprint.as_deref().map(choice).transpose()?;
            let started = app
                .start_case(
                    actor,
                    StartCase {
                        subject: subject.clone(),
                        blueprint,
                        exit_date: *exit_date,
                        owner: owner.clone(),
                    },
                )
                .await
                .map_err(blueprint_error)?;
            say!(
                "Started case {} for {subject} with {}@{} ({} tasks).",
                started.number,
                started.blueprint_id,
                started.blueprint_version,
                started.tasks
            );
            if !started.children.is_empty() {
                let list: Vec<String> = started.children.iter().map(ToString::to_string).collect();
                say!(
                    "Opened {} child cases: {}.",
                    started.children.len(),
                    list.join(", ")
                );
            }
            let view = app.case(actor, started.number).await?;
            print_findings(&view.file.findings);
        }
        CaseCmd::List {
            status,
            limit,
            json: flag,
        } => {
            let cases = app
                .cases(
                    actor,
                    &CaseFilter {
                        status: *status,
                        limit: *limit,
                        ..CaseFilter::default()
                    },
                )
                .await?;
            let header = [
                "CASE",
                "SUBJECT",
                "KIND",
                "BLUEPRINT",
                "STATUS",
                "TASKS",
                "EXIT",
            ];
            listing(flag.json, &cases, &header, |c| {
                vec![
                    c.number.to_string(),
                    c.subject_key.to_string(),
                    c.subject_kind.to_string(),
                    c.blueprint_id.to_string(),
                    case_status(c.status, c.resolution),
                    format!("{}/{}", c.tasks_closed, c.tasks_total),
                    c.exit_date.to_string(),
                ]
            })?;
        }
        CaseCmd::Show { number, json: flag } => {
            let view = app.case(actor, number.0).await?;
            if flag.json {
                json(&view)?;
                return Ok(ExitCode::SUCCESS);
            }
            let c = &view.file.case;
            let tz = view.subject.attributes.time_zone();
            let status = case_status(c.status, c.resolution);
            say!(
                "Case {} · {} {} ({}) · {}@{}",
                c.number,
                view.subject.kind,
                view.subject.key,
                view.subject.name,
                c.blueprint_id,
                c.blueprint_version
            );
            say!(
                "Status: {status} · exit date {} · owner {}",
                c.exit_date,
                view.owner
                    .as_ref()
                    .map_or("?".to_owned(), |u| u.email.to_string())
            );
            if let Some(stage) = &view.current_stage {
                say!("Current stage: {stage}");
            }
            if let Some(reason) = &c.close_reason {
                say!("Reason: {reason}");
            }
            say!("\nStages:");
            for s in &c.stages {
                let tasks: Vec<_> = view.file.tasks.iter().filter(|t| t.stage == s.id).collect();
                let closed = tasks.iter().filter(|t| t.status.is_closed()).count();
                let mark = if closed == tasks.len() {
                    "done"
                } else if Some(s.id.as_str()) == view.current_stage.as_deref() {
                    "current"
                } else {
                    ""
                };
                say!("  {:<20} {closed}/{}  {mark}", s.id.as_str(), tasks.len());
            }
            print_findings(&view.file.findings);
            say!("\nTasks:");
            let now = app.now();
            let rows = view
                .file
                .tasks
                .iter()
                .map(|t| {
                    vec![
                        t.stage.to_string(),
                        t.id.to_string(),
                        status_label(t, now),
                        t.owner_label.clone(),
                        t.due_at.map(|d| local(d, &tz)).unwrap_or_default(),
                        t.title.clone(),
                    ]
                })
                .collect::<Vec<_>>();
            table(&["STAGE", "TASK", "STATUS", "OWNER", "DUE", "TITLE"], &rows);
            if !view.children.is_empty() {
                say!("\nChild cases:");
                for ch in &view.children {
                    say!(
                        "  {} {} {} {}/{}",
                        ch.number,
                        ch.subject_key,
                        ch.status,
                        ch.tasks_closed,
                        ch.tasks_total
                    );
                }
            }
            if !view.revocations.is_empty() {
                say!("\nAccess to revoke:");
                let rows = view
                    .revocations
                    .iter()
                    .zip(&view.exposures)
                    .map(|(r, exposure)| {
                        vec![
                            r.record_number.to_string(),
                            r.label.clone(),
                            r.status.as_str().to_owned(),
                            exposure.map(|e| e.to_string()).unwrap_or_default(),
                            r.note.clone().unwrap_or_default(),
                        ]
                    })
                    .collect::<Vec<_>>();
                table(&["RECORD", "ACCESS", "STATUS", "EXPOSURE", "NOTE"], &rows);
                say!(
                    "The exit takes effect for access at {}; exposure window: {}.",
                    local(view.access_ends_at, &tz),
                    view.exposure
                );
            }
            for hold in &view.holds {
                say!(
                    "\nLegal hold {} ({}): purge is paused. {}",
                    hold.id,
                    if hold.subject_id.is_some() {
                        "this subject"
                    } else {
                        "whole tenant"
                    },
                    hold.reason
                );
            }
            if let Some(export) = view.exports.first() {
                let delivered = match (&export.acknowledged, &export.acknowledgement_waived) {
                    (Some(a), _) => format!("; acknowledged by {} at {}", a.name, a.at),
                    (None, Some(w)) => format!("; acknowledgement waived: {}", w.reason),
                    (None, None) => String::new(),
                };
                say!(
                    "\nExport: {}{}{delivered}",
                    export.status.as_str(),
                    export
                        .failure
                        .as_deref()
                        .map(|f| format!(" ({f})"))
                        .unwrap_or_default()
                );
            }
            if view.certificate.is_some() {
                say!("Certificate: signed (exeunt case certificate {})", c.number);
            }
            if let Some(purge) = &view.purge {
                say!("Purge: {purge}");
            }
            if let Some(policy) = &view.retention {
                let from = view
                    .purge_from
                    .map_or_else(String::new, |d| format!("; purge from {d}"));
                say!("\nRetention: {} after completion{from}", policy.period);
            }
            if !view.evidence.is_empty() {
                say!("\nEvidence:");
                for e in &view.evidence {
                    say!(
                        "  {} {} {} ({} bytes, sha256 {})",
                        e.id,
                        e.task_id,
                        e.file_name,
                        e.size,
                        to_hex(&e.sha256)
                    );
                }
            }
        }
        CaseCmd::Precheck { number } => {
            let file = app.precheck(actor, number.0).await?;
            say!("Precheck of case {} done.", number.0);
            print_findings(&file.findings);
        }
        CaseCmd::Waive {
            number,
            check,
            reason,
        } => {
            app.waive_finding(actor, number.0, check, reason).await?;
            say!("Waived `{check}` on case {}.", number.0);
        }
        CaseCmd::Close { number, confirm } => {
            app.close_case(actor, number.0, confirm).await?;
            say!(
                "Case {0} is done (completed). The subject is fully offboarded; its signed \
                 certificate: exeunt case certificate {0}",
                number.0
            );
        }
        CaseCmd::Cancel { number, reason } => {
            app.cancel_case(actor, number.0, reason).await?;
            say!(
                "Case {} is done (cancelled). Its tasks and history are kept.",
                number.0
            );
        }
        CaseCmd::Evidence { number, id, output } => {
            match app.evidence_file(actor, number.0, EvidenceId(*id)).await? {
                EvidenceContent::Sealed(download) => save(*download, output.as_deref()).await?,
                EvidenceContent::Unsealed { content, .. } => {
                    write_out(output.as_deref(), &content)?;
                }
            }
        }
        CaseCmd::Certificate { number, output } => {
            let certificate = app.certificate(actor, number.0).await?;
            write_out(
                output.as_deref(),
                format!("{}\n", certificate.token).as_bytes(),
            )?;
        }
        CaseCmd::Revoke {
            number,
            record,
            status,
            note,
        } => {
            let note = note
                .as_deref()
                .filter(|n| !n.trim().is_empty())
                .map(|n| Text::paragraph(n, app::REVOCATION_NOTE_MAX))
                .transpose()
                .context("--note")?;
            let item = app
                .set_revocation(actor, number.0, *record, *status, note)
                .await?;
            say!(
                "{} (record {record}) of case {} is {}.",
                item.label,
                number.0,
                item.status.as_str()
            );
        }
        CaseCmd::Handoff { number, record, to } => {
            let item = app.hand_off(actor, number.0, *record, to).await?;
            say!(
                "Work item {record} `{}` of case {} now belongs to {to}.",
                item.label(),
                number.0
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A case's status as people read it: `in_progress`, or `done (completed)`.
fn case_status(status: CaseStatus, resolution: Option<engine::case::Resolution>) -> String {
    match resolution {
        Some(r) => format!("done ({})", r.as_str()),
        None => status.to_string(),
    }
}

/// A task's status, marked OVERDUE when it is open past its due time.
fn status_label(task: &engine::case::Task, now: jiff::Timestamp) -> String {
    let overdue = task.is_overdue(now);
    format!(
        "{}{}",
        task.status.as_str(),
        if overdue { " OVERDUE" } else { "" }
    )
}

fn print_findings(findings: &[engine::case::CaseFinding]) {
    if findings.is_empty() {
        return;
    }
    say!("\nBlockers and warnings:");
    for f in findings {
        let status = match f.status {
            FindingStatus::Open => "open".to_owned(),
            FindingStatus::Resolved => "resolved".to_owned(),
            FindingStatus::Waived => format!("waived: {}", f.waive_reason.as_deref().unwrap_or("")),
        };
        say!(
            "  {:<8} {} (stage {}) [{status}]: {}",
            f.finding.severity.as_str().to_uppercase(),
            f.finding.check_id,
            f.finding.stage,
            f.finding.message
        );
    }
}

async fn task(app: &App, actor: &Actor, cmd: &TaskCmd) -> anyhow::Result<ExitCode> {
    match cmd {
        TaskCmd::List {
            case,
            all,
            json: flag,
        } => {
            let rows = match case {
                Some(n) => {
                    let view = app.case(actor, n.0).await?;
                    app.tasks(
                        actor,
                        TaskFilter {
                            case: Some(view.file.case.id),
                            open_only: !all,
                            limit: 10_000,
                            ..TaskFilter::default()
                        },
                    )
                    .await?
                }
                None => app.my_tasks(actor, 1000).await?,
            };
            let now = app.now();
            // Due times as whoever asks reads them: in their own time zone.
            let tz = actor.user.time_zone.zone();
            let header = ["CASE", "SUBJECT", "TASK", "STATUS", "OWNER", "DUE"];
            listing(flag.json, &rows, &header, |r| {
                let t = &r.task;
                vec![
                    r.case_number.to_string(),
                    r.subject_key.to_string(),
                    t.id.to_string(),
                    status_label(t, now),
                    t.owner_label.clone(),
                    t.due_at.map(|d| local(d, &tz)).unwrap_or_default(),
                ]
            })?;
        }
        TaskCmd::Complete {
            number,
            task,
            note,
            evidence,
        } => {
            let note = note
                .as_deref()
                .map(|n| Text::paragraph(n, 4000).map_err(|e| anyhow!("--note {e}")))
                .transpose()?;
            let uploads = evidence
                .iter()
                .map(|path| read_upload(path, "evidence file"))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let done = app
                .complete_task(
                    actor,
                    number.0,
                    task,
                    note.map(|n| n.as_str().to_owned()),
                    uploads,
                )
                .await?;
            say!("Completed `{}` of case {}.", done.id, number.0);
            let view = app.case(actor, number.0).await?;
            if view.file.case.status == CaseStatus::Review {
                say!(
                    "Every task is closed: close the case with `exeunt case close {} --confirm {}`.",
                    number.0,
                    view.file.case.confirmation_word
                );
            }
        }
        TaskCmd::Assign {
            number,
            task,
            assignee,
            ..
        } => {
            app.assign_task(actor, number.0, task, assignee.as_ref())
                .await?;
            match assignee {
                Some(a) => say!("Assigned `{task}` of case {} to {a}.", number.0),
                None => say!("Unassigned `{task}` of case {}.", number.0),
            }
        }
        TaskCmd::Waive {
            number,
            task,
            reason,
        } => {
            app.waive_task(actor, number.0, task, reason).await?;
            say!("Waived `{task}` of case {}.", number.0);
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn audit(app: &App, actor: &Actor, cmd: &AuditCmd) -> anyhow::Result<ExitCode> {
    match cmd {
        AuditCmd::Verify => match app.verify_audit(actor).await {
            Ok(n) => {
                say!(
                    "The audit chain of tenant `{}` is intact: {n} events.",
                    actor.tenant.slug
                );
                Ok(ExitCode::SUCCESS)
            }
            Err(AppError::Chain(brk)) => {
                say!("BROKEN: {brk}");
                Ok(ExitCode::FAILURE)
            }
            Err(e) => Err(e.into()),
        },
        AuditCmd::Export { output } => {
            let mut out: Box<dyn Write> = match output {
                Some(path) => Box::new(std::io::BufWriter::new(
                    std::fs::File::create(path)
                        .with_context(|| format!("cannot write {}", path.display()))?,
                )),
                None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
            };
            let mut tx = app.store().read().await?;
            let mut count = 0u64;
            app.walk_audit(&mut tx, actor, |e| {
                serde_json::to_writer(&mut out, e)
                    .map_err(std::io::Error::from)
                    .and_then(|()| out.write_all(b"\n"))
                    .map_err(|err| {
                        note_reader_gone(&err);
                        AppError::invalid("output", err)
                    })?;
                count += 1;
                Ok(())
            })
            .await?;
            out.flush().inspect_err(note_reader_gone)?;
            if let Some(path) = output {
                say!("Wrote {count} events to {}.", path.display());
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
