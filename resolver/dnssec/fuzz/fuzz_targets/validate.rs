//! A whole set of records from the input, run through every validation entry point with
//! one budget: nothing may panic and the budget's counters never pass its limits.
//!
//! Input: 8 octets of wall-clock time, 2 of query type, then records as
//! `owner-selector type-selector rdlength rdata`, owners and types from small tables so
//! records meet each other often.
#![no_main]

use dnssec::rdata::rtype;
use dnssec::*;
use libfuzzer_sys::fuzz_target;

const OWNERS: [&str; 8] = [
    ".",
    "example.",
    "www.example.",
    "*.example.",
    "a.b.example.",
    "0p9mhaveqvm6t7vbl5lop2u3t2rp3tom.example.",
    "b4um86eghhds6nea196smvmlo4ors995.example.",
    "EXAMPLE.",
];
const TYPES: [u16; 8] = [
    rtype::A,
    rtype::RRSIG,
    rtype::DNSKEY,
    rtype::DS,
    rtype::NSEC,
    rtype::NSEC3,
    rtype::CNAME,
    rtype::MX,
];

fuzz_target!(|data: &[u8]| {
    let Some((now, rest)) = data.split_first_chunk::<8>() else { return };
    let Some((qt, mut rest)) = rest.split_first_chunk::<2>() else { return };
    let now = u64::from_be_bytes(*now);
    let qtype = u16::from_be_bytes(*qt);
    let mut recs = Vec::new();
    while let [o, t, len, tail @ ..] = rest {
        let len = *len as usize;
        let Some((rd, tail)) = tail.split_at_checked(len) else { break };
        let owner = Name::from_ascii(OWNERS[(*o & 7) as usize]).unwrap();
        recs.push(Record::new(owner, TYPES[(*t & 7) as usize], 1, 3600, rd.to_vec()));
        rest = tail;
        if recs.len() >= 32 {
            break;
        }
    }
    let limits = Budget::new(6, 3, 4, 12, 5);
    let mut b = limits;
    let p = Policy::default();
    let zone = Name::from_ascii("example.").unwrap();
    let qname = Name::from_ascii("a.b.example.").unwrap();
    for t in TYPES {
        let set: Vec<Record<'_>> = recs.iter().filter(|r| r.rtype == t).cloned().collect();
        if let Some(first) = set.first() {
            let one: Vec<Record<'_>> = set.iter().filter(|r| r.owner == first.owner).cloned().collect();
            let _ = verify_rrset(&one, &recs, &recs, now, &p, &mut b);
        }
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
    assert!(b.verifications_done() <= limits.verifications_left);
    assert!(b.nsec3_hashes_done() <= limits.nsec3_hashes_left);
    assert!(b.ds_digests_done() <= limits.ds_digests_left);
});
