//! NXNSAttack / NRDelegation (issue 14 item 11): an attacker's referrals list name
//! servers without glue whose lookups land on a victim, nested as deep as the resolver
//! allows and renewed at every referral of a long name. One client query must cost a
//! bounded number of upstream queries in all, and none after its answer.

use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::RecordType;

use crate::sim::*;

pub const VICTIM: &str = "192.0.2.99";

/// The attacker's server for level `k` of the client's name (`k` = 0 serves
/// `attacker.com.` itself): 192.0.2.(100 + k).
fn atk_ip(k: usize) -> String {
    format!("192.0.2.{}", 100 + k)
}

/// Labels of `name` below `attacker.com.`, leftmost first (None if not under it).
fn below_attacker(name: &str) -> Option<Vec<String>> {
    let name = name.to_lowercase();
    let rest = name.strip_suffix("attacker.com.")?;
    let rest = rest.strip_suffix('.').unwrap_or(rest);
    if rest.is_empty() {
        return Some(Vec::new());
    }
    Some(rest.split('.').map(str::to_string).collect())
}

/// A referral for `cut` to the glueless `targets`.
fn referral(mut resp: Message, cut: &str, targets: &[String]) -> Message {
    resp.metadata.authoritative = false;
    resp.metadata.response_code = ResponseCode::NoError;
    resp.answers.clear();
    resp.authorities = targets.iter().map(|t| ns(cut, 3600, t)).collect();
    resp.additionals.clear();
    resp
}

/// The attacker's server at level `k`: `nsJ.attacker.com` has an address (server J);
/// a name whose label next to `attacker.com` is `g<k>-<path>` is delegated to two
/// deeper such names and one victim name (three victim names at path length 3); any
/// other name gets a referral one label deeper than level `k` to two nested names
/// and `ns<k+1>.attacker.com`.
fn attacker(k: usize) -> Server {
    let edit = move |q: &Message, resp: Message| -> Option<Message> {
        let qname = q.queries.first()?.name().to_ascii();
        let labels = below_attacker(&qname)?;
        let Some(last) = labels.last().cloned() else {
            return Some(resp); // the apex: SOA/NS as zoned
        };
        if labels.len() == 1 && last.starts_with("ns") {
            return Some(resp); // an address the zone holds
        }
        if let Some(path) = last.strip_prefix('g') {
            let cut = format!("{last}.attacker.com.");
            let (_, p) = path.split_once('-').unwrap_or(("", path));
            let targets: Vec<String> = if p.len() < 3 {
                vec![
                    format!("x.{last}a.attacker.com."),
                    format!("x.{last}b.attacker.com."),
                    format!("v-{last}c.victim.com."),
                ]
            } else {
                ["a", "b", "c"]
                    .iter()
                    .map(|s| format!("v-{last}{s}.victim.com."))
                    .collect()
            };
            return Some(referral(resp, &cut, &targets));
        }
        // The client's name: refer one label deeper than this server's level.
        if labels.len() <= k {
            return Some(resp);
        }
        let cut_labels = &labels[labels.len() - (k + 1)..];
        let cut = format!("{}.attacker.com.", cut_labels.join("."));
        let targets = vec![
            format!("x.g{k}-a.attacker.com."),
            format!("x.g{k}-b.attacker.com."),
            format!("ns{}.attacker.com.", k + 1),
        ];
        Some(referral(resp, &cut, &targets))
    };
    let mut records = vec![
        soa("attacker.com.", 3600, 60),
        ns("attacker.com.", 3600, "ns0.attacker.com."),
    ];
    for j in 0..20 {
        records.push(a(&format!("ns{j}.attacker.com."), 3600, &atk_ip(j)));
    }
    Server {
        ip: atk_ip(k).parse().unwrap(),
        zones: vec![Zone::new("attacker.com.", records)],
        behavior: Behavior::Edit(Box::new(edit)),
    }
}

/// The world with `attacker.com.` (servers for 20 levels) and `victim.com.`.
pub fn attack_world() -> Vec<Server> {
    let mut servers = world();
    for s in &mut servers {
        if s.ip.to_string() == GTLD {
            let com = &mut s.zones[0].records;
            com.push(ns("attacker.com.", 172800, "ns0.attacker.com."));
            com.push(a("ns0.attacker.com.", 172800, &atk_ip(0)));
            com.push(ns("victim.com.", 172800, "ns.victim.com."));
            com.push(a("ns.victim.com.", 172800, VICTIM));
        }
    }
    for k in 0..20 {
        servers.push(attacker(k));
    }
    servers.push(Server {
        ip: VICTIM.parse().unwrap(),
        zones: vec![Zone::new(
            "victim.com.",
            vec![
                soa("victim.com.", 3600, 60),
                ns("victim.com.", 3600, "ns.victim.com."),
                a("ns.victim.com.", 3600, VICTIM),
            ],
        )],
        behavior: Behavior::Normal,
    });
    servers
}

/// What one client query cost: upstream queries in all, to the victim, and after
/// the client had its answer.
#[derive(Debug)]
pub struct Cost {
    pub upstream: usize,
    pub victim: usize,
    pub after_answer: usize,
    pub rcode: ResponseCode,
}

pub fn attack(net: &mut Net, name: &str) -> Cost {
    let before = net.log.len();
    let replies = net.replies.len();
    net.send_from(client(), &query_bytes(1, name, RecordType::A, Some(1232)));
    let mut answered_at = None;
    for _ in 0..100_000 {
        if answered_at.is_none() && net.replies.len() > replies {
            answered_at = Some(net.log.len());
        }
        if !net.step() {
            break;
        }
    }
    assert_eq!(net.replies.len(), replies + 1, "one answer");
    let answered_at = answered_at.unwrap_or(net.log.len());
    let reply = Message::from_vec(&net.replies[replies].1).unwrap();
    let t = net.traffic(before);
    Cost {
        upstream: t.len(),
        victim: t.iter().filter(|q| q.0 == VICTIM).count(),
        after_answer: net.log.len() - answered_at,
        rcode: reply.response_code,
    }
}

const LONG: &str = "a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r.s.attacker.com.";

/// Each cost within the shared budgets, nothing sent after the answer.
fn assert_bounded(c: &Cost) {
    let l = engine::Limits::default();
    assert!(
        c.upstream <= usize::from(l.max_upstream_per_client_query),
        "{c:?}"
    );
    assert!(
        c.victim <= usize::from(l.max_ns_lookups_per_client_query),
        "{c:?}"
    );
    assert_eq!(c.after_answer, 0, "{c:?}");
}

#[test]
fn nxns_one_client_query_spends_one_bounded_budget() {
    let mut net = Net::with_servers(recursive_config(), attack_world());
    let short = attack(&mut net, "q1.attacker.com.");
    eprintln!("short name: {short:?}");
    assert_bounded(&short);
    let mut net = Net::with_servers(recursive_config(), attack_world());
    let long = attack(&mut net, LONG);
    eprintln!("long name: {long:?}");
    assert_eq!(long.rcode, ResponseCode::ServFail);
    assert_bounded(&long);
    assert_eq!(net.engine.stats().in_flight_resolutions, 0);
}

#[test]
fn nxns_sub_resolutions_end_with_the_client_query() {
    // A victim slowed down by the load: the client query's own time runs out first;
    // what it started must stop with it.
    let mut net = Net::with_servers(recursive_config(), attack_world());
    net.server_latency.insert(
        VICTIM.parse().unwrap(),
        std::time::Duration::from_millis(700),
    );
    let c = attack(&mut net, LONG);
    eprintln!("slow victim: {c:?}");
    assert_eq!(c.rcode, ResponseCode::ServFail);
    assert_bounded(&c);
    assert_eq!(net.engine.stats().in_flight_resolutions, 0);
}

#[test]
fn nxns_budget_still_resolves_ordinary_glueless_names() {
    // The shared budget leaves room for a real glueless chain.
    let mut net = Net::with_servers(recursive_config(), attack_world());
    let r = net.ask("www.glueless.com.", RecordType::A);
    assert_eq!(ips(&r), ["192.0.2.3"], "{r}");
}

#[test]
fn shared_upstream_budget_counts_the_sub_resolutions_too() {
    // www.glueless.com. takes 6 upstream queries, 3 of them in the lookup of its
    // name server's address: each resolution alone stays far below its own cap of
    // 24, but their sum is over a shared budget of 5.
    let mut net = Net::new(recursive_config());
    net.ask("www.glueless.com.", RecordType::A);
    assert_eq!(net.log.len(), 6, "{:?}", net.traffic(0));
    let mut net = Net::new(engine::EngineConfig {
        limits: engine::Limits {
            max_upstream_per_client_query: 5,
            ..engine::Limits::default()
        },
        ..recursive_config()
    });
    let r = net.ask("www.glueless.com.", RecordType::A);
    assert_eq!(r.response_code, ResponseCode::ServFail);
    assert_eq!(ede(&r), Some(0));
    assert_eq!(net.log.len(), 5);
    assert_eq!(net.engine.stats().budget_exhausted, 1);
}

#[test]
fn a_client_that_joined_a_lookup_keeps_it_alive_with_a_budget() {
    // A client asks for a name server's address while it is being looked up for
    // another client's query; the first query's time runs out before the lookup
    // ends, and the lookup still has queries to send (a CNAME): it goes on for the
    // second client, on a budget of its own.
    use std::time::Duration;
    let mut servers = world();
    for s in &mut servers {
        let ip = s.ip.to_string();
        if ip == NS_EXAMPLE_NET {
            for r in &mut s.zones[0].records {
                if r.name == n("ns.example.net.") {
                    *r = cname("ns.example.net.", 3600, "nsx.example.com.");
                }
            }
        }
        if ip == NS1_EXAMPLE || ip == NS2_EXAMPLE {
            s.zones[0]
                .records
                .push(a("nsx.example.com.", 3600, NS_GLUELESS));
        }
    }
    let mut net = Net::with_servers(
        engine::EngineConfig {
            limits: engine::Limits {
                query_timeout: Duration::from_secs(1),
                initial_rto: Duration::from_secs(3),
                min_rto: Duration::from_secs(3),
                max_rto: Duration::from_secs(3),
                ..engine::Limits::default()
            },
            ..recursive_config()
        },
        servers,
    );
    net.latency = Duration::from_millis(1);
    net.ask("www.example.net.", RecordType::A); // net. and example.net. cached
    net.server_latency
        .insert(ROOT.parse().unwrap(), Duration::from_millis(400));
    net.server_latency
        .insert(NS_EXAMPLE_NET.parse().unwrap(), Duration::from_millis(700));
    let c1 = client();
    let c2 = engine::Client {
        addr: "192.168.1.11:40000".parse().unwrap(),
        transport: engine::Transport::Udp,
    };
    let before = net.log.len();
    net.send_from(
        c1,
        &query_bytes(1, "www.glueless.com.", RecordType::A, None),
    );
    for _ in 0..100 {
        if net.traffic(before).iter().any(|q| q.1 == "ns.example.net.") {
            break;
        }
        net.step();
    }
    net.send_from(c2, &query_bytes(2, "ns.example.net.", RecordType::A, None));
    net.drive_bounded(10_000);
    let answer = |c: engine::Client| {
        let (_, bytes) = net.replies.iter().find(|(cl, _)| *cl == c).unwrap();
        Message::from_vec(bytes).unwrap()
    };
    assert_eq!(answer(c1).response_code, ResponseCode::ServFail);
    assert_eq!(ips(&answer(c2)), ["192.0.2.81"], "{}", answer(c2));
    assert_eq!(net.engine.stats().in_flight_resolutions, 0);
}
