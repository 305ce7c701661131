//! A resume pipeline that finishes loading on a thread of its own, so that a
//! worker is ready for sentiment work as soon as the encoder is loaded.
//!
//! Building the skill gazetteer (an automaton over 31K keywords) and the
//! skill classifier takes ~180 ms, longer than a sentiment job's model time;
//! sentiment never needs them. The first resume job waits for the load if it
//! is still running; a load that failed fails each resume job with its reason
//! (a model error, retried like any other) and is logged once.

use crate::analyzer::{RESUME_MODEL_ID, ResumePipeline};
use ferry_core::{AnalysisError, ModelError, ResumeAnalyzer};
use std::sync::{Arc, LazyLock};
use std::time::Instant;

type Load = Box<dyn FnOnce() -> Result<ResumePipeline, String> + Send>;

/// [`ResumeAnalyzer`] over a [`ResumePipeline`] being loaded in the background.
pub struct BackgroundPipeline {
    pipeline: Arc<LazyLock<Result<ResumePipeline, String>, Load>>,
}

impl BackgroundPipeline {
    /// Starts `load` on a new thread and returns at once.
    pub fn spawn(load: impl FnOnce() -> Result<ResumePipeline, ModelError> + Send + 'static) -> Self {
        let load: Load = Box::new(move || {
            let started = Instant::now();
            let loaded = load().map_err(|e| e.0);
            match &loaded {
                Ok(_) => tracing::info!(ms = started.elapsed().as_millis() as u64, "resume models loaded"),
                Err(e) => tracing::error!(error = %e, "the resume models did not load"),
            }
            loaded
        });
        let pipeline = Arc::new(LazyLock::new(load));
        let warm = Arc::clone(&pipeline);
        // Should the thread not start, the first resume job loads them.
        let _ = std::thread::Builder::new().name("resume-models".into()).spawn(move || {
            LazyLock::force(&warm);
        });
        BackgroundPipeline { pipeline }
    }

    /// The pipeline, once loaded (waits for the load).
    pub fn get(&self) -> Result<&ResumePipeline, AnalysisError> {
        LazyLock::force(&self.pipeline)
            .as_ref()
            .map_err(|e| AnalysisError::Model(format!("the resume models did not load: {e}")))
    }
}

impl ResumeAnalyzer for BackgroundPipeline {
    fn analyze(&self, resume: &[u8], job_description: &[u8]) -> Result<serde_json::Value, AnalysisError> {
        self.get()?.analyze(resume, job_description)
    }

    fn provenance(&self) -> String {
        self.get().map_or_else(|_| RESUME_MODEL_ID.to_string(), |p| p.provenance())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_load_that_fails_fails_each_job_with_its_reason() {
        let pipeline = BackgroundPipeline::spawn(|| Err(ModelError("skills.txt is not UTF-8".into())));
        let err = pipeline.analyze(b"resume", b"job").unwrap_err();
        assert!(
            matches!(&err, AnalysisError::Model(m) if m.contains("did not load: skills.txt is not UTF-8")),
            "{err}"
        );
        assert!(pipeline.analyze(b"resume", b"job").is_err(), "the failure is kept, not retried per job");
        assert_eq!(pipeline.provenance(), RESUME_MODEL_ID);
    }
}
