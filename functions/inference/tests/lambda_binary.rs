//! The real `ferry-inference` binary under cargo-lambda's runtime emulator,
//! fed the SQS events in events/, against the AWS emulator: the response's
//! `batchItemFailures` name exactly the records that failed transiently.

use ferry_aws::DynamoStore;
use ferry_core::language::{Language, SentimentModelChoice, identify};
use ferry_core::{JobId, JobStatus, JobStore};
use ferry_tests::lambda::{LambdaFunction, prerequisites};
use serde_json::{Value, json};

const SQS_BATCH: &str = include_str!("../../../events/sqs-batch.json");
/// The sample batch's job ids are this plus `1` and `2`.
const SAMPLE_JOB_PREFIX: &str = "0192f0c4-0000-7000-8000-0000000000a";

/// The sample batch with job ids of this run's own, so a reused emulator
/// does not find them already done.
fn fresh_batch() -> (String, String) {
    let fresh = uuid::Uuid::now_v7().to_string();
    let prefix = &fresh[..fresh.len() - 1];
    (SQS_BATCH.replace(SAMPLE_JOB_PREFIX, prefix), prefix.to_string())
}

fn inference(cargo_lambda: &std::path::Path, env: &[(&str, &str)]) -> LambdaFunction {
    LambdaFunction::start(cargo_lambda, env!("CARGO_BIN_EXE_ferry-inference"), env)
}

fn message_ids(event: &str) -> Vec<String> {
    let event: Value = serde_json::from_str(event).unwrap();
    event["Records"].as_array().unwrap().iter().map(|r| r["messageId"].as_str().unwrap().to_string()).collect()
}

#[tokio::test]
async fn sqs_events_through_the_real_binary() {
    let Some(cargo_lambda) = prerequisites() else { return };
    let worker = inference(&cargo_lambda, &[("FERRY_UPSTREAM_OWNERS", "events-user")]);

    // Two good records and a poison one: nothing to retry.
    let (batch, prefix) = fresh_batch();
    let response = worker.invoke(&batch);
    assert_eq!(response, json!({"batchItemFailures": []}));
    let config = ferry_aws::config().await;
    let store =
        DynamoStore::new(&config, std::env::var("FERRY_TABLE").unwrap(), std::env::var("FERRY_BUCKET").unwrap());
    let a1: JobId = format!("{prefix}1").parse().unwrap();
    let job = store.get_job("events-user", a1).await.unwrap().expect("the upstream message created its job");
    assert_eq!(job.status, JobStatus::Succeeded);
    assert_eq!((job.progress.done, job.progress.failed), (2, 0));

    // Redelivered: the same answer, the same counts.
    assert_eq!(worker.invoke(&batch), json!({"batchItemFailures": []}));
    assert_eq!(store.get_job("events-user", a1).await.unwrap().unwrap().progress, job.progress);

    // An S3 notification (documents are not processed yet) is acknowledged.
    let s3 = worker.invoke(include_str!("../../../events/sqs-s3-notification.json"));
    assert_eq!(s3, json!({"batchItemFailures": []}));

    // One line per message with the Lambda request id and the job id.
    let logs = worker.logs();
    let line = logs
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .find(|line| line["fields"]["message"] == "chunk done")
        .unwrap_or_else(|| panic!("no 'chunk done' line in:\n{logs}"));
    assert!(line["spans"][0]["requestId"].is_string(), "{line}");
    assert!(line.to_string().contains(&prefix), "{line}");

    // Metrics as EMF lines, valid by the specification: the cold start, each
    // batch's size and its oldest message's wait, the model's time per text,
    // and the upstream jobs that finished.
    let metrics = ferry_tests::emf::documents(&logs);
    for name in ["ColdStarts", "InitMs", "BatchMessages", "QueueAgeMs", "ModelMsPerText", "JobsFinished"] {
        assert!(!ferry_tests::emf::with_metric(&metrics, name).is_empty(), "no {name} metric in:\n{logs}");
    }
    let batches: Vec<f64> = ferry_tests::emf::with_metric(&metrics, "BatchMessages")
        .iter()
        .map(|m| m["BatchMessages"].as_f64().unwrap())
        .collect();
    assert_eq!(batches[0], 3.0, "the sample batch has 3 records");
    let finished = ferry_tests::emf::with_metric(&metrics, "JobsFinished");
    assert!(finished.iter().any(|m| m["Status"] == "succeeded" && m["Task"] == "sentiment"), "{finished:?}");
}

#[tokio::test]
async fn a_store_outage_retries_the_good_records_only() {
    let Some(cargo_lambda) = prerequisites() else { return };
    // A table that does not exist: every store call fails, as in an outage.
    let worker =
        inference(&cargo_lambda, &[("FERRY_TABLE", "ferry-no-such-table"), ("FERRY_UPSTREAM_OWNERS", "events-user")]);
    let response = worker.invoke(SQS_BATCH);
    let ids = message_ids(SQS_BATCH);
    // The poison record names no job, so there is nothing to retry it for.
    let expected: Vec<Value> = ids[..2].iter().map(|id| json!({"itemIdentifier": id})).collect();
    assert_eq!(response, json!({"batchItemFailures": expected}));
}

#[tokio::test]
async fn upstream_messages_from_owners_not_allowed_create_nothing() {
    let Some(cargo_lambda) = prerequisites() else { return };
    // FERRY_UPSTREAM_OWNERS names someone else: events-user may not create jobs.
    let worker = inference(&cargo_lambda, &[("FERRY_UPSTREAM_OWNERS", "etl-nightly")]);
    let (batch, prefix) = fresh_batch();
    // Poisoned, so acknowledged: nothing to retry, and no job appears.
    assert_eq!(worker.invoke(&batch), json!({"batchItemFailures": []}));
    let config = ferry_aws::config().await;
    let store =
        DynamoStore::new(&config, std::env::var("FERRY_TABLE").unwrap(), std::env::var("FERRY_BUCKET").unwrap());
    let a1: JobId = format!("{prefix}1").parse().unwrap();
    assert_eq!(store.get_job("events-user", a1).await.unwrap(), None);
    assert!(worker.logs().contains("is not an allowed upstream source"), "{}", worker.logs());
}

/// What a parity text must come back as: the reference's probabilities and
/// the model that scored it.
struct Expected {
    text: String,
    probs: [f64; 3],
    model: &'static str,
}

/// The English reference's sentences the English model scores
/// (functions/models/assets/parity.json, onnxruntime), then the multilingual
/// reference's texts the multilingual model scores
/// (assets/multilingual/parity.json), every third, so that all fit the one
/// message of at most 64 texts; each set's texts that the binary would send
/// to the other model are left out.
fn parity_cases() -> Vec<Expected> {
    let english: Value =
        serde_json::from_str(include_str!("../../models/assets/parity.json")).expect("parity.json parses");
    let multilingual: Value = serde_json::from_str(include_str!("../../models/assets/multilingual/parity.json"))
        .expect("multilingual/parity.json parses");
    let probs = |v: &Value| [0, 1, 2].map(|k| v[k].as_f64().unwrap());
    let english = english["sentences"]
        .as_array()
        .unwrap()
        .iter()
        .zip(english["probs"].as_array().unwrap())
        .map(|(text, p)| Expected { text: text.as_str().unwrap().to_owned(), probs: probs(p), model: MINILM });
    let multilingual = multilingual["cases"].as_array().unwrap().iter().step_by(3).map(|case| Expected {
        text: case["text"].as_str().unwrap().to_owned(),
        probs: probs(&case["probs"]),
        model: USEM3,
    });
    english
        .chain(multilingual)
        .filter(|case| {
            let routed = match Language::sentiment_model(identify(&case.text)) {
                SentimentModelChoice::English => MINILM,
                SentimentModelChoice::Multilingual => USEM3,
            };
            routed == case.model
        })
        .collect()
}

/// The reference's label: its most probable class.
fn label_of(probs: [f64; 3]) -> &'static str {
    let best = (0..3).fold(0, |best, k| if probs[k] > probs[best] { k } else { best });
    ["negative", "neutral", "positive"][best]
}

const MINILM: &str = "ferry-sentiment-minilm-vader-v1@sha256:";
const USEM3: &str = "ferry-sentiment-usem3-v1@sha256:";

/// The parity texts of both models through the binary as one upstream
/// message: the probabilities it stores match the references' within 1e-4,
/// and each result names the model that scored it. With FERRY_PARITY_OUT set
/// they are also written there, so `infra/arm64` can hold the arm64 build's
/// against the x86-64 build's.
#[tokio::test]
async fn parity_sentences_through_the_real_binary() {
    let Some(cargo_lambda) = prerequisites() else { return };
    let cases = parity_cases();
    let multilingual = cases.iter().filter(|c| c.model == USEM3).count();
    assert!(
        multilingual >= 40 && cases.len() - multilingual >= 8 && cases.len() <= 64,
        "{multilingual} of {}",
        cases.len()
    );
    let job_id = uuid::Uuid::now_v7().to_string();
    let items: Vec<Value> = cases.iter().enumerate().map(|(i, case)| json!({"i": i, "text": case.text})).collect();
    let body = json!({"v": 1, "job_id": job_id, "owner": "parity-user", "task": "sentiment", "chunk": 0,
        "items": items, "total": cases.len()});
    let mut event: Value = serde_json::from_str(SQS_BATCH).unwrap();
    let mut record = event["Records"][0].clone();
    record["body"] = json!(body.to_string());
    record["messageId"] = json!(uuid::Uuid::now_v7().to_string());
    event["Records"] = json!([record]);

    let worker = inference(&cargo_lambda, &[("FERRY_UPSTREAM_OWNERS", "parity-user")]);
    assert_eq!(worker.invoke(&event.to_string()), json!({"batchItemFailures": []}), "{}", worker.logs());
    let config = ferry_aws::config().await;
    let store =
        DynamoStore::new(&config, std::env::var("FERRY_TABLE").unwrap(), std::env::var("FERRY_BUCKET").unwrap());
    let chunks = store.get_results(job_id.parse().unwrap(), 0, 1).await.unwrap();
    // Each text's probabilities, by index; the blank one is refused as the
    // API would ("empty text"), so it has none.
    let mut got: Vec<(u32, [f64; 3])> = Vec::new();
    let mut worst = 0f64;
    for item in &chunks[0].items {
        let case = &cases[item.i as usize];
        match &item.outcome {
            ferry_core::ItemOutcome::Ok(value) => {
                let scores = &value["scores"];
                let probs = ["negative", "neutral", "positive"].map(|k| scores[k].as_f64().unwrap());
                assert!(value["model"].as_str().unwrap().starts_with(case.model), "{:?}: {value}", case.text);
                assert_eq!(value["sentiment"], label_of(case.probs), "{:?}", case.text);
                for (g, want) in probs.iter().zip(case.probs) {
                    worst = worst.max((g - want).abs());
                }
                got.push((item.i, probs));
            }
            failed => assert!(case.text.trim().is_empty(), "{:?} failed: {failed:?}", case.text),
        }
    }
    let blank = cases.iter().filter(|c| c.text.trim().is_empty()).count();
    assert_eq!(got.len(), cases.len() - blank);
    eprintln!("parity through the binary: max abs diff from the references {worst:.2e}");
    assert!(worst < 1e-4, "probabilities differ from the references' by {worst}");
    if let Some(path) = std::env::var_os("FERRY_PARITY_OUT") {
        std::fs::write(path, json!({ "probs": got }).to_string()).unwrap();
    }
}
