//! The edges where clients come in (issue 14, items 15, 18, 19, 20): martian sources
//! from the wire, cache snooping with RD=0, one client's share of the in-flight
//! client slots, and re-keying the RNG from outside entropy.

use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::RecordType;

use crate::sim::*;
use engine::{Client, Engine, Instant, Transmit, Transport};

fn udp(addr: &str) -> Client {
    Client {
        addr: addr.parse().unwrap(),
        transport: Transport::Udp,
    }
}

fn rd0(id: u16, name: &str) -> Vec<u8> {
    let mut q = Message::from_vec(&query_bytes(id, name, RecordType::A, Some(1232))).unwrap();
    q.metadata.recursion_desired = false;
    q.to_vec().unwrap()
}

/// Item 15: a v4-mapped IPv6 source carrying an allowed IPv4 address, and loopback
/// sources of both families, arrive from the wire only when forged: dropped unanswered,
/// with no upstream traffic. Before: `::ffff:192.168.1.10` and `127.0.0.1` were
/// resolved like the LAN client they imitate.
#[test]
fn v4_mapped_and_loopback_sources_are_dropped() {
    for src in [
        "[::ffff:192.168.1.10]:5353",
        "[::ffff:10.0.0.1]:5353",
        "127.0.0.1:5353",
        "127.9.9.9:5353",
        "[::1]:5353",
        "0.0.0.0:5353",
        "[::]:5353",
    ] {
        let mut net = Net::new(recursive_config());
        let bytes = query_bytes(1, "www.example.com.", RecordType::A, Some(1232));
        net.send_from(udp(src), &bytes);
        net.drive_bounded(10_000);
        assert!(net.replies.is_empty(), "{src}: answered");
        assert!(net.log.is_empty(), "{src}: sent upstream");
        assert_eq!(net.engine.stats().client_dropped, 1, "{src}");
        // Also when the answer is cached (the fast path must not answer them either).
        net.ask("www.example.com.", RecordType::A);
        let replies = net.replies.len();
        net.send_from(udp(src), &bytes);
        assert_eq!(net.replies.len(), replies, "{src}: answered from the cache");
    }
}

/// Item 15: an IPv4 allow list matches IPv4 packets only: `::ffff:10.0.0.1` is not
/// inside `10.0.0.0/8` (it is dropped as martian; were it not, it would be REFUSED).
#[test]
fn ipv4_allow_list_does_not_match_ipv6_sources() {
    let mut cfg = recursive_config();
    cfg.allow = vec![engine::Cidr::new("10.0.0.0".parse().unwrap(), 8).unwrap()];
    let mut net = Net::new(cfg);
    let bytes = query_bytes(1, "www.example.com.", RecordType::A, Some(1232));
    let r = net.ask_as(udp("10.1.2.3:5353"), &bytes);
    assert_eq!(r.response_code, ResponseCode::NoError);
    let before = net.replies.len();
    net.send_from(udp("[::ffff:10.1.2.3]:5353"), &bytes);
    assert_eq!(net.replies.len(), before);
    // A real IPv6 client outside the list: REFUSED.
    let r = net.ask_as(udp("[fd00::1]:5353"), &bytes);
    assert_eq!(r.response_code, ResponseCode::Refused);
}

/// Item 18: RD=0 asks what is cached (cache snooping: which sites the household
/// visits). Refused by default, with EDE 18 (Prohibited), from the fast path and the
/// full path alike; before, both answered from the cache.
#[test]
fn rd0_is_refused_by_default_even_when_cached() {
    for fast in [true, false] {
        let mut net = Net::new(recursive_config());
        net.engine.set_fast_path(fast);
        let r = net.ask("www.example.com.", RecordType::A);
        assert_eq!(ips(&r), ["192.0.2.1"]);
        let before = net.log.len();
        let r = net.ask_as(client(), &rd0(6, "www.example.com."));
        assert_eq!(r.response_code, ResponseCode::Refused, "fast path {fast}");
        assert_eq!(ede(&r), Some(18), "fast path {fast}");
        assert!(r.answers.is_empty());
        assert!(!r.recursion_desired);
        assert_eq!(net.log.len(), before);
    }
}

/// Item 18: `allow_snoop` (`--allow-snoop`) restores answering RD=0 from the cache;
/// with nothing cached it is still REFUSED (we are not authoritative).
#[test]
fn rd0_with_allow_snoop_is_answered_from_cache_only() {
    let mut cfg = recursive_config();
    cfg.allow_snoop = true;
    let mut net = Net::new(cfg);
    let r = net.ask_as(client(), &rd0(6, "www.example.com."));
    assert_eq!(r.response_code, ResponseCode::Refused);
    assert_eq!(ede(&r), Some(20));
    assert!(net.log.is_empty());
    net.ask("www.example.com.", RecordType::A);
    let before = net.log.len();
    let r = net.ask_as(client(), &rd0(7, "www.example.com."));
    assert_eq!(r.response_code, ResponseCode::NoError);
    assert_eq!(ips(&r), ["192.0.2.1"]);
    assert_eq!(net.log.len(), before);
}

/// Item 19: one client floods names under a black-holed zone; each query holds a
/// client slot for the whole query timeout. With `max_client_queries` 16 the flood
/// held all 16 and a second client's query (to a healthy zone) was SERVFAIL
/// ("too many client queries in flight"). Now one client prefix (/32, /64) holds at
/// most a quarter of the slots (at least 4): the rest of its flood is SERVFAIL at
/// once, and the other client is answered.
#[test]
fn one_client_cannot_take_every_client_slot() {
    let mut cfg = recursive_config();
    cfg.limits.max_client_queries = 16;
    let mut net = Net::new(cfg);
    net.server(NS1_EXAMPLE).behavior = Behavior::Drop;
    net.server(NS2_EXAMPLE).behavior = Behavior::Drop;
    let flood = 16;
    for i in 0..flood {
        let c = udp(&format!("192.168.1.66:{}", 10_000 + i));
        let name = format!("x{i}.example.com.");
        net.send_from(c, &query_bytes(i, &name, RecordType::A, Some(1232)));
    }
    let refused_at_once: Vec<_> = net
        .replies
        .iter()
        .map(|(_, b)| Message::from_vec(b).unwrap())
        .collect();
    let share = 16 / 4;
    assert_eq!(refused_at_once.len(), usize::from(flood) - share);
    assert!(
        refused_at_once
            .iter()
            .all(|m| m.response_code == ResponseCode::ServFail && ede(m) == Some(0))
    );
    let r = net.ask_as(
        udp("192.168.1.77:5353"),
        &query_bytes(99, "www.example.net.", RecordType::A, Some(1232)),
    );
    assert_eq!(r.response_code, ResponseCode::NoError);
    assert_eq!(ips(&r), ["192.0.2.2"]);
    // IPv6 clients share by /64: another address in the same /64 is the same client.
    let mut cfg = recursive_config();
    cfg.limits.max_client_queries = 16;
    let mut net = Net::new(cfg);
    net.server(NS1_EXAMPLE).behavior = Behavior::Drop;
    net.server(NS2_EXAMPLE).behavior = Behavior::Drop;
    for i in 0..8u16 {
        let c = udp(&format!("[fd00:1:2:3::{:x}]:5353", i + 1));
        let name = format!("y{i}.example.com.");
        net.send_from(c, &query_bytes(i, &name, RecordType::A, Some(1232)));
    }
    assert_eq!(net.replies.len(), 8 - share);
    let r = net.ask_as(
        udp("[fd00:1:2:4::1]:5353"),
        &query_bytes(99, "www.example.net.", RecordType::A, Some(1232)),
    );
    assert_eq!(ips(&r), ["192.0.2.2"]);
}

/// The first upstream query's (ID, local port) of a fresh engine after `mix`.
fn first_query(seed: [u8; 32], mix: &[&[u8]]) -> (Vec<u8>, u16) {
    let mut cfg = recursive_config();
    cfg.use_0x20 = false;
    let mut e = Engine::new(cfg, seed);
    for m in mix {
        e.mix_entropy(m);
    }
    let c = client();
    let now = Instant::from_nanos(1_000_000_000);
    e.handle_query(
        now,
        c,
        &query_bytes(1, "www.example.com.", RecordType::A, None),
    );
    loop {
        match e.poll_transmit().expect("an upstream query") {
            Transmit::ToServer {
                local_port,
                payload,
                ..
            } => return (payload[..2].to_vec(), local_port),
            Transmit::ToClient { .. } => {}
        }
    }
}

/// Item 20: entropy mixed in after boot changes every draw that follows (query ID and
/// source port), deterministically: the same seed and the same inputs replay the same
/// run, a different input (or none) gives another. Before, the boot seed was all there
/// ever was.
#[test]
fn mixed_entropy_rekeys_the_generator() {
    let seed = [7; 32];
    let plain = first_query(seed, &[]);
    let a = first_query(seed, &[b"arrival 1234567"]);
    let a2 = first_query(seed, &[b"arrival 1234567"]);
    let b = first_query(seed, &[b"arrival 1234568"]);
    let ab = first_query(seed, &[b"arrival 1234567", b"arrival 1234568"]);
    assert_eq!(a, a2, "deterministic");
    assert_ne!(plain, a);
    assert_ne!(a, b);
    assert_ne!(a, ab);
    assert_ne!(b, ab);
    // An empty input still moves the key forward (it hashes the generator's output).
    assert_ne!(plain, first_query(seed, &[b""]));
}

/// Item 19: a client at its share that retransmits a query already waiting gets no
/// SERVFAIL for it (the answer is on its way), and once its queries are answered its
/// share is free again.
#[test]
fn client_share_spares_retransmissions_and_frees_up() {
    let mut cfg = recursive_config();
    cfg.limits.max_client_queries = 16;
    let mut net = Net::new(cfg);
    net.server(NS1_EXAMPLE).behavior = Behavior::Drop;
    net.server(NS2_EXAMPLE).behavior = Behavior::Drop;
    let c = |i: u16| udp(&format!("192.168.1.66:{}", 20_000 + i));
    for i in 0..4 {
        let name = format!("z{i}.example.com.");
        net.send_from(c(i), &query_bytes(i, &name, RecordType::A, Some(1232)));
    }
    assert!(net.replies.is_empty());
    // A retransmission of the first: nothing (not a new query, not over the share).
    net.send_from(
        c(0),
        &query_bytes(0, "z0.example.com.", RecordType::A, Some(1232)),
    );
    assert!(net.replies.is_empty());
    // A fifth query: over the share.
    net.send_from(
        c(4),
        &query_bytes(4, "z4.example.com.", RecordType::A, Some(1232)),
    );
    assert_eq!(net.replies.len(), 1);
    // The four time out (SERVFAIL); then the client has its share back.
    net.drive_bounded(10_000);
    assert_eq!(net.replies.len(), 5);
    net.server(NS1_EXAMPLE).behavior = Behavior::Normal;
    let r = net.ask_as(
        c(5),
        &query_bytes(5, "www.example.com.", RecordType::A, Some(1232)),
    );
    assert_eq!(ips(&r), ["192.0.2.1"]);
}
