//! Protections every response gets, whatever the route: size limits checked
//! before anything is read, security headers, and CORS when configured.

use crate::problem::Problem;
use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use ferry_core::Limits;
use std::time::Duration;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::set_header::SetResponseHeaderLayer;

/// 431 for oversized headers and 413 for a declared body over the limit,
/// both before the body is read (the body limit itself is enforced while
/// reading, for bodies without a Content-Length).
pub async fn request_limits(limits: Limits, req: Request, next: Next) -> Response {
    let header_bytes: usize = req.headers().iter().map(|(name, value)| name.as_str().len() + value.len()).sum();
    if header_bytes > limits.max_header_bytes {
        return Problem::new(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "headers-too-large",
            "Request headers too large",
            format!("request headers are limited to {} bytes in all", limits.max_header_bytes),
        )
        .into_response();
    }
    let declared = req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    let max = body_limit(&limits, &req);
    if declared.is_some_and(|len| len > max) {
        return Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload-too-large",
            "Request body too large",
            format!("request bodies are limited to {max} bytes"),
        )
        .into_response();
    }
    next.run(req).await
}

/// The API's body limit, except for signed uploads: they stand in for S3's
/// presigned PUTs, which take whole documents, so the document limit applies
/// here and each grant's exact size in the handler (which reads no more).
fn body_limit(limits: &Limits, req: &Request) -> u64 {
    if req.method() == Method::PUT && req.uri().path().starts_with(crate::documents::SIGNED_UPLOAD_PREFIX) {
        limits.max_document_bytes
    } else {
        limits.max_body_bytes as u64
    }
}

/// Headers for an API that serves JSON only: nothing to sniff, frame, cache
/// or refer from.
pub fn security_headers(router: Router) -> Router {
    let headers: [(&str, &str); 6] = [
        ("x-content-type-options", "nosniff"),
        ("x-frame-options", "DENY"),
        ("content-security-policy", "default-src 'none'; frame-ancestors 'none'"),
        ("referrer-policy", "no-referrer"),
        ("strict-transport-security", "max-age=63072000; includeSubDomains"),
        ("cache-control", "no-store"),
    ];
    headers.into_iter().fold(router, |router, (name, value)| {
        router.layer(SetResponseHeaderLayer::if_not_present(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        ))
    })
}

/// CORS for the configured origins (`*` for any); `None` when there are none.
pub fn cors(origins: &[String]) -> Option<CorsLayer> {
    if origins.is_empty() {
        return None;
    }
    let allow = if origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()))
    };
    Some(
        CorsLayer::new()
            .allow_origin(allow)
            .allow_methods([Method::GET, Method::POST, Method::PUT, Method::DELETE, Method::OPTIONS])
            .allow_headers([
                header::AUTHORIZATION,
                header::CONTENT_TYPE,
                HeaderName::from_static("idempotency-key"),
                HeaderName::from_static("prefer"),
                HeaderName::from_static("x-api-key"),
            ])
            .expose_headers([header::LOCATION, header::RETRY_AFTER, HeaderName::from_static("idempotent-replayed")])
            .max_age(Duration::from_secs(600)),
    )
}
