//! x86_64 vCPU setup on KVM: Solo5's control registers, flat segments, CPUID passed
//! through, TSC frequency from `KVM_GET_TSC_KHZ`.

use kvm_bindings::{KVM_MAX_CPUID_ENTRIES, Msrs, kvm_msr_entry, kvm_segment};
use kvm_ioctls::{Cap, Kvm, VcpuFd, VmFd};

use super::*;
use crate::arch::Cpu;
use crate::elf::EM_X86_64;

/// The x86_64 host.
pub struct X86_64;

fn segment(selector: u16, type_: u8, long: bool) -> kvm_segment {
    kvm_segment {
        base: 0,
        limit: 0xffff_ffff,
        selector,
        type_,
        present: 1,
        dpl: 0,
        db: u8::from(!long),
        s: 1,
        l: u8::from(long),
        g: 1,
        avl: 0,
        unusable: 0,
        padding: 0,
    }
}

fn msr(index: u32, data: u64) -> Result<Msrs, String> {
    Msrs::from_entries(&[kvm_msr_entry {
        index,
        data,
        ..Default::default()
    }])
    .map_err(|e| format!("KVM: MSR list: {e:?}"))
}

/// Whether `/dev/kvm` is the `kvm_pvm` module: only it has the signature MSR, so on
/// VMX/SVM KVM the read returns no entry and the vCPU keeps Solo5's exact state.
fn is_pvm(vcpu: &VcpuFd) -> bool {
    let Ok(mut m) = msr(MSR_PVM_SIGNATURE, 0) else {
        return false;
    };
    matches!(vcpu.get_msrs(&mut m), Ok(1)) && m.as_slice()[0].data == PVM_SIGNATURE
}

/// On `kvm_pvm`, what lets the unchanged guest run natively instead of instruction by
/// instruction in KVM's emulator (docs/KVM-PVM.md): a registered VIF page and user-
/// accessible boot page tables. The architectural state stays Solo5's; exceptions still
/// go through the guest's IDT, and with none they are still a triple fault.
fn pvm_go_native(vcpu: &VcpuFd, mem: &mut GuestMem) -> Result<(), String> {
    mem.slice_mut(PVM_VIF_PAGE, 0x1000)
        .map_err(|e| e.to_string())?
        .fill(0);
    match vcpu.set_msrs(&msr(MSR_PVM_VIF, PVM_VIF_PAGE | PVM_VIF_ENABLE)?) {
        Ok(1) => pvm_user_tables(mem).map_err(|e| e.to_string()),
        // Refused: stay emulated (slow but correct) rather than fail the boot.
        Ok(_) => Ok(()),
        Err(e) => Err(format!("KVM: ioctl (SET_MSRS) failed: {e}")),
    }
}

impl Cpu for X86_64 {
    const NAME: &'static str = "x86_64";
    const ELF_MACHINE: u16 = EM_X86_64;
    const MAX_MEM: u64 = MAX_MEM;
    const AUDIT_ARCH: u32 = 0xc000_003e;

    fn setup_memory(mem: &mut GuestMem) -> Result<(), GuestAccess> {
        setup_memory(mem)
    }

    fn decode(exit: &Exit) -> Result<(u32, u64), Fatal> {
        decode(exit)
    }

    fn setup_vcpu(
        kvm: &Kvm,
        _vm: &VmFd,
        vcpu: &VcpuFd,
        mem: &mut GuestMem,
        entry: u64,
        mem_size: u64,
    ) -> Result<u64, String> {
        let cpuid = kvm
            .get_supported_cpuid(KVM_MAX_CPUID_ENTRIES)
            .map_err(|e| format!("KVM: ioctl (GET_SUPPORTED_CPUID) failed: {e}"))?;
        vcpu.set_cpuid2(&cpuid)
            .map_err(|e| format!("KVM: ioctl (SET_CPUID2) failed: {e}"))?;

        // Everything not set here is zero, as in Solo5's `struct kvm_sregs` initialiser.
        // The IDT stays at base 0, limit 0, as in Solo5: any exception before the guest
        // installs its own IDT is a triple fault.
        let data = segment(DATA_SELECTOR, 3, false);
        let sregs = kvm_bindings::kvm_sregs {
            cr0: CR0,
            cr3: PML4_BASE,
            cr4: CR4,
            efer: EFER,
            cs: segment(CODE_SELECTOR, 9, true),
            ss: data,
            ds: data,
            es: data,
            fs: data,
            gs: data,
            gdt: kvm_bindings::kvm_dtable {
                base: GDT_BASE,
                limit: GDT_LIMIT,
                ..Default::default()
            },
            // Busy 64-bit TSS at 0, limit 0; LDT unusable.
            tr: kvm_segment {
                type_: 11,
                present: 1,
                ..Default::default()
            },
            ldt: kvm_segment {
                unusable: 1,
                ..Default::default()
            },
            ..Default::default()
        };
        vcpu.set_sregs(&sregs)
            .map_err(|e| format!("KVM: ioctl (SET_SREGS) failed: {e}"))?;

        if !kvm.check_extension(Cap::GetTscKhz) {
            return Err("KVM: host does not support KVM_CAP_GET_TSC_KHZ".into());
        }
        let khz = vcpu.get_tsc_khz().map_err(|e| {
            if e.errno() == libc::EIO {
                "KVM: host TSC is unstable, cannot continue".to_string()
            } else {
                format!("KVM: ioctl (KVM_GET_TSC_KHZ) failed: {e}")
            }
        })?;

        let regs = kvm_bindings::kvm_regs {
            rip: entry,
            rflags: RFLAGS,
            // (rsp + 8) % 16 == 0: as if `_start` had just been called.
            rsp: mem_size - 8,
            rdi: BOOT_INFO_BASE,
            ..Default::default()
        };
        vcpu.set_regs(&regs)
            .map_err(|e| format!("KVM: ioctl (SET_REGS) failed: {e}"))?;
        if is_pvm(vcpu) {
            pvm_go_native(vcpu, mem)?;
        }
        Ok(u64::from(khz) * 1000)
    }

    fn dump_regs(vcpu: &VcpuFd) -> String {
        let r = match vcpu.get_regs() {
            Ok(r) => r,
            Err(e) => return format!("(registers unavailable: {e})"),
        };
        let mut s = format!(
            "rip=0x{:x} rsp=0x{:x} rbp=0x{:x} rflags=0x{:x}\n\
             rax=0x{:x} rbx=0x{:x} rcx=0x{:x} rdx=0x{:x} rsi=0x{:x} rdi=0x{:x}\n\
             r8=0x{:x} r9=0x{:x} r10=0x{:x} r11=0x{:x} r12=0x{:x} r13=0x{:x} r14=0x{:x} r15=0x{:x}",
            r.rip,
            r.rsp,
            r.rbp,
            r.rflags,
            r.rax,
            r.rbx,
            r.rcx,
            r.rdx,
            r.rsi,
            r.rdi,
            r.r8,
            r.r9,
            r.r10,
            r.r11,
            r.r12,
            r.r13,
            r.r14,
            r.r15
        );
        if let Ok(sr) = vcpu.get_sregs() {
            s.push_str(&format!(
                "\ncr0=0x{:x} cr2=0x{:x} cr3=0x{:x} cr4=0x{:x} efer=0x{:x} cs=0x{:x} ss=0x{:x} \
                 gdt=0x{:x}/{} idt=0x{:x}/{}",
                sr.cr0,
                sr.cr2,
                sr.cr3,
                sr.cr4,
                sr.efer,
                sr.cs.selector,
                sr.ss.selector,
                sr.gdt.base,
                sr.gdt.limit,
                sr.idt.base,
                sr.idt.limit
            ));
        }
        s
    }
}
