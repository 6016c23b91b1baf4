//! The engine: the public sans-IO API over the modules that own the state. It holds
//! the tables, runs admission ([`crate::client`]), advances resolutions
//! ([`crate::resolve`]) and applies the [`Step`]s they return, and routes upstream
//! events ([`crate::upstream`]) and timers ([`crate::timer`]). This file holds the
//! state, the public API and client admission; `tree` the resolution tree (driving
//! resolutions, their dependencies, their end); `upstream_io` sending and the upstream
//! events.

use alloc::collections::VecDeque;
use alloc::vec::Vec;

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{Name, RecordType};

use crate::answer::{self, Answer, Shape, Waiter};
use crate::cache::{Cache, KeyedHasher, Policy, Rank};
use crate::client::{self, Admission, Admitted};
use crate::config::EngineConfig;
use crate::ede::Ede;
use crate::io::{Client, Transmit};
use crate::policy::name::Hasher as NameHasher;
use crate::resolve::Id;
use crate::resolve::delegation::{Cause, ParentGlue};
use crate::resolve::failures::Failures;
use crate::resolve::table::Resolutions;
use crate::stats::Stats;
use crate::time::Instant;
use crate::timer::{Timer, TimerTable};
use crate::upstream::Upstream;
use crate::validate::Validator;

#[cfg(test)]
mod tests;
mod tree;
mod upstream_io;

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
}
