//! RFC 2308 negative caching: NXDOMAIN and NODATA carry the SOA, are cached for
//! min(SOA TTL, SOA MINIMUM), and NXDOMAIN covers every type of the name.

use std::time::Duration;

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{RData, RecordType};

use crate::sim::*;

#[test]
fn nxdomain_is_cached_with_soa_and_negative_ttl() {
    let mut net = Net::new(recursive_config());
    let r = net.ask("nope.example.com.", RecordType::A);
    assert_eq!(r.response_code, ResponseCode::NXDomain);
    assert_eq!(r.name_servers_soa(), 300);
    let before = net.log.len();
    net.advance(Duration::from_secs(100));
    let r = net.ask("nope.example.com.", RecordType::A);
    assert_eq!(r.response_code, ResponseCode::NXDomain);
    assert_eq!(net.log.len(), before, "served from the negative cache");
    assert_eq!(r.name_servers_soa(), 200, "TTL counts down");
    // NXDOMAIN covers the other types too.
    let r = net.ask("nope.example.com.", RecordType::MX);
    assert_eq!(r.response_code, ResponseCode::NXDomain);
    assert_eq!(net.log.len(), before);
    // And expires.
    net.advance(Duration::from_secs(201));
    net.ask("nope.example.com.", RecordType::A);
    assert!(net.log.len() > before);
}

#[test]
fn nodata_is_cached_per_type() {
    let mut net = Net::new(recursive_config());
    let r = net.ask("www.example.com.", RecordType::AAAA);
    assert_eq!(r.response_code, ResponseCode::NoError);
    assert!(r.answers.is_empty());
    assert_eq!(r.authorities.len(), 1);
    assert!(matches!(r.authorities[0].data, RData::SOA(_)));
    let before = net.log.len();
    net.ask("www.example.com.", RecordType::AAAA);
    assert_eq!(net.log.len(), before);
    // The A record is a different type: not covered.
    let r = net.ask("www.example.com.", RecordType::A);
    assert_eq!(ips(&r), ["192.0.2.1"]);
    assert_eq!(net.log.len(), before + 1);
}

#[test]
fn nxdomain_after_cname_keeps_the_chain() {
    let mut net = Net::new(recursive_config());
    let r = net.ask("dangling.example.com.", RecordType::A);
    assert_eq!(r.response_code, ResponseCode::NXDomain);
    assert_eq!(r.answers.len(), 1);
    assert_eq!(r.answers[0].record_type(), RecordType::CNAME);
}

#[test]
fn negative_ttl_is_clamped_by_config() {
    let mut net = Net::new(engine::EngineConfig {
        max_negative_ttl: Duration::from_secs(30),
        ..recursive_config()
    });
    let r = net.ask("nope.example.com.", RecordType::A);
    assert_eq!(r.response_code, ResponseCode::NXDomain);
    let before = net.log.len();
    net.advance(Duration::from_secs(31));
    net.ask("nope.example.com.", RecordType::A);
    assert!(net.log.len() > before);
}

trait SoaTtl {
    fn name_servers_soa(&self) -> u32;
}
impl SoaTtl for hickory_proto::op::Message {
    fn name_servers_soa(&self) -> u32 {
        self.authorities
            .iter()
            .find(|r| r.record_type() == RecordType::SOA)
            .expect("SOA in authority")
            .ttl
    }
}
