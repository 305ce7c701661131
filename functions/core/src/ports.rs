//! Ports: what the API and the worker need from storage and queueing. The
//! SQLite adapters (local) and AWS adapters implement them.

use crate::job::{ItemResult, Job, JobId, JobStatus};
use crate::message::TaskMessage;
use async_trait::async_trait;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Worth retrying: a network blip, a throttle, a busy database.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// A record that cannot be read back; retrying will not help.
    #[error("corrupt record: {0}")]
    Corrupt(String),
}

#[derive(Debug, thiserror::Error)]
#[error("queue unavailable: {0}")]
pub struct QueueError(pub String);

/// The outcome of creating a job with an idempotency key.
#[derive(Debug, Clone, PartialEq)]
pub enum Created {
    New(Job),
    /// The same owner already created a job with this key: here it is.
    Existing(Job),
}

/// One chunk's stored results.
#[derive(Debug, Clone, PartialEq)]
pub struct ChunkResults {
    pub chunk: u32,
    pub items: Vec<ItemResult>,
}

#[async_trait]
pub trait JobStore: Send + Sync + 'static {
    async fn create_job(&self, job: &Job, idempotency_key: Option<&str>) -> Result<Created, StoreError>;

    /// Owner-scoped read: another owner's job is `None`, exactly like a missing one.
    async fn get_job(&self, owner: &str, id: JobId) -> Result<Option<Job>, StoreError>;

    /// Stored chunk results with `chunk >= from_chunk`, ascending, at most `max_chunks`.
    async fn get_results(&self, id: JobId, from_chunk: u32, max_chunks: u32) -> Result<Vec<ChunkResults>, StoreError>;

    /// The worker picks up a message: moves the job from queued to running and
    /// returns it as it now stands (possibly already canceled or failed). A
    /// message for a job nobody created (an upstream system wrote to the queue
    /// directly) creates the job from the message when `create_missing`, and
    /// is `None` otherwise.
    async fn begin(&self, message: &TaskMessage, create_missing: bool) -> Result<Option<Job>, StoreError>;

    /// Records one chunk's results exactly once and counts them into the job's
    /// progress; the job succeeds when every item is accounted for. Returns
    /// false, changing nothing, when the chunk was already recorded (a
    /// redelivered message or a racing worker) or the job is already final.
    async fn complete_chunk(&self, id: JobId, chunk: u32, results: &[ItemResult]) -> Result<bool, StoreError>;

    /// Fails a job that is not already final, with a reason the client sees.
    async fn fail_job(&self, id: JobId, reason: &str) -> Result<(), StoreError>;

    /// Jobs of one owner, newest first, optionally of one status; `before` is
    /// the last id of the previous page.
    async fn list_jobs(
        &self,
        owner: &str,
        status: Option<JobStatus>,
        before: Option<JobId>,
        limit: u32,
    ) -> Result<Vec<Job>, StoreError>;

    /// Cancels a job that is not final yet. `None` when the owner has no such job.
    async fn cancel_job(&self, owner: &str, id: JobId) -> Result<Option<Job>, StoreError>;
}

#[async_trait]
pub trait TaskQueue: Send + Sync + 'static {
    /// Sends every message or fails; a partial failure is reported as failure.
    async fn send(&self, messages: &[TaskMessage]) -> Result<(), QueueError>;
}
