//! Fetches the identity provider's JWKS over HTTPS, with a timeout.

use async_trait::async_trait;
use ferry_core::FetchJwks;
use ferry_core::auth::jwks::JwksError;
use jsonwebtoken::jwk::JwkSet;
use std::time::Duration;

/// JWKS documents are a few KB; anything much larger is not one.
const MAX_JWKS_BYTES: usize = 256 * 1024;

pub struct HttpJwks {
    url: String,
    client: reqwest::Client,
}

impl HttpJwks {
    pub fn new(url: impl Into<String>, timeout: Duration) -> Result<HttpJwks, reqwest::Error> {
        let client = reqwest::Client::builder()
            .use_preconfigured_tls(ferry_core::tls::client_config())
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(HttpJwks { url: url.into(), client })
    }
}

#[async_trait]
impl FetchJwks for HttpJwks {
    async fn fetch(&self) -> Result<JwkSet, JwksError> {
        let failed = |why: String| JwksError::Fetch(format!("GET {}: {why}", self.url));
        let response = self.client.get(&self.url).send().await.map_err(|e| failed(e.to_string()))?;
        if !response.status().is_success() {
            return Err(failed(format!("HTTP {}", response.status())));
        }
        let body = response.bytes().await.map_err(|e| failed(e.to_string()))?;
        if body.len() > MAX_JWKS_BYTES {
            return Err(failed(format!("{} bytes is too large for a JWKS", body.len())));
        }
        serde_json::from_slice(&body).map_err(|e| failed(format!("not a JWKS: {e}")))
    }
}
