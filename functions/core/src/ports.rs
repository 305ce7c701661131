//! Ports: what the API and the worker need from storage and queueing. The
//! SQLite adapters (local) and AWS adapters implement them.

use crate::job::{ItemResult, Job, JobId, JobStatus, WebhookState, WebhookStatus};
use crate::message::{TaskMessage, Work};
use crate::webhook::WebhookMessage;
use async_trait::async_trait;
use std::time::Duration;
use time::OffsetDateTime;
use tokio::io::AsyncRead;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Worth retrying: a network blip, a throttle, a busy database.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// A record that cannot be read back; retrying will not help.
    #[error("corrupt record: {0}")]
    Corrupt(String),
    /// A write larger than the store takes; retrying will not help.
    #[error("too large to store: {0}")]
    TooLarge(String),
}

#[derive(Debug, thiserror::Error)]
#[error("queue unavailable: {0}")]
pub struct QueueError(pub String);

/// The outcome of creating a job with an idempotency key.
#[derive(Debug, Clone, PartialEq)]
pub enum Created {
    New(Job),
    /// The same owner already created a job with this key and the same
    /// request: here it is.
    Existing(Job),
    /// The key was used (within its lifetime) for a different request.
    Mismatch(Job),
}

/// An `Idempotency-Key` and a fingerprint of the request it came with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Idempotency {
    pub key: String,
    pub fingerprint: String,
}

/// How long an idempotency key maps to its job.
pub const IDEMPOTENCY_TTL: Duration = Duration::from_secs(24 * 3600);

/// What recording a chunk did.
#[derive(Debug, Clone, PartialEq)]
pub struct Recorded {
    /// False when the chunk was already recorded (a redelivery or a racing
    /// worker) or the job is final: nothing was counted.
    pub counted: bool,
    /// The job afterwards, when the store read it (it does when the job may
    /// have just finished).
    pub job: Option<Job>,
}

/// What canceling a job found.
#[derive(Debug, Clone, PartialEq)]
pub struct Canceled {
    /// The job as it stands after the call.
    pub job: Job,
    /// Whether this call canceled it (false: it had ended before, so a
    /// repeated cancel is not counted twice).
    pub now: bool,
}

/// One chunk's stored results.
#[derive(Debug, Clone, PartialEq)]
pub struct ChunkResults {
    pub chunk: u32,
    pub items: Vec<ItemResult>,
}

#[async_trait]
pub trait JobStore: Send + Sync + 'static {
    /// Creates a job; with an idempotency key, atomically with the key's
    /// record (which lives [`IDEMPOTENCY_TTL`]).
    async fn create_job(&self, job: &Job, idempotency: Option<&Idempotency>) -> Result<Created, StoreError>;

    /// Owner-scoped read: another owner's job is `None`, exactly like a missing one.
    async fn get_job(&self, owner: &str, id: JobId) -> Result<Option<Job>, StoreError>;

    /// Stored chunk results with `chunk >= from_chunk`, ascending, at most `max_chunks`.
    async fn get_results(&self, id: JobId, from_chunk: u32, max_chunks: u32) -> Result<Vec<ChunkResults>, StoreError>;

    /// The worker picks up a message for job `id`: moves the job from queued
    /// to running and returns it as it now stands (possibly already canceled
    /// or failed). When there is no such job (an upstream system wrote to the
    /// queue directly), `missing` is created in its place (once, however many
    /// workers race), and without it the answer is `None`.
    async fn begin(&self, id: JobId, missing: Option<&Job>) -> Result<Option<Job>, StoreError>;

    /// Records one chunk's results exactly once and counts them into the job's
    /// progress; the job succeeds when every item is accounted for (or fails
    /// when every item failed). Changes nothing when the chunk was already
    /// recorded (a redelivered message or a racing worker) or the job is final.
    async fn complete_chunk(&self, id: JobId, chunk: u32, results: &[ItemResult]) -> Result<Recorded, StoreError>;

    /// Sets how many items and chunks a document job has, once the worker has
    /// split its document. False when the job is final or already split with
    /// other numbers.
    async fn set_split(&self, id: JobId, total: u32, chunks: u32) -> Result<bool, StoreError>;

    /// Undoes a chunk whose items all failed (the worker gave up on it), so a
    /// redriven message can record it again: the chunk is removed, its items
    /// uncounted, and a succeeded or failed job runs again. False when there
    /// is no such chunk or it has results worth keeping.
    async fn reopen_chunk(&self, id: JobId, chunk: u32) -> Result<bool, StoreError>;

    /// Moves the job's webhook state from `expect` to `next`, only if it is
    /// `expect` now (`None`: no webhook state), and sets the job's recovery
    /// due time to `next`'s ([`WebhookState::recovery_due`]). False when it
    /// was not.
    async fn update_webhook(
        &self,
        id: JobId,
        expect: Option<WebhookStatus>,
        next: Option<&WebhookState>,
    ) -> Result<bool, StoreError>;

    /// Fails a job that is not already final, with a reason the client sees.
    /// Returns the job this call failed; `None` when it had ended already or
    /// does not exist.
    async fn fail_job(&self, id: JobId, reason: &str) -> Result<Option<Job>, StoreError>;

    /// Jobs of one owner, newest first, optionally of one status; `before` is
    /// the last id of the previous page.
    async fn list_jobs(
        &self,
        owner: &str,
        status: Option<JobStatus>,
        before: Option<JobId>,
        limit: u32,
    ) -> Result<Vec<Job>, StoreError>;

    /// Cancels a job that is not final yet, with the reason clients see.
    /// Returns the job as it stands and whether this call canceled it;
    /// `None` when the owner has no such job.
    async fn cancel_job(&self, owner: &str, id: JobId, reason: &str) -> Result<Option<Canceled>, StoreError>;

    /// The job once it is final (or gone), else as it stands after `wait`.
    /// By default the store is read at a growing interval ([`poll_until_final`]);
    /// a store that sees jobs end (SQLite, beside its worker in
    /// `ferry serve`) wakes the waiter when it happens instead.
    async fn wait_for_final(&self, owner: &str, id: JobId, wait: Duration) -> Result<Option<Job>, StoreError> {
        poll_until_final(self, owner, id, wait).await
    }

    /// Up to `limit` jobs whose recovery was due at or before `before`
    /// (see [`Job::recovery_due`]), any owner, oldest first where the store
    /// can order them.
    async fn due_for_recovery(&self, before: OffsetDateTime, limit: u32) -> Result<Vec<Job>, StoreError>;

    /// Moves the job's recovery due time from `expect` to `next`, only if it
    /// is `expect` now; `None` (nothing outstanding) also drops the job's
    /// [`Job::dispatch`]. False when it was not (someone else recovered it,
    /// or the webhook moved on meanwhile).
    async fn reschedule_recovery(
        &self,
        id: JobId,
        expect: Option<OffsetDateTime>,
        next: Option<OffsetDateTime>,
    ) -> Result<bool, StoreError>;
}

/// [`JobStore::wait_for_final`] by reading the job at a growing interval.
pub async fn poll_until_final<S: JobStore + ?Sized>(
    store: &S,
    owner: &str,
    id: JobId,
    wait: Duration,
) -> Result<Option<Job>, StoreError> {
    let started = tokio::time::Instant::now();
    let deadline = started + wait;
    loop {
        let job = store.get_job(owner, id).await?;
        let final_or_gone = job.as_ref().is_none_or(|j| j.status.is_terminal());
        let now = tokio::time::Instant::now();
        if final_or_gone || now >= deadline {
            return Ok(job);
        }
        tokio::time::sleep(poll_interval(now - started).min(deadline - now)).await;
    }
}

/// The pause before the next read of a job that has been waited on for
/// `waited`: a quarter of that, from 10 ms up to 1 s. Each read is a billed
/// request (a DynamoDB read in AWS), so a long wait reads rarely, yet it
/// learns of the end at most a quarter later than it happened: a 100 ms
/// sentiment call is read 10 times, a 29 s wait 51 times (a fixed 250 ms
/// interval read it ~120 times).
pub fn poll_interval(waited: Duration) -> Duration {
    (waited / 4).clamp(Duration::from_millis(10), Duration::from_secs(1))
}

/// Where a job's messages wait for the worker. A client holding its request
/// open for the answer should not wait behind a batching window or a bulk
/// job's chunks, so its work has a lane of its own (in AWS its own queue,
/// whose event source invokes the worker as soon as a message arrives).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lane {
    /// Work nobody is waiting on: batched for throughput.
    #[default]
    Bulk,
    /// Small work a client is waiting on.
    Interactive,
}

impl Lane {
    /// The lane for a job's first messages: interactive when the client
    /// waits for the answer and the job is one message of texts or one
    /// resume; bulk otherwise (several chunks, or a document the worker
    /// splits), so a large job sent with `Prefer: wait` cannot crowd the lane.
    pub fn for_job(client_waits: bool, messages: &[TaskMessage]) -> Lane {
        match messages {
            [one] if client_waits && !matches!(one.work, Work::Document(_)) => Lane::Interactive,
            _ => Lane::Bulk,
        }
    }
}

#[async_trait]
pub trait TaskQueue: Send + Sync + 'static {
    /// Sends every message on the bulk lane or fails; a partial failure is
    /// reported as failure.
    async fn send(&self, messages: &[TaskMessage]) -> Result<(), QueueError>;

    /// [`TaskQueue::send`] on `lane`; a queue without an interactive lane
    /// sends everything on its one.
    async fn send_on(&self, lane: Lane, messages: &[TaskMessage]) -> Result<(), QueueError> {
        let _ = lane;
        self.send(messages).await
    }

    /// Queues one webhook delivery attempt, visible after `delay` (at most 15 minutes).
    async fn send_webhook(&self, message: &WebhookMessage, delay: Duration) -> Result<(), QueueError>;
}

/// A message the queue set aside after too many deliveries.
#[derive(Debug, Clone, PartialEq)]
pub struct DeadLetter {
    /// What the queue needs to remove it (a row id, an SQS receipt handle).
    pub handle: String,
    pub message_id: String,
    pub body: String,
    pub receive_count: u32,
}

/// The dead-letter queue, for `ferry dlq list` and `ferry dlq redrive`.
#[async_trait]
pub trait DeadLetterQueue: Send + Sync {
    /// Up to `max` dead letters, left in place.
    async fn list(&self, max: u32) -> Result<Vec<DeadLetter>, QueueError>;
    /// Puts the letter's body back on the jobs queue and removes the letter.
    async fn redrive(&self, letter: &DeadLetter) -> Result<(), QueueError>;
}

#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    /// Network, throttling, permissions, a full disk: the call did not go through.
    #[error("blob store unavailable: {0}")]
    Unavailable(String),
    /// The object is larger than the caller accepts.
    #[error("object is {0} bytes, over the limit")]
    TooLarge(u64),
    /// A request that can never succeed (a bad key, an expiry too long, a
    /// body of another size than promised).
    #[error("invalid blob request: {0}")]
    Invalid(String),
    /// A streamed body with nothing in it: no empty object is stored.
    #[error("the body is empty")]
    Empty,
}

/// How many bytes a streamed put may take (never none: an empty body is
/// [`BlobError::Empty`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Size {
    /// Up to this many; more is [`BlobError::TooLarge`].
    AtMost(u64),
    /// Exactly this many (a signed upload); anything else is
    /// [`BlobError::Invalid`] and stores nothing.
    Exactly(u64),
}

impl Size {
    pub fn max(self) -> u64 {
        match self {
            Size::AtMost(n) | Size::Exactly(n) => n,
        }
    }

    /// Whether `n` bytes satisfy this (once the body has ended).
    pub fn check(self, n: u64) -> Result<(), BlobError> {
        match self {
            Size::Exactly(want) if n != want => Err(BlobError::Invalid(format!("the body was {n} bytes, not {want}"))),
            _ if n == 0 => Err(BlobError::Empty),
            Size::AtMost(max) if n > max => Err(BlobError::TooLarge(n)),
            _ => Ok(()),
        }
    }
}

/// Where uploaded documents live: S3 in AWS, files under the data directory locally.
#[async_trait]
pub trait BlobStore: Send + Sync + 'static {
    async fn put(&self, key: &str, bytes: Vec<u8>, content_type: Option<&str>) -> Result<(), BlobError>;
    /// Stores what `body` yields as `key` while it arrives, in bounded
    /// memory where the store allows; nothing is stored unless all of it
    /// fits `size`. Returns the number of bytes stored.
    async fn put_stream(
        &self,
        key: &str,
        body: &mut (dyn AsyncRead + Send + Unpin),
        size: Size,
        content_type: Option<&str>,
    ) -> Result<u64, BlobError>;
    /// The object's bytes; `None` when missing; `TooLarge` past `max_bytes`.
    async fn get(&self, key: &str, max_bytes: u64) -> Result<Option<Vec<u8>>, BlobError>;
    /// The object's size, `None` when missing.
    async fn size(&self, key: &str) -> Result<Option<u64>, BlobError>;
    /// A URL that accepts one `PUT` of at most `max_bytes` with this content
    /// type until `ttl` passes; `None` when the store has no such URLs (the
    /// API then offers its own upload route).
    async fn upload_url(
        &self,
        key: &str,
        content_type: &str,
        max_bytes: u64,
        ttl: Duration,
    ) -> Result<Option<String>, BlobError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads in a wait of `total`, by the rule of [`poll_interval`].
    fn reads_within(total: Duration) -> usize {
        let (mut at, mut reads) = (Duration::ZERO, 1);
        while at < total {
            at += poll_interval(at);
            reads += 1;
        }
        reads
    }

    #[test]
    fn waits_read_less_often_the_longer_they_last() {
        assert_eq!(poll_interval(Duration::ZERO), Duration::from_millis(10));
        assert_eq!(poll_interval(Duration::from_millis(400)), Duration::from_millis(100));
        assert_eq!(poll_interval(Duration::from_secs(20)), Duration::from_secs(1));
        assert!(
            (6..=10).contains(&reads_within(Duration::from_millis(100))),
            "{}",
            reads_within(Duration::from_millis(100))
        );
        let long = reads_within(Duration::from_secs(29));
        assert!((40..=55).contains(&long), "{long} reads in 29 s");
    }
    use crate::job::{Job, Task};
    use crate::message::{JobDescription, MAX_ITEMS_PER_MESSAGE, chunk_texts, document_message, resume_message};

    #[test]
    fn only_small_work_a_client_waits_for_takes_the_interactive_lane() {
        let job = Job::new("owner", Task::Sentiment, 1, 1);
        let one = chunk_texts(&job, &["great".to_owned()]);
        let many = chunk_texts(&job, &vec!["fine".to_owned(); MAX_ITEMS_PER_MESSAGE + 1]);
        assert_eq!(many.len(), 2);
        let resume = resume_message(&job, "uploads/r.pdf", JobDescription::Text("Rust".into()));
        let document = document_message(&job, "uploads/d.jsonl");

        assert_eq!(Lane::for_job(true, &one), Lane::Interactive);
        assert_eq!(Lane::for_job(true, std::slice::from_ref(&resume)), Lane::Interactive);
        assert_eq!(Lane::for_job(false, &one), Lane::Bulk);
        assert_eq!(Lane::for_job(false, &[resume]), Lane::Bulk);
        assert_eq!(Lane::for_job(true, &many), Lane::Bulk, "several chunks are bulk work");
        assert_eq!(Lane::for_job(true, &[document]), Lane::Bulk, "a document is split into bulk work");
        assert_eq!(Lane::for_job(true, &[]), Lane::Bulk);
    }
}
