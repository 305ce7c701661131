//! Webhooks: the queue message that carries one delivery attempt, each
//! owner's signing secret, and the retry schedule. Delivery itself (HTTP,
//! Standard Webhooks signatures) is the worker's; claiming a job's callback
//! is here so the API (on cancel) and the worker (on completion) share it.

use crate::job::{Job, JobId, WebhookState};
use crate::ports::{JobStore, TaskQueue};
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::time::Duration;

/// `kind` of a webhook message on the jobs queue; task messages have none.
pub const WEBHOOK_KIND: &str = "webhook";

/// One delivery attempt, queued (with a delay for retries).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookMessage {
    pub v: u32,
    pub kind: String,
    pub job_id: JobId,
    pub owner: String,
    /// 1 for the first attempt.
    pub attempt: u32,
}

impl WebhookMessage {
    pub fn new(job: &Job, attempt: u32) -> Self {
        WebhookMessage { v: 1, kind: WEBHOOK_KIND.into(), job_id: job.id, owner: job.owner.clone(), attempt }
    }

    /// `Some` when the body is a webhook message (it says `"kind": "webhook"`).
    pub fn parse(body: &str) -> Option<Result<WebhookMessage, serde_json::Error>> {
        WebhookMessage::from_value(&serde_json::from_str(body).ok()?)
    }

    /// [`WebhookMessage::parse`] of a body already read as JSON.
    pub fn from_value(value: &serde_json::Value) -> Option<Result<WebhookMessage, serde_json::Error>> {
        if value.get("kind").and_then(|k| k.as_str()) != Some(WEBHOOK_KIND) {
            return None;
        }
        Some(WebhookMessage::deserialize(value))
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a WebhookMessage always serialises")
    }
}

/// A webhook master secret under 32 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("must be at least 32 bytes")]
pub struct ShortSecret;

/// Webhook configuration shared by the API and the worker.
#[derive(Clone)]
pub struct WebhookConfig {
    /// Master key; each owner's secret is derived from it.
    master: Vec<u8>,
    pub max_attempts: u32,
    /// First retry delay; doubles per attempt, with jitter, capped at 15 min
    /// (SQS's longest message delay).
    pub backoff_base: Duration,
}

impl std::fmt::Debug for WebhookConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookConfig")
            .field("max_attempts", &self.max_attempts)
            .field("backoff_base", &self.backoff_base)
            .finish_non_exhaustive()
    }
}

pub const MAX_BACKOFF: Duration = Duration::from_secs(900);

impl WebhookConfig {
    /// A master key of at least 32 bytes; shorter keys are refused.
    pub fn new(master: impl Into<Vec<u8>>) -> Result<WebhookConfig, ShortSecret> {
        let master = master.into();
        if master.len() < 32 {
            return Err(ShortSecret);
        }
        Ok(WebhookConfig { master, max_attempts: 8, backoff_base: Duration::from_secs(5) })
    }

    /// The owner's Standard Webhooks secret (`whsec_` + base64 of 32 bytes):
    /// HMAC-SHA256 of the owner under the master key, so nothing per owner
    /// is stored and rotating the master rotates every owner's secret.
    pub fn owner_secret(&self, owner: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.master).expect("HMAC takes keys of any length");
        mac.update(b"ferry-webhook-v1:");
        mac.update(owner.as_bytes());
        let key = mac.finalize().into_bytes();
        format!("whsec_{}", base64::engine::general_purpose::STANDARD.encode(key))
    }

    /// Delay before attempt `next` (2, 3, …): `base * 2^(next-2)`, scaled by
    /// a jitter factor in [0.5, 1.0] so retries of many jobs spread out.
    pub fn backoff(&self, next: u32, jitter: f64) -> Duration {
        let exp = self.backoff_base.saturating_mul(1u32 << next.saturating_sub(2).min(16));
        exp.min(MAX_BACKOFF).mul_f64(0.5 + 0.5 * jitter.clamp(0.0, 1.0))
    }
}

/// A fresh jitter factor in [0, 1).
pub fn jitter() -> f64 {
    let mut b = [0u8; 4];
    if getrandom::fill(&mut b).is_err() {
        return 0.5;
    }
    f64::from(u32::from_le_bytes(b)) / f64::from(u32::MAX)
}

/// Queues the first delivery of a final job's callback, once: the store's
/// conditional claim makes the API's cancel and any number of workers that
/// see the job final agree on one sender. Returns whether this call queued it.
/// The claim is stored (pending, due now) before the attempt is queued, so
/// a crash in between leaves it to the recovery sweep ([`crate::outbox`]).
pub async fn notify_if_final(
    store: &dyn JobStore,
    queue: &dyn TaskQueue,
    job: &Job,
) -> Result<bool, crate::OutboxError> {
    if !job.status.is_terminal() || job.callback_url.is_none() || job.webhook.is_some() {
        return Ok(false);
    }
    let pending = WebhookState::pending(0, None, crate::job::now());
    if !store.update_webhook(job.id, None, Some(&pending)).await? {
        return Ok(false);
    }
    fail::fail_point!("webhook.after-claim", |_| std::process::abort());
    queue.send_webhook(&WebhookMessage::new(job, 1), Duration::ZERO).await?;
    let claimed = Job { webhook: Some(pending.clone()), recovery_due: pending.recovery_due(), ..job.clone() };
    crate::outbox::mark_queued(store, &claimed).await;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owner_secrets_differ_per_owner_and_are_standard_webhooks_keys() {
        let config = WebhookConfig::new(vec![7u8; 32]).unwrap();
        let a = config.owner_secret("alice");
        assert_ne!(a, config.owner_secret("bob"));
        assert_eq!(a, config.owner_secret("alice"));
        let raw = base64::engine::general_purpose::STANDARD.decode(a.strip_prefix("whsec_").unwrap()).unwrap();
        assert_eq!(raw.len(), 32);
        assert!(WebhookConfig::new(vec![1u8; 31]).is_err());
    }

    #[test]
    fn backoff_doubles_with_jitter_and_is_capped() {
        let config = WebhookConfig::new(vec![0u8; 32]).unwrap();
        assert_eq!(config.backoff(2, 1.0), Duration::from_secs(5));
        assert_eq!(config.backoff(3, 1.0), Duration::from_secs(10));
        assert_eq!(config.backoff(3, 0.0), Duration::from_secs(5));
        assert_eq!(config.backoff(20, 1.0), MAX_BACKOFF);
        let j = jitter();
        assert!((0.0..=1.0).contains(&j));
    }

    #[test]
    fn webhook_messages_are_told_apart_from_task_messages() {
        let job = Job::new("alice", crate::Task::Sentiment, 1, 1);
        let message = WebhookMessage::new(&job, 2);
        assert_eq!(WebhookMessage::parse(&message.to_json()).map(Result::ok), Some(Some(message)));
        assert!(WebhookMessage::parse(r#"{"v":1,"job_id":"x"}"#).is_none());
        assert!(matches!(WebhookMessage::parse(r#"{"kind":"webhook"}"#), Some(Err(_))));
    }
}
