//! A small zone signer for the validation scenarios: Ed25519 keys from fixed seeds,
//! RRSIGs over every authoritative RRset, an NSEC or NSEC3 chain, DS records for
//! the parent. Real signatures; the clock is the scenario's.

use ed25519_dalek::{Signer, SigningKey};
use hickory_proto::rr::{Name, Record, RecordType};
use hickory_proto::serialize::binary::BinEncodable;

use crate::sim::*;

/// The fixed wall clock of the chain scenarios.
pub const NOW: u64 = 1_780_000_000;

/// A zone key: an Ed25519 key (algorithm 15 unless `alg` says otherwise, to make
/// records of an unsupported algorithm) with KSK flags.
#[derive(Clone)]
pub struct Key {
    pub sk: SigningKey,
    pub alg: u8,
}

impl Key {
    pub fn new(seed: u8) -> Self {
        Key {
            sk: SigningKey::from_bytes(&[seed; 32]),
            alg: 15,
        }
    }

    pub fn dnskey_rdata(&self) -> Vec<u8> {
        let mut v = vec![1, 1, 3, self.alg];
        v.extend_from_slice(self.sk.verifying_key().as_bytes());
        v
    }

    pub fn tag(&self) -> u16 {
        dnssec::key_tag(&self.dnskey_rdata())
    }

    pub fn dnskey(&self, zone: &str) -> Record {
        opaque(zone, 3600, RecordType::DNSKEY, &self.dnskey_rdata())
    }

    /// The DS (SHA-256) for this key at `zone`.
    pub fn ds(&self, zone: &str) -> Record {
        let rd = self.dnskey_rdata();
        let view = dnssec::Dnskey::parse(&rd).unwrap();
        let owner = dnssec::Name::from_ascii(zone).unwrap();
        let v = dnssec::make_ds(&owner, &view, 2).unwrap();
        opaque(zone, 3600, RecordType::DS, &v)
    }

    /// `--trust-anchor` text for this key as a DNSKEY anchor at `zone`.
    pub fn anchor(&self, zone: &str) -> dnssec::TrustAnchor {
        let b64 = b64(self.sk.verifying_key().as_bytes());
        dnssec::parse_trust_anchor(&format!("{zone}:DNSKEY:257:3:{}:{b64}", self.alg)).unwrap()
    }
}

pub fn b64(b: &[u8]) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::new();
    for c in b.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                s.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                s.push('=');
            }
        }
    }
    s
}

/// A validity window: `(inception, expiration)`.
pub type Window = (u32, u32);

/// Valid an hour ago to a day ahead of [`NOW`].
pub fn valid() -> Window {
    ((NOW - 3600) as u32, (NOW + 86400) as u32)
}

/// An RRSIG over `rrset` (one owner, one type) by `key` of `signer`.
pub fn sign_rrset(rrset: &[Record], key: &Key, signer: &str, w: Window) -> Record {
    let first = &rrset[0];
    let owner = first.name.to_string();
    let t = u16::from(first.record_type());
    // hickory's label count leaves a leading `*` out, as the RRSIG's does.
    let labels = first.name.num_labels();
    let mut rd = Vec::new();
    rd.extend_from_slice(&t.to_be_bytes());
    rd.push(key.alg);
    rd.push(labels);
    rd.extend_from_slice(&first.ttl.to_be_bytes());
    rd.extend_from_slice(&w.1.to_be_bytes());
    rd.extend_from_slice(&w.0.to_be_bytes());
    rd.extend_from_slice(&key.tag().to_be_bytes());
    rd.extend_from_slice(&n(signer).to_bytes().unwrap());
    let rdatas: Vec<Vec<u8>> = rrset
        .iter()
        .map(|r| dnssec::Record::from_hickory(r).unwrap().rdata.into_owned())
        .collect();
    let refs: Vec<&[u8]> = rdatas.iter().map(|v| v.as_slice()).collect();
    let mut probe = rd.clone();
    probe.extend_from_slice(&[0; 64]);
    let view = dnssec::Rrsig::parse(&probe).unwrap();
    let dn = dnssec::Name::from_ascii(&owner).unwrap();
    let sd = dnssec::signed_data(&view, &dn, t, 1, &refs).unwrap();
    rd.extend_from_slice(&key.sk.sign(&sd.data).to_bytes());
    opaque(&owner, first.ttl, RecordType::RRSIG, &rd)
}

/// A type bitmap (RFC 4034 §4.1.2) of `types`.
pub fn bitmap(types: &[u16]) -> Vec<u8> {
    let mut t = types.to_vec();
    t.sort_unstable();
    t.dedup();
    let mut out = Vec::new();
    let mut i = 0;
    while i < t.len() {
        let win = (t[i] >> 8) as u8;
        let mut bits = [0u8; 32];
        let mut len = 0;
        while i < t.len() && (t[i] >> 8) as u8 == win {
            let lo = (t[i] & 0xff) as usize;
            bits[lo / 8] |= 0x80 >> (lo % 8);
            len = len.max(lo / 8 + 1);
            i += 1;
        }
        out.push(win);
        out.push(len as u8);
        out.extend_from_slice(&bits[..len]);
    }
    out
}

/// How a zone denies existence.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Denial {
    Nsec,
    /// NSEC3 with these iterations, opt-out flag.
    Nsec3 {
        iterations: u16,
        opt_out: bool,
    },
}

/// Whether `name` is at or below a delegation point of `zone` (not the apex).
fn cut_of(records: &[Record], origin: &Name, name: &Name) -> Option<Name> {
    records
        .iter()
        .filter(|r| r.record_type() == RecordType::NS && r.name != *origin)
        .map(|r| r.name.clone())
        .find(|c| c.zone_of(name))
}

/// Sign `zone` with `key`: DNSKEY at the apex, the denial chain, an RRSIG over each
/// authoritative RRset (not the NS at cuts, not glue).
pub fn sign_zone(zone: &mut Zone, key: &Key, w: Window, denial: Denial) {
    let origin = zone.origin.clone();
    let o = origin.to_ascii();
    zone.minimal_denial = true;
    zone.records.push(key.dnskey(&o));
    // Owner names and their types, in canonical order.
    let mut owners: Vec<(Name, Vec<u16>)> = Vec::new();
    for r in &zone.records {
        if let Some(c) = cut_of(&zone.records, &origin, &r.name)
            && (c != r.name || !matches!(r.record_type(), RecordType::NS | RecordType::DS))
        {
            continue; // glue
        }
        let t = u16::from(r.record_type());
        match owners.iter_mut().find(|(n, _)| *n == r.name) {
            Some((_, ts)) => ts.push(t),
            None => owners.push((r.name.clone(), vec![t])),
        }
    }
    let dn = |n: &Name| dnssec::Name::from_ascii(&n.to_ascii()).unwrap();
    owners.sort_by(|a, b| dn(&a.0).canonical_cmp(&dn(&b.0)));
    let ttl = 300;
    match denial {
        Denial::Nsec => {
            for i in 0..owners.len() {
                let next = &owners[(i + 1) % owners.len()].0;
                let mut types = owners[i].1.clone();
                types.extend([u16::from(RecordType::NSEC), u16::from(RecordType::RRSIG)]);
                let mut rd = next.to_lowercase().to_bytes().unwrap();
                rd.extend(bitmap(&types));
                zone.records
                    .push(opaque(&owners[i].0.to_ascii(), ttl, RecordType::NSEC, &rd));
            }
        }
        Denial::Nsec3 {
            iterations,
            opt_out,
        } => {
            let salt = [0xab, 0xcd];
            let mut hashed: Vec<([u8; 20], Vec<u16>)> = owners
                .iter()
                .filter(|(n, ts)| {
                    // Opt-out: unsigned delegations get no NSEC3.
                    !(opt_out
                        && *n != origin
                        && ts.contains(&u16::from(RecordType::NS))
                        && !ts.contains(&u16::from(RecordType::DS)))
                })
                .map(|(n, ts)| {
                    let mut ts = ts.clone();
                    ts.push(u16::from(RecordType::RRSIG));
                    if *n == origin {
                        ts.push(51);
                    }
                    (dnssec::nsec3_hash(&dn(n), &salt, iterations), ts)
                })
                .collect();
            hashed.sort();
            for i in 0..hashed.len() {
                let next = hashed[(i + 1) % hashed.len()].0;
                let mut rd = vec![1, u8::from(opt_out)];
                rd.extend_from_slice(&iterations.to_be_bytes());
                rd.push(salt.len() as u8);
                rd.extend_from_slice(&salt);
                rd.push(20);
                rd.extend_from_slice(&next);
                rd.extend(bitmap(&hashed[i].1));
                let owner =
                    format!("{}.{o}", dnssec::base32hex_encode(&hashed[i].0)).to_lowercase();
                zone.records
                    .push(opaque(&owner, ttl, RecordType::NSEC3, &rd));
            }
            let mut p = vec![1, 0];
            p.extend_from_slice(&iterations.to_be_bytes());
            p.push(salt.len() as u8);
            p.extend_from_slice(&salt);
            zone.records
                .push(opaque(&o, 0, RecordType::from(51u16), &p));
        }
    }
    // Sign every authoritative RRset.
    let mut sets: Vec<(Name, RecordType)> = Vec::new();
    for r in &zone.records {
        let k = (r.name.clone(), r.record_type());
        if k.1 == RecordType::RRSIG || sets.contains(&k) {
            continue;
        }
        if let Some(c) = cut_of(&zone.records, &origin, &r.name)
            && (c != r.name || k.1 != RecordType::DS)
            && !matches!(k.1, RecordType::NSEC | RecordType::NSEC3)
        {
            continue; // glue, or the NS at a cut
        }
        sets.push(k);
    }
    for (owner, t) in sets {
        let rrset: Vec<Record> = zone
            .records
            .iter()
            .filter(|r| r.name == owner && r.record_type() == t)
            .cloned()
            .collect();
        let sig = sign_rrset(&rrset, key, &o, w);
        zone.records.push(sig);
    }
}

/// The zone `origin` of `servers` (the first server holding it), mutably.
pub fn zone_mut<'a>(servers: &'a mut [Server], origin: &str) -> Vec<&'a mut Zone> {
    servers
        .iter_mut()
        .flat_map(|s| s.zones.iter_mut())
        .filter(|z| z.origin == n(origin))
        .collect()
}
