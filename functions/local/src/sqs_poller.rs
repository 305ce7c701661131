//! `ferry serve --backend aws`: a local stand-in for Lambda's SQS event source.
//! It long-polls the queue, builds the same `SqsEvent` Lambda would deliver,
//! calls the same handler the inference function runs, and deletes every
//! record not reported in `batchItemFailures` (those come back after the
//! visibility timeout, as in Lambda).

use aws_lambda_events::event::sqs::SqsEvent;
use ferry_aws::SqsQueue;
use ferry_inference::Worker;
use ferry_inference::sqs::handle_event;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tracing::{info, warn};

/// Long-poll wait: short enough that shutdown is prompt.
const WAIT_SECS: u32 = 2;

pub struct SqsPoller {
    pub queue: Arc<SqsQueue>,
    pub worker: Arc<Worker>,
}

impl SqsPoller {
    pub async fn run(self, stop: watch::Receiver<bool>) {
        while !*stop.borrow() {
            let records = match self.queue.receive(10, WAIT_SECS).await {
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
