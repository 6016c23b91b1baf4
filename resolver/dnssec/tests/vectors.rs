//! Published test vectors: data transcribed from the RFCs (and IANA's root-anchors.xml),
//! each test naming its source. A vector that is transcribed wrong fails; none of these
//! can pass by accident, since they compare hashes and signatures.

mod common;

use common::*;
use critical_section as _;
use dnssec::rdata::rtype;
use dnssec::*;

fn a_rdata(ip: [u8; 4]) -> Vec<u8> {
    ip.to_vec()
}

struct SigVector {
    zone: &'static str,
    owner: &'static str,
    flags: u16,
    alg: u8,
    key_b64: &'static str,
    key_tag: u16,
    rtype: u16,
    rdata: Vec<u8>,
    labels: u8,
    expiration: u32,
    inception: u32,
    sig_b64: &'static str,
}

impl SigVector {
    fn records(
        &self,
    ) -> (
        Vec<Record<'static>>,
        Vec<Record<'static>>,
        Vec<Record<'static>>,
    ) {
        let key = dnskey_rdata(self.flags, self.alg, &b64(self.key_b64));
        assert_eq!(key_tag(&key), self.key_tag, "key tag of {}", self.key_b64);
        let rrset = vec![rr(self.owner, self.rtype, 3600, self.rdata.clone())];
        let sig = rrsig_rdata(
            self.rtype,
            self.alg,
            self.labels,
            3600,
            self.expiration,
            self.inception,
            self.key_tag,
            self.zone,
            &b64(self.sig_b64),
        );
        let rrsigs = vec![rr(self.owner, rtype::RRSIG, 3600, sig)];
        let keys = vec![rr(self.zone, rtype::DNSKEY, 3600, key)];
        (rrset, rrsigs, keys)
    }

    /// Verifies at a time inside the window, then checks that flipping any one octet of
    /// the signature, or of the RDATA, makes it bogus.
    fn check(&self, policy: &Policy) {
        let (rrset, rrsigs, keys) = self.records();
        let now = self.inception as u64 + 1000;
        let mut budget = Budget::PER_RESPONSE;
        let v = verify_rrset(&rrset, &rrsigs, &keys, now, policy, &mut budget)
            .expect("vector verifies");
        assert_eq!((v.key_tag, v.algorithm), (self.key_tag, self.alg));
        assert_eq!(v.expanded_from, None);
        assert_eq!(budget.verifications_done(), 1);

        let mut bad = rrsigs.clone();
        let last = bad[0].rdata.len() - 1;
        bad[0].rdata.to_mut()[last] ^= 0x01;
        let e = verify_rrset(&rrset, &bad, &keys, now, policy, &mut Budget::default()).unwrap_err();
        assert_eq!(e, Failure::Bogus(BogusReason::BadSignature));

        let mut bad = rrset.clone();
        bad[0].rdata.to_mut()[0] ^= 0x01;
        let e =
            verify_rrset(&bad, &rrsigs, &keys, now, policy, &mut Budget::default()).unwrap_err();
        assert_eq!(e, Failure::Bogus(BogusReason::BadSignature));
    }
}

/// RFC 5702 §6.1: RSA/SHA-256 with a 512-bit key. Verifies when the policy allows
/// 512-bit keys; with the default policy (1024 bits at least) it is unsupported.
#[test]
fn rfc5702_rsasha256() {
    let v = SigVector {
        zone: "example.net.",
        owner: "www.example.net.",
        flags: 256,
        alg: 8,
        key_b64: "AwEAAcFcGsaxxdgiuuGmCkVImy4h99CqT7jwY3pexPGcnUFtR2Fh36BponcwtkZ4cAgtvd4Qs8PkxUdp6p/DlUmObdk=",
        key_tag: 9033,
        rtype: rtype::A,
        rdata: a_rdata([192, 0, 2, 91]),
        labels: 3,
        expiration: epoch("20300101000000"),
        inception: epoch("20000101000000"),
        sig_b64: "kRCOH6u7l0QGy9qpC9l1sLncJcOKFLJ7GhiUOibu4teYp5VE9RncriShZNz85mwlMgNEacFYK/lPtPiVYP4bwg==",
    };
    v.check(&Policy {
        rsa_min_bits: 512,
        ..Policy::default()
    });
    let (rrset, rrsigs, keys) = v.records();
    let e = verify_rrset(
        &rrset,
        &rrsigs,
        &keys,
        v.inception as u64 + 1,
        &Policy::default(),
        &mut Budget::default(),
    )
    .unwrap_err();
    assert_eq!(e, Failure::UnsupportedAlgorithm(8));
    assert!(e.is_insecure());

    // If the zone also has a key we can use (a 2048-bit one), a set signed only by the
    // too-small key is not insecure: the usable signature is missing.
    let mut keys2 = keys.clone();
    keys2.push(rr(
        "example.net.",
        rtype::DNSKEY,
        3600,
        TestKey::new(8).dnskey(256),
    ));
    let e = verify_rrset(
        &rrset,
        &rrsigs,
        &keys2,
        v.inception as u64 + 1,
        &Policy::default(),
        &mut Budget::default(),
    )
    .unwrap_err();
    assert_eq!(e, Failure::RrsigsMissing);
}

/// RFC 5702 §6.2: RSA/SHA-512, 1024-bit key.
#[test]
fn rfc5702_rsasha512() {
    SigVector {
        zone: "example.net.",
        owner: "www.example.net.",
        flags: 256,
        alg: 10,
        key_b64: "AwEAAdHoNTOW+et86KuJOWRDp1pndvwb6Y83nSVXXyLA3DLroROUkN6X0O6pnWnjJQujX/AyhqFDxj13tOnD9u/1kTg7cV6rklMrZDtJCQ5PCl/D7QNPsgVsMu1J2Q8gpMpztNFLpPBz1bWXjDtaR7ZQBlZ3PFY12ZTSncorffcGmhOL",
        key_tag: 3740,
        rtype: rtype::A,
        rdata: a_rdata([192, 0, 2, 91]),
        labels: 3,
        expiration: epoch("20300101000000"),
        inception: epoch("20000101000000"),
        sig_b64: "tsb4wnjRUDnB1BUi+t6TMTXThjVnG+eCkWqjvvjhzQL1d0YRoOe0CbxrVDYd0xDtsuJRaeUw1ep94PzEWzr0iGYgZBWm/zpq+9fOuagYJRfDqfReKBzMweOLDiNa8iP5g9vMhpuv6OPlvpXwm9Sa9ZXIbNl1MBGk0fthPgxdDLw=",
    }
    .check(&Policy::default());
}

/// RFC 6605 §6.1: ECDSA P-256 with SHA-256.
#[test]
fn rfc6605_p256() {
    SigVector {
        zone: "example.net.",
        owner: "www.example.net.",
        flags: 257,
        alg: 13,
        key_b64: "GojIhhXUN/u4v54ZQqGSnyhWJwaubCvTmeexv7bR6edbkrSqQpF64cYbcB7wNcP+e+MAnLr+Wi9xMWyQLc8NAA==",
        key_tag: 55648,
        rtype: rtype::A,
        rdata: a_rdata([192, 0, 2, 1]),
        labels: 3,
        expiration: epoch("20100909100439"),
        inception: epoch("20100812100439"),
        sig_b64: "qx6wLYqmh+l9oCKTN6qIc+bw6ya+KJ8oMz0YP107epXAyGmt+3SNruPFKG7tZoLBLlUzGGus7ZwmwWep666VCw==",
    }
    .check(&Policy::default());
}

/// RFC 6605 §6.2: ECDSA P-384 with SHA-384.
#[test]
fn rfc6605_p384() {
    SigVector {
        zone: "example.net.",
        owner: "www.example.net.",
        flags: 257,
        alg: 14,
        key_b64: "xKYaNhWdGOfJ+nPrL8/arkwf2EY3MDJ+SErKivBVSum1w/egsXvSADtNJhyem5RCOpgQ6K8X1DRSEkrbYQ+OB+v8/uX45NBwY8rp65F6Glur8I/mlVNgF6W/qTI37m40",
        key_tag: 10771,
        rtype: rtype::A,
        rdata: a_rdata([192, 0, 2, 1]),
        labels: 3,
        expiration: epoch("20100909102025"),
        inception: epoch("20100812102025"),
        sig_b64: "/L5hDKIvGDyI1fcARX3z65qrmPsVz73QD1Mr5CEqOiLP95hxQouuroGCeZOvzFaxsT8Glr74hbavRKayJNuydCuzWTSSPdz7wnqXL5bdcJzusdnI0RSMROxxwGipWcJm",
    }
    .check(&Policy::default());
}

/// RFC 8080 §6.1, both Ed25519 examples, as corrected by erratum 4935 (the published
/// RRSIGs lack the algorithm field and their signatures do not verify).
#[test]
fn rfc8080_ed25519() {
    for (key, tag, sig) in [
        (
            "l02Woi0iS8Aa25FQkUd9RMzZHJpBoRQwAQEX1SxZJA4=",
            3613,
            "oL9krJun7xfBOIWcGHi7mag5/hdZrKWw15jPGrHpjQeRAvTdszaPD+QLs3fx8A4M3e23mRZ9VrbpMngwcrqNAg==",
        ),
        (
            "zPnZ/QwEe7S8C5SPz2OfS5RR40ATk2/rYnE9xHIEijs=",
            35217,
            "zXQ0bkYgQTEFyfLyi9QoiY6D8ZdYo4wyUhVioYZXFdT410QPRITQSqJSnzQoSm5poJ7gD7AQR0O7KuI5k2pcBg==",
        ),
    ] {
        SigVector {
            zone: "example.com.",
            owner: "example.com.",
            flags: 257,
            alg: 15,
            key_b64: key,
            key_tag: tag,
            rtype: rtype::MX,
            rdata: mx_rdata(10, "mail.example.com."),
            labels: 2,
            expiration: 1440021600,
            inception: 1438207200,
            sig_b64: sig,
        }
        .check(&Policy::default());
    }
}

/// RFC 8080 §6.1 gives the first example's private key too: Ed25519 signing is
/// deterministic, so signing our signed data with it must give the erratum's signature.
#[test]
fn rfc8080_private_key_reproduces_signature() {
    use ed25519_dalek::Signer;
    let seed: [u8; 32] = b64("ODIyNjAzODQ2MjgwODAxMjI2NDUxOTAyMDQxNDIyNjI=")
        .try_into()
        .unwrap();
    let sk = ed25519_dalek::SigningKey::from_bytes(&seed);
    assert_eq!(
        sk.verifying_key().to_bytes().to_vec(),
        b64("l02Woi0iS8Aa25FQkUd9RMzZHJpBoRQwAQEX1SxZJA4=")
    );
    let unsigned = rrsig_rdata(
        rtype::MX,
        15,
        2,
        3600,
        1440021600,
        1438207200,
        3613,
        "example.com.",
        &[0],
    );
    let sig = Rrsig::parse(&unsigned).unwrap();
    let mx = mx_rdata(10, "mail.example.com.");
    let sd = signed_data(&sig, &name("example.com."), rtype::MX, 1, &[&mx]).unwrap();
    assert_eq!(
        sk.sign(&sd.data).to_bytes().to_vec(),
        b64(
            "oL9krJun7xfBOIWcGHi7mag5/hdZrKWw15jPGrHpjQeRAvTdszaPD+QLs3fx8A4M3e23mRZ9VrbpMngwcrqNAg=="
        )
    );
}

/// RFC 6605's times, cross-checked against the integers other implementations use.
#[test]
fn rrsig_time_conversion() {
    assert_eq!(epoch("20000101000000"), 946684800);
    assert_eq!(epoch("20300101000000"), 1893456000);
    assert_eq!(epoch("20100909100439"), 1284026679);
    assert_eq!(epoch("20100812100439"), 1281607479);
}

/// Key tags (RFC 4034 Appendix B) and DS digests of published keys: RFC 4034 §5.4
/// (SHA-1), RFC 4509 §2.3 (SHA-256 of the same key), RFC 6605 §6 (SHA-256 and
/// SHA-384), RFC 8080 §6 (Ed25519 and Ed448: a DS digest does not need the algorithm
/// to be supported).
#[test]
fn key_tags_and_ds_digests() {
    let dskey = "AQOeiiR0GOMYkDshWoSKz9XzfwJr1AYtsmx3TGkJaNXVbfi/2pHm822aJ5iI9BMzNXxeYCmZDRD99WYwYqUSdjMmmAphXdvxegXd/M5+X7OrzKBaMbCVdFLUUh6DhweJBjEVv5f2wwjM9XzcnOf+EPbtG9DMBmADjFDc2w/rljwvFw==";
    let cases: [(&str, u16, u8, &str, u16, u8, &str); 8] = [
        (
            "dskey.example.com.",
            256,
            5,
            dskey,
            60485,
            1,
            "2BB183AF5F22588179A53B0A98631FAD1A292118",
        ),
        (
            "dskey.example.com.",
            256,
            5,
            dskey,
            60485,
            2,
            "D4B7D520E7BB5F0F67674A0CCEB1E3E0614B93C4F9E99B8383F6A1E4469DA50A",
        ),
        (
            "example.net.",
            257,
            13,
            "GojIhhXUN/u4v54ZQqGSnyhWJwaubCvTmeexv7bR6edbkrSqQpF64cYbcB7wNcP+e+MAnLr+Wi9xMWyQLc8NAA==",
            55648,
            2,
            "b4c8c1fe2e7477127b27115656ad6256f424625bf5c1e2770ce6d6e37df61d17",
        ),
        (
            "example.net.",
            257,
            14,
            "xKYaNhWdGOfJ+nPrL8/arkwf2EY3MDJ+SErKivBVSum1w/egsXvSADtNJhyem5RCOpgQ6K8X1DRSEkrbYQ+OB+v8/uX45NBwY8rp65F6Glur8I/mlVNgF6W/qTI37m40",
            10771,
            4,
            "72d7b62976ce06438e9c0bf319013cf801f09ecc84b8d7e9495f27e305c6a9b0563a9b5f4d288405c3008a946df983d6",
        ),
        (
            "example.com.",
            257,
            15,
            "l02Woi0iS8Aa25FQkUd9RMzZHJpBoRQwAQEX1SxZJA4=",
            3613,
            2,
            "3aa5ab37efce57f737fc1627013fee07bdf241bd10f3b1964ab55c78e79a304b",
        ),
        (
            "example.com.",
            257,
            15,
            "zPnZ/QwEe7S8C5SPz2OfS5RR40ATk2/rYnE9xHIEijs=",
            35217,
            2,
            "401781b934e392de492ec77ae2e15d70f6575a1c0bc59c5275c04ebe80c6614c",
        ),
        (
            "example.com.",
            257,
            16,
            "3kgROaDjrh0H2iuixWBrc8g2EpBBLCdGzHmn+G2MpTPhpj/OiBVHHSfPodx1FYYUcJKm1MDpJtIA",
            9713,
            2,
            "6ccf18d5bc5d7fc2fceb1d59d17321402f2aa8d368048db93dd811f5cb2b19c7",
        ),
        // Upper case owner: the digest is over the canonical (lowercased) name.
        (
            "DSKEY.Example.COM.",
            256,
            5,
            dskey,
            60485,
            1,
            "2BB183AF5F22588179A53B0A98631FAD1A292118",
        ),
    ];
    for (owner, flags, alg, key, tag, dt, digest) in cases {
        let rdata = dnskey_rdata(flags, alg, &b64(key));
        assert_eq!(key_tag(&rdata), tag, "{owner} {alg}");
        let k = Dnskey::parse(&rdata).unwrap();
        let d = hex(digest);
        assert_eq!(
            ds_digest(&name(owner), &rdata, dt).unwrap(),
            d,
            "{owner} {alg} {dt}"
        );
        let ds_rdata = make_ds(&name(owner), &k, dt).unwrap();
        let ds = Ds::parse(&ds_rdata).unwrap();
        assert_eq!(
            (ds.key_tag, ds.algorithm, ds.digest_type, ds.digest),
            (tag, alg, dt, &d[..])
        );
        assert!(ds_matches(&ds, &name(owner), &k));
        assert!(!ds_matches(&ds, &name("other.example."), &k));
    }
}

/// RFC 5155 Appendix A: the example zone's DNSKEYs (algorithm 7) and their key tags,
/// pinned by the zone's RRSIGs.
#[test]
fn rfc5155_key_tags() {
    let zsk = dnskey_rdata(
        256,
        7,
        &b64(
            "AwEAAaetidLzsKWUt4swWR8yu0wPHPiUi8LUsAD0QPWU+wzt89epO6tHzkMBVDkC7qphQO2hTY4hHn9npWFRw5BYubE=",
        ),
    );
    let ksk = dnskey_rdata(
        257,
        7,
        &b64(
            "AwEAAcUlFV1vhmqx6NSOUOq2R/dsR7Xm3upJj7IommWSpJABVfW8Q0rOvXdM6kzt+TAu92L9AbsUdblMFin8CVF3n4s=",
        ),
    );
    assert_eq!(key_tag(&zsk), 40430);
    assert_eq!(key_tag(&ksk), 12708);
}

/// RFC 5155 Appendix A: hashed owner names of the example zone (salt aabbccdd, 12
/// iterations). The last one hashes a name whose label is itself a hash, which catches
/// hashing the presentation text instead of the wire form.
#[test]
fn rfc5155_nsec3_hashes() {
    let salt = hex("aabbccdd");
    for (n, h) in [
        ("example.", "0p9mhaveqvm6t7vbl5lop2u3t2rp3tom"),
        ("a.example.", "35mthgpgcu1qg68fab165klnsnk3dpvl"),
        ("ai.example.", "gjeqe526plbf1g8mklp59enfd789njgi"),
        ("ns1.example.", "2t7b4g4vsa5smi47k61mv5bv1a22bojr"),
        ("ns2.example.", "q04jkcevqvmu85r014c7dkba38o0ji5r"),
        ("w.example.", "k8udemvp1j2f7eg6jebps17vp3n8i58h"),
        ("*.w.example.", "r53bq7cc2uvmubfu5ocmm6pers9tk9en"),
        ("x.w.example.", "b4um86eghhds6nea196smvmlo4ors995"),
        ("y.w.example.", "ji6neoaepv8b5o6k4ev33abha8ht9fgc"),
        ("x.y.w.example.", "2vptu5timamqttgl4luu9kg21e0aor3s"),
        ("xx.example.", "t644ebqk9bibcna874givr6joj62mlhv"),
        (
            "2t7b4g4vsa5smi47k61mv5bv1a22bojr.example.",
            "kohar7mbb8dc2ce8a9qvl8hon4k53uhi",
        ),
        // Case does not matter: the hash is over the canonical form.
        ("X.W.Example.", "b4um86eghhds6nea196smvmlo4ors995"),
    ] {
        let got = nsec3_hash(&name(n), &salt, 12);
        assert_eq!(base32hex_encode(&got), h, "{n}");
        assert_eq!(base32hex_decode(h.as_bytes()).unwrap(), got);
    }
}

/// The built-in root anchors against IANA's root-anchors.xml: the DS digests there, and
/// the KSKs' public keys (also published there), from which the key tags and digests
/// must come out the same. Two sources agreeing on 38696's digest: the XML's DS, and the
/// digest we compute from the XML's key.
#[test]
fn root_anchors_match_iana() {
    let ksk2017 = "AwEAAaz/tAm8yTn4Mfeh5eyI96WSVexTBAvkMgJzkKTOiW1vkIbzxeF3+/4RgWOq7HrxRixHlFlExOLAJr5emLvN7SWXgnLh4+B5xQlNVz8Og8kvArMtNROxVQuCaSnIDdD5LKyWbRd2n9WGe2R8PzgCmr3EgVLrjyBxWezF0jLHwVN8efS3rCj/EWgvIWgb9tarpVUDK/b58Da+sqqls3eNbuv7pr+eoZG+SrDK6nWeL3c6H5Apxz7LjVc1uTIdsIXxuOLYA4/ilBmSVIzuDWfdRUfhHdY6+cn8HFRm+2hM8AnXGXws9555KrUB5qihylGa8subX2Nn6UwNR1AkUTV74bU=";
    let ksk2024 = "AwEAAa96jeuknZlaeSrvyAJj6ZHv28hhOKkx3rLGXVaC6rXTsDc449/cidltpkyGwCJNnOAlFNKF2jBosZBU5eeHspaQWOmOElZsjICMQMC3aeHbGiShvZsx4wMYSjH8e7Vrhbu6irwCzVBApESjbUdpWWmEnhathWu1jo+siFUiRAAxm9qyJNg/wOZqqzL/dL/q8PkcRU5oUKEpUge71M3ej2/7CPqpdVwuMoTvoB+ZOT4YeGyxMvHmbrxlFzGOHOijtzN+u1TQNatX2XBuzZNQ1K+s2CXkPIZo7s6JgZyvaBevYtxPvYLw4z9mR7K2vaF18UYH9Z9GNUUeayffKC73PYc=";
    let xml_digests = [
        "E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D",
        "683D2D0ACB8C9B712A1948B27F741219298D0A450D612C483AF444A4C0FB2B16",
    ];
    let anchors = root_anchors();
    assert_eq!(anchors.len(), 2);
    for ((key, digest), anchor) in [ksk2017, ksk2024].iter().zip(xml_digests).zip(&anchors) {
        let rdata = dnskey_rdata(257, 8, &b64(key));
        let ds = anchor.ds().unwrap();
        assert!(anchor.zone().is_root());
        assert_eq!(key_tag(&rdata), ds.key_tag);
        assert_eq!(ds.digest, &hex(digest)[..]);
        assert_eq!(ds_digest(&Name::root(), &rdata, 2).unwrap(), ds.digest);
        assert!(ds_matches(
            &ds,
            &Name::root(),
            &Dnskey::parse(&rdata).unwrap()
        ));
    }
    assert_eq!(anchors[0].ds().unwrap().key_tag, 20326);
    assert_eq!(anchors[1].ds().unwrap().key_tag, 38696);
}
