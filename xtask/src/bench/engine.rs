//! Part 1: the engine's criterion cache-hit benchmark at several cache sizes.
//!
//! Runs `cargo bench -p engine --bench cache_hit` with `ENGINE_BENCH_NAMES`, reads the
//! allocation counts the bench prints and criterion's median from
//! `target/criterion/cache_hit_names/N/new/estimates.json`.

use super::Options;
use super::report::{EngineRow, PolicyRow};
use crate::{Result, cargo, error};

pub fn run(opts: &Options) -> Result<Vec<EngineRow>> {
    let sizes: Vec<String> = opts.engine_names.iter().map(u32::to_string).collect();
    let (warm, measure) = opts.engine_secs;
    let mut cmd = cargo::tool("cargo");
    cmd.current_dir(cargo::workspace_root())
        .args(["bench", "-p", "engine", "--bench", "cache_hit", "--"])
        .args(["cache_hit_names", "--noplot"])
        .arg(format!("--warm-up-time={warm}"))
        .arg(format!("--measurement-time={measure}"))
        .env("ENGINE_BENCH_NAMES", sizes.join(","));
    println!(
        "running: ENGINE_BENCH_NAMES={} cargo bench -p engine --bench cache_hit -- cache_hit_names \
         (its results print when it ends)",
        sizes.join(",")
    );
    let out = cmd
        .output()
        .map_err(|e| error(format_args!("cannot run cargo bench: {e}")))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(error(format_args!(
            "the engine benchmark failed ({}):\n{}\n{}",
            out.status,
            stdout,
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    let criterion = cargo::workspace_root()
        .join("target")
        .join("criterion")
        .join("cache_hit_names");
    let mut rows = Vec::new();
    for n in &opts.engine_names {
        let (allocs, bytes) = alloc_line(&stdout, *n).ok_or_else(|| {
            error(format_args!(
                "the engine benchmark printed no allocation line for {n} names:\n{stdout}"
            ))
        })?;
        let file = criterion
            .join(n.to_string())
            .join("new")
            .join("estimates.json");
        let json = std::fs::read_to_string(&file)
            .map_err(|e| error(format_args!("{}: {e}", file.display())))?;
        let median_ns = median_point_estimate(&json)
            .ok_or_else(|| error(format_args!("{}: no median estimate", file.display())))?;
        println!(
            "  {n:>8} names: median {median_ns:.0} ns per hit, {allocs:.1} allocations ({bytes:.0} B) per hit"
        );
        rows.push(EngineRow {
            names: *n,
            median_ns,
            allocs_per_hit: allocs,
            bytes_per_hit: bytes,
        });
    }
    Ok(rows)
}

/// The policy bench's cases, in the order they print: no policy at all, the defaults
/// (local zones, rebinding filter), the defaults with a million blocked domains.
pub const POLICY_CASES: [&str; 3] = ["no_policy", "defaults", "defaults_1m_blocked"];

/// Part "policy": `cargo bench -p engine --bench policy_hit`, what the policy stage
/// adds to a cache hit (issue 15), each case's criterion median.
pub fn policy(opts: &Options) -> Result<Vec<PolicyRow>> {
    bench(
        opts,
        "engine",
        "policy_hit",
        &["policy_hit"],
        "the policy benchmark",
    )?;
    let criterion = cargo::workspace_root()
        .join("target")
        .join("criterion")
        .join("policy_hit");
    let mut rows = Vec::new();
    for case in POLICY_CASES {
        let median_ns = median_of(&criterion.join(case))?;
        println!("  {case:>20}: median {median_ns:.0} ns per hit");
        rows.push(PolicyRow { case, median_ns });
    }
    Ok(rows)
}

/// Runs `cargo bench -p PKG --bench BENCH -- FILTER… --noplot` with the run's criterion
/// times; `what` names it in the error.
fn bench(opts: &Options, pkg: &str, bench: &str, filter: &[&str], what: &str) -> Result<()> {
    let (warm, measure) = opts.engine_secs;
    let mut cmd = cargo::tool("cargo");
    cmd.current_dir(cargo::workspace_root())
        .args(["bench", "-p", pkg, "--bench", bench, "--"])
        .args(filter)
        .arg("--noplot")
        .arg(format!("--warm-up-time={warm}"))
        .arg(format!("--measurement-time={measure}"));
    println!(
        "running: cargo bench -p {pkg} --bench {bench} -- {}",
        filter.join(" ")
    );
    let out = cmd
        .output()
        .map_err(|e| error(format_args!("cannot run cargo bench: {e}")))?;
    if !out.status.success() {
        return Err(error(format_args!(
            "{what} failed ({}):\n{}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    Ok(())
}

/// Criterion's median for the benchmark whose directory is `dir`.
fn median_of(dir: &std::path::Path) -> Result<f64> {
    let file = dir.join("new").join("estimates.json");
    let json = std::fs::read_to_string(&file)
        .map_err(|e| error(format_args!("{}: {e}", file.display())))?;
    median_point_estimate(&json)
        .ok_or_else(|| error(format_args!("{}: no median estimate", file.display())))
}

/// The DNSSEC bench's cases (`resolver/dnssec/benches/verify.rs`), criterion ids:
/// one RRset verification per algorithm, an NSEC3 hash, a DS digest.
pub const DNSSEC_CASES: [&str; 9] = [
    "verify/5-rsasha1",
    "verify/8-rsasha256",
    "verify/10-rsasha512",
    "verify/13-ecdsap256",
    "verify/14-ecdsap384",
    "verify/15-ed25519",
    "nsec3_hash/0",
    "nsec3_hash/150",
    "ds_digest/sha256",
];

/// Part "dnssec": `cargo bench -p dnssec --bench verify`, the cost of one signature
/// verification per algorithm (issue 17), each case's criterion median.
pub fn dnssec(opts: &Options) -> Result<Vec<PolicyRow>> {
    bench(opts, "dnssec", "verify", &[], "the DNSSEC benchmark")?;
    let criterion = cargo::workspace_root().join("target").join("criterion");
    let mut rows = Vec::new();
    for case in DNSSEC_CASES {
        // A function id (not a group) is criterion's directory with `/` as `_`.
        let median_ns = median_of(&criterion.join(case.replace('/', "_")))?;
        println!("  {case:>22}: median {median_ns:.0} ns");
        rows.push(PolicyRow { case, median_ns });
    }
    Ok(rows)
}

/// `engine-bench: names=N allocs_per_hit=A bytes_per_hit=B` → (A, B).
fn alloc_line(stdout: &str, n: u32) -> Option<(f64, f64)> {
    let prefix = format!("engine-bench: names={n} ");
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix(prefix.as_str()))?;
    let field = |k: &str| -> Option<f64> {
        line.split_whitespace()
            .find_map(|w| w.strip_prefix(k))
            .and_then(|v| v.parse().ok())
    };
    Some((field("allocs_per_hit=")?, field("bytes_per_hit=")?))
}

/// The `median.point_estimate` of criterion's `estimates.json`, without a JSON parser:
/// the file is criterion's own, flat and stable.
fn median_point_estimate(json: &str) -> Option<f64> {
    let rest = &json[json.find("\"median\":")?..];
    let rest = &rest[rest.find("\"point_estimate\":")? + "\"point_estimate\":".len()..];
    let end = rest.find([',', '}'])?;
    rest[..end].trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_criterion_and_bench_output() {
        let json = r#"{"mean":{"confidence_interval":{"lower_bound":1.0},"point_estimate":1788.5,"standard_error":2.2},"median":{"confidence_interval":{"confidence_level":0.95,"lower_bound":1779.7,"upper_bound":1788.3},"point_estimate":1783.25,"standard_error":2.1}}"#;
        assert_eq!(median_point_estimate(json), Some(1783.25));
        let out = "x\nengine-bench: names=1000 allocs_per_hit=13.00 bytes_per_hit=3889\n";
        assert_eq!(alloc_line(out, 1000), Some((13.0, 3889.0)));
        assert_eq!(alloc_line(out, 100), None);
    }
}
