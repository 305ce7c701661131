//! Attacks on authentication: forged, tampered, misdirected and stolen-but-
//! revoked credentials against the router configured as in production (a
//! JWKS with RS256 and ES256 keys, issuer, audience and token_use rules).
//! Every one gets 401 or 403 as problem+json, nothing reaches the store or
//! the queue, and no credential appears in the logs.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ferry_core::auth::unix_now;
use ferry_core::{Authenticator, JwksCache, KeyStore, Limits, NewApiKey, TokenRules};
use ferry_tests::TestApp;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

const ISSUER: &str = "https://idp.example.test/pool-1";
const AUDIENCE: &str = "ferry-api";
const RSA_A: &[u8] = include_bytes!("../fixtures/auth/rsa-a.pem");
const RSA_X: &[u8] = include_bytes!("../fixtures/auth/rsa-x.pem");
const EC_A: &[u8] = include_bytes!("../fixtures/auth/ec-a.pem");
const RSA_A_PUBLIC: &[u8] = include_bytes!("../fixtures/auth/rsa-a.pub.pem");
const JWKS_A: &str = include_str!("../fixtures/auth/jwks-a.json");

pub fn rules() -> TokenRules {
    TokenRules {
        issuer: Some(ISSUER.into()),
        audiences: vec![AUDIENCE.into()],
        token_use: Some("access".into()),
        leeway: Duration::from_secs(30),
    }
}

fn app() -> TestApp {
    let set: JwkSet = serde_json::from_str(JWKS_A).unwrap();
    let auth = Authenticator::jwks(JwksCache::fixed(&set).unwrap(), rules());
    TestApp::with_auth(Limits::default(), auth, |_| {})
}

fn claims(sub: &str) -> Value {
    let now = unix_now();
    json!({
        "sub": sub, "iss": ISSUER, "aud": AUDIENCE, "token_use": "access",
        "iat": now, "exp": now + 600, "scope": "ferry/jobs.read ferry/jobs.write",
    })
}

fn with(mut claims: Value, key: &str, value: Value) -> Value {
    claims[key] = value;
    claims
}

fn without(mut claims: Value, key: &str) -> Value {
    claims.as_object_mut().unwrap().remove(key);
    claims
}

fn sign(alg: Algorithm, kid: Option<&str>, claims: &Value, key: &EncodingKey) -> String {
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_owned);
    encode(&header, claims, key).unwrap()
}

fn rs256(kid: Option<&str>, claims: &Value) -> String {
    sign(Algorithm::RS256, kid, claims, &EncodingKey::from_rsa_pem(RSA_A).unwrap())
}

/// A token assembled by hand: any header at all, and any signature.
fn raw(header: Value, claims: &Value, signature: &[u8]) -> String {
    let part = |v: &Value| URL_SAFE_NO_PAD.encode(v.to_string());
    format!("{}.{}.{}", part(&header), part(claims), URL_SAFE_NO_PAD.encode(signature))
}

/// Where a credential goes.
enum Cred {
    Authorization(String),
    ApiKey(String),
    Query(String),
}

fn create_job(cred: &Cred) -> Request<Body> {
    let mut uri = "/v1/jobs".to_string();
    let mut builder = Request::builder().method("POST").header(header::CONTENT_TYPE, "application/json");
    match cred {
        Cred::Authorization(value) => builder = builder.header(header::AUTHORIZATION, value),
        Cred::ApiKey(key) => builder = builder.header("x-api-key", key),
        Cred::Query(token) => uri = format!("{uri}?access_token={token}"),
    }
    builder.uri(uri).body(Body::from(r#"{"task":"sentiment","input":"I love it"}"#)).unwrap()
}

fn bearer(token: &str) -> Cred {
    Cred::Authorization(format!("Bearer {token}"))
}

/// The attacks: (name, credential, expected status, expected problem type).
fn attacks(keys: &Keys) -> Vec<(&'static str, Cred, StatusCode, &'static str)> {
    let good = claims("mallory");
    let hs_with_public_key = sign(Algorithm::HS256, Some("rsa-a"), &good, &EncodingKey::from_secret(RSA_A_PUBLIC));
    let wrong_key = sign(Algorithm::RS256, Some("rsa-a"), &good, &EncodingKey::from_rsa_pem(RSA_X).unwrap());
    let es_key = EncodingKey::from_ec_pem(EC_A).unwrap();
    let mut tampered: Vec<String> = rs256(Some("rsa-a"), &good).split('.').map(str::to_owned).collect();
    tampered[1] = URL_SAFE_NO_PAD.encode(claims("alice").to_string());
    let tampered = tampered.join(".");
    let valid = rs256(Some("rsa-a"), &good);
    let read_only = rs256(Some("rsa-a"), &with(good.clone(), "scope", json!("ferry/jobs.read")));
    let signature = URL_SAFE_NO_PAD.encode(b"0123456789abcdef0123456789abcdef");
    use StatusCode as S;
    let (unauthorized, forbidden) = (S::UNAUTHORIZED, S::FORBIDDEN);
    vec![
        ("alg none", bearer(&raw(json!({"alg": "none", "typ": "JWT"}), &good, b"")), unauthorized, "invalid-token"),
        (
            "alg None, signature kept",
            bearer(&raw(json!({"alg": "None"}), &good, b"sig")),
            unauthorized,
            "invalid-token",
        ),
        ("HS256 signed with the RSA public key", bearer(&hs_with_public_key), unauthorized, "invalid-token"),
        (
            "HS256 with a guessed secret",
            bearer(&sign(Algorithm::HS256, None, &good, &EncodingKey::from_secret(&[7; 32]))),
            unauthorized,
            "invalid-token",
        ),
        ("RS256 signed with a key not in the JWKS", bearer(&wrong_key), unauthorized, "invalid-token"),
        (
            "unknown kid",
            bearer(&sign(Algorithm::RS256, Some("rsa-z"), &good, &EncodingKey::from_rsa_pem(RSA_X).unwrap())),
            unauthorized,
            "invalid-token",
        ),
        ("no kid, several keys", bearer(&rs256(None, &good)), unauthorized, "invalid-token"),
        (
            "ES256 token naming the RSA key",
            bearer(&sign(Algorithm::ES256, Some("rsa-a"), &good, &es_key)),
            unauthorized,
            "invalid-token",
        ),
        ("RS256 token naming the EC key", bearer(&rs256(Some("ec-a"), &good)), unauthorized, "invalid-token"),
        (
            "RS384 with the right key",
            bearer(&sign(Algorithm::RS384, Some("rsa-a"), &good, &EncodingKey::from_rsa_pem(RSA_A).unwrap())),
            unauthorized,
            "invalid-token",
        ),
        (
            "PS256 with the right key",
            bearer(&sign(Algorithm::PS256, Some("rsa-a"), &good, &EncodingKey::from_rsa_pem(RSA_A).unwrap())),
            unauthorized,
            "invalid-token",
        ),
        (
            "expired",
            bearer(&rs256(Some("rsa-a"), &with(good.clone(), "exp", json!(unix_now() - 120)))),
            unauthorized,
            "token-expired",
        ),
        (
            "not yet valid (nbf in an hour)",
            bearer(&rs256(Some("rsa-a"), &with(good.clone(), "nbf", json!(unix_now() + 3600)))),
            unauthorized,
            "invalid-token",
        ),
        (
            "wrong issuer",
            bearer(&rs256(Some("rsa-a"), &with(good.clone(), "iss", json!("https://evil.example/")))),
            unauthorized,
            "invalid-token",
        ),
        ("no issuer", bearer(&rs256(Some("rsa-a"), &without(good.clone(), "iss"))), unauthorized, "invalid-token"),
        (
            "wrong audience",
            bearer(&rs256(Some("rsa-a"), &with(good.clone(), "aud", json!("another-api")))),
            unauthorized,
            "invalid-token",
        ),
        ("no audience", bearer(&rs256(Some("rsa-a"), &without(good.clone(), "aud"))), unauthorized, "invalid-token"),
        (
            "an ID token where access tokens are required",
            bearer(&rs256(Some("rsa-a"), &with(good.clone(), "token_use", json!("id")))),
            unauthorized,
            "invalid-token",
        ),
        ("no sub", bearer(&rs256(Some("rsa-a"), &without(good.clone(), "sub"))), unauthorized, "invalid-token"),
        (
            "empty sub",
            bearer(&rs256(Some("rsa-a"), &with(good.clone(), "sub", json!("")))),
            unauthorized,
            "invalid-token",
        ),
        (
            "sub of 300 characters",
            bearer(&rs256(Some("rsa-a"), &with(good.clone(), "sub", json!("m".repeat(300))))),
            unauthorized,
            "invalid-token",
        ),
        ("no exp", bearer(&rs256(Some("rsa-a"), &without(good.clone(), "exp"))), unauthorized, "invalid-token"),
        (
            "exp that is not a number",
            bearer(&rs256(Some("rsa-a"), &with(good.clone(), "exp", json!("never")))),
            unauthorized,
            "invalid-token",
        ),
        ("tampered payload (sub changed)", bearer(&tampered), unauthorized, "invalid-token"),
        ("truncated token", bearer(&valid[..valid.len() - 12]), unauthorized, "invalid-token"),
        ("two segments", bearer(&valid[..valid.rfind('.').unwrap()]), unauthorized, "invalid-token"),
        (
            "signature of another token",
            bearer(&format!("{}.{signature}", &valid[..valid.rfind('.').unwrap()])),
            unauthorized,
            "invalid-token",
        ),
        ("garbage", bearer("not-a-token-at-all"), unauthorized, "invalid-token"),
        ("empty bearer", Cred::Authorization("Bearer ".into()), unauthorized, "missing-token"),
        ("Basic scheme", Cred::Authorization("Basic bWFsbG9yeTpodW50ZXIy".into()), unauthorized, "missing-token"),
        ("token without a scheme", Cred::Authorization(valid.clone()), unauthorized, "missing-token"),
        ("token in x-api-key", Cred::ApiKey(valid.clone()), unauthorized, "invalid-api-key"),
        ("token in the query string", Cred::Query(valid.clone()), unauthorized, "missing-token"),
        ("read scope only, creating a job", bearer(&read_only), forbidden, "insufficient-scope"),
        (
            "no scopes at all",
            bearer(&rs256(Some("rsa-a"), &without(good.clone(), "scope"))),
            forbidden,
            "insufficient-scope",
        ),
        ("revoked API key", Cred::ApiKey(keys.revoked.clone()), unauthorized, "invalid-api-key"),
        ("API key of a disabled owner", Cred::ApiKey(keys.disabled_owner.clone()), unauthorized, "invalid-api-key"),
        ("API key with a changed secret", Cred::ApiKey(keys.tampered.clone()), unauthorized, "invalid-api-key"),
        ("API key nobody issued", Cred::ApiKey(keys.unknown.clone()), unauthorized, "invalid-api-key"),
        ("API key with the read scope only", Cred::ApiKey(keys.read_only.clone()), forbidden, "insufficient-scope"),
    ]
}

struct Keys {
    good: String,
    revoked: String,
    disabled_owner: String,
    tampered: String,
    unknown: String,
    read_only: String,
}

async fn issue(store: &dyn KeyStore, owner: &str, scopes: &[&str]) -> NewApiKey {
    let scopes: Vec<String> = scopes.iter().map(|s| s.to_string()).collect();
    let new = NewApiKey::generate(owner, &scopes);
    store.put_key(&new.record).await.unwrap();
    new
}

async fn keys(store: &dyn KeyStore) -> Keys {
    let both = ["ferry/jobs.read", "ferry/jobs.write"];
    let good = issue(store, "etl-good", &both).await.key;
    let revoked = issue(store, "mallory", &both).await;
    assert!(store.set_key_enabled(&revoked.record.id, false).await.unwrap());
    let disabled_owner = issue(store, "mallory-corp", &both).await.key;
    store.set_owner_enabled("mallory-corp", false).await.unwrap();
    let mut tampered = issue(store, "mallory", &both).await.key;
    let last = tampered.pop().unwrap();
    tampered.push(if last == '0' { '1' } else { '0' });
    let unknown = NewApiKey::generate("mallory", &[]).key;
    let read_only = issue(store, "mallory", &["ferry/jobs.read"]).await.key;
    Keys { good, revoked: revoked.key, disabled_owner, tampered, unknown, read_only }
}

#[tokio::test]
async fn forged_and_wrong_credentials_are_refused_and_change_nothing() {
    let logs = ferry_tests::logs::LogCapture::global();
    let app = app();
    let keys = keys(app.keys.as_ref()).await;
    let attacks = attacks(&keys);
    assert!(attacks.len() >= 25, "{} attacks", attacks.len());
    let mut secrets = Vec::new();
    for (name, cred, status, kind) in &attacks {
        let (got, headers, body) = app.call(create_job(cred)).await;
        assert_eq!(got, *status, "{name}: {body}");
        assert_eq!(headers[header::CONTENT_TYPE], "application/problem+json", "{name}");
        assert_eq!(body["type"], format!("urn:ferry:problem:{kind}"), "{name}: {body}");
        secrets.push(match cred {
            Cred::Authorization(v) | Cred::ApiKey(v) | Cred::Query(v) => v.clone(),
        });
    }
    // Nothing was written: no job for anyone named in the tokens, nothing queued.
    for owner in ["mallory", "alice", "mallory-corp"] {
        assert!(app.store.list_jobs(owner, None, None, 10).await.unwrap().is_empty(), "{owner} has jobs");
    }
    assert_eq!(app.queue.depth().await.unwrap(), 0, "nothing queued");

    // The controls: the same router accepts the real thing.
    let es256 = sign(Algorithm::ES256, Some("ec-a"), &claims("alice"), &EncodingKey::from_ec_pem(EC_A).unwrap());
    let cognito_access = rs256(Some("rsa-a"), &with(without(claims("alice"), "aud"), "client_id", json!(AUDIENCE)));
    let within_leeway = rs256(Some("rsa-a"), &with(claims("alice"), "exp", json!(unix_now() - 5)));
    for (name, cred) in [
        ("RS256", bearer(&rs256(Some("rsa-a"), &claims("alice")))),
        ("ES256", bearer(&es256)),
        ("Cognito access token (client_id, no aud)", bearer(&cognito_access)),
        ("expired 5 s ago, within the 30 s leeway", bearer(&within_leeway)),
        ("API key", Cred::ApiKey(keys.good.clone())),
    ] {
        let (got, _, body) = app.call(create_job(&cred)).await;
        assert_eq!(got, StatusCode::ACCEPTED, "{name}: {body}");
        secrets.push(match cred {
            Cred::Authorization(v) | Cred::ApiKey(v) | Cred::Query(v) => v,
        });
    }
    assert_eq!(app.queue.depth().await.unwrap(), 5);

    // No credential, nor any signature or key secret in it, was logged.
    let logs = logs.text();
    assert!(logs.contains("job queued"), "the capture works: {logs}");
    for secret in secrets {
        let tail = secret.rsplit(['.', '_', ' ']).next().unwrap_or_default();
        if tail.len() >= 16 {
            assert!(!logs.contains(tail), "a credential was logged: …{}", &tail[..8]);
        }
    }
}

#[tokio::test]
async fn tenants_cannot_see_or_touch_each_others_jobs() {
    let app = TestApp::new(Limits::default());
    let (status, job) =
        app.send("POST", "/v1/jobs", Some("alice"), Some(json!({"task": "sentiment", "input": "hi"}))).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let id = job["id"].as_str().unwrap();
    for (method, uri) in [
        ("GET", format!("/v1/jobs/{id}")),
        ("GET", format!("/v1/jobs/{id}/results")),
        ("GET", format!("/v1/jobs/{id}/results?cursor=0")),
        ("DELETE", format!("/v1/jobs/{id}")),
    ] {
        let (status, body) = app.send(method, &uri, Some("bob"), None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{method} {uri}: {body}");
        assert_eq!(body["type"], "urn:ferry:problem:not-found");
    }
    let (_, listed) = app.send("GET", "/v1/jobs", Some("bob"), None).await;
    assert_eq!(listed["jobs"], json!([]));
    let (status, still) = app.send("GET", &format!("/v1/jobs/{id}"), Some("alice"), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(still["status"], "queued", "bob's DELETE did not cancel it");
}

#[tokio::test]
async fn each_caller_has_a_rate_limit() {
    let app = TestApp::with_auth(Limits::default(), Authenticator::hs256(ferry_tests::SECRET).unwrap(), |state| {
        state.rate_limit = Some(Arc::new(ferry_api::rate::RateLimit::new(
            std::num::NonZeroU32::new(1).unwrap(),
            std::num::NonZeroU32::new(3).unwrap(),
        )));
    });
    // Each answer says how much of the burst of 3 (refilled in 3 s) is left.
    for left in [2, 1, 0] {
        let (status, headers, _) =
            app.call(ferry_tests::request("GET", "/v1/models", Some(&app.token("alice")), None)).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(headers["ratelimit-policy"], "\"per-caller\";q=3;w=3");
        let state = headers["ratelimit"].to_str().unwrap();
        assert!(state.starts_with(&format!("\"per-caller\";r={left};t=")), "{state}");
    }
    let (status, headers, body) =
        app.call(ferry_tests::request("GET", "/v1/models", Some(&app.token("alice")), None)).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(body["type"], "urn:ferry:problem:rate-limited");
    let retry_after: u64 = headers[header::RETRY_AFTER].to_str().unwrap().parse().unwrap();
    assert!((1..=2).contains(&retry_after), "{retry_after}");
    assert!(headers["ratelimit"].to_str().unwrap().starts_with("\"per-caller\";r=0;"), "{headers:?}");
    // Someone else is not held back by alice.
    assert_eq!(app.send("GET", "/v1/models", Some("bob"), None).await.0, StatusCode::OK);
}
