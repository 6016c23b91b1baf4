//! TCP/IP for the resolver, on smoltcp: this crate knows TCP/IP, and serves DNS as one
//! service on top of its own socket layer.
//!
//! [`Stack`] runs a smoltcp `Interface` over any [`Nic`] (Ethernet, ARP, NDP, IPv4, IPv6,
//! ICMP echo for both, an optional DHCPv4 client) and offers two layers to the
//! application:
//!
//! - **[Generic sockets](socket)**, for any service: UDP ports ([`Stack::bind_udp`],
//!   [`Stack::send_to`]), TCP listeners with their own buffers, connection cap and idle
//!   timeout ([`Stack::listen_tcp`]), and byte streams, accepted or outgoing
//!   ([`Stack::connect_tcp`], [`Stack::recv`], [`Stack::send`], [`Stack::close`],
//!   [`Stack::abort`]). What happens on them comes as [`Event::Socket`].
//! - **[The DNS adapter](dns)**, today's DNS service over those sockets: queries from
//!   clients on [`NetConfig::dns_port`] (53), UDP and TCP (RFC 7766 framing and
//!   pipelining), surfaced as [`Event::Query`] and answered with [`Stack::reply`]; and
//!   queries to upstream servers from a local port the engine chose
//!   ([`Stack::send_udp`], [`Stack::send_tcp`]), whose answers come back as
//!   [`Event::Response`] (or [`Event::UpstreamError`]).
//!
//! It reads no clock and draws no randomness of its own: time comes in as `now_ns`
//! (monotonic nanoseconds) on every call that needs it, and the seed for TCP sequence
//! numbers is a constructor argument (local ports for outgoing traffic are the caller's
//! to pick at random). Every buffer, queue and table is bounded by a field of
//! [`NetLimits`] or of a socket's own limits; no input from the network can make it
//! panic.
//!
//! # The main loop
//!
//! ```text
//! loop {
//!     let _ = stack.poll(now);                  // a batch of frames in, output out
//!     while let Some(ev) = stack.next_event() {
//!         match ev {
//!             Event::Query { .. } | Event::Response { .. } | Event::UpstreamError { .. }
//!             | Event::UpstreamHeld { .. } | Event::UpstreamSent { .. }
//!                 => /* the engine; stack.reply(..), stack.send_udp(..), stack.send_tcp(..) */,
//!             Event::Socket(ev) => /* the service that opened that socket */,
//!             Event::Dhcp(_) => /* log it */,
//!         }
//!         let _ = stack.flush();                // send it right away
//!     }
//!     /* engine and service timeouts: more output */
//!     let _ = stack.flush();                    // send what was just queued
//!     wait_until(min(deadlines, stack.poll_delay(now)));
//! }
//! ```
//!
//! Every call that queues output ([`Stack::reply`], the `send_*` calls, [`Stack::send`],
//! [`Stack::close`], …) does so at once; it reaches the wire on the next [`Stack::poll`]
//! or [`Stack::flush`]. They take their notion of "now" from the last `poll`. `poll` and
//! `flush` say whether anything happened; a loop that drains the events anyway and asks
//! `poll_delay` does not need to know.
//!
//! # A service on the socket layer
//!
//! How the services to come use it (sketches; `rustls`-style TLS state machines and
//! HTTP parsers live in the application, not here):
//!
//! ```text
//! // DoT on 853, DoH on 443: TLS wants a whole record (16 KiB) in the receive buffer.
//! let tls = ListenLimits {
//!     connections: 16,
//!     stream: StreamLimits { rx_buffer: 18 * 1024, tx_buffer: 18 * 1024, ..Default::default() },
//! };
//! let dot = stack.listen_tcp(853, tls)?;
//! let doh = stack.listen_tcp(443, tls)?;
//! // Event::Socket(SocketEvent::Accepted { listener: dot, stream, peer }): a new TLS session.
//! // Event::Socket(SocketEvent::Readable { stream }): stack.recv(stream, &mut buf) until Ok(0),
//! //     feed the TLS session; its plaintext is DNS with 2-byte framing (DoT) or HTTP (DoH);
//! //     answers from the engine go back through the session and stack.send(stream, ..).
//! // Event::Socket(SocketEvent::Writable { stream }): send what did not fit before.
//! // Event::Socket(SocketEvent::Closed { stream, .. }): drop the session.
//!
//! // The HTTP dashboard on 8080: small buffers, few clients.
//! let http = stack.listen_tcp(8080, ListenLimits::default())?; // 4 clients, 4 KiB, 30 s idle
//! // Readable: parse the request; send the page; stack.close(stream).
//!
//! // A DHCP server on UDP 67: clients broadcast from 0.0.0.0:68.
//! let dhcpd = stack.bind_udp(67, UdpLimits::default())?;
//! // Event::Socket(SocketEvent::Datagram { socket: dhcpd, from, to, data }): `to` tells a
//! //     broadcast from a unicast; answer with stack.send_to(dhcpd, (255.255.255.255, 68), ..).
//!
//! // An HTTPS fetch of a blocklist at boot.
//! let big = StreamLimits { rx_buffer: 18 * 1024, ..Default::default() };
//! let s = stack.connect_tcp(server, random_port, big)?;
//! // Connected: start the TLS handshake with stack.send(s, ..); Readable: stack.recv(s, ..)
//! // into the TLS session until Err(RecvError::Finished); then stack.close(s).
//! // ConnectFailed / Closed: retry later.
//! ```
//!
//! # Limits worth knowing upstream of this crate
//!
//! - No IP fragmentation or reassembly: a UDP datagram must fit the MTU (1472 bytes of
//!   payload over IPv4, 1452 over IPv6 at MTU 1500). The engine should advertise an
//!   EDNS buffer size of at most that (1232 is the usual choice) and retry over TCP
//!   when a response is truncated.
//! - IPv6 addresses are static (plus the link-local one); router advertisements and
//!   SLAAC are not used.
//! - An upstream UDP datagram that cannot leave yet (its next hop's ARP/NDP answer, or
//!   a free upstream socket, is awaited) is held, at most
//!   [`NetLimits::upstream_hold_ns`], and reported: [`Event::UpstreamHeld`], then
//!   [`Event::UpstreamSent`] or [`Event::UpstreamError`]. A timeout upstream of this
//!   crate should start when it left. The stack solicits neighbours itself, past
//!   smoltcp's one request per second for the whole interface (see `neighbour.rs`).
//! - While the event queue is full, [`Stack::poll`] reads no more frames: a burst waits
//!   in the NIC's queue (the host's TAP queue, hundreds of frames deep) rather than
//!   overflow the socket buffers, and [`Stats::poll_held_back`] counts it. What the host
//!   drops when its queue overflows is not seen here; datagrams dropped inside smoltcp
//!   (a datagram larger than a socket's byte buffer) are not counted either.
//! - A stream's [`SocketEvent::Readable`] is reported again after every poll while its
//!   bytes are unread: a service that stops reading for a while (its own queue is
//!   full) gets one cheap event per poll, not a stall.
#![no_std]
#![deny(unsafe_code)]
#![warn(missing_docs)]

extern crate alloc;
#[cfg(test)]
extern crate std;

mod device;
pub mod dns;
mod neighbour;
mod net;
pub mod socket;
mod stack;
#[cfg(test)]
mod tests;

use alloc::vec::Vec;
use core::fmt;
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

pub use dns::{HoldReason, ReplyError, SendError, UpstreamErrorKind};
pub use socket::{
    CloseReason, DatagramError, ListenLimits, ListenerHandle, OpenError, RecvError, SocketEvent,
    StreamError, StreamHandle, StreamLimits, UdpHandle, UdpLimits,
};
pub use stack::Stack;

/// A network device that moves whole Ethernet frames (without FCS).
///
/// This is the seam to the platform: solo5's `net_read`/`net_write`, or a TAP device.
pub trait Nic {
    /// Reads one waiting frame into `buf` and returns its length, or `None` if no frame
    /// is waiting. A frame longer than `buf` must be dropped by the implementation.
    fn recv(&mut self, buf: &mut [u8]) -> Option<usize>;
    /// Sends one frame. Errors are the device's business (a lost frame is like a lost packet).
    fn send(&mut self, frame: &[u8]);
    /// The device's MAC address.
    fn mac(&self) -> [u8; 6];
    /// The IP MTU (1500 for ordinary Ethernet); frames are at most `mtu() + 14` bytes.
    fn mtu(&self) -> usize;
}

/// The port the DNS adapter serves on unless [`NetConfig::dns_port`] says otherwise.
pub const DNS_PORT: u16 = 53;

/// Addresses and routes of the interface, and the port DNS is served on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetConfig {
    /// Static IPv4 address and prefix length. Ignored when `dhcp` is set.
    pub ipv4: Option<(Ipv4Addr, u8)>,
    /// IPv4 default gateway. Ignored when `dhcp` is set.
    pub ipv4_gateway: Option<Ipv4Addr>,
    /// Static IPv6 address and prefix length (a link-local address derived from the MAC
    /// is always configured in addition).
    pub ipv6: Option<(Ipv6Addr, u8)>,
    /// IPv6 default gateway.
    pub ipv6_gateway: Option<Ipv6Addr>,
    /// Get the IPv4 address and gateway by DHCPv4 instead.
    pub dhcp: bool,
    /// The port DNS queries are served on, UDP and TCP ([`DNS_PORT`], 53, by default).
    /// Must not be 0.
    pub dns_port: u16,
    /// Caps on every buffer and queue.
    pub limits: NetLimits,
}

impl Default for NetConfig {
    /// No addresses, no DHCP, DNS on port 53, the default limits.
    fn default() -> Self {
        NetConfig {
            ipv4: None,
            ipv4_gateway: None,
            ipv6: None,
            ipv6_gateway: None,
            dhcp: false,
            dns_port: DNS_PORT,
            limits: NetLimits::default(),
        }
    }
}

/// Caps on every buffer and queue of the [`Stack`]. Memory use follows from these. Most
/// fields are the DNS adapter's (its port's sockets, its upstream pools); the last
/// three cap what the application opens itself, whose buffers it sizes per socket
/// ([`UdpLimits`], [`ListenLimits`], [`StreamLimits`]).
///
/// The DNS port's UDP socket and one TCP listening socket are allocated when the stack
/// is created; further listening sockets (one ahead of the clients), upstream sockets
/// and message reassembly grow on demand up to the stated maxima and are then reused.
///
/// With the defaults the DNS adapter's socket buffers take at most about 1.3 MiB. Counts,
/// sizes, `tcp_clients_per_source` and the timeouts must be at least 1 ([`NewError::ZeroLimit`]);
/// `tcp_clients`, `upstream_*_sockets`, `udp_reply_sources`, `icmp_errors_per_sec`,
/// `udp_sockets`, `tcp_listeners` and `tcp_connects` may be 0 to switch that part off.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NetLimits {
    /// Frames processed by one [`Stack::poll`] at most; if more are waiting,
    /// [`Stack::poll_delay`] returns 0 so the main loop comes straight back. Small, so
    /// that answers go out between batches: a guest slower than its offered load (a
    /// backlog after boot, an emulating hypervisor) must not read for seconds before it
    /// answers. Default 8.
    pub max_frames_per_poll: usize,
    /// Data events (queries, responses, datagrams) queued for the application at most. When the
    /// queue is full, `poll` stops reading frames (they wait in the NIC) and data
    /// already in a socket stays there (a TCP window closes). Error and DHCP events are
    /// always queued; there can be at most one per upstream TCP socket plus two more.
    /// Default 256.
    pub event_queue: usize,
    /// Datagrams waiting in the DNS port's UDP socket's receive buffer. Each datagram moves
    /// on to the event queue as soon as its frame is processed, and no frame is read
    /// while that queue is full, so this rarely holds more than one. Default 64.
    pub udp_rx_packets: usize,
    /// Payload bytes in the DNS port's UDP socket's receive buffer. Default 64 KiB.
    pub udp_rx_bytes: usize,
    /// Datagrams waiting in the DNS port's UDP socket's transmit buffer. A reply that
    /// finds it full first puts the queued ones on the wire (one `poll` can send only
    /// this many: smoltcp sends one datagram per socket per egress round), so a burst of
    /// answers is not refused. Default 64.
    pub udp_tx_packets: usize,
    /// Payload bytes in the DNS port's UDP socket's transmit buffer. Default 64 KiB.
    pub udp_tx_bytes: usize,
    /// Clients whose query's destination address is remembered, so the reply leaves
    /// from the address the query was sent to. Default 256.
    pub udp_reply_sources: usize,
    /// TCP sockets listening on the DNS port: the cap on concurrent client connections.
    /// One more connection attempt is answered with a reset. Default 16.
    pub tcp_clients: usize,
    /// Receive buffer (bytes) of each DNS port TCP socket. Default 4096.
    pub tcp_rx_buffer: usize,
    /// Transmit buffer (bytes) of each DNS port TCP socket. Default 8192.
    pub tcp_tx_buffer: usize,
    /// Largest query accepted on a TCP connection; a length prefix above it (or zero)
    /// resets the connection. Default 4096.
    pub tcp_max_query: usize,
    /// Queries surfaced on one connection and not yet answered, at most (RFC 7766
    /// pipelining). Past it, the connection is not read until replies go out.
    /// Default 16.
    pub tcp_max_pending: usize,
    /// A client connection with no bytes in either direction for this long is closed
    /// (and reset if it is still not gone after the same time again). Default 10 s.
    pub tcp_idle_timeout_ns: u64,
    /// A query on a client connection must be whole within this time of its first byte
    /// (length prefix included), and the first query within this time of the
    /// connection's start, or the connection is reset ([`Stats::tcp_closed_slow`]).
    /// Bytes keep the idle timer fresh, so without this a client sending one byte
    /// every few seconds (slowloris) held a connection slot for as long as it liked,
    /// and one that connected and said nothing held it for the idle timeout. 3 s is
    /// ample for a query of at most `tcp_max_query` bytes on a LAN, lost segments
    /// included. Between queries the idle timeout applies. Default 3 s.
    pub tcp_query_timeout_ns: u64,
    /// Client connections one source (an IPv4 address, an IPv6 /64) may have open at
    /// once; one more is reset at accept ([`Stats::tcp_refused_busy`]), so one device
    /// cannot hold every `tcp_clients` slot with connections it keeps alive. Default
    /// 8, half of `tcp_clients`.
    pub tcp_clients_per_source: usize,
    /// UDP sockets for upstream queries (one per local port in use). Default 64. An
    /// application should keep its upstream queries in flight to this many (the
    /// resolver sizes its engine from it); a datagram that finds them all bound waits
    /// (see `upstream_udp_wait`).
    pub upstream_udp_sockets: usize,
    /// Upstream datagrams that may wait for a free upstream socket (held, and sent
    /// when [`Stack::close_udp`] frees one); past it `send_udp` refuses with
    /// [`SendError::NoFreeSocket`]. 0 refuses at once. Default 256.
    pub upstream_udp_wait: usize,
    /// The longest an upstream datagram is held, waiting for its next hop's ARP/NDP
    /// answer or for a free socket, before it is dropped with
    /// [`UpstreamErrorKind::NoNeighbour`] or [`UpstreamErrorKind::NoSocket`].
    /// Default 3 s: three solicitations, one a second.
    pub upstream_hold_ns: u64,
    /// Datagrams waiting in each upstream UDP socket's receive buffer (as for the DNS
    /// port's socket, rarely more than one). Default 4.
    pub upstream_udp_rx_packets: usize,
    /// Payload bytes in each upstream UDP socket's receive buffer. Default 8192.
    pub upstream_udp_rx_bytes: usize,
    /// Datagrams waiting in each upstream UDP socket's transmit buffer. Default 2.
    pub upstream_udp_tx_packets: usize,
    /// Payload bytes in each upstream UDP socket's transmit buffer. Default 4096.
    pub upstream_udp_tx_bytes: usize,
    /// Concurrent upstream TCP exchanges. Default 8.
    pub upstream_tcp_sockets: usize,
    /// Receive buffer (bytes) of each upstream TCP socket. Default 8192.
    pub upstream_tcp_rx_buffer: usize,
    /// Transmit buffer (bytes) of each upstream TCP socket. Default 2048.
    pub upstream_tcp_tx_buffer: usize,
    /// Largest response accepted from an upstream TCP server. Default 65535.
    pub upstream_tcp_max_response: usize,
    /// An upstream TCP exchange (connect, query, response) not finished in this time is
    /// aborted with [`UpstreamErrorKind::Timeout`]. Default 10 s.
    pub upstream_tcp_timeout_ns: u64,
    /// ICMP error messages (port or protocol unreachable, parameter problem) sent per
    /// second at most, over all destinations: smoltcp answers every datagram to a
    /// closed port with one, so without a cap a forged flood makes us a reflector
    /// (Linux caps them too: `icmp_ratelimit`, `icmp_msgs_per_sec`). 0 sends none.
    /// Default 10.
    pub icmp_errors_per_sec: u32,
    /// ICMP error messages that may go out at once above the rate (0 counts as 1).
    /// Default 10.
    pub icmp_error_burst: u32,
    /// UDP ports the application may have bound at once with [`Stack::bind_udp`],
    /// beside the DNS adapter's. 0 allows none. Default 4.
    pub udp_sockets: usize,
    /// TCP listeners the application may open with [`Stack::listen_tcp`], beside the
    /// DNS adapter's. 0 allows none. Default 4.
    pub tcp_listeners: usize,
    /// Outgoing TCP streams the application may have open at once with
    /// [`Stack::connect_tcp`], beside the DNS adapter's upstream exchanges. 0 allows
    /// none. Default 4.
    pub tcp_connects: usize,
}

impl Default for NetLimits {
    fn default() -> Self {
        NetLimits {
            max_frames_per_poll: 8,
            event_queue: 256,
            udp_rx_packets: 64,
            udp_rx_bytes: 64 * 1024,
            udp_tx_packets: 64,
            udp_tx_bytes: 64 * 1024,
            udp_reply_sources: 256,
            tcp_clients: 16,
            tcp_rx_buffer: 4096,
            tcp_tx_buffer: 8192,
            tcp_max_query: 4096,
            tcp_max_pending: 16,
            tcp_idle_timeout_ns: 10_000_000_000,
            tcp_query_timeout_ns: 3_000_000_000,
            tcp_clients_per_source: 8,
            upstream_udp_sockets: 64,
            upstream_udp_wait: 256,
            upstream_hold_ns: 3_000_000_000,
            upstream_udp_rx_packets: 4,
            upstream_udp_rx_bytes: 8192,
            upstream_udp_tx_packets: 2,
            upstream_udp_tx_bytes: 4096,
            upstream_tcp_sockets: 8,
            upstream_tcp_rx_buffer: 8192,
            upstream_tcp_tx_buffer: 2048,
            upstream_tcp_max_response: 65535,
            upstream_tcp_timeout_ns: 10_000_000_000,
            icmp_errors_per_sec: 10,
            icmp_error_burst: 10,
            udp_sockets: 4,
            tcp_listeners: 4,
            tcp_connects: 4,
        }
    }
}

pub use common::Transport;

/// Something the application should know about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A DNS message from a client to the DNS port ([`NetConfig::dns_port`]).
    Query {
        /// The client's address and port.
        client: SocketAddr,
        /// How it arrived.
        transport: Transport,
        /// The message (without the TCP length prefix).
        data: Vec<u8>,
    },
    /// A message from an upstream server to a local port of ours.
    Response {
        /// The server's address and port.
        from: SocketAddr,
        /// Our local port (the one given to `send_udp`/`send_tcp`).
        local_port: u16,
        /// Whether it came over TCP.
        tcp: bool,
        /// The message (without the TCP length prefix).
        data: Vec<u8>,
    },
    /// An upstream exchange failed after it was started.
    UpstreamError {
        /// The server.
        to: SocketAddr,
        /// Our local port.
        local_port: u16,
        /// Whether it was TCP (UDP fails only after it was held:
        /// [`UpstreamErrorKind::NoNeighbour`], [`UpstreamErrorKind::NoSocket`]).
        tcp: bool,
        /// What went wrong.
        kind: UpstreamErrorKind,
    },
    /// An upstream UDP datagram [`Stack::send_udp`] took did not leave at once: it
    /// waits for its next hop's ARP/NDP answer or for a free socket. Its waiting is not
    /// the server's delay: a timeout should start when [`Event::UpstreamSent`] says it
    /// left. One of that or [`Event::UpstreamError`] follows, within
    /// [`NetLimits::upstream_hold_ns`].
    UpstreamHeld {
        /// The server.
        to: SocketAddr,
        /// Our local port.
        local_port: u16,
        /// What it waits for.
        reason: HoldReason,
    },
    /// A datagram reported by [`Event::UpstreamHeld`] has left now.
    UpstreamSent {
        /// The server.
        to: SocketAddr,
        /// Our local port.
        local_port: u16,
    },
    /// The DHCPv4 client's state changed.
    Dhcp(DhcpEvent),
    /// Something happened on a socket the application opened itself
    /// ([`Stack::bind_udp`], [`Stack::listen_tcp`], [`Stack::connect_tcp`]). The DNS
    /// adapter's own sockets never show here.
    Socket(SocketEvent),
}

/// A change of the DHCPv4 lease.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DhcpEvent {
    /// A lease was acquired or changed; the address and default route are in place.
    Configured {
        /// Our address.
        address: Ipv4Addr,
        /// Its prefix length.
        prefix_len: u8,
        /// The default gateway, if the server named one.
        router: Option<Ipv4Addr>,
        /// DNS servers the DHCP server announced (a forwarder may want them).
        dns_servers: Vec<Ipv4Addr>,
        /// The DHCP server that gave the lease.
        server: Ipv4Addr,
    },
    /// The lease was lost (expired, or the server said no); the IPv4 address and route
    /// are removed and the client is looking for a new lease.
    Deconfigured,
}

/// Why a [`Stack`] could not be created.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NewError {
    /// The NIC's MAC address is a multicast or broadcast address.
    BadMac([u8; 6]),
    /// The NIC's MTU is outside 1280..=9216.
    BadMtu(usize),
    /// A prefix length is too long for its address family.
    BadPrefix(u8),
    /// A limit (or the DNS port) that must be at least 1 is 0; names the field.
    ZeroLimit(&'static str),
}

impl fmt::Display for NewError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            NewError::BadMac(m) => write!(
                f,
                "the NIC's MAC address {:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x} is not unicast",
                m[0], m[1], m[2], m[3], m[4], m[5]
            ),
            NewError::BadMtu(mtu) => write!(f, "the NIC's MTU {mtu} is outside 1280..=9216"),
            NewError::BadPrefix(p) => {
                write!(f, "prefix length {p} is too long for its address family")
            }
            NewError::ZeroLimit(name) => write!(f, "{name} is 0 but must be at least 1"),
        }
    }
}

impl core::error::Error for NewError {}

/// Counters for the boot log and for diagnosing overload.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Frames read from the NIC.
    pub frames_in: u64,
    /// Frames written to the NIC.
    pub frames_out: u64,
    /// Bytes read from the NIC.
    pub bytes_in: u64,
    /// Bytes written to the NIC.
    pub bytes_out: u64,
    /// Drops: the NIC reported a frame longer than the receive buffer.
    pub drop_rx_oversize: u64,
    /// Drops: smoltcp built a frame longer than the MTU (not expected).
    pub drop_tx_oversize: u64,
    /// ICMP error messages not sent: over [`NetLimits::icmp_errors_per_sec`].
    pub icmp_errors_suppressed: u64,
    /// Polls that stopped at [`NetLimits::max_frames_per_poll`].
    pub poll_budget_exhausted: u64,
    /// Polls that stopped reading frames because the event queue was full (the frames
    /// wait in the NIC until the application drained the queue).
    pub poll_held_back: u64,
    /// Times data was left in a socket because the event queue was full.
    pub event_queue_full: u64,
    /// UDP queries surfaced.
    pub udp_queries: u64,
    /// UDP replies queued.
    pub udp_replies: u64,
    /// UDP replies refused (buffer full, too large, unaddressable).
    pub udp_reply_errors: u64,
    /// Times a UDP reply found the transmit buffer full and sent the queued ones first.
    pub udp_reply_flushes: u64,
    /// Neighbour solicitations sent for the next hop of a client reply that waited in
    /// the DNS socket (smoltcp had no address for the client).
    pub udp_reply_solicits: u64,
    /// TCP client connections accepted.
    pub tcp_accepted: u64,
    /// TCP client connections open now.
    pub tcp_open: u64,
    /// TCP queries surfaced.
    pub tcp_queries: u64,
    /// TCP replies queued.
    pub tcp_replies: u64,
    /// Drops: TCP connections closed for being idle.
    pub tcp_closed_idle: u64,
    /// Drops: TCP connections reset for a bad length prefix.
    pub tcp_closed_bad_frame: u64,
    /// Drops: TCP connections reset because a query was not whole within
    /// [`NetLimits::tcp_query_timeout_ns`] of its first byte.
    pub tcp_closed_slow: u64,
    /// Drops: TCP connections reset at accept, their source outside the allow list
    /// ([`Stack::set_dns_allow`]).
    pub tcp_refused: u64,
    /// Drops: TCP connections reset at accept, their source holding
    /// [`NetLimits::tcp_clients_per_source`] already.
    pub tcp_refused_busy: u64,
    /// Upstream UDP queries queued.
    pub upstream_udp_sent: u64,
    /// Upstream UDP responses surfaced.
    pub upstream_udp_responses: u64,
    /// Upstream queries refused: no free socket (UDP: nor room to wait for one; TCP).
    pub upstream_no_socket: u64,
    /// Upstream UDP datagrams that waited for their next hop's ARP/NDP answer.
    pub upstream_udp_held: u64,
    /// Upstream UDP datagrams that waited for a free socket.
    pub upstream_udp_socket_waits: u64,
    /// Upstream UDP datagrams dropped: their next hop never answered ARP/NDP.
    pub upstream_udp_no_neighbour: u64,
    /// Upstream UDP datagrams given up after they were held (any reason).
    pub upstream_udp_errors: u64,
    /// ARP requests and NDP solicitations sent by the stack itself (gateways at start,
    /// next hops of held datagrams), past smoltcp's interface-wide one-per-second.
    pub neighbour_solicitations: u64,
    /// Upstream TCP exchanges started.
    pub upstream_tcp_started: u64,
    /// Upstream TCP responses surfaced.
    pub upstream_tcp_responses: u64,
    /// Upstream TCP exchanges that failed.
    pub upstream_tcp_errors: u64,
    /// DHCP leases acquired or changed.
    pub dhcp_configured: u64,
    /// DHCP leases lost.
    pub dhcp_deconfigured: u64,
}

/// An address of the interface with its prefix length, for the boot log.
pub type AddrCidr = (IpAddr, u8);
