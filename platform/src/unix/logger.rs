//! A `log` backend on the console: one `[time] LEVEL target: message` line per record.

// `std` is linked by `unix/mod.rs` (the crate is no_std for the solo5 build).
use super::std;

use std::io::Write;

struct ConsoleLogger;

static LOGGER: ConsoleLogger = ConsoleLogger;

impl log::Log for ConsoleLogger {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &log::Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        // One write per line, so lines from a panic hook or another thread never interleave
        // mid-line.
        let line = format_line(super::clock::now_ns(), record);
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(line.as_bytes());
        let _ = out.flush();
    }

    fn flush(&self) {
        let _ = std::io::stdout().flush();
    }
}

/// `[SSSSS.UUUUUU] LEVEL target: message` and a newline, the time being the monotonic
/// clock in seconds and microseconds: the same shape as the solo5 backend's lines.
pub(crate) fn format_line(now_ns: u64, record: &log::Record<'_>) -> std::string::String {
    std::format!("{}\n", crate::LogLine { now_ns, record })
}

/// Installs the console logger (once; later calls only change the level) and sets the
/// most verbose level that is printed.
pub fn init_logger(level: log::LevelFilter) {
    let _ = log::set_logger(&LOGGER);
    log::set_max_level(level);
}
