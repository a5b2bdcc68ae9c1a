//! The departing client's page: behind a signed, expiring link, with no account, the client
//! downloads their export package and acknowledges receipt.

use std::net::SocketAddr;

use app::{App, AppError, Delivery};
use askama::Template;
use axum::Form;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use engine::ids::Text;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::ServerState;
use crate::extract::Path;
use crate::files::stream;
use crate::i18n::Language;
use crate::web::render;

pub fn routes() -> OpenApiRouter<ServerState> {
    OpenApiRouter::new()
        .routes(routes!(receive_page))
        .routes(routes!(receive_package))
        .routes(routes!(acknowledge))
}

#[derive(Template)]
#[template(path = "receive.html")]
struct ReceivePage {
    lang: Language,
    organization: String,
    /// The package's size, as "10.9 KB".
    size: String,
    sha256: String,
    /// When the link stops working, in words, in the organization's time zone.
    expires: String,
    package_href: String,
    acknowledge_href: String,
    /// Who acknowledged receipt, and when (in words).
    acknowledged: Option<(String, String)>,
}

/// The language the reader's browser asks for, of those there are catalogues for.
fn reader_language(headers: &HeaderMap) -> Language {
    Language::preferred(
        headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
    )
}

#[derive(Template)]
#[template(path = "link_problem.html")]
struct LinkProblem {
    lang: Language,
    title: String,
    detail: String,
}

/// A page for what went wrong with a link; the client is a person, not a program.
fn problem_page(lang: Language, e: AppError) -> Response {
    let (status, title) = match &e {
        AppError::Expired(_) => (StatusCode::GONE, "link-expired"),
        AppError::NotFound(_) => (StatusCode::NOT_FOUND, "link-invalid"),
        _ => {
            tracing::error!(error = %e, "a download link failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "link-trouble")
        }
    };
    let page = LinkProblem {
        title: lang.text(title),
        detail: lang.text("link-try-later"),
        lang,
    };
    (status, render(&page)).into_response()
}

/// The client's page
///
/// What the package holds, its digest, a download button and the acknowledgement form. No
/// authentication: the signed link is the credential.
#[utoipa::path(
    get,
    path = "/receive/{token}",
    tag = "delivery",
    params(("token" = String, Path, description = "The signed link token")),
    responses(
        (status = 200, description = "The page", body = String, content_type = "text/html"),
        (status = 404, description = "The link is not valid", body = String, content_type = "text/html"),
        (status = 410, description = "The link has expired", body = String, content_type = "text/html"),
    ),
)]
async fn receive_page(
    State(app): State<App>,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> Response {
    let lang = reader_language(&headers);
    match app.delivery(&token).await {
        Ok(delivery) => render(&page(lang, &token, delivery)).into_response(),
        Err(e) => problem_page(lang, e),
    }
}

fn page(lang: Language, token: &str, delivery: Delivery) -> ReceivePage {
    let Delivery {
        tenant,
        export,
        expires_at,
    } = delivery;
    let zone = tenant.time_zone.zone();
    ReceivePage {
        organization: tenant.name.as_str().to_owned(),
        size: lang.size(export.blob.as_ref().map_or(0, |b| b.size)),
        sha256: export
            .blob
            .as_ref()
            .map(|b| engine::audit::to_hex(&b.sha256))
            .unwrap_or_default(),
        expires: lang.instant(expires_at, &zone),
        package_href: format!("/receive/{token}/package"),
        acknowledge_href: format!("/receive/{token}/acknowledge"),
        acknowledged: export
            .acknowledged
            .map(|ack| (ack.name, lang.instant(ack.at, &zone))),
        lang,
    }
}

/// Download the package behind a link
#[utoipa::path(
    get,
    path = "/receive/{token}/package",
    tag = "delivery",
    params(("token" = String, Path, description = "The signed link token")),
    responses(
        (status = 200, description = "The package", body = Vec<u8>, content_type = "application/zip"),
        (status = 404, description = "The link is not valid", body = String, content_type = "text/html"),
        (status = 410, description = "The link has expired", body = String, content_type = "text/html"),
    ),
)]
async fn receive_package(
    State(app): State<App>,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> Response {
    match app.delivered_package(&token).await {
        Ok(download) => stream(download),
        Err(e) => problem_page(reader_language(&headers), e),
    }
}

#[derive(Deserialize, ToSchema)]
struct AcknowledgeForm {
    /// The client's full name, as they type it.
    name: String,
}

/// Acknowledge receipt
///
/// Records when, by which typed name and from which address the client acknowledged the
/// package; it becomes evidence on the case. The first acknowledgement counts.
#[utoipa::path(
    post,
    path = "/receive/{token}/acknowledge",
    tag = "delivery",
    params(("token" = String, Path, description = "The signed link token")),
    request_body(content = AcknowledgeForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "Back to the page, which shows the acknowledgement"),
        (status = 404, description = "The link is not valid", body = String, content_type = "text/html"),
        (status = 410, description = "The link has expired", body = String, content_type = "text/html"),
        (status = 422, description = "No name was typed", body = String, content_type = "text/html"),
    ),
)]
async fn acknowledge(
    State(app): State<App>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(token): Path<String>,
    form: Result<Form<AcknowledgeForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let lang = reader_language(&headers);
    let name = form.ok().and_then(|Form(f)| Text::line(&f.name, 200).ok());
    let Some(name) = name else {
        let page = LinkProblem {
            title: lang.text("link-name-needed"),
            detail: lang.text("link-name-needed-detail"),
            lang,
        };
        return (StatusCode::UNPROCESSABLE_ENTITY, render(&page)).into_response();
    };
    match app
        .acknowledge_delivery(&token, name, peer.ip().to_string())
        .await
    {
        Ok(_) => (
            [(header::CACHE_CONTROL, "no-store")],
            Redirect::to(&format!("/receive/{token}")),
        )
            .into_response(),
        Err(e) => problem_page(lang, e),
    }
}
