//! Resolution on the lab internet, the hvt image under the tender and the unix build side
//! by side with Unbound: every answer equal to Unbound's section by section (TTL aside),
//! then still answered from the cache after every authoritative server is stopped.

use std::time::Instant;

use e2e::compare::{EdeCheck, compare_with};
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

fn check_same_as_unbound(lab: &Lab, r: &Resolver, name: &str, qtype: &str, what: &str) {
    if let Err(e) = compare_with_unbound(lab, r, &[name, qtype], what) {
        panic!("{e}");
    }
}

/// Asks our resolver `r` and Unbound the same (`dig ARGS`) and says how the answers
/// differ, if they do: status, flags, then each section (TTLs aside).
fn compare_with_unbound(lab: &Lab, r: &Resolver, args: &[&str], what: &str) -> Result<(), String> {
    compare_with(lab, r, UNBOUND_ADDR, (false, EdeCheck::Off), args, what)
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

/// The shapes that answered differently from Unbound before (issue 14), first contact
/// with the servers on the LAN first of all, right after boot.
const SHAPES: &[(&[&str], &str)] = &[
    (
        &["chain.on1.test", "A"],
        "first contact: a CNAME chain across four servers on the LAN",
    ),
    (
        &["chain.on1.test", "AAAA"],
        "the same chain, AAAA (dual-stack servers)",
    ),
    (
        &["www.sub.aaref.test", "A"],
        "a referral marked authoritative",
    ),
    (&["www.aaref.test", "A"], "the zone with that server"),
    (
        &["www.glue.test", "A"],
        "parent glue (the child's address is dead)",
    ),
    (
        &["ns1.glue.test", "A"],
        "the child's address for its server",
    ),
    (
        &["mail.glue.test", "A"],
        "parent glue as fallback once the child's address is known",
    ),
    (&["www.old.dname.test", "A"], "DNAME"),
    (
        &["www.old.dname.test", "A"],
        "DNAME again, from the cache (the DNAME is kept)",
    ),
    (
        &["cdnalias.example", "A"],
        "CNAME into a delegated child of the same zone",
    ),
    (
        &["-x", "2001:db8:6::53"],
        "reverse IPv6, four cuts and 34 labels deep",
    ),
    (&["-x", "2001:db8:6::82"], "a second name in that zone"),
    (&["www.secure.test", "A"], "DO=0: no signatures"),
    (&["secure.test", "DS"], "DS asked of the parent"),
];

/// DO=1 answers: signatures and denial proofs passed through to a validating stub
/// (issue 14 item 9), from resolution and again from the cache.
const SIGNED_SHAPES: &[(&[&str], &str)] = &[
    (
        &["+dnssec", "www.secure.test", "A"],
        "DO=1: signatures returned",
    ),
    (
        &["+dnssec", "nothing.secure.test", "A"],
        "DO=1: NXDOMAIN with its NSEC proof",
    ),
    (
        &["+dnssec", "www.secure.test", "AAAA"],
        "DO=1: NODATA with its NSEC proof",
    ),
    (&["+dnssec", "secure.test", "DNSKEY"], "DNSKEY with DO=1"),
    (
        &["+dnssec", "www.secure.test", "A"],
        "DO=1 again: signatures from the cache",
    ),
    (
        &["+dnssec", "nothing.secure.test", "A"],
        "DO=1 again: the NXDOMAIN proof from the cache",
    ),
    (&["www.secure.test", "A"], "DO=0 after DO=1: no signatures"),
];

#[test]
fn hard_shapes_equal_unbound() -> e2e::Result<()> {
    shapes_equal_unbound(SHAPES)
}

#[test]
fn signed_shapes_equal_unbound() -> e2e::Result<()> {
    shapes_equal_unbound(SIGNED_SHAPES)
}

/// Boots both resolvers against a fresh lab and compares each of `shapes` with
/// Unbound's answer; fails listing every difference.
fn shapes_equal_unbound(shapes: &[(&[&str], &str)]) -> e2e::Result<()> {
    let t = Instant::now();
    let lab = Lab::start(LabOptions {
        unbound: true,
        dhcp: false,
    })?;
    let hints = format!("--root-hints={}", lab.root_hints());
    // The lab's reverse IPv6 zone is 2001:db8::/32's, which both serve locally by
    // default (RFC 6303); the lab's Unbound is told `nodefault` for it too.
    let resolvers = boot_both(
        &lab,
        &[&hints, "--local-zone-nodefault=8.b.d.0.1.0.0.2.ip6.arpa"],
    )?;
    let mut differences = Vec::new();
    for r in &resolvers {
        for &(args, what) in shapes {
            if let Err(e) = compare_with_unbound(&lab, r, args, what) {
                eprintln!("DIFFERENT: {e}");
                differences.push(format!("{}: {what} ({})", r.kind().name(), args.join(" ")));
            }
        }
    }
    let total = shapes.len() * resolvers.len();
    eprintln!(
        "hard shapes: {} of {total} answers equal Unbound's ({:?})",
        total - differences.len(),
        t.elapsed()
    );
    if differences.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "answers unlike Unbound's:\n  {}",
            differences.join("\n  ")
        ))
    }
}
