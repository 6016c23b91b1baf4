//! Any bytes as an HTTP response, cut into reads where the first byte says: nothing may
//! panic; the body never passes the cap; the same bytes give the same outcome and body
//! whole as split; a redirect target is always http(s).
#![no_main]

use fetch::Url;
use fetch::http::{Get, HttpLimits, Progress};
use libfuzzer_sys::fuzz_target;

const LIMITS: HttpLimits = HttpLimits {
    max_body: 4096,
    max_header: 2048,
};

fn run(reads: &[&[u8]], eof: bool) -> (Vec<u8>, Option<Result<Progress, fetch::http::HttpError>>) {
    let url = Url::parse("http://lists.example/dir/list.txt").unwrap();
    let mut g = Get::new(url, LIMITS);
    let mut body = Vec::new();
    for r in reads {
        match g.handle_data(r, &mut |b| body.extend_from_slice(b)) {
            Ok(Progress::More) => {}
            other => return (body, Some(other)),
        }
    }
    if eof {
        return (body, Some(g.handle_eof(true)));
    }
    (body, None)
}

fuzz_target!(|data: &[u8]| {
    let Some((&cut, data)) = data.split_first() else {
        return;
    };
    let whole = run(&[data], true);
    let step = usize::from(cut % 64) + 1;
    let pieces: Vec<&[u8]> = data.chunks(step).collect();
    let split = run(&pieces, true);
    assert_eq!(whole, split);
    assert!(whole.0.len() as u64 <= LIMITS.max_body);
    if let (_, Some(Ok(Progress::Redirect(u)))) = &whole {
        assert!(u.as_str().starts_with("http://") || u.as_str().starts_with("https://"));
    }
});
