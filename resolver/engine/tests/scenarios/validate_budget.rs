//! DNSSEC work budgets (issue 17): a KeyTrap-style zone (CVE-2023-50387: many DNSKEYs
//! sharing one key tag, many RRSIGs) costs at most the budget and other clients keep
//! being answered; each `Limits` budget field is hit, while honest shapes near them
//! (a key-tag collision, a rollover, a 40-label NXDOMAIN under NSEC3, a denial with
//! every NSEC3 record of its zone) still validate. Also: a bogus key set's own
//! reason reaches the waiting answer, and an unsupported algorithm at a DS is
//! insecure, not bogus. Real Ed25519 signatures, fixed clock.

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{Record, RecordType};

use crate::signer::*;
use crate::sim::*;
use crate::validate_chain::*;
use engine::Limits;

fn net_limits(servers: Vec<Server>, f: impl FnOnce(&mut Limits)) -> Net {
    net_cfg(servers, |c| f(&mut c.limits))
}

fn net_cfg(servers: Vec<Server>, f: impl FnOnce(&mut engine::EngineConfig)) -> Net {
    let mut c = root_anchored(recursive_config());
    f(&mut c);
    let mut net = Net::with_servers(c, servers);
    net.engine.set_wall_clock(net.now, NOW);
    net
}

/// No limit on failed verifications: for the tests of the other caps.
fn unlimited_failures(l: &mut Limits) {
    l.dnssec_failed_verifications_per_response = u32::MAX;
}

/// A DNSKEY RDATA of algorithm 15 with key tag `tag` that is no real key.
fn colliding_key(tag: u16, seed: u8) -> Vec<u8> {
    let mut v = vec![1, 1, 3, 15];
    v.extend((0..32u8).map(|i| i.wrapping_mul(31).wrapping_add(seed)));
    for w in 0..=u16::MAX {
        v[34..36].copy_from_slice(&w.to_be_bytes());
        if dnssec::key_tag(&v) == tag {
            return v;
        }
    }
    unreachable!("some last word gives every tag")
}

/// example.com. as a KeyTrap zone: `keys` extra DNSKEYs colliding with the real key's
/// tag (listed first), and `sigs` extra RRSIGs over `www` that verify under none.
fn keytrap_world(keys: usize, sigs: usize) -> Vec<Server> {
    let mut servers = signed_world(Shape::default());
    let k = example_key();
    for z in zone_mut(&mut servers, "example.com.") {
        // Rebuild the DNSKEY set: the colliders, then the real key; signed by it.
        z.records.retain(|r| {
            r.record_type() != RecordType::DNSKEY && covers(r) != Some(RecordType::DNSKEY)
        });
        let mut set: Vec<Record> = (0..keys)
            .map(|i| {
                opaque(
                    "example.com.",
                    3600,
                    RecordType::DNSKEY,
                    &colliding_key(k.tag(), i as u8),
                )
            })
            .collect();
        set.push(k.dnskey("example.com."));
        let sig = sign_rrset(&set, &k, "example.com.", valid());
        z.records.extend(set);
        z.records.push(sig);
        // Bad RRSIGs over www before the good one.
        let good = z
            .records
            .iter()
            .position(|r| r.name == n("www.example.com.") && covers(r) == Some(RecordType::A))
            .unwrap();
        let good_sig = z.records.remove(good);
        let rd = dnssec::Record::from_hickory(&good_sig)
            .unwrap()
            .rdata
            .into_owned();
        for i in 0..sigs {
            let mut bad = rd.clone();
            let last = bad.len() - 1 - (i % 60);
            bad[last] ^= 1 + (i / 60) as u8;
            z.records
                .push(opaque("www.example.com.", 300, RecordType::RRSIG, &bad));
        }
        z.records.push(good_sig);
    }
    servers
}

fn verifs(net: &Net) -> u64 {
    net.engine.stats().dnssec_verifications
}

#[test]
fn keytrap_zone_costs_at_most_the_budget_and_others_are_answered() {
    let l = Limits::default();
    // Three colliders before the real key (so the key set verifies, with 4 tried
    // per RRSIG) and 40 bad RRSIGs over www: 160 verifications unbudgeted. The key
    // lookups cost 5 (one per DS-authenticated key set and DS set); the answer stops
    // after its failed verifications.
    let mut net = net_limits(keytrap_world(3, 40), |_| {});
    let r = ask_do(&mut net, "www.example.com.", RecordType::A);
    assert_eq!(r.response_code, ResponseCode::ServFail);
    assert_eq!(ede(&r), Some(6), "bogus, not merely unfinished");
    let spent = verifs(&net);
    // A figure for the report, never asserted (machine-dependent).
    eprintln!(
        "keytrap: {spent} verifications, {:?} inside the engine for one client query",
        net.engine_time
    );
    assert_eq!(
        spent,
        5 + u64::from(l.dnssec_failed_verifications_per_response),
        "{spent} verifications for one client query"
    );
    // An honest client in another zone is answered, and in the attacked one at a
    // name the attacker did not trap.
    let r = ask_do(&mut net, "www.example.net.", RecordType::A);
    assert_eq!(r.response_code, ResponseCode::NoError);
    assert_eq!(ips(&r), ["192.0.2.2"]);
    // Asked again: the bogus answer is kept briefly (RFC 9520), no new work.
    let before = verifs(&net);
    let r = ask_do(&mut net, "www.example.com.", RecordType::A);
    assert_eq!(r.response_code, ResponseCode::ServFail);
    assert_eq!(verifs(&net), before);
}

#[test]
fn keys_per_rrsig_caps_the_key_tag_collisions_tried() {
    // The real key is the fifth with its tag: with 4 tried per RRSIG it is never
    // reached, so the zone's own DNSKEY set fails.
    let mut net = net_limits(keytrap_world(4, 0), |_| {});
    let r = ask_do(&mut net, "www.example.com.", RecordType::A);
    assert_eq!(r.response_code, ResponseCode::ServFail);
    // With 5 it is (and the four colliders tried before it for www's RRSIG may fail).
    let mut net = net_limits(keytrap_world(4, 0), |l| {
        l.dnssec_keys_per_rrsig = 5;
        unlimited_failures(l);
    });
    let r = ask_do(&mut net, "www.example.com.", RecordType::A);
    assert!(r.authentic_data, "{:?}", ede(&r));
}

#[test]
fn rrsigs_per_rrset_caps_the_signatures_considered() {
    // Eight bad RRSIGs before the good one: with 8 considered it is never reached.
    let mut net = net_limits(keytrap_world(0, 8), unlimited_failures);
    let r = ask_do(&mut net, "www.example.com.", RecordType::A);
    assert_eq!(r.response_code, ResponseCode::ServFail);
    let mut net = net_limits(keytrap_world(0, 8), |l| {
        l.dnssec_rrsigs_per_rrset = 9;
        l.dnssec_verifications_per_response = 16;
        unlimited_failures(l);
    });
    let r = ask_do(&mut net, "www.example.com.", RecordType::A);
    assert!(r.authentic_data, "{:?}", ede(&r));
}

#[test]
fn verifications_per_response_cap_one_response() {
    // 20 bad RRSIGs, 20 considered: the response's 8 verifications run out.
    let l = Limits::default();
    let mut net = net_limits(keytrap_world(0, 20), |l| {
        l.dnssec_rrsigs_per_rrset = 32;
        unlimited_failures(l);
    });
    let r = ask_do(&mut net, "www.example.com.", RecordType::A);
    assert_eq!(r.response_code, ResponseCode::ServFail);
    assert_eq!(ede(&r), Some(0), "a budget ran out: EDE 0 (Other)");
    // The key lookups cost 5, the answer exactly its budget.
    let per = u64::from(l.dnssec_verifications_per_response);
    assert_eq!(verifs(&net), 5 + per);
}

#[test]
fn failed_verifications_per_response_cap() {
    // 20 bad RRSIGs before the good one, all considered, verifications plenty: the
    // third failure is never tried.
    let world = || keytrap_world(0, 20);
    let roomy = |l: &mut Limits| {
        l.dnssec_rrsigs_per_rrset = 32;
        l.dnssec_verifications_per_response = 64;
    };
    let mut net = net_limits(world(), roomy);
    let r = ask_do(&mut net, "www.example.com.", RecordType::A);
    assert_eq!(r.response_code, ResponseCode::ServFail);
    assert_eq!(ede(&r), Some(6));
    assert_eq!(verifs(&net), 5 + 2);
    // With 3 allowed, 3 are tried; with more than the bad ones, the good one verifies.
    let mut net = net_limits(world(), |l| {
        roomy(l);
        l.dnssec_failed_verifications_per_response = 3;
    });
    let r = ask_do(&mut net, "www.example.com.", RecordType::A);
    assert_eq!(r.response_code, ResponseCode::ServFail);
    assert_eq!(verifs(&net), 5 + 3);
    let mut net = net_limits(world(), |l| {
        roomy(l);
        l.dnssec_failed_verifications_per_response = 21;
    });
    let r = ask_do(&mut net, "www.example.com.", RecordType::A);
    assert!(r.authentic_data, "{:?}", ede(&r));
}

#[test]
fn an_honest_key_tag_collision_fails_once_and_validates() {
    // One key sharing the real key's tag, listed before it: www's RRSIG is tried
    // against it first (one failure), then against the real key.
    let mut net = net_limits(keytrap_world(1, 0), |_| {});
    let r = ask_do(&mut net, "www.example.com.", RecordType::A);
    assert!(r.authentic_data, "{:?}", ede(&r));
    assert_eq!(ips(&r), ["192.0.2.1"]);
}

/// example.com. mid-rollover: the DNSKEY set holds the old key and the new one and is
/// signed by both; www's A RRset carries an RRSIG by a key already withdrawn, one by
/// the old key with a wrong signature (a signer's mistake), then the new key's.
#[test]
fn an_honest_rollover_with_two_keys_validates() {
    let mut servers = signed_world(Shape::default());
    let old = example_key();
    let new = Key::new(41);
    let gone = Key::new(42);
    for z in zone_mut(&mut servers, "example.com.") {
        z.records.retain(|r| {
            r.record_type() != RecordType::DNSKEY && covers(r) != Some(RecordType::DNSKEY)
        });
        let set = vec![old.dnskey("example.com."), new.dnskey("example.com.")];
        z.records
            .push(sign_rrset(&set, &new, "example.com.", valid()));
        z.records
            .push(sign_rrset(&set, &old, "example.com.", valid()));
        z.records.extend(set);
        let www: Vec<Record> = vec![a("www.example.com.", 300, "192.0.2.1")];
        z.records
            .retain(|r| !(r.name == n("www.example.com.") && covers(r) == Some(RecordType::A)));
        let mut bad =
            dnssec::Record::from_hickory(&sign_rrset(&www, &old, "example.com.", valid()))
                .unwrap()
                .rdata
                .into_owned();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        z.records
            .push(sign_rrset(&www, &gone, "example.com.", valid()));
        z.records
            .push(opaque("www.example.com.", 300, RecordType::RRSIG, &bad));
        z.records
            .push(sign_rrset(&www, &new, "example.com.", valid()));
    }
    let mut net = net_limits(servers, |_| {});
    let r = ask_do(&mut net, "www.example.com.", RecordType::A);
    assert!(r.authentic_data, "{:?}", ede(&r));
    assert_eq!(ips(&r), ["192.0.2.1"]);
}

/// `.`, `com.` and `example.com.` signed as by [`signed_world`], example.com. with
/// NSEC3 and `extra` more names (so its chain has that many more records); with
/// `stuffed`, every negative answer carries the whole chain.
fn nsec3_world(extra: usize, stuffed: bool) -> Vec<Server> {
    let mut servers = world();
    for z in zone_mut(&mut servers, ".") {
        z.records.push(com_key().ds("com."));
        sign_zone(z, &root_key(), valid(), Denial::Nsec);
    }
    for z in zone_mut(&mut servers, "com.") {
        z.records.push(example_key().ds("example.com."));
        sign_zone(z, &com_key(), valid(), Denial::Nsec);
    }
    for z in zone_mut(&mut servers, "example.com.") {
        for i in 0..extra {
            z.records
                .push(a(&format!("host{i}.example.com."), 300, "192.0.2.50"));
        }
        let nsec3 = Denial::Nsec3 {
            iterations: 0,
            opt_out: false,
        };
        sign_zone(z, &example_key(), valid(), nsec3);
        z.minimal_denial = !stuffed;
    }
    servers
}

#[test]
fn a_deep_nxdomain_under_nsec3_stays_within_the_hash_budget() {
    // 40 labels (38 below example.com.), closest encloser the apex: searched from
    // the apex down, a handful of hashes; from the name up it would be 39 (> 32).
    let deep: String = (0..38).map(|i| format!("d{i}.")).collect::<String>() + "example.com.";
    assert_eq!(n(&deep).num_labels(), 40);
    let l = Limits::default();
    assert!(l.dnssec_nsec3_hashes_per_response < 39);
    // Asked in full (no minimisation), so this very proof is the one checked.
    let mut net = net_cfg(nsec3_world(0, false), |c| c.qname_minimisation = false);
    let r = ask_do(&mut net, &deep, RecordType::A);
    assert_eq!(r.response_code, ResponseCode::NXDomain, "{:?}", ede(&r));
    assert!(r.authentic_data, "{:?}", ede(&r));
}

#[test]
fn only_the_nsec3_records_a_denial_uses_are_verified() {
    // 20 names more: every negative answer brings 20+ NSEC3 RRsets, each signed. The
    // denial rests on at most three of them: with the SOA, within 8 verifications.
    let l = Limits::default();
    let servers = nsec3_world(20, true);
    let nsec3s = servers
        .iter()
        .flat_map(|s| s.zones.iter())
        .find(|z| z.origin == n("example.com."))
        .map_or(0, |z| {
            z.records
                .iter()
                .filter(|r| r.record_type() == RecordType::NSEC3)
                .count()
        });
    // Each one its own RRset, all in the answer (the zone is not minimal).
    assert!(nsec3s > 20, "{nsec3s} NSEC3 records");
    assert!(u64::from(l.dnssec_verifications_per_response) < nsec3s as u64);
    let mut net = net_limits(servers, |_| {});
    let before = verifs(&net);
    let r = ask_do(&mut net, "nope.example.com.", RecordType::A);
    assert_eq!(r.response_code, ResponseCode::NXDomain, "{:?}", ede(&r));
    assert!(r.authentic_data, "{:?}", ede(&r));
    // The key lookups (5), the SOA and at most three NSEC3 RRsets.
    let spent = verifs(&net) - before;
    assert!(spent <= 5 + 1 + 3, "{spent} verifications");
    eprintln!("stuffed NXDOMAIN: {} verifications", verifs(&net) - before);
}

#[test]
fn verifications_per_client_query_cap_the_whole_tree() {
    // An honest signed answer costs 6 verifications over its tree; 4 are allowed.
    let mut net = net_limits(signed_world(Shape::default()), |l| {
        l.dnssec_verifications_per_client_query = 4;
    });
    let r = ask_do(&mut net, "www.example.com.", RecordType::A);
    assert_eq!(r.response_code, ResponseCode::ServFail);
    assert!(verifs(&net) <= 4, "{}", verifs(&net));
}

#[test]
fn ds_digests_per_response_cap() {
    let mut net = net_limits(signed_world(Shape::default()), |l| {
        l.dnssec_ds_digests_per_response = 0;
    });
    let r = ask_do(&mut net, "www.example.com.", RecordType::A);
    assert_eq!(r.response_code, ResponseCode::ServFail);
}

#[test]
fn nsec3_hashes_per_response_cap() {
    let world = || {
        signed_world(Shape {
            example_denial: Denial::Nsec3 {
                iterations: 0,
                opt_out: false,
            },
            ..Shape::default()
        })
    };
    let mut net = net_limits(world(), |l| l.dnssec_nsec3_hashes_per_response = 1);
    let r = ask_do(&mut net, "nope.example.com.", RecordType::A);
    assert_eq!(r.response_code, ResponseCode::ServFail);
    let mut net = net_limits(world(), |_| {});
    let r = ask_do(&mut net, "nope.example.com.", RecordType::A);
    assert!(r.authentic_data);
}

#[test]
fn key_fetches_per_resolution_cap() {
    // www.example.com. asks for 3 key sets itself: the DNSKEY sets of ., com. and
    // example.com., to validate the DS sets the signed referrals brought and its answer.
    let mut net = net_limits(signed_world(Shape::default()), |l| {
        l.dnssec_key_fetches_per_resolution = 2;
    });
    let r = ask_do(&mut net, "www.example.com.", RecordType::A);
    assert_eq!(r.response_code, ResponseCode::ServFail);
    let mut net = net_limits(signed_world(Shape::default()), |l| {
        l.dnssec_key_fetches_per_resolution = 3;
    });
    let r = ask_do(&mut net, "www.example.com.", RecordType::A);
    assert!(r.authentic_data);
}

// A bogus key set's own reason.

#[test]
fn expired_dnskey_signature_reports_ede_7_on_the_waiting_answer() {
    let mut servers = signed_world(Shape::default());
    for z in zone_mut(&mut servers, "com.") {
        z.records.retain(|r| covers(r) != Some(RecordType::DNSKEY));
        let set: Vec<Record> = z
            .records
            .iter()
            .filter(|r| r.record_type() == RecordType::DNSKEY)
            .cloned()
            .collect();
        let old = ((NOW - 86400) as u32, (NOW - 7200) as u32);
        z.records.push(sign_rrset(&set, &com_key(), "com.", old));
    }
    let mut net = net_with(servers);
    let r = ask_do(&mut net, "www.example.com.", RecordType::A);
    assert_eq!(r.response_code, ResponseCode::ServFail);
    assert_eq!(ede(&r), Some(7), "com.'s DNSKEY signature expired");
}

// Unsupported algorithms.

fn private_alg_world(alg: u8) -> Vec<Server> {
    let mut servers = world();
    let mut k = example_key();
    k.alg = alg;
    for z in zone_mut(&mut servers, ".") {
        z.records.push(com_key().ds("com."));
        sign_zone(z, &root_key(), valid(), Denial::Nsec);
    }
    for z in zone_mut(&mut servers, "com.") {
        z.records.push(k.ds("example.com."));
        sign_zone(z, &com_key(), valid(), Denial::Nsec);
    }
    for z in zone_mut(&mut servers, "example.com.") {
        sign_zone(z, &k, valid(), Denial::Nsec);
    }
    servers
}

#[test]
fn unsupported_algorithm_at_a_ds_is_insecure_not_bogus() {
    for alg in [16, 253] {
        let mut net = net_with(private_alg_world(alg));
        let r = ask_do(&mut net, "www.example.com.", RecordType::A);
        assert_eq!(r.response_code, ResponseCode::NoError, "algorithm {alg}");
        assert_eq!(ips(&r), ["192.0.2.1"]);
        assert!(!r.authentic_data);
        assert_eq!(
            ede(&r),
            Some(1),
            "algorithm {alg}: Unsupported DNSKEY Algorithm"
        );
        assert_eq!(net.engine.stats().dnssec_bogus, 0);
        // A client without DO is answered as well.
        let r = net.ask("a.b.c.example.com.", RecordType::A);
        assert_eq!(r.response_code, ResponseCode::NoError);
    }
}

#[test]
fn a_bogus_answer_is_kept_for_bogus_ttl_then_asked_again() {
    let mut servers = signed_world(Shape::default());
    for z in zone_mut(&mut servers, "example.com.") {
        for r in z.records.iter_mut() {
            if r.name == n("www.example.com.") && r.record_type() == RecordType::A {
                *r = a("www.example.com.", 300, "203.0.113.66");
            }
        }
    }
    let mut net = net_limits(servers, |l| {
        l.bogus_ttl = std::time::Duration::from_secs(20)
    });
    let r = ask_do(&mut net, "www.example.com.", RecordType::A);
    assert_eq!(r.response_code, ResponseCode::ServFail);
    assert_eq!(ede(&r), Some(6));
    // Within bogus_ttl (longer than failure_backoff_min, 5 s): from the table.
    net.advance(std::time::Duration::from_secs(15));
    let sent = net.log.len();
    let r = ask_do(&mut net, "www.example.com.", RecordType::A);
    assert_eq!(r.response_code, ResponseCode::ServFail);
    assert_eq!(net.log.len(), sent, "kept: no upstream traffic");
    // After it: asked again.
    net.advance(std::time::Duration::from_secs(10));
    let r = ask_do(&mut net, "www.example.com.", RecordType::A);
    assert_eq!(r.response_code, ResponseCode::ServFail);
    assert!(net.log.len() > sent, "asked again after bogus_ttl");
}
