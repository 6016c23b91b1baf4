//! Block lists from URLs (issue 15), end to end on hvt and unix: a real HTTP server from
//! Debian (nginx-light) in the lab serves lists over plain HTTP and over HTTPS with a
//! private CA made with openssl at the start; the resolvers look the server's name up
//! through their own recursion, block what the lists say, pick up a changed list after
//! one short refresh, keep the list in force when a fetch fails, and report why (404, a
//! redirect loop, a certificate from the wrong CA) in their log and stats lines. Also
//! the local policy on the same boot: local names and their PTRs, the locally served
//! zones answered with no upstream packet (the lab's relay counts them), and the
//! rebinding filter.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use e2e::guest::{Guest, Kind, Resolver, boot_both, lab_addresses};
use e2e::lab::{Lab, LabOptions};
use e2e::netns::Proc;

/// The list server's address: a documentation address on the lab's loopback, like the
/// authoritative servers (reached through the lab gateway), named `lists.shop.test`.
const LIST_SERVER: &str = "203.0.113.90";
const LIST_HOST: &str = "lists.shop.test";

fn write(p: &Path, text: &str) -> e2e::Result<()> {
    std::fs::write(p, text).map_err(|e| format!("{}: {e}", p.display()))
}

fn openssl(dir: &Path, args: &[&str]) -> e2e::Result<()> {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .map_err(|e| format!("cannot run openssl: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "openssl {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(())
}

/// A CA (`NAME-ca.pem`) and a server certificate for [`LIST_HOST`] signed by it
/// (`NAME.pem`, `NAME.key`), all P-256.
fn make_pki(dir: &Path, name: &str) -> e2e::Result<()> {
    let ca = format!("{name}-ca");
    openssl(
        dir,
        &[
            "ecparam",
            "-name",
            "prime256v1",
            "-genkey",
            "-noout",
            "-out",
            &format!("{ca}.key"),
        ],
    )?;
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-new",
            "-key",
            &format!("{ca}.key"),
            "-sha256",
            "-days",
            "2",
            "-subj",
            &format!("/CN=lab {name} CA"),
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
            "-out",
            &format!("{ca}.pem"),
        ],
    )?;
    openssl(
        dir,
        &[
            "ecparam",
            "-name",
            "prime256v1",
            "-genkey",
            "-noout",
            "-out",
            &format!("{name}.key"),
        ],
    )?;
    openssl(
        dir,
        &[
            "req",
            "-new",
            "-key",
            &format!("{name}.key"),
            "-subj",
            &format!("/CN={LIST_HOST}"),
            "-out",
            &format!("{name}.csr"),
        ],
    )?;
    write(
        &dir.join(format!("{name}.ext")),
        &format!(
            "subjectAltName=DNS:{LIST_HOST}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n"
        ),
    )?;
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            &format!("{name}.csr"),
            "-CA",
            &format!("{ca}.pem"),
            "-CAkey",
            &format!("{ca}.key"),
            "-CAcreateserial",
            "-days",
            "2",
            "-sha256",
            "-extfile",
            &format!("{name}.ext"),
            "-out",
            &format!("{name}.pem"),
        ],
    )?;
    Ok(())
}

/// `--tls-ca=` for the CA of `name`: base64 of its DER form.
fn ca_arg(dir: &Path, name: &str) -> e2e::Result<String> {
    openssl(
        dir,
        &[
            "x509",
            "-in",
            &format!("{name}-ca.pem"),
            "-outform",
            "der",
            "-out",
            &format!("{name}-ca.der"),
        ],
    )?;
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(["base64", "-A", "-in", &format!("{name}-ca.der")])
        .output()
        .map_err(|e| format!("openssl base64: {e}"))?;
    Ok(format!(
        "--tls-ca={}",
        String::from_utf8_lossy(&out.stdout).trim()
    ))
}

/// nginx in the lab: plain HTTP on 8080, HTTPS with the good certificate on 8443 and
/// with one from another CA on 8444; `/loop` redirects to itself.
fn start_nginx(lab: &Lab, www: &Path) -> e2e::Result<Proc> {
    let d = lab.dir().join("nginx");
    std::fs::create_dir_all(&d).map_err(|e| e.to_string())?;
    let conf = format!(
        "daemon off;\nmaster_process off;\nworker_processes 1;\npid {d}/nginx.pid;\n\
         error_log {d}/error.log info;\nevents {{ worker_connections 64; }}\n\
         http {{\n  access_log {d}/access.log;\n  client_body_temp_path {d}/body;\n  \
         proxy_temp_path {d}/proxy;\n  fastcgi_temp_path {d}/fastcgi;\n  uwsgi_temp_path {d}/uwsgi;\n  \
         scgi_temp_path {d}/scgi;\n  default_type text/plain;\n  root {www};\n  \
         server {{ listen {LIST_SERVER}:8080; location = /loop {{ return 302 /loop; }} }}\n  \
         server {{ listen {LIST_SERVER}:8443 ssl; ssl_certificate {d}/../pki/good.pem; \
         ssl_certificate_key {d}/../pki/good.key; }}\n  \
         server {{ listen {LIST_SERVER}:8444 ssl; ssl_certificate {d}/../pki/rogue.pem; \
         ssl_certificate_key {d}/../pki/rogue.key; }}\n}}\n",
        d = d.display(),
        www = www.display()
    );
    let conf_path = d.join("nginx.conf");
    write(&conf_path, &conf)?;
    let nginx = e2e::packages::which("nginx").ok_or("nginx is not installed")?;
    let mut cmd = lab.command(&nginx.to_string_lossy());
    cmd.arg("-c").arg(&conf_path).arg("-p").arg(&d);
    let p = Proc::spawn("nginx", cmd, &d.join("nginx.out"))?;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let ok = lab
            .command("bash")
            .args(["-c", &format!("exec 3<>/dev/tcp/{LIST_SERVER}/8080")])
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        if ok {
            return Ok(p);
        }
        if Instant::now() > deadline {
            return Err(format!("nginx does not listen (logs in {})", d.display()));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Waits (bounded) until `f` holds for `r`'s answer to `name`.
fn wait_answer(
    lab: &Lab,
    r: &Resolver,
    name: &str,
    timeout: Duration,
    f: impl Fn(&e2e::dig::Dig) -> bool,
) -> e2e::Result<e2e::dig::Dig> {
    let deadline = Instant::now() + timeout;
    loop {
        let d = lab.dig(r.v4, &[name, "A"])?;
        if f(&d) {
            return Ok(d);
        }
        if Instant::now() > deadline {
            return Err(format!(
                "{}: {name} never got the expected answer; last:\n{}\nlog tail:\n{}",
                r.kind().name(),
                d.raw,
                r.guest.proc.tail(30)
            ));
        }
        std::thread::sleep(Duration::from_millis(300));
    }
}

fn blocked(d: &e2e::dig::Dig) -> bool {
    d.status == "NXDOMAIN" && d.raw.contains("EDE: 15")
}

#[test]
fn blocklists_from_urls_and_local_policy() -> e2e::Result<()> {
    let t = Instant::now();
    e2e::packages::require(&["nginx", "openssl"])?;
    let lab = Lab::start_delayed(LabOptions::default(), Duration::from_millis(1))?;
    lab.ns()
        .ip(&["addr", "add", &format!("{LIST_SERVER}/32"), "dev", "lo"])?;
    let pki = lab.dir().join("pki");
    std::fs::create_dir_all(&pki).map_err(|e| e.to_string())?;
    make_pki(&pki, "good")?;
    make_pki(&pki, "rogue")?;
    let www = lab.dir().join("www");
    std::fs::create_dir_all(&www).map_err(|e| e.to_string())?;
    // A hosts file with junk (counted as rejected), a domain list with AdBlock lines.
    write(
        &www.join("hosts.txt"),
        "# lab list\n0.0.0.0 ads.cdn.example\n0.0.0.0 tracker.example\n\
         this is not a hosts line\n0.0.0.0 bad..name\n||adblock-style.example^\n",
    )?;
    write(
        &www.join("ads.txt"),
        "tls-blocked.example\nmail.shop.test\n",
    )?;
    let _nginx = start_nginx(&lab, &www)?;

    let hints = format!("--root-hints={}", lab.root_hints());
    let ca = ca_arg(&pki, "good")?;
    let urls = [
        format!("--dns-blocklist-url=http://{LIST_HOST}:8080/hosts.txt"),
        format!("--dns-blocklist-url=https://{LIST_HOST}:8443/ads.txt"),
        format!("--dns-blocklist-url=http://{LIST_HOST}:8080/missing.txt"),
        format!("--dns-blocklist-url=http://{LIST_HOST}:8080/loop"),
        format!("--dns-blocklist-url=https://{LIST_HOST}:8444/ads.txt"),
    ];
    let mut args: Vec<&str> = vec![
        &hints,
        &ca,
        "--blocklist-refresh=5s",
        "--stats-interval=2",
        "--host-record=nas,192.168.77.5",
        "--rebind-domain-ok=/ok.shop.test/",
    ];
    args.extend(urls.iter().map(String::as_str));
    let mut resolvers = boot_both(&lab, &args)?;

    for r in &mut resolvers {
        let kind = r.kind().name();
        let boot = Instant::now();
        r.guest
            .wait_for("blocklist 1: loaded 3 domains", Duration::from_secs(30))?;
        r.guest
            .wait_for("blocklist 2: loaded 2 domains", Duration::from_secs(30))?;
        r.guest
            .wait_for("blocklist 3: fetch of", Duration::from_secs(30))?;
        let out = r.guest.output();
        for (id, why) in [
            (3, "server answered HTTP 404"),
            (4, "too many redirects"),
            (5, "TLS certificate not trusted (unknown issuer)"),
        ] {
            let deadline = Instant::now() + Duration::from_secs(20);
            while !r
                .guest
                .output()
                .contains(&format!("blocklist {id}: fetch of"))
            {
                if Instant::now() > deadline {
                    return Err(format!("{kind}: list {id} never reported:\n{out}"));
                }
                std::thread::sleep(Duration::from_millis(200));
            }
            let out = r.guest.output();
            let line = out
                .lines()
                .find(|l| l.contains(&format!("blocklist {id}: fetch of")))
                .unwrap_or_default();
            assert!(line.contains(why), "{kind}: list {id}: {line}");
            assert!(line.contains("the previous list stays"), "{kind}: {line}");
        }
        eprintln!("{kind}: lists live {:?} after ready", boot.elapsed());
        // The lists block (NXDOMAIN + EDE 15 naming the list), below the names too.
        for name in [
            "ads.cdn.example",
            "x.tracker.example",
            "adblock-style.example",
            "tls-blocked.example",
            "mail.shop.test",
        ] {
            let d = lab.dig(r.v4, &[name, "A"])?;
            assert!(blocked(&d), "{kind}: {name}:\n{}", d.raw);
        }
        let d = lab.dig(r.v4, &["www.cdn.example", "A"])?;
        assert_eq!(
            d.answer,
            ["www.cdn.example. IN A 203.0.113.80"],
            "{kind}:\n{}",
            d.raw
        );
        // The stats lines say what each list holds and why the bad ones failed.
        let line = r.guest.wait_for(
            "last-result server answered HTTP 404",
            Duration::from_secs(10),
        )?;
        assert!(line.contains("blocklist 3 http"), "{kind}: {line}");
        let line = r
            .guest
            .wait_for("hosts.txt: domains 3 ", Duration::from_secs(10))?;
        assert!(
            line.contains(" rejected 2 ") && line.contains("last-result ok"),
            "{kind}: {line}"
        );
        let line = r.guest.wait_for(
            "last-result TLS certificate not trusted",
            Duration::from_secs(10),
        )?;
        assert!(line.contains("8444/ads.txt: domains 0 "), "{kind}: {line}");
        eprintln!("{kind}: {line}");
    }

    // Refresh: a changed list is live after one short refresh (5 s) on both.
    write(&www.join("hosts.txt"), "0.0.0.0 www.cdn.example\n")?;
    for r in &resolvers {
        wait_answer(&lab, r, "www.cdn.example", Duration::from_secs(20), blocked)?;
        wait_answer(&lab, r, "ads.cdn.example", Duration::from_secs(5), |d| {
            !blocked(d)
        })?;
    }
    // A failed refresh (the list is gone: 404) keeps the list in force.
    std::fs::remove_file(www.join("ads.txt")).map_err(|e| e.to_string())?;
    for r in &mut resolvers {
        let kind = r.kind().name();
        let deadline = Instant::now() + Duration::from_secs(20);
        while !r
            .guest
            .output()
            .lines()
            .any(|l| l.contains("blocklist 2: fetch of") && l.contains("HTTP 404"))
        {
            if Instant::now() > deadline {
                return Err(format!(
                    "{kind}: list 2's 404 not seen:\n{}",
                    r.guest.proc.tail(30)
                ));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        let d = lab.dig(r.v4, &["tls-blocked.example", "A"])?;
        assert!(
            blocked(&d),
            "{kind}: list 2 must stay after a failed refresh:\n{}",
            d.raw
        );
    }

    // Local names, their PTRs and the locally served zones: answered here, with no
    // packet to the lab's servers.
    for r in &resolvers {
        let kind = r.kind().name();
        let before = lab.upstream_queries().ok_or("no relay")?;
        let nas = lab.dig(r.v4, &["nas.home.arpa", "A"])?;
        assert_eq!(
            nas.answer,
            ["nas.home.arpa. IN A 192.168.77.5"],
            "{kind}:\n{}",
            nas.raw
        );
        assert!(
            nas.flags.iter().any(|f| f == "aa"),
            "{kind}: AA:\n{}",
            nas.raw
        );
        let ptr = lab.dig(r.v4, &["-x", "192.168.77.5"])?;
        assert_eq!(
            ptr.answer,
            ["5.77.168.192.in-addr.arpa. IN PTR nas.home.arpa."],
            "{kind}:\n{}",
            ptr.raw
        );
        for (args, status) in [
            (&["-x", "10.1.2.3"][..], "NXDOMAIN"),
            (&["localhost", "A"][..], "NOERROR"),
            (&["foo.onion", "A"][..], "NXDOMAIN"),
            (&["printer.local", "A"][..], "NXDOMAIN"),
            (&["x.invalid", "A"][..], "NXDOMAIN"),
        ] {
            let d = lab.dig(r.v4, args)?;
            assert_eq!(d.status, status, "{kind}: {args:?}:\n{}", d.raw);
        }
        // Firefox's canary: NXDOMAIN, as Mozilla asks network operators to answer it.
        let d = lab.dig(r.v4, &["use-application-dns.net", "A"])?;
        assert!(
            d.answer.is_empty() && d.status == "NXDOMAIN",
            "{kind}:\n{}",
            d.raw
        );
        let after = lab.upstream_queries().ok_or("no relay")?;
        assert_eq!(
            after,
            before,
            "{kind}: local answers sent {} queries upstream",
            after - before
        );
    }
    // Rebinding: a public name's private address is dropped, unless its domain may.
    for r in &resolvers {
        let kind = r.kind().name();
        let d = lab.dig(r.v4, &["private.shop.test", "A"])?;
        assert!(
            d.answer.is_empty(),
            "{kind}: private address not filtered:\n{}",
            d.raw
        );
        let d = lab.dig(r.v4, &["x.ok.shop.test", "A"])?;
        assert_eq!(
            d.answer,
            ["x.ok.shop.test. IN A 10.53.0.78"],
            "{kind}:\n{}",
            d.raw
        );
    }
    eprintln!("lists group: {:?}", t.elapsed());
    Ok(())
}

/// Scale (issue 15): a list of a million lines (about 30 MB) is fetched, parsed and
/// live within seconds, and cached answers keep coming while it loads. Prints the load
/// time from the resolver's own log line and the answer latencies seen meanwhile.
#[test]
fn a_million_line_list_loads_while_answers_flow() -> e2e::Result<()> {
    e2e::packages::require(&["nginx", "openssl"])?;
    let lab = Lab::start(LabOptions::default())?;
    lab.ns()
        .ip(&["addr", "add", &format!("{LIST_SERVER}/32"), "dev", "lo"])?;
    let pki = lab.dir().join("pki");
    std::fs::create_dir_all(&pki).map_err(|e| e.to_string())?;
    make_pki(&pki, "good")?;
    make_pki(&pki, "rogue")?;
    let www = lab.dir().join("www");
    std::fs::create_dir_all(&www).map_err(|e| e.to_string())?;
    let mut big = String::with_capacity(32 << 20);
    for i in 0..1_000_000u32 {
        big.push_str(&format!("0.0.0.0 ad{i:07}.tracker{}.example\n", i % 97));
    }
    write(&www.join("big.txt"), &big)?;
    let size = big.len();
    drop(big);
    let _nginx = start_nginx(&lab, &www)?;
    let hints = format!("--root-hints={}", lab.root_hints());
    let url = format!("--dns-blocklist-url=http://{LIST_SERVER}:8080/big.txt");
    // One resolver at a time, so each load has the machine to itself.
    for kind in Kind::ALL {
        let (tap, v4, _) = lab_addresses(kind);
        let a4 = format!("--ipv4={v4}/24");
        let mut guest = Guest::boot(
            &lab,
            kind,
            tap,
            &[&a4, "--ipv4-gateway=10.53.0.1", &hints, &url],
        )?;
        guest.wait_for("ready: serving DNS", Duration::from_secs(30))?;
        let r = &mut Resolver { guest, v4, v6: "" };
        let kind = kind.name();
        // Warm the cache, then ask for the cached name while the list loads.
        let d = lab.dig(r.v4, &["www.cdn.example", "A"])?;
        assert_eq!(d.status, "NOERROR", "{kind}:\n{}", d.raw);
        let mut lat = Vec::new();
        let start = Instant::now();
        while !r.guest.output().contains("blocklist 1: loaded") {
            if start.elapsed() > Duration::from_secs(60) {
                return Err(format!(
                    "{kind}: the list did not load:\n{}",
                    r.guest.proc.tail(20)
                ));
            }
            let d = lab.dig(r.v4, &["www.cdn.example", "A"])?;
            assert_eq!(
                d.status, "NOERROR",
                "{kind}: an answer during the load:\n{}",
                d.raw
            );
            lat.push(Duration::from_millis(d.query_ms.unwrap_or(u64::MAX / 2)));
        }
        // The same questions with the list in force and nothing loading.
        let mut idle = Vec::new();
        for _ in 0..20 {
            let d = lab.dig(r.v4, &["www.cdn.example", "A"])?;
            idle.push(Duration::from_millis(d.query_ms.unwrap_or(u64::MAX / 2)));
        }
        idle.sort();
        let line = r
            .guest
            .wait_for("blocklist 1: loaded", Duration::from_secs(1))?;
        assert!(line.contains("loaded 1000000 domains"), "{kind}: {line}");
        let ms: u64 = line
            .split(" in ")
            .nth(1)
            .and_then(|s| s.split(" ms").next())
            .and_then(|s| s.parse().ok())
            .ok_or(format!("{kind}: no load time in {line:?}"))?;
        lat.sort();
        let pct = |p: usize| {
            lat.get((lat.len() * p / 100).min(lat.len().saturating_sub(1)))
                .copied()
                .unwrap_or_default()
        };
        eprintln!(
            "{kind}: {size} bytes, 1000000 lines fetched, parsed and live in {ms} ms; {} answers \
             during the load: p50 {:?} p99 {:?} max {:?}; idle after: p50 {:?} max {:?} (dig's \
             query time, ms resolution)",
            lat.len(),
            pct(50),
            pct(99),
            lat.last().copied().unwrap_or_default(),
            idle.get(idle.len() / 2).copied().unwrap_or_default(),
            idle.last().copied().unwrap_or_default()
        );
        assert!(
            lat.last().is_some_and(|m| *m < Duration::from_secs(1)),
            "{kind}: an answer took a second or more during the load"
        );
        let d = lab.dig(
            r.v4,
            &[&format!("ad0123456.tracker{}.example", 123_456 % 97), "A"],
        )?;
        assert!(blocked(&d), "{kind}:\n{}", d.raw);
        assert!(ms <= 30_000, "{kind}: {ms} ms to load a million lines");
    }
    Ok(())
}
