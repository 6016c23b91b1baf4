//! Spoofing and poisoning defences: strict response matching and bailiwick scrubbing.

use std::net::SocketAddr;

use hickory_proto::op::{Message, MessageType, OpCode, Query};
use hickory_proto::rr::RecordType;

use crate::sim::*;
use engine::{EngineConfig, Transport};

/// Start a resolution and stop before the root's answer is delivered.
fn pending_root_query(net: &mut Net) -> Sent {
    net.send_from(
        client(),
        &query_bytes(1, "www.example.com.", RecordType::A, None),
    );
    net.log.last().unwrap().clone()
}

fn forged(sent: &Sent, id: u16, qname: hickory_proto::rr::Name) -> Vec<u8> {
    let mut m = Message::new(id, MessageType::Response, OpCode::Query);
    m.add_query(Query::query(qname.clone(), sent.qtype));
    m.metadata.authoritative = true;
    m.add_answer(a(&qname.to_ascii(), 86400, "6.6.6.6"));
    m.to_vec().unwrap()
}

#[test]
fn spoofed_responses_are_dropped_and_the_real_one_accepted() {
    let mut net = Net::new(recursive_config());
    let s = pending_root_query(&mut net);
    let from = s.server;
    let wrong_ip: SocketAddr = "192.0.2.99:53".parse().unwrap();
    net.engine.handle_response(
        net.now,
        wrong_ip,
        s.local_port,
        Transport::Udp,
        &forged(&s, s.id, s.qname.clone()),
    );
    net.engine.handle_response(
        net.now,
        from,
        s.local_port,
        Transport::Udp,
        &forged(&s, s.id ^ 1, s.qname.clone()),
    );
    net.engine.handle_response(
        net.now,
        from,
        s.local_port ^ 1,
        Transport::Udp,
        &forged(&s, s.id, s.qname.clone()),
    );
    net.engine.handle_response(
        net.now,
        from,
        s.local_port,
        Transport::Tcp { conn: 1 },
        &forged(&s, s.id, s.qname.clone()),
    );
    // Same name, different letter case: 0x20 catches it.
    let mut flipped = s.qname.to_ascii();
    flipped = flipped
        .chars()
        .map(|c| {
            if c.is_ascii_lowercase() {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect();
    net.engine.handle_response(
        net.now,
        from,
        s.local_port,
        Transport::Udp,
        &forged(&s, s.id, n(&flipped)),
    );
    net.engine
        .handle_response(net.now, from, s.local_port, Transport::Udp, &[0u8; 7]);
    let st = net.engine.stats().clone();
    assert_eq!(st.dropped_wrong_source, 2);
    assert_eq!(st.dropped_id_mismatch, 1);
    assert_eq!(st.dropped_case_mismatch, 1);
    assert!(st.dropped_unknown_port >= 1);
    assert!(st.dropped_malformed >= 1);
    net.drive_bounded(1000);
    let (_, reply) = net.replies.last().unwrap();
    let r = Message::from_vec(reply).unwrap();
    assert_eq!(ips(&r), ["192.0.2.1"], "the genuine chain still resolves");
}

#[test]
fn out_of_bailiwick_records_are_not_cached() {
    let mut net = Net::new(recursive_config());
    net.server(NS1_EXAMPLE).behavior = Behavior::Edit(Box::new(|_, mut m| {
        m.answers.push(a("victim.net.", 86400, "6.6.6.6"));
        m.additionals.push(a("www.example.net.", 86400, "6.6.6.6"));
        m.authorities.push(ns("net.", 86400, "evil.example.com."));
        Some(m)
    }));
    net.server(NS2_EXAMPLE).behavior = Behavior::Drop;
    let r = net.ask("www.example.com.", RecordType::A);
    assert_eq!(ips(&r), ["192.0.2.1"]);
    assert!(net.engine.stats().scrubbed_records >= 3);
    let before = net.log.len();
    let r = net.ask("www.example.net.", RecordType::A);
    assert_eq!(
        ips(&r),
        ["192.0.2.2"],
        "the injected address was not cached"
    );
    let t = net.traffic(before);
    assert!(
        t.iter().any(|q| q.0 == GTLD),
        "net. delegation not hijacked: {t:?}"
    );
}

#[test]
fn referral_outside_the_zone_is_lame() {
    let mut net = Net::new(recursive_config());
    // example.com's servers refer "upwards" to a sibling zone: not a subzone, rejected.
    for ip in [NS1_EXAMPLE, NS2_EXAMPLE] {
        net.server(ip).behavior = Behavior::Edit(Box::new(|_, mut m| {
            m.answers.clear();
            m.authorities = vec![ns("example.org.", 3600, "ns.evil.test.")];
            m.additionals = vec![a("ns.evil.test.", 3600, "6.6.6.6")];
            m.metadata.authoritative = false;
            Some(m)
        }));
    }
    let r = net.ask("www.example.com.", RecordType::A);
    assert_eq!(r.response_code, hickory_proto::op::ResponseCode::ServFail);
    assert!(
        !net.log
            .iter()
            .any(|s| s.server.ip().to_string() == "6.6.6.6")
    );
}

#[test]
fn glue_for_names_outside_the_referring_zone_is_ignored() {
    let mut net = Net::new(recursive_config());
    // The root hands out an address for a name under example.com. as glue for com.
    net.server(ROOT).behavior = Behavior::Edit(Box::new(|_, mut m| {
        m.additionals.push(a("www.example.com.", 86400, "6.6.6.6"));
        Some(m)
    }));
    let r = net.ask("www.example.com.", RecordType::A);
    assert_eq!(ips(&r), ["192.0.2.1"]);
}

#[test]
fn case_echo_failure_falls_back_to_no_0x20() {
    let mut net = Net::new(recursive_config());
    net.server(ROOT).behavior = Behavior::LowercaseQuestion;
    let r = net.ask("www.example.com.", RecordType::A);
    assert_eq!(ips(&r), ["192.0.2.1"]);
    assert!(net.engine.stats().dropped_case_mismatch >= 1);
    let _ = EngineConfig::default();
}
