//! The blocklist parser on every format, every kind of junk, its caps, and every way of
//! cutting the stream into chunks.

use fetch::list::{ListLimits, ListParser, ListStats};

fn parse_chunks(chunks: &[&[u8]], limits: ListLimits) -> (Vec<String>, ListStats) {
    let mut p = ListParser::new(limits);
    let mut out = Vec::new();
    for c in chunks {
        p.feed(c, &mut |d| out.push(d.to_string()));
    }
    p.finish(&mut |d| out.push(d.to_string()));
    (out, *p.stats())
}

fn parse(list: &[u8]) -> (Vec<String>, ListStats) {
    parse_chunks(&[list], ListLimits::default())
}

/// The same result for every split into two chunks and byte by byte.
fn parse_every_split(list: &[u8], limits: ListLimits) -> (Vec<String>, ListStats) {
    let whole = parse_chunks(&[list], limits);
    for i in 0..=list.len() {
        let (a, b) = list.split_at(i);
        assert_eq!(parse_chunks(&[a, b], limits), whole, "split at {i}");
    }
    let bytes: Vec<&[u8]> = list.chunks(1).collect();
    assert_eq!(parse_chunks(&bytes, limits), whole, "byte by byte");
    whole
}

const MIXED: &[u8] = b"\xEF\xBB\xBF# StevenBlack-style hosts file\r\n\
127.0.0.1 localhost\r\n\
::1 localhost ip6-localhost ip6-loopback\r\n\
0.0.0.0 0.0.0.0\r\n\
0.0.0.0 Ads.Example.COM\r\n\
0.0.0.0\tTracker.example   pixel.example # two on one line\r\n\
:: v6.ads.example\r\n\
fe80::1%lo0 zone.example\r\n\
\r\n\
   \r\n\
! AdBlock comment\r\n\
[Adblock Plus 2.0]\r\n\
||adblock.example^\r\n\
||with-options.example^$third-party\r\n\
@@||exception.example^\r\n\
||path.example/ads^\r\n\
example.com##.banner\r\n\
/banner/*/img^\r\n\
plain.example\r\n\
plain-with-dot.example.\r\n\
under_score.example\r\n\
two words.example\r\n\
bad!char.example\r\n\
singlelabel\r\n\
10.0.0.1\r\n\
0.0.0.0\r\n\
last.example";

#[test]
fn every_format_and_every_junk_line() {
    let (domains, stats) = parse_every_split(MIXED, ListLimits::default());
    assert_eq!(
        domains,
        [
            "ads.example.com",
            "tracker.example",
            "pixel.example",
            "v6.ads.example",
            "zone.example",
            "adblock.example",
            "plain.example",
            "plain-with-dot.example",
            "under_score.example",
            "last.example",
        ]
    );
    assert_eq!(
        stats,
        ListStats {
            lines: 27,
            domains: 10,
            // The header, two blank lines, `!` and `[Adblock…]`.
            comments: 5,
            // bad!char, singlelabel, 10.0.0.1 alone, 0.0.0.0 alone.
            invalid: 4,
            // Options, exception, a path, cosmetic, a URL rule, two words.
            unsupported: 6,
            too_long: 0,
            over_cap: 0,
            // localhost ×2, ip6-localhost, ip6-loopback, 0.0.0.0 as a name.
            local_names: 5,
        }
    );
}

#[test]
fn name_rules() {
    let label63 = "a".repeat(63);
    let label64 = "a".repeat(64);
    // 4 × 63 + 3 dots = 255 > 253; 3 × 63 + 61 + 3 dots = 253.
    let name253 = format!("{label63}.{label63}.{label63}.{}", "b".repeat(61));
    let name254 = format!("{label63}.{label63}.{label63}.{}", "b".repeat(62));
    let list = format!(
        "{label63}.example\n{label64}.example\n{name253}\n{name254}\n\
         a..example\n.lead.example\nxn--bcher-kva.example\nb\u{fc}cher.example\n\
         sp ace.example\n0.0.0.0 *.wild.example\n"
    );
    let (domains, stats) = parse(list.as_bytes());
    assert_eq!(
        domains,
        [
            format!("{label63}.example"),
            name253,
            "xn--bcher-kva.example".to_string()
        ]
    );
    // Too long a label, too long a name, empty labels ×2, non-ASCII.
    assert_eq!(stats.invalid, 5);
    // `sp ace.example` is two words, not a hosts line; a wildcard is AdBlock syntax.
    assert_eq!(stats.unsupported, 2);
}

#[test]
fn long_lines_are_skipped_whole_and_counted() {
    let limits = ListLimits {
        max_line: 32,
        ..ListLimits::default()
    };
    let long = format!("0.0.0.0 {}.example\n", "x".repeat(40));
    // A line of exactly the cap, with CRLF.
    let exact = format!("{}.example\r\n", "y".repeat(32 - ".example".len()));
    let list = format!("a.example\n{long}{exact}b.example\n{long}");
    let (domains, stats) = parse_every_split(list.as_bytes(), limits);
    assert_eq!(
        domains,
        [
            "a.example".to_string(),
            format!("{}.example", "y".repeat(24)),
            "b.example".to_string()
        ]
    );
    assert_eq!(stats.too_long, 2);
    assert_eq!(stats.lines, 5);
}

#[test]
fn the_entry_cap_stops_the_list_and_counts_the_rest() {
    let limits = ListLimits {
        max_entries: 3,
        ..ListLimits::default()
    };
    let list: String = (0..10).map(|i| format!("d{i}.example\n")).collect();
    let (domains, stats) = parse_every_split(list.as_bytes(), limits);
    assert_eq!(domains, ["d0.example", "d1.example", "d2.example"]);
    assert_eq!((stats.domains, stats.over_cap), (3, 7));
}

#[test]
fn memory_stays_bounded_on_a_line_that_never_ends() {
    // 10 MB without a newline: skipped, counted once, nothing buffered past the cap.
    let mut p = ListParser::new(ListLimits::default());
    let chunk = vec![b'a'; 64 << 10];
    let mut n = 0;
    for _ in 0..160 {
        p.feed(&chunk, &mut |_| n += 1);
    }
    p.feed(b"\nok.example\n", &mut |_| n += 1);
    p.finish(&mut |_| n += 1);
    assert_eq!(n, 1);
    assert_eq!(p.stats().too_long, 1);
    assert_eq!(p.stats().lines, 2);
}

#[test]
fn a_million_line_list_parses() {
    let list: String = (0..1_000_000)
        .map(|i| format!("0.0.0.0 host{i}.ads.example\n"))
        .collect();
    let mut p = ListParser::new(ListLimits::default());
    let mut n = 0u64;
    for c in list.as_bytes().chunks(16 << 10) {
        p.feed(c, &mut |_| n += 1);
    }
    p.finish(&mut |_| n += 1);
    assert_eq!(n, 1_000_000);
    assert_eq!(p.stats().domains, 1_000_000);
}

#[test]
fn a_first_line_with_a_byte_order_mark_counts_the_same_in_pieces() {
    // A BOM, then a line of exactly `max_line` bytes: within the limit once the BOM is
    // stripped, however the bytes arrive (the fuzz target found it counted "invalid"
    // whole and "too long" in pieces of three).
    let limits = ListLimits {
        max_line: 256,
        max_entries: 64,
    };
    let mut text = vec![0xEF, 0xBB, 0xBF];
    text.extend(std::iter::repeat_n(b'\t', 256));
    text.push(b'\n');
    let stats = |step: usize| {
        let mut p = ListParser::new(limits);
        for piece in text.chunks(step) {
            p.feed(piece, &mut |_| {});
        }
        p.finish(&mut |_| {});
        *p.stats()
    };
    let whole = stats(text.len());
    assert_eq!(whole.too_long, 0, "{whole:?}");
    for step in [1, 2, 3, 7, 64] {
        assert_eq!(stats(step), whole, "pieces of {step}");
    }
}
