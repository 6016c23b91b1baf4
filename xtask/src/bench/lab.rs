//! Parts 2–5: the resolvers in the lab internet, measured with dnsperf and raw clients.
//!
//! One lab without delay serves the cached-throughput, exit-cost and footprint parts; a
//! second lab with the delay relay serves the cold-recursion part. The hvt image runs
//! under the project's tender on tap0 (10.53.0.2), the unix build on tap1 (10.53.0.3),
//! Unbound (one thread) on the bridge (10.53.0.1); dnsperf and the raw clients run inside
//! the lab's namespace.

use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use e2e::guest::{Guest, Kind, lab_addresses};
use e2e::lab::{Lab, LabOptions, UNBOUND_ADDR};
use e2e::netns::Proc;
use e2e::zones::BENCH_ZONE;

use super::report::{CachedRow, ColdRow, Exits, Footprint, ListRow, Report};
use super::{Artifacts, Options};
use crate::{Result, error};

/// How long a guest may take to say it is ready.
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// dnsperf's per-query timeout, generous: the hvt image is slow under kvm_pvm.
const DNSPERF_TIMEOUT_S: &str = "10";
/// Concurrency of the priming pass.
const PRIME_CLIENTS: &str = "16";

/// A system under test: a label and the address dnsperf sends to.
struct System {
    label: String,
    addr: &'static str,
}

fn err(e: String) -> crate::Error {
    error(e)
}

/// The boot arguments of a lab resolver of `kind`, plus `extra`.
fn boot_args(lab: &Lab, kind: Kind, extra: &[String]) -> Vec<String> {
    let (_, v4, _) = lab_addresses(kind);
    let mut a = vec![
        format!("--ipv4={v4}/24"),
        "--ipv4-gateway=10.53.0.1".to_string(),
        format!("--root-hints={}", lab.root_hints()),
        "--stats-interval=0".to_string(),
    ];
    a.extend_from_slice(extra);
    a
}

fn boot(lab: &Lab, kind: Kind, mem: u32, extra: &[String]) -> Result<Guest> {
    let (tap, _, _) = lab_addresses(kind);
    let args = boot_args(lab, kind, extra);
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    // A new hvt guest has a new random MAC: forget the old one's.
    let _ = lab.ns().ip(&["neigh", "flush", "dev", "br0"]);
    Guest::boot_with(lab, kind, tap, mem, &refs).map_err(err)
}

/// Stops a tender with SIGTERM and returns its hypercall report line.
fn stop_tender(mut guest: Guest) -> Result<Counters> {
    let pid = guest.proc.pid().to_string();
    let _ = Command::new("kill").args(["-TERM", &pid]).status();
    let _ = guest.wait_exit(Duration::from_secs(10));
    let out = guest.output();
    Counters::parse(&out).ok_or_else(|| {
        error(format_args!(
            "the tender printed no hypercall counters at exit (TENDER_STATS=1); its output:\n{}",
            guest.proc.tail(20)
        ))
    })
}

/// The tender's exit report: `tender: hypercalls: walltime=… … total=N vm_exits=M`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Counters {
    pub kinds: Vec<(String, u64)>,
    pub total: u64,
    pub vm_exits: u64,
}

impl Counters {
    pub fn parse(out: &str) -> Option<Counters> {
        let line = out
            .lines()
            .rev()
            .find_map(|l| l.trim().strip_prefix("tender: hypercalls:"))?;
        let mut c = Counters::default();
        for w in line.split_whitespace() {
            let (k, v) = w.split_once('=')?;
            let v: u64 = v.parse().ok()?;
            match k {
                "total" => c.total = v,
                "vm_exits" => c.vm_exits = v,
                _ => c.kinds.push((k.to_string(), v)),
            }
        }
        Some(c)
    }

    fn minus(&self, base: &Counters) -> Counters {
        Counters {
            kinds: self
                .kinds
                .iter()
                .map(|(k, v)| {
                    let b = base.kinds.iter().find(|(bk, _)| bk == k).map_or(0, |x| x.1);
                    (k.clone(), v.saturating_sub(b))
                })
                .collect(),
            total: self.total.saturating_sub(base.total),
            vm_exits: self.vm_exits.saturating_sub(base.vm_exits),
        }
    }
}

/// The query file: `names` distinct names under the lab's wildcard zone.
fn write_query_file(dir: &Path, names: u32) -> Result<PathBuf> {
    let path = dir.join("bench-queries.txt");
    let text: String = (0..names)
        .map(|i| format!("q{i}.{BENCH_ZONE} A\n"))
        .collect();
    std::fs::write(&path, text).map_err(|e| error(format_args!("{}: {e}", path.display())))?;
    Ok(path)
}

/// One dnsperf run's results.
#[derive(Debug, Clone, Default)]
pub struct Perf {
    pub sent: u64,
    pub completed: u64,
    pub lost: u64,
    pub qps: f64,
    /// Per-answer latencies (s), sorted.
    pub latencies: Vec<f64>,
    pub noerror: u64,
}

impl Perf {
    pub fn parse(out: &str) -> Perf {
        let mut p = Perf::default();
        let first_num = |s: &str| -> u64 {
            s.split_whitespace()
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or(0)
        };
        for line in out.lines() {
            let l = line.trim();
            if let Some(rest) = l.strip_prefix("> ") {
                let f: Vec<&str> = rest.split_whitespace().collect();
                if f.len() >= 2 {
                    if let Ok(t) = f[f.len() - 1].parse::<f64>() {
                        p.latencies.push(t);
                    }
                    if f[0] == "NOERROR" {
                        p.noerror += 1;
                    }
                }
            } else if let Some(r) = l.strip_prefix("Queries sent:") {
                p.sent = first_num(r);
            } else if let Some(r) = l.strip_prefix("Queries completed:") {
                p.completed = first_num(r);
            } else if let Some(r) = l.strip_prefix("Queries lost:") {
                p.lost = first_num(r);
            } else if let Some(r) = l.strip_prefix("Queries per second:") {
                p.qps = r.trim().parse().unwrap_or(0.0);
            }
        }
        p.latencies.sort_by(f64::total_cmp);
        p
    }

    /// The `q` quantile of the latencies in ms (nearest rank).
    pub fn latency_ms(&self, q: f64) -> f64 {
        percentile(&self.latencies, q) * 1000.0
    }
}

/// Nearest-rank quantile of sorted `v` (0 when empty).
pub fn percentile(v: &[f64], q: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    let rank = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len());
    v[rank - 1]
}

/// Runs dnsperf in the lab.
fn dnsperf(lab: &Lab, server: &str, file: &Path, args: &[&str]) -> Result<Perf> {
    let out = lab
        .command("dnsperf")
        .args(["-s", server, "-d"])
        .arg(file)
        .args(["-t", DNSPERF_TIMEOUT_S])
        .args(args)
        .output()
        .map_err(|e| error(format_args!("cannot run dnsperf: {e}")))?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(error(format_args!(
            "dnsperf -s {server} {} failed: {}{}",
            args.join(" "),
            text,
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    Ok(Perf::parse(&text))
}

/// One pass over the query file, so every name is cached; a second pass if any was lost.
fn prime(lab: &Lab, server: &str, file: &Path) -> Result<Perf> {
    let mut p = dnsperf(
        lab,
        server,
        file,
        &["-n", "1", "-c", PRIME_CLIENTS, "-q", PRIME_CLIENTS],
    )?;
    if p.lost > 0 || p.noerror < p.completed {
        p = dnsperf(
            lab,
            server,
            file,
            &["-n", "1", "-c", PRIME_CLIENTS, "-q", PRIME_CLIENTS],
        )?;
    }
    Ok(p)
}

/// A timed run at `clients` concurrent queries.
fn timed(lab: &Lab, server: &str, file: &Path, clients: u32, secs: u32) -> Result<Perf> {
    let c = clients.to_string();
    let l = secs.to_string();
    dnsperf(lab, server, file, &["-v", "-l", &l, "-c", &c, "-q", &c])
}

/// The cached-throughput runs of one system, appended to `rows`.
fn throughput(
    lab: &Lab,
    sys: &System,
    file: &Path,
    opts: &Options,
    rows: &mut Vec<CachedRow>,
) -> Result<u64> {
    let p = prime(lab, sys.addr, file)?;
    println!(
        "  {}: primed {} names ({} answered, {} lost)",
        sys.label, opts.names, p.completed, p.lost
    );
    let mut answered = 0;
    for &c in &opts.clients {
        let p = timed(lab, sys.addr, file, c, opts.duration)?;
        println!(
            "  {:<22} {c:>3} clients: {:>9.0} qps  p50 {:>8.3} ms  p99 {:>8.3} ms  lost {}",
            sys.label,
            p.qps,
            p.latency_ms(0.5),
            p.latency_ms(0.99),
            p.lost
        );
        answered += p.completed;
        rows.push(CachedRow::of(&sys.label, "dnsperf", c, &p));
        if opts.closed_loop.contains(&c) {
            let p = closed_loop(lab, sys.addr, opts.names, c, opts.duration)?;
            println!(
                "  {:<22} {c:>3} closed-loop: {:>9.0} qps  p50 {:>8.3} ms  p99 {:>8.3} ms  lost {}",
                sys.label,
                p.qps,
                p.latency_ms(0.5),
                p.latency_ms(0.99),
                p.lost
            );
            answered += p.completed;
            rows.push(CachedRow::of(&sys.label, "closed-loop", c, &p));
        }
    }
    Ok(answered)
}

/// A closed-loop load generator: `clients` threads inside the lab, each with its own
/// socket and one query outstanding, asking the names of the query file in turn for
/// `secs` seconds. dnsperf at one or four outstanding queries is paced by its own thread
/// wake-ups on a loaded host (Unbound's row shows the same ceiling); this is not.
fn closed_loop(lab: &Lab, server: &str, names: u32, clients: u32, secs: u32) -> Result<Perf> {
    let target: SocketAddr = format!("{server}:53").parse().map_err(error)?;
    let queries: std::sync::Arc<Vec<Vec<u8>>> = std::sync::Arc::new(
        (0..names)
            .map(|i| e2e::wire::query(0, &format!("q{i}.{BENCH_ZONE}"), e2e::wire::A))
            .collect(),
    );
    let run = Duration::from_secs(u64::from(secs));
    let per_client = lab
        .ns()
        .run_inside(move || {
            let threads: Vec<_> = (0..clients)
                .map(|c| {
                    let queries = queries.clone();
                    // Threads started here stay in the lab's namespace.
                    std::thread::spawn(move || client_loop(target, &queries, c, run))
                })
                .collect();
            threads
                .into_iter()
                .map(|t| t.join().unwrap_or_default())
                .collect::<Vec<Perf>>()
        })
        .map_err(err)?;
    let mut p = Perf::default();
    for c in per_client {
        p.sent += c.sent;
        p.completed += c.completed;
        p.lost += c.lost;
        p.noerror += c.noerror;
        p.latencies.extend(c.latencies);
    }
    p.latencies.sort_by(f64::total_cmp);
    p.qps = p.completed as f64 / run.as_secs_f64();
    Ok(p)
}

/// One closed-loop client: send, wait for the answer (at most 5 s), repeat.
fn client_loop(target: SocketAddr, queries: &[Vec<u8>], index: u32, run: Duration) -> Perf {
    let mut p = Perf::default();
    let Ok(sock) = UdpSocket::bind("10.53.0.1:0") else {
        return p;
    };
    if sock.connect(target).is_err()
        || sock.set_read_timeout(Some(Duration::from_secs(5))).is_err()
        || queries.is_empty()
    {
        return p;
    }
    let start = Instant::now();
    let mut k = index as usize * 7919;
    let mut id: u16 = (index as u16).wrapping_mul(4099);
    let mut buf = [0u8; 1500];
    while start.elapsed() < run {
        k = (k + 1) % queries.len();
        id = id.wrapping_add(1);
        let mut q = queries[k].clone();
        q[..2].copy_from_slice(&id.to_be_bytes());
        let t0 = Instant::now();
        if sock.send(&q).is_err() {
            p.lost += 1;
            continue;
        }
        p.sent += 1;
        loop {
            match sock.recv(&mut buf) {
                Ok(len) => {
                    let Some(h) = e2e::wire::header(&buf[..len]) else {
                        continue;
                    };
                    if h.id != id {
                        continue; // a late answer to an earlier query
                    }
                    p.completed += 1;
                    p.noerror += u64::from(h.rcode == 0);
                    p.latencies.push(t0.elapsed().as_secs_f64());
                }
                Err(_) => p.lost += 1,
            }
            break;
        }
    }
    p
}

/// The `--bench-hypercalls` line: ns per round trip.
fn hypercall_cost(out: &str) -> Option<f64> {
    let line = out.lines().find(|l| l.contains("ns per round trip"))?;
    let before = line.split(" ns per round trip").next()?;
    before.rsplit(' ').next()?.parse().ok()
}

/// Parts 2 (cached), 3 (exits) and 5 (footprint), in one lab.
pub fn cached_exits_footprint(opts: &Options, art: &Artifacts, r: &mut Report) -> Result<()> {
    println!("\nstarting the lab internet (NSD, Unbound with one thread)");
    let lab = Lab::start(LabOptions {
        unbound: true,
        dhcp: false,
    })
    .map_err(err)?;
    // Resolve a rebooted guest's new MAC within milliseconds, not ARP's default second.
    lab.ns()
        .sysctl("net.ipv4.neigh.br0.retrans_time_ms", "10")
        .map_err(err)?;
    let file = write_query_file(lab.dir(), opts.names)?;
    let hc = format!("--bench-hypercalls={}", opts.hypercalls);
    let wants_cached = opts.wants("cached") || opts.wants("exits");

    if wants_cached {
        println!(
            "\n== cached: dnsperf, {} cached names, {} s per run",
            opts.names, opts.duration
        );
        // The exit baseline first: boot, the same priming, stop. Its counts are what the
        // timed runs' counts are measured from.
        let base_guest = boot(&lab, Kind::Hvt, 64, std::slice::from_ref(&hc))?;
        let mut base_guest = base_guest;
        base_guest
            .wait_for("ready: serving DNS", READY_TIMEOUT)
            .map_err(err)?;
        let (_, hvt_addr, _) = lab_addresses(Kind::Hvt);
        prime(&lab, hvt_addr, &file)?;
        let base = stop_tender(base_guest)?;

        let mut hvt = boot(&lab, Kind::Hvt, 64, std::slice::from_ref(&hc))?;
        hvt.wait_for("ready: serving DNS", READY_TIMEOUT)
            .map_err(err)?;
        let cost = hypercall_cost(&hvt.output());
        let hvt_sys = System {
            label: "hvt (tender)".into(),
            addr: hvt_addr,
        };
        let mut rows = Vec::new();
        let answered = throughput(&lab, &hvt_sys, &file, opts, &mut rows)?;
        let run = stop_tender(hvt)?;
        let delta = run.minus(&base);
        let hvt_best = rows.iter().map(|r| r.qps).fold(0.0, f64::max);

        // solo5-hvt on the same TAP, when installed.
        match which("solo5-hvt") {
            Some(solo5) => {
                let (tap, _, _) = lab_addresses(Kind::Hvt);
                let _ = lab.ns().ip(&["neigh", "flush", "dev", "br0"]);
                let mut c = lab.command(&solo5.to_string_lossy());
                c.arg("--mem=64")
                    .arg(format!("--net:service={}", lab.tap(tap)))
                    .arg(&art.hvt)
                    .args(boot_args(&lab, Kind::Hvt, &[]));
                let log = lab.dir().join("solo5-hvt.log");
                let mut p = Proc::spawn("solo5-hvt", c, &log).map_err(err)?;
                p.wait_for("ready: serving DNS", READY_TIMEOUT)
                    .map_err(err)?;
                let sys = System {
                    label: "hvt (solo5-hvt)".into(),
                    addr: hvt_addr,
                };
                throughput(&lab, &sys, &file, opts, &mut rows)?;
                drop(p);
            }
            None => r
                .notes
                .push("hvt under solo5-hvt: not measured (solo5-hvt is not on PATH)".into()),
        }

        let mut unix = boot(&lab, Kind::Unix, 64, &[])?;
        unix.wait_for("ready: serving DNS", READY_TIMEOUT)
            .map_err(err)?;
        let (_, unix_addr, _) = lab_addresses(Kind::Unix);
        let sys = System {
            label: "unix (tap)".into(),
            addr: unix_addr,
        };
        throughput(&lab, &sys, &file, opts, &mut rows)?;
        drop(unix);

        let sys = System {
            label: "unbound (1 thread)".into(),
            addr: UNBOUND_ADDR,
        };
        throughput(&lab, &sys, &file, opts, &mut rows)?;
        r.cached = rows;

        if answered > 0 {
            let per_query = delta.vm_exits as f64 / answered as f64;
            let kinds = delta
                .kinds
                .iter()
                .filter(|(_, v)| *v > 0)
                .map(|(k, v)| (k.clone(), *v as f64 / answered as f64))
                .collect();
            r.exits = Some(Exits {
                answered,
                exits_per_query: per_query,
                per_kind: kinds,
                cost_ns: cost,
                hvt_best_qps: hvt_best,
            });
        }
    }

    if opts.wants("footprint") {
        println!("\n== footprint");
        let mut f = Footprint::default();
        for (arch, path) in &art.images {
            let size = std::fs::metadata(path)
                .map_err(|e| error(format_args!("{}: {e}", path.display())))?
                .len();
            f.images.push((arch.name().to_string(), size));
        }
        for i in 0..opts.boots {
            let (t, ready) = boot_to_first_answer(&lab)?;
            println!(
                "  boot {}: first answer after {:.1} ms (the guest's clock said ready at {})",
                i + 1,
                t * 1e3,
                ready.map_or("?".into(), |r| format!("{:.1} ms", r * 1e3))
            );
            f.boot_ms.push(t * 1e3);
            if let Some(r) = ready {
                f.ready_ms.push(r * 1e3);
            }
        }
        f.mem = smallest_mem(&lab, &file, opts)?;
        r.footprint = Some(f);
    }
    Ok(())
}

/// Boots the hvt image and asks until it answers: seconds from spawning the tender to
/// the first answer. The question is CHAOS-class, which the resolver answers itself
/// (NOTIMP) without going upstream, so this times booting, not resolving.
fn boot_to_first_answer(lab: &Lab) -> Result<(f64, Option<f64>)> {
    let (_, addr, _) = lab_addresses(Kind::Hvt);
    let target: SocketAddr = format!("{addr}:53").parse().map_err(error)?;
    let mut q = e2e::wire::query(0xb007, "version.bind", 16);
    let n = q.len();
    q[n - 2..].copy_from_slice(&3u16.to_be_bytes()); // class CH
    // The client socket lives in the lab; it is ready before the tender starts.
    let sock = lab
        .ns()
        .run_inside(|| UdpSocket::bind("10.53.0.1:0"))
        .map_err(err)?
        .map_err(|e| error(format_args!("client socket: {e}")))?;
    sock.set_read_timeout(Some(Duration::from_millis(2)))
        .map_err(|e| error(format_args!("client socket: {e}")))?;
    let start = Instant::now();
    let mut guest = boot(lab, Kind::Hvt, 64, &[])?;
    let mut buf = [0u8; 512];
    loop {
        let _ = sock.send_to(&q, target);
        if let Ok((len, _)) = sock.recv_from(&mut buf)
            && e2e::wire::header(&buf[..len]).is_some_and(|h| h.id == 0xb007)
        {
            let t = start.elapsed().as_secs_f64();
            let ready = guest_clock_at(&guest.output(), "ready: serving DNS");
            drop(guest);
            return Ok((t, ready));
        }
        if start.elapsed() > READY_TIMEOUT {
            return Err(error(format_args!(
                "the hvt guest did not answer within {READY_TIMEOUT:?}:\n{}",
                guest.proc.tail(20)
            )));
        }
        if guest.proc.try_status().is_some() {
            return Err(error(format_args!(
                "the hvt guest exited during boot:\n{}",
                guest.proc.tail(20)
            )));
        }
    }
}

/// The guest's own clock (seconds since its boot, the log's `[    0.092981]` prefix) on
/// the first line containing `needle`.
fn guest_clock_at(out: &str, needle: &str) -> Option<f64> {
    let line = out.lines().find(|l| l.contains(needle))?;
    let inner = line.trim_start().strip_prefix('[')?.split(']').next()?;
    inner.trim().parse().ok()
}

/// The smallest `--mem` (MiB) that serves the cached-throughput test (priming, then the
/// largest client count) without loss. Returns every (mem, served) tried.
fn smallest_mem(lab: &Lab, file: &Path, opts: &Options) -> Result<Vec<(u32, bool)>> {
    let (_, addr, _) = lab_addresses(Kind::Hvt);
    let clients = opts.clients.iter().copied().max().unwrap_or(16);
    let mut tried = Vec::new();
    let serves = |mem: u32| -> Result<bool> {
        let mut g = boot(lab, Kind::Hvt, mem, &[])?;
        let ok = g.wait_for("ready: serving DNS", READY_TIMEOUT).is_ok()
            && prime(lab, addr, file).is_ok_and(|p| p.lost == 0)
            && timed(lab, addr, file, clients, opts.duration.min(3))
                .is_ok_and(|p| p.lost == 0 && p.completed > 0)
            && g.proc.try_status().is_none();
        println!(
            "  --mem={mem}: {}",
            if ok { "serves without loss" } else { "fails" }
        );
        if !ok {
            println!("    {}", g.proc.tail(3).replace('\n', "\n    "));
        }
        Ok(ok)
    };
    let mut any_ok = false;
    for &m in &opts.mem_down {
        let ok = serves(m)?;
        tried.push((m, ok));
        any_ok |= ok;
        if !ok {
            break;
        }
    }
    if !any_ok {
        for &m in &opts.mem_up {
            let ok = serves(m)?;
            tried.push((m, ok));
            if ok {
                break;
            }
        }
    }
    Ok(tried)
}

/// Part 4: cold names through a lab with a per-hop delay: first unvalidated (no trust
/// anchor: the bench zone), then validating from the lab's root anchor (names under
/// the signed wildcard of `secure.test.`, AD asked for and required) next to an
/// Unbound validating from the same anchor (issue 17), RFC 8198 off on both sides.
pub fn cold(opts: &Options, r: &mut Report) -> Result<()> {
    let mut lab = Lab::start_delayed(
        LabOptions {
            unbound: true,
            dhcp: false,
        },
        opts.delay,
    )
    .map_err(err)?;
    let run = std::process::id();
    {
        let mut hvt = boot(&lab, Kind::Hvt, 64, &[])?;
        hvt.wait_for("ready: serving DNS", READY_TIMEOUT)
            .map_err(err)?;
        let mut unix = boot(&lab, Kind::Unix, 64, &[])?;
        unix.wait_for("ready: serving DNS", READY_TIMEOUT)
            .map_err(err)?;
        let systems = [
            ("hvt (tender)", lab_addresses(Kind::Hvt).1),
            ("unix (tap)", lab_addresses(Kind::Unix).1),
            ("unbound (1 thread)", UNBOUND_ADDR),
        ];
        for (label, addr) in systems {
            let names = |i: Option<u32>| match i {
                None => format!("first-{run}.{BENCH_ZONE}"),
                Some(i) => format!("c{i}-{run}.{BENCH_ZONE}"),
            };
            r.cold
                .push(cold_row(&lab, opts, label, addr, &names, false)?);
        }
    }
    let root_ds = lab
        .ds(".")
        .ok_or("the lab has no root DS")
        .map_err(error)?
        .to_string();
    let anchor = lab.trust_anchor_arg(".").map_err(err)?;
    // Each fresh name a resolution: no answers synthesised from held NSEC records and
    // wildcards (RFC 8198) on either side, or the part would time the cache.
    lab.start_validating_unbound_with(VALIDATING_UNBOUND, &[&root_ds], "  aggressive-nsec: no\n")
        .map_err(err)?;
    let args = [anchor, "--aggressive-nsec=off".to_string()];
    let mut hvt = boot(&lab, Kind::Hvt, 64, &args)?;
    hvt.wait_for("ready: serving DNS", READY_TIMEOUT)
        .map_err(err)?;
    let mut unix = boot(&lab, Kind::Unix, 64, &args)?;
    unix.wait_for("ready: serving DNS", READY_TIMEOUT)
        .map_err(err)?;
    let systems = [
        ("hvt (tender), validating", lab_addresses(Kind::Hvt).1),
        ("unix (tap), validating", lab_addresses(Kind::Unix).1),
        ("unbound (1 thread), validating", VALIDATING_UNBOUND),
    ];
    for (label, addr) in systems {
        let names = |i: Option<u32>| match i {
            None => format!("first-{run}.{VALIDATED_ZONE}"),
            Some(i) => format!("c{i}-{run}.{VALIDATED_ZONE}"),
        };
        r.cold
            .push(cold_row(&lab, opts, label, addr, &names, true)?);
    }
    Ok(())
}

/// Where the validating Unbound of the cold part listens (on the lab's loopback).
const VALIDATING_UNBOUND: &str = "10.53.0.250";
/// A signed wildcard (ECDSA P-256, NSEC) under the lab's signed root: every fresh name
/// is one upstream query and a validated answer with its wildcard proof.
const VALIDATED_ZONE: &str = "wild.secure.test";

/// One system's cold row: the first name on an empty cache, then `cold_names` fresh
/// ones; `names(None)` is the first, `names(Some(i))` the others. `ad`: ask with AD set
/// and count an answer without AD as failed.
fn cold_row(
    lab: &Lab,
    opts: &Options,
    label: &str,
    addr: &str,
    names: &dyn Fn(Option<u32>) -> String,
    ad: bool,
) -> Result<ColdRow> {
    let target: SocketAddr = format!("{addr}:53").parse().map_err(error)?;
    let before = lab.upstream_queries().unwrap_or(0);
    let first = ask(lab, target, &names(None), ad)?;
    let first_upstream = lab.upstream_queries().unwrap_or(0) - before;
    let mut times = Vec::new();
    let mut failed = 0;
    let before = lab.upstream_queries().unwrap_or(0);
    for i in 0..opts.cold_names {
        match ask(lab, target, &names(Some(i)), ad) {
            Ok(t) => times.push(t * 1e3),
            Err(_) => failed += 1,
        }
    }
    let upstream = lab.upstream_queries().unwrap_or(0) - before;
    times.sort_by(f64::total_cmp);
    let row = ColdRow {
        system: label.to_string(),
        names: opts.cold_names,
        failed,
        first_ms: first * 1e3,
        first_upstream,
        median_ms: percentile(&times, 0.5),
        p99_ms: percentile(&times, 0.99),
        upstream_per_answer: upstream as f64 / f64::from(opts.cold_names.max(1)),
    };
    println!(
        "  {label:<32} empty cache {:>7.1} ms ({} upstream); {} names: median {:.1} ms, p99 {:.1} ms, {:.2} upstream per answer{}",
        row.first_ms,
        row.first_upstream,
        row.names,
        row.median_ms,
        row.p99_ms,
        row.upstream_per_answer,
        if failed > 0 {
            format!(", {failed} failed")
        } else {
            String::new()
        }
    );
    Ok(row)
}

/// Part "lists": each build boots with a big list on the lab's list server and loads it
/// `list_runs` times while a client asks for a cached name (`e2e::lists::measure_load`).
pub fn lists(opts: &Options, r: &mut Report) -> Result<()> {
    e2e::packages::require(&["nginx", "openssl"]).map_err(err)?;
    let lab = Lab::start(LabOptions {
        unbound: false,
        dhcp: false,
    })
    .map_err(err)?;
    let server = e2e::lists::ListServer::start(&lab).map_err(err)?;
    let list = e2e::lists::big_list(opts.list_lines);
    let bytes = list.len();
    server.put("big.txt", &list).map_err(err)?;
    drop(list);
    let url = format!("http://{}:8080/big.txt", e2e::lists::LIST_SERVER);
    for (label, kind) in [("hvt (tender)", Kind::Hvt), ("unix (tap)", Kind::Unix)] {
        let (mut load_ms, mut during, mut idle, mut failed, mut table_kib) =
            (Vec::new(), Vec::new(), Vec::new(), 0, 0);
        for _ in 0..opts.list_runs {
            // One system at a time, each load with the machine to itself.
            let (run, guest) =
                e2e::lists::measure_load(&lab, kind, &url, &[], Duration::from_secs(60))
                    .map_err(err)?;
            if run.domains != u64::from(opts.list_lines) {
                return Err(error(format_args!(
                    "{label}: loaded {} domains of {}",
                    run.domains, opts.list_lines
                )));
            }
            load_ms.push(run.load_ms as f64);
            table_kib = table_kib.max(run.table_kib);
            failed += run.failed;
            let ms = |d: &Duration| d.as_secs_f64() * 1e3;
            during.extend(run.during.iter().map(ms));
            idle.extend(run.idle.iter().map(ms));
            drop(guest);
        }
        during.sort_by(f64::total_cmp);
        idle.sort_by(f64::total_cmp);
        let row = ListRow {
            system: label.to_string(),
            lines: opts.list_lines,
            bytes,
            load_ms,
            table_kib,
            during_p50_ms: percentile(&during, 0.5),
            during_p99_ms: percentile(&during, 0.99),
            during_max_ms: during.last().copied().unwrap_or(0.0),
            answered: during.len(),
            failed,
            idle_p50_ms: percentile(&idle, 0.5),
        };
        println!(
            "  {label:<20} {} lines ({:.1} MB, table {:.1} MiB): live in {:.0} ms (median of {}); {} answers meanwhile: p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms, {} unanswered; idle p50 {:.3} ms",
            row.lines,
            bytes as f64 / 1e6,
            row.table_kib as f64 / 1024.0,
            row.load_median_ms(),
            row.load_ms.len(),
            row.answered,
            row.during_p50_ms,
            row.during_p99_ms,
            row.during_max_ms,
            row.failed,
            row.idle_p50_ms
        );
        r.lists.push(row);
    }
    Ok(())
}

/// One query from inside the lab; seconds until the answer. `ad`: the query sets AD
/// (RFC 6840 §5.7) and the answer must have it (validated secure).
fn ask(lab: &Lab, target: SocketAddr, name: &str, ad: bool) -> Result<f64> {
    let mut q = e2e::wire::query(0x0c01, name, e2e::wire::A);
    if ad {
        q[3] |= 0x20;
    }
    let name = name.to_string();
    lab.ns()
        .run_inside(move || -> Result<f64> {
            let sock = UdpSocket::bind("10.53.0.1:0").map_err(error)?;
            sock.set_read_timeout(Some(Duration::from_secs(10)))
                .map_err(error)?;
            let start = Instant::now();
            sock.send_to(&q, target).map_err(error)?;
            let mut buf = [0u8; 1500];
            loop {
                let (len, _) = sock
                    .recv_from(&mut buf)
                    .map_err(|e| error(format_args!("{name} @{target}: {e}")))?;
                if let Some(h) = e2e::wire::header(&buf[..len])
                    && h.id == 0x0c01
                {
                    if h.rcode != 0 || h.ancount == 0 {
                        return Err(error(format_args!(
                            "{name} @{target}: rcode {} with {} answers",
                            h.rcode, h.ancount
                        )));
                    }
                    if ad && buf[3] & 0x20 == 0 {
                        return Err(error(format_args!("{name} @{target}: no AD")));
                    }
                    return Ok(start.elapsed().as_secs_f64());
                }
            }
        })
        .map_err(err)?
}

/// `program`'s path if it is on PATH.
fn which(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(program))
            .find(|p| p.is_file())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_tender_counters() {
        let out = "x\ntender: hypercalls: walltime=5 puts=3 poll=10 net_write=7 net_read=9 halt=0 total=34 vm_exits=40\n";
        let c = Counters::parse(out).unwrap();
        assert_eq!((c.total, c.vm_exits), (34, 40));
        assert_eq!(c.kinds[2], ("poll".to_string(), 10));
        let d = c.minus(&Counters {
            kinds: vec![("poll".into(), 4)],
            total: 4,
            vm_exits: 5,
        });
        assert_eq!((d.kinds[2].1, d.total, d.vm_exits), (6, 30, 35));
    }

    #[test]
    fn parses_dnsperf() {
        let out = "> NOERROR q1.bench.example A 0.000300\n> NOERROR q2.bench.example A 0.000100\n\
                   > T q3.bench.example A\n  Queries sent:         3\n  Queries completed:    2 (66.67%)\n  \
                   Queries lost:         1 (33.33%)\n  Queries per second:   1234.5\n";
        let p = Perf::parse(out);
        assert_eq!((p.sent, p.completed, p.lost, p.noerror), (3, 2, 1, 2));
        assert_eq!(p.qps, 1234.5);
        assert_eq!(p.latency_ms(0.5), 0.1);
        assert!((p.latency_ms(0.99) - 0.3).abs() < 1e-9);
    }

    #[test]
    fn reads_the_guest_clock() {
        let out = "[    0.009109] INFO  banner\n[    0.092981] INFO  resolver::app: ready: serving DNS on port 53\n";
        assert_eq!(guest_clock_at(out, "ready: serving DNS"), Some(0.092981));
        assert_eq!(guest_clock_at(out, "nope"), None);
    }

    #[test]
    fn reads_the_hypercall_line() {
        let out = "[info] bench: 20000 hypercalls in 200000000 ns: 10000 ns per round trip (checksum 3)\n";
        assert_eq!(hypercall_cost(out), Some(10000.0));
    }
}
