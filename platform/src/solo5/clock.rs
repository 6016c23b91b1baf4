//! Monotonic time from the CPU's counter (TSC / CNTVCT_EL0) scaled by the boot info's
//! `cpu_cycle_freq`; wall time from the WALLTIME hypercall.

use super::arch::{Cpu, Current};
use super::scale::Scale;
use core::sync::atomic::{AtomicU64, Ordering};
use embedded_time::{Instant, clock, fraction::Fraction};

/// Counter value at boot; monotonic time counts from it.
static BOOT_TICKS: AtomicU64 = AtomicU64::new(0);
/// `Scale` parts; 0 until [`init`] (so time reads 0 before).
static WHOLE: AtomicU64 = AtomicU64::new(0);
static FRAC: AtomicU64 = AtomicU64::new(0);

/// Starts the clock. `None` if `freq_hz` is 0 (the tender broke its contract).
pub(crate) fn init(freq_hz: u64) -> Option<()> {
    let scale = Scale::new(freq_hz)?;
    BOOT_TICKS.store(Current::ticks(), Ordering::Relaxed);
    let (whole, frac) = scale.parts();
    WHOLE.store(whole, Ordering::Relaxed);
    FRAC.store(frac, Ordering::Relaxed);
    Some(())
}

/// Nanoseconds since boot.
pub(crate) fn now_ns() -> u64 {
    let scale = Scale::from_parts(WHOLE.load(Ordering::Relaxed), FRAC.load(Ordering::Relaxed));
    let ticks = Current::ticks().wrapping_sub(BOOT_TICKS.load(Ordering::Relaxed));
    scale.ns(ticks)
}

/// The monotonic clock (ns since boot) as an `embedded_time` clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct MonotonicClock;

impl embedded_time::Clock for MonotonicClock {
    type T = u64;
    const SCALING_FACTOR: Fraction = Fraction::new(1, 1_000_000_000);

    fn try_now(&self) -> Result<Instant<Self>, clock::Error> {
        Ok(Instant::new(now_ns()))
    }
}
