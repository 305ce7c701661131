//! Bearer-token authentication. The token's subject owns the jobs it creates.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, encode, errors::ErrorKind};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Who is calling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub subject: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("missing bearer token")]
    Missing,
    #[error("token expired")]
    Expired,
    #[error("invalid token: {0}")]
    Invalid(String),
}

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    exp: u64,
    iat: u64,
}

/// Verifies (and, for local use, mints) HS256 JWTs with one shared secret.
pub struct Authenticator {
    decoding: DecodingKey,
    encoding: EncodingKey,
    validation: Validation,
}

impl Authenticator {
    /// Secrets shorter than 32 bytes are refused: HS256 is only as strong as its key.
    pub fn hs256(secret: &[u8]) -> Result<Self, AuthError> {
        if secret.len() < 32 {
            return Err(AuthError::Invalid("HS256 secret must be at least 32 bytes".into()));
        }
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_required_spec_claims(&["exp", "sub"]);
        validation.leeway = 30;
        Ok(Authenticator {
            decoding: DecodingKey::from_secret(secret),
            encoding: EncodingKey::from_secret(secret),
            validation,
        })
    }

    pub fn verify(&self, token: &str) -> Result<Principal, AuthError> {
        let data = decode::<Claims>(token, &self.decoding, &self.validation).map_err(|e| match e.kind() {
            ErrorKind::ExpiredSignature => AuthError::Expired,
            _ => AuthError::Invalid(e.to_string()),
        })?;
        if data.claims.sub.is_empty() {
            return Err(AuthError::Invalid("empty subject".into()));
        }
        Ok(Principal { subject: data.claims.sub })
    }

    /// Verifies the value of an `Authorization` header.
    pub fn verify_header(&self, header: Option<&str>) -> Result<Principal, AuthError> {
        let header = header.ok_or(AuthError::Missing)?;
        let (scheme, token) = header.split_once(' ').ok_or(AuthError::Missing)?;
        if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
            return Err(AuthError::Missing);
        }
        self.verify(token.trim())
    }

    pub fn mint(&self, subject: &str, ttl: Duration) -> Result<String, AuthError> {
        let iat = unix_now();
        let claims = Claims { sub: subject.to_owned(), iat, exp: iat + ttl.as_secs() };
        encode(&Header::new(Algorithm::HS256), &claims, &self.encoding).map_err(|e| AuthError::Invalid(e.to_string()))
    }

    /// Mints a token that expired `ago` in the past, for tests of expiry.
    pub fn mint_expired(&self, subject: &str, ago: Duration) -> Result<String, AuthError> {
        let now = unix_now();
        let claims = Claims { sub: subject.to_owned(), iat: now - ago.as_secs() - 60, exp: now - ago.as_secs() };
        encode(&Header::new(Algorithm::HS256), &claims, &self.encoding).map_err(|e| AuthError::Invalid(e.to_string()))
    }
}

fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    #[test]
    fn minted_tokens_verify_and_others_do_not() {
        let auth = Authenticator::hs256(SECRET).unwrap();
        let token = auth.mint("alice", Duration::from_secs(60)).unwrap();
        assert_eq!(auth.verify(&token).unwrap().subject, "alice");
        assert_eq!(auth.verify_header(Some(&format!("Bearer {token}"))).unwrap().subject, "alice");

        let other = Authenticator::hs256(b"another-secret-of-at-least-32-bytes!").unwrap();
        assert!(matches!(other.verify(&token), Err(AuthError::Invalid(_))));
        assert_eq!(auth.verify_header(None), Err(AuthError::Missing));
        assert_eq!(auth.verify_header(Some("Basic abc")), Err(AuthError::Missing));
        let expired = auth.mint_expired("alice", Duration::from_secs(3600)).unwrap();
        assert_eq!(auth.verify(&expired), Err(AuthError::Expired));
    }

    #[test]
    fn short_secrets_are_refused() {
        assert!(Authenticator::hs256(b"short").is_err());
    }
}
