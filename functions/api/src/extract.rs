//! Request extractors that fail with problem+json instead of axum's plain text.

use crate::AppState;
use crate::problem::Problem;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::{StatusCode, header, request::Parts};
use ferry_core::Principal;
use serde::de::DeserializeOwned;

/// The authenticated caller. Every route but `/healthz` takes one.
pub struct Caller(pub Principal);

impl FromRequestParts<AppState> for Caller {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Problem> {
        let header = parts.headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
        let principal = state.auth.verify_header(header)?;
        Ok(Caller(principal))
    }
}

/// A JSON body read under the configured size limit.
pub struct Json<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for Json<T> {
    type Rejection = Problem;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Problem> {
        let content_type = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
        if let Some(ct) = content_type
            && !is_json(ct)
        {
            return Err(Problem::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "Unsupported media type",
                format!("expected application/json, got {ct}"),
            ));
        }
        let limit = state.limits.max_body_bytes;
        let bytes = axum::body::to_bytes(req.into_body(), limit).await.map_err(|_| {
            Problem::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload-too-large",
                "Request body too large",
                format!("request bodies are limited to {limit} bytes"),
            )
        })?;
        serde_json::from_slice(&bytes).map(Json).map_err(|e| Problem::invalid_json(e.to_string()))
    }
}

fn is_json(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    essence == "application/json" || essence.ends_with("+json")
}
