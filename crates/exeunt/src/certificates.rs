//! `exeunt key export` and `exeunt certificate verify`: what a third party needs to check a
//! completion certificate, with or without this Exeunt's database.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, anyhow};
use app::{Actor, App};
use crypto::jose::{self, Jwk, Jwks};
use engine::certificate::CertificateClaims;
use store::Store;

use crate::cli::KeyCmd;
use crate::output::write_out;

pub async fn key<S: Store>(app: &App<S>, actor: &Actor, cmd: &KeyCmd) -> anyhow::Result<ExitCode> {
    let KeyCmd::Export { output } = cmd;
    let keys = app.tenant_keys(actor).await?;
    if keys.keys.is_empty() {
        eprintln!(
            "Tenant `{}` has no signing key yet: it gets one when its first case completes.",
            actor.tenant.slug
        );
    }
    let mut text = serde_json::to_string_pretty(&keys)?;
    text.push('\n');
    write_out(output.as_deref(), text.as_bytes())?;
    if let Some(path) = output {
        println!("Wrote {} key(s) to {}.", keys.keys.len(), path.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// Verifies against a key file alone: no database, no network.
pub fn verify_offline(file: &Path, key: &Path) -> anyhow::Result<ExitCode> {
    let text =
        std::fs::read_to_string(key).with_context(|| format!("cannot read {}", key.display()))?;
    let keys = serde_json::from_str::<Jwks>(&text)
        .or_else(|_| serde_json::from_str::<Jwk>(&text).map(|k| Jwks { keys: vec![k] }))
        .map_err(|_| {
            anyhow!(
                "{} is not a JWK set or a JWK; expected the output of `exeunt key export`",
                key.display()
            )
        })?;
    verify(file, &keys)
}

/// Verifies against the keys of the Exeunt the flags point at.
pub async fn verify_here<S: Store>(app: &App<S>, file: &Path) -> anyhow::Result<ExitCode> {
    let keys = app.published_keys().await?;
    verify(file, &keys)
}

fn verify(file: &Path, keys: &Jwks) -> anyhow::Result<ExitCode> {
    let token =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let verified = jose::verify::<CertificateClaims>(&token, keys)
        .map_err(|e| anyhow!("{} does not verify: {e}", file.display()))?;
    let c = verified.claims;
    println!(
        "Valid certificate, signed by key {}.\n\
         Tenant {} ({}): {} `{}` is fully offboarded ({}).\n\
         Case {} ({}) with blueprint {}@{}, completed {} by user {}.\n\
         Audit chain head at completion: event {}, hash {}.\n\
         Export digest: {}.",
        verified.kid,
        c.tenant.slug,
        c.tenant.id,
        c.subject.kind,
        c.subject.key,
        c.resolution,
        c.case.number,
        c.case.id,
        c.blueprint.id,
        c.blueprint.version,
        c.completed_at,
        c.approver,
        c.audit_head.seq,
        c.audit_head.hash,
        c.export_digest
            .as_deref()
            .unwrap_or("none (no export was built)"),
    );
    Ok(ExitCode::SUCCESS)
}
