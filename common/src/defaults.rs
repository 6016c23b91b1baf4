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

/// Whether `zone` (lower case, no trailing dot) is one of the built-in locally served
/// zones (the engine's policy stage serves them; `--local-zone-nodefault` names one to
/// resolve as usual): `localhost`, `invalid`, `onion`, `local`,
/// `use-application-dns.net` and the reverse zones of RFC 6303 and RFC 7793. The engine
/// tests that its list and this test agree.
pub fn is_local_zone(zone: &str) -> bool {
    const FIXED: &[&str] = &[
        "localhost",
        "invalid",
        "onion",
        "local",
        "use-application-dns.net",
        "10.in-addr.arpa",
        "168.192.in-addr.arpa",
        "0.in-addr.arpa",
        "127.in-addr.arpa",
        "254.169.in-addr.arpa",
        "2.0.192.in-addr.arpa",
        "100.51.198.in-addr.arpa",
        "113.0.203.in-addr.arpa",
        "255.255.255.255.in-addr.arpa",
        "c.f.ip6.arpa",
        "d.f.ip6.arpa",
        "8.e.f.ip6.arpa",
        "9.e.f.ip6.arpa",
        "a.e.f.ip6.arpa",
        "b.e.f.ip6.arpa",
        "8.b.d.0.1.0.0.2.ip6.arpa",
    ];
    if FIXED.contains(&zone) {
        return true;
    }
    // 172.16/12 and 100.64/10: one zone per second octet.
    let octet_zone = |suffix: &str, lo: u8, hi: u8| {
        zone.strip_suffix(suffix)
            .and_then(|n| n.parse::<u8>().ok())
            .is_some_and(|n| (lo..=hi).contains(&n) && !zone.starts_with('0'))
    };
    if octet_zone(".172.in-addr.arpa", 16, 31) || octet_zone(".100.in-addr.arpa", 64, 127) {
        return true;
    }
    // ::/128 and ::1/128: 32 nibble labels then ip6.arpa.
    if let Some(nibbles) = zone.strip_suffix(".ip6.arpa") {
        let labels = nibbles.split('.');
        let mut count = 0;
        let mut ok = true;
        for (i, l) in labels.enumerate() {
            count += 1;
            ok &= l == "0" || (i == 0 && l == "1");
        }
        return ok && count == 32;
    }
    false
}
