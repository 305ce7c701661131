//! `ferry-inference`: the worker Lambda function. The sentiment model is
//! loaded once per execution environment, before the first event, and the
//! resume models on a thread of their own beside it; each SQS batch goes through
//! `Worker::handle` and only transient failures come back as
//! `batchItemFailures`.

use ferry_aws::{Adapters, Resources};
use ferry_core::{Limits, ResumeAnalyzer, SentimentClassifier};
use ferry_inference::Worker;
use ferry_inference::analyzer::ResumePipeline;
use ferry_inference::background::BackgroundPipeline;
use ferry_inference::config::WorkerConfig;
use ferry_inference::sqs::invoke;
use ferry_inference::webhook::WebhookSender;
use ferry_models::SentimentModel;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use std::sync::Arc;
use std::time::Instant;

/// Large blocks (model weights) on huge pages: a faster start (see the type).
#[global_allocator]
static ALLOC: ferry_models::HugePageAlloc = ferry_models::HugePageAlloc;

#[tokio::main]
async fn main() -> Result<(), Error> {
    ferry_aws::logging::init_json();
    let started = Instant::now();
    let environment = ferry_inference::config::environment();
    // The SDK's configuration and the secrets load beside the model.
    let model_dir = environment.var("FERRY_MODEL_DIR").map(std::path::PathBuf::from);
    let loading = tokio::task::spawn_blocking(move || {
        let started = Instant::now();
        let model = match &model_dir {
            Some(dir) => SentimentModel::load(dir),
            None => SentimentModel::bundled(),
        };
        model.map(|m| (Arc::new(m), started.elapsed()))
    });
    let aws_config = ferry_aws::config().await;
    let secrets = ferry_aws::secrets::read_configured(&aws_config, &environment).await?;
    let settings = ferry_aws::secrets::environment_with(secrets);
    let resources = Resources::from_settings(&settings)?;
    let config = WorkerConfig::from_settings(&settings)?;
    let aws = Adapters::connect(&aws_config, &resources, config.retention);
    let aws_ms = started.elapsed().as_millis() as u64;
    let (sentiment, model_time) = loading.await??;
    let (encoder, dir) = (Arc::clone(&sentiment), config.model_dir.clone());
    let resumes: Arc<dyn ResumeAnalyzer> =
        Arc::new(BackgroundPipeline::spawn(move || ResumePipeline::load(encoder, dir.as_deref())));
    let model: Arc<dyn SentimentClassifier> = sentiment;
    let limits = Limits { retention: config.retention, ..Limits::default() };
    let mut worker = Worker::new(aws.store, aws.queue, aws.blobs, model, config.max_attempts)
        .with_upstream(config.upstream.clone())
        .with_limits(limits)
        .with_resumes(resumes);
    if let Some(webhooks) = config.webhooks.clone() {
        worker = worker.with_webhooks(webhooks, WebhookSender::new(config.callback_policy)?);
    }
    let worker = Arc::new(worker);
    let grace = config.recovery_grace;
    tracing::info!(
        ms = started.elapsed().as_millis() as u64,
        aws_ms,
        model_ms = model_time.as_millis() as u64,
        "ready: sentiment model loaded, resume models loading"
    );
    ferry_core::metrics::cold_start(started.elapsed());
    lambda_runtime::run(service_fn(move |event: LambdaEvent<serde_json::Value>| {
        let worker = Arc::clone(&worker);
        async move { invoke(&worker, event.payload, grace).await.map_err(Error::from) }
    }))
    .await
}
