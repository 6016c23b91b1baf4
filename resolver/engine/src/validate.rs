//! DNSSEC validation: empty today.
//!
//! Validation sits between scrubbing and the cache: a resolution classifies a response
//! ([`crate::scrub::classify`]), hands the result to [`check`], and only then caches it
//! and reacts to it (`resolve/response.rs`). A validator will
//!
//! * need the zone's DS and DNSKEY RRsets: it asks for them with
//!   `Step::Need(Dependency::…)` (the way a glueless NS address is asked for today), and
//!   the resolution waits until the key resolutions finish and wake it;
//! * return `Security::Secure` (cache with the AD bit), `Insecure` (as today), or
//!   `Bogus` (fail with EDE 6 DNSSEC Bogus, cache nothing);
//! * be skipped for clients that set CD.
//!
//! Nothing is validated yet, and the DO bit is not sent upstream.

use crate::scrub::Classified;

/// What validation concluded about a classified response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Security {
    /// Not validated (no trust anchor, or no validator yet): treat as today.
    Insecure,
}

/// Validate `c` (a hook: everything is `Insecure` today).
#[inline]
pub(crate) fn check(c: &Classified) -> Security {
    let _ = c;
    Security::Insecure
}
