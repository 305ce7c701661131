//! Errors as RFC 9457 problem details. `type` is a stable URN per kind of
//! error; clients branch on it, people read `title` and `detail`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ferry_core::{AuthError, JobId, QueueError, StoreError};
use serde::Serialize;

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
    pub fn new(status: StatusCode, slug: &str, title: &'static str, detail: impl Into<String>) -> Self {
        Problem {
            kind: format!("urn:ferry:problem:{slug}"),
            title,
            status: status.as_u16(),
            detail: detail.into(),
            job_id: None,
            retry_after: None,
        }
    }

    pub fn rate_limited(retry_after: u64) -> Self {
        let mut problem = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate-limited",
            "Too many requests",
            format!("this caller's request rate is over its limit; retry in {retry_after} s"),
        );
        problem.retry_after = Some(retry_after);
        problem
    }

    pub fn invalid_json(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid-json", "Request body is not valid JSON for this endpoint", detail)
    }

    pub fn invalid_input(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid-input", "Invalid input", detail)
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not-found", "Not found", detail)
    }

    pub fn unavailable(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "Service temporarily unavailable", detail)
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
        let (status, slug, title) = match e {
            AuthError::Missing => (StatusCode::UNAUTHORIZED, "missing-token", "Authentication required"),
            AuthError::Expired => (StatusCode::UNAUTHORIZED, "token-expired", "Token expired"),
            AuthError::Invalid(_) => (StatusCode::UNAUTHORIZED, "invalid-token", "Invalid token"),
            AuthError::InvalidApiKey => (StatusCode::UNAUTHORIZED, "invalid-api-key", "Invalid API key"),
            AuthError::Forbidden(_) => (StatusCode::FORBIDDEN, "insufficient-scope", "Not allowed"),
            AuthError::Unavailable(ref reason) => {
                tracing::error!(error = %reason, "authentication unavailable");
                let mut problem = Problem::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "auth-unavailable",
                    "Authentication temporarily unavailable",
                    "the signing keys could not be loaded; retry shortly",
                );
                problem.retry_after = Some(5);
                return problem;
            }
        };
        Problem::new(status, slug, title, e.to_string())
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
