//! Per-domain forwarding (`--server=/DOMAIN/IP`, issue 15) end to end on hvt and unix:
//! names under the domain go to the second server (the lab's Unbound, which alone
//! serves `corp.test` from local data), everything else is still resolved from the
//! lab's root.

use std::time::Instant;

use e2e::guest::boot_both;
use e2e::lab::{CORP_ADDR, CORP_NAME, Lab, LabOptions, UNBOUND_ADDR};

#[test]
fn per_domain_forwarding_to_a_second_server() -> e2e::Result<()> {
    let t = Instant::now();
    let lab = Lab::start(LabOptions {
        unbound: true,
        dhcp: false,
    })?;
    // Unbound has it; the lab's authoritative servers do not.
    let direct = lab.dig(UNBOUND_ADDR, &[CORP_NAME, "A"])?;
    assert_eq!(
        direct.answer,
        [format!("{CORP_NAME} IN A {CORP_ADDR}")],
        "{}",
        direct.raw
    );
    let hints = format!("--root-hints={}", lab.root_hints());
    let server = format!("--server=/corp.test/{UNBOUND_ADDR}");
    for r in boot_both(&lab, &[&hints, &server])? {
        let kind = r.kind().name();
        let d = lab.dig(r.v4, &[CORP_NAME, "A"])?;
        assert_eq!(
            d.answer,
            [format!("{CORP_NAME} IN A {CORP_ADDR}")],
            "{kind}:\n{}",
            d.raw
        );
        // Outside the domain: recursion from the lab root as before.
        let d = lab.dig(r.v4, &["www.cdn.example", "A"])?;
        assert_eq!(
            d.answer,
            ["www.cdn.example. IN A 203.0.113.80"],
            "{kind}:\n{}",
            d.raw
        );
        // A name of the forwarded domain that the server does not know: its NXDOMAIN,
        // not the lab root's (the `test.` zone would say NXDOMAIN too, so check the SOA).
        let d = lab.dig(r.v4, &["nothing.corp.test", "A"])?;
        assert_eq!(d.status, "NXDOMAIN", "{kind}:\n{}", d.raw);
        assert!(
            d.authority
                .iter()
                .any(|a| a.starts_with("corp.test. IN SOA")),
            "{kind}: the SOA comes from the forwarded server:\n{}",
            d.raw
        );
    }
    eprintln!("per-domain forwarding group: {:?}", t.elapsed());
    Ok(())
}
