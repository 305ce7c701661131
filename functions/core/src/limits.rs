//! Request limits. Each is enforced by the API with a clear 4xx and documented
//! in the README.

use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Limits {
    /// Request bodies above this are refused with 413. 6 MB is also what
    /// Lambda accepts for a synchronous invocation.
    pub max_body_bytes: usize,
    /// One text, in UTF-8 bytes. The model reads at most 256 tokens anyway;
    /// this bounds the queue message and storage, not the model.
    pub max_text_bytes: usize,
    /// Texts in one job.
    pub max_inputs: usize,
    /// Longest `Prefer: wait=N` honoured; larger values are capped.
    pub max_wait: Duration,
    /// How long `POST /v1/sentiment` waits before answering 202.
    pub sentiment_wait: Duration,
    /// Results inlined in `GET /v1/jobs/{id}`; larger jobs page through
    /// `GET /v1/jobs/{id}/results`.
    pub inline_results: u32,
    /// All request header names and values together, in bytes (431 above).
    /// API Gateway allows 10 KB; this is the same order for `ferry serve`.
    pub max_header_bytes: usize,
    /// How long jobs and their results are kept (`FERRY_RETENTION_DAYS`);
    /// after that they read as 404.
    pub retention: Duration,
    /// A document sent in the body of `PUT /v1/documents/{id}`.
    pub max_direct_upload_bytes: u64,
    /// A document uploaded through a presigned URL.
    pub max_document_bytes: u64,
    /// Longest `Cancel-After` / `deadline` from now.
    pub max_deadline: Duration,
    /// Request bodies (as declared, or the body limit when undeclared) being
    /// read and handled at once, in bytes, across all requests: past it a
    /// request waits up to [`Limits::busy_wait`] for room, then gets 503.
    /// A parsed body costs about twice its size, so this bounds what
    /// concurrent worst-case bodies can hold at about three times it.
    pub bodies_in_flight: usize,
    /// How long a request waits for room among [`Limits::bodies_in_flight`].
    pub busy_wait: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: 6 * 1024 * 1024,
            max_text_bytes: 20_000,
            max_inputs: 10_000,
            max_wait: Duration::from_secs(30),
            sentiment_wait: Duration::from_secs(20),
            inline_results: 1_000,
            max_header_bytes: 16 * 1024,
            retention: crate::job::DEFAULT_RETENTION,
            max_direct_upload_bytes: 5 * 1024 * 1024,
            max_document_bytes: 64 * 1024 * 1024,
            max_deadline: Duration::from_secs(7 * 24 * 3600),
            bodies_in_flight: 64 * 1024 * 1024,
            busy_wait: Duration::from_secs(10),
        }
    }
}
