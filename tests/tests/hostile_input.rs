//! Hostile requests: oversized, malformed, deeply nested, not UTF-8, huge
//! headers. Each gets a 4xx problem, and the router keeps serving. Plus a
//! property test (proptest) over request parsing and the queue-message
//! parser: whatever arrives, nothing panics and nothing is a 5xx.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use ferry_core::{Limits, TaskMessage};
use ferry_tests::TestApp;
use proptest::prelude::*;

fn post(app: &TestApp, body: Body, extra: &[(&str, String)]) -> Request<Body> {
    let mut builder = Request::builder()
        .method("POST")
        .uri("/v1/jobs")
        .header(header::AUTHORIZATION, format!("Bearer {}", app.token("alice")))
        .header(header::CONTENT_TYPE, "application/json");
    for (name, value) in extra {
        builder = builder.header(*name, value);
    }
    builder.body(body).unwrap()
}

#[tokio::test]
async fn hostile_bodies_and_headers_get_4xx_and_the_server_keeps_serving() {
    let app = TestApp::new(Limits::default());
    let seven_mb = vec![b' '; 7 * 1024 * 1024];
    let declared = post(&app, Body::from(seven_mb.clone()), &[("content-length", seven_mb.len().to_string())]);
    let streamed = post(
        &app,
        Body::from_stream(futures_util::stream::iter((0..7).map(|_| Ok::<_, std::io::Error>(vec![b' '; 1024 * 1024])))),
        &[],
    );
    let cases: Vec<(&str, Request<Body>, StatusCode, &str)> = vec![
        ("7 MB body with Content-Length", declared, StatusCode::PAYLOAD_TOO_LARGE, "payload-too-large"),
        ("7 MB body streamed without a length", streamed, StatusCode::PAYLOAD_TOO_LARGE, "payload-too-large"),
        (
            "JSON nested 100,000 deep",
            post(&app, Body::from("[".repeat(100_000)), &[]),
            StatusCode::BAD_REQUEST,
            "invalid-json",
        ),
        (
            "metadata nested 200 deep",
            post(
                &app,
                Body::from(format!(
                    r#"{{"task":"sentiment","input":"hi","metadata":{}{}}}"#,
                    r#"{"a":"#.repeat(200),
                    "1".to_string() + &"}".repeat(200)
                )),
                &[],
            ),
            StatusCode::BAD_REQUEST,
            "invalid-json",
        ),
        (
            "invalid UTF-8",
            post(&app, Body::from(vec![b'{', b'"', 0xff, 0xfe, b'"', b'}']), &[]),
            StatusCode::BAD_REQUEST,
            "invalid-json",
        ),
        (
            "unknown field",
            post(&app, Body::from(r#"{"task":"sentiment","input":"hi","admin":true}"#), &[]),
            StatusCode::BAD_REQUEST,
            "invalid-json",
        ),
        (
            "a 10 MB header",
            post(&app, Body::from("{}"), &[("x-junk", "a".repeat(10 << 20))]),
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "headers-too-large",
        ),
        (
            "200 headers of 100 bytes",
            {
                let mut req = post(&app, Body::from("{}"), &[]);
                for i in 0..200 {
                    req.headers_mut().append(
                        header::HeaderName::from_bytes(format!("x-h{i}").as_bytes()).unwrap(),
                        "b".repeat(100).parse().unwrap(),
                    );
                }
                req
            },
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "headers-too-large",
        ),
    ];
    for (name, request, status, kind) in cases {
        let (got, headers, body) = app.call(request).await;
        assert_eq!(got, status, "{name}: {body}");
        assert_eq!(headers[header::CONTENT_TYPE], "application/problem+json", "{name}");
        assert_eq!(body["type"], format!("urn:ferry:problem:{kind}"), "{name}");
        assert_eq!(headers["x-content-type-options"], "nosniff", "{name}: security headers on errors too");
    }
    // Still serving, and nothing was queued by any of it.
    assert_eq!(app.queue.depth().await.unwrap(), 0);
    let (status, headers, _) = app.call(post(&app, Body::from(r#"{"task":"sentiment","input":"hi"}"#), &[])).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(headers["cache-control"], "no-store");
}

#[tokio::test]
async fn header_values_that_once_panicked_a_handler_get_4xx_or_an_answer() {
    let app = TestApp::new(short_waits());
    let token = app.token("alice");
    let sent = |method: &str, path: &str, body: &str, name: &str, value: &str| {
        Request::builder()
            .method(method)
            .uri(path)
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(header::CONTENT_TYPE, "application/json")
            .header(name, value)
            .body(Body::from(body.to_owned()))
            .unwrap()
    };
    let (status, _, job) =
        app.call(sent("POST", "/v1/jobs", r#"{"task":"sentiment","input":"hi"}"#, "prefer", "wait=0")).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    let job_path = format!("/v1/jobs/{}", job["id"].as_str().unwrap());
    for (method, path, body, name, value) in [
        ("POST", "/v1/jobs", r#"{"task":"sentiment","input":"hi"}"#, "prefer", "wait=1e308"),
        ("POST", "/v1/sentiment", r#"{"text":"hi"}"#, "prefer", "wait=1e308"),
        ("GET", job_path.as_str(), "", "prefer", "wait=18446744073709551616"),
        ("POST", "/v1/jobs", r#"{"task":"sentiment","input":"hi"}"#, "cancel-after", "18446744073709551616"),
        ("POST", "/v1/jobs", r#"{"task":"sentiment","input":"hi"}"#, "cancel-after", "604801"),
    ] {
        // No worker runs, so a wait lasts its whole (capped) length.
        let request = sent(method, path, body, name, value);
        let answer = tokio::time::timeout(std::time::Duration::from_secs(60), app.call(request)).await;
        let (status, _, body) = answer.expect("answered within the longest wait");
        assert!(status.as_u16() < 500, "{method} {path} {name}: {value} -> {status} {body}");
        if name == "cancel-after" {
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "past 7 days is refused, not capped: {body}");
        }
    }
}

fn arbitrary_request() -> impl Strategy<Value = (String, String, String, Vec<u8>, String)> {
    (
        prop::sample::select(vec!["GET", "POST", "DELETE", "PUT", "PATCH", "OPTIONS"]).prop_map(str::to_owned),
        prop_oneof![
            Just("/v1/jobs".to_string()),
            Just("/v1/sentiment".to_string()),
            "/v1/jobs/[a-z0-9%-]{0,40}(/results)?(\\?cursor=[a-z0-9%]{0,10})?",
            "/v1/jobs\\?(status|limit|cursor)=[a-z0-9%&=]{0,20}",
            "/[ -~]{0,30}".prop_map(|p| p.replace(['?', '#', ' '], "")),
        ],
        prop_oneof![Just("application/json".to_string()), "[ -~]{0,40}"],
        prop_oneof![
            prop::collection::vec(any::<u8>(), 0..512),
            "\\{\"task\":\"(sentiment|x)\",\"inputs?\":(\\[\"[ -~]{0,20}\"\\]|\"[ -~]{0,30}\"|null|1)(,\"metadata\":\\{\\})?\\}"
                .prop_map(String::into_bytes),
        ],
        prop_oneof![Just(String::new()), "[ -~]{0,60}"],
    )
}

/// Default limits, but waits capped at 50 ms: no worker runs here, so every
/// `Prefer: wait` lasts its whole (capped) length. The cap is what is tested.
fn short_waits() -> Limits {
    let wait = std::time::Duration::from_millis(50);
    Limits { max_wait: wait, sentiment_wait: wait, ..Limits::default() }
}

/// Values the API parses from headers, as a client might send them: numbers
/// of every size and form, and noise.
fn header_value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("wait=1e308".to_string()),
        Just("wait=18446744073709551616".to_string()),
        Just("wait=-0".to_string()),
        Just("wait=NaN, wait=inf".to_string()),
        "wait=[0-9eE.+-]{0,24}",
        "respond-async(, wait=[0-9]{1,25})?",
        "[0-9]{1,30}",
        "-?[0-9]{1,5}(\\.[0-9]{0,5})?",
        "[ -~]{0,80}",
    ]
}

/// Requests with `Prefer`, `Cancel-After` and `Idempotency-Key` set to
/// anything, on the routes that read them.
fn request_with_headers() -> impl Strategy<Value = (String, String, Vec<(String, String)>)> {
    (
        prop_oneof![
            Just(("POST".to_string(), "/v1/jobs".to_string())),
            Just(("POST".to_string(), "/v1/sentiment".to_string())),
            Just(("GET".to_string(), "/v1/jobs/0192f0c4-0000-7000-8000-000000000000".to_string())),
            "/v1/jobs/[0-9a-f-]{36}/results\\?(limit|cursor|format)=[0-9a-z.%-]{0,30}"
                .prop_map(|p| ("GET".to_string(), p)),
            "/v1/jobs\\?(limit|cursor|status)=[0-9a-z.%-]{0,30}".prop_map(|p| ("GET".to_string(), p)),
        ],
        prop::collection::vec(
            (prop::sample::select(vec!["prefer", "cancel-after", "idempotency-key", "x-api-key"]), header_value()),
            0..4,
        ),
    )
        .prop_map(|((method, path), headers)| {
            (method, path, headers.into_iter().map(|(n, v)| (n.to_string(), v)).collect())
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn any_header_value_gets_an_answer_below_500((method, path, headers) in request_with_headers()) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let app = TestApp::new(short_waits());
        let mut builder = Request::builder()
            .method(method.as_str())
            .uri(path.as_str())
            .header(header::AUTHORIZATION, format!("Bearer {}", app.token("alice")))
            .header(header::CONTENT_TYPE, "application/json");
        for (name, value) in &headers {
            if let Ok(value) = header::HeaderValue::from_str(value) {
                builder = builder.header(name.as_str(), value);
            }
        }
        let body = if method == "POST" { r#"{"task":"sentiment","input":"hi"}"# } else { "" };
        let body = if path == "/v1/sentiment" { r#"{"text":"hi"}"# } else { body };
        let request = builder.body(Body::from(body)).unwrap();
        let (status, _, problem) = runtime.block_on(app.call(request));
        prop_assert!(status.as_u16() < 500, "{} {} {:?} -> {} {}", method, path, headers, status, problem);
    }

    #[test]
    fn any_request_gets_an_answer_below_500((method, path, content_type, body, auth) in arbitrary_request()) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let app = TestApp::new(Limits::default());
        let token = app.token("alice");
        let mut builder = Request::builder().method(method.as_str()).uri(path.as_str());
        builder = builder.header(header::AUTHORIZATION, if auth.is_empty() { format!("Bearer {token}") } else { auth });
        if let Ok(value) = header::HeaderValue::from_str(&content_type) {
            builder = builder.header(header::CONTENT_TYPE, value);
        }
        if let Ok(request) = builder.body(Body::from(body)) {
            let (status, _, _) = runtime.block_on(app.call(request));
            prop_assert!(status.as_u16() < 500, "{} {} -> {}", method, path, status);
        }
    }

    #[test]
    fn any_queue_message_parses_or_is_poison(body in prop_oneof![
        ".*",
        "\\{\"v\":1,\"job_id\":\"[0-9a-f-]{0,40}\",\"owner\":\"[a-z]{0,5}\",\"task\":\"[a-z]{0,10}\",\"chunk\":-?[0-9]{1,12},\"items\":(\\[\\]|\\[\\{\"i\":-?[0-9]{1,12},\"text\":\"[ -~]{0,10}\"\\}\\]|null)(,\"total\":-?[0-9]{1,12})?\\}",
    ]) {
        let _ = TaskMessage::parse(&body);
    }
}
