//! Denial of existence with NSEC3 (RFC 5155 §8, RFC 9276).
//!
//! As for NSEC, the records must already be validated and belong to `zone`. NSEC3
//! records with an unknown hash algorithm or unknown flags are ignored (RFC 5155 §8.1,
//! §8.2); the first usable record fixes the salt and iterations, and records with other
//! parameters are ignored too (a zone signs with one chain at a time). Iterations above
//! [`Policy::nsec3_max_iterations`] make the answer insecure with EDE 27 before any hash
//! is computed (RFC 9276 §3.2); every owner-name hash takes one from
//! [`Budget::nsec3_hashes_left`].

use alloc::vec::Vec;
use core::cmp::Ordering;

use sha1::{Digest, Sha1};

use crate::encoding::base32hex_decode;
use crate::name::Name;
use crate::nsec::Denial;
use crate::rdata::{NSEC3_FLAG_OPT_OUT, NSEC3_HASH_SHA1, Nsec3, rtype};
use crate::record::Record;
use crate::{BogusReason, Budget, Failure, Policy};

/// The NSEC3 hash of `name` (RFC 5155 §5): `IH(salt, x, k)` with `x` the lowercased
/// wire form, SHA-1 applied `iterations + 1` times.
pub fn nsec3_hash(name: &Name, salt: &[u8], iterations: u16) -> [u8; 20] {
    let mut x = Vec::with_capacity(name.wire().len());
    name.write_lowercase(&mut x);
    let mut h: [u8; 20] = Sha1::new()
        .chain_update(&x)
        .chain_update(salt)
        .finalize()
        .into();
    for _ in 0..iterations {
        h = Sha1::new()
            .chain_update(h)
            .chain_update(salt)
            .finalize()
            .into();
    }
    h
}

struct Entry<'a> {
    /// Where the record is in the slice handed in.
    idx: usize,
    /// The owner's first label decoded: the hash of the original owner name.
    hash: Vec<u8>,
    nsec3: Nsec3<'a>,
}

impl Entry<'_> {
    fn matches(&self, h: &[u8]) -> bool {
        self.hash == h
    }
    /// hash < h < next, wrapping at the end of the chain (RFC 5155 §8.3).
    fn covers(&self, h: &[u8]) -> bool {
        let (own, next) = (self.hash.as_slice(), self.nsec3.next_hashed);
        match own.cmp(next) {
            Ordering::Less => own < h && h < next,
            // The last NSEC3 in the chain, or the only one.
            _ => h > own || h < next,
        }
    }
}

/// The usable NSEC3 records of `zone` and their common parameters.
struct Chain<'a> {
    entries: Vec<Entry<'a>>,
    salt: &'a [u8],
    iterations: u16,
    /// Hashes computed during this proof, so no name is hashed twice.
    memo: Vec<(Name, [u8; 20])>,
    /// The records (indices) the proof so far rests on.
    used: Vec<usize>,
}

impl<'a> Chain<'a> {
    fn new(zone: &Name, records: &'a [Record<'_>], policy: &Policy) -> Result<Chain<'a>, Failure> {
        let mut entries = Vec::new();
        let mut params: Option<(&'a [u8], u16)> = None;
        for (idx, r) in records.iter().enumerate() {
            if r.rtype != rtype::NSEC3 {
                continue;
            }
            // The owner must be exactly one (hash) label below the zone.
            if r.owner.parent().as_ref() != Some(zone) {
                continue;
            }
            let n = r.nsec3()?;
            if n.hash_algorithm != NSEC3_HASH_SHA1 || n.flags & !NSEC3_FLAG_OPT_OUT != 0 {
                continue;
            }
            let Some(label) = r.owner.labels().next() else {
                continue;
            };
            let Some(hash) = base32hex_decode(label) else {
                continue;
            };
            if hash.len() != n.next_hashed.len() {
                continue;
            }
            match params {
                None => params = Some((n.salt, n.iterations)),
                Some((s, i)) if s != n.salt || i != n.iterations => continue,
                Some(_) => {}
            }
            entries.push(Entry {
                idx,
                hash,
                nsec3: n,
            });
        }
        let (salt, iterations) = params.ok_or(Failure::NsecMissing)?;
        if iterations > policy.nsec3_max_iterations {
            return Err(Failure::Nsec3Iterations(iterations));
        }
        Ok(Chain {
            entries,
            salt,
            iterations,
            memo: Vec::new(),
            used: Vec::new(),
        })
    }

    fn hash(&mut self, name: &Name, budget: &mut Budget) -> Result<[u8; 20], Failure> {
        if let Some((_, h)) = self.memo.iter().find(|(n, _)| n == name) {
            return Ok(*h);
        }
        budget.take_nsec3_hash()?;
        let h = nsec3_hash(name, self.salt, self.iterations);
        self.memo.push((name.clone(), h));
        Ok(h)
    }

    fn matching(&self, h: &[u8]) -> Option<&Entry<'a>> {
        self.entries.iter().find(|e| e.matches(h))
    }
    fn covering(&self, h: &[u8]) -> Option<&Entry<'a>> {
        self.entries.iter().find(|e| e.covers(h))
    }
    /// The proof rests on this record.
    fn use_entry(&mut self, idx: usize) {
        if !self.used.contains(&idx) {
            self.used.push(idx);
        }
    }

    /// The closest-encloser proof (RFC 5155 §8.3): an ancestor of `qname` (up to
    /// `zone`) with a matching NSEC3, and the covering NSEC3 of the next closer name
    /// below it. Returns (closest encloser, next closer's cover is opt-out).
    ///
    /// Searched from both ends at once, one hash at a time from each: upwards from
    /// `qname` (the first ancestor matched is the closest encloser) and downwards from
    /// `zone` (the first name covered whose parent is matched is the next closer). A
    /// deep name below a shallow closest encloser (an NXDOMAIN for a 100-label name
    /// under the apex) then costs a few hashes, not one per label; a name just below
    /// a deep existing one is found from below as cheaply. A covered name does not
    /// exist, a matched one does, so either end's find is a whole proof.
    fn closest_encloser(
        &mut self,
        zone: &Name,
        qname: &Name,
        budget: &mut Budget,
    ) -> Result<(Name, bool), Failure> {
        if !qname.is_subdomain_of(zone) {
            return Err(Failure::Bogus(BogusReason::WrongZone));
        }
        let (top, deepest) = (zone.label_count(), qname.label_count());
        // Upwards: the next label count to hash, and the name hashed before it.
        let mut up = Some(deepest);
        let mut next_closer: Option<Name> = None;
        // Downwards: the next label count, and whether the name above it matched.
        let mut down = top;
        let mut above_matched: Option<usize> = None;
        loop {
            if let Some(d) = up {
                let candidate = qname.suffix(d);
                let h = self.hash(&candidate, budget)?;
                if let Some(e) = self.matching(&h) {
                    let (idx, types) = (e.idx, e.nsec3.types);
                    let nc = next_closer
                        .take()
                        .ok_or(Failure::Bogus(BogusReason::DenialContradicted))?;
                    return self.proof(candidate, idx, &types, &nc, budget);
                }
                up = (d > top).then(|| d - 1);
                next_closer = Some(candidate);
            }
            if down < deepest {
                let name = qname.suffix(down);
                let h = self.hash(&name, budget)?;
                let matched = self.matching(&h).map(|e| e.idx);
                if matched.is_none()
                    && self.covering(&h).is_some()
                    && let Some(pidx) = above_matched
                {
                    let parent = qname.suffix(down - 1);
                    let types = self
                        .entries
                        .iter()
                        .find(|e| e.idx == pidx)
                        .map(|e| e.nsec3.types)
                        .ok_or(Failure::NsecMissing)?;
                    return self.proof(parent, pidx, &types, &name, budget);
                }
                above_matched = matched;
                down += 1;
            } else if up.is_none() {
                return Err(Failure::NsecMissing);
            }
            if up.is_none() && down >= deepest {
                return Err(Failure::NsecMissing);
            }
        }
    }

    /// `ce` matched by record `idx` (of `types`), `nc` the next closer below it: the
    /// proof, if `nc` is covered and `ce` may enclose names (no delegation, no DNAME).
    fn proof(
        &mut self,
        ce: Name,
        idx: usize,
        types: &crate::rdata::TypeBitmap<'_>,
        nc: &Name,
        budget: &mut Budget,
    ) -> Result<(Name, bool), Failure> {
        // An NSEC3 at a delegation or DNAME cannot be a closest encloser for names
        // below it.
        if (types.contains(rtype::NS) && !types.contains(rtype::SOA))
            || types.contains(rtype::DNAME)
        {
            return Err(Failure::Bogus(BogusReason::WrongZone));
        }
        let nh = self.hash(nc, budget)?;
        let (cidx, opt_out) = self
            .covering(&nh)
            .map(|c| (c.idx, c.nsec3.opt_out()))
            .ok_or(Failure::NsecMissing)?;
        self.use_entry(idx);
        self.use_entry(cidx);
        Ok((ce, opt_out))
    }
}

fn no_type(e: &Entry<'_>, qtype: u16) -> Result<(), Failure> {
    if e.nsec3.types.contains(qtype) || e.nsec3.types.contains(rtype::CNAME) {
        return Err(Failure::Bogus(BogusReason::DenialContradicted));
    }
    Ok(())
}

/// Proves NXDOMAIN (RFC 5155 §8.4): closest-encloser proof for `qname` and a cover of
/// the wildcard at the closest encloser. When the next closer name is covered by an
/// opt-out NSEC3 the result says so (`opt_out: true`): the caller must not set AD.
pub fn nsec3_nxdomain(
    zone: &Name,
    qname: &Name,
    records: &[Record<'_>],
    policy: &Policy,
    budget: &mut Budget,
) -> Result<Denial, Failure> {
    nsec3_nxdomain_proof(zone, qname, records, policy, budget).map(|(d, _)| d)
}

/// [`nsec3_nxdomain`], also returning the indices (in `records`) of the NSEC3 records
/// the proof rests on: the caller may run it on records not yet verified, then verify
/// only those (an answer stuffed with NSEC3 records costs no verification for the
/// rest). On an error nothing was proven: a proof over unverified records that fails
/// is no evidence, except that the records do not prove the denial.
pub fn nsec3_nxdomain_proof(
    zone: &Name,
    qname: &Name,
    records: &[Record<'_>],
    policy: &Policy,
    budget: &mut Budget,
) -> Result<(Denial, Vec<usize>), Failure> {
    let mut c = Chain::new(zone, records, policy)?;
    let (ce, opt_out) = c.closest_encloser(zone, qname, budget)?;
    let wh = c.hash(&ce.wildcard()?, budget)?;
    if c.matching(&wh).is_some() {
        return Err(Failure::Bogus(BogusReason::DenialContradicted));
    }
    let w = c.covering(&wh).ok_or(Failure::NsecMissing)?.idx;
    c.use_entry(w);
    Ok((
        Denial::NxDomain {
            closest_encloser: ce,
            opt_out,
        },
        c.used,
    ))
}

/// Proves that `qname` has no `qtype` records (RFC 5155 §8.5–§8.7, §8.9): a matching
/// NSEC3 without the type (nor CNAME); for DS, a closest-encloser proof whose next
/// closer is covered by an opt-out NSEC3 ([`Denial::OptOut`]); or a closest-encloser
/// proof plus a matching NSEC3 at the wildcard without the type.
///
/// The same delegation rules as for NSEC apply: a DS denial must come from the parent
/// side (no SOA), other types not from the parent side of a delegation.
pub fn nsec3_nodata(
    zone: &Name,
    qname: &Name,
    qtype: u16,
    records: &[Record<'_>],
    policy: &Policy,
    budget: &mut Budget,
) -> Result<Denial, Failure> {
    nsec3_nodata_proof(zone, qname, qtype, records, policy, budget).map(|(d, _)| d)
}

/// [`nsec3_nodata`], also returning the records the proof rests on, as
/// [`nsec3_nxdomain_proof`] does.
pub fn nsec3_nodata_proof(
    zone: &Name,
    qname: &Name,
    qtype: u16,
    records: &[Record<'_>],
    policy: &Policy,
    budget: &mut Budget,
) -> Result<(Denial, Vec<usize>), Failure> {
    let mut c = Chain::new(zone, records, policy)?;
    let h = c.hash(qname, budget)?;
    if let Some(e) = c.matching(&h) {
        let t = &e.nsec3.types;
        if qtype == rtype::DS {
            if t.contains(rtype::SOA) && qname != zone {
                return Err(Failure::Bogus(BogusReason::WrongZone));
            }
        } else if t.contains(rtype::NS) && !t.contains(rtype::SOA) {
            return Err(Failure::Bogus(BogusReason::WrongZone));
        }
        no_type(e, qtype)?;
        let idx = e.idx;
        c.use_entry(idx);
        return Ok((Denial::NoData, c.used));
    }
    let (ce, opt_out) = c.closest_encloser(zone, qname, budget)?;
    if qtype == rtype::DS {
        if opt_out {
            return Ok((
                Denial::OptOut {
                    closest_encloser: ce,
                },
                c.used,
            ));
        }
        return Err(Failure::NsecMissing);
    }
    let wh = c.hash(&ce.wildcard()?, budget)?;
    let w = c.matching(&wh).ok_or(Failure::NsecMissing)?;
    no_type(w, qtype)?;
    let idx = w.idx;
    c.use_entry(idx);
    Ok((
        Denial::WildcardNoData {
            closest_encloser: ce,
        },
        c.used,
    ))
}

/// For an answer synthesised from `*.closest_encloser`: proves no closer name exists, by
/// an NSEC3 covering the next closer name (RFC 5155 §8.8). Returns whether that cover is
/// opt-out (then not secure: no AD).
pub fn nsec3_wildcard_answer(
    zone: &Name,
    qname: &Name,
    closest_encloser: &Name,
    records: &[Record<'_>],
    policy: &Policy,
    budget: &mut Budget,
) -> Result<bool, Failure> {
    if !qname.is_subdomain_of(closest_encloser)
        || qname == closest_encloser
        || !closest_encloser.is_subdomain_of(zone)
    {
        return Err(Failure::Bogus(BogusReason::RrsigMismatch));
    }
    let mut c = Chain::new(zone, records, policy)?;
    let nc = qname.suffix(closest_encloser.label_count() + 1);
    let h = c.hash(&nc, budget)?;
    let cover = c.covering(&h).ok_or(Failure::NsecMissing)?;
    Ok(cover.nsec3.opt_out())
}
