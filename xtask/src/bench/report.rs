//! The results of one run and their forms: the printed table (also `bench.md`),
//! `bench.json` and `bench.svg` (qps and latency per system and client count).

use std::fmt::Write as _;
use std::path::Path;

use super::Options;
use crate::{Result, error};

/// Part 1, one cache size.
#[derive(Debug, Clone)]
pub struct EngineRow {
    pub names: u32,
    pub median_ns: f64,
    pub allocs_per_hit: f64,
    pub bytes_per_hit: f64,
}

/// Part "policy", one case of the policy bench (see `engine::POLICY_CASES`).
#[derive(Debug, Clone)]
pub struct PolicyRow {
    pub case: &'static str,
    pub median_ns: f64,
}

/// Part "lists", one system: a big block list fetched, parsed and made live while a
/// client keeps asking for a cached name (issue 15).
#[derive(Debug, Clone)]
pub struct ListRow {
    pub system: String,
    /// Lines (distinct domains) of the list and its size.
    pub lines: u32,
    pub bytes: usize,
    /// Each load's time (the resolver's own log line), ms.
    pub load_ms: Vec<f64>,
    /// Heap the loaded table takes (the same line), KiB.
    pub table_kib: u64,
    /// Answer times during the loads (all runs), ms: p50, p99, max.
    pub during_p50_ms: f64,
    pub during_p99_ms: f64,
    pub during_max_ms: f64,
    /// Answers during the loads, and questions without one within a second.
    pub answered: usize,
    pub failed: u32,
    /// The same question with nothing loading, p50 ms.
    pub idle_p50_ms: f64,
}

impl ListRow {
    pub fn load_median_ms(&self) -> f64 {
        let mut v = self.load_ms.clone();
        v.sort_by(f64::total_cmp);
        super::lab::percentile(&v, 0.5)
    }
}

/// Part 2, one system at one client count.
#[derive(Debug, Clone)]
pub struct CachedRow {
    pub system: String,
    /// "dnsperf" or "closed-loop" (the bench's own client, see `lab::closed_loop`).
    pub tool: &'static str,
    pub clients: u32,
    pub qps: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub sent: u64,
    pub lost: u64,
}

impl CachedRow {
    pub fn of(system: &str, tool: &'static str, clients: u32, p: &super::lab::Perf) -> Self {
        CachedRow {
            system: system.to_string(),
            tool,
            clients,
            qps: p.qps,
            p50_ms: p.latency_ms(0.5),
            p99_ms: p.latency_ms(0.99),
            sent: p.sent,
            lost: p.lost,
        }
    }
}

/// Part 3.
#[derive(Debug, Clone)]
pub struct Exits {
    /// Answers the exit counts are divided by.
    pub answered: u64,
    pub exits_per_query: f64,
    /// Hypercalls per answered query by kind.
    pub per_kind: Vec<(String, f64)>,
    /// ns per VM exit round trip from `--bench-hypercalls`; None if the line was missing.
    pub cost_ns: Option<f64>,
    /// The hvt image's best qps (under the tender) in part 2.
    pub hvt_best_qps: f64,
}

impl Exits {
    /// The qps that VM exits alone allow: 1 / (exits per query × cost per exit).
    pub fn limit_qps(&self) -> Option<f64> {
        let cost = self.cost_ns?;
        (self.exits_per_query > 0.0 && cost > 0.0).then(|| 1e9 / (self.exits_per_query * cost))
    }
}

/// Part 4, one system.
#[derive(Debug, Clone)]
pub struct ColdRow {
    pub system: String,
    pub names: u32,
    pub failed: u32,
    pub first_ms: f64,
    pub first_upstream: u64,
    pub median_ms: f64,
    pub p99_ms: f64,
    pub upstream_per_answer: f64,
}

/// Part 5.
#[derive(Debug, Clone, Default)]
pub struct Footprint {
    /// (arch, bytes).
    pub images: Vec<(String, u64)>,
    /// Boot-to-first-answer samples, ms.
    pub boot_ms: Vec<f64>,
    /// The same boots' "ready" line on the guest's own clock (ms since the guest
    /// started): the part of the boot spent inside the guest.
    pub ready_ms: Vec<f64>,
    /// (`--mem` MiB, served without loss) in the order tried.
    pub mem: Vec<(u32, bool)>,
}

impl Footprint {
    pub fn boot_median_ms(&self) -> f64 {
        let mut v = self.boot_ms.clone();
        v.sort_by(f64::total_cmp);
        super::lab::percentile(&v, 0.5)
    }

    pub fn ready_median_ms(&self) -> Option<f64> {
        let mut v = self.ready_ms.clone();
        v.sort_by(f64::total_cmp);
        (!v.is_empty()).then(|| super::lab::percentile(&v, 0.5))
    }

    pub fn smallest_mem(&self) -> Option<u32> {
        self.mem.iter().filter(|(_, ok)| *ok).map(|(m, _)| *m).min()
    }
}

/// Everything one run measured.
#[derive(Debug, Clone)]
pub struct Report {
    pub settings: String,
    pub engine: Vec<EngineRow>,
    pub policy: Vec<PolicyRow>,
    /// Part "dnssec": criterion id and median ns (rows shaped like the policy part's).
    pub dnssec: Vec<PolicyRow>,
    pub lists: Vec<ListRow>,
    pub cached: Vec<CachedRow>,
    pub exits: Option<Exits>,
    pub cold: Vec<ColdRow>,
    pub footprint: Option<Footprint>,
    pub notes: Vec<String>,
}

/// Reads one number off a cached-throughput row (a chart panel's value).
type Metric = fn(&CachedRow) -> f64;

const UNBOUND: &str = "unbound (1 thread)";

fn verdict(ok: bool) -> &'static str {
    if ok { "met" } else { "MISSED" }
}

impl Report {
    pub fn new(o: &Options) -> Report {
        Report {
            settings: format!(
                "parts {}; dnsperf {} s per run, clients {:?}, {} cached names; engine at {:?} names; \
                 cold: {} names, {} ms added per upstream round trip; {} boots",
                o.parts.join(","),
                o.duration,
                o.clients,
                o.names,
                o.engine_names,
                o.cold_names,
                o.delay.as_millis(),
                o.boots
            ),
            engine: Vec::new(),
            policy: Vec::new(),
            dnssec: Vec::new(),
            lists: Vec::new(),
            cached: Vec::new(),
            exits: None,
            cold: Vec::new(),
            footprint: None,
            notes: Vec::new(),
        }
    }

    fn unbound_qps(&self, row: &CachedRow) -> Option<f64> {
        self.cached
            .iter()
            .find(|r| r.system == UNBOUND && r.clients == row.clients && r.tool == row.tool)
            .map(|r| r.qps)
    }

    /// The rows the chart shows: per system and client count, the closed-loop
    /// measurement where there is one, else dnsperf's.
    fn chart_rows(&self) -> Vec<&CachedRow> {
        self.cached
            .iter()
            .filter(|r| {
                r.tool == "closed-loop"
                    || !self.cached.iter().any(|o| {
                        o.tool == "closed-loop" && o.system == r.system && o.clients == r.clients
                    })
            })
            .collect()
    }

    /// The table as Markdown (what is printed and written to `bench.md`).
    pub fn table(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "# cargo xtask bench\n\n{}\n", self.settings);
        let mut targets: Vec<(String, String, &str)> = Vec::new();

        if !self.engine.is_empty() {
            let _ = writeln!(
                s,
                "## 1. Engine: cache hit, query bytes in → answer bytes out\n"
            );
            let _ = writeln!(
                s,
                "| cached names | median ns/hit | allocations/hit | bytes allocated/hit |"
            );
            let _ = writeln!(s, "|---:|---:|---:|---:|");
            for e in &self.engine {
                let _ = writeln!(
                    s,
                    "| {} | {:.0} | {:.1} | {:.0} |",
                    e.names, e.median_ns, e.allocs_per_hit, e.bytes_per_hit
                );
            }
            let worst = self.engine.iter().map(|e| e.median_ns).fold(0.0, f64::max);
            let best = self
                .engine
                .iter()
                .map(|e| e.median_ns)
                .fold(f64::MAX, f64::min);
            targets.push((
                "engine ≤ 1 µs per hit, flat".into(),
                format!("{worst:.0} ns worst; largest/smallest {:.2}×", worst / best),
                verdict(worst <= 1000.0 && worst / best <= 1.25),
            ));
            s.push('\n');
        }

        if !self.policy.is_empty() {
            let _ = writeln!(
                s,
                "## 1b. Policy: what the policy stage adds to a cache hit\n"
            );
            let _ = writeln!(s, "| case | median ns/hit | added to no policy |");
            let _ = writeln!(s, "|---|---:|---:|");
            let base = self
                .policy
                .iter()
                .find(|p| p.case == "no_policy")
                .map(|p| p.median_ns);
            for p in &self.policy {
                let added =
                    base.map_or(String::from("–"), |b| format!("{:+.0}", p.median_ns - b));
                let _ = writeln!(s, "| {} | {:.0} | {added} |", p.case, p.median_ns);
            }
            let loaded = self
                .policy
                .iter()
                .find(|p| p.case == "defaults_1m_blocked")
                .map(|p| p.median_ns);
            if let (Some(b), Some(l)) = (base, loaded) {
                targets.push((
                    "policy adds ≤ 150 ns to a hit with 1 M domains blocked".into(),
                    format!("{:+.0} ns ({l:.0} vs {b:.0})", l - b),
                    verdict(l - b <= 150.0),
                ));
            }
            s.push('\n');
        }

        if !self.dnssec.is_empty() {
            let _ = writeln!(
                s,
                "## 1c. DNSSEC: the cost of one verification per algorithm\n"
            );
            let _ = writeln!(s, "| case | median ns | median µs |");
            let _ = writeln!(s, "|---|---:|---:|");
            for d in &self.dnssec {
                let _ = writeln!(
                    s,
                    "| {} | {:.0} | {:.1} |",
                    d.case,
                    d.median_ns,
                    d.median_ns / 1000.0
                );
            }
            s.push('\n');
        }

        if !self.lists.is_empty() {
            let _ = writeln!(
                s,
                "## 1d. Block list: a big list fetched, parsed and live while a client asks\n"
            );
            let _ = writeln!(
                s,
                "| system | lines | MB | table MiB | load ms, median (runs) | answers during | p50 ms | p99 ms | max ms | unanswered | idle p50 ms |"
            );
            let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
            for l in &self.lists {
                let runs: Vec<String> = l.load_ms.iter().map(|t| format!("{t:.0}")).collect();
                let _ = writeln!(
                    s,
                    "| {} | {} | {:.1} | {:.1} | {:.0} ({}) | {} | {:.3} | {:.3} | {:.3} | {} | {:.3} |",
                    l.system,
                    l.lines,
                    l.bytes as f64 / 1e6,
                    l.table_kib as f64 / 1024.0,
                    l.load_median_ms(),
                    runs.join(" "),
                    l.answered,
                    l.during_p50_ms,
                    l.during_p99_ms,
                    l.during_max_ms,
                    l.failed,
                    l.idle_p50_ms
                );
            }
            let worst = self
                .lists
                .iter()
                .map(ListRow::load_median_ms)
                .fold(0.0, f64::max);
            let lines = self.lists.iter().map(|l| l.lines).min().unwrap_or(0);
            targets.push((
                format!("a {lines}-line list live within 10 s, answers flowing"),
                format!(
                    "{worst:.0} ms worst median; {} unanswered",
                    self.lists.iter().map(|l| l.failed).sum::<u32>()
                ),
                verdict(worst <= 10_000.0 && self.lists.iter().all(|l| l.failed == 0)),
            ));
            // 16 MiB for a million domains, scaled to the list measured.
            let table = self.lists.iter().map(|l| l.table_kib).max().unwrap_or(0) as f64 / 1024.0;
            let cap = 16.0 * f64::from(lines) / 1e6;
            targets.push((
                format!("the {lines}-domain table in ≤ {cap:.1} MiB (16 MiB per million)"),
                format!("{table:.1} MiB"),
                verdict(table <= cap),
            ));
            s.push('\n');
        }

        if !self.cached.is_empty() {
            let _ = writeln!(
                s,
                "## 2. Cached throughput (same lab, same query file of cached names)\n"
            );
            let _ = writeln!(
                s,
                "| system | client | clients | qps | p50 ms | p99 ms | lost | qps ÷ Unbound |"
            );
            let _ = writeln!(s, "|---|---|---:|---:|---:|---:|---:|---:|");
            for c in &self.cached {
                let ratio = self
                    .unbound_qps(c)
                    .filter(|u| *u > 0.0)
                    .map_or("–".to_string(), |u| format!("{:.3}", c.qps / u));
                let _ = writeln!(
                    s,
                    "| {} | {} | {} | {:.0} | {:.3} | {:.3} | {}/{} | {} |",
                    c.system, c.tool, c.clients, c.qps, c.p50_ms, c.p99_ms, c.lost, c.sent, ratio
                );
            }
            let best = |sys: &str| {
                self.cached
                    .iter()
                    .filter(|r| r.system == sys)
                    .map(|r| r.qps)
                    .fold(0.0, f64::max)
            };
            let (unix, unbound) = (best("unix (tap)"), best(UNBOUND));
            if unbound > 0.0 {
                targets.push((
                    "unix cached qps ≥ 1.0 × Unbound".into(),
                    format!(
                        "best {unix:.0} vs {unbound:.0} qps = {:.2}×",
                        unix / unbound
                    ),
                    verdict(unix >= unbound),
                ));
            }
            s.push('\n');
        }

        if let Some(x) = &self.exits {
            let _ = writeln!(
                s,
                "## 3. The exit-cost limit (hvt under the project's tender)\n"
            );
            let _ = writeln!(s, "| measure | value |\n|---|---:|");
            let _ = writeln!(
                s,
                "| VM exits per answered query | {:.2} (over {} answers) |",
                x.exits_per_query, x.answered
            );
            let kinds: Vec<String> = x
                .per_kind
                .iter()
                .map(|(k, v)| format!("{k} {v:.2}"))
                .collect();
            let _ = writeln!(s, "| hypercalls per query by kind | {} |", kinds.join(", "));
            match x.cost_ns {
                Some(c) => {
                    let _ = writeln!(
                        s,
                        "| one exit round trip (guest `--bench-hypercalls`) | {:.2} µs |",
                        c / 1e3
                    );
                }
                None => {
                    let _ = writeln!(s, "| one exit round trip | not measured |");
                }
            }
            if let Some(limit) = x.limit_qps() {
                let frac = x.hvt_best_qps / limit;
                let _ = writeln!(s, "| limit 1 / (exits × cost) | {limit:.0} qps |");
                let _ = writeln!(s, "| hvt best qps | {:.0} |", x.hvt_best_qps);
                let _ = writeln!(s, "| hvt qps ÷ limit | {frac:.4} |");
                targets.push((
                    "hvt cached qps ≥ 0.8 × exit-cost limit".into(),
                    format!("{:.0} of {limit:.0} qps = {frac:.4}×", x.hvt_best_qps),
                    verdict(frac >= 0.8),
                ));
            }
            s.push('\n');
        }

        if !self.cold.is_empty() {
            let _ = writeln!(
                s,
                "## 4. Cold recursion (names not yet cached; delay relay on every upstream link)\n"
            );
            let _ = writeln!(
                s,
                "| system | empty-cache first name ms (upstream) | names | median ms | p99 ms | upstream/answer | failed |"
            );
            let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|---:|");
            for c in &self.cold {
                let _ = writeln!(
                    s,
                    "| {} | {:.1} ({}) | {} | {:.1} | {:.1} | {:.2} | {} |",
                    c.system,
                    c.first_ms,
                    c.first_upstream,
                    c.names,
                    c.median_ms,
                    c.p99_ms,
                    c.upstream_per_answer,
                    c.failed
                );
            }
            let find = |sys: &str| self.cold.iter().find(|c| c.system == sys);
            if let (Some(u), Some(b)) = (find("unix (tap)"), find(UNBOUND)) {
                targets.push((
                    "cold median ≤ 1.0 × Unbound, no more upstream (unix)".into(),
                    format!(
                        "{:.1} vs {:.1} ms = {:.2}×; upstream {:.2} vs {:.2}",
                        u.median_ms,
                        b.median_ms,
                        u.median_ms / b.median_ms,
                        u.upstream_per_answer,
                        b.upstream_per_answer
                    ),
                    verdict(
                        u.median_ms <= b.median_ms
                            && u.upstream_per_answer <= b.upstream_per_answer,
                    ),
                ));
            }
            for (ours, kind) in [
                ("hvt (tender), validating", "hvt"),
                ("unix (tap), validating", "unix"),
            ] {
                if let (Some(o), Some(b)) = (find(ours), find("unbound (1 thread), validating")) {
                    targets.push((
                        format!("validated cold median ≤ 1.1 × a validating Unbound ({kind})"),
                        format!(
                            "{:.1} vs {:.1} ms = {:.2}×; {} of {} without AD or failed",
                            o.median_ms,
                            b.median_ms,
                            o.median_ms / b.median_ms,
                            o.failed,
                            o.names
                        ),
                        verdict(o.median_ms <= 1.1 * b.median_ms && o.failed == 0),
                    ));
                }
            }
            if let (Some(h), Some(b)) = (find("hvt (tender)"), find(UNBOUND)) {
                targets.push((
                    "cold median ≤ 1.0 × Unbound, no more upstream (hvt)".into(),
                    format!(
                        "{:.1} vs {:.1} ms = {:.2}×; upstream {:.2} vs {:.2}",
                        h.median_ms,
                        b.median_ms,
                        h.median_ms / b.median_ms,
                        h.upstream_per_answer,
                        b.upstream_per_answer
                    ),
                    verdict(
                        h.median_ms <= b.median_ms
                            && h.upstream_per_answer <= b.upstream_per_answer,
                    ),
                ));
            }
            s.push('\n');
        }

        if let Some(f) = &self.footprint {
            let _ = writeln!(s, "## 5. Footprint\n");
            let _ = writeln!(s, "| measure | value |\n|---|---:|");
            for (arch, size) in &f.images {
                let _ = writeln!(
                    s,
                    "| image size {arch} | {:.2} MiB ({size} B) |",
                    *size as f64 / 1048576.0
                );
            }
            let samples: Vec<String> = f.boot_ms.iter().map(|t| format!("{t:.0}")).collect();
            let _ = writeln!(
                s,
                "| boot to first answer, median of {} | {:.1} ms (samples {}) |",
                f.boot_ms.len(),
                f.boot_median_ms(),
                samples.join(" ")
            );
            if let Some(r) = f.ready_median_ms() {
                let _ = writeln!(
                    s,
                    "| of which inside the guest (its clock at \"ready\"), median | {r:.1} ms |"
                );
            }
            let tried: Vec<String> = f
                .mem
                .iter()
                .map(|(m, ok)| format!("{m}:{}", if *ok { "ok" } else { "fail" }))
                .collect();
            let _ = writeln!(
                s,
                "| smallest --mem serving the cached test | {} (tried {}) |",
                f.smallest_mem()
                    .map_or("none".to_string(), |m| format!("{m} MiB")),
                tried.join(" ")
            );
            let largest = f.images.iter().map(|(_, b)| *b).max().unwrap_or(0);
            targets.push((
                "image ≤ 2 MiB".into(),
                format!("largest {:.2} MiB", largest as f64 / 1048576.0),
                verdict(largest <= 2 << 20),
            ));
            if !f.boot_ms.is_empty() {
                targets.push((
                    "boot-to-first-answer ≤ 20 ms".into(),
                    format!("{:.1} ms", f.boot_median_ms()),
                    verdict(f.boot_median_ms() <= 20.0),
                ));
            }
            if !f.mem.is_empty() {
                targets.push((
                    "serves in --mem=32".into(),
                    f.smallest_mem()
                        .map_or("no size served".into(), |m| format!("smallest {m} MiB")),
                    verdict(f.smallest_mem().is_some_and(|m| m <= 32)),
                ));
            }
            s.push('\n');
        }

        if !targets.is_empty() {
            let _ = writeln!(s, "## Targets\n\n| target | measured | |\n|---|---|---|");
            for (t, m, v) in &targets {
                let _ = writeln!(s, "| {t} | {m} | {v} |");
            }
            s.push('\n');
        }
        for n in &self.notes {
            let _ = writeln!(s, "- {n}");
        }
        s
    }

    /// The results as JSON (hand-written: the xtask has no serde).
    pub fn json(&self) -> String {
        let mut s = String::from("{\n");
        let _ = writeln!(s, "  \"settings\": {},", q(&self.settings));
        let engine: Vec<String> = self
            .engine
            .iter()
            .map(|e| {
                format!(
                    "{{\"names\": {}, \"median_ns\": {}, \"allocs_per_hit\": {}, \"bytes_per_hit\": {}}}",
                    e.names,
                    num(e.median_ns),
                    num(e.allocs_per_hit),
                    num(e.bytes_per_hit)
                )
            })
            .collect();
        let _ = writeln!(s, "  \"engine\": [{}],", engine.join(", "));
        let policy: Vec<String> = self
            .policy
            .iter()
            .map(|p| {
                format!(
                    "{{\"case\": {}, \"median_ns\": {}}}",
                    q(p.case),
                    num(p.median_ns)
                )
            })
            .collect();
        let _ = writeln!(s, "  \"policy\": [{}],", policy.join(", "));
        let lists: Vec<String> = self
            .lists
            .iter()
            .map(|l| {
                let runs: Vec<String> = l.load_ms.iter().map(|t| num(*t)).collect();
                format!(
                    "{{\"system\": {}, \"lines\": {}, \"bytes\": {}, \"table_kib\": {}, \"load_ms\": [{}], \"load_median_ms\": {}, \"answered\": {}, \"failed\": {}, \"during_p50_ms\": {}, \"during_p99_ms\": {}, \"during_max_ms\": {}, \"idle_p50_ms\": {}}}",
                    q(&l.system),
                    l.lines,
                    l.bytes,
                    l.table_kib,
                    runs.join(", "),
                    num(l.load_median_ms()),
                    l.answered,
                    l.failed,
                    num(l.during_p50_ms),
                    num(l.during_p99_ms),
                    num(l.during_max_ms),
                    num(l.idle_p50_ms)
                )
            })
            .collect();
        let _ = writeln!(s, "  \"lists\": [{}],", lists.join(", "));
        let dnssec: Vec<String> = self
            .dnssec
            .iter()
            .map(|d| {
                format!(
                    "{{\"case\": {}, \"median_ns\": {}}}",
                    q(d.case),
                    num(d.median_ns)
                )
            })
            .collect();
        let _ = writeln!(s, "  \"dnssec\": [{}],", dnssec.join(", "));
        let cached: Vec<String> = self
            .cached
            .iter()
            .map(|c| {
                format!(
                    "{{\"system\": {}, \"tool\": {}, \"clients\": {}, \"qps\": {}, \"p50_ms\": {}, \"p99_ms\": {}, \"sent\": {}, \"lost\": {}, \"qps_vs_unbound\": {}}}",
                    q(&c.system),
                    q(c.tool),
                    c.clients,
                    num(c.qps),
                    num(c.p50_ms),
                    num(c.p99_ms),
                    c.sent,
                    c.lost,
                    self.unbound_qps(c)
                        .filter(|u| *u > 0.0)
                        .map_or("null".into(), |u| num(c.qps / u))
                )
            })
            .collect();
        let _ = writeln!(s, "  \"cached\": [\n    {}\n  ],", cached.join(",\n    "));
        match &self.exits {
            Some(x) => {
                let kinds: Vec<String> = x
                    .per_kind
                    .iter()
                    .map(|(k, v)| format!("{}: {}", q(k), num(*v)))
                    .collect();
                let _ = writeln!(
                    s,
                    "  \"exits\": {{\"answered\": {}, \"exits_per_query\": {}, \"per_kind\": {{{}}}, \"cost_ns\": {}, \"limit_qps\": {}, \"hvt_best_qps\": {}}},",
                    x.answered,
                    num(x.exits_per_query),
                    kinds.join(", "),
                    x.cost_ns.map_or("null".into(), num),
                    x.limit_qps().map_or("null".into(), num),
                    num(x.hvt_best_qps)
                );
            }
            None => s.push_str("  \"exits\": null,\n"),
        }
        let cold: Vec<String> = self
            .cold
            .iter()
            .map(|c| {
                format!(
                    "{{\"system\": {}, \"names\": {}, \"failed\": {}, \"first_ms\": {}, \"first_upstream\": {}, \"median_ms\": {}, \"p99_ms\": {}, \"upstream_per_answer\": {}}}",
                    q(&c.system),
                    c.names,
                    c.failed,
                    num(c.first_ms),
                    c.first_upstream,
                    num(c.median_ms),
                    num(c.p99_ms),
                    num(c.upstream_per_answer)
                )
            })
            .collect();
        let _ = writeln!(s, "  \"cold\": [{}],", cold.join(", "));
        match &self.footprint {
            Some(f) => {
                let images: Vec<String> = f
                    .images
                    .iter()
                    .map(|(a, b)| format!("{}: {b}", q(a)))
                    .collect();
                let boots: Vec<String> = f.boot_ms.iter().map(|t| num(*t)).collect();
                let mem: Vec<String> = f
                    .mem
                    .iter()
                    .map(|(m, ok)| format!("{{\"mem_mib\": {m}, \"served\": {ok}}}"))
                    .collect();
                let _ = writeln!(
                    s,
                    "  \"footprint\": {{\"image_bytes\": {{{}}}, \"boot_ms\": [{}], \"boot_median_ms\": {}, \"guest_ready_median_ms\": {}, \"mem_tried\": [{}], \"smallest_mem_mib\": {}}},",
                    images.join(", "),
                    boots.join(", "),
                    num(f.boot_median_ms()),
                    f.ready_median_ms().map_or("null".into(), num),
                    mem.join(", "),
                    f.smallest_mem().map_or("null".into(), |m| m.to_string())
                );
            }
            None => s.push_str("  \"footprint\": null,\n"),
        }
        let notes: Vec<String> = self.notes.iter().map(|n| q(n)).collect();
        let _ = writeln!(s, "  \"notes\": [{}]\n}}", notes.join(", "));
        s
    }

    /// Two panels of grouped bars, log scale: qps and p50 latency per system and client
    /// count (p99 as a tick above each latency bar).
    pub fn svg(&self) -> String {
        let rows = self.chart_rows();
        let systems: Vec<String> = {
            let mut v: Vec<String> = Vec::new();
            for c in &rows {
                if !v.contains(&c.system) {
                    v.push(c.system.clone());
                }
            }
            v
        };
        let clients: Vec<u32> = {
            let mut v: Vec<u32> = rows.iter().map(|c| c.clients).collect();
            v.sort_unstable();
            v.dedup();
            v
        };
        const COLORS: [&str; 5] = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2"];
        let (w, panel_h, top, left) = (760.0, 260.0, 40.0, 70.0);
        let h = top + 2.0 * (panel_h + 60.0) + 20.0;
        let mut s = format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" font-family=\"sans-serif\" font-size=\"11\">\n\
             <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        );
        // Legend.
        for (i, sys) in systems.iter().enumerate() {
            let x = left + i as f64 * 160.0;
            let _ = writeln!(
                s,
                "<rect x=\"{x}\" y=\"10\" width=\"12\" height=\"12\" fill=\"{}\"/><text x=\"{}\" y=\"20\">{}</text>",
                COLORS[i % COLORS.len()],
                x + 16.0,
                esc(sys)
            );
        }
        let panels: [(&str, Metric); 2] = [
            (
                "cached qps (log scale; closed-loop client at 1 and 4, dnsperf above)",
                |c| c.qps,
            ),
            ("p50 latency ms, p99 tick (log scale)", |c| c.p50_ms),
        ];
        for (pi, (title, value)) in panels.iter().enumerate() {
            let y0 = top + pi as f64 * (panel_h + 60.0) + 20.0;
            let vals: Vec<f64> = rows
                .iter()
                .flat_map(|c| [value(c), if pi == 1 { c.p99_ms } else { value(c) }])
                .filter(|v| v.is_finite() && *v > 0.0)
                .collect();
            if vals.is_empty() {
                // Nothing to draw (the cached part did not run): without this the
                // axis bounds are infinite and the tick loop never ends.
                let _ = writeln!(
                    s,
                    "<text x=\"{left}\" y=\"{}\">{title}: not measured in this run</text>",
                    y0 + 14.0
                );
                continue;
            }
            let lo = vals.iter().copied().fold(f64::MAX, f64::min).max(1e-3);
            let hi = vals.iter().copied().fold(0.0, f64::max).max(lo * 10.0);
            let (l0, l1) = (lo.log10().floor(), hi.log10().ceil());
            let yof = |v: f64| {
                let f = (v.max(10f64.powf(l0)).log10() - l0) / (l1 - l0);
                y0 + panel_h - f * panel_h
            };
            let _ = writeln!(
                s,
                "<text x=\"{left}\" y=\"{}\" font-weight=\"bold\">{title}</text>",
                y0 - 6.0
            );
            let mut e = l0;
            while e <= l1 {
                let y = yof(10f64.powf(e));
                let _ = writeln!(
                    s,
                    "<line x1=\"{left}\" x2=\"{}\" y1=\"{y}\" y2=\"{y}\" stroke=\"#ddd\"/><text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>",
                    w - 10.0,
                    left - 4.0,
                    y + 4.0,
                    fmt_tick(10f64.powf(e))
                );
                e += 1.0;
            }
            let group_w = (w - left - 20.0) / clients.len().max(1) as f64;
            let bar_w = (group_w - 20.0) / systems.len().max(1) as f64;
            for (ci, c) in clients.iter().enumerate() {
                let gx = left + ci as f64 * group_w + 10.0;
                let _ = writeln!(
                    s,
                    "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{c} clients</text>",
                    gx + (group_w - 20.0) / 2.0,
                    y0 + panel_h + 14.0
                );
                for (si, sys) in systems.iter().enumerate() {
                    let Some(row) = rows.iter().find(|r| &r.system == sys && r.clients == *c)
                    else {
                        continue;
                    };
                    let v = value(row);
                    let x = gx + si as f64 * bar_w;
                    let y = yof(v);
                    let _ = writeln!(
                        s,
                        "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{}\"><title>{} {c} clients: {}</title></rect>",
                        bar_w - 2.0,
                        (y0 + panel_h - y).max(0.0),
                        COLORS[si % COLORS.len()],
                        esc(sys),
                        fmt_tick(v)
                    );
                    if pi == 1 && row.p99_ms > 0.0 {
                        let ty = yof(row.p99_ms);
                        let _ = writeln!(
                            s,
                            "<line x1=\"{x:.1}\" x2=\"{:.1}\" y1=\"{ty:.1}\" y2=\"{ty:.1}\" stroke=\"black\" stroke-width=\"2\"/>",
                            x + bar_w - 2.0
                        );
                    }
                }
            }
        }
        s.push_str("</svg>\n");
        s
    }

    /// Writes `bench.md`, `bench.json` and `bench.svg` into `dir`; returns their paths.
    pub fn write(&self, dir: &Path) -> Result<Vec<String>> {
        std::fs::create_dir_all(dir).map_err(|e| error(format_args!("{}: {e}", dir.display())))?;
        let mut out = Vec::new();
        for (name, text) in [
            ("bench.md", self.table()),
            ("bench.json", self.json()),
            ("bench.svg", self.svg()),
        ] {
            let p = dir.join(name);
            std::fs::write(&p, text).map_err(|e| error(format_args!("{}: {e}", p.display())))?;
            out.push(crate::dist::show(&p));
        }
        Ok(out)
    }
}

fn q(s: &str) -> String {
    let mut o = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            c if (c as u32) < 0x20 => {
                let _ = write!(o, "\\u{:04x}", c as u32);
            }
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

fn num(v: f64) -> String {
    if v.is_finite() {
        format!("{v:.4}")
    } else {
        "null".into()
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn fmt_tick(v: f64) -> String {
    if v >= 1.0 {
        format!("{v:.0}")
    } else {
        format!("{v}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Report {
        let mut r = Report::new(&Options::short_run());
        r.engine.push(EngineRow {
            names: 1000,
            median_ns: 900.0,
            allocs_per_hit: 2.0,
            bytes_per_hit: 100.0,
        });
        for (case, median_ns) in [("no_policy", 400.0), ("defaults_1m_blocked", 520.0)] {
            r.policy.push(PolicyRow { case, median_ns });
        }
        for (sys, qps) in [
            ("unix (tap)", 50_000.0),
            (UNBOUND, 40_000.0),
            ("hvt (tender)", 30.0),
        ] {
            r.cached.push(CachedRow {
                system: sys.into(),
                tool: "dnsperf",
                clients: 16,
                qps,
                p50_ms: 0.3,
                p99_ms: 1.5,
                sent: 100,
                lost: 0,
            });
        }
        r.exits = Some(Exits {
            answered: 100,
            exits_per_query: 4.0,
            per_kind: vec![("net_read".into(), 2.0)],
            cost_ns: Some(10_000.0),
            hvt_best_qps: 30.0,
        });
        r
    }

    #[test]
    fn a_run_without_the_cached_part_still_draws_its_chart() {
        // `--parts lists` once drew axes from infinite bounds and never finished.
        let r = Report::new(&Options::short_run());
        let svg = r.svg();
        assert!(svg.len() < 10_000, "{} bytes", svg.len());
        assert!(svg.contains("not measured in this run"));
    }

    #[test]
    fn table_json_svg() {
        let r = sample();
        let t = r.table();
        assert!(
            t.contains("| unix (tap) | dnsperf | 16 | 50000 | 0.300 | 1.500 | 0/100 | 1.250 |"),
            "{t}"
        );
        assert!(
            t.contains("| limit 1 / (exits × cost) | 25000 qps |"),
            "{t}"
        );
        assert!(t.contains(
            "| unix cached qps ≥ 1.0 × Unbound | best 50000 vs 40000 qps = 1.25× | met |"
        ));
        assert!(t.contains("| defaults_1m_blocked | 520 | +120 |"), "{t}");
        assert!(t.contains(
            "| policy adds ≤ 150 ns to a hit with 1 M domains blocked | +120 ns (520 vs 400) | met |"
        ));
        let j = r.json();
        assert!(j.contains("\"limit_qps\": 25000.0000"), "{j}");
        assert!(j.trim_end().ends_with('}'));
        let s = r.svg();
        assert!(s.starts_with("<svg") && s.trim_end().ends_with("</svg>"));
        assert_eq!(q("a\"b\n"), "\"a\\\"b\\n\"");
    }
}
