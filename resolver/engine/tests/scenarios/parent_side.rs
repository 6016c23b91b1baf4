//! Questions the parent side of a zone cut answers (issue 14 items 8 and 3): DS goes
//! to the parent zone's servers, not the child's (RFC 4035 §2.4); and the parent's
//! glue is a fallback when the child's own address for its name server fails.

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;

use crate::sim::*;
use engine::EngineConfig;

/// The owner of the SOA in a negative answer's authority section.
fn soa_owner(m: &hickory_proto::op::Message) -> Option<String> {
    m.authorities
        .iter()
        .find(|r| r.record_type() == RecordType::SOA)
        .map(|r| r.name.to_lowercase().to_ascii())
}

#[test]
fn rfc4035_ds_is_asked_of_the_parent_zone() {
    let mut net = Net::new(recursive_config());
    // The child's delegation is cached, as it is once anything below it resolved.
    net.ask("www.example.com.", RecordType::A);
    let before = net.log.len();
    let r = net.ask("example.com.", RecordType::DS);
    let t = net.traffic(before);
    assert_eq!(r.response_code, ResponseCode::NoError, "{r}");
    assert_eq!(soa_owner(&r).as_deref(), Some("com."), "{r}");
    assert!(!t.is_empty());
    assert!(t.iter().all(|q| q.0 == GTLD), "{t:?}");
}

#[test]
fn rfc4035_ds_from_a_cold_cache_stops_at_the_parent() {
    let mut net = Net::new(EngineConfig {
        qname_minimisation: true,
        ..recursive_config()
    });
    let r = net.ask("example.com.", RecordType::DS);
    let t = net.traffic(0);
    assert_eq!(soa_owner(&r).as_deref(), Some("com."), "{r}");
    assert!(
        !t.iter().any(|q| q.0 == NS1_EXAMPLE || q.0 == NS2_EXAMPLE),
        "{t:?}"
    );
    // Not a DS question: the child's own servers answer, as before.
    let r = net.ask("example.com.", RecordType::SOA);
    assert_eq!(r.answers.len(), 1, "{r}");
}

#[test]
fn rfc4035_a_referral_to_the_child_for_its_ds_is_not_followed() {
    // A parent that refers DS questions to the child (as if DS were child data):
    // the child's "no DS" would be the wrong side's answer (a downgrade for a
    // validator), so the referral counts as lame.
    let mut servers = world();
    for s in &mut servers {
        if s.ip.to_string() == GTLD {
            s.behavior = Behavior::Edit(Box::new(|q, mut resp| {
                let qq = q.queries.first()?;
                if qq.query_type() == RecordType::DS {
                    resp.metadata.authoritative = false;
                    resp.authorities = vec![
                        ns("example.com.", 3600, "ns1.example.com."),
                        ns("example.com.", 3600, "ns2.example.com."),
                    ];
                    resp.additionals = vec![
                        a("ns1.example.com.", 3600, NS1_EXAMPLE),
                        a("ns2.example.com.", 3600, NS2_EXAMPLE),
                    ];
                }
                Some(resp)
            }));
        }
    }
    let mut net = Net::with_servers(recursive_config(), servers);
    let r = net.ask("example.com.", RecordType::DS);
    let t = net.traffic(0);
    assert_eq!(r.response_code, ResponseCode::ServFail, "{r}");
    assert!(
        !t.iter()
            .any(|q| q.2 == RecordType::DS && (q.0 == NS1_EXAMPLE || q.0 == NS2_EXAMPLE)),
        "{t:?}"
    );
}

/// `example.com.`'s own zone gives its name servers addresses where nothing answers
/// (a renumbering gone wrong); the parent's glue is right.
fn bad_child_addresses() -> Vec<Server> {
    let mut servers = world();
    for s in &mut servers {
        if [NS1_EXAMPLE, NS2_EXAMPLE].contains(&s.ip.to_string().as_str()) {
            for r in &mut s.zones[0].records {
                if r.name == n("ns1.example.com.") {
                    *r = a("ns1.example.com.", 3600, "192.0.2.251");
                } else if r.name == n("ns2.example.com.") {
                    *r = a("ns2.example.com.", 3600, "192.0.2.252");
                }
            }
        }
    }
    servers
}

#[test]
fn parent_glue_is_the_fallback_when_the_childs_addresses_fail() {
    let mut net = Net::with_servers(recursive_config(), bad_child_addresses());
    // The child's answers for its servers' names are cached (they outrank glue).
    let r = net.ask("ns1.example.com.", RecordType::A);
    assert_eq!(ips(&r), ["192.0.2.251"]);
    net.ask("ns2.example.com.", RecordType::A);
    let before = net.log.len();
    let r = net.ask("www.example.com.", RecordType::A);
    let t = net.traffic(before);
    eprintln!("bad child addresses: {} upstream queries: {t:?}", t.len());
    assert_eq!(ips(&r), ["192.0.2.1"], "{r}");
}

#[test]
fn parent_glue_is_the_fallback_for_a_fresh_referral_too() {
    // The same with QNAME minimisation and a second name: the resolver must not
    // keep going back to the dead addresses for every name.
    let mut net = Net::with_servers(
        EngineConfig {
            qname_minimisation: true,
            ..recursive_config()
        },
        bad_child_addresses(),
    );
    net.ask("ns1.example.com.", RecordType::A);
    net.ask("ns2.example.com.", RecordType::A);
    for name in ["www.example.com.", "a.b.c.example.com."] {
        let r = net.ask(name, RecordType::A);
        assert_eq!(r.response_code, ResponseCode::NoError, "{name}: {r}");
        assert!(!r.answers.is_empty(), "{name}: {r}");
    }
}
