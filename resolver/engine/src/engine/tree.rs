//! The resolution tree: starting resolutions and prefetches, advancing them and
//! applying their [`Step`]s, sub-resolutions (NS addresses, DNSSEC keys) and their
//! cancellation, failures and stale answers at the end.

use alloc::vec::Vec;

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{Name, RecordType};

use crate::answer::Answer;
use crate::cache::Rank;
use crate::ede::Ede;
use crate::resolve::{Ctx, Dependency, Id, Resolution, Step, Until};
use crate::time::Instant;
use crate::timer::Timer;

use super::Engine;

impl Engine {
    /// Start a resolution of `name`/`qtype` at `depth`, with its deadline; `None` at
    /// `max_resolutions`.
    pub(super) fn start(
        &mut self,
        now: Instant,
        name: Name,
        qtype: RecordType,
        depth: u8,
    ) -> Option<Id> {
        if self.resolutions.len() >= self.cfg.limits.max_resolutions {
            return None;
        }
        let id = self
            .resolutions
            .insert(Resolution::new(&self.cfg, name, qtype, depth));
        let deadline = now.saturating_add(self.cfg.limits.query_timeout);
        self.timers.set(Timer::Resolution(id), deadline);
        Some(id)
    }

    /// Refresh `name`/`qtype` in the background, unless it is being resolved or half
    /// the resolution table is in use.
    pub(super) fn start_prefetch(&mut self, now: Instant, name: &Name, qtype: RecordType) {
        if self.resolutions.find(name, qtype).is_some()
            || self.resolutions.len() * 2 >= self.cfg.limits.max_resolutions
            || self.failures.get(now, name, qtype).is_some()
        {
            return;
        }
        if let Some(id) = self.start(now, name.clone(), qtype, 0) {
            if let Some(r) = self.resolutions.get_mut(id) {
                r.skip_cache = true;
                r.via_parent = qtype == RecordType::NS;
            }
            self.stats.prefetches += 1;
        }
    }

    /// Advance every ready resolution, then wake waiting ones while slots free up.
    pub(super) fn run(&mut self, now: Instant) {
        loop {
            while let Some(id) = self.resolutions.pop_ready() {
                self.drive(now, id);
            }
            if !self.wake_waiting() {
                break;
            }
        }
        self.update_gauges();
    }

    /// Advance resolution `id` and apply its steps until it waits or ends.
    pub(super) fn drive(&mut self, now: Instant, id: Id) {
        loop {
            let Some(deadline) = self.timers.get(Timer::Resolution(id)) else {
                return;
            };
            let lookups_left = self.tree_left(id).1;
            let Some((step, prime)) = self.with_resolution(now, id, lookups_left, |r, ctx| {
                Some(r.advance(ctx, deadline))
            }) else {
                return;
            };
            if let Some(zone) = prime {
                self.prime_keys(now, id, zone);
            }
            match step {
                // A dependency that cannot be had: its slot is marked failed; go on.
                Step::Need(dep) => {
                    if self.need(now, id, &dep) {
                        return;
                    }
                }
                step => return self.apply(now, id, step),
            }
        }
    }

    /// Run `f` on resolution `id` with a [`Ctx`] over the engine's shared state, then
    /// charge the tree for the verifications it spent. Returns what `f` returned and
    /// the zone whose keys the resolution asked to prime; `None` if `id` is gone or `f`
    /// declined. The one place a `Ctx` is made: the borrows are split field by field
    /// here, beside the resolution taken from the table.
    pub(super) fn with_resolution<T>(
        &mut self,
        now: Instant,
        id: Id,
        lookups_left: u8,
        f: impl FnOnce(&mut crate::resolve::Resolution, &mut Ctx<'_>) -> Option<T>,
    ) -> Option<(T, Option<Name>)> {
        let verifs_left = self.verifs_left(id);
        let r = self.resolutions.get_mut(id)?;
        let mut ctx = Ctx {
            now,
            cfg: &self.cfg,
            cache: &mut self.cache,
            upstream: &mut self.upstream,
            stats: &mut self.stats,
            policy: &self.policy,
            glue: &mut self.glue,
            lookups_left,
            val: &self.val,
            verifs_left,
            verifs_done: 0,
            failures: &mut self.failures,
            denials: &mut self.denials,
            known: &mut self.known,
            prime: None,
        };
        let out = f(r, &mut ctx);
        let (spent, prime) = (ctx.verifs_done, ctx.prime.take());
        self.resolutions.charge_verifs(id, spent);
        Some((out?, prime))
    }

    /// What `id`'s tree may still spend: upstream queries and glueless NS lookups
    /// (none once its root is gone).
    pub(super) fn tree_left(&self, id: Id) -> (u16, u8) {
        let l = &self.cfg.limits;
        self.resolutions.spent(id).map_or((0, 0), |s| {
            (
                l.max_upstream_per_client_query.saturating_sub(s.sent),
                l.max_ns_lookups_per_client_query.saturating_sub(s.lookups),
            )
        })
    }

    /// DNSSEC verifications `id`'s tree may still spend.
    pub(super) fn verifs_left(&self, id: Id) -> u32 {
        let max = self.cfg.limits.dnssec_verifications_per_client_query;
        self.resolutions
            .spent(id)
            .map_or(0, |s| max.saturating_sub(s.verifs))
    }

    /// Apply `step`, which resolution `id` returned.
    pub(super) fn apply(&mut self, now: Instant, id: Id, step: Step) {
        match step {
            Step::Send { .. } if self.tree_left(id).0 == 0 => {
                self.stats.budget_exhausted += 1;
                self.fail(now, id, Ede::BUDGET);
            }
            Step::Send { server, transport } => {
                if !self.send(now, id, server, transport) {
                    self.fail(now, id, Ede::NO_PORT);
                }
            }
            Step::Wait(Until::Slot(server)) => {
                let max = self.cfg.limits.max_waiting_resolutions;
                if self.resolutions.wait_for_slot(id, server, max) {
                    self.stats.waited += 1;
                } else {
                    self.stats.wait_queue_full += 1;
                    self.fail(now, id, Ede::WAIT_QUEUE_FULL);
                }
            }
            Step::Wait(Until::Response | Until::Queued | Until::Dependency) => {}
            Step::Need(dep) => {
                if !self.need(now, id, &dep) {
                    self.resolutions.push_ready(id);
                }
            }
            Step::Done(ans) => {
                if let (Some(ede), true) = (ans.ede, ans.cd_answer.is_some())
                    && let Some(r) = self.resolutions.get(id)
                {
                    // Bogus: kept briefly, like any failure (RFC 9520).
                    let (name, qtype) = (r.name.clone(), r.qtype);
                    self.failures
                        .record_bogus(&self.cfg.limits, now, &name, qtype, ede);
                }
                self.finish(id, ans)
            }
            Step::Fail(ede) => self.fail(now, id, ede),
            Step::Again => self.resolutions.push_ready(id),
        }
    }

    /// Start fetching `zone`'s DNSKEY set for resolution `id`, which does not wait
    /// for it (see `Resolution::key_to_prime`): a sub-resolution of `id`'s tree,
    /// charged to its budget and cancelled with it, that `id` joins when its
    /// validation needs the keys. Not when it is in flight already, failed a moment
    /// ago, or half the resolution table is in use.
    pub(super) fn prime_keys(&mut self, now: Instant, id: Id, zone: Name) {
        let rtype = RecordType::DNSKEY;
        if self.resolutions.find(&zone, rtype).is_some()
            || self.resolutions.len() * 2 >= self.cfg.limits.max_resolutions
            || self.failures.get(now, &zone, rtype).is_some()
        {
            return;
        }
        let Some(depth) = self.resolutions.get(id).map(|r| r.depth) else {
            return;
        };
        let root = self.resolutions.root_of(id);
        let Some(c) = self.start(now, zone, rtype, depth.saturating_add(1)) else {
            return;
        };
        if let Some(cr) = self.resolutions.get_mut(c) {
            cr.root = Some(root);
            cr.parents.push(id);
        }
        if let Some(r) = self.resolutions.get_mut(id) {
            r.children.push(c);
        }
        self.stats.dnssec_key_primes += 1;
    }

    /// Make resolution `id` wait for `dep`: join the resolution of it in flight (if it
    /// cannot be one of `id`'s ancestors: depth strictly grows along a waiting chain, so
    /// no cycle can form) or start one. False if neither can be done.
    pub(super) fn need(&mut self, now: Instant, id: Id, dep: &Dependency) -> bool {
        let (name, rtype) = dep.question();
        let rtype = &rtype;
        let lookups = u8::from(matches!(dep, Dependency::NsAddress { .. }));
        let Some(depth) = self.resolutions.get(id).map(|r| r.depth) else {
            return false;
        };
        if self.failures.len() > 0 && self.failures.get(now, name, *rtype).is_some() {
            // Looked up and failed a moment ago (RFC 9520): the slot fails at once.
            self.stats.failure_cache_hits += 1;
            if let Some(r) = self.resolutions.get_mut(id) {
                r.dependency_failed(dep);
            }
            return false;
        }
        let child = match self.resolutions.find(name, *rtype) {
            Some(c)
                if c != id
                    && self
                        .resolutions
                        .get(c)
                        .is_some_and(|child| child.depth > depth) =>
            {
                Some(c)
            }
            Some(_) => None,
            None => {
                let root = self.resolutions.root_of(id);
                let c = self.start(now, name.clone(), *rtype, depth.saturating_add(1));
                if let Some(cr) = c.and_then(|c| self.resolutions.get_mut(c)) {
                    cr.root = Some(root);
                    self.resolutions.charge(id, 0, lookups);
                }
                c
            }
        };
        let child = child.filter(|c| match self.resolutions.get_mut(*c) {
            Some(cr) => {
                if !cr.parents.contains(&id) {
                    cr.parents.push(id);
                }
                true
            }
            None => false,
        });
        let Some(r) = self.resolutions.get_mut(id) else {
            return false;
        };
        match child {
            Some(c) => {
                r.dependency_started(dep, c);
                if !r.children.contains(&c) {
                    r.children.push(c);
                }
                true
            }
            None => {
                r.dependency_failed(dep);
                false
            }
        }
    }

    /// Resolution `id` failed: answer stale data if serve-stale allows (RFC 8767: an
    /// expired answer is better than none), else SERVFAIL with `ede`.
    pub(super) fn fail(&mut self, now: Instant, id: Id, ede: Ede) {
        let Some(r) = self.resolutions.get(id) else {
            return;
        };
        // A sub-resolution that ran out of its tree's budget says nothing about its
        // name: another client's query may well resolve it.
        let tree_budget = r.depth > 0 && matches!(ede, Ede::BUDGET | Ede::NS_LOOKUP_BUDGET);
        if !tree_budget {
            self.failures
                .record(&self.cfg.limits, now, &r.name, r.qtype, ede);
        }
        if self.cfg.serve_stale.is_some() && !r.waiters.is_empty() {
            let stale = self
                .cache
                .lookup(now, &r.name, r.qtype, Rank::NonAuthAnswer, true);
            if let Some(hit) = stale {
                self.stats.stale_served += r.waiters.len() as u64;
                return self.finish(id, Answer::from_hit(Vec::new(), hit));
            }
        }
        self.finish(id, Answer::servfail(ede))
    }

    /// Resolution `id` is over: remove it, answer its waiters, wake its parents with
    /// what it found.
    pub(super) fn finish(&mut self, id: Id, ans: Answer) {
        let Some(r) = self.resolutions.remove(id) else {
            return;
        };
        self.timers.cancel(Timer::Resolution(id));
        self.timers.cancel(Timer::StaleAnswer(id));
        if let Some(port) = r.pending {
            let _ = self.take_pending(port);
        }
        // Resolved (a stale answer is a failure served kindly): forget past failures.
        let stale = matches!(ans.ede, Some(Ede::STALE | Ede::STALE_NXDOMAIN));
        if ans.rcode != ResponseCode::ServFail && !stale {
            self.failures.forget(&r.name, r.qtype);
        }

        if let Some(w) = r.waiters.first() {
            // Policy screens what clients get (CNAME cloaking, rebinding); the
            // parents take the addresses as found.
            let qtype = w.query.query_type();
            let screened = self.policy.screen(w.query.name(), qtype, ans.clone());
            let unchecked = ans
                .cd_answer
                .as_ref()
                .map(|a| self.policy.screen(w.query.name(), qtype, (**a).clone()));
            for w in &r.waiters {
                match &unchecked {
                    // CD=1: the data without validation (RFC 4035 §3.2.2).
                    Some(u) if w.cd => self.reply(w, u),
                    _ => self.reply(w, &screened),
                }
            }
        }
        let addrs = r.addresses_in(&self.cfg, &ans);
        for parent in r.parents {
            if let Some(p) = self.resolutions.get_mut(parent) {
                p.children.retain(|c| *c != id);
                p.dependency_done(&self.cfg, id, &addrs);
                self.resolutions.push_ready(parent);
            }
        }
        for child in r.children {
            self.release(child, id);
        }
    }

    /// `parent` ended: it no longer waits for `child`. A sub-resolution no one waits
    /// for any more is cancelled (with its own dependencies), so a client query's
    /// tree sends nothing after the client has its answer. One that still has a
    /// waiter whose budget is gone (its root ended) moves to a live budget: that of
    /// another resolution waiting for it, or its own if a client joined it.
    pub(super) fn release(&mut self, child: Id, parent: Id) {
        let Some(c) = self.resolutions.get_mut(child) else {
            return;
        };
        c.parents.retain(|p| *p != parent);
        if c.depth == 0 {
            return;
        }
        if c.parents.is_empty() && c.waiters.is_empty() {
            self.stats.cancelled += 1;
            return self.finish(child, Answer::servfail(Ede::CANCELLED));
        }
        let (root, other, clients) = (c.root, c.parents.first().copied(), !c.waiters.is_empty());
        if root.is_some_and(|r| self.resolutions.get(r).is_none()) {
            let new_root = match other {
                Some(o) if !clients => Some(self.resolutions.root_of(o)),
                _ => None,
            };
            if let Some(c) = self.resolutions.get_mut(child) {
                c.root = new_root;
            }
        }
    }

    /// Move waiting resolutions that now find a slot to the ready queue (see
    /// [`Resolutions::wake`]).
    pub(super) fn wake_waiting(&mut self) -> bool {
        if !self.upstream.slot_freed || self.resolutions.waiting() == 0 {
            self.upstream.slot_freed = false;
            return false;
        }
        let l = &self.cfg.limits;
        let ports = l.max_upstream_in_flight.saturating_sub(self.upstream.len());
        let woke = self
            .resolutions
            .wake(&self.upstream.servers, l.max_in_flight_per_server, ports);
        self.upstream.slot_freed = woke;
        woke
    }

    /// Refresh the gauges in `Stats` from the tables.
    pub(super) fn update_gauges(&mut self) {
        self.stats.cache_bytes = self.cache.bytes() as u64;
        self.stats.cache_entries = self.cache.len() as u64;
        self.stats.aggressive_nsec_records = self.denials.len() as u64;
        self.stats.cache_evictions = self.cache.evictions();
        self.stats.in_flight_resolutions = self.resolutions.len() as u64;
        self.stats.in_flight_upstream = self.upstream.len() as u64;
        self.stats.waiting = self.resolutions.waiting() as u64;
        self.stats.failure_entries = self.failures.len() as u64;
    }
}
