//! End to end against the AWS emulator over the real wire protocols: HTTP
//! create job → messages on SQS → the inference Lambda handler on the
//! `SqsEvent` built from what SQS returned → DynamoDB → `GET /v1/jobs/{id}`.
//! Needs `eval "$(infra/emulator start)"` (.ci/run does it); skipped locally
//! without it, a failure under CI.

use aws_lambda_events::event::sqs::SqsEvent;
use axum::http::StatusCode;
use ferry_api::AppState;
use ferry_aws::{DynamoKeyStore, DynamoStore, S3Blobs, SqsQueue};
use ferry_core::{Authenticator, BlobStore, JobStore, TaskQueue};
use ferry_inference::Worker;
use ferry_inference::sqs::handle_event;
use ferry_tests::{KeywordModel, SECRET, request};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use tower::ServiceExt;

fn emulator() -> Option<(String, String)> {
    if !ferry_tests::emulator_running() {
        return None;
    }
    Some((std::env::var("FERRY_TABLE").unwrap(), std::env::var("FERRY_BUCKET").unwrap()))
}

async fn call(router: &axum::Router, req: axum::http::Request<axum::body::Body>) -> (StatusCode, Value) {
    let response = router.clone().oneshot(req).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

#[tokio::test]
async fn http_to_sqs_to_lambda_handler_to_dynamodb_and_back() {
    let Some((table, bucket)) = emulator() else { return };
    let config = ferry_aws::config().await;
    // A queue of this test's own, so no other test's messages interfere.
    let sqs = ferry_aws::sqs_client(&config);
    let name = format!("ferry-e2e-{}", uuid::Uuid::now_v7().simple());
    let created = sqs.create_queue().queue_name(&name).send().await.expect("CreateQueue");
    let queue = Arc::new(SqsQueue::from_client(sqs.clone(), created.queue_url().unwrap()));
    let store: Arc<dyn JobStore> = Arc::new(DynamoStore::new(&config, &table, &bucket));
    let auth = Authenticator::hs256(SECRET).unwrap();
    let token = auth.mint("e2e-owner", Duration::from_secs(600)).unwrap();
    let blobs: Arc<dyn BlobStore> = Arc::new(S3Blobs::new(&config, &bucket));
    let router = ferry_api::router(AppState::new(
        Arc::clone(&store),
        Arc::clone(&queue) as Arc<dyn TaskQueue>,
        Arc::clone(&blobs),
        Arc::new(auth),
        Arc::new(DynamoKeyStore::new(&config, &table)),
    ));
    let worker = Worker::new(Arc::clone(&store), queue.clone(), blobs, Arc::new(KeywordModel), 5);

    let inputs: Vec<String> =
        (0..150).map(|i| if i % 3 == 0 { format!("bad {i}") } else { format!("good {i}") }).collect();
    let (status, job) =
        call(&router, request("POST", "/v1/jobs", Some(&token), Some(json!({"task": "sentiment", "inputs": inputs}))))
            .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    let path = format!("/v1/jobs/{}", job["id"].as_str().unwrap());

    // Receive what the API queued (3 chunks of ≤ 64), in a bounded loop.
    let mut records = Vec::new();
    for _ in 0..20 {
        records.extend(queue.receive(10, 1).await.expect("ReceiveMessage"));
        if records.len() >= 3 {
            break;
        }
    }
    assert_eq!(records.len(), 3, "one message per chunk");
    let mut event = SqsEvent::default();
    event.records = records;
    let response = handle_event(&worker, event.clone()).await;
    assert!(response.batch_item_failures.is_empty(), "{:?}", response.batch_item_failures);

    let (status, done) = call(&router, request("GET", &path, Some(&token), None)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(done["progress"], json!({"total": 150, "done": 150, "failed": 0}));
    let results = done["results"].as_array().unwrap();
    assert_eq!(results.len(), 150);
    assert_eq!(results[0]["sentiment"], "negative");
    assert_eq!(results[1]["sentiment"], "positive");

    // SQS delivers at least once: the same batch again changes nothing.
    let again = handle_event(&worker, event.clone()).await;
    assert!(again.batch_item_failures.is_empty());
    let (_, after) = call(&router, request("GET", &path, Some(&token), None)).await;
    assert_eq!(after["progress"], done["progress"]);
    assert_eq!(after["status"], "succeeded");

    let handles: Vec<String> = event.records.iter().filter_map(|r| r.receipt_handle.clone()).collect();
    queue.delete(&handles).await.expect("DeleteMessageBatch");
    sqs.delete_queue().queue_url(queue.queue_url()).send().await.expect("DeleteQueue");
}
