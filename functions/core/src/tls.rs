//! The TLS client configuration of Ferry's own HTTP calls (JWKS fetches,
//! webhook deliveries): rustls on aws-lc-rs, the crypto library the AWS SDK
//! already brings, so the binaries carry one (reqwest would otherwise
//! reach for ring), with the Mozilla roots compiled in (a Lambda
//! environment's own trust store is not needed).

use std::sync::Arc;

/// A client configuration for `reqwest::ClientBuilder::use_preconfigured_tls`.
pub fn client_config() -> rustls::ClientConfig {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
    rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("aws-lc-rs supports the default protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_configuration_builds_with_roots() {
        let config = super::client_config();
        assert!(!config.crypto_provider().cipher_suites.is_empty());
    }
}
