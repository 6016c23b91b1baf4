//! Denial of existence with NSEC (RFC 4035 §5.4, RFC 4592, RFC 6840 §4.1, §4.3).
//!
//! The NSEC records handed in must already be validated (each RRset's RRSIG checked with
//! [`verify_rrset`](crate::verify_rrset)) and belong to `zone`, the signer; records of
//! other types or outside `zone` are ignored.

use alloc::vec::Vec;

use crate::name::Name;
use crate::rdata::{Nsec, rtype};
use crate::record::Record;
use crate::{BogusReason, Failure};

/// What a denial proof established.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Denial {
    /// The name does not exist, nor a wildcard that could have produced it.
    NxDomain {
        /// The closest encloser: the longest existing ancestor of the query name.
        closest_encloser: Name,
        /// NSEC3 only: the next closer name was covered by an opt-out NSEC3, so an
        /// unsigned delegation could exist there: not secure (RFC 5155 §9.2, no AD).
        opt_out: bool,
    },
    /// The name exists (or is an empty non-terminal) without the type.
    NoData,
    /// The name does not exist; the wildcard at its closest encloser does, without the
    /// type.
    WildcardNoData {
        /// The closest encloser.
        closest_encloser: Name,
    },
    /// A DS query (or referral) whose absence is covered by an opt-out NSEC3: the
    /// delegation is unsigned, the child insecure (RFC 5155 §8.6, §8.9).
    OptOut {
        /// The closest provable encloser.
        closest_encloser: Name,
    },
}

struct Entry<'a> {
    owner: &'a Name,
    nsec: Nsec<'a>,
}

fn entries<'a>(zone: &Name, records: &'a [Record<'_>]) -> Result<Vec<Entry<'a>>, Failure> {
    let mut out = Vec::new();
    for r in records.iter().filter(|r| r.rtype == rtype::NSEC) {
        if !r.owner.is_subdomain_of(zone) {
            continue;
        }
        out.push(Entry {
            owner: &r.owner,
            nsec: r.nsec()?,
        });
    }
    Ok(out)
}

/// Does the NSEC `owner → next` cover `name` (owner < name < next in canonical order,
/// the last NSEC of the zone wrapping around to the apex)?
pub fn nsec_covers(owner: &Name, next: &Name, name: &Name) -> bool {
    if owner < next {
        owner < name && name < next
    } else {
        // Last NSEC in the zone: next is the apex.
        owner < name && name.is_subdomain_of(next)
    }
}

/// Would an NSEC at `owner` with these types be from the wrong zone for `name`? An NSEC
/// at a delegation point (NS without SOA) or at a DNAME says nothing about names below
/// it (RFC 4035 §5.4, RFC 6672 §5.3.4.1).
fn shadows(e: &Entry<'_>, name: &Name) -> bool {
    name != e.owner
        && name.is_subdomain_of(e.owner)
        && ((e.nsec.types.contains(rtype::NS) && !e.nsec.types.contains(rtype::SOA))
            || e.nsec.types.contains(rtype::DNAME))
}

/// The NSEC covering `name`, checked to be usable for it.
fn covering<'a, 'b>(es: &'b [Entry<'a>], name: &Name) -> Result<Option<&'b Entry<'a>>, Failure> {
    match es.iter().find(|e| nsec_covers(e.owner, &e.nsec.next, name)) {
        Some(e) if shadows(e, name) => Err(Failure::Bogus(BogusReason::WrongZone)),
        other => Ok(other),
    }
}

/// The closest encloser an NSEC covering `qname` implies: the longer of the common
/// ancestors of `qname` with the NSEC's owner and with its next name (RFC 4592 §3.3.1).
fn closest_encloser(e: &Entry<'_>, qname: &Name) -> Name {
    let a = qname.common_ancestor(e.owner);
    let b = qname.common_ancestor(&e.nsec.next);
    if a.label_count() >= b.label_count() {
        a
    } else {
        b
    }
}

fn no_type(e: &Entry<'_>, qtype: u16) -> Result<(), Failure> {
    if e.nsec.types.contains(qtype) || e.nsec.types.contains(rtype::CNAME) {
        return Err(Failure::Bogus(BogusReason::DenialContradicted));
    }
    Ok(())
}

/// Proves NXDOMAIN for `qname` in `zone`: an NSEC covers `qname`, and one covers the
/// wildcard at the closest encloser (RFC 4035 §5.4).
pub fn nsec_nxdomain(zone: &Name, qname: &Name, records: &[Record<'_>]) -> Result<Denial, Failure> {
    let es = entries(zone, records)?;
    if es.iter().any(|e| e.owner == qname) {
        return Err(Failure::Bogus(BogusReason::DenialContradicted));
    }
    let e = covering(&es, qname)?.ok_or(Failure::NsecMissing)?;
    if e.nsec.next.is_subdomain_of(qname) {
        // The next name is below qname: qname is an empty non-terminal, it exists.
        return Err(Failure::Bogus(BogusReason::DenialContradicted));
    }
    let ce = closest_encloser(e, qname);
    let wc = ce.wildcard()?;
    if es.iter().any(|e| *e.owner == wc) {
        return Err(Failure::Bogus(BogusReason::DenialContradicted));
    }
    covering(&es, &wc)?.ok_or(Failure::NsecMissing)?;
    Ok(Denial::NxDomain {
        closest_encloser: ce,
        opt_out: false,
    })
}

/// Proves that `qname` has no `qtype` records (RFC 4035 §5.4, RFC 4592 §3.3.1):
/// an NSEC at `qname` without the type (nor CNAME); an NSEC covering `qname` whose next
/// name is below it (an empty non-terminal); or an NSEC covering `qname` plus one at the
/// wildcard of the closest encloser without the type.
///
/// For `qtype` DS the matching NSEC must come from the parent side of the delegation
/// (no SOA), and then proves the delegation unsigned when it has NS but not DS; for
/// other types an NSEC from the parent side of a delegation (NS without SOA) proves
/// nothing.
pub fn nsec_nodata(
    zone: &Name,
    qname: &Name,
    qtype: u16,
    records: &[Record<'_>],
) -> Result<Denial, Failure> {
    let es = entries(zone, records)?;
    if let Some(e) = es.iter().find(|e| e.owner == qname) {
        let t = &e.nsec.types;
        if qtype == rtype::DS {
            if t.contains(rtype::SOA) && !qname.is_root() {
                return Err(Failure::Bogus(BogusReason::WrongZone));
            }
        } else if t.contains(rtype::NS) && !t.contains(rtype::SOA) {
            return Err(Failure::Bogus(BogusReason::WrongZone));
        }
        no_type(e, qtype)?;
        return Ok(Denial::NoData);
    }
    if let Some(e) = covering(&es, qname)? {
        if e.nsec.next != *qname && e.nsec.next.is_subdomain_of(qname) {
            return Ok(Denial::NoData);
        }
        let ce = closest_encloser(e, qname);
        let wc = ce.wildcard()?;
        if let Some(w) = es.iter().find(|e| *e.owner == wc) {
            no_type(w, qtype)?;
            return Ok(Denial::WildcardNoData {
                closest_encloser: ce,
            });
        }
    }
    Err(Failure::NsecMissing)
}

/// For an answer synthesised from `*.closest_encloser` (see
/// [`Verified::expanded_from`](crate::Verified::expanded_from)): proves `qname` itself
/// does not exist and no name closer to it than the wildcard does (RFC 4035 §5.3.4).
pub fn nsec_wildcard_answer(
    zone: &Name,
    qname: &Name,
    closest_encloser: &Name,
    records: &[Record<'_>],
) -> Result<(), Failure> {
    let es = entries(zone, records)?;
    let e = covering(&es, qname)?.ok_or(Failure::NsecMissing)?;
    if closest_encloser_matches(e, qname, closest_encloser) {
        Ok(())
    } else {
        Err(Failure::Bogus(BogusReason::DenialContradicted))
    }
}

fn closest_encloser_matches(e: &Entry<'_>, qname: &Name, ce: &Name) -> bool {
    qname.is_subdomain_of(ce) && closest_encloser(e, qname) == *ce
}
