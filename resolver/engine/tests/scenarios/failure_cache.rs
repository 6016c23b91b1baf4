//! RFC 9520 failure caching (issue 14 item 17): a resolution that failed is not
//! tried again at once; a retry inside the window is answered SERVFAIL (with the
//! reason) without upstream queries, and the window grows while the failure lasts.

use std::time::Duration;

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;

use crate::sim::*;
use engine::{EngineConfig, Limits};

/// `a.test` is served by `ns.b.test`, `b.test` by `ns.a.test`: no address can be had.
fn cyclic_world() -> Vec<Server> {
    let mut servers = world();
    let root = &mut servers[0].zones[0];
    root.records.push(ns("a.test.", 3600, "ns.b.test."));
    root.records.push(ns("b.test.", 3600, "ns.a.test."));
    servers
}

/// Upstream queries one client query cost, and its answer.
fn retry(net: &mut Net, name: &str) -> (usize, hickory_proto::op::Message) {
    let before = net.log.len();
    let r = net.ask(name, RecordType::A);
    (net.log.len() - before, r)
}

#[test]
fn rfc9520_cyclic_delegation_failure_is_cached_with_backoff() {
    let mut net = Net::with_servers(recursive_config(), cyclic_world());
    let (first, r) = retry(&mut net, "www.a.test.");
    assert_eq!(r.response_code, ResponseCode::ServFail);
    assert!(first > 0);
    let reason = ede(&r);
    // Within the first window (5 s): answered at once, same reason, no traffic.
    let (again, r) = retry(&mut net, "www.a.test.");
    eprintln!("cyclic delegation: first {first}, retry inside the window {again}");
    assert_eq!((again, r.response_code), (0, ResponseCode::ServFail));
    assert_eq!(ede(&r), reason);
    assert!(net.engine.stats().failure_cache_hits >= 1);
    // After it: tried again, fails again, and now the window is twice as long.
    net.advance(Duration::from_secs(6));
    let (third, r) = retry(&mut net, "www.a.test.");
    assert_eq!(r.response_code, ResponseCode::ServFail);
    assert!(third > 0);
    net.advance(Duration::from_secs(6));
    assert_eq!(retry(&mut net, "www.a.test.").0, 0, "10 s window");
    net.advance(Duration::from_secs(5));
    assert!(retry(&mut net, "www.a.test.").0 > 0, "window over");
}

#[test]
fn rfc9520_a_failed_lookup_is_not_repeated_by_the_next_name() {
    // Another name in the same broken zone reuses the cached failures of its name
    // server lookups instead of walking the cycle again.
    let mut net = Net::with_servers(recursive_config(), cyclic_world());
    let (first, _) = retry(&mut net, "www.a.test.");
    let (other, r) = retry(&mut net, "mail.a.test.");
    eprintln!("cyclic delegation, another name: {first} -> {other}");
    assert_eq!(r.response_code, ResponseCode::ServFail);
    assert!(other < first, "{other} >= {first}");
}

#[test]
fn rfc9520_local_overload_is_not_cached() {
    // Running out of our own resources says nothing about the name.
    let mut net = Net::new(EngineConfig {
        limits: Limits {
            max_resolutions: 0,
            ..Limits::default()
        },
        ..recursive_config()
    });
    let r = net.ask("www.example.com.", RecordType::A);
    assert_eq!(r.response_code, ResponseCode::ServFail);
    assert_eq!(net.engine.stats().failure_cache_hits, 0);
    let r = net.ask("www.example.com.", RecordType::A);
    assert_eq!(r.response_code, ResponseCode::ServFail);
    assert_eq!(net.engine.stats().failure_cache_hits, 0);
}

#[test]
fn rfc9520_failure_cache_is_capped() {
    let mut net = Net::with_servers(
        EngineConfig {
            limits: Limits {
                max_failure_entries: 2,
                ..Limits::default()
            },
            ..recursive_config()
        },
        cyclic_world(),
    );
    for name in ["x.a.test.", "y.a.test.", "z.a.test."] {
        retry(&mut net, name);
    }
    assert!(net.engine.stats().failure_entries <= 2);
    // The oldest was evicted: asking it again costs upstream queries.
    let (n, _) = retry(&mut net, "x.a.test.");
    assert!(n > 0);
}
