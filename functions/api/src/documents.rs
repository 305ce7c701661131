//! Document intake: `POST /v1/documents` hands out an upload URL, and
//! `PUT /v1/documents/{id}` takes small documents directly. The upload URL is
//! a presigned S3 PUT in AWS; stores without presigned URLs (the local file
//! store) get this API's own `PUT /v1/uploads/{id}?…`, signed the same way
//! (owner, id, content type, exact size, expiry), so a client written
//! against AWS works unchanged. Documents live under the owner's prefix, so
//! an id alone never reaches someone else's.

use crate::AppState;
use crate::extract::{Json, Writer};
use crate::problem::Problem;
use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ferry_core::message::upload_key;
use ferry_core::{BlobStore, JobId, UploadGrant, UploadRefusal};
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

/// The signed upload route; the request guard lets its bodies past the API's
/// body limit (each grant's own size applies).
pub const SIGNED_UPLOAD_ROUTE: &str = "/v1/uploads/{id}";
/// Every signed upload URL's path starts with this (the id follows).
pub const SIGNED_UPLOAD_PREFIX: &str = "/v1/uploads/";

/// How long an upload URL stays valid.
const UPLOAD_URL_TTL: Duration = Duration::from_secs(15 * 60);

/// Content types a document may have.
pub const DOCUMENT_TYPES: &[&str] = &[
    "application/x-ndjson",
    "application/jsonl",
    "text/plain",
    "text/markdown",
    "application/pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewDocument {
    content_type: String,
    /// Exact size in bytes; the presigned URL accepts only this length.
    size: u64,
}

pub async fn create(
    Writer(caller): Writer,
    State(state): State<AppState>,
    headers: HeaderMap,
    Json(req): Json<NewDocument>,
) -> Result<Response, Problem> {
    let blobs = blobs(&state)?;
    let content_type = document_type(&req.content_type)?;
    let max = state.limits.max_document_bytes;
    if req.size == 0 || req.size > max {
        return Err(too_large(format!("size must be between 1 and {max} bytes")));
    }
    let id = JobId::new().to_string();
    let key = upload_key(&caller.subject, &id);
    let expires_at = ferry_core::job::now() + UPLOAD_URL_TTL;
    let url = match blobs.upload_url(&key, content_type, req.size, UPLOAD_URL_TTL).await? {
        Some(url) => url,
        None => {
            let grant = UploadGrant {
                owner: caller.subject.clone(),
                document_id: id.clone(),
                content_type: content_type.to_owned(),
                size: req.size,
                expires: u64::try_from(expires_at.unix_timestamp()).unwrap_or(0),
            };
            own_upload_url(&state, &headers, &grant)
        }
    };
    let body = json!({
        "document_id": id,
        "upload_url": url,
        "method": "PUT",
        "headers": { "content-type": content_type },
        "max_bytes": req.size,
        "expires_at": expires_at.format(&time::format_description::well_known::Rfc3339).ok(),
    });
    Ok((StatusCode::CREATED, axum::Json(body)).into_response())
}

pub async fn upload(
    Writer(caller): Writer,
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Problem> {
    let blobs = blobs(&state)?;
    let id: JobId = id.parse().map_err(|_| Problem::not_found(format!("no document {id}")))?;
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("text/plain");
    let limit = state.limits.max_direct_upload_bytes as usize;
    let (bytes, content_type) = match multer::parse_boundary(content_type) {
        Ok(boundary) => multipart_file(body, boundary, limit).await?,
        Err(_) => (read_direct(body, limit).await?, Some(document_type(content_type)?)),
    };
    if bytes.is_empty() {
        return Err(Problem::invalid_input("the document is empty"));
    }
    let size = bytes.len();
    blobs.put(&upload_key(&caller.subject, &id.to_string()), bytes, content_type).await?;
    Ok((StatusCode::CREATED, axum::Json(json!({ "document_id": id, "size": size }))).into_response())
}

async fn read_direct(body: Body, limit: usize) -> Result<Vec<u8>, Problem> {
    let bytes = axum::body::to_bytes(body, limit).await.map_err(|_| direct_too_large(limit))?;
    Ok(bytes.to_vec())
}

fn direct_too_large(limit: usize) -> Problem {
    too_large(format!("direct uploads are limited to {limit} bytes; use POST /v1/documents"))
}

/// The file of a `multipart/form-data` upload (an HTML form's or `curl -F
/// file=@resume.pdf`): the part named `file`, or else the first part with a
/// file name. Its own content type must be a document type; a part sent as
/// `application/octet-stream` or without one is stored untyped (the worker
/// tells formats by content anyway).
async fn multipart_file(
    body: Body,
    boundary: String,
    limit: usize,
) -> Result<(Vec<u8>, Option<&'static str>), Problem> {
    // The form's own headers and boundaries get 64 KiB beyond the file.
    let sizes = multer::SizeLimit::new().whole_stream(limit as u64 + 64 * 1024).per_field(limit as u64);
    let constraints = multer::Constraints::new().size_limit(sizes);
    let mut form = multer::Multipart::with_constraints(body.into_data_stream(), boundary, constraints);
    let malformed = |e: multer::Error| match e {
        multer::Error::StreamSizeExceeded { .. } | multer::Error::FieldSizeExceeded { .. } => direct_too_large(limit),
        e => Problem::invalid_input(format!("malformed multipart/form-data: {e}")),
    };
    while let Some(field) = form.next_field().await.map_err(malformed)? {
        if field.name() != Some("file") && field.file_name().is_none() {
            continue;
        }
        let content_type = match field.content_type().map(|m| m.essence_str().to_ascii_lowercase()) {
            None => None,
            Some(t) if t == "application/octet-stream" => None,
            Some(t) => Some(document_type(&t)?),
        };
        let bytes = field.bytes().await.map_err(malformed)?.to_vec();
        return Ok((bytes, content_type));
    }
    Err(Problem::invalid_input("the multipart/form-data upload has no file part (name it \"file\")"))
}

/// `PUT /v1/uploads/{id}?<signed query>`: the local stand-in for a presigned
/// S3 PUT. No Authorization header: the signature is the credential, and it
/// allows exactly one owner's document, type and size until it expires. A
/// second PUT before then replaces the document, as S3 allows.
pub async fn signed_upload(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Problem> {
    let blobs = blobs(&state)?;
    let grant = verify_grant(&state, &id, query.as_deref().unwrap_or(""))?;
    expect_content_type(&headers, &grant.content_type)?;
    let bytes = read_exactly(&headers, body, grant.size).await?;
    let key = upload_key(&grant.owner, &grant.document_id);
    // `Vec::from` takes the buffer over rather than copying up to 64 MiB.
    blobs.put(&key, Vec::from(bytes), Some(&grant.content_type)).await?;
    let body = json!({ "document_id": grant.document_id, "size": grant.size });
    Ok((StatusCode::OK, axum::Json(body)).into_response())
}

/// This API's own upload URL: signed when a signer is configured, else the
/// direct upload route (which needs the caller's credential).
fn own_upload_url(state: &AppState, headers: &HeaderMap, grant: &UploadGrant) -> String {
    let origin = origin(headers);
    let id = &grant.document_id;
    match &state.upload_signer {
        Some(signer) => format!("{origin}{SIGNED_UPLOAD_PREFIX}{id}?{}", signer.sign(grant)),
        None => format!("{origin}/v1/documents/{id}"),
    }
}

fn verify_grant(state: &AppState, id: &str, query: &str) -> Result<UploadGrant, Problem> {
    let signer = state.upload_signer.as_ref().ok_or_else(|| Problem::not_found("this server signs no upload URLs"))?;
    let now = u64::try_from(ferry_core::job::now().unix_timestamp()).unwrap_or(0);
    let grant = signer.verify(id, query, now).map_err(refused)?;
    // Grants outlive a restart with lower limits; the current limit wins.
    let max = state.limits.max_document_bytes;
    if grant.size > max {
        return Err(too_large(format!("documents are limited to {max} bytes")));
    }
    Ok(grant)
}

fn refused(reason: UploadRefusal) -> Problem {
    match reason {
        UploadRefusal::Expired => Problem::new(
            StatusCode::FORBIDDEN,
            "upload-url-expired",
            "Upload URL expired",
            "this upload URL has expired; ask POST /v1/documents for a new one",
        ),
        other => {
            Problem::new(StatusCode::FORBIDDEN, "invalid-upload-signature", "Invalid upload URL", other.to_string())
        }
    }
}

/// The exact Content-Type signed in, as S3 compares it: a client that
/// passes here passes there.
fn expect_content_type(headers: &HeaderMap, signed: &str) -> Result<(), Problem> {
    let sent = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    if sent == Some(signed) {
        return Ok(());
    }
    Err(Problem::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported-media-type",
        "Unsupported media type",
        format!("this upload URL was signed for Content-Type: {signed}"),
    ))
}

/// The body, which must be exactly `size` bytes with a Content-Length that
/// says so (S3 requires both for a presigned PUT). Reads at most `size`.
async fn read_exactly(headers: &HeaderMap, body: Body, size: u64) -> Result<Bytes, Problem> {
    let Some(declared) = headers.get(header::CONTENT_LENGTH) else {
        return Err(Problem::new(
            StatusCode::LENGTH_REQUIRED,
            "length-required",
            "Content-Length required",
            format!("send Content-Length: {size}"),
        ));
    };
    if declared.to_str().ok().and_then(|v| v.parse::<u64>().ok()) != Some(size) {
        return Err(size_mismatch(size));
    }
    let limit = usize::try_from(size).map_err(|_| size_mismatch(size))?;
    let bytes = axum::body::to_bytes(body, limit).await.map_err(|_| size_mismatch(size))?;
    if bytes.len() != limit {
        return Err(size_mismatch(size));
    }
    Ok(bytes)
}

fn size_mismatch(size: u64) -> Problem {
    Problem::new(
        StatusCode::BAD_REQUEST,
        "upload-size-mismatch",
        "Upload size mismatch",
        format!("this upload URL was signed for exactly {size} bytes"),
    )
}

fn blobs(state: &AppState) -> Result<&Arc<dyn BlobStore>, Problem> {
    state.blobs.as_ref().ok_or_else(|| {
        Problem::new(StatusCode::NOT_IMPLEMENTED, "documents-disabled", "Documents disabled", "no document store")
    })
}

fn document_type(content_type: &str) -> Result<&'static str, Problem> {
    let essence = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    DOCUMENT_TYPES.iter().find(|t| **t == essence).copied().ok_or_else(|| {
        Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "Unsupported media type",
            format!("documents may be one of {}", DOCUMENT_TYPES.join(", ")),
        )
    })
}

fn too_large(detail: String) -> Problem {
    Problem::new(StatusCode::PAYLOAD_TOO_LARGE, "payload-too-large", "Document too large", detail)
}

/// Where this API is reachable, as the caller addressed it.
fn origin(headers: &HeaderMap) -> String {
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("127.0.0.1");
    let scheme = headers.get("x-forwarded-proto").and_then(|v| v.to_str().ok()).unwrap_or("http");
    format!("{scheme}://{host}")
}
