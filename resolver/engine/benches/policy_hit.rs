//! What the policy stage adds to a cache hit (issue 15: at most 150 ns with a million
//! blocked domains loaded). One cached name (`www.example.com.`, 4 A records) asked
//! over and over through `handle_query` + `poll_transmit`, the fast path's work, with:
//!
//! * `no_policy`: no lists, no local zones, no rebinding filter (the tables empty);
//! * `defaults`: the default policy (local zones, rebinding filter);
//! * `defaults_1m_blocked`: the same with a list of 1 000 000 domains loaded.
//!
//! `cargo bench -p engine --bench policy_hit`; medians are criterion's.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use critical_section as _;
use engine::{Client, Engine, EngineConfig, Instant, Mode, PolicyConfig, Transmit, Transport};
use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query};
use hickory_proto::rr::rdata::A;
use hickory_proto::rr::{Name, RData, Record, RecordType};

fn query(id: u16, name: &str) -> Vec<u8> {
    let mut m = Message::new(id, MessageType::Query, OpCode::Query);
    m.metadata.recursion_desired = true;
    m.add_query(Query::query(Name::from_ascii(name).unwrap(), RecordType::A));
    let mut e = Edns::new();
    e.set_max_payload(1232);
    m.set_edns(e);
    m.to_vec().unwrap()
}

fn primed(policy: PolicyConfig, blocked: usize) -> (Engine, Client, Instant) {
    let upstream = "10.0.0.53:53".parse().unwrap();
    let cfg = EngineConfig {
        mode: Mode::Forward {
            upstreams: vec![upstream],
        },
        prefetch: false,
        policy,
        ..EngineConfig::default()
    };
    let mut e = Engine::new(cfg, [1; 32]);
    if blocked > 0 {
        let mut b = e.blocklist_builder();
        for i in 0..blocked {
            b.insert(&format!("ads{i}.tracker{}.example", i % 977));
        }
        assert_eq!(e.set_blocklist(1, "bench", b), Ok(blocked));
    }
    let c = Client {
        addr: "192.168.1.2:5353".parse().unwrap(),
        transport: Transport::Udp,
    };
    let now = Instant::from_nanos(1);
    e.handle_query(now, c, &query(1, "www.example.com."));
    let Some(Transmit::ToServer {
        local_port,
        payload,
        ..
    }) = e.poll_transmit()
    else {
        panic!("expected an upstream query");
    };
    let q = Message::from_vec(&payload).unwrap();
    let mut r = Message::new(q.id, MessageType::Response, OpCode::Query);
    r.add_query(q.queries[0].clone());
    r.metadata.recursion_available = true;
    let owner = q.queries[0].name().clone();
    for i in 1..=4 {
        r.add_answer(Record::from_rdata(
            owner.clone(),
            3600,
            RData::A(A([192, 0, 2, i].into())),
        ));
    }
    e.handle_response(
        now,
        upstream,
        local_port,
        Transport::Udp,
        &r.to_vec().unwrap(),
    );
    while e.poll_transmit().is_some() {}
    (e, c, now)
}

fn bench(c: &mut Criterion) {
    let none = PolicyConfig {
        local_zones: false,
        stop_rebind: false,
        ..PolicyConfig::default()
    };
    let mut g = c.benchmark_group("policy_hit");
    for (label, policy, blocked) in [
        ("no_policy", none, 0),
        ("defaults", PolicyConfig::default(), 0),
        ("defaults_1m_blocked", PolicyConfig::default(), 1_000_000),
    ] {
        let (mut e, client, now) = primed(policy, blocked);
        let q = query(7, "www.example.com.");
        let before = e.stats().fast_path_hits;
        g.bench_function(label, |b| {
            b.iter(|| {
                e.handle_query(now, client, black_box(&q));
                black_box(e.poll_transmit())
            })
        });
        assert!(
            e.stats().fast_path_hits > before,
            "{label}: fast path taken"
        );
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
