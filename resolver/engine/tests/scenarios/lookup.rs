//! The engine's own lookups (`Engine::lookup`, for the host of a block list URL): they
//! resolve through the same path as a client's query (cache, policy, budgets), their
//! answers never reach a client, and no client can ask in their name.

use std::net::{IpAddr, SocketAddr};

use hickory_proto::rr::RecordType;

use crate::sim::*;
use engine::{
    Client, EngineConfig, HostRecord, LookupError, LookupFailure, LookupResult, LookupType,
    MAX_LOOKUPS, PolicyConfig, Transport,
};

fn lookup(net: &mut Net, name: &str, t: LookupType) -> LookupResult {
    let token = net
        .engine
        .lookup(net.now, name, t)
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    net.drive_bounded(10_000);
    let r = net.engine.poll_lookup().expect("a result");
    assert_eq!(r.token, token);
    assert!(net.engine.poll_lookup().is_none(), "one result per lookup");
    r
}

#[test]
fn resolves_through_the_cache_and_never_answers_a_client() {
    let mut net = Net::new(recursive_config());
    let r = lookup(&mut net, "www.example.com", LookupType::A);
    assert_eq!(r.result, Ok(vec!["192.0.2.1".parse::<IpAddr>().unwrap()]));
    assert!(!net.log.is_empty(), "it recursed");
    assert!(net.replies.is_empty(), "no transmit to any client");
    // Now cached: the same lookup sends nothing upstream; a CNAME is followed.
    let sent = net.log.len();
    let r = lookup(&mut net, "WWW.example.com.", LookupType::A);
    assert_eq!(r.result, Ok(vec!["192.0.2.1".parse::<IpAddr>().unwrap()]));
    assert_eq!(net.log.len(), sent);
    let r = lookup(&mut net, "alias.example.com", LookupType::A);
    assert_eq!(r.result, Ok(vec!["192.0.2.1".parse::<IpAddr>().unwrap()]));
    let sent = net.log.len();
    // A client sees the entry the lookup cached.
    assert_eq!(
        ips(&net.ask("www.example.com.", RecordType::A)),
        ["192.0.2.1"]
    );
    assert_eq!(net.log.len(), sent);
    let r = lookup(&mut net, "nope.example.com", LookupType::A);
    assert_eq!(r.result, Err(LookupFailure::NxDomain));
    let r = lookup(&mut net, "www.example.com", LookupType::Aaaa);
    assert_eq!(r.result, Err(LookupFailure::NoData));
}

#[test]
fn policy_applies_and_the_allow_list_does_not() {
    let cfg = EngineConfig {
        allow: Vec::new(),
        policy: PolicyConfig {
            block: vec!["ads.example.com".into()],
            hosts: vec![HostRecord {
                names: vec!["lists.home.arpa".into()],
                addrs: vec!["192.168.1.7".parse().unwrap()],
                ttl: None,
            }],
            ..PolicyConfig::default()
        },
        ..recursive_config()
    };
    let mut net = Net::new(cfg);
    // Clients are refused (empty allow list), the engine's own lookups are not.
    let refused = net.ask("www.example.com.", RecordType::A);
    assert_eq!(
        refused.response_code,
        hickory_proto::op::ResponseCode::Refused
    );
    let r = lookup(&mut net, "lists.home.arpa", LookupType::A);
    assert_eq!(r.result, Ok(vec!["192.168.1.7".parse::<IpAddr>().unwrap()]));
    assert!(net.log.is_empty(), "a local name is answered locally");
    let r = lookup(&mut net, "x.ads.example.com", LookupType::A);
    assert_eq!(r.result, Err(LookupFailure::NxDomain));
    assert!(net.log.is_empty(), "a blocked name sends nothing");
    let r = lookup(&mut net, "www.example.com", LookupType::A);
    assert!(r.result.is_ok());
}

#[test]
fn a_client_cannot_ask_or_answer_in_its_name() {
    let mut net = Net::new(recursive_config());
    let token = net
        .engine
        .lookup(net.now, "www.example.com", LookupType::A)
        .unwrap();
    // The internal client's address sent from the wire (a forged `[::]` source), with
    // the lookup's ID: dropped at admission, no reply, no result.
    for transport in [Transport::Udp, Transport::Tcp { conn: u32::MAX }] {
        let forged = Client {
            addr: SocketAddr::new("::".parse().unwrap(), 0),
            transport,
        };
        let q = query_bytes(token, "evil.example.com.", RecordType::A, None);
        net.send_from(forged, &q);
    }
    assert!(net.engine.poll_lookup().is_none());
    net.drive_bounded(10_000);
    let r = net.engine.poll_lookup().expect("the real answer");
    assert_eq!(r.token, token);
    assert_eq!(r.result, Ok(vec!["192.0.2.1".parse::<IpAddr>().unwrap()]));
    assert!(net.engine.poll_lookup().is_none());
    assert!(net.replies.is_empty());
}

#[test]
fn at_most_max_lookups_in_flight_and_a_dead_upstream_fails_in_bounded_time() {
    let mut net = Net::new(recursive_config());
    net.server(ROOT).behavior = Behavior::Drop;
    let mut tokens = Vec::new();
    for i in 0..MAX_LOOKUPS {
        tokens.push(
            net.engine
                .lookup(net.now, &format!("h{i}.example.com"), LookupType::A)
                .unwrap(),
        );
    }
    assert_eq!(
        net.engine
            .lookup(net.now, "one.more.example", LookupType::A),
        Err(LookupError::Busy)
    );
    assert_eq!(net.engine.lookups_in_flight(), MAX_LOOKUPS);
    let start = net.now;
    net.drive_bounded(100_000);
    let mut done = Vec::new();
    while let Some(r) = net.engine.poll_lookup() {
        assert!(matches!(r.result, Err(LookupFailure::Failed(_))), "{r:?}");
        done.push(r.token);
    }
    done.sort_unstable();
    tokens.sort_unstable();
    assert_eq!(done, tokens);
    assert!(net.now.as_nanos() - start.as_nanos() <= 30_000_000_000);
    assert_eq!(net.engine.lookups_in_flight(), 0);
    assert!(
        net.engine
            .lookup(net.now, "again.example.com", LookupType::A)
            .is_ok()
    );
    assert_eq!(
        net.engine.lookup(net.now, "bad..name", LookupType::A),
        Err(LookupError::BadName)
    );
}
