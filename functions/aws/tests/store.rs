//! DynamoStore against the emulator.

mod common;

use aws_sdk_dynamodb::types::AttributeValue;
use ferry_core::{Created, Idempotency, Item, ItemResult, Job, JobId, JobStatus, JobStore, Task, TaskMessage};
use std::sync::Arc;

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

fn message(job: &Job, chunk: u32, items: std::ops::Range<u32>) -> TaskMessage {
    TaskMessage {
        document: None,
        job_description: None,
        v: 1,
        job_id: job.id,
        owner: job.owner.clone(),
        task: job.task,
        chunk,
        items: items.map(|i| Item { i, text: format!("text {i}") }).collect(),
        total: None,
    }
}

async fn raw_item(env: &common::Env, pk: &str, sk: &str) -> std::collections::HashMap<String, AttributeValue> {
    let item = common::raw_item(env.store().client(), &env.table, pk, sk).await;
    item.unwrap_or_else(|| panic!("no item {pk} {sk}"))
}

fn epoch(item: &std::collections::HashMap<String, AttributeValue>) -> i64 {
    item["expires_at"].as_n().expect("expires_at is a number").parse().unwrap()
}

#[tokio::test]
async fn create_get_and_owner_scoping() {
    let Some(env) = common::env().await else { return };
    let store = env.store();
    let owner = common::owner("alice");
    let mut job = Job::new(&owner, Task::Sentiment, 2, 1);
    job.metadata = Some(serde_json::json!({"source": "test", "n": [1, 2]}));
    assert_eq!(store.create_job(&job, None).await.unwrap(), Created::New(job.clone()));
    assert_eq!(store.get_job(&owner, job.id).await.unwrap(), Some(job.clone()));
    assert_eq!(store.get_job("mallory", job.id).await.unwrap(), None);
    assert_eq!(store.get_job(&owner, JobId::new()).await.unwrap(), None);
    assert_eq!(store.cancel_job("mallory", job.id, "test").await.unwrap(), None);
    assert_eq!(store.cancel_job(&owner, JobId::new(), "test").await.unwrap(), None);
    let canceled = store.cancel_job(&owner, job.id, "test").await.unwrap().unwrap();
    assert_eq!(canceled.status, JobStatus::Canceled);
    assert_eq!(canceled.metadata, job.metadata);
}

#[tokio::test]
async fn idempotency_key_returns_the_same_job() {
    let Some(env) = common::env().await else { return };
    let store = env.store();
    let owner = common::owner("idem");
    let first = Job::new(&owner, Task::Sentiment, 1, 1);
    assert_eq!(store.create_job(&first, Some(&idem("key-1"))).await.unwrap(), Created::New(first.clone()));
    let second = Job::new(&owner, Task::Sentiment, 1, 1);
    assert_eq!(store.create_job(&second, Some(&idem("key-1"))).await.unwrap(), Created::Existing(first.clone()));
    assert_eq!(store.get_job(&owner, second.id).await.unwrap(), None, "the duplicate was not stored");
    // Another key, or another owner with the same key: new jobs.
    let third = Job::new(&owner, Task::Sentiment, 1, 1);
    assert_eq!(store.create_job(&third, Some(&idem("key-2"))).await.unwrap(), Created::New(third.clone()));
    let other = Job::new(&common::owner("idem-other"), Task::Sentiment, 1, 1);
    assert_eq!(store.create_job(&other, Some(&idem("key-1"))).await.unwrap(), Created::New(other.clone()));

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
async fn chunks_count_once_and_the_job_succeeds() {
    let Some(env) = common::env().await else { return };
    let store = env.store();
    let owner = common::owner("chunks");
    let job = Job::new(&owner, Task::Sentiment, 10, 2);
    store.create_job(&job, None).await.unwrap();
    let running = store.begin(&message(&job, 0, 0..5), true).await.unwrap().unwrap();
    assert_eq!(running.status, JobStatus::Running);
    assert!(running.updated_at >= job.updated_at);

    assert!(store.complete_chunk(job.id, 0, &results(0..5)).await.unwrap().counted);
    let half = store.get_job(&owner, job.id).await.unwrap().unwrap();
    assert_eq!((half.status, half.progress.done, half.progress.failed), (JobStatus::Running, 4, 1));
    assert!(store.complete_chunk(job.id, 1, &results(5..10)).await.unwrap().counted);
    let done = store.get_job(&owner, job.id).await.unwrap().unwrap();
    assert_eq!((done.status, done.progress.done, done.progress.failed), (JobStatus::Succeeded, 8, 2));

    // Redelivery after success changes nothing.
    assert!(!store.complete_chunk(job.id, 1, &results(5..10)).await.unwrap().counted);
    assert!(!store.complete_chunk(job.id, 0, &results(0..5)).await.unwrap().counted);
    assert_eq!(store.begin(&message(&job, 1, 5..10), true).await.unwrap().unwrap(), done);
    assert_eq!(store.get_job(&owner, job.id).await.unwrap().unwrap(), done);

    // Results, paged by chunk.
    let all = store.get_results(job.id, 0, 10).await.unwrap();
    assert_eq!(all.iter().map(|c| c.chunk).collect::<Vec<_>>(), vec![0, 1]);
    assert_eq!(all[1].items, results(5..10));
    let from1 = store.get_results(job.id, 1, 10).await.unwrap();
    assert_eq!(from1.iter().map(|c| c.chunk).collect::<Vec<_>>(), vec![1]);
    assert_eq!(store.get_results(job.id, 0, 1).await.unwrap().len(), 1);
    assert!(store.get_results(job.id, 0, 0).await.unwrap().is_empty());
    assert!(store.get_results(job.id, 2, 10).await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_workers_count_a_chunk_once() {
    let Some(env) = common::env().await else { return };
    let store = Arc::new(env.store());
    let owner = common::owner("race");
    for _ in 0..5 {
        let job = Job::new(&owner, Task::Sentiment, 5, 1);
        store.create_job(&job, None).await.unwrap();
        let barrier = Arc::new(tokio::sync::Barrier::new(2));
        let tasks: Vec<_> = (0..2)
            .map(|_| {
                let (store, barrier) = (store.clone(), barrier.clone());
                tokio::spawn(async move {
                    barrier.wait().await;
                    store.complete_chunk(job.id, 0, &results(0..5)).await.unwrap()
                })
            })
            .collect();
        let mut recorded = 0;
        for task in tasks {
            recorded += u32::from(task.await.unwrap().counted);
        }
        assert_eq!(recorded, 1, "exactly one worker records the chunk");
        let after = store.get_job(&owner, job.id).await.unwrap().unwrap();
        assert_eq!((after.progress.done, after.progress.failed), (4, 1), "counted once");
        assert_eq!(after.status, JobStatus::Succeeded);
    }
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
async fn status_never_moves_backwards() {
    let Some(env) = common::env().await else { return };
    let store = env.store();
    let owner = common::owner("forward");

    // fail after succeed: a no-op.
    let job = Job::new(&owner, Task::Sentiment, 5, 1);
    store.create_job(&job, None).await.unwrap();
    assert!(store.complete_chunk(job.id, 0, &results(0..5)).await.unwrap().counted);
    store.fail_job(job.id, "too late").await.unwrap();
    let after = store.get_job(&owner, job.id).await.unwrap().unwrap();
    assert_eq!((after.status, after.error), (JobStatus::Succeeded, None));
    assert_eq!(store.cancel_job(&owner, job.id, "test").await.unwrap().unwrap().status, JobStatus::Succeeded);

    // begin after cancel keeps canceled; a chunk after cancel is not recorded.
    let job = Job::new(&owner, Task::Sentiment, 5, 1);
    store.create_job(&job, None).await.unwrap();
    assert_eq!(store.cancel_job(&owner, job.id, "test").await.unwrap().unwrap().status, JobStatus::Canceled);
    assert_eq!(store.begin(&message(&job, 0, 0..5), true).await.unwrap().unwrap().status, JobStatus::Canceled);
    assert!(!store.complete_chunk(job.id, 0, &results(0..5)).await.unwrap().counted);
    store.fail_job(job.id, "late").await.unwrap();
    let after = store.get_job(&owner, job.id).await.unwrap().unwrap();
    assert_eq!((after.status, after.progress.done, after.error.as_deref()), (JobStatus::Canceled, 0, Some("test")));
    assert!(store.get_results(job.id, 0, 10).await.unwrap().is_empty());

    // fail keeps its reason; cancel after fail keeps failed.
    let job = Job::new(&owner, Task::Sentiment, 5, 1);
    store.create_job(&job, None).await.unwrap();
    store.begin(&message(&job, 0, 0..5), true).await.unwrap().unwrap();
    store.fail_job(job.id, "model crashed").await.unwrap();
    let failed = store.cancel_job(&owner, job.id, "test").await.unwrap().unwrap();
    assert_eq!((failed.status, failed.error.as_deref()), (JobStatus::Failed, Some("model crashed")));
    assert!(!store.complete_chunk(job.id, 0, &results(0..5)).await.unwrap().counted);

    // Unknown jobs: failing or completing them creates nothing.
    let ghost = JobId::new();
    store.fail_job(ghost, "nope").await.unwrap();
    assert!(!store.complete_chunk(ghost, 0, &results(0..1)).await.unwrap().counted);
}

#[tokio::test]
async fn begin_creates_a_job_nobody_created() {
    let Some(env) = common::env().await else { return };
    let store = env.store();
    let owner = common::owner("upstream");
    let template = Job::new(&owner, Task::Sentiment, 0, 0);
    let mut msg = message(&template, 0, 0..3);
    msg.total = Some(7);
    // Not from an allowed upstream source: nothing is created.
    assert_eq!(store.begin(&msg, false).await.unwrap(), None);
    assert_eq!(store.get_job(&owner, template.id).await.unwrap(), None);
    let job = store.begin(&msg, true).await.unwrap().unwrap();
    assert_eq!((job.id, job.status, job.progress.total), (template.id, JobStatus::Running, 7));
    assert_eq!(store.get_job(&owner, job.id).await.unwrap(), Some(job.clone()));
    // A second message of the same job finds it.
    assert_eq!(store.begin(&message(&template, 1, 3..7), true).await.unwrap().unwrap(), job);

    let other = Job::new(&owner, Task::Sentiment, 0, 0);
    let job = store.begin(&message(&other, 0, 0..3), true).await.unwrap().unwrap();
    assert_eq!(job.progress.total, 3, "total defaults to the message's items");
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

#[tokio::test]
async fn list_jobs_newest_first_with_paging_and_status_filter() {
    let Some(env) = common::env().await else { return };
    let store = env.store();
    let owner = common::owner("lister");
    let mut ids = Vec::new();
    for i in 0..7 {
        let job = Job::new(&owner, Task::Sentiment, 1, 1);
        store.create_job(&job, None).await.unwrap();
        if i % 2 == 1 {
            store.fail_job(job.id, "odd").await.unwrap();
        }
        ids.push(job.id);
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    // Someone else's job never shows.
    store.create_job(&Job::new(&common::owner("lister-other"), Task::Sentiment, 1, 1), None).await.unwrap();
    let newest_first: Vec<JobId> = ids.iter().rev().copied().collect();

    let all = store.list_jobs(&owner, None, None, 100).await.unwrap();
    assert_eq!(all.iter().map(|j| j.id).collect::<Vec<_>>(), newest_first);

    let mut paged = Vec::new();
    let mut before = None;
    loop {
        let page = store.list_jobs(&owner, None, before, 3).await.unwrap();
        assert!(page.len() <= 3);
        if page.is_empty() {
            break;
        }
        before = page.last().map(|j| j.id);
        paged.extend(page.into_iter().map(|j| j.id));
    }
    assert_eq!(paged, newest_first);

    let failed = store.list_jobs(&owner, Some(JobStatus::Failed), None, 2).await.unwrap();
    assert_eq!(failed.iter().map(|j| j.id).collect::<Vec<_>>(), vec![ids[5], ids[3]]);
    let failed = store.list_jobs(&owner, Some(JobStatus::Failed), Some(ids[3]), 10).await.unwrap();
    assert_eq!(failed.iter().map(|j| j.id).collect::<Vec<_>>(), vec![ids[1]]);
    let queued = store.list_jobs(&owner, Some(JobStatus::Queued), None, 10).await.unwrap();
    assert_eq!(queued.iter().map(|j| j.id).collect::<Vec<_>>(), vec![ids[6], ids[4], ids[2], ids[0]]);
    assert!(store.list_jobs(&owner, Some(JobStatus::Succeeded), None, 10).await.unwrap().is_empty());
    assert!(store.list_jobs(&owner, None, None, 0).await.unwrap().is_empty());
}

#[tokio::test]
async fn webhook_claims_redrive_reopening_and_document_splits() {
    let Some(env) = common::env().await else { return };
    let store = env.store();
    let owner = common::owner("hooks");
    let job = Job::new(&owner, Task::Sentiment, 10, 2);
    store.create_job(&job, None).await.unwrap();

    // One claim wins; a stale status does not move the state.
    let pending = ferry_core::WebhookState {
        status: ferry_core::WebhookStatus::Pending,
        attempts: 0,
        last_error: None,
        next_attempt_at: None,
    };
    assert!(store.update_webhook(job.id, None, Some(&pending)).await.unwrap());
    assert!(!store.update_webhook(job.id, None, Some(&pending)).await.unwrap(), "claimed once");
    let delivered =
        ferry_core::WebhookState { status: ferry_core::WebhookStatus::Delivered, attempts: 1, ..pending.clone() };
    assert!(!store.update_webhook(job.id, Some(ferry_core::WebhookStatus::Failed), Some(&delivered)).await.unwrap());
    assert!(store.update_webhook(job.id, Some(ferry_core::WebhookStatus::Pending), Some(&delivered)).await.unwrap());
    assert_eq!(store.get_job(&owner, job.id).await.unwrap().unwrap().webhook, Some(delivered));
    assert!(!store.update_webhook(JobId::new(), None, Some(&pending)).await.unwrap(), "no such job");

    // A chunk of give-up failures is reopened: uncounted, job running again.
    let failures: Vec<ItemResult> = (0..5).map(|i| ItemResult::failed(i, "gave up")).collect();
    store.complete_chunk(job.id, 0, &failures).await.unwrap();
    let done = store.complete_chunk(job.id, 1, &results(5..10)).await.unwrap().job.unwrap();
    assert_eq!((done.status, done.progress.failed), (JobStatus::Succeeded, 6));
    assert!(!store.reopen_chunk(job.id, 1).await.unwrap(), "a chunk with results is kept");
    assert!(store.reopen_chunk(job.id, 0).await.unwrap());
    assert!(!store.reopen_chunk(job.id, 0).await.unwrap(), "only once");
    let reopened = store.get_job(&owner, job.id).await.unwrap().unwrap();
    assert_eq!((reopened.status, reopened.progress.done, reopened.progress.failed), (JobStatus::Running, 4, 1));
    assert_eq!(reopened.webhook, None, "the next final status notifies again");
    let finished = store.complete_chunk(job.id, 0, &results(0..5)).await.unwrap();
    assert!(finished.counted);
    assert_eq!(finished.job.unwrap().progress, ferry_core::Progress { total: 10, done: 8, failed: 2 });

    // A document job is not complete before its split, and splits once.
    let doc = Job::new(&owner, Task::Sentiment, 0, 0);
    store.create_job(&doc, None).await.unwrap();
    assert!(store.set_split(doc.id, 130, 3).await.unwrap());
    assert!(store.set_split(doc.id, 130, 3).await.unwrap(), "the same split again is fine");
    assert!(!store.set_split(doc.id, 131, 3).await.unwrap(), "a different one is not");
    let split = store.get_job(&owner, doc.id).await.unwrap().unwrap();
    assert_eq!((split.progress.total, split.chunks, split.status), (130, 3, JobStatus::Queued));
}
