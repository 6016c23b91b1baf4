//! The thin platform layer under the resolver: clock, entropy, console, one network device,
//! "block until a frame or a deadline", exit.
//!
//! Two backends export the same API (see `docs/INTERFACES.md`):
//! - **solo5** (`target_os = "none"`): the unikernel on Solo5's hvt ABI, bare metal, x86_64
//!   and aarch64. It owns the entry point, the heap, the panic handler and the ELF notes.
//! - **unix**: an ordinary Linux process on a TAP device, for tests.
#![no_std]

// The solo5 backend's net rings live on its own heap.
#[cfg(target_os = "none")]
extern crate alloc;

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
#[cfg(all(test, not(target_os = "none")))]
#[path = "solo5/zeroed.rs"]
mod solo5_zeroed;

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
        let mut prefix = LinePrefix::new(self.now_ns, self.record.level());
        f.write_str(prefix.as_str())?;
        f.write_str(self.record.target())?;
        f.write_str(": ")?;
        f.write_fmt(*self.record.args())
    }
}

/// `[SSSSS.UUUUUU] LEVEL ` built by hand: `core::fmt`'s padded integers cost a few
/// thousand instructions per line, which under an emulating hypervisor is milliseconds
/// of every boot (issue 7). Seconds past 99999 widen the field as `{:5}` would.
pub(crate) struct LinePrefix {
    buf: [u8; 32],
    len: usize,
}

impl LinePrefix {
    pub(crate) fn new(now_ns: u64, level: log::Level) -> LinePrefix {
        let mut p = LinePrefix {
            buf: [b' '; 32],
            len: 0,
        };
        let secs = now_ns / 1_000_000_000;
        let micros = (now_ns % 1_000_000_000) / 1000;
        // Digits of `secs`, at least 5 wide, right-aligned; u64 has at most 20.
        let mut digits = [b' '; 20];
        let mut n = 0;
        let mut v = secs;
        loop {
            digits[19 - n] = b'0' + (v % 10) as u8;
            n += 1;
            v /= 10;
            if v == 0 {
                break;
            }
        }
        let width = n.max(5);
        p.push(b"[");
        p.push(&digits[20 - width..]);
        p.push(b".");
        let mut frac = [b'0'; 6];
        let mut v = micros;
        for d in frac.iter_mut().rev() {
            *d = b'0' + (v % 10) as u8;
            v /= 10;
        }
        p.push(&frac);
        p.push(b"] ");
        p.push(match level {
            log::Level::Error => b"ERROR ",
            log::Level::Warn => b"WARN  ",
            log::Level::Info => b"INFO  ",
            log::Level::Debug => b"DEBUG ",
            log::Level::Trace => b"TRACE ",
        });
        p
    }

    fn push(&mut self, bytes: &[u8]) {
        let end = (self.len + bytes.len()).min(self.buf.len());
        let n = end - self.len;
        self.buf[self.len..end].copy_from_slice(&bytes[..n]);
        self.len = end;
    }

    pub(crate) fn as_str(&mut self) -> &str {
        // Only ASCII was pushed.
        core::str::from_utf8(&self.buf[..self.len]).unwrap_or("")
    }
}

#[cfg(all(test, unix))]
mod log_line_tests {
    extern crate std;
    use super::LinePrefix;

    #[test]
    fn prefix_matches_the_padded_format() {
        for (ns, level) in [
            (0, log::Level::Info),
            (54_095_123, log::Level::Warn),
            (12_345_678_901_234, log::Level::Error),
            (123_456_000_000_000, log::Level::Debug),
            (u64::MAX, log::Level::Trace),
        ] {
            let want = std::format!(
                "[{:5}.{:06}] {:<5} ",
                ns / 1_000_000_000,
                (ns % 1_000_000_000) / 1000,
                level
            );
            assert_eq!(LinePrefix::new(ns, level).as_str(), want);
        }
    }
}
