//! `JobStore` on SQLite. Every change that must happen once (a chunk's results,
//! a status move) is one transaction with a guard in its WHERE clause.

use crate::db::{Cached, Db};
use async_trait::async_trait;
use ferry_core::job::DEFAULT_RETENTION;
use ferry_core::ports::IDEMPOTENCY_TTL;
use ferry_core::{
    Canceled, ChunkResults, Created, Idempotency, ItemResult, Job, JobId, JobStatus, JobStore, Progress, Recorded,
    StoreError, Task, WebhookState, WebhookStatus,
};
use rusqlite::{OptionalExtension, Row, Transaction, params};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio::sync::Notify;

pub struct SqliteStore {
    db: Db,
    /// Retention of jobs an upstream message creates (the API sets its own).
    retention: Duration,
    /// Requests waiting for jobs to end, woken by the write that ends them.
    waiting: Arc<Waiting>,
}

/// Who waits for which job: the worker and the API share this store in
/// `ferry serve`, so the write that ends a job wakes its waiters at once.
#[derive(Default)]
struct Waiting {
    jobs: Mutex<HashMap<JobId, Arc<Notify>>>,
}

impl Waiting {
    fn watch(&self, id: JobId) -> Arc<Notify> {
        Arc::clone(self.jobs.lock().unwrap_or_else(|p| p.into_inner()).entry(id).or_default())
    }

    /// The job may have ended: wake whoever waits for it.
    fn ended(&self, id: JobId) {
        if let Some(notify) = self.jobs.lock().unwrap_or_else(|p| p.into_inner()).remove(&id) {
            notify.notify_waiters();
        }
    }

    /// A waiter left: forget the job if nobody else waits for it.
    fn leave(&self, id: JobId, notify: Arc<Notify>) {
        let mut jobs = self.jobs.lock().unwrap_or_else(|p| p.into_inner());
        // Held by the map and by `notify` only.
        if jobs.get(&id).is_some_and(|n| Arc::ptr_eq(n, &notify)) && Arc::strong_count(&notify) == 2 {
            jobs.remove(&id);
        }
    }
}

/// Longest sleep between reads while waiting: a job ended by another
/// process on the same file (`ferry dlq redrive`) is still seen.
const WAIT_RECHECK: Duration = Duration::from_millis(500);

impl SqliteStore {
    pub fn new(db: Db) -> Self {
        SqliteStore { db, retention: DEFAULT_RETENTION, waiting: Arc::default() }
    }

    pub fn with_retention(mut self, retention: Duration) -> Self {
        self.retention = retention;
        self
    }

    /// Deletes jobs (and their results and keys) past their retention; they
    /// already read as missing. Returns how many jobs went.
    pub async fn sweep_expired(&self) -> Result<usize, StoreError> {
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let mut swept = 0;
        loop {
            let (jobs, keys) = self.db.call_blocking(move |conn| sweep_batch(conn, now, SWEEP_BATCH)).await?;
            swept += jobs;
            if jobs < SWEEP_BATCH && keys < SWEEP_BATCH {
                return Ok(swept);
            }
        }
    }
}

/// Expired jobs (with their results) and idempotency records deleted per
/// transaction. Requests run their statements on the same connection, so a
/// sweep holds them up one batch at a time, not for the whole backlog (30
/// days of jobs expiring at once after a long stop, say).
pub const SWEEP_BATCH: usize = 100;

/// Deletes up to `limit` expired jobs, their chunks, and up to `limit`
/// expired idempotency records, in one transaction.
fn sweep_batch(conn: &mut rusqlite::Connection, now: i64, limit: usize) -> rusqlite::Result<(usize, usize)> {
    let tx = conn.transaction()?;
    // The same ordered query twice in one transaction names the same jobs.
    let batch = "SELECT id FROM jobs WHERE expires_at <= ?1 ORDER BY id LIMIT ?2";
    tx.run(&format!("DELETE FROM chunks WHERE job_id IN ({batch})"), rusqlite::params![now, limit])?;
    let jobs = tx.run(&format!("DELETE FROM jobs WHERE id IN ({batch})"), rusqlite::params![now, limit])?;
    let keys = tx.run(
        "DELETE FROM idempotency WHERE rowid IN (SELECT rowid FROM idempotency WHERE expires_at <= ?1 LIMIT ?2)",
        rusqlite::params![now, limit],
    )?;
    tx.commit()?;
    Ok((jobs, keys))
}

const JOB_COLUMNS: &str = "id, owner, task, status, total, done, failed, chunks, error, metadata, created_at, \
     updated_at, callback_url, deadline, expires_at, webhook, document, dispatch, recovery_due";
/// Hides expired jobs from every read.
const LIVE: &str = "(expires_at IS NULL OR expires_at > unixepoch())";
const NOT_FINAL: &str = "status IN ('queued', 'running')";

fn conversion(e: impl std::error::Error + Send + Sync + 'static) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
}

fn invalid(what: String) -> rusqlite::Error {
    conversion(std::io::Error::new(std::io::ErrorKind::InvalidData, what))
}

fn timestamp(s: String) -> rusqlite::Result<OffsetDateTime> {
    OffsetDateTime::parse(&s, &Rfc3339).map_err(conversion)
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).expect("UTC timestamps always format")
}

fn job_from_row(row: &Row<'_>) -> rusqlite::Result<Job> {
    let id: String = row.get(0)?;
    let task: String = row.get(2)?;
    let status: String = row.get(3)?;
    let metadata: Option<String> = row.get(9)?;
    let created_at = timestamp(row.get(10)?)?;
    let deadline: Option<String> = row.get(13)?;
    let expires_at: Option<i64> = row.get(14)?;
    let webhook: Option<String> = row.get(15)?;
    let dispatch: Option<String> = row.get(17)?;
    let recovery_due: Option<i64> = row.get(18)?;
    Ok(Job {
        id: id.parse().map_err(conversion)?,
        owner: row.get(1)?,
        task: task.parse::<Task>().map_err(invalid)?,
        status: status.parse::<JobStatus>().map_err(invalid)?,
        progress: Progress { total: row.get(4)?, done: row.get(5)?, failed: row.get(6)? },
        chunks: row.get(7)?,
        error: row.get(8)?,
        metadata: metadata.map(|m| serde_json::from_str(&m)).transpose().map_err(conversion)?,
        created_at,
        updated_at: timestamp(row.get(11)?)?,
        callback_url: row.get(12)?,
        deadline: deadline.map(timestamp).transpose()?,
        expires_at: match expires_at {
            Some(t) => OffsetDateTime::from_unix_timestamp(t).map_err(conversion)?,
            None => created_at + DEFAULT_RETENTION,
        },
        webhook: webhook.map(|w| serde_json::from_str(&w)).transpose().map_err(conversion)?,
        document: row.get(16)?,
        dispatch: dispatch.map(|d| serde_json::from_str(&d)).transpose().map_err(conversion)?,
        recovery_due: recovery_due.map(from_millis).transpose()?,
    })
}

fn millis(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

fn from_millis(ms: i64) -> rusqlite::Result<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).map_err(conversion)
}

fn load(tx: &Transaction<'_>, id: &str) -> rusqlite::Result<Option<Job>> {
    tx.row(&format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = ?1 AND {LIVE}"), [id], job_from_row).optional()
}

fn insert(tx: &Transaction<'_>, job: &Job) -> rusqlite::Result<usize> {
    tx.run(
        "INSERT INTO jobs (id, owner, task, status, total, done, failed, chunks, error, metadata, created_at,
                           updated_at, callback_url, deadline, expires_at, webhook, webhook_status, document,
                           dispatch, recovery_due)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)
         ON CONFLICT DO NOTHING",
        params![
            job.id.to_string(),
            job.owner,
            job.task.as_str(),
            job.status.as_str(),
            job.progress.total,
            job.progress.done,
            job.progress.failed,
            job.chunks,
            job.error,
            job.metadata.as_ref().map(|m| m.to_string()),
            rfc3339(job.created_at),
            rfc3339(job.updated_at),
            job.callback_url,
            job.deadline.map(rfc3339),
            job.expires_at.unix_timestamp(),
            job.webhook.as_ref().map(|w| serde_json::to_string(w).expect("webhook state serialises")),
            job.webhook.as_ref().map(|w| w.status.as_str()),
            job.document,
            job.dispatch.as_ref().map(|d| serde_json::to_string(d).expect("a dispatch serialises")),
            job.recovery_due.map(millis),
        ],
    )
}

/// The idempotency record's job, when the key is live: the same request gets
/// it back, a different one is a mismatch.
fn idempotent_replay(tx: &Transaction<'_>, job: &Job, idem: &Idempotency) -> rusqlite::Result<Option<Created>> {
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let record: Option<(String, String)> = tx
        .row(
            "SELECT job_id, fingerprint FROM idempotency WHERE owner = ?1 AND key = ?2 AND expires_at > ?3",
            params![job.owner, idem.key, now],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let Some((id, fingerprint)) = record else { return Ok(None) };
    let Some(existing) = load(tx, &id)? else { return Ok(None) };
    Ok(Some(if fingerprint == idem.fingerprint { Created::Existing(existing) } else { Created::Mismatch(existing) }))
}

#[async_trait]
impl JobStore for SqliteStore {
    async fn create_job(&self, job: &Job, idempotency: Option<&Idempotency>) -> Result<Created, StoreError> {
        let job = job.clone();
        let idem = idempotency.cloned();
        self.db
            .call(move |conn| {
                let tx = conn.transaction()?;
                if let Some(idem) = &idem {
                    if let Some(replay) = idempotent_replay(&tx, &job, idem)? {
                        return Ok(replay);
                    }
                    let expires = (ferry_core::job::now() + IDEMPOTENCY_TTL).unix_timestamp();
                    tx.run(
                        "INSERT OR REPLACE INTO idempotency (owner, key, job_id, fingerprint, expires_at)
                         VALUES (?1, ?2, ?3, ?4, ?5)",
                        params![job.owner, idem.key, job.id.to_string(), idem.fingerprint, expires],
                    )?;
                }
                if insert(&tx, &job)? == 0 {
                    // The same id twice: a retried call with the same job.
                    let existing = load(&tx, &job.id.to_string())?.filter(|j| j.owner == job.owner);
                    return existing.map(Created::Existing).ok_or(rusqlite::Error::QueryReturnedNoRows);
                }
                tx.commit()?;
                Ok(Created::New(job))
            })
            .await
    }

    async fn get_job(&self, owner: &str, id: JobId) -> Result<Option<Job>, StoreError> {
        let (owner, id) = (owner.to_owned(), id.to_string());
        self.db
            .call(move |conn| {
                conn.row(
                    &format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = ?1 AND owner = ?2 AND {LIVE}"),
                    params![id, owner],
                    job_from_row,
                )
                .optional()
            })
            .await
    }

    async fn get_results(&self, id: JobId, from_chunk: u32, max_chunks: u32) -> Result<Vec<ChunkResults>, StoreError> {
        let id = id.to_string();
        let rows: Vec<(u32, String)> = self
            .db
            .call(move |conn| {
                let mut stmt = conn.prepare_cached(
                    "SELECT chunk, results FROM chunks WHERE job_id = ?1 AND chunk >= ?2 ORDER BY chunk LIMIT ?3",
                )?;
                let rows = stmt.query_map(params![id, from_chunk, max_chunks], |r| Ok((r.get(0)?, r.get(1)?)))?;
                rows.collect()
            })
            .await?;
        rows.into_iter()
            .map(|(chunk, json)| {
                let items: Vec<ItemResult> =
                    serde_json::from_str(&json).map_err(|e| StoreError::Corrupt(format!("chunk {chunk}: {e}")))?;
                Ok(ChunkResults { chunk, items })
            })
            .collect()
    }

    async fn begin(&self, id: JobId, missing: Option<&Job>) -> Result<Option<Job>, StoreError> {
        let missing = missing.cloned();
        self.db
            .call(move |conn| {
                let tx = conn.transaction()?;
                let id = id.to_string();
                let job = match load(&tx, &id)? {
                    Some(job) if job.status == JobStatus::Queued => {
                        tx.run(
                            "UPDATE jobs SET status = 'running', updated_at = ?2 WHERE id = ?1 AND status = 'queued'",
                            params![id, rfc3339(ferry_core::job::now())],
                        )?;
                        load(&tx, &id)?.expect("the job was just read in this transaction")
                    }
                    Some(job) => job,
                    None => match missing {
                        None => return Ok(None),
                        Some(job) => {
                            insert(&tx, &job)?;
                            job
                        }
                    },
                };
                tx.commit()?;
                Ok(Some(job))
            })
            .await
    }

    async fn complete_chunk(&self, id: JobId, chunk: u32, results: &[ItemResult]) -> Result<Recorded, StoreError> {
        let json = serde_json::to_string(results).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let ok = results.iter().filter(|r| r.is_ok()).count() as u32;
        let failed = results.len() as u32 - ok;
        let id = id.to_string();
        self.db
            .call(move |conn| {
                let tx = conn.transaction()?;
                let Some(job) = load(&tx, &id)? else { return Ok(Recorded { counted: false, job: None }) };
                if job.status.is_terminal() {
                    return Ok(Recorded { counted: false, job: Some(job) });
                }
                let inserted = tx.run(
                    "INSERT INTO chunks (job_id, chunk, results) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
                    params![id, chunk, json],
                )?;
                if inserted == 1 {
                    tx.run(
                        "UPDATE jobs SET done = done + ?2, failed = failed + ?3, updated_at = ?4, status = 'running'
                         WHERE id = ?1",
                        params![id, ok, failed, rfc3339(ferry_core::job::now())],
                    )?;
                }
                finish_if_complete(&tx, &id)?;
                let job = load(&tx, &id)?;
                tx.commit()?;
                Ok(Recorded { counted: inserted == 1, job })
            })
            .await
            .inspect(|recorded| {
                if let Some(job) = recorded.job.as_ref().filter(|j| j.status.is_terminal()) {
                    self.waiting.ended(job.id);
                }
            })
    }

    async fn set_split(&self, id: JobId, total: u32, chunks: u32) -> Result<bool, StoreError> {
        let id = id.to_string();
        self.db
            .call(move |conn| {
                let changed = conn.run(
                    &format!(
                        "UPDATE jobs SET total = ?2, chunks = ?3 WHERE id = ?1 AND {NOT_FINAL}
                         AND (chunks = 0 OR (total = ?2 AND chunks = ?3))"
                    ),
                    params![id, total, chunks],
                )?;
                Ok(changed == 1)
            })
            .await
    }

    async fn reopen_chunk(&self, id: JobId, chunk: u32) -> Result<bool, StoreError> {
        let id = id.to_string();
        self.db
            .call(move |conn| {
                let tx = conn.transaction()?;
                let json: Option<String> = tx
                    .row("SELECT results FROM chunks WHERE job_id = ?1 AND chunk = ?2", params![id, chunk], |r| {
                        r.get(0)
                    })
                    .optional()?;
                let Some(json) = json else { return Ok(false) };
                let items: Vec<ItemResult> = serde_json::from_str(&json).map_err(conversion)?;
                if items.iter().any(ItemResult::is_ok) {
                    return Ok(false);
                }
                tx.run("DELETE FROM chunks WHERE job_id = ?1 AND chunk = ?2", params![id, chunk])?;
                tx.run(
                    "UPDATE jobs SET failed = failed - ?2, updated_at = ?3, error = NULL, webhook = NULL,
                         webhook_status = NULL, recovery_due = NULL,
                         status = CASE WHEN status IN ('succeeded', 'failed') THEN 'running' ELSE status END
                     WHERE id = ?1",
                    params![id, items.len() as u32, rfc3339(ferry_core::job::now())],
                )?;
                tx.commit()?;
                Ok(true)
            })
            .await
    }

    async fn update_webhook(
        &self,
        id: JobId,
        expect: Option<WebhookStatus>,
        next: Option<&WebhookState>,
    ) -> Result<bool, StoreError> {
        let id = id.to_string();
        let expect = expect.map(WebhookStatus::as_str);
        let status = next.map(|n| n.status.as_str());
        let json = next.map(|n| serde_json::to_string(n).expect("webhook state serialises"));
        let due = next.and_then(WebhookState::recovery_due).map(millis);
        self.db
            .call(move |conn| {
                let changed = conn.run(
                    "UPDATE jobs SET webhook = ?3, webhook_status = ?4, recovery_due = ?5
                     WHERE id = ?1 AND webhook_status IS ?2",
                    params![id, expect, json, status, due],
                )?;
                Ok(changed == 1)
            })
            .await
    }

    async fn due_for_recovery(&self, before: OffsetDateTime, limit: u32) -> Result<Vec<Job>, StoreError> {
        let before = millis(before);
        self.db
            .call(move |conn| {
                let mut stmt = conn.prepare_cached(&format!(
                    "SELECT {JOB_COLUMNS} FROM jobs WHERE recovery_due IS NOT NULL AND recovery_due <= ?1 AND {LIVE}
                     ORDER BY recovery_due LIMIT ?2"
                ))?;
                let rows = stmt.query_map(params![before, limit], job_from_row)?;
                rows.collect()
            })
            .await
    }

    async fn reschedule_recovery(
        &self,
        id: JobId,
        expect: Option<OffsetDateTime>,
        next: Option<OffsetDateTime>,
    ) -> Result<bool, StoreError> {
        let (id, expect, next) = (id.to_string(), expect.map(millis), next.map(millis));
        self.db
            .call(move |conn| {
                // Cleared: nothing is outstanding, so the stored work goes too.
                let changed = conn.run(
                    "UPDATE jobs SET recovery_due = ?3, dispatch = CASE WHEN ?3 IS NULL THEN NULL ELSE dispatch END
                     WHERE id = ?1 AND recovery_due IS ?2",
                    params![id, expect, next],
                )?;
                Ok(changed == 1)
            })
            .await
    }

    async fn fail_job(&self, id: JobId, reason: &str) -> Result<Option<Job>, StoreError> {
        let job = id;
        let (id, reason) = (id.to_string(), reason.to_owned());
        let failed = self
            .db
            .call(move |conn| {
                let tx = conn.transaction()?;
                let changed = tx.run(
                    &format!(
                        "UPDATE jobs SET status = 'failed', error = ?2, updated_at = ?3 WHERE id = ?1 AND {NOT_FINAL}"
                    ),
                    params![id, reason, rfc3339(ferry_core::job::now())],
                )?;
                let failed = if changed == 1 { load(&tx, &id)? } else { None };
                tx.commit()?;
                Ok(failed)
            })
            .await;
        self.waiting.ended(job);
        failed
    }

    async fn list_jobs(
        &self,
        owner: &str,
        status: Option<JobStatus>,
        before: Option<JobId>,
        limit: u32,
    ) -> Result<Vec<Job>, StoreError> {
        let owner = owner.to_owned();
        let status = status.map(|s| s.as_str());
        let before = before.map(|b| b.to_string());
        self.db
            .call(move |conn| {
                let mut stmt = conn.prepare_cached(&format!(
                    "SELECT {JOB_COLUMNS} FROM jobs
                     WHERE owner = ?1 AND (?2 IS NULL OR status = ?2) AND (?3 IS NULL OR id < ?3) AND {LIVE}
                     ORDER BY id DESC LIMIT ?4"
                ))?;
                let rows = stmt.query_map(params![owner, status, before, limit], job_from_row)?;
                rows.collect()
            })
            .await
    }

    async fn cancel_job(&self, owner: &str, id: JobId, reason: &str) -> Result<Option<Canceled>, StoreError> {
        let (owner, id, reason) = (owner.to_owned(), id.to_string(), reason.to_owned());
        self.db
            .call(move |conn| {
                let tx = conn.transaction()?;
                let changed = tx.run(
                    &format!(
                        "UPDATE jobs SET status = 'canceled', error = ?3, updated_at = ?4
                         WHERE id = ?1 AND owner = ?2 AND {NOT_FINAL} AND {LIVE}"
                    ),
                    params![id, owner, reason, rfc3339(ferry_core::job::now())],
                )?;
                let job = load(&tx, &id)?.filter(|j| j.owner == owner);
                tx.commit()?;
                Ok(job.map(|job| Canceled { job, now: changed == 1 }))
            })
            .await
            .inspect(|canceled| {
                if let Some(canceled) = canceled {
                    self.waiting.ended(canceled.job.id);
                }
            })
    }

    async fn wait_for_final(&self, owner: &str, id: JobId, wait: Duration) -> Result<Option<Job>, StoreError> {
        let deadline = tokio::time::Instant::now() + wait;
        let notify = self.waiting.watch(id);
        let outcome = loop {
            // Armed before the read, so an end between the two is not missed.
            let ended = notify.notified();
            tokio::pin!(ended);
            ended.as_mut().enable();
            let job = match self.get_job(owner, id).await {
                Ok(job) => job,
                Err(e) => break Err(e),
            };
            let now = tokio::time::Instant::now();
            if job.as_ref().is_none_or(|j| j.status.is_terminal()) || now >= deadline {
                break Ok(job);
            }
            let _ = tokio::time::timeout(WAIT_RECHECK.min(deadline - now), ended).await;
        };
        self.waiting.leave(id, notify);
        outcome
    }
}

/// Ends a job whose items are all accounted for, by the one completion rule
/// ([`ferry_core::lifecycle::ending_of`]), in the transaction that counted.
fn finish_if_complete(tx: &Transaction<'_>, id: &str) -> rusqlite::Result<()> {
    let Some(job) = load(tx, id)? else { return Ok(()) };
    let Some(ending) = ferry_core::lifecycle::ending_of(job.status, &job.progress) else { return Ok(()) };
    tx.run(
        &format!(
            "UPDATE jobs SET updated_at = ?2, status = ?3, error = COALESCE(?4, error) WHERE id = ?1 AND {NOT_FINAL}"
        ),
        params![id, rfc3339(ferry_core::job::now()), ending.status.as_str(), ending.error],
    )?;
    Ok(())
}
