//! Errors as RFC 9457 problem details. `type` is a stable URN per kind of
//! error; clients branch on it, people read `title` and `detail`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ferry_core::{AuthError, QueueError, StoreError};
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
}

impl Problem {
    pub fn new(status: StatusCode, slug: &str, title: &'static str, detail: impl Into<String>) -> Self {
        Problem {
            kind: format!("urn:ferry:problem:{slug}"),
            title,
            status: status.as_u16(),
            detail: detail.into(),
            job_id: None,
        }
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
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let unauthorized = status == StatusCode::UNAUTHORIZED;
        let body = serde_json::to_vec(&self).expect("problems always serialise");
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        if unauthorized {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

impl From<AuthError> for Problem {
    fn from(e: AuthError) -> Self {
        let (slug, title) = match e {
            AuthError::Missing => ("missing-token", "Authentication required"),
            AuthError::Expired => ("token-expired", "Token expired"),
            AuthError::Invalid(_) => ("invalid-token", "Invalid token"),
        };
        Problem::new(StatusCode::UNAUTHORIZED, slug, title, e.to_string())
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
