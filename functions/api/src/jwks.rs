//! Fetches the identity provider's JWKS over HTTPS, with a timeout.

use async_trait::async_trait;
use ferry_core::FetchJwks;
use jsonwebtoken::jwk::JwkSet;
use std::time::Duration;

/// JWKS documents are a few KB; anything much larger is not one.
const MAX_JWKS_BYTES: usize = 256 * 1024;

pub struct HttpJwks {
    url: String,
    client: reqwest::Client,
}

impl HttpJwks {
    pub fn new(url: impl Into<String>, timeout: Duration) -> Result<HttpJwks, String> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| e.to_string())?;
        Ok(HttpJwks { url: url.into(), client })
    }
}

#[async_trait]
impl FetchJwks for HttpJwks {
    async fn fetch(&self) -> Result<JwkSet, String> {
        let response = self.client.get(&self.url).send().await.map_err(|e| format!("GET {}: {e}", self.url))?;
        if !response.status().is_success() {
            return Err(format!("GET {}: HTTP {}", self.url, response.status()));
        }
        let body = response.bytes().await.map_err(|e| format!("GET {}: {e}", self.url))?;
        if body.len() > MAX_JWKS_BYTES {
            return Err(format!("GET {}: {} bytes is too large for a JWKS", self.url, body.len()));
        }
        serde_json::from_slice(&body).map_err(|e| format!("GET {}: not a JWKS: {e}", self.url))
    }
}
