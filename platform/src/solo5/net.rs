//! The `service` network device: Solo5's NET_READ / NET_WRITE / POLL, one frame per
//! hypercall, or, when the tender announced the project's batch extension
//! (`hvt_abi::batch`), NET_EXCHANGE: frames out, frames in and, when idle, the wait, all
//! in one VM exit.
//!
//! Batched mode keeps two rings of frame slots in guest RAM:
//! - **send**: [`Net::write`] copies the frame into a slot. Queued frames leave with the
//!   next exchange: when the slots are full, when the receive ring is empty and is
//!   refilled, and when the guest goes idle ([`Net::wait`]).
//! - **receive**: an exchange fills up to `slots` frames; [`Net::read`] hands them out
//!   one by one without leaving the guest. When an exchange returns fewer frames than
//!   slots the device ran dry, and the next one is the idle wait — which, unlike POLL,
//!   brings the frame that ended it along.
//!
//! A round trip under load is then one exit (send the answers, take the next queries)
//! instead of three (POLL, NET_READ, NET_WRITE) for one frame each. Frames are copied
//! once into and out of the slots (1.5 KB, tens of nanoseconds) to save exits of 10–35 µs.

use alloc::vec;
use alloc::vec::Vec;

use hvt_abi::batch::{self, Iov};
use hvt_abi::result;

use super::boot::NetDevice;
use super::hypercall;
use crate::NetError;

/// Frames per exchange the guest uses (the tender may take up to
/// [`batch::MAX_FRAMES`]): 32 × 2 × 1.5 KB of slots, more than the netstack reads in one
/// poll.
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

/// Slot rings for NET_EXCHANGE.
struct Rings {
    /// Frames per exchange and direction.
    slots: usize,
    /// Receive slots, `slots × max_frame` bytes.
    rx: Vec<u8>,
    /// The receive entries (buffer and, after the exchange, frame length).
    rx_iov: Vec<Iov>,
    /// Frames the last receiving exchange returned.
    rx_count: usize,
    /// The next of them to hand out.
    rx_next: usize,
    /// Whether a non-waiting exchange may find a frame: the last one filled every slot
    /// (or none was made yet). When false the next receive is the idle wait.
    rx_maybe: bool,
    /// Send slots, `slots × max_frame` bytes.
    tx: Vec<u8>,
    /// The send entries.
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
        if !r.rx_waiting() {
            if !r.rx_maybe {
                return Ok(None);
            }
            r.exchange(handle, max_frame, true, 0)?;
        }
        Ok(r.take(max_frame, buf))
    }

    /// Sends one frame (1 ..= `max_frame` bytes): at once with the plain ABI, else queued
    /// for the next exchange.
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
            // Full: send, and take what is waiting if the receive ring is free for it.
            let receive = !r.rx_waiting() && r.rx_maybe;
            r.exchange(handle, max_frame, receive, 0)?;
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
        Ok(())
    }

    /// Sends what is queued, then waits up to `timeout_ns` (≥ 1) for a frame. Returns
    /// whether a frame is waiting. Plain ABI: one POLL. Batched: at once if a received
    /// frame is already in the guest (after sending), else one exchange that sends, waits
    /// and brings the frames that ended the wait.
    pub(crate) fn wait(&mut self, timeout_ns: u64) -> Result<bool, NetError> {
        let handle = self.dev.handle;
        let max_frame = self.max_frame;
        let Some(r) = self.batch.as_mut() else {
            let ready = hypercall::poll(timeout_ns.max(1));
            return Ok(ready & (1 << handle) != 0);
        };
        if r.rx_waiting() {
            if r.tx_count > 0 {
                r.exchange(handle, max_frame, false, 0)?;
            }
            return Ok(true);
        }
        r.exchange(handle, max_frame, true, timeout_ns.max(1))?;
        Ok(r.rx_waiting())
    }
}

impl Rings {
    /// Whether a received frame is in the guest, not yet handed out.
    fn rx_waiting(&self) -> bool {
        self.rx_next < self.rx_count
    }

    /// One NET_EXCHANGE: sends the queued frames and, with `receive` (only when the
    /// receive ring is empty), fills the receive slots, waiting up to `timeout_ns` for a
    /// first frame.
    fn exchange(
        &mut self,
        handle: u64,
        max_frame: usize,
        receive: bool,
        timeout_ns: u64,
    ) -> Result<(), NetError> {
        let tx_n = self.tx_count.min(self.tx_iov.len());
        self.tx_count = 0;
        let rx_n = if receive {
            for (i, e) in self.rx_iov.iter_mut().enumerate() {
                let slot = self.rx[i * max_frame..].as_mut_ptr();
                *e = Iov {
                    data: slot as u64,
                    len: max_frame as u64,
                };
            }
            self.rx_next = 0;
            self.rx_count = 0;
            self.rx_iov.len()
        } else {
            0
        };
        let (ret, got, more) = hypercall::net_exchange(
            handle,
            &self.tx_iov[..tx_n],
            &mut self.rx_iov[..rx_n],
            timeout_ns,
        );
        match ret {
            result::OK | result::AGAIN => {
                if receive {
                    self.rx_count = got.min(self.slots);
                    self.rx_maybe = more;
                }
                Ok(())
            }
            result::EINVAL => Err(NetError::Invalid),
            _ => Err(NetError::Unspecified),
        }
    }

    /// Copies the next received frame into `buf`.
    fn take(&mut self, max_frame: usize, buf: &mut [u8]) -> Option<usize> {
        if !self.rx_waiting() {
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
}
