//! `JobStore` on SQLite. Every change that must happen once (a chunk's results,
//! a status move) is one transaction with a guard in its WHERE clause.

use crate::db::Db;
use async_trait::async_trait;
use ferry_core::{
    ChunkResults, Created, ItemResult, Job, JobId, JobStatus, JobStore, Progress, StoreError, Task, TaskMessage,
};
use rusqlite::{OptionalExtension, Row, Transaction, params};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

pub struct SqliteStore {
    db: Db,
}

impl SqliteStore {
    pub fn new(db: Db) -> Self {
        SqliteStore { db }
    }
}

const JOB_COLUMNS: &str =
    "id, owner, task, status, total, done, failed, chunks, error, metadata, created_at, updated_at";
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
    Ok(Job {
        id: id.parse().map_err(conversion)?,
        owner: row.get(1)?,
        task: task.parse::<Task>().map_err(invalid)?,
        status: status.parse::<JobStatus>().map_err(invalid)?,
        progress: Progress { total: row.get(4)?, done: row.get(5)?, failed: row.get(6)? },
        chunks: row.get(7)?,
        error: row.get(8)?,
        metadata: metadata.map(|m| serde_json::from_str(&m)).transpose().map_err(conversion)?,
        created_at: timestamp(row.get(10)?)?,
        updated_at: timestamp(row.get(11)?)?,
    })
}

fn load(tx: &Transaction<'_>, id: &str) -> rusqlite::Result<Option<Job>> {
    tx.query_row(&format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = ?1"), [id], job_from_row).optional()
}

fn insert(tx: &Transaction<'_>, job: &Job, key: Option<&str>) -> rusqlite::Result<usize> {
    tx.execute(
        "INSERT INTO jobs (id, owner, task, status, total, done, failed, chunks, error, metadata, idempotency_key,
                           created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)
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
            key,
            rfc3339(job.created_at),
            rfc3339(job.updated_at),
        ],
    )
}

#[async_trait]
impl JobStore for SqliteStore {
    async fn create_job(&self, job: &Job, idempotency_key: Option<&str>) -> Result<Created, StoreError> {
        let job = job.clone();
        let key = idempotency_key.map(str::to_owned);
        self.db
            .call(move |conn| {
                let tx = conn.transaction()?;
                if insert(&tx, &job, key.as_deref())? == 1 {
                    tx.commit()?;
                    return Ok(Created::New(job));
                }
                let existing = tx.query_row(
                    &format!("SELECT {JOB_COLUMNS} FROM jobs WHERE owner = ?1 AND idempotency_key = ?2"),
                    params![job.owner, key],
                    job_from_row,
                )?;
                Ok(Created::Existing(existing))
            })
            .await
    }

    async fn get_job(&self, owner: &str, id: JobId) -> Result<Option<Job>, StoreError> {
        let (owner, id) = (owner.to_owned(), id.to_string());
        self.db
            .call(move |conn| {
                conn.query_row(
                    &format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = ?1 AND owner = ?2"),
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

    async fn begin(&self, message: &TaskMessage, create_missing: bool) -> Result<Option<Job>, StoreError> {
        let message = message.clone();
        self.db
            .call(move |conn| {
                let tx = conn.transaction()?;
                let id = message.job_id.to_string();
                let job = match load(&tx, &id)? {
                    Some(job) if job.status == JobStatus::Queued => {
                        tx.execute(
                            "UPDATE jobs SET status = 'running', updated_at = ?2 WHERE id = ?1 AND status = 'queued'",
                            params![id, rfc3339(ferry_core::job::now())],
                        )?;
                        load(&tx, &id)?.expect("the job was just read in this transaction")
                    }
                    Some(job) => job,
                    None if !create_missing => return Ok(None),
                    None => {
                        let total = message.total.unwrap_or(message.items.len() as u32);
                        let mut job = Job::new(&message.owner, message.task, total, 0);
                        job.id = message.job_id;
                        job.status = JobStatus::Running;
                        insert(&tx, &job, None)?;
                        job
                    }
                };
                tx.commit()?;
                Ok(Some(job))
            })
            .await
    }

    async fn complete_chunk(&self, id: JobId, chunk: u32, results: &[ItemResult]) -> Result<bool, StoreError> {
        let json = serde_json::to_string(results).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let ok = results.iter().filter(|r| r.is_ok()).count() as u32;
        let failed = results.len() as u32 - ok;
        let id = id.to_string();
        self.db
            .call(move |conn| {
                let tx = conn.transaction()?;
                let live: bool = tx
                    .query_row(&format!("SELECT 1 FROM jobs WHERE id = ?1 AND {NOT_FINAL}"), [&id], |_| Ok(true))
                    .optional()?
                    .unwrap_or(false);
                if !live {
                    return Ok(false);
                }
                let inserted = tx.execute(
                    "INSERT INTO chunks (job_id, chunk, results) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
                    params![id, chunk, json],
                )?;
                if inserted == 0 {
                    return Ok(false);
                }
                tx.execute(
                    &format!(
                        "UPDATE jobs SET done = done + ?2, failed = failed + ?3, updated_at = ?4,
                             status = CASE WHEN done + ?2 + failed + ?3 >= total THEN 'succeeded' ELSE 'running' END
                         WHERE id = ?1 AND {NOT_FINAL}"
                    ),
                    params![id, ok, failed, rfc3339(ferry_core::job::now())],
                )?;
                tx.commit()?;
                Ok(true)
            })
            .await
    }

    async fn fail_job(&self, id: JobId, reason: &str) -> Result<(), StoreError> {
        let (id, reason) = (id.to_string(), reason.to_owned());
        self.db
            .call(move |conn| {
                conn.execute(
                    &format!(
                        "UPDATE jobs SET status = 'failed', error = ?2, updated_at = ?3 WHERE id = ?1 AND {NOT_FINAL}"
                    ),
                    params![id, reason, rfc3339(ferry_core::job::now())],
                )
            })
            .await
            .map(drop)
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
                     WHERE owner = ?1 AND (?2 IS NULL OR status = ?2) AND (?3 IS NULL OR id < ?3)
                     ORDER BY id DESC LIMIT ?4"
                ))?;
                let rows = stmt.query_map(params![owner, status, before, limit], job_from_row)?;
                rows.collect()
            })
            .await
    }

    async fn cancel_job(&self, owner: &str, id: JobId) -> Result<Option<Job>, StoreError> {
        let (owner, id) = (owner.to_owned(), id.to_string());
        self.db
            .call(move |conn| {
                let tx = conn.transaction()?;
                tx.execute(
                    &format!(
                        "UPDATE jobs SET status = 'canceled', updated_at = ?3 WHERE id = ?1 AND owner = ?2 AND {NOT_FINAL}"
                    ),
                    params![id, owner, rfc3339(ferry_core::job::now())],
                )?;
                let job = load(&tx, &id)?.filter(|j| j.owner == owner);
                tx.commit()?;
                Ok(job)
            })
            .await
    }
}
