//! Plain types of the platform API that the backends share.
//!
//! When the solo5 backend lands with its own copies in the crate root, these move there
//! and this file goes.

use core::fmt;

/// Why a frame could not be read or written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetError {
    /// The device cannot take or give a frame right now (solo5 `SOLO5_R_AGAIN`).
    Again,
    /// The buffer is smaller than MTU + 14 or the frame larger (`SOLO5_R_EINVAL`).
    InvalidArgument,
    /// The device failed; on unix the errno, on solo5 0 (`SOLO5_R_EUNSPEC`).
    Device(i32),
}

impl fmt::Display for NetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NetError::Again => f.write_str("network device busy, try again"),
            NetError::InvalidArgument => f.write_str("frame or buffer size does not fit the MTU"),
            NetError::Device(0) => f.write_str("network device error"),
            NetError::Device(errno) => write!(f, "network device error (errno {errno})"),
        }
    }
}

/// Use of the global heap, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeapStats {
    /// Bytes allocated now.
    pub used: usize,
    /// Bytes the heap can hand out in all.
    pub total: usize,
}
