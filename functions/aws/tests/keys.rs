//! DynamoKeyStore against the emulator, on the job store's table.

mod common;

use aws_sdk_dynamodb::types::AttributeValue;
use ferry_aws::DynamoKeyStore;
use ferry_core::keys::key_matches;
use ferry_core::{ApiKeyRecord, KeyStore, NewApiKey};
use std::collections::HashMap;

fn key_store(env: &common::Env) -> DynamoKeyStore {
    DynamoKeyStore::new(&env.config, &env.table)
}

fn record(owner: &str) -> ApiKeyRecord {
    NewApiKey::generate(owner, &["ferry/jobs.read".into()]).record
}

/// A key id that no test ever stores (ids are 16 hex characters; this is 17).
fn unknown_id() -> String {
    format!("{}0", &uuid::Uuid::now_v7().simple().to_string()[..16])
}

async fn raw_item(store: &DynamoKeyStore, pk: &str, sk: &str) -> Option<HashMap<String, AttributeValue>> {
    common::raw_item(store.client(), store.table(), pk, sk).await
}

#[tokio::test]
async fn put_get_and_duplicate_ids() {
    let Some(env) = common::env().await else { return };
    let store = key_store(&env);
    let owner = common::owner("etl");
    let new = NewApiKey::generate(&owner, &["ferry/jobs.read".into(), "ferry/jobs.write".into()]);
    store.put_key(&new.record).await.unwrap();

    let stored = store.get_key(&new.record.id).await.unwrap().expect("stored");
    assert_eq!(stored, new.record);
    assert!(key_matches(&stored, &new.key));

    let mut clash = record(&common::owner("mallory"));
    clash.id = new.record.id.clone();
    assert!(store.put_key(&clash).await.is_err(), "an existing id is an error");
    assert!(store.put_key(&new.record).await.is_err(), "even for the same record");
    assert_eq!(store.get_key(&new.record.id).await.unwrap().unwrap().owner, owner, "not overwritten");

    assert_eq!(store.get_key(&unknown_id()).await.unwrap(), None);

    // The item: APIKEY#<id> / APIKEY, no TTL, not in the jobs index, no key.
    let item = raw_item(&store, &format!("APIKEY#{}", new.record.id), "APIKEY").await.expect("the key item");
    assert!(!item.contains_key("expires_at"), "keys do not expire");
    assert!(!item.contains_key("gsi1pk"));
    let secret = &new.key[4 + 16 + 1..];
    assert!(!item.values().any(|v| matches!(v, AttributeValue::S(s) if s.contains(secret))));

    // An empty scope list round-trips too.
    let mut empty = record(&owner);
    empty.scopes.clear();
    store.put_key(&empty).await.unwrap();
    assert_eq!(store.get_key(&empty.id).await.unwrap(), Some(empty));
}

#[tokio::test]
async fn list_contains_every_key() {
    let Some(env) = common::env().await else { return };
    let store = key_store(&env);
    let owner = common::owner("lister");
    let mut older = record(&owner);
    older.created_at -= time::Duration::hours(1);
    let newer = record(&owner);
    store.put_key(&newer).await.unwrap();
    store.put_key(&older).await.unwrap();
    // Other items of the table (jobs) are not keys.
    let job = ferry_core::Job::new(&owner, ferry_core::Task::Sentiment, 1, 1);
    ferry_core::JobStore::create_job(&env.store(), &job, None).await.unwrap();

    let listed = store.list_keys().await.unwrap();
    let mine: Vec<&ApiKeyRecord> = listed.iter().filter(|k| k.owner == owner).collect();
    assert_eq!(mine, vec![&older, &newer], "both, oldest first");
    assert!(listed.windows(2).all(|w| w[0].created_at <= w[1].created_at), "the whole list is oldest first");
}

#[tokio::test]
async fn list_reads_every_page() {
    let Some(env) = common::env().await else { return };
    let store = key_store(&env);
    let owner = common::owner("pages");
    // Items big enough that the keys span several 1 MB scan pages.
    let scopes: Vec<String> = (0..40).map(|i| format!("scope/{i}/{}", "x".repeat(1000))).collect();
    let mut ids = Vec::new();
    for _ in 0..30 {
        let new = NewApiKey::generate(&owner, &scopes);
        store.put_key(&new.record).await.unwrap();
        ids.push(new.record.id);
    }
    let listed = store.list_keys().await.unwrap();
    let mut mine: Vec<&str> = listed.iter().filter(|k| k.owner == owner).map(|k| k.id.as_str()).collect();
    mine.sort();
    ids.sort();
    assert_eq!(mine, ids);
}

#[tokio::test]
async fn revoke_and_enable() {
    let Some(env) = common::env().await else { return };
    let store = key_store(&env);
    let owner = common::owner("revoke");
    let key = record(&owner);
    let other = record(&owner);
    store.put_key(&key).await.unwrap();
    store.put_key(&other).await.unwrap();

    assert!(store.set_key_enabled(&key.id, false).await.unwrap());
    assert!(!store.get_key(&key.id).await.unwrap().unwrap().enabled);
    assert!(store.get_key(&other.id).await.unwrap().unwrap().enabled, "only that key");
    assert!(store.set_key_enabled(&key.id, false).await.unwrap(), "revoking twice is fine");
    assert!(store.set_key_enabled(&key.id, true).await.unwrap());
    let enabled = store.get_key(&key.id).await.unwrap().unwrap();
    assert_eq!(enabled, key, "nothing else changed");

    let unknown = unknown_id();
    assert!(!store.set_key_enabled(&unknown, false).await.unwrap(), "no such key");
    assert_eq!(store.get_key(&unknown).await.unwrap(), None, "and none was created");
}

#[tokio::test]
async fn owners_are_enabled_until_disabled() {
    let Some(env) = common::env().await else { return };
    let store = key_store(&env);
    let owner = common::owner("partner");
    let bystander = common::owner("bystander");
    assert!(store.owner_enabled(&owner).await.unwrap(), "owners start enabled");

    store.set_owner_enabled(&owner, false).await.unwrap();
    assert!(!store.owner_enabled(&owner).await.unwrap());
    assert!(store.owner_enabled(&bystander).await.unwrap(), "only that owner");
    let item = raw_item(&store, &format!("OWNER#{owner}"), "OWNER").await.expect("the owner item");
    assert_eq!(item["enabled"], AttributeValue::Bool(false));
    assert!(!item.contains_key("expires_at"));

    store.set_owner_enabled(&owner, false).await.unwrap();
    assert!(!store.owner_enabled(&owner).await.unwrap(), "disabling twice is fine");
    store.set_owner_enabled(&owner, true).await.unwrap();
    assert!(store.owner_enabled(&owner).await.unwrap());

    // An owner record does not disturb the owner's jobs (their index uses gsi1pk = OWNER#<owner>).
    let job = ferry_core::Job::new(&owner, ferry_core::Task::Sentiment, 1, 1);
    let jobs = env.store();
    ferry_core::JobStore::create_job(&jobs, &job, None).await.unwrap();
    let listed = ferry_core::JobStore::list_jobs(&jobs, &owner, None, None, 10).await.unwrap();
    assert!(listed.iter().all(|j| j.owner == owner));
}
