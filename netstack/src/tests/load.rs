//! Load: the event queue cap, bursts between polls, the frame budget per poll and the poll delay.

use super::*;

#[test]
fn event_queue_cap_leaves_frames_in_the_nic_until_drained() {
    let la = NetLimits {
        event_queue: 2,
        ..NetLimits::default()
    };
    let lb = NetLimits {
        upstream_udp_tx_packets: 8,
        ..NetLimits::default()
    };
    let (mut a, mut b) = pair(la, lb);
    for i in 0..5u8 {
        b.send_udp(40000, sa(A4, 53), &[i]).unwrap();
    }
    let mut now = 0;
    // Without draining, A never queues more than the cap, and stops reading frames:
    // the other three wait in the NIC, not in (or dropped by) a socket buffer.
    run_until!(now, SEC, [a, b], a.stats().udp_queries == 2);
    for _ in 0..5 {
        step(&mut now, &mut [&mut a, &mut b]);
    }
    assert_eq!(a.events.q.len(), 2);
    assert_eq!(a.stats().udp_queries, 2);
    assert!(a.stats().poll_held_back > 0);
    assert_eq!(a.poll_delay(now), Some(0));
    let mut ea = Vec::new();
    for _ in 0..5 {
        drain(&mut a, &mut ea);
        let _ = a.poll(now);
    }
    let got: Vec<u8> = ea.iter().map(|e| query(e).2[0]).collect();
    assert_eq!(got, [0, 1, 2, 3, 4]);
}

#[test]
fn udp_burst_past_socket_buffer_and_event_queue_waits_in_the_nic() {
    let la = NetLimits {
        udp_rx_packets: 3,
        event_queue: 1,
        ..NetLimits::default()
    };
    let lb = NetLimits {
        upstream_udp_tx_packets: 10,
        ..NetLimits::default()
    };
    let (mut a, mut b) = pair(la, lb);
    for i in 0..10u8 {
        b.send_udp(40000, sa(A4, 53), &[i]).unwrap();
    }
    let mut now = 0;
    // ARP first, so all ten go out together.
    for _ in 0..20 {
        step(&mut now, &mut [&mut a, &mut b]);
    }
    let mut ea = Vec::new();
    for _ in 0..20 {
        assert!(a.events.q.len() <= 1);
        drain(&mut a, &mut ea);
        let _ = a.poll(now);
    }
    // One event at a time, and the socket never overflowed: nothing was dropped
    // (it used to keep one in the queue and three in the socket and drop six).
    let got: Vec<u8> = ea.iter().map(|e| query(e).2[0]).collect();
    assert_eq!(got, (0..10).collect::<Vec<u8>>());
}

#[test]
fn frame_budget_per_poll_then_poll_delay_zero() {
    let la = NetLimits {
        max_frames_per_poll: 2,
        ..NetLimits::default()
    };
    let (ab, ba) = link();
    let mut a = stack(MAC_A, ba.clone(), ab, &config(A4, A6, la));
    for _ in 0..5 {
        ba.borrow_mut().push_back(vec![0xff; 60]);
    }
    let _ = a.poll(0);
    assert_eq!(a.stats().frames_in, 2);
    assert_eq!(a.stats().poll_budget_exhausted, 1);
    assert_eq!(a.poll_delay(0), Some(0));
    let _ = a.poll(0);
    let _ = a.poll(0);
    assert_eq!(a.stats().frames_in, 5);
    assert_eq!(a.poll_delay(0), None);
}

#[test]
fn poll_delay_is_none_when_idle_and_bounded_when_busy() {
    let (mut a, mut b) = pair(NetLimits::default(), NetLimits::default());
    let _ = a.poll(0);
    assert_eq!(a.poll_delay(0), None);
    assert!(!a.poll(5 * SEC));
    assert_eq!(a.poll_delay(5 * SEC), None);
    // An upstream exchange in progress has a deadline.
    b.send_tcp(42000, sa(A4, 53), b"q").unwrap();
    let d = b.poll_delay(0).unwrap();
    assert!(d <= NetLimits::default().upstream_tcp_timeout_ns);
}

/// `n` UDP queries from B (one per source port) reach A's NIC while A does not poll;
/// then A runs its main loop as the app does (poll, a reply per query, poll, again at
/// once while `poll_delay` says 0) until it is idle. Returns (queries A surfaced,
/// replies B received, A's loop iterations, A's counters).
fn burst_between_polls(la: NetLimits, n: u16) -> (usize, usize, usize, crate::Stats) {
    let lb = NetLimits {
        upstream_udp_sockets: usize::from(n),
        upstream_udp_tx_packets: 1,
        upstream_udp_rx_packets: 1,
        upstream_udp_rx_bytes: 512,
        event_queue: usize::from(n),
        max_frames_per_poll: usize::from(n),
        ..NetLimits::default()
    };
    let (mut a, mut b) = pair(la, lb);
    let mut now = 0;
    // Neighbours resolved both ways first (a query and its reply), so the burst goes
    // out at once and the replies need no ARP.
    b.send_udp(1000, sa(A4, 53), b"warm").unwrap();
    let mut ea = Vec::new();
    run_until!(now, SEC, [a, b], drain(&mut a, &mut ea) == 1);
    a.reply(sa(B4, 1000), Transport::Udp, b"warm").unwrap();
    let mut eb = Vec::new();
    run_until!(now, SEC, [a, b], drain(&mut b, &mut eb) == 1);
    b.close_udp(1000);
    for i in 0..n {
        b.send_udp(2000 + i, sa(A4, 53), &i.to_be_bytes()).unwrap();
    }
    let _ = b.poll(now);
    let (mut queries, mut replies, mut rounds) = (0, 0, 0);
    while rounds < 1000 {
        rounds += 1;
        let _ = a.poll(now);
        while let Some(e) = a.next_event() {
            let (client, transport, data) = query(&e);
            queries += 1;
            let _ = a.reply(client, transport, &data);
        }
        let _ = a.poll(now);
        let _ = b.poll(now);
        while b.next_event().is_some() {
            replies += 1;
        }
        if a.poll_delay(now) != Some(0) {
            break;
        }
    }
    (queries, replies, rounds, a.stats())
}

/// The defaults, but one poll reads as many frames as have arrived (the event queue
/// permitting), so that a burst meets the socket buffers and the event queue at once.
fn whole_burst_per_poll() -> NetLimits {
    NetLimits {
        max_frames_per_poll: 4096,
        ..NetLimits::default()
    }
}

#[test]
fn udp_burst_of_256_between_two_polls_is_all_answered() {
    // 256 answers queued in one go overflow the 64-datagram transmit buffer: each
    // `reply` that finds it full sends the queued ones first. (Before, 192 of the 256
    // answers were refused with BufferFull: one poll sends eight datagrams per socket.)
    let (queries, replies, rounds, st) = burst_between_polls(whole_burst_per_poll(), 256);
    assert_eq!((queries, replies), (256, 256));
    assert_eq!(rounds, 1);
    assert!(st.udp_reply_flushes >= 3, "{st:?}");
    assert_eq!(st.udp_reply_errors, 0);
}

#[test]
fn udp_burst_of_1024_between_two_polls_waits_in_the_nic() {
    // Four times the event queue: A stops reading frames while the queue is full and
    // takes the rest in later iterations of the loop. (Before, the 256 queued events
    // plus the 64 datagrams of the socket buffer were kept and 704 queries dropped.)
    let (queries, replies, rounds, st) = burst_between_polls(whole_burst_per_poll(), 1024);
    assert_eq!((queries, replies), (1024, 1024));
    assert_eq!(rounds, 4);
    assert!(st.poll_held_back >= 3, "{st:?}");
}
