//! Serve-stale as RFC 8767 means it, and TTLs as RFC 2181 §8 means them (issue 14
//! item 10): a client whose question has stale data waits at most the client
//! response timer (1.8 s) while the resolution goes on; for the failure recheck time
//! (30 s) after a failure, stale data is answered at once; a TTL of 2^31 or more is
//! 0; and a prefetch that first needs a name server's address still refreshes.

use std::time::Duration;

use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::RecordType;

use crate::sim::*;
use engine::{EngineConfig, Limits};

fn stale_config() -> EngineConfig {
    EngineConfig {
        prefetch: false,
        serve_stale: Some(Duration::from_secs(86_400)),
        ..recursive_config()
    }
}

/// Ask `name` A and step until the answer: the answer and how long it took.
fn timed_ask(net: &mut Net, name: &str) -> (Message, Duration) {
    let start = net.now;
    let before = net.replies.len();
    net.send_from(client(), &query_bytes(9, name, RecordType::A, Some(1232)));
    for _ in 0..10_000 {
        if net.replies.len() > before {
            break;
        }
        if !net.step() {
            break;
        }
    }
    assert_eq!(net.replies.len(), before + 1, "one answer");
    let m = Message::from_vec(&net.replies[before].1).unwrap();
    (m, net.now.saturating_duration_since(start))
}

#[test]
fn rfc8767_client_response_timer_answers_stale_and_the_resolution_goes_on() {
    // Slow authorities: answers take 2.5 s (within a 4 s timeout).
    let mut net = Net::new(EngineConfig {
        limits: Limits {
            initial_rto: Duration::from_secs(4),
            min_rto: Duration::from_secs(4),
            max_rto: Duration::from_secs(4),
            ..Limits::default()
        },
        ..stale_config()
    });
    net.ask("www.example.com.", RecordType::A);
    net.advance(Duration::from_secs(400));
    for s in [NS1_EXAMPLE, NS2_EXAMPLE] {
        net.server_latency
            .insert(s.parse().unwrap(), Duration::from_millis(2500));
    }
    let (r, took) = timed_ask(&mut net, "www.example.com.");
    eprintln!("stale answer after {took:?}");
    assert_eq!(ips(&r), ["192.0.2.1"]);
    assert_eq!(ede(&r), Some(3));
    assert!(took <= Duration::from_millis(1800), "{took:?}");
    // The resolution went on and refreshed the cache.
    net.drive_bounded(1000);
    let before = net.log.len();
    let r = net.ask("www.example.com.", RecordType::A);
    assert_eq!(net.log.len(), before, "fresh from the cache");
    assert_eq!(ede(&r), None);
    assert!(r.answers[0].ttl > 290, "{r}");
}

#[test]
fn rfc8767_failure_recheck_timer_answers_stale_at_once() {
    failure_recheck(stale_config());
}

#[test]
fn rfc8767_failure_recheck_also_after_stale_served_at_the_failure() {
    // A client response timer longer than the query: the stale answer comes with
    // the failure itself, which must still be remembered.
    failure_recheck(EngineConfig {
        limits: Limits {
            stale_answer_timeout: Duration::from_secs(60),
            ..Limits::default()
        },
        ..stale_config()
    });
}

fn failure_recheck(cfg: EngineConfig) {
    let mut net = Net::new(cfg);
    net.ask("www.example.com.", RecordType::A);
    net.advance(Duration::from_secs(400));
    net.server(NS1_EXAMPLE).behavior = Behavior::Drop;
    net.server(NS2_EXAMPLE).behavior = Behavior::Drop;
    let (r, _) = timed_ask(&mut net, "www.example.com.");
    assert_eq!(ede(&r), Some(3));
    net.drive_bounded(1000);
    // Inside the failure recheck time: stale at once, nothing sent.
    net.advance(Duration::from_secs(10));
    let before = net.log.len();
    let (r, took) = timed_ask(&mut net, "www.example.com.");
    assert_eq!((ips(&r), ede(&r)), (vec!["192.0.2.1".to_string()], Some(3)));
    assert_eq!((took, net.log.len() - before), (Duration::ZERO, 0));
    // After it: resolving is tried again.
    net.advance(Duration::from_secs(25));
    let before = net.log.len();
    let (r, _) = timed_ask(&mut net, "www.example.com.");
    assert_eq!(ede(&r), Some(3));
    assert!(net.log.len() > before);
}

#[test]
fn rfc2181_ttl_of_2_pow_31_or_more_is_zero() {
    let mut servers = world();
    for s in &mut servers {
        if s.ip.to_string() == NS1_EXAMPLE || s.ip.to_string() == NS2_EXAMPLE {
            s.zones[0]
                .records
                .push(a("huge.example.com.", 1 << 31, "192.0.2.77"));
        }
    }
    let mut net = Net::with_servers(recursive_config(), servers);
    let r = net.ask("huge.example.com.", RecordType::A);
    assert_eq!(ips(&r), ["192.0.2.77"]);
    assert_eq!(r.answers[0].ttl, 0, "{r}");
    // Not cached: asked again.
    let before = net.log.len();
    net.ask("huge.example.com.", RecordType::A);
    assert_eq!(net.log.len(), before + 1);
}

#[test]
fn prefetch_that_needs_a_name_server_address_refreshes() {
    // www.glueless.com. (TTL 300) is served by ns.example.net., whose address
    // (TTL 250) has expired when the prefetch starts at 280 s.
    let mut servers = world();
    for s in &mut servers {
        if s.ip.to_string() == NS_EXAMPLE_NET {
            for r in &mut s.zones[0].records {
                if r.name == n("ns.example.net.") {
                    r.ttl = 250;
                }
            }
        }
    }
    let mut net = Net::with_servers(recursive_config(), servers);
    net.ask("www.glueless.com.", RecordType::A);
    net.advance(Duration::from_secs(280));
    let before = net.log.len();
    let r = net.ask("www.glueless.com.", RecordType::A);
    assert_eq!(r.answers[0].ttl, 20, "answered from cache at once");
    assert_eq!(net.engine.stats().prefetches, 1);
    let t = net.traffic(before);
    assert!(
        t.iter().any(|q| q.1 == "www.glueless.com."),
        "the prefetch asked for the record itself: {t:?}"
    );
    net.advance(Duration::from_secs(30));
    let before = net.log.len();
    let r = net.ask("www.glueless.com.", RecordType::A);
    assert_eq!(net.log.len(), before, "refreshed entry still fresh");
    assert!(r.answers[0].ttl > 250, "{r}");
    assert_eq!(r.response_code, ResponseCode::NoError);
}
