//! Boot: the hvt image under the project's tender and the unix build, each on a TAP in a
//! lab namespace. The banner shows the parsed config, the resolver's address answers
//! ping, and bad boot arguments, bad images and a crashing guest end with a clear message
//! and a non-zero status.

use std::time::{Duration, Instant};

use e2e::guest::{Guest, Kind};
use e2e::lab::{Lab, LabOptions};
use e2e::zones::ROOT_HINTS;

const BOOT: Duration = Duration::from_secs(30);

fn addr(kind: Kind) -> (&'static str, &'static str) {
    match kind {
        Kind::Hvt => ("10.53.0.2", "--ipv4=10.53.0.2/24"),
        Kind::Unix => ("10.53.0.3", "--ipv4=10.53.0.3/24"),
    }
}

#[test]
fn boots_prints_config_and_answers_ping() -> e2e::Result<()> {
    let t = Instant::now();
    let lab = Lab::start(LabOptions::default())?;
    for (tap, kind) in Kind::ALL.into_iter().enumerate() {
        let (ip, arg) = addr(kind);
        let mut g = Guest::boot(
            &lab,
            kind,
            tap,
            &[arg, "--ipv4-gateway=10.53.0.1", "--cache-size=4M"],
        )?;
        let banner = g.wait_for("config: ", BOOT)?;
        assert!(
            banner.contains(&format!("ipv4 {ip}/24")) && banner.contains("cache 4M"),
            "{kind:?} banner does not show the parsed config: {banner}"
        );
        g.wait_for("ready: serving DNS", BOOT)?;
        let rtt = lab.wait_ping(ip, BOOT)?;
        eprintln!("{}: ping answered {rtt:?} after ready", kind.name());
        lab.ping(ip, 3)?;
    }
    eprintln!("boot group: {:?}", t.elapsed());
    Ok(())
}

/// The hvt image moves frames both ways: batched (several per VM exit) under the
/// project's tender, and one per hypercall when the tender does not announce the
/// extension, which is what it meets under `solo5-hvt`. Each way it must say which in
/// its banner and resolve a burst of names through the lab.
#[test]
fn hvt_serves_with_batched_and_with_plain_net_hypercalls() -> e2e::Result<()> {
    let lab = Lab::start(LabOptions::default())?;
    let hints = format!("--root-hints={}", ROOT_HINTS.join(","));
    for (env, expect) in [
        (&[][..], "net io batched (up to 32 frames per exit)"),
        (&[("TENDER_NO_BATCH", "1")][..], "net io one frame per call"),
    ] {
        let (ip, arg) = addr(Kind::Hvt);
        let mut g = Guest::boot_env(
            &lab,
            Kind::Hvt,
            0,
            64,
            &[arg, "--ipv4-gateway=10.53.0.1", &hints],
            env,
        )?;
        g.wait_for(expect, BOOT)?;
        g.wait_for("ready: serving DNS", BOOT)?;
        // Cold (upstream traffic through the rings) and then cached, several in a row.
        for round in 0..3 {
            for name in ["www.shop.test", "www.cdn.example", "alias.shop.test"] {
                let d = lab.dig(ip, &[name, "A"])?;
                assert_eq!(
                    d.status, "NOERROR",
                    "{expect}: round {round}: {name}: {}",
                    d.raw
                );
                assert!(!d.answer.is_empty(), "{expect}: {name}: {}", d.raw);
            }
        }
        drop(g);
    }
    Ok(())
}
