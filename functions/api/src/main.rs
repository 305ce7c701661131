//! `ferry-api`: the API Lambda function. Reads its configuration from the
//! environment template.yaml sets, wires the AWS adapters and hands the one
//! Router to lambda_http (API Gateway HTTP API payload v2, or a function URL).

use ferry_api::AppState;
use ferry_aws::{DynamoKeyStore, DynamoStore, S3Blobs, SqsQueue};
use ferry_core::WebhookConfig;
use ferry_core::callback::CallbackPolicy;
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    ferry_aws::logging::init_json();
    let config = ferry_aws::config().await;
    let table = env("FERRY_TABLE")?;
    let dev_secret = std::env::var("FERRY_JWT_SECRET").ok();
    let auth = ferry_api::config::authenticator(dev_secret.as_deref().map(str::as_bytes)).await?;
    let bucket = env("FERRY_BUCKET")?;
    let mut state = AppState::new(
        Arc::new(DynamoStore::new(&config, &table, &bucket)),
        Arc::new(
            SqsQueue::new(&config, env("FERRY_QUEUE_URL")?).with_webhook_queue(optional("FERRY_WEBHOOK_QUEUE_URL")),
        ),
        Arc::new(S3Blobs::new(&config, bucket)),
        Arc::new(auth),
        Arc::new(DynamoKeyStore::new(&config, &table)),
    );
    state.scopes = ferry_api::config::scopes();
    state.rate_limit = ferry_api::config::rate_limit()?;
    state.cors_origins = Arc::new(ferry_api::config::cors_origins());
    state.limits.retention = ferry_api::config::retention()?;
    state.webhooks = WebhookConfig::from_env(None)?;
    state.callback_policy = CallbackPolicy::from_env();
    lambda_http::run(ferry_api::router(state)).await
}

fn env(name: &str) -> Result<String, lambda_http::Error> {
    std::env::var(name).map_err(|_| format!("{name} is not set").into())
}

fn optional(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}
