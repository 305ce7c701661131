//! `ferry`: run Ferry on one machine. The only place the local build reads its
//! configuration (flags and environment) and wires adapters together.

use anyhow::Context;
use clap::{Parser, Subcommand};
use ferry_api::guard::BodyPace;
use ferry_core::{Authenticator, ResumeAnalyzer, SentimentClassifier};
use ferry_inference::Upstream;
use ferry_inference::analyzer::ResumePipeline;
use ferry_inference::background::BackgroundPipeline;
use ferry_local::config::{jwt_secret, parse_duration};
use ferry_local::dlq_cli::DlqCommand;
use ferry_local::http::ConnectionLimits;
use ferry_local::keys_cli::KeysCommand;
use ferry_local::serve::{ServeConfig, Server, shutdown_signal};
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
    /// Directory with tokenizer.json, encoder.nnef.tar and sentiment_head.onnx.
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
    /// With `--backend aws`: the queue of work a client waits for (default: the jobs queue).
    #[arg(long, env = "FERRY_INTERACTIVE_QUEUE_URL")]
    interactive_queue_url: Option<String>,
    /// Worker loops running the model (default: one per core and one more);
    /// 0 runs the API only (jobs stay queued).
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
    /// Run the sentiment model directly, without a server: TEXT, or JSONL
    /// from --input. Prints one JSON line per input, in order.
    Predict {
        /// One text to classify.
        text: Option<String>,
        /// A JSONL file (or - for stdin): one input per line, {"text": "…"}
        /// or a JSON string; blank lines skipped. Read as it goes, in constant
        /// memory, with a progress bar on a terminal and a summary on stderr.
        #[arg(long, short, conflicts_with = "text")]
        input: Option<PathBuf>,
        /// Directory with tokenizer.json, encoder.nnef.tar and sentiment_head.onnx
        /// (default: the models built into the binary's source tree).
        #[arg(long, env = "FERRY_MODEL_DIR")]
        model_dir: Option<PathBuf>,
    },
    /// Match a resume against a job description, without a server: the
    /// score, its three parts, each skill of the description and the facts
    /// read from the resume.
    Match {
        /// The resume: PDF, DOCX, Markdown or plain text.
        resume: PathBuf,
        /// The job description as a file (PDF, DOCX, Markdown or text).
        #[arg(long, required_unless_present = "job_text", conflicts_with = "job_text")]
        job: Option<PathBuf>,
        /// The job description as text.
        #[arg(long)]
        job_text: Option<String>,
        /// Print the whole result as JSON (the same as a resume-match job's result).
        #[arg(long)]
        json: bool,
        /// Directory with the model files (default: the bundled ones).
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

/// Large blocks (model weights) on huge pages: a faster start (see the type).
#[global_allocator]
static ALLOC: ferry_models::HugePageAlloc = ferry_models::HugePageAlloc;

fn main() -> anyhow::Result<()> {
    let started = Instant::now();
    // Crash points named in FAILPOINTS, for the fault tests; inert in
    // builds without the `fail/failpoints` feature.
    let _failpoints = fail::FailScenario::setup();
    init_tracing();
    match Cli::parse().command {
        Command::Serve(args) => {
            let args = *args;
            #[cfg(not(feature = "aws"))]
            if args.backend == "aws" {
                return Err(ferry_local::without_aws());
            }
            let (model, resumes) = load_models(args.model_dir.as_deref())?;
            let mut config = ServeConfig::new(SocketAddr::new(args.bind, args.port), args.data.data_dir);
            config.resumes = Some(resumes);
            config.jwt_secret = args.data.jwt_secret;
            config.public_url = args.public_url;
            config.max_attempts = args.max_attempts;
            config.workers = args.workers;
            let settings = ferry_local::config::environment();
            config.callback_policy = settings.callback_policy();
            config.limits.retention = settings.retention()?;
            config.recovery = settings.recovery()?;
            config.api = ferry_api::config::ApiConfig::from_settings(&settings)?;
            config.upstream = Upstream::parse(&settings.var("FERRY_UPSTREAM_OWNERS").unwrap_or_default());
            let generated = ferry_local::config::webhook_secret(&config.data_dir)?;
            config.webhooks = settings.webhooks(Some(&generated))?;
            config.connections = ConnectionLimits {
                header_timeout: Duration::from_secs(args.header_timeout.max(1)),
                idle_timeout: Duration::from_secs(args.idle_timeout.max(1)),
                max_connections: args.max_connections.max(1),
            };
            config.body_pace =
                BodyPace { gap: Duration::from_secs(args.body_timeout.max(1)), min_rate: args.body_min_rate };
            #[cfg(feature = "aws")]
            if args.backend == "aws" {
                config.backend = ferry_local::serve::Backend::Aws(ferry_aws::Resources {
                    table: args.table.unwrap_or_default(),
                    queue_url: args.queue_url.unwrap_or_default(),
                    bucket: args.bucket.unwrap_or_default(),
                    webhook_queue_url: args.webhook_queue_url,
                    interactive_queue_url: args.interactive_queue_url,
                });
            }
            serve(config, model)
        }
        Command::Token { sub, ttl, data } => {
            let auth = Authenticator::hs256(&jwt_secret(&data.data_dir, data.jwt_secret.as_deref())?)?;
            println!("{}", auth.mint(&sub, ttl)?);
            Ok(())
        }
        Command::Predict { text, input, model_dir } => {
            quiet_on_closed_pipe(predict(text, input, model_dir.as_deref(), started))
        }
        Command::Match { resume, job, job_text, json, model_dir } => {
            let description = match (job, job_text) {
                (Some(path), _) => std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?,
                (None, Some(text)) => text.into_bytes(),
                (None, None) => anyhow::bail!("give --job FILE or --job-text TEXT"),
            };
            let resume = std::fs::read(&resume).with_context(|| format!("reading {}", resume.display()))?;
            let (_, analyzer) = load_models(model_dir.as_deref())?;
            let result = analyzer.analyze(&resume, &description).map_err(|e| anyhow::anyhow!("{e}"))?;
            if json {
                println!("{}", serde_json::to_string_pretty(&result)?);
            } else {
                print!("{}", ferry_local::summary::resume_match(&result));
            }
            Ok(())
        }
        Command::Keys { command } => block_on(ferry_local::keys_cli::run(command)),
        Command::Dlq { command } => block_on(ferry_local::dlq_cli::run(command)),
    }
}

/// One worker loop per core and one more: a loop spends part of each round
/// receiving and recording (SQLite), and the extra one keeps every core on
/// the model meanwhile (2 cores: 391–396 req/s with 3 loops against 366–372
/// with 2 in `compare.sh http`, p99 47 against 41 ms).
fn default_workers() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from) + 1
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
    let encoder = Arc::clone(&sentiment);
    let resumes = BackgroundPipeline::spawn(move || ResumePipeline::load(encoder, Some(&skills_dir)));
    Ok((sentiment, Arc::new(resumes)))
}

/// A reader that stopped reading (`ferry predict … | head`) ends the run
/// quietly, as for any Unix filter.
fn quiet_on_closed_pipe(result: anyhow::Result<()>) -> anyhow::Result<()> {
    match result {
        Err(e) if e.downcast_ref::<std::io::Error>().is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe) => {
            Ok(())
        }
        other => other,
    }
}

/// Inputs sent to the model at once: memory stays flat on any input and
/// output streams as it goes.
const PREDICT_GROUP: usize = 256;
/// A longer input line is answered with an error instead of being read
/// whole (the model reads at most 256 tokens of a text anyway).
const MAX_PREDICT_LINE: usize = 1024 * 1024;

/// One input of `ferry predict`, as read.
enum Input {
    Text(String),
    /// Answered with `{"error": …}` so the output keeps one line per input.
    Unreadable(String),
}

impl Input {
    fn text(&self) -> Option<&str> {
        match self {
            Input::Text(t) if !t.trim().is_empty() => Some(t),
            _ => None,
        }
    }
}

fn predict(
    text: Option<String>,
    input: Option<PathBuf>,
    model_dir: Option<&Path>,
    started: Instant,
) -> anyhow::Result<()> {
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut inputs = match (text, input) {
        (Some(text), None) => {
            write_predictions(load_model(model_dir)?.as_ref(), &[Input::Text(text)], &mut out)?;
            return Ok(out.flush()?);
        }
        (None, Some(path)) => InputLines::open(&path)?,
        _ => anyhow::bail!("give either TEXT or --input FILE (- for stdin)"),
    };
    let model = load_model(model_dir)?;
    let progress = predict_progress(inputs.size);
    let (mut count, mut failed) = (0usize, 0usize);
    let mut group = Vec::with_capacity(PREDICT_GROUP);
    loop {
        group.clear();
        while group.len() < PREDICT_GROUP {
            match inputs.next_input()? {
                Some(input) => group.push(input),
                None => break,
            }
        }
        if group.is_empty() {
            break;
        }
        failed += write_predictions(model.as_ref(), &group, &mut out)?;
        count += group.len();
        progress.set_position(inputs.consumed);
        progress.set_message(format!("{count} inputs"));
    }
    out.flush()?;
    progress.finish_and_clear();
    eprintln!("{}", predict_summary(count, failed, started.elapsed()));
    Ok(())
}

/// Classifies a group's texts in one call and writes one JSON line per
/// input, in order. Returns how many inputs were answered with an error.
fn write_predictions(model: &SentimentModel, group: &[Input], out: &mut impl Write) -> anyhow::Result<usize> {
    let texts: Vec<&str> = group.iter().filter_map(Input::text).collect();
    let mut scores = model.classify(&texts)?.into_iter();
    let mut failed = 0;
    for input in group {
        let json = match (input, input.text()) {
            (_, Some(text)) => {
                let scores = scores.next().expect("one score per text");
                serde_json::to_value(scores.prediction(ferry_core::language::identify(text)))?
            }
            (Input::Unreadable(e), None) => serde_json::json!({ "error": e }),
            (Input::Text(_), None) => serde_json::json!({ "error": "empty text" }),
        };
        failed += usize::from(json.get("error").is_some());
        writeln!(out, "{json}")?;
    }
    Ok(failed)
}

/// A bar on a terminal (silent otherwise): bytes read of a file, or a
/// spinner for stdin.
fn predict_progress(size: Option<u64>) -> indicatif::ProgressBar {
    let target = indicatif::ProgressDrawTarget::stderr();
    let Some(size) = size else {
        return indicatif::ProgressBar::with_draw_target(None, target);
    };
    let bar = indicatif::ProgressBar::with_draw_target(Some(size), target);
    let style = indicatif::ProgressStyle::with_template("{bar:30} {percent:>3}% {msg}, {elapsed} (about {eta} left)")
        .expect("a valid template");
    bar.set_style(style);
    bar.set_message("0 inputs");
    bar
}

/// `predict: 2000 inputs (3 errors) in 7.4 s, 270 inputs/s, peak memory 212 MB`.
fn predict_summary(count: usize, failed: usize, elapsed: Duration) -> String {
    let secs = elapsed.as_secs_f64();
    let mut line = format!("predict: {count} inputs ({failed} errors) in {secs:.1} s");
    if secs > 0.0 {
        line.push_str(&format!(", {:.0} inputs/s", count as f64 / secs));
    }
    if let Some(kb) = peak_rss_kb() {
        line.push_str(&format!(", peak memory {} MB", kb / 1024));
    }
    line
}

/// This process's peak resident memory (Linux's `VmHWM`).
fn peak_rss_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// `predict`'s inputs, read one line at a time: `{"text": …}` or a JSON
/// string per line, blank lines skipped. A line that cannot be used becomes
/// an [`Input::Unreadable`], so the output keeps one line per input.
struct InputLines {
    reader: Box<dyn BufRead>,
    /// Bytes read so far, and the file's size when known (for progress).
    consumed: u64,
    size: Option<u64>,
    first: bool,
}

impl InputLines {
    fn open(path: &Path) -> anyhow::Result<InputLines> {
        let (reader, size): (Box<dyn BufRead>, _) = if path == Path::new("-") {
            (Box::new(std::io::BufReader::new(std::io::stdin())), None)
        } else {
            let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
            let size = file.metadata().ok().map(|m| m.len());
            (Box::new(std::io::BufReader::new(file)), size)
        };
        Ok(InputLines { reader, consumed: 0, size, first: true })
    }

    fn next_input(&mut self) -> anyhow::Result<Option<Input>> {
        let mut line = Vec::new();
        loop {
            line.clear();
            let (read, whole) = read_line_capped(&mut self.reader, &mut line, MAX_PREDICT_LINE)?;
            if read == 0 {
                return Ok(None);
            }
            self.consumed += read as u64;
            let mut bytes = line.as_slice();
            if std::mem::take(&mut self.first) {
                bytes = bytes.strip_prefix("\u{feff}".as_bytes()).unwrap_or(bytes);
            }
            if !whole {
                return Ok(Some(Input::Unreadable(format!("line longer than {MAX_PREDICT_LINE} bytes"))));
            }
            if bytes.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            return Ok(Some(parse_input_line(bytes)));
        }
    }
}

fn parse_input_line(line: &[u8]) -> Input {
    match ferry_core::message::jsonl_input(line) {
        Ok(text) => Input::Text(text),
        Err(e) => Input::Unreadable(e),
    }
}

/// Reads one line (through `\n`) into `line`, keeping at most `cap` bytes of
/// it and skipping the rest. Returns the bytes consumed and whether the whole
/// line fitted.
fn read_line_capped(reader: &mut dyn BufRead, line: &mut Vec<u8>, cap: usize) -> std::io::Result<(usize, bool)> {
    let (mut consumed, mut whole) = (0, true);
    loop {
        let available = reader.fill_buf()?;
        if available.is_empty() {
            return Ok((consumed, whole));
        }
        let (piece, done) = match available.iter().position(|b| *b == b'\n') {
            Some(end) => (&available[..=end], true),
            None => (available, false),
        };
        let room = cap.saturating_sub(line.len());
        whole &= piece.len() <= room;
        line.extend_from_slice(&piece[..piece.len().min(room)]);
        let used = piece.len();
        reader.consume(used);
        consumed += used;
        if done {
            return Ok((consumed, whole));
        }
    }
}

/// Logs go to stderr (stdout is for `token` and `predict` output). JSON with
/// FERRY_LOG_FORMAT=json; level filter from FERRY_LOG (default: info for
/// `serve`, warnings otherwise).
fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let default = if std::env::args().nth(1).as_deref() == Some("serve") { "info" } else { "warn" };
    let filter = EnvFilter::try_from_env("FERRY_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    // Metric events are for CloudWatch (the Lambda functions print them as
    // EMF); here they would only be noise.
    let filter = filter.add_directive(format!("{}=off", ferry_core::metrics::TARGET).parse().expect("a directive"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if ferry_local::config::environment().var("FERRY_LOG_FORMAT").as_deref() == Some("json") {
        builder.json().init();
    } else {
        builder.init();
    }
}
