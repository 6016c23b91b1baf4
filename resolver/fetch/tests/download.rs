//! `Fetch` over plain HTTP with a scripted server and a virtual clock: redirects and
//! their cap, the idle and total deadlines, connection errors.

use fetch::{Endpoint, Event, Fetch, FetchError, FetchLimits, Host, Url, http::HttpError};

const SEC: u64 = 1_000_000_000;

fn connect(f: &mut Fetch) -> Endpoint {
    match f.poll_event() {
        Some(Event::Connect(e)) => e,
        other => panic!("expected Connect, got {other:?}"),
    }
}

/// Connects at `now`, checks the request names `path`, and sends it.
fn open(f: &mut Fetch, now: u64, path: &str) {
    f.connected(now, 1_700_000_000 * SEC);
    let req = String::from_utf8(f.transmit().to_vec()).unwrap();
    assert!(
        req.starts_with(&format!("GET {path} HTTP/1.1\r\n")),
        "{req}"
    );
    let n = f.transmit().len();
    f.transmitted(n);
    assert!(f.transmit().is_empty());
}

#[test]
fn redirects_are_followed_to_the_body() {
    let url = Url::parse("http://a.example/list").unwrap();
    let mut f = Fetch::new(url, FetchLimits::default(), None, 0);
    let e = connect(&mut f);
    assert_eq!(
        (e.host, e.port, e.tls),
        (Host::Name("a.example".into()), 80, false)
    );
    assert_eq!(f.poll_event(), None);
    open(&mut f, 1, "/list");
    let mut body = Vec::new();
    f.handle_input(
        2,
        b"HTTP/1.1 301 Moved\r\nLocation: http://b.example:8080/new\r\n\r\n",
        &mut |b| body.extend_from_slice(b),
    );
    let e = connect(&mut f);
    assert_eq!((e.host, e.port), (Host::Name("b.example".into()), 8080));
    // Late bytes of the old stream are not mixed in.
    f.handle_input(3, b"HTTP/1.1 200 OK\r\n\r\nstale", &mut |b| {
        body.extend_from_slice(b)
    });
    open(&mut f, 4, "/new");
    f.handle_input(
        5,
        b"HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\nads.example\n",
        &mut |b| body.extend_from_slice(b),
    );
    assert_eq!(f.poll_event(), Some(Event::Done));
    assert_eq!(f.poll_event(), None);
    assert_eq!(body, b"ads.example\n");
    assert_eq!(f.redirects(), 1);
    assert_eq!(f.body_len(), 12);
    assert_eq!(f.poll_timeout(), None);
}

#[test]
fn a_redirect_loop_stops_after_five() {
    let url = Url::parse("http://a.example/loop").unwrap();
    let mut f = Fetch::new(url, FetchLimits::default(), None, 0);
    let mut connects = 0;
    let mut now = 0;
    let result = loop {
        match f.poll_event() {
            Some(Event::Connect(_)) => {
                connects += 1;
                now += 1;
                open(&mut f, now, "/loop");
                f.handle_input(
                    now,
                    b"HTTP/1.1 302 Found\r\nLocation: /loop\r\n\r\n",
                    &mut |_| panic!("a redirect has no body"),
                );
            }
            Some(other) => break other,
            None => panic!("stuck"),
        }
        assert!(connects < 100);
    };
    assert_eq!(result, Event::Failed(FetchError::TooManyRedirects));
    assert_eq!(connects, 6, "the first request and five redirects");
}

#[test]
fn http_errors_fail_the_fetch() {
    let url = Url::parse("http://a.example/missing").unwrap();
    let mut f = Fetch::new(url, FetchLimits::default(), None, 0);
    connect(&mut f);
    open(&mut f, 1, "/missing");
    f.handle_input(
        2,
        b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n",
        &mut |_| {},
    );
    assert_eq!(
        f.poll_event(),
        Some(Event::Failed(FetchError::Http(HttpError::Status(404))))
    );
    assert_eq!(
        FetchError::Http(HttpError::Status(404)).to_string(),
        "server answered HTTP 404"
    );
}

#[test]
fn a_slow_drip_is_cut_off_by_the_idle_deadline() {
    let limits = FetchLimits::default();
    let url = Url::parse("http://slow.example/").unwrap();
    let mut f = Fetch::new(url, limits, None, 0);
    connect(&mut f);
    open(&mut f, 0, "/");
    let resp = b"HTTP/1.1 200 OK\r\n\r\n".iter().chain(&[b'a'; 10_000]);
    let mut now = 0;
    let mut got = 0u64;
    let mut outcome = None;
    // One byte a second, calling handle_timeout whenever the deadline comes.
    for b in resp {
        now += SEC;
        if f.poll_timeout().is_some_and(|t| t <= now) {
            f.handle_timeout(now);
        }
        f.handle_input(now, &[*b], &mut |b| got += b.len() as u64);
        if let Some(e) = f.poll_event() {
            outcome = Some(e);
            break;
        }
    }
    assert_eq!(outcome, Some(Event::Failed(FetchError::Stalled)));
    // It got no further than one progress mark's worth of bytes in the idle time.
    assert_eq!(now, limits.idle_timeout_ns);
    assert!(got < limits.progress_bytes);
}

#[test]
fn a_fast_enough_server_is_not_stalled_but_meets_the_total_deadline() {
    let limits = FetchLimits {
        total_timeout_ns: 60 * SEC,
        ..FetchLimits::default()
    };
    let url = Url::parse("http://big.example/").unwrap();
    let mut f = Fetch::new(url, limits, None, 0);
    connect(&mut f);
    open(&mut f, 0, "/");
    f.handle_input(0, b"HTTP/1.1 200 OK\r\n\r\n", &mut |_| {});
    let chunk = [b'a'; 2048];
    let mut now = 0;
    let outcome = loop {
        now += SEC;
        let t = f.poll_timeout().unwrap();
        if t <= now {
            f.handle_timeout(now);
        } else {
            f.handle_input(now, &chunk, &mut |_| {});
        }
        if let Some(e) = f.poll_event() {
            break e;
        }
        assert!(now < 1000 * SEC);
    };
    assert_eq!(outcome, Event::Failed(FetchError::Timeout));
    assert_eq!(now, 60 * SEC);
}

#[test]
fn a_server_that_never_answers_the_connect() {
    let url = Url::parse("http://down.example/").unwrap();
    let mut f = Fetch::new(url, FetchLimits::default(), None, 5);
    connect(&mut f);
    let t = f.poll_timeout().unwrap();
    assert_eq!(t, 5 + FetchLimits::default().idle_timeout_ns);
    f.handle_timeout(t - 1);
    assert_eq!(f.poll_event(), None, "a spurious timeout is a no-op");
    f.handle_timeout(t);
    assert_eq!(f.poll_event(), Some(Event::Failed(FetchError::Stalled)));

    let url = Url::parse("http://refused.example/").unwrap();
    let mut f = Fetch::new(url, FetchLimits::default(), None, 0);
    connect(&mut f);
    f.handle_connection_error(1);
    assert_eq!(f.poll_event(), Some(Event::Failed(FetchError::Connection)));
}

#[test]
fn eof_before_the_end_fails_and_close_delimited_bodies_complete() {
    let url = Url::parse("http://a.example/").unwrap();
    let mut f = Fetch::new(url.clone(), FetchLimits::default(), None, 0);
    connect(&mut f);
    open(&mut f, 1, "/");
    f.handle_input(
        2,
        b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc",
        &mut |_| {},
    );
    f.handle_eof(3);
    assert_eq!(
        f.poll_event(),
        Some(Event::Failed(FetchError::Http(HttpError::Truncated)))
    );

    let mut f = Fetch::new(url, FetchLimits::default(), None, 0);
    connect(&mut f);
    open(&mut f, 1, "/");
    let mut body = Vec::new();
    f.handle_input(2, b"HTTP/1.0 200 OK\r\n\r\nabc", &mut |b| {
        body.extend_from_slice(b)
    });
    f.handle_eof(3);
    assert_eq!(f.poll_event(), Some(Event::Done));
    assert_eq!(body, b"abc");
}

#[test]
fn https_without_tls_config_is_a_clear_error() {
    let url = Url::parse("https://a.example/").unwrap();
    let mut f = Fetch::new(url, FetchLimits::default(), None, 0);
    assert!(connect(&mut f).tls);
    f.connected(1, 0);
    assert_eq!(f.poll_event(), Some(Event::Failed(FetchError::NoTls)));
}
