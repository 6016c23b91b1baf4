//! Table-driven tests of `Config::parse`: good command lines and the exact message of
//! every bad one, plus a property test that no input panics.

use config::{Config, ConfigError, IpCidr, LogLevel, MAX_CMDLINE, Mode};
use core::net::{IpAddr, SocketAddr};
use proptest::prelude::*;

fn ok(cmdline: &str) -> Config {
    match Config::parse(cmdline) {
        Ok(c) => c,
        Err(e) => panic!("{cmdline:?} should parse, got: {e}"),
    }
}

fn sa(s: &str) -> SocketAddr {
    s.parse().unwrap()
}
fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// (command line, check on the result)
type Good = (&'static str, fn(&Config) -> bool);

const GOOD: &[Good] = &[
    ("", |c| *c == Config::default() && c.dhcp),
    ("   \t\n ", |c| *c == Config::default()),
    ("--dhcp", |c| c.dhcp && c.ipv4.is_none()),
    ("--ipv4=10.0.0.2/24 --ipv4-gateway=10.0.0.1", |c| {
        !c.dhcp
            && c.ipv4.unwrap().to_string() == "10.0.0.2/24"
            && c.ipv4_gateway == Some("10.0.0.1".parse().unwrap())
    }),
    ("--ipv4=192.168.1.53/24", |c| {
        !c.dhcp && c.ipv4_gateway.is_none()
    }),
    ("--ipv4=10.1.2.3/32", |c| c.ipv4.unwrap().prefix() == 32),
    ("--ipv4=10.0.0.0/31", |c| c.ipv4.unwrap().prefix() == 31),
    ("--ipv6=2001:db8::2/64 --ipv6-gateway=fe80::1", |c| {
        c.ipv6.unwrap().prefix() == 64 && c.ipv6_gateway == Some("fe80::1".parse().unwrap())
    }),
    ("--ipv6=2001:db8::2/64 --ipv6-gateway=2001:db8::1", |c| {
        c.ipv6_gateway.is_some()
    }),
    ("--forward=1.1.1.1", |c| {
        c.mode
            == Mode::Forward {
                upstreams: vec![sa("1.1.1.1:53")],
            }
    }),
    (
        "--forward=9.9.9.9:5353,[2620:fe::fe]:853,2606:4700::1111,[2001:db8::53]",
        |c| {
            c.mode
                == Mode::Forward {
                    upstreams: vec![
                        sa("9.9.9.9:5353"),
                        sa("[2620:fe::fe]:853"),
                        sa("[2606:4700::1111]:53"),
                        sa("[2001:db8::53]:53"),
                    ],
                }
        },
    ),
    ("--root-hints=10.0.0.53,fd00::53", |c| {
        c.mode
            == Mode::Recursive {
                root_hints: Some(vec![ip("10.0.0.53"), ip("fd00::53")]),
            }
    }),
    ("--cache-size=65536", |c| c.cache_size == 65536),
    ("--cache-size=64K", |c| c.cache_size == 64 << 10),
    ("--cache-size=16m", |c| c.cache_size == 16 << 20),
    ("--cache-size=1G", |c| c.cache_size == 1 << 30),
    ("--cache-size=1024M", |c| c.cache_size == 1 << 30),
    ("--allow=192.168.1.0/24,fd00::/8", |c| {
        c.allow.len() == 2
            && c.allow[0].contains(ip("192.168.1.77"))
            && !c.allow[0].contains(ip("10.0.0.1"))
            && c.allow[1].contains(ip("fd00::1"))
    }),
    ("--allow=0.0.0.0/0,::/0", |c| {
        c.allow.iter().any(|n| n.contains(ip("8.8.8.8")))
            && c.allow.iter().any(|n| n.contains(ip("2001:db8::1")))
    }),
    ("--allow=203.0.113.7", |c| {
        c.allow == vec![IpCidr::new(ip("203.0.113.7"), 32).unwrap()]
    }),
    ("--qname-minimisation=off", |c| !c.qname_minimisation),
    ("--qname-minimisation=on", |c| c.qname_minimisation),
    ("--serve-stale=on", |c| c.serve_stale),
    ("--log-level=debug", |c| c.log_level == LogLevel::Debug),
    ("--log-level=error", |c| c.log_level == LogLevel::Error),
    ("--max-clients=1 --tcp-connections=256", |c| {
        c.max_clients == 1 && c.tcp_connections == 256
    }),
    ("--stats-interval=0", |c| c.stats_interval_secs == 0),
    ("--stats-interval=86400", |c| c.stats_interval_secs == 86400),
    (
        "  --ipv4=10.0.0.2/24\t--ipv4-gateway=10.0.0.1\n--forward=10.0.0.1 --cache-size=32M \
         --log-level=trace --max-clients=100 --tcp-connections=8 --stats-interval=10 \
         --serve-stale=on --qname-minimisation=off --allow=10.0.0.0/24 ",
        |c| {
            c.cache_size == 32 << 20
                && c.max_clients == 100
                && c.tcp_connections == 8
                && c.stats_interval_secs == 10
                && c.serve_stale
                && !c.qname_minimisation
                && c.log_level == LogLevel::Trace
                && matches!(&c.mode, Mode::Forward { upstreams } if upstreams.len() == 1)
        },
    ),
];

#[test]
fn good_command_lines() {
    for (cmdline, check) in GOOD {
        let c = ok(cmdline);
        assert!(check(&c), "{cmdline:?} parsed to unexpected {c:?}");
    }
}

const BAD: &[(&str, &str)] = &[
    (
        "--ipv4=10.0.0.300/24",
        r#"--ipv4: "10.0.0.300/24" is not an IPv4 address with prefix (expected ADDR/PREFIX, e.g. 10.0.0.2/24)"#,
    ),
    (
        "--ipv4=10.0.0.2/33",
        r#"--ipv4: "10.0.0.2/33" is not an IPv4 address with prefix (expected ADDR/PREFIX, e.g. 10.0.0.2/24)"#,
    ),
    (
        "--ipv4=10.0.0.2",
        r#"--ipv4: "10.0.0.2" is missing its /PREFIX (expected ADDR/PREFIX, e.g. 10.0.0.2/24)"#,
    ),
    (
        "--ipv4=10.0.0.2/+24",
        r#"--ipv4: "10.0.0.2/+24" is not an IPv4 address with prefix (expected ADDR/PREFIX, e.g. 10.0.0.2/24)"#,
    ),
    (
        "--ipv4=10.0.0.255/24",
        r#"--ipv4: "10.0.0.255/24" is not a usable host address (expected ADDR/PREFIX, e.g. 10.0.0.2/24)"#,
    ),
    (
        "--ipv4=0.0.0.0/0",
        r#"--ipv4: "0.0.0.0/0" is not a usable host address (expected ADDR/PREFIX, e.g. 10.0.0.2/24)"#,
    ),
    (
        "--ipv4",
        "--ipv4: needs a value (expected --ipv4=ADDR/PREFIX)",
    ),
    (
        "--ipv4=",
        "--ipv4: needs a value (expected --ipv4=ADDR/PREFIX)",
    ),
    (
        "--ipv4 10.0.0.2/24",
        "--ipv4: needs a value (expected --ipv4=ADDR/PREFIX)",
    ),
    (
        "--ipv4-gateway=10.0.0.1",
        "--ipv4-gateway: needs --ipv4 as well (with DHCP the router comes from the DHCP server)",
    ),
    (
        "--ipv4=10.0.0.2/24 --ipv4-gateway=10.0.1.1",
        r#"--ipv4-gateway: "10.0.1.1" is not on the network of 10.0.0.2/24 (expected an address inside it)"#,
    ),
    (
        "--ipv4=10.0.0.2/24 --ipv4-gateway=10.0.0.2",
        r#"--ipv4-gateway: "10.0.0.2" is this resolver's own address (expected ADDR, e.g. 10.0.0.1)"#,
    ),
    (
        "--ipv4=10.0.0.2/24 --ipv4-gateway=10.0.0.255",
        r#"--ipv4-gateway: "10.0.0.255" is not a usable host address (expected ADDR, e.g. 10.0.0.1)"#,
    ),
    (
        "--ipv6=fd00::2/64 --ipv6-gateway=fd00::2",
        r#"--ipv6-gateway: "fd00::2" is this resolver's own address (expected ADDR, e.g. fe80::1)"#,
    ),
    (
        "--ipv4=10.0.0.2/24 --ipv4-gateway=router",
        r#"--ipv4-gateway: "router" is not an IPv4 address (expected ADDR, e.g. 10.0.0.1)"#,
    ),
    (
        "--ipv4=10.0.0.2/24 --ipv4-gateway=255.255.255.255",
        r#"--ipv4-gateway: "255.255.255.255" is not a unicast address (expected ADDR, e.g. 10.0.0.1)"#,
    ),
    (
        "--dhcp --ipv4=10.0.0.2/24",
        "--dhcp: cannot be combined with --ipv4 (use either a static address or DHCP)",
    ),
    (
        "--dhcp=true",
        r#"--dhcp: is a flag and takes no value, got "true" (expected just --dhcp)"#,
    ),
    (
        "--ipv6=2001:db8::2",
        r#"--ipv6: "2001:db8::2" is missing its /PREFIX (expected ADDR/PREFIX, e.g. 2001:db8::2/64)"#,
    ),
    (
        "--ipv6=2001:db8::g/64",
        r#"--ipv6: "2001:db8::g/64" is not an IPv6 address with prefix (expected ADDR/PREFIX, e.g. 2001:db8::2/64)"#,
    ),
    (
        "--ipv6=ff02::1/64",
        r#"--ipv6: "ff02::1/64" is not a usable host address (expected ADDR/PREFIX, e.g. 2001:db8::2/64)"#,
    ),
    (
        "--ipv6-gateway=fe80::1",
        "--ipv6-gateway: needs --ipv6 as well (there is no IPv6 autoconfiguration yet)",
    ),
    (
        "--ipv6=2001:db8::2/64 --ipv6-gateway=2001:db9::1",
        r#"--ipv6-gateway: "2001:db9::1" is not on the network of 2001:db8::2/64 (expected an address inside it)"#,
    ),
    (
        "--forward=1.1.1.1,dns.google",
        r#"--forward: "dns.google" is not an IP address with optional port (expected IP[:PORT],…, e.g. 1.1.1.1,[2606:4700::1111]:53)"#,
    ),
    (
        "--forward=1.1.1.1:0",
        r#"--forward: "1.1.1.1:0" is not an IP address with optional port (expected IP[:PORT],…, e.g. 1.1.1.1,[2606:4700::1111]:53)"#,
    ),
    (
        "--forward=1.1.1.1:65536",
        r#"--forward: "1.1.1.1:65536" is not an IP address with optional port (expected IP[:PORT],…, e.g. 1.1.1.1,[2606:4700::1111]:53)"#,
    ),
    (
        "--forward=[2606:4700::1111]53",
        r#"--forward: "[2606:4700::1111]53" is not an IP address with optional port (expected IP[:PORT],…, e.g. 1.1.1.1,[2606:4700::1111]:53)"#,
    ),
    (
        "--forward=1.1.1.1,,8.8.8.8",
        r#"--forward: "" is not an IP address with optional port (expected IP[:PORT],…, e.g. 1.1.1.1,[2606:4700::1111]:53)"#,
    ),
    (
        "--forward=224.0.0.1",
        r#"--forward: "224.0.0.1" is not a unicast address (expected IP[:PORT],…, e.g. 1.1.1.1,[2606:4700::1111]:53)"#,
    ),
    (
        "--forward=1.1.1.1 --root-hints=10.0.0.53",
        "--forward: cannot be combined with --root-hints (forwarding uses no root servers; choose one mode)",
    ),
    (
        "--forward=1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17",
        "--forward: 17 items given (expected at most 16, separated by commas)",
    ),
    (
        "--root-hints=a.root-servers.net",
        r#"--root-hints: "a.root-servers.net" is not an IP address (expected IP,…, e.g. 198.41.0.4,2001:503:ba3e::2:30)"#,
    ),
    (
        "--cache-size=10",
        r#"--cache-size: "10" is out of range (expected BYTES, NK or NM from 64K to 1G, e.g. 16M)"#,
    ),
    (
        "--cache-size=2G",
        r#"--cache-size: "2G" is out of range (expected BYTES, NK or NM from 64K to 1G, e.g. 16M)"#,
    ),
    (
        "--cache-size=99999999999999999999",
        r#"--cache-size: "99999999999999999999" is not a size (expected BYTES, NK or NM from 64K to 1G, e.g. 16M)"#,
    ),
    (
        "--cache-size=9999999999999999999G",
        r#"--cache-size: "9999999999999999999G" is out of range (expected BYTES, NK or NM from 64K to 1G, e.g. 16M)"#,
    ),
    (
        "--cache-size=16MB",
        r#"--cache-size: "16MB" is not a size (expected BYTES, NK or NM from 64K to 1G, e.g. 16M)"#,
    ),
    (
        "--allow=192.168.1.0/33",
        r#"--allow: "192.168.1.0/33" is not an IP network (expected CIDR,…, e.g. 192.168.1.0/24,fd00::/8)"#,
    ),
    (
        "--allow=lan",
        r#"--allow: "lan" is not an IP network (expected CIDR,…, e.g. 192.168.1.0/24,fd00::/8)"#,
    ),
    (
        "--qname-minimisation=yes",
        r#"--qname-minimisation: "yes" is neither on nor off (expected on or off)"#,
    ),
    (
        "--log-level=verbose",
        r#"--log-level: "verbose" is not a log level (expected error, warn, info, debug or trace)"#,
    ),
    (
        "--max-clients=0",
        r#"--max-clients: "0" is out of range (expected N from 1 to 4096)"#,
    ),
    (
        "--max-clients=-1",
        r#"--max-clients: "-1" is not a number (expected N from 1 to 4096)"#,
    ),
    (
        "--tcp-connections=1000",
        r#"--tcp-connections: "1000" is out of range (expected N from 1 to 256)"#,
    ),
    (
        "--stats-interval=1h",
        r#"--stats-interval: "1h" is not a number (expected SECONDS from 0 (off) to 86400)"#,
    ),
    (
        "--serve-stale",
        "--serve-stale: needs a value (expected --serve-stale=on|off)",
    ),
    (
        "--ipv4=10.0.0.2/24 --ipv4=10.0.0.3/24",
        "--ipv4: given more than once (expected each key at most once)",
    ),
    (
        "--dhcp --dhcp",
        "--dhcp: given more than once (expected each key at most once)",
    ),
    (
        "--qname-minimization=off",
        r#""--qname-minimization": unknown key (did you mean --qname-minimisation? --help lists all keys)"#,
    ),
    (
        "--ipv4-gw=10.0.0.1",
        r#""--ipv4-gw": unknown key (did you mean --ipv4-gateway? --help lists all keys)"#,
    ),
    (
        "--logs=*:debug",
        r#""--logs": unknown key (did you mean --log-level? --help lists all keys)"#,
    ),
    (
        "--ipv6gateway=fe80::1",
        r#""--ipv6gateway": unknown key (did you mean --ipv6-gateway? --help lists all keys)"#,
    ),
    (
        "--stats=10",
        r#""--stats": unknown key (did you mean --stats-interval? --help lists all keys)"#,
    ),
    (
        "--frobnicate",
        r#""--frobnicate": unknown key (--help lists all keys)"#,
    ),
    (
        "10.0.0.2/24",
        r#""10.0.0.2/24" is not an option (expected --key=value or --flag; --help lists them)"#,
    ),
    (
        "-ipv4=10.0.0.2/24",
        r#""-ipv4=10.0.0.2/24" is not an option (expected --key=value or --flag; --help lists them)"#,
    ),
    (
        "--",
        r#""--" is not an option (expected --key=value or --flag; --help lists them)"#,
    ),
    (
        "--=x",
        r#""--=x" is not an option (expected --key=value or --flag; --help lists them)"#,
    ),
    (
        "--log-level=\u{1b}[2J",
        r#"--log-level: "\u{1b}[2J" is not a log level (expected error, warn, info, debug or trace)"#,
    ),
];

#[test]
fn bad_command_lines_say_exactly_what_is_wrong() {
    let mut failures = Vec::new();
    for (cmdline, want) in BAD {
        match Config::parse(cmdline) {
            Ok(c) => failures.push(format!("{cmdline:?} parsed to {c:?}")),
            Err(e) => {
                let got = e.to_string();
                if got != *want {
                    failures.push(format!("{cmdline:?}\n   got: {got}\n  want: {want}"));
                }
                assert!(!got.contains('\n'), "multi-line error for {cmdline:?}");
            }
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn table_has_enough_cases() {
    assert!(GOOD.len() + BAD.len() >= 40);
}

#[test]
fn help_wins_and_lists_every_key_with_its_default() {
    assert_eq!(Config::parse("--help"), Err(ConfigError::Help));
    assert_eq!(Config::parse("--ipv4=bogus --help"), Err(ConfigError::Help));
    let text = ConfigError::Help.to_string();
    for key in [
        "--ipv4=",
        "--ipv4-gateway=",
        "--ipv6=",
        "--ipv6-gateway=",
        "--dhcp",
        "--forward=",
        "--root-hints=",
        "--cache-size=",
        "--allow=",
        "--qname-minimisation=",
        "--serve-stale=",
        "--max-clients=",
        "--tcp-connections=",
        "--stats-interval=",
        "--log-level=",
        "--help",
    ] {
        assert!(text.contains(key), "help lacks {key}:\n{text}");
    }
    assert!(text.contains("--cache-size=BYTES|NK|NM|NG  (default: 8M)"));
    assert!(text.contains("default: info"));
    assert!(text.contains("fc00::/7"));
    assert_eq!(text, config::usage());
}

#[test]
fn oversize_command_line() {
    let long = format!("--log-level=info{}", " ".repeat(MAX_CMDLINE));
    assert_eq!(
        Config::parse(&long).unwrap_err().to_string(),
        format!(
            "command line is {} bytes long (expected at most 8191 bytes)",
            long.len()
        )
    );
    // Exactly at the limit is fine.
    let edge = format!("--log-level=info{}", " ".repeat(MAX_CMDLINE - 16));
    assert_eq!(edge.len(), MAX_CMDLINE);
    assert!(Config::parse(&edge).is_ok());
}

#[test]
fn list_caps() {
    let allow: Vec<String> = (0..33).map(|i| format!("10.0.{i}.0/24")).collect();
    assert_eq!(
        Config::parse(&format!("--allow={}", allow.join(","))).unwrap_err(),
        ConfigError::TooManyItems {
            key: "--allow",
            count: 33,
            max: 32
        }
    );
    assert!(Config::parse(&format!("--allow={}", allow[..32].join(","))).is_ok());
    let hints: Vec<String> = (1..=17).map(|i| format!("10.0.0.{i}")).collect();
    assert_eq!(
        Config::parse(&format!("--root-hints={}", hints.join(","))).unwrap_err(),
        ConfigError::TooManyItems {
            key: "--root-hints",
            count: 17,
            max: 16
        }
    );
}

#[test]
fn long_values_are_cut_in_messages() {
    let v = "x".repeat(200);
    let msg = Config::parse(&format!("--log-level={v}"))
        .unwrap_err()
        .to_string();
    assert_eq!(
        msg,
        format!(
            "--log-level: \"{}…\" is not a log level (expected error, warn, info, debug or trace)",
            "x".repeat(64)
        )
    );
    let key = "y".repeat(300);
    let msg = Config::parse(&format!("--{key}=1"))
        .unwrap_err()
        .to_string();
    assert!(msg.len() < 150, "{msg}");
}

#[test]
fn default_allow_list() {
    let c = Config::default();
    for inside in [
        "127.0.0.1",
        "10.1.2.3",
        "172.31.255.255",
        "192.168.0.1",
        "100.64.0.1",
        "169.254.1.1",
        "::1",
        "fe80::1234",
        "fd00::1",
    ] {
        assert!(c.allow.iter().any(|n| n.contains(ip(inside))), "{inside}");
    }
    for outside in [
        "8.8.8.8",
        "172.32.0.1",
        "100.128.0.1",
        "2001:db8::1",
        "::ffff:8.8.8.8",
        // IPv4 blocks match IPv4 packets only (issue 14, item 15).
        "::ffff:192.168.1.2",
    ] {
        assert!(
            !c.allow.iter().any(|n| n.contains(ip(outside))),
            "{outside}"
        );
    }
}

#[test]
fn banner_line() {
    assert_eq!(
        Config::default().to_string(),
        "ipv4 dhcp, ipv6 off, recursive (built-in root hints), cache 8M, allow private \
         networks (9 default), qname-minimisation on, serve-stale off, max-clients 256, \
         tcp-connections 16, stats every 60s, log info"
    );
    let c = ok(
        "--ipv4=10.0.0.2/24 --ipv4-gateway=10.0.0.1 --ipv6=fd00::2/64 \
                --forward=1.1.1.1,[2606:4700::1111]:853 --allow=10.0.0.0/24 \
                --stats-interval=0 --cache-size=100000 --log-level=warn",
    );
    assert_eq!(
        c.to_string(),
        "ipv4 10.0.0.2/24 via 10.0.0.1, ipv6 fd00::2/64, forward to \
         1.1.1.1:53,[2606:4700::1111]:853, cache 100000, allow 10.0.0.0/24, \
         qname-minimisation on, serve-stale off, max-clients 256, tcp-connections 16, \
         stats off, log warn"
    );
    assert!(!c.to_string().contains('\n'));
}

/// Pieces that make up plausible and implausible command lines.
fn word() -> impl Strategy<Value = String> {
    let keys = prop::sample::select(vec![
        "--ipv4",
        "--ipv4-gateway",
        "--ipv6",
        "--ipv6-gateway",
        "--dhcp",
        "--forward",
        "--root-hints",
        "--cache-size",
        "--allow",
        "--qname-minimisation",
        "--serve-stale",
        "--max-clients",
        "--tcp-connections",
        "--stats-interval",
        "--log-level",
        "--",
        "-",
        "--ipv",
        "",
    ]);
    let values = prop::sample::select(vec![
        "",
        "=",
        "=10.0.0.2/24",
        "=10.0.0.1",
        "=fe80::1",
        "=2001:db8::2/64",
        "=1.1.1.1:53",
        "=[::1]:53",
        "=[::1",
        "=::ffff:1.2.3.4/200",
        "=64K",
        "=1G",
        "=on",
        "=off",
        "=0",
        "=18446744073709551616",
        "=,,,",
        "=1.1.1.1,",
        "=/",
        "=:",
        "=[]:",
        "=debug",
        "=é",
        "=\u{0}",
        "=255.255.255.255/32",
    ]);
    prop_oneof![
        (keys, values).prop_map(|(k, v)| format!("{k}{v}")),
        ".{0,40}",
        prop::collection::vec(any::<u8>(), 0..40)
            .prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn never_panics_on_random_words(words in prop::collection::vec(word(), 0..12)) {
        let line = words.join(" ");
        match Config::parse(&line) {
            Ok(c) => { let _ = c.to_string(); }
            Err(e) => {
                let msg = e.to_string();
                prop_assert!(e == ConfigError::Help || !msg.contains('\n'));
            }
        }
    }

    #[test]
    fn never_panics_on_any_string(s in "\\PC{0,200}") {
        let _ = Config::parse(&s).map(|c| c.to_string()).map_err(|e| e.to_string());
    }
}

#[test]
fn every_substring_of_a_full_line_is_handled() {
    let line = "--ipv4=10.0.0.2/24 --ipv4-gateway=10.0.0.1 --ipv6=2001:db8::2/64 \
                --ipv6-gateway=fe80::1 --forward=1.1.1.1,[2606:4700::1111]:853 \
                --cache-size=16M --allow=10.0.0.0/8,fd00::/8 --qname-minimisation=off \
                --serve-stale=on --max-clients=10 --tcp-connections=4 --stats-interval=5 \
                --log-level=debug";
    assert!(Config::parse(line).is_ok());
    let b = line.as_bytes();
    for i in 0..b.len() {
        for j in i..=b.len().min(i + 48) {
            if let Ok(s) = core::str::from_utf8(&b[i..j]) {
                let _ = Config::parse(s).map_err(|e| e.to_string());
            }
        }
    }
}

/// The README's boot argument reference is `--help`'s text: it cannot drift.
#[test]
fn readme_lists_the_boot_arguments_as_help_prints_them() {
    let readme = include_str!("../../README.md");
    let usage = config::usage();
    // The README shows the text after the first (usage) line.
    let body = usage.split_once('\n').map_or(usage.as_str(), |(_, b)| b);
    assert!(
        readme.contains(body),
        "README.md's boot argument block differs from `--help`; paste this in:\n{body}"
    );
}

#[test]
fn dnssec_defaults_on_in_both_modes() {
    assert!(Config::parse("").unwrap().dnssec.enabled);
    assert!(
        Config::parse("--forward=192.0.2.53")
            .unwrap()
            .dnssec
            .enabled
    );
    assert!(
        !Config::parse("--forward=192.0.2.53 --dnssec=off")
            .unwrap()
            .dnssec
            .enabled
    );
    assert!(!Config::parse("--dnssec=off").unwrap().dnssec.enabled);
}
