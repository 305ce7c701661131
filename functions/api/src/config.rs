//! Security configuration from the environment, read the same way by the
//! Lambda function and by `ferry serve` (documented in the README).

use crate::jwks::HttpJwks;
use crate::rate::RateLimit;
use ferry_core::{Authenticator, JwksCache, Scopes, TokenRules};
use jsonwebtoken::jwk::JwkSet;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

/// How long fetched keys are trusted before the next request refreshes them.
const DEFAULT_JWKS_TTL: Duration = Duration::from_secs(15 * 60);
/// Least time between two fetches triggered by unknown `kid`s.
const JWKS_COOLDOWN: Duration = Duration::from_secs(30);
const JWKS_TIMEOUT: Duration = Duration::from_secs(3);

/// The verifier: a JWKS when `FERRY_JWKS_URL`, `FERRY_JWKS_FILE` or
/// `FERRY_JWKS` is set (then HS256 is refused), else HS256 with `dev_secret`.
pub async fn authenticator(dev_secret: Option<&[u8]>) -> Result<Authenticator, String> {
    let rules = token_rules()?;
    if let Some(url) = var("FERRY_JWKS_URL") {
        let ttl = secs("FERRY_JWKS_CACHE_SECS")?.unwrap_or(DEFAULT_JWKS_TTL);
        let cache = JwksCache::remote(Arc::new(HttpJwks::new(url.clone(), JWKS_TIMEOUT)?), ttl, JWKS_COOLDOWN);
        match cache.prime().await {
            Ok(n) => tracing::info!(url = %url, keys = n, "JWKS loaded"),
            Err(e) => tracing::warn!(url = %url, error = %e, "JWKS not loaded yet; requests will retry"),
        }
        return Ok(Authenticator::jwks(cache, rules));
    }
    let document = match (var("FERRY_JWKS_FILE"), var("FERRY_JWKS")) {
        (Some(path), _) => Some(std::fs::read_to_string(&path).map_err(|e| format!("FERRY_JWKS_FILE {path}: {e}"))?),
        (None, inline) => inline,
    };
    if let Some(document) = document {
        let set: JwkSet = serde_json::from_str(&document).map_err(|e| format!("the JWKS is not valid: {e}"))?;
        return Ok(Authenticator::jwks(JwksCache::fixed(&set)?, rules));
    }
    let secret = dev_secret.ok_or("set FERRY_JWKS_URL (or FERRY_JWKS_FILE), or FERRY_JWT_SECRET for development")?;
    Ok(Authenticator::hs256(secret).map_err(|e| e.to_string())?.with_rules(rules))
}

fn token_rules() -> Result<TokenRules, String> {
    let defaults = TokenRules::default();
    Ok(TokenRules {
        issuer: var("FERRY_JWT_ISSUER"),
        audiences: list("FERRY_JWT_AUDIENCE"),
        token_use: var("FERRY_JWT_TOKEN_USE"),
        leeway: secs("FERRY_JWT_LEEWAY_SECS")?.unwrap_or(defaults.leeway),
    })
}

/// `FERRY_SCOPE_READ` / `FERRY_SCOPE_WRITE`, defaulting to `ferry/jobs.read` / `ferry/jobs.write`.
pub fn scopes() -> Scopes {
    let defaults = Scopes::default();
    Scopes {
        read: var("FERRY_SCOPE_READ").unwrap_or(defaults.read),
        write: var("FERRY_SCOPE_WRITE").unwrap_or(defaults.write),
    }
}

/// `FERRY_RATE_LIMIT` requests per second per caller (default 20; 0 turns it
/// off) with bursts of `FERRY_RATE_BURST` (default twice the rate).
pub fn rate_limit() -> Result<Option<Arc<RateLimit>>, String> {
    let per_second: u32 = number("FERRY_RATE_LIMIT")?.unwrap_or(20);
    let Some(per_second) = NonZeroU32::new(per_second) else { return Ok(None) };
    let twice = per_second.saturating_mul(NonZeroU32::new(2).expect("2 is not zero"));
    let burst = number("FERRY_RATE_BURST")?.and_then(NonZeroU32::new).unwrap_or(twice);
    Ok(Some(Arc::new(RateLimit::new(per_second, burst))))
}

/// `FERRY_CORS_ORIGINS`, comma-separated (`*` for any); unset: no CORS headers.
pub fn cors_origins() -> Vec<String> {
    list("FERRY_CORS_ORIGINS")
}

/// `FERRY_RETENTION_DAYS` (default 30): how long jobs are kept.
pub fn retention() -> Result<Duration, String> {
    Ok(number("FERRY_RETENTION_DAYS")?
        .filter(|d| *d > 0)
        .map(|d| Duration::from_secs(u64::from(d) * 24 * 3600))
        .unwrap_or(ferry_core::job::DEFAULT_RETENTION))
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

fn list(name: &str) -> Vec<String> {
    var(name).map(|v| v.split(',').map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect()).unwrap_or_default()
}

fn number(name: &str) -> Result<Option<u32>, String> {
    var(name).map(|v| v.parse().map_err(|_| format!("{name} must be a whole number, got {v:?}"))).transpose()
}

fn secs(name: &str) -> Result<Option<Duration>, String> {
    Ok(number(name)?.map(|n| Duration::from_secs(n.into())))
}
