//! Architecture support behind one switch and one trait.
//!
//! Each architecture has a portable part (guest page tables and exit decoding, plain
//! functions over guest memory and [`Exit`] values, compiled and unit-tested on every
//! host) and a KVM part (vCPU registers), compiled only on that architecture. This file
//! and the per-arch modules are the only places that name a `target_arch`.

pub mod aarch64;
pub mod x86_64;

use kvm_ioctls::{Kvm, VcpuFd, VmFd};

use crate::exit::{Exit, Fatal};
use crate::mem::GuestMem;

/// Guest memory is a multiple of 2 MiB on both architectures.
pub const GUEST_BLOCK: u64 = hvt_abi::GUEST_MEM_ALIGN;

/// What the tender needs from an architecture.
pub trait Cpu {
    /// Name printed in messages ("x86_64", "aarch64").
    const NAME: &'static str;
    /// The ELF `e_machine` this architecture loads.
    const ELF_MACHINE: u16;
    /// Largest guest memory.
    const MAX_MEM: u64;
    /// `AUDIT_ARCH_*` of this architecture, for the seccomp filter.
    const AUDIT_ARCH: u32;

    /// Writes the guest's boot page tables (and GDT on x86_64) into low memory.
    fn setup_memory(mem: &mut GuestMem) -> Result<(), crate::mem::GuestAccess>;

    /// Turns an exit into a hypercall `(nr, argument gpa)`, or the fatal reason.
    fn decode(exit: &Exit) -> Result<(u32, u64), Fatal>;

    /// Puts the vCPU in the Solo5 boot state (entry at `entry`, stack at the top of
    /// `mem_size`, boot info in the first argument register). Returns the tick frequency
    /// in Hz for `cpu_cycle_freq`. Runs after `setup_memory`; `mem` is there for host
    /// quirks that need the boot tables adjusted (x86_64 on `kvm_pvm`).
    fn setup_vcpu(
        kvm: &Kvm,
        vm: &VmFd,
        vcpu: &VcpuFd,
        mem: &mut GuestMem,
        entry: u64,
        mem_size: u64,
    ) -> Result<u64, String>;

    /// Registers for a fatal-exit report (one or a few lines).
    fn dump_regs(vcpu: &VcpuFd) -> String;
}

#[cfg(target_arch = "x86_64")]
/// The architecture this tender runs.
pub type Host = x86_64::X86_64;

#[cfg(target_arch = "aarch64")]
/// The architecture this tender runs.
pub type Host = aarch64::Aarch64;

/// Rounds a requested guest memory size as Solo5 does: down to a 2 MiB multiple, at least
/// 2 MiB, at most `max`. Returns the size and whether it differs from the request.
pub fn guest_mem_size(requested: u64, max: u64) -> Result<(u64, bool), String> {
    let mut mem = requested / GUEST_BLOCK * GUEST_BLOCK;
    if mem == 0 {
        mem = GUEST_BLOCK;
    }
    if mem > max {
        return Err(format!(
            "guest memory size {mem} bytes exceeds the max size {max} bytes"
        ));
    }
    Ok((mem, mem != requested))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mem_size_rounds_like_solo5() {
        const MB: u64 = 1 << 20;
        assert_eq!(guest_mem_size(512 * MB, 4096 * MB), Ok((512 * MB, false)));
        assert_eq!(guest_mem_size(3 * MB, 4096 * MB), Ok((2 * MB, true)));
        assert_eq!(guest_mem_size(MB, 4096 * MB), Ok((2 * MB, true)));
        assert_eq!(guest_mem_size(4096 * MB, 4096 * MB), Ok((4096 * MB, false)));
        assert!(guest_mem_size(4098 * MB, 4096 * MB).is_err());
    }
}
