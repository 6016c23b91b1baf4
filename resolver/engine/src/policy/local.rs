//! Local data: names the resolver answers itself, authoritatively, never forwarding
//! them — `--host-record` names and their PTRs, `--cname` aliases, `--address`
//! subtrees — and the locally served zones (`--domain`, and by default `localhost.`,
//! `invalid.`, `onion.`, `local.`, `use-application-dns.net.` and the RFC 6303 reverse
//! zones).
//!
//! The answer shapes follow Unbound's `local-zone` defaults: AA set; a zone's apex has
//! an SOA (`localhost. nobody.invalid. 1 3600 1200 604800 10800`) and an NS
//! (`localhost.`); a name below a static zone that is not local data is NXDOMAIN with
//! the SOA in the authority section; a local name asked for a type it does not have
//! is NODATA with the SOA; `localhost.` and every name below it answer 127.0.0.1 and
//! ::1 (Unbound's `redirect`, RFC 6761 §6.3).

use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::rdata::{A, AAAA, CNAME, NS, PTR, SOA};
use hickory_proto::rr::{Name, RData, Record, RecordType};

use super::name::{name_of, suffix_starts, wire_from_str};
use crate::answer::Answer;
use crate::config::PolicyConfig;

/// TTL of the default zones' SOA and NS (Unbound's).
const ZONE_TTL: u32 = 10_800;

/// How a locally served zone answers names without local data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ZoneKind {
    /// NXDOMAIN below the apex, NODATA at it (with the SOA).
    Static,
    /// Every name at or below it is loopback (`localhost.`).
    Localhost,
    /// Every name at or below it does not exist, the apex too: Firefox's DoH canary
    /// `use-application-dns.net`, answered NXDOMAIN as Mozilla asks network operators
    /// to (and as Pi-hole does), so Firefox keeps using this resolver.
    Canary,
}

/// The default locally served zones: RFC 6761 (`localhost`, `invalid`, `test` is left
/// to the world since labs use it), RFC 7686 (`onion`), `local` (mDNS names must not
/// leak), Firefox's DoH canary, and the RFC 6303 reverse zones plus RFC 7793's
/// 100.64/10 and all of fc00::/7.
fn default_zones() -> Vec<(alloc::string::String, ZoneKind)> {
    use alloc::format;
    use alloc::string::ToString;
    let mut v: Vec<(alloc::string::String, ZoneKind)> = Vec::new();
    v.push(("localhost".to_string(), ZoneKind::Localhost));
    for z in ["invalid", "onion", "local"] {
        v.push((z.to_string(), ZoneKind::Static));
    }
    v.push(("use-application-dns.net".to_string(), ZoneKind::Canary));
    let mut v4 = |z: &str| v.push((format!("{z}.in-addr.arpa"), ZoneKind::Static));
    // RFC 1918, RFC 6303 §4.1-4.3 and 4.5, RFC 7793.
    v4("10");
    for b in 16..32 {
        v4(&format!("{b}.172"));
    }
    v4("168.192");
    v4("0");
    v4("127");
    v4("254.169");
    v4("2.0.192");
    v4("100.51.198");
    v4("113.0.203");
    v4("255.255.255.255");
    for b in 64..128 {
        v4(&format!("{b}.100"));
    }
    let zeros = "0.".repeat(31);
    // ::/128 and ::1/128, fc00::/7, fe80::/10, 2001:db8::/32 (RFC 6303 §4.4-4.7).
    for z in [
        format!("{zeros}0.ip6.arpa"),
        format!("1.{zeros}ip6.arpa"),
        "c.f.ip6.arpa".to_string(),
        "d.f.ip6.arpa".to_string(),
        "8.e.f.ip6.arpa".to_string(),
        "9.e.f.ip6.arpa".to_string(),
        "a.e.f.ip6.arpa".to_string(),
        "b.e.f.ip6.arpa".to_string(),
        "8.b.d.0.1.0.0.2.ip6.arpa".to_string(),
    ] {
        v.push((z, ZoneKind::Static));
    }
    v
}

/// Data at one local name.
#[derive(Clone, Debug, Default)]
struct Entry {
    /// A records.
    a: Vec<Ipv4Addr>,
    /// AAAA records.
    aaaa: Vec<Ipv6Addr>,
    /// PTR targets (a reverse name of a host-record address).
    ptr: Vec<Name>,
    /// A CNAME (`--cname`): nothing else may be at the name.
    cname: Option<Vec<u8>>,
    /// The TTL of the answers.
    ttl: u32,
}

/// Why building the local tables stopped short.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Skipped {
    /// Entries that were not domains or addresses.
    pub(crate) invalid: u64,
    /// Entries past a cap.
    pub(crate) over_cap: u64,
}

/// The local tables.
#[derive(Clone, Debug, Default)]
pub(crate) struct Local {
    /// Exact local names (wire, lower case).
    names: BTreeMap<Vec<u8>, Entry>,
    /// `--address` domains: the address, or `None` for NXDOMAIN.
    subtrees: BTreeMap<Vec<u8>, (Option<IpAddr>, u32)>,
    /// Locally served zones.
    zones: BTreeMap<Vec<u8>, ZoneKind>,
}

/// The reverse-lookup name of `ip` (`4.3.2.1.in-addr.arpa.`, nibbles for IPv6), wire.
pub(crate) fn reverse_wire(ip: IpAddr) -> Vec<u8> {
    let mut out = Vec::with_capacity(74);
    let mut label = |s: &[u8]| {
        out.push(s.len() as u8);
        out.extend_from_slice(s);
    };
    match ip {
        IpAddr::V4(a) => {
            for o in a.octets().iter().rev() {
                let mut buf = [0u8; 3];
                let s = decimal(*o, &mut buf);
                label(s);
            }
            label(b"in-addr");
        }
        IpAddr::V6(a) => {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            for o in a.octets().iter().rev() {
                label(&[HEX[usize::from(o & 0xf)]]);
                label(&[HEX[usize::from(o >> 4)]]);
            }
            label(b"ip6");
        }
    }
    label(b"arpa");
    out.push(0);
    out
}

/// `n` in decimal, in `buf`.
fn decimal(n: u8, buf: &mut [u8; 3]) -> &[u8] {
    let (h, t, o) = (n / 100, (n / 10) % 10, n % 10);
    *buf = [b'0' + h, b'0' + t, b'0' + o];
    let skip = if h > 0 {
        0
    } else if t > 0 {
        1
    } else {
        2
    };
    buf.get(skip..).unwrap_or_default()
}

impl Local {
    /// The tables of `cfg`, with what had to be skipped. Every name is also reported
    /// to `key` (to build the fast path's filter).
    pub(crate) fn new(cfg: &PolicyConfig, mut key: impl FnMut(&[u8])) -> (Self, Skipped) {
        let mut l = Local::default();
        let mut skipped = Skipped::default();
        let max_names = cfg.limits.max_local_names;
        let max_rules = cfg.limits.max_rules;
        let domain = wire_from_str(&cfg.domain);
        if cfg.local_zones {
            for (z, kind) in default_zones() {
                if cfg.nodefault.iter().any(|n| n.eq_ignore_ascii_case(&z)) {
                    continue;
                }
                if let Some(w) = wire_from_str(&z) {
                    l.zones.insert(w, kind);
                }
            }
        }
        if let Some(d) = &domain {
            l.zones.insert(d.clone(), ZoneKind::Static);
        }
        if cfg.local_zones {
            // Unbound's defaults: the loopback addresses name `localhost.`.
            let localhost = Name::from_ascii("localhost.").unwrap_or_else(|_| Name::root());
            for ip in [
                IpAddr::V4(Ipv4Addr::LOCALHOST),
                IpAddr::V6(Ipv6Addr::LOCALHOST),
            ] {
                let rev = reverse_wire(ip);
                key(&rev);
                l.names.insert(
                    rev,
                    Entry {
                        ptr: alloc::vec![localhost.clone()],
                        ttl: ZONE_TTL,
                        ..Entry::default()
                    },
                );
            }
        }
        // A bare host name (one label) also answers under the local domain.
        let qualified = |w: &[u8]| -> Option<Vec<u8>> {
            let d = domain.as_ref()?;
            let first = usize::from(*w.first()?);
            if w.get(1 + first) != Some(&0) {
                return None;
            }
            let mut q = w.get(..1 + first)?.to_vec();
            q.extend_from_slice(d);
            (q.len() <= 255).then_some(q)
        };
        for h in &cfg.hosts {
            let ttl = h.ttl.unwrap_or(cfg.local_ttl);
            let mut names: Vec<Vec<u8>> = Vec::new();
            for n in &h.names {
                let Some(w) = wire_from_str(n) else {
                    skipped.invalid += 1;
                    continue;
                };
                if let Some(q) = qualified(&w) {
                    names.push(q);
                }
                names.push(w);
            }
            // The PTR names the first name as written, qualified if bare.
            let Some(first) = names.first().and_then(|w| name_of(w)) else {
                continue;
            };
            for w in names {
                if !l.names.contains_key(&w) && l.names.len() >= max_names {
                    skipped.over_cap += 1;
                    continue;
                }
                key(&w);
                let e = l.names.entry(w).or_default();
                e.ttl = ttl;
                for a in &h.addrs {
                    match a {
                        IpAddr::V4(v4) if !e.a.contains(v4) => e.a.push(*v4),
                        IpAddr::V6(v6) if !e.aaaa.contains(v6) => e.aaaa.push(*v6),
                        _ => {}
                    }
                }
            }
            for a in &h.addrs {
                let rev = reverse_wire(*a);
                if !l.names.contains_key(&rev) && l.names.len() >= max_names {
                    skipped.over_cap += 1;
                    continue;
                }
                key(&rev);
                let e = l.names.entry(rev).or_default();
                e.ttl = ttl;
                // The first host-record of an address names it (as dnsmasq does).
                if e.ptr.is_empty() {
                    e.ptr.push(first.clone());
                }
            }
        }
        for c in &cfg.cnames {
            let (Some(alias), Some(target)) = (wire_from_str(&c.alias), wire_from_str(&c.target))
            else {
                skipped.invalid += 1;
                continue;
            };
            if !l.names.contains_key(&alias) && l.names.len() >= max_names {
                skipped.over_cap += 1;
                continue;
            }
            key(&alias);
            let e = l.names.entry(alias).or_default();
            *e = Entry {
                cname: Some(target),
                ttl: cfg.local_ttl,
                ..Entry::default()
            };
        }
        for r in &cfg.addresses {
            let Some(w) = wire_from_str(&r.domain) else {
                skipped.invalid += 1;
                continue;
            };
            if l.subtrees.len() >= max_rules {
                skipped.over_cap += 1;
                continue;
            }
            key(&w);
            l.subtrees.insert(w, (r.addr, cfg.local_ttl));
        }
        for z in l.zones.keys() {
            key(z);
        }
        (l, skipped)
    }

    /// Local names held (the table `max_local_names` caps).
    pub(crate) fn names(&self) -> usize {
        self.names.len()
    }

    /// The innermost locally served zone at or above `wire`, as its wire name.
    fn zone_of<'w>(&self, wire: &'w [u8]) -> Option<(&'w [u8], ZoneKind)> {
        suffix_starts(wire).into_iter().find_map(|s| {
            let z = wire.get(s..)?;
            self.zones.get(z).map(|k| (z, *k))
        })
    }

    /// The answer from local data (host records, aliases, `--address`) for `name`
    /// (wire `wire`) and `qtype`, if there is any.
    pub(crate) fn answer_data(
        &self,
        wire: &[u8],
        name: &Name,
        qtype: RecordType,
    ) -> Option<Answer> {
        if let Some(e) = self.names.get(wire) {
            return Some(self.entry_answer(e, wire, name, qtype));
        }
        let (addr, ttl, owner) = suffix_starts(wire).into_iter().find_map(|s| {
            let d = wire.get(s..)?;
            self.subtrees.get(d).map(|(a, t)| (*a, *t, d))
        })?;
        let soa = soa(owner, ttl);
        let rec = |rd| Record::from_rdata(name.clone(), ttl, rd);
        Some(local(match (addr, qtype) {
            (None, _) => Answer::negative(ResponseCode::NXDomain, Vec::new(), soa),
            (Some(IpAddr::V4(a)), RecordType::A) => {
                Answer::records(alloc::vec![rec(RData::A(A(a)))])
            }
            (Some(IpAddr::V6(a)), RecordType::AAAA) => {
                Answer::records(alloc::vec![rec(RData::AAAA(AAAA(a)))])
            }
            _ => Answer::negative(ResponseCode::NoError, Vec::new(), soa),
        }))
    }

    /// The answer of a locally served zone for a name with no local data, if a zone
    /// covers `wire`.
    pub(crate) fn answer_zone(
        &self,
        wire: &[u8],
        name: &Name,
        qtype: RecordType,
    ) -> Option<Answer> {
        let (zone, kind) = self.zone_of(wire)?;
        let apex = zone.len() == wire.len();
        let soa_rec = soa(zone, ZONE_TTL);
        let rec = |rd| Record::from_rdata(name.clone(), ZONE_TTL, rd);
        let localhost = || Name::from_ascii("localhost.").unwrap_or_else(|_| Name::root());
        let a = match (kind, qtype) {
            (ZoneKind::Canary, _) => Answer::negative(ResponseCode::NXDomain, Vec::new(), soa_rec),
            (_, RecordType::SOA) if apex => Answer::records(soa_rec.into_iter().collect()),
            (_, RecordType::NS) if apex => {
                Answer::records(alloc::vec![rec(RData::NS(NS(localhost())))])
            }
            (ZoneKind::Localhost, RecordType::A) => {
                Answer::records(alloc::vec![rec(RData::A(A(Ipv4Addr::LOCALHOST)))])
            }
            (ZoneKind::Localhost, RecordType::AAAA) => {
                Answer::records(alloc::vec![rec(RData::AAAA(AAAA(Ipv6Addr::LOCALHOST)))])
            }
            (ZoneKind::Localhost, _) => {
                Answer::negative(ResponseCode::NoError, Vec::new(), soa_rec)
            }
            (ZoneKind::Static, _) if apex => {
                Answer::negative(ResponseCode::NoError, Vec::new(), soa_rec)
            }
            (ZoneKind::Static, _) => Answer::negative(ResponseCode::NXDomain, Vec::new(), soa_rec),
        };
        Some(local(a))
    }

    /// The answer at a local name.
    fn entry_answer(&self, e: &Entry, wire: &[u8], name: &Name, qtype: RecordType) -> Answer {
        let rec = |owner: &Name, rd| Record::from_rdata(owner.clone(), e.ttl, rd);
        if let Some(target) = &e.cname {
            let Some(tname) = name_of(target) else {
                return local(Answer::servfail(crate::ede::Ede::INTERNAL));
            };
            let mut chain = alloc::vec![rec(name, RData::CNAME(CNAME(tname.clone())))];
            if qtype == RecordType::CNAME {
                return local(Answer::records(chain));
            }
            // One hop into local data (an alias of an alias is followed no further).
            if let Some(t) = self
                .names
                .get(target.as_slice())
                .filter(|t| t.cname.is_none())
            {
                let mut a = self.entry_answer(t, target, &tname, qtype);
                chain.append(&mut a.answers);
                a.answers = chain;
                return a;
            }
            return local(Answer::records(chain));
        }
        let answers: Vec<Record> = match qtype {
            RecordType::A => e.a.iter().map(|a| rec(name, RData::A(A(*a)))).collect(),
            RecordType::AAAA => e
                .aaaa
                .iter()
                .map(|a| rec(name, RData::AAAA(AAAA(*a))))
                .collect(),
            RecordType::PTR => e
                .ptr
                .iter()
                .map(|p| rec(name, RData::PTR(PTR(p.clone()))))
                .collect(),
            _ => Vec::new(),
        };
        if answers.is_empty() {
            let owner = self.zone_of(wire).map_or(wire, |(z, _)| z);
            let ttl = if owner.len() == wire.len() {
                e.ttl
            } else {
                e.ttl.min(ZONE_TTL)
            };
            return local(Answer::negative(
                ResponseCode::NoError,
                Vec::new(),
                soa(owner, ttl),
            ));
        }
        local(Answer::records(answers))
    }
}

/// Mark `a` authoritative.
fn local(mut a: Answer) -> Answer {
    a.aa = true;
    a
}

/// The synthesised SOA of a local zone at `zone` (wire) with TTL and MINIMUM `ttl`.
fn soa(zone: &[u8], ttl: u32) -> Option<Record> {
    let owner = name_of(zone)?;
    let mname = Name::from_ascii("localhost.").ok()?;
    let rname = Name::from_ascii("nobody.invalid.").ok()?;
    Some(Record::from_rdata(
        owner,
        ttl,
        RData::SOA(SOA::new(mname, rname, 1, 3600, 1200, 604_800, ttl)),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reverse_names() {
        let w = reverse_wire("192.168.1.10".parse().unwrap());
        assert_eq!(
            name_of(&w).unwrap().to_ascii(),
            "10.1.168.192.in-addr.arpa."
        );
        let w = reverse_wire("fd00::1".parse().unwrap());
        let s = name_of(&w).unwrap().to_ascii();
        assert!(
            s.starts_with("1.0.0.0.") && s.ends_with("0.0.d.f.ip6.arpa."),
            "{s}"
        );
        let w = reverse_wire("0.0.0.100".parse().unwrap());
        assert_eq!(name_of(&w).unwrap().to_ascii(), "100.0.0.0.in-addr.arpa.");
    }

    #[test]
    fn default_zones_parse() {
        for (z, _) in default_zones() {
            assert!(wire_from_str(&z).is_some(), "{z}");
        }
    }

    /// `--local-zone-nodefault` accepts exactly these zones (the config crate checks
    /// with `common::defaults::is_local_zone`).
    #[test]
    fn default_zones_are_the_ones_boot_args_may_name() {
        let zones = default_zones();
        for (z, _) in &zones {
            assert!(common::defaults::is_local_zone(z), "{z}");
        }
        for z in [
            "example",
            "15.172.in-addr.arpa",
            "32.172.in-addr.arpa",
            "128.100.in-addr.arpa",
            "ip6.arpa",
            "arpa",
            "home.arpa",
            "d.b.8.ip6.arpa",
        ] {
            assert!(!common::defaults::is_local_zone(z), "{z}");
            assert!(!zones.iter().any(|(x, _)| x == z), "{z}");
        }
    }

    #[test]
    fn a_nodefault_zone_is_not_served() {
        let cfg = PolicyConfig {
            nodefault: alloc::vec!["8.b.d.0.1.0.0.2.ip6.arpa".into()],
            ..PolicyConfig::default()
        };
        let (l, _) = Local::new(&cfg, |_| {});
        let db8 = wire_from_str("8.b.d.0.1.0.0.2.ip6.arpa").unwrap();
        let ten = wire_from_str("10.in-addr.arpa").unwrap();
        assert!(!l.zones.contains_key(&db8));
        assert!(l.zones.contains_key(&ten));
        let (all, _) = Local::new(&PolicyConfig::default(), |_| {});
        assert!(all.zones.contains_key(&db8));
    }
}
