//! The aarch64 image booted for real, in CI: an emulated arm64 machine (QEMU TCG with
//! EL2) whose Debian kernel has KVM runs the aarch64 tender, which boots the aarch64
//! `resolver.hvt` on a TAP. Inside, the unikernel must answer ping and a DNS query it
//! forwards to a one-zone server, and a deliberate fault must be reported by its arm64
//! exception vectors (status 255). Same code as `cargo xtask test-aarch64`.

use e2e::aarch64::{self, Artifacts};

#[test]
fn aarch64_image_boots_answers_ping_and_dns_under_emulated_arm64_kvm() -> e2e::Result<()> {
    let art = Artifacts::from_env()?;
    let r = aarch64::run(&art, aarch64::DEFAULT_TIMEOUT)?;
    eprintln!(
        "aarch64: machine boot {:?}, tender to ready {:?}, to ping {:?}, whole run {:?}\n{}",
        r.machine_boot, r.boot_to_ready, r.boot_to_ping, r.total, r.hypercalls
    );
    assert!(
        r.console.contains("on solo5-hvt (aarch64)"),
        "the banner does not name aarch64"
    );
    assert!(r.hypercalls.contains("net_write="), "{}", r.hypercalls);
    Ok(())
}
