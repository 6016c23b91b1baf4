//! The only place that knows which CPU we run on. Everything above talks to [`Current`]
//! through the [`Cpu`] trait; `target_arch` appears nowhere else in the platform.

#[cfg(target_arch = "aarch64")]
mod aarch64;
#[cfg(target_arch = "x86_64")]
mod x86_64;

#[cfg(target_arch = "aarch64")]
pub(crate) use aarch64::Aarch64 as Current;
#[cfg(target_arch = "x86_64")]
pub(crate) use x86_64::X86_64 as Current;

/// A hardware random number instruction.
#[allow(dead_code)] // each arch constructs only its own variants
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HwRng {
    /// x86_64 `RDSEED`: conditioned entropy straight from the noise source.
    Rdseed,
    /// x86_64 `RDRAND`: a DRBG reseeded from the noise source.
    Rdrand,
    /// aarch64 `RNDR` (FEAT_RNG).
    Rndr,
}

impl HwRng {
    pub(crate) fn name(self) -> &'static str {
        match self {
            HwRng::Rdseed => "rdseed",
            HwRng::Rdrand => "rdrand",
            HwRng::Rndr => "rndr",
        }
    }
}

/// What the portable backend needs from a CPU.
///
/// Each architecture's module also defines `_start` (the ELF entry: it receives the boot
/// info address in the first argument register, on the tender's stack, zeroes BSS and
/// calls [`crate::solo5::rust_start`]) and its own exception handlers, which print the
/// faulting state and halt with status 255.
pub(crate) trait Cpu {
    /// "x86_64" or "aarch64".
    const NAME: &'static str;

    /// Installs our own descriptor tables / exception vectors. Called once, first.
    ///
    /// # Safety
    /// Only from the boot path, before anything else runs.
    unsafe fn init();

    /// Issues hypercall `nr` with the argument struct at guest-physical address `arg`.
    /// The call is synchronous: the OUT fields are filled in when it returns.
    ///
    /// # Safety
    /// `arg` must be the address of a live, correctly typed argument struct for `nr`
    /// whose pointers are valid for the tender to read or write.
    unsafe fn hypercall(nr: u32, arg: u32);

    /// The free-running tick counter whose frequency is the boot info's `cpu_cycle_freq`.
    fn ticks() -> u64;

    /// The best random number instruction this CPU offers, if any.
    fn hw_rng() -> Option<HwRng>;

    /// One attempt at 64 random bits from `rng`; `None` when the instruction reports
    /// that it has nothing right now (callers retry a bounded number of times).
    fn hw_random(rng: HwRng) -> Option<u64>;

    /// A hint inside busy loops.
    fn spin_hint();
}
