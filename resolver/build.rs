//! Links the unikernel (target_os = "none") with the hvt linker script of its arch.
//! Host builds (the unix resolver) link normally.

use std::env;
use std::path::PathBuf;

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    if env::var("CARGO_CFG_TARGET_OS").as_deref() != Ok("none") {
        return;
    }
    let arch = env::var("CARGO_CFG_TARGET_ARCH").expect("cargo sets CARGO_CFG_TARGET_ARCH");
    let manifest_dir =
        PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let script = manifest_dir
        .join("../platform/src/solo5/arch")
        .join(format!("{arch}.ld"));
    if !script.is_file() {
        panic!(
            "no hvt linker script for arch {arch}: {} is missing",
            script.display()
        );
    }
    println!("cargo::rerun-if-changed={}", script.display());
    println!("cargo::rustc-link-arg-bins=-T{}", script.display());
    // hvt checks 4 KiB alignment: a larger page size (64 KiB is rust-lld's aarch64
    // default) would align segments below 0x100000.
    println!("cargo::rustc-link-arg-bins=-zmax-page-size=0x1000");
    // Every input section must be named in the script (placed or discarded).
    println!("cargo::rustc-link-arg-bins=--orphan-handling=error");
}
