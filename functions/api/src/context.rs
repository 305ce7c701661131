//! What the router knows about the request in hand, outside any handler: its
//! id (sent back as `x-request-id`, put in problem bodies and on every log
//! line of the request) and what the caller's rate limit looked like (sent
//! back as `RateLimit-Policy` / `RateLimit`, draft-ietf-httpapi-ratelimit-headers).
//!
//! Both live in a task-local for the request's future, so that a [`Problem`]
//! made anywhere (an extractor, a handler, the panic catcher) can name the
//! request without every function taking it as an argument.
//!
//! [`Problem`]: crate::problem::Problem

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use lambda_http::RequestExt;
use lambda_http::request::RequestContext;
use std::sync::Mutex;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
pub const RATELIMIT: HeaderName = HeaderName::from_static("ratelimit");
pub const RATELIMIT_POLICY: HeaderName = HeaderName::from_static("ratelimit-policy");

/// Longest client-sent request id echoed back.
const MAX_CLIENT_ID: usize = 128;

/// The request's id, also in the request's extensions for the log span.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(pub String);

/// The caller's per-caller limit as the rate limiter saw it for this request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    /// Requests a full bucket allows at once.
    pub limit: u32,
    /// Seconds in which an empty bucket fills again.
    pub window_secs: u64,
    /// Requests left after this one.
    pub remaining: u32,
    /// Seconds until the bucket is full again.
    pub reset_secs: u64,
}

struct Scope {
    id: String,
    quota: Mutex<Option<Quota>>,
}

tokio::task_local! {
    static SCOPE: Scope;
}

/// The id of the request being served, if any.
pub fn request_id() -> Option<String> {
    SCOPE.try_with(|s| s.id.clone()).ok()
}

/// Keeps the rate limiter's figures for the response's headers.
pub fn record_quota(quota: Quota) {
    let _ = SCOPE.try_with(|s| *s.quota.lock().unwrap_or_else(|p| p.into_inner()) = Some(quota));
}

/// Outermost layer: names the request, runs it in its scope, and adds the
/// id and rate-limit headers to whatever comes back.
pub async fn middleware(mut request: Request, next: Next) -> Response {
    let id = choose_id(&request);
    request.extensions_mut().insert(RequestId(id.clone()));
    let scope = Scope { id: id.clone(), quota: Mutex::new(None) };
    let (mut response, quota) = SCOPE
        .scope(scope, async {
            let response = next.run(request).await;
            let quota = SCOPE.with(|s| *s.quota.lock().unwrap_or_else(|p| p.into_inner()));
            (response, quota)
        })
        .await;
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&id) {
        headers.insert(REQUEST_ID, value);
    }
    if let Some(quota) = quota {
        insert_quota(headers, quota);
    }
    response
}

/// A well-formed id the client sent, else API Gateway's (or Lambda's) id for
/// the request, else a fresh UUID.
fn choose_id(request: &Request) -> String {
    let sent = request.headers().get(REQUEST_ID).and_then(|v| v.to_str().ok()).filter(|v| well_formed(v));
    if let Some(sent) = sent {
        return sent.to_owned();
    }
    let gateway = match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(context)) => context.request_id.clone(),
        _ => None,
    };
    gateway
        .or_else(|| request.lambda_context_ref().map(|c| c.request_id.clone()))
        .filter(|id| !id.is_empty())
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string())
}

/// 1–128 characters of letters, digits and `-_.:`: what request ids look
/// like, and nothing that could forge a log line or a header.
fn well_formed(id: &str) -> bool {
    (1..=MAX_CLIENT_ID).contains(&id.len())
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

fn insert_quota(headers: &mut HeaderMap, q: Quota) {
    let policy = format!("\"per-caller\";q={};w={}", q.limit, q.window_secs.max(1));
    let state = format!("\"per-caller\";r={};t={}", q.remaining, q.reset_secs);
    for (name, value) in [(RATELIMIT_POLICY, policy), (RATELIMIT, state)] {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_ids_are_echoed() {
        for ok in ["abc", "0192f0c4-0000-7000-8000-000000000000", "a.b:c_d-e", &"x".repeat(128)] {
            assert!(well_formed(ok), "{ok}");
        }
        for bad in ["", "has space", "new\nline", "quote\"", "ünï", "semi;colon", &"x".repeat(129)] {
            assert!(!well_formed(bad), "{bad:?}");
        }
    }

    #[tokio::test]
    async fn ids_and_quotas_are_only_seen_inside_a_request() {
        assert_eq!(request_id(), None);
        record_quota(Quota { limit: 1, window_secs: 1, remaining: 0, reset_secs: 1 });
        let scope = Scope { id: "r-1".into(), quota: Mutex::new(None) };
        let seen = SCOPE
            .scope(scope, async {
                record_quota(Quota { limit: 5, window_secs: 10, remaining: 4, reset_secs: 2 });
                (request_id(), SCOPE.with(|s| *s.quota.lock().unwrap()))
            })
            .await;
        assert_eq!(seen.0.as_deref(), Some("r-1"));
        assert_eq!(seen.1, Some(Quota { limit: 5, window_secs: 10, remaining: 4, reset_secs: 2 }));
    }
}
