//! A completion certificate as a person reads and prints it: what was done, when and by whom,
//! the export's digest and the audit chain's head, and how anyone can check it. It is drawn
//! from the signed certificate itself (verified against the tenant's keys), which names the
//! subject by key only, so it reads the same after the subject is purged.

use askama::Template;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use engine::certificate::CertificateClaims;

use super::{Chrome, PageError, PagePath, People, Viewer};
use crate::ServerState;
use crate::inputs::case_number;

#[derive(Template)]
#[template(path = "web/certificate.html")]
struct CertificatePage {
    chrome: Chrome,
    number: i64,
    organization: String,
    subject: String,
    subject_kind: String,
    blueprint: String,
    completed: String,
    approver: String,
    export_digest: Option<String>,
    audit_seq: i64,
    audit_hash: String,
    checkpoint: bool,
    /// Where anyone fetches the keys that check the signature.
    jwks: String,
    file_name: String,
}

/// The certificate of a completed case, printable (A4 or Letter).
pub async fn show(
    State(state): State<ServerState>,
    viewer: Viewer,
    headers: HeaderMap,
    PagePath(n): PagePath<String>,
) -> Result<Response, PageError> {
    let app = &state.app;
    let actor = &viewer.actor;
    let number = case_number(&n)?;
    let row = app.certificate(actor, number).await?;
    let keys = app.tenant_keys(actor).await?;
    let claims = crypto::jose::verify::<CertificateClaims>(&row.token, &keys)
        .map_err(|e| {
            crate::error::internal(&format!("the stored certificate does not verify: {e}"))
        })?
        .claims;
    let people = People::load(app, actor).await?;
    let completed = claims
        .completed_at
        .parse::<jiff::Timestamp>()
        .map_or_else(|_| claims.completed_at.clone(), |t| viewer.when(t));
    let page = CertificatePage {
        chrome: viewer.chrome(
            "cases",
            viewer
                .lang
                .text_with("certificate-title", &[("number", &number)]),
        ),
        number,
        organization: actor.tenant.name.as_str().to_owned(),
        subject: claims.subject.key,
        subject_kind: claims.subject.kind,
        blueprint: format!("{}@{}", claims.blueprint.id, claims.blueprint.version),
        completed,
        approver: people.actor(&format!("user:{}", claims.approver)),
        export_digest: claims.export_digest,
        audit_seq: claims.audit_head.seq,
        audit_hash: claims.audit_head.hash,
        checkpoint: claims.audit_checkpoint.is_some(),
        jwks: format!("{}/.well-known/jwks.json", super::origin(&state, &headers)),
        file_name: format!("case-{number}-certificate.json"),
    };
    Ok(viewer.page(&page))
}
