//! The port contracts (`ferry_tests::contract`), case by case, on both
//! backends: SQLite and files in a temporary directory, and DynamoDB and S3
//! on the emulator (skipped without it, a failure under CI).

use ferry_core::{BlobStore, JobStore, KeyStore};
use ferry_tests::contract;
use std::sync::Arc;

/// The local adapters over one temporary data directory.
struct Local {
    jobs: Arc<dyn JobStore>,
    keys: Arc<dyn KeyStore>,
    blobs: Arc<dyn BlobStore>,
    _dir: tempfile::TempDir,
}

fn local() -> Local {
    let dir = tempfile::tempdir().unwrap();
    let db = ferry_local::db::Db::open(&dir.path().join("ferry.sqlite3")).unwrap();
    Local {
        jobs: Arc::new(ferry_local::store::SqliteStore::new(db.clone())),
        keys: Arc::new(ferry_local::keys::SqliteKeyStore::new(db)),
        blobs: Arc::new(ferry_local::blobs::FileBlobs::new(dir.path().join("blobs"))),
        _dir: dir,
    }
}

/// The AWS adapters on the emulator's table and bucket.
struct Aws {
    jobs: Arc<dyn JobStore>,
    keys: Arc<dyn KeyStore>,
    blobs: Arc<dyn BlobStore>,
}

async fn aws() -> Option<Aws> {
    if !ferry_tests::emulator_running() {
        return None;
    }
    let var = |name: &str| std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set"));
    let (table, bucket) = (var("FERRY_TABLE"), var("FERRY_BUCKET"));
    // A config per test: each #[tokio::test] has its own runtime.
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest()).load().await;
    Some(Aws {
        jobs: Arc::new(ferry_aws::DynamoStore::new(&config, &table, &bucket)),
        keys: Arc::new(ferry_aws::DynamoKeyStore::new(&config, &table)),
        blobs: Arc::new(ferry_aws::S3Blobs::new(&config, &bucket)),
    })
}

/// Each case of `contract::$module` as a test on each backend, handed the
/// backend's adapter for the port (`$port`: jobs, keys or blobs).
macro_rules! contract {
    ($module:ident :: $port:ident { $($case:ident),* $(,)? }) => {
        mod $module {
            use super::*;
            mod sqlite {
                use super::*;
                $(
                    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                    async fn $case() {
                        let local = local();
                        contract::$module::$case(Arc::clone(&local.$port)).await;
                    }
                )*
            }
            mod aws {
                use super::*;
                $(
                    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                    async fn $case() {
                        let Some(aws) = aws().await else { return };
                        contract::$module::$case(aws.$port).await;
                    }
                )*
            }
        }
    };
}

contract!(jobs::jobs {
    create_get_and_owner_scoping,
    idempotency_key_returns_the_same_job,
    chunks_count_once_and_the_job_succeeds,
    a_job_whose_every_item_failed_fails,
    racing_workers_count_a_chunk_once,
    status_never_moves_backwards,
    begin_creates_a_job_nobody_created,
    list_jobs_newest_first_with_paging_and_status_filter,
    webhook_claims_redrive_reopening_and_document_splits,
});

contract!(keys::keys {
    put_get_and_duplicate_ids,
    list_contains_every_key_oldest_first,
    revoke_and_enable,
    owners_are_enabled_until_disabled,
});

contract!(blobs::blobs { put_get_size_and_limits, a_refused_stream_stores_nothing });

/// `ferry serve`'s sweep deletes a backlog of expired jobs larger than one of
/// its batches (so it holds the connection a batch at a time), all of it, and
/// nothing else.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_sweep_deletes_a_backlog_in_batches() {
    use ferry_core::job::{Job, Task};
    let dir = tempfile::tempdir().unwrap();
    let db = ferry_local::db::Db::open(&dir.path().join("ferry.sqlite3")).unwrap();
    let store = ferry_local::store::SqliteStore::new(db);
    let owner = contract::owner("sweep");
    let expired = 2 * ferry_local::store::SWEEP_BATCH + 7;
    for _ in 0..expired {
        let mut job = Job::new(&owner, Task::Sentiment, 1, 1);
        job.retain_for(std::time::Duration::ZERO);
        store.create_job(&job, None).await.unwrap();
    }
    let kept = Job::new(&owner, Task::Sentiment, 1, 1);
    store.create_job(&kept, None).await.unwrap();
    assert_eq!(store.sweep_expired().await.unwrap(), expired);
    assert_eq!(store.sweep_expired().await.unwrap(), 0);
    assert!(store.get_job(&owner, kept.id).await.unwrap().is_some());
}
