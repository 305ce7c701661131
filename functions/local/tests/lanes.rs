//! The interactive lane: work a client waits for (`POST /v1/sentiment`,
//! `Prefer: wait` on one message's worth) is queued apart from bulk work and
//! answered while a bulk job runs, on SQLite and on the emulator's SQS.

mod common;

use common::{Served, emulator_queue, token};
use serde_json::{Value, json};
use std::path::Path;
use std::time::{Duration, Instant};

/// A bulk job of 2,000 texts (32 messages), not waited for.
fn start_bulk_job(server: &Served, alice: &str) -> String {
    let inputs: Vec<String> =
        (0..2000).map(|i| format!("Review {i}: the delivery was late but the product itself works fine.")).collect();
    let (status, job) = server.post("/v1/jobs", alice, json!({"task": "sentiment", "inputs": inputs}), None);
    assert_eq!(status, 202, "{job}");
    format!("/v1/jobs/{}", job["id"].as_str().unwrap())
}

/// Starts a bulk job, then asks for one sentiment: the answer comes while
/// the bulk job is still running (before the lane, the text queued behind
/// all 32 of its messages); then the bulk job finishes too.
fn sync_call_passes_a_running_bulk_job(server: &Served, dir: &Path) {
    let alice = token(dir, "alice");
    let bulk = start_bulk_job(server, &alice);

    let asked = Instant::now();
    let (status, answer) =
        server.post("/v1/sentiment", &alice, json!({"text": "I absolutely love this phone, it is perfect!"}), None);
    let took = asked.elapsed();
    let (_, during) = server.get(&bulk, &alice, None);
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["sentiment"], "positive", "{answer}");
    assert!(
        matches!(during["status"].as_str(), Some("queued" | "running")),
        "the bulk job had already ended when the sync call was answered ({took:?}): {}",
        during["progress"]
    );
    eprintln!("sync call answered in {took:?} while the bulk job was at {}", during["progress"]);

    let done = wait_until_final(server, &alice, &bulk);
    assert_eq!(done["status"], "succeeded", "{}", done["progress"]);
    assert_eq!(done["progress"], json!({"total": 2000, "done": 2000, "failed": 0}));
}

fn wait_until_final(server: &Served, token: &str, path: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let (status, job) = server.get(path, token, Some("wait=20"));
        assert_eq!(status, 200, "{job}");
        if matches!(job["status"].as_str(), Some("succeeded" | "failed" | "canceled")) {
            return job;
        }
        assert!(Instant::now() < deadline, "the bulk job did not finish: {}", job["progress"]);
    }
}

#[test]
fn a_sync_call_passes_a_running_bulk_job_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let server = Served::start(dir.path(), &["--workers", "1"]);
    sync_call_passes_a_running_bulk_job(&server, dir.path());
}

#[test]
#[cfg_attr(not(feature = "aws"), ignore = "`ferry` is built without --features aws")]
fn a_sync_call_passes_a_running_bulk_job_on_sqs() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let Some(jobs) = emulator_queue(&runtime, "lane-bulk") else { return };
    let interactive = emulator_queue(&runtime, "lane-interactive").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let queues = [("FERRY_QUEUE_URL", jobs.as_str()), ("FERRY_INTERACTIVE_QUEUE_URL", interactive.as_str())];
    let server = Served::start_with_env(dir.path(), &["--backend", "aws", "--workers", "1"], &queues);
    sync_call_passes_a_running_bulk_job(&server, dir.path());
    drop(server);
    common::delete_queue(&runtime, &jobs);
    common::delete_queue(&runtime, &interactive);
}

/// Which queue each kind of request lands on, read back from SQS with no
/// worker running.
#[test]
#[cfg_attr(not(feature = "aws"), ignore = "`ferry` is built without --features aws")]
fn requests_land_on_the_lane_their_client_waits_in() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let Some(jobs) = emulator_queue(&runtime, "route-bulk") else { return };
    let interactive = emulator_queue(&runtime, "route-interactive").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let queues = [("FERRY_QUEUE_URL", jobs.as_str()), ("FERRY_INTERACTIVE_QUEUE_URL", interactive.as_str())];
    let server = Served::start_with_env(dir.path(), &["--backend", "aws", "--workers", "0"], &queues);
    let alice = token(dir.path(), "alice");
    let job = |inputs: Vec<String>, prefer: Option<&str>| {
        let (status, job) = server.post("/v1/jobs", &alice, json!({"task": "sentiment", "inputs": inputs}), prefer);
        assert_eq!(status, 202, "{job}");
        job["id"].as_str().unwrap().to_owned()
    };
    let waited = job(vec!["one text, waited for".into()], Some("wait=1"));
    let not_waited = job(vec!["one text, not waited for".into()], None);
    let zero_wait = job(vec!["wait=0 is no wait".into()], Some("wait=0"));
    let large = job(vec!["sixty-five texts".into(); 65], Some("wait=1"));
    let (status, sync) = server.post("/v1/sentiment", &alice, json!({"text": "a sync call"}), Some("wait=1"));
    assert_eq!(status, 202, "{sync}");
    let sync = sync["id"].as_str().unwrap().to_owned();

    let mut on_interactive = job_ids(&runtime, &interactive, 2);
    let mut on_jobs = job_ids(&runtime, &jobs, 4);
    on_interactive.sort();
    on_jobs.sort();
    let mut want_interactive = vec![waited, sync];
    let mut want_jobs = vec![not_waited, zero_wait, large.clone(), large];
    want_interactive.sort();
    want_jobs.sort();
    assert_eq!(on_interactive, want_interactive);
    assert_eq!(on_jobs, want_jobs, "several chunks are bulk work even when waited for");

    drop(server);
    common::delete_queue(&runtime, &jobs);
    common::delete_queue(&runtime, &interactive);
}

/// The job ids of the `expect` messages on `queue_url` (received in a
/// bounded loop; more than `expect` fails).
fn job_ids(runtime: &tokio::runtime::Runtime, queue_url: &str, expect: usize) -> Vec<String> {
    runtime.block_on(async {
        let sqs = ferry_aws::sqs_client(&ferry_aws::config().await);
        let queue = ferry_aws::SqsQueue::from_client(sqs, queue_url);
        let mut ids = Vec::new();
        for _ in 0..10 {
            for message in queue.receive(10, 1).await.expect("ReceiveMessage") {
                let body: Value = serde_json::from_str(message.body.as_deref().unwrap()).unwrap();
                ids.push(body["job_id"].as_str().unwrap().to_owned());
            }
            if ids.len() >= expect {
                break;
            }
        }
        assert!(queue.receive(10, 0).await.unwrap().is_empty(), "more than {expect} messages on {queue_url}");
        ids
    })
}
