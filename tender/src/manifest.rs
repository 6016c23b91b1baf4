//! The application manifest (MFT1 note): parse and validate it from untrusted bytes, let
//! the device modules fill in the tender's copy, and serialise that copy for the guest.

use std::fmt;

use hvt_abi::mft::{self, Entry};

/// Why a manifest was refused (`mft_validate` in Solo5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManifestError {
    TooShort,
    Version(u32),
    TooManyEntries(u32),
    SizeMismatch { size: usize, entries: u32 },
    NoEntries,
    FirstNotReserved,
    NameNotTerminated(usize),
    AlreadyAttached(usize),
}

impl fmt::Display for ManifestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ManifestError::TooShort => write!(f, "shorter than its 8-byte header"),
            ManifestError::Version(v) => write!(f, "version {v}, expected {}", mft::VERSION),
            ManifestError::TooManyEntries(n) => {
                write!(f, "{n} entries, at most {}", mft::MAX_ENTRIES)
            }
            ManifestError::SizeMismatch { size, entries } => write!(
                f,
                "{size} bytes for {entries} entries, expected {}",
                mft::HEADER_SIZE + *entries as usize * mft::ENTRY_SIZE
            ),
            ManifestError::NoEntries => write!(f, "no entries"),
            ManifestError::FirstNotReserved => {
                write!(f, "entry 0 is not the reserved, unnamed first entry")
            }
            ManifestError::NameNotTerminated(i) => write!(f, "entry {i}: name not terminated"),
            ManifestError::AlreadyAttached(i) => write!(f, "entry {i}: marked attached"),
        }
    }
}

/// The manifest: entry 0 is the reserved one, a device's handle is its index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    pub entries: Vec<Entry>,
}

/// A printable name for an entry type, as Solo5 prints it.
pub fn type_name(kind: u32) -> &'static str {
    match kind {
        mft::TYPE_BLOCK_BASIC => "BLOCK_BASIC",
        mft::TYPE_NET_BASIC => "NET_BASIC",
        mft::TYPE_RESERVED_FIRST => "RESERVED_FIRST",
        _ => "UNKNOWN",
    }
}

fn entry_from_bytes(b: &[u8; mft::ENTRY_SIZE]) -> Entry {
    let mut e = Entry::EMPTY;
    e.name.copy_from_slice(&b[0..68]);
    e.kind = u32::from_le_bytes([b[68], b[69], b[70], b[71]]);
    e.u.copy_from_slice(&b[72..88]);
    let mut fd = [0u8; 8];
    fd.copy_from_slice(&b[88..96]);
    e.hostfd = u64::from_le_bytes(fd);
    e.attached = b[96];
    e.pad.copy_from_slice(&b[97..104]);
    e
}

fn entry_to_bytes(e: &Entry, out: &mut Vec<u8>) {
    out.extend_from_slice(&e.name);
    out.extend_from_slice(&e.kind.to_le_bytes());
    out.extend_from_slice(&e.u);
    out.extend_from_slice(&e.hostfd.to_le_bytes());
    out.push(e.attached);
    out.extend_from_slice(&e.pad);
}

impl Manifest {
    /// Parses and validates a manifest (the MFT1 descriptor after its pad bytes).
    pub fn parse(b: &[u8]) -> Result<Manifest, ManifestError> {
        if b.len() < mft::HEADER_SIZE {
            return Err(ManifestError::TooShort);
        }
        let version = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        let count = u32::from_le_bytes([b[4], b[5], b[6], b[7]]);
        if version != mft::VERSION {
            return Err(ManifestError::Version(version));
        }
        if count as usize > mft::MAX_ENTRIES {
            return Err(ManifestError::TooManyEntries(count));
        }
        if b.len() != mft::HEADER_SIZE + count as usize * mft::ENTRY_SIZE {
            return Err(ManifestError::SizeMismatch {
                size: b.len(),
                entries: count,
            });
        }
        if count < 1 {
            return Err(ManifestError::NoEntries);
        }
        let entries: Vec<Entry> = b[mft::HEADER_SIZE..]
            .chunks_exact(mft::ENTRY_SIZE)
            .filter_map(|c| c.try_into().ok().map(entry_from_bytes))
            .collect();
        if entries[0].kind != mft::TYPE_RESERVED_FIRST || entries[0].name[0] != 0 {
            return Err(ManifestError::FirstNotReserved);
        }
        for (i, e) in entries.iter().enumerate() {
            if e.name[mft::NAME_MAX] != 0 {
                return Err(ManifestError::NameNotTerminated(i));
            }
            if e.attached != 0 {
                return Err(ManifestError::AlreadyAttached(i));
            }
        }
        Ok(Manifest { entries })
    }

    /// The manifest as the guest sees it (`struct mft`), for the boot-info area.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.size());
        out.extend_from_slice(&mft::VERSION.to_le_bytes());
        out.extend_from_slice(&(self.entries.len() as u32).to_le_bytes());
        for e in &self.entries {
            entry_to_bytes(e, &mut out);
        }
        out
    }

    /// Size in bytes of [`Manifest::to_bytes`].
    pub fn size(&self) -> usize {
        mft::HEADER_SIZE + self.entries.len() * mft::ENTRY_SIZE
    }

    /// The index of the entry called `name` of type `kind`.
    pub fn find(&self, name: &str, kind: u32) -> Option<usize> {
        self.entries
            .iter()
            .position(|e| e.kind == kind && e.name() == name.as_bytes())
    }

    /// Entries declared but not attached, as "Device 'NAME' of type T declared but not
    /// attached." lines.
    pub fn unattached(&self) -> Vec<String> {
        self.entries
            .iter()
            .filter(|e| e.kind < mft::TYPE_RESERVED_FIRST && e.attached == 0)
            .map(|e| {
                format!(
                    "Device '{}' of type {} declared but not attached.",
                    String::from_utf8_lossy(e.name()),
                    type_name(e.kind)
                )
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hvt_abi::mft::Manifest as AbiManifest;

    fn bytes_of<const N: usize>(m: &AbiManifest<N>) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&m.version.to_le_bytes());
        out.extend_from_slice(&m.entries.to_le_bytes());
        for e in &m.e {
            entry_to_bytes(e, &mut out);
        }
        out
    }

    fn sample() -> Vec<u8> {
        bytes_of(&AbiManifest::new([
            Entry::RESERVED_FIRST,
            Entry::net_basic("service"),
            Entry::block_basic("storage"),
        ]))
    }

    #[test]
    fn parses_and_round_trips() {
        let b = sample();
        let m = Manifest::parse(&b).unwrap();
        assert_eq!(m.entries.len(), 3);
        assert_eq!(m.find("service", mft::TYPE_NET_BASIC), Some(1));
        assert_eq!(m.find("service", mft::TYPE_BLOCK_BASIC), None);
        assert_eq!(m.find("storage", mft::TYPE_BLOCK_BASIC), Some(2));
        assert_eq!(m.to_bytes(), b);
        assert_eq!(m.size(), b.len());
        assert_eq!(
            m.unattached(),
            vec![
                "Device 'service' of type NET_BASIC declared but not attached.".to_string(),
                "Device 'storage' of type BLOCK_BASIC declared but not attached.".to_string(),
            ]
        );
    }

    #[test]
    fn rejects_what_mft_validate_rejects() {
        let good = sample();
        assert_eq!(Manifest::parse(&good[..4]), Err(ManifestError::TooShort));
        let mut b = good.clone();
        b[0] = 2;
        assert_eq!(Manifest::parse(&b), Err(ManifestError::Version(2)));
        let mut b = good.clone();
        b[4] = 65;
        assert_eq!(Manifest::parse(&b), Err(ManifestError::TooManyEntries(65)));
        assert!(matches!(
            Manifest::parse(&good[..good.len() - 1]),
            Err(ManifestError::SizeMismatch { .. })
        ));
        let mut b = good[..8].to_vec();
        b[4] = 0;
        assert_eq!(Manifest::parse(&b), Err(ManifestError::NoEntries));
        let mut b = good.clone();
        b[8] = b'x';
        assert_eq!(Manifest::parse(&b), Err(ManifestError::FirstNotReserved));
        let mut b = good.clone();
        b[8 + 104 + 67] = b'x';
        assert_eq!(
            Manifest::parse(&b),
            Err(ManifestError::NameNotTerminated(1))
        );
        let mut b = good.clone();
        b[8 + 2 * 104 + 96] = 1;
        assert_eq!(Manifest::parse(&b), Err(ManifestError::AlreadyAttached(2)));
    }
}
