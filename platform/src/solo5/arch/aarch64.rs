//! aarch64: entry, VBAR_EL1 exception vectors, hypercalls by MMIO store, CNTVCT_EL0, RNDR.
//!
//! The tender enters `_start` at EL1h with the MMU and caches on, x0 = boot info,
//! SP_EL1 = top of RAM minus 16, and D/A/I/F masked; it sets no VBAR_EL1, so `init`
//! installs vectors whose handlers print the fault and halt with 255.
//!
//! Never `wfi`/`wfe` (nothing would wake us), and only 32-bit register-indirect stores to
//! the hypercall window (KVM can forward only accesses with a valid syndrome).

use super::{Cpu, HwRng};
use crate::solo5::{console, hypercall, sync::BootCell};
use core::arch::{asm, global_asm};

pub(crate) struct Aarch64;

// The entry point. We stay on the tender's stack (see `solo5::STACK_SIZE`) and zero BSS
// first: the hvt tender hands over zero-filled RAM, but a tender that doesn't would
// otherwise break every static silently.
global_asm!(
    ".pushsection .text._start, \"ax\", %progbits",
    ".global _start",
    ".type _start, %function",
    "_start:",
    "    adrp x1, __bss_start",
    "    add x1, x1, :lo12:__bss_start",
    "    adrp x2, __bss_end",
    "    add x2, x2, :lo12:__bss_end",
    "0:  cmp x1, x2",
    "    b.hs 1f",
    "    str xzr, [x1], #8",
    "    b 0b",
    "1:  mov x29, xzr",
    "    mov x30, xzr",
    "    bl {start}",
    "2:  b 2b",
    ".size _start, . - _start",
    ".popsection",
    start = sym crate::solo5::rust_start,
);

// The vector table: 16 entries of 0x80 bytes, 2 KiB aligned. Every entry passes its index
// to the common path, which collects the syndrome registers, moves to a stack of its own
// (the fault may be a bad SP) and calls `aarch64_trap`.
global_asm!(
    ".pushsection .text.aarch64_vectors, \"ax\", %progbits",
    ".balign 0x800",
    ".global aarch64_vectors",
    "aarch64_vectors:",
    ".set a64_vec, 0",
    ".rept 16",
    "    .balign 0x80",
    "    mov x0, #a64_vec",
    "    b aarch64_trap_common",
    "    .set a64_vec, a64_vec + 1",
    ".endr",
    "aarch64_trap_common:",
    "    mrs x1, esr_el1",
    "    mrs x2, far_el1",
    "    mrs x3, elr_el1",
    "    mrs x4, spsr_el1",
    "    mov x5, sp",
    "    adrp x9, {stack}",
    "    add x9, x9, :lo12:{stack}",
    "    add x9, x9, #{stack_size}",
    "    mov sp, x9",
    "    bl {handler}",
    "3:  b 3b",
    ".popsection",
    stack = sym TRAP_STACK,
    stack_size = const TRAP_STACK_SIZE,
    handler = sym aarch64_trap,
);

unsafe extern "C" {
    static aarch64_vectors: u8;
}

const TRAP_STACK_SIZE: usize = 16384;

#[repr(C, align(16))]
struct Stack([u8; TRAP_STACK_SIZE]);

/// The stack exception handlers run on. Printing uses `core::fmt`: give it room.
static TRAP_STACK: BootCell<Stack> = BootCell::new(Stack([0; TRAP_STACK_SIZE]));

impl Cpu for Aarch64 {
    const NAME: &'static str = "aarch64";

    unsafe fn init() {
        let vectors = &raw const aarch64_vectors as u64;
        // SAFETY: boot path, once; the table is 2 KiB aligned and lives in executable
        // memory for the guest's life. `isb` makes the new VBAR take effect.
        unsafe {
            asm!("msr vbar_el1, {}", "isb", in(reg) vectors, options(nostack, preserves_flags))
        };
    }

    #[inline(always)]
    unsafe fn hypercall(nr: u32, arg: u32) {
        let addr = hvt_abi::AARCH64_HYPERCALL_MMIO_BASE + 8 * u64::from(nr);
        // SAFETY: the caller vouches for `arg`; a 32-bit store to the hypercall window is
        // the hvt hypercall (a plain `str`, no writeback). No `nomem`: compiler barrier.
        unsafe {
            asm!("str {v:w}, [{a}]", v = in(reg) arg, a = in(reg) addr, options(nostack, preserves_flags))
        };
    }

    #[inline(always)]
    fn ticks() -> u64 {
        let t: u64;
        // SAFETY: CNTVCT_EL0 is readable at EL1; `isb` keeps the read from being hoisted.
        unsafe {
            asm!("isb", "mrs {}, cntvct_el0", out(reg) t, options(nomem, nostack, preserves_flags))
        };
        t
    }

    fn hw_rng() -> Option<HwRng> {
        let isar0: u64;
        // SAFETY: ID_AA64ISAR0_EL1 is readable at EL1 and has no side effects.
        unsafe {
            asm!("mrs {}, id_aa64isar0_el1", out(reg) isar0, options(nomem, nostack, preserves_flags))
        };
        let rndr = (isar0 >> 60) & 0xf != 0;
        (rndr && (0..16).any(|_| Self::hw_random(HwRng::Rndr).is_some())).then_some(HwRng::Rndr)
    }

    fn hw_random(_rng: HwRng) -> Option<u64> {
        let value: u64;
        let ok: u64;
        // SAFETY: RNDR (s3_3_c2_c4_0) exists when ID_AA64ISAR0_EL1.RNDR says so, which
        // `hw_rng` checked; it sets Z on failure.
        unsafe {
            asm!(
                "mrs {v}, s3_3_c2_c4_0",
                "cset {ok}, ne",
                v = out(reg) value,
                ok = out(reg) ok,
                options(nomem, nostack),
            )
        };
        (ok != 0).then_some(value)
    }

    #[inline(always)]
    fn spin_hint() {
        core::hint::spin_loop();
    }
}

/// The halt cookie: the registers we print, padded to the 512 bytes the tender may read.
#[repr(C, align(16))]
struct Cookie {
    vector: u64,
    esr: u64,
    far: u64,
    elr: u64,
    spsr: u64,
    sp: u64,
    pad: [u64; 58],
}

const _: () = assert!(core::mem::size_of::<Cookie>() == hvt_abi::HALT_COOKIE_MAX as usize);

static COOKIE: BootCell<Cookie> = BootCell::new(Cookie {
    vector: 0,
    esr: 0,
    far: 0,
    elr: 0,
    spsr: 0,
    sp: 0,
    pad: [0; 58],
});

const KINDS: [&str; 4] = ["synchronous", "IRQ", "FIQ", "SError"];
const ORIGINS: [&str; 4] = [
    "current EL, SP_EL0",
    "current EL, SP_ELx",
    "lower EL, AArch64",
    "lower EL, AArch32",
];

/// A name for the exception class ESR_EL1.EC.
fn exception_class(ec: u64) -> &'static str {
    match ec {
        0x00 => "unknown reason",
        0x07 => "SIMD/FP access trap",
        0x0e => "illegal execution state",
        0x15 => "SVC",
        0x20 | 0x21 => "instruction abort",
        0x22 => "PC alignment fault",
        0x24 | 0x25 => "data abort",
        0x26 => "SP alignment fault",
        0x2f => "SError",
        0x3c => "BRK",
        _ => "other",
    }
}

/// Every exception ends here: print, then halt with 255. Exceptions are never resumed.
extern "C" fn aarch64_trap(vector: u64, esr: u64, far: u64, elr: u64, spsr: u64, sp: u64) -> ! {
    console::fatal_prologue();
    // SAFETY: single CPU, and `fatal_prologue` returned, so this is the only trap being
    // handled (a nested one halts before reaching here).
    let cookie = unsafe { &mut *COOKIE.as_ptr() };
    cookie.vector = vector;
    cookie.esr = esr;
    cookie.far = far;
    cookie.elr = elr;
    cookie.spsr = spsr;
    cookie.sp = sp;
    let v = (vector & 0xf) as usize;
    let ec = (esr >> 26) & 0x3f;
    console::fatal(format_args!(
        "Solo5: trap: aarch64 {} exception from {} (vector {}): EC {:#x} ({})\n\
         Solo5: trap: esr={:#018x} far={:#018x} elr={:#018x}\n\
         Solo5: trap: spsr={:#x} sp={:#018x}\n",
        KINDS[v % 4],
        ORIGINS[v / 4],
        vector,
        ec,
        exception_class(ec),
        esr,
        far,
        elr,
        spsr,
        sp,
    ));
    hypercall::halt(hvt_abi::exit::ABORT, COOKIE.as_ptr() as u64)
}
