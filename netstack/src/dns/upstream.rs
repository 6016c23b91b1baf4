//! Queries to upstream servers: UDP from the local port the engine chose (bound on
//! first use, released by `close_udp`), and TCP exchanges (connect, one framed query,
//! one framed response, close) with a deadline.

use alloc::vec::Vec;
use core::net::{IpAddr, SocketAddr};

use super::framing::{FrameReader, frame};
use super::{Dns, HoldReason, SendError, UpstreamErrorKind};
use crate::net::Net;
use crate::socket::tcp::Rx;
use crate::socket::{OpenError, Owner, StreamHandle, StreamLimits, UdpHandle, UdpLimits};
use crate::stack::EventQueue;
use crate::{DatagramError, Event, Nic};

/// How often the next hop of a held datagram is solicited: as often as smoltcp would
/// for one neighbour, but for each neighbour on its own.
pub(crate) const SOLICIT_INTERVAL_NS: u64 = 1_000_000_000;

/// An upstream datagram put in its socket and not yet seen leaving.
pub(super) struct Departing {
    port: u16,
    dst: SocketAddr,
    /// The neighbour it goes to first (`None`: no route; smoltcp drops it).
    next_hop: Option<IpAddr>,
    /// When it was put in the socket.
    since: u64,
    /// The application was told it waits ([`Event::UpstreamHeld`]).
    held: bool,
    /// When its next hop was last solicited by us.
    solicited_at: Option<u64>,
}

/// An upstream datagram waiting for a free socket.
pub(super) struct PoolWait {
    port: u16,
    dst: SocketAddr,
    payload: Vec<u8>,
    since: u64,
}

/// An upstream TCP exchange in progress.
pub(super) struct Exchange {
    stream: StreamHandle,
    dst: SocketAddr,
    local_port: u16,
    /// The framed query, and how much of it is in the stream.
    query: Vec<u8>,
    sent: usize,
    reader: FrameReader,
    /// When it fails with [`UpstreamErrorKind::Timeout`].
    deadline: u64,
}

impl Dns {
    pub(super) fn exchange_index(&self, stream: StreamHandle) -> Option<usize> {
        self.exchanges.iter().position(|x| x.stream == stream)
    }

    /// Moves responses from upstream socket `h` to the event queue while it has room.
    pub(super) fn take_responses<N: Nic>(
        &mut self,
        net: &mut Net<N>,
        events: &mut EventQueue,
        h: UdpHandle,
    ) {
        let Some(local_port) = net.udp_port(h) else {
            return;
        };
        let stats = &mut self.stats;
        net.drain_udp(h, events, |data, from, _| {
            stats.upstream_udp_responses += 1;
            Event::Response {
                from,
                local_port,
                tcp: false,
                data: data.to_vec(),
            }
        });
    }

    /// The upstream socket bound to `port`.
    fn udp_handle(&self, port: u16) -> Option<UdpHandle> {
        self.upstream_udp
            .iter()
            .find(|(p, _)| *p == port)
            .map(|&(_, h)| h)
    }

    fn udp_limits(&self) -> UdpLimits {
        let l = &self.limits;
        UdpLimits {
            rx_packets: l.upstream_udp_rx_packets,
            rx_bytes: l.upstream_udp_rx_bytes,
            tx_packets: l.upstream_udp_tx_packets,
            tx_bytes: l.upstream_udp_tx_bytes,
        }
    }

    pub(super) fn send_udp<N: Nic>(
        &mut self,
        net: &mut Net<N>,
        events: &mut EventQueue,
        local_port: u16,
        dst: SocketAddr,
        payload: &[u8],
    ) -> Result<(), SendError> {
        if local_port == 0 || local_port == self.port {
            return Err(SendError::InvalidPort);
        }
        if payload.len() > net.max_udp_payload(&dst.ip()) {
            return Err(SendError::TooLarge);
        }
        if self.pool_wait.iter().any(|w| w.port == local_port) {
            return Err(SendError::PortInUse);
        }
        let h = match self.udp_handle(local_port) {
            Some(h) => h,
            None => match net.bind_udp(Owner::Dns, local_port, &self.udp_limits()) {
                Ok(h) => {
                    self.upstream_udp.push((local_port, h));
                    h
                }
                Err(OpenError::NoFreeSocket) => {
                    return self.wait_for_socket(net, events, local_port, dst, payload);
                }
                Err(OpenError::PortInUse) => return Err(SendError::PortInUse),
                Err(
                    OpenError::InvalidPort | OpenError::Unaddressable | OpenError::ZeroLimit(_),
                ) => return Err(SendError::InvalidPort),
            },
        };
        self.queue_udp(net, h, local_port, dst, payload, false)
    }

    /// Puts a datagram in upstream socket `h` and watches it leave.
    fn queue_udp<N: Nic>(
        &mut self,
        net: &mut Net<N>,
        h: UdpHandle,
        local_port: u16,
        dst: SocketAddr,
        payload: &[u8],
        held: bool,
    ) -> Result<(), SendError> {
        net.send_to(Owner::Dns, h, dst, None, payload)
            .map_err(|e| match e {
                DatagramError::TooLarge => SendError::TooLarge,
                DatagramError::BufferFull => SendError::BufferFull,
                DatagramError::Unaddressable | DatagramError::UnknownSocket => {
                    SendError::Unaddressable
                }
            })?;
        self.stats.upstream_udp_sent += 1;
        if !self.departing.iter().any(|d| d.port == local_port) {
            // At most one per bound upstream socket, so bounded by the pool.
            self.departing.push(Departing {
                port: local_port,
                dst,
                next_hop: net.next_hop(dst.ip()),
                since: net.now,
                held,
                solicited_at: None,
            });
        }
        Ok(())
    }

    /// Every upstream socket is bound: the datagram waits for one to come free
    /// ([`close_udp`](Self::close_udp)), up to `upstream_udp_wait` of them and
    /// `upstream_hold_ns` long. The engine hears [`Event::UpstreamHeld`] at once, so the
    /// wait does not count against the query's timeout.
    fn wait_for_socket<N: Nic>(
        &mut self,
        net: &Net<N>,
        events: &mut EventQueue,
        local_port: u16,
        dst: SocketAddr,
        payload: &[u8],
    ) -> Result<(), SendError> {
        if self.pool_wait.len() >= self.limits.upstream_udp_wait {
            self.stats.upstream_no_socket += 1;
            return Err(SendError::NoFreeSocket);
        }
        self.pool_wait.push_back(PoolWait {
            port: local_port,
            dst,
            payload: payload.to_vec(),
            since: net.now,
        });
        self.stats.upstream_udp_socket_waits += 1;
        events.push(Event::UpstreamHeld {
            to: dst,
            local_port,
            reason: HoldReason::NoSocket,
        });
        Ok(())
    }

    pub(super) fn close_udp<N: Nic>(
        &mut self,
        net: &mut Net<N>,
        events: &mut EventQueue,
        local_port: u16,
    ) -> bool {
        if let Some(i) = self.pool_wait.iter().position(|w| w.port == local_port) {
            self.pool_wait.remove(i);
            return true;
        }
        self.departing.retain(|d| d.port != local_port);
        let closed = match self.upstream_udp.iter().position(|(p, _)| *p == local_port) {
            Some(i) => {
                let (_, h) = self.upstream_udp.swap_remove(i);
                net.unbind_udp(Owner::Dns, h)
            }
            None => false,
        };
        if closed {
            self.release_waiting(net, events);
        }
        closed
    }

    /// Sends datagrams waiting for a socket while sockets are free, oldest first.
    fn release_waiting<N: Nic>(&mut self, net: &mut Net<N>, events: &mut EventQueue) {
        while let Some(w) = self.pool_wait.front() {
            let port = w.port;
            let h = match net.bind_udp(Owner::Dns, port, &self.udp_limits()) {
                Ok(h) => h,
                Err(OpenError::NoFreeSocket) => return,
                Err(_) => {
                    // The port was taken meanwhile (the application bound it).
                    if let Some(w) = self.pool_wait.pop_front() {
                        self.fail_held(events, w.dst, w.port, UpstreamErrorKind::NoSocket);
                    }
                    continue;
                }
            };
            let Some(w) = self.pool_wait.pop_front() else {
                return;
            };
            self.upstream_udp.push((port, h));
            if self
                .queue_udp(net, h, port, w.dst, &w.payload, true)
                .is_err()
            {
                self.fail_held(events, w.dst, port, UpstreamErrorKind::NoSocket);
            }
        }
    }

    fn fail_held(
        &mut self,
        events: &mut EventQueue,
        to: SocketAddr,
        local_port: u16,
        kind: UpstreamErrorKind,
    ) {
        log::debug!("upstream udp {to} from port {local_port}: {kind}");
        self.stats.upstream_udp_errors += 1;
        events.push(Event::UpstreamError {
            to,
            local_port,
            tcp: false,
            kind,
        });
    }

    /// After an egress: which upstream datagrams left, and what to do about those that
    /// did not. A datagram still in its socket waits for its next hop's address
    /// (smoltcp found no neighbour): the engine hears [`Event::UpstreamHeld`] once,
    /// the next hop is solicited at once and every [`SOLICIT_INTERVAL_NS`] (past
    /// smoltcp's interface-wide silence), and [`Event::UpstreamSent`] follows when it
    /// leaves, or [`UpstreamErrorKind::NoNeighbour`] after `upstream_hold_ns`.
    pub(crate) fn after_egress<N: Nic>(&mut self, net: &mut Net<N>, events: &mut EventQueue) {
        self.replies_after_egress(net);
        let now = net.now;
        let hold = self.limits.upstream_hold_ns;
        let mut i = 0;
        while let Some(d) = self.departing.get(i) {
            let h = self.udp_handle(d.port);
            let unsent = h.and_then(|h| net.udp_unsent(Owner::Dns, h));
            let (port, dst, held) = (d.port, d.dst, d.held);
            let first_wait = d.solicited_at.is_none();
            match (h, unsent) {
                (Some(h), Some(n)) if n > 0 => {
                    // No route to it: smoltcp keeps it in the socket for good.
                    if d.next_hop.is_none() || now.saturating_sub(d.since) >= hold {
                        net.udp_drop_unsent(Owner::Dns, h);
                        self.departing.swap_remove(i);
                        self.stats.upstream_udp_no_neighbour += 1;
                        self.fail_held(events, dst, port, UpstreamErrorKind::NoNeighbour);
                        continue;
                    }
                    // Reported at the start of each wait, even after a wait for a
                    // socket: the engine's grace then covers this wait too.
                    if first_wait {
                        self.stats.upstream_udp_held += 1;
                        events.push(Event::UpstreamHeld {
                            to: dst,
                            local_port: port,
                            reason: HoldReason::Neighbour,
                        });
                    }
                    self.solicit(net, i);
                    i += 1;
                }
                _ => {
                    // Left (or its socket is gone).
                    if held && unsent == Some(0) {
                        events.push(Event::UpstreamSent {
                            to: dst,
                            local_port: port,
                        });
                    }
                    self.departing.swap_remove(i);
                }
            }
        }
    }

    /// Marks departing datagram `i` held, and solicits its next hop unless that was
    /// done (for it or another datagram to the same neighbour) within the interval.
    fn solicit<N: Nic>(&mut self, net: &mut Net<N>, i: usize) {
        let now = net.now;
        let Some(d) = self.departing.get(i) else {
            return;
        };
        let hop = d.next_hop;
        let recent =
            |t: Option<u64>| t.is_some_and(|t| now.saturating_sub(t) < SOLICIT_INTERVAL_NS);
        let asked = self
            .departing
            .iter()
            .filter(|o| o.next_hop == hop)
            .filter_map(|o| o.solicited_at)
            .max();
        if !recent(asked)
            && let Some(hop) = hop
        {
            net.solicit(hop);
        }
        if let Some(d) = self.departing.get_mut(i) {
            d.held = true;
            d.solicited_at = if recent(asked) { asked } else { Some(now) };
        }
    }

    /// Gives up on datagrams that waited for a socket longer than `upstream_hold_ns`.
    pub(super) fn udp_timers<N: Nic>(&mut self, net: &Net<N>, events: &mut EventQueue) {
        let now = net.now;
        let hold = self.limits.upstream_hold_ns;
        while let Some(w) = self.pool_wait.front() {
            if now.saturating_sub(w.since) < hold {
                break;
            }
            if let Some(w) = self.pool_wait.pop_front() {
                self.fail_held(events, w.dst, w.port, UpstreamErrorKind::NoSocket);
            }
        }
    }

    /// When the UDP half needs a poll: the next solicitation or give-up of a held
    /// datagram, the give-up of the oldest one waiting for a socket.
    pub(super) fn udp_deadline(&self) -> Option<u64> {
        let hold = self.limits.upstream_hold_ns;
        let held = self.departing.iter().filter(|d| d.held).map(|d| {
            let give_up = d.since.saturating_add(hold);
            d.solicited_at.map_or(give_up, |t| {
                give_up.min(t.saturating_add(SOLICIT_INTERVAL_NS))
            })
        });
        let waiting = self.pool_wait.front().map(|w| w.since.saturating_add(hold));
        held.chain(waiting).min()
    }

    pub(super) fn send_tcp<N: Nic>(
        &mut self,
        net: &mut Net<N>,
        local_port: u16,
        dst: SocketAddr,
        payload: &[u8],
    ) -> Result<(), SendError> {
        if local_port == 0 || local_port == self.port {
            return Err(SendError::InvalidPort);
        }
        let query = frame(payload).ok_or(SendError::TooLarge)?;
        if self.exchanges.iter().any(|x| x.local_port == local_port) {
            return Err(SendError::PortInUse);
        }
        let l = &self.limits;
        let limits = StreamLimits {
            rx_buffer: l.upstream_tcp_rx_buffer,
            tx_buffer: l.upstream_tcp_tx_buffer,
            // The exchange's deadline (the same span, from the start) comes first.
            idle_timeout_ns: l.upstream_tcp_timeout_ns,
        };
        let stream = net
            .connect_tcp(Owner::Dns, dst, local_port, &limits)
            .map_err(|e| match e {
                OpenError::NoFreeSocket => {
                    self.stats.upstream_no_socket += 1;
                    SendError::NoFreeSocket
                }
                OpenError::PortInUse => SendError::PortInUse,
                OpenError::InvalidPort | OpenError::Unaddressable | OpenError::ZeroLimit(_) => {
                    SendError::Unaddressable
                }
            })?;
        self.exchanges.push(Exchange {
            stream,
            dst,
            local_port,
            query,
            sent: 0,
            reader: FrameReader::new(self.limits.upstream_tcp_max_response),
            deadline: net.now.saturating_add(self.limits.upstream_tcp_timeout_ns),
        });
        self.stats.upstream_tcp_started += 1;
        Ok(())
    }

    /// Writes what the stream takes of exchange `i`'s query.
    pub(super) fn send_query<N: Nic>(&mut self, net: &mut Net<N>, i: usize) {
        let Some(x) = self.exchanges.get_mut(i) else {
            return;
        };
        if let Some(rest) = x.query.get(x.sent..)
            && !rest.is_empty()
            && let Ok(n) = net.send(Owner::Dns, x.stream, rest)
        {
            x.sent += n;
        }
    }

    /// Reads exchange `i`'s response as far as it has come.
    pub(super) fn read_exchange<N: Nic>(
        &mut self,
        net: &mut Net<N>,
        events: &mut EventQueue,
        i: usize,
    ) {
        let Some(x) = self.exchanges.get_mut(i) else {
            return;
        };
        let mut outcome = None;
        loop {
            match net.rx_state(Owner::Dns, x.stream) {
                Rx::Data => {}
                Rx::Finished => {
                    // The server closed its side without a whole response.
                    outcome = Some(Err(UpstreamErrorKind::Reset));
                    break;
                }
                Rx::Empty | Rx::Unknown => break,
            }
            if !events.accept_data() {
                break;
            }
            let reader = &mut x.reader;
            match net.recv_with(Owner::Dns, x.stream, |buf| reader.feed(buf)) {
                Some(Ok(Some(data))) => {
                    outcome = Some(Ok(data));
                    break;
                }
                Some(Ok(None)) => {}
                Some(Err(_)) => {
                    outcome = Some(Err(UpstreamErrorKind::BadFrame));
                    break;
                }
                None => break,
            }
        }
        if let Some(outcome) = outcome {
            self.finish(net, events, i, outcome);
        }
    }

    /// Ends exchange `i` with its response or an error.
    pub(super) fn finish<N: Nic>(
        &mut self,
        net: &mut Net<N>,
        events: &mut EventQueue,
        i: usize,
        outcome: Result<Vec<u8>, UpstreamErrorKind>,
    ) {
        if i >= self.exchanges.len() {
            return;
        }
        let x = self.exchanges.swap_remove(i);
        match outcome {
            Ok(data) => {
                let _ = net.close(Owner::Dns, x.stream);
                self.stats.upstream_tcp_responses += 1;
                events.push(Event::Response {
                    from: x.dst,
                    local_port: x.local_port,
                    tcp: true,
                    data,
                });
            }
            Err(kind) => {
                // Dead already if it was refused or reset; then this does nothing.
                let _ = net.abort(Owner::Dns, x.stream);
                log::debug!("upstream tcp {} from port {}: {kind}", x.dst, x.local_port);
                self.stats.upstream_tcp_errors += 1;
                events.push(Event::UpstreamError {
                    to: x.dst,
                    local_port: x.local_port,
                    tcp: true,
                    kind,
                });
            }
        }
    }

    pub(super) fn upstream_timers<N: Nic>(&mut self, net: &mut Net<N>, events: &mut EventQueue) {
        let now = net.now;
        let mut i = 0;
        while i < self.exchanges.len() {
            if now >= self.exchanges[i].deadline {
                self.finish(net, events, i, Err(UpstreamErrorKind::Timeout));
            } else {
                i += 1;
            }
        }
    }

    pub(super) fn upstream_deadline(&self) -> Option<u64> {
        self.exchanges.iter().map(|x| x.deadline).min()
    }
}
