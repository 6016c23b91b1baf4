//! The policy stage: empty today.
//!
//! Blocklists and local names (a home network's `printer.lan`) go here. Policy is
//! consulted at two points, both already wired:
//!
//! * at admission ([`crate::client`]), after the class/type checks and before the
//!   cache: [`on_query`] may answer the query itself (a local name, a blocked name's
//!   NXDOMAIN with EDE 15 Blocked), or let it continue;
//! * on every alias hop ([`crate::chain::walk`]), so a CNAME into a blocked name is
//!   caught whether the chain comes from the cache or from upstream: [`on_alias`] may
//!   stop the walk there.
//!
//! A real policy will need the names (the walker's sources can give them as lower-cased
//! wire labels) and an answer type to return; both hooks take and return nothing yet, so
//! that they cost nothing on the fast path.

/// What policy says about a query or an alias target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Go on as if there were no policy.
    Continue,
    /// Stop here (an alias into a blocked name). Never returned today.
    #[allow(dead_code)] // The variant the first real policy returns.
    Stop,
}

/// Admission: whether a query continues to the cache and resolution.
#[inline]
pub(crate) fn on_query() -> Verdict {
    Verdict::Continue
}

/// A CNAME/DNAME hop: whether the walk may follow it.
#[inline]
pub(crate) fn on_alias() -> Verdict {
    Verdict::Continue
}
