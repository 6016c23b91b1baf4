//! One registry of the resolver's counters and gauges: each is declared once, with its
//! name, help text, kind and where its value comes from. Everything that shows numbers
//! renders from here: the periodic `stats:` log line today, the Prometheus text format
//! and JSON that the dashboard and metrics endpoint will serve (a later issue; until an
//! HTTP service exists they are used by tests only).

use alloc::string::String;
use core::fmt::Write as _;

/// What the numbers are read from at one moment.
pub struct Sample<'a> {
    /// The engine's counters.
    pub engine: &'a engine::Stats,
    /// The netstack's counters.
    pub net: &'a netstack::Stats,
    /// Heap bytes used and in all, when the platform knows them.
    pub heap: Option<(usize, usize)>,
    /// Each `--dns-blocklist-url` list.
    pub lists: &'a [ListSample],
}

/// One block list's counters: the fetcher's and the engine's (domains, hits).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListSample {
    /// Its number (1 for the first `--dns-blocklist-url`).
    pub id: u16,
    /// Distinct domains in force.
    pub domains: u64,
    /// Lines of the last download skipped as no domain, and names refused.
    pub lines_rejected: u64,
    /// Fetches started.
    pub fetches: u64,
    /// Fetches that failed (the previous list stayed).
    pub failures: u64,
    /// Wall clock of the last fetch's end, seconds since the epoch (0: none yet).
    pub last_fetch_secs: u64,
    /// Whether the last fetch loaded the list (1) or failed (0).
    pub last_ok: u64,
    /// Questions it blocked.
    pub hits: u64,
}

/// The per-list series: (name, help, kind, value).
type ListMetric = (&'static str, &'static str, Kind, fn(&ListSample) -> u64);

/// Every per-list series, shown with a `list` label.
pub const LIST_METRICS: &[ListMetric] = &[
    (
        "blocklist_domains",
        "Distinct domains a block list holds.",
        Kind::Gauge,
        |l| l.domains,
    ),
    (
        "blocklist_lines_rejected",
        "Lines of a block list's last download that were no usable domain.",
        Kind::Gauge,
        |l| l.lines_rejected,
    ),
    (
        "blocklist_fetches",
        "Downloads of a block list started.",
        Kind::Counter,
        |l| l.fetches,
    ),
    (
        "blocklist_fetch_failures",
        "Downloads of a block list that failed (the previous copy stayed).",
        Kind::Counter,
        |l| l.failures,
    ),
    (
        "blocklist_last_fetch_seconds",
        "Wall clock at the end of a block list's last download.",
        Kind::Gauge,
        |l| l.last_fetch_secs,
    ),
    (
        "blocklist_last_fetch_ok",
        "Whether a block list's last download loaded it (1) or failed (0).",
        Kind::Gauge,
        |l| l.last_ok,
    ),
    (
        "blocklist_hits",
        "Questions a block list blocked.",
        Kind::Counter,
        |l| l.hits,
    ),
];

/// Monotonic or a current level (Prometheus' `counter` / `gauge`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Only grows (until a restart).
    Counter,
    /// A current level: table sizes, bytes in use.
    Gauge,
}

impl Kind {
    #[cfg_attr(
        not(test),
        allow(
            dead_code,
            reason = "served by the HTTP metrics endpoint, a later issue"
        )
    )]
    fn prometheus(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
        }
    }
}

/// One counter or gauge.
pub struct Metric {
    /// Name, `snake_case`; Prometheus gets it with a `resolver_` prefix.
    pub name: &'static str,
    /// One line saying what it counts.
    #[cfg_attr(
        not(test),
        allow(
            dead_code,
            reason = "served by the HTTP metrics endpoint, a later issue"
        )
    )]
    pub help: &'static str,
    /// Counter or gauge.
    #[cfg_attr(
        not(test),
        allow(
            dead_code,
            reason = "served by the HTTP metrics endpoint, a later issue"
        )
    )]
    pub kind: Kind,
    /// Its value in a sample; `None` when the platform does not know it.
    pub read: fn(&Sample) -> Option<u64>,
}

macro_rules! metrics {
    ($($name:ident, $kind:ident, $help:literal, |$s:ident| $read:expr;)*) => {
        /// Every metric, in the order they are shown.
        pub const METRICS: &[Metric] = &[$(Metric {
            name: stringify!($name),
            help: $help,
            kind: Kind::$kind,
            read: |$s: &Sample| $read,
        }),*];
    };
}

metrics! {
    queries, Counter, "Client queries accepted (well-formed, allowed).", |s| Some(s.engine.queries);
    cache_hits, Counter, "Client queries answered from the cache.", |s| Some(s.engine.cache_hits);
    fast_path_hits, Counter, "Cache hits answered by the fast path.", |s| Some(s.engine.fast_path_hits);
    cache_misses, Counter, "Client queries that needed resolution.", |s| Some(s.engine.cache_misses);
    coalesced, Counter, "Client queries that joined a resolution in flight.", |s| Some(s.engine.coalesced);
    upstream_queries, Counter, "Queries sent to upstream servers.", |s| Some(s.engine.upstream_queries);
    upstream_tcp, Counter, "Upstream queries sent over TCP.", |s| Some(s.engine.upstream_tcp);
    timeouts, Counter, "Upstream queries that timed out or failed to connect.", |s| Some(s.engine.timeouts);
    servfail, Counter, "Answers with RCODE SERVFAIL.", |s| Some(s.engine.servfail);
    refused, Counter, "Answers with RCODE REFUSED.", |s| Some(s.engine.refused);
    formerr, Counter, "Answers with RCODE FORMERR.", |s| Some(s.engine.formerr);
    notimp, Counter, "Answers with RCODE NOTIMP.", |s| Some(s.engine.notimp);
    stale_served, Counter, "Stale answers served (RFC 8767).", |s| Some(s.engine.stale_served);
    prefetches, Counter, "Prefetches started.", |s| Some(s.engine.prefetches);
    dropped, Counter, "Client and upstream datagrams dropped unanswered (malformed, unexpected, spoofed).", |s| {
        let e = s.engine;
        Some(
            e.dropped_unknown_port
                + e.dropped_wrong_source
                + e.dropped_malformed
                + e.dropped_id_mismatch
                + e.dropped_question_mismatch
                + e.dropped_case_mismatch
                + e.client_dropped,
        )
    };
    scrubbed_records, Counter, "Records removed by bailiwick scrubbing.", |s| Some(s.engine.scrubbed_records);
    cache_bytes, Gauge, "Bytes accounted in the cache.", |s| Some(s.engine.cache_bytes);
    cache_entries, Gauge, "Entries in the cache.", |s| Some(s.engine.cache_entries);
    cache_evictions, Counter, "Cache entries evicted for the byte cap.", |s| Some(s.engine.cache_evictions);
    dnssec_secure, Counter, "DNSSEC: responses validated secure.", |s| Some(s.engine.dnssec_secure);
    dnssec_insecure, Counter, "DNSSEC: responses found insecure under a trust anchor.", |s| Some(s.engine.dnssec_insecure);
    dnssec_bogus, Counter, "DNSSEC: responses found bogus (answered SERVFAIL).", |s| Some(s.engine.dnssec_bogus);
    dnssec_forwarder_unsigned, Counter, "DNSSEC: a forwarder sent a trust anchor's keys unsigned (DO ignored); answers below it insecure.", |s| Some(s.engine.dnssec_forwarder_unsigned);
    dnssec_verifications, Counter, "DNSSEC: signature verifications done.", |s| Some(s.engine.dnssec_verifications);
    dnssec_aggressive, Counter, "DNSSEC: NXDOMAIN/NODATA answers synthesised from validated NSEC records (RFC 8198).", |s| Some(s.engine.dnssec_aggressive);
    dnssec_key_primes, Counter, "DNSSEC: DNSKEY fetches started beside a query to a signed zone.", |s| Some(s.engine.dnssec_key_primes);
    aggressive_nsec_records, Gauge, "DNSSEC: validated NSEC records held for synthesis.", |s| Some(s.engine.aggressive_nsec_records);
    frames_in, Counter, "Frames read from the network device.", |s| Some(s.net.frames_in);
    frames_out, Counter, "Frames written to the network device.", |s| Some(s.net.frames_out);
    tcp_open, Gauge, "Client TCP connections open.", |s| Some(s.net.tcp_open);
    tcp_accepted, Counter, "Client TCP connections accepted.", |s| Some(s.net.tcp_accepted);
    tcp_closed_slow, Counter, "Client TCP connections reset: a query not whole in time (slowloris).", |s| Some(s.net.tcp_closed_slow);
    tcp_refused, Counter, "Client TCP connections reset at accept: source outside the allow list.", |s| Some(s.net.tcp_refused);
    tcp_refused_busy, Counter, "Client TCP connections reset at accept: the source holds its share of connections.", |s| Some(s.net.tcp_refused_busy);
    upstream_held_neighbour, Counter, "Upstream datagrams that waited for their next hop's ARP/NDP answer.", |s| Some(s.net.upstream_udp_held);
    upstream_held_socket, Counter, "Upstream datagrams that waited for a free upstream socket.", |s| Some(s.net.upstream_udp_socket_waits);
    neighbour_solicitations, Counter, "ARP requests and NDP solicitations the stack sent itself.", |s| Some(s.net.neighbour_solicitations);
    heap_used_bytes, Gauge, "Heap bytes in use.", |s| s.heap.map(|h| h.0 as u64);
    heap_total_bytes, Gauge, "Heap bytes in all.", |s| s.heap.map(|h| h.1 as u64);
    in_flight_upstream, Gauge, "Upstream queries awaiting an answer.", |s| Some(s.engine.in_flight_upstream);
    in_flight_resolutions, Gauge, "Resolutions in flight.", |s| Some(s.engine.in_flight_resolutions);
    waiting, Gauge, "Resolutions waiting for an upstream slot.", |s| Some(s.engine.waiting);
}

/// The value of metric `name` in `s` (`None`: no such metric, or unknown here).
pub fn value(s: &Sample, name: &str) -> Option<u64> {
    METRICS
        .iter()
        .find(|m| m.name == name)
        .and_then(|m| (m.read)(s))
}

/// The `stats:` log line, as (text before, metric) pieces. Tools parse it by key
/// (`cargo xtask torture`): new fields go at the end. A piece whose metric is unknown in
/// the sample is left out (the heap on unix without glibc's figures).
const LOG_LINE: &[(&str, &str)] = &[
    ("stats: queries ", "queries"),
    (" hits ", "cache_hits"),
    (" misses ", "cache_misses"),
    (" upstream ", "upstream_queries"),
    (" timeouts ", "timeouts"),
    (" servfail ", "servfail"),
    (" refused ", "refused"),
    (" formerr ", "formerr"),
    (" dropped ", "dropped"),
    (" cache ", "cache_bytes"),
    (" B in ", "cache_entries"),
    (" entries, frames in ", "frames_in"),
    (" out ", "frames_out"),
    (", tcp open ", "tcp_open"),
    (", dnssec secure ", "dnssec_secure"),
    (" insecure ", "dnssec_insecure"),
    (" bogus ", "dnssec_bogus"),
    (" synthesised ", "dnssec_aggressive"),
];

/// The periodic `stats:` log line.
pub fn log_line(s: &Sample) -> String {
    let mut line = String::new();
    for (text, name) in LOG_LINE {
        if let Some(v) = value(s, name) {
            let _ = write!(line, "{text}{v}");
        }
    }
    if let (Some(used), Some(total)) = (value(s, "heap_used_bytes"), value(s, "heap_total_bytes")) {
        let _ = write!(line, ", heap {} of {} KiB", used / 1024, total / 1024);
    }
    // The tables' current sizes: upstream queries, resolutions, and resolutions waiting
    // for an upstream slot (the engine's in-flight caps).
    let get = |n| value(s, n).unwrap_or(0);
    let _ = write!(
        line,
        ", in flight: upstream {} resolutions {} waiting {}",
        get("in_flight_upstream"),
        get("in_flight_resolutions"),
        get("waiting")
    );
    line
}

/// Every metric in the Prometheus text exposition format (version 0.0.4), each with its
/// `# HELP` and `# TYPE` lines, names prefixed `resolver_`.
#[cfg_attr(
    not(test),
    allow(
        dead_code,
        reason = "served by the HTTP metrics endpoint, a later issue"
    )
)]
pub fn prometheus(s: &Sample, out: &mut String) {
    for m in METRICS {
        let Some(v) = (m.read)(s) else { continue };
        let _ = write!(
            out,
            "# HELP resolver_{n} {h}\n# TYPE resolver_{n} {k}\nresolver_{n} {v}\n",
            n = m.name,
            h = m.help,
            k = m.kind.prometheus()
        );
    }
    if s.lists.is_empty() {
        return;
    }
    for (name, help, kind, read) in LIST_METRICS {
        let _ = write!(
            out,
            "# HELP resolver_{name} {help}\n# TYPE resolver_{name} {}\n",
            kind.prometheus()
        );
        for l in s.lists {
            let _ = writeln!(out, "resolver_{name}{{list=\"{}\"}} {}", l.id, read(l));
        }
    }
}

/// Every metric as one JSON object, `{"name": value, …}` (names need no escaping).
#[cfg_attr(
    not(test),
    allow(
        dead_code,
        reason = "served by the HTTP metrics endpoint, a later issue"
    )
)]
pub fn json(s: &Sample, out: &mut String) {
    out.push('{');
    let mut first = true;
    for m in METRICS {
        let Some(v) = (m.read)(s) else { continue };
        if !first {
            out.push(',');
        }
        first = false;
        let _ = write!(out, "\"{}\":{v}", m.name);
    }
    if !s.lists.is_empty() {
        out.push_str(",\"lists\":[");
        for (i, l) in s.lists.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let _ = write!(out, "{{\"list\":{}", l.id);
            for (name, _, _, read) in LIST_METRICS {
                let key = name.strip_prefix("blocklist_").unwrap_or(name);
                let _ = write!(out, ",\"{key}\":{}", read(l));
            }
            out.push('}');
        }
        out.push(']');
    }
    out.push('}');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample<'a>(e: &'a engine::Stats, n: &'a netstack::Stats) -> Sample<'a> {
        Sample {
            engine: e,
            net: n,
            heap: Some((2048, 65536)),
            lists: &[],
        }
    }

    #[test]
    fn each_metric_is_declared_once_and_the_log_line_names_only_known_ones() {
        for (i, m) in METRICS.iter().enumerate() {
            assert!(
                METRICS[i + 1..].iter().all(|o| o.name != m.name),
                "{} twice",
                m.name
            );
            assert!(
                m.name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{}",
                m.name
            );
            assert!(!m.help.is_empty() && !m.help.contains('\n'), "{}", m.name);
        }
        for (_, name) in LOG_LINE {
            assert!(METRICS.iter().any(|m| m.name == *name), "{name}");
        }
    }

    #[test]
    fn prometheus_and_json_show_every_known_value() {
        let mut e = engine::Stats::default();
        e.queries = 7;
        e.cache_bytes = 4096;
        let n = netstack::Stats::default();
        let mut p = String::new();
        prometheus(&sample(&e, &n), &mut p);
        assert!(p.contains(
            "# HELP resolver_queries Client queries accepted (well-formed, allowed).\n\
             # TYPE resolver_queries counter\nresolver_queries 7\n"
        ));
        assert!(p.contains("# TYPE resolver_cache_bytes gauge\nresolver_cache_bytes 4096\n"));
        assert_eq!(p.matches("# TYPE").count(), METRICS.len());
        let mut j = String::new();
        json(&sample(&e, &n), &mut j);
        assert!(j.starts_with("{\"queries\":7,") && j.ends_with('}'), "{j}");
        assert!(j.contains("\"heap_used_bytes\":2048"), "{j}");
        // Without heap figures those two are left out, not shown as 0.
        let no_heap = Sample {
            heap: None,
            ..sample(&e, &n)
        };
        let mut j = String::new();
        json(&no_heap, &mut j);
        assert!(!j.contains("heap"), "{j}");
    }

    #[test]
    fn each_list_has_its_labelled_series() {
        let e = engine::Stats::default();
        let n = netstack::Stats::default();
        let lists = [
            ListSample {
                id: 1,
                domains: 1000,
                lines_rejected: 3,
                fetches: 2,
                failures: 1,
                last_fetch_secs: 1_800_000_000,
                last_ok: 0,
                hits: 9,
            },
            ListSample {
                id: 2,
                last_ok: 1,
                ..ListSample::default()
            },
        ];
        let s = Sample {
            lists: &lists,
            ..sample(&e, &n)
        };
        let mut p = String::new();
        prometheus(&s, &mut p);
        assert!(p.contains(
            "# TYPE resolver_blocklist_domains gauge\nresolver_blocklist_domains{list=\"1\"} 1000\n\
             resolver_blocklist_domains{list=\"2\"} 0\n"
        ), "{p}");
        assert!(p.contains("resolver_blocklist_fetch_failures{list=\"1\"} 1\n"));
        assert!(p.contains("resolver_blocklist_hits{list=\"1\"} 9\n"));
        assert_eq!(
            p.matches("# TYPE").count(),
            METRICS.len() + LIST_METRICS.len()
        );
        let mut j = String::new();
        json(&s, &mut j);
        assert!(j.ends_with(
            ",\"lists\":[{\"list\":1,\"domains\":1000,\"lines_rejected\":3,\"fetches\":2,\
             \"fetch_failures\":1,\"last_fetch_seconds\":1800000000,\"last_fetch_ok\":0,\"hits\":9},\
             {\"list\":2,\"domains\":0,\"lines_rejected\":0,\"fetches\":0,\"fetch_failures\":0,\
             \"last_fetch_seconds\":0,\"last_fetch_ok\":1,\"hits\":0}]}"
        ), "{j}");
    }
}
