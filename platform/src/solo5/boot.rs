//! What the tender hands over at boot: `struct hvt_boot_info`, the command line and the
//! manifest copy, all in read-only low memory. Everything is read once and checked.

use hvt_abi::mft::{self, Entry};
use hvt_abi::{BootInfo, CMDLINE_SIZE};

/// The fields every ABI-2 tender writes (the first 40 bytes; 0.11+ adds ring fields that
/// a ring-free guest must not read, see hvt-abi.md §0).
pub(crate) struct Boot {
    pub(crate) mem_size: u64,
    pub(crate) cpu_cycle_freq: u64,
    pub(crate) cmdline: u64,
    pub(crate) mft: u64,
}

/// Reads the boot info at `bi`.
///
/// # Safety
/// `bi` must be the pointer the tender passed to `_start`.
pub(crate) unsafe fn read(bi: *const BootInfo) -> Boot {
    // SAFETY: the tender wrote at least the first 40 bytes of a `BootInfo` at `bi`, which
    // stays mapped (read-only) for the guest's life; we read only those fields.
    unsafe {
        Boot {
            mem_size: (&raw const (*bi).mem_size).read_volatile(),
            cpu_cycle_freq: (&raw const (*bi).cpu_cycle_freq).read_volatile(),
            cmdline: (&raw const (*bi).cmdline).read_volatile(),
            mft: (&raw const (*bi).mft).read_volatile(),
        }
    }
}

/// The NUL-terminated command line at `addr`, as the longest valid UTF-8 prefix (the
/// tender joins argv with spaces; it cannot contain a NUL). Returns the text and whether
/// invalid UTF-8 was cut off.
///
/// # Safety
/// `addr..mem_size` must be readable guest memory (the tender's cmdline area).
pub(crate) unsafe fn cmdline(
    addr: u64,
    mem_size: u64,
) -> Result<(&'static str, bool), &'static str> {
    if addr == 0 || addr >= mem_size {
        return Err("cmdline pointer outside guest memory");
    }
    let max = (CMDLINE_SIZE as u64).min(mem_size - addr) as usize;
    // SAFETY: [addr, addr + max) lies inside guest RAM, mapped read-only and never written
    // after boot.
    let area = unsafe { core::slice::from_raw_parts(addr as *const u8, max) };
    let len = area
        .iter()
        .position(|b| *b == 0)
        .ok_or("cmdline is not NUL-terminated")?;
    Ok(match core::str::from_utf8(&area[..len]) {
        Ok(s) => (s, false),
        Err(e) => (
            // `valid_up_to` is a char boundary, so this cannot fail.
            core::str::from_utf8(&area[..e.valid_up_to()]).unwrap_or(""),
            true,
        ),
    })
}

/// The network device the application uses.
#[derive(Debug, Clone, Copy)]
pub(crate) struct NetDevice {
    /// Its index in the manifest: the hypercalls' handle and its bit in POLL's ready set.
    pub(crate) handle: u64,
    pub(crate) mac: [u8; 6],
    pub(crate) mtu: u16,
}

/// Finds the NET_BASIC entry `name` in the tender's manifest copy at `addr`.
///
/// # Safety
/// `addr` must be the boot info's `mft` and `mem_size` its `mem_size`.
pub(crate) unsafe fn find_net(
    addr: u64,
    mem_size: u64,
    name: &str,
) -> Result<NetDevice, &'static str> {
    if addr == 0 || !addr.is_multiple_of(8) || addr + mft::HEADER_SIZE as u64 > mem_size {
        return Err("manifest pointer invalid");
    }
    // SAFETY: the header lies inside guest RAM (checked above) and is 8-aligned.
    let (version, entries) = unsafe {
        (
            (addr as *const u32).read_volatile(),
            ((addr + 4) as *const u32).read_volatile(),
        )
    };
    if version != mft::VERSION {
        return Err("manifest version is not 1");
    }
    let n = entries as usize;
    if n == 0 || n > mft::MAX_ENTRIES {
        return Err("manifest entry count out of range");
    }
    let first = addr + mft::HEADER_SIZE as u64;
    if first + (n * mft::ENTRY_SIZE) as u64 > mem_size {
        return Err("manifest runs past guest memory");
    }
    // SAFETY: `n` entries of 104 bytes at an 8-aligned address inside guest RAM, written by
    // the tender before boot and read-only since.
    let table = unsafe { core::slice::from_raw_parts(first as *const Entry, n) };
    let (handle, entry) = table
        .iter()
        .enumerate()
        .find(|(_, e)| e.kind == mft::TYPE_NET_BASIC && e.name() == name.as_bytes())
        .ok_or("no NET_BASIC device of that name in the manifest")?;
    if entry.attached == 0 {
        return Err("network device not attached by the tender");
    }
    Ok(NetDevice {
        handle: handle as u64,
        mac: entry.net_mac(),
        mtu: entry.net_mtu(),
    })
}
