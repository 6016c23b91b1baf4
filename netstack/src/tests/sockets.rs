//! The generic socket layer: the application's own UDP ports, TCP listeners and
//! outgoing streams beside the DNS adapter, through the same simulated wire.

use super::*;
use crate::{
    CloseReason, DatagramError, ListenLimits, OpenError, RecvError, SocketEvent, StreamError,
    StreamHandle, StreamLimits, UdpLimits,
};

/// The socket events among `events`, in order.
fn socket_events(events: &[Event]) -> Vec<SocketEvent> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Socket(s) => Some(s.clone()),
            _ => None,
        })
        .collect()
}

fn has(events: &[Event], f: impl Fn(&SocketEvent) -> bool) -> bool {
    socket_events(events).iter().any(f)
}

/// The stream of the first `Accepted` among `events`.
fn accepted(events: &[Event]) -> Option<(StreamHandle, SocketAddr)> {
    socket_events(events).into_iter().find_map(|e| match e {
        SocketEvent::Accepted { stream, peer, .. } => Some((stream, peer)),
        _ => None,
    })
}

/// Reads what `stream` has now (a 64 KiB buffer at most).
fn read_all(a: &mut Stack<SimNic>, stream: StreamHandle) -> Result<Vec<u8>, RecvError> {
    let mut buf = vec![0; 65536];
    let mut out = Vec::new();
    loop {
        match a.recv(stream, &mut buf)? {
            0 => return Ok(out),
            n => out.extend_from_slice(&buf[..n]),
        }
    }
}

impl Raw {
    fn udp_sock(&mut self, h: SocketHandle) -> &mut udp::Socket<'static> {
        self.sockets.get_mut::<udp::Socket>(h)
    }
}

fn raw_read(raw: &mut Raw, s: SocketHandle) -> Vec<u8> {
    let mut got = vec![0; raw.sock(s).recv_queue()];
    let n = raw.sock(s).recv_slice(&mut got).unwrap_or(0);
    got.truncate(n);
    got
}

#[test]
fn second_udp_port_and_second_tcp_listener_beside_dns() {
    let (mut a, mut raw) = with_raw(NetLimits::default());
    let u = a.bind_udp(6767, UdpLimits::default()).unwrap();
    let l = a.listen_tcp(8080, ListenLimits::default()).unwrap();
    let ru = raw.udp(40000);
    raw.udp_sock(ru)
        .send_slice(b"dns-query", sa(A4, 53))
        .unwrap();
    raw.udp_sock(ru)
        .send_slice(b"hello-6767", sa(A4, 6767))
        .unwrap();
    let mut now = 0;
    let mut ea = Vec::new();
    run_until!(now, SEC, [a, raw], drain(&mut a, &mut ea) == 2);
    // Each went to its own service: a DNS query, and a datagram on the second port.
    let (client, transport, data) = query(&ea[0]);
    assert_eq!(
        (client, data.as_slice()),
        (sa(B4, 40000), &b"dns-query"[..])
    );
    assert_eq!(
        ea[1],
        Event::Socket(SocketEvent::Datagram {
            socket: u,
            from: sa(B4, 40000),
            to: Some(A4.into()),
            data: b"hello-6767".to_vec(),
        })
    );
    a.send_to(u, sa(B4, 40000), b"pong-6767").unwrap();
    a.reply(client, transport, b"dns-answer").unwrap();
    let mut got = Vec::new();
    run_until!(now, SEC, [a, raw], {
        while let Ok((d, meta)) = raw.udp_sock(ru).recv() {
            got.push((d.to_vec(), SocketAddr::from(meta.endpoint)));
        }
        got.len() == 2
    });
    got.sort();
    assert_eq!(
        got,
        [
            (b"dns-answer".to_vec(), sa(A4, 53)),
            (b"pong-6767".to_vec(), sa(A4, 6767)),
        ]
    );

    // TCP: one client on the second listener, one on DNS, at once.
    let web = raw.connect(sa(A4, 8080), 50000);
    let dns = raw.connect(sa(A4, 53), 50001);
    run_until!(now, SEC, [a, raw], {
        raw.sock(web).may_send() && raw.sock(dns).may_send()
    });
    let mut ea = Vec::new();
    drain(&mut a, &mut ea);
    let (stream, peer) = accepted(&ea).expect("accepted on 8080");
    assert_eq!(peer, sa(B4, 50000));
    assert!(has(
        &ea,
        |e| matches!(e, SocketEvent::Accepted { listener, .. } if *listener == l)
    ));
    // The app's connection is not the DNS adapter's: it counts one TCP client.
    assert_eq!(a.stats().tcp_open, 1);
    assert_eq!(a.stats().tcp_accepted, 1);
    let request = b"GET / HTTP/1.0\r\n\r\n";
    raw.sock(web).send_slice(request).unwrap();
    raw.sock(dns).send_slice(&framed(&[b"dns-tcp"])).unwrap();
    let mut ea = Vec::new();
    run_until!(now, SEC, [a, raw], {
        drain(&mut a, &mut ea);
        has(&ea, |e| *e == SocketEvent::Readable { stream })
            && ea.iter().any(|e| matches!(e, Event::Query { .. }))
    });
    assert_eq!(read_all(&mut a, stream).unwrap(), request);
    let q = ea
        .iter()
        .find(|e| matches!(e, Event::Query { .. }))
        .unwrap();
    let (client, transport, data) = query(q);
    assert_eq!(data, b"dns-tcp");
    let response = b"HTTP/1.0 200 OK\r\n\r\nhello";
    assert_eq!(a.send(stream, response), Ok(response.len()));
    a.reply(client, transport, b"dns-tcp-answer").unwrap();
    let _ = a.flush();
    let want_dns = framed(&[b"dns-tcp-answer"]);
    run_until!(now, SEC, [a, raw], {
        raw.sock(web).recv_queue() == response.len() && raw.sock(dns).recv_queue() == want_dns.len()
    });
    assert_eq!(raw_read(&mut raw, web), response);
    assert_eq!(raw_read(&mut raw, dns), want_dns);
    // The app closes its side: the client sees the end and closes too.
    a.close(stream).unwrap();
    assert_eq!(a.send(stream, b"late"), Err(StreamError::UnknownStream));
    run_until!(now, SEC, [a, raw], !raw.sock(web).may_recv());
    raw.sock(web).close();
    run_until!(now, SEC, [a, raw], !raw.sock(web).is_open());
    // DNS carried on throughout.
    assert_eq!(a.stats().udp_queries, 1);
    assert_eq!(a.stats().tcp_queries, 1);
}

#[test]
fn connect_tcp_to_a_listening_peer_both_ways_and_close() {
    let (mut a, mut raw) = with_raw(NetLimits::default());
    let l = raw.tcp();
    raw.sock(l).listen(9000).unwrap();
    let s = a
        .connect_tcp(sa(B4, 9000), 45000, StreamLimits::default())
        .unwrap();
    // Nothing goes before the handshake; Writable says when it can.
    assert_eq!(a.send(s, b"early"), Ok(0));
    let mut now = 0;
    let mut ea = Vec::new();
    run_until!(now, SEC, [a, raw], {
        drain(&mut a, &mut ea);
        has(&ea, |e| *e == SocketEvent::Writable { stream: s })
    });
    assert_eq!(
        socket_events(&ea),
        [
            SocketEvent::Connected { stream: s },
            SocketEvent::Writable { stream: s }
        ]
    );
    assert_eq!(a.send(s, b"request"), Ok(7));
    run_until!(now, SEC, [a, raw], raw.sock(l).recv_queue() == 7);
    assert_eq!(raw_read(&mut raw, l), b"request");
    assert_eq!(
        raw.sock(l).remote_endpoint().map(SocketAddr::from),
        Some(sa(A4, 45000))
    );
    raw.sock(l).send_slice(b"response").unwrap();
    // The server closes after its response.
    raw.sock(l).close();
    // Readable comes for the bytes and again for the end; recv reads both.
    let mut got = Vec::new();
    let mut finished = false;
    let mut readables = 0;
    run_until!(now, SEC, [a, raw], {
        while let Some(e) = a.next_event() {
            assert_eq!(e, Event::Socket(SocketEvent::Readable { stream: s }));
            readables += 1;
            let mut buf = [0; 4];
            loop {
                match a.recv(s, &mut buf) {
                    Ok(0) => break,
                    Ok(n) => got.extend_from_slice(&buf[..n]),
                    Err(RecvError::Finished) => {
                        finished = true;
                        break;
                    }
                    Err(e) => panic!("{e}"),
                }
            }
        }
        finished
    });
    assert_eq!(got, b"response");
    assert!((1..=2).contains(&readables), "{readables}");
    // The stream is still ours to send on until we close it.
    assert_eq!(a.send(s, b"bye"), Ok(3));
    a.close(s).unwrap();
    assert_eq!(a.recv(s, &mut [0; 8]), Err(RecvError::UnknownStream));
    assert_eq!(a.close(s), Err(StreamError::UnknownStream));
    run_until!(now, SEC, [a, raw], !raw.sock(l).is_open());
    // The socket is free again for the next connect with the same buffers.
    assert_eq!(a.tcp_sockets().1, 1);
    raw.sock(l).listen(9000).unwrap();
    let s2 = a
        .connect_tcp(sa(B4, 9000), 45001, StreamLimits::default())
        .unwrap();
    assert_eq!(a.tcp_sockets().1, 1);
    let mut ea = Vec::new();
    run_until!(now, SEC, [a, raw], {
        drain(&mut a, &mut ea);
        has(&ea, |e| *e == SocketEvent::Connected { stream: s2 })
    });
}

#[test]
fn app_socket_caps_and_port_rules() {
    let limits = NetLimits {
        udp_sockets: 2,
        tcp_listeners: 1,
        tcp_connects: 1,
        upstream_tcp_sockets: 1,
        ..NetLimits::default()
    };
    let (mut a, _raw) = with_raw(limits);
    let u = UdpLimits::default();
    // UDP: port 0 and the DNS port are refused, then the cap.
    assert_eq!(a.bind_udp(0, u), Err(OpenError::InvalidPort));
    assert_eq!(a.bind_udp(53, u), Err(OpenError::PortInUse));
    let first = a.bind_udp(1000, u).unwrap();
    assert_eq!(a.bind_udp(1000, u), Err(OpenError::PortInUse));
    a.bind_udp(1001, u).unwrap();
    assert_eq!(a.bind_udp(1002, u), Err(OpenError::NoFreeSocket));
    assert!(a.unbind_udp(first));
    assert!(!a.unbind_udp(first));
    assert_eq!(
        a.send_to(first, sa(B4, 9), b"x"),
        Err(DatagramError::UnknownSocket)
    );
    let again = a.bind_udp(1000, u).unwrap();
    // The freed socket is reused, but the old handle stays dead.
    assert_ne!(again, first);
    assert_eq!(
        a.send_to(first, sa(B4, 9), b"x"),
        Err(DatagramError::UnknownSocket)
    );
    assert_eq!(
        a.send_to(again, sa(B4, 9), &[0; MTU - 28 + 1]),
        Err(DatagramError::TooLarge)
    );
    assert_eq!(
        a.bind_udp(1003, UdpLimits { rx_packets: 0, ..u }),
        Err(OpenError::ZeroLimit("rx_packets"))
    );
    // The transmit buffer: datagrams to a neighbour not yet resolved wait in it, and
    // once it is full (even after a flush) the next is refused.
    let one = a
        .bind_udp(1003, UdpLimits { tx_packets: 1, ..u })
        .unwrap_err();
    assert_eq!(one, OpenError::NoFreeSocket);
    assert!(a.unbind_udp(again));
    let tx1 = a.bind_udp(1003, UdpLimits { tx_packets: 1, ..u }).unwrap();
    let nobody = sa(Ipv4Addr::new(10, 0, 0, 9), 67);
    a.send_to(tx1, nobody, b"1").unwrap();
    assert_eq!(a.send_to(tx1, nobody, b"2"), Err(DatagramError::BufferFull));
    assert!(a.unbind_udp(tx1));
    let again = a.bind_udp(1000, u).unwrap();
    // The DNS adapter and the application do not take each other's ports.
    assert_eq!(
        a.send_udp(1001, sa(B4, 53), b"q"),
        Err(SendError::PortInUse)
    );
    a.send_udp(1500, sa(B4, 53), b"q").unwrap();
    assert!(a.unbind_udp(again));
    assert_eq!(a.bind_udp(1500, u), Err(OpenError::PortInUse));

    // TCP listeners: port 0, the DNS port, the cap, zero limits.
    let ll = ListenLimits::default();
    assert_eq!(a.listen_tcp(0, ll), Err(OpenError::InvalidPort));
    assert_eq!(a.listen_tcp(53, ll), Err(OpenError::PortInUse));
    let zero = ListenLimits {
        connections: 0,
        ..ll
    };
    assert_eq!(
        a.listen_tcp(8080, zero),
        Err(OpenError::ZeroLimit("connections"))
    );
    let idle0 = ListenLimits {
        stream: StreamLimits {
            idle_timeout_ns: 0,
            ..ll.stream
        },
        ..ll
    };
    assert_eq!(
        a.listen_tcp(8080, idle0),
        Err(OpenError::ZeroLimit("idle_timeout_ns"))
    );
    a.listen_tcp(8080, ll).unwrap();
    assert_eq!(a.listen_tcp(8080, ll), Err(OpenError::PortInUse));
    assert_eq!(a.listen_tcp(8081, ll), Err(OpenError::NoFreeSocket));

    // Outgoing streams: port 0 either side, the cap, one stream per local port.
    let sl = StreamLimits::default();
    assert_eq!(
        a.connect_tcp(sa(B4, 9000), 0, sl),
        Err(OpenError::InvalidPort)
    );
    assert_eq!(
        a.connect_tcp(sa(B4, 0), 45000, sl),
        Err(OpenError::InvalidPort)
    );
    assert_eq!(
        a.connect_tcp(sa(Ipv4Addr::UNSPECIFIED, 9000), 45000, sl),
        Err(OpenError::Unaddressable)
    );
    let s = a.connect_tcp(sa(B4, 9000), 45000, sl).unwrap();
    assert_eq!(
        a.connect_tcp(sa(B4, 9001), 45001, sl),
        Err(OpenError::NoFreeSocket)
    );
    // The DNS adapter's upstream exchanges have their own share...
    a.send_tcp(41000, sa(B4, 53), b"q").unwrap();
    assert_eq!(
        a.send_tcp(41001, sa(B4, 53), b"q"),
        Err(SendError::NoFreeSocket)
    );
    a.abort(s).unwrap();
    // ...and a local port in use by one is refused to the other.
    assert_eq!(
        a.connect_tcp(sa(B4, 9000), 41000, sl),
        Err(OpenError::PortInUse)
    );
    a.connect_tcp(sa(B4, 9000), 45001, sl).unwrap();
    assert_eq!(a.tcp_sockets().1, 2);
}

#[test]
fn listener_connection_cap_resets_the_next_client() {
    let (mut a, mut raw) = with_raw(NetLimits::default());
    let limits = ListenLimits {
        connections: 2,
        ..ListenLimits::default()
    };
    let l = a.listen_tcp(8080, limits).unwrap();
    let socks: Vec<_> = (0..2)
        .map(|i| raw.connect(sa(A4, 8080), 52000 + i))
        .collect();
    let mut now = 0;
    run_until!(
        now,
        SEC,
        [a, raw],
        socks.iter().all(|&s| raw.sock(s).may_send())
    );
    assert_eq!(a.net.tcp_sockets(Some(l)).0, 2);
    let extra = raw.connect(sa(A4, 8080), 52002);
    run_until!(now, SEC, [a, raw], !raw.sock(extra).is_open());
    assert_eq!(a.net.tcp_sockets(Some(l)).0, 2);
    assert_eq!(a.net.listener_open(l), 2);
    let mut ea = Vec::new();
    drain(&mut a, &mut ea);
    let streams: Vec<_> = socket_events(&ea)
        .into_iter()
        .filter_map(|e| match e {
            SocketEvent::Accepted { stream, .. } => Some(stream),
            _ => None,
        })
        .collect();
    assert_eq!(streams.len(), 2);
    // The client resets one: Closed, and a new client takes its place.
    raw.sock(socks[0]).abort();
    let mut ea = Vec::new();
    run_until!(now, SEC, [a, raw], {
        drain(&mut a, &mut ea);
        has(&ea, |e| {
            matches!(
                e,
                SocketEvent::Closed {
                    reason: CloseReason::Reset,
                    ..
                }
            )
        })
    });
    assert_eq!(a.net.listener_open(l), 1);
    let again = raw.connect(sa(A4, 8080), 52003);
    run_until!(now, SEC, [a, raw], raw.sock(again).may_send());
    assert_eq!(a.net.listener_open(l), 2);
    // None of this was DNS.
    assert_eq!(a.stats().tcp_accepted, 0);
    assert_eq!(a.stats().tcp_open, 0);
}

#[test]
fn stream_buffers_bound_what_send_takes_and_what_the_peer_may_send() {
    let (mut a, mut raw) = with_raw(NetLimits::default());
    let limits = ListenLimits {
        connections: 1,
        stream: StreamLimits {
            rx_buffer: 200,
            tx_buffer: 100,
            ..StreamLimits::default()
        },
    };
    a.listen_tcp(8080, limits).unwrap();
    let c = raw.connect(sa(A4, 8080), 53000);
    let mut now = 0;
    run_until!(now, SEC, [a, raw], raw.sock(c).may_send());
    let mut ea = Vec::new();
    drain(&mut a, &mut ea);
    let (s, _) = accepted(&ea).unwrap();
    // A 16 KiB record's worth out: the transmit buffer takes 100 at a time, and
    // Writable says when there is room again.
    let out: Vec<u8> = (0..16384u32).map(|i| i as u8).collect();
    let mut sent = 0;
    let mut received = Vec::new();
    let mut writables = 0;
    let mut n = a.send(s, &out).unwrap();
    assert!(n <= 100, "{n}");
    sent += n;
    run_until!(now, 20 * SEC, [a, raw], {
        while let Some(e) = a.next_event() {
            if e == Event::Socket(SocketEvent::Writable { stream: s }) {
                writables += 1;
                n = a.send(s, &out[sent..]).unwrap();
                assert!(n <= 100, "{n}");
                sent += n;
            }
        }
        received.extend(raw_read(&mut raw, c));
        received.len() == out.len()
    });
    assert_eq!(received, out);
    assert!(writables >= 16384 / 100, "{writables}");
    // The peer may put 200 bytes in our receive buffer, not more, until we read.
    raw.sock(c).send_slice(&[7; 1000]).unwrap();
    for _ in 0..20 {
        step(&mut now, &mut [&mut a, &mut raw]);
    }
    let mut buf = vec![0; 4096];
    assert_eq!(a.recv(s, &mut buf), Ok(200));
    let mut total = 200;
    run_until!(now, 5 * SEC, [a, raw], {
        total += a.recv(s, &mut buf).unwrap();
        total == 1000
    });
}

#[test]
fn app_datagrams_wait_in_the_nic_while_the_event_queue_is_full() {
    let la = NetLimits {
        event_queue: 2,
        ..NetLimits::default()
    };
    let (mut a, mut raw) = with_raw(la);
    let limits = UdpLimits {
        rx_packets: 2,
        rx_bytes: 100,
        ..UdpLimits::default()
    };
    let u = a.bind_udp(6767, limits).unwrap();
    let r = raw.udp(40000);
    // Neighbours first.
    raw.udp_sock(r).send_slice(b"warm", sa(A4, 6767)).unwrap();
    let mut now = 0;
    let mut ea = Vec::new();
    run_until!(now, SEC, [a, raw], drain(&mut a, &mut ea) == 1);
    // One larger than the socket's byte buffer is dropped; six others wait in the NIC
    // while nobody drains, two at a time in the queue.
    raw.udp_sock(r)
        .send_slice(&[0xee; 101], sa(A4, 6767))
        .unwrap();
    for i in 0..6u8 {
        raw.udp_sock(r).send_slice(&[i], sa(A4, 6767)).unwrap();
    }
    for _ in 0..10 {
        step(&mut now, &mut [&mut a, &mut raw]);
    }
    assert_eq!(a.events.q.len(), 2);
    assert!(a.stats().poll_held_back > 0);
    let mut got = Vec::new();
    for _ in 0..10 {
        while let Some(e) = a.next_event() {
            match e {
                Event::Socket(SocketEvent::Datagram { socket, data, .. }) => {
                    assert_eq!(socket, u);
                    got.push(data);
                }
                other => panic!("{other:?}"),
            }
        }
        let _ = a.poll(now);
    }
    assert_eq!(got, (0..6u8).map(|i| vec![i]).collect::<Vec<_>>());
}

#[test]
fn one_readable_per_stream_while_unread() {
    let (mut a, mut raw) = with_raw(NetLimits::default());
    a.listen_tcp(8080, ListenLimits::default()).unwrap();
    let c = raw.connect(sa(A4, 8080), 53100);
    let mut now = 0;
    run_until!(now, SEC, [a, raw], raw.sock(c).may_send());
    let mut ea = Vec::new();
    drain(&mut a, &mut ea);
    let (s, _) = accepted(&ea).unwrap();
    // Many segments while the application does not look: one Readable waits.
    for i in 0..10u8 {
        raw.sock(c).send_slice(&[i; 10]).unwrap();
        step(&mut now, &mut [&mut a, &mut raw]);
    }
    let readables = |a: &Stack<SimNic>| {
        a.events
            .q
            .iter()
            .filter(|e| **e == Event::Socket(SocketEvent::Readable { stream: s }))
            .count()
    };
    assert_eq!(readables(&a), 1);
    // Taken but not read: reported again on the next poll, once.
    assert!(a.next_event().is_some());
    let _ = a.poll(now);
    let _ = a.poll(now);
    assert_eq!(readables(&a), 1);
    assert!(a.next_event().is_some());
    assert_eq!(read_all(&mut a, s).unwrap().len(), 100);
    let _ = a.poll(now);
    assert_eq!(readables(&a), 0);
}

#[test]
fn idle_app_stream_is_closed_then_reset() {
    let (mut a, mut raw) = with_raw(NetLimits::default());
    let limits = ListenLimits {
        connections: 1,
        stream: StreamLimits {
            idle_timeout_ns: SEC,
            ..StreamLimits::default()
        },
    };
    let l = a.listen_tcp(8080, limits).unwrap();
    let c = raw.connect(sa(A4, 8080), 53200);
    let mut now = 0;
    run_until!(now, SEC, [a, raw], raw.sock(c).may_send());
    let opened = now;
    let mut ea = Vec::new();
    drain(&mut a, &mut ea);
    let (s, _) = accepted(&ea).unwrap();
    assert!(a.poll_delay(now).unwrap() <= SEC);
    run_until!(now, 3 * SEC, [a, raw], {
        drain(&mut a, &mut ea);
        has(&ea, |e| {
            *e == SocketEvent::Closed {
                stream: s,
                reason: CloseReason::Idle,
            }
        })
    });
    assert!(now - opened >= SEC);
    assert_eq!(a.send(s, b"x"), Err(StreamError::UnknownStream));
    // The client saw our FIN but never closes: reset a timeout later, and the
    // listener takes the next client.
    run_until!(now, SEC, [a, raw], !raw.sock(c).may_recv());
    run_until!(now, 3 * SEC, [a, raw], a.net.listener_open(l) == 0);
    let c2 = raw.connect(sa(A4, 8080), 53201);
    run_until!(now, SEC, [a, raw], raw.sock(c2).may_send());
}

#[test]
fn refused_connect_and_reset_stream_are_reported() {
    let (mut a, mut raw) = with_raw(NetLimits::default());
    // Nobody listens on 9999: refused.
    let s = a
        .connect_tcp(sa(B4, 9999), 45100, StreamLimits::default())
        .unwrap();
    let mut now = 0;
    let mut ea = Vec::new();
    run_until!(now, SEC, [a, raw], {
        drain(&mut a, &mut ea);
        has(&ea, |e| *e == SocketEvent::ConnectFailed { stream: s })
    });
    assert_eq!(a.send(s, b"x"), Err(StreamError::UnknownStream));
    // An established stream the peer resets.
    let l = raw.tcp();
    raw.sock(l).listen(9000).unwrap();
    let s = a
        .connect_tcp(sa(B4, 9000), 45101, StreamLimits::default())
        .unwrap();
    run_until!(now, SEC, [a, raw], raw.sock(l).may_send());
    raw.sock(l).abort();
    let mut ea = Vec::new();
    run_until!(now, SEC, [a, raw], {
        drain(&mut a, &mut ea);
        has(&ea, |e| {
            *e == SocketEvent::Closed {
                stream: s,
                reason: CloseReason::Reset,
            }
        })
    });
    assert_eq!(
        socket_events(&ea),
        [
            SocketEvent::Connected { stream: s },
            SocketEvent::Closed {
                stream: s,
                reason: CloseReason::Reset
            }
        ]
    );
}

#[test]
fn sockets_are_reused_by_buffer_size_and_remade_for_other_sizes() {
    let limits = NetLimits {
        udp_sockets: 1,
        upstream_udp_sockets: 0,
        tcp_connects: 1,
        upstream_tcp_sockets: 0,
        ..NetLimits::default()
    };
    let (mut a, _raw) = with_raw(limits);
    let small = StreamLimits::default();
    let big = StreamLimits {
        rx_buffer: 17 * 1024,
        ..small
    };
    let s = a.connect_tcp(sa(B4, 443), 45200, small).unwrap();
    a.abort(s).unwrap();
    let s2 = a.connect_tcp(sa(B4, 443), 45201, small).unwrap();
    assert_eq!(a.tcp_sockets().1, 1);
    assert_ne!(s, s2);
    assert_eq!(a.abort(s), Err(StreamError::UnknownStream));
    a.close(s2).unwrap();
    // A closing socket with other buffers is made over: still one socket.
    let s3 = a.connect_tcp(sa(B4, 443), 45202, big).unwrap();
    assert_eq!(a.tcp_sockets().1, 1);
    a.abort(s3).unwrap();
    let u = a.bind_udp(6767, UdpLimits::default()).unwrap();
    assert!(a.unbind_udp(u));
    let other = UdpLimits {
        rx_bytes: 1500,
        ..UdpLimits::default()
    };
    a.bind_udp(6768, other).unwrap();
    // The DNS port's socket and the application's one.
    assert_eq!(a.net.udp.len(), 2);
}

#[test]
fn dhcp_server_shape_broadcast_in_and_out() {
    let (mut a, mut raw) = with_raw(NetLimits::default());
    let u = a.bind_udp(67, UdpLimits::default()).unwrap();
    let client = raw.udp(68);
    raw.udp_sock(client)
        .send_slice(b"DISCOVER", sa(Ipv4Addr::BROADCAST, 67))
        .unwrap();
    let mut now = 0;
    let mut ea = Vec::new();
    run_until!(now, SEC, [a, raw], drain(&mut a, &mut ea) == 1);
    assert_eq!(
        ea[0],
        Event::Socket(SocketEvent::Datagram {
            socket: u,
            from: sa(B4, 68),
            to: Some(Ipv4Addr::BROADCAST.into()),
            data: b"DISCOVER".to_vec(),
        })
    );
    a.send_to(u, sa(Ipv4Addr::BROADCAST, 68), b"OFFER").unwrap();
    run_until!(now, SEC, [a, raw], raw.udp_sock(client).can_recv());
    let (data, meta) = raw.udp_sock(client).recv().unwrap();
    assert_eq!(data, b"OFFER");
    assert_eq!(SocketAddr::from(meta.endpoint), sa(A4, 67));
}

#[test]
fn random_traffic_and_calls_on_app_sockets_do_not_panic() {
    let (mut a, mut raw) = with_raw(NetLimits::default());
    let limits = ListenLimits {
        connections: 3,
        stream: StreamLimits {
            rx_buffer: 300,
            tx_buffer: 300,
            idle_timeout_ns: 2 * SEC,
        },
    };
    let l = a.listen_tcp(8080, limits).unwrap();
    let mut x: u64 = 0x5851_f42d_4c95_7f2d;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut now = 0;
    let mut streams: Vec<StreamHandle> = Vec::new();
    let mut clients = Vec::new();
    for round in 0..40u16 {
        if round % 3 == 0 {
            clients.push(raw.connect(sa(A4, 8080), 54000 + round));
        }
        for &c in &clients {
            let len = (next() % 700) as usize;
            let bytes: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            let _ = raw.sock(c).send_slice(&bytes);
            if next() % 9 == 0 {
                raw.sock(c).abort();
            }
        }
        step(&mut now, &mut [&mut a, &mut raw]);
        while let Some(e) = a.next_event() {
            if let Event::Socket(SocketEvent::Accepted { stream, .. }) = e {
                streams.push(stream);
            }
        }
        // Any call on any handle, live or dead, in any order.
        for &s in &streams {
            let mut buf = vec![0; (next() % 500) as usize];
            match next() % 6 {
                0 => {
                    let _ = a.close(s);
                }
                1 => {
                    let _ = a.abort(s);
                }
                2 => {
                    let _ = a.send(s, &buf);
                }
                _ => {
                    let _ = a.recv(s, &mut buf);
                }
            }
        }
    }
    for &c in &clients {
        raw.sock(c).abort();
    }
    // Everything ends: reset by the clients, or let go and reset after the idle time.
    run_until!(now, 10 * SEC, [a, raw], {
        while a.next_event().is_some() {}
        a.net.listener_open(l) == 0
    });
    assert!(streams.len() > 3);
    assert_eq!(a.net.tcp_sockets(Some(l)).0, 3);
}

#[test]
fn socket_errors_display_as_one_precise_line() {
    let lines: Vec<std::string::String> = [
        OpenError::InvalidPort.to_string(),
        OpenError::PortInUse.to_string(),
        OpenError::NoFreeSocket.to_string(),
        OpenError::Unaddressable.to_string(),
        OpenError::ZeroLimit("rx_buffer").to_string(),
        RecvError::UnknownStream.to_string(),
        RecvError::Finished.to_string(),
        StreamError::UnknownStream.to_string(),
        DatagramError::UnknownSocket.to_string(),
        DatagramError::TooLarge.to_string(),
        DatagramError::BufferFull.to_string(),
        DatagramError::Unaddressable.to_string(),
        crate::dns::UpstreamErrorKind::Timeout.to_string(),
    ]
    .into();
    for l in &lines {
        assert!(!l.contains('\n') && l.len() > 12, "{l:?}");
    }
    assert_eq!(lines[4], "rx_buffer is 0 but must be at least 1");
}
