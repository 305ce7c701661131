//! Document intake: `POST /v1/documents` hands out an upload URL (a presigned
//! S3 PUT in AWS; this API's own `PUT /v1/documents/{id}` locally), and
//! `PUT /v1/documents/{id}` takes small documents directly. Documents live
//! under the owner's prefix, so an id alone never reaches someone else's.

use crate::AppState;
use crate::extract::{Json, Writer};
use crate::problem::Problem;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ferry_core::message::upload_key;
use ferry_core::{BlobStore, JobId};
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

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
        None => format!("{}/v1/documents/{id}", origin(&headers)),
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
    let content_type = document_type(content_type)?;
    let limit = state.limits.max_direct_upload_bytes as usize;
    let bytes = axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| too_large(format!("direct uploads are limited to {limit} bytes; use POST /v1/documents")))?;
    if bytes.is_empty() {
        return Err(Problem::invalid_input("the document is empty"));
    }
    let size = bytes.len();
    blobs.put(&upload_key(&caller.subject, &id.to_string()), bytes.to_vec(), Some(content_type)).await?;
    Ok((StatusCode::CREATED, axum::Json(json!({ "document_id": id, "size": size }))).into_response())
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
