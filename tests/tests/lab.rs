//! The lab itself: its authoritative servers form a working delegation tree that Unbound,
//! the reference resolver, resolves. If this fails, every other end-to-end result is moot.

use std::time::Instant;

use e2e::lab::{Lab, LabOptions, UNBOUND_ADDR};

#[test]
fn lab_internet_resolves_through_unbound() -> e2e::Result<()> {
    let t = Instant::now();
    let lab = Lab::start(LabOptions {
        unbound: true,
        dhcp: false,
    })?;
    let www = lab.dig(UNBOUND_ADDR, &["www.shop.test", "A"])?;
    assert_eq!(www.status, "NOERROR", "{}", www.raw);
    assert_eq!(
        www.answer,
        [
            "www.shop.test. IN CNAME www.cdn.example.",
            "www.cdn.example. IN A 203.0.113.80"
        ],
        "{}",
        www.raw
    );
    let glueless = lab.dig(UNBOUND_ADDR, &["www.glueless.test", "A"])?;
    assert_eq!(glueless.answer, ["www.glueless.test. IN A 203.0.113.81"]);
    let v6 = lab.dig(UNBOUND_ADDR, &["www.v6only.test", "AAAA"])?;
    assert_eq!(v6.answer, ["www.v6only.test. IN AAAA 2001:db8:6::82"]);
    let nx = lab.dig(UNBOUND_ADDR, &["nothing.shop.test", "A"])?;
    assert_eq!(nx.status, "NXDOMAIN");
    let big = lab.dig(UNBOUND_ADDR, &["big.shop.test", "TXT"])?;
    assert_eq!(big.answer.len(), 40, "{}", big.raw);
    eprintln!("lab group: {:?}", t.elapsed());
    Ok(())
}
