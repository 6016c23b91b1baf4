//! `cargo xtask test-aarch64`: proves the aarch64 image by booting it. Builds the release
//! aarch64 `resolver.hvt`, the static aarch64 tender and `stub-dns`, then boots them in an
//! emulated arm64 machine with KVM (`e2e::aarch64`, which `tests/tests/aarch64.rs` also
//! runs): the unikernel must answer ping and a DNS query forwarded through it, and its
//! exception vectors must report a fault. Prints the measured figures.

use std::path::PathBuf;
use std::time::Duration;

use crate::arch::Arch;
use crate::cli::{Options, Profile};
use crate::{Result, build, build_tender, cargo, dist, error};

pub fn run(args: &[String]) -> Result<()> {
    let mut timeout = e2e::aarch64::DEFAULT_TIMEOUT;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let v = match a.split_once('=') {
            Some(("--timeout", v)) => v.to_string(),
            None if a == "--timeout" => it
                .next()
                .cloned()
                .ok_or_else(|| error("--timeout needs a value in seconds"))?,
            _ => {
                return Err(error(format_args!(
                    "unknown option `{a}`: usage is `cargo xtask test-aarch64 [--timeout SECONDS]`"
                )));
            }
        };
        let secs = v
            .parse::<u64>()
            .map_err(|_| error(format_args!("--timeout: `{v}` is not a number of seconds")))?;
        timeout = Duration::from_secs(secs);
    }
    let art = build_artifacts()?;
    let r = e2e::aarch64::run(&art, "xtask", timeout).map_err(error)?;
    println!(
        "aarch64: PASS — {} booted under emulated arm64 KVM\n  \
         emulated machine boot (QEMU start to /init): {:.2} s\n  \
         tender start to `ready:`: {:.2} s, to first ping answer: {:.2} s\n  \
         {}\n  whole run: {:.1} s; console in {}",
        dist::show(&art.image),
        r.machine_boot.as_secs_f64(),
        r.boot_to_ready.as_secs_f64(),
        r.boot_to_ping.as_secs_f64(),
        r.hypercalls,
        r.total.as_secs_f64(),
        dist::show(&r.log),
    );
    Ok(())
}

/// Builds (release) what the aarch64 boot test needs: `dist/aarch64/resolver.hvt`,
/// `dist/aarch64/tender` and `dist/aarch64/stub-dns`.
pub fn build_artifacts() -> Result<e2e::aarch64::Artifacts> {
    let arch = Arch::Aarch64;
    let release = Profile::Release;
    let image = build::build_hvt(arch, &release)?;
    print!("{}", image.summary());
    Ok(e2e::aarch64::Artifacts {
        image: image.path,
        tender: build_tender::build(&Options {
            arch,
            target: None,
            profile: release.clone(),
        })?,
        stub_dns: build_stub_dns()?,
    })
}

/// `stub-dns` (the e2e crate's one-zone DNS server) as a static aarch64 Linux program.
pub fn build_stub_dns() -> Result<PathBuf> {
    let exe = cargo::build_linux_bin(Arch::Aarch64, &Profile::Release, "e2e", "stub-dns")?;
    let out = dist::arch_dir(Arch::Aarch64)?.join("stub-dns");
    dist::install(&exe, &out)?;
    Ok(out)
}
