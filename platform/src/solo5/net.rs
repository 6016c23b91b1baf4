//! The `service` network device: one frame per hypercall (Solo5's NET_READ / NET_WRITE),
//! or, when the tender announced the project's batch extension (`hvt_abi::batch`),
//! several frames per VM exit in each direction.
//!
//! Batched mode keeps two rings of frame slots in guest RAM:
//! - **receive**: one NET_READV fills up to `slots` frames; [`Net::read`] hands them out
//!   one by one without leaving the guest. When a call returns fewer frames than slots
//!   the device ran dry, and no further NET_READV is made until POLL says a frame waits
//!   (POLL is level-triggered, so nothing is missed, and an idle guest makes no empty
//!   reads).
//! - **send**: [`Net::write`] copies the frame into a slot; the slots go out in one
//!   NET_WRITEV when they are full, before the next NET_READV, and before the guest
//!   blocks in POLL ([`Net::flush`]). A frame waits at most for the work of one batch.
//!
//! Frames are copied once into and out of the slots (1.5 KB each, tens of nanoseconds)
//! to save an exit (10–35 µs) per frame.

use alloc::vec;
use alloc::vec::Vec;

use hvt_abi::batch::{self, Iov};
use hvt_abi::result;

use super::boot::NetDevice;
use super::hypercall;
use crate::NetError;

/// Frames per batched call the guest uses (the tender may take up to
/// [`batch::MAX_FRAMES`]): 32 × 2 × 1.5 KB of slots, and more than the netstack reads in
/// one poll.
const SLOTS: usize = 32;

/// The device and, in batched mode, its rings.
pub(crate) struct Net {
    /// Handle, MAC and MTU from the manifest.
    pub(crate) dev: NetDevice,
    /// Largest frame: MTU + Ethernet header.
    max_frame: usize,
    /// The rings, when the tender offers the extension.
    batch: Option<Rings>,
}

/// Slot rings for the batched hypercalls.
struct Rings {
    /// Frames per call.
    slots: usize,
    /// Receive slots, `slots × max_frame` bytes.
    rx: Vec<u8>,
    /// The receive call's entries (buffer and, after the call, frame length).
    rx_iov: Vec<Iov>,
    /// Frames the last NET_READV returned.
    rx_count: usize,
    /// The next of them to hand out.
    rx_next: usize,
    /// Whether a NET_READV may find a frame: the last one filled every slot, or POLL
    /// reported the device readable since.
    rx_maybe: bool,
    /// Send slots, `slots × max_frame` bytes.
    tx: Vec<u8>,
    /// The send call's entries.
    tx_iov: Vec<Iov>,
    /// Frames queued in `tx`.
    tx_count: usize,
}

impl Net {
    /// The device, batched if the tender announced a version of the extension this
    /// platform speaks at `batch::INFO_BASE` (zeros under Solo5's tenders).
    pub(crate) fn new(dev: NetDevice, max_frame: usize) -> Net {
        // SAFETY: INFO_BASE lies in the boot area [0x10000, 0x100000), which every hvt
        // tender maps readable (x86_64 and aarch64 alike); the block is 16 bytes, 8-aligned.
        let info = unsafe { (batch::INFO_BASE as *const batch::Info).read_volatile() };
        let batch = info.usable_frames().map(|max| {
            let slots = SLOTS.min(max as usize);
            Rings {
                slots,
                rx: vec![0; slots * max_frame],
                rx_iov: vec![Iov::default(); slots],
                rx_count: 0,
                rx_next: 0,
                rx_maybe: true,
                tx: vec![0; slots * max_frame],
                tx_iov: vec![Iov::default(); slots],
                tx_count: 0,
            }
        });
        Net {
            dev,
            max_frame,
            batch,
        }
    }

    /// Frames per VM exit in batched mode; `None` with the plain ABI.
    pub(crate) fn batch_frames(&self) -> Option<usize> {
        self.batch.as_ref().map(|r| r.slots)
    }

    /// Reads one waiting frame into `buf` (at least `max_frame` bytes).
    pub(crate) fn read(&mut self, buf: &mut [u8]) -> Result<Option<usize>, NetError> {
        if buf.len() < self.max_frame {
            return Err(NetError::BufferTooSmall);
        }
        let handle = self.dev.handle;
        let max_frame = self.max_frame;
        let Some(r) = self.batch.as_mut() else {
            return match hypercall::net_read(handle, buf) {
                (result::OK, len) => Ok(Some(len)),
                (result::AGAIN, _) => Ok(None),
                (result::EINVAL, _) => Err(NetError::Invalid),
                _ => Err(NetError::Unspecified),
            };
        };
        if r.rx_next >= r.rx_count {
            if !r.rx_maybe {
                return Ok(None);
            }
            // Answers made since the last call go out first: one exit each way per batch.
            r.flush(handle)?;
            r.refill(handle, max_frame)?;
        }
        Ok(r.take(max_frame, buf))
    }

    /// Sends one frame (1 ..= `max_frame` bytes): at once with the plain ABI, else queued
    /// until the slots are full or [`Net::flush`].
    pub(crate) fn write(&mut self, frame: &[u8]) -> Result<(), NetError> {
        if frame.is_empty() || frame.len() > self.max_frame {
            return Err(NetError::BadFrameLength);
        }
        let handle = self.dev.handle;
        let max_frame = self.max_frame;
        let Some(r) = self.batch.as_mut() else {
            return match hypercall::net_write(handle, frame) {
                result::OK => Ok(()),
                result::EINVAL => Err(NetError::Invalid),
                _ => Err(NetError::Unspecified),
            };
        };
        if r.tx_count >= r.slots {
            r.flush(handle)?;
        }
        let at = r.tx_count * max_frame;
        let slot =
            r.tx.get_mut(at..at + frame.len())
                .ok_or(NetError::Unspecified)?;
        slot.copy_from_slice(frame);
        if let Some(e) = r.tx_iov.get_mut(r.tx_count) {
            *e = Iov {
                data: slot.as_ptr() as u64,
                len: frame.len() as u64,
            };
        }
        r.tx_count += 1;
        if r.tx_count == r.slots {
            r.flush(handle)?;
        }
        Ok(())
    }

    /// Sends the queued frames (batched mode; nothing to do otherwise).
    pub(crate) fn flush(&mut self) -> Result<(), NetError> {
        let handle = self.dev.handle;
        match self.batch.as_mut() {
            Some(r) => r.flush(handle),
            None => Ok(()),
        }
    }

    /// Whether a received frame is already in the guest, so waiting would be wrong.
    pub(crate) fn frame_waiting(&self) -> bool {
        self.batch.as_ref().is_some_and(|r| r.rx_next < r.rx_count)
    }

    /// What POLL said about the device: a readable device makes the next read ask again.
    pub(crate) fn polled(&mut self, readable: bool) {
        if let Some(r) = self.batch.as_mut() {
            r.rx_maybe |= readable;
        }
    }
}

impl Rings {
    /// One NET_READV into every slot.
    fn refill(&mut self, handle: u64, max_frame: usize) -> Result<(), NetError> {
        for (i, e) in self.rx_iov.iter_mut().enumerate() {
            let slot = self.rx[i * max_frame..].as_mut_ptr();
            *e = Iov {
                data: slot as u64,
                len: max_frame as u64,
            };
        }
        let (ret, count, more) = hypercall::net_readv(handle, &mut self.rx_iov);
        self.rx_next = 0;
        self.rx_count = 0;
        self.rx_maybe = more;
        match ret {
            result::OK => {
                self.rx_count = count.min(self.slots);
                Ok(())
            }
            result::AGAIN => {
                self.rx_maybe = false;
                Ok(())
            }
            result::EINVAL => Err(NetError::Invalid),
            _ => Err(NetError::Unspecified),
        }
    }

    /// Copies the next received frame into `buf`.
    fn take(&mut self, max_frame: usize, buf: &mut [u8]) -> Option<usize> {
        if self.rx_next >= self.rx_count {
            return None;
        }
        let i = self.rx_next;
        self.rx_next += 1;
        let len = self
            .rx_iov
            .get(i)
            .map_or(0, |e| e.len as usize)
            .min(max_frame);
        let src = self.rx.get(i * max_frame..i * max_frame + len)?;
        buf.get_mut(..len)?.copy_from_slice(src);
        Some(len)
    }

    /// One NET_WRITEV of the queued frames.
    fn flush(&mut self, handle: u64) -> Result<(), NetError> {
        if self.tx_count == 0 {
            return Ok(());
        }
        let n = self.tx_count.min(self.tx_iov.len());
        self.tx_count = 0;
        match hypercall::net_writev(handle, &self.tx_iov[..n]) {
            result::OK => Ok(()),
            result::EINVAL => Err(NetError::Invalid),
            _ => Err(NetError::Unspecified),
        }
    }
}
