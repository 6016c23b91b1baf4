//! Netstack (placeholder until the netstack crate lands).
#![no_std]
