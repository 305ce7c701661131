//! Authentication: who is calling and what they may do. Bearer JWTs are
//! verified against the identity provider's JWKS (RS256/ES256), or, for local
//! development only, an HS256 secret; machine clients use API keys
//! ([`crate::keys`]). The token's subject (or the key's owner) owns the jobs.

pub mod jwks;

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, decode_header, encode};
use jwks::JwksCache;
use serde_json::{Map, Value, json};
use std::collections::BTreeSet;
use std::time::Duration;

/// Scope names (configurable, as identity providers name them differently).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scopes {
    pub read: String,
    pub write: String,
}

impl Default for Scopes {
    fn default() -> Self {
        Scopes { read: "ferry/jobs.read".into(), write: "ferry/jobs.write".into() }
    }
}

/// How the caller proved who they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Jwt,
    ApiKey,
}

/// Who is calling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub subject: String,
    pub scopes: BTreeSet<String>,
    pub method: Method,
}

impl Principal {
    /// `Forbidden` unless the caller was granted `scope`.
    pub fn require(&self, scope: &str) -> Result<(), AuthError> {
        if self.scopes.contains(scope) { Ok(()) } else { Err(AuthError::Forbidden(format!("requires scope {scope}"))) }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("missing credentials: send `Authorization: Bearer <token>` or `x-api-key: <key>`")]
    Missing,
    /// An `Authorization` header that is not `Bearer <token>`.
    #[error("the Authorization header must be `Bearer <token>`: the word Bearer, a space, then the token")]
    NotBearer,
    #[error("token expired")]
    Expired,
    #[error("invalid token: {0}")]
    Invalid(String),
    #[error("invalid API key")]
    InvalidApiKey,
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// The signing keys could not be loaded: the caller may be fine, we are not.
    #[error("authentication unavailable: {0}")]
    Unavailable(String),
}

/// What a token must say besides being signed by a trusted key.
#[derive(Debug, Clone)]
pub struct TokenRules {
    /// `iss` must equal this, when set.
    pub issuer: Option<String>,
    /// `aud` (or, for Cognito access tokens, `client_id`) must be one of these, when any.
    pub audiences: Vec<String>,
    /// `token_use` must equal this (Cognito: `access` or `id`), when set.
    pub token_use: Option<String>,
    /// Clock skew allowed on `exp` and `nbf`.
    pub leeway: Duration,
}

impl Default for TokenRules {
    fn default() -> Self {
        TokenRules { issuer: None, audiences: Vec::new(), token_use: None, leeway: Duration::from_secs(30) }
    }
}

enum Keys {
    /// Local development: one shared secret; Ferry can mint tokens too.
    Hs256 {
        decoding: DecodingKey,
        encoding: EncodingKey,
    },
    Jwks(JwksCache),
}

/// Verifies bearer tokens (and, in HS256 development mode, mints them).
pub struct Authenticator {
    keys: Keys,
    rules: TokenRules,
}

/// Longest subject (a token's `sub`, an API key's owner) accepted, in bytes:
/// it is stored with every job and names the owner's storage prefix.
pub const MAX_SUBJECT_LEN: usize = 256;

impl Authenticator {
    /// Development mode. Secrets shorter than 32 bytes are refused: HS256 is
    /// only as strong as its key.
    pub fn hs256(secret: &[u8]) -> Result<Self, AuthError> {
        if secret.len() < 32 {
            return Err(AuthError::Invalid("HS256 secret must be at least 32 bytes".into()));
        }
        let keys =
            Keys::Hs256 { decoding: DecodingKey::from_secret(secret), encoding: EncodingKey::from_secret(secret) };
        Ok(Authenticator { keys, rules: TokenRules::default() })
    }

    /// Production mode: RS256/ES256 tokens signed by a key of `jwks`; HS256
    /// tokens are refused whatever they carry.
    pub fn jwks(jwks: JwksCache, rules: TokenRules) -> Self {
        Authenticator { keys: Keys::Jwks(jwks), rules }
    }

    pub fn with_rules(mut self, rules: TokenRules) -> Self {
        self.rules = rules;
        self
    }

    pub fn jwks_cache(&self) -> Option<&JwksCache> {
        match &self.keys {
            Keys::Jwks(cache) => Some(cache),
            Keys::Hs256 { .. } => None,
        }
    }

    /// Verifies the value of an `Authorization` header.
    pub async fn verify_header(&self, header: Option<&str>) -> Result<Principal, AuthError> {
        let header = header.ok_or(AuthError::Missing)?;
        let (scheme, token) = header.split_once(' ').ok_or(AuthError::NotBearer)?;
        if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
            return Err(AuthError::NotBearer);
        }
        self.verify(token.trim()).await
    }

    pub async fn verify(&self, token: &str) -> Result<Principal, AuthError> {
        let header = decode_header(token).map_err(malformed)?;
        let key = match &self.keys {
            Keys::Hs256 { decoding, .. } if header.alg == Algorithm::HS256 => decoding.clone(),
            Keys::Jwks(cache) if matches!(header.alg, Algorithm::RS256 | Algorithm::ES256) => {
                cache.key(header.kid.as_deref(), header.alg).await?.key
            }
            _ => return Err(AuthError::Invalid(format!("algorithm {:?} is not accepted", header.alg))),
        };
        let claims = decode::<Map<String, Value>>(token, &key, &self.validation(header.alg))
            .map_err(|e| match e.kind() {
                ErrorKind::ExpiredSignature => AuthError::Expired,
                ErrorKind::ImmatureSignature => AuthError::Invalid("token not yet valid".into()),
                ErrorKind::InvalidIssuer => AuthError::Invalid("wrong issuer".into()),
                ErrorKind::InvalidSignature => self.bad_signature(),
                ErrorKind::MissingRequiredClaim(claim) => AuthError::Invalid(format!("missing claim {claim}")),
                _ => AuthError::Invalid(e.to_string()),
            })?
            .claims;
        self.check_claims(&claims)?;
        let subject = claims["sub"].as_str().unwrap_or_default().to_owned();
        Ok(Principal { subject, scopes: scopes_of(&claims), method: Method::Jwt })
    }

    /// In development mode the usual cause is a token from another data
    /// directory (another secret), so the answer says so.
    fn bad_signature(&self) -> AuthError {
        match self.keys {
            Keys::Hs256 { .. } => AuthError::Invalid(
                "bad signature: the token was not signed with this server's secret (a `ferry token` works \
                 only with a server of the same --data-dir or FERRY_JWT_SECRET)"
                    .into(),
            ),
            Keys::Jwks(_) => AuthError::Invalid("bad signature".into()),
        }
    }

    fn validation(&self, algorithm: Algorithm) -> Validation {
        let mut validation = Validation::new(algorithm);
        validation.algorithms = vec![algorithm];
        validation.set_required_spec_claims(&["exp", "sub"]);
        validation.leeway = self.rules.leeway.as_secs();
        validation.validate_nbf = true;
        // Checked by hand: Cognito access tokens carry client_id, not aud.
        validation.validate_aud = false;
        if let Some(issuer) = &self.rules.issuer {
            validation.set_issuer(&[issuer]);
            validation.required_spec_claims.insert("iss".into());
        }
        validation
    }

    fn check_claims(&self, claims: &Map<String, Value>) -> Result<(), AuthError> {
        match claims.get("sub").and_then(Value::as_str) {
            Some(sub) if !sub.is_empty() && sub.len() <= MAX_SUBJECT_LEN => {}
            _ => return Err(AuthError::Invalid("sub must be a non-empty string".into())),
        }
        if !self.rules.audiences.is_empty() {
            let mut presented = strings(claims.get("aud")).chain(strings(claims.get("client_id")));
            if !presented.any(|a| self.rules.audiences.iter().any(|want| want == a)) {
                return Err(AuthError::Invalid("wrong audience".into()));
            }
        }
        if let Some(want) = &self.rules.token_use
            && claims.get("token_use").and_then(Value::as_str) != Some(want)
        {
            return Err(AuthError::Invalid(format!("token_use must be {want}")));
        }
        Ok(())
    }

    /// An HS256 token for `subject` with the read and write scopes
    /// (development mode only).
    pub fn mint(&self, subject: &str, ttl: Duration) -> Result<String, AuthError> {
        let scopes = Scopes::default();
        let now = unix_now();
        self.mint_claims(json!({
            "sub": subject, "iat": now, "exp": now + ttl.as_secs(),
            "scope": format!("{} {}", scopes.read, scopes.write),
        }))
    }

    /// An HS256 token with exactly these claims (development mode only).
    pub fn mint_claims(&self, claims: Value) -> Result<String, AuthError> {
        let Keys::Hs256 { encoding, .. } = &self.keys else {
            return Err(AuthError::Invalid("tokens are minted only in HS256 development mode".into()));
        };
        encode(&Header::new(Algorithm::HS256), &claims, encoding).map_err(|e| AuthError::Invalid(e.to_string()))
    }

    /// A token that expired `ago` in the past, for tests of expiry.
    pub fn mint_expired(&self, subject: &str, ago: Duration) -> Result<String, AuthError> {
        let now = unix_now();
        self.mint_claims(json!({"sub": subject, "iat": now - ago.as_secs() - 60, "exp": now - ago.as_secs()}))
    }
}

/// A token whose header cannot be read, with what a token should look like.
fn malformed(e: jsonwebtoken::errors::Error) -> AuthError {
    let why = match e.kind() {
        ErrorKind::InvalidToken => "not a JWT (expected three base64url parts separated by dots)".to_owned(),
        ErrorKind::Base64(_) => "its header is not base64url".to_owned(),
        ErrorKind::Json(_) | ErrorKind::Utf8(_) => "its header is not JSON".to_owned(),
        _ => e.to_string(),
    };
    AuthError::Invalid(format!("malformed token: {why}"))
}

/// `scope` (space-separated, OAuth 2 / Cognito) and `scp` (a list, or a string).
fn scopes_of(claims: &Map<String, Value>) -> BTreeSet<String> {
    let spaced = claims.get("scope").and_then(Value::as_str).into_iter().flat_map(str::split_whitespace);
    let listed = strings(claims.get("scp")).flat_map(str::split_whitespace);
    spaced.chain(listed).map(str::to_owned).collect()
}

/// A claim that may be one string or a list of strings.
fn strings(value: Option<&Value>) -> impl Iterator<Item = &str> {
    let list: Vec<&str> = match value {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    list.into_iter()
}

pub fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    #[tokio::test]
    async fn minted_tokens_verify_and_others_do_not() {
        let auth = Authenticator::hs256(SECRET).unwrap();
        let token = auth.mint("alice", Duration::from_secs(60)).unwrap();
        let alice = auth.verify(&token).await.unwrap();
        assert_eq!(alice.subject, "alice");
        assert!(alice.require("ferry/jobs.write").is_ok());
        assert_eq!(auth.verify_header(Some(&format!("Bearer {token}"))).await.unwrap().subject, "alice");

        let other = Authenticator::hs256(b"another-secret-of-at-least-32-bytes!").unwrap();
        assert!(matches!(other.verify(&token).await, Err(AuthError::Invalid(_))));
        assert_eq!(auth.verify_header(None).await, Err(AuthError::Missing));
        assert_eq!(auth.verify_header(Some("Basic abc")).await, Err(AuthError::NotBearer));
        assert_eq!(auth.verify_header(Some("eyJhbGciOi.x.y")).await, Err(AuthError::NotBearer));
        let Err(AuthError::Invalid(why)) = auth.verify_header(Some("Bearer abc")).await else { panic!() };
        assert_eq!(why, "malformed token: not a JWT (expected three base64url parts separated by dots)");
        let other = Authenticator::hs256(b"another-secret-another-secret-another").unwrap();
        let Err(AuthError::Invalid(why)) = auth.verify(&other.mint("a", Duration::from_secs(60)).unwrap()).await else {
            panic!()
        };
        assert!(why.contains("not signed with this server's secret"), "{why}");
        let expired = auth.mint_expired("alice", Duration::from_secs(3600)).unwrap();
        assert_eq!(auth.verify(&expired).await, Err(AuthError::Expired));
    }

    #[tokio::test]
    async fn scopes_come_from_scope_or_scp() {
        let auth = Authenticator::hs256(SECRET).unwrap();
        let exp = unix_now() + 60;
        let token = auth.mint_claims(json!({"sub": "a", "exp": exp, "scp": ["x", "y z"]})).unwrap();
        let scopes: Vec<String> = auth.verify(&token).await.unwrap().scopes.into_iter().collect();
        assert_eq!(scopes, ["x", "y", "z"]);
        let bare = auth.mint_claims(json!({"sub": "a", "exp": exp})).unwrap();
        let principal = auth.verify(&bare).await.unwrap();
        assert!(matches!(principal.require("ferry/jobs.read"), Err(AuthError::Forbidden(_))));
    }

    #[test]
    fn short_secrets_are_refused() {
        assert!(Authenticator::hs256(b"short").is_err());
    }
}
