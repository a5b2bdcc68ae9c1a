//! `exeunt serve`: the HTTP server and the job worker (and a fresh data dir's first tenant).

use std::process::ExitCode;

use anyhow::Context;
use app::App;
use engine::fields::{PersonName, TenantName, TokenName};
use engine::ids::Slug;

use crate::output::say;

pub(super) async fn serve(
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
                TenantName::parse("My firm")?,
                engine::ids::Email::parse("owner@example.com")?,
                PersonName::parse("Owner")?,
            )
            .await?;
        let issued = app
            .issue_token(
                &actor,
                TokenName::parse("first sign-in")?,
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
    let limit = match app.store().statement_timeout().await? {
        Some(limit) => format!(", a statement may run {limit}"),
        None => String::new(),
    };
    say!(
        "Exeunt serves {} on http://{} ({}{limit}). Stop with Ctrl-C.",
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
    use std::io::IsTerminal;
    // Colour only for a person at a terminal: a log written to a file or a collector reads
    // as plain text.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
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
