//! The tenant and who acts in it: `exeunt init`, `user` and `token`.

use std::process::ExitCode;

use app::{Actor, App};

use super::shared::team_slugs;
use crate::cli::{InitArgs, UserCmd};
use crate::output::{listing, say};

pub(super) async fn init(app: &App, args: &InitArgs) -> anyhow::Result<ExitCode> {
    let mut actor = app
        .init_tenant(
            args.slug.clone(),
            args.org.clone(),
            args.owner_email.clone(),
            args.owner_name.clone(),
        )
        .await?;
    if let Some(zone) = &args.time_zone {
        let tenant = app.set_tenant_time_zone(&actor, zone.clone()).await?;
        let user = app.set_time_zone(&actor, zone.clone()).await?;
        actor = Actor { tenant, user };
    }
    let teams = team_slugs(app, &actor).await?;
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
    Ok(ExitCode::SUCCESS)
}

pub(super) async fn user(app: &App, actor: &Actor, cmd: &UserCmd) -> anyhow::Result<ExitCode> {
    match cmd {
        UserCmd::Add {
            email,
            name,
            role,
            teams,
        } => {
            let user = app
                .add_user(actor, email.clone(), name.clone(), *role, teams)
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

pub(super) async fn token(
    app: &App,
    actor: &Actor,
    cmd: &crate::cli::TokenCmd,
) -> anyhow::Result<ExitCode> {
    use crate::cli::TokenCmd;
    match cmd {
        TokenCmd::Create { name, role, user } => {
            let issued = app
                .issue_token(actor, name.clone(), *role, user.as_ref())
                .await?;
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
