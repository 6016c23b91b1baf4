//! Defaults and caps that the boot config, the engine and the netstack must agree on.
//! The config crate documents them as boot arguments (`--help`); the engine's and the
//! netstack's own `Default`s use the same values, and a test in the app checks that the
//! engine built from an empty command line equals the engine's default.

use core::time::Duration;

/// Default answer cache budget (`--cache-size`): 8 MiB, comfortable in a 64 MiB
/// unikernel.
pub const CACHE_SIZE: usize = 8 << 20;
/// Smallest `--cache-size`: 64 KiB.
pub const MIN_CACHE_SIZE: usize = 64 << 10;
/// Largest `--cache-size`: 1 GiB.
pub const MAX_CACHE_SIZE: usize = 1 << 30;

/// Default number of client queries resolved at once (`--max-clients`).
pub const MAX_CLIENTS: usize = 256;
/// Largest `--max-clients`.
pub const MAX_MAX_CLIENTS: usize = 4096;

/// Default number of concurrent client TCP connections (`--tcp-connections`).
pub const TCP_CONNECTIONS: usize = 16;
/// Largest `--tcp-connections`.
pub const MAX_TCP_CONNECTIONS: usize = 256;

/// Most upstream resolvers (`--forward`).
pub const MAX_FORWARDERS: usize = 16;
/// Most root server addresses (`--root-hints`).
pub const MAX_ROOT_HINTS: usize = 16;
/// Most networks in the client allow list (`--allow`).
pub const MAX_ALLOW: usize = 32;

/// Whether expired answers are served while upstreams fail (`--serve-stale`, RFC 8767):
/// off unless asked for.
pub const SERVE_STALE: bool = false;
/// How long past its expiry an answer may still be served when serve-stale is on
/// (RFC 8767 §5 suggests 1 to 3 days).
pub const STALE_WINDOW: Duration = Duration::from_secs(86_400);

/// Whether QNAME minimisation is on (`--qname-minimisation`, RFC 9156).
pub const QNAME_MINIMISATION: bool = true;

/// `--domain`: the local domain, served locally (RFC 8375's `home.arpa`).
pub const LOCAL_DOMAIN: &str = "home.arpa";
