//! A sentiment job's JSONL document: read, checked, and fanned out as chunk
//! messages. A redelivery repeats the same split; the store counts each
//! chunk once.

use super::{MAX_DOCUMENT_BYTES, Outcome, Worker, unavailable};
use ferry_core::message::{chunk_texts, parse_jsonl, upload_prefix};
use ferry_core::{BlobError, Job};
use tracing::info;

impl Worker {
    pub(super) async fn split(&self, job: &Job, key: &str) -> Outcome {
        if !key.starts_with(&upload_prefix(&job.owner)) {
            return self.poison_job(job.id, "the document is not one of the job owner's uploads").await;
        }
        let bytes = match self.blobs.get(key, MAX_DOCUMENT_BYTES).await {
            Ok(Some(bytes)) => bytes,
            Ok(None) => {
                return self.poison_job(job.id, "the document does not exist (expired or never uploaded)").await;
            }
            Err(BlobError::Unavailable(e)) => return Outcome::Retry(e),
            Err(e) => return self.poison_job(job.id, &e.to_string()).await,
        };
        if let Some(reason) = not_jsonl(&bytes) {
            return self.poison_job(job.id, &reason).await;
        }
        let texts = match parse_jsonl(&bytes, self.limits.max_inputs, self.limits.max_text_bytes) {
            Ok(texts) => texts,
            Err(reason) => return self.poison_job(job.id, &reason).await,
        };
        let messages = chunk_texts(job, &texts);
        match self.store.set_split(job.id, texts.len() as u32, messages.len() as u32).await {
            Ok(true) => {}
            Ok(false) => return Outcome::Done,
            Err(e) => return unavailable(e),
        }
        if let Err(e) = self.queue.send(&messages).await {
            return Outcome::Retry(e.to_string());
        }
        info!(items = texts.len(), chunks = messages.len(), "document split");
        Outcome::Done
    }
}

/// Why a sentiment job's document cannot be its JSONL, when it is plainly
/// something else (a resume sent to the wrong task, an image): said in those
/// terms, rather than as the UTF-8 or JSON error the bytes would give.
fn not_jsonl(bytes: &[u8]) -> Option<String> {
    use ferry_documents::{ExtractError, Format};
    let what = match ferry_documents::detect_format(bytes, &ferry_documents::Limits::default()) {
        Ok(Format::Pdf) => "a PDF",
        Ok(Format::Docx) => "a DOCX document (or another zip archive)",
        Err(ExtractError::Unsupported(what)) => what,
        _ => return None,
    };
    Some(format!(
        "a sentiment job reads a JSONL document (one JSON string or {{\"text\": …}} per line), \
         and this document is {what}; to match a resume, create a \"resume-match\" job"
    ))
}
