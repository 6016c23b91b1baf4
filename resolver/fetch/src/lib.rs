//! Blocklist fetching, sans-IO: this crate opens no socket and reads no clock. Bytes come
//! in and go out as arguments, time is `now_ns: u64`, the wall clock (for certificates)
//! is an argument, and [`Fetch::poll_timeout`] says when to call back.
//!
//! Four pieces, each usable alone:
//! - [`url`]: `http://` and `https://` URLs (the `url` crate's WHATWG parser), and
//!   redirect targets resolved against them;
//! - [`http`]: one HTTP/1.1 GET ([`http::Get`]): the request's bytes, the response head
//!   parsed by `httparse`, `Content-Length`, chunked and close-delimited bodies streamed
//!   to a sink, redirects reported, a size cap on head and body;
//! - [`tls`]: a rustls client session ([`tls::TlsSession`], the unbuffered no_std API,
//!   RustCrypto provider) verifying against `webpki-roots` plus extra CAs;
//! - [`list`]: the streaming blocklist parser ([`list::ListParser`]): hosts files, one
//!   domain per line, `||domain^`; every skipped line counted.
//!
//! [`Fetch`] ties the first three into one download across up to 5 redirects, with a
//! total and an idle deadline. The app wires it to a netstack stream
//! (`connect_tcp`, `send`, `recv`, `close`) and the body sink to a [`list::ListParser`]:
//!
//! ```
//! use fetch::{Event, Fetch, FetchLimits, Url};
//! use fetch::list::{ListLimits, ListParser};
//!
//! let url = Url::parse("http://lists.example/hosts.txt").unwrap();
//! let mut f = Fetch::new(url, FetchLimits::default(), None, 0);
//! let mut parser = ListParser::new(ListLimits::default());
//! let mut domains = Vec::new();
//! assert!(matches!(f.poll_event(), Some(Event::Connect(_))));
//! f.connected(1, 0);
//! assert!(f.transmit().starts_with(b"GET /hosts.txt HTTP/1.1\r\n"));
//! let n = f.transmit().len();
//! f.transmitted(n);
//! let reply = b"HTTP/1.1 200 OK\r\nContent-Length: 24\r\n\r\n0.0.0.0 ads.example\n# x\n";
//! f.handle_input(2, reply, &mut |body| parser.feed(body, &mut |d| domains.push(d.to_string())));
//! assert_eq!(f.poll_event(), Some(Event::Done));
//! parser.finish(&mut |d| domains.push(d.to_string()));
//! assert_eq!(domains, ["ads.example"]);
//! assert_eq!(parser.stats().comments, 1);
//! ```
//!
//! A failed download ([`Event::Failed`]) may have fed the sink part of a list: build the
//! new set aside and swap it in only on [`Event::Done`], so the previous list stays.
//!
//! On bare metal rustls-rustcrypto draws randomness through getrandom 0.2: the app must
//! register the platform's entropy with `getrandom::register_custom_getrandom!` (this
//! crate turns on getrandom's `custom` feature for `target_os = "none"`).
#![cfg_attr(not(test), no_std)]
#![deny(unsafe_code)]

extern crate alloc;

pub mod http;
mod job;
pub mod list;
pub mod tls;
pub mod url;

pub use job::{
    DEFAULT_IDLE_TIMEOUT_NS, DEFAULT_MAX_REDIRECTS, DEFAULT_PROGRESS_BYTES,
    DEFAULT_TOTAL_TIMEOUT_NS, Endpoint, Event, Fetch, FetchError, FetchLimits,
};
pub use tls::TlsConfig;
pub use url::{Host, Scheme, Url, UrlError};
