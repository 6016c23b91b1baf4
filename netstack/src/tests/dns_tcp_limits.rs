//! The DNS port's TCP edge under abuse (issue 14, item 16): a client trickling one
//! byte at a time (slowloris) and clients the allow list does not admit.

use super::*;
use common::IpCidr as Net;

fn allow(list: &[(&str, u8)]) -> Vec<Net> {
    list.iter()
        .map(|(a, p)| Net::new(a.parse().unwrap(), *p).unwrap())
        .collect()
}

/// Runs the pair until `until` (virtual ns) or until `stop` holds.
fn run_to(
    now: &mut u64,
    until: u64,
    a: &mut Stack<SimNic>,
    raw: &mut Raw,
    stop: impl Fn(&mut Raw) -> bool,
) {
    while *now < until {
        step(now, &mut [a, raw]);
        if stop(raw) {
            return;
        }
    }
}

/// One byte every 2 s keeps the idle timer (10 s) fresh forever; before, the
/// connection held its slot for the whole 30 s of this test (and would have for
/// as long as the client liked). Now a message must be whole within
/// `tcp_query_timeout_ns` (3 s) of its first byte: reset at 3 s.
#[test]
fn slowloris_one_byte_every_two_seconds_is_reset_at_the_message_deadline() {
    let limits = NetLimits::default();
    assert_eq!(limits.tcp_query_timeout_ns, 3 * SEC);
    assert_eq!(limits.tcp_idle_timeout_ns, 10 * SEC);
    let (mut a, mut raw) = with_raw(limits);
    let s = raw.connect(sa(A4, 53), 50100);
    let mut now = 0;
    run_until!(now, SEC, [a, raw], raw.sock(s).may_send());
    let msg = framed(&[&[0x55; 40]]);
    let first = now;
    for b in &msg {
        if !raw.sock(s).is_open() {
            break;
        }
        raw.sock(s).send_slice(core::slice::from_ref(b)).unwrap();
        let until = now + 2 * SEC;
        run_to(&mut now, until, &mut a, &mut raw, |r| !r.sock(s).is_open());
        if now > first + 30 * SEC {
            break;
        }
    }
    assert!(!raw.sock(s).is_open(), "slowloris still connected at {now}");
    assert!(
        now - first <= 3 * SEC + 200 * MS,
        "reset late: {}",
        now - first
    );
    assert!(now - first >= 3 * SEC, "reset early: {}", now - first);
    assert_eq!(a.stats().tcp_closed_slow, 1);
    assert_eq!(a.stats().tcp_closed_idle, 0);
    assert_eq!(a.stats().tcp_open, 0);
    assert!(a.next_event().is_none(), "no query surfaced");
}

/// The deadline is per message: each of two messages trickled over 2 s arrives, though
/// together they take longer than the deadline; the stack's `poll_delay` names it.
#[test]
fn slow_but_whole_messages_inside_the_deadline_pass() {
    let (mut a, mut raw) = with_raw(NetLimits::default());
    let s = raw.connect(sa(A4, 53), 50101);
    let mut now = 0;
    run_until!(now, SEC, [a, raw], raw.sock(s).may_send());
    let mut ea = Vec::new();
    for (i, body) in [&b"first-query"[..], &b"second-query"[..]]
        .iter()
        .enumerate()
    {
        let msg = framed(&[body]);
        let (head, tail) = msg.split_at(3);
        raw.sock(s).send_slice(head).unwrap();
        let until = now + 300 * MS;
        run_to(&mut now, until, &mut a, &mut raw, |_| false);
        let d = a
            .poll_delay(now)
            .expect("a deadline while a message is partial");
        assert!(d <= 3 * SEC, "{d}");
        let until = now + 2 * SEC;
        run_to(&mut now, until, &mut a, &mut raw, |_| false);
        raw.sock(s).send_slice(tail).unwrap();
        run_until!(now, SEC, [a, raw], drain(&mut a, &mut ea) == i + 1);
        assert_eq!(query(&ea[i]).2, *body);
    }
    assert!(raw.sock(s).is_open());
    assert_eq!(a.stats().tcp_closed_slow, 0);
}

/// A source outside the allow list is reset at accept: it never gets a connection id,
/// never counts as open, and never takes one of `tcp_clients` slots: with one slot,
/// five refused attempts over IPv6 (an IPv4-only list) leave it for the IPv4 client.
#[test]
fn disallowed_sources_are_reset_at_accept_without_taking_a_slot() {
    let limits = NetLimits {
        tcp_clients: 1,
        ..NetLimits::default()
    };
    let (mut a, mut raw) = with_raw(limits);
    a.set_dns_allow(Some(allow(&[("10.0.0.0", 24)])));
    let mut now = 0;
    for i in 0..5 {
        let s = raw.connect(sa(A6, 53), 50200 + i);
        run_until!(now, SEC, [a, raw], !raw.sock(s).is_open());
        assert_eq!(raw.sock(s).state(), tcp::State::Closed, "reset");
        assert!(!raw.sock(s).may_send(), "never established for the client");
    }
    assert_eq!(a.stats().tcp_refused, 5);
    assert_eq!(a.stats().tcp_accepted, 0);
    assert_eq!(a.stats().tcp_open, 0);
    // (3 s: the peer's first packet to a new neighbour waits out smoltcp's 1 s of
    // silence after the last neighbour request it sent.)
    let s = raw.connect(sa(A4, 53), 50300);
    run_until!(now, 3 * SEC, [a, raw], raw.sock(s).may_send());
    raw.sock(s).send_slice(&framed(&[b"allowed"])).unwrap();
    let mut ea = Vec::new();
    run_until!(now, SEC, [a, raw], drain(&mut a, &mut ea) == 1);
    assert_eq!(query(&ea[0]).0, sa(B4, 50300));
    assert_eq!(a.stats().tcp_accepted, 1);
}

/// The list judges the peer as `common::allows` does: a /32 that is not the peer
/// refuses it; switching the filter off (None) accepts it again.
#[test]
fn allow_list_host_route_and_off_switch() {
    let (mut a, mut raw) = with_raw(NetLimits::default());
    a.set_dns_allow(Some(allow(&[("10.0.0.99", 32), ("fd00::", 8)])));
    let mut now = 0;
    let s = raw.connect(sa(A4, 53), 50400);
    run_until!(now, SEC, [a, raw], !raw.sock(s).is_open());
    assert_eq!(a.stats().tcp_refused, 1);
    let s6 = raw.connect(sa(A6, 53), 50401);
    run_until!(now, 3 * SEC, [a, raw], raw.sock(s6).may_send());
    a.set_dns_allow(None);
    let s = raw.connect(sa(A4, 53), 50402);
    run_until!(now, SEC, [a, raw], raw.sock(s).may_send());
    assert_eq!(a.stats().tcp_accepted, 2);
}

/// A client that connects and says nothing held its slot for the idle timeout (10 s);
/// its first query must now be whole within the query deadline of the connection's
/// start.
#[test]
fn silent_connection_is_reset_at_the_query_deadline() {
    let (mut a, mut raw) = with_raw(NetLimits::default());
    let s = raw.connect(sa(A4, 53), 50500);
    let mut now = 0;
    run_until!(now, SEC, [a, raw], raw.sock(s).may_send());
    let up = now;
    run_until!(now, 20 * SEC, [a, raw], !raw.sock(s).is_open());
    assert!(now - up <= 3 * SEC + 200 * MS, "reset late: {}", now - up);
    assert_eq!(a.stats().tcp_closed_slow, 1);
    assert_eq!(a.stats().tcp_closed_idle, 0);
    // Once a query came, the connection may idle between queries as before.
    let s = raw.connect(sa(A4, 53), 50501);
    run_until!(now, SEC, [a, raw], raw.sock(s).may_send());
    raw.sock(s).send_slice(&framed(&[b"q"])).unwrap();
    let mut ea = Vec::new();
    run_until!(now, SEC, [a, raw], drain(&mut a, &mut ea) == 1);
    let (c, t, _) = query(&ea[0]);
    a.reply(c, t, b"r").unwrap();
    let answered = now;
    run_until!(now, SEC, [a, raw], raw.sock(s).recv_queue() == 3);
    let mut got = [0u8; 3];
    raw.sock(s).recv_slice(&mut got).unwrap();
    assert_eq!(got, [0, 1, b'r']);
    run_until!(now, 20 * SEC, [a, raw], !raw.sock(s).may_recv());
    assert!(
        now - answered >= 9 * SEC,
        "closed after {} ns",
        now - answered
    );
    assert_eq!(a.stats().tcp_closed_idle, 1);
    assert_eq!(a.stats().tcp_closed_slow, 1);
}

/// One source holds at most `tcp_clients_per_source` connections: the next from it is
/// reset at accept, another source still gets in, and a slot the source gives back is
/// its own again.
#[test]
fn one_source_cannot_take_every_connection() {
    let limits = NetLimits {
        tcp_clients: 8,
        tcp_clients_per_source: 2,
        ..NetLimits::default()
    };
    let (mut a, mut raw) = with_raw(limits);
    let mut now = 0;
    let mine: Vec<_> = (0..2).map(|i| raw.connect(sa(A4, 53), 50600 + i)).collect();
    run_until!(
        now,
        SEC,
        [a, raw],
        mine.iter().all(|&s| raw.sock(s).may_send())
    );
    let third = raw.connect(sa(A4, 53), 50602);
    run_until!(now, SEC, [a, raw], !raw.sock(third).is_open());
    assert_eq!(a.stats().tcp_refused_busy, 1);
    assert_eq!(a.stats().tcp_open, 2);
    let other = raw.connect(sa(A6, 53), 50603);
    run_until!(now, 3 * SEC, [a, raw], raw.sock(other).may_send());
    assert_eq!(a.stats().tcp_open, 3);
    raw.sock(mine[0]).abort();
    run_until!(now, SEC, [a, raw], a.stats().tcp_open == 2);
    let again = raw.connect(sa(A4, 53), 50604);
    run_until!(now, SEC, [a, raw], raw.sock(again).may_send());
    assert_eq!(a.stats().tcp_refused_busy, 1);
}
