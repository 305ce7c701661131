//! `JobsFinished` counts each job that ends once, however it ends (its last
//! chunk, a poison message, its deadline, its owner's cancel) and however
//! often the call that ended it is repeated (redeliveries, a second DELETE).
//!
//! One test function on purpose: the metric events are read from a global
//! subscriber, so scenarios running side by side would count each other's.

use ferry_core::message::chunk_texts;
use ferry_core::{Job, Limits, Task, TaskMessage};
use ferry_inference::{Outcome, Received};
use ferry_tests::TestApp;
use ferry_tests::logs::LogCapture;
use serde_json::{Value, json};

/// The `(task, status)` of every `JobsFinished` event logged since the last call.
fn finished(log: &LogCapture) -> Vec<(String, String)> {
    log.take()
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|line| line["target"] == ferry_core::metrics::TARGET && line["fields"]["JobsFinished"] == 1)
        .map(|line| {
            let field = |name: &str| line["fields"][name].as_str().unwrap_or_default().to_owned();
            (field("task"), field("status"))
        })
        .collect()
}

fn received(message: &TaskMessage) -> Received {
    Received { id: "m1".into(), body: message.to_json(), receive_count: 1 }
}

async fn queued_job(app: &TestApp, job: Job) -> (Job, Vec<TaskMessage>) {
    app.store.create_job(&job, None).await.unwrap();
    let messages = chunk_texts(&job, &["good".to_owned(), "bad".to_owned()]);
    (job, messages)
}

fn sentiment_job() -> Job {
    Job::new("alice", Task::Sentiment, 2, 1)
}

fn once(status: &str) -> Vec<(String, String)> {
    vec![("sentiment".to_owned(), status.to_owned())]
}

#[tokio::test]
async fn each_job_that_ends_is_counted_once() {
    let log = LogCapture::global();
    let app = TestApp::new(Limits::default());
    finished(&log);

    // Its last chunk, then a redelivery of it.
    let (_, messages) = queued_job(&app, sentiment_job()).await;
    for _ in 0..2 {
        assert_eq!(app.worker.handle(&[received(&messages[0])]).await, vec![Outcome::Done]);
    }
    assert_eq!(finished(&log), once("succeeded"), "last chunk");

    // A poison message (a task nobody knows), twice.
    let (_, messages) = queued_job(&app, sentiment_job()).await;
    let mut poison = serde_json::to_value(&messages[0]).unwrap();
    poison["task"] = json!("summarise");
    for _ in 0..2 {
        let batch = [Received { id: "m2".into(), body: poison.to_string(), receive_count: 1 }];
        assert!(matches!(&app.worker.handle(&batch).await[0], Outcome::Poisoned(_)));
    }
    assert_eq!(finished(&log), once("failed"), "poison message");

    // Past its deadline when its message arrives, twice.
    let mut late = sentiment_job();
    late.deadline = Some(ferry_core::job::now() - time::Duration::seconds(1));
    let (_, messages) = queued_job(&app, late).await;
    for _ in 0..2 {
        assert_eq!(app.worker.handle(&[received(&messages[0])]).await, vec![Outcome::Done]);
    }
    assert_eq!(finished(&log), once("canceled"), "deadline");

    // Its owner's DELETE, twice: both answer 200, one is counted.
    let (job, _) = queued_job(&app, sentiment_job()).await;
    for _ in 0..2 {
        let (status, body) = app.send("DELETE", &format!("/v1/jobs/{}", job.id), Some("alice"), None).await;
        assert_eq!((status.as_u16(), body["status"].as_str()), (200, Some("canceled")), "{body}");
    }
    assert_eq!(finished(&log), once("canceled"), "DELETE");
}
