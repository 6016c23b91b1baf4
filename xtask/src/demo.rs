//! `cargo xtask demo`: the README's first command. Builds the unikernel and the tender,
//! starts a private lab internet (real NSD authoritative servers for a root, TLDs and a
//! few zones on documentation addresses, inside a network namespace), boots the image on
//! a TAP with `--root-hints` at the lab's root, digs through it — cold and cached,
//! A/AAAA/CNAME/NXDOMAIN, one over TCP — next to Unbound on the same lab, and tears it
//! all down. Needs root; no internet.

use std::time::{Duration, Instant};

use crate::arch::Arch;
use crate::cli::{Options, Profile};
use crate::{Result, build, build_tender, error};
use e2e::guest::{Guest, Kind};
use e2e::lab::{Lab, LabOptions, UNBOUND_ADDR};

/// (name, type, extra dig flags, what it shows)
const QUERIES: &[(&str, &str, &[&str], &str)] = &[
    (
        "www.shop.test",
        "A",
        &[],
        "cold: root → test. → shop.test. → CNAME into cdn.example.",
    ),
    ("www.shop.test", "A", &[], "cached"),
    (
        "www.cdn.example",
        "AAAA",
        &[],
        "AAAA, delegation already cached",
    ),
    ("alias.shop.test", "A", &[], "CNAME chain across zones"),
    (
        "www.glueless.test",
        "A",
        &[],
        "glueless delegation: the NS name is resolved first",
    ),
    (
        "nothing.shop.test",
        "A",
        &[],
        "NXDOMAIN (negative answer cached with the SOA)",
    ),
    ("mail.shop.test", "AAAA", &[], "NODATA"),
    (
        "big.shop.test",
        "TXT",
        &[],
        "40 records: truncated over UDP upstream, fetched over TCP",
    ),
    ("www.cdn.example", "A", &["+tcp"], "a client over TCP"),
];

pub fn run(args: &[String]) -> Result<()> {
    if let Some(a) = args.first() {
        return Err(error(format_args!(
            "unknown option `{a}`: `cargo xtask demo` takes none"
        )));
    }
    e2e::netns::require_root().map_err(error)?;
    e2e::packages::require(&["ip", "nsd", "unbound", "dig", "ping"]).map_err(error)?;

    let host = Arch::host()?;
    let image = build::build_hvt(host, &Profile::Release)?;
    print!("{}", image.summary());
    let tender = build_tender::build(&Options {
        arch: host,
        target: None,
        profile: Profile::Release,
    })?;
    // (Set before any thread starts.)
    unsafe_env("E2E_HVT_IMAGE", &image.path.to_string_lossy());
    unsafe_env("E2E_TENDER", &tender.to_string_lossy());

    println!("\nstarting the lab internet (NSD servers for ., test., example., shop.test., …)");
    let t = Instant::now();
    let lab = Lab::start(LabOptions {
        unbound: true,
        dhcp: false,
    })
    .map_err(error)?;
    println!(
        "lab up in {:?}; Unbound runs on {UNBOUND_ADDR} for comparison",
        t.elapsed()
    );

    let hints = format!("--root-hints={}", lab.root_hints());
    let args = [
        "--ipv4=10.53.0.2/24",
        "--ipv4-gateway=10.53.0.1",
        "--ipv6=fd53::2/64",
        "--ipv6-gateway=fd53::1",
        hints.as_str(),
    ];
    println!(
        "\nbooting: tender --mem=64 --net:service=tap0 {} {}",
        crate::dist::show(&image.path),
        args.join(" ")
    );
    let boot = Instant::now();
    let mut guest = Guest::boot(&lab, Kind::Hvt, 0, &args).map_err(error)?;
    guest
        .wait_for("ready: serving DNS", Duration::from_secs(30))
        .map_err(error)?;
    let ready = boot.elapsed();
    let boot_log = guest.output();
    for line in boot_log.lines() {
        println!("  | {line}");
    }
    println!("ready {ready:?} after the tender started\n");

    println!(
        "{:<20} {:<5} {:<9} {:>9} {:>9}  answer",
        "query", "type", "status", "unikernel", "unbound"
    );
    for (name, qtype, flags, what) in QUERIES {
        let mut dig_args: Vec<&str> = flags.to_vec();
        dig_args.extend([*name, *qtype]);
        let ours = lab.dig("10.53.0.2", &dig_args).map_err(error)?;
        let reference = lab.dig(UNBOUND_ADDR, &dig_args).map_err(error)?;
        let answer = if ours.answer.is_empty() {
            ours.authority.first().cloned().unwrap_or_default()
        } else {
            ours.answer.join(" | ")
        };
        println!(
            "{:<20} {:<5} {:<9} {:>7}ms {:>7}ms  {}",
            format!("{name}{}", if flags.is_empty() { "" } else { " (tcp)" }),
            qtype,
            ours.status,
            ours.query_ms.unwrap_or(0),
            reference.query_ms.unwrap_or(0),
            shorten(&answer, 70)
        );
        println!("{:<46}  ({what})", "");
        let same = ours.status == reference.status && ours.sections() == reference.sections();
        if !same {
            println!(
                "  !! differs from Unbound:\n{}\n{}",
                ours.raw, reference.raw
            );
        }
    }
    let log = guest.output();
    let tail: Vec<&str> = log.lines().skip(boot_log.lines().count()).collect();
    if !tail.is_empty() {
        println!("\nunikernel log since boot:");
        for line in tail {
            println!("  | {line}");
        }
    }
    drop(guest);
    drop(lab);
    println!("\nlab torn down; done.");
    Ok(())
}

fn shorten(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n).collect();
        t.push('…');
        t
    }
}

/// Sets an environment variable while the process is still single-threaded.
fn unsafe_env(key: &str, value: &str) {
    // SAFETY: called from the main thread before any other thread exists (the lab and
    // its helper threads start after this).
    unsafe { std::env::set_var(key, value) };
}
