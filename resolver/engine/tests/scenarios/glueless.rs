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
