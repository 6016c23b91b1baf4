//! Forwarding mode with Unbound as the upstream, and an address from DHCP (dnsmasq).
//! The forwarding resolvers validate (the default) from the lab's root anchor: the
//! forwarder passes signatures, so signed zones are secure and a broken one is bogus.

use std::time::{Duration, Instant};

use e2e::guest::{Guest, Kind, boot_both};
use e2e::lab::{Lab, LabOptions, UNBOUND_ADDR};

#[test]
fn forwarding_to_unbound() -> e2e::Result<()> {
    let t = Instant::now();
    let lab = Lab::start(LabOptions {
        unbound: true,
        dhcp: false,
    })?;
    let forward = format!("--forward={UNBOUND_ADDR}");
    let anchor = lab.trust_anchor_arg(".")?;
    for r in boot_both(&lab, &[&forward, &anchor])? {
        let kind = r.kind().name();
        r.guest
            .output()
            .contains(&format!("forward to {UNBOUND_ADDR}:53"))
            .then_some(())
            .ok_or(format!(
                "{kind}: banner does not say forwarding:\n{}",
                r.guest.output()
            ))?;
        let d = lab.dig(r.v4, &["alias.shop.test", "A"])?;
        assert_eq!(
            d.answer,
            [
                "alias.shop.test. IN CNAME www.shop.test.",
                "www.shop.test. IN CNAME www.cdn.example.",
                "www.cdn.example. IN A 203.0.113.80"
            ],
            "{kind}:\n{}",
            d.raw
        );
        let nx = lab.dig(r.v4, &["nothing.shop.test", "A"])?;
        assert_eq!(nx.status, "NXDOMAIN", "{kind}:\n{}", nx.raw);
        let d = lab.dig(r.v4, &["+dnssec", "www.secure.test", "A"])?;
        assert!(
            d.status == "NOERROR" && d.has_flag("ad"),
            "{kind}: validated through the forwarder:\n{}",
            d.raw
        );
        let d = lab.dig(r.v4, &["+dnssec", "www.badsig.test", "A"])?;
        assert_eq!(d.status, "SERVFAIL", "{kind}: bogus:\n{}", d.raw);
    }
    eprintln!("forward group: {:?}", t.elapsed());
    Ok(())
}

#[test]
fn address_by_dhcp() -> e2e::Result<()> {
    let t = Instant::now();
    let lab = Lab::start(LabOptions {
        unbound: false,
        dhcp: true,
    })?;
    let hints = format!("--root-hints={}", lab.root_hints());
    for (tap, kind) in Kind::ALL.into_iter().enumerate() {
        let mut g = Guest::boot(&lab, kind, tap, &[&hints])?;
        let line = g.wait_for("dhcp: address ", Duration::from_secs(30))?;
        let addr = line
            .split("dhcp: address ")
            .nth(1)
            .and_then(|s| s.split('/').next())
            .ok_or(format!("cannot read the address from {line:?}"))?
            .to_string();
        assert!(
            addr.starts_with("10.53.0.1"),
            "{}: leased {addr}, outside dnsmasq's range",
            kind.name()
        );
        g.wait_for("dhcp: gateway 10.53.0.1", Duration::from_secs(5))?;
        let d = lab.dig(&addr, &["www.cdn.example", "A"])?;
        assert_eq!(
            d.answer,
            ["www.cdn.example. IN A 203.0.113.80"],
            "{}: on its leased address {addr}:\n{}",
            kind.name(),
            d.raw
        );
        eprintln!("{}: leased {addr} and answered on it", kind.name());
    }
    eprintln!("dhcp group: {:?}", t.elapsed());
    Ok(())
}
