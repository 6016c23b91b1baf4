//! The cache-hit fast path against the full path: two engines in lockstep, one with the
//! fast path off, fed the same priming traffic and the same queries at the same virtual
//! times. Every reply must parse to the same message (section by section, TTLs
//! included), keep the client's letter case, and leave the two engines with the same
//! counters; the fast engine must really have answered the common cases itself.

use std::time::Duration;

use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::rdata::opt::EdnsOption;
use hickory_proto::rr::{Name, Record, RecordType};

use crate::sim::*;
use engine::{Client, Stats, Transport};

struct Twins {
    fast: Net,
    full: Net,
}

fn udp(port: u16) -> Client {
    Client {
        addr: format!("192.168.1.10:{port}").parse().unwrap(),
        transport: Transport::Udp,
    }
}

fn tcp(conn: u32) -> Client {
    Client {
        addr: "192.168.1.11:50000".parse().unwrap(),
        transport: Transport::Tcp { conn },
    }
}

/// A query with every knob the fast path looks at.
fn query(id: u16, name: &str, qtype: RecordType, edns: Option<u16>, rd: bool, cd: bool) -> Vec<u8> {
    let mut m = Message::new(id, MessageType::Query, OpCode::Query);
    m.metadata.recursion_desired = rd;
    m.metadata.checking_disabled = cd;
    m.add_query(Query::query(Name::from_ascii(name).unwrap(), qtype));
    if let Some(p) = edns {
        let mut e = Edns::new();
        e.set_max_payload(p);
        if id % 2 == 1 {
            // A client cookie, as dig sends by default.
            e.options_mut()
                .insert(EdnsOption::Unknown(10, vec![1, 2, 3, 4, 5, 6, 7, 8]));
        }
        m.set_edns(e);
    }
    m.to_vec().unwrap()
}

fn stats_without_fast(s: &Stats) -> Stats {
    let mut s = s.clone();
    s.fast_path_hits = 0;
    s
}

impl Twins {
    fn new() -> Self {
        let fast = Net::new(recursive_config());
        let mut full = Net::new(recursive_config());
        full.engine.set_fast_path(false);
        Twins { fast, full }
    }

    fn advance(&mut self, d: Duration) {
        self.fast.advance(d);
        self.full.advance(d);
    }

    /// Send `bytes` to both; compare the replies. Returns the fast engine's reply and
    /// whether it took the fast path.
    fn ask(&mut self, c: Client, bytes: &[u8]) -> (Message, bool) {
        let before = self.fast.engine.stats().fast_path_hits;
        let fast = reply(&mut self.fast, c, bytes);
        let full = reply(&mut self.full, c, bytes);
        let took = self.fast.engine.stats().fast_path_hits > before;
        let q = Message::from_vec(bytes).unwrap();
        let (Some(fast), Some(full)) = (fast, full) else {
            panic!("one engine answered, the other did not: {q:?}");
        };
        let (fm, sm) = (
            Message::from_vec(&fast).unwrap(),
            Message::from_vec(&full).unwrap(),
        );
        let what = format!("{} {}", q.queries[0].name(), q.queries[0].query_type());
        assert_eq!(fm.id, sm.id, "{what}");
        assert_eq!(fm.metadata, sm.metadata, "{what}: header");
        assert_eq!(fm.queries, sm.queries, "{what}: question");
        assert_eq!(fm.answers, sm.answers, "{what}: answers");
        assert_eq!(fm.authorities, sm.authorities, "{what}: authority");
        assert_eq!(fm.additionals, sm.additionals, "{what}: additional");
        assert_eq!(fm.edns, sm.edns, "{what}: EDNS");
        // `Record`'s `Eq` leaves TTLs out; both engines run at the same virtual time, so
        // the TTLs must match exactly.
        assert_eq!(ttls(&fm.answers), ttls(&sm.answers), "{what}: answer TTLs");
        assert_eq!(
            ttls(&fm.authorities),
            ttls(&sm.authorities),
            "{what}: authority TTLs"
        );
        // The client's letter case, in the question and in owners equal to it.
        let qname = q.queries[0].name().to_ascii();
        assert_eq!(fm.queries[0].name().to_ascii(), qname, "{what}");
        for (f, s) in fm.answers.iter().zip(&sm.answers) {
            if s.name.to_ascii() == qname {
                assert_eq!(f.name.to_ascii(), qname, "{what}: owner case");
            }
        }
        if took && c.transport == Transport::Udp {
            let limit = q
                .edns
                .as_ref()
                .map_or(512, |e| e.max_payload().clamp(512, 1232));
            assert!(fast.len() <= usize::from(limit), "{what}: over the limit");
        }
        assert_eq!(
            stats_without_fast(self.fast.engine.stats()),
            stats_without_fast(self.full.engine.stats()),
            "{what}: counters"
        );
        assert!(self.fast.engine.check_invariants());
        (fm, took)
    }
}

fn ttls(rs: &[Record]) -> Vec<(RecordType, u32)> {
    rs.iter().map(|r| (r.record_type(), r.ttl)).collect()
}

fn reply(net: &mut Net, c: Client, bytes: &[u8]) -> Option<Vec<u8>> {
    let before = net.replies.len();
    net.send_from(c, bytes);
    net.drive_bounded(10_000);
    let mine: Vec<_> = net.replies[before..]
        .iter()
        .filter(|(cl, _)| *cl == c)
        .map(|(_, b)| b.clone())
        .collect();
    assert!(mine.len() <= 1);
    mine.into_iter().next()
}

const NAMES: &[(&str, RecordType)] = &[
    ("www.example.com.", RecordType::A),       // positive
    ("alias.example.com.", RecordType::A),     // CNAME in-zone
    ("ext.example.com.", RecordType::A),       // CNAME to another zone
    ("nope.example.com.", RecordType::A),      // NXDOMAIN
    ("nope.example.com.", RecordType::MX),     // NXDOMAIN answers every type
    ("www.example.com.", RecordType::TXT),     // NODATA
    ("alias.example.com.", RecordType::CNAME), // the CNAME itself
    ("dangling.example.com.", RecordType::A),  // CNAME to NXDOMAIN
    ("big.example.com.", RecordType::TXT),     // 800 bytes: TC below 1232
    ("a.b.c.example.com.", RecordType::A),
    ("www.glueless.com.", RecordType::A),
    ("example.com.", RecordType::NS),
    ("example.com.", RecordType::SOA),
    ("www.example.net.", RecordType::AAAA), // NODATA in another zone
    ("short.example.com.", RecordType::A),  // TTL 20: prefetch window
    ("loop1.example.com.", RecordType::A),  // CNAME loop: SERVFAIL, not cached
    ("x.old.example.com.", RecordType::A),  // DNAME
    ("example.com.", RecordType::ANY),      // RFC 8482
];

fn mixed_case(s: &str, seed: usize) -> String {
    s.chars()
        .enumerate()
        .map(|(i, c)| {
            if (i + seed).is_multiple_of(3) {
                c.to_ascii_uppercase()
            } else {
                c
            }
        })
        .collect()
}

#[test]
fn fast_path_answers_like_the_full_path() {
    let mut t = Twins::new();
    let mut id = 0u16;
    let mut took = 0;
    // Round 0 primes the caches (misses on both), later rounds hit, at times where
    // TTLs have counted down, some entries sit in their prefetch window, and some
    // (TTL 20 and 300) have expired and are resolved again.
    for (round, wait) in [0u64, 1, 7, 17, 19, 150, 290, 301].into_iter().enumerate() {
        t.advance(Duration::from_secs(wait));
        for (k, (name, qtype)) in NAMES.iter().enumerate() {
            for edns in [None, Some(512), Some(1232), Some(4096), Some(100)] {
                for (rd, cd) in [(true, false), (false, false), (true, true)] {
                    id = id.wrapping_add(1);
                    let name = if id.is_multiple_of(2) {
                        mixed_case(name, k + round)
                    } else {
                        (*name).to_string()
                    };
                    let bytes = query(id, &name, *qtype, edns, rd, cd);
                    let c = if id.is_multiple_of(7) {
                        tcp(u32::from(id))
                    } else {
                        udp(40000 + id % 50)
                    };
                    let (_, fast) = t.ask(c, &bytes);
                    took += usize::from(fast);
                }
            }
        }
    }
    assert!(took > 1000, "the fast path answered only {took} queries");
}

/// The common cases really take the fast path (a differential test that silently fell
/// back everywhere would prove nothing).
#[test]
fn fast_path_covers_the_common_hits() {
    let mut t = Twins::new();
    for (name, qtype) in NAMES {
        t.ask(udp(1), &query(1, name, *qtype, Some(1232), true, false));
    }
    t.advance(Duration::from_secs(1));
    // (name, type, EDNS payload, RCODE, answers, authority)
    type Case = (
        &'static str,
        RecordType,
        Option<u16>,
        ResponseCode,
        usize,
        usize,
    );
    let cases: &[Case] = &[
        (
            "WWW.example.COM.",
            RecordType::A,
            None,
            ResponseCode::NoError,
            1,
            0,
        ),
        (
            "www.example.com.",
            RecordType::A,
            Some(1232),
            ResponseCode::NoError,
            1,
            0,
        ),
        (
            "Alias.Example.Com.",
            RecordType::A,
            Some(1232),
            ResponseCode::NoError,
            2,
            0,
        ),
        (
            "ext.example.com.",
            RecordType::A,
            None,
            ResponseCode::NoError,
            2,
            0,
        ),
        (
            "nope.example.com.",
            RecordType::A,
            Some(1232),
            ResponseCode::NXDomain,
            0,
            1,
        ),
        (
            "NOPE.example.com.",
            RecordType::MX,
            None,
            ResponseCode::NXDomain,
            0,
            1,
        ),
        (
            "www.example.com.",
            RecordType::TXT,
            Some(1232),
            ResponseCode::NoError,
            0,
            1,
        ),
        (
            "dangling.example.com.",
            RecordType::A,
            None,
            ResponseCode::NXDomain,
            1,
            1,
        ),
        (
            "big.example.com.",
            RecordType::TXT,
            Some(1232),
            ResponseCode::NoError,
            3,
            0,
        ),
    ];
    for (i, (name, qtype, edns, rcode, an, ns)) in cases.iter().enumerate() {
        let (m, took) = t.ask(udp(2), &query(i as u16, name, *qtype, *edns, true, false));
        assert!(took, "{name} {qtype} fell back to the full path");
        assert_eq!(m.response_code, *rcode, "{name} {qtype}");
        assert_eq!(
            (m.answers.len(), m.authorities.len()),
            (*an, *ns),
            "{name} {qtype}"
        );
        assert_eq!(m.edns.is_some(), edns.is_some());
    }
    // Declined: too big for 512 bytes (the full path truncates), ANY.
    let (m, took) = t.ask(
        udp(3),
        &query(50, "big.example.com.", RecordType::TXT, None, true, false),
    );
    assert!(!took && m.metadata.truncation && m.answers.is_empty());
    let (_, took) = t.ask(
        udp(3),
        &query(51, "example.com.", RecordType::ANY, None, true, false),
    );
    assert!(!took);
    // Declined: a hit due for a prefetch (TTL 20, 19 s later): the full path starts it.
    t.advance(Duration::from_secs(18));
    let before = t.fast.engine.stats().prefetches;
    let (_, took) = t.ask(
        udp(4),
        &query(52, "short.example.com.", RecordType::A, None, true, false),
    );
    assert!(!took);
    assert_eq!(t.fast.engine.stats().prefetches, before + 1);
}

/// A name that did not exist and then does: the expired NXDOMAIN entry stays cached for
/// serve-stale, and the fresh A RRset next to it is still served by the fast path (the
/// full path passes over the stale entry the same way).
#[test]
fn fast_path_passes_over_a_stale_nxdomain() {
    let mut t = Twins::new();
    let (m, _) = t.ask(
        udp(1),
        &query(1, "new.example.com.", RecordType::A, None, true, false),
    );
    assert_eq!(m.response_code, ResponseCode::NXDomain);
    for net in [&mut t.fast, &mut t.full] {
        for ip in [NS1_EXAMPLE, NS2_EXAMPLE] {
            net.server(ip).zones[0]
                .records
                .push(a("new.example.com.", 300, "192.0.2.77"));
        }
    }
    t.advance(Duration::from_secs(301));
    let (m, took) = t.ask(
        udp(2),
        &query(2, "new.example.com.", RecordType::A, None, true, false),
    );
    assert!(!took);
    assert_eq!(ips(&m), ["192.0.2.77"]);
    t.advance(Duration::from_secs(1));
    let (m, took) = t.ask(
        udp(3),
        &query(3, "NEW.example.com.", RecordType::A, None, true, false),
    );
    assert!(took, "a stale NXDOMAIN entry sent the hit to the full path");
    assert_eq!(ips(&m), ["192.0.2.77"]);
}
