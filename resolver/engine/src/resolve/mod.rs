//! Resolutions: one per question in flight, coalescing every client that asks it.
//!
//! A [`Resolution`] never sends, waits or answers by itself: [`Resolution::advance`]
//! and [`Resolution::on_response`] return a [`Step`], and the engine applies it —
//! sends the query, parks the resolution in the wait queue, starts or joins the
//! resolution it depends on, or answers its waiters and removes it. A resolution stays
//! in the table ([`table::Resolutions`]) from its start until it is done or failed.
//!
//! One resolution waits for another through [`Step::Need`]: today a glueless NS name's
//! address ([`Dependency::NsAddress`]); the DNSSEC validator's DS and DNSKEY lookups
//! will be dependencies too. The engine registers the waiting one as a parent of the
//! dependency; when the dependency ends, the engine hands its result to every parent
//! ([`Resolution::dependency_done`]) and puts them back on the ready queue.

use alloc::vec::Vec;
use core::net::SocketAddr;

use hickory_proto::rr::{Name, Record, RecordType};

use crate::answer::{Answer, CachedChain, Waiter};
use crate::cache::{Cache, KeyedHasher};
use crate::chain::{self, Walk};
use crate::config::{EngineConfig, Mode};
use crate::ede::Ede;
use crate::io::Transport;
use crate::policy::Policy;
use crate::scrub::Meaning;
use crate::stats::Stats;
use crate::time::Instant;
use crate::upstream::{Pick, Upstream};

mod ask;
pub(crate) mod delegation;
pub(crate) mod failures;
pub(crate) mod known;
mod response;
pub(crate) mod table;

use ask::Qmin;
use delegation::{Cause, Delegation, NsState};

/// RFC 2181 §8: a TTL with the top bit set is 0. Applied to everything a response
/// gives before it is cached or answered (else the cache's upper clamp would keep
/// such a record for a day).
pub(super) fn zero_huge_ttls(m: &mut Meaning) {
    let lists: [&mut Vec<Record>; 3] = match m {
        Meaning::Answer {
            chain,
            answer,
            proof,
        } => [chain, answer, proof],
        Meaning::Referral { ns, glue, ds, .. } => [ns, glue, ds],
        Meaning::Cname { chain, .. } => [chain, &mut Vec::new(), &mut Vec::new()],
        Meaning::NxDomain {
            chain, soa, proof, ..
        }
        | Meaning::NoData {
            chain, soa, proof, ..
        } => {
            if let Some(r) = soa.as_mut().filter(|r| r.ttl >= 1 << 31) {
                r.ttl = 0;
            }
            [chain, proof, &mut Vec::new()]
        }
        Meaning::Lame => return,
    };
    for list in lists {
        for r in list.iter_mut().filter(|r| r.ttl >= 1 << 31) {
            r.ttl = 0;
        }
    }
}

/// A resolution's number, unique for the engine's life.
pub(crate) type Id = u64;

/// What a resolution asks the engine to do next.
#[derive(Debug)]
pub(crate) enum Step {
    /// Send the next question ([`Resolution::next_question`]) to `server`.
    Send {
        /// The server.
        server: SocketAddr,
        /// UDP, or TCP after a truncated answer.
        transport: Transport,
    },
    /// Nothing to do until something happens.
    Wait(Until),
    /// Start or join the resolution this one depends on, then wait for it.
    Need(Dependency),
    /// Answer every waiter with this, wake the parents, remove the resolution.
    Done(Answer),
    /// Give up: SERVFAIL with this reason (or a stale answer, RFC 8767).
    Fail(Ede),
    /// Advance again at its turn (the ready queue), after other resolutions.
    Again,
}

/// What a waiting resolution waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Until {
    /// The answer to the query it has out (or its timeout).
    Response,
    /// A slot at `server` (or a local port): the engine puts it in the wait queue.
    Slot(SocketAddr),
    /// It is in the wait queue already.
    Queued,
    /// A dependency it registered earlier.
    Dependency,
}

/// Another resolution's result that a resolution needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Dependency {
    /// The addresses of the name server in slot `slot` of the current delegation,
    /// which came without glue: resolve `name`/`rtype` (A, or AAAA after an A
    /// lookup found nothing).
    NsAddress {
        /// The slot in `Delegation::ns`.
        slot: usize,
        /// The server's name.
        name: Name,
        /// A or AAAA.
        rtype: RecordType,
    },
    /// DNSSEC: the DNSKEY set of a signer zone, or the DS set of a zone, that the
    /// held response's validation needs (see [`crate::validate`]).
    Key {
        /// The zone.
        name: Name,
        /// DNSKEY or DS.
        rtype: RecordType,
    },
}

impl Dependency {
    /// The question the dependency resolves.
    pub(crate) fn question(&self) -> (&Name, RecordType) {
        match self {
            Dependency::NsAddress { name, rtype, .. } | Dependency::Key { name, rtype } => {
                (name, *rtype)
            }
        }
    }
}

/// A final response held while its validation waits for key lookups.
#[derive(Debug)]
pub(crate) struct Held {
    /// What it says.
    pub(crate) meaning: Meaning,
    /// The rank its answer section deserves.
    pub(crate) rank: crate::cache::Rank,
    /// Whether its answer RRset may be cached (see `cap_child_ns`).
    pub(crate) cacheable: bool,
    /// The zone it came from.
    pub(crate) zone: Name,
    /// Whether it came from a forwarder (RD=1): then `zone` says nothing about the
    /// zone cuts, and validation finds them from the DS sets.
    pub(crate) forwarded: bool,
}

/// The validation state of what a resolution has found so far (the worst over its
/// CNAME hops).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Sec {
    /// Every hop secure.
    Secure,
    /// A hop insecure.
    Insecure,
    /// A hop not validated (no anchor covers it).
    Unchecked,
}

/// What a resolution may touch while it advances: the configuration, the cache, the
/// upstream side (server choice), the counters.
pub(crate) struct Ctx<'a> {
    /// The time of the call.
    pub(crate) now: Instant,
    /// The configuration.
    pub(crate) cfg: &'a EngineConfig,
    /// The cache.
    pub(crate) cache: &'a mut Cache<KeyedHasher>,
    /// Pending queries and the server table.
    pub(crate) upstream: &'a mut Upstream,
    /// The counters.
    pub(crate) stats: &'a mut Stats,
    /// The policy (a CNAME into a blocked name is not followed).
    pub(crate) policy: &'a Policy,
    /// The parent-side glue seen in referrals.
    pub(crate) glue: &'a mut delegation::ParentGlue,
    /// Glueless NS lookups the client query's whole tree may still start
    /// (`Limits::max_ns_lookups_per_client_query` less those started).
    pub(crate) lookups_left: u8,
    /// The DNSSEC validator.
    pub(crate) val: &'a crate::validate::Validator,
    /// Signature verifications the client query's tree may still spend.
    pub(crate) verifs_left: u32,
    /// Verifications spent in this call (the engine charges the tree).
    pub(crate) verifs_done: u32,
    /// Recent failures: a key lookup that came back bogus left its reason here.
    pub(crate) failures: &'a mut failures::Failures,
    /// Validated NSEC records for RFC 8198 synthesis.
    pub(crate) denials: &'a mut crate::aggressive::Denials,
    /// Names QNAME minimisation found to exist.
    pub(crate) known: &'a mut known::KnownNames,
    /// Set by the resolution: a zone whose DNSKEY set the engine should start
    /// fetching beside the query being sent ([`Resolution::key_to_prime`]).
    pub(crate) prime: Option<Name>,
}

/// What a client query's tree of resolutions (the client's or a prefetch's, and the
/// sub-resolutions it started) has spent of its shared budget. Kept on the tree's root.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Spent {
    /// Upstream queries sent by any resolution of the tree, at most
    /// `Limits::max_upstream_per_client_query`.
    pub(crate) sent: u16,
    /// Glueless NS lookups started, at most `Limits::max_ns_lookups_per_client_query`.
    pub(crate) lookups: u8,
    /// DNSSEC signature verifications, at most
    /// `Limits::dnssec_verifications_per_client_query`.
    pub(crate) verifs: u32,
}

impl Sec {
    /// The worse of `self` and `o`.
    pub(crate) fn min_with(self, o: Sec) -> Sec {
        match (self, o) {
            (Sec::Unchecked, _) | (_, Sec::Unchecked) => Sec::Unchecked,
            (Sec::Insecure, _) | (_, Sec::Insecure) => Sec::Insecure,
            _ => Sec::Secure,
        }
    }
}

/// One resolution of one question.
#[derive(Debug)]
pub(crate) struct Resolution {
    /// The question's name, as first asked.
    pub(crate) name: Name,
    /// The question's type.
    pub(crate) qtype: RecordType,
    /// Where the CNAME chain has got to: `name`, or the last target followed.
    pub(crate) cur: Name,
    /// The CNAME (and DNAME) records followed so far: the answer section's start.
    chain: Vec<Record>,
    /// Clients waiting for the answer (none for prefetches and sub-resolutions).
    pub(crate) waiters: Vec<Waiter>,
    /// Resolutions waiting for this one (a glueless NS address).
    pub(crate) parents: Vec<Id>,
    /// Nesting of sub-resolutions: 0 for a client's or a prefetch.
    pub(crate) depth: u8,
    /// The root of the tree whose budget it spends: `None` for a root itself (a
    /// client's resolution or a prefetch).
    pub(crate) root: Option<Id>,
    /// What the tree has spent (meaningful on a root).
    pub(crate) spent: Spent,
    /// The dependencies it started or joined (released when it ends).
    pub(crate) children: Vec<Id>,
    /// Upstream queries sent, at most `Limits::max_upstream_per_query`.
    sent: u16,
    /// Referrals followed, at most `Limits::max_referrals`.
    referrals: u8,
    /// CNAME links followed, at most `Limits::max_cname_chain`.
    links: u8,
    /// The zone cut whose servers are asked; `None` until looked up (again after
    /// each CNAME hop).
    deleg: Option<Delegation>,
    /// The local port of the query it has out, if any.
    pub(crate) pending: Option<u16>,
    /// Skip the cache for `cur` (a prefetch must not answer itself from the entry it
    /// refreshes, even when it first waits for a name server's address); cleared at
    /// a CNAME hop.
    pub(crate) skip_cache: bool,
    /// QNAME minimisation's progress; `None`: off (or given up: the full name).
    qmin: Option<Qmin>,
    /// Times this resolution gave up on a cached delegation and asked the parent zone.
    fallbacks: u8,
    /// Whether the current delegation came from the cache (not from a referral).
    deleg_cached: bool,
    /// In the wait queue for an upstream slot.
    pub(crate) waiting: bool,
    /// Refresh a delegation through its parent: a prefetch of a zone's NS set starts
    /// at the parent's servers, never at the (cached) child's, so only a referral the
    /// parent still gives renews it (ghost domains, CVE-2012-1033).
    pub(crate) via_parent: bool,
    /// The NS TTL of the last referral followed, and the zone it delegates: the most
    /// a zone's own NS answer may then live (see `cap_child_ns`).
    pub(super) referral_ttl: Option<(Name, u32)>,
    /// A final response waiting for its validation's key lookups.
    pub(super) held: Option<Held>,
    /// The key lookups its validation made (each at most once).
    pub(super) asked: Vec<(Name, RecordType)>,
    /// Zones whose DNSKEY sets were fetched beside a query ([`Resolution::key_to_prime`]):
    /// they count against `Limits::dnssec_key_fetches_per_resolution` with `asked`.
    pub(super) primed: Vec<Name>,
    /// What validation has concluded over its hops so far.
    pub(super) sec: Sec,
    /// An EDE an insecure answer carries (27: NSEC3 iterations, 1/2 unsupported).
    pub(super) insecure_ede: Option<Ede>,
}

impl Resolution {
    /// A resolution of `name`/`qtype` at `depth`, nothing done yet.
    pub(crate) fn new(cfg: &EngineConfig, name: Name, qtype: RecordType, depth: u8) -> Self {
        let qmin = (cfg.qname_minimisation && matches!(cfg.mode, Mode::Recursive { .. }))
            .then_some(Qmin::default());
        Resolution {
            cur: name.clone(),
            name,
            qtype,
            chain: Vec::new(),
            waiters: Vec::new(),
            parents: Vec::new(),
            depth,
            root: None,
            spent: Spent::default(),
            children: Vec::new(),
            sent: 0,
            referrals: 0,
            links: 0,
            deleg: None,
            pending: None,
            skip_cache: false,
            qmin,
            fallbacks: 0,
            deleg_cached: false,
            waiting: false,
            via_parent: false,
            referral_ttl: None,
            held: None,
            asked: Vec::new(),
            primed: Vec::new(),
            sec: Sec::Secure,
            insecure_ede: None,
        }
    }

    /// The key that coalesces identical questions: lower-cased name and type.
    pub(crate) fn key(name: &Name, qtype: RecordType) -> (Name, u16) {
        (name.to_lowercase(), u16::from(qtype))
    }

    /// Move forward until something must happen outside: answer from the cache, pick
    /// a server, ask for a glueless NS address, fall back to the parent zone, or give
    /// up. `deadline`: when its time runs out.
    pub(crate) fn advance(&mut self, ctx: &mut Ctx<'_>, deadline: Instant) -> Step {
        if self.pending.is_some() {
            return Step::Wait(Until::Response);
        }
        if self.waiting {
            return Step::Wait(Until::Queued);
        }
        if ctx.now >= deadline {
            return Step::Fail(Ede::TIMED_OUT);
        }
        if self.held.is_some() {
            return self.resume(ctx);
        }
        let cfg: &EngineConfig = ctx.cfg;
        let l = &cfg.limits;
        loop {
            if !self.skip_cache {
                match self.walk_cache(ctx, true) {
                    Ok(()) => {}
                    Err(step) => return step,
                }
            }
            if self.deleg.is_none() {
                let at = self.cut_search_start();
                self.deleg = Some(Delegation::find(ctx, &at));
                self.deleg_cached = true;
            }
            self.skip_known(ctx);
            if self.sent >= l.max_upstream_per_query {
                return Step::Fail(Ede::BUDGET);
            }
            let Some(deleg) = self.deleg.as_mut() else {
                return Step::Fail(Ede::INTERNAL);
            };
            match ctx
                .upstream
                .pick(deleg.candidates(), l.max_in_flight_per_server)
            {
                // No local port free: wait for a slot too, rather than fail a burst.
                Pick::Send(server) if ctx.upstream.len() < l.max_upstream_in_flight => {
                    if let Some(zone) = self.key_to_prime(ctx) {
                        self.primed.push(zone.clone());
                        ctx.prime = Some(zone);
                    }
                    return Step::Send {
                        server,
                        transport: Transport::Udp,
                    };
                }
                // Every candidate at its cap: wait for a slot.
                Pick::Send(server) | Pick::Wait(server) => {
                    return Step::Wait(Until::Slot(server));
                }
                Pick::None => {}
            }
            // No server with a known address is left: resolve NS names without glue.
            if deleg
                .ns
                .iter()
                .any(|s| matches!(s.state, NsState::Resolving(_)))
            {
                return Step::Wait(Until::Dependency);
            }
            let can_spawn = deleg.children_started < l.max_ns_resolutions_per_delegation
                && self.depth < l.max_subquery_depth;
            let slot = deleg.ns.iter().position(|s| s.state == NsState::Unresolved);
            if can_spawn && slot.is_some() && ctx.lookups_left == 0 {
                // The client query's tree has started all the lookups it may.
                return Step::Fail(Ede::NS_LOOKUP_BUDGET);
            }
            if let (true, Some(i)) = (can_spawn, slot) {
                let Some((name, want_aaaa)) =
                    deleg.ns.get(i).map(|s| (s.name.clone(), s.want_aaaa))
                else {
                    return Step::Fail(Ede::INTERNAL);
                };
                deleg.children_started = deleg.children_started.saturating_add(1);
                let rtype = if want_aaaa {
                    RecordType::AAAA
                } else {
                    RecordType::A
                };
                return Step::Need(Dependency::NsAddress {
                    slot: i,
                    name,
                    rtype,
                });
            }
            // Every server of a cached delegation failed: the zone may have been
            // renumbered. Ask the parent once for a fresh referral.
            let recursive = matches!(ctx.cfg.mode, Mode::Recursive { .. });
            if recursive
                && !deleg.forward
                && self.deleg_cached
                && self.fallbacks < 1
                && !deleg.zone.is_root()
            {
                let parent = deleg.zone.base_name();
                self.fallbacks += 1;
                self.deleg = Some(Delegation::find(ctx, &parent));
                self.deleg_cached = true;
                self.restart_minimisation();
                continue;
            }
            return Step::Fail(deleg.failures.ede());
        }
    }

    /// Whether the question is one the parent side of a zone cut answers: DS
    /// (RFC 4035 §2.4), whose owner is the child's apex but whose data is the parent's.
    pub(super) fn parent_side(&self) -> bool {
        self.qtype == RecordType::DS && !self.cur.is_root()
    }

    /// Where the search for the zone cut to ask starts: `cur`, or its parent for a
    /// parent-side question, so that a cached delegation of the child is not used.
    fn cut_search_start(&self) -> Name {
        let refresh = self.via_parent && self.cur == self.name && !self.cur.is_root();
        if self.parent_side() || refresh {
            self.cur.base_name()
        } else {
            self.cur.clone()
        }
    }

    /// A referral to `zone` may be followed: for a parent-side question, not one to
    /// the owner's own zone (the child), whose servers hold no DS for their apex.
    pub(super) fn may_follow_referral(&self, zone: &Name) -> bool {
        !(self.parent_side()
            && zone.zone_of(&self.cur)
            && zone.num_labels() >= self.cur.num_labels())
    }

    /// Follow the chain through the cache from `cur` (the one CNAME walker): `Err`
    /// with the step if that ends the resolution, else `cur` is where the cache's
    /// knowledge ends.
    fn walk_cache(&mut self, ctx: &mut Ctx<'_>, synthesize: bool) -> Result<(), Step> {
        let max_links = ctx.cfg.limits.max_cname_chain;
        let before = self.chain.len();
        let mut c = CachedChain {
            cache: &mut *ctx.cache,
            now: ctx.now,
            qtype: self.qtype,
            links: core::mem::take(&mut self.chain),
            all_secure: true,
        };
        let cnames = self.qtype != RecordType::CNAME;
        let budget = max_links.saturating_sub(self.links);
        let walk = chain::walk(&mut c, self.cur.clone(), cnames, budget);
        let followed = c.links.len().saturating_sub(before);
        self.chain = c.links;
        match walk {
            Walk::Data((hit, _)) => {
                let chain = core::mem::take(&mut self.chain);
                let secure = c.all_secure && self.sec == Sec::Secure;
                let mut a = Answer::from_hit(chain, hit);
                a.secure &= secure;
                Err(Step::Done(a))
            }
            Walk::TooLong(_) => Err(Step::Fail(Ede::CHAIN_TOO_LONG)),
            Walk::End(at) if followed > 0 && ctx.policy.cloaks(&self.name, &at) => {
                // A cached CNAME into a blocked name: never ask for it upstream.
                let chain = core::mem::take(&mut self.chain);
                Err(Step::Done(Answer::records(chain)))
            }
            Walk::End(at) => {
                if followed > 0 {
                    let n = u8::try_from(followed).unwrap_or(u8::MAX);
                    self.links = self.links.saturating_add(n);
                    self.cur = at;
                    self.deleg = None;
                }
                // RFC 8198: a validated NSEC already held may answer it. The entry it
                // puts in the cache is then what the walk finds.
                if synthesize
                    && self.sec == Sec::Secure
                    && ctx.val.anchor_for(&self.cur).is_some()
                    && ctx
                        .denials
                        .synthesize(ctx.cache, ctx.now, &self.cur, self.qtype)
                {
                    ctx.stats.dnssec_aggressive += 1;
                    return self.walk_cache(ctx, false);
                }
                Ok(())
            }
        }
    }

    /// The engine sent the next question to `server` from `port`.
    pub(crate) fn sent_to(&mut self, server: SocketAddr, port: u16) {
        if let Some(d) = self.deleg.as_mut() {
            d.bump(server, 1);
        }
        self.pending = Some(port);
        self.sent = self.sent.saturating_add(1);
    }

    /// The query on `port` was answered: true if it was this resolution's.
    pub(crate) fn answered(&mut self, port: u16) -> bool {
        if self.pending != Some(port) {
            return false;
        }
        self.pending = None;
        true
    }

    /// The query on `port` ended without an answer: true if it was this
    /// resolution's (it must then advance again).
    pub(crate) fn query_failed(&mut self, port: u16, cause: Cause) -> bool {
        if !self.answered(port) {
            return false;
        }
        if let Some(d) = self.deleg.as_mut() {
            d.failures.note(cause);
        }
        true
    }

    /// `server` may be asked again at once (0x20 was turned off for it).
    pub(crate) fn forget_tries(&mut self, server: SocketAddr) {
        if let Some(d) = self.deleg.as_mut() {
            d.forget(server);
        }
    }

    /// Dependency `dep` is resolution `child`, which will wake this one.
    pub(crate) fn dependency_started(&mut self, dep: &Dependency, child: Id) {
        let Dependency::NsAddress { slot, .. } = dep else {
            return;
        };
        if let Some(s) = self.deleg.as_mut().and_then(|d| d.ns.get_mut(*slot)) {
            s.state = NsState::Resolving(child);
        }
    }

    /// Dependency `dep` could not be started (limits, or it would wait on itself).
    pub(crate) fn dependency_failed(&mut self, dep: &Dependency) {
        let Dependency::NsAddress { slot, .. } = dep else {
            return;
        };
        if let Some(s) = self.deleg.as_mut().and_then(|d| d.ns.get_mut(*slot)) {
            s.state = NsState::Failed;
        }
    }

    /// Resolution `child`, a dependency, ended having found `addrs` (see
    /// [`Resolution::addresses_in`]).
    pub(crate) fn dependency_done(&mut self, cfg: &EngineConfig, child: Id, addrs: &[SocketAddr]) {
        if let Some(d) = self.deleg.as_mut() {
            d.resolved(child, addrs, cfg.use_ipv6);
        }
    }

    /// The name server addresses in `answer` for this resolution's name (what its
    /// parents take), at most `max_addrs_per_ns`, IPv6 only with `use_ipv6`.
    pub(crate) fn addresses_in(&self, cfg: &EngineConfig, answer: &Answer) -> Vec<SocketAddr> {
        let v6 = cfg.use_ipv6;
        answer
            .answers
            .iter()
            .filter(|r| r.name == self.cur)
            .filter_map(|r| r.data.ip_addr())
            .filter(|a| v6 || a.is_ipv4())
            .take(cfg.limits.max_addrs_per_ns)
            .map(|a| SocketAddr::new(a, 53))
            .collect()
    }
}
