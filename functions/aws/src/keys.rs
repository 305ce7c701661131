//! `KeyStore` on the job store's single DynamoDB table (see `dynamo.rs`).
//!
//! | item    | pk               | sk       | other attributes |
//! |---------|------------------|----------|------------------|
//! | API key | `APIKEY#<id>`    | `APIKEY` | id, owner, scopes (list of strings), enabled, hash (hex SHA-256), created_at (RFC 3339) |
//! | owner   | `OWNER#<owner>`  | `OWNER`  | owner, enabled, updated_at |
//!
//! Neither has `expires_at`: keys and owner switches never expire. Neither has
//! `gsi1pk`, so they stay out of the `by-owner` index of jobs. Reads are
//! strongly consistent: a revoked key stops working at once.

use crate::dynamo::{rfc3339, s, unavailable};
use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use ferry_core::{ApiKeyRecord, KeyStore, StoreError};
use std::collections::HashMap;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

type Item = HashMap<String, AttributeValue>;

const KEY_PREFIX: &str = "APIKEY#";
const KEY_SK: &str = "APIKEY";
const OWNER_SK: &str = "OWNER";

/// The DynamoDB key store. Cheap to clone.
#[derive(Clone, Debug)]
pub struct DynamoKeyStore {
    client: Client,
    table: String,
}

impl DynamoKeyStore {
    /// `table`: the single table the job store uses.
    pub fn new(config: &SdkConfig, table: impl Into<String>) -> Self {
        Self::from_client(crate::dynamodb_client(config), table)
    }

    pub fn from_client(client: Client, table: impl Into<String>) -> Self {
        DynamoKeyStore { client, table: table.into() }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn table(&self) -> &str {
        &self.table
    }
}

#[async_trait]
impl KeyStore for DynamoKeyStore {
    async fn put_key(&self, record: &ApiKeyRecord) -> Result<(), StoreError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(key_item(record)))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_conditional_check_failed_exception()) => {
                Err(StoreError::Unavailable(format!("API key id {} is taken", record.id)))
            }
            Err(e) => Err(unavailable("PutItem", e)),
        }
    }

    async fn get_key(&self, id: &str) -> Result<Option<ApiKeyRecord>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key_key(id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| unavailable("GetItem", e))?;
        out.item.as_ref().map(key_from_item).transpose()
    }

    async fn list_keys(&self) -> Result<Vec<ApiKeyRecord>, StoreError> {
        // A Scan of the whole table, keeping only key items: `ferry keys list`
        // is an admin command run rarely, which does not justify an index that
        // every key write would pay for.
        let mut keys = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .scan()
                .table_name(&self.table)
                .filter_expression("sk = :sk AND begins_with(pk, :prefix)")
                .expression_attribute_values(":sk", s(KEY_SK))
                .expression_attribute_values(":prefix", s(KEY_PREFIX))
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| unavailable("Scan", e))?;
            for item in out.items() {
                keys.push(key_from_item(item)?);
            }
            match out.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => break,
            }
        }
        keys.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(keys)
    }

    async fn set_key_enabled(&self, id: &str, enabled: bool) -> Result<bool, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key_key(id)))
            .update_expression("SET #enabled = :enabled")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_names("#enabled", "enabled")
            .expression_attribute_values(":enabled", AttributeValue::Bool(enabled))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_conditional_check_failed_exception()) => Ok(false),
            Err(e) => Err(unavailable("UpdateItem", e)),
        }
    }

    async fn set_owner_enabled(&self, owner: &str, enabled: bool) -> Result<(), StoreError> {
        let mut item = owner_key(owner);
        item.insert("owner".into(), s(owner));
        item.insert("enabled".into(), AttributeValue::Bool(enabled));
        item.insert("updated_at".into(), s(&rfc3339(ferry_core::job::now())));
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|e| unavailable("PutItem", e))?;
        Ok(())
    }

    async fn owner_enabled(&self, owner: &str) -> Result<bool, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(owner_key(owner)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| unavailable("GetItem", e))?;
        match out.item {
            None => Ok(true),
            Some(item) => get_bool(&item, "enabled").map_err(|e| corrupt(&format!("OWNER#{owner}"), e)),
        }
    }
}

fn key_key(id: &str) -> Item {
    HashMap::from([("pk".to_owned(), s(&format!("{KEY_PREFIX}{id}"))), ("sk".to_owned(), s(KEY_SK))])
}

fn owner_key(owner: &str) -> Item {
    HashMap::from([("pk".to_owned(), s(&format!("OWNER#{owner}"))), ("sk".to_owned(), s(OWNER_SK))])
}

fn key_item(record: &ApiKeyRecord) -> Item {
    let mut item = key_key(&record.id);
    item.insert("id".into(), s(&record.id));
    item.insert("owner".into(), s(&record.owner));
    item.insert("scopes".into(), AttributeValue::L(record.scopes.iter().map(|scope| s(scope)).collect()));
    item.insert("enabled".into(), AttributeValue::Bool(record.enabled));
    item.insert("hash".into(), s(&record.hash));
    item.insert("created_at".into(), s(&rfc3339(record.created_at)));
    item
}

fn key_from_item(item: &Item) -> Result<ApiKeyRecord, StoreError> {
    let pk = get_s(item, "pk").map_err(|e| corrupt("API key item", e))?;
    let read = || -> Result<ApiKeyRecord, String> {
        let id = get_s(item, "id")?;
        if pk.strip_prefix(KEY_PREFIX) != Some(id) {
            return Err(format!("id {id:?} does not match the key"));
        }
        let scopes = match item.get("scopes") {
            Some(AttributeValue::L(list)) => list
                .iter()
                .map(|v| v.as_s().cloned().map_err(|_| format!("a scope is not a string: {v:?}")))
                .collect::<Result<Vec<_>, _>>()?,
            Some(other) => return Err(format!("attribute scopes is not a list: {other:?}")),
            None => return Err("attribute scopes is missing".into()),
        };
        let created_at = get_s(item, "created_at")?;
        Ok(ApiKeyRecord {
            id: id.to_owned(),
            owner: get_s(item, "owner")?.to_owned(),
            scopes,
            enabled: get_bool(item, "enabled")?,
            hash: get_s(item, "hash")?.to_owned(),
            created_at: OffsetDateTime::parse(created_at, &Rfc3339).map_err(|e| format!("created_at: {e}"))?,
        })
    };
    read().map_err(|e| corrupt(pk, e))
}

fn get_s<'a>(item: &'a Item, name: &str) -> Result<&'a str, String> {
    match item.get(name) {
        Some(AttributeValue::S(value)) => Ok(value),
        Some(other) => Err(format!("attribute {name} is not a string: {other:?}")),
        None => Err(format!("attribute {name} is missing")),
    }
}

fn get_bool(item: &Item, name: &str) -> Result<bool, String> {
    match item.get(name) {
        Some(AttributeValue::Bool(value)) => Ok(*value),
        Some(other) => Err(format!("attribute {name} is not a boolean: {other:?}")),
        None => Err(format!("attribute {name} is missing")),
    }
}

fn corrupt(what: &str, e: String) -> StoreError {
    StoreError::Corrupt(format!("{what}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_core::NewApiKey;

    #[test]
    fn key_items_round_trip() {
        let new = NewApiKey::generate("etl#1", &["ferry/jobs.read".into(), "ferry/jobs.write".into()]);
        let item = key_item(&new.record);
        assert_eq!(item["pk"], s(&format!("APIKEY#{}", new.record.id)));
        assert_eq!(item["sk"], s("APIKEY"));
        assert!(!item.contains_key("expires_at"), "keys do not expire");
        assert!(!item.contains_key("gsi1pk"), "keys stay out of the jobs index");
        assert!(
            !item.values().any(|v| matches!(v, AttributeValue::S(text) if text.contains(&new.key[4..]))),
            "the key is not stored"
        );
        assert_eq!(key_from_item(&item).unwrap(), new.record);

        let mut no_scopes = new.record.clone();
        no_scopes.scopes.clear();
        assert_eq!(key_from_item(&key_item(&no_scopes)).unwrap(), no_scopes);

        let mut bad = item.clone();
        bad.insert("enabled".into(), s("yes"));
        assert!(matches!(key_from_item(&bad), Err(StoreError::Corrupt(_))));
        let mut moved = item;
        moved.insert("pk".into(), s("APIKEY#0000000000000000"));
        assert!(matches!(key_from_item(&moved), Err(StoreError::Corrupt(_))));
    }
}
