//! `GET /docs`: the OpenAPI document rendered by Redoc, whose bundle is
//! vendored from npm by `infra/docs/vendor-redoc.sh` and compiled in, so the
//! page loads nothing from elsewhere. No inline script: the page's CSP allows
//! scripts from this origin only.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

const PAGE: &str = r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Ferry API reference</title>
</head>
<body>
<div id="reference"></div>
<script type="module" src="/docs/init.js"></script>
</body>
</html>
"#;

/// Renders the document into the page. Redoc 3's bundle is an ES module; its
/// telemetry is turned off (the CSP would block it anyway).
const INIT: &str = "import { init } from \"/docs/redoc.js\";\n\
                    init(\"/openapi.json\", { disableTelemetry: true }, document.getElementById(\"reference\"));\n";

/// Redoc 3's standalone bundle, gzipped (see `functions/api/assets/REDOC-VERSION`).
const REDOC_GZ: &[u8] = include_bytes!("../assets/redoc.standalone.js.gz");

/// Redoc writes its styles into `<style>` elements and runs its search in a
/// worker made from a blob; everything else stays as strict as the API's.
const PAGE_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
                        img-src 'self' data:; font-src 'self' data:; connect-src 'self'; worker-src blob:; \
                        frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

pub async fn page() -> Response {
    let mut response = PAGE.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(PAGE_CSP));
    response
}

pub async fn init() -> Response {
    let mut response = INIT.into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/javascript; charset=utf-8"));
    response
}

pub async fn script() -> Response {
    let mut response = REDOC_GZ.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/javascript; charset=utf-8"));
    headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=86400"));
    response
}
