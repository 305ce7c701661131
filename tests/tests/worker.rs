//! The worker's batch semantics on the real SQLite store: poison messages fail
//! their job and are acknowledged, redeliveries change nothing, transient
//! failures retry until the attempt limit and then fail the job.

use ferry_core::message::chunk_texts;
use ferry_core::{Job, JobStatus, Limits, Task, TaskMessage};
use ferry_inference::{Outcome, Received};
use ferry_tests::TestApp;
use serde_json::json;
use std::sync::Arc;

fn received(body: String, receive_count: u32) -> Received {
    Received { id: "m1".into(), body, receive_count }
}

async fn queued_job(app: &TestApp, texts: &[&str]) -> (Job, Vec<TaskMessage>) {
    let texts: Vec<String> = texts.iter().map(|t| t.to_string()).collect();
    let job = Job::new("alice", Task::Sentiment, texts.len() as u32, 1);
    app.store.create_job(&job, None).await.unwrap();
    let messages = chunk_texts(&job, &texts);
    (job, messages)
}

#[tokio::test]
async fn a_batch_of_messages_is_scored_and_counted_once() {
    let app = TestApp::new(Limits::default());
    let (a, ma) = queued_job(&app, &["good", "bad"]).await;
    let (b, mb) = queued_job(&app, &["meh"]).await;
    let batch = vec![received(ma[0].to_json(), 1), received(mb[0].to_json(), 1)];
    assert_eq!(app.worker.handle(&batch).await, vec![Outcome::Done, Outcome::Done]);

    let job = app.store.get_job("alice", a.id).await.unwrap().unwrap();
    assert_eq!(job.status, JobStatus::Succeeded);
    assert_eq!((job.progress.done, job.progress.failed), (2, 0));
    let results = app.store.get_results(a.id, 0, 10).await.unwrap();
    let first = serde_json::to_value(&results[0].items[0]).unwrap();
    assert_eq!(first["sentiment"], "positive");
    assert_eq!(app.store.get_job("alice", b.id).await.unwrap().unwrap().status, JobStatus::Succeeded);

    // Redelivery of the same message: acknowledged, nothing double-counted.
    assert_eq!(app.worker.handle(&batch[..1]).await, vec![Outcome::Done]);
    let again = app.store.get_job("alice", a.id).await.unwrap().unwrap();
    assert_eq!(again.progress, job.progress);
    assert_eq!(again.status, JobStatus::Succeeded);
}

#[tokio::test]
async fn poison_messages_fail_their_job_and_are_acknowledged() {
    let app = TestApp::new(Limits::default());
    let (job, messages) = queued_job(&app, &["good"]).await;
    let mut wrong_task = serde_json::to_value(&messages[0]).unwrap();
    wrong_task["task"] = json!("summarise");
    let batch = vec![received("{not json".into(), 1), received(wrong_task.to_string(), 1)];
    let outcomes = app.worker.handle(&batch).await;
    assert!(matches!(&outcomes[0], Outcome::Poisoned(r) if r.contains("not JSON")), "{outcomes:?}");
    assert!(matches!(&outcomes[1], Outcome::Poisoned(r) if r.contains("unknown task")), "{outcomes:?}");
    let failed = app.store.get_job("alice", job.id).await.unwrap().unwrap();
    assert_eq!(failed.status, JobStatus::Failed);
    assert!(failed.error.unwrap().contains("unknown task"));
}

#[tokio::test]
async fn a_poison_message_fails_only_a_job_of_the_owner_it_names() {
    let app = TestApp::new(Limits::default());
    let (job, messages) = queued_job(&app, &["good"]).await;
    let mut forged = serde_json::to_value(&messages[0]).unwrap();
    forged["task"] = json!("summarise");
    forged["owner"] = json!("mallory");
    let outcomes = app.worker.handle(&[received(forged.to_string(), 1)]).await;
    assert!(matches!(&outcomes[0], Outcome::Poisoned(r) if r.contains("unknown task")), "{outcomes:?}");
    assert_eq!(app.store.get_job("alice", job.id).await.unwrap().unwrap().status, JobStatus::Queued, "untouched");
    forged.as_object_mut().unwrap().remove("owner");
    app.worker.handle(&[received(forged.to_string(), 1)]).await;
    assert_eq!(app.store.get_job("alice", job.id).await.unwrap().unwrap().status, JobStatus::Queued, "no owner");
}

#[tokio::test]
async fn a_poison_message_does_not_spoil_its_batch() {
    let app = TestApp::new(Limits::default());
    let (job, messages) = queued_job(&app, &["good"]).await;
    let batch = vec![received("[]".into(), 1), received(messages[0].to_json(), 1)];
    let outcomes = app.worker.handle(&batch).await;
    assert!(matches!(outcomes[0], Outcome::Poisoned(_)));
    assert_eq!(outcomes[1], Outcome::Done);
    assert_eq!(app.store.get_job("alice", job.id).await.unwrap().unwrap().status, JobStatus::Succeeded);
}

#[tokio::test]
async fn model_failures_retry_then_fail_their_items_on_the_last_attempt() {
    let app = TestApp::new(Limits::default());
    let (job, messages) = queued_job(&app, &["this will explode"]).await;
    let body = messages[0].to_json();
    let first = app.worker.handle(&[received(body.clone(), 1)]).await;
    assert!(matches!(&first[0], Outcome::Retry(r) if r.contains("boom")), "{first:?}");
    assert_eq!(app.store.get_job("alice", job.id).await.unwrap().unwrap().status, JobStatus::Running);

    // The last attempt records the items as failed, so the job finishes, and
    // leaves the message to the queue, which dead-letters it for redrive.
    let last = app.worker.handle(&[received(body, 3)]).await;
    assert!(matches!(&last[0], Outcome::Retry(r) if r.contains("boom")), "{last:?}");
    let failed = app.store.get_job("alice", job.id).await.unwrap().unwrap();
    assert_eq!(failed.status, JobStatus::Failed);
    assert_eq!(failed.error.as_deref(), Some("every item failed"));
    let results = app.store.get_results(job.id, 0, 10).await.unwrap();
    assert!(format!("{:?}", results[0].items).contains("gave up after 3 attempts: model failed: boom"));
}

#[tokio::test]
async fn upstream_messages_create_their_job_and_empty_items_fail_alone() {
    let app = TestApp::new(Limits::default());
    let id = ferry_core::JobId::new();
    let body = json!({
        "v": 1, "job_id": id, "owner": "upstream", "task": "sentiment", "chunk": 0,
        "items": [{"i": 0, "text": "good"}, {"i": 1, "text": "  "}]
    });
    assert_eq!(app.worker.handle(&[received(body.to_string(), 1)]).await, vec![Outcome::Done]);
    let job = app.store.get_job("upstream", id).await.unwrap().unwrap();
    assert_eq!(job.status, JobStatus::Succeeded);
    assert_eq!((job.progress.total, job.progress.done, job.progress.failed), (2, 1, 1));
    let results = app.store.get_results(id, 0, 10).await.unwrap();
    assert_eq!(serde_json::to_value(&results[0].items[1]).unwrap(), json!({"i": 1, "error": "empty text"}));
}

#[tokio::test]
async fn only_allowed_upstream_owners_create_jobs_and_api_jobs_still_run() {
    let app = TestApp::new(Limits::default());
    let allowed = ferry_inference::Upstream::Only(["etl".to_string()].into());
    let worker = ferry_inference::Worker::new(
        Arc::clone(&app.store),
        Arc::new(app.queue.clone()),
        Arc::clone(&app.blobs),
        Arc::new(ferry_tests::KeywordModel),
        3,
    )
    .with_upstream(allowed);
    let message = |owner: &str, id: ferry_core::JobId| {
        json!({"v": 1, "job_id": id, "owner": owner, "task": "sentiment", "chunk": 0, "items": [{"i": 0, "text": "good"}]})
            .to_string()
    };
    let (stranger, etl) = (ferry_core::JobId::new(), ferry_core::JobId::new());
    let outcomes = worker.handle(&[received(message("mallory", stranger), 1), received(message("etl", etl), 1)]).await;
    assert!(matches!(&outcomes[0], Outcome::Poisoned(reason) if reason.contains("not an allowed upstream source")));
    assert_eq!(outcomes[1], Outcome::Done);
    assert_eq!(app.store.get_job("mallory", stranger).await.unwrap(), None);
    assert_eq!(app.store.get_job("etl", etl).await.unwrap().unwrap().status, JobStatus::Succeeded);
    // Jobs the API created are worked on whoever owns them.
    let (job, messages) = queued_job(&app, &["good"]).await;
    assert_eq!(worker.handle(&[received(messages[0].to_json(), 1)]).await, vec![Outcome::Done]);
    assert_eq!(app.store.get_job("alice", job.id).await.unwrap().unwrap().status, JobStatus::Succeeded);
}

#[tokio::test]
async fn canceled_jobs_are_not_worked_on() {
    let app = TestApp::new(Limits::default());
    let (job, messages) = queued_job(&app, &["good"]).await;
    app.store.cancel_job("alice", job.id, "test").await.unwrap();
    assert_eq!(app.worker.handle(&[received(messages[0].to_json(), 1)]).await, vec![Outcome::Done]);
    let job = app.store.get_job("alice", job.id).await.unwrap().unwrap();
    assert_eq!(job.status, JobStatus::Canceled);
    assert!(app.store.get_results(job.id, 0, 10).await.unwrap().is_empty());
}
