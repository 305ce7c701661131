//! The inference function's configuration, read from the environment once
//! at start-up (template.yaml sets it).

use crate::Upstream;
use ferry_core::callback::CallbackPolicy;
use ferry_core::{ConfigError, Settings, WebhookConfig};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// `FERRY_MODEL_DIR`: models to load instead of the bundled ones.
    pub model_dir: Option<PathBuf>,
    /// `FERRY_MAX_ATTEMPTS`: the queue's delivery limit (its `maxReceiveCount`).
    pub max_attempts: u32,
    /// `FERRY_UPSTREAM_OWNERS`.
    pub upstream: Upstream,
    /// `FERRY_RECOVERY_GRACE_SECS`: how long the outbox's stored work may
    /// wait to be marked queued before the scheduled sweep queues it.
    pub recovery_grace: Duration,
    /// `FERRY_RETENTION_DAYS`, for jobs upstream messages and uploads create.
    pub retention: Duration,
    /// `None`: no `FERRY_WEBHOOK_SECRET`, no callbacks.
    pub webhooks: Option<WebhookConfig>,
    pub callback_policy: CallbackPolicy,
}

impl WorkerConfig {
    pub fn from_settings(settings: &Settings) -> Result<WorkerConfig, ConfigError> {
        Ok(WorkerConfig {
            model_dir: settings.var("FERRY_MODEL_DIR").map(PathBuf::from),
            max_attempts: settings
                .number("FERRY_MAX_ATTEMPTS")?
                .ok_or(ConfigError::Missing("FERRY_MAX_ATTEMPTS".into()))?,
            upstream: Upstream::parse(&settings.var("FERRY_UPSTREAM_OWNERS").unwrap_or_default()),
            recovery_grace: settings.recovery()?.grace,
            retention: settings.retention()?,
            webhooks: settings.webhooks(None)?,
            callback_policy: settings.callback_policy(),
        })
    }
}

/// The process environment, read through [`Settings`]'s rules.
pub fn environment() -> Settings<'static> {
    Settings::new(|name| std::env::var(name).ok())
}
