//! No input makes the parsers or the validator panic; a few algebraic properties.

use critical_section as _;
use dnssec::rdata::rtype;
use dnssec::*;
use proptest::prelude::*;

fn any_name() -> impl Strategy<Value = Name> {
    prop::collection::vec(prop::collection::vec(any::<u8>(), 1..8), 0..6)
        .prop_map(|labels| Name::from_labels(labels.iter().map(|l| l.as_slice())).unwrap())
}

fn any_record() -> impl Strategy<Value = Record<'static>> {
    let types = prop::sample::select(vec![
        rtype::A,
        rtype::NS,
        rtype::CNAME,
        rtype::SOA,
        rtype::MX,
        rtype::NAPTR,
        rtype::A6,
        rtype::DS,
        rtype::RRSIG,
        rtype::NSEC,
        rtype::DNSKEY,
        rtype::NSEC3,
    ]);
    (
        any_name(),
        types,
        prop::collection::vec(any::<u8>(), 0..80),
        any::<u32>(),
    )
        .prop_map(|(n, t, rd, ttl)| Record::new(n, t, 1, ttl, rd))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn rdata_parsers_never_panic(b in prop::collection::vec(any::<u8>(), 0..300)) {
        let _ = Rrsig::parse(&b);
        let _ = Dnskey::parse(&b);
        let _ = Ds::parse(&b);
        let _ = Nsec::parse(&b);
        let _ = Nsec3::parse(&b);
        let _ = Nsec3Param::parse(&b);
        if let Ok(t) = TypeBitmap::parse(&b) {
            let types: Vec<u16> = t.iter().collect();
            // What parses re-encodes to an equivalent bitmap.
            let again = TypeBitmap::build(&types);
            let t2 = TypeBitmap::parse(&again).unwrap();
            prop_assert_eq!(t2.iter().collect::<Vec<_>>(), types.clone());
            for ty in types { prop_assert!(t.contains(ty)); }
        }
        let _ = Name::from_wire(&b);
        let _ = key_tag(&b);
        for t in [2u16, 5, 6, 15, 33, 35, 38, 39, 46, 47] {
            let _ = canonical_rdata(t, &b);
        }
        let _ = base64_decode(&b);
        let _ = base32hex_decode(&b);
        let _ = hex_decode(&b);
    }

    #[test]
    fn anchor_parser_never_panics(s in "\\PC{0,80}", parts in prop::collection::vec("[A-Za-z0-9+/=.\\-]{0,12}", 0..8)) {
        let _ = parse_trust_anchor(&s);
        let joined = parts.join(":");
        if let Err(e) = parse_trust_anchor(&joined) {
            prop_assert!(!e.to_string().contains('\n'));
        }
    }

    #[test]
    fn validator_never_panics(recs in prop::collection::vec(any_record(), 0..8), qname in any_name(), qtype in any::<u16>(), now in any::<u64>()) {
        let p = Policy::default();
        let zone = qname.suffix(1);
        let mut b = Budget::default();
        let sets: Vec<&[Record<'_>]> = vec![&recs[..recs.len().min(1)], &recs[..]];
        for set in sets {
            let _ = verify_rrset(set, &recs, &recs, now, &p, &mut b);
        }
        let ds: Vec<Ds<'_>> = recs.iter().filter_map(|r| r.ds().ok()).collect();
        let keys: Vec<Dnskey<'_>> = recs.iter().filter_map(|r| r.dnskey().ok()).collect();
        let _ = verify_dnskeys(&zone, &recs, &recs, Trust::Ds(&ds), now, &p, &mut b);
        let _ = verify_dnskeys(&zone, &recs, &recs, Trust::Keys(&keys), now, &p, &mut b);
        let _ = nsec_nxdomain(&zone, &qname, &recs);
        let _ = nsec_nodata(&zone, &qname, qtype, &recs);
        let _ = nsec_wildcard_answer(&zone, &qname, &zone, &recs);
        let _ = nsec3_nxdomain(&zone, &qname, &recs, &p, &mut b);
        let _ = nsec3_nodata(&zone, &qname, qtype, &recs, &p, &mut b);
        let _ = nsec3_wildcard_answer(&zone, &qname, &zone, &recs, &p, &mut b);
        for r in &recs {
            if let Ok(s) = r.rrsig() {
                let _ = signed_data(&s, &r.owner, rtype::A, 1, &[&r.rdata]);
            }
        }
    }

    #[test]
    fn canonical_order_is_a_total_order(a in any_name(), b in any_name(), c in any_name()) {
        use std::cmp::Ordering::*;
        prop_assert_eq!(a.cmp(&b), b.cmp(&a).reverse());
        prop_assert_eq!(a.cmp(&b) == Equal, a == b);
        if a <= b && b <= c { prop_assert!(a <= c); }
        prop_assert_eq!(a.cmp(&b), a.to_lowercase().cmp(&b.to_lowercase()));
        // An ancestor sorts before its descendants.
        if a.is_subdomain_of(&b) && a != b { prop_assert!(b < a); }
        let w = Name::from_wire_exact(a.wire()).unwrap();
        prop_assert_eq!(w.wire(), a.wire());
    }

    #[test]
    fn base32hex_round_trips(b in prop::collection::vec(any::<u8>(), 0..40)) {
        let s = base32hex_encode(&b);
        prop_assert_eq!(base32hex_decode(s.as_bytes()).unwrap(), b.clone());
        prop_assert_eq!(base32hex_decode(s.to_uppercase().as_bytes()).unwrap(), b);
    }

    #[test]
    fn serial_arithmetic(a in any::<u32>(), d in 1u32..0x7fff_ffff) {
        prop_assert!(serial_lt(a, a.wrapping_add(d)));
        prop_assert!(!serial_lt(a.wrapping_add(d), a));
        prop_assert!(!serial_lt(a, a));
    }
}
