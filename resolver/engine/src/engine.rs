//! The engine state machine: client service, resolutions, upstream queries, timers.

use alloc::collections::{BTreeMap, BTreeSet, VecDeque};
use alloc::vec::Vec;
use core::net::{IpAddr, SocketAddr};
use core::num::NonZeroUsize;
use core::time::Duration;

use chacha20::ChaCha20Rng;
use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};
use lru::LruCache;
use rand_core::{Rng, SeedableRng};

use crate::answer::{self, Answer, CachedChain, Shape, Waiter};
use crate::cache::{Cache, Data, Hit, KeyedHasher, Policy, Rank};
use crate::chain::{self, Walk};
use crate::config::{EngineConfig, Mode};
use crate::ede::Ede;
use crate::io::{Client, Transmit, Transport};
use crate::scrub::{Meaning, classify};
use crate::stats::Stats;
use crate::time::Instant;
use crate::wire::header::{Header, ReplyFlags, question_count};
use crate::wire::question::Question;
use crate::{policy, validate};

type TaskId = u64;

/// A named deadline; `poll_timeout()` is the first of the timer set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Timer {
    /// The upstream query on this local port times out.
    Upstream(u16),
    /// The resolution's total time runs out.
    Resolution(TaskId),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum NsState {
    Known,
    Unresolved,
    Resolving(TaskId),
    Failed,
}

#[derive(Clone, Debug)]
struct NsSlot {
    name: Name,
    addrs: Vec<SocketAddr>,
    state: NsState,
    /// The A lookup for this name found nothing; the next one asks AAAA (`use_ipv6`).
    want_aaaa: bool,
}

impl NsSlot {
    /// A slot for `name`: known if it has addresses, else still to be resolved.
    fn new(name: Name, addrs: Vec<SocketAddr>) -> NsSlot {
        let state = if addrs.is_empty() {
            NsState::Unresolved
        } else {
            NsState::Known
        };
        NsSlot {
            name,
            addrs,
            state,
            want_aaaa: false,
        }
    }
}

#[derive(Clone, Debug)]
struct Delegation {
    zone: Name,
    ns: Vec<NsSlot>,
    /// Addresses queried for this delegation and how often.
    tried: Vec<(SocketAddr, u8)>,
    children_started: u8,
    /// How the queries to this delegation's servers failed, for the EDE when all did.
    failures: Failures,
}

/// How an upstream query ended without an answer to use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cause {
    /// No answer in time.
    Timeout,
    /// The netstack could not deliver it (connect failed, unreachable).
    Unreachable,
    /// Given up on to ask again at once (0x20 case mismatches); not a failure.
    Retry,
}

/// Counts of the ways a delegation's servers failed.
#[derive(Clone, Copy, Debug, Default)]
struct Failures {
    /// Queries that timed out.
    timeouts: u8,
    /// Queries that could not be delivered.
    unreachable: u8,
    /// Answers that were lame (or SERVFAIL, REFUSED, a referral from a forwarder).
    lame: u8,
}

impl Failures {
    /// The EDE for a delegation none of whose servers gave an answer: any timeout
    /// makes it 22 No Reachable Authority; else network errors 23; else lame answers 20.
    fn ede(&self) -> Ede {
        if self.timeouts > 0 {
            Ede::TIMED_OUT
        } else if self.unreachable > 0 {
            Ede::UNREACHABLE
        } else if self.lame > 0 {
            Ede::LAME
        } else {
            Ede::TIMED_OUT
        }
    }
}

impl Delegation {
    fn tries(&self, a: SocketAddr) -> u8 {
        self.tried
            .iter()
            .find(|(s, _)| *s == a)
            .map_or(0, |(_, n)| *n)
    }

    fn bump(&mut self, a: SocketAddr, by: u8) {
        if let Some(e) = self.tried.iter_mut().find(|(s, _)| *s == a) {
            e.1 = e.1.saturating_add(by);
        } else {
            self.tried.push((a, by));
        }
    }
}

/// One resolution of one question; coalesces every client asking it.
#[derive(Debug)]
struct Task {
    name: Name,
    qtype: RecordType,
    cur: Name,
    chain: Vec<Record>,
    waiters: Vec<Waiter>,
    parents: Vec<TaskId>,
    depth: u8,
    deadline: Instant,
    sent: u16,
    referrals: u8,
    links: u8,
    deleg: Option<Delegation>,
    pending: Option<u16>,
    skip_cache: bool,
    /// QNAME minimisation: labels below the zone cut to reveal next; `None`: off.
    qmin: Option<u8>,
    /// Times this resolution gave up on a cached delegation and asked the parent zone.
    fallbacks: u8,
    /// Whether the current delegation came from the cache (not from a referral).
    deleg_cached: bool,
    /// In the wait queue for an upstream slot (`Engine::waiting`).
    waiting: bool,
}

/// What [`Engine::pick_server`] found for a resolution's next query.
enum Pick {
    /// Send to this server.
    Send(SocketAddr),
    /// Every server left to try is at its in-flight cap; this is the best of them.
    Wait(SocketAddr),
    /// No server with a known address is left to try.
    None,
}

#[derive(Clone, Debug)]
struct Pending {
    task: TaskId,
    server: SocketAddr,
    id: u16,
    qname: Name,
    qtype: RecordType,
    tcp: bool,
    edns: bool,
    sent_at: Instant,
    deadline: Instant,
    zone: Name,
}

#[derive(Clone, Copy, Debug)]
struct ServerInfo {
    srtt: Duration,
    samples: u32,
    no_edns: bool,
    no_0x20: bool,
    case_mismatches: u8,
    in_flight: u16,
}

/// The resolver engine. See the crate docs for the call protocol.
pub struct Engine {
    cfg: EngineConfig,
    rng: ChaCha20Rng,
    cache: Cache<KeyedHasher>,
    tasks: BTreeMap<TaskId, Task>,
    index: BTreeMap<(Name, u16), TaskId>,
    pending: BTreeMap<u16, Pending>,
    timers: BTreeSet<(Instant, Timer)>,
    servers: LruCache<SocketAddr, ServerInfo, KeyedHasher>,
    tx: VecDeque<Transmit>,
    ready: VecDeque<TaskId>,
    /// Resolutions waiting for an upstream slot, oldest first, each with the server it
    /// waits for. At most `max_waiting_resolutions`.
    waiting: VecDeque<(TaskId, SocketAddr)>,
    /// An upstream slot was freed (or a woken resolution ran) since the wait queue was
    /// last looked at.
    slot_freed: bool,
    next_task: TaskId,
    client_waiters: usize,
    stats: Stats,
    /// Whether cache hits may take the fast path (tests compare both paths).
    fast_path: bool,
    /// The answer rules from `cfg`.
    shape: Shape,
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
        let rng = ChaCha20Rng::from_seed(seed);
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
        let policy = Policy::new(
            config.min_ttl,
            config.max_ttl,
            config.max_negative_ttl,
            config.serve_stale,
        );
        let servers_cap =
            NonZeroUsize::new(config.limits.max_server_entries.max(1)).unwrap_or(NonZeroUsize::MIN);
        Engine {
            shape: Shape::new(&config),
            cache: Cache::new(config.cache_bytes, policy, h1),
            servers: LruCache::with_hasher(servers_cap, h2),
            cfg: config,
            rng,
            tasks: BTreeMap::new(),
            index: BTreeMap::new(),
            pending: BTreeMap::new(),
            timers: BTreeSet::new(),
            tx: VecDeque::new(),
            ready: VecDeque::new(),
            waiting: VecDeque::new(),
            slot_freed: false,
            next_task: 1,
            client_waiters: 0,
            stats: Stats::default(),
            fast_path: true,
        }
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
        self.timers.first().map(|(t, _)| *t)
    }

    /// Handle expired timers. Calling it early (or twice) is harmless.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(&(at, timer)) = self.timers.first() {
            if at > now {
                break;
            }
            self.timers.remove(&(at, timer));
            match timer {
                Timer::Upstream(port) => self.upstream_failed(now, port, Cause::Timeout),
                Timer::Resolution(tid) => {
                    if let Some(task) = self.tasks.remove(&tid) {
                        self.fail(now, tid, task, Ede::TIMED_OUT);
                    }
                }
            }
        }
        self.run(now);
    }

    /// Whether an upstream query is still waiting for its answer on `local_port`. The app
    /// closes an upstream UDP socket once this turns false, so a forged datagram to the
    /// port cannot close it before the real answer arrives.
    #[must_use]
    pub fn upstream_port_in_use(&self, local_port: u16) -> bool {
        self.pending.contains_key(&local_port)
    }

    /// Internal consistency (for tests and fuzzing): one timer per pending query and per
    /// resolution, the waiter count matches, the wait queue holds exactly the waiting
    /// resolutions (none with a query out), every table within its limit.
    #[doc(hidden)]
    #[must_use]
    pub fn check_invariants(&self) -> bool {
        let waiters: usize = self.tasks.values().map(|t| t.waiters.len()).sum();
        let l = &self.cfg.limits;
        let marked = self.tasks.values().filter(|t| t.waiting).count();
        marked == self.waiting.len()
            && self.waiting.iter().all(|(tid, _)| {
                self.tasks
                    .get(tid)
                    .is_some_and(|t| t.waiting && t.pending.is_none())
            })
            && self.waiting.len() <= l.max_waiting_resolutions
            && self.timers.len() == self.pending.len() + self.tasks.len()
            && self.pending.iter().all(|(port, p)| {
                self.timers.contains(&(p.deadline, Timer::Upstream(*port)))
                    && self
                        .tasks
                        .get(&p.task)
                        .is_some_and(|t| t.pending == Some(*port))
            })
            && self
                .tasks
                .iter()
                .all(|(id, t)| self.timers.contains(&(t.deadline, Timer::Resolution(*id))))
            && waiters == self.client_waiters
            && self.client_waiters <= l.max_client_queries
            && self.tasks.len() <= l.max_resolutions
            && self.pending.len() <= l.max_upstream_in_flight
            && self.tx.len() <= l.max_transmit_queue
            && self.index.len() <= self.tasks.len()
            && self.cache.bytes() <= self.cfg.cache_bytes
    }

    /// Remove a pending upstream query and its timer, and free its slot at the server.
    fn take_pending(&mut self, port: u16) -> Option<Pending> {
        let p = self.pending.remove(&port)?;
        self.timers.remove(&(p.deadline, Timer::Upstream(port)));
        if let Some(i) = self.servers.get_mut(&p.server) {
            i.in_flight = i.in_flight.saturating_sub(1);
        }
        self.slot_freed = true;
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
        let matches = self
            .pending
            .get(&local_port)
            .is_some_and(|p| p.server == server && p.tcp == transport.is_tcp());
        if matches {
            self.upstream_failed(now, local_port, Cause::Unreachable);
            self.run(now);
        }
    }

    // ----------------------------------------------------------------- client side

    fn allowed(&self, ip: IpAddr) -> bool {
        self.cfg.allow.iter().any(|c| c.contains(ip))
    }

    /// Handle a query from a client (a UDP payload or one TCP message, unframed).
    pub fn handle_query(&mut self, now: Instant, client: Client, bytes: &[u8]) {
        self.client_query(now, client, bytes);
        self.run(now);
        self.update_gauges();
    }

    fn header_reply(&mut self, client: Client, bytes: &[u8], rcode: ResponseCode) {
        // A bare header echoing ID, opcode and RD: for queries we could not parse.
        let Some(h) = Header::new_checked(bytes) else {
            return;
        };
        let flags = ReplyFlags {
            opcode: h.opcode(),
            rd: h.rd(),
            cd: false,
            tc: false,
            rcode,
        };
        self.count_rcode(rcode);
        self.push_tx(Transmit::ToClient {
            client,
            payload: flags.bare(h.id()).to_vec(),
        });
    }

    fn client_query(&mut self, now: Instant, client: Client, bytes: &[u8]) {
        let Some(h) = Header::new_checked(bytes) else {
            // Too short for a header: never answer.
            self.stats.client_dropped += 1;
            return;
        };
        if h.is_response() {
            // Too short for a header, or a response: never answer (no reflection loops).
            self.stats.client_dropped += 1;
            return;
        }
        if self.fast_answer(now, client, bytes) {
            return;
        }
        let id = h.id();
        // Only one question is ever answered (`waiter_of`), and hickory reserves room for
        // every question the header claims before it reads the first: 65535 claimed
        // questions are a 5.8 MB allocation from a 12-byte datagram, which halted an hvt
        // image booted with --mem=8 and leaves glibc's heap 4x its live size on unix
        // (`cargo xtask torture`, items 4 and 9). Never parse any other count.
        let parsed = (question_count(bytes) == Some(1))
            .then(|| Message::from_vec(bytes).ok())
            .flatten();
        if !self.allowed(client.addr.ip()) {
            let w = parsed.and_then(|m| Self::waiter_of(client, &m));
            match w {
                Some(w) => self.reply(
                    &w,
                    // Over UDP the refusal must never be larger than the query, or an
                    // outside address can be used as an amplifier: the 6-byte EDE option
                    // made a minimal EDNS query's REFUSED 1.18× its size (`cargo xtask
                    // torture`, item 6). TCP cannot be spoofed: keep it.
                    &Answer::error(
                        ResponseCode::Refused,
                        w.client.transport.is_tcp().then_some(Ede::PROHIBITED),
                    ),
                ),
                None => self.header_reply(client, bytes, ResponseCode::Refused),
            }
            return;
        }
        if h.opcode() != 0 {
            self.header_reply(client, bytes, ResponseCode::NotImp);
            return;
        }
        let Some(msg) = parsed else {
            self.header_reply(client, bytes, ResponseCode::FormErr);
            return;
        };
        let Some(w) = Self::waiter_of(client, &msg) else {
            self.header_reply(client, bytes, ResponseCode::FormErr);
            return;
        };
        debug_assert_eq!(w.id, id);
        if msg.edns.as_ref().is_some_and(|e| e.version() > 0) {
            self.reply(&w, &Answer::error(ResponseCode::BADVERS, None));
            return;
        }
        let q = &w.query;
        let qtype = q.query_type();
        if q.query_class() != DNSClass::IN {
            self.reply(
                &w,
                &Answer::error(ResponseCode::NotImp, Some(Ede::NOT_SUPPORTED)),
            );
            return;
        }
        match qtype {
            RecordType::AXFR | RecordType::IXFR => {
                self.reply(
                    &w,
                    &Answer::error(ResponseCode::NotImp, Some(Ede::NOT_SUPPORTED)),
                );
                return;
            }
            RecordType::OPT | RecordType::TSIG => {
                self.reply(&w, &Answer::error(ResponseCode::FormErr, None));
                return;
            }
            _ => {}
        }
        if policy::on_query() == policy::Verdict::Stop {
            return;
        }
        self.stats.queries += 1;
        let qname = q.name().clone();
        if qtype == RecordType::ANY {
            // RFC 8482: a minimal synthesized answer instead of everything we know.
            self.stats.cache_hits += 1;
            self.reply(&w, &Answer::any(qname));
            return;
        }
        if let Some((ans, prefetch)) =
            answer::cached(&mut self.cache, &self.shape, now, &qname, qtype)
        {
            self.stats.cache_hits += 1;
            self.reply(&w, &ans);
            if prefetch {
                self.start_prefetch(now, &qname, qtype);
            }
            return;
        }
        if !w.rd {
            // Non-recursive query and nothing cached: we are not authoritative.
            self.reply(
                &w,
                &Answer::error(ResponseCode::Refused, Some(Ede::NOT_AUTHORITATIVE)),
            );
            return;
        }
        self.stats.cache_misses += 1;
        if self.client_waiters >= self.cfg.limits.max_client_queries {
            self.reply(&w, &Answer::servfail(Ede::CLIENTS_FULL));
            return;
        }
        let key = (qname.to_lowercase(), u16::from(qtype));
        if let Some(&tid) = self.index.get(&key) {
            let max = self.cfg.limits.max_waiters_per_resolution;
            if let Some(task) = self.tasks.get_mut(&tid) {
                if task
                    .waiters
                    .iter()
                    .any(|o| o.client == w.client && o.id == w.id)
                {
                    return; // a retransmission: the answer is on its way
                }
                if task.waiters.len() >= max {
                    self.reply(&w, &Answer::servfail(Ede::WAITERS_FULL));
                    return;
                }
                task.waiters.push(w);
                self.client_waiters += 1;
                self.stats.coalesced += 1;
                return;
            }
        }
        match self.new_task(now, qname, qtype, 0) {
            Some(tid) => {
                if let Some(task) = self.tasks.get_mut(&tid) {
                    task.waiters.push(w);
                    self.client_waiters += 1;
                }
            }
            None => self.reply(&w, &Answer::servfail(Ede::RESOLUTIONS_FULL)),
        }
    }

    /// The cache-hit fast path (`fast.rs`): answer a standard query from fresh cached
    /// data without building a `Message`, and return true; or return false and leave the
    /// query to the full path. Declining changes nothing but the recency of the cache
    /// entries looked at, which the full path then looks at again in the same order.
    ///
    /// It covers what `client_query` and `cached_answer` do for a fresh hit from an
    /// allowed client: positive answers, CNAME chains, NODATA and NXDOMAIN with their
    /// SOA, any RD, with or without EDNS, UDP and TCP. It declines malformed or unusual
    /// queries, ANY and the other special types, expired entries, a hit due for a
    /// prefetch, and an answer larger than the client's limit (the full path sets TC).
    fn fast_answer(&mut self, now: Instant, client: Client, bytes: &[u8]) -> bool {
        if !self.fast_path {
            return false;
        }
        let Some(q) = Question::parse(bytes) else {
            return false;
        };
        if !self.allowed(client.addr.ip()) {
            return false;
        }
        let Some(payload) =
            answer::fast::reply(&mut self.cache, &self.shape, now, client.transport, &q)
        else {
            return false;
        };
        self.stats.queries += 1;
        self.stats.cache_hits += 1;
        self.stats.fast_path_hits += 1;
        self.push_tx(Transmit::ToClient { client, payload });
        true
    }

    fn waiter_of(client: Client, msg: &Message) -> Option<Waiter> {
        if msg.queries.len() != 1 || msg.message_type != MessageType::Query {
            return None;
        }
        let query = msg.queries.first()?.clone();
        Some(Waiter {
            client,
            id: msg.id,
            query,
            rd: msg.recursion_desired,
            cd: msg.checking_disabled,
            edns: msg.edns.as_ref().map(Edns::max_payload),
        })
    }

    fn count_rcode(&mut self, rcode: ResponseCode) {
        match rcode {
            ResponseCode::ServFail => self.stats.servfail += 1,
            ResponseCode::Refused => self.stats.refused += 1,
            ResponseCode::FormErr => self.stats.formerr += 1,
            ResponseCode::NotImp => self.stats.notimp += 1,
            _ => {}
        }
    }

    fn push_tx(&mut self, t: Transmit) {
        if self.tx.len() >= self.cfg.limits.max_transmit_queue {
            self.stats.transmit_dropped += 1;
            return;
        }
        self.tx.push_back(t);
    }

    fn reply(&mut self, w: &Waiter, a: &Answer) {
        self.count_rcode(a.rcode);
        let payload = answer::encode(&self.shape, w, a);
        self.push_tx(Transmit::ToClient {
            client: w.client,
            payload,
        });
    }

    // ----------------------------------------------------------------- resolutions

    fn new_task(
        &mut self,
        now: Instant,
        name: Name,
        qtype: RecordType,
        depth: u8,
    ) -> Option<TaskId> {
        if self.tasks.len() >= self.cfg.limits.max_resolutions {
            return None;
        }
        let tid = self.next_task;
        self.next_task += 1;
        let key = (name.to_lowercase(), u16::from(qtype));
        let deadline = now.saturating_add(self.cfg.limits.query_timeout);
        self.timers.insert((deadline, Timer::Resolution(tid)));
        let qmin = (self.cfg.qname_minimisation && matches!(self.cfg.mode, Mode::Recursive { .. }))
            .then_some(1);
        self.tasks.insert(
            tid,
            Task {
                cur: name.clone(),
                name,
                qtype,
                chain: Vec::new(),
                waiters: Vec::new(),
                parents: Vec::new(),
                depth,
                deadline,
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
            },
        );
        self.index.insert(key, tid);
        self.ready.push_back(tid);
        Some(tid)
    }

    fn start_prefetch(&mut self, now: Instant, name: &Name, qtype: RecordType) {
        let key = (name.to_lowercase(), u16::from(qtype));
        if self.index.contains_key(&key) || self.tasks.len() * 2 >= self.cfg.limits.max_resolutions
        {
            return;
        }
        if let Some(tid) = self.new_task(now, name.clone(), qtype, 0) {
            if let Some(t) = self.tasks.get_mut(&tid) {
                t.skip_cache = true;
            }
            self.stats.prefetches += 1;
        }
    }

    fn run(&mut self, now: Instant) {
        loop {
            while let Some(tid) = self.ready.pop_front() {
                if let Some(task) = self.tasks.remove(&tid) {
                    self.advance(now, tid, task);
                }
            }
            if !self.wake_waiting() {
                break;
            }
        }
        self.update_gauges();
    }

    /// Put a resolution that has to send to `server` but finds no upstream slot into
    /// the wait queue; false (and nothing changed) if the queue is full.
    fn wait_for_slot(&mut self, tid: TaskId, task: &mut Task, server: SocketAddr) -> bool {
        if self.waiting.len() >= self.cfg.limits.max_waiting_resolutions {
            self.stats.wait_queue_full += 1;
            return false;
        }
        task.waiting = true;
        self.waiting.push_back((tid, server));
        self.stats.waited += 1;
        true
    }

    /// Move waiting resolutions whose server has a free slot (and for which a local
    /// port is free) to the ready queue, oldest first, at most one per free slot.
    /// Returns whether any moved; then it must be called again after they ran, since a
    /// woken resolution may pick another server and leave its slot to the next one.
    fn wake_waiting(&mut self) -> bool {
        if !self.slot_freed || self.waiting.is_empty() {
            self.slot_freed = false;
            return false;
        }
        self.slot_freed = false;
        let cap = self.cfg.limits.max_in_flight_per_server;
        let mut ports = self
            .cfg
            .limits
            .max_upstream_in_flight
            .saturating_sub(self.pending.len());
        // Free slots per server seen in this pass (a handful of servers at most).
        let mut free: Vec<(SocketAddr, u16)> = Vec::new();
        let mut woke = false;
        let (servers, tasks, ready) = (&self.servers, &mut self.tasks, &mut self.ready);
        self.waiting.retain(|&(tid, server)| {
            let i = free
                .iter()
                .position(|(s, _)| *s == server)
                .unwrap_or_else(|| {
                    let used = servers.peek(&server).map_or(0, |i| i.in_flight);
                    free.push((server, cap.saturating_sub(used)));
                    free.len() - 1
                });
            let Some(t) = tasks.get_mut(&tid) else {
                return false; // gone (cannot happen: `finish` takes it out)
            };
            let Some((_, slot)) = free.get_mut(i) else {
                return true;
            };
            if ports == 0 || *slot == 0 {
                return true;
            }
            *slot -= 1;
            ports -= 1;
            t.waiting = false;
            ready.push_back(tid);
            woke = true;
            false
        });
        self.slot_freed = woke;
        woke
    }

    fn update_gauges(&mut self) {
        self.stats.cache_bytes = self.cache.bytes() as u64;
        self.stats.cache_entries = self.cache.len() as u64;
        self.stats.cache_evictions = self.cache.evictions();
        self.stats.in_flight_resolutions = self.tasks.len() as u64;
        self.stats.in_flight_upstream = self.pending.len() as u64;
        self.stats.waiting = self.waiting.len() as u64;
    }

    /// Move a resolution forward until it waits (on a server, a sub-resolution or a
    /// free upstream slot) or ends. The task has been taken out of the table; this puts
    /// it back if it lives on. A resolution in the wait queue stays there until
    /// `wake_waiting` moves it (a sub-resolution that ended meanwhile left its result
    /// in the delegation, where the woken resolution finds it).
    fn advance(&mut self, now: Instant, tid: TaskId, mut task: Task) {
        if task.pending.is_some() || task.waiting {
            self.tasks.insert(tid, task);
            return;
        }
        let max_links = self.cfg.limits.max_cname_chain;
        loop {
            if now >= task.deadline {
                return self.fail(now, tid, task, Ede::TIMED_OUT);
            }
            if !task.skip_cache {
                let before = task.chain.len();
                let mut c = CachedChain {
                    cache: &mut self.cache,
                    now,
                    qtype: task.qtype,
                    links: core::mem::take(&mut task.chain),
                };
                let cnames = task.qtype != RecordType::CNAME;
                let budget = max_links.saturating_sub(task.links);
                let walk = chain::walk(&mut c, task.cur.clone(), cnames, budget);
                let followed = c.links.len().saturating_sub(before);
                task.chain = c.links;
                match walk {
                    Walk::Data((hit, _)) => {
                        let chain = core::mem::take(&mut task.chain);
                        let ans = Answer::from_hit(chain, hit);
                        return self.finish(now, tid, task, ans);
                    }
                    Walk::TooLong(_) => return self.fail(now, tid, task, Ede::CHAIN_TOO_LONG),
                    Walk::End(at) => {
                        if followed > 0 {
                            task.links = task
                                .links
                                .saturating_add(u8::try_from(followed).unwrap_or(u8::MAX));
                            task.cur = at;
                            task.deleg = None;
                        }
                    }
                }
            }
            task.skip_cache = false;
            if task.deleg.is_none() {
                task.deleg = Some(self.find_delegation(now, &task.cur));
                task.deleg_cached = true;
            }
            if task.sent >= self.cfg.limits.max_upstream_per_query {
                return self.fail(now, tid, task, Ede::BUDGET);
            }
            let pick = match self.pick_server(&task) {
                Pick::Send(server) => Some((server, false)),
                Pick::Wait(server) => Some((server, true)),
                Pick::None => None,
            };
            if let Some((server, busy)) = pick {
                // Every candidate at its cap, or no local port free: wait for a slot
                // rather than fail a burst (or fall back to slower ways).
                let ports_full = self.pending.len() >= self.cfg.limits.max_upstream_in_flight;
                let (queued, why) = if busy || ports_full {
                    (
                        self.wait_for_slot(tid, &mut task, server),
                        Ede::WAIT_QUEUE_FULL,
                    )
                } else {
                    (self.send(now, tid, &mut task, server, false), Ede::NO_PORT)
                };
                if queued {
                    self.tasks.insert(tid, task);
                    return;
                }
                return self.fail(now, tid, task, why);
            }
            // No server with a known address is left: resolve NS names without glue.
            let Some(deleg) = task.deleg.as_mut() else {
                return self.fail(now, tid, task, Ede::INTERNAL);
            };
            if deleg
                .ns
                .iter()
                .any(|s| matches!(s.state, NsState::Resolving(_)))
            {
                self.tasks.insert(tid, task);
                return;
            }
            let can_spawn = deleg.children_started
                < self.cfg.limits.max_ns_resolutions_per_delegation
                && task.depth < self.cfg.limits.max_subquery_depth;
            let slot = deleg.ns.iter().position(|s| s.state == NsState::Unresolved);
            if let (true, Some(i)) = (can_spawn, slot) {
                let Some((ns_name, want_aaaa)) =
                    deleg.ns.get(i).map(|s| (s.name.clone(), s.want_aaaa))
                else {
                    return self.fail(now, tid, task, Ede::INTERNAL);
                };
                deleg.children_started = deleg.children_started.saturating_add(1);
                let rtype = if want_aaaa {
                    RecordType::AAAA
                } else {
                    RecordType::A
                };
                let key = (ns_name.to_lowercase(), u16::from(rtype));
                let child = match self.index.get(&key) {
                    // Join a resolution only if it cannot be one of our ancestors (depth
                    // strictly grows along the waiting chain, so no cycle can form).
                    Some(&c)
                        if c != tid && self.tasks.get(&c).is_some_and(|t| t.depth > task.depth) =>
                    {
                        Some(c)
                    }
                    Some(_) => None,
                    None => self.new_task(now, ns_name, rtype, task.depth.saturating_add(1)),
                };
                let Some(deleg) = task.deleg.as_mut() else {
                    return self.fail(now, tid, task, Ede::INTERNAL);
                };
                match child.and_then(|c| self.tasks.get_mut(&c).map(|t| (c, t))) {
                    Some((c, ct)) => {
                        ct.parents.push(tid);
                        if let Some(s) = deleg.ns.get_mut(i) {
                            s.state = NsState::Resolving(c);
                        }
                        self.tasks.insert(tid, task);
                        return;
                    }
                    None => {
                        if let Some(s) = deleg.ns.get_mut(i) {
                            s.state = NsState::Failed;
                        }
                        continue;
                    }
                }
            }
            // Every server of a cached delegation failed: the zone may have been
            // renumbered. Ask the parent once for a fresh referral.
            let recursive = matches!(self.cfg.mode, Mode::Recursive { .. });
            let parent = task.deleg.as_ref().map(|d| d.zone.base_name());
            if let (true, true, Some(parent)) = (recursive, task.deleg_cached, parent)
                && task.fallbacks < 1
                && !task.deleg.as_ref().is_some_and(|d| d.zone.is_root())
            {
                task.fallbacks += 1;
                task.deleg = Some(self.find_delegation(now, &parent));
                task.deleg_cached = true;
                if task.qmin.is_some() {
                    task.qmin = Some(1);
                }
                continue;
            }
            let why = task
                .deleg
                .as_ref()
                .map_or(Ede::TIMED_OUT, |d| d.failures.ede());
            return self.fail(now, tid, task, why);
        }
    }

    fn find_delegation(&mut self, now: Instant, name: &Name) -> Delegation {
        let v6 = self.cfg.use_ipv6;
        let max_ns = self.cfg.limits.max_ns_per_delegation;
        match &self.cfg.mode {
            Mode::Forward { upstreams } => Delegation {
                zone: Name::root(),
                ns: alloc::vec![NsSlot {
                    name: Name::root(),
                    addrs: upstreams
                        .iter()
                        .filter(|a| v6 || a.is_ipv4())
                        .copied()
                        .collect(),
                    state: NsState::Known,
                    want_aaaa: false,
                }],
                tried: Vec::new(),
                children_started: 0,
                failures: Failures::default(),
            },
            Mode::Recursive { root_hints } => {
                let hints: Vec<SocketAddr> = root_hints
                    .iter()
                    .filter(|a| v6 || a.is_ipv4())
                    .map(|a| SocketAddr::new(*a, 53))
                    .collect();
                let mut z = name.clone();
                loop {
                    if z.is_root() {
                        break;
                    }
                    if let Some(Hit {
                        data: Data::Records(ns),
                        ..
                    }) = self
                        .cache
                        .lookup(now, &z, RecordType::NS, Rank::Referral, false)
                    {
                        let mut slots = Vec::new();
                        for r in ns.iter().take(max_ns) {
                            let RData::NS(n) = &r.data else { continue };
                            let addrs = self.cached_ns_addrs(now, &n.0);
                            slots.push(NsSlot::new(n.0.clone(), addrs));
                        }
                        if !slots.is_empty() {
                            return Delegation {
                                zone: z,
                                ns: slots,
                                tried: Vec::new(),
                                children_started: 0,
                                failures: Failures::default(),
                            };
                        }
                    }
                    z = z.base_name();
                }
                Delegation {
                    zone: Name::root(),
                    ns: alloc::vec![NsSlot {
                        name: Name::root(),
                        addrs: hints,
                        state: NsState::Known,
                        want_aaaa: false,
                    }],
                    tried: Vec::new(),
                    children_started: 0,
                    failures: Failures::default(),
                }
            }
        }
    }

    fn server_info(&mut self, s: SocketAddr) -> ServerInfo {
        if let Some(i) = self.servers.get(&s) {
            return *i;
        }
        // Unknown servers start with a small random SRTT so that they get explored
        // (and so that the choice among equals is not predictable).
        let jitter = u64::from(self.rng.next_u32() % 5_000_000);
        let info = ServerInfo {
            srtt: Duration::from_nanos(jitter),
            samples: 0,
            no_edns: false,
            no_0x20: false,
            case_mismatches: 0,
            in_flight: 0,
        };
        self.servers.put(s, info);
        info
    }

    /// The best server to ask next: fewest tries by this resolution, then lowest SRTT,
    /// among those below their in-flight cap; or, if all are at the cap, the best of
    /// those to wait for.
    fn pick_server(&mut self, task: &Task) -> Pick {
        let Some(deleg) = task.deleg.as_ref() else {
            return Pick::None;
        };
        let max_in_flight = self.cfg.limits.max_in_flight_per_server;
        let mut best: Option<(u8, Duration, SocketAddr)> = None;
        let mut busy: Option<(u8, Duration, SocketAddr)> = None;
        let addrs: Vec<SocketAddr> = deleg
            .ns
            .iter()
            .flat_map(|s| s.addrs.iter().copied())
            .collect();
        for a in addrs {
            let tries = deleg.tries(a);
            if tries >= 2 {
                continue;
            }
            let info = self.server_info(a);
            let cand = (tries, info.srtt, a);
            let slot = if info.in_flight >= max_in_flight {
                &mut busy
            } else {
                &mut best
            };
            if slot.is_none_or(|b| (cand.0, cand.1) < (b.0, b.1)) {
                *slot = Some(cand);
            }
        }
        match (best, busy) {
            (Some(b), _) => Pick::Send(b.2),
            (None, Some(b)) => Pick::Wait(b.2),
            (None, None) => Pick::None,
        }
    }

    fn pick_port(&mut self) -> Option<u16> {
        if self.pending.len() >= self.cfg.limits.max_upstream_in_flight {
            return None;
        }
        for _ in 0..32 {
            let p = 1024 + (self.rng.next_u32() % (65536 - 1024)) as u16;
            if !self.pending.contains_key(&p) {
                return Some(p);
            }
        }
        None
    }

    fn randomize_case(&mut self, name: &Name) -> Name {
        let mut bits = 0u32;
        let mut left = 0u32;
        let mut labels: Vec<Vec<u8>> = Vec::with_capacity(usize::from(name.num_labels()));
        for l in name.iter() {
            let mut l = l.to_vec();
            for b in &mut l {
                if b.is_ascii_alphabetic() {
                    if left == 0 {
                        bits = self.rng.next_u32();
                        left = 32;
                    }
                    if bits & 1 == 1 {
                        *b ^= 0x20;
                    }
                    bits >>= 1;
                    left -= 1;
                }
            }
            labels.push(l);
        }
        Name::from_labels(labels).unwrap_or_else(|_| name.clone())
    }

    /// The name and type to ask next: the full question, or (QNAME minimisation) one
    /// more label below the zone cut, asked as type A (RFC 9156).
    fn next_question(task: &Task) -> (Name, RecordType) {
        if let (Some(k), Some(d)) = (task.qmin, task.deleg.as_ref()) {
            let want = usize::from(d.zone.num_labels()) + usize::from(k);
            if want < usize::from(task.cur.num_labels()) {
                return (task.cur.trim_to(want), RecordType::A);
            }
        }
        (task.cur.clone(), task.qtype)
    }

    fn rto(&self, info: &ServerInfo) -> Duration {
        let l = &self.cfg.limits;
        if info.samples == 0 {
            l.initial_rto
        } else {
            (info.srtt * 3).clamp(l.min_rto, l.max_rto.max(l.min_rto))
        }
    }

    /// Send the task's next question to `server`. False if no port or encoding failed.
    fn send(
        &mut self,
        now: Instant,
        tid: TaskId,
        task: &mut Task,
        server: SocketAddr,
        tcp: bool,
    ) -> bool {
        let info = self.server_info(server);
        let Some(port) = self.pick_port() else {
            return false;
        };
        let id = (self.rng.next_u32() & 0xffff) as u16;
        let (name, qtype) = Self::next_question(task);
        let sent_name = if self.cfg.use_0x20 && !info.no_0x20 {
            self.randomize_case(&name)
        } else {
            name.to_lowercase()
        };
        let forward = matches!(self.cfg.mode, Mode::Forward { .. });
        let mut m = Message::new(id, MessageType::Query, OpCode::Query);
        m.metadata.recursion_desired = forward;
        m.add_query(Query::query(sent_name.clone(), qtype));
        let edns = !info.no_edns;
        if edns {
            let mut e = Edns::new();
            e.set_max_payload(self.cfg.limits.max_udp_payload.max(512));
            m.set_edns(e);
        }
        let Ok(payload) = m.to_vec() else {
            return false;
        };
        let zone = task
            .deleg
            .as_ref()
            .map_or_else(Name::root, |d| d.zone.clone());
        if let Some(d) = task.deleg.as_mut() {
            d.bump(server, 1);
        }
        let deadline = now.saturating_add(self.rto(&info));
        self.timers.insert((deadline, Timer::Upstream(port)));
        self.pending.insert(
            port,
            Pending {
                task: tid,
                server,
                id,
                qname: sent_name,
                qtype,
                tcp,
                edns,
                sent_at: now,
                deadline,
                zone,
            },
        );
        if let Some(i) = self.servers.get_mut(&server) {
            i.in_flight = i.in_flight.saturating_add(1);
        }
        task.pending = Some(port);
        task.sent = task.sent.saturating_add(1);
        self.stats.upstream_queries += 1;
        if tcp {
            self.stats.upstream_tcp += 1;
        }
        let transport = if tcp {
            Transport::Tcp { conn: 0 }
        } else {
            Transport::Udp
        };
        self.push_tx(Transmit::ToServer {
            server,
            local_port: port,
            transport,
            payload,
        });
        true
    }

    /// A pending query ended without a usable answer (timeout, error): free it and let
    /// the task try elsewhere.
    fn upstream_failed(&mut self, now: Instant, port: u16, cause: Cause) {
        let timed_out = cause != Cause::Retry;
        let Some(p) = self.take_pending(port) else {
            return;
        };
        let max_rto = self.cfg.limits.max_rto;
        let min_rto = self.cfg.limits.min_rto;
        if timed_out {
            if let Some(i) = self.servers.get_mut(&p.server) {
                i.srtt = (i.srtt.max(min_rto) * 2).min(max_rto);
                i.samples = i.samples.max(1);
            }
            self.stats.timeouts += 1;
        }
        let _ = now;
        if let Some(t) = self.tasks.get_mut(&p.task)
            && t.pending == Some(port)
        {
            t.pending = None;
            if let Some(d) = t.deleg.as_mut() {
                match cause {
                    Cause::Timeout => d.failures.timeouts = d.failures.timeouts.saturating_add(1),
                    Cause::Unreachable => {
                        d.failures.unreachable = d.failures.unreachable.saturating_add(1);
                    }
                    Cause::Retry => {}
                }
            }
            self.ready.push_back(p.task);
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

    fn upstream_response(
        &mut self,
        now: Instant,
        from: SocketAddr,
        port: u16,
        transport: Transport,
        bytes: &[u8],
    ) {
        let Some(p) = self.pending.get(&port) else {
            self.stats.dropped_unknown_port += 1;
            return;
        };
        if p.server != from || p.tcp != transport.is_tcp() {
            self.stats.dropped_wrong_source += 1;
            return;
        }
        // As for client queries: a claimed question count other than 1 is never parsed
        // (hickory would reserve room for all of them first).
        if question_count(bytes).is_some_and(|n| n != 1) {
            self.stats.dropped_question_mismatch += 1;
            return;
        }
        let Ok(mut msg) = Message::from_vec(bytes) else {
            self.stats.dropped_malformed += 1;
            return;
        };
        if msg.message_type != MessageType::Response
            || msg.id != p.id
            || msg.op_code != OpCode::Query
        {
            self.stats.dropped_id_mismatch += 1;
            return;
        }
        let q = match msg.queries.as_slice() {
            [q] => q,
            _ => {
                self.stats.dropped_question_mismatch += 1;
                return;
            }
        };
        if q.query_type() != p.qtype || q.query_class() != DNSClass::IN || q.name() != &p.qname {
            self.stats.dropped_question_mismatch += 1;
            return;
        }
        let server = p.server;
        let lenient = self.servers.peek(&server).is_some_and(|i| i.no_0x20);
        if !lenient && !q.name().eq_case(&p.qname) {
            // 0x20 mismatch: possibly a spoof, possibly a server that does not echo case.
            // Keep waiting; at the second mismatch stop randomising for this server and
            // ask it again at once (ID, port and source already matched).
            self.stats.dropped_case_mismatch += 1;
            let mut give_up = false;
            if let Some(i) = self.servers.get_mut(&server) {
                i.case_mismatches = i.case_mismatches.saturating_add(1);
                if i.case_mismatches >= 2 {
                    i.no_0x20 = true;
                    give_up = true;
                }
            }
            if give_up {
                let task = p.task;
                self.upstream_failed(now, port, Cause::Retry);
                if let Some(d) = self.tasks.get_mut(&task).and_then(|t| t.deleg.as_mut()) {
                    d.tried.retain(|(a, _)| *a != server);
                }
            }
            return;
        }
        // Accepted: this query is answered.
        let Some(p) = self.take_pending(port) else {
            return;
        };
        let rtt = now.saturating_duration_since(p.sent_at);
        if let Some(i) = self.servers.get_mut(&p.server) {
            i.srtt = if i.samples == 0 {
                rtt
            } else {
                (i.srtt * 7 + rtt) / 8
            };
            i.samples = i.samples.saturating_add(1);
        }
        let Some(mut task) = self.tasks.remove(&p.task) else {
            return;
        };
        if task.pending != Some(port) {
            self.tasks.insert(p.task, task);
            return;
        }
        task.pending = None;
        let tid = p.task;
        lowercase_names(&mut msg);
        self.process(now, tid, task, &p, &msg);
    }

    fn resend(&mut self, now: Instant, tid: TaskId, mut task: Task, server: SocketAddr, tcp: bool) {
        if task.sent < self.cfg.limits.max_upstream_per_query
            && self.send(now, tid, &mut task, server, tcp)
        {
            self.tasks.insert(tid, task);
        } else {
            self.ready.push_back(tid);
            self.tasks.insert(tid, task);
        }
    }

    fn mark_bad(task: &mut Task, server: SocketAddr) {
        if let Some(d) = task.deleg.as_mut() {
            d.bump(server, 2);
            d.failures.lame = d.failures.lame.saturating_add(1);
        }
    }

    fn process(&mut self, now: Instant, tid: TaskId, mut task: Task, p: &Pending, msg: &Message) {
        if msg.truncation && !p.tcp {
            return self.resend(now, tid, task, p.server, true);
        }
        let rcode = msg.response_code;
        if matches!(rcode, ResponseCode::FormErr | ResponseCode::NotImp) && p.edns {
            // RFC 6891 §7: retry without EDNS, and remember the server cannot do it.
            if let Some(i) = self.servers.get_mut(&p.server) {
                i.no_edns = true;
            }
            return self.resend(now, tid, task, p.server, p.tcp);
        }
        let forward = matches!(self.cfg.mode, Mode::Forward { .. });
        let c = classify(
            &p.zone,
            &p.qname,
            p.qtype,
            msg,
            self.cfg.limits.max_cname_chain,
        );
        self.stats.scrubbed_records += c.scrubbed as u64;
        let validate::Security::Insecure = validate::check(&c);
        let minimised = p.qname != task.cur || p.qtype != task.qtype;
        self.cache_meaning(now, &c.meaning, p.qtype, c.answer_rank);
        match c.meaning {
            Meaning::Lame => {
                Self::mark_bad(&mut task, p.server);
                if minimised && task.qmin.is_some() && rcode != ResponseCode::NoError {
                    task.qmin = None; // relaxed: broken servers get the full name
                }
                self.ready.push_back(tid);
                self.tasks.insert(tid, task);
            }
            Meaning::Referral { zone, ns, glue } => {
                if forward {
                    Self::mark_bad(&mut task, p.server);
                } else {
                    if task.referrals >= self.cfg.limits.max_referrals {
                        return self.fail(now, tid, task, Ede::DELEGATION_LOOP);
                    }
                    task.referrals += 1;
                    task.deleg = Some(self.delegation_from(now, zone, &ns, &glue));
                    task.deleg_cached = false;
                    if task.qmin.is_some() {
                        task.qmin = Some(1);
                    }
                }
                self.ready.push_back(tid);
                self.tasks.insert(tid, task);
            }
            _ if minimised => {
                if matches!(c.meaning, Meaning::NxDomain { .. }) {
                    // Relaxed minimisation: do not trust NXDOMAIN for an ancestor, ask the
                    // full name instead (some servers answer empty non-terminals wrongly).
                    task.qmin = None;
                } else if let Some(k) = task.qmin {
                    task.qmin = Some(k.saturating_add(1));
                }
                // The same delegation answered: ask it again right away.
                if let Some(d) = task.deleg.as_mut() {
                    d.tried.retain(|(a, _)| *a != p.server);
                }
                self.ready.push_back(tid);
                self.tasks.insert(tid, task);
            }
            Meaning::Answer { chain, answer } => {
                task.chain.extend(chain);
                let mut answers = core::mem::take(&mut task.chain);
                answers.extend(answer);
                let ans = Answer::records(answers);
                self.finish(now, tid, task, ans);
            }
            Meaning::Cname { chain, target } => {
                // Links counted once per hop; exceeding the limit (or a loop) fails.
                let n = chain.len().max(1);
                if usize::from(task.links) + n > usize::from(self.cfg.limits.max_cname_chain) {
                    return self.fail(now, tid, task, Ede::CHAIN_TOO_LONG);
                }
                task.links = task
                    .links
                    .saturating_add(u8::try_from(n).unwrap_or(u8::MAX));
                task.chain.extend(chain);
                task.cur = target;
                task.deleg = None;
                task.skip_cache = false;
                if task.qmin.is_some() {
                    task.qmin = Some(1);
                }
                self.ready.push_back(tid);
                self.tasks.insert(tid, task);
            }
            Meaning::NxDomain { chain, soa, .. } => {
                task.chain.extend(chain);
                let soa = self.negative_soa(soa);
                let chain = core::mem::take(&mut task.chain);
                let ans = Answer::negative(ResponseCode::NXDomain, chain, soa);
                self.finish(now, tid, task, ans);
            }
            Meaning::NoData { chain, soa, .. } => {
                task.chain.extend(chain);
                let soa = self.negative_soa(soa);
                let chain = core::mem::take(&mut task.chain);
                let ans = Answer::negative(ResponseCode::NoError, chain, soa);
                self.finish(now, tid, task, ans);
            }
        }
    }

    /// RFC 2308 §3: the SOA in a negative answer carries the negative TTL.
    fn negative_soa(&self, soa: Option<Record>) -> Option<Record> {
        let max = u32::try_from(self.cfg.max_negative_ttl.as_secs()).unwrap_or(u32::MAX);
        soa.map(|mut r| {
            r.ttl = crate::cache::negative_ttl(Some(&r)).min(max);
            r
        })
    }

    fn cache_meaning(&mut self, now: Instant, m: &Meaning, qtype: RecordType, rank: Rank) {
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
                cache_chain(&mut self.cache, chain);
                if let Some(first) = answer.first() {
                    let owner = first.name.clone();
                    self.cache
                        .insert_rrset(now, &owner, qtype, answer.clone(), rank);
                }
            }
            Meaning::Cname { chain, .. } => cache_chain(&mut self.cache, chain),
            Meaning::NxDomain { chain, name, soa } => {
                cache_chain(&mut self.cache, chain);
                self.cache
                    .insert_negative(now, name, None, soa.clone(), rank);
            }
            Meaning::NoData { chain, name, soa } => {
                cache_chain(&mut self.cache, chain);
                self.cache
                    .insert_negative(now, name, Some(qtype), soa.clone(), rank);
            }
            Meaning::Referral { zone, ns, glue } => {
                self.cache
                    .insert_rrset(now, zone, RecordType::NS, ns.clone(), Rank::Referral);
                let mut groups: Vec<(Name, RecordType, Vec<Record>)> = Vec::new();
                for g in glue {
                    match groups
                        .iter_mut()
                        .find(|(n, t, _)| *n == g.name && *t == g.record_type())
                    {
                        Some(e) => e.2.push(g.clone()),
                        None => {
                            groups.push((g.name.clone(), g.record_type(), alloc::vec![g.clone()]))
                        }
                    }
                }
                for (n, t, recs) in groups {
                    self.cache.insert_rrset(now, &n, t, recs, Rank::Glue);
                }
            }
            Meaning::Lame => {}
        }
    }

    /// The cached addresses of name server `name` (port 53), at most
    /// `max_addrs_per_ns`, IPv6 only with `use_ipv6`.
    fn cached_ns_addrs(&mut self, now: Instant, name: &Name) -> Vec<SocketAddr> {
        self.cache
            .addresses(now, name, self.cfg.use_ipv6)
            .into_iter()
            .take(self.cfg.limits.max_addrs_per_ns)
            .map(|a| SocketAddr::new(a, 53))
            .collect()
    }

    fn delegation_from(
        &mut self,
        now: Instant,
        zone: Name,
        ns: &[Record],
        glue: &[Record],
    ) -> Delegation {
        let v6 = self.cfg.use_ipv6;
        let max_addrs = self.cfg.limits.max_addrs_per_ns;
        let mut slots = Vec::new();
        for r in ns.iter().take(self.cfg.limits.max_ns_per_delegation) {
            let RData::NS(n) = &r.data else { continue };
            let mut addrs: Vec<SocketAddr> = glue
                .iter()
                .filter(|g| g.name == n.0)
                .filter_map(|g| g.data.ip_addr())
                .filter(|a| v6 || a.is_ipv4())
                .map(|a| SocketAddr::new(a, 53))
                .take(max_addrs)
                .collect();
            if addrs.is_empty() {
                addrs = self.cached_ns_addrs(now, &n.0);
            }
            slots.push(NsSlot::new(n.0.clone(), addrs));
        }
        Delegation {
            zone,
            ns: slots,
            tried: Vec::new(),
            children_started: 0,
            failures: Failures::default(),
        }
    }

    fn fail(&mut self, now: Instant, tid: TaskId, task: Task, code: Ede) {
        // RFC 8767: if resolution fails, an expired answer is better than none.
        if self.cfg.serve_stale.is_some() && !task.waiters.is_empty() {
            let stale = self
                .cache
                .lookup(now, &task.name, task.qtype, Rank::NonAuthAnswer, true);
            if let Some(hit) = stale {
                self.stats.stale_served += task.waiters.len() as u64;
                let ans = Answer::from_hit(Vec::new(), hit);
                return self.finish(now, tid, task, ans);
            }
        }
        self.finish(now, tid, task, Answer::servfail(code));
    }

    fn finish(&mut self, _now: Instant, tid: TaskId, task: Task, ans: Answer) {
        self.timers.remove(&(task.deadline, Timer::Resolution(tid)));
        if let Some(port) = task.pending {
            let _ = self.take_pending(port);
        }
        if task.waiting {
            self.waiting.retain(|(w, _)| *w != tid);
        }
        let key = (task.name.to_lowercase(), u16::from(task.qtype));
        if self.index.get(&key) == Some(&tid) {
            self.index.remove(&key);
        }
        self.client_waiters = self.client_waiters.saturating_sub(task.waiters.len());
        for w in &task.waiters {
            self.reply(w, &ans);
        }
        // Wake resolutions waiting for these addresses (glueless NS names).
        let v6 = self.cfg.use_ipv6;
        let max_addrs = self.cfg.limits.max_addrs_per_ns;
        let addrs: Vec<SocketAddr> = ans
            .answers
            .iter()
            .filter(|r| r.name == task.cur)
            .filter_map(|r| r.data.ip_addr())
            .filter(|a| v6 || a.is_ipv4())
            .take(max_addrs)
            .map(|a| SocketAddr::new(a, 53))
            .collect();
        for parent in task.parents {
            if let Some(pt) = self.tasks.get_mut(&parent) {
                if let Some(d) = pt.deleg.as_mut() {
                    for s in &mut d.ns {
                        if s.state == NsState::Resolving(tid) {
                            if addrs.is_empty() && v6 && !s.want_aaaa {
                                // No IPv4 address: try IPv6 next.
                                s.want_aaaa = true;
                                s.state = NsState::Unresolved;
                            } else if addrs.is_empty() {
                                s.state = NsState::Failed;
                            } else {
                                s.addrs.clone_from(&addrs);
                                s.state = NsState::Known;
                            }
                        }
                    }
                }
                self.ready.push_back(parent);
            }
        }
    }
}

/// Lower-cases every record's owner and the names inside its RDATA. Upstream answers to
/// 0x20-randomised questions carry the random case wherever a server compressed a name
/// against the question (a CNAME target, an SOA's MNAME); cached and served as they are,
/// clients would see `www.SHop.TEsT.`. DNS names compare case-insensitively, so one case
/// for all cached data loses nothing.
fn lowercase_names(msg: &mut Message) {
    let sections = [&mut msg.answers, &mut msg.authorities, &mut msg.additionals];
    for section in sections {
        for r in section.iter_mut() {
            r.name = r.name.to_lowercase();
            match &mut r.data {
                RData::CNAME(n) => n.0 = n.0.to_lowercase(),
                RData::NS(n) => n.0 = n.0.to_lowercase(),
                RData::PTR(n) => n.0 = n.0.to_lowercase(),
                RData::MX(mx) => mx.exchange = mx.exchange.to_lowercase(),
                RData::SRV(srv) => srv.target = srv.target.to_lowercase(),
                RData::SOA(soa) => {
                    soa.mname = soa.mname.to_lowercase();
                    soa.rname = soa.rname.to_lowercase();
                }
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod fast_path_tests {
    use super::*;
    use alloc::vec;
    use hickory_proto::rr::rdata::{A, CNAME, SOA};
    use proptest::prelude::*;

    fn n(s: &str) -> Name {
        Name::from_ascii(s).unwrap()
    }

    const NAMES: [&str; 5] = [
        "www.example.com.",
        "alias.example.com.",
        "nx.example.com.",
        "WWW.Example.Com.",
        "other.example.com.",
    ];

    /// An engine whose cache holds an A RRset, a CNAME to it, an NXDOMAIN and a NODATA.
    fn primed(fast: bool) -> Engine {
        let cfg = EngineConfig {
            mode: Mode::Forward {
                upstreams: vec!["10.0.0.53:53".parse().unwrap()],
            },
            ..EngineConfig::default()
        };
        let mut e = Engine::new(cfg, [3; 32]);
        e.set_fast_path(fast);
        let t0 = Instant::from_nanos(1);
        let www = n("www.example.com.");
        let a = |last| Record::from_rdata(www.clone(), 300, RData::A(A::new(192, 0, 2, last)));
        let soa = Record::from_rdata(
            n("example.com."),
            3600,
            RData::SOA(SOA::new(
                n("ns.example.com."),
                n("h.example.com."),
                1,
                1,
                1,
                1,
                300,
            )),
        );
        let c = &mut e.cache;
        c.insert_rrset(t0, &www, RecordType::A, vec![a(1), a(2)], Rank::AuthAnswer);
        let alias = n("alias.example.com.");
        let cname = Record::from_rdata(alias.clone(), 600, RData::CNAME(CNAME(www.clone())));
        c.insert_rrset(t0, &alias, RecordType::CNAME, vec![cname], Rank::AuthAnswer);
        c.insert_negative(
            t0,
            &n("nx.example.com."),
            None,
            Some(soa.clone()),
            Rank::AuthAnswer,
        );
        c.insert_negative(t0, &www, Some(RecordType::TXT), Some(soa), Rank::AuthAnswer);
        e
    }

    /// A query in wire form, built by hand so that mutations can break any part of it.
    fn query(id: u16, name: &str, qtype: u16, edns: Option<u16>) -> Vec<u8> {
        let mut b = id.to_be_bytes().to_vec();
        b.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, u8::from(edns.is_some())]);
        for label in name.split('.').filter(|l| !l.is_empty()) {
            b.push(label.len() as u8);
            b.extend_from_slice(label.as_bytes());
        }
        b.push(0);
        b.extend_from_slice(&qtype.to_be_bytes());
        b.extend_from_slice(&[0, 1]);
        if let Some(p) = edns {
            b.extend_from_slice(&[0, 0, 41]);
            b.extend_from_slice(&p.to_be_bytes());
            b.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
        }
        b
    }

    /// Well-formed queries for cached and uncached names, with any RD/CD/AD/Z bits.
    fn clean() -> impl Strategy<Value = Vec<u8>> {
        (
            any::<u16>(),
            0usize..NAMES.len(),
            prop::sample::select(vec![1u16, 5, 15, 16, 28, 41, 255]),
            prop::option::of(prop::sample::select(vec![0u16, 512, 1232, 65535])),
            any::<bool>(),
            prop::sample::select(vec![0u8, 0x10, 0x20, 0x40, 0x70]),
        )
            .prop_map(|(id, k, qtype, edns, rd, f3)| {
                let mut b = query(id, NAMES[k], qtype, edns);
                b[2] = u8::from(rd);
                b[3] = f3;
                b
            })
    }

    fn input() -> impl Strategy<Value = Vec<u8>> {
        let mutated = (
            clean(),
            prop::collection::vec((any::<usize>(), any::<u8>()), 1..3),
            prop::option::weighted(0.2, any::<usize>()),
            prop::option::weighted(0.2, prop::collection::vec(any::<u8>(), 1..3)),
        )
            .prop_map(|(mut b, flips, cut, tail)| {
                for (at, v) in flips {
                    let i = at % b.len();
                    b[i] = v;
                }
                if let Some(c) = cut {
                    b.truncate(c % (b.len() + 1));
                }
                b.extend(tail.unwrap_or_default());
                b
            });
        prop_oneof![
            1 => prop::collection::vec(any::<u8>(), 0..300),
            2 => clean(),
            3 => mutated,
        ]
    }

    fn transmits(e: &mut Engine) -> Vec<Transmit> {
        core::iter::from_fn(|| e.poll_transmit()).collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        /// Any bytes: the fast path never panics; it declines (and the two engines then
        /// do exactly the same) or answers with a message that parses to what the full
        /// path answers, TTLs included.
        #[test]
        fn fast_path_never_panics_and_agrees(bytes in input(), tcp in any::<bool>()) {
            let client = Client {
                addr: "192.168.1.2:5353".parse().unwrap(),
                transport: if tcp { Transport::Tcp { conn: 1 } } else { Transport::Udp },
            };
            let now = Instant::from_nanos(10_000_000_001);
            let _ = crate::wire::question::Question::parse(&bytes);
            let (mut fast, mut full) = (primed(true), primed(false));
            fast.handle_query(now, client, &bytes);
            full.handle_query(now, client, &bytes);
            let (tf, ts) = (transmits(&mut fast), transmits(&mut full));
            prop_assert!(fast.check_invariants());
            if fast.stats().fast_path_hits == 0 {
                prop_assert_eq!(tf, ts);
                return Ok(());
            }
            let ([Transmit::ToClient { payload: pf, .. }], [Transmit::ToClient { payload: ps, .. }]) =
                (tf.as_slice(), ts.as_slice())
            else {
                return Err(TestCaseError::fail("one answer each expected"));
            };
            let (mf, ms) = (Message::from_vec(pf), Message::from_vec(ps));
            prop_assert!(mf.is_ok(), "unparseable fast answer {:?}", pf);
            let (mf, ms) = (mf.unwrap(), ms.unwrap());
            prop_assert_eq!(&mf.metadata, &ms.metadata);
            prop_assert_eq!(&mf.queries, &ms.queries);
            prop_assert_eq!(&mf.answers, &ms.answers);
            prop_assert_eq!(&mf.authorities, &ms.authorities);
            prop_assert_eq!(&mf.edns, &ms.edns);
            let ttls = |rs: &[Record]| rs.iter().map(|r| r.ttl).collect::<Vec<_>>();
            prop_assert_eq!(ttls(&mf.answers), ttls(&ms.answers));
            prop_assert_eq!(ttls(&mf.authorities), ttls(&ms.authorities));
            if let Some(q) = mf.queries.first() {
                // The client's letter case in the question and in owners equal to it.
                let asked = Message::from_vec(&bytes).unwrap();
                prop_assert!(q.name().eq_case(asked.queries[0].name()));
                for r in mf.answers.iter().filter(|r| r.name == *q.name()) {
                    prop_assert!(r.name.eq_case(q.name()));
                }
            }
            let mut s = fast.stats().clone();
            s.fast_path_hits = 0;
            prop_assert_eq!(&s, full.stats());
        }
    }

    #[test]
    fn mutated_queries_reach_the_fast_path() {
        // The strategy must exercise the writer, not only the parser.
        let mut e = primed(true);
        let now = Instant::from_nanos(10_000_000_001);
        let c = Client {
            addr: "192.168.1.2:5353".parse().unwrap(),
            transport: Transport::Udp,
        };
        for name in NAMES.iter().take(4) {
            for qtype in [1u16, 16, 28] {
                e.handle_query(now, c, &query(7, name, qtype, Some(1232)));
                let _ = transmits(&mut e);
            }
        }
        // Every A and TXT question hits (positive, via the CNAME, NODATA, NXDOMAIN); of
        // AAAA only nx.example.com's NXDOMAIN does, the others miss and go upstream.
        assert_eq!(e.stats().fast_path_hits, 9);
    }
}
