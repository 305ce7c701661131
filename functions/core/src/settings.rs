//! Reading configuration values by name, with one set of rules for every
//! binary: blank means unset, numbers are whole, errors name the variable.
//! Library code never reads the environment: each binary's config module
//! makes a [`Settings`] over `std::env::var` once and passes values down.

use crate::callback::CallbackPolicy;
use crate::outbox::Recovery;
use crate::webhook::WebhookConfig;
use std::str::FromStr;
use std::time::Duration;

/// A configuration value that is missing or cannot be used. It names the
/// variable, so a binary that refuses to start says what to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("{0} is not set")]
    Missing(String),
    /// Shown as `<name> <reason>`, e.g. `FERRY_RETENTION_DAYS must be at least 1`.
    #[error("{name} {reason}")]
    Invalid { name: String, reason: String },
}

impl ConfigError {
    pub fn invalid(name: impl Into<String>, reason: impl std::fmt::Display) -> ConfigError {
        ConfigError::Invalid { name: name.into(), reason: reason.to_string() }
    }
}

/// Finds a value by name.
type Lookup<'a> = dyn Fn(&str) -> Option<String> + 'a;

/// Named configuration values (the environment, or a map in tests).
pub struct Settings<'a> {
    lookup: Box<Lookup<'a>>,
}

impl<'a> Settings<'a> {
    pub fn new(lookup: impl Fn(&str) -> Option<String> + 'a) -> Self {
        Settings { lookup: Box::new(lookup) }
    }

    /// From `name = value` pairs (tests).
    pub fn from_pairs(pairs: &'a [(&'a str, &'a str)]) -> Self {
        Settings::new(move |name| pairs.iter().find(|(n, _)| *n == name).map(|(_, v)| (*v).to_owned()))
    }

    /// The value, trimmed; `None` when unset or blank.
    pub fn var(&self, name: &str) -> Option<String> {
        (self.lookup)(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
    }

    pub fn required(&self, name: &str) -> Result<String, ConfigError> {
        self.var(name).ok_or_else(|| ConfigError::Missing(name.to_owned()))
    }

    /// Comma-separated values, blanks dropped.
    pub fn list(&self, name: &str) -> Vec<String> {
        self.var(name)
            .map(|v| v.split(',').map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect())
            .unwrap_or_default()
    }

    pub fn number<T: FromStr>(&self, name: &str) -> Result<Option<T>, ConfigError> {
        self.var(name)
            .map(|v| v.parse().map_err(|_| ConfigError::invalid(name, format!("must be a whole number, got {v:?}"))))
            .transpose()
    }

    pub fn secs(&self, name: &str) -> Result<Option<Duration>, ConfigError> {
        Ok(self.number::<u64>(name)?.map(Duration::from_secs))
    }

    /// `1`, `true` or `yes`.
    pub fn flag(&self, name: &str) -> bool {
        self.var(name).is_some_and(|v| matches!(v.as_str(), "1" | "true" | "yes"))
    }

    /// `FERRY_RETENTION_DAYS` (default 30, at least 1): how long jobs,
    /// results and uploads are kept. The API, the worker and `ferry serve`
    /// all read it here, so they cannot disagree.
    pub fn retention(&self) -> Result<Duration, ConfigError> {
        match self.number::<u64>("FERRY_RETENTION_DAYS")? {
            None => Ok(crate::job::DEFAULT_RETENTION),
            Some(0) => Err(ConfigError::invalid("FERRY_RETENTION_DAYS", "must be at least 1")),
            Some(days) => Ok(Duration::from_secs(days.saturating_mul(24 * 3600))),
        }
    }

    /// `FERRY_RECOVERY_GRACE_SECS` / `FERRY_RECOVERY_EVERY_SECS` (60 and 60):
    /// how long the outbox's stored work may wait to be marked queued, and
    /// how often `ferry serve` sweeps (at least every second).
    pub fn recovery(&self) -> Result<Recovery, ConfigError> {
        let defaults = Recovery::default();
        Ok(Recovery {
            grace: self.secs("FERRY_RECOVERY_GRACE_SECS")?.unwrap_or(defaults.grace),
            every: self.secs("FERRY_RECOVERY_EVERY_SECS")?.unwrap_or(defaults.every).max(Duration::from_secs(1)),
        })
    }

    /// `FERRY_WEBHOOK_SECRET` (the master key, else `fallback_secret`),
    /// `FERRY_WEBHOOK_MAX_ATTEMPTS` (1–20, default 8) and
    /// `FERRY_WEBHOOK_BACKOFF_MS` (default 5000). `Ok(None)` when there is no
    /// secret: callbacks are refused.
    pub fn webhooks(&self, fallback_secret: Option<&[u8]>) -> Result<Option<WebhookConfig>, ConfigError> {
        // Not trimmed: the key is its bytes.
        let configured = (self.lookup)("FERRY_WEBHOOK_SECRET").filter(|s| !s.is_empty());
        let (name, secret) = match (configured, fallback_secret) {
            (Some(secret), _) => ("FERRY_WEBHOOK_SECRET", secret.into_bytes()),
            (None, Some(fallback)) => ("the webhook fallback secret", fallback.to_vec()),
            (None, None) => return Ok(None),
        };
        let mut config = WebhookConfig::new(secret).map_err(|e| ConfigError::invalid(name, e))?;
        if let Some(n) = self.number::<u32>("FERRY_WEBHOOK_MAX_ATTEMPTS")? {
            config.max_attempts = n.clamp(1, 20);
        }
        if let Some(ms) = self.number::<u64>("FERRY_WEBHOOK_BACKOFF_MS")? {
            config.backoff_base = Duration::from_millis(ms);
        }
        Ok(Some(config))
    }

    /// `FERRY_CALLBACK_ALLOW_PRIVATE` / `FERRY_CALLBACK_ALLOW_HTTP`.
    pub fn callback_policy(&self) -> CallbackPolicy {
        CallbackPolicy {
            allow_private: self.flag("FERRY_CALLBACK_ALLOW_PRIVATE"),
            allow_http: self.flag("FERRY_CALLBACK_ALLOW_HTTP"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retention_means_the_same_everywhere() {
        let days = |v: &'static str| Settings::new(move |_| Some(v.to_owned())).retention();
        assert_eq!(Settings::from_pairs(&[]).retention().unwrap(), crate::job::DEFAULT_RETENTION);
        assert_eq!(days("  ").unwrap(), crate::job::DEFAULT_RETENTION);
        assert_eq!(days("2").unwrap(), Duration::from_secs(2 * 24 * 3600));
        assert!(days("0").unwrap_err().to_string().contains("at least 1"));
        assert!(days("-3").unwrap_err().to_string().contains("whole number"));
    }

    #[test]
    fn values_are_trimmed_and_errors_name_the_variable() {
        let pairs = [("A", " x "), ("L", "a, ,b"), ("N", "abc"), ("F", "yes"), ("R", "0")];
        let s = Settings::from_pairs(&pairs);
        assert_eq!(s.var("A").as_deref(), Some("x"));
        assert_eq!(s.list("L"), vec!["a", "b"]);
        assert!(s.number::<u32>("N").unwrap_err().to_string().starts_with("N must be"));
        assert!(s.flag("F") && !s.flag("A"));
        assert_eq!(s.required("MISSING").unwrap_err().to_string(), "MISSING is not set");
        let recovery = Settings::from_pairs(&[("FERRY_RECOVERY_EVERY_SECS", "0")]).recovery().unwrap();
        assert_eq!(recovery.every, Duration::from_secs(1));
        let webhooks = Settings::from_pairs(&[("FERRY_WEBHOOK_MAX_ATTEMPTS", "99")]);
        assert_eq!(webhooks.webhooks(Some(&[7; 32])).unwrap().unwrap().max_attempts, 20);
        assert!(webhooks.webhooks(None).unwrap().is_none());
    }
}
