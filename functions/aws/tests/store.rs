//! What only DynamoStore has, against the emulator: its TTL attributes,
//! idempotency items, results spilled to S3, and healing a crash between its
//! two writes. What every store must do is `ferry_tests::contract`, run on
//! this adapter and on SQLite by `tests/tests/store_contract.rs`.

mod common;

use aws_sdk_dynamodb::types::AttributeValue;
use ferry_core::{Created, Idempotency, ItemResult, Job, JobStatus, JobStore, Task};

fn results(range: std::ops::Range<u32>) -> Vec<ItemResult> {
    range
        .map(|i| {
            if i % 5 == 4 {
                ItemResult::failed(i, "empty text")
            } else {
                ItemResult::ok(i, serde_json::json!({"sentiment": "positive", "confidence": 0.9}))
            }
        })
        .collect()
}

fn idem(key: &str) -> Idempotency {
    Idempotency { key: key.into(), fingerprint: "same-request".into() }
}

async fn raw_item(env: &common::Env, pk: &str, sk: &str) -> std::collections::HashMap<String, AttributeValue> {
    let item = common::raw_item(env.store().client(), &env.table, pk, sk).await;
    item.unwrap_or_else(|| panic!("no item {pk} {sk}"))
}

fn epoch(item: &std::collections::HashMap<String, AttributeValue>) -> i64 {
    item["expires_at"].as_n().expect("expires_at is a number").parse().unwrap()
}

#[tokio::test]
async fn idempotency_records_expire_after_a_day() {
    // What the key returns is the contract's (ferry_tests::contract); how
    // DynamoDB keeps it is this adapter's: one item, expiring in 24 hours.
    let Some(env) = common::env().await else { return };
    let store = env.store();
    let owner = common::owner("idem");
    let first = Job::new(&owner, Task::Sentiment, 1, 1);
    assert_eq!(store.create_job(&first, Some(&idem("key-1"))).await.unwrap(), Created::New(first.clone()));
    let idem = raw_item(&env, &format!("IDEM#{owner}#key-1"), "IDEM").await;
    assert_eq!(idem["job_id"].as_s().unwrap(), &first.id.to_string());
    let ttl = epoch(&idem) - time::OffsetDateTime::now_utc().unix_timestamp();
    assert!((23 * 3600..=24 * 3600 + 5).contains(&ttl), "idempotency TTL {ttl}s");
}

#[tokio::test]
async fn ttl_attributes_are_set() {
    let Some(env) = common::env().await else { return };
    let store = env.store().with_retention(std::time::Duration::from_secs(7 * 24 * 3600));
    let mut job = Job::new(&common::owner("ttl"), Task::Sentiment, 10, 2);
    job.retain_for(std::time::Duration::from_secs(7 * 24 * 3600));
    store.create_job(&job, None).await.unwrap();
    assert!(store.complete_chunk(job.id, 1, &results(5..10)).await.unwrap().counted);

    let raw = raw_item(&env, &format!("JOB#{}", job.id), "JOB").await;
    assert_eq!(epoch(&raw), job.created_at.unix_timestamp() + 7 * 24 * 3600);
    assert_eq!(raw["gsi1pk"].as_s().unwrap(), &format!("OWNER#{}", job.owner));
    assert_eq!(raw["gsi1sk"].as_s().unwrap(), &job.id.to_string());
    let chunk = raw_item(&env, &format!("JOB#{}", job.id), "CHUNK#0000000001").await;
    let ttl = epoch(&chunk) - time::OffsetDateTime::now_utc().unix_timestamp();
    assert!((7 * 24 * 3600 - 60..=7 * 24 * 3600 + 5).contains(&ttl), "chunk TTL {ttl}s");
    assert_eq!(chunk["ok"].as_n().unwrap(), "4");
    assert_eq!(chunk["failed"].as_n().unwrap(), "1");
    assert!(chunk["results"].as_s().unwrap().starts_with('['));
}

#[tokio::test]
async fn a_crash_before_the_final_status_is_healed_by_redelivery() {
    let Some(env) = common::env().await else { return };
    let store = env.store();
    let owner = common::owner("heal");
    let job = Job::new(&owner, Task::Sentiment, 5, 1);
    store.create_job(&job, None).await.unwrap();
    // What a worker that died right after its transaction leaves behind: the
    // chunk recorded and counted, the job still running.
    let pk = format!("JOB#{}", job.id);
    store
        .client()
        .put_item()
        .table_name(&env.table)
        .item("pk", AttributeValue::S(pk.clone()))
        .item("sk", AttributeValue::S("CHUNK#0000000000".into()))
        .item("results", AttributeValue::S(serde_json::to_string(&results(0..5)).unwrap()))
        .item("ok", AttributeValue::N("4".into()))
        .item("failed", AttributeValue::N("1".into()))
        .send()
        .await
        .unwrap();
    store
        .client()
        .update_item()
        .table_name(&env.table)
        .key("pk", AttributeValue::S(pk))
        .key("sk", AttributeValue::S("JOB".into()))
        .update_expression("SET done = :d, failed = :f, #s = :r")
        .expression_attribute_names("#s", "status")
        .expression_attribute_values(":d", AttributeValue::N("4".into()))
        .expression_attribute_values(":f", AttributeValue::N("1".into()))
        .expression_attribute_values(":r", AttributeValue::S("running".into()))
        .send()
        .await
        .unwrap();
    assert!(!store.complete_chunk(job.id, 0, &results(0..5)).await.unwrap().counted, "nothing recorded twice");
    let healed = store.get_job(&owner, job.id).await.unwrap().unwrap();
    assert_eq!((healed.status, healed.progress.done, healed.progress.failed), (JobStatus::Succeeded, 4, 1));
}

#[tokio::test]
async fn large_results_round_trip_via_s3() {
    let Some(env) = common::env().await else { return };
    let store = env.store();
    let owner = common::owner("large");
    let job = Job::new(&owner, Task::Sentiment, 4, 1);
    store.create_job(&job, None).await.unwrap();
    let big: Vec<ItemResult> =
        (0..4).map(|i| ItemResult::ok(i, serde_json::json!({"text": "é\"x".repeat(40_000)}))).collect();
    assert!(serde_json::to_string(&big).unwrap().len() > 400 * 1024);
    assert!(store.complete_chunk(job.id, 0, &big).await.unwrap().counted);

    let raw = raw_item(&env, &format!("JOB#{}", job.id), "CHUNK#0000000000").await;
    assert!(!raw.contains_key("results"));
    let key = raw["results_s3_key"].as_s().unwrap();
    assert_eq!(key, &format!("results/{}/0.json", job.id));
    let back = store.get_results(job.id, 0, 10).await.unwrap();
    assert_eq!(back.len(), 1);
    assert_eq!(back[0].items, big);
    assert_eq!(store.get_job(&owner, job.id).await.unwrap().unwrap().status, JobStatus::Succeeded);
}
