//! DNSSEC pass-through (issue 14 item 9, RFC 4035 §3.2.1): DO goes upstream; RRSIG,
//! NSEC and NSEC3 records come back to clients that set DO, from a resolution and
//! from the cache (fast path and full path alike), and never to the others unless
//! they ask for that type. The signatures are signed-looking bytes: the engine passes
//! them through, it does not check them.

use std::time::Duration;

use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{Record, RecordType};

use crate::sim::*;
use engine::{Client, EngineConfig, Transport};

const NS_SIGNED: &str = "192.0.2.70";

/// The world plus `signed.com.`, signed-looking: RRSIGs over every RRset, NSEC
/// records, a DNSKEY, a DS (and its RRSIG) in `com.`, a CNAME chain, a big TXT set.
fn signed_world() -> Vec<Server> {
    let mut servers = world();
    for s in servers.iter_mut() {
        if s.ip.to_string() == GTLD {
            let com = &mut s.zones[0].records;
            com.push(ns("signed.com.", 3600, "ns.signed.com."));
            com.push(a("ns.signed.com.", 3600, NS_SIGNED));
            com.push(opaque(
                "signed.com.",
                3600,
                RecordType::DS,
                &[1, 2, 13, 2, 9, 9],
            ));
            com.push(rrsig("signed.com.", 3600, RecordType::DS, "com.", 1));
        }
    }
    let z = "signed.com.";
    let mut recs = vec![
        soa(z, 3600, 300),
        rrsig(z, 3600, RecordType::SOA, z, 2),
        ns(z, 3600, "ns.signed.com."),
        rrsig(z, 3600, RecordType::NS, z, 3),
        opaque(z, 3600, RecordType::DNSKEY, &[1, 1, 3, 13, 7, 7, 7, 7]),
        rrsig(z, 3600, RecordType::DNSKEY, z, 4),
        a("ns.signed.com.", 3600, NS_SIGNED),
        rrsig("ns.signed.com.", 3600, RecordType::A, z, 5),
        a("www.signed.com.", 3600, "192.0.2.71"),
        rrsig("www.signed.com.", 3600, RecordType::A, z, 6),
        cname("alias.signed.com.", 3600, "hop.signed.com."),
        rrsig("alias.signed.com.", 3600, RecordType::CNAME, z, 7),
        cname("hop.signed.com.", 3600, "www.signed.com."),
        rrsig("hop.signed.com.", 3600, RecordType::CNAME, z, 8),
        nsec(z, 3600, "alias.signed.com."),
        rrsig(z, 3600, RecordType::NSEC, z, 9),
        nsec("www.signed.com.", 3600, z),
        rrsig("www.signed.com.", 3600, RecordType::NSEC, z, 10),
    ];
    for i in 0..12 {
        recs.push(txt("big.signed.com.", 3600, &"x".repeat(60 + i)));
    }
    for i in 0..4 {
        recs.push(rrsig("big.signed.com.", 3600, RecordType::TXT, z, 20 + i));
    }
    servers.push(Server {
        ip: NS_SIGNED.parse().unwrap(),
        zones: vec![Zone::new(z, recs)],
        behavior: Behavior::Normal,
    });
    servers
}

/// A client's query: EDNS with `payload` and DO as given, or no OPT at all.
fn q(name: &str, qtype: RecordType, edns: Option<(u16, bool)>) -> Vec<u8> {
    let mut m = Message::new(0x5151, MessageType::Query, OpCode::Query);
    m.metadata.recursion_desired = true;
    m.add_query(Query::query(n(name), qtype));
    if let Some((p, dnssec_ok)) = edns {
        let mut e = Edns::new();
        e.set_max_payload(p);
        e.set_dnssec_ok(dnssec_ok);
        m.set_edns(e);
    }
    m.to_vec().unwrap()
}

const DO: Option<(u16, bool)> = Some((1232, true));
const NO_DO: Option<(u16, bool)> = Some((1232, false));

/// Two engines over the same signed world, the second with the fast path off: every
/// question is asked of both, and they must answer alike.
struct Pair {
    fast: Net,
    full: Net,
    port: u16,
}

impl Pair {
    fn new(cfg: EngineConfig) -> Self {
        let fast = Net::with_servers(cfg.clone(), signed_world());
        let mut full = Net::with_servers(cfg, signed_world());
        full.engine.set_fast_path(false);
        Pair {
            fast,
            full,
            port: 41000,
        }
    }

    fn ask_over(&mut self, transport: Transport, bytes: &[u8]) -> (Message, bool) {
        self.port += 1;
        let c = Client {
            addr: format!("192.168.1.10:{}", self.port).parse().unwrap(),
            transport,
        };
        let before = self.fast.engine.stats().fast_path_hits;
        let f = self.fast.ask_as(c, bytes);
        let took = self.fast.engine.stats().fast_path_hits > before;
        let s = self.full.ask_as(c, bytes);
        assert_eq!(f.metadata, s.metadata, "header\n{f}\n{s}");
        assert_eq!(f.answers, s.answers, "answers\n{f}\n{s}");
        assert_eq!(f.authorities, s.authorities, "authority\n{f}\n{s}");
        assert_eq!(f.edns, s.edns, "EDNS\n{f}\n{s}");
        (f, took)
    }

    fn ask(&mut self, bytes: &[u8]) -> (Message, bool) {
        self.ask_over(Transport::Udp, bytes)
    }
}

/// The (type, covered type) of each record of a section, RRSIGs by what they cover.
fn shape(rs: &[Record]) -> Vec<(RecordType, Option<RecordType>)> {
    let mut v: Vec<_> = rs.iter().map(|r| (r.record_type(), covers(r))).collect();
    v.sort_by_key(|(t, c)| (u16::from(*t), c.map(u16::from)));
    v
}

fn sorted(v: &[(RecordType, Option<RecordType>)]) -> Vec<(RecordType, Option<RecordType>)> {
    let mut v = v.to_vec();
    v.sort_by_key(|(t, c)| (u16::from(*t), c.map(u16::from)));
    v
}

fn dnssec_records(m: &Message) -> usize {
    m.answers
        .iter()
        .chain(&m.authorities)
        .filter(|r| {
            matches!(
                r.record_type(),
                RecordType::RRSIG | RecordType::NSEC | RecordType::NSEC3
            )
        })
        .count()
}

fn do_echoed(m: &Message) -> bool {
    m.edns.as_ref().is_some_and(|e| e.flags().dnssec_ok)
}

use RecordType::{A, CNAME, DNSKEY, DS, NSEC, RRSIG, SOA, TXT};

#[test]
fn do_goes_upstream_and_signatures_come_back_from_resolution_and_cache() {
    let mut p = Pair::new(recursive_config());
    let (r, _) = p.ask(&q("www.signed.com.", A, DO));
    assert_eq!(r.response_code, ResponseCode::NoError, "{r}");
    assert_eq!(
        shape(&r.answers),
        sorted(&[(A, None), (RRSIG, Some(A))]),
        "{r}"
    );
    assert!(do_echoed(&r), "DO echoed: {r}");
    assert!(
        p.fast.log.iter().all(|s| s.edns && s.dnssec_ok),
        "every upstream query carries DO"
    );
    // From the cache: the same, and the fast path answered it.
    let before = p.fast.log.len();
    let (r, took) = p.ask(&q("www.signed.com.", A, DO));
    assert!(took, "a DO=1 hit takes the fast path");
    assert_eq!(p.fast.log.len(), before, "answered from the cache");
    assert_eq!(
        shape(&r.answers),
        sorted(&[(A, None), (RRSIG, Some(A))]),
        "{r}"
    );
    assert!(do_echoed(&r));
}

#[test]
fn do0_clients_get_no_dnssec_records() {
    let mut p = Pair::new(recursive_config());
    for (name, t) in [
        ("www.signed.com.", A),
        ("nope.signed.com.", A),
        ("www.signed.com.", TXT),
        ("alias.signed.com.", A),
    ] {
        // First from resolution (DO=0 client, DO upstream regardless), then from the
        // cache, with and without OPT.
        for edns in [NO_DO, None, NO_DO] {
            let (r, _) = p.ask(&q(name, t, edns));
            assert_eq!(dnssec_records(&r), 0, "{name} {t} {edns:?}: {r}");
            assert!(!do_echoed(&r));
        }
        // The cache kept them for DO=1 clients.
        let (r, _) = p.ask(&q(name, t, DO));
        assert!(dnssec_records(&r) > 0, "{name} {t}: {r}");
    }
}

#[test]
fn nxdomain_carries_its_nsec_proof_and_rrsigs() {
    let mut p = Pair::new(recursive_config());
    let want = [
        (SOA, None),
        (RRSIG, Some(SOA)),
        (RRSIG, Some(NSEC)),
        (RRSIG, Some(NSEC)),
        (NSEC, None),
        (NSEC, None),
    ];
    let mut want = want.to_vec();
    want.sort_by_key(|(t, c)| (u16::from(*t), c.map(u16::from)));
    for from_cache in [false, true] {
        let (r, took) = p.ask(&q("nope.signed.com.", A, DO));
        assert_eq!(r.response_code, ResponseCode::NXDomain, "{r}");
        assert!(r.answers.is_empty());
        assert_eq!(shape(&r.authorities), want, "cache {from_cache}: {r}");
        assert_eq!(took, from_cache);
    }
    // Another type at the name: the NXDOMAIN entry answers, proof included.
    let (r, _) = p.ask(&q("nope.signed.com.", TXT, DO));
    assert_eq!(shape(&r.authorities), want, "{r}");
    let (r, _) = p.ask(&q("nope.signed.com.", A, NO_DO));
    assert_eq!(shape(&r.authorities), [(SOA, None)], "{r}");
}

#[test]
fn nodata_carries_its_nsec_proof() {
    let mut p = Pair::new(recursive_config());
    for _ in 0..2 {
        let (r, _) = p.ask(&q("www.signed.com.", RecordType::AAAA, DO));
        assert_eq!(r.response_code, ResponseCode::NoError, "{r}");
        assert!(r.answers.is_empty());
        let s = shape(&r.authorities);
        assert!(
            s.contains(&(SOA, None)) && s.contains(&(RRSIG, Some(SOA))),
            "{r}"
        );
        assert!(
            s.contains(&(NSEC, None)) && s.contains(&(RRSIG, Some(NSEC))),
            "{r}"
        );
    }
}

#[test]
fn a_cname_chain_has_its_rrsigs_per_hop() {
    let mut p = Pair::new(recursive_config());
    let want = [
        (A, None),
        (CNAME, None),
        (CNAME, None),
        (RRSIG, Some(A)),
        (RRSIG, Some(CNAME)),
        (RRSIG, Some(CNAME)),
    ];
    let mut want = want.to_vec();
    want.sort_by_key(|(t, c)| (u16::from(*t), c.map(u16::from)));
    for from_cache in [false, true] {
        let (r, took) = p.ask(&q("alias.signed.com.", A, DO));
        assert_eq!(shape(&r.answers), want, "cache {from_cache}: {r}");
        assert_eq!(took, from_cache);
        // Each RRSIG follows the RRset it covers, at the same owner.
        for (i, s) in r.answers.iter().enumerate() {
            if let Some(c) = covers(s) {
                let rrset = &r.answers[i - 1];
                assert!(rrset.record_type() == c && rrset.name == s.name, "{r}");
            }
        }
    }
}

#[test]
fn a_big_signed_answer_is_truncated_over_udp_and_whole_over_tcp() {
    let mut p = Pair::new(recursive_config());
    // Unsigned it fits in 1232 bytes; with four 100-byte RRSIGs it does not.
    let (r, _) = p.ask(&q("big.signed.com.", TXT, NO_DO));
    assert!(!r.metadata.truncation, "{r}");
    assert_eq!(r.answers.len(), 12);
    for _ in 0..2 {
        let (r, took) = p.ask(&q("big.signed.com.", TXT, DO));
        assert!(
            r.metadata.truncation,
            "TC when the signed answer does not fit: {r}"
        );
        assert!(r.answers.is_empty());
        assert!(!took, "the full path sets TC");
    }
    let (r, took) = p.ask_over(Transport::Tcp { conn: 3 }, &q("big.signed.com.", TXT, DO));
    assert!(took);
    assert!(!r.metadata.truncation);
    assert_eq!(r.answers.len(), 16, "{r}");
}

#[test]
fn dnssec_types_can_be_asked_for() {
    let mut p = Pair::new(recursive_config());
    for _ in 0..2 {
        let (r, _) = p.ask(&q("signed.com.", DNSKEY, DO));
        assert_eq!(
            shape(&r.answers),
            sorted(&[(DNSKEY, None), (RRSIG, Some(DNSKEY))])
        );
        let (r, _) = p.ask(&q("signed.com.", DNSKEY, NO_DO));
        assert_eq!(shape(&r.answers), [(DNSKEY, None)]);
        // DS from the parent, with the parent's RRSIG.
        let (r, _) = p.ask(&q("signed.com.", DS, DO));
        assert_eq!(
            shape(&r.answers),
            sorted(&[(DS, None), (RRSIG, Some(DS))]),
            "{r}"
        );
        // Asked for, RRSIGs and NSECs are answers even without DO.
        let (r, _) = p.ask(&q("www.signed.com.", RRSIG, NO_DO));
        assert_eq!(
            shape(&r.answers),
            sorted(&[(RRSIG, Some(A)), (RRSIG, Some(NSEC))]),
            "{r}"
        );
        let (r, _) = p.ask(&q("www.signed.com.", NSEC, NO_DO));
        assert_eq!(shape(&r.answers), [(NSEC, None)], "{r}");
        let (r, _) = p.ask(&q("www.signed.com.", NSEC, DO));
        assert_eq!(
            shape(&r.answers),
            sorted(&[(NSEC, None), (RRSIG, Some(NSEC))]),
            "{r}"
        );
    }
}

#[test]
fn stray_signatures_and_denials_are_scrubbed() {
    let mut servers = signed_world();
    let srv = servers.last_mut().unwrap();
    srv.behavior = Behavior::Edit(Box::new(|_q, mut m: Message| {
        // Out of bailiwick, or over nothing in the answer.
        m.answers
            .push(rrsig("victim.example.net.", 3600, A, "example.net.", 1));
        m.answers
            .push(rrsig("www.signed.com.", 3600, TXT, "signed.com.", 1));
        m.answers.push(nsec("www.signed.com.", 3600, "signed.com."));
        m.authorities
            .push(nsec("victim.example.net.", 3600, "x.example.net."));
        m.authorities
            .push(rrsig("signed.com.", 3600, NSEC, "signed.com.", 1));
        Some(m)
    }));
    let mut net = Net::with_servers(recursive_config(), servers);
    for _ in 0..2 {
        let r = net.ask_as(client(), &q("www.signed.com.", A, DO));
        assert_eq!(
            shape(&r.answers),
            sorted(&[(A, None), (RRSIG, Some(A))]),
            "{r}"
        );
        assert!(r.authorities.is_empty(), "{r}");
    }
    assert!(net.engine.stats().scrubbed_records >= 5);
}

#[test]
fn the_byte_cap_counts_signature_bytes() {
    // The same names, unsigned (no DO upstream: the servers send no RRSIGs), against
    // signed: the cache holds the signatures' bytes too.
    let bytes = |edns_off: bool| {
        let mut servers = signed_world();
        if edns_off {
            for s in &mut servers {
                s.behavior = Behavior::FormErrOnEdns;
            }
        }
        let mut net = Net::with_servers(recursive_config(), servers);
        net.ask_as(client(), &q("www.signed.com.", A, DO));
        net.engine.stats().cache_bytes
    };
    let (plain, signed) = (bytes(true), bytes(false));
    // At least the RRSIG over the A RRset (94 bytes of RDATA), in the decoded copy
    // and the pre-encoded one.
    assert!(signed >= plain + 2 * 94, "signed {signed}, plain {plain}");
    // A cap that holds the unsigned answers but not every signed one: evictions,
    // never more than the cap.
    let cfg = EngineConfig {
        cache_bytes: 64 * 1024,
        ..recursive_config()
    };
    let mut net = Net::with_servers(cfg, signed_world());
    for i in 0..400 {
        net.ask_as(client(), &q(&format!("n{i}.signed.com."), A, DO));
    }
    let s = net.engine.stats();
    assert!(s.cache_bytes <= 64 * 1024, "{}", s.cache_bytes);
    assert!(s.cache_evictions > 0, "the cap was reached");
    assert!(net.engine.check_invariants());
}

#[test]
fn formerr_on_edns_falls_back_without_do() {
    let mut servers = signed_world();
    servers.last_mut().unwrap().behavior = Behavior::FormErrOnEdns;
    let mut net = Net::with_servers(recursive_config(), servers);
    let r = net.ask_as(client(), &q("www.signed.com.", A, DO));
    assert_eq!(ips(&r), ["192.0.2.71"], "{r}");
    let to_signed: Vec<_> = net
        .log
        .iter()
        .filter(|s| s.server.ip().to_string() == NS_SIGNED)
        .collect();
    assert!(
        to_signed[0].edns && to_signed[0].dnssec_ok,
        "first try with DO"
    );
    assert!(to_signed.iter().any(|s| !s.edns), "then without OPT");
    // Without EDNS nothing signed came back: a DO=1 client gets the data only.
    assert_eq!(dnssec_records(&r), 0, "{r}");
    net.advance(Duration::from_secs(1));
}
