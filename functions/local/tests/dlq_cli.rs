//! `ferry dlq list` and `ferry dlq redrive` through the real binary on a
//! temporary data directory: a chunk the worker gave up on is dead-lettered,
//! listed without its texts, and redriven with its chunk reopened.

use ferry_core::message::chunk_texts;
use ferry_core::{ItemResult, Job, JobStatus, JobStore, Task, TaskQueue};
use ferry_local::db::Db;
use ferry_local::queue::SqliteQueue;
use ferry_local::store::SqliteStore;
use serde_json::Value;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

const FERRY: &str = env!("CARGO_BIN_EXE_ferry");

fn dlq(data_dir: &Path, args: &[&str]) -> Vec<Value> {
    let output = Command::new(FERRY)
        .arg("dlq")
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .env_remove("FERRY_BACKEND")
        .env("FERRY_LOG", "warn")
        .output()
        .expect("ferry runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

#[tokio::test]
async fn dead_letters_are_listed_and_redriven_with_their_chunk_reopened() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(&dir.path().join("ferry.sqlite3")).unwrap();
    let store = SqliteStore::new(db.clone());
    let queue = SqliteQueue::new(db, Duration::from_secs(30), 1);
    let texts: Vec<String> = (0..3).map(|i| format!("secret text {i}")).collect();
    let job = Job::new("alice", Task::Sentiment, 3, 1);
    store.create_job(&job, None).await.unwrap();
    queue.send(&chunk_texts(&job, &texts)).await.unwrap();
    // One delivery, the worker gives up: items recorded failed, message kept.
    let (got, _) = queue.receive(10).await.unwrap();
    let failures: Vec<ItemResult> = (0..3).map(|i| ItemResult::failed(i, "gave up after 1 attempts: boom")).collect();
    store.complete_chunk(job.id, 0, &failures).await.unwrap();
    queue.release(got.iter().map(|r| r.id.clone()).collect(), Duration::ZERO).await.unwrap();
    let (none, dead) = queue.receive(10).await.unwrap();
    assert!(none.is_empty() && dead.len() == 1, "dead-lettered on the next receive");
    assert_eq!(store.get_job("alice", job.id).await.unwrap().unwrap().status, JobStatus::Failed);

    let listed = dlq(dir.path(), &["list"]);
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["job_id"], job.id.to_string());
    assert_eq!((listed[0]["chunk"].as_u64(), listed[0]["items"].as_u64()), (Some(0), Some(3)));
    assert!(!listed[0].to_string().contains("secret text"), "no texts in the listing");
    assert!(dlq(dir.path(), &["list", "--job", &ferry_core::JobId::new().to_string()]).is_empty());

    let redriven = dlq(dir.path(), &["redrive", "--job", &job.id.to_string()]);
    assert_eq!(redriven[0]["reopened"], true);
    let reopened = store.get_job("alice", job.id).await.unwrap().unwrap();
    assert_eq!((reopened.status, reopened.progress.failed), (JobStatus::Running, 0));
    assert!(dlq(dir.path(), &["list"]).is_empty());
    assert_eq!(queue.depth().await.unwrap(), 1, "back on the queue");
}
