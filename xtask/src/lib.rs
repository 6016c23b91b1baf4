//! The project's build pipeline, in the cargo-xtask pattern: `cargo xtask <command>`.
//!
//! One module per subcommand; shared pieces are [`arch`] (the `Arch` enum that owns the
//! target triples), [`cargo`] (a nested cargo with a clean environment) and [`toolchain`]
//! (adds what `rust-toolchain.toml` pins and rustup did not install). Images are read back
//! with the tender's own loader checks (`tender::elf`).

pub mod arch;
pub mod bench;
pub mod build;
pub mod build_tender;
pub mod cargo;
pub mod cli;
pub mod demo;
pub mod dist;
pub mod fuzz;
pub mod run;
pub mod test;
pub mod test_aarch64;
pub mod toolchain;
pub mod torture;

use std::fmt;

pub const USAGE: &str = "\
usage: cargo xtask <command> [options]

commands:
  build         build the resolver
                  --arch x86_64|aarch64   (default: the host's)
                  --target hvt|unix       (default: hvt; unix = the resolver as a Linux program)
                  --release | --profile P (default: dev)
                writes dist/<arch>/resolver.hvt and dist/resolver.hvt
                (unix: dist/<arch>/resolver-unix)
  build-tender  build the Rust hvt tender for a KVM host
                  --arch x86_64|aarch64   (aarch64: static, aarch64-unknown-linux-musl)
                  --release | --profile P
                writes dist/<arch>/tender
  run           build for the host and boot the resolver on an existing TAP
                  --target hvt|unix  --tap TAP (default tap0)  --mem MIB (default 64)
                  --tender tender|solo5-hvt (default: solo5-hvt if on PATH)
                  --release | --profile P   -- BOOT ARGS
  demo          build, start a private lab internet (NSD, Unbound), boot the unikernel
                in it and dig through it; tears everything down (root, no internet)
  test          all of CI: adds what rust-toolchain.toml pins and is missing (targets,
                rustfmt, clippy; nightly for fuzzing), installs the Debian packages
                the end-to-end tests need, checks fmt, clippy (host and both
                bare-metal targets) and docs, builds both images, the unix build and
                the tender (release), runs `cargo test --workspace`, a fuzz smoke run
                and `bench --short`
                  -- ARGS                 passed on to cargo test (skips the lints,
                                          fuzzing and bench)
  fuzz          run the fuzz targets of the engine, the DNSSEC validator, the list
                fetcher and the tender's loader (nightly + cargo-fuzz); `test` runs
                each for 20 s
                  --seconds N (default 600)  [client_query] [upstream_response]
                  [validated_response] [rdata] [validate] [http_response] [blocklist]
                  [elf_image] [manifest]
  bench         the performance table: builds release images, starts the lab, runs
                the engine's criterion benches (cache hit, policy), one DNSSEC verification per
                algorithm, a million-line block
                list loading in each build while a client asks, dnsperf against hvt (tender, and
                solo5-hvt if on PATH), unix and Unbound, the exit-cost limit, cold
                recursion over delayed links and the footprint; prints one table and
                writes target/bench/bench.{md,json,svg} (root, no internet)
                  --parts engine,policy,dnssec,lists,cached,exits,cold,footprint   (default: all)
                  --duration S  --clients 1,4,16,64  --names N  --engine-names 1000,…
                  --delay MS  --cold-names N  --boots N  --out DIR
                  --list-lines N (default 1000000)  --list-runs N (default 3)
                  --short                 a few seconds per part (what `test` runs)
  test-aarch64  boot the aarch64 image for real: builds it, the aarch64 tender and
                stub-dns (release), fetches Debian's arm64 kernel and busybox, and
                boots them in QEMU (TCG, EL2) with KVM inside; the unikernel must
                answer ping and a DNS query (needs qemu-system-arm, installed if root)
                  --timeout SECONDS       bound on the emulated machine (default 300)
  torture       hostile clients, dead and slow upstreams, bad boot arguments against both
                builds in the lab, and the tender's hostile-guest test and loader
                fuzzing; prints one table of what held (root)
                  --long                  the issue's sizes (default: the short mode CI runs)
                  --items 3,5,…           only these items (1-11; 8 = tender, 10 = NXNS,
                                          11 = TCP slowloris)
                  --fuzz-seconds N        per tender fuzz target (default 20, long 300)
  help          this text";

/// An error that ends the task: printed as one line, exit status 1.
#[derive(Debug)]
pub struct Error(pub String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

pub type Result<T> = std::result::Result<T, Error>;

/// Builds an [`Error`] from anything printable.
pub fn error(msg: impl fmt::Display) -> Error {
    Error(msg.to_string())
}

/// Runs the command line (without the program name).
pub fn run(args: &[String]) -> Result<()> {
    let Some((command, rest)) = args.split_first() else {
        println!("{USAGE}");
        return Ok(());
    };
    match command.as_str() {
        "build" => build::run(rest),
        "build-tender" => build_tender::run(rest),
        "test" => test::run(rest),
        "test-aarch64" => test_aarch64::run(rest),
        "demo" => demo::run(rest),
        "run" => run::run(rest),
        "fuzz" => fuzz::run(rest),
        "bench" => bench::run(rest),
        "torture" => torture::run(rest),
        "help" | "--help" | "-h" => {
            println!("{USAGE}");
            Ok(())
        }
        other => Err(error(format_args!(
            "unknown command `{other}` (try `cargo xtask help`)"
        ))),
    }
}
