//! Security configuration from the environment, read the same way by the
//! Lambda function and by `ferry serve` (documented in the README).

use crate::jwks::HttpJwks;
use crate::rate::RateLimit;
use ferry_core::{Authenticator, ConfigError, JwksCache, Scopes, Settings, TokenRules};
use jsonwebtoken::jwk::JwkSet;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

/// How long fetched keys are trusted before the next request refreshes them.
const DEFAULT_JWKS_TTL: Duration = Duration::from_secs(15 * 60);
/// Least time between two fetches triggered by unknown `kid`s.
const JWKS_COOLDOWN: Duration = Duration::from_secs(30);
const JWKS_TIMEOUT: Duration = Duration::from_secs(3);

/// The API's settings besides its adapters: read once by the API function
/// and by `ferry serve`, then applied to the state.
#[derive(Clone)]
pub struct ApiConfig {
    pub auth: AuthConfig,
    pub scopes: Scopes,
    /// `None`: no per-caller rate limit.
    pub rate_limit: Option<Arc<RateLimit>>,
    pub cors_origins: Vec<String>,
}

impl ApiConfig {
    pub fn from_settings(settings: &Settings) -> Result<ApiConfig, ConfigError> {
        Ok(ApiConfig {
            auth: AuthConfig::from_settings(settings)?,
            scopes: scopes(settings),
            rate_limit: rate_limit(settings)?,
            cors_origins: cors_origins(settings),
        })
    }

    /// Sets what this config says on `state`.
    pub fn apply(&self, state: &mut crate::AppState) {
        state.scopes = self.scopes.clone();
        state.rate_limit = self.rate_limit.clone();
        state.cors_origins = Arc::new(self.cors_origins.clone());
    }
}

impl Default for ApiConfig {
    /// What an empty environment gives.
    fn default() -> Self {
        ApiConfig::from_settings(&Settings::from_pairs(&[])).expect("the defaults are valid")
    }
}

/// How tokens are verified: a JWKS when `FERRY_JWKS_URL`, `FERRY_JWKS_FILE`
/// or `FERRY_JWKS` is set (then HS256 is refused), else HS256 with the
/// development secret; and the claims every token must carry.
#[derive(Debug, Clone, Default)]
pub struct AuthConfig {
    pub jwks: Option<JwksSource>,
    pub rules: TokenRules,
}

#[derive(Debug, Clone)]
pub enum JwksSource {
    /// Fetched, and trusted for `ttl` before a request refreshes it.
    Url { url: String, ttl: Duration },
    /// A JWKS document given whole.
    Document(String),
}

impl AuthConfig {
    pub fn from_settings(settings: &Settings) -> Result<AuthConfig, ConfigError> {
        let jwks = match (settings.var("FERRY_JWKS_URL"), settings.var("FERRY_JWKS_FILE"), settings.var("FERRY_JWKS")) {
            (Some(url), ..) => {
                Some(JwksSource::Url { url, ttl: settings.secs("FERRY_JWKS_CACHE_SECS")?.unwrap_or(DEFAULT_JWKS_TTL) })
            }
            (None, Some(path), _) => Some(JwksSource::Document(
                std::fs::read_to_string(&path)
                    .map_err(|e| ConfigError::invalid("FERRY_JWKS_FILE", format!("{path}: {e}")))?,
            )),
            (None, None, inline) => inline.map(JwksSource::Document),
        };
        let defaults = TokenRules::default();
        let rules = TokenRules {
            issuer: settings.var("FERRY_JWT_ISSUER"),
            audiences: settings.list("FERRY_JWT_AUDIENCE"),
            token_use: settings.var("FERRY_JWT_TOKEN_USE"),
            leeway: settings.secs("FERRY_JWT_LEEWAY_SECS")?.unwrap_or(defaults.leeway),
        };
        Ok(AuthConfig { jwks, rules })
    }

    /// The verifier; HS256 needs `dev_secret`.
    pub async fn authenticator(&self, dev_secret: Option<&[u8]>) -> Result<Authenticator, ConfigError> {
        let rules = self.rules.clone();
        match &self.jwks {
            Some(JwksSource::Url { url, ttl }) => {
                let client = HttpJwks::new(url.clone(), JWKS_TIMEOUT);
                let fetch = Arc::new(client.map_err(|e| ConfigError::invalid("FERRY_JWKS_URL", e))?);
                let cache = JwksCache::remote(fetch, *ttl, JWKS_COOLDOWN);
                match cache.prime().await {
                    Ok(n) => tracing::info!(url = %url, keys = n, "JWKS loaded"),
                    Err(e) => tracing::warn!(url = %url, error = %e, "JWKS not loaded yet; requests will retry"),
                }
                Ok(Authenticator::jwks(cache, rules))
            }
            Some(JwksSource::Document(document)) => {
                let invalid = |reason: String| ConfigError::invalid("the JWKS", reason);
                let set: JwkSet = serde_json::from_str(document).map_err(|e| invalid(format!("is not valid: {e}")))?;
                let cache = JwksCache::fixed(&set).map_err(|e| invalid(format!("is not usable: {e}")))?;
                Ok(Authenticator::jwks(cache, rules))
            }
            None => {
                // For development; production sets a JWKS.
                let secret = dev_secret.ok_or_else(|| {
                    ConfigError::Missing("FERRY_JWKS_URL (or FERRY_JWKS_FILE), or FERRY_JWT_SECRET,".into())
                })?;
                let authenticator =
                    Authenticator::hs256(secret).map_err(|e| ConfigError::invalid("FERRY_JWT_SECRET", e))?;
                Ok(authenticator.with_rules(rules))
            }
        }
    }
}

/// `FERRY_SCOPE_READ` / `FERRY_SCOPE_WRITE`, defaulting to `ferry/jobs.read` / `ferry/jobs.write`.
fn scopes(settings: &Settings) -> Scopes {
    let defaults = Scopes::default();
    Scopes {
        read: settings.var("FERRY_SCOPE_READ").unwrap_or(defaults.read),
        write: settings.var("FERRY_SCOPE_WRITE").unwrap_or(defaults.write),
    }
}

/// `FERRY_RATE_LIMIT` requests per second per caller (default 20; 0 turns it
/// off) with bursts of `FERRY_RATE_BURST` (default twice the rate).
fn rate_limit(settings: &Settings) -> Result<Option<Arc<RateLimit>>, ConfigError> {
    let per_second: u32 = settings.number("FERRY_RATE_LIMIT")?.unwrap_or(20);
    let Some(per_second) = NonZeroU32::new(per_second) else { return Ok(None) };
    let twice = per_second.saturating_mul(NonZeroU32::new(2).expect("2 is not zero"));
    let burst = settings.number("FERRY_RATE_BURST")?.and_then(NonZeroU32::new).unwrap_or(twice);
    Ok(Some(Arc::new(RateLimit::new(per_second, burst))))
}

/// `FERRY_CORS_ORIGINS`, comma-separated (`*` for any); unset: no CORS headers.
fn cors_origins(settings: &Settings) -> Vec<String> {
    settings.list("FERRY_CORS_ORIGINS")
}

/// The process environment, read through [`Settings`]'s rules. The API
/// function and `ferry serve` call this once, at start-up.
pub fn environment() -> Settings<'static> {
    Settings::new(|name| std::env::var(name).ok())
}
