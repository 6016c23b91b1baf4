//! Delegations without glue: the NS name is resolved first (bounded).

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;

use crate::sim::*;
use engine::{EngineConfig, Limits};

#[test]
fn glueless_delegation_resolves_ns_name_first() {
    let mut net = Net::new(recursive_config());
    let r = net.ask("www.glueless.com.", RecordType::A);
    assert_eq!(r.response_code, ResponseCode::NoError, "{r}");
    assert_eq!(ips(&r), ["192.0.2.3"]);
    let t = net.traffic(0);
    assert!(
        t.iter()
            .any(|q| q.1 == "ns.example.net." && q.0 == NS_EXAMPLE_NET),
        "{t:?}"
    );
    assert_eq!(t.last().unwrap().0, NS_GLUELESS);
    assert_eq!(t.last().unwrap().1, "www.glueless.com.");
}

#[test]
fn glueless_sub_resolution_depth_is_bounded() {
    let mut net = Net::new(EngineConfig {
        limits: Limits {
            max_subquery_depth: 0,
            ..Limits::default()
        },
        ..recursive_config()
    });
    let r = net.ask("www.glueless.com.", RecordType::A);
    assert_eq!(r.response_code, ResponseCode::ServFail);
    assert!(!net.traffic(0).iter().any(|q| q.1 == "ns.example.net."));
}

#[test]
fn glueless_cycle_fails_cleanly() {
    // a.test is served by ns.b.test, b.test by ns.a.test: neither can be reached.
    let mut servers = world();
    let root = &mut servers[0].zones[0];
    root.records.push(ns("a.test.", 3600, "ns.b.test."));
    root.records.push(ns("b.test.", 3600, "ns.a.test."));
    let mut net = Net::with_servers(recursive_config(), servers);
    let r = net.ask("www.a.test.", RecordType::A);
    assert_eq!(r.response_code, ResponseCode::ServFail);
    assert!(net.log.len() < 40, "{}", net.log.len());
    assert_eq!(net.engine.stats().in_flight_resolutions, 0);
}

/// `v6only.com.` is served by `ns6.example.net.`, which has only an AAAA record.
fn v6_world() -> Vec<Server> {
    let mut servers = world();
    for s in &mut servers {
        if s.ip.to_string() == GTLD {
            s.zones[0]
                .records
                .push(ns("v6only.com.", 3600, "ns6.example.net."));
        }
        if s.ip.to_string() == NS_EXAMPLE_NET {
            s.zones[0]
                .records
                .push(aaaa("ns6.example.net.", 3600, "2001:db8::53"));
        }
    }
    servers.push(Server {
        ip: "2001:db8::53".parse().unwrap(),
        zones: vec![Zone::new(
            "v6only.com.",
            vec![
                soa("v6only.com.", 3600, 300),
                ns("v6only.com.", 3600, "ns6.example.net."),
                a("www.v6only.com.", 300, "192.0.2.6"),
            ],
        )],
        behavior: Behavior::Normal,
    });
    servers
}

#[test]
fn ipv6_only_name_server_reached_with_use_ipv6() {
    let mut net = Net::with_servers(
        EngineConfig {
            use_ipv6: true,
            ..recursive_config()
        },
        v6_world(),
    );
    let r = net.ask("www.v6only.com.", RecordType::A);
    assert_eq!(ips(&r), ["192.0.2.6"], "{r}");
    let t = net.traffic(0);
    assert!(
        t.iter()
            .any(|q| q.1 == "ns6.example.net." && q.2 == RecordType::AAAA),
        "{t:?}"
    );
    assert_eq!(t.last().unwrap().0, "2001:db8::53");
}

#[test]
fn ipv6_only_name_server_unreachable_without_use_ipv6() {
    let mut net = Net::with_servers(recursive_config(), v6_world());
    let r = net.ask("www.v6only.com.", RecordType::A);
    assert_eq!(r.response_code, ResponseCode::ServFail);
    assert!(!net.log.iter().any(|s| s.server.is_ipv6()));
}
