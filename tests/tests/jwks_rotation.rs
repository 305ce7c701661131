//! The JWKS cache against a real HTTP endpoint on 127.0.0.1: a key added by
//! a rotation is accepted after a refresh, the endpoint going down leaves the
//! cached keys working, and made-up key ids cannot make Ferry hammer the
//! identity provider.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use ferry_api::jwks::HttpJwks;
use ferry_core::auth::unix_now;
use ferry_core::{AuthError, Authenticator, JwksCache, TokenRules};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::json;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const JWKS_A: &str = include_str!("../fixtures/auth/jwks-a.json");
const JWKS_AB: &str = include_str!("../fixtures/auth/jwks-ab.json");
const RSA_A: &[u8] = include_bytes!("../fixtures/auth/rsa-a.pem");
const RSA_B: &[u8] = include_bytes!("../fixtures/auth/rsa-b.pem");

/// The identity provider's JWKS endpoint: serves `document`, or 503 when it
/// is `None`, and counts requests.
#[derive(Clone, Default)]
struct Idp {
    document: Arc<Mutex<Option<&'static str>>>,
    fetches: Arc<AtomicUsize>,
}

impl Idp {
    async fn start(document: &'static str) -> (Idp, String) {
        let idp = Idp::default();
        idp.serve(Some(document));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/.well-known/jwks.json", listener.local_addr().unwrap());
        let app = Router::new().route("/.well-known/jwks.json", get(jwks)).with_state(idp.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (idp, url)
    }

    fn serve(&self, document: Option<&'static str>) {
        *self.document.lock().unwrap() = document;
    }

    fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }
}

async fn jwks(State(idp): State<Idp>) -> (StatusCode, String) {
    idp.fetches.fetch_add(1, Ordering::SeqCst);
    match *idp.document.lock().unwrap() {
        Some(document) => (StatusCode::OK, document.to_owned()),
        None => (StatusCode::SERVICE_UNAVAILABLE, "down".into()),
    }
}

fn token(kid: &str, pem: &[u8]) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(kid.into());
    let claims = json!({"sub": "alice", "exp": unix_now() + 600, "scope": "ferry/jobs.read"});
    encode(&header, &claims, &EncodingKey::from_rsa_pem(pem).unwrap()).unwrap()
}

async fn authenticator(url: &str, ttl: Duration, cooldown: Duration) -> Authenticator {
    let fetcher = Arc::new(HttpJwks::new(url, Duration::from_secs(2)).unwrap());
    let cache = JwksCache::remote(fetcher, ttl, cooldown);
    assert_eq!(cache.prime().await, Ok(2), "cold start loads the two keys");
    Authenticator::jwks(cache, TokenRules::default())
}

#[tokio::test]
async fn a_rotated_key_is_accepted_after_a_refresh_and_an_outage_keeps_the_cached_keys() {
    let (idp, url) = Idp::start(JWKS_A).await;
    let auth = authenticator(&url, Duration::from_secs(3600), Duration::ZERO).await;
    assert_eq!(auth.verify(&token("rsa-a", RSA_A)).await.unwrap().subject, "alice");

    // rsa-b is not published yet: unknown, even after the refresh it causes.
    let before = idp.fetches();
    assert!(matches!(auth.verify(&token("rsa-b", RSA_B)).await, Err(AuthError::Invalid(_))));
    assert_eq!(idp.fetches(), before + 1, "an unknown kid refreshes once");

    // The provider rotates: the new key is fetched on first sight.
    idp.serve(Some(JWKS_AB));
    assert_eq!(auth.verify(&token("rsa-b", RSA_B)).await.unwrap().subject, "alice");
    assert_eq!(auth.jwks_cache().unwrap().key_ids(), ["ec-a", "rsa-a", "rsa-b"]);

    // The provider goes down: every key already held keeps working.
    idp.serve(None);
    assert!(auth.verify(&token("rsa-a", RSA_A)).await.is_ok());
    assert!(auth.verify(&token("rsa-b", RSA_B)).await.is_ok());
    let fetches = idp.fetches();
    assert!(matches!(auth.verify(&token("rsa-z", RSA_A)).await, Err(AuthError::Invalid(_))));
    assert_eq!(idp.fetches(), fetches + 1, "it tried, failed, and kept its keys");
    assert_eq!(auth.jwks_cache().unwrap().key_ids(), ["ec-a", "rsa-a", "rsa-b"]);
}

#[tokio::test]
async fn stale_keys_are_used_while_the_refresh_fails() {
    let (idp, url) = Idp::start(JWKS_A).await;
    // Keys go stale at once: every request tries a refresh (once per cooldown).
    let auth = authenticator(&url, Duration::ZERO, Duration::ZERO).await;
    idp.serve(None);
    for _ in 0..3 {
        assert!(auth.verify(&token("rsa-a", RSA_A)).await.is_ok(), "stale-while-error");
    }
    assert!(idp.fetches() >= 4, "it did try to refresh");
    idp.serve(Some(JWKS_AB));
    assert!(auth.verify(&token("rsa-b", RSA_B)).await.is_ok(), "and recovers when the provider does");
}

#[tokio::test]
async fn made_up_key_ids_cannot_flood_the_identity_provider() {
    let (idp, url) = Idp::start(JWKS_A).await;
    let auth = authenticator(&url, Duration::from_secs(3600), Duration::from_secs(60)).await;
    let fetches = idp.fetches();
    for i in 0..50 {
        let forged = token(&format!("kid-{i}"), RSA_A);
        assert!(matches!(auth.verify(&forged).await, Err(AuthError::Invalid(_))));
    }
    assert_eq!(idp.fetches(), fetches, "the cold-start fetch was within the cooldown: no refetch");
}

#[tokio::test]
async fn no_keys_at_all_is_a_503_not_a_401() {
    let (idp, url) = Idp::start(JWKS_A).await;
    idp.serve(None);
    let fetcher = Arc::new(HttpJwks::new(&url, Duration::from_secs(2)).unwrap());
    let cache = JwksCache::remote(fetcher, Duration::from_secs(3600), Duration::ZERO);
    assert!(cache.prime().await.is_err());
    let auth = Authenticator::jwks(cache, TokenRules::default());
    assert!(matches!(auth.verify(&token("rsa-a", RSA_A)).await, Err(AuthError::Unavailable(_))));
    idp.serve(Some(JWKS_A));
    assert!(auth.verify(&token("rsa-a", RSA_A)).await.is_ok(), "keys arrive on the next request");
}
