//! DNSSEC chains of trust (issue 17): a root anchor, DS records down to a signed
//! grandchild, insecure delegations proven by NSEC, broken links; negative answers
//! proven by NSEC and NSEC3; forwarding mode. Real Ed25519 signatures, fixed clock.

use std::net::SocketAddr;

use hickory_proto::op::{Message, Query, ResponseCode};
use hickory_proto::rr::RecordType;

use crate::signer::*;
use crate::sim::*;
use engine::{EngineConfig, Mode};

pub fn root_key() -> Key {
    Key::new(1)
}
pub fn com_key() -> Key {
    Key::new(2)
}
pub fn example_key() -> Key {
    Key::new(3)
}

/// How to build the signed world.
#[derive(Clone, Copy)]
pub struct Shape {
    /// example.com.'s denial.
    pub example_denial: Denial,
    /// The DS for example.com. in com. has a flipped digest byte.
    pub bad_ds: bool,
    /// example.com. publishes no DNSKEY.
    pub no_dnskey: bool,
    /// com.'s denial (com., net. and org. use NSEC3 with opt-out on the internet).
    pub com_denial: Denial,
}

impl Default for Shape {
    fn default() -> Self {
        Shape {
            example_denial: Denial::Nsec,
            bad_ds: false,
            no_dnskey: false,
            com_denial: Denial::Nsec,
        }
    }
}

/// `.`, `com.` and `example.com.` signed with DS links; `net.`, `example.net.` and
/// `glueless.com.` unsigned, their delegations without DS (proven by NSEC).
pub fn signed_world(s: Shape) -> Vec<Server> {
    sign_world(world(), s)
}

/// [`signed_world`] from another unsigned world of the same zones (records added).
pub fn sign_world(mut servers: Vec<Server>, s: Shape) -> Vec<Server> {
    for z in zone_mut(&mut servers, ".") {
        z.records.push(com_key().ds("com."));
        sign_zone(z, &root_key(), valid(), Denial::Nsec);
    }
    for z in zone_mut(&mut servers, "com.") {
        let mut ds = example_key().ds("example.com.");
        if s.bad_ds {
            let mut b = dnssec::Record::from_hickory(&ds)
                .unwrap()
                .rdata
                .into_owned();
            let last = b.len() - 1;
            b[last] ^= 1;
            ds = opaque("example.com.", 3600, RecordType::DS, &b);
        }
        z.records.push(ds);
        sign_zone(z, &com_key(), valid(), s.com_denial);
    }
    for z in zone_mut(&mut servers, "example.com.") {
        sign_zone(z, &example_key(), valid(), s.example_denial);
        if s.no_dnskey {
            z.records.retain(|r| {
                r.record_type() != RecordType::DNSKEY && covers(r) != Some(RecordType::DNSKEY)
            });
        }
    }
    servers
}

pub fn root_anchored(mut c: EngineConfig) -> EngineConfig {
    c.dnssec.trust_anchors = vec![root_key().anchor(".")];
    c.dnssec.clock_floor = 0;
    c
}

pub fn net_with(servers: Vec<Server>) -> Net {
    let mut net = Net::with_servers(root_anchored(recursive_config()), servers);
    net.engine.set_wall_clock(net.now, NOW);
    net
}

pub fn ask_do(net: &mut Net, name: &str, t: RecordType) -> Message {
    let mut m = Message::from_vec(&query_bytes(7, name, t, Some(1232))).unwrap();
    m.edns.as_mut().unwrap().set_dnssec_ok(true);
    net.ask_as(client(), &m.to_vec().unwrap())
}

fn has(m: &Message, t: RecordType) -> bool {
    m.answers
        .iter()
        .chain(m.authorities.iter())
        .any(|r| r.record_type() == t)
}

#[test]
fn secure_answer_two_zones_below_a_root_anchor() {
    let mut net = net_with(signed_world(Shape::default()));
    let r = ask_do(&mut net, "www.example.com.", RecordType::A);
    assert_eq!(r.response_code, ResponseCode::NoError);
    assert_eq!(ips(&r), ["192.0.2.1"]);
    assert!(r.authentic_data, "secure through . → com. → example.com.");
    assert!(net.engine.stats().dnssec_verifications >= 5);
    // The keys are cached: another name in the zone costs one verification.
    let v = net.engine.stats().dnssec_verifications;
    let r = ask_do(&mut net, "a.b.c.example.com.", RecordType::A);
    assert!(r.authentic_data);
    assert_eq!(net.engine.stats().dnssec_verifications, v + 1);
}

#[test]
fn keys_are_fetched_beside_the_queries_not_after_the_answer() {
    // Empty cache, 10 ms per upstream round trip: . → com. → example.com. is three
    // round trips; each zone's DNSKEY set is asked beside the query to it, so the
    // answer validates as it arrives instead of three key round trips later.
    let mut net = net_with(signed_world(Shape::default()));
    let start = net.now;
    let r = ask_do(&mut net, "www.example.com.", RecordType::A);
    let took = net.now.saturating_duration_since(start);
    assert!(r.authentic_data, "{r}");
    let t = net.traffic(0);
    let keys: Vec<_> = t.iter().filter(|q| q.2 == RecordType::DNSKEY).collect();
    assert_eq!(keys.len(), 3, "one DNSKEY query per zone: {t:?}");
    assert_eq!(t.len(), 6, "nothing asked twice: {t:?}");
    assert_eq!(net.engine.stats().dnssec_key_primes, 3);
    assert!(
        took <= std::time::Duration::from_millis(35),
        "{took:?} for three zones at 10 ms: {t:?}"
    );
    // Cached keys are not asked again: the next name is one query.
    let before = net.log.len();
    let r = ask_do(&mut net, "a.b.c.example.com.", RecordType::A);
    assert!(r.authentic_data);
    assert_eq!(net.traffic(before).len(), 1);
}

#[test]
fn ds_that_matches_no_key_is_bogus_ede_9() {
    // RFC 8914 §4.10: "a DS record existed at a parent, but no supported matching
    // DNSKEY record could be found for the child" is DNSKEY Missing, not plain Bogus.
    let mut net = net_with(signed_world(Shape {
        bad_ds: true,
        ..Shape::default()
    }));
    let r = ask_do(&mut net, "www.example.com.", RecordType::A);
    assert_eq!(r.response_code, ResponseCode::ServFail);
    assert_eq!(ede(&r), Some(9));
    assert!(net.engine.stats().dnssec_bogus > 0);
}

#[test]
fn zone_without_its_dnskey_is_bogus_ede_9() {
    let mut net = net_with(signed_world(Shape {
        no_dnskey: true,
        ..Shape::default()
    }));
    let r = ask_do(&mut net, "www.example.com.", RecordType::A);
    assert_eq!(r.response_code, ResponseCode::ServFail);
    assert_eq!(ede(&r), Some(9));
}

#[test]
fn insecure_delegation_proven_by_nsec_is_insecure_not_bogus() {
    let mut net = net_with(signed_world(Shape::default()));
    // net. has no DS at the root; glueless.com. none in com.
    let r = ask_do(&mut net, "www.example.net.", RecordType::A);
    assert_eq!(r.response_code, ResponseCode::NoError);
    assert_eq!(ips(&r), ["192.0.2.2"]);
    assert!(!r.authentic_data);
    let r = ask_do(&mut net, "www.glueless.com.", RecordType::A);
    assert_eq!(r.response_code, ResponseCode::NoError);
    assert_eq!(ips(&r), ["192.0.2.3"]);
    assert!(!r.authentic_data);
    assert_eq!(net.engine.stats().dnssec_bogus, 0);
}

/// Strip NSEC records (and their RRSIGs) from a server's answers to `qtype`
/// (`None`: all).
fn strip_nsec(s: &mut Server, qtype: Option<RecordType>) {
    s.behavior = Behavior::Edit(Box::new(move |q: &Message, mut m: Message| {
        if qtype.is_none_or(|t| q.queries[0].query_type() == t) {
            m.authorities.retain(|r| {
                !matches!(r.record_type(), RecordType::NSEC | RecordType::NSEC3)
                    && !matches!(covers(r), Some(RecordType::NSEC | RecordType::NSEC3))
            });
        }
        Some(m)
    }));
}

#[test]
fn unsigned_child_without_a_proven_missing_ds_is_bogus() {
    let mut servers = signed_world(Shape::default());
    let gtld = servers
        .iter_mut()
        .find(|s| s.ip.to_string() == GTLD)
        .unwrap();
    strip_nsec(gtld, Some(RecordType::DS));
    let mut net = net_with(servers);
    let r = ask_do(&mut net, "www.glueless.com.", RecordType::A);
    assert_eq!(r.response_code, ResponseCode::ServFail);
    assert_eq!(ede(&r), Some(12), "the DS NODATA without its NSEC");
}

// Negative answers.

#[test]
fn nsec_nxdomain_and_nodata_are_secure_with_ad() {
    let mut net = net_with(signed_world(Shape::default()));
    let r = ask_do(&mut net, "nope.example.com.", RecordType::A);
    assert_eq!(r.response_code, ResponseCode::NXDomain);
    assert!(r.authentic_data);
    assert!(has(&r, RecordType::NSEC));
    let r = ask_do(&mut net, "www.example.com.", RecordType::TXT);
    assert_eq!(r.response_code, ResponseCode::NoError);
    assert!(r.answers.is_empty());
    assert!(r.authentic_data);
}

#[test]
fn negative_answer_without_nsec_is_bogus_ede_12() {
    let mut servers = signed_world(Shape::default());
    for s in servers.iter_mut().filter(|s| {
        let ip = s.ip.to_string();
        ip == NS1_EXAMPLE || ip == NS2_EXAMPLE
    }) {
        strip_nsec(s, Some(RecordType::A));
    }
    let mut net = net_with(servers);
    let r = ask_do(&mut net, "nope.example.com.", RecordType::A);
    assert_eq!(r.response_code, ResponseCode::ServFail);
    assert_eq!(ede(&r), Some(12));
}

fn nsec3_net(iterations: u16, opt_out: bool) -> Net {
    net_with(signed_world(Shape {
        example_denial: Denial::Nsec3 {
            iterations,
            opt_out,
        },
        ..Shape::default()
    }))
}

#[test]
fn nsec3_nxdomain_and_nodata_are_secure_with_ad() {
    let mut net = nsec3_net(0, false);
    let r = ask_do(&mut net, "nope.example.com.", RecordType::A);
    assert_eq!(r.response_code, ResponseCode::NXDomain);
    assert!(r.authentic_data);
    assert!(has(&r, RecordType::NSEC3));
    let r = ask_do(&mut net, "www.example.com.", RecordType::TXT);
    assert_eq!(r.response_code, ResponseCode::NoError);
    assert!(r.answers.is_empty());
    assert!(r.authentic_data);
}

#[test]
fn nsec3_opt_out_nxdomain_is_insecure() {
    let mut net = nsec3_net(0, true);
    let r = ask_do(&mut net, "nope.example.com.", RecordType::A);
    assert_eq!(r.response_code, ResponseCode::NXDomain);
    assert!(
        !r.authentic_data,
        "opt-out: an unsigned delegation could be there"
    );
    assert_eq!(net.engine.stats().dnssec_bogus, 0);
}

#[test]
fn nsec3_iterations_above_150_are_insecure_with_ede_27() {
    let mut net = nsec3_net(151, false);
    let r = ask_do(&mut net, "nope.example.com.", RecordType::A);
    assert_eq!(r.response_code, ResponseCode::NXDomain);
    assert!(!r.authentic_data);
    assert_eq!(ede(&r), Some(27), "RFC 9276: the EDE reaches the client");
    // And from the cache.
    let sent = net.log.len();
    let r = ask_do(&mut net, "nope.example.com.", RecordType::A);
    assert_eq!(net.log.len(), sent);
    assert_eq!(r.response_code, ResponseCode::NXDomain);
    assert_eq!(ede(&r), Some(27), "cached insecure answer keeps its EDE");
    assert_eq!(net.engine.stats().dnssec_bogus, 0);
    // 150 is still fine.
    let mut net = nsec3_net(150, false);
    let r = ask_do(&mut net, "nope.example.com.", RecordType::A);
    assert!(r.authentic_data);
}

// Forwarding mode.

const FWD: &str = "10.9.9.9";

/// A validating-agnostic recursive upstream: answers every question from the deepest
/// zone of the signed world that holds it (DS from the parent), signs for DO, RA=1.
fn forwarder(world: Vec<Server>) -> Server {
    let zones: Vec<Zone> = world
        .into_iter()
        .filter(|s| s.ip.to_string() != NS2_EXAMPLE)
        .flat_map(|s| s.zones)
        .collect();
    Server {
        ip: FWD.parse().unwrap(),
        zones: Vec::new(),
        behavior: Behavior::Edit(Box::new(move |q: &Message, mut m: Message| {
            let qq: &Query = &q.queries[0];
            let z = zones
                .iter()
                .filter(|z| {
                    z.origin.zone_of(qq.name())
                        && !(qq.query_type() == RecordType::DS && z.origin == *qq.name())
                })
                .max_by_key(|z| z.origin.num_labels())?;
            m.metadata.response_code = ResponseCode::NoError;
            z.answer(qq, &mut m);
            m.metadata.authoritative = false;
            m.metadata.recursion_available = true;
            if !m.answers.is_empty()
                || m.authorities
                    .iter()
                    .any(|r| r.record_type() == RecordType::SOA)
            {
                // A recursive server answers; referrals stay out.
            } else {
                m.authorities.clear();
                m.additionals.clear();
            }
            if q.edns.as_ref().is_some_and(|e| e.flags().dnssec_ok) {
                z.sign(&mut m);
            }
            Some(m)
        })),
    }
}

fn forward_net(world: Vec<Server>) -> Net {
    let c = EngineConfig {
        mode: Mode::Forward {
            upstreams: vec![SocketAddr::new(FWD.parse().unwrap(), 53)],
        },
        ..EngineConfig::default()
    };
    let mut net = Net::with_servers(root_anchored(c), vec![forwarder(world)]);
    net.engine.set_wall_clock(net.now, NOW);
    net
}

#[test]
fn forwarding_validates_a_signed_zone_and_leaves_unsigned_ones_insecure() {
    let mut net = forward_net(signed_world(Shape::default()));
    let r = ask_do(&mut net, "www.example.com.", RecordType::A);
    assert_eq!(r.response_code, ResponseCode::NoError);
    assert!(r.authentic_data, "secure through the forwarder");
    for name in ["www.example.net.", "www.glueless.com."] {
        let r = ask_do(&mut net, name, RecordType::A);
        assert_eq!(r.response_code, ResponseCode::NoError, "{name}");
        assert!(!r.authentic_data, "{name}");
        assert_eq!(ips(&r).len(), 1, "{name}");
        // A client without DO too.
        let r = net.ask(name, RecordType::A);
        assert_eq!(r.response_code, ResponseCode::NoError, "{name}");
    }
    let r = ask_do(&mut net, "nope.example.net.", RecordType::A);
    assert_eq!(r.response_code, ResponseCode::NXDomain);
    assert_eq!(net.engine.stats().dnssec_bogus, 0);
}

#[test]
fn forwarding_still_catches_a_forged_answer_in_a_signed_zone() {
    let mut world = signed_world(Shape::default());
    for z in zone_mut(&mut world, "example.com.") {
        for r in z.records.iter_mut() {
            if r.name == n("www.example.com.") && r.record_type() == RecordType::A {
                *r = a("www.example.com.", 300, "203.0.113.66");
            }
        }
    }
    let mut net = forward_net(world);
    let r = ask_do(&mut net, "www.example.com.", RecordType::A);
    assert_eq!(r.response_code, ResponseCode::ServFail);
    assert_eq!(ede(&r), Some(6));
}

/// A forwarder that knows nothing of DNSSEC: it ignores DO, so no RRSIG, NSEC or
/// NSEC3 ever comes back, and DS/DNSKEY questions get whatever its zones hold.
fn stripping_forwarder(world: Vec<Server>) -> Server {
    let mut s = forwarder(world);
    let Behavior::Edit(mut inner) = std::mem::replace(&mut s.behavior, Behavior::Normal) else {
        unreachable!()
    };
    s.behavior = Behavior::Edit(Box::new(move |q: &Message, m: Message| {
        let mut plain = q.clone();
        if let Some(e) = plain.edns.as_mut() {
            e.set_dnssec_ok(false);
        }
        inner(&plain, m)
    }));
    s
}

#[test]
fn forwarding_through_a_dnssec_oblivious_upstream() {
    let mut net = Net::with_servers(
        root_anchored(EngineConfig {
            mode: Mode::Forward {
                upstreams: vec![SocketAddr::new(FWD.parse().unwrap(), 53)],
            },
            ..EngineConfig::default()
        }),
        vec![stripping_forwarder(signed_world(Shape::default()))],
    );
    net.engine.set_wall_clock(net.now, NOW);
    // Nothing can be proven through it: every answer is insecure, none SERVFAIL
    // (a home network behind such a forwarder keeps its DNS), and it is counted.
    for name in ["www.example.net.", "www.example.com.", "www.glueless.com."] {
        let r = ask_do(&mut net, name, RecordType::A);
        assert_eq!(r.response_code, ResponseCode::NoError, "{name}");
        assert_eq!(ips(&r).len(), 1, "{name}");
        assert!(!r.authentic_data, "{name}");
        let r = net.ask(name, RecordType::A);
        assert_eq!(r.response_code, ResponseCode::NoError, "{name}");
    }
    let r = ask_do(&mut net, "nope.example.com.", RecordType::A);
    assert_eq!(r.response_code, ResponseCode::NXDomain);
    assert_eq!(net.engine.stats().dnssec_bogus, 0);
    assert!(net.engine.stats().dnssec_forwarder_unsigned >= 1);
    // The unsigned root key set is kept 5 minutes, not its 1-hour TTL: then asked
    // again, so validation resumes once the forwarder passes signatures.
    let keys_asked = |net: &Net| {
        net.log
            .iter()
            .filter(|s| s.qtype == RecordType::DNSKEY && s.qname.is_root())
            .count()
    };
    let before = keys_asked(&net);
    assert_eq!(before, 1);
    net.advance(std::time::Duration::from_secs(301));
    ask_do(&mut net, "www.example.com.", RecordType::TXT);
    assert_eq!(keys_asked(&net), before + 1, "asked again after 300 s");
}

#[test]
fn forwarder_that_sends_the_anchor_keys_signed_but_strips_below_is_still_bogus() {
    // Only the anchor's own unsigned key set is taken as "DO ignored": a forwarder
    // that signs the root's keys but drops a signed zone's RRSIGs is caught.
    let mut s = forwarder(signed_world(Shape::default()));
    let Behavior::Edit(mut inner) = std::mem::replace(&mut s.behavior, Behavior::Normal) else {
        unreachable!()
    };
    s.behavior = Behavior::Edit(Box::new(move |q: &Message, m: Message| {
        let mut m = inner(q, m)?;
        if q.queries[0].query_type() == RecordType::A {
            m.answers.retain(|r| r.record_type() != RecordType::RRSIG);
        }
        Some(m)
    }));
    let mut net = Net::with_servers(
        root_anchored(EngineConfig {
            mode: Mode::Forward {
                upstreams: vec![SocketAddr::new(FWD.parse().unwrap(), 53)],
            },
            ..EngineConfig::default()
        }),
        vec![s],
    );
    net.engine.set_wall_clock(net.now, NOW);
    let r = ask_do(&mut net, "www.example.com.", RecordType::A);
    assert_eq!(r.response_code, ResponseCode::ServFail);
    assert_eq!(ede(&r), Some(10), "RRSIGs missing");
    let r = ask_do(&mut net, "www.example.net.", RecordType::A);
    assert_eq!(r.response_code, ResponseCode::NoError);
}

// CNAME chains across secure and insecure zones.

#[test]
fn cname_from_a_signed_zone_into_an_unsigned_one_is_insecure_not_bogus() {
    let mut net = net_with(signed_world(Shape::default()));
    // ext.example.com. (signed) → www.example.net. (unsigned).
    let r = ask_do(&mut net, "ext.example.com.", RecordType::A);
    assert_eq!(r.response_code, ResponseCode::NoError);
    assert_eq!(ips(&r), ["192.0.2.2"]);
    assert!(!r.authentic_data, "one hop insecure: no AD");
    // Inside the signed zone the chain is secure.
    let r = ask_do(&mut net, "alias.example.com.", RecordType::A);
    assert!(r.authentic_data);
    assert_eq!(ips(&r), ["192.0.2.1"]);
    assert_eq!(net.engine.stats().dnssec_bogus, 0);
    // From the cache: the same.
    let r = ask_do(&mut net, "ext.example.com.", RecordType::A);
    assert!(!r.authentic_data);
    assert_eq!(ips(&r), ["192.0.2.2"]);
}

#[test]
fn cname_chains_through_a_forwarder() {
    let mut net = forward_net(signed_world(Shape::default()));
    for (name, ad) in [("alias.example.com.", true), ("ext.example.com.", false)] {
        let r = ask_do(&mut net, name, RecordType::A);
        assert_eq!(r.response_code, ResponseCode::NoError, "{name}");
        assert_eq!(ips(&r).len(), 1, "{name}");
        assert_eq!(r.authentic_data, ad, "{name}");
    }
    assert_eq!(net.engine.stats().dnssec_bogus, 0);
}

#[test]
fn qname_minimisation_with_validation() {
    let mut c = root_anchored(recursive_config());
    c.qname_minimisation = true;
    let mut net = Net::with_servers(c, signed_world(Shape::default()));
    net.engine.set_wall_clock(net.now, NOW);
    let r = ask_do(&mut net, "a.b.c.example.com.", RecordType::A);
    assert!(r.authentic_data, "{:?}", ede(&r));
    let r = ask_do(&mut net, "www.glueless.com.", RecordType::A);
    assert_eq!(r.response_code, ResponseCode::NoError);
    assert!(!r.authentic_data);
    let r = ask_do(&mut net, "nope.example.com.", RecordType::A);
    assert_eq!(r.response_code, ResponseCode::NXDomain);
    assert!(r.authentic_data);
}

#[test]
fn unsigned_child_served_by_its_signed_parents_servers_is_insecure() {
    // dev.example.com. is delegated without DS (NSEC proves it) to the same servers
    // as example.com.: they answer for it directly, no referral, so the zone asked
    // (example.com., signed) is not the zone that answered.
    let mut servers = world();
    for z in zone_mut(&mut servers, "example.com.") {
        z.records
            .push(ns("dev.example.com.", 3600, "ns1.example.com."));
    }
    for s in servers.iter_mut().filter(|s| {
        let ip = s.ip.to_string();
        ip == NS1_EXAMPLE || ip == NS2_EXAMPLE
    }) {
        s.zones.push(Zone::new(
            "dev.example.com.",
            vec![
                soa("dev.example.com.", 3600, 300),
                ns("dev.example.com.", 3600, "ns1.example.com."),
                a("www.dev.example.com.", 300, "192.0.2.77"),
            ],
        ));
    }
    let mut shape_servers = servers;
    for z in zone_mut(&mut shape_servers, ".") {
        z.records.push(com_key().ds("com."));
        sign_zone(z, &root_key(), valid(), Denial::Nsec);
    }
    for z in zone_mut(&mut shape_servers, "com.") {
        z.records.push(example_key().ds("example.com."));
        sign_zone(z, &com_key(), valid(), Denial::Nsec);
    }
    for z in zone_mut(&mut shape_servers, "example.com.") {
        sign_zone(z, &example_key(), valid(), Denial::Nsec);
    }
    let mut net = net_with(shape_servers);
    let r = ask_do(&mut net, "www.dev.example.com.", RecordType::A);
    assert_eq!(r.response_code, ResponseCode::NoError, "{:?}", ede(&r));
    assert_eq!(ips(&r), ["192.0.2.77"]);
    assert!(!r.authentic_data);
    // The signed parent is still secure, a forgery in it still bogus.
    let r = ask_do(&mut net, "www.example.com.", RecordType::A);
    assert!(r.authentic_data);
}

#[test]
fn unsigned_delegation_in_an_nsec3_opt_out_tld_is_insecure_recursive_and_forwarding() {
    // As com. is signed: NSEC3, opt-out, no NSEC3 for unsigned delegations.
    let shape = Shape {
        com_denial: Denial::Nsec3 {
            iterations: 0,
            opt_out: true,
        },
        ..Shape::default()
    };
    let mut rec = net_with(signed_world(shape));
    let mut fwd = forward_net(signed_world(shape));
    for net in [&mut rec, &mut fwd] {
        let r = ask_do(net, "www.glueless.com.", RecordType::A);
        assert_eq!(r.response_code, ResponseCode::NoError, "{:?}", ede(&r));
        assert_eq!(ips(&r), ["192.0.2.3"]);
        assert!(!r.authentic_data);
        let r = ask_do(net, "www.example.com.", RecordType::A);
        assert!(r.authentic_data, "the signed delegation still secure");
        assert_eq!(net.engine.stats().dnssec_bogus, 0);
    }
}

#[test]
fn a_self_signed_key_set_at_a_name_that_is_no_zone_is_bogus_not_insecure() {
    // An attacker's DNSKEY set at www.example.com., signed by itself: the parent
    // proves (NSEC, no NS bit) that www is no cut, so the set cannot be a zone's.
    let evil = Key::new(66);
    let mut servers = signed_world(Shape::default());
    for z in zone_mut(&mut servers, "example.com.") {
        let set = vec![evil.dnskey("www.example.com.")];
        let sig = sign_rrset(&set, &evil, "www.example.com.", valid());
        z.records.extend(set);
        z.records.push(sig);
    }
    let mut net = net_with(servers);
    let r = ask_do(&mut net, "www.example.com.", RecordType::DNSKEY);
    assert_eq!(r.response_code, ResponseCode::ServFail);
    assert_eq!(ede(&r), Some(6));
}

// Wildcards (RFC 4035 §5.3.4, RFC 5155 §8.8).

pub fn wildcard_world(denial: Denial) -> Vec<Server> {
    let mut servers = world();
    for z in zone_mut(&mut servers, "example.com.") {
        z.records.push(a("*.wild.example.com.", 300, "192.0.2.99"));
        z.records
            .push(a("real.wild.example.com.", 300, "192.0.2.98"));
    }
    for z in zone_mut(&mut servers, ".") {
        z.records.push(com_key().ds("com."));
        sign_zone(z, &root_key(), valid(), Denial::Nsec);
    }
    for z in zone_mut(&mut servers, "com.") {
        z.records.push(example_key().ds("example.com."));
        sign_zone(z, &com_key(), valid(), Denial::Nsec);
    }
    for z in zone_mut(&mut servers, "example.com.") {
        sign_zone(z, &example_key(), valid(), denial);
    }
    servers
}

#[test]
fn wildcard_answer_proven_by_nsec_and_nsec3_is_secure() {
    for denial in [
        Denial::Nsec,
        Denial::Nsec3 {
            iterations: 0,
            opt_out: false,
        },
    ] {
        let mut net = net_with(wildcard_world(denial));
        let r = ask_do(&mut net, "host.wild.example.com.", RecordType::A);
        assert_eq!(r.response_code, ResponseCode::NoError);
        assert_eq!(ips(&r), ["192.0.2.99"]);
        assert!(r.authentic_data, "{:?}", ede(&r));
    }
}

#[test]
fn wildcard_answer_whose_proof_is_dropped_is_insecure_and_a_wrong_proof_bogus() {
    // Proof stripped: not secure (no AD), not SERVFAIL.
    let mut servers = wildcard_world(Denial::Nsec);
    for s in servers.iter_mut().filter(|s| {
        let ip = s.ip.to_string();
        ip == NS1_EXAMPLE || ip == NS2_EXAMPLE
    }) {
        strip_nsec(s, Some(RecordType::A));
    }
    let mut net = net_with(servers);
    let r = ask_do(&mut net, "host.wild.example.com.", RecordType::A);
    assert_eq!(r.response_code, ResponseCode::NoError);
    assert!(!r.authentic_data);
    // The wildcard's data and signature replayed for a name that exists
    // (real.wild): the signature verifies as an expansion, but no NSEC can show
    // the name absent, so the answer is bogus.
    let mut servers = wildcard_world(Denial::Nsec);
    for s in servers.iter_mut().filter(|s| {
        let ip = s.ip.to_string();
        ip == NS1_EXAMPLE || ip == NS2_EXAMPLE
    }) {
        let wild = s.zones[0].records.clone();
        s.behavior = Behavior::Edit(Box::new(move |q: &Message, mut m: Message| {
            if q.queries[0].name().to_lowercase() == n("real.wild.example.com.") {
                let w = n("*.wild.example.com.");
                m.answers = wild
                    .iter()
                    .filter(|r| {
                        r.name == w
                            && (r.record_type() == RecordType::A
                                || covers(r) == Some(RecordType::A))
                    })
                    .map(|r| {
                        let mut r = r.clone();
                        r.name = n("real.wild.example.com.");
                        r
                    })
                    .collect();
                m.authorities.extend(
                    wild.iter()
                        .filter(|r| {
                            r.record_type() == RecordType::NSEC
                                || covers(r) == Some(RecordType::NSEC)
                        })
                        .cloned(),
                );
            }
            Some(m)
        }));
    }
    let mut net = net_with(servers);
    let r = ask_do(&mut net, "real.wild.example.com.", RecordType::A);
    assert_eq!(r.response_code, ResponseCode::ServFail, "{:?}", ips(&r));
    assert!(matches!(ede(&r), Some(6 | 12)), "{:?}", ede(&r));
    let r = ask_do(&mut net, "other.wild.example.com.", RecordType::A);
    assert!(r.authentic_data, "a real expansion still secure");
}

/// A forwarder as small as the one of the arm64 boot test (`tests/src/bin/stub-dns.rs`):
/// no OPT in any answer, AA set, one listed A record, NXDOMAIN without SOA for every
/// other name — the root's DNSKEY question included.
fn bare_forwarder() -> Server {
    Server {
        ip: FWD.parse().unwrap(),
        zones: Vec::new(),
        behavior: Behavior::Edit(Box::new(|q: &Message, mut m: Message| {
            let qq: &Query = &q.queries[0];
            m.edns = None;
            m.metadata.authoritative = true;
            m.metadata.recursion_available = true;
            if *qq.name() == n("www.example.net.") {
                if qq.query_type() == RecordType::A {
                    m.answers.push(a("www.example.net.", 300, "192.0.2.80"));
                }
                m.metadata.response_code = ResponseCode::NoError;
            } else {
                m.metadata.response_code = ResponseCode::NXDomain;
            }
            Some(m)
        })),
    }
}

#[test]
fn forwarding_through_a_forwarder_that_knows_no_root_keeps_answering() {
    let mut net = Net::with_servers(
        root_anchored(EngineConfig {
            mode: Mode::Forward {
                upstreams: vec![SocketAddr::new(FWD.parse().unwrap(), 53)],
            },
            ..EngineConfig::default()
        }),
        vec![bare_forwarder()],
    );
    net.engine.set_wall_clock(net.now, NOW);
    let r = net.ask("www.example.net.", RecordType::A);
    assert_eq!(r.response_code, ResponseCode::NoError);
    assert_eq!(ips(&r).len(), 1);
    let r = ask_do(&mut net, "www.example.net.", RecordType::A);
    assert_eq!(r.response_code, ResponseCode::NoError);
    assert!(!r.authentic_data);
    let r = net.ask("nope.example.net.", RecordType::A);
    assert_eq!(r.response_code, ResponseCode::NXDomain);
}

#[test]
fn the_ds_sets_of_signed_referrals_are_validated_not_asked_for_again() {
    // Root and com. send signed DS sets with their referrals (RFC 4035 §3.1.4): the
    // chain of trust to example.com. needs the two DNSKEY sets below the anchor
    // (com., example.com.) and the root's, and no DS query at all.
    let mut net = net_with(signed_world(Shape::default()));
    let r = ask_do(&mut net, "www.example.com.", RecordType::A);
    assert_eq!(r.response_code, ResponseCode::NoError);
    assert!(r.authentic_data);
    let ds_queries = net.log.iter().filter(|s| s.qtype == RecordType::DS).count();
    assert_eq!(ds_queries, 0, "{:?}", net.log);
    // A DS set that fails under the parent's keys is bogus, from the referral too.
    let mut net = net_with(signed_world(Shape {
        bad_ds: true,
        ..Shape::default()
    }));
    let r = ask_do(&mut net, "www.example.com.", RecordType::A);
    assert_eq!(r.response_code, ResponseCode::ServFail);
}
