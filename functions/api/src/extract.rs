//! Request extractors that fail with problem+json instead of axum's plain text.

use crate::AppState;
use crate::problem::{Problem, ProblemType};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::{header, request::Parts};
use ferry_core::{AuthError, Principal};
use serde::de::DeserializeOwned;

/// The authenticated caller, within their rate limit. `Authorization: Bearer`
/// wins when both it and `x-api-key` are sent.
pub struct Caller(pub Principal);

impl FromRequestParts<AppState> for Caller {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Problem> {
        let bearer = parts.headers.get(header::AUTHORIZATION).map(|v| v.to_str().unwrap_or(""));
        let api_key = parts.headers.get("x-api-key").map(|v| v.to_str().unwrap_or(""));
        let principal = match (bearer, api_key) {
            (Some(bearer), _) => state.auth.verify_header(Some(bearer)).await?,
            (None, Some(key)) => crate::keys::verify_api_key(state.keys.as_ref(), key).await?,
            (None, None) => return Err(AuthError::Missing.into()),
        };
        if let Some(limiter) = &state.rate_limit {
            limiter.check(&principal.subject)?;
        }
        Ok(Caller(principal))
    }
}

/// A caller granted the read scope.
pub struct Reader(pub Principal);

impl FromRequestParts<AppState> for Reader {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Problem> {
        let Caller(principal) = Caller::from_request_parts(parts, state).await?;
        principal.require(&state.scopes.read)?;
        Ok(Reader(principal))
    }
}

/// A caller granted the write scope.
pub struct Writer(pub Principal);

impl FromRequestParts<AppState> for Writer {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Problem> {
        let Caller(principal) = Caller::from_request_parts(parts, state).await?;
        principal.require(&state.scopes.write)?;
        Ok(Writer(principal))
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
            return Err(Problem::new(ProblemType::UnsupportedMediaType, not_json(ct)));
        }
        let limit = state.limits.max_body_bytes;
        let bytes = axum::body::to_bytes(req.into_body(), limit).await.map_err(|e| {
            if crate::guard::too_slow(&e) {
                return crate::guard::body_timeout();
            }
            Problem::new(ProblemType::PayloadTooLarge, format!("request bodies are limited to {limit} bytes"))
        })?;
        // A byte order mark is legal before UTF-8 text but not JSON: skipped.
        let json = bytes.strip_prefix("\u{feff}".as_bytes()).unwrap_or(&bytes);
        // Every body this API takes is an object; serde would read a struct
        // from an array too (`["hello"]` as `{"text": "hello"}`).
        if json.iter().find(|b| !b.is_ascii_whitespace()).is_some_and(|b| *b != b'{') {
            return Err(Problem::invalid_json("the body must be a JSON object, e.g. {\"text\": \"…\"}"));
        }
        serde_json::from_slice(json).map(Json).map_err(|e| Problem::invalid_json(e.to_string()))
    }
}

/// Why a body that is not JSON was refused, with where a file should go.
fn not_json(content_type: &str) -> String {
    let essence = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    if essence == "multipart/form-data" {
        return "expected application/json, got multipart/form-data: a file goes in the body of \
                PUT /v1/documents/{id} (any new UUID; multipart or raw), or to the upload_url that \
                POST /v1/documents answers {\"content_type\", \"size\"} with"
            .to_owned();
    }
    format!("expected application/json, got {content_type}")
}

/// A query string read into `T`; one that does not fit is a 400 problem
/// (axum's own answer is plain text).
pub struct Query<T>(pub T);

impl<T: DeserializeOwned> FromRequestParts<AppState> for Query<T> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Problem> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(Query(value)),
            Err(rejection) => Err(Problem::new(ProblemType::InvalidQuery, rejection.body_text())),
        }
    }
}

fn is_json(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    essence == "application/json" || essence.ends_with("+json")
}
