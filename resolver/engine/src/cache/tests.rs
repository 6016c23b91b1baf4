//! The cache's unit tests: keys, pre-encoding, ranks, TTLs, negative entries,
//! serve-stale, the byte cap, and a property test of the accounting.

use super::*;
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
    let k = |s: &str, kind| KeyBuf::from_name(&name(s)).unwrap().with(kind).to_vec();
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
    let e = Encoded::new(&recs, &Attached::default()).unwrap();
    let w = e.wire();
    assert_eq!(w.owner(), b"\x03Www\x07example\x03com\x00");
    let rrs: Vec<_> = w.rrs().collect();
    assert_eq!(rrs.len(), 2);
    assert_eq!(rrs[1].rtype(), 1);
    assert_eq!(rrs[1].rdata(), &[192, 0, 2, 2]);
    assert_eq!(w.records_len(), 2 * (17 + 14));
    // Owners differing in case are not one pre-encoded set.
    assert!(
        Encoded::new(
            &[a("www.example.com.", 1, 1), a("WWW.example.com.", 1, 2)],
            &Attached::default()
        )
        .is_none()
    );
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

/// Name `n{i}.example.com.`, as a string.
fn nth(i: usize) -> alloc::string::String {
    format!("n{i}.example.com.")
}
/// Store one A record for `nth(i)`.
fn put_nth(c: &mut Cache<KeyedHasher>, i: usize) {
    let s = nth(i);
    c.insert_rrset(
        t(0),
        &name(&s),
        RecordType::A,
        vec![a(&s, 300, 1)],
        Rank::AuthAnswer,
    );
}
/// Look up `nth(i)` (which marks it used): whether it is cached.
fn has_nth(c: &mut Cache<KeyedHasher>, i: usize) -> bool {
    c.lookup(t(0), &name(&nth(i)), RecordType::A, Rank::Glue, false)
        .is_some()
}
/// What one `put_nth` entry is charged (names `n0` to `n9` have the same length).
fn one_entry() -> usize {
    let recs = Data::Records(vec![a("n0.example.com.", 300, 1)]);
    let wire = Encoded::new(data_records(&recs), &Attached::default()).unwrap();
    entry_bytes(&recs, &Attached::default(), Some(wire.wire()), 16 + 3)
}

/// The byte cap evicts an entry not used since it was stored before one that was
/// (CLOCK's second chance; this test asserted strict LRU order before CLOCK, where
/// the untouched entry that goes is whichever the hand reaches first).
#[test]
fn byte_cap_evicts_untouched_first() {
    let mut c = cache(one_entry() * 3);
    for i in 0..3 {
        put_nth(&mut c, i);
    }
    assert_eq!(c.len(), 3);
    // Touch n0: n1 and n2 are unused since they were stored.
    assert!(has_nth(&mut c, 0));
    put_nth(&mut c, 3);
    assert_eq!(c.len(), 3);
    assert_eq!(c.evictions(), 1);
    assert!(c.bytes() <= one_entry() * 3);
    let kept = [1, 2].map(|i| has_nth(&mut c, i));
    assert_eq!(kept.iter().filter(|k| **k).count(), 1, "n1 or n2 went");
    assert!(has_nth(&mut c, 0));
    assert!(has_nth(&mut c, 3));
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

/// Filled past its cap, the cache evicts exactly the one entry nobody asked for,
/// whichever bucket it sits in.
#[test]
fn clock_evicts_the_only_untouched_entry() {
    for cold in 0..8 {
        let mut c = cache(one_entry() * 8);
        for i in 0..8 {
            put_nth(&mut c, i);
        }
        for i in (0..8).filter(|i| *i != cold) {
            assert!(has_nth(&mut c, i));
        }
        put_nth(&mut c, 8);
        assert_eq!((c.len(), c.evictions()), (8, 1));
        assert!(c.bytes() <= one_entry() * 8);
        assert!(!has_nth(&mut c, cold), "the untouched n{cold} went");
        for i in (0..9).filter(|i| *i != cold) {
            assert!(has_nth(&mut c, i), "n{i} survived");
        }
        assert!(c.check_invariants());
    }
}

/// Names asked for between insertions survive any number of insertions into a full
/// cache; the byte cap holds throughout and every entry that went was evicted.
#[test]
fn clock_keeps_a_hot_set_through_churn() {
    let cap = one_entry() * 8;
    let mut c = cache(cap);
    for i in 0..8 {
        put_nth(&mut c, i);
    }
    // Longer names are charged more, so an insertion may evict two entries.
    let hot = [0, 1, 2];
    let mut stored = 8;
    for i in 8..400 {
        for h in hot {
            assert!(has_nth(&mut c, h), "hot n{h} survived");
        }
        put_nth(&mut c, i);
        stored += 1;
        assert!(c.bytes() <= cap);
        assert!(c.check_invariants());
    }
    assert!(c.len() <= 8);
    assert_eq!(c.evictions(), (stored - c.len()) as u64);
    for h in hot {
        assert!(has_nth(&mut c, h));
    }
}

/// The clock's ring is the table's buckets: churning names through a small cache
/// does not grow it, and it stays within a small multiple of the entries held.
#[test]
fn clock_ring_is_bounded_by_the_entries() {
    let mut c = cache(one_entry() * 40);
    let mut ring = 0;
    for i in 0..20_000 {
        put_nth(&mut c, i);
        if i % 3 == 0 {
            c.store.remove(
                KeyBuf::from_name(&name(&nth(i / 2)))
                    .unwrap()
                    .with(Kind::Type(RecordType::A)),
            );
        }
        ring = ring.max(c.store.ring_len());
        assert!(c.bytes() <= one_entry() * 40);
    }
    assert!(c.len() <= 40);
    assert!(ring <= 128, "ring of {ring} buckets for at most 40 entries");
    assert!(c.check_invariants());
    c.clear();
    assert_eq!((c.len(), c.bytes()), (0, 0));
    put_nth(&mut c, 0);
    assert!(has_nth(&mut c, 0));
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

/// A typed entry that learnt there is no NXDOMAIN entry at its name (and so is found
/// with one probe) still loses to an NXDOMAIN entry stored after it, on both paths.
#[test]
fn nxdomain_stored_after_a_one_probe_hit_wins() {
    let mut c = cache(100_000);
    put_nth(&mut c, 0);
    let rank = Rank::Glue;
    let hit = Some(Some((WireKind::Records, 300, 300)));
    assert_eq!(fast(&mut c, t(0), 0, rank), hit);
    assert_eq!(fast(&mut c, t(0), 0, rank), hit, "again, one probe");
    assert!(c.check_invariants());
    c.insert_negative(
        t(1),
        &name(&nth(0)),
        None,
        Some(soa(3600, 120)),
        Rank::AuthAnswer,
    );
    assert!(c.check_invariants());
    assert_eq!(
        fast(&mut c, t(2), 0, rank),
        Some(Some((WireKind::NxDomain, 119, 120)))
    );
    let h = c
        .lookup(t(2), &name(&nth(0)), RecordType::A, rank, false)
        .unwrap();
    assert!(matches!(h.data, Data::NxDomain(_)));
    // A newer A set wins again, and learns nothing while the NXDOMAIN entry is there.
    c.insert_rrset(
        t(3),
        &name(&nth(0)),
        RecordType::A,
        vec![a(&nth(0), 300, 9)],
        Rank::AuthAnswer,
    );
    assert_eq!(fast(&mut c, t(3), 0, rank), hit);
    assert!(c.check_invariants());
    // Gone (past the stale window), the NXDOMAIN entry is learnt absent again.
    let late = t(1 + 120 + 100 + 1);
    assert!(
        c.lookup(late, &name(&nth(0)), RecordType::MX, rank, true)
            .is_none()
    );
    assert_eq!(
        fast(&mut c, late, 0, rank),
        Some(Some((WireKind::Records, 81, 300)))
    );
    assert!(c.check_invariants());
}

/// An NXDOMAIN entry stored for another name in the same slot makes a typed entry look
/// again, and find that there is still none at its own name.
#[test]
fn nxdomain_in_the_same_slot_makes_a_typed_entry_look_again() {
    let mut c = cache(100_000);
    let slot = |c: &Cache<KeyedHasher>, i| c.nx_slot(&KeyBuf::from_name(&name(&nth(i))).unwrap());
    let other = (1..100_000).find(|i| slot(&c, *i) == slot(&c, 0)).unwrap();
    put_nth(&mut c, 0);
    let hit = Some(Some((WireKind::Records, 300, 300)));
    assert_eq!(fast(&mut c, t(0), 0, Rank::Glue), hit);
    let known = |c: &Cache<KeyedHasher>| {
        let mut kb = KeyBuf::from_name(&name(&nth(0))).unwrap();
        let e = c.store.peek(kb.with(Kind::Type(RecordType::A))).unwrap();
        Some(e.nx_clear) == c.nx_gen(&kb)
    };
    assert!(known(&c));
    c.insert_negative(
        t(0),
        &name(&nth(other)),
        None,
        Some(soa(3600, 120)),
        Rank::AuthAnswer,
    );
    assert!(!known(&c), "the slot moved on");
    assert_eq!(fast(&mut c, t(0), 0, Rank::Glue), hit);
    assert!(known(&c), "learnt again");
    assert!(c.check_invariants());
    assert!(matches!(
        c.lookup(t(0), &name(&nth(other)), RecordType::A, Rank::Glue, false)
            .unwrap()
            .data,
        Data::NxDomain(_)
    ));
}

#[derive(Clone, Debug)]
enum Op {
    Put(u8, u32, u8),
    Neg(u8, bool, u32),
    Get(u8, bool),
    Fast(u8, u8),
    Tick(u16),
}

/// What the fast lookup of `nth(n)`'s A data says: `None` a decline, `Some(None)` a
/// miss, `Some(Some((kind, remaining, original_ttl)))` a hit.
type Fast = Option<Option<(WireKind, u32, u32)>>;

fn fast(c: &mut Cache<KeyedHasher>, now: Instant, n: usize, min_rank: Rank) -> Fast {
    let mut kb = KeyBuf::from_name(&name(&nth(n))).unwrap();
    match c.lookup_wire(now, &mut kb, RecordType::A, min_rank) {
        Probe::Decline => None,
        Probe::Miss => Some(None),
        Probe::Hit(h) => Some(Some((h.kind, h.remaining, h.original_ttl))),
    }
}

/// What a lookup of `nth(n)`'s A data should find, worked out from the two entries it
/// weighs, both peeked at: the kind of data (NXDOMAIN is the `Option`'s `None`) and
/// whether it is stale.
fn expected(
    c: &Cache<KeyedHasher>,
    now: Instant,
    n: usize,
    min_rank: Rank,
    allow_stale: bool,
) -> Option<(Option<bool>, bool)> {
    let mut kb = KeyBuf::from_name(&name(&nth(n))).unwrap();
    let window = c.policy.stale_window.unwrap();
    let mut weigh = |kind| {
        let e = c.store.peek(kb.with(kind))?;
        let fresh = now < e.expires;
        let ok =
            e.rank >= min_rank && now < e.expires.saturating_add(window) && (fresh || allow_stale);
        let records = match e.cold.data {
            Data::Records(_) => Some(true),
            Data::NoData(_) => Some(false),
            Data::NxDomain(_) => None,
        };
        ok.then_some((records, !fresh, e.inserted()))
    };
    let typed = weigh(Kind::Type(RecordType::A));
    let nx = weigh(Kind::NxDomain);
    let (kind, stale, _) = match (typed, nx) {
        (Some(a), Some(b)) => {
            if b.2 > a.2 {
                b
            } else {
                a
            }
        }
        (Some(a), None) | (None, Some(a)) => a,
        (None, None) => return None,
    };
    Some((kind, stale))
}

/// The `expected` summary of a hit.
fn summary(h: &Hit) -> (Option<bool>, bool) {
    let kind = match h.data {
        Data::Records(_) => Some(true),
        Data::NoData(_) => Some(false),
        Data::NxDomain(_) => None,
    };
    (kind, h.stale)
}

/// Whether the fast lookup `f` agrees with the full lookup `h` made right after it.
fn agree(f: Fast, h: Option<&Hit>) -> bool {
    match (f, h) {
        (None, _) | (Some(None), None) => true,
        (Some(Some((kind, remaining, original))), Some(h)) => {
            let same_kind = matches!(
                (kind, &h.data),
                (WireKind::Records, Data::Records(_))
                    | (WireKind::NoData, Data::NoData(_))
                    | (WireKind::NxDomain, Data::NxDomain(_))
            );
            same_kind && !h.stale && h.remaining == remaining && h.original_ttl == original
        }
        _ => false,
    }
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0u8..16, 0u32..5000, 0u8..5).prop_map(|(n, ttl, r)| Op::Put(n, ttl, r)),
        (0u8..16, any::<bool>(), 0u32..5000).prop_map(|(n, nx, ttl)| Op::Neg(n, nx, ttl)),
        (0u8..16, any::<bool>()).prop_map(|(n, s)| Op::Get(n, s)),
        (0u8..16, 0u8..5).prop_map(|(n, r)| Op::Fast(n, r)),
        (0u16..2000).prop_map(Op::Tick),
    ]
}

proptest! {
    /// Whatever happens, the byte accounting is exact and within the cap, TTLs
    /// never exceed the clamp, nothing expired is served as fresh, and the fast lookup
    /// agrees with the full one (NXDOMAIN entries coming and going at the same names).
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
                    let want = expected(&c, t(now), usize::from(n), Rank::Glue, stale);
                    let got = c.lookup(t(now), &name(&s), RecordType::A, Rank::Glue, stale);
                    prop_assert_eq!(want, got.as_ref().map(summary));
                    if let Some(h) = got {
                        prop_assert!(ttl_of(&h) <= 1000);
                        prop_assert!(h.original_ttl <= 1000);
                        if !stale { prop_assert!(!h.stale); }
                        if h.stale { prop_assert_eq!(ttl_of(&h), STALE_TTL); }
                    }
                }
                Op::Fast(n, r) => {
                    // The fast lookup decides as the full one does, or declines.
                    let rank = ranks[usize::from(r)];
                    let want = expected(&c, t(now), usize::from(n), rank, false);
                    let f = fast(&mut c, t(now), usize::from(n), rank);
                    let h = c.lookup(t(now), &name(&nth(usize::from(n))), RecordType::A, rank, false);
                    prop_assert!(agree(f, h.as_ref()), "fast {:?} full {:?}", f, h);
                    prop_assert_eq!(want, h.as_ref().map(summary));
                }
                Op::Tick(s) => now += u64::from(s),
            }
            prop_assert!(c.check_invariants());
            prop_assert!(c.bytes() <= cap);
        }
    }
}
