//! Proofs of absence: negative answers (NXDOMAIN, NODATA) and the "no closer name"
//! proof of a wildcard expansion, from the NSEC/NSEC3 records of the response.
//!
//! Every proof is checked first over the records as received (cheap: comparisons,
//! and NSEC3 hashes within the budget), so that one which fails is bogus without a
//! signature verification. An NSEC3 denial is proven first over the records as received (hashing only, within
//! the budget's NSEC3 hashes), and then only the NSEC3 RRsets the proof rests on are
//! verified: a response stuffed with NSEC3 records costs no verification for the rest.
//! A proof that fails over the records as received fails over any verified subset
//! too: it is bogus without a verification. Iterations above the cap (RFC 9276: the
//! answer insecure, EDE 27) are a conclusion as well, so the NSEC3 RRsets that say so
//! are verified first: an injected unsigned record cannot downgrade the answer.

use alloc::vec::Vec;

use hickory_proto::rr::{Name, Record, RecordType};

use super::{
    Check, Outcome, convert, cut_above, dname, failed, hname, rrset_outcome, worse, zone_keys,
};
use crate::ede::Ede;
use crate::scrub::rrsig_covers;

/// The NSEC/NSEC3 RRsets (owner, type) among `proof`, in order.
fn denial_sets(proof: &[Record]) -> Vec<(Name, RecordType)> {
    let mut sets: Vec<(Name, RecordType)> = Vec::new();
    for r in proof {
        let k = (r.name.clone(), r.record_type());
        if matches!(k.1, RecordType::NSEC | RecordType::NSEC3) && !sets.contains(&k) {
            sets.push(k);
        }
    }
    sets
}

/// Verifies each of `sets` (RRsets of `proof`, with their RRSIGs from it) under its
/// zone's keys; the first that is not secure is the outcome.
fn verify_sets(
    c: &mut Check<'_>,
    wall: u64,
    proof: &[Record],
    sets: &[(Name, RecordType)],
) -> Outcome {
    for (o, t) in sets {
        let rrset: Vec<Record> = proof
            .iter()
            .filter(|r| r.name == *o && r.record_type() == *t)
            .cloned()
            .collect();
        let sigs: Vec<Record> = proof
            .iter()
            .filter(|r| r.name == *o && rrsig_covers(r) == Some(*t))
            .cloned()
            .collect();
        let out = rrset_outcome(c, wall, o, *t, &rrset, &sigs);
        if !matches!(out, Outcome::Secure) {
            return out;
        }
    }
    Outcome::Secure
}

/// An RRset at `owner` synthesised from `*.ce` in `zone`: its NSEC/NSEC3 RRsets
/// verified, then the proof that no closer name exists (RFC 4035 §5.3.4, RFC 5155
/// §8.8). An NSEC3 proof under opt-out is insecure; none at hand, insecure too; a
/// proof that does not prove it, bogus.
pub(super) fn wildcard_outcome(
    c: &mut Check<'_>,
    wall: u64,
    owner: &Name,
    zone: &Name,
    ce: &dnssec::Name,
) -> Outcome {
    let proof = core::mem::take(&mut c.wild);
    let out = wildcard_proof(c, wall, (owner, zone, ce), &proof);
    c.wild = proof;
    out
}

/// See [`wildcard_outcome`].
fn wildcard_proof(
    c: &mut Check<'_>,
    wall: u64,
    (owner, zone, ce): (&Name, &Name, &dnssec::Name),
    proof: &[Record],
) -> Outcome {
    let nsec_missing = || Outcome::Bogus(Ede::dnssec(&dnssec::Failure::NsecMissing));
    let sets = denial_sets(proof);
    if sets.is_empty() {
        // No proof came with it (or it was not kept: a CNAME chain leaving the
        // server's data): never secure, as before proofs were checked. Not bogus,
        // so that a wildcard CNAME to another zone keeps resolving.
        return Outcome::Insecure(None);
    }
    let (Some(dz), Some(dq)) = (dname(zone), dname(owner)) else {
        return nsec_missing();
    };
    // Proven first, verified after: a proof that fails costs no verification.
    let recs = convert(proof);
    let policy = c.val.policy;
    let res = if sets.iter().any(|(_, t)| *t == RecordType::NSEC3) {
        dnssec::nsec3_wildcard_answer(&dz, &dq, ce, &recs, &policy, c.budget)
    } else {
        dnssec::nsec_wildcard_answer(&dz, &dq, ce, &recs).map(|()| false)
    };
    if let Err(f) = &res
        && !f.is_insecure()
    {
        return failed(f);
    }
    let out = verify_sets(c, wall, proof, &sets);
    if !matches!(out, Outcome::Secure) {
        return out;
    }
    match res {
        Ok(false) => Outcome::Secure,
        Ok(true) => Outcome::Insecure(None),
        Err(f) => failed(&f),
    }
}

/// A negative answer: its SOA and NSEC/NSEC3 RRsets verified, then the denial proven.
pub(super) fn denial(
    c: &mut Check<'_>,
    wall: u64,
    name: &Name,
    qtype: Option<RecordType>,
    soa: Option<Record>,
    proof: &[Record],
) -> Outcome {
    let Some(anchor) = c.val.anchor_for(name).cloned() else {
        return Outcome::Insecure(None);
    };
    let nsec_missing = || Outcome::Bogus(Ede::dnssec(&dnssec::Failure::NsecMissing));
    let Some(soa) = soa else {
        // Nothing names the zone: it is the one that holds `name`, found as for an
        // unsigned RRset. Unproven in a signed zone is bogus; in an unsigned one (or
        // below a forwarder that ignores DO) it is insecure.
        let base = if c.forwarded || !anchor.zone_of(c.zone) {
            anchor
        } else {
            c.zone.clone()
        };
        if let Err(o) = zone_keys(c, &base) {
            return o;
        }
        return match cut_above(c, &base, name, qtype == Some(RecordType::DS)) {
            Err(o) => o,
            Ok(_) => nsec_missing(),
        };
    };
    let soa_sigs: Vec<Record> = proof
        .iter()
        .filter(|r| r.name == soa.name && rrsig_covers(r) == Some(RecordType::SOA))
        .cloned()
        .collect();
    let zone = soa.name.clone();
    if !zone.zone_of(name) || !anchor.zone_of(&zone) {
        return Outcome::Insecure(None);
    }
    let out = rrset_outcome(c, wall, &zone, RecordType::SOA, &[soa], &soa_sigs);
    if !matches!(out, Outcome::Secure) {
        return out;
    }
    let sets = denial_sets(proof);
    if sets.is_empty() {
        return nsec_missing();
    }
    let (Some(dz), Some(dq)) = (dname(&zone), dname(name)) else {
        return nsec_missing();
    };
    if sets.iter().any(|(_, t)| *t == RecordType::NSEC3) {
        return nsec3_denial(c, wall, (&dz, &dq, qtype), proof, &sets);
    }
    // NSEC: the proof over the records as received (no hashing, no cost), then, if it
    // holds, every NSEC RRset verified.
    let recs = convert(proof);
    let res = match qtype {
        None => dnssec::nsec_nxdomain(&dz, &dq, &recs),
        Some(t) => dnssec::nsec_nodata(&dz, &dq, u16::from(t), &recs),
    };
    if let Err(f) = &res {
        return failed(f);
    }
    let out = worse(out, verify_sets(c, wall, proof, &sets));
    if !matches!(out, Outcome::Secure) {
        return out;
    }
    denial_outcome(res)
}

/// An NSEC3 denial (see the module docs): proven over the records as received, then
/// the RRsets it rests on verified.
fn nsec3_denial(
    c: &mut Check<'_>,
    wall: u64,
    (dz, dq, qtype): (&dnssec::Name, &dnssec::Name, Option<RecordType>),
    proof: &[Record],
    sets: &[(Name, RecordType)],
) -> Outcome {
    let recs = convert(proof);
    let policy = c.val.policy;
    let res = match qtype {
        None => dnssec::nsec3_nxdomain_proof(dz, dq, &recs, &policy, c.budget),
        Some(t) => dnssec::nsec3_nodata_proof(dz, dq, u16::from(t), &recs, &policy, c.budget),
    };
    let (res, used) = match res {
        Ok((d, used)) => {
            let mut v: Vec<(Name, RecordType)> = Vec::new();
            for owner in used
                .iter()
                .filter_map(|&i| recs.get(i))
                .filter_map(|r| hname(&r.owner))
            {
                let k = (owner, RecordType::NSEC3);
                if !v.contains(&k) {
                    v.push(k);
                }
            }
            (Ok(d), v)
        }
        // Insecure rests on the records that say so: all of them verified.
        Err(f) if f.is_insecure() => (Err(f), sets.to_vec()),
        Err(f) => return failed(&f),
    };
    let out = verify_sets(c, wall, proof, &used);
    if !matches!(out, Outcome::Secure) {
        return out;
    }
    denial_outcome(res)
}

fn denial_outcome(res: Result<dnssec::Denial, dnssec::Failure>) -> Outcome {
    match res {
        Ok(dnssec::Denial::NxDomain { opt_out: true, .. } | dnssec::Denial::OptOut { .. }) => {
            Outcome::Insecure(None)
        }
        Ok(_) => Outcome::Secure,
        Err(f) => failed(&f),
    }
}
