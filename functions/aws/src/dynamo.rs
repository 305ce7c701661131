//! `JobStore` on one DynamoDB table (the `Table` of template.yaml).
//!
//! | item        | pk                    | sk                 | other attributes |
//! |-------------|-----------------------|--------------------|------------------|
//! | job         | `JOB#<id>`            | `JOB`              | owner, task, status, total, done, failed, chunks, error?, metadata? (JSON), created_at, updated_at (RFC 3339), callback_url?, deadline?, webhook? (JSON), webhook_status?, document?, gsi1pk = `OWNER#<owner>`, gsi1sk = `<id>`, expires_at |
//! | chunk       | `JOB#<id>`            | `CHUNK#<10 digits>`| results (JSON) or results_s3_key, ok, failed, expires_at |
//! | idempotency | `IDEM#<owner>#<key>`  | `IDEM`             | job_id, fingerprint, expires_at |
//!
//! A job with work stored but not yet queued (see `ferry_core::recovery`) also
//! has `dispatch?` (the message, JSON) and `recover_pk` = `RECOVER#<0-7>` plus
//! `recover_at` (epoch milliseconds): the sparse `by-recovery` index the
//! sweep queries, spread over eight partitions so that job creation never
//! writes one hot key.
//!
//! `expires_at` (epoch seconds) is the table's TTL attribute. Every change that
//! must happen once is a conditional write: a chunk is recorded with
//! `attribute_not_exists(sk)` in the same transaction that counts it into the
//! job, and no write ever moves a final status (except an operator's redrive,
//! which reopens a chunk that only holds failures). A job past `expires_at`
//! reads as missing before DynamoDB's TTL deletes it. Base-table reads are strongly
//! consistent; `list_jobs` reads the `by-owner` index, which is eventually
//! consistent (DynamoDB offers nothing else on a GSI).

use crate::describe;
use crate::s3::S3Blobs;
use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{
    AttributeValue, Put, ReturnValue, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};
use ferry_core::ports::IDEMPOTENCY_TTL;
use ferry_core::{
    Canceled, ChunkResults, Created, Idempotency, ItemResult, Job, JobId, JobStatus, JobStore, Progress, Recorded,
    StoreError, Task, WebhookState, WebhookStatus,
};
use std::collections::HashMap;
use std::time::Duration;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

type Item = HashMap<String, AttributeValue>;

/// How long chunk items and jobs an upstream message creates live, unless configured.
pub const DEFAULT_RETENTION: Duration = ferry_core::job::DEFAULT_RETENTION;
/// Chunk results whose JSON is larger than this go to S3 (an item holds at most 400 KB).
pub const INLINE_RESULTS_LIMIT: usize = 300 * 1024;

const JOB_SK: &str = "JOB";
const IDEM_SK: &str = "IDEM";
const OWNER_INDEX: &str = "by-owner";
const RECOVERY_INDEX: &str = "by-recovery";
/// Partitions of the recovery index.
const RECOVERY_SHARDS: u8 = 8;
const LAST_CHUNK_SK: &str = "CHUNK#9999999999";
/// Attempts of a transaction that DynamoDB cancelled because another one
/// touched the same items at the same time.
const CONFLICT_TRIES: u32 = 5;

/// The DynamoDB job store. Cheap to clone.
#[derive(Clone, Debug)]
pub struct DynamoStore {
    client: Client,
    blobs: S3Blobs,
    table: String,
    retention: Duration,
    inline_limit: usize,
}

impl DynamoStore {
    /// `table`: the single table; `bucket`: where chunk results too large for
    /// an item go (under `results/`).
    pub fn new(config: &SdkConfig, table: impl Into<String>, bucket: impl Into<String>) -> Self {
        Self::from_clients(crate::dynamodb_client(config), S3Blobs::new(config, bucket), table)
    }

    pub fn from_clients(client: Client, blobs: S3Blobs, table: impl Into<String>) -> Self {
        DynamoStore {
            client,
            blobs,
            table: table.into(),
            retention: DEFAULT_RETENTION,
            inline_limit: INLINE_RESULTS_LIMIT,
        }
    }

    /// How long job and chunk items are kept (default [`DEFAULT_RETENTION`]).
    pub fn with_retention(mut self, retention: Duration) -> Self {
        self.retention = retention;
        self
    }

    /// Largest results JSON kept inline in a chunk item (default
    /// [`INLINE_RESULTS_LIMIT`]); larger ones go to S3.
    pub fn with_inline_limit(mut self, bytes: usize) -> Self {
        self.inline_limit = bytes;
        self
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    fn expiry(&self, from: OffsetDateTime) -> AttributeValue {
        n((from + self.retention).unix_timestamp())
    }

    fn job_item(&self, job: &Job) -> Item {
        let mut item = job_key(job.id);
        let id = job.id.to_string();
        item.insert("owner".into(), s(&job.owner));
        item.insert("task".into(), s(job.task.as_str()));
        item.insert("status".into(), s(job.status.as_str()));
        item.insert("total".into(), n(job.progress.total));
        item.insert("done".into(), n(job.progress.done));
        item.insert("failed".into(), n(job.progress.failed));
        item.insert("chunks".into(), n(job.chunks));
        if let Some(error) = &job.error {
            item.insert("error".into(), s(error));
        }
        if let Some(metadata) = &job.metadata {
            item.insert("metadata".into(), s(&metadata.to_string()));
        }
        item.insert("created_at".into(), s(&rfc3339(job.created_at)));
        item.insert("updated_at".into(), s(&rfc3339(job.updated_at)));
        if let Some(url) = &job.callback_url {
            item.insert("callback_url".into(), s(url));
        }
        if let Some(deadline) = job.deadline {
            item.insert("deadline".into(), s(&rfc3339(deadline)));
        }
        if let Some(webhook) = &job.webhook {
            item.insert("webhook".into(), s(&serde_json::to_string(webhook).expect("webhook state serialises")));
            item.insert("webhook_status".into(), s(webhook.status.as_str()));
        }
        if let Some(document) = &job.document {
            item.insert("document".into(), s(document));
        }
        if let Some(dispatch) = &job.dispatch {
            item.insert("dispatch".into(), s(&serde_json::to_string(dispatch).expect("a dispatch serialises")));
        }
        if let Some(due) = job.recovery_due {
            item.insert("recover_pk".into(), s(&recover_pk(job.id)));
            item.insert("recover_at".into(), n(millis(due)));
        }
        item.insert("gsi1pk".into(), s(&format!("OWNER#{}", job.owner)));
        item.insert("gsi1sk".into(), s(&id));
        item.insert("expires_at".into(), n(job.expires_at.unix_timestamp()));
        item
    }

    fn put_job(&self, job: &Job) -> Result<Put, StoreError> {
        Put::builder()
            .table_name(&self.table)
            .set_item(Some(self.job_item(job)))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(build_error)
    }

    /// A strongly consistent read of the job item, whoever owns it.
    async fn load(&self, id: JobId) -> Result<Option<Job>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(job_key(id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| unavailable("GetItem", e))?;
        out.item.as_ref().map(job_from_item).transpose()
    }

    /// Puts a brand-new job item; false when one with its id already exists.
    async fn insert(&self, job: &Job) -> Result<bool, StoreError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(self.job_item(job)))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_conditional_check_failed_exception()) => Ok(false),
            Err(e) => Err(unavailable("PutItem", e)),
        }
    }

    /// Ends a job whose items are all accounted for: succeeded, or failed
    /// when every item failed. Runs after every chunk (new or already
    /// recorded), so a crash between counting the last chunk and this step is
    /// healed when the message is redelivered. Returns the job as it stands.
    async fn finish_if_complete(&self, id: JobId) -> Result<Option<Job>, StoreError> {
        let Some(job) = self.load(id).await? else { return Ok(None) };
        let Some(ending) = ferry_core::lifecycle::ending_of(job.status, &job.progress) else { return Ok(Some(job)) };
        let finished = self.set_status(id, ending.status, ending.error).await?;
        // None: another writer finished it first.
        match finished {
            Some(job) => Ok(Some(job)),
            None => self.load(id).await,
        }
    }

    /// `SET status` (and `error`) unless the job is already final. Returns the
    /// job as it now stands when the update happened, `None` when the
    /// condition failed (a final or missing job).
    async fn set_status(&self, id: JobId, status: JobStatus, error: Option<&str>) -> Result<Option<Job>, StoreError> {
        let mut update = String::from("SET #status = :next, updated_at = :now");
        let mut request = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(job_key(id)))
            .condition_expression("#status IN (:queued, :running)")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":next", s(status.as_str()))
            .expression_attribute_values(":now", s(&rfc3339(ferry_core::job::now())))
            .expression_attribute_values(":queued", s(JobStatus::Queued.as_str()))
            .expression_attribute_values(":running", s(JobStatus::Running.as_str()))
            .return_values(ReturnValue::AllNew);
        if let Some(error) = error {
            update.push_str(", #error = :error");
            request =
                request.expression_attribute_names("#error", "error").expression_attribute_values(":error", s(error));
        }
        match request.update_expression(update).send().await {
            Ok(out) => out.attributes.as_ref().map(job_from_item).transpose(),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_conditional_check_failed_exception()) => Ok(None),
            Err(e) => Err(unavailable("UpdateItem", e)),
        }
    }

    async fn chunk_from_item(&self, id: JobId, item: &Item) -> Result<ChunkResults, StoreError> {
        let sk = get_s(item, "sk")?;
        let chunk: u32 = sk
            .strip_prefix("CHUNK#")
            .and_then(|c| c.parse().ok())
            .ok_or_else(|| StoreError::Corrupt(format!("job {id}: bad chunk key {sk:?}")))?;
        let json = match (item.get("results"), item.get("results_s3_key")) {
            (Some(AttributeValue::S(json)), _) => json.clone(),
            (_, Some(AttributeValue::S(key))) => {
                let bytes = self.blobs.get(key).await.map_err(|e| StoreError::Unavailable(e.to_string()))?.ok_or_else(
                    || StoreError::Corrupt(format!("job {id} chunk {chunk}: s3 object {key} is missing")),
                )?;
                String::from_utf8(bytes)
                    .map_err(|e| StoreError::Corrupt(format!("job {id} chunk {chunk}: s3 object {key}: {e}")))?
            }
            _ => return Err(StoreError::Corrupt(format!("job {id} chunk {chunk}: no results"))),
        };
        let items: Vec<ItemResult> =
            serde_json::from_str(&json).map_err(|e| StoreError::Corrupt(format!("job {id} chunk {chunk}: {e}")))?;
        Ok(ChunkResults { chunk, items })
    }

    /// The results attribute of a chunk item: inline JSON, or a pointer to S3.
    async fn results_attribute(
        &self,
        id: JobId,
        chunk: u32,
        json: String,
    ) -> Result<(String, AttributeValue), StoreError> {
        if json.len() <= self.inline_limit {
            return Ok(("results".into(), AttributeValue::S(json)));
        }
        // Written before the conditional put: a racing worker or a redelivery
        // rewrites the same key with the same results, and an orphan object
        // (the transaction then failing) is harmless.
        let key = format!("results/{id}/{chunk}.json");
        self.blobs
            .put(&key, json.into_bytes(), Some("application/json"))
            .await
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        Ok(("results_s3_key".into(), AttributeValue::S(key)))
    }
}

#[async_trait]
impl JobStore for DynamoStore {
    async fn create_job(&self, job: &Job, idempotency: Option<&Idempotency>) -> Result<Created, StoreError> {
        let Some(idempotency) = idempotency else {
            if self.insert(job).await? {
                return Ok(Created::New(job.clone()));
            }
            // Same id twice (UUIDv7: a retried call with the same job).
            return match self.load(job.id).await? {
                Some(existing) if existing.owner == job.owner => Ok(Created::Existing(existing)),
                _ => Err(StoreError::Unavailable(format!("job id {} is taken", job.id))),
            };
        };
        let now = ferry_core::job::now();
        let idem_key = idem_key(&job.owner, &idempotency.key);
        let mut idem: Item = HashMap::new();
        idem.insert("pk".into(), s(&idem_key));
        idem.insert("sk".into(), s(IDEM_SK));
        idem.insert("job_id".into(), s(&job.id.to_string()));
        idem.insert("fingerprint".into(), s(&idempotency.fingerprint));
        idem.insert("expires_at".into(), n((now + IDEMPOTENCY_TTL).unix_timestamp()));
        // TTL deletion lags expiry by up to days: an expired record is free.
        let put_idem = Put::builder()
            .table_name(&self.table)
            .set_item(Some(idem))
            .condition_expression("attribute_not_exists(pk) OR expires_at < :now")
            .expression_attribute_values(":now", n(now.unix_timestamp()))
            .build()
            .map_err(build_error)?;
        let put_job = self.put_job(job)?;
        let items =
            vec![TransactWriteItem::builder().put(put_idem).build(), TransactWriteItem::builder().put(put_job).build()];
        match self.transact(items).await? {
            None => Ok(Created::New(job.clone())),
            Some(reasons) if failed(&reasons, 0) => self.replay(&idem_key, idempotency).await,
            Some(_) => Err(StoreError::Unavailable(format!("job id {} is taken", job.id))),
        }
    }

    async fn get_job(&self, owner: &str, id: JobId) -> Result<Option<Job>, StoreError> {
        let now = ferry_core::job::now();
        Ok(self.load(id).await?.filter(|job| job.owner == owner && !job.is_expired(now)))
    }

    async fn get_results(&self, id: JobId, from_chunk: u32, max_chunks: u32) -> Result<Vec<ChunkResults>, StoreError> {
        let mut chunks = Vec::new();
        let mut start = None;
        while chunks.len() < max_chunks as usize {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk AND sk BETWEEN :from AND :to")
                .expression_attribute_values(":pk", s(&job_pk(id)))
                .expression_attribute_values(":from", s(&chunk_sk(from_chunk)))
                .expression_attribute_values(":to", s(LAST_CHUNK_SK))
                .consistent_read(true)
                .limit((max_chunks as usize - chunks.len()) as i32)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| unavailable("Query", e))?;
            for item in out.items() {
                chunks.push(self.chunk_from_item(id, item).await?);
            }
            match out.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => break,
            }
        }
        Ok(chunks)
    }

    async fn begin(&self, id: JobId, missing: Option<&Job>) -> Result<Option<Job>, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(job_key(id)))
            .update_expression("SET #status = :running, updated_at = :now")
            .condition_expression("#status = :queued")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":running", s(JobStatus::Running.as_str()))
            .expression_attribute_values(":queued", s(JobStatus::Queued.as_str()))
            .expression_attribute_values(":now", s(&rfc3339(ferry_core::job::now())))
            .return_values(ReturnValue::AllNew)
            // Every message after a job's first finds it running: the failed
            // condition hands back the item, which saves a GetItem per message.
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        let existing = match result {
            Ok(out) => {
                let item = out.attributes.ok_or_else(|| StoreError::Corrupt(format!("job {id}: no attributes")))?;
                return job_from_item(&item).map(Some);
            }
            Err(e) => match e.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(failed)) => failed.item.clone(),
                _ => return Err(unavailable("UpdateItem", e)),
            },
        };
        if let Some(item) = existing {
            return job_from_item(&item).map(Some);
        }
        if let Some(job) = self.load(id).await? {
            return Ok(Some(job));
        }
        let Some(job) = missing else { return Ok(None) };
        if self.insert(job).await? {
            return Ok(Some(job.clone()));
        }
        // Another worker created it first.
        self.load(id)
            .await?
            .map(Some)
            .ok_or_else(|| StoreError::Unavailable(format!("job {id} vanished while beginning")))
    }

    async fn complete_chunk(&self, id: JobId, chunk: u32, results: &[ItemResult]) -> Result<Recorded, StoreError> {
        let json = serde_json::to_string(results).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let ok = results.iter().filter(|r| r.is_ok()).count() as u32;
        let failed_items = results.len() as u32 - ok;
        let now = ferry_core::job::now();
        let (results_name, results_value) = self.results_attribute(id, chunk, json).await?;

        let mut chunk_item: Item = HashMap::new();
        chunk_item.insert("pk".into(), s(&job_pk(id)));
        chunk_item.insert("sk".into(), s(&chunk_sk(chunk)));
        chunk_item.insert(results_name, results_value);
        chunk_item.insert("ok".into(), n(ok));
        chunk_item.insert("failed".into(), n(failed_items));
        chunk_item.insert("expires_at".into(), self.expiry(now));
        let put_chunk = Put::builder()
            .table_name(&self.table)
            .set_item(Some(chunk_item))
            .condition_expression("attribute_not_exists(sk)")
            .build()
            .map_err(build_error)?;
        let count = Update::builder()
            .table_name(&self.table)
            .set_key(Some(job_key(id)))
            .update_expression("ADD done :ok, failed :failed SET updated_at = :now, #status = :running")
            .condition_expression("#status IN (:queued, :running)")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":ok", n(ok))
            .expression_attribute_values(":failed", n(failed_items))
            .expression_attribute_values(":now", s(&rfc3339(now)))
            .expression_attribute_values(":queued", s(JobStatus::Queued.as_str()))
            .expression_attribute_values(":running", s(JobStatus::Running.as_str()))
            .build()
            .map_err(build_error)?;
        let items = vec![
            TransactWriteItem::builder().put(put_chunk).build(),
            TransactWriteItem::builder().update(count).build(),
        ];
        let counted = match self.transact(items).await? {
            None => true,
            // The chunk is already recorded: nothing to count, but the job may
            // still await its final status (a crash after the transaction).
            Some(reasons) if failed(&reasons, 0) => false,
            // The job is final or does not exist.
            Some(_) => return Ok(Recorded { counted: false, job: self.load(id).await? }),
        };
        Ok(Recorded { counted, job: self.finish_if_complete(id).await? })
    }

    async fn set_split(&self, id: JobId, total: u32, chunks: u32) -> Result<bool, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(job_key(id)))
            .update_expression("SET #total = :total, chunks = :chunks")
            .condition_expression(
                "#status IN (:queued, :running) AND (chunks = :zero OR (#total = :total AND chunks = :chunks))",
            )
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#total", "total")
            .expression_attribute_values(":total", n(total))
            .expression_attribute_values(":chunks", n(chunks))
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":queued", s(JobStatus::Queued.as_str()))
            .expression_attribute_values(":running", s(JobStatus::Running.as_str()))
            .send()
            .await;
        conditional(result.map(drop), "UpdateItem")
    }

    async fn reopen_chunk(&self, id: JobId, chunk: u32) -> Result<bool, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(&job_pk(id)))
            .key("sk", s(&chunk_sk(chunk)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| unavailable("GetItem", e))?;
        let Some(item) = out.item else { return Ok(false) };
        if get_n(&item, "ok")? > 0 {
            return Ok(false);
        }
        let failed_items = get_n(&item, "failed")?;
        let delete = aws_sdk_dynamodb::types::Delete::builder()
            .table_name(&self.table)
            .key("pk", s(&job_pk(id)))
            .key("sk", s(&chunk_sk(chunk)))
            .condition_expression("ok = :zero")
            .expression_attribute_values(":zero", n(0))
            .build()
            .map_err(build_error)?;
        let uncount = Update::builder()
            .table_name(&self.table)
            .set_key(Some(job_key(id)))
            .update_expression(
                "ADD failed :minus SET #status = :running, updated_at = :now \
                 REMOVE #error, webhook, webhook_status, recover_pk, recover_at",
            )
            .condition_expression("attribute_exists(pk) AND #status <> :canceled")
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#error", "error")
            .expression_attribute_values(":minus", n(-i64::from(failed_items)))
            .expression_attribute_values(":running", s(JobStatus::Running.as_str()))
            .expression_attribute_values(":canceled", s(JobStatus::Canceled.as_str()))
            .expression_attribute_values(":now", s(&rfc3339(ferry_core::job::now())))
            .build()
            .map_err(build_error)?;
        let items = vec![
            TransactWriteItem::builder().delete(delete).build(),
            TransactWriteItem::builder().update(uncount).build(),
        ];
        Ok(self.transact(items).await?.is_none())
    }

    async fn update_webhook(
        &self,
        id: JobId,
        expect: Option<WebhookStatus>,
        next: Option<&WebhookState>,
    ) -> Result<bool, StoreError> {
        let mut request = self.client.update_item().table_name(&self.table).set_key(Some(job_key(id)));
        request = match (next, next.and_then(WebhookState::recovery_due)) {
            (Some(_), Some(due)) => request
                .update_expression(
                    "SET webhook = :webhook, webhook_status = :next, recover_pk = :shard, recover_at = :due",
                )
                .expression_attribute_values(":shard", s(&recover_pk(id)))
                .expression_attribute_values(":due", n(millis(due))),
            (Some(_), None) => request
                .update_expression("SET webhook = :webhook, webhook_status = :next REMOVE recover_pk, recover_at"),
            (None, _) => request.update_expression("REMOVE webhook, webhook_status, recover_pk, recover_at"),
        };
        if let Some(next) = next {
            request = request
                .expression_attribute_values(
                    ":webhook",
                    s(&serde_json::to_string(next).expect("webhook state serialises")),
                )
                .expression_attribute_values(":next", s(next.status.as_str()));
        }
        request = match expect {
            Some(expect) => request
                .condition_expression("webhook_status = :expect")
                .expression_attribute_values(":expect", s(expect.as_str())),
            None => request.condition_expression("attribute_exists(pk) AND attribute_not_exists(webhook_status)"),
        };
        conditional(request.send().await.map(drop), "UpdateItem")
    }

    async fn fail_job(&self, id: JobId, reason: &str) -> Result<Option<Job>, StoreError> {
        self.set_status(id, JobStatus::Failed, Some(reason)).await
    }

    async fn list_jobs(
        &self,
        owner: &str,
        status: Option<JobStatus>,
        before: Option<JobId>,
        limit: u32,
    ) -> Result<Vec<Job>, StoreError> {
        let limit = limit as usize;
        let now = ferry_core::job::now();
        let mut jobs = Vec::with_capacity(limit.min(100));
        let mut start = None;
        while jobs.len() < limit {
            let mut query = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(OWNER_INDEX)
                .scan_index_forward(false)
                .expression_attribute_values(":owner", s(&format!("OWNER#{owner}")))
                .set_exclusive_start_key(start.take());
            query = match before {
                Some(before) => query
                    .key_condition_expression("gsi1pk = :owner AND gsi1sk < :before")
                    .expression_attribute_values(":before", s(&before.to_string())),
                None => query.key_condition_expression("gsi1pk = :owner"),
            };
            query = match status {
                // Limit counts items before the filter: read a page generously.
                Some(status) => query
                    .filter_expression("#status = :status")
                    .expression_attribute_names("#status", "status")
                    .expression_attribute_values(":status", s(status.as_str()))
                    .limit((limit - jobs.len()).max(100) as i32),
                None => query.limit((limit - jobs.len()) as i32),
            };
            let out = query.send().await.map_err(|e| unavailable("Query", e))?;
            for item in out.items() {
                let job = job_from_item(item)?;
                if jobs.len() < limit && !job.is_expired(now) {
                    jobs.push(job);
                }
            }
            match out.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => break,
            }
        }
        Ok(jobs)
    }

    async fn cancel_job(&self, owner: &str, id: JobId, reason: &str) -> Result<Option<Canceled>, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(job_key(id)))
            .update_expression("SET #status = :canceled, updated_at = :now, #error = :reason")
            .condition_expression("#owner = :owner AND #status IN (:queued, :running) AND expires_at > :epoch")
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#owner", "owner")
            .expression_attribute_names("#error", "error")
            .expression_attribute_values(":reason", s(reason))
            .expression_attribute_values(":epoch", n(ferry_core::job::now().unix_timestamp()))
            .expression_attribute_values(":canceled", s(JobStatus::Canceled.as_str()))
            .expression_attribute_values(":owner", s(owner))
            .expression_attribute_values(":now", s(&rfc3339(ferry_core::job::now())))
            .expression_attribute_values(":queued", s(JobStatus::Queued.as_str()))
            .expression_attribute_values(":running", s(JobStatus::Running.as_str()))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match result {
            Ok(out) => {
                let job = out.attributes.as_ref().map(job_from_item).transpose()?;
                Ok(job.map(|job| Canceled { job, now: true }))
            }
            // Final already, someone else's, or missing.
            Err(e) if e.as_service_error().is_some_and(|s| s.is_conditional_check_failed_exception()) => {
                Ok(self.get_job(owner, id).await?.map(|job| Canceled { job, now: false }))
            }
            Err(e) => Err(unavailable("UpdateItem", e)),
        }
    }

    async fn due_for_recovery(&self, before: OffsetDateTime, limit: u32) -> Result<Vec<Job>, StoreError> {
        let mut due: Vec<(i64, JobId)> = Vec::new();
        for shard in 0..RECOVERY_SHARDS {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(RECOVERY_INDEX)
                .key_condition_expression("recover_pk = :pk AND recover_at <= :before")
                .expression_attribute_values(":pk", s(&format!("RECOVER#{shard}")))
                .expression_attribute_values(":before", n(millis(before)))
                .limit(limit.max(1) as i32)
                .send()
                .await
                .map_err(|e| unavailable("Query", e))?;
            // The index holds keys only (a dispatch can be 200 KB).
            for item in out.items() {
                let id = get_s(item, "pk")?.strip_prefix("JOB#").and_then(|id| id.parse().ok());
                let at = get_i64(item, "recover_at")?;
                if let Some(id) = id {
                    due.push((at, id));
                }
            }
        }
        // The index is eventually consistent: read each job as it stands.
        due.sort();
        let now = ferry_core::job::now();
        let mut jobs = Vec::with_capacity(due.len().min(limit as usize));
        for (_, id) in due.into_iter().take(limit as usize) {
            if let Some(job) = self.load(id).await?.filter(|j| j.recovery_due.is_some() && !j.is_expired(now)) {
                jobs.push(job);
            }
        }
        Ok(jobs)
    }

    async fn reschedule_recovery(
        &self,
        id: JobId,
        expect: Option<OffsetDateTime>,
        next: Option<OffsetDateTime>,
    ) -> Result<bool, StoreError> {
        let mut request = self.client.update_item().table_name(&self.table).set_key(Some(job_key(id)));
        request = match next {
            Some(next) => request
                .update_expression("SET recover_pk = :shard, recover_at = :next")
                .expression_attribute_values(":shard", s(&recover_pk(id)))
                .expression_attribute_values(":next", n(millis(next))),
            // Nothing outstanding: the stored work goes too.
            None => request.update_expression("REMOVE recover_pk, recover_at, dispatch"),
        };
        request = match expect {
            Some(expect) => request
                .condition_expression("recover_at = :expect")
                .expression_attribute_values(":expect", n(millis(expect))),
            None => request.condition_expression("attribute_exists(pk) AND attribute_not_exists(recover_at)"),
        };
        conditional(request.send().await.map(drop), "UpdateItem")
    }
}

impl DynamoStore {
    /// The job an idempotency record points to: the same request gets it
    /// back, a different one is a mismatch.
    async fn replay(&self, idem_key: &str, idempotency: &Idempotency) -> Result<Created, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(idem_key))
            .key("sk", s(IDEM_SK))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| unavailable("GetItem", e))?;
        let item =
            out.item.ok_or_else(|| StoreError::Unavailable(format!("idempotency record {idem_key} vanished")))?;
        let id: JobId = get_s(&item, "job_id")?
            .parse()
            .map_err(|e| StoreError::Corrupt(format!("idempotency record {idem_key}: {e}")))?;
        let existing = self
            .load(id)
            .await?
            .ok_or_else(|| StoreError::Corrupt(format!("idempotency record {idem_key}: job {id} is missing")))?;
        let same = get_opt_s(&item, "fingerprint")? == Some(idempotency.fingerprint.as_str());
        Ok(if same { Created::Existing(existing) } else { Created::Mismatch(existing) })
    }

    /// Runs a transaction. `Ok(None)`: it committed; `Ok(Some(codes))`: a
    /// condition failed, with one cancellation code per item (`"None"` for the
    /// items that were fine). Conflicts with concurrent transactions are
    /// retried with back-off.
    async fn transact(&self, items: Vec<TransactWriteItem>) -> Result<Option<Vec<String>>, StoreError> {
        let mut delay = Duration::from_millis(25);
        for attempt in 1..=CONFLICT_TRIES {
            let result = self.client.transact_write_items().set_transact_items(Some(items.clone())).send().await;
            let error = match result {
                Ok(_) => return Ok(None),
                Err(e) => e,
            };
            let codes = match &error {
                SdkError::ServiceError(service) => match service.err() {
                    TransactWriteItemsError::TransactionCanceledException(cancel) => Some(
                        cancel
                            .cancellation_reasons()
                            .iter()
                            .map(|r| r.code().unwrap_or("None").to_owned())
                            .collect::<Vec<_>>(),
                    ),
                    TransactWriteItemsError::TransactionInProgressException(_) => {
                        Some(vec!["TransactionConflict".into()])
                    }
                    _ => None,
                },
                _ => None,
            };
            let Some(codes) = codes else { return Err(unavailable("TransactWriteItems", error)) };
            if codes.iter().any(|c| c == "ConditionalCheckFailed") {
                return Ok(Some(codes));
            }
            let conflict = codes.iter().any(|c| c == "TransactionConflict");
            if !conflict || attempt == CONFLICT_TRIES {
                return Err(StoreError::Unavailable(format!("TransactWriteItems cancelled: {codes:?}")));
            }
            tokio::time::sleep(delay).await;
            delay *= 2;
        }
        unreachable!("the last attempt returns")
    }
}

/// A conditional write's outcome: false when the condition did not hold.
fn conditional<E, R>(result: Result<(), SdkError<E, R>>, operation: &str) -> Result<bool, StoreError>
where
    E: std::error::Error + aws_sdk_dynamodb::error::ProvideErrorMetadata + 'static,
    R: std::fmt::Debug + 'static,
{
    match result {
        Ok(()) => Ok(true),
        Err(e) if e.as_service_error().and_then(|s| s.code()) == Some("ConditionalCheckFailedException") => Ok(false),
        Err(e) => Err(unavailable(operation, e)),
    }
}

fn failed(codes: &[String], index: usize) -> bool {
    codes.get(index).is_some_and(|c| c == "ConditionalCheckFailed")
}

pub(crate) fn s(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_owned())
}

fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// The recovery index partition of a job: spread by the id's last digit.
fn recover_pk(id: JobId) -> String {
    format!("RECOVER#{}", id.0.as_bytes()[15] % RECOVERY_SHARDS)
}

fn millis(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

fn job_pk(id: JobId) -> String {
    format!("JOB#{id}")
}

fn chunk_sk(chunk: u32) -> String {
    format!("CHUNK#{chunk:010}")
}

fn job_key(id: JobId) -> Item {
    HashMap::from([("pk".to_owned(), s(&job_pk(id))), ("sk".to_owned(), s(JOB_SK))])
}

/// `IDEM#<owner>#<key>`, with `%` and `#` escaped in the owner so that no two
/// (owner, key) pairs share a record.
fn idem_key(owner: &str, key: &str) -> String {
    let owner = owner.replace('%', "%25").replace('#', "%23");
    format!("IDEM#{owner}#{key}")
}

pub(crate) fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).expect("UTC timestamps always format")
}

fn build_error(e: aws_sdk_dynamodb::error::BuildError) -> StoreError {
    StoreError::Corrupt(format!("bad DynamoDB request: {e}"))
}

/// Every SDK failure (throttling, network, timeouts, a missing table) is
/// reported as unavailable: the SDK has already retried what it could.
pub(crate) fn unavailable<E, R>(operation: &str, e: SdkError<E, R>) -> StoreError
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    let text = format!("{operation}: {}", describe(&e));
    // DynamoDB's ValidationException for an item over 400 KB: a retry
    // writes the same item.
    if text.contains("Item size has exceeded") || text.contains("Item size to update has exceeded") {
        return StoreError::TooLarge(text);
    }
    StoreError::Unavailable(text)
}

fn get_s<'a>(item: &'a Item, name: &str) -> Result<&'a str, StoreError> {
    match item.get(name) {
        Some(AttributeValue::S(value)) => Ok(value),
        Some(other) => Err(StoreError::Corrupt(format!("attribute {name} is not a string: {other:?}"))),
        None => Err(StoreError::Corrupt(format!("attribute {name} is missing"))),
    }
}

fn get_opt_s<'a>(item: &'a Item, name: &str) -> Result<Option<&'a str>, StoreError> {
    match item.get(name) {
        None | Some(AttributeValue::Null(_)) => Ok(None),
        Some(_) => get_s(item, name).map(Some),
    }
}

/// A number attribute as `i64` (epoch milliseconds and the like).
fn get_i64(item: &Item, name: &str) -> Result<i64, StoreError> {
    match item.get(name) {
        Some(AttributeValue::N(v)) => v.parse().map_err(|_| StoreError::Corrupt(format!("{name} = {v:?}"))),
        other => Err(StoreError::Corrupt(format!("{name} is {other:?}, not a number"))),
    }
}

fn get_n(item: &Item, name: &str) -> Result<u32, StoreError> {
    match item.get(name) {
        Some(AttributeValue::N(value)) => {
            value.parse().map_err(|e| StoreError::Corrupt(format!("attribute {name} = {value:?}: {e}")))
        }
        Some(other) => Err(StoreError::Corrupt(format!("attribute {name} is not a number: {other:?}"))),
        None => Err(StoreError::Corrupt(format!("attribute {name} is missing"))),
    }
}

fn job_from_item(item: &Item) -> Result<Job, StoreError> {
    let pk = get_s(item, "pk")?;
    let corrupt = |what: String| StoreError::Corrupt(format!("{pk}: {what}"));
    let id: JobId = pk
        .strip_prefix("JOB#")
        .ok_or_else(|| corrupt("not a job key".into()))?
        .parse()
        .map_err(|e| corrupt(format!("bad job id: {e}")))?;
    let timestamp = |name: &str| -> Result<OffsetDateTime, StoreError> {
        OffsetDateTime::parse(get_s(item, name)?, &Rfc3339).map_err(|e| corrupt(format!("{name}: {e}")))
    };
    Ok(Job {
        id,
        owner: get_s(item, "owner")?.to_owned(),
        task: get_s(item, "task")?.parse::<Task>().map_err(corrupt)?,
        status: get_s(item, "status")?.parse::<JobStatus>().map_err(corrupt)?,
        progress: Progress { total: get_n(item, "total")?, done: get_n(item, "done")?, failed: get_n(item, "failed")? },
        chunks: get_n(item, "chunks")?,
        error: get_opt_s(item, "error")?.map(str::to_owned),
        metadata: get_opt_s(item, "metadata")?
            .map(serde_json::from_str)
            .transpose()
            .map_err(|e| corrupt(format!("metadata: {e}")))?,
        created_at: timestamp("created_at")?,
        updated_at: timestamp("updated_at")?,
        callback_url: get_opt_s(item, "callback_url")?.map(str::to_owned),
        deadline: get_opt_s(item, "deadline")?
            .map(|d| OffsetDateTime::parse(d, &Rfc3339).map_err(|e| corrupt(format!("deadline: {e}"))))
            .transpose()?,
        expires_at: match item.get("expires_at") {
            Some(AttributeValue::N(t)) => t
                .parse::<i64>()
                .ok()
                .and_then(|t| OffsetDateTime::from_unix_timestamp(t).ok())
                .ok_or_else(|| corrupt(format!("expires_at = {t:?}")))?,
            _ => return Err(corrupt("expires_at is missing".into())),
        },
        webhook: get_opt_s(item, "webhook")?
            .map(serde_json::from_str)
            .transpose()
            .map_err(|e| corrupt(format!("webhook: {e}")))?,
        document: get_opt_s(item, "document")?.map(str::to_owned),
        dispatch: get_opt_s(item, "dispatch")?
            .map(serde_json::from_str)
            .transpose()
            .map_err(|e| corrupt(format!("dispatch: {e}")))?,
        recovery_due: match item.get("recover_at") {
            None => None,
            Some(AttributeValue::N(t)) => Some(
                t.parse::<i128>()
                    .ok()
                    .and_then(|ms| OffsetDateTime::from_unix_timestamp_nanos(ms * 1_000_000).ok())
                    .ok_or_else(|| corrupt(format!("recover_at = {t:?}")))?,
            ),
            Some(other) => return Err(corrupt(format!("recover_at = {other:?}"))),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_items_round_trip() {
        let store = DynamoStore::from_clients(
            Client::from_conf(aws_sdk_dynamodb::Config::builder().build()),
            S3Blobs::from_client(aws_sdk_s3::Client::from_conf(aws_sdk_s3::Config::builder().build()), "b"),
            "t",
        );
        let mut job = Job::new("alice#1", Task::Sentiment, 3, 1);
        job.metadata = Some(serde_json::json!({"k": [1, 2]}));
        job.error = Some("boom".into());
        let item = store.job_item(&job);
        assert_eq!(job_from_item(&item).unwrap(), job);
        assert_eq!(item["gsi1sk"], s(&job.id.to_string()));
        let expires: i64 = item["expires_at"].as_n().unwrap().parse().unwrap();
        assert_eq!(expires, job.created_at.unix_timestamp() + 30 * 24 * 3600);

        let mut bad = item.clone();
        bad.insert("status".into(), s("lost"));
        assert!(matches!(job_from_item(&bad), Err(StoreError::Corrupt(_))));
    }

    #[test]
    fn keys_sort_and_do_not_collide() {
        assert!(chunk_sk(9) < chunk_sk(10));
        assert!(chunk_sk(u32::MAX).as_str() <= LAST_CHUNK_SK);
        assert_ne!(idem_key("a#b", "c"), idem_key("a", "b#c"));
        assert_eq!(idem_key("alice", "k1"), "IDEM#alice#k1");
    }
}
