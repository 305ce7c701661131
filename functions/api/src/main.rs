//! `ferry-api`: the API Lambda function. Reads its configuration from the
//! environment template.yaml sets (once, here), wires the AWS adapters and
//! hands the one Router to lambda_http (API Gateway HTTP API payload v2, or
//! a function URL).

use ferry_api::AppState;
use ferry_api::config::ApiConfig;
use ferry_aws::{DynamoKeyStore, DynamoStore, Resources, S3Blobs, SqsQueue};
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    ferry_aws::logging::init_json();
    let settings = ferry_api::config::environment();
    let resources = Resources::from_settings(&settings)?;
    let api = ApiConfig::from_settings(&settings)?;
    let dev_secret = settings.var("FERRY_JWT_SECRET");
    let auth = api.auth.authenticator(dev_secret.as_deref().map(str::as_bytes)).await?;
    let config = ferry_aws::config().await;
    let mut state = AppState::new(
        Arc::new(DynamoStore::new(&config, &resources.table, &resources.bucket)),
        Arc::new(SqsQueue::new(&config, &resources.queue_url).with_webhook_queue(resources.webhook_queue_url.clone())),
        Arc::new(S3Blobs::new(&config, &resources.bucket)),
        Arc::new(auth),
        Arc::new(DynamoKeyStore::new(&config, &resources.table)),
    );
    api.apply(&mut state);
    state.limits.retention = settings.retention()?;
    state.webhooks = settings.webhooks(None)?;
    state.callback_policy = settings.callback_policy();
    lambda_http::run(ferry_api::router(state)).await
}
