//! [`Fetch`]: one list download from its URL to the last body byte, across redirects,
//! with TLS for `https://`, its caps and its deadlines.

use alloc::vec::Vec;
use core::fmt;

use crate::http::{Get, HttpError, HttpLimits, Progress};
use crate::tls::{TlsConfig, TlsError, TlsSession};
use crate::url::{Host, Scheme, Url};

/// Default number of redirects followed.
pub const DEFAULT_MAX_REDIRECTS: u8 = 5;
/// Default time for the whole download, redirects included.
pub const DEFAULT_TOTAL_TIMEOUT_NS: u64 = 300_000_000_000;
/// Default time allowed without progress.
pub const DEFAULT_IDLE_TIMEOUT_NS: u64 = 15_000_000_000;
/// Default bytes that count as progress.
pub const DEFAULT_PROGRESS_BYTES: u64 = 1024;

/// The caps and deadlines of one download.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FetchLimits {
    pub http: HttpLimits,
    /// Redirects followed at most; one more is [`FetchError::TooManyRedirects`].
    pub max_redirects: u8,
    /// From [`Fetch::new`] to the last byte.
    pub total_timeout_ns: u64,
    /// Longest time without progress: from the connect request until connected, and
    /// between two progress marks after. A mark is `progress_bytes` received (or the end),
    /// so a server that drips a byte a second never makes one and is cut off, however
    /// often it sends.
    pub idle_timeout_ns: u64,
    pub progress_bytes: u64,
}

impl Default for FetchLimits {
    fn default() -> Self {
        FetchLimits {
            http: HttpLimits::default(),
            max_redirects: DEFAULT_MAX_REDIRECTS,
            total_timeout_ns: DEFAULT_TOTAL_TIMEOUT_NS,
            idle_timeout_ns: DEFAULT_IDLE_TIMEOUT_NS,
            progress_bytes: DEFAULT_PROGRESS_BYTES,
        }
    }
}

/// Why a download failed. The caller keeps the previous list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FetchError {
    Http(HttpError),
    Tls(TlsError),
    /// More than `max_redirects` redirects (a loop, or a long chain).
    TooManyRedirects,
    /// An `https://` URL (or a redirect to one) and no [`TlsConfig`].
    NoTls,
    /// The total deadline passed.
    Timeout,
    /// No progress within the idle deadline (server down, stalled or too slow).
    Stalled,
    /// The connection could not be made, or was reset (the caller says so).
    Connection,
    /// An `https://` list redirected to `http://`: what came would not be authenticated.
    Downgrade,
}

impl fmt::Display for FetchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FetchError::Http(e) => e.fmt(f),
            FetchError::Tls(e) => e.fmt(f),
            FetchError::TooManyRedirects => f.write_str("too many redirects"),
            FetchError::NoTls => f.write_str("https:// URL but TLS is not configured"),
            FetchError::Timeout => f.write_str("download took longer than its deadline"),
            FetchError::Stalled => f.write_str("server stalled or too slow"),
            FetchError::Connection => f.write_str("connection failed or reset"),
            FetchError::Downgrade => f.write_str("https:// list redirected to http://"),
        }
    }
}

impl From<HttpError> for FetchError {
    fn from(e: HttpError) -> Self {
        FetchError::Http(e)
    }
}

impl From<TlsError> for FetchError {
    fn from(e: TlsError) -> Self {
        FetchError::Tls(e)
    }
}

/// Where to open a TCP stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// A name the caller resolves, or an address.
    pub host: Host,
    pub port: u16,
    /// TLS runs over this stream (the caller does nothing different: informative).
    pub tls: bool,
}

/// What the caller must do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Close the stream you have (if any), open one to this endpoint and call
    /// [`Fetch::connected`] when it is up.
    Connect(Endpoint),
    /// The whole body went to the sink: the new list is complete. Close the stream.
    Done,
    /// The download failed: drop what the sink got, keep the previous list, abort the
    /// stream.
    Failed(FetchError),
}

#[derive(Debug)]
struct Conn {
    get: Get,
    tls: Option<TlsSession>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Phase {
    /// A `Connect` is to be reported.
    Connect,
    /// Waiting for [`Fetch::connected`].
    Connecting,
    Open,
    Finished(Option<FetchError>),
}

/// One list download, sans-IO. Call order:
///
/// 1. [`Fetch::new`], then [`poll_event`](Fetch::poll_event) gives `Connect(endpoint)`;
/// 2. when the stream is up, [`connected`](Fetch::connected); send
///    [`transmit`](Fetch::transmit) and report what went with
///    [`transmitted`](Fetch::transmitted) (again after every call below);
/// 3. every read: [`handle_input`](Fetch::handle_input) (body bytes go to the sink);
///    the peer's FIN: [`handle_eof`](Fetch::handle_eof); a failed or reset stream:
///    [`handle_connection_error`](Fetch::handle_connection_error);
/// 4. at [`poll_timeout`](Fetch::poll_timeout), [`handle_timeout`](Fetch::handle_timeout);
/// 5. after each call, drain [`poll_event`](Fetch::poll_event): another `Connect` (a
///    redirect), `Done` or `Failed`.
///
/// Time is `now_ns` (monotonic) everywhere; the wall clock is needed only to check
/// certificates, when a TLS session starts.
#[derive(Debug)]
pub struct Fetch {
    url: Url,
    limits: FetchLimits,
    tls: Option<TlsConfig>,
    phase: Phase,
    reported: bool,
    redirects: u8,
    deadline: u64,
    idle_deadline: u64,
    since_progress: u64,
    conn: Option<Conn>,
    body: u64,
    out: Vec<u8>,
    plain: Vec<u8>,
}

impl Fetch {
    /// A download of `url`; `tls` is needed for `https://` (here or after a redirect).
    pub fn new(url: Url, limits: FetchLimits, tls: Option<TlsConfig>, now_ns: u64) -> Fetch {
        Fetch {
            url,
            limits,
            tls,
            phase: Phase::Connect,
            reported: false,
            redirects: 0,
            deadline: now_ns.saturating_add(limits.total_timeout_ns),
            idle_deadline: now_ns.saturating_add(limits.idle_timeout_ns),
            since_progress: 0,
            conn: None,
            body: 0,
            out: Vec::new(),
            plain: Vec::new(),
        }
    }

    /// The URL being fetched now (after redirects, the last one).
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// Redirects followed so far.
    pub fn redirects(&self) -> u8 {
        self.redirects
    }

    /// Body bytes delivered so far.
    pub fn body_len(&self) -> u64 {
        self.conn.as_ref().map_or(self.body, |c| c.get.body_len())
    }

    #[must_use]
    pub fn poll_event(&mut self) -> Option<Event> {
        match &self.phase {
            Phase::Connect => {
                self.phase = Phase::Connecting;
                Some(Event::Connect(Endpoint {
                    host: self.url.host().clone(),
                    port: self.url.port(),
                    tls: self.url.scheme() == Scheme::Https,
                }))
            }
            Phase::Finished(r) if !self.reported => {
                self.reported = true;
                Some(match r {
                    None => Event::Done,
                    Some(e) => Event::Failed(*e),
                })
            }
            _ => None,
        }
    }

    /// The earliest deadline, ns; `None` once finished.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<u64> {
        match self.phase {
            Phase::Finished(_) => None,
            _ => Some(self.deadline.min(self.idle_deadline)),
        }
    }

    /// Bytes to send on the stream.
    #[must_use]
    pub fn transmit(&self) -> &[u8] {
        &self.out
    }

    /// `n` bytes of [`transmit`](Fetch::transmit) were sent.
    pub fn transmitted(&mut self, n: usize) {
        let n = n.min(self.out.len());
        self.out.drain(..n);
    }

    /// The stream asked for by the last `Connect` is up; `wall_ns` is the wall clock
    /// (ns since the Unix epoch), for certificate validity.
    pub fn connected(&mut self, now_ns: u64, wall_ns: u64) {
        if self.phase != Phase::Connecting {
            return;
        }
        self.phase = Phase::Open;
        self.progress(now_ns);
        self.out.clear();
        let get = Get::new(self.url.clone(), self.limits.http);
        let request = get.request();
        let tls = match self.url.scheme() {
            Scheme::Http => {
                self.out.extend_from_slice(&request);
                None
            }
            Scheme::Https => {
                let Some(cfg) = &self.tls else {
                    return self.fail(FetchError::NoTls);
                };
                let started = TlsSession::new(cfg, self.url.host(), wall_ns, &mut self.out)
                    .and_then(|mut s| s.send(&request, &mut self.out).map(|()| s));
                match started {
                    Ok(s) => Some(s),
                    Err(e) => return self.fail(e.into()),
                }
            }
        };
        self.conn = Some(Conn { get, tls });
    }

    /// Bytes read from the stream. Body bytes go to `sink`, in order, as they arrive.
    pub fn handle_input(&mut self, now_ns: u64, data: &[u8], sink: &mut dyn FnMut(&[u8])) {
        if self.phase != Phase::Open || self.expired(now_ns) {
            return;
        }
        self.since_progress = self.since_progress.saturating_add(data.len() as u64);
        if self.since_progress >= self.limits.progress_bytes {
            self.progress(now_ns);
        }
        let r = self.input(data, sink);
        self.settle(now_ns, r);
    }

    fn input(
        &mut self,
        mut data: &[u8],
        sink: &mut dyn FnMut(&[u8]),
    ) -> Result<Progress, FetchError> {
        let Some(conn) = self.conn.as_mut() else {
            return Ok(Progress::More);
        };
        let Some(tls) = conn.tls.as_mut() else {
            return Ok(conn.get.handle_data(data, sink)?);
        };
        loop {
            let used = tls.handle_input(data, &mut self.out, &mut self.plain)?;
            data = data.get(used..).unwrap_or_default();
            let plain = core::mem::take(&mut self.plain);
            let p = conn.get.handle_data(&plain, sink);
            // Keep the buffer's allocation for the next round.
            self.plain = plain;
            self.plain.clear();
            match p? {
                Progress::More if !data.is_empty() => continue,
                Progress::More if tls.peer_closed() => return Ok(conn.get.handle_eof(true)?),
                p => return Ok(p),
            }
        }
    }

    /// The peer closed its side of the stream (FIN).
    pub fn handle_eof(&mut self, now_ns: u64) {
        if self.phase != Phase::Open || self.expired(now_ns) {
            return;
        }
        let r = match self.conn.as_mut() {
            // Without close_notify a TLS stream's end may be an attacker's cut.
            Some(c) => {
                let clean = c.tls.as_ref().is_none_or(TlsSession::peer_closed);
                c.get.handle_eof(clean).map_err(FetchError::from)
            }
            None => Err(FetchError::Connection),
        };
        self.settle(now_ns, r);
    }

    /// The stream could not be opened, or was reset.
    pub fn handle_connection_error(&mut self, _now_ns: u64) {
        if matches!(self.phase, Phase::Connecting | Phase::Open) {
            self.fail(FetchError::Connection);
        }
    }

    /// Checks the deadlines; a spurious call is a no-op.
    pub fn handle_timeout(&mut self, now_ns: u64) {
        let _ = self.expired(now_ns);
    }

    fn expired(&mut self, now_ns: u64) -> bool {
        if matches!(self.phase, Phase::Finished(_)) {
            return true;
        }
        if now_ns >= self.deadline {
            self.fail(FetchError::Timeout);
        } else if now_ns >= self.idle_deadline {
            self.fail(FetchError::Stalled);
        } else {
            return false;
        }
        true
    }

    fn progress(&mut self, now_ns: u64) {
        self.since_progress = 0;
        self.idle_deadline = now_ns.saturating_add(self.limits.idle_timeout_ns);
    }

    fn settle(&mut self, now_ns: u64, r: Result<Progress, FetchError>) {
        match r {
            Ok(Progress::More) => {}
            Ok(Progress::Done) => self.finish(None),
            Ok(Progress::Redirect(url)) => {
                if self.redirects >= self.limits.max_redirects {
                    return self.fail(FetchError::TooManyRedirects);
                }
                if self.url.scheme() == Scheme::Https && url.scheme() == Scheme::Http {
                    return self.fail(FetchError::Downgrade);
                }
                self.redirects += 1;
                self.url = url;
                self.conn = None;
                self.out.clear();
                self.phase = Phase::Connect;
                self.progress(now_ns);
            }
            Err(e) => self.fail(e),
        }
    }

    fn fail(&mut self, e: FetchError) {
        self.finish(Some(e));
    }

    fn finish(&mut self, r: Option<FetchError>) {
        if matches!(self.phase, Phase::Finished(_)) {
            return;
        }
        self.phase = Phase::Finished(r);
        if let Some(c) = self.conn.take() {
            self.body = c.get.body_len();
        }
        self.out.clear();
    }
}
