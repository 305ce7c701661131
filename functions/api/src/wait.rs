//! `Prefer: wait=N` (RFC 7240): hold the response until the job is final or N
//! seconds pass. Polls the store with a growing interval, which works the same
//! on SQLite and DynamoDB.

use ferry_core::{Job, JobId, JobStore, StoreError};
use std::time::Duration;
use tokio::time::Instant;

/// The wait a `Prefer` header asks for, capped at `max`.
pub fn preferred_wait(prefer: Option<&str>, max: Duration) -> Option<Duration> {
    let prefer = prefer?;
    prefer.split([',', ';']).map(str::trim).find_map(|p| {
        let (name, value) = p.split_once('=')?;
        if !name.trim().eq_ignore_ascii_case("wait") {
            return None;
        }
        let secs: f64 = value.trim().trim_matches('"').parse().ok()?;
        // Capped before converting: a huge or non-finite value never reaches
        // `Duration`, whose constructors panic on overflow.
        (secs >= 0.0).then(|| Duration::try_from_secs_f64(secs.min(max.as_secs_f64())).unwrap_or(max))
    })
}

/// Reads the job until it is final or `wait` has passed; returns it as last seen.
pub async fn until_final(
    store: &dyn JobStore,
    owner: &str,
    id: JobId,
    wait: Duration,
) -> Result<Option<Job>, StoreError> {
    let deadline = Instant::now() + wait;
    let mut interval = Duration::from_millis(10);
    loop {
        let job = store.get_job(owner, id).await?;
        let final_or_gone = job.as_ref().is_none_or(|j| j.status.is_terminal());
        let now = Instant::now();
        if final_or_gone || now >= deadline {
            return Ok(job);
        }
        tokio::time::sleep(interval.min(deadline - now)).await;
        interval = (interval * 3 / 2).min(Duration::from_millis(250));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_prefer_wait() {
        let max = Duration::from_secs(30);
        assert_eq!(preferred_wait(Some("wait=5"), max), Some(Duration::from_secs(5)));
        assert_eq!(preferred_wait(Some("respond-async, wait=2"), max), Some(Duration::from_secs(2)));
        assert_eq!(preferred_wait(Some("wait=999"), max), Some(max));
        assert_eq!(preferred_wait(Some("wait=1e308"), max), Some(max));
        assert_eq!(preferred_wait(Some("wait=18446744073709551616"), max), Some(max));
        assert_eq!(preferred_wait(Some("wait=inf"), max), Some(max));
        assert_eq!(preferred_wait(Some("wait=NaN"), max), None);
        assert_eq!(preferred_wait(Some("wait=0.25"), max), Some(Duration::from_millis(250)));
        assert_eq!(preferred_wait(Some("wait=-1"), max), None);
        assert_eq!(preferred_wait(Some("return=minimal"), max), None);
        assert_eq!(preferred_wait(None, max), None);
    }
}
