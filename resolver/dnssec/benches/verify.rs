//! Cost of one RRset verification per algorithm (`verify/ALG`): signed data built,
//! DNSKEY parsed, signature checked, as `verify_rrset` does it for one RRSIG and one
//! key. Also one NSEC3 hash at 0 and 150 iterations, and one SHA-256 DS digest.
//! Keys are the fixed test keys of `tests/common` (RSA is 2048 bits).

#[path = "../tests/common/mod.rs"]
mod common;

use std::hint::black_box;

use common::*;
use criterion::{Criterion, criterion_group, criterion_main};
use critical_section as _;
use dnssec::rdata::rtype;
use dnssec::*;

fn bench(c: &mut Criterion) {
    let p = Policy::default();
    for (alg, label) in [
        (5, "5-rsasha1"),
        (8, "8-rsasha256"),
        (10, "10-rsasha512"),
        (13, "13-ecdsap256"),
        (14, "14-ecdsap384"),
        (15, "15-ed25519"),
    ] {
        let z = Zone::new("example.com.", alg);
        let set = vec![rr("www.example.com.", rtype::A, 300, vec![192, 0, 2, 1])];
        let sig = [z.sign(&set, None)];
        let keys = [z.dnskey_record()];
        let now = z.inception as u64 + 1;
        c.bench_function(&format!("verify/{label}"), |b| {
            b.iter(|| {
                let mut budget = Budget::default();
                black_box(verify_rrset(black_box(&set), &sig, &keys, now, &p, &mut budget).unwrap())
            })
        });
    }
    let n = name("www.example.com.");
    let salt = [0xaa, 0xbb, 0xcc, 0xdd];
    c.bench_function("nsec3_hash/0", |b| {
        b.iter(|| black_box(nsec3_hash(black_box(&n), &salt, 0)))
    });
    c.bench_function("nsec3_hash/150", |b| {
        b.iter(|| black_box(nsec3_hash(black_box(&n), &salt, 150)))
    });
    let key = TestKey::new(13).dnskey(257);
    c.bench_function("ds_digest/sha256", |b| {
        b.iter(|| black_box(ds_digest(&n, black_box(&key), 2)))
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).measurement_time(std::time::Duration::from_secs(3));
    targets = bench
}
criterion_main!(benches);
