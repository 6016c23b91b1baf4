//! The main loop's services. Each is one concern of the resolver on the network (the
//! DNS server and the block list downloads today; DoT, the HTTP dashboard and the
//! DHCP server later) and each has the same four calls, so the loop does not know
//! what they are:
//! - [`Service::handle`] takes a netstack event, or gives it back if it is not its own;
//! - [`Service::poll_transmit`] moves what the service has queued into the netstack;
//! - [`Service::handle_timeout`] does what is due;
//! - [`Service::poll_timeout`] says when it is next due; the loop sleeps until the
//!   earliest of them and the netstack's.
//!
//! The engine is shared ([`Shared`]), not a service's own: the DNS service feeds it
//! the netstack's DNS traffic, the list service asks it for names and hands it lists,
//! and a dashboard will read its counters.

use alloc::vec::Vec;

use engine::{Client, Engine, Instant, Transmit, Transport};
use netstack::{Event, Stack};

use crate::nic::PlatformNic;

/// What every service works on: the engine and the network stack.
pub struct Shared {
    pub engine: Engine,
    pub stack: Stack<PlatformNic>,
}

/// One service of the main loop (see the module docs). `now` is the platform's
/// monotonic clock in ns.
pub trait Service {
    /// Handles `ev` if it is this service's; otherwise gives it back.
    fn handle(&mut self, sh: &mut Shared, now: u64, ev: Event) -> Option<Event>;
    /// Moves what the service has queued into the netstack (which sends it at the
    /// loop's next flush).
    fn poll_transmit(&mut self, sh: &mut Shared, now: u64);
    /// Does what is due at `now`.
    fn handle_timeout(&mut self, sh: &mut Shared, now: u64);
    /// When the service next needs [`Service::handle_timeout`]; `None`: only on events.
    fn poll_timeout(&self, sh: &Shared, now: u64) -> Option<u64>;
}

/// The DNS server on the netstack's DNS port: client queries and the upstream
/// traffic to the engine, the engine's answers and queries to the netstack.
#[derive(Default)]
pub struct Dns {
    /// Upstream UDP ports the netstack has open for the engine.
    open_udp: Vec<u16>,
}

impl Dns {
    /// Closes the upstream UDP sockets the engine no longer waits on.
    fn release_ports(&mut self, sh: &mut Shared) {
        let Shared { engine, stack } = sh;
        self.open_udp.retain(|&port| {
            if engine.upstream_port_in_use(port) {
                true
            } else {
                stack.close_udp(port);
                false
            }
        });
    }
}

fn upstream_transport(tcp: bool) -> Transport {
    if tcp {
        Transport::Tcp { conn: 0 }
    } else {
        Transport::Udp
    }
}

impl Service for Dns {
    fn handle(&mut self, sh: &mut Shared, now: u64, ev: Event) -> Option<Event> {
        let at = Instant::from_nanos(now);
        let engine = &mut sh.engine;
        match ev {
            Event::Query {
                client,
                transport,
                data,
            } => engine.handle_query(
                at,
                Client {
                    addr: client,
                    transport,
                },
                &data,
            ),
            Event::Response {
                from,
                local_port,
                tcp,
                data,
            } => engine.handle_response(at, from, local_port, upstream_transport(tcp), &data),
            Event::UpstreamError {
                to,
                local_port,
                tcp,
                kind,
            } => {
                log::debug!("upstream {to} from port {local_port}: {kind:?}");
                engine.handle_upstream_error(at, to, local_port, upstream_transport(tcp));
            }
            // The netstack holds a datagram (ARP/NDP, a free socket): its wait is not
            // the server's, so the engine's timeout waits for it to leave.
            Event::UpstreamHeld {
                to,
                local_port,
                reason,
            } => {
                log::debug!("upstream {to} from port {local_port}: held ({reason:?})");
                engine.handle_upstream_held(at, to, local_port);
            }
            Event::UpstreamSent { to, local_port } => {
                engine.handle_upstream_sent(at, to, local_port);
            }
            other => return Some(other),
        }
        None
    }

    fn poll_transmit(&mut self, sh: &mut Shared, now: u64) {
        while let Some(t) = sh.engine.poll_transmit() {
            match t {
                Transmit::ToClient { client, payload } => {
                    if let Err(e) = sh.stack.reply(client.addr, client.transport, &payload) {
                        log::debug!("reply to {}: {e}", client.addr);
                    }
                }
                Transmit::ToServer {
                    server,
                    local_port,
                    transport,
                    payload,
                } => {
                    let tcp = transport.is_tcp();
                    let sent = if tcp {
                        sh.stack.send_tcp(local_port, server, &payload)
                    } else {
                        sh.stack.send_udp(local_port, server, &payload)
                    };
                    match sent {
                        Ok(()) if !tcp => {
                            if !self.open_udp.contains(&local_port) {
                                self.open_udp.push(local_port);
                            }
                        }
                        Ok(()) => {}
                        Err(e) => {
                            log::debug!("query to {server} from port {local_port}: {e}");
                            sh.engine.handle_upstream_error(
                                Instant::from_nanos(now),
                                server,
                                local_port,
                                transport,
                            );
                        }
                    }
                }
            }
        }
    }

    fn handle_timeout(&mut self, sh: &mut Shared, now: u64) {
        sh.engine.handle_timeout(Instant::from_nanos(now));
        self.poll_transmit(sh, now);
        // Once per turn of the loop, not per packet: ports answered meanwhile close.
        self.release_ports(sh);
    }

    fn poll_timeout(&self, sh: &Shared, _now: u64) -> Option<u64> {
        sh.engine.poll_timeout().map(Instant::as_nanos)
    }
}

impl Service for crate::lists::Lists {
    fn handle(&mut self, sh: &mut Shared, now: u64, ev: Event) -> Option<Event> {
        match ev {
            // The block list downloads are the app's only sockets.
            Event::Socket(ev) => {
                self.handle_socket(ev, now, &mut sh.engine, &mut sh.stack);
                None
            }
            other => Some(other),
        }
    }

    /// The engine's answers to the lists' own lookups (their servers' names).
    fn poll_transmit(&mut self, sh: &mut Shared, now: u64) {
        while let Some(r) = sh.engine.poll_lookup() {
            self.handle_lookup(r, now, &mut sh.engine, &mut sh.stack);
        }
    }

    fn handle_timeout(&mut self, sh: &mut Shared, now: u64) {
        if !self.is_empty() {
            crate::lists::Lists::handle_timeout(self, now, &mut sh.engine, &mut sh.stack);
        }
    }

    fn poll_timeout(&self, _sh: &Shared, now: u64) -> Option<u64> {
        crate::lists::Lists::poll_timeout(self, now)
    }
}

/// When the periodic stats lines are due (`--stats-interval`); the loop writes them.
pub struct StatsTimer {
    /// Time between lines in ns; 0: none.
    every: u64,
    /// When the next line is due.
    next: u64,
}

impl StatsTimer {
    /// Lines every `every` ns from `now` (0: never).
    pub fn new(every: u64, now: u64) -> Self {
        StatsTimer {
            every,
            next: now.saturating_add(every),
        }
    }

    /// Whether the lines are due at `now` (then the next time is set).
    pub fn due(&mut self, now: u64) -> bool {
        if self.every == 0 || now < self.next {
            return false;
        }
        self.next = now.saturating_add(self.every);
        true
    }

    /// When the next lines are due.
    pub fn poll_timeout(&self) -> Option<u64> {
        (self.every > 0).then_some(self.next)
    }
}
