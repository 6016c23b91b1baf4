//! Cache-hit latency: query bytes in, response bytes out, nothing upstream.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use critical_section as _;
use engine::{Client, Engine, EngineConfig, Instant, Mode, Transmit, Transport};
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

/// Prime the cache through the public API: forward mode, one upstream answer.
fn primed() -> (Engine, Client, Instant) {
    let upstream = "10.0.0.53:53".parse().unwrap();
    let cfg = EngineConfig {
        mode: Mode::Forward {
            upstreams: vec![upstream],
        },
        prefetch: false,
        ..EngineConfig::default()
    };
    let mut e = Engine::new(cfg, [1; 32]);
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
    let (mut e, client, now) = primed();
    let q = query(7, "www.example.com.");
    c.bench_function("cache_hit_a_4_records", |b| {
        b.iter(|| {
            e.handle_query(now, client, black_box(&q));
            let t = e.poll_transmit();
            black_box(t)
        })
    });
    assert!(e.stats().cache_hits > 0);
}

criterion_group!(benches, bench);
criterion_main!(benches);
