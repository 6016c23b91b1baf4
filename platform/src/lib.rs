//! Platform layer (placeholder until the platform crate lands).
#![no_std]
