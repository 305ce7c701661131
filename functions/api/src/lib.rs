//! Ferry's HTTP API: one axum `Router`. `lambda_http` serves it in Lambda and
//! hyper serves it locally; only the adapters in [`AppState`] differ.

mod bounded;
pub mod config;
mod console;
pub mod context;
mod docs;
mod documents;
mod extract;
pub mod guard;
mod jobs;
pub mod jwks;
mod keys;
pub mod openapi;
pub mod problem;
pub mod rate;
mod wait;

use axum::Router;
use axum::routing::get;
use ferry_core::callback::CallbackPolicy;
use ferry_core::{
    Authenticator, BlobStore, JobStore, KeyStore, Limits, ModelInfo, Scopes, TaskQueue, UploadSigner, WebhookConfig,
    catalog,
};
use problem::{Problem, ProblemType};
use rate::RateLimit;
use std::sync::Arc;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use keys::verify_api_key;

/// `ferry serve`'s address by default.
pub const DEFAULT_PUBLIC_URL: &str = "http://127.0.0.1:8080";

/// Everything a handler may touch.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn JobStore>,
    pub queue: Arc<dyn TaskQueue>,
    pub auth: Arc<Authenticator>,
    pub keys: Arc<dyn KeyStore>,
    pub scopes: Scopes,
    /// `None`: no per-caller rate limit.
    pub rate_limit: Option<Arc<RateLimit>>,
    /// Origins allowed by CORS; empty: no CORS headers (API Gateway may add its own).
    pub cors_origins: Arc<Vec<String>>,
    pub limits: Limits,
    pub models: Arc<Vec<ModelInfo>>,
    /// Uploaded documents, and the work of large jobs staged before it is
    /// queued (see `ferry_core::outbox`).
    pub blobs: Arc<dyn BlobStore>,
    /// Signs this API's own upload URLs (`PUT /v1/uploads/{id}`) for blob
    /// stores without presigned URLs; `None`: those stores get
    /// `PUT /v1/documents/{id}`, which needs the caller's credential.
    pub upload_signer: Option<Arc<UploadSigner>>,
    /// `None`: `callback_url` is refused.
    pub webhooks: Option<WebhookConfig>,
    pub callback_policy: CallbackPolicy,
    /// Where clients reach this API: the origin of the upload URLs it signs
    /// itself (never taken from a request's `Host`).
    pub public_url: String,
    /// Signed uploads in progress.
    pub uploads: Arc<documents::UploadGate>,
}

impl AppState {
    /// The job rules over this state's ports.
    pub fn jobs(&self) -> ferry_core::Jobs<'_> {
        ferry_core::Jobs {
            store: self.store.as_ref(),
            queue: self.queue.as_ref(),
            blobs: self.blobs.as_ref(),
            webhooks: self.webhooks.is_some(),
            retention: self.limits.retention,
        }
    }

    /// Default scopes and limits, no rate limit, no CORS.
    pub fn new(
        store: Arc<dyn JobStore>,
        queue: Arc<dyn TaskQueue>,
        blobs: Arc<dyn BlobStore>,
        auth: Arc<Authenticator>,
        keys: Arc<dyn KeyStore>,
    ) -> AppState {
        AppState {
            store,
            queue,
            blobs,
            auth,
            keys,
            scopes: Scopes::default(),
            rate_limit: None,
            cors_origins: Arc::new(Vec::new()),
            limits: Limits::default(),
            models: Arc::new(catalog()),
            upload_signer: None,
            webhooks: None,
            callback_policy: CallbackPolicy::default(),
            public_url: DEFAULT_PUBLIC_URL.to_owned(),
            uploads: Arc::default(),
        }
    }
}

pub fn router(state: AppState) -> Router {
    let cors = guard::cors(&state.cors_origins);
    let limits = state.limits.clone();
    let budget = guard::BodyBudget::new(limits.bodies_in_flight);
    let budget_limits = limits.clone();
    let (routes, mut spec) = described_routes().split_for_parts();
    openapi::finish(&mut spec);
    let router = Router::new()
        .route("/openapi.json", get(openapi::document))
        .with_state(axum::body::Bytes::from(openapi::to_json(&spec).to_string()))
        .route("/", get(console::page))
        .route("/console/console.js", get(console::script))
        .route("/console/console.css", get(console::style))
        .route("/docs", get(docs::page))
        .route("/docs/init.js", get(docs::init))
        .route("/docs/redoc.js", get(docs::script))
        .merge(routes)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
        .layer(axum::middleware::from_fn(move |req, next| {
            guard::body_budget(budget.clone(), budget_limits.clone(), req, next)
        }))
        .layer(axum::middleware::from_fn(move |req, next| guard::request_limits(limits.clone(), req, next)))
        .layer(CatchPanicLayer::custom(|_| Problem::new(ProblemType::Internal, "unexpected error").into_response()));
    let router = match cors {
        Some(cors) => router.layer(cors),
        None => router,
    };
    guard::security_headers(router)
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
        .layer(axum::middleware::from_fn(context::middleware))
}

use axum::response::IntoResponse;

#[utoipa::path(
    get, path = "/healthz", tag = "service",
    responses((status = 200, description = "Ready: the model is loaded", body = openapi::Health)),
)]
async fn healthz() -> impl IntoResponse {
    axum::Json(serde_json::json!({"status": "ok"}))
}

/// Every route with its description: the router and the OpenAPI document
/// come from these same calls.
fn described_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .routes(routes!(healthz))
        .routes(routes!(jobs::models))
        .routes(routes!(jobs::list, jobs::create))
        .routes(routes!(jobs::get, jobs::cancel))
        .routes(routes!(jobs::results))
        .routes(routes!(jobs::sentiment))
        .routes(routes!(documents::create))
        .routes(routes!(documents::upload))
        .routes(routes!(documents::signed_upload))
        .routes(routes!(jobs::webhook_secret))
}

/// The OpenAPI document of this API (what `GET /openapi.json` serves).
pub fn openapi_document() -> serde_json::Value {
    let mut spec = described_routes().into_openapi();
    openapi::finish(&mut spec);
    openapi::to_json(&spec)
}

/// The span on every line logged for a request: its id, method and path
/// (which holds the job id). Never headers (credentials) nor the query
/// string (someone will put a token there).
fn request_span<B>(request: &axum::http::Request<B>) -> tracing::Span {
    let id = request.extensions().get::<context::RequestId>().map_or("", |id| id.0.as_str());
    tracing::info_span!("request", request_id = %id, method = %request.method(), path = %request.uri().path())
}

async fn not_found() -> Problem {
    Problem::not_found("no such route")
}

async fn method_not_allowed() -> Problem {
    Problem::new(ProblemType::MethodNotAllowed, "method not allowed here")
}
