//! The worker. `Worker::handle` takes a batch of raw queue messages and says,
//! per message, whether it is done, poisoned (acknowledge it; its job has been
//! failed with the reason) or worth retrying. The Lambda SQS handler and the
//! local poll loop both call it; only the queue around it differs.

pub mod analyzer;
pub mod s3;
pub mod sqs;
pub mod webhook;

use ferry_core::job::now;
use ferry_core::message::{chunk_texts, parse_jsonl, upload_prefix};
use ferry_core::webhook::{jitter, notify_if_final};
use ferry_core::{
    AnalysisError, BlobError, BlobStore, ItemResult, Job, JobId, JobStore, Limits, Poison, ResumeAnalyzer,
    SentimentClassifier, SentimentScores, StoreError, Task, TaskMessage, TaskQueue, WebhookConfig, WebhookMessage,
    WebhookState, WebhookStatus,
};
use std::sync::Arc;
use tracing::{Instrument, info, info_span, warn};
use webhook::WebhookSender;

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
    sentiment: Arc<dyn SentimentClassifier>,
    /// `model@sha256:…`, recorded with every result.
    provenance: String,
    /// The queue's delivery limit: on the last delivery a chunk that still
    /// fails has its items recorded as failed (the job can finish) and the
    /// message is left to the queue, which dead-letters it for redrive.
    max_attempts: u32,
    upstream: Upstream,
    /// For webhook deliveries and document fan-out; without it neither runs.
    queue: Option<Arc<dyn TaskQueue>>,
    blobs: Option<Arc<dyn BlobStore>>,
    webhooks: Option<(WebhookConfig, Arc<WebhookSender>)>,
    resumes: Option<Arc<dyn ResumeAnalyzer>>,
    limits: Limits,
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

    /// The listed owner whose storage segment is `segment` (a long owner's
    /// hashed form cannot be decoded, only matched; with `*` it is unknown).
    pub fn owner_with_segment(&self, segment: &str) -> Option<String> {
        match self {
            Upstream::AnyOwner => None,
            Upstream::Only(owners) => owners.iter().find(|o| ferry_core::message::owner_segment(o) == segment).cloned(),
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
        Worker {
            store,
            provenance: sentiment.provenance(),
            sentiment,
            max_attempts: max_attempts.max(1),
            upstream: Upstream::AnyOwner,
            queue: None,
            blobs: None,
            webhooks: None,
            resumes: None,
            limits: Limits::default(),
        }
    }

    /// Runs resume-match jobs (needs [`Worker::with_blobs`] for the
    /// documents); without an analyzer they fail with a reason.
    pub fn with_resumes(mut self, analyzer: impl Into<Option<Arc<dyn ResumeAnalyzer>>>) -> Self {
        self.resumes = analyzer.into();
        self
    }

    /// Restricts which owners' messages may create jobs (default: any).
    pub fn with_upstream(mut self, upstream: Upstream) -> Self {
        self.upstream = upstream;
        self
    }

    /// The jobs queue, for webhook attempts and the chunks of split documents.
    pub fn with_queue(mut self, queue: Arc<dyn TaskQueue>) -> Self {
        self.queue = Some(queue);
        self
    }

    /// Where uploaded documents are read from.
    pub fn with_blobs(mut self, blobs: Arc<dyn BlobStore>) -> Self {
        self.blobs = Some(blobs);
        self
    }

    /// Delivers callbacks (needs [`Worker::with_queue`] for retries).
    pub fn with_webhooks(mut self, config: WebhookConfig, sender: WebhookSender) -> Self {
        self.webhooks = Some((config, Arc::new(sender)));
        self
    }

    /// Input limits applied to split documents (the API's, by default).
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Handles a batch; the outcomes are in the batch's order. Webhook
    /// attempts run side by side, and beside the rest: each waits on a
    /// receiver, not on this machine, so a slow one delays no other.
    pub async fn handle(&self, batch: &[Received]) -> Vec<Outcome> {
        let mut outcomes = vec![Outcome::Done; batch.len()];
        let (hooks, work): (Vec<usize>, Vec<usize>) =
            (0..batch.len()).partition(|&i| WebhookMessage::parse(&batch[i].body).is_some());
        let deliveries = futures_util::future::join_all(hooks.iter().map(|&i| self.admit(&batch[i])));
        let (delivered, worked) = tokio::join!(deliveries, self.work(batch, &work));
        for (&index, outcome) in hooks.iter().zip(delivered) {
            outcomes[index] = outcome.err().unwrap_or(Outcome::Done);
        }
        for (index, outcome) in worked {
            outcomes[index] = outcome;
        }
        for (outcome, received) in outcomes.iter_mut().zip(batch) {
            if let Outcome::Retry(reason) = outcome
                && received.receive_count >= self.max_attempts
            {
                self.give_up(received, reason).await;
            }
        }
        outcomes
    }

    /// Queues again what the outbox stored but nobody marked queued (see
    /// `ferry_core::outbox`), with this worker's store, queue and blobs.
    pub async fn recover(&self, grace: std::time::Duration) -> Result<ferry_core::Swept, ferry_core::OutboxError> {
        let (Some(queue), Some(blobs)) = (&self.queue, &self.blobs) else { return Ok(ferry_core::Swept::default()) };
        ferry_core::outbox::sweep(self.store.as_ref(), queue.as_ref(), blobs.as_ref(), grace).await
    }

    /// The batch's messages at `indices` other than webhook attempts, one by
    /// one, then their sentiment texts through the model together.
    async fn work(&self, batch: &[Received], indices: &[usize]) -> Vec<(usize, Outcome)> {
        let mut outcomes = Vec::new();
        let mut live = Vec::new();
        for &index in indices {
            match self.admit(&batch[index]).await {
                Ok(Some(message)) => live.push(Live { index, message }),
                Ok(None) => outcomes.push((index, Outcome::Done)),
                Err(outcome) => outcomes.push((index, outcome)),
            }
        }
        outcomes.extend(self.run_sentiment(live).await);
        outcomes
    }

    /// The queue set a message aside (locally, the poller reports it): make
    /// sure its items are accounted for, as on a last attempt.
    pub async fn dead_lettered(&self, received: &Received) {
        self.give_up(received, "the message was dead-lettered").await;
    }

    /// Parses a message and marks its job running. `Ok(None)`: nothing (more)
    /// to do; `Ok(Some)`: items to run through the model.
    async fn admit(&self, received: &Received) -> Result<Option<TaskMessage>, Outcome> {
        if let Some(kind) = s3_notification(&received.body) {
            // The bucket notifies the queue of uploads. An upload with a job
            // description beside it starts a resume-match job; any other is
            // the API's (its job comes from POST /v1/jobs) and is acknowledged.
            info!(message_id = %received.id, kind, "S3 notification");
            return Err(self.uploads(&received.body).await);
        }
        if let Some(webhook) = WebhookMessage::parse(&received.body) {
            return Err(match webhook {
                Ok(message) => self.deliver_webhook(&message).await,
                Err(reason) => self.poison(&received.id, Poison { job_id: None, owner: None, reason }).await,
            });
        }
        let message = match TaskMessage::parse(&received.body) {
            Ok(message) => message,
            Err(poison) => return Err(self.poison(&received.id, poison).await),
        };
        let span = info_span!("message", job_id = %message.job_id, chunk = message.chunk, message_id = %received.id);
        let create_missing = self.upstream.allows(&message.owner) && message.document.is_none();
        let job = self.store.begin(&message, create_missing).instrument(span.clone()).await.map_err(retry)?;
        let Some(job) = job else {
            let reason = format!("no such job, and {} is not an allowed upstream source", message.owner);
            return Err(self.poison(&received.id, Poison { job_id: None, owner: None, reason }).await);
        };
        if job.owner != message.owner || job.task != message.task {
            let reason = "message does not match its job's owner or task";
            return Err(self.poison(&received.id, Poison { job_id: None, owner: None, reason: reason.into() }).await);
        }
        if job.status.is_terminal() {
            span.in_scope(|| info!(status = job.status.as_str(), "job already final; dropping message"));
            return self.notify(&job).await.map(|_| None);
        }
        if job.is_overdue(now()) {
            return self.cancel_overdue(&job).instrument(span).await.map(|_| None);
        }
        if message.task == Task::ResumeMatch {
            return Err(self.match_resume(&job, &message).instrument(span).await);
        }
        if let Some(document) = &message.document {
            return Err(self.split(&job, &document.key).instrument(span).await);
        }
        Ok(Some(message))
    }

    /// Cancels a job past its deadline; its remaining messages are dropped as
    /// they arrive.
    async fn cancel_overdue(&self, job: &Job) -> Result<(), Outcome> {
        let reason = "deadline passed before the job finished";
        let canceled = self.store.cancel_job(&job.owner, job.id, reason).await.map_err(retry)?;
        info!("job canceled: {reason}");
        match canceled {
            Some(job) => self.notify(&job).await,
            None => Ok(()),
        }
    }

    /// Queues the job's callback if it is final and has one nobody queued yet.
    async fn notify(&self, job: &Job) -> Result<(), Outcome> {
        let (Some(queue), Some(_)) = (&self.queue, &self.webhooks) else { return Ok(()) };
        match notify_if_final(self.store.as_ref(), queue.as_ref(), job).await {
            Ok(queued) => {
                if queued {
                    info!(job_id = %job.id, "webhook queued");
                }
                Ok(())
            }
            Err(e) => Err(Outcome::Retry(format!("could not queue the webhook: {e}"))),
        }
    }

    /// Reads a document job's JSONL and fans it out as chunk messages. A
    /// redelivery repeats the same split; the store counts each chunk once.
    async fn split(&self, job: &Job, key: &str) -> Outcome {
        let (Some(blobs), Some(queue)) = (&self.blobs, &self.queue) else {
            return self.poison_job(job.id, "documents are not enabled on this worker").await;
        };
        if !key.starts_with(&upload_prefix(&job.owner)) {
            return self.poison_job(job.id, "the document is not one of the job owner's uploads").await;
        }
        let bytes = match blobs.get(key, MAX_DOCUMENT_BYTES).await {
            Ok(Some(bytes)) => bytes,
            Ok(None) => {
                return self.poison_job(job.id, "the document does not exist (expired or never uploaded)").await;
            }
            Err(BlobError::Unavailable(e)) => return Outcome::Retry(e),
            Err(e) => return self.poison_job(job.id, &e.to_string()).await,
        };
        if let Some(reason) = not_jsonl(&bytes) {
            return self.poison_job(job.id, &reason).await;
        }
        let texts = match parse_jsonl(&bytes, self.limits.max_inputs, self.limits.max_text_bytes) {
            Ok(texts) => texts,
            Err(reason) => return self.poison_job(job.id, &reason).await,
        };
        let messages = chunk_texts(job, &texts);
        match self.store.set_split(job.id, texts.len() as u32, messages.len() as u32).await {
            Ok(true) => {}
            Ok(false) => return Outcome::Done,
            Err(e) => return retry(e),
        }
        if let Err(e) = queue.send(&messages).await {
            return Outcome::Retry(e.to_string());
        }
        info!(items = texts.len(), chunks = messages.len(), "document split");
        Outcome::Done
    }

    /// A resume-match job: both documents from the blob store, the analysis
    /// on a blocking thread within [`ANALYSIS_BUDGET`], one result.
    async fn match_resume(&self, job: &Job, message: &TaskMessage) -> Outcome {
        let (Some(blobs), Some(analyzer)) = (&self.blobs, &self.resumes) else {
            return self.poison_job(job.id, "resume analysis is not enabled on this worker").await;
        };
        let owned = upload_prefix(&job.owner);
        let resume_key = message.document.as_ref().map(|d| d.key.as_str()).unwrap_or_default();
        let jd = message.job_description.as_ref().expect("parse checked it");
        if !resume_key.starts_with(&owned) || jd.key.as_ref().is_some_and(|k| !k.starts_with(&owned)) {
            return self.poison_job(job.id, "the documents are not the job owner's uploads").await;
        }
        let resume = match self.document(blobs.as_ref(), resume_key, "resume").await {
            Ok(bytes) => bytes,
            Err(outcome) => return self.settle(job.id, outcome).await,
        };
        let description = match (&jd.text, &jd.key) {
            (Some(text), _) => text.clone().into_bytes(),
            (None, Some(key)) => match self.document(blobs.as_ref(), key, "job description").await {
                Ok(bytes) => bytes,
                Err(outcome) => return self.settle(job.id, outcome).await,
            },
            (None, None) => unreachable!("parse checked it"),
        };
        let analyzer = Arc::clone(analyzer);
        let span = tracing::Span::current();
        let run = tokio::task::spawn_blocking(move || {
            let _entered = span.enter();
            analyzer.analyze(&resume, &description).map(|result| (result, analyzer.provenance()))
        });
        let analysis = match tokio::time::timeout(ANALYSIS_BUDGET, run).await {
            Err(_) => Err(AnalysisError::Unreadable(format!(
                "the analysis took longer than {} s; the document may be hostile",
                ANALYSIS_BUDGET.as_secs()
            ))),
            Ok(Err(e)) => Err(AnalysisError::Model(format!("analysis task failed: {e}"))),
            Ok(Ok(result)) => result,
        };
        match analysis {
            Ok((result, _)) if result.to_string().len() > MAX_RESULT_BYTES => {
                let reason = format!("the analysis is over the {MAX_RESULT_BYTES} bytes a result may be");
                self.poison_job(job.id, &reason).await
            }
            Ok((mut result, provenance)) => {
                result["model"] = serde_json::Value::String(provenance);
                self.record(job.id, 0, &[ItemResult::ok(0, result)]).await
            }
            Err(AnalysisError::Unreadable(reason)) => self.poison_job(job.id, &reason).await,
            Err(e @ AnalysisError::Model(_)) => Outcome::Retry(e.to_string()),
        }
    }

    /// A document's bytes, or what to do with the message when there are none.
    async fn document(&self, blobs: &dyn BlobStore, key: &str, what: &str) -> Result<Vec<u8>, Result<String, String>> {
        match blobs.get(key, MAX_RESUME_BYTES).await {
            Ok(Some(bytes)) => Ok(bytes),
            Ok(None) => Err(Ok(format!("the {what} does not exist (expired or never uploaded)"))),
            Err(BlobError::TooLarge(n)) => Err(Ok(format!("the {what} is {n} bytes; at most {MAX_RESUME_BYTES}"))),
            Err(BlobError::Unavailable(e)) => Err(Err(e)),
            Err(e) => Err(Ok(e.to_string())),
        }
    }

    /// `Ok(reason)`: fail the job; `Err(reason)`: retry.
    async fn settle(&self, job_id: JobId, outcome: Result<String, String>) -> Outcome {
        match outcome {
            Ok(reason) => self.poison_job(job_id, &reason).await,
            Err(reason) => Outcome::Retry(reason),
        }
    }

    /// S3 notifications: each new upload with a job description beside it
    /// (`<key>.jd.txt`) becomes a resume-match job, once per object version.
    async fn uploads(&self, body: &str) -> Outcome {
        let (Some(blobs), Some(queue)) = (&self.blobs, &self.queue) else { return Outcome::Done };
        if self.resumes.is_none() {
            return Outcome::Done;
        }
        for upload in s3::uploads(body) {
            match s3::start_job(self.store.as_ref(), queue.as_ref(), blobs.as_ref(), &self.upstream, &upload).await {
                Ok(Some(job_id)) => info!(%job_id, "resume-match job from an upload"),
                Ok(None) => {}
                Err(e) => return Outcome::Retry(e),
            }
        }
        Outcome::Done
    }

    /// Fails a job the worker has admitted (its owner checked) with `reason`.
    async fn poison_job(&self, job_id: JobId, reason: &str) -> Outcome {
        warn!(%job_id, %reason, "failing the job");
        match self.store.fail_job(job_id, reason).await {
            Ok(()) => Outcome::Poisoned(reason.to_owned()),
            Err(e) => retry(e),
        }
    }

    /// One attempt at a job's callback. Failures are recorded and the next
    /// attempt queued with a back-off; nothing sleeps here.
    async fn deliver_webhook(&self, message: &WebhookMessage) -> Outcome {
        let (Some((config, sender)), Some(queue)) = (&self.webhooks, &self.queue) else {
            warn!(job_id = %message.job_id, "webhook message, but webhooks are not configured; giving up on it");
            // Recorded as failed, so that nothing (the recovery sweep) keeps queuing it.
            let failed = WebhookState::finished(
                WebhookStatus::Failed,
                message.attempt.saturating_sub(1),
                Some("webhooks are not configured on this worker".into()),
            );
            return match self.store.update_webhook(message.job_id, Some(WebhookStatus::Pending), Some(&failed)).await {
                Ok(_) => Outcome::Done,
                Err(e) => retry(e),
            };
        };
        let span = info_span!("webhook", job_id = %message.job_id, attempt = message.attempt);
        let job = match self.store.get_job(&message.owner, message.job_id).await {
            Ok(Some(job)) => job,
            Ok(None) => return Outcome::Done,
            Err(e) => return retry(e),
        };
        // Delivered, given up, or a stale copy of an attempt already made.
        let Some(state) = job.webhook.as_ref().filter(|w| w.status == WebhookStatus::Pending) else {
            return Outcome::Done;
        };
        if message.attempt <= state.attempts {
            return Outcome::Done;
        }
        let result = sender.deliver(&job, &config.owner_secret(&job.owner)).instrument(span.clone()).await;
        fail::fail_point!("webhook.after-deliver", |_| std::process::abort());
        let attempts = message.attempt;
        let (next, retry_after) = match result {
            Ok(()) => (WebhookState::finished(WebhookStatus::Delivered, attempts, None), None),
            Err(e) if attempts >= config.max_attempts => {
                (WebhookState::finished(WebhookStatus::Failed, attempts, Some(e)), None)
            }
            Err(e) => {
                let delay = config.backoff(attempts + 1, jitter());
                (WebhookState::pending(attempts, Some(e), now() + delay), Some(delay))
            }
        };
        span.in_scope(|| info!(status = next.status.as_str(), error = ?next.last_error, "webhook attempt"));
        // The next attempt is stored (due at its time) before it is queued,
        // so a crash in between leaves it to the recovery sweep.
        match self.store.update_webhook(job.id, Some(WebhookStatus::Pending), Some(&next)).await {
            Ok(true) => {}
            Ok(false) => return Outcome::Done,
            Err(e) => return retry(e),
        }
        fail::fail_point!("webhook.after-record", |_| std::process::abort());
        if let Some(delay) = retry_after {
            let mut again = message.clone();
            again.attempt += 1;
            if let Err(e) = queue.send_webhook(&again, delay).await {
                warn!(job_id = %job.id, error = %e, "could not queue the next webhook attempt; the recovery sweep will");
                return Outcome::Done;
            }
            let stored = Job { recovery_due: next.recovery_due(), webhook: Some(next), ..job };
            ferry_core::outbox::mark_queued(self.store.as_ref(), &stored).await;
        }
        Outcome::Done
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
                Err(e) => return retry(e),
            }
        }
        Outcome::Poisoned(poison.reason)
    }

    /// The last delivery failed too: the chunk's items are recorded as
    /// failed with the reason, so the job can finish; the queue keeps the
    /// message (and dead-letters it) so `ferry dlq redrive` can run it again.
    async fn give_up(&self, received: &Received, reason: &str) {
        let reason = format!("gave up after {} attempts: {reason}", received.receive_count);
        let Ok(message) = TaskMessage::parse(&received.body) else { return };
        warn!(job_id = %message.job_id, chunk = message.chunk, %reason, "giving up on a message");
        if message.document.is_some() {
            let _ = self.store.fail_job(message.job_id, &reason).await;
            return;
        }
        let results: Vec<ItemResult> = message.items.iter().map(|i| ItemResult::failed(i.i, &reason)).collect();
        if let Ok(recorded) = self.store.complete_chunk(message.job_id, message.chunk, &results).await
            && let Some(job) = recorded.job
        {
            let _ = self.notify(&job).await;
        }
    }

    /// Runs every sentiment text of the batch through the model in one call
    /// (the model sorts and sub-batches them), then records each message's
    /// chunk. If that call fails, each message runs alone, so one bad message
    /// fails by itself.
    async fn run_sentiment(&self, live: Vec<Live>) -> Vec<(usize, Outcome)> {
        let live: Vec<Live> = live.into_iter().filter(|l| l.message.task == Task::Sentiment).collect();
        if live.is_empty() {
            return Vec::new();
        }
        let scores = match self.classify(texts_of(&live)).await {
            Ok(scores) => scores,
            Err(reason) if live.len() == 1 => return vec![(live[0].index, Outcome::Retry(reason))],
            Err(reason) => {
                warn!(messages = live.len(), %reason, "batched model run failed; running messages one by one");
                let mut outcomes = Vec::with_capacity(live.len());
                for l in live {
                    outcomes.extend(Box::pin(self.run_sentiment(vec![l])).await);
                }
                return outcomes;
            }
        };
        let mut scores = scores.into_iter();
        let mut outcomes = Vec::with_capacity(live.len());
        for l in &live {
            let results = sentiment_results(&l.message, &mut scores, &self.provenance);
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
            // Stored as failures: the same results would be refused again.
            Err(StoreError::TooLarge(e)) if results.iter().any(ItemResult::is_ok) => {
                warn!(%job_id, chunk, error = %e, "results too large to store");
                let reason = "the result is too large to store";
                let failed: Vec<ItemResult> = results.iter().map(|r| ItemResult::failed(r.i, reason)).collect();
                Box::pin(self.record(job_id, chunk, &failed)).await
            }
            Ok(recorded) => {
                span.in_scope(|| info!(items = results.len(), counted = recorded.counted, "chunk done"));
                match recorded.job {
                    Some(job) => self.notify(&job).instrument(span).await.err().unwrap_or(Outcome::Done),
                    None => Outcome::Done,
                }
            }
            Err(e) => retry(e),
        }
    }
}

fn texts_of(live: &[Live]) -> Vec<String> {
    live.iter()
        .flat_map(|l| l.message.items.iter().filter(|item| !item.text.trim().is_empty()))
        .map(|item| item.text.clone())
        .collect()
}

/// Pairs a message's items with their scores; empty texts fail on their own
/// without failing their neighbours.
fn sentiment_results(
    message: &TaskMessage,
    scores: &mut impl Iterator<Item = SentimentScores>,
    provenance: &str,
) -> Vec<ItemResult> {
    message
        .items
        .iter()
        .map(|item| {
            if item.text.trim().is_empty() {
                return ItemResult::failed(item.i, "empty text");
            }
            match scores.next() {
                Some(s) => {
                    let mut value = serde_json::to_value(s.prediction()).expect("predictions serialise");
                    value["model"] = serde_json::Value::String(provenance.to_owned());
                    ItemResult::ok(item.i, value)
                }
                None => ItemResult::failed(item.i, "no score returned"),
            }
        })
        .collect()
}

fn retry(e: StoreError) -> Outcome {
    Outcome::Retry(e.to_string())
}

/// Why a sentiment job's document cannot be its JSONL, when it is plainly
/// something else (a resume sent to the wrong task, an image): said in those
/// terms, rather than as the UTF-8 or JSON error the bytes would give.
fn not_jsonl(bytes: &[u8]) -> Option<String> {
    use ferry_documents::{ExtractError, Format};
    let what = match ferry_documents::detect_format(bytes, &ferry_documents::Limits::default()) {
        Ok(Format::Pdf) => "a PDF",
        Ok(Format::Docx) => "a DOCX document (or another zip archive)",
        Err(ExtractError::Unsupported(what)) => what,
        _ => return None,
    };
    Some(format!(
        "a sentiment job reads a JSONL document (one JSON string or {{\"text\": …}} per line), \
         and this document is {what}; to match a resume, create a \"resume-match\" job"
    ))
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
