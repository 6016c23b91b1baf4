//! The block list keys: `--dns-blocklist-url`, `--tls-ca`, `--blocklist-refresh`.

use config::{Config, ConfigError};

fn ok(line: &str) -> Config {
    Config::parse(line).unwrap_or_else(|e| panic!("{line}: {e}"))
}

fn err(line: &str) -> String {
    let s = Config::parse(line).expect_err(line).to_string();
    assert!(!s.contains('\n'), "one line: {s}");
    s
}

/// A tiny DER SEQUENCE (not a real certificate: only the shape is checked here).
const DER_B64: &str = "MAMCAQE"; // 30 03 02 01 01, unpadded

#[test]
fn defaults_and_good_values() {
    let d = ok("");
    assert!(d.policy.blocklist_urls.is_empty() && d.policy.tls_cas.is_empty());
    assert_eq!(d.policy.blocklist_refresh_secs, 86_400);
    let c = ok(&format!(
        "--dns-blocklist-url=http://10.53.0.9/hosts.txt \
         --dns-blocklist-url=https://lists.example:8443/a?b=c --tls-ca={DER_B64} \
         --tls-ca=MAMCAQE= --blocklist-refresh=90m"
    ));
    let p = &c.policy;
    assert_eq!(
        p.blocklist_urls,
        [
            "http://10.53.0.9/hosts.txt",
            "https://lists.example:8443/a?b=c"
        ]
    );
    assert_eq!(p.tls_cas, [vec![0x30, 3, 2, 1, 1], vec![0x30, 3, 2, 1, 1]]);
    assert_eq!(p.blocklist_refresh_secs, 5400);
    let banner = c.to_string();
    assert!(
        banner.contains("2 block list URLs every 90m (+2 CA)"),
        "{banner}"
    );
    for (v, secs) in [
        ("5", 5),
        ("5s", 5),
        ("10m", 600),
        ("24h", 86_400),
        ("30d", 2_592_000),
    ] {
        let c = ok(&format!("--blocklist-refresh={v}"));
        assert_eq!(c.policy.blocklist_refresh_secs, secs, "{v}");
    }
}

#[test]
fn bad_values_name_the_key_and_the_value() {
    let long = format!("--dns-blocklist-url=http://a.example/{}", "x".repeat(2100));
    for (line, key, what) in [
        (
            "--dns-blocklist-url=ftp://a.example/x",
            "--dns-blocklist-url",
            "not an http://",
        ),
        (
            "--dns-blocklist-url=lists.example/x",
            "--dns-blocklist-url",
            "not a URL",
        ),
        (
            "--dns-blocklist-url=http://u:p@a.example/",
            "--dns-blocklist-url",
            "user:password@",
        ),
        (
            "--dns-blocklist-url=http://[::1/",
            "--dns-blocklist-url",
            "not a URL",
        ),
        (long.as_str(), "--dns-blocklist-url", "longer than 2048"),
        (
            "--dns-blocklist-url=http://a.example/ --dns-blocklist-url=http://a.example/",
            "--dns-blocklist-url",
            "given twice",
        ),
        ("--tls-ca=not*base64", "--tls-ca", "not base64"),
        // base64 of "-----BEGIN": a PEM file encoded whole.
        (
            "--tls-ca=LS0tLS1CRUdJTg==",
            "--tls-ca",
            "not a DER certificate",
        ),
        ("--tls-ca=MAQCAQE=", "--tls-ca", "not a DER certificate"),
        (
            "--blocklist-refresh=4s",
            "--blocklist-refresh",
            "out of range",
        ),
        (
            "--blocklist-refresh=31d",
            "--blocklist-refresh",
            "out of range",
        ),
        ("--blocklist-refresh=1w", "--blocklist-refresh", "unit"),
        (
            "--blocklist-refresh=h",
            "--blocklist-refresh",
            "not a duration",
        ),
        (
            "--blocklist-refresh=-5m",
            "--blocklist-refresh",
            "not a duration",
        ),
        (
            "--blocklist-refresh=99999999999999h",
            "--blocklist-refresh",
            "not a duration",
        ),
    ] {
        let e = err(line);
        assert!(e.contains(key) && e.contains(what), "{line}: {e}");
    }
    assert!(matches!(
        Config::parse("--blocklist-refresh=1h --blocklist-refresh=2h"),
        Err(ConfigError::Duplicate {
            key: "--blocklist-refresh"
        })
    ));
}

#[test]
fn caps() {
    let urls = |n: usize| {
        (0..n)
            .map(|i| format!("--dns-blocklist-url=http://l{i}.example/"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert_eq!(ok(&urls(16)).policy.blocklist_urls.len(), 16);
    assert!(matches!(
        Config::parse(&urls(17)),
        Err(ConfigError::TooManyItems {
            key: "--dns-blocklist-url",
            count: 17,
            max: 16
        })
    ));
    let cas = |n: usize| vec![format!("--tls-ca={DER_B64}"); n].join(" ");
    assert_eq!(ok(&cas(4)).policy.tls_cas.len(), 4);
    assert!(matches!(
        Config::parse(&cas(5)),
        Err(ConfigError::TooManyItems {
            key: "--tls-ca",
            count: 5,
            max: 4
        })
    ));
}

#[test]
fn help_shows_the_keys() {
    let h = config::usage();
    for k in [
        "--dns-blocklist-url=URL",
        "--tls-ca=BASE64-DER",
        "--blocklist-refresh=DURATION  (default: 24h)",
    ] {
        assert!(h.contains(k), "{k}");
    }
}

/// Prints `--help` (for pasting into the README): `cargo test -p config --test lists
/// print_usage -- --ignored --nocapture`.
#[test]
#[ignore]
fn print_usage() {
    println!("{}", config::usage());
}
