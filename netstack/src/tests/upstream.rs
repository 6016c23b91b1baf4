//! The resolver's own queries: framed TCP exchanges and their failures, socket caps and port rules, bursts and sizes past the socket buffers.

use super::*;

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
