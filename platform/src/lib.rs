//! Platform layer (placeholder until the platform crate lands).
#![no_std]

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
