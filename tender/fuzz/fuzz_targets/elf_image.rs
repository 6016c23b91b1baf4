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

/// The smallest image the tender accepts (the one `tender/tests/boot.rs` builds): one
/// R+X PT_LOAD at 0x100000, the ABI1 note and a manifest with only the reserved entry.
fn valid_image() -> Vec<u8> {
    const TEXT: u64 = 0x10_0000;
    fn note(kind: u32, pad: usize, desc: &[u8]) -> Vec<u8> {
        let mut n = Vec::new();
        n.extend_from_slice(&6u32.to_le_bytes());
        n.extend_from_slice(&((pad + desc.len()) as u32).to_le_bytes());
        n.extend_from_slice(&kind.to_le_bytes());
        n.extend_from_slice(b"Solo5\0\0\0");
        n.extend(std::iter::repeat_n(0, pad));
        n.extend_from_slice(desc);
        n
    }
    let mut abi = Vec::new();
    for v in [1u32, 2, 0, 0] {
        abi.extend_from_slice(&v.to_le_bytes());
    }
    let abi = note(0x3149_4241, 0, &abi);
    let mut mft = Vec::new();
    mft.extend_from_slice(&1u32.to_le_bytes());
    mft.extend_from_slice(&1u32.to_le_bytes());
    let mut entry = [0u8; 104];
    entry[68..72].copy_from_slice(&(1u32 << 30).to_le_bytes());
    mft.extend_from_slice(&entry);
    let mft = note(0x3154_464d, 4, &mft);
    let code = [0xf4u8; 16];
    let (abi_off, mft_off, code_off) = (0x200u64, 0x300u64, 0x1000u64);
    let mut b = vec![0u8; 64];
    b[..8].copy_from_slice(b"\x7fELF\x02\x01\x01\x00");
    b[16..18].copy_from_slice(&2u16.to_le_bytes());
    b[18..20].copy_from_slice(&62u16.to_le_bytes());
    b[20..24].copy_from_slice(&1u32.to_le_bytes());
    b[24..32].copy_from_slice(&TEXT.to_le_bytes());
    b[32..40].copy_from_slice(&64u64.to_le_bytes());
    b[52..54].copy_from_slice(&64u16.to_le_bytes());
    b[54..56].copy_from_slice(&56u16.to_le_bytes());
    b[56..58].copy_from_slice(&3u16.to_le_bytes());
    let mut ph = |p_type: u32, flags: u32, off: u64, vaddr: u64, size: u64, align: u64| {
        b.extend_from_slice(&p_type.to_le_bytes());
        b.extend_from_slice(&flags.to_le_bytes());
        for v in [off, vaddr, vaddr, size, size, align] {
            b.extend_from_slice(&v.to_le_bytes());
        }
    };
    ph(1, 5, code_off, TEXT, code.len() as u64, 0x1000);
    ph(4, 4, abi_off, 0, abi.len() as u64, 4);
    ph(4, 4, mft_off, 0, mft.len() as u64, 8);
    for (off, data) in [
        (abi_off, &abi[..]),
        (mft_off, &mft[..]),
        (code_off, &code[..]),
    ] {
        let end = off as usize + data.len();
        if b.len() < end {
            b.resize(end, 0);
        }
        b[off as usize..end].copy_from_slice(data);
    }
    b
}
