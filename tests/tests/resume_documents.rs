//! Resume-match jobs on the real pipeline (documents, the skill model, the
//! rules) through the router and the worker: every hostile document in
//! tests/fixtures/hostile ends its job with a reason or a harmless result,
//! a 50 MB upload fails cleanly, and the same worker then analyses a real
//! resume.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use ferry_core::{Authenticator, Limits, ResumeAnalyzer, UploadSigner};
use ferry_inference::analyzer::ResumePipeline;
use ferry_tests::{SECRET, TestApp, request};
use serde_json::{Value, json};
use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

const PDF: &str = "application/pdf";
const DOCX: &str = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";

fn pipeline() -> Arc<dyn ResumeAnalyzer> {
    static PIPELINE: OnceLock<Arc<ResumePipeline>> = OnceLock::new();
    PIPELINE.get_or_init(|| Arc::new(ResumePipeline::load_default().expect("the models load"))).clone()
}

fn app() -> TestApp {
    let auth = Authenticator::hs256(SECRET).unwrap();
    let signer = Arc::new(UploadSigner::derived_from(SECRET));
    let mut app = TestApp::with_analyzer_and(pipeline(), auth, move |state| state.upload_signer = Some(signer));
    app.start_worker();
    app
}

fn fixtures() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// `PUT /v1/documents/{id}`: the new document's id, or the refusal.
async fn upload(app: &TestApp, owner: &str, bytes: Vec<u8>, content_type: &str) -> Result<String, (StatusCode, Value)> {
    let id = uuid::Uuid::now_v7().to_string();
    let mut put = request("PUT", &format!("/v1/documents/{id}"), Some(&app.token(owner)), None);
    *put.body_mut() = Body::from(bytes);
    put.headers_mut().insert(header::CONTENT_TYPE, content_type.parse().unwrap());
    let (status, _, body) = app.call(put).await;
    if status == StatusCode::CREATED { Ok(id) } else { Err((status, body)) }
}

/// Creates a resume-match job and waits (bounded) for it to end.
async fn analyse(app: &TestApp, owner: &str, document_id: &str, description: &str) -> Value {
    let body = json!({"task": "resume-match", "document_id": document_id, "job_description": description});
    let (status, job) = app.send("POST", "/v1/jobs", Some(owner), Some(body)).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    let path = format!("/v1/jobs/{}", job["id"].as_str().unwrap());
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let (_, job) = app.send("GET", &path, Some(owner), None).await;
        if !matches!(job["status"].as_str(), Some("queued" | "running")) {
            return job;
        }
        assert!(Instant::now() < deadline, "the job did not end: {job}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_documents_fail_with_a_reason_and_the_worker_carries_on() {
    let app = app();
    let dir = fixtures().join("hostile");
    let manifest: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap();
    let mut table = Vec::new();
    for (file, entry) in manifest.as_object().unwrap() {
        let bytes = std::fs::read(dir.join(file)).unwrap();
        let content_type = if file.ends_with(".docx") { DOCX } else { PDF };
        // Formats are told by content, not by name: this ".docx" is text.
        let read_as_text = file == "not_a_zip.docx";
        // "reject: …" must fail; "reject, or recover partial text" may succeed.
        let expect = entry["expect"].as_str().unwrap();
        let must_fail = expect.starts_with("reject") && !expect.contains(" or ") && !read_as_text;
        let id = match upload(&app, "recruiter", bytes, content_type).await {
            Ok(id) => id,
            Err((status, problem)) => {
                // Only an empty body is refused at the door.
                assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{file}: {problem}");
                table.push(format!("| {file} | refused by the API: {} |", problem["detail"]));
                continue;
            }
        };
        let job = analyse(&app, "recruiter", &id, "Rust engineer").await;
        let error = job["error"].as_str().unwrap_or_default();
        if must_fail || job["status"] == "failed" {
            assert_eq!(job["status"], "failed", "{file}: {job}");
            assert!(error.starts_with("the resume: "), "{file}: a reason naming the document: {error}");
        } else {
            assert_eq!(job["status"], "succeeded", "{file}: {job}");
        }
        if read_as_text {
            assert_eq!(job["results"][0]["document"]["format"], "text", "{file}: {job}");
        }
        assert!(!job.to_string().contains("root:x:0:0"), "{file}: no file contents leak");
        table.push(format!("| {file} | {} {error} |", job["status"].as_str().unwrap()));
    }
    println!("{}", table.join("\n"));
    let resume = std::fs::read(fixtures().join("resumes/r01-daniel-okafor.pdf")).unwrap();
    let id = upload(&app, "recruiter", resume, PDF).await.unwrap();
    let job = analyse(&app, "recruiter", &id, "Senior Rust engineer: Rust, Go, Kafka, PostgreSQL.").await;
    assert_eq!(job["status"], "succeeded", "the worker is still healthy: {job}");
    assert_eq!(job["results"][0]["candidate"]["name"]["value"], "Daniel Okafor");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_50_mb_upload_fails_its_job_cleanly() {
    let app = app();
    let size = 50 * 1024 * 1024;
    let body = json!({"content_type": PDF, "size": size});
    let (status, doc) = app.send("POST", "/v1/documents", Some("recruiter"), Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{doc}");
    let url = doc["upload_url"].as_str().unwrap();
    let path = &url[url.find("/v1/").unwrap()..];
    let mut bytes = b"%PDF-1.7\n".to_vec();
    bytes.resize(size, b' ');
    let put = Request::builder()
        .method("PUT")
        .uri(path)
        .header(header::CONTENT_TYPE, PDF)
        .header(header::CONTENT_LENGTH, size)
        .body(Body::from(bytes))
        .unwrap();
    let (status, _, stored) = app.call(put).await;
    assert_eq!(status, StatusCode::OK, "{stored}");
    let job = analyse(&app, "recruiter", doc["document_id"].as_str().unwrap(), "Rust").await;
    assert_eq!(job["status"], "failed", "{job}");
    assert!(job["error"].as_str().unwrap().contains("52428800 bytes"), "{job}");
}

#[test]
fn limits_are_documented_defaults() {
    // The worker refuses documents over 10 MiB before reading them; the
    // extractor's own default is the same.
    assert_eq!(ferry_documents::Limits::default().max_bytes as u64, ferry_inference::MAX_RESUME_BYTES);
    assert!(Limits::default().max_document_bytes >= ferry_inference::MAX_RESUME_BYTES);
}
