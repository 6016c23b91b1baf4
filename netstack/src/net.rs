//! [`Net`]: the smoltcp interface, its device and socket set, and the tables of
//! generic sockets (in [`crate::socket`]); the DHCPv4 client and address announcements.
//!
//! Everything here is service-agnostic: the DNS adapter and the application's services
//! both go through the same socket calls, told apart only by an [`Owner`] tag that says
//! who hears about a socket.

use alloc::vec::Vec;
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use smoltcp::iface::{Config, Interface, PollResult, SocketHandle, SocketSet};
use smoltcp::socket::dhcpv4;
use smoltcp::time::{Duration, Instant};
use smoltcp::wire::{
    ArpOperation, ArpPacket, ArpRepr, EthernetAddress, EthernetFrame, EthernetProtocol,
    EthernetRepr, HardwareAddress, IpAddress, IpCidr, Ipv4Address, Ipv4Cidr, Ipv6Cidr,
};

use crate::device::{IcmpErrorLimiter, NicDevice};
use crate::socket::PerOwner;
use crate::socket::tcp::{Listener, TcpSlot};
use crate::socket::udp::UdpSlot;
use crate::{AddrCidr, DhcpEvent, NetConfig, NetLimits, NewError, Nic};

const IPV4_UDP_HEADERS: usize = 20 + 8;
const IPV6_UDP_HEADERS: usize = 40 + 8;
/// Rounds of egress after servicing the sockets, at least. Each round sends at most one
/// datagram or segment per socket (smoltcp's `poll_egress`), so [`Net::egress`] runs
/// as many rounds as the deepest UDP transmit buffer can hold datagrams; the bound keeps
/// `poll` finite whatever the sockets do.
const EGRESS_ROUNDS: usize = 8;

pub(crate) fn instant(now_ns: u64) -> Instant {
    Instant::from_micros(i64::try_from(now_ns / 1000).unwrap_or(i64::MAX))
}

pub(crate) fn ns(d: Duration) -> u64 {
    d.total_micros().saturating_mul(1000)
}

pub(crate) fn duration(ns: u64) -> Duration {
    Duration::from_micros(ns / 1000)
}

/// The modified-EUI-64 link-local address for `mac` (RFC 4291 appendix A).
pub(crate) fn link_local(mac: [u8; 6]) -> Ipv6Addr {
    Ipv6Addr::from([
        0xfe,
        0x80,
        0,
        0,
        0,
        0,
        0,
        0,
        mac[0] ^ 0x02,
        mac[1],
        mac[2],
        0xff,
        0xfe,
        mac[3],
        mac[4],
        mac[5],
    ])
}

/// How many sockets of each kind each owner may hold.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Caps {
    /// Bound UDP ports.
    pub udp: PerOwner,
    /// TCP listeners.
    pub listeners: PerOwner,
    /// Outgoing TCP streams open at once.
    pub connects: PerOwner,
}

impl Caps {
    /// The DNS adapter's share (its port, its upstream pools) and the application's.
    pub fn from_limits(l: &NetLimits) -> Self {
        Caps {
            udp: [1 + l.upstream_udp_sockets, l.udp_sockets],
            listeners: [usize::from(l.tcp_clients > 0), l.tcp_listeners],
            connects: [l.upstream_tcp_sockets, l.tcp_connects],
        }
    }
}

/// The interface and every socket on it.
pub(crate) struct Net<N: Nic> {
    pub iface: Interface,
    pub dev: NicDevice<N>,
    pub set: SocketSet<'static>,
    pub mtu: usize,
    /// The time of the last poll, for everything that happens between polls.
    pub now: u64,
    /// Something was queued in a socket since the last egress.
    pub tx_queued: bool,
    /// The next handle serial (every handle of every kind takes one).
    pub serial: u32,
    pub caps: Caps,
    /// UDP sockets made so far, bound or free for reuse.
    pub udp: Vec<UdpSlot>,
    /// Bound UDP ports per owner.
    pub udp_count: PerOwner,
    /// The deepest UDP transmit buffer made, in datagrams.
    pub udp_max_tx_packets: usize,
    /// Listeners; never removed, so a handle's slot stays valid.
    pub listeners: Vec<Listener>,
    /// TCP sockets made so far: listeners' (listening or carrying a connection) and
    /// outgoing ones (carrying a stream, finishing one, or free).
    pub tcp: Vec<TcpSlot>,
    /// Outgoing sockets made so far, and the cap on them (every owner's share).
    pub outgoing: usize,
    /// Outgoing streams open per owner.
    pub connect_count: PerOwner,
    /// A listener's socket is closed and waits to listen again after egress.
    pub rearm: bool,
    dhcp: Option<SocketHandle>,
    dhcp_leased: bool,
    pub dhcp_configured: u64,
    pub dhcp_deconfigured: u64,
    /// ARP requests and NDP solicitations sent on our own ([`crate::neighbour`]).
    pub solicited: u64,
}

impl<N: Nic> Net<N> {
    /// The interface over `nic` with `config`'s addresses and routes and no sockets;
    /// announces its IPv4 addresses.
    pub fn new(nic: N, config: &NetConfig, seed: u64, now_ns: u64) -> Result<Self, NewError> {
        let limits = &config.limits;
        let mac = nic.mac();
        let eth = EthernetAddress(mac);
        if !eth.is_unicast() {
            return Err(NewError::BadMac(mac));
        }
        let mtu = nic.mtu();
        if !(1280..=9216).contains(&mtu) {
            return Err(NewError::BadMtu(mtu));
        }
        let ipv4 = if config.dhcp { None } else { config.ipv4 };
        if let Some((_, p)) = ipv4
            && p > 32
        {
            return Err(NewError::BadPrefix(p));
        }
        if let Some((_, p)) = config.ipv6
            && p > 128
        {
            return Err(NewError::BadPrefix(p));
        }

        let icmp = IcmpErrorLimiter::new(limits.icmp_errors_per_sec, limits.icmp_error_burst);
        let mut dev = NicDevice::new(nic, mtu, icmp);
        let mut cfg = Config::new(HardwareAddress::Ethernet(eth));
        cfg.random_seed = seed;
        let mut iface = Interface::new(cfg, &mut dev, instant(now_ns));
        iface.update_ip_addrs(|addrs| {
            // Capacity is 3 (smoltcp feature iface-max-addr-count-3): exactly these.
            if let Some((a, p)) = ipv4 {
                let _ = addrs.push(IpCidr::Ipv4(Ipv4Cidr::new(a, p)));
            }
            if let Some((a, p)) = config.ipv6 {
                let _ = addrs.push(IpCidr::Ipv6(Ipv6Cidr::new(a, p)));
            }
            let _ = addrs.push(IpCidr::Ipv6(Ipv6Cidr::new(link_local(mac), 64)));
        });
        if let (Some(gw), false) = (config.ipv4_gateway, config.dhcp) {
            let _ = iface.routes_mut().add_default_ipv4_route(gw);
        }
        if let Some(gw) = config.ipv6_gateway {
            let _ = iface.routes_mut().add_default_ipv6_route(gw);
        }

        let mut net = Net {
            iface,
            dev,
            set: SocketSet::new(Vec::new()),
            mtu,
            now: now_ns,
            tx_queued: false,
            serial: 1,
            caps: Caps::from_limits(limits),
            udp: Vec::new(),
            udp_count: [0; 2],
            udp_max_tx_packets: 0,
            listeners: Vec::new(),
            tcp: Vec::new(),
            outgoing: 0,
            connect_count: [0; 2],
            rearm: false,
            dhcp: None,
            dhcp_leased: false,
            dhcp_configured: 0,
            dhcp_deconfigured: 0,
            solicited: 0,
        };
        net.announce_ipv4();
        Ok(net)
    }

    /// Starts the DHCPv4 client (its socket goes after the DNS adapter's).
    pub fn start_dhcp(&mut self) {
        self.dhcp = Some(self.set.add(dhcpv4::Socket::new()));
    }

    /// A fresh serial for a handle (never 0).
    pub fn next_serial(&mut self) -> u32 {
        let s = self.serial;
        self.serial = self.serial.wrapping_add(1).max(1);
        s
    }

    /// Puts what the sockets have queued on the wire: rounds of egress until none sends
    /// anything, at most enough rounds to empty the deepest UDP transmit buffer. Returns
    /// whether a socket's state changed.
    pub fn egress(&mut self) -> bool {
        self.tx_queued = false;
        let ts = instant(self.now);
        let mut changed = false;
        for _ in 0..EGRESS_ROUNDS.max(self.udp_max_tx_packets) {
            match self.iface.poll_egress(ts, &mut self.dev, &mut self.set) {
                PollResult::None => break,
                PollResult::SocketStateChanged => changed = true,
            }
        }
        changed
    }

    /// The largest UDP payload that fits one unfragmented datagram to `dst`.
    pub fn max_udp_payload(&self, dst: &IpAddr) -> usize {
        match dst {
            IpAddr::V4(_) => self.mtu - IPV4_UDP_HEADERS,
            IpAddr::V6(_) => self.mtu - IPV6_UDP_HEADERS,
        }
    }

    /// Whether `ip` is one of the interface's addresses now.
    pub fn has_addr(&self, ip: IpAddr) -> bool {
        self.iface.has_ip_addr(IpAddress::from(ip))
    }

    /// The interface's addresses with prefix lengths (IPv4 first, then IPv6).
    pub fn addresses(&self) -> Vec<AddrCidr> {
        self.iface
            .ip_addrs()
            .iter()
            .map(|c| (IpAddr::from(c.address()), c.prefix_len()))
            .collect()
    }

    /// The IPv4 and IPv6 default gateways in use.
    pub fn gateways(&self) -> (Option<Ipv4Addr>, Option<Ipv6Addr>) {
        let routes = self.iface.routes();
        let v4 = routes
            .get_default_ipv4_route()
            .and_then(|r| match r.via_router {
                IpAddress::Ipv4(a) => Some(a),
                IpAddress::Ipv6(_) => None,
            });
        let v6 = routes
            .get_default_ipv6_route()
            .and_then(|r| match r.via_router {
                IpAddress::Ipv6(a) => Some(a),
                IpAddress::Ipv4(_) => None,
            });
        (v4, v6)
    }

    /// Applies a change of the DHCP lease to the interface; returns it for the
    /// application.
    pub fn service_dhcp(&mut self) -> Option<DhcpEvent> {
        let h = self.dhcp?;
        let ev = match self.set.get_mut::<dhcpv4::Socket>(h).poll() {
            None => return None,
            Some(dhcpv4::Event::Deconfigured) => None,
            Some(dhcpv4::Event::Configured(c)) => Some((
                c.address,
                c.router,
                c.dns_servers.iter().copied().collect::<Vec<_>>(),
                c.server.address,
            )),
        };
        match ev {
            Some((cidr, router, dns_servers, server)) => {
                self.iface.update_ip_addrs(|addrs| {
                    addrs.retain(|a| !matches!(a, IpCidr::Ipv4(_)));
                    let _ = addrs.insert(0, IpCidr::Ipv4(cidr));
                });
                self.announce_ipv4();
                match router {
                    Some(r) => {
                        let _ = self.iface.routes_mut().add_default_ipv4_route(r);
                    }
                    None => {
                        self.iface.routes_mut().remove_default_ipv4_route();
                    }
                }
                self.dhcp_leased = true;
                log::info!("dhcp: lease {cidr} router {router:?} from {server}");
                self.dhcp_configured += 1;
                Some(DhcpEvent::Configured {
                    address: cidr.address(),
                    prefix_len: cidr.prefix_len(),
                    router,
                    dns_servers,
                    server,
                })
            }
            // smoltcp reports "deconfigured" once when the client starts; only the loss
            // of a lease we had is news.
            None if !self.dhcp_leased => None,
            None => {
                self.dhcp_leased = false;
                self.iface
                    .update_ip_addrs(|addrs| addrs.retain(|a| !matches!(a, IpCidr::Ipv4(_))));
                self.iface.routes_mut().remove_default_ipv4_route();
                log::info!("dhcp: lease lost");
                self.dhcp_deconfigured += 1;
                Some(DhcpEvent::Deconfigured)
            }
        }
    }

    /// Announces each IPv4 address with a gratuitous ARP request (RFC 5227 §2.3): a
    /// neighbour that has an entry for the address updates it at once. After a reboot
    /// with another MAC (the hvt tenders pick a random one), the router and clients would
    /// otherwise keep sending to the old one until their entry goes stale; and clients
    /// whose resolution of the address timed out while we booted send at once.
    fn announce_ipv4(&mut self) {
        let mac = EthernetAddress(self.dev.nic.mac());
        let mut v4 = [Ipv4Address::UNSPECIFIED; 3];
        let mut n = 0;
        for c in self.iface.ip_addrs() {
            if let (IpAddress::Ipv4(a), Some(slot)) = (c.address(), v4.get_mut(n)) {
                *slot = a;
                n += 1;
            }
        }
        for &addr in v4.iter().take(n) {
            // 14 bytes of Ethernet header, 28 of ARP: exactly what the reprs emit.
            let mut frame = [0u8; 42];
            let (eth, arp) = frame.split_at_mut(14);
            EthernetRepr {
                src_addr: mac,
                dst_addr: EthernetAddress::BROADCAST,
                ethertype: EthernetProtocol::Arp,
            }
            .emit(&mut EthernetFrame::new_unchecked(eth));
            ArpRepr::EthernetIpv4 {
                operation: ArpOperation::Request,
                source_hardware_addr: mac,
                source_protocol_addr: addr,
                target_hardware_addr: EthernetAddress([0; 6]),
                target_protocol_addr: addr,
            }
            .emit(&mut ArpPacket::new_unchecked(arp));
            self.dev.nic.send(&frame);
            self.dev.stats.frames_out += 1;
            self.dev.stats.bytes_out += frame.len() as u64;
        }
    }

    /// How long until the interface or a stream's timer needs a poll, from smoltcp
    /// and the streams' idle deadlines.
    pub fn poll_delay(&mut self, now_ns: u64) -> Option<u64> {
        let best = self.iface.poll_delay(instant(now_ns), &self.set).map(ns);
        let streams = self.tcp_deadline().map(|d| d.saturating_sub(now_ns));
        match (best, streams) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}
