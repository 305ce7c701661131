//! The local stand-in for Lambda's SQS event source: receive a batch, hand it
//! to the same `Worker::handle` Lambda calls, delete what is done, let the rest
//! come back after a back-off.

use crate::queue::{DeadLetter, Lane, SqliteQueue};
use ferry_core::StoreError;
use ferry_inference::{Outcome, Received, Worker};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tracing::{info, warn};

/// Messages per batch of the jobs lane, as SQS's event source would deliver them.
pub const JOBS_BATCH: u32 = 10;
/// Messages per batch of the interactive lane: what is there, up to the
/// template's batch size for its queue.
pub const INTERACTIVE_BATCH: u32 = 5;
/// Webhook attempts delivered at once (side by side) by the webhooks lane.
pub const WEBHOOKS_BATCH: u32 = 16;
const IDLE_POLL: Duration = Duration::from_millis(500);

pub struct Poller {
    pub queue: SqliteQueue,
    pub worker: Arc<Worker>,
    pub lane: Lane,
}

impl Poller {
    /// A poller of the jobs lane, which takes interactive work first.
    pub fn jobs(queue: SqliteQueue, worker: Arc<Worker>) -> Poller {
        Poller { queue, worker, lane: Lane::Jobs }
    }

    /// A poller of the interactive lane only: while every jobs poller is
    /// busy with a bulk batch, it still answers a waiting client at once.
    pub fn interactive(queue: SqliteQueue, worker: Arc<Worker>) -> Poller {
        Poller { queue, worker, lane: Lane::Interactive }
    }

    /// The poller of the webhooks lane.
    pub fn webhooks(queue: SqliteQueue, worker: Arc<Worker>) -> Poller {
        Poller { queue, worker, lane: Lane::Webhooks }
    }

    fn batch(&self) -> u32 {
        match self.lane {
            Lane::Jobs => JOBS_BATCH,
            Lane::Webhooks => WEBHOOKS_BATCH,
            Lane::Interactive => INTERACTIVE_BATCH,
        }
    }

    /// The next batch: for a jobs poller, interactive work if any is waiting.
    async fn receive(&self) -> Result<(Vec<Received>, Vec<DeadLetter>), StoreError> {
        if self.lane == Lane::Jobs {
            let (batch, dead) = self.queue.receive_from(Lane::Interactive, INTERACTIVE_BATCH).await?;
            if !batch.is_empty() || !dead.is_empty() {
                return Ok((batch, dead));
            }
        }
        self.queue.receive_from(self.lane, self.batch()).await
    }

    /// Resolves when work may have arrived for this poller.
    async fn sent(&self) {
        match self.lane {
            Lane::Jobs => tokio::select! {
                _ = self.queue.sent(Lane::Jobs) => {}
                _ = self.queue.sent(Lane::Interactive) => {}
            },
            lane => self.queue.sent(lane).await,
        }
    }
}

impl Poller {
    /// Runs until `stop` turns true; the batch in hand is always finished first.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        while !*stop.borrow() {
            let batch = match self.receive().await {
                Ok((batch, dead)) => {
                    self.account_for(dead).await;
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
                    _ = self.sent() => {}
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
            // 0.5 s, 1 s, 2 s, … up to 16 s.
            let backoff = Duration::from_millis(250u64 << count.min(6));
            if let Err(e) = self.queue.release(vec![id], backoff).await {
                warn!(error = %e, "could not schedule retry");
            }
        }
    }

    /// A message the queue set aside: its items are recorded as failed (if
    /// the worker's last attempt could not) so the job can finish; `ferry dlq
    /// redrive` runs it again.
    async fn account_for(&self, dead: Vec<DeadLetter>) {
        for letter in dead {
            warn!(deliveries = letter.receive_count, "message dead-lettered");
            let received =
                Received { id: "dead-letter".into(), body: letter.body, receive_count: letter.receive_count };
            self.worker.dead_lettered(&received).await;
        }
    }
}
