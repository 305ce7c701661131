//! A resume-match job: both documents from the blob store, the analysis on a
//! blocking thread within [`ANALYSIS_BUDGET`], one result.

use super::{ANALYSIS_BUDGET, MAX_RESULT_BYTES, MAX_RESUME_BYTES, Outcome, Worker};
use ferry_core::message::upload_prefix;
use ferry_core::{AnalysisError, BlobError, ItemResult, Job, JobDescription};
use std::sync::Arc;

/// Why a document's bytes are not there.
enum Unread {
    /// It never will be: the job fails with this reason.
    Never(String),
    /// Perhaps on the next delivery.
    NotNow(String),
}

impl Worker {
    pub(super) async fn match_resume(&self, job: &Job, resume_key: &str, description: &JobDescription) -> Outcome {
        let Some(analyzer) = &self.resumes else {
            return self.poison_job(job.id, "resume analysis is not enabled on this worker").await;
        };
        let owned = upload_prefix(&job.owner);
        let foreign_description = matches!(description, JobDescription::Key(key) if !key.starts_with(&owned));
        if !resume_key.starts_with(&owned) || foreign_description {
            return self.poison_job(job.id, "the documents are not the job owner's uploads").await;
        }
        let documents = match self.document(resume_key, "resume").await {
            Ok(resume) => match description {
                JobDescription::Text(text) => Ok((resume, text.clone().into_bytes())),
                JobDescription::Key(key) => self.document(key, "job description").await.map(|jd| (resume, jd)),
            },
            Err(unread) => Err(unread),
        };
        let (resume, description) = match documents {
            Ok(documents) => documents,
            Err(Unread::Never(reason)) => return self.poison_job(job.id, &reason).await,
            Err(Unread::NotNow(reason)) => return Outcome::Retry(reason),
        };
        let analyzer = Arc::clone(analyzer);
        let span = tracing::Span::current();
        let run = tokio::task::spawn_blocking(move || {
            let _entered = span.enter();
            analyzer.analyze(&resume, &description).map(|result| (result, analyzer.provenance()))
        });
        let analysis = match tokio::time::timeout(ANALYSIS_BUDGET, run).await {
            Err(_) => Err(AnalysisError::Unreadable(format!(
                "the analysis took longer than {} s; the document may be hostile",
                ANALYSIS_BUDGET.as_secs()
            ))),
            Ok(Err(e)) => Err(AnalysisError::Model(format!("analysis task failed: {e}"))),
            Ok(Ok(result)) => result,
        };
        match analysis {
            Ok((result, _)) if result.to_string().len() > MAX_RESULT_BYTES => {
                let reason = format!("the analysis is over the {MAX_RESULT_BYTES} bytes a result may be");
                self.poison_job(job.id, &reason).await
            }
            Ok((mut result, provenance)) => {
                result["model"] = serde_json::Value::String(provenance);
                self.record(job.id, 0, &[ItemResult::ok(0, result)]).await
            }
            Err(AnalysisError::Unreadable(reason)) => self.poison_job(job.id, &reason).await,
            Err(e @ AnalysisError::Model(_)) => Outcome::Retry(e.to_string()),
        }
    }

    /// A document's bytes, or why there are none.
    async fn document(&self, key: &str, what: &str) -> Result<Vec<u8>, Unread> {
        match self.blobs.get(key, MAX_RESUME_BYTES).await {
            Ok(Some(bytes)) => Ok(bytes),
            Ok(None) => Err(Unread::Never(format!("the {what} does not exist (expired or never uploaded)"))),
            Err(BlobError::TooLarge(n)) => {
                Err(Unread::Never(format!("the {what} is {n} bytes; at most {MAX_RESUME_BYTES}")))
            }
            Err(BlobError::Unavailable(e)) => Err(Unread::NotNow(e)),
            Err(e) => Err(Unread::Never(e.to_string())),
        }
    }
}
