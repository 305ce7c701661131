//! Signed upload URLs for stores without presigned URLs of their own (the
//! local file store). Like an S3 presigned PUT, the URL itself is the
//! credential: it names one owner's document, its content type, its exact
//! size and an expiry, and carries an HMAC-SHA256 over all of them.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::collections::HashMap;

type HmacSha256 = Hmac<Sha256>;

/// Label the signing key is derived under, so a key shared with other uses
/// (the JWT secret) never signs an upload grant directly.
const DERIVATION_LABEL: &[u8] = b"ferry upload url v1";
/// First line of every signed string: a version, so a future format can't be
/// confused with this one.
const CANONICAL_VERSION: &str = "ferry-upload-v1";
/// The query parameters of a signed URL, all required, none other allowed.
const PARAMS: [&str; 5] = ["owner", "content_type", "size", "expires", "signature"];

/// What one signed URL allows: one PUT of `size` bytes of `content_type` to
/// `owner`'s document `document_id`, until `expires` (unix seconds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadGrant {
    pub owner: String,
    pub document_id: String,
    pub content_type: String,
    pub size: u64,
    pub expires: u64,
}

/// Why a signed URL was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UploadRefusal {
    /// A parameter missing, repeated, unknown or unreadable.
    #[error("malformed upload URL: {0}")]
    Malformed(String),
    /// The signature does not cover these parameters under this key.
    #[error("the upload URL's signature does not match")]
    BadSignature,
    #[error("the upload URL expired")]
    Expired,
}

/// Signs and verifies upload grants with one key.
#[derive(Clone)]
pub struct UploadSigner {
    key: Vec<u8>,
}

impl std::fmt::Debug for UploadSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UploadSigner { key: <redacted> }")
    }
}

impl UploadSigner {
    pub fn new(key: impl Into<Vec<u8>>) -> Self {
        UploadSigner { key: key.into() }
    }

    /// A signer whose key is HMAC(secret, "ferry upload url v1"): a secret
    /// that already exists (the JWT secret) serves, and no token can be
    /// turned into an upload signature or the other way round.
    pub fn derived_from(secret: &[u8]) -> Self {
        let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes keys of any length");
        mac.update(DERIVATION_LABEL);
        Self::new(mac.finalize().into_bytes().to_vec())
    }

    /// The query string of the URL granting `grant` (without the `?`).
    pub fn sign(&self, grant: &UploadGrant) -> String {
        let signature = hex::encode(self.mac(grant).finalize().into_bytes());
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair("owner", &grant.owner)
            .append_pair("content_type", &grant.content_type)
            .append_pair("size", &grant.size.to_string())
            .append_pair("expires", &grant.expires.to_string())
            .append_pair("signature", &signature)
            .finish()
    }

    /// The grant that `query` signs for `document_id` (taken from the URL's
    /// path), if the signature matches and `now` (unix seconds) is before
    /// its expiry. The signature is checked before the expiry, so an
    /// attacker's edited `expires` reads as a bad signature.
    pub fn verify(&self, document_id: &str, query: &str, now: u64) -> Result<UploadGrant, UploadRefusal> {
        let mut params = parse_query(query)?;
        let signature = hex::decode(take(&mut params, "signature")?)
            .map_err(|_| UploadRefusal::Malformed("signature is not hex".into()))?;
        let grant = UploadGrant {
            owner: take(&mut params, "owner")?,
            document_id: document_id.to_owned(),
            content_type: take(&mut params, "content_type")?,
            size: number(&mut params, "size")?,
            expires: number(&mut params, "expires")?,
        };
        // `verify_slice` compares in constant time: timing reveals nothing
        // about how much of a guessed signature was right.
        self.mac(&grant).verify_slice(&signature).map_err(|_| UploadRefusal::BadSignature)?;
        if now >= grant.expires {
            return Err(UploadRefusal::Expired);
        }
        Ok(grant)
    }

    fn mac(&self, grant: &UploadGrant) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.key).expect("HMAC takes keys of any length");
        mac.update(canonical(grant).as_bytes());
        mac
    }
}

/// The signed string. Every field is length-prefixed, so no value (one
/// holding `\n`, `&` or digits) can end its field early and start another:
/// two different grants never share a canonical string.
fn canonical(grant: &UploadGrant) -> String {
    let mut out = format!("{CANONICAL_VERSION}\n");
    for field in [&grant.owner, &grant.document_id, &grant.content_type] {
        out.push_str(&format!("{}:{field}\n", field.len()));
    }
    out.push_str(&format!("{}\n{}\n", grant.size, grant.expires));
    out
}

/// The query's parameters, each known and present at most once: a repeated
/// parameter could otherwise mean one thing to the verifier and another to
/// whatever reads the query next.
fn parse_query(query: &str) -> Result<HashMap<String, String>, UploadRefusal> {
    let mut params = HashMap::new();
    for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
        if !PARAMS.contains(&name.as_ref()) {
            return Err(UploadRefusal::Malformed(format!("unknown parameter {name:?}")));
        }
        if params.insert(name.clone().into_owned(), value.into_owned()).is_some() {
            return Err(UploadRefusal::Malformed(format!("parameter {name:?} given twice")));
        }
    }
    Ok(params)
}

fn take(params: &mut HashMap<String, String>, name: &str) -> Result<String, UploadRefusal> {
    params.remove(name).ok_or_else(|| UploadRefusal::Malformed(format!("missing parameter {name:?}")))
}

/// A decimal number in canonical form only (no sign, no leading zeros), so
/// one signed value has exactly one spelling.
fn number(params: &mut HashMap<String, String>, name: &str) -> Result<u64, UploadRefusal> {
    let text = take(params, name)?;
    let value: u64 = text.parse().map_err(|_| UploadRefusal::Malformed(format!("{name} is not a number")))?;
    if value.to_string() != text {
        return Err(UploadRefusal::Malformed(format!("{name} is not in canonical form")));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_700_000_000;

    fn signer() -> UploadSigner {
        UploadSigner::derived_from(b"a-jwt-secret-of-at-least-32-bytes!!")
    }

    fn grant() -> UploadGrant {
        UploadGrant {
            owner: "alice".into(),
            document_id: "0190f0a0-0000-7000-8000-000000000001".into(),
            content_type: "application/pdf".into(),
            size: 1234,
            expires: NOW + 900,
        }
    }

    /// `query` with parameter `name` set to `value` (`None`: removed), the
    /// others kept in order.
    fn edit(query: &str, name: &str, value: Option<&str>) -> String {
        let mut out = url::form_urlencoded::Serializer::new(String::new());
        for (n, v) in url::form_urlencoded::parse(query.as_bytes()) {
            if n != name {
                out.append_pair(&n, &v);
            } else if let Some(value) = value {
                out.append_pair(&n, value);
            }
        }
        out.finish()
    }

    fn with_param(query: &str, name: &str, value: &str) -> String {
        edit(query, name, Some(value))
    }

    #[test]
    fn a_signed_grant_verifies_back_to_itself() {
        let g = grant();
        let query = signer().sign(&g);
        assert_eq!(signer().verify(&g.document_id, &query, NOW), Ok(g.clone()));
        // Until the last second before expiry.
        assert_eq!(signer().verify(&g.document_id, &query, g.expires - 1), Ok(g));
    }

    #[test]
    fn every_tampered_field_is_refused() {
        let g = grant();
        let query = signer().sign(&g);
        for (name, value) in [
            ("size", "1235"),
            ("content_type", "text/plain"),
            ("owner", "bob"),
            ("expires", &(NOW + 90_000).to_string()),
            ("signature", &"0".repeat(64)),
        ] {
            let tampered = with_param(&query, name, value);
            assert_eq!(signer().verify(&g.document_id, &tampered, NOW), Err(UploadRefusal::BadSignature), "{name}");
        }
        let other_id = "0190f0a0-0000-7000-8000-000000000002";
        assert_eq!(signer().verify(other_id, &query, NOW), Err(UploadRefusal::BadSignature));
    }

    #[test]
    fn an_expired_grant_is_refused() {
        let g = UploadGrant { expires: NOW, ..grant() };
        let query = signer().sign(&g);
        assert_eq!(signer().verify(&g.document_id, &query, NOW), Err(UploadRefusal::Expired));
        assert_eq!(signer().verify(&g.document_id, &query, NOW + 1), Err(UploadRefusal::Expired));
    }

    #[test]
    fn another_key_is_refused() {
        let g = grant();
        let query = UploadSigner::derived_from(b"another-secret-of-at-least-32-bytes").sign(&g);
        assert_eq!(signer().verify(&g.document_id, &query, NOW), Err(UploadRefusal::BadSignature));
        // The derived key is not the secret itself.
        let raw = UploadSigner::new(b"a-jwt-secret-of-at-least-32-bytes!!".to_vec()).sign(&g);
        assert_eq!(signer().verify(&g.document_id, &raw, NOW), Err(UploadRefusal::BadSignature));
    }

    #[test]
    fn separators_inside_values_cannot_forge_another_grant() {
        // An owner that smuggles a size parameter and canonical-string lines.
        let g = UploadGrant { owner: "eve&size=1\n5:alice\n&x=1".into(), ..grant() };
        let query = signer().sign(&g);
        assert_eq!(signer().verify(&g.document_id, &query, NOW), Ok(g.clone()));
        // Naive concatenation would make these two grants sign the same string.
        let a = UploadGrant { owner: "ab".into(), content_type: "c".into(), ..grant() };
        let b = UploadGrant { owner: "a".into(), content_type: "bc".into(), ..grant() };
        assert_ne!(canonical(&a), canonical(&b));
        let forged = with_param(&with_param(&signer().sign(&a), "owner", "a"), "content_type", "bc");
        assert_eq!(signer().verify(&b.document_id, &forged, NOW), Err(UploadRefusal::BadSignature));
    }

    #[test]
    fn repeated_unknown_missing_or_odd_parameters_are_refused() {
        let g = grant();
        let query = signer().sign(&g);
        let malformed = |q: &str| matches!(signer().verify(&g.document_id, q, NOW), Err(UploadRefusal::Malformed(_)));
        assert!(malformed(&format!("{query}&size=1")), "repeated");
        assert!(malformed(&format!("size=1&{query}")), "repeated first");
        assert!(malformed(&format!("{query}&extra=1")), "unknown");
        assert!(malformed(&edit(&query, "expires", None)), "missing");
        assert!(malformed(""), "empty");
        assert!(malformed(&with_param(&query, "size", "01234")), "leading zero");
        assert!(malformed(&with_param(&query, "size", "+1234")), "sign");
        assert!(malformed(&with_param(&query, "signature", "zz")), "not hex");
    }

    #[test]
    fn the_signer_never_prints_its_key() {
        assert!(!format!("{:?}", UploadSigner::new(b"sekrit".to_vec())).contains("sekrit"));
    }
}
