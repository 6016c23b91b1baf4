//! The UDP socket table: bind, send, receive, unbind, and the service pass.
//!
//! Sockets are made on first use and kept when unbound, for the next bind with the same
//! buffer sizes (a bind per upstream query must not zero a fresh buffer each time);
//! the table never holds more than every owner's cap together.

use alloc::vec;
use core::net::{IpAddr, SocketAddr};

use smoltcp::iface::SocketHandle;
use smoltcp::socket::udp;
use smoltcp::wire::{IpAddress, IpEndpoint};

use super::{DatagramError, OpenError, Owner, UdpHandle, UdpLimits, check_udp_limits};
use crate::net::Net;
use crate::stack::EventQueue;
use crate::{Event, Nic};

/// One smoltcp UDP socket, bound while in use.
pub(crate) struct UdpSlot {
    handle: SocketHandle,
    /// The buffers it was made with.
    limits: UdpLimits,
    bound: Option<Bound>,
}

#[derive(Clone, Copy)]
struct Bound {
    port: u16,
    owner: Owner,
    serial: u32,
}

fn buffer(packets: usize, bytes: usize) -> udp::PacketBuffer<'static> {
    udp::PacketBuffer::new(vec![udp::PacketMetadata::EMPTY; packets], vec![0; bytes])
}

fn socket(l: &UdpLimits) -> udp::Socket<'static> {
    udp::Socket::new(
        buffer(l.rx_packets, l.rx_bytes),
        buffer(l.tx_packets, l.tx_bytes),
    )
}

impl<N: Nic> Net<N> {
    /// The slot index of a live `h` of `owner`.
    fn udp_slot(&self, owner: Owner, h: UdpHandle) -> Option<usize> {
        let i = usize::try_from(h.slot).ok()?;
        let b = self.udp.get(i)?.bound?;
        (b.serial == h.serial && b.owner == owner).then_some(i)
    }

    /// Binds `port` for `owner` on a free socket with `limits`' buffers (made if need
    /// be, within the caps).
    pub fn bind_udp(
        &mut self,
        owner: Owner,
        port: u16,
        limits: &UdpLimits,
    ) -> Result<UdpHandle, OpenError> {
        if port == 0 {
            return Err(OpenError::InvalidPort);
        }
        check_udp_limits(limits)?;
        if self
            .udp
            .iter()
            .any(|s| s.bound.is_some_and(|b| b.port == port))
        {
            return Err(OpenError::PortInUse);
        }
        let o = owner as usize;
        if self.udp_count[o] >= self.caps.udp[o] {
            return Err(OpenError::NoFreeSocket);
        }
        let same = self
            .udp
            .iter()
            .position(|s| s.bound.is_none() && s.limits == *limits);
        let i = match same {
            Some(i) => i,
            None if self.udp.len() < self.caps.udp.iter().sum() => {
                self.udp.push(UdpSlot {
                    handle: self.set.add(socket(limits)),
                    limits: *limits,
                    bound: None,
                });
                self.udp.len() - 1
            }
            None => {
                // Every socket the caps allow is made; one that is free has other
                // buffers: make it over.
                let i = self
                    .udp
                    .iter()
                    .position(|s| s.bound.is_none())
                    .ok_or(OpenError::NoFreeSocket)?;
                let old = self.udp[i].handle;
                self.set.remove(old);
                self.udp[i].handle = self.set.add(socket(limits));
                self.udp[i].limits = *limits;
                i
            }
        };
        self.udp_max_tx_packets = self.udp_max_tx_packets.max(limits.tx_packets);
        let serial = self.next_serial();
        let slot = &mut self.udp[i];
        // A free socket is closed and the port is not 0, so binding cannot fail.
        let _ = self.set.get_mut::<udp::Socket>(slot.handle).bind(port);
        slot.bound = Some(Bound {
            port,
            owner,
            serial,
        });
        self.udp_count[o] += 1;
        Ok(UdpHandle {
            slot: u32::try_from(i).unwrap_or(u32::MAX),
            serial,
        })
    }

    /// Unbinds `h`; datagrams still waiting in it are dropped. Whether it was live.
    pub fn unbind_udp(&mut self, owner: Owner, h: UdpHandle) -> bool {
        let Some(i) = self.udp_slot(owner, h) else {
            return false;
        };
        self.set.get_mut::<udp::Socket>(self.udp[i].handle).close();
        self.renew(i);
        self.udp[i].bound = None;
        self.udp_count[owner as usize] = self.udp_count[owner as usize].saturating_sub(1);
        true
    }

    /// Gives socket `i` a fresh smoltcp handle, keeping its buffers: smoltcp keeps
    /// per-handle neighbour state (a socket whose datagram found no neighbour is
    /// silenced for a second, until *that* neighbour is known), which the next user of
    /// the socket, sending elsewhere, must not inherit.
    fn renew(&mut self, i: usize) {
        let Some(slot) = self.udp.get_mut(i) else {
            return;
        };
        let sock = self.set.remove(slot.handle);
        slot.handle = self.set.add(sock);
    }

    /// Payload bytes queued in `h` that have not left yet (a live `h` of `owner`).
    pub(crate) fn udp_unsent(&mut self, owner: Owner, h: UdpHandle) -> Option<usize> {
        let i = self.udp_slot(owner, h)?;
        let s = self.udp.get(i)?.handle;
        Some(self.set.get_mut::<udp::Socket>(s).send_queue())
    }

    /// Drops what `h` has queued and not sent, keeping it bound to its port with a
    /// fresh neighbour state. Whether `h` was live.
    pub(crate) fn udp_drop_unsent(&mut self, owner: Owner, h: UdpHandle) -> bool {
        let Some(i) = self.udp_slot(owner, h) else {
            return false;
        };
        let Some(port) = self.udp.get(i).and_then(|s| s.bound).map(|b| b.port) else {
            return false;
        };
        self.set.get_mut::<udp::Socket>(self.udp[i].handle).close();
        self.renew(i);
        // Closed and the port is not 0: binding it again cannot fail.
        let _ = self
            .set
            .get_mut::<udp::Socket>(self.udp[i].handle)
            .bind(port);
        true
    }

    /// Queues one datagram from `h` to `dst`, from local address `src` if it is still
    /// ours (else smoltcp picks one).
    pub fn send_to(
        &mut self,
        owner: Owner,
        h: UdpHandle,
        dst: SocketAddr,
        src: Option<IpAddr>,
        payload: &[u8],
    ) -> Result<(), DatagramError> {
        let i = self
            .udp_slot(owner, h)
            .ok_or(DatagramError::UnknownSocket)?;
        if payload.len() > self.max_udp_payload(&dst.ip()) {
            return Err(DatagramError::TooLarge);
        }
        let mut meta = udp::UdpMetadata::from(IpEndpoint::from(dst));
        meta.local_address = src.filter(|ip| self.has_addr(*ip)).map(IpAddress::from);
        let sock = self.set.get_mut::<udp::Socket>(self.udp[i].handle);
        sock.send_slice(payload, meta).map_err(|e| match e {
            udp::SendError::Unaddressable => DatagramError::Unaddressable,
            udp::SendError::BufferFull => DatagramError::BufferFull,
        })?;
        self.tx_queued = true;
        Ok(())
    }

    /// [`send_to`](Self::send_to), but a full transmit buffer is first put on the wire
    /// (a `poll` empties it only once). Returns whether that was needed.
    pub fn send_to_flushing(
        &mut self,
        owner: Owner,
        h: UdpHandle,
        dst: SocketAddr,
        src: Option<IpAddr>,
        payload: &[u8],
    ) -> Result<bool, DatagramError> {
        match self.send_to(owner, h, dst, src, payload) {
            Err(DatagramError::BufferFull) => {
                self.egress();
                self.send_to(owner, h, dst, src, payload).map(|()| true)
            }
            r => r.map(|()| false),
        }
    }

    /// The smoltcp socket of a live `h` (of any owner: the service pass named it).
    fn udp_live(&self, h: UdpHandle) -> Option<SocketHandle> {
        let slot = self.udp.get(usize::try_from(h.slot).ok()?)?;
        (slot.bound?.serial == h.serial).then_some(slot.handle)
    }

    /// The local port of a live `h`.
    pub fn udp_port(&self, h: UdpHandle) -> Option<u16> {
        let b = self.udp.get(usize::try_from(h.slot).ok()?)?.bound?;
        (b.serial == h.serial).then_some(b.port)
    }

    /// The owner and handle of UDP socket `i` if it is bound and datagrams wait in it.
    pub(crate) fn udp_ready(&mut self, i: usize) -> Option<(Owner, UdpHandle)> {
        let slot = self.udp.get(i)?;
        let b = slot.bound?;
        self.set
            .get_mut::<udp::Socket>(slot.handle)
            .can_recv()
            .then_some((
                b.owner,
                UdpHandle {
                    slot: u32::try_from(i).unwrap_or(u32::MAX),
                    serial: b.serial,
                },
            ))
    }

    /// Moves datagrams from `h` to `events` while it has room, each made into an event
    /// by `make(payload, sender, local address it was sent to)`.
    pub(crate) fn drain_udp(
        &mut self,
        h: UdpHandle,
        events: &mut EventQueue,
        mut make: impl FnMut(&[u8], SocketAddr, Option<IpAddr>) -> Event,
    ) {
        let Some(s) = self.udp_live(h) else { return };
        let sock = self.set.get_mut::<udp::Socket>(s);
        while sock.can_recv() && events.accept_data() {
            let Ok((data, meta)) = sock.recv() else {
                return;
            };
            let ev = make(
                data,
                SocketAddr::from(meta.endpoint),
                meta.local_address.map(IpAddr::from),
            );
            events.push(ev);
        }
    }
}
