//! The ELF loader's checks, as pure functions over the image bytes.
//!
//! Nothing here touches a file, guest memory or KVM: [`inspect`] reads the header and the
//! two Solo5 notes, [`plan_load`] decides where every loadable segment goes. Both take
//! untrusted bytes and return `Result`; no input can make them panic (every read goes
//! through a `Bytes` reader, which bounds-checks, and all address arithmetic is checked). This is
//! the surface a fuzz target drives.
//!
//! The rules are those of Solo5 v0.12.1's `tenders/common/elf.c` and `hvt_main.c` (see
//! `hvt-abi.md` §1 and §2); messages say the same things, with more detail where
//! `solo5-hvt` only says "invalid".

use std::fmt;

use hvt_abi::{ABI_TARGET_HVT, ABI_VERSION, GUEST_MIN_BASE, note};

use crate::manifest::{Manifest, ManifestError};

/// `e_machine` values the tender knows by name.
pub const EM_X86_64: u16 = 62;
pub const EM_AARCH64: u16 = 183;

const ET_DYN: u16 = 3;
const ET_EXEC: u16 = 2;
pub const PT_LOAD: u32 = 1;
pub const PT_NOTE: u32 = 4;
pub const PF_X: u32 = 1;
pub const PF_W: u32 = 2;
const PF_R: u32 = 4;
const EHDR_SIZE: u16 = 64;
const PHDR_SIZE: u16 = 56;
/// Segment bounds must be multiples of this (`EM_PAGE_SIZE`).
const PAGE_SIZE: u64 = 0x1000;
/// Size of a plain ELF note header (`Elf64_Nhdr`): a smaller PT_NOTE rejects the image.
const NHDR_SIZE: u64 = 12;
/// Descriptor alignment of the ABI1 note.
const ABI_NOTE_ALIGN: usize = 4;
/// Descriptor alignment of the MFT1 note (the manifest holds u64 fields).
const MFT_NOTE_ALIGN: usize = 8;
/// Largest ABI1 descriptor (`ABI1_NOTE_MAX_SIZE`).
const ABI_NOTE_MAX: u32 = 32;

/// A printable name for an `e_machine` value.
pub fn machine_name(machine: u16) -> String {
    match machine {
        EM_X86_64 => "x86_64".to_string(),
        EM_AARCH64 => "aarch64".to_string(),
        3 => "i386".to_string(),
        40 => "arm".to_string(),
        243 => "riscv".to_string(),
        m => format!("e_machine {m}"),
    }
}

/// Why an image was refused. `Display` gives the text after "`FILE`: ".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ElfError {
    /// Shorter than an ELF header, or header fields that make it unreadable.
    Header(&'static str),
    /// Valid ELF64, but `e_type` is not ET_EXEC.
    NotExec {
        e_type: u16,
    },
    /// Built for another CPU.
    WrongMachine {
        image: u16,
        host: u16,
    },
    /// The program header table does not fit in the file.
    PhdrsOutsideFile,
    /// `e_entry` outside `[GUEST_MIN_BASE, mem_size)`.
    Entry {
        entry: u64,
        mem_size: u64,
    },
    /// A PT_NOTE too small to hold a note header.
    NoteTooSmall {
        phdr: usize,
        filesz: u64,
    },
    /// A Solo5 note whose descriptor size is out of range or outside its PT_NOTE/file.
    NoteSize {
        phdr: usize,
        what: String,
    },
    NoAbiNote,
    NotHvt {
        target: u32,
    },
    AbiMismatch {
        image: u32,
    },
    NoManifest,
    Manifest(ManifestError),
    /// A loadable segment breaks a rule; `what` says which.
    Segment {
        phdr: usize,
        what: String,
    },
}

impl fmt::Display for ElfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const INV: &str = "invalid executable";
        match self {
            ElfError::Header(why) => {
                write!(f, "{INV}: invalid or unsupported executable ({why})")
            }
            ElfError::NotExec { e_type } if *e_type == ET_DYN => write!(
                f,
                "{INV}: ELF type is ET_DYN (a PIE or shared object); hvt loads only \
                 ET_EXEC images (build with -C relocation-model=static)"
            ),
            ElfError::NotExec { e_type } => {
                write!(f, "{INV}: ELF type is {e_type}, hvt loads only ET_EXEC (2)")
            }
            ElfError::WrongMachine { image, host } => write!(
                f,
                "{INV}: the image is built for {} but this tender runs {} guests only",
                machine_name(*image),
                machine_name(*host)
            ),
            ElfError::PhdrsOutsideFile => {
                write!(f, "{INV}: program header table lies outside the file")
            }
            ElfError::Entry { entry, mem_size } => write!(
                f,
                "{INV}: e_entry does not fall within the memory allocation range \
                 (0x{entry:x} < 0x{GUEST_MIN_BASE:x} || 0x{entry:x} >= 0x{mem_size:x})"
            ),
            ElfError::NoteTooSmall { phdr, filesz } => write!(
                f,
                "{INV}: phdr[{phdr}].p_filesz note does not fall within valid size \
                 ({filesz} < {NHDR_SIZE})"
            ),
            ElfError::NoteSize { phdr, what } => {
                write!(
                    f,
                    "{INV}: phdr[{phdr}] note does not fall within valid size ({what})"
                )
            }
            ElfError::NoAbiNote => write!(f, "No Solo5 ABI information found in executable"),
            ElfError::NotHvt { target } => write!(
                f,
                "Executable is not for the solo5-hvt target (ABI target {target}, hvt is \
                 {ABI_TARGET_HVT})"
            ),
            ElfError::AbiMismatch { image } => write!(
                f,
                "ABI version mismatch: executable requests ABI version {image}, this \
                 tender speaks ABI version {ABI_VERSION}"
            ),
            ElfError::NoManifest => write!(f, "No Solo5 manifest found in executable"),
            ElfError::Manifest(e) => write!(f, "Solo5 manifest is invalid: {e}"),
            ElfError::Segment { phdr, what } => write!(f, "{INV}: phdr[{phdr}] {what}"),
        }
    }
}

impl std::error::Error for ElfError {}

/// Bounds-checked little-endian reads from untrusted bytes.
#[derive(Clone, Copy)]
struct Bytes<'a>(&'a [u8]);

impl<'a> Bytes<'a> {
    fn range(&self, off: u64, len: u64) -> Option<&'a [u8]> {
        let start = usize::try_from(off).ok()?;
        let len = usize::try_from(len).ok()?;
        self.0.get(start..start.checked_add(len)?)
    }
    fn array<const N: usize>(&self, off: u64) -> Option<[u8; N]> {
        self.range(off, N as u64)?.try_into().ok()
    }
    fn u16(&self, off: u64) -> Option<u16> {
        self.array(off).map(u16::from_le_bytes)
    }
    fn u32(&self, off: u64) -> Option<u32> {
        self.array(off).map(u32::from_le_bytes)
    }
    fn u64(&self, off: u64) -> Option<u64> {
        self.array(off).map(u64::from_le_bytes)
    }
}

/// The fields of the ELF header the tender uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub entry: u64,
    pub phoff: u64,
    pub phnum: u16,
    pub machine: u16,
}

/// One program header, as the file has it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Phdr {
    pub p_type: u32,
    pub flags: u32,
    pub offset: u64,
    pub vaddr: u64,
    pub filesz: u64,
    pub memsz: u64,
    pub align: u64,
}

/// Checks the ELF header: ELF64, little-endian, version 1, sane sizes, ET_EXEC, and
/// `e_machine == host_machine`.
pub fn header(image: &[u8], host_machine: u16) -> Result<Header, ElfError> {
    let b = Bytes(image);
    let ident: [u8; 16] = b.array(0).ok_or(ElfError::Header("file too short"))?;
    if ident[..4] != *b"\x7fELF" {
        return Err(ElfError::Header("not an ELF file"));
    }
    if ident[4] != 2 {
        return Err(ElfError::Header("not ELFCLASS64"));
    }
    if ident[5] != 1 {
        return Err(ElfError::Header("not little-endian"));
    }
    let short = ElfError::Header("file too short");
    let e_type = b.u16(16).ok_or(short.clone())?;
    let machine = b.u16(18).ok_or(short.clone())?;
    let version = b.u32(20).ok_or(short.clone())?;
    let entry = b.u64(24).ok_or(short.clone())?;
    let phoff = b.u64(32).ok_or(short.clone())?;
    let ehsize = b.u16(52).ok_or(short.clone())?;
    let phentsize = b.u16(54).ok_or(short.clone())?;
    let phnum = b.u16(56).ok_or(short)?;
    if version != 1 {
        return Err(ElfError::Header("e_version is not EV_CURRENT"));
    }
    if ehsize != EHDR_SIZE {
        return Err(ElfError::Header("e_ehsize is not 64"));
    }
    if phnum < 1 {
        return Err(ElfError::Header("no program headers"));
    }
    if phentsize != PHDR_SIZE {
        return Err(ElfError::Header("e_phentsize is not 56"));
    }
    if e_type != ET_EXEC {
        return Err(ElfError::NotExec { e_type });
    }
    if machine != host_machine {
        return Err(ElfError::WrongMachine {
            image: machine,
            host: host_machine,
        });
    }
    let table_len = u64::from(phnum) * u64::from(PHDR_SIZE);
    b.range(phoff, table_len)
        .ok_or(ElfError::PhdrsOutsideFile)?;
    Ok(Header {
        entry,
        phoff,
        phnum,
        machine,
    })
}

/// The program headers of an image whose header [`header`] accepted, with their indexes.
pub fn phdrs<'a>(image: &'a [u8], h: &Header) -> impl Iterator<Item = (usize, Phdr)> + 'a {
    let b = Bytes(image);
    let phoff = h.phoff;
    (0..usize::from(h.phnum)).filter_map(move |i| {
        // `header` checked that the whole table is inside the file.
        let at = phoff.checked_add(i as u64 * u64::from(PHDR_SIZE))?;
        Some((
            i,
            Phdr {
                p_type: b.u32(at)?,
                flags: b.u32(at + 4)?,
                offset: b.u64(at + 8)?,
                vaddr: b.u64(at + 16)?,
                filesz: b.u64(at + 32)?,
                memsz: b.u64(at + 40)?,
                align: b.u64(at + 48)?,
            },
        ))
    })
}

/// Finds the first Solo5 note of `note_type` and returns its descriptor with the internal
/// alignment padding skipped, as `elf_load_note` does. `Ok(None)`: there is none.
fn solo5_note<'a>(
    image: &'a [u8],
    h: &Header,
    note_type: u32,
    desc_align: usize,
    max_desc: u32,
) -> Result<Option<&'a [u8]>, ElfError> {
    let b = Bytes(image);
    for (i, ph) in phdrs(image, h) {
        if ph.p_type != PT_NOTE {
            continue;
        }
        if ph.filesz < NHDR_SIZE {
            return Err(ElfError::NoteTooSmall {
                phdr: i,
                filesz: ph.filesz,
            });
        }
        if ph.filesz < note::HEADER_SIZE as u64 {
            continue;
        }
        let hdr = b
            .range(ph.offset, note::HEADER_SIZE as u64)
            .ok_or_else(|| ElfError::NoteSize {
                phdr: i,
                what: "note header lies outside the file".into(),
            })?;
        let hb = Bytes(hdr);
        let (namesz, descsz, kind) = match (hb.u32(0), hb.u32(4), hb.u32(8)) {
            (Some(a), Some(b), Some(c)) => (a, b, c),
            _ => continue,
        };
        // The name compare covers "Solo5\0" (namesz bytes), like strncmp in solo5.
        if namesz != note::NAME_SIZE || hdr[12..18] != note::NAME[..6] || kind != note_type {
            continue;
        }
        if descsz < 1 || descsz > max_desc {
            return Err(ElfError::NoteSize {
                phdr: i,
                what: format!("descsz {descsz} not in 1..={max_desc}"),
            });
        }
        let need = note::HEADER_SIZE as u64 + u64::from(descsz);
        if ph.filesz < need {
            return Err(ElfError::NoteSize {
                phdr: i,
                what: format!("p_filesz {} < {need}", ph.filesz),
            });
        }
        let desc_off = note::HEADER_SIZE.next_multiple_of(desc_align);
        let pad = (desc_off - note::HEADER_SIZE) as u32;
        let size = match descsz.checked_sub(pad) {
            Some(s) if s > 0 => s,
            _ => {
                return Err(ElfError::NoteSize {
                    phdr: i,
                    what: format!("descsz {descsz} smaller than its {pad} alignment bytes"),
                });
            }
        };
        let data = ph
            .offset
            .checked_add(desc_off as u64)
            .and_then(|off| b.range(off, u64::from(size)))
            .ok_or_else(|| ElfError::NoteSize {
                phdr: i,
                what: "descriptor lies outside the file".into(),
            })?;
        return Ok(Some(data));
    }
    Ok(None)
}

/// What the tender learns from an image before it knows the memory size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inspected {
    pub header: Header,
    pub manifest: Manifest,
}

/// Header, ABI1 note (target hvt, version [`ABI_VERSION`]) and MFT1 note, in the order
/// `solo5-hvt` checks them.
pub fn inspect(image: &[u8], host_machine: u16) -> Result<Inspected, ElfError> {
    let header = header(image, host_machine)?;
    let abi = solo5_note(image, &header, note::TYPE_ABI, ABI_NOTE_ALIGN, ABI_NOTE_MAX)?
        .ok_or(ElfError::NoAbiNote)?;
    let ab = Bytes(abi);
    // A descriptor shorter than target + version reads as zeros past its end, as the C
    // code's fixed-size struct would; target 0 is then refused below.
    let target = ab.u32(0).unwrap_or(0);
    let version = ab.u32(4).unwrap_or(0);
    if target != ABI_TARGET_HVT {
        return Err(ElfError::NotHvt { target });
    }
    if version != ABI_VERSION {
        return Err(ElfError::AbiMismatch { image: version });
    }
    let mft = solo5_note(
        image,
        &header,
        note::TYPE_MANIFEST,
        MFT_NOTE_ALIGN,
        note::MANIFEST_DESC_MAX,
    )?
    .ok_or(ElfError::NoManifest)?;
    let manifest = Manifest::parse(mft).map_err(ElfError::Manifest)?;
    Ok(Inspected { header, manifest })
}

/// One segment to copy into guest memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    /// Guest-physical destination (= `p_vaddr`).
    pub vaddr: u64,
    /// File bytes `[offset, offset + filesz)` go to `vaddr`.
    pub offset: u64,
    pub filesz: u64,
    /// `memsz - filesz` zero bytes follow.
    pub memsz: u64,
    /// The aligned range `[start, end)` that gets the segment's protection.
    pub start: u64,
    pub end: u64,
    pub readable: bool,
    pub writable: bool,
}

/// Where everything goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadPlan {
    pub entry: u64,
    pub segments: Vec<Segment>,
    /// Highest aligned end of a loaded segment (`kernel_end` in the boot info).
    pub kernel_end: u64,
}

fn align_down(v: u64, align: u64) -> Option<u64> {
    align.is_power_of_two().then(|| v & !(align - 1))
}

fn align_up(v: u64, align: u64) -> Option<u64> {
    if !align.is_power_of_two() {
        return None;
    }
    Some(v.checked_add(align - 1)? & !(align - 1))
}

/// Checks every PT_LOAD with `p_filesz > 0` against a guest of `mem_size` bytes and says
/// where it goes. Other program headers, and PT_LOADs with `p_filesz == 0`, are skipped,
/// as in Solo5 ≥ 0.8.
pub fn plan_load(image: &[u8], h: &Header, mem_size: u64) -> Result<LoadPlan, ElfError> {
    if h.entry < GUEST_MIN_BASE || h.entry >= mem_size {
        return Err(ElfError::Entry {
            entry: h.entry,
            mem_size,
        });
    }
    let mut segments = Vec::new();
    let mut e_end = 0u64;
    let mut last_vaddr = 0u64;
    for (i, ph) in phdrs(image, h) {
        if ph.p_type != PT_LOAD || ph.filesz == 0 {
            continue;
        }
        let bad = |what: String| ElfError::Segment { phdr: i, what };
        let vaddr = ph.vaddr;
        if vaddr < GUEST_MIN_BASE {
            return Err(bad(format!(
                "p_vaddr outside of valid memory range (0x{vaddr:x} < 0x{GUEST_MIN_BASE:x})"
            )));
        }
        if vaddr < last_vaddr {
            return Err(bad(format!(
                "p_vaddr is not in ascending order (0x{vaddr:x} < 0x{last_vaddr:x})"
            )));
        }
        last_vaddr = vaddr;
        let start = align_down(vaddr, ph.align)
            .ok_or_else(|| bad(format!("p_align {} is not a power of two", ph.align)))?;
        if start < GUEST_MIN_BASE {
            return Err(bad(format!(
                "aligned start is outside of memory range (0x{start:x} < 0x{GUEST_MIN_BASE:x}; \
                 p_align 0x{:x} too large?)",
                ph.align
            )));
        }
        if start < e_end {
            return Err(bad(format!(
                "aligned start overlaps the previous segment (0x{start:x} < 0x{e_end:x})"
            )));
        }
        if vaddr >= mem_size {
            return Err(bad(format!(
                "program file segment falls outside of valid range (0x{vaddr:x} >= \
                 0x{mem_size:x} (mem_size))"
            )));
        }
        let file_end = vaddr
            .checked_add(ph.filesz)
            .filter(|e| *e <= mem_size)
            .ok_or_else(|| {
                bad(format!(
                    "program file segment falls outside of valid range (p_vaddr 0x{vaddr:x} \
                     + p_filesz 0x{:x} > 0x{mem_size:x} (mem_size))",
                    ph.filesz
                ))
            })?;
        let _ = file_end;
        if ph.memsz < ph.filesz {
            return Err(bad(format!(
                "program memory segment falls outside of valid range (p_memsz 0x{:x} < \
                 p_filesz 0x{:x})",
                ph.memsz, ph.filesz
            )));
        }
        let end = vaddr
            .checked_add(ph.memsz)
            .and_then(|e| align_up(e, ph.align))
            .filter(|e| *e <= mem_size)
            .ok_or_else(|| {
                bad(format!(
                    "program memory segment falls outside of valid range (p_vaddr 0x{vaddr:x} \
                     + p_memsz 0x{:x}, aligned to 0x{:x}, > 0x{mem_size:x} (mem_size))",
                    ph.memsz, ph.align
                ))
            })?;
        e_end = e_end.max(end);
        Bytes(image)
            .range(ph.offset, ph.filesz)
            .ok_or_else(|| bad("file segment lies outside the file".into()))?;
        if !start.is_multiple_of(PAGE_SIZE) {
            return Err(bad(format!(
                "p_vaddr_start not aligned with architectural page size (0x{start:x})"
            )));
        }
        if !end.is_multiple_of(PAGE_SIZE) {
            return Err(bad(format!(
                "p_vaddr_end not aligned with architectural page size (0x{end:x})"
            )));
        }
        if ph.flags & PF_W != 0 && ph.flags & PF_X != 0 {
            return Err(bad("requests WRITE and EXEC permissions".into()));
        }
        segments.push(Segment {
            vaddr,
            offset: ph.offset,
            filesz: ph.filesz,
            memsz: ph.memsz,
            start,
            end,
            // Guest-executable pages are readable (never executable) on the host.
            readable: ph.flags & (PF_R | PF_X) != 0,
            writable: ph.flags & PF_W != 0,
        });
    }
    Ok(LoadPlan {
        entry: h.entry,
        segments,
        kernel_end: e_end,
    })
}

/// Everything at once: the whole check `solo5-hvt` makes of an image for a guest of
/// `mem_size` bytes. Meant for fuzzing and tests.
pub fn check(
    image: &[u8],
    host_machine: u16,
    mem_size: u64,
) -> Result<(Inspected, LoadPlan), ElfError> {
    let inspected = inspect(image, host_machine)?;
    let plan = plan_load(image, &inspected.header, mem_size)?;
    Ok((inspected, plan))
}

#[cfg(test)]
mod tests {
    use super::*;
    use hvt_abi::mft::{Entry, TYPE_NET_BASIC};

    const MEM: u64 = 32 << 20;

    /// One program header for the synthesized images.
    #[derive(Clone, Copy)]
    struct Ph {
        p_type: u32,
        flags: u32,
        offset: u64,
        vaddr: u64,
        filesz: u64,
        memsz: u64,
        align: u64,
    }

    fn load(flags: u32, offset: u64, vaddr: u64, filesz: u64, memsz: u64) -> Ph {
        Ph {
            p_type: PT_LOAD,
            flags,
            offset,
            vaddr,
            filesz,
            memsz,
            align: 0x1000,
        }
    }

    fn abi_note(target: u32, version: u32) -> Vec<u8> {
        let mut n = Vec::new();
        for v in [6, 16, note::TYPE_ABI] {
            n.extend_from_slice(&u32::to_le_bytes(v));
        }
        n.extend_from_slice(&note::NAME);
        for v in [target, version, 0, 0] {
            n.extend_from_slice(&u32::to_le_bytes(v));
        }
        n
    }

    fn mft_note(entries: &[Entry]) -> Vec<u8> {
        let m = Manifest {
            entries: entries.to_vec(),
        };
        let body = m.to_bytes();
        let mut n = Vec::new();
        for v in [6, 4 + body.len() as u32, note::TYPE_MANIFEST] {
            n.extend_from_slice(&u32::to_le_bytes(v));
        }
        n.extend_from_slice(&note::NAME);
        n.extend_from_slice(&[0; 4]);
        n.extend_from_slice(&body);
        n
    }

    /// An image: header, program headers, then `blobs` at the offsets the caller chose.
    struct Image {
        e_type: u16,
        machine: u16,
        entry: u64,
        phdrs: Vec<Ph>,
        blobs: Vec<(u64, Vec<u8>)>,
    }

    const ABI_OFF: u64 = 0x400;
    const MFT_OFF: u64 = 0x500;
    const TEXT_OFF: u64 = 0x1000;
    const DATA_OFF: u64 = 0x2000;

    impl Image {
        /// A valid image: text at 0x100000, data+bss at 0x101000, ABI and MFT notes (one
        /// NET_BASIC "service").
        fn good() -> Image {
            let note_ph = |offset: u64, len: usize| Ph {
                p_type: PT_NOTE,
                flags: PF_R,
                offset,
                vaddr: 0,
                filesz: len as u64,
                memsz: len as u64,
                align: 4,
            };
            let abi = abi_note(ABI_TARGET_HVT, ABI_VERSION);
            let mft = mft_note(&[Entry::RESERVED_FIRST, Entry::net_basic("service")]);
            Image {
                e_type: ET_EXEC,
                machine: EM_X86_64,
                entry: 0x10_0000,
                phdrs: vec![
                    load(PF_R | PF_X, TEXT_OFF, 0x10_0000, 0x10, 0x10),
                    load(PF_R | PF_W, DATA_OFF, 0x10_1000, 0x20, 0x3000),
                    note_ph(ABI_OFF, abi.len()),
                    note_ph(MFT_OFF, mft.len()),
                ],
                blobs: vec![
                    (ABI_OFF, abi),
                    (MFT_OFF, mft),
                    (TEXT_OFF, vec![0xf4; 0x10]),
                    (DATA_OFF, vec![0xaa; 0x20]),
                ],
            }
        }

        fn bytes(&self) -> Vec<u8> {
            let mut b = vec![0u8; 64];
            b[..4].copy_from_slice(b"\x7fELF");
            b[4] = 2;
            b[5] = 1;
            b[6] = 1;
            b[16..18].copy_from_slice(&self.e_type.to_le_bytes());
            b[18..20].copy_from_slice(&self.machine.to_le_bytes());
            b[20..24].copy_from_slice(&1u32.to_le_bytes());
            b[24..32].copy_from_slice(&self.entry.to_le_bytes());
            b[32..40].copy_from_slice(&64u64.to_le_bytes());
            b[52..54].copy_from_slice(&64u16.to_le_bytes());
            b[54..56].copy_from_slice(&56u16.to_le_bytes());
            b[56..58].copy_from_slice(&(self.phdrs.len() as u16).to_le_bytes());
            for p in &self.phdrs {
                b.extend_from_slice(&p.p_type.to_le_bytes());
                b.extend_from_slice(&p.flags.to_le_bytes());
                for v in [p.offset, p.vaddr, p.vaddr, p.filesz, p.memsz, p.align] {
                    b.extend_from_slice(&v.to_le_bytes());
                }
            }
            for (off, blob) in &self.blobs {
                let end = *off as usize + blob.len();
                if b.len() < end {
                    b.resize(end, 0);
                }
                b[*off as usize..end].copy_from_slice(blob);
            }
            b
        }

        fn check(&self) -> Result<(Inspected, LoadPlan), ElfError> {
            check(&self.bytes(), EM_X86_64, MEM)
        }
    }

    fn err_of(img: &Image) -> ElfError {
        img.check().expect_err("image should be refused")
    }

    #[test]
    fn a_good_image_loads() {
        let (i, plan) = Image::good().check().unwrap();
        assert_eq!(i.manifest.entries.len(), 2);
        assert_eq!(i.manifest.find("service", TYPE_NET_BASIC), Some(1));
        assert_eq!(plan.entry, 0x10_0000);
        assert_eq!(plan.kernel_end, 0x10_4000);
        assert_eq!(plan.segments.len(), 2);
        let text = plan.segments[0];
        assert_eq!(
            (text.start, text.end, text.readable, text.writable),
            (0x10_0000, 0x10_1000, true, false)
        );
        let data = plan.segments[1];
        assert_eq!(
            (data.vaddr, data.filesz, data.memsz),
            (0x10_1000, 0x20, 0x3000)
        );
        assert!(data.writable);
    }

    #[test]
    fn header_refusals() {
        let good = Image::good().bytes();
        assert_eq!(
            header(&good[..10], EM_X86_64),
            Err(ElfError::Header("file too short"))
        );
        let mut b = good.clone();
        b[0] = 0;
        assert_eq!(
            header(&b, EM_X86_64),
            Err(ElfError::Header("not an ELF file"))
        );
        let mut b = good.clone();
        b[4] = 1;
        assert_eq!(
            header(&b, EM_X86_64),
            Err(ElfError::Header("not ELFCLASS64"))
        );
        let mut b = good.clone();
        b[5] = 2;
        assert_eq!(
            header(&b, EM_X86_64),
            Err(ElfError::Header("not little-endian"))
        );
        let mut b = good.clone();
        b[56] = 0;
        assert_eq!(
            header(&b, EM_X86_64),
            Err(ElfError::Header("no program headers"))
        );
        let mut b = good.clone();
        b[56] = 200;
        assert_eq!(header(&b, EM_X86_64), Err(ElfError::PhdrsOutsideFile));
        let mut b = good.clone();
        b[32..40].copy_from_slice(&u64::MAX.to_le_bytes());
        assert_eq!(header(&b, EM_X86_64), Err(ElfError::PhdrsOutsideFile));

        let mut img = Image::good();
        img.e_type = ET_DYN;
        let e = err_of(&img);
        assert_eq!(e, ElfError::NotExec { e_type: ET_DYN });
        assert!(e.to_string().contains("relocation-model=static"));
    }

    #[test]
    fn another_architecture_is_refused_naming_both() {
        let mut img = Image::good();
        img.machine = EM_AARCH64;
        let e = err_of(&img);
        assert_eq!(
            e.to_string(),
            "invalid executable: the image is built for aarch64 but this tender runs x86_64 guests only"
        );
        let e = check(&Image::good().bytes(), EM_AARCH64, MEM).unwrap_err();
        assert!(
            e.to_string()
                .contains("built for x86_64 but this tender runs aarch64")
        );
    }

    #[test]
    fn abi_note_refusals() {
        let mut img = Image::good();
        img.blobs[0].1 = abi_note(ABI_TARGET_HVT, 1);
        let e = err_of(&img);
        assert_eq!(e, ElfError::AbiMismatch { image: 1 });
        assert_eq!(
            e.to_string(),
            "ABI version mismatch: executable requests ABI version 1, this tender speaks ABI version 2"
        );
        img.blobs[0].1 = abi_note(2, ABI_VERSION);
        assert_eq!(err_of(&img), ElfError::NotHvt { target: 2 });
        // Another note type in the ABI's place: no ABI note at all.
        img.blobs[0].1 = abi_note(ABI_TARGET_HVT, ABI_VERSION);
        img.blobs[0].1[8] = b'X';
        assert_eq!(err_of(&img), ElfError::NoAbiNote);
        // A name that is not "Solo5": not ours.
        let mut img = Image::good();
        img.blobs[0].1[12] = b's';
        assert_eq!(err_of(&img), ElfError::NoAbiNote);
        // descsz larger than the PT_NOTE.
        let mut img = Image::good();
        img.blobs[0].1[4] = 32;
        assert!(matches!(err_of(&img), ElfError::NoteSize { phdr: 2, .. }));
        // descsz 0.
        img.blobs[0].1[4] = 0;
        assert!(matches!(err_of(&img), ElfError::NoteSize { phdr: 2, .. }));
        // A PT_NOTE smaller than an ELF note header rejects the image.
        let mut img = Image::good();
        img.phdrs[2].filesz = 8;
        assert_eq!(err_of(&img), ElfError::NoteTooSmall { phdr: 2, filesz: 8 });
        // A PT_NOTE pointing outside the file.
        let mut img = Image::good();
        img.phdrs[2].offset = 1 << 40;
        assert!(matches!(err_of(&img), ElfError::NoteSize { phdr: 2, .. }));
    }

    #[test]
    fn manifest_refusals() {
        let mut img = Image::good();
        img.phdrs.pop();
        assert_eq!(err_of(&img), ElfError::NoManifest);
        let mut img = Image::good();
        // Entry 1 marked attached in the file.
        let at = 24 + 8 + 104 + 96;
        img.blobs[1].1[at] = 1;
        assert_eq!(
            err_of(&img),
            ElfError::Manifest(ManifestError::AlreadyAttached(1))
        );
        // descsz without the 4 pad bytes: the manifest comes out 4 bytes short.
        let mut img = Image::good();
        let descsz = u32::from_le_bytes(img.blobs[1].1[4..8].try_into().unwrap());
        img.blobs[1].1[4..8].copy_from_slice(&(descsz - 4).to_le_bytes());
        assert!(matches!(
            err_of(&img),
            ElfError::Manifest(ManifestError::SizeMismatch { .. })
        ));
        // descsz smaller than its own alignment padding.
        img.blobs[1].1[4..8].copy_from_slice(&3u32.to_le_bytes());
        assert!(matches!(err_of(&img), ElfError::NoteSize { phdr: 3, .. }));
    }

    #[test]
    fn segment_refusals() {
        let seg = |f: &dyn Fn(&mut Image)| {
            let mut img = Image::good();
            f(&mut img);
            img.check().map(|_| ()).map_err(|e| e.to_string())
        };
        let refused = |f: &dyn Fn(&mut Image), want: &str| {
            let e = seg(f).expect_err(want);
            assert!(e.contains(want), "{e:?} should contain {want:?}");
        };
        refused(&|i| i.entry = 0xf_f000, "e_entry does not fall within");
        refused(&|i| i.entry = MEM, "e_entry does not fall within");
        refused(
            &|i| i.phdrs[0].vaddr = 0xf_f000,
            "p_vaddr outside of valid memory range",
        );
        refused(
            &|i| i.phdrs[0].align = 2 << 20,
            "aligned start is outside of memory range",
        );
        refused(&|i| i.phdrs[0].align = 0, "not a power of two");
        refused(&|i| i.phdrs[0].align = 0x3000, "not a power of two");
        refused(
            &|i| i.phdrs[1].vaddr = 0x10_0800,
            "overlaps the previous segment",
        );
        refused(&|i| i.phdrs.swap(0, 1), "not in ascending order");
        refused(&|i| i.phdrs[1].memsz = 0x10, "p_memsz 0x10 < p_filesz 0x20");
        refused(
            &|i| i.phdrs[1].memsz = MEM,
            "program memory segment falls outside",
        );
        refused(
            &|i| i.phdrs[1].memsz = u64::MAX,
            "program memory segment falls outside",
        );
        refused(
            &|i| i.phdrs[1].vaddr = MEM,
            "program file segment falls outside",
        );
        refused(
            &|i| i.phdrs[1].filesz = u64::MAX,
            "program file segment falls outside",
        );
        refused(
            &|i| i.phdrs[1].offset = 1 << 40,
            "file segment lies outside the file",
        );
        refused(
            &|i| {
                i.phdrs[1].align = 16;
                i.phdrs[1].vaddr = 0x10_1010;
            },
            "p_vaddr_start not aligned",
        );
        refused(
            &|i| {
                i.phdrs[1].align = 16;
                i.phdrs[1].memsz = 0x2ff0;
            },
            "p_vaddr_end not aligned",
        );
        refused(
            &|i| i.phdrs[0].flags = PF_R | PF_W | PF_X,
            "requests WRITE and EXEC permissions",
        );
        // PT_LOADs with p_filesz 0 are skipped entirely, wherever they point.
        assert_eq!(
            seg(&|i| i.phdrs.push(load(PF_R | PF_W, 0, 0, 0, 1 << 40))),
            Ok(())
        );
        let mut img = Image::good();
        img.phdrs.push(load(PF_R | PF_W, 0, 0x20_0000, 0, 0x1000));
        assert_eq!(
            img.check().unwrap().1.kernel_end,
            0x10_4000,
            "BSS-only segment not counted"
        );
    }

    #[test]
    fn no_input_makes_the_loader_panic() {
        let good = Image::good().bytes();
        // Every truncation.
        for n in 0..good.len() {
            let _ = check(&good[..n], EM_X86_64, MEM);
        }
        // Seeded random corruption of header, program headers and notes.
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let hot: Vec<usize> = (0..64 + 4 * 56).chain(0x400..0x5f0).collect();
        for _ in 0..20_000 {
            let mut b = good.clone();
            for _ in 0..1 + next() % 4 {
                let i = hot[(next() % hot.len() as u64) as usize];
                b[i] = next() as u8;
            }
            let _ = check(&b, EM_X86_64, next() % (8 << 30));
        }
    }
}
