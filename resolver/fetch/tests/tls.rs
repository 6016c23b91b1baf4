//! `Fetch` over https against an in-process rustls server (the buffered std API, same
//! RustCrypto provider) with a CA made at test time by rcgen: a good certificate gives
//! the body; a wrong host, an unknown CA, an expired certificate fail with their reason.

use std::io::{Read, Write};
use std::sync::Arc;

use fetch::tls::{CaError, TlsConfig, TlsError};
use fetch::{Event, Fetch, FetchError, FetchLimits, Url, http::HttpError};
use rcgen::{BasicConstraints, Certificate, CertificateParams, IsCa, KeyPair, date_time_ymd};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::{ServerConfig, ServerConnection};

const SEC: u64 = 1_000_000_000;
/// 2026-12-07, as the wall clock the app would pass.
const WALL: u64 = 1_796_601_600 * SEC;

struct Ca {
    cert: Certificate,
    key: KeyPair,
}

fn ca(name: &str) -> Ca {
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.distinguished_name
        .push(rcgen::DnType::CommonName, format!("{name} test CA"));
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let key = KeyPair::generate().unwrap();
    let cert = p.self_signed(&key).unwrap();
    Ca { cert, key }
}

fn leaf(
    ca: &Ca,
    host: &str,
    not_after_year: i32,
) -> (CertificateDer<'static>, PrivateKeyDer<'static>) {
    let mut p = CertificateParams::new(vec![host.to_string()]).unwrap();
    p.not_before = date_time_ymd(2020, 1, 1);
    p.not_after = date_time_ymd(not_after_year, 1, 1);
    let key = KeyPair::generate().unwrap();
    let cert = p.signed_by(&key, &ca.cert, &ca.key).unwrap();
    (
        cert.der().clone(),
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
    )
}

fn server(cert: CertificateDer<'static>, key: PrivateKeyDer<'static>) -> ServerConnection {
    server_with(cert, key, rustls::DEFAULT_VERSIONS)
}

fn server_with(
    cert: CertificateDer<'static>,
    key: PrivateKeyDer<'static>,
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> ServerConnection {
    let cfg = ServerConfig::builder_with_provider(Arc::new(rustls_rustcrypto::provider()))
        .with_protocol_versions(versions)
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .unwrap();
    let mut s = ServerConnection::new(Arc::new(cfg)).unwrap();
    s.set_buffer_limit(None);
    s
}

/// How the server ends its response.
#[derive(Clone, Copy, PartialEq)]
enum End {
    /// `Content-Length`; the stream stays open.
    Length,
    /// Close-delimited body, then close_notify and FIN.
    CloseNotify,
    /// Close-delimited body, then a bare FIN (a truncation attacker's cut).
    BareFin,
}

/// Runs one https fetch of `url` against `srv`, the server answering `body`; returns
/// the event, the body the sink got, and the request the server read.
fn run(
    url: &str,
    tls: TlsConfig,
    wall: u64,
    mut srv: ServerConnection,
    body: &[u8],
    end: End,
) -> (Event, Vec<u8>, Vec<u8>) {
    let mut f = Fetch::new(
        Url::parse(url).unwrap(),
        FetchLimits::default(),
        Some(tls),
        0,
    );
    let Some(Event::Connect(e)) = f.poll_event() else {
        panic!("no connect")
    };
    assert!(e.tls);
    f.connected(1, wall);
    let mut got = Vec::new();
    let mut request = Vec::new();
    let mut answered = false;
    for round in 0..200 {
        let now = 2 + round;
        if let Some(ev) = f.poll_event() {
            return (ev, got, request);
        }
        // Client → server.
        let out = f.transmit().to_vec();
        f.transmitted(out.len());
        let mut rd = out.as_slice();
        while !rd.is_empty() {
            srv.read_tls(&mut rd).unwrap();
        }
        if srv.process_new_packets().is_err() {
            // The server refused the client (or saw its alert): flush the alert over.
        }
        let mut buf = [0u8; 4096];
        while let Ok(n) = srv.reader().read(&mut buf) {
            if n == 0 {
                break;
            }
            request.extend_from_slice(&buf[..n]);
        }
        if !answered && request.ends_with(b"\r\n\r\n") {
            answered = true;
            let head = match end {
                End::Length => format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len()),
                _ => "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n".to_string(),
            };
            srv.writer().write_all(head.as_bytes()).unwrap();
            srv.writer().write_all(body).unwrap();
            if end == End::CloseNotify {
                srv.send_close_notify();
            }
        }
        // Server → client, in small reads as a TCP stream would deliver them.
        let mut wire = Vec::new();
        while srv.wants_write() {
            srv.write_tls(&mut wire).unwrap();
        }
        for piece in wire.chunks(1500) {
            f.handle_input(now, piece, &mut |b| got.extend_from_slice(b));
        }
        if answered && wire.is_empty() && end != End::Length {
            f.handle_eof(now);
        }
    }
    panic!("no outcome in 200 rounds");
}

fn list_body() -> Vec<u8> {
    (0..5000)
        .map(|i| format!("0.0.0.0 host{i}.ads.example\n"))
        .collect::<String>()
        .into_bytes()
}

#[test]
fn a_good_certificate_gives_the_body() {
    let ca = ca("good");
    let (cert, key) = leaf(&ca, "lists.example", 2030);
    let tls = TlsConfig::private(&[ca.cert.pem().as_bytes()]).unwrap();
    let body = list_body();
    let (ev, got, req) = run(
        "https://lists.example/hosts.txt",
        tls,
        WALL,
        server(cert, key),
        &body,
        End::Length,
    );
    assert_eq!(ev, Event::Done);
    assert_eq!(
        got, body,
        "the whole body, in order, over several TLS records"
    );
    let req = String::from_utf8(req).unwrap();
    assert!(req.starts_with("GET /hosts.txt HTTP/1.1\r\nHost: lists.example\r\n"));
}

#[test]
fn a_tls12_only_server_works_too() {
    let ca = ca("tls12");
    let (cert, key) = leaf(&ca, "lists.example", 2030);
    let tls = TlsConfig::private(&[ca.cert.pem().as_bytes()]).unwrap();
    let body = list_body();
    let srv = server_with(cert, key, &[&rustls::version::TLS12]);
    let (ev, got, _) = run(
        "https://lists.example/",
        tls,
        WALL,
        srv,
        &body,
        End::CloseNotify,
    );
    assert_eq!(ev, Event::Done);
    assert_eq!(got, body);
}

#[test]
fn the_ca_may_come_as_der_and_beside_the_public_roots() {
    let ca = ca("der");
    let (cert, key) = leaf(&ca, "lists.example", 2030);
    let tls = TlsConfig::new(&[ca.cert.der().as_ref()]).unwrap();
    assert!(tls.roots() > 100, "webpki-roots and the extra CA");
    let (ev, got, _) = run(
        "https://lists.example/",
        tls,
        WALL,
        server(cert, key),
        b"ads.example\n",
        End::CloseNotify,
    );
    assert_eq!(ev, Event::Done);
    assert_eq!(got, b"ads.example\n");
}

#[test]
fn a_close_without_close_notify_is_a_truncation() {
    let ca = ca("cut");
    let (cert, key) = leaf(&ca, "lists.example", 2030);
    let tls = TlsConfig::private(&[ca.cert.pem().as_bytes()]).unwrap();
    let (ev, _, _) = run(
        "https://lists.example/",
        tls,
        WALL,
        server(cert, key),
        b"ads.example\n",
        End::BareFin,
    );
    assert_eq!(ev, Event::Failed(FetchError::Http(HttpError::Truncated)));
}

#[test]
fn a_certificate_for_another_host_is_refused() {
    let ca = ca("wrong-host");
    let (cert, key) = leaf(&ca, "other.example", 2030);
    let tls = TlsConfig::private(&[ca.cert.pem().as_bytes()]).unwrap();
    let (ev, got, req) = run(
        "https://lists.example/",
        tls,
        WALL,
        server(cert, key),
        b"ads.example\n",
        End::Length,
    );
    assert_eq!(ev, Event::Failed(FetchError::Tls(TlsError::WrongName)));
    assert!(
        got.is_empty() && req.is_empty(),
        "no request left the client"
    );
    assert_eq!(
        FetchError::Tls(TlsError::WrongName).to_string(),
        "TLS certificate is not valid for the host"
    );
}

#[test]
fn an_unknown_ca_is_refused() {
    let trusted = ca("trusted");
    let other = ca("other");
    let (cert, key) = leaf(&other, "lists.example", 2030);
    let tls = TlsConfig::private(&[trusted.cert.pem().as_bytes()]).unwrap();
    let (ev, _, req) = run(
        "https://lists.example/",
        tls,
        WALL,
        server(cert, key),
        b"ads.example\n",
        End::Length,
    );
    assert_eq!(ev, Event::Failed(FetchError::Tls(TlsError::UnknownIssuer)));
    assert!(req.is_empty());
    // And with only the public roots, a private CA is unknown too.
    let (cert, key) = leaf(&other, "lists.example", 2030);
    let (ev, _, _) = run(
        "https://lists.example/",
        TlsConfig::new(&[]).unwrap(),
        WALL,
        server(cert, key),
        b"x\n",
        End::Length,
    );
    assert_eq!(ev, Event::Failed(FetchError::Tls(TlsError::UnknownIssuer)));
}

#[test]
fn validity_is_judged_by_the_callers_wall_clock() {
    let ca = ca("clock");
    let (cert, key) = leaf(&ca, "lists.example", 2025);
    let tls = TlsConfig::private(&[ca.cert.pem().as_bytes()]).unwrap();
    let (ev, _, _) = run(
        "https://lists.example/",
        tls.clone(),
        WALL,
        server(cert.clone(), key.clone_key()),
        b"x\n",
        End::Length,
    );
    assert_eq!(ev, Event::Failed(FetchError::Tls(TlsError::Expired)));
    // The same certificate in 2024 (a wall clock of 2024-06-01) is fine.
    let (ev, _, _) = run(
        "https://lists.example/",
        tls.clone(),
        1_717_200_000 * SEC,
        server(cert.clone(), key.clone_key()),
        b"x\n",
        End::Length,
    );
    assert_eq!(ev, Event::Done);
    // A clock that was never set (1970) sees it as not valid yet.
    let (ev, _, _) = run(
        "https://lists.example/",
        tls,
        0,
        server(cert, key),
        b"x\n",
        End::Length,
    );
    assert_eq!(ev, Event::Failed(FetchError::Tls(TlsError::NotYetValid)));
}

#[test]
fn bad_extra_cas_are_refused_with_their_index() {
    let good = ca("ok");
    assert_eq!(
        TlsConfig::private(&[good.cert.pem().as_bytes(), b"not a certificate"]).err(),
        Some(CaError::NotAnAnchor(1))
    );
    assert_eq!(
        TlsConfig::private(&[b"-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n"])
            .err(),
        Some(CaError::Unreadable(0))
    );
    assert_eq!(
        TlsConfig::private(&[b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"])
            .err(),
        Some(CaError::Unreadable(0))
    );
}

#[test]
fn a_redirect_from_https_to_http_is_refused() {
    let ca = ca("downgrade");
    let (cert, key) = leaf(&ca, "lists.example", 2030);
    let tls = TlsConfig::private(&[ca.cert.pem().as_bytes()]).unwrap();
    let mut srv = server(cert, key);
    let mut f = Fetch::new(
        Url::parse("https://lists.example/").unwrap(),
        FetchLimits::default(),
        Some(tls),
        0,
    );
    assert!(matches!(f.poll_event(), Some(Event::Connect(_))));
    f.connected(1, WALL);
    let mut answered = false;
    for now in 2..50 {
        if let Some(ev) = f.poll_event() {
            assert_eq!(ev, Event::Failed(FetchError::Downgrade));
            return;
        }
        let out = f.transmit().to_vec();
        f.transmitted(out.len());
        let mut rd = out.as_slice();
        while !rd.is_empty() {
            srv.read_tls(&mut rd).unwrap();
        }
        srv.process_new_packets().unwrap();
        let mut req = Vec::new();
        let _ = srv.reader().read_to_end(&mut req);
        if !answered && !req.is_empty() {
            answered = true;
            srv.writer()
                .write_all(b"HTTP/1.1 301 Moved\r\nLocation: http://lists.example/\r\n\r\n")
                .unwrap();
        }
        let mut wire = Vec::new();
        while srv.wants_write() {
            srv.write_tls(&mut wire).unwrap();
        }
        f.handle_input(now, &wire, &mut |_| panic!("no body"));
    }
    panic!("no outcome");
}
