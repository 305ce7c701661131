//! `ferry-api`: the API Lambda function. Reads its configuration from the
//! environment template.yaml sets, wires the AWS adapters and hands the one
//! Router to lambda_http (API Gateway HTTP API payload v2, or a function URL).

use ferry_api::AppState;
use ferry_aws::{DynamoStore, SqsQueue};
use ferry_core::{Authenticator, Limits, catalog};
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    ferry_aws::logging::init_json();
    let config = ferry_aws::config().await;
    let state = AppState {
        store: Arc::new(DynamoStore::new(&config, env("FERRY_TABLE")?, env("FERRY_BUCKET")?)),
        queue: Arc::new(SqsQueue::new(&config, env("FERRY_QUEUE_URL")?)),
        auth: Arc::new(Authenticator::hs256(env("FERRY_JWT_SECRET")?.as_bytes())?),
        limits: Limits::default(),
        models: Arc::new(catalog()),
    };
    lambda_http::run(ferry_api::router(state)).await
}

fn env(name: &str) -> Result<String, lambda_http::Error> {
    std::env::var(name).map_err(|_| format!("{name} is not set").into())
}
