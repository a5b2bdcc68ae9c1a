//! A scratch tenant to measure against, and cases of `TASKS_PER_CASE` tasks opened in it.

use std::path::Path;

use app::{Actor, App, BlueprintChoice, Ids, MasterKey, StartCase};
use engine::fields::{PersonName, TenantName, TokenName};
use engine::ids::{Email, Slug, SubjectKey, Text};
use engine::subject::{Attributes, SubjectKind};
use store::Store;

use super::servers::Database;

/// Tasks per case in the write benchmark: a realistic case size, so each completion loads a
/// case of that many tasks.
pub(super) const TASKS_PER_CASE: u32 = 20;

pub(super) async fn setup(dir: &Path) -> anyhow::Result<(App, Actor)> {
    let store = Store::sqlite(&dir.join("exeunt.db"), true).await?;
    tenant_on(store, "bench").await
}

/// A new tenant called `slug` on `store`, and its owner.
pub(super) async fn tenant_on(store: Store, slug: &str) -> anyhow::Result<(App, Actor)> {
    tenant_sealed_by(
        store,
        MasterKey::from_bytes(Ids::from_entropy().secret()),
        slug,
    )
    .await
}

/// A new tenant called `slug` on `store`, sealed by `key` (which servers started on the same
/// database must share), and its owner.
pub(super) async fn tenant_sealed_by(
    store: Store,
    key: MasterKey,
    slug: &str,
) -> anyhow::Result<(App, Actor)> {
    let app = App::system(store, key);
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
                    confirmation: None,
                },
            )
            .await?;
        numbers.push(started.number);
    }
    Ok(numbers)
}

/// The id of [`employee_blueprint`].
pub(super) const EMPLOYEE_BLUEPRINT: &str = "bench-offboard";

/// A tenant called `slug` on `database`, with its owner, an owner's API token and the
/// employee blueprint of `tasks` tasks, written through the use cases.
pub(super) async fn employee_tenant(
    database: &Database,
    key: &MasterKey,
    slug: &Slug,
    tasks: u32,
) -> anyhow::Result<(App, Actor, String)> {
    let (app, actor) = tenant_sealed_by(
        database.open().await?,
        MasterKey::parse(&key.encode())?,
        slug.as_str(),
    )
    .await?;
    let token = owner_token(&app, &actor).await?;
    app.add_blueprint(&actor, EMPLOYEE_BLUEPRINT, &employee_blueprint(tasks))
        .await?;
    Ok((app, actor, token))
}

/// A new API token with the owner's role, for a benchmark's HTTP clients.
pub(super) async fn owner_token(app: &App, actor: &Actor) -> anyhow::Result<String> {
    Ok(app
        .issue_token(
            actor,
            TokenName::parse("bench")?,
            engine::tenant::Role::Owner,
            None,
        )
        .await?
        .secret)
}

/// An employee blueprint of `tasks` independent tasks in two stages, routed to two teams.
pub(super) fn employee_blueprint(tasks: u32) -> String {
    let task = |i: u32| {
        let team = if i.is_multiple_of(2) { "hr" } else { "it" };
        format!("      - id: t{i}\n        title: Task {i}\n        team: {team}\n")
    };
    let mut stages = String::new();
    for (id, range) in [("prepare", 0..tasks / 2), ("leave", tasks / 2..tasks)] {
        if !range.is_empty() {
            let list: String = range.map(task).collect();
            stages.push_str(&format!(
                "  - id: {id}\n    title: {id}\n    tasks:\n{list}"
            ));
        }
    }
    format!(
        "id: {EMPLOYEE_BLUEPRINT}\nversion: 1\ntitle: Bench offboarding\nscope: employee\nstages:\n{stages}"
    )
}
