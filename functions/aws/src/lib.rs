//! Ferry's AWS adapters: [`DynamoStore`] (the `JobStore` port on one DynamoDB
//! table), [`SqsQueue`] (the `TaskQueue` port on SQS, plus the receive side a
//! local poller needs) and [`S3Blobs`] (objects and presigned uploads).
//!
//! Nothing here reads the environment: `main.rs` files load [`config`] and pass
//! table names, queue URLs and bucket names in.

mod dynamo;
mod keys;
pub mod logging;
mod s3;
pub mod secrets;
mod sqs;

pub use dynamo::{DEFAULT_RETENTION, DynamoStore, INLINE_RESULTS_LIMIT};
pub use keys::DynamoKeyStore;
pub use s3::S3Blobs;
pub use sqs::{MAX_ENTRY_BYTES, SqsDeadLetters, SqsQueue};

pub use aws_config::SdkConfig;

/// The deployment's AWS resources, as template.yaml names them to both
/// functions: `FERRY_TABLE`, `FERRY_BUCKET`, `FERRY_QUEUE_URL` and the
/// optional `FERRY_WEBHOOK_QUEUE_URL` and `FERRY_INTERACTIVE_QUEUE_URL`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resources {
    pub table: String,
    pub bucket: String,
    pub queue_url: String,
    pub webhook_queue_url: Option<String>,
    /// The interactive lane's queue ([`ferry_core::Lane`]); `None`: the jobs queue.
    pub interactive_queue_url: Option<String>,
}

/// Every AWS adapter of one deployment, wired once for both Lambda
/// functions and `ferry serve --backend aws`.
#[derive(Clone)]
pub struct Adapters {
    pub store: std::sync::Arc<DynamoStore>,
    pub queue: std::sync::Arc<SqsQueue>,
    pub blobs: std::sync::Arc<S3Blobs>,
    pub keys: std::sync::Arc<DynamoKeyStore>,
}

impl Adapters {
    /// Jobs kept for `retention` (DynamoDB and S3 expiry).
    pub fn connect(config: &SdkConfig, resources: &Resources, retention: std::time::Duration) -> Adapters {
        let store = DynamoStore::new(config, &resources.table, &resources.bucket).with_retention(retention);
        let queue = SqsQueue::new(config, &resources.queue_url)
            .with_webhook_queue(resources.webhook_queue_url.clone())
            .with_interactive_queue(resources.interactive_queue_url.clone());
        Adapters {
            store: std::sync::Arc::new(store),
            queue: std::sync::Arc::new(queue),
            blobs: std::sync::Arc::new(S3Blobs::new(config, &resources.bucket)),
            keys: std::sync::Arc::new(DynamoKeyStore::new(config, &resources.table)),
        }
    }
}

impl Resources {
    pub fn from_settings(settings: &ferry_core::Settings) -> Result<Resources, ferry_core::ConfigError> {
        Ok(Resources {
            table: settings.required("FERRY_TABLE")?,
            bucket: settings.required("FERRY_BUCKET")?,
            queue_url: settings.required("FERRY_QUEUE_URL")?,
            webhook_queue_url: settings.var("FERRY_WEBHOOK_QUEUE_URL"),
            interactive_queue_url: settings.var("FERRY_INTERACTIVE_QUEUE_URL"),
        })
    }
}

use aws_config::BehaviorVersion;
use tokio::sync::OnceCell;

static CONFIG: OnceCell<SdkConfig> = OnceCell::const_new();

/// The shared AWS configuration, loaded once per process (per cold start):
/// region, credentials chain and `AWS_ENDPOINT_URL` (the emulator) as the
/// default provider chain finds them.
pub async fn config() -> SdkConfig {
    CONFIG.get_or_init(|| aws_config::defaults(BehaviorVersion::latest()).load()).await.clone()
}

/// A DynamoDB client for `config`.
pub fn dynamodb_client(config: &SdkConfig) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(config)
}

/// An SQS client for `config`.
pub fn sqs_client(config: &SdkConfig) -> aws_sdk_sqs::Client {
    aws_sdk_sqs::Client::new(config)
}

/// An S3 client for `config`. With a custom endpoint (`AWS_ENDPOINT_URL`, an
/// emulator on an IP address) it uses path-style addressing, since
/// virtual-hosted buckets need DNS names.
pub fn s3_client(config: &SdkConfig) -> aws_sdk_s3::Client {
    let conf = aws_sdk_s3::config::Builder::from(config).force_path_style(config.endpoint_url().is_some()).build();
    aws_sdk_s3::Client::from_conf(conf)
}

/// One line describing an SDK error with its whole source chain.
pub(crate) fn describe(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(inner) = source {
        let text = inner.to_string();
        if !s.contains(&text) {
            s.push_str(": ");
            s.push_str(&text);
        }
        source = inner.source();
    }
    s
}
