//! RFC 8198, aggressive use of the validated cache (NSEC): a second name in a gap that
//! a validated NSEC already covers, or a second missing type at a name whose NSEC is
//! held, is answered from what is held, with no upstream query; the proof is the one a
//! server would have sent, AD included. Nothing is synthesised from what was not
//! validated, past a record's TTL, or with `aggressive_nsec` off.

use std::time::Duration;

use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::RecordType;

use crate::signer::NOW;
use crate::sim::*;
use crate::validate_chain::{Shape, ask_do, net_with, root_anchored, signed_world};
use engine::EngineConfig;

fn upstream(net: &Net) -> usize {
    net.log.len()
}

fn count(m: &Message, t: RecordType) -> usize {
    m.authorities
        .iter()
        .filter(|r| r.record_type() == t)
        .count()
}

#[test]
fn a_second_name_in_a_covered_gap_is_nxdomain_without_asking() {
    let mut net = net_with(signed_world(Shape::default()));
    // nope.example.com. lies between loop2. and ns1.; the wildcard is covered by the
    // apex's NSEC (apex → alias.).
    let r = ask_do(&mut net, "nope.example.com.", RecordType::A);
    assert_eq!(r.response_code, ResponseCode::NXDomain);
    assert!(r.authentic_data);
    let before = upstream(&net);
    for name in [
        "np.example.com.",
        "mmm.example.com.",
        "deeper.np.example.com.",
    ] {
        let r = ask_do(&mut net, name, RecordType::A);
        assert_eq!(r.response_code, ResponseCode::NXDomain, "{name}");
        assert!(r.authentic_data, "{name}: secure, so AD");
        assert_eq!(count(&r, RecordType::SOA), 1, "{name}");
        assert_eq!(
            count(&r, RecordType::NSEC),
            2,
            "{name}: the name's and the wildcard's"
        );
        assert!(
            count(&r, RecordType::RRSIG) >= 3,
            "{name}: SOA and NSEC signatures"
        );
        // A client without DO gets the SOA alone.
        let r = net.ask(name, RecordType::AAAA);
        assert_eq!(r.response_code, ResponseCode::NXDomain, "{name}");
        assert_eq!(count(&r, RecordType::NSEC), 0, "{name}");
        assert_eq!(count(&r, RecordType::SOA), 1, "{name}");
    }
    assert_eq!(
        upstream(&net),
        before,
        "answered from the held NSEC records"
    );
    assert!(net.engine.stats().dnssec_aggressive >= 3);
    assert!(net.engine.stats().aggressive_nsec_records >= 2);
    // A name in a gap no held NSEC covers is asked for.
    let r = ask_do(&mut net, "zzz.example.com.", RecordType::A);
    assert_eq!(r.response_code, ResponseCode::NXDomain);
    assert!(upstream(&net) > before);
}

#[test]
fn another_missing_type_at_a_name_is_nodata_without_asking() {
    let mut net = net_with(signed_world(Shape::default()));
    let r = ask_do(&mut net, "www.example.com.", RecordType::TXT);
    assert_eq!(r.response_code, ResponseCode::NoError);
    assert!(r.answers.is_empty());
    let before = upstream(&net);
    let r = ask_do(&mut net, "www.example.com.", RecordType::MX);
    assert_eq!(r.response_code, ResponseCode::NoError);
    assert!(r.answers.is_empty());
    assert!(r.authentic_data);
    assert_eq!(count(&r, RecordType::NSEC), 1);
    assert_eq!(upstream(&net), before);
    // The type the NSEC lists is not denied: A is asked for and answered.
    let r = ask_do(&mut net, "www.example.com.", RecordType::A);
    assert_eq!(r.answers.len(), 2, "the A record and its RRSIG");
    assert!(upstream(&net) > before);
}

#[test]
fn nothing_is_synthesised_past_the_ttl_or_when_switched_off() {
    let mut net = net_with(signed_world(Shape::default()));
    ask_do(&mut net, "nope.example.com.", RecordType::A);
    // The zone's negative TTL (SOA MINIMUM) is 300 s.
    net.advance(Duration::from_secs(301));
    let before = upstream(&net);
    let r = ask_do(&mut net, "np.example.com.", RecordType::A);
    assert_eq!(r.response_code, ResponseCode::NXDomain);
    assert!(
        upstream(&net) > before,
        "the held NSEC expired: asked again"
    );

    let mut c = root_anchored(recursive_config());
    c.dnssec.aggressive_nsec = false;
    let mut net = Net::with_servers(c, signed_world(Shape::default()));
    net.engine.set_wall_clock(net.now, NOW);
    ask_do(&mut net, "nope.example.com.", RecordType::A);
    let before = upstream(&net);
    ask_do(&mut net, "np.example.com.", RecordType::A);
    assert!(upstream(&net) > before, "off: asked");
    assert_eq!(net.engine.stats().dnssec_aggressive, 0);
    assert_eq!(net.engine.stats().aggressive_nsec_records, 0);
}

#[test]
fn insecure_zones_and_unvalidated_denials_are_never_used() {
    // example.net. is unsigned: its NXDOMAIN carries no NSEC to keep.
    let mut net = net_with(signed_world(Shape::default()));
    ask_do(&mut net, "nope.example.net.", RecordType::A);
    let before = upstream(&net);
    let r = ask_do(&mut net, "nope2.example.net.", RecordType::A);
    assert_eq!(r.response_code, ResponseCode::NXDomain);
    assert!(!r.authentic_data);
    assert!(upstream(&net) > before);
    // Without validation nothing is held at all.
    let mut c = recursive_config();
    c.dnssec.enabled = false;
    let mut net = Net::with_servers(c, signed_world(Shape::default()));
    ask_do(&mut net, "nope.example.com.", RecordType::A);
    let before = upstream(&net);
    ask_do(&mut net, "np.example.com.", RecordType::A);
    assert!(upstream(&net) > before);
}

#[test]
fn the_table_of_held_nsec_records_stays_within_its_cap() {
    let mut c: EngineConfig = root_anchored(recursive_config());
    c.limits.aggressive_nsec_records = 3;
    let mut net = Net::with_servers(c, signed_world(Shape::default()));
    net.engine.set_wall_clock(net.now, NOW);
    // Each NXDOMAIN in a new gap brings two NSEC records.
    for name in [
        "nope.example.com.",
        "zzz.example.com.",
        "bz.example.com.",
        "f.example.com.",
    ] {
        let r = ask_do(&mut net, name, RecordType::A);
        assert_eq!(r.response_code, ResponseCode::NXDomain, "{name}");
        assert!(net.engine.stats().aggressive_nsec_records <= 3);
    }
    assert_eq!(net.engine.stats().aggressive_nsec_records, 3);
}
