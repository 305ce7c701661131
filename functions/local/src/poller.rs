//! The local stand-in for Lambda's SQS event source: receive a batch, hand it
//! to the same `Worker::handle` Lambda calls, delete what is done, let the rest
//! come back after a back-off.

use crate::queue::SqliteQueue;
use ferry_core::JobStore;
use ferry_core::message::job_id_of;
use ferry_inference::{Outcome, Worker};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tracing::{info, warn};

/// Messages per batch, as SQS's event source would deliver them.
const BATCH: u32 = 10;
const IDLE_POLL: Duration = Duration::from_millis(500);

pub struct Poller {
    pub queue: SqliteQueue,
    pub worker: Arc<Worker>,
    pub store: Arc<dyn JobStore>,
}

impl Poller {
    /// Runs until `stop` turns true; the batch in hand is always finished first.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        while !*stop.borrow() {
            let batch = match self.queue.receive(BATCH).await {
                Ok((batch, dead)) => {
                    self.fail_dead_letters(dead).await;
                    batch
                }
                Err(e) => {
                    warn!(error = %e, "queue receive failed");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
            if batch.is_empty() {
                tokio::select! {
                    _ = self.queue.sent() => {}
                    _ = tokio::time::sleep(IDLE_POLL) => {}
                    _ = stop.changed() => {}
                }
                continue;
            }
            let outcomes = self.worker.handle(&batch).await;
            self.settle(&batch, &outcomes).await;
        }
        info!("worker stopped");
    }

    async fn settle(&self, batch: &[ferry_inference::Received], outcomes: &[Outcome]) {
        let (mut done, mut retry) = (Vec::new(), Vec::new());
        for (received, outcome) in batch.iter().zip(outcomes) {
            if outcome.should_delete() {
                done.push(received.id.clone());
            } else {
                retry.push((received.id.clone(), received.receive_count));
            }
        }
        if let Err(e) = self.queue.delete(done).await {
            // The messages come back after the visibility timeout; the store's
            // conditional writes make the redelivery harmless.
            warn!(error = %e, "could not delete finished messages");
        }
        for (id, count) in retry {
            let backoff = Duration::from_secs(1u64 << count.min(6));
            if let Err(e) = self.queue.release(vec![id], backoff).await {
                warn!(error = %e, "could not schedule retry");
            }
        }
    }

    async fn fail_dead_letters(&self, dead: Vec<crate::queue::DeadLetter>) {
        for letter in dead {
            let reason = format!("gave up after {} deliveries", letter.receive_count);
            warn!(reason, "message dead-lettered");
            if let Some(job_id) = job_id_of(&letter.body)
                && let Err(e) = self.store.fail_job(job_id, &reason).await
            {
                warn!(error = %e, %job_id, "could not fail dead-lettered job");
            }
        }
    }
}
