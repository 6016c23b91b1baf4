//! RFC 9156 QNAME minimisation with its query limits (issue 14 item 7): a long name
//! (a reverse IPv6 PTR, 34 labels) reveals one label at a time only for the first
//! MINIMISE_ONE_LAB (4) steps, then bigger steps, at most MAX_MINIMISE_COUNT (10)
//! in all, so it resolves within the default budget; and an NXDOMAIN for a
//! minimised name from a server that gets empty non-terminals wrong is not cached.

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::rdata::PTR;
use hickory_proto::rr::{RData, Record, RecordType};

use crate::sim::*;
use engine::EngineConfig;

const ARPA: &str = "192.0.2.200";
const NET32: &str = "192.0.2.201";
const NET48: &str = "192.0.2.202";
/// 2001:db8:0:0:1:2:3:4 reversed.
const PTR_NAME: &str =
    "4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.";
const CUT32: &str = "8.b.d.0.1.0.0.2.ip6.arpa.";
const CUT48: &str = "0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.";

fn ptr(owner: &str, ttl: u32, target: &str) -> Record {
    Record::from_rdata(n(owner), ttl, RData::PTR(PTR(n(target))))
}

/// The world with `arpa.` and `ip6.arpa.` on one server, cuts at the /32 and /48.
fn reverse_world() -> Vec<Server> {
    let mut servers = world();
    let root = &mut servers[0].zones[0].records;
    root.push(ns("arpa.", 172800, "ns.arpa-servers.net."));
    root.push(a("ns.arpa-servers.net.", 172800, ARPA));
    let zone = |origin: &str, recs: Vec<Record>| {
        let mut v = vec![soa(origin, 3600, 300), ns(origin, 3600, "ns.invalid.")];
        v.extend(recs);
        Zone::new(origin, v)
    };
    let server = |ip: &str, zones| Server {
        ip: ip.parse().unwrap(),
        zones,
        behavior: Behavior::Normal,
    };
    servers.push(server(
        ARPA,
        vec![
            zone("arpa.", vec![ns("ip6.arpa.", 3600, "ns.arpa-servers.net.")]),
            zone(
                "ip6.arpa.",
                vec![
                    ns(CUT32, 3600, &format!("ns.{CUT32}")),
                    a(&format!("ns.{CUT32}"), 3600, NET32),
                ],
            ),
        ],
    ));
    servers.push(server(
        NET32,
        vec![zone(
            CUT32,
            vec![
                ns(CUT48, 3600, &format!("ns.{CUT48}")),
                a(&format!("ns.{CUT48}"), 3600, NET48),
            ],
        )],
    ));
    servers.push(server(
        NET48,
        vec![zone(CUT48, vec![ptr(PTR_NAME, 3600, "host.example.com.")])],
    ));
    servers
}

#[test]
fn rfc9156_reverse_ipv6_ptr_resolves_within_the_budget() {
    let mut net = Net::with_servers(
        EngineConfig {
            qname_minimisation: true,
            policy: reverse_policy(),
            ..recursive_config()
        },
        reverse_world(),
    );
    let r = net.ask(PTR_NAME, RecordType::PTR);
    let t = net.traffic(0);
    eprintln!(
        "reverse IPv6 PTR with minimisation: {} upstream queries",
        t.len()
    );
    assert_eq!(r.response_code, ResponseCode::NoError, "{r}");
    assert_eq!(r.answers.len(), 1);
    // The last query is the full name; the root saw only `arpa.`.
    assert_eq!(t.last().unwrap().1, PTR_NAME.to_lowercase());
    assert!(t.iter().filter(|q| q.0 == ROOT).all(|q| q.1 == "arpa."));
    // Minimised queries: one label at a time for four steps, at most ten steps.
    let minimised = t.iter().filter(|q| q.1 != PTR_NAME).count();
    assert!(minimised <= 10, "{t:?}");
    assert!(t.len() <= 12, "{t:?}");
    // The servers below the /32 never learnt the whole name before its own turn.
    let to48: Vec<_> = t.iter().filter(|q| q.0 == NET48).collect();
    assert!(!to48.is_empty(), "{t:?}");
}

#[test]
fn rfc9156_first_steps_reveal_one_label() {
    let mut net = Net::with_servers(
        EngineConfig {
            qname_minimisation: true,
            policy: reverse_policy(),
            ..recursive_config()
        },
        reverse_world(),
    );
    net.ask(PTR_NAME, RecordType::PTR);
    let t = net.traffic(0);
    let labels = |s: &str| s.trim_end_matches('.').split('.').count();
    // root: arpa (1); arpa server: ip6.arpa (2); then ip6.arpa's server: 3, 4, ...
    assert_eq!(labels(&t[0].1), 1);
    assert_eq!(labels(&t[1].1), 2);
    assert_eq!(labels(&t[2].1), 3);
    assert_eq!(labels(&t[3].1), 4);
}

/// `example.com.`'s servers answer NXDOMAIN to A queries for its empty non-terminals
/// (`c.example.com.`, `b.c.example.com.`), as some broken servers do.
fn broken_ent_world() -> Vec<Server> {
    let mut servers = world();
    for s in &mut servers {
        if [NS1_EXAMPLE, NS2_EXAMPLE].contains(&s.ip.to_string().as_str()) {
            s.behavior = Behavior::Edit(Box::new(|q, mut resp| {
                let qq = q.queries.first()?;
                let ent = ["c.example.com.", "b.c.example.com."]
                    .contains(&qq.name().to_lowercase().to_ascii().as_str());
                if ent && qq.query_type() == RecordType::A {
                    resp.metadata.response_code = ResponseCode::NXDomain;
                }
                Some(resp)
            }));
        }
    }
    servers
}

#[test]
fn rfc9156_nxdomain_for_a_minimised_name_is_not_cached() {
    let mut net = Net::with_servers(
        EngineConfig {
            qname_minimisation: true,
            ..recursive_config()
        },
        broken_ent_world(),
    );
    let r = net.ask("a.b.c.example.com.", RecordType::A);
    assert_eq!(ips(&r), ["192.0.2.9"], "{r}");
    // The bogus NXDOMAIN for c.example.com. was not kept: its TXT is asked for, and
    // is NODATA, not NXDOMAIN.
    let before = net.log.len();
    let r = net.ask("c.example.com.", RecordType::TXT);
    assert_eq!(r.response_code, ResponseCode::NoError, "{r}");
    assert!(net.log.len() > before);
    let r = net.ask("a.b.c.example.com.", RecordType::A);
    assert_eq!(ips(&r), ["192.0.2.9"], "{r}");
}

/// 2001:db8::/32's reverse zone is served locally by default (RFC 6303); these
/// scenarios resolve it like Unbound's `local-zone: … nodefault`.
fn reverse_policy() -> engine::PolicyConfig {
    engine::PolicyConfig {
        nodefault: vec!["8.b.d.0.1.0.0.2.ip6.arpa".into()],
        ..engine::PolicyConfig::default()
    }
}

/// `world()` with a wildcard under the empty non-terminal `wild.example.com.`.
fn wildcard_world() -> Vec<Server> {
    let mut servers = world();
    for z in crate::signer::zone_mut(&mut servers, "example.com.") {
        z.records.push(a("*.wild.example.com.", 300, "192.0.2.77"));
    }
    servers
}

/// The upstream queries that asking `names` in turn costs, one count per name.
fn costs(net: &mut Net, names: &[&str], dnssec: bool) -> Vec<usize> {
    names
        .iter()
        .map(|name| {
            let before = net.log.len();
            let r = if dnssec {
                crate::validate_chain::ask_do(net, name, RecordType::A)
            } else {
                net.ask(name, RecordType::A)
            };
            assert_eq!(r.response_code, ResponseCode::NoError, "{r}");
            assert_eq!(ips(&r), ["192.0.2.77"], "{r}");
            if dnssec {
                assert!(r.metadata.authentic_data, "{name}: no AD\n{r}");
            }
            net.traffic(before).len()
        })
        .collect()
}

const FRESH: [&str; 3] = [
    "n1.wild.example.com.",
    "n2.wild.example.com.",
    "n3.wild.example.com.",
];

#[test]
fn a_known_empty_non_terminal_is_not_asked_again() {
    let cfg = EngineConfig {
        qname_minimisation: true,
        ..recursive_config()
    };
    let mut net = Net::with_servers(cfg.clone(), wildcard_world());
    let c = costs(&mut net, &FRESH, false);
    let t = net.traffic(0);
    // The first name asks `wild.example.com.` (NODATA) before itself; the next ones
    // start below it: one query each, the full name.
    assert_eq!(c[1..], [1, 1], "{c:?} {t:?}");
    assert_eq!(
        t.iter().filter(|q| q.1 == "wild.example.com.").count(),
        1,
        "{t:?}"
    );
    // With the table off, every fresh name asks the empty non-terminal again.
    let mut off = Net::with_servers(
        EngineConfig {
            limits: engine::Limits {
                max_known_names: 0,
                ..engine::Limits::default()
            },
            ..cfg
        },
        wildcard_world(),
    );
    let c = costs(&mut off, &FRESH, false);
    assert_eq!(c[1..], [2, 2], "{c:?}");
}

#[test]
fn a_known_empty_non_terminal_is_not_asked_again_under_a_trust_anchor() {
    use crate::validate_chain::{Shape, root_anchored, sign_world};
    let mut net = Net::with_servers(
        root_anchored(EngineConfig {
            qname_minimisation: true,
            ..recursive_config()
        }),
        sign_world(wildcard_world(), Shape::default()),
    );
    net.engine.set_wall_clock(net.now, crate::signer::NOW);
    let c = costs(&mut net, &FRESH, true);
    let t = net.traffic(0);
    eprintln!("validated wildcard names under an empty non-terminal: {c:?} upstream");
    assert_eq!(c[1..], [1, 1], "{c:?} {t:?}");
}

#[test]
fn a_known_name_does_not_hide_a_cut_below_it() {
    // `b.c.example.com.` exists (an empty non-terminal above `a.b.c`); learnt, then
    // the zone delegates `x.b.c.example.com.`: the full question meets the referral.
    let mut servers = world();
    for z in crate::signer::zone_mut(&mut servers, "example.com.") {
        z.records
            .push(ns("x.b.c.example.com.", 3600, "ns.x.b.c.example.com."));
        z.records
            .push(a("ns.x.b.c.example.com.", 3600, "192.0.2.90"));
    }
    servers.push(Server {
        ip: "192.0.2.90".parse().unwrap(),
        zones: vec![Zone::new(
            "x.b.c.example.com.",
            vec![
                soa("x.b.c.example.com.", 3600, 300),
                ns("x.b.c.example.com.", 3600, "ns.x.b.c.example.com."),
                a("www.x.b.c.example.com.", 300, "192.0.2.91"),
            ],
        )],
        behavior: Behavior::Normal,
    });
    let mut net = Net::with_servers(
        EngineConfig {
            qname_minimisation: true,
            ..recursive_config()
        },
        servers,
    );
    let r = net.ask("a.b.c.example.com.", RecordType::A);
    assert_eq!(ips(&r), ["192.0.2.9"], "{r}");
    let before = net.log.len();
    let r = net.ask("www.x.b.c.example.com.", RecordType::A);
    assert_eq!(ips(&r), ["192.0.2.91"], "{r}");
    let t = net.traffic(before);
    // c. and b.c. are known: not asked again.
    assert!(
        t.iter()
            .all(|q| q.1 != "c.example.com." && q.1 != "b.c.example.com."),
        "{t:?}"
    );
}
