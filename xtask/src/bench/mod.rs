//! `cargo xtask bench`: the performance table of issue 7.
//!
//! Builds the release images, starts the lab internet and measures, in one run:
//! 1. **engine** — the criterion cache-hit benchmark (`resolver/engine/benches/cache_hit.rs`)
//!    at several cache sizes: median ns and allocations per hit;
//!    and **policy**, the criterion policy-hit benchmark (`benches/policy_hit.rs`): what
//!    the policy stage adds to a cache hit, with nothing, the defaults, 1 M blocked domains;
//!    **dnssec**, the DNSSEC crate's criterion bench (`resolver/dnssec/benches/verify.rs`):
//!    one RRset verification per algorithm, an NSEC3 hash, a DS digest;
//!    and **lists**: a million-line block list served by the lab's nginx, fetched, parsed
//!    and made live by each build while a client keeps asking (load time, answer times);
//! 2. **cached** — dnsperf against every system on the same lab and the same query file
//!    of cached names, at several client counts: qps, p50/p99 latency, ratio to Unbound;
//! 3. **exits** — VM exits per answered query (the tender's counters) and the cost of one
//!    exit (`--bench-hypercalls` in the guest), hence the qps that exits alone allow;
//! 4. **cold** — fresh names through a lab whose links carry a per-hop delay (a
//!    user-space relay, `e2e::relay`): time to answer and upstream queries per answer;
//! 5. **footprint** — image size per arch, boot-to-first-answer, smallest `--mem`.
//!
//! It prints one table and writes it to `target/bench/` as `bench.md`, `bench.json` and
//! `bench.svg`. `--short` is the few-seconds-per-part mode that `cargo xtask test` runs
//! so the benchmark cannot rot.

mod engine;
mod lab;
mod report;

use std::path::PathBuf;
use std::time::Duration;

use crate::arch::Arch;
use crate::cli::{Options as BuildOptions, Profile};
use crate::{Result, build, build_tender, cargo, dist, error};
pub use report::Report;

/// The parts, in the order they run and print.
pub const PARTS: [&str; 8] = [
    "engine",
    "policy",
    "dnssec",
    "lists",
    "cached",
    "exits",
    "cold",
    "footprint",
];

/// What to measure and for how long.
#[derive(Debug, Clone)]
pub struct Options {
    /// Which of [`PARTS`] to run.
    pub parts: Vec<String>,
    /// Seconds of each dnsperf run.
    pub duration: u32,
    /// dnsperf client counts (concurrent queries).
    pub clients: Vec<u32>,
    /// Client counts also measured with the bench's own closed-loop client (dnsperf is
    /// paced by its own wake-ups at one or four outstanding queries).
    pub closed_loop: Vec<u32>,
    /// Distinct cached names in the query file.
    pub names: u32,
    /// Cache sizes (names) of the engine benchmark.
    pub engine_names: Vec<u32>,
    /// Criterion's warm-up and measurement seconds per cache size.
    pub engine_secs: (f64, f64),
    /// Round-trip delay added to every upstream link in the cold test.
    pub delay: Duration,
    /// Cold names asked per system.
    pub cold_names: u32,
    /// Boots timed for boot-to-first-answer.
    pub boots: u32,
    /// `--mem` values (MiB) to search for the smallest that serves; tried in order until
    /// the first failure (going down) or first success (going up).
    pub mem_down: Vec<u32>,
    pub mem_up: Vec<u32>,
    /// Hypercalls the guest times at boot.
    pub hypercalls: u32,
    /// Lines of the big block list, and loads measured per system.
    pub list_lines: u32,
    pub list_runs: u32,
    /// Where the outputs go.
    pub out_dir: PathBuf,
}

impl Options {
    /// The default run: a few minutes.
    pub fn default_run() -> Options {
        Options {
            parts: PARTS.iter().map(|s| s.to_string()).collect(),
            duration: 5,
            clients: vec![1, 4, 16, 64],
            closed_loop: vec![1, 4],
            names: 100,
            engine_names: vec![1_000, 100_000, 1_000_000],
            engine_secs: (1.0, 3.0),
            delay: Duration::from_millis(20),
            cold_names: 30,
            boots: 10,
            mem_down: vec![32, 16, 8, 4, 2],
            mem_up: vec![48, 64, 128],
            hypercalls: 20_000,
            list_lines: 1_000_000,
            list_runs: 3,
            out_dir: crate::cargo::workspace_root().join("target").join("bench"),
        }
    }

    /// `--short`: each part for a few seconds (CI).
    pub fn short_run() -> Options {
        Options {
            duration: 1,
            clients: vec![1, 16],
            closed_loop: vec![1],
            names: 20,
            engine_names: vec![1_000, 10_000],
            engine_secs: (0.2, 0.5),
            cold_names: 5,
            boots: 2,
            mem_down: vec![32],
            mem_up: vec![],
            hypercalls: 2_000,
            list_lines: 100_000,
            list_runs: 1,
            ..Options::default_run()
        }
    }

    fn wants(&self, part: &str) -> bool {
        self.parts.iter().any(|p| p == part)
    }
}

/// Parses the command line (see the usage text in `lib.rs`).
pub fn parse(args: &[String]) -> Result<Options> {
    let short = args.iter().any(|a| a == "--short");
    let mut o = if short {
        Options::short_run()
    } else {
        Options::default_run()
    };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        if arg == "--short" {
            continue;
        }
        let (key, inline) = match arg.split_once('=') {
            Some((k, v)) => (k, Some(v.to_string())),
            None => (arg.as_str(), None),
        };
        let value = inline
            .or_else(|| it.next().cloned())
            .ok_or_else(|| error(format_args!("{key} needs a value")))?;
        let num = |v: &str| -> Result<u32> {
            v.parse()
                .map_err(|_| error(format_args!("{key}: `{v}` is not a number")))
        };
        let list = |v: &str| -> Result<Vec<u32>> { v.split(',').map(num).collect() };
        match key {
            "--parts" => {
                let parts: Vec<String> = value.split(',').map(str::to_string).collect();
                if let Some(p) = parts.iter().find(|p| !PARTS.contains(&p.as_str())) {
                    return Err(error(format_args!(
                        "--parts: unknown part `{p}` (parts: {})",
                        PARTS.join(",")
                    )));
                }
                o.parts = parts;
            }
            "--duration" => o.duration = num(&value)?.max(1),
            "--clients" => o.clients = list(&value)?,
            "--closed-loop" => {
                o.closed_loop = if value.is_empty() {
                    Vec::new()
                } else {
                    list(&value)?
                }
            }
            "--names" => o.names = num(&value)?.max(1),
            "--engine-names" => o.engine_names = list(&value)?,
            "--delay" => o.delay = Duration::from_millis(u64::from(num(&value)?)),
            "--cold-names" => o.cold_names = num(&value)?.max(1),
            "--boots" => o.boots = num(&value)?.max(1),
            "--list-lines" => o.list_lines = num(&value)?.max(1),
            "--list-runs" => o.list_runs = num(&value)?.max(1),
            "--out" => o.out_dir = PathBuf::from(value),
            _ => {
                return Err(error(format_args!(
                    "unknown option `{arg}` (try `cargo xtask help`)"
                )));
            }
        }
    }
    Ok(o)
}

/// The built artifacts a run uses.
pub struct Artifacts {
    pub hvt: PathBuf,
    pub unix: PathBuf,
    pub tender: PathBuf,
    /// (arch, image path) for every arch, for the footprint.
    pub images: Vec<(Arch, PathBuf)>,
}

pub fn run(args: &[String]) -> Result<()> {
    let opts = parse(args)?;
    let needs_lab = opts
        .parts
        .iter()
        .any(|p| ["lists", "cached", "exits", "cold", "footprint"].contains(&p.as_str()));
    if needs_lab {
        e2e::netns::require_root().map_err(error)?;
        e2e::packages::require(&["ip", "nsd", "unbound", "dig", "dnsperf"]).map_err(error)?;
    }
    let artifacts = build_all()?;
    // The tender prints its hypercall counters when it stops; the exits part reads them.
    // (Set before any thread starts.)
    // SAFETY: still single-threaded here: no lab, relay or helper thread exists yet.
    unsafe {
        std::env::set_var("TENDER_STATS", "1");
        std::env::set_var("E2E_HVT_IMAGE", &artifacts.hvt);
        std::env::set_var("E2E_UNIX_BIN", &artifacts.unix);
        std::env::set_var("E2E_TENDER", &artifacts.tender);
    }
    let report = measure(&opts, &artifacts)?;
    let text = report.table();
    println!("\n{text}");
    let written = report.write(&opts.out_dir)?;
    println!("written: {}", written.join(", "));
    Ok(())
}

/// Runs the chosen parts.
pub fn measure(opts: &Options, artifacts: &Artifacts) -> Result<Report> {
    let mut r = Report::new(opts);
    if opts.wants("engine") {
        println!("\n== engine: criterion cache-hit benchmark");
        r.engine = engine::run(opts)?;
    }
    if opts.wants("policy") {
        println!("\n== policy: what the policy stage adds to a cache hit");
        r.policy = engine::policy(opts)?;
    }
    if opts.wants("dnssec") {
        println!("\n== dnssec: one signature verification per algorithm");
        r.dnssec = engine::dnssec(opts)?;
    }
    if opts.wants("lists") {
        println!(
            "\n== lists: a {}-line block list loads while a client asks",
            opts.list_lines
        );
        lab::lists(opts, &mut r)?;
    }
    if opts.wants("cached") || opts.wants("exits") || opts.wants("footprint") {
        lab::cached_exits_footprint(opts, artifacts, &mut r)?;
    }
    if opts.wants("cold") {
        println!(
            "\n== cold: fresh names through a lab with {:?} per hop",
            opts.delay
        );
        lab::cold(opts, &mut r)?;
    }
    Ok(r)
}

/// Builds the release images for both arches (the host's last), the unix build and the
/// tender.
fn build_all() -> Result<Artifacts> {
    let host = Arch::host()?;
    let mut images = Vec::new();
    for arch in [Arch::X86_64, Arch::Aarch64] {
        if arch != host {
            let img = build::build_hvt(arch, &Profile::Release)?;
            images.push((arch, img.path));
        }
    }
    let img = build::build_hvt(host, &Profile::Release)?;
    images.push((host, img.path.clone()));
    images.sort_by_key(|(a, _)| a.name());
    let exe = cargo::build_linux_bin(host, &Profile::Release, "resolver", "resolver")?;
    let unix = dist::arch_dir(host)?.join("resolver-unix");
    dist::install(&exe, &unix)?;
    let tender = build_tender::build(&BuildOptions {
        arch: host,
        target: None,
        profile: Profile::Release,
    })?;
    Ok(Artifacts {
        hvt: img.path,
        unix,
        tender,
        images,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn parses_options() {
        let o = parse(&args("--short --parts engine,cold --clients=2,8 --delay 5")).unwrap();
        assert_eq!(o.parts, ["engine", "cold"]);
        assert_eq!(o.clients, [2, 8]);
        assert_eq!(o.delay, Duration::from_millis(5));
        assert_eq!(o.duration, 1);
        let d = parse(&[]).unwrap();
        assert_eq!(d.parts.len(), PARTS.len());
        assert_eq!(d.clients, [1, 4, 16, 64]);
        assert!(parse(&args("--parts nope")).is_err());
        assert!(parse(&args("--clients x")).is_err());
        assert!(parse(&args("--frobnicate 1")).is_err());
    }
}
