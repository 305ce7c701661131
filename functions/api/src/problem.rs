//! Errors as RFC 9457 problem details. `type` is a stable URN per kind of
//! error; clients branch on it, people read `title` and `detail`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ferry_core::{AuthError, JobId, QueueError, StoreError};
use serde::Serialize;

/// Declares [`ProblemType`] from one table: variant, status, `type` slug and
/// title per row, so a variant cannot be left out of [`ProblemType::ALL`].
macro_rules! problem_types {
    ($($variant:ident => $status:ident, $slug:literal, $title:literal;)*) => {
        /// Every kind of problem Ferry answers with: its `type` slug, HTTP
        /// status and title in one table, so the README's table, the OpenAPI
        /// document and the handlers cannot drift (tests hold the first two to it).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ProblemType {
            $($variant,)*
        }

        impl ProblemType {
            pub const ALL: &'static [ProblemType] = &[$(ProblemType::$variant,)*];

            fn row(self) -> (StatusCode, &'static str, &'static str) {
                match self {
                    $(ProblemType::$variant => (StatusCode::$status, $slug, $title),)*
                }
            }
        }
    };
}

problem_types! {
    InvalidJson => BAD_REQUEST, "invalid-json", "Request body is not valid JSON for this endpoint";
    InvalidQuery => BAD_REQUEST, "invalid-query", "Invalid query string";
    UploadSizeMismatch => BAD_REQUEST, "upload-size-mismatch", "Upload size mismatch";
    MissingToken => UNAUTHORIZED, "missing-token", "Authentication required";
    InvalidToken => UNAUTHORIZED, "invalid-token", "Invalid token";
    TokenExpired => UNAUTHORIZED, "token-expired", "Token expired";
    InvalidApiKey => UNAUTHORIZED, "invalid-api-key", "Invalid API key";
    InsufficientScope => FORBIDDEN, "insufficient-scope", "Not allowed";
    InvalidUploadSignature => FORBIDDEN, "invalid-upload-signature", "Invalid upload URL";
    UploadUrlExpired => FORBIDDEN, "upload-url-expired", "Upload URL expired";
    NotFound => NOT_FOUND, "not-found", "Not found";
    MethodNotAllowed => METHOD_NOT_ALLOWED, "method-not-allowed", "Method not allowed";
    BodyTimeout => REQUEST_TIMEOUT, "body-timeout", "Request body too slow";
    JobFinal => CONFLICT, "job-final", "Job already finished";
    UploadInProgress => CONFLICT, "upload-in-progress", "Upload in progress";
    LengthRequired => LENGTH_REQUIRED, "length-required", "Content-Length required";
    PayloadTooLarge => PAYLOAD_TOO_LARGE, "payload-too-large", "Payload too large";
    UnsupportedMediaType => UNSUPPORTED_MEDIA_TYPE, "unsupported-media-type", "Unsupported media type";
    IdempotencyKeyReused => UNPROCESSABLE_ENTITY, "idempotency-key-reused", "Idempotency key reused";
    BadCallbackUrl => UNPROCESSABLE_ENTITY, "bad-callback-url", "Bad callback_url";
    WebhooksDisabled => UNPROCESSABLE_ENTITY, "webhooks-disabled", "Webhooks disabled";
    NoDocument => UNPROCESSABLE_ENTITY, "no-document", "No such document";
    UnknownTask => UNPROCESSABLE_ENTITY, "unknown-task", "Unknown task";
    EmptyText => UNPROCESSABLE_ENTITY, "empty-text", "Empty text";
    TextTooLong => UNPROCESSABLE_ENTITY, "text-too-long", "Text too long";
    TooManyInputs => UNPROCESSABLE_ENTITY, "too-many-inputs", "Too many inputs";
    InvalidInput => UNPROCESSABLE_ENTITY, "invalid-input", "Invalid input";
    RateLimited => TOO_MANY_REQUESTS, "rate-limited", "Too many requests";
    HeadersTooLarge => REQUEST_HEADER_FIELDS_TOO_LARGE, "headers-too-large", "Request headers too large";
    Internal => INTERNAL_SERVER_ERROR, "internal", "Internal error";
    InferenceFailed => BAD_GATEWAY, "inference-failed", "Inference failed";
    Unavailable => SERVICE_UNAVAILABLE, "unavailable", "Service temporarily unavailable";
    AuthUnavailable => SERVICE_UNAVAILABLE, "auth-unavailable", "Authentication temporarily unavailable";
    Busy => SERVICE_UNAVAILABLE, "busy", "Server busy";
}

impl ProblemType {
    /// The last part of `type` (`urn:ferry:problem:<slug>`): what clients branch on.
    pub fn slug(self) -> &'static str {
        self.row().1
    }

    pub fn status(self) -> StatusCode {
        self.row().0
    }

    pub fn title(self) -> &'static str {
        self.row().2
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: &'static str,
    pub status: u16,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_id: Option<String>,
    /// Seconds, sent as `Retry-After` (429 and 503).
    #[serde(skip)]
    pub retry_after: Option<u64>,
}

impl Problem {
    pub fn new(kind: ProblemType, detail: impl Into<String>) -> Self {
        Problem {
            kind: format!("urn:ferry:problem:{}", kind.slug()),
            title: kind.title(),
            status: kind.status().as_u16(),
            detail: detail.into(),
            job_id: None,
            retry_after: None,
        }
    }

    /// Asks the client to come back after `secs` (`Retry-After`).
    pub fn retry_after(mut self, secs: u64) -> Self {
        self.retry_after = Some(secs);
        self
    }

    pub fn rate_limited(retry_after: u64) -> Self {
        Self::new(
            ProblemType::RateLimited,
            format!("this caller's request rate is over its limit; retry in {retry_after} s"),
        )
        .retry_after(retry_after)
    }

    pub fn invalid_json(detail: impl Into<String>) -> Self {
        Self::new(ProblemType::InvalidJson, detail)
    }

    pub fn invalid_input(detail: impl Into<String>) -> Self {
        Self::new(ProblemType::InvalidInput, detail)
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(ProblemType::NotFound, detail)
    }

    pub fn unavailable(detail: impl Into<String>) -> Self {
        Self::new(ProblemType::Unavailable, detail)
    }

    /// Names the job the request created or read, so that a client told of
    /// a failure after its job exists knows which job to look at (and does
    /// not create it again).
    pub fn about(mut self, job: JobId) -> Self {
        self.job_id.get_or_insert_with(|| job.to_string());
        self
    }
}

/// A problem as sent: with the id of the request it answers.
#[derive(Serialize)]
struct Sent<'a> {
    #[serde(flatten)]
    problem: &'a Problem,
    #[serde(skip_serializing_if = "Option::is_none")]
    request_id: Option<String>,
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let unauthorized = status == StatusCode::UNAUTHORIZED;
        let body = Sent { problem: &self, request_id: crate::context::request_id() };
        let body = serde_json::to_vec(&body).expect("problems always serialise");
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        if unauthorized {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(secs) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

impl From<AuthError> for Problem {
    fn from(e: AuthError) -> Self {
        let kind = match e {
            AuthError::Missing | AuthError::NotBearer => ProblemType::MissingToken,
            AuthError::Expired => ProblemType::TokenExpired,
            AuthError::Invalid(_) => ProblemType::InvalidToken,
            AuthError::InvalidApiKey => ProblemType::InvalidApiKey,
            AuthError::Forbidden(_) => ProblemType::InsufficientScope,
            AuthError::Unavailable(ref reason) => {
                tracing::error!(error = %reason, "authentication unavailable");
                return Problem::new(
                    ProblemType::AuthUnavailable,
                    "the signing keys could not be loaded; retry shortly",
                )
                .retry_after(5);
            }
        };
        Problem::new(kind, e.to_string())
    }
}

impl From<StoreError> for Problem {
    fn from(e: StoreError) -> Self {
        tracing::error!(error = %e, "store error");
        Problem::unavailable("the job store is unavailable; retry shortly")
    }
}

impl From<QueueError> for Problem {
    fn from(e: QueueError) -> Self {
        tracing::error!(error = %e, "queue error");
        Problem::unavailable("the job queue is unavailable; retry shortly")
    }
}

impl From<ferry_core::BlobError> for Problem {
    fn from(e: ferry_core::BlobError) -> Self {
        match e {
            ferry_core::BlobError::Empty => Problem::invalid_input("the document is empty"),
            e => {
                tracing::error!(error = %e, "blob store error");
                Problem::unavailable("the document store is unavailable; retry shortly")
            }
        }
    }
}

impl From<ferry_core::OutboxError> for Problem {
    fn from(e: ferry_core::OutboxError) -> Self {
        match e {
            ferry_core::OutboxError::Store(e) => e.into(),
            ferry_core::OutboxError::Queue(e) => e.into(),
            ferry_core::OutboxError::Blob(e) => e.into(),
            ferry_core::OutboxError::Corrupt(..) => {
                tracing::error!(error = %e, "outbox error");
                Problem::unavailable("the job could not be stored; retry shortly")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// The README's table of problem types, read as slug → status.
    fn documented() -> HashMap<String, u16> {
        let readme = include_str!("../../../README.md");
        let start =
            readme.find("| status | `type` (`urn:ferry:problem:…`) | when |").expect("the README lists problem types");
        let mut rows = HashMap::new();
        for line in readme[start..].lines().skip(2).take_while(|l| l.starts_with('|')) {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let status: u16 = cells[1].parse().unwrap_or_else(|_| panic!("a status in {line:?}"));
            for slug in cells[2].split(',').map(|s| s.trim().trim_matches('`')) {
                assert!(rows.insert(slug.to_owned(), status).is_none(), "{slug} is listed twice");
            }
        }
        rows
    }

    #[test]
    fn the_readme_lists_every_problem_type_with_its_status() {
        let documented = documented();
        for kind in ProblemType::ALL {
            assert_eq!(documented.get(kind.slug()), Some(&kind.status().as_u16()), "{kind:?} in the README");
        }
        assert_eq!(documented.len(), ProblemType::ALL.len(), "the README lists a type the code does not have");
    }

    #[test]
    fn types_are_distinct_and_titled() {
        let slugs: std::collections::HashSet<_> = ProblemType::ALL.iter().map(|k| k.slug()).collect();
        assert_eq!(slugs.len(), ProblemType::ALL.len());
        for kind in ProblemType::ALL {
            assert!(kind.status().is_client_error() || kind.status().is_server_error(), "{kind:?}");
            assert!(!kind.title().is_empty());
        }
        let problem = Problem::new(ProblemType::JobFinal, "the job is already succeeded");
        assert_eq!(problem.kind, "urn:ferry:problem:job-final");
        assert_eq!(problem.status, 409);
    }
}
