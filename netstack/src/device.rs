//! The bridge from a [`Nic`] to smoltcp's `phy::Device`.
//!
//! Both token buffers are allocated once, sized from the NIC's MTU, and reused for every
//! frame: receiving or sending never allocates (except for the oversize path below,
//! which smoltcp never takes because it honours the MTU we report).

use alloc::vec;
use alloc::vec::Vec;

use smoltcp::phy::{self, DeviceCapabilities, Medium};
use smoltcp::time::Instant;

use crate::Nic;

/// Ethernet header without FCS: what smoltcp counts on top of the IP MTU.
pub(crate) const ETH_HEADER: usize = 14;
/// Room for one 802.1Q tag on received frames, which smoltcp then drops on its own.
const VLAN_TAG: usize = 4;

/// Frame counters kept by the device adapter.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct DeviceStats {
    pub frames_in: u64,
    pub frames_out: u64,
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub rx_oversize: u64,
    pub tx_oversize: u64,
}

/// A [`Nic`] with one receive and one transmit buffer.
pub(crate) struct NicDevice<N> {
    pub nic: N,
    mtu: usize,
    rx_buf: Vec<u8>,
    tx_buf: Vec<u8>,
    pub stats: DeviceStats,
}

impl<N: Nic> NicDevice<N> {
    /// Wraps `nic`; `mtu` is its IP MTU, already checked by the caller.
    pub fn new(nic: N, mtu: usize) -> Self {
        NicDevice {
            nic,
            mtu,
            rx_buf: vec![0; mtu + ETH_HEADER + VLAN_TAG],
            tx_buf: vec![0; mtu + ETH_HEADER],
            stats: DeviceStats::default(),
        }
    }
}

/// A received frame, borrowed from the device's receive buffer.
pub(crate) struct RxToken<'a> {
    frame: &'a [u8],
}

/// Permission to send one frame through the NIC.
pub(crate) struct TxToken<'a, N> {
    nic: &'a mut N,
    buf: &'a mut [u8],
    stats: &'a mut DeviceStats,
}

impl phy::RxToken for RxToken<'_> {
    fn consume<R, F>(self, f: F) -> R
    where
        F: FnOnce(&[u8]) -> R,
    {
        f(self.frame)
    }
}

impl<N: Nic> phy::TxToken for TxToken<'_, N> {
    fn consume<R, F>(self, len: usize, f: F) -> R
    where
        F: FnOnce(&mut [u8]) -> R,
    {
        match self.buf.get_mut(..len) {
            Some(frame) => {
                let r = f(frame);
                self.nic.send(frame);
                self.stats.frames_out += 1;
                self.stats.bytes_out += len as u64;
                r
            }
            None => {
                // smoltcp sizes frames from the MTU we report, so this is not expected;
                // if it happens the frame is built and dropped rather than sent too big.
                let mut scratch = vec![0; len];
                self.stats.tx_oversize += 1;
                f(&mut scratch)
            }
        }
    }
}

impl<N: Nic> phy::Device for NicDevice<N> {
    type RxToken<'a>
        = RxToken<'a>
    where
        Self: 'a;
    type TxToken<'a>
        = TxToken<'a, N>
    where
        Self: 'a;

    fn receive(&mut self, _timestamp: Instant) -> Option<(RxToken<'_>, TxToken<'_, N>)> {
        let len = self.nic.recv(&mut self.rx_buf)?;
        self.stats.frames_in += 1;
        let frame = match self.rx_buf.get(..len) {
            Some(frame) => {
                self.stats.bytes_in += len as u64;
                frame
            }
            None => {
                // A NIC that claims more than it could have written: hand smoltcp an
                // empty frame, which it skips (and which still counts against the
                // per-poll frame budget, so a broken NIC cannot spin us forever).
                self.stats.rx_oversize += 1;
                &[]
            }
        };
        Some((
            RxToken { frame },
            TxToken {
                nic: &mut self.nic,
                buf: &mut self.tx_buf,
                stats: &mut self.stats,
            },
        ))
    }

    fn transmit(&mut self, _timestamp: Instant) -> Option<TxToken<'_, N>> {
        Some(TxToken {
            nic: &mut self.nic,
            buf: &mut self.tx_buf,
            stats: &mut self.stats,
        })
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ethernet;
        caps.max_transmission_unit = self.mtu + ETH_HEADER;
        caps.max_burst_size = None;
        caps
    }
}
