//! Timeouts, retries, SRTT server choice, TCP fallback, EDNS fallback, serve-stale,
//! prefetch.

use std::time::Duration;

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;

use crate::sim::*;
use engine::EngineConfig;

#[test]
fn dead_server_times_out_and_the_other_answers() {
    let mut net = Net::new(recursive_config());
    net.server(NS1_EXAMPLE).behavior = Behavior::Drop;
    let r = net.ask("www.example.com.", RecordType::A);
    assert_eq!(ips(&r), ["192.0.2.1"]);
    // Later queries prefer the server that answers (SRTT).
    net.ask("alias.example.com.", RecordType::A);
    let before = net.log.len();
    net.ask("nope.example.com.", RecordType::A);
    let t = net.traffic(before);
    assert_eq!(t.len(), 1, "{t:?}");
    assert_eq!(t[0].0, NS2_EXAMPLE);
}

#[test]
fn all_servers_dead_gives_bounded_servfail() {
    let mut net = Net::new(EngineConfig {
        serve_stale: None,
        ..recursive_config()
    });
    net.server(NS1_EXAMPLE).behavior = Behavior::Drop;
    net.server(NS2_EXAMPLE).behavior = Behavior::Drop;
    let start = net.now;
    let r = net.ask("www.example.com.", RecordType::A);
    assert_eq!(r.response_code, ResponseCode::ServFail);
    assert_eq!(ede(&r), Some(22));
    let to_example = net
        .traffic(0)
        .iter()
        .filter(|q| q.0.starts_with("192.0.2.5"))
        .count();
    assert_eq!(to_example, 4, "each server tried twice");
    assert!(net.now.saturating_duration_since(start) <= Duration::from_secs(10));
    assert!(net.engine.stats().timeouts >= 4);
    assert_eq!(net.engine.poll_timeout(), None, "nothing left in flight");
}

#[test]
fn servfail_from_a_server_moves_on() {
    let mut net = Net::new(recursive_config());
    net.server(NS1_EXAMPLE).behavior = Behavior::Rcode(ResponseCode::ServFail);
    net.server(NS2_EXAMPLE).behavior = Behavior::Rcode(ResponseCode::Refused);
    let r = net.ask("www.example.com.", RecordType::A);
    assert_eq!(r.response_code, ResponseCode::ServFail);
    assert!(net.log.len() <= 8);
}

#[test]
fn rfc7766_truncated_udp_retried_over_tcp() {
    let mut net = Net::new(recursive_config());
    net.server(NS1_EXAMPLE).behavior = Behavior::TruncateUdp;
    net.server(NS2_EXAMPLE).behavior = Behavior::TruncateUdp;
    let r = net.ask("www.example.com.", RecordType::A);
    assert_eq!(ips(&r), ["192.0.2.1"]);
    let last = net.log.last().unwrap();
    assert!(last.tcp);
    assert_eq!(net.engine.stats().upstream_tcp, 1);
}

#[test]
fn rfc6891_retry_without_edns_on_formerr() {
    let mut net = Net::new(recursive_config());
    net.server(NS1_EXAMPLE).behavior = Behavior::FormErrOnEdns;
    net.server(NS2_EXAMPLE).behavior = Behavior::Drop;
    let r = net.ask("www.example.com.", RecordType::A);
    assert_eq!(ips(&r), ["192.0.2.1"]);
    let last = net.log.last().unwrap();
    assert!(!last.edns);
    assert_eq!(last.server.ip().to_string(), NS1_EXAMPLE);
    // The server is remembered as EDNS-less.
    let before = net.log.len();
    net.ask("alias.example.com.", RecordType::A);
    let to_ns1: Vec<_> = net.log[before..]
        .iter()
        .filter(|s| s.server.ip().to_string() == NS1_EXAMPLE)
        .collect();
    assert_eq!(to_ns1.len(), 1);
    assert!(!to_ns1[0].edns);
}

#[test]
fn rfc8767_serve_stale_when_authorities_are_unreachable() {
    let mut net = Net::new(EngineConfig {
        prefetch: false,
        // Serve-stale is off by default, as at boot.
        serve_stale: Some(Duration::from_secs(86_400)),
        ..recursive_config()
    });
    net.ask("www.example.com.", RecordType::A);
    net.advance(Duration::from_secs(400));
    net.server(NS1_EXAMPLE).behavior = Behavior::Drop;
    net.server(NS2_EXAMPLE).behavior = Behavior::Drop;
    let r = net.ask("www.example.com.", RecordType::A);
    assert_eq!(r.response_code, ResponseCode::NoError);
    assert_eq!(ips(&r), ["192.0.2.1"]);
    assert_eq!(r.answers[0].ttl, 30);
    assert_eq!(ede(&r), Some(3));
    assert_eq!(net.engine.stats().stale_served, 1);
}

#[test]
fn prefetch_refreshes_popular_records_before_expiry() {
    let mut net = Net::new(recursive_config());
    net.ask("www.example.com.", RecordType::A);
    net.advance(Duration::from_secs(280)); // 20 s of 300 left: inside the last 10 %
    let before = net.log.len();
    let r = net.ask("www.example.com.", RecordType::A);
    assert_eq!(r.answers[0].ttl, 20, "answered from cache at once");
    assert_eq!(net.engine.stats().prefetches, 1);
    assert_eq!(net.traffic(before).len(), 1, "one refresh query");
    net.advance(Duration::from_secs(30));
    let before = net.log.len();
    let r = net.ask("www.example.com.", RecordType::A);
    assert_eq!(net.log.len(), before, "refreshed entry still fresh");
    assert!(r.answers[0].ttl > 250);
}

#[test]
fn upstream_error_moves_to_the_next_server_at_once() {
    let mut net = Net::new(recursive_config());
    net.server(NS1_EXAMPLE).behavior = Behavior::Drop;
    net.server(NS2_EXAMPLE).behavior = Behavior::Drop;
    net.send_from(
        client(),
        &query_bytes(1, "www.example.com.", RecordType::A, None),
    );
    // Deliver root and gTLD referrals.
    while !net
        .log
        .last()
        .unwrap()
        .server
        .ip()
        .to_string()
        .starts_with("192.0.2.5")
    {
        assert!(net.step());
    }
    let s = net.log.last().unwrap().clone();
    let n = net.log.len();
    // A connect failure / ICMP unreachable for a different port is ignored…
    net.engine
        .handle_upstream_error(net.now, s.server, s.local_port ^ 1, engine::Transport::Udp);
    assert_eq!(net.engine.poll_transmit(), None);
    // …for the right one the engine moves on without waiting for the timeout.
    let t0 = net.now;
    net.engine
        .handle_upstream_error(net.now, s.server, s.local_port, engine::Transport::Udp);
    net.advance(Duration::ZERO);
    assert_eq!(net.log.len(), n + 1);
    assert_ne!(net.log[n].server, s.server);
    assert_eq!(net.log[n].at, t0);
}

#[test]
fn renumbered_zone_is_found_again_through_the_parent() {
    let mut net = Net::new(EngineConfig {
        serve_stale: None,
        ..recursive_config()
    });
    net.ask("www.example.com.", RecordType::A);
    // example.com moves to a new server; the old addresses go dark. The cached
    // delegation (NS + glue) is still fresh.
    let new_ip = "192.0.2.200";
    let zone = {
        let s = net.server(NS1_EXAMPLE);
        Zone::new("example.com.", s.zones[0].records.clone())
    };
    net.servers.insert(
        new_ip.parse().unwrap(),
        Server {
            ip: new_ip.parse().unwrap(),
            zones: vec![zone],
            behavior: Behavior::Normal,
        },
    );
    net.server(NS1_EXAMPLE).behavior = Behavior::Drop;
    net.server(NS2_EXAMPLE).behavior = Behavior::Drop;
    for r in &mut net.server(GTLD).zones[0].records {
        if r.record_type() == RecordType::A {
            r.data =
                hickory_proto::rr::RData::A(hickory_proto::rr::rdata::A(new_ip.parse().unwrap()));
        }
    }
    let before = net.log.len();
    let r = net.ask("alias.example.com.", RecordType::A);
    assert_eq!(ips(&r), ["192.0.2.1"]);
    let t = net.traffic(before);
    assert!(
        t.iter().any(|q| q.0 == GTLD),
        "asked the parent again: {t:?}"
    );
    assert_eq!(t.last().unwrap().0, new_ip);
}

#[test]
fn srtt_prefers_the_faster_server() {
    let mut net = Net::new(recursive_config());
    net.server_latency
        .insert(NS1_EXAMPLE.parse().unwrap(), Duration::from_millis(200));
    net.server_latency
        .insert(NS2_EXAMPLE.parse().unwrap(), Duration::from_millis(5));
    // Let the engine meet both servers.
    for i in 0..4 {
        net.ask(&format!("warm{i}.example.com."), RecordType::A);
    }
    let before = net.log.len();
    for i in 0..10 {
        net.ask(&format!("n{i}.example.com."), RecordType::A);
    }
    let t = net.traffic(before);
    let fast = t.iter().filter(|q| q.0 == NS2_EXAMPLE).count();
    assert!(fast >= 9, "{fast} of {} to the fast server", t.len());
}

#[test]
fn lossy_links_still_resolve_within_the_budget() {
    let mut net = Net::new(recursive_config());
    net.loss_permille = 300;
    let mut ok = 0;
    for i in 0..20 {
        let r = net.ask(&format!("n{i}.example.com."), RecordType::A);
        if r.response_code == ResponseCode::NXDomain {
            ok += 1;
        }
    }
    assert!(ok >= 15, "{ok}/20 resolved with 30 % loss");
    assert!(net.engine.stats().timeouts > 0);
}

#[test]
fn small_udp_limit_forces_tcp_for_big_answers() {
    let mut net = Net::new(recursive_config());
    net.udp_limit = 512;
    let r = net.ask("big.example.com.", RecordType::TXT);
    assert_eq!(r.answers.len(), 3);
    assert!(net.log.last().unwrap().tcp);
}
