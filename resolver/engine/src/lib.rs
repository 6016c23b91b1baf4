//! The resolver engine does no networking and reads no clock: it is a sans-IO state
//! machine that turns DNS messages and the current time into DNS messages and deadlines.
//!
//! Everything a caching DNS resolver decides lives here: the client service (ACL,
//! FORMERR/NOTIMP/REFUSED, EDNS, truncation), the cache (RFC 2181 ranks, RFC 2308
//! negative answers, TTL clamps, a byte cap with CLOCK eviction, bailiwick scrubbing),
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
//! with that port (and over the [`Transport`] it names). Payloads never carry the TCP
//! length prefix.
//!
//! # Inside: who owns what
//!
//! | module | owns | entry points |
//! |---|---|---|
//! | `engine` | the tables below, the transmit queue, `Stats`; applies [`Step`](#steps)s | the public API |
//! | `client` | nothing: admission stages over borrowed state | `client::admit` |
//! | `answer` | the answer rules (`Shape`: TTL cap, size limit, prefetch test) | `answer::encode` (full path), `answer::fast::reply` (fast path), `answer::cached` |
//! | `chain` | the one CNAME walker | `chain::walk` over a `Chain` source (cache, pre-encoded cache, response) |
//! | `resolve` | resolutions (`Resolution`), their delegations, the ready and wait queues | `Resolution::advance`, `Resolution::on_response` → `Step` |
//! | `upstream` | the pending table, ports, IDs, 0x20, the RNG, the server RTT table | `Upstream::send`, `Upstream::on_response`, `Upstream::take` |
//! | `timer` | every deadline, once (`TimerTable`) | `set`, `cancel`, `pop_expired` |
//! | [`cache`] | RRsets and negative entries; `cache/store.rs` the eviction policy | `Cache::lookup`, `insert_*` |
//! | [`scrub`] | nothing: `classify` is pure | `scrub::classify` |
//! | `wire` | nothing: views over bytes with named field ranges | `Header`, `Question`, `Reply`, `ReplyFlags` |
//! | `ede` | the EDE codes and EXTRA-TEXTs, one constant per cause | `Ede::*` |
//! | `policy` | block lists, local names and zones (`Policy`) | `Policy::on_query`, `Policy::screen`, `Policy::fast_check`, `Engine::set_blocklist` |
//! | `validate` | an empty hook | `validate::check` |
//!
//! A client query goes through admission's stages, each answering or letting it go on:
//! frame → fast path → parse → ACL → opcode/question/EDNS/class/type → **policy** →
//! ANY → cache → RD → coalesce → new resolution. A response goes: match (upstream) →
//! the resolution's `on_response`: TCP/EDNS retry → `scrub::classify` → **validate** →
//! cache → react. Policy is also consulted at every alias hop, inside `chain::walk`.
//!
//! ## Steps
//!
//! A resolution never acts itself: `advance` and `on_response` return a `Step` that the
//! engine applies — `Send` (pick a port, send, arm the timer), `Wait` (for a response,
//! a dependency, or a slot: then it joins the wait queue), `Need(Dependency)`, `Done`
//! (answer the waiters, wake the parents, remove it), `Fail` (serve stale or SERVFAIL
//! with its EDE) or `Again` (back on the ready queue). A resolution stays in its table
//! from start to `Done`/`Fail`; nothing takes it out and puts it back.
//!
//! `Need(Dependency)` is how one resolution waits for another (today a glueless NS
//! name's address; DNSSEC's DS/DNSKEY next): the engine joins or starts the dependency
//! and records the waiter as its parent; when the dependency ends, `finish` hands its
//! result to each parent (`Resolution::dependency_done`) and puts the parent back on the
//! ready queue, where its next `advance` uses it.
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

mod aggressive;
mod answer;
pub mod cache;
mod chain;
mod client;
mod config;
mod ede;
mod engine;
mod io;
mod lookup;
mod policy;
mod resolve;
pub mod scrub;
mod stats;
mod time;
mod timer;
mod upstream;
mod validate;
mod wire;

pub use config::{
    AddressRule, BlockAnswer, Cidr, CnameRule, DnssecConfig, DomainServers, EngineConfig,
    HostRecord, Limits, Mode, PolicyConfig, PolicyLimits, default_allow, iana_root_hints,
};
pub use engine::Engine;
pub use io::{Client, Transmit, Transport};
pub use lookup::{LookupError, LookupFailure, LookupResult, LookupType, MAX_LOOKUPS};
pub use policy::{BOOT_LIST, BlocklistBuilder, BlocklistStats, PolicyStats, SetBlocklistError};
pub use stats::Stats;
pub use time::Instant;
pub use upstream::UPSTREAM_HOLD;
