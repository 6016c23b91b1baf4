//! The console (PUTS), the `log` backend on it, and the fatal paths: the panic handler and
//! the printing half of the exception handlers.

use super::{clock, hypercall};
use core::fmt::{self, Write};
use core::sync::atomic::{AtomicBool, Ordering};

/// Collects formatted text and hands it to PUTS in as few exits as possible: one per line
/// that fits in the buffer.
struct LineWriter {
    buf: [u8; 256],
    len: usize,
}

impl LineWriter {
    const fn new() -> Self {
        LineWriter {
            buf: [0; 256],
            len: 0,
        }
    }
    fn flush(&mut self) {
        hypercall::puts(&self.buf[..self.len]);
        self.len = 0;
    }
}

impl Write for LineWriter {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let mut rest = s.as_bytes();
        while !rest.is_empty() {
            if self.len == self.buf.len() {
                self.flush();
            }
            let n = rest.len().min(self.buf.len() - self.len);
            self.buf[self.len..self.len + n].copy_from_slice(&rest[..n]);
            self.len += n;
            rest = &rest[n..];
        }
        Ok(())
    }
}

/// Formats `args` to the console without allocating.
pub(crate) fn print(args: fmt::Arguments<'_>) {
    let mut w = LineWriter::new();
    let _ = w.write_fmt(args);
    w.flush();
}

/// Writes raw bytes to the console.
pub(crate) fn write(bytes: &[u8]) {
    hypercall::puts(bytes);
}

static DYING: AtomicBool = AtomicBool::new(false);

/// Called first on every fatal path (panic, CPU exception). The second one to arrive — a
/// fault while printing a fault — halts at once with 255 instead of recursing.
pub(crate) fn fatal_prologue() {
    if DYING.swap(true, Ordering::Relaxed) {
        hypercall::puts(b"Solo5: fault while handling a fault: halting\n");
        hypercall::halt(hvt_abi::exit::ABORT, 0);
    }
}

/// Prints a fatal message (after [`fatal_prologue`]).
pub(crate) fn fatal(args: fmt::Arguments<'_>) {
    print(args);
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    fatal_prologue();
    match info.location() {
        Some(at) => print(format_args!(
            "Solo5: panic at {}:{}:{}: {}\n",
            at.file(),
            at.line(),
            at.column(),
            info.message()
        )),
        None => print(format_args!("Solo5: panic: {}\n", info.message())),
    }
    hypercall::halt(hvt_abi::exit::ABORT, 0)
}

struct ConsoleLogger;

impl log::Log for ConsoleLogger {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &log::Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let line = crate::LogLine {
            now_ns: clock::now_ns(),
            record,
        };
        print(format_args!("{line}\n"));
    }

    fn flush(&self) {}
}

static LOGGER: ConsoleLogger = ConsoleLogger;

/// Installs the `log` backend on the console, showing records up to `level`. Lines carry
/// the monotonic time since boot. A second call only changes the level.
pub fn init_logger(level: log::LevelFilter) {
    let _ = log::set_logger(&LOGGER);
    log::set_max_level(level);
}
