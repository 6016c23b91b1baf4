//! ARP and NDP resolution, ping over both families, the addresses a stack announces.

use super::*;

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
