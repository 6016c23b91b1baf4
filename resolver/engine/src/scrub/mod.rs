//! Classifying an upstream response and scrubbing it to the server's bailiwick.
//!
//! A pure function: given the zone the server was asked as (its bailiwick), the question
//! we sent and the parsed response, decide what the response means (answer, CNAME to
//! follow, NXDOMAIN, NODATA, referral, or lame) and which of its records may be cached.
//! Every record outside the bailiwick, off the question's CNAME chain, or not needed to
//! follow a referral is dropped: this is the defence against cache poisoning by
//! out-of-zone data (Kaminsky-style additional-section injection included).
//!
//! The work is bounded whatever the response holds: each section is read up to
//! `Limits::max_records_per_section`, a referral keeps the NS names a delegation will
//! use (`max_ns_per_delegation`) and only their glue, found through a hash map.
//!
//! How the shapes read (as Unbound reads them): NS in authority strictly below the zone
//! asked is a referral, AA or not; NS at or above it with no SOA is lame; a negative
//! answer without an SOA is answered but proves nothing to cache; a DNAME is kept in
//! the chain ahead of the CNAME it synthesizes; a chain that ends without data and
//! without an SOA is followed further; answer records off the chain are strays,
//! dropped.
//!
//! DNSSEC records are kept only beside what they belong to, for clients that set DO
//! (RFC 4035 §3.2.1) and the validator to come: the RRSIGs over each kept RRset (the
//! chain's links, the answer), a negative answer's RRSIGs over its SOA and its NSEC or
//! NSEC3 records (with their RRSIGs) from the SOA's zone, a referral's DS set (or the
//! NSEC/NSEC3 denying one) with its RRSIGs. Any other RRSIG, NSEC or NSEC3 is a stray.

use alloc::vec::Vec;
use core::net::IpAddr;

use hashbrown::HashMap;

use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};

use crate::cache::Rank;
use crate::chain::{self, Chain, Walk};
use crate::config::Limits;

/// What a response means for the question asked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Meaning {
    /// The RRset for the end of the (possibly empty) CNAME chain.
    Answer {
        /// CNAME (and synthesized) records from the question name to the answer's owner.
        chain: Vec<Record>,
        /// The answer RRset.
        answer: Vec<Record>,
        /// NSEC/NSEC3 records in the zone and their RRSIGs from the authority
        /// section: a wildcard expansion's proof that the name itself does not exist.
        proof: Vec<Record>,
    },
    /// A CNAME chain that leaves the server's data: continue at `target`.
    Cname {
        /// The links followed.
        chain: Vec<Record>,
        /// Where to continue.
        target: Name,
    },
    /// The (final) name does not exist.
    NxDomain {
        /// The links followed before it.
        chain: Vec<Record>,
        /// The name that does not exist.
        name: Name,
        /// The zone's SOA, for the negative TTL; `None`: nothing proves it, so it is
        /// not cached.
        soa: Option<Record>,
        /// The RRSIGs over the SOA, then the NSEC/NSEC3 records and their RRSIGs.
        proof: Vec<Record>,
    },
    /// The (final) name exists but has no data of the type.
    NoData {
        /// The links followed before it.
        chain: Vec<Record>,
        /// The name without data.
        name: Name,
        /// The zone's SOA, for the negative TTL; `None`: nothing proves it, so it is
        /// not cached.
        soa: Option<Record>,
        /// The RRSIGs over the SOA, then the NSEC/NSEC3 records and their RRSIGs.
        proof: Vec<Record>,
    },
    /// Go ask the servers of `zone`, a zone below the one asked.
    Referral {
        /// The delegated zone.
        zone: Name,
        /// Its NS records: at most `max_ns_per_delegation` distinct names.
        ns: Vec<Record>,
        /// In-bailiwick glue: A/AAAA records for those NS names, at most
        /// `max_addrs_per_ns` each.
        glue: Vec<Record>,
        /// The DS set at the cut and its RRSIGs, or the NSEC/NSEC3 records (and their
        /// RRSIGs) proving there is none: the chain of trust, or its end.
        ds: Vec<Record>,
    },
    /// Nothing usable: an upward or sideways referral (AA or not), an empty
    /// non-authoritative answer, an error RCODE.
    Lame,
}

/// A classified response.
#[derive(Clone, Debug)]
pub struct Classified {
    /// What it means.
    pub meaning: Meaning,
    /// The rank its answer-section data deserves.
    pub answer_rank: Rank,
    /// How many records were dropped by scrubbing.
    pub scrubbed: usize,
    /// How many records were read: at most `max_records_per_section` per section.
    pub examined: usize,
}

/// Whether `r` is of class IN.
fn is_in(r: &Record) -> bool {
    r.dns_class == DNSClass::IN
}

/// The target name of a CNAME record.
#[must_use]
pub fn cname_target(r: &Record) -> Option<&Name> {
    match &r.data {
        RData::CNAME(c) => Some(&c.0),
        _ => None,
    }
}

/// The type an RRSIG covers (its RDATA's first field; RRSIG is unknown RDATA here).
#[must_use]
pub fn rrsig_covers(r: &Record) -> Option<RecordType> {
    if r.record_type() != RecordType::RRSIG {
        return None;
    }
    let RData::Unknown { rdata, .. } = &r.data else {
        return None;
    };
    match rdata.anything.get(..2)? {
        [hi, lo] => Some(RecordType::from(u16::from_be_bytes([*hi, *lo]))),
        _ => None,
    }
}

/// The RRSIGs in `section` over the RRset `owner`/`rtype`.
fn sigs_over<'a>(
    section: &'a [Record],
    owner: &'a Name,
    rtype: RecordType,
) -> impl Iterator<Item = Record> + 'a {
    section
        .iter()
        .filter(move |r| is_in(r) && r.name == *owner && rrsig_covers(r) == Some(rtype))
        .cloned()
}

/// What proves a negative answer, from `authorities`: the RRSIGs over `soa`, then the
/// NSEC and NSEC3 records inside the SOA's zone (and the bailiwick) with their RRSIGs.
fn denial(zone: &Name, soa: Option<&Record>, authorities: &[Record]) -> Vec<Record> {
    let Some(soa) = soa else {
        return Vec::new();
    };
    let mut out: Vec<Record> = sigs_over(authorities, &soa.name, RecordType::SOA).collect();
    for r in authorities {
        let t = r.record_type();
        if !is_in(r)
            || !matches!(t, RecordType::NSEC | RecordType::NSEC3)
            || !zone.zone_of(&r.name)
            || !soa.name.zone_of(&r.name)
        {
            continue;
        }
        if out.iter().any(|o| o.name == r.name && o.record_type() == t) {
            continue; // its RRset (and RRSIGs) taken already
        }
        let same: Vec<Record> = authorities
            .iter()
            .filter(|o| is_in(o) && o.name == r.name && o.record_type() == t)
            .cloned()
            .collect();
        out.extend(same);
        out.extend(sigs_over(authorities, &r.name, t));
    }
    out
}

/// A positive answer's NSEC/NSEC3 RRsets inside the zone, with their RRSIGs (a
/// wildcard expansion's proof, RFC 4035 §3.1.3.3).
fn answer_proof(zone: &Name, authorities: &[Record]) -> Vec<Record> {
    let mut out: Vec<Record> = Vec::new();
    for r in authorities {
        let t = r.record_type();
        if !is_in(r) || !matches!(t, RecordType::NSEC | RecordType::NSEC3) || !zone.zone_of(&r.name)
        {
            continue;
        }
        if out.iter().any(|o| o.name == r.name && o.record_type() == t) {
            continue;
        }
        out.extend(
            authorities
                .iter()
                .filter(|o| is_in(o) && o.name == r.name && o.record_type() == t)
                .cloned(),
        );
        out.extend(sigs_over(authorities, &r.name, t));
    }
    out
}

/// A referral's DNSSEC records: the DS set at `cut` and its RRSIGs, or the NSEC at the
/// cut / the NSEC3 records of the parent zone (inside the bailiwick) denying one.
fn referral_ds(zone: &Name, cut: &Name, authorities: &[Record]) -> Vec<Record> {
    let mut out: Vec<Record> = authorities
        .iter()
        .filter(|r| is_in(r) && r.name == *cut && r.record_type() == RecordType::DS)
        .cloned()
        .collect();
    if !out.is_empty() {
        out.extend(sigs_over(authorities, cut, RecordType::DS));
        return out;
    }
    for r in authorities {
        let t = r.record_type();
        let denies = match t {
            RecordType::NSEC => r.name == *cut,
            RecordType::NSEC3 => {
                r.name != *zone && zone.zone_of(&r.name) && r.name.base_name().zone_of(cut)
            }
            _ => false,
        };
        if is_in(r) && denies && !out.iter().any(|o| o.name == r.name) {
            out.push(r.clone());
            out.extend(sigs_over(authorities, &r.name, t));
        }
    }
    out
}

/// Parse the target of a DNAME record (RFC 6672), carried as unknown RDATA: an
/// uncompressed domain name.
#[must_use]
pub fn dname_target(r: &Record) -> Option<Name> {
    if r.record_type() != RecordType::DNAME {
        return None;
    }
    let RData::Unknown { rdata, .. } = &r.data else {
        return None;
    };
    let bytes = rdata.anything.as_slice();
    let mut d = hickory_proto::serialize::binary::BinDecoder::new(bytes);
    let n: Name = hickory_proto::serialize::binary::BinDecodable::read(&mut d).ok()?;
    if !d.is_empty() {
        return None;
    }
    Some(n)
}

/// Replace the `owner` suffix of `name` by `target` (DNAME substitution).
#[must_use]
pub fn dname_substitute(name: &Name, owner: &Name, target: &Name) -> Option<Name> {
    let keep = usize::from(name.num_labels()).checked_sub(usize::from(owner.num_labels()))?;
    if keep == 0 {
        return None;
    }
    let labels: Vec<&[u8]> = name.iter().take(keep).collect();
    let prefix = Name::from_labels(labels).ok()?;
    prefix.append_domain(target).ok()
}

/// A response's answer section as a [`Chain`]: in-class records at names inside the
/// bailiwick, DNAMEs (RFC 6672, with the CNAME they synthesize) and CNAMEs as aliases.
struct Answers<'m> {
    /// The answer section (at most `max_records_per_section` of it).
    answers: &'m [Record],
    /// The bailiwick.
    zone: &'m Name,
    /// The question type.
    qtype: RecordType,
    /// The links followed (a DNAME adds itself and the CNAME it synthesizes).
    chain: Vec<Record>,
}

impl Chain for Answers<'_> {
    type Name = Name;
    /// The owner and its RRset of the question type.
    type Data = (Name, Vec<Record>);
    /// The records of the link and the name it leads to.
    type Link = (Vec<Record>, Name);

    fn data(&mut self, at: &mut Name, _links: u8) -> Option<(Name, Vec<Record>)> {
        if !self.zone.zone_of(at) {
            return None;
        }
        let mut answer: Vec<Record> = self
            .answers
            .iter()
            .filter(|r| is_in(r) && r.name == *at && r.record_type() == self.qtype)
            .cloned()
            .collect();
        if answer.is_empty() {
            return None;
        }
        if self.qtype != RecordType::RRSIG {
            answer.extend(sigs_over(self.answers, at, self.qtype));
        }
        Some((at.clone(), answer))
    }

    fn alias(&mut self, at: &mut Name, cnames: bool) -> Option<(Vec<Record>, Name)> {
        if !self.zone.zone_of(at) {
            return None;
        }
        // DNAME first (RFC 6672 §3): a server redirecting an ancestor of the name sends
        // the DNAME and the CNAME it synthesized; the DNAME is what the client needs, so
        // it is kept ahead of the CNAME. A CNAME that does not match the substitution
        // is not the synthesized one: ours is used instead.
        let dname = self.answers.iter().find_map(|r| {
            if is_in(r) && r.name != *at && r.name.zone_of(at) && self.zone.zone_of(&r.name) {
                dname_target(r).map(|t| (r, t))
            } else {
                None
            }
        });
        if let Some((d, target)) = dname {
            let new = dname_substitute(at, &d.name, &target)?;
            let cname = self
                .answers
                .iter()
                .find(|r| is_in(r) && r.name == *at && cname_target(r) == Some(&new))
                .cloned()
                .unwrap_or_else(|| {
                    Record::from_rdata(
                        at.clone(),
                        d.ttl,
                        RData::CNAME(hickory_proto::rr::rdata::CNAME(new.clone())),
                    )
                });
            let mut link = alloc::vec![d.clone()];
            link.extend(sigs_over(self.answers, &d.name, RecordType::DNAME));
            link.push(cname);
            link.extend(sigs_over(self.answers, at, RecordType::CNAME));
            return Some((link, new));
        }
        if !cnames {
            return None;
        }
        let c = self
            .answers
            .iter()
            .find(|r| is_in(r) && r.name == *at && r.record_type() == RecordType::CNAME)?;
        let t = cname_target(c)?;
        let mut link = alloc::vec![c.clone()];
        link.extend(sigs_over(self.answers, at, RecordType::CNAME));
        Some((link, t.clone()))
    }

    fn follow(&mut self, (records, next): (Vec<Record>, Name)) -> Name {
        self.chain.extend(records);
        next
    }
}

/// The first `cap` records of a section: scrubbing never reads further, so a crafted
/// response costs no more than a section of `cap` records.
fn head(section: &[Record], cap: usize) -> &[Record] {
    section.get(..cap).unwrap_or(section)
}

/// A referral's NS set and glue, bounded: the first `max_ns` distinct NS names (as
/// many as a delegation ever uses) and, for those names only, at most `max_addrs` A
/// and as many AAAA records each, matched through a hash map rather than a scan per
/// NS name.
fn referral(
    zone: &Name,
    cut: &Name,
    authorities: &[Record],
    additionals: &[Record],
    limits: &Limits,
) -> (Vec<Record>, Vec<Record>) {
    // NS name → glue kept so far, [A, AAAA].
    let mut kept: HashMap<&Name, [usize; 2]> = HashMap::new();
    let mut ns = Vec::new();
    for r in authorities {
        if kept.len() >= limits.max_ns_per_delegation {
            break;
        }
        if !is_in(r) || r.name != *cut {
            continue;
        }
        let RData::NS(t) = &r.data else { continue };
        if !kept.contains_key(&t.0) {
            kept.insert(&t.0, [0, 0]);
            ns.push(r.clone());
        }
    }
    let mut glue = Vec::new();
    for r in additionals {
        let family = match r.record_type() {
            RecordType::A => 0,
            RecordType::AAAA => 1,
            _ => continue,
        };
        if !is_in(r) || !zone.zone_of(&r.name) {
            continue;
        }
        if let Some(n) = kept.get_mut(&r.name).and_then(|c| c.get_mut(family))
            && *n < limits.max_addrs_per_ns
        {
            *n += 1;
            glue.push(r.clone());
        }
    }
    (ns, glue)
}

/// Classify `msg`, the answer to `qname`/`qtype` from a server authoritative for `zone`.
/// `limits` bound the CNAME/DNAME links followed inside one response
/// (`max_cname_chain`), the records read per section (`max_records_per_section`) and
/// what a referral keeps (`max_ns_per_delegation`, `max_addrs_per_ns`).
#[must_use]
pub fn classify(
    zone: &Name,
    qname: &Name,
    qtype: RecordType,
    msg: &Message,
    limits: &Limits,
) -> Classified {
    let total = msg.answers.len() + msg.authorities.len() + msg.additionals.len();
    let cap = limits.max_records_per_section;
    let answers = head(&msg.answers, cap);
    let authorities = head(&msg.authorities, cap);
    let additionals = head(&msg.additionals, cap);
    let examined = answers.len() + authorities.len() + additionals.len();
    let aa = msg.authoritative;
    let answer_rank = if aa {
        Rank::AuthAnswer
    } else {
        Rank::NonAuthAnswer
    };
    let in_zone = |n: &Name| zone.zone_of(n);
    let rcode = msg.response_code;
    let done = |meaning, used: usize| Classified {
        meaning,
        answer_rank,
        scrubbed: total.saturating_sub(used),
        examined,
    };

    let mut walker = Answers {
        answers,
        zone,
        qtype,
        chain: Vec::new(),
    };
    let walked = chain::walk(
        &mut walker,
        qname.clone(),
        qtype != RecordType::CNAME,
        limits.max_cname_chain,
    );
    let chain = walker.chain;
    let (name, answer, exhausted) = match walked {
        Walk::Data((name, answer)) => (name, answer, false),
        Walk::End(name) => (name, Vec::new(), false),
        Walk::TooLong(name) => (name, Vec::new(), true),
    };
    let used_answer = chain.len() + answer.len();
    if exhausted {
        // Too long (or a loop): hand the chain back; the engine enforces its limit.
        let target = name;
        return done(Meaning::Cname { chain, target }, used_answer);
    }

    let soa_for = |n: &Name| {
        authorities
            .iter()
            .find(|r| {
                is_in(r)
                    && r.record_type() == RecordType::SOA
                    && in_zone(&r.name)
                    && r.name.zone_of(n)
            })
            .cloned()
    };

    if !answer.is_empty() {
        let proof = answer_proof(zone, authorities);
        return done(
            Meaning::Answer {
                chain,
                answer,
                proof,
            },
            used_answer,
        );
    }
    if rcode == ResponseCode::NXDomain {
        let soa = soa_for(&name);
        let proof = denial(zone, soa.as_ref(), authorities);
        let u = used_answer + usize::from(soa.is_some()) + proof.len();
        return if in_zone(&name) {
            done(
                Meaning::NxDomain {
                    chain,
                    name,
                    soa,
                    proof,
                },
                u,
            )
        } else if chain.is_empty() {
            done(Meaning::Lame, 0)
        } else {
            // NXDOMAIN about a name outside the bailiwick proves nothing: continue there.
            done(
                Meaning::Cname {
                    chain,
                    target: name,
                },
                used_answer,
            )
        };
    }
    if rcode != ResponseCode::NoError {
        return done(Meaning::Lame, 0);
    }
    if !chain.is_empty() {
        // The chain ends without data: NODATA only if an SOA proves it. Without one
        // the target may lie below a cut inside this zone (a referral in authority,
        // or nothing): ask for it.
        let soa = soa_for(&name).filter(|_| in_zone(&name));
        return match soa {
            Some(soa) => {
                let proof = denial(zone, Some(&soa), authorities);
                let u = used_answer + 1 + proof.len();
                let soa = Some(soa);
                done(
                    Meaning::NoData {
                        chain,
                        name,
                        soa,
                        proof,
                    },
                    u,
                )
            }
            None => done(
                Meaning::Cname {
                    chain,
                    target: name,
                },
                used_answer,
            ),
        };
    }
    let soa = soa_for(qname);
    let is_ns = |r: &&Record| is_in(r) && r.record_type() == RecordType::NS;
    // A referral is an NS set strictly below the zone asked and above the name, AA or
    // not (some servers set AA on referrals); only an SOA proving NODATA outranks it.
    let cut = authorities
        .iter()
        .filter(is_ns)
        .find(|r| in_zone(&r.name) && r.name != *zone && r.name.zone_of(qname))
        .map(|r| r.name.clone())
        .filter(|_| !aa || soa.is_none());
    if let Some(cut) = cut {
        let (ns, glue) = referral(zone, &cut, authorities, additionals, limits);
        let ds = referral_ds(zone, &cut, authorities);
        let u = ns.len() + glue.len() + ds.len();
        return done(
            Meaning::Referral {
                zone: cut,
                ns,
                glue,
                ds,
            },
            u,
        );
    }
    let name = qname.clone();
    if let Some(soa) = soa {
        let proof = denial(zone, Some(&soa), authorities);
        let u = 1 + proof.len();
        let soa = Some(soa);
        return done(
            Meaning::NoData {
                chain,
                name,
                soa,
                proof,
            },
            u,
        );
    }
    if authorities.iter().any(|r| is_ns(&r)) {
        // NS at or above the zone (or beside the name) with no SOA: an upward or
        // sideways referral, AA or not. Nothing it says is negative proof.
        return done(Meaning::Lame, 0);
    }
    if aa || !answers.is_empty() {
        // An authoritative empty answer, or an answer of strays only (records of other
        // types off the chain, dropped): NODATA as Unbound reads it, but with no SOA
        // it proves nothing to cache.
        return done(
            Meaning::NoData {
                chain,
                name,
                soa: None,
                proof: Vec::new(),
            },
            0,
        );
    }
    done(Meaning::Lame, 0)
}

/// The IP address in an A/AAAA record.
#[must_use]
pub fn record_ip(r: &Record) -> Option<IpAddr> {
    r.data.ip_addr()
}

#[cfg(test)]
mod tests;
