//! The solo5 hvt backend: the unikernel's own bare-metal bindings to the hvt ABI.
//!
//! Boot: the arch's `_start` zeroes BSS and calls [`rust_start`] on the tender's stack,
//! which installs exception handling, reads the boot info, starts the clock, gives the
//! heap its RAM, finds the `service` network device and runs the application's
//! `entry!` function; its return value is the halt status.
//!
//! Memory layout (guest-physical = virtual):
//!
//! ```text
//! 0x10000   boot info, manifest copy, cmdline   (read-only)
//! 0x100000  text | rodata + notes | data | bss  (the image; `_end` after bss)
//! _end↑4K   heap (talc)                          ... up to mem_size - STACK_SIZE
//!           stack, STACK_SIZE, grows down from mem_size - 8/16 (the tender's SP)
//! mem_size  (0.11+ tenders: net ring, unused)
//! ```
//!
//! The stack is the one the tender sets up at the top of RAM, as in Solo5's own bindings:
//! it needs no copy or switch in `_start`, it sits below any ring the tender reserves, and
//! a stack of our own in BSS would have no guard page either (the tender's page tables map
//! all of RAM read-write and we do not rebuild them). A canary word at its low end is
//! checked on every `wait_until` and `heap_stats` to catch an overflow into the heap.

mod arch;
mod boot;
mod clock;
mod cmdline;
mod console;
mod entropy;
mod heap;
mod hypercall;
mod net;
mod notes;
mod scale;
mod sync;
mod zeroed;

pub use clock::MonotonicClock;
pub use console::init_logger;

use crate::{HeapStats, NetError};
use arch::{Cpu, Current};
use hvt_abi::BootInfo;

/// Bytes at the top of RAM kept for the stack (and out of the heap).
const STACK_SIZE: u64 = 1 << 20;
/// Below this much heap, refuse to start (as Solo5 does).
const MIN_HEAP: u64 = 512 << 10;
/// Canary at the low end of the stack.
const STACK_CANARY: u64 = 0x4b4f_5f4b_4341_5453; // "STACK_OK"
/// POLL timeout when the caller has no deadline; waking up then is harmless.
const MAX_WAIT_NS: u64 = 3_600 * 1_000_000_000;
/// Ethernet header bytes on top of the MTU.
const ETHERNET_HEADER: usize = 14;

unsafe extern "C" {
    /// End of the image (after BSS), from the linker script.
    static _end: u8;
}

unsafe extern "Rust" {
    /// The application's entry, defined by [`entry!`](crate::entry).
    fn __platform_app_main(platform: Platform) -> i32;
}

/// Defines the application entry: `fn app_main(platform: Platform) -> i32`, whose return
/// value becomes the halt status (0 success, 1 failure, 255 abort).
#[macro_export]
macro_rules! entry {
    ($app_main:path) => {
        #[doc(hidden)]
        #[unsafe(no_mangle)]
        pub fn __platform_app_main(platform: $crate::Platform) -> i32 {
            let app_main: fn($crate::Platform) -> i32 = $app_main;
            app_main(platform)
        }
    };
}

/// The platform handle the application gets; there is exactly one.
pub struct Platform {
    cmdline: &'static str,
    net: net::Net,
    entropy: entropy::Entropy,
    /// Address of the canary word at the low end of the stack.
    stack_canary: u64,
}

/// Prints why the boot failed and halts with 255.
fn boot_abort(what: &str) -> ! {
    console::print(format_args!("Solo5: boot: {what}\n"));
    hypercall::halt(hvt_abi::exit::ABORT, 0)
}

/// Called by `_start` with the tender's boot info pointer, on the tender's stack.
pub(crate) extern "C" fn rust_start(bi: *const BootInfo) -> ! {
    // SAFETY: first thing on the boot path, once.
    unsafe { Current::init() };
    notes::keep();

    // SAFETY: `bi` is what the tender passed in the first argument register.
    let info = unsafe { boot::read(bi) };
    if clock::init(info.cpu_cycle_freq).is_none() {
        boot_abort("cpu_cycle_freq is 0");
    }

    let mem_size = info.mem_size;
    let stack_low = mem_size.saturating_sub(STACK_SIZE);
    let sp = &raw const info as u64;
    if !(stack_low..mem_size).contains(&sp) {
        boot_abort("the stack is not at the top of guest memory");
    }
    let heap_start = (&raw const _end as u64).next_multiple_of(4096);
    // The canary takes the lowest stack word; the heap ends below it.
    let heap_end = stack_low;
    if heap_end < heap_start + MIN_HEAP {
        boot_abort("not enough memory for the heap (try a larger --mem)");
    }
    // SAFETY: the lowest word of the stack area, in RAM, far below the live stack frames
    // (checked above that SP is inside the area, and boot uses a few KiB at most).
    unsafe { (stack_low as *mut u64).write_volatile(STACK_CANARY) };
    // SAFETY: [heap_start, heap_end) is RAM after the image and below the stack area;
    // nothing else uses it.
    if !unsafe { heap::init(heap_start as usize, (heap_end - heap_start) as usize) } {
        boot_abort("the heap could not be set up");
    }

    // SAFETY: the tender's cmdline pointer and memory size.
    let (raw_cmdline, cut) = match unsafe { boot::cmdline(info.cmdline, mem_size) } {
        Ok(c) => c,
        Err(e) => boot_abort(e),
    };
    if cut {
        console::print(format_args!(
            "Solo5: boot: cmdline is not UTF-8; kept the first {} bytes\n",
            raw_cmdline.len()
        ));
    }
    // SAFETY: the tender's manifest pointer and memory size.
    let dev = match unsafe { boot::find_net(info.mft, mem_size, notes::NET_DEVICE) } {
        Ok(n) => n,
        Err(e) => boot_abort(e),
    };
    let max_frame = usize::from(dev.mtu) + ETHERNET_HEADER;

    let platform = Platform {
        cmdline: cmdline::strip_solo5_options(raw_cmdline),
        net: net::Net::new(dev, max_frame),
        entropy: entropy::Entropy::detect(),
        stack_canary: stack_low,
    };
    // SAFETY: `entry!` defines this symbol with exactly this signature.
    let status = unsafe { __platform_app_main(platform) };
    hypercall::halt(status, 0)
}

impl Platform {
    /// The boot arguments, with leading `--solo5:LEVEL` tokens removed as Solo5 does.
    pub fn cmdline(&self) -> &str {
        self.cmdline
    }

    /// Monotonic nanoseconds since boot.
    pub fn now(&self) -> u64 {
        clock::now_ns()
    }

    /// The host's wall clock: nanoseconds since the Unix epoch (one hypercall).
    pub fn wall_clock_ns(&self) -> u64 {
        hypercall::walltime()
    }

    /// Fills `buf` from [`Platform::entropy_source`].
    pub fn fill_random(&mut self, buf: &mut [u8]) {
        self.entropy.fill(buf);
    }

    /// "rdseed", "rdrand", "rndr" or "timer-jitter" (weak; see the entropy module).
    pub fn entropy_source(&self) -> &'static str {
        self.entropy.source()
    }

    /// One cheap timing sample to mix into the app's generator as events happen (the
    /// cycle counter; see the entropy module).
    pub fn entropy_sample(&self) -> u64 {
        entropy::sample()
    }

    /// Writes raw bytes to the console (the tender's stdout).
    pub fn console_write(&self, bytes: &[u8]) {
        console::write(bytes);
    }

    /// The MAC address of the `service` device.
    pub fn net_mac(&self) -> [u8; 6] {
        self.net.dev.mac
    }

    /// The MTU of the `service` device (frames are up to MTU + 14 bytes).
    pub fn net_mtu(&self) -> u16 {
        self.net.dev.mtu
    }

    /// Frames moved per VM exit when the tender offers the project's batch extension
    /// (`hvt_abi::batch`; the project's tender does, `solo5-hvt` does not); `None`: one
    /// frame per hypercall, Solo5's plain ABI.
    pub fn net_batch_frames(&self) -> Option<usize> {
        self.net.batch_frames()
    }

    /// Reads one waiting frame into `buf` (at least MTU + 14 bytes long, or the host would
    /// truncate silently). `Ok(None)`: nothing waiting.
    pub fn net_read(&mut self, buf: &mut [u8]) -> Result<Option<usize>, NetError> {
        self.net.read(buf)
    }

    /// Sends one Ethernet frame (header included, 1 ..= MTU + 14 bytes). Longer frames are
    /// refused here: the host would fail the write, which kills solo5-hvt. Batched, the
    /// frame leaves with the next exchange: at the latest when [`Platform::wait_until`]
    /// is called.
    pub fn net_write(&mut self, frame: &[u8]) -> Result<(), NetError> {
        self.net.write(frame)
    }

    /// Blocks until a frame is waiting or the monotonic clock reaches `deadline_ns`
    /// (`None`: no deadline, but it may still return after an hour). Returns true when a
    /// frame is waiting. Sends queued frames first. One exit: POLL (a past deadline polls
    /// for 1 ns), or batched one NET_EXCHANGE that also brings the frames, or none when a
    /// received frame is already in the guest and nothing is queued.
    pub fn wait_until(&mut self, deadline_ns: Option<u64>) -> bool {
        self.check_stack();
        let timeout = match deadline_ns {
            Some(deadline) => deadline.saturating_sub(clock::now_ns()),
            None => MAX_WAIT_NS,
        };
        match self.net.wait(timeout.clamp(1, MAX_WAIT_NS)) {
            Ok(ready) => ready,
            Err(e) => {
                // The handle is the manifest's own, so a refusal cannot be fixed here;
                // the queued frames are gone, as a refused NET_WRITE drops its one.
                log::debug!("net: an exchange was refused: {e}");
                false
            }
        }
    }

    /// Halts the unikernel; the tender exits with `status`.
    pub fn exit(&self, status: i32) -> ! {
        hypercall::halt(status, 0)
    }

    /// "solo5-hvt".
    pub fn name(&self) -> &'static str {
        "solo5-hvt"
    }

    /// "x86_64" or "aarch64".
    pub fn arch(&self) -> &'static str {
        Current::NAME
    }

    /// Use of the global heap.
    pub fn heap_stats(&self) -> Option<HeapStats> {
        self.check_stack();
        Some(heap::stats())
    }

    /// Panics if the stack has grown into its last word (and so probably into the heap).
    fn check_stack(&self) {
        // SAFETY: the canary word written at boot; it stays mapped RAM.
        if unsafe { (self.stack_canary as *const u64).read_volatile() } != STACK_CANARY {
            panic!(
                "stack overflow: the {} KiB stack ran into its canary",
                STACK_SIZE >> 10
            );
        }
    }
}
