//! End to end through the real `ferry` binary and the real model: start
//! `ferry serve` on a free loopback port, mint a token with `ferry token`,
//! predict over HTTP, and survive a kill and a graceful stop with work queued.

mod common;

use common::{FERRY, Served, emulator_queue, emulator_running, raw_status, respond, rss_kb, token};
use serde_json::{Value, json};
use std::process::Command;
use std::time::{Duration, Instant};

#[test]
fn sentiment_over_http_with_the_real_model() {
    let dir = tempfile::tempdir().unwrap();
    let server = Served::start(dir.path(), &[]);
    let alice = token(dir.path(), "alice");

    for (text, expected) in [
        ("I absolutely love this phone, the battery lasts forever!", "positive"),
        ("This is the worst purchase I have ever made. Total waste of money.", "negative"),
        ("The package was delivered on Tuesday.", "neutral"),
    ] {
        let (status, body) = server.post("/v1/sentiment", &alice, json!({ "text": text }), None);
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["sentiment"], expected, "{text}: {body}");
        assert!(body["confidence"].as_f64().unwrap() > 0.4);
    }

    let (status, job) = server.post(
        "/v1/jobs",
        &alice,
        json!({"task": "sentiment", "inputs": ["Fantastic service, thank you!", "Awful. It broke in a day."]}),
        None,
    );
    assert_eq!(status, 202, "{job}");
    let path = format!("/v1/jobs/{}", job["id"].as_str().unwrap());
    let (status, done) = server.get(&path, &alice, Some("wait=20"));
    assert_eq!(status, 200);
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(done["results"][0]["sentiment"], "positive");
    assert_eq!(done["results"][1]["sentiment"], "negative");

    let (status, _) = server.get(&path, &token(dir.path(), "bob"), None);
    assert_eq!(status, 404, "another subject cannot see alice's job");
}

/// The upload flow a mobile client uses against AWS, unchanged: `POST
/// /v1/documents`, then a PUT to the returned URL with only the returned
/// headers (no credential), here of a document over the API's 6 MiB limit.
#[test]
fn a_document_goes_to_the_returned_upload_url_without_a_credential() {
    let dir = tempfile::tempdir().unwrap();
    let server = Served::start(dir.path(), &["--workers", "0"]);
    let alice = token(dir.path(), "alice");
    let document = "\"What a lovely day\"\n".repeat(7 * 1024 * 1024 / 20).into_bytes();
    let (status, doc) = server.post(
        "/v1/documents",
        &alice,
        json!({"content_type": "application/x-ndjson", "size": document.len()}),
        None,
    );
    assert_eq!(status, 201, "{doc}");

    let mut put = ureq::request(doc["method"].as_str().unwrap(), doc["upload_url"].as_str().unwrap());
    for (name, value) in doc["headers"].as_object().unwrap() {
        put = put.set(name, value.as_str().unwrap());
    }
    let (status, uploaded) = respond(put.send_bytes(&document));
    assert_eq!(status, 200, "{uploaded}");
    assert_eq!(uploaded["size"], document.len());

    let id = doc["document_id"].as_str().unwrap();
    let (status, job) = server.post("/v1/jobs", &alice, json!({"task": "sentiment", "document_id": id}), None);
    assert_eq!(status, 202, "the uploaded document is alice's job input: {job}");
}

#[test]
fn queued_work_survives_a_kill_and_a_graceful_stop() {
    let dir = tempfile::tempdir().unwrap();
    let alice = token(dir.path(), "alice");

    // An API-only server queues a job that nothing works on, then dies hard.
    let mut api_only = Served::start(dir.path(), &["--workers", "0"]);
    let (status, job) =
        api_only.post("/v1/jobs", &alice, json!({"task": "sentiment", "input": "What a lovely day"}), None);
    assert_eq!(status, 202);
    let killed = format!("/v1/jobs/{}", job["id"].as_str().unwrap());
    assert_eq!(api_only.get(&killed, &alice, None).1["status"], "queued");
    api_only.signal("-KILL");

    // A full server picks it up after the restart, and is stopped with
    // SIGTERM while a larger job is in progress.
    let mut server = Served::start(dir.path(), &[]);
    let (status, done) = server.get(&killed, &alice, Some("wait=30"));
    assert_eq!(status, 200);
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(done["results"][0]["sentiment"], "positive");

    let inputs: Vec<String> = (0..300).map(|i| format!("review number {i}: pretty good overall")).collect();
    let (status, big) = server.post("/v1/jobs", &alice, json!({"task": "sentiment", "inputs": inputs}), None);
    assert_eq!(status, 202);
    let big = format!("/v1/jobs/{}", big["id"].as_str().unwrap());
    let exit = server.signal("-TERM");
    assert!(exit.success(), "graceful stop exits 0, got {exit:?}");

    let server = Served::start(dir.path(), &[]);
    let (status, done) = server.get(&big, &alice, Some("wait=60"));
    assert_eq!(status, 200);
    assert_eq!(done["status"], "succeeded", "{}", done["status"]);
    assert_eq!(done["progress"], json!({"total": 300, "done": 300, "failed": 0}));
}

#[test]
#[cfg_attr(not(feature = "aws"), ignore = "`ferry` is built without --features aws")]
fn serve_with_the_aws_backend() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let Some(queue_url) = emulator_queue(&runtime, "serve") else { return };
    let dir = tempfile::tempdir().unwrap();
    let server = Served::start_with_env(dir.path(), &["--backend", "aws"], &[("FERRY_QUEUE_URL", &queue_url)]);
    let alice = token(dir.path(), "alice");

    // The same API and worker, on DynamoDB and SQS: the local poller feeds
    // the worker's Lambda handler what SQS returns.
    let inputs = ["Fantastic service, thank you!", "Awful. It broke in a day.", "It is a chair."];
    let (status, job) = server.post("/v1/jobs", &alice, json!({"task": "sentiment", "inputs": inputs}), None);
    assert_eq!(status, 202, "{job}");
    let path = format!("/v1/jobs/{}", job["id"].as_str().unwrap());
    let (status, done) = server.get(&path, &alice, Some("wait=30"));
    assert_eq!(status, 200);
    assert_eq!(done["status"], "succeeded", "{done}");
    let sentiments: Vec<&str> =
        done["results"].as_array().unwrap().iter().map(|r| r["sentiment"].as_str().unwrap()).collect();
    assert_eq!(sentiments, ["positive", "negative", "neutral"]);
    let (status, _) = server.get(&path, &token(dir.path(), "bob"), None);
    assert_eq!(status, 404);

    drop(server);
    common::delete_queue(&runtime, &queue_url);
}

const RESUME_PDF: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/resumes/r01-daniel-okafor.pdf");
const JOB_DESCRIPTION: &str =
    concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/resumes/jd1-backend-rust-go.md");

/// `POST /v1/documents`, then the bytes to the returned URL with only the
/// returned headers, as a mobile client does: the document id.
fn upload_document(server: &Served, token: &str, bytes: &[u8], content_type: &str) -> String {
    let body = json!({"content_type": content_type, "size": bytes.len()});
    let (status, doc) = server.post("/v1/documents", token, body, None);
    assert_eq!(status, 201, "{doc}");
    let mut put = ureq::request(doc["method"].as_str().unwrap(), doc["upload_url"].as_str().unwrap());
    for (name, value) in doc["headers"].as_object().unwrap() {
        put = put.set(name, value.as_str().unwrap());
    }
    let (status, uploaded) = respond(put.send_bytes(bytes));
    assert!((200..300).contains(&status), "{status}: {uploaded}");
    doc["document_id"].as_str().unwrap().to_owned()
}

/// Polls the job (long polls of up to 20 s, 3 minutes in all) until it ends.
fn wait_for(server: &Served, token: &str, path: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let (status, job) = server.get(path, token, Some("wait=20"));
        assert_eq!(status, 200, "{job}");
        if !matches!(job["status"].as_str(), Some("queued" | "running")) {
            return job;
        }
        assert!(Instant::now() < deadline, "the job did not end: {job}");
    }
}

/// The analysis of fixture r01 (Daniel Okafor, a Rust/Go backend engineer)
/// against jd1 (a Rust/Go backend role): the facts and a high score.
fn assert_r01_against_jd1(job: &Value) {
    assert_eq!(job["status"], "succeeded", "{job}");
    let result = &job["results"][0];
    assert_eq!(result["candidate"]["name"]["value"], "Daniel Okafor", "{result}");
    assert_eq!(result["candidate"]["email"]["value"], "daniel.okafor@example.com");
    assert!(result["score"].as_u64().unwrap() >= 70, "{}", result["match"]["explanation"]);
    let rust = result["match"]["skills"].as_array().unwrap().iter().find(|s| s["skill"] == "rust").unwrap();
    assert_eq!(rust["status"], "matched", "{rust}");
    assert!(result["model"].as_str().unwrap().starts_with("ferry-resume-match-v1@sha256:"));
}

#[test]
fn a_resume_uploaded_by_url_is_matched_against_a_job_description() {
    let dir = tempfile::tempdir().unwrap();
    let server = Served::start(dir.path(), &[]);
    let alice = token(dir.path(), "alice");
    let resume = upload_document(&server, &alice, &std::fs::read(RESUME_PDF).unwrap(), "application/pdf");
    let description = std::fs::read_to_string(JOB_DESCRIPTION).unwrap();
    let body = json!({"task": "resume-match", "document_id": resume, "job_description": description});
    let (status, job) = server.post("/v1/jobs", &alice, body, None);
    assert_eq!(status, 202, "{job}");
    let path = format!("/v1/jobs/{}", job["id"].as_str().unwrap());
    assert_r01_against_jd1(&wait_for(&server, &alice, &path));
    let (status, _) = server.get(&path, &token(dir.path(), "bob"), None);
    assert_eq!(status, 404, "only the owner reads the analysis");
}

/// On the AWS backend: a presigned S3 upload and a job through the API, and
/// an upstream system dropping a resume with its job description beside it
/// into the bucket, whose notification creates the job with no API call.
#[test]
#[cfg_attr(not(feature = "aws"), ignore = "`ferry` is built without --features aws")]
fn resumes_on_the_aws_backend_by_presigned_upload_and_by_bucket_notification() {
    if !emulator_running() {
        return;
    }
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let owner = format!("resume-feed-{}", std::process::id());
    // The template's queue: the bucket notifies it of uploads.
    let server = Served::start_with_env(dir.path(), &["--backend", "aws"], &[("FERRY_UPSTREAM_OWNERS", &owner)]);
    let token = token(dir.path(), &owner);
    let pdf = std::fs::read(RESUME_PDF).unwrap();
    let description = std::fs::read_to_string(JOB_DESCRIPTION).unwrap();

    let resume = upload_document(&server, &token, &pdf, "application/pdf");
    let body = json!({"task": "resume-match", "document_id": resume, "job_description": description});
    let (status, job) = server.post("/v1/jobs", &token, body, None);
    assert_eq!(status, 202, "{job}");
    let by_api = job["id"].as_str().unwrap().to_owned();
    assert_r01_against_jd1(&wait_for(&server, &token, &format!("/v1/jobs/{by_api}")));

    // The description first: the resume's notification looks for it.
    let key = format!("uploads/{owner}/daniel-okafor.pdf");
    runtime.block_on(async {
        let s3 = ferry_aws::s3_client(&ferry_aws::config().await);
        let bucket = std::env::var("FERRY_BUCKET").unwrap();
        for (key, bytes) in [(format!("{key}.jd.txt"), description.into_bytes()), (key.clone(), pdf)] {
            let body = aws_sdk_s3::primitives::ByteStream::from(bytes);
            s3.put_object().bucket(&bucket).key(key).body(body).send().await.expect("PutObject");
        }
    });
    let deadline = Instant::now() + Duration::from_secs(120);
    let by_upload = loop {
        let (status, list) = server.get("/v1/jobs?limit=10", &token, None);
        assert_eq!(status, 200, "{list}");
        let ids: Vec<&str> = list["jobs"].as_array().unwrap().iter().filter_map(|j| j["id"].as_str()).collect();
        if let Some(id) = ids.iter().find(|id| **id != by_api) {
            break id.to_string();
        }
        assert!(Instant::now() < deadline, "no job from the upload: {list}");
        std::thread::sleep(Duration::from_millis(500));
    };
    assert_r01_against_jd1(&wait_for(&server, &token, &format!("/v1/jobs/{by_upload}")));
}

#[test]
fn predict_prints_one_line_per_input_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.jsonl");
    std::fs::write(&input, "{\"text\": \"I hate it\"}\nnot json\n{\"text\": \"I love it\"}\n{\"text\": \"\"}\n")
        .unwrap();
    let out = Command::new(FERRY).args(["predict", "--input"]).arg(&input).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let lines: Vec<Value> =
        String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 4);
    assert_eq!(lines[0]["sentiment"], "negative");
    assert!(lines[1]["error"].as_str().unwrap().contains("not JSON"));
    assert_eq!(lines[2]["sentiment"], "positive");
    assert_eq!(lines[3]["error"], "empty text");

    let out = Command::new(FERRY).args(["predict", "hello"]).output().unwrap();
    assert!(out.status.success());
    let line: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(line["scores"]["neutral"].as_f64().is_some());
}

#[test]
fn hostile_requests_get_4xx_and_leave_memory_flat() {
    let dir = tempfile::tempdir().unwrap();
    let server = Served::start(dir.path(), &["--workers", "0"]);
    let alice = token(dir.path(), "alice");
    let auth = format!("authorization: Bearer {alice}");
    let post = "POST /v1/jobs HTTP/1.1\r\nhost: x\r\ncontent-type: application/json";
    let big = vec![b' '; 7 * 1024 * 1024];
    // A chunked body that never ends within the limit: 413 once 6 MiB are read.
    let mut chunked_body = String::new();
    for _ in 0..8 {
        chunked_body.push_str(&format!("{:x}\r\n{}\r\n", 1024 * 1024, " ".repeat(1024 * 1024)));
    }
    let attacks = |round: usize| {
        let declared = format!("{post}\r\n{auth}\r\ncontent-length: {}", big.len());
        assert_eq!(raw_status(&server.base, &declared, &big), 413, "round {round}: a declared 7 MB body");
        let chunked = format!("{post}\r\n{auth}\r\ntransfer-encoding: chunked");
        let status = raw_status(&server.base, &chunked, chunked_body.as_bytes());
        assert_eq!(status, 413, "round {round}: 8 MB streamed without a length");
        let junk = "j".repeat(64 * 1024);
        let huge_header = format!("{post}\r\n{auth}\r\nx-junk: {junk}\r\ncontent-length: 2");
        assert_eq!(raw_status(&server.base, &huge_header, b""), 431, "round {round}: a 64 KiB header");
        let deep = "[".repeat(100_000);
        let (status, _) = respond(
            ureq::post(&format!("{}/v1/jobs", server.base))
                .set("authorization", &format!("Bearer {alice}"))
                .set("content-type", "application/json")
                .send_string(&deep),
        );
        assert_eq!(status, 400, "round {round}: JSON nested 100,000 deep");
    };
    attacks(0); // warm up allocator pools
    let before = rss_kb(server.child.id());
    for round in 1..=10 {
        attacks(round);
    }
    let after = rss_kb(server.child.id());
    eprintln!("server RSS before {before} KB, after 10 rounds {after} KB");
    assert!(after < before + 64 * 1024, "RSS grew from {before} KB to {after} KB");
    assert!(ureq::get(&format!("{}/healthz", server.base)).call().is_ok(), "still serving");
}
