//! One attempt at a job's callback. Failures are recorded and the next
//! attempt queued with a back-off; nothing sleeps here.

use super::{Outcome, Worker, unavailable};
use ferry_core::job::now;
use ferry_core::webhook::jitter;
use ferry_core::{Job, WebhookMessage, WebhookState, WebhookStatus};
use tracing::{Instrument, info, info_span, warn};

impl Worker {
    /// One attempt at a job's callback. Failures are recorded and the next
    /// attempt queued with a back-off; nothing sleeps here.
    pub(super) async fn deliver_webhook(&self, message: &WebhookMessage) -> Outcome {
        let Some((config, sender)) = &self.webhooks else {
            warn!(job_id = %message.job_id, "webhook message, but webhooks are not configured; giving up on it");
            // Recorded as failed, so that nothing (the recovery sweep) keeps queuing it.
            let failed = WebhookState::finished(
                WebhookStatus::Failed,
                message.attempt.saturating_sub(1),
                Some("webhooks are not configured on this worker".into()),
            );
            return match self.store.update_webhook(message.job_id, Some(WebhookStatus::Pending), Some(&failed)).await {
                Ok(_) => Outcome::Done,
                Err(e) => unavailable(e),
            };
        };
        let span = info_span!("webhook", job_id = %message.job_id, attempt = message.attempt);
        let job = match self.store.get_job(&message.owner, message.job_id).await {
            Ok(Some(job)) => job,
            Ok(None) => return Outcome::Done,
            Err(e) => return unavailable(e),
        };
        // Delivered, given up, or a stale copy of an attempt already made.
        let Some(state) = job.webhook.as_ref().filter(|w| w.status == WebhookStatus::Pending) else {
            return Outcome::Done;
        };
        if message.attempt <= state.attempts {
            return Outcome::Done;
        }
        let result = sender.deliver(&job, &config.owner_secret(&job.owner)).instrument(span.clone()).await;
        fail::fail_point!("webhook.after-deliver", |_| std::process::abort());
        let attempts = message.attempt;
        let (next, retry_after) = match result {
            Ok(()) => (WebhookState::finished(WebhookStatus::Delivered, attempts, None), None),
            Err(e) if attempts >= config.max_attempts => {
                (WebhookState::finished(WebhookStatus::Failed, attempts, Some(e.to_string())), None)
            }
            Err(e) => {
                let delay = config.backoff(attempts + 1, jitter());
                (WebhookState::pending(attempts, Some(e.to_string()), now() + delay), Some(delay))
            }
        };
        span.in_scope(|| info!(status = next.status.as_str(), error = ?next.last_error, "webhook attempt"));
        ferry_core::metrics::webhook_attempt(match (&next.status, retry_after) {
            (WebhookStatus::Delivered, _) => "delivered",
            (_, Some(_)) => "retrying",
            _ => "gave-up",
        });
        // The next attempt is stored (due at its time) before it is queued,
        // so a crash in between leaves it to the recovery sweep.
        match self.store.update_webhook(job.id, Some(WebhookStatus::Pending), Some(&next)).await {
            Ok(true) => {}
            Ok(false) => return Outcome::Done,
            Err(e) => return unavailable(e),
        }
        fail::fail_point!("webhook.after-record", |_| std::process::abort());
        if let Some(delay) = retry_after {
            let mut again = message.clone();
            again.attempt += 1;
            if let Err(e) = self.queue.send_webhook(&again, delay).await {
                warn!(job_id = %job.id, error = %e, "could not queue the next webhook attempt; the recovery sweep will");
                return Outcome::Done;
            }
            let stored = Job { recovery_due: next.recovery_due(), webhook: Some(next), ..job };
            ferry_core::outbox::mark_queued(self.store.as_ref(), &stored).await;
        }
        Outcome::Done
    }
}
