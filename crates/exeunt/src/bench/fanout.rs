//! `exeunt bench fanout`: an organization's offboarding opening one child case per client.

use std::path::Path;
use std::time::Instant;

use app::StartCase;
use engine::ids::{SubjectKey, Text};
use engine::subject::{Attributes, SubjectKind};

use super::fixture::setup;
use crate::output::say;

/// Organization offboarding: the organization's case fans out one child case per active client,
/// each planned and prechecked against the client's records, in one transaction.
pub(super) async fn fanout(dir: &Path, clients: u32) -> anyhow::Result<()> {
    /// The limit for 1,000 clients, scaled to the count asked for.
    const SECONDS_PER_THOUSAND: f64 = 5.0;
    let (app, actor) = setup(dir).await?;
    let mut subjects = vec![app::NewSubject {
        key: SubjectKey::parse("the-firm")?,
        kind: SubjectKind::Organization,
        name: Text::line("The firm", 100)?,
        parent: None,
        attributes: Attributes::default(),
    }];
    for i in 0..clients {
        subjects.push(app::NewSubject {
            key: SubjectKey::parse(&format!("client-{i}"))?,
            kind: SubjectKind::Client,
            name: Text::line(&format!("Client {i}"), 100)?,
            parent: None,
            attributes: Attributes::default(),
        });
    }
    app.add_subjects(&actor, subjects)
        .await
        .map_err(|(_, e)| e)?;
    let started = Instant::now();
    let case = app
        .start_case(
            &actor,
            StartCase {
                subject: SubjectKey::parse("the-firm")?,
                blueprint: None,
                exit_date: jiff::civil::date(2027, 1, 29),
                owner: None,
                confirmation: Some("the-firm".to_owned()),
            },
        )
        .await?;
    let elapsed = started.elapsed().as_secs_f64();
    let limit = SECONDS_PER_THOUSAND * f64::from(clients) / 1000.0;
    say!("bench fanout: start an organization's offboarding, SQLite WAL synchronous=FULL");
    say!("  clients         {clients}");
    say!(
        "  child cases     {} created and prechecked",
        case.children.len()
    );
    say!("  time            {elapsed:.2} s");
    say!(
        "  ratio           {:.2} × the limit of {limit:.1} s (target ≤ 1.00)",
        elapsed / limit
    );
    anyhow::ensure!(
        case.children.len() == clients as usize,
        "expected {clients} child cases, got {}",
        case.children.len()
    );
    Ok(())
}
