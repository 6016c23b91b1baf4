//! DHCP: a lease from a plain smoltcp server, its renewal and loss, and serving on the leased address.

use super::*;

/// A DHCP server on the raw peer: offers 10.0.0.50/24 with router 10.0.0.1, acks any
/// request, and counts what it saw.
pub(super) fn serve_dhcp(raw: &mut Raw, h: SocketHandle, lease_secs: u32, nak: bool) -> usize {
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
