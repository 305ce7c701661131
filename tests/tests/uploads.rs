//! Signed upload URLs, the local stand-in for S3's presigned PUTs: the URL
//! from `POST /v1/documents` takes the document without a credential, past
//! the API's 6 MiB body limit, and only the document, type and exact size it
//! was signed for; every refusal is a 4xx problem that stores nothing.

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use ferry_core::message::upload_key;
use ferry_core::{Authenticator, Limits, UploadGrant, UploadSigner};
use ferry_tests::{SECRET, TestApp};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

const NDJSON: &str = "application/x-ndjson";
/// Not what was signed: S3 compares the header exactly, and so do we.
const WITH_CHARSET: &str = "application/x-ndjson; charset=utf-8";
const MIB: usize = 1024 * 1024;

fn signer() -> UploadSigner {
    UploadSigner::derived_from(b"upload-test-secret-of-32-bytes-at-least")
}

fn app() -> TestApp {
    let auth = Authenticator::hs256(SECRET).unwrap();
    TestApp::with_auth(Limits::default(), auth, |state| state.upload_signer = Some(Arc::new(signer())))
}

/// `POST /v1/documents` as `owner`: the 201 body.
async fn grant(app: &TestApp, owner: &str, content_type: &str, size: usize) -> Value {
    let body = json!({"content_type": content_type, "size": size});
    let (status, doc) = app.send("POST", "/v1/documents", Some(owner), Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{doc}");
    doc
}

/// The path and query of an absolute URL (the router is called directly).
fn local(url: &str) -> String {
    let rest = url.split_once("://").expect("an absolute URL").1;
    rest[rest.find('/').expect("a path")..].to_owned()
}

/// A PUT with no credential; `None` leaves the header out.
async fn put(
    app: &TestApp,
    url: &str,
    content_type: Option<&str>,
    content_length: Option<usize>,
    body: Vec<u8>,
) -> (StatusCode, HeaderMap, Value) {
    let mut req = Request::builder().method("PUT").uri(local(url));
    if let Some(content_type) = content_type {
        req = req.header(header::CONTENT_TYPE, content_type);
    }
    if let Some(length) = content_length {
        req = req.header(header::CONTENT_LENGTH, length);
    }
    app.call(req.body(Body::from(body)).unwrap()).await
}

/// A PUT as `POST /v1/documents` said to make it: its method, headers and
/// URL, and a Content-Length like any HTTP client's.
async fn put_as_told(app: &TestApp, doc: &Value, bytes: Vec<u8>) -> (StatusCode, HeaderMap, Value) {
    assert_eq!(doc["method"], "PUT");
    let headers = doc["headers"].as_object().unwrap();
    assert_eq!(headers.keys().collect::<Vec<_>>(), ["content-type"], "a content type and no credential");
    let len = bytes.len();
    put(app, doc["upload_url"].as_str().unwrap(), headers["content-type"].as_str(), Some(len), bytes).await
}

async fn stored(app: &TestApp, owner: &str, id: &str) -> Option<Vec<u8>> {
    app.blobs.get(&upload_key(owner, id), 64 * MIB as u64).await.unwrap()
}

fn assert_problem(status: StatusCode, headers: &HeaderMap, body: &Value, expected: StatusCode, kind: &str) {
    assert_eq!(status, expected, "{body}");
    assert_eq!(headers[header::CONTENT_TYPE], "application/problem+json");
    assert_eq!(body["type"], format!("urn:ferry:problem:{kind}"), "{body}");
}

/// `url` with query parameter `name` set to `value` (`None`: removed).
fn edit_query(url: &str, name: &str, value: Option<&str>) -> String {
    let (path, query) = url.split_once('?').unwrap();
    let params: Vec<String> = query
        .split('&')
        .filter_map(|pair| match pair.split_once('=') {
            Some((n, _)) if n == name => value.map(|v| format!("{n}={v}")),
            _ => Some(pair.to_owned()),
        })
        .collect();
    format!("{path}?{}", params.join("&"))
}

/// The job as `owner` reads it once it has ended (or after 5 s).
async fn settled(app: &TestApp, owner: &str, job: &Value) -> Value {
    let path = format!("/v1/jobs/{}", job["id"].as_str().unwrap());
    let mut job = Value::Null;
    for _ in 0..100 {
        job = app.send("GET", &path, Some(owner), None).await.1;
        if matches!(job["status"].as_str(), Some("succeeded" | "failed" | "canceled")) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    job
}

fn lines(n: usize) -> Vec<u8> {
    (0..n).map(|i| if i % 2 == 0 { "\"good\"\n" } else { "\"bad!\"\n" }).collect::<String>().into_bytes()
}

#[tokio::test]
async fn the_signed_url_takes_the_document_without_a_credential() {
    let mut app = app();
    app.start_worker();
    let bytes = lines(4);
    let doc = grant(&app, "alice", NDJSON, bytes.len()).await;
    let id = doc["document_id"].as_str().unwrap();
    let url = doc["upload_url"].as_str().unwrap();
    assert!(local(url).starts_with(&format!("/v1/uploads/{id}?")), "{url}");

    let (status, _, body) = put_as_told(&app, &doc, bytes.clone()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, json!({"document_id": id, "size": bytes.len()}));
    assert_eq!(stored(&app, "alice", id).await.unwrap(), bytes);

    // The document is the owner's job input, as after an S3 upload.
    let (status, job) =
        app.send("POST", "/v1/jobs", Some("alice"), Some(json!({"task": "sentiment", "document_id": id}))).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    let job = settled(&app, "alice", &job).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(job["results"][0]["sentiment"], "positive");
    assert_eq!(job["results"][1]["sentiment"], "negative");
}

#[tokio::test]
async fn a_document_over_the_api_body_limit_goes_through_the_signed_url() {
    let app = app();
    // 7 MiB of 7-byte lines: over the API's 6 MiB body limit.
    let bytes = lines(MIB);
    assert_eq!(bytes.len(), 7 * MIB);
    let doc = grant(&app, "alice", NDJSON, bytes.len()).await;
    let id = doc["document_id"].as_str().unwrap();

    // The API's own routes still refuse such a body before reading it.
    let direct = format!("http://127.0.0.1/v1/documents/{id}");
    let (status, headers, body) = put(&app, &direct, Some(NDJSON), Some(bytes.len()), Vec::new()).await;
    assert_problem(status, &headers, &body, StatusCode::PAYLOAD_TOO_LARGE, "payload-too-large");

    let (status, _, body) = put_as_told(&app, &doc, bytes.clone()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Read back as the worker reads documents.
    assert!(stored(&app, "alice", id).await.unwrap() == bytes, "the stored document differs");
    let (status, job) =
        app.send("POST", "/v1/jobs", Some("alice"), Some(json!({"task": "sentiment", "document_id": id}))).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
}

/// A grant for alice's document `id` of `size` bytes that never expires.
fn signer_grant(id: &str, size: usize) -> UploadGrant {
    UploadGrant {
        owner: "alice".into(),
        document_id: id.into(),
        content_type: NDJSON.into(),
        size: size as u64,
        expires: u64::MAX,
    }
}

#[tokio::test]
async fn refused_uploads_are_problems_and_store_nothing() {
    let app = app();
    let bytes = lines(4);
    let len = bytes.len();
    let doc = grant(&app, "alice", NDJSON, len).await;
    let id = doc["document_id"].as_str().unwrap();
    let url = doc["upload_url"].as_str().unwrap().to_owned();
    let nothing_stored = async |case: &str| {
        assert_eq!(stored(&app, "alice", id).await, None, "{case} stored something");
        assert_eq!(stored(&app, "bob", id).await, None, "{case} stored something for bob");
    };

    let other_key = UploadSigner::derived_from(b"another-server-secret-of-32-bytes!!").sign(&signer_grant(id, len));
    for (case, url) in [
        ("size raised", edit_query(&url, "size", Some("99"))),
        ("type changed", edit_query(&url, "content_type", Some("text%2Fplain"))),
        ("owner changed", edit_query(&url, "owner", Some("bob"))),
        ("expiry extended", edit_query(&url, "expires", Some("99999999999"))),
        ("signature changed", edit_query(&url, "signature", Some(&"ab".repeat(32)))),
        ("signature removed", edit_query(&url, "signature", None)),
        ("no query", url.split('?').next().unwrap().to_owned()),
        ("parameter repeated", format!("{url}&size=99")),
        ("parameter added", format!("{url}&x-amz-acl=public")),
        ("another server's key", format!("http://h/v1/uploads/{id}?{other_key}")),
    ] {
        let (status, headers, problem) = put(&app, &url, Some(NDJSON), Some(len), bytes.clone()).await;
        assert_problem(status, &headers, &problem, StatusCode::FORBIDDEN, "invalid-upload-signature");
        nothing_stored(case).await;
    }

    let now = time::OffsetDateTime::now_utc().unix_timestamp() as u64;
    let past = signer().sign(&UploadGrant { expires: now - 1, ..signer_grant(id, len) });
    let expired = format!("http://h/v1/uploads/{id}?{past}");
    let (status, headers, problem) = put(&app, &expired, Some(NDJSON), Some(len), bytes.clone()).await;
    assert_problem(status, &headers, &problem, StatusCode::FORBIDDEN, "upload-url-expired");
    nothing_stored("expired").await;

    let (long, short) = (bytes.repeat(2), bytes[..len - 1].to_vec());
    let (media, mismatch) = (StatusCode::UNSUPPORTED_MEDIA_TYPE, StatusCode::BAD_REQUEST);
    for (case, content_type, length, body, expected, kind) in [
        ("wrong content type", Some("text/plain"), Some(len), &bytes, media, "unsupported-media-type"),
        ("a charset added", Some(WITH_CHARSET), Some(len), &bytes, media, "unsupported-media-type"),
        ("no content type", None, Some(len), &bytes, media, "unsupported-media-type"),
        ("longer length", Some(NDJSON), Some(2 * len), &long, mismatch, "upload-size-mismatch"),
        ("shorter length", Some(NDJSON), Some(len - 1), &short, mismatch, "upload-size-mismatch"),
        ("body longer than declared", Some(NDJSON), Some(len), &long, mismatch, "upload-size-mismatch"),
        ("body shorter than declared", Some(NDJSON), Some(len), &short, mismatch, "upload-size-mismatch"),
        ("no length", Some(NDJSON), None, &bytes, StatusCode::LENGTH_REQUIRED, "length-required"),
    ] {
        let (status, headers, problem) = put(&app, &url, content_type, length, body.clone()).await;
        assert_eq!(status, expected, "{case}: {problem}");
        assert_problem(status, &headers, &problem, expected, kind);
        nothing_stored(case).await;
    }

    // The URL itself still works.
    assert_eq!(put_as_told(&app, &doc, bytes.clone()).await.0, StatusCode::OK);
    assert_eq!(stored(&app, "alice", id).await.unwrap(), bytes);
}

#[tokio::test]
async fn one_documents_url_cannot_write_another() {
    let app = app();
    let bytes = lines(2);
    let first = grant(&app, "alice", NDJSON, bytes.len()).await;
    let second = grant(&app, "alice", NDJSON, bytes.len()).await;
    let bobs = grant(&app, "bob", NDJSON, bytes.len()).await;
    let [first_id, second_id, bobs_id] = [&first, &second, &bobs].map(|d| d["document_id"].as_str().unwrap());
    let query = |doc: &Value| doc["upload_url"].as_str().unwrap().split_once('?').unwrap().1.to_owned();

    for (case, url) in [
        ("alice's first URL on her second document", format!("http://h/v1/uploads/{second_id}?{}", query(&first))),
        ("bob's URL on alice's document", format!("http://h/v1/uploads/{first_id}?{}", query(&bobs))),
        ("bob's URL claiming alice", edit_query(bobs["upload_url"].as_str().unwrap(), "owner", Some("alice"))),
        ("alice's URL on bob's document", format!("http://h/v1/uploads/{bobs_id}?{}", query(&first))),
    ] {
        let (status, headers, problem) = put(&app, &url, Some(NDJSON), Some(bytes.len()), bytes.clone()).await;
        assert_problem(status, &headers, &problem, StatusCode::FORBIDDEN, "invalid-upload-signature");
        for (owner, id) in [("alice", first_id), ("alice", second_id), ("alice", bobs_id), ("bob", bobs_id)] {
            assert_eq!(stored(&app, owner, id).await, None, "{case}: {owner}/{id}");
        }
    }
    // Bob's URL writes only bob's document, under bob.
    assert_eq!(put_as_told(&app, &bobs, bytes.clone()).await.0, StatusCode::OK);
    assert_eq!(stored(&app, "bob", bobs_id).await.unwrap(), bytes);
    assert_eq!(stored(&app, "alice", bobs_id).await, None);
}

#[tokio::test]
async fn any_subject_auth_accepts_can_upload() {
    let app = app();
    // Percent-encoded, these once made a file name over 255 bytes (503).
    for owner in ["é".repeat(120), "o".repeat(256), "a/b|c".to_string()] {
        let bytes = lines(2);
        let doc = grant(&app, &owner, NDJSON, bytes.len()).await;
        let (status, _, body) = put_as_told(&app, &doc, bytes.clone()).await;
        assert_eq!(status, StatusCode::OK, "{owner}: {body}");
        let id = doc["document_id"].as_str().unwrap();
        assert_eq!(stored(&app, &owner, id).await.unwrap(), bytes);
        assert!(upload_key(&owner, id).len() < 150, "{}", upload_key(&owner, id));
    }
}

#[tokio::test]
async fn a_second_put_before_expiry_replaces_the_document_as_s3_does() {
    let app = app();
    let doc = grant(&app, "alice", NDJSON, 7).await;
    let id = doc["document_id"].as_str().unwrap();
    assert_eq!(put_as_told(&app, &doc, b"\"good\"\n".to_vec()).await.0, StatusCode::OK);
    assert_eq!(put_as_told(&app, &doc, b"\"bad!\"\n".to_vec()).await.0, StatusCode::OK);
    assert_eq!(stored(&app, "alice", id).await.unwrap(), b"\"bad!\"\n");
}

#[tokio::test]
async fn the_guard_bounds_signed_uploads_by_the_document_limit_and_header_size() {
    let app = app();
    let doc = grant(&app, "alice", NDJSON, 10).await;
    let url = doc["upload_url"].as_str().unwrap();
    // Over any document: refused from Content-Length alone, before reading.
    let (status, headers, body) = put(&app, url, Some(NDJSON), Some(64 * MIB + 1), Vec::new()).await;
    assert_problem(status, &headers, &body, StatusCode::PAYLOAD_TOO_LARGE, "payload-too-large");

    let mut req = Request::builder().method("PUT").uri(local(url)).header(header::CONTENT_TYPE, NDJSON);
    req = req.header(header::CONTENT_LENGTH, 10).header("x-padding", "p".repeat(17 * 1024));
    let (status, headers, body) = app.call(req.body(Body::from(vec![b'x'; 10])).unwrap()).await;
    assert_problem(status, &headers, &body, StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE, "headers-too-large");
    assert_eq!(stored(&app, "alice", doc["document_id"].as_str().unwrap()).await, None);
}

#[tokio::test]
async fn without_a_signer_the_url_is_the_direct_route() {
    let app = TestApp::new(Limits::default());
    let doc = grant(&app, "alice", NDJSON, 7).await;
    let id = doc["document_id"].as_str().unwrap();
    assert_eq!(local(doc["upload_url"].as_str().unwrap()), format!("/v1/documents/{id}"));
    // Nothing signs, so nothing verifies: the signed route is not there.
    let query = signer().sign(&signer_grant(id, 7));
    let url = format!("http://h/v1/uploads/{id}?{query}");
    let (status, headers, body) = put(&app, &url, Some(NDJSON), Some(7), b"\"good\"\n".to_vec()).await;
    assert_problem(status, &headers, &body, StatusCode::NOT_FOUND, "not-found");
    assert_eq!(stored(&app, "alice", id).await, None);
}

/// A `multipart/form-data` body with one part, as a browser form or `curl
/// -F` sends it.
fn form(name: &str, filename: Option<&str>, content_type: Option<&str>, bytes: &[u8]) -> (String, Vec<u8>) {
    let boundary = "ferry-test-boundary-7MA4YWxkTrZu0gW";
    let mut body = format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"");
    if let Some(filename) = filename {
        body.push_str(&format!("; filename=\"{filename}\""));
    }
    body.push_str("\r\n");
    if let Some(content_type) = content_type {
        body.push_str(&format!("Content-Type: {content_type}\r\n"));
    }
    body.push_str("\r\n");
    let mut body = body.into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

async fn direct(
    app: &TestApp,
    owner: &str,
    content_type: &str,
    body: Vec<u8>,
) -> (String, StatusCode, HeaderMap, Value) {
    let id = uuid::Uuid::now_v7().to_string();
    let req = Request::builder()
        .method("PUT")
        .uri(format!("/v1/documents/{id}"))
        .header(header::AUTHORIZATION, format!("Bearer {}", app.token(owner)))
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(body))
        .unwrap();
    let (status, headers, json) = app.call(req).await;
    (id, status, headers, json)
}

#[tokio::test]
async fn direct_uploads_take_a_raw_body_or_a_form_file() {
    let app = app();
    let pdf = b"%PDF-1.7\n resume".to_vec();
    for (what, (content_type, body)) in [
        ("raw", ("application/pdf".to_owned(), pdf.clone())),
        ("form, typed", form("file", Some("cv.pdf"), Some("application/pdf"), &pdf)),
        ("form, untyped", form("file", Some("cv.pdf"), Some("application/octet-stream"), &pdf)),
        ("form, another name", form("resume", Some("cv.pdf"), None, &pdf)),
    ] {
        let (id, status, _, body) = direct(&app, "alice", &content_type, body).await;
        assert_eq!(status, StatusCode::CREATED, "{what}: {body}");
        assert_eq!(body["size"], pdf.len(), "{what}");
        assert_eq!(stored(&app, "alice", &id).await.as_deref(), Some(&pdf[..]), "{what}: the file part, exactly");
    }
}

#[tokio::test]
async fn bad_form_uploads_are_problems_and_store_nothing() {
    let app = app();
    let limit = Limits::default().max_direct_upload_bytes as usize;
    for (what, (content_type, body), expected, kind) in [
        ("an image part", form("file", Some("a.png"), Some("image/png"), b"\x89PNG"), 415, "unsupported-media-type"),
        ("no file part", form("comment", None, None, b"hello"), 422, "invalid-input"),
        ("an empty file", form("file", Some("a.pdf"), Some("application/pdf"), b""), 422, "invalid-input"),
        (
            "too large",
            form("file", Some("a.txt"), Some("text/plain"), &vec![b'a'; limit + 1]),
            413,
            "payload-too-large",
        ),
        (
            "a wrong boundary",
            ("multipart/form-data; boundary=other".to_owned(), form("file", None, None, b"x").1),
            422,
            "invalid-input",
        ),
    ] {
        let (id, status, headers, body) = direct(&app, "alice", &content_type, body).await;
        assert_problem(status, &headers, &body, StatusCode::from_u16(expected).unwrap(), kind);
        assert_eq!(stored(&app, "alice", &id).await, None, "{what}: nothing stored");
    }
}

#[tokio::test]
async fn a_sentiment_job_given_a_resume_says_it_expected_jsonl() {
    let mut app = app();
    app.start_worker();
    let pdf = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/resumes/r01-daniel-okafor.pdf")).unwrap();
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    // Detected by content: the PNG is declared a PDF, as a renamed file would be.
    for (bytes, named) in [(pdf, "is a PDF"), (png, "is a PNG image")] {
        let doc = grant(&app, "alice", "application/pdf", bytes.len()).await;
        assert_eq!(put_as_told(&app, &doc, bytes).await.0, StatusCode::OK);
        let body = json!({"task": "sentiment", "document_id": doc["document_id"]});
        let (status, job) = app.send("POST", "/v1/jobs", Some("alice"), Some(body)).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{job}");
        let job = settled(&app, "alice", &job).await;
        assert_eq!(job["status"], "failed", "{job}");
        let error = job["error"].as_str().unwrap();
        assert!(error.contains("JSONL") && error.contains(named) && error.contains("resume-match"), "{error}");
    }
}
