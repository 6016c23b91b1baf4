//! Every cap gets hit: concurrent client queries, resolutions, cache bytes, transmit
//! queue, waiters per resolution, upstream queries per client query.

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;

use crate::sim::*;
use engine::{Client, EngineConfig, Limits, Transport};

fn c(i: u32) -> Client {
    Client {
        addr: std::net::SocketAddr::new(
            std::net::IpAddr::V4(std::net::Ipv4Addr::from(0x0a00_0000 + i)),
            1000,
        ),
        transport: Transport::Udp,
    }
}

#[test]
fn max_client_queries_sheds_with_servfail() {
    let mut net = Net::new(EngineConfig {
        limits: Limits {
            max_client_queries: 2,
            ..Limits::default()
        },
        ..recursive_config()
    });
    for i in 0..3 {
        net.send_from(
            c(i),
            &query_bytes(1, &format!("n{i}.example.com."), RecordType::A, None),
        );
    }
    assert_eq!(net.replies.len(), 1, "the third is refused at once");
    let shed = hickory_proto::op::Message::from_vec(&net.replies[0].1).unwrap();
    assert_eq!(shed.response_code, ResponseCode::ServFail);
    net.drive_bounded(1000);
    assert_eq!(net.replies.len(), 3);
}

#[test]
fn max_waiters_per_resolution() {
    let mut net = Net::new(EngineConfig {
        limits: Limits {
            max_waiters_per_resolution: 2,
            ..Limits::default()
        },
        ..recursive_config()
    });
    for i in 0..3 {
        net.send_from(
            c(i),
            &query_bytes(1, "www.example.com.", RecordType::A, None),
        );
    }
    assert_eq!(net.replies.len(), 1);
    net.drive_bounded(1000);
    assert_eq!(net.replies.len(), 3);
}

#[test]
fn max_resolutions_caps_the_table() {
    let mut net = Net::new(EngineConfig {
        limits: Limits {
            max_resolutions: 1,
            ..Limits::default()
        },
        ..recursive_config()
    });
    net.send_from(
        c(1),
        &query_bytes(1, "a1.example.com.", RecordType::A, None),
    );
    net.send_from(
        c(2),
        &query_bytes(2, "a2.example.com.", RecordType::A, None),
    );
    assert_eq!(net.replies.len(), 1);
    assert_eq!(net.engine.stats().in_flight_resolutions, 1);
}

#[test]
fn upstream_budget_per_query() {
    let mut net = Net::new(EngineConfig {
        limits: Limits {
            max_upstream_per_query: 2,
            ..Limits::default()
        },
        ..recursive_config()
    });
    let r = net.ask("www.example.com.", RecordType::A);
    assert_eq!(r.response_code, ResponseCode::ServFail);
    assert_eq!(net.log.len(), 2);
}

#[test]
fn referral_limit() {
    let mut net = Net::new(EngineConfig {
        limits: Limits {
            max_referrals: 1,
            ..Limits::default()
        },
        ..recursive_config()
    });
    let r = net.ask("www.example.com.", RecordType::A);
    assert_eq!(r.response_code, ResponseCode::ServFail);
}

#[test]
fn cache_byte_cap_evicts() {
    let mut net = Net::new(EngineConfig {
        cache_bytes: 2_000,
        ..recursive_config()
    });
    for i in 0..20 {
        net.ask(&format!("n{i}.example.com."), RecordType::A);
        assert!(net.engine.stats().cache_bytes <= 2_000);
    }
    assert!(net.engine.stats().cache_evictions > 0);
    // Still resolves correctly with a tiny cache.
    let before = net.log.len();
    let r = net.ask("www.example.com.", RecordType::A);
    assert_eq!(
        ips(&r),
        ["192.0.2.1"],
        "{r} {:?} {:?}",
        net.traffic(before),
        net.engine.stats()
    );
}

#[test]
fn zero_byte_cache_still_resolves() {
    let mut net = Net::new(EngineConfig {
        cache_bytes: 0,
        ..recursive_config()
    });
    let r = net.ask("ext.example.com.", RecordType::A);
    assert_eq!(ips(&r), ["192.0.2.2"]);
    assert_eq!(net.engine.stats().cache_entries, 0);
}

#[test]
fn transmit_queue_cap() {
    let mut net = Net::new(EngineConfig {
        limits: Limits {
            max_transmit_queue: 3,
            ..Limits::default()
        },
        ..recursive_config()
    });
    for i in 0..5 {
        net.engine.handle_query(
            net.now,
            c(i),
            &query_bytes(1, "example.com.", RecordType::ANY, None),
        );
    }
    assert_eq!(net.engine.stats().transmit_dropped, 2);
}

fn rcode(reply: &(Client, Vec<u8>)) -> ResponseCode {
    hickory_proto::op::Message::from_vec(&reply.1)
        .unwrap()
        .response_code
}

#[test]
fn upstream_in_flight_cap_makes_the_next_resolution_wait() {
    let mut net = Net::new(EngineConfig {
        limits: Limits {
            max_upstream_in_flight: 1,
            ..Limits::default()
        },
        ..recursive_config()
    });
    net.send_from(
        c(1),
        &query_bytes(1, "a1.example.com.", RecordType::A, None),
    );
    net.send_from(
        c(2),
        &query_bytes(2, "a2.example.com.", RecordType::A, None),
    );
    assert_eq!(net.engine.stats().in_flight_upstream, 1);
    assert_eq!(net.engine.stats().waiting, 1);
    assert!(net.replies.is_empty(), "nobody is refused");
    net.drive_bounded(1000);
    let rcodes: Vec<_> = net.replies.iter().map(rcode).collect();
    assert_eq!(rcodes, [ResponseCode::NXDomain, ResponseCode::NXDomain]);
    assert_eq!(net.engine.stats().waiting, 0);
}

#[test]
fn max_in_flight_per_server_queues_the_excess() {
    let mut net = Net::new(EngineConfig {
        limits: Limits {
            max_in_flight_per_server: 1,
            ..Limits::default()
        },
        ..recursive_config()
    });
    net.send_from(
        c(1),
        &query_bytes(1, "a1.example.com.", RecordType::A, None),
    );
    net.send_from(
        c(2),
        &query_bytes(2, "a2.example.com.", RecordType::A, None),
    );
    // Only one query may be outstanding at the single root server; the second
    // resolution waits for it instead of failing.
    assert_eq!(net.log.len(), 1);
    assert!(net.replies.is_empty());
    assert_eq!(net.engine.stats().waiting, 1);
    net.drive_bounded(1000);
    let rcodes: Vec<_> = net.replies.iter().map(rcode).collect();
    assert_eq!(rcodes, [ResponseCode::NXDomain, ResponseCode::NXDomain]);
    assert_eq!(net.engine.stats().servfail, 0);
    assert!(net.engine.stats().waited >= 1);
    // Never two at once at one server.
    for s in &net.log {
        let overlapping = net
            .log
            .iter()
            .filter(|o| {
                o.server == s.server && o.at <= s.at && s.at < o.at.saturating_add(net.latency)
            })
            .count();
        assert_eq!(overlapping, 1, "{s:?}");
    }
}

#[test]
fn max_waiting_resolutions_sheds_with_servfail() {
    let mut net = Net::new(EngineConfig {
        limits: Limits {
            max_in_flight_per_server: 1,
            max_waiting_resolutions: 1,
            ..Limits::default()
        },
        ..recursive_config()
    });
    for i in 0..3 {
        net.send_from(
            c(i),
            &query_bytes(1, &format!("n{i}.example.com."), RecordType::A, None),
        );
    }
    // One sent, one waiting, the third finds the queue full: SERVFAIL at once.
    assert_eq!(net.replies.len(), 1, "the third is refused at once");
    assert_eq!(net.replies[0].0, c(2));
    assert_eq!(rcode(&net.replies[0]), ResponseCode::ServFail);
    assert_eq!(net.engine.stats().wait_queue_full, 1);
    assert_eq!(net.engine.stats().waiting, 1);
    net.drive_bounded(1000);
    let rcodes: Vec<_> = net.replies[1..].iter().map(rcode).collect();
    assert_eq!(rcodes, [ResponseCode::NXDomain, ResponseCode::NXDomain]);
}

#[test]
fn waiting_resolution_still_coalesces_duplicates() {
    let mut net = Net::new(EngineConfig {
        limits: Limits {
            max_in_flight_per_server: 1,
            ..Limits::default()
        },
        ..recursive_config()
    });
    net.send_from(
        c(1),
        &query_bytes(1, "a1.example.com.", RecordType::A, None),
    );
    net.send_from(
        c(2),
        &query_bytes(2, "www.example.com.", RecordType::A, None),
    );
    assert_eq!(net.engine.stats().waiting, 1);
    // The same question from another client joins the waiting resolution.
    net.send_from(
        c(3),
        &query_bytes(3, "www.example.com.", RecordType::A, None),
    );
    assert_eq!(net.engine.stats().waiting, 1);
    assert_eq!(net.engine.stats().coalesced, 1);
    net.drive_bounded(1000);
    assert_eq!(net.replies.len(), 3);
    for r in &net.replies[1..] {
        let m = hickory_proto::op::Message::from_vec(&r.1).unwrap();
        assert_eq!(ips(&m), ["192.0.2.1"]);
    }
    // One query per server on the way down: root, gTLD, one example.com server.
    let www: Vec<_> = net
        .log
        .iter()
        .filter(|s| s.qname.to_lowercase() == n("www.example.com."))
        .collect();
    assert_eq!(www.len(), 3, "{www:?}");
}

#[test]
fn waiting_resolution_fails_at_its_deadline() {
    let timeout = std::time::Duration::from_secs(2);
    let mut net = Net::new(EngineConfig {
        serve_stale: None,
        limits: Limits {
            max_in_flight_per_server: 1,
            query_timeout: timeout,
            ..Limits::default()
        },
        ..recursive_config()
    });
    net.server(ROOT).behavior = Behavior::Drop;
    let start = net.now;
    for i in 0..3 {
        net.send_from(
            c(i),
            &query_bytes(1, &format!("n{i}.example.com."), RecordType::A, None),
        );
    }
    assert_eq!(net.engine.stats().waiting, 2);
    net.drive_bounded(1000);
    let rcodes: Vec<_> = net.replies.iter().map(rcode).collect();
    assert_eq!(rcodes, [ResponseCode::ServFail; 3]);
    assert!(net.now.saturating_duration_since(start) <= timeout);
    assert_eq!(net.engine.stats().waiting, 0);
    assert_eq!(net.engine.poll_timeout(), None);
}

#[test]
fn burst_of_unique_names_waits_for_slots_instead_of_servfail() {
    // The torture run's unique-name flood in small: 300 cache misses in one zone at
    // once, against two servers with 32 slots each. (More than the default 256 client
    // queries at once: this is about upstream slots, not the client cap.)
    let mut net = Net::new(EngineConfig {
        limits: Limits {
            max_client_queries: 512,
            ..Limits::default()
        },
        ..recursive_config()
    });
    net.ask("www.example.com.", RecordType::A);
    let before = net.replies.len();
    for i in 0..300 {
        net.send_from(
            c(i),
            &query_bytes(1, &format!("u{i}.example.com."), RecordType::A, None),
        );
    }
    let cap = Limits::default().max_in_flight_per_server;
    for _ in 0..10_000 {
        assert!(net.engine.stats().in_flight_upstream <= 2 * u64::from(cap));
        if !net.step() {
            break;
        }
    }
    let answers = &net.replies[before..];
    assert_eq!(answers.len(), 300);
    let servfail = answers
        .iter()
        .filter(|r| rcode(r) == ResponseCode::ServFail)
        .count();
    assert_eq!(servfail, 0, "{:?}", net.engine.stats());
    assert!(net.engine.stats().waited > 0);
}

#[test]
fn max_ns_per_delegation_keeps_only_the_first_names() {
    let mut net = Net::new(EngineConfig {
        serve_stale: None,
        limits: Limits {
            max_ns_per_delegation: 1,
            ..Limits::default()
        },
        ..recursive_config()
    });
    net.server(NS1_EXAMPLE).behavior = Behavior::Drop;
    let r = net.ask("www.example.com.", RecordType::A);
    assert_eq!(r.response_code, ResponseCode::ServFail);
    assert!(
        !net.log
            .iter()
            .any(|s| s.server.ip().to_string() == NS2_EXAMPLE)
    );
}

#[test]
fn max_cname_chain() {
    let mut net = Net::new(EngineConfig {
        limits: Limits {
            max_cname_chain: 0,
            ..Limits::default()
        },
        ..recursive_config()
    });
    let r = net.ask("alias.example.com.", RecordType::A);
    assert_eq!(r.response_code, ResponseCode::ServFail);
    let before = net.log.len();
    let r = net.ask("www.example.com.", RecordType::A);
    assert_eq!(
        ips(&r),
        ["192.0.2.1"],
        "{r} {:?} {:?}",
        net.traffic(before),
        net.engine.stats()
    );
}

#[test]
fn server_table_cap_of_one_still_resolves() {
    let mut net = Net::new(EngineConfig {
        limits: Limits {
            max_server_entries: 1,
            ..Limits::default()
        },
        ..recursive_config()
    });
    let r = net.ask("www.glueless.com.", RecordType::A);
    assert_eq!(ips(&r), ["192.0.2.3"]);
}

#[test]
fn query_timeout_bounds_total_time() {
    let mut net = Net::new(EngineConfig {
        serve_stale: None,
        limits: Limits {
            query_timeout: std::time::Duration::from_millis(500),
            ..Limits::default()
        },
        ..recursive_config()
    });
    net.server(NS1_EXAMPLE).behavior = Behavior::Drop;
    net.server(NS2_EXAMPLE).behavior = Behavior::Drop;
    let start = net.now;
    let r = net.ask("www.example.com.", RecordType::A);
    assert_eq!(r.response_code, ResponseCode::ServFail);
    assert!(net.now.saturating_duration_since(start) <= std::time::Duration::from_millis(500));
}

#[test]
fn extreme_limits_do_not_overflow() {
    let mut net = Net::new(EngineConfig {
        limits: Limits {
            max_cname_chain: u8::MAX,
            max_referrals: u8::MAX,
            max_subquery_depth: u8::MAX,
            max_ns_resolutions_per_delegation: u8::MAX,
            max_upstream_per_query: u16::MAX,
            max_in_flight_per_server: u16::MAX,
            ..Limits::default()
        },
        ..recursive_config()
    });
    let r = net.ask("loop1.example.com.", RecordType::A);
    assert_eq!(r.response_code, ResponseCode::ServFail);
    let r = net.ask("www.glueless.com.", RecordType::A);
    assert_eq!(ips(&r), ["192.0.2.3"]);
}
