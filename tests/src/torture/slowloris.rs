//! Item 11: TCP slowloris (issue 14, item 16). Connections to the resolver's port 53
//! that trickle a query one byte every 2 s, connections that send one byte of a length
//! prefix and stop, and connections from a source the allow list refuses, in waves,
//! while an honest client asks over TCP and UDP from another address.
//!
//! Holds when every trickling or stalled connection is reset by the netstack's
//! absolute per-query deadline (`tcp_query_timeout_ns`) and not much later, no refused
//! source gets a connection, one source never holds more than its share of
//! `--tcp-connections`, the honest client is answered within a bound throughout, and
//! the resolver still runs and answers afterwards.
//!
//! Each build gets a fresh resolver with `--tcp-connections=16` (the item resolvers run
//! with 4, where one source's share is all of them), booted before them on their TAPs.

use std::io::{ErrorKind, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, Socket, Type};

use super::nxns::{
    ATTACKER, ATTACKER2, HONEST, HONEST_LOSS_PCT, add_client_addrs, few_lost, introduce,
};
use super::{Mode, Table, answer_addrs, ask, server, warm_up};
use crate::Result;
use crate::guest::boot_both;
use crate::lab::{Lab, OUTSIDE_CLIENT};
use crate::wire;

/// `--tcp-connections` of the item's resolvers.
const TCP_CONNECTIONS: usize = 16;
/// How often a trickling connection sends its next byte.
const BYTE_EVERY: Duration = Duration::from_secs(2);
/// How long after the deadline a reset may take to arrive (the emulated guest's timer
/// and the lab's scheduling).
const RESET_SLACK: Duration = Duration::from_secs(2);
/// A connection that ends this soon after connecting was refused at accept.
const AT_ACCEPT: Duration = Duration::from_secs(1);
/// Bound on each honest query's answer, over UDP and over TCP (connect included).
const HONEST_BOUND: Duration = Duration::from_secs(3);
/// What the honest client asks (cached by [`warm_up`]) and the answer it must get.
const HONEST_NAME: &str = "www.cdn.example";
const HONEST_ADDR: [u8; 4] = [203, 0, 113, 80];

/// One source's share of `--tcp-connections`, as the resolver sets the netstack's
/// `tcp_clients_per_source` from it (`resolver/src/app.rs`): half, at least 4, at most
/// all.
fn share(connections: usize) -> usize {
    (connections / 2).max(4).min(connections)
}

/// The netstack's absolute deadline for a client query on TCP, from the connection's
/// start (or the query's first byte).
fn deadline() -> Duration {
    Duration::from_nanos(netstack::NetLimits::default().tcp_query_timeout_ns)
}

/// A TCP connection to `to` from `src` (an address of the lab), bounded by `timeout`.
fn connect_from(src: &str, to: SocketAddr, timeout: Duration) -> std::io::Result<TcpStream> {
    let ip: IpAddr = src
        .parse()
        .map_err(|_| std::io::Error::new(ErrorKind::InvalidInput, "bad source address"))?;
    let s = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP))?;
    s.bind(&SocketAddr::new(ip, 0).into())?;
    s.connect_timeout(&to.into(), timeout)?;
    Ok(s.into())
}

/// How an attacking connection ended.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Fate {
    /// Refused at accept (the connect failed, or the reset came within [`AT_ACCEPT`]).
    Refused,
    /// Reset (or closed) by the resolver this long after the connect.
    Reset(Duration),
    /// Still open when the client gave up.
    Held,
}

/// What an attacking connection sends.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Way {
    /// A whole query, one byte every [`BYTE_EVERY`].
    Trickle,
    /// The first byte of a length prefix, then nothing.
    Partial,
}

/// One attacking connection from `src`: connects, sends the way it does, and waits
/// for the resolver to let go (at most `give_up`).
fn attacker(to: SocketAddr, src: &str, way: Way, give_up: Duration) -> Fate {
    let t0 = Instant::now();
    let Ok(mut s) = connect_from(src, to, Duration::from_secs(3)) else {
        return Fate::Refused;
    };
    let ended = |d: Duration| {
        if d < AT_ACCEPT {
            Fate::Refused
        } else {
            Fate::Reset(d)
        }
    };
    let q = wire::framed(&wire::query(0x7100, HONEST_NAME, wire::A));
    let mut sent = 0usize;
    let mut buf = [0u8; 512];
    while t0.elapsed() < give_up {
        let next = match way {
            Way::Trickle => q.get(sent),
            Way::Partial => q.get(sent).filter(|_| sent == 0),
        };
        if let Some(b) = next {
            if s.write_all(&[*b]).is_err() {
                return ended(t0.elapsed());
            }
            sent += 1;
        }
        let left = give_up.saturating_sub(t0.elapsed());
        let _ = s.set_read_timeout(Some(BYTE_EVERY.min(left).max(Duration::from_millis(10))));
        match s.read(&mut buf) {
            Ok(0) => return ended(t0.elapsed()),
            // An answer would mean the whole query got in: not within the deadline.
            Ok(_) => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => return ended(t0.elapsed()),
        }
    }
    Fate::Held
}

/// What the honest client saw over one transport.
#[derive(Debug, Default, Clone)]
struct Honest {
    asked: u32,
    answered: u32,
    slowest: Duration,
    /// Wrong answers.
    wrong: Vec<String>,
    /// Queries without an answer within [`HONEST_BOUND`].
    lost: u32,
}

impl Honest {
    fn note(&mut self, t: Instant, answer: Option<Vec<u8>>) {
        self.asked += 1;
        match answer {
            Some(m) if answer_addrs(&m).is_some_and(|a| a == [HONEST_ADDR]) => {
                self.answered += 1;
                self.slowest = self.slowest.max(t.elapsed());
            }
            Some(_) => self.wrong.push("a wrong answer".into()),
            None => self.lost += 1,
        }
    }
}

/// One honest query over TCP from [`HONEST`], connect included, within [`HONEST_BOUND`].
fn honest_tcp(to: SocketAddr, id: u16) -> Option<Vec<u8>> {
    let t0 = Instant::now();
    let mut s = connect_from(HONEST, to, HONEST_BOUND).ok()?;
    s.write_all(&wire::framed(&wire::query(id, HONEST_NAME, wire::A)))
        .ok()?;
    let left = HONEST_BOUND.checked_sub(t0.elapsed())?;
    s.set_read_timeout(Some(left.max(Duration::from_millis(1))))
        .ok()?;
    let mut len = [0u8; 2];
    s.read_exact(&mut len).ok()?;
    let mut msg = vec![0u8; usize::from(u16::from_be_bytes(len))];
    s.read_exact(&mut msg).ok()?;
    (wire::header(&msg)?.id == id).then_some(msg)
}

/// The honest client until `stop`: a TCP query every 500 ms and a UDP query every
/// 250 ms, in turn.
fn honest_client(to: SocketAddr, stop: &AtomicBool) -> Result<(Honest, Honest)> {
    let udp = UdpSocket::bind(format!("{HONEST}:0")).map_err(|e| format!("bind {HONEST}: {e}"))?;
    let (mut tcp_h, mut udp_h) = (Honest::default(), Honest::default());
    let mut id = 0x7200u16;
    while !stop.load(Ordering::Relaxed) {
        id = id.wrapping_add(1);
        let t = Instant::now();
        let q = wire::query(id, HONEST_NAME, wire::A);
        udp_h.note(t, ask(&udp, to, &q, HONEST_BOUND));
        std::thread::sleep(Duration::from_millis(250));
        if id.is_multiple_of(2) {
            let t = Instant::now();
            tcp_h.note(t, honest_tcp(to, id));
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    Ok((tcp_h, udp_h))
}

/// Sizes of the attack: waves, trickling connections from [`ATTACKER`] per wave
/// (more than its share), stalled prefixes from [`ATTACKER2`], and connections from
/// the refused [`OUTSIDE_CLIENT`].
fn sizes(mode: Mode) -> (u32, usize, usize, usize) {
    let tricklers = share(TCP_CONNECTIONS) + 4;
    match mode {
        Mode::Short => (2, tricklers, 4, 4),
        Mode::Long => (15, tricklers, 4, 8),
    }
}

/// What one wave's connections came to: (source, way, fate).
type Wave = Vec<(&'static str, Way, Fate)>;

/// The attack against one resolver, inside the lab; returns the waves and what the
/// honest client saw.
fn attack(to: SocketAddr, mode: Mode) -> Result<(Vec<Wave>, Honest, Honest)> {
    let (waves, tricklers, partials, outsiders) = sizes(mode);
    let give_up = deadline() + RESET_SLACK + Duration::from_secs(2);
    let stop = Arc::new(AtomicBool::new(false));
    let st = stop.clone();
    let honest = std::thread::spawn(move || honest_client(to, &st));
    // The honest client's first queries before the attack, to compare.
    std::thread::sleep(Duration::from_millis(600));
    let mut out = Vec::new();
    for _ in 0..waves {
        let mut hs = Vec::new();
        let plan = std::iter::repeat_n((ATTACKER, Way::Trickle), tricklers)
            .chain(std::iter::repeat_n((ATTACKER2, Way::Partial), partials))
            .chain(std::iter::repeat_n(
                (OUTSIDE_CLIENT, Way::Trickle),
                outsiders,
            ));
        for (src, way) in plan {
            hs.push(std::thread::spawn(move || {
                (src, way, attacker(to, src, way, give_up))
            }));
        }
        let wave: Wave = hs
            .into_iter()
            .map(|h| {
                h.join()
                    .map_err(|_| "an attacker thread panicked".to_string())
            })
            .collect::<Result<_>>()?;
        out.push(wave);
    }
    stop.store(true, Ordering::Relaxed);
    let (tcp_h, udp_h) = honest
        .join()
        .map_err(|_| "the honest client panicked".to_string())??;
    Ok((out, tcp_h, udp_h))
}

fn median_max(mut v: Vec<Duration>) -> String {
    if v.is_empty() {
        return "-".into();
    }
    v.sort();
    format!("median {:.1?} max {:.1?}", v[v.len() / 2], v[v.len() - 1])
}

/// Judges one resolver's waves.
fn judge(waves: &[Wave], tcp_h: &Honest, udp_h: &Honest) -> Result<String> {
    let limit = deadline();
    let share = share(TCP_CONNECTIONS);
    let resets = |way: Way| -> Vec<Duration> {
        waves
            .iter()
            .flatten()
            .filter(|(src, w, _)| *w == way && *src != OUTSIDE_CLIENT)
            .filter_map(|(_, _, f)| match f {
                Fate::Reset(d) => Some(*d),
                _ => None,
            })
            .collect()
    };
    let (trickle, partial) = (resets(Way::Trickle), resets(Way::Partial));
    let mut why = Vec::new();
    let held = waves
        .iter()
        .flatten()
        .filter(|(_, _, f)| *f == Fate::Held)
        .count();
    if held > 0 {
        why.push(format!(
            "{held} connections still open after {:?}",
            limit + RESET_SLACK
        ));
    }
    for d in trickle.iter().chain(&partial) {
        if *d > limit + RESET_SLACK || *d + Duration::from_millis(300) < limit {
            why.push(format!("a reset after {d:.1?}, deadline {limit:?}"));
            break;
        }
    }
    // One source at once: the tricklers of a wave connect together and live until the
    // deadline, so the accepted ones of a wave were all open at the same time.
    let per_wave: Vec<usize> = waves
        .iter()
        .map(|w| {
            w.iter()
                .filter(|(src, _, f)| *src == ATTACKER && *f != Fate::Refused)
                .count()
        })
        .collect();
    let most = per_wave.iter().copied().max().unwrap_or(0);
    if most > share {
        why.push(format!(
            "one source held {most} connections at once, share {share}"
        ));
    }
    if per_wave.contains(&0) {
        why.push("a wave where the trickling source got no connection at all".into());
    }
    let refused_one = waves
        .iter()
        .flatten()
        .filter(|(src, _, f)| *src == ATTACKER && *f == Fate::Refused)
        .count();
    let outside: Vec<Fate> = waves
        .iter()
        .flatten()
        .filter(|(src, _, _)| *src == OUTSIDE_CLIENT)
        .map(|(_, _, f)| *f)
        .collect();
    let outside_refused = outside.iter().filter(|f| **f == Fate::Refused).count();
    if outside_refused != outside.len() {
        why.push(format!(
            "{} of {} connections from the refused source got in",
            outside.len() - outside_refused,
            outside.len()
        ));
    }
    for (what, h) in [("TCP", tcp_h), ("UDP", udp_h)] {
        if !h.wrong.is_empty() || !few_lost(h.lost, h.asked) {
            why.push(format!(
                "honest {what} answered {}/{} ({} lost, at most {HONEST_LOSS_PCT}% may be): {}",
                h.answered,
                h.asked,
                h.lost,
                h.wrong
                    .iter()
                    .take(3)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join("; ")
            ));
        }
    }
    let m = format!(
        "trickling reset after {} (deadline {limit:?}), stalled prefix {}; one source held \
         at most {most} at once (share {share} of {TCP_CONNECTIONS}), {refused_one} refused at \
         accept; refused source {outside_refused}/{} refused at accept; honest TCP {}/{} \
         slowest {:.0?}, UDP {}/{} slowest {:.0?}",
        median_max(trickle),
        median_max(partial),
        outside.len(),
        tcp_h.answered,
        tcp_h.asked,
        tcp_h.slowest,
        udp_h.answered,
        udp_h.asked,
        udp_h.slowest,
    );
    if why.is_empty() {
        Ok(m)
    } else {
        Err(format!("{}: {m}", why.join("; ")))
    }
}

/// Item 11: boots both builds with `--tcp-connections=16`, attacks both at once, and
/// takes them down again (the item resolvers boot on the same TAPs and addresses).
pub(super) fn slowloris(lab: &Lab, mode: Mode, t: &mut Table) -> Result<()> {
    add_client_addrs(lab)?;
    let hints = format!("--root-hints={}", lab.root_hints());
    let conns = format!("--tcp-connections={TCP_CONNECTIONS}");
    let mut resolvers = boot_both(lab, &[hints.as_str(), conns.as_str()])?;
    for r in &resolvers {
        warm_up(lab, r)?;
        introduce(lab, server(r), HONEST_NAME)?;
    }
    let began = Instant::now();
    let (waves, tricklers, partials, outsiders) = sizes(mode);
    let outcomes = std::thread::scope(|s| {
        let hs: Vec<_> = resolvers
            .iter()
            .map(|r| {
                let to = server(r);
                s.spawn(move || lab.ns().run_inside(move || attack(to, mode)))
            })
            .collect();
        hs.into_iter()
            .map(|h| {
                h.join()
                    .map_err(|_| "the slowloris thread panicked".to_string())
                    .and_then(|r| r)
                    .and_then(|r| r)
            })
            .collect::<Vec<_>>()
    });
    for (r, o) in resolvers.iter_mut().zip(outcomes) {
        let kind = r.kind().name();
        let tried = format!(
            "{waves} waves of {tricklers} conns from one source trickling 1 B/{}s, {partials} \
             stalled prefixes, {outsiders} from a refused source",
            BYTE_EVERY.as_secs()
        );
        let res = o.and_then(|(w, tcp_h, udp_h)| judge(&w, &tcp_h, &udp_h));
        // Afterwards: still running, and answering.
        let res = res.and_then(|m| match r.guest.proc.try_status() {
            Some(st) => Err(format!("exited ({st}): {}; {m}", r.guest.proc.tail(6))),
            None => match lab.dig(r.v4, &["mail.shop.test", "A"]) {
                Ok(d) if d.status == "NOERROR" && !d.answer.is_empty() => Ok(format!(
                    "{m}; running and answering after ({:.0?})",
                    began.elapsed()
                )),
                Ok(d) => Err(format!("{m}; afterwards: {}", d.status)),
                Err(e) => Err(format!("{m}; afterwards: {e}")),
            },
        });
        t.record("11 slowloris", kind, tried, res);
    }
    // The item resolvers boot on these TAPs with these addresses and other MACs.
    drop(resolvers);
    lab.ns().ip(&["neigh", "flush", "dev", "br0"])?;
    Ok(())
}
