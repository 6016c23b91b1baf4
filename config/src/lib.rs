//! Boot command line parsing (placeholder until the config crate lands).
#![no_std]
