//! aarch64 vCPU setup on KVM: preferred target, FP/SIMD untrapped, MMU on with Solo5's
//! MAIR/TCR/TTBR0/SCTLR, then PSTATE, SP_EL1, x0 and PC. Counter frequency from the host's
//! CNTFRQ_EL0.

use kvm_bindings::kvm_vcpu_init;
use kvm_ioctls::{Kvm, VcpuFd, VmFd};

use super::*;
use crate::arch::Cpu;
use crate::elf::EM_AARCH64;

/// The aarch64 host.
pub struct Aarch64;

fn set(vcpu: &VcpuFd, id: u64, value: u64, what: &str) -> Result<(), String> {
    vcpu.set_one_reg(id, &value.to_le_bytes())
        .map(|_| ())
        .map_err(|e| format!("KVM: setting {what} failed: {e}"))
}

fn get(vcpu: &VcpuFd, id: u64) -> Result<u64, kvm_ioctls::Error> {
    let mut b = [0u8; 8];
    vcpu.get_one_reg(id, &mut b)?;
    Ok(u64::from_le_bytes(b))
}

fn counter_frequency() -> u64 {
    let freq: u64;
    // SAFETY: reading CNTFRQ_EL0 is allowed at EL0 on Linux, has no side effects and
    // touches no memory.
    unsafe {
        core::arch::asm!("mrs {}, cntfrq_el0", out(reg) freq, options(nomem, nostack, preserves_flags));
    }
    freq
}

impl Cpu for Aarch64 {
    const NAME: &'static str = "aarch64";
    const ELF_MACHINE: u16 = EM_AARCH64;
    const MAX_MEM: u64 = MAX_MEM;
    const AUDIT_ARCH: u32 = 0xc000_00b7;

    fn setup_memory(mem: &mut GuestMem) -> Result<(), GuestAccess> {
        setup_memory(mem)
    }

    fn decode(exit: &Exit) -> Result<(u32, u64), Fatal> {
        decode(exit)
    }

    fn setup_vcpu(
        _kvm: &Kvm,
        vm: &VmFd,
        vcpu: &VcpuFd,
        _mem: &mut GuestMem,
        entry: u64,
        mem_size: u64,
    ) -> Result<u64, String> {
        let mut init = kvm_vcpu_init::default();
        vm.get_preferred_target(&mut init)
            .map_err(|e| format!("KVM: ioctl (KVM_ARM_PREFERRED_TARGET) failed: {e}"))?;
        vcpu.vcpu_init(&init)
            .map_err(|e| format!("KVM: ioctl (KVM_ARM_VCPU_INIT) failed: {e}"))?;

        let cpacr =
            get(vcpu, reg::CPACR_EL1).map_err(|e| format!("KVM: reading CPACR_EL1 failed: {e}"))?;
        set(
            vcpu,
            reg::CPACR_EL1,
            cpacr | CPACR_FPEN_MASK,
            "CPACR_EL1 (FP/SIMD enable)",
        )?;

        // MAIR before the tables are used, then TCR, TTBR0 and finally the MMU switch.
        set(vcpu, reg::MAIR_EL1, MAIR_EL1, "MAIR_EL1")?;
        set(vcpu, reg::TCR_EL1, TCR_EL1, "TCR_EL1")?;
        set(vcpu, reg::TTBR0_EL1, PGD_BASE, "TTBR0_EL1")?;
        set(vcpu, reg::SCTLR_EL1, SCTLR_EL1, "SCTLR_EL1")?;
        // Not in Solo5: placeholder vectors until the guest installs its own (see mod.rs).
        set(vcpu, reg::VBAR_EL1, EARLY_VECTORS, "VBAR_EL1")?;

        set(vcpu, reg::PSTATE, PSTATE, "PSTATE")?;
        set(vcpu, reg::SP_EL1, mem_size - 16, "SP_EL1")?;
        set(vcpu, reg::X0, BOOT_INFO_BASE, "x0")?;
        set(vcpu, reg::PC, entry, "PC")?;
        Ok(counter_frequency())
    }

    fn dump_regs(vcpu: &VcpuFd) -> String {
        let names = [
            ("pc", reg::PC),
            ("pstate", reg::PSTATE),
            ("sp_el1", reg::SP_EL1),
            ("x0", reg::X0),
            ("elr_el1", reg::ELR_EL1),
            ("esr_el1", reg::ESR_EL1),
            ("far_el1", reg::FAR_EL1),
            ("vbar_el1", reg::VBAR_EL1),
            ("sctlr_el1", reg::SCTLR_EL1),
        ];
        names
            .iter()
            .map(|(n, id)| match get(vcpu, *id) {
                Ok(v) => format!("{n}=0x{v:x}"),
                Err(_) => format!("{n}=?"),
            })
            .collect::<Vec<_>>()
            .join(" ")
    }
}
