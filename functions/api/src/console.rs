//! `GET /`: the web console, a page over this same API for people without
//! curl: one text, a batch with live progress and paged results, a resume
//! matched against a job description with its evidence highlighted, and the
//! caller's jobs. Three static files (`functions/api/console/`), compiled in;
//! the browser sends the caller's credential with each call, as any client.
//! No inline script or style: the page's CSP allows this origin's files only.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

const PAGE: &str = include_str!("../console/index.html");
const SCRIPT: &str = include_str!("../console/console.js");
const STYLE: &str = include_str!("../console/console.css");

/// Everything from this origin, nothing inline, no frames, no forms posted
/// anywhere (the console's forms are handled by its script). `data:` images
/// only for the empty favicon.
const PAGE_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                        connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

pub async fn page() -> Response {
    with_type(PAGE, "text/html; charset=utf-8", Some(PAGE_CSP))
}

pub async fn script() -> Response {
    with_type(SCRIPT, "text/javascript; charset=utf-8", None)
}

pub async fn style() -> Response {
    with_type(STYLE, "text/css; charset=utf-8", None)
}

fn with_type(body: &'static str, content_type: &'static str, csp: Option<&'static str>) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Some(csp) = csp {
        headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(csp));
    }
    response
}
