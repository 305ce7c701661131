//! SqsQueue against the emulator, each test on a queue of its own.

mod common;

use ferry_aws::SqsQueue;
use ferry_core::{Item, Job, Task, TaskMessage, TaskQueue, Work};
use std::collections::HashSet;

async fn fresh_queue(env: &common::Env, tag: &str) -> SqsQueue {
    let client = ferry_aws::sqs_client(&env.config);
    let name = format!("ferry-aws-test-{tag}-{}", uuid::Uuid::now_v7().simple());
    let url = client.create_queue().queue_name(name).send().await.unwrap().queue_url.unwrap();
    SqsQueue::new(&env.config, url)
}

async fn drop_queue(queue: &SqsQueue) {
    let _ = queue.client().delete_queue().queue_url(queue.queue_url()).send().await;
}

fn messages(job: &Job, n: u32, text: &str) -> Vec<TaskMessage> {
    (0..n)
        .map(|chunk| TaskMessage {
            job_id: job.id,
            owner: job.owner.clone(),
            chunk,
            work: Work::Texts(vec![Item { i: chunk, text: text.to_owned() }]),
            total: Some(n),
        })
        .collect()
}

#[tokio::test]
async fn a_batch_of_25_arrives_with_its_attributes() {
    let Some(env) = common::env().await else { return };
    let queue = fresh_queue(&env, "batch").await.with_trace_id(Some("Root=1-5759e988-bd862e3fe1be46a994272793".into()));
    let job = Job::new(&common::owner("queue"), Task::Sentiment, 25, 25);
    let sent = messages(&job, 25, "hello");
    queue.send(&sent).await.unwrap();

    let mut received = Vec::new();
    for _ in 0..30 {
        if received.len() >= 25 {
            break;
        }
        received.extend(queue.receive(10, 1).await.unwrap());
    }
    assert_eq!(received.len(), 25, "every message arrives, once");
    let arn = queue.queue_arn().unwrap();
    assert!(arn.starts_with("arn:aws:sqs:us-east-1:123456789012:ferry-aws-test-batch-"), "{arn}");
    let mut chunks = HashSet::new();
    for m in &received {
        let body = TaskMessage::parse(m.body.as_deref().unwrap()).unwrap();
        assert_eq!(body, sent[body.chunk as usize]);
        chunks.insert(body.chunk);
        let attr = |name: &str| m.message_attributes[name].string_value.clone().unwrap();
        assert_eq!(attr("job_id"), job.id.to_string());
        assert_eq!(attr("task"), "sentiment");
        assert_eq!(attr("trace_id"), "Root=1-5759e988-bd862e3fe1be46a994272793");
        assert_eq!(m.message_attributes["task"].data_type.as_deref(), Some("String"));
        assert_eq!(m.attributes.get("ApproximateReceiveCount").map(String::as_str), Some("1"));
        assert!(m.receipt_handle.is_some() && m.message_id.is_some() && m.md5_of_body.is_some());
        assert_eq!(m.event_source.as_deref(), Some("aws:sqs"));
        assert_eq!(m.event_source_arn.as_deref(), Some(arn.as_str()));
        assert_eq!(m.aws_region.as_deref(), Some("us-east-1"));
    }
    assert_eq!(chunks.len(), 25);
    // The records deserialize as a Lambda SqsEvent would.
    let event = serde_json::json!({ "Records": received });
    let event: aws_lambda_events::sqs::SqsEvent = serde_json::from_value(event).unwrap();
    assert_eq!(event.records.len(), 25);

    let handles: Vec<String> = received.iter().map(|m| m.receipt_handle.clone().unwrap()).collect();
    queue.delete(&handles).await.unwrap();
    assert!(queue.receive(10, 1).await.unwrap().is_empty(), "deleted messages stay deleted");
    drop_queue(&queue).await;
}

#[tokio::test]
async fn a_too_large_entry_is_refused_before_anything_is_sent() {
    let Some(env) = common::env().await else { return };
    let queue = fresh_queue(&env, "large").await;
    let job = Job::new(&common::owner("queue"), Task::Sentiment, 12, 12);
    let mut batch = messages(&job, 12, "small");
    batch[11].work = Work::Texts(vec![Item { i: 11, text: "x".repeat(300 * 1024) }]);
    let err = queue.send(&batch).await.unwrap_err();
    assert!(err.0.contains("chunk 11") && err.0.contains("nothing was sent"), "{err}");
    assert!(queue.receive(10, 1).await.unwrap().is_empty(), "no half-sent batch");

    // Entries just under the limit go out, in as many batches as their size needs.
    let mut big = messages(&job, 3, &"y".repeat(120 * 1024));
    big.truncate(3);
    queue.send(&big).await.unwrap();
    let mut received = Vec::new();
    for _ in 0..10 {
        if received.len() >= 3 {
            break;
        }
        received.extend(queue.receive(10, 1).await.unwrap());
    }
    assert_eq!(received.len(), 3);
    drop_queue(&queue).await;
}

#[tokio::test]
async fn change_visibility_redelivers() {
    let Some(env) = common::env().await else { return };
    let queue = fresh_queue(&env, "visibility").await;
    let job = Job::new(&common::owner("queue"), Task::Sentiment, 1, 1);
    queue.send(&messages(&job, 1, "again")).await.unwrap();
    let mut first = Vec::new();
    for _ in 0..5 {
        first = queue.receive(1, 1).await.unwrap();
        if !first.is_empty() {
            break;
        }
    }
    assert_eq!(first.len(), 1);
    queue.change_visibility(first[0].receipt_handle.as_deref().unwrap(), 0).await.unwrap();
    let mut again = Vec::new();
    for _ in 0..5 {
        again = queue.receive(1, 1).await.unwrap();
        if !again.is_empty() {
            break;
        }
    }
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].message_id, first[0].message_id);
    assert_eq!(again[0].attributes.get("ApproximateReceiveCount").map(String::as_str), Some("2"));
    assert!(!again[0].message_attributes.contains_key("trace_id"), "no trace id unless one is set");
    drop_queue(&queue).await;
}

#[tokio::test]
async fn dead_letters_are_listed_and_redriven_to_the_jobs_queue() {
    let Some(env) = common::env().await else { return };
    let dlq = fresh_queue(&env, "dlq").await;
    let dlq_arn = dlq
        .client()
        .get_queue_attributes()
        .queue_url(dlq.queue_url())
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap()[&aws_sdk_sqs::types::QueueAttributeName::QueueArn]
        .clone();
    let jobs = fresh_queue(&env, "jobs").await;
    let policy = format!(r#"{{"deadLetterTargetArn":"{dlq_arn}","maxReceiveCount":"1"}}"#);
    jobs.client()
        .set_queue_attributes()
        .queue_url(jobs.queue_url())
        .attributes(aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy, policy)
        .send()
        .await
        .unwrap();
    let job = Job::new(&common::owner("dlq"), Task::Sentiment, 1, 1);
    jobs.send(&messages(&job, 1, "poison")).await.unwrap();

    // One delivery that fails (made visible again), then SQS dead-letters it.
    let first = jobs.receive(10, 1).await.unwrap();
    assert_eq!(first.len(), 1);
    jobs.change_visibility(first[0].receipt_handle.as_deref().unwrap(), 0).await.unwrap();
    assert!(jobs.receive(10, 1).await.unwrap().is_empty(), "moved to the dead-letter queue");

    let letters = ferry_aws::SqsDeadLetters::new(&env.config, dlq.queue_url(), jobs.queue_url());
    let listed = ferry_core::DeadLetterQueue::list(&letters, 10).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert!(listed[0].body.contains(&job.id.to_string()));
    ferry_core::DeadLetterQueue::redrive(&letters, &listed[0]).await.unwrap();
    let back = jobs.receive(10, 1).await.unwrap();
    assert_eq!(back.len(), 1, "back on the jobs queue");
    assert_eq!(back[0].body.as_deref(), Some(listed[0].body.as_str()));
    assert!(ferry_core::DeadLetterQueue::list(&letters, 10).await.unwrap().is_empty(), "gone from the DLQ");
    drop_queue(&jobs).await;
    drop_queue(&dlq).await;
}
