//! A black hole that counts: a UDP socket on port 53 of an address inside the lab that
//! reads every datagram and answers none, as a server that went dark would (bound, so
//! the kernel sends no port-unreachable either). It is the black-holed victim of the
//! NXNS torture item ([`crate::zones::BLACK_HOLE`]): what it records is the figure of
//! the victim itself, not of the resolver under test.

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::Result;
use crate::netns::Netns;

/// Datagrams remembered one by one; past this only [`Sink::total`] counts.
pub const MAX_RECORDED: usize = 100_000;

/// One datagram the sink took.
#[derive(Debug, Clone)]
pub struct Arrival {
    /// When it arrived.
    pub at: Instant,
    /// Who sent it.
    pub from: IpAddr,
    /// The question name, lower case without the final dot (empty if unreadable).
    pub qname: String,
}

/// A running sink. Dropping it stops the listener.
pub struct Sink {
    stop: Arc<AtomicBool>,
    total: Arc<AtomicU64>,
    log: Arc<Mutex<Vec<Arrival>>>,
    listener: Option<JoinHandle<()>>,
}

impl Sink {
    /// Binds UDP port 53 of `addr` (already an address of the namespace) inside `ns`.
    pub fn start(ns: &Netns, addr: &str) -> Result<Sink> {
        let ip: IpAddr = addr
            .parse()
            .map_err(|e| format!("sink address {addr}: {e}"))?;
        let stop = Arc::new(AtomicBool::new(false));
        let total = Arc::new(AtomicU64::new(0));
        let log = Arc::new(Mutex::new(Vec::new()));
        let (s, t, l) = (stop.clone(), total.clone(), log.clone());
        let listener = ns.run_inside(move || -> Result<JoinHandle<()>> {
            let at = SocketAddr::new(ip, 53);
            let sock = UdpSocket::bind(at).map_err(|e| format!("sink {at}: {e}"))?;
            sock.set_read_timeout(Some(Duration::from_millis(50)))
                .map_err(|e| format!("sink {at}: {e}"))?;
            Ok(std::thread::spawn(move || {
                let mut buf = [0u8; 65_535];
                while !s.load(Ordering::Relaxed) {
                    let Ok((n, from)) = sock.recv_from(&mut buf) else {
                        continue;
                    };
                    t.fetch_add(1, Ordering::Relaxed);
                    if let Ok(mut v) = l.lock()
                        && v.len() < MAX_RECORDED
                    {
                        v.push(Arrival {
                            at: Instant::now(),
                            from: from.ip(),
                            qname: qname(&buf[..n]).unwrap_or_default(),
                        });
                    }
                }
            }))
        })??;
        Ok(Sink {
            stop,
            total,
            log,
            listener: Some(listener),
        })
    }

    /// Datagrams taken so far.
    pub fn total(&self) -> u64 {
        self.total.load(Ordering::Relaxed)
    }

    /// The datagrams recorded so far (at most [`MAX_RECORDED`]).
    pub fn arrivals(&self) -> Vec<Arrival> {
        self.log.lock().map(|v| v.clone()).unwrap_or_default()
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.listener.take() {
            let _ = t.join();
        }
    }
}

/// The question name of a DNS message (uncompressed, as queries carry it), lower case.
pub fn qname(m: &[u8]) -> Option<String> {
    if m.get(4..6)? == [0, 0] {
        return None;
    }
    let mut at = 12;
    let mut labels: Vec<String> = Vec::new();
    loop {
        let len = usize::from(*m.get(at)?);
        if len == 0 {
            break;
        }
        if len > 63 || labels.len() > 127 {
            return None;
        }
        let l = m.get(at + 1..at + 1 + len)?;
        labels.push(String::from_utf8_lossy(l).to_ascii_lowercase());
        at += 1 + len;
    }
    Some(labels.join("."))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_question_name() {
        let q = crate::wire::query(1, "N3-B7.BHvictim.test", 1);
        assert_eq!(qname(&q).as_deref(), Some("n3-b7.bhvictim.test"));
        assert_eq!(qname(&q[..q.len() - 8]), None);
        assert_eq!(qname(&[0u8; 12]), None);
        let mut bad = q.clone();
        bad[12] = 0xc0;
        assert_eq!(qname(&bad), None);
    }
}
