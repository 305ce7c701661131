//! Ferry on one machine: the API router and the worker in one process, on
//! SQLite instead of DynamoDB + SQS, files instead of S3.

pub mod adapters;
pub mod blobs;
pub mod config;
pub mod db;
pub mod dlq_cli;
pub mod http;
pub mod keys;
pub mod keys_cli;
pub mod poller;
pub mod queue;
pub mod serve;
#[cfg(feature = "aws")]
pub mod sqs_poller;
pub mod store;
pub mod summary;

/// `--backend aws` asked of a `ferry` built without the `aws` feature.
#[cfg(not(feature = "aws"))]
pub fn without_aws() -> anyhow::Error {
    anyhow::anyhow!(
        "this ferry was built without the AWS backend; build it with the `aws` feature: \
         cargo run -p ferry-local --features aws -- …"
    )
}
