//! Forwarding mode: RD=1 to configured upstreams, answers cached, failover.

use std::net::SocketAddr;

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;

use crate::sim::*;
use engine::{EngineConfig, Mode};

/// A fake "recursive" upstream: it serves the whole tree flattened into one zone.
fn upstream(ip: &str) -> Server {
    let mut recs = Vec::new();
    for s in world()
        .into_iter()
        .filter(|s| s.ip.to_string() != NS2_EXAMPLE)
    {
        for z in s.zones {
            if z.origin.to_ascii() == "example.com." || z.origin.to_ascii() == "example.net." {
                recs.extend(
                    z.records
                        .into_iter()
                        .filter(|r| r.record_type() != RecordType::NS),
                );
            }
        }
    }
    recs.push(soa(".", 3600, 60));
    Server {
        ip: ip.parse().unwrap(),
        zones: vec![Zone::new(".", recs)],
        behavior: Behavior::Normal,
    }
}

fn config(up: &[&str]) -> EngineConfig {
    EngineConfig {
        mode: Mode::Forward {
            upstreams: up
                .iter()
                .map(|ip| SocketAddr::new(ip.parse().unwrap(), 53))
                .collect(),
        },
        ..EngineConfig::default()
    }
}

#[test]
fn forwards_with_rd_and_caches() {
    let mut net = Net::with_servers(config(&["10.9.9.9"]), vec![upstream("10.9.9.9")]);
    let r = net.ask("www.example.com.", RecordType::A);
    assert_eq!(ips(&r), ["192.0.2.1"]);
    assert_eq!(net.log.len(), 1);
    assert!(net.log[0].rd);
    assert_eq!(
        net.log[0].qname.to_lowercase().to_ascii(),
        "www.example.com."
    );
    net.ask("www.example.com.", RecordType::A);
    assert_eq!(net.log.len(), 1);
    let r = net.ask("nope.example.com.", RecordType::A);
    assert_eq!(r.response_code, ResponseCode::NXDomain);
}

#[test]
fn fails_over_to_second_upstream() {
    let mut servers = vec![upstream("10.9.9.9"), upstream("10.9.9.10")];
    servers[0].behavior = Behavior::Drop;
    let mut net = Net::with_servers(config(&["10.9.9.9", "10.9.9.10"]), servers);
    let r = net.ask("www.example.net.", RecordType::A);
    assert_eq!(ips(&r), ["192.0.2.2"]);
    assert_eq!(net.log.last().unwrap().server.ip().to_string(), "10.9.9.10");
}

#[test]
fn ipv6_upstreams_skipped_without_use_ipv6() {
    let mut net = Net::with_servers(config(&["2001:db8::53"]), vec![]);
    let r = net.ask("www.example.com.", RecordType::A);
    assert_eq!(r.response_code, ResponseCode::ServFail);
    assert!(net.log.is_empty());
}
