//! DNS over TCP for clients (RFC 7766): each accepted stream carries 2-byte-framed
//! queries, pipelined up to `tcp_max_pending` unanswered; replies are framed and
//! written in the order they are given.

use alloc::collections::VecDeque;
use alloc::vec::Vec;
use core::net::SocketAddr;

use super::framing::{FrameReader, frame};
use super::{Dns, ReplyError};
use crate::net::Net;
use crate::socket::tcp::Rx;
use crate::socket::{CloseReason, Owner, StreamHandle};
use crate::stack::EventQueue;
use crate::{Event, Nic, Transport};

/// A client connection.
pub(super) struct Conn {
    stream: StreamHandle,
    /// Its id in [`Transport::Tcp`] (never 0).
    conn: u32,
    peer: SocketAddr,
    reader: FrameReader,
    /// Queries surfaced and not yet answered.
    pending: usize,
    /// Framed replies not yet (completely) in the stream, and how much of the first one
    /// is.
    tx: VecDeque<Vec<u8>>,
    tx_off: usize,
    /// The client finished sending (we read its FIN).
    peer_done: bool,
    /// When the first byte of the message being read arrived (for the first message:
    /// when the client connected); it must be whole by this plus
    /// `tcp_query_timeout_ns`. `None` between messages (the idle timer's turn).
    msg_started: Option<u64>,
}

impl Dns {
    pub(super) fn conn_index(&self, stream: StreamHandle) -> Option<usize> {
        self.conns.iter().position(|c| c.stream == stream)
    }

    /// A client connected (its SYN was seen); reset it at once if the allow list does
    /// not admit it, before it is a connection of ours.
    pub(super) fn accepted<N: Nic>(
        &mut self,
        net: &mut Net<N>,
        stream: StreamHandle,
        peer: SocketAddr,
    ) {
        if !self.admits(peer.ip()) {
            log::debug!("tcp client {peer}: not allowed, reset");
            self.stats.tcp_refused += 1;
            let _ = net.abort(Owner::Dns, stream);
            return;
        }
        let mine = self
            .conns
            .iter()
            .filter(|c| same_source(c.peer.ip(), peer.ip()))
            .count();
        if mine >= self.limits.tcp_clients_per_source {
            log::debug!("tcp client {peer}: has {mine} connections already, reset");
            self.stats.tcp_refused_busy += 1;
            let _ = net.abort(Owner::Dns, stream);
            return;
        }
        let conn = self.next_conn;
        self.next_conn = self.next_conn.wrapping_add(1).max(1);
        self.conns.push(Conn {
            stream,
            conn,
            peer,
            reader: FrameReader::new(self.limits.tcp_max_query),
            pending: 0,
            tx: VecDeque::new(),
            tx_off: 0,
            peer_done: false,
            // The first query must be whole in time from the connection's start: a
            // client that connects and says nothing is not kept for the idle timeout.
            msg_started: Some(net.now),
        });
        self.stats.tcp_accepted += 1;
    }

    /// Reads whole queries from connection `i` while the application keeps up (the
    /// pipelining cap and the event queue allow); resets it on a bad length prefix.
    pub(super) fn read_conn<N: Nic>(
        &mut self,
        net: &mut Net<N>,
        events: &mut EventQueue,
        i: usize,
    ) {
        let max_pending = self.limits.tcp_max_pending;
        let now = net.now;
        let Some(c) = self.conns.get_mut(i) else {
            return;
        };
        let mut bad = false;
        while c.pending < max_pending {
            match net.rx_state(Owner::Dns, c.stream) {
                Rx::Data => {}
                Rx::Finished => {
                    c.peer_done = true;
                    break;
                }
                Rx::Empty | Rx::Unknown => break,
            }
            if !events.accept_data() {
                break;
            }
            let reader = &mut c.reader;
            let got = net.recv_with(Owner::Dns, c.stream, |buf| reader.feed(buf));
            match &got {
                // A message ended: the next one's clock starts at its first byte.
                Some(Ok(Some(_))) => c.msg_started = None,
                // Bytes of a message that is not whole yet.
                Some(Ok(None)) if c.reader.in_message() => {
                    c.msg_started.get_or_insert(now);
                }
                _ => {}
            }
            match got {
                Some(Ok(Some(data))) => {
                    c.pending += 1;
                    self.stats.tcp_queries += 1;
                    events.push(Event::Query {
                        client: c.peer,
                        transport: Transport::Tcp { conn: c.conn },
                        data,
                    });
                }
                Some(Ok(None)) => {}
                Some(Err(e)) => {
                    log::debug!("tcp conn {}: {e}, reset", c.conn);
                    bad = true;
                    break;
                }
                None => break,
            }
        }
        if bad {
            self.stats.tcp_closed_bad_frame += 1;
            let _ = net.abort(Owner::Dns, c.stream);
            self.conns.swap_remove(i);
            return;
        }
        self.maybe_close(net, i);
    }

    /// Resets every connection whose query is not whole within `tcp_query_timeout_ns`
    /// of its first byte. The idle timer cannot catch a client that trickles a byte
    /// every few seconds (slowloris): each byte is activity.
    pub(super) fn query_timers<N: Nic>(&mut self, net: &mut Net<N>) {
        let limit = self.limits.tcp_query_timeout_ns;
        let now = net.now;
        let mut i = 0;
        while let Some(c) = self.conns.get(i) {
            let late = c
                .msg_started
                .is_some_and(|t| now.saturating_sub(t) >= limit);
            if late {
                log::debug!("tcp conn {}: query not whole in time, reset", c.conn);
                self.stats.tcp_closed_slow += 1;
                let _ = net.abort(Owner::Dns, c.stream);
                self.conns.swap_remove(i);
            } else {
                i += 1;
            }
        }
    }

    /// When the earliest partly read client query runs out of time.
    pub(super) fn query_deadline(&self) -> Option<u64> {
        let limit = self.limits.tcp_query_timeout_ns;
        self.conns
            .iter()
            .filter_map(|c| c.msg_started.map(|t| t.saturating_add(limit)))
            .min()
    }

    /// Writes as much of connection `i`'s queued replies as the stream takes.
    pub(super) fn flush_conn<N: Nic>(&mut self, net: &mut Net<N>, i: usize) {
        let Some(c) = self.conns.get_mut(i) else {
            return;
        };
        while let Some(front) = c.tx.front() {
            let rest = front.get(c.tx_off..).unwrap_or(&[]);
            if rest.is_empty() {
                c.tx.pop_front();
                c.tx_off = 0;
                continue;
            }
            match net.send(Owner::Dns, c.stream, rest) {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    c.tx_off += n;
                    if c.tx_off >= front.len() {
                        c.tx.pop_front();
                        c.tx_off = 0;
                    }
                }
            }
        }
    }

    /// The client finished sending and got all its answers: closes our side and
    /// forgets connection `i`.
    pub(super) fn maybe_close<N: Nic>(&mut self, net: &mut Net<N>, i: usize) {
        let Some(c) = self.conns.get(i) else { return };
        if c.peer_done && c.pending == 0 && c.tx.is_empty() {
            let _ = net.close(Owner::Dns, c.stream);
            self.conns.swap_remove(i);
        }
    }

    /// Connection `i` ended without us (reset, or idle).
    pub(super) fn conn_closed(&mut self, i: usize, reason: CloseReason) {
        if reason == CloseReason::Idle {
            self.stats.tcp_closed_idle += 1;
        }
        self.conns.swap_remove(i);
    }

    pub(super) fn reply_tcp<N: Nic>(
        &mut self,
        net: &mut Net<N>,
        conn: u32,
        data: &[u8],
    ) -> Result<(), ReplyError> {
        let max_pending = self.limits.tcp_max_pending;
        let Some(i) = self.conns.iter().position(|c| c.conn == conn && conn != 0) else {
            return Err(ReplyError::UnknownConnection);
        };
        let c = &mut self.conns[i];
        let framed = frame(data).ok_or(ReplyError::TooLarge)?;
        if c.tx.len() >= max_pending {
            return Err(ReplyError::QueueFull);
        }
        c.pending = c.pending.saturating_sub(1);
        c.tx.push_back(framed);
        self.stats.tcp_replies += 1;
        net.tx_queued = true;
        self.flush_conn(net, i);
        self.maybe_close(net, i);
        Ok(())
    }
}

/// Whether two client addresses are one source for `tcp_clients_per_source`: the same
/// IPv4 address, or the same IPv6 /64 (as the engine shares its client slots).
fn same_source(a: core::net::IpAddr, b: core::net::IpAddr) -> bool {
    use core::net::IpAddr;
    match (a, b) {
        (IpAddr::V4(a), IpAddr::V4(b)) => a == b,
        (IpAddr::V6(a), IpAddr::V6(b)) => a.to_bits() >> 64 == b.to_bits() >> 64,
        _ => false,
    }
}
