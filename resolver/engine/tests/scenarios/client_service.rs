//! RFC 1035 / 6891 / 8482 client service: ACL, error RCODEs, EDNS, truncation, case.

use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{DNSClass, RData, RecordType};

use crate::sim::*;
use engine::{Client, Transport};

fn public_client() -> Client {
    Client {
        addr: "203.0.113.7:5353".parse().unwrap(),
        transport: Transport::Udp,
    }
}

#[test]
fn acl_refuses_public_clients_without_upstream_traffic() {
    let mut net = Net::new(recursive_config());
    let r = net.ask_as(
        public_client(),
        &query_bytes(1, "www.example.com.", RecordType::A, Some(1232)),
    );
    assert_eq!(r.response_code, ResponseCode::Refused);
    // No EDE over UDP: the REFUSED must not be larger than the query (no amplifier).
    assert_eq!(ede(&r), None);
    assert!(net.log.is_empty());
    assert_eq!(net.engine.stats().refused, 1);
}

#[test]
fn formerr_for_unparsable_query_echoes_id() {
    let mut net = Net::new(recursive_config());
    let mut bytes = vec![0xab, 0xcd, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
    bytes.extend_from_slice(&[0x3f, b'x']); // a label longer than the packet
    net.send_from(client(), &bytes);
    let (_, reply) = net.replies.pop().unwrap();
    assert_eq!(&reply[..2], &[0xab, 0xcd]);
    assert_eq!(reply[2] & 0x80, 0x80, "QR set");
    assert_eq!(reply[3] & 0x0f, 1, "FORMERR");
    assert_eq!(net.engine.stats().formerr, 1);
}

/// A bare header claiming 65535 questions: hickory would reserve 5.8 MB for them before
/// failing on the first, which halted a small hvt image. The engine must answer from
/// the header alone, FORMERR inside and REFUSED outside.
#[test]
fn header_claiming_65535_questions_is_answered_from_the_header() {
    let mut net = Net::new(recursive_config());
    let bytes = [0x12, 0x34, 0x01, 0x00, 0xff, 0xff, 0, 0, 0, 0, 0, 0];
    net.send_from(client(), &bytes);
    let (_, reply) = net.replies.pop().unwrap();
    assert_eq!(&reply[..2], &[0x12, 0x34]);
    assert_eq!(reply[3] & 0x0f, 1, "FORMERR");
    net.send_from(public_client(), &bytes);
    let (_, reply) = net.replies.pop().unwrap();
    assert_eq!(reply[3] & 0x0f, 5, "REFUSED");
    assert!(reply.len() <= bytes.len(), "no amplification");
    assert!(net.log.is_empty());
}

#[test]
fn formerr_for_no_question() {
    let mut net = Net::new(recursive_config());
    let m = Message::new(9, MessageType::Query, OpCode::Query);
    net.send_from(client(), &m.to_vec().unwrap());
    let (_, reply) = net.replies.pop().unwrap();
    assert_eq!(
        Message::from_vec(&reply).unwrap().response_code,
        ResponseCode::FormErr
    );
}

#[test]
fn short_packets_and_responses_are_dropped_silently() {
    let mut net = Net::new(recursive_config());
    net.send_from(client(), &[1, 2, 3]);
    let mut resp = query_bytes(5, "www.example.com.", RecordType::A, None);
    resp[2] |= 0x80;
    net.send_from(client(), &resp);
    assert!(net.replies.is_empty());
    assert_eq!(net.engine.stats().client_dropped, 2);
}

#[test]
fn notimp_for_other_opcodes_and_zone_transfers() {
    let mut net = Net::new(recursive_config());
    let mut m = Message::new(3, MessageType::Query, OpCode::Status);
    m.add_query(Query::query(n("example.com."), RecordType::A));
    net.send_from(client(), &m.to_vec().unwrap());
    let (_, reply) = net.replies.pop().unwrap();
    assert_eq!(reply[3] & 0x0f, 4);
    let r = net.ask_as(
        client(),
        &query_bytes(4, "example.com.", RecordType::AXFR, None),
    );
    assert_eq!(r.response_code, ResponseCode::NotImp);
    let mut m = Message::new(5, MessageType::Query, OpCode::Query);
    let mut q = Query::query(n("version.bind."), RecordType::TXT);
    q.set_query_class(DNSClass::CH);
    m.add_query(q);
    let r = net.ask_as(client(), &m.to_vec().unwrap());
    assert_eq!(r.response_code, ResponseCode::NotImp);
    assert!(net.log.is_empty());
}

#[test]
fn rd0_is_answered_from_cache_only() {
    let mut net = Net::new(engine::EngineConfig {
        allow_snoop: true,
        ..recursive_config()
    });
    let mut q =
        Message::from_vec(&query_bytes(6, "www.example.com.", RecordType::A, None)).unwrap();
    q.metadata.recursion_desired = false;
    let r = net.ask_as(client(), &q.to_vec().unwrap());
    assert_eq!(r.response_code, ResponseCode::Refused);
    assert!(!r.recursion_desired);
    assert!(net.log.is_empty());
    net.ask("www.example.com.", RecordType::A);
    let before = net.log.len();
    let r = net.ask_as(client(), &q.to_vec().unwrap());
    assert_eq!(r.response_code, ResponseCode::NoError);
    assert_eq!(ips(&r), ["192.0.2.1"]);
    assert_eq!(net.log.len(), before);
}

#[test]
fn rfc6891_edns_echoed_only_when_present() {
    let mut net = Net::new(recursive_config());
    let r = net.ask_as(
        client(),
        &query_bytes(7, "www.example.com.", RecordType::A, None),
    );
    assert!(r.edns.is_none());
    assert!(r.recursion_available);
    let r = net.ask_as(
        client(),
        &query_bytes(8, "www.example.com.", RecordType::A, Some(4096)),
    );
    assert_eq!(r.edns.as_ref().unwrap().max_payload(), 1232);
}

#[test]
fn rfc6891_badvers_for_unknown_edns_version() {
    let mut net = Net::new(recursive_config());
    let mut m = Message::from_vec(&query_bytes(
        9,
        "www.example.com.",
        RecordType::A,
        Some(1232),
    ))
    .unwrap();
    m.edns.as_mut().unwrap().set_version(1);
    let r = net.ask_as(client(), &m.to_vec().unwrap());
    assert_eq!(u16::from(r.response_code), 16, "BADVERS");
    assert!(net.log.is_empty());
}

#[test]
fn rfc1035_udp_truncation_without_edns() {
    let mut net = Net::new(recursive_config());
    let r = net.ask_as(
        client(),
        &query_bytes(10, "big.example.com.", RecordType::TXT, None),
    );
    assert!(r.truncation, "three 250-byte TXT records exceed 512 bytes");
    assert!(r.answers.is_empty());
    assert_eq!(r.queries.len(), 1);
    // Over TCP the same answer fits.
    let tcp = Client {
        addr: "192.168.1.10:40001".parse().unwrap(),
        transport: Transport::Tcp { conn: 3 },
    };
    let r = net.ask_as(
        tcp,
        &query_bytes(11, "big.example.com.", RecordType::TXT, None),
    );
    assert!(!r.truncation);
    assert_eq!(r.answers.len(), 3);
    // With EDNS 1232 it fits over UDP too.
    let r = net.ask_as(
        client(),
        &query_bytes(12, "big.example.com.", RecordType::TXT, Some(1232)),
    );
    assert!(!r.truncation);
    assert_eq!(r.answers.len(), 3);
}

#[test]
fn question_case_is_preserved() {
    let mut net = Net::new(recursive_config());
    let r = net.ask_as(
        client(),
        &query_bytes(13, "WwW.ExAmPlE.cOm.", RecordType::A, None),
    );
    let q = r.queries[0].name();
    assert_eq!(q.to_ascii(), "WwW.ExAmPlE.cOm.");
    assert_eq!(r.answers[0].name.to_ascii(), "WwW.ExAmPlE.cOm.");
    assert_eq!(r.id, 13);
}

#[test]
fn rfc8482_any_gets_minimal_hinfo() {
    let mut net = Net::new(recursive_config());
    let r = net.ask("example.com.", RecordType::ANY);
    assert_eq!(r.answers.len(), 1);
    assert!(matches!(r.answers[0].data, RData::HINFO(_)));
    assert!(net.log.is_empty());
}
