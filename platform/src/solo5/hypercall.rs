//! The eight hvt hypercalls as safe functions. Each builds its `hvt_abi` argument struct on
//! the stack and hands its address to [`Cpu::hypercall`]: one VM exit (about 10 µs here).
//!
//! Every address passed is below 4 GiB (guest RAM never exceeds it), and every buffer lies
//! inside our own RAM, as the tender checks.

use super::arch::{Cpu, Current};
use hvt_abi::batch::Iov;
use hvt_abi::{
    HcHalt, HcNetExchange, HcNetRead, HcNetWrite, HcPoll, HcPuts, HcWalltime, Hypercall,
};

/// Issues `nr` with `arg` and returns once the tender has filled the OUT fields.
#[inline(always)]
fn call<T>(nr: Hypercall, arg: &mut T) {
    // Exposes the struct's provenance: the asm below may read and write it.
    let addr = arg as *mut T as usize;
    debug_assert!(addr < (1 << 32), "hypercall argument above 4 GiB");
    // SAFETY: `arg` is the live argument struct for `nr` (the callers below pair them), and
    // the pointers inside it come from live slices.
    unsafe { Current::hypercall(nr as u32, addr as u32) };
}

/// Host CLOCK_REALTIME, ns since the Unix epoch.
pub(crate) fn walltime() -> u64 {
    let mut arg = HcWalltime::default();
    call(Hypercall::Walltime, &mut arg);
    // SAFETY: reading our own initialised struct; volatile so the read follows the exit.
    unsafe { core::ptr::read_volatile(&arg.nsecs) }
}

/// Writes `bytes` raw to the tender's stdout.
pub(crate) fn puts(bytes: &[u8]) {
    if bytes.is_empty() {
        return;
    }
    let mut arg = HcPuts {
        data: bytes.as_ptr() as u64,
        len: bytes.len() as u64,
    };
    call(Hypercall::Puts, &mut arg);
}

/// Blocks until a network device is readable or `timeout_ns` has passed (0 becomes 1).
/// Returns the set of ready manifest indices.
pub(crate) fn poll(timeout_ns: u64) -> u64 {
    let mut arg = HcPoll {
        timeout_nsecs: timeout_ns.max(1),
        ..HcPoll::default()
    };
    call(Hypercall::Poll, &mut arg);
    // SAFETY: as in `walltime`.
    unsafe { core::ptr::read_volatile(&arg.ready_set) }
}

/// Sends one Ethernet frame on device `handle`; returns the `ret` code.
pub(crate) fn net_write(handle: u64, frame: &[u8]) -> i32 {
    let mut arg = HcNetWrite {
        handle,
        data: frame.as_ptr() as u64,
        len: frame.len() as u64,
        ret: 0,
    };
    call(Hypercall::NetWrite, &mut arg);
    // SAFETY: as in `walltime`.
    unsafe { core::ptr::read_volatile(&arg.ret) }
}

/// Reads one frame from device `handle` into `buf`; returns (`ret`, frame length).
pub(crate) fn net_read(handle: u64, buf: &mut [u8]) -> (i32, usize) {
    let mut arg = HcNetRead {
        handle,
        data: buf.as_mut_ptr() as u64,
        len: buf.len() as u64,
        ret: 0,
    };
    call(Hypercall::NetRead, &mut arg);
    // SAFETY: as in `walltime`.
    let (ret, len) = unsafe {
        (
            core::ptr::read_volatile(&arg.ret),
            core::ptr::read_volatile(&arg.len),
        )
    };
    (ret, (len as usize).min(buf.len()))
}

/// NET_EXCHANGE (the batch extension; only when the tender announced it): sends the
/// frames of `tx`, then fills the buffers of `rx` with waiting frames (their `len` with
/// the frame lengths), waiting up to `timeout_ns` for a first one if none is waiting (0:
/// no wait). Returns (`ret`, frames read, whether every receive entry was filled).
pub(crate) fn net_exchange(
    handle: u64,
    tx: &[Iov],
    rx: &mut [Iov],
    timeout_ns: u64,
) -> (i32, usize, bool) {
    let mut arg = HcNetExchange {
        handle,
        tx_iov: tx.as_ptr() as u64,
        tx_count: tx.len() as u64,
        rx_iov: rx.as_mut_ptr() as u64,
        rx_count: rx.len() as u64,
        timeout_nsecs: timeout_ns,
        more: 0,
        ret: 0,
    };
    call(Hypercall::NetExchange, &mut arg);
    // SAFETY: as in `walltime`.
    let (ret, count, more) = unsafe {
        (
            core::ptr::read_volatile(&arg.ret),
            core::ptr::read_volatile(&arg.rx_count),
            core::ptr::read_volatile(&arg.more),
        )
    };
    for e in rx.iter_mut() {
        // SAFETY: reading our own initialised entries after the exit that wrote them.
        e.len = unsafe { core::ptr::read_volatile(&e.len) };
    }
    (ret, (count as usize).min(rx.len()), more != 0)
}

/// Ends the guest: the tender exits with `status`. `cookie` is 0 or the address of at
/// least 512 readable bytes (x86_64: a trap frame).
pub(crate) fn halt(status: i32, cookie: u64) -> ! {
    let mut arg = HcHalt {
        cookie,
        exit_status: status,
    };
    call(Hypercall::Halt, &mut arg);
    // The tender never resumes a halted guest; if one did, stay put rather than run on.
    loop {
        Current::spin_hint();
    }
}
