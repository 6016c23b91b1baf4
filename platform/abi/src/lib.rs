//! The Solo5 hvt ABI, version 2 (Solo5 0.8 – 0.12), as plain data.
//!
//! The guest bindings (`platform`, solo5 backend) and the host (`tender`) both import this
//! crate, so the two sides cannot disagree on a layout or a number. Every struct here is
//! `#[repr(C)]` with the offsets the upstream C headers give; the tests pin each offset.
//! See `../shared/hvt-abi.md` for the facts and their sources.
#![no_std]
#![deny(unsafe_code)]

/// `HVT_ABI_VERSION` this project speaks. The 0.11+ net ring is never used.
pub const ABI_VERSION: u32 = 2;
/// `abi_target` value for hvt in the ABI1 note.
pub const ABI_TARGET_HVT: u32 = 1;

/// Lowest guest-physical address an ELF segment may load at (`HVT_GUEST_MIN_BASE`).
pub const GUEST_MIN_BASE: u64 = 0x10_0000;
/// Guest-physical address of [`BootInfo`].
pub const BOOT_INFO_BASE: u64 = 0x1_0000;
/// Room reserved for the command line after the manifest copy (`HVT_CMDLINE_SIZE`).
pub const CMDLINE_SIZE: usize = 8192;
/// Largest guest memory a tender gives (4 GiB).
pub const GUEST_MAX_MEM: u64 = 1 << 32;
/// Guest memory is a multiple of this (tenders round down).
pub const GUEST_MEM_ALIGN: u64 = 2 << 20;
/// Default guest memory of `solo5-hvt` when `--mem` is not given: 512 MiB.
pub const DEFAULT_MEM_MIB: u64 = 512;
/// Largest halt cookie the tender reads (`HVT_HALT_COOKIE_MAX`).
pub const HALT_COOKIE_MAX: u64 = 512;

/// x86_64: a hypercall is a 32-bit `out` of the argument struct's address to this port + nr.
pub const X86_HYPERCALL_PIO_BASE: u16 = 0x500;
/// aarch64: a hypercall is a 32-bit store of the argument struct's address to this + 8 × nr.
pub const AARCH64_HYPERCALL_MMIO_BASE: u64 = 0x1_0000_0000;

/// Exit statuses the Solo5 API names (`SOLO5_EXIT_*`).
pub mod exit {
    pub const SUCCESS: i32 = 0;
    pub const FAILURE: i32 = 1;
    pub const ABORT: i32 = 255;
}

/// Hypercall numbers (`enum hvt_hypercall`).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hypercall {
    Walltime = 1,
    Puts = 2,
    Poll = 3,
    BlockWrite = 4,
    BlockRead = 5,
    NetWrite = 6,
    NetRead = 7,
    Halt = 8,
    /// The project's extension ([`batch`]): sends, receives and, when idle, waits, for
    /// several frames in one exit. Never issued unless the tender announced it; every
    /// other hvt tender treats it as fatal.
    NetExchange = 9,
}

impl Hypercall {
    /// One past the highest hypercall number of Solo5's ABI (`HVT_HYPERCALL_MAX`).
    pub const MAX: u32 = 9;
    /// One past the highest hypercall number including the project's [`batch`] extension.
    pub const EXT_MAX: u32 = 10;
    /// The extension's hypercalls.
    pub const EXT: [Hypercall; 1] = [Hypercall::NetExchange];
    /// Solo5's hypercalls, in number order.
    pub const ALL: [Hypercall; 8] = [
        Hypercall::Walltime,
        Hypercall::Puts,
        Hypercall::Poll,
        Hypercall::BlockWrite,
        Hypercall::BlockRead,
        Hypercall::NetWrite,
        Hypercall::NetRead,
        Hypercall::Halt,
    ];

    /// The hypercall with number `nr`, if there is one.
    pub fn from_nr(nr: u32) -> Option<Self> {
        Self::ALL
            .iter()
            .chain(&Self::EXT)
            .copied()
            .find(|h| *h as u32 == nr)
    }

    /// Lower-case name, as printed in hypercall counts.
    pub fn name(self) -> &'static str {
        match self {
            Hypercall::Walltime => "walltime",
            Hypercall::Puts => "puts",
            Hypercall::Poll => "poll",
            Hypercall::BlockWrite => "block_write",
            Hypercall::BlockRead => "block_read",
            Hypercall::NetWrite => "net_write",
            Hypercall::NetRead => "net_read",
            Hypercall::Halt => "halt",
            Hypercall::NetExchange => "net_exchange",
        }
    }

    /// Size of the argument struct the guest passes.
    pub fn arg_size(self) -> u64 {
        (match self {
            Hypercall::Walltime => core::mem::size_of::<HcWalltime>(),
            Hypercall::Puts => core::mem::size_of::<HcPuts>(),
            Hypercall::Poll => core::mem::size_of::<HcPoll>(),
            Hypercall::BlockWrite | Hypercall::BlockRead => core::mem::size_of::<HcBlock>(),
            Hypercall::NetWrite => core::mem::size_of::<HcNetWrite>(),
            Hypercall::NetRead => core::mem::size_of::<HcNetRead>(),
            Hypercall::Halt => core::mem::size_of::<HcHalt>(),
            Hypercall::NetExchange => core::mem::size_of::<HcNetExchange>(),
        }) as u64
    }
}

/// Result codes in `ret` fields (`solo5_result_t`).
pub mod result {
    pub const OK: i32 = 0;
    pub const AGAIN: i32 = 1;
    pub const EINVAL: i32 = 2;
    pub const EUNSPEC: i32 = 3;
}

/// `struct hvt_boot_info` at [`BOOT_INFO_BASE`]. 0.11+ tenders write 56 bytes; older ones
/// 40. A ring-free guest reads only the first 40 bytes ([`BootInfo::V2_SIZE`]).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BootInfo {
    /// Guest RAM in bytes; usable RAM is `[GUEST_MIN_BASE, mem_size)`.
    pub mem_size: u64,
    /// Aligned end of the highest loaded segment (does not cover a BSS-only segment).
    pub kernel_end: u64,
    /// Tick frequency in Hz (TSC on x86_64, CNTFRQ on aarch64).
    pub cpu_cycle_freq: u64,
    /// GPA of the NUL-terminated command line.
    pub cmdline: u64,
    /// GPA of the tender-filled manifest copy.
    pub mft: u64,
    /// 0.11+: bit 0 = ring I/O offered. A ring-free tender writes 0.
    pub host_features: u32,
    /// 0.11+: always 0.
    pub guest_features: u32,
    /// 0.11+: GPA of the net ring, or 0.
    pub net_ring: u64,
}

impl BootInfo {
    /// Bytes a 0.8 – 0.10 tender writes; all a ring-free guest may read.
    pub const V2_SIZE: usize = 40;
    /// Bytes a 0.11+ tender (and ours) writes.
    pub const SIZE: usize = 56;
}

/// Argument of [`Hypercall::Walltime`].
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct HcWalltime {
    /// OUT: CLOCK_REALTIME in ns since the Unix epoch.
    pub nsecs: u64,
}

/// Argument of [`Hypercall::Puts`].
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct HcPuts {
    pub data: u64,
    pub len: u64,
}

/// Argument of [`Hypercall::Poll`].
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct HcPoll {
    /// IN: relative timeout in ns.
    pub timeout_nsecs: u64,
    /// OUT: bit i set when manifest entry i is readable.
    pub ready_set: u64,
    /// OUT: number of ready devices.
    pub ret: i32,
}

/// Argument of [`Hypercall::BlockWrite`] and [`Hypercall::BlockRead`].
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct HcBlock {
    pub handle: u64,
    pub offset: u64,
    pub data: u64,
    pub len: u64,
    pub ret: i32,
}

/// Argument of [`Hypercall::NetWrite`].
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct HcNetWrite {
    pub handle: u64,
    pub data: u64,
    pub len: u64,
    pub ret: i32,
}

/// Argument of [`Hypercall::NetRead`].
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct HcNetRead {
    pub handle: u64,
    pub data: u64,
    /// IN: buffer size; OUT: frame length.
    pub len: u64,
    pub ret: i32,
}

/// Argument of [`Hypercall::Halt`].
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct HcHalt {
    /// 0, or the GPA of at least [`HALT_COOKIE_MAX`] readable bytes (x86_64: a trap frame).
    pub cookie: u64,
    pub exit_status: i32,
}

/// Argument of [`Hypercall::NetExchange`] (the [`batch`] extension). In one exit the
/// tender, in this order: sends the `tx_count` frames of `tx_iov`; reads waiting frames
/// into the `rx_count` buffers of `rx_iov`; and, only if none was waiting and
/// `timeout_nsecs` > 0, waits up to that long (like POLL) for one and reads then.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct HcNetExchange {
    pub handle: u64,
    /// GPA of `tx_count` [`batch::Iov`] entries: the frames to send.
    pub tx_iov: u64,
    /// IN: frames to send, at most [`batch::MAX_FRAMES`] (0: none).
    pub tx_count: u64,
    /// GPA of `rx_count` [`batch::Iov`] entries: receive buffers; the tender writes each
    /// filled entry's `len`.
    pub rx_iov: u64,
    /// IN: receive buffers, at most [`batch::MAX_FRAMES`] (0: only send). OUT: frames
    /// read.
    pub rx_count: u64,
    /// IN: how long to wait when no frame is waiting, in ns (0: do not wait).
    pub timeout_nsecs: u64,
    /// OUT: 1 when every receive buffer was filled (more frames may be waiting).
    pub more: u64,
    /// OUT: OK (frames read); AGAIN (none read; the frames to send were sent); EINVAL
    /// for a bad handle or count (then nothing was sent).
    pub ret: i32,
}

/// The project's extension to the hvt ABI: batched network I/O, several frames per VM
/// exit in each direction, because one exit costs 10–35 µs on the hosts this project runs
/// on and a frame per exit bounds the packet rate (issue 16).
///
/// **Detection is safe under any hvt tender.** A tender that offers the extension writes
/// an [`batch::Info`] block at [`batch::INFO_BASE`], a page in the read-only boot area
/// that Solo5's tenders leave zero (guest RAM is fresh anonymous memory, no image segment
/// may load below 0x100000, and the boot info, manifest copy and command line end below
/// 0x14000). A guest issues [`Hypercall::NetExchange`] only after it has read the exact
/// [`batch::MAGIC`] and [`batch::VERSION`] there; under `solo5-hvt` it reads zeros and
/// keeps to NET_WRITE / NET_READ / POLL. Nothing else of the ABI changes: boot info,
/// `host_features` and the hypercalls 1–8 stay byte-identical.
///
/// One exchange replaces the three exits of a plain round (POLL wakes, NET_READ,
/// NET_WRITE) and moves up to [`batch::MAX_FRAMES`] frames each way.
pub mod batch {
    /// GPA of the [`Info`] block (the last page below the image base).
    pub const INFO_BASE: u64 = 0xF_F000;
    /// First bytes of the [`Info`] block.
    pub const MAGIC: [u8; 8] = *b"HVTBATCH";
    /// The version this crate speaks.
    pub const VERSION: u32 = 2;
    /// Most frames one batched hypercall moves.
    pub const MAX_FRAMES: u32 = 64;

    /// What a tender that offers the extension writes at [`INFO_BASE`].
    #[repr(C)]
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
    pub struct Info {
        /// [`MAGIC`].
        pub magic: [u8; 8],
        /// [`VERSION`].
        pub version: u32,
        /// Most entries the tender takes in one call (≤ [`MAX_FRAMES`]).
        pub max_frames: u32,
    }

    impl Info {
        /// The block a tender writes.
        pub const fn offered() -> Info {
            Info {
                magic: MAGIC,
                version: VERSION,
                max_frames: MAX_FRAMES,
            }
        }

        /// Whether this block announces a version this crate speaks; the frames per call
        /// the guest may use if so.
        pub fn usable_frames(&self) -> Option<u32> {
            (self.magic == MAGIC && self.version == VERSION && self.max_frames > 0)
                .then(|| self.max_frames.min(MAX_FRAMES))
        }
    }

    /// One frame of an exchange.
    #[repr(C)]
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
    pub struct Iov {
        /// GPA of the frame (send) or of the buffer (receive).
        pub data: u64,
        /// Send: the frame's length. Receive: IN the buffer's size (at least MTU + 14: a
        /// shorter one truncates as NET_READ does), OUT the frame's length.
        pub len: u64,
    }
}

/// ELF notes: the ABI1 and MFT1 notes the tender requires.
pub mod note {
    /// `namesz` of a Solo5 note ("Solo5\0").
    pub const NAME_SIZE: u32 = 6;
    /// The note name, padded to 8 bytes.
    pub const NAME: [u8; 8] = *b"Solo5\0\0\0";
    /// Note type of the ABI note ("ABI1" as little-endian bytes).
    pub const TYPE_ABI: u32 = 0x3149_4241;
    /// Note type of the manifest note ("MFT1").
    pub const TYPE_MANIFEST: u32 = 0x3154_464d;
    /// `descsz` of the ABI note.
    pub const ABI_DESC_SIZE: u32 = 16;
    /// Largest `descsz` of a manifest note (`MFT1_NOTE_MAX_SIZE`).
    pub const MANIFEST_DESC_MAX: u32 = 12 + 64 * 104;
    /// Header bytes before a descriptor (namesz, descsz, type, padded name).
    pub const HEADER_SIZE: usize = 20;

    /// The whole ABI1 note as it sits in `.note.solo5.abi`.
    #[repr(C, align(4))]
    #[derive(Debug, Clone, Copy)]
    pub struct AbiNote {
        pub namesz: u32,
        pub descsz: u32,
        pub kind: u32,
        pub name: [u8; 8],
        pub abi_target: u32,
        pub abi_version: u32,
        pub reserved: [u32; 2],
    }

    impl AbiNote {
        /// The note for an hvt guest of [`super::ABI_VERSION`].
        pub const HVT: AbiNote = AbiNote {
            namesz: NAME_SIZE,
            descsz: ABI_DESC_SIZE,
            kind: TYPE_ABI,
            name: NAME,
            abi_target: super::ABI_TARGET_HVT,
            abi_version: super::ABI_VERSION,
            reserved: [0; 2],
        };
    }

    /// A manifest note with `N` entries (entry 0 being the reserved one), as it sits in
    /// `.note.solo5.manifest`. The descriptor is 8-aligned, so 4 pad bytes follow the name.
    #[repr(C, align(8))]
    #[derive(Debug, Clone, Copy)]
    pub struct ManifestNote<const N: usize> {
        pub namesz: u32,
        pub descsz: u32,
        pub kind: u32,
        pub name: [u8; 8],
        pub pad: u32,
        pub manifest: super::mft::Manifest<N>,
    }

    impl<const N: usize> ManifestNote<N> {
        /// Wraps `manifest` in its note header.
        pub const fn new(manifest: super::mft::Manifest<N>) -> Self {
            ManifestNote {
                namesz: NAME_SIZE,
                descsz: (4 + core::mem::size_of::<super::mft::Manifest<N>>()) as u32,
                kind: TYPE_MANIFEST,
                name: NAME,
                pad: 0,
                manifest,
            }
        }
    }
}

/// The application manifest (`struct mft`).
pub mod mft {
    /// `MFT_VERSION`.
    pub const VERSION: u32 = 1;
    /// Most entries a manifest may have, the reserved first one included.
    pub const MAX_ENTRIES: usize = 64;
    /// Size of one entry.
    pub const ENTRY_SIZE: usize = 104;
    /// Bytes of a manifest before its entries.
    pub const HEADER_SIZE: usize = 8;
    /// Longest device name (67 characters + NUL).
    pub const NAME_MAX: usize = 67;

    /// Entry types (`enum mft_type`).
    pub const TYPE_BLOCK_BASIC: u32 = 1;
    pub const TYPE_NET_BASIC: u32 = 2;
    pub const TYPE_RESERVED_FIRST: u32 = 1 << 30;

    /// `struct mft_entry`, 104 bytes. The 16-byte union `u` is kept as raw bytes; use
    /// the accessors.
    #[repr(C, align(8))]
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct Entry {
        pub name: [u8; 68],
        pub kind: u32,
        /// NET_BASIC: mac @0..6, mtu (u16 LE) @6..8. BLOCK_BASIC: capacity (u64) @0..8,
        /// block_size (u16) @8..10.
        pub u: [u8; 16],
        /// Host-private (the TAP fd, in solo5-hvt).
        pub hostfd: u64,
        pub attached: u8,
        pub pad: [u8; 7],
    }

    impl Entry {
        /// An all-zero entry.
        pub const EMPTY: Entry = Entry {
            name: [0; 68],
            kind: 0,
            u: [0; 16],
            hostfd: 0,
            attached: 0,
            pad: [0; 7],
        };

        /// The reserved first entry.
        pub const RESERVED_FIRST: Entry = Entry {
            kind: TYPE_RESERVED_FIRST,
            ..Entry::EMPTY
        };

        /// A NET_BASIC entry named `name` (must be 1..=67 ASCII alphanumerics; checked at
        /// compile time when used in a `const`).
        pub const fn net_basic(name: &str) -> Entry {
            Entry {
                name: name_bytes(name),
                kind: TYPE_NET_BASIC,
                ..Entry::EMPTY
            }
        }

        /// A BLOCK_BASIC entry named `name`.
        pub const fn block_basic(name: &str) -> Entry {
            Entry {
                name: name_bytes(name),
                kind: TYPE_BLOCK_BASIC,
                ..Entry::EMPTY
            }
        }

        /// The name up to its NUL (empty if the name is not NUL-terminated).
        pub fn name(&self) -> &[u8] {
            match self.name.iter().position(|b| *b == 0) {
                Some(n) => &self.name[..n],
                None => &[],
            }
        }

        /// NET_BASIC: the MAC address.
        pub fn net_mac(&self) -> [u8; 6] {
            [
                self.u[0], self.u[1], self.u[2], self.u[3], self.u[4], self.u[5],
            ]
        }

        /// NET_BASIC: the MTU.
        pub fn net_mtu(&self) -> u16 {
            u16::from_le_bytes([self.u[6], self.u[7]])
        }

        /// NET_BASIC: sets MAC and MTU.
        pub fn set_net(&mut self, mac: [u8; 6], mtu: u16) {
            self.u[..6].copy_from_slice(&mac);
            self.u[6..8].copy_from_slice(&mtu.to_le_bytes());
        }

        /// BLOCK_BASIC: capacity in bytes.
        pub fn block_capacity(&self) -> u64 {
            let mut b = [0u8; 8];
            b.copy_from_slice(&self.u[..8]);
            u64::from_le_bytes(b)
        }

        /// BLOCK_BASIC: block size.
        pub fn block_size(&self) -> u16 {
            u16::from_le_bytes([self.u[8], self.u[9]])
        }

        /// BLOCK_BASIC: sets capacity and block size.
        pub fn set_block(&mut self, capacity: u64, block_size: u16) {
            self.u[..8].copy_from_slice(&capacity.to_le_bytes());
            self.u[8..10].copy_from_slice(&block_size.to_le_bytes());
        }
    }

    /// Checks and copies a device name at compile time.
    const fn name_bytes(name: &str) -> [u8; 68] {
        let b = name.as_bytes();
        assert!(!b.is_empty() && b.len() <= NAME_MAX, "manifest name length");
        let mut out = [0u8; 68];
        let mut i = 0;
        while i < b.len() {
            assert!(
                b[i].is_ascii_alphanumeric(),
                "manifest names are [A-Za-z0-9]"
            );
            out[i] = b[i];
            i += 1;
        }
        out
    }

    /// `struct mft` with `N` entries.
    #[repr(C, align(8))]
    #[derive(Debug, Clone, Copy)]
    pub struct Manifest<const N: usize> {
        pub version: u32,
        pub entries: u32,
        pub e: [Entry; N],
    }

    impl<const N: usize> Manifest<N> {
        /// A manifest from its entries; `e[0]` must be [`Entry::RESERVED_FIRST`].
        pub const fn new(e: [Entry; N]) -> Self {
            assert!(N >= 1 && N <= MAX_ENTRIES);
            assert!(e[0].kind == TYPE_RESERVED_FIRST);
            Manifest {
                version: VERSION,
                entries: N as u32,
                e,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::{offset_of, size_of};

    #[test]
    fn boot_info_layout_matches_hvt_abi_h() {
        assert_eq!(size_of::<BootInfo>(), BootInfo::SIZE);
        assert_eq!(offset_of!(BootInfo, mem_size), 0);
        assert_eq!(offset_of!(BootInfo, kernel_end), 8);
        assert_eq!(offset_of!(BootInfo, cpu_cycle_freq), 16);
        assert_eq!(offset_of!(BootInfo, cmdline), 24);
        assert_eq!(offset_of!(BootInfo, mft), 32);
        assert_eq!(offset_of!(BootInfo, host_features), 40);
        assert_eq!(offset_of!(BootInfo, guest_features), 44);
        assert_eq!(offset_of!(BootInfo, net_ring), 48);
    }

    #[test]
    fn hypercall_arg_sizes_match_hvt_abi_h() {
        let sizes: [(Hypercall, u64); 8] = [
            (Hypercall::Walltime, 8),
            (Hypercall::Puts, 16),
            (Hypercall::Poll, 24),
            (Hypercall::BlockWrite, 40),
            (Hypercall::BlockRead, 40),
            (Hypercall::NetWrite, 32),
            (Hypercall::NetRead, 32),
            (Hypercall::Halt, 16),
        ];
        for (h, s) in sizes {
            assert_eq!(h.arg_size(), s, "{}", h.name());
            assert_eq!(Hypercall::from_nr(h as u32), Some(h));
        }
        assert_eq!(Hypercall::from_nr(0), None);
        assert_eq!(
            Hypercall::from_nr(Hypercall::MAX),
            Some(Hypercall::NetExchange)
        );
        assert_eq!(Hypercall::from_nr(Hypercall::EXT_MAX), None);
        assert_eq!(Hypercall::NetExchange.arg_size(), 64);
        assert_eq!(offset_of!(HcNetExchange, timeout_nsecs), 40);
        assert_eq!(offset_of!(HcNetExchange, ret), 56);
        assert_eq!(size_of::<batch::Iov>(), 16);
        assert_eq!(size_of::<batch::Info>(), 16);
        assert_eq!(
            batch::Info::offered().usable_frames(),
            Some(batch::MAX_FRAMES)
        );
        assert_eq!(batch::Info::default().usable_frames(), None);
        let future = batch::Info {
            version: batch::VERSION + 1,
            ..batch::Info::offered()
        };
        assert_eq!(future.usable_frames(), None);
        assert_eq!(offset_of!(HcPoll, ret), 16);
        assert_eq!(offset_of!(HcBlock, ret), 32);
        assert_eq!(offset_of!(HcNetRead, ret), 24);
        assert_eq!(offset_of!(HcHalt, exit_status), 8);
    }

    #[test]
    fn manifest_layout_matches_mft_abi_h() {
        assert_eq!(size_of::<mft::Entry>(), mft::ENTRY_SIZE);
        assert_eq!(offset_of!(mft::Entry, kind), 68);
        assert_eq!(offset_of!(mft::Entry, u), 72);
        assert_eq!(offset_of!(mft::Entry, hostfd), 88);
        assert_eq!(offset_of!(mft::Entry, attached), 96);
        assert_eq!(size_of::<mft::Manifest<2>>(), 8 + 2 * 104);
        let n = note::ManifestNote::new(mft::Manifest::new([
            mft::Entry::RESERVED_FIRST,
            mft::Entry::net_basic("service"),
        ]));
        assert_eq!(offset_of!(note::ManifestNote<2>, manifest), 24);
        assert_eq!(n.descsz as usize, 4 + 8 + 2 * 104);
        assert_eq!(n.manifest.e[1].name(), b"service");
        assert_eq!(size_of::<note::AbiNote>(), 36);
    }

    #[test]
    fn net_and_block_union_accessors_round_trip() {
        let mut e = mft::Entry::net_basic("service");
        e.set_net([2, 1, 2, 3, 4, 5], 1500);
        assert_eq!(e.net_mac(), [2, 1, 2, 3, 4, 5]);
        assert_eq!(e.net_mtu(), 1500);
        let mut b = mft::Entry::block_basic("storage");
        b.set_block(1 << 20, 512);
        assert_eq!(b.block_capacity(), 1 << 20);
        assert_eq!(b.block_size(), 512);
    }
}
