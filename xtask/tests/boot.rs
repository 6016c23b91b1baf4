//! Boots the x86_64 image under a real `solo5-hvt` and checks the three boot outcomes the
//! smoke-test `main` has: banner and exit 0, a panic (message + location, 255) and a page
//! fault (registers, 255).
//!
//! Runs only when `SOLO5_HVT` names a solo5-hvt binary (it is not part of this repo) on an
//! x86_64 host with /dev/kvm, as root (it creates a TAP device and removes it afterwards).

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use xtask::arch::Arch;
use xtask::build::build_hvt;
use xtask::cli::Profile;

/// A TAP device that exists for the test's lifetime.
struct Tap(String);

impl Tap {
    fn create() -> Tap {
        let name = format!("xtask{}", std::process::id() % 100_000);
        let ok = |args: &[&str]| {
            Command::new("ip")
                .args(args)
                .status()
                .is_ok_and(|s| s.success())
        };
        assert!(
            ok(&["tuntap", "add", &name, "mode", "tap"]) && ok(&["link", "set", &name, "up"]),
            "cannot create TAP {name} (needs root and iproute2)"
        );
        Tap(name)
    }
}

impl Drop for Tap {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["link", "del", &self.0]).status();
    }
}

/// Runs the tender; returns (exit status, stdout + stderr). Kills it after 60 s.
fn boot(hvt: &str, tap: &Tap, image: &std::path::Path, args: &[&str]) -> (i32, String) {
    let mut child = Command::new(hvt)
        .arg("--mem=64")
        .arg(format!("--net:service={}", tap.0))
        .arg(image)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run solo5-hvt");
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for solo5-hvt") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("solo5-hvt {args:?} still running after 60 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    (status.code().unwrap_or(-1), out)
}

#[test]
fn x86_64_image_boots_panics_and_faults_under_solo5_hvt() {
    let Ok(hvt) = std::env::var("SOLO5_HVT") else {
        eprintln!("not run: set SOLO5_HVT=/path/to/solo5-hvt to boot the image");
        return;
    };
    if Arch::host().ok() != Some(Arch::X86_64) {
        eprintln!("not run: solo5-hvt boots only images of the host's arch");
        return;
    }
    let built = build_hvt(Arch::X86_64, &Profile::Dev).expect("build the image");
    let tap = Tap::create();

    let (status, out) = boot(
        &hvt,
        &tap,
        &built.path,
        &["--solo5:debug", "--ipv4=10.0.0.2/24"],
    );
    assert_eq!(status, 0, "{out}");
    assert!(out.contains("on solo5-hvt (x86_64)"), "{out}");
    assert!(out.contains("mtu "), "{out}");
    assert!(out.contains("cmdline: \"--ipv4=10.0.0.2/24\""), "{out}");
    assert!(out.contains("poll 2: woke after"), "{out}");

    let (status, out) = boot(&hvt, &tap, &built.path, &["--selftest-panic"]);
    assert_eq!(status, 255, "{out}");
    assert!(
        out.contains("Solo5: panic at resolver/src/main.rs:")
            && out.contains("--selftest-panic was given"),
        "{out}"
    );

    let (status, out) = boot(&hvt, &tap, &built.path, &["--selftest-fault"]);
    assert_eq!(status, 255, "{out}");
    assert!(out.contains("exception 14 (#PF page fault)"), "{out}");
    assert!(out.contains("cr2=0x0000000000000008"), "{out}");
    assert!(
        out.contains("rip=0x") && out.contains("rsp=0x") && out.contains("rflags=0x"),
        "{out}"
    );
}
