//! x86_64: Solo5's boot layout (0.9+: GDT at 0x1000, PML4 0x2000, PDPT 0x3000, four PDs
//! at 0x4000-0x7fff, PT0 at 0x8000) and port-I/O hypercalls. See `hvt-abi.md` §3.

#[cfg(target_arch = "x86_64")]
mod kvm;
#[cfg(target_arch = "x86_64")]
pub use kvm::X86_64;

use hvt_abi::{BOOT_INFO_BASE, GUEST_MIN_BASE, Hypercall, X86_HYPERCALL_PIO_BASE};

use crate::exit::{Exit, Fatal};
use crate::mem::{GuestAccess, GuestMem};

pub const GDT_BASE: u64 = 0x1000;
pub const PML4_BASE: u64 = 0x2000;
pub const PDPT_BASE: u64 = 0x3000;
pub const PD_BASE: u64 = 0x4000;
pub const PT0_BASE: u64 = 0x8000;
/// Largest guest memory: four page directories of 512 × 2 MiB.
pub const MAX_MEM: u64 = 4 << 30;

const P: u64 = 1 << 0;
const RW: u64 = 1 << 1;
const US: u64 = 1 << 2;
const PS: u64 = 1 << 7;

/// `kvm_pvm` (docs/KVM-PVM.md): a read-only vCPU MSR that holds [`PVM_SIGNATURE`] on that
/// module and does not exist on VMX/SVM KVM.
pub const MSR_PVM_SIGNATURE: u32 = 0x4b56_4d11;
/// "PVM" as the module reports it.
pub const PVM_SIGNATURE: u64 = 0x4d_5650;
/// `kvm_pvm`: registers the vCPU's virtual-interrupt-flag page (guest-physical address |
/// [`PVM_VIF_ENABLE`]). A supervisor-mode vCPU runs natively only once one is registered.
pub const MSR_PVM_VIF: u32 = 0x4b56_4d10;
/// The flag the module's own reset value of [`MSR_PVM_VIF`] carries; with it a host write
/// of a page address is accepted.
pub const PVM_VIF_ENABLE: u64 = 1 << 10;
/// The page the tender registers: in the 0x9000-0xffff hole Solo5 leaves unused and
/// unmapped, so the guest can neither see nor clobber it.
pub const PVM_VIF_PAGE: u64 = 0x9000;

/// CR0 = PE | NE | WP | PG.
pub const CR0: u64 = 0x8001_0021;
/// CR4 = PAE | OSFXSR | OSXMMEXCPT.
pub const CR4: u64 = 0x620;
/// EFER = LME | LMA.
pub const EFER: u64 = 0x500;
pub const RFLAGS: u64 = 0x2;
/// GDT selectors (index × 8).
pub const CODE_SELECTOR: u16 = 0x08;
pub const DATA_SELECTOR: u16 = 0x10;
/// 64-bit code: base 0, limit 0xfffff pages, type 9, S, P, L, G.
pub const CODE_DESC: u64 = 0x00af_9900_0000_ffff;
/// Data: base 0, limit 0xfffff pages, type 3, S, P, D/B, G.
pub const DATA_DESC: u64 = 0x00cf_9300_0000_ffff;
/// GDTR limit: three descriptors.
pub const GDT_LIMIT: u16 = 3 * 8 - 1;

/// Writes the boot GDT and the identity-mapping page tables for `mem.size()` bytes.
pub fn setup_memory(mem: &mut GuestMem) -> Result<(), GuestAccess> {
    let size = mem.size();
    for (i, d) in [0, CODE_DESC, DATA_DESC].into_iter().enumerate() {
        mem.write_u64(GDT_BASE + 8 * i as u64, d)?;
    }
    mem.slice_mut(PML4_BASE, 0x7000)?.fill(0);
    mem.write_u64(PML4_BASE, PDPT_BASE | P | RW)?;
    // All four PDPT entries are filled whatever the memory size, as upstream does.
    for i in 0..4 {
        mem.write_u64(PDPT_BASE + 8 * i, (PD_BASE + 0x1000 * i) | P | RW)?;
    }
    mem.write_u64(PD_BASE, PT0_BASE | P | RW)?;
    // First 2 MiB in 4 KiB pages: nothing below the boot info, the boot-info area
    // read-only, the rest read/write.
    for paddr in (BOOT_INFO_BASE..super::GUEST_BLOCK).step_by(0x1000) {
        let flags = if paddr < GUEST_MIN_BASE { P } else { P | RW };
        mem.write_u64(PT0_BASE + paddr / 0x1000 * 8, paddr | flags)?;
    }
    // The rest in 2 MiB pages; the four PDs are contiguous.
    for paddr in (super::GUEST_BLOCK..size).step_by(super::GUEST_BLOCK as usize) {
        mem.write_u64(
            PD_BASE + paddr / super::GUEST_BLOCK * 8,
            paddr | P | RW | PS,
        )?;
    }
    Ok(())
}

/// `kvm_pvm` runs the guest natively only from page tables whose entries all allow user
/// access (without U/S the first native instruction fetch re-faults forever). Sets U/S on
/// every present entry of the boot tables (PML4, PDPT, the four PDs, PT0). Read/write
/// permissions are unchanged, and the guest has neither SMEP nor SMAP enabled, so the
/// guest sees the same memory as under Solo5's tables.
pub fn pvm_user_tables(mem: &mut GuestMem) -> Result<(), GuestAccess> {
    for gpa in (PML4_BASE..PT0_BASE + 0x1000).step_by(8) {
        let e = mem.read_u64(gpa)?;
        if e & P != 0 {
            mem.write_u64(gpa, e | US)?;
        }
    }
    Ok(())
}

/// A hypercall is a 32-bit `out` to 0x500 + nr carrying the argument's address.
pub fn decode(exit: &Exit) -> Result<(u32, u64), Fatal> {
    match *exit {
        Exit::IoOut {
            port,
            size: 4,
            value,
        } if port >= X86_HYPERCALL_PIO_BASE
            && u32::from(port) < u32::from(X86_HYPERCALL_PIO_BASE) + Hypercall::EXT_MAX =>
        {
            Ok((u32::from(port - X86_HYPERCALL_PIO_BASE), u64::from(value)))
        }
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
        Exit::Mmio {
            addr, len, write, ..
        } => Err(Fatal::MmioX86 { addr, len, write }),
        Exit::Shutdown => Err(Fatal::TripleFault),
        ref other => Err(Fatal::common(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_tables_match_solo5_layout() {
        let mut mem = GuestMem::new(6 << 20).unwrap();
        setup_memory(&mut mem).unwrap();
        let r = |gpa| mem.read_u64(gpa).unwrap();
        assert_eq!(r(GDT_BASE), 0);
        assert_eq!(r(GDT_BASE + 8), 0x00af_9900_0000_ffff);
        assert_eq!(r(GDT_BASE + 16), 0x00cf_9300_0000_ffff);
        assert_eq!(r(PML4_BASE), 0x3003);
        assert_eq!(
            [
                r(PDPT_BASE),
                r(PDPT_BASE + 8),
                r(PDPT_BASE + 16),
                r(PDPT_BASE + 24)
            ],
            [0x4003, 0x5003, 0x6003, 0x7003]
        );
        assert_eq!(r(PDPT_BASE + 32), 0);
        assert_eq!(r(PD_BASE), 0x8003);
        assert_eq!(r(PD_BASE + 8), 0x20_0083);
        assert_eq!(r(PD_BASE + 16), 0x40_0083);
        assert_eq!(r(PD_BASE + 24), 0, "6 MiB maps three 2 MiB pages only");
        assert_eq!(r(PT0_BASE), 0, "zero page not present");
        assert_eq!(r(PT0_BASE + 0xf * 8), 0, "page tables not present");
        assert_eq!(r(PT0_BASE + 0x10 * 8), 0x10001, "boot info read-only");
        assert_eq!(r(PT0_BASE + 0xff * 8), 0xff001);
        assert_eq!(r(PT0_BASE + 0x100 * 8), 0x10_0003);
        assert_eq!(r(PT0_BASE + 0x1ff * 8), 0x1f_f003);
    }

    #[test]
    fn pvm_tables_gain_user_bit_and_nothing_else() {
        let mut mem = GuestMem::new(6 << 20).unwrap();
        setup_memory(&mut mem).unwrap();
        pvm_user_tables(&mut mem).unwrap();
        let r = |gpa| mem.read_u64(gpa).unwrap();
        assert_eq!(r(GDT_BASE + 8), 0x00af_9900_0000_ffff, "GDT untouched");
        assert_eq!(r(PML4_BASE), 0x3007);
        assert_eq!(r(PML4_BASE + 8), 0, "absent entries stay absent");
        assert_eq!(r(PDPT_BASE + 24), 0x7007);
        assert_eq!(r(PD_BASE), 0x8007);
        assert_eq!(r(PD_BASE + 8), 0x20_0087);
        assert_eq!(r(PD_BASE + 24), 0);
        assert_eq!(r(PT0_BASE + 0xf * 8), 0, "page tables still unmapped");
        assert_eq!(r(PT0_BASE + 0x10 * 8), 0x10005, "boot info still read-only");
        assert_eq!(r(PT0_BASE + 0x100 * 8), 0x10_0007);
        assert_eq!(r(PVM_VIF_PAGE), 0, "the VIF page is outside the tables");
        assert_eq!(r(PT0_BASE + PVM_VIF_PAGE / 0x1000 * 8), 0, "and not mapped");
    }

    #[test]
    fn hypercall_ports_decode_and_everything_else_is_fatal() {
        let out = |port, size, value| Exit::IoOut { port, size, value };
        assert_eq!(decode(&out(0x502, 4, 0x1234)), Ok((2, 0x1234)));
        assert_eq!(decode(&out(0x508, 4, 0xffff_fff0)), Ok((8, 0xffff_fff0)));
        assert_eq!(decode(&out(0x500, 4, 0)), Ok((0, 0)));
        // The batch extension's numbers decode; whether they exist is the hypercall
        // layer's question (they do only when offered).
        assert_eq!(decode(&out(0x509, 4, 0x10)), Ok((9, 0x10)));
        assert!(matches!(
            decode(&out(0x50a, 4, 0)),
            Err(Fatal::PortAccess { port: 0x50a, .. })
        ));
        assert!(matches!(
            decode(&out(0x502, 1, 0)),
            Err(Fatal::PortAccess { size: 1, .. })
        ));
        assert!(matches!(
            decode(&out(0x600, 4, 0)),
            Err(Fatal::PortAccess { .. })
        ));
        assert!(matches!(
            decode(&Exit::IoIn {
                port: 0x502,
                size: 4
            }),
            Err(Fatal::PortAccess { write: false, .. })
        ));
        let mmio = Exit::Mmio {
            addr: 0x1_0000_0010,
            len: 4,
            write: true,
            value: 0,
        };
        assert!(matches!(decode(&mmio), Err(Fatal::MmioX86 { .. })));
        assert_eq!(decode(&Exit::Shutdown), Err(Fatal::TripleFault));
        assert_eq!(decode(&Exit::Hlt), Err(Fatal::Hlt));
        assert_eq!(
            decode(&Exit::InternalError { suberror: 1 }),
            Err(Fatal::InternalError { suberror: 1 })
        );
    }
}
