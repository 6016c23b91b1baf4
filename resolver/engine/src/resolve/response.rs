//! A resolution's reaction to an accepted upstream response: retry over TCP or
//! without EDNS, else classify and scrub it ([`classify`]), validate it (the
//! [`validate`] hook), cache what it proves ([`store`]), and say what comes next.

use alloc::vec::Vec;

use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::{Name, Record, RecordType};

use super::delegation::Delegation;
use super::{Ctx, Resolution, Step};
use crate::answer::Answer;
use crate::cache::{Cache, Data, KeyedHasher, Rank, negative_ttl};
use crate::config::EngineConfig;
use crate::ede::Ede;
use crate::io::Transport;
use crate::scrub::{Meaning, classify};
use crate::time::Instant;
use crate::upstream::Pending;
use crate::validate::{self, Security};

impl Resolution {
    /// React to `msg`, the accepted answer to `p` (already taken off the pending
    /// table; every name lower-cased).
    pub(crate) fn on_response(&mut self, ctx: &mut Ctx<'_>, p: &Pending, msg: &Message) -> Step {
        let tcp = p.transport.is_tcp();
        if msg.truncation && !tcp {
            return self.resend(ctx.cfg, p, Transport::Tcp { conn: 0 });
        }
        let rcode = msg.response_code;
        if matches!(rcode, ResponseCode::FormErr | ResponseCode::NotImp) && p.edns {
            // RFC 6891 §7: retry without EDNS, and remember the server cannot do it.
            ctx.upstream.servers.set_no_edns(&p.server);
            return self.resend(ctx.cfg, p, p.transport);
        }
        let forward = self.deleg.as_ref().is_some_and(|d| d.forward);
        let mut c = classify(&p.zone, &p.qname, p.qtype, msg, &ctx.cfg.limits);
        ctx.stats.scrubbed_records += c.scrubbed as u64;
        super::zero_huge_ttls(&mut c.meaning);
        let Security::Insecure = validate::check(&c);
        let minimised = p.qname != self.cur || p.qtype != self.qtype;
        let min_ttl = u32::try_from(ctx.cfg.min_ttl.as_secs()).unwrap_or(u32::MAX);
        let cacheable =
            forward || cap_child_ns(ctx.cache, ctx.now, &mut c.meaning, p.qtype, min_ttl);
        // RFC 9156 relaxed: an NXDOMAIN for a minimised name may be a server's wrong
        // answer for an empty non-terminal; it is not kept, the full name is asked.
        if !(minimised && matches!(c.meaning, Meaning::NxDomain { .. })) {
            store(
                ctx.cache,
                ctx.now,
                &c.meaning,
                p.qtype,
                c.answer_rank,
                cacheable,
            );
        }
        match c.meaning {
            Meaning::Lame => {
                self.mark_lame(p);
                if minimised && self.qmin.is_some() && rcode != ResponseCode::NoError {
                    self.qmin = None; // relaxed: broken servers get the full name
                }
                Step::Again
            }
            Meaning::Referral { zone, ns, glue } => {
                if forward || !self.may_follow_referral(&zone) {
                    self.mark_lame(p);
                } else {
                    if self.referrals >= ctx.cfg.limits.max_referrals {
                        return Step::Fail(Ede::DELEGATION_LOOP);
                    }
                    self.referrals += 1;
                    let d = Delegation::from_referral(ctx, zone, &ns, &glue);
                    self.deleg = Some(d);
                    self.deleg_cached = false;
                    self.minimise_after_referral();
                }
                Step::Again
            }
            _ if minimised => {
                if matches!(c.meaning, Meaning::NxDomain { .. }) {
                    // Relaxed minimisation: do not trust NXDOMAIN for an ancestor, ask the
                    // full name instead (some servers answer empty non-terminals wrongly).
                    self.qmin = None;
                } else {
                    self.minimise_past(&p.qname);
                }
                // The same delegation answered: ask it again right away.
                if let Some(d) = self.deleg.as_mut() {
                    d.forget(p.server);
                }
                Step::Again
            }
            Meaning::Answer { chain, answer } => {
                self.chain.extend(chain);
                let mut answers = core::mem::take(&mut self.chain);
                answers.extend(answer);
                Step::Done(Answer::records(answers))
            }
            Meaning::Cname { chain, target } => {
                // Links counted once per hop; exceeding the limit (or a loop) fails.
                let n = chain.len().max(1);
                if usize::from(self.links) + n > usize::from(ctx.cfg.limits.max_cname_chain) {
                    return Step::Fail(Ede::CHAIN_TOO_LONG);
                }
                self.links = self
                    .links
                    .saturating_add(u8::try_from(n).unwrap_or(u8::MAX));
                self.chain.extend(chain);
                if ctx.policy.cloaks(&self.name, &target) {
                    // CNAME cloaking: the blocked target is never asked for.
                    return Step::Done(Answer::records(core::mem::take(&mut self.chain)));
                }
                self.cur = target;
                self.deleg = None;
                self.skip_cache = false;
                self.restart_minimisation();
                Step::Again
            }
            Meaning::NxDomain { chain, soa, .. } => {
                self.chain.extend(chain);
                let soa = negative_soa(ctx.cfg, soa);
                let chain = core::mem::take(&mut self.chain);
                Step::Done(Answer::negative(ResponseCode::NXDomain, chain, soa))
            }
            Meaning::NoData { chain, soa, .. } => {
                self.chain.extend(chain);
                let soa = negative_soa(ctx.cfg, soa);
                let chain = core::mem::take(&mut self.chain);
                Step::Done(Answer::negative(ResponseCode::NoError, chain, soa))
            }
        }
    }

    /// Ask the same server again over `transport`, if the budget allows; else go on
    /// to the next server.
    fn resend(&self, cfg: &EngineConfig, p: &Pending, transport: Transport) -> Step {
        if self.sent < cfg.limits.max_upstream_per_query {
            Step::Send {
                server: p.server,
                transport,
            }
        } else {
            Step::Again
        }
    }

    /// The server of `p` is of no use for this delegation.
    fn mark_lame(&mut self, p: &Pending) {
        if let Some(d) = self.deleg.as_mut() {
            d.mark_lame(p.server);
        }
    }
}

/// RFC 2308 §3: the SOA in a negative answer carries the negative TTL.
fn negative_soa(cfg: &EngineConfig, soa: Option<Record>) -> Option<Record> {
    let max = u32::try_from(cfg.max_negative_ttl.as_secs()).unwrap_or(u32::MAX);
    soa.map(|mut r| {
        r.ttl = negative_ttl(Some(&r)).min(max);
        r
    })
}

/// Cache what a classified response proves: the CNAME links, the answer RRset or the
/// negative entry (only with its SOA: without one nothing is proven), a referral's NS
/// set and glue. `rank` is what its answer section deserves; referral data is ranked
/// as such. `cacheable`: false leaves the answer RRset out (see [`cap_child_ns`]).
fn store(
    cache: &mut Cache<KeyedHasher>,
    now: Instant,
    m: &Meaning,
    qtype: RecordType,
    rank: Rank,
    cacheable: bool,
) {
    let cache_chain = |cache: &mut Cache<KeyedHasher>, chain: &[Record]| {
        for r in chain {
            if r.record_type() == RecordType::CNAME {
                cache.insert_rrset(
                    now,
                    &r.name,
                    RecordType::CNAME,
                    alloc::vec![r.clone()],
                    rank,
                );
            }
        }
    };
    match m {
        Meaning::Answer { chain, answer } => {
            cache_chain(cache, chain);
            if let Some(first) = answer.first().filter(|_| cacheable) {
                let owner = first.name.clone();
                cache.insert_rrset(now, &owner, qtype, answer.clone(), rank);
            }
        }
        Meaning::Cname { chain, .. } => cache_chain(cache, chain),
        Meaning::NxDomain { chain, name, soa } => {
            cache_chain(cache, chain);
            if soa.is_some() {
                cache.insert_negative(now, name, None, soa.clone(), rank);
            }
        }
        Meaning::NoData { chain, name, soa } => {
            cache_chain(cache, chain);
            if soa.is_some() {
                cache.insert_negative(now, name, Some(qtype), soa.clone(), rank);
            }
        }
        Meaning::Referral { zone, ns, glue } => {
            cache.insert_rrset(now, zone, RecordType::NS, ns.clone(), Rank::Referral);
            let mut groups: Vec<(Name, RecordType, Vec<Record>)> = Vec::new();
            for g in glue {
                match groups
                    .iter_mut()
                    .find(|(n, t, _)| *n == g.name && *t == g.record_type())
                {
                    Some(e) => e.2.push(g.clone()),
                    None => groups.push((g.name.clone(), g.record_type(), alloc::vec![g.clone()])),
                }
            }
            for (n, t, recs) in groups {
                cache.insert_rrset(now, &n, t, recs, Rank::Glue);
            }
        }
        Meaning::Lame => {}
    }
}

/// A zone's own NS answer (recursive mode) is capped at what remains of the delegation
/// cached for its owner (the parent's referral, or a child answer already capped by
/// it), for the client and the cache alike. Child-side NS data replaces the delegation
/// under the same key, so uncapped it would outlive the parent's NS TTL, and every
/// refresh through the child would renew it: a domain its registry removed would keep
/// resolving (ghost domains, CVE-2012-1033). False: no fresh delegation is cached
/// (evicted, or never seen), so the answer must not be cached and the next use goes
/// through the parent; likewise when less remains than the cache's `min_ttl` clamp,
/// which would lift the capped TTL again on every refresh. The root has no parent:
/// only the TTL clamps bound its NS set.
fn cap_child_ns(
    cache: &mut Cache<KeyedHasher>,
    now: Instant,
    m: &mut Meaning,
    qtype: RecordType,
    min_ttl: u32,
) -> bool {
    let Meaning::Answer { answer, .. } = m else {
        return true;
    };
    let Some(owner) = answer.first().map(|r| r.name.clone()) else {
        return true;
    };
    if qtype != RecordType::NS || owner.is_root() {
        return true;
    }
    let parent = cache
        .lookup(now, &owner, RecordType::NS, Rank::Glue, false)
        .filter(|h| matches!(h.data, Data::Records(_)));
    let Some(parent) = parent else {
        return false;
    };
    for r in answer.iter_mut() {
        r.ttl = r.ttl.min(parent.remaining);
    }
    parent.remaining >= min_ttl
}
