//! The architectures we build for, and the target triples each one means.

use crate::{Result, error};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arch {
    X86_64,
    Aarch64,
}

impl Arch {
    pub const ALL: [Arch; 2] = [Arch::X86_64, Arch::Aarch64];

    pub fn parse(s: &str) -> Result<Arch> {
        match s {
            "x86_64" | "amd64" | "x86-64" => Ok(Arch::X86_64),
            "aarch64" | "arm64" => Ok(Arch::Aarch64),
            _ => Err(error(format_args!(
                "unknown arch `{s}`: expected x86_64 or aarch64"
            ))),
        }
    }

    /// The machine xtask runs on.
    pub fn host() -> Result<Arch> {
        Arch::parse(std::env::consts::ARCH).map_err(|_| {
            error(format_args!(
                "unsupported host arch {}",
                std::env::consts::ARCH
            ))
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64",
            Arch::Aarch64 => "aarch64",
        }
    }

    /// The bare-metal target the unikernel is built for.
    pub fn hvt_target(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64-unknown-none",
            Arch::Aarch64 => "aarch64-unknown-none",
        }
    }

    /// The Linux target for host programs (tender, unix resolver) built for this arch on a
    /// machine of another arch: a static musl binary linked by rust-lld, so that no cross
    /// C toolchain is needed.
    pub fn cross_linux_target(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64-unknown-linux-musl",
            Arch::Aarch64 => "aarch64-unknown-linux-musl",
        }
    }

    /// Environment for cargo when building [`Arch::cross_linux_target`].
    pub fn cross_linux_env(self) -> [(&'static str, &'static str); 1] {
        match self {
            Arch::X86_64 => [("CARGO_TARGET_X86_64_UNKNOWN_LINUX_MUSL_LINKER", "rust-lld")],
            Arch::Aarch64 => [("CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_LINKER", "rust-lld")],
        }
    }

    /// `e_machine` of this arch's ELF files.
    pub fn elf_machine(self) -> u16 {
        match self {
            Arch::X86_64 => 62,
            Arch::Aarch64 => 183,
        }
    }
}

impl fmt::Display for Arch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
