//! Shapes where the lab's validating Unbound (tests/tests/dnssec.rs, issue 17) and our
//! resolver answered differently, reproduced on the simulated network: a zone whose
//! RRSIGs are all stripped (its DNSKEY set too), and CD=1 on a bogus answer.

use hickory_proto::op::{Message, ResponseCode};
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

/// A query with DO, CD and AD set (what `dig +dnssec +cd` sends).
fn ask_cd(net: &mut Net, id: u16, name: &str) -> Message {
    let mut m = Message::from_vec(&query_bytes(id, name, RecordType::A, Some(1232))).unwrap();
    m.edns.as_mut().unwrap().set_dnssec_ok(true);
    m.metadata.checking_disabled = true;
    m.metadata.authentic_data = true;
    net.ask_as(client(), &m.to_vec().unwrap())
}

#[test]
fn cd_gets_bogus_data_without_ad() {
    // RFC 4035 §3.2.3 / RFC 6840 §5.9: AD only for data the resolver found secure.
    // The unchecked data a CD=1 client gets of a bogus answer is not (Unbound: no AD).
    let mut net = net_with(signed_world(Shape {
        bad_ds: true,
        ..Shape::default()
    }));
    let r = ask_cd(&mut net, 9, "www.example.com.");
    assert_eq!(r.response_code, ResponseCode::NoError);
    assert_eq!(ips(&r), ["192.0.2.1"]);
    assert!(!r.authentic_data, "bogus data answered to CD=1 has no AD");
    // After a client without CD got the SERVFAIL, CD=1 again: data, still no AD.
    let r = ask_do(&mut net, "www.example.com.", RecordType::A);
    assert_eq!(r.response_code, ResponseCode::ServFail);
    let r = ask_cd(&mut net, 10, "www.example.com.");
    assert_eq!(r.response_code, ResponseCode::NoError);
    assert!(!r.authentic_data);
}

/// The NSEC/NSEC3 records (and their RRSIGs) of `m`'s authority section.
fn denial_in_authority(m: &Message) -> (usize, usize) {
    let is_denial = |t: RecordType| matches!(t, RecordType::NSEC | RecordType::NSEC3);
    let recs = m
        .authorities
        .iter()
        .filter(|r| is_denial(r.record_type()))
        .count();
    let sigs = m
        .authorities
        .iter()
        .filter(|r| covers(r).is_some_and(is_denial))
        .count();
    (recs, sigs)
}

#[test]
fn wildcard_answer_keeps_its_proof_for_do_clients_fresh_and_cached() {
    // RFC 4035 §3.1.3.3 / RFC 5155 §7.2.6: a wildcard expansion comes with the proof
    // that the name itself does not exist, so a validating stub can check it. Unbound
    // passes it on; we dropped it (answer section only), fresh and from the cache.
    for denial in [
        Denial::Nsec,
        Denial::Nsec3 {
            iterations: 0,
            opt_out: false,
        },
    ] {
        let mut net = net_with(crate::validate_chain::wildcard_world(denial));
        let r = ask_do(&mut net, "host.wild.example.com.", RecordType::A);
        assert!(r.authentic_data);
        let (recs, sigs) = denial_in_authority(&r);
        assert!(recs >= 1 && sigs == recs, "fresh: {:?}", r.authorities);
        let sent = net.log.len();
        let again = ask_do(&mut net, "host.wild.example.com.", RecordType::A);
        assert_eq!(net.log.len(), sent, "answered from the cache");
        assert!(again.authentic_data);
        assert_eq!(
            denial_in_authority(&again),
            (recs, sigs),
            "cached: {:?}",
            again.authorities
        );
        assert_eq!(ips(&again), ["192.0.2.99"]);
        // Without DO: no DNSSEC records at all.
        let plain = net.ask("host.wild.example.com.", RecordType::A);
        assert_eq!(denial_in_authority(&plain), (0, 0));
        assert!(plain.authorities.is_empty());
    }
}
