//! resume-match jobs through the router and the worker, with a stand-in
//! analyzer (the real pipeline has its own tests): documents in, one result
//! out, unreadable documents failing their job with the reason, validation,
//! owners kept apart, and jobs started by uploads with a job description
//! beside them.

use axum::body::Body;
use axum::http::StatusCode;
use ferry_core::{AnalysisError, JobStatus, ResumeAnalyzer};
use ferry_tests::{TestApp, request};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

/// Echoes sizes; refuses documents that start with "ENCRYPTED".
struct Echo;

impl ResumeAnalyzer for Echo {
    fn analyze(&self, resume: &[u8], job_description: &[u8]) -> Result<Value, AnalysisError> {
        if resume.starts_with(b"ENCRYPTED") {
            return Err(AnalysisError::Unreadable("the PDF is encrypted".into()));
        }
        Ok(json!({"resume_bytes": resume.len(), "job_description": String::from_utf8_lossy(job_description)}))
    }

    fn provenance(&self) -> String {
        "echo@sha256:0000".into()
    }
}

fn app() -> TestApp {
    let mut app = TestApp::with_analyzer(Arc::new(Echo));
    app.start_worker();
    app
}

async fn upload(app: &TestApp, owner: &str, bytes: &'static [u8]) -> String {
    let id = uuid::Uuid::now_v7().to_string();
    let mut put = request("PUT", &format!("/v1/documents/{id}"), Some(&app.token(owner)), None);
    *put.body_mut() = Body::from(bytes);
    put.headers_mut().insert("content-type", "text/plain".parse().unwrap());
    let (status, _, body) = app.call(put).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    id
}

async fn finished(app: &TestApp, owner: &str, path: &str) -> Value {
    for _ in 0..100 {
        let (_, job) = app.send("GET", path, Some(owner), None).await;
        if job["status"] != "queued" && job["status"] != "running" {
            return job;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the job did not finish");
}

#[tokio::test]
async fn a_resume_and_a_job_description_give_one_result() {
    let app = app();
    let resume = upload(&app, "recruiter", b"Jane Doe\njane@example.com\nRust, Go").await;
    let body = json!({"task": "resume-match", "document_id": resume, "job_description": "Rust engineer"});
    let (status, job) = app.send("POST", "/v1/jobs", Some("recruiter"), Some(body)).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    assert_eq!(job["task"], "resume-match");
    let job = finished(&app, "recruiter", &format!("/v1/jobs/{}", job["id"].as_str().unwrap())).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    let result = &job["results"][0];
    assert_eq!(result["resume_bytes"], 34);
    assert_eq!(result["job_description"], "Rust engineer");
    assert_eq!(result["model"], "echo@sha256:0000");

    // The job description as a document of its own.
    let jd = upload(&app, "recruiter", b"Go developer").await;
    let body = json!({"task": "resume-match", "document_id": resume, "job_description_document_id": jd});
    let (_, job) = app.send("POST", "/v1/jobs", Some("recruiter"), Some(body)).await;
    let job = finished(&app, "recruiter", &format!("/v1/jobs/{}", job["id"].as_str().unwrap())).await;
    assert_eq!(job["results"][0]["job_description"], "Go developer");
}

#[tokio::test]
async fn an_unreadable_resume_fails_its_job_and_the_worker_carries_on() {
    let app = app();
    let bad = upload(&app, "recruiter", b"ENCRYPTED%PDF").await;
    let body = json!({"task": "resume-match", "document_id": bad, "job_description": "Rust"});
    let (_, job) = app.send("POST", "/v1/jobs", Some("recruiter"), Some(body)).await;
    let job = finished(&app, "recruiter", &format!("/v1/jobs/{}", job["id"].as_str().unwrap())).await;
    assert_eq!(job["status"], "failed");
    assert_eq!(job["error"], "the PDF is encrypted");

    let good = upload(&app, "recruiter", b"fine").await;
    let body = json!({"task": "resume-match", "document_id": good, "job_description": "Rust"});
    let (_, job) = app.send("POST", "/v1/jobs", Some("recruiter"), Some(body)).await;
    let job = finished(&app, "recruiter", &format!("/v1/jobs/{}", job["id"].as_str().unwrap())).await;
    assert_eq!(job["status"], "succeeded");
}

#[tokio::test]
async fn resume_match_requests_are_validated_and_owners_kept_apart() {
    let app = app();
    let resume = upload(&app, "alice", b"Alice").await;
    for (body, why) in [
        (json!({"task": "resume-match", "job_description": "Rust"}), "no resume"),
        (json!({"task": "resume-match", "document_id": resume}), "no job description"),
        (json!({"task": "resume-match", "document_id": resume, "job_description": "  "}), "empty description"),
        (json!({"task": "resume-match", "document_id": resume, "job_description": "x".repeat(20_001)}), "too long"),
        (json!({"task": "resume-match", "document_id": resume, "job_description": "Rust", "input": "x"}), "inputs"),
        (json!({"task": "sentiment", "input": "good", "job_description": "Rust"}), "sentiment with a description"),
        (
            json!({"task": "resume-match", "document_id": resume, "job_description": "a", "job_description_document_id": resume}),
            "both descriptions",
        ),
    ] {
        let (status, problem) = app.send("POST", "/v1/jobs", Some("alice"), Some(body)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{why}: {problem}");
    }
    // Bob cannot use Alice's upload.
    let body = json!({"task": "resume-match", "document_id": resume, "job_description": "Rust"});
    let (status, problem) = app.send("POST", "/v1/jobs", Some("bob"), Some(body)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(problem["type"].as_str().unwrap().ends_with("no-document"), "{problem}");
    assert_eq!(app.queue.depth().await.unwrap(), 0, "nothing queued");
}

/// The S3 notification the bucket sends for `key`, as the queue delivers it.
fn notification(key: &str, sequencer: &str) -> String {
    let mut event: Value = serde_json::from_str(include_str!("../../events/s3-object-created.json")).unwrap();
    event["Records"][0]["s3"]["object"]["key"] = json!(key);
    event["Records"][0]["s3"]["object"]["sequencer"] = json!(sequencer);
    event.to_string()
}

#[tokio::test]
async fn an_upload_with_a_job_description_beside_it_starts_a_job_once() {
    let app = TestApp::with_analyzer(Arc::new(Echo));
    let key = "uploads/feed-owner/cv-1.txt";
    app.blobs.put(key, b"Resume text".to_vec(), None).await.unwrap();
    // Without its sidecar, an upload is the API's: no job.
    let received = |body: String| ferry_inference::Received { id: "s3".into(), body, receive_count: 1 };
    assert!(app.worker.handle(&[received(notification(key, "01"))]).await[0].should_delete());
    assert_eq!(app.queue.depth().await.unwrap(), 0);

    app.blobs.put(&format!("{key}.jd.txt"), b"Rust engineer, 5+ years".to_vec(), None).await.unwrap();
    for _ in 0..2 {
        // Delivered twice: one job.
        assert!(app.worker.handle(&[received(notification(key, "02"))]).await[0].should_delete());
    }
    let (messages, _) = app.queue.receive(10).await.unwrap();
    assert_eq!(messages.len(), 2, "the job's message, sent once per delivery");
    assert!(app.worker.handle(&messages).await.iter().all(|o| o.should_delete()));
    let (_, list) = app.send("GET", "/v1/jobs", Some("feed-owner"), None).await;
    let jobs = list["jobs"].as_array().unwrap();
    assert_eq!(jobs.len(), 1, "{list}");
    let path = format!("/v1/jobs/{}", jobs[0]["id"].as_str().unwrap());
    let (_, job) = app.send("GET", &path, Some("feed-owner"), None).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(job["results"][0]["job_description"], "Rust engineer, 5+ years");
    assert_eq!(
        app.store
            .get_job("feed-owner", jobs[0]["id"].as_str().unwrap().parse().unwrap())
            .await
            .unwrap()
            .unwrap()
            .status,
        JobStatus::Succeeded
    );
}
