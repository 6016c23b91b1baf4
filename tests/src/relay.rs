//! A delay relay for the lab's links, in user space (this kernel has no `tc netem`).
//!
//! For a delayed lab ([`crate::lab::Lab::start_delayed`]) every NSD listens on its
//! addresses at [`BACKEND_PORT`] instead of 53, and a [`Relay`] listens on port 53 of
//! the same addresses (UDP and TCP), holds each query for half the delay, forwards it to
//! the server, holds the answer for the other half and sends it back from port 53. A
//! resolver therefore sees one round trip of `delay` more per upstream query, as if each
//! authoritative server sat behind a link of that round-trip time. The relay also counts
//! the queries it forwards: the upstream queries the resolvers sent.
//!
//! [`crate::lab::Lab::set_upstream_delay`] puts a relay in front of a running lab's
//! servers (and takes it away again), e.g. to make every server answer only after the
//! resolver has given up; [`Relay::answered`] then counts the late answers delivered
//! and [`Relay::busy`] says when the last of them is out.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::Result;
use crate::netns::Netns;

/// The port the servers of a delayed lab really listen on.
pub const BACKEND_PORT: u16 = 5353;

/// How long a forwarded query waits for the server's answer.
const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(3);
/// How often the listeners look at the stop flag.
const TICK: Duration = Duration::from_millis(50);

/// A running relay. Dropping it stops the listeners (queries in flight finish on their own
/// within 3 s plus the delay).
pub struct Relay {
    stop: Arc<AtomicBool>,
    counts: Arc<Counts>,
    delay: Duration,
    listeners: Vec<JoinHandle<()>>,
}

/// What a relay has done so far.
#[derive(Default)]
struct Counts {
    /// Queries forwarded (UDP datagrams plus TCP connections).
    forwarded: AtomicU64,
    /// Answers sent back to the asker (UDP datagrams plus TCP chunks).
    answered: AtomicU64,
    /// Queries and connections still being relayed.
    busy: AtomicU64,
    /// Answers delivered, by the address of the asker.
    answered_to: Mutex<HashMap<IpAddr, u64>>,
}

impl Counts {
    fn delivered(&self, to: IpAddr) {
        self.answered.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut m) = self.answered_to.lock() {
            *m.entry(to).or_default() += 1;
        }
    }
}

/// Holds one unit of [`Counts::busy`] until dropped.
struct Busy(Arc<Counts>);

impl Busy {
    fn new(c: &Arc<Counts>) -> Busy {
        c.busy.fetch_add(1, Ordering::Relaxed);
        Busy(c.clone())
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.busy.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Relay {
    /// Starts relaying port 53 → [`BACKEND_PORT`] on each of `addrs` inside `ns`, adding
    /// `delay` to every round trip.
    pub fn start(ns: &Netns, addrs: &[&str], delay: Duration) -> Result<Relay> {
        let ips = addrs
            .iter()
            .map(|a| {
                a.parse::<IpAddr>()
                    .map_err(|e| format!("relay address {a}: {e}"))
            })
            .collect::<Result<Vec<IpAddr>>>()?;
        let stop = Arc::new(AtomicBool::new(false));
        let counts = Arc::new(Counts::default());
        let (s, f) = (stop.clone(), counts.clone());
        // Threads started from a thread inside the namespace stay inside it.
        let listeners = ns.run_inside(move || -> Result<Vec<JoinHandle<()>>> {
            let mut out = Vec::new();
            for ip in ips {
                let front = SocketAddr::new(ip, 53);
                let back = SocketAddr::new(ip, BACKEND_PORT);
                let udp = UdpSocket::bind(front).map_err(|e| format!("relay {front}: {e}"))?;
                udp.set_read_timeout(Some(TICK))
                    .map_err(|e| format!("relay {front}: {e}"))?;
                let tcp = TcpListener::bind(front).map_err(|e| format!("relay {front}: {e}"))?;
                tcp.set_nonblocking(true)
                    .map_err(|e| format!("relay {front}: {e}"))?;
                let (s1, f1) = (s.clone(), f.clone());
                out.push(std::thread::spawn(move || {
                    udp_loop(udp, back, delay, &s1, &f1)
                }));
                let (s2, f2) = (s.clone(), f.clone());
                out.push(std::thread::spawn(move || {
                    tcp_loop(tcp, back, delay, &s2, &f2)
                }));
            }
            Ok(out)
        })??;
        Ok(Relay {
            stop,
            counts,
            delay,
            listeners,
        })
    }

    /// Queries forwarded so far (UDP datagrams plus TCP connections).
    pub fn forwarded(&self) -> u64 {
        self.counts.forwarded.load(Ordering::Relaxed)
    }

    /// Answers delivered so far (UDP datagrams plus TCP chunks towards the asker).
    pub fn answered(&self) -> u64 {
        self.counts.answered.load(Ordering::Relaxed)
    }

    /// Answers delivered so far to `asker`.
    pub fn answered_to(&self, asker: IpAddr) -> u64 {
        self.counts
            .answered_to
            .lock()
            .map_or(0, |m| m.get(&asker).copied().unwrap_or(0))
    }

    /// Queries and TCP connections still being relayed (held, or waiting for a server).
    pub fn busy(&self) -> u64 {
        self.counts.busy.load(Ordering::Relaxed)
    }

    /// The round-trip delay this relay adds.
    pub fn delay(&self) -> Duration {
        self.delay
    }

    /// Waits until nothing is being relayed any more (every late answer is out), at
    /// most the delay plus the server timeout plus `slack`; false if it timed out.
    pub fn wait_idle(&self, slack: Duration) -> bool {
        let deadline = std::time::Instant::now() + self.delay + UPSTREAM_TIMEOUT + slack;
        while self.busy() > 0 {
            if std::time::Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(TICK);
        }
        true
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.listeners.drain(..) {
            let _ = t.join();
        }
    }
}

fn udp_loop(
    sock: UdpSocket,
    back: SocketAddr,
    delay: Duration,
    stop: &AtomicBool,
    counts: &Arc<Counts>,
) {
    let sock = Arc::new(sock);
    let mut buf = [0u8; 65_535];
    while !stop.load(Ordering::Relaxed) {
        let Ok((n, client)) = sock.recv_from(&mut buf) else {
            continue;
        };
        counts.forwarded.fetch_add(1, Ordering::Relaxed);
        let query = buf[..n].to_vec();
        let front = sock.clone();
        let busy = Busy::new(counts);
        // One thread per query: the delay must not serialise concurrent queries.
        std::thread::spawn(move || {
            // Declared first, dropped last: busy until the socket clone is gone too.
            let busy = busy;
            let front = front;
            std::thread::sleep(delay / 2);
            let local: SocketAddr = if back.is_ipv4() {
                "0.0.0.0:0".parse().unwrap_or(back)
            } else {
                "[::]:0".parse().unwrap_or(back)
            };
            let Ok(up) = UdpSocket::bind(local) else {
                return;
            };
            let mut answer = [0u8; 65_535];
            let got = up
                .set_read_timeout(Some(UPSTREAM_TIMEOUT))
                .and_then(|()| up.connect(back))
                .and_then(|()| up.send(&query))
                .and_then(|_| up.recv(&mut answer));
            if let Ok(len) = got {
                std::thread::sleep(delay / 2);
                if front.send_to(&answer[..len], client).is_ok() {
                    busy.0.delivered(client.ip());
                }
            }
        });
    }
}

fn tcp_loop(
    listener: TcpListener,
    back: SocketAddr,
    delay: Duration,
    stop: &AtomicBool,
    counts: &Arc<Counts>,
) {
    while !stop.load(Ordering::Relaxed) {
        let Ok((client, peer)) = listener.accept() else {
            std::thread::sleep(TICK);
            continue;
        };
        counts.forwarded.fetch_add(1, Ordering::Relaxed);
        let busy = Busy::new(counts);
        std::thread::spawn(move || {
            let busy = busy;
            let _ = client.set_nonblocking(false);
            let Ok(server) = TcpStream::connect_timeout(&back, UPSTREAM_TIMEOUT) else {
                return;
            };
            let (Ok(c2), Ok(s2)) = (client.try_clone(), server.try_clone()) else {
                return;
            };
            let up = std::thread::spawn(move || copy_delayed(client, server, delay / 2, None));
            copy_delayed(s2, c2, delay / 2, Some((&busy.0, peer.ip())));
            let _ = up.join();
        });
    }
}

/// Copies `from` → `to`, holding each chunk for `hold`, until either side closes;
/// counts the chunks delivered to the asker in `delivered`.
fn copy_delayed(
    mut from: TcpStream,
    mut to: TcpStream,
    hold: Duration,
    delivered: Option<(&Counts, IpAddr)>,
) {
    let _ = from.set_read_timeout(Some(UPSTREAM_TIMEOUT));
    let mut buf = [0u8; 16_384];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                std::thread::sleep(hold);
                if to.write_all(&buf[..n]).is_err() {
                    break;
                }
                if let Some((c, asker)) = delivered {
                    c.delivered(asker);
                }
            }
        }
    }
    let _ = to.shutdown(std::net::Shutdown::Write);
}
