//! The identity provider's signing keys (a JWKS), cached.
//!
//! Policy: keys are fetched at cold start; after `ttl` the next request
//! refreshes them; a token whose `kid` is unknown triggers a refresh (a key
//! rotation) — but never more often than once per `cooldown`, so a flood of
//! tokens with made-up `kid`s cannot turn into a flood of fetches. When a
//! refresh fails the keys already held keep working (stale-while-error).

use super::AuthError;
use async_trait::async_trait;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, JwkSet, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// Why no keys came from a JWKS.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwksError {
    /// The document could not be fetched or read; the fetcher says why.
    #[error("{0}")]
    Fetch(String),
    #[error("the JWKS has no RS256 or ES256 signing keys")]
    NoSigningKeys,
    /// Another refresh was attempted within the cooldown.
    #[error("refreshed recently")]
    Cooldown,
}

/// Fetches the JWKS document (over HTTPS in production; the adapter lives at
/// the edge, so this crate does no I/O of its own).
#[async_trait]
pub trait FetchJwks: Send + Sync + 'static {
    async fn fetch(&self) -> Result<JwkSet, JwksError>;
}

/// A verification key and the one algorithm it may be used with.
#[derive(Clone)]
pub struct PinnedKey {
    pub key: DecodingKey,
    pub algorithm: Algorithm,
}

pub struct JwksCache {
    fetcher: Option<Arc<dyn FetchJwks>>,
    ttl: Duration,
    cooldown: Duration,
    state: RwLock<State>,
    refreshing: tokio::sync::Mutex<()>,
}

#[derive(Default)]
struct State {
    keys: HashMap<String, PinnedKey>,
    fetched_at: Option<Instant>,
    attempted_at: Option<Instant>,
}

impl JwksCache {
    /// Keys given once (a file or an environment variable): never refreshed.
    pub fn fixed(set: &JwkSet) -> Result<JwksCache, JwksError> {
        let keys = pin_keys(set);
        if keys.is_empty() {
            return Err(JwksError::NoSigningKeys);
        }
        let state = State { keys, fetched_at: Some(Instant::now()), attempted_at: None };
        Ok(JwksCache {
            fetcher: None,
            ttl: Duration::MAX,
            cooldown: Duration::MAX,
            state: RwLock::new(state),
            refreshing: tokio::sync::Mutex::new(()),
        })
    }

    /// Keys fetched by `fetcher`, kept for `ttl`, refetched for an unknown
    /// `kid` at most once per `cooldown`. Call [`JwksCache::prime`] at start.
    pub fn remote(fetcher: Arc<dyn FetchJwks>, ttl: Duration, cooldown: Duration) -> JwksCache {
        JwksCache {
            fetcher: Some(fetcher),
            ttl,
            cooldown,
            state: RwLock::new(State::default()),
            refreshing: tokio::sync::Mutex::new(()),
        }
    }

    /// The first fetch (at cold start). A failure is not fatal: requests try
    /// again, once per cooldown, and answer 503 until keys arrive.
    pub async fn prime(&self) -> Result<usize, JwksError> {
        self.refresh(true).await
    }

    /// The ids of the keys held now.
    pub fn key_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.state.read().unwrap().keys.keys().cloned().collect();
        ids.sort();
        ids
    }

    /// The key for a token's `kid` (a token without one is accepted only when
    /// the set holds a single key), pinned to `algorithm`.
    pub async fn key(&self, kid: Option<&str>, algorithm: Algorithm) -> Result<PinnedKey, AuthError> {
        if self.is_stale() {
            let _ = self.refresh(false).await;
        }
        let mut found = self.lookup(kid);
        if found.is_none() {
            let _ = self.refresh(false).await;
            found = self.lookup(kid);
        }
        match found {
            Some(pinned) if pinned.algorithm == algorithm => Ok(pinned),
            Some(pinned) => Err(AuthError::Invalid(format!(
                "key {} is for {:?}, not {algorithm:?}",
                kid.unwrap_or("(none)"),
                pinned.algorithm
            ))),
            None if self.state.read().unwrap().keys.is_empty() => {
                Err(AuthError::Unavailable("no signing keys could be loaded from the JWKS".into()))
            }
            None => Err(AuthError::Invalid(format!("unknown key id {}", kid.unwrap_or("(none)")))),
        }
    }

    fn lookup(&self, kid: Option<&str>) -> Option<PinnedKey> {
        let state = self.state.read().unwrap();
        match kid {
            Some(kid) => state.keys.get(kid).cloned(),
            None if state.keys.len() == 1 => state.keys.values().next().cloned(),
            None => None,
        }
    }

    fn is_stale(&self) -> bool {
        let state = self.state.read().unwrap();
        self.fetcher.is_some() && state.fetched_at.is_none_or(|at| at.elapsed() >= self.ttl)
    }

    /// Refetches unless another refresh was attempted within the cooldown
    /// (`force` skips that check). Keeps the old keys when the fetch fails.
    async fn refresh(&self, force: bool) -> Result<usize, JwksError> {
        let Some(fetcher) = &self.fetcher else { return Ok(0) };
        let _one_at_a_time = self.refreshing.lock().await;
        let recently = self.state.read().unwrap().attempted_at.is_some_and(|at| at.elapsed() < self.cooldown);
        if recently && !force {
            return Err(JwksError::Cooldown);
        }
        self.state.write().unwrap().attempted_at = Some(Instant::now());
        let fetched = fetcher.fetch().await.and_then(|set| {
            let keys = pin_keys(&set);
            if keys.is_empty() { Err(JwksError::NoSigningKeys) } else { Ok(keys) }
        });
        match fetched {
            Ok(keys) => {
                let count = keys.len();
                let mut state = self.state.write().unwrap();
                state.keys = keys;
                state.fetched_at = Some(Instant::now());
                tracing::info!(keys = count, "JWKS refreshed");
                Ok(count)
            }
            Err(e) => {
                let held = self.state.read().unwrap().keys.len();
                tracing::warn!(error = %e, keys_kept = held, "JWKS refresh failed; keeping the keys held");
                Err(e)
            }
        }
    }
}

/// The usable signing keys of a set, each pinned to its one algorithm: the
/// JWK's `alg` when it has one, else the only one Ferry accepts for its type
/// (RSA → RS256, EC P-256 → ES256). Anything else is skipped.
fn pin_keys(set: &JwkSet) -> HashMap<String, PinnedKey> {
    set.keys
        .iter()
        .filter_map(|jwk| {
            let pinned = pin(jwk)?;
            Some((jwk.common.key_id.clone().unwrap_or_default(), pinned))
        })
        .collect()
}

fn pin(jwk: &Jwk) -> Option<PinnedKey> {
    if jwk.common.public_key_use.as_ref().is_some_and(|u| *u != PublicKeyUse::Signature) {
        return None;
    }
    let algorithm = match (&jwk.algorithm, jwk.common.key_algorithm) {
        (AlgorithmParameters::RSA(_), None | Some(KeyAlgorithm::RS256)) => Algorithm::RS256,
        (AlgorithmParameters::EllipticCurve(ec), None | Some(KeyAlgorithm::ES256))
            if ec.curve == EllipticCurve::P256 =>
        {
            Algorithm::ES256
        }
        _ => return None,
    };
    let key = DecodingKey::from_jwk(jwk).ok()?;
    Some(PinnedKey { key, algorithm })
}
