//! `exeunt key export`, `exeunt certificate verify` and `exeunt export verify`: what a third
//! party needs to check a completion certificate or an export package, with or without this
//! Exeunt's database.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, anyhow, bail};
use app::{Actor, App};
use crypto::jose::{self, Jwk, Jwks};
use engine::audit::to_hex;
use engine::certificate::CertificateClaims;
use engine::certificate::ExportReceiptClaims;
use sha2::{Digest, Sha256};

use crate::cli::KeyCmd;
use crate::output::{say, write_out};

pub async fn key(app: &App, actor: &Actor, cmd: &KeyCmd) -> anyhow::Result<ExitCode> {
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
        say!("Wrote {} key(s) to {}.", keys.keys.len(), path.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// Verifies against a key file alone: no database, no network.
pub fn verify_offline(file: &Path, key: &Path) -> anyhow::Result<ExitCode> {
    verify(file, &read_keys(key)?)
}

/// A JWK set or a single JWK from a file.
pub(crate) fn read_keys(key: &Path) -> anyhow::Result<Jwks> {
    let text =
        std::fs::read_to_string(key).with_context(|| format!("cannot read {}", key.display()))?;
    serde_json::from_str::<Jwks>(&text)
        .or_else(|_| serde_json::from_str::<Jwk>(&text).map(|k| Jwks { keys: vec![k] }))
        .map_err(|_| {
            anyhow!(
                "{} is not a JWK set or a JWK; expected the output of `exeunt key export`",
                key.display()
            )
        })
}

/// Checks an export package offline; with a receipt and keys, also that the receipt is signed
/// by the tenant and names this very file.
pub fn verify_package(
    file: &Path,
    receipt: Option<&Path>,
    key: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    let open =
        || std::fs::File::open(file).with_context(|| format!("cannot read {}", file.display()));
    let bag = bagit::verify(open()?)
        .map_err(|e| anyhow!("{} is not a valid export package: {e}", file.display()))?;
    say!(
        "Valid BagIt package `{}`: {} payload files, {} bytes; every digest matches.",
        bag.bag_name,
        bag.payload_files,
        bag.payload_bytes
    );
    for (label, value) in &bag.info {
        say!("  {label}: {value}");
    }
    if let (Some(receipt), Some(key)) = (receipt, key) {
        let keys = read_keys(key)?;
        let token = std::fs::read_to_string(receipt)
            .with_context(|| format!("cannot read {}", receipt.display()))?;
        let claims = jose::verify::<ExportReceiptClaims>(&token, &keys)
            .map_err(|e| anyhow!("{} does not verify: {e}", receipt.display()))?
            .claims;
        let mut digest = Sha256::new();
        let mut package = open()?;
        let mut buffer = vec![0u8; 64 * 1024];
        loop {
            let n = std::io::Read::read(&mut package, &mut buffer)?;
            if n == 0 {
                break;
            }
            digest.update(&buffer[..n]);
        }
        let actual = format!("sha256:{}", to_hex(&digest.finalize()));
        if actual != claims.bag_digest {
            bail!(
                "{} is not the package the receipt names: its digest is {actual}, the receipt says {}",
                file.display(),
                claims.bag_digest
            );
        }
        say!(
            "The signed receipt names this file: export {} of case {} ({}), {}.",
            claims.jti,
            claims.case.number,
            claims.sub,
            claims.bag_digest
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Verifies against the keys of the Exeunt the flags point at.
pub async fn verify_here(app: &App, file: &Path) -> anyhow::Result<ExitCode> {
    let keys = app.published_keys().await?;
    verify(file, &keys)
}

fn verify(file: &Path, keys: &Jwks) -> anyhow::Result<ExitCode> {
    let token =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let verified = jose::verify::<CertificateClaims>(&token, keys)
        .map_err(|e| anyhow!("{} does not verify: {e}", file.display()))?;
    let c = verified.claims;
    say!(
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
