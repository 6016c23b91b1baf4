//! The cache's unit tests: keys, pre-encoding, ranks, TTLs, negative entries,
//! serve-stale, the byte cap, and a property test of the accounting.

use super::key::Key;
use super::*;
use alloc::boxed::Box;
use alloc::format;
use alloc::vec;
use hickory_proto::rr::rdata::{A, SOA};
use proptest::prelude::*;

fn name(s: &str) -> Name {
    Name::from_ascii(s).unwrap()
}
fn a(owner: &str, ttl: u32, last: u8) -> Record {
    Record::from_rdata(name(owner), ttl, RData::A(A::new(192, 0, 2, last)))
}
fn soa(ttl: u32, min: u32) -> Record {
    Record::from_rdata(
        name("example.com."),
        ttl,
        RData::SOA(SOA::new(name("ns."), name("h."), 1, 1, 1, 1, min)),
    )
}
#[test]
fn key_hash_ignores_case_and_matches_eq() {
    let h = KeyedHasher::new(1, 2);
    let k = |s: &str, kind| Key(Box::from(KeyBuf::from_name(&name(s)).unwrap().with(kind)));
    let a = k("WwW.Example.COM.", Kind::Type(RecordType::A));
    let b = k("www.example.com.", Kind::Type(RecordType::A));
    assert_eq!(a, b);
    assert_eq!(hash_one(&h, &a), hash_one(&h, &b));
    let c = k("www.example.com.", Kind::NxDomain);
    assert_ne!(hash_one(&h, &b), hash_one(&h, &c));
    // Label boundaries count: "ab.c" and "a.bc" differ.
    assert_ne!(
        hash_one(&h, &k("ab.c.", Kind::NxDomain)),
        hash_one(&h, &k("a.bc.", Kind::NxDomain))
    );
    // The longest names hash without trouble.
    let a63 = "a".repeat(63);
    let long = format!("{a63}.{a63}.{a63}.{}.", "b".repeat(61));
    let _ = hash_one(&h, &k(&long, Kind::NxDomain));
}

#[test]
fn wire_keys_match_name_keys() {
    let from_name = KeyBuf::from_name(&name("WwW.Example.COM.")).unwrap();
    let wire = b"\x03wWw\x07exAMPLE\x03com\x00\x00\x01";
    let from_wire = KeyBuf::from_wire(wire).unwrap();
    assert_eq!(from_name.name_len, 17);
    assert_eq!(
        from_name.clone().with(Kind::NxDomain),
        from_wire.clone().with(Kind::NxDomain)
    );
    // Pointers, truncation and names over 255 bytes are not key names.
    assert!(KeyBuf::from_wire(b"\x03www\xc0\x0c").is_none());
    assert!(KeyBuf::from_wire(b"\x03ww").is_none());
    let long = [[63u8; 64]; 4].concat();
    assert!(KeyBuf::from_wire(&long).is_none());
    assert!(KeyBuf::from_wire(b"\x00").is_some());
}

#[test]
fn pre_encoded_records_round_trip() {
    let recs = [a("Www.example.com.", 300, 1), a("Www.example.com.", 300, 2)];
    let w = Wire::encode(&recs).unwrap();
    assert_eq!(w.owner(), b"\x03Www\x07example\x03com\x00");
    let rrs: Vec<_> = w.rrs().collect();
    assert_eq!(rrs.len(), 2);
    assert_eq!(rrs[1].rtype(), 1);
    assert_eq!(rrs[1].rdata(), &[192, 0, 2, 2]);
    assert_eq!(w.records_len(), 2 * (17 + 14));
    // Owners differing in case are not one pre-encoded set.
    assert!(Wire::encode(&[a("www.example.com.", 1, 1), a("WWW.example.com.", 1, 2)]).is_none());
}

fn policy() -> Policy {
    Policy::new(
        Duration::from_secs(5),
        Duration::from_secs(1000),
        Duration::from_secs(600),
        Some(Duration::from_secs(100)),
    )
}
fn cache(cap: usize) -> Cache<KeyedHasher> {
    Cache::new(cap, policy(), KeyedHasher::new(1, 2))
}
fn t(s: u64) -> Instant {
    Instant::from_nanos(s * 1_000_000_000)
}
fn ttl_of(h: &Hit) -> u32 {
    match &h.data {
        Data::Records(v) => v[0].ttl,
        Data::NoData(s) | Data::NxDomain(s) => s.as_ref().map_or(0, |r| r.ttl),
    }
}

#[test]
fn rfc2181_ranks_protect_better_data() {
    let mut c = cache(100_000);
    let n = name("www.example.com.");
    c.insert_rrset(
        t(0),
        &n,
        RecordType::A,
        vec![a("www.example.com.", 300, 1)],
        Rank::AuthAnswer,
    );
    c.insert_rrset(
        t(1),
        &n,
        RecordType::A,
        vec![a("www.example.com.", 300, 66)],
        Rank::Glue,
    );
    let h = c
        .lookup(t(2), &n, RecordType::A, Rank::Glue, false)
        .unwrap();
    assert_eq!(h.data, Data::Records(vec![a("www.example.com.", 298, 1)]));
    // Better data replaces worse.
    c.insert_rrset(
        t(3),
        &n,
        RecordType::A,
        vec![a("www.example.com.", 300, 2)],
        Rank::AuthAnswer,
    );
    let h = c
        .lookup(t(3), &n, RecordType::A, Rank::Glue, false)
        .unwrap();
    assert_eq!(h.data, Data::Records(vec![a("www.example.com.", 300, 2)]));
    // Glue is not an answer.
    let g = name("ns.example.com.");
    c.insert_rrset(
        t(3),
        &g,
        RecordType::A,
        vec![a("ns.example.com.", 300, 3)],
        Rank::Glue,
    );
    assert!(
        c.lookup(t(3), &g, RecordType::A, Rank::NonAuthAnswer, false)
            .is_none()
    );
    assert_eq!(c.addresses(t(3), &g, false).len(), 1);
}

#[test]
fn ttl_clamps_and_countdown() {
    let mut c = cache(100_000);
    let n = name("x.example.com.");
    c.insert_rrset(
        t(0),
        &n,
        RecordType::A,
        vec![a("x.example.com.", 1, 1)],
        Rank::AuthAnswer,
    );
    assert_eq!(
        c.lookup(t(0), &n, RecordType::A, Rank::Glue, false)
            .unwrap()
            .original_ttl,
        5
    );
    c.insert_rrset(
        t(0),
        &n,
        RecordType::A,
        vec![a("x.example.com.", 99_999, 1)],
        Rank::AuthAnswer,
    );
    let h = c
        .lookup(t(10), &n, RecordType::A, Rank::Glue, false)
        .unwrap();
    assert_eq!((h.original_ttl, ttl_of(&h)), (1000, 990));
    // The RRset TTL is the smallest of its records.
    c.insert_rrset(
        t(0),
        &n,
        RecordType::A,
        vec![a("x.example.com.", 50, 1), a("x.example.com.", 40, 2)],
        Rank::AuthAnswer,
    );
    assert_eq!(
        c.lookup(t(0), &n, RecordType::A, Rank::Glue, false)
            .unwrap()
            .original_ttl,
        40
    );
}

#[test]
fn rfc2308_negative_entries() {
    let mut c = cache(100_000);
    let n = name("nope.example.com.");
    c.insert_negative(t(0), &n, None, Some(soa(3600, 120)), Rank::AuthAnswer);
    let h = c
        .lookup(t(20), &n, RecordType::MX, Rank::Glue, false)
        .unwrap();
    assert!(matches!(h.data, Data::NxDomain(_)));
    assert_eq!(ttl_of(&h), 100);
    // Negative TTL clamp (600) and min(SOA TTL, MINIMUM).
    c.insert_negative(
        t(0),
        &n,
        Some(RecordType::TXT),
        Some(soa(5000, 4000)),
        Rank::AuthAnswer,
    );
    let h = c
        .lookup(t(0), &n, RecordType::TXT, Rank::Glue, false)
        .unwrap();
    assert_eq!(h.original_ttl, 600);
    // No SOA: not cached at all.
    let m = name("other.example.com.");
    c.insert_negative(t(0), &m, None, None, Rank::AuthAnswer);
    assert!(
        c.lookup(t(0), &m, RecordType::A, Rank::Glue, false)
            .is_none()
    );
    // A newer positive answer wins over an older NXDOMAIN.
    c.insert_rrset(
        t(30),
        &n,
        RecordType::A,
        vec![a("nope.example.com.", 300, 1)],
        Rank::AuthAnswer,
    );
    let h = c
        .lookup(t(31), &n, RecordType::A, Rank::Glue, false)
        .unwrap();
    assert!(matches!(h.data, Data::Records(_)));
}

#[test]
fn rfc8767_stale_window() {
    let mut c = cache(100_000);
    let n = name("s.example.com.");
    c.insert_rrset(
        t(0),
        &n,
        RecordType::A,
        vec![a("s.example.com.", 10, 1)],
        Rank::AuthAnswer,
    );
    assert!(
        c.lookup(t(11), &n, RecordType::A, Rank::Glue, false)
            .is_none()
    );
    let h = c
        .lookup(t(50), &n, RecordType::A, Rank::Glue, true)
        .unwrap();
    assert!(h.stale);
    assert_eq!(ttl_of(&h), STALE_TTL);
    assert!(
        c.lookup(t(111), &n, RecordType::A, Rank::Glue, true)
            .is_none()
    );
    assert!(c.is_empty(), "dropped once past the window");
    assert_eq!(c.bytes(), 0);
}

#[test]
fn byte_cap_evicts_least_recently_used() {
    let recs = Data::Records(vec![a("n0.example.com.", 300, 1)]);
    let wire = Wire::encode(data_records(&recs)).unwrap();
    let one = entry_bytes(&recs, Some(&wire), 16 + 3);
    let mut c = cache(one * 3);
    for i in 0..3 {
        let s = format!("n{i}.example.com.");
        c.insert_rrset(
            t(0),
            &name(&s),
            RecordType::A,
            vec![a(&s, 300, 1)],
            Rank::AuthAnswer,
        );
    }
    assert_eq!(c.len(), 3);
    // Touch n0 so that n1 is the least recently used.
    assert!(
        c.lookup(
            t(0),
            &name("n0.example.com."),
            RecordType::A,
            Rank::Glue,
            false
        )
        .is_some()
    );
    c.insert_rrset(
        t(0),
        &name("n3.example.com."),
        RecordType::A,
        vec![a("n3.example.com.", 300, 1)],
        Rank::AuthAnswer,
    );
    assert_eq!(c.len(), 3);
    assert_eq!(c.evictions(), 1);
    assert!(
        c.lookup(
            t(0),
            &name("n1.example.com."),
            RecordType::A,
            Rank::Glue,
            false
        )
        .is_none()
    );
    assert!(
        c.lookup(
            t(0),
            &name("n0.example.com."),
            RecordType::A,
            Rank::Glue,
            false
        )
        .is_some()
    );
    assert!(c.check_invariants());
    // An entry bigger than the whole cache is refused.
    let big: Vec<Record> = (0..50).map(|i| a("big.example.com.", 300, i)).collect();
    c.insert_rrset(
        t(0),
        &name("big.example.com."),
        RecordType::A,
        big,
        Rank::AuthAnswer,
    );
    assert!(
        c.lookup(
            t(0),
            &name("big.example.com."),
            RecordType::A,
            Rank::Glue,
            false
        )
        .is_none()
    );
    assert!(c.check_invariants());
}

#[test]
fn keys_are_case_insensitive_and_hashes_keyed() {
    let mut c = cache(10_000);
    c.insert_rrset(
        t(0),
        &name("WWW.Example.COM."),
        RecordType::A,
        vec![a("WWW.Example.COM.", 300, 1)],
        Rank::AuthAnswer,
    );
    assert!(
        c.lookup(
            t(0),
            &name("www.example.com."),
            RecordType::A,
            Rank::Glue,
            false
        )
        .is_some()
    );
    let k = name("www.example.com.");
    assert_ne!(
        hash_one(&KeyedHasher::new(1, 2), &k),
        hash_one(&KeyedHasher::new(3, 4), &k)
    );
}

#[derive(Clone, Debug)]
enum Op {
    Put(u8, u32, u8),
    Neg(u8, bool, u32),
    Get(u8, bool),
    Tick(u16),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0u8..16, 0u32..5000, 0u8..5).prop_map(|(n, ttl, r)| Op::Put(n, ttl, r)),
        (0u8..16, any::<bool>(), 0u32..5000).prop_map(|(n, nx, ttl)| Op::Neg(n, nx, ttl)),
        (0u8..16, any::<bool>()).prop_map(|(n, s)| Op::Get(n, s)),
        (0u16..2000).prop_map(Op::Tick),
    ]
}

proptest! {
    /// Whatever happens, the byte accounting is exact and within the cap, TTLs
    /// never exceed the clamp, and nothing expired is served as fresh.
    #[test]
    fn cache_invariants(cap in 0usize..4000, ops in proptest::collection::vec(op(), 1..200)) {
        let ranks = [Rank::Glue, Rank::Referral, Rank::NonAuthAnswer, Rank::AuthAuthority, Rank::AuthAnswer];
        let mut c = cache(cap);
        let mut now = 0u64;
        for o in ops {
            match o {
                Op::Put(n, ttl, r) => {
                    let s = format!("n{n}.example.com.");
                    c.insert_rrset(t(now), &name(&s), RecordType::A, vec![a(&s, ttl, n)], ranks[usize::from(r)]);
                }
                Op::Neg(n, nx, ttl) => {
                    let s = format!("n{n}.example.com.");
                    let ty = if nx { None } else { Some(RecordType::A) };
                    c.insert_negative(t(now), &name(&s), ty, Some(soa(ttl, ttl)), Rank::AuthAnswer);
                }
                Op::Get(n, stale) => {
                    let s = format!("n{n}.example.com.");
                    if let Some(h) = c.lookup(t(now), &name(&s), RecordType::A, Rank::Glue, stale) {
                        prop_assert!(ttl_of(&h) <= 1000);
                        prop_assert!(h.original_ttl <= 1000);
                        if !stale { prop_assert!(!h.stale); }
                        if h.stale { prop_assert_eq!(ttl_of(&h), STALE_TTL); }
                    }
                }
                Op::Tick(s) => now += u64::from(s),
            }
            prop_assert!(c.check_invariants());
            prop_assert!(c.bytes() <= cap);
        }
    }
}
