//! Shared set-up of the emulator tests: they run against the AWS emulator
//! (`eval "$(infra/emulator start)"`), over the real wire protocols.
#![allow(dead_code)]

use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_dynamodb::types::AttributeValue;
use ferry_aws::{DynamoStore, S3Blobs};
use std::collections::HashMap;

pub struct Env {
    pub config: SdkConfig,
    pub table: String,
    pub bucket: String,
    pub queue_url: String,
}

/// The emulator's settings, or `None` (test skipped) when it is not running.
/// Under CI a missing emulator is a failure, not a skip.
pub async fn env() -> Option<Env> {
    if std::env::var_os("AWS_ENDPOINT_URL").is_none() {
        if std::env::var_os("CI").is_some() {
            panic!("AWS_ENDPOINT_URL is not set: start the emulator first: eval \"$(infra/emulator start)\"");
        }
        eprintln!("skipped: AWS_ENDPOINT_URL is not set (eval \"$(infra/emulator start)\" to run the AWS tests)");
        return None;
    }
    let var =
        |name: &str| std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set (infra/emulator start sets it)"));
    // A config per test, not ferry_aws::config(): each #[tokio::test] has its
    // own runtime, and pooled connections must not outlive theirs.
    let config = aws_config::defaults(BehaviorVersion::latest()).load().await;
    Some(Env { config, table: var("FERRY_TABLE"), bucket: var("FERRY_BUCKET"), queue_url: var("FERRY_QUEUE_URL") })
}

impl Env {
    pub fn store(&self) -> DynamoStore {
        DynamoStore::new(&self.config, &self.table, &self.bucket)
    }

    pub fn blobs(&self) -> S3Blobs {
        S3Blobs::new(&self.config, &self.bucket)
    }
}

/// An owner nobody else uses.
pub fn owner(tag: &str) -> String {
    format!("{tag}-{}", uuid::Uuid::now_v7().simple())
}

/// An item exactly as stored (a strongly consistent read), to check the
/// attributes the adapters write.
pub async fn raw_item(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    pk: &str,
    sk: &str,
) -> Option<HashMap<String, AttributeValue>> {
    client
        .get_item()
        .table_name(table)
        .key("pk", AttributeValue::S(pk.into()))
        .key("sk", AttributeValue::S(sk.into()))
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item
}
