//! The resolver: one code path for the solo5 hvt unikernel and the unix build.
//!
//! This file is the whole shell around the engine, in the shape of `../shared/DESIGN.md`:
//! read the clock, feed frames to the netstack and messages to the engine, drain both,
//! sleep until the earliest deadline. Everything DNS is in `engine`, everything TCP/IP in
//! `netstack`, everything about the machine in `platform`.
#![cfg_attr(target_os = "none", no_std, no_main)]

extern crate alloc;

mod app;
mod lists;
mod metrics;
mod nic;
mod service;

platform::entry!(app::main);
