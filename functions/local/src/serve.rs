//! `ferry serve`: the API router on 127.0.0.1 and the worker's poll loop, in
//! one process, on one SQLite file.

use crate::adapters::LocalAdapters;
use crate::blobs::FileBlobs;
use crate::config::{jwt_secret, webhook_secret};
use crate::http::ConnectionLimits;
use crate::poller::Poller;
#[cfg(feature = "aws")]
use crate::sqs_poller::{self, SqsPoller};
use crate::store::SqliteStore;
use anyhow::Context;
use ferry_api::AppState;
use ferry_api::config::ApiConfig;
use ferry_api::guard::BodyPace;
use ferry_core::callback::CallbackPolicy;
use ferry_core::outbox;
use ferry_core::{
    BlobStore, JobStore, KeyStore, Limits, Recovery, ResumeAnalyzer, SentimentClassifier, Swept, TaskQueue,
    WebhookConfig,
};
use ferry_inference::webhook::WebhookSender;
use ferry_inference::{Upstream, Worker};
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tracing::info;

/// Where jobs and the queue live.
pub enum Backend {
    /// One SQLite file in the data directory (the default).
    Sqlite,
    /// DynamoDB, SQS and S3, wherever the AWS environment points (the
    /// emulator from `infra/emulator`, or a real account). Built with the
    /// `aws` feature only.
    #[cfg(feature = "aws")]
    Aws(ferry_aws::Resources),
}

pub struct ServeConfig {
    pub addr: SocketAddr,
    pub backend: Backend,
    pub data_dir: PathBuf,
    pub jwt_secret: Option<String>,
    pub limits: Limits,
    /// How long a received message stays hidden before it is delivered again.
    pub visibility: Duration,
    /// Deliveries before a message's job is failed.
    pub max_attempts: u32,
    /// Concurrent poll loops; 0 serves the API only and leaves jobs queued.
    pub workers: usize,
    /// Whether work a client waits for has a lane of its own (the default);
    /// `false` queues it with bulk work, as before the lane existed, for
    /// comparisons (`examples/sync_latency`).
    pub interactive_lane: bool,
    /// Webhook signing and retries; `None`: the default retries, with a
    /// master key generated in the data directory.
    pub webhooks: Option<WebhookConfig>,
    /// Token verification, scopes, rate limit and CORS (default: what an
    /// empty environment gives; HS256 with the dev secret).
    pub api: ApiConfig,
    /// Who may create jobs by writing to the queue directly (default: nobody).
    pub upstream: Upstream,
    /// Which callback destinations are allowed beyond public https ones.
    pub callback_policy: CallbackPolicy,
    /// How often expired jobs and uploads are deleted (SQLite backend).
    pub sweep_every: Duration,
    /// Runs resume-match jobs; `None` fails them with a reason.
    pub resumes: Option<Arc<dyn ResumeAnalyzer>>,
    /// The outbox's recovery sweep: how often, and how long stored work may
    /// wait to be marked queued.
    pub recovery: Recovery,
    /// Where clients reach the server (the origin of signed upload URLs);
    /// `None`: `http://` and the address bound.
    pub public_url: Option<String>,
    /// Header and idle timeouts, and how many connections at once.
    pub connections: ConnectionLimits,
    /// How slowly a request body may arrive.
    pub body_pace: BodyPace,
}

impl ServeConfig {
    pub fn new(addr: SocketAddr, data_dir: PathBuf) -> Self {
        ServeConfig {
            addr,
            backend: Backend::Sqlite,
            data_dir,
            jwt_secret: None,
            limits: Limits::default(),
            visibility: Duration::from_secs(60),
            max_attempts: 3,
            workers: 1,
            interactive_lane: true,
            webhooks: None,
            api: ApiConfig::default(),
            upstream: Upstream::Only(Default::default()),
            callback_policy: CallbackPolicy::default(),
            sweep_every: Duration::from_secs(3600),
            resumes: None,
            recovery: Recovery::default(),
            public_url: None,
            connections: ConnectionLimits::default(),
            body_pace: BodyPace::default(),
        }
    }
}

/// A bound, ready server. Binding is separate from running so callers (and
/// tests) learn the port before the first request.
pub struct Server {
    listener: TcpListener,
    router: axum::Router,
    connections: ConnectionLimits,
    pollers: Vec<Pollers>,
    sweeper: Option<Sweeper>,
    recoverer: Recoverer,
}

/// Queues again what the outbox stored but nobody marked queued (see
/// `ferry_core::outbox`): at start-up and every `recovery.every`.
struct Recoverer {
    store: Arc<dyn JobStore>,
    queue: Arc<dyn TaskQueue>,
    blobs: Arc<dyn BlobStore>,
    recovery: Recovery,
    /// Grace of the first sweep. On SQLite this process owns the data
    /// directory, so nothing from before it started is still in flight: the
    /// first sweep takes everything at once.
    first_grace: Duration,
}

impl Recoverer {
    async fn run(self, mut stop: watch::Receiver<bool>) {
        let mut grace = self.first_grace;
        while !*stop.borrow() {
            match outbox::sweep(self.store.as_ref(), self.queue.as_ref(), self.blobs.as_ref(), grace).await {
                Ok(swept) if swept == Swept::default() => {}
                Ok(swept) => info!(
                    dispatches = swept.dispatches,
                    webhooks = swept.webhooks,
                    cleared = swept.cleared,
                    "recovery: queued stranded work again"
                ),
                Err(e) => tracing::warn!(error = %e, "recovery sweep failed; retrying at the next"),
            }
            grace = self.recovery.grace;
            tokio::select! {
                _ = tokio::time::sleep(self.recovery.every) => {}
                _ = stop.changed() => {}
            }
        }
    }
}

/// How long a large job's staged messages are kept (the bucket's lifecycle
/// rule for `outbox/` in AWS): long past the sweep that would need them.
const STAGED_FOR: Duration = Duration::from_secs(24 * 3600);

/// Deletes what retention has expired: jobs from SQLite, uploads from files.
struct Sweeper {
    store: Arc<SqliteStore>,
    blobs: FileBlobs,
    retention: Duration,
    every: Duration,
}

impl Sweeper {
    async fn run(self, mut stop: watch::Receiver<bool>) {
        while !*stop.borrow() {
            match self.store.sweep_expired().await {
                Ok(0) => {}
                Ok(jobs) => info!(jobs, "expired jobs deleted"),
                Err(e) => tracing::warn!(error = %e, "sweeping expired jobs failed"),
            }
            let (blobs, retention) = (self.blobs.clone(), self.retention);
            let swept = move || {
                Ok::<_, std::io::Error>(blobs.sweep("uploads", retention)? + blobs.sweep("outbox", STAGED_FOR)?)
            };
            match tokio::task::spawn_blocking(swept).await {
                Ok(Ok(0)) => {}
                Ok(Ok(files)) => info!(files, "expired uploads deleted"),
                Ok(Err(e)) => tracing::warn!(error = %e, "sweeping expired uploads failed"),
                Err(e) => tracing::warn!(error = %e, "upload sweep task failed"),
            }
            tokio::select! {
                _ = tokio::time::sleep(self.every) => {}
                _ = stop.changed() => {}
            }
        }
    }
}

enum Pollers {
    Sqlite(Poller),
    #[cfg(feature = "aws")]
    Sqs(SqsPoller),
}

impl Pollers {
    async fn run(self, stop: watch::Receiver<bool>) {
        match self {
            Pollers::Sqlite(p) => p.run(stop).await,
            #[cfg(feature = "aws")]
            Pollers::Sqs(p) => p.run(stop).await,
        }
    }
}

impl Server {
    pub async fn bind(config: ServeConfig, model: Arc<dyn SentimentClassifier>) -> anyhow::Result<Server> {
        std::fs::create_dir_all(&config.data_dir)
            .with_context(|| format!("creating data directory {}", config.data_dir.display()))?;
        let secret = jwt_secret(&config.data_dir, config.jwt_secret.as_deref())?;
        let auth = config.api.auth.authenticator(Some(&secret)).await?;
        // File blobs have no presigned URLs: the API signs its own, with a key
        // derived from the JWT secret so no other secret file is needed. S3
        // presigns its own URLs, so the AWS backend needs none.
        let upload_signer = matches!(config.backend, Backend::Sqlite)
            .then(|| Arc::new(ferry_core::UploadSigner::derived_from(&secret)));
        let webhooks = match config.webhooks.clone() {
            Some(webhooks) => webhooks,
            None => WebhookConfig::new(webhook_secret(&config.data_dir)?)?,
        };
        let retention = config.limits.retention;
        let sender = WebhookSender::new(config.callback_policy)?;
        // One worker for either backend, over its store, queue and blobs.
        let worker = |store: &Arc<dyn JobStore>, queue: Arc<dyn TaskQueue>, blobs: &Arc<dyn BlobStore>| {
            let worker = Worker::new(Arc::clone(store), queue, Arc::clone(blobs), model, config.max_attempts)
                .with_upstream(config.upstream.clone())
                .with_webhooks(webhooks.clone(), sender)
                .with_limits(config.limits.clone())
                .with_resumes(config.resumes.clone());
            Arc::new(worker)
        };
        type Adapters = (
            Arc<dyn JobStore>,
            Arc<dyn TaskQueue>,
            Arc<dyn KeyStore>,
            Arc<dyn BlobStore>,
            Vec<Pollers>,
            Option<Sweeper>,
        );
        let (store, queue, keys, blobs, pollers, sweeper): Adapters = match &config.backend {
            Backend::Sqlite => {
                let local = LocalAdapters::open(&config.data_dir, config.visibility, config.max_attempts, retention)?;
                let (sqlite, mut queue, file_blobs) = (local.store, local.queue, local.blobs);
                if !config.interactive_lane {
                    queue = queue.without_interactive_lane();
                }
                let store: Arc<dyn JobStore> = sqlite.clone();
                let keys: Arc<dyn KeyStore> = local.keys;
                let blobs: Arc<dyn BlobStore> = Arc::new(file_blobs.clone());
                let recovered = queue.recover().await?;
                if recovered > 0 {
                    info!(messages = recovered, "queued work from before the restart will resume");
                }
                let worker = worker(&store, Arc::new(queue.clone()), &blobs);
                let mut pollers: Vec<Pollers> = (0..config.workers)
                    .map(|_| Pollers::Sqlite(Poller::jobs(queue.clone(), Arc::clone(&worker))))
                    .collect();
                if config.workers > 0 && config.interactive_lane {
                    pollers.push(Pollers::Sqlite(Poller::interactive(queue.clone(), Arc::clone(&worker))));
                }
                if config.workers > 0 {
                    pollers.push(Pollers::Sqlite(Poller::webhooks(queue.clone(), Arc::clone(&worker))));
                }
                let sweeper = Sweeper { store: sqlite, blobs: file_blobs, retention, every: config.sweep_every };
                (store, Arc::new(queue), keys, blobs, pollers, Some(sweeper))
            }
            #[cfg(feature = "aws")]
            Backend::Aws(resources) => {
                let mut resources = resources.clone();
                if !config.interactive_lane {
                    resources.interactive_queue_url = None;
                }
                let aws = ferry_aws::Adapters::connect(&ferry_aws::config().await, &resources, retention);
                let (store, queue): (Arc<dyn JobStore>, _) = (aws.store, aws.queue);
                let (keys, blobs): (Arc<dyn KeyStore>, Arc<dyn BlobStore>) = (aws.keys, aws.blobs);
                let worker = worker(&store, queue.clone(), &blobs);
                // Like the template's event sources: each queue its own
                // pollers and batching, the interactive lane as many as the jobs.
                let poller = |queue: Arc<ferry_aws::SqsQueue>, batching| {
                    Pollers::Sqs(SqsPoller { queue, worker: Arc::clone(&worker), batching })
                };
                let mut pollers: Vec<Pollers> =
                    (0..config.workers).map(|_| poller(Arc::clone(&queue), sqs_poller::JOBS)).collect();
                if let Some(url) = resources.interactive_queue_url.as_ref() {
                    let interactive = Arc::new(queue.for_queue(url));
                    pollers.extend((0..config.workers).map(|_| poller(interactive.clone(), sqs_poller::INTERACTIVE)));
                }
                if let Some(url) = resources.webhook_queue_url.as_ref().filter(|_| config.workers > 0) {
                    pollers.push(poller(Arc::new(queue.for_queue(url)), sqs_poller::WEBHOOKS));
                }
                (store, queue, keys, blobs, pollers, None)
            }
        };
        let first_grace = match config.backend {
            Backend::Sqlite => Duration::ZERO,
            #[cfg(feature = "aws")]
            Backend::Aws(_) => config.recovery.grace,
        };
        let recoverer = Recoverer {
            store: Arc::clone(&store),
            queue: Arc::clone(&queue),
            blobs: Arc::clone(&blobs),
            recovery: config.recovery,
            first_grace,
        };
        let mut state = AppState::new(store, queue, blobs, Arc::new(auth), keys);
        state.limits = config.limits;
        config.api.apply(&mut state);
        state.upload_signer = upload_signer;
        state.webhooks = Some(webhooks);
        state.callback_policy = config.callback_policy;
        let listener = TcpListener::bind(config.addr).await.with_context(|| format!("binding {}", config.addr))?;
        let bound = listener.local_addr()?;
        state.public_url = config.public_url.unwrap_or_else(|| format!("http://{bound}"));
        let router = ferry_api::guard::paced(ferry_api::router(state), config.body_pace);
        Ok(Server { listener, router, connections: config.connections, pollers, sweeper, recoverer })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("a bound listener has an address")
    }

    /// Serves until `shutdown` resolves, then stops taking requests, lets
    /// in-flight requests and the worker's current batch finish, and returns.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        let (stop_tx, stop_rx) = watch::channel(false);
        let mut workers: Vec<_> = self.pollers.into_iter().map(|p| tokio::spawn(p.run(stop_rx.clone()))).collect();
        if let Some(sweeper) = self.sweeper {
            workers.push(tokio::spawn(sweeper.run(stop_rx.clone())));
        }
        workers.push(tokio::spawn(self.recoverer.run(stop_rx.clone())));
        tokio::spawn(async move {
            shutdown.await;
            info!("shutting down: draining requests and the current batch");
            let _ = stop_tx.send(true);
        });
        crate::http::serve(self.listener, self.router, self.connections, stop_rx).await;
        for worker in workers {
            worker.await.context("worker task failed")?;
        }
        info!("stopped");
        Ok(())
    }
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}
