//! Ferry's domain: jobs, tasks, queue messages, the ports adapters implement,
//! and authentication. Knows nothing of AWS, SQLite, tract or Lambda.

pub mod auth;
pub mod callback;
pub mod job;
pub mod keys;
pub mod language;
pub mod lifecycle;
pub mod limits;
pub mod message;
pub mod metrics;
pub mod outbox;
pub mod ports;
pub mod resume;
pub mod sentiment;
pub mod settings;
pub mod tls;
pub mod upload;
pub mod webhook;

pub use auth::jwks::{FetchJwks, JwksCache};
pub use auth::{AuthError, Authenticator, Method, Principal, Scopes, TokenRules};
pub use job::{Dispatch, ItemOutcome, ItemResult, Job, JobId, JobStatus, Progress, Task, WebhookState, WebhookStatus};
pub use keys::{ApiKeyRecord, KeyStore, NewApiKey};
pub use lifecycle::{Admission, JobError, Jobs};
pub use limits::Limits;
pub use message::{DocumentRef, Item, JobDescription, MessageError, Poison, TaskMessage, Work};
pub use outbox::{OutboxError, Recovery, Swept};
pub use ports::{
    BlobError, BlobStore, Canceled, ChunkResults, Created, DeadLetter, DeadLetterQueue, Idempotency, JobStore, Lane,
    QueueError, Recorded, Size, StoreError, TaskQueue,
};
pub use resume::{AnalysisError, ResumeAnalyzer};
pub use sentiment::{
    ModelError, ModelInfo, Sentiment, SentimentClassifier, SentimentPrediction, SentimentScores, catalog,
};
pub use settings::{ConfigError, Settings};
pub use upload::{UploadGrant, UploadRefusal, UploadSigner};
pub use webhook::{WebhookConfig, WebhookMessage};
