//! RFC 1034 §5.3.3 iterative resolution: referrals with glue, CNAME chasing, cache.

use std::time::Duration;

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;

use crate::sim::*;
use engine::EngineConfig;

#[test]
fn rfc1034_referrals_with_glue() {
    let mut net = Net::new(recursive_config());
    let r = net.ask("www.example.com.", RecordType::A);
    assert_eq!(r.response_code, ResponseCode::NoError);
    assert_eq!(ips(&r), ["192.0.2.1"]);
    assert!(!r.authoritative);
    let t = net.traffic(0);
    assert_eq!(t.len(), 3, "{t:?}");
    assert_eq!(t[0].0, ROOT);
    assert_eq!(t[1].0, GTLD);
    assert!(t[2].0 == NS1_EXAMPLE || t[2].0 == NS2_EXAMPLE);
    assert!(
        t.iter()
            .all(|q| q.1 == "www.example.com." && q.2 == RecordType::A)
    );
    assert!(net.log.iter().all(|s| s.edns && !s.rd && !s.tcp));
}

#[test]
fn cache_hit_needs_no_traffic_and_ttl_counts_down() {
    let mut net = Net::new(recursive_config());
    let r = net.ask("www.example.com.", RecordType::A);
    assert_eq!(r.answers[0].ttl, 300);
    let before = net.log.len();
    net.advance(Duration::from_secs(100));
    let r = net.ask("www.example.com.", RecordType::A);
    assert_eq!(net.log.len(), before);
    assert_eq!(r.answers[0].ttl, 200);
    assert_eq!(net.engine.stats().cache_hits, 1);
    // A sibling name reuses the cached delegation: straight to example.com's servers.
    let before = net.log.len();
    net.ask("alias.example.com.", RecordType::A);
    let t = net.traffic(before);
    assert_eq!(t.len(), 1, "{t:?}");
    assert!(t[0].0 == NS1_EXAMPLE || t[0].0 == NS2_EXAMPLE);
}

#[test]
fn expired_records_are_fetched_again() {
    let mut net = Net::new(EngineConfig {
        serve_stale: None,
        prefetch: false,
        ..recursive_config()
    });
    net.ask("www.example.com.", RecordType::A);
    let before = net.log.len();
    net.advance(Duration::from_secs(301));
    let r = net.ask("www.example.com.", RecordType::A);
    assert_eq!(ips(&r), ["192.0.2.1"]);
    assert_eq!(net.traffic(before).len(), 1, "delegation still cached");
}

#[test]
fn cname_inside_zone_answered_in_one_response() {
    let mut net = Net::new(recursive_config());
    let r = net.ask("alias.example.com.", RecordType::A);
    assert_eq!(r.answers.len(), 2);
    assert_eq!(r.answers[0].record_type(), RecordType::CNAME);
    assert_eq!(ips(&r), ["192.0.2.1"]);
    assert_eq!(net.traffic(0).len(), 3);
}

#[test]
fn cname_chased_across_zones() {
    let mut net = Net::new(recursive_config());
    let r = net.ask("ext.example.com.", RecordType::A);
    assert_eq!(r.response_code, ResponseCode::NoError);
    assert_eq!(r.answers[0].record_type(), RecordType::CNAME);
    assert_eq!(ips(&r), ["192.0.2.2"]);
    let t = net.traffic(0);
    assert!(
        t.iter()
            .any(|q| q.0 == NS_EXAMPLE_NET && q.1 == "www.example.net."),
        "{t:?}"
    );
    // The chain is cached: asked again, no traffic.
    let before = net.log.len();
    let r = net.ask("ext.example.com.", RecordType::A);
    assert_eq!(ips(&r), ["192.0.2.2"]);
    assert_eq!(net.log.len(), before);
}

#[test]
fn cname_loop_ends_in_servfail() {
    let mut net = Net::new(recursive_config());
    let r = net.ask("loop1.example.com.", RecordType::A);
    assert_eq!(r.response_code, ResponseCode::ServFail);
    assert!(net.log.len() < 30);
}

#[test]
fn rfc6672_dname_is_followed() {
    let mut net = Net::new(recursive_config());
    let r = net.ask("www.old.example.com.", RecordType::A);
    assert_eq!(r.response_code, ResponseCode::NoError, "{r}");
    assert_eq!(ips(&r), ["192.0.2.2"]);
    assert!(
        r.answers
            .iter()
            .any(|a| a.record_type() == RecordType::CNAME)
    );
}

#[test]
fn upstream_queries_use_random_ids_ports_and_0x20() {
    let mut net = Net::new(recursive_config());
    net.ask("www.example.com.", RecordType::A);
    net.ask("ext.example.com.", RecordType::A);
    let ids: std::collections::BTreeSet<u16> = net.log.iter().map(|s| s.id).collect();
    let ports: std::collections::BTreeSet<u16> = net.log.iter().map(|s| s.local_port).collect();
    assert_eq!(ids.len(), net.log.len());
    assert_eq!(ports.len(), net.log.len());
    let mixed = net
        .log
        .iter()
        .filter(|s| s.qname.to_ascii() != s.qname.to_lowercase().to_ascii())
        .count();
    assert!(mixed >= net.log.len() / 2, "0x20 should randomise case");
}

#[test]
fn rfc9156_qname_minimisation_reveals_one_label_at_a_time() {
    let mut net = Net::new(EngineConfig {
        qname_minimisation: true,
        ..recursive_config()
    });
    let r = net.ask("a.b.c.example.com.", RecordType::A);
    assert_eq!(ips(&r), ["192.0.2.9"]);
    let t = net.traffic(0);
    assert_eq!(t[0], (ROOT.to_string(), "com.".to_string(), RecordType::A));
    assert_eq!(
        t[1],
        (GTLD.to_string(), "example.com.".to_string(), RecordType::A)
    );
    assert_eq!(t[2].1, "c.example.com.");
    assert_eq!(t[3].1, "b.c.example.com.");
    assert_eq!(t.last().unwrap().1, "a.b.c.example.com.");
    assert_eq!(t.last().unwrap().2, RecordType::A);
    // The root never saw more than the TLD.
    assert!(t.iter().filter(|q| q.0 == ROOT).all(|q| q.1 == "com."));
}

#[test]
fn qname_minimisation_relaxed_on_nxdomain() {
    let mut net = Net::new(EngineConfig {
        qname_minimisation: true,
        ..recursive_config()
    });
    let r = net.ask("nope.example.com.", RecordType::A);
    assert_eq!(r.response_code, ResponseCode::NXDomain);
    let r = net.ask("www.example.com.", RecordType::AAAA);
    assert_eq!(r.response_code, ResponseCode::NoError);
    assert!(r.answers.is_empty());
}

#[test]
fn coalescing_sends_one_resolution_for_identical_questions() {
    let mut net = Net::new(recursive_config());
    let clients: Vec<_> = (0..3)
        .map(|i| engine::Client {
            addr: format!("192.168.1.{}:5000", 20 + i).parse().unwrap(),
            transport: engine::Transport::Udp,
        })
        .collect();
    for c in &clients {
        net.send_from(
            *c,
            &query_bytes(77, "www.example.com.", RecordType::A, None),
        );
    }
    net.drive_bounded(1000);
    assert_eq!(net.replies.len(), 3);
    for c in &clients {
        assert!(net.replies.iter().any(|(cl, _)| cl == c));
    }
    assert_eq!(net.traffic(0).len(), 3);
    assert_eq!(net.engine.stats().coalesced, 2);
}

#[test]
fn retransmitted_query_is_not_answered_twice() {
    let mut net = Net::new(recursive_config());
    let q = query_bytes(78, "www.example.com.", RecordType::A, None);
    net.send_from(client(), &q);
    net.send_from(client(), &q);
    net.drive_bounded(1000);
    assert_eq!(net.replies.len(), 1);
}

#[test]
fn cached_cname_loop_is_bounded_too() {
    let mut net = Net::new(recursive_config());
    // Cache both halves of the loop, then ask again: the cache walk must stop.
    net.ask("loop1.example.com.", RecordType::A);
    let r = net.ask("loop2.example.com.", RecordType::A);
    assert_eq!(r.response_code, ResponseCode::ServFail);
    let r = net.ask("loop1.example.com.", RecordType::A);
    assert_eq!(r.response_code, ResponseCode::ServFail);
}

#[test]
fn qname_minimisation_gives_the_same_answers() {
    let names = [
        ("www.example.com.", RecordType::A),
        ("alias.example.com.", RecordType::A),
        ("ext.example.com.", RecordType::A),
        ("www.glueless.com.", RecordType::A),
        ("nope.example.com.", RecordType::A),
        ("www.example.com.", RecordType::AAAA),
        ("a.b.c.example.com.", RecordType::A),
        ("x.y.nope.example.com.", RecordType::A),
        ("www.old.example.com.", RecordType::A),
        ("big.example.com.", RecordType::TXT),
    ];
    let mut plain = Net::new(recursive_config());
    let mut qmin = Net::new(EngineConfig {
        qname_minimisation: true,
        ..recursive_config()
    });
    for (name, t) in names {
        let a = plain.ask(name, t);
        let b = qmin.ask(name, t);
        assert_eq!(a.response_code, b.response_code, "{name}");
        assert_eq!(a.answers, b.answers, "{name}");
    }
    assert!(qmin.log.len() >= plain.log.len());
}

#[test]
fn max_ttl_caps_fresh_answers_too() {
    let mut net = Net::new(EngineConfig {
        max_ttl: Duration::from_secs(60),
        ..recursive_config()
    });
    let r = net.ask("www.example.com.", RecordType::A);
    assert_eq!(r.answers[0].ttl, 60);
    let r = net.ask("www.example.com.", RecordType::A);
    assert_eq!(r.answers[0].ttl, 60);
    net.advance(Duration::from_secs(61));
    let before = net.log.len();
    net.ask("www.example.com.", RecordType::A);
    // Everything (delegations too) expired at the clamped TTL: resolved from the root.
    let t = net.traffic(before);
    assert_eq!(t.len(), 3, "{t:?}");
    assert_eq!(t[0].0, ROOT);
}
