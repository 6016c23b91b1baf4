//! Dropping privileges before the guest runs, as `solo5-hvt` does on Linux: refuse a
//! READ_IMPLIES_EXEC personality, then install a seccomp filter that allows only the
//! system calls the vCPU loop makes.
//!
//! A call outside the list raises SIGSYS (SECCOMP_RET_TRAP, where solo5-hvt kills the
//! process outright). The handler prints the syscall number and exits with status 1, so a
//! missing entry shows up as one clear line. `TENDER_NO_SECCOMP=1` skips the filter.

use std::io;

use libc::{sock_filter, sock_fprog};

/// The system calls the run loop may make, by name for the messages and tests.
///
/// KVM and guest I/O use ioctl, read, write, pread64, pwrite64 and ppoll.
/// clock_gettime is normally served by the vDSO. The allocator may use mmap, munmap,
/// mremap, brk, madvise and mprotect when a message is formatted. Exiting uses exit_group
/// and close (plus fcntl F_GETFD in debug builds). Signal handling uses rt_sigreturn and rt_sigprocmask. futex is for the
/// stdout lock.
pub const ALLOWED: &[(&str, libc::c_long)] = &[
    ("ioctl", libc::SYS_ioctl),
    ("read", libc::SYS_read),
    ("write", libc::SYS_write),
    ("readv", libc::SYS_readv),
    ("writev", libc::SYS_writev),
    ("pread64", libc::SYS_pread64),
    ("pwrite64", libc::SYS_pwrite64),
    ("ppoll", libc::SYS_ppoll),
    ("clock_gettime", libc::SYS_clock_gettime),
    ("exit", libc::SYS_exit),
    ("exit_group", libc::SYS_exit_group),
    ("rt_sigreturn", libc::SYS_rt_sigreturn),
    ("rt_sigprocmask", libc::SYS_rt_sigprocmask),
    // The Rust runtime takes down the main thread's alternate signal stack at exit.
    ("sigaltstack", libc::SYS_sigaltstack),
    ("futex", libc::SYS_futex),
    ("mmap", libc::SYS_mmap),
    ("munmap", libc::SYS_munmap),
    ("mremap", libc::SYS_mremap),
    ("mprotect", libc::SYS_mprotect),
    ("madvise", libc::SYS_madvise),
    ("brk", libc::SYS_brk),
    ("close", libc::SYS_close),
    // Debug builds check that an fd is open (F_GETFD) before closing it.
    ("fcntl", libc::SYS_fcntl),
];

const BPF_LD_W_ABS: u16 = (libc::BPF_LD | libc::BPF_W | libc::BPF_ABS) as u16;
const BPF_JEQ_K: u16 = (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16;
const BPF_RET_K: u16 = (libc::BPF_RET | libc::BPF_K) as u16;
/// Offsets in `struct seccomp_data`.
const DATA_NR: u32 = 0;
const DATA_ARCH: u32 = 4;

fn stmt(code: u16, k: u32) -> sock_filter {
    sock_filter {
        code,
        jt: 0,
        jf: 0,
        k,
    }
}

fn jeq(k: u32, jt: u8, jf: u8) -> sock_filter {
    sock_filter {
        code: BPF_JEQ_K,
        jt,
        jf,
        k,
    }
}

/// The filter program: wrong architecture kills the process; an allowed number returns
/// ALLOW; anything else traps.
pub fn program(audit_arch: u32, allowed: &[libc::c_long]) -> Vec<sock_filter> {
    let mut p = vec![
        stmt(BPF_LD_W_ABS, DATA_ARCH),
        jeq(audit_arch, 1, 0),
        stmt(BPF_RET_K, libc::SECCOMP_RET_KILL_PROCESS),
        stmt(BPF_LD_W_ABS, DATA_NR),
    ];
    for nr in allowed {
        p.push(jeq(*nr as u32, 0, 1));
        p.push(stmt(BPF_RET_K, libc::SECCOMP_RET_ALLOW));
    }
    p.push(stmt(BPF_RET_K, libc::SECCOMP_RET_TRAP));
    p
}

extern "C" fn on_sigsys(_sig: libc::c_int, info: *mut libc::siginfo_t, _ctx: *mut libc::c_void) {
    // siginfo_t for SIGSYS: si_signo, si_errno, si_code, padding, then
    // { void *call_addr; int syscall; unsigned arch; } at offset 16 on 64-bit Linux.
    // SAFETY: the kernel passes a valid siginfo_t (128 bytes) to an SA_SIGINFO handler;
    // offset 24 is inside it and 4-aligned.
    let nr = unsafe { info.cast::<u8>().add(24).cast::<i32>().read() };
    let name = ALLOWED
        .iter()
        .find(|(_, n)| *n == nr as libc::c_long)
        .map_or("", |(s, _)| s);
    let mut buf = [0u8; 160];
    let mut len = 0;
    let mut put = |s: &[u8]| {
        for &c in s {
            if len < buf.len() {
                buf[len] = c;
                len += 1;
            }
        }
    };
    put(b"tender: seccomp: the tender made system call ");
    let mut digits = [0u8; 10];
    let mut v = nr.unsigned_abs();
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    put(&digits[i..]);
    put(name.as_bytes());
    put(b", which its filter does not allow (TENDER_NO_SECCOMP=1 runs without it)\n");
    crate::write_stderr(&buf[..len]);
    // SAFETY: _exit is async-signal-safe and is on the allow list (exit_group).
    unsafe { libc::_exit(1) }
}

/// Refuses READ_IMPLIES_EXEC, then installs the filter for `audit_arch` on this (the only)
/// thread. Call it once everything is set up, right before the vCPU loop.
pub fn apply(audit_arch: u32) -> Result<(), String> {
    // SAFETY: personality(0xffffffff) only queries the current persona.
    let persona = unsafe { libc::personality(0xffff_ffff) };
    if persona >= 0 && persona & libc::READ_IMPLIES_EXEC != 0 {
        return Err("Cowardly refusing to run with a sys_personality of READ_IMPLIES_EXEC".into());
    }
    if std::env::var_os("TENDER_NO_SECCOMP").is_some_and(|v| v == "1") {
        return Ok(());
    }
    // SAFETY: a zeroed sigaction is valid; we set an SA_SIGINFO handler whose signature
    // matches and which only calls async-signal-safe functions.
    let rc = unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = on_sigsys
            as extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void)
            as libc::sighandler_t;
        sa.sa_flags = libc::SA_SIGINFO;
        libc::sigfillset(&mut sa.sa_mask);
        libc::sigaction(libc::SIGSYS, &sa, std::ptr::null_mut())
    };
    if rc != 0 {
        return Err(format!(
            "seccomp: sigaction: {}",
            io::Error::last_os_error()
        ));
    }
    let nrs: Vec<libc::c_long> = ALLOWED.iter().map(|(_, n)| *n).collect();
    let mut prog = program(audit_arch, &nrs);
    let fprog = sock_fprog {
        len: prog.len() as u16,
        filter: prog.as_mut_ptr(),
    };
    // SAFETY: PR_SET_NO_NEW_PRIVS takes integer arguments only.
    if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0 {
        return Err(format!(
            "seccomp: PR_SET_NO_NEW_PRIVS: {}",
            io::Error::last_os_error()
        ));
    }
    // SAFETY: `fprog` points at `prog`, a valid BPF program of `len` instructions that
    // lives across the call; the kernel copies it.
    let rc = unsafe {
        libc::prctl(
            libc::PR_SET_SECCOMP,
            libc::SECCOMP_MODE_FILTER as libc::c_ulong,
            &fprog as *const sock_fprog as libc::c_ulong,
            0,
            0,
        )
    };
    if rc != 0 {
        return Err(format!(
            "seccomp: PR_SET_SECCOMP: {}",
            io::Error::last_os_error()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn program_shape() {
        let p = program(0xc000_003e, &[0, 1]);
        assert_eq!(p.len(), 4 + 2 * 2 + 1);
        assert_eq!((p[0].code, p[0].k), (0x20, 4));
        assert_eq!(
            (p[1].code, p[1].k, p[1].jt, p[1].jf),
            (0x15, 0xc000_003e, 1, 0)
        );
        assert_eq!((p[2].code, p[2].k), (0x06, libc::SECCOMP_RET_KILL_PROCESS));
        assert_eq!((p[3].code, p[3].k), (0x20, 0));
        assert_eq!((p[4].k, p[4].jt, p[4].jf), (0, 0, 1));
        assert_eq!(p[5].k, libc::SECCOMP_RET_ALLOW);
        assert_eq!(p[8].k, libc::SECCOMP_RET_TRAP);
    }

    #[test]
    fn allow_list_has_no_duplicates() {
        let mut nrs: Vec<_> = ALLOWED.iter().map(|(_, n)| *n).collect();
        nrs.sort();
        nrs.dedup();
        assert_eq!(nrs.len(), ALLOWED.len());
    }
}
