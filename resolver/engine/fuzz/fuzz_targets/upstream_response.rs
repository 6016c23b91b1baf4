//! Responses fed mid-resolution (see `drive.rs`), recursing or forwarding, with the
//! built-in anchors only (so mostly outside any anchor when recursing).
#![no_main]

#[path = "drive.rs"]
mod drive;

use critical_section as _;
use engine::{Client, Engine, EngineConfig, Instant, Mode, Transport};
use hickory_proto::op::{Message, MessageType, OpCode, Query};
use hickory_proto::rr::{Name, RecordType};
use libfuzzer_sys::fuzz_target;

fn query(name: &str, t: RecordType) -> Vec<u8> {
    let mut m = Message::new(7, MessageType::Query, OpCode::Query);
    m.metadata.recursion_desired = true;
    m.add_query(Query::query(Name::from_ascii(name).unwrap(), t));
    m.to_vec().unwrap()
}

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let forward = sel & 1 == 1;
    let mode = if forward {
        Mode::Forward {
            upstreams: vec!["10.0.0.53:53".parse().unwrap()],
        }
    } else {
        Mode::Recursive {
            root_hints: vec!["192.0.2.1".parse().unwrap()],
        }
    };
    let mut cfg = EngineConfig {
        mode,
        qname_minimisation: sel & 2 == 2,
        cache_bytes: 8192,
        ..EngineConfig::default()
    };
    if sel & 8 == 8 {
        // One query at a time per server: the second resolution waits for a slot.
        cfg.limits.max_in_flight_per_server = 1;
    }
    let mut e = Engine::new(cfg, [sel; 32]);
    let client = Client {
        addr: "192.168.1.2:5353".parse().unwrap(),
        transport: Transport::Udp,
    };
    let now = Instant::from_nanos(1);
    let qt = if sel & 4 == 4 {
        RecordType::AAAA
    } else {
        RecordType::A
    };
    e.handle_query(now, client, &query("www.example.com.", qt));
    e.handle_query(now, client, &query("a.b.example.net.", RecordType::MX));
    drive::drive(&mut e, now, rest, 2);
});
