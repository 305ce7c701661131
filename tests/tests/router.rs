//! Every route and every error path of the router, through `oneshot`.

use axum::http::{StatusCode, header};
use ferry_core::Limits;
use ferry_tests::{TestApp, request};
use serde_json::{Value, json};
use std::time::Duration;

fn problem_type(v: &Value) -> &str {
    v["type"].as_str().unwrap_or("")
}

#[tokio::test]
async fn health_needs_no_token_but_everything_else_does() {
    let app = TestApp::new(Limits::default());
    let (status, body) = app.send("GET", "/healthz", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "ok");

    for (method, uri) in [
        ("GET", "/v1/models"),
        ("GET", "/v1/jobs"),
        ("POST", "/v1/jobs"),
        ("GET", "/v1/jobs/0192f0c4-0000-7000-8000-000000000000"),
        ("POST", "/v1/sentiment"),
    ] {
        let (status, headers, body) = app.call(request(method, uri, None, Some(json!({})))).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {uri}");
        assert_eq!(problem_type(&body), "urn:ferry:problem:missing-token");
        assert_eq!(headers[header::WWW_AUTHENTICATE], "Bearer");
        assert_eq!(headers[header::CONTENT_TYPE], "application/problem+json");
    }
}

#[tokio::test]
async fn invalid_and_expired_tokens_are_refused() {
    let app = TestApp::new(Limits::default());
    let (status, _, body) = app.call(request("GET", "/v1/models", Some("not.a.jwt"), None)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(problem_type(&body), "urn:ferry:problem:invalid-token");

    let other = ferry_core::Authenticator::hs256(b"some-other-secret-some-other-secret").unwrap();
    let forged = other.mint("alice", Duration::from_secs(60)).unwrap();
    let (status, _, body) = app.call(request("GET", "/v1/models", Some(&forged), None)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(problem_type(&body), "urn:ferry:problem:invalid-token");

    let expired = app.auth.mint_expired("alice", Duration::from_secs(3600)).unwrap();
    let (status, _, body) = app.call(request("GET", "/v1/models", Some(&expired), None)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(problem_type(&body), "urn:ferry:problem:token-expired");
}

#[tokio::test]
async fn models_are_listed() {
    let app = TestApp::new(Limits::default());
    let (status, body) = app.send("GET", "/v1/models", Some("alice"), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["models"][0]["task"], "sentiment");
    assert_eq!(body["models"][0]["labels"], json!(["negative", "neutral", "positive"]));
}

#[tokio::test]
async fn a_job_is_queued_then_read_back_by_its_owner_only() {
    let app = TestApp::new(Limits::default());
    let (status, headers, body) = app
        .call(request(
            "POST",
            "/v1/jobs",
            Some(&app.token("alice")),
            Some(json!({"task": "sentiment", "inputs": ["good", "bad"]})),
        ))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let id = body["id"].as_str().unwrap().to_owned();
    assert_eq!(headers[header::LOCATION], format!("/v1/jobs/{id}").as_str());
    assert_eq!(body["status"], "queued");
    assert_eq!(body["progress"], json!({"total": 2, "done": 0, "failed": 0}));
    assert_eq!(app.queue.depth().await.unwrap(), 1);

    let (status, body) = app.send("GET", &format!("/v1/jobs/{id}"), Some("alice"), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["id"], id.as_str());

    let (status, body) = app.send("GET", &format!("/v1/jobs/{id}"), Some("mallory"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(problem_type(&body), "urn:ferry:problem:not-found");
    let (status, _) = app.send("DELETE", &format!("/v1/jobs/{id}"), Some("mallory"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app.send("GET", &format!("/v1/jobs/{id}/results"), Some("mallory"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn unknown_and_malformed_job_ids_are_404() {
    let app = TestApp::new(Limits::default());
    for id in ["0192f0c4-0000-7000-8000-000000000000", "nope", "1%3BDROP%20TABLE%20jobs"] {
        let (status, body) = app.send("GET", &format!("/v1/jobs/{id}"), Some("alice"), None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{id}");
        assert_eq!(problem_type(&body), "urn:ferry:problem:not-found");
    }
    let (status, body) = app.send("GET", "/v1/nothing-here", Some("alice"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(problem_type(&body), "urn:ferry:problem:not-found");
    let (status, body) = app.send("PUT", "/v1/models", Some("alice"), None).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(problem_type(&body), "urn:ferry:problem:method-not-allowed");
}

#[tokio::test]
async fn bad_bodies_get_clear_4xx() {
    let limits = Limits { max_inputs: 3, max_text_bytes: 50, max_body_bytes: 1024, ..Limits::default() };
    let app = TestApp::new(limits);
    let token = app.token("alice");
    let cases: Vec<(Value, StatusCode, &str)> = vec![
        (json!({"task": "summarise", "input": "hi"}), StatusCode::UNPROCESSABLE_ENTITY, "unknown-task"),
        (json!({"task": "sentiment", "input": "   "}), StatusCode::UNPROCESSABLE_ENTITY, "empty-text"),
        (json!({"task": "sentiment", "inputs": ["ok", ""]}), StatusCode::UNPROCESSABLE_ENTITY, "empty-text"),
        (json!({"task": "sentiment", "inputs": []}), StatusCode::UNPROCESSABLE_ENTITY, "invalid-input"),
        (json!({"task": "sentiment"}), StatusCode::UNPROCESSABLE_ENTITY, "invalid-input"),
        (
            json!({"task": "sentiment", "input": "a", "inputs": ["b"]}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-input",
        ),
        (
            json!({"task": "sentiment", "inputs": ["a", "b", "c", "d"]}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "too-many-inputs",
        ),
        (json!({"task": "sentiment", "input": "x".repeat(51)}), StatusCode::UNPROCESSABLE_ENTITY, "text-too-long"),
        (json!({"task": "sentiment", "input": "x".repeat(2000)}), StatusCode::PAYLOAD_TOO_LARGE, "payload-too-large"),
        (json!({"task": "sentiment", "input": "hi", "colour": 1}), StatusCode::BAD_REQUEST, "invalid-json"),
        (json!({"task": "sentiment", "input": 42}), StatusCode::BAD_REQUEST, "invalid-json"),
        (
            json!({"task": "sentiment", "input": "hi", "metadata": [1]}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-input",
        ),
    ];
    for (body, status, slug) in cases {
        let (got, _, problem) = app.call(request("POST", "/v1/jobs", Some(&token), Some(body.clone()))).await;
        assert_eq!(got, status, "{body}");
        assert_eq!(problem_type(&problem), format!("urn:ferry:problem:{slug}"), "{body}");
        assert!(problem["detail"].as_str().is_some_and(|d| !d.is_empty()));
    }
    assert_eq!(app.queue.depth().await.unwrap(), 0, "nothing invalid was queued");

    let raw = axum::http::Request::builder()
        .method("POST")
        .uri("/v1/jobs")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(axum::body::Body::from("{not json"))
        .unwrap();
    let (status, _, problem) = app.call(raw).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(problem_type(&problem), "urn:ferry:problem:invalid-json");

    let form = axum::http::Request::builder()
        .method("POST")
        .uri("/v1/sentiment")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "text/plain")
        .body(axum::body::Body::from("hello"))
        .unwrap();
    let (status, _, problem) = app.call(form).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(problem_type(&problem), "urn:ferry:problem:unsupported-media-type");

    let (status, problem) = app.send("POST", "/v1/sentiment", Some("alice"), Some(json!({"text": ""}))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem_type(&problem), "urn:ferry:problem:empty-text");
}

#[tokio::test]
async fn prefer_wait_returns_the_finished_job() {
    let mut app = TestApp::new(Limits::default());
    app.start_worker();
    let token = app.token("alice");
    let mut req = request(
        "POST",
        "/v1/jobs",
        Some(&token),
        Some(json!({"task": "sentiment", "inputs": ["good", "bad", "meh"], "metadata": {"ref": 7}})),
    );
    req.headers_mut().insert("prefer", "wait=10".parse().unwrap());
    let (status, _, body) = app.call(req).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "succeeded");
    assert_eq!(body["metadata"], json!({"ref": 7}));
    let labels: Vec<&str> =
        body["results"].as_array().unwrap().iter().map(|r| r["sentiment"].as_str().unwrap()).collect();
    assert_eq!(labels, ["positive", "negative", "neutral"]);
    assert_eq!(body["progress"], json!({"total": 3, "done": 3, "failed": 0}));
}

#[tokio::test]
async fn sentiment_answers_synchronously() {
    let mut app = TestApp::new(Limits::default());
    app.start_worker();
    let (status, body) = app.send("POST", "/v1/sentiment", Some("alice"), Some(json!({"text": "so good"}))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["sentiment"], "positive");
    assert!((body["confidence"].as_f64().unwrap() - 0.8).abs() < 1e-6);
    let scores = &body["scores"];
    let sum: f64 = ["negative", "neutral", "positive"].iter().map(|k| scores[k].as_f64().unwrap()).sum();
    assert!((sum - 1.0).abs() < 1e-5);
    let job_id = body["job_id"].as_str().unwrap();
    let (status, job) = app.send("GET", &format!("/v1/jobs/{job_id}"), Some("alice"), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(job["status"], "succeeded");
}

#[tokio::test]
async fn sentiment_names_the_language_and_warns_off_english() {
    let mut app = TestApp::new(Limits::default());
    app.start_worker();
    let (status, body) = app.send("POST", "/v1/sentiment", Some("alice"), Some(json!({"text": "so good"}))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["language"], "en");
    assert!(body.get("warning").is_none(), "{body}");
    let swedish = json!({"text": "Fantastisk telefon, jag älskar den"});
    let (status, body) = app.send("POST", "/v1/sentiment", Some("alice"), Some(swedish)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["language"], "sv");
    assert!(body["warning"].as_str().is_some_and(|w| w.contains("know English and ar, de,")), "{body}");
    let (_, models) = app.send("GET", "/v1/models", Some("alice"), None).await;
    assert_eq!(models.to_string().matches(r#""languages":["en"]"#).count(), 2, "{models}");
    let multilingual = models
        .to_string()
        .matches(r#""languages":["ar","de","es","fr","it","ja","ko","nl","pl","pt","ru","th","tr","zh"]"#)
        .count();
    assert_eq!(multilingual, 1, "{models}");
}

#[tokio::test]
async fn sentiment_without_a_worker_answers_202_after_its_wait() {
    let app = TestApp::new(Limits { sentiment_wait: Duration::from_millis(200), ..Limits::default() });
    let (status, headers, body) =
        app.call(request("POST", "/v1/sentiment", Some(&app.token("alice")), Some(json!({"text": "good"})))).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(body["status"], "queued");
    assert!(headers.contains_key(header::LOCATION));
}

#[tokio::test]
async fn idempotency_key_returns_the_same_job() {
    let app = TestApp::new(Limits::default());
    let token = app.token("alice");
    let make = |key: &str| {
        let mut req = request("POST", "/v1/jobs", Some(&token), Some(json!({"task": "sentiment", "input": "good"})));
        req.headers_mut().insert("idempotency-key", key.parse().unwrap());
        req
    };
    let (s1, _, first) = app.call(make("order-17")).await;
    let (s2, h2, second) = app.call(make("order-17")).await;
    assert_eq!(s1, StatusCode::ACCEPTED);
    assert_eq!(s2, StatusCode::ACCEPTED);
    assert_eq!(first["id"], second["id"]);
    assert_eq!(h2["idempotent-replayed"], "true");
    assert_eq!(app.queue.depth().await.unwrap(), 1, "the replay queued nothing");
    let (_, _, third) = app.call(make("order-18")).await;
    assert_ne!(first["id"], third["id"]);
}

#[tokio::test]
async fn large_jobs_page_their_results() {
    let mut app = TestApp::new(Limits { inline_results: 100, ..Limits::default() });
    app.start_worker();
    let inputs: Vec<String> =
        (0..1500).map(|i| if i % 2 == 0 { format!("good {i}") } else { format!("bad {i}") }).collect();
    let mut req =
        request("POST", "/v1/jobs", Some(&app.token("alice")), Some(json!({"task": "sentiment", "inputs": inputs})));
    req.headers_mut().insert("prefer", "wait=30".parse().unwrap());
    let (status, _, job) = app.call(req).await;
    assert_eq!(status, StatusCode::OK, "{job}");
    assert!(job.get("results").is_none(), "too large to inline");
    let id = job["id"].as_str().unwrap();

    let mut seen = Vec::new();
    let mut cursor = String::new();
    for _ in 0..10 {
        let (status, page) =
            app.send("GET", &format!("/v1/jobs/{id}/results?cursor={cursor}"), Some("alice"), None).await;
        assert_eq!(status, StatusCode::OK);
        seen.extend(page["results"].as_array().unwrap().iter().map(|r| r["i"].as_u64().unwrap()));
        match page["next_cursor"].as_str() {
            Some(next) => cursor = next.to_owned(),
            None => break,
        }
    }
    assert_eq!(seen, (0..1500).collect::<Vec<u64>>());
}

#[tokio::test]
async fn jobs_are_listed_newest_first_and_can_be_canceled() {
    let app = TestApp::new(Limits::default());
    let mut ids = Vec::new();
    for _ in 0..3 {
        let (_, body) =
            app.send("POST", "/v1/jobs", Some("alice"), Some(json!({"task": "sentiment", "input": "good"}))).await;
        ids.push(body["id"].as_str().unwrap().to_owned());
    }
    app.send("POST", "/v1/jobs", Some("bob"), Some(json!({"task": "sentiment", "input": "good"}))).await;

    let (status, page) = app.send("GET", "/v1/jobs?limit=2", Some("alice"), None).await;
    assert_eq!(status, StatusCode::OK);
    let listed: Vec<&str> = page["jobs"].as_array().unwrap().iter().map(|j| j["id"].as_str().unwrap()).collect();
    assert_eq!(listed, [ids[2].as_str(), ids[1].as_str()]);
    let cursor = page["next_cursor"].as_str().unwrap();
    let (_, page) = app.send("GET", &format!("/v1/jobs?limit=2&cursor={cursor}"), Some("alice"), None).await;
    assert_eq!(page["jobs"][0]["id"], ids[0].as_str());

    let (status, job) = app.send("DELETE", &format!("/v1/jobs/{}", ids[0]), Some("alice"), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(job["status"], "canceled");
    // DELETE is idempotent: canceling a canceled job answers the same.
    let (status, job) = app.send("DELETE", &format!("/v1/jobs/{}", ids[0]), Some("alice"), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(job["status"], "canceled");
    let (_, page) = app.send("GET", "/v1/jobs?status=canceled", Some("alice"), None).await;
    assert_eq!(page["jobs"].as_array().unwrap().len(), 1);
    let (status, _) = app.send("GET", "/v1/jobs?status=bogus", Some("alice"), None).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = app.send("GET", "/v1/jobs?limit=0", Some("alice"), None).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn every_answer_names_its_request() {
    let app = TestApp::new(Limits::default());
    let token = app.token("alice");
    let with_id = |id: &str| {
        let mut req = request("GET", "/v1/jobs/nope", Some(&token), None);
        req.headers_mut().insert("x-request-id", id.parse().unwrap());
        req
    };
    // A well-formed id the client sent is echoed, in the header and the problem.
    let (status, headers, body) = app.call(with_id("client-42.a:b_c")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(headers["x-request-id"], "client-42.a:b_c");
    assert_eq!(body["request_id"], "client-42.a:b_c");
    // Anything else is replaced by an id of Ferry's own, different each time.
    let mut seen = std::collections::HashSet::new();
    for sent in ["has space", "semi;colon", &"x".repeat(129)] {
        let (_, headers, body) = app.call(with_id(sent)).await;
        let id = headers["x-request-id"].to_str().unwrap().to_owned();
        assert_ne!(id, sent);
        assert!(uuid::Uuid::parse_str(&id).is_ok(), "{id}");
        assert_eq!(body["request_id"], id.as_str());
        assert!(seen.insert(id));
    }
    // Successes carry one too; their bodies are left as they are.
    let (status, headers, body) = app.call(request("GET", "/v1/models", Some(&token), None)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(uuid::Uuid::parse_str(headers["x-request-id"].to_str().unwrap()).is_ok());
    assert!(body.get("request_id").is_none());
}

#[tokio::test]
async fn malformed_query_strings_are_problems() {
    let app = TestApp::new(Limits::default());
    let token = app.token("alice");
    let (status, _, job) =
        app.call(request("POST", "/v1/jobs", Some(&token), Some(json!({"task": "sentiment", "input": "good"})))).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let results = format!("/v1/jobs/{}/results?limit=-1", job["id"].as_str().unwrap());
    for uri in ["/v1/jobs?limit=abc", "/v1/jobs?limit=99999999999", results.as_str()] {
        let (status, headers, body) = app.call(request("GET", uri, Some(&token), None)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}: {body}");
        assert_eq!(headers[header::CONTENT_TYPE], "application/problem+json", "{uri}");
        assert_eq!(problem_type(&body), "urn:ferry:problem:invalid-query", "{uri}");
        assert!(body["detail"].as_str().unwrap().contains("limit"), "{uri}: {body}");
    }
}

/// A request with raw headers and body, as a client that gets things wrong sends it.
fn raw(
    method: &str,
    uri: &str,
    authorization: Option<&str>,
    content_type: &str,
    body: Vec<u8>,
) -> axum::http::Request<axum::body::Body> {
    let mut builder = axum::http::Request::builder().method(method).uri(uri).header(header::CONTENT_TYPE, content_type);
    if let Some(value) = authorization {
        builder = builder.header(header::AUTHORIZATION, value);
    }
    builder.body(axum::body::Body::from(body)).unwrap()
}

#[tokio::test]
async fn credential_errors_say_what_was_expected() {
    let app = TestApp::new(Limits::default());
    let token = app.token("alice");
    let cases = [
        (token.clone(), "missing-token", "`Bearer <token>`"),
        ("Bearer abc".to_owned(), "invalid-token", "not a JWT (expected three base64url parts"),
        (format!("Token {token}"), "missing-token", "`Bearer <token>`"),
    ];
    for (authorization, slug, says) in cases {
        let (status, _, problem) =
            app.call(raw("GET", "/v1/jobs", Some(authorization.as_str()), "application/json", vec![])).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{authorization}");
        assert_eq!(problem_type(&problem), format!("urn:ferry:problem:{slug}"));
        assert!(problem["detail"].as_str().unwrap().contains(says), "{problem}");
    }
    let (_, _, problem) = app.call(raw("GET", "/v1/jobs", None, "application/json", vec![])).await;
    assert!(problem["detail"].as_str().unwrap().contains("x-api-key"), "{problem}");
    // A token from another data directory: signed with another secret.
    let other = ferry_core::Authenticator::hs256(b"another-data-dir-secret-another-data-dir").unwrap();
    let foreign = format!("Bearer {}", other.mint("alice", Duration::from_secs(60)).unwrap());
    let (_, _, problem) = app.call(raw("GET", "/v1/jobs", Some(foreign.as_str()), "application/json", vec![])).await;
    assert!(problem["detail"].as_str().unwrap().contains("--data-dir"), "{problem}");
}

#[tokio::test]
async fn one_vocabulary_for_texts_and_json_objects_only() {
    let mut app = TestApp::new(Limits::default());
    app.start_worker();
    let bearer = format!("Bearer {}", app.token("alice"));
    // `input` on /v1/sentiment, `text` on /v1/jobs, `{"text"}` objects in `inputs`.
    let (status, answer) = app.send("POST", "/v1/sentiment", Some("alice"), Some(json!({"input": "good"}))).await;
    assert_eq!((status, &answer["sentiment"]), (StatusCode::OK, &json!("positive")), "{answer}");
    let bodies = [
        json!({"task": "sentiment", "text": "good"}),
        json!({"task": "sentiment", "inputs": [{"text": "good"}, "bad"]}),
    ];
    for body in bodies {
        let (status, job) = app.send("POST", "/v1/jobs", Some("alice"), Some(body.clone())).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{body}: {job}");
    }
    let (status, _, problem) = app
        .call(request(
            "POST",
            "/v1/jobs",
            Some(&app.token("alice")),
            Some(json!({"task": "sentiment", "inputs": [{"txt": "a"}]})),
        ))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{problem}");
    // A JSON array is not read as the object's fields.
    let (status, _, problem) = app
        .call(raw("POST", "/v1/sentiment", Some(bearer.as_str()), "application/json", b"[\"hello\"]".to_vec()))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(problem["detail"].as_str().unwrap().contains("must be a JSON object"), "{problem}");
    // A UTF-8 byte order mark before the JSON is skipped.
    let mut bom = "\u{feff}".as_bytes().to_vec();
    bom.extend_from_slice(br#"{"task": "sentiment", "input": "good"}"#);
    let (status, _, job) = app.call(raw("POST", "/v1/jobs", Some(bearer.as_str()), "application/json", bom)).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
}

#[tokio::test]
async fn document_mistakes_say_what_to_do_instead() {
    let app = TestApp::new(Limits::default());
    let bearer = format!("Bearer {}", app.token("alice"));
    let (status, problem) =
        app.send("POST", "/v1/documents", Some("alice"), Some(json!({"content_type": "text/plain", "size": 0}))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "a zero size is invalid, not too large");
    assert!(problem["detail"].as_str().unwrap().contains("exact length"), "{problem}");
    let body = json!({"content_type": "text/plain", "size": 12, "filename": "cv.txt"});
    let (status, created) = app.send("POST", "/v1/documents", Some("alice"), Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["filename"], "cv.txt");

    let (status, _, problem) = app
        .call(raw("PUT", "/v1/documents/my-resume", Some(bearer.as_str()), "text/plain", b"Jane Doe".to_vec()))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(problem["detail"].as_str().unwrap().contains("a document id is a UUID"), "{problem}");

    let form = "multipart/form-data; boundary=x";
    let (status, _, problem) =
        app.call(raw("POST", "/v1/documents", Some(bearer.as_str()), form, b"--x--".to_vec())).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(problem["detail"].as_str().unwrap().contains("PUT /v1/documents/{id}"), "{problem}");
}
