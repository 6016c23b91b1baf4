//! Any bytes as a blocklist, fed in pieces the first byte sizes: nothing may panic; every
//! domain yielded is valid and lowercase; the same list gives the same domains and
//! counters however it is cut; the entry cap holds.
#![no_main]

use fetch::list::{ListLimits, ListParser, MAX_LABEL, MAX_NAME};
use libfuzzer_sys::fuzz_target;

const LIMITS: ListLimits = ListLimits {
    max_line: 256,
    max_entries: 64,
};

fn run(pieces: &[&[u8]]) -> (Vec<String>, fetch::list::ListStats) {
    let mut p = ListParser::new(LIMITS);
    let mut out = Vec::new();
    for piece in pieces {
        p.feed(piece, &mut |d| out.push(d.to_string()));
    }
    p.finish(&mut |d| out.push(d.to_string()));
    (out, *p.stats())
}

fuzz_target!(|data: &[u8]| {
    let Some((&cut, data)) = data.split_first() else {
        return;
    };
    let whole = run(&[data]);
    let step = usize::from(cut % 32) + 1;
    let pieces: Vec<&[u8]> = data.chunks(step).collect();
    assert_eq!(whole, run(&pieces));
    let (domains, stats) = whole;
    assert!(domains.len() as u64 <= LIMITS.max_entries);
    assert_eq!(domains.len() as u64, stats.domains);
    for d in &domains {
        assert!(d.len() <= MAX_NAME && d.contains('.'));
        assert!(d.split('.').all(|l| !l.is_empty() && l.len() <= MAX_LABEL));
        assert!(d.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_' || b == b'.'));
    }
});
