//! The resolver's boot command line, parsed into a typed [`Config`].
//!
//! One parser for both builds: the unikernel gets the command line from the tender
//! (`solo5-hvt … resolver.hvt --ipv4=10.0.0.2/24 --ipv4-gateway=10.0.0.1`), the unix
//! build from its own argv after the platform options. Keys are MirageOS-style
//! `--key=value` words separated by spaces; flags are bare `--key`.
//!
//! Nothing starts half-configured: [`Config::parse`] either returns a complete,
//! cross-checked [`Config`] or one [`ConfigError`] whose Display is a single line naming
//! the key, the value and what was expected. `--help` returns [`ConfigError::Help`],
//! whose Display is the reference text ([`write_usage`]). The parser never panics, on any
//! input; its work is bounded by [`MAX_CMDLINE`].
//!
//! `#![no_std]` + `alloc`: addresses are parsed with `core::net`, block list URLs with
//! the `url` crate, `--tls-ca` certificates decoded with `base64`.
#![no_std]
#![deny(unsafe_code)]
#![warn(missing_docs)]

extern crate alloc;

mod error;
pub mod policy;

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use common::defaults;
pub use common::{DEFAULT_ALLOW, IpCidr, Ipv4Cidr, Ipv6Cidr};
pub use error::{ConfigError, MAX_SHOWN_VALUE};
pub use policy::{AddressRule, BlockAnswer, CnameRule, DomainServers, HostRecord, Policy};

/// Longest command line accepted, in bytes (the hvt ABI's 8192-byte buffer less its NUL).
pub const MAX_CMDLINE: usize = 8191;
/// Most upstreams `--forward` takes.
pub const MAX_FORWARDERS: usize = defaults::MAX_FORWARDERS;
/// Most addresses `--root-hints` takes.
pub const MAX_ROOT_HINTS: usize = defaults::MAX_ROOT_HINTS;
/// Most networks `--allow` takes.
pub const MAX_ALLOW: usize = defaults::MAX_ALLOW;

/// Default `--cache-size` ([`defaults::CACHE_SIZE`]).
pub const DEFAULT_CACHE_SIZE: usize = defaults::CACHE_SIZE;
/// Smallest `--cache-size`.
pub const MIN_CACHE_SIZE: usize = defaults::MIN_CACHE_SIZE;
/// Largest `--cache-size`.
pub const MAX_CACHE_SIZE: usize = defaults::MAX_CACHE_SIZE;
/// Default `--max-clients` (client queries being resolved at once).
pub const DEFAULT_MAX_CLIENTS: usize = defaults::MAX_CLIENTS;
/// Largest `--max-clients`.
pub const MAX_MAX_CLIENTS: usize = defaults::MAX_MAX_CLIENTS;
/// Default `--tcp-connections` (concurrent client TCP connections).
pub const DEFAULT_TCP_CONNECTIONS: usize = defaults::TCP_CONNECTIONS;
/// Largest `--tcp-connections`.
pub const MAX_TCP_CONNECTIONS: usize = defaults::MAX_TCP_CONNECTIONS;
/// Default `--stats-interval` in seconds.
pub const DEFAULT_STATS_INTERVAL_SECS: u32 = 60;
/// Largest `--stats-interval` in seconds (one day).
pub const MAX_STATS_INTERVAL_SECS: u32 = 86_400;
/// Largest `--bench-hypercalls` count.
pub const MAX_BENCH_HYPERCALLS: u32 = 10_000_000;

/// How names are resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// Full recursion from the root servers (the default).
    Recursive {
        /// Root server addresses from `--root-hints`; `None` means the built-in IANA hints.
        root_hints: Option<Vec<IpAddr>>,
    },
    /// Forward every cache miss to these upstream resolvers (`--forward`).
    Forward {
        /// Upstream resolvers, in the order given; never empty.
        upstreams: Vec<SocketAddr>,
    },
}

/// Verbosity of the console log (`--log-level`), least verbose first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LogLevel {
    /// Only errors.
    Error,
    /// Errors and warnings.
    Warn,
    /// Also start-up and periodic statistics (the default).
    Info,
    /// Also one line per resolution step.
    Debug,
    /// Everything, including packets.
    Trace,
}

impl LogLevel {
    /// The name used on the command line: `error`, `warn`, `info`, `debug` or `trace`.
    pub const fn as_str(self) -> &'static str {
        match self {
            LogLevel::Error => "error",
            LogLevel::Warn => "warn",
            LogLevel::Info => "info",
            LogLevel::Debug => "debug",
            LogLevel::Trace => "trace",
        }
    }
}

impl fmt::Display for LogLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The resolver's configuration, complete and cross-checked.
///
/// Built by [`Config::parse`]; [`Config::default`] is what an empty command line gives.
/// Its Display is a one-line summary for the boot banner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Static IPv4 address and prefix (`--ipv4`); `None` with [`Config::dhcp`].
    pub ipv4: Option<Ipv4Cidr>,
    /// Default IPv4 router (`--ipv4-gateway`); only with a static `--ipv4`.
    pub ipv4_gateway: Option<Ipv4Addr>,
    /// Static IPv6 address and prefix (`--ipv6`); `None`: no IPv6 (no SLAAC yet).
    pub ipv6: Option<Ipv6Cidr>,
    /// Default IPv6 router (`--ipv6-gateway`); only with `--ipv6`.
    pub ipv6_gateway: Option<Ipv6Addr>,
    /// Whether to get the IPv4 address, router (and nothing else) by DHCPv4. True exactly
    /// when no `--ipv4` was given.
    pub dhcp: bool,
    /// Recursive (the default) or forwarding.
    pub mode: Mode,
    /// Budget of the answer cache in bytes (`--cache-size`), within
    /// [`MIN_CACHE_SIZE`]..=[`MAX_CACHE_SIZE`].
    pub cache_size: usize,
    /// Client networks that get answers (`--allow`); everyone else gets REFUSED.
    pub allow: Vec<IpCidr>,
    /// Whether to send minimal query names upstream, RFC 9156 (`--qname-minimisation`).
    pub qname_minimisation: bool,
    /// Console log verbosity (`--log-level`).
    pub log_level: LogLevel,
    /// Most client queries being resolved at once (`--max-clients`); more are answered
    /// SERVFAIL.
    pub max_clients: usize,
    /// Most concurrent client TCP connections (`--tcp-connections`).
    pub tcp_connections: usize,
    /// Seconds between statistics lines in the log (`--stats-interval`); 0 turns them off.
    pub stats_interval_secs: u32,
    /// Whether to answer from expired cache entries when upstreams fail, RFC 8767
    /// (`--serve-stale`).
    pub serve_stale: bool,
    /// Whether RD=0 queries are answered from the cache (`--allow-snoop`); off, they
    /// are REFUSED (cache snooping).
    pub allow_snoop: bool,
    /// 32 bytes from the host (`--seed=HEX64`), mixed into the resolver's random
    /// generator beside the platform's entropy, never instead of it. Not shown in the
    /// boot banner.
    pub seed: Option<[u8; 32]>,
    /// A crash to stage after boot (`--selftest`), to check the host's fault reporting.
    pub selftest: Option<Selftest>,
    /// Cheap hypercalls to time at boot (`--bench-hypercalls`), to measure what one VM
    /// exit round trip costs on this host; 0 (the default) skips the measurement.
    pub bench_hypercalls: u32,
    /// Blocking, local names and zones, per-domain servers, rebinding protection.
    pub policy: Policy,
    /// DNSSEC validation (`--dnssec`, `--trust-anchor`, `--domain-insecure`,
    /// `--dnssec-clock`).
    pub dnssec: Dnssec,
}

/// Most `--trust-anchor` values.
pub const MAX_TRUST_ANCHORS: usize = 16;
/// Most `--domain-insecure` values.
pub const MAX_DOMAIN_INSECURE: usize = 64;

/// DNSSEC settings from the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dnssec {
    /// Validate (`--dnssec`; default on, in both modes).
    pub enabled: bool,
    /// `--trust-anchor` values, in order. The built-in root anchors are the engine's
    /// and apply unless `--root-hints` is given.
    pub trust_anchors: Vec<dnssec::TrustAnchor>,
    /// `--domain-insecure` zones (lower case, no trailing dot).
    pub domain_insecure: Vec<String>,
    /// `--dnssec-clock=trust`.
    pub trust_clock: bool,
    /// `--dnssec-clock-skew`: seconds of clock error allowed on either side of a
    /// signature's validity window (at most [`MAX_DNSSEC_CLOCK_SKEW`]).
    pub clock_skew_secs: u32,
    /// `--aggressive-nsec` (RFC 8198; default on).
    pub aggressive_nsec: bool,
}

/// Largest `--dnssec-clock-skew` (one day).
pub const MAX_DNSSEC_CLOCK_SKEW: u32 = 86_400;

impl Default for Dnssec {
    fn default() -> Self {
        Dnssec {
            enabled: true,
            trust_anchors: Vec::new(),
            domain_insecure: Vec::new(),
            trust_clock: false,
            clock_skew_secs: 300,
            aggressive_nsec: true,
        }
    }
}

/// Deliberate crashes for `--selftest`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Selftest {
    /// A Rust panic: the platform prints message and location and halts with 255.
    Panic,
    /// A page fault (a read of an unmapped address): registers printed, halt 255.
    Fault,
}

/// The allow list used when `--allow` is not given ([`DEFAULT_ALLOW`]).
pub fn default_allow() -> Vec<IpCidr> {
    DEFAULT_ALLOW.to_vec()
}

impl Default for Config {
    fn default() -> Self {
        Config {
            ipv4: None,
            ipv4_gateway: None,
            ipv6: None,
            ipv6_gateway: None,
            dhcp: true,
            mode: Mode::Recursive { root_hints: None },
            cache_size: DEFAULT_CACHE_SIZE,
            allow: default_allow(),
            qname_minimisation: defaults::QNAME_MINIMISATION,
            log_level: LogLevel::Info,
            max_clients: DEFAULT_MAX_CLIENTS,
            tcp_connections: DEFAULT_TCP_CONNECTIONS,
            stats_interval_secs: DEFAULT_STATS_INTERVAL_SECS,
            serve_stale: defaults::SERVE_STALE,
            allow_snoop: false,
            seed: None,
            selftest: None,
            bench_hypercalls: 0,
            policy: Policy::default(),
            dnssec: Dnssec::default(),
        }
    }
}

/// The keys, in the order `--help` lists them. `value: None` marks a flag.
struct KeySpec {
    name: &'static str,
    /// Short value syntax for `--help` and "needs a value" messages; "" for flags.
    syntax: &'static str,
    /// Expected form with an example, for bad-value messages; `None` for flags.
    value: Option<&'static str>,
    default: &'static str,
    help: &'static str,
}

/// Indexes into [`KEYS`].
#[derive(Clone, Copy)]
enum Key {
    Ipv4,
    Ipv4Gateway,
    Ipv6,
    Ipv6Gateway,
    Dhcp,
    Forward,
    RootHints,
    CacheSize,
    Allow,
    QnameMinimisation,
    ServeStale,
    AllowSnoop,
    Seed,
    MaxClients,
    TcpConnections,
    StatsInterval,
    LogLevel,
    Selftest,
    BenchHypercalls,
    DnsBlock,
    DnsAllow,
    BlockAnswer,
    HostRecord,
    Address,
    Cname,
    Domain,
    Server,
    StopDnsRebind,
    RebindDomainOk,
    LocalZoneNodefault,
    Dnssec,
    TrustAnchor,
    DomainInsecure,
    DnssecClock,
    DnssecClockSkew,
    AggressiveNsec,
    DnsBlocklistUrl,
    TlsCa,
    BlocklistRefresh,
    Help,
}

impl Key {
    const ALL: [Key; 40] = [
        Key::Ipv4,
        Key::Ipv4Gateway,
        Key::Ipv6,
        Key::Ipv6Gateway,
        Key::Dhcp,
        Key::Forward,
        Key::RootHints,
        Key::CacheSize,
        Key::Allow,
        Key::QnameMinimisation,
        Key::ServeStale,
        Key::AllowSnoop,
        Key::Seed,
        Key::MaxClients,
        Key::TcpConnections,
        Key::StatsInterval,
        Key::LogLevel,
        Key::Selftest,
        Key::BenchHypercalls,
        Key::DnsBlock,
        Key::DnsAllow,
        Key::BlockAnswer,
        Key::HostRecord,
        Key::Address,
        Key::Cname,
        Key::Domain,
        Key::Server,
        Key::StopDnsRebind,
        Key::RebindDomainOk,
        Key::LocalZoneNodefault,
        Key::Dnssec,
        Key::TrustAnchor,
        Key::DomainInsecure,
        Key::DnssecClock,
        Key::DnssecClockSkew,
        Key::AggressiveNsec,
        Key::DnsBlocklistUrl,
        Key::TlsCa,
        Key::BlocklistRefresh,
        Key::Help,
    ];

    /// Keys that may be given more than once (each adds an entry).
    const fn repeatable(self) -> bool {
        matches!(
            self,
            Key::DnsBlock
                | Key::DnsAllow
                | Key::HostRecord
                | Key::Address
                | Key::Cname
                | Key::Server
                | Key::RebindDomainOk
                | Key::LocalZoneNodefault
                | Key::TrustAnchor
                | Key::DomainInsecure
                | Key::DnsBlocklistUrl
                | Key::TlsCa
        )
    }

    /// Keys that take a value but may be written bare (`--stop-dns-rebind` = on).
    const fn bare_means(self) -> Option<&'static str> {
        match self {
            Key::StopDnsRebind => Some("on"),
            _ => None,
        }
    }

    const fn spec(self) -> &'static KeySpec {
        &KEYS[self as usize]
    }

    const fn name(self) -> &'static str {
        self.spec().name
    }

    /// The expected form of the value, with an example (flags: empty).
    const fn expected(self) -> &'static str {
        match self.spec().value {
            Some(v) => v,
            None => "",
        }
    }
}

const EXP_IPV4_CIDR: &str = "ADDR/PREFIX, e.g. 10.0.0.2/24";
const EXP_IPV4: &str = "ADDR, e.g. 10.0.0.1";
const EXP_IPV6_CIDR: &str = "ADDR/PREFIX, e.g. 2001:db8::2/64";
const EXP_IPV6: &str = "ADDR, e.g. fe80::1";
const EXP_FORWARD: &str = "IP[:PORT],…, e.g. 1.1.1.1,[2606:4700::1111]:53";
const EXP_ROOT_HINTS: &str = "IP,…, e.g. 198.41.0.4,2001:503:ba3e::2:30";
const EXP_CACHE_SIZE: &str = "BYTES, NK or NM from 64K to 1G, e.g. 16M";
const EXP_ALLOW: &str = "CIDR,…, e.g. 192.168.1.0/24,fd00::/8";
const EXP_ON_OFF: &str = "on or off";
const EXP_SEED: &str = "64 hex digits (32 bytes), e.g. $(openssl rand -hex 32)";
const EXP_MAX_CLIENTS: &str = "N from 1 to 4096";
const EXP_TCP_CONNECTIONS: &str = "N from 1 to 256";
const EXP_STATS_INTERVAL: &str = "SECONDS from 0 (off) to 86400";
const EXP_LOG_LEVEL: &str = "error, warn, info, debug or trace";
const EXP_SELFTEST: &str = "panic or fault";
const EXP_BENCH_HYPERCALLS: &str = "N from 0 (off) to 10000000, e.g. 100000";
const EXP_DOMAIN: &str = "DOMAIN, e.g. ads.example.com";
const EXP_BLOCK_ANSWER: &str = "nxdomain or null";
const EXP_HOST_RECORD: &str = "NAME[,NAME…],ADDR[,ADDR…][,TTL], e.g. nas,192.168.1.5,fd00::5";
const EXP_ADDRESS: &str = "/DOMAIN/[ADDR], e.g. /lab.home.arpa/192.168.1.7";
const EXP_CNAME: &str = "ALIAS,TARGET, e.g. files.home.arpa,nas.home.arpa";
const EXP_LOCAL_DOMAIN: &str = "DOMAIN, e.g. home.arpa";
const EXP_SERVER: &str = "/DOMAIN/IP[#PORT], e.g. /168.192.in-addr.arpa/192.168.1.1";
const EXP_REBIND_OK: &str = "/DOMAIN/, e.g. /plex.direct/";
const EXP_TRUST_ANCHOR: &str = "ZONE:DS:KEYTAG:ALGORITHM:DIGESTTYPE:HEXDIGEST or \
                                ZONE:DNSKEY:FLAGS:PROTOCOL:ALGORITHM:BASE64KEY, e.g. \
                                secure.test:DS:12345:13:2:1F2E…";
const EXP_DNSSEC_CLOCK: &str = "trust";
const EXP_CLOCK_SKEW: &str = "SECONDS (0 to 86400), e.g. 600";
const EXP_BLOCKLIST_URL: &str = "http:// or https:// URL, e.g. https://lists.example/hosts.txt";
const EXP_TLS_CA: &str =
    "base64 of one DER certificate, e.g. $(openssl x509 -in ca.pem -outform der | base64 -w0)";
const EXP_REFRESH: &str = "N[s|m|h|d] from 5s to 30d, e.g. 12h";
const EXP_NODEFAULT: &str = "one of the built-in locally served zones, e.g. 10.in-addr.arpa";

/// The key table; index with [`Key`]. Defaults here are the text `--help` shows and
/// `tests::help_lists_the_real_defaults` keeps them honest.
const KEYS: [KeySpec; 40] = [
    KeySpec {
        name: "--ipv4",
        syntax: "ADDR/PREFIX",
        value: Some(EXP_IPV4_CIDR),
        default: "none, use DHCP",
        help: "static IPv4 address and prefix of this resolver",
    },
    KeySpec {
        name: "--ipv4-gateway",
        syntax: "ADDR",
        value: Some(EXP_IPV4),
        default: "none",
        help: "IPv4 default router (needs --ipv4)",
    },
    KeySpec {
        name: "--ipv6",
        syntax: "ADDR/PREFIX",
        value: Some(EXP_IPV6_CIDR),
        default: "none, no IPv6",
        help: "static IPv6 address and prefix",
    },
    KeySpec {
        name: "--ipv6-gateway",
        syntax: "ADDR",
        value: Some(EXP_IPV6),
        default: "none",
        help: "IPv6 default router, on-link or link-local (needs --ipv6)",
    },
    KeySpec {
        name: "--dhcp",
        syntax: "",
        value: None,
        default: "on when --ipv4 is absent",
        help: "get the IPv4 address and router by DHCP (conflicts with --ipv4)",
    },
    KeySpec {
        name: "--forward",
        syntax: "IP[:PORT],…",
        value: Some(EXP_FORWARD),
        default: "none, recurse",
        help: "forward to these resolvers instead of recursing (port 53 unless given, at most 16)",
    },
    KeySpec {
        name: "--root-hints",
        syntax: "IP,…",
        value: Some(EXP_ROOT_HINTS),
        default: "built-in IANA roots",
        help: "recurse from these root servers, for private roots and labs (at most 16)",
    },
    KeySpec {
        name: "--cache-size",
        syntax: "BYTES|NK|NM|NG",
        value: Some(EXP_CACHE_SIZE),
        default: "8M",
        help: "memory budget of the answer cache, 64K to 1G",
    },
    KeySpec {
        name: "--allow",
        syntax: "CIDR,…",
        value: Some(EXP_ALLOW),
        default: "127.0.0.0/8,10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,100.64.0.0/10,\
                  169.254.0.0/16,::1/128,fe80::/10,fc00::/7",
        help: "client networks that get answers, replacing the default (others: REFUSED; \
               at most 32; a bare ADDR is one host)",
    },
    KeySpec {
        name: "--qname-minimisation",
        syntax: "on|off",
        value: Some(EXP_ON_OFF),
        default: "on",
        help: "send upstream only as much of the name as each server needs (RFC 9156)",
    },
    KeySpec {
        name: "--serve-stale",
        syntax: "on|off",
        value: Some(EXP_ON_OFF),
        default: "off",
        help: "answer from expired cache entries while upstreams fail (RFC 8767)",
    },
    KeySpec {
        name: "--allow-snoop",
        syntax: "",
        value: None,
        default: "off",
        help: "answer queries with RD=0 from the cache; off, they get REFUSED, since they \
               show which names other clients looked up (cache snooping)",
    },
    KeySpec {
        name: "--seed",
        syntax: "HEX64",
        value: Some(EXP_SEED),
        default: "none",
        help: "32 random bytes from the host, mixed into the random generator (query IDs, \
               ports) beside the platform's entropy, never instead of it",
    },
    KeySpec {
        name: "--max-clients",
        syntax: "N",
        value: Some(EXP_MAX_CLIENTS),
        default: "256",
        help: "client queries resolved at once, 1 to 4096; more get SERVFAIL, as do one \
               client's (an IPv4 address, an IPv6 /64) beyond a quarter of them (at least 4)",
    },
    KeySpec {
        name: "--tcp-connections",
        syntax: "N",
        value: Some(EXP_TCP_CONNECTIONS),
        default: "16",
        help: "concurrent client TCP connections, 1 to 256; one client (an IPv4 address, an \
               IPv6 /64) at most half of them (at least 4)",
    },
    KeySpec {
        name: "--stats-interval",
        syntax: "SECONDS",
        value: Some(EXP_STATS_INTERVAL),
        default: "60",
        help: "seconds between statistics lines in the log, up to 86400; 0 turns them off",
    },
    KeySpec {
        name: "--log-level",
        syntax: "error|warn|info|debug|trace",
        value: Some(EXP_LOG_LEVEL),
        default: "info",
        help: "console log verbosity",
    },
    KeySpec {
        name: "--selftest",
        syntax: "panic|fault",
        value: Some(EXP_SELFTEST),
        default: "none",
        help: "diagnostics: crash on purpose after boot (a panic, or a page fault) to check \
               that the host reports it; never use in service",
    },
    KeySpec {
        name: "--bench-hypercalls",
        syntax: "N",
        value: Some(EXP_BENCH_HYPERCALLS),
        default: "0",
        help: "diagnostics: time N cheap hypercalls (wall clock reads) at boot and log the \
               cost of one round trip to the host, then serve as usual",
    },
    KeySpec {
        name: "--dns-block",
        syntax: "DOMAIN",
        value: Some(EXP_DOMAIN),
        default: "none",
        help: "block DOMAIN and every name below it (repeatable, at most 256): NXDOMAIN \
               with EDE 15, or see --block-answer",
    },
    KeySpec {
        name: "--dns-allow",
        syntax: "DOMAIN",
        value: Some(EXP_DOMAIN),
        default: "none",
        help: "never block DOMAIN and names below it, by any list (repeatable, at most 256)",
    },
    KeySpec {
        name: "--block-answer",
        syntax: "nxdomain|null",
        value: Some(EXP_BLOCK_ANSWER),
        default: "nxdomain",
        help: "answer blocked names NXDOMAIN, or null: A 0.0.0.0 / AAAA :: (NODATA for \
               other types)",
    },
    KeySpec {
        name: "--host-record",
        syntax: "NAME[,NAME…],ADDR[,ADDR…][,TTL]",
        value: Some(EXP_HOST_RECORD),
        default: "none",
        help: "local names with their addresses and PTRs, answered authoritatively; a bare \
               NAME also answers under --domain (repeatable, at most 64, 8 names and 8 \
               addresses each, TTL up to 604800, default 300)",
    },
    KeySpec {
        name: "--address",
        syntax: "/DOMAIN/[ADDR]",
        value: Some(EXP_ADDRESS),
        default: "none",
        help: "answer DOMAIN and every name below it with ADDR (no ADDR: NXDOMAIN) \
               (repeatable, at most 64)",
    },
    KeySpec {
        name: "--cname",
        syntax: "ALIAS,TARGET",
        value: Some(EXP_CNAME),
        default: "none",
        help: "answer ALIAS with a CNAME to TARGET, plus TARGET's local records \
               (repeatable, at most 64)",
    },
    KeySpec {
        name: "--domain",
        syntax: "DOMAIN",
        value: Some(EXP_LOCAL_DOMAIN),
        default: "home.arpa",
        help: "the local domain: served here, never forwarded unless a --server covers it",
    },
    KeySpec {
        name: "--server",
        syntax: "/DOMAIN/IP[#PORT]",
        value: Some(EXP_SERVER),
        default: "none",
        help: "forward names at or below DOMAIN to IP (RD=1) whatever the mode, e.g. the \
               router for its local names and reverse zone (repeatable, at most 32 \
               domains, 4 servers each)",
    },
    KeySpec {
        name: "--stop-dns-rebind",
        syntax: "[on|off]",
        value: Some(EXP_ON_OFF),
        default: "on",
        help: "drop private, loopback and link-local addresses from answers for public \
               names (rebinding protection)",
    },
    KeySpec {
        name: "--rebind-domain-ok",
        syntax: "/DOMAIN/",
        value: Some(EXP_REBIND_OK),
        default: "none",
        help: "names at or below DOMAIN may answer private addresses (repeatable, at most 64)",
    },
    KeySpec {
        name: "--local-zone-nodefault",
        syntax: "ZONE",
        value: Some(EXP_NODEFAULT),
        default: "none",
        help: "resolve ZONE like any other name although it is one of the built-in locally \
               served zones (localhost, invalid, onion, local, the RFC 6303 reverse zones), \
               as Unbound's local-zone nodefault (repeatable)",
    },
    KeySpec {
        name: "--dnssec",
        syntax: "on|off",
        value: Some(EXP_ON_OFF),
        default: "on",
        help: "validate DNSSEC from the trust anchors: bogus answers are SERVFAIL with an \
               Extended DNS Error, secure ones get AD for clients that set DO or AD \
               (also with --forward; a forwarder that ignores DO makes answers insecure, said in a \
               warning)",
    },
    KeySpec {
        name: "--trust-anchor",
        syntax: "ZONE:DS:KEYTAG:ALG:DIGESTTYPE:HEX|ZONE:DNSKEY:FLAGS:PROTO:ALG:BASE64",
        value: Some(EXP_TRUST_ANCHOR),
        default: "the root KSKs 20326 and 38696, unless --root-hints is given",
        help: "a DNSSEC trust anchor, as a DS or a DNSKEY with colons for spaces, for labs \
               and private roots (repeatable, at most 16)",
    },
    KeySpec {
        name: "--domain-insecure",
        syntax: "ZONE",
        value: Some(EXP_DOMAIN),
        default: "none",
        help: "a negative trust anchor: names at and below ZONE are not validated \
               (repeatable, at most 64)",
    },
    KeySpec {
        name: "--dnssec-clock",
        syntax: "trust",
        value: Some(EXP_DNSSEC_CLOCK),
        default: "an unset clock (before the build date) makes answers insecure",
        help: "trust the wall clock even when it reads before the image's build date \
               (labs and tests that fix an old date)",
    },
    KeySpec {
        name: "--dnssec-clock-skew",
        syntax: "SECONDS",
        value: Some(EXP_CLOCK_SKEW),
        default: "300",
        help: "clock error allowed on either side of a DNSSEC signature's validity window \
               (at most 86400)",
    },
    KeySpec {
        name: "--aggressive-nsec",
        syntax: "on|off",
        value: Some(EXP_ON_OFF),
        default: "on",
        help: "answer NXDOMAIN and NODATA from validated NSEC records already cached instead \
               of asking again (RFC 8198, as Unbound's aggressive-nsec)",
    },
    KeySpec {
        name: "--dns-blocklist-url",
        syntax: "URL",
        value: Some(EXP_BLOCKLIST_URL),
        default: "none",
        help: "fetch a block list (hosts file, one domain per line, or ||domain^ lines) at \
               boot and every --blocklist-refresh; the previous copy stays if a fetch \
               fails (repeatable, at most 16; the host name is resolved by this resolver)",
    },
    KeySpec {
        name: "--tls-ca",
        syntax: "BASE64-DER",
        value: Some(EXP_TLS_CA),
        default: "none, public roots only",
        help: "also trust this CA for https:// block lists, beside the public roots \
               (repeatable, at most 4; a boot argument holds no file, so the certificate \
               is given as base64 of its DER form)",
    },
    KeySpec {
        name: "--blocklist-refresh",
        syntax: "DURATION",
        value: Some(EXP_REFRESH),
        default: "24h",
        help: "time between fetches of each --dns-blocklist-url (a failed fetch is retried \
               sooner, with backoff)",
    },
    KeySpec {
        name: "--help",
        syntax: "",
        value: None,
        default: "",
        help: "print this text and stop",
    },
];

/// Writes the usage and reference text that `--help` shows: every key, its value syntax
/// with an example, and its default. This is the Display of [`ConfigError::Help`].
pub fn write_usage(f: &mut dyn fmt::Write) -> fmt::Result {
    f.write_str(
        "usage: resolver [--key=value | --flag]...\n\
         A caching DNS resolver. Boot arguments (each key once, unless repeatable):\n",
    )?;
    for spec in &KEYS {
        if spec.syntax.is_empty() {
            write!(f, "  {}", spec.name)?;
        } else {
            write!(f, "  {}={}", spec.name, spec.syntax)?;
        }
        if !spec.default.is_empty() {
            write!(f, "  (default: {})", spec.default)?;
        }
        write!(f, "\n      {}", spec.help)?;
        if let Some((_, example)) = spec.value.and_then(|v| v.split_once("e.g. ")) {
            write!(f, "; e.g. {}={}", spec.name, example)?;
        }
        writeln!(f)?;
    }
    f.write_str("Example: --ipv4=192.168.1.53/24 --ipv4-gateway=192.168.1.1 --cache-size=16M")
}

/// The usage text as a `String` (see [`write_usage`]).
pub fn usage() -> String {
    let mut s = String::new();
    let _ = write_usage(&mut s);
    s
}

impl Config {
    /// Parses a boot command line: `--key=value` and `--flag` words separated by ASCII
    /// whitespace. An empty line gives [`Config::default`].
    ///
    /// Errors: `--help` anywhere gives [`ConfigError::Help`]; otherwise the first problem
    /// in word order, then cross-key problems (`--dhcp` with `--ipv4`, a gateway without
    /// or outside its address, `--forward` with `--root-hints`).
    pub fn parse(cmdline: &str) -> Result<Config, ConfigError> {
        if cmdline.len() > MAX_CMDLINE {
            return Err(ConfigError::TooLong { len: cmdline.len() });
        }
        if cmdline.split_ascii_whitespace().any(|w| w == "--help") {
            return Err(ConfigError::Help);
        }
        let mut cfg = Config::default();
        let mut seen = [false; KEYS.len()];
        let mut forward = None;
        let mut root_hints = None;
        let mut dhcp_flag = false;
        for word in cmdline.split_ascii_whitespace() {
            let (key, value) = split_word(word)?;
            if core::mem::replace(&mut seen[key as usize], true) && !key.repeatable() {
                return Err(ConfigError::Duplicate { key: key.name() });
            }
            match key {
                Key::Ipv4 => cfg.ipv4 = Some(parse_ipv4_cidr(key, value)?),
                Key::Ipv4Gateway => cfg.ipv4_gateway = Some(parse_ipv4_gateway(key, value)?),
                Key::Ipv6 => cfg.ipv6 = Some(parse_ipv6_cidr(key, value)?),
                Key::Ipv6Gateway => cfg.ipv6_gateway = Some(parse_ipv6_gateway(key, value)?),
                Key::Dhcp => dhcp_flag = true,
                Key::Forward => {
                    forward = Some(parse_list(key, value, MAX_FORWARDERS, parse_upstream)?)
                }
                Key::RootHints => {
                    root_hints = Some(parse_list(key, value, MAX_ROOT_HINTS, parse_root_hint)?)
                }
                Key::CacheSize => cfg.cache_size = parse_cache_size(key, value)?,
                Key::Allow => cfg.allow = parse_list(key, value, MAX_ALLOW, parse_allow)?,
                Key::QnameMinimisation => cfg.qname_minimisation = parse_on_off(key, value)?,
                Key::ServeStale => cfg.serve_stale = parse_on_off(key, value)?,
                Key::AllowSnoop => cfg.allow_snoop = true,
                Key::Seed => cfg.seed = Some(parse_seed(key, value)?),
                Key::MaxClients => {
                    cfg.max_clients = parse_number(key, value, 1, MAX_MAX_CLIENTS as u64)? as usize
                }
                Key::TcpConnections => {
                    cfg.tcp_connections =
                        parse_number(key, value, 1, MAX_TCP_CONNECTIONS as u64)? as usize
                }
                Key::StatsInterval => {
                    cfg.stats_interval_secs =
                        parse_number(key, value, 0, u64::from(MAX_STATS_INTERVAL_SECS))? as u32
                }
                Key::LogLevel => cfg.log_level = parse_log_level(key, value)?,
                Key::Selftest => {
                    cfg.selftest = Some(match value {
                        "panic" => Selftest::Panic,
                        "fault" => Selftest::Fault,
                        _ => return Err(bad(key, value, "not a self-test")),
                    })
                }
                Key::BenchHypercalls => {
                    cfg.bench_hypercalls =
                        parse_number(key, value, 0, u64::from(MAX_BENCH_HYPERCALLS))? as u32
                }
                Key::DnsBlock
                | Key::DnsAllow
                | Key::BlockAnswer
                | Key::HostRecord
                | Key::Address
                | Key::Cname
                | Key::Domain
                | Key::Server
                | Key::StopDnsRebind
                | Key::RebindDomainOk
                | Key::LocalZoneNodefault
                | Key::DnsBlocklistUrl
                | Key::TlsCa
                | Key::BlocklistRefresh => parse_policy(&mut cfg.policy, key, value)?,
                Key::Dnssec => cfg.dnssec.enabled = parse_on_off(key, value)?,
                Key::AggressiveNsec => cfg.dnssec.aggressive_nsec = parse_on_off(key, value)?,
                Key::TrustAnchor => {
                    if cfg.dnssec.trust_anchors.len() >= MAX_TRUST_ANCHORS {
                        return Err(bad(key, value, "too many trust anchors"));
                    }
                    let a = dnssec::parse_trust_anchor(value)
                        .map_err(|_| bad(key, value, "not a trust anchor"))?;
                    cfg.dnssec.trust_anchors.push(a);
                }
                Key::DomainInsecure => {
                    if cfg.dnssec.domain_insecure.len() >= MAX_DOMAIN_INSECURE {
                        return Err(bad(key, value, "too many negative trust anchors"));
                    }
                    let d =
                        policy::domain(value).map_err(|_| bad(key, value, "not a domain name"))?;
                    cfg.dnssec.domain_insecure.push(d);
                }
                Key::DnssecClock => {
                    if value != "trust" {
                        return Err(bad(key, value, "the only value is trust"));
                    }
                    cfg.dnssec.trust_clock = true;
                }
                Key::DnssecClockSkew => {
                    cfg.dnssec.clock_skew_secs = value
                        .parse::<u32>()
                        .ok()
                        .filter(|s| *s <= MAX_DNSSEC_CLOCK_SKEW)
                        .ok_or_else(|| bad(key, value, "not a number of seconds up to 86400"))?;
                }
                // Unreachable (handled above), but harmless.
                Key::Help => return Err(ConfigError::Help),
            }
        }

        if dhcp_flag && cfg.ipv4.is_some() {
            return Err(ConfigError::Conflict {
                key: Key::Dhcp.name(),
                other: Key::Ipv4.name(),
                hint: "use either a static address or DHCP",
            });
        }
        cfg.dhcp = cfg.ipv4.is_none();
        match (cfg.ipv4, cfg.ipv4_gateway) {
            (None, Some(_)) => {
                return Err(ConfigError::Requires {
                    key: Key::Ipv4Gateway.name(),
                    needs: Key::Ipv4.name(),
                    hint: "with DHCP the router comes from the DHCP server",
                });
            }
            (Some(net), Some(gw)) if !net.contains(gw) => {
                return Err(ConfigError::GatewayOutsideNetwork {
                    key: Key::Ipv4Gateway.name(),
                    gateway: IpAddr::V4(gw),
                    network: net.into(),
                });
            }
            (Some(net), Some(gw)) if gw == net.addr() => {
                return Err(bad_gateway(
                    Key::Ipv4Gateway,
                    gw,
                    "this resolver's own address",
                ));
            }
            (Some(net), Some(gw))
                if net.prefix() <= 30 && (gw == net.network() || gw == net.broadcast()) =>
            {
                return Err(bad_gateway(
                    Key::Ipv4Gateway,
                    gw,
                    "not a usable host address",
                ));
            }
            _ => {}
        }
        match (cfg.ipv6, cfg.ipv6_gateway) {
            (None, Some(_)) => {
                return Err(ConfigError::Requires {
                    key: Key::Ipv6Gateway.name(),
                    needs: Key::Ipv6.name(),
                    hint: "there is no IPv6 autoconfiguration yet",
                });
            }
            (Some(net), Some(gw)) if !(net.contains(gw) || gw.is_unicast_link_local()) => {
                return Err(ConfigError::GatewayOutsideNetwork {
                    key: Key::Ipv6Gateway.name(),
                    gateway: IpAddr::V6(gw),
                    network: net.into(),
                });
            }
            (Some(net), Some(gw)) if gw == net.addr() => {
                return Err(bad_gateway(
                    Key::Ipv6Gateway,
                    gw,
                    "this resolver's own address",
                ));
            }
            _ => {}
        }
        cfg.mode = match (forward, root_hints) {
            (Some(_), Some(_)) => {
                return Err(ConfigError::Conflict {
                    key: Key::Forward.name(),
                    other: Key::RootHints.name(),
                    hint: "forwarding uses no root servers; choose one mode",
                });
            }
            (Some(upstreams), None) => Mode::Forward { upstreams },
            (None, root_hints) => Mode::Recursive { root_hints },
        };
        Ok(cfg)
    }
}

/// One policy key's value into `p`.
fn parse_policy(p: &mut Policy, key: Key, v: &str) -> Result<(), ConfigError> {
    use policy::{MAX_BLOCK, Problem};
    let r = match key {
        Key::DnsBlock => policy::add_domain(&mut p.block, v, MAX_BLOCK),
        Key::DnsAllow => policy::add_domain(&mut p.allow, v, MAX_BLOCK),
        Key::BlockAnswer => policy::block_answer(v).map(|a| p.block_answer = a),
        Key::HostRecord => policy::host_record(p, v),
        Key::Address => policy::address(p, v),
        Key::Cname => policy::cname(p, v),
        Key::Domain => policy::domain(v).map(|d| p.domain = d),
        Key::Server => policy::server(p, v),
        Key::StopDnsRebind => parse_on_off(key, v)
            .map(|b| p.stop_rebind = b)
            .map_err(Problem::Config),
        Key::RebindDomainOk => policy::rebind_ok(p, v),
        Key::LocalZoneNodefault => policy::nodefault(p, v),
        Key::DnsBlocklistUrl => policy::blocklist_url(p, v),
        Key::TlsCa => policy::tls_ca(p, v),
        Key::BlocklistRefresh => policy::refresh(v).map(|s| p.blocklist_refresh_secs = s),
        _ => Ok(()),
    };
    r.map_err(|e| match e {
        Problem::Bad(item, problem) => bad(key, &item, problem),
        Problem::TooMany(count, max) => ConfigError::TooManyItems {
            key: key.name(),
            count,
            max,
        },
        Problem::Config(e) => e,
    })
}

/// Splits one word into a known key and its value ("" for flags), checking the shape.
fn split_word(word: &str) -> Result<(Key, &str), ConfigError> {
    let not_an_option = || ConfigError::NotAnOption { word: word.into() };
    let body = word.strip_prefix("--").ok_or_else(not_an_option)?;
    let (name, value) = match body.split_once('=') {
        Some((n, v)) => (n, Some(v)),
        None => (body, None),
    };
    if name.is_empty() {
        return Err(not_an_option());
    }
    let Some(key) = Key::ALL.into_iter().find(|k| &k.name()[2..] == name) else {
        return Err(ConfigError::UnknownKey {
            key: format!("--{name}"),
            suggestion: suggest(name),
        });
    };
    match (key.spec().value, value) {
        (None, Some(v)) => Err(ConfigError::UnexpectedValue {
            key: key.name(),
            value: v.into(),
        }),
        (Some(_), None) if key.bare_means().is_some() => Ok((key, key.bare_means().unwrap_or(""))),
        (Some(_), None | Some("")) => Err(ConfigError::MissingValue {
            key: key.name(),
            expected: key.spec().syntax,
        }),
        (_, v) => Ok((key, v.unwrap_or(""))),
    }
}

/// The known key (with `--`) nearest to an unknown `name` (without `--`), if close
/// enough to be a likely slip: a name MirageOS or other resolvers use for the same thing;
/// a key that `name` abbreviates (`--stats`); the key sharing the longest prefix, if that
/// covers two thirds of `name` (`--ipv4-gw`); else the smallest edit distance within a
/// third of the name's length, at least 2 (`--qname-minimization`).
fn suggest(name: &str) -> Option<&'static str> {
    const ALIASES: [(&str, Key); 4] = [
        ("logs", Key::LogLevel),
        ("upstream", Key::Forward),
        ("upstreams", Key::Forward),
        ("forwarder", Key::Forward),
    ];
    if let Some((_, k)) = ALIASES.iter().find(|(a, _)| *a == name) {
        return Some(k.name());
    }
    let keys = || Key::ALL.into_iter().map(|k| (&k.name()[2..], k));
    if name.len() >= 3
        && let Some((_, k)) = keys().find(|(n, _)| n.starts_with(name))
    {
        return Some(k.name());
    }
    let common = |n: &str| {
        n.bytes()
            .zip(name.bytes())
            .take_while(|(a, b)| a == b)
            .count()
    };
    let need = core::cmp::max(4, (name.len() * 2).div_ceil(3));
    if let Some((_, k)) = keys()
        .map(|(n, k)| (common(n), k))
        .filter(|&(c, _)| c >= need)
        .max_by_key(|&(c, _)| c)
    {
        return Some(k.name());
    }
    let limit = core::cmp::max(2, name.chars().count() / 3);
    keys()
        .map(|(n, k)| (edit_distance(name, n), k))
        .filter(|&(d, _)| d <= limit)
        .min_by_key(|&(d, _)| d)
        .map(|(_, k)| k.name())
}

/// Levenshtein distance between `a` (any length) and `b` (a key name, < 32 bytes).
fn edit_distance(a: &str, b: &str) -> usize {
    let b = b.as_bytes();
    let mut row = [0usize; 32];
    let n = b.len().min(row.len() - 1);
    for (j, cell) in row.iter_mut().enumerate().take(n + 1) {
        *cell = j;
    }
    for (i, ca) in a.chars().enumerate() {
        let mut diag = row[0];
        row[0] = i + 1;
        for j in 1..=n {
            let cost = usize::from(ca != char::from(b[j - 1]));
            let next = (row[j] + 1).min(row[j - 1] + 1).min(diag + cost);
            diag = row[j];
            row[j] = next;
        }
    }
    row[n]
}

fn bad(key: Key, value: &str, problem: &'static str) -> ConfigError {
    ConfigError::BadValue {
        key: key.name(),
        value: value.into(),
        problem,
        expected: key.expected(),
    }
}

fn bad_gateway(key: Key, gw: impl fmt::Display, problem: &'static str) -> ConfigError {
    bad(key, &format!("{gw}"), problem)
}

/// A decimal number of at most 19 ASCII digits (no sign, no spaces).
fn decimal(s: &str) -> Option<u64> {
    if s.is_empty() || s.len() > 19 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.bytes().try_fold(0u64, |n, b| {
        n.checked_mul(10)?.checked_add(u64::from(b - b'0'))
    })
}

/// `ADDR/PREFIX` into its parts, the prefix checked against `max`.
fn split_prefix<A: core::str::FromStr>(s: &str, max: u8) -> Option<(A, u8)> {
    let (a, p) = s.split_once('/')?;
    let prefix = decimal(p).filter(|&p| p <= u64::from(max))? as u8;
    Some((a.parse().ok()?, prefix))
}

fn parse_ipv4_cidr(key: Key, v: &str) -> Result<Ipv4Cidr, ConfigError> {
    if !v.contains('/') {
        if v.parse::<Ipv4Addr>().is_ok() {
            return Err(bad(key, v, "missing its /PREFIX"));
        }
        return Err(bad(key, v, "not an IPv4 address with prefix"));
    }
    let (addr, prefix) = split_prefix::<Ipv4Addr>(v, 32)
        .ok_or_else(|| bad(key, v, "not an IPv4 address with prefix"))?;
    let cidr = Ipv4Cidr::new(addr, prefix)
        .ok_or_else(|| bad(key, v, "not an IPv4 address with prefix"))?;
    let usable = prefix > 0
        && !addr.is_unspecified()
        && !addr.is_multicast()
        && !addr.is_broadcast()
        && !addr.is_loopback()
        && (prefix > 30 || (addr != cidr.network() && addr != cidr.broadcast()));
    if !usable {
        return Err(bad(key, v, "not a usable host address"));
    }
    Ok(cidr)
}

fn parse_ipv6_cidr(key: Key, v: &str) -> Result<Ipv6Cidr, ConfigError> {
    if !v.contains('/') {
        if v.parse::<Ipv6Addr>().is_ok() {
            return Err(bad(key, v, "missing its /PREFIX"));
        }
        return Err(bad(key, v, "not an IPv6 address with prefix"));
    }
    let (addr, prefix) = split_prefix::<Ipv6Addr>(v, 128)
        .ok_or_else(|| bad(key, v, "not an IPv6 address with prefix"))?;
    let cidr = Ipv6Cidr::new(addr, prefix)
        .ok_or_else(|| bad(key, v, "not an IPv6 address with prefix"))?;
    if prefix == 0 || addr.is_unspecified() || addr.is_multicast() || addr.is_loopback() {
        return Err(bad(key, v, "not a usable host address"));
    }
    Ok(cidr)
}

fn parse_ipv4_gateway(key: Key, v: &str) -> Result<Ipv4Addr, ConfigError> {
    let a: Ipv4Addr = v.parse().map_err(|_| bad(key, v, "not an IPv4 address"))?;
    if a.is_unspecified() || a.is_multicast() || a.is_broadcast() || a.is_loopback() {
        return Err(bad(key, v, "not a unicast address"));
    }
    Ok(a)
}

fn parse_ipv6_gateway(key: Key, v: &str) -> Result<Ipv6Addr, ConfigError> {
    let a: Ipv6Addr = v.parse().map_err(|_| bad(key, v, "not an IPv6 address"))?;
    if a.is_unspecified() || a.is_multicast() || a.is_loopback() {
        return Err(bad(key, v, "not a unicast address"));
    }
    Ok(a)
}

/// Whether `ip` can be a DNS server to send queries to.
fn is_unicast(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => !(a.is_unspecified() || a.is_multicast() || a.is_broadcast()),
        IpAddr::V6(a) => !(a.is_unspecified() || a.is_multicast()),
    }
}

/// A comma-separated list of at most `max` items, each parsed by `item`.
fn parse_list<T>(
    key: Key,
    v: &str,
    max: usize,
    item: fn(Key, &str) -> Result<T, ConfigError>,
) -> Result<Vec<T>, ConfigError> {
    let count = v.split(',').count();
    if count > max {
        return Err(ConfigError::TooManyItems {
            key: key.name(),
            count,
            max,
        });
    }
    v.split(',').map(|s| item(key, s)).collect()
}

/// `IP`, `IPv4:PORT`, `[IPv6]:PORT` or `[IPv6]`; the port defaults to 53.
fn parse_upstream(key: Key, s: &str) -> Result<SocketAddr, ConfigError> {
    const PROBLEM: &str = "not an IP address with optional port";
    let sa = if let Ok(ip) = s.parse::<IpAddr>() {
        SocketAddr::new(ip, 53)
    } else if let Some(inner) = s.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
        let ip: Ipv6Addr = inner.parse().map_err(|_| bad(key, s, PROBLEM))?;
        SocketAddr::new(IpAddr::V6(ip), 53)
    } else {
        let (host, port) = s.rsplit_once(':').ok_or_else(|| bad(key, s, PROBLEM))?;
        let port = decimal(port)
            .filter(|p| (1..=65535).contains(p))
            .ok_or_else(|| bad(key, s, PROBLEM))? as u16;
        let ip = if let Some(inner) = host.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
            IpAddr::V6(inner.parse().map_err(|_| bad(key, s, PROBLEM))?)
        } else {
            IpAddr::V4(host.parse().map_err(|_| bad(key, s, PROBLEM))?)
        };
        SocketAddr::new(ip, port)
    };
    if !is_unicast(sa.ip()) {
        return Err(bad(key, s, "not a unicast address"));
    }
    Ok(sa)
}

fn parse_root_hint(key: Key, s: &str) -> Result<IpAddr, ConfigError> {
    let ip: IpAddr = s.parse().map_err(|_| bad(key, s, "not an IP address"))?;
    if !is_unicast(ip) {
        return Err(bad(key, s, "not a unicast address"));
    }
    Ok(ip)
}

/// `ADDR/PREFIX` or a bare `ADDR` (one host).
fn parse_allow(key: Key, s: &str) -> Result<IpCidr, ConfigError> {
    const PROBLEM: &str = "not an IP network";
    if !s.contains('/') {
        return match s.parse::<IpAddr>() {
            Ok(ip @ IpAddr::V4(_)) => IpCidr::new(ip, 32),
            Ok(ip @ IpAddr::V6(_)) => IpCidr::new(ip, 128),
            Err(_) => None,
        }
        .ok_or_else(|| bad(key, s, PROBLEM));
    }
    let (a, p) = s.split_once('/').ok_or_else(|| bad(key, s, PROBLEM))?;
    let ip: IpAddr = a.parse().map_err(|_| bad(key, s, PROBLEM))?;
    let prefix = decimal(p)
        .filter(|&p| p <= 128)
        .ok_or_else(|| bad(key, s, PROBLEM))?;
    IpCidr::new(ip, prefix as u8).ok_or_else(|| bad(key, s, PROBLEM))
}

/// `BYTES`, `NK`, `NM` or `NG` (binary multiples, either case), within the cache bounds.
fn parse_cache_size(key: Key, v: &str) -> Result<usize, ConfigError> {
    let (digits, unit) = match v.as_bytes().last() {
        Some(b'k' | b'K') => (&v[..v.len() - 1], 1u64 << 10),
        Some(b'm' | b'M') => (&v[..v.len() - 1], 1 << 20),
        Some(b'g' | b'G') => (&v[..v.len() - 1], 1 << 30),
        _ => (v, 1),
    };
    let n = decimal(digits).ok_or_else(|| bad(key, v, "not a size"))?;
    match n.checked_mul(unit) {
        Some(b) if (MIN_CACHE_SIZE as u64..=MAX_CACHE_SIZE as u64).contains(&b) => Ok(b as usize),
        _ => Err(bad(key, v, "out of range")),
    }
}

/// 64 hex digits (either case) into 32 bytes. The error does not quote the value: a
/// seed with one typo is still most of a secret.
fn parse_seed(key: Key, v: &str) -> Result<[u8; 32], ConfigError> {
    let hidden = |problem| ConfigError::BadValue {
        key: key.name(),
        value: format!("<{} characters, not shown>", v.chars().count()),
        problem,
        expected: key.expected(),
    };
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    };
    if v.len() != 64 {
        return Err(hidden("not 64 hex digits long"));
    }
    let mut out = [0u8; 32];
    for (o, pair) in out.iter_mut().zip(v.as_bytes().chunks_exact(2)) {
        let (Some(&hi), Some(&lo)) = (pair.first(), pair.get(1)) else {
            return Err(hidden("not 64 hex digits long"));
        };
        match (digit(hi), digit(lo)) {
            (Some(h), Some(l)) => *o = h << 4 | l,
            _ => return Err(hidden("not hexadecimal")),
        }
    }
    Ok(out)
}

fn parse_on_off(key: Key, v: &str) -> Result<bool, ConfigError> {
    match v {
        "on" => Ok(true),
        "off" => Ok(false),
        _ => Err(bad(key, v, "neither on nor off")),
    }
}

fn parse_number(key: Key, v: &str, min: u64, max: u64) -> Result<u64, ConfigError> {
    let n = decimal(v).ok_or_else(|| bad(key, v, "not a number"))?;
    if !(min..=max).contains(&n) {
        return Err(bad(key, v, "out of range"));
    }
    Ok(n)
}

fn parse_log_level(key: Key, v: &str) -> Result<LogLevel, ConfigError> {
    Ok(match v {
        "error" => LogLevel::Error,
        "warn" => LogLevel::Warn,
        "info" => LogLevel::Info,
        "debug" => LogLevel::Debug,
        "trace" => LogLevel::Trace,
        _ => return Err(bad(key, v, "not a log level")),
    })
}

/// A byte count the way `--cache-size` takes it: `8M`, `64K` or plain bytes.
struct Size(usize);

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0;
        if n != 0 && n.is_multiple_of(1 << 30) {
            write!(f, "{}G", n >> 30)
        } else if n != 0 && n.is_multiple_of(1 << 20) {
            write!(f, "{}M", n >> 20)
        } else if n != 0 && n.is_multiple_of(1 << 10) {
            write!(f, "{}K", n >> 10)
        } else {
            write!(f, "{n}")
        }
    }
}

/// Items separated by commas.
struct Commas<'a, T>(&'a [T]);

impl<T: fmt::Display> fmt::Display for Commas<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, x) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{x}")?;
        }
        Ok(())
    }
}

const fn on_off(b: bool) -> &'static str {
    if b { "on" } else { "off" }
}

impl fmt::Display for Config {
    /// One line for the boot banner, e.g. `ipv4 10.0.0.2/24 via 10.0.0.1, ipv6 off,
    /// recursive (built-in root hints), cache 8M, allow default (9 networks), …`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.ipv4, self.ipv4_gateway) {
            (Some(a), Some(gw)) => write!(f, "ipv4 {a} via {gw}")?,
            (Some(a), None) => write!(f, "ipv4 {a}")?,
            (None, _) => f.write_str("ipv4 dhcp")?,
        }
        match (self.ipv6, self.ipv6_gateway) {
            (Some(a), Some(gw)) => write!(f, ", ipv6 {a} via {gw}")?,
            (Some(a), None) => write!(f, ", ipv6 {a}")?,
            (None, _) => f.write_str(", ipv6 off")?,
        }
        match &self.mode {
            Mode::Recursive { root_hints: None } => {
                f.write_str(", recursive (built-in root hints)")?
            }
            Mode::Recursive {
                root_hints: Some(h),
            } => write!(f, ", recursive (root hints {})", Commas(h))?,
            Mode::Forward { upstreams } => write!(f, ", forward to {}", Commas(upstreams))?,
        }
        write!(f, ", cache {}", Size(self.cache_size))?;
        if self.allow == default_allow() {
            write!(f, ", allow private networks ({} default)", self.allow.len())?;
        } else {
            write!(f, ", allow {}", Commas(&self.allow))?;
        }
        write!(
            f,
            ", qname-minimisation {}, serve-stale {}, max-clients {}, tcp-connections {}",
            on_off(self.qname_minimisation),
            on_off(self.serve_stale),
            self.max_clients,
            self.tcp_connections
        )?;
        if self.allow_snoop {
            f.write_str(", allow-snoop")?;
        }
        if self.seed.is_some() {
            f.write_str(", host seed given")?;
        }
        let lists = &self.policy.blocklist_urls;
        if !lists.is_empty() {
            write!(
                f,
                ", {} block list URL{} every {}",
                lists.len(),
                if lists.len() == 1 { "" } else { "s" },
                policy::Duration(self.policy.blocklist_refresh_secs)
            )?;
            if !self.policy.tls_cas.is_empty() {
                write!(f, " (+{} CA)", self.policy.tls_cas.len())?;
            }
        }
        match self.stats_interval_secs {
            0 => f.write_str(", stats off")?,
            s => write!(f, ", stats every {s}s")?,
        }
        write!(f, ", log {}", self.log_level)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn help_lists_the_real_defaults() {
        let d = Config::default();
        assert_eq!(
            KEYS[Key::CacheSize as usize].default,
            format!("{}", Size(d.cache_size))
        );
        assert_eq!(
            KEYS[Key::Allow as usize].default,
            format!("{}", Commas(&d.allow))
        );
        assert_eq!(
            KEYS[Key::MaxClients as usize].default,
            format!("{}", d.max_clients)
        );
        assert_eq!(
            KEYS[Key::TcpConnections as usize].default,
            format!("{}", d.tcp_connections)
        );
        assert_eq!(
            KEYS[Key::StatsInterval as usize].default,
            format!("{}", d.stats_interval_secs)
        );
        assert_eq!(KEYS[Key::LogLevel as usize].default, d.log_level.as_str());
        assert_eq!(
            KEYS[Key::QnameMinimisation as usize].default,
            on_off(d.qname_minimisation)
        );
        assert_eq!(
            KEYS[Key::ServeStale as usize].default,
            on_off(d.serve_stale)
        );
        assert_eq!(
            KEYS[Key::AllowSnoop as usize].default,
            on_off(d.allow_snoop)
        );
        assert_eq!(d.seed, None);
        assert_eq!(
            format!("{MAX_MAX_CLIENTS}"),
            EXP_MAX_CLIENTS.rsplit(' ').next().unwrap()
        );
        assert_eq!(
            format!("{MAX_TCP_CONNECTIONS}"),
            EXP_TCP_CONNECTIONS.rsplit(' ').next().unwrap()
        );
    }

    #[test]
    fn key_table_matches_enum() {
        for (i, k) in Key::ALL.into_iter().enumerate() {
            assert_eq!(k as usize, i);
            assert!(k.name().starts_with("--") && k.name().len() < 31);
        }
    }

    #[test]
    fn edit_distance_basics() {
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("ipv4", "ipv4"), 0);
        assert_eq!(edit_distance("ipv5", "ipv4"), 1);
        assert_eq!(edit_distance("qname-minimization", "qname-minimisation"), 1);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }

    #[test]
    fn sizes_display() {
        assert_eq!(format!("{}", Size(8 << 20)), "8M");
        assert_eq!(format!("{}", Size(1 << 30)), "1G");
        assert_eq!(format!("{}", Size(65 << 10)), "65K");
        assert_eq!(format!("{}", Size(100_000)), "100000");
    }
}
