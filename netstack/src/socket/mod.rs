//! Generic sockets: UDP ports, TCP listeners and byte streams, for any service.
//!
//! This is the layer every service stands on, the [DNS adapter](crate::dns) included:
//!
//! - [`Stack::bind_udp`] binds a UDP port; datagrams to it arrive as
//!   [`SocketEvent::Datagram`], and [`Stack::send_to`] sends from it.
//! - [`Stack::listen_tcp`] listens on a TCP port with its own [`ListenLimits`] (buffer
//!   sizes, connection cap, idle timeout); each connection arrives as
//!   [`SocketEvent::Accepted`] with a [`StreamHandle`].
//! - [`Stack::connect_tcp`] opens an outgoing stream; [`SocketEvent::Connected`] or
//!   [`SocketEvent::ConnectFailed`] says how it went.
//! - A stream moves bytes, not messages: [`Stack::recv`] and [`Stack::send`] take what
//!   there is and what fits. [`SocketEvent::Readable`] says there is something to read
//!   (reported again after every poll until it is read), [`SocketEvent::Writable`] that a
//!   `send` which took less than offered can go on. [`Stack::close`] (FIN after the bytes
//!   already sent) and [`Stack::abort`] (reset) end a stream; a stream the peer resets or
//!   that stays idle ends with [`SocketEvent::Closed`]. After `close`, `abort` or `Closed`
//!   the handle is dead: calls with it fail, and no more events name it (one already
//!   queued may still come: ignore it).
//!
//! Handles are small `Copy` values with a serial number, so a handle kept after its
//! socket was reused for something else is refused rather than misdirected.
//!
//! # Bounds
//!
//! What the application may open is capped by [`NetLimits::udp_sockets`],
//! [`NetLimits::tcp_listeners`] and [`NetLimits::tcp_connects`] (beside what the DNS
//! adapter holds); what each socket buffers by its own limits; connections per listener
//! by [`ListenLimits::connections`] (one more is answered with a reset). Events are
//! bounded too: datagrams count against [`NetLimits::event_queue`] (while it is full they
//! wait in the socket and then in the NIC), and a stream has at most one of each kind of
//! event queued.
//!
//! Sockets are made on first use and reused: a UDP socket or outgoing stream released
//! by its owner serves the next bind or connect with the same buffer sizes.
//!
//! [`NetLimits::udp_sockets`]: crate::NetLimits::udp_sockets
//! [`NetLimits::tcp_listeners`]: crate::NetLimits::tcp_listeners
//! [`NetLimits::tcp_connects`]: crate::NetLimits::tcp_connects
//! [`NetLimits::event_queue`]: crate::NetLimits::event_queue

pub(crate) mod tcp;
pub(crate) mod udp;

use alloc::vec::Vec;
use core::fmt;
use core::net::{IpAddr, SocketAddr};

use crate::stack::Stack;
use crate::{Event, Nic};

/// A bound UDP port, from [`Stack::bind_udp`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct UdpHandle {
    pub(crate) slot: u32,
    pub(crate) serial: u32,
}

/// A TCP listener, from [`Stack::listen_tcp`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ListenerHandle {
    pub(crate) slot: u32,
    pub(crate) serial: u32,
}

/// A TCP connection, accepted ([`SocketEvent::Accepted`]) or opened
/// ([`Stack::connect_tcp`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct StreamHandle {
    pub(crate) slot: u32,
    pub(crate) serial: u32,
}

/// Buffers of a UDP socket. Each must be at least 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UdpLimits {
    /// Datagrams waiting in the receive buffer at most.
    pub rx_packets: usize,
    /// Payload bytes in the receive buffer; a datagram larger than this is dropped.
    pub rx_bytes: usize,
    /// Datagrams waiting in the transmit buffer at most.
    pub tx_packets: usize,
    /// Payload bytes in the transmit buffer.
    pub tx_bytes: usize,
}

impl Default for UdpLimits {
    /// 8 datagrams and 8 KiB each way: enough for a DHCP server or a small service.
    fn default() -> Self {
        UdpLimits {
            rx_packets: 8,
            rx_bytes: 8192,
            tx_packets: 8,
            tx_bytes: 8192,
        }
    }
}

/// Buffers and idle timeout of a TCP stream. Each must be at least 1.
///
/// The receive buffer is also the window the peer may fill: a TLS service wants at
/// least one whole record (16 KiB of plaintext plus its overhead, so 17 KiB or more)
/// to decrypt without waiting on a round trip.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StreamLimits {
    /// Receive buffer (bytes).
    pub rx_buffer: usize,
    /// Transmit buffer (bytes): what [`Stack::send`] takes before the peer acknowledges.
    pub tx_buffer: usize,
    /// A stream with no bytes moved in either direction for this long is closed (FIN,
    /// [`SocketEvent::Closed`] with [`CloseReason::Idle`]), and reset if it is still not
    /// gone after the same time again. A stream its owner closed is reset after this
    /// long too if the peer does not finish. It also bounds retransmissions to a peer
    /// that stopped answering.
    pub idle_timeout_ns: u64,
}

impl Default for StreamLimits {
    /// 4 KiB each way, 30 s idle: a small HTTP exchange.
    fn default() -> Self {
        StreamLimits {
            rx_buffer: 4096,
            tx_buffer: 4096,
            idle_timeout_ns: 30_000_000_000,
        }
    }
}

/// What a TCP listener accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ListenLimits {
    /// Connections at once (at least 1). Sockets for them are made as clients come,
    /// one ahead, and reused; one more connection attempt is answered with a reset.
    pub connections: usize,
    /// Buffers and idle timeout of each connection.
    pub stream: StreamLimits,
}

impl Default for ListenLimits {
    /// 4 connections with [`StreamLimits::default`].
    fn default() -> Self {
        ListenLimits {
            connections: 4,
            stream: StreamLimits::default(),
        }
    }
}

/// Why a stream ended without its owner asking.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CloseReason {
    /// The peer reset it, or stopped acknowledging what we sent.
    Reset,
    /// No bytes moved for [`StreamLimits::idle_timeout_ns`]; we closed it.
    Idle,
}

/// Something that happened on a socket the application opened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SocketEvent {
    /// A datagram arrived on a bound UDP port.
    Datagram {
        /// The port it arrived on.
        socket: UdpHandle,
        /// The sender.
        from: SocketAddr,
        /// The local address it was sent to (one of ours, or a broadcast or multicast
        /// address), if known.
        to: Option<IpAddr>,
        /// The payload.
        data: Vec<u8>,
    },
    /// A client connected to a listener (its handshake may still be finishing; bytes
    /// sent before it did are taken once it has).
    Accepted {
        /// The listener.
        listener: ListenerHandle,
        /// The new stream.
        stream: StreamHandle,
        /// The client's address and port.
        peer: SocketAddr,
    },
    /// An outgoing stream is established.
    Connected {
        /// The stream.
        stream: StreamHandle,
    },
    /// An outgoing stream was refused or never came up; the handle is dead.
    ConnectFailed {
        /// The stream.
        stream: StreamHandle,
    },
    /// There are bytes to read, or the peer finished sending (then [`Stack::recv`]
    /// returns [`RecvError::Finished`]). Reported again after every poll while that is
    /// still so and no `Readable` for the stream is waiting in the queue.
    Readable {
        /// The stream.
        stream: StreamHandle,
    },
    /// A [`Stack::send`] that took less than it was offered can go on: there is room now.
    Writable {
        /// The stream.
        stream: StreamHandle,
    },
    /// The stream ended; the handle is dead.
    Closed {
        /// The stream.
        stream: StreamHandle,
        /// Why.
        reason: CloseReason,
    },
}

/// Why a socket was not opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpenError {
    /// Port 0 (local or remote).
    InvalidPort,
    /// The port is taken: bound or listened on already, or (for an outgoing stream) the
    /// local port of another one.
    PortInUse,
    /// The cap on sockets of this kind is reached.
    NoFreeSocket,
    /// The destination cannot be reached from here (unspecified, or no address of that
    /// family).
    Unaddressable,
    /// A limit that must be at least 1 is 0; names the field.
    ZeroLimit(&'static str),
}

/// Why [`Stack::recv`] returned no bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecvError {
    /// The handle is dead (closed, reset, aborted) or never existed.
    UnknownStream,
    /// The peer finished sending and everything it sent was read.
    Finished,
}

/// Why a stream call failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamError {
    /// The handle is dead (closed, reset, aborted) or never existed.
    UnknownStream,
}

/// Why [`Stack::send_to`] did not queue a datagram.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DatagramError {
    /// The handle is dead (unbound) or never existed.
    UnknownSocket,
    /// Longer than one unfragmented datagram (or than the transmit buffer).
    TooLarge,
    /// The transmit buffer is full, even after sending what was queued.
    BufferFull,
    /// The destination cannot be sent to (port 0, unspecified, no address of that family).
    Unaddressable,
}

impl fmt::Display for OpenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OpenError::InvalidPort => f.write_str("port 0 cannot be used"),
            OpenError::PortInUse => f.write_str("the port is already in use"),
            OpenError::NoFreeSocket => f.write_str("the cap on sockets of this kind is reached"),
            OpenError::Unaddressable => f.write_str(
                "the destination cannot be reached (unspecified, or no address of its family)",
            ),
            OpenError::ZeroLimit(name) => write!(f, "{name} is 0 but must be at least 1"),
        }
    }
}

impl fmt::Display for RecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RecvError::UnknownStream => "the stream is closed or never existed",
            RecvError::Finished => "the peer finished sending and everything was read",
        })
    }
}

impl fmt::Display for StreamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StreamError::UnknownStream => "the stream is closed or never existed",
        })
    }
}

impl fmt::Display for DatagramError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DatagramError::UnknownSocket => "the UDP socket is unbound or never existed",
            DatagramError::TooLarge => "datagram longer than one unfragmented datagram can be",
            DatagramError::BufferFull => {
                "UDP transmit buffer full (queued datagrams wait for ARP/NDP)"
            }
            DatagramError::Unaddressable => {
                "destination cannot be sent to (port 0, unspecified, or no address of its family)"
            }
        })
    }
}

impl core::error::Error for OpenError {}
impl core::error::Error for RecvError {}
impl core::error::Error for StreamError {}
impl core::error::Error for DatagramError {}

/// Who opened a socket, and so who hears about it: the DNS adapter inside the stack, or
/// the application through [`Event::Socket`]. Also the index of per-owner caps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Owner {
    Dns = 0,
    App = 1,
}

/// A cap per [`Owner`].
pub(crate) type PerOwner = [usize; 2];

fn check_nonzero(fields: &[(usize, &'static str)]) -> Result<(), OpenError> {
    match fields.iter().find(|(v, _)| *v == 0) {
        Some((_, name)) => Err(OpenError::ZeroLimit(name)),
        None => Ok(()),
    }
}

pub(crate) fn check_udp_limits(l: &UdpLimits) -> Result<(), OpenError> {
    check_nonzero(&[
        (l.rx_packets, "rx_packets"),
        (l.rx_bytes, "rx_bytes"),
        (l.tx_packets, "tx_packets"),
        (l.tx_bytes, "tx_bytes"),
    ])
}

pub(crate) fn check_stream_limits(l: &StreamLimits) -> Result<(), OpenError> {
    check_nonzero(&[(l.rx_buffer, "rx_buffer"), (l.tx_buffer, "tx_buffer")])?;
    if l.idle_timeout_ns == 0 {
        return Err(OpenError::ZeroLimit("idle_timeout_ns"));
    }
    Ok(())
}

/// The generic socket API, for the application's own services.
impl<N: Nic> Stack<N> {
    /// Binds UDP port `port` (not 0, not bound already: the DNS port and the DNS
    /// adapter's upstream ports count) with the buffers `limits` says. Datagrams to it
    /// arrive as [`SocketEvent::Datagram`], broadcasts included (a DHCP server on port
    /// 67 sees its clients' DISCOVERs).
    pub fn bind_udp(&mut self, port: u16, limits: UdpLimits) -> Result<UdpHandle, OpenError> {
        self.net.bind_udp(Owner::App, port, &limits)
    }

    /// Queues one datagram from `socket` to `dst` (a broadcast address works too). If
    /// the transmit buffer is full, what it holds is sent first. It reaches the wire on
    /// the next [`poll`](Self::poll) or [`flush`](Self::flush).
    pub fn send_to(
        &mut self,
        socket: UdpHandle,
        dst: SocketAddr,
        payload: &[u8],
    ) -> Result<(), DatagramError> {
        self.net
            .send_to_flushing(Owner::App, socket, dst, None, payload)
            .map(|_| ())
    }

    /// Releases a port bound with [`bind_udp`](Self::bind_udp); datagrams still waiting
    /// in it are dropped. Returns whether the handle was live.
    pub fn unbind_udp(&mut self, socket: UdpHandle) -> bool {
        self.net.unbind_udp(Owner::App, socket)
    }

    /// Listens on TCP port `port` (not 0, not listened on already). Each connection
    /// arrives as [`SocketEvent::Accepted`]; up to `limits.connections` at once, with
    /// `limits.stream`'s buffers and idle timeout.
    pub fn listen_tcp(
        &mut self,
        port: u16,
        limits: ListenLimits,
    ) -> Result<ListenerHandle, OpenError> {
        self.net.listen_tcp(Owner::App, port, &limits)
    }

    /// Opens a TCP connection from local port `local_port` (not 0, not the local port of
    /// another outgoing stream; pick it at random, RFC 6056) to `remote`. The SYN goes
    /// out on the next poll or flush; [`SocketEvent::Connected`] or
    /// [`SocketEvent::ConnectFailed`] follows. Bytes sent before it is established are
    /// refused (`Ok(0)`), and [`SocketEvent::Writable`] comes once they can go.
    pub fn connect_tcp(
        &mut self,
        remote: SocketAddr,
        local_port: u16,
        limits: StreamLimits,
    ) -> Result<StreamHandle, OpenError> {
        self.net
            .connect_tcp(Owner::App, remote, local_port, &limits)
    }

    /// Reads up to `buf.len()` bytes from `stream`. `Ok(0)`: nothing to read now (a
    /// [`SocketEvent::Readable`] comes when there is). `Err(RecvError::Finished)`: the
    /// peer finished sending and everything was read (the stream stays open for sending
    /// until you [`close`](Self::close) it).
    pub fn recv(&mut self, stream: StreamHandle, buf: &mut [u8]) -> Result<usize, RecvError> {
        self.net.recv_slice(Owner::App, stream, buf)
    }

    /// Queues as much of `data` on `stream` as its transmit buffer takes and returns how
    /// much that was; if it was less than all, [`SocketEvent::Writable`] comes when
    /// there is room again. It reaches the wire on the next poll or flush.
    pub fn send(&mut self, stream: StreamHandle, data: &[u8]) -> Result<usize, StreamError> {
        self.net.send(Owner::App, stream, data)
    }

    /// Closes `stream`: a FIN follows what was already sent, and the handle is dead.
    /// The connection finishes without us (it is reset if the peer does not finish
    /// within the stream's idle timeout).
    pub fn close(&mut self, stream: StreamHandle) -> Result<(), StreamError> {
        self.net.close(Owner::App, stream)
    }

    /// Resets `stream` (the RST goes on the next poll or flush); the handle is dead.
    pub fn abort(&mut self, stream: StreamHandle) -> Result<(), StreamError> {
        self.net.abort(Owner::App, stream)
    }
}

/// Moves the datagrams waiting in the application's socket `socket` to the event queue
/// while it has room.
pub(crate) fn deliver_datagrams<N: Nic>(
    net: &mut crate::net::Net<N>,
    events: &mut crate::stack::EventQueue,
    socket: UdpHandle,
) {
    net.drain_udp(socket, events, |data, from, to| {
        Event::Socket(SocketEvent::Datagram {
            socket,
            from,
            to,
            data: data.to_vec(),
        })
    });
}

/// Queues a stream event for the application.
pub(crate) fn deliver<N: Nic>(
    net: &mut crate::net::Net<N>,
    events: &mut crate::stack::EventQueue,
    ev: SocketEvent,
) {
    if let SocketEvent::Readable { stream } = ev {
        net.set_readable_queued(stream, true);
    }
    events.push(Event::Socket(ev));
}
