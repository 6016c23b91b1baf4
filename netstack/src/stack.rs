//! [`Stack`]: the poll loop over the interface, the hand-over of what the sockets found
//! to their owners (the DNS adapter or the application), and the event queue.

use alloc::collections::VecDeque;
use alloc::vec::Vec;
use core::net::{Ipv4Addr, Ipv6Addr};

use smoltcp::iface::PollIngressSingleResult;

use crate::dns::Dns;
use crate::net::{Net, instant};
use crate::socket::{self, Owner, SocketEvent};
use crate::{AddrCidr, Event, NetConfig, NetLimits, NewError, Nic, Stats};

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
    pub(crate) fn accept_data(&mut self) -> bool {
        if self.q.len() < self.cap {
            true
        } else {
            self.held_back += 1;
            self.backlog = true;
            false
        }
    }

    /// Queues an event (data events only after [`accept_data`](Self::accept_data)).
    pub(crate) fn push(&mut self, ev: Event) {
        self.q.push_back(ev);
    }

    /// Whether no more data events fit.
    fn is_full(&self) -> bool {
        self.q.len() >= self.cap
    }
}

/// A TCP/IP stack over a [`Nic`]: generic sockets for the application's services
/// ([`crate::socket`]) and the DNS service on top of them ([`crate::dns`]).
///
/// Call order: [`poll`](Self::poll), then drain [`next_event`](Self::next_event), then
/// queue output (the DNS calls [`reply`](Self::reply), [`send_udp`](Self::send_udp),
/// [`send_tcp`](Self::send_tcp); the socket calls [`send_to`](Self::send_to),
/// [`send`](Self::send), …), then [`flush`](Self::flush) or `poll` to put it on the
/// wire, then sleep for at most [`poll_delay`](Self::poll_delay).
pub struct Stack<N: Nic> {
    pub(crate) net: Net<N>,
    pub(crate) dns: Dns,
    pub(crate) events: EventQueue,
    /// Stream events the last service pass found, not yet handed to the streams'
    /// owners: at most a few per socket, drained right after each pass.
    ready: VecDeque<(Owner, SocketEvent)>,
    max_frames_per_poll: usize,
    /// The last poll stopped at the frame budget.
    budget_hit: bool,
    poll_budget_exhausted: u64,
    poll_held_back: u64,
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
        (l.tcp_clients_per_source, "tcp_clients_per_source"),
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
        (l.tcp_query_timeout_ns, "tcp_query_timeout_ns"),
        (l.upstream_tcp_timeout_ns, "upstream_tcp_timeout_ns"),
        (l.upstream_hold_ns, "upstream_hold_ns"),
    ];
    let zero = nonzero.iter().find(|(v, _)| *v == 0).map(|(_, n)| *n);
    match zero.or_else(|| nonzero_times.iter().find(|(v, _)| *v == 0).map(|(_, n)| *n)) {
        Some(name) => Err(NewError::ZeroLimit(name)),
        None => Ok(()),
    }
}

impl<N: Nic> Stack<N> {
    /// Builds the interface over `nic` with `config`'s addresses and routes, the DNS
    /// adapter's UDP socket and one TCP listening socket on `config.dns_port` (more
    /// listening sockets and the upstream sockets are made on demand, up to their caps),
    /// and announces its IPv4 addresses.
    ///
    /// `seed` feeds smoltcp's generator (TCP initial sequence numbers, DHCP transaction
    /// ids): pass fresh entropy on every boot.
    pub fn new(nic: N, config: &NetConfig, seed: u64, now_ns: u64) -> Result<Self, NewError> {
        let limits = config.limits;
        check_limits(&limits)?;
        if config.dns_port == 0 {
            return Err(NewError::ZeroLimit("dns_port"));
        }
        let mut net = Net::new(nic, config, seed, now_ns)?;
        // Sockets are made on first use, up to their caps, and then reused: a boot does
        // not zero ~770 KiB of upstream buffers it may never need (most of the boot time
        // under a slow hypervisor; issue 7), and polls do not walk sockets that were
        // never used.
        let dns = Dns::new(&mut net, config.dns_port, &limits)?;
        if config.dhcp {
            net.start_dhcp();
        }
        // The first query through each gateway must not wait for its discovery, nor
        // lose it to smoltcp's one-per-second silence (issue 14).
        net.solicit_gateways();
        Ok(Stack {
            net,
            dns,
            events: EventQueue {
                q: VecDeque::new(),
                cap: limits.event_queue,
                held_back: 0,
                backlog: false,
            },
            ready: VecDeque::new(),
            max_frames_per_poll: limits.max_frames_per_poll,
            budget_hit: false,
            poll_budget_exhausted: 0,
            poll_held_back: 0,
        })
    }

    /// Sends what was queued since the last poll, reads the waiting frames from the NIC
    /// (up to [`NetLimits::max_frames_per_poll`]), runs timers, moves data between
    /// sockets and the event queue, and sends everything that is ready.
    ///
    /// Returns true if anything happened that the application may want to look at
    /// (events queued, or socket state changed).
    #[must_use = "true: events were queued or a socket changed state"]
    pub fn poll(&mut self, now_ns: u64) -> bool {
        self.net.now = now_ns;
        self.budget_hit = false;
        self.events.backlog = false;
        let ts = instant(now_ns);
        let events_before = self.events.q.len();
        // Our timers first, ahead of smoltcp's own socket timeouts (which fire in
        // egress); the DNS adapter's exchange deadlines before the streams' idle ones.
        self.dns.service_timers(&mut self.net, &mut self.events);
        self.net.service_tcp_timers(&mut self.ready);
        self.dispatch();
        // Replies queued since the last poll leave before more frames are read: on a
        // slow guest a backlog of frames would otherwise hold every answer back until
        // the whole budget is read.
        let mut changed = self.net.tx_queued && self.net.egress();

        let mut budget = self.max_frames_per_poll;
        loop {
            if budget == 0 {
                self.poll_budget_exhausted += 1;
                self.budget_hit = true;
                break;
            }
            if self.events.is_full() {
                // The application has not taken what we have: leave further frames in
                // the NIC's queue (the host's, far deeper than our socket buffers)
                // rather than read them into full sockets, where a burst would be
                // dropped. `poll_delay` is 0 until the queue is drained.
                self.poll_held_back += 1;
                self.events.backlog = true;
                break;
            }
            budget -= 1;
            let net = &mut self.net;
            match net
                .iface
                .poll_ingress_single(ts, &mut net.dev, &mut net.set)
            {
                PollIngressSingleResult::None => break,
                PollIngressSingleResult::PacketProcessed => {}
                PollIngressSingleResult::SocketStateChanged => {
                    changed = true;
                    // Drain as we go, so a burst does not overflow the socket buffers.
                    self.service();
                }
            }
        }
        self.net.iface.poll_maintenance(ts);
        if let Some(ev) = self.net.service_dhcp() {
            if matches!(ev, crate::DhcpEvent::Configured { .. }) {
                self.net.solicit_gateways();
            }
            self.events.push(Event::Dhcp(ev));
        }
        self.service();
        changed |= self.net.egress();
        self.dns.after_egress(&mut self.net, &mut self.events);
        // After egress, so that the reset of an aborted connection went out first.
        self.net.rearm_listeners();
        changed || self.events.q.len() != events_before
    }

    /// Finds what changed on every socket and hands it to the owners at once: the
    /// datagrams waiting in each UDP socket (while the event queue has room), then the
    /// streams' events.
    fn service(&mut self) {
        for i in 0..self.net.udp.len() {
            match self.net.udp_ready(i) {
                Some((Owner::Dns, h)) => self.dns.on_datagrams(&mut self.net, &mut self.events, h),
                Some((Owner::App, h)) => {
                    socket::deliver_datagrams(&mut self.net, &mut self.events, h)
                }
                None => {}
            }
        }
        self.net.service_tcp(&mut self.ready);
        self.dispatch();
    }

    fn dispatch(&mut self) {
        while let Some((owner, ev)) = self.ready.pop_front() {
            match owner {
                Owner::Dns => self.dns.on_stream(&mut self.net, &mut self.events, ev),
                Owner::App => socket::deliver(&mut self.net, &mut self.events, ev),
            }
        }
    }

    /// Sends what was queued since the last [`poll`](Self::poll) (replies, upstream
    /// queries, stream bytes) without reading any frame, at the time of that poll. A main
    /// loop that calls it after each event's replies gets the first answer of a batch
    /// out before the rest of the batch is worked on. Returns whether a socket's state
    /// changed.
    #[must_use = "true: a socket changed state"]
    pub fn flush(&mut self) -> bool {
        // Nothing queued: the last egress left nothing to send, and smoltcp's own timers
        // wait for the next poll.
        let changed = self.net.tx_queued && self.net.egress();
        if self.dns.departing() {
            self.dns.after_egress(&mut self.net, &mut self.events);
        }
        changed
    }

    /// The next event for the application, oldest first.
    pub fn next_event(&mut self) -> Option<Event> {
        let ev = self.events.q.pop_front()?;
        if let Event::Socket(SocketEvent::Readable { stream }) = &ev {
            self.net.set_readable_queued(*stream, false);
        }
        Some(ev)
    }

    /// How long (ns from `now_ns`) the main loop may sleep before calling
    /// [`poll`](Self::poll) again if no frame arrives; `None`: until a frame arrives.
    /// `Some(0)`: call `poll` at once (more frames or data are waiting, or events are
    /// still queued: drain [`next_event`](Self::next_event) before asking).
    pub fn poll_delay(&mut self, now_ns: u64) -> Option<u64> {
        if self.budget_hit || self.events.backlog || !self.events.q.is_empty() {
            return Some(0);
        }
        let best = self.net.poll_delay(now_ns);
        let dns = self.dns.deadline().map(|d| d.saturating_sub(now_ns));
        match (best, dns) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The interface's addresses with prefix lengths (IPv4 first, then IPv6).
    pub fn addresses(&self) -> Vec<AddrCidr> {
        self.net.addresses()
    }

    /// The IPv4 and IPv6 default gateways in use.
    pub fn gateways(&self) -> (Option<Ipv4Addr>, Option<Ipv6Addr>) {
        self.net.gateways()
    }

    /// The interface's MAC address.
    pub fn mac(&self) -> [u8; 6] {
        self.net.dev.nic.mac()
    }

    /// Counters since creation.
    pub fn stats(&self) -> Stats {
        let d = self.net.dev.stats;
        Stats {
            frames_in: d.frames_in,
            frames_out: d.frames_out,
            bytes_in: d.bytes_in,
            bytes_out: d.bytes_out,
            drop_rx_oversize: d.rx_oversize,
            drop_tx_oversize: d.tx_oversize,
            icmp_errors_suppressed: d.icmp_errors_suppressed,
            poll_budget_exhausted: self.poll_budget_exhausted,
            poll_held_back: self.poll_held_back,
            event_queue_full: self.events.held_back,
            tcp_open: self.dns.tcp_open(&self.net) as u64,
            dhcp_configured: self.net.dhcp_configured,
            dhcp_deconfigured: self.net.dhcp_deconfigured,
            neighbour_solicitations: self.net.solicited,
            ..self.dns.stats
        }
    }

    /// DNS listening sockets and outgoing TCP sockets made so far.
    #[cfg(test)]
    pub(crate) fn tcp_sockets(&self) -> (usize, usize) {
        self.net.tcp_sockets(self.dns.listener)
    }

    /// The NIC, for the platform (e.g. to check it for errors).
    pub fn nic(&self) -> &N {
        &self.net.dev.nic
    }

    /// The NIC, mutably.
    pub fn nic_mut(&mut self) -> &mut N {
        &mut self.net.dev.nic
    }
}
