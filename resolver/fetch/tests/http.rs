//! The HTTP/1.1 response machine against synthesised byte streams, fed whole, at every
//! split point and byte by byte.

use fetch::Url;
use fetch::http::{Get, HttpError, HttpLimits, Progress};

fn get() -> Get {
    Get::new(
        Url::parse("http://lists.example/l/hosts.txt").unwrap(),
        HttpLimits::default(),
    )
}

/// Feeds `chunks` in order; returns the body and the last progress (or the error).
fn run(g: &mut Get, chunks: &[&[u8]]) -> (Vec<u8>, Result<Progress, HttpError>) {
    let mut body = Vec::new();
    let mut last = Ok(Progress::More);
    for c in chunks {
        last = g.handle_data(c, &mut |b| body.extend_from_slice(b));
        if !matches!(last, Ok(Progress::More)) {
            break;
        }
    }
    (body, last)
}

/// The response fed split at every point into two reads, and byte by byte: each must
/// give the same body and outcome as the whole.
fn every_split(resp: &[u8]) -> (Vec<u8>, Result<Progress, HttpError>) {
    let whole = run(&mut get(), &[resp]);
    for i in 0..=resp.len() {
        let (a, b) = resp.split_at(i);
        assert_eq!(run(&mut get(), &[a, b]), whole, "split at {i}");
    }
    let bytes: Vec<&[u8]> = resp.chunks(1).collect();
    assert_eq!(run(&mut get(), &bytes), whole, "byte by byte");
    whole
}

#[test]
fn request_is_a_plain_get_without_compression() {
    let g = Get::new(
        Url::parse("http://lists.example:8080/a/b.txt?x=1").unwrap(),
        HttpLimits::default(),
    );
    let r = String::from_utf8(g.request()).unwrap();
    assert!(r.starts_with("GET /a/b.txt?x=1 HTTP/1.1\r\nHost: lists.example:8080\r\n"));
    assert!(r.contains("\r\nAccept-Encoding: identity\r\n"));
    assert!(r.contains("\r\nConnection: close\r\n"));
    assert!(r.ends_with("\r\n\r\n"));
}

#[test]
fn content_length_body() {
    let resp =
        b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 11\r\n\r\nhello\nworld";
    let (body, p) = every_split(resp);
    assert_eq!(body, b"hello\nworld");
    assert_eq!(p, Ok(Progress::Done));
}

#[test]
fn bytes_after_a_content_length_body_are_ignored() {
    let (body, p) = run(
        &mut get(),
        &[b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nabEXTRA"],
    );
    assert_eq!(body, b"ab");
    assert_eq!(p, Ok(Progress::Done));
}

#[test]
fn chunked_with_extensions_and_trailers() {
    let resp = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
        5;name=value;other\r\nhello\r\n\
        1 \r\n\n\r\n\
        A\r\n0123456789\r\n\
        0;last\r\nX-Trailer: 1\r\nAnother: two\r\n\r\n";
    let (body, p) = every_split(resp);
    assert_eq!(body, b"hello\n0123456789");
    assert_eq!(p, Ok(Progress::Done));
}

#[test]
fn chunked_wins_over_content_length() {
    let resp = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n0\r\n\r\n";
    let (body, p) = every_split(resp);
    assert_eq!(body, b"abcd");
    assert_eq!(p, Ok(Progress::Done));
}

#[test]
fn bad_chunks_are_refused() {
    for resp in [
        &b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"[..],
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\rX",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;\x01\r\n",
    ] {
        let (_, p) = every_split(resp);
        assert_eq!(
            p,
            Err(HttpError::BadChunk),
            "{}",
            String::from_utf8_lossy(resp)
        );
    }
    // A chunk-size line longer than its cap.
    let mut resp = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;".to_vec();
    resp.extend(std::iter::repeat_n(b'x', 2000));
    assert_eq!(run(&mut get(), &[&resp]).1, Err(HttpError::BadChunk));
}

#[test]
fn huge_chunk_sizes_hit_the_cap_not_an_overflow() {
    let resp = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffffff\r\n";
    assert_eq!(every_split(resp).1, Err(HttpError::BodyTooLarge));
    let resp = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4000001\r\n";
    assert_eq!(every_split(resp).1, Err(HttpError::BodyTooLarge));
}

#[test]
fn body_over_the_cap_is_cut_off() {
    let limits = HttpLimits {
        max_body: 10,
        ..HttpLimits::default()
    };
    let url = Url::parse("http://lists.example/").unwrap();
    // Said up front.
    let mut g = Get::new(url.clone(), limits);
    let (body, p) = run(&mut g, &[b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n"]);
    assert_eq!((body.len(), p), (0, Err(HttpError::BodyTooLarge)));
    // Seen as it streams, without a length: exactly the cap passes, one more fails.
    let mut g = Get::new(url.clone(), limits);
    let (body, p) = run(&mut g, &[b"HTTP/1.1 200 OK\r\n\r\n0123456789"]);
    assert_eq!((body.len(), p), (10, Ok(Progress::More)));
    assert_eq!(
        g.handle_data(b"x", &mut |_| panic!("past the cap")),
        Err(HttpError::BodyTooLarge)
    );
    // Chunked: the sum of the chunks counts.
    let mut g = Get::new(url, limits);
    let (body, p) = run(
        &mut g,
        &[b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6\r\n012345\r\n5\r\n"],
    );
    assert_eq!((body.len(), p), (6, Err(HttpError::BodyTooLarge)));
}

#[test]
fn head_over_the_cap_is_refused() {
    let limits = HttpLimits {
        max_header: 256,
        ..HttpLimits::default()
    };
    let mut resp = b"HTTP/1.1 200 OK\r\n".to_vec();
    for i in 0..40 {
        resp.extend_from_slice(format!("X-Header-{i}: value\r\n").as_bytes());
    }
    resp.extend_from_slice(b"\r\n");
    let url = Url::parse("http://lists.example/").unwrap();
    let mut g = Get::new(url.clone(), limits);
    assert_eq!(run(&mut g, &[&resp]).1, Err(HttpError::HeaderTooLarge));
    // Also when it never ends and comes byte by byte.
    let mut g = Get::new(url, limits);
    let drip: Vec<&[u8]> = [b"HTTP/1.1 200 OK\r\nX: ".as_slice(), &[b'a'; 400]]
        .concat()
        .leak()
        .chunks(1)
        .collect();
    assert_eq!(run(&mut g, &drip).1, Err(HttpError::HeaderTooLarge));
}

#[test]
fn statuses_other_than_200_are_errors() {
    for (code, resp) in [
        (
            404,
            &b"HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nnot found"[..],
        ),
        (500, b"HTTP/1.1 500 Oops\r\n\r\n"),
        (204, b"HTTP/1.1 204 No Content\r\n\r\n"),
        (304, b"HTTP/1.1 304 Not Modified\r\n\r\n"),
    ] {
        let (body, p) = every_split(resp);
        assert!(body.is_empty());
        assert_eq!(p, Err(HttpError::Status(code)));
    }
}

#[test]
fn redirects_resolve_the_location() {
    for code in [301, 302, 303, 307, 308] {
        let resp = format!(
            "HTTP/1.1 {code} Moved\r\nLocation: ../other/list.txt\r\nContent-Length: 5\r\n\r\nmoved"
        );
        let (body, p) = every_split(resp.as_bytes());
        assert!(body.is_empty(), "a redirect's body never reaches the sink");
        let Ok(Progress::Redirect(u)) = p else {
            panic!("{code}: {p:?}")
        };
        assert_eq!(u.as_str(), "http://lists.example/other/list.txt");
    }
    let (_, p) = every_split(b"HTTP/1.1 302 Found\r\n\r\n");
    assert_eq!(p, Err(HttpError::BadRedirect(None)));
    let (_, p) = every_split(b"HTTP/1.1 302 Found\r\nLocation: ftp://x.example/\r\n\r\n");
    assert!(matches!(p, Err(HttpError::BadRedirect(Some(_)))));
}

#[test]
fn interim_responses_are_skipped() {
    let resp = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\n\
        HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    let (body, p) = every_split(resp);
    assert_eq!(body, b"ok");
    assert_eq!(p, Ok(Progress::Done));
    let many = b"HTTP/1.1 100 Continue\r\n\r\n".repeat(20);
    assert_eq!(every_split(&many).1, Err(HttpError::TooManyInterim));
}

#[test]
fn garbage_heads_are_refused() {
    for resp in [
        &b"SSH-2.0-OpenSSH_9.6\r\n\r\n"[..],
        b"HTTP/1.1 2000 OK\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nBad Header\r\n\r\n",
        b"HTTP/1.1 200 OK\r\n\x00: x\r\n\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n",
    ] {
        let (body, p) = every_split(resp);
        assert!(body.is_empty());
        assert!(matches!(p, Err(HttpError::BadHead(_))), "{resp:?}: {p:?}");
    }
    for resp in [
        &b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n"[..],
        b"HTTP/1.1 200 OK\r\nContent-Length: 1 2\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n",
    ] {
        assert_eq!(every_split(resp).1, Err(HttpError::BadLength));
    }
    for resp in [
        &b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"[..],
        b"HTTP/1.1 200 OK\r\nContent-Encoding: br\r\n\r\n",
    ] {
        assert_eq!(every_split(resp).1, Err(HttpError::UnsupportedEncoding));
    }
    // More headers than the table holds.
    let mut resp = b"HTTP/1.1 200 OK\r\n".to_vec();
    for i in 0..100 {
        resp.extend_from_slice(format!("X{i}: v\r\n").as_bytes());
    }
    resp.extend_from_slice(b"\r\n");
    assert_eq!(
        run(&mut get(), &[&resp]).1,
        Err(HttpError::BadHead(httparse::Error::TooManyHeaders))
    );
}

#[test]
fn eof_completes_only_a_close_delimited_body() {
    let mut g = get();
    let (body, p) = run(&mut g, &[b"HTTP/1.0 200 OK\r\n\r\nall of it"]);
    assert_eq!(
        (body.as_slice(), p),
        (&b"all of it"[..], Ok(Progress::More))
    );
    // Over TLS without close_notify the end may be forged.
    assert_eq!(g.handle_eof(false), Err(HttpError::Truncated));
    let mut g = get();
    let _ = run(&mut g, &[b"HTTP/1.0 200 OK\r\n\r\nall of it"]);
    assert_eq!(g.handle_eof(true), Ok(Progress::Done));

    for cut in [
        &b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort"[..],
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",
        b"HTTP/1.1 200 OK\r\nContent-",
        b"",
    ] {
        let mut g = get();
        let _ = run(&mut g, &[cut]);
        assert_eq!(g.handle_eof(true), Err(HttpError::Truncated));
    }
}

#[test]
fn errors_read_as_one_line() {
    for e in [
        HttpError::HeaderTooLarge,
        HttpError::Status(404),
        HttpError::BadChunk,
        HttpError::BodyTooLarge,
        HttpError::Truncated,
        HttpError::BadRedirect(None),
    ] {
        let s = e.to_string();
        assert!(!s.is_empty() && !s.contains('\n'));
    }
    assert_eq!(
        HttpError::Status(404).to_string(),
        "server answered HTTP 404"
    );
}

/// Found by the fuzzer: the head is parsed only at line ends and when full, and the
/// error must not depend on how the bytes were cut.
#[test]
fn the_error_does_not_depend_on_the_cut() {
    // Garbage after the last line end, then EOF.
    for cut in [&[&b"\n"[..], b"\xfa"][..], &[b"\n\xfa"]] {
        let mut g = get();
        let _ = run(&mut g, cut);
        assert_eq!(
            g.handle_eof(true),
            Err(HttpError::BadHead(httparse::Error::Version))
        );
    }
    // Garbage that fills the head's cap without a line end.
    let limits = HttpLimits {
        max_header: 64,
        ..HttpLimits::default()
    };
    let url = Url::parse("http://lists.example/").unwrap();
    let resp = [b"\n".as_slice(), &[b'X'; 100]].concat();
    for step in [1, 7, 64, 101] {
        let mut g = Get::new(url.clone(), limits);
        let pieces: Vec<&[u8]> = resp.chunks(step).collect();
        assert_eq!(
            run(&mut g, &pieces).1,
            Err(HttpError::BadHead(httparse::Error::Version)),
            "step {step}"
        );
    }
}
