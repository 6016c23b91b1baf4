//! DNS over TCP: pipelining, split frames, the connection caps, idle and bad-prefix resets, reply queues, half-close, random bytes.

use super::*;

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
