//! Any bytes from a client: the engine must not panic, must answer at most once, and
//! every answer must parse as a DNS response.
#![no_main]

use critical_section as _;
use engine::{Client, Engine, EngineConfig, Instant, Mode, Transmit, Transport};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&sel, bytes)) = data.split_first() else {
        return;
    };
    let cfg = EngineConfig {
        mode: Mode::Recursive {
            root_hints: vec!["192.0.2.1".parse().unwrap()],
        },
        ..EngineConfig::default()
    };
    let mut e = Engine::new(cfg, [sel; 32]);
    let client = Client {
        addr: if sel & 1 == 0 {
            "192.168.1.2:5353".parse().unwrap()
        } else {
            "203.0.113.9:5353".parse().unwrap()
        },
        transport: if sel & 2 == 0 {
            Transport::Udp
        } else {
            Transport::Tcp { conn: 1 }
        },
    };
    let now = Instant::from_nanos(1);
    e.handle_query(now, client, bytes);
    assert!(e.check_invariants());
    let mut answers = 0;
    while let Some(t) = e.poll_transmit() {
        if let Transmit::ToClient { payload, .. } = t {
            answers += 1;
            assert!(payload.len() >= 12);
            if client.transport == Transport::Udp {
                assert!(payload.len() <= 1232);
            }
        }
    }
    assert!(answers <= 1);
    // Time out whatever started; nothing may be left afterwards.
    let mut now = now;
    for _ in 0..200 {
        let Some(t) = e.poll_timeout() else { break };
        now = now.max(t);
        e.handle_timeout(now);
        assert!(e.check_invariants());
        while e.poll_transmit().is_some() {}
    }
    assert_eq!(e.poll_timeout(), None);
});
