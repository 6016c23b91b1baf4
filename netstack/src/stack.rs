//! [`Stack`]: the smoltcp interface, its sockets, and the bookkeeping around them.

use alloc::collections::VecDeque;
use alloc::vec;
use alloc::vec::Vec;
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use smoltcp::iface::{
    Config, Interface, PollIngressSingleResult, PollResult, SocketHandle, SocketSet,
};
use smoltcp::socket::{dhcpv4, tcp, udp};
use smoltcp::time::{Duration, Instant};
use smoltcp::wire::{
    ArpOperation, ArpPacket, ArpRepr, EthernetAddress, EthernetFrame, EthernetProtocol,
    EthernetRepr, HardwareAddress, IpAddress, IpCidr, IpEndpoint, IpListenEndpoint, Ipv4Address,
    Ipv4Cidr, Ipv6Cidr,
};

use crate::device::{IcmpErrorLimiter, NicDevice};
use crate::framing::{FrameReader, frame};
use crate::{
    AddrCidr, DhcpEvent, Event, NetConfig, NetLimits, NewError, Nic, ReplyError, SendError, Stats,
    Transport, UpstreamErrorKind,
};

const IPV4_UDP_HEADERS: usize = 20 + 8;
const IPV6_UDP_HEADERS: usize = 40 + 8;
/// Rounds of egress after servicing the sockets, at least. Each round sends at most one
/// datagram or segment per socket (smoltcp's `poll_egress`), so [`Stack::egress`] runs
/// as many rounds as the port 53 UDP socket can hold datagrams; the bound keeps `poll`
/// finite whatever the sockets do.
const EGRESS_ROUNDS: usize = 8;

/// Events for the application, with a cap on data events.
pub(crate) struct EventQueue {
    pub(crate) q: VecDeque<Event>,
    cap: usize,
    /// Times data was left in a socket because the queue was full.
    held_back: u64,
    /// Data was left in a socket since the last poll.
    backlog: bool,
}

impl EventQueue {
    /// Whether one more data event fits. Call it only with data in hand (or waiting):
    /// a `false` is counted as data held back.
    fn accept_data(&mut self) -> bool {
        if self.q.len() < self.cap {
            true
        } else {
            self.held_back += 1;
            self.backlog = true;
            false
        }
    }

    fn push(&mut self, ev: Event) {
        self.q.push_back(ev);
    }

    /// Whether no more data events fit.
    fn is_full(&self) -> bool {
        self.q.len() >= self.cap
    }
}

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

/// Moves datagrams from `sock` to `events` while there is room, building each event
/// with `make`.
fn drain_udp(
    sock: &mut udp::Socket,
    events: &mut EventQueue,
    mut make: impl FnMut(&[u8], &udp::UdpMetadata) -> Event,
) {
    while sock.can_recv() && events.accept_data() {
        let Ok((data, meta)) = sock.recv() else {
            return;
        };
        let ev = make(data, &meta);
        events.push(ev);
    }
}

/// A port 53 TCP socket and the client connection it may be carrying.
struct ServerConn {
    handle: SocketHandle,
    /// 0 while listening; the connection's id once a client connected.
    conn: u32,
    peer: Option<SocketAddr>,
    reader: FrameReader,
    /// Queries surfaced and not yet answered.
    pending: usize,
    /// Framed replies not yet (completely) in the socket's buffer, and how much of the
    /// first one is.
    tx: VecDeque<Vec<u8>>,
    tx_off: usize,
    last_activity: u64,
    /// We sent FIN after the idle timeout; the next timeout resets.
    closing: bool,
}

/// An upstream UDP socket, bound to `port` while in use.
struct UpstreamUdp {
    handle: SocketHandle,
    port: Option<u16>,
}

/// An upstream TCP exchange in progress.
struct UpstreamTcpExchange {
    dst: SocketAddr,
    local_port: u16,
    query: Vec<u8>,
    sent: usize,
    reader: FrameReader,
    deadline: u64,
    established: bool,
}

struct UpstreamTcp {
    handle: SocketHandle,
    active: Option<UpstreamTcpExchange>,
}

/// A TCP/IP stack over a [`Nic`], serving port 53 and sending upstream queries.
///
/// Call order: [`poll`](Self::poll), then drain [`next_event`](Self::next_event), then
/// queue output ([`reply`](Self::reply), [`send_udp`](Self::send_udp),
/// [`send_tcp`](Self::send_tcp)), then `poll` again to put it on the wire, then sleep for
/// at most [`poll_delay`](Self::poll_delay).
pub struct Stack<N: Nic> {
    iface: Interface,
    dev: NicDevice<N>,
    sockets: SocketSet<'static>,
    limits: NetLimits,
    /// The port DNS is served on (UDP and TCP).
    dns_port: u16,
    mtu: usize,
    now: u64,
    pub(crate) events: EventQueue,
    /// The last poll stopped at the frame budget.
    budget_hit: bool,
    /// Replies or queries were queued since the last egress.
    tx_queued: bool,
    udp: SocketHandle,
    pub(crate) reply_sources: ReplySources,
    server: Vec<ServerConn>,
    next_conn: u32,
    upstream_udp: Vec<UpstreamUdp>,
    upstream_tcp: Vec<UpstreamTcp>,
    dhcp: Option<SocketHandle>,
    dhcp_leased: bool,
    stats: Stats,
}

fn instant(now_ns: u64) -> Instant {
    Instant::from_micros(i64::try_from(now_ns / 1000).unwrap_or(i64::MAX))
}

fn ns(d: Duration) -> u64 {
    d.total_micros().saturating_mul(1000)
}

fn duration(ns: u64) -> Duration {
    Duration::from_micros(ns / 1000)
}

/// The modified-EUI-64 link-local address for `mac` (RFC 4291 appendix A).
pub(crate) fn link_local(mac: [u8; 6]) -> Ipv6Addr {
    Ipv6Addr::from([
        0xfe,
        0x80,
        0,
        0,
        0,
        0,
        0,
        0,
        mac[0] ^ 0x02,
        mac[1],
        mac[2],
        0xff,
        0xfe,
        mac[3],
        mac[4],
        mac[5],
    ])
}

fn check_limits(l: &NetLimits) -> Result<(), NewError> {
    let nonzero = [
        (l.max_frames_per_poll, "max_frames_per_poll"),
        (l.event_queue, "event_queue"),
        (l.udp_rx_packets, "udp_rx_packets"),
        (l.udp_rx_bytes, "udp_rx_bytes"),
        (l.udp_tx_packets, "udp_tx_packets"),
        (l.udp_tx_bytes, "udp_tx_bytes"),
        (l.tcp_rx_buffer, "tcp_rx_buffer"),
        (l.tcp_tx_buffer, "tcp_tx_buffer"),
        (l.tcp_max_query, "tcp_max_query"),
        (l.tcp_max_pending, "tcp_max_pending"),
        (l.upstream_udp_rx_packets, "upstream_udp_rx_packets"),
        (l.upstream_udp_rx_bytes, "upstream_udp_rx_bytes"),
        (l.upstream_udp_tx_packets, "upstream_udp_tx_packets"),
        (l.upstream_udp_tx_bytes, "upstream_udp_tx_bytes"),
        (l.upstream_tcp_rx_buffer, "upstream_tcp_rx_buffer"),
        (l.upstream_tcp_tx_buffer, "upstream_tcp_tx_buffer"),
        (l.upstream_tcp_max_response, "upstream_tcp_max_response"),
    ];
    let nonzero_times = [
        (l.tcp_idle_timeout_ns, "tcp_idle_timeout_ns"),
        (l.upstream_tcp_timeout_ns, "upstream_tcp_timeout_ns"),
    ];
    let zero = nonzero.iter().find(|(v, _)| *v == 0).map(|(_, n)| *n);
    match zero.or_else(|| nonzero_times.iter().find(|(v, _)| *v == 0).map(|(_, n)| *n)) {
        Some(name) => Err(NewError::ZeroLimit(name)),
        None => Ok(()),
    }
}

fn udp_socket(packets: usize, bytes: usize) -> udp::PacketBuffer<'static> {
    udp::PacketBuffer::new(vec![udp::PacketMetadata::EMPTY; packets], vec![0; bytes])
}

fn tcp_socket(rx: usize, tx: usize, timeout_ns: u64) -> tcp::Socket<'static> {
    let mut s = tcp::Socket::new(
        tcp::SocketBuffer::new(vec![0; rx]),
        tcp::SocketBuffer::new(vec![0; tx]),
    );
    // Bounds retransmissions to a peer that stopped answering.
    s.set_timeout(Some(duration(timeout_ns)));
    s.set_nagle_enabled(false);
    s
}

/// A port 53 listener, unless `tcp_clients` is 0.
fn new_listener(
    sockets: &mut SocketSet<'static>,
    limits: &NetLimits,
    port: u16,
    now: u64,
) -> Option<ServerConn> {
    if limits.tcp_clients == 0 {
        return None;
    }
    let mut s = tcp_socket(
        limits.tcp_rx_buffer,
        limits.tcp_tx_buffer,
        limits.tcp_idle_timeout_ns,
    );
    let _ = s.listen(port);
    Some(ServerConn {
        handle: sockets.add(s),
        conn: 0,
        peer: None,
        reader: FrameReader::new(limits.tcp_max_query),
        pending: 0,
        tx: VecDeque::new(),
        tx_off: 0,
        last_activity: now,
        closing: false,
    })
}

impl<N: Nic> Stack<N> {
    /// Builds the interface over `nic` with `config`'s addresses and routes, the port 53
    /// UDP socket and one port 53 TCP listener (more listeners and the upstream sockets
    /// are made on demand, up to their caps), and announces its IPv4 addresses.
    ///
    /// `seed` feeds smoltcp's generator (TCP initial sequence numbers, DHCP transaction
    /// ids): pass fresh entropy on every boot.
    pub fn new(nic: N, config: &NetConfig, seed: u64, now_ns: u64) -> Result<Self, NewError> {
        let limits = config.limits;
        check_limits(&limits)?;
        let dns_port = config.dns_port;
        if dns_port == 0 {
            return Err(NewError::ZeroLimit("dns_port"));
        }
        let mac = nic.mac();
        let eth = EthernetAddress(mac);
        if !eth.is_unicast() {
            return Err(NewError::BadMac(mac));
        }
        let mtu = nic.mtu();
        if !(1280..=9216).contains(&mtu) {
            return Err(NewError::BadMtu(mtu));
        }
        let ipv4 = if config.dhcp { None } else { config.ipv4 };
        if let Some((_, p)) = ipv4
            && p > 32
        {
            return Err(NewError::BadPrefix(p));
        }
        if let Some((_, p)) = config.ipv6
            && p > 128
        {
            return Err(NewError::BadPrefix(p));
        }

        let icmp = IcmpErrorLimiter::new(limits.icmp_errors_per_sec, limits.icmp_error_burst);
        let mut dev = NicDevice::new(nic, mtu, icmp);
        let mut cfg = Config::new(HardwareAddress::Ethernet(eth));
        cfg.random_seed = seed;
        let mut iface = Interface::new(cfg, &mut dev, instant(now_ns));
        iface.update_ip_addrs(|addrs| {
            // Capacity is 3 (smoltcp feature iface-max-addr-count-3): exactly these.
            if let Some((a, p)) = ipv4 {
                let _ = addrs.push(IpCidr::Ipv4(Ipv4Cidr::new(a, p)));
            }
            if let Some((a, p)) = config.ipv6 {
                let _ = addrs.push(IpCidr::Ipv6(Ipv6Cidr::new(a, p)));
            }
            let _ = addrs.push(IpCidr::Ipv6(Ipv6Cidr::new(link_local(mac), 64)));
        });
        if let (Some(gw), false) = (config.ipv4_gateway, config.dhcp) {
            let _ = iface.routes_mut().add_default_ipv4_route(gw);
        }
        if let Some(gw) = config.ipv6_gateway {
            let _ = iface.routes_mut().add_default_ipv6_route(gw);
        }

        let mut sockets = SocketSet::new(Vec::new());
        let mut udp = udp::Socket::new(
            udp_socket(limits.udp_rx_packets, limits.udp_rx_bytes),
            udp_socket(limits.udp_tx_packets, limits.udp_tx_bytes),
        );
        // The port is not 0, so binding cannot fail.
        let _ = udp.bind(dns_port);
        let udp = sockets.add(udp);

        // Port 53 TCP sockets are made on demand too, up to `tcp_clients`, and then
        // reused: one listener waits from the start, and `service_tcp_server` adds the
        // next as soon as a client takes it (every frame is serviced before the next one
        // is read, so a burst of SYNs still finds a listener until the cap). Upstream TCP
        // sockets are made on first use, up to `upstream_tcp_sockets`.
        let server = new_listener(&mut sockets, &limits, dns_port, now_ns)
            .into_iter()
            .collect();
        // Upstream UDP sockets are made on first use, up to `upstream_udp_sockets`, and
        // then reused: the same bound, but a boot does not zero ~770 KiB of buffers it
        // may never need (most of the boot time under a slow hypervisor; issue 7), and
        // polls do not walk sockets that were never used.
        let upstream_udp = Vec::new();
        let upstream_tcp = Vec::new();
        let dhcp = config.dhcp.then(|| sockets.add(dhcpv4::Socket::new()));

        let mut stack = Stack {
            iface,
            dev,
            sockets,
            limits,
            dns_port,
            mtu,
            now: now_ns,
            events: EventQueue {
                q: VecDeque::new(),
                cap: limits.event_queue,
                held_back: 0,
                backlog: false,
            },
            budget_hit: false,
            tx_queued: false,
            udp,
            reply_sources: ReplySources {
                q: VecDeque::new(),
                cap: limits.udp_reply_sources,
            },
            server,
            next_conn: 1,
            upstream_udp,
            upstream_tcp,
            dhcp,
            dhcp_leased: false,
            stats: Stats::default(),
        };
        stack.announce_ipv4();
        Ok(stack)
    }

    /// Sends what was queued since the last poll, reads the waiting frames from the NIC
    /// (up to [`NetLimits::max_frames_per_poll`]), runs timers, moves data between
    /// sockets and the event queue, and sends everything that is ready.
    ///
    /// Returns true if anything happened that the application may want to look at
    /// (events queued, or socket state changed).
    #[must_use = "true: events were queued or a socket changed state"]
    pub fn poll(&mut self, now_ns: u64) -> bool {
        self.now = now_ns;
        self.budget_hit = false;
        self.events.backlog = false;
        let ts = instant(now_ns);
        let events_before = self.events.q.len();
        // Our timers first, ahead of smoltcp's own socket timeouts (which fire in egress).
        self.service_timers();
        // Replies queued since the last poll leave before more frames are read: on a
        // slow guest a backlog of frames would otherwise hold every answer back until
        // the whole budget is read.
        let mut changed = self.tx_queued && self.egress(ts);

        let mut budget = self.limits.max_frames_per_poll;
        loop {
            if budget == 0 {
                self.stats.poll_budget_exhausted += 1;
                self.budget_hit = true;
                break;
            }
            if self.events.is_full() {
                // The application has not taken what we have: leave further frames in
                // the NIC's queue (the host's, far deeper than our socket buffers)
                // rather than read them into full sockets, where a burst would be
                // dropped. `poll_delay` is 0 until the queue is drained.
                self.stats.poll_held_back += 1;
                self.events.backlog = true;
                break;
            }
            budget -= 1;
            match self
                .iface
                .poll_ingress_single(ts, &mut self.dev, &mut self.sockets)
            {
                PollIngressSingleResult::None => break,
                PollIngressSingleResult::PacketProcessed => {}
                PollIngressSingleResult::SocketStateChanged => {
                    changed = true;
                    // Drain as we go, so a burst does not overflow the socket buffers.
                    self.service_data();
                }
            }
        }
        self.iface.poll_maintenance(ts);
        self.service_dhcp();
        self.service_data();
        changed |= self.egress(ts);
        // After egress, so that the reset of an aborted connection went out first.
        self.rearm_listeners();
        changed || self.events.q.len() != events_before
    }

    /// Sends what was queued since the last [`poll`](Self::poll) (replies, upstream
    /// queries) without reading any frame, at the time of that poll. A main loop that
    /// calls it after each event's replies gets the first answer of a batch out before
    /// the rest of the batch is worked on. Returns whether a socket's state changed.
    #[must_use = "true: a socket changed state"]
    pub fn flush(&mut self) -> bool {
        // Nothing queued: the last egress left nothing to send, and smoltcp's own timers
        // wait for the next poll.
        self.tx_queued && self.egress(instant(self.now))
    }

    /// Puts what the sockets have queued on the wire: rounds of egress until none sends
    /// anything, at most enough rounds to empty the port 53 UDP socket. Returns whether
    /// a socket's state changed.
    fn egress(&mut self, ts: Instant) -> bool {
        self.tx_queued = false;
        let mut changed = false;
        for _ in 0..EGRESS_ROUNDS.max(self.limits.udp_tx_packets) {
            match self.iface.poll_egress(ts, &mut self.dev, &mut self.sockets) {
                PollResult::None => break,
                PollResult::SocketStateChanged => changed = true,
            }
        }
        changed
    }

    /// The next event for the application, oldest first.
    pub fn next_event(&mut self) -> Option<Event> {
        self.events.q.pop_front()
    }

    /// How long (ns from `now_ns`) the main loop may sleep before calling
    /// [`poll`](Self::poll) again if no frame arrives; `None`: until a frame arrives.
    /// `Some(0)`: call `poll` at once (more frames or data are waiting, or events are
    /// still queued: drain [`next_event`](Self::next_event) before asking).
    pub fn poll_delay(&mut self, now_ns: u64) -> Option<u64> {
        if self.budget_hit || self.events.backlog || !self.events.q.is_empty() {
            return Some(0);
        }
        let mut best = self
            .iface
            .poll_delay(instant(now_ns), &self.sockets)
            .map(ns);
        let mut consider = |deadline: u64| {
            let d = deadline.saturating_sub(now_ns);
            best = Some(best.map_or(d, |b| b.min(d)));
        };
        for c in &self.server {
            if c.conn != 0 {
                consider(
                    c.last_activity
                        .saturating_add(self.limits.tcp_idle_timeout_ns),
                );
            }
        }
        for u in &self.upstream_tcp {
            if let Some(x) = &u.active {
                consider(x.deadline);
            }
        }
        best
    }

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
                let r = self.reply_udp(client, data);
                match r {
                    Ok(()) => {
                        self.stats.udp_replies += 1;
                        self.tx_queued = true;
                    }
                    Err(_) => self.stats.udp_reply_errors += 1,
                }
                r
            }
            Transport::Tcp { conn } => self.reply_tcp(conn, data),
        }
    }

    fn max_udp_payload(&self, dst: &IpAddr) -> usize {
        match dst {
            IpAddr::V4(_) => self.mtu - IPV4_UDP_HEADERS,
            IpAddr::V6(_) => self.mtu - IPV6_UDP_HEADERS,
        }
    }

    fn reply_udp(&mut self, client: SocketAddr, data: &[u8]) -> Result<(), ReplyError> {
        if data.len() > self.max_udp_payload(&client.ip()) {
            return Err(ReplyError::TooLarge);
        }
        let local = self
            .reply_sources
            .lookup(client)
            .map(IpAddress::from)
            .filter(|l| self.iface.has_ip_addr(*l));
        let mut meta = udp::UdpMetadata::from(IpEndpoint::from(client));
        meta.local_address = local;
        let sock = self.sockets.get_mut::<udp::Socket>(self.udp);
        let mut sent = sock.send_slice(data, meta);
        if sent == Err(udp::SendError::BufferFull) {
            // A burst of answers: put the queued ones on the wire now instead of
            // refusing this one (a `poll` empties the buffer only once).
            self.stats.udp_reply_flushes += 1;
            self.egress(instant(self.now));
            let sock = self.sockets.get_mut::<udp::Socket>(self.udp);
            sent = sock.send_slice(data, meta);
        }
        sent.map_err(|e| match e {
            udp::SendError::Unaddressable => ReplyError::Unaddressable,
            udp::SendError::BufferFull => ReplyError::BufferFull,
        })
    }

    fn reply_tcp(&mut self, conn: u32, data: &[u8]) -> Result<(), ReplyError> {
        let max_pending = self.limits.tcp_max_pending;
        let Some(c) = self.server.iter_mut().find(|c| c.conn == conn && conn != 0) else {
            return Err(ReplyError::UnknownConnection);
        };
        if c.closing {
            return Err(ReplyError::UnknownConnection);
        }
        let framed = frame(data).ok_or(ReplyError::TooLarge)?;
        if c.tx.len() >= max_pending {
            return Err(ReplyError::QueueFull);
        }
        c.pending = c.pending.saturating_sub(1);
        c.tx.push_back(framed);
        self.stats.tcp_replies += 1;
        self.tx_queued = true;
        let sock = self.sockets.get_mut::<tcp::Socket>(c.handle);
        flush_tx(
            sock,
            &mut c.tx,
            &mut c.tx_off,
            &mut c.last_activity,
            self.now,
        );
        Ok(())
    }

    /// Queues `payload` as one UDP datagram from our local port `local_port` to `dst`,
    /// binding a free upstream socket to that port first unless one already is.
    ///
    /// Responses arrive as [`Event::Response`] with `tcp: false` until
    /// [`close_udp`](Self::close_udp) releases the port.
    pub fn send_udp(
        &mut self,
        local_port: u16,
        dst: SocketAddr,
        payload: &[u8],
    ) -> Result<(), SendError> {
        if local_port == 0 || local_port == self.dns_port {
            return Err(SendError::InvalidPort);
        }
        if payload.len() > self.max_udp_payload(&dst.ip()) {
            return Err(SendError::TooLarge);
        }
        let idx = match self
            .upstream_udp
            .iter()
            .position(|u| u.port == Some(local_port))
        {
            Some(i) => i,
            None => {
                let free = self.upstream_udp.iter().position(|u| u.port.is_none());
                let Some(i) = free.or_else(|| self.new_upstream_udp()) else {
                    self.stats.upstream_no_socket += 1;
                    return Err(SendError::NoFreeSocket);
                };
                let u = &mut self.upstream_udp[i];
                let sock = self.sockets.get_mut::<udp::Socket>(u.handle);
                sock.bind(local_port).map_err(|_| SendError::InvalidPort)?;
                u.port = Some(local_port);
                i
            }
        };
        let sock = self
            .sockets
            .get_mut::<udp::Socket>(self.upstream_udp[idx].handle);
        sock.send_slice(payload, IpEndpoint::from(dst))
            .map_err(|e| match e {
                udp::SendError::Unaddressable => SendError::Unaddressable,
                udp::SendError::BufferFull => SendError::BufferFull,
            })?;
        self.stats.upstream_udp_sent += 1;
        self.tx_queued = true;
        Ok(())
    }

    /// Adds one socket to the upstream UDP pool unless it is full; returns its index.
    fn new_upstream_udp(&mut self) -> Option<usize> {
        let l = &self.limits;
        if self.upstream_udp.len() >= l.upstream_udp_sockets {
            return None;
        }
        let sock = udp::Socket::new(
            udp_socket(l.upstream_udp_rx_packets, l.upstream_udp_rx_bytes),
            udp_socket(l.upstream_udp_tx_packets, l.upstream_udp_tx_bytes),
        );
        self.upstream_udp.push(UpstreamUdp {
            handle: self.sockets.add(sock),
            port: None,
        });
        Some(self.upstream_udp.len() - 1)
    }

    /// Adds one socket to the upstream TCP pool unless it is full; returns its index.
    fn new_upstream_tcp(&mut self) -> Option<usize> {
        let l = &self.limits;
        if self.upstream_tcp.len() >= l.upstream_tcp_sockets {
            return None;
        }
        let sock = tcp_socket(
            l.upstream_tcp_rx_buffer,
            l.upstream_tcp_tx_buffer,
            l.upstream_tcp_timeout_ns,
        );
        self.upstream_tcp.push(UpstreamTcp {
            handle: self.sockets.add(sock),
            active: None,
        });
        Some(self.upstream_tcp.len() - 1)
    }

    /// Releases the upstream UDP socket bound to `local_port` (datagrams still waiting
    /// in it are dropped). Returns whether one was bound.
    pub fn close_udp(&mut self, local_port: u16) -> bool {
        match self
            .upstream_udp
            .iter_mut()
            .find(|u| u.port == Some(local_port))
        {
            Some(u) => {
                self.sockets.get_mut::<udp::Socket>(u.handle).close();
                u.port = None;
                true
            }
            None => false,
        }
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
        if local_port == 0 || local_port == self.dns_port {
            return Err(SendError::InvalidPort);
        }
        let query = frame(payload).ok_or(SendError::TooLarge)?;
        if self.upstream_tcp.iter().any(|u| {
            u.active
                .as_ref()
                .is_some_and(|x| x.local_port == local_port)
        }) {
            return Err(SendError::PortInUse);
        }
        let free = self.upstream_tcp.iter().position(|u| u.active.is_none());
        let Some(i) = free.or_else(|| self.new_upstream_tcp()) else {
            self.stats.upstream_no_socket += 1;
            return Err(SendError::NoFreeSocket);
        };
        let u = &mut self.upstream_tcp[i];
        let sock = self.sockets.get_mut::<tcp::Socket>(u.handle);
        // A socket lingering in TIME-WAIT is not open and may be reused.
        if sock.is_open() {
            sock.abort();
        }
        sock.connect(
            self.iface.context(),
            IpEndpoint::from(dst),
            IpListenEndpoint::from(local_port),
        )
        .map_err(|_| SendError::Unaddressable)?;
        u.active = Some(UpstreamTcpExchange {
            dst,
            local_port,
            query,
            sent: 0,
            reader: FrameReader::new(self.limits.upstream_tcp_max_response),
            deadline: self.now.saturating_add(self.limits.upstream_tcp_timeout_ns),
            established: false,
        });
        self.stats.upstream_tcp_started += 1;
        self.tx_queued = true;
        Ok(())
    }

    /// The interface's addresses with prefix lengths (IPv4 first, then IPv6).
    pub fn addresses(&self) -> Vec<AddrCidr> {
        self.iface
            .ip_addrs()
            .iter()
            .map(|c| (IpAddr::from(c.address()), c.prefix_len()))
            .collect()
    }

    /// The IPv4 and IPv6 default gateways in use.
    pub fn gateways(&self) -> (Option<Ipv4Addr>, Option<Ipv6Addr>) {
        let routes = self.iface.routes();
        let v4 = routes
            .get_default_ipv4_route()
            .and_then(|r| match r.via_router {
                IpAddress::Ipv4(a) => Some(a),
                IpAddress::Ipv6(_) => None,
            });
        let v6 = routes
            .get_default_ipv6_route()
            .and_then(|r| match r.via_router {
                IpAddress::Ipv6(a) => Some(a),
                IpAddress::Ipv4(_) => None,
            });
        (v4, v6)
    }

    /// The interface's MAC address.
    pub fn mac(&self) -> [u8; 6] {
        self.dev.nic.mac()
    }

    /// Counters since creation.
    pub fn stats(&self) -> Stats {
        let d = self.dev.stats;
        Stats {
            frames_in: d.frames_in,
            frames_out: d.frames_out,
            bytes_in: d.bytes_in,
            bytes_out: d.bytes_out,
            drop_rx_oversize: d.rx_oversize,
            drop_tx_oversize: d.tx_oversize,
            icmp_errors_suppressed: d.icmp_errors_suppressed,
            event_queue_full: self.events.held_back,
            ..self.stats
        }
    }

    /// Port 53 TCP sockets and upstream TCP sockets made so far.
    #[cfg(test)]
    pub(crate) fn tcp_sockets(&self) -> (usize, usize) {
        (self.server.len(), self.upstream_tcp.len())
    }

    /// The NIC, for the platform (e.g. to check it for errors).
    pub fn nic(&self) -> &N {
        &self.dev.nic
    }

    /// The NIC, mutably.
    pub fn nic_mut(&mut self) -> &mut N {
        &mut self.dev.nic
    }

    fn service_dhcp(&mut self) {
        let Some(h) = self.dhcp else { return };
        let ev = match self.sockets.get_mut::<dhcpv4::Socket>(h).poll() {
            None => return,
            Some(dhcpv4::Event::Deconfigured) => None,
            Some(dhcpv4::Event::Configured(c)) => Some((
                c.address,
                c.router,
                c.dns_servers.iter().copied().collect::<Vec<_>>(),
                c.server.address,
            )),
        };
        match ev {
            Some((cidr, router, dns_servers, server)) => {
                self.iface.update_ip_addrs(|addrs| {
                    addrs.retain(|a| !matches!(a, IpCidr::Ipv4(_)));
                    let _ = addrs.insert(0, IpCidr::Ipv4(cidr));
                });
                self.announce_ipv4();
                match router {
                    Some(r) => {
                        let _ = self.iface.routes_mut().add_default_ipv4_route(r);
                    }
                    None => {
                        self.iface.routes_mut().remove_default_ipv4_route();
                    }
                }
                self.dhcp_leased = true;
                log::info!("dhcp: lease {cidr} router {router:?} from {server}");
                self.stats.dhcp_configured += 1;
                self.events.push(Event::Dhcp(DhcpEvent::Configured {
                    address: cidr.address(),
                    prefix_len: cidr.prefix_len(),
                    router,
                    dns_servers,
                    server,
                }));
            }
            // smoltcp reports "deconfigured" once when the client starts; only the loss
            // of a lease we had is news.
            None if !self.dhcp_leased => {}
            None => {
                self.dhcp_leased = false;
                self.iface
                    .update_ip_addrs(|addrs| addrs.retain(|a| !matches!(a, IpCidr::Ipv4(_))));
                self.iface.routes_mut().remove_default_ipv4_route();
                log::info!("dhcp: lease lost");
                self.stats.dhcp_deconfigured += 1;
                self.events.push(Event::Dhcp(DhcpEvent::Deconfigured));
            }
        }
    }

    /// Announces each IPv4 address with a gratuitous ARP request (RFC 5227 §2.3): a
    /// neighbour that has an entry for the address updates it at once. After a reboot
    /// with another MAC (the hvt tenders pick a random one), the router and clients would
    /// otherwise keep sending to the old one until their entry goes stale; and clients
    /// whose resolution of the address timed out while we booted send at once.
    fn announce_ipv4(&mut self) {
        let mac = EthernetAddress(self.dev.nic.mac());
        let mut v4 = [Ipv4Address::UNSPECIFIED; 3];
        let mut n = 0;
        for c in self.iface.ip_addrs() {
            if let (IpAddress::Ipv4(a), Some(slot)) = (c.address(), v4.get_mut(n)) {
                *slot = a;
                n += 1;
            }
        }
        for &addr in v4.iter().take(n) {
            // 14 bytes of Ethernet header, 28 of ARP: exactly what the reprs emit.
            let mut frame = [0u8; 42];
            let (eth, arp) = frame.split_at_mut(14);
            EthernetRepr {
                src_addr: mac,
                dst_addr: EthernetAddress::BROADCAST,
                ethertype: EthernetProtocol::Arp,
            }
            .emit(&mut EthernetFrame::new_unchecked(eth));
            ArpRepr::EthernetIpv4 {
                operation: ArpOperation::Request,
                source_hardware_addr: mac,
                source_protocol_addr: addr,
                target_hardware_addr: EthernetAddress([0; 6]),
                target_protocol_addr: addr,
            }
            .emit(&mut ArpPacket::new_unchecked(arp));
            self.dev.nic.send(&frame);
            self.dev.stats.frames_out += 1;
            self.dev.stats.bytes_out += frame.len() as u64;
        }
    }

    /// Moves received data from all sockets to the event queue, and queued replies and
    /// queries into the sockets.
    fn service_data(&mut self) {
        self.service_udp_server();
        self.service_tcp_server();
        self.service_upstream_udp();
        self.service_upstream_tcp();
    }

    fn service_udp_server(&mut self) {
        let sources = &mut self.reply_sources;
        let stats = &mut self.stats;
        let sock = self.sockets.get_mut::<udp::Socket>(self.udp);
        drain_udp(sock, &mut self.events, |data, meta| {
            let client = SocketAddr::from(meta.endpoint);
            if let Some(local) = meta.local_address {
                sources.remember(client, IpAddr::from(local));
            }
            stats.udp_queries += 1;
            Event::Query {
                client,
                transport: Transport::Udp,
                data: data.to_vec(),
            }
        });
    }

    fn service_tcp_server(&mut self) {
        let now = self.now;
        self.spare_listener();
        for i in 0..self.server.len() {
            let c = &mut self.server[i];
            let sock = self.sockets.get_mut::<tcp::Socket>(c.handle);
            if c.conn == 0 {
                if sock.is_listening() || !sock.is_open() {
                    continue;
                }
                // A client connected to this listener.
                c.conn = self.next_conn;
                self.next_conn = self.next_conn.wrapping_add(1).max(1);
                c.peer = sock.remote_endpoint().map(SocketAddr::from);
                c.last_activity = now;
                c.closing = false;
                self.stats.tcp_accepted += 1;
                self.stats.tcp_open += 1;
            }
            if !sock.is_open() {
                end_conn(c, &mut self.stats);
                continue;
            }
            flush_tx(sock, &mut c.tx, &mut c.tx_off, &mut c.last_activity, now);
            // Read whole queries while the application keeps up.
            let mut bad = false;
            while sock.can_recv()
                && c.pending < self.limits.tcp_max_pending
                && !c.closing
                && self.events.accept_data()
            {
                let reader = &mut c.reader;
                let r = sock.recv(|buf| reader.feed(buf));
                match r {
                    Ok(Ok(Some(data))) => {
                        c.last_activity = now;
                        c.pending += 1;
                        self.stats.tcp_queries += 1;
                        let Some(client) = c.peer else { continue };
                        self.events.push(Event::Query {
                            client,
                            transport: Transport::Tcp { conn: c.conn },
                            data,
                        });
                    }
                    Ok(Ok(None)) => c.last_activity = now,
                    Ok(Err(_)) => {
                        bad = true;
                        break;
                    }
                    Err(_) => break,
                }
            }
            if bad {
                log::debug!("tcp conn {}: bad length prefix, reset", c.conn);
                self.stats.tcp_closed_bad_frame += 1;
                sock.abort();
                end_conn(c, &mut self.stats);
                continue;
            }
            // The client finished sending and got all its answers: close our side.
            if !sock.may_recv() && c.pending == 0 && c.tx.is_empty() && sock.may_send() {
                sock.close();
            }
        }
    }

    /// Makes sure a listener waits for the next client unless `tcp_clients` are made:
    /// adds one when every port 53 socket carries a connection.
    fn spare_listener(&mut self) {
        if self.server.len() >= self.limits.tcp_clients {
            return;
        }
        let sockets = &mut self.sockets;
        let waiting = self
            .server
            .iter()
            .any(|c| c.conn == 0 && sockets.get_mut::<tcp::Socket>(c.handle).is_listening());
        if !waiting
            && let Some(c) = new_listener(&mut self.sockets, &self.limits, self.dns_port, self.now)
        {
            self.server.push(c);
        }
    }

    fn service_upstream_udp(&mut self) {
        for u in &self.upstream_udp {
            let Some(local_port) = u.port else { continue };
            let stats = &mut self.stats;
            let sock = self.sockets.get_mut::<udp::Socket>(u.handle);
            drain_udp(sock, &mut self.events, |data, meta| {
                stats.upstream_udp_responses += 1;
                Event::Response {
                    from: SocketAddr::from(meta.endpoint),
                    local_port,
                    tcp: false,
                    data: data.to_vec(),
                }
            });
        }
    }

    fn service_upstream_tcp(&mut self) {
        for i in 0..self.upstream_tcp.len() {
            let u = &mut self.upstream_tcp[i];
            let Some(x) = u.active.as_mut() else { continue };
            let sock = self.sockets.get_mut::<tcp::Socket>(u.handle);
            if sock.may_send() || sock.may_recv() {
                x.established = true;
            }
            if sock.may_send()
                && let Some(rest) = x.query.get(x.sent..)
                && !rest.is_empty()
                && let Ok(n) = sock.send_slice(rest)
            {
                x.sent += n;
            }
            let mut outcome: Option<Result<Vec<u8>, UpstreamErrorKind>> = None;
            while sock.can_recv() && self.events.accept_data() {
                let reader = &mut x.reader;
                match sock.recv(|buf| reader.feed(buf)) {
                    Ok(Ok(Some(data))) => {
                        outcome = Some(Ok(data));
                        break;
                    }
                    Ok(Ok(None)) => {}
                    Ok(Err(_)) => {
                        outcome = Some(Err(UpstreamErrorKind::BadFrame));
                        break;
                    }
                    Err(_) => break,
                }
            }
            if outcome.is_none() {
                if !sock.is_open() {
                    outcome = Some(Err(if x.established {
                        UpstreamErrorKind::Reset
                    } else {
                        UpstreamErrorKind::ConnectFailed
                    }));
                } else if x.established && !sock.may_recv() && !sock.can_recv() {
                    // The server closed its side without a whole response.
                    outcome = Some(Err(UpstreamErrorKind::Reset));
                }
            }
            let Some(outcome) = outcome else { continue };
            let (dst, local_port) = (x.dst, x.local_port);
            u.active = None;
            match outcome {
                Ok(data) => {
                    sock.close();
                    self.stats.upstream_tcp_responses += 1;
                    self.events.push(Event::Response {
                        from: dst,
                        local_port,
                        tcp: true,
                        data,
                    });
                }
                Err(kind) => {
                    sock.abort();
                    self.upstream_failed(dst, local_port, kind);
                }
            }
        }
    }

    fn upstream_failed(&mut self, to: SocketAddr, local_port: u16, kind: UpstreamErrorKind) {
        log::debug!("upstream tcp {to} from port {local_port}: {kind:?}");
        self.stats.upstream_tcp_errors += 1;
        self.events.push(Event::UpstreamError {
            to,
            local_port,
            tcp: true,
            kind,
        });
    }

    fn service_timers(&mut self) {
        let now = self.now;
        let idle = self.limits.tcp_idle_timeout_ns;
        for c in self.server.iter_mut().filter(|c| c.conn != 0) {
            if now.saturating_sub(c.last_activity) < idle {
                continue;
            }
            let sock = self.sockets.get_mut::<tcp::Socket>(c.handle);
            if c.closing {
                sock.abort();
                end_conn(c, &mut self.stats);
            } else {
                log::debug!("tcp conn {}: idle, closing", c.conn);
                self.stats.tcp_closed_idle += 1;
                sock.close();
                c.closing = true;
                c.last_activity = now;
            }
        }
        for i in 0..self.upstream_tcp.len() {
            let u = &mut self.upstream_tcp[i];
            let Some(x) = &u.active else { continue };
            if now < x.deadline {
                continue;
            }
            let (dst, local_port) = (x.dst, x.local_port);
            self.sockets.get_mut::<tcp::Socket>(u.handle).abort();
            u.active = None;
            self.upstream_failed(dst, local_port, UpstreamErrorKind::Timeout);
        }
    }

    fn rearm_listeners(&mut self) {
        for c in &mut self.server {
            let sock = self.sockets.get_mut::<tcp::Socket>(c.handle);
            if !sock.is_open() {
                if c.conn != 0 {
                    end_conn(c, &mut self.stats);
                }
                let _ = sock.listen(self.dns_port);
            }
        }
    }
}

/// Forgets the connection a listener carried; the socket is re-armed after egress.
fn end_conn(c: &mut ServerConn, stats: &mut Stats) {
    if c.conn != 0 {
        stats.tcp_open = stats.tcp_open.saturating_sub(1);
    }
    c.conn = 0;
    c.peer = None;
    c.reader.reset();
    c.pending = 0;
    c.tx.clear();
    c.tx_off = 0;
    c.closing = false;
}

/// Writes as much of the queued replies as the socket takes.
fn flush_tx(
    sock: &mut tcp::Socket,
    tx: &mut VecDeque<Vec<u8>>,
    off: &mut usize,
    last: &mut u64,
    now: u64,
) {
    while let Some(front) = tx.front() {
        if !sock.can_send() {
            return;
        }
        let Some(rest) = front.get(*off..) else {
            tx.pop_front();
            *off = 0;
            continue;
        };
        match sock.send_slice(rest) {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                *last = now;
                *off += n;
                if *off >= front.len() {
                    tx.pop_front();
                    *off = 0;
                }
            }
        }
    }
}
