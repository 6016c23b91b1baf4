//! Aggressive use of the DNSSEC-validated cache (RFC 8198, NSEC only, as Unbound's
//! `aggressive-nsec`): the NSEC records of validated denials are kept in canonical
//! order per zone, with the zone's SOA, and a later question they already answer —
//! another name in the same gap, another type at a name — gets its NXDOMAIN or NODATA
//! from them instead of a query upstream.
//!
//! The proof is checked again with the validator's own NSEC logic
//! ([`dnssec::nsec_nxdomain`], [`dnssec::nsec_nodata`]) over the stored records, so a
//! synthesised answer proves exactly what a server's would have. The result goes into
//! the record cache as a secure negative entry with the proof attached; both answer
//! paths then serve it as they serve any other. NSEC3 is not used (hashed owners say
//! nothing about neighbours a resolver can name; Unbound does not either).
//!
//! Bounded: at most `Limits::aggressive_nsec_records` NSEC records and as many zone
//! SOAs; when full, the entry that expires first goes. Every entry lives no longer
//! than its own TTL, the SOA's TTL and the SOA's MINIMUM (RFC 8198 §5.4, RFC 9077).

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use hickory_proto::rr::{Name, Record, RecordType};
use hickory_proto::serialize::binary::BinDecodable;

use crate::cache::{Attached, Cache, KeyedHasher, Rank, Security, negative_ttl};
use crate::scrub::rrsig_covers;
use crate::time::Instant;

/// One stored record set: the records (an NSEC, or a SOA) and their RRSIGs.
#[derive(Clone, Debug)]
struct Stored {
    records: Vec<Record>,
    expires: Instant,
}

/// The validated NSEC records and zone SOAs kept for synthesis.
#[derive(Debug)]
pub(crate) struct Denials {
    /// (zone, owner) in canonical order → the NSEC with its RRSIGs. The zone is part
    /// of the key: at a delegation the parent's NSEC and the child's apex NSEC share
    /// an owner.
    nsec: BTreeMap<(DName, DName), Stored>,
    /// Zone apex → its SOA with its RRSIGs.
    soa: BTreeMap<DName, Stored>,
    cap: usize,
}

/// A name in the dnssec crate's form, ordered canonically (RFC 4034 §6.1).
type DName = dnssec::Name;

fn dname(n: &Name) -> Option<DName> {
    let mut wire = Vec::with_capacity(n.len() + 1);
    for label in n.iter() {
        wire.push(u8::try_from(label.len()).ok()?);
        wire.extend(label.iter().map(u8::to_ascii_lowercase));
    }
    wire.push(0);
    DName::from_wire_exact(&wire).ok()
}

fn hname(n: &DName) -> Option<Name> {
    Name::from_bytes(n.wire()).ok()
}

/// Seconds left of `ttl` at `now` for an entry that expires at `expires`.
fn left(now: Instant, expires: Instant) -> u32 {
    u32::try_from(expires.saturating_duration_since(now).as_secs()).unwrap_or(u32::MAX)
}

impl Denials {
    pub(crate) fn new(cap: usize) -> Denials {
        Denials {
            nsec: BTreeMap::new(),
            soa: BTreeMap::new(),
            cap,
        }
    }

    /// NSEC records held (for tests and the stats line).
    pub(crate) fn len(&self) -> usize {
        self.nsec.len()
    }

    /// Keep the NSEC records of a validated (secure) denial from `zone`'s servers:
    /// `soa` is the zone's SOA, `proof` its RRSIGs and the NSEC/NSEC3 records with
    /// theirs, as the response carried them.
    pub(crate) fn learn(&mut self, now: Instant, soa: &Record, proof: &[Record]) {
        if self.cap == 0 {
            return;
        }
        let Some(zone) = dname(&soa.name) else {
            return;
        };
        let sigs_of = |owner: &Name, t: RecordType| -> Vec<Record> {
            proof
                .iter()
                .filter(|r| r.name == *owner && rrsig_covers(r) == Some(t))
                .cloned()
                .collect()
        };
        let cap_ttl = negative_ttl(Some(soa));
        let mut learned = 0;
        for n in proof.iter().filter(|r| r.record_type() == RecordType::NSEC) {
            let Some(owner) = dname(&n.name) else {
                continue;
            };
            if !owner.is_subdomain_of(&zone) {
                continue;
            }
            let mut records = alloc::vec![n.clone()];
            records.extend(sigs_of(&n.name, RecordType::NSEC));
            if records.len() < 2 {
                continue; // unsigned: never validated, never used
            }
            let ttl = n.ttl.min(cap_ttl);
            if ttl == 0 {
                continue;
            }
            let expires = now.saturating_add(core::time::Duration::from_secs(u64::from(ttl)));
            self.make_room(now, false);
            self.nsec
                .insert((zone.clone(), owner), Stored { records, expires });
            learned += 1;
        }
        if learned > 0 && cap_ttl > 0 {
            let mut records = alloc::vec![soa.clone()];
            records.extend(sigs_of(&soa.name, RecordType::SOA));
            let expires = now.saturating_add(core::time::Duration::from_secs(u64::from(cap_ttl)));
            let keep_longer = self.soa.get(&zone).is_some_and(|s| s.expires > expires);
            if !keep_longer {
                self.make_room(now, true);
                self.soa.insert(zone, Stored { records, expires });
            }
        }
    }

    /// Frees one slot in the NSEC (or the SOA) table if it is full: the expired
    /// entries first, else the one that expires first.
    fn make_room(&mut self, now: Instant, soa: bool) {
        if soa {
            if self.soa.len() < self.cap {
                return;
            }
            self.soa.retain(|_, s| s.expires > now);
            if self.soa.len() >= self.cap
                && let Some(k) = first_to_expire(&self.soa)
            {
                self.soa.remove(&k);
            }
        } else {
            if self.nsec.len() < self.cap {
                return;
            }
            self.nsec.retain(|_, s| s.expires > now);
            if self.nsec.len() >= self.cap
                && let Some(k) = first_to_expire(&self.nsec)
            {
                self.nsec.remove(&k);
            }
        }
    }

    /// If the kept records prove that `qname` has no `qtype` (or does not exist),
    /// put that into `cache` as a secure negative entry with the proof and return
    /// true. `qtype` ANY, RRSIG and NSEC are never synthesised.
    pub(crate) fn synthesize(
        &mut self,
        cache: &mut Cache<KeyedHasher>,
        now: Instant,
        qname: &Name,
        qtype: RecordType,
    ) -> bool {
        if self.nsec.is_empty()
            || matches!(
                qtype,
                RecordType::ANY | RecordType::RRSIG | RecordType::NSEC | RecordType::OPT
            )
        {
            return false;
        }
        let Some(q) = dname(qname) else {
            return false;
        };
        // The deepest zone with a live SOA that holds the name.
        let Some((zone, soa)) = (0..=q.label_count())
            .rev()
            .map(|i| q.suffix(i))
            .find_map(|z| {
                let s = self.soa.get(&z).filter(|s| s.expires > now)?;
                Some((z, s.clone()))
            })
        else {
            return false;
        };
        // The NSEC at or before the name, and the one at or before the wildcard of
        // the closest encloser it implies.
        let Some((_, at)) = self.at_or_before(now, &zone, &q) else {
            return false;
        };
        let mut picked: Vec<Stored> = alloc::vec![at.clone()];
        let view = |s: &Stored| -> Option<(DName, DName)> {
            let r = dnssec::Record::from_hickory(s.records.first()?).ok()?;
            let next = r.nsec().ok()?.next.to_lowercase();
            Some((r.owner.to_lowercase(), next))
        };
        let Some((owner, next)) = view(at) else {
            return false;
        };
        let nx = owner != q;
        if nx {
            let a = q.common_ancestor(&owner);
            let b = q.common_ancestor(&next);
            let ce = if a.label_count() >= b.label_count() {
                a
            } else {
                b
            };
            let Ok(wild) = ce.wildcard() else {
                return false;
            };
            if let Some((_, w)) = self.at_or_before(now, &zone, &wild)
                && view(w).is_some_and(|(o, _)| o != owner)
            {
                picked.push(w.clone());
            }
        }
        let all: Vec<Record> = picked.iter().flat_map(|s| s.records.clone()).collect();
        let views: Vec<dnssec::Record<'_>> = all
            .iter()
            .filter_map(|r| dnssec::Record::from_hickory(r).ok())
            .collect();
        let nxdomain = match dnssec::nsec_nxdomain(&zone, &q, &views) {
            Ok(dnssec::Denial::NxDomain { opt_out: false, .. }) => true,
            _ => match dnssec::nsec_nodata(&zone, &q, u16::from(qtype), &views) {
                Ok(dnssec::Denial::NoData) => false,
                _ => return false,
            },
        };
        // Every record with the TTL the shortest-lived part has left.
        let ttl = picked
            .iter()
            .chain(core::iter::once(&soa))
            .map(|s| left(now, s.expires))
            .min()
            .unwrap_or(0);
        if ttl == 0 {
            return false;
        }
        let with_ttl = |r: &Record| {
            let mut r = r.clone();
            r.ttl = ttl;
            r
        };
        let Some(soa_rr) = soa.records.first().map(with_ttl) else {
            return false;
        };
        let attached = Attached {
            sigs: soa.records.iter().skip(1).map(with_ttl).collect(),
            lead: Vec::new(),
            proof: all.iter().map(with_ttl).collect(),
            security: Security::Secure,
            insecure_ede: None,
        };
        let Some(name) = hname(&q) else {
            return false;
        };
        let rtype = (!nxdomain).then_some(qtype);
        cache.insert_negative_with(
            now,
            &name,
            rtype,
            Some(soa_rr),
            attached,
            Rank::NonAuthAnswer,
        );
        true
    }

    /// The NSEC of `zone` whose owner is `name` or the closest before it, if it has
    /// not expired (an earlier one could not cover `name`).
    fn at_or_before(&self, now: Instant, zone: &DName, name: &DName) -> Option<(&DName, &Stored)> {
        self.nsec
            .range((zone.clone(), zone.clone())..=(zone.clone(), name.clone()))
            .next_back()
            .filter(|(_, s)| s.expires > now)
            .map(|((_, o), s)| (o, s))
    }
}

fn first_to_expire<K: Clone + Ord>(m: &BTreeMap<K, Stored>) -> Option<K> {
    m.iter()
        .min_by_key(|(_, s)| s.expires)
        .map(|(k, _)| k.clone())
}
