//! `cargo xtask test`: the README's test command, and all of CI. Completes the pinned
//! toolchain (targets, rustfmt, clippy; nightly for the fuzz smoke run) and installs the
//! Debian packages the end-to-end tests need (as the demo does), checks formatting, lints
//! the host code and the bare-metal code for both arches, builds what the tests boot —
//! the hvt image for both arches, the unix build and the tender, all release — and runs
//! the whole workspace's tests with the artifacts' paths in the environment.

use crate::arch::Arch;
use crate::cli::{Options, Profile};
use crate::{Result, build, build_tender, cargo, dist, error};

/// Seconds each fuzz target runs in the test command.
const FUZZ_SMOKE_SECONDS: u64 = 20;

/// The tools the end-to-end tests run (see `e2e::packages::TOOLS` for their packages).
pub const TOOLS: &[&str] = &[
    "ip",
    "ping",
    "nsd",
    "unbound",
    "dig",
    "dnsmasq",
    "dnsperf",
    "qemu-system-aarch64",
];

pub fn run(args: &[String]) -> Result<()> {
    // Everything after `--` goes to `cargo test` (e.g. a test name filter).
    let (ours, passthrough) = match args.iter().position(|a| a == "--") {
        Some(i) => (&args[..i], &args[i + 1..]),
        None => (args, &[][..]),
    };
    if let Some(a) = ours.first() {
        return Err(error(format_args!(
            "unknown option `{a}`: usage is `cargo xtask test [-- CARGO TEST ARGS]`"
        )));
    }
    crate::toolchain::ensure_complete()?;
    e2e::packages::require(TOOLS).map_err(error)?;
    // A filtered run is someone running a few tests: no lints, no fuzzing, no bench.
    if passthrough.is_empty() {
        lint()?;
    }
    let env = build_artifacts()?;
    let mut cmd = cargo::tool("cargo");
    cmd.args(["test", "--workspace"]).args(passthrough);
    for (k, v) in &env {
        cmd.env(k, v);
    }
    println!("running: cargo test --workspace {}", passthrough.join(" "));
    let status = cmd
        .status()
        .map_err(|e| error(format_args!("cannot run cargo test: {e}")))?;
    if !status.success() {
        return Err(error("tests failed (cargo's report is above)"));
    }
    if passthrough.is_empty() {
        // A smoke run of each fuzz target (the engine's and the tender's loader), so they
        // keep building and a shallow crash shows.
        for target in crate::fuzz::TARGETS {
            crate::fuzz::fuzz(target, FUZZ_SMOKE_SECONDS)?;
        }
        // The benchmark's short mode, so `cargo xtask bench` cannot rot unnoticed.
        println!("running: cargo xtask bench --short");
        crate::bench::run(&["--short".to_string()])?;
    }
    Ok(())
}

/// The static checks, cheapest first: formatting, clippy for the host (every crate, every
/// target kind) and clippy for the bare-metal targets (the solo5 platform's unsafe code
/// and `asm!` exist only there), all with warnings as errors, and the docs.
pub fn lint() -> Result<()> {
    let mut steps: Vec<Lint> = vec![
        Lint::new("fmt --all -- --check", None),
        Lint::new("clippy --workspace --all-targets -- -D warnings", None),
    ];
    for arch in [Arch::X86_64, Arch::Aarch64] {
        let t = arch.hvt_target();
        steps.push(Lint::new(
            &format!(
                "clippy -p platform -p resolver -p dnssec -p fetch --target {t} -- -D warnings"
            ),
            None,
        ));
    }
    steps.push(Lint::new(
        "doc --workspace --no-deps",
        Some(("RUSTDOCFLAGS", "-D warnings")),
    ));
    for step in steps {
        let shown = match step.env {
            Some((k, v)) => format!("{k}=\"{v}\" cargo {}", step.args.join(" ")),
            None => format!("cargo {}", step.args.join(" ")),
        };
        println!("running: {shown}");
        let ok = cargo::tool("cargo")
            .args(&step.args)
            .envs(step.env)
            .status()
            .map_err(|e| error(format_args!("cannot run cargo: {e}")))?
            .success();
        if !ok {
            return Err(error(format_args!(
                "`{shown}` failed (its report is above)"
            )));
        }
    }
    Ok(())
}

/// One static check: cargo's arguments and an environment variable it needs.
struct Lint {
    args: Vec<String>,
    env: Option<(&'static str, &'static str)>,
}

impl Lint {
    fn new(args: &str, env: Option<(&'static str, &'static str)>) -> Lint {
        Lint {
            args: words(args),
            env,
        }
    }
}

fn words(s: &str) -> Vec<String> {
    s.split_whitespace().map(str::to_string).collect()
}

/// Builds every artifact the end-to-end tests boot and returns the environment that
/// points the tests at them.
pub fn build_artifacts() -> Result<Vec<(String, String)>> {
    let host = Arch::host()?;
    let release = Profile::Release;
    // The other arch first, so that dist/resolver.hvt ends up being the host's image.
    for arch in [Arch::X86_64, Arch::Aarch64] {
        if arch != host {
            let img = build::build_hvt(arch, &release)?;
            print!("{}", img.summary());
        }
    }
    let img = build::build_hvt(host, &release)?;
    print!("{}", img.summary());
    let exe = cargo::build_linux_bin(host, &release, "resolver", "resolver")?;
    let unix = dist::arch_dir(host)?.join("resolver-unix");
    dist::install(&exe, &unix)?;
    let tender = build_tender::build(&Options {
        arch: host,
        target: None,
        profile: release,
    })?;
    // tests/tests/aarch64.rs boots the aarch64 image under an aarch64 tender.
    let a64_tender = build_tender::build(&Options {
        arch: Arch::Aarch64,
        target: None,
        profile: Profile::Release,
    })?;
    let stub_dns = crate::test_aarch64::build_stub_dns()?;
    let a64_image = dist::arch_dir(Arch::Aarch64)?.join("resolver.hvt");
    let show = |p: &std::path::Path| p.to_string_lossy().into_owned();
    Ok(vec![
        ("E2E_HVT_IMAGE".into(), show(&img.path)),
        ("E2E_UNIX_BIN".into(), show(&unix)),
        ("E2E_TENDER".into(), show(&tender)),
        ("E2E_AARCH64_IMAGE".into(), show(&a64_image)),
        ("E2E_AARCH64_TENDER".into(), show(&a64_tender)),
        ("E2E_AARCH64_STUB_DNS".into(), show(&stub_dns)),
    ])
}
