//! The fast-path differential test: any bytes, the fast and the full path must agree
//! (or the fast path declines and both engines do exactly the same).

use super::*;
use crate::config::Mode;
use crate::io::Transport;
use alloc::vec;
use hickory_proto::op::Message;
use hickory_proto::rr::rdata::{A, CNAME, SOA};
use hickory_proto::rr::{RData, Record};
use proptest::prelude::*;

fn n(s: &str) -> Name {
    Name::from_ascii(s).unwrap()
}

const NAMES: [&str; 5] = [
    "www.example.com.",
    "alias.example.com.",
    "nx.example.com.",
    "WWW.Example.Com.",
    "other.example.com.",
];

/// An engine whose cache holds an A RRset, a CNAME to it, an NXDOMAIN and a NODATA.
fn primed(fast: bool) -> Engine {
    let cfg = EngineConfig {
        mode: Mode::Forward {
            upstreams: vec!["10.0.0.53:53".parse().unwrap()],
        },
        ..EngineConfig::default()
    };
    let mut e = Engine::new(cfg, [3; 32]);
    e.set_fast_path(fast);
    let t0 = Instant::from_nanos(1);
    let www = n("www.example.com.");
    let a = |last| Record::from_rdata(www.clone(), 300, RData::A(A::new(192, 0, 2, last)));
    let soa = Record::from_rdata(
        n("example.com."),
        3600,
        RData::SOA(SOA::new(
            n("ns.example.com."),
            n("h.example.com."),
            1,
            1,
            1,
            1,
            300,
        )),
    );
    let c = &mut e.cache;
    c.insert_rrset(t0, &www, RecordType::A, vec![a(1), a(2)], Rank::AuthAnswer);
    let alias = n("alias.example.com.");
    let cname = Record::from_rdata(alias.clone(), 600, RData::CNAME(CNAME(www.clone())));
    c.insert_rrset(t0, &alias, RecordType::CNAME, vec![cname], Rank::AuthAnswer);
    c.insert_negative(
        t0,
        &n("nx.example.com."),
        None,
        Some(soa.clone()),
        Rank::AuthAnswer,
    );
    c.insert_negative(t0, &www, Some(RecordType::TXT), Some(soa), Rank::AuthAnswer);
    e
}

/// A query in wire form, built by hand so that mutations can break any part of it.
fn query(id: u16, name: &str, qtype: u16, edns: Option<u16>) -> Vec<u8> {
    let mut b = id.to_be_bytes().to_vec();
    b.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, u8::from(edns.is_some())]);
    for label in name.split('.').filter(|l| !l.is_empty()) {
        b.push(label.len() as u8);
        b.extend_from_slice(label.as_bytes());
    }
    b.push(0);
    b.extend_from_slice(&qtype.to_be_bytes());
    b.extend_from_slice(&[0, 1]);
    if let Some(p) = edns {
        b.extend_from_slice(&[0, 0, 41]);
        b.extend_from_slice(&p.to_be_bytes());
        b.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
    }
    b
}

/// Well-formed queries for cached and uncached names, with any RD/CD/AD/Z bits.
fn clean() -> impl Strategy<Value = Vec<u8>> {
    (
        any::<u16>(),
        0usize..NAMES.len(),
        prop::sample::select(vec![1u16, 5, 15, 16, 28, 41, 255]),
        prop::option::of(prop::sample::select(vec![0u16, 512, 1232, 65535])),
        any::<bool>(),
        prop::sample::select(vec![0u8, 0x10, 0x20, 0x40, 0x70]),
    )
        .prop_map(|(id, k, qtype, edns, rd, f3)| {
            let mut b = query(id, NAMES[k], qtype, edns);
            b[2] = u8::from(rd);
            b[3] = f3;
            b
        })
}

fn input() -> impl Strategy<Value = Vec<u8>> {
    let mutated = (
        clean(),
        prop::collection::vec((any::<usize>(), any::<u8>()), 1..3),
        prop::option::weighted(0.2, any::<usize>()),
        prop::option::weighted(0.2, prop::collection::vec(any::<u8>(), 1..3)),
    )
        .prop_map(|(mut b, flips, cut, tail)| {
            for (at, v) in flips {
                let i = at % b.len();
                b[i] = v;
            }
            if let Some(c) = cut {
                b.truncate(c % (b.len() + 1));
            }
            b.extend(tail.unwrap_or_default());
            b
        });
    prop_oneof![
        1 => prop::collection::vec(any::<u8>(), 0..300),
        2 => clean(),
        3 => mutated,
    ]
}

fn transmits(e: &mut Engine) -> Vec<Transmit> {
    core::iter::from_fn(|| e.poll_transmit()).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]
    /// Any bytes: the fast path never panics; it declines (and the two engines then
    /// do exactly the same) or answers with a message that parses to what the full
    /// path answers, TTLs included.
    #[test]
    fn fast_path_never_panics_and_agrees(bytes in input(), tcp in any::<bool>()) {
        let client = Client {
            addr: "192.168.1.2:5353".parse().unwrap(),
            transport: if tcp { Transport::Tcp { conn: 1 } } else { Transport::Udp },
        };
        let now = Instant::from_nanos(10_000_000_001);
        let _ = crate::wire::question::Question::parse(&bytes);
        let (mut fast, mut full) = (primed(true), primed(false));
        fast.handle_query(now, client, &bytes);
        full.handle_query(now, client, &bytes);
        let (tf, ts) = (transmits(&mut fast), transmits(&mut full));
        prop_assert!(fast.check_invariants());
        if fast.stats().fast_path_hits == 0 {
            prop_assert_eq!(tf, ts);
            return Ok(());
        }
        let ([Transmit::ToClient { payload: pf, .. }], [Transmit::ToClient { payload: ps, .. }]) =
            (tf.as_slice(), ts.as_slice())
        else {
            return Err(TestCaseError::fail("one answer each expected"));
        };
        let (mf, ms) = (Message::from_vec(pf), Message::from_vec(ps));
        prop_assert!(mf.is_ok(), "unparseable fast answer {:?}", pf);
        let (mf, ms) = (mf.unwrap(), ms.unwrap());
        prop_assert_eq!(&mf.metadata, &ms.metadata);
        prop_assert_eq!(&mf.queries, &ms.queries);
        prop_assert_eq!(&mf.answers, &ms.answers);
        prop_assert_eq!(&mf.authorities, &ms.authorities);
        prop_assert_eq!(&mf.edns, &ms.edns);
        let ttls = |rs: &[Record]| rs.iter().map(|r| r.ttl).collect::<Vec<_>>();
        prop_assert_eq!(ttls(&mf.answers), ttls(&ms.answers));
        prop_assert_eq!(ttls(&mf.authorities), ttls(&ms.authorities));
        if let Some(q) = mf.queries.first() {
            // The client's letter case in the question and in owners equal to it.
            let asked = Message::from_vec(&bytes).unwrap();
            prop_assert!(q.name().eq_case(asked.queries[0].name()));
            for r in mf.answers.iter().filter(|r| r.name == *q.name()) {
                prop_assert!(r.name.eq_case(q.name()));
            }
        }
        let mut s = fast.stats().clone();
        s.fast_path_hits = 0;
        prop_assert_eq!(&s, full.stats());
    }
}

#[test]
fn mutated_queries_reach_the_fast_path() {
    // The strategy must exercise the writer, not only the parser.
    let mut e = primed(true);
    let now = Instant::from_nanos(10_000_000_001);
    let c = Client {
        addr: "192.168.1.2:5353".parse().unwrap(),
        transport: Transport::Udp,
    };
    for name in NAMES.iter().take(4) {
        for qtype in [1u16, 16, 28] {
            e.handle_query(now, c, &query(7, name, qtype, Some(1232)));
            let _ = transmits(&mut e);
        }
    }
    // Every A and TXT question hits (positive, via the CNAME, NODATA, NXDOMAIN); of
    // AAAA only nx.example.com's NXDOMAIN does, the others miss and go upstream.
    assert_eq!(e.stats().fast_path_hits, 9);
}
