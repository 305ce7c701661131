//! `ferry`: run Ferry on one machine. The only place the local build reads its
//! configuration (flags and environment) and wires adapters together.

use anyhow::Context;
use clap::{Parser, Subcommand};
use ferry_api::guard::BodyPace;
use ferry_core::{Authenticator, ResumeAnalyzer, SentimentClassifier};
use ferry_inference::Upstream;
use ferry_inference::analyzer::ResumePipeline;
use ferry_local::config::{jwt_secret, parse_duration};
use ferry_local::dlq_cli::DlqCommand;
use ferry_local::http::ConnectionLimits;
use ferry_local::keys_cli::KeysCommand;
use ferry_local::serve::{Backend, ServeConfig, Server, shutdown_signal};
use ferry_models::SentimentModel;
use std::io::{BufRead, Write};
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Parser)]
#[command(name = "ferry", version, about = "Ferry: sentiment inference as a service, run locally")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args)]
struct DataDir {
    /// Where jobs, the queue and the dev signing secret live.
    #[arg(long, env = "FERRY_DATA_DIR", default_value = ".ferry")]
    data_dir: PathBuf,
    /// HS256 secret for bearer tokens (at least 32 bytes). Default: generated
    /// once and kept in the data directory.
    #[arg(long, env = "FERRY_JWT_SECRET", hide_env_values = true)]
    jwt_secret: Option<String>,
}

#[derive(clap::Args)]
struct ServeArgs {
    #[arg(long, env = "FERRY_PORT", default_value_t = 8080)]
    port: u16,
    /// Address to listen on. Keep the loopback default unless you put a proxy in front.
    #[arg(long, env = "FERRY_BIND", default_value = "127.0.0.1")]
    bind: IpAddr,
    /// The origin clients reach this server at (e.g. https://ferry.example.com
    /// behind a proxy): the upload URLs it signs start with it. Default:
    /// http://<bind>:<port>.
    #[arg(long, env = "FERRY_PUBLIC_URL")]
    public_url: Option<String>,
    #[command(flatten)]
    data: DataDir,
    /// Directory with tokenizer.json, encoder.onnx and sentiment_head.onnx.
    #[arg(long, env = "FERRY_MODEL_DIR")]
    model_dir: Option<PathBuf>,
    /// Deliveries of a message before its job fails.
    #[arg(long, env = "FERRY_MAX_ATTEMPTS", default_value_t = 3)]
    max_attempts: u32,
    /// `sqlite` (default): everything in the data directory. `aws`: DynamoDB,
    /// SQS and S3 named by FERRY_TABLE, FERRY_QUEUE_URL and FERRY_BUCKET, at
    /// whatever AWS_ENDPOINT_URL / region / credentials point to.
    #[arg(long, env = "FERRY_BACKEND", default_value = "sqlite", value_parser = ["sqlite", "aws"])]
    backend: String,
    #[arg(long, env = "FERRY_TABLE", required_if_eq("backend", "aws"))]
    table: Option<String>,
    #[arg(long, env = "FERRY_QUEUE_URL", required_if_eq("backend", "aws"))]
    queue_url: Option<String>,
    #[arg(long, env = "FERRY_BUCKET", required_if_eq("backend", "aws"))]
    bucket: Option<String>,
    /// With `--backend aws`: the webhook attempts' own queue (default: the jobs queue).
    #[arg(long, env = "FERRY_WEBHOOK_QUEUE_URL")]
    webhook_queue_url: Option<String>,
    /// Worker loops running the model (default: one per core); 0 runs the
    /// API only (jobs stay queued).
    #[arg(long, env = "FERRY_WORKERS", default_value_t = default_workers())]
    workers: usize,
    /// Seconds a client has to send a request's headers, from the moment
    /// the server waits for them.
    #[arg(long, env = "FERRY_HEADER_TIMEOUT_SECS", default_value_t = 10)]
    header_timeout: u64,
    /// Seconds a keep-alive connection may sit idle before it is closed.
    #[arg(long, env = "FERRY_IDLE_TIMEOUT_SECS", default_value_t = 5)]
    idle_timeout: u64,
    /// Seconds a request body may pause between pieces.
    #[arg(long, env = "FERRY_BODY_TIMEOUT_SECS", default_value_t = 10)]
    body_timeout: u64,
    /// Least average rate of a request body, in bytes per second, once it has
    /// been arriving for longer than --body-timeout (408 below it).
    #[arg(long, env = "FERRY_BODY_MIN_RATE", default_value_t = 4096)]
    body_min_rate: u64,
    /// Connections open at once; more are closed as soon as they are accepted.
    #[arg(long, env = "FERRY_MAX_CONNECTIONS", default_value_t = 1024)]
    max_connections: usize,
}

#[derive(Subcommand)]
enum Command {
    /// Run the API and the worker on 127.0.0.1 (SQLite store and queue).
    Serve(Box<ServeArgs>),
    /// Print a dev bearer token that `ferry serve` with the same data directory accepts.
    Token {
        /// The token's subject: the owner of the jobs it creates.
        #[arg(long)]
        sub: String,
        /// Lifetime, e.g. 3600, 30m, 24h, 7d.
        #[arg(long, default_value = "24h", value_parser = parse_duration)]
        ttl: Duration,
        #[command(flatten)]
        data: DataDir,
    },
    /// Run the model directly: TEXT, or JSONL lines {"text": ...} from --input
    /// (a file, or - for stdin). Prints one JSON line per input, in order.
    Predict {
        text: Option<String>,
        #[arg(long, short)]
        input: Option<PathBuf>,
        #[arg(long, env = "FERRY_MODEL_DIR")]
        model_dir: Option<PathBuf>,
    },
    /// Manage API keys (`x-api-key`) and owners: create, list, revoke,
    /// disable-owner, enable-owner.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Inspect and redrive dead-lettered messages: list, redrive [--job ID].
    Dlq {
        #[command(subcommand)]
        command: DlqCommand,
    },
}

fn main() -> anyhow::Result<()> {
    let started = Instant::now();
    // Crash points named in FAILPOINTS, for the fault tests; inert in
    // builds without the `fail/failpoints` feature.
    let _failpoints = fail::FailScenario::setup();
    init_tracing();
    match Cli::parse().command {
        Command::Serve(args) => {
            let args = *args;
            let (model, resumes) = load_models(args.model_dir.as_deref())?;
            let mut config = ServeConfig::new(SocketAddr::new(args.bind, args.port), args.data.data_dir);
            config.resumes = Some(resumes);
            config.jwt_secret = args.data.jwt_secret;
            config.public_url = args.public_url;
            config.max_attempts = args.max_attempts;
            config.workers = args.workers;
            let settings = ferry_local::config::environment();
            let fail = anyhow::Error::msg;
            config.callback_policy = settings.callback_policy();
            config.limits.retention = settings.retention().map_err(fail)?;
            config.recovery = settings.recovery().map_err(fail)?;
            config.api = ferry_api::config::ApiConfig::from_settings(&settings).map_err(fail)?;
            config.upstream = Upstream::parse(&settings.var("FERRY_UPSTREAM_OWNERS").unwrap_or_default());
            let generated = ferry_local::config::webhook_secret(&config.data_dir)?;
            config.webhooks = settings.webhooks(Some(&generated)).map_err(fail)?;
            config.connections = ConnectionLimits {
                header_timeout: Duration::from_secs(args.header_timeout.max(1)),
                idle_timeout: Duration::from_secs(args.idle_timeout.max(1)),
                max_connections: args.max_connections.max(1),
            };
            config.body_pace =
                BodyPace { gap: Duration::from_secs(args.body_timeout.max(1)), min_rate: args.body_min_rate };
            if args.backend == "aws" {
                config.backend = Backend::Aws(ferry_aws::Resources {
                    table: args.table.unwrap_or_default(),
                    queue_url: args.queue_url.unwrap_or_default(),
                    bucket: args.bucket.unwrap_or_default(),
                    webhook_queue_url: args.webhook_queue_url,
                });
            }
            serve(config, model)
        }
        Command::Token { sub, ttl, data } => {
            let auth = Authenticator::hs256(&jwt_secret(&data.data_dir, data.jwt_secret.as_deref())?)?;
            println!("{}", auth.mint(&sub, ttl)?);
            Ok(())
        }
        Command::Predict { text, input, model_dir } => predict(text, input, model_dir.as_deref(), started),
        Command::Keys { command } => block_on(ferry_local::keys_cli::run(command)),
        Command::Dlq { command } => block_on(ferry_local::dlq_cli::run(command)),
    }
}

/// One worker loop per core: each runs a batch through the model while the
/// other receives and records the next.
fn default_workers() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

fn block_on(command: impl std::future::Future<Output = anyhow::Result<()>>) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(command)
}

fn serve(config: ServeConfig, model: Arc<dyn SentimentClassifier>) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async move {
        let data_dir = config.data_dir.clone();
        let server = Server::bind(config, model).await?;
        tracing::info!(addr = %server.local_addr(), data_dir = %data_dir.display(), "ferry is ready");
        eprintln!("ferry listening on http://{}", server.local_addr());
        server.run(shutdown_signal()).await
    })
}

fn load_model(dir: Option<&Path>) -> anyhow::Result<Arc<SentimentModel>> {
    let started = Instant::now();
    let model = match dir {
        Some(dir) => SentimentModel::load(dir),
        None => SentimentModel::load_default(),
    }
    .context("loading the sentiment model")?;
    tracing::info!(ms = started.elapsed().as_millis() as u64, "model loaded");
    Ok(Arc::new(model))
}

/// The sentiment model and the resume pipeline on its encoder.
fn load_models(dir: Option<&Path>) -> anyhow::Result<(Arc<dyn SentimentClassifier>, Arc<dyn ResumeAnalyzer>)> {
    let sentiment = load_model(dir)?;
    let skills_dir = dir.map_or_else(ferry_models::default_assets_dir, Path::to_path_buf);
    let resumes = ResumePipeline::load(Arc::clone(&sentiment), Some(&skills_dir)).context("loading the skill model")?;
    Ok((sentiment, Arc::new(resumes)))
}

fn predict(
    text: Option<String>,
    input: Option<PathBuf>,
    model_dir: Option<&Path>,
    started: Instant,
) -> anyhow::Result<()> {
    let lines: Vec<Result<String, String>> = match (text, input) {
        (Some(text), None) => vec![Ok(text)],
        (None, Some(path)) => read_jsonl(&path)?,
        _ => anyhow::bail!("give either TEXT or --input FILE (- for stdin)"),
    };
    let model = load_model(model_dir)?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    // Bounded groups keep memory flat on large files and let output stream.
    for group in lines.chunks(256) {
        let texts: Vec<&str> =
            group.iter().filter_map(|l| l.as_deref().ok()).filter(|t| !t.trim().is_empty()).collect();
        let mut scores = model.classify(&texts)?.into_iter();
        for line in group {
            let json = match line {
                Err(e) => serde_json::json!({ "error": e }),
                Ok(t) if t.trim().is_empty() => serde_json::json!({ "error": "empty text" }),
                Ok(text) => {
                    let scores = scores.next().expect("one score per text");
                    serde_json::to_value(scores.prediction(ferry_core::language::identify(text)))?
                }
            };
            writeln!(out, "{json}")?;
        }
    }
    out.flush()?;
    tracing::debug!(ms = started.elapsed().as_millis() as u64, "predict finished");
    Ok(())
}

/// Reads `{"text": ...}` lines. A bad line becomes an error entry, so the
/// output keeps one line per input line.
fn read_jsonl(path: &Path) -> anyhow::Result<Vec<Result<String, String>>> {
    let reader: Box<dyn BufRead> = if path == Path::new("-") {
        Box::new(std::io::stdin().lock())
    } else {
        Box::new(std::io::BufReader::new(
            std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?,
        ))
    };
    let mut lines = Vec::new();
    for line in reader.lines() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        lines.push(match serde_json::from_str::<serde_json::Value>(&line) {
            Ok(v) => v.get("text").and_then(|t| t.as_str()).map(str::to_owned).ok_or_else(|| "missing \"text\"".into()),
            Err(e) => Err(format!("invalid JSON: {e}")),
        });
    }
    Ok(lines)
}

/// Logs go to stderr (stdout is for `token` and `predict` output). JSON with
/// FERRY_LOG_FORMAT=json; level filter from FERRY_LOG (default: info for
/// `serve`, warnings otherwise).
fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let default = if std::env::args().nth(1).as_deref() == Some("serve") { "info" } else { "warn" };
    let filter = EnvFilter::try_from_env("FERRY_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if ferry_local::config::environment().var("FERRY_LOG_FORMAT").as_deref() == Some("json") {
        builder.json().init();
    } else {
        builder.init();
    }
}
