//! Per-principal token buckets (GCRA, the `governor` crate). In Lambda each
//! execution environment keeps its own buckets, so the effective limit is per
//! instance; API Gateway's stage throttling (template.yaml) bounds the total.

use crate::problem::Problem;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU32, Ordering};

pub struct RateLimit {
    limiter: DefaultKeyedRateLimiter<String>,
    checks: AtomicU32,
}

/// Drop the state of callers idle long enough to be full again, now and then,
/// so the map does not grow with every subject ever seen.
const SWEEP_EVERY: u32 = 4096;

impl RateLimit {
    /// `per_second` requests per second on average, bursts of up to `burst`.
    pub fn new(per_second: NonZeroU32, burst: NonZeroU32) -> RateLimit {
        let quota = Quota::per_second(per_second).allow_burst(burst);
        RateLimit { limiter: DefaultKeyedRateLimiter::keyed(quota), checks: AtomicU32::new(0) }
    }

    /// 429 with `Retry-After` (whole seconds, at least 1) when over the limit.
    pub fn check(&self, subject: &str) -> Result<(), Problem> {
        if self.checks.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            self.limiter.retain_recent();
        }
        self.limiter.check_key(&subject.to_owned()).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            Problem::rate_limited(wait.as_secs_f64().ceil().max(1.0) as u64)
        })
    }
}
