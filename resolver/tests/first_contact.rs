//! The netstack and the engine together over one simulated Ethernet (issue 14, item 2):
//! a CNAME chain across four authoritative servers on the resolver's own LAN, each
//! first contacted a few milliseconds after the previous one, that is inside smoltcp's
//! one-second interface-wide ARP silence. The loop is the app's (`resolver/src/app.rs`):
//! poll, events to the engine, transmits to the stack, ports released, flush.

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

fn node(bus: &Bus, me: usize, ip: Ipv4Addr) -> Stack<BusNic> {
    bus.borrow_mut().push(VecDeque::new());
    let cfg = NetConfig {
        ipv4: Some((ip, 24)),
        ipv4_gateway: None,
        limits: NetLimits::default(),
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
fn respond(server: Ipv4Addr, query: &[u8]) -> Option<Vec<u8>> {
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

#[test]
fn a_cname_chain_across_four_new_on_link_servers_is_answered_at_once() {
    let bus: Bus = Rc::default();
    let mut resolver = node(&bus, 0, Ipv4Addr::new(10, 0, 0, 2));
    let ips = [ROOT, server_of("a."), server_of("b."), server_of("c.")];
    let mut servers: Vec<(Ipv4Addr, Stack<BusNic>)> = ips
        .iter()
        .enumerate()
        .map(|(i, ip)| (*ip, node(&bus, i + 1, *ip)))
        .collect();
    let mut engine = Engine::new(
        EngineConfig {
            mode: Mode::Recursive {
                root_hints: vec![IpAddr::V4(ROOT)],
            },
            qname_minimisation: false,
            use_ipv6: false,
            ..EngineConfig::default()
        },
        [9; 32],
    );
    let client = Client {
        addr: SocketAddr::new([10, 0, 0, 50].into(), 5353),
        transport: Transport::Udp,
    };
    let mut query = Message::new(0x4242, MessageType::Query, hickory_proto::op::OpCode::Query);
    query.metadata.recursion_desired = true;
    query.add_query(hickory_proto::op::Query::query(
        name("www.a."),
        RecordType::A,
    ));
    let start = 1000 * MS;
    let mut now = start;
    engine.handle_query(Instant::from_nanos(now), client, &query.to_vec().unwrap());

    let mut open_udp: Vec<u16> = Vec::new();
    let mut answer: Option<(u64, Message)> = None;
    while answer.is_none() && now < start + 20_000 * MS {
        let at = Instant::from_nanos(now);
        // The resolver: the app's loop.
        let _ = resolver.poll(now);
        while let Some(ev) = resolver.next_event() {
            match ev {
                Event::Response {
                    from,
                    local_port,
                    data,
                    ..
                } => {
                    engine.handle_response(at, from, local_port, Transport::Udp, &data);
                }
                Event::UpstreamError { to, local_port, .. } => {
                    engine.handle_upstream_error(at, to, local_port, Transport::Udp);
                }
                Event::UpstreamHeld { to, local_port, .. } => {
                    engine.handle_upstream_held(at, to, local_port);
                }
                Event::UpstreamSent { to, local_port } => {
                    engine.handle_upstream_sent(at, to, local_port);
                }
                _ => {}
            }
        }
        engine.handle_timeout(at);
        while let Some(t) = engine.poll_transmit() {
            match t {
                Transmit::ToClient { payload, .. } => {
                    answer = Some((now, Message::from_vec(&payload).unwrap()));
                }
                Transmit::ToServer {
                    server,
                    local_port,
                    payload,
                    ..
                } => {
                    if resolver.send_udp(local_port, server, &payload).is_ok()
                        && !open_udp.contains(&local_port)
                    {
                        open_udp.push(local_port);
                    }
                }
            }
        }
        open_udp.retain(|p| engine.upstream_port_in_use(*p) || !resolver.close_udp(*p));
        let _ = resolver.flush();
        // The authoritative servers.
        for (ip, s) in &mut servers {
            let _ = s.poll(now);
            while let Some(ev) = s.next_event() {
                if let Event::Query {
                    client,
                    transport,
                    data,
                } = ev
                    && let Some(r) = respond(*ip, &data)
                {
                    let _ = s.reply(client, transport, &r);
                }
            }
            let _ = s.flush();
        }
        // The clock: to the next deadline, 1 ms at least (frames take that long).
        let mut next = engine.poll_timeout().map_or(u64::MAX, |t| t.as_nanos());
        for s in std::iter::once(&mut resolver).chain(servers.iter_mut().map(|(_, s)| s)) {
            if let Some(d) = s.poll_delay(now) {
                next = next.min(now.saturating_add(d));
            }
        }
        let busy = bus.borrow().iter().any(|q| !q.is_empty());
        now = if busy {
            now + MS
        } else {
            next.clamp(now + MS, now + 50 * MS)
        };
    }
    let (at, m) = answer.expect("the client got no answer in 20 s");
    let took_ms = (at - start) / MS;
    let timeouts = engine.stats().timeouts;
    println!(
        "4 new on-link servers, CNAME chain: answered in {took_ms} ms, {timeouts} upstream \
         timeouts, {} upstream queries, rcode {:?}",
        engine.stats().upstream_queries,
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
