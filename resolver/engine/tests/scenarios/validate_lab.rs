//! Shapes where the lab's validating Unbound (tests/tests/dnssec.rs, issue 17) and our
//! resolver answered differently, reproduced on the simulated network: a zone whose
//! RRSIGs are all stripped (its DNSKEY set too), CD=1 on a bogus answer, a wildcard
//! answer's proof.

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;

use crate::signer::*;
use crate::sim::*;
use crate::validate_chain::{Shape, ask_do, net_with, signed_world};

/// `example.com.` signed, then every RRSIG of it taken out again: its DNSKEY set (the
/// key the DS in `com.` names) and its data come unsigned.
fn stripped_world() -> Vec<Server> {
    let mut servers = signed_world(Shape::default());
    for z in zone_mut(&mut servers, "example.com.") {
        z.records.retain(|r| r.record_type() != RecordType::RRSIG);
    }
    servers
}

#[test]
fn zone_with_its_rrsigs_stripped_is_bogus_ede_10_not_9() {
    // RFC 8914 §4.10/§4.11: the DNSKEY the DS names is there (not 9, DNSKEY Missing);
    // the signatures over it and over the data are not (10, RRSIGs Missing). Unbound
    // says 10 too.
    let mut net = net_with(stripped_world());
    let r = ask_do(&mut net, "www.example.com.", RecordType::A);
    assert_eq!(r.response_code, ResponseCode::ServFail);
    assert_eq!(ede(&r), Some(10), "RRSIGs missing");
    // The key set asked for itself: the same.
    let r = ask_do(&mut net, "example.com.", RecordType::DNSKEY);
    assert_eq!(r.response_code, ResponseCode::ServFail);
    assert_eq!(ede(&r), Some(10));
}
