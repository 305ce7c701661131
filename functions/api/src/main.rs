//! `ferry-api`: the API Lambda function. Reads its configuration from the
//! environment template.yaml sets and its secrets from Secrets Manager (once, here), wires the AWS adapters and
//! hands the one Router to lambda_http (API Gateway HTTP API payload v2, or
//! a function URL).

use ferry_api::AppState;
use ferry_api::config::ApiConfig;
use ferry_aws::{Adapters, Resources};
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let started = std::time::Instant::now();
    ferry_aws::logging::init_json();
    let aws_config = ferry_aws::config().await;
    let secrets = ferry_aws::secrets::read_configured(&aws_config, &ferry_api::config::environment()).await?;
    let settings = ferry_aws::secrets::environment_with(secrets);
    let resources = Resources::from_settings(&settings)?;
    let api = ApiConfig::from_settings(&settings)?;
    let dev_secret = settings.var("FERRY_JWT_SECRET");
    let auth = api.auth.authenticator(dev_secret.as_deref().map(str::as_bytes)).await?;
    let retention = settings.retention()?;
    let aws = Adapters::connect(&aws_config, &resources, retention);
    let mut state = AppState::new(aws.store, aws.queue, aws.blobs, Arc::new(auth), aws.keys);
    api.apply(&mut state);
    state.limits.retention = retention;
    state.webhooks = settings.webhooks(None)?;
    state.callback_policy = settings.callback_policy();
    let router = ferry_api::router(state);
    ferry_core::metrics::cold_start(started.elapsed());
    lambda_http::run(router).await
}
