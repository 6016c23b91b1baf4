//! Hand-assembled hvt images for the tender's own tests and fuzz targets: one place that
//! knows how to lay out a minimal valid image, so the boot tests, the hostile-guest test
//! and the loader fuzz target all start from the same bytes.

/// Where the image's code is loaded and its entry point.
pub const TEXT: u64 = 0x10_0000;

/// A Solo5 note: header, `align_pad` zero bytes, then `desc`.
fn note(kind: u32, align_pad: usize, desc: &[u8]) -> Vec<u8> {
    let mut n = Vec::new();
    n.extend_from_slice(&6u32.to_le_bytes());
    n.extend_from_slice(&((align_pad + desc.len()) as u32).to_le_bytes());
    n.extend_from_slice(&kind.to_le_bytes());
    n.extend_from_slice(b"Solo5\0\0\0");
    n.extend(std::iter::repeat_n(0, align_pad));
    n.extend_from_slice(desc);
    n
}

/// An x86_64 hvt image: one R+X PT_LOAD with `code` at 0x100000, the ABI1 note and a manifest
/// with the reserved entry plus the devices in `devices` (name, type).
pub fn image(code: &[u8], devices: &[(&str, u32)]) -> Vec<u8> {
    let mut abi = Vec::new();
    for v in [1u32, 2, 0, 0] {
        abi.extend_from_slice(&v.to_le_bytes());
    }
    let abi = note(0x3149_4241, 0, &abi);
    let mut mft = Vec::new();
    mft.extend_from_slice(&1u32.to_le_bytes());
    mft.extend_from_slice(&(1 + devices.len() as u32).to_le_bytes());
    let mut entry = [0u8; 104];
    entry[68..72].copy_from_slice(&(1u32 << 30).to_le_bytes());
    mft.extend_from_slice(&entry);
    for (name, kind) in devices {
        let mut e = [0u8; 104];
        e[..name.len()].copy_from_slice(name.as_bytes());
        e[68..72].copy_from_slice(&kind.to_le_bytes());
        mft.extend_from_slice(&e);
    }
    let mft = note(0x3154_464d, 4, &mft);

    let (abi_off, mft_off, code_off) = (0x200u64, 0x300u64, 0x1000u64);
    assert!(mft_off as usize + mft.len() <= code_off as usize);
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
    let mut put = |off: u64, data: &[u8]| {
        let end = off as usize + data.len();
        if b.len() < end {
            b.resize(end, 0);
        }
        b[off as usize..end].copy_from_slice(data);
    };
    put(abi_off, &abi);
    put(mft_off, &mft);
    put(code_off, code);
    b
}
