//! The unix backend: the resolver as an ordinary Linux process on a TAP device.
//!
//! Same API as the solo5 backend (see `docs/INTERFACES.md`), built from `std` pieces: a
//! TAP fd for the network, `std::time::Instant` for the monotonic clock, getrandom(2)
//! for entropy, stdout for the console and ppoll(2) for "block until a frame or the
//! deadline". It is the backend that tests and the end-to-end harness run.

#![warn(missing_docs)]

extern crate std;

mod args;
mod clock;
mod logger;
mod tap;

use std::io::Write;
use std::string::String;

use crate::{HeapStats, NetError};

pub use args::{ArgsError, USAGE, UnixArgs};
pub use clock::MonotonicClock;
pub use logger::init_logger;
pub use tap::TapError;

/// Ethernet header bytes on top of the MTU in a frame (`SOLO5_NET_HLEN`).
pub const NET_HLEN: usize = 14;

/// The running platform: boot arguments, network device, clocks and entropy.
///
/// Built by [`entry!`](crate::entry) from the process's command line and handed to the
/// application's main function.
#[derive(Debug)]
pub struct Platform {
    cmdline: String,
    /// `None` only for `--help` runs, which never touch the network.
    tap: Option<tap::Tap>,
    mac: [u8; 6],
}

/// Why [`Platform`] could not be set up from the command line.
#[derive(Debug)]
pub enum StartError {
    /// The command line itself is wrong.
    Args(ArgsError),
    /// The TAP interface could not be attached.
    Tap(TapError),
}

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StartError::Args(e) => e.fmt(f),
            StartError::Tap(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for StartError {}

impl Platform {
    /// Sets the platform up from the arguments after the program name, attaching the
    /// TAP. A `--help` run without a TAP gets a platform with no network device.
    pub fn from_args<I, S>(args: I) -> Result<Platform, StartError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let a = UnixArgs::parse(args).map_err(StartError::Args)?;
        let tap = match &a.tap {
            Some(name) => Some(tap::Tap::open(name).map_err(StartError::Tap)?),
            None => None,
        };
        let mac = a.mac.unwrap_or_else(random_mac);
        clock::start();
        Ok(Platform {
            cmdline: a.cmdline,
            tap,
            mac,
        })
    }

    /// The boot arguments, separated by single spaces (platform options removed).
    pub fn cmdline(&self) -> &str {
        &self.cmdline
    }

    /// Monotonic time in nanoseconds since the process started.
    pub fn now(&self) -> u64 {
        clock::now_ns()
    }

    /// Wall-clock time in nanoseconds since the Unix epoch (0 if the clock is before it).
    pub fn wall_clock_ns(&self) -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
    }

    /// Fills `buf` from the kernel's CSPRNG (getrandom(2)). Exits the process if the
    /// kernel has no entropy to give: running without it would make IDs and ports
    /// guessable.
    pub fn fill_random(&mut self, buf: &mut [u8]) {
        if let Err(e) = getrandom(buf) {
            std::eprintln!("resolver-unix: getrandom failed: {e}");
            std::process::exit(1);
        }
    }

    /// One cheap timing sample for the app to mix into its generator as events happen
    /// (as on solo5, where it is the cycle counter): the monotonic clock in ns. The
    /// kernel's CSPRNG seeds the generator here, so this only keeps the API alike.
    pub fn entropy_sample(&self) -> u64 {
        clock::now_ns()
    }

    /// Where [`Platform::fill_random`] gets its bytes: `"getrandom"`.
    pub fn entropy_source(&self) -> &'static str {
        "getrandom"
    }

    /// Writes `bytes` to stdout, unbuffered. Errors (a closed pipe) are ignored: the
    /// console is best effort, as on solo5.
    pub fn console_write(&self, bytes: &[u8]) {
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(bytes);
        let _ = out.flush();
    }

    /// The guest-side MAC address (`--net-mac:service=`, else random and locally
    /// administered).
    pub fn net_mac(&self) -> [u8; 6] {
        self.mac
    }

    /// The TAP interface's MTU (1500 without a device).
    pub fn net_mtu(&self) -> u16 {
        self.tap.as_ref().map_or(1500, tap::Tap::mtu)
    }

    /// Frames moved per host call: `None`, one read(2)/write(2) per frame (the hvt
    /// backend batches when its tender offers it; see `hvt_abi::batch`).
    pub fn net_batch_frames(&self) -> Option<usize> {
        None
    }

    /// Reads one frame into `buf`, which must hold MTU + 14 bytes. `Ok(None)`: nothing
    /// is waiting.
    pub fn net_read(&mut self, buf: &mut [u8]) -> Result<Option<usize>, NetError> {
        if buf.len() < usize::from(self.net_mtu()) + NET_HLEN {
            return Err(NetError::BufferTooSmall);
        }
        match &self.tap {
            None => Ok(None),
            Some(t) => t.read(buf).map_err(net_error),
        }
    }

    /// Sends one frame of 1 to MTU + 14 bytes.
    pub fn net_write(&mut self, frame: &[u8]) -> Result<(), NetError> {
        if frame.is_empty() || frame.len() > usize::from(self.net_mtu()) + NET_HLEN {
            return Err(NetError::BadFrameLength);
        }
        match &self.tap {
            None => Ok(()),
            Some(t) => t.write(frame).map_err(net_error),
        }
    }

    /// Blocks until a frame is waiting (returns true) or monotonic time reaches
    /// `deadline_ns` (false); `None` waits for a frame only. A deadline already past
    /// polls once without blocking. A signal can end the wait early (false).
    pub fn wait_until(&mut self, deadline_ns: Option<u64>) -> bool {
        let timeout = deadline_ns.map(|d| d.saturating_sub(clock::now_ns()));
        tap::poll_fd(self.tap.as_ref().map(tap::Tap::raw_fd), timeout)
    }

    /// Flushes stdout and ends the process with `status`.
    pub fn exit(&self, status: i32) -> ! {
        let _ = std::io::stdout().flush();
        std::process::exit(status)
    }

    /// `"unix"`.
    pub fn name(&self) -> &'static str {
        "unix"
    }

    /// The CPU architecture, e.g. `"x86_64"` or `"aarch64"`.
    pub fn arch(&self) -> &'static str {
        std::env::consts::ARCH
    }

    /// The C library's own accounting of its heap (glibc's mallinfo2): `used` is the bytes
    /// in live allocations, `total` what malloc holds from the kernel (its arenas plus the
    /// large blocks it maps one by one). Unlike RSS, `used` does not move when malloc
    /// merely touches more of the pages it already holds, or when the kernel drops file
    /// pages, so it is what shows a leak (the torture soak reads it). `None` where the C
    /// library keeps no such account (musl).
    pub fn heap_stats(&self) -> Option<HeapStats> {
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        {
            // SAFETY: mallinfo2 takes malloc's locks and only reads its state.
            let m = unsafe { libc::mallinfo2() };
            Some(HeapStats {
                used: m.uordblks.saturating_add(m.hblkhd),
                total: m.arena.saturating_add(m.hblkhd),
            })
        }
        #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
        {
            None
        }
    }
}

/// A host I/O error as a [`NetError`]: a bad descriptor or argument is `Invalid`, the
/// rest `Unspecified` (the errno is logged at debug level, as the type has no room).
fn net_error(e: std::io::Error) -> NetError {
    log::debug!("tap: {e}");
    match e.raw_os_error() {
        Some(libc::EBADF | libc::EINVAL | libc::EFAULT) => NetError::Invalid,
        _ => NetError::Unspecified,
    }
}

/// getrandom(2) until `buf` is full.
fn getrandom(buf: &mut [u8]) -> std::io::Result<()> {
    let mut done = 0;
    while done < buf.len() {
        let rest = &mut buf[done..];
        // SAFETY: rest is valid for writes of rest.len() bytes for the whole call.
        let n = unsafe { libc::getrandom(rest.as_mut_ptr().cast(), rest.len(), 0) };
        if n < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        done += n as usize;
    }
    Ok(())
}

/// A random locally administered unicast MAC, like solo5-hvt's default.
fn random_mac() -> [u8; 6] {
    let mut mac = [0u8; 6];
    if let Err(e) = getrandom(&mut mac) {
        std::eprintln!("resolver-unix: getrandom failed: {e}");
        std::process::exit(1);
    }
    mac[0] = (mac[0] & 0xfe) | 0x02;
    mac
}

impl Platform {
    /// The body of the `fn main` that [`entry!`](crate::entry) defines: set the platform up
    /// from `std::env::args`, run `app_main`, exit with its status. A bad command line or a
    /// TAP that cannot be attached is one line on stderr and exit status 1. `--help` (or
    /// `-h`) before any `--` prints [`USAGE`] first and runs the app without a network
    /// device, so that it can print the boot arguments' usage too.
    #[doc(hidden)]
    pub fn __unix_main(app_main: fn(Platform) -> i32) -> ! {
        let args: std::vec::Vec<String> = std::env::args_os()
            .skip(1)
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        if args
            .iter()
            .take_while(|a| *a != "--")
            .any(|a| a == "--help" || a == "-h")
        {
            std::println!("{USAGE}");
        }
        let platform = match Platform::from_args(&args) {
            Ok(p) => p,
            Err(e) => {
                std::eprintln!("resolver-unix: {e}");
                std::process::exit(1);
            }
        };
        let status = app_main(platform);
        let _ = std::io::stdout().flush();
        std::process::exit(status)
    }
}

/// Defines the program entry. On unix: `fn main`, which parses
/// `resolver-unix --net:service=TAP [--net-mac:service=MAC] [--] BOOT-ARGS…`, attaches
/// the TAP, calls `app_main(platform)` and exits the process with its return value.
///
/// ```no_run
/// fn app_main(p: platform::Platform) -> i32 {
///     p.console_write(p.cmdline().as_bytes());
///     0
/// }
/// platform::entry!(app_main);
/// ```
#[macro_export]
macro_rules! entry {
    ($app_main:path) => {
        fn main() {
            let app_main: fn($crate::Platform) -> i32 = $app_main;
            $crate::Platform::__unix_main(app_main)
        }
    };
}

#[cfg(test)]
mod tests;
