//! A lab server that misbehaves the way some servers in the field do: a proxy in front of
//! NSD that changes each answer on its way back ([`crate::zones::Quirk`]).
//!
//! NSD has no switch to set AA on a referral, but load balancers and appliances in front
//! of authoritative servers do it, and resolvers must not take such a referral for a
//! NODATA answer. The proxy listens on the server's public addresses (UDP and TCP), asks
//! NSD on its private loopback address and copies the answer back with the bit set.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::Result;
use crate::netns::Netns;

/// How long a forwarded query waits for NSD.
const BACKEND_TIMEOUT: Duration = Duration::from_secs(3);
/// How often the listeners look at the stop flag.
const TICK: Duration = Duration::from_millis(50);
/// The AA bit in the third byte of a DNS header.
const AA: u8 = 0x04;

/// A running proxy; dropping it stops the listeners.
pub struct AaProxy {
    stop: Arc<AtomicBool>,
    listeners: Vec<JoinHandle<()>>,
}

impl AaProxy {
    /// Listens on port `port` of each of `fronts` inside `ns` and forwards to
    /// `backend`:53, setting AA on every answer.
    pub fn start(ns: &Netns, fronts: &[&str], port: u16, backend: &str) -> Result<AaProxy> {
        let back: SocketAddr = format!("{backend}:53")
            .parse()
            .map_err(|e| format!("proxy backend {backend}: {e}"))?;
        let fronts = fronts
            .iter()
            .map(|a| {
                a.parse::<std::net::IpAddr>()
                    .map(|ip| SocketAddr::new(ip, port))
                    .map_err(|e| format!("proxy address {a}: {e}"))
            })
            .collect::<Result<Vec<_>>>()?;
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        let listeners = ns.run_inside(move || -> Result<Vec<JoinHandle<()>>> {
            let mut out = Vec::new();
            for front in fronts {
                let udp = UdpSocket::bind(front).map_err(|e| format!("proxy {front}: {e}"))?;
                udp.set_read_timeout(Some(TICK))
                    .map_err(|e| format!("proxy {front}: {e}"))?;
                let tcp = TcpListener::bind(front).map_err(|e| format!("proxy {front}: {e}"))?;
                tcp.set_nonblocking(true)
                    .map_err(|e| format!("proxy {front}: {e}"))?;
                let s1 = s.clone();
                out.push(std::thread::spawn(move || udp_loop(udp, back, &s1)));
                let s2 = s.clone();
                out.push(std::thread::spawn(move || tcp_loop(tcp, back, &s2)));
            }
            Ok(out)
        })??;
        Ok(AaProxy { stop, listeners })
    }
}

impl Drop for AaProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.listeners.drain(..) {
            let _ = t.join();
        }
    }
}

/// Sets AA in a DNS message (nothing if it is shorter than a header).
fn set_aa(msg: &mut [u8]) {
    if msg.len() >= 12
        && let Some(b) = msg.get_mut(2)
    {
        *b |= AA;
    }
}

fn udp_loop(sock: UdpSocket, back: SocketAddr, stop: &AtomicBool) {
    let mut buf = [0u8; 65_535];
    let Ok(up) = UdpSocket::bind("127.0.0.1:0") else {
        return;
    };
    if up.set_read_timeout(Some(BACKEND_TIMEOUT)).is_err() || up.connect(back).is_err() {
        return;
    }
    // One query at a time: the lab's resolvers ask this server a handful of questions.
    while !stop.load(Ordering::Relaxed) {
        let Ok((n, client)) = sock.recv_from(&mut buf) else {
            continue;
        };
        let Some(query) = buf.get(..n) else { continue };
        if up.send(query).is_err() {
            continue;
        }
        let mut answer = [0u8; 65_535];
        // A late answer to an earlier query is skipped by its ID.
        let id = query.get(..2).map(|b| [b[0], b[1]]);
        while let Ok(len) = up.recv(&mut answer) {
            let Some(msg) = answer.get_mut(..len) else {
                break;
            };
            if msg.get(..2).map(|b| [b[0], b[1]]) != id {
                continue;
            }
            set_aa(msg);
            let _ = sock.send_to(msg, client);
            break;
        }
    }
}

fn tcp_loop(listener: TcpListener, back: SocketAddr, stop: &AtomicBool) {
    while !stop.load(Ordering::Relaxed) {
        let Ok((client, _)) = listener.accept() else {
            std::thread::sleep(TICK);
            continue;
        };
        std::thread::spawn(move || {
            let _ = serve_tcp(client, back);
        });
    }
}

/// Relays length-prefixed DNS messages one by one until the client closes.
fn serve_tcp(mut client: TcpStream, back: SocketAddr) -> std::io::Result<()> {
    client.set_nonblocking(false)?;
    client.set_read_timeout(Some(BACKEND_TIMEOUT))?;
    let mut server = TcpStream::connect_timeout(&back, BACKEND_TIMEOUT)?;
    server.set_read_timeout(Some(BACKEND_TIMEOUT))?;
    loop {
        let Ok(query) = read_frame(&mut client) else {
            return Ok(());
        };
        write_frame(&mut server, &query)?;
        let mut answer = read_frame(&mut server)?;
        set_aa(&mut answer);
        write_frame(&mut client, &answer)?;
    }
}

fn read_frame(s: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut len = [0u8; 2];
    s.read_exact(&mut len)?;
    let mut msg = vec![0u8; usize::from(u16::from_be_bytes(len))];
    s.read_exact(&mut msg)?;
    Ok(msg)
}

fn write_frame(s: &mut TcpStream, msg: &[u8]) -> std::io::Result<()> {
    let len = u16::try_from(msg.len()).map_err(|_| std::io::ErrorKind::InvalidData)?;
    s.write_all(&len.to_be_bytes())?;
    s.write_all(msg)
}
