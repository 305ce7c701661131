//! What Ferry counts and times, as tracing events of one target. The Lambda
//! functions print each as a CloudWatch Embedded Metric Format line
//! (`ferry_aws::logging`), which CloudWatch turns into metrics of namespace
//! [`NAMESPACE`] with no API call; `ferry` leaves them out of its logs.
//!
//! The convention the printer relies on: a field whose name starts with a
//! capital is a metric (in milliseconds when it ends in `Ms`, else a count),
//! a lower-case field is a dimension (`task`, `status`, `lane`, `outcome`).

use crate::job::{Job, Task};
use crate::ports::Lane;
use std::time::Duration;

/// The tracing target of metric events.
pub const TARGET: &str = "ferry_metrics";
/// The CloudWatch namespace of Ferry's metrics.
pub const NAMESPACE: &str = "Ferry";

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn lane_name(lane: Lane) -> &'static str {
    match lane {
        Lane::Bulk => "bulk",
        Lane::Interactive => "interactive",
    }
}

/// A job was created with `items` inputs (0: a document not split yet).
pub fn job_created(task: Task, lane: Lane, items: u32) {
    tracing::info!(target: TARGET, JobsCreated = 1u64, Items = items, task = task.as_str(), lane = lane_name(lane));
}

/// A job ended (succeeded, failed or canceled).
pub fn job_finished(job: &Job) {
    tracing::info!(target: TARGET, JobsFinished = 1u64, task = job.task.as_str(), status = job.status.as_str());
}

/// The worker received a batch of `messages`; the oldest had waited `oldest`
/// on its queue (SQS's `SentTimestamp` to now).
pub fn batch_received(messages: usize, oldest: Option<Duration>) {
    match oldest {
        Some(age) => tracing::info!(target: TARGET, BatchMessages = messages, QueueAgeMs = ms(age)),
        None => tracing::info!(target: TARGET, BatchMessages = messages),
    }
}

/// The model ran over `texts` texts in `took`.
pub fn model_run(texts: usize, took: Duration) {
    if texts > 0 {
        let per_text = ms(took) / texts as f64;
        tracing::info!(target: TARGET, ModelTexts = texts, ModelMs = ms(took), ModelMsPerText = per_text);
    }
}

/// One webhook delivery attempt: `delivered`, `retrying` or `gave-up`.
pub fn webhook_attempt(outcome: &'static str) {
    tracing::info!(target: TARGET, WebhookAttempts = 1u64, outcome);
}

/// This execution environment started, `init` after the process did.
pub fn cold_start(init: Duration) {
    tracing::info!(target: TARGET, ColdStarts = 1u64, InitMs = ms(init));
}
