//! A resolution's reaction to an accepted upstream response: retry over TCP or
//! without EDNS, else classify and scrub it ([`classify`]), validate it (the
//! [`validate`] hook), cache what it proves ([`store`]), and say what comes next.

use alloc::vec::Vec;

use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::{Name, Record, RecordType};

use super::delegation::Delegation;
use super::{Ctx, Dependency, Held, Resolution, Sec, Step};
use crate::answer::Answer;
use crate::cache::{Attached, Cache, Data, KeyedHasher, Rank, Security, negative_ttl};
use crate::config::EngineConfig;
use crate::ede::Ede;
use crate::io::Transport;
use crate::scrub::{Meaning, classify, rrsig_covers};
use crate::time::Instant;
use crate::upstream::Pending;
use crate::validate::{self, Check, Outcome};

/// Seconds an anchor's DNSKEY set that a forwarder sent without RRSIGs is cached (as
/// insecure): after that it is asked again, so validation resumes once the forwarder
/// passes signatures.
const FORWARDER_UNSIGNED_TTL: u32 = 300;

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
        let minimised = p.qname != self.cur || p.qtype != self.qtype;
        let min_ttl = u32::try_from(ctx.cfg.min_ttl.as_secs()).unwrap_or(u32::MAX);
        let cacheable = forward
            || cap_child_ns(
                ctx.cache,
                ctx.now,
                &mut c.meaning,
                (p.qtype, self.referral_ttl.as_ref()),
                min_ttl,
            );
        let under = ctx.val.anchor_for(&p.qname).is_some();
        let last = matches!(
            c.meaning,
            Meaning::Answer { .. }
                | Meaning::Cname { .. }
                | Meaning::NxDomain { .. }
                | Meaning::NoData { .. }
        );
        if under && last && !minimised {
            // Validate before caching or answering (the validate stage).
            self.held = Some(Held {
                meaning: c.meaning,
                rank: c.answer_rank,
                cacheable,
                zone: p.zone.clone(),
                forwarded: forward,
            });
            return self.resume(ctx);
        }
        // RFC 9156 relaxed: an NXDOMAIN for a minimised name may be a server's wrong
        // answer for an empty non-terminal; it is not kept, the full name is asked.
        // Unvalidated data under a trust anchor (a minimised step's answer) is not
        // kept either: only referral data, which picks servers and nothing else.
        let keep = !(minimised && matches!(c.meaning, Meaning::NxDomain { .. }))
            && (!under || matches!(c.meaning, Meaning::Referral { .. }));
        if keep {
            let how = (p.qtype, c.answer_rank, Security::Unchecked, None);
            store(ctx.cache, ctx.now, &c.meaning, how, cacheable);
        }
        if last && !minimised {
            // Outside every anchor: never AD.
            self.sec = self.sec.min_with(Sec::Unchecked);
        }
        match c.meaning {
            Meaning::Lame => {
                self.mark_lame(p);
                if minimised && self.qmin.is_some() && rcode != ResponseCode::NoError {
                    self.qmin = None; // relaxed: broken servers get the full name
                }
                Step::Again
            }
            Meaning::Referral { zone, ns, glue, .. } => {
                if forward || !self.may_follow_referral(&zone) {
                    self.mark_lame(p);
                } else {
                    if self.referrals >= ctx.cfg.limits.max_referrals {
                        return Step::Fail(Ede::DELEGATION_LOOP);
                    }
                    self.referrals += 1;
                    let ttl = ns.iter().map(|r| r.ttl).min().unwrap_or(0);
                    self.referral_ttl = Some((zone.clone(), ttl));
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
                    if let Some(ttl) = existence_ttl(ctx.cfg, &c.meaning) {
                        ctx.known.learn(ctx.now, &p.qname, ttl);
                    }
                }
                // The same delegation answered: ask it again right away.
                if let Some(d) = self.deleg.as_mut() {
                    d.forget(p.server);
                }
                Step::Again
            }
            m => self.conclude(ctx, m),
        }
    }

    /// Validate the held response (or ask for the keys that takes), then cache it
    /// with its state and conclude.
    pub(super) fn resume(&mut self, ctx: &mut Ctx<'_>) -> Step {
        let Some(mut held) = self.held.take() else {
            return Step::Again;
        };
        let mut budget = validate::budget(&ctx.cfg.limits, ctx.verifs_left);
        let mut check = Check {
            cache: &mut *ctx.cache,
            now: ctx.now,
            val: ctx.val,
            budget: &mut budget,
            zone: &held.zone,
            forwarded: held.forwarded,
            asked: &self.asked,
            failures: &mut *ctx.failures,
            forwarder_unsigned: false,
            wild: Vec::new(),
        };
        let out = validate::check(&mut check, self.qtype, &held.meaning);
        if check.forwarder_unsigned {
            ctx.stats.dnssec_forwarder_unsigned += 1;
            // Kept briefly: one forged or passing answer must not switch validation
            // off for the key set's whole TTL (two days for the root's).
            match &mut held.meaning {
                Meaning::Answer { answer, .. } => {
                    for r in answer.iter_mut() {
                        r.ttl = r.ttl.min(FORWARDER_UNSIGNED_TTL);
                    }
                }
                // Denied without an SOA: nothing would be cached, and the resolution
                // waiting for the keys would find none. The absence is kept as
                // insecure (for the key type only: the name itself may well exist).
                Meaning::NxDomain { name, .. } | Meaning::NoData { name, .. } => {
                    let attached = Attached {
                        security: Security::Insecure,
                        ..Attached::default()
                    };
                    ctx.cache.insert_unproven_nodata(
                        ctx.now,
                        name,
                        RecordType::DNSKEY,
                        FORWARDER_UNSIGNED_TTL,
                        attached,
                        held.rank,
                    );
                }
                _ => {}
            }
        }
        let done = budget.verifications_done();
        ctx.verifs_done = ctx.verifs_done.saturating_add(done);
        ctx.verifs_left = ctx.verifs_left.saturating_sub(done);
        ctx.stats.dnssec_verifications += u64::from(done);
        let (sec, ede) = match out {
            Outcome::Need(name, rtype) => {
                let max = usize::from(ctx.cfg.limits.dnssec_key_fetches_per_resolution);
                let primed = rtype == RecordType::DNSKEY && self.primed.contains(&name);
                if !primed && self.key_fetches() >= max {
                    ctx.stats.dnssec_bogus += 1;
                    return Step::Fail(Ede::KEY_FETCH_BUDGET);
                }
                self.asked.push((name.clone(), rtype));
                self.held = Some(held);
                return Step::Need(Dependency::Key { name, rtype });
            }
            Outcome::Bogus(ede) => {
                ctx.stats.dnssec_bogus += 1;
                log::debug!("dnssec: bogus {} {:?}: {:?}", self.cur, self.qtype, ede);
                return match self.conclude(ctx, held.meaning) {
                    Step::Done(mut raw) => {
                        // The data of a bogus answer, unchecked for CD=1 clients: never
                        // AD (RFC 4035 §3.2.3), whatever the hops before it proved.
                        raw.secure = false;
                        let mut a = Answer::servfail(ede);
                        a.cd_answer = Some(alloc::boxed::Box::new(raw));
                        Step::Done(a)
                    }
                    _ => Step::Fail(ede),
                };
            }
            Outcome::Secure => {
                ctx.stats.dnssec_secure += 1;
                (Security::Secure, None)
            }
            Outcome::Insecure(ede) => {
                ctx.stats.dnssec_insecure += 1;
                (Security::Insecure, ede)
            }
        };
        self.sec = self.sec.min_with(if sec == Security::Secure {
            Sec::Secure
        } else {
            Sec::Insecure
        });
        if ede.is_some() {
            self.insecure_ede = ede;
        }
        store(
            ctx.cache,
            ctx.now,
            &held.meaning,
            (self.qtype, held.rank, sec, ede),
            held.cacheable,
        );
        if sec == Security::Secure
            && let Meaning::NxDomain {
                soa: Some(soa),
                proof,
                ..
            }
            | Meaning::NoData {
                soa: Some(soa),
                proof,
                ..
            } = &held.meaning
        {
            ctx.denials.learn(ctx.now, soa, proof);
        }
        self.conclude(ctx, held.meaning)
    }

    /// React to a final response (validated, or outside every anchor): answer, or
    /// follow the CNAME.
    fn conclude(&mut self, ctx: &mut Ctx<'_>, m: Meaning) -> Step {
        let secure = self.sec == Sec::Secure;
        let ede = self.insecure_ede;
        let done = |mut a: Answer| {
            a.secure = secure;
            if a.ede.is_none() {
                a.ede = ede;
            }
            Step::Done(a)
        };
        match m {
            Meaning::Lame | Meaning::Referral { .. } => Step::Again,
            Meaning::Answer {
                chain,
                answer,
                proof,
            } => {
                self.chain.extend(chain);
                let mut answers = core::mem::take(&mut self.chain);
                answers.extend(answer);
                // A wildcard expansion's NSEC/NSEC3 proof stays in the authority
                // section, for a validating client (RFC 4035 §3.1.3.3).
                let mut a = Answer::records(answers);
                a.authority = proof;
                done(a)
            }
            Meaning::Cname { chain, target } => {
                // Links counted once per hop (their RRSIGs aside); exceeding the limit
                // (or a loop) fails.
                let n = chain
                    .iter()
                    .filter(|r| r.record_type() != RecordType::RRSIG)
                    .count()
                    .max(1);
                if usize::from(self.links) + n > usize::from(ctx.cfg.limits.max_cname_chain) {
                    return Step::Fail(Ede::CHAIN_TOO_LONG);
                }
                self.links = self
                    .links
                    .saturating_add(u8::try_from(n).unwrap_or(u8::MAX));
                self.chain.extend(chain);
                if ctx.policy.cloaks(&self.name, &target) {
                    // CNAME cloaking: the blocked target is never asked for.
                    return done(Answer::records(core::mem::take(&mut self.chain)));
                }
                self.cur = target;
                self.deleg = None;
                self.skip_cache = false;
                self.restart_minimisation();
                Step::Again
            }
            Meaning::NxDomain {
                chain, soa, proof, ..
            } => {
                self.chain.extend(chain);
                let chain = core::mem::take(&mut self.chain);
                let a = negative(ctx.cfg, ResponseCode::NXDomain, chain, soa, proof);
                done(a)
            }
            Meaning::NoData {
                chain, soa, proof, ..
            } => {
                self.chain.extend(chain);
                let chain = core::mem::take(&mut self.chain);
                let a = negative(ctx.cfg, ResponseCode::NoError, chain, soa, proof);
                done(a)
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

/// A negative answer: RFC 2308 §3, the SOA in it carries the negative TTL, and so do
/// its RRSIGs and the denial's records after it (as the cache would serve them).
/// How long a minimised question's answer shows its name to exist: the answer's TTL
/// or NODATA's negative TTL, within the engine's bounds; `None` when it shows nothing
/// that may be kept (a CNAME, a denial without an SOA).
fn existence_ttl(cfg: &EngineConfig, m: &Meaning) -> Option<u32> {
    let secs = |d: core::time::Duration| u32::try_from(d.as_secs()).unwrap_or(u32::MAX);
    let ttl = match m {
        Meaning::Answer { chain, answer, .. } if chain.is_empty() => {
            answer.iter().map(|r| r.ttl).min()?.min(secs(cfg.max_ttl))
        }
        Meaning::NoData {
            chain,
            soa: Some(soa),
            ..
        } if chain.is_empty() => negative_ttl(Some(soa)).min(secs(cfg.max_negative_ttl)),
        _ => return None,
    };
    Some(ttl)
}

fn negative(
    cfg: &EngineConfig,
    rcode: ResponseCode,
    chain: Vec<Record>,
    soa: Option<Record>,
    proof: Vec<Record>,
) -> Answer {
    let max = u32::try_from(cfg.max_negative_ttl.as_secs()).unwrap_or(u32::MAX);
    let ttl = negative_ttl(soa.as_ref()).min(max);
    let soa = soa.map(|mut r| {
        r.ttl = ttl;
        r
    });
    let mut a = Answer::negative(rcode, chain, soa);
    a.authority.extend(proof.into_iter().map(|mut r| {
        r.ttl = r.ttl.min(ttl);
        r
    }));
    a
}

/// The RRSIGs in `recs` over `owner`/`rtype`.
fn sigs_in(recs: &[Record], owner: &Name, rtype: RecordType) -> Vec<Record> {
    recs.iter()
        .filter(|r| r.name == *owner && rrsig_covers(r) == Some(rtype))
        .cloned()
        .collect()
}

/// A negative entry's attachments from a denial (see [`Meaning::NxDomain`]): the
/// RRSIGs over the SOA, and the rest.
fn denial_attached(soa: Option<&Record>, proof: &[Record]) -> Attached {
    let (sigs, proof) = proof.iter().cloned().partition(|r| {
        soa.is_some_and(|s| r.name == s.name) && rrsig_covers(r) == Some(RecordType::SOA)
    });
    Attached {
        sigs,
        lead: Vec::new(),
        proof,
        security: Security::Unchecked,
        insecure_ede: None,
    }
}

/// Cache what a classified response proves: the CNAME links, the answer RRset or the
/// negative entry (only with its SOA: without one nothing is proven), a referral's NS
/// set and glue. `rank` is what its answer section deserves; referral data is ranked
/// as such. `cacheable`: false leaves the answer RRset out (see [`cap_child_ns`]).
fn store(
    cache: &mut Cache<KeyedHasher>,
    now: Instant,
    m: &Meaning,
    (qtype, rank, security, insecure_ede): (RecordType, Rank, Security, Option<Ede>),
    cacheable: bool,
) {
    // Each CNAME with its RRSIGs, and a synthesized one with the DNAME (and the
    // DNAME's RRSIGs) it came from, so that the cached answer has the DNAME too.
    let cache_chain = |cache: &mut Cache<KeyedHasher>, chain: &[Record]| {
        let mut dname: Vec<Record> = Vec::new();
        for r in chain {
            match r.record_type() {
                RecordType::DNAME => {
                    dname = alloc::vec![r.clone()];
                    dname.extend(sigs_in(chain, &r.name, RecordType::DNAME));
                }
                RecordType::CNAME => {
                    let lead = match dname.first() {
                        Some(d) if d.name.zone_of(&r.name) && d.name != r.name => {
                            core::mem::take(&mut dname)
                        }
                        _ => Vec::new(),
                    };
                    let attached = Attached {
                        sigs: sigs_in(chain, &r.name, RecordType::CNAME),
                        lead,
                        proof: Vec::new(),
                        security,
                        insecure_ede,
                    };
                    cache.insert_rrset_with(
                        now,
                        &r.name,
                        RecordType::CNAME,
                        alloc::vec![r.clone()],
                        attached,
                        rank,
                    );
                }
                _ => {}
            }
        }
    };
    match m {
        Meaning::Answer {
            chain,
            answer,
            proof,
        } => {
            cache_chain(cache, chain);
            if let Some(first) = answer.first().filter(|_| cacheable) {
                let owner = first.name.clone();
                let (rrset, sigs): (Vec<Record>, Vec<Record>) = answer
                    .iter()
                    .cloned()
                    .partition(|r| r.record_type() == qtype);
                let attached = Attached {
                    sigs,
                    // A wildcard expansion's proof, answered with it from the cache.
                    proof: proof.clone(),
                    security,
                    insecure_ede,
                    ..Attached::default()
                };
                cache.insert_rrset_with(now, &owner, qtype, rrset, attached, rank);
            }
        }
        Meaning::Cname { chain, .. } => cache_chain(cache, chain),
        Meaning::NxDomain {
            chain,
            name,
            soa,
            proof,
        } => {
            cache_chain(cache, chain);
            if soa.is_some() {
                let mut attached = denial_attached(soa.as_ref(), proof);
                attached.security = security;
                attached.insecure_ede = insecure_ede;
                cache.insert_negative_with(now, name, None, soa.clone(), attached, rank);
            }
        }
        Meaning::NoData {
            chain,
            name,
            soa,
            proof,
        } => {
            cache_chain(cache, chain);
            if soa.is_some() {
                let mut attached = denial_attached(soa.as_ref(), proof);
                attached.security = security;
                attached.insecure_ede = insecure_ede;
                let t = Some(qtype);
                cache.insert_negative_with(now, name, t, soa.clone(), attached, rank);
            }
        }
        Meaning::Referral { zone, ns, glue, ds } => {
            cache.insert_rrset(now, zone, RecordType::NS, ns.clone(), Rank::Referral);
            // The DS set with its RRSIGs, for the validator; never a client's answer
            // at this rank (a DS query is asked of the parent).
            let (set, sigs): (Vec<Record>, Vec<Record>) = ds
                .iter()
                .filter(|r| matches!(r.record_type(), RecordType::DS | RecordType::RRSIG))
                .cloned()
                .partition(|r| r.record_type() == RecordType::DS);
            let attached = Attached {
                sigs,
                ..Attached::default()
            };
            cache.insert_rrset_with(now, zone, RecordType::DS, set, attached, Rank::Referral);
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
///
/// `referral`: the referral this resolution followed last (zone, NS TTL). When it
/// delegates the owner, the parent has just vouched for the delegation again: the cap
/// is what it gave (a refresh through the parent renews the delegation; one through
/// the child never does, since a prefetch of an NS set starts at the parent).
fn cap_child_ns(
    cache: &mut Cache<KeyedHasher>,
    now: Instant,
    m: &mut Meaning,
    (qtype, referral): (RecordType, Option<&(Name, u32)>),
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
    let fresh = referral.filter(|(z, _)| *z == owner).map(|(_, t)| *t);
    let cached = cache
        .lookup(now, &owner, RecordType::NS, Rank::Glue, false)
        .filter(|h| matches!(h.data, Data::Records(_)))
        .map(|h| h.remaining);
    let Some(remaining) = fresh.max(cached) else {
        return false;
    };
    for r in answer.iter_mut() {
        r.ttl = r.ttl.min(remaining);
    }
    remaining >= min_ttl
}
