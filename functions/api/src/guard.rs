//! Protections every response gets, whatever the route: size limits checked
//! before anything is read, security headers, and CORS when configured.

use crate::problem::{Problem, ProblemType};
use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use ferry_core::Limits;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::set_header::SetResponseHeaderLayer;

/// 431 for oversized headers and 413 for a declared body over the limit,
/// both before the body is read (the body limit itself is enforced while
/// reading, for bodies without a Content-Length).
pub async fn request_limits(limits: Limits, req: Request, next: Next) -> Response {
    let header_bytes: usize = req.headers().iter().map(|(name, value)| name.as_str().len() + value.len()).sum();
    if header_bytes > limits.max_header_bytes {
        return Problem::new(
            ProblemType::HeadersTooLarge,
            format!("request headers are limited to {} bytes in all", limits.max_header_bytes),
        )
        .into_response();
    }
    let declared = req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    let max = body_limit(&limits, &req);
    if declared.is_some_and(|len| len > max) {
        return Problem::new(ProblemType::PayloadTooLarge, format!("request bodies are limited to {max} bytes"))
            .into_response();
    }
    next.run(req).await
}

/// Granularity of the in-flight body budget.
const BUDGET_UNIT: usize = 64 * 1024;

/// The bytes of request bodies in flight at once ([`Limits::bodies_in_flight`]).
#[derive(Debug, Clone)]
pub struct BodyBudget {
    units: Arc<Semaphore>,
    total_units: u32,
}

impl BodyBudget {
    pub fn new(bytes: usize) -> BodyBudget {
        let total_units = u32::try_from(bytes.div_ceil(BUDGET_UNIT).max(1)).unwrap_or(u32::MAX >> 3);
        BodyBudget { units: Arc::new(Semaphore::new(total_units as usize)), total_units }
    }
}

/// Holds a request's share of the body budget while it is read and handled.
/// Requests without a body pass freely; signed uploads too (they stream to
/// the store in bounded memory, and have their own gate).
pub async fn body_budget(budget: BodyBudget, limits: Limits, req: Request, next: Next) -> Response {
    let declared = req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    let bodiless = matches!(*req.method(), Method::GET | Method::HEAD | Method::DELETE | Method::OPTIONS)
        || declared == Some(0)
        || is_signed_upload(&req);
    if bodiless {
        return next.run(req).await;
    }
    let bytes = declared.unwrap_or(limits.max_body_bytes as u64).min(limits.max_body_bytes as u64) as usize;
    let units = u32::try_from(bytes.div_ceil(BUDGET_UNIT).max(1)).unwrap_or(u32::MAX).min(budget.total_units);
    match tokio::time::timeout(limits.busy_wait, Arc::clone(&budget.units).acquire_many_owned(units)).await {
        Ok(Ok(_held)) => next.run(req).await,
        _ => {
            let problem =
                Problem::new(ProblemType::Busy, "too many request bodies are being read at once; retry shortly")
                    .retry_after(1);
            problem.into_response()
        }
    }
}

fn is_signed_upload(req: &Request) -> bool {
    req.method() == Method::PUT && req.uri().path().starts_with(crate::documents::SIGNED_UPLOAD_PREFIX)
}

/// The API's body limit, except for signed uploads: they stand in for S3's
/// presigned PUTs, which take whole documents, so the document limit applies
/// here and each grant's exact size in the handler (which reads no more).
fn body_limit(limits: &Limits, req: &Request) -> u64 {
    if is_signed_upload(req) { limits.max_document_bytes } else { limits.max_body_bytes as u64 }
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
                crate::context::REQUEST_ID,
            ])
            .expose_headers([
                header::LOCATION,
                header::RETRY_AFTER,
                HeaderName::from_static("idempotent-replayed"),
                crate::context::REQUEST_ID,
                crate::context::RATELIMIT,
                crate::context::RATELIMIT_POLICY,
            ])
            .max_age(Duration::from_secs(600)),
    )
}

/// How slowly a request body may arrive (`ferry serve`; API Gateway enforces
/// its own limits in AWS).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyPace {
    /// Longest wait for the next piece of a body.
    pub gap: Duration,
    /// Least average rate, in bytes per second, once a body has been
    /// arriving for longer than `gap`.
    pub min_rate: u64,
}

impl Default for BodyPace {
    fn default() -> Self {
        BodyPace { gap: Duration::from_secs(10), min_rate: 4096 }
    }
}

/// A body that arrived too slowly ([`BodyPace`]): the request ends with 408.
#[derive(Debug, thiserror::Error)]
#[error("the request body arrived too slowly: {0}")]
pub struct BodyTooSlow(String);

/// Holds every request body to `pace` while it is read.
pub fn paced(router: Router, pace: BodyPace) -> Router {
    router.layer(axum::middleware::map_request(move |req: Request| async move {
        req.map(|body| axum::body::Body::new(Paced::new(body, pace)))
    }))
}

/// Whether a body error (anywhere in its chain) is [`BodyTooSlow`].
pub fn too_slow(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(error);
    while let Some(e) = cause {
        if e.is::<BodyTooSlow>() {
            return true;
        }
        cause = e.source();
    }
    false
}

/// 408 for a body that arrived too slowly.
pub fn body_timeout() -> Problem {
    Problem::new(
        ProblemType::BodyTimeout,
        "the request body stopped arriving, or arrived too slowly; send it again faster",
    )
}

struct Paced {
    inner: axum::body::Body,
    pace: BodyPace,
    started: tokio::time::Instant,
    received: u64,
    next_by: std::pin::Pin<Box<tokio::time::Sleep>>,
}

impl Paced {
    fn new(inner: axum::body::Body, pace: BodyPace) -> Self {
        let started = tokio::time::Instant::now();
        Paced { inner, pace, started, received: 0, next_by: Box::pin(tokio::time::sleep_until(started + pace.gap)) }
    }

    fn behind(&self) -> bool {
        let Some(late) = self.started.elapsed().checked_sub(self.pace.gap) else { return false };
        (self.received as f64) < self.pace.min_rate as f64 * late.as_secs_f64()
    }
}

impl http_body::Body for Paced {
    type Data = axum::body::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        use std::task::Poll;
        let this = &mut *self;
        match std::pin::Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                this.received += frame.data_ref().map_or(0, |d| d.len() as u64);
                if this.behind() {
                    let rate = this.received as f64 / this.started.elapsed().as_secs_f64();
                    let error = BodyTooSlow(format!("{rate:.0} bytes/s, at least {} wanted", this.pace.min_rate));
                    return Poll::Ready(Some(Err(axum::Error::new(error))));
                }
                let next = tokio::time::Instant::now() + this.pace.gap;
                this.next_by.as_mut().reset(next);
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Pending => match this.next_by.as_mut().poll(cx) {
                Poll::Ready(()) => {
                    let error = BodyTooSlow(format!("nothing for {} s", this.pace.gap.as_secs()));
                    Poll::Ready(Some(Err(axum::Error::new(error))))
                }
                Poll::Pending => Poll::Pending,
            },
            other => other,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}
