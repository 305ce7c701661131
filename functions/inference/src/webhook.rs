//! Delivering a job's callback: one signed POST per attempt, per the Standard
//! Webhooks spec (`webhook-id`, `webhook-timestamp`, `webhook-signature`).
//! The client resolves hosts itself and refuses any address the callback
//! policy does not allow, so a hostname that resolved to a public address
//! when the job was created cannot be re-pointed at 169.254.169.254 later.

use ferry_core::Job;
use ferry_core::callback::{CallbackPolicy, CallbackRefusal, check_url};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// Why an attempt did not deliver. The text is logged and kept with the job,
/// so none of it carries the callback URL (its query may hold a secret).
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    #[error("the job has no callback_url")]
    NoCallback,
    #[error(transparent)]
    Refused(#[from] CallbackRefusal),
    #[error("{0}")]
    Signing(String),
    /// reqwest's error and its causes (the resolver's refusal is a cause).
    #[error("{0}")]
    Transport(String),
    #[error("the receiver answered HTTP {0}")]
    Status(u16),
}

pub struct WebhookSender {
    client: reqwest::Client,
    policy: CallbackPolicy,
}

struct GuardedResolver {
    policy: CallbackPolicy,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy;
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = addrs.iter().copied().filter(|a| policy.allows(a.ip())).collect();
            if allowed.is_empty() {
                let error: Box<dyn std::error::Error + Send + Sync> =
                    format!("{host} resolves only to addresses callbacks may not reach").into();
                return Err(error);
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

impl WebhookSender {
    pub fn new(policy: CallbackPolicy) -> Result<WebhookSender, reqwest::Error> {
        let client = reqwest::Client::builder()
            .use_preconfigured_tls(ferry_core::tls::client_config())
            .dns_resolver(Arc::new(GuardedResolver { policy }))
            // A redirect could lead anywhere: a callback gets exactly its URL.
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(10))
            .user_agent(concat!("ferry-webhooks/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(WebhookSender { client, policy })
    }

    /// POSTs the job's summary to its callback URL, signed with `secret`.
    /// Ok only for a 2xx answer.
    pub async fn deliver(&self, job: &Job, secret: &str) -> Result<(), DeliveryError> {
        let url = job.callback_url.as_deref().ok_or(DeliveryError::NoCallback)?;
        let url = check_url(url, self.policy)?;
        let body = payload(job);
        let id = job.id.to_string();
        let timestamp = time::OffsetDateTime::now_utc().unix_timestamp();
        let signer = standardwebhooks::Webhook::new(secret)
            .map_err(|e| DeliveryError::Signing(format!("webhook secret: {e:?}")))?;
        let signature = signer
            .sign(&id, timestamp, body.as_bytes())
            .map_err(|e| DeliveryError::Signing(format!("signing: {e:?}")))?;
        let response = self
            .client
            .post(url)
            .header("content-type", "application/json")
            .header("webhook-id", &id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(body)
            .send()
            .await
            // Without the URL: its query may hold a secret (Slack-style
            // hooks), and this text is logged and kept with the job.
            .map_err(|e| DeliveryError::Transport(describe(&e.without_url())))?;
        let status = response.status();
        if status.is_success() { Ok(()) } else { Err(DeliveryError::Status(status.as_u16())) }
    }
}

/// The event: `{"type": "job.succeeded", "timestamp", "data": <job summary>}`.
pub fn payload(job: &Job) -> String {
    let now = time::OffsetDateTime::now_utc();
    serde_json::json!({
        "type": format!("job.{}", job.status.as_str()),
        "timestamp": now.format(&time::format_description::well_known::Rfc3339).ok(),
        "data": job.summary(),
    })
    .to_string()
}

/// reqwest's error with its causes (the resolver's refusal is a cause).
fn describe(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
