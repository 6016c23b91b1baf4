//! Whole responses through the validator (issue 17): the engine recurses or forwards
//! under a root trust anchor with a trusted wall clock, and its clients set DO (one of
//! them CD), so every response the input makes up — DNSKEY, DS, RRSIG, NSEC and NSEC3
//! records in any section, truncated or contradictory — is classified, then validated
//! (key lookups, denial proofs, budgets) before it is cached or answered. The driver is
//! the one of `upstream_response` (`drive.rs`).
#![no_main]

#[path = "drive.rs"]
mod drive;

use critical_section as _;
use engine::{Client, Engine, EngineConfig, Instant, Mode, Transport};
use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query};
use hickory_proto::rr::{Name, RecordType};
use libfuzzer_sys::fuzz_target;

/// An Ed25519 key (RFC 8080's example) as the root's anchor: the fuzzer cannot sign
/// with it, so what it makes is insecure or bogus, through every path on the way.
const ANCHOR: &str = ".:DNSKEY:257:3:15:l02Woi0iS8Aa25FQkUd9RMzZHJpBoRQwAQEX1SxZJA4=";

fn query(name: &str, t: RecordType, cd: bool) -> Vec<u8> {
    let mut m = Message::new(7, MessageType::Query, OpCode::Query);
    m.metadata.recursion_desired = true;
    m.metadata.checking_disabled = cd;
    m.add_query(Query::query(Name::from_ascii(name).unwrap(), t));
    let mut e = Edns::new();
    e.set_max_payload(1232);
    e.set_dnssec_ok(true);
    m.edns = Some(e);
    m.to_vec().unwrap()
}

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let mode = if sel & 1 == 1 {
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
        cache_bytes: 16384,
        ..EngineConfig::default()
    };
    cfg.dnssec.trust_anchors = vec![dnssec::parse_trust_anchor(ANCHOR).unwrap()];
    cfg.dnssec.trust_clock = true;
    cfg.dnssec.aggressive_nsec = sel & 8 == 0;
    let mut e = Engine::new(cfg, [sel; 32]);
    let now = Instant::from_nanos(1);
    e.set_wall_clock(now, 1_780_000_000);
    let client = Client {
        addr: "192.168.1.2:5353".parse().unwrap(),
        transport: Transport::Udp,
    };
    let qt = match sel >> 4 & 3 {
        0 => RecordType::A,
        1 => RecordType::DS,
        2 => RecordType::DNSKEY,
        _ => RecordType::TXT,
    };
    e.handle_query(now, client, &query("www.example.com.", qt, false));
    e.handle_query(now, client, &query("a.b.example.net.", RecordType::MX, sel & 4 == 4));
    drive::drive(&mut e, now, rest, 2);
});
