//! The block list service: each `--dns-blocklist-url` fetched at boot and every
//! `--blocklist-refresh`, over a netstack stream (`connect_tcp`), with its host name
//! resolved by the engine itself ([`Engine::lookup`]), parsed as it arrives and handed
//! to the engine whole ([`Engine::set_blocklist`]) when the download is complete.
//!
//! The sans-IO pieces are the `fetch` crate's ([`Fetch`], [`ListParser`]); this module
//! only moves bytes and events between them, the netstack and the engine:
//! - a download reads at most [`CHUNK`] bytes per main-loop round, so its parse (and
//!   its TLS) is bounded work between two polls of the network: answers keep flowing
//!   while a list of a million lines loads;
//! - a failed download (no address, refused, 404, a redirect loop, a bad certificate,
//!   a stall, too big) keeps the list in force, logs one line, counts it, and is
//!   retried after [`RETRY_FIRST_NS`], doubling up to the refresh interval;
//! - the new list is built aside (its domains as 8-byte keys) and swapped in at once.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use core::net::{IpAddr, SocketAddr};

use engine::{BlocklistBuilder, Engine, Instant, LookupResult, LookupType};
use fetch::list::{ListLimits, ListParser};
use fetch::{Event as FetchEvent, Fetch, FetchError, FetchLimits, Host, TlsConfig, Url};
use netstack::{SocketEvent, Stack, StreamHandle, StreamLimits};

use crate::nic::PlatformNic;

/// Bytes read from one stream per main-loop round.
pub const CHUNK: usize = 16 * 1024;
/// The first retry after a failure; each further failure doubles it, up to the
/// refresh interval (and at most an hour).
pub const RETRY_FIRST_NS: u64 = 10_000_000_000;
/// Longest retry interval.
const RETRY_MAX_NS: u64 = 3_600_000_000_000;
/// Stream buffers: a whole TLS record fits the receive buffer.
const STREAM: StreamLimits = StreamLimits {
    rx_buffer: 64 * 1024,
    tx_buffer: 8 * 1024,
    idle_timeout_ns: 30_000_000_000,
};
/// Downloads at once at most: below the netstack's cap on the application's outgoing
/// streams (`NetLimits::tcp_connects`, 4), and lists are not urgent. The others wait
/// their turn.
pub const MAX_PARALLEL: usize = 2;
/// First list id (0 is `--dns-block`).
const FIRST_ID: u16 = 1;

/// How the last fetch of a list ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Loaded: the list in force is this one.
    Loaded,
    /// The host name had no address (the lookup's reason).
    NoAddress(String),
    /// The download failed.
    Fetch(FetchError),
    /// The engine refused the list (a cap over all lists).
    Refused(String),
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Loaded => f.write_str("ok"),
            Outcome::NoAddress(why) => write!(f, "host not resolved: {why}"),
            Outcome::Fetch(e) => write!(f, "{e}"),
            Outcome::Refused(why) => write!(f, "list refused: {why}"),
        }
    }
}

/// One list's fetch counters (its domains and hits are the engine's).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FetchStats {
    /// Fetches started.
    pub fetches: u64,
    /// Fetches that failed.
    pub failures: u64,
    /// Lines the last complete download's parser skipped as not a domain (invalid,
    /// unsupported forms, too long, past the cap), and names the engine refused.
    pub lines_rejected: u64,
    /// Lines of the last complete download.
    pub lines: u64,
    /// Body bytes of the last complete download.
    pub bytes: u64,
    /// Wall clock (seconds since the epoch) of the end of the last fetch; 0: none yet.
    pub last_fetch_secs: u64,
    /// How it ended; `None` before the first one ends.
    pub last: Option<Outcome>,
    /// Milliseconds the last complete download took, from its start to live.
    pub last_ms: u64,
}

/// A list being parsed.
struct Parse {
    parser: ListParser,
    builder: BlocklistBuilder,
}

impl Parse {
    fn feed(&mut self, bytes: &[u8]) {
        let b = &mut self.builder;
        self.parser.feed(bytes, &mut |d| {
            let _ = b.insert(d);
        });
    }
}

/// Where a download is.
enum State {
    /// Waiting for `next_at`.
    Idle,
    /// The engine is looking up the host of the `Connect` endpoint.
    Resolving {
        token: u16,
        port: u16,
        /// The address type asked; the other is tried after it when both are usable.
        asked: LookupType,
    },
    /// A stream to the endpoint is open or opening.
    Stream(StreamHandle),
}

/// A download in progress.
struct Active {
    fetch: Fetch,
    parse: Parse,
    state: State,
    started_ns: u64,
}

struct Job {
    id: u16,
    url: Url,
    source: String,
    next_at: u64,
    failures_in_row: u32,
    active: Option<Box<Active>>,
    stats: FetchStats,
}

/// Every list's download, and what they share.
pub struct Lists {
    jobs: Vec<Job>,
    tls: Option<TlsConfig>,
    refresh_ns: u64,
    limits: FetchLimits,
    use_v4: bool,
    use_v6: bool,
    /// xorshift64 state for local ports.
    ports: u64,
    /// A stream read a full chunk last round: come straight back.
    busy: bool,
    /// The read buffer ([`CHUNK`] bytes, on the heap: bare-metal stacks are small).
    buf: Vec<u8>,
}

/// Why the list service could not start (a boot error).
#[derive(Debug)]
pub enum ListsError {
    /// A URL the fetcher refuses (the config crate let it through).
    Url(String, fetch::UrlError),
    /// A `--tls-ca` that is no usable trust anchor.
    Ca(fetch::tls::CaError),
}

impl fmt::Display for ListsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ListsError::Url(u, e) => write!(f, "--dns-blocklist-url: {u:?}: {e}"),
            ListsError::Ca(e) => write!(f, "--tls-ca: {e}"),
        }
    }
}

impl Lists {
    /// The downloads of `urls`, the first at `now`. TLS (the public roots and `cas`)
    /// is set up only when a URL or a CA needs it.
    pub fn new(
        urls: &[String],
        cas: &[Vec<u8>],
        refresh_secs: u32,
        (use_v4, use_v6): (bool, bool),
        seed: u64,
        now: u64,
    ) -> Result<Lists, ListsError> {
        let mut jobs = Vec::new();
        for (i, u) in urls.iter().enumerate() {
            let url = Url::parse(u).map_err(|e| ListsError::Url(u.clone(), e))?;
            jobs.push(Job {
                id: FIRST_ID.saturating_add(i as u16),
                url,
                source: u.clone(),
                next_at: now,
                failures_in_row: 0,
                active: None,
                stats: FetchStats::default(),
            });
        }
        let https = jobs.iter().any(|j| j.url.scheme() == fetch::Scheme::Https);
        let tls = if https || !cas.is_empty() {
            let extra: Vec<&[u8]> = cas.iter().map(Vec::as_slice).collect();
            Some(TlsConfig::new(&extra).map_err(ListsError::Ca)?)
        } else {
            None
        };
        Ok(Lists {
            jobs,
            tls,
            refresh_ns: u64::from(refresh_secs) * 1_000_000_000,
            limits: FetchLimits::default(),
            use_v4,
            use_v6,
            ports: seed | 1,
            busy: false,
            buf: alloc::vec![0; CHUNK],
        })
    }

    /// Whether there is no list to fetch.
    pub fn is_empty(&self) -> bool {
        self.jobs.is_empty()
    }

    /// Each list's id, URL and fetch counters.
    pub fn stats(&self) -> impl Iterator<Item = (u16, &str, &FetchStats)> {
        self.jobs
            .iter()
            .map(|j| (j.id, j.source.as_str(), &j.stats))
    }

    /// The earliest time [`Lists::handle_timeout`] has work; `now` itself while a
    /// stream has more to read.
    pub fn poll_timeout(&self, now: u64) -> Option<u64> {
        if self.busy {
            return Some(now);
        }
        // Lists waiting for a free slot wake nothing: the end of a download (an event)
        // brings the loop round again.
        let full = self.jobs.iter().filter(|j| j.active.is_some()).count() >= MAX_PARALLEL;
        self.jobs
            .iter()
            .map(|j| match &j.active {
                None if full => None,
                None => Some(j.next_at),
                Some(a) => a.fetch.poll_timeout(),
            })
            .fold(None, |acc: Option<u64>, t| match (acc, t) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            })
    }

    /// Starts downloads that are due, checks deadlines, and reads a chunk from every
    /// stream that has one.
    pub fn handle_timeout(
        &mut self,
        now: u64,
        engine: &mut Engine,
        stack: &mut Stack<PlatformNic>,
    ) {
        self.busy = false;
        let mut running = self.jobs.iter().filter(|j| j.active.is_some()).count();
        for i in 0..self.jobs.len() {
            let Some(job) = self.jobs.get_mut(i) else {
                continue;
            };
            match &mut job.active {
                None if now >= job.next_at && running < MAX_PARALLEL => {
                    running += 1;
                    job.stats.fetches += 1;
                    log::info!("blocklist {}: fetching {}", job.id, job.source);
                    let fetch = Fetch::new(job.url.clone(), self.limits, self.tls.clone(), now);
                    job.active = Some(Box::new(Active {
                        fetch,
                        parse: Parse {
                            parser: ListParser::new(ListLimits::default()),
                            builder: engine.blocklist_builder(),
                        },
                        state: State::Idle,
                        started_ns: now,
                    }));
                }
                Some(a) => {
                    a.fetch.handle_timeout(now);
                    // A stream whose data waits (its Readable is not re-queued until the
                    // next poll) is read here too.
                    if let State::Stream(s) = a.state {
                        self.read(i, s, now, stack);
                    }
                }
                None => {}
            }
            self.progress(i, now, engine, stack);
        }
    }

    /// A socket event for one of the streams.
    pub fn handle_socket(
        &mut self,
        ev: SocketEvent,
        now: u64,
        engine: &mut Engine,
        stack: &mut Stack<PlatformNic>,
    ) {
        let stream = match &ev {
            SocketEvent::Connected { stream }
            | SocketEvent::ConnectFailed { stream }
            | SocketEvent::Readable { stream }
            | SocketEvent::Writable { stream }
            | SocketEvent::Closed { stream, .. } => *stream,
            other => {
                log::debug!("blocklist: socket event for no list: {other:?}");
                return;
            }
        };
        let Some(i) = self.jobs.iter().position(|j| {
            j.active
                .as_ref()
                .is_some_and(|a| matches!(a.state, State::Stream(s) if s == stream))
        }) else {
            return;
        };
        let wall = stack.nic().platform.wall_clock_ns();
        if let Some(a) = self.jobs.get_mut(i).and_then(|j| j.active.as_mut()) {
            match ev {
                SocketEvent::Connected { .. } => a.fetch.connected(now, wall),
                SocketEvent::ConnectFailed { .. } | SocketEvent::Closed { .. } => {
                    a.state = State::Idle;
                    a.fetch.handle_connection_error(now);
                }
                _ => {}
            }
        }
        if matches!(ev, SocketEvent::Readable { .. }) {
            self.read(i, stream, now, stack);
        }
        self.progress(i, now, engine, stack);
    }

    /// A lookup the engine finished (one of ours, or none).
    pub fn handle_lookup(
        &mut self,
        r: LookupResult,
        now: u64,
        engine: &mut Engine,
        stack: &mut Stack<PlatformNic>,
    ) {
        let Some(i) = self.jobs.iter().position(|j| {
            j.active.as_ref().is_some_and(
                |a| matches!(a.state, State::Resolving { token, .. } if token == r.token),
            )
        }) else {
            return;
        };
        let (use_v4, use_v6) = (self.use_v4, self.use_v6);
        let Some(job) = self.jobs.get_mut(i) else {
            return;
        };
        let Some(a) = job.active.as_mut() else {
            return;
        };
        let State::Resolving { port, asked, .. } = a.state else {
            return;
        };
        match r.result {
            Ok(addrs) => {
                let Some(ip) = addrs.iter().copied().find(|ip| usable(*ip, use_v4, use_v6)) else {
                    let why = alloc::format!("{}: no usable address", a.fetch.url().host());
                    return self.fail(i, now, Outcome::NoAddress(why), stack);
                };
                log::debug!("blocklist {}: {} is {ip}", job.id, a.fetch.url().host());
                self.connect(i, SocketAddr::new(ip, port), now, stack);
            }
            Err(e) => {
                // The other address family, when both can be used.
                if asked == LookupType::A && use_v4 && use_v6 {
                    let host = alloc::format!("{}", a.fetch.url().host());
                    if let Ok(token) =
                        engine.lookup(Instant::from_nanos(now), &host, LookupType::Aaaa)
                    {
                        a.state = State::Resolving {
                            token,
                            port,
                            asked: LookupType::Aaaa,
                        };
                        return;
                    }
                }
                let host = alloc::format!("{}", a.fetch.url().host());
                self.fail(
                    i,
                    now,
                    Outcome::NoAddress(alloc::format!("{host}: {e}")),
                    stack,
                );
            }
        }
        self.progress(i, now, engine, stack);
    }

    /// Reads one chunk from `stream` into download `i`.
    fn read(&mut self, i: usize, stream: StreamHandle, now: u64, stack: &mut Stack<PlatformNic>) {
        let Some(a) = self.jobs.get_mut(i).and_then(|j| j.active.as_mut()) else {
            return;
        };
        let buf = &mut self.buf;
        match stack.recv(stream, buf) {
            Ok(0) => {}
            Ok(n) => {
                let data = buf.get(..n).unwrap_or_default();
                let parse = &mut a.parse;
                a.fetch
                    .handle_input(now, data, &mut |body| parse.feed(body));
                if n == CHUNK {
                    self.busy = true;
                }
            }
            Err(netstack::RecvError::Finished) => a.fetch.handle_eof(now),
            Err(netstack::RecvError::UnknownStream) => {
                a.state = State::Idle;
                a.fetch.handle_connection_error(now);
            }
        }
    }

    /// Sends what download `i` has to send and acts on its events.
    fn progress(
        &mut self,
        i: usize,
        now: u64,
        engine: &mut Engine,
        stack: &mut Stack<PlatformNic>,
    ) {
        loop {
            let Some(a) = self.jobs.get_mut(i).and_then(|j| j.active.as_mut()) else {
                return;
            };
            if let State::Stream(s) = a.state {
                let out = a.fetch.transmit();
                if !out.is_empty() {
                    let n = stack.send(s, out).unwrap_or(0);
                    a.fetch.transmitted(n);
                }
            }
            let Some(ev) = a.fetch.poll_event() else {
                return;
            };
            match ev {
                FetchEvent::Connect(ep) => {
                    if let State::Stream(s) = core::mem::replace(&mut a.state, State::Idle) {
                        let _ = stack.close(s);
                    }
                    match ep.host {
                        Host::Ip(ip) => self.connect(i, SocketAddr::new(ip, ep.port), now, stack),
                        Host::Name(name) => {
                            let asked = if self.use_v4 {
                                LookupType::A
                            } else {
                                LookupType::Aaaa
                            };
                            match engine.lookup(Instant::from_nanos(now), &name, asked) {
                                Ok(token) => {
                                    a.state = State::Resolving {
                                        token,
                                        port: ep.port,
                                        asked,
                                    };
                                }
                                Err(e) => {
                                    let why = alloc::format!("{name}: {e}");
                                    self.fail(i, now, Outcome::NoAddress(why), stack);
                                    return;
                                }
                            }
                        }
                    }
                }
                FetchEvent::Done => return self.done(i, now, engine, stack),
                FetchEvent::Failed(e) => return self.fail(i, now, Outcome::Fetch(e), stack),
            }
        }
    }

    /// Opens a stream for download `i`.
    fn connect(&mut self, i: usize, to: SocketAddr, now: u64, stack: &mut Stack<PlatformNic>) {
        let mut opened = Err(netstack::OpenError::PortInUse);
        for _ in 0..8 {
            let port = self.next_port();
            opened = stack.connect_tcp(to, port, STREAM);
            if opened != Err(netstack::OpenError::PortInUse) {
                break;
            }
        }
        let Some(job) = self.jobs.get_mut(i) else {
            if let Ok(s) = opened {
                let _ = stack.abort(s);
            }
            return;
        };
        let id = job.id;
        let Some(a) = job.active.as_mut() else {
            if let Ok(s) = opened {
                let _ = stack.abort(s);
            }
            return;
        };
        match opened {
            Ok(s) => {
                log::debug!("blocklist {id}: connecting to {to}");
                a.state = State::Stream(s);
            }
            Err(e) => {
                log::info!("blocklist {id}: no stream to {to}: {e:?}");
                a.state = State::Idle;
                a.fetch.handle_connection_error(now);
            }
        }
    }

    fn next_port(&mut self) -> u16 {
        let mut x = self.ports;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.ports = x;
        49_152 + (x % 16_384) as u16
    }

    /// Download `i` is complete: the new list goes live.
    fn done(&mut self, i: usize, now: u64, engine: &mut Engine, stack: &mut Stack<PlatformNic>) {
        let wall = stack.nic().platform.wall_clock_ns();
        let refresh = self.refresh_ns;
        let Some(job) = self.jobs.get_mut(i) else {
            return;
        };
        let Some(a) = job.active.take() else {
            return;
        };
        if let State::Stream(s) = a.state {
            let _ = stack.close(s);
        }
        let Parse {
            mut parser,
            mut builder,
        } = a.parse;
        parser.finish(&mut |d| {
            let _ = builder.insert(d);
        });
        let ps = *parser.stats();
        let bytes = a.fetch.body_len();
        let refused = builder.rejected();
        let outcome = match engine.set_blocklist(job.id, &job.source, builder) {
            Ok(domains) => {
                let ms = (stack.nic().platform.now().saturating_sub(a.started_ns)) / 1_000_000;
                let table = engine
                    .policy_stats()
                    .lists
                    .iter()
                    .find(|l| l.id == job.id)
                    .map_or(0, |l| l.heap_bytes);
                log::info!(
                    "blocklist {}: loaded {} domains from {} lines ({} bytes) in {} ms, table {} \
                     KiB; skipped {} comments, {} invalid, {} unsupported, {} too long, {} over \
                     the cap, {} local names, {} refused",
                    job.id,
                    domains,
                    ps.lines,
                    bytes,
                    ms,
                    table.div_ceil(1024),
                    ps.comments,
                    ps.invalid,
                    ps.unsupported,
                    ps.too_long,
                    ps.over_cap,
                    ps.local_names,
                    refused
                );
                job.stats.lines = ps.lines;
                job.stats.bytes = bytes;
                job.stats.lines_rejected =
                    ps.invalid + ps.unsupported + ps.too_long + ps.over_cap + refused;
                job.stats.last_ms = ms;
                job.failures_in_row = 0;
                job.next_at = now.saturating_add(refresh);
                Outcome::Loaded
            }
            Err(e) => {
                log::warn!(
                    "blocklist {}: not loaded, the previous list stays: {e}",
                    job.id
                );
                job.stats.failures += 1;
                job.next_at = now.saturating_add(refresh);
                Outcome::Refused(alloc::format!("{e}"))
            }
        };
        job.stats.last = Some(outcome);
        job.stats.last_fetch_secs = wall / 1_000_000_000;
    }

    /// Download `i` failed: the list in force stays; retry with backoff.
    fn fail(&mut self, i: usize, now: u64, why: Outcome, stack: &mut Stack<PlatformNic>) {
        let wall = stack.nic().platform.wall_clock_ns();
        let refresh = self.refresh_ns;
        let Some(job) = self.jobs.get_mut(i) else {
            return;
        };
        if let Some(a) = job.active.take()
            && let State::Stream(s) = a.state
        {
            let _ = stack.abort(s);
        }
        job.failures_in_row = job.failures_in_row.saturating_add(1);
        let backoff = backoff_ns(job.failures_in_row, refresh);
        job.next_at = now.saturating_add(backoff);
        job.stats.failures += 1;
        log::warn!(
            "blocklist {}: fetch of {} failed: {why}; the previous list stays, retry in {} s",
            job.id,
            job.source,
            backoff / 1_000_000_000
        );
        job.stats.last = Some(why);
        job.stats.last_fetch_secs = wall / 1_000_000_000;
    }
}

/// The wait before the next try after `failures` failures in a row: 10 s, doubling,
/// never more than the refresh interval (nor an hour).
fn backoff_ns(failures: u32, refresh_ns: u64) -> u64 {
    RETRY_FIRST_NS
        .saturating_mul(1u64 << failures.saturating_sub(1).min(20))
        .min(refresh_ns.max(RETRY_FIRST_NS))
        .min(RETRY_MAX_NS)
}

/// Whether `ip` can be reached with the address families in use.
fn usable(ip: IpAddr, v4: bool, v6: bool) -> bool {
    match ip {
        IpAddr::V4(_) => v4,
        IpAddr::V6(_) => v6,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1_000_000_000;

    #[test]
    fn backoff_doubles_up_to_the_refresh_and_an_hour() {
        let day = 86_400 * S;
        let waits: Vec<u64> = (1..=11).map(|n| backoff_ns(n, day) / S).collect();
        assert_eq!(
            waits,
            [10, 20, 40, 80, 160, 320, 640, 1280, 2560, 3600, 3600]
        );
        assert_eq!(backoff_ns(u32::MAX, day), 3600 * S);
        // A short refresh caps it; never under the first retry.
        assert_eq!(backoff_ns(5, 30 * S), 30 * S);
        assert_eq!(backoff_ns(1, 5 * S), 10 * S);
    }

    #[test]
    fn boot_errors_are_one_line() {
        let bad = Lists::new(
            &["gopher://x.example/".into()],
            &[],
            60,
            (true, false),
            1,
            0,
        );
        let e = bad.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(
            e.starts_with("--dns-blocklist-url: \"gopher://x.example/\": "),
            "{e}"
        );
        let ca = Lists::new(&[], &[vec![0x30, 3, 2, 1, 1]], 60, (true, false), 1, 0);
        let e = ca.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(e.starts_with("--tls-ca: CA #0"), "{e}");
        let ok = Lists::new(&["http://10.0.0.1/l".into()], &[], 60, (true, false), 1, 5);
        let ok = ok.unwrap_or_else(|e| panic!("{e}"));
        assert!(
            !ok.is_empty() && ok.tls.is_none(),
            "no TLS without https or a CA"
        );
        assert_eq!(
            ok.poll_timeout(5),
            Some(5),
            "the first fetch is due at boot"
        );
    }

    #[test]
    fn local_ports_stay_in_the_dynamic_range() {
        let mut l =
            Lists::new(&[], &[], 60, (true, false), 0x1234, 0).unwrap_or_else(|e| panic!("{e}"));
        let ports: Vec<u16> = (0..1000).map(|_| l.next_port()).collect();
        assert!(ports.iter().all(|p| *p >= 49_152));
        assert!(ports.windows(2).filter(|w| w[0] == w[1]).count() < 5);
    }
}
