//! x86_64: entry, our own GDT + TSS + IDT, hypercalls by port I/O, TSC, RDSEED/RDRAND.
//!
//! The tender enters `_start` in 64-bit long mode with RDI = boot info, RSP = top of RAM
//! minus 8 and interrupts off; no interrupt is ever delivered (there is no irqchip). Its
//! GDT at 0x1000 is not mapped in the guest, and IDTR is empty, so any exception would be a
//! triple fault: `init` loads a GDT of our own (with a TSS carrying IST stacks) and an IDT
//! for the 32 architectural vectors, whose handlers print the fault and halt with 255.
//!
//! Never `hlt`, never any port access but a 32-bit `out` to 0x501..=0x508, and no SSE/x87
//! (the target is soft-float; this machine's KVM cannot run SSE at all).

use super::{Cpu, HwRng};
use crate::solo5::{console, hypercall, sync::BootCell};
use core::arch::{asm, global_asm};

pub(crate) struct X86_64;

// The entry point. The tender's stack is at the top of guest RAM (mem_size - 8, i.e. as if
// a `call` had just pushed a return address); we keep it (see `solo5::STACK_SIZE`).
// BSS is zeroed here, before any Rust code runs: the hvt tender hands over zero-filled RAM,
// but zeroing keeps us correct under a tender that doesn't. It is cheap only if done in
// quadwords and without the exception stacks (`.bss.noinit`, below `__bss_start`): under
// an emulating hypervisor every `rep` iteration costs about a microsecond, and the
// byte-wise clear of 34 KiB was ~35 ms of the boot (issue 7). The linker script aligns
// both ends to 16 bytes.
global_asm!(
    ".pushsection .text._start, \"ax\", @progbits",
    ".global _start",
    ".type _start, @function",
    "_start:",
    "    mov r12, rdi",
    "    lea rdi, [rip + __bss_start]",
    "    lea rcx, [rip + __bss_end]",
    "    sub rcx, rdi",
    "    shr rcx, 3",
    "    xor eax, eax",
    "    cld",
    "    rep stosq",
    "    mov rdi, r12",
    "    xor ebp, ebp",
    "    and rsp, -16",
    "    call {start}",
    "    ud2",
    ".size _start, . - _start",
    ".popsection",
    start = sym crate::solo5::rust_start,
);

// One 16-byte stub per vector. Vectors that push no error code push a 0 so that every
// frame has the same shape: [vector, error code, RIP, CS, RFLAGS, RSP, SS].
global_asm!(
    ".pushsection .text.x86_trap_stubs, \"ax\", @progbits",
    ".balign 16",
    ".global x86_trap_stubs",
    "x86_trap_stubs:",
    // Vectors with an error code: 8, 10-14, 17, 21, 29, 30.
    ".set X86_ERRCODE_MASK, 0x60227d00",
    ".set x86_vec, 0",
    ".rept 32",
    "    .balign 16",
    "    .if ((X86_ERRCODE_MASK >> x86_vec) & 1) == 0",
    "        push 0",
    "    .endif",
    "    push x86_vec",
    "    jmp x86_trap_common",
    "    .set x86_vec, x86_vec + 1",
    ".endr",
    "x86_trap_common:",
    "    mov rdi, rsp",
    "    and rsp, -16",
    "    call {handler}",
    "    ud2",
    ".popsection",
    handler = sym x86_trap,
);

unsafe extern "C" {
    static x86_trap_stubs: u8;
}

/// Stub size (each is `.balign 16`); stub `v` is at `x86_trap_stubs + 16 * v`.
const STUB_SIZE: u64 = 16;
const VECTORS: usize = 32;

const SEL_CODE: u16 = 0x08;
const SEL_DATA: u16 = 0x10;
const SEL_TSS: u16 = 0x18;

/// 64-bit TSS (104 bytes). Only the IST slots matter: we never change privilege level.
#[repr(C, packed(4))]
struct Tss {
    reserved0: u32,
    rsp: [u64; 3],
    reserved1: u64,
    ist: [u64; 7],
    reserved2: u64,
    reserved3: u16,
    iomap_base: u16,
}

const TSS_SIZE: usize = core::mem::size_of::<Tss>();
const _: () = assert!(TSS_SIZE == 104);

/// An interrupt gate.
#[repr(C)]
#[derive(Clone, Copy)]
struct Gate {
    offset_low: u16,
    selector: u16,
    ist: u8,
    attributes: u8,
    offset_mid: u16,
    offset_high: u32,
    reserved: u32,
}

impl Gate {
    const EMPTY: Gate = Gate {
        offset_low: 0,
        selector: 0,
        ist: 0,
        attributes: 0,
        offset_mid: 0,
        offset_high: 0,
        reserved: 0,
    };

    /// Present, DPL 0, 64-bit interrupt gate.
    fn interrupt(handler: u64, ist: u8) -> Gate {
        Gate {
            offset_low: handler as u16,
            selector: SEL_CODE,
            ist,
            attributes: 0x8e,
            offset_mid: (handler >> 16) as u16,
            offset_high: (handler >> 32) as u32,
            reserved: 0,
        }
    }
}

/// Operand of `lgdt`/`lidt`.
#[repr(C, packed)]
struct DescriptorPointer {
    limit: u16,
    base: u64,
}

#[repr(C, align(16))]
struct Stack<const N: usize>([u8; N]);

impl<const N: usize> Stack<N> {
    fn top(cell: &'static BootCell<Self>) -> u64 {
        cell.as_ptr() as u64 + N as u64
    }
}

/// IST1: every exception but NMI, #DF and #MC. Printing uses `core::fmt`: give it room.
/// A stack needs no zeroing: `_start` leaves `.bss.noinit` alone.
#[unsafe(link_section = ".bss.noinit")]
static IST_EXCEPTION: BootCell<Stack<16384>> = BootCell::new(Stack([0; 16384]));
/// IST2: NMI, #DF and #MC, which may arrive with a broken stack pointer.
#[unsafe(link_section = ".bss.noinit")]
static IST_CRITICAL: BootCell<Stack<16384>> = BootCell::new(Stack([0; 16384]));

static TSS: BootCell<Tss> = BootCell::new(Tss {
    reserved0: 0,
    rsp: [0; 3],
    reserved1: 0,
    ist: [0; 7],
    reserved2: 0,
    reserved3: 0,
    iomap_base: TSS_SIZE as u16,
});

/// null, code (0x08), data (0x10), TSS (0x18, two slots). The CPU writes the TSS busy bit
/// into it, so it lives in writable memory.
static GDT: BootCell<[u64; 5]> = BootCell::new([0; 5]);
static IDT: BootCell<[Gate; VECTORS]> = BootCell::new([Gate::EMPTY; VECTORS]);

impl Cpu for X86_64 {
    const NAME: &'static str = "x86_64";

    unsafe fn init() {
        // SAFETY: (the whole fn) boot path, single CPU, nothing else touches these tables yet;
        // every descriptor below is valid for 64-bit mode and the tables are 'static.
        unsafe {
            let tss = &mut *TSS.as_ptr();
            tss.ist[0] = Stack::top(&IST_EXCEPTION);
            tss.ist[1] = Stack::top(&IST_CRITICAL);

            let tss_base = TSS.as_ptr() as u64;
            let limit = (TSS_SIZE - 1) as u64;
            let gdt = &mut *GDT.as_ptr();
            gdt[0] = 0;
            gdt[1] = 0x00af_9b00_0000_ffff; // 64-bit code, DPL 0
            gdt[2] = 0x00cf_9300_0000_ffff; // data, DPL 0
            gdt[3] = (limit & 0xffff)
                | ((tss_base & 0x00ff_ffff) << 16)
                | (0x89 << 40) // present, available 64-bit TSS
                | (((limit >> 16) & 0xf) << 48)
                | (((tss_base >> 24) & 0xff) << 56);
            gdt[4] = tss_base >> 32;

            let stubs = &raw const x86_trap_stubs as u64;
            let idt = &mut *IDT.as_ptr();
            for (vector, gate) in idt.iter_mut().enumerate() {
                let ist = match vector {
                    2 | 8 | 18 => 2,
                    _ => 1,
                };
                *gate = Gate::interrupt(stubs + STUB_SIZE * vector as u64, ist);
            }

            let gdtr = DescriptorPointer {
                limit: (core::mem::size_of::<[u64; 5]>() - 1) as u16,
                base: GDT.as_ptr() as u64,
            };
            let idtr = DescriptorPointer {
                limit: (core::mem::size_of::<[Gate; VECTORS]>() - 1) as u16,
                base: IDT.as_ptr() as u64,
            };
            asm!(
                "lgdt [{gdtr}]",
                // Reload CS with a far return, then the data segments. FS and GS keep the
                // tender's selector and base 0 (accidental TLS use hits the unmapped page 0).
                "push {code}",
                "lea {tmp}, [rip + 2f]",
                "push {tmp}",
                "retfq",
                "2:",
                "mov {tmp:e}, {data}",
                "mov ds, {tmp:x}",
                "mov es, {tmp:x}",
                "mov ss, {tmp:x}",
                "mov {tmp:e}, {tss}",
                "ltr {tmp:x}",
                "lidt [{idtr}]",
                gdtr = in(reg) &gdtr,
                idtr = in(reg) &idtr,
                code = const SEL_CODE as u64,
                data = const SEL_DATA as u32,
                tss = const SEL_TSS as u32,
                tmp = out(reg) _,
            );
        }
    }

    #[inline(always)]
    unsafe fn hypercall(nr: u32, arg: u32) {
        let port = hvt_abi::X86_HYPERCALL_PIO_BASE + nr as u16;
        // SAFETY: the caller vouches for `arg`; a 32-bit `out` to 0x500 + nr is the hvt
        // hypercall. No `nomem`: the asm is a compiler barrier around the struct.
        unsafe {
            asm!("out dx, eax", in("dx") port, in("eax") arg, options(nostack, preserves_flags))
        };
    }

    #[inline(always)]
    fn ticks() -> u64 {
        let (lo, hi): (u32, u32);
        // SAFETY: rdtsc only reads the time stamp counter (CR4.TSD is clear at CPL 0).
        unsafe {
            asm!("rdtsc", out("eax") lo, out("edx") hi, options(nomem, nostack, preserves_flags))
        };
        (u64::from(hi) << 32) | u64::from(lo)
    }

    fn hw_rng() -> Option<HwRng> {
        let rdseed = cpuid(7, 0).1 & (1 << 18) != 0;
        let rdrand = cpuid(1, 0).2 & (1 << 30) != 0;
        // Prefer RDSEED, but only if it delivers at all here (a hypervisor may advertise it
        // and still trap or starve it).
        if rdseed && (0..64).any(|_| Self::hw_random(HwRng::Rdseed).is_some()) {
            Some(HwRng::Rdseed)
        } else if rdrand && (0..16).any(|_| Self::hw_random(HwRng::Rdrand).is_some()) {
            Some(HwRng::Rdrand)
        } else {
            None
        }
    }

    fn hw_random(rng: HwRng) -> Option<u64> {
        let value: u64;
        let ok: u8;
        // SAFETY: only called for an instruction CPUID advertised (`hw_rng`); it writes a
        // register and CF.
        unsafe {
            match rng {
                HwRng::Rdseed => {
                    asm!("rdseed {v}", "setc {ok}", v = out(reg) value, ok = out(reg_byte) ok, options(nomem, nostack))
                }
                _ => {
                    asm!("rdrand {v}", "setc {ok}", v = out(reg) value, ok = out(reg_byte) ok, options(nomem, nostack))
                }
            }
        }
        (ok != 0).then_some(value)
    }

    #[inline(always)]
    fn spin_hint() {
        core::hint::spin_loop();
    }
}

/// CPUID leaf/subleaf → (eax, ebx, ecx, edx).
fn cpuid(leaf: u32, subleaf: u32) -> (u32, u32, u32, u32) {
    let (a, b, c, d): (u32, u32, u32, u32);
    // SAFETY: cpuid is always available in long mode and only writes registers. RBX is
    // reserved by LLVM, so it is saved in another register around the instruction.
    unsafe {
        asm!(
            "mov {b:r}, rbx",
            "cpuid",
            "xchg {b:r}, rbx",
            b = out(reg) b,
            inout("eax") leaf => a,
            inout("ecx") subleaf => c,
            out("edx") d,
            options(nomem, nostack, preserves_flags),
        )
    };
    (a, b, c, d)
}

/// What the stubs leave on the stack.
#[repr(C)]
struct HwFrame {
    vector: u64,
    error_code: u64,
    rip: u64,
    cs: u64,
    rflags: u64,
    rsp: u64,
    ss: u64,
}

/// The halt cookie: the layout solo5-hvt(-debug) reads as a trap frame, padded to the 512
/// bytes the tender may read.
#[repr(C, align(16))]
struct Cookie {
    cr2: u64,
    error_code: u64,
    rip: u64,
    cs: u64,
    rflags: u64,
    rsp: u64,
    ss: u64,
    pad: [u64; 57],
}

const _: () = assert!(core::mem::size_of::<Cookie>() == hvt_abi::HALT_COOKIE_MAX as usize);

static COOKIE: BootCell<Cookie> = BootCell::new(Cookie {
    cr2: 0,
    error_code: 0,
    rip: 0,
    cs: 0,
    rflags: 0,
    rsp: 0,
    ss: 0,
    pad: [0; 57],
});

const NAMES: [&str; 32] = [
    "#DE divide error",
    "#DB debug",
    "NMI",
    "#BP breakpoint",
    "#OF overflow",
    "#BR bound range",
    "#UD invalid opcode",
    "#NM device not available",
    "#DF double fault",
    "coprocessor segment overrun",
    "#TS invalid TSS",
    "#NP segment not present",
    "#SS stack fault",
    "#GP general protection",
    "#PF page fault",
    "reserved",
    "#MF x87 floating point",
    "#AC alignment check",
    "#MC machine check",
    "#XM SIMD floating point",
    "#VE virtualization",
    "#CP control protection",
    "reserved",
    "reserved",
    "reserved",
    "reserved",
    "reserved",
    "reserved",
    "#HV hypervisor injection",
    "#VC VMM communication",
    "#SX security",
    "reserved",
];

/// Every exception ends here, on an IST stack: print, then halt with 255 and the trap frame
/// as cookie. Exceptions are never resumed.
extern "C" fn x86_trap(frame: &HwFrame) -> ! {
    let cr2: u64;
    // SAFETY: reading CR2 at CPL 0 has no side effect.
    unsafe { asm!("mov {}, cr2", out(reg) cr2, options(nomem, nostack, preserves_flags)) };
    console::fatal_prologue();
    // SAFETY: single CPU, and `fatal_prologue` returned, so this is the only trap being
    // handled (a nested one halts before reaching here).
    let cookie = unsafe { &mut *COOKIE.as_ptr() };
    cookie.cr2 = cr2;
    cookie.error_code = frame.error_code;
    cookie.rip = frame.rip;
    cookie.cs = frame.cs;
    cookie.rflags = frame.rflags;
    cookie.rsp = frame.rsp;
    cookie.ss = frame.ss;
    let name = NAMES.get(frame.vector as usize).copied().unwrap_or("?");
    console::fatal(format_args!(
        "Solo5: trap: x86_64 exception {} ({}), error code {:#x}\n\
         Solo5: trap: rip={:#018x} rsp={:#018x} rflags={:#x}\n\
         Solo5: trap: cr2={:#018x} cs={:#x} ss={:#x}\n",
        frame.vector,
        name,
        frame.error_code,
        frame.rip,
        frame.rsp,
        frame.rflags,
        cr2,
        frame.cs,
        frame.ss,
    ));
    hypercall::halt(hvt_abi::exit::ABORT, COOKIE.as_ptr() as u64)
}
