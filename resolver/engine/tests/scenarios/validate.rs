//! DNSSEC validation (issue 17) with real Ed25519 signatures made in the test from a
//! fixed seed, the clock fixed: a DNSKEY trust anchor at `example.com.`.

use ed25519_dalek::{Signer, SigningKey};
use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::{Record, RecordType};
use hickory_proto::serialize::binary::BinEncodable;

use crate::sim::*;
use engine::EngineConfig;

const NOW: u64 = 1_780_000_000;
const ZONE: &str = "example.com.";

fn key() -> SigningKey {
    SigningKey::from_bytes(&[7; 32])
}

fn dnskey_rdata() -> Vec<u8> {
    let mut v = vec![1, 1, 3, 15];
    v.extend_from_slice(key().verifying_key().as_bytes());
    v
}

fn wire_name(s: &str) -> Vec<u8> {
    n(s).to_bytes().unwrap()
}

/// An RRSIG over `rrset` by the zone key, valid `inc..exp`; `tamper` flips a bit.
fn sign(rrset: &[Record], inc: u32, exp: u32, tamper: bool) -> Record {
    let first = &rrset[0];
    let owner = first.name.to_string();
    let t = u16::from(first.record_type());
    let tag = dnssec::key_tag(&dnskey_rdata());
    let mut rd = Vec::new();
    rd.extend_from_slice(&t.to_be_bytes());
    rd.push(15);
    rd.push(first.name.num_labels());
    rd.extend_from_slice(&first.ttl.to_be_bytes());
    rd.extend_from_slice(&exp.to_be_bytes());
    rd.extend_from_slice(&inc.to_be_bytes());
    rd.extend_from_slice(&tag.to_be_bytes());
    rd.extend_from_slice(&wire_name(ZONE));
    let rdatas: Vec<Vec<u8>> = rrset
        .iter()
        .map(|r| {
            let d = dnssec::Record::from_hickory(r).unwrap();
            d.rdata.into_owned()
        })
        .collect();
    let refs: Vec<&[u8]> = rdatas.iter().map(|v| v.as_slice()).collect();
    // The view needs a signature field; the signed data leaves it out.
    let mut probe = rd.clone();
    probe.extend_from_slice(&[0; 64]);
    let view = dnssec::Rrsig::parse(&probe).unwrap();
    let dn = dnssec::Name::from_ascii(&owner).unwrap();
    let sd = dnssec::signed_data(&view, &dn, t, 1, &refs).unwrap();
    let mut sig = key().sign(&sd.data).to_bytes().to_vec();
    if tamper {
        sig[0] ^= 1;
    }
    rd.extend_from_slice(&sig);
    opaque(&owner, first.ttl, RecordType::RRSIG, &rd)
}

/// The world with `example.com.` signed (both servers): DNSKEY and www A.
fn signed(inc: u32, exp: u32, tamper: bool) -> Vec<Server> {
    let mut servers = world();
    for s in servers.iter_mut() {
        for z in s.zones.iter_mut().filter(|z| z.origin == n(ZONE)) {
            let dk = vec![opaque(ZONE, 3600, RecordType::DNSKEY, &dnskey_rdata())];
            let www: Vec<Record> = z
                .records
                .iter()
                .filter(|r| r.name == n("www.example.com.") && r.record_type() == RecordType::A)
                .cloned()
                .collect();
            // The key set always valid: the answer's own signature is what is tested.
            let s1 = sign(&dk, (NOW - 3600) as u32, (NOW + 86400) as u32, false);
            let s2 = sign(&www, inc, exp, tamper);
            z.records.extend(dk);
            z.records.push(s1);
            z.records.push(s2);
        }
    }
    servers
}

fn config() -> EngineConfig {
    let mut c = recursive_config();
    let b64 = dnssec_b64(key().verifying_key().as_bytes());
    c.dnssec.trust_anchors =
        vec![dnssec::parse_trust_anchor(&format!("example.com:DNSKEY:257:3:15:{b64}")).unwrap()];
    c.dnssec.clock_floor = 0;
    c
}

fn dnssec_b64(b: &[u8]) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::new();
    for c in b.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                s.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                s.push('=');
            }
        }
    }
    s
}

fn ask_do(net: &mut Net, name: &str) -> Message {
    let mut m = Message::from_vec(&query_bytes(7, name, RecordType::A, Some(1232))).unwrap();
    m.edns.as_mut().unwrap().set_dnssec_ok(true);
    net.ask_as(client(), &m.to_vec().unwrap())
}

fn net_at(servers: Vec<Server>) -> Net {
    let mut net = Net::with_servers(config(), servers);
    net.engine.set_wall_clock(net.now, NOW);
    net
}

#[test]
fn secure_answer_gets_ad_for_do_and_from_the_cache() {
    let (inc, exp) = ((NOW - 3600) as u32, (NOW + 86400) as u32);
    let mut net = net_at(signed(inc, exp, false));
    let r = ask_do(&mut net, "www.example.com.");
    assert_eq!(r.response_code, ResponseCode::NoError);
    assert!(r.authentic_data, "secure answer has AD");
    assert_eq!(ips(&r), vec!["192.0.2.1"]);
    // Without DO or AD: no AD bit.
    let plain = net.ask("www.example.com.", RecordType::A);
    assert!(!plain.authentic_data);
    // Cached: AD again, no upstream traffic, no new verification.
    let sent = net.log.len();
    let v = net.engine.stats().dnssec_verifications;
    let again = ask_do(&mut net, "www.example.com.");
    assert!(again.authentic_data);
    assert_eq!(net.log.len(), sent);
    assert_eq!(net.engine.stats().dnssec_verifications, v);
}

#[test]
fn wrong_signature_is_bogus_servfail_ede_6_and_cd_gets_the_data() {
    let (inc, exp) = ((NOW - 3600) as u32, (NOW + 86400) as u32);
    let mut net = net_at(signed(inc, exp, true));
    let r = ask_do(&mut net, "www.example.com.");
    assert_eq!(r.response_code, ResponseCode::ServFail);
    assert_eq!(ede(&r), Some(6));
    let mut m = Message::from_vec(&query_bytes(
        8,
        "www.example.com.",
        RecordType::A,
        Some(1232),
    ))
    .unwrap();
    m.metadata.checking_disabled = true;
    let cd = net.ask_as(client(), &m.to_vec().unwrap());
    assert_eq!(cd.response_code, ResponseCode::NoError);
    assert!(!cd.authentic_data);
    assert_eq!(ips(&cd), vec!["192.0.2.1"]);
}

#[test]
fn expired_and_not_yet_valid_signatures_are_ede_7_and_8() {
    let old = net_at(signed((NOW - 86400) as u32, (NOW - 7200) as u32, false));
    let mut old = old;
    let r = ask_do(&mut old, "www.example.com.");
    assert_eq!(r.response_code, ResponseCode::ServFail);
    assert_eq!(ede(&r), Some(7));
    let mut new = net_at(signed((NOW + 7200) as u32, (NOW + 86400) as u32, false));
    let r = ask_do(&mut new, "www.example.com.");
    assert_eq!(r.response_code, ResponseCode::ServFail);
    assert_eq!(ede(&r), Some(8));
}

#[test]
fn outside_the_anchor_nothing_changes() {
    let (inc, exp) = ((NOW - 3600) as u32, (NOW + 86400) as u32);
    let mut net = net_at(signed(inc, exp, true));
    let r = ask_do(&mut net, "www.example.net.");
    assert_eq!(r.response_code, ResponseCode::NoError);
    assert!(!r.authentic_data);
}
