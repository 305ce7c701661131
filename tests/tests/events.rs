//! Every sample event in events/ goes through the code it is meant for, so
//! none of them can rot: API Gateway v2 requests through the router (parsed
//! by lambda_http exactly as in Lambda), SQS batches through the worker's
//! Lambda handler, the S3 notification through `aws_lambda_events`.

use aws_lambda_events::event::s3::S3Event;
use aws_lambda_events::event::sqs::SqsEvent;
use axum::body::Body;
use axum::http::StatusCode;
use ferry_core::{JobId, JobStatus, Limits};
use ferry_inference::sqs::handle_event;
use ferry_tests::TestApp;
use serde_json::Value;
use std::time::Duration;

const EVENTS_SECRET: &[u8] = b"ferry-sample-events-secret-0123456789abcdef";

fn app() -> TestApp {
    TestApp::with_secret(Limits { sentiment_wait: Duration::from_millis(100), ..Limits::default() }, EVENTS_SECRET)
}

/// Parses an API Gateway event the way lambda_http does in Lambda and hands
/// the request to the router.
async fn invoke(app: &TestApp, event: &str) -> (StatusCode, serde_json::Value) {
    let (status, _, json) = invoke_with_headers(app, event).await;
    (status, json)
}

async fn invoke_with_headers(app: &TestApp, event: &str) -> (StatusCode, axum::http::HeaderMap, serde_json::Value) {
    let request = lambda_http::request::from_str(event).expect("a valid API Gateway event");
    let (parts, body) = request.into_parts();
    let request = axum::http::Request::from_parts(parts, Body::from(body.to_vec()));
    app.call(request).await
}

#[tokio::test]
async fn api_events_route_through_the_router() {
    let app = app();
    let (status, job) = invoke(&app, include_str!("../../events/api-create-job.json")).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    assert_eq!(job["progress"]["total"], 2);

    let (status, body) = invoke(&app, include_str!("../../events/api-sentiment.json")).await;
    assert_eq!(status, StatusCode::ACCEPTED, "no worker runs here, so the wait ends in 202: {body}");

    let (status, headers, body) = invoke_with_headers(&app, include_str!("../../events/api-get-job.json")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(body["type"], "urn:ferry:problem:not-found");
    // API Gateway's own request id names the request, in the problem and the header.
    assert_eq!(body["request_id"], "Vb3kThNyoAMEJbQ=", "{body}");
    assert_eq!(headers["x-request-id"], "Vb3kThNyoAMEJbQ=");

    // The same router behind a Lambda function URL: the queued job is listed.
    let (status, headers, body) = invoke_with_headers(&app, include_str!("../../events/url-list-jobs.json")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(headers["x-request-id"], "c0ffee00-1b2c-4d3e-8f40-5a6b7c8d9e0f");
    let listed: Vec<&Value> = body["jobs"].as_array().unwrap().iter().map(|j| &j["id"]).collect();
    assert!(listed.contains(&&job["id"]), "{body}");

    let (status, body) = invoke(&app, include_str!("../../events/api-unauthorized.json")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["type"], "urn:ferry:problem:missing-token");
}

#[tokio::test]
async fn sqs_batch_reports_no_failures_and_acknowledges_the_poison_record() {
    let app = app();
    let event: SqsEvent = serde_json::from_str(include_str!("../../events/sqs-batch.json")).unwrap();
    assert_eq!(event.records.len(), 3);
    let response = handle_event(&app.worker, event.clone()).await;
    assert!(response.batch_item_failures.is_empty(), "{:?}", response.batch_item_failures);

    let a1: JobId = "0192f0c4-0000-7000-8000-0000000000a1".parse().unwrap();
    let job = app.store.get_job("events-user", a1).await.unwrap().expect("the upstream message created its job");
    assert_eq!(job.status, JobStatus::Succeeded);
    assert_eq!(job.progress.done, 2);

    // Delivered again: nothing changes, nothing fails.
    let again = handle_event(&app.worker, event).await;
    assert!(again.batch_item_failures.is_empty());
    assert_eq!(app.store.get_job("events-user", a1).await.unwrap().unwrap().progress, job.progress);
}

#[tokio::test]
async fn transient_failures_are_the_only_batch_item_failures() {
    let app = app();
    let mut event: SqsEvent = serde_json::from_str(include_str!("../../events/sqs-batch.json")).unwrap();
    // The keyword model fails on "explode": make the first record's text do so.
    let body = event.records[0].body.take().unwrap().replace("Great product", "explode");
    event.records[0].body = Some(body);
    let response = handle_event(&app.worker, event.clone()).await;
    let failed: Vec<&str> = response.batch_item_failures.iter().map(|f| f.item_identifier.as_str()).collect();
    // Records 0 and 1 ran in one model call; when it failed, each ran alone,
    // so only record 0 is retried. The poison record is not.
    assert_eq!(failed, [event.records[0].message_id.as_deref().unwrap()]);
}

#[tokio::test]
async fn s3_notifications_parse_and_are_acknowledged() {
    let s3: S3Event = serde_json::from_str(include_str!("../../events/s3-object-created.json")).unwrap();
    let record = &s3.records[0];
    assert_eq!(record.s3.bucket.name.as_deref(), Some("ferry-bucket"));
    assert!(record.s3.object.key.as_deref().unwrap().starts_with("uploads/"));

    let app = app();
    let event: SqsEvent = serde_json::from_str(include_str!("../../events/sqs-s3-notification.json")).unwrap();
    let response = handle_event(&app.worker, event).await;
    assert!(response.batch_item_failures.is_empty());
}

#[tokio::test]
async fn an_eventbridge_event_detail_is_a_queue_message_the_worker_runs() {
    let app = app();
    let event: Value = serde_json::from_str(include_str!("../../events/eventbridge-upstream.json")).unwrap();
    assert_eq!(event["detail-type"], "Ferry Job");
    // The rule's InputPath $.detail puts exactly this on the queue.
    let body = event["detail"].to_string();
    let message = ferry_core::TaskMessage::parse(&body).expect("the detail is a valid queue message");
    let received = ferry_inference::Received { id: "eb-1".into(), body, receive_count: 1 };
    let outcomes = app.worker.handle(&[received]).await;
    assert!(outcomes[0].should_delete(), "{outcomes:?}");
    let job = app.store.get_job("reviews-feed", message.job_id).await.unwrap().expect("the upstream job exists");
    assert_eq!((job.status, job.progress.done), (JobStatus::Succeeded, 3));
}
