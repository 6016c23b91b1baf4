//! Queries to upstream servers: UDP from the local port the engine chose (bound on
//! first use, released by `close_udp`), and TCP exchanges (connect, one framed query,
//! one framed response, close) with a deadline.

use alloc::vec::Vec;
use core::net::SocketAddr;

use super::framing::{FrameReader, frame};
use super::{Dns, SendError, UpstreamErrorKind};
use crate::net::Net;
use crate::socket::tcp::Rx;
use crate::socket::{OpenError, Owner, StreamHandle, StreamLimits, UdpHandle, UdpLimits};
use crate::stack::EventQueue;
use crate::{DatagramError, Event, Nic};

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

    pub(super) fn send_udp<N: Nic>(
        &mut self,
        net: &mut Net<N>,
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
        let h = match self.upstream_udp.iter().find(|(p, _)| *p == local_port) {
            Some(&(_, h)) => h,
            None => {
                let l = &self.limits;
                let limits = UdpLimits {
                    rx_packets: l.upstream_udp_rx_packets,
                    rx_bytes: l.upstream_udp_rx_bytes,
                    tx_packets: l.upstream_udp_tx_packets,
                    tx_bytes: l.upstream_udp_tx_bytes,
                };
                let h = net
                    .bind_udp(Owner::Dns, local_port, &limits)
                    .map_err(|e| match e {
                        OpenError::PortInUse => SendError::PortInUse,
                        OpenError::NoFreeSocket => {
                            self.stats.upstream_no_socket += 1;
                            SendError::NoFreeSocket
                        }
                        OpenError::InvalidPort
                        | OpenError::Unaddressable
                        | OpenError::ZeroLimit(_) => SendError::InvalidPort,
                    })?;
                self.upstream_udp.push((local_port, h));
                h
            }
        };
        net.send_to(Owner::Dns, h, dst, None, payload)
            .map_err(|e| match e {
                DatagramError::TooLarge => SendError::TooLarge,
                DatagramError::BufferFull => SendError::BufferFull,
                DatagramError::Unaddressable | DatagramError::UnknownSocket => {
                    SendError::Unaddressable
                }
            })?;
        self.stats.upstream_udp_sent += 1;
        Ok(())
    }

    pub(super) fn close_udp<N: Nic>(&mut self, net: &mut Net<N>, local_port: u16) -> bool {
        match self.upstream_udp.iter().position(|(p, _)| *p == local_port) {
            Some(i) => {
                let (_, h) = self.upstream_udp.swap_remove(i);
                net.unbind_udp(Owner::Dns, h)
            }
            None => false,
        }
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
