//! The per-call allowance every parser draws on: wall-clock time and inflated bytes.

use std::cell::Cell;
use std::time::Instant;

use crate::{ExtractError, Format, Limits};

/// Below this many bytes a part or stream may inflate at any ratio: small XML parts and
/// CMaps legitimately compress 50:1 and more, and a megabyte costs nothing.
const RATIO_FREE_BYTES: u64 = 1 << 20;

pub(crate) struct Budget {
    pub(crate) limits: Limits,
    pub(crate) format: Format,
    deadline: Instant,
    inflated: Cell<u64>,
}

impl Budget {
    pub(crate) fn new(limits: &Limits, format: Format) -> Self {
        let now = Instant::now();
        let deadline = now.checked_add(limits.budget).unwrap_or(now);
        Budget { limits: limits.clone(), format, deadline, inflated: Cell::new(0) }
    }

    pub(crate) fn check_time(&self) -> Result<(), ExtractError> {
        if Instant::now() > self.deadline {
            return Err(ExtractError::Timeout { budget: self.limits.budget });
        }
        Ok(())
    }

    /// The most `compressed` input bytes may inflate to before the ratio cap or the
    /// document-wide cap is hit, whichever is lower.
    pub(crate) fn inflate_allowance(&self, compressed: u64) -> u64 {
        self.ratio_cap(compressed).min(self.inflate_remaining())
    }

    /// Records `n` more inflated bytes of a part or stream that was `compressed` bytes
    /// on disk, failing as soon as either cap is passed (so callers can charge while
    /// streaming, before the whole thing is in memory).
    pub(crate) fn charge_inflated(&self, compressed: u64, part_total: u64, n: u64) -> Result<(), ExtractError> {
        if part_total > self.ratio_cap(compressed) {
            let ratio = self.limits.max_ratio;
            return Err(ExtractError::CompressionRatio { format: self.format, ratio });
        }
        let total = self.inflated.get().saturating_add(n);
        self.inflated.set(total);
        if total > self.limits.max_inflated_bytes {
            return Err(self.inflate_limit_error());
        }
        Ok(())
    }

    pub(crate) fn inflate_limit_error(&self) -> ExtractError {
        ExtractError::InflateLimit { format: self.format, limit: self.limits.max_inflated_bytes }
    }

    pub(crate) fn ratio_error(&self) -> ExtractError {
        ExtractError::CompressionRatio { format: self.format, ratio: self.limits.max_ratio }
    }

    pub(crate) fn ratio_cap(&self, compressed: u64) -> u64 {
        compressed.saturating_mul(self.limits.max_ratio).max(RATIO_FREE_BYTES)
    }

    fn inflate_remaining(&self) -> u64 {
        self.limits.max_inflated_bytes.saturating_sub(self.inflated.get())
    }

    /// Extracted text may not outgrow the input limit: no real document's text is larger
    /// than the file it came in, and it bounds what a hostile content stream can make us hold.
    pub(crate) fn check_text_len(&self, len: usize) -> Result<(), ExtractError> {
        if len > self.limits.max_bytes {
            return Err(ExtractError::too_complex(self.format, "more text than the input size limit"));
        }
        Ok(())
    }
}
