//! Job handlers: thin. Validate, talk to the ports, shape the response.

use crate::AppState;
use crate::bounded::{MAX_INPUTS_PARSED, Metadata, Texts};
use crate::extract::{Json, Query, Reader, Writer};
use crate::problem::{Problem, ProblemType};
use crate::wait::preferred_wait;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ferry_core::callback::check_url;
use ferry_core::message::{chunk_texts, count_chunks, document_message, resume_message, upload_key};
use ferry_core::{
    Created, Idempotency, ItemOutcome, ItemResult, Job, JobDescription, JobId, JobStatus, Lane, Limits, Task,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::time::Duration;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Items per page of `GET /v1/jobs/{id}/results`, by default and at most.
const DEFAULT_PAGE_ITEMS: usize = 1000;
/// Chunks read per store call while paging or streaming results.
const CHUNKS_PER_READ: u32 = 16;
const MAX_METADATA_BYTES: usize = 4096;
const MAX_IDEMPOTENCY_KEY: usize = 255;

/// A job: texts, an uploaded JSONL document, or a resume and a job description.
#[derive(Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateJob {
    /// `sentiment` or `resume-match`.
    #[schema(example = "sentiment")]
    task: String,
    /// One text (`"text"` is accepted too, as on `/v1/sentiment`).
    #[serde(default, alias = "text")]
    input: Option<String>,
    /// Up to 10,000 texts, each a string or `{"text": "…"}`.
    #[serde(default)]
    #[schema(value_type = Option<Vec<crate::openapi::TextInput>>)]
    inputs: Option<Texts>,
    /// An uploaded document (`POST /v1/documents`): JSONL inputs for
    /// sentiment, the resume for resume-match.
    #[serde(default)]
    document_id: Option<String>,
    /// resume-match: the job description's text, or
    #[serde(default)]
    job_description: Option<String>,
    /// an uploaded document holding it.
    #[serde(default)]
    job_description_document_id: Option<String>,
    /// Any JSON object of at most 4 KiB, kept with the job.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    metadata: Option<Metadata>,
    /// https URL to POST the job to once it is final (Standard Webhooks signed).
    #[serde(default)]
    callback_url: Option<String>,
    /// RFC 3339; the job is canceled if not finished by then.
    #[serde(default)]
    deadline: Option<String>,
}

/// Where a job's inputs are.
enum Inputs {
    Texts(Vec<String>),
    /// A JSONL document's key; the worker splits it.
    Document(String),
    /// A resume's key and what it is matched against.
    Resume(String, JobDescription),
}

/// Everything about a new job besides its inputs.
#[derive(Default)]
struct Options {
    metadata: Option<Value>,
    callback_url: Option<String>,
    deadline: Option<OffsetDateTime>,
    idempotency: Option<Idempotency>,
    /// The client holds the request open for the answer (`Prefer: wait`, or
    /// `/v1/sentiment`): small work then takes the interactive lane.
    waits: bool,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SentimentRequest {
    /// The text (`"input"` is accepted too, as on `/v1/jobs`).
    #[serde(alias = "input")]
    #[schema(example = "I love this phone, the battery lasts forever")]
    text: String,
}

#[utoipa::path(
    get, path = "/v1/models", tag = "service",
    responses(
        (status = 200, description = "The models served", body = crate::openapi::Models),
        crate::openapi::CallerProblems,
    ),
    security(("bearer" = []), ("api_key" = []))
)]
pub async fn models(_caller: Reader, State(state): State<AppState>) -> Response {
    axum::Json(json!({ "models": *state.models })).into_response()
}

#[utoipa::path(
    post, path = "/v1/jobs", tag = "jobs",
    request_body = CreateJob,
    params(
        ("Prefer" = Option<String>, Header, description = "`wait=N`: hold the answer up to N seconds until the job is final"),
        ("Idempotency-Key" = Option<String>, Header, description = "1-255 characters: the same key and request within 24 h returns the original job"),
        ("Cancel-After" = Option<u64>, Header, description = "Seconds (at most 7 days): work not done by then is canceled"),
    ),
    responses(
        (status = 202, description = "Queued (`Location` names the job)", body = crate::openapi::JobView),
        (status = 200, description = "`Prefer: wait`: the job finished within the wait", body = crate::openapi::JobView),
        crate::openapi::BodyProblems,
        crate::openapi::CallerProblems,
    ),
    security(("bearer" = []), ("api_key" = []))
)]
pub async fn create(
    Writer(caller): Writer,
    State(state): State<AppState>,
    headers: HeaderMap,
    Json(mut req): Json<CreateJob>,
) -> Result<Response, Problem> {
    let task = req.task.parse::<Task>().map_err(|e| Problem::new(ProblemType::UnknownTask, e))?;
    let wait = preferred_wait(header_str(&headers, "prefer"), state.limits.max_wait);
    let idempotency =
        idempotency_key(&headers)?.map(|key| Idempotency { key, fingerprint: fingerprint(&req, &headers) });
    let options = Options {
        metadata: validate_metadata(req.metadata.take())?,
        callback_url: match req.callback_url.clone() {
            Some(url) => Some(check_callback(&state, &url).await?),
            None => None,
        },
        deadline: deadline(&headers, req.deadline.as_deref(), &state.limits)?,
        idempotency,
        waits: wait.is_some_and(|w| !w.is_zero()),
    };
    let inputs = match task {
        Task::ResumeMatch => resume_inputs(&state, &caller.subject, &req).await?,
        Task::Sentiment if req.job_description.is_some() || req.job_description_document_id.is_some() => {
            return Err(Problem::invalid_input("a job description is for task \"resume-match\""));
        }
        Task::Sentiment => match req.document_id.clone() {
            Some(id) if req.input.is_none() && req.inputs.is_none() => document(&state, &caller.subject, &id).await?,
            Some(_) => return Err(Problem::invalid_input("give \"document_id\" or \"input(s)\", not both")),
            // Moved, not copied: up to 6 MiB of texts.
            None => Inputs::Texts(inputs(req.input.take(), req.inputs.take(), &state.limits)?),
        },
    };
    let (job, replayed) = submit(&state, &caller.subject, task, inputs, options).await?;
    let id = job.id;
    let mut response = respond_after(&state, job, wait).await.map_err(|p| p.about(id))?;
    if replayed {
        response.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    Ok(response)
}

/// The owner's Standard Webhooks signing secret, to verify callbacks with.
#[utoipa::path(
    get, path = "/v1/webhooks/secret", tag = "service",
    responses(
        (status = 200, description = "The caller's Standard Webhooks secret", body = crate::openapi::WebhookSecret),
        (status = 422, description = "This deployment has no webhook secret", body = crate::openapi::Problem, content_type = "application/problem+json"),
        crate::openapi::CallerProblems,
    ),
    security(("bearer" = []), ("api_key" = []))
)]
pub async fn webhook_secret(Reader(caller): Reader, State(state): State<AppState>) -> Result<Response, Problem> {
    let config = state.webhooks.as_ref().ok_or_else(webhooks_disabled)?;
    Ok(axum::Json(json!({
        "secret": config.owner_secret(&caller.subject),
        "scheme": "Standard Webhooks v1 (HMAC-SHA256 of webhook-id.webhook-timestamp.body)",
    }))
    .into_response())
}

fn webhooks_disabled() -> Problem {
    Problem::new(
        ProblemType::WebhooksDisabled,
        "this deployment has no webhook secret (FERRY_WEBHOOK_SECRET), so it takes no callback_url",
    )
}

/// A callback URL that passes the SSRF guard now: https, and every address
/// its host resolves to allowed. Delivery checks again (DNS may change).
async fn check_callback(state: &AppState, raw: &str) -> Result<String, Problem> {
    if state.webhooks.is_none() {
        return Err(webhooks_disabled());
    }
    let bad = |detail: String| Problem::new(ProblemType::BadCallbackUrl, detail);
    let url = check_url(raw, state.callback_policy).map_err(|refusal| bad(refusal.to_string()))?;
    if let Some(url::Host::Domain(host)) = url.host() {
        let port = url.port_or_known_default().unwrap_or(443);
        let addrs: Vec<_> = tokio::time::timeout(Duration::from_secs(3), tokio::net::lookup_host((host, port)))
            .await
            .map_err(|_| bad(format!("resolving {host} timed out")))?
            .map_err(|e| bad(format!("{host} does not resolve: {e}")))?
            .collect();
        if addrs.is_empty() || addrs.iter().any(|a| !state.callback_policy.allows(a.ip())) {
            return Err(bad(format!("{host} resolves to a private, loopback or link-local address")));
        }
    }
    Ok(url.to_string())
}

/// `Cancel-After: <seconds>` or `"deadline": "<RFC 3339>"`, bounded.
fn deadline(headers: &HeaderMap, field: Option<&str>, limits: &Limits) -> Result<Option<OffsetDateTime>, Problem> {
    let now = ferry_core::job::now();
    let at = match (header_str(headers, "cancel-after"), field) {
        (None, None) => return Ok(None),
        (Some(_), Some(_)) => return Err(Problem::invalid_input("give Cancel-After or \"deadline\", not both")),
        (Some(secs), None) => {
            let secs: u64 = secs
                .trim()
                .parse()
                .ok()
                .filter(|s| *s > 0)
                .ok_or_else(|| Problem::invalid_input("Cancel-After must be a positive number of seconds"))?;
            // Refused past the limit like a `deadline` is, never capped in silence.
            if secs > limits.max_deadline.as_secs() {
                return Err(too_far(limits));
            }
            now + Duration::from_secs(secs)
        }
        (None, Some(at)) => OffsetDateTime::parse(at, &Rfc3339)
            .map_err(|e| Problem::invalid_input(format!("deadline must be an RFC 3339 timestamp: {e}")))?,
    };
    if at <= now {
        return Err(Problem::invalid_input("the deadline has already passed"));
    }
    if at > now + limits.max_deadline {
        return Err(too_far(limits));
    }
    Ok(Some(at))
}

fn too_far(limits: &Limits) -> Problem {
    Problem::invalid_input(format!("the deadline may be at most {} seconds away", limits.max_deadline.as_secs()))
}

/// The request's identity for idempotency: the body as parsed (so
/// whitespace and key order do not matter) plus `Cancel-After`.
fn fingerprint(req: &CreateJob, headers: &HeaderMap) -> String {
    let mut hash = Sha256::new();
    hash.update(serde_json::to_vec(req).expect("a parsed request serialises"));
    hash.update(b"\0cancel-after:");
    hash.update(header_str(headers, "cancel-after").unwrap_or("").as_bytes());
    hex::encode(hash.finalize())
}

/// A resume-match job's documents: the resume (`document_id`) and the job
/// description (`job_description` text or `job_description_document_id`).
async fn resume_inputs(state: &AppState, owner: &str, req: &CreateJob) -> Result<Inputs, Problem> {
    if req.input.is_some() || req.inputs.is_some() {
        return Err(Problem::invalid_input("resume-match takes \"document_id\", not \"input(s)\""));
    }
    let resume =
        req.document_id.as_deref().ok_or_else(|| Problem::invalid_input("missing \"document_id\" (the resume)"))?;
    let Inputs::Document(resume) = document(state, owner, resume).await? else {
        unreachable!("document() gives a document")
    };
    let description = match (&req.job_description, &req.job_description_document_id) {
        (Some(text), None) => {
            if text.trim().is_empty() {
                return Err(Problem::invalid_input("\"job_description\" is empty"));
            }
            if text.len() > state.limits.max_text_bytes {
                return Err(Problem::new(
                    ProblemType::TextTooLong,
                    format!("the job description is {} bytes; at most {}", text.len(), state.limits.max_text_bytes),
                ));
            }
            JobDescription::Text(text.clone())
        }
        (None, Some(id)) => match document(state, owner, id).await? {
            Inputs::Document(key) => JobDescription::Key(key),
            _ => unreachable!("document() gives a document"),
        },
        _ => {
            return Err(Problem::invalid_input(
                "give the job description as \"job_description\" (text) or \"job_description_document_id\"",
            ));
        }
    };
    Ok(Inputs::Resume(resume, description))
}

/// An uploaded document of the caller's, as a job's inputs.
async fn document(state: &AppState, owner: &str, id: &str) -> Result<Inputs, Problem> {
    let blobs = &state.blobs;
    let missing = || Problem::new(ProblemType::NoDocument, format!("no uploaded document {id}"));
    let id: JobId = id.parse().map_err(|_| missing())?;
    let key = upload_key(owner, &id.to_string());
    match blobs.size(&key).await? {
        Some(size) if size <= state.limits.max_document_bytes => Ok(Inputs::Document(key)),
        Some(_) => Err(Problem::new(ProblemType::PayloadTooLarge, "the document is over the limit")),
        None => Err(missing()),
    }
}

#[utoipa::path(
    post, path = "/v1/sentiment", tag = "sentiment",
    request_body = SentimentRequest,
    params(("Prefer" = Option<String>, Header, description = "`wait=N`: hold the answer up to N seconds until the job is final")),
    responses(
        (status = 200, description = "The sentiment", body = crate::openapi::SentimentResult),
        (status = 202, description = "Not finished within the wait: the job to read later", body = crate::openapi::JobView),
        crate::openapi::BodyProblems,
        (status = 502, description = "The model failed on this text", body = crate::openapi::Problem, content_type = "application/problem+json"),
        crate::openapi::CallerProblems,
    ),
    security(("bearer" = []), ("api_key" = []))
)]
pub async fn sentiment(
    Writer(caller): Writer,
    State(state): State<AppState>,
    headers: HeaderMap,
    Json(req): Json<SentimentRequest>,
) -> Result<Response, Problem> {
    let texts = inputs(Some(req.text), None, &state.limits)?;
    let options = Options { waits: true, ..Options::default() };
    let (job, _) = submit(&state, &caller.subject, Task::Sentiment, Inputs::Texts(texts), options).await?;
    let wait =
        preferred_wait(header_str(&headers, "prefer"), state.limits.max_wait).unwrap_or(state.limits.sentiment_wait);
    let id = job.id;
    let job = state.jobs().settled(job, Some(wait)).await.map_err(|e| Problem::from(e).about(id))?;
    match job.status {
        JobStatus::Succeeded => {
            let mut first = all_results(&state, &job).await.map_err(|p| p.about(id))?;
            match first.pop().map(|r| r.outcome) {
                Some(ItemOutcome::Ok(Value::Object(mut prediction))) => {
                    prediction.insert("job_id".into(), json!(job.id));
                    Ok(axum::Json(Value::Object(prediction)).into_response())
                }
                Some(ItemOutcome::Failed { error }) => Err(Problem::invalid_input(error)),
                _ => Err(inference_failed(&job, "the job finished without a result")),
            }
        }
        JobStatus::Failed | JobStatus::Canceled => {
            Err(inference_failed(&job, job.error.as_deref().unwrap_or("the job did not finish")))
        }
        JobStatus::Queued | JobStatus::Running => Ok(accepted(&job, view(&job, None))),
    }
}

#[utoipa::path(
    get, path = "/v1/jobs/{id}", tag = "jobs",
    params(("id" = String, Path, description = "The job's id (a UUID)"), ("Prefer" = Option<String>, Header, description = "`wait=N`: hold the answer up to N seconds until the job is final")),
    responses(
        (status = 200, description = "The job", body = crate::openapi::JobView),
        (status = 404, description = "No such job for this caller", body = crate::openapi::Problem, content_type = "application/problem+json"),
        crate::openapi::CallerProblems,
    ),
    security(("bearer" = []), ("api_key" = []))
)]
pub async fn get(
    Reader(caller): Reader,
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let job = find(&state, &caller.subject, &id).await?;
    let wait = preferred_wait(header_str(&headers, "prefer"), state.limits.max_wait);
    let job = state.jobs().settled(job, wait).await?;
    let results = inline_results(&state, &job).await?;
    Ok(axum::Json(view(&job, results)).into_response())
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ResultsQuery {
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
    /// 1 to 1,000 (default 1,000).
    limit: Option<usize>,
    /// `json` (default) or `jsonl`.
    format: Option<String>,
}

/// Where a results page starts: a chunk and how many of its items to skip.
#[derive(Clone, Copy)]
struct Position {
    chunk: u32,
    skip: usize,
}

impl Position {
    fn parse(cursor: Option<&str>) -> Result<Position, Problem> {
        let bad = || Problem::invalid_input("cursor must come from a previous next_cursor");
        match cursor {
            None | Some("") => Ok(Position { chunk: 0, skip: 0 }),
            Some(c) => {
                let (chunk, skip) = c.split_once('.').unwrap_or((c, "0"));
                Ok(Position { chunk: chunk.parse().map_err(|_| bad())?, skip: skip.parse().map_err(|_| bad())? })
            }
        }
    }
}

#[utoipa::path(
    get, path = "/v1/jobs/{id}/results", tag = "jobs",
    params(("id" = String, Path, description = "The job's id (a UUID)"), ResultsQuery),
    responses(
        (status = 200, description = "A page of results in input order; with `format=jsonl`, every result as JSON lines (`application/x-ndjson`)", body = crate::openapi::ResultsPage),
        (status = 400, description = "A query parameter of the wrong type", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such job for this caller", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 422, description = "A limit, cursor or format out of range", body = crate::openapi::Problem, content_type = "application/problem+json"),
        crate::openapi::CallerProblems,
    ),
    security(("bearer" = []), ("api_key" = []))
)]
pub async fn results(
    Reader(caller): Reader,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<ResultsQuery>,
) -> Result<Response, Problem> {
    let job = find(&state, &caller.subject, &id).await?;
    let start = Position::parse(q.cursor.as_deref())?;
    match q.format.as_deref() {
        None | Some("json") => {}
        Some("jsonl") => return Ok(stream_jsonl(state, job.id, start)),
        Some(other) => return Err(Problem::invalid_input(format!("format must be json or jsonl, not {other}"))),
    }
    let limit = q.limit.unwrap_or(DEFAULT_PAGE_ITEMS);
    if !(1..=DEFAULT_PAGE_ITEMS).contains(&limit) {
        return Err(Problem::invalid_input(format!("limit must be between 1 and {DEFAULT_PAGE_ITEMS}")));
    }
    let (items, next) = page(&state, job.id, start, limit).await?;
    Ok(axum::Json(json!({
        "job_id": job.id,
        "status": job.status,
        "progress": job.progress,
        "results": items,
        "next_cursor": next.map(|p| format!("{}.{}", p.chunk, p.skip)),
    }))
    .into_response())
}

/// Up to `limit` results from `start`, in input order, and where the next
/// page starts (`None`: no more stored results yet).
async fn page(
    state: &AppState,
    id: JobId,
    start: Position,
    limit: usize,
) -> Result<(Vec<ItemResult>, Option<Position>), Problem> {
    let mut items = Vec::with_capacity(limit.min(DEFAULT_PAGE_ITEMS));
    let mut at = start;
    loop {
        let chunks = state.store.get_results(id, at.chunk, CHUNKS_PER_READ).await?;
        let read_all = chunks.len() < CHUNKS_PER_READ as usize;
        for chunk in chunks {
            let mut chunk_items = chunk.items;
            chunk_items.sort_by_key(|r| r.i);
            let skip = if chunk.chunk == at.chunk { at.skip } else { 0 };
            let available = chunk_items.len().saturating_sub(skip);
            let take = available.min(limit - items.len());
            items.extend(chunk_items.into_iter().skip(skip).take(take));
            at = if take < available {
                Position { chunk: chunk.chunk, skip: skip + take }
            } else {
                Position { chunk: chunk.chunk + 1, skip: 0 }
            };
            if items.len() == limit {
                let more = !state.store.get_results(id, at.chunk, 1).await?.is_empty() || at.skip > 0;
                return Ok((items, more.then_some(at)));
            }
        }
        if read_all {
            return Ok((items, None));
        }
    }
}

/// Every stored result as JSON lines, read from the store a page at a time
/// while the response streams.
fn stream_jsonl(state: AppState, id: JobId, start: Position) -> Response {
    let pages = futures_util::stream::unfold(Some(start), move |at| {
        let state = state.clone();
        async move {
            let at = at?;
            match page(&state, id, at, DEFAULT_PAGE_ITEMS).await {
                Ok((items, next)) => {
                    let mut lines = String::new();
                    for item in &items {
                        lines.push_str(&serde_json::to_string(item).expect("results serialise"));
                        lines.push('\n');
                    }
                    Some((Ok::<_, std::io::Error>(lines), next))
                }
                Err(_) => Some((Err(std::io::Error::other("the job store failed mid-stream")), None)),
            }
        }
    });
    let mut response = axum::body::Body::from_stream(pages).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/x-ndjson"));
    response
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only jobs in this status: queued, running, succeeded, failed or canceled.
    status: Option<String>,
    /// 1 to 100 (default 20).
    limit: Option<u32>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

#[utoipa::path(
    get, path = "/v1/jobs", tag = "jobs",
    params(ListQuery),
    responses(
        (status = 200, description = "The caller's jobs, newest first", body = crate::openapi::JobList),
        (status = 400, description = "A query parameter of the wrong type", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 422, description = "A status, limit or cursor out of range", body = crate::openapi::Problem, content_type = "application/problem+json"),
        crate::openapi::CallerProblems,
    ),
    security(("bearer" = []), ("api_key" = []))
)]
pub async fn list(
    Reader(caller): Reader,
    State(state): State<AppState>,
    Query(q): Query<ListQuery>,
) -> Result<Response, Problem> {
    let status = q.status.as_deref().map(str::parse::<JobStatus>).transpose().map_err(Problem::invalid_input)?;
    let limit = q.limit.unwrap_or(20);
    if !(1..=100).contains(&limit) {
        return Err(Problem::invalid_input("limit must be between 1 and 100"));
    }
    let before = q
        .cursor
        .as_deref()
        .map(str::parse::<JobId>)
        .transpose()
        .map_err(|_| Problem::invalid_input("cursor must come from a previous next_cursor"))?;
    let jobs = state.store.list_jobs(&caller.subject, status, before, limit).await?;
    let next = (jobs.len() == limit as usize).then(|| jobs.last().map(|j| j.id.to_string())).flatten();
    let jobs: Vec<Value> = jobs.iter().map(|j| view(j, None)).collect();
    Ok(axum::Json(json!({ "jobs": jobs, "next_cursor": next })).into_response())
}

#[utoipa::path(
    delete, path = "/v1/jobs/{id}", tag = "jobs",
    params(("id" = String, Path, description = "The job's id (a UUID)")),
    responses(
        (status = 200, description = "Canceled (or already canceled)", body = crate::openapi::JobView),
        (status = 404, description = "No such job for this caller", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The job already succeeded or failed", body = crate::openapi::Problem, content_type = "application/problem+json"),
        crate::openapi::CallerProblems,
    ),
    security(("bearer" = []), ("api_key" = []))
)]
pub async fn cancel(
    Writer(caller): Writer,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    let id = parse_id(&id)?;
    let job = state.jobs().cancel(&caller.subject, id, "canceled by the client").await?.ok_or_else(|| no_job(id))?;
    if job.status != JobStatus::Canceled {
        let detail = format!("the job is already {}", job.status.as_str());
        return Err(Problem::new(ProblemType::JobFinal, detail).about(job.id));
    }
    Ok(axum::Json(view(&job, None)).into_response())
}

/// Creates the job with the messages that start it, through the outbox: a
/// crash or a queue outage after the job exists leaves it to the recovery
/// sweep, never stranded, so an accepted job is answered as accepted.
async fn submit(
    state: &AppState,
    owner: &str,
    task: Task,
    inputs: Inputs,
    options: Options,
) -> Result<(Job, bool), Problem> {
    let (total, chunks) = match &inputs {
        Inputs::Texts(texts) => (texts.len() as u32, count_chunks(texts)),
        Inputs::Document(_) => (0, 0),
        Inputs::Resume(..) => (1, 1),
    };
    let mut job = Job::new(owner, task, total, chunks);
    job.metadata = options.metadata;
    job.callback_url = options.callback_url;
    job.deadline = options.deadline;
    if let Inputs::Document(key) | Inputs::Resume(key, _) = &inputs {
        job.document = Some(key.clone());
    }
    let messages = match &inputs {
        Inputs::Texts(texts) => chunk_texts(&job, texts),
        Inputs::Document(key) => vec![document_message(&job, key)],
        Inputs::Resume(key, description) => vec![resume_message(&job, key, description.clone())],
    };
    let queued = messages.len();
    let lane = Lane::for_job(options.waits, &messages);
    let created = state.jobs().create(job, messages, options.idempotency.as_ref(), lane).await?;
    match created {
        Created::New(job) => {
            tracing::info!(job_id = %job.id, items = total, chunks = queued, "job queued");
            Ok((job, false))
        }
        Created::Existing(existing) => Ok((existing, true)),
        Created::Mismatch(existing) => {
            let detail = "this Idempotency-Key was used for a different request in the last 24 hours";
            Err(Problem::new(ProblemType::IdempotencyKeyReused, detail).about(existing.id))
        }
    }
}

async fn respond_after(state: &AppState, job: Job, wait: Option<Duration>) -> Result<Response, Problem> {
    let job = state.jobs().settled(job, wait).await?;
    if job.status.is_terminal() {
        let results = inline_results(state, &job).await?;
        let mut response = (StatusCode::OK, axum::Json(view(&job, results))).into_response();
        response.headers_mut().insert(header::LOCATION, location(&job));
        return Ok(response);
    }
    Ok(accepted(&job, view(&job, None)))
}

fn accepted(job: &Job, body: Value) -> Response {
    let mut response = (StatusCode::ACCEPTED, axum::Json(body)).into_response();
    response.headers_mut().insert(header::LOCATION, location(job));
    response
}

fn location(job: &Job) -> HeaderValue {
    HeaderValue::from_str(&format!("/v1/jobs/{}", job.id)).expect("job ids are valid header values")
}

fn inputs(input: Option<String>, inputs: Option<Texts>, limits: &Limits) -> Result<Vec<String>, Problem> {
    let texts = match (input, inputs) {
        (Some(one), None) => Texts { texts: vec![one], total: 1 },
        (None, Some(many)) => many,
        (Some(_), Some(_)) => return Err(Problem::invalid_input("give either \"input\" or \"inputs\", not both")),
        (None, None) => return Err(Problem::invalid_input("missing \"input\" or \"inputs\"")),
    };
    if texts.total == 0 {
        return Err(Problem::invalid_input("\"inputs\" is empty"));
    }
    let max = limits.max_inputs.min(MAX_INPUTS_PARSED);
    if texts.total > max {
        return Err(Problem::new(
            ProblemType::TooManyInputs,
            format!("{} inputs given; at most {max} per job", texts.total),
        ));
    }
    let texts = texts.texts;
    for (i, text) in texts.iter().enumerate() {
        if text.trim().is_empty() {
            return Err(Problem::new(ProblemType::EmptyText, format!("input {i} is empty")));
        }
        if text.len() > limits.max_text_bytes {
            return Err(Problem::new(
                ProblemType::TextTooLong,
                format!("input {i} is {} bytes; at most {} bytes per text", text.len(), limits.max_text_bytes),
            ));
        }
    }
    Ok(texts)
}

fn validate_metadata(metadata: Option<Metadata>) -> Result<Option<Value>, Problem> {
    let too_large = || Problem::invalid_input(format!("metadata is limited to {MAX_METADATA_BYTES} bytes"));
    match metadata {
        None | Some(Metadata::Value(Value::Null)) => Ok(None),
        Some(Metadata::TooLarge(_)) => Err(too_large()),
        Some(Metadata::Value(object @ Value::Object(_))) if object.to_string().len() <= MAX_METADATA_BYTES => {
            Ok(Some(object))
        }
        Some(Metadata::Value(Value::Object(_))) => Err(too_large()),
        Some(Metadata::Value(_)) => Err(Problem::invalid_input("metadata must be a JSON object")),
    }
}

fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, Problem> {
    match headers.get("idempotency-key") {
        None => Ok(None),
        Some(v) => {
            let key = v.to_str().map_err(|_| Problem::invalid_input("Idempotency-Key must be ASCII"))?.trim();
            if key.is_empty() || key.len() > MAX_IDEMPOTENCY_KEY {
                return Err(Problem::invalid_input(format!(
                    "Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY} characters"
                )));
            }
            Ok(Some(key.to_owned()))
        }
    }
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn parse_id(id: &str) -> Result<JobId, Problem> {
    // A malformed id cannot name anyone's job: same answer as a missing one.
    id.parse().map_err(|_| Problem::not_found(format!("no job {id}")))
}

fn no_job(id: JobId) -> Problem {
    Problem::not_found(format!("no job {id}"))
}

/// The caller's job. One past its deadline is canceled here, so it reads as
/// canceled even when no worker has looked at it since.
async fn find(state: &AppState, owner: &str, id: &str) -> Result<Job, Problem> {
    let id = parse_id(id)?;
    let job = state.store.get_job(owner, id).await?.ok_or_else(|| no_job(id))?;
    state.jobs().cancel_if_overdue(job).await?.ok_or_else(|| no_job(id))
}

fn inference_failed(job: &Job, reason: &str) -> Problem {
    Problem::new(ProblemType::InferenceFailed, reason).about(job.id)
}

/// Results inlined in a job view: only for finished jobs small enough.
async fn inline_results(state: &AppState, job: &Job) -> Result<Option<Vec<ItemResult>>, Problem> {
    if job.status != JobStatus::Succeeded || job.progress.total > state.limits.inline_results {
        return Ok(None);
    }
    all_results(state, job).await.map(Some)
}

async fn all_results(state: &AppState, job: &Job) -> Result<Vec<ItemResult>, Problem> {
    let chunks = state.store.get_results(job.id, 0, u32::MAX).await?;
    let mut items: Vec<ItemResult> = chunks.into_iter().flat_map(|c| c.items).collect();
    items.sort_by_key(|r| r.i);
    Ok(items)
}

fn view(job: &Job, results: Option<Vec<ItemResult>>) -> Value {
    let mut v = job.summary();
    if let Some(results) = results {
        v["results"] = json!(results);
    }
    v
}
