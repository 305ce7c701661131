//! How many AWS API calls a sentiment job costs, end to end, against the AWS
//! emulator: an SDK interceptor on every client counts each HTTP request
//! (retries included) by operation, per phase.
//!
//!   eval "$(infra/emulator start)"
//!   cargo run -p ferry-tests --example aws_calls [-- SIZES…]   (default 1 100 1000 10000)
//!
//! Phases: the API creating the job; Lambda's SQS event source mapping
//! (ReceiveMessage / DeleteMessageBatch, played here by the same calls
//! `ferry serve --backend aws` makes, 10 messages per batch); the inference
//! function on each batch; a client reading the job and every result page.
//! The model is the test keyword model: inference makes no AWS calls, so the
//! count does not depend on it.

use aws_lambda_events::event::sqs::SqsEvent;
use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use axum::http::StatusCode;
use ferry_api::AppState;
use ferry_aws::{DynamoKeyStore, DynamoStore, S3Blobs, SdkConfig, SqsQueue};
use ferry_core::{Authenticator, BlobStore, JobStore, TaskQueue};
use ferry_inference::Worker;
use ferry_inference::sqs::handle_event;
use ferry_tests::{KeywordModel, SECRET, request};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tower::ServiceExt;

/// Counts requests per (phase, operation); the phase is set by the driver.
#[derive(Debug, Clone, Default)]
struct CallCounter {
    phase: Arc<Mutex<&'static str>>,
    counts: Arc<Mutex<BTreeMap<(&'static str, String), u32>>>,
}

impl Intercept for CallCounter {
    fn name(&self) -> &'static str {
        "CallCounter"
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let operation = cfg.load::<Metadata>().map_or("unknown".into(), |m| format!("{}.{}", m.service(), m.name()));
        let phase = *self.phase.lock().unwrap();
        if phase.is_empty() {
            return Ok(()); // set-up and tear-down of this program
        }
        *self.counts.lock().unwrap().entry((phase, operation)).or_default() += 1;
        Ok(())
    }
}

impl CallCounter {
    fn enter(&self, phase: &'static str) {
        *self.phase.lock().unwrap() = phase;
    }

    fn take(&self) -> BTreeMap<(&'static str, String), u32> {
        std::mem::take(&mut self.counts.lock().unwrap())
    }
}

struct Clients {
    dynamodb: aws_sdk_dynamodb::Client,
    sqs: aws_sdk_sqs::Client,
    s3: aws_sdk_s3::Client,
}

fn counted_clients(config: &SdkConfig, counter: &CallCounter) -> Clients {
    let dynamodb = aws_sdk_dynamodb::config::Builder::from(config).interceptor(counter.clone()).build();
    let sqs = aws_sdk_sqs::config::Builder::from(config).interceptor(counter.clone()).build();
    let s3 = aws_sdk_s3::config::Builder::from(config)
        .force_path_style(config.endpoint_url().is_some())
        .interceptor(counter.clone())
        .build();
    Clients {
        dynamodb: aws_sdk_dynamodb::Client::from_conf(dynamodb),
        sqs: aws_sdk_sqs::Client::from_conf(sqs),
        s3: aws_sdk_s3::Client::from_conf(s3),
    }
}

async fn call(router: &axum::Router, req: axum::http::Request<axum::body::Body>) -> (StatusCode, Value) {
    use http_body_util::BodyExt;
    let response = router.clone().oneshot(req).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

#[tokio::main]
async fn main() {
    assert!(std::env::var_os("AWS_ENDPOINT_URL").is_some(), "start the emulator: eval \"$(infra/emulator start)\"");
    let sizes: Vec<usize> = std::env::args().skip(1).map(|a| a.parse().expect("sizes are numbers")).collect();
    let sizes = if sizes.is_empty() { vec![1, 100, 1000, 10_000] } else { sizes };
    let config = ferry_aws::config().await;
    let (table, bucket) = (std::env::var("FERRY_TABLE").unwrap(), std::env::var("FERRY_BUCKET").unwrap());
    let counter = CallCounter::default();
    let clients = counted_clients(&config, &counter);
    let name = format!("ferry-calls-{}", uuid::Uuid::now_v7().simple());
    let queue_url = clients.sqs.create_queue().queue_name(name).send().await.unwrap().queue_url().unwrap().to_string();
    let queue = Arc::new(SqsQueue::from_client(clients.sqs.clone(), &queue_url));
    let blobs = S3Blobs::from_client(clients.s3, &bucket);
    let worker_blobs: Arc<dyn BlobStore> = Arc::new(blobs.clone());
    let store: Arc<dyn JobStore> = Arc::new(DynamoStore::from_clients(clients.dynamodb.clone(), blobs.clone(), &table));
    let auth = Authenticator::hs256(SECRET).unwrap();
    let token = auth.mint("calls-owner", Duration::from_secs(3600)).unwrap();
    let router = ferry_api::router(AppState::new(
        Arc::clone(&store),
        Arc::clone(&queue) as Arc<dyn TaskQueue>,
        Arc::new(blobs),
        Arc::new(auth),
        Arc::new(DynamoKeyStore::new(&config, &table)),
    ));
    let worker = Worker::new(store, queue.clone(), worker_blobs, Arc::new(KeywordModel), 5);

    println!("| texts | messages | phase | calls by operation | total |");
    println!("|---:|---:|---|---|---:|");
    for n in sizes {
        let started = Instant::now();
        let inputs: Vec<String> = (0..n).map(|i| format!("review {i}: good value, would buy again")).collect();
        counter.enter("api: create");
        let (status, job) = call(
            &router,
            request("POST", "/v1/jobs", Some(&token), Some(json!({"task": "sentiment", "inputs": inputs}))),
        )
        .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{job}");
        let id = job["id"].as_str().unwrap().to_string();

        let messages = drain(&queue, &worker, &counter).await;

        counter.enter("client: read");
        let (status, done) = call(&router, request("GET", &format!("/v1/jobs/{id}"), Some(&token), None)).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(done["status"], "succeeded", "{}", done["status"]);
        assert_eq!(done["progress"]["done"], n);
        // Small jobs come inline; larger ones are paged through /results.
        let mut read = done["results"].as_array().map_or(0, Vec::len);
        let mut cursor = (read == 0).then(String::new);
        while let Some(at) = cursor {
            let page = format!("/v1/jobs/{id}/results?cursor={at}");
            let (status, body) = call(&router, request("GET", &page, Some(&token), None)).await;
            assert_eq!(status, StatusCode::OK, "{body}");
            read += body["results"].as_array().unwrap().len();
            cursor = body["next_cursor"].as_str().map(str::to_string);
        }
        assert_eq!(read, n, "every result read back");

        counter.enter("");
        report(n, messages, counter.take());
        eprintln!("{n} texts: {:.1} s against the emulator", started.elapsed().as_secs_f64());
    }
    clients.sqs.delete_queue().queue_url(&queue_url).send().await.unwrap();
}

/// Plays Lambda's SQS event source mapping: batches of up to 10 messages to
/// the inference handler, then deletes the ones not reported as failed.
async fn drain(queue: &SqsQueue, worker: &Worker, counter: &CallCounter) -> usize {
    let mut messages = 0;
    let mut empty_polls = 0;
    while empty_polls < 2 {
        counter.enter("sqs event source (Lambda)");
        let records = queue.receive(10, 1).await.unwrap();
        if records.is_empty() {
            empty_polls += 1;
            continue;
        }
        messages += records.len();
        let mut event = SqsEvent::default();
        event.records = records;
        counter.enter("inference");
        let response = handle_event(worker, event.clone()).await;
        let failed: HashSet<String> = response.batch_item_failures.into_iter().map(|f| f.item_identifier).collect();
        assert!(failed.is_empty(), "{failed:?}");
        counter.enter("sqs event source (Lambda)");
        let handles: Vec<String> = event.records.iter().filter_map(|r| r.receipt_handle.clone()).collect();
        queue.delete(&handles).await.unwrap();
    }
    messages
}

fn report(n: usize, messages: usize, counts: BTreeMap<(&'static str, String), u32>) {
    let mut phases: BTreeMap<&str, Vec<(String, u32)>> = BTreeMap::new();
    for ((phase, operation), count) in counts {
        phases.entry(phase).or_default().push((operation, count));
    }
    let mut total = 0;
    for (phase, operations) in &phases {
        let sum: u32 = operations.iter().map(|(_, c)| c).sum();
        total += sum;
        let detail: Vec<String> = operations.iter().map(|(op, c)| format!("{op} {c}")).collect();
        println!("| {n} | {messages} | {phase} | {} | {sum} |", detail.join(", "));
    }
    println!("| {n} | {messages} | **all** | (the last two empty polls included) | **{total}** |");
}
