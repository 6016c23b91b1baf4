//! Resolution on the lab internet, the hvt image under the tender and the unix build side
//! by side with Unbound: every answer equal to Unbound's section by section (TTL aside),
//! then still answered from the cache after every authoritative server is stopped.

use std::time::Instant;

use e2e::dig::Dig;
use e2e::guest::{Resolver, boot_both};
use e2e::lab::{Lab, LabOptions, UNBOUND_ADDR};

/// (name, type, what it exercises)
const CASES: &[(&str, &str, &str)] = &[
    ("www.shop.test", "A", "CNAME to another zone"),
    ("alias.shop.test", "A", "CNAME chain across zones"),
    ("www.cdn.example", "AAAA", "AAAA"),
    ("nothing.shop.test", "A", "NXDOMAIN"),
    ("mail.shop.test", "AAAA", "NODATA"),
    ("www.glueless.test", "A", "glueless delegation"),
    (
        "big.shop.test",
        "TXT",
        "truncated over UDP, retried over TCP",
    ),
    ("www.v6only.test", "A", "zone whose only server is IPv6"),
    ("shop.test", "MX", "MX"),
];

/// Owner names compare case-insensitively (dig echoes the question's case), RDATA
/// exactly: a 0x20-randomised case leaking into answers is a difference.
fn normalised(d: &Dig) -> [Vec<String>; 3] {
    d.sections()
}

fn check_same_as_unbound(lab: &Lab, r: &Resolver, name: &str, qtype: &str, what: &str) {
    let kind = r.kind().name();
    let ours = lab
        .dig(r.v4, &[name, qtype])
        .unwrap_or_else(|e| panic!("{kind}: {what} ({name} {qtype}): {e}"));
    let reference = lab
        .dig(UNBOUND_ADDR, &[name, qtype])
        .unwrap_or_else(|e| panic!("unbound: {name} {qtype}: {e}"));
    assert_eq!(
        ours.status, reference.status,
        "{kind}: {what} ({name} {qtype}): status differs from Unbound\nours:\n{}\nunbound:\n{}",
        ours.raw, reference.raw
    );
    assert!(
        ours.has_flag("ra") && ours.has_flag("rd") && !ours.has_flag("aa"),
        "{kind}: {what}: flags {:?}",
        ours.flags
    );
    let [a1, b1, c1] = normalised(&ours);
    let [a2, b2, c2] = normalised(&reference);
    assert_eq!(
        a1, a2,
        "{kind}: {what} ({name} {qtype}): answer section differs from Unbound's"
    );
    assert_eq!(
        b1, b2,
        "{kind}: {what} ({name} {qtype}): authority section differs from Unbound's"
    );
    assert_eq!(
        c1, c2,
        "{kind}: {what} ({name} {qtype}): additional section differs from Unbound's"
    );
    eprintln!(
        "{kind:>4} {name:<20} {qtype:<4} {:<8} ours {:>4} ms, unbound {:>4} ms  ({what})",
        ours.status,
        ours.query_ms.unwrap_or(0),
        reference.query_ms.unwrap_or(0)
    );
}

#[test]
fn answers_equal_unbound_and_survive_the_servers_going_away() -> e2e::Result<()> {
    let t = Instant::now();
    let mut lab = Lab::start(LabOptions {
        unbound: true,
        dhcp: false,
    })?;
    let hints = format!("--root-hints={}", lab.root_hints());
    let resolvers = boot_both(&lab, &[&hints])?;
    for r in &resolvers {
        for &(name, qtype, what) in CASES {
            check_same_as_unbound(&lab, r, name, qtype, what);
        }
        // Cached now: the same again is answered, with a TTL that has not grown.
        let first = lab.dig(r.v4, &["www.cdn.example", "A"])?;
        let again = lab.dig(r.v4, &["www.cdn.example", "A"])?;
        assert_eq!(first.answer, again.answer);
        assert!(
            again.answer_ttls[0] <= first.answer_ttls[0] && first.answer_ttls[0] <= 300,
            "{}: TTL grew or exceeds the zone's: {:?} then {:?}",
            r.kind().name(),
            first.answer_ttls,
            again.answer_ttls
        );
    }

    // The internet goes away: cached answers keep coming.
    lab.stop_servers();
    for r in &resolvers {
        for &(name, qtype, what) in CASES {
            let d = lab.dig(r.v4, &[name, qtype])?;
            let expect = if name.starts_with("nothing") {
                "NXDOMAIN"
            } else {
                "NOERROR"
            };
            assert_eq!(
                d.status,
                expect,
                "{}: {what} ({name} {qtype}) not answered from the cache with the servers stopped:\n{}",
                r.kind().name(),
                d.raw
            );
        }
    }
    eprintln!("resolve group: {:?}", t.elapsed());
    Ok(())
}
