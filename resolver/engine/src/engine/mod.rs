//! The engine: the public sans-IO API over the modules that own the state. It holds
//! the tables, runs admission ([`crate::client`]), advances resolutions
//! ([`crate::resolve`]) and applies the [`Step`]s they return, and routes upstream
//! events ([`crate::upstream`]) and timers ([`crate::timer`]).

use alloc::collections::VecDeque;
use alloc::vec::Vec;
use core::net::SocketAddr;

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{Name, RecordType};

use crate::answer::{self, Answer, Shape, Waiter};
use crate::cache::{Cache, KeyedHasher, Policy, Rank};
use crate::client::{self, Admission, Admitted};
use crate::config::EngineConfig;
use crate::ede::Ede;
use crate::io::{Client, Transmit, Transport};
use crate::policy::name::Hasher as NameHasher;
use crate::resolve::delegation::{Cause, ParentGlue};
use crate::resolve::failures::Failures;
use crate::resolve::table::Resolutions;
use crate::resolve::{Ctx, Dependency, Id, Resolution, Step, Until};
use crate::stats::Stats;
use crate::time::Instant;
use crate::timer::{Timer, TimerTable};
use crate::upstream::{Dropped, Matched, Pending, Upstream};
use crate::validate::Validator;

#[cfg(test)]
mod tests;

/// The resolver engine. See the crate docs for the call protocol.
pub struct Engine {
    /// The configuration in force.
    cfg: EngineConfig,
    /// The answer rules from `cfg`.
    shape: Shape,
    /// The record cache.
    cache: Cache<KeyedHasher>,
    /// Resolutions in flight, with the ready and wait queues.
    resolutions: Resolutions,
    /// Questions whose resolution failed recently (RFC 9520).
    failures: Failures,
    /// Parent-side glue, the fallback for a child's wrong addresses.
    glue: ParentGlue,
    /// Upstream queries in flight, the server table, the RNG.
    upstream: Upstream,
    /// Every deadline: one per upstream query, one per resolution.
    timers: TimerTable,
    /// Transmits for the app, at most `Limits::max_transmit_queue`.
    tx: VecDeque<Transmit>,
    /// The counters.
    stats: Stats,
    /// Whether cache hits may take the fast path (tests compare both paths).
    fast_path: bool,
    /// Blocked names, local names and zones, per-domain servers, rebinding filter.
    pub(crate) policy: crate::policy::Policy,
    /// The engine's own lookups ([`Engine::lookup`]).
    pub(crate) lookups: crate::lookup::Lookups,
    /// The DNSSEC validator: anchors, policy, the wall clock.
    val: Validator,
    /// Validated NSEC records kept for RFC 8198 synthesis.
    denials: crate::aggressive::Denials,
    /// Names QNAME minimisation found to exist.
    known: crate::resolve::known::KnownNames,
}

impl Engine {
    /// A new engine. Its RNG is ChaCha20 seeded with `seed`; the hash keys of its tables
    /// are SipHash of `seed` (a PRF, so they reveal nothing of it), so a run is
    /// reproducible from `(config, seed, inputs)`. The keys do not come from the RNG: its
    /// first ChaCha20 block (~5k instructions, milliseconds under an emulating
    /// hypervisor, issue 7) is then made only when a query first needs randomness, not
    /// at boot.
    #[must_use]
    pub fn new(config: EngineConfig, seed: [u8; 32]) -> Engine {
        let key = |i: u8| {
            let mut k = [0u8; 8];
            let (k0, k1) = seed.split_at(8);
            k.copy_from_slice(k0);
            let k0 = u64::from_le_bytes(k);
            k.copy_from_slice(&k1[..8]);
            let k1 = u64::from_le_bytes(k);
            #[allow(deprecated)] // core's SipHasher is deprecated only in favour of std's.
            let mut h = core::hash::SipHasher::new_with_keys(k0, k1);
            core::hash::Hasher::write(&mut h, &[b'e', b'n', b'g', b'i', b'n', b'e', i]);
            core::hash::Hasher::finish(&h)
        };
        let h1 = KeyedHasher::new(key(0), key(1));
        let h2 = KeyedHasher::new(key(2), key(3));
        let h3 = KeyedHasher::new(key(4), key(5));
        let h5 = KeyedHasher::new(key(8), key(9));
        let h4 = KeyedHasher::new(key(6), key(7));
        let policy = Policy::new(
            config.min_ttl,
            config.max_ttl,
            config.max_negative_ttl,
            config.serve_stale,
        );
        let policy_stage =
            crate::policy::Policy::new(&config.policy, NameHasher::new(key(4), key(5)));
        Engine {
            val: Validator::new(&config),
            policy: policy_stage,
            shape: Shape::new(&config),
            cache: Cache::new(config.cache_bytes, policy, h1),
            upstream: Upstream::new(&config, seed, h2),
            failures: Failures::new(config.limits.max_failure_entries, h3),
            denials: crate::aggressive::Denials::new(if config.dnssec.aggressive_nsec {
                config.limits.aggressive_nsec_records as usize
            } else {
                0
            }),
            glue: ParentGlue::new(config.limits.max_parent_glue, h4),
            known: crate::resolve::known::KnownNames::new(config.limits.max_known_names, h5),
            cfg: config,
            resolutions: Resolutions::default(),
            timers: TimerTable::default(),
            tx: VecDeque::new(),
            stats: Stats::default(),
            fast_path: true,
            lookups: crate::lookup::Lookups::default(),
        }
    }

    /// The wall clock read `unix_secs` (seconds since the Unix epoch) at `now`: DNSSEC
    /// checks signature validity against it (sans-IO: the app reads the platform's
    /// wall time and passes it in; once at start and whenever it likes after, the
    /// engine counts on from `now`). Until it is called, or while it reads before the
    /// build date (`DnssecConfig::clock_floor`, unless `trust_clock`), answers under a
    /// trust anchor are insecure rather than bogus.
    pub fn set_wall_clock(&mut self, now: Instant, unix_secs: u64) {
        self.val.set_wall(now, unix_secs);
    }

    /// Mixes outside entropy into the RNG behind query IDs, source ports, 0x20 case and
    /// server jitter: the ChaCha20 key becomes SHA-256 of the generator's next 32 bytes
    /// and `input`. The app feeds it what it sees and an attacker does not (cycle
    /// counts of packet arrivals, a host-provided seed), so a boot seed drawn from
    /// timer jitter alone does not decide every draw for the rest of the run. Never
    /// weakens the key: the old state goes into the hash. Deterministic, so a test can
    /// replay a run from its seed and inputs. The tables' hash keys are not changed.
    pub fn mix_entropy(&mut self, input: &[u8]) {
        self.upstream.mix_entropy(input);
    }

    /// Turn the cache-hit fast path off or on (on by default). Answers are the same
    /// either way; tests use this to compare the two paths.
    #[doc(hidden)]
    pub fn set_fast_path(&mut self, on: bool) {
        self.fast_path = on;
    }

    /// The counters.
    #[must_use]
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// The configuration in force.
    #[must_use]
    pub fn config(&self) -> &EngineConfig {
        &self.cfg
    }

    /// The next datagram or message to send, if any. Call until `None` after every
    /// `handle_*` call.
    #[must_use]
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.tx.pop_front()
    }

    /// The earliest instant at which [`Engine::handle_timeout`] has work to do.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next()
    }

    /// Handle expired timers. Calling it early (or twice) is harmless.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(timer) = self.timers.pop_expired(now) {
            match timer {
                Timer::Upstream(port) => {
                    let _ = self.upstream_failed(port, Cause::Timeout);
                }
                Timer::Resolution(id) => self.fail(now, id, Ede::TIMED_OUT),
                Timer::StaleAnswer(id) => self.answer_stale(now, id),
            }
        }
        self.run(now);
    }

    /// Whether an upstream query is still waiting for its answer on `local_port`. The app
    /// closes an upstream UDP socket once this turns false, so a forged datagram to the
    /// port cannot close it before the real answer arrives.
    #[must_use]
    pub fn upstream_port_in_use(&self, local_port: u16) -> bool {
        self.upstream.get(local_port).is_some()
    }

    /// Internal consistency (for tests and fuzzing): one timer per pending query and per
    /// resolution, the waiter count matches, the wait queue holds exactly the waiting
    /// resolutions (none with a query out), every table within its limit.
    #[doc(hidden)]
    #[must_use]
    pub fn check_invariants(&self) -> bool {
        let l = &self.cfg.limits;
        let res = &self.resolutions;
        res.check_invariants(l.max_waiting_resolutions)
            && self.timers.check_invariants()
            && self.timers.len()
                == self.upstream.len()
                    + res.len()
                    + self.timers.count(|t| matches!(t, Timer::StaleAnswer(_)))
            && self.upstream.iter().all(|(port, p)| {
                self.timers.get(Timer::Upstream(*port)).is_some()
                    && res
                        .get(p.resolution)
                        .is_some_and(|r| r.pending == Some(*port))
            })
            && res
                .iter()
                .all(|(id, _)| self.timers.get(Timer::Resolution(*id)).is_some())
            && res
                .iter()
                .all(|(id, r)| r.depth == 0 || self.timers.get(Timer::StaleAnswer(*id)).is_none())
            && res.client_waiters() <= l.max_client_queries
            && res.len() <= l.max_resolutions
            && self.upstream.len() <= l.max_upstream_in_flight
            && self.tx.len() <= l.max_transmit_queue
            && self.cache.bytes() <= self.cfg.cache_bytes
            && self.glue.len() <= l.max_parent_glue.max(1)
            && self.failures.len() <= l.max_failure_entries.max(1)
            && self.known.len() <= l.max_known_names.max(1)
    }

    // ----------------------------------------------------------------- clients

    /// Handle a query from a client (a UDP payload or one TCP message, unframed).
    pub fn handle_query(&mut self, now: Instant, client: Client, bytes: &[u8]) {
        self.admit_query(now, client, bytes, false);
    }

    /// Admit one of the engine's own queries ([`Engine::lookup`]).
    pub(crate) fn admit_internal(&mut self, now: Instant, bytes: &[u8]) {
        self.admit_query(now, crate::lookup::INTERNAL, bytes, true);
    }

    fn admit_query(&mut self, now: Instant, client: Client, bytes: &[u8], internal: bool) {
        let mut a = Admission {
            internal,
            cfg: &self.cfg,
            shape: &self.shape,
            cache: &mut self.cache,
            resolutions: &mut self.resolutions,
            stats: &mut self.stats,
            fast_path: self.fast_path,
            policy: &self.policy,
        };
        match client::admit(&mut a, now, client, bytes) {
            Admitted::Nothing => {}
            Admitted::Fast(payload) => self.push_tx(Transmit::ToClient { client, payload }),
            Admitted::Bare(rcode, header) => {
                self.count_rcode(rcode);
                self.push_tx(Transmit::ToClient {
                    client,
                    payload: header.to_vec(),
                });
            }
            Admitted::Reply(w, ans) => self.reply(&w, &ans),
            Admitted::ReplyAndPrefetch(w, ans) => {
                self.reply(&w, &ans);
                self.start_prefetch(now, w.query.name(), w.query.query_type());
            }
            Admitted::Resolve(w) => {
                let (name, qtype) = (w.query.name().clone(), w.query.query_type());
                // CD=1 clients skip the failure table: a bogus answer is theirs to see.
                if let Some(ans) = (!w.cd)
                    .then(|| self.recently_failed(now, &name, qtype))
                    .flatten()
                {
                    self.reply(&w, &ans);
                    self.update_gauges();
                    return;
                }
                match self.start(now, name.clone(), qtype, 0) {
                    Some(id) => {
                        self.resolutions.add_waiter(id, w);
                        self.arm_stale_timer(now, id, &name, qtype);
                    }
                    None => self.reply(&w, &Answer::servfail(Ede::RESOLUTIONS_FULL)),
                }
            }
        }
        self.run(now);
        self.update_gauges();
    }

    /// The answer to a question whose resolution failed recently, if it did: stale
    /// data inside serve-stale's failure recheck time (RFC 8767), else SERVFAIL with
    /// the failure's reason while its window lasts (RFC 9520).
    fn recently_failed(&mut self, now: Instant, name: &Name, qtype: RecordType) -> Option<Answer> {
        if self.failures.len() == 0 {
            return None;
        }
        let recheck = self.cfg.limits.stale_failure_recheck;
        if self.cfg.serve_stale.is_some()
            && self.failures.failed_within(now, name, qtype, recheck)
            && let Some(hit) = self
                .cache
                .lookup(now, name, qtype, Rank::NonAuthAnswer, true)
                .filter(|h| h.stale)
        {
            self.stats.stale_served += 1;
            return Some(Answer::from_hit(Vec::new(), hit));
        }
        let ede = self.failures.get(now, name, qtype)?;
        self.stats.failure_cache_hits += 1;
        Some(Answer::servfail(ede))
    }

    /// Serve-stale (RFC 8767 §5): if `name`/`qtype` has stale data, the clients of
    /// resolution `id` wait at most `Limits::stale_answer_timeout` for a fresh answer.
    fn arm_stale_timer(&mut self, now: Instant, id: Id, name: &Name, qtype: RecordType) {
        if self.cfg.serve_stale.is_none() {
            return;
        }
        let stale = self
            .cache
            .lookup(now, name, qtype, Rank::NonAuthAnswer, true)
            .is_some_and(|h| h.stale);
        if stale {
            let at = now.saturating_add(self.cfg.limits.stale_answer_timeout);
            self.timers.set(Timer::StaleAnswer(id), at);
        }
    }

    /// Resolution `id`'s client response timer ran out: answer its clients with the
    /// stale data and let it go on refreshing the cache. Clients that join later wait
    /// for the next round of the timer.
    fn answer_stale(&mut self, now: Instant, id: Id) {
        let Some(r) = self.resolutions.get(id) else {
            return;
        };
        let (name, qtype) = (r.name.clone(), r.qtype);
        let Some(hit) = self
            .cache
            .lookup(now, &name, qtype, Rank::NonAuthAnswer, true)
            .filter(|h| h.stale)
        else {
            return;
        };
        let ans = Answer::from_hit(Vec::new(), hit);
        let waiters = self.resolutions.take_waiters(id);
        self.stats.stale_served += waiters.len() as u64;
        for w in &waiters {
            self.reply(w, &ans);
        }
        let at = now.saturating_add(self.cfg.limits.stale_answer_timeout);
        self.timers.set(Timer::StaleAnswer(id), at);
    }

    /// Count an answer by RCODE.
    fn count_rcode(&mut self, rcode: ResponseCode) {
        match rcode {
            ResponseCode::ServFail => self.stats.servfail += 1,
            ResponseCode::Refused => self.stats.refused += 1,
            ResponseCode::FormErr => self.stats.formerr += 1,
            ResponseCode::NotImp => self.stats.notimp += 1,
            _ => {}
        }
    }

    /// Queue `t` for the app, or drop it if the queue is full. An answer to one of the
    /// engine's own lookups goes to [`Engine::poll_lookup`] instead, never to the app.
    fn push_tx(&mut self, t: Transmit) {
        if let Transmit::ToClient { client, payload } = &t
            && *client == crate::lookup::INTERNAL
        {
            self.lookups.answered(payload);
            return;
        }
        if self.tx.len() >= self.cfg.limits.max_transmit_queue {
            self.stats.transmit_dropped += 1;
            return;
        }
        self.tx.push_back(t);
    }

    /// Send `a` to `w` (full path).
    fn reply(&mut self, w: &Waiter, a: &Answer) {
        self.count_rcode(a.rcode);
        let payload = answer::encode(&self.shape, w, a);
        self.push_tx(Transmit::ToClient {
            client: w.client,
            payload,
        });
    }

    // ----------------------------------------------------------------- resolutions

    /// Start a resolution of `name`/`qtype` at `depth`, with its deadline; `None` at
    /// `max_resolutions`.
    fn start(&mut self, now: Instant, name: Name, qtype: RecordType, depth: u8) -> Option<Id> {
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
    fn start_prefetch(&mut self, now: Instant, name: &Name, qtype: RecordType) {
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
    fn run(&mut self, now: Instant) {
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
    fn drive(&mut self, now: Instant, id: Id) {
        loop {
            let Some(deadline) = self.timers.get(Timer::Resolution(id)) else {
                return;
            };
            let lookups_left = self.tree_left(id).1;
            let verifs_left = self.verifs_left(id);
            let Some(r) = self.resolutions.get_mut(id) else {
                return;
            };
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
            let step = r.advance(&mut ctx, deadline);
            let spent = ctx.verifs_done;
            let prime = ctx.prime.take();
            self.resolutions.charge_verifs(id, spent);
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

    /// What `id`'s tree may still spend: upstream queries and glueless NS lookups
    /// (none once its root is gone).
    fn tree_left(&self, id: Id) -> (u16, u8) {
        let l = &self.cfg.limits;
        self.resolutions.spent(id).map_or((0, 0), |s| {
            (
                l.max_upstream_per_client_query.saturating_sub(s.sent),
                l.max_ns_lookups_per_client_query.saturating_sub(s.lookups),
            )
        })
    }

    /// DNSSEC verifications `id`'s tree may still spend.
    fn verifs_left(&self, id: Id) -> u32 {
        let max = self.cfg.limits.dnssec_verifications_per_client_query;
        self.resolutions
            .spent(id)
            .map_or(0, |s| max.saturating_sub(s.verifs))
    }

    /// Apply `step`, which resolution `id` returned.
    fn apply(&mut self, now: Instant, id: Id, step: Step) {
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
    fn prime_keys(&mut self, now: Instant, id: Id, zone: Name) {
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
    fn need(&mut self, now: Instant, id: Id, dep: &Dependency) -> bool {
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
    fn fail(&mut self, now: Instant, id: Id, ede: Ede) {
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
    fn finish(&mut self, id: Id, ans: Answer) {
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
    fn release(&mut self, child: Id, parent: Id) {
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
    fn wake_waiting(&mut self) -> bool {
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
    fn update_gauges(&mut self) {
        self.stats.cache_bytes = self.cache.bytes() as u64;
        self.stats.cache_entries = self.cache.len() as u64;
        self.stats.aggressive_nsec_records = self.denials.len() as u64;
        self.stats.cache_evictions = self.cache.evictions();
        self.stats.in_flight_resolutions = self.resolutions.len() as u64;
        self.stats.in_flight_upstream = self.upstream.len() as u64;
        self.stats.waiting = self.resolutions.waiting() as u64;
        self.stats.failure_entries = self.failures.len() as u64;
    }

    // ----------------------------------------------------------------- upstream

    /// Send resolution `id`'s next question to `server`. False if no port is free or
    /// it did not encode.
    fn send(&mut self, now: Instant, id: Id, server: SocketAddr, transport: Transport) -> bool {
        let Some(r) = self.resolutions.get_mut(id) else {
            return false;
        };
        let ask = r.next_question();
        let Some(sent) = self
            .upstream
            .send(now, &self.cfg, id, ask, server, transport)
        else {
            return false;
        };
        self.timers.set(Timer::Upstream(sent.port), sent.deadline);
        r.sent_to(server, sent.port);
        self.resolutions.charge(id, 1, 0);
        self.stats.upstream_queries += 1;
        if transport.is_tcp() {
            self.stats.upstream_tcp += 1;
        }
        self.push_tx(Transmit::ToServer {
            server,
            local_port: sent.port,
            transport,
            payload: sent.payload,
        });
        true
    }

    /// Remove a pending upstream query and its timer, and free its slot at the server.
    fn take_pending(&mut self, port: u16) -> Option<Pending> {
        self.timers.cancel(Timer::Upstream(port));
        self.upstream.take(port)
    }

    /// A pending query ended without a usable answer (timeout, error, or a retry):
    /// free it and let its resolution try elsewhere.
    fn upstream_failed(&mut self, port: u16, cause: Cause) -> Option<Pending> {
        let p = self.take_pending(port)?;
        if cause != Cause::Retry {
            self.upstream.servers.penalize(&p.server, &self.cfg.limits);
            self.stats.timeouts += 1;
        }
        if let Some(r) = self.resolutions.get_mut(p.resolution)
            && r.query_failed(port, cause)
        {
            self.resolutions.push_ready(p.resolution);
        }
        Some(p)
    }

    /// An upstream query could not be delivered (TCP connect failure, ICMP unreachable):
    /// treat it as timed out now and try elsewhere.
    pub fn handle_upstream_error(
        &mut self,
        now: Instant,
        server: SocketAddr,
        local_port: u16,
        transport: Transport,
    ) {
        if self.upstream.is_for(local_port, server, transport) {
            let _ = self.upstream_failed(local_port, Cause::Unreachable);
            self.run(now);
        }
    }

    /// The app's network stack holds the UDP query to `server` from `local_port`: it
    /// has not left (its next hop's ARP/NDP answer, or a free socket, is awaited).
    /// The wait is not the server's: its timeout waits for
    /// [`handle_upstream_sent`](Self::handle_upstream_sent), or
    /// [`upstream::UPSTREAM_HOLD`](crate::UPSTREAM_HOLD) past its timeout.
    pub fn handle_upstream_held(&mut self, now: Instant, server: SocketAddr, local_port: u16) {
        if let Some(at) = self.upstream.held(now, &self.cfg, local_port, server) {
            self.timers.set(Timer::Upstream(local_port), at);
        }
    }

    /// A held UDP query (see [`handle_upstream_held`](Self::handle_upstream_held)) has
    /// left now: its timeout and RTT run from now.
    pub fn handle_upstream_sent(&mut self, now: Instant, server: SocketAddr, local_port: u16) {
        if let Some(at) = self.upstream.departed(now, &self.cfg, local_port, server) {
            self.timers.set(Timer::Upstream(local_port), at);
        }
    }

    /// Handle a message from an upstream server, received on `local_port`.
    pub fn handle_response(
        &mut self,
        now: Instant,
        from: SocketAddr,
        local_port: u16,
        transport: Transport,
        bytes: &[u8],
    ) {
        self.upstream_response(now, from, local_port, transport, bytes);
        self.run(now);
    }

    /// Match a response, then let its resolution react (see `handle_response`).
    fn upstream_response(
        &mut self,
        now: Instant,
        from: SocketAddr,
        port: u16,
        transport: Transport,
        bytes: &[u8],
    ) {
        let msg = match self.upstream.on_response(from, port, transport, bytes) {
            Matched::Dropped(why) => {
                let s = &mut self.stats;
                *match why {
                    Dropped::UnknownPort => &mut s.dropped_unknown_port,
                    Dropped::WrongSource => &mut s.dropped_wrong_source,
                    Dropped::QuestionMismatch => &mut s.dropped_question_mismatch,
                    Dropped::Malformed => &mut s.dropped_malformed,
                    Dropped::IdMismatch => &mut s.dropped_id_mismatch,
                    Dropped::CaseMismatch => &mut s.dropped_case_mismatch,
                } += 1;
                return;
            }
            Matched::Retry => {
                self.stats.dropped_case_mismatch += 1;
                if let Some(p) = self.upstream_failed(port, Cause::Retry)
                    && let Some(r) = self.resolutions.get_mut(p.resolution)
                {
                    r.forget_tries(p.server);
                }
                return;
            }
            Matched::Accepted(msg) => msg,
        };
        // Accepted: this query is answered.
        let Some(p) = self.take_pending(port) else {
            return;
        };
        let rtt = now.saturating_duration_since(p.sent_at);
        self.upstream.servers.sample(&p.server, rtt);
        let verifs_left = self.verifs_left(p.resolution);
        let Some(r) = self.resolutions.get_mut(p.resolution) else {
            return;
        };
        if !r.answered(port) {
            return;
        }
        let mut ctx = Ctx {
            now,
            cfg: &self.cfg,
            cache: &mut self.cache,
            upstream: &mut self.upstream,
            stats: &mut self.stats,
            policy: &self.policy,
            glue: &mut self.glue,
            lookups_left: 0,
            val: &self.val,
            verifs_left,
            verifs_done: 0,
            failures: &mut self.failures,
            denials: &mut self.denials,
            known: &mut self.known,
            prime: None,
        };
        let step = r.on_response(&mut ctx, &p, &msg);
        let spent = ctx.verifs_done;
        self.resolutions.charge_verifs(p.resolution, spent);
        self.apply(now, p.resolution, step);
    }
}
