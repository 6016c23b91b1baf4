//! Round trips: sign with keys made here, verify with the crate, then break one thing at
//! a time and check the failure (and its EDE code) is the right one.

mod common;

use std::borrow::Cow;

use common::*;
use critical_section as _;
use dnssec::rdata::rtype;
use dnssec::*;

const ALGS: [u8; 7] = [5, 7, 8, 10, 13, 14, 15];

fn a_set(owner: &str) -> Vec<Record<'static>> {
    // Deliberately not in canonical order, with a duplicate.
    vec![
        rr(owner, rtype::A, 300, vec![192, 0, 2, 9]),
        rr(owner, rtype::A, 300, vec![192, 0, 2, 1]),
        rr(owner, rtype::A, 300, vec![192, 0, 2, 9]),
    ]
}

fn now(z: &Zone) -> u64 {
    z.inception as u64 + 86400
}

#[test]
fn every_algorithm_signs_and_verifies() {
    let p = Policy::default();
    for alg in ALGS {
        let z = Zone::new("example.com.", alg);
        let set = a_set("www.example.com.");
        let sig = z.sign(&set, None);
        let keys = [z.dnskey_record()];
        let mut b = Budget::default();
        let v = verify_rrset(&set, std::slice::from_ref(&sig), &keys, now(&z), &p, &mut b)
            .unwrap_or_else(|e| panic!("alg {alg}: {e}"));
        assert_eq!((v.algorithm, v.key_tag), (alg, z.key_tag()));
        assert_eq!(v.signer, name("example.com"));
        assert_eq!(v.ttl, 300);
        assert_eq!(b.verifications_done(), 1);

        // Owner case and record order do not matter.
        let mut shuffled = a_set("WWW.Example.COM.");
        shuffled.reverse();
        verify_rrset(
            &shuffled,
            std::slice::from_ref(&sig),
            &keys,
            now(&z),
            &p,
            &mut Budget::default(),
        )
        .unwrap();

        // One octet of the data changed: bogus.
        let mut bad = set.clone();
        bad[1].rdata.to_mut()[3] ^= 0x40;
        let e = verify_rrset(
            &bad,
            std::slice::from_ref(&sig),
            &keys,
            now(&z),
            &p,
            &mut Budget::default(),
        )
        .unwrap_err();
        assert_eq!(e, Failure::Bogus(BogusReason::BadSignature), "alg {alg}");
        assert_eq!(e.ede_code(), 6);

        // One octet of the signature changed: bogus.
        let mut bad = sig.clone();
        let n = bad.rdata.len();
        bad.rdata.to_mut()[n - 5] ^= 0x01;
        let e = verify_rrset(&set, &[bad], &keys, now(&z), &p, &mut Budget::default()).unwrap_err();
        assert_eq!(e, Failure::Bogus(BogusReason::BadSignature), "alg {alg}");

        // A record added after signing: bogus.
        let mut more = set.clone();
        more.push(rr("www.example.com.", rtype::A, 300, vec![198, 51, 100, 7]));
        let e = verify_rrset(
            &more,
            std::slice::from_ref(&sig),
            &keys,
            now(&z),
            &p,
            &mut Budget::default(),
        )
        .unwrap_err();
        assert_eq!(e, Failure::Bogus(BogusReason::BadSignature));
    }
}

#[test]
fn time_window() {
    let p = Policy::default();
    let z = Zone::new("example.com.", 13);
    let set = a_set("www.example.com.");
    let sig = [z.sign(&set, None)];
    let keys = [z.dnskey_record()];
    let at = |t: u64| verify_rrset(&set, &sig, &keys, t, &p, &mut Budget::default());
    let e = at(z.expiration as u64 + 301).unwrap_err();
    assert_eq!((e, e.ede_code()), (Failure::SignatureExpired, 7));
    let e = at(z.inception as u64 - 301).unwrap_err();
    assert_eq!((e, e.ede_code()), (Failure::SignatureNotYetValid, 8));
    // Within the skew allowance.
    at(z.expiration as u64 + 299).unwrap();
    at(z.inception as u64 - 299).unwrap();
    // The TTL is capped by the time left on the signature.
    assert_eq!(at(z.expiration as u64 - 100).unwrap().ttl, 100);
    // An expired signature costs no verification.
    let mut b = Budget::default();
    let _ = verify_rrset(&set, &sig, &keys, z.expiration as u64 + 10_000, &p, &mut b);
    assert_eq!(b.verifications_done(), 0);
}

#[test]
fn missing_keys_and_signatures() {
    let p = Policy::default();
    let z = Zone::new("example.com.", 15);
    let set = a_set("www.example.com.");
    let sig = z.sign(&set, None);
    let keys = [z.dnskey_record()];
    let t = now(&z);

    // No RRSIG at all: EDE 10.
    let e = verify_rrset(&set, &[], &keys, t, &p, &mut Budget::default()).unwrap_err();
    assert_eq!((e, e.ede_code()), (Failure::RrsigsMissing, 10));
    // An RRSIG over another type is not one for this RRset.
    let other = z.sign(
        &[rr("www.example.com.", rtype::TXT, 300, b"\x01x".to_vec())],
        None,
    );
    assert_eq!(
        verify_rrset(&set, &[other], &keys, t, &p, &mut Budget::default()).unwrap_err(),
        Failure::RrsigsMissing
    );

    // Wrong key tag: EDE 9.
    let mut wrong = sig.clone();
    let tag = z.key_tag().wrapping_add(1).to_be_bytes();
    wrong.rdata.to_mut()[16..18].copy_from_slice(&tag);
    let e = verify_rrset(&set, &[wrong], &keys, t, &p, &mut Budget::default()).unwrap_err();
    assert_eq!((e, e.ede_code()), (Failure::DnskeyMissing, 9));
    // Key without the zone flag, or revoked, is not a candidate.
    for flags in [1u16, 257 | 0x80] {
        let k = [rr("example.com.", rtype::DNSKEY, 3600, z.key.dnskey(flags))];
        assert_eq!(
            verify_rrset(
                &set,
                std::slice::from_ref(&sig),
                &k,
                t,
                &p,
                &mut Budget::default()
            )
            .unwrap_err(),
            Failure::DnskeyMissing
        );
    }
    // Signer that is not an ancestor of the owner.
    let foreign = Zone::new("example.org.", 15).sign(&set, None);
    let e = verify_rrset(&set, &[foreign], &keys, t, &p, &mut Budget::default()).unwrap_err();
    assert_eq!(e, Failure::Bogus(BogusReason::RrsigMismatch));

    // Only an RRSIG of an unknown algorithm while the zone has an Ed25519 key: RRSIGs
    // missing (no downgrade to insecure)...
    let mut unknown = sig.clone();
    unknown.rdata.to_mut()[2] = 253;
    let e = verify_rrset(
        &set,
        &[unknown.clone()],
        &keys,
        t,
        &p,
        &mut Budget::default(),
    )
    .unwrap_err();
    assert_eq!(e, Failure::RrsigsMissing);
    // ...but with only keys of unknown algorithms too, insecure (EDE 1).
    let k253 = [rr(
        "example.com.",
        rtype::DNSKEY,
        3600,
        dnskey_rdata(257, 253, &[1, 2, 3]),
    )];
    let e = verify_rrset(&set, &[unknown], &k253, t, &p, &mut Budget::default()).unwrap_err();
    assert_eq!(
        (e, e.ede_code(), e.is_insecure()),
        (Failure::UnsupportedAlgorithm(253), 1, true)
    );
    // Ed448 is unsupported.
    assert!(!algorithm_supported(16, &p));

    // Not an RRset.
    let mixed = vec![
        set[0].clone(),
        rr("mail.example.com.", rtype::A, 300, vec![1, 2, 3, 4]),
    ];
    assert_eq!(
        verify_rrset(&mixed, &[sig], &keys, t, &p, &mut Budget::default()).unwrap_err(),
        Failure::Bogus(BogusReason::NotAnRrset)
    );
}

#[test]
fn wildcard_expansion_is_reported() {
    let p = Policy::default();
    let z = Zone::new("example.com.", 13);
    // Signed as *.example.com (labels 2), served as a.b.example.com.
    let sig = z.sign(&a_set("*.example.com."), None);
    let served = a_set("a.b.example.com.");
    let mut sig_served = sig.clone();
    sig_served.owner = name("a.b.example.com.");
    let v = verify_rrset(
        &served,
        &[sig_served],
        &[z.dnskey_record()],
        now(&z),
        &p,
        &mut Budget::default(),
    )
    .unwrap();
    assert_eq!(v.expanded_from, Some(name("example.com.")));
    // The wildcard itself, asked for directly: no expansion.
    let v = verify_rrset(
        &a_set("*.example.com."),
        &[sig],
        &[z.dnskey_record()],
        now(&z),
        &p,
        &mut Budget::default(),
    )
    .unwrap();
    assert_eq!(v.expanded_from, None);
}

#[test]
fn dnskey_rrset_from_ds() {
    let p = Policy::default();
    let ksk = Zone::new("example.com.", 13);
    let mut zsk = Zone::new("example.com.", 15);
    zsk.flags = 256;
    let dnskeys = vec![ksk.dnskey_record(), zsk.dnskey_record()];
    let sig = ksk.sign(&dnskeys, None);
    let t = now(&ksk);
    let k = Dnskey::parse(&dnskeys[0].rdata).unwrap();
    let apex = name("example.com.");
    let ds256 = make_ds(&apex, &k, 2).unwrap();
    let ds1 = make_ds(&apex, &k, 1).unwrap();

    let v = verify_dnskeys(
        &apex,
        &dnskeys,
        std::slice::from_ref(&sig),
        Trust::Ds(&[Ds::parse(&ds256).unwrap()]),
        t,
        &p,
        &mut Budget::default(),
    )
    .unwrap();
    assert_eq!(v.key_tag, ksk.key_tag());
    // The validated set then serves for the zone's data, signed by the ZSK.
    let set = a_set("www.example.com.");
    verify_rrset(
        &set,
        &[zsk.sign(&set, None)],
        &dnskeys,
        t,
        &p,
        &mut Budget::default(),
    )
    .unwrap();

    // SHA-1 alone is used...
    verify_dnskeys(
        &apex,
        &dnskeys,
        std::slice::from_ref(&sig),
        Trust::Ds(&[Ds::parse(&ds1).unwrap()]),
        t,
        &p,
        &mut Budget::default(),
    )
    .unwrap();
    // ...but ignored when a SHA-256 DS is present (here a wrong one): EDE 9.
    let mut wrong256 = ds256.clone();
    let n = wrong256.len();
    wrong256[n - 1] ^= 1;
    let both = [Ds::parse(&ds1).unwrap(), Ds::parse(&wrong256).unwrap()];
    let e = verify_dnskeys(
        &apex,
        &dnskeys,
        std::slice::from_ref(&sig),
        Trust::Ds(&both),
        t,
        &p,
        &mut Budget::default(),
    )
    .unwrap_err();
    assert_eq!((e, e.ede_code()), (Failure::DnskeyMissing, 9));
    assert_eq!(select_ds(&both, &p).unwrap().len(), 1);

    // DS of an unsupported digest type only: insecure, EDE 2.
    let mut gost = ds256.clone();
    gost[3] = 3;
    let e = verify_dnskeys(
        &apex,
        &dnskeys,
        std::slice::from_ref(&sig),
        Trust::Ds(&[Ds::parse(&gost).unwrap()]),
        t,
        &p,
        &mut Budget::default(),
    )
    .unwrap_err();
    assert_eq!(
        (e, e.ede_code(), e.is_insecure()),
        (Failure::UnsupportedDigest(3), 2, true)
    );
    // DS of an unsupported algorithm only: insecure, EDE 1.
    let mut ed448 = ds256.clone();
    ed448[2] = 16;
    let e = verify_dnskeys(
        &apex,
        &dnskeys,
        std::slice::from_ref(&sig),
        Trust::Ds(&[Ds::parse(&ed448).unwrap()]),
        t,
        &p,
        &mut Budget::default(),
    )
    .unwrap_err();
    assert_eq!(e, Failure::UnsupportedAlgorithm(16));

    // DNSKEY set signed only by the ZSK, which no DS names: the DS-matched KSK did not
    // sign, so no trusted signature.
    let zsk_sig = zsk.sign(&dnskeys, None);
    let e = verify_dnskeys(
        &apex,
        &dnskeys,
        &[zsk_sig],
        Trust::Ds(&[Ds::parse(&ds256).unwrap()]),
        t,
        &p,
        &mut Budget::default(),
    )
    .unwrap_err();
    assert_eq!(e, Failure::DnskeyMissing);

    // A DNSKEY trust anchor.
    let v = verify_dnskeys(
        &apex,
        &dnskeys,
        std::slice::from_ref(&sig),
        Trust::Keys(&[k]),
        t,
        &p,
        &mut Budget::default(),
    )
    .unwrap();
    assert_eq!(v.key_tag, ksk.key_tag());
    let other = Zone::new("example.com.", 14);
    let ok = other.key.dnskey(257);
    let e = verify_dnskeys(
        &apex,
        &dnskeys,
        &[sig],
        Trust::Keys(&[Dnskey::parse(&ok).unwrap()]),
        t,
        &p,
        &mut Budget::default(),
    )
    .unwrap_err();
    assert_eq!(e, Failure::DnskeyMissing);
}

#[test]
fn trust_anchor_boot_arguments() {
    let a = parse_trust_anchor(
        ".:DS:20326:8:2:E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D",
    )
    .unwrap();
    assert_eq!(a, root_anchors()[0]);
    let z = Zone::new("lab.test.", 15);
    let key = b64_encode(&z.key.public());
    let a = parse_trust_anchor(&format!("lab.test:DNSKEY:257:3:15:{key}")).unwrap();
    assert_eq!(a.zone(), &name("lab.test."));
    assert_eq!(a.dnskey().unwrap().rdata, &z.key.dnskey(257)[..]);

    for (input, msg) in [
        (".:DS:20326:8:2", "got 5 field(s)"),
        (
            ".:DS:70000:8:2:00",
            "key tag \"70000\" is not a number 0..=65535",
        ),
        (".:DS:1:8:2:zz", "digest \"zz\" is not hex"),
        (
            ".:DS:1:8:2:00",
            "digest is 1 octets, digest type 2 needs 32",
        ),
        (
            ".:TXT:1:8:2:00",
            "record type \"TXT\" is neither DS nor DNSKEY",
        ),
        ("a..b:DS:1:8:2:00", "zone \"a..b\" is not a domain name"),
        ("x:DNSKEY:257:2:15:AAAA", "protocol 2 is not 3"),
        ("x:DNSKEY:257:3:15:AAA", "key \"AAA\" is not base64"),
        (
            "x:DNSKEY:-1:3:15:AAAA",
            "flags \"-1\" is not a number 0..=65535",
        ),
    ] {
        let e = parse_trust_anchor(input).unwrap_err();
        let shown = e.to_string();
        assert!(shown.contains(msg), "{shown}");
        assert!(!shown.contains('\n'));
    }
}

fn b64_encode(b: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::new();
    for c in b.chunks(3) {
        let v = (c[0] as u32) << 16
            | (*c.get(1).unwrap_or(&0) as u32) << 8
            | *c.get(2).unwrap_or(&0) as u32;
        for i in 0..4 {
            if i <= c.len() {
                s.push(A[(v >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                s.push('=');
            }
        }
    }
    s
}

/// Records that went through hickory-proto: a response with compressed owner names and
/// a compressed MX exchange, parsed by hickory, handed over with `from_hickory`, then
/// verified. The DNSSEC records come through borrowed.
#[test]
fn through_hickory() {
    use hickory_proto::op::Message;
    let p = Policy::default();
    let z = Zone::new("example.com.", 8);
    let mx = vec![
        rr(
            "example.com.",
            rtype::MX,
            300,
            mx_rdata(10, "mail.example.com."),
        ),
        rr(
            "example.com.",
            rtype::MX,
            300,
            mx_rdata(20, "MX2.example.com."),
        ),
    ];
    let sig = z.sign(&mx, None);
    let key = z.dnskey_record();

    let mut m = vec![0x12, 0x34, 0x81, 0x80, 0, 0, 0, 4, 0, 0, 0, 0];
    let apex_off = m.len() as u8;
    m.extend_from_slice(b"\x07EXAMPLE\x03com\x00"); // at offset 12, upper case
    let ptr = [0xc0, apex_off];
    let put = |m: &mut Vec<u8>, owner_inline: bool, t: u16, rdata: &[u8]| {
        if !owner_inline {
            m.extend_from_slice(&ptr);
        }
        m.extend_from_slice(&t.to_be_bytes());
        m.extend_from_slice(&[0, 1, 0, 0, 1, 44]);
        m.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
        m.extend_from_slice(rdata);
    };
    // MX 10 mail.<ptr>, compressed.
    let mut c1 = vec![0, 10, 4];
    c1.extend_from_slice(b"mail");
    c1.extend_from_slice(&ptr);
    put(&mut m, true, rtype::MX, &c1);
    let mut c2 = vec![0, 20, 3];
    c2.extend_from_slice(b"MX2");
    c2.extend_from_slice(&ptr);
    put(&mut m, false, rtype::MX, &c2);
    put(&mut m, false, rtype::RRSIG, &sig.rdata);
    put(&mut m, false, rtype::DNSKEY, &key.rdata);

    let msg = Message::from_vec(&m).unwrap();
    let recs: Vec<Record<'_>> = msg
        .answers
        .iter()
        .map(|r| Record::from_hickory(r).unwrap())
        .collect();
    assert_eq!(recs.len(), 4);
    assert_eq!(recs[0].owner.wire(), b"\x07EXAMPLE\x03com\x00");
    assert_eq!(
        &*recs[1].rdata,
        &mx_rdata(20, "MX2.example.com.")[..].to_ascii_lowercase()[..]
    );
    assert!(matches!(recs[2].rdata, Cow::Borrowed(_)));
    assert_eq!(recs[2].rdata, sig.rdata);
    assert_eq!(recs[3].rdata, key.rdata);
    let v = verify_rrset(
        &recs[..2],
        &recs[2..3],
        &recs[3..],
        now(&z),
        &p,
        &mut Budget::default(),
    )
    .unwrap();
    assert_eq!(v.key_tag, z.key_tag());
}
