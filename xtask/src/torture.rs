//! `cargo xtask torture [--long] [--items 3,5,…] [--fuzz-seconds N]`: the torture run of
//! ISSUE 8 against the hvt image under the tender and the unix build, in the lab, plus
//! the tender's own hardening (the hostile-guest test and the loader fuzz targets in
//! `tender/fuzz`). Prints one table of what was tried and what held, and fails if any
//! property did not hold.
//!
//! The short mode is what `cargo xtask test` runs (as the test `tests/tests/torture.rs`,
//! without the fuzzing); `--long` takes the sizes the issue asks for and runs on demand.
//! Builds only the host's artifacts (release), as the tests boot them.

use std::time::Instant;

use e2e::torture::{self, Mode, Table};

use crate::arch::Arch;
use crate::cli::{Options, Profile};
use crate::{Result, build, build_tender, cargo, dist, error};

pub fn run(args: &[String]) -> Result<()> {
    let mut mode = Mode::Short;
    let mut items: Vec<u8> = Vec::new();
    let mut fuzz_seconds: Option<u64> = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let (key, inline) = match a.split_once('=') {
            Some((k, v)) => (k, Some(v.to_string())),
            None => (a.as_str(), None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| it.next().cloned())
                .ok_or_else(|| error(format_args!("{key} needs a value")))
        };
        match key {
            "--long" => mode = Mode::Long,
            "--short" => mode = Mode::Short,
            "--items" => {
                let v = value()?;
                for n in v.split(',') {
                    let n: u8 = n
                        .trim()
                        .parse()
                        .map_err(|_| error(format_args!("--items: `{n}` is not an item number")))?;
                    if n != 8 && !torture::ITEMS.iter().any(|(i, _)| *i == n) {
                        return Err(error(format_args!(
                            "--items: no item {n}; items are 8 (tender) and {}",
                            torture::ITEMS
                                .iter()
                                .map(|(i, name)| format!("{i} ({name})"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        )));
                    }
                    items.push(n);
                }
            }
            "--fuzz-seconds" => {
                let v = value()?;
                fuzz_seconds =
                    Some(v.parse().map_err(|_| {
                        error(format_args!("--fuzz-seconds: `{v}` is not a number"))
                    })?);
            }
            other => {
                return Err(error(format_args!(
                    "unknown option `{other}`: usage is `cargo xtask torture [--long] \
                     [--items 3,5,…] [--fuzz-seconds N]`"
                )));
            }
        }
    }
    let start = Instant::now();
    e2e::packages::require(crate::test::TOOLS).map_err(error)?;
    let mut table = Table::default();
    let want = |n: u8| items.is_empty() || items.contains(&n);
    if want(8) {
        let secs = fuzz_seconds.unwrap_or(if mode == Mode::Long { 300 } else { 20 });
        tender_hardening(&mut table, secs)?;
    }
    let lab_items: Vec<u8> = items.iter().copied().filter(|n| *n != 8).collect();
    if items.is_empty() || !lab_items.is_empty() {
        build_host_artifacts()?;
        let t = torture::run(mode, &lab_items).map_err(error)?;
        table.rows.extend(t.rows);
    }
    println!(
        "\ntorture ({} mode, {:.0?}):\n{}",
        if mode == Mode::Long { "long" } else { "short" },
        start.elapsed(),
        table.render()
    );
    let failed = table.failures().len();
    if failed > 0 {
        return Err(error(format_args!(
            "{failed} torture properties did not hold (the rows marked NO above)"
        )));
    }
    Ok(())
}

/// The host's hvt image, unix build and tender, release, in `dist/<arch>/` where the
/// lab looks for them.
fn build_host_artifacts() -> Result<()> {
    let host = Arch::host()?;
    let img = build::build_hvt(host, &Profile::Release)?;
    print!("{}", img.summary());
    let exe = cargo::build_linux_bin(host, &Profile::Release, "resolver", "resolver")?;
    dist::install(&exe, &dist::arch_dir(host)?.join("resolver-unix"))?;
    build_tender::build(&Options {
        arch: host,
        target: None,
        profile: Profile::Release,
    })?;
    Ok(())
}

/// Item 8: the hostile guest (a tender test) and each loader fuzz target for `secs`.
fn tender_hardening(table: &mut Table, secs: u64) -> Result<()> {
    let t = Instant::now();
    let out = cargo::tool("cargo")
        .current_dir(cargo::workspace_root())
        .args(["test", "--release", "-p", "tender", "--test", "hostile"])
        .output()
        .map_err(|e| error(format_args!("cannot run cargo test: {e}")))?;
    let log = String::from_utf8_lossy(&out.stdout);
    let passed = log
        .lines()
        .find(|l| l.starts_with("test result:"))
        .unwrap_or("no test result")
        .to_string();
    let res = if out.status.success() {
        Ok(format!("{passed} ({:.0?})", t.elapsed()))
    } else {
        Err(format!(
            "{passed}: {}",
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .rev()
                .take(15)
                .collect::<Vec<_>>()
                .join(" | ")
        ))
    };
    table.record(
        "8 hostile guest",
        "tender",
        "bad pointers/lengths to all 8 hypercalls".into(),
        res,
    );
    for target in crate::fuzz::tender_targets() {
        let res = crate::fuzz::fuzz(target, secs)
            .map(|runs| format!("{runs} runs, no crash, no panic"))
            .map_err(|e| {
                let lines: Vec<&str> = e.0.lines().collect();
                lines[lines.len().saturating_sub(12)..].join(" | ")
            });
        table.record(
            "8 loader fuzz",
            "tender",
            format!("{}, {secs} s of libFuzzer", target.name),
            res,
        );
    }
    Ok(())
}
