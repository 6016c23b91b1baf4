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

mod dhcp;
mod discovery;
mod dns_tcp;
mod dns_tcp_limits;
mod dns_udp;
mod icmp_errors;
mod load;
mod neighbour;
mod robustness;
mod sockets;
mod upstream;
