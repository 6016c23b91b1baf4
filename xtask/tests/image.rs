//! Builds the hvt image for both arches through `cargo xtask build`'s own code path and
//! checks each ELF the way solo5-hvt will: ET_EXEC for the right machine, entry and every
//! loaded segment at or above 0x100000 on 4 KiB pages, no W+X, and the ABI and manifest
//! notes, each first in its own PT_NOTE, with the values the tender requires.

use hvt_abi::mft;
use tender::elf::{Inspected, PF_W, PF_X, PT_LOAD, PT_NOTE, Phdr};
use xtask::arch::Arch;
use xtask::build::build_hvt;
use xtask::cli::Profile;

/// `inspect` has already checked ELF64, little-endian, ET_EXEC, `e_machine` and the two
/// notes' contents (ABI1 = hvt v2, a well-formed MFT1); this checks the layout.
fn check(arch: Arch, bytes: &[u8], image: &Inspected) {
    let entry = image.header.entry;
    assert!(entry >= 0x10_0000, "{arch}: entry {entry:#x}");
    let phdrs: Vec<Phdr> = tender::elf::phdrs(bytes, &image.header)
        .map(|(_, p)| p)
        .collect();
    assert_eq!(
        phdrs.len(),
        usize::from(image.header.phnum),
        "{arch}: phdrs"
    );

    let loads: Vec<_> = phdrs.iter().filter(|p| p.p_type == PT_LOAD).collect();
    assert!(
        loads.len() >= 3,
        "{arch}: text, rodata and data/bss segments"
    );
    for s in &loads {
        assert!(s.vaddr >= 0x10_0000, "{arch}: segment at {:#x}", s.vaddr);
        assert_eq!(s.vaddr % 0x1000, 0, "{arch}: segment at {:#x}", s.vaddr);
        assert_eq!(s.align, 0x1000, "{arch}: p_align");
        assert!(
            s.flags & PF_W == 0 || s.flags & PF_X == 0,
            "{arch}: W+X segment at {:#x}",
            s.vaddr
        );
    }
    let text = loads
        .iter()
        .find(|s| s.vaddr <= entry && entry < s.vaddr + s.memsz)
        .expect("entry inside a loaded segment");
    assert!(
        text.flags & PF_X != 0 && text.flags & PF_W == 0,
        "{arch}: text is R-X"
    );
    for w in loads.windows(2) {
        assert!(
            w[0].vaddr + w[0].memsz <= w[1].vaddr,
            "{arch}: segments overlap or are out of order"
        );
    }
    assert!(loads.iter().any(|s| s.filesz == 0), "{arch}: bss");

    // One PT_NOTE per Solo5 note: the loader reads only the first note of each, and it
    // found both.
    let pt_notes = phdrs.iter().filter(|p| p.p_type == PT_NOTE).count();
    assert_eq!(pt_notes, 2, "{arch}: PT_NOTE count");
    let devices: Vec<(Vec<u8>, u32)> = image
        .manifest
        .entries
        .iter()
        .map(|e| (e.name().to_vec(), e.kind))
        .collect();
    assert_eq!(
        devices,
        vec![
            (Vec::new(), mft::TYPE_RESERVED_FIRST),
            (b"service".to_vec(), mft::TYPE_NET_BASIC),
        ],
        "{arch}: manifest"
    );
}

#[test]
fn both_arches_build_into_images_solo5_hvt_accepts() {
    for arch in Arch::ALL {
        // Release: the images that ship (and that `cargo xtask test` has just built, so
        // this is a cache hit there).
        let built = build_hvt(arch, &Profile::Release).unwrap_or_else(|e| panic!("{arch}: {e}"));
        // What is installed is what was checked.
        let bytes = std::fs::read(&built.path).expect("installed image");
        assert_eq!(bytes.len() as u64, built.size);
        // The tender's loader (solo5-hvt's rules) takes it, in 32 MiB.
        let (image, _) = tender::elf::check(&bytes, arch.elf_machine(), 32 << 20)
            .unwrap_or_else(|e| panic!("{arch}: the tender refuses the image: {e}"));
        check(arch, &bytes, &image);
        assert_eq!(
            std::fs::read(&built.latest).expect("dist/resolver.hvt"),
            bytes
        );
    }
}
