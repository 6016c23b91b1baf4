//! One HTTP/1.1 GET over one connection, sans-IO: [`Get::request`] gives the bytes to
//! send; [`Get::handle_data`] takes what arrives and streams the body out; the
//! response head is parsed with `httparse`. Bodies are `Content-Length`, chunked
//! (extensions and trailers read and dropped) or delimited by the connection's close.
//!
//! What it answers: [`Progress::Done`] (a 200's whole body went to the sink),
//! [`Progress::Redirect`] (301/302/303/307/308 with a `Location`; its body is not read),
//! or an [`HttpError`]. It never holds more than the head (≤ `max_header`) and one
//! chunk-size line.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use crate::url::{Url, UrlError};

/// Default cap on the body: the largest public lists are about 30 MB.
pub const DEFAULT_MAX_BODY: u64 = 64 << 20;
/// Default cap on the response head (status line and headers), and on the trailers.
pub const DEFAULT_MAX_HEADER: usize = 16 << 10;
/// Headers in one response head at most (`httparse` needs a fixed table).
pub const MAX_HEADERS: usize = 64;
/// Longest chunk-size line (size and extensions).
pub const MAX_CHUNK_LINE: usize = 1024;
/// Interim (1xx) responses skipped at most before the real one.
pub const MAX_INTERIM: u8 = 8;

/// The caps of one response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpLimits {
    pub max_body: u64,
    pub max_header: usize,
}

impl Default for HttpLimits {
    fn default() -> Self {
        HttpLimits {
            max_body: DEFAULT_MAX_BODY,
            max_header: DEFAULT_MAX_HEADER,
        }
    }
}

/// Why a response was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpError {
    /// The head (or the trailers) grew past `max_header` without ending.
    HeaderTooLarge,
    /// The head is not HTTP/1.x (`httparse`'s reason).
    BadHead(httparse::Error),
    /// More than [`MAX_INTERIM`] 1xx responses.
    TooManyInterim,
    /// A final status other than 200 and the redirects.
    Status(u16),
    /// A redirect without a usable `Location`.
    BadRedirect(Option<UrlError>),
    /// `Content-Length` not a number, or several that disagree.
    BadLength,
    /// A `Transfer-Encoding` or `Content-Encoding` this client did not ask for.
    UnsupportedEncoding,
    /// A malformed chunk-size line or chunk end.
    BadChunk,
    /// The body is larger than `max_body` (said by `Content-Length` or seen).
    BodyTooLarge,
    /// The connection ended before the body did.
    Truncated,
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HttpError::HeaderTooLarge => f.write_str("response head too large"),
            HttpError::BadHead(e) => write!(f, "malformed response head: {e}"),
            HttpError::TooManyInterim => f.write_str("too many 1xx interim responses"),
            HttpError::Status(s) => write!(f, "server answered HTTP {s}"),
            HttpError::BadRedirect(None) => f.write_str("redirect without a Location header"),
            HttpError::BadRedirect(Some(e)) => write!(f, "redirect to a bad Location: {e}"),
            HttpError::BadLength => f.write_str("malformed Content-Length"),
            HttpError::UnsupportedEncoding => {
                f.write_str("response uses a transfer or content coding other than chunked")
            }
            HttpError::BadChunk => f.write_str("malformed chunked body"),
            HttpError::BodyTooLarge => f.write_str("body larger than the size cap"),
            HttpError::Truncated => f.write_str("connection closed before the body ended"),
        }
    }
}

/// What a response has come to so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// More bytes are needed.
    More,
    /// The whole body of a 200 went to the sink.
    Done,
    /// Fetch this URL instead (the caller counts the hops).
    Redirect(Url),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chunk {
    /// Reading hex digits (value so far, digits so far).
    Size(u64, u8),
    /// After the digits: whitespace or `;ext` up to the line end (bytes so far).
    Ext(u64, usize),
    /// The CR of the size line's end was seen.
    SizeLf(u64),
    Data(u64),
    DataCr,
    DataLf,
    /// Trailer lines; `true` at a line's start. Bytes so far in the count.
    Trailer(bool, usize),
    TrailerLf,
}

/// What the head buffered so far is.
enum Head {
    Partial,
    /// A 1xx of this length: the real head follows.
    Interim(usize),
    /// The final head's length and, when no body is to be read, the outcome.
    Final(usize, Option<Progress>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Head { interim: u8 },
    Length(u64),
    Chunked(Chunk),
    UntilClose,
    Done,
}

/// One GET and its response.
#[derive(Debug)]
pub struct Get {
    url: Url,
    limits: HttpLimits,
    state: State,
    head: Vec<u8>,
    body: u64,
}

impl Get {
    pub fn new(url: Url, limits: HttpLimits) -> Get {
        Get {
            url,
            limits,
            state: State::Head { interim: 0 },
            head: Vec::new(),
            body: 0,
        }
    }

    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The request: no compression (the body streams to a line parser), no keep-alive.
    pub fn request(&self) -> Vec<u8> {
        let mut r = String::new();
        r.push_str("GET ");
        r.push_str(&self.url.path_and_query());
        r.push_str(" HTTP/1.1\r\nHost: ");
        r.push_str(&self.url.authority());
        r.push_str(
            "\r\nUser-Agent: unikernel-resolver/0.1\r\nAccept: */*\r\n\
             Accept-Encoding: identity\r\nConnection: close\r\n\r\n",
        );
        r.into_bytes()
    }

    /// Body bytes passed to the sink so far.
    pub fn body_len(&self) -> u64 {
        self.body
    }

    /// Takes bytes from the connection; body bytes go to `sink` as they arrive.
    pub fn handle_data(
        &mut self,
        mut data: &[u8],
        sink: &mut dyn FnMut(&[u8]),
    ) -> Result<Progress, HttpError> {
        loop {
            match self.state {
                State::Done => return Ok(Progress::Done),
                State::Head { interim } => {
                    if data.is_empty() {
                        return Ok(Progress::More);
                    }
                    let room = self.limits.max_header.saturating_sub(self.head.len());
                    let take = data.len().min(room.max(1));
                    let (now, rest) = data.split_at(take);
                    let had = self.head.len();
                    self.head.extend_from_slice(now);
                    // Only a line end can complete the head: skip the parse otherwise,
                    // so that a head dripping in byte by byte costs linear time.
                    let full = self.head.len() >= self.limits.max_header;
                    let parsed = if full || now.contains(&b'\n') {
                        self.parse_head(interim)?
                    } else {
                        Head::Partial
                    };
                    let (len, step) = match parsed {
                        Head::Partial => {
                            if full {
                                return Err(HttpError::HeaderTooLarge);
                            }
                            data = rest;
                            continue;
                        }
                        Head::Interim(len) => (len, None),
                        Head::Final(len, step) => (len, Some(step)),
                    };
                    // What followed the head in this read is body (or, after a 1xx, the
                    // next head).
                    let used_now = len.saturating_sub(had);
                    let mut leftover = now.get(used_now..).unwrap_or(&[]).to_vec();
                    leftover.extend_from_slice(rest);
                    self.head.clear();
                    match step {
                        None => {
                            self.state = State::Head {
                                interim: interim + 1,
                            };
                            // At most MAX_INTERIM deep.
                            return self.handle_data(&leftover, sink);
                        }
                        Some(Some(p)) => return Ok(p),
                        Some(None) => return self.body_data(&leftover, sink),
                    }
                }
                _ => return self.body_data(data, sink),
            }
        }
    }

    /// The connection ended. `clean`: the end is authenticated (TLS close_notify) or
    /// the transport has no such thing (plain TCP); only then may a body delimited by the
    /// close be complete.
    pub fn handle_eof(&mut self, clean: bool) -> Result<Progress, HttpError> {
        match self.state {
            State::Done => Ok(Progress::Done),
            State::UntilClose if clean => {
                self.state = State::Done;
                Ok(Progress::Done)
            }
            // A chunked body whose last chunk came but not the final line end: the list
            // is whole.
            State::Chunked(Chunk::Trailer(true, _)) => {
                self.state = State::Done;
                Ok(Progress::Done)
            }
            // A head cut short: report what is wrong with it if anything is (the parse
            // runs only at line ends, so garbage after the last one is checked here).
            State::Head { interim } if !self.head.is_empty() => match self.parse_head(interim) {
                Err(e) => Err(e),
                Ok(_) => Err(HttpError::Truncated),
            },
            _ => Err(HttpError::Truncated),
        }
    }

    /// Parses the head buffered so far.
    fn parse_head(&mut self, interim: u8) -> Result<Head, HttpError> {
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut resp = httparse::Response::new(&mut headers);
        let len = match resp.parse(&self.head).map_err(HttpError::BadHead)? {
            httparse::Status::Partial => return Ok(Head::Partial),
            httparse::Status::Complete(n) => n,
        };
        let code = resp.code.unwrap_or(0);
        if (100..200).contains(&code) {
            if interim >= MAX_INTERIM {
                return Err(HttpError::TooManyInterim);
            }
            return Ok(Head::Interim(len));
        }
        let mut location = None;
        let mut length: Option<u64> = None;
        let mut chunked = false;
        for h in resp.headers.iter() {
            let name = h.name;
            let value = h.value.trim_ascii();
            if name.eq_ignore_ascii_case("location") {
                location = Some(value);
            } else if name.eq_ignore_ascii_case("content-length") {
                let n = parse_length(value).ok_or(HttpError::BadLength)?;
                if length.is_some_and(|l| l != n) {
                    return Err(HttpError::BadLength);
                }
                length = Some(n);
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                for coding in value.split(|b| *b == b',') {
                    let coding = coding.trim_ascii();
                    if coding.eq_ignore_ascii_case(b"chunked") {
                        chunked = true;
                    } else if !coding.is_empty() && !coding.eq_ignore_ascii_case(b"identity") {
                        return Err(HttpError::UnsupportedEncoding);
                    }
                }
            } else if name.eq_ignore_ascii_case("content-encoding")
                && !value.is_empty()
                && !value.eq_ignore_ascii_case(b"identity")
            {
                return Err(HttpError::UnsupportedEncoding);
            }
        }
        match code {
            200 => {}
            301 | 302 | 303 | 307 | 308 => {
                let loc = location.ok_or(HttpError::BadRedirect(None))?;
                let loc = core::str::from_utf8(loc)
                    .map_err(|_| HttpError::BadRedirect(Some(UrlError::Scheme)))
                    .and_then(|l| {
                        self.url
                            .join(l)
                            .map_err(|e| HttpError::BadRedirect(Some(e)))
                    })?;
                self.state = State::Done;
                return Ok(Head::Final(len, Some(Progress::Redirect(loc))));
            }
            other => return Err(HttpError::Status(other)),
        }
        // RFC 9112 §6.3: chunked wins over a Content-Length.
        self.state = if chunked {
            State::Chunked(Chunk::Size(0, 0))
        } else if let Some(n) = length {
            if n > self.limits.max_body {
                return Err(HttpError::BodyTooLarge);
            }
            if n == 0 {
                self.state = State::Done;
                return Ok(Head::Final(len, Some(Progress::Done)));
            }
            State::Length(n)
        } else {
            State::UntilClose
        };
        Ok(Head::Final(len, None))
    }

    fn body_data(
        &mut self,
        mut data: &[u8],
        sink: &mut dyn FnMut(&[u8]),
    ) -> Result<Progress, HttpError> {
        while !data.is_empty() {
            match self.state {
                State::Done => break,
                State::Head { .. } => return self.handle_data(data, sink),
                State::UntilClose => {
                    self.emit(data, sink)?;
                    data = &[];
                }
                State::Length(left) => {
                    let n = usize::try_from(left).unwrap_or(usize::MAX).min(data.len());
                    let (now, rest) = data.split_at(n);
                    self.emit(now, sink)?;
                    let left = left - n as u64;
                    self.state = if left == 0 {
                        State::Done
                    } else {
                        State::Length(left)
                    };
                    data = rest;
                }
                State::Chunked(Chunk::Data(left)) => {
                    let n = usize::try_from(left).unwrap_or(usize::MAX).min(data.len());
                    let (now, rest) = data.split_at(n);
                    self.emit(now, sink)?;
                    let left = left - n as u64;
                    self.state = State::Chunked(if left == 0 {
                        Chunk::DataCr
                    } else {
                        Chunk::Data(left)
                    });
                    data = rest;
                }
                State::Chunked(c) => {
                    let Some((&b, rest)) = data.split_first() else {
                        break;
                    };
                    data = rest;
                    let next = self.chunk_byte(c, b)?;
                    self.state = next;
                }
            }
        }
        Ok(if self.state == State::Done {
            Progress::Done
        } else {
            Progress::More
        })
    }

    fn chunk_byte(&self, c: Chunk, b: u8) -> Result<State, HttpError> {
        let bad = Err(HttpError::BadChunk);
        let next = match c {
            Chunk::Size(v, digits) => match hex(b) {
                Some(d) => {
                    // 15 hex digits are 60 bits: no overflow, and far past any cap.
                    if digits >= 15 {
                        return Err(HttpError::BodyTooLarge);
                    }
                    Chunk::Size(v * 16 + u64::from(d), digits + 1)
                }
                None if digits == 0 => return bad,
                None => return self.size_line(v, b, 1),
            },
            Chunk::Ext(v, n) => return self.size_line(v, b, n + 1),
            Chunk::SizeLf(v) => match b {
                b'\n' => self.size_done(v)?,
                _ => return bad,
            },
            Chunk::Data(_) => return bad,
            Chunk::DataCr => match b {
                b'\r' => Chunk::DataLf,
                b'\n' => Chunk::Size(0, 0),
                _ => return bad,
            },
            Chunk::DataLf => match b {
                b'\n' => Chunk::Size(0, 0),
                _ => return bad,
            },
            Chunk::Trailer(start, n) => {
                if n >= self.limits.max_header {
                    return Err(HttpError::HeaderTooLarge);
                }
                match (start, b) {
                    (true, b'\r') => Chunk::TrailerLf,
                    (true, b'\n') => return Ok(State::Done),
                    (_, b'\n') => Chunk::Trailer(true, n + 1),
                    _ => Chunk::Trailer(false, n + 1),
                }
            }
            Chunk::TrailerLf => match b {
                b'\n' => return Ok(State::Done),
                _ => return bad,
            },
        };
        Ok(State::Chunked(next))
    }

    /// A byte after the size digits: extensions, whitespace or the line end.
    fn size_line(&self, v: u64, b: u8, n: usize) -> Result<State, HttpError> {
        if n > MAX_CHUNK_LINE {
            return Err(HttpError::BadChunk);
        }
        Ok(State::Chunked(match b {
            b'\r' => Chunk::SizeLf(v),
            b'\n' => self.size_done(v)?,
            // Control bytes have no place in a chunk extension.
            0..=8 | 10..=31 | 127 => return Err(HttpError::BadChunk),
            _ => Chunk::Ext(v, n),
        }))
    }

    fn size_done(&self, v: u64) -> Result<Chunk, HttpError> {
        if v == 0 {
            return Ok(Chunk::Trailer(true, 0));
        }
        if self.body.saturating_add(v) > self.limits.max_body {
            return Err(HttpError::BodyTooLarge);
        }
        Ok(Chunk::Data(v))
    }

    fn emit(&mut self, data: &[u8], sink: &mut dyn FnMut(&[u8])) -> Result<(), HttpError> {
        let total = self.body.saturating_add(data.len() as u64);
        if total > self.limits.max_body {
            return Err(HttpError::BodyTooLarge);
        }
        self.body = total;
        if !data.is_empty() {
            sink(data);
        }
        Ok(())
    }
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Digits only (no sign, no spaces inside), at most 19 of them.
fn parse_length(v: &[u8]) -> Option<u64> {
    if v.is_empty() || v.len() > 19 || !v.iter().all(u8::is_ascii_digit) {
        return None;
    }
    v.iter().try_fold(0u64, |acc, d| {
        acc.checked_mul(10)?.checked_add(u64::from(d - b'0'))
    })
}
