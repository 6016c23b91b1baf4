//! Upstream queries: the pending table (one entry per local port), the choice of port,
//! ID and 0x20 letter case, strict response matching, and the server table
//! ([`servers`]: RTT, capabilities, in-flight counts).
//!
//! A query is sent with [`Upstream::send`] and ends in exactly one of three ways, each
//! of which the engine turns into [`Upstream::take`] (and cancels the query's timer):
//! a response accepted by [`Upstream::on_response`], a timeout, or a delivery error.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use core::net::SocketAddr;

use chacha20::ChaCha20Rng;
use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query};
use hickory_proto::rr::{DNSClass, Name, RData, RecordType};
use rand_core::{Rng, SeedableRng};

use crate::cache::KeyedHasher;
use crate::config::EngineConfig;
use crate::io::Transport;
use crate::resolve::Id;
use crate::time::Instant;
use crate::wire::header::question_count;
use core::time::Duration;

pub(crate) mod servers;

pub(crate) use servers::{Pick, Servers};

/// The longest the app's network stack holds an upstream datagram that cannot leave
/// yet (the netstack's `NetLimits::upstream_hold_ns`, 3 s by default; the app checks
/// they agree): a held query's timeout is pushed back by this much, and starts anew
/// when the datagram leaves.
pub const UPSTREAM_HOLD: Duration = Duration::from_secs(3);

/// An upstream query awaiting its answer.
#[derive(Clone, Debug)]
pub(crate) struct Pending {
    /// The resolution that sent it.
    pub(crate) resolution: Id,
    /// Where it went; the answer must come from there.
    pub(crate) server: SocketAddr,
    /// Its random ID.
    pub(crate) id: u16,
    /// The name as sent (0x20 case included); the answer must echo it.
    pub(crate) qname: Name,
    /// The type asked.
    pub(crate) qtype: RecordType,
    /// UDP or TCP; the answer must come the same way.
    pub(crate) transport: Transport,
    /// Whether it carried OPT.
    pub(crate) edns: bool,
    /// When it was sent, for the RTT sample.
    pub(crate) sent_at: Instant,
    /// The zone the server was asked as: the bailiwick for scrubbing.
    pub(crate) zone: Name,
}

/// What to ask: the question and the zone whose server is asked.
#[derive(Clone, Debug)]
pub(crate) struct Ask {
    /// The name (lower case; 0x20 is applied here).
    pub(crate) name: Name,
    /// The type.
    pub(crate) qtype: RecordType,
    /// The zone cut the server serves.
    pub(crate) zone: Name,
    /// RD: the server is a forwarder (`--forward`, `--server=/zone/`).
    pub(crate) rd: bool,
}

/// A query handed to the app.
#[derive(Clone, Debug)]
pub(crate) struct Sent {
    /// The local port it goes from (and its answer comes to).
    pub(crate) port: u16,
    /// When it times out.
    pub(crate) deadline: Instant,
    /// The message.
    pub(crate) payload: Vec<u8>,
}

/// Why a response was dropped (each has a counter in `Stats`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Dropped {
    /// No query outstanding on that port.
    UnknownPort,
    /// From another address, or over another transport, than the query went.
    WrongSource,
    /// The question differs (or a count other than one).
    QuestionMismatch,
    /// It did not parse.
    Malformed,
    /// Not a response, another ID, another opcode.
    IdMismatch,
    /// The question differs only in letter case (0x20): keep waiting.
    CaseMismatch,
}

/// What a response on a port means.
#[derive(Debug)]
pub(crate) enum Matched {
    /// Not the answer: drop it, the query stays pending.
    Dropped(Dropped),
    /// The server's second 0x20 mismatch: 0x20 is now off for it; end the query and
    /// ask again at once (ID, port and source matched).
    Retry,
    /// The answer, every name in it lower-cased. The query is still in the table:
    /// the engine takes it.
    Accepted(Message),
}

/// The upstream side of the engine.
pub(crate) struct Upstream {
    /// Outstanding queries by local port. At most `Limits::max_upstream_in_flight`.
    pending: BTreeMap<u16, Pending>,
    /// What is known about each server.
    pub(crate) servers: Servers,
    /// The engine's one RNG: ports, IDs, 0x20 case, new servers' initial SRTT.
    pub(crate) rng: ChaCha20Rng,
    /// A query ended (a per-server or a port slot came free) since the wait queue
    /// was last looked at.
    pub(crate) slot_freed: bool,
}

impl Upstream {
    /// No queries yet; the RNG seeded with `seed`, the server table's hasher given.
    pub(crate) fn new(cfg: &EngineConfig, seed: [u8; 32], hasher: KeyedHasher) -> Self {
        Self {
            pending: BTreeMap::new(),
            servers: Servers::new(cfg.limits.max_server_entries, hasher),
            rng: ChaCha20Rng::from_seed(seed),
            slot_freed: false,
        }
    }

    /// Re-keys the RNG with SHA-256 of 32 bytes of its own output and `input`: what
    /// it draws next depends on the boot seed and on everything mixed in since, so a
    /// weak boot seed (timer jitter) is strengthened by every input an attacker cannot
    /// see, and knowing some inputs reveals nothing of the key.
    pub(crate) fn mix_entropy(&mut self, input: &[u8]) {
        use sha2::Digest;
        let mut out = [0u8; 32];
        self.rng.fill_bytes(&mut out);
        let mut h = sha2::Sha256::new();
        h.update(b"resolver engine rng rekey\0");
        h.update(out);
        h.update(input);
        self.rng = ChaCha20Rng::from_seed(h.finalize().into());
    }

    /// Queries outstanding.
    pub(crate) fn len(&self) -> usize {
        self.pending.len()
    }

    /// The query on `port`.
    pub(crate) fn get(&self, port: u16) -> Option<&Pending> {
        self.pending.get(&port)
    }

    /// Every outstanding query, by port.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&u16, &Pending)> {
        self.pending.iter()
    }

    /// The best server among `candidates` (see [`Servers::pick`]).
    pub(crate) fn pick(
        &mut self,
        candidates: impl IntoIterator<Item = (SocketAddr, u8)>,
        cap: u16,
    ) -> Pick {
        self.servers.pick(&mut self.rng, candidates, cap)
    }

    /// A random local port not in use, if fewer than `max` queries are outstanding.
    fn pick_port(&mut self, max: usize) -> Option<u16> {
        if self.pending.len() >= max {
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

    /// Send `ask` to `server` for resolution `resolution`: pick a port and an ID,
    /// randomise the case, encode, and record it as pending. `None` if no port is
    /// free or it does not encode.
    pub(crate) fn send(
        &mut self,
        now: Instant,
        cfg: &EngineConfig,
        resolution: Id,
        ask: Ask,
        server: SocketAddr,
        transport: Transport,
    ) -> Option<Sent> {
        let info = self.servers.info(&mut self.rng, server);
        let port = self.pick_port(cfg.limits.max_upstream_in_flight)?;
        let id = (self.rng.next_u32() & 0xffff) as u16;
        let sent_name = if cfg.use_0x20 && !info.no_0x20 {
            randomize_case(&mut self.rng, &ask.name)
        } else {
            ask.name.to_lowercase()
        };
        let mut m = Message::new(id, MessageType::Query, OpCode::Query);
        m.metadata.recursion_desired = ask.rd;
        m.add_query(Query::query(sent_name.clone(), ask.qtype));
        let edns = !info.no_edns;
        if edns {
            let mut e = Edns::new();
            e.set_max_payload(cfg.limits.max_udp_payload.max(512));
            // DO, as Unbound sets it: RRSIG, NSEC and NSEC3 records come back with the
            // data, for clients that set DO (RFC 4035 §3.2.1) and the validator.
            e.set_dnssec_ok(true);
            m.set_edns(e);
        }
        let payload = m.to_vec().ok()?;
        let deadline = now.saturating_add(Servers::rto(&info, &cfg.limits));
        self.pending.insert(
            port,
            Pending {
                resolution,
                server,
                id,
                qname: sent_name,
                qtype: ask.qtype,
                transport,
                edns,
                sent_at: now,
                zone: ask.zone,
            },
        );
        self.servers.adjust_in_flight(&server, true);
        Some(Sent {
            port,
            deadline,
            payload,
        })
    }

    /// The query on `port` to `server` (UDP) did not leave when it was handed over:
    /// the app's network stack holds it (its next hop's ARP/NDP answer, or a free
    /// socket, is awaited). Its RTT and timeout start when it leaves
    /// ([`departed`](Self::departed)); until then the deadline is [`UPSTREAM_HOLD`]
    /// past its timeout, the stack's own bound on the hold. The new deadline, or `None`
    /// if no such query is pending.
    pub(crate) fn held(
        &mut self,
        now: Instant,
        cfg: &EngineConfig,
        port: u16,
        server: SocketAddr,
    ) -> Option<Instant> {
        let rto = self.departed(now, cfg, port, server)?;
        Some(rto.saturating_add(UPSTREAM_HOLD))
    }

    /// The held query on `port` to `server` has left now: its RTT counts from now and
    /// its timeout runs from now. The new deadline, or `None` if no such query is
    /// pending.
    pub(crate) fn departed(
        &mut self,
        now: Instant,
        cfg: &EngineConfig,
        port: u16,
        server: SocketAddr,
    ) -> Option<Instant> {
        let p = self.pending.get_mut(&port)?;
        if p.server != server || p.transport.is_tcp() {
            return None;
        }
        p.sent_at = now;
        let info = self.servers.info(&mut self.rng, server);
        Some(now.saturating_add(Servers::rto(&info, &cfg.limits)))
    }

    /// Remove the query on `port` and free its slot at the server.
    pub(crate) fn take(&mut self, port: u16) -> Option<Pending> {
        let p = self.pending.remove(&port)?;
        self.servers.adjust_in_flight(&p.server, false);
        self.slot_freed = true;
        Some(p)
    }

    /// Whether a delivery error for (`server`, `port`, `transport`) is about a query
    /// we have outstanding.
    pub(crate) fn is_for(&self, port: u16, server: SocketAddr, transport: Transport) -> bool {
        self.pending
            .get(&port)
            .is_some_and(|p| p.server == server && p.transport.is_tcp() == transport.is_tcp())
    }

    /// Match a message from `from` on `port` against the query there: source,
    /// transport, ID, opcode, question (exact case unless 0x20 is off for the server).
    pub(crate) fn on_response(
        &mut self,
        from: SocketAddr,
        port: u16,
        transport: Transport,
        bytes: &[u8],
    ) -> Matched {
        let Some(p) = self.pending.get(&port) else {
            return Matched::Dropped(Dropped::UnknownPort);
        };
        if p.server != from || p.transport.is_tcp() != transport.is_tcp() {
            return Matched::Dropped(Dropped::WrongSource);
        }
        // As for client queries: a claimed question count other than 1 is never parsed
        // (hickory would reserve room for all of them first).
        if question_count(bytes).is_some_and(|n| n != 1) {
            return Matched::Dropped(Dropped::QuestionMismatch);
        }
        let Ok(mut msg) = Message::from_vec(bytes) else {
            return Matched::Dropped(Dropped::Malformed);
        };
        if msg.message_type != MessageType::Response
            || msg.id != p.id
            || msg.op_code != OpCode::Query
        {
            return Matched::Dropped(Dropped::IdMismatch);
        }
        let [q] = msg.queries.as_slice() else {
            return Matched::Dropped(Dropped::QuestionMismatch);
        };
        if q.query_type() != p.qtype || q.query_class() != DNSClass::IN || q.name() != &p.qname {
            return Matched::Dropped(Dropped::QuestionMismatch);
        }
        let server = p.server;
        let lenient = self.servers.peek(&server).is_some_and(|i| i.no_0x20);
        if !lenient && !q.name().eq_case(&p.qname) {
            // 0x20 mismatch: possibly a spoof, possibly a server that does not echo case.
            // Keep waiting; at the second mismatch stop randomising for this server and
            // ask it again at once.
            return if self.servers.case_mismatch(&server) {
                Matched::Retry
            } else {
                Matched::Dropped(Dropped::CaseMismatch)
            };
        }
        lowercase_names(&mut msg);
        Matched::Accepted(msg)
    }
}

/// `name` with each letter's case flipped at random (0x20, draft-vixie-dnsext-dns0x20):
/// a forged answer must guess the case too.
fn randomize_case(rng: &mut ChaCha20Rng, name: &Name) -> Name {
    let mut bits = 0u32;
    let mut left = 0u32;
    let mut labels: Vec<Vec<u8>> = Vec::with_capacity(usize::from(name.num_labels()));
    for l in name.iter() {
        let mut l = l.to_vec();
        for b in &mut l {
            if b.is_ascii_alphabetic() {
                if left == 0 {
                    bits = rng.next_u32();
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
