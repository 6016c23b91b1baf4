//! aarch64: Solo5's boot layout (PGD 0x1000, PUD 0x2000, four PMDs 0x3000-0x6fff, PTE
//! 0x7000; MMU on, EL1h) and MMIO hypercalls at 0x1_0000_0000 + 8 × nr. See `hvt-abi.md`
//! §4. Written from the v0.12.1 source and run under arm64 KVM (an emulated machine, see
//! `tests/src/aarch64.rs`).
//!
//! One addition to Solo5's layout: placeholder exception vectors at [`EARLY_VECTORS`].
//! Solo5 leaves VBAR_EL1 at 0, which is unmapped, so an exception before the guest
//! installs its own vectors (a wrong entry point, a fault in the start code) makes the
//! vCPU fault forever at EL1, inside `KVM_RUN`: a silent hang. The placeholders turn it
//! into an MMIO write at [`EARLY_TRAP_MMIO`] + 8 × vector, which the tender reports with
//! ESR/ELR/FAR (the x86_64 counterpart is the triple-fault exit).

#[cfg(target_arch = "aarch64")]
mod kvm;
#[cfg(target_arch = "aarch64")]
pub use kvm::Aarch64;

use hvt_abi::{AARCH64_HYPERCALL_MMIO_BASE, BOOT_INFO_BASE, GUEST_MIN_BASE, Hypercall};

use crate::exit::{Exit, Fatal};
use crate::mem::{GuestAccess, GuestMem};

pub const PGD_BASE: u64 = 0x1000;
pub const PUD_BASE: u64 = 0x2000;
pub const PMD_BASE: u64 = 0x3000;
pub const PTE_BASE: u64 = 0x7000;
/// The placeholder vector table: a page below the boot info that Solo5 leaves unused,
/// mapped read-only and EL1-executable. VBAR_EL1 points here at entry.
pub const EARLY_VECTORS: u64 = 0x8000;
/// Where the placeholder vector `v` (0..16) writes: `EARLY_TRAP_MMIO + 8 × v`, inside
/// the MMIO window but away from the hypercalls (0x1_0000_0008..) and Solo5's net-ring
/// kick (0x1_0000_0100).
pub const EARLY_TRAP_MMIO: u64 = 0x1_0000_f000;
/// Guest RAM ends where the MMIO window starts.
pub const MMIO_BASE: u64 = 0x1_0000_0000;
pub const MMIO_SIZE: u64 = 0x4000_0000;
pub const MAX_MEM: u64 = MMIO_BASE;

const GIB: u64 = 1 << 30;

// Descriptor bits (VMSAv8-64, 4 KiB granule).
const DESC_TABLE: u64 = 3;
const DESC_BLOCK: u64 = 1;
const DESC_PAGE: u64 = 3;
const AP_RDONLY: u64 = 1 << 7;
const SH_INNER: u64 = 3 << 8;
const AF: u64 = 1 << 10;
const PXN: u64 = 1 << 53;
const UXN: u64 = 1 << 54;
const fn attr_index(i: u64) -> u64 {
    i << 2
}
/// MAIR indices (see [`MAIR_EL1`]).
const MT_DEVICE_NGNRE: u64 = 1;
const MT_NORMAL: u64 = 4;

/// Pages of the boot-info area: Normal, read-only, never executable.
pub const PAGE_NORMAL_RO: u64 =
    DESC_PAGE | AF | SH_INNER | attr_index(MT_NORMAL) | PXN | UXN | AP_RDONLY;
/// The placeholder vector page: Normal, read-only, EL1-executable.
pub const PAGE_NORMAL_RO_EXEC: u64 =
    DESC_PAGE | AF | SH_INNER | attr_index(MT_NORMAL) | UXN | AP_RDONLY;
/// Pages from 0x100000: Normal, read/write, EL1-executable.
pub const PAGE_NORMAL_EXEC: u64 = DESC_PAGE | AF | SH_INNER | attr_index(MT_NORMAL) | UXN;
/// 2 MiB blocks of RAM: Normal, read/write, EL1-executable.
pub const BLOCK_NORMAL_EXEC: u64 = DESC_BLOCK | AF | SH_INNER | attr_index(MT_NORMAL) | UXN;
/// The 1 GiB MMIO block: Device-nGnRE, never executable.
pub const BLOCK_DEVICE: u64 = DESC_BLOCK | AF | SH_INNER | attr_index(MT_DEVICE_NGNRE) | PXN | UXN;

/// MAIR_EL1: Device-nGnRnE, Device-nGnRE, Device-GRE, Normal NC, Normal WB, Normal WT.
pub const MAIR_EL1: u64 = (0x04 << 8) | (0x0c << 16) | (0x44 << 24) | (0xff << 32) | (0xbb << 40);
/// TCR_EL1: 40-bit VA for TTBR0/1, WBWA inner/outer, inner shareable, 4 KiB granules,
/// 16-bit ASID, TBI0, 1 TiB IPA.
pub const TCR_EL1: u64 = (64 - 40)
    | ((64 - 40) << 16)
    | (1 << 8)
    | (1 << 24)
    | (1 << 10)
    | (1 << 26)
    | (3 << 12)
    | (3 << 28)
    | (2 << 30)
    | (1 << 36)
    | (1 << 37)
    | (2 << 32);
/// SCTLR_EL1 = M | C | I.
pub const SCTLR_EL1: u64 = (1 << 0) | (1 << 2) | (1 << 12);
/// PSTATE: D, A, I, F masked; EL1h.
pub const PSTATE: u64 = 0x3c5;
/// CPACR_EL1.FPEN (bits 21:20) = 0b11: FP/SIMD not trapped.
pub const CPACR_FPEN_MASK: u64 = 3 << 20;

/// `KVM_{GET,SET}_ONE_REG` register ids (arm64 uapi encoding).
pub mod reg {
    const ARM64: u64 = 0x6000_0000_0000_0000;
    const SIZE_U64: u64 = 0x0030_0000_0000_0000;
    const CORE: u64 = 0x0010 << 16;
    const SYSREG: u64 = 0x0013 << 16;

    /// A core register by its byte offset in `struct kvm_regs` (ids count 32-bit words).
    pub const fn core(offset: u64) -> u64 {
        ARM64 | SIZE_U64 | CORE | (offset / 4)
    }
    /// A system register by its encoding.
    pub const fn sys(op0: u64, op1: u64, crn: u64, crm: u64, op2: u64) -> u64 {
        ARM64 | SIZE_U64 | SYSREG | (op0 << 14) | (op1 << 11) | (crn << 7) | (crm << 3) | op2
    }

    // struct kvm_regs { user_pt_regs { regs[31], sp, pc, pstate }, sp_el1, ... }
    pub const X0: u64 = core(0);
    pub const PC: u64 = core(32 * 8);
    pub const PSTATE: u64 = core(33 * 8);
    pub const SP_EL1: u64 = core(34 * 8);
    pub const SCTLR_EL1: u64 = sys(3, 0, 1, 0, 0);
    pub const CPACR_EL1: u64 = sys(3, 0, 1, 0, 2);
    pub const TTBR0_EL1: u64 = sys(3, 0, 2, 0, 0);
    pub const TCR_EL1: u64 = sys(3, 0, 2, 0, 2);
    pub const MAIR_EL1: u64 = sys(3, 0, 10, 2, 0);
    pub const ESR_EL1: u64 = sys(3, 0, 5, 2, 0);
    pub const FAR_EL1: u64 = sys(3, 0, 6, 0, 0);
    pub const ELR_EL1: u64 = core(35 * 8);
    pub const VBAR_EL1: u64 = sys(3, 0, 12, 0, 0);
}

/// One placeholder vector entry (each is 0x80 bytes; the rest stays zero):
/// `movz x16, #lo; movk x16, #hi, lsl #16; movk x16, #1, lsl #32; str w16, [x16]; b .`,
/// a 32-bit register-indirect store (a valid syndrome, so KVM forwards it as MMIO).
pub fn early_vector_code(vector: u32) -> [u32; 5] {
    let addr = EARLY_TRAP_MMIO + 8 * u64::from(vector);
    let x16 = 16;
    let lo = (addr & 0xffff) as u32;
    let hi = ((addr >> 16) & 0xffff) as u32;
    [
        0xd280_0000 | (lo << 5) | x16,  // movz x16, #lo
        0xf2a0_0000 | (hi << 5) | x16,  // movk x16, #hi, lsl #16
        0xf2c0_0000 | (1 << 5) | x16,   // movk x16, #1, lsl #32
        0xb900_0000 | (x16 << 5) | x16, // str w16, [x16]
        0x1400_0000,                    // b .
    ]
}

/// Names an exception vector (0..16): its kind and where it came from.
pub fn vector_name(vector: u32) -> String {
    const KINDS: [&str; 4] = ["synchronous", "IRQ", "FIQ", "SError"];
    const ORIGINS: [&str; 4] = [
        "current EL with SP_EL0",
        "current EL with SP_ELx",
        "lower EL, AArch64",
        "lower EL, AArch32",
    ];
    let v = (vector & 0xf) as usize;
    format!("{} exception from {}", KINDS[v % 4], ORIGINS[v / 4])
}

/// Writes the identity map: RAM up to `mem.size()` and the MMIO window.
pub fn setup_memory(mem: &mut GuestMem) -> Result<(), GuestAccess> {
    let size = mem.size();
    mem.slice_mut(PGD_BASE, 0x7000)?.fill(0);
    for paddr in (BOOT_INFO_BASE..super::GUEST_BLOCK).step_by(0x1000) {
        let prot = if paddr < GUEST_MIN_BASE {
            PAGE_NORMAL_RO
        } else {
            PAGE_NORMAL_EXEC
        };
        mem.write_u64(PTE_BASE + paddr / 0x1000 * 8, paddr | prot)?;
    }
    mem.write_u64(
        PTE_BASE + EARLY_VECTORS / 0x1000 * 8,
        EARLY_VECTORS | PAGE_NORMAL_RO_EXEC,
    )?;
    for v in 0..16 {
        for (i, insn) in early_vector_code(v).into_iter().enumerate() {
            let at = EARLY_VECTORS + 0x80 * u64::from(v) + 4 * i as u64;
            mem.slice_mut(at, 4)?.copy_from_slice(&insn.to_le_bytes());
        }
    }
    mem.write_u64(PMD_BASE, PTE_BASE | DESC_TABLE)?;
    // The four PMD tables are contiguous, so 2 MiB block i is entry i of them all.
    for paddr in (super::GUEST_BLOCK..size).step_by(super::GUEST_BLOCK as usize) {
        mem.write_u64(
            PMD_BASE + paddr / super::GUEST_BLOCK * 8,
            paddr | BLOCK_NORMAL_EXEC,
        )?;
    }
    // One PUD entry per GiB of RAM actually present.
    let gibs = size.div_ceil(GIB);
    for i in 0..gibs {
        mem.write_u64(PUD_BASE + 8 * i, (PMD_BASE + 0x1000 * i) | DESC_TABLE)?;
    }
    for paddr in (MMIO_BASE..MMIO_BASE + MMIO_SIZE).step_by(GIB as usize) {
        mem.write_u64(PUD_BASE + paddr / GIB * 8, paddr | BLOCK_DEVICE)?;
    }
    mem.write_u64(PGD_BASE, PUD_BASE | DESC_TABLE)?;
    Ok(())
}

/// A hypercall is a 32-bit store of the argument's address to MMIO base + 8 × nr.
pub fn decode(exit: &Exit) -> Result<(u32, u64), Fatal> {
    match *exit {
        Exit::Mmio {
            addr,
            len: 4,
            write: true,
            value,
        } if (AARCH64_HYPERCALL_MMIO_BASE
            ..AARCH64_HYPERCALL_MMIO_BASE + 8 * u64::from(Hypercall::EXT_MAX))
            .contains(&addr) =>
        {
            Ok((
                ((addr - AARCH64_HYPERCALL_MMIO_BASE) >> 3) as u32,
                u64::from(value),
            ))
        }
        Exit::Mmio {
            addr,
            len: 4,
            write: true,
            ..
        } if (EARLY_TRAP_MMIO..EARLY_TRAP_MMIO + 16 * 8).contains(&addr) => {
            let vector = ((addr - EARLY_TRAP_MMIO) >> 3) as u32;
            Err(Fatal::EarlyException {
                what: vector_name(vector),
            })
        }
        Exit::Mmio {
            addr, len, write, ..
        } => Err(Fatal::MmioAccess { addr, len, write }),
        Exit::IoOut { port, size, .. } => Err(Fatal::PortAccess {
            port,
            size,
            write: true,
        }),
        Exit::IoIn { port, size } => Err(Fatal::PortAccess {
            port,
            size,
            write: false,
        }),
        ref other => Err(Fatal::common(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn register_ids_match_the_arm64_uapi() {
        // Values as used by other VMMs (e.g. `KVM_REG_ARM64 | KVM_REG_SIZE_U64 | ...`).
        assert_eq!(reg::X0, 0x6030_0000_0010_0000);
        assert_eq!(reg::PC, 0x6030_0000_0010_0040);
        assert_eq!(reg::PSTATE, 0x6030_0000_0010_0042);
        assert_eq!(reg::SP_EL1, 0x6030_0000_0010_0044);
        assert_eq!(reg::SCTLR_EL1, 0x6030_0000_0013_c080);
        assert_eq!(reg::CPACR_EL1, 0x6030_0000_0013_c082);
        assert_eq!(reg::TTBR0_EL1, 0x6030_0000_0013_c100);
        assert_eq!(reg::TCR_EL1, 0x6030_0000_0013_c102);
        assert_eq!(reg::MAIR_EL1, 0x6030_0000_0013_c510);
    }

    #[test]
    fn system_register_values_match_solo5() {
        assert_eq!(MAIR_EL1, 0x0000_bbff_440c_0400);
        assert_eq!(TCR_EL1, 0x0000_0032_b518_3518);
        assert_eq!(SCTLR_EL1, 0x1005);
    }

    #[test]
    fn page_tables_match_solo5_layout() {
        let mut mem = GuestMem::new(6 << 20).unwrap();
        setup_memory(&mut mem).unwrap();
        let r = |gpa| mem.read_u64(gpa).unwrap();
        assert_eq!(r(PGD_BASE), 0x2003);
        assert_eq!(r(PUD_BASE), 0x3003);
        assert_eq!(r(PUD_BASE + 8), 0, "one GiB of RAM: one PMD");
        assert_eq!(r(PUD_BASE + 4 * 8), 0x1_0000_0000 | BLOCK_DEVICE);
        assert_eq!(BLOCK_DEVICE, 0x0060_0000_0000_0705);
        assert_eq!(r(PMD_BASE), 0x7003);
        assert_eq!(r(PMD_BASE + 8), 0x20_0000 | BLOCK_NORMAL_EXEC);
        assert_eq!(BLOCK_NORMAL_EXEC, 0x0040_0000_0000_0711);
        assert_eq!(r(PMD_BASE + 24), 0);
        assert_eq!(r(PTE_BASE + 0xf * 8), 0);
        assert_eq!(r(PTE_BASE + 0x10 * 8), 0x10000 | PAGE_NORMAL_RO);
        assert_eq!(PAGE_NORMAL_RO, 0x0060_0000_0000_0793);
        assert_eq!(r(PTE_BASE + 0x100 * 8), 0x10_0000 | PAGE_NORMAL_EXEC);
        assert_eq!(PAGE_NORMAL_EXEC, 0x0040_0000_0000_0713);
    }

    #[test]
    fn placeholder_vectors_store_to_the_early_trap_window() {
        // Encodings as `llvm-mc -triple=aarch64 -show-encoding` gives them: movz x16, #0xf020; movk x16, #0x0,
        // lsl #16; movk x16, #0x1, lsl #32; str w16, [x16]; b .
        assert_eq!(
            early_vector_code(4),
            [
                0xd29e_0410,
                0xf2a0_0010,
                0xf2c0_0030,
                0xb900_0210,
                0x1400_0000
            ]
        );
        let mut mem = GuestMem::new(4 << 20).unwrap();
        setup_memory(&mut mem).unwrap();
        assert_eq!(
            mem.read_u64(PTE_BASE + 8 * 8).unwrap(),
            EARLY_VECTORS | PAGE_NORMAL_RO_EXEC
        );
        assert_eq!(PAGE_NORMAL_RO_EXEC, 0x0040_0000_0000_0793);
        assert_eq!(
            mem.read_u64(PTE_BASE + 7 * 8).unwrap(),
            0,
            "0x7000 stays unmapped"
        );
        assert_eq!(
            mem.read_u64(PTE_BASE + 9 * 8).unwrap(),
            0,
            "0x9000 stays unmapped"
        );
        assert_eq!(
            mem.slice(EARLY_VECTORS + 0x200, 4).unwrap(),
            0xd29e_0410u32.to_le_bytes()
        );
        let trap = Exit::Mmio {
            addr: EARLY_TRAP_MMIO + 8 * 4,
            len: 4,
            write: true,
            value: 0,
        };
        let Err(f) = decode(&trap) else { panic!() };
        assert!(
            f.to_string()
                .contains("synchronous exception from current EL with SP_ELx"),
            "{f}"
        );
        assert!(f.wants_registers());
    }

    #[test]
    fn page_tables_for_four_gib_fill_four_puds() {
        // Sparse: MAP_NORESERVE, only the table pages are touched.
        let mut mem = GuestMem::new(MAX_MEM).unwrap();
        setup_memory(&mut mem).unwrap();
        for i in 0..4 {
            assert_eq!(
                mem.read_u64(PUD_BASE + 8 * i).unwrap(),
                (PMD_BASE + 0x1000 * i) | 3
            );
        }
        assert_eq!(
            mem.read_u64(PUD_BASE + 32).unwrap(),
            MMIO_BASE | BLOCK_DEVICE
        );
        assert_eq!(
            mem.read_u64(PMD_BASE + 2047 * 8).unwrap(),
            (MAX_MEM - (2 << 20)) | BLOCK_NORMAL_EXEC
        );
    }

    #[test]
    fn hypercall_mmio_decodes_and_everything_else_is_fatal() {
        let w = |addr, len, value| Exit::Mmio {
            addr,
            len,
            write: true,
            value,
        };
        assert_eq!(decode(&w(0x1_0000_0010, 4, 0x1234)), Ok((2, 0x1234)));
        assert_eq!(decode(&w(0x1_0000_0040, 4, 0x10)), Ok((8, 0x10)));
        // The batch extension's numbers decode; whether they exist is the hypercall
        // layer's question (they do only when offered).
        assert_eq!(decode(&w(0x1_0000_0048, 4, 0x10)), Ok((9, 0x10)));
        assert!(matches!(
            decode(&w(0x1_0000_0050, 4, 0)),
            Err(Fatal::MmioAccess { .. })
        ));
        assert!(matches!(
            decode(&w(0x1_0000_0010, 8, 0)),
            Err(Fatal::MmioAccess { len: 8, .. })
        ));
        let read = Exit::Mmio {
            addr: 0x1_0000_0010,
            len: 4,
            write: false,
            value: 0,
        };
        assert!(matches!(
            decode(&read),
            Err(Fatal::MmioAccess { write: false, .. })
        ));
        assert!(matches!(
            decode(&w(0x0fff_fff8, 4, 0)),
            Err(Fatal::MmioAccess { .. })
        ));
        assert_eq!(decode(&Exit::Hlt), Err(Fatal::Hlt));
    }
}
