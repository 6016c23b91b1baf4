//! `cargo xtask build-tender`: the Rust hvt tender (package `tender`) for a KVM host of the
//! given arch, copied to `dist/<arch>/tender`.

use crate::cli::{self, Options};
use crate::{Result, dist, error};
use std::path::PathBuf;

pub fn run(args: &[String]) -> Result<()> {
    let options = cli::parse(args, false)?;
    let out = build(&options)?;
    let size = std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0);
    println!(
        "built {}: {}, tender for {} KVM hosts, {} profile",
        dist::show(&out),
        dist::size(size),
        options.arch,
        options.profile.name()
    );
    Ok(())
}

/// Builds the tender and installs it; returns the installed path.
pub fn build(options: &Options) -> Result<PathBuf> {
    let exe = crate::cargo::build_linux_bin(options.arch, &options.profile, "tender", "tender")?;
    let out = dist::arch_dir(options.arch)?.join("tender");
    dist::install(&exe, &out)?;
    if !out.is_file() {
        return Err(error(format_args!("{} was not written", out.display())));
    }
    Ok(out)
}
