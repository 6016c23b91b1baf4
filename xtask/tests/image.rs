//! Builds the hvt image for both arches through `cargo xtask build`'s own code path and
//! checks each ELF the way solo5-hvt will: ET_EXEC for the right machine, entry and every
//! loaded segment at or above 0x100000 on 4 KiB pages, no W+X, and the ABI and manifest
//! notes, each first in its own PT_NOTE, with the values the tender requires.

use hvt_abi::mft;
use xtask::arch::Arch;
use xtask::build::build_hvt;
use xtask::cli::Profile;
use xtask::elf::{Device, Image, PF_W, PF_X, PT_LOAD, PT_NOTE};

fn check(arch: Arch, image: &Image) {
    assert_eq!(image.machine, arch.elf_machine(), "{arch}: e_machine");
    assert_eq!(image.kind, 2, "{arch}: ET_EXEC");
    assert!(image.entry >= 0x10_0000, "{arch}: entry {:#x}", image.entry);

    let loads: Vec<_> = image.loads().collect();
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
        .find(|s| s.vaddr <= image.entry && image.entry < s.vaddr + s.memsz)
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

    // One PT_NOTE per Solo5 note, each note first in its segment.
    let pt_notes = image.segments.iter().filter(|s| s.kind == PT_NOTE).count();
    assert_eq!(pt_notes, 2, "{arch}: PT_NOTE count");
    assert_eq!(
        image.notes.len(),
        2,
        "{arch}: one readable note per PT_NOTE"
    );
    assert!(image.notes.iter().all(|n| n.name == b"Solo5"));
    assert_eq!(
        image.solo5_abi(),
        Some((1, 2)),
        "{arch}: ABI1 note = hvt, v2"
    );
    let (version, devices) = image.solo5_manifest().expect("MFT1 note");
    assert_eq!(version, mft::VERSION);
    assert_eq!(
        devices,
        vec![
            Device {
                name: String::new(),
                kind: mft::TYPE_RESERVED_FIRST
            },
            Device {
                name: "service".into(),
                kind: mft::TYPE_NET_BASIC
            },
        ],
        "{arch}: manifest"
    );

    assert!(
        image
            .segments
            .iter()
            .any(|s| s.kind == PT_LOAD && s.filesz == 0),
        "{arch}: bss"
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
        let image = Image::parse(&bytes).expect("ELF");
        check(arch, &image);
        // And the tender's loader (solo5-hvt's rules) takes it, in 32 MiB.
        if let Err(e) = tender::elf::check(&bytes, arch.elf_machine(), 32 << 20) {
            panic!("{arch}: the tender refuses the image: {e}");
        }
        assert_eq!(
            std::fs::read(&built.latest).expect("dist/resolver.hvt"),
            bytes
        );
    }
}
