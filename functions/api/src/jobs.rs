//! Job handlers: thin. Validate, talk to the ports, shape the response.

use crate::AppState;
use crate::extract::{Json, Reader, Writer};
use crate::problem::Problem;
use crate::wait::{preferred_wait, until_final};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ferry_core::message::{chunk_texts, count_chunks};
use ferry_core::{Created, ItemOutcome, ItemResult, Job, JobId, JobStatus, Limits, Task};
use serde::Deserialize;
use serde_json::{Value, json};
use std::time::Duration;

/// Results per page of `GET /v1/jobs/{id}/results`, in chunks (64 items each).
const RESULT_PAGE_CHUNKS: u32 = 16;
const MAX_METADATA_BYTES: usize = 4096;
const MAX_IDEMPOTENCY_KEY: usize = 255;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateJob {
    task: String,
    #[serde(default)]
    input: Option<String>,
    #[serde(default)]
    inputs: Option<Vec<String>>,
    #[serde(default)]
    metadata: Option<Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SentimentRequest {
    text: String,
}

pub async fn models(_caller: Reader, State(state): State<AppState>) -> Response {
    axum::Json(json!({ "models": *state.models })).into_response()
}

pub async fn create(
    Writer(caller): Writer,
    State(state): State<AppState>,
    headers: HeaderMap,
    Json(req): Json<CreateJob>,
) -> Result<Response, Problem> {
    let task = req
        .task
        .parse::<Task>()
        .map_err(|e| Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "unknown-task", "Unknown task", e))?;
    let texts = inputs(req.input, req.inputs, &state.limits)?;
    let metadata = validate_metadata(req.metadata)?;
    let key = idempotency_key(&headers)?;
    let (job, replayed) = submit(&state, &caller.subject, task, texts, metadata, key.as_deref()).await?;
    let wait = preferred_wait(header_str(&headers, "prefer"), state.limits.max_wait);
    let mut response = respond_after(&state, job, wait).await?;
    if replayed {
        response.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    Ok(response)
}

pub async fn sentiment(
    Writer(caller): Writer,
    State(state): State<AppState>,
    headers: HeaderMap,
    Json(req): Json<SentimentRequest>,
) -> Result<Response, Problem> {
    let texts = inputs(Some(req.text), None, &state.limits)?;
    let (job, _) = submit(&state, &caller.subject, Task::Sentiment, texts, None, None).await?;
    let wait =
        preferred_wait(header_str(&headers, "prefer"), state.limits.max_wait).unwrap_or(state.limits.sentiment_wait);
    let job = until_final(state.store.as_ref(), &job.owner, job.id, wait).await?.unwrap_or(job);
    match job.status {
        JobStatus::Succeeded => {
            let mut first = all_results(&state, &job).await?;
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

pub async fn get(
    Reader(caller): Reader,
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let job = find(&state, &caller.subject, &id).await?;
    let wait = preferred_wait(header_str(&headers, "prefer"), state.limits.max_wait);
    let job = match wait {
        Some(wait) if !job.status.is_terminal() => {
            until_final(state.store.as_ref(), &caller.subject, job.id, wait).await?.unwrap_or(job)
        }
        _ => job,
    };
    let results = inline_results(&state, &job).await?;
    Ok(axum::Json(view(&job, results)).into_response())
}

#[derive(Deserialize)]
pub struct ResultsQuery {
    cursor: Option<String>,
}

pub async fn results(
    Reader(caller): Reader,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<ResultsQuery>,
) -> Result<Response, Problem> {
    let job = find(&state, &caller.subject, &id).await?;
    let from: u32 = match q.cursor.as_deref() {
        None | Some("") => 0,
        Some(c) => c.parse().map_err(|_| Problem::invalid_input("cursor must come from a previous next_cursor"))?,
    };
    let chunks = state.store.get_results(job.id, from, RESULT_PAGE_CHUNKS + 1).await?;
    let more = chunks.len() > RESULT_PAGE_CHUNKS as usize;
    let next = chunks.get(RESULT_PAGE_CHUNKS as usize).map(|c| c.chunk.to_string());
    let items: Vec<ItemResult> = chunks.into_iter().take(RESULT_PAGE_CHUNKS as usize).flat_map(|c| c.items).collect();
    Ok(axum::Json(json!({
        "job_id": job.id,
        "status": job.status,
        "results": items,
        "next_cursor": if more { next } else { None },
    }))
    .into_response())
}

#[derive(Deserialize)]
pub struct ListQuery {
    status: Option<String>,
    limit: Option<u32>,
    cursor: Option<String>,
}

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

pub async fn cancel(
    Writer(caller): Writer,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    let id = parse_id(&id)?;
    let job = state.store.cancel_job(&caller.subject, id).await?.ok_or_else(|| no_job(id))?;
    if job.status != JobStatus::Canceled {
        let mut problem = Problem::new(
            StatusCode::CONFLICT,
            "job-final",
            "Job already finished",
            format!("the job is already {}", job.status.as_str()),
        );
        problem.job_id = Some(job.id.to_string());
        return Err(problem);
    }
    Ok(axum::Json(view(&job, None)).into_response())
}

/// Creates the job and queues its messages. A queue failure fails the job, so
/// nothing is left queued that no worker will ever see.
async fn submit(
    state: &AppState,
    owner: &str,
    task: Task,
    texts: Vec<String>,
    metadata: Option<Value>,
    key: Option<&str>,
) -> Result<(Job, bool), Problem> {
    let mut job = Job::new(owner, task, texts.len() as u32, count_chunks(&texts));
    job.metadata = metadata;
    let job = match state.store.create_job(&job, key).await? {
        Created::New(job) => job,
        Created::Existing(existing) => return Ok((existing, true)),
    };
    let messages = chunk_texts(&job, &texts);
    if let Err(e) = state.queue.send(&messages).await {
        let _ = state.store.fail_job(job.id, "could not queue the job").await;
        return Err(e.into());
    }
    tracing::info!(job_id = %job.id, items = texts.len(), chunks = messages.len(), "job queued");
    Ok((job, false))
}

async fn respond_after(state: &AppState, job: Job, wait: Option<Duration>) -> Result<Response, Problem> {
    let job = match wait {
        Some(wait) if !job.status.is_terminal() => {
            until_final(state.store.as_ref(), &job.owner, job.id, wait).await?.unwrap_or(job)
        }
        _ => job,
    };
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

fn inputs(input: Option<String>, inputs: Option<Vec<String>>, limits: &Limits) -> Result<Vec<String>, Problem> {
    let texts = match (input, inputs) {
        (Some(one), None) => vec![one],
        (None, Some(many)) => many,
        (Some(_), Some(_)) => return Err(Problem::invalid_input("give either \"input\" or \"inputs\", not both")),
        (None, None) => return Err(Problem::invalid_input("missing \"input\" or \"inputs\"")),
    };
    if texts.is_empty() {
        return Err(Problem::invalid_input("\"inputs\" is empty"));
    }
    if texts.len() > limits.max_inputs {
        return Err(Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "too-many-inputs",
            "Too many inputs",
            format!("{} inputs given; at most {} per job", texts.len(), limits.max_inputs),
        ));
    }
    for (i, text) in texts.iter().enumerate() {
        if text.trim().is_empty() {
            return Err(Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "empty-text",
                "Empty text",
                format!("input {i} is empty"),
            ));
        }
        if text.len() > limits.max_text_bytes {
            return Err(Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "text-too-long",
                "Text too long",
                format!("input {i} is {} bytes; at most {} bytes per text", text.len(), limits.max_text_bytes),
            ));
        }
    }
    Ok(texts)
}

fn validate_metadata(metadata: Option<Value>) -> Result<Option<Value>, Problem> {
    match &metadata {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(_)) if metadata.as_ref().map(|m| m.to_string().len()).unwrap_or(0) <= MAX_METADATA_BYTES => {
            Ok(metadata)
        }
        Some(Value::Object(_)) => {
            Err(Problem::invalid_input(format!("metadata is limited to {MAX_METADATA_BYTES} bytes")))
        }
        Some(_) => Err(Problem::invalid_input("metadata must be a JSON object")),
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

async fn find(state: &AppState, owner: &str, id: &str) -> Result<Job, Problem> {
    let id = parse_id(id)?;
    state.store.get_job(owner, id).await?.ok_or_else(|| no_job(id))
}

fn inference_failed(job: &Job, reason: &str) -> Problem {
    let mut problem = Problem::new(StatusCode::BAD_GATEWAY, "inference-failed", "Inference failed", reason);
    problem.job_id = Some(job.id.to_string());
    problem
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
    let mut v = json!({
        "id": job.id,
        "task": job.task,
        "status": job.status,
        "progress": job.progress,
        "created_at": job.created_at.format(&time::format_description::well_known::Rfc3339).ok(),
        "updated_at": job.updated_at.format(&time::format_description::well_known::Rfc3339).ok(),
        "results_url": format!("/v1/jobs/{}/results", job.id),
    });
    if let Some(error) = &job.error {
        v["error"] = json!(error);
    }
    if let Some(metadata) = &job.metadata {
        v["metadata"] = metadata.clone();
    }
    if let Some(results) = results {
        v["results"] = json!(results);
    }
    v
}
