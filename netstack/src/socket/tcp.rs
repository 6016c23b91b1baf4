//! The TCP tables: listeners and their sockets, outgoing sockets, the streams they
//! carry, and the service pass that turns socket state into [`SocketEvent`]s.
//!
//! A listener's sockets are made as clients come, one listening ahead of them, up to
//! its connection cap, and listen again once their connection is over (after egress,
//! so that the reset of an aborted connection goes out first). Outgoing sockets are
//! made on first use up to every owner's cap together, and reused by the next connect
//! with the same buffers; one whose owner let go may still be finishing its close,
//! and is reset if it is needed before it has.

use alloc::collections::VecDeque;
use alloc::vec;
use core::mem;
use core::net::SocketAddr;

use smoltcp::iface::SocketHandle;
use smoltcp::socket::tcp;
use smoltcp::wire::{IpEndpoint, IpListenEndpoint};

use super::{
    CloseReason, ListenLimits, ListenerHandle, OpenError, Owner, RecvError, SocketEvent,
    StreamError, StreamHandle, StreamLimits, check_stream_limits,
};
use crate::Nic;
use crate::net::{Net, duration};

/// A TCP listener.
pub(crate) struct Listener {
    port: u16,
    owner: Owner,
    serial: u32,
    limits: ListenLimits,
    /// Sockets made for it (at most `limits.connections`).
    sockets: usize,
    /// Its sockets carrying a connection, live or finishing.
    pub open: usize,
}

/// One smoltcp TCP socket.
pub(crate) struct TcpSlot {
    handle: SocketHandle,
    /// The buffers it was made with.
    rx: usize,
    tx: usize,
    /// The listener it belongs to; `None` for an outgoing socket.
    listener: Option<usize>,
    state: SlotState,
}

enum SlotState {
    /// A listener's socket waiting for a SYN.
    Listening,
    /// A listener's socket whose connection is over (it listens again after egress),
    /// or an outgoing socket free for the next connect.
    Free,
    /// Carrying a stream its owner holds a handle to.
    Stream(Stream),
    /// Its owner let go (or it went idle): finishing the close in the background; reset
    /// at `since + idle`.
    Releasing { since: u64, idle: u64 },
}

/// A live stream's bookkeeping.
struct Stream {
    serial: u32,
    owner: Owner,
    /// Our port (an outgoing stream's must be unique among them).
    local_port: u16,
    idle: u64,
    /// The last time bytes moved in either direction (or the stream began).
    last_activity: u64,
    /// The handshake completed (an outgoing stream reported `Connected`).
    established: bool,
    /// A `send` took less than offered: report `Writable` when there is room.
    want_write: bool,
    /// A `Readable` for it waits in the application's queue: do not queue another.
    readable_queued: bool,
    /// `recv` reported the end of the peer's data: it is no reason to be `Readable`.
    eof_seen: bool,
}

/// Reading from a stream (the DNS adapter's view of `recv`).
pub(crate) enum Rx {
    /// Bytes are waiting.
    Data,
    /// Nothing to read now (or the stream is not established yet).
    Empty,
    /// The peer finished sending and everything was read.
    Finished,
    /// The handle is dead.
    Unknown,
}

fn socket(rx: usize, tx: usize, idle_ns: u64) -> tcp::Socket<'static> {
    let mut s = tcp::Socket::new(
        tcp::SocketBuffer::new(vec![0; rx]),
        tcp::SocketBuffer::new(vec![0; tx]),
    );
    // Bounds retransmissions to a peer that stopped answering.
    s.set_timeout(Some(duration(idle_ns)));
    s.set_nagle_enabled(false);
    s
}

fn handle(i: usize, serial: u32) -> StreamHandle {
    StreamHandle {
        slot: u32::try_from(i).unwrap_or(u32::MAX),
        serial,
    }
}

impl<N: Nic> Net<N> {
    /// The slot index of a live stream `h` of `owner`.
    fn stream_slot(&self, owner: Owner, h: StreamHandle) -> Option<usize> {
        let i = usize::try_from(h.slot).ok()?;
        match &self.tcp.get(i)?.state {
            SlotState::Stream(s) if s.serial == h.serial && s.owner == owner => Some(i),
            _ => None,
        }
    }

    fn stream_mut(&mut self, i: usize) -> Option<&mut Stream> {
        match &mut self.tcp.get_mut(i)?.state {
            SlotState::Stream(s) => Some(s),
            _ => None,
        }
    }

    /// Listens on `port` for `owner`, with one socket waiting from the start.
    pub fn listen_tcp(
        &mut self,
        owner: Owner,
        port: u16,
        limits: &ListenLimits,
    ) -> Result<ListenerHandle, OpenError> {
        if port == 0 {
            return Err(OpenError::InvalidPort);
        }
        if limits.connections == 0 {
            return Err(OpenError::ZeroLimit("connections"));
        }
        check_stream_limits(&limits.stream)?;
        if self.listeners.iter().any(|l| l.port == port) {
            return Err(OpenError::PortInUse);
        }
        let mine = self.listeners.iter().filter(|l| l.owner == owner).count();
        if mine >= self.caps.listeners[owner as usize] {
            return Err(OpenError::NoFreeSocket);
        }
        let serial = self.next_serial();
        self.listeners.push(Listener {
            port,
            owner,
            serial,
            limits: *limits,
            sockets: 0,
            open: 0,
        });
        let l = self.listeners.len() - 1;
        self.add_listening_socket(l);
        Ok(ListenerHandle {
            slot: u32::try_from(l).unwrap_or(u32::MAX),
            serial,
        })
    }

    fn add_listening_socket(&mut self, l: usize) {
        let Some(lst) = self.listeners.get_mut(l) else {
            return;
        };
        let st = lst.limits.stream;
        let mut s = socket(st.rx_buffer, st.tx_buffer, st.idle_timeout_ns);
        // The port is not 0 and the socket is new, so listening cannot fail.
        let _ = s.listen(lst.port);
        lst.sockets += 1;
        self.tcp.push(TcpSlot {
            handle: self.set.add(s),
            rx: st.rx_buffer,
            tx: st.tx_buffer,
            listener: Some(l),
            state: SlotState::Listening,
        });
    }

    /// Makes sure a socket of listener `l` waits for the next client unless its cap of
    /// sockets is made: every frame is serviced before the next is read, so a burst of
    /// SYNs finds a listener for each until the cap.
    fn spare_listener(&mut self, l: usize) {
        let Some(lst) = self.listeners.get(l) else {
            return;
        };
        if lst.sockets >= lst.limits.connections {
            return;
        }
        let waiting = self
            .tcp
            .iter()
            .any(|t| t.listener == Some(l) && matches!(t.state, SlotState::Listening));
        if !waiting {
            self.add_listening_socket(l);
        }
    }

    /// Connections listener `l` carries now (live or finishing).
    pub fn listener_open(&self, l: ListenerHandle) -> usize {
        usize::try_from(l.slot)
            .ok()
            .and_then(|i| self.listeners.get(i))
            .filter(|lst| lst.serial == l.serial)
            .map_or(0, |lst| lst.open)
    }

    /// Opens a stream from `local_port` to `remote` for `owner`.
    pub fn connect_tcp(
        &mut self,
        owner: Owner,
        remote: SocketAddr,
        local_port: u16,
        limits: &StreamLimits,
    ) -> Result<StreamHandle, OpenError> {
        if local_port == 0 || remote.port() == 0 {
            return Err(OpenError::InvalidPort);
        }
        check_stream_limits(limits)?;
        let o = owner as usize;
        if self.connect_count[o] >= self.caps.connects[o] {
            return Err(OpenError::NoFreeSocket);
        }
        let in_use = self.tcp.iter().any(|t| match &t.state {
            SlotState::Stream(s) => t.listener.is_none() && s.local_port == local_port,
            _ => false,
        });
        if in_use {
            return Err(OpenError::PortInUse);
        }
        let (rx, tx) = (limits.rx_buffer, limits.tx_buffer);
        let free = |t: &TcpSlot| {
            t.listener.is_none() && matches!(t.state, SlotState::Free | SlotState::Releasing { .. })
        };
        let i = match self
            .tcp
            .iter()
            .position(|t| free(t) && t.rx == rx && t.tx == tx)
        {
            Some(i) => i,
            None if self.outgoing < self.caps.connects.iter().sum() => {
                self.outgoing += 1;
                self.tcp.push(TcpSlot {
                    handle: self.set.add(socket(rx, tx, limits.idle_timeout_ns)),
                    rx,
                    tx,
                    listener: None,
                    state: SlotState::Free,
                });
                self.tcp.len() - 1
            }
            None => {
                // Every socket the caps allow is made; one that is free has other
                // buffers: make it over.
                let i = self
                    .tcp
                    .iter()
                    .position(free)
                    .ok_or(OpenError::NoFreeSocket)?;
                let old = self.tcp[i].handle;
                self.set.remove(old);
                self.tcp[i].handle = self.set.add(socket(rx, tx, limits.idle_timeout_ns));
                self.tcp[i].rx = rx;
                self.tcp[i].tx = tx;
                i
            }
        };
        let slot = &mut self.tcp[i];
        let sock = self.set.get_mut::<tcp::Socket>(slot.handle);
        // One still finishing a close is reset; one in TIME-WAIT is not open and may be
        // reused as it is.
        if sock.is_open() {
            sock.abort();
        }
        slot.state = SlotState::Free;
        sock.set_timeout(Some(duration(limits.idle_timeout_ns)));
        sock.connect(
            self.iface.context(),
            IpEndpoint::from(remote),
            IpListenEndpoint::from(local_port),
        )
        .map_err(|_| OpenError::Unaddressable)?;
        let serial = self.serial;
        self.serial = self.serial.wrapping_add(1).max(1);
        slot.state = SlotState::Stream(Stream {
            serial,
            owner,
            local_port,
            idle: limits.idle_timeout_ns,
            last_activity: self.now,
            established: false,
            want_write: false,
            readable_queued: false,
            eof_seen: false,
        });
        self.connect_count[o] += 1;
        self.tx_queued = true;
        Ok(handle(i, serial))
    }

    /// Whether there is anything to read from `h`, or its end.
    pub fn rx_state(&mut self, owner: Owner, h: StreamHandle) -> Rx {
        let Some(i) = self.stream_slot(owner, h) else {
            return Rx::Unknown;
        };
        let sock = self.set.get_mut::<tcp::Socket>(self.tcp[i].handle);
        let (can, may) = (sock.can_recv(), sock.may_recv());
        let Some(s) = self.stream_mut(i) else {
            return Rx::Unknown;
        };
        if can {
            Rx::Data
        } else if s.established && !may {
            s.eof_seen = true;
            Rx::Finished
        } else {
            Rx::Empty
        }
    }

    /// Calls `f` with the bytes waiting in `h` (at least one, as far as one contiguous
    /// run goes) and dequeues as many as it says it used. `None` if nothing was waiting
    /// or the handle is dead.
    pub fn recv_with<R>(
        &mut self,
        owner: Owner,
        h: StreamHandle,
        f: impl FnOnce(&[u8]) -> (usize, R),
    ) -> Option<R> {
        let i = self.stream_slot(owner, h)?;
        let sock = self.set.get_mut::<tcp::Socket>(self.tcp[i].handle);
        if !sock.can_recv() {
            return None;
        }
        let mut used = 0;
        let r = sock
            .recv(|buf| {
                let (n, r) = f(buf);
                used = n;
                (n, r)
            })
            .ok()?;
        let now = self.now;
        if used > 0
            && let Some(s) = self.stream_mut(i)
        {
            s.last_activity = now;
        }
        Some(r)
    }

    /// Reads into `buf`: `Ok(0)` when nothing waits, `Finished` at the peer's end.
    pub fn recv_slice(
        &mut self,
        owner: Owner,
        h: StreamHandle,
        buf: &mut [u8],
    ) -> Result<usize, RecvError> {
        match self.rx_state(owner, h) {
            Rx::Unknown => Err(RecvError::UnknownStream),
            Rx::Finished => Err(RecvError::Finished),
            Rx::Empty => Ok(0),
            Rx::Data => Ok(self
                .recv_with(owner, h, |data| {
                    let n = data.len().min(buf.len());
                    buf[..n].copy_from_slice(&data[..n]);
                    (n, n)
                })
                .unwrap_or(0)),
        }
    }

    /// Queues what fits of `data` on `h`.
    pub fn send(
        &mut self,
        owner: Owner,
        h: StreamHandle,
        data: &[u8],
    ) -> Result<usize, StreamError> {
        let i = self
            .stream_slot(owner, h)
            .ok_or(StreamError::UnknownStream)?;
        let sock = self.set.get_mut::<tcp::Socket>(self.tcp[i].handle);
        // Not established yet (or no longer): nothing goes, Writable says when.
        let n = sock.send_slice(data).unwrap_or(0);
        let now = self.now;
        if let Some(s) = self.stream_mut(i) {
            if n < data.len() {
                s.want_write = true;
            }
            if n > 0 {
                s.last_activity = now;
            }
        }
        if n > 0 {
            self.tx_queued = true;
        }
        Ok(n)
    }

    /// Sends FIN on `h` and lets go of it.
    pub fn close(&mut self, owner: Owner, h: StreamHandle) -> Result<(), StreamError> {
        let i = self
            .stream_slot(owner, h)
            .ok_or(StreamError::UnknownStream)?;
        self.set.get_mut::<tcp::Socket>(self.tcp[i].handle).close();
        self.release(i);
        self.tx_queued = true;
        Ok(())
    }

    /// Resets `h` and lets go of it.
    pub fn abort(&mut self, owner: Owner, h: StreamHandle) -> Result<(), StreamError> {
        let i = self
            .stream_slot(owner, h)
            .ok_or(StreamError::UnknownStream)?;
        self.set.get_mut::<tcp::Socket>(self.tcp[i].handle).abort();
        self.end_slot(i);
        self.tx_queued = true;
        Ok(())
    }

    /// Whether a `Readable` for `h` waits in the application's queue.
    pub fn set_readable_queued(&mut self, h: StreamHandle, queued: bool) {
        let Some(i) = usize::try_from(h.slot).ok() else {
            return;
        };
        if let Some(s) = self.stream_mut(i)
            && s.serial == h.serial
        {
            s.readable_queued = queued;
        }
    }

    /// A live stream's owner let go of slot `i`: it finishes in the background.
    fn release(&mut self, i: usize) {
        let Some(slot) = self.tcp.get_mut(i) else {
            return;
        };
        if let SlotState::Stream(s) = &slot.state {
            let (owner, idle) = (s.owner, s.idle);
            slot.state = SlotState::Releasing {
                since: self.now,
                idle,
            };
            if slot.listener.is_none() {
                let c = &mut self.connect_count[owner as usize];
                *c = c.saturating_sub(1);
            }
        }
    }

    /// Slot `i`'s connection is over: an outgoing socket is free, a listener's listens
    /// again after egress.
    fn end_slot(&mut self, i: usize) {
        let Some(slot) = self.tcp.get_mut(i) else {
            return;
        };
        let was = mem::replace(&mut slot.state, SlotState::Free);
        match slot.listener {
            Some(l) => {
                if matches!(was, SlotState::Stream(_) | SlotState::Releasing { .. })
                    && let Some(lst) = self.listeners.get_mut(l)
                {
                    lst.open = lst.open.saturating_sub(1);
                }
                self.rearm = true;
            }
            None => {
                if let SlotState::Stream(s) = was {
                    let c = &mut self.connect_count[s.owner as usize];
                    *c = c.saturating_sub(1);
                }
            }
        }
    }

    /// Finds what changed on every TCP socket: accepted connections, established
    /// outgoing ones, readable and writable streams, streams that ended.
    pub(crate) fn service_tcp(&mut self, ready: &mut VecDeque<(Owner, SocketEvent)>) {
        let now = self.now;
        for i in 0..self.tcp.len() {
            let slot = &mut self.tcp[i];
            let sock = self.set.get_mut::<tcp::Socket>(slot.handle);
            if matches!(slot.state, SlotState::Listening) {
                if sock.is_listening() {
                    continue;
                }
                let Some(l) = slot.listener else { continue };
                if !sock.is_open() {
                    slot.state = SlotState::Free;
                    self.rearm = true;
                    continue;
                }
                let Some(peer) = sock.remote_endpoint().map(SocketAddr::from) else {
                    continue;
                };
                let Some(lst) = self.listeners.get_mut(l) else {
                    continue;
                };
                // A client connected to this socket.
                lst.open += 1;
                let serial = self.serial;
                self.serial = self.serial.wrapping_add(1).max(1);
                slot.state = SlotState::Stream(Stream {
                    serial,
                    owner: lst.owner,
                    local_port: lst.port,
                    idle: lst.limits.stream.idle_timeout_ns,
                    last_activity: now,
                    established: false,
                    want_write: false,
                    readable_queued: false,
                    eof_seen: false,
                });
                let listener = ListenerHandle {
                    slot: u32::try_from(l).unwrap_or(u32::MAX),
                    serial: lst.serial,
                };
                ready.push_back((
                    lst.owner,
                    SocketEvent::Accepted {
                        listener,
                        stream: handle(i, serial),
                        peer,
                    },
                ));
                self.spare_listener(l);
            }
            let slot = &mut self.tcp[i];
            let sock = self.set.get_mut::<tcp::Socket>(slot.handle);
            let outgoing = slot.listener.is_none();
            let ended = match &mut slot.state {
                SlotState::Stream(s) => {
                    let (h, owner) = (handle(i, s.serial), s.owner);
                    if !sock.is_open() || (!outgoing && sock.is_listening()) {
                        // Reset (or, before the handshake finished, back to listening:
                        // smoltcp does that on a RST in SYN-RECEIVED).
                        let ev = if s.established || !outgoing {
                            SocketEvent::Closed {
                                stream: h,
                                reason: CloseReason::Reset,
                            }
                        } else {
                            SocketEvent::ConnectFailed { stream: h }
                        };
                        ready.push_back((owner, ev));
                        Some(sock.is_listening())
                    } else {
                        if !s.established && (sock.may_send() || sock.may_recv()) {
                            s.established = true;
                            if outgoing {
                                let ev = SocketEvent::Connected { stream: h };
                                ready.push_back((owner, ev));
                            }
                        }
                        if s.want_write && sock.can_send() {
                            s.want_write = false;
                            let ev = SocketEvent::Writable { stream: h };
                            ready.push_back((owner, ev));
                        }
                        let readable =
                            sock.can_recv() || (s.established && !s.eof_seen && !sock.may_recv());
                        if readable && !s.readable_queued {
                            let ev = SocketEvent::Readable { stream: h };
                            ready.push_back((owner, ev));
                        }
                        None
                    }
                }
                SlotState::Releasing { .. } => (!sock.is_open()).then_some(false),
                SlotState::Listening | SlotState::Free => None,
            };
            if let Some(listening) = ended {
                self.end_slot(i);
                if listening {
                    self.tcp[i].state = SlotState::Listening;
                }
            }
        }
    }

    /// Closes streams idle for their timeout (`Closed` with [`CloseReason::Idle`]) and
    /// resets those that were let go and did not finish in time.
    pub(crate) fn service_tcp_timers(&mut self, ready: &mut VecDeque<(Owner, SocketEvent)>) {
        let now = self.now;
        for i in 0..self.tcp.len() {
            let slot = &self.tcp[i];
            let sock = self.set.get_mut::<tcp::Socket>(slot.handle);
            match &slot.state {
                SlotState::Stream(s) if now.saturating_sub(s.last_activity) >= s.idle => {
                    let (h, owner) = (handle(i, s.serial), s.owner);
                    log::debug!("tcp stream {}: idle, closing", h.serial);
                    sock.close();
                    self.release(i);
                    ready.push_back((
                        owner,
                        SocketEvent::Closed {
                            stream: h,
                            reason: CloseReason::Idle,
                        },
                    ));
                    self.tx_queued = true;
                }
                SlotState::Releasing { since, idle } if now.saturating_sub(*since) >= *idle => {
                    sock.abort();
                    self.end_slot(i);
                    self.tx_queued = true;
                }
                _ => {}
            }
        }
    }

    /// The earliest idle or close deadline of any stream.
    pub(crate) fn tcp_deadline(&self) -> Option<u64> {
        self.tcp
            .iter()
            .filter_map(|t| match &t.state {
                SlotState::Stream(s) => Some(s.last_activity.saturating_add(s.idle)),
                SlotState::Releasing { since, idle } => Some(since.saturating_add(*idle)),
                _ => None,
            })
            .min()
    }

    /// Lets every listener's socket whose connection is over listen again.
    pub(crate) fn rearm_listeners(&mut self) {
        if !mem::take(&mut self.rearm) {
            return;
        }
        for slot in &mut self.tcp {
            let Some(l) = slot.listener else { continue };
            if !matches!(slot.state, SlotState::Free) {
                continue;
            }
            let sock = self.set.get_mut::<tcp::Socket>(slot.handle);
            match self.listeners.get(l) {
                Some(lst) if !sock.is_open() => {
                    let _ = sock.listen(lst.port);
                    slot.state = SlotState::Listening;
                }
                // Not closed yet (not expected): try again after the next egress.
                _ => self.rearm = true,
            }
        }
    }

    /// Sockets made for listener `l`, and outgoing sockets made.
    #[cfg(test)]
    pub(crate) fn tcp_sockets(&self, l: Option<ListenerHandle>) -> (usize, usize) {
        let listening = l
            .and_then(|l| self.listeners.get(usize::try_from(l.slot).ok()?))
            .map_or(0, |lst| lst.sockets);
        (listening, self.outgoing)
    }
}
