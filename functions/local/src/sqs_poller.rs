//! `ferry serve --backend aws`: a local stand-in for Lambda's SQS event source.
//! It long-polls the queue, builds the same `SqsEvent` Lambda would deliver,
//! calls the same handler the inference function runs, and deletes every
//! record not reported in `batchItemFailures` (those come back after the
//! visibility timeout, as in Lambda). Each queue's batch is gathered the
//! way template.yaml's event source for that queue gathers it.

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use ferry_aws::SqsQueue;
use ferry_core::QueueError;
use ferry_inference::Worker;
use ferry_inference::sqs::handle_event;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;
use tracing::{info, warn};

/// Long-poll wait: short enough that shutdown is prompt.
const WAIT_SECS: u32 = 2;

/// How Lambda's SQS event source gathers one invocation's batch: up to
/// `size` messages, waiting up to `window` for more once the first arrived
/// (template.yaml's `BatchSize` and `MaximumBatchingWindowInSeconds`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Batching {
    pub size: u32,
    pub window: Duration,
}

/// The jobs queue's event source: bulk work, gathered for a second.
pub const JOBS: Batching = Batching { size: 5, window: Duration::from_secs(1) };
/// The interactive queue's: whatever has arrived, at once.
pub const INTERACTIVE: Batching = Batching { size: 5, window: Duration::ZERO };
/// The webhooks queue's.
pub const WEBHOOKS: Batching = Batching { size: 10, window: Duration::ZERO };

pub struct SqsPoller {
    pub queue: Arc<SqsQueue>,
    pub worker: Arc<Worker>,
    pub batching: Batching,
}

impl SqsPoller {
    /// The next batch, gathered as `batching` says. Receives are never cut
    /// short (a receive abandoned in flight would hide its messages for the
    /// visibility timeout), so SQS's whole-second waits may stretch a window
    /// by under a second.
    async fn receive_batch(&self) -> Result<Vec<SqsMessage>, QueueError> {
        let Batching { size, window } = self.batching;
        let mut records = self.queue.receive(size.min(10), WAIT_SECS).await?;
        let deadline = Instant::now() + window;
        while !records.is_empty() && (records.len() as u32) < size {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            let wait = left.as_secs_f64().ceil() as u32;
            match self.queue.receive((size - records.len() as u32).min(10), wait).await {
                Ok(more) => records.extend(more),
                Err(e) => {
                    warn!(error = %e, "SQS receive failed while gathering a batch");
                    break;
                }
            }
        }
        Ok(records)
    }

    pub async fn run(self, stop: watch::Receiver<bool>) {
        while !*stop.borrow() {
            let records = match self.receive_batch().await {
                Ok(records) => records,
                Err(e) => {
                    warn!(error = %e, "SQS receive failed");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
            if records.is_empty() {
                continue;
            }
            let mut event = SqsEvent::default();
            event.records = records;
            let response = handle_event(&self.worker, event.clone()).await;
            let failed: HashSet<&str> =
                response.batch_item_failures.iter().map(|f| f.item_identifier.as_str()).collect();
            let done: Vec<String> = event
                .records
                .iter()
                .filter(|r| !failed.contains(r.message_id.as_deref().unwrap_or_default()))
                .filter_map(|r| r.receipt_handle.clone())
                .collect();
            if let Err(e) = self.queue.delete(&done).await {
                warn!(error = %e, "could not delete finished messages; they will be redelivered harmlessly");
            }
            // Lambda leaves failed messages hidden for the queue's whole
            // visibility timeout; locally they come back after a short
            // back-off, so retries (and dead-lettering) happen in seconds.
            for record in event.records.iter().filter(|r| failed.contains(r.message_id.as_deref().unwrap_or_default()))
            {
                let count: u32 =
                    record.attributes.get("ApproximateReceiveCount").and_then(|c| c.parse().ok()).unwrap_or(1);
                if let Some(handle) = &record.receipt_handle
                    && let Err(e) = self.queue.change_visibility(handle, 1 << count.min(5)).await
                {
                    warn!(error = %e, "could not schedule a retry");
                }
            }
        }
        info!("SQS worker stopped");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `BatchSize` and `MaximumBatchingWindowInSeconds` of the event source
    /// on `queue` in template.yaml.
    fn template_batching(queue: &str) -> Batching {
        let template = include_str!("../../../template.yaml");
        let anchor = format!("Queue: !GetAtt {queue}.Arn");
        let at = template.find(&anchor).unwrap_or_else(|| panic!("no event source on {queue}"));
        let value = |key: &str| -> u64 {
            let rest = &template[at..];
            let line = rest.lines().take(8).find(|l| l.trim_start().starts_with(key)).unwrap();
            line.split(':').nth(1).unwrap().trim().parse().unwrap()
        };
        Batching {
            size: value("BatchSize:") as u32,
            window: Duration::from_secs(value("MaximumBatchingWindowInSeconds:")),
        }
    }

    #[test]
    fn batches_as_the_template_s_event_sources_do() {
        assert_eq!(template_batching("JobsQueue"), JOBS);
        assert_eq!(template_batching("InteractiveQueue"), INTERACTIVE);
        assert_eq!(template_batching("WebhooksQueue"), WEBHOOKS);
    }
}
