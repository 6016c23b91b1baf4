//! Boot (config, banner, engine, netstack) and the main loop.

use alloc::string::String;
use core::fmt::Write as _;

use config::{Config, ConfigError, LogLevel, Mode as ConfigMode, Selftest};
use engine::{Engine, EngineConfig, Instant, Mode};
use netstack::{DhcpEvent, Event, NetConfig, NetLimits, Stack};
use platform::Platform;

use crate::nic::PlatformNic;
use crate::service::{Dns, Service, Shared, StatsTimer};

/// How the platform moves frames, for the banner.
struct NetIo(Option<usize>);

impl core::fmt::Display for NetIo {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self.0 {
            Some(n) => write!(f, "batched (up to {n} frames per exit)"),
            None => f.write_str("one frame per call"),
        }
    }
}

/// Boots and serves until the platform stops us. Returns the exit status: 0 after
/// `--help`, 1 for a bad boot argument or a network device that cannot be used.
pub fn main(p: Platform) -> i32 {
    let cfg = match Config::parse(p.cmdline()) {
        Ok(cfg) => cfg,
        Err(ConfigError::Help) => {
            let mut text = config::usage();
            text.push('\n');
            p.console_write(text.as_bytes());
            return 0;
        }
        Err(e) => {
            let mut line = alloc::string::String::new();
            let _ = writeln!(line, "resolver: {e}");
            p.console_write(line.as_bytes());
            return 1;
        }
    };
    platform::init_logger(level_filter(cfg.log_level));
    let mac = p.net_mac();
    log::info!(
        "resolver {} on {} ({}), mac {}, mtu {}, entropy {}, net io {}",
        env!("CARGO_PKG_VERSION"),
        p.name(),
        p.arch(),
        MacDisplay(mac),
        p.net_mtu(),
        p.entropy_source(),
        NetIo(p.net_batch_frames()),
    );
    log::info!("config: {cfg}");

    match cfg.selftest {
        Some(Selftest::Panic) => panic!("--selftest=panic: a deliberate panic"),
        Some(Selftest::Fault) => fault(),
        None => {}
    }

    if cfg.bench_hypercalls > 0 {
        bench_hypercalls(&p, cfg.bench_hypercalls);
    }

    let mut p = p;
    let mut seed = [0u8; 32];
    p.fill_random(&mut seed);
    let mut net_seed = [0u8; 8];
    p.fill_random(&mut net_seed);

    let net_cfg = net_config(&cfg);
    let engine_cfg = sized_to(engine_config(&cfg), &net_cfg.limits);
    log_limits(&engine_cfg, &cfg);
    let mut engine = Engine::new(engine_cfg, seed);
    // DNSSEC checks signatures against the wall clock; the engine counts on from here
    // and is told again every minute (below), so a clock that steps is followed.
    engine.set_wall_clock(
        Instant::from_nanos(p.now()),
        p.wall_clock_ns() / 1_000_000_000,
    );
    let pol = &cfg.policy;
    log::info!(
        "policy: {} blocked, {} allowed, {} host records, {} address rules, {} aliases, \
         local domain {}, {} per-domain servers, rebinding protection {}; {}",
        pol.block.len(),
        pol.allow.len(),
        pol.hosts.len(),
        pol.addresses.len(),
        pol.cnames.len(),
        pol.domain,
        pol.servers.len(),
        if pol.stop_rebind { "on" } else { "off" },
        policy_line(&engine.policy_stats())
    );
    // The host's seed is mixed in, never used instead of the platform's.
    if let Some(host) = &cfg.seed {
        engine.mix_entropy(host);
    }
    if p.entropy_source() == "timer-jitter" {
        log::warn!(
            "entropy: no RDRAND/RDSEED/RNDR, the boot seed comes from timer jitter and is \
             weak; reseeding from packet arrival times{}",
            if cfg.seed.is_some() {
                " and mixing in --seed"
            } else {
                "; give a host seed with --seed=HEX64"
            }
        );
    }

    let now = p.now();
    let net_cfg = net_config(&cfg);
    let mut stack = match Stack::new(
        PlatformNic::new(p),
        &net_cfg,
        u64::from_le_bytes(net_seed),
        now,
    ) {
        Ok(s) => s,
        Err(e) => {
            log::error!("network: cannot start: {e}");
            return 1;
        }
    };
    // TCP clients outside the allow list are reset at accept, before they hold a slot.
    stack.set_dns_allow(Some(cfg.allow.clone()));
    if net_cfg.dhcp {
        log::info!("dhcp: asking for an IPv4 address");
    }
    log::info!(
        "ready: serving DNS on port {} (UDP and TCP){}",
        net_cfg.dns_port,
        Where(&stack)
    );

    let lists = match crate::lists::Lists::new(
        &pol.blocklist_urls,
        &pol.tls_cas,
        pol.blocklist_refresh_secs,
        (cfg.ipv4.is_some() || cfg.dhcp, cfg.ipv6.is_some()),
        u64::from_le_bytes(net_seed).rotate_left(17) ^ now,
        now,
    ) {
        Ok(l) => l,
        Err(e) => {
            log::error!("{e}");
            return 1;
        }
    };
    let mut lp = Loop {
        sh: Shared { engine, stack },
        dns: Dns::default(),
        lists,
        stats: StatsTimer::new(u64::from(cfg.stats_interval_secs) * 1_000_000_000, now),
        reseed: Reseed::new(now),
    };
    lp.run()
}

/// The main loop's state: what the services share, and the services.
struct Loop {
    sh: Shared,
    /// The DNS server.
    dns: Dns,
    /// The `--dns-blocklist-url` downloads.
    lists: crate::lists::Lists,
    stats: StatsTimer,
    reseed: Reseed,
}

/// Samples of packet arrival times, to re-key the engine's RNG with (issue 14, item
/// 20): without a hardware RNG its boot seed is timer jitter, and it was never
/// reseeded. Every [`Reseed::SAMPLES`] arrivals their cycle counts go into
/// [`Engine::mix_entropy`] together, and every [`Reseed::FRESH_EVERY_NS`] 32 fresh
/// bytes from the platform do. Mixing hashes the samples with SHA-256 (a few µs), so
/// it is done per batch, not per packet.
struct Reseed {
    buf: [u8; Reseed::SAMPLES * 8],
    n: usize,
    next_fresh: u64,
}

impl Reseed {
    /// Arrival samples per re-key.
    const SAMPLES: usize = 32;
    /// Time between re-keys from the platform's entropy source.
    const FRESH_EVERY_NS: u64 = 60_000_000_000;

    fn new(now: u64) -> Self {
        Reseed {
            buf: [0; Reseed::SAMPLES * 8],
            n: 0,
            next_fresh: now.saturating_add(Self::FRESH_EVERY_NS),
        }
    }

    /// Adds one sample; the batch to mix in once it is full.
    fn push(&mut self, sample: u64) -> Option<&[u8]> {
        let at = self.n.checked_mul(8)?;
        self.buf
            .get_mut(at..at + 8)?
            .copy_from_slice(&sample.to_le_bytes());
        self.n += 1;
        if self.n < Self::SAMPLES {
            return None;
        }
        self.n = 0;
        Some(&self.buf)
    }

    /// Whether fresh platform entropy is due at `now` (and the next time set).
    fn fresh_due(&mut self, now: u64) -> bool {
        if now < self.next_fresh {
            return false;
        }
        self.next_fresh = now.saturating_add(Self::FRESH_EVERY_NS);
        true
    }
}

impl Loop {
    fn run(&mut self) -> i32 {
        let Loop {
            sh,
            dns,
            lists,
            stats,
            reseed,
        } = self;
        loop {
            // The lists first: the names they ask the engine for then leave with the
            // DNS service's transmits of the same turn.
            let mut services: [&mut dyn Service; 2] = [&mut *lists, &mut *dns];
            let now = sh.stack.nic().platform.now();
            // Whether anything happened does not matter: the events are drained anyway
            // and `poll_delay` says when to come back.
            let _ = sh.stack.poll(now);
            while let Some(ev) = sh.stack.next_event() {
                let sample = sh.stack.nic().platform.entropy_sample();
                if let Some(batch) = reseed.push(sample) {
                    sh.engine.mix_entropy(batch);
                }
                let mut ev = Some(ev);
                for s in services.iter_mut() {
                    match ev.take() {
                        Some(e) => ev = s.handle(sh, now, e),
                        None => break,
                    }
                }
                if let Some(ev) = ev {
                    net_event(ev);
                }
                for s in services.iter_mut() {
                    s.poll_transmit(sh, now);
                }
                // Each answer leaves now, not after the whole batch was worked on.
                let _ = sh.stack.flush();
            }
            if reseed.fresh_due(now) {
                let wall = sh.stack.nic().platform.wall_clock_ns() / 1_000_000_000;
                sh.engine.set_wall_clock(Instant::from_nanos(now), wall);
                let mut fresh = [0u8; 32];
                sh.stack.nic_mut().platform.fill_random(&mut fresh);
                sh.engine.mix_entropy(&fresh);
            }
            for s in services.iter_mut() {
                s.handle_timeout(sh, now);
                s.poll_transmit(sh, now);
            }
            // Send what the timeouts queued. Not a second poll: its frames' events would
            // wait behind the next poll's batch, and on unix it cost a read(2) that finds
            // nothing; frames that arrived meanwhile wake the wait below at once.
            let _ = sh.stack.flush();

            let mut deadline = sh.stack.poll_delay(now).map(|d| now.saturating_add(d));
            for s in services.iter() {
                if let Some(t) = s.poll_timeout(sh, now) {
                    deadline = Some(earliest(deadline, t));
                }
            }
            if stats.due(now) {
                log_stats(sh, lists);
            }
            if let Some(t) = stats.poll_timeout() {
                deadline = Some(earliest(deadline, t));
            }
            // Work already due (more frames or events waiting): straight back, without a
            // POLL exit or a ppoll(2) that could not block anyway.
            if deadline.is_some_and(|d| d <= now) {
                continue;
            }
            sh.stack.nic_mut().platform.wait_until(deadline);
        }
    }
}

/// A netstack event no service took: the DHCP client's, logged.
fn net_event(ev: Event) {
    match ev {
        Event::Dhcp(DhcpEvent::Configured {
            address,
            prefix_len,
            router,
            server,
            ..
        }) => {
            log::info!("dhcp: address {address}/{prefix_len} from {server}");
            match router {
                Some(r) => log::info!("dhcp: gateway {r}"),
                None => log::warn!("dhcp: the server named no gateway"),
            }
        }
        Event::Dhcp(DhcpEvent::Deconfigured) => {
            log::warn!("dhcp: lease lost; looking for a new one");
        }
        other => log::debug!("netstack event for no service: {other:?}"),
    }
}

/// The periodic stats lines: the engine's and the netstack's counters, the policy's,
/// one per block list.
fn log_stats(sh: &Shared, lists: &crate::lists::Lists) {
    let heap = sh.stack.nic().platform.heap_stats();
    let line = stats_line(
        sh.engine.stats(),
        &sh.stack.stats(),
        heap.map(|h| (h.used, h.total)),
    );
    log::info!("{line}");
    let policy = sh.engine.policy_stats();
    log::info!("{}", policy_line(&policy));
    for (id, url, s) in lists.stats() {
        log::info!("{}", list_line(&list_sample(id, s, &policy), url, s));
    }
}

/// A list's counters for the registry: the fetcher's and the engine's.
fn list_sample(
    id: u16,
    s: &crate::lists::FetchStats,
    policy: &engine::PolicyStats,
) -> crate::metrics::ListSample {
    let held = policy.lists.iter().find(|l| l.id == id);
    crate::metrics::ListSample {
        id,
        domains: held.map_or(0, |l| l.domains),
        lines_rejected: s.lines_rejected,
        fetches: s.fetches,
        failures: s.failures,
        last_fetch_secs: s.last_fetch_secs,
        last_ok: u64::from(s.last == Some(crate::lists::Outcome::Loaded)),
        hits: held.map_or(0, |l| l.hits),
    }
}

/// The periodic `stats:` line, from the one registry of counters ([`crate::metrics`]).
fn stats_line(e: &engine::Stats, n: &netstack::Stats, heap: Option<(usize, usize)>) -> String {
    crate::metrics::log_line(&crate::metrics::Sample {
        engine: e,
        net: n,
        heap,
        lists: &[],
    })
}

fn earliest(a: Option<u64>, b: u64) -> u64 {
    a.map_or(b, |a| a.min(b))
}

fn level_filter(l: LogLevel) -> log::LevelFilter {
    match l {
        LogLevel::Error => log::LevelFilter::Error,
        LogLevel::Warn => log::LevelFilter::Warn,
        LogLevel::Info => log::LevelFilter::Info,
        LogLevel::Debug => log::LevelFilter::Debug,
        LogLevel::Trace => log::LevelFilter::Trace,
    }
}

/// The engine's configuration from the boot arguments.
fn engine_config(cfg: &Config) -> EngineConfig {
    let mut e = EngineConfig {
        mode: match &cfg.mode {
            ConfigMode::Recursive { root_hints } => Mode::Recursive {
                root_hints: root_hints.clone().unwrap_or_else(engine::iana_root_hints),
            },
            ConfigMode::Forward { upstreams } => Mode::Forward {
                upstreams: upstreams.clone(),
            },
        },
        allow: cfg.allow.clone(),
        cache_bytes: cfg.cache_size,
        qname_minimisation: cfg.qname_minimisation,
        use_ipv6: cfg.ipv6.is_some(),
        serve_stale: cfg.serve_stale.then_some(common::defaults::STALE_WINDOW),
        policy: policy_config(&cfg.policy),
        allow_snoop: cfg.allow_snoop,
        dnssec: engine::DnssecConfig {
            enabled: cfg.dnssec.enabled,
            trust_anchors: cfg.dnssec.trust_anchors.clone(),
            negative_anchors: cfg.dnssec.domain_insecure.clone(),
            trust_clock: cfg.dnssec.trust_clock,
            clock_skew: core::time::Duration::from_secs(u64::from(cfg.dnssec.clock_skew_secs)),
            aggressive_nsec: cfg.dnssec.aggressive_nsec,
            ..engine::DnssecConfig::default()
        },
        ..EngineConfig::default()
    };
    e.limits.max_client_queries = cfg.max_clients;
    e
}

/// The engine's policy from the policy boot keys (`config::policy`).
fn policy_config(p: &config::Policy) -> engine::PolicyConfig {
    engine::PolicyConfig {
        block: p.block.clone(),
        allow: p.allow.clone(),
        block_answer: p.block_answer,
        hosts: p.hosts.clone(),
        addresses: p.addresses.clone(),
        cnames: p.cnames.clone(),
        domain: p.domain.clone(),
        servers: p.servers.clone(),
        stop_rebind: p.stop_rebind,
        rebind_ok: p.rebind_ok.clone(),
        nodefault: p.nodefault.clone(),
        ..engine::PolicyConfig::default()
    }
}

/// The policy part of the `stats:` line: answers given locally, answers the rebinding
/// filter changed, and per block list its domains and hits.
fn policy_line(p: &engine::PolicyStats) -> String {
    let mut line = alloc::format!(
        "policy: local {} rebind-filtered {}",
        p.local_answers,
        p.rebind_filtered
    );
    for l in &p.lists {
        let _ = write!(
            line,
            ", list {} {} domains {} rejected {} hits {}",
            l.id, l.source, l.domains, l.rejected, l.hits
        );
    }
    line
}

/// One `blocklist:` stats line: a URL list's fetch counters (its domains and hits are
/// on the `policy:` line).
fn list_line(l: &crate::metrics::ListSample, url: &str, s: &crate::lists::FetchStats) -> String {
    let last = match &s.last {
        Some(o) => alloc::format!("{o}"),
        None => String::from("pending"),
    };
    alloc::format!(
        "blocklist {} {url}: domains {} hits {} fetches {} failures {} lines {} rejected {} \
         bytes {} load-ms {} last-fetch {} last-result {last}",
        l.id,
        l.domains,
        l.hits,
        l.fetches,
        l.failures,
        s.lines,
        l.lines_rejected,
        s.bytes,
        s.last_ms,
        l.last_fetch_secs
    )
}

/// The engine's caps sized from the netstack's: no more upstream queries in flight than
/// there are upstream UDP sockets (a full pool made queries fail as if timed out;
/// issue 14), so a resolution waits for a slot in the engine instead. The datagrams
/// that still find the pool full (ports are released after each batch) wait in the
/// netstack, reported as held.
fn sized_to(mut e: EngineConfig, net: &NetLimits) -> EngineConfig {
    e.limits.max_upstream_in_flight = net.upstream_udp_sockets.max(1);
    e
}

/// The netstack's configuration from the boot arguments.
fn net_config(cfg: &Config) -> NetConfig {
    NetConfig {
        ipv4: cfg.ipv4.map(|c| (c.addr(), c.prefix())),
        ipv4_gateway: cfg.ipv4_gateway,
        ipv6: cfg.ipv6.map(|c| (c.addr(), c.prefix())),
        ipv6_gateway: cfg.ipv6_gateway,
        dhcp: cfg.dhcp,
        dns_port: netstack::DNS_PORT,
        limits: NetLimits {
            tcp_clients: cfg.tcp_connections,
            // One client (address, or IPv6 /64) holds at most half of them (at least 4).
            tcp_clients_per_source: (cfg.tcp_connections / 2).max(4).min(cfg.tcp_connections),
            ..NetLimits::default()
        },
    }
}

/// The engine's limits, at debug level: the config line already shows the mode, the
/// cache size and the client caps, and formatting is not free at boot (issue 7).
fn log_limits(e: &EngineConfig, cfg: &Config) {
    if !log::log_enabled!(log::Level::Debug) {
        return;
    }
    let l = &e.limits;
    let mode = match &e.mode {
        Mode::Recursive { root_hints } => {
            alloc::format!("recursive from {} root server addresses", root_hints.len())
        }
        Mode::Forward { upstreams } => {
            alloc::format!("forwarding to {} upstreams", upstreams.len())
        }
    };
    log::debug!(
        "mode: {mode}; limits: cache {} KiB, clients {}, tcp connections {}, upstream per query {}, \
         referrals {}, cname chain {}, query timeout {} ms",
        e.cache_bytes / 1024,
        l.max_client_queries,
        cfg.tcp_connections,
        l.max_upstream_per_query,
        l.max_referrals,
        l.max_cname_chain,
        l.query_timeout.as_millis()
    );
}

/// `--bench-hypercalls=N`: times `n` wall-clock reads, the cheapest call that leaves the
/// guest on hvt (one WALLTIME hypercall, one VM exit each; on unix a clock read), and
/// logs the mean cost of one. `cargo xtask bench` reads this line to compute the packet
/// rate that VM exits alone allow.
fn bench_hypercalls(p: &Platform, n: u32) {
    let start = p.now();
    let mut sink = 0u64;
    for _ in 0..n {
        sink = sink.wrapping_add(p.wall_clock_ns());
    }
    let total = p.now().saturating_sub(start);
    log::info!(
        "bench: {n} hypercalls in {total} ns: {} ns per round trip (checksum {})",
        total / u64::from(n),
        sink & 0xff
    );
}

/// A page fault on purpose (`--selftest=fault`).
fn fault() -> ! {
    let bad = core::ptr::without_provenance::<u64>(0x8);
    // SAFETY: deliberately unsound, for `--selftest=fault` only: address 0x8 is unmapped
    // (the zero page), so this read faults and the platform's fault handler reports the
    // registers and halts; on unix the process dies with SIGSEGV. It never returns.
    let v = unsafe { core::ptr::read_volatile(bad) };
    panic!("--selftest=fault: reading address 0x8 gave {v:#x} instead of a fault");
}

/// ` at ADDR/LEN, …, gateway GW, …` for the ready line: one line (and one console
/// write) instead of one per address.
struct Where<'a>(&'a Stack<PlatformNic>);

impl core::fmt::Display for Where<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        for (i, (addr, prefix)) in self.0.addresses().into_iter().enumerate() {
            let sep = if i == 0 { " at" } else { "," };
            write!(f, "{sep} {addr}/{prefix}")?;
        }
        let (v4, v6) = self.0.gateways();
        if let Some(g) = v4 {
            write!(f, ", gateway {g}")?;
        }
        if let Some(g) = v6 {
            write!(f, ", gateway {g}")?;
        }
        Ok(())
    }
}

/// `aa:bb:cc:dd:ee:ff`.
struct MacDisplay([u8; 6]);

impl core::fmt::Display for MacDisplay {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let m = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            m[0], m[1], m[2], m[3], m[4], m[5]
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One owner per default: an empty boot command line builds exactly the engine's own
    /// default configuration (cache size, serve-stale, allow list, client cap, mode).
    #[test]
    fn policy_keys_reach_the_engine() {
        let cfg = Config::parse(
            "--dns-block=ads.example --dns-allow=ok.ads.example --block-answer=null \
             --host-record=nas,192.168.1.5,60 --address=/lab.test/ --cname=a.test,nas \
             --domain=lan --server=/lan/192.168.1.1#5353 --stop-dns-rebind=off \
             --rebind-domain-ok=/plex.direct/",
        )
        .unwrap();
        let p = engine_config(&cfg).policy;
        assert_eq!(p.block, ["ads.example"]);
        assert_eq!(p.allow, ["ok.ads.example"]);
        assert_eq!(p.block_answer, engine::BlockAnswer::Null);
        assert_eq!(p.hosts[0].ttl, Some(60));
        assert_eq!(p.addresses[0].addr, None);
        assert_eq!(p.cnames[0].target, "nas");
        assert_eq!(p.domain, "lan");
        assert_eq!(p.servers[0].servers, ["192.168.1.1:5353".parse().unwrap()]);
        assert!(!p.stop_rebind);
        assert_eq!(p.rebind_ok, ["plex.direct"]);
        let line = policy_line(&Engine::new(engine_config(&cfg), [1; 32]).policy_stats());
        assert!(line.contains("list 0 --dns-block domains 1"), "{line}");
    }

    #[test]
    fn boot_defaults_and_engine_defaults_agree() {
        assert_eq!(engine_config(&Config::default()), EngineConfig::default());
        let parsed = Config::parse("").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(engine_config(&parsed), EngineConfig::default());
        assert_eq!(
            net_config(&Config::default()).limits.tcp_clients,
            NetLimits::default().tcp_clients
        );
        assert_eq!(
            net_config(&Config::default()).limits.tcp_clients_per_source,
            NetLimits::default().tcp_clients_per_source
        );
        let share = |n: &str| {
            let c = Config::parse(&alloc::format!("--tcp-connections={n}"))
                .unwrap_or_else(|e| panic!("{e}"));
            net_config(&c).limits.tcp_clients_per_source
        };
        assert_eq!((share("1"), share("6"), share("64")), (1, 4, 32));
    }

    #[test]
    fn boot_keys_of_the_client_edges_reach_the_engine() {
        let cfg =
            Config::parse("--allow-snoop --allow=10.0.0.0/8").unwrap_or_else(|e| panic!("{e}"));
        let e = engine_config(&cfg);
        assert!(e.allow_snoop);
        assert!(!engine_config(&Config::default()).allow_snoop);
        assert_eq!(e.allow, cfg.allow);
    }

    #[test]
    fn reseed_mixes_every_32_arrivals_and_fresh_entropy_every_minute() {
        let mut r = Reseed::new(0);
        for round in 0..3u64 {
            for i in 0..31u64 {
                assert!(r.push(round * 100 + i).is_none());
            }
            let batch = r.push(round * 100 + 31).map(<[u8]>::to_vec);
            let batch = batch.unwrap_or_else(|| panic!("no batch after 32 samples"));
            assert_eq!(batch.len(), 256);
            assert_eq!(batch.get(..8), Some(&(round * 100).to_le_bytes()[..]));
            assert_eq!(
                batch.get(248..),
                Some(&(round * 100 + 31).to_le_bytes()[..])
            );
        }
        assert!(!r.fresh_due(59_999_999_999));
        assert!(r.fresh_due(60_000_000_000));
        assert!(!r.fresh_due(60_000_000_001));
        assert!(r.fresh_due(120_000_000_000));
    }

    /// The engine never has more upstream queries in flight than the netstack has
    /// sockets, and gives a held datagram at least as long as the netstack holds it.
    #[test]
    fn engine_and_netstack_upstream_caps_agree() {
        for cmdline in ["", "--max-clients=4096"] {
            let cfg = Config::parse(cmdline).unwrap_or_else(|e| panic!("{e}"));
            let net = net_config(&cfg);
            let e = sized_to(engine_config(&cfg), &net.limits);
            assert_eq!(
                e.limits.max_upstream_in_flight,
                net.limits.upstream_udp_sockets
            );
            assert!(net.limits.upstream_udp_wait > 0, "a full pool waits");
            assert_eq!(
                u64::try_from(engine::UPSTREAM_HOLD.as_nanos()).ok(),
                Some(net.limits.upstream_hold_ns)
            );
        }
    }

    #[test]
    fn stats_line_keeps_its_fields_and_ends_with_the_table_sizes() {
        let mut e = engine::Stats::default();
        e.queries = 10;
        e.servfail = 2;
        e.cache_bytes = 4096;
        e.in_flight_upstream = 32;
        e.in_flight_resolutions = 120;
        e.waiting = 88;
        let n = netstack::Stats::default();
        assert_eq!(
            stats_line(&e, &n, Some((2048, 65536))),
            "stats: queries 10 hits 0 misses 0 upstream 0 timeouts 0 servfail 2 refused 0 \
             formerr 0 dropped 0 cache 4096 B in 0 entries, frames in 0 out 0, tcp open 0, \
             dnssec secure 0 insecure 0 bogus 0 synthesised 0, heap 2 of 64 KiB, in flight: \
             upstream 32 resolutions 120 waiting 88"
        );
        assert!(
            stats_line(&e, &n, None)
                .ends_with("synthesised 0, in flight: upstream 32 resolutions 120 waiting 88")
        );
    }
}
