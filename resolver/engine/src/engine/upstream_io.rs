//! The engine's upstream side: sending a resolution's question, and the events
//! the I/O layer reports back (responses, errors, held and sent datagrams).

use core::net::SocketAddr;

use crate::io::{Transmit, Transport};
use crate::resolve::Id;
use crate::resolve::delegation::Cause;
use crate::time::Instant;
use crate::timer::Timer;
use crate::upstream::{Dropped, Matched, Pending};

use super::Engine;

impl Engine {
    /// Send resolution `id`'s next question to `server`. False if no port is free or
    /// it did not encode.
    pub(super) fn send(
        &mut self,
        now: Instant,
        id: Id,
        server: SocketAddr,
        transport: Transport,
    ) -> bool {
        let Some(r) = self.resolutions.get_mut(id) else {
            return false;
        };
        let ask = r.next_question();
        let Some(sent) = self
            .upstream
            .send(now, &self.cfg, id, ask, server, transport)
        else {
            return false;
        };
        self.timers.set(Timer::Upstream(sent.port), sent.deadline);
        r.sent_to(server, sent.port);
        self.resolutions.charge(id, 1, 0);
        self.stats.upstream_queries += 1;
        if transport.is_tcp() {
            self.stats.upstream_tcp += 1;
        }
        self.push_tx(Transmit::ToServer {
            server,
            local_port: sent.port,
            transport,
            payload: sent.payload,
        });
        true
    }

    /// Remove a pending upstream query and its timer, and free its slot at the server.
    pub(super) fn take_pending(&mut self, port: u16) -> Option<Pending> {
        self.timers.cancel(Timer::Upstream(port));
        self.upstream.take(port)
    }

    /// A pending query ended without a usable answer (timeout, error, or a retry):
    /// free it and let its resolution try elsewhere.
    pub(super) fn upstream_failed(&mut self, port: u16, cause: Cause) -> Option<Pending> {
        let p = self.take_pending(port)?;
        if cause != Cause::Retry {
            self.upstream.servers.penalize(&p.server, &self.cfg.limits);
            self.stats.timeouts += 1;
        }
        if let Some(r) = self.resolutions.get_mut(p.resolution)
            && r.query_failed(port, cause)
        {
            self.resolutions.push_ready(p.resolution);
        }
        Some(p)
    }

    /// An upstream query could not be delivered (TCP connect failure, ICMP unreachable):
    /// treat it as timed out now and try elsewhere.
    pub fn handle_upstream_error(
        &mut self,
        now: Instant,
        server: SocketAddr,
        local_port: u16,
        transport: Transport,
    ) {
        if self.upstream.is_for(local_port, server, transport) {
            let _ = self.upstream_failed(local_port, Cause::Unreachable);
            self.run(now);
        }
    }

    /// The app's network stack holds the UDP query to `server` from `local_port`: it
    /// has not left (its next hop's ARP/NDP answer, or a free socket, is awaited).
    /// The wait is not the server's: its timeout waits for
    /// [`handle_upstream_sent`](Self::handle_upstream_sent), or
    /// [`upstream::UPSTREAM_HOLD`](crate::UPSTREAM_HOLD) past its timeout.
    pub fn handle_upstream_held(&mut self, now: Instant, server: SocketAddr, local_port: u16) {
        if let Some(at) = self.upstream.held(now, &self.cfg, local_port, server) {
            self.timers.set(Timer::Upstream(local_port), at);
        }
    }

    /// A held UDP query (see [`handle_upstream_held`](Self::handle_upstream_held)) has
    /// left now: its timeout and RTT run from now.
    pub fn handle_upstream_sent(&mut self, now: Instant, server: SocketAddr, local_port: u16) {
        if let Some(at) = self.upstream.departed(now, &self.cfg, local_port, server) {
            self.timers.set(Timer::Upstream(local_port), at);
        }
    }

    /// Handle a message from an upstream server, received on `local_port`.
    pub fn handle_response(
        &mut self,
        now: Instant,
        from: SocketAddr,
        local_port: u16,
        transport: Transport,
        bytes: &[u8],
    ) {
        self.upstream_response(now, from, local_port, transport, bytes);
        self.run(now);
    }

    /// Match a response, then let its resolution react (see `handle_response`).
    pub(super) fn upstream_response(
        &mut self,
        now: Instant,
        from: SocketAddr,
        port: u16,
        transport: Transport,
        bytes: &[u8],
    ) {
        let msg = match self.upstream.on_response(from, port, transport, bytes) {
            Matched::Dropped(why) => {
                let s = &mut self.stats;
                *match why {
                    Dropped::UnknownPort => &mut s.dropped_unknown_port,
                    Dropped::WrongSource => &mut s.dropped_wrong_source,
                    Dropped::QuestionMismatch => &mut s.dropped_question_mismatch,
                    Dropped::Malformed => &mut s.dropped_malformed,
                    Dropped::IdMismatch => &mut s.dropped_id_mismatch,
                    Dropped::CaseMismatch => &mut s.dropped_case_mismatch,
                } += 1;
                return;
            }
            Matched::Retry => {
                self.stats.dropped_case_mismatch += 1;
                if let Some(p) = self.upstream_failed(port, Cause::Retry)
                    && let Some(r) = self.resolutions.get_mut(p.resolution)
                {
                    r.forget_tries(p.server);
                }
                return;
            }
            Matched::Accepted(msg) => msg,
        };
        // Accepted: this query is answered.
        let Some(p) = self.take_pending(port) else {
            return;
        };
        let rtt = now.saturating_duration_since(p.sent_at);
        self.upstream.servers.sample(&p.server, rtt);
        let id = p.resolution;
        let Some((step, _)) = self.with_resolution(now, id, 0, |r, ctx| {
            r.answered(port).then(|| r.on_response(ctx, &p, &msg))
        }) else {
            return;
        };
        self.apply(now, p.resolution, step);
    }
}
