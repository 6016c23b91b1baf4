//! Hypercall counters, always on.
//!
//! Counting costs one relaxed load and store per hypercall (the only writer is the vCPU
//! thread), next to a VM exit of microseconds. The report is formatted without allocating
//! or locking, so the SIGINT/SIGTERM handler can print it too: a resolver never halts, it
//! is stopped by a signal.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};

use hvt_abi::Hypercall;

const N: usize = Hypercall::EXT_MAX as usize;

static COUNTS: [AtomicU64; N] = [const { AtomicU64::new(0) }; N];
static EXITS: AtomicU64 = AtomicU64::new(0);
static ENABLED: AtomicBool = AtomicBool::new(false);

fn bump(c: &AtomicU64) {
    c.store(c.load(Relaxed).wrapping_add(1), Relaxed);
}

/// Counts hypercall `nr` (numbers outside the ABI are not counted).
pub fn count_hypercall(nr: u32) {
    if let Some(c) = COUNTS.get(nr as usize) {
        bump(c);
    }
}

/// Counts one VM exit.
pub fn count_exit() {
    bump(&EXITS);
}

/// Print the report at exit (`--trace-hypercalls` or `TENDER_STATS=1`).
pub fn enable() {
    ENABLED.store(true, Relaxed);
}

pub fn enabled() -> bool {
    ENABLED.load(Relaxed)
}

/// A snapshot: per-hypercall counts (index = number) and VM exits.
pub fn snapshot() -> ([u64; N], u64) {
    let mut c = [0; N];
    for (d, s) in c.iter_mut().zip(COUNTS.iter()) {
        *d = s.load(Relaxed);
    }
    (c, EXITS.load(Relaxed))
}

/// A fixed-capacity byte writer; never allocates, silently truncates.
struct Buf<'a> {
    b: &'a mut [u8],
    n: usize,
}

impl Buf<'_> {
    fn put(&mut self, s: &[u8]) {
        for &c in s {
            if let Some(slot) = self.b.get_mut(self.n) {
                *slot = c;
                self.n += 1;
            }
        }
    }
    fn num(&mut self, mut v: u64) {
        let mut digits = [0u8; 20];
        let mut i = digits.len();
        loop {
            i -= 1;
            digits[i] = b'0' + (v % 10) as u8;
            v /= 10;
            if v == 0 {
                break;
            }
        }
        self.put(&digits[i..]);
    }
}

/// Formats the report line into `out`; returns its length.
pub fn format(counts: &[u64; N], exits: u64, out: &mut [u8]) -> usize {
    let mut b = Buf { b: out, n: 0 };
    b.put(b"tender: hypercalls:");
    let mut total = 0u64;
    for h in Hypercall::ALL.iter().chain(&Hypercall::EXT).copied() {
        let c = counts[h as usize];
        total = total.wrapping_add(c);
        b.put(b" ");
        b.put(h.name().as_bytes());
        b.put(b"=");
        b.num(c);
    }
    b.put(b" total=");
    b.num(total);
    b.put(b" vm_exits=");
    b.num(exits);
    b.put(b"\n");
    b.n
}

/// Writes the report to stderr if enabled. Async-signal-safe.
pub fn report() {
    if !enabled() {
        return;
    }
    let (c, e) = snapshot();
    let mut buf = [0u8; 512];
    let n = format(&c, e, &mut buf);
    crate::write_stderr(&buf[..n]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_line() {
        let mut c = [0u64; N];
        c[2] = 3;
        c[8] = 1;
        let mut buf = [0u8; 512];
        let n = format(&c, 1234567890123, &mut buf);
        assert_eq!(
            std::str::from_utf8(&buf[..n]).unwrap(),
            "tender: hypercalls: walltime=0 puts=3 poll=0 block_write=0 block_read=0 \
             net_write=0 net_read=0 halt=1 net_exchange=0 total=4 \
             vm_exits=1234567890123\n"
        );
        let mut small = [0u8; 10];
        assert_eq!(format(&c, 0, &mut small), 10);
    }

    #[test]
    fn counting_ignores_unknown_numbers() {
        let before = snapshot().0;
        count_hypercall(99);
        count_hypercall(u32::MAX);
        count_hypercall(1);
        let after = snapshot().0;
        assert!(after[1] > before[1]);
    }
}
