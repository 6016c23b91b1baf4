//! The bridge from a [`Nic`] to smoltcp's `phy::Device`.
//!
//! Both token buffers are allocated once, sized from the NIC's MTU, and reused for every
//! frame: receiving or sending never allocates (except for the oversize path below,
//! which smoltcp never takes because it honours the MTU we report).
//!
//! Outgoing ICMP error messages pass a token bucket here ([`IcmpErrorLimiter`]): smoltcp
//! answers every datagram to a closed UDP port (and every unknown IP protocol) with one,
//! and offers no hook of its own, so the device is where they can be counted and held.

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
    pub icmp_errors_suppressed: u64,
}

/// A token bucket for outgoing ICMP error messages (GCRA form: one deadline, no
/// table), over all destinations like Linux's `icmp_msgs_per_sec`: a forged flood to
/// closed ports must not make us a reflector. Time is the frame's smoltcp timestamp.
pub(crate) struct IcmpErrorLimiter {
    /// Nanoseconds of credit one message costs; 0 when ICMP errors are switched off.
    interval_ns: u64,
    /// How far ahead of now the bucket may be drawn: `burst` messages' worth.
    burst_ns: u64,
    /// The theoretical arrival time of the next message.
    tat_ns: u64,
}

impl IcmpErrorLimiter {
    /// `per_sec` messages a second on average, `burst` (at least 1) at once.
    pub fn new(per_sec: u32, burst: u32) -> Self {
        let interval_ns = if per_sec == 0 {
            0
        } else {
            1_000_000_000 / u64::from(per_sec)
        };
        IcmpErrorLimiter {
            interval_ns,
            burst_ns: interval_ns.saturating_mul(u64::from(burst.max(1))),
            tat_ns: 0,
        }
    }

    /// Whether one more message may go out at `now_ns`; takes its token if so.
    pub fn allow(&mut self, now_ns: u64) -> bool {
        if self.interval_ns == 0 {
            return false;
        }
        let tat = self.tat_ns.max(now_ns);
        let next = tat.saturating_add(self.interval_ns);
        if next > now_ns.saturating_add(self.burst_ns) {
            return false;
        }
        self.tat_ns = next;
        true
    }
}

/// Whether `frame` (Ethernet) carries an ICMPv4 or ICMPv6 error message: destination
/// or port unreachable, time exceeded, parameter problem and the like (not echo, not
/// neighbour discovery). Reads only what is there; a short frame is not one.
pub(crate) fn is_icmp_error(frame: &[u8]) -> bool {
    let at = |i: usize| frame.get(i).copied();
    match (at(12), at(13)) {
        // IPv4: protocol 1, and an error type (3 unreachable, 4 source quench, 5
        // redirect, 11 time exceeded, 12 parameter problem).
        (Some(0x08), Some(0x00)) => {
            let Some(vihl) = at(ETH_HEADER) else {
                return false;
            };
            let ihl = usize::from(vihl & 0x0f) * 4;
            at(ETH_HEADER + 9) == Some(1)
                && at(ETH_HEADER + ihl).is_some_and(|t| matches!(t, 3 | 4 | 5 | 11 | 12))
        }
        // IPv6: next header 58 (smoltcp puts no extension header before its own
        // ICMPv6), and a type below 128 (errors; informational ones start at 128).
        (Some(0x86), Some(0xdd)) => {
            at(ETH_HEADER + 6) == Some(58) && at(ETH_HEADER + 40).is_some_and(|t| t < 128)
        }
        _ => false,
    }
}

/// A [`Nic`] with one receive and one transmit buffer.
pub(crate) struct NicDevice<N> {
    pub nic: N,
    mtu: usize,
    rx_buf: Vec<u8>,
    tx_buf: Vec<u8>,
    pub stats: DeviceStats,
    icmp_errors: IcmpErrorLimiter,
}

impl<N: Nic> NicDevice<N> {
    /// Wraps `nic`; `mtu` is its IP MTU, already checked by the caller. Outgoing ICMP
    /// errors pass `icmp_errors`.
    pub fn new(nic: N, mtu: usize, icmp_errors: IcmpErrorLimiter) -> Self {
        NicDevice {
            nic,
            mtu,
            rx_buf: vec![0; mtu + ETH_HEADER + VLAN_TAG],
            tx_buf: vec![0; mtu + ETH_HEADER],
            stats: DeviceStats::default(),
            icmp_errors,
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
    icmp_errors: &'a mut IcmpErrorLimiter,
    now_ns: u64,
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
                if is_icmp_error(frame) && !self.icmp_errors.allow(self.now_ns) {
                    self.stats.icmp_errors_suppressed += 1;
                    return r;
                }
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

/// A smoltcp timestamp in nanoseconds (0 before the epoch).
fn nanos(t: Instant) -> u64 {
    u64::try_from(t.total_micros())
        .unwrap_or(0)
        .saturating_mul(1000)
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

    fn receive(&mut self, timestamp: Instant) -> Option<(RxToken<'_>, TxToken<'_, N>)> {
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
                icmp_errors: &mut self.icmp_errors,
                now_ns: nanos(timestamp),
            },
        ))
    }

    fn transmit(&mut self, timestamp: Instant) -> Option<TxToken<'_, N>> {
        Some(TxToken {
            nic: &mut self.nic,
            buf: &mut self.tx_buf,
            stats: &mut self.stats,
            icmp_errors: &mut self.icmp_errors,
            now_ns: nanos(timestamp),
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
