//! The policy stage (issue 15): block lists and their allow list, CNAME cloaking on the
//! full and the fast path, the null answer, local names (`--host-record`,
//! `--address`, `--cname`), the locally served zones, per-domain servers and the
//! rebinding filter, each with the upstream traffic it takes (none, for everything
//! answered locally), and a hit of every table's cap.

use std::net::SocketAddr;

use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::rdata::opt::{EdnsCode, EdnsOption};
use hickory_proto::rr::{RData, RecordType};

use crate::sim::*;
use engine::{
    AddressRule, BlockAnswer, CnameRule, DomainServers, EngineConfig, HostRecord, Mode,
    PolicyConfig, PolicyLimits, SetBlocklistError,
};

fn with_policy(policy: PolicyConfig) -> EngineConfig {
    EngineConfig {
        policy,
        ..recursive_config()
    }
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// The EDE option's code and EXTRA-TEXT.
fn ede_full(m: &Message) -> Option<(u16, String)> {
    match m.edns.as_ref()?.option(EdnsCode::Unknown(15))? {
        EdnsOption::Unknown(_, d) => Some((
            u16::from_be_bytes([d[0], d[1]]),
            String::from_utf8_lossy(&d[2..]).into_owned(),
        )),
        _ => None,
    }
}

fn soa_owner(m: &Message) -> Option<String> {
    m.authorities
        .iter()
        .find(|r| r.record_type() == RecordType::SOA)
        .map(|r| r.name.to_ascii())
}

fn ptrs(m: &Message) -> Vec<String> {
    m.answers
        .iter()
        .filter_map(|r| match &r.data {
            RData::PTR(p) => Some(p.0.to_ascii()),
            _ => None,
        })
        .collect()
}

// ----------------------------------------------------------------- blocking

#[test]
fn dns_block_blocks_the_domain_and_below_with_ede_15_and_no_upstream_query() {
    let cfg = with_policy(PolicyConfig {
        block: strings(&["Ads.Example.com"]),
        ..PolicyConfig::default()
    });
    let mut net = Net::new(cfg);
    for q in [
        "ads.example.com.",
        "x.y.ads.example.com.",
        "ADS.example.COM.",
    ] {
        let r = net.ask(q, RecordType::A);
        assert_eq!(r.response_code, ResponseCode::NXDomain, "{q}");
        assert_eq!(
            ede_full(&r),
            Some((15, "blocked by --dns-block".to_string())),
            "{q}"
        );
    }
    assert!(
        net.log.is_empty(),
        "blocked names never leave: {:?}",
        net.traffic(0)
    );
    // Its parent and siblings are not blocked.
    assert_eq!(
        ips(&net.ask("www.example.com.", RecordType::A)),
        ["192.0.2.1"]
    );
    let s = net.engine.policy_stats();
    assert_eq!(
        (s.lists[0].source.as_str(), s.lists[0].domains),
        ("--dns-block", 1)
    );
    assert_eq!(s.lists[0].hits, 3);
}

#[test]
fn allow_beats_every_block_source() {
    let cfg = with_policy(PolicyConfig {
        block: strings(&["example.com"]),
        allow: strings(&["www.example.com"]),
        ..PolicyConfig::default()
    });
    let mut net = Net::new(cfg);
    let mut b = net.engine.blocklist_builder();
    assert!(b.insert("www.example.net"));
    assert!(b.insert("example.net"));
    net.engine
        .set_blocklist(1, "https://lists.example/ads.txt", b)
        .unwrap();
    // Allowed over the boot list, and over the URL list once allowed too.
    assert_eq!(
        ips(&net.ask("www.example.com.", RecordType::A)),
        ["192.0.2.1"]
    );
    let r = net.ask("short.example.com.", RecordType::A);
    assert_eq!(ede_full(&r).unwrap().1, "blocked by --dns-block");
    let r = net.ask("www.example.net.", RecordType::A);
    assert_eq!(
        ede_full(&r),
        Some((15, "blocked by https://lists.example/ads.txt".to_string()))
    );
}

#[test]
fn a_list_replaced_at_run_time_applies_at_once_and_counts_its_hits() {
    let mut net = Net::new(recursive_config());
    let mut b = net.engine.blocklist_builder();
    for d in ["www.example.com", "not a domain", "", "a..b"] {
        b.insert(d);
    }
    assert_eq!((b.len(), b.rejected()), (1, 3));
    assert_eq!(net.engine.set_blocklist(7, "list-a", b), Ok(1));
    let r = net.ask("www.example.com.", RecordType::A);
    assert_eq!(r.response_code, ResponseCode::NXDomain);
    // Replace list 7: the old domain is free, the new one blocked.
    let mut b = net.engine.blocklist_builder();
    b.insert("www.example.net");
    net.engine.set_blocklist(7, "list-b", b).unwrap();
    assert_eq!(
        ips(&net.ask("www.example.com.", RecordType::A)),
        ["192.0.2.1"]
    );
    let r = net.ask("www.example.net.", RecordType::A);
    assert_eq!(ede_full(&r).unwrap().1, "blocked by list-b");
    let s = net.engine.policy_stats();
    assert_eq!(s.lists.len(), 1);
    let l = &s.lists[0];
    assert_eq!(
        (l.id, l.domains, l.rejected, l.loads, l.hits),
        (7, 1, 0, 2, 2)
    );
    assert!(net.engine.remove_blocklist(7));
    assert_eq!(
        ips(&net.ask("www.example.net.", RecordType::A)),
        ["192.0.2.2"]
    );
}

#[test]
fn a_name_cached_before_its_list_arrived_is_blocked_on_the_fast_path_too() {
    let mut net = Net::new(recursive_config());
    assert_eq!(
        ips(&net.ask("www.example.com.", RecordType::A)),
        ["192.0.2.1"]
    );
    assert_eq!(
        ips(&net.ask("www.example.com.", RecordType::A)),
        ["192.0.2.1"]
    );
    let fast = net.engine.stats().fast_path_hits;
    assert_eq!(fast, 1);
    let mut b = net.engine.blocklist_builder();
    b.insert("example.com");
    net.engine.set_blocklist(1, "late-list", b).unwrap();
    let r = net.ask("www.example.com.", RecordType::A);
    assert_eq!(r.response_code, ResponseCode::NXDomain);
    assert_eq!(net.engine.stats().fast_path_hits, fast);
}

#[test]
fn cname_cloaking_is_blocked_and_the_target_never_asked() {
    // ext.example.com. CNAME www.example.net.: block the target.
    let cfg = with_policy(PolicyConfig {
        block: strings(&["www.example.net"]),
        ..PolicyConfig::default()
    });
    let mut net = Net::new(cfg);
    let r = net.ask("ext.example.com.", RecordType::A);
    assert_eq!(r.response_code, ResponseCode::NXDomain);
    let (code, text) = ede_full(&r).unwrap();
    assert_eq!(code, 15);
    assert!(
        text.contains("--dns-block") && text.contains("www.example.net"),
        "{text}"
    );
    assert!(
        net.traffic(0)
            .iter()
            .all(|(_, q, _)| !q.contains("example.net")),
        "the cloaked target leaked: {:?}",
        net.traffic(0)
    );
    // Again: from the cache (the CNAME is cached, its target is not).
    let before = net.log.len();
    let r = net.ask("ext.example.com.", RecordType::A);
    assert_eq!(r.response_code, ResponseCode::NXDomain);
    assert_eq!(net.log.len(), before);
}

#[test]
fn cname_cloaking_on_the_fast_path() {
    let mut net = Net::new(recursive_config());
    // Cache the whole chain while nothing is blocked; the second answer is fast.
    assert_eq!(
        ips(&net.ask("ext.example.com.", RecordType::A)),
        ["192.0.2.2"]
    );
    assert_eq!(
        ips(&net.ask("ext.example.com.", RecordType::A)),
        ["192.0.2.2"]
    );
    let fast = net.engine.stats().fast_path_hits;
    assert_eq!(fast, 1);
    let mut b = net.engine.blocklist_builder();
    b.insert("www.example.net");
    net.engine.set_blocklist(3, "trackers", b).unwrap();
    let before = net.log.len();
    let r = net.ask("ext.example.com.", RecordType::A);
    assert_eq!(r.response_code, ResponseCode::NXDomain);
    assert!(ede_full(&r).unwrap().1.contains("trackers"));
    assert_eq!(
        net.engine.stats().fast_path_hits,
        fast,
        "the fast path declined"
    );
    assert_eq!(net.log.len(), before);
    // Allowing the alias lifts it.
    let mut cfg = recursive_config();
    cfg.policy.allow = strings(&["ext.example.com"]);
    let mut net = Net::new(cfg);
    let mut b = net.engine.blocklist_builder();
    b.insert("www.example.net");
    net.engine.set_blocklist(3, "trackers", b).unwrap();
    assert_eq!(
        ips(&net.ask("ext.example.com.", RecordType::A)),
        ["192.0.2.2"]
    );
}

#[test]
fn null_block_answer() {
    let cfg = with_policy(PolicyConfig {
        block: strings(&["ads.example.com"]),
        block_answer: BlockAnswer::Null,
        ..PolicyConfig::default()
    });
    let mut net = Net::new(cfg);
    let r = net.ask("ads.example.com.", RecordType::A);
    assert_eq!(
        (r.response_code, ips(&r)),
        (ResponseCode::NoError, vec!["0.0.0.0".to_string()])
    );
    assert_eq!(ede_full(&r).map(|e| e.0), Some(15));
    let r = net.ask("ads.example.com.", RecordType::AAAA);
    assert_eq!(ips(&r), ["::"]);
    let r = net.ask("ads.example.com.", RecordType::TXT);
    assert_eq!(
        (r.response_code, r.answers.len()),
        (ResponseCode::NoError, 0)
    );
    assert!(net.log.is_empty());
}

// ----------------------------------------------------------------- local names

fn home() -> PolicyConfig {
    PolicyConfig {
        hosts: vec![
            HostRecord {
                names: strings(&["nas", "files.lan"]),
                addrs: vec!["192.168.1.5".parse().unwrap(), "fd00::5".parse().unwrap()],
                ttl: Some(120),
            },
            HostRecord {
                names: strings(&["printer.home.arpa"]),
                addrs: vec!["192.168.1.9".parse().unwrap()],
                ttl: None,
            },
        ],
        addresses: vec![
            AddressRule {
                domain: "lab.test".into(),
                addr: Some("10.0.0.7".parse().unwrap()),
            },
            AddressRule {
                domain: "nope.test".into(),
                addr: None,
            },
        ],
        cnames: vec![CnameRule {
            alias: "storage.home.arpa".into(),
            target: "nas.home.arpa".into(),
        }],
        ..PolicyConfig::default()
    }
}

#[test]
fn host_record_answers_a_aaaa_and_ptr_authoritatively() {
    let mut net = Net::new(with_policy(home()));
    for q in ["nas.home.arpa.", "NAS.", "files.lan."] {
        let r = net.ask(q, RecordType::A);
        assert_eq!(ips(&r), ["192.168.1.5"], "{q}");
        assert!(r.authoritative, "{q}");
        assert_eq!(r.answers[0].ttl, 120);
        assert_eq!(ips(&net.ask(q, RecordType::AAAA)), ["fd00::5"], "{q}");
    }
    let r = net.ask("5.1.168.192.in-addr.arpa.", RecordType::PTR);
    assert_eq!(ptrs(&r), ["nas.home.arpa."]);
    assert!(r.authoritative);
    let rev6 = "5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa.";
    assert_eq!(ptrs(&net.ask(rev6, RecordType::PTR)), ["nas.home.arpa."]);
    // Default TTL for the second record.
    let r = net.ask("printer.home.arpa.", RecordType::A);
    assert_eq!(
        (ips(&r), r.answers[0].ttl),
        (vec!["192.168.1.9".to_string()], 300)
    );
    // Another type at a local name: NODATA with the local zone's SOA.
    let r = net.ask("nas.home.arpa.", RecordType::MX);
    assert_eq!(
        (r.response_code, r.answers.len()),
        (ResponseCode::NoError, 0)
    );
    assert_eq!(soa_owner(&r).as_deref(), Some("home.arpa."));
    assert!(r.authoritative);
    // Unknown names in the local domain: NXDOMAIN, never forwarded.
    let r = net.ask("ghost.home.arpa.", RecordType::A);
    assert_eq!(r.response_code, ResponseCode::NXDomain);
    assert_eq!(soa_owner(&r).as_deref(), Some("home.arpa."));
    assert!(net.log.is_empty(), "{:?}", net.traffic(0));
    assert!(net.engine.policy_stats().local_answers >= 10);
}

#[test]
fn address_rule_covers_the_domain_and_everything_below() {
    let mut net = Net::new(with_policy(home()));
    for q in ["lab.test.", "a.b.lab.test."] {
        let r = net.ask(q, RecordType::A);
        assert_eq!(ips(&r), ["10.0.0.7"], "{q}");
        assert!(r.authoritative);
        let r = net.ask(q, RecordType::AAAA);
        assert_eq!(
            (r.response_code, r.answers.len()),
            (ResponseCode::NoError, 0)
        );
        assert_eq!(soa_owner(&r).as_deref(), Some("lab.test."));
    }
    let r = net.ask("x.nope.test.", RecordType::A);
    assert_eq!(r.response_code, ResponseCode::NXDomain);
    assert!(net.log.is_empty());
}

#[test]
fn cname_rule_answers_the_alias_with_the_targets_local_data() {
    let mut net = Net::new(with_policy(home()));
    let r = net.ask("storage.home.arpa.", RecordType::A);
    assert_eq!(r.answers.len(), 2);
    assert!(matches!(&r.answers[0].data, RData::CNAME(c) if c.0.to_ascii() == "nas.home.arpa."));
    assert_eq!(ips(&r), ["192.168.1.5"]);
    let r = net.ask("storage.home.arpa.", RecordType::CNAME);
    assert_eq!(r.answers.len(), 1);
    assert!(net.log.is_empty());
}

// ----------------------------------------------------------------- local zones

#[test]
fn localhost_is_loopback_at_every_level() {
    let mut net = Net::new(recursive_config());
    let r = net.ask("localhost.", RecordType::A);
    assert_eq!(ips(&r), ["127.0.0.1"]);
    assert!(r.authoritative);
    assert_eq!(ips(&net.ask("app.localhost.", RecordType::AAAA)), ["::1"]);
    let r = net.ask("localhost.", RecordType::SOA);
    assert_eq!(r.answers[0].record_type(), RecordType::SOA);
    let r = net.ask("localhost.", RecordType::MX);
    assert_eq!(
        (r.response_code, soa_owner(&r).as_deref()),
        (ResponseCode::NoError, Some("localhost."))
    );
    let r = net.ask("1.0.0.127.in-addr.arpa.", RecordType::PTR);
    assert_eq!(ptrs(&r), ["localhost."]);
    assert!(r.authoritative);
    let r = net.ask("2.0.0.127.in-addr.arpa.", RecordType::PTR);
    assert_eq!(r.response_code, ResponseCode::NXDomain);
    assert_eq!(soa_owner(&r).as_deref(), Some("127.in-addr.arpa."));
    assert!(net.log.is_empty());
}

#[test]
fn special_use_domains_are_nxdomain_with_soa_and_never_leave() {
    let mut net = Net::new(recursive_config());
    for (q, zone) in [
        (
            "duckduckgogg42xjoc72x3sjasowoarfbgcmvfimaftt6twagswzczad.onion.",
            "onion.",
        ),
        ("foo.invalid.", "invalid."),
        ("printer.local.", "local."),
        ("use-application-dns.net.", "use-application-dns.net."),
    ] {
        let r = net.ask(q, RecordType::A);
        let want = if q == zone && q != "use-application-dns.net." {
            ResponseCode::NoError // the apex exists: NODATA (not for Firefox's canary)
        } else {
            ResponseCode::NXDomain
        };
        assert_eq!(r.response_code, want, "{q}");
        assert!(r.authoritative, "{q}");
        assert_eq!(soa_owner(&r).as_deref(), Some(zone), "{q}");
    }
    assert!(net.log.is_empty(), "{:?}", net.traffic(0));
}

#[test]
fn rfc6303_reverse_zones_are_answered_locally() {
    let mut net = Net::new(recursive_config());
    for (q, zone) in [
        ("1.1.168.192.in-addr.arpa.", "168.192.in-addr.arpa."),
        ("4.3.2.10.in-addr.arpa.", "10.in-addr.arpa."),
        ("1.0.20.172.in-addr.arpa.", "20.172.in-addr.arpa."),
        ("9.9.64.100.in-addr.arpa.", "64.100.in-addr.arpa."),
        ("1.1.254.169.in-addr.arpa.", "254.169.in-addr.arpa."),
        (
            "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa.",
            "d.f.ip6.arpa.",
        ),
        (
            "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.e.f.ip6.arpa.",
            "8.e.f.ip6.arpa.",
        ),
    ] {
        let r = net.ask(q, RecordType::PTR);
        assert_eq!(r.response_code, ResponseCode::NXDomain, "{q}");
        assert_eq!(soa_owner(&r).as_deref(), Some(zone), "{q}");
        assert!(r.authoritative);
    }
    // A public reverse name still goes out.
    net.ask("1.2.0.192.in-addr.arpa.", RecordType::PTR);
    assert!(
        net.log.is_empty()
            || net
                .traffic(0)
                .iter()
                .all(|(_, q, _)| !q.contains("168.192"))
    );
    let outside = net.log.len();
    net.ask("8.8.8.8.in-addr.arpa.", RecordType::PTR);
    assert!(net.log.len() > outside, "public reverse names are resolved");
}

// ----------------------------------------------------------------- per-domain servers

const CORP: &str = "10.5.5.5";

fn corp_server() -> Server {
    Server {
        ip: CORP.parse().unwrap(),
        zones: vec![
            Zone::new(
                "corp.example.",
                vec![
                    soa("corp.example.", 300, 60),
                    a("git.corp.example.", 60, "10.5.0.20"),
                ],
            ),
            Zone::new(
                "168.192.in-addr.arpa.",
                vec![
                    soa("168.192.in-addr.arpa.", 300, 60),
                    hickory_proto::rr::Record::from_rdata(
                        n("7.1.168.192.in-addr.arpa."),
                        60,
                        RData::PTR(hickory_proto::rr::rdata::PTR(n("laptop.corp.example."))),
                    ),
                ],
            ),
        ],
        behavior: Behavior::Normal,
    }
}

fn corp_policy() -> PolicyConfig {
    let corp = SocketAddr::new(CORP.parse().unwrap(), 53);
    PolicyConfig {
        servers: vec![
            DomainServers {
                domain: "corp.example".into(),
                servers: vec![corp],
            },
            DomainServers {
                domain: "168.192.in-addr.arpa".into(),
                servers: vec![corp],
            },
        ],
        ..PolicyConfig::default()
    }
}

#[test]
fn per_domain_server_gets_its_domain_with_rd_in_recursive_mode() {
    let mut servers = world();
    servers.push(corp_server());
    let mut cfg = with_policy(corp_policy());
    cfg.qname_minimisation = true;
    let mut net = Net::with_servers(cfg, servers);
    let r = net.ask("git.corp.example.", RecordType::A);
    // A private address, kept: the domain's own server is trusted (no rebind filter).
    assert_eq!(ips(&r), ["10.5.0.20"]);
    assert_eq!(
        net.traffic(0),
        [(
            CORP.to_string(),
            "git.corp.example.".to_string(),
            RecordType::A
        )]
    );
    assert!(net.log[0].rd, "forwarded with RD=1");
    // The reverse zone the server covers goes there, not to the local RFC 6303 zone.
    let r = net.ask("7.1.168.192.in-addr.arpa.", RecordType::PTR);
    assert_eq!(ptrs(&r), ["laptop.corp.example."]);
    assert_eq!(net.log.last().unwrap().server.ip().to_string(), CORP);
    // Other names still recurse from the root, RD=0.
    let before = net.log.len();
    assert_eq!(
        ips(&net.ask("www.example.com.", RecordType::A)),
        ["192.0.2.1"]
    );
    assert!(
        net.log[before..]
            .iter()
            .all(|s| !s.rd && s.server.ip().to_string() != CORP)
    );
}

#[test]
fn per_domain_server_beats_the_global_forwarders() {
    let mut servers = world();
    servers.push(corp_server());
    let mut cfg = with_policy(corp_policy());
    cfg.mode = Mode::Forward {
        upstreams: vec!["10.9.9.9:53".parse().unwrap()],
    };
    let mut net = Net::with_servers(cfg, servers);
    assert_eq!(
        ips(&net.ask("git.corp.example.", RecordType::A)),
        ["10.5.0.20"]
    );
    assert_eq!(net.traffic(0)[0].0, CORP);
}

#[test]
fn a_dead_per_domain_server_fails_without_leaking_upstream() {
    let mut servers = world();
    let mut corp = corp_server();
    corp.behavior = Behavior::Drop;
    servers.push(corp);
    let mut net = Net::with_servers(with_policy(corp_policy()), servers);
    let r = net.ask("git.corp.example.", RecordType::A);
    assert_eq!(r.response_code, ResponseCode::ServFail);
    assert!(
        net.log.iter().all(|s| s.server.ip().to_string() == CORP),
        "{:?}",
        net.traffic(0)
    );
}

// ----------------------------------------------------------------- rebinding

/// The world with `evil.example.com.` answering private addresses and `mixed.` one
/// public and one private.
fn rebind_world() -> Vec<Server> {
    let mut w = world();
    for s in &mut w {
        for z in &mut s.zones {
            if z.origin.to_ascii() == "example.com." {
                z.records.push(a("evil.example.com.", 300, "192.168.1.1"));
                z.records.push(aaaa("evil.example.com.", 300, "fd00::1"));
                z.records.push(a("mixed.example.com.", 300, "192.0.2.77"));
                z.records.push(a("mixed.example.com.", 300, "127.0.0.1"));
                z.records
                    .push(cname("to-evil.example.com.", 300, "evil.example.com."));
            }
        }
    }
    w
}

#[test]
fn rebinding_filter_drops_private_addresses_of_public_names() {
    let mut net = Net::with_servers(recursive_config(), rebind_world());
    for _ in 0..2 {
        // Twice: the second from the cache (the fast path must decline it too).
        let r = net.ask("evil.example.com.", RecordType::A);
        assert_eq!(
            (r.response_code, r.answers.len()),
            (ResponseCode::NoError, 0)
        );
        assert_eq!(ede_full(&r).map(|e| e.0), Some(15));
        let r = net.ask("evil.example.com.", RecordType::AAAA);
        assert_eq!(r.answers.len(), 0);
        let r = net.ask("to-evil.example.com.", RecordType::A);
        assert_eq!(r.answers.len(), 0, "through a CNAME too");
        let r = net.ask("mixed.example.com.", RecordType::A);
        assert_eq!(ips(&r), ["192.0.2.77"]);
    }
    assert_eq!(net.engine.stats().fast_path_hits, 0);
    assert!(net.engine.policy_stats().rebind_filtered >= 8);
}

#[test]
fn rebind_domain_ok_and_off_switch_keep_private_addresses() {
    let cfg = with_policy(PolicyConfig {
        rebind_ok: strings(&["evil.example.com"]),
        ..PolicyConfig::default()
    });
    let mut net = Net::with_servers(cfg, rebind_world());
    for _ in 0..2 {
        assert_eq!(
            ips(&net.ask("evil.example.com.", RecordType::A)),
            ["192.168.1.1"]
        );
    }
    assert_eq!(
        net.engine.stats().fast_path_hits,
        1,
        "exempt names stay on the fast path"
    );
    assert_eq!(
        net.ask("mixed.example.com.", RecordType::A).answers.len(),
        1
    );
    let cfg = with_policy(PolicyConfig {
        stop_rebind: false,
        ..PolicyConfig::default()
    });
    let mut net = Net::with_servers(cfg, rebind_world());
    assert_eq!(
        net.ask("mixed.example.com.", RecordType::A).answers.len(),
        2
    );
}

// ----------------------------------------------------------------- caps

#[test]
fn list_caps_refuse_and_keep_the_previous_list() {
    let cfg = with_policy(PolicyConfig {
        limits: PolicyLimits {
            max_lists: 2,
            max_blocked_domains: 3,
            ..PolicyLimits::default()
        },
        ..PolicyConfig::default()
    });
    let mut net = Net::new(cfg);
    // The builder stops at the domain cap.
    let mut b = net.engine.blocklist_builder();
    for d in ["a.test", "b.test", "c.test", "d.test"] {
        b.insert(d);
    }
    assert_eq!((b.len(), b.rejected()), (3, 1));
    net.engine.set_blocklist(1, "one", b).unwrap();
    // All lists together: list 2 would make 4 domains.
    let mut b = net.engine.blocklist_builder();
    b.insert("www.example.com");
    assert_eq!(
        net.engine.set_blocklist(2, "two", b),
        Err(SetBlocklistError::TooManyDomains { max: 3 })
    );
    assert_eq!(
        ips(&net.ask("www.example.com.", RecordType::A)),
        ["192.0.2.1"]
    );
    // Replacing list 1 by a smaller one is fine; then a second list fits.
    let mut b = net.engine.blocklist_builder();
    b.insert("a.test");
    net.engine.set_blocklist(1, "one", b).unwrap();
    let mut b = net.engine.blocklist_builder();
    b.insert("b.test");
    net.engine.set_blocklist(2, "two", b).unwrap();
    // The list count cap.
    let b = net.engine.blocklist_builder();
    assert_eq!(
        net.engine.set_blocklist(3, "three", b),
        Err(SetBlocklistError::TooManyLists { max: 2 })
    );
    assert_eq!(net.engine.policy_stats().lists.len(), 2);
    assert_eq!(
        net.ask("x.a.test.", RecordType::A).response_code,
        ResponseCode::NXDomain
    );
}

#[test]
fn local_tables_stop_at_their_caps() {
    let mut p = home();
    p.limits = PolicyLimits {
        max_local_names: 3,
        max_rules: 1,
        ..PolicyLimits::default()
    };
    p.block = strings(&["one.test", "two.test"]);
    let mut net = Net::new(with_policy(p));
    // nas.home.arpa, nas, files.lan fill the table: their PTRs and the rest are skipped.
    assert_eq!(
        ips(&net.ask("nas.home.arpa.", RecordType::A)),
        ["192.168.1.5"]
    );
    let r = net.ask("printer.home.arpa.", RecordType::A);
    assert_eq!(r.response_code, ResponseCode::NXDomain);
    let r = net.ask("5.1.168.192.in-addr.arpa.", RecordType::PTR);
    assert_eq!(r.response_code, ResponseCode::NXDomain);
    // One --address rule, one --dns-block domain.
    assert_eq!(ips(&net.ask("lab.test.", RecordType::A)), ["10.0.0.7"]);
    assert_eq!(
        net.ask("one.test.", RecordType::A).response_code,
        ResponseCode::NXDomain
    );
    let s = net.engine.policy_stats();
    assert_eq!(s.local_names, 3);
    assert_eq!(s.lists[0].domains, 1);
    assert!(s.config_skipped >= 3, "{}", s.config_skipped);
}

#[test]
fn a_million_blocked_domains_fit_in_sixteen_mebibytes() {
    let mut net = Net::new(recursive_config());
    let mut b = net.engine.blocklist_builder();
    for i in 0..1_000_000u32 {
        b.insert(&format!("ads{i}.tracker{}.example", i % 977));
    }
    assert_eq!(net.engine.set_blocklist(1, "big", b), Ok(1_000_000));
    let s = net.engine.policy_stats();
    let bytes = s.lists[0].heap_bytes;
    println!(
        "policy: 1M domains in {bytes} bytes ({:.2} per domain)",
        bytes as f64 / 1e6
    );
    assert!(bytes <= 16 << 20, "{bytes} bytes");
    let r = net.ask("ads123456.tracker349.example.", RecordType::A);
    assert_eq!(r.response_code, ResponseCode::NXDomain);
    assert_eq!(
        ips(&net.ask("www.example.com.", RecordType::A)),
        ["192.0.2.1"]
    );
}
