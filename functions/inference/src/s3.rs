//! Jobs from the bucket: an upstream system drops a resume under
//! `uploads/<owner>/<name>` and its job description beside it as
//! `uploads/<owner>/<name>.jd.txt`; the bucket's ObjectCreated notification
//! reaches the worker, which creates the resume-match job. The same object
//! version notified twice creates one job (an idempotency key per version).

use crate::Upstream;
use aws_lambda_events::event::s3::S3Event;
use ferry_core::message::{owner_segment, resume_message};
use ferry_core::{Created, Idempotency, Job, JobDescription, JobId, Jobs, Task, TaskMessage};
use tracing::info;

/// Suffix of a job-description sidecar.
pub const SIDECAR: &str = ".jd.txt";
/// Largest sidecar read.
const MAX_SIDECAR_BYTES: u64 = 64 * 1024;

/// An uploaded object a notification names.
#[derive(Debug, Clone, PartialEq)]
pub struct Upload {
    pub owner: UploadOwner,
    pub key: String,
    /// Tells object versions apart (the sequencer, else the ETag).
    pub version: String,
}

/// Whose prefix an upload is under.
#[derive(Debug, Clone, PartialEq)]
pub enum UploadOwner {
    /// A percent-encoded owner, decoded.
    Named(String),
    /// A long owner's `=<hash>` segment: only an owner named in the upstream
    /// allow-list can be recognised by it.
    Hashed(String),
}

impl UploadOwner {
    /// The owner, when it may create jobs from the bucket.
    pub fn allowed(&self, upstream: &Upstream) -> Option<String> {
        match self {
            UploadOwner::Named(owner) => upstream.allows(owner).then(|| owner.clone()),
            UploadOwner::Hashed(segment) => upstream.owner_with_segment(segment),
        }
    }
}

/// The `uploads/<owner>/…` objects an S3 event (the SQS body) created.
pub fn uploads(body: &str) -> Vec<Upload> {
    let event = match serde_json::from_str::<S3Event>(body) {
        Ok(event) => event,
        Err(e) => {
            // Not silently: an upload that starts no job must leave a trace.
            tracing::warn!(error = %e, "an S3 notification that is not in S3's event format; ignored");
            return Vec::new();
        }
    };
    event
        .records
        .iter()
        .filter(|r| r.event_name.as_deref().is_some_and(|n| n.starts_with("ObjectCreated")))
        .filter_map(|r| {
            let key = decode_key(r.s3.object.key.as_deref()?)?;
            let rest = key.strip_prefix("uploads/")?;
            let (owner, name) = rest.split_once('/')?;
            if name.is_empty() || name.ends_with(SIDECAR) {
                return None;
            }
            let owner = if owner.starts_with('=') {
                UploadOwner::Hashed(owner.to_owned())
            } else {
                let decoded = percent_decode(owner)?;
                // Only the canonical encoding of an owner is that owner's prefix.
                if owner_segment(&decoded) != owner {
                    return None;
                }
                UploadOwner::Named(decoded)
            };
            let version = r.s3.object.sequencer.clone().or_else(|| r.s3.object.e_tag.clone()).unwrap_or_default();
            Some(Upload { owner, key: key.clone(), version })
        })
        .collect()
}

/// Creates and queues the upload's job when its sidecar exists and its owner
/// may create jobs this way. `Ok(None)`: nothing to do.
pub async fn start_job(jobs: &Jobs<'_>, upstream: &Upstream, upload: &Upload) -> Result<Option<JobId>, String> {
    let sidecar = format!("{}{SIDECAR}", upload.key);
    match jobs.blobs.size(&sidecar).await.map_err(|e| e.to_string())? {
        Some(size) if size <= MAX_SIDECAR_BYTES => {}
        Some(_) => {
            info!(key = %upload.key, "job description sidecar too large; no job");
            return Ok(None);
        }
        None => return Ok(None),
    }
    let Some(owner) = upload.owner.allowed(upstream) else {
        info!(key = %upload.key, "upload by an owner not allowed to create jobs from the bucket; no job");
        return Ok(None);
    };
    let job = Job::new(&owner, Task::ResumeMatch, 1, 1);
    let idempotency =
        Idempotency { key: format!("s3:{}:{}", upload.key, upload.version), fingerprint: format!("s3:{}", upload.key) };
    let message = resume_message(&job, &upload.key, JobDescription::Key(sidecar));
    let created = jobs
        .create(job, vec![message.clone()], Some(&idempotency), ferry_core::Lane::Bulk)
        .await
        .map_err(|e| e.to_string())?;
    match created {
        Created::New(job) => Ok(Some(job.id)),
        // A redelivered notification: the first may have died before its
        // message was queued, and queuing it again is harmless (the store
        // counts the job's one chunk once).
        Created::Existing(job) | Created::Mismatch(job) => {
            let again = TaskMessage { job_id: job.id, ..message };
            jobs.queue.send(&[again]).await.map_err(|e| e.to_string())?;
            Ok(Some(job.id))
        }
    }
}

/// S3 event keys are URL-encoded, with `+` for spaces.
fn decode_key(key: &str) -> Option<String> {
    percent_decode(&key.replace('+', " "))
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uploads_are_read_from_the_sample_event() {
        let event = include_str!("../../../events/s3-object-created.json");
        let found = uploads(event);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].owner, UploadOwner::Named("events-user".into()));
        assert!(found[0].key.starts_with("uploads/events-user/"));
        let sidecar = event.replace(".txt\"", ".txt.jd.txt\"");
        assert!(uploads(&sidecar).is_empty(), "a sidecar is not a resume");
        assert_eq!(percent_decode("auth0%7Cabc").as_deref(), Some("auth0|abc"));
        assert_eq!(percent_decode("bad%zz"), None);
    }

    #[test]
    fn a_long_owner_is_known_by_its_hash_only_from_the_allow_list() {
        let long = "x".repeat(200);
        let segment = owner_segment(&long);
        let event = include_str!("../../../events/s3-object-created.json").replace("events-user", &segment);
        let found = uploads(&event);
        assert_eq!(found[0].owner, UploadOwner::Hashed(segment));
        let listed = Upstream::Only([long.clone(), "other".into()].into());
        assert_eq!(found[0].owner.allowed(&listed), Some(long));
        assert_eq!(found[0].owner.allowed(&Upstream::AnyOwner), None);
        assert_eq!(found[0].owner.allowed(&Upstream::Only(["other".to_string()].into())), None);
    }
}
