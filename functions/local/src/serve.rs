//! `ferry serve`: the API router on 127.0.0.1 and the worker's poll loop, in
//! one process, on one SQLite file.

use crate::config::{database_path, jwt_secret};
use crate::db::Db;
use crate::keys::SqliteKeyStore;
use crate::poller::Poller;
use crate::queue::SqliteQueue;
use crate::sqs_poller::SqsPoller;
use crate::store::SqliteStore;
use anyhow::Context;
use ferry_api::AppState;
use ferry_aws::{DynamoKeyStore, DynamoStore, SqsQueue};
use ferry_core::{JobStore, KeyStore, Limits, SentimentClassifier, TaskQueue};
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
    /// emulator from `infra/emulator`, or a real account).
    Aws { table: String, queue_url: String, bucket: String },
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
        }
    }
}

/// A bound, ready server. Binding is separate from running so callers (and
/// tests) learn the port before the first request.
pub struct Server {
    listener: TcpListener,
    router: axum::Router,
    pollers: Vec<Pollers>,
}

enum Pollers {
    Sqlite(Poller),
    Sqs(SqsPoller),
}

impl Pollers {
    async fn run(self, stop: watch::Receiver<bool>) {
        match self {
            Pollers::Sqlite(p) => p.run(stop).await,
            Pollers::Sqs(p) => p.run(stop).await,
        }
    }
}

impl Server {
    pub async fn bind(config: ServeConfig, model: Arc<dyn SentimentClassifier>) -> anyhow::Result<Server> {
        std::fs::create_dir_all(&config.data_dir)
            .with_context(|| format!("creating data directory {}", config.data_dir.display()))?;
        let secret = jwt_secret(&config.data_dir, config.jwt_secret.as_deref())?;
        let auth = ferry_api::config::authenticator(Some(&secret)).await.map_err(anyhow::Error::msg)?;
        type Adapters = (Arc<dyn JobStore>, Arc<dyn TaskQueue>, Arc<dyn KeyStore>, Vec<Pollers>);
        let (store, queue, keys, pollers): Adapters = match &config.backend {
            Backend::Sqlite => {
                let db = Db::open(&database_path(&config.data_dir))?;
                let store: Arc<dyn JobStore> = Arc::new(SqliteStore::new(db.clone()));
                let keys: Arc<dyn KeyStore> = Arc::new(SqliteKeyStore::new(db.clone()));
                // One delivery more than the worker's attempts: the worker fails the
                // job itself on its last attempt; the dead-letter table only catches a
                // message whose handling crashed the process every time.
                let queue = SqliteQueue::new(db, config.visibility, config.max_attempts + 1);
                let recovered = queue.recover().await?;
                if recovered > 0 {
                    info!(messages = recovered, "queued work from before the restart will resume");
                }
                let worker = Arc::new(
                    Worker::new(Arc::clone(&store), model, config.max_attempts).with_upstream(Upstream::from_env()),
                );
                let pollers = (0..config.workers)
                    .map(|_| {
                        Pollers::Sqlite(Poller {
                            queue: queue.clone(),
                            worker: Arc::clone(&worker),
                            store: Arc::clone(&store),
                        })
                    })
                    .collect();
                (store, Arc::new(queue), keys, pollers)
            }
            Backend::Aws { table, queue_url, bucket } => {
                let sdk = ferry_aws::config().await;
                let store: Arc<dyn JobStore> = Arc::new(DynamoStore::new(&sdk, table, bucket));
                let queue = Arc::new(SqsQueue::new(&sdk, queue_url));
                let keys: Arc<dyn KeyStore> = Arc::new(DynamoKeyStore::new(&sdk, table));
                let worker = Arc::new(
                    Worker::new(Arc::clone(&store), model, config.max_attempts).with_upstream(Upstream::from_env()),
                );
                let pollers = (0..config.workers)
                    .map(|_| Pollers::Sqs(SqsPoller { queue: Arc::clone(&queue), worker: Arc::clone(&worker) }))
                    .collect();
                (store, queue, keys, pollers)
            }
        };
        let mut state = AppState::new(store, queue, Arc::new(auth), keys);
        state.limits = config.limits;
        state.scopes = ferry_api::config::scopes();
        state.rate_limit = ferry_api::config::rate_limit().map_err(anyhow::Error::msg)?;
        state.cors_origins = Arc::new(ferry_api::config::cors_origins());
        let listener = TcpListener::bind(config.addr).await.with_context(|| format!("binding {}", config.addr))?;
        Ok(Server { listener, router: ferry_api::router(state), pollers })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("a bound listener has an address")
    }

    /// Serves until `shutdown` resolves, then stops taking requests, lets
    /// in-flight requests and the worker's current batch finish, and returns.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        let (stop_tx, stop_rx) = watch::channel(false);
        let workers: Vec<_> = self.pollers.into_iter().map(|p| tokio::spawn(p.run(stop_rx.clone()))).collect();
        let stopping = async move {
            shutdown.await;
            info!("shutting down: draining requests and the current batch");
            let _ = stop_tx.send(true);
        };
        axum::serve(self.listener, self.router).with_graceful_shutdown(stopping).await?;
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
