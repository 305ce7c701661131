//! What a queue message is, decided once per delivery.

use super::Received;
use ferry_core::{Poison, TaskMessage, WebhookMessage};

/// A received message, parsed into the kind of work it is.
#[derive(Debug, Clone)]
pub enum Delivery {
    /// A job's work: a chunk of texts, a JSONL document or a resume.
    Task(TaskMessage),
    /// One attempt at a job's callback.
    Webhook(WebhookMessage),
    /// The bucket's notification of new uploads (or S3's test event).
    Uploads { kind: &'static str, body: String },
    /// Can never succeed: acknowledged, its job (if its owner's) failed.
    Poison(Poison),
}

impl Delivery {
    pub fn parse(received: &Received) -> Delivery {
        let body = &received.body;
        if let Some(kind) = s3_notification(body) {
            return Delivery::Uploads { kind, body: body.clone() };
        }
        match WebhookMessage::parse(body) {
            Some(Ok(message)) => return Delivery::Webhook(message),
            Some(Err(reason)) => return Delivery::Poison(Poison { job_id: None, owner: None, reason }),
            None => {}
        }
        match TaskMessage::parse(body) {
            Ok(message) => Delivery::Task(message),
            Err(poison) => Delivery::Poison(poison),
        }
    }
}

/// Recognises an S3 event notification (or the `s3:TestEvent` S3 sends when
/// notifications are configured) in a queue body.
fn s3_notification(body: &str) -> Option<&'static str> {
    let value: serde_json::Value = serde_json::from_str(body).ok()?;
    if value.get("Event").and_then(|e| e.as_str()) == Some("s3:TestEvent") {
        return Some("s3:TestEvent");
    }
    let from_s3 = value
        .get("Records")?
        .as_array()?
        .iter()
        .any(|r| r.get("eventSource").and_then(|s| s.as_str()) == Some("aws:s3"));
    from_s3.then_some("s3:ObjectCreated")
}
