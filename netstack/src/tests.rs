//! End-to-end tests of the stack over an in-memory Ethernet with a virtual clock.
//!
//! The peer is either another [`Stack`] or a plain smoltcp interface (for what a
//! `Stack` cannot do as a client: ping, raw TCP byte streams, a DHCP server). Frames
//! are delivered instantly; time only moves in [`step`], which jumps to the earliest
//! deadline of any node (at least 1 ms, at most 50 ms), so nothing sleeps.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::rc::Rc;
use std::string::ToString;
use std::vec;
use std::vec::Vec;

use smoltcp::iface::{Config, Interface, SocketHandle, SocketSet};
use smoltcp::phy::{self, ChecksumCapabilities, DeviceCapabilities, Medium};
use smoltcp::socket::{icmp, tcp, udp};
use smoltcp::time::Instant;
use smoltcp::wire::{
    DhcpMessageType, DhcpPacket, DhcpRepr, EthernetAddress, EthernetFrame, EthernetProtocol,
    HardwareAddress, Icmpv4Message, Icmpv4Packet, Icmpv4Repr, Icmpv6Message, Icmpv6Packet,
    Icmpv6Repr, IpAddress, IpCidr, IpProtocol, Ipv4Cidr, Ipv4Packet, Ipv6Cidr, Ipv6Packet,
};

use crate::{
    DhcpEvent, Event, NetConfig, NetLimits, NewError, Nic, ReplyError, SendError, Stack, Transport,
    UpstreamErrorKind,
};

type Queue = Rc<RefCell<VecDeque<Vec<u8>>>>;

const MS: u64 = 1_000_000;
const SEC: u64 = 1_000 * MS;
const MTU: usize = 1500;
const MAC_A: [u8; 6] = [0x02, 0, 0, 0, 0, 0x0a];
const MAC_B: [u8; 6] = [0x02, 0, 0, 0, 0, 0x0b];
const A4: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
const B4: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 3);
const GW4: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const A6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 2);
const B6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 3);

/// The in-memory NIC: frames are popped from `rx` and pushed to `tx`.
struct SimNic {
    mac: [u8; 6],
    mtu: usize,
    rx: Queue,
    tx: Queue,
}

impl Nic for SimNic {
    fn recv(&mut self, buf: &mut [u8]) -> Option<usize> {
        loop {
            let f = self.rx.borrow_mut().pop_front()?;
            if let Some(dst) = buf.get_mut(..f.len()) {
                dst.copy_from_slice(&f);
                return Some(f.len());
            }
        }
    }
    fn send(&mut self, frame: &[u8]) {
        self.tx.borrow_mut().push_back(frame.to_vec());
    }
    fn mac(&self) -> [u8; 6] {
        self.mac
    }
    fn mtu(&self) -> usize {
        self.mtu
    }
}

/// Two queues, one per direction.
fn link() -> (Queue, Queue) {
    (Queue::default(), Queue::default())
}

/// A smoltcp device over the same queues, for the raw peer.
struct RawDev {
    rx: Queue,
    tx: Queue,
}

struct RawRx(Vec<u8>);
struct RawTx(Queue);

impl phy::RxToken for RawRx {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(&self.0)
    }
}

impl phy::TxToken for RawTx {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let mut buf = vec![0; len];
        let r = f(&mut buf);
        self.0.borrow_mut().push_back(buf);
        r
    }
}

impl phy::Device for RawDev {
    type RxToken<'a> = RawRx;
    type TxToken<'a> = RawTx;
    fn receive(&mut self, _: Instant) -> Option<(RawRx, RawTx)> {
        let f = self.rx.borrow_mut().pop_front()?;
        Some((RawRx(f), RawTx(self.tx.clone())))
    }
    fn transmit(&mut self, _: Instant) -> Option<RawTx> {
        Some(RawTx(self.tx.clone()))
    }
    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ethernet;
        caps.max_transmission_unit = MTU + 14;
        caps
    }
}

/// A plain smoltcp interface with sockets the test adds.
struct Raw {
    iface: Interface,
    dev: RawDev,
    sockets: SocketSet<'static>,
}

impl Raw {
    fn new(mac: [u8; 6], rx: Queue, tx: Queue, addrs: &[IpCidr]) -> Raw {
        let mut dev = RawDev { rx, tx };
        let cfg = Config::new(HardwareAddress::Ethernet(EthernetAddress(mac)));
        let mut iface = Interface::new(cfg, &mut dev, Instant::ZERO);
        iface.update_ip_addrs(|a| {
            for c in addrs {
                a.push(*c).unwrap();
            }
        });
        Raw {
            iface,
            dev,
            sockets: SocketSet::new(Vec::new()),
        }
    }

    fn tcp(&mut self) -> SocketHandle {
        let s = tcp::Socket::new(
            tcp::SocketBuffer::new(vec![0; 8192]),
            tcp::SocketBuffer::new(vec![0; 8192]),
        );
        self.sockets.add(s)
    }

    fn sock(&mut self, h: SocketHandle) -> &mut tcp::Socket<'static> {
        self.sockets.get_mut::<tcp::Socket>(h)
    }

    fn connect(&mut self, h: SocketAddr, local_port: u16) -> SocketHandle {
        let s = self.tcp();
        let cx = self.iface.context();
        self.sockets
            .get_mut::<tcp::Socket>(s)
            .connect(cx, h, local_port)
            .unwrap();
        s
    }

    fn udp(&mut self, port: u16) -> SocketHandle {
        let buf = || udp::PacketBuffer::new(vec![udp::PacketMetadata::EMPTY; 8], vec![0; 8192]);
        let mut s = udp::Socket::new(buf(), buf());
        s.bind(port).unwrap();
        self.sockets.add(s)
    }
}

fn ts(now: u64) -> Instant {
    Instant::from_micros((now / 1000) as i64)
}

/// Something the simulation can run.
trait Node {
    fn run(&mut self, now: u64);
    fn delay(&mut self, now: u64) -> Option<u64>;
}

impl Node for Stack<SimNic> {
    fn run(&mut self, now: u64) {
        let _ = self.poll(now);
    }
    fn delay(&mut self, now: u64) -> Option<u64> {
        // Tests leave events queued on purpose; that must not stall the clock.
        if self.events.q.is_empty() {
            self.poll_delay(now)
        } else {
            None
        }
    }
}

impl Node for Raw {
    fn run(&mut self, now: u64) {
        self.iface.poll(ts(now), &mut self.dev, &mut self.sockets);
    }
    fn delay(&mut self, now: u64) -> Option<u64> {
        self.iface
            .poll_delay(ts(now), &self.sockets)
            .map(|d| d.total_micros() * 1000)
    }
}

/// Lets every node process and answer at this instant, then moves the clock to the
/// next deadline (at least 1 ms, at most 50 ms ahead).
fn step(now: &mut u64, nodes: &mut [&mut dyn Node]) {
    for _ in 0..6 {
        for n in nodes.iter_mut() {
            n.run(*now);
        }
    }
    let next = nodes.iter_mut().filter_map(|n| n.delay(*now)).min();
    *now += next.unwrap_or(50 * MS).clamp(MS, 50 * MS);
}

/// Steps until `$cond` holds, at most `$max` ns of virtual time.
macro_rules! run_until {
    ($now:ident, $max:expr, [$($n:expr),+], $cond:expr) => {{
        let end = $now + $max;
        loop {
            step(&mut $now, &mut [$(&mut $n as &mut dyn Node),+]);
            if $cond {
                break;
            }
            assert!($now < end, "not reached in time: {}", stringify!($cond));
        }
    }};
}

fn config(v4: Ipv4Addr, v6: Ipv6Addr, limits: NetLimits) -> NetConfig {
    NetConfig {
        ipv4: Some((v4, 24)),
        ipv4_gateway: Some(GW4),
        ipv6: Some((v6, 64)),
        ipv6_gateway: None,
        dhcp: false,
        dns_port: 53,
        limits,
    }
}

fn stack(mac: [u8; 6], rx: Queue, tx: Queue, cfg: &NetConfig) -> Stack<SimNic> {
    let nic = SimNic {
        mac,
        mtu: MTU,
        rx,
        tx,
    };
    Stack::new(nic, cfg, 1, 0).unwrap()
}

/// Stack A (the server, 10.0.0.2 / fd00::2) and stack B (10.0.0.3 / fd00::3) on one wire.
fn pair(la: NetLimits, lb: NetLimits) -> (Stack<SimNic>, Stack<SimNic>) {
    let (ab, ba) = link();
    let a = stack(MAC_A, ba.clone(), ab.clone(), &config(A4, A6, la));
    let b = stack(MAC_B, ab, ba, &config(B4, B6, lb));
    (a, b)
}

/// Stack A and a raw smoltcp peer B with B's addresses.
fn with_raw(la: NetLimits) -> (Stack<SimNic>, Raw) {
    let (ab, ba) = link();
    let a = stack(MAC_A, ba.clone(), ab.clone(), &config(A4, A6, la));
    let raw = Raw::new(
        MAC_B,
        ab,
        ba,
        &[
            IpCidr::Ipv4(Ipv4Cidr::new(B4, 24)),
            IpCidr::Ipv6(Ipv6Cidr::new(B6, 64)),
        ],
    );
    (a, raw)
}

/// Moves the events of `s` into `into`, but for the departure reports of upstream
/// datagrams that waited for ARP/NDP (the neighbour tests look at those).
fn drain(s: &mut Stack<SimNic>, into: &mut Vec<Event>) -> usize {
    while let Some(e) = s.next_event() {
        if !matches!(e, Event::UpstreamHeld { .. } | Event::UpstreamSent { .. }) {
            into.push(e);
        }
    }
    into.len()
}

fn sa(ip: impl Into<IpAddr>, port: u16) -> SocketAddr {
    SocketAddr::new(ip.into(), port)
}

fn query(e: &Event) -> (SocketAddr, Transport, Vec<u8>) {
    match e {
        Event::Query {
            client,
            transport,
            data,
        } => (*client, *transport, data.clone()),
        other => panic!("expected a query, got {other:?}"),
    }
}

fn framed(parts: &[&[u8]]) -> Vec<u8> {
    parts
        .iter()
        .flat_map(|p| {
            let mut v = (p.len() as u16).to_be_bytes().to_vec();
            v.extend_from_slice(p);
            v
        })
        .collect()
}

fn icmp_socket(raw: &mut Raw) -> SocketHandle {
    let buf = || icmp::PacketBuffer::new(vec![icmp::PacketMetadata::EMPTY; 4], vec![0; 1024]);
    let mut s = icmp::Socket::new(buf(), buf());
    s.bind(icmp::Endpoint::Ident(0x1234)).unwrap();
    raw.sockets.add(s)
}

#[test]
fn a_new_stack_announces_its_ipv4_address() {
    let (ab, ba) = link();
    let a = stack(MAC_A, ba, ab.clone(), &config(A4, A6, NetLimits::default()));
    let frame = ab.borrow_mut().pop_front().expect("an announcement");
    let eth = smoltcp::wire::EthernetFrame::new_checked(&frame[..]).unwrap();
    assert_eq!(eth.dst_addr(), EthernetAddress::BROADCAST);
    assert_eq!(eth.ethertype(), smoltcp::wire::EthernetProtocol::Arp);
    let arp = smoltcp::wire::ArpPacket::new_checked(eth.payload()).unwrap();
    assert_eq!(
        smoltcp::wire::ArpRepr::parse(&arp).unwrap(),
        smoltcp::wire::ArpRepr::EthernetIpv4 {
            operation: smoltcp::wire::ArpOperation::Request,
            source_hardware_addr: EthernetAddress(MAC_A),
            source_protocol_addr: A4,
            target_hardware_addr: EthernetAddress([0; 6]),
            target_protocol_addr: A4,
        }
    );
    // Then the gateway is asked for, before any query needs it.
    let frame = ab.borrow_mut().pop_front().expect("a gateway solicitation");
    let eth = smoltcp::wire::EthernetFrame::new_checked(&frame[..]).unwrap();
    let arp = smoltcp::wire::ArpPacket::new_checked(eth.payload()).unwrap();
    assert!(matches!(
        smoltcp::wire::ArpRepr::parse(&arp).unwrap(),
        smoltcp::wire::ArpRepr::EthernetIpv4 {
            operation: smoltcp::wire::ArpOperation::Request,
            target_protocol_addr: GW4,
            ..
        }
    ));
    assert!(ab.borrow().is_empty());
    assert_eq!(a.stats().frames_out, 2);
}

#[test]
fn arp_resolution_and_ipv4_ping() {
    let (mut a, mut raw) = with_raw(NetLimits::default());
    let h = icmp_socket(&mut raw);
    let echo = Icmpv4Repr::EchoRequest {
        ident: 0x1234,
        seq_no: 1,
        data: b"ping",
    };
    let mut buf = vec![0; echo.buffer_len()];
    echo.emit(
        &mut Icmpv4Packet::new_unchecked(&mut buf),
        &ChecksumCapabilities::default(),
    );
    raw.sockets
        .get_mut::<icmp::Socket>(h)
        .send_slice(&buf, IpAddress::Ipv4(A4))
        .unwrap();
    let mut now = 0;
    run_until!(
        now,
        2 * SEC,
        [a, raw],
        raw.sockets.get_mut::<icmp::Socket>(h).can_recv()
    );
    let (data, from) = raw.sockets.get_mut::<icmp::Socket>(h).recv().unwrap();
    assert_eq!(from, IpAddress::Ipv4(A4));
    let reply = Icmpv4Repr::parse(
        &Icmpv4Packet::new_checked(data).unwrap(),
        &ChecksumCapabilities::default(),
    )
    .unwrap();
    assert_eq!(
        reply,
        Icmpv4Repr::EchoReply {
            ident: 0x1234,
            seq_no: 1,
            data: b"ping"
        }
    );
    // The echo needed ARP both ways: the stack asked for the peer's MAC too.
    assert!(a.stats().frames_in >= 2 && a.stats().frames_out >= 2);
}

fn ping6(dst: Ipv6Addr) {
    let (mut a, mut raw) = with_raw(NetLimits::default());
    let h = icmp_socket(&mut raw);
    let src = if dst.is_unicast_link_local() {
        crate::net::link_local(MAC_B)
    } else {
        B6
    };
    if dst.is_unicast_link_local() {
        raw.iface.update_ip_addrs(|a| {
            a.push(IpCidr::Ipv6(Ipv6Cidr::new(src, 64))).unwrap();
        });
    }
    let echo = Icmpv6Repr::EchoRequest {
        ident: 0x1234,
        seq_no: 7,
        data: b"ping6",
    };
    let mut buf = vec![0; echo.buffer_len()];
    echo.emit(
        &src,
        &dst,
        &mut Icmpv6Packet::new_unchecked(&mut buf),
        &ChecksumCapabilities::default(),
    );
    raw.sockets
        .get_mut::<icmp::Socket>(h)
        .send_slice(&buf, IpAddress::Ipv6(dst))
        .unwrap();
    let mut now = 0;
    run_until!(
        now,
        2 * SEC,
        [a, raw],
        raw.sockets.get_mut::<icmp::Socket>(h).can_recv()
    );
    let (data, from) = raw.sockets.get_mut::<icmp::Socket>(h).recv().unwrap();
    assert_eq!(from, IpAddress::Ipv6(dst));
    let reply = Icmpv6Repr::parse(
        &dst,
        &src,
        &Icmpv6Packet::new_checked(data).unwrap(),
        &ChecksumCapabilities::default(),
    )
    .unwrap();
    assert_eq!(
        reply,
        Icmpv6Repr::EchoReply {
            ident: 0x1234,
            seq_no: 7,
            data: b"ping6"
        }
    );
}

#[test]
fn ndp_resolution_and_ipv6_ping_global() {
    ping6(A6);
}

#[test]
fn ndp_resolution_and_ipv6_ping_link_local() {
    ping6(crate::net::link_local(MAC_A));
}

#[test]
fn addresses_include_derived_link_local() {
    let (x, y) = link();
    let gw6: Ipv6Addr = "fd00::1".parse().unwrap();
    let cfg = NetConfig {
        ipv6_gateway: Some(gw6),
        ..config(A4, A6, NetLimits::default())
    };
    let a = stack(MAC_A, x, y, &cfg);
    let ll: Ipv6Addr = "fe80::ff:fe00:a".parse().unwrap();
    assert_eq!(
        a.addresses(),
        vec![
            (IpAddr::V4(A4), 24),
            (IpAddr::V6(A6), 64),
            (IpAddr::V6(ll), 64)
        ]
    );
    assert_eq!(a.gateways(), (Some(GW4), Some(gw6)));
    assert_eq!(a.mac(), MAC_A);
}

fn udp_round_trip(server: IpAddr, client_ip: IpAddr) {
    let (mut a, mut b) = pair(NetLimits::default(), NetLimits::default());
    if let IpAddr::V6(ll) = client_ip
        && ll.is_unicast_link_local()
    {
        // B's own link-local address is already there (derived from its MAC).
        assert!(b.addresses().contains(&(client_ip, 64)));
    }
    b.send_udp(40000, sa(server, 53), b"query-1").unwrap();
    let mut now = 0;
    let mut ea = Vec::new();
    run_until!(now, SEC, [a, b], drain(&mut a, &mut ea) == 1);
    let (client, transport, data) = query(&ea[0]);
    assert_eq!(client, sa(client_ip, 40000));
    assert_eq!(transport, Transport::Udp);
    assert_eq!(data, b"query-1");
    a.reply(client, transport, b"answer-1").unwrap();
    // flush puts it on the wire without a poll (which would read frames first).
    let out = a.stats().frames_out;
    let _ = a.flush();
    assert_eq!(a.stats().frames_out, out + 1);
    let mut eb = Vec::new();
    run_until!(now, SEC, [a, b], drain(&mut b, &mut eb) == 1);
    assert_eq!(
        eb[0],
        Event::Response {
            from: sa(server, 53),
            local_port: 40000,
            tcp: false,
            data: b"answer-1".to_vec()
        }
    );
    assert_eq!(a.stats().udp_queries, 1);
    assert_eq!(a.stats().udp_replies, 1);
    assert_eq!(b.stats().upstream_udp_sent, 1);
    assert_eq!(b.stats().upstream_udp_responses, 1);
}

#[test]
fn udp_query_in_reply_out_ipv4() {
    udp_round_trip(A4.into(), B4.into());
}

#[test]
fn udp_query_in_reply_out_ipv6() {
    udp_round_trip(A6.into(), B6.into());
}

#[test]
fn udp_reply_leaves_from_the_link_local_address_it_was_sent_to() {
    udp_round_trip(
        crate::net::link_local(MAC_A).into(),
        crate::net::link_local(MAC_B).into(),
    );
}

#[test]
fn dns_on_another_port_udp_and_tcp() {
    let (ab, ba) = link();
    let cfg = NetConfig {
        dns_port: 5353,
        ..config(A4, A6, NetLimits::default())
    };
    let mut a = stack(MAC_A, ba.clone(), ab.clone(), &cfg);
    let mut b = stack(MAC_B, ab, ba, &config(B4, B6, NetLimits::default()));
    // Port 53 is not served: B's query there is not surfaced.
    b.send_udp(40000, sa(A4, 53), b"to-53").unwrap();
    b.send_udp(40001, sa(A4, 5353), b"to-5353").unwrap();
    let mut now = 0;
    let mut ea = Vec::new();
    run_until!(now, SEC, [a, b], drain(&mut a, &mut ea) == 1);
    for _ in 0..5 {
        step(&mut now, &mut [&mut a, &mut b]);
    }
    assert_eq!(drain(&mut a, &mut ea), 1);
    let (client, transport, data) = query(&ea[0]);
    assert_eq!((client, data.as_slice()), (sa(B4, 40001), &b"to-5353"[..]));
    a.reply(client, transport, b"udp-answer").unwrap();
    b.send_tcp(41000, sa(A4, 5353), b"tcp-query").unwrap();
    let mut eb = Vec::new();
    run_until!(now, SEC, [a, b], drain(&mut a, &mut ea) == 2);
    let (client, transport, data) = query(&ea[1]);
    assert!(transport.is_tcp());
    assert_eq!(data, b"tcp-query");
    a.reply(client, transport, b"tcp-answer").unwrap();
    run_until!(now, SEC, [a, b], drain(&mut b, &mut eb) == 2);
    assert_eq!(
        eb,
        [
            Event::Response {
                from: sa(A4, 5353),
                local_port: 40001,
                tcp: false,
                data: b"udp-answer".to_vec()
            },
            Event::Response {
                from: sa(A4, 5353),
                local_port: 41000,
                tcp: true,
                data: b"tcp-answer".to_vec()
            },
        ]
    );
    // The DNS port cannot be an upstream source port; 53 now can.
    assert_eq!(
        a.send_udp(5353, sa(B4, 53), b"q"),
        Err(SendError::InvalidPort)
    );
    assert_eq!(
        a.send_tcp(5353, sa(B4, 53), b"q"),
        Err(SendError::InvalidPort)
    );
    a.send_udp(53, sa(B4, 53), b"q").unwrap();
}

#[test]
fn tcp_two_pipelined_queries_replied_in_order() {
    let (mut a, mut raw) = with_raw(NetLimits::default());
    let s = raw.connect(sa(A4, 53), 50000);
    let mut now = 0;
    run_until!(now, SEC, [a, raw], raw.sock(s).may_send());
    // Both queries in one segment.
    raw.sock(s)
        .send_slice(&framed(&[b"q-one", b"q-two"]))
        .unwrap();
    let mut ea = Vec::new();
    run_until!(now, SEC, [a, raw], drain(&mut a, &mut ea) == 2);
    let (c1, t1, d1) = query(&ea[0]);
    let (c2, t2, d2) = query(&ea[1]);
    assert_eq!((c1, c2), (sa(B4, 50000), sa(B4, 50000)));
    assert_eq!(t1, t2);
    assert!(matches!(t1, Transport::Tcp { .. }));
    assert_eq!(
        (d1.as_slice(), d2.as_slice()),
        (&b"q-one"[..], &b"q-two"[..])
    );
    assert_eq!(a.stats().tcp_open, 1);
    a.reply(c1, t1, b"reply-one").unwrap();
    a.reply(c2, t2, b"reply-two-longer").unwrap();
    let want = framed(&[b"reply-one", b"reply-two-longer"]);
    run_until!(now, SEC, [a, raw], raw.sock(s).recv_queue() >= want.len());
    let mut got = vec![0; want.len()];
    raw.sock(s).recv_slice(&mut got).unwrap();
    assert_eq!(got, want);
    // The client closes; the stack closes its side and re-listens.
    raw.sock(s).close();
    run_until!(now, 5 * SEC, [a, raw], a.stats().tcp_open == 0);
    assert_eq!(a.stats().tcp_queries, 2);
    assert_eq!(a.stats().tcp_replies, 2);
    // A stale connection id is refused.
    assert_eq!(a.reply(c1, t1, b"late"), Err(ReplyError::UnknownConnection));
}

#[test]
fn tcp_query_split_across_segments_and_ipv6() {
    let (mut a, mut raw) = with_raw(NetLimits::default());
    let s = raw.connect(sa(A6, 53), 50001);
    let mut now = 0;
    run_until!(now, SEC, [a, raw], raw.sock(s).may_send());
    let msg = framed(&[b"split-query"]);
    raw.sock(s).send_slice(&msg[..1]).unwrap();
    step(&mut now, &mut [&mut a, &mut raw]);
    raw.sock(s).send_slice(&msg[1..5]).unwrap();
    step(&mut now, &mut [&mut a, &mut raw]);
    assert!(a.next_event().is_none());
    raw.sock(s).send_slice(&msg[5..]).unwrap();
    let mut ea = Vec::new();
    run_until!(now, SEC, [a, raw], drain(&mut a, &mut ea) == 1);
    let (client, _, data) = query(&ea[0]);
    assert_eq!(client, sa(B6, 50001));
    assert_eq!(data, b"split-query");
}

#[test]
fn tcp_connections_up_to_the_cap_and_the_next_is_refused() {
    let limits = NetLimits {
        tcp_clients: 3,
        ..NetLimits::default()
    };
    let (mut a, mut raw) = with_raw(limits);
    let socks: Vec<_> = (0..3).map(|i| raw.connect(sa(A4, 53), 51000 + i)).collect();
    let mut now = 0;
    run_until!(
        now,
        SEC,
        [a, raw],
        socks.iter().all(|&s| raw.sock(s).may_send())
    );
    assert_eq!(a.stats().tcp_open, 3);
    let extra = raw.connect(sa(A4, 53), 51003);
    run_until!(now, SEC, [a, raw], !raw.sock(extra).is_open());
    assert_eq!(raw.sock(extra).state(), tcp::State::Closed);
    // Each accepted connection carries its own id and works.
    for (i, &s) in socks.iter().enumerate() {
        raw.sock(s).send_slice(&framed(&[&[i as u8; 3]])).unwrap();
    }
    let mut ea = Vec::new();
    run_until!(now, SEC, [a, raw], drain(&mut a, &mut ea) == 3);
    let mut conns: Vec<_> = ea.iter().map(|e| query(e).1).collect();
    conns.dedup();
    assert_eq!(conns.len(), 3);
    // One closes, and a new connection is accepted in its place.
    raw.sock(socks[0]).abort();
    run_until!(now, SEC, [a, raw], a.stats().tcp_open == 2);
    let again = raw.connect(sa(A4, 53), 51004);
    run_until!(now, SEC, [a, raw], raw.sock(again).may_send());
    assert_eq!(a.stats().tcp_open, 3);
    assert_eq!(a.stats().tcp_accepted, 4);
}

#[test]
fn tcp_sockets_are_made_on_demand_up_to_the_caps() {
    let limits = NetLimits {
        tcp_clients: 3,
        upstream_tcp_sockets: 2,
        ..NetLimits::default()
    };
    let (mut a, mut raw) = with_raw(limits);
    // One listener waits; no upstream socket exists before the first exchange.
    assert_eq!(a.tcp_sockets(), (1, 0));
    // Two SYNs in one burst: each finds a listener, and a third listener waits.
    let socks: Vec<_> = (0..2).map(|i| raw.connect(sa(A4, 53), 53000 + i)).collect();
    let mut now = 0;
    run_until!(
        now,
        SEC,
        [a, raw],
        socks.iter().all(|&s| raw.sock(s).may_send())
    );
    assert_eq!(a.tcp_sockets(), (3, 0));
    let third = raw.connect(sa(A4, 53), 53002);
    run_until!(now, SEC, [a, raw], raw.sock(third).may_send());
    // At the cap: no fourth socket, and a fourth client is refused.
    assert_eq!(a.tcp_sockets(), (3, 0));
    let extra = raw.connect(sa(A4, 53), 53003);
    run_until!(now, SEC, [a, raw], !raw.sock(extra).is_open());
    assert_eq!(a.tcp_sockets(), (3, 0));
    // Upstream sockets: made on first use, reused once free, never past the cap.
    a.send_tcp(42000, sa(B4, 53), b"q").unwrap();
    assert_eq!(a.tcp_sockets(), (3, 1));
    a.send_tcp(42001, sa(B4, 53), b"q").unwrap();
    assert_eq!(
        a.send_tcp(42002, sa(B4, 53), b"q"),
        Err(SendError::NoFreeSocket)
    );
    assert_eq!(a.tcp_sockets(), (3, 2));
}

#[test]
fn tcp_idle_connection_is_closed_and_listener_rearmed() {
    let limits = NetLimits {
        tcp_clients: 1,
        tcp_idle_timeout_ns: 2 * SEC,
        ..NetLimits::default()
    };
    let (mut a, mut raw) = with_raw(limits);
    let s = raw.connect(sa(A4, 53), 52000);
    let mut now = 0;
    run_until!(now, SEC, [a, raw], raw.sock(s).may_send());
    let opened = now;
    // poll_delay tells the main loop about the idle deadline.
    let d = a.poll_delay(now).unwrap();
    assert!(d <= 2 * SEC, "{d}");
    run_until!(now, 5 * SEC, [a, raw], !raw.sock(s).may_recv());
    assert!(now - opened >= 2 * SEC);
    assert_eq!(a.stats().tcp_closed_idle, 1);
    raw.sock(s).close();
    run_until!(now, 5 * SEC, [a, raw], a.stats().tcp_open == 0);
    let s2 = raw.connect(sa(A4, 53), 52001);
    run_until!(now, SEC, [a, raw], raw.sock(s2).may_send());
}

#[test]
fn tcp_idle_client_that_never_closes_is_reset() {
    let limits = NetLimits {
        tcp_idle_timeout_ns: SEC,
        ..NetLimits::default()
    };
    let (mut a, mut raw) = with_raw(limits);
    let s = raw.connect(sa(A4, 53), 52100);
    let mut now = 0;
    run_until!(now, SEC, [a, raw], raw.sock(s).may_send());
    // The peer never closes its side: FIN-WAIT-2 on the stack's side, then reset.
    run_until!(now, 10 * SEC, [a, raw], a.stats().tcp_open == 0);
    assert!(now < 4 * SEC);
}

#[test]
fn tcp_oversized_or_zero_length_prefix_resets() {
    for prefix in [[0x02, 0x01], [0, 0]] {
        let limits = NetLimits {
            tcp_max_query: 512,
            ..NetLimits::default()
        };
        let (mut a, mut raw) = with_raw(limits);
        let s = raw.connect(sa(A4, 53), 53000);
        let mut now = 0;
        run_until!(now, SEC, [a, raw], raw.sock(s).may_send());
        raw.sock(s).send_slice(&prefix).unwrap();
        raw.sock(s).send_slice(&[0; 16]).unwrap();
        run_until!(now, SEC, [a, raw], !raw.sock(s).is_open());
        assert_eq!(a.stats().tcp_closed_bad_frame, 1);
        assert!(a.next_event().is_none());
        assert_eq!(a.stats().tcp_open, 0);
    }
}

#[test]
fn tcp_query_at_the_cap_is_accepted() {
    let limits = NetLimits {
        tcp_max_query: 512,
        ..NetLimits::default()
    };
    let (mut a, mut raw) = with_raw(limits);
    let s = raw.connect(sa(A4, 53), 53001);
    let mut now = 0;
    run_until!(now, SEC, [a, raw], raw.sock(s).may_send());
    raw.sock(s).send_slice(&framed(&[&[7; 512]])).unwrap();
    let mut ea = Vec::new();
    run_until!(now, SEC, [a, raw], drain(&mut a, &mut ea) == 1);
    assert_eq!(query(&ea[0]).2.len(), 512);
}

#[test]
fn tcp_pipeline_depth_cap_holds_reading_until_replies() {
    let limits = NetLimits {
        tcp_max_pending: 2,
        ..NetLimits::default()
    };
    let (mut a, mut raw) = with_raw(limits);
    let s = raw.connect(sa(A4, 53), 53100);
    let mut now = 0;
    run_until!(now, SEC, [a, raw], raw.sock(s).may_send());
    raw.sock(s)
        .send_slice(&framed(&[b"q1", b"q2", b"q3"]))
        .unwrap();
    let mut ea = Vec::new();
    run_until!(now, SEC, [a, raw], drain(&mut a, &mut ea) == 2);
    for _ in 0..5 {
        step(&mut now, &mut [&mut a, &mut raw]);
    }
    assert_eq!(drain(&mut a, &mut ea), 2);
    let (c, t, _) = query(&ea[0]);
    a.reply(c, t, b"r1").unwrap();
    run_until!(now, SEC, [a, raw], drain(&mut a, &mut ea) == 3);
    assert_eq!(query(&ea[2]).2, b"q3");
    a.reply(c, t, b"r2").unwrap();
    a.reply(c, t, b"r3").unwrap();
    let want = framed(&[b"r1", b"r2", b"r3"]);
    run_until!(now, SEC, [a, raw], raw.sock(s).recv_queue() >= want.len());
    let mut got = vec![0; want.len()];
    raw.sock(s).recv_slice(&mut got).unwrap();
    assert_eq!(got, want);
}

#[test]
fn tcp_reply_queue_cap_and_large_replies_through_a_small_buffer() {
    let limits = NetLimits {
        tcp_max_pending: 2,
        tcp_tx_buffer: 64,
        ..NetLimits::default()
    };
    let (mut a, mut raw) = with_raw(limits);
    let s = raw.connect(sa(A4, 53), 53200);
    let mut now = 0;
    run_until!(now, SEC, [a, raw], raw.sock(s).may_send());
    raw.sock(s).send_slice(&framed(&[b"q1", b"q2"])).unwrap();
    let mut ea = Vec::new();
    run_until!(now, SEC, [a, raw], drain(&mut a, &mut ea) == 2);
    let (c, t, _) = query(&ea[0]);
    let (r1, r2) = (vec![1; 1000], vec![2; 1000]);
    // The first reply fills the 64-byte socket buffer; the rest of it and the second
    // wait in the connection's queue, which holds tcp_max_pending replies.
    a.reply(c, t, &r1).unwrap();
    a.reply(c, t, &r2).unwrap();
    assert_eq!(a.reply(c, t, b"third"), Err(ReplyError::QueueFull));
    assert_eq!(a.reply(c, t, &vec![0; 65536]), Err(ReplyError::TooLarge));
    let want = framed(&[&r1, &r2]);
    run_until!(
        now,
        2 * SEC,
        [a, raw],
        raw.sock(s).recv_queue() >= want.len()
    );
    let mut got = vec![0; want.len()];
    raw.sock(s).recv_slice(&mut got).unwrap();
    assert_eq!(got, want);
}

#[test]
fn upstream_tcp_framed_exchange_between_two_stacks() {
    let (mut a, mut b) = pair(NetLimits::default(), NetLimits::default());
    b.send_tcp(41000, sa(A4, 53), b"tcp-query").unwrap();
    let mut now = 0;
    let mut ea = Vec::new();
    run_until!(now, SEC, [a, b], drain(&mut a, &mut ea) == 1);
    let (client, transport, data) = query(&ea[0]);
    assert_eq!(client, sa(B4, 41000));
    assert_eq!(data, b"tcp-query");
    let big = vec![0x5a; 3000]; // several segments
    a.reply(client, transport, &big).unwrap();
    let mut eb = Vec::new();
    run_until!(now, SEC, [a, b], drain(&mut b, &mut eb) == 1);
    assert_eq!(
        eb[0],
        Event::Response {
            from: sa(A4, 53),
            local_port: 41000,
            tcp: true,
            data: big
        }
    );
    // Both sides close and free their sockets.
    run_until!(now, 5 * SEC, [a, b], a.stats().tcp_open == 0);
    assert_eq!(b.stats().upstream_tcp_responses, 1);
    // The local port can be used again at once.
    b.send_tcp(41000, sa(A4, 53), b"again").unwrap();
    run_until!(now, SEC, [a, b], drain(&mut a, &mut ea) == 2);
    assert_eq!(query(&ea[1]).0, sa(B4, 41000));
    // And over IPv6. Allow for one SYN-ACK retransmission (1 s): smoltcp solicits
    // neighbours from its link-local address, so A learns only B's link-local address
    // from B's solicitation and drops its first SYN-ACK to B's global address while it
    // resolves that in turn. (A Linux peer solicits from the global address.)
    b.send_tcp(41001, sa(A6, 53), b"v6").unwrap();
    run_until!(now, 2 * SEC, [a, b], drain(&mut a, &mut ea) == 3);
    let (client, transport, data) = query(&ea[2]);
    assert_eq!((client, data.as_slice()), (sa(B6, 41001), &b"v6"[..]));
    a.reply(client, transport, b"v6-answer").unwrap();
    run_until!(now, SEC, [a, b], drain(&mut b, &mut eb) == 2);
    assert!(
        matches!(&eb[1], Event::Response { from, local_port: 41001, tcp: true, .. } if *from == sa(A6, 53))
    );
}

#[test]
fn upstream_tcp_refused_connection_is_an_error_event() {
    let (mut a, mut b) = pair(NetLimits::default(), NetLimits::default());
    b.send_tcp(41001, sa(A4, 54), b"q").unwrap();
    let mut now = 0;
    let mut eb = Vec::new();
    run_until!(now, SEC, [a, b], drain(&mut b, &mut eb) == 1);
    assert_eq!(
        eb[0],
        Event::UpstreamError {
            to: sa(A4, 54),
            local_port: 41001,
            tcp: true,
            kind: UpstreamErrorKind::ConnectFailed
        }
    );
    assert_eq!(b.stats().upstream_tcp_errors, 1);
}

#[test]
fn upstream_tcp_reset_mid_response_is_an_error_event() {
    let (mut a, mut raw) = with_raw(NetLimits::default());
    let l = raw.tcp();
    raw.sock(l).listen(53).unwrap();
    a.send_tcp(41002, sa(B4, 53), b"q").unwrap();
    let mut now = 0;
    run_until!(now, SEC, [a, raw], raw.sock(l).recv_queue() == 3);
    raw.sock(l).send_slice(&[0, 10, 1, 2]).unwrap();
    step(&mut now, &mut [&mut a, &mut raw]);
    raw.sock(l).abort();
    let mut ea = Vec::new();
    run_until!(now, SEC, [a, raw], drain(&mut a, &mut ea) == 1);
    assert_eq!(
        ea[0],
        Event::UpstreamError {
            to: sa(B4, 53),
            local_port: 41002,
            tcp: true,
            kind: UpstreamErrorKind::Reset
        }
    );
}

#[test]
fn upstream_tcp_oversized_response_is_bad_frame() {
    let limits = NetLimits {
        upstream_tcp_max_response: 100,
        ..NetLimits::default()
    };
    let (mut a, mut raw) = with_raw(limits);
    let l = raw.tcp();
    raw.sock(l).listen(53).unwrap();
    a.send_tcp(41003, sa(B4, 53), b"q").unwrap();
    let mut now = 0;
    run_until!(now, SEC, [a, raw], raw.sock(l).recv_queue() == 3);
    raw.sock(l).send_slice(&[0, 101]).unwrap();
    let mut ea = Vec::new();
    run_until!(now, SEC, [a, raw], drain(&mut a, &mut ea) == 1);
    assert!(matches!(
        ea[0],
        Event::UpstreamError {
            kind: UpstreamErrorKind::BadFrame,
            ..
        }
    ));
}

#[test]
fn upstream_tcp_to_a_silent_host_times_out() {
    let limits = NetLimits {
        upstream_tcp_timeout_ns: 3 * SEC,
        ..NetLimits::default()
    };
    let (mut a, mut b) = pair(limits, NetLimits::default());
    // 10.0.0.9 does not exist: ARP goes unanswered.
    let dst = sa(Ipv4Addr::new(10, 0, 0, 9), 53);
    a.send_tcp(41004, dst, b"q").unwrap();
    let mut now = 0;
    let mut ea = Vec::new();
    run_until!(now, 5 * SEC, [a, b], drain(&mut a, &mut ea) == 1);
    assert!(now >= 3 * SEC);
    assert_eq!(
        ea[0],
        Event::UpstreamError {
            to: dst,
            local_port: 41004,
            tcp: true,
            kind: UpstreamErrorKind::Timeout
        }
    );
}

#[test]
fn upstream_socket_caps_and_port_rules() {
    let limits = NetLimits {
        upstream_udp_sockets: 2,
        upstream_tcp_sockets: 1,
        // Refused at once, not held for a socket (the neighbour tests hold).
        upstream_udp_wait: 0,
        ..NetLimits::default()
    };
    let (mut a, _b) = pair(limits, NetLimits::default());
    let dst = sa(B4, 53);
    assert_eq!(a.send_udp(0, dst, b"q"), Err(SendError::InvalidPort));
    assert_eq!(a.send_udp(53, dst, b"q"), Err(SendError::InvalidPort));
    a.send_udp(1000, dst, b"q").unwrap();
    a.send_udp(1000, dst, b"q").unwrap(); // same port: same socket
    a.send_udp(1001, dst, b"q").unwrap();
    assert_eq!(a.send_udp(1002, dst, b"q"), Err(SendError::NoFreeSocket));
    assert!(a.close_udp(1000));
    assert!(!a.close_udp(1000));
    a.send_udp(1002, dst, b"q").unwrap();
    // Datagrams are never fragmented: the payload must fit the MTU.
    assert_eq!(
        a.send_udp(1002, dst, &[0; MTU - 28 + 1]),
        Err(SendError::TooLarge)
    );
    assert_eq!(
        a.send_udp(1002, sa(B6, 53), &[0; MTU - 48 + 1]),
        Err(SendError::TooLarge)
    );
    // The per-socket transmit buffer (2 datagrams by default) fills before a poll.
    assert_eq!(a.send_udp(1002, dst, b"q"), Ok(()));
    assert_eq!(a.send_udp(1002, dst, b"q"), Err(SendError::BufferFull));

    a.send_tcp(2000, dst, b"q").unwrap();
    assert_eq!(a.send_tcp(2000, dst, b"q"), Err(SendError::PortInUse));
    assert_eq!(a.send_tcp(2001, dst, b"q"), Err(SendError::NoFreeSocket));
    assert_eq!(
        a.send_tcp(2002, dst, &vec![0; 65536]),
        Err(SendError::TooLarge)
    );
    assert_eq!(a.stats().upstream_no_socket, 2);
}

#[test]
fn udp_reply_errors() {
    let limits = NetLimits {
        udp_tx_packets: 1,
        ..NetLimits::default()
    };
    let (mut a, _b) = pair(limits, NetLimits::default());
    let c = sa(B4, 40000);
    assert_eq!(
        a.reply(c, Transport::Udp, &[0; MTU]),
        Err(ReplyError::TooLarge)
    );
    a.reply(c, Transport::Udp, b"ok").unwrap();
    assert_eq!(
        a.reply(c, Transport::Udp, b"more"),
        Err(ReplyError::BufferFull)
    );
    assert_eq!(
        a.reply(sa(B4, 0), Transport::Udp, b"x"),
        Err(ReplyError::Unaddressable)
    );
    assert_eq!(
        a.reply(c, Transport::Tcp { conn: 99 }, b"x"),
        Err(ReplyError::UnknownConnection)
    );
    assert_eq!(a.stats().udp_reply_errors, 3);
}

#[test]
fn event_queue_cap_leaves_frames_in_the_nic_until_drained() {
    let la = NetLimits {
        event_queue: 2,
        ..NetLimits::default()
    };
    let lb = NetLimits {
        upstream_udp_tx_packets: 8,
        ..NetLimits::default()
    };
    let (mut a, mut b) = pair(la, lb);
    for i in 0..5u8 {
        b.send_udp(40000, sa(A4, 53), &[i]).unwrap();
    }
    let mut now = 0;
    // Without draining, A never queues more than the cap, and stops reading frames:
    // the other three wait in the NIC, not in (or dropped by) a socket buffer.
    run_until!(now, SEC, [a, b], a.stats().udp_queries == 2);
    for _ in 0..5 {
        step(&mut now, &mut [&mut a, &mut b]);
    }
    assert_eq!(a.events.q.len(), 2);
    assert_eq!(a.stats().udp_queries, 2);
    assert!(a.stats().poll_held_back > 0);
    assert_eq!(a.poll_delay(now), Some(0));
    let mut ea = Vec::new();
    for _ in 0..5 {
        drain(&mut a, &mut ea);
        let _ = a.poll(now);
    }
    let got: Vec<u8> = ea.iter().map(|e| query(e).2[0]).collect();
    assert_eq!(got, [0, 1, 2, 3, 4]);
}

#[test]
fn udp_burst_past_socket_buffer_and_event_queue_waits_in_the_nic() {
    let la = NetLimits {
        udp_rx_packets: 3,
        event_queue: 1,
        ..NetLimits::default()
    };
    let lb = NetLimits {
        upstream_udp_tx_packets: 10,
        ..NetLimits::default()
    };
    let (mut a, mut b) = pair(la, lb);
    for i in 0..10u8 {
        b.send_udp(40000, sa(A4, 53), &[i]).unwrap();
    }
    let mut now = 0;
    // ARP first, so all ten go out together.
    for _ in 0..20 {
        step(&mut now, &mut [&mut a, &mut b]);
    }
    let mut ea = Vec::new();
    for _ in 0..20 {
        assert!(a.events.q.len() <= 1);
        drain(&mut a, &mut ea);
        let _ = a.poll(now);
    }
    // One event at a time, and the socket never overflowed: nothing was dropped
    // (it used to keep one in the queue and three in the socket and drop six).
    let got: Vec<u8> = ea.iter().map(|e| query(e).2[0]).collect();
    assert_eq!(got, (0..10).collect::<Vec<u8>>());
}

#[test]
fn frame_budget_per_poll_then_poll_delay_zero() {
    let la = NetLimits {
        max_frames_per_poll: 2,
        ..NetLimits::default()
    };
    let (ab, ba) = link();
    let mut a = stack(MAC_A, ba.clone(), ab, &config(A4, A6, la));
    for _ in 0..5 {
        ba.borrow_mut().push_back(vec![0xff; 60]);
    }
    let _ = a.poll(0);
    assert_eq!(a.stats().frames_in, 2);
    assert_eq!(a.stats().poll_budget_exhausted, 1);
    assert_eq!(a.poll_delay(0), Some(0));
    let _ = a.poll(0);
    let _ = a.poll(0);
    assert_eq!(a.stats().frames_in, 5);
    assert_eq!(a.poll_delay(0), None);
}

#[test]
fn poll_delay_is_none_when_idle_and_bounded_when_busy() {
    let (mut a, mut b) = pair(NetLimits::default(), NetLimits::default());
    let _ = a.poll(0);
    assert_eq!(a.poll_delay(0), None);
    assert!(!a.poll(5 * SEC));
    assert_eq!(a.poll_delay(5 * SEC), None);
    // An upstream exchange in progress has a deadline.
    b.send_tcp(42000, sa(A4, 53), b"q").unwrap();
    let d = b.poll_delay(0).unwrap();
    assert!(d <= NetLimits::default().upstream_tcp_timeout_ns);
}

#[test]
fn garbage_frames_do_not_panic() {
    let (ab, ba) = link();
    let mut a = stack(MAC_A, ba.clone(), ab, &config(A4, A6, NetLimits::default()));
    // xorshift: deterministic noise, with valid-looking Ethernet/IP headers half the time.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for i in 0..5000 {
        let len = (next() % 1600) as usize;
        let mut f: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        if i % 2 == 0 && len > 34 {
            f[..6].copy_from_slice(&MAC_A);
            f[12..14].copy_from_slice(if i % 4 == 0 {
                &[0x08, 0]
            } else {
                &[0x86, 0xdd]
            });
            f[14] = if i % 4 == 0 { 0x45 } else { 0x60 };
        }
        ba.borrow_mut().push_back(f);
        if i % 64 == 0 {
            let _ = a.poll(i * MS);
            while a.next_event().is_some() {}
        }
    }
    // Read the rest, a frame budget at a time.
    for _ in 0..1000 {
        let _ = a.poll(6 * SEC);
        while a.next_event().is_some() {}
        if a.poll_delay(6 * SEC) != Some(0) {
            break;
        }
    }
    assert!(a.stats().frames_in > 4000);
}

#[test]
fn new_rejects_bad_nic_and_config() {
    let (x, y) = link();
    let nic = |mac, mtu| SimNic {
        mac,
        mtu,
        rx: x.clone(),
        tx: y.clone(),
    };
    let cfg = config(A4, A6, NetLimits::default());
    let err = |r: Result<Stack<SimNic>, NewError>| r.err().unwrap();
    assert_eq!(
        err(Stack::new(nic([0xff; 6], MTU), &cfg, 0, 0)),
        NewError::BadMac([0xff; 6])
    );
    assert_eq!(
        err(Stack::new(nic([0x01, 0, 0x5e, 0, 0, 1], MTU), &cfg, 0, 0)),
        NewError::BadMac([0x01, 0, 0x5e, 0, 0, 1])
    );
    assert_eq!(
        err(Stack::new(nic(MAC_A, 0), &cfg, 0, 0)),
        NewError::BadMtu(0)
    );
    assert_eq!(
        err(Stack::new(nic(MAC_A, 100_000), &cfg, 0, 0)),
        NewError::BadMtu(100_000)
    );
    let mut bad = cfg.clone();
    bad.ipv4 = Some((A4, 33));
    assert_eq!(
        err(Stack::new(nic(MAC_A, MTU), &bad, 0, 0)),
        NewError::BadPrefix(33)
    );
    let mut bad = cfg.clone();
    bad.ipv6 = Some((A6, 129));
    assert_eq!(
        err(Stack::new(nic(MAC_A, MTU), &bad, 0, 0)),
        NewError::BadPrefix(129)
    );
    let mut bad = cfg.clone();
    bad.limits.event_queue = 0;
    assert_eq!(
        err(Stack::new(nic(MAC_A, MTU), &bad, 0, 0)),
        NewError::ZeroLimit("event_queue")
    );
    let mut bad = cfg.clone();
    bad.dns_port = 0;
    assert_eq!(
        err(Stack::new(nic(MAC_A, MTU), &bad, 0, 0)),
        NewError::ZeroLimit("dns_port")
    );
    let mut bad = cfg.clone();
    bad.limits.tcp_idle_timeout_ns = 0;
    assert_eq!(
        err(Stack::new(nic(MAC_A, MTU), &bad, 0, 0)),
        NewError::ZeroLimit("tcp_idle_timeout_ns")
    );
    // Zero TCP listeners or upstream sockets is allowed: that service is just off.
    let mut off = cfg;
    off.limits.tcp_clients = 0;
    off.limits.upstream_tcp_sockets = 0;
    off.limits.upstream_udp_sockets = 0;
    assert!(Stack::new(nic(MAC_A, MTU), &off, 0, 0).is_ok());
}

#[test]
fn reply_source_memory_is_bounded() {
    let limits = NetLimits {
        udp_reply_sources: 2,
        ..NetLimits::default()
    };
    let (mut a, _b) = pair(limits, NetLimits::default());
    for port in 1..=5 {
        a.dns.reply_sources.remember(sa(B4, port), A4.into());
    }
    a.dns.reply_sources.remember(sa(B4, 4), A4.into());
    let kept: Vec<u16> = a
        .dns
        .reply_sources
        .q
        .iter()
        .map(|(c, _)| c.port())
        .collect();
    assert_eq!(kept, [5, 4]);
}

/// A DHCP server on the raw peer: offers 10.0.0.50/24 with router 10.0.0.1, acks any
/// request, and counts what it saw.
fn serve_dhcp(raw: &mut Raw, h: SocketHandle, lease_secs: u32, nak: bool) -> usize {
    let mut handled = 0;
    while let Ok((data, _)) = raw.sockets.get_mut::<udp::Socket>(h).recv() {
        let data = data.to_vec();
        let pkt = DhcpPacket::new_checked(&data[..]).unwrap();
        let req = DhcpRepr::parse(&pkt).unwrap();
        let message_type = match req.message_type {
            DhcpMessageType::Discover => DhcpMessageType::Offer,
            DhcpMessageType::Request if nak => DhcpMessageType::Nak,
            DhcpMessageType::Request => DhcpMessageType::Ack,
            _ => continue,
        };
        let repr = DhcpRepr {
            message_type,
            transaction_id: req.transaction_id,
            secs: 0,
            client_hardware_address: req.client_hardware_address,
            client_ip: Ipv4Addr::UNSPECIFIED,
            your_ip: Ipv4Addr::new(10, 0, 0, 50),
            server_ip: GW4,
            router: Some(GW4),
            subnet_mask: Some(Ipv4Addr::new(255, 255, 255, 0)),
            relay_agent_ip: Ipv4Addr::UNSPECIFIED,
            broadcast: false,
            requested_ip: None,
            client_identifier: None,
            server_identifier: Some(GW4),
            parameter_request_list: None,
            dns_servers: None,
            max_size: None,
            lease_duration: Some(lease_secs),
            renew_duration: None,
            rebind_duration: None,
            additional_options: &[],
        };
        let mut out = vec![0; repr.buffer_len()];
        repr.emit(&mut DhcpPacket::new_unchecked(&mut out[..]))
            .unwrap();
        raw.sockets
            .get_mut::<udp::Socket>(h)
            .send_slice(&out, sa(Ipv4Addr::BROADCAST, 68))
            .unwrap();
        handled += 1;
    }
    handled
}

#[test]
fn dhcp_lease_renewal_and_loss() {
    let (ab, ba) = link();
    let cfg = NetConfig {
        dhcp: true,
        ..config(A4, A6, NetLimits::default())
    };
    let mut a = stack(MAC_A, ba.clone(), ab.clone(), &cfg);
    // With DHCP on, the static IPv4 address is not used.
    assert!(a.addresses().iter().all(|(ip, _)| ip.is_ipv6()));
    let mut raw = Raw::new(MAC_B, ab, ba, &[IpCidr::Ipv4(Ipv4Cidr::new(GW4, 24))]);
    let h = raw.udp(67);
    let mut now = 0;
    let mut ea = Vec::new();
    let mut seen = 0;
    run_until!(now, 30 * SEC, [a, raw], {
        seen += serve_dhcp(&mut raw, h, 120, false);
        drain(&mut a, &mut ea) == 1
    });
    assert_eq!(seen, 2); // DISCOVER, REQUEST
    assert_eq!(
        ea[0],
        Event::Dhcp(DhcpEvent::Configured {
            address: Ipv4Addr::new(10, 0, 0, 50),
            prefix_len: 24,
            router: Some(GW4),
            dns_servers: vec![],
            server: GW4,
        })
    );
    assert_eq!(a.addresses()[0], (Ipv4Addr::new(10, 0, 0, 50).into(), 24));
    assert_eq!(a.gateways().0, Some(GW4));
    // The DHCP client's renewal timer shows in poll_delay.
    assert!(a.poll_delay(now).unwrap() <= 120 * SEC);
    // Renewal at T1 (half the lease): the server acks, nothing changes, no event.
    let before = now;
    run_until!(now, 120 * SEC, [a, raw], {
        seen += serve_dhcp(&mut raw, h, 120, false);
        seen == 3
    });
    assert!(now - before >= 50 * SEC);
    for _ in 0..10 {
        step(&mut now, &mut [&mut a, &mut raw]);
    }
    assert_eq!(drain(&mut a, &mut ea), 1);
    // The server stops answering: the lease runs out and the address goes away.
    run_until!(now, 200 * SEC, [a, raw], {
        raw.sockets.get_mut::<udp::Socket>(h).recv().ok();
        drain(&mut a, &mut ea) == 2
    });
    assert_eq!(ea[1], Event::Dhcp(DhcpEvent::Deconfigured));
    assert!(a.addresses().iter().all(|(ip, _)| ip.is_ipv6()));
    assert_eq!(a.gateways().0, None);
    assert_eq!(a.stats().dhcp_configured, 1);
    assert_eq!(a.stats().dhcp_deconfigured, 1);
}

#[test]
fn dhcp_leased_address_serves_queries() {
    let (ab, ba) = link();
    let cfg = NetConfig {
        dhcp: true,
        ..config(A4, A6, NetLimits::default())
    };
    let mut a = stack(MAC_A, ba.clone(), ab.clone(), &cfg);
    let mut raw = Raw::new(MAC_B, ab, ba, &[IpCidr::Ipv4(Ipv4Cidr::new(GW4, 24))]);
    let h = raw.udp(67);
    let q = raw.udp(40000);
    let mut now = 0;
    let mut ea = Vec::new();
    run_until!(now, 30 * SEC, [a, raw], {
        serve_dhcp(&mut raw, h, 3600, false);
        drain(&mut a, &mut ea) == 1
    });
    let leased = Ipv4Addr::new(10, 0, 0, 50);
    raw.sockets
        .get_mut::<udp::Socket>(q)
        .send_slice(b"q", sa(leased, 53))
        .unwrap();
    run_until!(now, SEC, [a, raw], drain(&mut a, &mut ea) == 2);
    let (c, t, _) = query(&ea[1]);
    assert_eq!(c, sa(GW4, 40000));
    a.reply(c, t, b"r").unwrap();
    run_until!(
        now,
        SEC,
        [a, raw],
        raw.sockets.get_mut::<udp::Socket>(q).can_recv()
    );
    let (data, meta) = raw.sockets.get_mut::<udp::Socket>(q).recv().unwrap();
    assert_eq!(data, b"r");
    assert_eq!(SocketAddr::from(meta.endpoint), sa(leased, 53));
}

#[test]
fn udp_reply_larger_than_the_transmit_buffer_is_refused() {
    let limits = NetLimits {
        udp_tx_bytes: 100,
        ..NetLimits::default()
    };
    let (mut a, _b) = pair(limits, NetLimits::default());
    let c = sa(B4, 40000);
    assert_eq!(
        a.reply(c, Transport::Udp, &[0; 101]),
        Err(ReplyError::BufferFull)
    );
    a.reply(c, Transport::Udp, &[0; 100]).unwrap();
}

#[test]
fn udp_query_larger_than_the_receive_buffer_is_dropped() {
    let limits = NetLimits {
        udp_rx_bytes: 100,
        ..NetLimits::default()
    };
    let (mut a, mut b) = pair(limits, NetLimits::default());
    b.send_udp(40000, sa(A4, 53), &[1; 101]).unwrap();
    b.send_udp(40000, sa(A4, 53), &[2; 100]).unwrap();
    let mut now = 0;
    let mut ea = Vec::new();
    run_until!(now, SEC, [a, b], drain(&mut a, &mut ea) == 1);
    for _ in 0..5 {
        step(&mut now, &mut [&mut a, &mut b]);
    }
    assert_eq!(drain(&mut a, &mut ea), 1);
    assert_eq!(query(&ea[0]).2, [2; 100]);
}

#[test]
fn upstream_udp_burst_past_the_socket_buffer_waits_in_the_nic() {
    let la = NetLimits {
        upstream_udp_rx_packets: 2,
        event_queue: 1,
        ..NetLimits::default()
    };
    let (mut a, mut raw) = with_raw(la);
    let h = raw.udp(53);
    a.send_udp(40000, sa(B4, 53), b"q").unwrap();
    let mut now = 0;
    // The application takes its events (here the report that the query waits for
    // ARP): a full queue would keep the ARP reply in the NIC.
    run_until!(
        now,
        SEC,
        [a, raw],
        drain(&mut a, &mut Vec::new()) == 0 && raw.sockets.get_mut::<udp::Socket>(h).can_recv()
    );
    raw.sockets.get_mut::<udp::Socket>(h).recv().unwrap();
    for i in 0..6u8 {
        raw.sockets
            .get_mut::<udp::Socket>(h)
            .send_slice(&[i], sa(A4, 40000))
            .unwrap();
    }
    for _ in 0..5 {
        step(&mut now, &mut [&mut a, &mut raw]);
    }
    let mut ea = Vec::new();
    for _ in 0..10 {
        drain(&mut a, &mut ea);
        let _ = a.poll(now);
    }
    // One at a time through the event queue while the rest wait in the NIC: none is
    // dropped for the socket's two-datagram buffer.
    let got: Vec<u8> = ea
        .iter()
        .map(|e| match e {
            Event::Response { data, .. } => data[0],
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(got, [0, 1, 2, 3, 4, 5]);
}

#[test]
fn upstream_tcp_query_and_response_larger_than_the_socket_buffers() {
    let la = NetLimits {
        upstream_tcp_tx_buffer: 256,
        upstream_tcp_rx_buffer: 512,
        ..NetLimits::default()
    };
    let (mut a, mut raw) = with_raw(la);
    let l = raw.tcp();
    raw.sock(l).listen(53).unwrap();
    let q = vec![7; 2000];
    a.send_tcp(41005, sa(B4, 53), &q).unwrap();
    let mut now = 0;
    run_until!(now, SEC, [a, raw], raw.sock(l).recv_queue() == 2002);
    let mut got = vec![0; 2002];
    raw.sock(l).recv_slice(&mut got).unwrap();
    assert_eq!(got, framed(&[&q]));
    let r = vec![9; 5000];
    let reply = framed(&[&r]);
    let mut sent = 0;
    let mut ea = Vec::new();
    run_until!(now, 2 * SEC, [a, raw], {
        if let Ok(n) = raw.sock(l).send_slice(&reply[sent..]) {
            sent += n;
        }
        drain(&mut a, &mut ea) == 1
    });
    assert_eq!(
        ea[0],
        Event::Response {
            from: sa(B4, 53),
            local_port: 41005,
            tcp: true,
            data: r
        }
    );
}

#[test]
fn tcp_client_half_close_still_gets_its_replies() {
    let (mut a, mut raw) = with_raw(NetLimits::default());
    let s = raw.connect(sa(A4, 53), 53300);
    let mut now = 0;
    run_until!(now, SEC, [a, raw], raw.sock(s).may_send());
    raw.sock(s).send_slice(&framed(&[b"q1", b"q2"])).unwrap();
    // The client sends FIN right after its queries (shutdown(SHUT_WR)).
    raw.sock(s).close();
    let mut ea = Vec::new();
    run_until!(now, SEC, [a, raw], drain(&mut a, &mut ea) == 2);
    for _ in 0..5 {
        step(&mut now, &mut [&mut a, &mut raw]);
    }
    assert_eq!(a.stats().tcp_open, 1, "closed before the replies");
    let (c, t, _) = query(&ea[0]);
    a.reply(c, t, b"r1").unwrap();
    a.reply(c, t, b"r2").unwrap();
    let want = framed(&[b"r1", b"r2"]);
    run_until!(now, SEC, [a, raw], raw.sock(s).recv_queue() >= want.len());
    let mut got = vec![0; want.len()];
    raw.sock(s).recv_slice(&mut got).unwrap();
    assert_eq!(got, want);
    // With every query answered, the stack closes its side too.
    run_until!(now, SEC, [a, raw], a.stats().tcp_open == 0);
    assert_eq!(a.stats().tcp_closed_idle, 0);
}

#[test]
fn random_bytes_on_tcp_connections_do_not_panic() {
    let limits = NetLimits {
        tcp_max_query: 300,
        ..NetLimits::default()
    };
    let (mut a, mut raw) = with_raw(limits);
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut now = 0;
    let mut ea = Vec::new();
    for round in 0..20u16 {
        let s = raw.connect(sa(A4, 53), 54000 + round);
        run_until!(now, SEC, [a, raw], raw.sock(s).may_send());
        let len = (next() % 2000) as usize;
        let mut bytes: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        if round % 2 == 0 {
            // Plausible prefixes, so some frames complete.
            for chunk in bytes.chunks_mut(40) {
                chunk[0] = 0;
                if chunk.len() > 1 {
                    chunk[1] = (chunk.len() - 2) as u8;
                }
            }
        }
        let _ = raw.sock(s).send_slice(&bytes);
        for _ in 0..10 {
            step(&mut now, &mut [&mut a, &mut raw]);
            drain(&mut a, &mut ea);
        }
        for e in ea.drain(..) {
            let (c, t, _) = query(&e);
            let _ = a.reply(c, t, b"answer");
        }
        raw.sock(s).abort();
    }
    run_until!(now, 15 * SEC, [a, raw], a.stats().tcp_open == 0);
    assert!(a.stats().tcp_queries > 0);
}

/// `n` UDP queries from B (one per source port) reach A's NIC while A does not poll;
/// then A runs its main loop as the app does (poll, a reply per query, poll, again at
/// once while `poll_delay` says 0) until it is idle. Returns (queries A surfaced,
/// replies B received, A's loop iterations, A's counters).
fn burst_between_polls(la: NetLimits, n: u16) -> (usize, usize, usize, crate::Stats) {
    let lb = NetLimits {
        upstream_udp_sockets: usize::from(n),
        upstream_udp_tx_packets: 1,
        upstream_udp_rx_packets: 1,
        upstream_udp_rx_bytes: 512,
        event_queue: usize::from(n),
        max_frames_per_poll: usize::from(n),
        ..NetLimits::default()
    };
    let (mut a, mut b) = pair(la, lb);
    let mut now = 0;
    // Neighbours resolved both ways first (a query and its reply), so the burst goes
    // out at once and the replies need no ARP.
    b.send_udp(1000, sa(A4, 53), b"warm").unwrap();
    let mut ea = Vec::new();
    run_until!(now, SEC, [a, b], drain(&mut a, &mut ea) == 1);
    a.reply(sa(B4, 1000), Transport::Udp, b"warm").unwrap();
    let mut eb = Vec::new();
    run_until!(now, SEC, [a, b], drain(&mut b, &mut eb) == 1);
    b.close_udp(1000);
    for i in 0..n {
        b.send_udp(2000 + i, sa(A4, 53), &i.to_be_bytes()).unwrap();
    }
    let _ = b.poll(now);
    let (mut queries, mut replies, mut rounds) = (0, 0, 0);
    while rounds < 1000 {
        rounds += 1;
        let _ = a.poll(now);
        while let Some(e) = a.next_event() {
            let (client, transport, data) = query(&e);
            queries += 1;
            let _ = a.reply(client, transport, &data);
        }
        let _ = a.poll(now);
        let _ = b.poll(now);
        while b.next_event().is_some() {
            replies += 1;
        }
        if a.poll_delay(now) != Some(0) {
            break;
        }
    }
    (queries, replies, rounds, a.stats())
}

/// The defaults, but one poll reads as many frames as have arrived (the event queue
/// permitting), so that a burst meets the socket buffers and the event queue at once.
fn whole_burst_per_poll() -> NetLimits {
    NetLimits {
        max_frames_per_poll: 4096,
        ..NetLimits::default()
    }
}

#[test]
fn udp_burst_of_256_between_two_polls_is_all_answered() {
    // 256 answers queued in one go overflow the 64-datagram transmit buffer: each
    // `reply` that finds it full sends the queued ones first. (Before, 192 of the 256
    // answers were refused with BufferFull: one poll sends eight datagrams per socket.)
    let (queries, replies, rounds, st) = burst_between_polls(whole_burst_per_poll(), 256);
    assert_eq!((queries, replies), (256, 256));
    assert_eq!(rounds, 1);
    assert!(st.udp_reply_flushes >= 3, "{st:?}");
    assert_eq!(st.udp_reply_errors, 0);
}

#[test]
fn udp_burst_of_1024_between_two_polls_waits_in_the_nic() {
    // Four times the event queue: A stops reading frames while the queue is full and
    // takes the rest in later iterations of the loop. (Before, the 256 queued events
    // plus the 64 datagrams of the socket buffer were kept and 704 queries dropped.)
    let (queries, replies, rounds, st) = burst_between_polls(whole_burst_per_poll(), 1024);
    assert_eq!((queries, replies), (1024, 1024));
    assert_eq!(rounds, 4);
    assert!(st.poll_held_back >= 3, "{st:?}");
}

/// ICMP port-unreachable messages (v4 or v6) among `frames`.
fn port_unreachables(frames: &VecDeque<Vec<u8>>) -> usize {
    frames
        .iter()
        .filter(|f| {
            let Ok(eth) = EthernetFrame::new_checked(f.as_slice()) else {
                return false;
            };
            match eth.ethertype() {
                EthernetProtocol::Ipv4 => Ipv4Packet::new_checked(eth.payload())
                    .ok()
                    .filter(|ip| ip.next_header() == IpProtocol::Icmp)
                    .and_then(|ip| {
                        let icmp = Icmpv4Packet::new_checked(ip.payload()).ok()?;
                        Some(
                            icmp.msg_type() == Icmpv4Message::DstUnreachable
                                && icmp.msg_code() == 3,
                        )
                    })
                    .unwrap_or(false),
                EthernetProtocol::Ipv6 => Ipv6Packet::new_checked(eth.payload())
                    .ok()
                    .filter(|ip| ip.next_header() == IpProtocol::Icmpv6)
                    .and_then(|ip| {
                        let icmp = Icmpv6Packet::new_checked(ip.payload()).ok()?;
                        Some(
                            icmp.msg_type() == Icmpv6Message::DstUnreachable
                                && icmp.msg_code() == 4,
                        )
                    })
                    .unwrap_or(false),
                _ => false,
            }
        })
        .count()
}

/// B sprays `n` datagrams at closed port 9999 of A (address `dst`), from `n` source
/// ports, at `now`; A polls once. Returns the ICMP port-unreachable messages A sent.
fn spray_closed_port(
    a: &mut Stack<SimNic>,
    b: &mut Stack<SimNic>,
    to_b: &Queue,
    dst: IpAddr,
    n: u16,
    now: u64,
) -> usize {
    for i in 0..n {
        b.send_udp(3000 + i, sa(dst, 9999), b"stray").unwrap();
    }
    let _ = b.poll(now);
    let _ = a.poll(now);
    let sent = port_unreachables(&to_b.borrow());
    let _ = b.poll(now);
    for i in 0..n {
        b.close_udp(3000 + i);
    }
    sent
}

fn icmp_errors_are_rate_limited(dst: IpAddr) {
    let la = NetLimits {
        icmp_errors_per_sec: 5,
        icmp_error_burst: 3,
        // The whole spray in one poll.
        max_frames_per_poll: 1000,
        ..NetLimits::default()
    };
    let lb = NetLimits {
        upstream_udp_sockets: 100,
        upstream_udp_tx_packets: 1,
        ..NetLimits::default()
    };
    let (ab, ba) = link();
    let mut a = stack(MAC_A, ba.clone(), ab.clone(), &config(A4, A6, la));
    let mut b = stack(MAC_B, ab.clone(), ba, &config(B4, B6, lb));
    // Neighbours first: one query to port 53 and its reply.
    b.send_udp(1000, sa(dst, 53), b"warm").unwrap();
    let mut now = SEC;
    let mut ea = Vec::new();
    run_until!(now, SEC, [a, b], drain(&mut a, &mut ea) == 1);
    let (client, transport, _) = query(&ea[0]);
    a.reply(client, transport, b"warm").unwrap();
    let mut eb = Vec::new();
    run_until!(now, SEC, [a, b], drain(&mut b, &mut eb) == 1);
    b.close_udp(1000);
    // A spray of 100: the burst goes out, the rest is suppressed.
    assert_eq!(spray_closed_port(&mut a, &mut b, &ab, dst, 100, now), 3);
    assert_eq!(a.stats().icmp_errors_suppressed, 97);
    // 200 ms later the bucket holds one more.
    now += 200 * MS;
    assert_eq!(spray_closed_port(&mut a, &mut b, &ab, dst, 100, now), 1);
    // A quiet second refills it to the burst, not more.
    now += 10 * SEC;
    assert_eq!(spray_closed_port(&mut a, &mut b, &ab, dst, 100, now), 3);
    assert_eq!(a.stats().icmp_errors_suppressed, 97 + 99 + 97);
    // Queries to port 53 are not affected.
    assert_eq!(a.stats().udp_queries, 1);
}

#[test]
fn icmp_port_unreachable_to_stray_udp_is_rate_limited_ipv4() {
    icmp_errors_are_rate_limited(A4.into());
}

#[test]
fn icmp_port_unreachable_to_stray_udp_is_rate_limited_ipv6() {
    icmp_errors_are_rate_limited(A6.into());
}

#[test]
fn icmp_errors_off_and_one_stray_datagram_with_defaults() {
    for (per_sec, expect) in [(0, 0), (NetLimits::default().icmp_errors_per_sec, 1)] {
        let la = NetLimits {
            icmp_errors_per_sec: per_sec,
            ..NetLimits::default()
        };
        let (ab, ba) = link();
        let mut a = stack(MAC_A, ba.clone(), ab.clone(), &config(A4, A6, la));
        let mut b = stack(MAC_B, ab.clone(), ba, &config(B4, B6, NetLimits::default()));
        b.send_udp(1000, sa(A4, 53), b"warm").unwrap();
        let mut now = SEC;
        let mut ea = Vec::new();
        run_until!(now, SEC, [a, b], drain(&mut a, &mut ea) == 1);
        assert_eq!(
            spray_closed_port(&mut a, &mut b, &ab, A4.into(), 1, now),
            expect
        );
    }
}

#[test]
fn icmp_error_classifier_reads_only_what_is_there() {
    use crate::device::is_icmp_error;
    // Every prefix of a real port-unreachable frame is not one, except the whole.
    let mut v4 = vec![0u8; 14 + 20 + 8];
    v4[12] = 0x08;
    v4[14] = 0x45;
    v4[14 + 9] = 1;
    v4[34] = 3;
    assert!(is_icmp_error(&v4));
    for n in 0..35 {
        assert!(!is_icmp_error(&v4[..n]), "{n}");
    }
    v4[34] = 8; // echo request
    assert!(!is_icmp_error(&v4));
    v4[14] = 0x4f; // IHL 60 bytes, frame too short for the ICMP type
    assert!(!is_icmp_error(&v4));
    let mut v6 = vec![0u8; 14 + 40 + 8];
    v6[12] = 0x86;
    v6[13] = 0xdd;
    v6[14 + 6] = 58;
    v6[54] = 1;
    assert!(is_icmp_error(&v6));
    v6[54] = 135; // neighbour solicitation
    assert!(!is_icmp_error(&v6));
    assert!(!is_icmp_error(&v6[..54]));
}

#[test]
fn every_error_displays_as_one_precise_line() {
    let lines: Vec<std::string::String> = [
        NewError::BadMac([1, 0, 0x5e, 0, 0, 1]).to_string(),
        NewError::BadMtu(100).to_string(),
        NewError::BadPrefix(33).to_string(),
        NewError::ZeroLimit("event_queue").to_string(),
    ]
    .into_iter()
    .chain(
        [
            ReplyError::TooLarge,
            ReplyError::BufferFull,
            ReplyError::Unaddressable,
            ReplyError::UnknownConnection,
            ReplyError::QueueFull,
        ]
        .iter()
        .map(|e| e.to_string()),
    )
    .chain(
        [
            SendError::InvalidPort,
            SendError::PortInUse,
            SendError::NoFreeSocket,
            SendError::TooLarge,
            SendError::BufferFull,
            SendError::Unaddressable,
        ]
        .iter()
        .map(|e| e.to_string()),
    )
    .collect();
    for l in &lines {
        assert!(!l.contains('\n') && l.len() > 12, "{l:?}");
    }
    assert_eq!(
        lines[0],
        "the NIC's MAC address 01:00:5e:00:00:01 is not unicast"
    );
    assert_eq!(lines[3], "event_queue is 0 but must be at least 1");
    let mut unique = lines.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), lines.len());
}

mod dns_tcp_limits;
mod neighbour;
mod sockets;
