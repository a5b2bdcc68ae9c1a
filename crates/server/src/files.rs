//! Files over HTTP: a document's file up and down, evidence down. Uploads are the raw request
//! body; downloads stream, opening the sealed chunks a few at a time.

use app::{App, Download, EvidenceContent, FILE_MAX_BYTES, Upload};
use axum::Json;
use axum::body::Body as HttpBody;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use engine::ids::EvidenceId;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;

use crate::ServerState;
use crate::docs::{BadRequest, Forbidden, JsonWriteProblems, Locked, NotFound, Unauthorized};
use crate::error::ApiError;
use crate::extract::{Caller, Params, Path, RawBody, segment};
use crate::inputs::{case_number, file_name, key, record_number};
use crate::views;

pub fn routes() -> OpenApiRouter<ServerState> {
    OpenApiRouter::new()
        .routes(
            routes!(download_record_file, attach_record_file)
                // The limit is the file's; a little more for the request's own framing.
                .layer(DefaultBodyLimit::max(FILE_MAX_BYTES + 1024)),
        )
        .routes(routes!(download_evidence))
        .routes(routes!(download_export))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct AttachParams {
    /// The file's name, without a directory.
    file_name: String,
}

/// Attach a file to a document
///
/// The request body is the file itself (up to 25 MiB), its `Content-Type` the file's media
/// type. It is stored encrypted with the subject's data key, replacing the document's earlier
/// file. A frozen subject's documents do not change (423).
#[utoipa::path(
    put,
    path = "/subjects/{key}/records/{number}/file",
    tag = "subjects",
    params(
        ("key" = String, Path, description = "The subject's key"),
        ("number" = i64, Path, description = "The document's record number"),
        AttachParams,
    ),
    request_body(content = Vec<u8>, content_type = "application/octet-stream",
        description = "The file's bytes"),
    responses(
        (status = 200, description = "The file as stored", body = views::RecordFile),
        JsonWriteProblems,
        (status = 404, response = NotFound),
        (status = 423, response = Locked),
    ),
    security(("token" = []), ("session" = [], "csrf" = [])),
)]
async fn attach_record_file(
    State(app): State<App>,
    Caller(actor): Caller,
    Path((k, n)): Path<(String, String)>,
    Params(params): Params<AttachParams>,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<Json<views::RecordFile>, ApiError> {
    let number = record_number(&n)?;
    let name = file_name("file_name", &params.file_name)?;
    let media_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/octet-stream")
        .to_owned();
    let upload = Upload {
        file_name: name,
        content: body.to_vec(),
    };
    let file = app
        .attach_file(&actor, &key(&k)?, number, upload, media_type)
        .await?;
    Ok(Json(file.into()))
}

/// Download a document's file
#[utoipa::path(
    get,
    path = "/subjects/{key}/records/{number}/file",
    tag = "subjects",
    params(
        ("key" = String, Path, description = "The subject's key"),
        ("number" = i64, Path, description = "The document's record number"),
    ),
    responses(
        (status = 200, description = "The file, decrypted as it streams", body = Vec<u8>,
            content_type = "application/octet-stream"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    ),
    security(("token" = []), ("session" = [])),
)]
async fn download_record_file(
    State(app): State<App>,
    Caller(actor): Caller,
    Path((k, n)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let number = record_number(&n)?;
    let download = app.record_file(&actor, &key(&k)?, number).await?;
    Ok(stream(download))
}

/// Download a piece of evidence
#[utoipa::path(
    get,
    path = "/cases/{number}/evidence/{id}",
    tag = "cases",
    params(
        ("number" = i64, Path, description = "The case number"),
        ("id" = String, Path, description = "The evidence id, as the case lists it"),
    ),
    responses(
        (status = 200, description = "The file, decrypted as it streams", body = Vec<u8>,
            content_type = "application/octet-stream"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
    ),
    security(("token" = []), ("session" = [])),
)]
async fn download_evidence(
    State(app): State<App>,
    Caller(actor): Caller,
    Path((n, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let id = segment(&id, "evidence", |v| v.parse::<uuid::Uuid>().map(EvidenceId))?;
    Ok(
        match app.evidence_file(&actor, case_number(&n)?, id).await? {
            EvidenceContent::Sealed(download) => stream(*download),
            EvidenceContent::Unsealed { file_name, content } => (
                file_headers(&file_name, "application/octet-stream", content.len()),
                content,
            )
                .into_response(),
        },
    )
}

/// Download the export package
///
/// The newest ready package of the case: a BagIt bag as a `.zip`, decrypted as it streams.
/// `exeunt export verify` or `bagit.py --validate` (after unzipping) check it offline.
#[utoipa::path(
    get,
    path = "/cases/{number}/exports/latest/package",
    tag = "cases",
    params(("number" = i64, Path, description = "The case number")),
    responses(
        (status = 200, description = "The package", body = Vec<u8>, content_type = "application/zip"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
    ),
    security(("token" = []), ("session" = [])),
)]
async fn download_export(
    State(app): State<App>,
    Caller(actor): Caller,
    Path(n): Path<String>,
) -> Result<Response, ApiError> {
    let download = app.export_package(&actor, case_number(&n)?).await?;
    Ok(stream(download))
}

/// The response headers of a download: its type, length, and a name to save it under.
fn file_headers(file_name: &str, media_type: &str, len: usize) -> HeaderMap {
    let mut headers = HeaderMap::new();
    let media_type = HeaderValue::from_str(media_type)
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    headers.insert(header::CONTENT_TYPE, media_type);
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    if let Ok(value) = HeaderValue::from_str(&content_disposition(file_name)) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    headers
}

/// `attachment` with the name twice (RFC 6266): `filename*`, the name itself in UTF-8,
/// percent-encoded, which browsers and curl prefer; and `filename`, an ASCII stand-in for
/// older clients (quotes, which would end it, and other characters become `_`).
pub(crate) fn content_disposition(file_name: &str) -> String {
    let ascii: String = file_name
        .chars()
        .map(|c| {
            if c == '"' || c == '\\' || !c.is_ascii() || c.is_ascii_control() {
                '_'
            } else {
                c
            }
        })
        .collect();
    let mut encoded = String::new();
    for byte in file_name.bytes() {
        // RFC 8187's attr-char: sent as it is; every other byte percent-encoded.
        if byte.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&byte) {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

/// Streams a sealed file: one database read and one decryption per megabyte.
pub(crate) fn stream(download: Download) -> Response {
    let headers = file_headers(
        &download.file_name,
        &download.media_type,
        usize::try_from(download.blob.size).unwrap_or(0),
    );
    let pieces = futures_util::stream::try_unfold(download, |mut download| async move {
        let piece = download.next_piece().await.map_err(|e| {
            tracing::error!(error = %e, "a download failed midway");
            std::io::Error::other("the file could not be read")
        })?;
        Ok::<_, std::io::Error>(piece.map(|p| (p, download)))
    });
    (headers, HttpBody::from_stream(pieces)).into_response()
}
