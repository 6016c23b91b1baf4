//! Cache-hit latency: query bytes in, response bytes out, nothing upstream.
//!
//! `cache_hit_a_4_records` answers one name over and over. `cache_hit_names/N` fills the
//! cache with N names first and asks for them in a scattered order, so the time per hit
//! shows whether lookups stay flat as the cache grows (`cargo xtask bench` reads its
//! medians). N comes from `ENGINE_BENCH_NAMES` (comma-separated; default
//! 1000,100000,1000000). For each N the bench also prints one line
//! `engine-bench: names=N allocs_per_hit=A bytes_per_hit=B`, counted by a wrapping
//! global allocator.

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use criterion::{Criterion, criterion_group, criterion_main};
use critical_section as _;
use engine::{Client, Engine, EngineConfig, Instant};

/// The system allocator, counting allocations and bytes asked for.
struct Counting;

static ALLOCS: AtomicU64 = AtomicU64::new(0);
static BYTES: AtomicU64 = AtomicU64::new(0);

// SAFETY: forwards every call to `System` unchanged; the counters are plain atomics.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Relaxed);
        BYTES.fetch_add(layout.size() as u64, Relaxed);
        // SAFETY: the caller's contract is `System.alloc`'s.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract is `System.dealloc`'s.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Relaxed);
        BYTES.fetch_add(new_size as u64, Relaxed);
        // SAFETY: the caller's contract is `System.realloc`'s.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

mod common;
use common::{forwarder, prime, query};

/// Prime the cache through the public API: forward mode, one upstream answer.
fn primed() -> (Engine, Client, Instant) {
    let (mut e, c, now) = forwarder(EngineConfig::default(), 1);
    let four = [
        [192, 0, 2, 1],
        [192, 0, 2, 2],
        [192, 0, 2, 3],
        [192, 0, 2, 4],
    ];
    prime(&mut e, c, now, 1, "www.example.com.", 3600, &four);
    (e, c, now)
}

/// An engine whose cache holds `n` names (`h{i}.bench.example.`, one A record each),
/// primed through the public API, forwarding mode, one name at a time.
fn primed_with(n: usize) -> (Engine, Client, Instant) {
    let cfg = EngineConfig {
        // Room for every name: the cap is approximate wire size plus overhead per entry.
        cache_bytes: (n * 1024).clamp(16 << 20, 1 << 30),
        ..EngineConfig::default()
    };
    let (mut e, c, now) = forwarder(cfg, 2);
    for i in 0..n {
        let addr = [192, 0, 2, (i % 250) as u8 + 1];
        prime(
            &mut e,
            c,
            now,
            i as u16,
            &format!("h{i}.bench.example."),
            86_400,
            &[addr],
        );
    }
    assert_eq!(
        e.stats().cache_misses as usize,
        n,
        "every priming query missed"
    );
    (e, c, now)
}

/// Query bytes for 4096 of the `n` cached names in a scattered order (a fixed LCG).
fn scattered_queries(n: usize) -> Vec<Vec<u8>> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..4096)
        .map(|k| {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let i = (x >> 33) as usize % n;
            query(k as u16, &format!("h{i}.bench.example."))
        })
        .collect()
}

fn sizes() -> Vec<usize> {
    std::env::var("ENGINE_BENCH_NAMES")
        .unwrap_or_else(|_| "1000,100000,1000000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect()
}

fn bench_sizes(c: &mut Criterion) {
    let mut group = c.benchmark_group("cache_hit_names");
    for n in sizes() {
        let (mut e, client, now) = primed_with(n);
        let queries = scattered_queries(n);
        let hits_before = e.stats().cache_hits;
        // Allocations per hit, outside criterion's timing.
        let (a0, b0) = (ALLOCS.load(Relaxed), BYTES.load(Relaxed));
        for q in &queries {
            e.handle_query(now, client, q);
            black_box(e.poll_transmit());
        }
        let (a1, b1) = (ALLOCS.load(Relaxed), BYTES.load(Relaxed));
        let hits = e.stats().cache_hits - hits_before;
        assert_eq!(
            hits as usize,
            queries.len(),
            "every scattered query must hit"
        );
        println!(
            "engine-bench: names={n} allocs_per_hit={:.2} bytes_per_hit={:.0}",
            (a1 - a0) as f64 / hits as f64,
            (b1 - b0) as f64 / hits as f64
        );
        let mut k = 0usize;
        group.bench_function(criterion::BenchmarkId::from_parameter(n), |b| {
            b.iter(|| {
                k = (k + 1) & 4095;
                e.handle_query(now, client, black_box(&queries[k]));
                black_box(e.poll_transmit())
            })
        });
    }
    group.finish();
}

fn bench(c: &mut Criterion) {
    let (mut e, client, now) = primed();
    let q = query(7, "www.example.com.");
    // Checked before timing, so the check holds when a filter skips this benchmark.
    e.handle_query(now, client, &q);
    black_box(e.poll_transmit());
    assert!(e.stats().cache_hits > 0);
    c.bench_function("cache_hit_a_4_records", |b| {
        b.iter(|| {
            e.handle_query(now, client, black_box(&q));
            let t = e.poll_transmit();
            black_box(t)
        })
    });
}

criterion_group!(benches, bench, bench_sizes);
criterion_main!(benches);
