//! `TaskQueue` on SQS, plus the receive side a local poller uses to feed the
//! worker the same `SqsMessage`s Lambda's event source would.

use crate::describe;
use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_lambda_events::sqs::{SqsMessage, SqsMessageAttribute};
use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::{
    DeleteMessageBatchRequestEntry, MessageAttributeValue, MessageSystemAttributeName, SendMessageBatchRequestEntry,
};
use ferry_core::{DeadLetter, DeadLetterQueue, Lane, QueueError, TaskMessage, TaskQueue, WebhookMessage};
use std::collections::HashMap;
use std::sync::RwLock;
use std::time::Duration;

/// SQS's limit on one message (body plus attributes) and on one
/// `SendMessageBatch` request as a whole.
pub const MAX_ENTRY_BYTES: usize = 256 * 1024;
/// Entries per `SendMessageBatch` / `DeleteMessageBatch`.
const BATCH_ENTRIES: usize = 10;

/// A checked message, ready for a batch.
struct Entry {
    body: String,
    attributes: Vec<(&'static str, String)>,
    /// Bytes SQS counts: body plus attribute names, types and values.
    size: usize,
}

/// One SQS queue. It holds the current trace id, so it is not `Clone`: share
/// it behind an `Arc`.
#[derive(Debug)]
pub struct SqsQueue {
    client: Client,
    queue_url: String,
    /// Where webhook attempts go (their own queue and event source, so a slow
    /// receiver never holds up inference); `None`: the jobs queue.
    webhook_queue_url: Option<String>,
    /// Where work a client waits for goes ([`Lane::Interactive`]); `None`:
    /// the jobs queue.
    interactive_queue_url: Option<String>,
    region: Option<String>,
    trace_id: RwLock<Option<String>>,
    tries: u32,
    backoff: Duration,
}

impl SqsQueue {
    pub fn new(config: &SdkConfig, queue_url: impl Into<String>) -> Self {
        let mut queue = Self::from_client(crate::sqs_client(config), queue_url);
        queue.region = config.region().map(|r| r.to_string());
        queue
    }

    /// Sends webhook attempts to `url` instead of the jobs queue.
    pub fn with_webhook_queue(mut self, url: Option<String>) -> Self {
        self.webhook_queue_url = url;
        self
    }

    /// Sends work a client waits for to `url` instead of the jobs queue.
    pub fn with_interactive_queue(mut self, url: Option<String>) -> Self {
        self.interactive_queue_url = url;
        self
    }

    /// The same client on another queue (a lane's own).
    pub fn for_queue(&self, queue_url: impl Into<String>) -> Self {
        Self::from_client(self.client.clone(), queue_url)
    }

    pub fn from_client(client: Client, queue_url: impl Into<String>) -> Self {
        let region = client.config().region().map(|r| r.to_string());
        SqsQueue {
            client,
            queue_url: queue_url.into(),
            webhook_queue_url: None,
            interactive_queue_url: None,
            region,
            trace_id: RwLock::new(None),
            tries: 3,
            backoff: Duration::from_millis(100),
        }
    }

    /// Sets the trace id (e.g. Lambda's `_X_AMZN_TRACE_ID`) sent as the
    /// `trace_id` attribute of every message from now on.
    pub fn with_trace_id(self, trace_id: Option<String>) -> Self {
        self.set_trace_id(trace_id);
        self
    }

    /// Replaces the trace id, e.g. at the start of each Lambda invocation.
    pub fn set_trace_id(&self, trace_id: Option<String>) {
        *self.trace_id.write().unwrap_or_else(|e| e.into_inner()) = trace_id;
    }

    /// How often a batch entry SQS reports as failed is sent (default 3) and the
    /// first pause between tries (default 100 ms, doubling).
    pub fn with_retries(mut self, tries: u32, backoff: Duration) -> Self {
        self.tries = tries.max(1);
        self.backoff = backoff;
        self
    }

    pub fn queue_url(&self) -> &str {
        &self.queue_url
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// `arn:aws:sqs:<region>:<account>:<name>`, derived from the queue URL
    /// (`…/<account>/<name>`), as Lambda puts it in `eventSourceARN`.
    pub fn queue_arn(&self) -> Option<String> {
        let mut parts = self.queue_url.trim_end_matches('/').rsplit('/');
        let name = parts.next()?;
        let account = parts.next()?;
        Some(format!("arn:aws:sqs:{}:{account}:{name}", self.region.as_deref()?))
    }

    /// The queue of `lane`.
    fn lane_url(&self, lane: Lane) -> &str {
        match (lane, &self.interactive_queue_url) {
            (Lane::Interactive, Some(url)) => url,
            _ => &self.queue_url,
        }
    }

    async fn send_to(&self, url: &str, messages: &[TaskMessage], trace_id: Option<&str>) -> Result<(), QueueError> {
        // Build and check every entry before sending any: a message SQS would
        // refuse fails the whole call with nothing sent.
        let mut entries = Vec::with_capacity(messages.len());
        for message in messages {
            let body = message.to_json();
            let mut attributes =
                vec![("job_id", message.job_id.to_string()), ("task", message.task().as_str().to_owned())];
            if let Some(trace_id) = trace_id {
                attributes.push(("trace_id", trace_id.to_owned()));
            }
            // SQS counts the body plus every attribute's name, type and value.
            let size = body.len() + attributes.iter().map(|(k, v)| k.len() + "String".len() + v.len()).sum::<usize>();
            if size > MAX_ENTRY_BYTES {
                return Err(QueueError(format!(
                    "message for job {} chunk {} is {size} bytes, over SQS's {MAX_ENTRY_BYTES}; nothing was sent",
                    message.job_id, message.chunk
                )));
            }
            entries.push(Entry { body, attributes, size });
        }
        // Batches of at most 10 entries and 256 KiB in total.
        let mut batch = Vec::new();
        let mut batch_bytes = 0;
        for entry in entries {
            if batch.len() == BATCH_ENTRIES || (!batch.is_empty() && batch_bytes + entry.size > MAX_ENTRY_BYTES) {
                self.send_batch(url, std::mem::take(&mut batch)).await?;
                batch_bytes = 0;
            }
            batch_bytes += entry.size;
            batch.push(entry);
        }
        if !batch.is_empty() {
            self.send_batch(url, batch).await?;
        }
        Ok(())
    }

    /// One `SendMessageBatch`; entries SQS reports as failed are sent again,
    /// up to `tries` times in all. Entries that went through stay sent.
    async fn send_batch(&self, url: &str, batch: Vec<Entry>) -> Result<(), QueueError> {
        let mut pending: Vec<SendMessageBatchRequestEntry> = Vec::with_capacity(batch.len());
        for (i, Entry { body, attributes, .. }) in batch.into_iter().enumerate() {
            let mut entry = SendMessageBatchRequestEntry::builder().id(i.to_string()).message_body(body);
            for (name, value) in attributes {
                let value = MessageAttributeValue::builder()
                    .data_type("String")
                    .string_value(value)
                    .build()
                    .map_err(|e| QueueError(describe(&e)))?;
                entry = entry.message_attributes(name, value);
            }
            pending.push(entry.build().map_err(|e| QueueError(describe(&e)))?);
        }
        let mut delay = self.backoff;
        for attempt in 1..=self.tries {
            let out = self
                .client
                .send_message_batch()
                .queue_url(url)
                .set_entries(Some(pending.clone()))
                .send()
                .await
                .map_err(|e| QueueError(format!("SendMessageBatch: {}", describe(&e))))?;
            if out.failed.is_empty() {
                return Ok(());
            }
            if let Some(f) = out.failed.iter().find(|f| f.sender_fault) {
                return Err(QueueError(format!(
                    "SendMessageBatch refused an entry: {} {}",
                    f.code,
                    f.message.as_deref().unwrap_or("")
                )));
            }
            if attempt == self.tries {
                let f = &out.failed[0];
                return Err(QueueError(format!(
                    "SendMessageBatch: {} of the entries still failing after {attempt} tries: {} {}",
                    out.failed.len(),
                    f.code,
                    f.message.as_deref().unwrap_or("")
                )));
            }
            let failed: Vec<&str> = out.failed.iter().map(|f| f.id.as_str()).collect();
            pending.retain(|e| failed.contains(&e.id()));
            tracing::warn!(entries = pending.len(), attempt, "SendMessageBatch: retrying failed entries");
            tokio::time::sleep(delay).await;
            delay *= 2;
        }
        unreachable!("the last attempt returns")
    }

    /// Receives up to `max` (at most 10) messages, long-polling up to
    /// `wait_secs` (at most 20), shaped like the records of Lambda's SQS event
    /// (`attributes.ApproximateReceiveCount` included).
    pub async fn receive(&self, max: u32, wait_secs: u32) -> Result<Vec<SqsMessage>, QueueError> {
        let out = self
            .client
            .receive_message()
            .queue_url(&self.queue_url)
            .max_number_of_messages(max.clamp(1, 10) as i32)
            .wait_time_seconds(wait_secs.min(20) as i32)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .message_attribute_names("All")
            .send()
            .await
            .map_err(|e| QueueError(format!("ReceiveMessage: {}", describe(&e))))?;
        let arn = self.queue_arn();
        Ok(out.messages.unwrap_or_default().into_iter().map(|m| self.to_lambda(m, arn.clone())).collect())
    }

    fn to_lambda(&self, m: aws_sdk_sqs::types::Message, arn: Option<String>) -> SqsMessage {
        let mut message = SqsMessage::default();
        message.message_id = m.message_id;
        message.receipt_handle = m.receipt_handle;
        message.body = m.body;
        message.md5_of_body = m.md5_of_body;
        message.md5_of_message_attributes = m.md5_of_message_attributes;
        message.attributes = m
            .attributes
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| (k.as_str().to_owned(), v))
            .collect::<HashMap<_, _>>();
        message.message_attributes = m
            .message_attributes
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| {
                let mut attribute = SqsMessageAttribute::default();
                attribute.data_type = Some(v.data_type);
                attribute.string_value = v.string_value;
                attribute.string_list_values = v.string_list_values.unwrap_or_default();
                attribute.binary_value = v.binary_value.map(|b| {
                    let mut data = aws_lambda_events::encodings::Base64Data::default();
                    *data = b.into_inner();
                    data
                });
                (k, attribute)
            })
            .collect();
        message.event_source = Some("aws:sqs".into());
        message.event_source_arn = arn;
        message.aws_region = self.region.clone();
        message
    }

    /// Deletes received messages by receipt handle (batches of 10). Fails
    /// when any deletion failed; the others are done.
    pub async fn delete(&self, receipt_handles: &[String]) -> Result<(), QueueError> {
        for batch in receipt_handles.chunks(BATCH_ENTRIES) {
            let entries = batch
                .iter()
                .enumerate()
                .map(|(i, handle)| {
                    DeleteMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .receipt_handle(handle)
                        .build()
                        .map_err(|e| QueueError(describe(&e)))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let out = self
                .client
                .delete_message_batch()
                .queue_url(&self.queue_url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| QueueError(format!("DeleteMessageBatch: {}", describe(&e))))?;
            if let Some(f) = out.failed.first() {
                return Err(QueueError(format!(
                    "DeleteMessageBatch: {} entries failed: {} {}",
                    out.failed.len(),
                    f.code,
                    f.message.as_deref().unwrap_or("")
                )));
            }
        }
        Ok(())
    }

    /// Makes a received message visible again after `secs` (0: right away).
    pub async fn change_visibility(&self, receipt_handle: &str, secs: u32) -> Result<(), QueueError> {
        self.client
            .change_message_visibility()
            .queue_url(&self.queue_url)
            .receipt_handle(receipt_handle)
            .visibility_timeout(secs.min(43_200) as i32)
            .send()
            .await
            .map_err(|e| QueueError(format!("ChangeMessageVisibility: {}", describe(&e))))?;
        Ok(())
    }
}

#[async_trait]
impl TaskQueue for SqsQueue {
    /// Sends every message (with the stored trace id) or fails. On failure
    /// some batches may already be on the queue; the worker's exactly-once
    /// chunk accounting makes sending them all again safe.
    async fn send(&self, messages: &[TaskMessage]) -> Result<(), QueueError> {
        self.send_on(Lane::Bulk, messages).await
    }

    /// The interactive lane is its own queue when one is set.
    async fn send_on(&self, lane: Lane, messages: &[TaskMessage]) -> Result<(), QueueError> {
        let trace_id = self.trace_id.read().unwrap_or_else(|e| e.into_inner()).clone();
        self.send_to(self.lane_url(lane), messages, trace_id.as_deref()).await
    }

    /// One `SendMessage` with `DelaySeconds` (rounded up; SQS allows 0–900).
    async fn send_webhook(&self, message: &WebhookMessage, delay: Duration) -> Result<(), QueueError> {
        let delay = delay.as_millis().div_ceil(1000).min(900) as i32;
        let attribute = |value: String| {
            MessageAttributeValue::builder()
                .data_type("String")
                .string_value(value)
                .build()
                .map_err(|e| QueueError(describe(&e)))
        };
        self.client
            .send_message()
            .queue_url(self.webhook_queue_url.as_deref().unwrap_or(&self.queue_url))
            .message_body(message.to_json())
            .delay_seconds(delay)
            .message_attributes("job_id", attribute(message.job_id.to_string())?)
            .message_attributes("kind", attribute("webhook".into())?)
            .send()
            .await
            .map_err(|e| QueueError(format!("SendMessage: {}", describe(&e))))?;
        Ok(())
    }
}

/// The dead-letter queue, with the jobs queue its letters are redriven to.
#[derive(Debug)]
pub struct SqsDeadLetters {
    dlq: SqsQueue,
    jobs_queue_url: String,
}

/// How long `list` hides the letters it read (SQS cannot peek).
const LIST_VISIBILITY_SECS: i32 = 30;

impl SqsDeadLetters {
    pub fn new(config: &SdkConfig, dlq_url: impl Into<String>, jobs_queue_url: impl Into<String>) -> Self {
        SqsDeadLetters { dlq: SqsQueue::new(config, dlq_url), jobs_queue_url: jobs_queue_url.into() }
    }
}

#[async_trait]
impl DeadLetterQueue for SqsDeadLetters {
    /// Receives up to `max` letters, hiding them for 30 s; each carries its
    /// receipt handle for `redrive`.
    async fn list(&self, max: u32) -> Result<Vec<DeadLetter>, QueueError> {
        let mut letters: Vec<DeadLetter> = Vec::new();
        while letters.len() < max as usize {
            let out = self
                .dlq
                .client
                .receive_message()
                .queue_url(&self.dlq.queue_url)
                .max_number_of_messages((max as usize - letters.len()).min(10) as i32)
                .visibility_timeout(LIST_VISIBILITY_SECS)
                .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
                .send()
                .await
                .map_err(|e| QueueError(format!("ReceiveMessage: {}", describe(&e))))?;
            let messages = out.messages.unwrap_or_default();
            if messages.is_empty() {
                break;
            }
            for m in messages {
                let receive_count = m
                    .attributes()
                    .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
                    .and_then(|c| c.parse().ok())
                    .unwrap_or(0);
                letters.push(DeadLetter {
                    handle: m.receipt_handle.unwrap_or_default(),
                    message_id: m.message_id.unwrap_or_default(),
                    body: m.body.unwrap_or_default(),
                    receive_count,
                });
            }
        }
        Ok(letters)
    }

    async fn redrive(&self, letter: &DeadLetter) -> Result<(), QueueError> {
        self.dlq
            .client
            .send_message()
            .queue_url(&self.jobs_queue_url)
            .message_body(&letter.body)
            .send()
            .await
            .map_err(|e| QueueError(format!("SendMessage: {}", describe(&e))))?;
        self.dlq.delete(std::slice::from_ref(&letter.handle)).await
    }
}
