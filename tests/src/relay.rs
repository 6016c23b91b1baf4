//! A delay relay for the lab's links, in user space (this kernel has no `tc netem`).
//!
//! For a delayed lab ([`crate::lab::Lab::start_delayed`]) every NSD listens on its
//! addresses at [`BACKEND_PORT`] instead of 53, and a [`Relay`] listens on port 53 of
//! the same addresses (UDP and TCP), holds each query for half the delay, forwards it to
//! the server, holds the answer for the other half and sends it back from port 53. A
//! resolver therefore sees one round trip of `delay` more per upstream query, as if each
//! authoritative server sat behind a link of that round-trip time. The relay also counts
//! the queries it forwards: the upstream queries the resolvers sent.

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
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
/// within [`UPSTREAM_TIMEOUT`] plus the delay).
pub struct Relay {
    stop: Arc<AtomicBool>,
    forwarded: Arc<AtomicU64>,
    listeners: Vec<JoinHandle<()>>,
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
        let forwarded = Arc::new(AtomicU64::new(0));
        let (s, f) = (stop.clone(), forwarded.clone());
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
            forwarded,
            listeners,
        })
    }

    /// Queries forwarded so far (UDP datagrams plus TCP connections).
    pub fn forwarded(&self) -> u64 {
        self.forwarded.load(Ordering::Relaxed)
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
    forwarded: &Arc<AtomicU64>,
) {
    let sock = Arc::new(sock);
    let mut buf = [0u8; 65_535];
    while !stop.load(Ordering::Relaxed) {
        let Ok((n, client)) = sock.recv_from(&mut buf) else {
            continue;
        };
        forwarded.fetch_add(1, Ordering::Relaxed);
        let query = buf[..n].to_vec();
        let front = sock.clone();
        // One thread per query: the delay must not serialise concurrent queries.
        std::thread::spawn(move || {
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
                let _ = front.send_to(&answer[..len], client);
            }
        });
    }
}

fn tcp_loop(
    listener: TcpListener,
    back: SocketAddr,
    delay: Duration,
    stop: &AtomicBool,
    forwarded: &Arc<AtomicU64>,
) {
    while !stop.load(Ordering::Relaxed) {
        let Ok((client, _)) = listener.accept() else {
            std::thread::sleep(TICK);
            continue;
        };
        forwarded.fetch_add(1, Ordering::Relaxed);
        std::thread::spawn(move || {
            let _ = client.set_nonblocking(false);
            let Ok(server) = TcpStream::connect_timeout(&back, UPSTREAM_TIMEOUT) else {
                return;
            };
            let (Ok(c2), Ok(s2)) = (client.try_clone(), server.try_clone()) else {
                return;
            };
            let up = std::thread::spawn(move || copy_delayed(client, server, delay / 2));
            copy_delayed(s2, c2, delay / 2);
            let _ = up.join();
        });
    }
}

/// Copies `from` → `to`, holding each chunk for `hold`, until either side closes.
fn copy_delayed(mut from: TcpStream, mut to: TcpStream, hold: Duration) {
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
            }
        }
    }
    let _ = to.shutdown(std::net::Shutdown::Write);
}
