//! A scratch tenant to measure against, and cases of `TASKS_PER_CASE` tasks opened in it.

use std::path::Path;

use app::{Actor, App, BlueprintChoice, Ids, MasterKey, StartCase};
use engine::fields::{PersonName, TenantName};
use engine::ids::{Email, Slug, SubjectKey, Text};
use engine::subject::{Attributes, SubjectKind};
use store::Store;

/// Tasks per case in the write benchmark: a realistic case size, so each completion loads a
/// case of that many tasks.
pub(super) const TASKS_PER_CASE: u32 = 20;

pub(super) async fn setup(dir: &Path) -> anyhow::Result<(App, Actor)> {
    let store = Store::sqlite(&dir.join("exeunt.db"), true).await?;
    tenant_on(store, "bench").await
}

/// A new tenant called `slug` on `store`, and its owner.
pub(super) async fn tenant_on(store: Store, slug: &str) -> anyhow::Result<(App, Actor)> {
    let app = App::system(store, MasterKey::from_bytes(Ids::from_entropy().secret()));
    let actor = app
        .init_tenant(
            Slug::parse(slug)?,
            TenantName::parse("Bench firm")?,
            Email::parse("owner@bench.example")?,
            PersonName::parse("Owner")?,
        )
        .await?;
    Ok((app, actor))
}

/// Opens `count` cases of a one-stage blueprint with `TASKS_PER_CASE` independent tasks.
pub(super) async fn open_cases(
    app: &App,
    actor: &Actor,
    prefix: &str,
    count: u32,
) -> anyhow::Result<Vec<i64>> {
    let tasks: String = (0..TASKS_PER_CASE)
        .map(|i| format!("      - id: t{i}\n        title: Task {i}\n        team: operations\n"))
        .collect();
    let blueprint = format!(
        "id: bench\nversion: 1\ntitle: Bench\nscope: client\nstages:\n  - id: only\n    title: Only\n    tasks:\n{tasks}"
    );
    let mut numbers = Vec::new();
    for i in 0..count {
        let key = SubjectKey::parse(&format!("{prefix}-{i}"))?;
        let subject = app::NewSubject {
            key: key.clone(),
            kind: SubjectKind::Client,
            name: Text::line(&format!("Client {i}"), 100)?,
            parent: None,
            attributes: Attributes::default(),
        };
        app.add_subjects(actor, vec![subject])
            .await
            .map_err(|(_, e)| e)?;
        let started = app
            .start_case(
                actor,
                StartCase {
                    subject: key,
                    blueprint: Some(BlueprintChoice::Source {
                        name: "bench".into(),
                        text: blueprint.clone(),
                    }),
                    exit_date: jiff::civil::date(2027, 1, 29),
                    owner: None,
                },
            )
            .await?;
        numbers.push(started.number);
    }
    Ok(numbers)
}
