//! The lab internet's zones and the servers that carry them.
//!
//! A small but real delegation tree on documentation addresses: a root, two TLDs, zones
//! with a CNAME chain across zones, a glueless delegation, a zone whose only server speaks
//! IPv6, a name whose TXT RRset does not fit in 1232 bytes (so UDP answers are truncated
//! and resolvers must retry over TCP), names that do not exist and names without the
//! asked type, and one with a TTL of a second (stale almost at once, for serve-stale).
//! And a wildcard zone, [`BENCH_ZONE`], with as many names as a benchmark
//! wants.

/// One authoritative server of the lab: the addresses it listens on and its zones.
pub struct Server {
    /// Short name, used for file names and logs.
    pub name: &'static str,
    /// Addresses it answers on (put on the namespace's loopback).
    pub addrs: &'static [&'static str],
    /// `(origin, zone file text)` pairs.
    pub zones: Vec<(&'static str, String)>,
}

/// The lab's root server addresses (what `--root-hints` gets).
pub const ROOT_HINTS: &[&str] = &["198.51.100.1", "2001:db8::1"];

/// A zone with a wildcard A record (TTL one day) for benchmarks: any name under it
/// resolves, one delegation below `example.`.
pub const BENCH_ZONE: &str = "bench.example.";

const SOA_TIMES: &str = "1 1800 900 604800 300";

fn zone(origin: &str, ns: &str, body: &str) -> String {
    format!(
        "$ORIGIN {origin}\n$TTL 3600\n@ 3600 IN SOA {ns} hostmaster.nic.test. {SOA_TIMES}\n{body}\n"
    )
}

/// A TXT RRset of 40 strings of 60 characters: about 2.5 kB on the wire, more than an
/// EDNS payload of 1232, so a UDP answer must be truncated.
fn big_txt() -> String {
    (0..40)
        .map(|i| format!("big IN TXT \"record-{i:02}-{}\"\n", "x".repeat(50)))
        .collect()
}

/// The lab's servers and zones.
pub fn servers() -> Vec<Server> {
    vec![
        Server {
            name: "root",
            addrs: &["198.51.100.1", "2001:db8::1"],
            zones: vec![(
                ".",
                zone(
                    ".",
                    "a.root-servers.test.",
                    "@ 518400 IN NS a.root-servers.test.\n\
                     a.root-servers.test. 518400 IN A 198.51.100.1\n\
                     a.root-servers.test. 518400 IN AAAA 2001:db8::1\n\
                     test. 172800 IN NS ns1.nic.test.\n\
                     test. 172800 IN NS ns2.nic.test.\n\
                     ns1.nic.test. 172800 IN A 198.51.100.10\n\
                     ns1.nic.test. 172800 IN AAAA 2001:db8::10\n\
                     ns2.nic.test. 172800 IN A 198.51.100.11\n\
                     example. 172800 IN NS ns1.nic.example.\n\
                     ns1.nic.example. 172800 IN A 198.51.100.20\n\
                     ns1.nic.example. 172800 IN AAAA 2001:db8::20\n",
                ),
            )],
        },
        Server {
            name: "tld-test",
            addrs: &["198.51.100.10", "198.51.100.11", "2001:db8::10"],
            zones: vec![(
                "test.",
                zone(
                    "test.",
                    "ns1.nic.test.",
                    "@ IN NS ns1.nic.test.\n\
                     @ IN NS ns2.nic.test.\n\
                     ns1.nic IN A 198.51.100.10\n\
                     ns1.nic IN AAAA 2001:db8::10\n\
                     ns2.nic IN A 198.51.100.11\n\
                     a.root-servers IN A 198.51.100.1\n\
                     a.root-servers IN AAAA 2001:db8::1\n\
                     shop IN NS ns1.shop.test.\n\
                     ns1.shop IN A 203.0.113.10\n\
                     glueless IN NS ns.hosting.example.\n\
                     v6only IN NS ns.v6only.test.\n\
                     ns.v6only IN AAAA 2001:db8:6::53\n",
                ),
            )],
        },
        Server {
            name: "tld-example",
            addrs: &["198.51.100.20", "2001:db8::20"],
            zones: vec![(
                "example.",
                zone(
                    "example.",
                    "ns1.nic.example.",
                    "@ IN NS ns1.nic.example.\n\
                     ns1.nic IN A 198.51.100.20\n\
                     ns1.nic IN AAAA 2001:db8::20\n\
                     cdn IN NS ns1.cdn.example.\n\
                     ns1.cdn IN A 203.0.113.20\n\
                     hosting IN NS ns1.hosting.example.\n\
                     ns1.hosting IN A 203.0.113.30\n\
                     bench IN NS ns1.bench.example.\n\
                     ns1.bench IN A 203.0.113.40\n",
                ),
            )],
        },
        Server {
            name: "shop",
            addrs: &["203.0.113.10"],
            zones: vec![(
                "shop.test.",
                zone(
                    "shop.test.",
                    "ns1.shop.test.",
                    &format!(
                        "@ IN NS ns1.shop.test.\n\
                         ns1 IN A 203.0.113.10\n\
                         www IN CNAME www.cdn.example.\n\
                         alias IN CNAME www\n\
                         mail IN A 203.0.113.25\n\
                         fleeting 1 IN A 203.0.113.26\n\
                         @ IN MX 10 mail\n\
                         {}",
                        big_txt()
                    ),
                ),
            )],
        },
        Server {
            name: "cdn",
            addrs: &["203.0.113.20"],
            zones: vec![(
                "cdn.example.",
                zone(
                    "cdn.example.",
                    "ns1.cdn.example.",
                    "@ IN NS ns1.cdn.example.\n\
                     ns1 IN A 203.0.113.20\n\
                     www 300 IN A 203.0.113.80\n\
                     www 300 IN AAAA 2001:db8:80::80\n",
                ),
            )],
        },
        Server {
            name: "hosting",
            addrs: &["203.0.113.30"],
            zones: vec![(
                "hosting.example.",
                zone(
                    "hosting.example.",
                    "ns1.hosting.example.",
                    "@ IN NS ns1.hosting.example.\n\
                     ns1 IN A 203.0.113.30\n\
                     ns IN A 203.0.113.31\n",
                ),
            )],
        },
        Server {
            name: "glueless",
            addrs: &["203.0.113.31"],
            zones: vec![(
                "glueless.test.",
                zone(
                    "glueless.test.",
                    "ns.hosting.example.",
                    "@ IN NS ns.hosting.example.\n\
                     www IN A 203.0.113.81\n",
                ),
            )],
        },
        Server {
            // For `cargo xtask bench`: a wildcard, so every name under it exists and can
            // be fetched cold or cached in any number.
            name: "bench",
            addrs: &["203.0.113.40"],
            zones: vec![(
                BENCH_ZONE,
                zone(
                    BENCH_ZONE,
                    "ns1.bench.example.",
                    "@ IN NS ns1.bench.example.\n\
                     ns1 IN A 203.0.113.40\n\
                     * 86400 IN A 203.0.113.99\n",
                ),
            )],
        },
        Server {
            name: "v6only",
            addrs: &["2001:db8:6::53"],
            zones: vec![(
                "v6only.test.",
                zone(
                    "v6only.test.",
                    "ns.v6only.test.",
                    "@ IN NS ns.v6only.test.\n\
                     ns IN AAAA 2001:db8:6::53\n\
                     www IN A 203.0.113.82\n\
                     www IN AAAA 2001:db8:6::82\n",
                ),
            )],
        },
    ]
}
