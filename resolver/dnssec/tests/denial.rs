//! Denial of existence: the NSEC3 cases of RFC 5155 Appendix B over the Appendix A zone,
//! and the same shapes with NSEC over a small zone of our own.

mod common;

use common::*;
use critical_section as _;
use dnssec::rdata::rtype::*;
use dnssec::*;

/// RFC 5155 Appendix A's NSEC3 chain: (original owner, next owner, types).
const CHAIN: [(&str, &str, &[u16]); 12] = [
    (
        "example.",
        "ns1.example.",
        &[NS, SOA, MX, RRSIG, DNSKEY, NSEC3PARAM],
    ),
    ("ns1.example.", "x.y.w.example.", &[A, RRSIG]),
    ("x.y.w.example.", "a.example.", &[MX, RRSIG]),
    ("a.example.", "x.w.example.", &[NS, DS, RRSIG]),
    ("x.w.example.", "ai.example.", &[MX, RRSIG]),
    ("ai.example.", "y.w.example.", &[A, HINFO, AAAA, RRSIG]),
    ("y.w.example.", "w.example.", &[]),
    (
        "w.example.",
        "2t7b4g4vsa5smi47k61mv5bv1a22bojr.example.",
        &[],
    ),
    (
        "2t7b4g4vsa5smi47k61mv5bv1a22bojr.example.",
        "ns2.example.",
        &[A, RRSIG],
    ),
    ("ns2.example.", "*.w.example.", &[A, RRSIG]),
    ("*.w.example.", "xx.example.", &[MX, RRSIG]),
    ("xx.example.", "example.", &[A, HINFO, AAAA, RRSIG]),
];

fn nsec3_zone(iterations: u16, skip: Option<&str>) -> Vec<Record<'static>> {
    let salt = hex("aabbccdd");
    let h = |n: &str| nsec3_hash(&name(n), &salt, 12);
    CHAIN
        .iter()
        .filter(|(o, _, _)| Some(*o) != skip)
        .map(|(owner, next, types)| {
            let mut rd = vec![1, 1];
            rd.extend_from_slice(&iterations.to_be_bytes());
            rd.push(4);
            rd.extend_from_slice(&salt);
            rd.push(20);
            rd.extend_from_slice(&h(next));
            rd.extend_from_slice(&TypeBitmap::build(types));
            rr(
                &format!("{}.example.", base32hex_encode(&h(owner))),
                NSEC3,
                3600,
                rd,
            )
        })
        .collect()
}

#[test]
fn chain_is_in_hash_order() {
    // The transcribed chain really is the Appendix A chain: each NSEC3 owner hash sorts
    // after the previous one.
    let z = nsec3_zone(12, None);
    for w in z.windows(2) {
        assert!(w[0].owner < w[1].owner, "{} {}", w[0].owner, w[1].owner);
    }
}

/// B.1: NXDOMAIN for a.c.x.w.example: closest encloser x.w.example, next closer
/// c.x.w.example covered, wildcard *.x.w.example covered. The zone's NSEC3s are opt-out.
#[test]
fn nsec3_b1_name_error() {
    let z = nsec3_zone(12, None);
    let p = Policy::default();
    let mut b = Budget::default();
    let d = nsec3_nxdomain(&name("example."), &name("a.c.x.w.example."), &z, &p, &mut b).unwrap();
    assert_eq!(
        d,
        Denial::NxDomain {
            closest_encloser: name("x.w.example."),
            opt_out: true
        }
    );
    // Searched from both ends in turn: a.c.x.w, example (matched), c.x.w, w (matched),
    // x.w (matched: the closest encloser), then *.x.w: six hashes.
    assert_eq!(b.nsec3_hashes_done(), 6);
    // A name that exists cannot be denied.
    let e = nsec3_nxdomain(
        &name("example."),
        &name("ai.example."),
        &z,
        &p,
        &mut Budget::default(),
    )
    .unwrap_err();
    assert_eq!(e, Failure::Bogus(BogusReason::DenialContradicted));
    // Without the NSEC3 covering the next closer: EDE 12.
    let z2 = nsec3_zone(12, Some("example."));
    let e = nsec3_nxdomain(
        &name("example."),
        &name("a.c.x.w.example."),
        &z2,
        &p,
        &mut Budget::default(),
    )
    .unwrap_err();
    assert_eq!((e, e.ede_code()), (Failure::NsecMissing, 12));
}

/// B.2 and B.2.1: NODATA at ns1.example (MX) and at the empty non-terminal y.w.example.
#[test]
fn nsec3_b2_no_data() {
    let z = nsec3_zone(12, None);
    let p = Policy::default();
    let ex = name("example.");
    assert_eq!(
        nsec3_nodata(
            &ex,
            &name("ns1.example."),
            MX,
            &z,
            &p,
            &mut Budget::default()
        ),
        Ok(Denial::NoData)
    );
    assert_eq!(
        nsec3_nodata(
            &ex,
            &name("y.w.example."),
            A,
            &z,
            &p,
            &mut Budget::default()
        ),
        Ok(Denial::NoData)
    );
    let e = nsec3_nodata(
        &ex,
        &name("ns1.example."),
        A,
        &z,
        &p,
        &mut Budget::default(),
    )
    .unwrap_err();
    assert_eq!(e, Failure::Bogus(BogusReason::DenialContradicted));
    // a.example is a signed delegation: it has a DS, and the parent's NSEC3 there says
    // nothing about other types.
    let e = nsec3_nodata(&ex, &name("a.example."), DS, &z, &p, &mut Budget::default()).unwrap_err();
    assert_eq!(e, Failure::Bogus(BogusReason::DenialContradicted));
    let e = nsec3_nodata(&ex, &name("a.example."), A, &z, &p, &mut Budget::default()).unwrap_err();
    assert_eq!(e, Failure::Bogus(BogusReason::WrongZone));
}

/// B.3: the DS of the unsigned delegation c.example is denied by opt-out.
#[test]
fn nsec3_b3_opt_out_referral() {
    let z = nsec3_zone(12, None);
    let d = nsec3_nodata(
        &name("example."),
        &name("c.example."),
        DS,
        &z,
        &Policy::default(),
        &mut Budget::default(),
    )
    .unwrap();
    assert_eq!(
        d,
        Denial::OptOut {
            closest_encloser: name("example.")
        }
    );
}

/// B.4 and B.5: an answer from *.w.example for a.z.w.example (next closer z.w.example
/// covered), and the wildcard NODATA for AAAA there.
#[test]
fn nsec3_b4_b5_wildcards() {
    let z = nsec3_zone(12, None);
    let p = Policy::default();
    let ex = name("example.");
    let q = name("a.z.w.example.");
    let opt_out =
        nsec3_wildcard_answer(&ex, &q, &name("w.example."), &z, &p, &mut Budget::default())
            .unwrap();
    assert!(opt_out);
    let d = nsec3_nodata(&ex, &q, AAAA, &z, &p, &mut Budget::default()).unwrap();
    assert_eq!(
        d,
        Denial::WildcardNoData {
            closest_encloser: name("w.example.")
        }
    );
    let e = nsec3_nodata(&ex, &q, MX, &z, &p, &mut Budget::default()).unwrap_err();
    assert_eq!(e, Failure::Bogus(BogusReason::DenialContradicted));
    // The next closer of x.w.example under w.example exists: no cover, no proof.
    let e = nsec3_wildcard_answer(
        &ex,
        &name("x.w.example."),
        &name("w.example."),
        &z,
        &p,
        &mut Budget::default(),
    )
    .unwrap_err();
    assert_eq!(e, Failure::NsecMissing);
}

/// RFC 9276: iterations above the cap are insecure with EDE 27, before any hashing.
#[test]
fn nsec3_iteration_cap() {
    let z = nsec3_zone(151, None);
    let mut b = Budget::default();
    let e = nsec3_nxdomain(
        &name("example."),
        &name("a.c.x.w.example."),
        &z,
        &Policy::default(),
        &mut b,
    )
    .unwrap_err();
    assert_eq!(
        (e, e.ede_code(), e.is_insecure()),
        (Failure::Nsec3Iterations(151), 27, true)
    );
    assert_eq!(b.nsec3_hashes_done(), 0);
    // 150 is allowed (the hashes then do not match the chain, which is another matter).
    let z = nsec3_zone(150, None);
    assert_ne!(
        nsec3_nxdomain(
            &name("example."),
            &name("a.c.x.w.example."),
            &z,
            &Policy::default(),
            &mut Budget::default()
        ),
        Err(Failure::Nsec3Iterations(150))
    );
}

/// CVE-2023-50868: a deep query name whose records prove nothing makes the
/// closest-encloser search hash every ancestor; the budget stops it.
#[test]
fn nsec3_hash_budget() {
    // One NSEC3 only, covering a narrow range: no ancestor is matched or covered.
    // (ns1's, from 2t7b4g... to 2vptu5...).
    let z = nsec3_zone(12, None)[1..2].to_vec();
    let deep = (0..60).fold(String::from("example."), |s, i| format!("l{i}.{s}"));
    let mut b = Budget::new(16, 4, 8, 20, 8);
    let e = nsec3_nxdomain(
        &name("example."),
        &name(&deep),
        &z,
        &Policy::default(),
        &mut b,
    )
    .unwrap_err();
    assert_eq!(e, Failure::Budget(BudgetKind::Nsec3Hashes));
    assert_eq!(b.nsec3_hashes_done(), 20);
}

/// An honest NXDOMAIN for a 100-label name whose closest encloser is the apex: the
/// search from the apex down finds it in a few hashes, and only the three NSEC3
/// records a server sends are what the proof rests on.
#[test]
fn nsec3_deep_name_under_the_apex_is_cheap() {
    let z = nsec3_zone(12, None);
    // One-letter labels (b to u: none is a name of the zone): 100 labels fit the 255
    // octets of a name.
    let deep = (0..99u8).fold(String::from("example."), |s, i| {
        format!("{}.{s}", char::from(b'b' + i % 20))
    });
    let q = name(&deep);
    assert_eq!(q.label_count(), 100);
    let mut b = Budget::new(16, 4, 8, 32, 8);
    let (d, used) =
        nsec3_nxdomain_proof(&name("example."), &q, &z, &Policy::default(), &mut b).unwrap();
    assert_eq!(
        d,
        Denial::NxDomain {
            closest_encloser: name("example."),
            opt_out: true
        }
    );
    assert!(b.nsec3_hashes_done() <= 5, "{}", b.nsec3_hashes_done());
    // The apex match, the next closer's cover, the wildcard's cover (one may be both).
    assert!((2..=3).contains(&used.len()), "{used:?}");
    // Those alone prove it again.
    let only: Vec<_> = used.iter().map(|&i| z[i].clone()).collect();
    let d2 = nsec3_nxdomain(
        &name("example."),
        &q,
        &only,
        &Policy::default(),
        &mut Budget::default(),
    )
    .unwrap();
    assert_eq!(d, d2);
}

fn nsec_zone() -> Vec<Record<'static>> {
    let chain: [(&str, &str, &[u16]); 5] = [
        ("example.", "a.example.", &[NS, SOA, RRSIG, NSEC, DNSKEY]),
        ("a.example.", "b.example.", &[A, RRSIG, NSEC]),
        ("b.example.", "*.w.example.", &[NS, RRSIG, NSEC]),
        ("*.w.example.", "X.w.example.", &[MX, RRSIG, NSEC]),
        ("x.w.example.", "example.", &[A, RRSIG, NSEC]),
    ];
    chain
        .iter()
        .map(|(o, n, t)| {
            let mut rd = name(n).wire().to_vec();
            rd.extend_from_slice(&TypeBitmap::build(t));
            rr(o, NSEC, 3600, rd)
        })
        .collect()
}

#[test]
fn nsec_name_error() {
    let z = nsec_zone();
    let ex = name("example.");
    for q in ["c.example.", "z.example.", "C.Example."] {
        assert_eq!(
            nsec_nxdomain(&ex, &name(q), &z),
            Ok(Denial::NxDomain {
                closest_encloser: ex.clone(),
                opt_out: false
            }),
            "{q}"
        );
    }
    // Below the delegation b.example the parent's NSEC proves nothing.
    assert_eq!(
        nsec_nxdomain(&ex, &name("x.b.example."), &z),
        Err(Failure::Bogus(BogusReason::WrongZone))
    );
    // Names that exist, or exist as an empty non-terminal.
    assert_eq!(
        nsec_nxdomain(&ex, &name("a.example."), &z),
        Err(Failure::Bogus(BogusReason::DenialContradicted))
    );
    assert_eq!(
        nsec_nxdomain(&ex, &name("w.example."), &z),
        Err(Failure::Bogus(BogusReason::DenialContradicted))
    );
    // Under w.example the wildcard exists: no NXDOMAIN there.
    assert_eq!(
        nsec_nxdomain(&ex, &name("q.w.example."), &z),
        Err(Failure::Bogus(BogusReason::DenialContradicted))
    );
    // Without the NSEC covering *.example.
    let e = nsec_nxdomain(&ex, &name("c.example."), &z[1..]).unwrap_err();
    assert_eq!(e, Failure::NsecMissing);
}

#[test]
fn nsec_no_data() {
    let z = nsec_zone();
    let ex = name("example.");
    assert_eq!(
        nsec_nodata(&ex, &name("a.example."), MX, &z),
        Ok(Denial::NoData)
    );
    assert_eq!(
        nsec_nodata(&ex, &name("a.example."), A, &z),
        Err(Failure::Bogus(BogusReason::DenialContradicted))
    );
    // Unsigned delegation: the parent's NSEC at b.example has NS, no DS, no SOA.
    assert_eq!(
        nsec_nodata(&ex, &name("b.example."), DS, &z),
        Ok(Denial::NoData)
    );
    // Other types at the delegation are the child's business.
    assert_eq!(
        nsec_nodata(&ex, &name("b.example."), A, &z),
        Err(Failure::Bogus(BogusReason::WrongZone))
    );
    // DS at a zone apex must be denied by the parent, not the child.
    assert_eq!(
        nsec_nodata(&ex, &name("example."), DS, &z),
        Err(Failure::Bogus(BogusReason::WrongZone))
    );
    // Empty non-terminal.
    assert_eq!(
        nsec_nodata(&ex, &name("w.example."), A, &z),
        Ok(Denial::NoData)
    );
    // Wildcard NODATA.
    assert_eq!(
        nsec_nodata(&ex, &name("q.w.example."), AAAA, &z),
        Ok(Denial::WildcardNoData {
            closest_encloser: name("w.example.")
        })
    );
    assert_eq!(
        nsec_nodata(&ex, &name("q.w.example."), MX, &z),
        Err(Failure::Bogus(BogusReason::DenialContradicted))
    );
    // Nothing to go on.
    assert_eq!(
        nsec_nodata(&ex, &name("c.example."), A, &z),
        Err(Failure::NsecMissing)
    );
}

#[test]
fn nsec_wildcard_answers() {
    let z = nsec_zone();
    let ex = name("example.");
    nsec_wildcard_answer(&ex, &name("q.w.example."), &name("w.example."), &z).unwrap();
    // Claiming a wildcard further up than the NSEC shows: no.
    assert!(nsec_wildcard_answer(&ex, &name("q.w.example."), &ex, &z).is_err());
    // The name exists: no cover.
    assert_eq!(
        nsec_wildcard_answer(&ex, &name("x.w.example."), &name("w.example."), &z),
        Err(Failure::NsecMissing)
    );
}
