//! The Lambda face of the worker: an `SqsEvent` in, an `SqsBatchResponse` out.
//! Only messages that failed transiently are reported in `batchItemFailures`
//! (SQS redelivers just those); poison messages have already failed their job
//! and are acknowledged. The local AWS poller calls this same function. The
//! function's other event, the schedule of the outbox's recovery sweep,
//! comes through [`invoke`].

use crate::{Outcome, Received, Worker};
use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use serde_json::Value;
use std::time::Duration;

/// An invocation the function cannot handle (Lambda reports it as the
/// invocation's error), or a sweep that could not finish.
#[derive(Debug, thiserror::Error)]
pub enum InvocationError {
    #[error("not an SQS event: {0}")]
    NotSqs(#[source] serde_json::Error),
    #[error("not an EventBridge event: {0}")]
    NotEventBridge(#[source] serde_json::Error),
    #[error("unexpected EventBridge event {detail_type:?} from {source_name}")]
    UnexpectedEvent { detail_type: String, source_name: String },
    #[error("neither an SQS batch nor a scheduled event")]
    Unrecognised,
    #[error("response: {0}")]
    Response(#[source] serde_json::Error),
    #[error(transparent)]
    Recovery(#[from] ferry_core::OutboxError),
}

/// What the inference function is invoked with.
#[derive(Debug)]
pub enum Invocation {
    /// A batch from the jobs queue's event source.
    Sqs(SqsEvent),
    /// The EventBridge schedule that runs the recovery sweep.
    Scheduled(EventBridgeEvent),
}

impl Invocation {
    /// Tells the two apart by shape: SQS batches carry `Records`, EventBridge
    /// events a `source` and a `detail-type`.
    pub fn parse(payload: Value) -> Result<Invocation, InvocationError> {
        if payload.get("Records").is_some() {
            return serde_json::from_value(payload).map(Invocation::Sqs).map_err(InvocationError::NotSqs);
        }
        if payload.get("detail-type").is_some() {
            let event: EventBridgeEvent = serde_json::from_value(payload).map_err(InvocationError::NotEventBridge)?;
            if event.detail_type == "Scheduled Event" {
                return Ok(Invocation::Scheduled(event));
            }
            return Err(InvocationError::UnexpectedEvent { detail_type: event.detail_type, source_name: event.source });
        }
        Err(InvocationError::Unrecognised)
    }
}

/// Handles one invocation: a batch answers with its `batchItemFailures`, the
/// schedule with what the recovery sweep queued again.
pub async fn invoke(worker: &Worker, payload: Value, grace: Duration) -> Result<Value, InvocationError> {
    match Invocation::parse(payload)? {
        Invocation::Sqs(event) => {
            serde_json::to_value(handle_event(worker, event).await).map_err(InvocationError::Response)
        }
        Invocation::Scheduled(_) => {
            let swept = worker.recover(grace).await?;
            tracing::info!(
                dispatches = swept.dispatches,
                webhooks = swept.webhooks,
                cleared = swept.cleared,
                "recovery sweep"
            );
            Ok(serde_json::json!({
                "recovered": {"dispatches": swept.dispatches, "webhooks": swept.webhooks, "cleared": swept.cleared}
            }))
        }
    }
}

/// A queue message as the worker sees it.
/// How long the batch's oldest message waited on its queue: from SQS's
/// `SentTimestamp` (milliseconds since the epoch) to now.
fn oldest_wait(records: &[SqsMessage]) -> Option<std::time::Duration> {
    let sent = records.iter().filter_map(|r| r.attributes.get("SentTimestamp")?.parse::<u64>().ok()).min()?;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).ok()?.as_millis() as u64;
    Some(std::time::Duration::from_millis(now.saturating_sub(sent)))
}

pub fn received(message: &SqsMessage) -> Received {
    let receive_count = message.attributes.get("ApproximateReceiveCount").and_then(|c| c.parse().ok()).unwrap_or(1);
    Received {
        id: message.message_id.clone().unwrap_or_default(),
        body: message.body.clone().unwrap_or_default(),
        receive_count,
    }
}

pub async fn handle_event(worker: &Worker, event: SqsEvent) -> SqsBatchResponse {
    ferry_core::metrics::batch_received(event.records.len(), oldest_wait(&event.records));
    let batch: Vec<Received> = event.records.iter().map(received).collect();
    let outcomes = worker.handle(&batch).await;
    let mut response = SqsBatchResponse::default();
    response.batch_item_failures = batch
        .iter()
        .zip(&outcomes)
        .filter(|(_, outcome)| matches!(outcome, Outcome::Retry(_)))
        .map(|(received, _)| {
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = received.id.clone();
            failure
        })
        .collect();
    response
}
