//! The port the worker runs resume-match jobs through. The implementation
//! (document extraction, the skill model, the rules, the score) lives with
//! the worker; the API never links it.

/// The resume-match pipeline's id, in `GET /v1/models` and every result's
/// `model` (with a hash of its model files).
pub const RESUME_MODEL_ID: &str = "ferry-resume-match-v1";

/// Why an analysis did not produce a result.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AnalysisError {
    /// The input can never be analysed (an encrypted PDF, a zip bomb, an
    /// empty file): the job fails with this reason.
    #[error("{0}")]
    Unreadable(String),
    /// The model failed; worth retrying.
    #[error("model failed: {0}")]
    Model(String),
}

/// CPU-bound and synchronous: call it on a blocking thread.
pub trait ResumeAnalyzer: Send + Sync + 'static {
    /// The structured result for a resume (raw document bytes) against a job
    /// description (raw document bytes, or text as UTF-8 bytes).
    fn analyze(&self, resume: &[u8], job_description: &[u8]) -> Result<serde_json::Value, AnalysisError>;

    /// Model id and model-file hash, recorded with the result.
    fn provenance(&self) -> String;
}
