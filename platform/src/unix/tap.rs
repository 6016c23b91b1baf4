//! A Linux TAP device: the unix backend's network interface.
//!
//! Like solo5-hvt, this attaches to a TAP interface that already exists (`ip tuntap add
//! tap0 mode tap`) and never creates one: TUNSETIFF on a missing name would silently make
//! a new, unconfigured interface. Frames are raw Ethernet (`IFF_NO_PI`), the fd is
//! non-blocking, and readiness is waited for with ppoll(2).

// `std` is linked by `unix/mod.rs` (the crate is no_std for the solo5 build).
use super::std;

use std::ffi::CString;
use std::fmt;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::string::String;

/// Why a TAP interface could not be attached.
#[derive(Debug)]
pub enum TapError {
    /// No interface of that name exists.
    NoSuchInterface(String),
    /// The interface exists but is not a TAP device (a TUN, a bridge, a NIC…).
    NotATap(String),
    /// Another process holds the TAP already (a single-queue TAP has one reader).
    Busy(String),
    /// Not allowed: needs CAP_NET_ADMIN, or a TAP created with `user` set to us.
    PermissionDenied(String),
    /// Anything else the kernel said.
    Os(String, io::Error),
}

impl fmt::Display for TapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TapError::NoSuchInterface(n) => write!(
                f,
                "cannot attach TAP {n:?}: no such interface (create it first: ip tuntap add {n} mode tap)"
            ),
            TapError::NotATap(n) => write!(
                f,
                "cannot attach TAP {n:?}: the interface exists but is not a TAP device"
            ),
            TapError::Busy(n) => write!(
                f,
                "cannot attach TAP {n:?}: it is already in use by another process"
            ),
            TapError::PermissionDenied(n) => write!(
                f,
                "cannot attach TAP {n:?}: permission denied (run as root, or create it with: ip tuntap add {n} mode tap user $USER)"
            ),
            TapError::Os(n, e) => write!(f, "cannot attach TAP {n:?}: {e}"),
        }
    }
}

impl std::error::Error for TapError {}

/// An attached TAP device.
#[derive(Debug)]
pub struct Tap {
    fd: OwnedFd,
    mtu: u16,
}

/// An `ifreq` with `name` filled in. The caller has checked the name's length.
fn ifreq(name: &str) -> libc::ifreq {
    // SAFETY: ifreq is plain old data (a name array and a union of integers, addresses
    // and a pointer); all-zero is a valid value for every member.
    let mut ifr: libc::ifreq = unsafe { std::mem::zeroed() };
    for (dst, src) in ifr
        .ifr_name
        .iter_mut()
        .zip(name.bytes())
        .take(libc::IFNAMSIZ - 1)
    {
        *dst = src as libc::c_char;
    }
    ifr
}

impl Tap {
    /// Attaches the existing TAP interface `name`.
    pub fn open(name: &str) -> Result<Tap, TapError> {
        let owned = || String::from(name);
        if !super::args::valid_ifname(name) {
            return Err(TapError::NoSuchInterface(owned()));
        }
        let cname = CString::new(name).map_err(|_| TapError::NoSuchInterface(owned()))?;
        // SAFETY: cname is a valid NUL-terminated string that outlives the call.
        if unsafe { libc::if_nametoindex(cname.as_ptr()) } == 0 {
            return Err(TapError::NoSuchInterface(owned()));
        }

        // SAFETY: a plain open(2) of a constant, NUL-terminated path.
        let raw = unsafe {
            libc::open(
                c"/dev/net/tun".as_ptr(),
                libc::O_RDWR | libc::O_NONBLOCK | libc::O_CLOEXEC,
            )
        };
        if raw < 0 {
            let e = io::Error::last_os_error();
            return Err(match e.raw_os_error() {
                Some(libc::EACCES | libc::EPERM) => TapError::PermissionDenied(owned()),
                _ => TapError::Os(owned(), e),
            });
        }
        // SAFETY: raw is a file descriptor we just opened and own exclusively.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };

        let mut ifr = ifreq(name);
        ifr.ifr_ifru.ifru_flags = (libc::IFF_TAP | libc::IFF_NO_PI) as libc::c_short;
        // SAFETY: TUNSETIFF reads and writes one ifreq, which lives on our stack for the
        // whole call.
        if unsafe { libc::ioctl(fd.as_raw_fd(), libc::TUNSETIFF as _, &mut ifr) } < 0 {
            let e = io::Error::last_os_error();
            return Err(match e.raw_os_error() {
                Some(libc::EINVAL) => TapError::NotATap(owned()),
                Some(libc::EBUSY) => TapError::Busy(owned()),
                Some(libc::EPERM | libc::EACCES) => TapError::PermissionDenied(owned()),
                _ => TapError::Os(owned(), e),
            });
        }
        let mtu = interface_mtu(name).map_err(|e| TapError::Os(owned(), e))?;
        Ok(Tap { fd, mtu })
    }

    /// The interface's MTU as the kernel reported it when attaching.
    pub fn mtu(&self) -> u16 {
        self.mtu
    }

    /// The file descriptor, for polling.
    pub fn raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// Reads one frame. `Ok(None)`: nothing is waiting.
    pub fn read(&self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        loop {
            // SAFETY: buf is valid for writes of buf.len() bytes for the whole call.
            let n = unsafe { libc::read(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
            if n >= 0 {
                return Ok(Some(n as usize).filter(|&n| n > 0));
            }
            let e = io::Error::last_os_error();
            match e.kind() {
                io::ErrorKind::Interrupted => continue,
                io::ErrorKind::WouldBlock => return Ok(None),
                _ => return Err(e),
            }
        }
    }

    /// Writes one frame, whole.
    pub fn write(&self, frame: &[u8]) -> io::Result<()> {
        loop {
            // SAFETY: frame is valid for reads of frame.len() bytes for the whole call.
            let n = unsafe { libc::write(self.fd.as_raw_fd(), frame.as_ptr().cast(), frame.len()) };
            if n >= 0 {
                return if n as usize == frame.len() {
                    Ok(())
                } else {
                    Err(io::Error::from(io::ErrorKind::WriteZero))
                };
            }
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
    }
}

/// ppoll(2) on `fd` (or on nothing, as a precise sleep) with an optional timeout.
pub fn poll_fd(fd: Option<RawFd>, timeout_ns: Option<u64>) -> bool {
    let ts = timeout_ns.map(|ns| libc::timespec {
        tv_sec: i64::try_from(ns / 1_000_000_000).unwrap_or(i64::MAX) as _,
        tv_nsec: (ns % 1_000_000_000) as _,
    });
    let ts_ptr = ts
        .as_ref()
        .map_or(std::ptr::null(), |t| t as *const libc::timespec);
    let mut pfd = libc::pollfd {
        fd: fd.unwrap_or(-1),
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: pfd and ts live on our stack for the whole call; a negative fd is ignored
    // by the kernel, which then only sleeps.
    let n = unsafe { libc::ppoll(&mut pfd, 1, ts_ptr, std::ptr::null()) };
    n > 0 && pfd.revents & (libc::POLLIN | libc::POLLERR | libc::POLLHUP) != 0
}

/// SIOCGIFMTU of interface `name`, asked through a throwaway datagram socket.
fn interface_mtu(name: &str) -> io::Result<u16> {
    // SAFETY: a plain socket(2) call; the fd is owned right below.
    let raw = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if raw < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: raw is a file descriptor we just opened and own exclusively.
    let sock = unsafe { OwnedFd::from_raw_fd(raw) };
    let mut ifr = ifreq(name);
    // SAFETY: SIOCGIFMTU reads the name from and writes the MTU into our ifreq.
    if unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCGIFMTU as _, &mut ifr) } < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: after a successful SIOCGIFMTU the union holds ifru_mtu.
    let mtu = unsafe { ifr.ifr_ifru.ifru_mtu };
    u16::try_from(mtu).map_err(|_| io::Error::other(std::format!("MTU {mtu} out of range")))
}
