//! Tests of the unix backend. The TAP test needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN
//! for a private network namespace) and skips itself with a message otherwise.

use super::std;
use super::*;
use std::process::Command;
use std::string::ToString;
use std::time::{Duration, Instant};
use std::vec::Vec;

#[test]
fn missing_tap_is_a_clear_error() {
    let e = Platform::from_args(["--net:service=rsv-no-such0", "--ipv4=10.0.0.2/24"]).unwrap_err();
    assert_eq!(
        e.to_string(),
        r#"cannot attach TAP "rsv-no-such0": no such interface (create it first: ip tuntap add rsv-no-such0 mode tap)"#
    );
    let e = Platform::from_args(["--ipv4=10.0.0.2/24"]).unwrap_err();
    assert!(matches!(e, StartError::Args(ArgsError::MissingTap)), "{e}");
}

#[test]
fn help_runs_without_a_device() {
    let mut p = Platform::from_args(["--help"]).unwrap();
    assert_eq!(p.cmdline(), "--help");
    assert_eq!(p.name(), "unix");
    assert_eq!(p.net_mtu(), 1500);
    let mut buf = [0u8; 1514];
    assert_eq!(p.net_read(&mut buf), Ok(None));
    assert_eq!(p.net_read(&mut buf[..100]), Err(NetError::BufferTooSmall));
    assert_eq!(p.net_write(&[0u8; 1515]), Err(NetError::BadFrameLength));
    assert_eq!(p.net_write(&[]), Err(NetError::BadFrameLength));
    // With no device, wait_until is a sleep until the deadline.
    let t0 = Instant::now();
    assert!(!p.wait_until(Some(p.now() + 20_000_000)));
    assert!(t0.elapsed() >= Duration::from_millis(19));
    // A deadline in the past returns at once.
    let t0 = Instant::now();
    assert!(!p.wait_until(Some(0)));
    assert!(t0.elapsed() < Duration::from_millis(100));
}

#[test]
fn clocks_entropy_and_mac() {
    let mut p = Platform::from_args(["--help", "--net-mac:service=02:00:00:00:00:07"]).unwrap();
    assert_eq!(p.net_mac(), [2, 0, 0, 0, 0, 7]);
    let a = p.now();
    let b = p.now();
    assert!(b >= a);
    use embedded_time::Clock;
    let c = MonotonicClock.try_now().unwrap();
    let ticks = c.duration_since_epoch().integer();
    assert!(ticks >= b && ticks <= p.now());
    // After 2020-01-01 and before 2200.
    let wall = p.wall_clock_ns();
    assert!(wall > 1_577_836_800_000_000_000 && wall < 7_258_118_400_000_000_000);
    let mut r1 = [0u8; 32];
    let mut r2 = [0u8; 32];
    p.fill_random(&mut r1);
    p.fill_random(&mut r2);
    assert_ne!(r1, r2);
    assert_eq!(p.entropy_source(), "getrandom");
    #[cfg(target_env = "gnu")]
    {
        let h = p.heap_stats().expect("glibc reports its heap");
        assert!(h.used > 0 && h.used <= h.total, "{h:?}");
    }
    #[cfg(not(target_env = "gnu"))]
    assert!(p.heap_stats().is_none());
    assert!(matches!(p.arch(), "x86_64" | "aarch64"));
    for _ in 0..16 {
        let m = random_mac();
        assert_eq!(m[0] & 0x03, 0x02, "unicast, locally administered: {m:02x?}");
    }
}

#[test]
fn log_line_format() {
    let args = format_args!("answered {} queries", 3);
    let record = log::Record::builder()
        .level(log::Level::Warn)
        .target("engine")
        .args(args)
        .build();
    assert_eq!(
        logger::format_line(12_345_678_901, &record),
        "[   12.345678] WARN  engine: answered 3 queries\n"
    );
}

fn ip(args: &[&str]) -> bool {
    Command::new("ip")
        .args(args)
        .stderr(std::process::Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// An ARP request from 10.200.0.2 (`mac`) for 10.200.0.1.
fn arp_request(mac: [u8; 6]) -> Vec<u8> {
    let mut f = Vec::new();
    f.extend_from_slice(&[0xff; 6]);
    f.extend_from_slice(&mac);
    f.extend_from_slice(&[0x08, 0x06, 0, 1, 0x08, 0x00, 6, 4, 0, 1]);
    f.extend_from_slice(&mac);
    f.extend_from_slice(&[10, 200, 0, 2]);
    f.extend_from_slice(&[0; 6]);
    f.extend_from_slice(&[10, 200, 0, 1]);
    f
}

/// In a private network namespace (this thread's only): make a TAP with `ip tuntap`,
/// attach it, have the kernel answer an ARP request written through it, check the
/// errors for a busy TAP and a non-TAP interface, and delete it.
#[test]
fn tap_round_trip_in_a_private_netns() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        std::eprintln!("skipped tap_round_trip_in_a_private_netns: needs root");
        return;
    }
    let handle = std::thread::spawn(|| {
        // SAFETY: unshare only changes this thread's namespace, which dies with it.
        if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
            std::eprintln!(
                "skipped tap_round_trip_in_a_private_netns: unshare(CLONE_NEWNET): {}",
                std::io::Error::last_os_error()
            );
            return;
        }
        assert!(ip(&["tuntap", "add", "dev", "rtap0", "mode", "tap"]));
        assert!(ip(&["addr", "add", "10.200.0.1/24", "dev", "rtap0"]));
        assert!(ip(&["link", "set", "rtap0", "mtu", "1400", "up"]));

        let mac = [0x02, 0, 0, 0, 0, 0x02];
        let mut p = Platform::from_args([
            "--net:service=rtap0",
            "--net-mac:service=02:00:00:00:00:02",
            "--",
            "--ipv4=10.200.0.2/24",
        ])
        .unwrap();
        assert_eq!(p.net_mtu(), 1400);
        assert_eq!(p.cmdline(), "--ipv4=10.200.0.2/24");

        // A second attach of a single-queue TAP is refused, and so is a non-TAP.
        let e = Platform::from_args(["--net:service=rtap0"]).unwrap_err();
        assert_eq!(
            e.to_string(),
            r#"cannot attach TAP "rtap0": it is already in use by another process"#
        );
        let e = Platform::from_args(["--net:service=lo"]).unwrap_err();
        assert_eq!(
            e.to_string(),
            r#"cannot attach TAP "lo": the interface exists but is not a TAP device"#
        );

        // The kernel turns the TAP's queue on only when its link watcher notices the carrier
        // (up to a second after attaching), dropping what it sends before: so, like any ARP
        // client, ask again every 100 ms.
        let deadline = p.now() + 5_000_000_000;
        let mut buf = [0u8; 1514];
        let mut got_reply = false;
        while !got_reply && p.now() < deadline {
            p.net_write(&arp_request(mac)).unwrap();
            let retry = p.now() + 100_000_000;
            while !got_reply && p.wait_until(Some(retry)) {
                // Other frames (IPv6 router solicitations, MLD) may come too: skip them.
                while let Some(n) = p.net_read(&mut buf).unwrap() {
                    let f = &buf[..n];
                    if n >= 42 && f[12..14] == [0x08, 0x06] && f[20..22] == [0, 2] {
                        assert_eq!(&f[0..6], &mac, "reply is addressed to us");
                        assert_eq!(&f[28..32], &[10, 200, 0, 1], "from the kernel's address");
                        got_reply = true;
                    }
                }
            }
        }
        assert!(got_reply, "no ARP reply through the TAP");
        drop(p);
        assert!(ip(&["tuntap", "del", "dev", "rtap0", "mode", "tap"]));
        assert!(!ip(&["link", "show", "rtap0"]));
    });
    handle.join().unwrap();
}

#[test]
fn wait_until_wakes_for_a_frame() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        std::eprintln!("skipped wait_until_wakes_for_a_frame: needs root");
        return;
    }
    std::thread::spawn(|| {
        // SAFETY: unshare only changes this thread's namespace, which dies with it.
        if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
            std::eprintln!("skipped wait_until_wakes_for_a_frame: no netns");
            return;
        }
        assert!(ip(&["tuntap", "add", "dev", "rtap1", "mode", "tap"]));
        assert!(ip(&["addr", "add", "10.201.0.1/24", "dev", "rtap1"]));
        let mut p = Platform::from_args(["--net:service=rtap1"]).unwrap();
        // Down: no frames at all, so a wait times out after its deadline.
        let t0 = Instant::now();
        assert!(!p.wait_until(Some(p.now() + 30_000_000)));
        assert!(t0.elapsed() >= Duration::from_millis(29));
        // Up: the kernel pings us (ARP first), and the wait returns for it well before
        // its deadline.
        assert!(ip(&["link", "set", "rtap1", "up"]));
        let pinger = Command::new("ping")
            .args(["-c", "1", "-W", "1", "10.201.0.2"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn();
        let t0 = Instant::now();
        assert!(p.wait_until(Some(p.now() + 5_000_000_000)));
        assert!(t0.elapsed() < Duration::from_secs(4));
        let mut buf = [0u8; 1514];
        assert!(matches!(p.net_read(&mut buf), Ok(Some(n)) if n >= 14));
        if let Ok(mut child) = pinger {
            let _ = child.wait();
        }
        drop(p);
        assert!(ip(&["tuntap", "del", "dev", "rtap1", "mode", "tap"]));
    })
    .join()
    .unwrap();
}
