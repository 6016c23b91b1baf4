//! Items 12 (KeyTrap, CVE-2023-50387) and 13 (NSEC3 cost, CVE-2023-50868 and RFC 9276)
//! against both builds, validating with a trust anchor for attacker zones that one more
//! lab NSD serves ([`Lab::start_extra_server`]), reached by per-domain forwarding
//! (`--server=/ZONE/IP`).
//!
//! Item 12: two signed zones whose DNSKEY sets hold, besides the real key, junk keys
//! that share its key tag and algorithm: RSA keys of 4096 bits with the exponent
//! 2^32-1 (the most expensive the verifier takes), and P-384 points (real curve points
//! from `ldns-keygen`, their flags chosen to hit the tag). Every name under the zone
//! (a wildcard) answers with junk RRSIGs of that tag only: unbounded, a validator would
//! try every key against every signature. The attacked names must get SERVFAIL with
//! EDE 6 (bogus), quickly; `www` (signed by the real key) must stay secure; the honest
//! client (another source) must keep being answered.
//!
//! Item 13: NXDOMAIN for ~100-label names under an NSEC3 zone of 2500 iterations
//! (insecure at once, EDE 27: RFC 9276) and under one of 150 iterations (validated,
//! within the hash budget).
//!
//! Verifications and NSEC3 hashes per response are read from the resolvers' own debug
//! lines (`dnssec: checked …`, one per validated response); CPU from /proc (all threads
//! of the unix process, or of the tender running the hvt guest).

use std::net::{SocketAddr, UdpSocket};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::nxns::{ATTACKER, HONEST, HONEST_LOSS_PCT, add_client_addrs, few_lost, introduce};
use super::{BENCH_ADDR, Mode, Rng, Table, answer_addrs, ask, ede, query_edns, server};
use crate::Result;
use crate::guest::{Resolver, boot_both};
use crate::lab::{ExtraKey, Lab, trust_anchor_arg_for};
use crate::wire;
use crate::zones::Denial;

/// The attacker's NSD (documentation address, on the lab's loopback).
const ATTACK_SERVER: &[&str] = &["203.0.113.140"];
/// The RSA-4096 KeyTrap zone.
const RSA_ZONE: &str = "keytrap-rsa.test.";
/// The P-384 KeyTrap zone.
const EC_ZONE: &str = "keytrap-ec.test.";
/// NSEC3 with [`HIGH_ITERATIONS`].
const HIGH_ZONE: &str = "nsec3-high.test.";
/// NSEC3 with [`DEEP_ITERATIONS`].
const DEEP_ZONE: &str = "nsec3-deep.test.";
/// Junk DNSKEYs sharing the real key's tag, per KeyTrap zone.
const JUNK_KEYS: usize = 16;
/// Junk RRSIGs over the wildcard's A RRset.
const JUNK_SIGS: usize = 16;
const HIGH_ITERATIONS: u16 = 2500;
const DEEP_ITERATIONS: u16 = 150;
/// Labels of the NSEC3 item's query names.
const DEEP_LABELS: usize = 100;
/// A client waits this long for one answer: the engine's query timeout plus slack.
const ANSWER_BOUND: Duration = Duration::from_secs(15);

/// (attack queries per KeyTrap zone, at once, queries per NSEC3 zone).
fn sizes(mode: Mode) -> (usize, usize, usize) {
    match mode {
        Mode::Short => (24, 4, 8),
        // At most 4 at once: every attack answer needs TCP (16 junk RRSIGs do not fit
        // 1232 octets), and with 16 at once the resolver's upstream TCP sockets ran
        // out (SERVFAIL, EDE 23), which is not what this item measures.
        Mode::Long => (400, 4, 100),
    }
}

/// The RFC 4034 Appendix B key tag of DNSKEY RDATA.
fn key_tag(rdata: &[u8]) -> u16 {
    let mut ac: u32 = 0;
    for (i, b) in rdata.iter().enumerate() {
        ac += if i % 2 == 0 {
            u32::from(*b) << 8
        } else {
            u32::from(*b)
        };
    }
    ac += ac >> 16;
    (ac & 0xffff) as u16
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Base64 for a zone file: the tests crate has no base64 crate, and zone files
/// need only this and its inverse.
fn b64_encode(b: &[u8]) -> String {
    let mut s = String::new();
    for c in b.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            s.push(if i <= c.len() {
                B64[(n >> (18 - 6 * i) & 63) as usize] as char
            } else {
                '='
            });
        }
    }
    s
}

fn b64_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for c in s.bytes().filter(|c| !c.is_ascii_whitespace() && *c != b'=') {
        let v = B64.iter().position(|x| *x == c)? as u32;
        acc = ((acc << 6) | v) & 0xff_ffff;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Some(out)
}

/// `name` (dotted, absolute) in wire form, lower case.
fn wire_name(name: &str) -> Vec<u8> {
    let mut v = Vec::new();
    for l in name
        .trim_end_matches('.')
        .split('.')
        .filter(|l| !l.is_empty())
    {
        v.push(l.len() as u8);
        v.extend(l.to_ascii_lowercase().bytes());
    }
    v.push(0);
    v
}

/// An RSASHA256 DNSKEY of 4096 bits, exponent 2^32-1, random modulus (odd, top bit
/// set), one 16-bit word of it chosen so the key tag is `tag`.
fn rsa_junk(rng: &mut Rng, tag: u16) -> Vec<u8> {
    let mut rd = vec![1, 1, 3, 8, 4, 0xff, 0xff, 0xff, 0xff];
    let mut n = rng.bytes(512);
    n[0] |= 0x80;
    n[511] |= 1;
    rd.extend_from_slice(&n);
    // rd[100..102] starts at an even offset: a word of the checksum.
    for w in 0..=u16::MAX {
        rd[100..102].copy_from_slice(&w.to_be_bytes());
        if key_tag(&rd) == tag {
            break;
        }
    }
    rd
}

/// A P-384 DNSKEY (a real point from `ldns-keygen`) with key tag `tag`: its flags
/// (zone key, not revoked, other bits free) chosen to hit it; about one point in four
/// has such flags, so points are made until one has.
fn ec_junk(lab: &Lab, tag: u16) -> Result<Vec<u8>> {
    for _ in 0..64 {
        let k = lab.extra_key("junk.invalid.", "ECDSAP384SHA384")?;
        let b64 = k.dnskey.split_whitespace().last().unwrap_or("");
        let point = b64_decode(b64)
            .filter(|p| p.len() == 96)
            .ok_or_else(|| format!("ldns-keygen wrote no P-384 point: {}", k.dnskey))?;
        // Above 0x0101: the real key (flags 257) sorts first in the set.
        for flags in 0x0102..=u16::MAX {
            if flags & 0x0180 != 0x0100 {
                continue;
            }
            let mut rd = flags.to_be_bytes().to_vec();
            rd.extend_from_slice(&[3, 14]);
            rd.extend_from_slice(&point);
            if key_tag(&rd) == tag {
                return Ok(rd);
            }
        }
    }
    Err(format!("no P-384 point gave key tag {tag} in 64 tries"))
}

/// A junk RRSIG over `*.zone`'s A RRset naming key `tag` of `alg`, valid now, with a
/// random signature of `len` octets (numerically below any modulus or curve order
/// that could check it, so each try is a whole verification).
fn junk_rrsig(rng: &mut Rng, zone: &str, alg: u8, tag: u16, len: usize, now: u32) -> String {
    let labels = zone.trim_end_matches('.').split('.').count() as u8;
    let mut rd = vec![0, 1, alg, labels];
    rd.extend_from_slice(&300u32.to_be_bytes());
    rd.extend_from_slice(&(now + 7 * 86_400).to_be_bytes());
    rd.extend_from_slice(&(now - 3600).to_be_bytes());
    rd.extend_from_slice(&tag.to_be_bytes());
    rd.extend(wire_name(zone));
    let mut sig = rng.bytes(len);
    sig[0] &= 0x7f;
    if len == 96 {
        sig[48] &= 0x7f;
    }
    rd.extend(sig);
    let hex: String = rd.iter().map(|b| format!("{b:02x}")).collect();
    format!("*.{zone} 300 IN RRSIG \\# {} {hex}\n", rd.len())
}

/// The zones' common part: SOA, NS and its address, `www` (signed, honest).
fn zone_head(origin: &str) -> String {
    format!(
        "$ORIGIN {origin}\n$TTL 300\n@ IN SOA ns.{origin} hostmaster.{origin} 1 3600 600 86400 300\n\
         @ IN NS ns.{origin}\nns IN A {}\nwww IN A 192.0.2.80\n",
        ATTACK_SERVER[0]
    )
}

/// A KeyTrap zone: `junk` extra DNSKEYs of the real key's tag, a wildcard whose only
/// RRSIGs are [`JUNK_SIGS`] junk ones. Returns (signed zone text, its key).
fn keytrap_zone(lab: &Lab, origin: &str, rsa: bool, rng: &mut Rng) -> Result<(String, ExtraKey)> {
    let (alg_name, alg, sig_len) = if rsa {
        ("RSASHA256", 8u8, 512)
    } else {
        ("ECDSAP384SHA384", 14u8, 96)
    };
    let key = lab.extra_key(origin, alg_name)?;
    // The real key listed by hand: ldns-signzone adds it only to a zone without
    // DNSKEY records of its own.
    let mut text = zone_head(origin) + "* IN A 192.0.2.81\n" + &key.dnskey + "\n";
    let mut junk_b64 = Vec::new();
    for _ in 0..JUNK_KEYS {
        let rd = if rsa {
            rsa_junk(rng, key.tag)
        } else {
            ec_junk(lab, key.tag)?
        };
        if key_tag(&rd) != key.tag {
            return Err(format!("a junk key missed tag {}", key.tag));
        }
        let flags = u16::from_be_bytes([rd[0], rd[1]]);
        let b64 = b64_encode(&rd[4..]);
        text.push_str(&format!("@ IN DNSKEY {flags} 3 {alg} {b64}\n"));
        junk_b64.push(b64);
    }
    let signed = lab.sign_extra_zone(origin, &text, &key, Denial::Nsec)?;
    // The wildcard keeps no real signature: its answers carry junk RRSIGs only.
    let wild = format!("*.{origin}");
    let lines: Vec<&str> = signed
        .lines()
        .filter(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            !(f.len() > 4 && f[0].eq_ignore_ascii_case(&wild) && f[3] == "RRSIG" && f[4] == "A")
        })
        .collect();
    // The real key first in the set as served (ldns-signzone appends it after the
    // zone's own DNSKEYs, and NSD serves them in file order): the parent's DS then
    // finds it among the first keys of its tag, and the cost lies where KeyTrap puts
    // it, in the answers' signatures.
    let is_junk = |l: &str| {
        let f: Vec<&str> = l.split_whitespace().collect();
        f.len() > 7 && f[3] == "DNSKEY" && junk_b64.contains(&f[7..].concat())
    };
    let is_real = |l: &str| {
        let f: Vec<&str> = l.split_whitespace().collect();
        f.len() > 7 && f[3] == "DNSKEY" && !is_junk(l)
    };
    let first = lines.iter().position(|l| is_junk(l)).unwrap_or(0);
    let mut ordered: Vec<&str> = lines[..first]
        .iter()
        .copied()
        .filter(|l| !is_real(l))
        .collect();
    ordered.extend(lines.iter().copied().filter(|l| is_real(l)));
    ordered.extend(lines[first..].iter().copied().filter(|l| !is_real(l)));
    let mut out: String = ordered.iter().flat_map(|l| [*l, "\n"]).collect();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|e| e.to_string())?
        .as_secs() as u32;
    for _ in 0..JUNK_SIGS {
        out.push_str(&junk_rrsig(rng, origin, alg, key.tag, sig_len, now));
    }
    Ok((out, key))
}

/// Starts the attacker's NSD with all four zones; returns the resolvers' extra boot
/// arguments (forwarding and trust anchors).
fn attacker(lab: &mut Lab) -> Result<Vec<String>> {
    let mut rng = Rng(0x6b65_7974_7261_7021);
    let (rsa, rsa_key) = keytrap_zone(lab, RSA_ZONE, true, &mut rng)?;
    let (ec, ec_key) = keytrap_zone(lab, EC_ZONE, false, &mut rng)?;
    let mut zones = vec![(RSA_ZONE, rsa), (EC_ZONE, ec)];
    let mut keys = vec![(RSA_ZONE, rsa_key), (EC_ZONE, ec_key)];
    for (origin, iterations) in [(HIGH_ZONE, HIGH_ITERATIONS), (DEEP_ZONE, DEEP_ITERATIONS)] {
        let key = lab.extra_key(origin, "ECDSAP256SHA256")?;
        let denial = Denial::Nsec3 {
            salt: "c0ffee",
            iterations,
            opt_out: false,
        };
        zones.push((
            origin,
            lab.sign_extra_zone(origin, &zone_head(origin), &key, denial)?,
        ));
        keys.push((origin, key));
    }
    lab.start_extra_server("keytrap", ATTACK_SERVER, zones)?;
    let mut args = Vec::new();
    for (origin, key) in &keys {
        args.push(format!(
            "--server=/{}/{}",
            origin.trim_end_matches('.'),
            ATTACK_SERVER[0]
        ));
        args.push(trust_anchor_arg_for(origin, &key.ds)?);
    }
    Ok(args)
}

/// CPU time of every thread of process `pid` so far (`/proc/PID/task/*/schedstat`,
/// nanoseconds on the CPU).
fn cpu_ns(pid: u32) -> Option<u64> {
    let dir = format!("/proc/{pid}/task");
    let mut total = 0u64;
    for e in std::fs::read_dir(Path::new(&dir)).ok()? {
        let p = e.ok()?.path().join("schedstat");
        let s = std::fs::read_to_string(p).ok()?;
        total += s.split_whitespace().next()?.parse::<u64>().ok()?;
    }
    Some(total)
}

/// One answer: rcode, EDE, AD, how long it took; `None` rcode: none in the bound.
#[derive(Debug, Clone)]
struct Shot {
    rcode: Option<u8>,
    ede: Option<String>,
    ad: bool,
    took: Duration,
}

/// Asks each of `names` (A, DO set) from the attacker's address, `window` at once.
fn wave(to: SocketAddr, names: Vec<String>, window: usize) -> Result<Vec<Shot>> {
    let names = Arc::new(names);
    let hs: Vec<_> = (0..window)
        .map(|t| {
            let names = names.clone();
            std::thread::spawn(move || -> Result<Vec<Shot>> {
                let sock = UdpSocket::bind(format!("{ATTACKER}:0"))
                    .map_err(|e| format!("bind {ATTACKER}: {e}"))?;
                let mut out = Vec::new();
                for (i, name) in names.iter().enumerate().skip(t).step_by(window) {
                    let q = query_edns(0x7000 + i as u16, name, wire::A, 1232, true);
                    let start = Instant::now();
                    let m = ask(&sock, to, &q, ANSWER_BOUND);
                    out.push(Shot {
                        rcode: m.as_ref().and_then(|m| wire::header(m)).map(|h| h.rcode),
                        ede: m.as_deref().and_then(ede),
                        ad: m.as_ref().is_some_and(|m| m.len() > 3 && m[3] & 0x20 != 0),
                        took: start.elapsed(),
                    });
                }
                Ok(out)
            })
        })
        .collect();
    let mut all = Vec::new();
    for h in hs {
        all.extend(
            h.join()
                .map_err(|_| "an attack thread panicked".to_string())??,
        );
    }
    Ok(all)
}

/// What the honest client saw: each answered query's latency, and the failures.
#[derive(Debug, Default)]
struct Honest {
    latencies: Vec<Duration>,
    asked: u32,
    bad: Vec<String>,
}

/// Bench names from [`HONEST`] every 20 ms until `stop` (a cached one and a fresh
/// one in turn), each with a try of 1.5 s and a second one; right is [`BENCH_ADDR`].
fn honest_client(to: SocketAddr, tag: String, stop: Arc<AtomicBool>) -> Result<Honest> {
    let sock = UdpSocket::bind(format!("{HONEST}:0")).map_err(|e| format!("bind {HONEST}: {e}"))?;
    let mut h = Honest::default();
    let mut n = 0u16;
    while !stop.load(Ordering::Relaxed) {
        n = n.wrapping_add(1);
        let name = if n.is_multiple_of(2) {
            "honest.bench.example".to_string()
        } else {
            format!("k{n}-{tag}.bench.example")
        };
        h.asked += 1;
        let t = Instant::now();
        let got = [0x5000 ^ n, 0xa000 ^ n].into_iter().find_map(|id| {
            ask(
                &sock,
                to,
                &wire::query(id, &name, wire::A),
                Duration::from_millis(1500),
            )
        });
        match got {
            Some(m) if answer_addrs(&m).is_some_and(|a| a == [BENCH_ADDR]) => {
                h.latencies.push(t.elapsed())
            }
            Some(_) => h.bad.push(format!("{name}: a wrong answer")),
            None => h.bad.push(format!("{name}: no answer to 2 tries")),
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(h)
}

fn median(v: &[Duration]) -> Duration {
    let mut s = v.to_vec();
    s.sort();
    s.get(s.len() / 2).copied().unwrap_or_default()
}

/// The `dnssec: checked` lines in `log`: (outcome, verifications, failed, hashes).
fn checks(log: &str) -> Vec<(String, u64, u64, u64)> {
    let num = |l: &str, key: &str| -> Option<u64> {
        let rest = &l[l.find(key)? + key.len()..];
        rest.split(|c: char| !c.is_ascii_digit())
            .next()?
            .parse()
            .ok()
    };
    log.lines()
        .filter_map(|l| {
            let rest = &l[l.find("dnssec: checked a")?..];
            let rest = &rest[rest.find(" response from ")? + 15..];
            let outcome = rest.split_once(": ")?.1.split(',').next()?.to_string();
            Some((
                outcome,
                num(l, "verifications ")?,
                num(l, "(failed ")?,
                num(l, "nsec3 hashes ")?,
            ))
        })
        .collect()
}

/// One measured run: the shots, the honest client's view, CPU of the resolver process
/// over the run, and the check lines logged meanwhile.
struct Run {
    shots: Vec<Shot>,
    honest: Honest,
    cpu: Option<Duration>,
    wall: Duration,
    checks: Vec<(String, u64, u64, u64)>,
}

fn measured(lab: &Lab, r: &Resolver, names: Vec<String>, window: usize) -> Result<Run> {
    let to = server(r);
    let pid = r.guest.proc.pid();
    let mark = r.guest.output().len();
    let stop = Arc::new(AtomicBool::new(false));
    let tag = format!("{}{}", r.kind().name(), names.len());
    let cpu0 = cpu_ns(pid);
    let start = Instant::now();
    let (shots, honest) = std::thread::scope(|s| {
        let st = stop.clone();
        let h = s.spawn(move || lab.ns().run_inside(move || honest_client(to, tag, st)));
        // Let the honest client start before the attack.
        std::thread::sleep(Duration::from_millis(300));
        let shots = lab.ns().run_inside(move || wave(to, names, window));
        std::thread::sleep(Duration::from_millis(300));
        stop.store(true, Ordering::Relaxed);
        let honest = h
            .join()
            .map_err(|_| "the honest client panicked".to_string())
            .and_then(|r| r)
            .and_then(|r| r);
        (shots, honest)
    });
    let wall = start.elapsed();
    let cpu = cpu0
        .zip(cpu_ns(pid))
        .map(|(a, b)| Duration::from_nanos(b.saturating_sub(a)));
    let log = r.guest.output();
    Ok(Run {
        shots: shots??,
        honest: honest?,
        cpu,
        wall,
        checks: checks(log.get(mark..).unwrap_or("")),
    })
}

/// The honest client's part of a row, and whether it held.
fn judge_honest(h: &Honest) -> (String, bool) {
    let lost = h.asked as usize - h.latencies.len();
    let m = format!(
        "honest client answered {}/{}, latency median {:.1?} max {:.1?}",
        h.latencies.len(),
        h.asked,
        median(&h.latencies),
        h.latencies.iter().max().copied().unwrap_or_default()
    );
    let ok = few_lost(lost as u32, h.asked);
    if ok {
        (m, true)
    } else {
        (
            format!(
                "{m}; more than {HONEST_LOSS_PCT}% lost: {}",
                h.bad.iter().take(4).cloned().collect::<Vec<_>>().join("; ")
            ),
            false,
        )
    }
}

/// CPU per query (ms) over a run, as text.
fn per_query_cpu(run: &Run) -> String {
    match run.cpu {
        Some(c) => format!(
            "{:.2} ms CPU per attack query ({:.0?} in {:.1?})",
            c.as_secs_f64() * 1000.0 / run.shots.len().max(1) as f64,
            c,
            run.wall
        ),
        None => "CPU unreadable".into(),
    }
}

/// Asks `name` once (DO set) from the honest address: (rcode, AD, EDE).
fn probe(lab: &Lab, to: SocketAddr, name: &str) -> Result<Shot> {
    let name = name.to_string();
    lab.ns().run_inside(move || -> Result<Shot> {
        let sock = UdpSocket::bind(format!("{HONEST}:0")).map_err(|e| e.to_string())?;
        let mut shots = Vec::new();
        for id in [0x7e01u16, 0x7e02] {
            let q = query_edns(id, &name, wire::A, 1232, true);
            let start = Instant::now();
            if let Some(m) = ask(&sock, to, &q, ANSWER_BOUND) {
                shots.push(Shot {
                    rcode: wire::header(&m).map(|h| h.rcode),
                    ede: ede(&m),
                    ad: m.len() > 3 && m[3] & 0x20 != 0,
                    took: start.elapsed(),
                });
                break;
            }
        }
        shots
            .pop()
            .ok_or_else(|| format!("{name}: no answer in {ANSWER_BOUND:?}"))
    })?
}

fn keytrap_item(lab: &Lab, r: &Resolver, mode: Mode, t: &mut Table) -> Result<()> {
    let (n, window, _) = sizes(mode);
    let l = engine::Limits::default();
    let kind = r.kind().name();
    for (zone, shape) in [(RSA_ZONE, "RSA-4096 e=2^32-1"), (EC_ZONE, "P-384")] {
        let z = zone.trim_end_matches('.');
        let tried = format!(
            "{n} names under {z} ({window} at once): {JUNK_KEYS} {shape} junk DNSKEYs of the \
             real key's tag, {JUNK_SIGS} junk RRSIGs an answer"
        );
        let res = (|| -> Result<String> {
            // The control: the zone validates; its own name is secure.
            let www = probe(lab, server(r), &format!("www.{z}"))?;
            if www.rcode != Some(0) || !www.ad {
                return Err(format!("www.{z} is not secure: {www:?}"));
            }
            // The key set is fetched by the first one; the run measures the rest.
            probe(lab, server(r), &format!("first.{z}"))?;
            let names = (0..n).map(|i| format!("t{i}-{kind}.{z}")).collect();
            let run = measured(lab, r, names, window)?;
            let bogus = run
                .shots
                .iter()
                .filter(|s| {
                    s.rcode == Some(2) && s.ede.as_deref().is_some_and(|e| e.starts_with("code 6"))
                })
                .count();
            let bad: Vec<_> = run
                .shots
                .iter()
                .filter(|s| {
                    !(s.rcode == Some(2)
                        && s.ede.as_deref().is_some_and(|e| e.starts_with("code 6")))
                })
                .take(3)
                .collect();
            let bogus_checks: Vec<_> = run.checks.iter().filter(|c| c.0 == "bogus").collect();
            let vmax = bogus_checks.iter().map(|c| c.1).max().unwrap_or(0);
            let fmax = bogus_checks.iter().map(|c| c.2).max().unwrap_or(0);
            let slowest = run.shots.iter().map(|s| s.took).max().unwrap_or_default();
            let (hm, hok) = judge_honest(&run.honest);
            let ede_text = run
                .shots
                .iter()
                .find_map(|s| s.ede.clone())
                .unwrap_or_default();
            let m = format!(
                "SERVFAIL+EDE 6 {bogus}/{n} ({ede_text}), slowest {slowest:.0?}; verifications per \
                 bogus response max {vmax} (failed {fmax}) over {} responses, budget {} (failed {}); \
                 {}; {hm}; www secure",
                bogus_checks.len(),
                l.dnssec_verifications_per_response,
                l.dnssec_failed_verifications_per_response,
                per_query_cpu(&run),
            );
            let mut why = Vec::new();
            if bogus != n {
                why.push(format!("not all SERVFAIL with EDE 6: {bad:?}"));
            }
            if bogus_checks.is_empty() {
                why.push("no `dnssec: checked` lines logged".into());
            }
            if vmax > u64::from(l.dnssec_verifications_per_response)
                || fmax > u64::from(l.dnssec_failed_verifications_per_response)
            {
                why.push("over the budget".into());
            }
            if !hok {
                why.push("the honest client was not answered".into());
            }
            if why.is_empty() {
                Ok(m)
            } else {
                Err(format!("{}: {m}", why.join("; ")))
            }
        })();
        t.record("12 KeyTrap", kind, tried, res);
    }
    Ok(())
}

/// A name of [`DEEP_LABELS`] labels under `zone`: `q<i>` then one-letter labels.
fn deep_name(i: usize, zone: &str) -> String {
    let zl = zone.trim_end_matches('.').split('.').count();
    let mut s = format!("q{i}.");
    for k in 0..DEEP_LABELS - 1 - zl {
        s.push(char::from(b'a' + (k % 26) as u8));
        s.push('.');
    }
    s + zone.trim_end_matches('.')
}

fn nsec3_item(lab: &Lab, r: &Resolver, mode: Mode, t: &mut Table) -> Result<()> {
    let (_, window, n) = sizes(mode);
    let l = engine::Limits::default();
    let kind = r.kind().name();
    for (zone, iterations, secure) in [
        (HIGH_ZONE, HIGH_ITERATIONS, false),
        (DEEP_ZONE, DEEP_ITERATIONS, true),
    ] {
        let z = zone.trim_end_matches('.');
        let tried = format!(
            "{n} NXDOMAIN names of {DEEP_LABELS} labels under {z} (NSEC3, {iterations} \
             iterations), {window} at once"
        );
        let res = (|| -> Result<String> {
            probe(lab, server(r), &format!("www.{z}"))?;
            let names = (0..n).map(|i| deep_name(i, zone)).collect();
            let run = measured(lab, r, names, window)?;
            // Insecure above the cap (EDE 27, no AD); validated at it (AD).
            let good = |s: &Shot| {
                s.rcode == Some(3)
                    && if secure {
                        s.ad
                    } else {
                        !s.ad && s.ede.as_deref().is_some_and(|e| e.starts_with("code 27"))
                    }
            };
            let ok = run.shots.iter().filter(|s| good(s)).count();
            let bad: Vec<_> = run.shots.iter().filter(|s| !good(s)).take(3).collect();
            let neg: Vec<_> = run.checks.iter().filter(|c| c.0 != "needs keys").collect();
            let hmax = neg.iter().map(|c| c.3).max().unwrap_or(0);
            let vmax = neg.iter().map(|c| c.1).max().unwrap_or(0);
            let slowest = run.shots.iter().map(|s| s.took).max().unwrap_or_default();
            let (hm, hok) = judge_honest(&run.honest);
            let what = if secure {
                "NXDOMAIN+AD".to_string()
            } else {
                format!(
                    "NXDOMAIN+EDE 27 ({})",
                    run.shots
                        .iter()
                        .find_map(|s| s.ede.clone())
                        .unwrap_or_default()
                )
            };
            let m = format!(
                "{what} {ok}/{n}, slowest {slowest:.0?}; NSEC3 hashes per response max {hmax} \
                 (budget {}), verifications max {vmax}; {}; {hm}",
                l.dnssec_nsec3_hashes_per_response,
                per_query_cpu(&run).replace("attack query", "query"),
            );
            let mut why = Vec::new();
            if ok != n {
                why.push(format!("wrong answers: {bad:?}"));
            }
            if hmax > u64::from(l.dnssec_nsec3_hashes_per_response) {
                why.push("over the hash budget".into());
            }
            if !secure && hmax > 0 {
                why.push("hashed above the iteration cap".into());
            }
            if !hok {
                why.push("the honest client was not answered".into());
            }
            if why.is_empty() {
                Ok(m)
            } else {
                Err(format!("{}: {m}", why.join("; ")))
            }
        })();
        t.record("13 NSEC3 cost", kind, tried, res);
    }
    Ok(())
}

/// Items 12 and 13 (as asked) against both builds, booted for them with forwarding
/// and trust anchors for the attacker's zones, one build after the other.
pub(super) fn dnssec_cost(
    lab: &mut Lab,
    mode: Mode,
    t: &mut Table,
    keytrap: bool,
    nsec3: bool,
) -> Result<()> {
    add_client_addrs(lab)?;
    let extra = attacker(lab)?;
    let hints = format!("--root-hints={}", lab.root_hints());
    let mut args = vec![hints.as_str(), "--stats-interval=1", "--log-level=debug"];
    args.extend(extra.iter().map(String::as_str));
    let mut resolvers = boot_both(lab, &args)?;
    for r in &resolvers {
        introduce(lab, server(r), "honest.bench.example")?;
    }
    for r in &resolvers {
        if keytrap {
            keytrap_item(lab, r, mode, t)?;
        }
        if nsec3 {
            nsec3_item(lab, r, mode, t)?;
        }
    }
    for r in &mut resolvers {
        super::still_running(r, t);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn junk_keys_hit_the_tag() {
        let mut rng = Rng(7);
        let rd = rsa_junk(&mut rng, 4711);
        assert_eq!(key_tag(&rd), 4711);
        assert_eq!(rd.len(), 4 + 5 + 512);
    }

    #[test]
    fn base64_round_trips() {
        for n in 0..10 {
            let b: Vec<u8> = (0..n).map(|i: u8| i.wrapping_mul(37)).collect();
            assert_eq!(b64_decode(&b64_encode(&b)), Some(b.clone()));
        }
        assert_eq!(b64_encode(b"any carnal pleas"), "YW55IGNhcm5hbCBwbGVhcw==");
    }

    #[test]
    fn deep_names_have_their_labels() {
        let n = deep_name(3, DEEP_ZONE);
        assert_eq!(n.split('.').count(), DEEP_LABELS);
        assert!(n.len() < 254);
    }

    #[test]
    fn reads_the_check_lines() {
        let log = "x\n[debug] dnssec: checked a A response from keytrap-rsa.test.: bogus, \
                   verifications 2 (failed 2), nsec3 hashes 0\n";
        assert_eq!(checks(log), vec![("bogus".to_string(), 2, 2, 0)]);
    }
}
