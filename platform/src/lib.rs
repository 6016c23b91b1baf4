//! Platform layer (placeholder until the platform crate lands).
#![no_std]

#[cfg(unix)]
mod unix;
#[cfg(unix)]
pub use unix::*;
