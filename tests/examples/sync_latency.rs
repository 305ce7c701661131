//! How long a synchronous `POST /v1/sentiment` takes on `ferry serve`, idle
//! and while a bulk job runs, with and without the interactive lane: on
//! SQLite, and on the AWS emulator's SQS and DynamoDB when it runs (its
//! pollers gather batches as template.yaml's event sources do: the jobs
//! queue for up to 1 s, the interactive queue not at all). The real model,
//! the real server on 127.0.0.1; bounded: CALLS calls per row, each bulk job
//! of BULK texts, 10 minutes per row at most.
//!
//!   eval "$(infra/emulator start)"   # first, to include the AWS rows
//!   cargo run --release -p ferry-tests --example sync_latency [-- CALLS [BULK [WORKERS]]]

use ferry_core::{Authenticator, SentimentClassifier};
use ferry_local::serve::{Backend, ServeConfig, Server};
use ferry_models::SentimentModel;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};

const SECRET: &str = "bench-secret-bench-secret-bench-secret!!";
const ROW_LIMIT: Duration = Duration::from_secs(600);

struct Row {
    backend: &'static str,
    lane: bool,
    bulk: bool,
}

struct Client {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Client {
    async fn sentiment(&self, text: &str) -> anyhow::Result<Duration> {
        let started = Instant::now();
        let response = self
            .http
            .post(format!("{}/v1/sentiment", self.base))
            .bearer_auth(&self.token)
            .header("content-type", "application/json")
            .body(json!({ "text": text }).to_string())
            .send()
            .await?;
        anyhow::ensure!(response.status() == 200, "sentiment: {}", response.status());
        Ok(started.elapsed())
    }

    async fn start_bulk(&self, texts: usize) -> anyhow::Result<String> {
        let inputs: Vec<String> =
            (0..texts).map(|i| format!("Review {i}: arrived late, but the blender itself is great.")).collect();
        let response = self
            .http
            .post(format!("{}/v1/jobs", self.base))
            .bearer_auth(&self.token)
            .header("content-type", "application/json")
            .body(json!({"task": "sentiment", "inputs": inputs}).to_string())
            .send()
            .await?;
        anyhow::ensure!(response.status() == 202, "bulk job: {}", response.status());
        Ok(response.headers()["location"].to_str()?.to_owned())
    }

    async fn status(&self, location: &str) -> anyhow::Result<Value> {
        let bytes = self.http.get(format!("{}{location}", self.base)).bearer_auth(&self.token).send().await?;
        Ok(serde_json::from_slice(&bytes.bytes().await?)?)
    }
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let at = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[at].as_secs_f64() * 1e3
}

async fn measure(row: &Row, client: &Client, calls: usize, bulk: usize) -> anyhow::Result<()> {
    // A first call warms the path (connections, the model's plan for its
    // shape), before the bulk job: the first measured call is the one that
    // meets the bulk job's messages.
    client.sentiment("warming up").await?;
    let started = Instant::now();
    let location = if row.bulk { Some(client.start_bulk(bulk).await?) } else { None };
    let mut took = Vec::with_capacity(calls);
    for i in 0..calls {
        anyhow::ensure!(started.elapsed() < ROW_LIMIT, "row over {ROW_LIMIT:?}");
        took.push(client.sentiment(&format!("Call {i}: I really like this phone, it works great.")).await?);
    }
    let bulk_state = match &location {
        Some(location) => {
            let job = client.status(location).await?;
            format!("bulk job {} at {}/{}", job["status"], job["progress"]["done"], job["progress"]["total"])
        }
        None => "no bulk job".into(),
    };
    let first = took[0].as_secs_f64() * 1e3;
    took.sort();
    println!(
        "| {} | {} | {} | {first:.0} | {:.0} | {:.0} | {:.0} | {bulk_state} |",
        row.backend,
        if row.lane { "yes" } else { "no" },
        if row.bulk { "running" } else { "idle" },
        percentile(&took, 0.5),
        percentile(&took, 0.9),
        percentile(&took, 1.0),
    );
    if let Some(location) = location {
        // Let the bulk job end before the next row starts.
        while started.elapsed() < ROW_LIMIT {
            let job = client.status(&location).await?;
            if job["status"] != "queued" && job["status"] != "running" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
    Ok(())
}

async fn run_row(
    row: Row,
    backend: Backend,
    workers: usize,
    model: Arc<dyn SentimentClassifier>,
    calls: usize,
    bulk: usize,
) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut config = ServeConfig::new("127.0.0.1:0".parse()?, dir.path().to_owned());
    config.backend = backend;
    config.workers = workers;
    config.jwt_secret = Some(SECRET.into());
    config.api.rate_limit = None;
    if !row.lane {
        config.interactive_lane = false;
    }
    let server = Server::bind(config, model).await?;
    let client = Client {
        http: reqwest::Client::builder().use_preconfigured_tls(ferry_core::tls::client_config()).build()?,
        base: format!("http://{}", server.local_addr()),
        token: Authenticator::hs256(SECRET.as_bytes())?.mint("bench", Duration::from_secs(3600))?,
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(server.run(async move {
        let _ = stopped.await;
    }));
    let result = measure(&row, &client, calls, bulk).await;
    let _ = stop.send(());
    running.await??;
    result
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let calls: usize = args.first().map(|a| a.parse()).transpose()?.unwrap_or(20);
    let bulk: usize = args.get(1).map(|a| a.parse()).transpose()?.unwrap_or(3000);
    let workers: usize = args.get(2).map(|a| a.parse()).transpose()?.unwrap_or(1);
    let model: Arc<dyn SentimentClassifier> = Arc::new(SentimentModel::load_default()?);
    println!("{calls} sequential POST /v1/sentiment per row; bulk job: {bulk} texts; {workers} worker loop(s)");
    println!("| backend | interactive lane | bulk job | first ms | p50 ms | p90 ms | max ms | after the calls |");
    println!("|---|---|---|---:|---:|---:|---:|---|");
    for (lane, bulk_running) in [(true, false), (true, true), (false, false), (false, true)] {
        let row = Row { backend: "SQLite", lane, bulk: bulk_running };
        run_row(row, Backend::Sqlite, workers, Arc::clone(&model), calls, bulk).await?;
    }
    let Some(resources) = emulator_resources().await? else {
        println!("(AWS emulator not running: eval \"$(infra/emulator start)\" to include it)");
        return Ok(());
    };
    for (lane, bulk_running) in [(true, false), (true, true), (false, false), (false, true)] {
        let row = Row { backend: "SQS + DynamoDB (emulator)", lane, bulk: bulk_running };
        run_row(row, Backend::Aws(resources.clone()), workers, Arc::clone(&model), calls, bulk).await?;
    }
    delete_queues(&resources).await
}

/// The emulator's table and bucket, with queues of this run's own (nothing
/// another process left on the shared ones is worked through first).
async fn emulator_resources() -> anyhow::Result<Option<ferry_aws::Resources>> {
    let (Ok(table), Ok(bucket)) = (std::env::var("FERRY_TABLE"), std::env::var("FERRY_BUCKET")) else {
        return Ok(None);
    };
    if std::env::var_os("AWS_ENDPOINT_URL").is_none() {
        return Ok(None);
    }
    let sqs = ferry_aws::sqs_client(&ferry_aws::config().await);
    let mut urls = Vec::new();
    for lane in ["jobs", "interactive"] {
        let name = format!("ferry-latency-{lane}-{}", std::process::id());
        urls.push(sqs.create_queue().queue_name(name).send().await?.queue_url().unwrap_or_default().to_owned());
    }
    Ok(Some(ferry_aws::Resources {
        table,
        bucket,
        queue_url: urls[0].clone(),
        webhook_queue_url: None,
        interactive_queue_url: Some(urls[1].clone()),
    }))
}

async fn delete_queues(resources: &ferry_aws::Resources) -> anyhow::Result<()> {
    let sqs = ferry_aws::sqs_client(&ferry_aws::config().await);
    for url in [Some(&resources.queue_url), resources.interactive_queue_url.as_ref()].into_iter().flatten() {
        sqs.delete_queue().queue_url(url).send().await?;
    }
    Ok(())
}
