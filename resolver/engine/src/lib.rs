//! Engine (placeholder until the engine crate lands).
#![no_std]
