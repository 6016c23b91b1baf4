//! Helpers the integration tests share: building records, converting times, and a
//! test signer for each algorithm (keys fixed, so runs are repeatable).
#![allow(dead_code)]

use dnssec::{Name, Record, algorithm, base64_decode, hex_decode, rdata::rtype};

pub fn name(s: &str) -> Name {
    Name::from_ascii(s).unwrap()
}

pub fn b64(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    base64_decode(s.as_bytes()).unwrap()
}

pub fn hex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    hex_decode(s.as_bytes()).unwrap()
}

pub fn rr(owner: &str, rt: u16, ttl: u32, rdata: Vec<u8>) -> Record<'static> {
    Record::new(name(owner), rt, 1, ttl, rdata)
}

/// Seconds since the epoch of a `YYYYMMDDHHmmSS` RRSIG time (RFC 4034 §3.2), through
/// the days-from-civil algorithm.
pub fn epoch(t: &str) -> u32 {
    let n = |a: usize, b: usize| t[a..b].parse::<i64>().unwrap();
    let (y, m, d) = (n(0, 4), n(4, 6), n(6, 8));
    let (hh, mm, ss) = (n(8, 10), n(10, 12), n(12, 14));
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146097 + doe - 719468;
    (days * 86400 + hh * 3600 + mm * 60 + ss) as u32
}

#[allow(clippy::too_many_arguments)]
pub fn rrsig_rdata(
    covered: u16,
    alg: u8,
    labels: u8,
    ttl: u32,
    exp: u32,
    inc: u32,
    tag: u16,
    signer: &str,
    sig: &[u8],
) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&covered.to_be_bytes());
    v.push(alg);
    v.push(labels);
    v.extend_from_slice(&ttl.to_be_bytes());
    v.extend_from_slice(&exp.to_be_bytes());
    v.extend_from_slice(&inc.to_be_bytes());
    v.extend_from_slice(&tag.to_be_bytes());
    v.extend_from_slice(name(signer).wire());
    v.extend_from_slice(sig);
    v
}

pub fn dnskey_rdata(flags: u16, alg: u8, key: &[u8]) -> Vec<u8> {
    let mut v = flags.to_be_bytes().to_vec();
    v.push(3);
    v.push(alg);
    v.extend_from_slice(key);
    v
}

pub fn mx_rdata(pref: u16, exchange: &str) -> Vec<u8> {
    let mut v = pref.to_be_bytes().to_vec();
    v.extend_from_slice(name(exchange).wire());
    v
}

/// A 2048-bit RSA key made once with `openssl genrsa` for these tests (public exponent
/// 65537): generating one per run would take seconds.
pub const RSA_N: &[&str] = &[
    "c86962740956e4c9574e2200f17d80b6894d6283d7b34fc9b3a18ed619cdd8df1f6bd79dc71f009dc5005571eafa7218",
    "0dea4db8173724afac92058d0460c6e688105146010f8c1d33f826c0999ad5fd3d53272013fd9055b967b1cd72a6e2d5",
    "5bacbdbb8704aee1442f6ce2dd1b4cb6cd2035aa6af09b29757f74b73003873c7ec0b13e51ba00cb0415f5b7cb18467f",
    "3e2e28d9305ccca846a5e873e7e3111def45a60d1f9c85dc46cc3832ced35ef4c2552adafef4f358c7f3be5fec369dc9",
    "7aab4090705ac59d6f6acc35c1bcbe4fdf3d3a5987091a86dd1aa14545a28348ad86ae1bdd503f7b33a65f3c98be1bbf",
    "4b434781c165c4cb815719ba779a1885",
];
pub const RSA_D: &[&str] = &[
    "2739911e7af179e7fa617d8047c3b39c867511f21216b3681bf363fc7da26f6f043c5c403247dc1c0501d2b770314281",
    "78bfc22464ced32c5b0f5d6cc34d99c0672322751c2209df715b816232ee3e31c97debeb785e2990cdb000f9e015cfd1",
    "c8969fb0037624304ce32761a3bb0321c83624aacd31787cfdd54b67cb4af57dc5d6ba9ccd4e47c9fe767d466125bdec",
    "b51d27917bda428a65d2fc4c85882db08241cf2f041eb2818486392d7d806f052ba4f0bd55f36a752b0697f90d7475e9",
    "a3b34167bb4f7dadc3e6a2ddff23e947ded350f31064dc66a8cdc1492e0f9ec537d103f04516dfda80f7bf88f364c164",
    "ed51e96a42d581f307f7ed976c7d0c85",
];
pub const RSA_P: &[&str] = &[
    "efa25328fd671529b0e773282eda3564047a593bfebb7e691a02a13fafb9a1c0e5bf5afb0acc3326c11224d444f43067",
    "b9548ae81f0553a29577850208b5699616d9b6ac62dee4c2c994ff9ff7ddcbf5f7e95bf9e611dd861eb18ffa5a7cbbdd",
    "dfbe2cbcefb9a48ec55a749522b168773ef56b46d7ba0564bf811b61983afbef",
];
pub const RSA_Q: &[&str] = &[
    "d6194f24eb0b597915b3a26a9995eb895f4e4a9f2e66ebc2e8c0da71793b08910752a7427920bdaddba17e5453967c18",
    "634f4a8b198f381421206af3016e6a8b4ad03824bded610efc5d568064befc55a1694ed427f6677682e33f7f19fe255c",
    "bde45f18ef66cea07e9df9359f6882ca4255598ad6d5d2bff35f4af04586cecb",
];

fn join(parts: &[&str]) -> Vec<u8> {
    hex(&parts.concat())
}

/// A zone signing key of one algorithm.
pub enum TestKey {
    Rsa(rsa::RsaPrivateKey, u8),
    P256(p256::ecdsa::SigningKey),
    P384(p384::ecdsa::SigningKey),
    Ed25519(ed25519_dalek::SigningKey),
}

impl TestKey {
    pub fn new(alg: u8) -> TestKey {
        use rsa::BigUint;
        match alg {
            algorithm::RSASHA1
            | algorithm::RSASHA1_NSEC3_SHA1
            | algorithm::RSASHA256
            | algorithm::RSASHA512 => {
                let k = rsa::RsaPrivateKey::from_components(
                    BigUint::from_bytes_be(&join(RSA_N)),
                    BigUint::from(65537u32),
                    BigUint::from_bytes_be(&join(RSA_D)),
                    vec![
                        BigUint::from_bytes_be(&join(RSA_P)),
                        BigUint::from_bytes_be(&join(RSA_Q)),
                    ],
                )
                .unwrap();
                TestKey::Rsa(k, alg)
            }
            algorithm::ECDSAP256SHA256 => {
                TestKey::P256(p256::ecdsa::SigningKey::from_slice(&[7u8; 32]).unwrap())
            }
            algorithm::ECDSAP384SHA384 => {
                TestKey::P384(p384::ecdsa::SigningKey::from_slice(&[9u8; 48]).unwrap())
            }
            algorithm::ED25519 => {
                TestKey::Ed25519(ed25519_dalek::SigningKey::from_bytes(&[5u8; 32]))
            }
            _ => panic!("no test key for algorithm {alg}"),
        }
    }

    pub fn algorithm(&self) -> u8 {
        match self {
            TestKey::Rsa(_, a) => *a,
            TestKey::P256(_) => algorithm::ECDSAP256SHA256,
            TestKey::P384(_) => algorithm::ECDSAP384SHA384,
            TestKey::Ed25519(_) => algorithm::ED25519,
        }
    }

    /// The DNSKEY public key field.
    pub fn public(&self) -> Vec<u8> {
        match self {
            TestKey::Rsa(k, _) => {
                use rsa::traits::PublicKeyParts;
                let e = k.e().to_bytes_be();
                let mut v = vec![e.len() as u8];
                v.extend_from_slice(&e);
                v.extend_from_slice(&k.n().to_bytes_be());
                v
            }
            TestKey::P256(k) => k.verifying_key().to_encoded_point(false).as_bytes()[1..].to_vec(),
            TestKey::P384(k) => k.verifying_key().to_encoded_point(false).as_bytes()[1..].to_vec(),
            TestKey::Ed25519(k) => k.verifying_key().to_bytes().to_vec(),
        }
    }

    pub fn dnskey(&self, flags: u16) -> Vec<u8> {
        dnskey_rdata(flags, self.algorithm(), &self.public())
    }

    pub fn sign(&self, data: &[u8]) -> Vec<u8> {
        use sha2::Digest;
        match self {
            TestKey::Rsa(k, alg) => {
                use rsa::Pkcs1v15Sign;
                let (scheme, h) = match *alg {
                    algorithm::RSASHA256 => (
                        Pkcs1v15Sign::new::<sha2::Sha256>(),
                        sha2::Sha256::digest(data).to_vec(),
                    ),
                    algorithm::RSASHA512 => (
                        Pkcs1v15Sign::new::<sha2::Sha512>(),
                        sha2::Sha512::digest(data).to_vec(),
                    ),
                    _ => (
                        Pkcs1v15Sign::new::<sha1::Sha1>(),
                        sha1::Sha1::digest(data).to_vec(),
                    ),
                };
                k.sign(scheme, &h).unwrap()
            }
            TestKey::P256(k) => {
                use p256::ecdsa::signature::Signer;
                let s: p256::ecdsa::Signature = k.sign(data);
                s.to_bytes().to_vec()
            }
            TestKey::P384(k) => {
                use p384::ecdsa::signature::Signer;
                let s: p384::ecdsa::Signature = k.sign(data);
                s.to_bytes().to_vec()
            }
            TestKey::Ed25519(k) => {
                use ed25519_dalek::Signer;
                k.sign(data).to_bytes().to_vec()
            }
        }
    }
}

/// A signed zone in the making: one key, a validity window, and a helper that signs an
/// RRset the way a signer would (through the crate's own `signed_data`, which the
/// published vectors check independently).
pub struct Zone {
    pub apex: Name,
    pub key: TestKey,
    pub flags: u16,
    pub inception: u32,
    pub expiration: u32,
}

impl Zone {
    pub fn new(apex: &str, alg: u8) -> Zone {
        Zone {
            apex: name(apex),
            key: TestKey::new(alg),
            flags: 257,
            inception: 1_700_000_000,
            expiration: 1_800_000_000,
        }
    }

    pub fn dnskey_record(&self) -> Record<'static> {
        Record::new(
            self.apex.clone(),
            rtype::DNSKEY,
            1,
            3600,
            self.key.dnskey(self.flags),
        )
    }

    pub fn key_tag(&self) -> u16 {
        dnssec::key_tag(&self.key.dnskey(self.flags))
    }

    /// The RRSIG record over `rrset` (all of one owner and type), with `labels` given
    /// or taken from the owner.
    pub fn sign(&self, rrset: &[Record<'_>], labels: Option<u8>) -> Record<'static> {
        let first = &rrset[0];
        let labels = labels.unwrap_or(first.owner.rrsig_labels() as u8);
        let ttl = first.ttl;
        let unsigned = rrsig_rdata(
            first.rtype,
            self.key.algorithm(),
            labels,
            ttl,
            self.expiration,
            self.inception,
            self.key_tag(),
            &self.apex.to_string(),
            &[0],
        );
        let sig = dnssec::Rrsig::parse(&unsigned).unwrap();
        let rdatas: Vec<&[u8]> = rrset.iter().map(|r| &*r.rdata).collect();
        let sd = dnssec::signed_data(&sig, &first.owner, first.rtype, 1, &rdatas).unwrap();
        let signature = self.key.sign(&sd.data);
        let mut rdata = unsigned;
        rdata.pop();
        rdata.extend_from_slice(&signature);
        Record::new(first.owner.clone(), rtype::RRSIG, 1, ttl, rdata)
    }
}
