//! A 10,000-text job end to end on `ferry serve` (the real model, the real
//! server on 127.0.0.1, its worker loops), then the same on the AWS emulator
//! backend when it is running; and the batched worker's model throughput
//! against one text at a time on the same machine. Bounded: one job per
//! backend, 15 minutes at most each.
//!
//!   cargo run --release -p ferry-tests --example fanout_bench [-- TEXTS [WORKERS]]
//!   eval "$(infra/emulator start)"   # first, to include the AWS backend

use ferry_core::{Authenticator, SentimentClassifier};
use ferry_local::serve::{Backend, ServeConfig, Server};
use ferry_models::SentimentModel;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};

const SECRET: &str = "bench-secret-bench-secret-bench-secret!!";
const LIMIT: Duration = Duration::from_secs(15 * 60);

fn reviews(n: usize) -> Vec<String> {
    let openers = ["Honestly,", "Well,", "After a week,", "So far", "To be fair,", "Overall"];
    let verdicts = [
        "this blender is fantastic and quiet",
        "the battery died after two days, very disappointed",
        "it does the job, nothing special",
        "shipping was slow but the quality is great",
        "terrible support, I want a refund",
        "my kids love it and use it every day",
        "the app keeps crashing on my phone",
        "good value for the price",
    ];
    (0..n).map(|i| format!("{} {} (#{i})", openers[i % openers.len()], verdicts[(i / 7) % verdicts.len()])).collect()
}

async fn job(base: &str, token: &str, texts: &[String]) -> anyhow::Result<()> {
    let client = reqwest::Client::builder().use_preconfigured_tls(ferry_core::tls::client_config()).build()?;
    let started = Instant::now();
    let body = json!({"task": "sentiment", "inputs": texts}).to_string();
    let created = client
        .post(format!("{base}/v1/jobs"))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await?;
    anyhow::ensure!(created.status() == 202, "create: {}", created.status());
    let accepted = started.elapsed();
    let location = created.headers()["location"].to_str()?.to_owned();
    let mut first_result = None;
    loop {
        anyhow::ensure!(started.elapsed() < LIMIT, "the job did not finish in {LIMIT:?}");
        let job: Value = serde_json::from_slice(
            &client.get(format!("{base}{location}")).bearer_auth(token).send().await?.bytes().await?,
        )?;
        if first_result.is_none() && job["progress"]["done"].as_u64().unwrap_or(0) > 0 {
            first_result = Some(started.elapsed());
        }
        if job["status"] != "queued" && job["status"] != "running" {
            let total = started.elapsed();
            anyhow::ensure!(job["status"] == "succeeded", "{job}");
            println!(
                "  {} texts: accepted in {:.0} ms, first result after {:.2} s, done in {:.2} s: {:.0} texts/s",
                texts.len(),
                accepted.as_secs_f64() * 1e3,
                first_result.unwrap_or(total).as_secs_f64(),
                total.as_secs_f64(),
                texts.len() as f64 / total.as_secs_f64()
            );
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn serve(
    backend: Backend,
    workers: usize,
    model: Arc<dyn SentimentClassifier>,
    texts: &[String],
) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut config = ServeConfig::new("127.0.0.1:0".parse()?, dir.path().to_owned());
    config.backend = backend;
    config.workers = workers;
    config.jwt_secret = Some(SECRET.into());
    let server = Server::bind(config, model).await?;
    let base = format!("http://{}", server.local_addr());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(server.run(async move {
        let _ = stopped.await;
    }));
    let token = Authenticator::hs256(SECRET.as_bytes())?.mint("bench", Duration::from_secs(3600))?;
    let result = job(&base, &token, texts).await;
    let _ = stop.send(());
    running.await??;
    result
}

fn model_throughput(model: &dyn SentimentClassifier, texts: &[String]) -> anyhow::Result<()> {
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let started = Instant::now();
    model.classify(&refs)?;
    let batched = refs.len() as f64 / started.elapsed().as_secs_f64();
    let started = Instant::now();
    for text in &refs {
        model.classify(std::slice::from_ref(text))?;
    }
    let single = refs.len() as f64 / started.elapsed().as_secs_f64();
    println!(
        "  {} texts, one thread: batched {batched:.0} texts/s, one at a time {single:.0} texts/s ({:.2}x)",
        refs.len(),
        batched / single
    );
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let n: usize = args.first().map(|a| a.parse()).transpose()?.unwrap_or(10_000);
    let workers: usize = args.get(1).map(|a| a.parse()).transpose()?.unwrap_or(2);
    let texts = reviews(n);
    let model: Arc<dyn SentimentClassifier> = Arc::new(SentimentModel::load_default()?);
    println!("model, batched worker vs one text at a time:");
    model_throughput(model.as_ref(), &texts[..640.min(n)])?;
    println!("ferry serve (SQLite), {workers} worker loop(s):");
    serve(Backend::Sqlite, workers, Arc::clone(&model), &texts).await?;
    match (std::env::var("FERRY_TABLE"), std::env::var("FERRY_QUEUE_URL"), std::env::var("FERRY_BUCKET")) {
        (Ok(table), Ok(queue_url), Ok(bucket)) if std::env::var_os("AWS_ENDPOINT_URL").is_some() => {
            println!("ferry serve --backend aws (emulator), {workers} worker loop(s):");
            let resources =
                ferry_aws::Resources { table, queue_url, bucket, webhook_queue_url: None, interactive_queue_url: None };
            serve(Backend::Aws(resources), workers, model, &texts).await?;
        }
        _ => println!("(AWS emulator not running: eval \"$(infra/emulator start)\" to include it)"),
    }
    Ok(())
}
