//! The cache-hit fast path: a standard query ([`Question`], parsed from its bytes)
//! answered from pre-encoded cache entries straight into a [`Reply`], no `Message` in
//! between and one allocation (the reply).
//!
//! It covers what admission and [`super::cached`] do for a fresh hit from an allowed
//! client: positive answers, CNAME chains, NODATA and NXDOMAIN with their SOA, any RD,
//! with or without EDNS, UDP and TCP. It declines malformed or unusual queries, ANY and
//! the other special types, expired entries, a hit due for a prefetch, and an answer
//! larger than the client's limit (the full path sets TC). Declining changes nothing
//! but the referenced bits of the cache entries looked at, which the full path then
//! looks at again.

use alloc::vec::Vec;

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;

use super::{Shape, owner_of};
use crate::cache::{Cache, KeyBuf, KeyedHasher, Probe, Rank, Wire, WireKind};
use crate::chain::{self, Chain, Verdict, Walk};
use crate::policy::{self, Policy};
use crate::time::Instant;
use crate::wire::question::Question;
use crate::wire::reply::{Owner, Reply};
use common::Transport;

/// The cache as a [`Chain`] of pre-encoded entries, writing the reply as it goes.
struct WireChain<'a, 'q> {
    /// The cache.
    cache: &'a mut Cache<KeyedHasher>,
    /// The time of the lookups.
    now: Instant,
    /// The query.
    q: &'a Question<'q>,
    /// The question type.
    qtype: RecordType,
    /// The answer rules.
    shape: &'a Shape,
    /// The client's size limit.
    limit: usize,
    /// The reply, once a first record is written.
    reply: Option<Reply>,
    /// The policy (CNAME targets are checked against the block lists).
    policy: &'a Policy,
    /// Whether rebinding protection applies: a private address declines.
    rebind: bool,
}

impl Chain for WireChain<'_, '_> {
    type Name = KeyBuf;
    /// The finished reply, or `None`: decline the query.
    type Data = Option<Vec<u8>>;
    /// The next name (the link's record is written at once).
    type Link = KeyBuf;

    fn data(&mut self, key: &mut KeyBuf, links: u8) -> Option<Option<Vec<u8>>> {
        let h = match self
            .cache
            .lookup_wire(self.now, key, self.qtype, Rank::NonAuthAnswer)
        {
            Probe::Decline => return Some(None),
            Probe::Miss => return None,
            Probe::Hit(h) => h,
        };
        if links == 0 && self.shape.prefetch_due(h.remaining, h.original_ttl) {
            return Some(None); // the full path starts the prefetch
        }
        if h.secure && (self.q.dnssec_ok || self.q.ad()) {
            return Some(None); // the full path sets AD (and checks the chain's links)
        }
        if self.rebind
            && h.kind == WireKind::Records
            && h.wire
                .rrs()
                .any(|rr| policy::private_rdata(rr.rtype(), rr.rdata()))
        {
            return Some(None); // the full path filters the addresses
        }
        let qname = self.q.name();
        let (shape, edns, limit) = (self.shape, self.q.edns, self.limit);
        let r = match self.reply {
            Some(ref mut r) => {
                r.reserve(h.wire.records_len());
                r
            }
            None => self.reply.insert(Reply::new(self.q, h.wire.records_len())),
        };
        let dnssec_ok = self.q.dnssec_ok;
        let pushed = match h.kind {
            WireKind::Records => {
                let ttl = shape.ttl(h.remaining);
                let owner = owner_of(h.wire.owner(), qname);
                push_lead(r, h.wire, qname, ttl, dnssec_ok)
                    .and_then(|()| r.push(h.wire, usize::MAX, owner, ttl, false))
                    .and_then(|()| push_sigs(r, h.wire, qname, ttl, dnssec_ok, false))
                    .map(|()| ResponseCode::NoError)
            }
            WireKind::NoData | WireKind::NxDomain => {
                let rcode = if h.kind == WireKind::NoData {
                    ResponseCode::NoError
                } else {
                    ResponseCode::NXDomain
                };
                r.push(h.wire, usize::MAX, Owner::Stored, h.remaining, true)
                    .and_then(|()| push_sigs(r, h.wire, qname, h.remaining, dnssec_ok, true))
                    .map(|()| rcode)
            }
        };
        let Some(rcode) = pushed else {
            return Some(None);
        };
        let out = self
            .reply
            .take()
            .map(|r| r.finish(rcode, edns.map(|_| shape.advertised_udp()), dnssec_ok));
        Some(out.filter(|o| o.len() <= limit))
    }

    fn alias(&mut self, key: &mut KeyBuf, cnames: bool) -> Option<KeyBuf> {
        if !cnames {
            return None;
        }
        let Probe::Hit(h) =
            self.cache
                .lookup_wire(self.now, key, RecordType::CNAME, Rank::NonAuthAnswer)
        else {
            return None;
        };
        // As in `CachedChain`: the first record, which must be a CNAME.
        let rr = h.wire.rrs().next()?;
        if h.kind != WireKind::Records || rr.rtype() != u16::from(RecordType::CNAME) {
            return None;
        }
        let next = KeyBuf::from_wire(rr.rdata())?;
        let owner = owner_of(h.wire.owner(), self.q.name());
        let ttl = self.shape.ttl(h.remaining);
        let (q, extra) = (self.q, h.wire.records_len() + 128);
        let r = match self.reply {
            Some(ref mut r) => {
                r.reserve(extra);
                r
            }
            None => self.reply.insert(Reply::new(q, extra)),
        };
        let (dnssec_ok, qname) = (q.dnssec_ok, q.name());
        push_lead(r, h.wire, qname, ttl, dnssec_ok)?;
        r.push(h.wire, 1, owner, ttl, false)?;
        push_sigs(r, h.wire, qname, ttl, dnssec_ok, false)?;
        Some(next)
    }

    fn follow(&mut self, next: KeyBuf) -> KeyBuf {
        next
    }

    /// A CNAME into a blocked name ends the walk, and the fast path declines: the full
    /// path answers it blocked (CNAME cloaking).
    fn screen(&mut self, next: &KeyBuf) -> Verdict {
        if self.policy.blocks(next.name()) {
            Verdict::Stop
        } else {
            Verdict::Continue
        }
    }
}

/// Write the records an entry has ahead of its own (the DNAME of a synthesized CNAME),
/// their RRSIGs only if the client set DO.
fn push_lead(r: &mut Reply, wire: Wire<'_>, qname: &[u8], ttl: u32, dnssec_ok: bool) -> Option<()> {
    if !wire.has_attachments() {
        return Some(());
    }
    for rr in wire.attachments().lead.iter() {
        if dnssec_ok || !rr.rr.is_dnssec() {
            r.push_full(rr, owner_of(rr.owner, qname), ttl, false)?;
        }
    }
    Some(())
}

/// For a client that set DO, write an entry's RRSIGs and (for a negative entry) its
/// denial, as answers or in the authority section.
fn push_sigs(
    r: &mut Reply,
    wire: Wire<'_>,
    qname: &[u8],
    ttl: u32,
    dnssec_ok: bool,
    authority: bool,
) -> Option<()> {
    if !dnssec_ok || !wire.has_attachments() {
        return Some(());
    }
    let a = wire.attachments();
    for rr in a.sigs.iter() {
        let owner = if authority {
            Owner::Stored
        } else {
            owner_of(rr.owner, qname)
        };
        r.push_full(rr, owner, ttl, authority)?;
    }
    // The denial (of a negative entry, or a wildcard expansion's proof): authority.
    for rr in a.proof.iter() {
        r.push_full(rr, Owner::Stored, ttl, true)?;
    }
    Some(())
}

/// The reply bytes for `q` from fresh cached data, or `None`: leave it to the full
/// path.
pub(crate) fn reply(
    cache: &mut Cache<KeyedHasher>,
    shape: &Shape,
    policy: &Policy,
    now: Instant,
    transport: Transport,
    q: &Question<'_>,
) -> Option<Vec<u8>> {
    // Names policy answers itself (blocked, local) go the full path.
    let rebind = policy.fast_check(q.name())?;
    let qtype = RecordType::from(q.qtype);
    let key = KeyBuf::from_wire(q.name())?;
    let mut c = WireChain {
        cache,
        now,
        q,
        qtype,
        shape,
        limit: shape.size_limit(transport, q.edns),
        reply: None,
        policy,
        rebind,
    };
    match chain::walk(&mut c, key, qtype != RecordType::CNAME, shape.max_links) {
        Walk::Data(out) => out,
        Walk::End(_) | Walk::TooLong(_) => None,
    }
}
