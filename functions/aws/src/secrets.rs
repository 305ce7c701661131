//! Secrets from AWS Secrets Manager. template.yaml hands the functions a
//! secret's ARN (`FERRY_JWT_SECRET_ARN`, `FERRY_WEBHOOK_SECRET_ARN`), never
//! its value: each function reads the value once per cold start and keeps it
//! in memory only. Locally (`ferry serve`, tests) the plain variables
//! (`FERRY_JWT_SECRET`, `FERRY_WEBHOOK_SECRET`) still work.
//!
//! Rotation: a rotated secret reaches each execution environment at its
//! next cold start. To switch every environment at once, change the
//! functions' configuration (a redeploy does), which retires the warm ones.

use crate::describe;
use aws_config::SdkConfig;
use ferry_core::{ConfigError, Settings};
use std::collections::HashMap;

/// The secrets a function may be given by ARN: `<name>_ARN` names the
/// secret whose value is read as `<name>`.
pub const BY_ARN: [&str; 2] = ["FERRY_JWT_SECRET", "FERRY_WEBHOOK_SECRET"];

/// A Secrets Manager client for `config`.
pub fn client(config: &SdkConfig) -> aws_sdk_secretsmanager::Client {
    aws_sdk_secretsmanager::Client::new(config)
}

/// The current value (`AWSCURRENT`) of the secret `id` (an ARN or a name),
/// as a string.
pub async fn read(client: &aws_sdk_secretsmanager::Client, id: &str) -> Result<String, String> {
    let out = client.get_secret_value().secret_id(id).send().await.map_err(|e| describe(&e))?;
    out.secret_string.ok_or_else(|| "it holds binary data, not a string".to_owned())
}

/// Reads every secret of [`BY_ARN`] whose `_ARN` variable `settings` has,
/// side by side, and returns them by name. Fails, naming the variable, when
/// one cannot be read: a function must not start without its secrets.
pub async fn read_configured(
    config: &SdkConfig,
    settings: &Settings<'_>,
) -> Result<HashMap<String, String>, ConfigError> {
    let client = client(config);
    let wanted: Vec<(&str, String)> =
        BY_ARN.iter().filter_map(|name| Some((*name, settings.var(&format!("{name}_ARN"))?))).collect();
    if let Some((name, _)) = wanted.iter().find(|(name, _)| settings.var(name).is_some()) {
        return Err(ConfigError::invalid(name.to_string(), format!("and {name}_ARN are both set: set one")));
    }
    let reads: Vec<_> = wanted
        .iter()
        .map(|(_, arn)| {
            let (client, arn) = (client.clone(), arn.clone());
            tokio::spawn(async move { read(&client, &arn).await })
        })
        .collect();
    let mut secrets = HashMap::new();
    for ((name, arn), read) in wanted.into_iter().zip(reads) {
        let value = read.await.unwrap_or_else(|e| Err(e.to_string()));
        let value = value.map_err(|e| ConfigError::invalid(format!("{name}_ARN"), format!("({arn}): {e}")))?;
        secrets.insert(name.to_owned(), value);
    }
    if !secrets.is_empty() {
        tracing::info!(secrets = ?secrets.keys().collect::<Vec<_>>(), "secrets read from Secrets Manager");
    }
    Ok(secrets)
}

/// The process environment with the secrets read by ARN in place of their
/// plain variables (which a deployment does not set).
pub fn environment_with(secrets: HashMap<String, String>) -> Settings<'static> {
    Settings::new(move |name| secrets.get(name).cloned().or_else(|| std::env::var(name).ok()))
}
