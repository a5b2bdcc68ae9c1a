//! Helpers several command areas use: the store's location, team slugs, blueprints, files in/out.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, anyhow};
use app::{Actor, App, AppError, BlueprintChoice, Download, Upload};
use engine::fields::FileName;
use engine::ids::Slug;
use store::{KeyringLocation, Location, Store};

use crate::cli::Cli;
use crate::output::note_reader_gone;

pub(super) fn location(cli: &Cli) -> Location {
    Location::choose(cli.database_url.as_deref(), &cli.data_dir)
}

/// Opens the store at `location` with the keyring `--keyring` names, or the one beside it.
pub(super) async fn open_store(
    cli: &Cli,
    location: &Location,
    create: bool,
) -> Result<Store, store::StoreError> {
    let keyring = match &cli.keyring {
        Some(named) => KeyringLocation::parse(named),
        None => KeyringLocation::beside(location)?,
    };
    Store::open_with_keyring(location, &keyring, create).await
}

/// The slugs of the acting tenant's teams: the owners a blueprint's tasks may name.
pub(super) async fn team_slugs(app: &App, actor: &Actor) -> anyhow::Result<Vec<String>> {
    Ok(app
        .teams(actor)
        .await?
        .into_iter()
        .map(|t| t.slug.to_string())
        .collect())
}

pub(super) fn choice(arg: &str) -> anyhow::Result<BlueprintChoice> {
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

/// Lint problems print as the error's lines would in `lint`, on one line each.
pub(super) fn blueprint_error(e: AppError) -> anyhow::Error {
    match e {
        AppError::Blueprint { name, diagnostics } => {
            let all: Vec<String> = diagnostics.iter().map(|d| format!("{name}:{d}")).collect();
            anyhow!("blueprint has problems: {}", all.join("; "))
        }
        other => other.into(),
    }
}

/// A file from disk, named by its own file name.
pub(super) fn read_upload(path: &Path, what: &str) -> anyhow::Result<Upload> {
    let content =
        std::fs::read(path).with_context(|| format!("cannot read {what} {}", path.display()))?;
    let given = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| anyhow!("{what} {} names no file", path.display()))?;
    let file_name = FileName::parse(&given)
        .map_err(|e| anyhow!("{what} {}: its name {e}", path.display()))?
        .into_string();
    Ok(Upload { file_name, content })
}

/// Writes a download piece by piece, to a file or standard output.
pub(super) async fn save(mut download: Download, output: Option<&Path>) -> anyhow::Result<()> {
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
