//! Upstream queries the app's network stack holds (issue 14, items 2 and 13): waiting
//! for a neighbour's ARP/NDP answer or for a free socket is not the server's delay, so
//! it is no timeout, no SRTT penalty and no retry.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Duration;

use engine::{Client, Engine, EngineConfig, Instant, Limits, Mode, Transmit, Transport};
use hickory_proto::op::{Message, MessageType, ResponseCode};
use hickory_proto::rr::rdata::A;
use hickory_proto::rr::{RData, Record, RecordType};

use crate::sim::*;

const MS: Duration = Duration::from_millis(1);

fn forwarders(n: u8) -> Vec<SocketAddr> {
    (1..=n)
        .map(|i| SocketAddr::new([10, 0, 0, i].into(), 53))
        .collect()
}

fn forward_config(n: u8) -> EngineConfig {
    EngineConfig {
        mode: Mode::Forward {
            upstreams: forwarders(n),
        },
        ..EngineConfig::default()
    }
}

/// What a forwarder answers: the question's name at 192.0.2.1.
fn answer(query: &[u8]) -> Vec<u8> {
    let q = Message::from_vec(query).unwrap();
    let mut r = Message::new(q.id, MessageType::Response, q.op_code);
    r.metadata.recursion_desired = true;
    r.metadata.recursion_available = true;
    r.edns = q.edns.clone();
    let question = q.queries[0].clone();
    let name = question.name().clone();
    r.add_query(question);
    r.add_answer(Record::from_rdata(
        name,
        300,
        RData::A(A::new(192, 0, 2, 1)),
    ));
    r.to_vec().unwrap()
}

/// The app's main loop over a simulated socket pool of `pool` upstream sockets,
/// released after each batch as `resolver/src/app.rs` does. `hold`: a full pool holds
/// the datagram and tells the engine (`handle_upstream_held` / `_sent`), as the
/// netstack now does; otherwise it is a send error, as it was.
struct App {
    engine: Engine,
    now: Instant,
    pool: usize,
    hold: bool,
    open: Vec<u16>,
    waiting: VecDeque<(u16, SocketAddr, Vec<u8>)>,
    wire: Vec<(Instant, SocketAddr, u16, Vec<u8>)>,
    latency: Duration,
    replies: Vec<ResponseCode>,
    sent: usize,
}

impl App {
    fn new(cfg: EngineConfig, pool: usize, hold: bool) -> App {
        App {
            engine: Engine::new(cfg, [7; 32]),
            now: Instant::from_nanos(1_000_000_000),
            pool,
            hold,
            open: Vec::new(),
            waiting: VecDeque::new(),
            wire: Vec::new(),
            latency: 30 * MS,
            replies: Vec::new(),
            sent: 0,
        }
    }

    fn put_on_wire(&mut self, server: SocketAddr, port: u16, payload: &[u8]) {
        self.sent += 1;
        self.wire.push((
            self.now.saturating_add(self.latency),
            server,
            port,
            answer(payload),
        ));
    }

    fn drain(&mut self) {
        while let Some(t) = self.engine.poll_transmit() {
            match t {
                Transmit::ToClient { payload, .. } => {
                    self.replies
                        .push(Message::from_vec(&payload).unwrap().response_code);
                }
                Transmit::ToServer {
                    server,
                    local_port,
                    payload,
                    ..
                } => {
                    if self.open.contains(&local_port) || self.open.len() < self.pool {
                        if !self.open.contains(&local_port) {
                            self.open.push(local_port);
                        }
                        self.put_on_wire(server, local_port, &payload);
                    } else if self.hold {
                        self.waiting.push_back((local_port, server, payload));
                        self.engine
                            .handle_upstream_held(self.now, server, local_port);
                    } else {
                        self.engine.handle_upstream_error(
                            self.now,
                            server,
                            local_port,
                            Transport::Udp,
                        );
                    }
                }
            }
        }
    }

    fn release(&mut self) {
        let engine = &self.engine;
        self.open.retain(|p| engine.upstream_port_in_use(*p));
        self.waiting
            .retain(|(p, _, _)| engine.upstream_port_in_use(*p));
        while self.open.len() < self.pool {
            let Some((port, server, payload)) = self.waiting.pop_front() else {
                break;
            };
            self.open.push(port);
            self.put_on_wire(server, port, &payload);
            self.engine.handle_upstream_sent(self.now, server, port);
        }
    }

    fn run(&mut self) {
        for _ in 0..100_000 {
            self.drain();
            self.release();
            let next_pkt = self.wire.iter().map(|w| w.0).min();
            let next = match (next_pkt, self.engine.poll_timeout()) {
                (Some(a), Some(b)) => a.min(b),
                (a, b) => match a.or(b) {
                    Some(t) => t,
                    None => return,
                },
            };
            self.now = self.now.max(next);
            let now = self.now;
            let (due, rest): (Vec<_>, Vec<_>) = self.wire.drain(..).partition(|w| w.0 <= now);
            self.wire = rest;
            for (_, from, port, bytes) in due {
                self.engine
                    .handle_response(now, from, port, Transport::Udp, &bytes);
                self.drain();
            }
            self.engine.handle_timeout(now);
            assert!(self.engine.check_invariants());
        }
        panic!("did not settle");
    }
}

/// 100 client queries for names not in the cache, at one instant, through a pool of 64
/// upstream sockets and 4 forwarders (32 queries in flight to each at most).
fn burst(cfg: EngineConfig, hold: bool) -> (usize, u64, usize) {
    let mut app = App::new(cfg, 64, hold);
    // From 100 devices: one device gets only its share of the client slots.
    for i in 0..100u16 {
        let c = Client {
            addr: SocketAddr::new([192, 168, 1, 10 + i as u8].into(), 10_000 + i),
            transport: Transport::Udp,
        };
        let q = query_bytes(i, &format!("n{i}.example.com."), RecordType::A, Some(1232));
        app.engine.handle_query(app.now, c, &q);
        app.drain();
    }
    app.run();
    assert_eq!(app.replies.len(), 100, "every client is answered");
    let servfail = app
        .replies
        .iter()
        .filter(|r| **r == ResponseCode::ServFail)
        .count();
    (servfail, app.engine.stats().timeouts, app.sent)
}

#[test]
fn a_full_socket_pool_is_a_wait_not_a_timeout() {
    // Before: the engine allowed 2048 queries in flight over 64 sockets, and a send
    // that found the pool full came back as an error it took for a timeout.
    let (servfail_before, timeouts_before, _) = burst(forward_config(4), false);
    // After: the engine is sized from the pool (as the app does), and a datagram that
    // still finds it full (ports are released after each batch) waits for a socket.
    let sized = EngineConfig {
        limits: Limits {
            max_upstream_in_flight: 64,
            ..Limits::default()
        },
        ..forward_config(4)
    };
    let (servfail, timeouts, sent) = burst(sized, true);
    println!(
        "100 simultaneous misses: SERVFAIL {servfail_before} -> {servfail}, \
         false timeouts {timeouts_before} -> {timeouts}, upstream queries {sent}"
    );
    assert!(timeouts_before > 0, "the old model shows the bug");
    assert_eq!((servfail, timeouts), (0, 0));
    assert_eq!(sent, 100, "one upstream query per miss, none retried");
}

/// One query whose datagram the stack holds for `hold` (the next hop's ARP answer is
/// awaited) before it leaves; the forwarder answers 30 ms after it left.
fn held_for(hold: Duration, report: bool) -> (ResponseCode, u64, usize) {
    let mut app = App::new(forward_config(1), 1, true);
    let c = Client {
        addr: SocketAddr::new([192, 168, 1, 10].into(), 10_000),
        transport: Transport::Udp,
    };
    let q = query_bytes(1, "www.example.com.", RecordType::A, Some(1232));
    app.engine.handle_query(app.now, c, &q);
    let Some(Transmit::ToServer {
        server,
        local_port,
        payload,
        ..
    }) = app.engine.poll_transmit()
    else {
        panic!("no upstream query");
    };
    app.open.push(local_port);
    if report {
        app.engine.handle_upstream_held(app.now, server, local_port);
    }
    let left = app.now.saturating_add(hold);
    // Time passes while the datagram waits; the engine may act meanwhile.
    while let Some(t) = app.engine.poll_timeout().filter(|t| *t < left) {
        app.now = t;
        app.engine.handle_timeout(t);
        app.drain();
    }
    app.now = left;
    app.put_on_wire(server, local_port, &payload);
    if report {
        app.engine.handle_upstream_sent(app.now, server, local_port);
    }
    app.run();
    (app.replies[0], app.engine.stats().timeouts, app.sent)
}

#[test]
fn time_waiting_for_a_neighbour_is_not_an_upstream_timeout() {
    // 2 s for ARP (smoltcp's silence, then the request and its answer): longer than
    // the 800 ms initial timeout.
    let (_, timeouts_before, sent_before) = held_for(2000 * MS, false);
    let (rcode, timeouts, sent) = held_for(2000 * MS, true);
    println!(
        "held 2 s for ARP: timeouts {timeouts_before} -> {timeouts}, \
         upstream queries {sent_before} -> {sent}"
    );
    assert!(timeouts_before > 0);
    assert_eq!(rcode, ResponseCode::NoError);
    assert_eq!((timeouts, sent), (0, 1));
}

#[test]
fn a_hold_past_the_stacks_bound_still_times_out() {
    // The stack never reports: the engine gives up at UPSTREAM_HOLD past the timeout,
    // not never.
    let mut app = App::new(forward_config(1), 1, true);
    let c = Client {
        addr: SocketAddr::new([192, 168, 1, 10].into(), 10_000),
        transport: Transport::Udp,
    };
    app.engine.handle_query(
        app.now,
        c,
        &query_bytes(1, "www.example.com.", RecordType::A, Some(1232)),
    );
    let Some(Transmit::ToServer {
        server, local_port, ..
    }) = app.engine.poll_transmit()
    else {
        panic!("no upstream query");
    };
    let start = app.now;
    app.engine.handle_upstream_held(app.now, server, local_port);
    let deadline = app.engine.poll_timeout().unwrap();
    let waited = deadline.saturating_duration_since(start);
    assert!(waited > engine::UPSTREAM_HOLD && waited < engine::UPSTREAM_HOLD + 2000 * MS);
    app.now = deadline;
    app.engine.handle_timeout(deadline);
    assert_eq!(app.engine.stats().timeouts, 1);
    assert!(!app.engine.upstream_port_in_use(local_port));
}
