//! Ferry's domain: jobs, tasks, queue messages, the ports adapters implement,
//! and authentication. Knows nothing of AWS, SQLite, tract or Lambda.

pub mod auth;
pub mod job;
pub mod keys;
pub mod limits;
pub mod message;
pub mod ports;
pub mod sentiment;

pub use auth::jwks::{FetchJwks, JwksCache};
pub use auth::{AuthError, Authenticator, Method, Principal, Scopes, TokenRules};
pub use job::{ItemOutcome, ItemResult, Job, JobId, JobStatus, Progress, Task};
pub use keys::{ApiKeyRecord, KeyStore, NewApiKey};
pub use limits::Limits;
pub use message::{Item, Poison, TaskMessage};
pub use ports::{ChunkResults, Created, JobStore, QueueError, StoreError, TaskQueue};
pub use sentiment::{
    ModelError, ModelInfo, Sentiment, SentimentClassifier, SentimentPrediction, SentimentScores, catalog,
};
