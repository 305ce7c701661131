//! The `JobStore` contract (`ferry_tests::contract`), case by case, on both
//! adapters: SQLite in a temporary directory, and DynamoDB on the emulator
//! (skipped without it, a failure under CI).

use ferry_core::JobStore;
use ferry_tests::contract;
use std::sync::Arc;

fn sqlite() -> (Arc<dyn JobStore>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let db = ferry_local::db::Db::open(&dir.path().join("ferry.sqlite3")).unwrap();
    (Arc::new(ferry_local::store::SqliteStore::new(db)), dir)
}

async fn dynamodb() -> Option<Arc<dyn JobStore>> {
    if !ferry_tests::emulator_running() {
        return None;
    }
    let var = |name: &str| std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set"));
    // A config per test: each #[tokio::test] has its own runtime.
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest()).load().await;
    Some(Arc::new(ferry_aws::DynamoStore::new(&config, var("FERRY_TABLE"), var("FERRY_BUCKET"))))
}

macro_rules! contract {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let (store, _dir) = sqlite();
                    contract::$case(store).await;
                }
            )*
        }
        mod dynamodb {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let Some(store) = dynamodb().await else { return };
                    contract::$case(store).await;
                }
            )*
        }
    };
}

contract!(
    create_get_and_owner_scoping,
    idempotency_key_returns_the_same_job,
    chunks_count_once_and_the_job_succeeds,
    a_job_whose_every_item_failed_fails,
    racing_workers_count_a_chunk_once,
    status_never_moves_backwards,
    begin_creates_a_job_nobody_created,
    list_jobs_newest_first_with_paging_and_status_filter,
    webhook_claims_redrive_reopening_and_document_splits,
);
