//! The resolver engine does no networking and reads no clock: it is a sans-IO state
//! machine that turns DNS messages and the current time into DNS messages and deadlines.
//!
//! Everything a caching DNS resolver decides lives here: the client service (ACL,
//! FORMERR/NOTIMP/REFUSED, EDNS, truncation), the cache (RFC 2181 ranks, RFC 2308
//! negative answers, TTL clamps, a byte cap with LRU eviction, bailiwick scrubbing),
//! recursive resolution from root hints or forwarding to upstreams, coalescing of
//! identical questions and hard limits on every table. The app (the unikernel's main
//! loop or the unix binary) owns sockets, clock and entropy.
//!
//! # Protocol
//!
//! ```text
//! let mut engine = Engine::new(EngineConfig::default(), seed);   // seed: 32 bytes of entropy
//! loop {
//!     let now = Instant::from_nanos(clock_ns());
//!     // feed every input that arrived:
//!     engine.handle_query(now, client, &bytes);                   // from a client on :53
//!     engine.handle_response(now, from, local_port, transport, &bytes); // from a server
//!     engine.handle_upstream_error(now, server, local_port, transport); // connect failed
//!     engine.handle_timeout(now);                                 // harmless if early
//!     while let Some(t) = engine.poll_transmit() { send(t) }      // drain after each call
//!     wait_until(engine.poll_timeout());                          // earliest deadline
//! }
//! ```
//!
//! * [`Engine::new`]`(config, seed) -> Engine` — ChaCha20 RNG from `seed`; every random
//!   choice (query IDs, source ports, 0x20 case, server tie-breaks, hash keys) comes
//!   from it, so a run is replayable.
//! * [`Engine::handle_query`]`(&mut self, now: Instant, client: Client, bytes: &[u8])`
//! * [`Engine::handle_response`]`(&mut self, now: Instant, from: SocketAddr,
//!   local_port: u16, transport: Transport, bytes: &[u8])`
//! * [`Engine::handle_upstream_error`]`(&mut self, now: Instant, server: SocketAddr,
//!   local_port: u16, transport: Transport)`
//! * [`Engine::handle_timeout`]`(&mut self, now: Instant)`
//! * [`Engine::poll_transmit`]`(&mut self) -> Option<Transmit>` (`#[must_use]`)
//! * [`Engine::poll_timeout`]`(&self) -> Option<Instant>` (`#[must_use]`)
//! * [`Engine::stats`]`(&self) -> &Stats`
//!
//! A [`Transmit::ToServer`] names the local port to send from: the engine picks it at
//! random in 1024..=65535 among ports it is not using, and the response must be fed back
//! with that port. Payloads never carry the TCP length prefix.
//!
//! # Safety properties
//!
//! No input bytes can make the engine panic (parsers return errors, untrusted data is
//! read with `get`, the fuzz targets under `fuzz/` check it). Every table is capped by
//! [`Limits`] or [`EngineConfig::cache_bytes`].
#![no_std]
#![deny(unsafe_code)]
#![warn(missing_docs)]

extern crate alloc;
#[cfg(test)]
extern crate std;
#[cfg(test)]
use critical_section as _;

mod answer;
pub mod cache;
mod chain;
mod client;
mod config;
mod ede;
mod engine;
mod io;
mod policy;
mod resolve;
pub mod scrub;
mod stats;
mod time;
mod timer;
mod upstream;
mod validate;
mod wire;

pub use config::{Cidr, EngineConfig, Limits, Mode, default_allow, iana_root_hints};
pub use engine::Engine;
pub use io::{Client, Transmit, Transport};
pub use stats::Stats;
pub use time::Instant;
