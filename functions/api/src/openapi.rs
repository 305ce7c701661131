//! The OpenAPI 3.1 document, generated from the handlers' `#[utoipa::path]`
//! attributes and the request and response types below, and served at
//! `GET /openapi.json` (with a reader at `GET /docs`). The router and the
//! document are built by the same `routes!` calls (`crate::router`), so a
//! route cannot be served without being described.
//!
//! Request bodies are the handlers' own types. The answers are JSON built from
//! core's types (`Job::summary`, `SentimentPrediction`, …); the schemas here
//! describe them, and `tests/tests/openapi.rs` checks real answers from the
//! router against them.

use crate::problem::ProblemType;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use utoipa::openapi::extensions::ExtensionsBuilder;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{IntoResponses, Modify, OpenApi, ToSchema};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Ferry",
        description = "Sentiment of short texts and resume intelligence, as a service. Every route but \
                       /healthz, /openapi.json and /docs needs `Authorization: Bearer <JWT>` or `x-api-key`. \
                       Errors are RFC 9457 problem details (`application/problem+json`); their `type`s are \
                       listed under the `Problem` schema and in `x-problem-types`."
    ),
    components(schemas(Problem, JobView, SentimentResult, ItemResult)),
    tags(
        (name = "sentiment", description = "One text, answered while you wait"),
        (name = "jobs", description = "Batches, documents and resume matches, run in the background"),
        (name = "documents", description = "Uploading resumes, job descriptions and JSONL inputs"),
        (name = "service", description = "Health, models, webhooks and this document"),
    )
)]
pub struct ApiDoc;

/// What the derive cannot add: the credentials and the problem types. Run on
/// the whole document, once the routes have added their schemas (a route's
/// `Problem` would replace an amended one).
pub fn finish(openapi: &mut utoipa::openapi::OpenApi) {
    Security.modify(openapi);
    ProblemTypes.modify(openapi);
}

/// The resume-match result's JSON Schema, which the pipeline's tests hold
/// real results to (`functions/inference/tests/resume_pipeline.rs`).
const RESUME_SCHEMA: &str = include_str!("../../../schemas/resume-result.schema.json");

/// The fields of a resume-match result that `ItemResult` takes from it.
const RESUME_FIELDS: [&str; 7] = ["score", "match", "candidate", "skills", "experience", "job_description", "document"];

/// The document as JSON, with `schemas/resume-result.schema.json` as the
/// `ResumeResult` component and `ItemResult`'s resume fields pointing into
/// it, so the result has one description, not a second one kept by hand.
/// Added to the JSON because utoipa's schema types cannot hold every
/// keyword of that schema (`const`, `prefixItems`, `$defs`).
pub fn to_json(spec: &utoipa::openapi::OpenApi) -> Value {
    let mut document = serde_json::to_value(spec).expect("the OpenAPI document serialises");
    let mut resume: Value = serde_json::from_str(RESUME_SCHEMA).expect("the resume schema is JSON");
    let fields = resume.as_object_mut().expect("the resume schema is an object");
    // Its own `$id` would make its `#/$defs/…` references resolve against
    // itself; they are pointed at the component instead.
    fields.remove("$schema");
    fields.remove("$id");
    point_refs_at_component(&mut resume);
    let schemas = &mut document["components"]["schemas"];
    for field in RESUME_FIELDS {
        let pointer = format!("#/components/schemas/ResumeResult/properties/{field}");
        schemas["ItemResult"]["properties"][field] = serde_json::json!({ "$ref": pointer });
    }
    schemas["ResumeResult"] = resume;
    document
}

fn point_refs_at_component(schema: &mut Value) {
    match schema {
        Value::Object(fields) => {
            for (key, value) in fields.iter_mut() {
                match value {
                    Value::String(target) if key == "$ref" => {
                        if let Some(name) = target.strip_prefix("#/$defs/") {
                            *target = format!("#/components/schemas/ResumeResult/$defs/{name}");
                        }
                    }
                    _ => point_refs_at_component(value),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(point_refs_at_component),
        _ => {}
    }
}

/// `GET /openapi.json`: the document, serialised once when the router is built.
pub async fn document(axum::extract::State(spec): axum::extract::State<axum::body::Bytes>) -> Response {
    let mut response = spec.into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// Bearer JWTs and API keys, named as the paths' `security` names them.
struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let bearer = HttpBuilder::new()
            .scheme(HttpAuthScheme::Bearer)
            .bearer_format("JWT")
            .description(Some("A JWT from your identity provider (RS256/ES256 via its JWKS), or `ferry token` locally"))
            .build();
        components.add_security_scheme("bearer", SecurityScheme::Http(bearer));
        let key = ApiKeyValue::with_description("x-api-key", "A key from `ferry keys create`, for machine clients");
        components.add_security_scheme("api_key", SecurityScheme::ApiKey(ApiKey::Header(key)));
    }
}

/// Every problem type with its status and title, from [`ProblemType::ALL`]:
/// as the `type` enum of the `Problem` schema and as `x-problem-types`.
struct ProblemTypes;

impl Modify for ProblemTypes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let types: Vec<Value> = ProblemType::ALL
            .iter()
            .map(|kind| {
                serde_json::json!({
                    "type": format!("urn:ferry:problem:{}", kind.slug()),
                    "status": kind.status().as_u16(),
                    "title": kind.title(),
                })
            })
            .collect();
        let extensions = openapi.extensions.get_or_insert_with(Default::default);
        extensions.merge(ExtensionsBuilder::new().add("x-problem-types", types).build());
        let Some(components) = openapi.components.as_mut() else { return };
        if let Some(utoipa::openapi::RefOr::T(utoipa::openapi::schema::Schema::Object(problem))) =
            components.schemas.get_mut("Problem")
            && let Some(utoipa::openapi::RefOr::T(utoipa::openapi::schema::Schema::Object(kind))) =
                problem.properties.get_mut("type")
        {
            let slugs = ProblemType::ALL.iter().map(|k| Value::from(format!("urn:ferry:problem:{}", k.slug())));
            kind.enum_values = Some(slugs.collect());
        }
    }
}

/// What any route that needs a credential may answer besides its own.
#[derive(IntoResponses)]
#[allow(dead_code)]
pub enum CallerProblems {
    #[response(
        status = 401,
        description = "No credential, or one that is malformed, forged or expired",
        content_type = "application/problem+json"
    )]
    Unauthorized(Problem),
    #[response(status = 403, description = "The credential lacks the scope", content_type = "application/problem+json")]
    Forbidden(Problem),
    #[response(
        status = 429,
        description = "Over the caller's rate limit (`Retry-After`)",
        content_type = "application/problem+json"
    )]
    RateLimited(Problem),
    #[response(
        status = 503,
        description = "The store or queue is unavailable, or the server is busy (`Retry-After`)",
        content_type = "application/problem+json"
    )]
    Unavailable(Problem),
}

/// What any route that reads a JSON body may answer about it.
#[derive(IntoResponses)]
#[allow(dead_code)]
pub enum BodyProblems {
    #[response(
        status = 400,
        description = "The body is not a JSON object of this shape",
        content_type = "application/problem+json"
    )]
    NotThisJson(Problem),
    #[response(status = 413, description = "The body is over the limit", content_type = "application/problem+json")]
    TooLarge(Problem),
    #[response(status = 415, description = "The body is not JSON", content_type = "application/problem+json")]
    NotJson(Problem),
    #[response(
        status = 422,
        description = "The request is well-formed but cannot be done (see `type`)",
        content_type = "application/problem+json"
    )]
    Invalid(Problem),
}

/// RFC 9457 problem details, as every error is answered.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct Problem {
    /// `urn:ferry:problem:<slug>`: what clients branch on.
    #[schema(rename = "type")]
    kind: String,
    title: String,
    status: u16,
    /// What went wrong with this request, and how to fix it.
    detail: String,
    /// The job the request created or read, when it exists (never create it again).
    #[schema(format = "uuid")]
    job_id: Option<String>,
    /// The request's `x-request-id`: quote it when reporting a problem.
    request_id: Option<String>,
}

#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
pub enum Status {
    Queued,
    Running,
    Succeeded,
    Failed,
    Canceled,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub enum Task {
    #[schema(rename = "sentiment")]
    Sentiment,
    #[schema(rename = "resume-match")]
    ResumeMatch,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct Progress {
    total: u32,
    done: u32,
    failed: u32,
}

/// The job's callback, once it has a `callback_url`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct Webhook {
    /// `pending`, `delivered` or `failed`.
    status: String,
    attempts: u32,
    last_error: Option<String>,
    #[schema(format = DateTime)]
    next_attempt_at: Option<String>,
}

/// A job as `GET /v1/jobs/{id}` shows it (`Job::summary`), with `results`
/// inline once it has succeeded with at most 1,000 items.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct JobView {
    #[schema(format = "uuid")]
    id: String,
    task: Task,
    status: Status,
    progress: Progress,
    #[schema(format = DateTime)]
    created_at: Option<String>,
    #[schema(format = DateTime)]
    updated_at: Option<String>,
    /// After this the job and its results are deleted.
    #[schema(format = DateTime)]
    expires_at: Option<String>,
    results_url: String,
    /// Why the job failed or was canceled.
    error: Option<String>,
    /// The `metadata` it was created with.
    #[schema(value_type = Option<Object>)]
    metadata: Option<Value>,
    #[schema(format = DateTime)]
    deadline: Option<String>,
    callback_url: Option<String>,
    webhook: Option<Webhook>,
    results: Option<Vec<ItemResult>>,
}

#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
pub enum Sentiment {
    Negative,
    Neutral,
    Positive,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct Scores {
    negative: f64,
    neutral: f64,
    positive: f64,
}

/// The sentiment of one text (`SentimentPrediction`).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct SentimentResult {
    sentiment: Sentiment,
    confidence: f64,
    scores: Scores,
    /// ISO 639-1; English unless the text is clearly another language; null
    /// for text with no words. Text that is clearly another language is
    /// scored by the multilingual model (`ferry-sentiment-usem3-v1`).
    language: Option<String>,
    /// Set when the text is in a language no sentiment model was trained on
    /// (`GET /v1/models` lists each model's languages).
    warning: Option<String>,
    /// The model that scored the text: its id and the first 16 hex digits of
    /// its files' SHA-256.
    model: Option<String>,
    /// `POST /v1/sentiment` only: the job that ran it.
    #[schema(format = "uuid")]
    job_id: Option<String>,
}

/// One item of a job's results, by its input index `i`: a sentiment result,
/// a resume analysis (`schemas/resume-result.schema.json`), or `error`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ItemResult {
    i: u32,
    /// Set when this item failed; the other fields are then absent.
    error: Option<String>,
    sentiment: Option<Sentiment>,
    confidence: Option<f64>,
    scores: Option<Scores>,
    language: Option<String>,
    warning: Option<String>,
    model: Option<String>,
    // A resume-match result's fields (`score`, `match`, `candidate`, …) are
    // added by `to_json`, from `schemas/resume-result.schema.json`.
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct JobList {
    jobs: Vec<JobView>,
    /// Pass as `cursor` for the next page; null at the end.
    next_cursor: Option<String>,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ResultsPage {
    #[schema(format = "uuid")]
    job_id: String,
    status: Status,
    progress: Progress,
    /// In input order.
    results: Vec<ItemResult>,
    /// Pass as `cursor` for the next page; null when no more results are stored yet.
    next_cursor: Option<String>,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct Health {
    status: String,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct Model {
    id: String,
    task: String,
    encoder: String,
    labels: Vec<String>,
    max_tokens: u32,
    /// ISO 639-1 codes of the languages it was trained on.
    languages: Vec<String>,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct Models {
    models: Vec<Model>,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct WebhookSecret {
    /// `whsec_…`: verify callbacks with any Standard Webhooks library.
    secret: String,
    scheme: String,
}

/// Where to PUT the document's bytes.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct UploadGrant {
    #[schema(format = "uuid")]
    document_id: String,
    upload_url: String,
    method: String,
    /// Send exactly these headers with the PUT.
    #[schema(value_type = Object)]
    headers: Value,
    max_bytes: u64,
    #[schema(format = DateTime)]
    expires_at: Option<String>,
    filename: Option<String>,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct Uploaded {
    #[schema(format = "uuid")]
    document_id: String,
    size: u64,
}

/// One input: a string, or `{"text": "…"}` as in a JSONL document.
#[derive(ToSchema)]
#[allow(dead_code)]
#[serde(untagged)]
pub enum TextInput {
    Text(String),
    Object { text: String },
}
