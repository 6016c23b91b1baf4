//! The netstack and the engine together over one simulated Ethernet (issue 14, item 2):
//! a CNAME chain across four authoritative servers on the resolver's own LAN, each
//! first contacted a few milliseconds after the previous one, that is inside smoltcp's
//! one-second interface-wide ARP silence. The loop is the app's (`resolver/src/app.rs`):
//! poll, events to the engine, transmits to the stack, ports released, flush.
//!
//! And 100 simultaneous cache misses through the 64-socket upstream pool (item 13).

use std::cell::RefCell;
use std::collections::VecDeque;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::rc::Rc;

use critical_section as _;
use engine::{Client, Engine, EngineConfig, Instant, Mode, Transmit, Transport};
use hickory_proto::op::{Message, MessageType, ResponseCode};
use hickory_proto::rr::rdata::{A, CNAME, NS, SOA};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use netstack::{Event, NetConfig, NetLimits, Nic, Stack};

const MS: u64 = 1_000_000;

/// One Ethernet segment: every frame sent reaches every other node.
type Bus = Rc<RefCell<Vec<VecDeque<Vec<u8>>>>>;

struct BusNic {
    me: usize,
    mac: [u8; 6],
    bus: Bus,
}

impl Nic for BusNic {
    fn recv(&mut self, buf: &mut [u8]) -> Option<usize> {
        let f = self.bus.borrow_mut().get_mut(self.me)?.pop_front()?;
        let dst = buf.get_mut(..f.len())?;
        dst.copy_from_slice(&f);
        Some(f.len())
    }
    fn send(&mut self, frame: &[u8]) {
        for (i, q) in self.bus.borrow_mut().iter_mut().enumerate() {
            if i != self.me {
                q.push_back(frame.to_vec());
            }
        }
    }
    fn mac(&self) -> [u8; 6] {
        self.mac
    }
    fn mtu(&self) -> usize {
        1500
    }
}

fn node(bus: &Bus, me: usize, ip: Ipv4Addr, limits: NetLimits) -> Stack<BusNic> {
    bus.borrow_mut().push(VecDeque::new());
    let cfg = NetConfig {
        ipv4: Some((ip, 24)),
        ipv4_gateway: None,
        limits,
        ..NetConfig::default()
    };
    let mac = [0x02, 0, 0, 0, 0, me as u8 + 1];
    Stack::new(
        BusNic {
            me,
            mac,
            bus: bus.clone(),
        },
        &cfg,
        me as u64,
        0,
    )
    .unwrap()
}

const ROOT: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 10);

/// The zone a server is authoritative for, and the address of the server of each child.
fn server_of(zone: &str) -> Ipv4Addr {
    match zone {
        "a." => Ipv4Addr::new(10, 0, 0, 11),
        "b." => Ipv4Addr::new(10, 0, 0, 12),
        _ => Ipv4Addr::new(10, 0, 0, 13),
    }
}

fn name(s: &str) -> Name {
    Name::from_ascii(s).unwrap()
}

/// The authoritative data: the root delegates `a.`, `b.`, `c.` (with glue);
/// `www.a. CNAME www.b.`, `www.b. CNAME www.c.`, `www.c. A 192.0.2.1`.
fn authoritative(server: Ipv4Addr, query: &[u8]) -> Option<Vec<u8>> {
    let q = Message::from_vec(query).ok()?;
    let question = q.queries.first()?.clone();
    let qname = question.name().to_lowercase().to_ascii();
    let mut r = Message::new(q.id, MessageType::Response, q.op_code);
    r.edns = q.edns.clone();
    r.add_query(question.clone());
    let zone = ["a.", "b.", "c."]
        .into_iter()
        .find(|z| qname == *z || qname.ends_with(&format!(".{z}")))?;
    if server == ROOT {
        let ns = format!("ns.{zone}");
        r.add_authority(Record::from_rdata(
            name(zone),
            3600,
            RData::NS(NS(name(&ns))),
        ));
        r.add_additional(Record::from_rdata(
            name(&ns),
            3600,
            RData::A(A(server_of(zone))),
        ));
        return r.to_vec().ok();
    }
    r.metadata.authoritative = true;
    let owner = question.name().clone();
    match (qname.as_str(), question.query_type()) {
        ("www.a.", _) => {
            r.add_answer(Record::from_rdata(
                owner,
                300,
                RData::CNAME(CNAME(name("www.b."))),
            ));
        }
        ("www.b.", _) => {
            r.add_answer(Record::from_rdata(
                owner,
                300,
                RData::CNAME(CNAME(name("www.c."))),
            ));
        }
        ("www.c.", RecordType::A) => {
            r.add_answer(Record::from_rdata(
                owner,
                300,
                RData::A(A::new(192, 0, 2, 1)),
            ));
        }
        _ => {
            r.metadata.response_code = ResponseCode::NXDomain;
            let soa = SOA::new(
                name(&format!("ns.{zone}")),
                name("h.example."),
                1,
                3600,
                600,
                86400,
                60,
            );
            r.add_authority(Record::from_rdata(name(zone), 60, RData::SOA(soa)));
        }
    }
    r.to_vec().ok()
}

/// What a forwarder answers: every name at 192.0.2.1.
fn forwarder(_: Ipv4Addr, query: &[u8]) -> Option<Vec<u8>> {
    let q = Message::from_vec(query).ok()?;
    let question = q.queries.first()?.clone();
    let mut r = Message::new(q.id, MessageType::Response, q.op_code);
    r.edns = q.edns.clone();
    r.metadata.recursion_desired = true;
    r.metadata.recursion_available = true;
    r.add_query(question.clone());
    r.add_answer(Record::from_rdata(
        question.name().clone(),
        300,
        RData::A(A::new(192, 0, 2, 1)),
    ));
    r.to_vec().ok()
}

/// The resolver (netstack and engine, in the app's loop) and servers on one LAN.
struct Lan {
    bus: Bus,
    resolver: Stack<BusNic>,
    engine: Engine,
    servers: Vec<(Ipv4Addr, Stack<BusNic>)>,
    answer: fn(Ipv4Addr, &[u8]) -> Option<Vec<u8>>,
    open_udp: Vec<u16>,
    replies: Vec<(u64, Message)>,
    now: u64,
}

impl Lan {
    fn new(
        cfg: EngineConfig,
        limits: NetLimits,
        servers: &[Ipv4Addr],
        answer: fn(Ipv4Addr, &[u8]) -> Option<Vec<u8>>,
    ) -> Lan {
        let bus: Bus = Rc::default();
        let resolver = node(&bus, 0, Ipv4Addr::new(10, 0, 0, 2), limits);
        let servers = servers
            .iter()
            .enumerate()
            .map(|(i, ip)| (*ip, node(&bus, i + 1, *ip, NetLimits::default())))
            .collect();
        Lan {
            bus,
            resolver,
            engine: Engine::new(cfg, [9; 32]),
            servers,
            answer,
            open_udp: Vec::new(),
            replies: Vec::new(),
            now: 1000 * MS,
        }
    }

    fn ask(&mut self, port: u16, qname: &str) {
        let client = Client {
            addr: SocketAddr::new([10, 0, 0, 50].into(), port),
            transport: Transport::Udp,
        };
        let mut query = Message::new(port, MessageType::Query, hickory_proto::op::OpCode::Query);
        query.metadata.recursion_desired = true;
        query.add_query(hickory_proto::op::Query::query(name(qname), RecordType::A));
        self.engine.handle_query(
            Instant::from_nanos(self.now),
            client,
            &query.to_vec().unwrap(),
        );
        self.drain();
    }

    /// The engine's transmits: answers are recorded, queries go to the stack.
    fn drain(&mut self) {
        let at = Instant::from_nanos(self.now);
        while let Some(t) = self.engine.poll_transmit() {
            match t {
                Transmit::ToClient { payload, .. } => {
                    self.replies
                        .push((self.now, Message::from_vec(&payload).unwrap()));
                }
                Transmit::ToServer {
                    server,
                    local_port,
                    payload,
                    ..
                } => match self.resolver.send_udp(local_port, server, &payload) {
                    Ok(()) => {
                        if !self.open_udp.contains(&local_port) {
                            self.open_udp.push(local_port);
                        }
                    }
                    Err(_) => {
                        self.engine
                            .handle_upstream_error(at, server, local_port, Transport::Udp)
                    }
                },
            }
        }
    }

    /// One round of every node at `now`, then the clock moves on.
    fn round(&mut self) {
        let now = self.now;
        let at = Instant::from_nanos(now);
        let _ = self.resolver.poll(now);
        while let Some(ev) = self.resolver.next_event() {
            match ev {
                Event::Response {
                    from,
                    local_port,
                    data,
                    ..
                } => {
                    self.engine
                        .handle_response(at, from, local_port, Transport::Udp, &data);
                }
                Event::UpstreamError { to, local_port, .. } => {
                    self.engine
                        .handle_upstream_error(at, to, local_port, Transport::Udp);
                }
                Event::UpstreamHeld { to, local_port, .. } => {
                    self.engine.handle_upstream_held(at, to, local_port);
                }
                Event::UpstreamSent { to, local_port } => {
                    self.engine.handle_upstream_sent(at, to, local_port);
                }
                _ => {}
            }
            self.drain();
            let _ = self.resolver.flush();
        }
        self.engine.handle_timeout(at);
        self.drain();
        let (engine, resolver) = (&self.engine, &mut self.resolver);
        self.open_udp
            .retain(|p| engine.upstream_port_in_use(*p) || !resolver.close_udp(*p));
        let _ = self.resolver.flush();
        for (ip, s) in &mut self.servers {
            let _ = s.poll(now);
            while let Some(ev) = s.next_event() {
                if let Event::Query {
                    client,
                    transport,
                    data,
                } = ev
                    && let Some(r) = (self.answer)(*ip, &data)
                {
                    let _ = s.reply(client, transport, &r);
                }
            }
            let _ = s.flush();
        }
        // The clock: to the next deadline, 1 ms at least (frames take that long).
        let mut next = self
            .engine
            .poll_timeout()
            .map_or(u64::MAX, |t| t.as_nanos());
        let stacks =
            std::iter::once(&mut self.resolver).chain(self.servers.iter_mut().map(|(_, s)| s));
        for s in stacks {
            if let Some(d) = s.poll_delay(now) {
                next = next.min(now.saturating_add(d));
            }
        }
        let busy = self.bus.borrow().iter().any(|q| !q.is_empty());
        self.now = if busy {
            now + MS
        } else {
            next.clamp(now + MS, now + 50 * MS)
        };
    }

    /// Rounds until `n` answers are out, at most `max_ns` of virtual time.
    fn run_until_answered(&mut self, n: usize, max_ns: u64) {
        let end = self.now + max_ns;
        while self.replies.len() < n && self.now < end {
            self.round();
        }
    }
}

fn recursive(root: Ipv4Addr) -> EngineConfig {
    EngineConfig {
        mode: Mode::Recursive {
            root_hints: vec![IpAddr::V4(root)],
        },
        qname_minimisation: false,
        use_ipv6: false,
        ..EngineConfig::default()
    }
}

#[test]
fn a_cname_chain_across_four_new_on_link_servers_is_answered_at_once() {
    let ips = [ROOT, server_of("a."), server_of("b."), server_of("c.")];
    let mut lan = Lan::new(recursive(ROOT), NetLimits::default(), &ips, authoritative);
    let start = lan.now;
    lan.ask(5353, "www.a.");
    lan.run_until_answered(1, 20_000 * MS);
    let (at, m) = lan
        .replies
        .first()
        .expect("the client got no answer in 20 s")
        .clone();
    let took_ms = (at - start) / MS;
    let timeouts = lan.engine.stats().timeouts;
    println!(
        "4 new on-link servers, CNAME chain: answered in {took_ms} ms, {timeouts} upstream \
         timeouts, {} upstream queries, rcode {:?}",
        lan.engine.stats().upstream_queries,
        m.response_code
    );
    assert_eq!(m.response_code, ResponseCode::NoError);
    assert!(
        m.answers
            .iter()
            .any(|r| matches!(r.data, RData::A(a) if a.0 == Ipv4Addr::new(192, 0, 2, 1))),
        "{m:?}"
    );
    assert_eq!(timeouts, 0);
    assert!(took_ms < 100, "took {took_ms} ms");
}

/// 100 client queries for names not in the cache at one instant, forwarded to four
/// forwarders on the LAN (32 queries in flight to each at most): SERVFAILs and
/// upstream timeouts.
fn hundred_misses(engine_cap: usize, limits: NetLimits) -> (usize, u64, u64) {
    let fwd: Vec<Ipv4Addr> = (10..14).map(|i| Ipv4Addr::new(10, 0, 0, i)).collect();
    let cfg = EngineConfig {
        mode: Mode::Forward {
            upstreams: fwd
                .iter()
                .map(|ip| SocketAddr::new((*ip).into(), 53))
                .collect(),
        },
        ..EngineConfig::default()
    };
    let mut cfg = cfg;
    cfg.limits.max_upstream_in_flight = engine_cap;
    // All 100 come from one client address: room for them in its per-client share,
    // which is not what this measures.
    cfg.limits.max_client_queries = 512;
    let mut lan = Lan::new(cfg, limits, &fwd, forwarder);
    for i in 0..100u16 {
        lan.ask(10_000 + i, &format!("n{i}.example."));
    }
    lan.run_until_answered(100, 20_000 * MS);
    assert_eq!(lan.replies.len(), 100, "every client is answered");
    let servfail = lan
        .replies
        .iter()
        .filter(|(_, m)| m.response_code == ResponseCode::ServFail)
        .count();
    let s = lan.engine.stats();
    (servfail, s.timeouts, s.upstream_queries)
}

#[test]
fn a_hundred_simultaneous_misses_through_the_socket_pool() {
    let pool = NetLimits::default().upstream_udp_sockets;
    // Before: the engine's own cap (2048) over 64 sockets, and a full pool refused the
    // send, which the engine took for a timeout.
    let before = NetLimits {
        upstream_udp_wait: 0,
        ..NetLimits::default()
    };
    let (servfail_before, timeouts_before, queries_before) = hundred_misses(2048, before);
    // After: the engine sized from the pool (as the app does), a full pool waits.
    let (servfail, timeouts, queries) = hundred_misses(pool, NetLimits::default());
    println!(
        "100 simultaneous misses over {pool} sockets: SERVFAIL {servfail_before} -> \
         {servfail}, false timeouts {timeouts_before} -> {timeouts}, upstream queries \
         {queries_before} -> {queries}"
    );
    assert!(timeouts_before > 0, "the old sizing shows the bug");
    assert_eq!((servfail, timeouts, queries), (0, 0, 100));
}
