//! `ferry-inference`: the worker Lambda function. The model is loaded once per
//! execution environment, before the first event; each SQS batch goes through
//! `Worker::handle` and only transient failures come back as
//! `batchItemFailures`.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use ferry_aws::DynamoStore;
use ferry_core::SentimentClassifier;
use ferry_inference::sqs::handle_event;
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
    let store = Arc::new(DynamoStore::new(&config, env("FERRY_TABLE")?, env("FERRY_BUCKET")?));
    let model: Arc<dyn SentimentClassifier> = Arc::new(match std::env::var("FERRY_MODEL_DIR") {
        Ok(dir) => SentimentModel::load(dir.as_ref())?,
        Err(_) => SentimentModel::bundled()?,
    });
    let max_attempts = env("FERRY_MAX_ATTEMPTS")?.parse().map_err(|_| "FERRY_MAX_ATTEMPTS must be a number")?;
    let worker = Arc::new(Worker::new(store, model, max_attempts).with_upstream(Upstream::from_env()));
    tracing::info!(ms = started.elapsed().as_millis() as u64, "ready: model loaded");
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| {
        let worker = Arc::clone(&worker);
        async move { Ok::<SqsBatchResponse, Error>(handle_event(&worker, event.payload).await) }
    }))
    .await
}

fn env(name: &str) -> Result<String, Error> {
    std::env::var(name).map_err(|_| format!("{name} is not set").into())
}
