//! What the engine benches share: query bytes, a forwarding engine, and answering its
//! upstream query through the public API (the cache is primed the way traffic primes it).

use engine::{Client, Engine, EngineConfig, Instant, Mode, Transmit, Transport};
use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query};
use hickory_proto::rr::rdata::A;
use hickory_proto::rr::{Name, RData, Record, RecordType};

/// The upstream every bench engine forwards to.
pub const UPSTREAM: &str = "10.0.0.53:53";

/// An A query for `name` with EDNS (1232 bytes), RD set.
pub fn query(id: u16, name: &str) -> Vec<u8> {
    let mut m = Message::new(id, MessageType::Query, OpCode::Query);
    m.metadata.recursion_desired = true;
    m.add_query(Query::query(Name::from_ascii(name).unwrap(), RecordType::A));
    let mut e = Edns::new();
    e.set_max_payload(1232);
    m.set_edns(e);
    m.to_vec().unwrap()
}

/// A forwarding engine (prefetch off) built from `cfg` over the defaults, seeded with
/// `seed`, the client that asks it and the time of every call.
pub fn forwarder(cfg: EngineConfig, seed: u8) -> (Engine, Client, Instant) {
    let cfg = EngineConfig {
        mode: Mode::Forward {
            upstreams: vec![UPSTREAM.parse().unwrap()],
        },
        prefetch: false,
        ..cfg
    };
    let c = Client {
        addr: "192.168.1.2:5353".parse().unwrap(),
        transport: Transport::Udp,
    };
    (Engine::new(cfg, [seed; 32]), c, Instant::from_nanos(1))
}

/// Ask `name` as `client` and answer the upstream query it causes with `addrs` (A
/// records, `ttl`), so the answer is cached. Panics if the query did not go upstream.
pub fn prime(
    e: &mut Engine,
    client: Client,
    now: Instant,
    id: u16,
    name: &str,
    ttl: u32,
    addrs: &[[u8; 4]],
) {
    e.handle_query(now, client, &query(id, name));
    let Some(Transmit::ToServer {
        local_port,
        payload,
        ..
    }) = e.poll_transmit()
    else {
        panic!("expected an upstream query for {name}");
    };
    let q = Message::from_vec(&payload).unwrap();
    let mut r = Message::new(q.id, MessageType::Response, OpCode::Query);
    r.add_query(q.queries[0].clone());
    r.metadata.recursion_available = true;
    let owner = q.queries[0].name().clone();
    for a in addrs {
        r.add_answer(Record::from_rdata(
            owner.clone(),
            ttl,
            RData::A(A((*a).into())),
        ));
    }
    e.handle_response(
        now,
        UPSTREAM.parse().unwrap(),
        local_port,
        Transport::Udp,
        &r.to_vec().unwrap(),
    );
    while e.poll_transmit().is_some() {}
}
