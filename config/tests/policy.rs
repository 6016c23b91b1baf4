//! The policy keys: good values, every kind of bad one (each a one-line error naming
//! the key), and the caps.

use config::{BlockAnswer, Config, ConfigError};

fn ok(line: &str) -> config::Policy {
    match Config::parse(line) {
        Ok(c) => c.policy,
        Err(e) => panic!("{line}: {e}"),
    }
}

fn err(line: &str) -> String {
    let e = Config::parse(line).expect_err(line);
    let s = e.to_string();
    assert!(!s.contains('\n'), "one line: {s}");
    s
}

#[test]
fn defaults() {
    let p = ok("");
    assert_eq!(p.domain, "home.arpa");
    assert!(p.stop_rebind);
    assert_eq!(p.block_answer, BlockAnswer::NxDomain);
    assert!(p.block.is_empty() && p.servers.is_empty());
}

#[test]
fn good_values() {
    let p = ok(
        "--dns-block=Ads.Example.com. --dns-block=t.example --dns-allow=ok.example \
                --block-answer=null --host-record=nas,files.lan,192.168.1.5,fd00::5,120 \
                --host-record=printer,192.168.1.9 --address=/lab.test/10.0.0.7 \
                --address=/a.test/b.test/ --cname=storage.home.arpa,nas.home.arpa \
                --domain=lan --server=/corp.example/10.5.5.5 \
                --server=/corp.example/10.5.5.6#5353 --server=/168.192.in-addr.arpa/192.168.1.1 \
                --stop-dns-rebind=off --rebind-domain-ok=/plex.direct/ --rebind-domain-ok=x.test",
    );
    assert_eq!(p.block, ["ads.example.com", "t.example"]);
    assert_eq!(p.allow, ["ok.example"]);
    assert_eq!(p.block_answer, BlockAnswer::Null);
    assert_eq!(p.hosts.len(), 2);
    assert_eq!(p.hosts[0].names, ["nas", "files.lan"]);
    assert_eq!(p.hosts[0].addrs.len(), 2);
    assert_eq!((p.hosts[0].ttl, p.hosts[1].ttl), (Some(120), None));
    assert_eq!(p.addresses.len(), 3);
    assert_eq!(p.addresses[1].domain, "a.test");
    assert_eq!(p.addresses[1].addr, None);
    assert_eq!(
        p.cnames,
        [config::CnameRule {
            alias: "storage.home.arpa".into(),
            target: "nas.home.arpa".into()
        }]
    );
    assert_eq!(p.domain, "lan");
    assert_eq!(p.servers.len(), 2);
    assert_eq!(
        p.servers[0].servers,
        [
            "10.5.5.5:53".parse().unwrap(),
            "10.5.5.6:5353".parse().unwrap()
        ]
    );
    assert!(!p.stop_rebind);
    assert_eq!(p.rebind_ok, ["plex.direct", "x.test"]);
    assert!(ok("--stop-dns-rebind").stop_rebind);
}

#[test]
fn bad_values_name_the_key_and_the_value() {
    for (line, key, what) in [
        (
            "--dns-block=ads..example",
            "--dns-block",
            "not a domain name",
        ),
        ("--dns-allow=a_b$", "--dns-allow", "not a domain name"),
        (
            "--block-answer=zero",
            "--block-answer",
            "neither nxdomain nor null",
        ),
        ("--host-record=nas", "--host-record", "without an address"),
        (
            "--host-record=192.168.1.1",
            "--host-record",
            "without a name",
        ),
        (
            "--host-record=nas,10.0.0.1,99999999",
            "--host-record",
            "TTL",
        ),
        (
            "--host-record=nas,10.0.0.1,60,10.0.0.2",
            "--host-record",
            "after the TTL",
        ),
        (
            "--host-record=n@s,10.0.0.1",
            "--host-record",
            "not a domain name",
        ),
        ("--address=lab.test/10.0.0.7", "--address", "/DOMAIN/"),
        (
            "--address=/lab.test/10.0.0.300",
            "--address",
            "not an IP address",
        ),
        ("--cname=alias", "--cname", "ALIAS,TARGET"),
        ("--cname=a.test,a.test", "--cname", "itself"),
        ("--domain=-bad-.x..", "--domain", "not a domain name"),
        ("--server=/corp/nope", "--server", "not an IP address"),
        ("--server=/corp/10.0.0.1#0", "--server", "port"),
        ("--server=/corp/0.0.0.0", "--server", "unicast"),
        (
            "--stop-dns-rebind=maybe",
            "--stop-dns-rebind",
            "neither on nor off",
        ),
        (
            "--rebind-domain-ok=/x.test/junk",
            "--rebind-domain-ok",
            "/DOMAIN/",
        ),
    ] {
        let e = err(line);
        assert!(e.contains(key) && e.contains(what), "{line}: {e}");
    }
    // Non-repeatable policy keys are still one-shot.
    assert!(matches!(
        Config::parse("--domain=a.test --domain=b.test"),
        Err(ConfigError::Duplicate { key: "--domain" })
    ));
}

#[test]
fn caps() {
    let many = |key: &str, n: usize, f: &dyn Fn(usize) -> String| {
        (0..n)
            .map(|i| format!("--{key}={}", f(i)))
            .collect::<Vec<_>>()
            .join(" ")
    };
    type Case<'a> = (&'a str, usize, &'a dyn Fn(usize) -> String);
    let cases: [Case; 6] = [
        ("host-record", config::policy::MAX_HOST_RECORDS, &|i| {
            format!("h{i},10.0.0.1")
        }),
        ("address", config::policy::MAX_ADDRESS, &|i| {
            format!("/a{i}.t/10.0.0.1")
        }),
        ("cname", config::policy::MAX_CNAME, &|i| {
            format!("a{i}.t,b.t")
        }),
        ("server", config::policy::MAX_SERVER_DOMAINS, &|i| {
            format!("/d{i}.t/10.0.0.1")
        }),
        ("rebind-domain-ok", config::policy::MAX_REBIND_OK, &|i| {
            format!("r{i}.t")
        }),
        ("dns-block", config::policy::MAX_BLOCK, &|i| {
            format!("b{i}.t")
        }),
    ];
    for (key, max, f) in cases {
        assert!(
            Config::parse(&many(key, max, f)).is_ok(),
            "{key} at its cap"
        );
        let e = Config::parse(&many(key, max + 1, f)).unwrap_err();
        assert!(
            matches!(e, ConfigError::TooManyItems { max: m, .. } if m == max),
            "{key}: {e}"
        );
    }
    let e = err("--host-record=a,b,c,d,e,f,g,h,i,10.0.0.1");
    assert!(e.contains("--host-record"), "{e}");
    let servers = (1..=5)
        .map(|i| format!("--server=/c.t/10.0.0.{i}"))
        .collect::<Vec<_>>();
    assert!(Config::parse(&servers[..4].join(" ")).is_ok());
    assert!(Config::parse(&servers.join(" ")).is_err());
}

#[test]
fn local_zone_nodefault_names_a_built_in_zone() {
    let p = ok("--local-zone-nodefault=8.b.d.0.1.0.0.2.ip6.arpa \
                --local-zone-nodefault=20.172.in-addr.arpa. \
                --local-zone-nodefault=8.B.D.0.1.0.0.2.IP6.ARPA");
    assert_eq!(
        p.nodefault,
        ["8.b.d.0.1.0.0.2.ip6.arpa", "20.172.in-addr.arpa"]
    );
    for bad in [
        "example.com",
        "32.172.in-addr.arpa",
        "ip6.arpa",
        "home.arpa",
    ] {
        let e = err(&format!("--local-zone-nodefault={bad}"));
        assert!(
            e.contains("--local-zone-nodefault") && e.contains("built-in"),
            "{bad}: {e}"
        );
    }
}
