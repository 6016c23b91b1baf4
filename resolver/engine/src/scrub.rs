//! Classifying an upstream response and scrubbing it to the server's bailiwick.
//!
//! A pure function: given the zone the server was asked as (its bailiwick), the question
//! we sent and the parsed response, decide what the response means (answer, CNAME to
//! follow, NXDOMAIN, NODATA, referral, or lame) and which of its records may be cached.
//! Every record outside the bailiwick, off the question's CNAME chain, or not needed to
//! follow a referral is dropped: this is the defence against cache poisoning by
//! out-of-zone data (Kaminsky-style additional-section injection included).

use alloc::vec::Vec;
use core::net::IpAddr;

use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};

use crate::cache::Rank;
use crate::chain::{self, Chain, Walk};

/// What a response means for the question asked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Meaning {
    /// The RRset for the end of the (possibly empty) CNAME chain.
    Answer {
        /// CNAME (and synthesized) records from the question name to the answer's owner.
        chain: Vec<Record>,
        /// The answer RRset.
        answer: Vec<Record>,
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
        /// The zone's SOA, for the negative TTL.
        soa: Option<Record>,
    },
    /// The (final) name exists but has no data of the type.
    NoData {
        /// The links followed before it.
        chain: Vec<Record>,
        /// The name without data.
        name: Name,
        /// The zone's SOA, for the negative TTL.
        soa: Option<Record>,
    },
    /// Go ask the servers of `zone`, a zone below the one asked.
    Referral {
        /// The delegated zone.
        zone: Name,
        /// Its NS records.
        ns: Vec<Record>,
        /// In-bailiwick glue: A/AAAA records for NS names.
        glue: Vec<Record>,
    },
    /// Nothing usable: an upward or sideways referral, an empty non-authoritative answer.
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
/// bailiwick, CNAMEs and DNAMEs (RFC 6672, synthesizing the CNAME) as aliases.
struct Answers<'m> {
    /// The response.
    msg: &'m Message,
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
        let answer: Vec<Record> = self
            .msg
            .answers
            .iter()
            .filter(|r| is_in(r) && r.name == *at && r.record_type() == self.qtype)
            .cloned()
            .collect();
        (!answer.is_empty()).then(|| (at.clone(), answer))
    }

    fn alias(&mut self, at: &mut Name, cnames: bool) -> Option<(Vec<Record>, Name)> {
        if !self.zone.zone_of(at) {
            return None;
        }
        if cnames
            && let Some(c) = self
                .msg
                .answers
                .iter()
                .find(|r| is_in(r) && r.name == *at && r.record_type() == RecordType::CNAME)
            && let Some(t) = cname_target(c)
        {
            return Some((alloc::vec![c.clone()], t.clone()));
        }
        // DNAME (RFC 6672): an ancestor of the name is redirected.
        let (d, target) = self.msg.answers.iter().find_map(|r| {
            if is_in(r) && r.name != *at && r.name.zone_of(at) && self.zone.zone_of(&r.name) {
                dname_target(r).map(|t| (r, t))
            } else {
                None
            }
        })?;
        let new = dname_substitute(at, &d.name, &target)?;
        let cname = Record::from_rdata(
            at.clone(),
            d.ttl,
            RData::CNAME(hickory_proto::rr::rdata::CNAME(new.clone())),
        );
        Some((alloc::vec![d.clone(), cname], new))
    }

    fn follow(&mut self, (records, next): (Vec<Record>, Name)) -> Name {
        self.chain.extend(records);
        next
    }
}

/// Classify `msg`, the answer to `qname`/`qtype` from a server authoritative for `zone`.
/// `max_chain` bounds the CNAME/DNAME links followed inside one response.
#[must_use]
pub fn classify(
    zone: &Name,
    qname: &Name,
    qtype: RecordType,
    msg: &Message,
    max_chain: u8,
) -> Classified {
    let total = msg.answers.len() + msg.authorities.len() + msg.additionals.len();
    let aa = msg.authoritative;
    let answer_rank = if aa {
        Rank::AuthAnswer
    } else {
        Rank::NonAuthAnswer
    };
    let in_zone = |n: &Name| zone.zone_of(n);
    let rcode = msg.response_code;

    let mut walker = Answers {
        msg,
        zone,
        qtype,
        chain: Vec::new(),
    };
    let walked = chain::walk(
        &mut walker,
        qname.clone(),
        qtype != RecordType::CNAME,
        max_chain,
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
        let used = used_answer;
        return Classified {
            meaning: Meaning::Cname {
                chain,
                target: name,
            },
            answer_rank,
            scrubbed: total.saturating_sub(used),
        };
    }

    let soa_for = |n: &Name| {
        msg.authorities
            .iter()
            .find(|r| {
                is_in(r)
                    && r.record_type() == RecordType::SOA
                    && in_zone(&r.name)
                    && r.name.zone_of(n)
            })
            .cloned()
    };

    let (meaning, used) = if !answer.is_empty() {
        (Meaning::Answer { chain, answer }, used_answer)
    } else if rcode == ResponseCode::NXDomain {
        let soa = soa_for(&name);
        let u = used_answer + usize::from(soa.is_some());
        if in_zone(&name) {
            (Meaning::NxDomain { chain, name, soa }, u)
        } else if chain.is_empty() {
            (Meaning::Lame, 0)
        } else {
            // NXDOMAIN about a name outside the bailiwick proves nothing: continue there.
            (
                Meaning::Cname {
                    chain,
                    target: name,
                },
                used_answer,
            )
        }
    } else if rcode != ResponseCode::NoError {
        (Meaning::Lame, 0)
    } else if !chain.is_empty() {
        let soa = soa_for(&name);
        if in_zone(&name) && (soa.is_some() || aa) {
            let u = used_answer + usize::from(soa.is_some());
            (Meaning::NoData { chain, name, soa }, u)
        } else {
            (
                Meaning::Cname {
                    chain,
                    target: name,
                },
                used_answer,
            )
        }
    } else if let Some(cut) = msg
        .authorities
        .iter()
        .find(|r| {
            is_in(r)
                && r.record_type() == RecordType::NS
                && !aa
                && in_zone(&r.name)
                && r.name != *zone
                && r.name.zone_of(qname)
        })
        .map(|r| r.name.clone())
    {
        let ns: Vec<Record> = msg
            .authorities
            .iter()
            .filter(|r| is_in(r) && r.record_type() == RecordType::NS && r.name == cut)
            .cloned()
            .collect();
        let targets: Vec<&Name> = ns
            .iter()
            .filter_map(|r| match &r.data {
                RData::NS(n) => Some(&n.0),
                _ => None,
            })
            .collect();
        let glue: Vec<Record> = msg
            .additionals
            .iter()
            .filter(|r| {
                is_in(r)
                    && matches!(r.record_type(), RecordType::A | RecordType::AAAA)
                    && in_zone(&r.name)
                    && targets.iter().any(|t| **t == r.name)
            })
            .cloned()
            .collect();
        let u = ns.len() + glue.len();
        (
            Meaning::Referral {
                zone: cut,
                ns,
                glue,
            },
            u,
        )
    } else if let Some(soa) = soa_for(qname) {
        (
            Meaning::NoData {
                chain,
                name: qname.clone(),
                soa: Some(soa),
            },
            1,
        )
    } else if aa {
        (
            Meaning::NoData {
                chain,
                name: qname.clone(),
                soa: None,
            },
            0,
        )
    } else {
        (Meaning::Lame, 0)
    };
    Classified {
        meaning,
        answer_rank,
        scrubbed: total.saturating_sub(used),
    }
}

/// The IP address in an A/AAAA record.
#[must_use]
pub fn record_ip(r: &Record) -> Option<IpAddr> {
    r.data.ip_addr()
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::op::{MessageType, OpCode, Query};
    use hickory_proto::rr::rdata::{A, CNAME, NS, SOA};

    fn name(s: &str) -> Name {
        Name::from_ascii(s).unwrap()
    }
    fn resp(q: &str) -> Message {
        let mut m = Message::new(1, MessageType::Response, OpCode::Query);
        m.add_query(Query::query(name(q), RecordType::A));
        m
    }
    fn a(o: &str) -> Record {
        Record::from_rdata(name(o), 60, RData::A(A::new(192, 0, 2, 1)))
    }
    fn ns(o: &str, t: &str) -> Record {
        Record::from_rdata(name(o), 60, RData::NS(NS(name(t))))
    }

    #[test]
    fn referral_must_be_below_the_zone_and_above_the_name() {
        let q = name("www.example.com.");
        let mut m = resp("www.example.com.");
        m.authorities.push(ns("example.com.", "ns1.example.com."));
        m.additionals.push(a("ns1.example.com."));
        m.additionals.push(a("www.example.com.")); // not an NS name: not glue
        let c = classify(&name("com."), &q, RecordType::A, &m, 8);
        let Meaning::Referral {
            zone,
            ns: nsset,
            glue,
        } = c.meaning
        else {
            panic!("{:?}", c.meaning)
        };
        assert_eq!(zone, name("example.com."));
        assert_eq!((nsset.len(), glue.len(), c.scrubbed), (1, 1, 1));
        // The same referral from example.com's own servers is upward: lame.
        let c = classify(&name("example.com."), &q, RecordType::A, &m, 8);
        assert_eq!(c.meaning, Meaning::Lame);
        // A referral to a zone not containing the name: lame.
        let mut m = resp("www.example.com.");
        m.authorities.push(ns("example.org.", "ns.example.org."));
        assert_eq!(
            classify(&Name::root(), &q, RecordType::A, &m, 8).meaning,
            Meaning::Lame
        );
    }

    #[test]
    fn answers_outside_the_chain_or_zone_are_scrubbed() {
        let q = name("www.example.com.");
        let mut m = resp("www.example.com.");
        m.metadata.authoritative = true;
        m.answers.push(Record::from_rdata(
            q.clone(),
            60,
            RData::CNAME(CNAME(name("web.example.com."))),
        ));
        m.answers.push(a("web.example.com."));
        m.answers.push(a("victim.example.net."));
        let c = classify(&name("example.com."), &q, RecordType::A, &m, 8);
        let Meaning::Answer { chain, answer } = c.meaning else {
            panic!()
        };
        assert_eq!((chain.len(), answer.len(), c.scrubbed), (1, 1, 1));
        assert_eq!(c.answer_rank, Rank::AuthAnswer);
        // A CNAME leaving the zone: the out-of-zone target data is not trusted.
        let mut m = resp("www.example.com.");
        m.answers.push(Record::from_rdata(
            q.clone(),
            60,
            RData::CNAME(CNAME(name("www.example.net."))),
        ));
        m.answers.push(a("www.example.net."));
        let c = classify(&name("example.com."), &q, RecordType::A, &m, 8);
        assert!(
            matches!(c.meaning, Meaning::Cname { ref target, .. } if *target == name("www.example.net."))
        );
        assert_eq!(c.scrubbed, 1);
    }

    #[test]
    fn nxdomain_and_nodata_need_an_in_zone_soa() {
        let q = name("nope.example.com.");
        let soa = Record::from_rdata(
            name("example.com."),
            60,
            RData::SOA(SOA::new(name("ns."), name("h."), 1, 1, 1, 1, 30)),
        );
        let mut m = resp("nope.example.com.");
        m.metadata.response_code = ResponseCode::NXDomain;
        m.authorities.push(soa.clone());
        let c = classify(&name("example.com."), &q, RecordType::A, &m, 8);
        assert!(matches!(c.meaning, Meaning::NxDomain { soa: Some(_), .. }));
        // From net.'s servers the example.com. SOA is out of bailiwick: dropped, and an
        // NXDOMAIN about a name outside net. proves nothing.
        let c = classify(&name("net."), &q, RecordType::A, &m, 8);
        assert_eq!(c.meaning, Meaning::Lame);
        let mut m = resp("nope.example.com.");
        m.authorities.push(soa);
        let c = classify(&name("example.com."), &q, RecordType::A, &m, 8);
        assert!(matches!(c.meaning, Meaning::NoData { soa: Some(_), .. }));
    }

    #[test]
    fn dname_substitution() {
        let n = dname_substitute(
            &name("a.b.old.example."),
            &name("old.example."),
            &name("new.test."),
        );
        assert_eq!(n, Some(name("a.b.new.test.")));
        assert_eq!(
            dname_substitute(&name("old.example."), &name("old.example."), &name("x.")),
            None
        );
    }
}
