//! What authentication costs per request: the router (in process, no network)
//! answering `GET /v1/models` with each kind of credential, against
//! `GET /healthz`, which needs none.
//!
//!   cargo run -p ferry-tests --example auth_bench [-- REQUESTS]   (default 3000)
//!
//! API keys are looked up in SQLite (a temporary file), as `ferry serve` does.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use ferry_core::auth::unix_now;
use ferry_core::{Authenticator, JwksCache, Limits, NewApiKey, TokenRules};
use ferry_tests::TestApp;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::json;
use std::time::{Duration, Instant};

const JWKS: &str = include_str!("../fixtures/auth/jwks-a.json");
const RSA_A: &[u8] = include_bytes!("../fixtures/auth/rsa-a.pem");
const EC_A: &[u8] = include_bytes!("../fixtures/auth/ec-a.pem");

fn signed(alg: Algorithm, kid: &str, key: &EncodingKey) -> String {
    let mut header = Header::new(alg);
    header.kid = Some(kid.into());
    let claims = json!({"sub": "bench", "exp": unix_now() + 3600, "scope": "ferry/jobs.read ferry/jobs.write"});
    encode(&header, &claims, key).unwrap()
}

async fn measure(app: &TestApp, path: &str, credential: Option<(&str, String)>, n: usize) -> Vec<Duration> {
    let mut times = Vec::with_capacity(n);
    for i in 0..n + n / 10 {
        let mut builder = Request::builder().uri(path);
        if let Some((name, value)) = &credential {
            builder = builder.header(*name, value);
        }
        let started = Instant::now();
        let (status, _, _) = app.call(builder.body(Body::empty()).unwrap()).await;
        let elapsed = started.elapsed();
        assert_eq!(status, StatusCode::OK, "{path}");
        if i >= n / 10 {
            times.push(elapsed); // the first tenth warms up
        }
    }
    times.sort();
    times
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize].as_secs_f64() * 1e6
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let n: usize = std::env::args().nth(1).map_or(3000, |a| a.parse().expect("a number of requests"));
    let hs = TestApp::new(Limits::default());
    let set: JwkSet = serde_json::from_str(JWKS).unwrap();
    let jwks = TestApp::with_auth(
        Limits::default(),
        Authenticator::jwks(JwksCache::fixed(&set).unwrap(), TokenRules::default()),
        |_| {},
    );
    let key = NewApiKey::generate("bench", &["ferry/jobs.read".to_string()]);
    hs.keys.put_key(&key.record).await.unwrap();

    let bearer = |t: String| Some((header::AUTHORIZATION.as_str(), format!("Bearer {t}")));
    let rs256 = signed(Algorithm::RS256, "rsa-a", &EncodingKey::from_rsa_pem(RSA_A).unwrap());
    let es256 = signed(Algorithm::ES256, "ec-a", &EncodingKey::from_ec_pem(EC_A).unwrap());
    let baseline = measure(&hs, "/healthz", None, n).await;
    let base_p50 = percentile(&baseline, 0.5);
    println!("| credential | p50 µs | p99 µs | p50 overhead µs |");
    println!("|---|---:|---:|---:|");
    println!("| none (`/healthz`) | {base_p50:.1} | {:.1} | — |", percentile(&baseline, 0.99));
    let cases = [
        ("HS256 (dev)", &hs, bearer(hs.token("bench"))),
        ("RS256 (JWKS)", &jwks, bearer(rs256)),
        ("ES256 (JWKS)", &jwks, bearer(es256)),
        ("API key (SQLite)", &hs, Some(("x-api-key", key.key.clone()))),
    ];
    for (name, app, credential) in cases {
        let times = measure(app, "/v1/models", credential, n).await;
        let (p50, p99) = (percentile(&times, 0.5), percentile(&times, 0.99));
        println!("| {name} | {p50:.1} | {p99:.1} | {:.1} |", p50 - base_p50);
    }
    println!("\n{n} requests each, in process; {} CPU(s)", std::thread::available_parallelism().map_or(1, |n| n.get()));
}
