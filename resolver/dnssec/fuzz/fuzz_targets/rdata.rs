//! Any bytes as the RDATA of every DNSSEC type, as a name, a bitmap, a trust anchor and
//! the RDATA of the types whose names canonical form lowercases: nothing may panic, and
//! what parses must be self-consistent.
#![no_main]

use dnssec::*;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = Rrsig::parse(data) {
        let mut prefix = Vec::new();
        s.write_signed_prefix(&mut prefix);
        assert_eq!(prefix.len() + s.signature.len(), data.len());
    }
    if let Ok(k) = Dnskey::parse(data) {
        assert_eq!(k.key_tag(), key_tag(data));
        let _ = make_ds(&Name::root(), &k, 2);
    }
    if let Ok(d) = Ds::parse(data) {
        assert_eq!(d.to_rdata(), data);
    }
    if let Ok(n) = Nsec::parse(data) {
        let _ = n.types.iter().count();
    }
    if let Ok(n) = Nsec3::parse(data) {
        for t in n.types.iter() {
            assert!(n.types.contains(t));
        }
    }
    let _ = Nsec3Param::parse(data);
    if let Ok((n, used)) = Name::from_wire(data) {
        assert_eq!(n.wire(), &data[..used]);
        assert_eq!(n.to_lowercase(), n);
    }
    for t in [2u16, 5, 6, 12, 15, 17, 26, 33, 35, 38, 39, 46, 47] {
        if let Ok(c) = canonical_rdata(t, data) {
            assert_eq!(c.len(), data.len());
        }
    }
    if let Ok(s) = core::str::from_utf8(data) {
        let _ = parse_trust_anchor(s);
    }
});
