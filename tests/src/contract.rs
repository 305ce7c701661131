//! The port contracts (`JobStore`, `KeyStore`, `BlobStore`): what every
//! adapter must do, written once and run against each backend
//! (`tests/tests/contract.rs`: SQLite and files, DynamoDB and S3 on the
//! emulator), so the two cannot drift. What only one adapter has (DynamoDB's
//! TTL attributes and item layout, results spilled to S3, presigned URLs,
//! file keys that escape their folder, SQLite's wake-on-write) is tested
//! beside that adapter. The queue's contract is the worker's: the fan-out and
//! crash tests (`tests/tests/fanout.rs`) run on both queues.

use ferry_core::ItemResult;

/// An owner nobody else uses (the emulator's table is shared by every test).
pub fn owner(tag: &str) -> String {
    format!("{tag}-{}", uuid::Uuid::now_v7().simple())
}

/// Results of items `range`: every fifth fails.
pub fn results(range: std::ops::Range<u32>) -> Vec<ItemResult> {
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

/// The `JobStore` contract.
pub mod jobs {
    use super::results;
    use ferry_core::ItemResult;
    use ferry_core::lifecycle::upstream_job;
    use ferry_core::{
        Created, Idempotency, Item, Job, JobId, JobStatus, JobStore, Progress, Task, TaskMessage, WebhookState,
        WebhookStatus, Work,
    };
    use std::sync::Arc;

    fn idem(key: &str) -> Idempotency {
        Idempotency { key: key.into(), fingerprint: "same-request".into() }
    }

    fn message(job: &Job, chunk: u32, items: std::ops::Range<u32>) -> TaskMessage {
        TaskMessage {
            job_id: job.id,
            owner: job.owner.clone(),
            chunk,
            work: Work::Texts(items.map(|i| Item { i, text: format!("text {i}") }).collect()),
            total: None,
        }
    }

    /// What the worker asks of the store for a message: begin its job, creating
    /// the upstream job the message describes when `create`.
    async fn begin(store: &dyn JobStore, message: &TaskMessage, create: bool) -> Option<Job> {
        let missing = create.then(|| upstream_job(message, ferry_core::job::DEFAULT_RETENTION));
        store.begin(message.job_id, missing.as_ref()).await.unwrap()
    }

    pub async fn create_get_and_owner_scoping(store: Arc<dyn JobStore>) {
        let owner = super::owner("alice");
        let mut job = Job::new(&owner, Task::Sentiment, 2, 1);
        job.metadata = Some(serde_json::json!({"source": "test", "n": [1, 2]}));
        assert_eq!(store.create_job(&job, None).await.unwrap(), Created::New(job.clone()));
        assert_eq!(store.get_job(&owner, job.id).await.unwrap(), Some(job.clone()));
        assert_eq!(store.get_job("mallory", job.id).await.unwrap(), None);
        assert_eq!(store.get_job(&owner, JobId::new()).await.unwrap(), None);
        assert_eq!(store.cancel_job("mallory", job.id, "test").await.unwrap(), None);
        assert_eq!(store.cancel_job(&owner, JobId::new(), "test").await.unwrap(), None);
        let canceled = store.cancel_job(&owner, job.id, "test").await.unwrap().unwrap();
        assert!(canceled.now, "this call canceled it");
        assert_eq!(canceled.job.status, JobStatus::Canceled);
        assert_eq!(canceled.job.metadata, job.metadata);
        let again = store.cancel_job(&owner, job.id, "again").await.unwrap().unwrap();
        assert!(!again.now, "a repeated cancel changes nothing");
        assert_eq!((again.job.status, again.job.error.as_deref()), (JobStatus::Canceled, Some("test")));
    }

    pub async fn idempotency_key_returns_the_same_job(store: Arc<dyn JobStore>) {
        let owner = super::owner("idem");
        let first = Job::new(&owner, Task::Sentiment, 1, 1);
        assert_eq!(store.create_job(&first, Some(&idem("key-1"))).await.unwrap(), Created::New(first.clone()));
        let second = Job::new(&owner, Task::Sentiment, 1, 1);
        assert_eq!(store.create_job(&second, Some(&idem("key-1"))).await.unwrap(), Created::Existing(first.clone()));
        assert_eq!(store.get_job(&owner, second.id).await.unwrap(), None, "the duplicate was not stored");
        let changed = Idempotency { key: "key-1".into(), fingerprint: "another request".into() };
        assert_eq!(store.create_job(&second, Some(&changed)).await.unwrap(), Created::Mismatch(first.clone()));
        // Another key, or another owner with the same key: new jobs.
        let third = Job::new(&owner, Task::Sentiment, 1, 1);
        assert_eq!(store.create_job(&third, Some(&idem("key-2"))).await.unwrap(), Created::New(third.clone()));
        let other = Job::new(&self::super::owner("idem-other"), Task::Sentiment, 1, 1);
        assert_eq!(store.create_job(&other, Some(&idem("key-1"))).await.unwrap(), Created::New(other.clone()));
    }

    pub async fn chunks_count_once_and_the_job_succeeds(store: Arc<dyn JobStore>) {
        let store = store.as_ref();
        let owner = super::owner("chunks");
        let job = Job::new(&owner, Task::Sentiment, 10, 2);
        store.create_job(&job, None).await.unwrap();
        let running = begin(store, &message(&job, 0, 0..5), true).await.unwrap();
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
        assert_eq!(begin(store, &message(&job, 1, 5..10), true).await.unwrap(), done);
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

    pub async fn a_job_whose_every_item_failed_fails(store: Arc<dyn JobStore>) {
        let owner = super::owner("all-failed");
        let job = Job::new(&owner, Task::Sentiment, 3, 1);
        store.create_job(&job, None).await.unwrap();
        let failures: Vec<ItemResult> = (0..3).map(|i| ItemResult::failed(i, "empty text")).collect();
        let recorded = store.complete_chunk(job.id, 0, &failures).await.unwrap();
        let ended = recorded.job.expect("the store reads the job that just ended");
        assert_eq!((ended.status, ended.error.as_deref()), (JobStatus::Failed, Some("every item failed")));
    }

    /// Needs a multi-threaded runtime: the two writers really race.
    pub async fn racing_workers_count_a_chunk_once(store: Arc<dyn JobStore>) {
        let owner = super::owner("race");
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

    pub async fn status_never_moves_backwards(store: Arc<dyn JobStore>) {
        let store = store.as_ref();
        let owner = super::owner("forward");

        // fail after succeed: a no-op.
        let job = Job::new(&owner, Task::Sentiment, 5, 1);
        store.create_job(&job, None).await.unwrap();
        assert!(store.complete_chunk(job.id, 0, &results(0..5)).await.unwrap().counted);
        assert_eq!(store.fail_job(job.id, "too late").await.unwrap(), None);
        let after = store.get_job(&owner, job.id).await.unwrap().unwrap();
        assert_eq!((after.status, after.error), (JobStatus::Succeeded, None));
        let canceled = store.cancel_job(&owner, job.id, "test").await.unwrap().unwrap();
        assert_eq!((canceled.job.status, canceled.now), (JobStatus::Succeeded, false));

        // begin after cancel keeps canceled; a chunk after cancel is not recorded.
        let job = Job::new(&owner, Task::Sentiment, 5, 1);
        store.create_job(&job, None).await.unwrap();
        assert_eq!(store.cancel_job(&owner, job.id, "test").await.unwrap().unwrap().job.status, JobStatus::Canceled);
        assert_eq!(begin(store, &message(&job, 0, 0..5), true).await.unwrap().status, JobStatus::Canceled);
        assert!(!store.complete_chunk(job.id, 0, &results(0..5)).await.unwrap().counted);
        assert_eq!(store.fail_job(job.id, "late").await.unwrap(), None);
        let after = store.get_job(&owner, job.id).await.unwrap().unwrap();
        assert_eq!((after.status, after.progress.done, after.error.as_deref()), (JobStatus::Canceled, 0, Some("test")));
        assert!(store.get_results(job.id, 0, 10).await.unwrap().is_empty());

        // fail keeps its reason; cancel after fail keeps failed.
        let job = Job::new(&owner, Task::Sentiment, 5, 1);
        store.create_job(&job, None).await.unwrap();
        begin(store, &message(&job, 0, 0..5), true).await.unwrap();
        let failed = store.fail_job(job.id, "model crashed").await.unwrap().expect("this call failed it");
        assert_eq!((failed.status, failed.error.as_deref()), (JobStatus::Failed, Some("model crashed")));
        assert_eq!(store.fail_job(job.id, "again").await.unwrap(), None, "failed once only");
        let canceled = store.cancel_job(&owner, job.id, "test").await.unwrap().unwrap();
        assert!(!canceled.now);
        assert_eq!((canceled.job.status, canceled.job.error.as_deref()), (JobStatus::Failed, Some("model crashed")));
        assert!(!store.complete_chunk(job.id, 0, &results(0..5)).await.unwrap().counted);

        // Unknown jobs: failing or completing them creates nothing.
        let ghost = JobId::new();
        assert_eq!(store.fail_job(ghost, "nope").await.unwrap(), None);
        assert!(!store.complete_chunk(ghost, 0, &results(0..1)).await.unwrap().counted);
    }

    pub async fn begin_creates_a_job_nobody_created(store: Arc<dyn JobStore>) {
        let store = store.as_ref();
        let owner = super::owner("upstream");
        let template = Job::new(&owner, Task::Sentiment, 0, 0);
        let mut msg = message(&template, 0, 0..3);
        msg.total = Some(7);
        // Not from an allowed upstream source: nothing is created.
        assert_eq!(begin(store, &msg, false).await, None);
        assert_eq!(store.get_job(&owner, template.id).await.unwrap(), None);
        let job = begin(store, &msg, true).await.unwrap();
        assert_eq!((job.id, job.status, job.progress.total), (template.id, JobStatus::Running, 7));
        assert_eq!(store.get_job(&owner, job.id).await.unwrap(), Some(job.clone()));
        // A second message of the same job finds it.
        assert_eq!(begin(store, &message(&template, 1, 3..7), true).await.unwrap(), job);

        let other = Job::new(&owner, Task::Sentiment, 0, 0);
        let job = begin(store, &message(&other, 0, 0..3), true).await.unwrap();
        assert_eq!(job.progress.total, 3, "total defaults to the message's items");
    }

    pub async fn list_jobs_newest_first_with_paging_and_status_filter(store: Arc<dyn JobStore>) {
        let owner = super::owner("lister");
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
        store.create_job(&Job::new(&self::super::owner("lister-other"), Task::Sentiment, 1, 1), None).await.unwrap();
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

    pub async fn webhook_claims_redrive_reopening_and_document_splits(store: Arc<dyn JobStore>) {
        let owner = super::owner("hooks");
        let job = Job::new(&owner, Task::Sentiment, 10, 2);
        store.create_job(&job, None).await.unwrap();

        // One claim wins; a stale status does not move the state.
        let pending =
            WebhookState { status: WebhookStatus::Pending, attempts: 0, last_error: None, next_attempt_at: None };
        assert!(store.update_webhook(job.id, None, Some(&pending)).await.unwrap());
        assert!(!store.update_webhook(job.id, None, Some(&pending)).await.unwrap(), "claimed once");
        let delivered = WebhookState { status: WebhookStatus::Delivered, attempts: 1, ..pending.clone() };
        assert!(!store.update_webhook(job.id, Some(WebhookStatus::Failed), Some(&delivered)).await.unwrap());
        assert!(store.update_webhook(job.id, Some(WebhookStatus::Pending), Some(&delivered)).await.unwrap());
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
        assert_eq!(finished.job.unwrap().progress, Progress { total: 10, done: 8, failed: 2 });

        // A document job is not complete before its split, and splits once.
        let doc = Job::new(&owner, Task::Sentiment, 0, 0);
        store.create_job(&doc, None).await.unwrap();
        assert!(store.set_split(doc.id, 130, 3).await.unwrap());
        assert!(store.set_split(doc.id, 130, 3).await.unwrap(), "the same split again is fine");
        assert!(!store.set_split(doc.id, 131, 3).await.unwrap(), "a different one is not");
        let split = store.get_job(&owner, doc.id).await.unwrap().unwrap();
        assert_eq!((split.progress.total, split.chunks, split.status), (130, 3, JobStatus::Queued));
    }
}

/// The `KeyStore` contract.
pub mod keys {
    use ferry_core::keys::key_matches;
    use ferry_core::{ApiKeyRecord, KeyStore, NewApiKey};
    use std::sync::Arc;

    fn record(owner: &str) -> ApiKeyRecord {
        NewApiKey::generate(owner, &["ferry/jobs.read".into()]).record
    }

    /// A key id that no test ever stores (ids are 16 hex characters; this is 17).
    fn unknown_id() -> String {
        format!("{}0", &uuid::Uuid::now_v7().simple().to_string()[..16])
    }

    pub async fn put_get_and_duplicate_ids(store: Arc<dyn KeyStore>) {
        let owner = super::owner("etl");
        let new = NewApiKey::generate(&owner, &["ferry/jobs.read".into(), "ferry/jobs.write".into()]);
        store.put_key(&new.record).await.unwrap();
        let stored = store.get_key(&new.record.id).await.unwrap().expect("stored");
        assert_eq!(stored, new.record);
        assert!(key_matches(&stored, &new.key));

        let mut clash = record(&super::owner("mallory"));
        clash.id = new.record.id.clone();
        assert!(store.put_key(&clash).await.is_err(), "an existing id is an error");
        assert!(store.put_key(&new.record).await.is_err(), "even for the same record");
        assert_eq!(store.get_key(&new.record.id).await.unwrap().unwrap().owner, owner, "not overwritten");
        assert_eq!(store.get_key(&unknown_id()).await.unwrap(), None);

        // An empty scope list round-trips too.
        let mut empty = record(&owner);
        empty.scopes.clear();
        store.put_key(&empty).await.unwrap();
        assert_eq!(store.get_key(&empty.id).await.unwrap(), Some(empty));
    }

    pub async fn list_contains_every_key_oldest_first(store: Arc<dyn KeyStore>) {
        let owner = super::owner("lister");
        let mut older = record(&owner);
        older.created_at -= std::time::Duration::from_secs(3600);
        let newer = record(&owner);
        store.put_key(&newer).await.unwrap();
        store.put_key(&older).await.unwrap();
        let listed = store.list_keys().await.unwrap();
        let mine: Vec<&ApiKeyRecord> = listed.iter().filter(|k| k.owner == owner).collect();
        assert_eq!(mine, vec![&older, &newer], "both, oldest first");
        assert!(listed.windows(2).all(|w| w[0].created_at <= w[1].created_at), "the whole list is oldest first");
    }

    pub async fn revoke_and_enable(store: Arc<dyn KeyStore>) {
        let owner = super::owner("revoke");
        let key = record(&owner);
        let other = record(&owner);
        store.put_key(&key).await.unwrap();
        store.put_key(&other).await.unwrap();

        assert!(store.set_key_enabled(&key.id, false).await.unwrap());
        assert!(!store.get_key(&key.id).await.unwrap().unwrap().enabled);
        assert!(store.get_key(&other.id).await.unwrap().unwrap().enabled, "only that key");
        assert!(store.set_key_enabled(&key.id, false).await.unwrap(), "revoking twice is fine");
        assert!(store.set_key_enabled(&key.id, true).await.unwrap());
        assert_eq!(store.get_key(&key.id).await.unwrap().unwrap(), key, "nothing else changed");

        let unknown = unknown_id();
        assert!(!store.set_key_enabled(&unknown, false).await.unwrap(), "no such key");
        assert_eq!(store.get_key(&unknown).await.unwrap(), None, "and none was created");
    }

    pub async fn owners_are_enabled_until_disabled(store: Arc<dyn KeyStore>) {
        let owner = super::owner("partner");
        let bystander = super::owner("bystander");
        assert!(store.owner_enabled(&owner).await.unwrap(), "owners start enabled");
        store.set_owner_enabled(&owner, false).await.unwrap();
        assert!(!store.owner_enabled(&owner).await.unwrap());
        assert!(store.owner_enabled(&bystander).await.unwrap(), "only that owner");
        store.set_owner_enabled(&owner, false).await.unwrap();
        assert!(!store.owner_enabled(&owner).await.unwrap(), "disabling twice is fine");
        store.set_owner_enabled(&owner, true).await.unwrap();
        assert!(store.owner_enabled(&owner).await.unwrap());
    }
}

/// The `BlobStore` contract.
pub mod blobs {
    use ferry_core::{BlobError, BlobStore, Size};
    use std::sync::Arc;

    fn prefix() -> String {
        format!("uploads/{}/", super::owner("blobs"))
    }

    pub async fn put_get_size_and_limits(blobs: Arc<dyn BlobStore>) {
        let key = format!("{}d1", prefix());
        assert_eq!(blobs.get(&key, 100).await.unwrap(), None, "missing");
        assert_eq!(blobs.size(&key).await.unwrap(), None);
        blobs.put(&key, b"hello".to_vec(), Some("text/plain")).await.unwrap();
        assert_eq!(blobs.get(&key, 5).await.unwrap().as_deref(), Some(&b"hello"[..]));
        assert_eq!(blobs.size(&key).await.unwrap(), Some(5));
        assert!(matches!(blobs.get(&key, 4).await, Err(BlobError::TooLarge(5))), "past the caller's limit");
        blobs.put(&key, b"replaced".to_vec(), None).await.unwrap();
        assert_eq!(blobs.get(&key, 100).await.unwrap().as_deref(), Some(&b"replaced"[..]), "a put replaces");
    }

    pub async fn a_refused_stream_stores_nothing(blobs: Arc<dyn BlobStore>) {
        let prefix = prefix();
        let mut body: &[u8] = b"streamed";
        let key = format!("{prefix}d2");
        assert_eq!(blobs.put_stream(&key, &mut body, Size::Exactly(8), None).await.unwrap(), 8);
        assert_eq!(blobs.get(&key, 8).await.unwrap().as_deref(), Some(&b"streamed"[..]));
        let refused = format!("{prefix}d3");
        for size in [Size::Exactly(9), Size::Exactly(7), Size::AtMost(7)] {
            let mut body: &[u8] = b"streamed";
            let result = blobs.put_stream(&refused, &mut body, size, None).await;
            match size {
                Size::AtMost(_) => assert!(matches!(result, Err(BlobError::TooLarge(_))), "{size:?}: {result:?}"),
                Size::Exactly(_) => assert!(matches!(result, Err(BlobError::Invalid(_))), "{size:?}: {result:?}"),
            }
            assert_eq!(blobs.size(&refused).await.unwrap(), None, "nothing stored for {size:?}");
        }
        let mut empty: &[u8] = b"";
        let result = blobs.put_stream(&refused, &mut empty, Size::AtMost(10), None).await;
        assert!(matches!(result, Err(BlobError::Empty)), "{result:?}");
        assert_eq!(blobs.size(&refused).await.unwrap(), None, "no empty object");
    }
}
