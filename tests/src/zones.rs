//! The lab internet's zones and the servers that carry them.
//!
//! A small but real delegation tree on documentation addresses: a root, two TLDs, zones
//! with a CNAME chain across zones, a glueless delegation, a zone whose only server speaks
//! IPv6, a name whose TXT RRset does not fit in 1232 bytes (so UDP answers are truncated
//! and resolvers must retry over TCP), names that do not exist and names without the
//! asked type, and one with a TTL of a second (stale almost at once, for serve-stale).
//! And a wildcard zone, [`BENCH_ZONE`], with as many names as a benchmark
//! wants.
//!
//! And the shapes that tripped resolvers up before (issue 14): a server that marks its
//! referrals authoritative (`aaref.test`), parent glue that works while the child's own
//! address for its server does not (`glue.test`), a DNAME (`old.dname.test`), a CNAME
//! into a delegated child of the same zone (`cdnalias.example`), a reverse IPv6 zone
//! four cuts and 34 labels deep (`ip6.arpa`), four zones whose servers sit on the LAN
//! itself with a CNAME chain across them (`on1.test`..`on4.test`, first contact by
//! ARP/NDP).
//!
//! And DNSSEC (issue 17, see [`SIGNED`]): the root and `test.` are signed, with secure
//! zones below for algorithms 8, 13 and 15, NSEC and NSEC3 (one with opt-out and an
//! unsigned child), wildcards and CNAMEs into unsigned zones, and deliberately broken
//! zones (expired, not yet valid, DS matching no key, RRSIGs stripped, a bad
//! signature).
//!
//! And an attacker for the NXNSAttack and NRDelegation shapes (issue 14, item 11):
//! `attack.test` delegates many names, each to [`ATTACK_FANOUT`] glueless NS names in
//! a victim's zone: `nxvictim.test`, whose server answers NXDOMAIN for them, or
//! `bhvictim.test`, whose server address [`BLACK_HOLE`] is a black hole (the lab's
//! counting sink takes the datagrams and never answers). See [`attack_wide`],
//! [`attack_black_hole`] and [`attack_chain`].

/// One authoritative server of the lab: the addresses it listens on and its zones.
#[derive(Debug, Clone)]
pub struct Server {
    /// Short name, used for file names and logs.
    pub name: &'static str,
    /// Addresses it answers on (put on the namespace's loopback).
    pub addrs: &'static [&'static str],
    /// `(origin, zone file text)` pairs.
    pub zones: Vec<(&'static str, String)>,
    /// How it misbehaves, if it does.
    pub quirk: Option<Quirk>,
}

/// A server that answers unlike NSD would, the way some servers in the field do.
#[derive(Debug, Clone, Copy)]
pub enum Quirk {
    /// Sets AA on every answer, referrals included (seen from load balancers and some
    /// appliances in front of authoritative servers). NSD really listens on `backend`
    /// (a loopback address) and a proxy ([`crate::quirk`]) on the server's addresses
    /// copies each answer back with the bit set.
    AaOnReferrals {
        /// Where NSD listens (port 53).
        backend: &'static str,
    },
}

/// How the lab signs one zone at start ([`SIGNED`]).
#[derive(Debug, Clone, Copy)]
pub struct Signing {
    /// The zone's origin.
    pub origin: &'static str,
    /// The key's algorithm, as `ldns-keygen -a` names it.
    pub algorithm: &'static str,
    /// How the zone denies existence.
    pub denial: Denial,
    /// How the zone is deliberately broken, if it is.
    pub fault: Option<Fault>,
}

/// NSEC or NSEC3 (RFC 5155) for a signed zone.
#[derive(Debug, Clone, Copy)]
pub enum Denial {
    /// NSEC records.
    Nsec,
    /// NSEC3 records with this hex salt and these extra iterations; with `opt_out`,
    /// unsigned delegations get no NSEC3 record of their own (RFC 5155 §6).
    Nsec3 {
        /// Salt, hex.
        salt: &'static str,
        /// Additional hash iterations.
        iterations: u16,
        /// The opt-out flag on every NSEC3 record.
        opt_out: bool,
    },
}

/// A deliberately broken signed zone: what a validator must call bogus.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Every signature expired a week ago (valid from two weeks ago).
    Expired,
    /// Every signature becomes valid only in a week.
    NotYetValid,
    /// The parent's DS is the digest of another key, one the zone does not carry.
    DsMismatch,
    /// Signed, then every RRSIG taken out again (DNSKEY and NSEC records stay).
    NoRrsigs,
    /// The RRSIG over `www`'s A RRset has one character of its signature changed.
    BadSignature,
}

/// The lab's DNSSEC (issue 17): the root, `test.` and the zones below, signed at lab
/// start with `ldns-keygen`/`ldns-signzone` (one key each, used as KSK and ZSK),
/// deepest first, so that each one's DS record lands in its parent before the parent
/// is signed. The root's DS ([`crate::lab::Lab::ds`] of `.`) is the lab's private
/// trust anchor: a resolver given it validates the whole tree; one given none (and
/// `--root-hints`) treats all of it as insecure, and the lab's plain Unbound does not
/// validate at all. `example.`, `arpa.` and every other zone stay unsigned: insecure
/// delegations proven by the NSEC records of the signed root and `test.`.
pub const SIGNED: &[Signing] = &[
    signed("secure.test.", "ECDSAP256SHA256"),
    signed("rsa.test.", "RSASHA256"),
    signed("ed.test.", "ED25519"),
    Signing {
        origin: "nsec3.test.",
        algorithm: "ECDSAP256SHA256",
        denial: Denial::Nsec3 {
            salt: "c0ffee42",
            iterations: 5,
            opt_out: false,
        },
        fault: None,
    },
    Signing {
        origin: "optout.test.",
        algorithm: "ECDSAP256SHA256",
        denial: Denial::Nsec3 {
            salt: "5a17",
            iterations: 2,
            opt_out: true,
        },
        fault: None,
    },
    Signing {
        // Above RFC 9276's limit of 150 (and Unbound's): insecure, EDE 27.
        origin: "manyiter.test.",
        algorithm: "ECDSAP256SHA256",
        denial: Denial::Nsec3 {
            salt: "ab",
            iterations: 200,
            opt_out: false,
        },
        fault: None,
    },
    broken("expired.test.", Fault::Expired),
    broken("future.test.", Fault::NotYetValid),
    broken("badds.test.", Fault::DsMismatch),
    broken("nosig.test.", Fault::NoRrsigs),
    broken("badsig.test.", Fault::BadSignature),
    signed("test.", "ECDSAP256SHA256"),
    signed(".", "RSASHA256"),
];

const fn signed(origin: &'static str, algorithm: &'static str) -> Signing {
    Signing {
        origin,
        algorithm,
        denial: Denial::Nsec,
        fault: None,
    }
}

const fn broken(origin: &'static str, fault: Fault) -> Signing {
    Signing {
        origin,
        algorithm: "ECDSAP256SHA256",
        denial: Denial::Nsec,
        fault: Some(fault),
    }
}

/// The zones of the lab's DNSSEC server (203.0.113.66): secure zones per algorithm,
/// NSEC3 zones and the broken ones of [`SIGNED`], all delegated from `test.`.
pub const DNSSEC_ZONES: &[&str] = &[
    "rsa.test.",
    "ed.test.",
    "nsec3.test.",
    "optout.test.",
    "manyiter.test.",
    "expired.test.",
    "future.test.",
    "badds.test.",
    "nosig.test.",
    "badsig.test.",
];

/// The DNSSEC server's address.
pub const DNSSEC_SERVER: &str = "203.0.113.66";
/// The unsigned zone below the NSEC3 opt-out zone (an insecure delegation without a
/// NSEC3 record of its own), on its own server.
pub const OPT_OUT_CHILD: &str = "unsigned.optout.test.";

/// Whether a lab address sits on the LAN itself (the bridge) rather than behind the
/// gateway: the servers of the `on1.test`..`on4.test` zones, which a resolver reaches
/// with ARP/NDP of its own.
pub fn on_link(addr: &str) -> bool {
    addr.starts_with("10.53.0.") || addr.starts_with("fd53::")
}

/// The lab's root server addresses (what `--root-hints` gets).
pub const ROOT_HINTS: &[&str] = &["198.51.100.1", "2001:db8::1"];

/// A zone with a wildcard A record (TTL one day) for benchmarks: any name under it
/// resolves, one delegation below `example.`.
pub const BENCH_ZONE: &str = "bench.example.";

/// The NXNS attacker's zone, served by the lab server `nxns-attacker` (203.0.113.100).
pub const ATTACK_ZONE: &str = "attack.test.";
/// The answering victim's zone (server `nxns-victim`, 203.0.113.101): only its apex
/// exists, so every NS name of the attack is NXDOMAIN there.
pub const NX_VICTIM_ZONE: &str = "nxvictim.test.";
/// The black-holed victim's zone: delegated in `test.` to [`BLACK_HOLE`].
pub const BLACK_HOLE_ZONE: &str = "bhvictim.test.";
/// The black-holed victim's only server address: no server answers there; the lab
/// puts a counting sink on it ([`crate::sink`]).
pub const BLACK_HOLE: &str = "203.0.113.102";
/// Glueless NS names in each attack delegation: more than a resolver keeps of one
/// referral (the engine's `max_ns_per_delegation` is 13).
pub const ATTACK_FANOUT: usize = 20;
/// NS names per level of an [`attack_chain`] delegation.
pub const CHAIN_FANOUT: usize = 8;
/// Levels of an [`attack_chain`]: each NS name lies under the next level's cut, the
/// last level's in [`NX_VICTIM_ZONE`]. Three, so the victim lies within the engine's
/// nesting limit (`max_subquery_depth`, 3) and the whole tree is reachable.
pub const CHAIN_LEVELS: usize = 3;
/// Attack delegations of each shape in [`ATTACK_ZONE`] (one per client query of an
/// attack, so nothing a resolver cached from one helps it with the next).
pub const ATTACK_DELEGATIONS: usize = 200;

/// The `i`th wide attack delegation: `w<i>.attack.test.`, delegated to
/// [`ATTACK_FANOUT`] glueless names `n<j>-w<i>.nxvictim.test.`.
pub fn attack_wide(i: usize) -> String {
    format!("w{i}.{ATTACK_ZONE}")
}

/// The `i`th black-hole attack delegation: `b<i>.attack.test.`, delegated to
/// [`ATTACK_FANOUT`] glueless names `n<j>-b<i>.bhvictim.test.`.
pub fn attack_black_hole(i: usize) -> String {
    format!("b{i}.{ATTACK_ZONE}")
}

/// The `i`th chain attack delegation: `c<i>-0.attack.test.`, delegated to
/// [`CHAIN_FANOUT`] glueless names under `c<i>-1.attack.test.`, itself delegated to
/// names under `c<i>-2` and so on; the names of the last level lie in
/// [`NX_VICTIM_ZONE`] (`n<j>-c<i>.nxvictim.test.`). Every address lookup needs another
/// below it: the nesting of glueless sub-resolutions.
pub fn attack_chain(i: usize) -> String {
    format!("c{i}-0.{ATTACK_ZONE}")
}

/// The attacker's zone text: [`ATTACK_DELEGATIONS`] delegations of each shape.
fn attack_zone() -> String {
    let mut body = String::from("@ IN NS ns1\nns1 IN A 203.0.113.100\n");
    for i in 0..ATTACK_DELEGATIONS {
        for j in 0..ATTACK_FANOUT {
            body.push_str(&format!("w{i} IN NS n{j}-w{i}.{NX_VICTIM_ZONE}\n"));
            body.push_str(&format!("b{i} IN NS n{j}-b{i}.{BLACK_HOLE_ZONE}\n"));
        }
        for level in 0..CHAIN_LEVELS {
            for j in 0..CHAIN_FANOUT {
                let target = if level + 1 < CHAIN_LEVELS {
                    format!("n{j}.c{i}-{}.{ATTACK_ZONE}", level + 1)
                } else {
                    format!("n{j}-c{i}.{NX_VICTIM_ZONE}")
                };
                body.push_str(&format!("c{i}-{level} IN NS {target}\n"));
            }
        }
    }
    body
}

/// `test.`'s delegations of [`DNSSEC_ZONES`] to [`DNSSEC_SERVER`] (their DS records
/// are added when they are signed).
fn dnssec_delegations() -> String {
    let mut out = format!("ns1.dnssec IN A {DNSSEC_SERVER}\n");
    for z in DNSSEC_ZONES {
        out.push_str(&format!("{z} IN NS ns1.dnssec.test.\n"));
    }
    out
}

/// One zone of the DNSSEC server: an address, a wildcard, a CNAME into an unsigned
/// zone (the NSEC3 opt-out zone's delegation comes in [`added_after_signing`]).
fn dnssec_zone(origin: &str) -> String {
    let body = String::from(
        "@ IN NS ns1.dnssec.test.\n\
         www IN A 203.0.113.92\n\
         www IN TXT \"signed\"\n\
         *.wild IN A 203.0.113.94\n\
         cdn IN CNAME www.cdn.example.\n",
    );
    zone(origin, "ns1.dnssec.test.", &body)
}

/// Records the lab adds to signed zone `origin` after signing it: the opt-out zone's
/// unsigned delegation to [`OPT_OUT_CHILD`]. `ldns-signzone -p` sets the opt-out flag
/// but still gives an unsigned delegation an NSEC3 record of its own (a plain NODATA
/// proof for its DS); added after signing, the delegation has none, and the NSEC3
/// record covering its hash (opt-out set) is all that speaks for it, as in an opt-out
/// zone (RFC 5155 §6).
pub fn added_after_signing(origin: &str) -> String {
    if origin == "optout.test." {
        format!(
            "{OPT_OUT_CHILD} 3600 IN NS ns1.{OPT_OUT_CHILD}\nns1.{OPT_OUT_CHILD} 3600 IN A 203.0.113.67\n"
        )
    } else {
        String::new()
    }
}

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
            quirk: None,
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
                     ns1.nic.example. 172800 IN AAAA 2001:db8::20\n\
                     arpa. 172800 IN NS ns.arpa.\n\
                     ns.arpa. 172800 IN A 198.51.100.30\n",
                ),
            )],
        },
        Server {
            name: "tld-test",
            quirk: None,
            addrs: &["198.51.100.10", "198.51.100.11", "2001:db8::10"],
            zones: vec![(
                "test.",
                zone(
                    "test.",
                    "ns1.nic.test.",
                    &format!(
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
                     ns.v6only IN AAAA 2001:db8:6::53\n\
                     aaref IN NS ns1.aaref.test.\n\
                     ns1.aaref IN A 203.0.113.60\n\
                     glue IN NS ns1.glue.test.\n\
                     ns1.glue IN A 203.0.113.62\n\
                     dname IN NS ns1.dname.test.\n\
                     ns1.dname IN A 203.0.113.64\n\
                     secure IN NS ns1.secure.test.\n\
                     ns1.secure IN A 203.0.113.65\n\
                     on1 IN NS ns.on1.test.\n\
                     ns.on1 IN A 10.53.0.51\n\
                     ns.on1 IN AAAA fd53::51\n\
                     on2 IN NS ns.on2.test.\n\
                     ns.on2 IN A 10.53.0.52\n\
                     ns.on2 IN AAAA fd53::52\n\
                     on3 IN NS ns.on3.test.\n\
                     ns.on3 IN A 10.53.0.53\n\
                     ns.on3 IN AAAA fd53::53\n\
                     on4 IN NS ns.on4.test.\n\
                     ns.on4 IN A 10.53.0.54\n\
                     ns.on4 IN AAAA fd53::54\n\
                     attack IN NS ns1.attack.test.\n\
                     ns1.attack IN A 203.0.113.100\n\
                     nxvictim IN NS ns1.nxvictim.test.\n\
                     ns1.nxvictim IN A 203.0.113.101\n\
                     bhvictim IN NS ns1.bhvictim.test.\n\
                     ns1.bhvictim IN A 203.0.113.102\n{}",
                        dnssec_delegations()
                    ),
                ),
            )],
        },
        Server {
            name: "tld-example",
            quirk: None,
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
                     ns1.bench IN A 203.0.113.40\n\
                     cdnalias IN CNAME www.cdn.example.\n",
                ),
            )],
        },
        Server {
            name: "shop",
            quirk: None,
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
                         lists IN A 203.0.113.90\n\
                         private IN A 10.53.0.77\n\
                         x.ok IN A 10.53.0.78\n\
                         @ IN MX 10 mail\n\
                         {}",
                        big_txt()
                    ),
                ),
            )],
        },
        Server {
            name: "cdn",
            quirk: None,
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
            quirk: None,
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
            quirk: None,
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
            quirk: None,
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
            quirk: None,
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
        Server {
            name: "arpa",
            quirk: None,
            addrs: &["198.51.100.30"],
            zones: vec![(
                "arpa.",
                zone(
                    "arpa.",
                    "ns.arpa.",
                    "@ IN NS ns.arpa.\n\
                     ns IN A 198.51.100.30\n\
                     ip6 IN NS ns.ip6.arpa.\n\
                     ns.ip6 IN A 198.51.100.31\n",
                ),
            )],
        },
        Server {
            name: "ip6-arpa",
            quirk: None,
            addrs: &["198.51.100.31"],
            zones: vec![(
                "ip6.arpa.",
                zone(
                    "ip6.arpa.",
                    "ns.ip6.arpa.",
                    "@ IN NS ns.ip6.arpa.\n\
                     ns IN A 198.51.100.31\n\
                     8.b.d.0.1.0.0.2 IN NS ns.8.b.d.0.1.0.0.2.ip6.arpa.\n\
                     ns.8.b.d.0.1.0.0.2 IN A 203.0.113.70\n",
                ),
            )],
        },
        Server {
            // 2001:db8::/32, delegating 2001:db8:6::/48 one cut further down.
            name: "rev-db8",
            quirk: None,
            addrs: &["203.0.113.70"],
            zones: vec![(
                "8.b.d.0.1.0.0.2.ip6.arpa.",
                zone(
                    "8.b.d.0.1.0.0.2.ip6.arpa.",
                    "ns.8.b.d.0.1.0.0.2.ip6.arpa.",
                    "@ IN NS ns\n\
                     ns IN A 203.0.113.70\n\
                     6.0.0.0 IN NS ns.6.0.0.0\n\
                     ns.6.0.0.0 IN A 203.0.113.71\n",
                ),
            )],
        },
        Server {
            // The reverse zone of 2001:db8:6::/48: the v6only servers' PTRs, 20 labels
            // below its apex (34 below the root).
            name: "rev-db8-6",
            quirk: None,
            addrs: &["203.0.113.71"],
            zones: vec![(
                "6.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.",
                zone(
                    "6.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.",
                    "ns.6.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.",
                    "@ IN NS ns\n\
                     ns IN A 203.0.113.71\n\
                     3.5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0 IN PTR ns.v6only.test.\n\
                     2.8.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0 IN PTR www.v6only.test.\n",
                ),
            )],
        },
        Server {
            // Marks its referral to `sub.aaref.test` authoritative.
            name: "aaref",
            quirk: Some(Quirk::AaOnReferrals {
                backend: "127.0.1.60",
            }),
            addrs: &["203.0.113.60"],
            zones: vec![(
                "aaref.test.",
                zone(
                    "aaref.test.",
                    "ns1.aaref.test.",
                    "@ IN NS ns1\n\
                     ns1 IN A 203.0.113.60\n\
                     www IN A 203.0.113.85\n\
                     sub IN NS ns1.sub\n\
                     ns1.sub IN A 203.0.113.61\n",
                ),
            )],
        },
        Server {
            name: "aaref-sub",
            quirk: None,
            addrs: &["203.0.113.61"],
            zones: vec![(
                "sub.aaref.test.",
                zone(
                    "sub.aaref.test.",
                    "ns1.sub.aaref.test.",
                    "@ IN NS ns1\n\
                     ns1 IN A 203.0.113.61\n\
                     www IN A 203.0.113.86\n",
                ),
            )],
        },
        Server {
            // The parent's glue for ns1.glue.test (203.0.113.62) works; the child's own
            // address record for it (203.0.113.63) leads nowhere.
            name: "glue",
            quirk: None,
            addrs: &["203.0.113.62"],
            zones: vec![(
                "glue.test.",
                zone(
                    "glue.test.",
                    "ns1.glue.test.",
                    "@ IN NS ns1\n\
                     ns1 IN A 203.0.113.63\n\
                     www IN A 203.0.113.87\n\
                     mail IN A 203.0.113.88\n",
                ),
            )],
        },
        Server {
            name: "dname",
            quirk: None,
            addrs: &["203.0.113.64"],
            zones: vec![(
                "dname.test.",
                zone(
                    "dname.test.",
                    "ns1.dname.test.",
                    "@ IN NS ns1\n\
                     ns1 IN A 203.0.113.64\n\
                     old IN DNAME cdn.example.\n",
                ),
            )],
        },
        Server {
            // Signed at lab start (see [`SIGNED`]); its DS is added to `test.`.
            name: "secure",
            quirk: None,
            addrs: &["203.0.113.65"],
            zones: vec![(
                "secure.test.",
                zone(
                    "secure.test.",
                    "ns1.secure.test.",
                    "@ IN NS ns1\n\
                     ns1 IN A 203.0.113.65\n\
                     www IN A 203.0.113.90\n\
                     @ IN MX 10 www\n\
                     *.wild IN A 203.0.113.91\n\
                     cdn IN CNAME www.cdn.example.\n",
                ),
            )],
        },
        Server {
            // The signed zones of [`DNSSEC_ZONES`] (see [`SIGNED`]): one server, many zones.
            name: "dnssec",
            quirk: None,
            addrs: &[DNSSEC_SERVER],
            zones: DNSSEC_ZONES
                .iter()
                .map(|&origin| (origin, dnssec_zone(origin)))
                .collect(),
        },
        Server {
            // Unsigned, below the NSEC3 opt-out zone.
            name: "optout-child",
            quirk: None,
            addrs: &["203.0.113.67"],
            zones: vec![(
                OPT_OUT_CHILD,
                zone(
                    OPT_OUT_CHILD,
                    "ns1.unsigned.optout.test.",
                    "@ IN NS ns1\n\
                     ns1 IN A 203.0.113.67\n\
                     www IN A 203.0.113.93\n",
                ),
            )],
        },
        Server {
            // On the LAN itself: reached with ARP/NDP, not through the gateway; the
            // `chain` names form a CNAME chain across the four.
            name: "on1",
            quirk: None,
            addrs: &["10.53.0.51", "fd53::51"],
            zones: vec![(
                "on1.test.",
                zone(
                    "on1.test.",
                    "ns.on1.test.",
                    "@ IN NS ns\n\
                     ns IN A 10.53.0.51\n\
                     ns IN AAAA fd53::51\n\
                     chain IN CNAME chain.on2.test.\n",
                ),
            )],
        },
        Server {
            name: "on2",
            quirk: None,
            addrs: &["10.53.0.52", "fd53::52"],
            zones: vec![(
                "on2.test.",
                zone(
                    "on2.test.",
                    "ns.on2.test.",
                    "@ IN NS ns\n\
                     ns IN A 10.53.0.52\n\
                     ns IN AAAA fd53::52\n\
                     chain IN CNAME chain.on3.test.\n",
                ),
            )],
        },
        Server {
            name: "on3",
            quirk: None,
            addrs: &["10.53.0.53", "fd53::53"],
            zones: vec![(
                "on3.test.",
                zone(
                    "on3.test.",
                    "ns.on3.test.",
                    "@ IN NS ns\n\
                     ns IN A 10.53.0.53\n\
                     ns IN AAAA fd53::53\n\
                     chain IN CNAME chain.on4.test.\n",
                ),
            )],
        },
        Server {
            name: "on4",
            quirk: None,
            addrs: &["10.53.0.54", "fd53::54"],
            zones: vec![(
                "on4.test.",
                zone(
                    "on4.test.",
                    "ns.on4.test.",
                    "@ IN NS ns\n\
                     ns IN A 10.53.0.54\n\
                     ns IN AAAA fd53::54\n\
                     chain IN A 203.0.113.89\n\
                     chain IN AAAA 2001:db8:89::89\n",
                ),
            )],
        },
        Server {
            // The NXNS attacker (issue 14, item 11): see [`attack_zone`].
            name: "nxns-attacker",
            quirk: None,
            addrs: &["203.0.113.100"],
            zones: vec![(
                ATTACK_ZONE,
                zone(ATTACK_ZONE, "ns1.attack.test.", &attack_zone()),
            )],
        },
        Server {
            // The victim that answers: NXDOMAIN for every NS name of the attack.
            name: "nxns-victim",
            quirk: None,
            addrs: &["203.0.113.101"],
            zones: vec![(
                NX_VICTIM_ZONE,
                zone(
                    NX_VICTIM_ZONE,
                    "ns1.nxvictim.test.",
                    "@ IN NS ns1\n\
                     ns1 IN A 203.0.113.101\n",
                ),
            )],
        },
    ]
}
