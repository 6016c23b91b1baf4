//! Plain counters; the app prints or exports them as it likes.

/// Counters kept by the engine. All are monotonic except the gauges
/// (`cache_bytes`, `cache_entries`, `aggressive_nsec_records`, `in_flight_*`, `waiting`),
/// which describe the current
/// state.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Client queries accepted for processing (well-formed, allowed).
    pub queries: u64,
    /// DNSSEC: responses validated secure.
    pub dnssec_secure: u64,
    /// DNSSEC: responses found insecure under a trust anchor.
    pub dnssec_insecure: u64,
    /// DNSSEC: responses found bogus (answered SERVFAIL).
    pub dnssec_bogus: u64,
    /// DNSSEC: forwarder answers for a trust anchor's DNSKEY set that came without
    /// any RRSIG (a forwarder that ignores DO): validation below that anchor is then
    /// insecure, not bogus, for as long as the answer is cached.
    pub dnssec_forwarder_unsigned: u64,
    /// DNSSEC: signature verifications (public-key operations) done.
    pub dnssec_verifications: u64,
    /// DNSSEC: NXDOMAIN and NODATA answers synthesised from validated NSEC records
    /// already held (RFC 8198), instead of a query upstream.
    pub dnssec_aggressive: u64,
    /// DNSSEC: DNSKEY fetches started beside a query to a signed zone, before the
    /// answer's validation asked for them.
    pub dnssec_key_primes: u64,
    /// Client queries answered from the cache without upstream traffic.
    pub cache_hits: u64,
    /// Of `cache_hits`, those answered by the fast path (no `Message` built).
    pub fast_path_hits: u64,
    /// Client queries that needed resolution (or joined one in progress).
    pub cache_misses: u64,
    /// Client queries that joined an identical resolution already in flight.
    pub coalesced: u64,
    /// Queries sent to upstream servers.
    pub upstream_queries: u64,
    /// Upstream queries sent over TCP.
    pub upstream_tcp: u64,
    /// Upstream queries that timed out (or failed to connect).
    pub timeouts: u64,
    /// Responses to clients with RCODE SERVFAIL.
    pub servfail: u64,
    /// Responses to clients with RCODE REFUSED (ACL or RD=0 miss).
    pub refused: u64,
    /// Responses to clients with RCODE FORMERR.
    pub formerr: u64,
    /// Responses to clients with RCODE NOTIMP.
    pub notimp: u64,
    /// Stale answers served (RFC 8767).
    pub stale_served: u64,
    /// Resolutions failed because their client query's shared budget of upstream
    /// queries (`Limits::max_upstream_per_client_query`) was spent.
    pub budget_exhausted: u64,
    /// Sub-resolutions cancelled because no one waited for them any more.
    pub cancelled: u64,
    /// Client queries (and lookups) answered from the failure cache (RFC 9520).
    pub failure_cache_hits: u64,
    /// Gauge: questions in the failure cache.
    pub failure_entries: u64,
    /// Prefetches started.
    pub prefetches: u64,
    /// Client datagrams dropped unanswered (too short, QR=1, overload of the queue).
    pub client_dropped: u64,
    /// Upstream responses dropped: no query outstanding on that port.
    pub dropped_unknown_port: u64,
    /// Upstream responses dropped: source address or transport differs from the query's.
    pub dropped_wrong_source: u64,
    /// Upstream responses dropped: they did not parse.
    pub dropped_malformed: u64,
    /// Upstream responses dropped: not a response, or the ID differs.
    pub dropped_id_mismatch: u64,
    /// Upstream responses dropped: the question differs (name, type, class).
    pub dropped_question_mismatch: u64,
    /// Upstream responses dropped: the question differs only in letter case (0x20).
    pub dropped_case_mismatch: u64,
    /// Records removed by bailiwick scrubbing before caching.
    pub scrubbed_records: u64,
    /// Transmits dropped because the transmit queue was full.
    pub transmit_dropped: u64,
    /// Bytes currently accounted in the cache.
    pub cache_bytes: u64,
    /// Entries currently in the cache.
    pub cache_entries: u64,
    /// Validated NSEC records held for RFC 8198 synthesis.
    pub aggressive_nsec_records: u64,
    /// Entries evicted from the cache to respect its byte cap.
    pub cache_evictions: u64,
    /// Resolutions currently in flight (client, sub-resolution and prefetch).
    pub in_flight_resolutions: u64,
    /// Upstream queries currently awaiting an answer.
    pub in_flight_upstream: u64,
    /// Resolutions currently waiting for an upstream slot (in-flight caps reached).
    pub waiting: u64,
    /// Times a resolution had to wait for an upstream slot.
    pub waited: u64,
    /// Resolutions failed (SERVFAIL) because the wait queue was full.
    pub wait_queue_full: u64,
}
