//! API keys for machine clients (`x-api-key`). A key is shown once, when it is
//! created; the store keeps only its SHA-256, the owner, the scopes and whether
//! it is enabled. Keys look like `fry_<id>_<secret>`: the id finds the record
//! (and names the key in `ferry keys list/revoke`), the secret proves it.

use crate::ports::StoreError;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use time::OffsetDateTime;

const PREFIX: &str = "fry_";
const ID_BYTES: usize = 8;
const SECRET_BYTES: usize = 32;

/// A stored key: everything but the key itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKeyRecord {
    /// 16 lower-case hex characters; public.
    pub id: String,
    pub owner: String,
    pub scopes: Vec<String>,
    pub enabled: bool,
    /// Hex SHA-256 of the whole key.
    pub hash: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// A freshly generated key: the record to store and the key to show once.
#[derive(Debug)]
pub struct NewApiKey {
    pub record: ApiKeyRecord,
    pub key: String,
}

impl NewApiKey {
    /// A new random key for `owner` with `scopes`.
    pub fn generate(owner: &str, scopes: &[String]) -> NewApiKey {
        let id = hex::encode(random::<ID_BYTES>());
        let secret = hex::encode(random::<SECRET_BYTES>());
        let key = format!("{PREFIX}{id}_{secret}");
        let record = ApiKeyRecord {
            id,
            owner: owner.to_owned(),
            scopes: scopes.to_vec(),
            enabled: true,
            hash: hash_key(&key),
            created_at: crate::job::now(),
        };
        NewApiKey { record, key }
    }
}

/// The id of a presented key, if it has the shape of one.
pub fn key_id(presented: &str) -> Option<&str> {
    let rest = presented.strip_prefix(PREFIX)?;
    let (id, secret) = rest.split_once('_')?;
    let well_formed = id.len() == 2 * ID_BYTES
        && secret.len() == 2 * SECRET_BYTES
        && id.bytes().chain(secret.bytes()).all(|b| b.is_ascii_hexdigit());
    well_formed.then_some(id)
}

/// Whether `presented` is the key `record` was made from. Compares hashes in
/// constant time, so timing reveals nothing about how much of a guess matched.
pub fn key_matches(record: &ApiKeyRecord, presented: &str) -> bool {
    hash_key(presented).as_bytes().ct_eq(record.hash.as_bytes()).into()
}

fn hash_key(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

fn random<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).expect("the operating system's random source");
    bytes
}

/// Where API keys and disabled owners are kept (SQLite locally, DynamoDB in AWS).
#[async_trait]
pub trait KeyStore: Send + Sync + 'static {
    /// Stores a new key record (ids are random; an existing id is an error).
    async fn put_key(&self, record: &ApiKeyRecord) -> Result<(), StoreError>;
    async fn get_key(&self, id: &str) -> Result<Option<ApiKeyRecord>, StoreError>;
    /// All keys, oldest first.
    async fn list_keys(&self) -> Result<Vec<ApiKeyRecord>, StoreError>;
    /// Enables or revokes a key; false when there is no such key.
    async fn set_key_enabled(&self, id: &str, enabled: bool) -> Result<bool, StoreError>;
    /// Disables (or re-enables) every key of an owner at once.
    async fn set_owner_enabled(&self, owner: &str, enabled: bool) -> Result<(), StoreError>;
    /// Owners are enabled unless disabled with `set_owner_enabled`.
    async fn owner_enabled(&self, owner: &str) -> Result<bool, StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_match_only_themselves() {
        let new = NewApiKey::generate("etl", &["ferry/jobs.write".into()]);
        assert_eq!(key_id(&new.key), Some(new.record.id.as_str()));
        assert!(key_matches(&new.record, &new.key));
        assert!(!new.record.hash.contains(&new.key[4..]), "the key itself is not stored");

        let other = NewApiKey::generate("etl", &[]);
        assert_ne!(other.key, new.key);
        assert!(!key_matches(&new.record, &other.key));
        let mut tampered = new.key.clone();
        tampered.pop();
        tampered.push(if new.key.ends_with('0') { '1' } else { '0' });
        assert!(!key_matches(&new.record, &tampered));
    }

    #[test]
    fn malformed_keys_have_no_id() {
        for bad in
            ["", "fry_", "fry_abc_def", "sk_0123456789abcdef_00", &format!("fry_{}_{}", "g".repeat(16), "0".repeat(64))]
        {
            assert_eq!(key_id(bad), None, "{bad}");
        }
    }
}
