//! The inference function's library: the worker (`Worker::handle`, which
//! the Lambda SQS handler and `ferry serve`'s poll loop both call), the resume
//! pipeline, webhook delivery and the SQS event glue.

pub mod analyzer;
pub mod background;
pub mod config;
pub mod s3;
pub mod sqs;
mod upstream;
pub mod webhook;
mod worker;

pub use upstream::Upstream;

pub use worker::{
    ANALYSIS_BUDGET, Delivery, MAX_DOCUMENT_BYTES, MAX_RESULT_BYTES, MAX_RESUME_BYTES, Outcome, Received, Worker,
};
