//! Reads an hvt image back: ELF header, program headers and the Solo5 notes, the way
//! solo5-hvt reads them (first note of each PT_NOTE, descriptor at its own alignment).

use hvt_abi::{mft, note};
use std::fmt;

pub const PT_LOAD: u32 = 1;
pub const PT_NOTE: u32 = 4;
pub const PF_X: u32 = 1;
pub const PF_W: u32 = 2;
pub const PF_R: u32 = 4;
pub const ET_EXEC: u16 = 2;
/// Alignment of `struct mft` (it holds u64 fields), which places the MFT1 descriptor.
const MANIFEST_ALIGN: usize = 8;

/// One program header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    pub kind: u32,
    pub flags: u32,
    pub offset: u64,
    pub vaddr: u64,
    pub filesz: u64,
    pub memsz: u64,
    pub align: u64,
}

impl Segment {
    /// "R E", "RW ", ...
    pub fn flags_str(&self) -> String {
        let f = |bit, c| if self.flags & bit != 0 { c } else { ' ' };
        [f(PF_R, 'R'), f(PF_W, 'W'), f(PF_X, 'E')].iter().collect()
    }
}

/// The first note of a PT_NOTE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// Name without its NUL and padding.
    pub name: Vec<u8>,
    pub kind: u32,
    /// `descsz` bytes after the 20-byte header (Solo5's internal padding included).
    pub desc: Vec<u8>,
    /// `p_align` of its PT_NOTE.
    pub align: u64,
}

/// A manifest entry as the image declares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    pub name: String,
    pub kind: u32,
}

impl fmt::Display for Device {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.kind {
            mft::TYPE_NET_BASIC => "NET_BASIC",
            mft::TYPE_BLOCK_BASIC => "BLOCK_BASIC",
            mft::TYPE_RESERVED_FIRST => "RESERVED_FIRST",
            _ => "unknown",
        };
        write!(f, "{} ({kind})", self.name)
    }
}

/// What an ELF image says about itself.
#[derive(Debug, Clone)]
pub struct Image {
    pub class64: bool,
    pub little_endian: bool,
    pub kind: u16,
    pub machine: u16,
    pub entry: u64,
    pub segments: Vec<Segment>,
    /// The first note of each PT_NOTE (in program header order), where one fits.
    pub notes: Vec<Note>,
}

fn u16_at(b: &[u8], off: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(off..off + 2)?.try_into().ok()?))
}
fn u32_at(b: &[u8], off: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(off..off + 4)?.try_into().ok()?))
}
fn u64_at(b: &[u8], off: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(off..off + 8)?.try_into().ok()?))
}

impl Image {
    /// Parses a little-endian ELF64 file.
    pub fn parse(bytes: &[u8]) -> Result<Image, String> {
        let short = || "file too short for its ELF headers".to_string();
        if bytes.get(..4) != Some(b"\x7fELF") {
            return Err("not an ELF file".into());
        }
        let class64 = bytes.get(4) == Some(&2);
        let little_endian = bytes.get(5) == Some(&1);
        if !class64 || !little_endian {
            return Err("not a little-endian ELF64 file".into());
        }
        let kind = u16_at(bytes, 16).ok_or_else(short)?;
        let machine = u16_at(bytes, 18).ok_or_else(short)?;
        let entry = u64_at(bytes, 24).ok_or_else(short)?;
        let phoff = u64_at(bytes, 32).ok_or_else(short)? as usize;
        let phentsize = usize::from(u16_at(bytes, 54).ok_or_else(short)?);
        let phnum = usize::from(u16_at(bytes, 56).ok_or_else(short)?);
        if phentsize != 56 {
            return Err(format!("e_phentsize is {phentsize}, not 56"));
        }
        let mut segments = Vec::with_capacity(phnum);
        for i in 0..phnum {
            let p = phoff + i * phentsize;
            segments.push(Segment {
                kind: u32_at(bytes, p).ok_or_else(short)?,
                flags: u32_at(bytes, p + 4).ok_or_else(short)?,
                offset: u64_at(bytes, p + 8).ok_or_else(short)?,
                vaddr: u64_at(bytes, p + 16).ok_or_else(short)?,
                filesz: u64_at(bytes, p + 32).ok_or_else(short)?,
                memsz: u64_at(bytes, p + 40).ok_or_else(short)?,
                align: u64_at(bytes, p + 48).ok_or_else(short)?,
            });
        }
        let notes = segments
            .iter()
            .filter(|s| s.kind == PT_NOTE)
            .filter_map(|s| first_note(bytes, s))
            .collect();
        Ok(Image {
            class64,
            little_endian,
            kind,
            machine,
            entry,
            segments,
            notes,
        })
    }

    pub fn loads(&self) -> impl Iterator<Item = &Segment> {
        self.segments.iter().filter(|s| s.kind == PT_LOAD)
    }

    fn solo5_note(&self, kind: u32) -> Option<&Note> {
        self.notes
            .iter()
            .find(|n| n.name == b"Solo5" && n.kind == kind)
    }

    /// (abi_target, abi_version) from the ABI1 note.
    pub fn solo5_abi(&self) -> Option<(u32, u32)> {
        let d = &self.solo5_note(note::TYPE_ABI)?.desc;
        Some((u32_at(d, 0)?, u32_at(d, 4)?))
    }

    /// (manifest version, devices) from the MFT1 note; the devices include the reserved
    /// first entry.
    pub fn solo5_manifest(&self) -> Option<(u32, Vec<Device>)> {
        let n = self.solo5_note(note::TYPE_MANIFEST)?;
        // As the tender does: the descriptor starts at the next multiple of the manifest's
        // own alignment (8, whatever the PT_NOTE's p_align) after the 20-byte header, so
        // `descsz` begins with 4 bytes of padding.
        let pad = note::HEADER_SIZE.next_multiple_of(MANIFEST_ALIGN) - note::HEADER_SIZE;
        let m = n.desc.get(pad..)?;
        let version = u32_at(m, 0)?;
        let entries = u32_at(m, 4)? as usize;
        if m.len() != mft::HEADER_SIZE + entries * mft::ENTRY_SIZE {
            return None;
        }
        let devices = (0..entries)
            .map(|i| {
                let e = &m[mft::HEADER_SIZE + i * mft::ENTRY_SIZE..][..mft::ENTRY_SIZE];
                let name_len = e[..68].iter().position(|b| *b == 0).unwrap_or(68);
                Device {
                    name: String::from_utf8_lossy(&e[..name_len]).into_owned(),
                    kind: u32_at(e, 68).unwrap_or(0),
                }
            })
            .collect();
        Some((version, devices))
    }
}

/// The first note in PT_NOTE `s`, read from the file as the tender does.
fn first_note(bytes: &[u8], s: &Segment) -> Option<Note> {
    let seg = bytes.get(s.offset as usize..(s.offset + s.filesz) as usize)?;
    let namesz = u32_at(seg, 0)? as usize;
    let descsz = u32_at(seg, 4)? as usize;
    let kind = u32_at(seg, 8)?;
    let name_end = 12 + namesz;
    let desc_start = 12 + namesz.next_multiple_of(4);
    let name = seg.get(12..name_end)?;
    let name = name.strip_suffix(b"\0").unwrap_or(name).to_vec();
    let desc = seg.get(desc_start..desc_start + descsz)?.to_vec();
    Some(Note {
        name,
        kind,
        desc,
        align: s.align,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal image: one RX load, one PT_NOTE per note.
    fn image(notes: &[&[u8]], flags: u32, vaddr: u64) -> Vec<u8> {
        let phnum = 1 + notes.len();
        let mut f = vec![0u8; 64 + 56 * phnum];
        f[..4].copy_from_slice(b"\x7fELF");
        f[4] = 2;
        f[5] = 1;
        f[16..18].copy_from_slice(&ET_EXEC.to_le_bytes());
        f[18..20].copy_from_slice(&62u16.to_le_bytes());
        f[24..32].copy_from_slice(&vaddr.to_le_bytes());
        f[32..40].copy_from_slice(&64u64.to_le_bytes());
        f[54..56].copy_from_slice(&56u16.to_le_bytes());
        f[56..58].copy_from_slice(&(phnum as u16).to_le_bytes());
        let mut phdr =
            |i: usize, kind: u32, flags: u32, offset: u64, vaddr: u64, size: u64, align: u64| {
                let p = 64 + 56 * i;
                f[p..p + 4].copy_from_slice(&kind.to_le_bytes());
                f[p + 4..p + 8].copy_from_slice(&flags.to_le_bytes());
                f[p + 8..p + 16].copy_from_slice(&offset.to_le_bytes());
                f[p + 16..p + 24].copy_from_slice(&vaddr.to_le_bytes());
                f[p + 32..p + 40].copy_from_slice(&size.to_le_bytes());
                f[p + 40..p + 48].copy_from_slice(&size.to_le_bytes());
                f[p + 48..p + 56].copy_from_slice(&align.to_le_bytes());
            };
        let mut body = Vec::new();
        let base = (64 + 56 * phnum) as u64;
        phdr(0, PT_LOAD, flags, 0, vaddr, 0x1000, 0x1000);
        for (i, n) in notes.iter().enumerate() {
            let off = base + body.len() as u64;
            phdr(1 + i, PT_NOTE, PF_R, off, 0, n.len() as u64, 8);
            body.extend_from_slice(n);
        }
        f.extend_from_slice(&body);
        f
    }

    fn as_bytes<T>(t: &T) -> &[u8] {
        // SAFETY: the note types are repr(C) plain data with no padding bytes left
        // uninitialised in a const-built value; we only read them.
        unsafe { std::slice::from_raw_parts((t as *const T).cast::<u8>(), size_of::<T>()) }
    }

    #[test]
    fn reads_back_the_notes_hvt_abi_builds() {
        let abi = note::AbiNote::HVT;
        let m = note::ManifestNote::new(mft::Manifest::new([
            mft::Entry::RESERVED_FIRST,
            mft::Entry::net_basic("service"),
        ]));
        let img = Image::parse(&image(
            &[as_bytes(&abi), as_bytes(&m)],
            PF_R | PF_X,
            0x100000,
        ))
        .unwrap();
        assert_eq!(img.solo5_abi(), Some((1, 2)));
        let (version, devices) = img.solo5_manifest().unwrap();
        assert_eq!(version, 1);
        assert_eq!(
            devices[1],
            Device {
                name: "service".into(),
                kind: mft::TYPE_NET_BASIC
            }
        );
    }
}
