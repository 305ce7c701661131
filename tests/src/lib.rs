//! A test harness: the real router and worker on real SQLite adapters in a
//! temporary directory. The classifier is a small keyword model so these tests
//! exercise Ferry's plumbing quickly; the real model has its own tests and the
//! end-to-end test in `functions/local/tests` runs it through `ferry serve`.

pub mod contract;
pub mod emf;
pub mod lambda;
pub mod logs;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use ferry_api::AppState;
use ferry_core::callback::CallbackPolicy;
use ferry_core::{
    Authenticator, BlobStore, JobStore, KeyStore, Limits, ModelError, ModelInfo, ResumeAnalyzer, SentimentClassifier,
    SentimentScores, TaskQueue, WebhookConfig, catalog,
};
use ferry_inference::Worker;
use ferry_inference::webhook::WebhookSender;
use ferry_local::adapters::LocalAdapters;
use ferry_local::poller::Poller;
use ferry_local::queue::SqliteQueue;
use http_body_util::BodyExt;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tower::ServiceExt;

/// Skips a test that needs something missing here (`false`, after saying
/// why), except under CI, where everything must be present and a missing
/// prerequisite is a failure.
pub fn skip_unless(present: bool, missing: &str) -> bool {
    if !present {
        assert!(std::env::var_os("CI").is_none(), "{missing}");
        eprintln!("skipped: {missing}");
    }
    present
}

/// Whether the AWS emulator (or AWS) is configured, per [`skip_unless`].
pub fn emulator_running() -> bool {
    skip_unless(
        std::env::var_os("AWS_ENDPOINT_URL").is_some(),
        "AWS_ENDPOINT_URL is not set: eval \"$(infra/emulator start)\"",
    )
}

pub const SECRET: &[u8] = b"test-secret-test-secret-test-secret!";
/// Deliveries before a message is dead-lettered (the worker's attempts).
pub const MAX_ATTEMPTS: u32 = 3;

/// Webhooks as the tests run them: retries after 100 ms (doubling), four
/// attempts, and the master key below.
pub fn test_webhooks() -> WebhookConfig {
    let mut config = WebhookConfig::new(b"webhook-master-key-for-tests-only!!".to_vec()).unwrap();
    config.max_attempts = 4;
    config.backoff_base = Duration::from_millis(100);
    config
}

/// Test receivers listen on 127.0.0.1 over plain http.
pub const LOOPBACK_CALLBACKS: CallbackPolicy = CallbackPolicy { allow_private: true, allow_http: true };

/// Positive when the text says "good", negative for "bad", neutral otherwise;
/// fails on "explode" so failure paths can be driven.
pub struct KeywordModel;

impl SentimentClassifier for KeywordModel {
    fn classify(&self, texts: &[&str]) -> Result<Vec<SentimentScores>, ModelError> {
        texts
            .iter()
            .map(|t| {
                let t = t.to_lowercase();
                if t.contains("explode") {
                    Err(ModelError("boom".into()))
                } else if t.contains("good") {
                    Ok(SentimentScores::from_probs([0.05, 0.15, 0.8]))
                } else if t.contains("bad") {
                    Ok(SentimentScores::from_probs([0.8, 0.15, 0.05]))
                } else {
                    Ok(SentimentScores::from_probs([0.1, 0.8, 0.1]))
                }
            })
            .collect()
    }

    fn describe(&self) -> ModelInfo {
        catalog().remove(0)
    }
}

pub struct TestApp {
    pub router: Router,
    pub store: Arc<dyn JobStore>,
    pub queue: SqliteQueue,
    pub auth: Arc<Authenticator>,
    pub keys: Arc<dyn KeyStore>,
    pub blobs: Arc<dyn BlobStore>,
    pub worker: Arc<Worker>,
    pub webhooks: WebhookConfig,
    stop: Option<watch::Sender<bool>>,
    _dir: tempfile::TempDir,
}

impl TestApp {
    pub fn new(limits: Limits) -> TestApp {
        Self::with_secret(limits, SECRET)
    }

    pub fn with_secret(limits: Limits, secret: &[u8]) -> TestApp {
        Self::with_auth(limits, Authenticator::hs256(secret).unwrap(), |_| {})
    }

    /// Any authenticator (a JWKS one for the attack tests), and a last look
    /// at the state (rate limits, scopes) before the router is built.
    pub fn with_auth(limits: Limits, auth: Authenticator, configure: impl FnOnce(&mut AppState)) -> TestApp {
        Self::build(limits, auth, Arc::new(KeywordModel), None, configure)
    }

    /// With any model (e.g. one that fails on some texts).
    pub fn with_model(model: Arc<dyn SentimentClassifier>) -> TestApp {
        Self::build(Limits::default(), Authenticator::hs256(SECRET).unwrap(), model, None, |_| {})
    }

    /// A worker that also runs resume-match jobs with `analyzer`.
    pub fn with_analyzer(analyzer: Arc<dyn ResumeAnalyzer>) -> TestApp {
        Self::with_analyzer_and(analyzer, Authenticator::hs256(SECRET).unwrap(), |_| {})
    }

    /// A resume analyzer, any authenticator and a last look at the state.
    pub fn with_analyzer_and(
        analyzer: Arc<dyn ResumeAnalyzer>,
        auth: Authenticator,
        configure: impl FnOnce(&mut AppState),
    ) -> TestApp {
        Self::build(Limits::default(), auth, Arc::new(KeywordModel), Some(analyzer), configure)
    }

    fn build(
        limits: Limits,
        auth: Authenticator,
        model: Arc<dyn SentimentClassifier>,
        analyzer: Option<Arc<dyn ResumeAnalyzer>>,
        configure: impl FnOnce(&mut AppState),
    ) -> TestApp {
        let dir = tempfile::tempdir().expect("temp dir");
        let local = LocalAdapters::open(dir.path(), Duration::from_secs(30), MAX_ATTEMPTS, limits.retention)
            .expect("open the data directory");
        let (store, keys, queue): (Arc<dyn JobStore>, Arc<dyn KeyStore>, _) = (local.store, local.keys, local.queue);
        let blobs: Arc<dyn BlobStore> = Arc::new(local.blobs);
        let webhooks = test_webhooks();
        let auth = Arc::new(auth);
        let mut state = AppState::new(
            Arc::clone(&store),
            Arc::new(queue.clone()) as Arc<dyn TaskQueue>,
            Arc::clone(&blobs),
            Arc::clone(&auth),
            Arc::clone(&keys),
        );
        state.limits = limits.clone();
        state.webhooks = Some(webhooks.clone());
        state.callback_policy = LOOPBACK_CALLBACKS;
        configure(&mut state);
        let mut worker =
            Worker::new(Arc::clone(&store), Arc::new(queue.clone()), Arc::clone(&blobs), model, MAX_ATTEMPTS)
                .with_webhooks(webhooks.clone(), WebhookSender::new(LOOPBACK_CALLBACKS).unwrap())
                .with_limits(limits);
        if let Some(analyzer) = analyzer {
            worker = worker.with_resumes(analyzer);
        }
        let worker = Arc::new(worker);
        let router = ferry_api::router(state);
        TestApp { router, store, queue, auth, keys, blobs, worker, webhooks, stop: None, _dir: dir }
    }

    /// Starts the worker's poll loop, as `ferry serve` does.
    pub fn start_worker(&mut self) {
        let (tx, rx) = watch::channel(false);
        tokio::spawn(Poller::jobs(self.queue.clone(), Arc::clone(&self.worker)).run(rx.clone()));
        tokio::spawn(Poller::webhooks(self.queue.clone(), Arc::clone(&self.worker)).run(rx));
        self.stop = Some(tx);
    }

    pub fn token(&self, sub: &str) -> String {
        self.auth.mint(sub, Duration::from_secs(600)).unwrap()
    }

    pub async fn call(&self, req: Request<Body>) -> (StatusCode, axum::http::HeaderMap, Value) {
        let response = self.router.clone().oneshot(req).await.expect("router is infallible");
        let (parts, body) = response.into_parts();
        let bytes = body.collect().await.unwrap().to_bytes();
        let json = if bytes.is_empty() { Value::Null } else { serde_json::from_slice(&bytes).unwrap_or(Value::Null) };
        (parts.status, parts.headers, json)
    }

    pub async fn send(&self, method: &str, uri: &str, sub: Option<&str>, body: Option<Value>) -> (StatusCode, Value) {
        let (status, _, json) = self.call(request(method, uri, sub.map(|s| self.token(s)).as_deref(), body)).await;
        (status, json)
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(true);
        }
    }
}

pub fn request(method: &str, uri: &str, token: Option<&str>, body: Option<Value>) -> Request<Body> {
    let mut builder = Request::builder().method(method).uri(uri);
    if let Some(token) = token {
        builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    match body {
        Some(body) => builder.header(header::CONTENT_TYPE, "application/json").body(Body::from(body.to_string())),
        None => builder.body(Body::empty()),
    }
    .unwrap()
}
