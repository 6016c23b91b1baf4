//! The monotonic clock: nanoseconds since the process started.

// `std` is linked by `unix/mod.rs` (the crate is no_std for the solo5 build).
use super::std;

use std::sync::OnceLock;
use std::time::Instant;

use embedded_time::fraction::Fraction;

static START: OnceLock<Instant> = OnceLock::new();

/// Pins time zero (the first call wins; later calls do nothing).
pub(crate) fn start() {
    START.get_or_init(Instant::now);
}

/// Nanoseconds since time zero (which is pinned on first use if not yet).
pub(crate) fn now_ns() -> u64 {
    let start = *START.get_or_init(Instant::now);
    u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

/// The platform's monotonic clock as an [`embedded_time::Clock`] with nanosecond ticks,
/// reading the same time as [`Platform::now`](crate::Platform::now).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MonotonicClock;

impl embedded_time::Clock for MonotonicClock {
    type T = u64;
    const SCALING_FACTOR: Fraction = Fraction::new(1, 1_000_000_000);

    fn try_now(&self) -> Result<embedded_time::Instant<Self>, embedded_time::clock::Error> {
        Ok(embedded_time::Instant::new(now_ns()))
    }
}
