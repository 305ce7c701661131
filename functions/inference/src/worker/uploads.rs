//! The bucket's notifications: each new upload with a job description beside
//! it (`<key>.jd.txt`) becomes a resume-match job, once per object version.

use super::{Outcome, Worker};
use crate::s3;
use tracing::info;

impl Worker {
    pub(super) async fn uploads(&self, body: &str) -> Outcome {
        if self.resumes.is_none() {
            return Outcome::Done;
        }
        for upload in s3::uploads(body) {
            match s3::start_job(&self.jobs(), &self.upstream, &upload).await {
                Ok(Some(job_id)) => info!(%job_id, "resume-match job from an upload"),
                Ok(None) => {}
                Err(e) => return Outcome::Retry(e),
            }
        }
        Outcome::Done
    }
}
