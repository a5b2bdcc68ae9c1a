//! Completion certificates: when a case completes, the tenant signs what happened (see
//! `engine::certificate`) with its Ed25519 key. The key is made on first use; its private
//! half is stored only sealed by the tenant key, which the master key derives.

use crypto::jose::{Ed25519Key, Jwk, Jwks};
use engine::audit::to_hex;
use engine::case::CaseFile;
use engine::certificate::CertificateClaims;
use engine::export::ExportStatus;
use engine::ids::TenantId;
use engine::subject::Subject;
use serde_json::json;
use sha2::{Digest, Sha256};
use store::{CertificateRow, SigningKeyRow, Tx};

use crate::{Actor, App, AppError, Result, Target};

/// What a sealed signing key is bound to: it opens for nothing else.
const SIGNING_KEY: &str = "exeunt signing key";

impl App {
    /// Signs and stores the certificate of a case that just completed, in the transaction
    /// that completed it, after its last audit event: the claims carry that chain head.
    pub(crate) async fn issue_certificate(
        &self,
        tx: &mut Tx,
        actor: &Actor,
        file: &CaseFile,
        subject: &Subject,
    ) -> Result<()> {
        let head = tx
            .audit_head(actor.tenant.id)
            .await?
            .ok_or_else(|| AppError::Conflict("the audit chain is empty".into()))?;
        let export_digest = tx
            .exports(actor.tenant.id, file.case.id)
            .await?
            .into_iter()
            .find(|e| e.status == ExportStatus::Ready)
            .and_then(|e| e.blob)
            .map(|b| b.sha256);
        let Some(mut claims) =
            CertificateClaims::for_case(&actor.tenant, subject, &file.case, head, export_digest)
        else {
            return Ok(());
        };
        claims.audit_checkpoint = self.checkpoint(tx, &actor.tenant).await?.map(|c| c.token);
        let key = self.signing_key(tx, actor.tenant.id).await?;
        let token = key.sign(&claims);
        let kid = key.jwk().id();
        let at = self.now();
        tx.insert_certificate(
            actor.tenant.id,
            &CertificateRow {
                case_id: file.case.id,
                kid: kid.clone(),
                token: token.clone(),
                issued_at: at,
            },
        )
        .await?;
        let number = file.case.number;
        self.audit(
            tx,
            actor,
            at,
            "certificate.issued",
            Target::of(file.case.subject_id, "case", number.to_string()),
            json!({
                "summary": format!("signed the completion certificate of case {number}"),
                "kid": kid, "sha256": to_hex(&Sha256::digest(token.as_bytes())),
                "audit_head": claims.audit_head.seq,
            }),
        )
        .await?;
        Ok(())
    }

    /// The tenant's newest signing key, made and stored (sealed) the first time it is needed.
    pub(crate) async fn signing_key(&self, tx: &mut Tx, tenant: TenantId) -> Result<Ed25519Key> {
        let tenant_key = self.master.tenant_key(tenant.0.as_bytes());
        if let Some(row) = tx.signing_keys(Some(tenant)).await?.first() {
            let seed: [u8; 32] = tenant_key
                .open(SIGNING_KEY, &row.sealed_private_key)?
                .try_into()
                .map_err(|_| {
                    AppError::Conflict(format!("signing key {} is not 32 bytes", row.kid))
                })?;
            return Ok(Ed25519Key::from_seed(seed));
        }
        let key = Ed25519Key::from_seed(self.ids.secret());
        let nonce = self.ids.secret();
        let mut sealing_nonce = [0u8; crypto::seal::NONCE_LEN];
        sealing_nonce.copy_from_slice(&nonce[..crypto::seal::NONCE_LEN]);
        tx.insert_signing_key(&SigningKeyRow {
            tenant_id: tenant,
            kid: key.jwk().id(),
            public_key: key.public_key(),
            sealed_private_key: tenant_key.seal(SIGNING_KEY, &key.seed(), sealing_nonce),
            created_at: self.now(),
        })
        .await?;
        Ok(key)
    }

    /// The certificate of a completed case, as a compact JWS.
    pub async fn certificate(&self, actor: &Actor, number: i64) -> Result<CertificateRow> {
        let mut tx = self.store.read().await?;
        let file = self.locked_case(&mut tx, actor, number).await?;
        tx.certificate(actor.tenant.id, file.case.id)
            .await?
            .ok_or_else(|| {
                AppError::NotFound(format!(
                    "case {number} has no certificate: only a case that completed gets one"
                ))
            })
    }

    /// The acting tenant's public keys, to verify its certificates offline.
    pub async fn tenant_keys(&self, actor: &Actor) -> Result<Jwks> {
        let mut tx = self.store.read().await?;
        Ok(jwks(&tx.signing_keys(Some(actor.tenant.id)).await?))
    }

    /// Every tenant's public keys, named only by their thumbprints: what
    /// `/.well-known/jwks.json` serves to anyone who verifies a certificate.
    pub async fn published_keys(&self) -> Result<Jwks> {
        let mut tx = self.store.read().await?;
        Ok(jwks(&tx.signing_keys(None).await?))
    }
}

/// The public halves of signing keys, as a JWK set.
pub(crate) fn jwks(rows: &[SigningKeyRow]) -> Jwks {
    Jwks {
        keys: rows
            .iter()
            .map(|r| Jwk::from_public_key(&r.public_key))
            .collect(),
    }
}
