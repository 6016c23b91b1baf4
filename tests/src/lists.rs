//! The lab's block-list server (issue 15): nginx-light from Debian on a documentation
//! address, serving lists over plain HTTP and over HTTPS with a private CA made with
//! openssl at the start (and a rogue CA for the wrong-certificate case); and the
//! measurement of a big list's load while a client keeps asking, shared by the e2e test
//! and the `lists` part of `cargo xtask bench`.

use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::Result;
use crate::guest::{Guest, Kind, lab_addresses};
use crate::lab::Lab;
use crate::netns::Proc;

/// The list server's address: a documentation address on the lab's loopback, like the
/// authoritative servers (reached through the lab gateway), named [`LIST_HOST`].
pub const LIST_SERVER: &str = "203.0.113.90";
/// The list server's name in the lab's `shop.test` zone.
pub const LIST_HOST: &str = "lists.shop.test";

/// A cached name the load measurement keeps asking for.
const CACHED: &str = "www.cdn.example";

/// The running list server: nginx with its files under the lab directory.
pub struct ListServer {
    _nginx: Proc,
    /// Where the served files live (`http://LIST_SERVER:8080/NAME` is `www/NAME`).
    pub www: PathBuf,
    /// The CAs and certificates (`good`, `rogue`).
    pub pki: PathBuf,
}

impl ListServer {
    /// Puts [`LIST_SERVER`] on the lab's loopback, makes the two CAs and starts nginx.
    pub fn start(lab: &Lab) -> Result<ListServer> {
        crate::packages::require(&["nginx", "openssl"])?;
        lab.ns()
            .ip(&["addr", "add", &format!("{LIST_SERVER}/32"), "dev", "lo"])?;
        let pki = lab.dir().join("pki");
        std::fs::create_dir_all(&pki).map_err(|e| e.to_string())?;
        make_pki(&pki, "good")?;
        make_pki(&pki, "rogue")?;
        let www = lab.dir().join("www");
        std::fs::create_dir_all(&www).map_err(|e| e.to_string())?;
        let nginx = start_nginx(lab, &www)?;
        Ok(ListServer {
            _nginx: nginx,
            www,
            pki,
        })
    }

    /// Serves `text` as `/name`.
    pub fn put(&self, name: &str, text: &str) -> Result<()> {
        write(&self.www.join(name), text)
    }

    /// `--tls-ca=` for the CA `name` (`good` or `rogue`).
    pub fn ca_arg(&self, name: &str) -> Result<String> {
        ca_arg(&self.pki, name)
    }
}

/// A hosts-format list of `lines` distinct domains (about 30 bytes a line).
pub fn big_list(lines: u32) -> String {
    let mut big = String::with_capacity(lines as usize * 32);
    for i in 0..lines {
        big.push_str(&format!("0.0.0.0 ad{i:07}.tracker{}.example\n", i % 97));
    }
    big
}

/// A name [`big_list`] holds (its line `i`).
pub fn big_list_name(i: u32) -> String {
    format!("ad{i:07}.tracker{}.example", i % 97)
}

/// What one load of a big list showed.
#[derive(Debug, Clone)]
pub struct LoadRun {
    /// Domains the resolver said it loaded.
    pub domains: u64,
    /// Milliseconds from the fetch's start to the list being live (its own log line).
    pub load_ms: u64,
    /// KiB of heap the loaded list's table takes (the same line).
    pub table_kib: u64,
    /// Answer times of the cached name while the list loaded.
    pub during: Vec<Duration>,
    /// Questions during the load that got no answer within a second, or not NOERROR.
    pub failed: u32,
    /// Answer times of the same question afterwards, nothing loading.
    pub idle: Vec<Duration>,
}

impl LoadRun {
    /// The `p`-th percentile (0..=100) of the answer times during the load.
    pub fn during_pct(&self, p: usize) -> Duration {
        pct(&self.during, p)
    }

    /// The `p`-th percentile of the answer times afterwards.
    pub fn idle_pct(&self, p: usize) -> Duration {
        pct(&self.idle, p)
    }
}

fn pct(sorted: &[Duration], p: usize) -> Duration {
    sorted
        .get((sorted.len() * p / 100).min(sorted.len().saturating_sub(1)))
        .copied()
        .unwrap_or_default()
}

/// Boots `kind` in `lab` with `--dns-blocklist-url=URL` (plus `extra`), warms the cache
/// with one name and asks for it again and again (one query in flight, from inside the
/// lab) until the resolver says the list is loaded (at most `timeout`); then twenty
/// more times with nothing loading. The guest is returned for further questions.
pub fn measure_load(
    lab: &Lab,
    kind: Kind,
    url: &str,
    extra: &[&str],
    timeout: Duration,
) -> Result<(LoadRun, Guest)> {
    let (tap, v4, _) = lab_addresses(kind);
    let a4 = format!("--ipv4={v4}/24");
    let hints = format!("--root-hints={}", lab.root_hints());
    let url = format!("--dns-blocklist-url={url}");
    let mut args = vec![a4.as_str(), "--ipv4-gateway=10.53.0.1", &hints, &url];
    args.extend_from_slice(extra);
    let mut guest = Guest::boot(lab, kind, tap, &args)?;
    guest.wait_for("ready: serving DNS", Duration::from_secs(30))?;
    let target: SocketAddr = format!("{v4}:53").parse().map_err(|e| format!("{e}"))?;
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let client = lab
        .ns()
        .spawn_inside(move || ask_until(target, &flag, u32::MAX))?;
    let loaded = guest.wait_for("blocklist 1: loaded", timeout);
    stop.store(true, Ordering::Relaxed);
    let (mut during, failed) = client
        .join()
        .map_err(|_| "the asking thread panicked".to_string())???;
    let line = loaded.map_err(|e| format!("{}: the list did not load: {e}", kind.name()))?;
    let never = Arc::new(AtomicBool::new(false));
    let (mut idle, _) = lab
        .ns()
        .run_inside(move || ask_until(target, &never, 20))??;
    during.sort();
    idle.sort();
    let number = |after: &str, before: &str| -> Option<u64> {
        line.split(after)
            .nth(1)?
            .split(before)
            .next()?
            .trim()
            .parse()
            .ok()
    };
    let domains = number("loaded ", " domains")
        .ok_or_else(|| format!("{}: no domain count in {line:?}", kind.name()))?;
    let load_ms = number(" in ", " ms")
        .ok_or_else(|| format!("{}: no load time in {line:?}", kind.name()))?;
    let table_kib = number(", table ", " KiB")
        .ok_or_else(|| format!("{}: no table size in {line:?}", kind.name()))?;
    Ok((
        LoadRun {
            domains,
            load_ms,
            table_kib,
            during,
            failed,
            idle,
        },
        guest,
    ))
}

/// Asks `target` for [`CACHED`] until `stop` is set or `count` answers came: the
/// answer times, and how many questions failed (no NOERROR answer within a second).
fn ask_until(target: SocketAddr, stop: &AtomicBool, count: u32) -> Result<(Vec<Duration>, u32)> {
    let sock = UdpSocket::bind("10.53.0.1:0").map_err(|e| format!("bind: {e}"))?;
    sock.set_read_timeout(Some(Duration::from_secs(1)))
        .map_err(|e| e.to_string())?;
    let (mut times, mut failed) = (Vec::new(), 0u32);
    let mut id: u16 = 1;
    let mut buf = [0u8; 1500];
    while !stop.load(Ordering::Relaxed) && times.len() < count as usize {
        id = id.wrapping_add(1);
        let q = crate::wire::query(id, CACHED, crate::wire::A);
        let start = Instant::now();
        sock.send_to(&q, target).map_err(|e| format!("send: {e}"))?;
        let answered = loop {
            match sock.recv_from(&mut buf) {
                Ok((len, _)) => match crate::wire::header(&buf[..len]) {
                    Some(h) if h.id == id => break h.rcode == 0 && h.ancount > 0,
                    _ => continue,
                },
                Err(_) => break false,
            }
        };
        if answered {
            times.push(start.elapsed());
        } else {
            failed += 1;
        }
    }
    Ok((times, failed))
}

fn write(p: &Path, text: &str) -> Result<()> {
    std::fs::write(p, text).map_err(|e| format!("{}: {e}", p.display()))
}

fn openssl(dir: &Path, args: &[&str]) -> Result<()> {
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
fn make_pki(dir: &Path, name: &str) -> Result<()> {
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
fn ca_arg(dir: &Path, name: &str) -> Result<String> {
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
fn start_nginx(lab: &Lab, www: &Path) -> Result<Proc> {
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
    let nginx = crate::packages::which("nginx").ok_or("nginx is not installed")?;
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
