//! Neighbour discovery on our own account, beside smoltcp's.
//!
//! smoltcp 0.14 sends at most one ARP request or NDP solicitation per second for the
//! whole interface (`iface/neighbor.rs`, `SILENT_TIME`): a datagram to a second new
//! neighbour inside that second gets no request at all and waits in its socket until
//! the silence is over. For a resolver that is first contact with every on-link server
//! lost (a 4-hop CNAME chain across on-link servers took 10 s), and the first IPv6 query
//! after boot (the gateway's ARP just went out) timed out.
//!
//! smoltcp's neighbour cache is not public, but it learns from every ARP packet aimed
//! at us and from every neighbour advertisement, whoever asked. So the stack asks on
//! its own: it solicits the gateways at start (and when DHCP names one), and the DNS
//! adapter solicits the next hop of every upstream datagram that did not leave at its
//! first egress ([`crate::dns`]). The socket holding the datagram is unsilenced by
//! smoltcp as soon as the answer is in its cache, and the datagram leaves on the egress
//! that follows the answer's ingress.

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use smoltcp::phy::ChecksumCapabilities;
use smoltcp::wire::{
    ArpOperation, ArpPacket, ArpRepr, EthernetAddress, EthernetFrame, EthernetProtocol,
    EthernetRepr, Icmpv6Packet, Icmpv6Repr, IpAddress, IpProtocol, Ipv6Packet, Ipv6Repr, NdiscRepr,
    RawHardwareAddress,
};

use crate::Nic;
use crate::device::ETH_HEADER;
use crate::net::Net;

/// An NDP neighbour solicitation with a source link-layer option: 24 + 8 bytes.
const NS_LEN: usize = 32;
const IPV6_HEADER: usize = 40;
const ARP_LEN: usize = 28;

/// The solicited-node multicast address of `a` (RFC 4291 §2.7.1).
fn solicited_node(a: Ipv6Addr) -> Ipv6Addr {
    let o = a.octets();
    Ipv6Addr::new(
        0xff02,
        0,
        0,
        0,
        0,
        1,
        0xff00 | u16::from(o[13]),
        u16::from_be_bytes([o[14], o[15]]),
    )
}

impl<N: Nic> Net<N> {
    /// The neighbour a datagram to `dst` goes to first: `dst` itself if it is on one of
    /// our networks, else the default gateway of its family. `None`: no route.
    pub(crate) fn next_hop(&self, dst: IpAddr) -> Option<IpAddr> {
        let on_link = self
            .iface
            .ip_addrs()
            .iter()
            .any(|c| c.contains_addr(&IpAddress::from(dst)));
        if on_link {
            return Some(dst);
        }
        let (v4, v6) = self.gateways();
        match dst {
            IpAddr::V4(_) => v4.map(IpAddr::V4),
            IpAddr::V6(_) => v6.map(IpAddr::V6),
        }
    }

    /// Sends an ARP request (IPv4) or a neighbour solicitation (IPv6) for `neighbour`
    /// straight to the NIC, past smoltcp's interface-wide silence. Whether one went out
    /// (not without a source address of that family, nor for a non-unicast address).
    pub(crate) fn solicit(&mut self, neighbour: IpAddr) -> bool {
        let sent = match neighbour {
            IpAddr::V4(a) => self.solicit_v4(a),
            IpAddr::V6(a) => self.solicit_v6(a),
        };
        if sent {
            self.solicited += 1;
        }
        sent
    }

    fn solicit_v4(&mut self, target: Ipv4Addr) -> bool {
        if target.is_broadcast() || target.is_multicast() || target.is_unspecified() {
            return false;
        }
        let Some(src) = self.iface.get_source_address_ipv4(&target) else {
            return false;
        };
        let mac = EthernetAddress(self.dev.nic.mac());
        let mut frame = [0u8; ETH_HEADER + ARP_LEN];
        let (eth, arp) = frame.split_at_mut(ETH_HEADER);
        EthernetRepr {
            src_addr: mac,
            dst_addr: EthernetAddress::BROADCAST,
            ethertype: EthernetProtocol::Arp,
        }
        .emit(&mut EthernetFrame::new_unchecked(eth));
        ArpRepr::EthernetIpv4 {
            operation: ArpOperation::Request,
            source_hardware_addr: mac,
            source_protocol_addr: src,
            target_hardware_addr: EthernetAddress([0; 6]),
            target_protocol_addr: target,
        }
        .emit(&mut ArpPacket::new_unchecked(arp));
        self.send_raw(&frame);
        true
    }

    fn solicit_v6(&mut self, target: Ipv6Addr) -> bool {
        if target.is_multicast() || target.is_unspecified() || target.is_loopback() {
            return false;
        }
        let src = self.iface.get_source_address_ipv6(&target);
        let mac = EthernetAddress(self.dev.nic.mac());
        let group = solicited_node(target);
        let g = group.octets();
        let mut frame = [0u8; ETH_HEADER + IPV6_HEADER + NS_LEN];
        let (eth, ip) = frame.split_at_mut(ETH_HEADER);
        EthernetRepr {
            src_addr: mac,
            dst_addr: EthernetAddress([0x33, 0x33, g[12], g[13], g[14], g[15]]),
            ethertype: EthernetProtocol::Ipv6,
        }
        .emit(&mut EthernetFrame::new_unchecked(eth));
        let ns = Icmpv6Repr::Ndisc(NdiscRepr::NeighborSolicit {
            target_addr: target,
            lladdr: Some(RawHardwareAddress::from(mac)),
        });
        let ip_repr = Ipv6Repr {
            src_addr: src,
            dst_addr: group,
            next_header: IpProtocol::Icmpv6,
            payload_len: ns.buffer_len(),
            hop_limit: 255,
        };
        let mut packet = Ipv6Packet::new_unchecked(&mut *ip);
        ip_repr.emit(&mut packet);
        let (_, icmp) = ip.split_at_mut(IPV6_HEADER);
        ns.emit(
            &src,
            &group,
            &mut Icmpv6Packet::new_unchecked(icmp),
            &ChecksumCapabilities::default(),
        );
        self.send_raw(&frame);
        true
    }

    fn send_raw(&mut self, frame: &[u8]) {
        self.dev.nic.send(frame);
        self.dev.stats.frames_out += 1;
        self.dev.stats.bytes_out += frame.len() as u64;
    }

    /// Solicits the IPv4 and IPv6 default gateways, so that the first query through
    /// each does not wait for its discovery (nor lose it to smoltcp's silence).
    pub(crate) fn solicit_gateways(&mut self) {
        let (v4, v6) = self.gateways();
        if let Some(g) = v4 {
            self.solicit(IpAddr::V4(g));
        }
        if let Some(g) = v6 {
            self.solicit(IpAddr::V6(g));
        }
    }
}
