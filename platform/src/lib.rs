//! The thin platform layer under the resolver: clock, entropy, console, one network device,
//! "block until a frame or a deadline", exit.
//!
//! Two backends export the same API (see `docs/INTERFACES.md`):
//! - **solo5** (`target_os = "none"`): the unikernel on Solo5's hvt ABI, bare metal, x86_64
//!   and aarch64. It owns the entry point, the heap, the panic handler and the ELF notes.
//! - **unix**: an ordinary Linux process on a TAP device, for tests.
#![no_std]

#[cfg(target_os = "none")]
mod solo5;
#[cfg(target_os = "none")]
pub use solo5::{MonotonicClock, Platform, init_logger};
// The solo5 backend's pure parts, unit-tested on the host.
#[cfg(all(test, not(target_os = "none")))]
#[path = "solo5/cmdline.rs"]
mod solo5_cmdline;
#[cfg(all(test, not(target_os = "none")))]
#[path = "solo5/scale.rs"]
mod solo5_scale;

#[cfg(unix)]
mod unix;
#[cfg(unix)]
pub use unix::*;

/// Why a network read or write failed. Small and `Copy`, one per operation family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetError {
    /// The read buffer is shorter than MTU + 14; the frame could have been truncated.
    BufferTooSmall,
    /// The frame is empty or longer than MTU + 14.
    BadFrameLength,
    /// The host rejected the request (bad handle).
    Invalid,
    /// The host failed for another reason.
    Unspecified,
}

impl core::fmt::Display for NetError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            NetError::BufferTooSmall => "read buffer shorter than MTU + 14",
            NetError::BadFrameLength => "frame empty or longer than MTU + 14",
            NetError::Invalid => "host rejected the request",
            NetError::Unspecified => "host error",
        })
    }
}

/// Use of the global heap, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeapStats {
    /// Bytes handed out to live allocations.
    pub used: usize,
    /// Bytes the heap manages in all.
    pub total: usize,
}

/// One console log line, `[SSSSS.UUUUUU] LEVEL target: message` (monotonic seconds and
/// microseconds), without the newline: the same shape on every backend.
pub(crate) struct LogLine<'a, 'b> {
    /// Monotonic time of the record, ns.
    pub now_ns: u64,
    /// The record.
    pub record: &'a log::Record<'b>,
}

impl core::fmt::Display for LogLine<'_, '_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "[{:5}.{:06}] {:<5} {}: {}",
            self.now_ns / 1_000_000_000,
            (self.now_ns % 1_000_000_000) / 1000,
            self.record.level(),
            self.record.target(),
            self.record.args()
        )
    }
}
