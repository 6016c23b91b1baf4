//! `cargo xtask fuzz [--seconds N] [TARGET…]`: runs the project's cargo-fuzz targets
//! (libFuzzer, nightly) for N seconds each, default 600 (the ten minutes a release
//! wants): the engine's (`resolver/engine/fuzz`: any bytes from a client or an upstream)
//! the list fetcher's (`resolver/fetch/fuzz`: any bytes as an HTTP response or a
//! blocklist) and the tender's loader (`tender/fuzz`: any bytes as an hvt image or a
//! manifest).
//! `cargo xtask test` runs each for a short smoke run.
//!
//! Needs the nightly toolchain (`rustup toolchain install nightly`) and cargo-fuzz,
//! which is installed from crates.io when it is missing.

use std::process::Command;
use std::time::Instant;

use crate::{Result, cargo, error};

/// One cargo-fuzz target.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    /// The fuzz crate, relative to the workspace root.
    pub dir: &'static str,
    /// The target's name in that crate.
    pub name: &'static str,
    /// libFuzzer's `-malloc_limit_mb`: a single allocation above it is a failure.
    pub malloc_limit_mb: Option<u32>,
}

/// Every fuzz target of the project.
///
/// The engine's targets run with a 2 MB cap on any one allocation: a 12-byte header
/// claiming 65535 questions once made the engine reserve 5.8 MB for them, which halted
/// a small hvt image (under this cap the fuzzer found such a header within a minute);
/// nothing one packet does needs more.
/// The tender's loader allocates guest-sized buffers by design, so it has no such cap.
pub const TARGETS: &[Target] = &[
    Target {
        dir: "resolver/engine/fuzz",
        name: "client_query",
        malloc_limit_mb: Some(2),
    },
    Target {
        dir: "resolver/engine/fuzz",
        name: "upstream_response",
        malloc_limit_mb: Some(2),
    },
    Target {
        dir: "resolver/engine/fuzz",
        name: "validated_response",
        malloc_limit_mb: Some(2),
    },
    Target {
        dir: "resolver/dnssec/fuzz",
        name: "rdata",
        malloc_limit_mb: None,
    },
    Target {
        dir: "resolver/dnssec/fuzz",
        name: "validate",
        malloc_limit_mb: None,
    },
    Target {
        dir: "resolver/fetch/fuzz",
        name: "http_response",
        malloc_limit_mb: Some(2),
    },
    Target {
        dir: "resolver/fetch/fuzz",
        name: "blocklist",
        malloc_limit_mb: Some(2),
    },
    Target {
        dir: "tender/fuzz",
        name: "elf_image",
        malloc_limit_mb: None,
    },
    Target {
        dir: "tender/fuzz",
        name: "manifest",
        malloc_limit_mb: None,
    },
];

/// The tender's targets (item 8 of `cargo xtask torture`).
pub fn tender_targets() -> impl Iterator<Item = &'static Target> {
    TARGETS.iter().filter(|t| t.dir == "tender/fuzz")
}

pub fn run(args: &[String]) -> Result<()> {
    let mut seconds = 600u64;
    let mut targets: Vec<&Target> = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let (key, inline) = match a.split_once('=') {
            Some((k, v)) => (k, Some(v.to_string())),
            None => (a.as_str(), None),
        };
        match key {
            "--seconds" => {
                let v = inline
                    .or_else(|| it.next().cloned())
                    .ok_or_else(|| error("--seconds needs a value"))?;
                seconds =
                    v.parse().ok().filter(|s| *s > 0).ok_or_else(|| {
                        error(format_args!("--seconds: `{v}` is not a number > 0"))
                    })?;
            }
            t => match TARGETS.iter().find(|x| x.name == t) {
                Some(x) => targets.push(x),
                None => {
                    return Err(error(format_args!(
                        "unknown fuzz target or option `{t}`: targets are {}",
                        TARGETS
                            .iter()
                            .map(|x| x.name)
                            .collect::<Vec<_>>()
                            .join(", ")
                    )));
                }
            },
        }
    }
    if targets.is_empty() {
        targets = TARGETS.iter().collect();
    }
    for t in targets {
        fuzz(t, seconds)?;
    }
    Ok(())
}

/// Runs one target for `seconds` and returns how many inputs it ran; fails on a crash,
/// a panic or an allocation over the target's cap (libFuzzer's exit status).
pub fn fuzz(target: &Target, seconds: u64) -> Result<u64> {
    ensure_tools()?;
    let dir = cargo::workspace_root().join(target.dir);
    let name = target.name;
    println!("fuzzing {name} ({}) for {seconds} s", target.dir);
    let start = Instant::now();
    let mut cmd = cargo::tool("cargo");
    cmd.current_dir(&dir)
        .args(["+nightly", "fuzz", "run", "-O", "-a", name, "--"])
        .arg(format!("-max_total_time={seconds}"))
        .arg("-print_final_stats=1");
    if let Some(mb) = target.malloc_limit_mb {
        cmd.arg(format!("-malloc_limit_mb={mb}"));
    }
    let out = cmd
        .output()
        .map_err(|e| error(format_args!("cannot run cargo fuzz: {e}")))?;
    let log = String::from_utf8_lossy(&out.stderr);
    let runs = log
        .lines()
        .find_map(|l| l.strip_prefix("stat::number_of_executed_units:"))
        .and_then(|n| n.trim().parse::<u64>().ok());
    let shown = runs.map_or("?".to_string(), |n| n.to_string());
    if !out.status.success() {
        let tail: Vec<&str> = log.lines().rev().take(40).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        return Err(error(format_args!(
            "fuzz target {name} failed after {:.0?} ({shown} runs):\n{}",
            start.elapsed(),
            tail.join("\n")
        )));
    }
    println!(
        "fuzz {name}: {shown} runs in {:.0?}, no crash",
        start.elapsed()
    );
    Ok(runs.unwrap_or(0))
}

/// Nightly and cargo-fuzz are installed if they are not.
fn ensure_tools() -> Result<()> {
    crate::toolchain::ensure_nightly()?;
    let have = cargo::tool("cargo")
        .args(["+nightly", "fuzz", "--version"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if have {
        return Ok(());
    }
    println!("installing cargo-fuzz from crates.io");
    let ok = Command::new("cargo")
        .args(["install", "cargo-fuzz", "--locked"])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if ok {
        Ok(())
    } else {
        Err(error("`cargo install cargo-fuzz --locked` failed"))
    }
}
