//! VM exits as plain data, and what the tender does about each one.
//!
//! The run loop turns every `KVM_RUN` result into an [`Exit`] and hands it to
//! [`handle_exit`], a plain function: tests feed it fake exits and a fake hypercall
//! service. Per-architecture decoding (which port or MMIO address is a hypercall) comes in
//! as a function, so both architectures' rules are tested on any host.

use std::fmt;

use crate::mem::GuestAccess;

/// KVM exit reasons the tender names (`KVM_EXIT_*`).
pub mod reason {
    pub const IO: u32 = 2;
    pub const HLT: u32 = 5;
    pub const MMIO: u32 = 6;
    pub const SHUTDOWN: u32 = 8;
    pub const FAIL_ENTRY: u32 = 9;
    pub const INTERNAL_ERROR: u32 = 17;
    pub const SYSTEM_EVENT: u32 = 24;
}

/// One VM exit, copied out of `kvm_run`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// x86 `out`: port, access size in bytes, the value (first 4 bytes, little-endian).
    IoOut {
        port: u16,
        size: u8,
        value: u32,
    },
    /// x86 `in`.
    IoIn {
        port: u16,
        size: u8,
    },
    /// An MMIO access; `value` is the first 4 bytes written (0 for reads).
    Mmio {
        addr: u64,
        len: u8,
        write: bool,
        value: u32,
    },
    /// `KVM_RUN` was interrupted by a signal (EINTR or KVM_EXIT_INTR): run again.
    Intr,
    Hlt,
    /// KVM_EXIT_SHUTDOWN: on x86 a triple fault.
    Shutdown,
    InternalError {
        suberror: u32,
    },
    FailEntry {
        reason: u64,
    },
    /// `KVM_RUN` failed with EFAULT: the host mapping of guest memory refused an access.
    TranslationFault,
    MemoryFault {
        gpa: u64,
        size: u64,
    },
    SystemEvent {
        kind: u32,
    },
    /// Any other exit reason.
    Other {
        reason: u32,
    },
}

/// Why the guest cannot continue. `Display` is the one line the tender prints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fatal {
    PortAccess {
        port: u16,
        size: u8,
        write: bool,
    },
    /// MMIO on x86, where hvt guests have none.
    MmioX86 {
        addr: u64,
        len: u8,
        write: bool,
    },
    /// MMIO on aarch64 outside the hypercall window or not a 32-bit write.
    MmioAccess {
        addr: u64,
        len: u8,
        write: bool,
    },
    UnknownHypercall(u32),
    Hlt,
    TripleFault,
    InternalError {
        suberror: u32,
    },
    FailEntry {
        reason: u64,
    },
    TranslationFault,
    MemoryFault {
        gpa: u64,
        size: u64,
    },
    SystemEvent {
        kind: u32,
    },
    Unhandled {
        reason: u32,
    },
    /// aarch64: an exception taken before the guest installed its own vectors (the
    /// tender's placeholder vectors reported it; `what` names the vector).
    EarlyException {
        what: String,
    },
    /// A guest store into guest RAM the image maps read-only (text/rodata), which KVM
    /// reported as an MMIO exit.
    ReadOnlyWrite {
        gpa: u64,
    },
    /// A hypercall argument or buffer outside guest memory.
    Guest(GuestAccess),
    /// A host I/O operation for the guest failed (net/block).
    HostIo(String),
}

impl Fatal {
    /// The fatal reading of an exit that is not a port or MMIO access (the same on every
    /// architecture).
    pub fn common(exit: &Exit) -> Fatal {
        match *exit {
            Exit::Hlt => Fatal::Hlt,
            Exit::Shutdown => Fatal::Unhandled {
                reason: reason::SHUTDOWN,
            },
            Exit::InternalError { suberror } => Fatal::InternalError { suberror },
            Exit::FailEntry { reason } => Fatal::FailEntry { reason },
            Exit::TranslationFault => Fatal::TranslationFault,
            Exit::MemoryFault { gpa, size } => Fatal::MemoryFault { gpa, size },
            Exit::SystemEvent { kind } => Fatal::SystemEvent { kind },
            Exit::Other { reason } => Fatal::Unhandled { reason },
            Exit::IoOut { .. } | Exit::IoIn { .. } => Fatal::Unhandled { reason: reason::IO },
            Exit::Mmio { .. } => Fatal::Unhandled {
                reason: reason::MMIO,
            },
            Exit::Intr => Fatal::Unhandled { reason: 10 },
        }
    }

    /// Sharpens the message with the guest memory size: an "MMIO" write inside guest RAM
    /// is a store to a page the host maps read-only (KVM on some hosts, this one
    /// included, reports those as MMIO rather than failing `KVM_RUN` with EFAULT).
    pub fn refine(self, mem_size: u64) -> Fatal {
        match self {
            Fatal::MmioX86 {
                addr, write: true, ..
            }
            | Fatal::MmioAccess {
                addr, write: true, ..
            } if addr < mem_size => Fatal::ReadOnlyWrite { gpa: addr },
            other => other,
        }
    }

    /// Whether a register dump helps (the guest did something, rather than the host).
    pub fn wants_registers(&self) -> bool {
        !matches!(self, Fatal::Guest(_) | Fatal::HostIo(_))
    }
}

impl fmt::Display for Fatal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rw = |w: bool| if w { "write" } else { "read" };
        match self {
            Fatal::PortAccess { port, size, write } => write!(
                f,
                "Invalid guest port access: port=0x{port:x} ({}-bit {}; hypercalls are \
                 32-bit OUT to 0x501-0x508)",
                u32::from(*size) * 8,
                if *write { "OUT" } else { "IN" }
            ),
            Fatal::MmioX86 { addr, len, write } => write!(
                f,
                "Guest MMIO {} at gpa=0x{addr:x} (len {len}): x86 hvt guests have no MMIO; \
                 a write to a read-only page of the image (text/rodata) also ends here on \
                 some KVM hosts",
                rw(*write)
            ),
            Fatal::MmioAccess { addr, len, write } => write!(
                f,
                "Invalid guest mmio access: mmio=0x{addr:x} len={len} ({}; hypercalls are \
                 32-bit writes to 0x100000008-0x100000040)",
                rw(*write)
            ),
            Fatal::UnknownHypercall(nr) => write!(f, "Invalid guest hypercall: num={nr}"),
            Fatal::Hlt => write!(
                f,
                "Guest executed a halt instruction (KVM exit_reason=0x{:x}); hvt guests must \
                 stop with the HALT hypercall",
                reason::HLT
            ),
            Fatal::TripleFault => write!(
                f,
                "Guest triple fault (KVM_EXIT_SHUTDOWN, exit_reason=0x{:x}): an exception \
                 with no usable IDT/GDT",
                reason::SHUTDOWN
            ),
            Fatal::InternalError { suberror: 1 } => write!(
                f,
                "KVM: internal error exit: suberror=0x1 (KVM could not emulate an \
                 instruction; on a kvm_pvm host, like this one, any SSE/x87 instruction does \
                 this: build the guest soft-float, without SSE/x87)"
            ),
            Fatal::InternalError { suberror } => {
                write!(f, "KVM: internal error exit: suberror=0x{suberror:x}")
            }
            Fatal::FailEntry { reason } => {
                write!(
                    f,
                    "KVM: entry failure: hw_entry_failure_reason=0x{reason:x}"
                )
            }
            Fatal::TranslationFault => write!(f, "KVM: host/guest translation fault"),
            Fatal::MemoryFault { gpa, size } => {
                write!(f, "KVM: memory fault: gpa=0x{gpa:x} size={size}")
            }
            Fatal::SystemEvent { kind } => {
                write!(
                    f,
                    "Guest requested a system event (type {kind}; PSCI off/reset?)"
                )
            }
            Fatal::Unhandled { reason } => {
                write!(f, "KVM: unhandled exit: exit_reason=0x{reason:x}")
            }
            Fatal::ReadOnlyWrite { gpa } => write!(
                f,
                "Guest write to read-only memory at gpa=0x{gpa:x} (a text or rodata page of \
                 the image; KVM reported it as MMIO, exit_reason=0x{:x})",
                reason::MMIO
            ),
            Fatal::EarlyException { what } => write!(
                f,
                "Guest took an exception before installing its own exception vectors \
                 (VBAR_EL1): {what}; the tender's placeholder vectors stopped it. A wrong \
                 entry point or a fault in the start code? esr_el1/elr_el1/far_el1 below"
            ),
            Fatal::Guest(e) => write!(f, "{e}"),
            Fatal::HostIo(s) => write!(f, "{s}"),
        }
    }
}

impl From<GuestAccess> for Fatal {
    fn from(e: GuestAccess) -> Fatal {
        Fatal::Guest(e)
    }
}

/// What to do after an exit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Continue,
    /// The guest halted with this status.
    Halt(i32),
    Fatal(Fatal),
}

/// The hypercall side of the tender.
pub trait Hypercalls {
    /// Serves hypercall `nr` with its argument struct at `gpa`. `Ok(Some(status))`: the
    /// guest halted.
    fn hypercall(&mut self, nr: u32, gpa: u64) -> Result<Option<i32>, Fatal>;
}

/// Architecture rule: which exits are hypercalls (`(nr, gpa)`), and why others are fatal.
pub type Decode = fn(&Exit) -> Result<(u32, u64), Fatal>;

/// Handles one exit.
pub fn handle_exit(exit: &Exit, decode: Decode, hc: &mut dyn Hypercalls) -> Action {
    if *exit == Exit::Intr {
        return Action::Continue;
    }
    match decode(exit).and_then(|(nr, gpa)| hc.hypercall(nr, gpa)) {
        Ok(None) => Action::Continue,
        Ok(Some(status)) => Action::Halt(status),
        Err(f) => Action::Fatal(f),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch::{aarch64, x86_64};
    use crate::mem::AccessKind;

    #[derive(Default)]
    struct Fake {
        calls: Vec<(u32, u64)>,
    }

    impl Hypercalls for Fake {
        fn hypercall(&mut self, nr: u32, gpa: u64) -> Result<Option<i32>, Fatal> {
            self.calls.push((nr, gpa));
            match nr {
                8 => Ok(Some(7)),
                2 if gpa > 0xffff => Err(Fatal::Guest(GuestAccess {
                    gpa,
                    len: 16,
                    kind: AccessKind::OutOfBounds,
                })),
                1..=8 => Ok(None),
                _ => Err(Fatal::UnknownHypercall(nr)),
            }
        }
    }

    #[test]
    fn x86_exits() {
        let mut hc = Fake::default();
        let d: Decode = x86_64::decode;
        let out = |port, value| Exit::IoOut {
            port,
            size: 4,
            value,
        };
        assert_eq!(
            handle_exit(&out(0x502, 0x1000), d, &mut hc),
            Action::Continue
        );
        assert_eq!(
            handle_exit(&out(0x508, 0x2000), d, &mut hc),
            Action::Halt(7)
        );
        assert_eq!(handle_exit(&Exit::Intr, d, &mut hc), Action::Continue);
        assert_eq!(hc.calls, vec![(2, 0x1000), (8, 0x2000)]);
        let a = handle_exit(&out(0x500, 0), d, &mut hc);
        assert_eq!(a, Action::Fatal(Fatal::UnknownHypercall(0)));
        let Action::Fatal(f) = handle_exit(&out(0x502, 0x10_0000), d, &mut hc) else {
            panic!()
        };
        assert_eq!(f.to_string(), "Invalid guest access: gpa=0x100000, sz=16");
        assert!(!f.wants_registers());
        let Action::Fatal(f) = handle_exit(
            &Exit::IoOut {
                port: 0x520,
                size: 4,
                value: 0,
            },
            d,
            &mut hc,
        ) else {
            panic!()
        };
        assert!(
            f.to_string()
                .starts_with("Invalid guest port access: port=0x520")
        );
        assert!(f.wants_registers());
        let Action::Fatal(f) = handle_exit(&Exit::Shutdown, d, &mut hc) else {
            panic!()
        };
        assert!(f.to_string().contains("triple fault"));
        let Action::Fatal(f) = handle_exit(&Exit::InternalError { suberror: 1 }, d, &mut hc) else {
            panic!()
        };
        assert!(f.to_string().contains("SSE/x87"));
        let mmio = Exit::Mmio {
            addr: 0x10_1000,
            len: 8,
            write: true,
            value: 0,
        };
        let Action::Fatal(f) = handle_exit(&mmio, d, &mut hc) else {
            panic!()
        };
        assert!(f.to_string().contains("x86 hvt guests have no MMIO"));
        let f = f.refine(0x20_0000);
        assert_eq!(f, Fatal::ReadOnlyWrite { gpa: 0x10_1000 });
        assert!(
            f.to_string()
                .starts_with("Guest write to read-only memory at gpa=0x101000")
        );
        let outside = Fatal::MmioX86 {
            addr: 0x1_0000_0000,
            len: 4,
            write: true,
        };
        assert_eq!(outside.clone().refine(0x20_0000), outside);
        let Action::Fatal(f) = handle_exit(&Exit::Other { reason: 0x1c }, d, &mut hc) else {
            panic!()
        };
        assert_eq!(f.to_string(), "KVM: unhandled exit: exit_reason=0x1c");
        assert_eq!(
            hc.calls.len(),
            4,
            "only decoded hypercalls reach the service"
        );
    }

    #[test]
    fn aarch64_exits() {
        let mut hc = Fake::default();
        let d: Decode = aarch64::decode;
        let w = |addr, value| Exit::Mmio {
            addr,
            len: 4,
            write: true,
            value,
        };
        assert_eq!(
            handle_exit(&w(0x1_0000_0008, 0x3000), d, &mut hc),
            Action::Continue
        );
        assert_eq!(
            handle_exit(&w(0x1_0000_0040, 0x4000), d, &mut hc),
            Action::Halt(7)
        );
        assert_eq!(hc.calls, vec![(1, 0x3000), (8, 0x4000)]);
        let Action::Fatal(f) = handle_exit(
            &Exit::IoOut {
                port: 0x502,
                size: 4,
                value: 0,
            },
            d,
            &mut hc,
        ) else {
            panic!()
        };
        assert!(f.to_string().starts_with("Invalid guest port access"));
        let Action::Fatal(f) = handle_exit(&Exit::Shutdown, d, &mut hc) else {
            panic!()
        };
        assert_eq!(f.to_string(), "KVM: unhandled exit: exit_reason=0x8");
    }
}
