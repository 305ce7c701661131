//! The worker. `Worker::handle` takes a batch of raw queue messages and says,
//! per message, whether it is done, poisoned (acknowledge it; its job has been
//! failed with the reason) or worth retrying. The Lambda SQS handler and the
//! local poll loop both call it; only the queue around it differs.

pub mod sqs;

use ferry_core::{
    ItemResult, JobId, JobStore, Poison, SentimentClassifier, SentimentScores, StoreError, Task, TaskMessage,
};
use std::sync::Arc;
use tracing::{Instrument, info, info_span, warn};

/// A message as any queue hands it over.
#[derive(Debug, Clone)]
pub struct Received {
    /// The queue's id for the message (SQS message id, local row id).
    pub id: String,
    pub body: String,
    /// How many times the queue has delivered it, this time included.
    pub receive_count: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Results recorded (or nothing left to do): delete the message.
    Done,
    /// Can never succeed; its job was failed with this reason. Delete it.
    Poisoned(String),
    /// Failed for a reason that may pass (store or model unavailable): leave
    /// it on the queue to be delivered again.
    Retry(String),
}

impl Outcome {
    pub fn should_delete(&self) -> bool {
        !matches!(self, Outcome::Retry(_))
    }
}

pub struct Worker {
    store: Arc<dyn JobStore>,
    sentiment: Arc<dyn SentimentClassifier>,
    /// After this many deliveries a retryable failure becomes final, so the job
    /// fails with a reason instead of vanishing into a dead-letter queue.
    max_attempts: u32,
    upstream: Upstream,
}

/// Who may put work on the queue directly (a message for a job the API did
/// not create makes the job, owned by the message's `owner`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Upstream {
    /// Any owner: for tests and trusted single-tenant set-ups.
    AnyOwner,
    /// Only these owners (`FERRY_UPSTREAM_OWNERS`); empty: nobody.
    Only(std::collections::BTreeSet<String>),
}

impl Upstream {
    /// `FERRY_UPSTREAM_OWNERS`: comma-separated owners, or `*` for any.
    /// Unset or empty: no upstream system may create jobs.
    pub fn from_env() -> Upstream {
        let value = std::env::var("FERRY_UPSTREAM_OWNERS").unwrap_or_default();
        if value.trim() == "*" {
            return Upstream::AnyOwner;
        }
        Upstream::Only(value.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect())
    }

    pub fn allows(&self, owner: &str) -> bool {
        match self {
            Upstream::AnyOwner => true,
            Upstream::Only(owners) => owners.contains(owner),
        }
    }
}

/// A message that parsed and whose job still wants results.
struct Live {
    index: usize,
    message: TaskMessage,
}

impl Worker {
    pub fn new(store: Arc<dyn JobStore>, sentiment: Arc<dyn SentimentClassifier>, max_attempts: u32) -> Self {
        Worker { store, sentiment, max_attempts: max_attempts.max(1), upstream: Upstream::AnyOwner }
    }

    /// Restricts which owners' messages may create jobs (default: any).
    pub fn with_upstream(mut self, upstream: Upstream) -> Self {
        self.upstream = upstream;
        self
    }

    /// Handles a batch; the outcomes are in the batch's order.
    pub async fn handle(&self, batch: &[Received]) -> Vec<Outcome> {
        let mut outcomes = vec![Outcome::Done; batch.len()];
        let mut live = Vec::new();
        for (index, received) in batch.iter().enumerate() {
            match self.admit(received).await {
                Ok(Some(message)) => live.push(Live { index, message }),
                Ok(None) => {}
                Err(outcome) => outcomes[index] = outcome,
            }
        }
        for (index, outcome) in self.run_sentiment(live).await {
            outcomes[index] = outcome;
        }
        for (outcome, received) in outcomes.iter_mut().zip(batch) {
            if let Outcome::Retry(reason) = outcome
                && received.receive_count >= self.max_attempts
            {
                *outcome = self.give_up(received, reason).await;
            }
        }
        outcomes
    }

    /// Parses a message and marks its job running. `Ok(None)`: nothing to do.
    async fn admit(&self, received: &Received) -> Result<Option<TaskMessage>, Outcome> {
        if let Some(kind) = s3_notification(&received.body) {
            // The bucket notifies the queue of uploads; documents are not a
            // task yet, so these are acknowledged and logged, never retried.
            info!(message_id = %received.id, kind, "S3 notification acknowledged; document tasks are not enabled");
            return Ok(None);
        }
        let message = match TaskMessage::parse(&received.body) {
            Ok(message) => message,
            Err(poison) => return Err(self.poison(&received.id, poison).await),
        };
        let span = info_span!("message", job_id = %message.job_id, chunk = message.chunk, message_id = %received.id);
        let create_missing = self.upstream.allows(&message.owner);
        let job = self.store.begin(&message, create_missing).instrument(span.clone()).await.map_err(retry)?;
        let Some(job) = job else {
            let reason = format!("no such job, and {} is not an allowed upstream source", message.owner);
            return Err(self.poison(&received.id, Poison { job_id: None, reason }).await);
        };
        if job.status.is_terminal() {
            span.in_scope(|| info!(status = job.status.as_str(), "job already final; dropping message"));
            return Ok(None);
        }
        if job.owner != message.owner || job.task != message.task {
            let reason = "message does not match its job's owner or task";
            return Err(self.poison(&received.id, Poison { job_id: None, reason: reason.into() }).await);
        }
        Ok(Some(message))
    }

    async fn poison(&self, message_id: &str, poison: Poison) -> Outcome {
        warn!(message_id, job_id = ?poison.job_id.map(|j| j.to_string()), reason = %poison.reason, "poison message");
        if let Some(job_id) = poison.job_id
            && let Err(e) = self.store.fail_job(job_id, &poison.reason).await
        {
            return retry(e);
        }
        Outcome::Poisoned(poison.reason)
    }

    async fn give_up(&self, received: &Received, reason: &str) -> Outcome {
        let reason = format!("gave up after {} attempts: {reason}", received.receive_count);
        let job_id = TaskMessage::parse(&received.body).ok().map(|m| m.job_id);
        self.poison(&received.id, Poison { job_id, reason }).await
    }

    /// Runs every sentiment text of the batch through the model in one call
    /// (the model sorts and sub-batches them), then records each message's chunk.
    async fn run_sentiment(&self, live: Vec<Live>) -> Vec<(usize, Outcome)> {
        let live: Vec<Live> = live.into_iter().filter(|l| l.message.task == Task::Sentiment).collect();
        let texts: Vec<String> = live
            .iter()
            .flat_map(|l| l.message.items.iter().filter(|item| !item.text.trim().is_empty()))
            .map(|item| item.text.clone())
            .collect();
        let scores = match self.classify(texts).await {
            Ok(scores) => scores,
            Err(reason) => return live.iter().map(|l| (l.index, Outcome::Retry(reason.clone()))).collect(),
        };
        let mut scores = scores.into_iter();
        let mut outcomes = Vec::with_capacity(live.len());
        for l in &live {
            let results = sentiment_results(&l.message, &mut scores);
            outcomes.push((l.index, self.record(l.message.job_id, l.message.chunk, &results).await));
        }
        outcomes
    }

    async fn classify(&self, texts: Vec<String>) -> Result<Vec<SentimentScores>, String> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let model = Arc::clone(&self.sentiment);
        let span = tracing::Span::current();
        let n = texts.len();
        let scores = tokio::task::spawn_blocking(move || {
            let _entered = span.enter();
            let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
            model.classify(&refs)
        })
        .await
        .map_err(|e| format!("model task failed: {e}"))?
        .map_err(|e| e.to_string())?;
        if scores.len() != n {
            return Err(format!("model returned {} scores for {n} texts", scores.len()));
        }
        Ok(scores)
    }

    async fn record(&self, job_id: JobId, chunk: u32, results: &[ItemResult]) -> Outcome {
        let span = info_span!("record", job_id = %job_id, chunk);
        match self.store.complete_chunk(job_id, chunk, results).instrument(span.clone()).await {
            Ok(recorded) => {
                span.in_scope(|| info!(items = results.len(), recorded, "chunk done"));
                Outcome::Done
            }
            Err(e) => retry(e),
        }
    }
}

/// Pairs a message's items with their scores; empty texts fail on their own
/// without failing their neighbours.
fn sentiment_results(message: &TaskMessage, scores: &mut impl Iterator<Item = SentimentScores>) -> Vec<ItemResult> {
    message
        .items
        .iter()
        .map(|item| {
            if item.text.trim().is_empty() {
                return ItemResult::failed(item.i, "empty text");
            }
            match scores.next() {
                Some(s) => ItemResult::ok(item.i, serde_json::to_value(s.prediction()).expect("predictions serialise")),
                None => ItemResult::failed(item.i, "no score returned"),
            }
        })
        .collect()
}

fn retry(e: StoreError) -> Outcome {
    Outcome::Retry(e.to_string())
}

/// Recognises an S3 event notification (or the `s3:TestEvent` S3 sends when
/// notifications are configured) in a queue body.
fn s3_notification(body: &str) -> Option<&'static str> {
    let value: serde_json::Value = serde_json::from_str(body).ok()?;
    if value.get("Event").and_then(|e| e.as_str()) == Some("s3:TestEvent") {
        return Some("s3:TestEvent");
    }
    let from_s3 = value
        .get("Records")?
        .as_array()?
        .iter()
        .any(|r| r.get("eventSource").and_then(|s| s.as_str()) == Some("aws:s3"));
    from_s3.then_some("s3:ObjectCreated")
}
