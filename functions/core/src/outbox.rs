//! The outbox: queue work is stored before it is queued, so nothing is lost
//! to a crash in between.
//!
//! Whoever creates a job stores the messages that start it with the job
//! ([`Job::dispatch`], due at creation) in the same write that creates it,
//! then queues them, then marks them queued ([`create_and_queue`]); whoever
//! claims or retries a webhook stores its state (pending, due at its next
//! attempt), then queues the attempt, then marks it queued. Each stored
//! intent sets [`Job::recovery_due`] and each mark clears it. A crash, a
//! timeout or a queue outage in between leaves a due time nothing clears:
//! [`sweep`] finds those older than a grace and queues the work again.
//! Queuing twice is harmless: a chunk is counted once, and a webhook attempt
//! already made is dropped by its number.
//!
//! The sweep runs in `ferry serve` at start-up and every [`Recovery::every`],
//! and in AWS on an EventBridge schedule (the inference function).

use crate::job::{Dispatch, Job, JobId, WebhookStatus, now};
use crate::lifecycle;
use crate::message::TaskMessage;
use crate::ports::{BlobError, BlobStore, Created, Idempotency, JobStore, Lane, QueueError, StoreError, TaskQueue};
use crate::webhook::WebhookMessage;
use std::time::Duration;

/// How long stored work may wait to be marked queued before the sweep
/// queues it again: longer than any creator takes between the two (the API
/// function's timeout is 30 s).
pub const DEFAULT_GRACE: Duration = Duration::from_secs(60);
/// How often `ferry serve` sweeps (the template's schedule runs every minute).
pub const DEFAULT_EVERY: Duration = Duration::from_secs(60);
/// Largest single message kept inline with its job; larger dispatches are
/// staged in the blob store, which is cheaper than a big item read by every
/// status poll.
pub const MAX_INLINE_DISPATCH_BYTES: usize = 16 * 1024;
/// Largest staged dispatch read back: 10,000 texts of a 6 MiB body, escaped.
const MAX_STAGED_BYTES: u64 = 32 * 1024 * 1024;
/// Jobs read per store call.
const PAGE: u32 = 100;
/// Pages per sweep: a sweep ends even if the store keeps answering.
const MAX_PAGES: usize = 100;

/// When the sweep runs and what it waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recovery {
    pub grace: Duration,
    pub every: Duration,
}

impl Default for Recovery {
    fn default() -> Self {
        Recovery { grace: DEFAULT_GRACE, every: DEFAULT_EVERY }
    }
}

/// What one sweep queued again.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Swept {
    /// Jobs whose starting messages were queued again.
    pub dispatches: usize,
    /// Webhook attempts queued again.
    pub webhooks: usize,
    /// Due times cleared with nothing to queue (the job ended meanwhile).
    pub cleared: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Queue(#[from] QueueError),
    #[error(transparent)]
    Blob(#[from] BlobError),
    /// Staged work that cannot be read back; retrying will not help.
    #[error("staged work of job {0} is unreadable: {1}")]
    Corrupt(JobId, String),
}

/// Where a job's staged dispatch lives.
pub fn staged_key(id: JobId) -> String {
    format!("outbox/{id}.jsonl")
}

/// Creates `job` with `messages` as its dispatch (inline, or staged in
/// `blobs` first), queues them and marks them queued. A queue failure after
/// the job exists is not an error: the job is created and the sweep queues
/// its messages later, so callers answer as for any accepted job. The
/// messages go on `lane`; the sweep queues stranded work on the bulk lane
/// (whoever waited for it has stopped by then).
pub async fn create_and_queue(
    store: &dyn JobStore,
    queue: &dyn TaskQueue,
    blobs: &dyn BlobStore,
    job: Job,
    messages: Vec<TaskMessage>,
    idempotency: Option<&Idempotency>,
    lane: Lane,
) -> Result<Created, OutboxError> {
    let dispatch = match messages.as_slice() {
        [one] if one.to_json().len() <= MAX_INLINE_DISPATCH_BYTES => Dispatch::Message(one.clone()),
        _ => {
            let key = staged_key(job.id);
            let lines: String = messages.iter().map(|m| m.to_json() + "\n").collect();
            blobs.put(&key, lines.into_bytes(), Some("application/x-ndjson")).await?;
            Dispatch::Staged { key, messages: messages.len() as u32 }
        }
    };
    fail::fail_point!("outbox.after-stage", |_| std::process::abort());
    let job = match store.create_job(&job.dispatching(dispatch), idempotency).await? {
        Created::New(job) => job,
        // A replay: the first call queued it (or the sweep will).
        other => return Ok(other),
    };
    fail::fail_point!("outbox.after-create", |_| std::process::abort());
    if let Err(e) = queue.send_on(lane, &messages).await {
        tracing::warn!(job_id = %job.id, error = %e, "could not queue the job; the recovery sweep will");
        return Ok(Created::New(job));
    }
    fail::fail_point!("outbox.after-queue", |_| std::process::abort());
    mark_queued(store, &job).await;
    Ok(Created::New(job))
}

/// Records the job's stored work as queued: clears the due time it was
/// stored with. A failure is only logged, since the work is on the queue
/// either way: at worst the sweep queues it once more.
pub async fn mark_queued(store: &dyn JobStore, job: &Job) {
    if let Err(e) = store.reschedule_recovery(job.id, job.recovery_due, None).await {
        tracing::warn!(job_id = %job.id, error = %e, "could not mark queued work as queued");
    }
}

/// Queues again the work of every job whose due time is older than `grace`.
pub async fn sweep(
    store: &dyn JobStore,
    queue: &dyn TaskQueue,
    blobs: &dyn BlobStore,
    grace: Duration,
) -> Result<Swept, OutboxError> {
    let mut swept = Swept::default();
    for _ in 0..MAX_PAGES {
        let jobs = store.due_for_recovery(now() - grace, PAGE).await?;
        for job in &jobs {
            match recover(store, queue, blobs, job, &mut swept).await {
                Ok(()) => {}
                // One job's unreadable staging must not stop the others.
                Err(OutboxError::Corrupt(id, reason)) => {
                    tracing::error!(job_id = %id, %reason, "recovery: failing a job whose staged work is unreadable");
                    lifecycle::fail_and_count(store, id, "its queued work was lost").await?;
                    store.reschedule_recovery(id, job.recovery_due, None).await?;
                }
                Err(e) => return Err(e),
            }
        }
        if jobs.len() < PAGE as usize {
            break;
        }
    }
    Ok(swept)
}

async fn recover(
    store: &dyn JobStore,
    queue: &dyn TaskQueue,
    blobs: &dyn BlobStore,
    job: &Job,
    swept: &mut Swept,
) -> Result<(), OutboxError> {
    let pending_webhook = job.webhook.as_ref().filter(|w| w.status == WebhookStatus::Pending);
    match (&job.dispatch, pending_webhook) {
        (Some(dispatch), _) if !job.status.is_terminal() => {
            let messages = match dispatch {
                Dispatch::Message(message) => vec![message.clone()],
                Dispatch::Staged { key, .. } => staged(blobs, job.id, key).await?,
            };
            queue.send(&messages).await?;
            swept.dispatches += 1;
            tracing::info!(job_id = %job.id, messages = messages.len(), "recovery: queued the job's messages again");
        }
        (_, Some(webhook)) if job.status.is_terminal() => {
            queue.send_webhook(&WebhookMessage::new(job, webhook.attempts + 1), Duration::ZERO).await?;
            swept.webhooks += 1;
            tracing::info!(job_id = %job.id, attempt = webhook.attempts + 1, "recovery: queued a webhook attempt again");
        }
        _ => swept.cleared += 1,
    }
    store.reschedule_recovery(job.id, job.recovery_due, None).await?;
    Ok(())
}

async fn staged(blobs: &dyn BlobStore, id: JobId, key: &str) -> Result<Vec<TaskMessage>, OutboxError> {
    let corrupt = |reason: String| OutboxError::Corrupt(id, reason);
    let bytes = match blobs.get(key, MAX_STAGED_BYTES).await {
        Ok(Some(bytes)) => bytes,
        Ok(None) => return Err(corrupt(format!("{key} is missing"))),
        Err(BlobError::Unavailable(e)) => return Err(BlobError::Unavailable(e).into()),
        Err(e) => return Err(corrupt(e.to_string())),
    };
    let text = std::str::from_utf8(&bytes).map_err(|e| corrupt(e.to_string()))?;
    text.lines().map(|line| TaskMessage::parse(line).map_err(|p| corrupt(p.reason))).collect()
}
