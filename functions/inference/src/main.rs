//! `ferry-inference`: the worker Lambda function. The model is loaded once per
//! execution environment, before the first event; each SQS batch goes through
//! `Worker::handle` and only transient failures come back as
//! `batchItemFailures`.

use ferry_aws::{DynamoStore, S3Blobs, SqsQueue};
use ferry_core::callback::CallbackPolicy;
use ferry_core::{ResumeAnalyzer, SentimentClassifier, WebhookConfig};
use ferry_inference::analyzer::ResumePipeline;
use ferry_inference::sqs::invoke;
use ferry_inference::webhook::WebhookSender;
use ferry_inference::{Upstream, Worker};
use ferry_models::SentimentModel;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use std::sync::Arc;
use std::time::Instant;

#[tokio::main]
async fn main() -> Result<(), Error> {
    ferry_aws::logging::init_json();
    let started = Instant::now();
    let config = ferry_aws::config().await;
    let retention = ferry_api_retention()?;
    let bucket = env("FERRY_BUCKET")?;
    let store = Arc::new(DynamoStore::new(&config, env("FERRY_TABLE")?, &bucket).with_retention(retention));
    let model_dir = std::env::var_os("FERRY_MODEL_DIR").map(std::path::PathBuf::from);
    let sentiment = Arc::new(match &model_dir {
        Some(dir) => SentimentModel::load(dir)?,
        None => SentimentModel::bundled()?,
    });
    let resumes: Arc<dyn ResumeAnalyzer> =
        Arc::new(ResumePipeline::load(Arc::clone(&sentiment), model_dir.as_deref())?);
    let model: Arc<dyn SentimentClassifier> = sentiment;
    let max_attempts = env("FERRY_MAX_ATTEMPTS")?.parse().map_err(|_| "FERRY_MAX_ATTEMPTS must be a number")?;
    let mut worker = Worker::new(store, model, max_attempts)
        .with_upstream(Upstream::from_env())
        .with_queue(Arc::new(
            SqsQueue::new(&config, env("FERRY_QUEUE_URL")?)
                .with_webhook_queue(std::env::var("FERRY_WEBHOOK_QUEUE_URL").ok().filter(|v| !v.trim().is_empty())),
        ))
        .with_blobs(Arc::new(S3Blobs::new(&config, bucket)))
        .with_resumes(resumes);
    if let Some(webhooks) = WebhookConfig::from_env(None)? {
        worker = worker.with_webhooks(webhooks, WebhookSender::new(CallbackPolicy::from_env())?);
    }
    let worker = Arc::new(worker);
    let grace = recovery_grace()?;
    tracing::info!(ms = started.elapsed().as_millis() as u64, "ready: models loaded");
    lambda_runtime::run(service_fn(move |event: LambdaEvent<serde_json::Value>| {
        let worker = Arc::clone(&worker);
        async move { invoke(&worker, event.payload, grace).await.map_err(Error::from) }
    }))
    .await
}

/// `FERRY_RECOVERY_GRACE_SECS` (default 60): how long the outbox's stored
/// work may wait to be marked queued before the scheduled sweep queues it.
fn recovery_grace() -> Result<std::time::Duration, Error> {
    match std::env::var("FERRY_RECOVERY_GRACE_SECS").ok().filter(|v| !v.trim().is_empty()) {
        None => Ok(ferry_core::outbox::DEFAULT_GRACE),
        Some(secs) => Ok(std::time::Duration::from_secs(
            secs.trim().parse().map_err(|_| "FERRY_RECOVERY_GRACE_SECS must be a whole number")?,
        )),
    }
}

/// `FERRY_RETENTION_DAYS` (default 30) for jobs upstream messages create.
fn ferry_api_retention() -> Result<std::time::Duration, Error> {
    match std::env::var("FERRY_RETENTION_DAYS").ok().filter(|v| !v.trim().is_empty()) {
        None => Ok(ferry_core::job::DEFAULT_RETENTION),
        Some(days) => {
            let days: u64 = days.trim().parse().map_err(|_| "FERRY_RETENTION_DAYS must be a whole number")?;
            Ok(std::time::Duration::from_secs(days.max(1) * 24 * 3600))
        }
    }
}

fn env(name: &str) -> Result<String, Error> {
    std::env::var(name).map_err(|_| format!("{name} is not set").into())
}
