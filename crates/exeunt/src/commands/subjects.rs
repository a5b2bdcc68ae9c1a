//! Who is offboarded and what they hold: `exeunt subject` (with CSV import) and `record`.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, anyhow, bail};
use app::{Actor, App, NewSubject};
use engine::audit::to_hex;
use engine::ids::{SubjectKey, Text};
use engine::subject::{Attributes, RecordFields, Subject, SubjectKind};
use store::SubjectFilter;

use super::shared::{read_upload, save};
use crate::cli::{RecordCmd, SubjectCmd};
use crate::output::{json, listing, say, table};

fn attributes(pairs: &[(String, String)]) -> anyhow::Result<Attributes> {
    Ok(Attributes::parse(
        pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())),
    )?)
}

pub(super) async fn subject(
    app: &App,
    actor: &Actor,
    cmd: &SubjectCmd,
) -> anyhow::Result<ExitCode> {
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
            after,
            json: flag,
        } => {
            let filter = SubjectFilter {
                kind: *kind,
                include_offboarded: *all,
                parent: None,
                search: None,
                after: after.clone(),
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

pub(super) async fn record(app: &App, actor: &Actor, cmd: &RecordCmd) -> anyhow::Result<ExitCode> {
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
