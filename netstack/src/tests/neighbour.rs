//! Upstream datagrams and neighbour discovery (issue 14, items 2 and 13): first contact
//! with new neighbours inside smoltcp's one-second silence, the gateways before the
//! first query, no neighbour state inherited by a reused socket, and the bounded waits
//! for a neighbour and for a free socket.

use super::dhcp::serve_dhcp;
use super::*;
use crate::HoldReason;

const C4: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 4);
const GW6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 1);

/// Stack A and a raw peer answering for `addrs` (ARP, NDP and UDP on port 53), with
/// every frame A sends copied to the returned log.
struct Wire {
    a: Stack<SimNic>,
    raw: Raw,
    sock: SocketHandle,
    to_raw: Queue,
    log: Vec<Vec<u8>>,
    now: u64,
}

impl Wire {
    fn new(cfg: &NetConfig, addrs: &[IpCidr]) -> Wire {
        let (ab, ba) = link();
        let a = stack(MAC_A, ba.clone(), ab.clone(), cfg);
        let mut raw = Raw::new(MAC_B, ab.clone(), ba, addrs);
        let sock = raw.udp(53);
        Wire {
            a,
            raw,
            sock,
            to_raw: ab,
            log: Vec::new(),
            now: 0,
        }
    }

    /// One round at `now`: A polls, its frames are logged, the peer answers.
    fn round(&mut self) {
        let _ = self.a.poll(self.now);
        self.log.extend(self.to_raw.borrow().iter().cloned());
        self.raw.run(self.now);
        let _ = self.a.poll(self.now);
        self.log.extend(self.to_raw.borrow().iter().cloned());
    }

    /// Rounds every `dt` until `until`.
    fn run(&mut self, dt: u64, until: u64) {
        while self.now < until {
            self.round();
            self.now += dt;
        }
    }

    fn events(&mut self) -> Vec<Event> {
        let mut v = Vec::new();
        while let Some(e) = self.a.next_event() {
            v.push(e);
        }
        v
    }

    /// Payloads the peer received on port 53, with the local address they went to.
    fn received(&mut self) -> Vec<Vec<u8>> {
        let s = self.raw.sockets.get_mut::<udp::Socket>(self.sock);
        let mut got = Vec::new();
        while let Ok((data, _)) = s.recv() {
            got.push(data.to_vec());
        }
        got
    }
}

fn lan() -> NetConfig {
    config(A4, A6, NetLimits::default())
}

fn peers() -> Vec<IpCidr> {
    vec![
        IpCidr::Ipv4(Ipv4Cidr::new(B4, 24)),
        IpCidr::Ipv4(Ipv4Cidr::new(C4, 24)),
        IpCidr::Ipv6(Ipv6Cidr::new(B6, 64)),
    ]
}

/// Whether `frame` is an ARP request for `target`.
fn arp_request_for(frame: &[u8], target: Ipv4Addr) -> bool {
    let Ok(eth) = EthernetFrame::new_checked(frame) else {
        return false;
    };
    if eth.ethertype() != EthernetProtocol::Arp {
        return false;
    }
    let Ok(arp) = smoltcp::wire::ArpPacket::new_checked(eth.payload()) else {
        return false;
    };
    matches!(
        smoltcp::wire::ArpRepr::parse(&arp),
        Ok(smoltcp::wire::ArpRepr::EthernetIpv4 {
            operation: smoltcp::wire::ArpOperation::Request,
            target_protocol_addr,
            ..
        }) if target_protocol_addr == target
    )
}

/// Whether `frame` is a UDP datagram to `dst` (IPv4 or IPv6) sent to MAC `via`.
fn udp_to(frame: &[u8], dst: IpAddr, via: [u8; 6]) -> bool {
    let Ok(eth) = EthernetFrame::new_checked(frame) else {
        return false;
    };
    if eth.dst_addr() != EthernetAddress(via) {
        return false;
    }
    match (eth.ethertype(), dst) {
        (EthernetProtocol::Ipv4, IpAddr::V4(d)) => Ipv4Packet::new_checked(eth.payload())
            .is_ok_and(|p| p.dst_addr() == d && p.next_header() == IpProtocol::Udp),
        (EthernetProtocol::Ipv6, IpAddr::V6(d)) => Ipv6Packet::new_checked(eth.payload())
            .is_ok_and(|p| p.dst_addr() == d && p.next_header() == IpProtocol::Udp),
        _ => false,
    }
}

#[test]
fn two_new_on_link_neighbours_within_a_second_both_leave_after_their_arp_replies() {
    let mut w = Wire::new(&lan(), &peers());
    w.a.send_udp(40000, sa(B4, 53), b"to-b").unwrap();
    w.a.send_udp(40001, sa(C4, 53), b"to-c").unwrap();
    let _ = w.a.flush();
    let mut got = Vec::new();
    while got.len() < 2 && w.now < 2 * SEC {
        w.run(MS, w.now + MS);
        got.extend(w.received());
    }
    std::println!(
        "two new neighbours: both datagrams out after {} ms",
        w.now / MS
    );
    got.sort();
    // Both within 20 ms: the second is not left to smoltcp's one-second silence.
    assert_eq!(got, [b"to-b".to_vec(), b"to-c".to_vec()]);
    assert!(w.now <= 20 * MS, "{} ms", w.now / MS);
    assert!(w.log.iter().any(|f| arp_request_for(f, B4)));
    assert!(w.log.iter().any(|f| arp_request_for(f, C4)));
    // The engine hears that they waited, and when they left.
    let ev = w.events();
    for port in [40000, 40001] {
        let held = ev.iter().position(|e| {
            matches!(e, Event::UpstreamHeld { local_port, reason: HoldReason::Neighbour, .. }
                if *local_port == port)
        });
        let sent = ev.iter().position(
            |e| matches!(e, Event::UpstreamSent { local_port, .. } if *local_port == port),
        );
        assert!(
            held.is_some() && sent.is_some() && held < sent,
            "{port}: {ev:?}"
        );
    }
    assert_eq!(w.a.stats().upstream_udp_held, 2);
}

#[test]
fn a_send_before_the_gateways_resolve_is_not_lost_ipv4_and_ipv6() {
    let cfg = NetConfig {
        ipv6_gateway: Some(GW6),
        ..lan()
    };
    let gw = [
        IpCidr::Ipv4(Ipv4Cidr::new(GW4, 24)),
        IpCidr::Ipv6(Ipv6Cidr::new(GW6, 64)),
    ];
    let mut w = Wire::new(&cfg, &gw);
    // Both gateways were asked for at start, before any query.
    let boot: Vec<Vec<u8>> = w.to_raw.borrow().iter().cloned().collect();
    assert!(boot.iter().any(|f| arp_request_for(f, GW4)));
    assert_eq!(w.a.stats().neighbour_solicitations, 2);
    // A query each way before the answers are in.
    let v4 = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 53));
    let v6 = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x53));
    w.a.send_udp(40000, SocketAddr::new(v4, 53), b"v4").unwrap();
    w.a.send_udp(40001, SocketAddr::new(v6, 53), b"v6").unwrap();
    let _ = w.a.flush();
    w.run(MS, 20 * MS);
    assert!(
        w.log.iter().any(|f| udp_to(f, v4, MAC_B)),
        "IPv4 query lost"
    );
    assert!(
        w.log.iter().any(|f| udp_to(f, v6, MAC_B)),
        "IPv6 query lost"
    );
}

#[test]
fn a_reused_upstream_socket_does_not_inherit_a_silenced_neighbour() {
    let limits = NetLimits {
        upstream_udp_sockets: 1,
        ..NetLimits::default()
    };
    let mut w = Wire::new(&config(A4, A6, limits), &peers());
    // To a host that never answers: the socket is silenced waiting for it.
    let ghost = Ipv4Addr::new(10, 0, 0, 99);
    w.a.send_udp(40000, sa(ghost, 53), b"lost").unwrap();
    let _ = w.a.flush();
    w.run(MS, 5 * MS);
    assert!(w.a.close_udp(40000));
    // The one socket, now from another port to a neighbour that answers.
    w.a.send_udp(40001, sa(B4, 53), b"found").unwrap();
    let _ = w.a.flush();
    w.run(MS, 30 * MS);
    assert_eq!(w.received(), [b"found".to_vec()]);
}

#[test]
fn a_neighbour_that_never_answers_is_given_up_after_the_hold() {
    let mut w = Wire::new(&lan(), &peers());
    let ghost = Ipv4Addr::new(10, 0, 0, 99);
    w.a.send_udp(40000, sa(ghost, 53), b"lost").unwrap();
    let _ = w.a.flush();
    let before = w.a.stats().neighbour_solicitations;
    w.run(10 * MS, 2900 * MS);
    assert!(
        !w.events()
            .iter()
            .any(|e| matches!(e, Event::UpstreamError { .. }))
    );
    w.run(10 * MS, 3100 * MS);
    let ev = w.events();
    assert!(ev.contains(&Event::UpstreamError {
        to: sa(ghost, 53),
        local_port: 40000,
        tcp: false,
        kind: UpstreamErrorKind::NoNeighbour,
    }));
    // Asked once a second, not once a poll.
    let asked = w.a.stats().neighbour_solicitations - before;
    assert!((2..=4).contains(&asked), "{asked} solicitations");
    assert_eq!(w.a.stats().upstream_udp_no_neighbour, 1);
    // The dropped datagram never leaves later, and the port works again.
    w.a.send_udp(40000, sa(B4, 53), b"next").unwrap();
    let _ = w.a.flush();
    w.run(MS, 3200 * MS);
    assert_eq!(w.received(), [b"next".to_vec()]);
    // Nothing held any more: no reason to come back before a frame arrives.
    let _ = w.events();
    assert!(w.a.poll_delay(w.now).is_none_or(|d| d > 0));
}

#[test]
fn a_full_socket_pool_means_wait_not_refusal() {
    let limits = NetLimits {
        upstream_udp_sockets: 2,
        upstream_udp_wait: 1,
        ..NetLimits::default()
    };
    let mut w = Wire::new(&config(A4, A6, limits), &peers());
    w.a.send_udp(40000, sa(B4, 53), b"1").unwrap();
    w.a.send_udp(40001, sa(B4, 53), b"2").unwrap();
    // The pool is full: the third waits for a socket, the fourth finds no room to.
    w.a.send_udp(40002, sa(B4, 53), b"3").unwrap();
    assert_eq!(
        w.a.send_udp(40003, sa(B4, 53), b"4"),
        Err(SendError::NoFreeSocket)
    );
    assert!(w.events().contains(&Event::UpstreamHeld {
        to: sa(B4, 53),
        local_port: 40002,
        reason: HoldReason::NoSocket,
    }));
    let _ = w.a.flush();
    w.run(MS, 10 * MS);
    assert_eq!(w.received().len(), 2);
    // A socket comes free: the waiting datagram takes it and leaves.
    assert!(w.a.close_udp(40000));
    let _ = w.a.flush();
    w.run(MS, 20 * MS);
    assert_eq!(w.received(), [b"3".to_vec()]);
    assert!(w.events().contains(&Event::UpstreamSent {
        to: sa(B4, 53),
        local_port: 40002,
    }));
    assert_eq!(w.a.stats().upstream_udp_socket_waits, 1);
    assert_eq!(w.a.stats().upstream_no_socket, 1);
}

#[test]
fn a_wait_for_a_socket_is_bounded() {
    let limits = NetLimits {
        upstream_udp_sockets: 1,
        ..NetLimits::default()
    };
    let mut w = Wire::new(&config(A4, A6, limits), &peers());
    w.a.send_udp(40000, sa(B4, 53), b"1").unwrap();
    w.a.send_udp(40001, sa(B4, 53), b"2").unwrap();
    let _ = w.a.flush();
    w.run(50 * MS, 3100 * MS);
    let ev = w.events();
    assert!(ev.contains(&Event::UpstreamError {
        to: sa(B4, 53),
        local_port: 40001,
        tcp: false,
        kind: UpstreamErrorKind::NoSocket,
    }));
    // Given up: closing the port it waited on finds nothing.
    assert!(!w.a.close_udp(40001));
    assert_eq!(w.received(), [b"1".to_vec()]);
}

#[test]
fn an_ipv6_neighbour_inside_the_silence_is_solicited_by_the_stack() {
    let mut w = Wire::new(&lan(), &peers());
    // The IPv4 query makes smoltcp send its ARP request and fall silent for a second;
    // the IPv6 one right after depends on the stack's own solicitation.
    w.a.send_udp(40000, sa(B4, 53), b"v4").unwrap();
    let _ = w.a.flush();
    w.a.send_udp(40001, sa(B6, 53), b"v6").unwrap();
    let _ = w.a.flush();
    w.run(MS, 20 * MS);
    let mut got = w.received();
    got.sort();
    assert_eq!(got, [b"v4".to_vec(), b"v6".to_vec()]);
    assert!(
        w.a.stats().neighbour_solicitations >= 2,
        "gateway at boot, then B6"
    );
}

#[test]
fn no_route_is_an_error_at_once_not_a_hold() {
    // No IPv6 gateway: a datagram to a global IPv6 server off-link cannot leave.
    let mut w = Wire::new(&lan(), &peers());
    let far = sa(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x53), 53);
    w.a.send_udp(40000, far, b"far").unwrap();
    let _ = w.a.flush();
    w.run(MS, 2 * MS);
    assert!(w.events().contains(&Event::UpstreamError {
        to: far,
        local_port: 40000,
        tcp: false,
        kind: UpstreamErrorKind::NoNeighbour,
    }));
}

#[test]
fn a_gateway_from_dhcp_is_solicited_when_the_lease_comes() {
    let (ab, ba) = link();
    let cfg = NetConfig {
        dhcp: true,
        ..lan()
    };
    let mut a = stack(MAC_A, ba.clone(), ab.clone(), &cfg);
    let mut raw = Raw::new(MAC_B, ab, ba, &[IpCidr::Ipv4(Ipv4Cidr::new(GW4, 24))]);
    let h = raw.udp(67);
    // No lease, no gateway: nothing to ask for yet.
    assert_eq!(a.stats().neighbour_solicitations, 0);
    let mut now = 0;
    let mut ea = Vec::new();
    run_until!(now, 30 * SEC, [a, raw], {
        serve_dhcp(&mut raw, h, 3600, false);
        drain(&mut a, &mut ea) == 1
    });
    assert!(matches!(
        ea[0],
        Event::Dhcp(crate::DhcpEvent::Configured {
            router: Some(GW4),
            ..
        })
    ));
    assert_eq!(a.stats().neighbour_solicitations, 1);
}

#[test]
fn a_wait_for_a_socket_then_for_a_neighbour_is_reported_as_two_waits() {
    let limits = NetLimits {
        upstream_udp_sockets: 1,
        ..NetLimits::default()
    };
    let mut w = Wire::new(&config(A4, A6, limits), &peers());
    w.a.send_udp(40000, sa(B4, 53), b"1").unwrap();
    w.a.send_udp(40001, sa(C4, 53), b"2").unwrap();
    let _ = w.a.flush();
    w.run(MS, 10 * MS);
    assert!(w.a.close_udp(40000));
    let _ = w.a.flush();
    w.run(MS, 20 * MS);
    let mut got = w.received();
    got.sort();
    assert_eq!(got, [b"1".to_vec(), b"2".to_vec()]);
    let mine: Vec<Event> = w
        .events()
        .into_iter()
        .filter(|e| {
            matches!(
                e,
                Event::UpstreamHeld {
                    local_port: 40001,
                    ..
                } | Event::UpstreamSent {
                    local_port: 40001,
                    ..
                }
            )
        })
        .collect();
    let to = sa(C4, 53);
    assert_eq!(
        mine,
        [
            Event::UpstreamHeld {
                to,
                local_port: 40001,
                reason: HoldReason::NoSocket
            },
            Event::UpstreamHeld {
                to,
                local_port: 40001,
                reason: HoldReason::Neighbour
            },
            Event::UpstreamSent {
                to,
                local_port: 40001
            },
        ]
    );
}

/// A peer socket bound to `ip`:`port`, so a query can come from either of the peer's
/// addresses.
fn bound_udp(raw: &mut Raw, ip: Ipv4Addr, port: u16) -> SocketHandle {
    let buf = || udp::PacketBuffer::new(vec![udp::PacketMetadata::EMPTY; 8], vec![0; 8192]);
    let mut s = udp::Socket::new(buf(), buf());
    s.bind(smoltcp::wire::IpListenEndpoint {
        addr: Some(ip.into()),
        port,
    })
    .unwrap();
    raw.sockets.add(s)
}

#[test]
fn a_reply_to_a_new_client_inside_the_silence_leaves_after_its_arp_reply() {
    let mut w = Wire::new(&lan(), &peers());
    let from_b = bound_udp(&mut w.raw, B4, 5300);
    let from_c = bound_udp(&mut w.raw, C4, 5300);
    let dns = smoltcp::wire::IpEndpoint::new(A4.into(), 53);
    // A client at B4 asks first: the peer's ARP for A comes from B4, so A learns B4
    // (and the peer learns A) but nothing about C4.
    w.raw
        .sockets
        .get_mut::<udp::Socket>(from_b)
        .send_slice(b"q-b", dns)
        .unwrap();
    w.run(MS, 5 * MS);
    let q = w.events();
    let client_b = q.iter().find_map(|e| match e {
        Event::Query { client, .. } => Some(*client),
        _ => None,
    });
    let client_b = client_b.expect("the first query arrived");
    w.a.reply(client_b, Transport::Udp, b"a-b").unwrap();
    // smoltcp's own ARP for a neighbour that never answers starts its silent second.
    w.a.send_udp(40000, sa(Ipv4Addr::new(10, 0, 0, 9), 53), b"to-nobody")
        .unwrap();
    let _ = w.a.flush();
    w.run(MS, 10 * MS);
    // Then a client at C4, which A has never heard of.
    w.raw
        .sockets
        .get_mut::<udp::Socket>(from_c)
        .send_slice(b"q-c", dns)
        .unwrap();
    w.run(MS, 12 * MS);
    let client_c = w.events().iter().find_map(|e| match e {
        Event::Query { client, .. } if client.ip() == IpAddr::V4(C4) => Some(*client),
        _ => None,
    });
    let client_c = client_c.expect("the second query arrived");
    let asked = w.now;
    w.a.reply(client_c, Transport::Udp, b"a-c").unwrap();
    let _ = w.a.flush();
    let mut got = None;
    while got.is_none() && w.now < asked + 2 * SEC {
        w.run(MS, w.now + MS);
        if let Ok((data, _)) = w.raw.sockets.get_mut::<udp::Socket>(from_c).recv() {
            got = Some((data.to_vec(), w.now - asked));
        }
    }
    let (data, after) = got.expect("the reply to C4 arrived");
    std::println!(
        "reply to a new client inside the silence: {} ms",
        after / MS
    );
    assert_eq!(data, b"a-c");
    // At the ARP reply, not after smoltcp's silence (1 s).
    assert!(after <= 20 * MS, "{} ms", after / MS);
    assert!(w.log.iter().any(|f| arp_request_for(f, C4)));
    assert!(w.a.stats().udp_reply_solicits >= 1);
}
