//! The resolver unikernel. For now only a boot smoke test of the platform: it prints a
//! banner, proves the poll path, and exits (the DNS main loop replaces this).
//!
//! Self-tests, by boot argument: `--selftest-panic` panics (status 255 with message and
//! location), `--selftest-fault` reads address 0x8 (a page fault: registers, status 255).
#![cfg_attr(target_os = "none", no_std, no_main)]

extern crate alloc;

use platform::Platform;

platform::entry!(app_main);

fn app_main(mut p: Platform) -> i32 {
    platform::init_logger(log::LevelFilter::Info);
    let mac = p.net_mac();
    log::info!(
        "resolver {} on {} ({})",
        env!("CARGO_PKG_VERSION"),
        p.name(),
        p.arch()
    );
    log::info!(
        "net service: mac {:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}, mtu {}",
        mac[0],
        mac[1],
        mac[2],
        mac[3],
        mac[4],
        mac[5],
        p.net_mtu()
    );
    log::info!("entropy: {}", p.entropy_source());
    log::info!("cmdline: {:?}", p.cmdline());

    let selftest = |flag: &str| p.cmdline().split_ascii_whitespace().any(|a| a == flag);
    if selftest("--selftest-panic") {
        panic!("selftest: --selftest-panic was given");
    }
    if selftest("--selftest-fault") {
        let bad = core::ptr::without_provenance::<u64>(0x8);
        // SAFETY: not safe at all, on purpose: address 0x8 is unmapped, so this read
        // faults and the platform's exception handler halts with 255. It never returns.
        let v = unsafe { core::ptr::read_volatile(bad) };
        log::error!("read {v:#x} from address 0x8: no page fault?");
        return 1;
    }

    // Prove the poll and read paths: wait, then drain (and drop) whatever arrived.
    let mut frame = alloc::vec![0u8; usize::from(p.net_mtu()) + 14];
    for round in 0..3 {
        let start = p.now();
        let ready = p.wait_until(Some(start + 10_000_000));
        let mut frames = 0;
        while let Ok(Some(_)) = p.net_read(&mut frame) {
            frames += 1;
        }
        log::info!(
            "poll {round}: woke after {} us, frame waiting: {ready}, dropped {frames}",
            (p.now() - start) / 1000
        );
    }
    let mut seed = [0u8; 8];
    p.fill_random(&mut seed);
    log::info!(
        "random: {:016x}, wall clock: {} s since the epoch",
        u64::from_le_bytes(seed),
        p.wall_clock_ns() / 1_000_000_000
    );
    if let Some(h) = p.heap_stats() {
        log::info!("heap: {} of {} KiB used", h.used / 1024, h.total >> 10);
    }
    0
}
