//! What only DynamoKeyStore has, against the emulator, on the job store's
//! table: its item layout and paged scans. What every key store does is
//! `ferry_tests::contract::keys`, run here and on SQLite by `tests/tests/contract.rs`.

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

async fn raw_item(store: &DynamoKeyStore, pk: &str, sk: &str) -> Option<HashMap<String, AttributeValue>> {
    common::raw_item(store.client(), store.table(), pk, sk).await
}

#[tokio::test]
async fn key_items_hold_no_secret_and_never_expire() {
    // What a key store does is the contract's (ferry_tests::contract::keys);
    // how DynamoDB keeps a key is this adapter's.
    let Some(env) = common::env().await else { return };
    let store = key_store(&env);
    let new = NewApiKey::generate(&common::owner("etl"), &["ferry/jobs.read".into()]);
    store.put_key(&new.record).await.unwrap();
    assert!(key_matches(&store.get_key(&new.record.id).await.unwrap().unwrap(), &new.key));
    // The item: APIKEY#<id> / APIKEY, no TTL, not in the jobs index, no key.
    let item = raw_item(&store, &format!("APIKEY#{}", new.record.id), "APIKEY").await.expect("the key item");
    assert!(!item.contains_key("expires_at"), "keys do not expire");
    assert!(!item.contains_key("gsi1pk"));
    let secret = &new.key[4 + 16 + 1..];
    assert!(!item.values().any(|v| matches!(v, AttributeValue::S(s) if s.contains(secret))));
}

#[tokio::test]
async fn list_skips_the_tables_other_items() {
    let Some(env) = common::env().await else { return };
    let store = key_store(&env);
    let owner = common::owner("lister");
    let key = record(&owner);
    store.put_key(&key).await.unwrap();
    // Other items of the table (jobs) are not keys.
    let job = ferry_core::Job::new(&owner, ferry_core::Task::Sentiment, 1, 1);
    ferry_core::JobStore::create_job(&env.store(), &job, None).await.unwrap();
    let listed = store.list_keys().await.unwrap();
    assert_eq!(listed.iter().filter(|k| k.owner == owner).collect::<Vec<_>>(), vec![&key]);
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
async fn owner_items_never_expire_and_leave_jobs_alone() {
    let Some(env) = common::env().await else { return };
    let store = key_store(&env);
    let owner = common::owner("partner");
    store.set_owner_enabled(&owner, false).await.unwrap();
    let item = raw_item(&store, &format!("OWNER#{owner}"), "OWNER").await.expect("the owner item");
    assert_eq!(item["enabled"], AttributeValue::Bool(false));
    assert!(!item.contains_key("expires_at"));

    // An owner record does not disturb the owner's jobs (their index uses gsi1pk = OWNER#<owner>).
    let job = ferry_core::Job::new(&owner, ferry_core::Task::Sentiment, 1, 1);
    let jobs = env.store();
    ferry_core::JobStore::create_job(&jobs, &job, None).await.unwrap();
    let listed = ferry_core::JobStore::list_jobs(&jobs, &owner, None, None, 10).await.unwrap();
    assert!(listed.iter().all(|j| j.owner == owner));
    assert_eq!(listed.len(), 1);
}
