//! The real `ferry-api` binary under cargo-lambda's runtime emulator, fed the
//! API Gateway events in events/, against the AWS emulator. The queue is this
//! test's own, so the messages the binary sends can be checked and worked.

use aws_lambda_events::event::sqs::SqsEvent;
use ferry_aws::{DynamoStore, SqsQueue};
use ferry_inference::Worker;
use ferry_inference::sqs::handle_event;
use ferry_tests::lambda::{LambdaFunction, prerequisites};
use serde_json::Value;
use std::sync::Arc;

const EVENTS_SECRET: &str = "ferry-sample-events-secret-0123456789abcdef";
const SAMPLE_JOB_ID: &str = "0192f0c4-0000-7000-8000-000000000001";

fn body(response: &Value) -> Value {
    serde_json::from_str(response["body"].as_str().expect("a body")).expect("a JSON body")
}

fn token_of(event: &str) -> String {
    let event: Value = serde_json::from_str(event).unwrap();
    event["headers"]["authorization"].as_str().unwrap().trim_start_matches("Bearer ").to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn api_events_through_the_real_binary() {
    let Some(cargo_lambda) = prerequisites() else { return };
    let config = ferry_aws::config().await;
    let (table, bucket) = (std::env::var("FERRY_TABLE").unwrap(), std::env::var("FERRY_BUCKET").unwrap());
    let sqs = ferry_aws::sqs_client(&config);
    let name = format!("ferry-api-bin-{}", uuid::Uuid::now_v7().simple());
    let queue_url = sqs.create_queue().queue_name(&name).send().await.unwrap().queue_url().unwrap().to_string();
    let queue = SqsQueue::from_client(sqs.clone(), &queue_url);
    let api = LambdaFunction::start(
        &cargo_lambda,
        env!("CARGO_BIN_EXE_ferry-api"),
        &[("FERRY_QUEUE_URL", &queue_url), ("FERRY_JWT_SECRET", EVENTS_SECRET)],
    );

    // Create: 202 with a Location, and one message on the queue.
    let created = api.invoke(include_str!("../../../events/api-create-job.json"));
    assert_eq!(created["statusCode"], 202, "{created}");
    let job = body(&created);
    let id = job["id"].as_str().unwrap().to_string();
    assert_eq!(created["headers"]["location"], format!("/v1/jobs/{id}"));
    assert_eq!(job["progress"]["total"], 2);
    let messages = queue.receive(10, 2).await.unwrap();
    assert_eq!(messages.len(), 1, "one chunk for two texts");
    assert_eq!(messages[0].message_attributes["job_id"].string_value.as_deref(), Some(id.as_str()));

    // Get: the new job is there for its owner; the sample id is not.
    let get_event = include_str!("../../../events/api-get-job.json");
    let got = api.invoke(&get_event.replace(SAMPLE_JOB_ID, &id));
    assert_eq!(got["statusCode"], 200, "{got}");
    assert_eq!(body(&got)["status"], "queued");
    let missing = api.invoke(get_event);
    assert_eq!(missing["statusCode"], 404);
    assert_eq!(missing["headers"]["content-type"], "application/problem+json");
    assert_eq!(body(&missing)["type"], "urn:ferry:problem:not-found");

    // Behind a function URL: the queued job is listed (query string parsed).
    let listed = api.invoke(include_str!("../../../events/url-list-jobs.json"));
    assert_eq!(listed["statusCode"], 200, "{listed}");
    let ids: Vec<String> = body(&listed)["jobs"].as_array().unwrap().iter().map(|j| j["id"].to_string()).collect();
    assert!(ids.contains(&format!("\"{id}\"")), "{listed}");

    // No token: 401 problem+json, nothing queued.
    let refused = api.invoke(include_str!("../../../events/api-unauthorized.json"));
    assert_eq!(refused["statusCode"], 401);
    assert_eq!(body(&refused)["type"], "urn:ferry:problem:missing-token");

    // Sentiment waits for the worker: work its message meanwhile (the worker
    // here is the inference function's handler with the real model).
    let api = Arc::new(api);
    let invoking = Arc::clone(&api);
    let sentiment = std::thread::spawn(move || invoking.invoke(include_str!("../../../events/api-sentiment.json")));
    let store = Arc::new(DynamoStore::new(&config, &table, &bucket));
    let model = Arc::new(ferry_models::SentimentModel::bundled().unwrap());
    let blobs = Arc::new(ferry_aws::S3Blobs::new(&config, &bucket));
    let worker = Worker::new(store, Arc::new(SqsQueue::from_client(sqs.clone(), &queue_url)), blobs, model, 5);
    let mut event = SqsEvent::default();
    for _ in 0..20 {
        event.records = queue.receive(10, 1).await.unwrap();
        if !event.records.is_empty() {
            break;
        }
    }
    assert_eq!(event.records.len(), 1, "the sentiment request queued one message");
    assert!(handle_event(&worker, event).await.batch_item_failures.is_empty());
    let answered = sentiment.join().unwrap();
    assert_eq!(answered["statusCode"], 200, "{answered}");
    let result = body(&answered);
    assert_eq!(result["sentiment"], "positive", "{result}");

    // JSON logs: the Lambda request id and the job id on the job's line, and
    // never the bearer token.
    let logs = api.logs();
    let queued = logs
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .find(|line| line["fields"]["message"] == "job queued")
        .unwrap_or_else(|| panic!("no 'job queued' line in:\n{logs}"));
    assert_eq!(queued["fields"]["job_id"], id.as_str());
    assert!(queued["spans"][0]["requestId"].is_string(), "{queued}");
    assert!(!logs.contains(&token_of(get_event)), "the token was logged");

    // Metrics as EMF lines, valid by the specification: the cold start, and
    // the two jobs created, the bulk one and the sentiment call's.
    let metrics = ferry_tests::emf::documents(&logs);
    assert_eq!(ferry_tests::emf::with_metric(&metrics, "ColdStarts").len(), 1, "{logs}");
    let created = ferry_tests::emf::with_metric(&metrics, "JobsCreated");
    let lanes: Vec<(&str, f64)> =
        created.iter().map(|m| (m["Lane"].as_str().unwrap(), m["Items"].as_f64().unwrap())).collect();
    assert_eq!(lanes, [("bulk", 2.0), ("interactive", 1.0)], "{created:?}");

    sqs.delete_queue().queue_url(&queue_url).send().await.unwrap();
}

/// As deployed: the HS256 secret comes from Secrets Manager by ARN, read at
/// the cold start. The sample events' tokens pass with the events' secret
/// stored there, and fail with another.
#[tokio::test(flavor = "multi_thread")]
async fn the_jwt_secret_is_read_from_secrets_manager_by_arn() {
    let Some(cargo_lambda) = prerequisites() else { return };
    let config = ferry_aws::config().await;
    let secrets = ferry_aws::secrets::client(&config);
    let get_event = include_str!("../../../events/api-get-job.json");
    for (value, status) in [(EVENTS_SECRET, 404), ("another-secret-of-more-than-thirty-two-bytes", 401)] {
        let name = format!("ferry-api-bin/{}", uuid::Uuid::now_v7().simple());
        let created = secrets.create_secret().name(&name).secret_string(value).send().await.unwrap();
        let arn = created.arn.unwrap();
        let api =
            LambdaFunction::start(&cargo_lambda, env!("CARGO_BIN_EXE_ferry-api"), &[("FERRY_JWT_SECRET_ARN", &arn)]);
        let got = api.invoke(get_event);
        assert_eq!(got["statusCode"], status, "secret {value}: {got}");
        secrets.delete_secret().secret_id(&arn).force_delete_without_recovery(true).send().await.unwrap();
    }
}
