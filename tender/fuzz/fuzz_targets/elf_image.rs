//! Any bytes as an hvt image: the tender's loader checks (`elf::check`) must refuse
//! cleanly or return a load plan that stays inside the file and inside guest memory.
//!
//! The first byte picks the mode: raw bytes as the whole image, or the bytes written over
//! a valid minimal image at an offset (so the fuzzer starts past the ELF magic and reaches
//! the program headers, the notes and the manifest without a seed corpus).
#![no_main]

use hvt_abi::GUEST_MIN_BASE;
use libfuzzer_sys::fuzz_target;
use tender::elf::{self, EM_AARCH64, EM_X86_64};

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let image = if sel & 1 == 0 {
        rest.to_vec()
    } else {
        let Some((&at, patch)) = rest.split_first() else {
            return;
        };
        let mut img = valid_image();
        let at = usize::from(at) * 8 % img.len();
        for (i, b) in patch.iter().enumerate() {
            if let Some(slot) = img.get_mut(at + i) {
                *slot = *b;
            } else {
                img.push(*b);
            }
        }
        img
    };
    let machine = if sel & 2 == 0 { EM_X86_64 } else { EM_AARCH64 };
    // Small, odd and maximal guest sizes.
    let mem_size: u64 = match (sel >> 2) & 3 {
        0 => 2 << 20,
        1 => 32 << 20,
        2 => 4 << 30,
        _ => u64::from(sel) << 20,
    };
    let Ok((inspected, plan)) = elf::check(&image, machine, mem_size) else {
        return;
    };
    assert_eq!(inspected.header.machine, machine);
    assert!(plan.entry >= GUEST_MIN_BASE && plan.entry < mem_size);
    assert!(plan.kernel_end <= mem_size);
    assert!(!inspected.manifest.entries.is_empty());
    for s in &plan.segments {
        let file_end = s
            .offset
            .checked_add(s.filesz)
            .expect("file range overflows");
        assert!(
            file_end <= image.len() as u64,
            "segment past end of file: {s:?}"
        );
        assert!(s.filesz <= s.memsz, "{s:?}");
        let mem_end = s
            .vaddr
            .checked_add(s.memsz)
            .expect("memory range overflows");
        assert!(mem_end <= mem_size, "segment past end of memory: {s:?}");
        assert!(
            s.vaddr >= GUEST_MIN_BASE,
            "segment below the guest base: {s:?}"
        );
        assert!(
            s.start <= s.vaddr && s.end >= mem_end && s.end <= mem_size,
            "{s:?}"
        );
    }
});

/// The smallest image the tender accepts: one R+X PT_LOAD at 0x100000 (all `hlt`), the
/// ABI1 note and a manifest with only the reserved entry.
fn valid_image() -> Vec<u8> {
    tender::testimage::image(&[0xf4; 16], &[])
}
