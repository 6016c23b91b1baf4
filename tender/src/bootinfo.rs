//! The boot-info area in guest low memory: `struct hvt_boot_info` at 0x10000, the
//! tender's manifest copy right after it, then the command line (8 KiB reserved).
//! This tender offers no net ring: `host_features` and `net_ring` are 0.

use std::fmt;
use std::mem::offset_of;

use hvt_abi::{BOOT_INFO_BASE, BootInfo, CMDLINE_SIZE, GUEST_MIN_BASE};

use crate::mem::{GuestAccess, GuestMem};

/// Longest command line (8191 characters; one byte stays for the NUL).
pub const CMDLINE_MAX: usize = CMDLINE_SIZE - 1;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BootInfoError {
    CmdlineTooLong(usize),
    /// The manifest and command line do not fit below [`GUEST_MIN_BASE`] (cannot happen
    /// with a valid manifest; checked anyway).
    TooLarge,
    Guest(GuestAccess),
}

impl fmt::Display for BootInfoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BootInfoError::CmdlineTooLong(n) => write!(
                f,
                "Guest command line too long (max={CMDLINE_MAX} characters, got {n})"
            ),
            BootInfoError::TooLarge => write!(f, "boot info does not fit below 0x100000"),
            BootInfoError::Guest(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for BootInfoError {}

/// Joins the guest arguments with single spaces, as `solo5-hvt` does (no quoting).
pub fn cmdline(args: &[String]) -> Result<String, BootInfoError> {
    let line = args.join(" ");
    if line.len() > CMDLINE_MAX {
        return Err(BootInfoError::CmdlineTooLong(line.len()));
    }
    Ok(line)
}

/// `bi` as the 56 bytes the guest reads, laid out by the ABI crate's field offsets.
pub fn encode(bi: &BootInfo) -> [u8; BootInfo::SIZE] {
    let mut out = [0u8; BootInfo::SIZE];
    let mut put = |off: usize, bytes: &[u8]| out[off..off + bytes.len()].copy_from_slice(bytes);
    put(offset_of!(BootInfo, mem_size), &bi.mem_size.to_le_bytes());
    put(
        offset_of!(BootInfo, kernel_end),
        &bi.kernel_end.to_le_bytes(),
    );
    put(
        offset_of!(BootInfo, cpu_cycle_freq),
        &bi.cpu_cycle_freq.to_le_bytes(),
    );
    put(offset_of!(BootInfo, cmdline), &bi.cmdline.to_le_bytes());
    put(offset_of!(BootInfo, mft), &bi.mft.to_le_bytes());
    put(
        offset_of!(BootInfo, host_features),
        &bi.host_features.to_le_bytes(),
    );
    put(
        offset_of!(BootInfo, guest_features),
        &bi.guest_features.to_le_bytes(),
    );
    put(offset_of!(BootInfo, net_ring), &bi.net_ring.to_le_bytes());
    out
}

/// Writes boot info, manifest copy and command line; returns the boot info written.
pub fn write(
    mem: &mut GuestMem,
    kernel_end: u64,
    cpu_cycle_freq: u64,
    manifest: &[u8],
    cmdline: &str,
) -> Result<BootInfo, BootInfoError> {
    if cmdline.len() > CMDLINE_MAX {
        return Err(BootInfoError::CmdlineTooLong(cmdline.len()));
    }
    let mft = BOOT_INFO_BASE + BootInfo::SIZE as u64;
    let cmd = mft + manifest.len() as u64;
    if cmd + CMDLINE_SIZE as u64 > GUEST_MIN_BASE {
        return Err(BootInfoError::TooLarge);
    }
    let bi = BootInfo {
        mem_size: mem.size(),
        kernel_end,
        cpu_cycle_freq,
        cmdline: cmd,
        mft,
        host_features: 0,
        guest_features: 0,
        net_ring: 0,
    };
    let g = BootInfoError::Guest;
    mem.slice_mut(BOOT_INFO_BASE, BootInfo::SIZE as u64)
        .map_err(g)?
        .copy_from_slice(&encode(&bi));
    mem.slice_mut(mft, manifest.len() as u64)
        .map_err(g)?
        .copy_from_slice(manifest);
    let area = mem.slice_mut(cmd, CMDLINE_SIZE as u64).map_err(g)?;
    area.fill(0);
    area[..cmdline.len()].copy_from_slice(cmdline.as_bytes());
    Ok(bi)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cmdline_joins_with_single_spaces_and_caps_length() {
        let a = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(cmdline(&a(&[])).unwrap(), "");
        assert_eq!(
            cmdline(&a(&["--ipv4=10.0.0.2/24", "x y", "--"])).unwrap(),
            "--ipv4=10.0.0.2/24 x y --"
        );
        assert_eq!(cmdline(&["a".repeat(8191)]).unwrap().len(), 8191);
        assert_eq!(
            cmdline(&["a".repeat(4096), "b".repeat(4095)]),
            Err(BootInfoError::CmdlineTooLong(8192))
        );
    }

    #[test]
    fn layout_matches_solo5() {
        let mut mem = GuestMem::new(4 << 20).unwrap();
        let manifest = vec![7u8; 8 + 2 * 104];
        let bi = write(&mut mem, 0x20_0000, 2_445_406_000, &manifest, "hello world").unwrap();
        assert_eq!(bi.mft, 0x10038);
        // Measured with solo5-hvt and a 2-entry manifest: cmdline at 0x10110.
        assert_eq!(bi.cmdline, 0x10110);
        assert_eq!(mem.read_u64(0x10000).unwrap(), 4 << 20);
        assert_eq!(mem.read_u64(0x10008).unwrap(), 0x20_0000);
        assert_eq!(mem.read_u64(0x10010).unwrap(), 2_445_406_000);
        assert_eq!(mem.read_u64(0x10018).unwrap(), 0x10110);
        assert_eq!(mem.read_u64(0x10020).unwrap(), 0x10038);
        assert_eq!(mem.read_u64(0x10028).unwrap(), 0);
        assert_eq!(mem.read_u64(0x10030).unwrap(), 0);
        assert_eq!(mem.slice(0x10038, 216).unwrap(), &manifest[..]);
        assert_eq!(mem.slice(0x10110, 12).unwrap(), b"hello world\0");
    }
}
