//! What the policy stage adds to a cache hit (issue 15: at most 150 ns with a million
//! blocked domains loaded). One cached name (`www.example.com.`, 4 A records) asked
//! over and over through `handle_query` + `poll_transmit`, the fast path's work, with:
//!
//! * `no_policy`: no lists, no local zones, no rebinding filter (the tables empty);
//! * `defaults`: the default policy (local zones, rebinding filter);
//! * `defaults_1m_blocked`: the same with a list of 1 000 000 domains loaded.
//!
//! `cargo bench -p engine --bench policy_hit`; medians are criterion's.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use critical_section as _;
use engine::{Client, Engine, EngineConfig, Instant, PolicyConfig};

mod common;
use common::{forwarder, prime, query};

fn primed(policy: PolicyConfig, blocked: usize) -> (Engine, Client, Instant) {
    let cfg = EngineConfig {
        policy,
        ..EngineConfig::default()
    };
    let (mut e, c, now) = forwarder(cfg, 1);
    if blocked > 0 {
        let mut b = e.blocklist_builder();
        for i in 0..blocked {
            b.insert(&format!("ads{i}.tracker{}.example", i % 977));
        }
        assert_eq!(e.set_blocklist(1, "bench", b), Ok(blocked));
    }
    let four = [
        [192, 0, 2, 1],
        [192, 0, 2, 2],
        [192, 0, 2, 3],
        [192, 0, 2, 4],
    ];
    prime(&mut e, c, now, 1, "www.example.com.", 3600, &four);
    (e, c, now)
}

fn bench(c: &mut Criterion) {
    let none = PolicyConfig {
        local_zones: false,
        stop_rebind: false,
        ..PolicyConfig::default()
    };
    let mut g = c.benchmark_group("policy_hit");
    for (label, policy, blocked) in [
        ("no_policy", none, 0),
        ("defaults", PolicyConfig::default(), 0),
        ("defaults_1m_blocked", PolicyConfig::default(), 1_000_000),
    ] {
        let (mut e, client, now) = primed(policy, blocked);
        let q = query(7, "www.example.com.");
        let before = e.stats().fast_path_hits;
        g.bench_function(label, |b| {
            b.iter(|| {
                e.handle_query(now, client, black_box(&q));
                black_box(e.poll_transmit())
            })
        });
        assert!(
            e.stats().fast_path_hits > before,
            "{label}: fast path taken"
        );
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
