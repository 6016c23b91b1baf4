//! The DNS adapter: today's DNS service, built on the [generic sockets](crate::socket).
//!
//! It holds a UDP port and a TCP listener on [`NetConfig::dns_port`] (53 by default)
//! and a pool of upstream sockets, all opened through the same calls an application's
//! service uses, and turns their [`SocketEvent`]s into DNS-shaped events:
//!
//! - queries from clients, UDP and TCP (RFC 7766: 2-byte length framing, pipelining up
//!   to [`NetLimits::tcp_max_pending`] per connection, a cap on the message size),
//!   surfaced as [`Event::Query`] and answered with [`Stack::reply`]; UDP replies leave
//!   from the address the query was sent to;
//! - queries to upstream servers from a local port the engine chose
//!   ([`Stack::send_udp`], [`Stack::send_tcp`]), whose answers come back as
//!   [`Event::Response`] (or [`Event::UpstreamError`]).
//!
//! The connection cap, buffers and idle timeout of the TCP listener are the listener's
//! [`ListenLimits`], taken from [`NetLimits`]; so are the upstream sockets' buffers. A
//! DoT service would be this module's TCP half with TLS between the stream and the
//! framing.
//!
//! [`NetConfig::dns_port`]: crate::NetConfig::dns_port
//! [`NetLimits`]: crate::NetLimits
//! [`NetLimits::tcp_max_pending`]: crate::NetLimits::tcp_max_pending

mod framing;
mod server;
mod upstream;

use alloc::collections::VecDeque;
use alloc::vec::Vec;
use core::fmt;
use core::net::{IpAddr, SocketAddr};

use common::IpCidr;

use crate::net::Net;
use crate::socket::{
    ListenLimits, ListenerHandle, Owner, SocketEvent, StreamLimits, UdpHandle, UdpLimits,
};
use crate::stack::EventQueue;
use crate::{DatagramError, Event, NetLimits, NewError, Nic, Stack, Stats, Transport};

/// Why an upstream exchange failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UpstreamErrorKind {
    /// The connection was refused or never came up.
    ConnectFailed,
    /// The connection was reset or closed before a whole response arrived.
    Reset,
    /// The response's length prefix was zero or above the cap.
    BadFrame,
    /// No whole response within [`NetLimits::upstream_tcp_timeout_ns`](crate::NetLimits::upstream_tcp_timeout_ns).
    Timeout,
    /// UDP: the datagram's next hop did not answer ARP/NDP within
    /// [`NetLimits::upstream_hold_ns`](crate::NetLimits::upstream_hold_ns), or there
    /// is no route to its destination (no gateway of its family); it was dropped
    /// without leaving.
    NoNeighbour,
    /// UDP: no upstream socket came free within
    /// [`NetLimits::upstream_hold_ns`](crate::NetLimits::upstream_hold_ns) (or the port
    /// was taken meanwhile); the datagram was dropped without leaving.
    NoSocket,
}

/// Why an upstream UDP datagram did not leave when it was handed over
/// ([`Event::UpstreamHeld`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HoldReason {
    /// Its next hop's link-layer address is not known yet: it waits for the ARP or
    /// NDP answer (solicited at once and every second).
    Neighbour,
    /// Every upstream socket is in use: it waits for one to be released.
    NoSocket,
}

/// Why [`Stack::reply`](crate::Stack::reply) did not queue a reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplyError {
    /// Longer than a DNS message can be (65535), or than one unfragmented datagram.
    TooLarge,
    /// The UDP transmit buffer is full, even after sending what was queued (the queued
    /// datagrams wait for a neighbour's address).
    BufferFull,
    /// The address cannot be sent to (port 0, unspecified, no address of that family).
    Unaddressable,
    /// The TCP connection is gone (closed, reset, timed out) or never existed.
    UnknownConnection,
    /// More replies queued on this connection than queries were surfaced.
    QueueFull,
}

/// Why an upstream query was not started.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SendError {
    /// Local port 0 or the DNS port.
    InvalidPort,
    /// The local port is in use: a TCP exchange from it is running, or (UDP) the
    /// application bound it with [`Stack::bind_udp`](crate::Stack::bind_udp).
    PortInUse,
    /// All upstream sockets of this kind are in use.
    NoFreeSocket,
    /// Longer than a DNS message can be (65535), or than one unfragmented datagram.
    TooLarge,
    /// The socket's transmit buffer is full.
    BufferFull,
    /// The destination cannot be sent to (port 0, unspecified, no address of that family).
    Unaddressable,
}

impl fmt::Display for ReplyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ReplyError::TooLarge => {
                "reply longer than a DNS message or one unfragmented datagram can be"
            }
            ReplyError::BufferFull => "UDP transmit buffer full (queued replies wait for ARP/NDP)",
            ReplyError::Unaddressable => {
                "client address cannot be sent to (port 0, unspecified, or no address of its family)"
            }
            ReplyError::UnknownConnection => "TCP connection is gone or never existed",
            ReplyError::QueueFull => "more replies on this TCP connection than queries surfaced",
        })
    }
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SendError::InvalidPort => "local port is 0 or the DNS port",
            SendError::PortInUse => "the local port is in use (a TCP exchange, or bound by the application)",
            SendError::NoFreeSocket => "all upstream sockets of this kind are in use",
            SendError::TooLarge => {
                "query longer than a DNS message or one unfragmented datagram can be"
            }
            SendError::BufferFull => "the upstream socket's transmit buffer is full",
            SendError::Unaddressable => {
                "server address cannot be sent to (port 0, unspecified, or no address of its family)"
            }
        })
    }
}

impl fmt::Display for UpstreamErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            UpstreamErrorKind::ConnectFailed => "connection refused or never established",
            UpstreamErrorKind::Reset => "connection reset or closed before a whole response",
            UpstreamErrorKind::BadFrame => "response length prefix zero or above the cap",
            UpstreamErrorKind::Timeout => "no whole response in time",
            UpstreamErrorKind::NoNeighbour => {
                "no route, or the next hop did not answer ARP/NDP in time"
            }
            UpstreamErrorKind::NoSocket => "no upstream socket came free in time",
        })
    }
}

impl core::error::Error for ReplyError {}
impl core::error::Error for SendError {}

/// The address each recent UDP client sent its query to, newest last.
pub(crate) struct ReplySources {
    pub(crate) q: VecDeque<(SocketAddr, IpAddr)>,
    cap: usize,
}

impl ReplySources {
    pub(crate) fn remember(&mut self, client: SocketAddr, local: IpAddr) {
        if self.cap == 0 {
            return;
        }
        if let Some(pos) = self.q.iter().position(|(c, _)| *c == client) {
            self.q.remove(pos);
        }
        while self.q.len() >= self.cap {
            self.q.pop_front();
        }
        self.q.push_back((client, local));
    }

    fn lookup(&self, client: SocketAddr) -> Option<IpAddr> {
        self.q
            .iter()
            .rev()
            .find(|(c, _)| *c == client)
            .map(|(_, l)| *l)
    }
}

/// Next hops of queued replies remembered for soliciting ([`Dns::replies_after_egress`]):
/// past it, a reply's hop is left to smoltcp's own discovery.
const REPLY_HOPS: usize = 32;

/// The DNS service's sockets and state.
pub(crate) struct Dns {
    port: u16,
    limits: NetLimits,
    /// The UDP socket on the DNS port.
    udp: UdpHandle,
    /// The TCP listener on the DNS port, unless `tcp_clients` is 0.
    pub(crate) listener: Option<ListenerHandle>,
    pub(crate) reply_sources: ReplySources,
    /// Client connections, at most `tcp_clients`.
    conns: Vec<server::Conn>,
    /// The next connection id (never 0).
    next_conn: u32,
    /// Upstream UDP ports bound, at most `upstream_udp_sockets`.
    upstream_udp: Vec<(u16, UdpHandle)>,
    /// Upstream TCP exchanges running, at most `upstream_tcp_sockets`.
    exchanges: Vec<upstream::Exchange>,
    /// Upstream datagrams put in their socket and not yet seen leaving: at most one
    /// per bound upstream socket.
    departing: Vec<upstream::Departing>,
    /// Upstream datagrams waiting for a free socket, at most `upstream_udp_wait`.
    pool_wait: VecDeque<upstream::PoolWait>,
    /// The next hops of the replies queued on the DNS socket since it was last seen
    /// empty, and when we last solicited each ([`REPLY_HOPS`] at most). A reply to a
    /// client smoltcp has no address for, inside its one-second silence, holds every
    /// reply behind it; soliciting these hops ourselves ends the wait at the answer.
    reply_hops: Vec<(IpAddr, Option<u64>)>,
    /// The DNS counters of [`Stats`] (the others are filled in by the stack).
    pub(crate) stats: Stats,
    /// The clients TCP connections are accepted from ([`Stack::set_dns_allow`]);
    /// `None`: every source a packet from the wire can have.
    allow: Option<Vec<IpCidr>>,
}

impl Dns {
    /// Binds the DNS port (UDP, and TCP unless `tcp_clients` is 0) on `net`. The limits
    /// were checked, so opening cannot fail but for a port already taken.
    pub fn new<N: Nic>(net: &mut Net<N>, port: u16, l: &NetLimits) -> Result<Self, NewError> {
        let udp_limits = UdpLimits {
            rx_packets: l.udp_rx_packets,
            rx_bytes: l.udp_rx_bytes,
            tx_packets: l.udp_tx_packets,
            tx_bytes: l.udp_tx_bytes,
        };
        let bad = |_| NewError::ZeroLimit("dns_port");
        let udp = net.bind_udp(Owner::Dns, port, &udp_limits).map_err(bad)?;
        let listener = if l.tcp_clients > 0 {
            let limits = ListenLimits {
                connections: l.tcp_clients,
                stream: StreamLimits {
                    rx_buffer: l.tcp_rx_buffer,
                    tx_buffer: l.tcp_tx_buffer,
                    idle_timeout_ns: l.tcp_idle_timeout_ns,
                },
            };
            Some(net.listen_tcp(Owner::Dns, port, &limits).map_err(bad)?)
        } else {
            None
        };
        Ok(Dns {
            port,
            limits: *l,
            udp,
            listener,
            reply_sources: ReplySources {
                q: VecDeque::new(),
                cap: l.udp_reply_sources,
            },
            conns: Vec::new(),
            next_conn: 1,
            upstream_udp: Vec::new(),
            exchanges: Vec::new(),
            departing: Vec::new(),
            pool_wait: VecDeque::new(),
            reply_hops: Vec::new(),
            stats: Stats::default(),
            allow: None,
        })
    }

    /// Takes the datagrams waiting in one of the adapter's UDP sockets: queries on the
    /// DNS port, responses on an upstream port.
    pub fn on_datagrams<N: Nic>(
        &mut self,
        net: &mut Net<N>,
        events: &mut EventQueue,
        h: UdpHandle,
    ) {
        if h == self.udp {
            self.take_queries(net, events);
        } else {
            self.take_responses(net, events, h);
        }
    }

    /// Acts on an event of one of the adapter's streams.
    pub fn on_stream<N: Nic>(
        &mut self,
        net: &mut Net<N>,
        events: &mut EventQueue,
        ev: SocketEvent,
    ) {
        match ev {
            SocketEvent::Accepted { stream, peer, .. } => self.accepted(net, stream, peer),
            SocketEvent::Readable { stream } => {
                if let Some(i) = self.conn_index(stream) {
                    self.read_conn(net, events, i);
                } else if let Some(i) = self.exchange_index(stream) {
                    self.read_exchange(net, events, i);
                }
            }
            SocketEvent::Writable { stream } => {
                if let Some(i) = self.conn_index(stream) {
                    self.flush_conn(net, i);
                    self.maybe_close(net, i);
                } else if let Some(i) = self.exchange_index(stream) {
                    self.send_query(net, i);
                }
            }
            SocketEvent::Connected { stream } => {
                if let Some(i) = self.exchange_index(stream) {
                    self.send_query(net, i);
                }
            }
            SocketEvent::ConnectFailed { stream } => {
                if let Some(i) = self.exchange_index(stream) {
                    self.finish(net, events, i, Err(UpstreamErrorKind::ConnectFailed));
                }
            }
            SocketEvent::Closed { stream, reason } => {
                if let Some(i) = self.conn_index(stream) {
                    self.conn_closed(i, reason);
                } else if let Some(i) = self.exchange_index(stream) {
                    let kind = match reason {
                        crate::CloseReason::Reset => UpstreamErrorKind::Reset,
                        crate::CloseReason::Idle => UpstreamErrorKind::Timeout,
                    };
                    self.finish(net, events, i, Err(kind));
                }
            }
            SocketEvent::Datagram { .. } => {}
        }
    }

    /// Moves queries from the DNS port's UDP socket to the event queue while it has room.
    fn take_queries<N: Nic>(&mut self, net: &mut Net<N>, events: &mut EventQueue) {
        let sources = &mut self.reply_sources;
        let stats = &mut self.stats;
        net.drain_udp(self.udp, events, |data, client, local| {
            if let Some(local) = local {
                sources.remember(client, local);
            }
            stats.udp_queries += 1;
            Event::Query {
                client,
                transport: Transport::Udp,
                data: data.to_vec(),
            }
        });
    }

    /// Queues a UDP reply from the address the query was sent to (if it is remembered
    /// and still ours). A full transmit buffer is put on the wire first.
    fn reply_udp<N: Nic>(
        &mut self,
        net: &mut Net<N>,
        client: SocketAddr,
        data: &[u8],
    ) -> Result<(), ReplyError> {
        let local = self.reply_sources.lookup(client);
        let mut sent = net.send_to(Owner::Dns, self.udp, client, local, data);
        if sent == Err(DatagramError::BufferFull) {
            // A burst of answers: put the queued ones on the wire now instead of
            // refusing this one (a `poll` empties the buffer only once).
            self.stats.udp_reply_flushes += 1;
            net.egress();
            sent = net.send_to(Owner::Dns, self.udp, client, local, data);
        }
        if sent.is_ok()
            && self.reply_hops.len() < REPLY_HOPS
            && let Some(hop) = net.next_hop(client.ip())
            && !self.reply_hops.iter().any(|(h, _)| *h == hop)
        {
            self.reply_hops.push((hop, None));
        }
        sent.map_err(|e| match e {
            DatagramError::TooLarge => ReplyError::TooLarge,
            DatagramError::BufferFull => ReplyError::BufferFull,
            DatagramError::Unaddressable | DatagramError::UnknownSocket => {
                ReplyError::Unaddressable
            }
        })
    }

    /// Times out upstream exchanges and client queries past their deadline, and
    /// datagrams that waited for a socket too long.
    pub fn service_timers<N: Nic>(&mut self, net: &mut Net<N>, events: &mut EventQueue) {
        self.upstream_timers(net, events);
        self.udp_timers(net, events);
        self.query_timers(net);
    }

    /// The earliest deadline of the adapter's own (an upstream exchange's, a held
    /// datagram's, or a client query's that is partly read).
    pub fn deadline(&self) -> Option<u64> {
        [
            self.upstream_deadline(),
            self.udp_deadline(),
            self.query_deadline(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Whether a TCP client at `ip` may connect: [`common::allows`] under the allow
    /// list if one is set, else any source that can come from the wire.
    fn admits(&self, ip: IpAddr) -> bool {
        match &self.allow {
            Some(list) => common::allows(list, ip),
            None => common::is_wire_source(ip),
        }
    }

    /// Whether upstream datagrams or client replies wait to be seen leaving.
    pub fn departing(&self) -> bool {
        !self.departing.is_empty() || !self.reply_hops.is_empty()
    }

    /// After an egress: if replies are still queued on the DNS socket, smoltcp is
    /// waiting for a neighbour's address (and may be inside its interface-wide silence,
    /// in which it asks no one): solicit the next hops of the queued replies, each at
    /// most once per [`upstream::SOLICIT_INTERVAL_NS`]. Once the socket is empty the
    /// list starts again.
    pub(crate) fn replies_after_egress<N: Nic>(&mut self, net: &mut Net<N>) {
        if self.reply_hops.is_empty() {
            return;
        }
        if net.udp_unsent(Owner::Dns, self.udp).unwrap_or(0) == 0 {
            self.reply_hops.clear();
            return;
        }
        let now = net.now;
        for (hop, asked) in &mut self.reply_hops {
            if asked.is_none_or(|t| now.saturating_sub(t) >= upstream::SOLICIT_INTERVAL_NS) {
                net.solicit(*hop);
                *asked = Some(now);
                self.stats.udp_reply_solicits += 1;
            }
        }
    }

    /// Connections the DNS listener carries now.
    pub fn tcp_open<N: Nic>(&self, net: &Net<N>) -> usize {
        self.listener.map_or(0, |l| net.listener_open(l))
    }
}

/// The DNS adapter's calls: answers to clients and queries to upstream servers.
impl<N: Nic> Stack<N> {
    /// Queues `data` as the reply to a query that arrived from `client` over
    /// `transport`.
    ///
    /// UDP replies leave from the address the query was sent to (if it is remembered and
    /// still ours). TCP replies are framed and written in the order of the calls.
    pub fn reply(
        &mut self,
        client: SocketAddr,
        transport: Transport,
        data: &[u8],
    ) -> Result<(), ReplyError> {
        match transport {
            Transport::Udp => {
                let r = self.dns.reply_udp(&mut self.net, client, data);
                match r {
                    Ok(()) => self.dns.stats.udp_replies += 1,
                    Err(_) => self.dns.stats.udp_reply_errors += 1,
                }
                r
            }
            Transport::Tcp { conn } => self.dns.reply_tcp(&mut self.net, conn, data),
        }
    }

    /// Sets the clients the DNS port's TCP listener accepts (`None`: every source a
    /// packet from the wire can have, the default). A connection from elsewhere is
    /// reset as soon as its SYN is seen, before it is an open connection: it takes no
    /// `tcp_clients` slot beyond that moment and no query of it is read
    /// ([`Stats::tcp_refused`]). The app passes the engine's allow list, so that
    /// outsiders cannot hold the slots the engine would refuse them anyway (issue 14,
    /// item 16). UDP queries are judged by the engine, which must answer them REFUSED.
    pub fn set_dns_allow(&mut self, allow: Option<Vec<IpCidr>>) {
        self.dns.allow = allow;
    }

    /// Queues `payload` as one UDP datagram from our local port `local_port` to `dst`,
    /// binding an upstream socket to that port first unless one already is.
    ///
    /// Responses arrive as [`Event::Response`] with `tcp: false` until
    /// [`close_udp`](Self::close_udp) releases the port.
    ///
    /// `Ok` means the stack took the datagram, not that it left: one that cannot leave
    /// at once is held, and the application hears [`Event::UpstreamHeld`] (its time
    /// there is not the server's), then [`Event::UpstreamSent`] when it left or
    /// [`Event::UpstreamError`] when it was given up
    /// ([`UpstreamErrorKind::NoNeighbour`], [`UpstreamErrorKind::NoSocket`]). It is
    /// held while its next hop's ARP/NDP answer is awaited, and while every upstream
    /// socket is bound ([`NetLimits::upstream_udp_wait`](crate::NetLimits::upstream_udp_wait)
    /// of them; past that it is refused with [`SendError::NoFreeSocket`]); at most
    /// [`NetLimits::upstream_hold_ns`](crate::NetLimits::upstream_hold_ns) each.
    pub fn send_udp(
        &mut self,
        local_port: u16,
        dst: SocketAddr,
        payload: &[u8],
    ) -> Result<(), SendError> {
        self.dns
            .send_udp(&mut self.net, &mut self.events, local_port, dst, payload)
    }

    /// Releases the upstream UDP socket bound to `local_port` (datagrams still waiting
    /// in it are dropped, and so is one waiting for a socket from that port), and
    /// hands the socket to the oldest datagram waiting for one. Returns whether one was
    /// bound or waiting.
    pub fn close_udp(&mut self, local_port: u16) -> bool {
        self.dns
            .close_udp(&mut self.net, &mut self.events, local_port)
    }

    /// Opens a TCP connection from our local port `local_port` to `dst`, writes
    /// `payload` with its 2-byte length prefix, reads one framed response, surfaces it as
    /// [`Event::Response`] with `tcp: true`, and closes. A failure after this call
    /// returned `Ok` comes as [`Event::UpstreamError`].
    pub fn send_tcp(
        &mut self,
        local_port: u16,
        dst: SocketAddr,
        payload: &[u8],
    ) -> Result<(), SendError> {
        self.dns.send_tcp(&mut self.net, local_port, dst, payload)
    }
}
