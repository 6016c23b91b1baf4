//! The aarch64 image booted for real, in CI: an emulated arm64 machine (QEMU TCG with
//! EL2) whose Debian kernel has KVM runs the aarch64 tender, which boots the aarch64
//! `resolver.hvt` on a TAP. Inside, the unikernel must answer ping and a DNS query it
//! forwards to a one-zone server, and a deliberate fault must be reported by its arm64
//! exception vectors (status 255). Same code as `cargo xtask test-aarch64`. A copy of
//! the image with a wrong entry point must fail, with the tender's message.

use e2e::aarch64::{self, Artifacts};

#[test]
fn aarch64_image_boots_answers_ping_and_dns_under_emulated_arm64_kvm() -> e2e::Result<()> {
    let art = Artifacts::from_env()?;
    let r = aarch64::run(&art, "test", aarch64::DEFAULT_TIMEOUT)?;
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

/// `e_entry` moved to the start of the read-only segment, whose first word (the Solo5
/// ABI note's `namesz`, 6) is a permanently undefined instruction: the first instruction
/// faults before the unikernel has installed its exception vectors.
#[test]
fn aarch64_image_with_a_wrong_entry_point_fails_with_the_tenders_message() -> e2e::Result<()> {
    let mut art = Artifacts::from_env()?;
    let mut elf = std::fs::read(&art.image).map_err(|e| e.to_string())?;
    let rodata = read_only_segment(&elf).ok_or("no read-only PT_LOAD in the image")?;
    elf[24..32].copy_from_slice(&rodata.to_le_bytes());
    let dir = aarch64::cache_dir();
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    art.image = dir.join("wrong-entry.hvt");
    std::fs::write(&art.image, &elf).map_err(|e| e.to_string())?;
    let err = match aarch64::run(&art, "wrong-entry", aarch64::DEFAULT_TIMEOUT) {
        Ok(_) => return Err("an image with a wrong entry point passed".into()),
        Err(e) => e,
    };
    assert!(
        err.contains("tender exited with status 1 before the unikernel was ready")
            && err.contains("before installing its own exception vectors")
            && err.contains("synchronous exception from current EL with SP_ELx")
            && err.contains(&format!("elr_el1=0x{rodata:x}")),
        "not the tender's report of an early exception:\n{err}"
    );
    Ok(())
}

/// `p_vaddr` of the first PT_LOAD that is readable only (ELF64, little-endian).
fn read_only_segment(elf: &[u8]) -> Option<u64> {
    let u16_at = |o: usize| Some(u16::from_le_bytes(elf.get(o..o + 2)?.try_into().ok()?));
    let u32_at = |o: usize| Some(u32::from_le_bytes(elf.get(o..o + 4)?.try_into().ok()?));
    let u64_at = |o: usize| Some(u64::from_le_bytes(elf.get(o..o + 8)?.try_into().ok()?));
    let phoff = usize::try_from(u64_at(32)?).ok()?;
    (0..usize::from(u16_at(56)?)).find_map(|i| {
        let ph = phoff + 56 * i;
        (u32_at(ph)? == 1 && u32_at(ph + 4)? == 4).then(|| u64_at(ph + 16))?
    })
}
