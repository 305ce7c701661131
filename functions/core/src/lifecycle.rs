//! The life of a job, in one place. A job is created (by the API, a bucket
//! notification, or the first message of an upstream system), admitted
//! message by message, counted chunk by chunk, and ends succeeded, failed
//! or canceled; once it has ended its callback is queued, once.
//!
//! - **Created** through the outbox ([`Jobs::create`]): the job and the
//!   messages that start it are stored in one write, then queued.
//! - **Admitted** ([`Jobs::admit`]): the worker's first message moves a
//!   queued job to running; a message for a job that is final, past its
//!   deadline, or someone else's is not run.
//! - **Counted** ([`Jobs::record`]): each chunk's results are stored once and
//!   counted into the job's progress. When the last item is accounted for,
//!   the job ends by [`Progress::ending`]: succeeded if any item succeeded,
//!   failed ("every item failed") otherwise. A chunk whose model run keeps
//!   failing is recorded, on the queue's last delivery, as failed items
//!   ([`Jobs::give_up`]), so the job still ends and the message goes to
//!   the dead-letter queue for a redrive.
//! - **Failed** ([`Jobs::fail`]) when its input can never be read, with the
//!   reason the client sees; **canceled** by its owner or its deadline
//!   ([`Jobs::cancel`], [`Jobs::cancel_if_overdue`]).
//! - **Notified** ([`Jobs::notify`]) after any of these.
//!
//! Statuses only move forward ([`JobStatus::can_move_to`]); the stores
//! enforce that with conditional writes, so racing workers, redeliveries
//! and a cancel all agree.

use crate::job::{ItemResult, Job, JobId, JobStatus, Progress, now};
use crate::message::{TaskMessage, Work};
use crate::metrics;
use crate::outbox::{self, OutboxError};
use crate::ports::{BlobStore, Canceled, Created, Idempotency, JobStore, Lane, Recorded, StoreError, TaskQueue};
use crate::webhook::notify_if_final;
use std::time::Duration;

/// The reason a job past its deadline is canceled with.
pub const DEADLINE_PASSED: &str = "deadline passed before the job finished";
/// What a chunk's items are recorded as when its results cannot be stored.
pub const RESULT_TOO_LARGE: &str = "the result is too large to store";

/// The job rules over the ports. Cheap to make: it borrows them.
#[derive(Clone, Copy)]
pub struct Jobs<'a> {
    pub store: &'a dyn JobStore,
    pub queue: &'a dyn TaskQueue,
    pub blobs: &'a dyn BlobStore,
    /// Whether callbacks are delivered here (a webhook secret is set):
    /// without, no callback is ever queued.
    pub webhooks: bool,
    /// How long a job created here is kept.
    pub retention: Duration,
}

/// What to do with a message the worker received.
#[derive(Debug, Clone, PartialEq)]
pub enum Admission {
    /// The job wants the message's work done.
    Run(Box<Job>),
    /// Nothing to do: the job has ended (or just did, past its deadline).
    Drop,
    /// The message can never run: acknowledge it, with this reason.
    Refuse(String),
}

#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The job's callback could not be queued (the claim is stored, so the
    /// recovery sweep queues it if this is not retried).
    #[error("could not queue the webhook: {0}")]
    Notify(#[source] OutboxError),
}

impl<'a> Jobs<'a> {
    /// Creates `job` with the messages that start it, through the outbox. A
    /// queue failure after the job exists is not an error: the recovery
    /// sweep queues its messages later. The messages go on `lane`.
    pub async fn create(
        &self,
        mut job: Job,
        messages: Vec<TaskMessage>,
        idempotency: Option<&Idempotency>,
        lane: Lane,
    ) -> Result<Created, OutboxError> {
        job.retain_for(self.retention);
        let (task, items) = (job.task, job.progress.total);
        let created =
            outbox::create_and_queue(self.store, self.queue, self.blobs, job, messages, idempotency, lane).await?;
        if matches!(created, Created::New(_)) {
            metrics::job_created(task, lane, items);
        }
        Ok(created)
    }

    /// The job a message is for, moved to running. A message for a job
    /// nobody created makes the job when `may_create` (an allowed upstream
    /// owner), if it carries its texts: a document or a resume is only run
    /// for a job the API created, which checked it first.
    pub async fn admit(&self, message: &TaskMessage, may_create: bool) -> Result<Admission, JobError> {
        let creates = may_create && matches!(message.work, Work::Texts(_));
        let missing = creates.then(|| upstream_job(message, self.retention));
        let Some(job) = self.store.begin(message.job_id, missing.as_ref()).await? else {
            return Ok(Admission::Refuse(format!(
                "no such job, and {} is not an allowed upstream source",
                message.owner
            )));
        };
        if job.owner != message.owner || job.task != message.task() {
            return Ok(Admission::Refuse("message does not match its job's owner or task".into()));
        }
        if job.status.is_terminal() {
            tracing::info!(status = job.status.as_str(), "job already final; dropping message");
            self.notify(&job).await?;
            return Ok(Admission::Drop);
        }
        if job.is_overdue(now()) {
            if let Some(canceled) = self.store.cancel_job(&job.owner, job.id, DEADLINE_PASSED).await? {
                count_if_ended_now(&canceled);
                self.notify(&canceled.job).await?;
            }
            tracing::info!("job canceled: {DEADLINE_PASSED}");
            return Ok(Admission::Drop);
        }
        Ok(Admission::Run(Box::new(job)))
    }

    /// Records one chunk's results, once, and queues the callback if that
    /// ended the job. Results too large to store are recorded as failed
    /// items instead, since the same results would be refused again.
    pub async fn record(&self, id: JobId, chunk: u32, results: &[ItemResult]) -> Result<Recorded, JobError> {
        let recorded = match self.store.complete_chunk(id, chunk, results).await {
            Err(StoreError::TooLarge(e)) if results.iter().any(ItemResult::is_ok) => {
                tracing::warn!(%id, chunk, error = %e, "results too large to store");
                let failed: Vec<ItemResult> =
                    results.iter().map(|r| ItemResult::failed(r.i, RESULT_TOO_LARGE)).collect();
                self.store.complete_chunk(id, chunk, &failed).await?
            }
            other => other?,
        };
        if let Some(job) = &recorded.job {
            if recorded.counted && job.status.is_terminal() {
                metrics::job_finished(job);
            }
            self.notify(job).await?;
        }
        Ok(recorded)
    }

    /// The queue's last delivery of a message failed too: a chunk's items
    /// are recorded as failed with the reason, so the job can end; a job
    /// whose one message is a document or a resume fails. The queue keeps
    /// the message (and dead-letters it), so a redrive can run it again.
    pub async fn give_up(&self, message: &TaskMessage, reason: &str) -> Result<(), JobError> {
        let Work::Texts(items) = &message.work else {
            return Ok(self.fail(message.job_id, reason).await?);
        };
        let results: Vec<ItemResult> = items.iter().map(|i| ItemResult::failed(i.i, reason)).collect();
        self.record(message.job_id, message.chunk, &results).await.map(drop)
    }

    /// Fails a job that has not ended, with the reason its owner sees.
    pub async fn fail(&self, id: JobId, reason: &str) -> Result<(), StoreError> {
        tracing::warn!(job_id = %id, %reason, "failing the job");
        fail_and_count(self.store, id, reason).await
    }

    /// Cancels the owner's job if it has not ended and queues its callback.
    /// `None`: the owner has no such job. The callback is best effort here:
    /// a failure to queue it is logged, and the claim it stored leaves it to
    /// the recovery sweep.
    pub async fn cancel(&self, owner: &str, id: JobId, reason: &str) -> Result<Option<Job>, StoreError> {
        let Some(canceled) = self.store.cancel_job(owner, id, reason).await? else {
            return Ok(None);
        };
        count_if_ended_now(&canceled);
        if let Err(e) = self.notify(&canceled.job).await {
            tracing::warn!(job_id = %id, error = %e, "could not queue the webhook");
        }
        Ok(Some(canceled.job))
    }

    /// A job past its deadline is canceled when anyone looks at it, so a
    /// client never sees it running after its deadline. `None`: it is gone.
    pub async fn cancel_if_overdue(&self, job: Job) -> Result<Option<Job>, StoreError> {
        if !job.is_overdue(now()) {
            return Ok(Some(job));
        }
        self.cancel(&job.owner, job.id, DEADLINE_PASSED).await
    }

    /// The job once it has ended, or as it stands after `wait` (`None`: as
    /// it is now). `Prefer: wait` on creation and on reads.
    pub async fn settled(&self, job: Job, wait: Option<Duration>) -> Result<Job, StoreError> {
        match wait {
            Some(wait) if !job.status.is_terminal() => {
                Ok(self.store.wait_for_final(&job.owner, job.id, wait).await?.unwrap_or(job))
            }
            _ => Ok(job),
        }
    }

    /// Queues the job's callback if it has ended and has one nobody queued yet.
    pub async fn notify(&self, job: &Job) -> Result<(), JobError> {
        if !self.webhooks {
            return Ok(());
        }
        if notify_if_final(self.store, self.queue, job).await.map_err(JobError::Notify)? {
            tracing::info!(job_id = %job.id, "webhook queued");
        }
        Ok(())
    }
}

/// Fails a job that has not ended, counting it as finished if this call
/// ended it ([`Jobs::fail`], and the recovery sweep's lost work).
pub(crate) async fn fail_and_count(store: &dyn JobStore, id: JobId, reason: &str) -> Result<(), StoreError> {
    if let Some(failed) = store.fail_job(id, reason).await? {
        metrics::job_finished(&failed);
    }
    Ok(())
}

/// A job counts as finished once, when the call that ended it returns.
fn count_if_ended_now(canceled: &Canceled) {
    if canceled.now {
        metrics::job_finished(&canceled.job);
    }
}

/// The job an upstream system's first message creates: running, owned by
/// the message's owner, with the message's `total` (or its items).
pub fn upstream_job(message: &TaskMessage, retention: Duration) -> Job {
    let mut job = Job::new(&message.owner, message.task(), message.job_total(), 0);
    job.id = message.job_id;
    job.status = JobStatus::Running;
    job.retain_for(retention);
    job
}

/// Whether a job with this progress and status ends now, and how: the one
/// completion rule both stores apply.
pub fn ending_of(status: JobStatus, progress: &Progress) -> Option<crate::job::Ending> {
    progress.ending().filter(|ending| status.can_move_to(ending.status))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_ends_when_every_item_is_accounted_for() {
        let p = |total, done, failed| Progress { total, done, failed };
        assert_eq!(ending_of(JobStatus::Running, &p(3, 2, 0)), None);
        assert_eq!(ending_of(JobStatus::Running, &p(3, 2, 1)).unwrap().status, JobStatus::Succeeded);
        let all_failed = ending_of(JobStatus::Running, &p(3, 0, 3)).unwrap();
        assert_eq!((all_failed.status, all_failed.error), (JobStatus::Failed, Some("every item failed")));
        // A document not split yet has no items and is not complete.
        assert_eq!(ending_of(JobStatus::Running, &p(0, 0, 0)), None);
        // An ended job never moves again.
        assert_eq!(ending_of(JobStatus::Canceled, &p(3, 3, 0)), None);
        assert_eq!(ending_of(JobStatus::Queued, &p(1, 1, 0)).unwrap().status, JobStatus::Succeeded);
    }
}
