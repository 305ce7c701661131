//! Ferry's HTTP API: one axum `Router`. `lambda_http` serves it in Lambda and
//! hyper serves it locally; only the adapters in [`AppState`] differ.

mod extract;
mod jobs;
pub mod problem;
mod wait;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use ferry_core::{Authenticator, JobStore, Limits, ModelInfo, TaskQueue};
use problem::Problem;
use std::sync::Arc;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::{DefaultMakeSpan, TraceLayer};

/// Everything a handler may touch.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn JobStore>,
    pub queue: Arc<dyn TaskQueue>,
    pub auth: Arc<Authenticator>,
    pub limits: Limits,
    pub models: Arc<Vec<ModelInfo>>,
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/v1/models", get(jobs::models))
        .route("/v1/jobs", get(jobs::list).post(jobs::create))
        .route("/v1/jobs/{id}", get(jobs::get).delete(jobs::cancel))
        .route("/v1/jobs/{id}/results", get(jobs::results))
        .route("/v1/sentiment", axum::routing::post(jobs::sentiment))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
        .layer(CatchPanicLayer::custom(|_| {
            Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "Internal error", "unexpected error")
                .into_response()
        }))
        // INFO so the request span (method, path — which holds the job id)
        // is on every line the handlers log; headers are never recorded.
        .layer(TraceLayer::new_for_http().make_span_with(DefaultMakeSpan::new().level(tracing::Level::INFO)))
}

use axum::response::IntoResponse;

async fn healthz() -> impl IntoResponse {
    axum::Json(serde_json::json!({"status": "ok"}))
}

async fn not_found() -> Problem {
    Problem::not_found("no such route")
}

async fn method_not_allowed() -> Problem {
    Problem::new(StatusCode::METHOD_NOT_ALLOWED, "method-not-allowed", "Method not allowed", "method not allowed here")
}
