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
    if let Err(e) = compare_with_unbound(lab, r, &[name, qtype], what) {
        panic!("{e}");
    }
}

/// Asks our resolver `r` and Unbound the same (`dig ARGS`) and says how the answers
/// differ, if they do: status, flags, then each section (TTLs aside).
fn compare_with_unbound(lab: &Lab, r: &Resolver, args: &[&str], what: &str) -> Result<(), String> {
    compare_with(lab, r, UNBOUND_ADDR, false, args, what)
}

/// [`compare_with_unbound`] against the Unbound at `unbound`; with `ad`, the AD bit
/// must agree too.
fn compare_with(
    lab: &Lab,
    r: &Resolver,
    unbound: &str,
    ad: bool,
    args: &[&str],
    what: &str,
) -> Result<(), String> {
    let kind = r.kind().name();
    let q = args.join(" ");
    let ours = lab
        .dig(r.v4, args)
        .map_err(|e| format!("{kind}: {what} ({q}): {e}"))?;
    let reference = lab
        .dig(unbound, args)
        .map_err(|e| format!("unbound: {q}: {e}"))?;
    let both = format!("ours:\n{}\nunbound:\n{}", ours.raw, reference.raw);
    if ours.status != reference.status {
        return Err(format!(
            "{kind}: {what} ({q}): status {} where Unbound says {}\n{both}",
            ours.status, reference.status
        ));
    }
    if !(ours.has_flag("ra") && ours.has_flag("rd") && !ours.has_flag("aa")) {
        return Err(format!(
            "{kind}: {what} ({q}): flags {:?}\n{both}",
            ours.flags
        ));
    }
    if ad && ours.has_flag("ad") != reference.has_flag("ad") {
        return Err(format!(
            "{kind}: {what} ({q}): AD {} where Unbound's is {}\n{both}",
            ours.has_flag("ad"),
            reference.has_flag("ad")
        ));
    }
    let [a1, b1, c1] = normalised(&ours);
    let [a2, b2, c2] = normalised(&reference);
    for (section, x, y) in [
        ("answer", a1, a2),
        ("authority", b1, b2),
        ("additional", c1, c2),
    ] {
        if x != y {
            return Err(format!(
                "{kind}: {what} ({q}): {section} section differs from Unbound's\n{both}"
            ));
        }
    }
    eprintln!(
        "{kind:>4} {q:<28} {:<8} ours {:>4} ms, unbound {:>4} ms  ({what})",
        ours.status,
        ours.query_ms.unwrap_or(0),
        reference.query_ms.unwrap_or(0)
    );
    Ok(())
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

/// Validation against Unbound validating from the same trust anchor: the lab's signed
/// zone `secure.test.` (ECDSA P-256, NSEC, signed at lab start) is anchored by its DS in
/// both; rcode, AD and every section must agree (issue 17).
const VALIDATED_SHAPES: &[(&[&str], &str)] = &[
    (&["www.secure.test", "A"], "secure answer (dig sets AD)"),
    (
        &["+dnssec", "www.secure.test", "A"],
        "secure answer with its RRSIG",
    ),
    (&["+dnssec", "nothing.secure.test", "A"], "secure NXDOMAIN"),
    (&["+dnssec", "www.secure.test", "AAAA"], "secure NODATA"),
    (
        &["+dnssec", "secure.test", "DNSKEY"],
        "the anchored DNSKEY set",
    ),
    (&["+cd", "www.secure.test", "A"], "CD: unchecked data"),
    (
        &["www.secure.test", "A"],
        "secure answer again, from the cache",
    ),
    (&["www.shop.test", "A"], "a name outside the anchor: no AD"),
];

/// Where the validating Unbound listens (on the lab's loopback).
const VALIDATING_UNBOUND: &str = "10.53.0.250";

#[test]
fn validated_shapes_equal_a_validating_unbound() -> e2e::Result<()> {
    let mut lab = Lab::start(LabOptions::default())?;
    let ds = lab
        .ds("secure.test.")
        .ok_or("the lab has no DS for secure.test.")?
        .to_string();
    let f: Vec<&str> = ds.split_whitespace().collect();
    let at = f
        .iter()
        .position(|w| *w == "DS")
        .ok_or(format!("not a DS record: {ds}"))?;
    let [tag, alg, digest_type, hex] = [1, 2, 3, 4].map(|i| f.get(at + i).copied().unwrap_or(""));
    let anchor = format!("--trust-anchor=secure.test:DS:{tag}:{alg}:{digest_type}:{hex}");
    lab.start_validating_unbound(VALIDATING_UNBOUND, &[&ds])?;
    let hints = format!("--root-hints={}", lab.root_hints());
    let resolvers = boot_both(
        &lab,
        &[
            &hints,
            "--local-zone-nodefault=8.b.d.0.1.0.0.2.ip6.arpa",
            &anchor,
        ],
    )?;
    let mut differences = Vec::new();
    for r in &resolvers {
        for &(args, what) in VALIDATED_SHAPES {
            if let Err(e) = compare_with(&lab, r, VALIDATING_UNBOUND, true, args, what) {
                eprintln!("DIFFERENT: {e}");
                differences.push(format!("{}: {what} ({})", r.kind().name(), args.join(" ")));
            }
        }
        // Equal is not enough: both must really have validated the anchored zone.
        let d = lab.dig(r.v4, &["+dnssec", "www.secure.test", "A"])?;
        if !d.has_flag("ad") {
            differences.push(format!(
                "{}: www.secure.test has no AD:\n{}",
                r.kind().name(),
                d.raw
            ));
        }
    }
    let total = VALIDATED_SHAPES.len() * resolvers.len();
    eprintln!(
        "validated shapes: {} of {total} answers equal a validating Unbound's",
        total - differences.len()
    );
    if differences.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "differences from a validating Unbound:\n{}",
            differences.join("\n")
        ))
    }
}
