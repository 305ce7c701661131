//! `Prefer: wait=N` (RFC 7240): hold the response until the job is final or N
//! seconds pass ([`ferry_core::JobStore::wait_for_final`]).

use std::time::Duration;

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
