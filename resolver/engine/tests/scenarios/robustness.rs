//! No bytes make the engine panic, and its tables stay bounded: random and mutated
//! client queries, and random or mutated responses fed mid-resolution on the exact
//! port, source and transport the engine is waiting on.

use std::time::Duration;

use hickory_proto::rr::RecordType;
use proptest::prelude::*;

use crate::sim::*;
use engine::{EngineConfig, Limits, Transport};

fn small() -> EngineConfig {
    EngineConfig {
        cache_bytes: 4096,
        limits: Limits {
            max_resolutions: 8,
            max_client_queries: 8,
            ..Limits::default()
        },
        ..recursive_config()
    }
}

fn mutate(mut b: Vec<u8>, edits: &[(u16, u8)]) -> Vec<u8> {
    for &(pos, val) in edits {
        if b.is_empty() {
            break;
        }
        let i = usize::from(pos) % b.len();
        b[i] = val;
    }
    b
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_client_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let mut net = Net::new(small());
        net.send_from(client(), &bytes);
        net.drive_bounded(10_000);
        prop_assert!(net.replies.len() <= 1);
    }

    #[test]
    fn mutated_client_queries_never_panic(edits in proptest::collection::vec((any::<u16>(), any::<u8>()), 1..8)) {
        let mut net = Net::new(small());
        let q = query_bytes(3, "www.example.com.", RecordType::A, Some(1232));
        net.send_from(client(), &mutate(q, &edits));
        net.drive_bounded(10_000);
        prop_assert!(net.replies.len() <= 1);
    }

    /// Garbage arriving where the engine expects the root's answer, then the real answer.
    #[test]
    fn random_responses_mid_resolution_never_panic(
        junk in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 1..4),
    ) {
        let mut net = Net::new(small());
        net.send_from(client(), &query_bytes(1, "www.example.com.", RecordType::A, None));
        let s = net.log.last().unwrap().clone();
        for j in &junk {
            net.engine.handle_response(net.now, s.server, s.local_port, Transport::Udp, j);
        }
        net.drive_bounded(10_000);
        prop_assert_eq!(net.replies.len(), 1);
        prop_assert_eq!(net.engine.stats().in_flight_resolutions, 0);
    }

    /// Every upstream answer is mutated in flight: the engine must still answer the
    /// client exactly once, in bounded time, with nothing left in flight.
    #[test]
    fn mutated_upstream_answers_never_panic(
        edits in proptest::collection::vec((any::<u16>(), any::<u8>()), 1..6),
        name in prop_oneof![Just("www.example.com."), Just("ext.example.com."), Just("www.glueless.com."), Just("nope.example.com.")],
    ) {
        let mut net = Net::new(small());
        let e = edits.clone();
        for ip in [ROOT, GTLD, NS1_EXAMPLE, NS2_EXAMPLE, NS_EXAMPLE_NET, NS_GLUELESS] {
            let e = e.clone();
            net.server(ip).behavior = Behavior::Edit(Box::new(move |_, m| {
                let b = m.to_vec().ok()?;
                // Mutate past the header's ID so that some mutations survive matching.
                let mut b2 = b.clone();
                for &(pos, val) in &e {
                    if b2.len() > 2 {
                        let i = 2 + usize::from(pos) % (b2.len() - 2);
                        b2[i] = val;
                    }
                }
                hickory_proto::op::Message::from_vec(&b2).ok()
            }));
        }
        net.send_from(client(), &query_bytes(1, name, RecordType::A, None));
        net.drive_bounded(10_000);
        prop_assert_eq!(net.replies.len(), 1);
        prop_assert_eq!(net.engine.stats().in_flight_resolutions, 0);
        prop_assert_eq!(net.engine.poll_timeout(), None);
        net.advance(Duration::from_secs(1));
    }
}
