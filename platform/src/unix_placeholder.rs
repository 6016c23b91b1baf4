//! Placeholder unix backend, only so that the resolver builds on the host until the real
//! one (a TAP device, epoll, getrandom) lands from its own branch. It has no network device.

use crate::{HeapStats, NetError};
use std::io::Write;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// The platform handle given to the application.
pub struct Platform {
    cmdline: &'static str,
    start: Instant,
}

impl Platform {
    #[doc(hidden)]
    pub fn new() -> Platform {
        let args: Vec<String> = std::env::args().skip(1).collect();
        Platform {
            cmdline: Box::leak(args.join(" ").into_boxed_str()),
            start: Instant::now(),
        }
    }

    pub fn cmdline(&self) -> &str {
        self.cmdline
    }
    pub fn now(&self) -> u64 {
        self.start.elapsed().as_nanos() as u64
    }
    pub fn wall_clock_ns(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64)
    }
    pub fn fill_random(&mut self, buf: &mut [u8]) {
        // Not random at all: this placeholder must never run anything that matters.
        buf.fill(0);
    }
    pub fn entropy_source(&self) -> &'static str {
        "none (placeholder)"
    }
    pub fn console_write(&self, bytes: &[u8]) {
        let _ = std::io::stdout().write_all(bytes);
    }
    pub fn net_mac(&self) -> [u8; 6] {
        [0; 6]
    }
    pub fn net_mtu(&self) -> u16 {
        1500
    }
    pub fn net_read(&mut self, _buf: &mut [u8]) -> Result<Option<usize>, NetError> {
        Ok(None)
    }
    pub fn net_write(&mut self, _frame: &[u8]) -> Result<(), NetError> {
        Err(NetError::Unspecified)
    }
    pub fn wait_until(&mut self, deadline_ns: Option<u64>) -> bool {
        let now = self.now();
        let wait = deadline_ns.map_or(1_000_000_000, |d| d.saturating_sub(now));
        std::thread::sleep(std::time::Duration::from_nanos(wait));
        false
    }
    pub fn exit(&self, status: i32) -> ! {
        std::process::exit(status)
    }
    pub fn name(&self) -> &'static str {
        "unix"
    }
    pub fn arch(&self) -> &'static str {
        std::env::consts::ARCH
    }
    pub fn heap_stats(&self) -> Option<HeapStats> {
        None
    }
}

impl Default for Platform {
    fn default() -> Self {
        Platform::new()
    }
}

/// Monotonic nanoseconds since the first use, as an `embedded_time` clock.
pub struct MonotonicClock;

impl embedded_time::Clock for MonotonicClock {
    type T = u64;
    const SCALING_FACTOR: embedded_time::fraction::Fraction =
        embedded_time::fraction::Fraction::new(1, 1_000_000_000);
    fn try_now(&self) -> Result<embedded_time::Instant<Self>, embedded_time::clock::Error> {
        static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
        let start = START.get_or_init(Instant::now);
        Ok(embedded_time::Instant::new(
            start.elapsed().as_nanos() as u64
        ))
    }
}

struct StderrLogger;

impl log::Log for StderrLogger {
    fn enabled(&self, _: &log::Metadata) -> bool {
        true
    }
    fn log(&self, record: &log::Record) {
        eprintln!(
            "{:<5} {}: {}",
            record.level(),
            record.target(),
            record.args()
        );
    }
    fn flush(&self) {}
}

/// Installs a `log` backend on stderr.
pub fn init_logger(level: log::LevelFilter) {
    static LOGGER: StderrLogger = StderrLogger;
    let _ = log::set_logger(&LOGGER);
    log::set_max_level(level);
}

/// Defines `fn main`, which runs `app_main(Platform)` and exits with its status.
#[macro_export]
macro_rules! entry {
    ($app_main:path) => {
        fn main() {
            let app_main: fn($crate::Platform) -> i32 = $app_main;
            std::process::exit(app_main($crate::Platform::new()))
        }
    };
}
