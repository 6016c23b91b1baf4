//! `cargo xtask fuzz [--seconds N] [TARGET…]`: runs the engine's cargo-fuzz targets
//! (`resolver/engine/fuzz`, libFuzzer, nightly) for N seconds each, default 600 (the ten
//! minutes a release wants). `cargo xtask test` runs each for a short smoke run.
//!
//! Needs the nightly toolchain (`rustup toolchain install nightly`) and cargo-fuzz,
//! which is installed from crates.io when it is missing.

use std::process::Command;
use std::time::Instant;

use crate::{Result, cargo, error};

/// The engine's fuzz targets.
pub const TARGETS: &[&str] = &["client_query", "upstream_response"];

pub fn run(args: &[String]) -> Result<()> {
    let mut seconds = 600u64;
    let mut targets: Vec<String> = Vec::new();
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
            t if TARGETS.contains(&t) => targets.push(t.to_string()),
            other => {
                return Err(error(format_args!(
                    "unknown fuzz target or option `{other}`: targets are {}",
                    TARGETS.join(", ")
                )));
            }
        }
    }
    if targets.is_empty() {
        targets = TARGETS.iter().map(|t| t.to_string()).collect();
    }
    for t in &targets {
        fuzz(t, seconds)?;
    }
    Ok(())
}

/// Runs one target for `seconds`; fails on a crash (libFuzzer's exit status).
pub fn fuzz(target: &str, seconds: u64) -> Result<()> {
    ensure_tools()?;
    let dir = cargo::workspace_root().join("resolver/engine/fuzz");
    println!("fuzzing {target} for {seconds} s");
    let start = Instant::now();
    let out = cargo::tool("cargo")
        .current_dir(&dir)
        .args(["+nightly", "fuzz", "run", "-O", "-a", target, "--"])
        .arg(format!("-max_total_time={seconds}"))
        .arg("-print_final_stats=1")
        .output()
        .map_err(|e| error(format_args!("cannot run cargo fuzz: {e}")))?;
    let log = String::from_utf8_lossy(&out.stderr);
    let runs = log
        .lines()
        .find_map(|l| l.strip_prefix("stat::number_of_executed_units:"))
        .map_or("?".to_string(), |n| n.trim().to_string());
    if !out.status.success() {
        let tail: Vec<&str> = log.lines().rev().take(40).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        return Err(error(format_args!(
            "fuzz target {target} failed after {:?} ({runs} runs):\n{}",
            start.elapsed(),
            tail.join("\n")
        )));
    }
    println!(
        "fuzz {target}: {runs} runs in {:.0?}, no crash",
        start.elapsed()
    );
    Ok(())
}

/// Nightly must be there; cargo-fuzz is installed if it is not.
fn ensure_tools() -> Result<()> {
    let nightly = cargo::tool("cargo")
        .args(["+nightly", "--version"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !nightly {
        return Err(error(
            "fuzzing needs the nightly toolchain: run `rustup toolchain install nightly`",
        ));
    }
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
