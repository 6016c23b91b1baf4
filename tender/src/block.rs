//! BLOCK_BASIC devices: a file or block device opened read-write (`--block:NAME=PATH`).

use std::fs::{File, OpenOptions};
use std::io::{Seek, SeekFrom};
use std::os::unix::fs::OpenOptionsExt;

/// Default block size (`--block-sector-size` not given).
pub const DEFAULT_BLOCK_SIZE: u16 = 512;

/// An attached block device.
#[derive(Debug)]
pub struct Block {
    pub file: File,
    pub capacity: u64,
    pub block_size: u16,
}

/// Parses a `--block-sector-size` value: a power of two, at least 512.
pub fn parse_block_size(s: &str) -> Option<u16> {
    let n: u16 = s.parse().ok()?;
    (n >= 512 && n.is_power_of_two()).then_some(n)
}

/// Opens `path` read-write; its size is the capacity, which must be a whole number (≥ 1)
/// of blocks.
/// `name` is the manifest name, for messages.
pub fn attach(name: &str, path: &str, block_size: u16) -> Result<Block, String> {
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_CLOEXEC)
        .open(path)
        .map_err(|e| format!("Could not open block device: {path}: {e}"))?;
    let capacity = file
        .seek(SeekFrom::End(0))
        .map_err(|e| format!("{path}: Could not determine capacity: {e}"))?;
    let bs = u64::from(block_size);
    if !capacity.is_multiple_of(bs) {
        return Err(format!(
            "{name}: Backing storage size must be block aligned ({bs} bytes)"
        ));
    }
    if capacity < bs {
        return Err(format!(
            "{name}: Backing storage must be at least 1 block ({bs} bytes) in size"
        ));
    }
    Ok(Block {
        file,
        capacity,
        block_size,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sector_sizes() {
        assert_eq!(parse_block_size("512"), Some(512));
        assert_eq!(parse_block_size("4096"), Some(4096));
        assert_eq!(parse_block_size("256"), None);
        assert_eq!(parse_block_size("1000"), None);
        assert_eq!(parse_block_size("x"), None);
    }

    #[test]
    fn capacity_is_the_file_size() {
        let dir = std::env::temp_dir().join(format!("tender-blk-{}", std::process::id()));
        std::fs::write(&dir, vec![0u8; 4096]).unwrap();
        let p = dir.to_str().unwrap();
        let b = attach("storage", p, 512).unwrap();
        assert_eq!(b.capacity, 4096);
        assert!(attach("storage", p, 8192).is_err());
        std::fs::write(&dir, vec![0u8; 1000]).unwrap();
        assert!(attach("storage", p, 512).is_err());
        std::fs::remove_file(&dir).unwrap();
        assert!(attach("storage", p, 512).is_err());
    }
}
