//! NET_BASIC devices: attach an existing, up TAP interface (`--net:NAME=IFACE`).

use std::fs::{File, OpenOptions};
use std::io::{self, Read};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;

/// An attached TAP interface.
#[derive(Debug)]
pub struct Tap {
    pub file: File,
    pub mtu: u16,
}

// `c_char` is i8 on x86_64 and u8 on aarch64: the casts are needed on one of them.
#[allow(clippy::unnecessary_cast)]
fn ifreq_for(iface: &str) -> Result<libc::ifreq, String> {
    let bytes = iface.as_bytes();
    if bytes.is_empty() || bytes.len() >= libc::IFNAMSIZ {
        return Err(format!(
            "interface name must be 1 to {} characters",
            libc::IFNAMSIZ - 1
        ));
    }
    if bytes
        .iter()
        .any(|b| *b == 0 || *b == b'/' || b.is_ascii_whitespace())
    {
        return Err("invalid interface name".into());
    }
    // SAFETY: `ifreq` is plain C data (arrays, integers, a union of them); all zeroes is a
    // valid value.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (d, s) in req.ifr_name.iter_mut().zip(bytes) {
        *d = *s as libc::c_char;
    }
    Ok(req)
}

#[allow(clippy::unnecessary_cast)]
fn ifreq_name(req: &libc::ifreq) -> String {
    let b: Vec<u8> = req
        .ifr_name
        .iter()
        .take_while(|c| **c != 0)
        .map(|c| *c as u8)
        .collect();
    String::from_utf8_lossy(&b).into_owned()
}

/// An `AF_INET` datagram socket for interface ioctls.
fn ioctl_socket() -> io::Result<OwnedFd> {
    // SAFETY: plain socket(2); the result is checked and then owned.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` is a fresh descriptor nobody else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Opens `iface` (which must exist and be up) as a TAP with no packet-info header, in
/// non-blocking mode, and reads its MTU.
pub fn attach(iface: &str) -> Result<Tap, String> {
    let sock = ioctl_socket().map_err(|e| format!("socket: {e}"))?;
    let mut req = ifreq_for(iface)?;
    // SAFETY: SIOCGIFFLAGS reads `ifr_name` and writes `ifr_flags` inside `req`, which is a
    // properly sized, initialised `ifreq` living for the whole call.
    if unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCGIFFLAGS as _, &mut req) } < 0 {
        let e = io::Error::last_os_error();
        return Err(if e.raw_os_error() == Some(libc::ENODEV) {
            "no such interface (create it first, e.g. `ip tuntap add IFACE mode tap`)".into()
        } else {
            format!("SIOCGIFFLAGS: {e}")
        });
    }
    // SAFETY: SIOCGIFFLAGS succeeded, so the kernel filled the `ifru_flags` member.
    let flags = i32::from(unsafe { req.ifr_ifru.ifru_flags });
    if flags & (libc::IFF_UP | libc::IFF_RUNNING) == 0 {
        return Err("interface is not up (`ip link set IFACE up`)".into());
    }

    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open("/dev/net/tun")
        .map_err(|e| format!("/dev/net/tun: {e}"))?;
    let mut req = ifreq_for(iface)?;
    req.ifr_ifru.ifru_flags = (libc::IFF_TAP | libc::IFF_NO_PI) as libc::c_short;
    // SAFETY: TUNSETIFF reads the name and flags from `req` and may write the name back;
    // `req` is a valid `ifreq` for the whole call and `file` is an open tun device.
    if unsafe { libc::ioctl(file.as_raw_fd(), libc::TUNSETIFF as _, &mut req) } < 0 {
        let e = io::Error::last_os_error();
        return Err(format!(
            "TUNSETIFF: {e} (is it a TAP device, not in use by another process?)"
        ));
    }
    let got = ifreq_name(&req);
    if got != iface {
        return Err(format!("kernel attached `{got}' instead"));
    }

    disable_offloads(&sock, iface);

    let mut req = ifreq_for(iface)?;
    // SAFETY: SIOCGIFMTU reads `ifr_name` and writes `ifr_mtu` inside `req`, valid for the
    // whole call.
    if unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCGIFMTU as _, &mut req) } < 0 {
        return Err(format!("SIOCGIFMTU: {}", io::Error::last_os_error()));
    }
    // SAFETY: SIOCGIFMTU succeeded, so the kernel filled the `ifru_mtu` member.
    let mtu = unsafe { req.ifr_ifru.ifru_mtu };
    let mtu = u16::try_from(mtu).map_err(|_| format!("MTU {mtu} out of range"))?;
    Ok(Tap { file, mtu })
}

/// `SIOCETHTOOL` and the ethtool commands that switch GRO and GSO (linux/ethtool.h).
const SIOCETHTOOL: u64 = 0x8946;
const ETHTOOL_SGSO: u32 = 0x24;
const ETHTOOL_SGRO: u32 = 0x2c;

/// Best effort, as Solo5 0.11+: with GRO or GSO on, the kernel may hand the TAP merged
/// frames larger than the MTU, which a guest sizing its buffers by the MTU would truncate.
fn disable_offloads(sock: &OwnedFd, iface: &str) {
    for cmd in [ETHTOOL_SGRO, ETHTOOL_SGSO] {
        // struct ethtool_value { u32 cmd; u32 data; }
        let mut value: [u32; 2] = [cmd, 0];
        let Ok(mut req) = ifreq_for(iface) else {
            return;
        };
        req.ifr_ifru.ifru_data = value.as_mut_ptr().cast();
        // SAFETY: SIOCETHTOOL reads the name from `req` and the command from `value`
        // through `ifr_data`; both live across the call. Failure is ignored on purpose.
        unsafe {
            libc::ioctl(sock.as_raw_fd(), SIOCETHTOOL as _, &mut req);
        }
    }
}

/// A random unicast, locally administered MAC address (from /dev/urandom, as Solo5).
pub fn random_mac() -> io::Result<[u8; 6]> {
    let mut mac = [0u8; 6];
    File::open("/dev/urandom")?.read_exact(&mut mac)?;
    mac[0] &= 0xfe;
    mac[0] |= 0x02;
    Ok(mac)
}

/// Parses `xx:xx:xx:xx:xx:xx` (hex, one or two digits per byte, like `%02hhx`).
pub fn parse_mac(s: &str) -> Option<[u8; 6]> {
    let mut mac = [0u8; 6];
    let mut parts = s.split(':');
    for b in mac.iter_mut() {
        let p = parts.next()?;
        if p.is_empty() || p.len() > 2 {
            return None;
        }
        *b = u8::from_str_radix(p, 16).ok()?;
    }
    parts.next().is_none().then_some(mac)
}

/// Checks the interface name syntax without touching the system.
pub fn valid_iface(iface: &str) -> bool {
    ifreq_for(iface).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macs() {
        assert_eq!(
            parse_mac("02:00:00:aa:BB:0f"),
            Some([2, 0, 0, 0xaa, 0xbb, 0x0f])
        );
        assert_eq!(parse_mac("2:0:0:a:b:f"), Some([2, 0, 0, 0xa, 0xb, 0xf]));
        assert_eq!(parse_mac("02:00:00:aa:bb"), None);
        assert_eq!(parse_mac("02:00:00:aa:bb:cc:dd"), None);
        assert_eq!(parse_mac("02:00:00:aa:bb:ccc"), None);
        assert_eq!(parse_mac("02:00:00:aa:bb:zz"), None);
        let m = random_mac().unwrap();
        assert_eq!(m[0] & 0x03, 0x02, "unicast, locally administered");
    }

    #[test]
    fn iface_names() {
        assert!(valid_iface("tap0"));
        assert!(valid_iface("a234567890abcde"));
        assert!(!valid_iface("a234567890abcdef"));
        assert!(!valid_iface(""));
        assert!(!valid_iface("a b"));
    }

    #[test]
    fn attaching_a_missing_interface_says_so() {
        let e = attach("nosuchtap9").unwrap_err();
        assert!(
            e.contains("no such interface") || e.contains("socket"),
            "{e}"
        );
    }
}
