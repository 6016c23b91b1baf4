//! The engine's configuration: one struct, every limit named and documented.

use alloc::string::String;
use alloc::vec::Vec;
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use core::time::Duration;
use hickory_proto::rr::Name;

use common::defaults;

/// How the engine finds answers it does not have cached.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Iterate from the root servers down the delegation tree.
    Recursive {
        /// Addresses of the root servers (default: [`iana_root_hints`]).
        root_hints: Vec<IpAddr>,
    },
    /// Send every query with RD=1 to one of these upstream recursive resolvers.
    Forward {
        /// The upstream resolvers, tried by smoothed RTT.
        upstreams: Vec<SocketAddr>,
    },
}

/// A CIDR block: the one network type of the project ([`common::IpCidr`]), whose
/// constructor checks the prefix length.
pub use common::IpCidr as Cidr;

/// The default client allow list ([`common::DEFAULT_ALLOW`]: loopback, RFC 1918, CGNAT
/// 100.64/10, link-local v4/v6, ULA fc00::/7 and ::1). Everyone else is REFUSED (not an
/// open resolver).
#[must_use]
pub fn default_allow() -> Vec<Cidr> {
    common::DEFAULT_ALLOW.to_vec()
}

/// The IANA root server addresses (a. through m.root-servers.net), IPv4 then IPv6.
#[must_use]
pub fn iana_root_hints() -> Vec<IpAddr> {
    const V4: [[u8; 4]; 13] = [
        [198, 41, 0, 4],
        [170, 247, 170, 2],
        [192, 33, 4, 12],
        [199, 7, 91, 13],
        [192, 203, 230, 10],
        [192, 5, 5, 241],
        [192, 112, 36, 4],
        [198, 97, 190, 53],
        [192, 36, 148, 17],
        [192, 58, 128, 30],
        [193, 0, 14, 129],
        [199, 7, 83, 42],
        [202, 12, 27, 33],
    ];
    const V6: [[u16; 8]; 13] = [
        [0x2001, 0x503, 0xba3e, 0, 0, 0, 2, 0x30],
        [0x2801, 0x1b8, 0x10, 0, 0, 0, 0, 0xb],
        [0x2001, 0x500, 2, 0, 0, 0, 0, 0xc],
        [0x2001, 0x500, 0x2d, 0, 0, 0, 0, 0xd],
        [0x2001, 0x500, 0xa8, 0, 0, 0, 0, 0xe],
        [0x2001, 0x500, 0x2f, 0, 0, 0, 0, 0xf],
        [0x2001, 0x500, 0x12, 0, 0, 0, 0, 0xd0d],
        [0x2001, 0x500, 1, 0, 0, 0, 0, 0x53],
        [0x2001, 0x7fe, 0, 0, 0, 0, 0, 0x53],
        [0x2001, 0x503, 0xc27, 0, 0, 0, 2, 0x30],
        [0x2001, 0x7fd, 0, 0, 0, 0, 0, 1],
        [0x2001, 0x500, 0x9f, 0, 0, 0, 0, 0x42],
        [0x2001, 0xdc3, 0, 0, 0, 0, 0, 0x35],
    ];
    let mut v: Vec<IpAddr> = V4.iter().map(|a| IpAddr::V4(Ipv4Addr::from(*a))).collect();
    v.extend(V6.iter().map(|s| {
        IpAddr::V6(Ipv6Addr::new(
            s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7],
        ))
    }));
    v
}

/// Hard limits. Running out of one answers SERVFAIL (with an EDE reason) or sheds the
/// work; nothing grows without bound.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Client queries waiting for an answer at once, over all resolutions. Default
    /// [`common::defaults::MAX_CLIENTS`], as `--max-clients`.
    /// Past it new cache misses are answered SERVFAIL at once. One client prefix holds
    /// at most [`Limits::client_share`] of them.
    pub max_client_queries: usize,
    /// Resolutions in flight at once (client, glueless sub-resolutions, prefetch).
    /// Default 1024.
    pub max_resolutions: usize,
    /// Clients waiting on one resolution (coalesced duplicates). Default 64.
    pub max_waiters_per_resolution: usize,
    /// Upstream queries one resolution may send (retries included). Default 24.
    pub max_upstream_per_query: u16,
    /// Upstream queries one client query (or prefetch) may cost in all: its own and
    /// those of every sub-resolution it starts (glueless NS addresses, their own
    /// sub-resolutions), which spend one shared budget. Default 96, between BIND's
    /// `max-query-count` scale and Unbound's per-query quotas: enough for a CNAME
    /// chain across glueless zones, not for an NXNSAttack's fan-out (issue 14).
    pub max_upstream_per_client_query: u16,
    /// Glueless NS address lookups one client query (or prefetch) may start in all,
    /// over every referral and nesting level. Default 8.
    pub max_ns_lookups_per_client_query: u8,
    /// Questions whose resolution failed that are remembered (RFC 9520), LRU. Default
    /// 1024; 0 turns failure caching off.
    pub max_failure_entries: usize,
    /// Names QNAME minimisation found to exist (data or NODATA for a minimised
    /// question), so later resolutions below them skip that question; LRU. Default
    /// 4096; 0 turns it off (each resolution asks every step again).
    pub max_known_names: usize,
    /// How long a failure is first remembered: a retry inside the window is answered
    /// SERVFAIL at once, without upstream queries. Default 5 s (RFC 9520 §3.2: at
    /// least 1 s).
    pub failure_backoff_min: Duration,
    /// The longest failure window; each failure in a row doubles it up to this.
    /// Default 300 s (RFC 9520: at most 5 minutes).
    pub failure_backoff_max: Duration,
    /// Serve-stale's client response timer (RFC 8767 §5): with serve-stale on, a
    /// client whose question has stale data waits at most this long; then it gets
    /// the stale answer and the resolution goes on to refresh the cache. Default
    /// 1.8 s, RFC 8767's suggestion.
    pub stale_answer_timeout: Duration,
    /// Serve-stale's failure recheck timer (RFC 8767 §5): for this long after a
    /// question's resolution failed, stale data is answered at once, without
    /// resolving. Default 30 s, RFC 8767's suggestion.
    pub stale_failure_recheck: Duration,
    /// Name servers whose parent-side glue is remembered apart from the cache, as the
    /// fallback when the child's own addresses for them fail. Default 4096 (LRU).
    pub max_parent_glue: usize,
    /// NS names without glue that one delegation may resolve. Default 3.
    pub max_ns_resolutions_per_delegation: u8,
    /// Nesting of glueless sub-resolutions (resolving an NS name needs another). Default 3.
    pub max_subquery_depth: u8,
    /// Referrals followed by one resolution. Default 16.
    pub max_referrals: u8,
    /// CNAME (and DNAME) links followed. Default 8.
    pub max_cname_chain: u8,
    /// NS names kept from one referral. Default 13.
    pub max_ns_per_delegation: usize,
    /// Addresses kept per NS name. Default 8.
    pub max_addrs_per_ns: usize,
    /// Records of one response section that scrubbing examines; the rest is dropped
    /// unread (a crafted 64 KB referral holds thousands). Default 512.
    pub max_records_per_section: usize,
    /// Queries outstanding to one server at once. Default 32. A resolution whose
    /// servers are all at this cap waits for a slot (see `max_waiting_resolutions`).
    pub max_in_flight_per_server: u16,
    /// Upstream queries outstanding in total (each holds a local port). Default 2048.
    /// A resolution that finds them all in use waits for one to end, like at the
    /// per-server cap.
    pub max_upstream_in_flight: usize,
    /// Resolutions waiting for an upstream slot (the per-server or the total in-flight
    /// cap was reached when they had to send). They send in arrival order as slots
    /// free, or answer SERVFAIL when `query_timeout` runs out first. Past this cap a
    /// resolution that would have to wait fails at once (SERVFAIL). Default 512, twice
    /// the default `max_client_queries`: every client query of a burst to one slow zone
    /// may wait, and their sub-resolutions too.
    pub max_waiting_resolutions: usize,
    /// Servers whose RTT and capabilities are remembered (LRU). Default 4096.
    pub max_server_entries: usize,
    /// Transmits queued for the app; past it new ones are dropped. Default 4096.
    pub max_transmit_queue: usize,
    /// Total time a client query may take before SERVFAIL. Default 10 s.
    pub query_timeout: Duration,
    /// Timeout for an upstream query to a server with no RTT sample. Default 800 ms.
    pub initial_rto: Duration,
    /// Lower bound of the adaptive upstream timeout. Default 150 ms.
    pub min_rto: Duration,
    /// Upper bound of the adaptive upstream timeout. Default 3 s.
    pub max_rto: Duration,
    /// Largest UDP payload we advertise and send (EDNS, RFC 9715 / flag day 2020).
    /// Default 1232.
    pub max_udp_payload: u16,
    /// DNSSEC: signature verifications (public-key operations) one upstream response
    /// may cost. Default 8: an honest response costs one per RRset (answer, SOA, two
    /// or three NSEC/NSEC3 sets), a KeyTrap response at most this.
    pub dnssec_verifications_per_response: u32,
    /// DNSSEC: of those, how many may fail (a signature that does not verify under a
    /// key of its tag) before the response is bogus. Default 2: an honest response
    /// fails none, or one at a key-tag collision between its keys; a KeyTrap response
    /// (many keys of one tag, many RRSIGs) fails every try and stops after two.
    pub dnssec_failed_verifications_per_response: u32,
    /// DNSSEC: signature verifications one client query's whole tree of resolutions
    /// (the answer, its DNSKEY and DS lookups) may cost. Default 64.
    pub dnssec_verifications_per_client_query: u32,
    /// DNSSEC: DNSKEYs tried for one RRSIG (key-tag collisions) and digested for one
    /// DS. Default 4.
    pub dnssec_keys_per_rrsig: u32,
    /// DNSSEC: RRSIGs considered for one RRset. Default 8.
    pub dnssec_rrsigs_per_rrset: u32,
    /// DNSSEC: NSEC3 owner-name hashes one response may cost. Default 32.
    pub dnssec_nsec3_hashes_per_response: u32,
    /// DNSSEC: DS digests one response may cost. Default 8.
    pub dnssec_ds_digests_per_response: u32,
    /// DNSSEC: DNSKEY and DS lookups one resolution may start. Default 8.
    pub dnssec_key_fetches_per_resolution: u8,
    /// Validated NSEC records (and as many zone SOAs) kept for RFC 8198 synthesis;
    /// when full, the one that expires first goes.
    pub aggressive_nsec_records: u32,
    /// How long a bogus answer's SERVFAIL is kept (RFC 9520 §3.2 says at most 5
    /// minutes; the failure table's backoff starts here). Default 30 s.
    pub bogus_ttl: Duration,
}

impl Limits {
    /// One client's share of [`max_client_queries`](Self::max_client_queries): a
    /// quarter of them, at least 4 (and never more than all). A client is an IPv4
    /// address (/32) or an IPv6 /64 (one host's privacy addresses, or one LAN). Past it
    /// its new cache misses are SERVFAIL at once ("too many queries in flight from
    /// this client"), so one device flooding names under a black-holed zone, each
    /// holding a slot for the whole `query_timeout`, leaves the rest to the others.
    #[must_use]
    pub fn client_share(&self) -> usize {
        (self.max_client_queries / 4)
            .max(4)
            .min(self.max_client_queries)
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_client_queries: defaults::MAX_CLIENTS,
            max_resolutions: 1024,
            max_waiters_per_resolution: 64,
            max_upstream_per_query: 24,
            max_upstream_per_client_query: 96,
            max_ns_lookups_per_client_query: 8,
            max_ns_resolutions_per_delegation: 3,
            max_parent_glue: 4096,
            max_failure_entries: 1024,
            max_known_names: 4096,
            failure_backoff_min: Duration::from_secs(5),
            failure_backoff_max: Duration::from_secs(300),
            stale_answer_timeout: Duration::from_millis(1800),
            stale_failure_recheck: Duration::from_secs(30),
            max_subquery_depth: 3,
            max_referrals: 16,
            max_cname_chain: 8,
            max_ns_per_delegation: 13,
            max_addrs_per_ns: 8,
            max_records_per_section: 512,
            max_in_flight_per_server: 32,
            max_upstream_in_flight: 2048,
            max_waiting_resolutions: 512,
            max_server_entries: 4096,
            max_transmit_queue: 4096,
            query_timeout: Duration::from_secs(10),
            initial_rto: Duration::from_millis(800),
            min_rto: Duration::from_millis(150),
            max_rto: Duration::from_secs(3),
            max_udp_payload: 1232,
            dnssec_verifications_per_response: 8,
            dnssec_failed_verifications_per_response: 2,
            dnssec_verifications_per_client_query: 64,
            dnssec_keys_per_rrsig: 4,
            dnssec_rrsigs_per_rrset: 8,
            dnssec_nsec3_hashes_per_response: 32,
            dnssec_ds_digests_per_response: 8,
            dnssec_key_fetches_per_resolution: 8,
            aggressive_nsec_records: 4096,
            bogus_ttl: Duration::from_secs(30),
        }
    }
}

/// Everything the engine needs to know; [`EngineConfig::default`] is a sensible home
/// resolver (recursive from the IANA root, private clients only, the boot defaults of `common::defaults`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EngineConfig {
    /// Recursive or forwarding.
    pub mode: Mode,
    /// Clients allowed to query; all others get REFUSED.
    pub allow: Vec<Cidr>,
    /// Byte cap of the cache (approximate wire size plus per-entry overhead). Default
    /// [`common::defaults::CACHE_SIZE`], as `--cache-size`.
    pub cache_bytes: usize,
    /// RFC 9156 QNAME minimisation (relaxed: falls back to the full name on NXDOMAIN or
    /// errors). Default true.
    pub qname_minimisation: bool,
    /// Whether upstream servers may be reached over IPv6. Default false (the netstack may
    /// have no IPv6 address).
    pub use_ipv6: bool,
    /// Randomise the letter case of upstream query names (0x20). Default true.
    pub use_0x20: bool,
    /// Lower clamp for positive TTLs. Default 0 s.
    pub min_ttl: Duration,
    /// Upper clamp for positive TTLs. Default 1 day.
    pub max_ttl: Duration,
    /// Upper clamp for negative TTLs (RFC 2308). Default 1 hour.
    pub max_negative_ttl: Duration,
    /// RFC 8767: how long past expiry a record may still be served when resolution fails.
    /// `None` disables serve-stale. Default off, as `--serve-stale`
    /// ([`common::defaults::SERVE_STALE`]; the window when on is
    /// [`common::defaults::STALE_WINDOW`]).
    pub serve_stale: Option<Duration>,
    /// Refresh popular records before they expire: a hit in the last 10 % of a TTL of at
    /// least 10 s starts a background resolution. Default true.
    pub prefetch: bool,
    /// Answer RD=0 queries from the cache. Off by default: RD=0 is how a client asks
    /// what others looked up (cache snooping), so it is REFUSED with EDE 18, as
    /// Unbound's default `access-control: allow` does. As `--allow-snoop`.
    pub allow_snoop: bool,
    /// Hard limits.
    pub limits: Limits,
    /// Home-network policy: blocking, local names, locally served zones, per-domain
    /// servers, rebinding protection.
    pub policy: PolicyConfig,
    /// DNSSEC validation (issue 17).
    pub dnssec: DnssecConfig,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            mode: Mode::Recursive {
                root_hints: iana_root_hints(),
            },
            allow: default_allow(),
            cache_bytes: defaults::CACHE_SIZE,
            qname_minimisation: defaults::QNAME_MINIMISATION,
            use_ipv6: false,
            use_0x20: true,
            min_ttl: Duration::ZERO,
            max_ttl: Duration::from_secs(86_400),
            max_negative_ttl: Duration::from_secs(3_600),
            serve_stale: defaults::SERVE_STALE.then_some(defaults::STALE_WINDOW),
            prefetch: true,
            allow_snoop: false,
            limits: Limits::default(),
            policy: PolicyConfig::default(),
            dnssec: DnssecConfig::default(),
        }
    }
}

/// DNSSEC validation settings (`--dnssec`, `--trust-anchor`, `--domain-insecure`,
/// `--dnssec-clock`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DnssecConfig {
    /// Validate at all. Default true.
    pub enabled: bool,
    /// Trust anchors given on the command line (`--trust-anchor`).
    pub trust_anchors: Vec<dnssec::TrustAnchor>,
    /// Whether the built-in root KSKs ([`dnssec::root_anchors`]) apply: they do unless
    /// the engine recurses from private root hints (anything but
    /// [`iana_root_hints`]), so a lab's private root validates only below the anchors
    /// it is given. Default true.
    pub builtin_root: bool,
    /// Negative trust anchors (`--domain-insecure`): names at and below them are
    /// never validated (RFC 7646). Zone names as text (`example.com`); ones that are
    /// not names are ignored.
    pub negative_anchors: Vec<String>,
    /// Clock error allowed on either side of a signature's validity window.
    /// Default 300 s.
    pub clock_skew: Duration,
    /// `--dnssec-clock=trust`: believe the wall clock even when it reads before the
    /// image's build date. Default false: such a clock is unset, answers are insecure.
    pub trust_clock: bool,
    /// Seconds since the epoch before which the wall clock counts as unset (the
    /// build date). Default 2026-01-01.
    pub clock_floor: u64,
    /// RFC 8198 (`--aggressive-nsec`): answer NXDOMAIN and NODATA from the validated
    /// NSEC records already held, as Unbound does by default. Default true.
    pub aggressive_nsec: bool,
}

impl Default for DnssecConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            trust_anchors: Vec::new(),
            builtin_root: true,
            negative_anchors: Vec::new(),
            clock_skew: Duration::from_secs(300),
            trust_clock: false,
            clock_floor: 1_767_225_600,
            aggressive_nsec: true,
        }
    }
}

pub use common::policy::{AddressRule, BlockAnswer, CnameRule, DomainServers, HostRecord};

/// The policy's hard limits. Past one, the input is refused (boot arguments: by the
/// `config` crate's caps, smaller than these; lists: `set_blocklist` fails and the
/// previous list stays).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyLimits {
    /// Block lists held at once, the `--dns-block` list included. Default 16.
    pub max_lists: usize,
    /// Blocked domains over all lists. Default 2 000 000 (≈ 16.5 MiB at 8 bytes a
    /// domain and the directory).
    pub max_blocked_domains: usize,
    /// Local names (host-record names, their PTRs, aliases). Default 4096.
    pub max_local_names: usize,
    /// Entries of each of the smaller tables (`allow`, `address`, `servers`,
    /// `rebind_ok`). Default 1024.
    pub max_rules: usize,
}

impl Default for PolicyLimits {
    fn default() -> Self {
        Self {
            max_lists: 16,
            max_blocked_domains: 2_000_000,
            max_local_names: 4096,
            max_rules: 1024,
        }
    }
}

/// The home-network policy (dnsmasq's keys). Domains are text (`ads.example`, any
/// case, a trailing dot optional); the `config` crate has checked them, and the
/// engine skips (and counts) any that is not a domain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyConfig {
    /// `--dns-block`: domains blocked with everything below them (list 0, named
    /// "--dns-block"; lists from URLs come through `Engine::set_blocklist`).
    pub block: Vec<String>,
    /// `--dns-allow`: never blocked, by any list, nor as a CNAME target.
    pub allow: Vec<String>,
    /// `--block-answer`.
    pub block_answer: BlockAnswer,
    /// `--host-record`.
    pub hosts: Vec<HostRecord>,
    /// `--address`.
    pub addresses: Vec<AddressRule>,
    /// `--cname`.
    pub cnames: Vec<CnameRule>,
    /// `--domain`: the local domain, served locally (default `home.arpa`, RFC 8375).
    pub domain: String,
    /// TTL of local answers. Default 300 s.
    pub local_ttl: u32,
    /// Serve the default local zones (localhost, invalid, onion, local, the RFC 6303
    /// reverse zones, use-application-dns.net). Default true.
    pub local_zones: bool,
    /// `--server=/DOMAIN/IP`.
    pub servers: Vec<DomainServers>,
    /// `--stop-dns-rebind`: drop private, loopback, link-local and unspecified
    /// addresses from answers for names that are not local. Default true.
    pub stop_rebind: bool,
    /// `--rebind-domain-ok`: domains whose answers may hold such addresses.
    pub rebind_ok: Vec<String>,
    /// `--local-zone-nodefault`: default local zones (of `local_zones`) not served
    /// here but resolved as usual.
    pub nodefault: Vec<String>,
    /// Table caps.
    pub limits: PolicyLimits,
}

impl Default for PolicyConfig {
    fn default() -> Self {
        Self {
            block: Vec::new(),
            allow: Vec::new(),
            block_answer: BlockAnswer::NxDomain,
            hosts: Vec::new(),
            addresses: Vec::new(),
            cnames: Vec::new(),
            domain: String::from(common::defaults::LOCAL_DOMAIN),
            local_ttl: 300,
            local_zones: true,
            servers: Vec::new(),
            stop_rebind: true,
            rebind_ok: Vec::new(),
            nodefault: Vec::new(),
            limits: PolicyLimits::default(),
        }
    }
}

impl PolicyConfig {
    /// The per-domain servers for `name`: the zone (the longest `--server` domain at
    /// or above it) and its servers; `None` if no `--server` covers it.
    pub(crate) fn servers_for(&self, name: &Name) -> Option<(Name, &[SocketAddr])> {
        let mut best: Option<(Name, &[SocketAddr])> = None;
        for d in &self.servers {
            let Ok(mut zone) = Name::from_ascii(&d.domain) else {
                continue;
            };
            zone.set_fqdn(true);
            let deeper = best
                .as_ref()
                .is_none_or(|(b, _)| zone.num_labels() > b.num_labels());
            if deeper && zone.zone_of(name) {
                best = Some((zone, &d.servers));
            }
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_allow_list() {
        let allow = default_allow();
        let ok = |s: &str| allow.iter().any(|c| c.contains(s.parse().unwrap()));
        assert!(ok("127.0.0.1"));
        assert!(ok("10.1.2.3"));
        assert!(ok("172.31.255.1"));
        assert!(!ok("172.32.0.1"));
        assert!(ok("192.168.1.1"));
        assert!(ok("100.127.0.1"));
        assert!(!ok("100.128.0.1"));
        assert!(ok("169.254.3.3"));
        assert!(ok("::1"));
        assert!(ok("fe80::1"));
        assert!(ok("fd00::1"));
        assert!(
            !ok("::ffff:192.168.0.1"),
            "IPv4 blocks match IPv4 packets only"
        );
        assert!(!ok("8.8.8.8"));
        assert!(!ok("2001:db8::1"));
    }

    #[test]
    fn client_share_is_a_quarter_at_least_four() {
        let share = |n| {
            Limits {
                max_client_queries: n,
                ..Limits::default()
            }
            .client_share()
        };
        assert_eq!(share(256), 64);
        assert_eq!(share(16), 4);
        assert_eq!(share(8), 4);
        assert_eq!(share(2), 2);
        assert_eq!(share(0), 0);
    }

    #[test]
    fn root_hints_complete() {
        let h = iana_root_hints();
        assert_eq!(h.len(), 26);
        assert_eq!(h.iter().filter(|a| a.is_ipv4()).count(), 13);
    }

    #[test]
    fn cidr_zero_prefix_matches_all_of_family() {
        let c = Cidr::new("0.0.0.0".parse().unwrap(), 0).unwrap();
        assert!(c.contains("8.8.8.8".parse().unwrap()));
        assert!(!c.contains("2001:db8::1".parse().unwrap()));
    }
}
