//! DNS over UDP: queries in, replies out from the address they were sent to, the DNS port moved, reply errors and size limits.

use super::*;

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
