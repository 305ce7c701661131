//! Document intake: `POST /v1/documents` hands out an upload URL, and
//! `PUT /v1/documents/{id}` takes small documents directly. The upload URL is
//! a presigned S3 PUT in AWS; stores without presigned URLs (the local file
//! store) get this API's own `PUT /v1/uploads/{id}?…`, signed the same way
//! (owner, id, content type, exact size, expiry), so a client written
//! against AWS works unchanged. Documents live under the owner's prefix, so
//! an id alone never reaches someone else's.

use crate::AppState;
use crate::extract::{Json, Writer};
use crate::problem::{Problem, ProblemType};
use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ferry_core::message::upload_key;
use ferry_core::{BlobError, JobId, Size, UploadGrant, UploadRefusal};
use futures_util::TryStreamExt;
use serde::Deserialize;
use serde_json::json;
use std::time::Duration;

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

/// A document to upload: its type and exact size.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDocument {
    /// One of the document types (PDF, DOCX, text, Markdown, JSONL).
    #[schema(example = "application/pdf")]
    content_type: String,
    /// Exact size in bytes; the presigned URL accepts only this length.
    size: u64,
    /// The client's name for the file, echoed in the answer (at most 255 bytes).
    #[serde(default)]
    filename: Option<String>,
}

/// Longest `filename` echoed.
const MAX_FILENAME_BYTES: usize = 255;

#[utoipa::path(
    post, path = "/v1/documents", tag = "documents",
    request_body = NewDocument,
    responses(
        (status = 201, description = "PUT the bytes to `upload_url` with exactly `headers` and no credential", body = crate::openapi::UploadGrant),
        crate::openapi::BodyProblems,
        crate::openapi::CallerProblems,
    ),
    security(("bearer" = []), ("api_key" = []))
)]
pub async fn create(
    Writer(caller): Writer,
    State(state): State<AppState>,
    Json(req): Json<NewDocument>,
) -> Result<Response, Problem> {
    let blobs = &state.blobs;
    let content_type = document_type(&req.content_type)?;
    let max = state.limits.max_document_bytes;
    if req.size == 0 {
        return Err(Problem::invalid_input("size must be the document's exact length in bytes, at least 1"));
    }
    if req.size > max {
        return Err(too_large(format!("size must be between 1 and {max} bytes")));
    }
    if req.filename.as_ref().is_some_and(|f| f.len() > MAX_FILENAME_BYTES || f.chars().any(char::is_control)) {
        return Err(Problem::invalid_input(format!(
            "filename must be at most {MAX_FILENAME_BYTES} bytes, without control characters"
        )));
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
            own_upload_url(&state, &grant)
        }
    };
    let mut body = json!({
        "document_id": id,
        "upload_url": url,
        "method": "PUT",
        "headers": { "content-type": content_type },
        "max_bytes": req.size,
        "expires_at": expires_at.format(&time::format_description::well_known::Rfc3339).ok(),
    });
    if let Some(filename) = req.filename {
        body["filename"] = json!(filename);
    }
    Ok((StatusCode::CREATED, axum::Json(body)).into_response())
}

#[utoipa::path(
    put, path = "/v1/documents/{id}", tag = "documents",
    params(("id" = String, Path, description = "Any new UUID: the document's id")),
    request_body(content(
        ("application/pdf"), ("application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        ("text/plain"), ("text/markdown"), ("application/x-ndjson"), ("application/jsonl"), ("multipart/form-data")
    ), description = "The document itself (at most 5 MiB), or a form whose part `file` holds it"),
    responses(
        (status = 201, description = "Stored", body = crate::openapi::Uploaded),
        (status = 400, description = "A malformed form", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 408, description = "The body stopped arriving", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Over 5 MiB", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not a document type", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 422, description = "The id is not a UUID, or the form has no file", body = crate::openapi::Problem, content_type = "application/problem+json"),
        crate::openapi::CallerProblems,
    ),
    security(("bearer" = []), ("api_key" = []))
)]
pub async fn upload(
    Writer(caller): Writer,
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Problem> {
    let id: JobId = id.parse().map_err(|_| {
        Problem::invalid_input(
            "a document id is a UUID: PUT to /v1/documents/ and any new UUID (e.g. from uuidgen), or use the \
             document_id and upload_url that POST /v1/documents answers",
        )
    })?;
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("text/plain");
    let limit = state.limits.max_direct_upload_bytes;
    let key = upload_key(&caller.subject, &id.to_string());
    let size = match multer::parse_boundary(content_type) {
        Ok(boundary) => multipart_file(&state, &key, body, boundary, limit).await?,
        Err(_) => {
            let content_type = document_type(content_type)?;
            store(&state, &key, body.into_data_stream(), Size::AtMost(limit), Some(content_type)).await?
        }
    };
    Ok((StatusCode::CREATED, axum::Json(json!({ "document_id": id, "size": size }))).into_response())
}

/// Streams `body` into the blob store as `key` (in bounded memory on file
/// blobs), with the problem each refusal deserves.
async fn store<S, E>(
    state: &AppState,
    key: &str,
    body: S,
    size: Size,
    content_type: Option<&str>,
) -> Result<u64, Problem>
where
    S: futures_util::Stream<Item = Result<Bytes, E>> + Send + Unpin,
    E: std::error::Error + 'static,
{
    // The store sees a failing body as I/O; what the client did wrong
    // (too slow, too large, malformed) is noted here and answered as such.
    let failure = std::sync::Arc::new(std::sync::Mutex::new(None));
    let noted = std::sync::Arc::clone(&failure);
    let body = body.map_err(move |e| {
        *noted.lock().unwrap_or_else(|p| p.into_inner()) = body_failure(&e, size.max());
        std::io::Error::other(e.to_string())
    });
    let mut reader = tokio_util::io::StreamReader::new(body);
    let stored = state.blobs.put_stream(key, &mut reader, size, content_type).await;
    if let Some(problem) = failure.lock().unwrap_or_else(|p| p.into_inner()).take() {
        return Err(problem);
    }
    match stored {
        Ok(n) => Ok(n),
        Err(BlobError::TooLarge(_)) => Err(direct_too_large(size.max())),
        Err(BlobError::Invalid(_)) => Err(size_mismatch(size.max())),
        Err(e) => Err(e.into()),
    }
}

/// The client's fault in a body that failed while streaming, if it was one.
fn body_failure(e: &(dyn std::error::Error + 'static), limit: u64) -> Option<Problem> {
    if crate::guard::too_slow(e) {
        return Some(crate::guard::body_timeout());
    }
    match e.downcast_ref::<multer::Error>()? {
        multer::Error::StreamSizeExceeded { .. } | multer::Error::FieldSizeExceeded { .. } => {
            Some(direct_too_large(limit))
        }
        multer::Error::StreamReadFailed(cause) => body_failure(cause.as_ref(), limit),
        other => Some(Problem::invalid_input(format!("malformed multipart/form-data: {other}"))),
    }
}

fn direct_too_large(limit: u64) -> Problem {
    too_large(format!("direct uploads are limited to {limit} bytes; use POST /v1/documents"))
}

/// The file of a `multipart/form-data` upload (an HTML form's or `curl -F
/// file=@resume.pdf`): the part named `file`, or else the first part with a
/// file name, streamed to the store. Its own content type must be a
/// document type; a part sent as `application/octet-stream` or without one
/// is stored untyped (the worker tells formats by content anyway).
async fn multipart_file(state: &AppState, key: &str, body: Body, boundary: String, limit: u64) -> Result<u64, Problem> {
    // The form's own headers and boundaries get 64 KiB beyond the file.
    let sizes = multer::SizeLimit::new().whole_stream(limit + 64 * 1024).per_field(limit);
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
        return store(state, key, field, Size::AtMost(limit), content_type).await;
    }
    Err(Problem::invalid_input("the multipart/form-data upload has no file part (name it \"file\")"))
}

/// `PUT /v1/uploads/{id}?<signed query>`: the local stand-in for a presigned
/// S3 PUT. No Authorization header: the signature is the credential, and it
/// allows exactly one owner's document, type and size until it expires. A
/// second PUT before then replaces the document, as S3 allows.
#[utoipa::path(
    put, path = "/v1/uploads/{id}", tag = "documents",
    description = "`ferry serve` only: the signed URL `POST /v1/documents` answers with. No credential: the signature in the query is one.",
    params(("id" = String, Path, description = "The document's id")),
    request_body(content(("application/octet-stream")), description = "Exactly the signed size, with the signed Content-Type"),
    responses(
        (status = 200, description = "Stored", body = crate::openapi::Uploaded),
        (status = 400, description = "The body's size differs from the signed one", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 403, description = "The signature is wrong or expired", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 404, description = "This server signs no upload URLs", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 408, description = "The body stopped arriving", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Another upload to this document is in progress", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 411, description = "No Content-Length", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Over the limit", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not the signed Content-Type", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Over the owner's rate limit", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Too many uploads at once", body = crate::openapi::Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn signed_upload(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Problem> {
    let grant = verify_grant(&state, &id, query.as_deref().unwrap_or(""))?;
    // The grant's owner pays for it: a replayed URL is rate limited like
    // any of the owner's requests, and one document takes one upload at a time.
    if let Some(limiter) = &state.rate_limit {
        limiter.check(&grant.owner)?;
    }
    let _slot = state.uploads.enter(&grant.document_id)?;
    expect_content_type(&headers, &grant.content_type)?;
    declared_length(&headers, grant.size)?;
    let key = upload_key(&grant.owner, &grant.document_id);
    store(&state, &key, body.into_data_stream(), Size::Exactly(grant.size), Some(&grant.content_type)).await?;
    let body = json!({ "document_id": grant.document_id, "size": grant.size });
    Ok((StatusCode::OK, axum::Json(body)).into_response())
}

/// This API's own upload URL, under its configured public address (never
/// one built from the request's `Host`): signed when a signer is
/// configured, else the direct upload route (which needs the caller's
/// credential).
fn own_upload_url(state: &AppState, grant: &UploadGrant) -> String {
    let origin = state.public_url.trim_end_matches('/');
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
            ProblemType::UploadUrlExpired,
            "this upload URL has expired; ask POST /v1/documents for a new one",
        ),
        other => Problem::new(ProblemType::InvalidUploadSignature, other.to_string()),
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
        ProblemType::UnsupportedMediaType,
        format!("this upload URL was signed for Content-Type: {signed}"),
    ))
}

/// A Content-Length that says exactly `size` (S3 requires one for a
/// presigned PUT); the body is then held to it while it streams.
fn declared_length(headers: &HeaderMap, size: u64) -> Result<(), Problem> {
    let Some(declared) = headers.get(header::CONTENT_LENGTH) else {
        return Err(Problem::new(ProblemType::LengthRequired, format!("send Content-Length: {size}")));
    };
    if declared.to_str().ok().and_then(|v| v.parse::<u64>().ok()) != Some(size) {
        return Err(size_mismatch(size));
    }
    Ok(())
}

fn size_mismatch(size: u64) -> Problem {
    Problem::new(ProblemType::UploadSizeMismatch, format!("this upload URL was signed for exactly {size} bytes"))
}

fn document_type(content_type: &str) -> Result<&'static str, Problem> {
    let essence = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    DOCUMENT_TYPES.iter().find(|t| **t == essence).copied().ok_or_else(|| {
        Problem::new(
            ProblemType::UnsupportedMediaType,
            format!("documents may be one of {}", DOCUMENT_TYPES.join(", ")),
        )
    })
}

fn too_large(detail: String) -> Problem {
    Problem::new(ProblemType::PayloadTooLarge, detail)
}

/// Most signed uploads in progress at once. Each streams to the store in
/// bounded memory, but holds a connection and a file while it lasts.
pub const MAX_SIGNED_UPLOADS: usize = 16;

/// Signed uploads in progress: one at a time per document, at most
/// [`MAX_SIGNED_UPLOADS`] in all.
#[derive(Debug, Default)]
pub struct UploadGate {
    documents: std::sync::Mutex<std::collections::HashSet<String>>,
}

/// A document's upload in progress; dropping it lets the next one in.
pub struct UploadSlot<'a> {
    gate: &'a UploadGate,
    document: String,
}

impl UploadGate {
    fn enter(&self, document: &str) -> Result<UploadSlot<'_>, Problem> {
        let mut documents = self.documents.lock().unwrap_or_else(|p| p.into_inner());
        if documents.contains(document) {
            return Err(Problem::new(
                ProblemType::UploadInProgress,
                "another upload to this document has not finished; retry once it has",
            ));
        }
        if documents.len() >= MAX_SIGNED_UPLOADS {
            let problem = Problem::new(
                ProblemType::Busy,
                format!("at most {MAX_SIGNED_UPLOADS} uploads run at once; retry shortly"),
            )
            .retry_after(1);
            return Err(problem);
        }
        documents.insert(document.to_owned());
        Ok(UploadSlot { gate: self, document: document.to_owned() })
    }
}

impl Drop for UploadSlot<'_> {
    fn drop(&mut self) {
        self.gate.documents.lock().unwrap_or_else(|p| p.into_inner()).remove(&self.document);
    }
}
