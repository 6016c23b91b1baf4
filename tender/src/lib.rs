//! `tender`: a KVM host for Solo5 hvt unikernels (ABI version 2), a drop-in for
//! `solo5-hvt` v0.12.1 without the net ring.
//!
//! One module per concern: [`cli`] (command line), [`elf`] and [`manifest`] (pure image
//! checks), [`mem`] (guest memory and its one bounds-checked accessor), [`bootinfo`],
//! [`arch`] (x86_64 and aarch64 boot state and exit decoding), [`net`] and [`block`]
//! (devices), [`hypercall`] (what the guest can ask), [`exit`] (what each VM exit means),
//! [`stats`] (hypercall counts), [`sandbox`] (seccomp) and [`run`] (the main sequence and vCPU loop).

pub mod arch;
pub mod block;
pub mod bootinfo;
pub mod cli;
pub mod elf;
pub mod exit;
pub mod hypercall;
pub mod manifest;
pub mod mem;
pub mod net;
pub mod run;
pub mod sandbox;
pub mod stats;
#[doc(hidden)]
pub mod testimage;

use std::io;

/// Writes all of `bytes` to stderr with write(2). Async-signal-safe.
pub fn write_stderr(mut bytes: &[u8]) {
    while !bytes.is_empty() {
        // SAFETY: write(2) reads `bytes.len()` bytes from a live slice.
        let n = unsafe { libc::write(2, bytes.as_ptr().cast(), bytes.len()) };
        if n <= 0 {
            return;
        }
        bytes = bytes.get(n as usize..).unwrap_or(&[]);
    }
}

extern "C" fn on_signal(sig: libc::c_int) {
    stats::report();
    let mut buf = *b"tender: Exiting on signal     \n";
    let prefix = b"tender: Exiting on signal ".len();
    let mut digits = [0u8; 4];
    let mut n = sig.unsigned_abs().min(9999);
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    let d = &digits[i..];
    buf[prefix..prefix + d.len()].copy_from_slice(d);
    buf[prefix + d.len()] = b'\n';
    write_stderr(&buf[..prefix + d.len() + 1]);
    // SAFETY: _exit is async-signal-safe and ends the process without running Rust code
    // that could be interrupted mid-way (no destructors, no stdio locks).
    unsafe { libc::_exit(1) }
}

/// SIGINT and SIGTERM print "Exiting on signal N" (and the hypercall counts, if enabled)
/// and exit with status 1, as `solo5-hvt` does.
pub fn install_signal_handlers() -> io::Result<()> {
    for sig in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: `sigaction` is plain C data; all zeroes is valid. We fill the handler
        // and mask and pass pointers to locals that live across the call. The handler
        // only calls async-signal-safe functions (write, _exit) and reads atomics.
        let rc = unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
            libc::sigfillset(&mut sa.sa_mask);
            libc::sigaction(sig, &sa, std::ptr::null_mut())
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}
