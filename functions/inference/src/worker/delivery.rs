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
    /// The bucket's notification of new uploads (or S3's test event); the
    /// received body is the event.
    Uploads { kind: &'static str },
    /// Can never succeed: acknowledged, its job (if its owner's) failed.
    Poison(Poison),
}

impl Delivery {
    /// Reads the body as JSON once, then tells the kinds apart by shape.
    pub fn parse(received: &Received) -> Delivery {
        let value: serde_json::Value = match serde_json::from_str(&received.body) {
            Ok(value) => value,
            Err(e) => {
                let reason = format!("message is not JSON: {e}");
                return Delivery::Poison(Poison { job_id: None, owner: None, reason });
            }
        };
        if let Some(kind) = s3_notification(&value) {
            return Delivery::Uploads { kind };
        }
        match WebhookMessage::from_value(&value) {
            Some(Ok(message)) => return Delivery::Webhook(message),
            Some(Err(e)) => {
                let reason = format!("malformed webhook message: {e}");
                return Delivery::Poison(Poison { job_id: None, owner: None, reason });
            }
            None => {}
        }
        match TaskMessage::from_value(value) {
            Ok(message) => Delivery::Task(message),
            Err(poison) => Delivery::Poison(poison),
        }
    }
}

/// Recognises an S3 event notification (or the `s3:TestEvent` S3 sends when
/// notifications are configured).
fn s3_notification(value: &serde_json::Value) -> Option<&'static str> {
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
