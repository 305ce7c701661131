//! Creating work is atomic with queuing it. The real `ferry serve` is made to
//! die — aborted at a crash point (`FAILPOINTS`, the `fail` crate), or
//! SIGKILLed at an arbitrary instant — in the middle of `POST /v1/jobs` or of
//! a webhook's claim and delivery, then restarted: afterwards every job
//! either does not exist or completes with every item counted once, and
//! every claimed webhook is delivered. On SQLite and on the AWS emulator.

mod common;

use common::{Receiver, Served, respond, token};
use serde_json::{Value, json};
use std::path::Path;
use std::time::{Duration, Instant};

/// Recovery at its quickest, so a test does not wait a minute per case.
const FAST_RECOVERY: [(&str, &str); 2] = [("FERRY_RECOVERY_GRACE_SECS", "1"), ("FERRY_RECOVERY_EVERY_SECS", "1")];
/// Webhooks to the test's receiver on 127.0.0.1, retried after 100 ms.
const LOOPBACK_WEBHOOKS: [(&str, &str); 3] = [
    ("FERRY_CALLBACK_ALLOW_PRIVATE", "true"),
    ("FERRY_CALLBACK_ALLOW_HTTP", "true"),
    ("FERRY_WEBHOOK_BACKOFF_MS", "100"),
];

/// Where a job can be when the process dies in `POST /v1/jobs`.
const CREATION_POINTS: [&str; 3] = ["outbox.after-stage", "outbox.after-create", "outbox.after-queue"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// The crash came before the job existed.
    NoJob,
    /// The job exists and completed, every item counted once.
    Completed,
}

fn inputs(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("review {i}: good value, would buy again")).collect()
}

/// A POST that the server may die in the middle of: the status, or `None`
/// when the connection broke.
fn post_dying(server: &Served, token: &str, body: &Value) -> Option<u16> {
    let request = ureq::post(&format!("{}/v1/jobs", server.base))
        .set("authorization", &format!("Bearer {token}"))
        .timeout(Duration::from_secs(60));
    match request.send_json(body) {
        Ok(r) => Some(r.status()),
        Err(ureq::Error::Status(code, _)) => Some(code),
        Err(_) => None,
    }
}

/// The owner's jobs once every one of them has ended (bounded in time).
fn settled_jobs(server: &Served, token: &str) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let (status, list) = server.get("/v1/jobs?limit=100", token, None);
        assert_eq!(status, 200, "{list}");
        let jobs = list["jobs"].as_array().unwrap().clone();
        if jobs.iter().all(|j| !matches!(j["status"].as_str(), Some("queued" | "running"))) {
            return jobs;
        }
        assert!(Instant::now() < deadline, "jobs did not end: {list}");
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// What became of the one job (or none) the owner tried to create.
fn outcome(server: &Served, token: &str, total: usize) -> Outcome {
    let jobs = settled_jobs(server, token);
    assert!(jobs.len() <= 1, "one request, at most one job: {jobs:?}");
    let Some(job) = jobs.first() else { return Outcome::NoJob };
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(job["progress"], json!({"total": total, "done": total, "failed": 0}), "{job}");
    Outcome::Completed
}

/// Starts a server that aborts at `point`, makes it get there with `act`,
/// checks that it died, and restarts it on the same data.
fn crash_and_restart(
    dir: &Path,
    backend: &[&str],
    env: &[(&str, &str)],
    point: &str,
    act: impl FnOnce(&Served),
) -> Served {
    let failpoints = format!("{point}=return");
    let mut with_point: Vec<(&str, &str)> = env.to_vec();
    with_point.push(("FAILPOINTS", &failpoints));
    let mut doomed = Served::start_with_env(dir, backend, &with_point);
    act(&doomed);
    let status = doomed.wait_exit(Duration::from_secs(60)).unwrap_or_else(|| panic!("{point} was never reached"));
    assert!(!status.success(), "{point}: the process aborted ({status:?})");
    drop(doomed);
    Served::start_with_env(dir, backend, env)
}

/// Every creation crash point, for a one-message job (kept inline) and a
/// multi-message one (staged in the blob store): returns the outcomes.
fn creation_crashes(backend: &[&str], env: &[(&str, &str)]) -> Vec<(String, Outcome)> {
    let mut outcomes = Vec::new();
    for point in CREATION_POINTS {
        for n in [1, 300] {
            let dir = tempfile::tempdir().unwrap();
            let owner = format!("crash-{}", uuid::Uuid::now_v7().simple());
            let alice = token(dir.path(), &owner);
            let body = json!({"task": "sentiment", "inputs": inputs(n)});
            let server = crash_and_restart(dir.path(), backend, env, point, |s| {
                assert_eq!(post_dying(s, &alice, &body), None, "{point}: the request dies with the server");
            });
            let got = outcome(&server, &alice, n);
            let expected = if point == "outbox.after-stage" { Outcome::NoJob } else { Outcome::Completed };
            assert_eq!(got, expected, "{point}, {n} inputs");
            outcomes.push((format!("{point} ({n} inputs)"), got));
        }
    }
    outcomes
}

#[test]
fn a_crash_anywhere_in_job_creation_leaves_no_job_or_a_job_that_completes() {
    let env: Vec<(&str, &str)> = FAST_RECOVERY.to_vec();
    let outcomes = creation_crashes(&[], &env);
    eprintln!("SQLite crash points: {outcomes:?}");
}

#[test]
fn a_10000_input_job_killed_after_its_record_is_written_is_queued_again_whole() {
    let dir = tempfile::tempdir().unwrap();
    let alice = token(dir.path(), "big");
    let env: Vec<(&str, &str)> = FAST_RECOVERY.to_vec();
    let body = json!({"task": "sentiment", "inputs": inputs(10_000)});
    // Restarted without workers, so the queue shows what recovery put back.
    let server = crash_and_restart(dir.path(), &["--workers", "0"], &env, "outbox.after-create", |s| {
        assert_eq!(post_dying(s, &alice, &body), None);
    });
    let (status, list) = server.get("/v1/jobs", &alice, None);
    assert_eq!(status, 200);
    let job = &list["jobs"][0];
    assert_eq!(job["status"], "queued", "{list}");
    assert_eq!(job["progress"]["total"], 10_000);
    // Read beside the running server (WAL lets a reader in).
    let db = rusqlite::Connection::open(dir.path().join("ferry.sqlite3")).unwrap();
    let id = job["id"].as_str().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let queued: i64 =
            db.query_row("SELECT COUNT(*) FROM queue WHERE body LIKE '%' || ?1 || '%'", [id], |r| r.get(0)).unwrap();
        let due: Option<i64> = db.query_row("SELECT recovery_due FROM jobs WHERE id = ?1", [id], |r| r.get(0)).unwrap();
        if queued == 157 && due.is_none() {
            break;
        }
        assert!(Instant::now() < deadline, "{queued} of 157 messages queued again, due {due:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(server);
}

#[test]
fn sigkill_at_arbitrary_instants_of_job_creation() {
    let env: Vec<(&str, &str)> = FAST_RECOVERY.to_vec();
    let mut outcomes = Vec::new();
    for delay_ms in [0u64, 2, 5, 10, 20, 35, 60, 100] {
        let dir = tempfile::tempdir().unwrap();
        let owner = format!("kill-{delay_ms}");
        let alice = token(dir.path(), &owner);
        let mut server = Served::start_with_env(dir.path(), &[], &env);
        let base = server.base.clone();
        let body = json!({"task": "sentiment", "inputs": inputs(300)});
        let token = alice.clone();
        let request = std::thread::spawn(move || {
            let url = format!("{base}/v1/jobs");
            ureq::post(&url).set("authorization", &format!("Bearer {token}")).send_json(body).ok().map(|r| r.status())
        });
        std::thread::sleep(Duration::from_millis(delay_ms));
        server.signal("-KILL");
        let answered = request.join().unwrap();
        drop(server);
        let server = Served::start_with_env(dir.path(), &[], &env);
        let got = outcome(&server, &alice, 300);
        if answered == Some(202) {
            assert_eq!(got, Outcome::Completed, "a job answered 202 must complete");
        }
        outcomes.push((delay_ms, answered, got));
    }
    eprintln!("SIGKILL after (ms, answer, outcome): {outcomes:?}");
}

/// A webhook receiver's view of the job's delivery, once it is final.
fn delivered_webhook(server: &Served, token: &str, receiver: &Receiver) -> Value {
    let jobs = settled_jobs(server, token);
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    let path = format!("/v1/jobs/{}", jobs[0]["id"].as_str().unwrap());
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (_, job) = server.get(&path, token, None);
        if job["webhook"]["status"] == "delivered" {
            let id = job["id"].as_str().unwrap();
            assert!(receiver.hits().iter().any(|h| h == id), "the receiver saw {:?}", receiver.hits());
            return job;
        }
        assert!(Instant::now() < deadline, "the webhook was not delivered: {job}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_crash_while_claiming_or_delivering_a_webhook_still_delivers_it() {
    let mut env: Vec<(&str, &str)> = FAST_RECOVERY.to_vec();
    env.extend(LOOPBACK_WEBHOOKS);
    // (crash point, the receiver's answers): "after-record" needs a failed
    // first attempt, so that there is a next one to store and queue.
    for (point, answers) in [
        ("webhook.after-claim", vec![200]),
        ("webhook.after-deliver", vec![200]),
        ("webhook.after-record", vec![500, 200]),
    ] {
        let receiver = Receiver::start(answers, Duration::ZERO);
        let dir = tempfile::tempdir().unwrap();
        let alice = token(dir.path(), "hooked");
        let body = json!({"task": "sentiment", "input": "good", "callback_url": receiver.url});
        let server = crash_and_restart(dir.path(), &[], &env, point, |s| {
            let (status, job) = respond(
                ureq::post(&format!("{}/v1/jobs", s.base))
                    .set("authorization", &format!("Bearer {alice}"))
                    .send_json(body.clone()),
            );
            assert_eq!(status, 202, "{job}");
        });
        let job = delivered_webhook(&server, &alice, &receiver);
        eprintln!(
            "{point}: delivered after {} attempt(s); receiver saw {} request(s)",
            job["webhook"]["attempts"],
            receiver.hits().len()
        );
    }
}

#[test]
#[cfg_attr(not(feature = "aws"), ignore = "`ferry` is built without --features aws")]
fn the_same_crashes_on_the_aws_emulator() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let Some(queue_url) = common::emulator_queue(&runtime, "crash") else { return };
    let mut env: Vec<(&str, &str)> = FAST_RECOVERY.to_vec();
    env.push(("FERRY_QUEUE_URL", &queue_url));
    let outcomes = creation_crashes(&["--backend", "aws"], &env);
    eprintln!("AWS emulator crash points: {outcomes:?}");
    common::delete_queue(&runtime, &queue_url);

    // Webhook attempts on their own queue, as the template deploys them:
    // recovery also re-queues jobs other tests left in the shared emulator
    // table, which would otherwise be worked through before this webhook.
    let Some(queue_url) = common::emulator_queue(&runtime, "crash-jobs") else { return };
    let Some(webhook_queue_url) = common::emulator_queue(&runtime, "crash-webhooks") else { return };
    let mut env: Vec<(&str, &str)> = FAST_RECOVERY.to_vec();
    env.push(("FERRY_QUEUE_URL", &queue_url));
    env.push(("FERRY_WEBHOOK_QUEUE_URL", &webhook_queue_url));
    env.extend(LOOPBACK_WEBHOOKS);
    let receiver = Receiver::start(vec![200], Duration::ZERO);
    let dir = tempfile::tempdir().unwrap();
    let owner = format!("hooked-{}", uuid::Uuid::now_v7().simple());
    let alice = token(dir.path(), &owner);
    let body = json!({"task": "sentiment", "input": "good", "callback_url": receiver.url});
    let server = crash_and_restart(dir.path(), &["--backend", "aws"], &env, "webhook.after-claim", |s| {
        assert_eq!(s.post("/v1/jobs", &alice, body.clone(), None).0, 202);
    });
    delivered_webhook(&server, &alice, &receiver);
    drop(server);
    common::delete_queue(&runtime, &queue_url);
    common::delete_queue(&runtime, &webhook_queue_url);
}
