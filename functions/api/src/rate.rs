//! Per-principal token buckets (GCRA, the `governor` crate). In Lambda each
//! execution environment keeps its own buckets, so the effective limit is per
//! instance; API Gateway's stage throttling (template.yaml) bounds the total.

use crate::context::{Quota as Seen, record_quota};
use crate::problem::Problem;
use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::{DefaultKeyedRateLimiter, Quota};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

pub struct RateLimit {
    limiter: DefaultKeyedRateLimiter<String, StateInformationMiddleware>,
    quota: Quota,
    checks: AtomicU32,
}

/// Drop the state of callers idle long enough to be full again, now and then,
/// so the map does not grow with every subject ever seen.
const SWEEP_EVERY: u32 = 4096;

impl RateLimit {
    /// `per_second` requests per second on average, bursts of up to `burst`.
    pub fn new(per_second: NonZeroU32, burst: NonZeroU32) -> RateLimit {
        let quota = Quota::per_second(per_second).allow_burst(burst);
        let limiter = DefaultKeyedRateLimiter::keyed(quota).with_middleware::<StateInformationMiddleware>();
        RateLimit { limiter, quota, checks: AtomicU32::new(0) }
    }

    /// 429 with `Retry-After` (whole seconds, at least 1) when over the
    /// limit. Either way the figures go to the response's `RateLimit` headers.
    pub fn check(&self, subject: &str) -> Result<(), Problem> {
        if self.checks.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            self.limiter.retain_recent();
        }
        match self.limiter.check_key(&subject.to_owned()) {
            Ok(snapshot) => {
                let remaining = snapshot.remaining_burst_capacity();
                let missing = self.quota.burst_size().get().saturating_sub(remaining);
                record_quota(self.seen(remaining, self.quota.replenish_interval() * missing));
                Ok(())
            }
            Err(not_until) => {
                let retry_after = whole_secs(not_until.wait_time_from(DefaultClock::default().now())).max(1);
                let full = self.quota.burst_size_replenished_in();
                record_quota(self.seen(0, full));
                Err(Problem::rate_limited(retry_after))
            }
        }
    }

    fn seen(&self, remaining: u32, until_full: Duration) -> Seen {
        Seen {
            limit: self.quota.burst_size().get(),
            window_secs: whole_secs(self.quota.burst_size_replenished_in()),
            remaining,
            reset_secs: whole_secs(until_full),
        }
    }
}

fn whole_secs(d: Duration) -> u64 {
    d.as_secs_f64().ceil() as u64
}
