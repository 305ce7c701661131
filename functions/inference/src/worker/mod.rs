//! The worker. `Worker::handle` takes a batch of raw queue messages and says,
//! per message, whether it is done, poisoned (acknowledge it; its job has been
//! failed with the reason) or worth retrying. The Lambda SQS handler and the
//! local poll loop both call it; only the queue around it differs.
//!
//! Each message is parsed once into a [`Delivery`]; one `match` sends it to
//! the module for its kind: [`texts`] (chunks of sentiment texts, run through
//! the model together), [`document`] (a JSONL document split into chunks),
//! [`resume`] (a resume-match), [`callback`] (a webhook attempt) and
//! [`uploads`] (bucket notifications). What happens to the job itself is
//! `ferry_core::lifecycle`'s.

mod callback;
mod delivery;
mod document;
mod resume;
mod texts;
mod uploads;

pub use delivery::Delivery;

use crate::Upstream;
use crate::webhook::WebhookSender;
use ferry_core::{
    Admission, BlobStore, JobError, JobId, JobStore, Jobs, Limits, Poison, ResumeAnalyzer, SentimentClassifier,
    StoreError, TaskMessage, TaskQueue, WebhookConfig, WebhookMessage, Work,
};
use std::sync::Arc;
use tracing::{Instrument, info, info_span, warn};

/// Largest JSONL document the worker reads.
pub const MAX_DOCUMENT_BYTES: u64 = 64 * 1024 * 1024;
/// Largest resume or job-description document the worker reads.
pub const MAX_RESUME_BYTES: u64 = 10 * 1024 * 1024;
/// Largest resume-match result stored. The analysis bounds every part of it
/// (200,000 bytes of text, 100 positions, 300 skills …); this is the net
/// under that, so an oversized result fails its job with the reason on the
/// first delivery instead of being retried into the dead-letter queue.
pub const MAX_RESULT_BYTES: usize = 4 * 1024 * 1024;
/// Longest a resume analysis may take before its job fails; the extractor's
/// own budget normally stops a hostile document far sooner.
pub const ANALYSIS_BUDGET: std::time::Duration = std::time::Duration::from_secs(60);

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
    /// The jobs queue: chunks of split documents, webhook attempts.
    queue: Arc<dyn TaskQueue>,
    /// Uploaded documents, and staged dispatches for the recovery sweep.
    blobs: Arc<dyn BlobStore>,
    sentiment: Arc<dyn SentimentClassifier>,
    /// The queue's delivery limit: on the last delivery a chunk that still
    /// fails has its items recorded as failed (the job can finish) and the
    /// message is left to the queue, which dead-letters it for redrive.
    max_attempts: u32,
    upstream: Upstream,
    /// `None`: this deployment has no webhook secret; a callback attempt is
    /// recorded as failed and nothing queues one.
    webhooks: Option<(WebhookConfig, Arc<WebhookSender>)>,
    /// `None`: resume-match jobs fail with a reason.
    resumes: Option<Arc<dyn ResumeAnalyzer>>,
    limits: Limits,
}

impl Worker {
    pub fn new(
        store: Arc<dyn JobStore>,
        queue: Arc<dyn TaskQueue>,
        blobs: Arc<dyn BlobStore>,
        sentiment: Arc<dyn SentimentClassifier>,
        max_attempts: u32,
    ) -> Self {
        Worker {
            store,
            queue,
            blobs,
            sentiment,
            max_attempts: max_attempts.max(1),
            upstream: Upstream::AnyOwner,
            webhooks: None,
            resumes: None,
            limits: Limits::default(),
        }
    }

    /// Runs resume-match jobs; without an analyzer they fail with a reason.
    pub fn with_resumes(mut self, analyzer: impl Into<Option<Arc<dyn ResumeAnalyzer>>>) -> Self {
        self.resumes = analyzer.into();
        self
    }

    /// Restricts which owners' messages may create jobs (default: any).
    pub fn with_upstream(mut self, upstream: Upstream) -> Self {
        self.upstream = upstream;
        self
    }

    /// Delivers callbacks.
    pub fn with_webhooks(mut self, config: WebhookConfig, sender: WebhookSender) -> Self {
        self.webhooks = Some((config, Arc::new(sender)));
        self
    }

    /// Input limits applied to split documents, and the retention of jobs
    /// created here (the API's, by default).
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// The job rules over this worker's ports.
    fn jobs(&self) -> Jobs<'_> {
        Jobs {
            store: self.store.as_ref(),
            queue: self.queue.as_ref(),
            blobs: self.blobs.as_ref(),
            webhooks: self.webhooks.is_some(),
            retention: self.limits.retention,
        }
    }

    /// Handles a batch; the outcomes are in the batch's order. Webhook
    /// attempts run side by side, and beside the rest: each waits on a
    /// receiver, not on this machine, so a slow one delays no other.
    pub async fn handle(&self, batch: &[Received]) -> Vec<Outcome> {
        let deliveries: Vec<Delivery> = batch.iter().map(Delivery::parse).collect();
        let mut outcomes = vec![Outcome::Done; batch.len()];
        let hooks: Vec<(usize, &WebhookMessage)> = (deliveries.iter().enumerate())
            .filter_map(|(i, d)| match d {
                Delivery::Webhook(message) => Some((i, message)),
                _ => None,
            })
            .collect();
        let attempts = futures_util::future::join_all(hooks.iter().map(|&(_, message)| self.deliver_webhook(message)));
        let (delivered, worked) = tokio::join!(attempts, self.work(batch, &deliveries));
        for (&(index, _), outcome) in hooks.iter().zip(delivered) {
            outcomes[index] = outcome;
        }
        for (index, outcome) in worked {
            outcomes[index] = outcome;
        }
        for ((outcome, received), delivery) in outcomes.iter_mut().zip(batch).zip(&deliveries) {
            if let (Outcome::Retry(reason), Delivery::Task(message)) = (&*outcome, delivery)
                && received.receive_count >= self.max_attempts
            {
                self.give_up(message, received.receive_count, reason).await;
            }
        }
        outcomes
    }

    /// Queues again what the outbox stored but nobody marked queued (see
    /// `ferry_core::outbox`), with this worker's store, queue and blobs.
    pub async fn recover(&self, grace: std::time::Duration) -> Result<ferry_core::Swept, ferry_core::OutboxError> {
        ferry_core::outbox::sweep(self.store.as_ref(), self.queue.as_ref(), self.blobs.as_ref(), grace).await
    }

    /// The queue set a message aside (locally, the poller reports it): make
    /// sure its items are accounted for, as on a last attempt.
    pub async fn dead_lettered(&self, received: &Received) {
        if let Delivery::Task(message) = Delivery::parse(received) {
            self.give_up(&message, received.receive_count, "the message was dead-lettered").await;
        }
    }

    /// The batch's messages other than webhook attempts (those run beside),
    /// one by one, then their sentiment texts through the model together.
    async fn work(&self, batch: &[Received], deliveries: &[Delivery]) -> Vec<(usize, Outcome)> {
        let mut outcomes = Vec::new();
        let mut chunks = Vec::new();
        for (index, (received, delivery)) in batch.iter().zip(deliveries).enumerate() {
            let id = &received.id;
            let outcome = match delivery {
                Delivery::Webhook(_) => continue,
                Delivery::Task(message) => match self.admit(id, message).await {
                    Admitted::Texts => {
                        chunks.push(texts::Chunk { index, message });
                        continue;
                    }
                    Admitted::Handled(outcome) => outcome,
                },
                Delivery::Uploads { kind } => {
                    // The bucket notifies the queue of uploads. An upload with a
                    // job description beside it starts a resume-match job; any
                    // other is the API's (its job comes from POST /v1/jobs).
                    info!(message_id = %id, kind, "S3 notification");
                    self.uploads(&received.body).await
                }
                Delivery::Poison(poison) => self.poison(id, poison.clone()).await,
            };
            outcomes.push((index, outcome));
        }
        outcomes.extend(self.run_texts(chunks).await);
        outcomes
    }

    /// Admits a task message's job, then runs a document or a resume at once.
    async fn admit(&self, message_id: &str, message: &TaskMessage) -> Admitted {
        let span = info_span!("message", job_id = %message.job_id, chunk = message.chunk, message_id = %message_id);
        let may_create = self.upstream.allows(&message.owner);
        let job = match self.jobs().admit(message, may_create).instrument(span.clone()).await {
            Ok(Admission::Run(job)) => job,
            Ok(Admission::Drop) => return Admitted::Handled(Outcome::Done),
            Ok(Admission::Refuse(reason)) => {
                let poison = Poison { job_id: None, owner: None, reason };
                return Admitted::Handled(self.poison(message_id, poison).await);
            }
            Err(e) => return Admitted::Handled(retry(e)),
        };
        let outcome = match &message.work {
            Work::Texts(_) => return Admitted::Texts,
            Work::Document(document) => self.split(&job, &document.key).instrument(span).await,
            Work::Resume { resume, job_description } => {
                self.match_resume(&job, &resume.key, job_description).instrument(span).await
            }
        };
        Admitted::Handled(outcome)
    }

    /// Fails a job the worker has admitted (its owner checked) with `reason`.
    async fn poison_job(&self, job_id: JobId, reason: &str) -> Outcome {
        match self.jobs().fail(job_id, reason).await {
            Ok(()) => Outcome::Poisoned(reason.to_owned()),
            Err(e) => retry(e.into()),
        }
    }

    /// A message that can never succeed: its job fails with the reason, but
    /// only when the message names the job's own owner (an owner-scoped
    /// read), so a malformed message naming another's job fails nothing.
    async fn poison(&self, message_id: &str, poison: Poison) -> Outcome {
        warn!(message_id, job_id = ?poison.job_id.map(|j| j.to_string()), reason = %poison.reason, "poison message");
        if let (Some(job_id), Some(owner)) = (poison.job_id, &poison.owner) {
            match self.store.get_job(owner, job_id).await {
                Ok(Some(_)) => return self.poison_job(job_id, &poison.reason).await,
                Ok(None) => warn!(%job_id, "the poison message names no job of its owner; no job failed"),
                Err(e) => return retry(e.into()),
            }
        }
        Outcome::Poisoned(poison.reason)
    }

    /// The last delivery failed too: see [`Jobs::give_up`].
    async fn give_up(&self, message: &TaskMessage, attempts: u32, reason: &str) {
        let reason = format!("gave up after {attempts} attempts: {reason}");
        warn!(job_id = %message.job_id, chunk = message.chunk, %reason, "giving up on a message");
        if let Err(e) = self.jobs().give_up(message, &reason).await {
            warn!(job_id = %message.job_id, error = %e, "could not record the given-up message");
        }
    }

    /// Records a chunk's results (see [`Jobs::record`]).
    async fn record(&self, job_id: JobId, chunk: u32, results: &[ferry_core::ItemResult]) -> Outcome {
        let span = info_span!("record", job_id = %job_id, chunk);
        match self.jobs().record(job_id, chunk, results).instrument(span.clone()).await {
            Ok(recorded) => {
                span.in_scope(|| info!(items = results.len(), counted = recorded.counted, "chunk done"));
                Outcome::Done
            }
            Err(e) => retry(e),
        }
    }
}

/// What admitting a task message led to.
enum Admitted {
    /// Its texts go through the model with the rest of the batch's.
    Texts,
    /// Nothing for the model: done, poisoned, or to retry.
    Handled(Outcome),
}

/// A failure worth another delivery.
fn retry(e: JobError) -> Outcome {
    Outcome::Retry(e.to_string())
}

fn unavailable(e: StoreError) -> Outcome {
    retry(e.into())
}
