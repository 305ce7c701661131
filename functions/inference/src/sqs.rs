//! The Lambda face of the worker: an `SqsEvent` in, an `SqsBatchResponse` out.
//! Only messages that failed transiently are reported in `batchItemFailures`
//! (SQS redelivers just those); poison messages have already failed their job
//! and are acknowledged. The local AWS poller calls this same function.

use crate::{Outcome, Received, Worker};
use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};

/// A queue message as the worker sees it.
pub fn received(message: &SqsMessage) -> Received {
    let receive_count = message.attributes.get("ApproximateReceiveCount").and_then(|c| c.parse().ok()).unwrap_or(1);
    Received {
        id: message.message_id.clone().unwrap_or_default(),
        body: message.body.clone().unwrap_or_default(),
        receive_count,
    }
}

pub async fn handle_event(worker: &Worker, event: SqsEvent) -> SqsBatchResponse {
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
